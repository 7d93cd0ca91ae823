# shellcheck shell=bash
# Shared helpers for ./demo.sh, ./test.sh, scripts/firmware.sh and .ci/run.
# Source it; do not run it. Callers set `set -euo pipefail` themselves.
#
# Debian packages: every install path uses apt_install_missing or
# apt_install_safely below, which install only what is missing and never
# remove or downgrade an installed package (they check apt's plan first and
# stop with the commands to run instead).

# The Debian packages of the bare-metal toolchain (see ../shared/TOOLCHAIN.md,
# summarised in firmware/README.md). Installed in one apt command so that the
# compiler and the library sources stay at the same version.
DEBIAN_CROSS_PACKAGES=(rustc-web cargo-web rust-web-src lld)
DEBIAN_CARGO=/usr/bin/cargo
DEBIAN_RUSTC=/usr/bin/rustc
DEBIAN_RUST_SRC=/usr/lib/rustlib/src/rust

# cargo-deb, which builds the Debian package (host/Cargo.toml's
# [package.metadata.deb]; test.sh's package step), at one pinned version:
# .ci/run installs exactly this one when ~/.cargo/bin lacks it. 3.8.0 is the
# newest on 2026-12-05; its rust-version, 1.85, is met by rustup's stable.
CARGO_DEB_VERSION=3.8.0

# cargo_deb_version: the version of the cargo-deb in ~/.cargo/bin (where
# `cargo install` puts it and `cargo deb` finds it first), or nothing.
cargo_deb_version() {
    local bin="${CARGO_HOME:-$HOME/.cargo}/bin/cargo-deb"
    [[ -x "$bin" ]] || return 0
    "$bin" --version 2>/dev/null | awk '$1 == "cargo-deb" {print $2}'
}

say() { printf '%s: %s\n' "${0##*/}" "$*"; }
warn() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
# die MESSAGE: prints "error: MESSAGE" and exits 1. When
# FAILOVER_LAB_ERROR_FILE names a file, MESSAGE is also appended to it, so
# that a caller (demo.sh) can say why a script it ran failed.
die() {
    warn "error: $*"
    if [[ -n "${FAILOVER_LAB_ERROR_FILE:-}" ]]; then
        printf '%s\n' "$*" >>"$FAILOVER_LAB_ERROR_FILE" || true
    fi
    exit 1
}

# A banner that cannot be missed in a long log.
loud() {
    local line='!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
    printf '\n%s\n' "$line" >&2
    local msg
    for msg in "$@"; do printf '!!! %s\n' "$msg" >&2; done
    printf '%s\n\n' "$line" >&2
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

is_ci() { [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; }

# pkg_installed PKG: true when dpkg has PKG fully installed.
pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Installing Debian packages. The rule: install only what is missing, never
# remove or downgrade an installed package (no --allow-downgrades, ever).
# Every install goes through apt_install_safely, which first asks apt for its
# plan (`apt-get install -s`) and, when that plan would remove or downgrade
# anything, installs nothing and stops, naming the packages, their installed
# versions and the commands the user can run. The real install also passes
# --no-remove (apt aborts rather than remove), and without
# --allow-downgrades apt -y refuses to downgrade.

APT_UPDATED=0
apt_update_once() {
    [[ $APT_UPDATED -eq 1 ]] && return 0
    say "refreshing the package lists (apt-get update)"
    apt-get update || die "apt-get update failed (no network or no Debian mirror?)"
    APT_UPDATED=1
}

# apt_harm PKG-SPEC...: simulates `apt-get install --no-install-recommends
# PKG-SPEC...` (names, or name=version) and prints one line per installed
# package that the plan removes or downgrades: "NAME INSTALLED-VERSION" or
# "NAME INSTALLED-VERSION NEW-VERSION". Fails, with apt's messages on stderr,
# when apt cannot make a plan.
apt_harm() {
    local plan line
    local remv='^(Remv|Purg) ([^ ]+) \[([^]]+)\]'
    local inst='^Inst ([^ ]+) \[([^]]+)\] \(([^ ]+) '
    if ! plan="$(LC_ALL=C apt-get install -s --no-install-recommends "$@" 2>&1)"; then
        printf '%s\n' "$plan" >&2
        return 1
    fi
    while IFS= read -r line; do
        if [[ $line =~ $remv ]]; then
            printf '%s %s\n' "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}"
        elif [[ $line =~ $inst ]] && dpkg --compare-versions "${BASH_REMATCH[3]}" lt "${BASH_REMATCH[2]}"; then
            printf '%s %s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}"
        fi
    done <<<"$plan"
}

# apt_plan PKG-SPEC...: sets APT_HARM to apt_harm's output, refreshing the
# package lists once if apt cannot make a plan (stale or empty lists); dies
# if it still cannot.
APT_HARM=""
apt_plan() {
    if ! APT_HARM="$(apt_harm "$@")"; then
        apt_update_once
        APT_HARM="$(apt_harm "$@")" || die "apt cannot install $* (see apt's message above)"
    fi
}

# harm_lines HARM: apt_harm's lines as sentences, indented.
harm_lines() {
    local name old new
    while read -r name old new; do
        if [[ -n "$new" ]]; then
            printf '    %s %s (installed) would be DOWNGRADED to %s\n' "$name" "$old" "$new"
        else
            printf '    %s %s (installed) would be REMOVED\n' "$name" "$old"
        fi
    done <<<"$1"
}

# harm_summary HARM: apt_harm's lines on one line.
harm_summary() {
    local name old new out=""
    while read -r name old new; do
        out+="${out:+, }$name $old"
        if [[ -n "$new" ]]; then out+=" (downgraded to $new)"; else out+=" (removed)"; fi
    done <<<"$1"
    printf '%s' "$out"
}

# apt_refuse HARM PKG-SPEC...: stops, explaining that installing PKG-SPEC...
# would remove or downgrade what HARM (apt_harm's output) lists.
apt_refuse() {
    local harm="$1"
    shift
    {
        printf '%s: installing %s would remove or downgrade installed packages:\n' "${0##*/}" "$*"
        harm_lines "$harm"
        printf '%s: these scripts never remove or downgrade a package, so nothing was installed.\n' "${0##*/}"
        printf 'To see what apt would do:\n    apt-get install -s --no-install-recommends %s\n' "$*"
        printf 'If you accept those changes, install it yourself, then run this script again:\n'
        printf '    apt-get install --no-install-recommends %s\n' "$*"
    } >&2
    die "not installing $*: apt would change installed packages: $(harm_summary "$harm")"
}

# apt_install_safely PKG-SPEC...: (root) installs PKG-SPEC... (names, or
# name=version) after checking apt's plan (apt_refuse when it removes or
# downgrades anything). If the install itself fails (a stale list naming a
# file the mirror no longer has), refreshes the lists and tries once more,
# checking the new plan again.
apt_install_safely() {
    export DEBIAN_FRONTEND=noninteractive
    local attempt
    for attempt in 1 2; do
        apt_plan "$@"
        [[ -z "$APT_HARM" ]] || apt_refuse "$APT_HARM" "$@"
        say "apt's plan (apt-get install -s) removes and downgrades nothing: installing $*"
        apt-get install -y --no-install-recommends --no-remove "$@" && return 0
        [[ $attempt -eq 1 && $APT_UPDATED -eq 0 ]] || break
        say "apt-get install failed; refreshing the package lists and retrying"
        apt_update_once
    done
    die "could not install: $*"
}

# apt_install_missing PKG...: installs those of PKG... that are missing (root
# only), with apt_install_safely. Runs `apt-get update` only if apt needs it,
# so a machine whose package lists are fresh (CI runs `apt-get update` once)
# is not slowed.
apt_install_missing() {
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    is_root || die "missing Debian packages: ${missing[*]} (run as root, or: apt-get install --no-install-recommends ${missing[*]})"
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get: this expects Debian 12"
    say "installing missing Debian packages: ${missing[*]}"
    apt_install_safely "${missing[@]}"
}

# bookworm-backports, for a package that must match one already installed
# from there (firmware.sh: qemu-system-arm beside a backported qemu-utils).
# Backports are NotAutomatic: enabling them upgrades nothing by itself; only
# a version asked for explicitly comes from there.
BACKPORTS_SOURCES=/etc/apt/sources.list.d/failover-lab-bookworm-backports.sources
BACKPORTS_DEB822='Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'

# True when an apt source names bookworm-backports.
backports_configured() {
    grep -qsE '^[^#]*bookworm-backports' /etc/apt/sources.list \
        /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
}

# The one command that writes $BACKPORTS_SOURCES, as a user would type it.
backports_command() {
    local body="${BACKPORTS_DEB822//$'\n'/\\n}\\n"
    printf '%s\n' "printf '$body' > $BACKPORTS_SOURCES"
}

# Writes $BACKPORTS_SOURCES and refreshes the package lists (root).
enable_backports() {
    say "enabling bookworm-backports: $BACKPORTS_SOURCES (NotAutomatic: nothing is upgraded from it unless asked for)"
    printf '%s\n' "$BACKPORTS_DEB822" >"$BACKPORTS_SOURCES"
    APT_UPDATED=0
    apt_update_once
}

# apt_has_version PKG VERSION: true when an apt source offers PKG at VERSION.
apt_has_version() {
    apt-cache madison "$1" | awk -F' [|] ' -v v="$2" '$2 == v { found = 1 } END { exit !found }'
}

# Puts rustup's cargo first on PATH when it exists (root's PATH under sudo
# often lacks ~/.cargo/bin, and Debian's /usr/bin/cargo must not win: it has
# no clippy or rustfmt).
use_rustup_path() {
    local bin="${CARGO_HOME:-$HOME/.cargo}/bin"
    if [[ -x "$bin/cargo" ]]; then
        case ":$PATH:" in *":$bin:"*) ;; *) PATH="$bin:$PATH" ;; esac
        export PATH
    fi
}

# True when Debian's bare-metal toolchain is complete and consistent.
debian_cross_toolchain_present() {
    [[ -x "$DEBIAN_CARGO" && -x "$DEBIAN_RUSTC" && -d "$DEBIAN_RUST_SRC/library/core" ]] &&
        command -v ld.lld >/dev/null
}

# Fails when rustc-web and rust-web-src differ in version: mixing them fails
# with lang item / intrinsic mismatches that are hard to read.
debian_cross_toolchain_consistent() {
    local a b
    a="$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null || true)"
    b="$(dpkg-query -W -f='${Version}' rust-web-src 2>/dev/null || true)"
    if [[ -n "$a" && "$a" != "$b" ]]; then
        die "rustc-web ($a) and rust-web-src (${b:-missing}) differ; reinstall both in one command: apt-get install ${DEBIAN_CROSS_PACKAGES[*]}"
    fi
}

# debian_cargo ARGS...: runs Debian's cargo with Debian's rustc (the
# installed one, or the one use_debian_toolchain chose). RUSTFLAGS meant for
# the host must not leak into a bare-metal build.
debian_cargo() {
    env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_TARGET -u RUSTC_WRAPPER \
        ${DEBIAN_LIBS:+LD_LIBRARY_PATH="$DEBIAN_LIBS"} \
        RUSTC="$DEBIAN_RUSTC" RUSTC_BOOTSTRAP=1 "$DEBIAN_CARGO" "$@"
}

# debian_rustc_version: the X.Y.Z of the Debian rustc debian_cargo runs.
debian_rustc_version() {
    env ${DEBIAN_LIBS:+LD_LIBRARY_PATH="$DEBIAN_LIBS"} "$DEBIAN_RUSTC" --version | awk '{print $2}'
}

# --- The oldest toolchain the archive serves --------------------------------
#
# The Debian archive's rustc-web has gone down as well as up (1.96 on
# 2026-11-23, 1.85 on 2026-12-04 morning, 1.96 again from
# bookworm-security that evening, with 1.85 still in bookworm). The project
# supports the oldest one served: ./test.sh builds the firmware, the no_std
# core and the whole workspace with it too, whichever one apt installed.
# When it is not the installed one, it is unpacked (dpkg -x, nothing
# installed, no package changed) under target/debian-toolchains/<version>.

# debian_oldest_served: the oldest rustc-web version apt knows of.
debian_oldest_served() {
    local v oldest=""
    while read -r v; do
        if [[ -z "$oldest" ]] || dpkg --compare-versions "$v" lt "$oldest"; then oldest="$v"; fi
    done < <(apt-cache madison rustc-web 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}')
    printf '%s\n' "$oldest"
}

# debian_lib_path ROOT: where an unpacked copy's libraries are. Debian
# splits them between /usr/lib and /lib (libpcre3, which the 1.85 cargo
# needs, installs to /lib/x86_64-linux-gnu), so both.
debian_lib_path() {
    printf '%s\n' "$1/usr/lib/x86_64-linux-gnu:$1/lib/x86_64-linux-gnu"
}

# use_debian_toolchain ROOT: debian_cargo then runs the rustc-web under
# ROOT (/ for the installed one).
use_debian_toolchain() {
    local root="${1%/}"
    DEBIAN_CARGO="$root/usr/bin/cargo"
    DEBIAN_RUSTC="$root/usr/bin/rustc"
    DEBIAN_RUST_SRC="$root/usr/lib/rustlib/src/rust"
    DEBIAN_LIBS=""
    [[ -n "$root" ]] && DEBIAN_LIBS="$(debian_lib_path "$root")"
    return 0
}

# debian_toolchain_root VERSION: prints the root of rustc-web VERSION: / when
# it is the installed one, else a private copy, unpacked on first use from
# the archive's packages (rustc-web, cargo-web, rust-web-src and the
# packages that must have exactly their version, plus any library they need
# that the machine lacks; libraries the machine has are used as they are).
debian_toolchain_root() {
    local version="$1"
    if [[ "$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null || true)" == "$version" &&
        "$(dpkg-query -W -f='${Version}' rust-web-src 2>/dev/null || true)" == "$version" ]]; then
        echo /
        return 0
    fi
    local root
    root="$(pwd)/target/debian-toolchains/$version"
    # A copy unpacked earlier is reused if both its programs still run: they
    # lean on the machine's libraries, which may have been removed since.
    if [[ -x "$root/usr/bin/cargo" && -d "$root/usr/lib/rustlib/src/rust/library/core" ]] &&
        LD_LIBRARY_PATH="$(debian_lib_path "$root")" "$root/usr/bin/rustc" -vV >/dev/null 2>&1 &&
        LD_LIBRARY_PATH="$(debian_lib_path "$root")" "$root/usr/bin/cargo" -V >/dev/null 2>&1; then
        echo "$root"
        return 0
    fi
    # The packages built from the same source at that version, by their
    # exact-version dependencies (rustc-web needs libstd-rust-web-dev = V...).
    local set="rustc-web cargo-web rust-web-src" more p i
    for i in 1 2 3 4; do
        more="$(for p in $set; do
            apt-cache show "$p=$version" 2>/dev/null | sed -n 's/^\(Pre-\)\{0,1\}Depends: //p' |
                tr ',' '\n' | grep -F "(= $version)" | awk '{print $1}'
        done)"
        # shellcheck disable=SC2086
        set="$(printf '%s\n' $set $more | sort -u | tr '\n' ' ')"
    done
    # What apt would install for them on an empty machine; of that, what is
    # in the set or missing here.
    local want=() name ver
    # shellcheck disable=SC2086
    while read -r name ver; do
        if [[ " $set " == *" $name "* ]] || ! pkg_installed "$name"; then want+=("$name=$ver"); fi
    done < <(apt-get install -s --no-install-recommends -o Dir::State::status=/dev/null \
        $(for p in $set; do printf '%s=%s ' "$p" "$version"; done) 2>/dev/null |
        awk '/^Inst / {gsub(/[()]/, "", $3); print $2, $3}')
    [[ ${#want[@]} -gt 0 ]] || die "apt cannot resolve rustc-web $version (apt-get update?)"
    local debs="$root.debs"
    rm -rf "$root" "$debs"
    mkdir -p "$root" "$debs"
    say "unpacking rustc-web $version (not installing it) into $root: ${want[*]}" >&2
    (cd "$debs" && apt-get download "${want[@]}" >/dev/null 2>&1) ||
        die "could not download rustc-web $version's packages: ${want[*]}"
    local deb
    for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
    rm -rf "$debs"
    [[ -x "$root/usr/bin/cargo" ]] || die "rustc-web $version unpacked without cargo under $root"
    # Fail here, naming the library, rather than later in the middle of a
    # build with "error while loading shared libraries".
    local prog missing
    for prog in cargo rustc; do
        missing="$(LD_LIBRARY_PATH="$(debian_lib_path "$root")" ldd "$root/usr/bin/$prog" 2>/dev/null |
            awk '/not found/ {print $1}' | tr '\n' ' ')"
        [[ -z "$missing" ]] || die "rustc-web $version unpacked under $root: $prog lacks ${missing% }"
    done
    echo "$root"
}
