//! Parse arbitrary bytes as a frame, with and without a keyring. Parsing
//! must never panic, and whatever parses must emit and parse back to the
//! same representation.
#![no_main]

use failover_core::wire::{FrameRepr, Key, Keyring, MAX_FRAME_LEN};
use libfuzzer_sys::fuzz_target;

fn keyring() -> Option<Keyring> {
    let mut ring = Keyring::new(Key::new(1, b"fuzzing key: 0123456789abcdef")?);
    ring.add(Key::new(2, b"second fuzzing key, 32 bytes!!!!")?)
        .ok()?;
    Some(ring)
}

fn check(data: &[u8], keys: Option<&Keyring>) {
    let Ok(repr) = FrameRepr::parse(data, keys) else {
        return;
    };
    let mut buf = [0u8; MAX_FRAME_LEN];
    let n = repr.emit(&mut buf, keys).expect("a parsed frame must emit");
    assert_eq!(n, repr.buffer_len(keys.is_some()));
    let again = FrameRepr::parse(&buf[..n], keys).expect("an emitted frame must parse");
    assert_eq!(again, repr);
}

fuzz_target!(|data: &[u8]| {
    let ring = keyring().expect("fixed keys are valid");
    check(data, None);
    check(data, Some(&ring));
});
