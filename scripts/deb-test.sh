#!/usr/bin/env bash
# The Debian package end to end (test.sh's package step), as root on a
# throw-away machine such as CI's: builds it with cargo-deb (host/Cargo.toml,
# [package.metadata.deb]), checks it with lintian, installs it with apt-get
# (as administrators do: apt install ./failover_*.deb), checks what it
# installed and that it enabled and started nothing, runs the installed
# daemons (--version, and -n in a network namespace of its own), starts the
# installed pair as the units start it (their ExecStartPre= and ExecStart=
# lines, each daemon in a network namespace of its own with only
# /etc/default/failover edited) and checks that it serves, fails over and
# stops cleanly, then removes and purges it with apt-get and checks that
# nothing of it is left.
#
# A failure or an interrupt at any point still stops the daemons it
# started, purges the package and deletes the namespaces (the EXIT trap).
# It refuses to run where the package is already installed (that
# installation is not ours to purge), and takes a lock so that two runs on
# one machine do not share the package.
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
# The pair's service address, and its metrics files: each daemon its own,
# in /run (root's, mode 755, as the daemons require of its directory).
SERVICE_ADDRESS=192.0.2.10
PRIMARY_PROM="/run/failover-deb-$$-heartbeatd.prom"
SECONDARY_PROM="/run/failover-deb-$$-failoverd.prom"
# What the daemons write in /run (their pid and status files, the metrics
# files and their temporary copies): none may be there before they start,
# nor after they stopped.
RUN_FILES="/run/heartbeatd.pid /run/heartbeatd.status /run/heartbeatd.status.json
/run/failoverd.pid /run/failoverd.status /run/failoverd.status.json
$PRIMARY_PROM $PRIMARY_PROM.tmp $SECONDARY_PROM $SECONDARY_PROM.tmp"
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
apt_install_missing lintian jq

# One run at a time on this machine.
exec 9>/run/lock/failover-deb-test.lock
flock -w 900 9 || die "another package test held /run/lock/failover-deb-test.lock for 15 minutes"
if dpkg-query -W -f='${Status}' "$PKG" >/dev/null 2>&1; then
    die "the package $PKG is already known to dpkg here ($(dpkg-query -W -f='${Status}' "$PKG")): this test installs and purges it, so it will not run over an installation; purge it first (dpkg -P $PKG) if it is a leftover"
fi

STARTED=$SECONDS
WORK="$(mktemp -d)"
NETNS="failover-deb-$$"
# The pair's two namespaces (the primary's, the secondary's).
NSP="failover-deb-$$-primary"
NSS="failover-deb-$$-secondary"
# The daemons this script started (pids), and whether it made /etc/netns.
PAIR_PIDS=()
ETC_NETNS_MADE=0
INSTALLED=0
cleanup() {
    local rc=$?
    # The daemons first: nothing else may pull their namespaces or their
    # binaries from under them.
    stop_pair_daemons
    ip netns del "$NETNS" 2>/dev/null || true
    ip netns del "$NSP" 2>/dev/null || true
    ip netns del "$NSS" 2>/dev/null || true
    rm -rf "/etc/netns/$NSP" "/etc/netns/$NSS"
    if [[ $ETC_NETNS_MADE -eq 1 ]]; then rmdir /etc/netns 2>/dev/null || true; fi
    rm -f "$PRIMARY_PROM" "$PRIMARY_PROM.tmp" "$SECONDARY_PROM" "$SECONDARY_PROM.tmp"
    if [[ $INSTALLED -eq 1 ]] && dpkg-query -W -f='${Status}' "$PKG" >/dev/null 2>&1; then
        warn "purging $PKG after the failure above"
        dpkg -P "$PKG" >/dev/null || warn "could not purge $PKG: run dpkg -P $PKG"
    fi
    rm -rf "$WORK"
    exit "$rc"
}

# gone PID: true once the process PID has exited. A child of this shell
# stays a zombie until it is waited for, and kill -0 still reaches a
# zombie: hence the state in /proc/PID/stat (after the command name, which
# is in parentheses).
gone() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    [[ "${stat%% *}" == Z ]]
}

# stop_pair_daemons: (the EXIT trap) each daemon this script started and
# that still runs gets SIGTERM, then SIGKILL if it is not gone within
# 10 s; by pid, never by name (another test's daemons may run here).
stop_pair_daemons() {
    local pid i
    for pid in "${PAIR_PIDS[@]}"; do
        gone "$pid" && continue
        warn "stopping pid $pid ($(readlink "/proc/$pid/exe" 2>/dev/null || echo '?')), which this test started"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            gone "$pid" && break
            sleep 0.2
        done
        gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${PAIR_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
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
# With apt-get, as the guide tells administrators to (apt install
# ./failover_*.deb; apt-get is the same for scripts), and
# --no-install-recommends: the package recommends an MTA (default-mta |
# mail-transport-agent), which apt would otherwise download and install
# along; the test must neither need the network nor change the machine
# beyond the package. Its one dependency, libc6, is installed, so apt needs
# no package list for it: this works with stale or even absent lists
# (checked on Debian 12 with an empty Dir::State::Lists). apt's plan is
# checked first: the package alone, nothing else installed or removed.
#
# apt_get WHAT ARGS...: apt-get -y ARGS..., its output shown and kept in
# $WORK/apt.out; dies if it fails or warns (W: or E: lines; N: notes, such
# as apt's note that _apt cannot read a .deb under /root, are fine).
apt_get() {
    local what="$1" rc=0
    shift
    LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -y "$@" >"$WORK/apt.out" 2>&1 || rc=$?
    cat "$WORK/apt.out"
    [[ $rc -eq 0 ]] || die "$what: apt-get $* exited $rc (above)"
    if grep -qE '^(W|E): ' "$WORK/apt.out"; then die "$what: apt-get $* warned (above)"; fi
}
traces >"$WORK/traces.before"
apt_get "the plan" install -s --no-install-recommends "$deb"
plan="$(grep -E '^(Inst|Remv|Purg|Conf) ' "$WORK/apt.out" | awk '{print $1, $2}' | LC_ALL=C sort | tr '\n' ' ')"
[[ "$plan" == "Conf $PKG Inst $PKG " ]] ||
    die "apt-get install --no-install-recommends $deb would do more than install $PKG: $plan"
INSTALLED=1
t0=$SECONDS
apt_get "installing $PKG" install --no-install-recommends "$deb"
install_secs=$((SECONDS - t0))
[[ "$(dpkg-query -W -f='${Status}' "$PKG")" == "install ok installed" ]] ||
    die "after apt-get install: $(dpkg-query -W -f='${Status}' "$PKG")"

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
    if [[ $rc -ne 0 ]] || ! grep -q "^$daemon: configuration OK" "$WORK/n.out"; then
        die "$daemon -n ($what) failed (exit $rc)"
    fi
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

# --- the installed pair, started as the units start it ----------------------
# With only /etc/default/failover edited, the daemons started as their units
# start them make a working pair: it serves, fails over, and stops cleanly.
# CI may have no running systemd, so the units' own ExecStartPre= and
# ExecStart= lines, read from the installed unit files, are run here, each
# node in a network namespace of its own: two veth pairs join them, priv0
# (198.51.100.0/24) and pub0 (192.0.2.0/24). Each node's
# /etc/default/failover comes through `ip netns exec`'s own mechanism: what
# is in /etc/netns/<namespace>/ is bind-mounted over /etc/ for the command
# it runs, so /etc/netns/<namespace>/default/failover is /etc/default/failover
# there (and /etc/default holds that file alone, which is all the daemons
# read of it). The files are the installed template with the needed keys
# appended: the template's keys are all commented out.
#
# The checks read what an administrator reads: --status --json (with jq) and
# the metrics files, and the address on the interface (ip addr).

# The environment systemd gives a system service: working directory /,
# stdin /dev/null, and no inherited variables; its own (NOTIFY_SOCKET,
# INVOCATION_ID, ...) are left out: without NOTIFY_SOCKET the daemons skip
# readiness and the watchdog, which only talk to systemd.
UNIT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The units' heartbeats at 100 ms: the test waits less for the dead time.
PAIR_INTERVAL_MS=100

# pair_net: the two namespaces, joined by priv0 and pub0. The veth pairs are
# made inside the primary's namespace with their peers moved straight into
# the secondary's: the root namespace's interfaces are never touched.
pair_net() {
    local ns net
    for ns in "$NSP" "$NSS"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    for net in priv0 pub0; do
        ip -n "$NSP" link add "$net" type veth peer name "$net" netns "$NSS"
    done
    ip -n "$NSP" addr add 198.51.100.1/24 brd + dev priv0
    ip -n "$NSP" addr add 192.0.2.1/24 brd + dev pub0
    ip -n "$NSS" addr add 198.51.100.2/24 brd + dev priv0
    ip -n "$NSS" addr add 192.0.2.2/24 brd + dev pub0
    for ns in "$NSP" "$NSS"; do
        for net in priv0 pub0; do ip -n "$ns" link set "$net" up; done
    done
}

# node_config NS KEY=VALUE...: NS's /etc/default/failover: the installed one
# with KEY=VALUE... appended. Checked through `ip netns exec` itself.
node_config() {
    local ns="$1" file="/etc/netns/$1/default/failover"
    shift
    if [[ ! -d /etc/netns ]]; then
        mkdir -m 755 /etc/netns
        ETC_NETNS_MADE=1
    fi
    install -d -m 755 "/etc/netns/$ns" "/etc/netns/$ns/default"
    { cat /etc/default/failover; printf '\n# Added by scripts/deb-test.sh:\n'; printf '%s\n' "$@"; } >"$file"
    chmod 644 "$file"
    ip netns exec "$ns" cmp -s /etc/default/failover "$file" ||
        die "ip netns exec $ns does not show $file as /etc/default/failover"
}

# unit_command UNIT KEY: UNIT_CMD becomes the words of the installed UNIT's
# one KEY= line (ExecStartPre, ExecStart). This test runs it as plain words,
# so it refuses what systemd would read otherwise: a prefix (- @ : + !),
# quotes, escapes, specifiers (%) and variables ($).
unit_command() {
    local file="/usr/lib/systemd/system/$1" key="$2" lines plain='^/[^[:space:]]*([[:space:]]+[^[:space:]]+)*$'
    lines="$(sed -n "s/^$key=//p" "$file")"
    [[ -n "$lines" && "$lines" != *$'\n'* ]] || die "$file: not exactly one $key= line: ${lines:-none}"
    [[ "$lines" =~ $plain && "$lines" != *[\"\'\\%\$]* ]] ||
        die "$file: $key=$lines is more than plain words; this test does not parse it as systemd would"
    read -ra UNIT_CMD <<<"$lines"
}

# as_unit NS COMMAND...: becomes COMMAND... in NS, as systemd starts a
# service (see UNIT_PATH): it execs, so run it in a subshell or in the
# background. env and ip netns exec exec too, so a background as_unit's $!
# is COMMAND's own pid (checked in start_unit). Like systemd, it passes
# only stdin, stdout and stderr: a daemon must not hold this script's
# descriptors, such as the lock files' (fd 9 here, and flock(1)'s when
# test.sh or a person runs this under flock), which would keep them locked
# for as long as it runs.
as_unit() {
    local fd n
    for fd in /proc/"$BASHPID"/fd/*; do
        n="${fd##*/}"
        if ((n > 2)) && [[ -e "$fd" ]]; then exec {n}>&-; fi
    done
    cd / && exec env -i PATH="$UNIT_PATH" ip netns exec "$@" </dev/null
}

# start_unit NS UNIT: UNIT's ExecStartPre (which must exit 0), then its
# ExecStart in the background, in NS; the daemon's output goes to
# $WORK/<daemon>.log. Sets STARTED_PID to the daemon's pid.
start_unit() {
    local ns="$1" unit="$2" daemon="${2%.service}" rc=0 i
    unit_command "$unit" ExecStartPre
    (as_unit "$ns" "${UNIT_CMD[@]}") >"$WORK/$daemon.pre.log" 2>&1 || rc=$?
    [[ $rc -eq 0 ]] || pair_die "$unit's ExecStartPre=${UNIT_CMD[*]} exited $rc in $ns"
    # What -n read from the namespace's /etc/default/failover.
    grep -q "every $PAIR_INTERVAL_MS ms" "$WORK/$daemon.pre.log" ||
        pair_die "$unit's ExecStartPre=${UNIT_CMD[*]} did not report the file's FAILOVER_INTERVAL=$PAIR_INTERVAL_MS"
    unit_command "$unit" ExecStart
    as_unit "$ns" "${UNIT_CMD[@]}" >"$WORK/$daemon.log" 2>&1 &
    STARTED_PID=$!
    PAIR_PIDS+=("$STARTED_PID")
    # The pid is the daemon's once ip netns exec has exec'd it.
    for ((i = 0; i < 25; i++)); do
        [[ "$(readlink "/proc/$STARTED_PID/exe" 2>/dev/null)" == "${UNIT_CMD[0]}" ]] && break
        gone "$STARTED_PID" && pair_die "$unit's ExecStart=${UNIT_CMD[*]} exited at once in $ns"
        sleep 0.2
    done
    [[ "$(readlink "/proc/$STARTED_PID/exe" 2>/dev/null)" == "${UNIT_CMD[0]}" ]] ||
        pair_die "pid $STARTED_PID is not ${UNIT_CMD[0]} 5 s after its start"
    say "started $unit in $ns: ${UNIT_CMD[*]} (pid $STARTED_PID)"
}

# stop_daemon PID SECONDS: SIGTERM to PID, which must exit 0 within SECONDS.
stop_daemon() {
    local pid="$1" secs="$2" i rc=0
    kill -TERM "$pid"
    for ((i = 0; i < secs * 5; i++)); do
        gone "$pid" && break
        sleep 0.2
    done
    gone "$pid" || pair_die "pid $pid ($(readlink "/proc/$pid/exe")) still runs ${secs}s after SIGTERM"
    wait "$pid" || rc=$?
    [[ $rc -eq 0 ]] || pair_die "pid $pid exited $rc after SIGTERM, not 0"
}

# pair_die MESSAGE: dies with MESSAGE after showing what tells why: each
# daemon's output (its log when /dev/log is missing, as in a container; with
# a syslog daemon or journald the log is there: journalctl -t heartbeatd),
# the last status and metrics read, and the service interfaces.
pair_die() {
    local f ns
    {
        for f in "$WORK"/*.pre.log "$WORK"/*d.log "$WORK"/*.json "$WORK"/*.json.err "$PRIMARY_PROM" "$SECONDARY_PROM"; do
            [[ -s "$f" ]] || continue
            printf -- '--- %s\n' "$f"
            cat "$f"
        done
        for ns in "$NSP" "$NSS"; do
            printf -- '--- ip -n %s -4 addr show dev pub0\n' "$ns"
            ip -n "$ns" -4 addr show dev pub0 2>&1 || true
        done
        if [[ -S /dev/log ]]; then
            printf -- '--- the daemons logged to syslog (/dev/log): journalctl -t heartbeatd -t failoverd, or /var/log/syslog\n'
        fi
    } >&2
    die "the installed pair: $*"
}

# wait_for SECONDS WHAT CHECK...: runs CHECK... every 0.2 s until it
# succeeds, for at most SECONDS (and as many tries); dies otherwise,
# saying WHAT was awaited.
wait_for() {
    local secs="$1" what="$2" i deadline
    shift 2
    deadline=$(($(date +%s%3N) + secs * 1000))
    for ((i = 0; i < secs * 5; i++)); do
        "$@" && return 0
        (($(date +%s%3N) < deadline)) || break
        sleep 0.2
    done
    pair_die "not so within ${secs}s: $what"
}

# status_is NS DAEMON FILTER: DAEMON's --status --json, asked in NS (kept
# in $WORK/DAEMON.json), satisfies jq's FILTER.
status_is() {
    ip netns exec "$1" "/usr/sbin/$2" --status --json >"$WORK/$2.json" 2>"$WORK/$2.json.err" &&
        jq -e "$3" "$WORK/$2.json" >/dev/null
}

# metric FILE NAME [LABEL=VALUE...]: the value of the one series NAME in the
# Prometheus text FILE whose labels include LABEL="VALUE"...; nothing when
# none or several match.
metric() {
    local file="$1" name="$2"
    shift 2
    awk -v name="$name" -v want="$*" '
        BEGIN { n = split(want, w, " ") }
        /^#/ || NF < 2 { next }
        {
            series = $0; sub(/ [^ ]+$/, "", series)
            if (series != name && index(series, name "{") != 1) next
            for (i = 1; i <= n; i++) {
                eq = index(w[i], "=")
                kv = substr(w[i], 1, eq) "\"" substr(w[i], eq + 1) "\""
                if (!index(series, "{" kv) && !index(series, "," kv)) next
            }
            found++; value = $NF
        }
        END { if (found == 1) print value }' "$file" 2>/dev/null
}

# metric_is FILE VALUE NAME [LABEL=VALUE...]: that series has that value.
metric_is() {
    local file="$1" value="$2"
    shift 2
    [[ "$(metric "$file" "$@")" == "$value" ]]
}

# on_pub0 NS: the service address is on NS's pub0.
on_pub0() { ip -n "$1" -4 -o addr show dev pub0 | grep -qF " $SERVICE_ADDRESS/"; }

# The states awaited. Each is what the daemon says of itself, and what is
# true of the network. mail_spool_depth null: the file's
# FAILOVER_EMAIL_RECIPIENT="" applied, mail is off (CI may have no MTA).
FILE_APPLIED='.mail_spool_depth == null'
primary_serving() {
    status_is "$NSP" heartbeatd ".role == \"primary\" and .phase.name == \"holding\"
        and .peer.state == \"alive\" and .peer.address == \"198.51.100.2\" and $FILE_APPLIED
        and ([.addresses[] | select(.address == \"$SERVICE_ADDRESS\" and .interface == \"pub0\" and .held)] | length == 1)" &&
        on_pub0 "$NSP"
}
secondary_monitoring() {
    status_is "$NSS" failoverd ".role == \"secondary\" and .phase.name == \"monitoring\"
        and .peer.state == \"alive\" and .peer.address == \"198.51.100.1\" and $FILE_APPLIED
        and ([.addresses[] | select(.address == \"$SERVICE_ADDRESS\" and .interface == \"pub0\" and .held == false)] | length == 1)" &&
        ! on_pub0 "$NSS"
}
secondary_holding() {
    status_is "$NSS" failoverd ".phase.name == \"holding\" and .peer.state == \"dead\"
        and .transitions.takeover == 1 and .last_transition.kind == \"takeover\"
        and ([.addresses[] | select(.address == \"$SERVICE_ADDRESS\" and .held)] | length == 1)" &&
        on_pub0 "$NSS"
}
# metrics_say FILE ROLE PHASE HELD PEER_UP: the metrics file agrees.
metrics_say() {
    metric_is "$1" 1 failover_info "role=$2" "phase=$3" &&
        metric_is "$1" "$4" failover_address_held "address=$SERVICE_ADDRESS" interface=pub0 &&
        metric_is "$1" "$5" failover_peer_up
}
metrics_took_over() {
    metrics_say "$SECONDARY_PROM" secondary holding 1 0 &&
        metric_is "$SECONDARY_PROM" 1 failover_transitions_total kind=takeover
}

# accepted NS DAEMON: ACCEPTED becomes the heartbeats DAEMON has accepted
# since its start, AT when (its status's time, in ms).
accepted() {
    ip netns exec "$1" "/usr/sbin/$2" --status --json >"$WORK/$2.json" 2>"$WORK/$2.json.err" ||
        pair_die "$2 --status --json failed in $1"
    ACCEPTED="$(jq -r .frames.accepted "$WORK/$2.json")"
    AT="$(date -d "$(jq -r .time "$WORK/$2.json")" +%s%3N)"
}

# beat_rates: each daemon's FAILOVER_INTERVAL applied, as the other hears
# it: RATES becomes the heartbeats a second each accepted over a second,
# which must be at least 10 (at 100 ms on two links, 20; at the default
# 1000 ms, 2). The dead time would not tell: at 100 ms it adapts and was
# seen anywhere from 450 to 2550 ms here, near the default's 3000.
beat_rates() {
    local p1 pt1 s1 st1 hb fo
    accepted "$NSP" heartbeatd
    p1=$ACCEPTED pt1=$AT
    accepted "$NSS" failoverd
    s1=$ACCEPTED st1=$AT
    sleep 1
    accepted "$NSP" heartbeatd
    hb=$(((ACCEPTED - p1) * 1000 / (AT - pt1)))
    accepted "$NSS" failoverd
    fo=$(((ACCEPTED - s1) * 1000 / (AT - st1)))
    [[ $hb -ge 10 && $fo -ge 10 ]] ||
        pair_die "heartbeats accepted a second: heartbeatd $hb, failoverd $fo; at the files' FAILOVER_INTERVAL=$PAIR_INTERVAL_MS, 20 each"
    RATES="$hb and $fo a second"
}

# no_run_files: none of RUN_FILES is there.
no_run_files() {
    local f
    for f in $RUN_FILES; do [[ ! -e "$f" ]] || return 1; done
}

for f in $RUN_FILES; do
    [[ ! -e "$f" ]] || die "$f exists before the pair starts: is a daemon running here, or did one crash? This test must not share it"
done
pair_net
common=("FAILOVER_INTERVAL=$PAIR_INTERVAL_MS" 'FAILOVER_EMAIL_RECIPIENT=""')
node_config "$NSP" 'FAILOVER_BCAST_IPS="198.51.100.255 192.0.2.255"' FAILOVER_SECONDARY_IP=198.51.100.2 \
    "FAILOVER_SERVICES=pub0:$SERVICE_ADDRESS" "${common[@]}" "FAILOVER_METRICS_FILE=$PRIMARY_PROM"
node_config "$NSS" FAILOVER_PEER_IP=198.51.100.1 "FAILOVER_PEER_IP_PAIRS=\"pub0:$SERVICE_ADDRESS\"" \
    "${common[@]}" "FAILOVER_METRICS_FILE=$SECONDARY_PROM"

# Both started, the primary first, as at a boot where both come up.
pair_started=$SECONDS
pair_t0=$(date +%s%3N)
start_unit "$NSP" heartbeatd.service
HB_PID=$STARTED_PID
start_unit "$NSS" failoverd.service
FO_PID=$STARTED_PID
wait_for 15 "heartbeatd --status --json: the primary holds $SERVICE_ADDRESS on pub0 (and ip addr shows it), the secondary is alive, mail is off" \
    primary_serving
serving_ms=$(($(date +%s%3N) - pair_t0))
wait_for 15 "failoverd --status --json: the secondary monitors an alive primary, $SERVICE_ADDRESS not held, mail is off" \
    secondary_monitoring
beat_rates
# The metrics files are rewritten every 5 s: the first may predate the pair.
wait_for 15 "$PRIMARY_PROM: role primary, phase holding, $SERVICE_ADDRESS held, the peer up" \
    metrics_say "$PRIMARY_PROM" primary holding 1 1
wait_for 15 "$SECONDARY_PROM: role secondary, phase monitoring, $SERVICE_ADDRESS not held, the peer up" \
    metrics_say "$SECONDARY_PROM" secondary monitoring 0 1

# A planned switchover, as `systemctl stop heartbeatd` does it (the unit's
# KillSignal=SIGTERM): heartbeatd removes the address and exits 0; the
# secondary takes over after its dead time.
secondary_monitoring || pair_die "failoverd --status --json: the secondary no longer monitors an alive primary"
dead_time_ms="$(jq -r '.peer.dead_time_ms | floor' "$WORK/failoverd.json")"
term_ms=$(date +%s%3N)
stop_daemon "$HB_PID" 10
! on_pub0 "$NSP" || pair_die "heartbeatd exited but left $SERVICE_ADDRESS on the primary's pub0"
wait_for 15 "failoverd --status --json: the secondary took over (holding $SERVICE_ADDRESS, on its pub0)" \
    secondary_holding
took_ms="$(date -d "$(jq -r .last_transition.at "$WORK/failoverd.json")" +%s%3N)"
takeover_ms=$((took_ms - term_ms))
wait_for 12 "$SECONDARY_PROM: phase holding, $SERVICE_ADDRESS held, the peer down, failover_transitions_total{kind=\"takeover\"} 1" \
    metrics_took_over

# `systemctl stop failoverd`: it releases the address and exits 0.
stop_daemon "$FO_PID" 15
! on_pub0 "$NSS" || pair_die "failoverd exited but left $SERVICE_ADDRESS on the secondary's pub0"
if ! no_run_files; then
    pair_die "the stopped daemons left in /run: $(for f in $RUN_FILES; do [[ -e "$f" ]] && printf '%s ' "$f"; done)"
fi
ip netns del "$NSP"
ip netns del "$NSS"
rm -r "/etc/netns/$NSP" "/etc/netns/$NSS"
if [[ $ETC_NETNS_MADE -eq 1 ]]; then rmdir /etc/netns && ETC_NETNS_MADE=0; fi
pair_summary="$(printf 'package: pair from the units'"'"' ExecStart lines (%d ms beats, %s accepted): serving after %d ms, takeover %d ms after heartbeatd'"'"'s SIGTERM (its dead time then %d ms), both exited 0 and left nothing in /run; %ds' \
    "$PAIR_INTERVAL_MS" "$RATES" "$serving_ms" "$takeover_ms" "$dead_time_ms" "$((SECONDS - pair_started))")"
say "the installed pair: OK"

# --- remove, then purge -----------------------------------------------------
# With apt-get, as installed (see "install" above).
t0=$SECONDS
apt_get "removing $PKG" remove "$PKG"
[[ "$(dpkg-query -W -f='${Status}' "$PKG")" == "deinstall ok config-files" ]] ||
    die "after apt-get remove: $(dpkg-query -W -f='${Status}' "$PKG")"
while IFS= read -r p; do
    if [[ "$p" == /etc/default/failover ]]; then
        [[ -f "$p" ]] || die "apt-get remove removed the conffile $p (only a purge may)"
    elif [[ -e "$p" ]]; then
        die "apt-get remove left $p"
    fi
done <"$WORK/files"
apt_get "purging $PKG" purge "$PKG"
remove_secs=$((SECONDS - t0))
INSTALLED=0
if dpkg-query -W -f='${Status}' "$PKG" >/dev/null 2>&1; then
    die "after apt-get purge, dpkg still knows $PKG: $(dpkg-query -W -f='${Status}' "$PKG")"
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
printf '%s\n' "$pair_summary"
printf 'package: built in %ds (cargo deb), apt-get install %ds, remove and purge %ds, whole step %ds\n' \
    "$build_secs" "$install_secs" "$remove_secs" "$((SECONDS - STARTED))"
