#!/usr/bin/env bash
# The whole test suite (README command 2). CI runs exactly this (.ci/run).
#
#   1. cargo fmt --check (workspace and firmware), cargo clippy -D warnings
#   2. the witness firmware for both boards, QEMU's mps2-an385
#      (thumbv7m-none-eabi) and the NUCLEO-F429ZI (thumbv7em-none-eabihf)
#      (scripts/firmware.sh: Debian's rustc-web, see ../shared/TOOLCHAIN.md),
#      with their footprints, and defmt-print to decode the witness's log
#   3. cargo test (workspace): unit, property, simulator, and as root the
#      namespace tests, the daemons end to end, the lab's demo, scenarios and
#      the witness firmware in QEMU
#   4. no_std cross-check: failover-core builds for thumbv7m-none-eabi with
#      only `core` available
#   5. the oldest supported toolchain: the workspace's `rust-version` (one
#      value, restated by the firmware's own cargo projects and checked
#      against them) is met by the oldest rustc-web the Debian archive
#      serves (unpacked privately when apt installed a newer one), which
#      builds the no_std core and the whole workspace (cargo check
#      --all-targets); step 2 built both boards with it too
#   6. the Debian package (scripts/deb-test.sh, root only): cargo deb,
#      lintian, apt-get install on this machine, its files, modes and units
#      checked, the installed daemons run (-n in a network namespace, then
#      the pair started by the units' own ExecStartPre=/ExecStart= lines in
#      two namespaces with only /etc/default/failover edited: serving,
#      failover, clean stops), apt-get remove and purge, and nothing of it
#      left
#
# The summary names both toolchains and the firmware's footprints.
#
# Steps run in that order and stop at the first failure. Steps that cannot
# run (not root) are reported as SKIPPED, loudly; under CI=true a skip is a
# failure, because CI must prove everything.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

SUMMARY=()
CURRENT=""
STARTED=$SECONDS

begin() {
    CURRENT="$1"
    printf '\n==> %s\n' "$CURRENT"
}
pass() { SUMMARY+=("PASS     $CURRENT"); CURRENT=""; }
SKIPPED_ANY=0
skipped() { SUMMARY+=("SKIPPED  $CURRENT ($1)"); CURRENT=""; SKIPPED_ANY=1; }

# Facts the summary reports after the steps: toolchain versions, footprints.
FACTS=()

print_summary() {
    local rc=$1 s
    printf '\n==== test.sh summary (%ds) ====\n' "$((SECONDS - STARTED))"
    for s in "${SUMMARY[@]}"; do printf '  %s\n' "$s"; done
    for s in "${FACTS[@]}"; do printf '  %s\n' "$s"; done
    if [[ $rc -ne 0 ]]; then
        printf '  FAILED   %s (exit status %d)\n' "${CURRENT:-setup}" "$rc"
        printf 'test.sh: FAILED. See the output of "%s" above.\n' "${CURRENT:-setup}"
    elif [[ $SKIPPED_ANY -eq 1 ]]; then
        printf 'test.sh: passed, but some steps were SKIPPED (see above): this is not a full run.\n'
    else
        printf 'test.sh: all steps passed.\n'
    fi
}
trap 'print_summary $?' EXIT

use_rustup_path
command -v cargo >/dev/null ||
    die "cargo not found: install Rust with rustup (https://rustup.rs), stable toolchain with clippy and rustfmt"
FACTS+=("toolchain for fmt, clippy, tests: $(rustc --version)")

# rust_version MANIFEST: the `rust-version` a Cargo.toml states.
rust_version() {
    sed -n -E 's/^rust-version *= *"([0-9.]+)".*/\1/p' "$1" | head -n 1
}
# The oldest toolchain supported is stated once, in the workspace's
# Cargo.toml; the firmware's cargo projects (outside the workspace) restate
# it and must agree.
MSRV="$(rust_version Cargo.toml)"
[[ -n "$MSRV" ]] || die "Cargo.toml states no rust-version"
for manifest in firmware/Cargo.toml firmware/bootcount-tests/Cargo.toml; do
    [[ "$(rust_version "$manifest")" == "$MSRV" ]] ||
        die "$manifest states rust-version $(rust_version "$manifest"), the workspace $MSRV: make them agree"
done

begin "cargo fmt --check"
cargo fmt --version >/dev/null 2>&1 || die "rustfmt missing: rustup component add rustfmt"
cargo fmt --all -- --check
# The firmware is its own cargo project (outside the workspace).
cargo fmt --manifest-path firmware/Cargo.toml -- --check
# So is the boot counter's host-side test crate.
cargo fmt --manifest-path firmware/bootcount-tests/Cargo.toml -- --check
pass

begin "cargo clippy -D warnings"
cargo clippy --version >/dev/null 2>&1 || die "clippy missing: rustup component add clippy"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --manifest-path firmware/bootcount-tests/Cargo.toml --all-targets --locked -- -D warnings
pass

# The witness firmware, built before the tests because the lab's witness
# tests boot it in QEMU. As root, firmware.sh installs what it needs, and
# with --defmt-print also defmt-print (`cargo install defmt-print --locked`
# into ~/.cargo/bin, about 3 min once), which the witness tests use to decode
# the firmware's log and check it (required under CI=true); as a normal user
# it builds if the toolchain is there and is skipped otherwise.
build_firmware() {
    local log=target/firmware-build.log
    mkdir -p target
    if is_root; then
        scripts/firmware.sh --defmt-print --oldest-too | tee "$log"
    elif debian_cross_toolchain_present && command -v arm-none-eabi-size >/dev/null; then
        scripts/firmware.sh --no-install --oldest-too | tee "$log"
    else
        loud "SKIPPED: the witness firmware build (thumbv7m-none-eabi, Debian rustc-web)." \
            "It needs Debian packages that only root can install; see scripts/firmware.sh." \
            "Run ./test.sh as root for a full run."
        is_ci && die "CI must build the firmware (run .ci/run as root)"
        skipped "not root, Debian toolchain missing"
        return 0
    fi
    # The footprints (and the compiler) into the summary.
    local line
    while IFS= read -r line; do FACTS+=("$line"); done < <(grep -E '^firmware footprint' "$log")
    pass
}
begin "witness firmware (scripts/firmware.sh)"
build_firmware

# The firmware's boot counter (firmware/src/bootcount.rs, compiled for the
# host) on a mock NOR flash with power cuts at every point; rustup's
# toolchain, no Cortex-M target needed.
begin "witness boot counter on a mock flash (firmware/bootcount-tests)"
cargo test --manifest-path firmware/bootcount-tests/Cargo.toml --locked
pass

# The test profile is optimised (top Cargo.toml), so the simulator's and the
# detector's long runs stay fast.
begin "cargo test (unit, property, simulator, and as root: namespaces, daemons, lab, witness)"
cargo test --workspace
pass

# New ground for the simulator on every run: cargo test above plays the
# fixed seeds 0..100 000; this plays half a million more from a seed derived
# from the commit (another commit, other schedules), printed so a failure
# replays with SIM_SEED. Measured in CI on the 2-core machine (2026-12-05):
# 1.9 ms per schedule (its two vCPUs give about 1.1 cores of throughput on
# this workload), so half a million take about 16 minutes, the longest step
# of CI; a million made CI 50 minutes. Deeper runs go in docs/simulator.md's
# "Ranges played clean". SIM_NEW_SCHEDULES overrides
# the count (0 skips the step, and is refused under CI=true).
new_simulator_ground() {
    local count="${SIM_NEW_SCHEDULES:-500000}" rev first
    if [[ "$count" -eq 0 ]]; then
        is_ci && die "CI must explore new simulator schedules (SIM_NEW_SCHEDULES=0 is for local runs)"
        skipped "SIM_NEW_SCHEDULES=0"
        return 0
    fi
    # Ten hex digits of the commit (up to 2^40), above the fixed range.
    rev="$(git rev-parse HEAD 2>/dev/null || date +%s%N | sha1sum)"
    first=$((1000000 + 16#${rev:0:10}))
    say "simulator: $count schedules from seed $first (from commit ${rev:0:10}); replay a failure with SIM_SEED=<seed>"
    FACTS+=("simulator: $count new schedules from seed $first")
    SIM_SCHEDULES="$count" SIM_FIRST_SEED="$first" \
        cargo test --release -p failover-core --test simulator -- --nocapture
    pass
}
begin "simulator: new schedules from a seed derived from the commit"
new_simulator_ground

# failover-core must build for a bare-metal Cortex-M with only `core`:
# `-Zbuild-std=core` builds neither `alloc` nor `std`, so any use of them
# (or a dependency that pulls them, such as sha2's std/asm features) fails
# here. This is the crate's no_std / no-alloc proof; it has no cargo features
# to switch off.
#
# Why this works on the workspace as it is: Debian's cargo-web meets the
# workspace's rust-version (checked below), reads its Cargo.lock (v4) and `*.workspace = true`
# inheritance, and for a `--lib` build only builds the normal dependencies
# (heapless, hmac, sha2), not the dev-dependencies (proptest, criterion, ...).
# `--locked` keeps it from rewriting Cargo.lock; its own target directory keeps
# its artefacts (other compiler version) away from rustup's. The linker setting
# (Debian ships `ld.lld`, not `rust-lld`) does not matter for a library, but
# keeps the command identical to the firmware's.
cross_check_core() {
    if ! debian_cross_toolchain_present; then
        if is_root; then
            apt_install_missing "${DEBIAN_CROSS_PACKAGES[@]}"
        else
            loud "SKIPPED: the no_std cross-check of failover-core for thumbv7m-none-eabi." \
                "It needs Debian's bare-metal toolchain, which is not installed, and only" \
                "root can install it: apt-get install ${DEBIAN_CROSS_PACKAGES[*]}" \
                "Run ./test.sh as root (or install those packages) for a full run."
            is_ci && die "CI must run the no_std cross-check (run .ci/run as root)"
            skipped "not root, Debian toolchain missing"
            return 0
        fi
    fi
    debian_cross_toolchain_present || die "Debian's bare-metal toolchain is still incomplete after installing it"
    debian_cross_toolchain_consistent
    FACTS+=("installed toolchain (firmware, no_std): $("$DEBIAN_RUSTC" --version) (Debian $(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null || echo '?'))")
    # -Zbuild-std also needs the sources of std's own dependency list; cargo
    # fetches those from the registry like any other crate.
    debian_cargo build --manifest-path core/Cargo.toml --lib --release --locked \
        --target thumbv7m-none-eabi -Zbuild-std=core \
        --target-dir target/thumbv7m \
        --config 'target.thumbv7m-none-eabi.linker="ld.lld"'
    pass
}
begin "no_std cross-check: failover-core for thumbv7m-none-eabi (Debian rustc-web)"
cross_check_core

# The oldest supported toolchain: the oldest rustc-web the Debian archive
# serves (its version has gone down as well as up: ../shared/TOOLCHAIN.md),
# whichever one apt installed. Unpacked privately when it is not the
# installed one (scripts/lib.sh: debian_toolchain_root), it must meet the
# workspace's rust-version, build failover-core for the bare-metal target
# and build the whole workspace (daemons, lab, tests, benches), so the
# rust-version is a checked fact, not a wish. (The firmware step built both
# boards with it too.) MSRV-aware resolution (.cargo/config.toml) keeps a
# lock-file refresh from picking crates that need more.
check_oldest_toolchain() {
    local oldest have root
    oldest="$(debian_oldest_served)"
    if [[ -z "$oldest" ]]; then
        is_ci && die "CI must check the oldest supported toolchain, and apt knows no rustc-web"
        skipped "apt knows no rustc-web"
        return 0
    fi
    root="$(debian_toolchain_root "$oldest")" || die "cannot get rustc-web $oldest (see above)"
    use_debian_toolchain "$root"
    have="$(debian_rustc_version)"
    FACTS+=("oldest toolchain served (MSRV checks, firmware): rustc $have (Debian $oldest)")
    if [[ "$(printf '%s\n%s\n' "$have" "$MSRV" | sort -V | head -n 1)" != "$MSRV" ]]; then
        die "the Debian archive serves rustc-web $have, older than the workspace's rust-version $MSRV: lower rust-version (and the crates that need more) to what it serves"
    fi
    [[ "$have" == "$MSRV" ]] ||
        loud "the oldest rustc-web the archive serves is $have, newer than rust-version $MSRV:" \
            "rust-version $MSRV itself is not tested on this machine."
    debian_cargo build --manifest-path core/Cargo.toml --lib --release --locked \
        --target thumbv7m-none-eabi -Zbuild-std=core \
        --target-dir "target/thumbv7m-rustc-$have" \
        --config 'target.thumbv7m-none-eabi.linker="ld.lld"'
    debian_cargo check --workspace --all-targets --locked --target-dir "target/rustc-$have"
    use_debian_toolchain /
    pass
}
begin "oldest supported toolchain: rust-version $MSRV, with the oldest rustc-web served"
check_oldest_toolchain

# Tests that need root: network namespaces, the lab, the daemons on real
# sockets, the witness in QEMU. They are ordinary cargo tests that skip
# themselves, loudly, when not root; as root they ran in "cargo test".
root_only_tests() {
    if ! is_root; then
        loud "SKIPPED: the root-only tests (network namespaces, lab scenarios)." \
            "They need root. Run ./test.sh as root for a full run."
        is_ci && die "CI must run the root-only tests (run .ci/run as root)"
        skipped "not root"
        return 0
    fi
    say "namespace, daemon, lab and witness tests ran inside cargo test (as root)"
    SUMMARY+=("PASS     $CURRENT (namespace tests ran in cargo test)")
    CURRENT=""
}
begin "root-only tests (lab)"
root_only_tests

# The Debian package, end to end (scripts/deb-test.sh): it installs the
# package on this machine and purges it again, so only as root (CI's
# machine is a throw-away one; a failure still purges it). cargo-deb at the
# version scripts/lib.sh pins, which .ci/run installs. Its times and sizes
# go into the summary.
debian_package() {
    if ! is_root; then
        loud "SKIPPED: the Debian package test: it installs and purges the package failover," \
            "which needs root. Run ./test.sh as root for a full run."
        is_ci && die "CI must test the Debian package (run .ci/run as root)"
        skipped "not root"
        return 0
    fi
    if [[ "$(cargo_deb_version)" != "$CARGO_DEB_VERSION" ]]; then
        loud "SKIPPED: the Debian package test: cargo-deb $CARGO_DEB_VERSION is not in ~/.cargo/bin" \
            "(found: $(cargo_deb_version || true)). Install it: cargo install --locked cargo-deb@$CARGO_DEB_VERSION" \
            "(.ci/run does)."
        is_ci && die "CI must test the Debian package, and cargo-deb $CARGO_DEB_VERSION is missing (.ci/run installs it)"
        skipped "cargo-deb $CARGO_DEB_VERSION missing"
        return 0
    fi
    local log=target/deb-test.log line
    mkdir -p target
    scripts/deb-test.sh | tee "$log"
    while IFS= read -r line; do FACTS+=("$line"); done < <(grep -E '^package: ' "$log")
    pass
}
begin "Debian package (scripts/deb-test.sh: cargo deb, lintian, apt-get install, checks, the pair as the units start it, apt-get remove, purge)"
debian_package

# The QEMU witness's peak stack, as the lab measured it under its traffic
# (hil-tests/tests/witness.rs writes it beside the ELF).
peak=firmware/target/thumbv7m-none-eabi/release/failover-witness.stack-peak
if [[ -f "$peak" && "$peak" -nt firmware/target/thumbv7m-none-eabi/release/failover-witness ]]; then
    FACTS+=("witness stack (mps2-an385), peak measured in the lab: $(cat "$peak")")
fi
FACTS+=("witness stack (nucleo-f429zi): not measured, no board here (firmware/README.md, Footprint)")
