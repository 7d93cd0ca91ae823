//! The key file: a deployment's pre-shared keys, as the daemons read them
//! (`--key-file`) and the witness firmware's build script does
//! (`witness.toml`'s `key_file`). One parser for both, so they accept
//! exactly the same files and word their problems alike.
//!
//! The format (docs/operations.md, "Keys and key rotation"):
//!
//! ```text
//! # comment
//! ID HEXSECRET
//! ```
//!
//! One key per line: a key id from 0 to 255 in decimal digits, white space,
//! then the secret in hexadecimal (upper or lower case), [`MIN_KEY_LEN`] to
//! [`MAX_KEY_LEN`] bytes. `#` starts a comment, to the end of the line;
//! blank lines are skipped. The first key signs, a second one (at most
//! [`MAX_KEYS`] in all) is also accepted, during a rotation.
//!
//! [`KeyLines`] reads the text line by line and yields each key or each
//! problem with its line number; the caller collects them. No problem ever
//! quotes anything the file holds: a problem says which column of which
//! line is wrong, and how long the value found there is, since a value in
//! the wrong place (the columns swapped, a secret split by a space) may be
//! a secret.
//!
//! ```
//! use failover_core::keyfile::{KeyLineError, KeyLines};
//!
//! let text = "# the signing key\n1 000102030405060708090a0b0c0d0e0f\n1 00\n";
//! let mut lines = KeyLines::new(text);
//! let (line, first) = lines.next().unwrap();
//! assert_eq!((line, first.unwrap().id()), (2, 1));
//! assert!(matches!(lines.next(), Some((3, Err(KeyLineError::BadLength(1))))));
//! assert!(lines.next().is_none());
//! assert!(lines.finish().is_ok()); // a key line was found
//! ```

use core::fmt;
use core::iter::Enumerate;
use core::str::Lines;

use crate::wire::{Key, MAX_KEYS, MAX_KEY_LEN, MIN_KEY_LEN};

/// A key the file holds: its id and secret, and the [`Key`] made of them.
///
/// `Debug` shows the id only, never the secret.
#[derive(Clone)]
pub struct KeyLine {
    key: Key,
    secret: heapless::Vec<u8, MAX_KEY_LEN>,
}

impl KeyLine {
    /// The key id.
    #[must_use]
    pub fn id(&self) -> u8 {
        self.key.id()
    }

    /// The key, ready to sign and verify.
    #[must_use]
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// The key, ready to sign and verify.
    #[must_use]
    pub fn into_key(self) -> Key {
        self.key
    }

    /// The secret's bytes ([`MIN_KEY_LEN`] to [`MAX_KEY_LEN`] of them),
    /// for a build that compiles the key into a firmware image.
    #[must_use]
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl fmt::Debug for KeyLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLine")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

/// What is wrong with one line of a key file. Its `Display` is the message
/// for the user, without the file's name and line number (prefix those).
/// It holds no text of the file, so neither `Display` nor `Debug` can
/// quote a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLineError {
    /// Not two words, `ID HEXSECRET`.
    Shape,
    /// The first word is not a number from 0 to 255; its length in
    /// characters (the word itself is never shown: it may be a secret).
    BadId(usize),
    /// The first word is a valid secret and the second a valid key id:
    /// the columns are the wrong way round.
    Swapped,
    /// The secret has an odd number of digits, or a character that is not
    /// a hexadecimal digit.
    NotHex,
    /// The secret, in bytes, is shorter than [`MIN_KEY_LEN`] or longer than
    /// [`MAX_KEY_LEN`].
    BadLength(usize),
    /// A line after the [`MAX_KEYS`]th one that holds anything.
    TooMany,
    /// A second key with this id.
    DuplicateId(u8),
}

impl fmt::Display for KeyLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyLineError::Shape => write!(
                f,
                "expected \"ID HEXSECRET\" (a key id from 0 to 255, a space, then the secret \
                 in hexadecimal)"
            ),
            KeyLineError::BadId(len) => write!(
                f,
                "the key id (first column) must be a number from 0 to 255; found a value \
                 of {len} character{} (not shown: it may be a secret)",
                if *len == 1 { "" } else { "s" }
            ),
            KeyLineError::Swapped => write!(
                f,
                "the columns are swapped: the key id comes first, then the secret (neither \
                 is shown)"
            ),
            KeyLineError::NotHex => write!(
                f,
                "the secret (second column) is not hexadecimal (two digits 0-9, a-f per byte)"
            ),
            KeyLineError::BadLength(len) => write!(
                f,
                "the secret (second column) is {len} bytes; a key needs {MIN_KEY_LEN} to {MAX_KEY_LEN} bytes \
                 ({} to {} hex digits)",
                MIN_KEY_LEN * 2,
                MAX_KEY_LEN * 2
            ),
            KeyLineError::TooMany => write!(
                f,
                "more than {MAX_KEYS} keys: the file holds the signing key and at most one \
                 other, accepted during a rotation"
            ),
            KeyLineError::DuplicateId(id) => write!(f, "key id {id} is given twice"),
        }
    }
}

impl core::error::Error for KeyLineError {}

/// The file holds no key line at all ([`KeyLines::finish`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoKey;

impl fmt::Display for NoKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no key found (expected lines \"ID HEXSECRET\")")
    }
}

impl core::error::Error for NoKey {}

/// The keys of a key file's text and the problems of its lines, in order:
/// `(line number from 1, key or problem)`. A line may have several problems
/// (a bad id and a bad secret), each its own item; a file is good when no
/// item is an error and [`KeyLines::finish`] is `Ok`.
///
/// Every line that holds anything counts towards [`MAX_KEYS`], even a bad
/// one. A good line is yielded only if the lines before it left room and
/// did not use its id, so the keys yielded are at most [`MAX_KEYS`], with
/// distinct ids, the signing key first.
#[derive(Debug, Clone)]
pub struct KeyLines<'a> {
    lines: Enumerate<Lines<'a>>,
    /// Lines that hold anything, so far.
    count: usize,
    /// The ids of the keys yielded.
    ids: heapless::Vec<u8, MAX_KEYS>,
    /// More problems of the last line read, the next one last.
    pending: heapless::Vec<KeyLineError, 2>,
    pending_line: usize,
}

impl<'a> KeyLines<'a> {
    /// Reads `text`, a key file's contents.
    #[must_use]
    pub fn new(text: &'a str) -> KeyLines<'a> {
        KeyLines {
            lines: text.lines().enumerate(),
            count: 0,
            ids: heapless::Vec::new(),
            pending: heapless::Vec::new(),
            pending_line: 0,
        }
    }

    /// Once every line has been read: whether the file held a key line at
    /// all. `Err` for an empty file, or one of comments only.
    pub fn finish(&self) -> Result<(), NoKey> {
        if self.count == 0 {
            Err(NoKey)
        } else {
            Ok(())
        }
    }

    /// The problems of one line that holds something (`content`, without
    /// its comment), or its key.
    fn line(&mut self, content: &str) -> Result<KeyLine, heapless::Vec<KeyLineError, 3>> {
        self.count = self.count.saturating_add(1);
        let mut problems = heapless::Vec::new();
        let mut words = content.split_whitespace();
        let (Some(id_text), Some(secret_text), None) = (words.next(), words.next(), words.next())
        else {
            let _ = problems.push(KeyLineError::Shape);
            return Err(problems);
        };
        let id = parse_id(id_text);
        if id.is_none() && parse_id(secret_text).is_some() && decode_secret(id_text).is_ok() {
            let _ = problems.push(KeyLineError::Swapped);
            return Err(problems);
        }
        if id.is_none() {
            let _ = problems.push(KeyLineError::BadId(id_text.chars().count()));
        }
        let secret = decode_secret(secret_text)
            .map_err(|e| {
                let _ = problems.push(e);
            })
            .ok();
        if self.count > MAX_KEYS {
            let _ = problems.push(KeyLineError::TooMany);
        }
        let (Some(id), Some(secret), true) = (id, secret, problems.is_empty()) else {
            return Err(problems);
        };
        if self.ids.contains(&id) {
            let _ = problems.push(KeyLineError::DuplicateId(id));
            return Err(problems);
        }
        // The length was checked: the key cannot be refused.
        let Some(key) = Key::new(id, &secret) else {
            let _ = problems.push(KeyLineError::BadLength(secret.len()));
            return Err(problems);
        };
        // Room was checked with `count`.
        let _ = self.ids.push(id);
        Ok(KeyLine { key, secret })
    }
}

impl<'a> Iterator for KeyLines<'a> {
    type Item = (usize, Result<KeyLine, KeyLineError>);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending.pop() {
            return Some((self.pending_line, Err(e)));
        }
        for (i, raw) in self.lines.by_ref() {
            let number = i.saturating_add(1);
            let content = raw.split('#').next().unwrap_or_default().trim();
            if content.is_empty() {
                continue;
            }
            return Some((
                number,
                self.line(content).map_err(|mut problems| {
                    problems.reverse();
                    let first = problems.pop().unwrap_or(KeyLineError::Shape);
                    self.pending.clear();
                    for e in problems {
                        let _ = self.pending.push(e);
                    }
                    self.pending_line = number;
                    first
                }),
            ));
        }
        None
    }
}

/// A key id: decimal digits only (no sign, no spaces), 0 to 255.
fn parse_id(text: &str) -> Option<u8> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The secret's bytes, if `text` is hexadecimal and of a key's length.
/// A secret of the wrong length is still checked for its digits first, so
/// that a message says what is wrong with it in the order a user fixes it.
fn decode_secret(text: &str) -> Result<heapless::Vec<u8, MAX_KEY_LEN>, KeyLineError> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return Err(KeyLineError::NotHex);
    }
    let mut buf = [0u8; MAX_KEY_LEN];
    for chunk in digits.chunks(2 * MAX_KEY_LEN) {
        let out = buf.get_mut(..chunk.len() / 2).ok_or(KeyLineError::NotHex)?;
        hex::decode_to_slice(chunk, out).map_err(|_| KeyLineError::NotHex)?;
    }
    let len = digits.len() / 2;
    if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&len) {
        return Err(KeyLineError::BadLength(len));
    }
    buf.get(..len)
        .and_then(|s| heapless::Vec::from_slice(s).ok())
        .ok_or(KeyLineError::BadLength(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::{String, ToString};
    use std::vec::Vec;

    const KEY16: &str = "000102030405060708090a0b0c0d0e0f";
    const KEY32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    /// Every item as `line: message` (or `line: key ID`), and `finish`.
    fn read(text: &str) -> (Vec<String>, Result<(), NoKey>) {
        let mut lines = KeyLines::new(text);
        let items = lines
            .by_ref()
            .map(|(n, r)| match r {
                Ok(k) => format!("{n}: key {}", k.id()),
                Err(e) => format!("{n}: {e}"),
            })
            .collect();
        (items, lines.finish())
    }

    #[test]
    fn keys_comments_blank_lines_and_case() {
        let text = format!(
            "# heartbeat keys\n7 {KEY16}\n\n  8\t{} # rotation\r\n#9 {KEY16}\n",
            KEY32.to_uppercase()
        );
        assert_eq!(
            read(&text),
            (["2: key 7", "4: key 8"].map(String::from).to_vec(), Ok(()))
        );
        let mut lines = KeyLines::new(&text);
        let (_, first) = lines.next().unwrap();
        let first = first.unwrap();
        assert_eq!(first.secret(), &(0..16).collect::<Vec<u8>>()[..]);
        assert_eq!(first.key().id(), 7);
        let (_, second) = lines.next().unwrap();
        assert_eq!(second.unwrap().secret(), &(0..32).collect::<Vec<u8>>()[..]);
    }

    #[test]
    fn the_lengths_allowed() {
        let max = "ab".repeat(MAX_KEY_LEN);
        let (items, _) = read(&format!("0 {KEY16}\n255 {max}\n"));
        assert_eq!(items, ["1: key 0", "2: key 255"]);
        let (items, _) = read(&format!("0 {max}ab\n"));
        assert_eq!(
            items,
            ["1: the secret (second column) is 65 bytes; a key needs 16 to 64 bytes (32 to 128 hex digits)"]
        );
        // Non-hex beyond the first 64 bytes is still found.
        let (items, _) = read(&format!("0 {max}{max}zz\n"));
        assert_eq!(
            items,
            ["1: the secret (second column) is not hexadecimal (two digits 0-9, a-f per byte)"]
        );
    }

    #[test]
    fn every_problem_of_every_line() {
        let (items, end) = read("x y\n999 00\n1\n");
        assert_eq!(
            items,
            [
                "1: the key id (first column) must be a number from 0 to 255; found a value of 1 character (not shown: it may be a secret)",
                "1: the secret (second column) is not hexadecimal (two digits 0-9, a-f per byte)",
                "2: the key id (first column) must be a number from 0 to 255; found a value of 3 characters (not shown: it may be a secret)",
                "2: the secret (second column) is 1 bytes; a key needs 16 to 64 bytes (32 to 128 hex digits)",
                // Only its shape: a line that is not a key does not count
                // as one too many.
                "3: expected \"ID HEXSECRET\" (a key id from 0 to 255, a space, then the \
                 secret in hexadecimal)",
            ]
        );
        assert_eq!(end, Ok(()));
        let (items, _) = read(&format!("1 {KEY16}\n1 {KEY32}\n2 {KEY16}\n+3 zz\n"));
        assert_eq!(
            items,
            [
                "1: key 1",
                "2: key id 1 is given twice",
                "3: more than 2 keys: the file holds the signing key and at most one other, \
                 accepted during a rotation",
                "4: the key id (first column) must be a number from 0 to 255; found a value of 2 characters (not shown: it may be a secret)",
                "4: the secret (second column) is not hexadecimal (two digits 0-9, a-f per byte)",
                "4: more than 2 keys: the file holds the signing key and at most one other, \
                 accepted during a rotation",
            ]
        );
    }

    #[test]
    fn no_key() {
        for text in ["", "\n", "# only a comment\n\n   \n", "#1 00"] {
            assert_eq!(read(text), (Vec::new(), Err(NoKey)), "{text:?}");
        }
        assert_eq!(
            NoKey.to_string(),
            "no key found (expected lines \"ID HEXSECRET\")"
        );
    }

    #[test]
    fn messages_never_quote_the_secret() {
        // The columns swapped; a secret in the id's column; a secret split
        // by a space; a short and a non-hex id.
        let (mut items, _) = read(&format!("{KEY16} 1\n{KEY16} {KEY16}\n1 {KEY16}x\n"));
        items.extend(read(&format!("1 é{KEY16}\nunicodeé 1\n0a0b0c 0d0e0f\n")).0);
        assert_eq!(
            items,
            [
                "1: the columns are swapped: the key id comes first, then the secret (neither \
                 is shown)",
                "2: the key id (first column) must be a number from 0 to 255; found a value of \
                 32 characters (not shown: it may be a secret)",
                "3: the secret (second column) is not hexadecimal (two digits 0-9, a-f per byte)",
                "3: more than 2 keys: the file holds the signing key and at most one other, \
                 accepted during a rotation",
                "1: the secret (second column) is not hexadecimal (two digits 0-9, a-f per byte)",
                "2: the key id (first column) must be a number from 0 to 255; found a value of \
                 8 characters (not shown: it may be a secret)",
                "2: the secret (second column) is not hexadecimal (two digits 0-9, a-f per byte)",
                "3: the key id (first column) must be a number from 0 to 255; found a value of \
                 6 characters (not shown: it may be a secret)",
                "3: the secret (second column) is 3 bytes; a key needs 16 to 64 bytes (32 to 128 \
                 hex digits)",
                "3: more than 2 keys: the file holds the signing key and at most one other, \
                 accepted during a rotation",
            ]
        );
        let swapped = KeyLines::new(&format!("{KEY16} 1")).next().unwrap().1;
        assert_eq!(swapped.unwrap_err(), KeyLineError::Swapped);
        for item in items {
            assert!(
                !item.contains("0a0b0c") && !item.contains("0d0e0f"),
                "{item}"
            );
        }
        let line = KeyLines::new(&format!("1 {KEY16}"))
            .next()
            .unwrap()
            .1
            .unwrap();
        assert_eq!(format!("{line:?}"), "KeyLine { id: 1, .. }");
    }

    #[test]
    fn ids_are_decimal_digits() {
        assert_eq!(parse_id("0"), Some(0));
        assert_eq!(parse_id("007"), Some(7));
        assert_eq!(parse_id("255"), Some(255));
        for bad in [
            "",
            "256",
            "+1",
            "-1",
            "0x1",
            "1.0",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any text, however broken: no panic, at most MAX_KEYS keys with
        /// distinct ids, line numbers in order and within the text.
        #[test]
        fn any_text_is_read_without_panicking(text in "(?s)(.{0,80}\n?){0,6}") {
            check_any(&text);
        }

        /// Lines that look almost right.
        #[test]
        fn near_miss_lines(
            lines in proptest::collection::vec(
                "[ \t]*[0-9+-]{0,4}[ \t]{0,2}[0-9a-fA-Fg#é ]{0,140}[ \t]*(#.*)?",
                0..5,
            )
        ) {
            check_any(&lines.join("\n"));
        }

        /// Well-formed lines: each key is read back, in order, as long as
        /// its id is not a key's already and there is room; any other line
        /// is a problem.
        #[test]
        fn keys_are_read_back(
            keys in proptest::collection::vec(
                (0u16..300, proptest::collection::vec(proptest::prelude::any::<u8>(), 0..70), proptest::prelude::any::<bool>()),
                0..4,
            )
        ) {
            let text: String = keys
                .iter()
                .map(|(id, secret, upper)| {
                    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
                    let hex = if *upper { hex.to_uppercase() } else { hex };
                    format!("{id} {hex}\n")
                })
                .collect();
            let mut expected = Vec::new();
            let mut ids = Vec::new();
            for (n, (id, secret, _)) in keys.iter().enumerate() {
                let good = *id <= 255
                    && (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&secret.len())
                    && n < MAX_KEYS;
                if good && !ids.contains(id) {
                    expected.push((n + 1, *id as u8, secret.clone()));
                    ids.push(*id);
                }
            }
            let got: Vec<(usize, u8, Vec<u8>)> = KeyLines::new(&text)
                .filter_map(|(n, r)| r.ok().map(|k| (n, k.id(), k.secret().to_vec())))
                .collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }

    fn check_any(text: &str) {
        let total = text.lines().count();
        let mut ids = Vec::new();
        let mut last = 0;
        let mut lines = KeyLines::new(text);
        for (n, item) in lines.by_ref() {
            assert!(n >= last && n >= 1 && n <= total, "{n} of {total}");
            last = n;
            match item {
                Ok(k) => {
                    assert!(!ids.contains(&k.id()));
                    assert!((MIN_KEY_LEN..=MAX_KEY_LEN).contains(&k.secret().len()));
                    ids.push(k.id());
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
        assert!(ids.len() <= MAX_KEYS);
        let _ = lines.finish();
    }
}
