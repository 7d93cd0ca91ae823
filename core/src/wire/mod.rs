//! Wire format v1: the frames the primary, the secondary and the witness
//! exchange, carried in UDP (port 1694 by default). Every byte is described in
//! `docs/protocol.md`.
//!
//! The shape follows smoltcp's `wire` module. Each part of a frame has one
//! file holding its byte layout, a checked *view* over the bytes (accessors
//! that return typed values and cannot go out of bounds once the length was
//! checked), and its high-level *representation* with `parse` and `emit`:
//!
//! | file | view | representation |
//! |---|---|---|
//! | `header.rs` | [`Packet`]: the whole frame, header fields, body and tag extents | [`Header`] |
//! | `heartbeat.rs` | [`HeartbeatPacket`]: a heartbeat body | [`HeartbeatRepr`], [`HeartbeatFlags`] |
//! | `witness.rs` | [`WitnessPacket`]: a witness-exchange body | [`WitnessRepr`], [`WitnessKind`], [`DenyReason`] |
//! | `auth.rs` | the tag ([`Packet::tag`]) | [`AuthCode`], [`Key`], [`Keyring`] |
//! | `frame.rs` | [`UnverifiedFrame`]: header checked, tag and body not yet | [`FrameRepr`], [`Body`] |
//!
//! [`FrameRepr::parse`] and [`FrameRepr::emit`] are what the machines use.
//! Nothing here panics on any input.

/// Declares a wire code as an enum whose unknown values are kept in an
/// `Unknown` variant rather than refused (smoltcp's `enum_with_unknown!`):
/// a view reports what the bytes say, and the representation's `parse`
/// decides what it refuses. `From` converts both ways, so an unknown code
/// written back is the byte that was read.
macro_rules! enum_with_unknown {
    (
        $(#[$enum_attr:meta])*
        pub enum $name:ident($ty:ty) {
            $(
                $(#[$variant_attr:meta])*
                $variant:ident = $value:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$enum_attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                $(#[$variant_attr])*
                $variant
            ),*,
            /// A code this version does not define.
            Unknown($ty),
        }

        impl ::core::convert::From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( $value => $name::$variant ),*,
                    other => $name::Unknown(other),
                }
            }
        }

        impl ::core::convert::From<$name> for $ty {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value ),*,
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

mod auth;
mod error;
mod field;
mod frame;
mod header;
mod heartbeat;
mod witness;

pub use auth::{AddKeyError, AuthCode, Key, Keyring, MAX_KEYS, MAX_KEY_LEN, MIN_KEY_LEN, TAG_LEN};
pub use error::WireError;
pub use frame::{Body, FrameRepr, UnverifiedFrame};
pub use header::{Header, MessageType, Packet, HEADER_LEN};
pub use heartbeat::{HeartbeatFlags, HeartbeatPacket, HeartbeatRepr};
pub use witness::{DenyReason, WitnessKind, WitnessPacket, WitnessRepr};

/// Apple's heartbeat port, the default for both daemons.
pub const DEFAULT_PORT: u16 = 1694;
/// The protocol version this crate speaks; frames of other versions are
/// counted and ignored.
pub const PROTOCOL_VERSION: u8 = 1;
/// The two bytes every frame starts with ("HB").
pub const MAGIC: [u8; 2] = *b"HB";
/// The longest free-text message a heartbeat carries (`heartbeatd -m`).
pub const MAX_MESSAGE_LEN: usize = 64;
/// The longest frame this version emits; receive buffers of this size
/// suffice, and [`Machine::poll_transmit`](crate::Machine::poll_transmit)
/// takes a buffer of exactly this size, so a too-small one cannot compile.
pub const MAX_FRAME_LEN: usize = 128;
