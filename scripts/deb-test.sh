#!/usr/bin/env bash
# The Debian package end to end (test.sh's package step), as root on a
# throw-away machine such as CI's: builds it with cargo-deb (host/Cargo.toml,
# [package.metadata.deb]), checks it with lintian, installs it with dpkg -i,
# checks what it installed and that it enabled and started nothing, runs the
# installed daemons (--version, and -n in a network namespace of its own),
# then removes and purges it and checks that nothing of it is left.
#
# A failure or an interrupt at any point still purges the package and
# deletes the namespace (the EXIT trap). It refuses to run where the
# package is already installed (that installation is not ours to purge),
# and takes a lock so that two runs on one machine do not share the package.
#
# Prints "package: ..." lines (times, sizes) for test.sh's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

PKG=failover
# What the package must hold, directories aside: exactly these files.
EXPECTED_FILES="/etc/default/failover
/usr/lib/systemd/system/failoverd.service
/usr/lib/systemd/system/heartbeatd.service
/usr/sbin/failoverd
/usr/sbin/heartbeatd
/usr/share/doc/failover/changelog.Debian.gz
/usr/share/doc/failover/copyright
/usr/share/doc/failover/operations.md
/usr/share/man/man8/failoverd.8.gz
/usr/share/man/man8/heartbeatd.8.gz"
# What postinst creates, with the owner and mode the daemons accept (they
# refuse a directory its group or others may write in).
EXPECTED_DIRS="/var/lib/failover 755 root
/var/spool/failover 700 root
/etc/failover 755 root"
UNITS="heartbeatd.service failoverd.service"
# Accepted lintian tags, each with its reason (the E: and W: tags fail the
# step; these are the ones that are not a fault of this package):
#   W initial-upload-closes-no-bugs: about uploads to the Debian archive
#     (an ITP bug to close); this package is not uploaded there.
# and, shown with -I only (information, never failing):
#   I binary-has-unneeded-section .comment: the toolchain's version
#     string, 100 bytes; stripping it needs an objcopy pass of our own.
#   I hardening-no-fortify-functions: Rust calls no fortifiable libc
#     functions (a known false positive for Rust binaries).
#   I no-md5sums-control-file: cargo-deb writes no md5sums (dpkg --verify
#     then cannot check the files).
#   I package-supports-alternative-init-but-no-init.d-script: there is no
#     SysV script; without systemd, run the daemons from any supervisor
#     (they fork by default, -x keeps them in the foreground).
LINTIAN_SUPPRESS=initial-upload-closes-no-bugs

is_root || die "must run as root: it installs and purges the package $PKG"
[[ "$(cargo_deb_version)" == "$CARGO_DEB_VERSION" ]] ||
    die "cargo-deb $CARGO_DEB_VERSION is needed (found: $(cargo_deb_version || true)): cargo install --locked cargo-deb@$CARGO_DEB_VERSION"
apt_install_missing lintian

# One run at a time on this machine.
exec 9>/run/lock/failover-deb-test.lock
flock -w 900 9 || die "another package test held /run/lock/failover-deb-test.lock for 15 minutes"
if dpkg-query -W -f='${Status}' "$PKG" >/dev/null 2>&1; then
    die "the package $PKG is already known to dpkg here ($(dpkg-query -W -f='${Status}' "$PKG")): this test installs and purges it, so it will not run over an installation; purge it first (dpkg -P $PKG) if it is a leftover"
fi

STARTED=$SECONDS
WORK="$(mktemp -d)"
NETNS="failover-deb-$$"
INSTALLED=0
cleanup() {
    local rc=$?
    ip netns del "$NETNS" 2>/dev/null || true
    if [[ $INSTALLED -eq 1 ]] && dpkg-query -W -f='${Status}' "$PKG" >/dev/null 2>&1; then
        warn "purging $PKG after the failure above"
        dpkg -P "$PKG" >/dev/null || warn "could not purge $PKG: run dpkg -P $PKG"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Everything of the package's, and of what it could leave behind, that is
# on the machine: paths under /etc, /usr and /var named after it. Compared
# before the install and after the purge. Left out: logs, temporary files
# and man-db's cache of formatted pages (/var/cache/man, which man-db's
# daily job prunes).
traces() {
    find /etc /usr /var -xdev \( -name '*failover*' -o -name 'heartbeatd*' -o -name 'failoverd*' \) \
        -not -path '/var/log/*' -not -path '/var/tmp/*' -not -path '/var/cache/man/*' 2>/dev/null | LC_ALL=C sort
}

# --- build ------------------------------------------------------------------
t0=$SECONDS
deb="$(cargo deb -p failover-host --locked | tail -n 1)"
build_secs=$((SECONDS - t0))
[[ -f "$deb" && "$deb" == *.deb ]] || die "cargo deb printed no package path (got: $deb)"
version="$(dpkg-deb -f "$deb" Version)"
say "built $deb ($(du -k "$deb" | cut -f1) KB) in ${build_secs}s"
dpkg-deb -I "$deb"

# --- lintian ----------------------------------------------------------------
lintian -I --fail-on error,warning --suppress-tags "$LINTIAN_SUPPRESS" "$deb" ||
    die "lintian found errors or warnings (above)"

# --- install ----------------------------------------------------------------
traces >"$WORK/traces.before"
INSTALLED=1
t0=$SECONDS
dpkg -i "$deb"
install_secs=$((SECONDS - t0))

# The files, exactly.
dpkg -L "$PKG" | while IFS= read -r p; do [[ -d "$p" ]] || printf '%s\n' "$p"; done |
    LC_ALL=C sort >"$WORK/files"
diff -u <(LC_ALL=C sort <<<"$EXPECTED_FILES") "$WORK/files" ||
    die "dpkg -L $PKG: the package's files differ from the expected ones (diff above)"
while IFS= read -r p; do [[ -f "$p" ]] || die "$p is listed by dpkg -L but missing"; done <"$WORK/files"
dpkg-query -W -f='${Conffiles}\n' "$PKG" | grep -q '^ /etc/default/failover ' ||
    die "/etc/default/failover is not a conffile"
# Debian 12's /usr is merged: /lib/systemd/system is /usr/lib/systemd/system.
for unit in $UNITS; do
    [[ /lib/systemd/system/$unit -ef /usr/lib/systemd/system/$unit ]] ||
        die "/lib/systemd/system/$unit is not the package's unit"
done
while read -r dir mode owner; do
    [[ "$(stat -c '%a %U' "$dir" 2>/dev/null)" == "$mode $owner" ]] ||
        die "$dir: $(stat -c 'mode %a, owner %U' "$dir" 2>&1), expected mode $mode, owner $owner"
done <<<"$EXPECTED_DIRS"
# Stripped: no symbol table, no debug information.
for bin in /usr/sbin/heartbeatd /usr/sbin/failoverd; do
    if readelf -S --wide "$bin" | grep -qE ' \.(symtab|debug_[a-z]+) '; then
        die "$bin is not stripped"
    fi
done
# The units run the packaged binaries, and systemd reads them cleanly.
for unit in $UNITS; do
    grep -q "^ExecStart=/usr/sbin/${unit%.service} " "/usr/lib/systemd/system/$unit" ||
        die "$unit does not start /usr/sbin/${unit%.service}"
done
if command -v systemd-analyze >/dev/null; then
    # shellcheck disable=SC2086
    (cd /usr/lib/systemd/system && systemd-analyze verify $UNITS) || die "systemd-analyze verify: see above"
fi
zcat /usr/share/doc/failover/changelog.Debian.gz | head -n 1 | grep -qF "($version)" ||
    die "the changelog's top entry is not version $version: add one to host/debian/changelog"

# Nothing enabled, nothing started.
for unit in $UNITS; do
    state="$(systemctl is-enabled "$unit" 2>&1 || true)"
    [[ "$state" == disabled ]] || die "$unit is $state after the install, not disabled"
    if [[ -n "$(find /etc/systemd/system -name "$unit" 2>/dev/null)" ]]; then
        die "the install left links to $unit in /etc/systemd/system"
    fi
    if [[ -d /run/systemd/system ]]; then
        state="$(systemctl is-active "$unit" 2>&1 || true)"
        [[ "$state" == inactive ]] || die "$unit is $state after the install"
    fi
done
for exe in /proc/[0-9]*/exe; do
    case "$(readlink "$exe" 2>/dev/null || true)" in
    /usr/sbin/heartbeatd | /usr/sbin/failoverd) die "the install started $(readlink "$exe") (${exe%/exe})" ;;
    esac
done

# --- the installed daemons --------------------------------------------------
for daemon in heartbeatd failoverd; do
    out="$("/usr/sbin/$daemon" --version)"
    [[ "$out" == "$daemon version ${version%-*}" ]] || die "/usr/sbin/$daemon --version said: $out"
done
# -n in a namespace of this test's: a veth pair per network (a private and
# a public one), documentation addresses only. -n reads and checks
# everything the daemon would use: the configuration, the interfaces, and
# the package's directories (state, spool, scripts) with their modes.
ip netns add "$NETNS"
nsip() { ip -n "$NETNS" "$@"; }
nsip link set lo up
for net in priv0 pub0; do
    nsip link add "$net" type veth peer name "${net}p"
    nsip link set "$net" up
    nsip link set "${net}p" up
done
addresses() {
    nsip addr flush dev priv0
    nsip addr flush dev pub0
    nsip addr add "198.51.100.$1/24" brd + dev priv0
    nsip addr add "192.0.2.$1/24" brd + dev pub0
}
# run_n WHAT DAEMON ARGS...: DAEMON -n ARGS... in the namespace must say
# "configuration OK" and exit 0; its output is in $WORK/n.out.
run_n() {
    local what="$1" daemon="$2" rc=0
    shift 2
    ip netns exec "$NETNS" "/usr/sbin/$daemon" -n "$@" >"$WORK/n.out" 2>&1 || rc=$?
    cat "$WORK/n.out"
    [[ $rc -eq 0 ]] && grep -q "^$daemon: configuration OK" "$WORK/n.out" ||
        die "$daemon -n ($what) failed (exit $rc)"
}
addresses 1
# The installed /etc/default/failover, every key commented out: it parses
# without a warning (the targets come from the command line).
run_n "the installed /etc/default/failover" heartbeatd 198.51.100.255 192.0.2.255
if grep -q /etc/default/failover "$WORK/n.out"; then
    die "heartbeatd -n has something to say about the installed /etc/default/failover (above)"
fi
printf '%s\n' 'FAILOVER_BCAST_IPS="198.51.100.255 192.0.2.255"' 'FAILOVER_SECONDARY_IP=198.51.100.2' \
    >"$WORK/primary.conf"
run_n "a primary's configuration" heartbeatd --config "$WORK/primary.conf"
addresses 2
printf '%s\n' 'FAILOVER_PEER_IP=198.51.100.1' 'FAILOVER_PEER_IP_PAIRS="pub0:192.0.2.10"' \
    >"$WORK/secondary.conf"
run_n "a secondary's configuration" failoverd --config "$WORK/secondary.conf"
ip netns del "$NETNS"

# --- remove, then purge -----------------------------------------------------
dpkg -r "$PKG"
[[ "$(dpkg-query -W -f='${Status}' "$PKG")" == "deinstall ok config-files" ]] ||
    die "after dpkg -r: $(dpkg-query -W -f='${Status}' "$PKG")"
while IFS= read -r p; do
    if [[ "$p" == /etc/default/failover ]]; then
        [[ -f "$p" ]] || die "dpkg -r removed the conffile $p (only a purge may)"
    elif [[ -e "$p" ]]; then
        die "dpkg -r left $p"
    fi
done <"$WORK/files"
dpkg -P "$PKG"
INSTALLED=0
if dpkg-query -W -f='${Status}' "$PKG" >/dev/null 2>&1; then
    die "after dpkg -P, dpkg still knows $PKG: $(dpkg-query -W -f='${Status}' "$PKG")"
fi
traces >"$WORK/traces.after"
diff -u "$WORK/traces.before" "$WORK/traces.after" ||
    die "the purge left these behind (lines with +)"
while read -r dir _; do
    [[ ! -e "$dir" ]] || grep -qx "$dir" "$WORK/traces.before" || die "the purge left $dir"
done <<<"$EXPECTED_DIRS"

size() { du -k "$1" | cut -f1; }
say "package: OK"
printf 'package: %s, %s KB (daemons %s and %s KB unpacked, stripped)\n' "${deb##*/}" "$(size "$deb")" \
    "$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/sbin/heartbeatd | wc -c | awk '{print int($1/1024)}')" \
    "$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/sbin/failoverd | wc -c | awk '{print int($1/1024)}')"
printf 'package: built in %ds (cargo deb), dpkg -i %ds, whole step %ds\n' \
    "$build_secs" "$install_secs" "$((SECONDS - STARTED))"
