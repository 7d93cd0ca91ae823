//! The witness exchange (message types 2 to 5: request, grant, deny,
//! release): one body layout for all four, [`WitnessPacket`] (the view
//! over the body's bytes) and [`WitnessRepr`].
//!
//! ```text
//! nonce (4) | subject (4) | lease ms (4) | reason (1) | reserved (3) | ignored
//! ```

use super::field::{read_u32, read_u8, saturate_u32, write, write_u32, write_u8, Field};
use super::{MessageType, WireError};
use crate::node::NodeId;
use crate::time::Duration;

/// Field offsets, relative to the start of the body.
mod field {
    use super::Field;

    pub const NONCE: Field = 0..4;
    pub const SUBJECT: Field = 4..8;
    pub const LEASE: Field = 8..12;
    pub const REASON: usize = 12;
    pub const RESERVED: Field = 13..16;
    /// Length of the body's fields.
    pub const LEN: usize = 16;
}

/// The witness exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WitnessKind {
    /// Secondary to witness: may I take the service addresses?
    Request,
    /// Witness to secondary: yes, for the lease that follows.
    Grant,
    /// Witness to secondary: no, and why.
    Deny,
    /// Secondary to witness: I no longer need the grant.
    Release,
}

impl WitnessKind {
    /// The message type that carries this kind.
    #[must_use]
    pub const fn message_type(self) -> MessageType {
        match self {
            WitnessKind::Request => MessageType::WitnessRequest,
            WitnessKind::Grant => MessageType::WitnessGrant,
            WitnessKind::Deny => MessageType::WitnessDeny,
            WitnessKind::Release => MessageType::WitnessRelease,
        }
    }

    /// The kind a message type carries; `None` for a heartbeat or an
    /// unknown type.
    #[must_use]
    pub const fn from_message_type(t: MessageType) -> Option<WitnessKind> {
        match t {
            MessageType::WitnessRequest => Some(WitnessKind::Request),
            MessageType::WitnessGrant => Some(WitnessKind::Grant),
            MessageType::WitnessDeny => Some(WitnessKind::Deny),
            MessageType::WitnessRelease => Some(WitnessKind::Release),
            MessageType::Heartbeat | MessageType::Unknown(_) => None,
        }
    }
}

/// Why a witness refused a takeover request.
///
/// Not an `Unknown(u8)` enum like the header's codes: a reason is only
/// ever shown to an administrator, so every code this version does not
/// define reads as [`DenyReason::Other`] (and is written back as 255).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DenyReason {
    /// Not a refusal (used in frames other than `Deny`).
    None = 0,
    /// The witness still hears the primary.
    PrimaryAlive = 1,
    /// Another node holds the one outstanding grant.
    GrantOutstanding = 2,
    /// The requester is not the configured secondary.
    NotSecondary = 3,
    /// The witness is driving its fence output; ask again shortly.
    Fencing = 4,
    /// The witness has not listened long enough to know: it has just
    /// started, or heard nobody for longer than a dead time (its own link
    /// was down), and counts the primary's silence afresh; ask again.
    Listening = 5,
    /// A reason this version does not know.
    Other = 255,
}

impl DenyReason {
    /// The reason with wire code `code`; unknown codes become `Other`.
    #[must_use]
    pub const fn from_u8(code: u8) -> DenyReason {
        match code {
            0 => DenyReason::None,
            1 => DenyReason::PrimaryAlive,
            2 => DenyReason::GrantOutstanding,
            3 => DenyReason::NotSecondary,
            4 => DenyReason::Fencing,
            5 => DenyReason::Listening,
            _ => DenyReason::Other,
        }
    }
}

/// A read/write view over a witness-exchange body (the bytes of
/// [`Packet::body`](super::Packet::body) of a request, grant, deny or
/// release frame).
///
/// [`WitnessPacket::new_checked`] validates the length once; the accessors
/// never panic, even unchecked (a field beyond the buffer reads as zero).
#[derive(Debug, Clone)]
pub struct WitnessPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> WitnessPacket<T> {
    /// A view over `buffer` without any check.
    pub const fn new_unchecked(buffer: T) -> WitnessPacket<T> {
        WitnessPacket { buffer }
    }

    /// A view over `buffer`, after [`check_len`](WitnessPacket::check_len).
    pub fn new_checked(buffer: T) -> Result<WitnessPacket<T>, WireError> {
        let packet = WitnessPacket::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// `Truncated` if the body is shorter than its fields. Bytes after
    /// them are allowed (fields a later v1 revision may append).
    pub fn check_len(&self) -> Result<(), WireError> {
        if self.buffer.as_ref().len() < field::LEN {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The requester's nonce, echoed in the answer.
    #[must_use]
    pub fn nonce(&self) -> u32 {
        read_u32(self.bytes(), field::NONCE)
    }

    /// The node the message is about.
    #[must_use]
    pub fn subject(&self) -> NodeId {
        NodeId(read_u32(self.bytes(), field::SUBJECT))
    }

    /// The lease (carried in milliseconds).
    #[must_use]
    pub fn lease(&self) -> Duration {
        Duration::from_millis(u64::from(read_u32(self.bytes(), field::LEASE)))
    }

    /// Why a deny refused.
    #[must_use]
    pub fn reason(&self) -> DenyReason {
        DenyReason::from_u8(read_u8(self.bytes(), field::REASON))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> WitnessPacket<T> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Writes the nonce.
    pub fn set_nonce(&mut self, value: u32) {
        write_u32(self.bytes_mut(), field::NONCE, value);
    }

    /// Writes the subject.
    pub fn set_subject(&mut self, value: NodeId) {
        write_u32(self.bytes_mut(), field::SUBJECT, value.0);
    }

    /// Writes the lease in milliseconds (rounded down), saturating at
    /// `u32::MAX`.
    pub fn set_lease(&mut self, value: Duration) {
        write_u32(
            self.bytes_mut(),
            field::LEASE,
            saturate_u32(value.total_millis()),
        );
    }

    /// Writes the reason.
    pub fn set_reason(&mut self, value: DenyReason) {
        write_u8(self.bytes_mut(), field::REASON, value as u8);
    }

    /// Zeroes the reserved bytes.
    pub fn clear_reserved(&mut self) {
        write(self.bytes_mut(), field::RESERVED, &[0, 0, 0]);
    }
}

/// A witness-exchange frame. One layout serves all four kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WitnessRepr {
    /// Which message this is.
    pub kind: WitnessKind,
    /// Chosen by the requester, echoed in the answer: a grant answers one
    /// request and cannot be replayed to answer another.
    pub nonce: u32,
    /// The node the message is about: the requester, or the grantee.
    pub subject: NodeId,
    /// For a grant, how long it lasts from when the request was sent
    /// (millisecond resolution on the wire); zero otherwise.
    pub lease: Duration,
    /// For a deny, why; `DenyReason::None` otherwise.
    pub reason: DenyReason,
}

impl WitnessRepr {
    /// The message a body of kind `kind` holds (the kind comes from the
    /// header's message type). Only its length can be wrong.
    pub fn parse<T: AsRef<[u8]>>(
        kind: WitnessKind,
        packet: &WitnessPacket<T>,
    ) -> Result<WitnessRepr, WireError> {
        packet.check_len()?;
        Ok(WitnessRepr {
            kind,
            nonce: packet.nonce(),
            subject: packet.subject(),
            lease: packet.lease(),
            reason: packet.reason(),
        })
    }

    /// The length of the body [`emit`](WitnessRepr::emit) writes.
    #[must_use]
    pub const fn buffer_len(&self) -> usize {
        field::LEN
    }

    /// Writes the body into `packet`, which must be at least
    /// [`buffer_len`](WitnessRepr::buffer_len) long. The lease is written
    /// in milliseconds, rounded down and saturating at `u32::MAX`. The kind
    /// is the header's message type, not written here.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut WitnessPacket<T>) {
        packet.set_nonce(self.nonce);
        packet.set_subject(self.subject);
        packet.set_lease(self.lease);
        packet.set_reason(self.reason);
        packet.clear_reserved();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_reads_what_the_repr_wrote() {
        let repr = WitnessRepr {
            kind: WitnessKind::Grant,
            nonce: 0xdead_beef,
            subject: NodeId(2),
            lease: Duration::from_micros(2_500_999),
            reason: DenyReason::None,
        };
        let mut buf = [0xffu8; 16];
        repr.emit(&mut WitnessPacket::new_unchecked(&mut buf[..]));
        assert_eq!(
            buf,
            [0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 2, 0, 0, 0x09, 0xc4, 0, 0, 0, 0]
        );
        let p = WitnessPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(p.lease(), Duration::from_millis(2500), "rounded down");
        assert_eq!(p.subject(), NodeId(2));
        assert_eq!(
            WitnessRepr::parse(WitnessKind::Grant, &p),
            Ok(WitnessRepr {
                lease: Duration::from_millis(2500),
                ..repr
            })
        );
        assert_eq!(
            WitnessPacket::new_checked(&buf[..15]).map(|_| ()),
            Err(WireError::Truncated)
        );
    }

    #[test]
    fn kinds_and_message_types_map_both_ways() {
        for kind in [
            WitnessKind::Request,
            WitnessKind::Grant,
            WitnessKind::Deny,
            WitnessKind::Release,
        ] {
            assert_eq!(
                WitnessKind::from_message_type(kind.message_type()),
                Some(kind)
            );
        }
        assert_eq!(WitnessKind::from_message_type(MessageType::Heartbeat), None);
        assert_eq!(DenyReason::from_u8(200), DenyReason::Other);
    }
}
