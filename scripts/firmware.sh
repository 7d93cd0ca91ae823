#!/usr/bin/env bash
# Builds the witness firmware (firmware/) with Debian's rustc-web
# toolchain, exactly as ../shared/TOOLCHAIN.md describes, for both boards, and
# prints each one's flash and RAM footprint against the budget:
#   1. QEMU's mps2-an385 (thumbv7m-none-eabi), which the lab boots;
#   2. ST's NUCLEO-F429ZI (thumbv7em-none-eabihf), the real board.
#
#   scripts/firmware.sh                 install what is missing (root), build, sizes
#   scripts/firmware.sh --defmt-print   also `cargo install defmt-print` (decodes
#                                       the witness's log in the lab; ~3 min)
#   scripts/firmware.sh --no-install    never install: fail if anything is missing
#   scripts/firmware.sh --install-only  install what is missing (root), build nothing
#   scripts/firmware.sh --board B       only board B (mps2-an385 or nucleo-f429zi)
#   scripts/firmware.sh --oldest-too   also build every board with the oldest
#                                       rustc-web the archive serves, when it is
#                                       not the installed one (unpacked, not
#                                       installed: scripts/lib.sh), and check
#                                       both compilers' footprints
#
# Installs (as root, only what is missing): rustc-web cargo-web rust-web-src lld
# (the compiler and the library sources in one command, so their versions
# match), binutils-arm-none-eabi (arm-none-eabi-size), qemu-system-arm (the lab
# boots the firmware in QEMU's mps2-an385), tcpdump and iproute2.
#
# It never removes or downgrades an installed package (scripts/lib.sh): it
# checks apt's plan first and, if the plan would, installs nothing and stops
# with the commands to run. QEMU: Debian 12's qemu-system-arm (7.2) cannot be
# installed beside a newer qemu-utils from bookworm-backports (10.x Breaks
# qemu-system-common << 8.0). Then the right QEMU is qemu-system-arm (with
# qemu-system-common and qemu-system-data) at exactly the installed
# qemu-utils version, from bookworm-backports:
#   - bookworm-backports configured: installs it;
#   - not configured, under CI=true or with FAILOVER_LAB_ENABLE_BACKPORTS=1:
#     writes /etc/apt/sources.list.d/failover-lab-bookworm-backports.sources
#     (deb.debian.org, bookworm-backports main; backports are NotAutomatic,
#     so nothing else is upgraded from them), runs apt-get update, installs it;
#   - otherwise: prints those commands and stops.
#
# The QEMU ELF lands in firmware/target/thumbv7m-none-eabi/release/failover-witness,
# where the lab (hil-tests/src/witness.rs) looks for it (or set
# FAILOVER_WITNESS_ELF); the NUCLEO's in
# firmware/target/thumbv7em-none-eabihf/release/failover-witness (flash it with
# probe-rs: firmware/README.md). The witness's configuration is
# firmware/witness.toml (or FAILOVER_WITNESS_CONFIG=/path), checked at build time.
#
# Budget: at most 48 KiB of flash and 16 KiB of RAM, stack
# included. Each board's firmware/memory/<board>.x gives the linker exactly
# that, so an image that outgrows it fails to link; this script prints the
# figures and checks them again.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

INSTALL=1
INSTALL_ONLY=0
DEFMT_PRINT=0
OLDEST_TOO=0
BOARDS=(mps2-an385 nucleo-f429zi)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-install) INSTALL=0 ;;
        --install-only) INSTALL_ONLY=1 ;;
        --defmt-print) DEFMT_PRINT=1 ;;
        --oldest-too) OLDEST_TOO=1 ;;
        --board)
            [[ $# -ge 2 ]] || die "--board needs a board: mps2-an385 or nucleo-f429zi"
            case "$2" in
                mps2-an385 | nucleo-f429zi) BOARDS=("$2") ;;
                *) die "unknown board $2 (mps2-an385 or nucleo-f429zi)" ;;
            esac
            shift
            ;;
        -h | --help)
            awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done

FLASH_BUDGET=$((48 * 1024))
RAM_BUDGET=$((16 * 1024))
FLASH_MARGIN=$((2 * 1024))
RAM_MARGIN=$((1 * 1024))
FIRMWARE_PACKAGES=("${DEBIAN_CROSS_PACKAGES[@]}" binutils-arm-none-eabi tcpdump iproute2)

# qemu-system-arm, never removing or downgrading anything (see the header).
install_qemu() {
    pkg_installed qemu-system-arm && return 0
    is_root || die "qemu-system-arm is missing (run as root, or: apt-get install --no-install-recommends qemu-system-arm)"
    # A QEMU package from bookworm-backports installed (qemu-utils, say)?
    # Debian 12's qemu-system-arm would break it, so the right one is
    # bookworm-backports' at the same version (qemu-system-data, arch all,
    # carries no binNMU suffix: the source version).
    local from="" version="" data_version=""
    read -r from version data_version < <(
        dpkg-query -W -f='${db:Status-Abbrev} ${source:Package} ${Package} ${Version} ${source:Version}\n' |
            awk '$1 == "ii" && $2 == "qemu" && $4 ~ /~bpo12/ { print $3, $4, $5; exit }'
    ) || true
    if [[ -z "$version" ]]; then
        apt_install_safely qemu-system-arm # stops if apt would remove or downgrade anything
        return
    fi
    local want=("qemu-system-arm=$version" "qemu-system-common=$version" "qemu-system-data=$data_version")
    if ! apt_has_version qemu-system-arm "$version"; then
        if backports_configured; then
            apt_update_once
        elif is_ci || [[ "${FAILOVER_LAB_ENABLE_BACKPORTS:-}" =~ ^(1|true|yes)$ ]]; then
            enable_backports
        else
            # What Debian 12's would do, for the message (apt may also just
            # fail to find a plan: qemu-utils 10 Breaks qemu-system-common << 8.0).
            local harm
            harm="$(apt_harm qemu-system-arm 2>/dev/null)" || harm=""
            {
                if [[ -n "$harm" ]]; then
                    printf '%s: qemu-system-arm is missing, and installing Debian 12'"'"'s would remove or downgrade installed packages:\n' "${0##*/}"
                    harm_lines "$harm"
                else
                    printf '%s: qemu-system-arm is missing, and Debian 12'"'"'s does not go with the installed\n' "${0##*/}"
                    printf '    %s %s (apt finds no plan that keeps it)\n' "$from" "$version"
                fi
                printf '%s: these scripts never remove or downgrade a package, so nothing was installed.\n' "${0##*/}"
                printf '%s %s comes from bookworm-backports, which has the matching qemu-system-arm,\n' "$from" "$version"
                printf 'but bookworm-backports is not configured on this machine. To install it, run as root:\n'
                printf '    %s\n' "$(backports_command)" "apt-get update" \
                    "apt-get install --no-install-recommends ${want[*]}"
                printf '(backports are NotAutomatic: adding them upgrades nothing by itself)\n'
                printf 'or let the script do exactly that: FAILOVER_LAB_ENABLE_BACKPORTS=1 scripts/firmware.sh\n'
                printf '(or FAILOVER_LAB_ENABLE_BACKPORTS=1 ./demo.sh)\n'
            } >&2
            die "qemu-system-arm not installed: Debian 12's would remove or downgrade $from $version (from bookworm-backports); see the commands above, or rerun with FAILOVER_LAB_ENABLE_BACKPORTS=1"
        fi
        apt_has_version qemu-system-arm "$version" ||
            die "bookworm-backports offers no qemu-system-arm $version, the version of the installed $from: install a matching QEMU yourself"
    fi
    say "installing qemu-system-arm $version from bookworm-backports: the version of the installed $from"
    apt_install_safely "${want[@]}"
}

if [[ $INSTALL -eq 1 ]]; then
    apt_install_missing "${FIRMWARE_PACKAGES[@]}"
    install_qemu
    if [[ $INSTALL_ONLY -eq 1 ]]; then
        say "installed what was missing; built nothing (--install-only)"
        exit 0
    fi
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

# build_board BOARD TARGET CARGO-ARGS...: builds one board's firmware, prints
# its footprint and checks it against the budget.
# build_board BOARD TARGET TARGET-DIR CARGO-ARGS...: builds one board's
# firmware with the Debian toolchain debian_cargo runs, into TARGET-DIR
# (relative to firmware/), prints its footprint and checks it against the
# budget.
build_board() {
    local board="$1" target="$2" target_dir="$3"
    shift 3
    local elf="firmware/$target_dir/$target/release/failover-witness"
    local memory="firmware/memory/$board.x"
    local rustc_version
    rustc_version="$(debian_rustc_version)"
    say "building the witness firmware for $board ($target; Debian rustc-web $rustc_version, -Zbuild-std=core, ld.lld)"
    local started=$SECONDS
    # firmware/.cargo/config.toml sets the default target, -Zbuild-std=core,
    # ld.lld and the linker scripts; debian_cargo sets RUSTC and
    # RUSTC_BOOTSTRAP=1.
    (cd firmware && debian_cargo build --release --locked --target-dir "$target_dir" "$@")
    say "built $board in $((SECONDS - started)) s: $elf"

    # Footprint. Flash: everything loaded (vectors, code, read-only data,
    # the initial values of .data). RAM: .data + .bss + .uninit, plus the
    # stack region the board's memory layout reserves (the stack cannot grow
    # past it: it would fault).
    arm-none-eabi-size "$elf"
    local flash static_ram stack_k stack ram
    read -r flash static_ram < <(arm-none-eabi-size -A "$elf" | awk '
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        END { print flash + 0, ram + 0 }')
    stack_k="$(sed -n 's/^ *STACK *: *ORIGIN *= *[0-9a-fA-Fx]*, *LENGTH *= *\([0-9]*\)K.*/\1/p' "$memory")"
    [[ -n "$stack_k" ]] || die "no STACK region in $memory"
    stack=$((stack_k * 1024))
    ram=$((static_ram + stack))
    awk -v b="$board" -v c="$rustc_version" -v f="$flash" -v r="$ram" -v s="$static_ram" -v k="$stack" -v fb=$((FLASH_BUDGET / 1024)) -v rb=$((RAM_BUDGET / 1024)) 'BEGIN {
        printf "firmware footprint (%s, rustc %s): flash %d B (%.1f KiB of %d KiB), RAM %d B (%.1f KiB of %d KiB: %d B static + %d B stack region)\n",
            b, c, f, f / 1024, fb, r, r / 1024, rb, s, k }'
    # The stack's peak is measured where the firmware runs: the lab's
    # witness test writes it beside the ELF it booted.
    if [[ -f "$elf.stack-peak" && "$elf.stack-peak" -nt "$elf" ]]; then
        say "$board, rustc $rustc_version: stack peak $(cat "$elf.stack-peak") (measured in the lab)"
    else
        say "$board, rustc $rustc_version: stack peak not measured for this build (the lab measures the ELF it boots: hil-tests/tests/witness.rs)"
    fi
    [[ $flash -le $FLASH_BUDGET ]] || die "$board: flash $flash B exceeds the budget of $FLASH_BUDGET B"
    [[ $ram -le $RAM_BUDGET ]] || die "$board: RAM $ram B exceeds the budget of $RAM_BUDGET B"
    # The margin the next feature needs (2 KiB of flash, 1 KiB of RAM):
    # said loudly when it is gone, so it is spent on purpose.
    if [[ $flash -gt $((FLASH_BUDGET - FLASH_MARGIN)) || $ram -gt $((RAM_BUDGET - RAM_MARGIN)) ]]; then
        loud "$board: within the budget but not its margin (flash $flash B, RAM $ram B; keep $FLASH_MARGIN B and $RAM_MARGIN B spare):" \
            "measure where the bytes go (arm-none-eabi-nm --size-sort -S -C) and cut there."
    fi
}

# boot_check ELF: boots the QEMU board's image for a few seconds and checks
# that it reaches its "up" line. A stack that overflows at boot (the main
# loop's frame grew past the stack region once, and the image built and
# fitted the budget) then fails here, not later as a silent witness in the
# lab. QEMU's user-mode network with restrict=on: the guest reaches nothing
# outside QEMU.
boot_check() {
    local elf="$1" out
    command -v qemu-system-arm >/dev/null || { say "boot check skipped: qemu-system-arm is not installed"; return 0; }
    out="$(mktemp)"
    timeout 3 qemu-system-arm -M mps2-an385 -nographic -monitor none -serial null \
        -semihosting-config enable=on,target=native -nic user,model=lan9118,restrict=on \
        -kernel "$elf" >"$out" 2>/dev/null || true
    if command -v defmt-print >/dev/null; then
        if ! defmt-print -e "$elf" <"$out" 2>/dev/null | grep -q "witness .* up: "; then
            rm -f "$out"
            die "$elf does not boot: no \"up\" line within 3 s in QEMU (a stack overflow at boot prints nothing; QEMU's -d guest_errors shows the faulting writes)"
        fi
    elif [[ ! -s "$out" ]]; then
        rm -f "$out"
        die "$elf does not boot: it wrote nothing within 3 s in QEMU"
    fi
    rm -f "$out"
    say "boot check: $elf booted in QEMU and logged its \"up\" line"
}

# build_boards TARGET-DIR: every board asked for, with the toolchain
# debian_cargo runs.
build_boards() {
    local board
    for board in "${BOARDS[@]}"; do
        case "$board" in
            # The lab's witness: the default feature and target.
            mps2-an385)
                build_board mps2-an385 thumbv7m-none-eabi "$1"
                boot_check "firmware/$1/thumbv7m-none-eabi/release/failover-witness"
                ;;
            # The real board: the first build for this target also builds
            # core for it (about 2.5 minutes on two cores).
            nucleo-f429zi)
                build_board nucleo-f429zi thumbv7em-none-eabihf "$1" \
                    --no-default-features --features board-nucleo-f429zi --target thumbv7em-none-eabihf
                ;;
        esac
    done
}

# The installed toolchain builds the ELFs the lab boots (firmware/target/).
build_boards target

# --oldest-too: the oldest rustc-web the archive serves, when it is not the
# installed one (lib.sh: debian_toolchain_root), builds every board again
# into firmware/target/rustc-<version>/, so both compilers' footprints are
# checked against the budget.
if [[ $OLDEST_TOO -eq 1 ]]; then
    oldest="$(debian_oldest_served)"
    [[ -n "$oldest" ]] || die "apt knows no rustc-web version (apt-get update?)"
    if [[ "$oldest" == "$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null || true)" ]]; then
        say "the installed rustc-web ($oldest) is the oldest the archive serves: built once"
    else
        root="$(debian_toolchain_root "$oldest")" || die "cannot get rustc-web $oldest (see above)"
        use_debian_toolchain "$root"
        build_boards "target/rustc-$(debian_rustc_version)"
    fi
fi
