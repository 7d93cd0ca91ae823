#!/usr/bin/env bash
# Builds the witness firmware (firmware/, issue 5) for thumbv7m-none-eabi with
# Debian's rustc-web toolchain, exactly as ../shared/TOOLCHAIN.md describes,
# and prints its flash and RAM footprint.
#
#   scripts/firmware.sh                 install what is missing (root), build, sizes
#   scripts/firmware.sh --defmt-print   also `cargo install defmt-print` (decodes
#                                       the witness's log in the lab; ~3 min)
#   scripts/firmware.sh --no-install    never install: fail if anything is missing
#
# Installs (as root, only what is missing): rustc-web cargo-web rust-web-src lld
# (the compiler and the library sources in one command, so their versions
# match), binutils-arm-none-eabi (arm-none-eabi-size), qemu-system-arm (the lab
# boots the firmware in QEMU's mps2-an385), tcpdump and iproute2.
#
# The ELF lands in firmware/target/thumbv7m-none-eabi/release/failover-witness,
# where the lab (hil-tests/src/witness.rs) looks for it (or set
# FAILOVER_WITNESS_ELF). The witness's configuration is firmware/witness.toml
# (or FAILOVER_WITNESS_CONFIG=/path), checked at build time.
#
# Budget (issue 5): at most 48 KiB of flash and 16 KiB of RAM, stack
# included. firmware/memory.x gives the linker exactly that, so an image that
# outgrows it fails to link; this script prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

INSTALL=1
DEFMT_PRINT=0
for arg in "$@"; do
    case "$arg" in
        --no-install) INSTALL=0 ;;
        --defmt-print) DEFMT_PRINT=1 ;;
        -h | --help)
            sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown option $arg (see --help)" ;;
    esac
done

FLASH_BUDGET=$((48 * 1024))
RAM_BUDGET=$((16 * 1024))
ELF=firmware/target/thumbv7m-none-eabi/release/failover-witness
FIRMWARE_PACKAGES=("${DEBIAN_CROSS_PACKAGES[@]}" binutils-arm-none-eabi tcpdump iproute2)

# qemu-system-arm from Debian 12 breaks a newer qemu-utils (a backport some
# images carry): install qemu-utils at qemu-system-arm's version in the same
# command, downgrading it if need be (qemu-img keeps working).
install_qemu() {
    pkg_installed qemu-system-arm && return 0
    is_root || die "qemu-system-arm is missing (run as root, or: apt-get install qemu-system-arm)"
    export DEBIAN_FRONTEND=noninteractive
    local version
    version="$(apt-cache policy qemu-system-arm 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [[ -z "$version" || "$version" == "(none)" ]]; then
        say "refreshing the package lists to find qemu-system-arm"
        apt-get update || die "apt-get update failed (no network or no Debian mirror?)"
        version="$(apt-cache policy qemu-system-arm | awk '/Candidate:/ {print $2}')"
    fi
    [[ -n "$version" && "$version" != "(none)" ]] || die "no qemu-system-arm package available"
    say "installing qemu-system-arm $version (and qemu-utils at the same version)"
    apt-get install -y --no-install-recommends --allow-downgrades \
        "qemu-system-arm=$version" "qemu-utils=$version" ||
        die "could not install qemu-system-arm $version"
}

if [[ $INSTALL -eq 1 ]]; then
    apt_install_missing "${FIRMWARE_PACKAGES[@]}"
    install_qemu
else
    for p in "${FIRMWARE_PACKAGES[@]}" qemu-system-arm; do
        pkg_installed "$p" || die "missing Debian package $p (run without --no-install, as root)"
    done
fi
debian_cross_toolchain_present || die "Debian's bare-metal toolchain is incomplete (rustc-web cargo-web rust-web-src lld)"
debian_cross_toolchain_consistent

if [[ $DEFMT_PRINT -eq 1 ]] && ! command -v defmt-print >/dev/null; then
    use_rustup_path
    say "installing defmt-print (cargo install defmt-print --locked)"
    cargo install defmt-print --locked
fi

say "building the witness firmware (Debian rustc-web $("$DEBIAN_RUSTC" --version | awk '{print $2}'), -Zbuild-std=core, ld.lld)"
started=$SECONDS
# firmware/.cargo/config.toml sets the target, -Zbuild-std=core, ld.lld and
# the linker scripts; debian_cargo sets RUSTC and RUSTC_BOOTSTRAP=1.
(cd firmware && debian_cargo build --release --locked)
say "built in $((SECONDS - started)) s: $ELF"

# Footprint. Flash: everything loaded (vectors, code, read-only data, the
# initial values of .data). RAM: .data + .bss + .uninit, plus the stack
# region memory.x reserves (the stack cannot grow past it: it would fault).
arm-none-eabi-size "$ELF"
read -r flash static_ram < <(arm-none-eabi-size -A "$ELF" | awk '
    $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
    $1 == ".data" { flash += $2; ram += $2 }
    $1 == ".bss" || $1 == ".uninit" { ram += $2 }
    END { print flash + 0, ram + 0 }')
stack_k="$(sed -n 's/^ *STACK *: *ORIGIN *= *[0-9a-fA-Fx]*, *LENGTH *= *\([0-9]*\)K.*/\1/p' firmware/memory.x)"
stack=$((${stack_k:-0} * 1024))
ram=$((static_ram + stack))
awk -v f="$flash" -v r="$ram" -v s="$static_ram" -v k="$stack" -v fb=$((FLASH_BUDGET / 1024)) -v rb=$((RAM_BUDGET / 1024)) 'BEGIN {
    printf "firmware footprint: flash %d B (%.1f KiB of %d KiB), RAM %d B (%.1f KiB of %d KiB: %d B static + %d B stack)\n",
        f, f / 1024, fb, r, r / 1024, rb, s, k }'
[[ $flash -le $FLASH_BUDGET ]] || die "flash $flash B exceeds the budget of $FLASH_BUDGET B"
[[ $ram -le $RAM_BUDGET ]] || die "RAM $ram B exceeds the budget of $RAM_BUDGET B"
