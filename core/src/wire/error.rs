//! Why a frame was refused.

/// Why `FrameRepr::parse` or `FrameRepr::emit` refused. The state machines
/// count each kind, so an operator sees what arrives on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than its header or its declared length.
    Truncated,
    /// Does not start with the magic bytes: not ours.
    BadMagic,
    /// A protocol version this crate does not speak.
    UnsupportedVersion(u8),
    /// A message type this version does not know.
    UnknownType(u8),
    /// A field holds a value this version does not allow (role, length…).
    Malformed,
    /// A key is configured and the frame carries no tag.
    AuthRequired,
    /// The tag does not match: forged or corrupted.
    AuthFailed,
    /// Signed with a key id this node does not have.
    UnknownKey(u8),
    /// `emit` was given a buffer too small for the frame.
    BufferTooSmall,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WireError::Truncated => write!(f, "truncated frame"),
            WireError::BadMagic => write!(f, "not a heartbeat frame (bad magic)"),
            WireError::UnsupportedVersion(v) => write!(f, "unsupported protocol version {v}"),
            WireError::UnknownType(t) => write!(f, "unknown message type {t}"),
            WireError::Malformed => write!(f, "malformed frame"),
            WireError::AuthRequired => {
                write!(f, "unauthenticated frame refused (a key is configured)")
            }
            WireError::AuthFailed => write!(f, "authentication tag mismatch"),
            WireError::UnknownKey(id) => write!(f, "signed with unknown key id {id}"),
            WireError::BufferTooSmall => write!(f, "buffer too small"),
        }
    }
}

/// So that a host can carry a refusal in its own error chains (`?` into
/// `Box<dyn Error>`, `anyhow`, …); `core::error::Error` needs no `std`.
impl core::error::Error for WireError {}

#[cfg(test)]
mod tests {
    use crate::config::ConfigError;
    use crate::replay::Replayed;
    use crate::wire::{AddKeyError, WireError};
    use std::boxed::Box;
    use std::string::ToString;

    #[test]
    fn the_core_errors_are_errors() {
        let errors: [Box<dyn core::error::Error>; 4] = [
            Box::new(WireError::UnknownType(9)),
            Box::new(AddKeyError::Full),
            Box::new(ConfigError::ZeroInterval),
            Box::new(Replayed),
        ];
        for e in &errors {
            assert!(!e.to_string().is_empty());
            assert!(e.source().is_none());
        }
    }
}
