//! Wire format v1: the frames the primary, the secondary and the witness
//! exchange, carried in UDP (port 1694 by default). Every byte is described in
//! `docs/protocol.md`.
//!
//! The shape follows smoltcp's `wire` module: [`Packet`] is a checked view over
//! a byte buffer (its length is validated once, after which the accessors
//! cannot go out of bounds), and [`FrameRepr`] is the high-level
//! representation with `parse` and `emit`. Nothing here panics on any input.

mod auth;
mod error;
mod packet;
mod repr;

pub use auth::{AddKeyError, Key, Keyring, MAX_KEYS, MAX_KEY_LEN, MIN_KEY_LEN, TAG_LEN};
pub use error::WireError;
pub use packet::{Packet, UnverifiedFrame};
pub use repr::{
    Body, DenyReason, FrameRepr, Header, HeartbeatFlags, HeartbeatRepr, WitnessKind, WitnessRepr,
};

/// Apple's heartbeat port, the default for both daemons.
pub const DEFAULT_PORT: u16 = 1694;
/// The protocol version this crate speaks; frames of other versions are
/// counted and ignored.
pub const PROTOCOL_VERSION: u8 = 1;
/// The two bytes every frame starts with ("HB").
pub const MAGIC: [u8; 2] = *b"HB";
/// The longest free-text message a heartbeat carries (`heartbeatd -m`).
pub const MAX_MESSAGE_LEN: usize = 64;
/// The longest frame this version emits; receive buffers of this size suffice.
pub const MAX_FRAME_LEN: usize = 128;
