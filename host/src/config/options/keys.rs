//! The key file: one key per line, checked before any is used.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use failover_core::wire::{Key, Keyring, MAX_KEYS, MAX_KEY_LEN, MIN_KEY_LEN};

use crate::config::cli::{parse_digits, Problem};

/// Reads a key file, refusing one that group or others may access.
///
/// Format: one key per line, `ID HEXSECRET`: a key id from 0 to 255, then
/// the secret in hexadecimal, 16 to 64 bytes (32 to 128 hex digits). The
/// first key signs; a second one, if present, is also accepted (a rotation
/// in progress). `#` starts a comment; blank lines are skipped. Messages
/// never quote a line, since it holds a secret.
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
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(unreadable)?;
    parse_keys(&text, &p.to_string())
}

/// Parses the text of a key file (see [`load_key_file`]); `name` is the
/// file's name for messages.
pub fn parse_keys(text: &str, name: &str) -> Result<Keyring, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut keys: Vec<(u8, Key)> = Vec::new();
    let mut count = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        count += 1;
        let words: Vec<&str> = content.split_whitespace().collect();
        let [id_text, secret_text] = words[..] else {
            problems.push(Problem::config(format!(
                "{name}:{line}: expected \"ID HEXSECRET\" (a key id from 0 to 255, a space, then \
                 the secret in hexadecimal)"
            )));
            continue;
        };
        let id = match parse_digits(id_text).and_then(|n| u8::try_from(n).ok()) {
            Some(id) => Some(id),
            None => {
                problems.push(Problem::config(format!(
                    "{name}:{line}: invalid key id {id_text:?}: give a number from 0 to 255"
                )));
                None
            }
        };
        let secret = match decode_hex(secret_text) {
            Some(s) if (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&s.len()) => Some(s),
            Some(s) => {
                problems.push(Problem::config(format!(
                    "{name}:{line}: the secret is {} bytes; a key needs {MIN_KEY_LEN} to \
                     {MAX_KEY_LEN} bytes ({} to {} hex digits)",
                    s.len(),
                    MIN_KEY_LEN * 2,
                    MAX_KEY_LEN * 2
                )));
                None
            }
            None => {
                problems.push(Problem::config(format!(
                    "{name}:{line}: the secret is not hexadecimal (two digits 0-9, a-f per byte)"
                )));
                None
            }
        };
        if count > MAX_KEYS {
            problems.push(Problem::config(format!(
                "{name}:{line}: more than {MAX_KEYS} keys: the file holds the signing key and at \
                 most one other, accepted during a rotation"
            )));
            continue;
        }
        let (Some(id), Some(secret)) = (id, secret) else {
            continue;
        };
        if keys.iter().any(|(k, _)| *k == id) {
            problems.push(Problem::config(format!(
                "{name}:{line}: key id {id} is given twice"
            )));
            continue;
        }
        match Key::new(id, &secret) {
            Some(k) => keys.push((id, k)),
            None => problems.push(Problem::config(format!(
                "{name}:{line}: the secret is not a usable key"
            ))),
        }
    }
    if count == 0 {
        problems.push(Problem::config(format!(
            "{name}: no key found (expected lines \"ID HEXSECRET\")"
        )));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut keys = keys.into_iter().map(|(_, k)| k);
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

/// The bytes of an even number of hexadecimal digits (either case).
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}
