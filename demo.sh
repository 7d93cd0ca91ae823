#!/usr/bin/env bash
# The lab demo (README command 1). As root on a fresh Debian 12 machine:
#   ./demo.sh
# Checks that it can work (root, network namespaces), installs the Debian
# packages it needs if they are missing, builds the workspace in release mode
# and the witness firmware (scripts/firmware.sh: Debian's rustc-web and QEMU),
# and runs `failover-lab demo`: the lab network with the real daemons and the
# witness in QEMU, the primary's plug pulled, the takeover (with the witness's
# grant) and the zero-overlap failback, each with its timeline. Exit status 0
# when the demo showed all of that; its last line is then `demo: OK`.
#
# If the witness cannot be built or booted (scripts/firmware.sh failed, for
# example because installing QEMU would downgrade a package: it then prints
# the commands to run, or FAILOVER_LAB_ENABLE_BACKPORTS=1 ./demo.sh lets it
# enable bookworm-backports for a matching QEMU), the demo still shows the
# two servers' failover, but its last line says what is missing:
#   demo: OK without the witness (left out: <reason>)
# and under CI=true that is a failure (exit status 3).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

if ! is_root; then
    warn "sorry, the demo needs root: it creates network namespaces, bridges and"
    warn "firewall rules on this machine (and removes them afterwards)."
    warn "Please run it as root, for example: sudo ./demo.sh"
    exit 1
fi

# Kernel support and permission for network namespaces, checked before
# installing anything. `unshare` is in util-linux, which every Debian has.
if ! err="$(unshare --net true 2>&1)"; then
    warn "sorry, this machine does not let us create network namespaces, which the lab is made of:"
    warn "  unshare --net: $err"
    warn "(In a container, it needs CAP_SYS_ADMIN, e.g. a privileged container, or a VM.)"
    exit 1
fi

# iproute2 for `ip netns`; nftables for the lab's loss injection.
apt_install_missing iproute2 nftables

# Named namespaces (`ip netns`) additionally need /run/netns to be mountable.
probe="failover-probe-$$"
cleanup_probe() { ip netns delete "$probe" 2>/dev/null || true; }
trap cleanup_probe EXIT
if ! err="$(ip netns add "$probe" 2>&1)"; then
    warn "sorry, \`ip netns add\` does not work here, and the lab needs it:"
    warn "  $err"
    exit 1
fi
cleanup_probe
trap - EXIT

# Prefer rustup's toolchain; on a machine without one, use Debian's
# rustc-web/cargo-web (1.96, newer than the workspace needs).
use_rustup_path
if command -v cargo >/dev/null && [[ "$(command -v cargo)" != "$DEBIAN_CARGO" ]]; then
    CARGO=(cargo)
else
    say "no rustup toolchain found; using Debian's rustc-web and cargo-web"
    apt_install_missing rustc-web cargo-web
    CARGO=(env RUSTC="$DEBIAN_RUSTC" "$DEBIAN_CARGO")
fi

say "building (cargo build --release)"
"${CARGO[@]}" build --release

# The witness: its firmware, built with Debian's bare-metal toolchain, booted
# in QEMU by the demo. Without it the demo runs with the two servers only,
# and its final line gives the reason: firmware.sh's error message (lib.sh's
# die writes it to FAILOVER_LAB_ERROR_FILE), or its exit status.
say "building the witness firmware for QEMU (scripts/firmware.sh --board mps2-an385; the first time installs Debian's rustc-web and QEMU)"
errors="$(mktemp)"
status=0
FAILOVER_LAB_ERROR_FILE="$errors" scripts/firmware.sh --board mps2-an385 || status=$?
witness=()
if [[ $status -ne 0 ]]; then
    reason="$(tail -n 1 "$errors")"
    reason="scripts/firmware.sh failed: ${reason:-exit status $status, see its output above}"
    warn "the witness firmware could not be built ($reason): the demo runs without the witness"
    witness=(--witness-missing "$reason")
fi
rm -f "$errors"

exec target/release/failover-lab demo "${witness[@]}"
