# shellcheck shell=bash
# Shared helpers for ./demo.sh, ./test.sh (and, later, the firmware build).
# Source it; do not run it. Callers set `set -euo pipefail` themselves.

# The Debian packages of the bare-metal toolchain (see ../shared/TOOLCHAIN.md,
# summarised in firmware/README.md). Installed in one apt command so that the
# compiler and the library sources stay at the same version.
DEBIAN_CROSS_PACKAGES=(rustc-web cargo-web rust-web-src lld)
DEBIAN_CARGO=/usr/bin/cargo
DEBIAN_RUSTC=/usr/bin/rustc
DEBIAN_RUST_SRC=/usr/lib/rustlib/src/rust

say() { printf '%s: %s\n' "${0##*/}" "$*"; }
warn() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() {
    warn "error: $*"
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

# apt_install_missing PKG...: installs those of PKG... that are missing (root
# only). Runs `apt-get update` only if the first attempt fails, so a machine
# whose package lists are fresh (CI runs `apt-get update` once) is not slowed.
apt_install_missing() {
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    is_root || die "missing Debian packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})"
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get: this expects Debian 12"
    say "installing missing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
        say "apt-get install failed; refreshing the package lists and retrying"
        apt-get update || die "apt-get update failed (no network or no Debian mirror?)"
        apt-get install -y --no-install-recommends "${missing[@]}" ||
            die "could not install: ${missing[*]}"
    fi
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

# debian_cargo ARGS...: runs Debian's cargo with Debian's rustc. RUSTFLAGS
# meant for the host must not leak into a bare-metal build.
debian_cargo() {
    env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_TARGET -u RUSTC_WRAPPER \
        RUSTC="$DEBIAN_RUSTC" RUSTC_BOOTSTRAP=1 "$DEBIAN_CARGO" "$@"
}
