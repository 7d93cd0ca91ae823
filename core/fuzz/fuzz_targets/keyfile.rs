//! Read arbitrary text as a key file. Reading must never panic, and the
//! keys it yields are at most `MAX_KEYS`, with distinct ids and secrets of
//! a key's length.
#![no_main]

use failover_core::keyfile::KeyLines;
use failover_core::wire::{MAX_KEYS, MAX_KEY_LEN, MIN_KEY_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut ids = Vec::new();
    let mut lines = KeyLines::new(&text);
    for (_, item) in lines.by_ref() {
        match item {
            Ok(key) => {
                assert!(!ids.contains(&key.id()));
                assert!((MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.secret().len()));
                ids.push(key.id());
            }
            Err(e) => drop(e.to_string()),
        }
    }
    assert!(ids.len() <= MAX_KEYS);
    let _ = lines.finish();
});
