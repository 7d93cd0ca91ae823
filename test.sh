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

print_summary() {
    local rc=$1 s
    printf '\n==== test.sh summary (%ds) ====\n' "$((SECONDS - STARTED))"
    for s in "${SUMMARY[@]}"; do printf '  %s\n' "$s"; done
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
    if is_root; then
        scripts/firmware.sh --defmt-print
    elif debian_cross_toolchain_present && command -v arm-none-eabi-size >/dev/null; then
        scripts/firmware.sh --no-install
    else
        loud "SKIPPED: the witness firmware build (thumbv7m-none-eabi, Debian rustc-web)." \
            "It needs Debian packages that only root can install; see scripts/firmware.sh." \
            "Run ./test.sh as root for a full run."
        is_ci && die "CI must build the firmware (run .ci/run as root)"
        skipped "not root, Debian toolchain missing"
        return 0
    fi
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

# failover-core must build for a bare-metal Cortex-M with only `core`:
# `-Zbuild-std=core` builds neither `alloc` nor `std`, so any use of them
# (or a dependency that pulls them, such as sha2's std/asm features) fails
# here. This is the crate's no_std / no-alloc proof; it has no cargo features
# to switch off.
#
# Why this works on the workspace as it is: Debian's cargo-web (1.96) is newer
# than the workspace needs, reads its Cargo.lock (v4) and `*.workspace = true`
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
