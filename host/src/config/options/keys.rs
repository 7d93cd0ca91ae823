//! The key file: one key per line, checked before any is used.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use failover_core::keyfile::KeyLines;
use failover_core::wire::Keyring;

use crate::config::cli::Problem;

/// Reads a key file, refusing one that group or others may access, and,
/// when the daemon runs as root, one that root does not own (its owner
/// could change the keys, or read them).
///
/// Format: one key per line, `ID HEXSECRET`: a key id from 0 to 255, then
/// the secret in hexadecimal, 16 to 64 bytes (32 to 128 hex digits). The
/// first key signs; a second one, if present, is also accepted (a rotation
/// in progress). `#` starts a comment; blank lines are skipped. Messages
/// never quote a secret (`failover_core::keyfile`).
pub fn load_key_file(path: &Path) -> Result<Keyring, Vec<Problem>> {
    let p = path.display();
    let unreadable =
        |e: std::io::Error| vec![Problem::no_input(format!("cannot read key file {p}: {e}"))];
    let mut file = File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(vec![Problem::config(format!(
            "key file {p} is not a regular file"
        ))]);
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(vec![Problem::config(format!(
            "key file {p} is accessible by group or others (mode {mode:04o}): anyone who can \
             read it can forge heartbeats; fix with: chmod 600 {p}"
        ))]);
    }
    let owner = meta.uid();
    if nix::unistd::geteuid().is_root() && owner != 0 {
        return Err(vec![Problem::config(format!(
            "key file {p} is owned by uid {owner}, not root: its owner can read and change the \
             keys; fix with: chown root:root {p}"
        ))]);
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(unreadable)?;
    parse_keys(&text, &p.to_string())
}

/// Parses the text of a key file (see [`load_key_file`]) with the core's
/// parser, which the witness firmware's build uses too; `name` is the
/// file's name for messages.
pub fn parse_keys(text: &str, name: &str) -> Result<Keyring, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut keys = Vec::new();
    let mut lines = KeyLines::new(text);
    for (line, parsed) in &mut lines {
        match parsed {
            Ok(key) => keys.push(key.into_key()),
            Err(e) => problems.push(Problem::config(format!("{name}:{line}: {e}"))),
        }
    }
    if let Err(e) = lines.finish() {
        problems.push(Problem::config(format!("{name}: {e}")));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut keys = keys.into_iter();
    let Some(first) = keys.next() else {
        return Err(vec![Problem::config(format!("{name}: no key found"))]);
    };
    let mut ring = Keyring::new(first);
    for k in keys {
        if let Err(e) = ring.add(k) {
            return Err(vec![Problem::config(format!("{name}: {e}"))]);
        }
    }
    Ok(ring)
}
