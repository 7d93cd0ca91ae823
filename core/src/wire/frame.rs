//! A whole frame: [`FrameRepr`] (header and body) with `parse` and `emit`,
//! and [`UnverifiedFrame`], the half-parsed frame a receiver inspects
//! before paying for authentication. The parts' layouts live in
//! `header.rs`, `heartbeat.rs`, `witness.rs` and `auth.rs`; this file puts
//! them together in the order the protocol checks them.

use super::auth::{self, AuthCode, Keyring, TAG_LEN};
use super::header::{Header, MessageType, Packet, HEADER_LEN};
use super::heartbeat::{HeartbeatPacket, HeartbeatRepr};
use super::witness::{WitnessKind, WitnessPacket, WitnessRepr};
use super::{WireError, MAGIC, PROTOCOL_VERSION};
use crate::time::Duration;

/// What a frame says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A heartbeat.
    Heartbeat(HeartbeatRepr),
    /// A witness exchange message.
    Witness(WitnessRepr),
}

impl Body {
    /// The message type that announces this body in the header.
    #[must_use]
    pub const fn message_type(&self) -> MessageType {
        match self {
            Body::Heartbeat(_) => MessageType::Heartbeat,
            Body::Witness(w) => w.kind.message_type(),
        }
    }

    /// The length of the body `emit` writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        match self {
            Body::Heartbeat(hb) => hb.buffer_len(),
            Body::Witness(w) => w.buffer_len(),
        }
    }
}

/// A whole frame: header and body. Authentication is applied by `emit` and
/// checked by `parse`; it is not part of the representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRepr {
    /// Sender and ordering.
    pub header: Header,
    /// The message.
    pub body: Body,
}

/// A frame whose structure and header were checked, but neither its tag
/// nor its body yet: what a receiver needs to decide cheaply whether the
/// frame is worth authenticating (its sender, role, link, epoch and seq),
/// so that a flood of frames it would refuse anyway costs no HMAC.
#[derive(Debug, Clone)]
pub struct UnverifiedFrame<'a> {
    packet: Packet<&'a [u8]>,
    /// `None` for a heartbeat; the header's type, checked.
    witness_kind: Option<WitnessKind>,
    /// The header, as the frame claims it.
    pub header: Header,
}

impl<'a> UnverifiedFrame<'a> {
    /// Checks, in order: header length (`Truncated`), magic (`BadMagic`),
    /// version (`UnsupportedVersion`), declared length (`Truncated`, or
    /// `Malformed` below the header length), type (`UnknownType`), role and
    /// link (`Malformed`), auth code (`Malformed` if unknown).
    pub fn parse(bytes: &'a [u8]) -> Result<UnverifiedFrame<'a>, WireError> {
        if bytes.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let packet = Packet::new_unchecked(bytes);
        if packet.magic() != MAGIC {
            return Err(WireError::BadMagic);
        }
        if packet.version() != PROTOCOL_VERSION {
            return Err(WireError::UnsupportedVersion(packet.version()));
        }
        packet.check_len()?;
        let witness_kind = match packet.msg_type() {
            MessageType::Heartbeat => None,
            MessageType::Unknown(code) => return Err(WireError::UnknownType(code)),
            other => WitnessKind::from_message_type(other),
        };
        let header = Header::parse(&packet)?;
        if let AuthCode::Unknown(_) = packet.auth() {
            return Err(WireError::Malformed);
        }
        Ok(UnverifiedFrame {
            packet,
            witness_kind,
            header,
        })
    }

    /// Authenticates the frame (with `keys`) and parses its body: see
    /// [`FrameRepr::parse`] for the rules.
    pub fn verify(self, keys: Option<&Keyring>) -> Result<FrameRepr, WireError> {
        let packet = self.packet;
        if let Some(keys) = keys {
            if packet.auth() != AuthCode::HmacSha256 {
                return Err(WireError::AuthRequired);
            }
            let key = keys
                .get(packet.key_id())
                .ok_or(WireError::UnknownKey(packet.key_id()))?;
            if !auth::verify(key, packet.signed_bytes(), packet.tag()) {
                return Err(WireError::AuthFailed);
            }
        }
        // The representations' `parse` check the body's length themselves.
        let body = match self.witness_kind {
            None => Body::Heartbeat(HeartbeatRepr::parse(&HeartbeatPacket::new_unchecked(
                packet.body(),
            ))?),
            Some(kind) => Body::Witness(WitnessRepr::parse(
                kind,
                &WitnessPacket::new_unchecked(packet.body()),
            )?),
        };
        Ok(FrameRepr {
            header: self.header,
            body,
        })
    }
}

impl FrameRepr {
    /// Parses and authenticates one frame (one UDP payload): the checks of
    /// [`UnverifiedFrame::parse`], then authentication, then the body
    /// (`Truncated` if shorter than its fields, `Malformed` for a zero
    /// interval or an over-long message). Bytes after the declared length
    /// are ignored, as are body bytes after the body's fields.
    ///
    /// With `keys`, the frame must be signed (`AuthRequired`) with a key the
    /// ring holds (`UnknownKey`) and its tag must match (`AuthFailed`;
    /// compared in constant time). Without `keys`, unsigned frames are
    /// accepted and so are signed ones, whose tag is then *not checked*: an
    /// unkeyed node trusts its network, and interoperates with keyed nodes
    /// only in that it can read their frames (they refuse its own). That is
    /// the operator's choice when no key is configured.
    pub fn parse(bytes: &[u8], keys: Option<&Keyring>) -> Result<FrameRepr, WireError> {
        UnverifiedFrame::parse(bytes)?.verify(keys)
    }

    /// The length of the frame `emit` writes: signed (`authenticated`) or
    /// not.
    #[must_use]
    pub fn buffer_len(&self, authenticated: bool) -> usize {
        HEADER_LEN + self.body.buffer_len() + if authenticated { TAG_LEN } else { 0 }
    }

    /// Writes the frame at the start of `buf` and returns its length. With
    /// `keys`, the frame is signed with the ring's current key.
    ///
    /// Errors: `BufferTooSmall` if `buf` is shorter than
    /// [`buffer_len`](FrameRepr::buffer_len); `Malformed` if the frame
    /// could not be parsed back (a zero heartbeat interval, or a link id of
    /// [`MAX_LINKS`](crate::node::MAX_LINKS) or more). Nothing is written
    /// on error. Out-of-range values saturate: an interval above `u32::MAX`
    /// microseconds, a lease above `u32::MAX` milliseconds (sub-millisecond
    /// lease is rounded down); flags outside
    /// [`HeartbeatFlags::KNOWN`](super::HeartbeatFlags::KNOWN) are not
    /// written.
    pub fn emit(&self, buf: &mut [u8], keys: Option<&Keyring>) -> Result<usize, WireError> {
        let len = self.buffer_len(keys.is_some());
        let frame = buf.get_mut(..len).ok_or(WireError::BufferTooSmall)?;
        let total_len = u16::try_from(len).map_err(|_| WireError::Malformed)?;
        if !self.header.is_valid() {
            return Err(WireError::Malformed);
        }
        if let Body::Heartbeat(hb) = &self.body {
            if hb.interval == Duration::ZERO {
                return Err(WireError::Malformed);
            }
        }

        let mut packet = Packet::new_unchecked(frame);
        packet.set_magic(MAGIC);
        packet.set_version(PROTOCOL_VERSION);
        packet.set_msg_type(self.body.message_type());
        match keys {
            Some(keys) => {
                packet.set_auth(AuthCode::HmacSha256);
                packet.set_key_id(keys.current().id());
            }
            None => {
                packet.set_auth(AuthCode::None);
                packet.set_key_id(0);
            }
        }
        packet.set_total_len(total_len);
        self.header.emit(&mut packet);
        match &self.body {
            Body::Heartbeat(hb) => hb.emit(&mut HeartbeatPacket::new_unchecked(packet.body_mut())),
            Body::Witness(w) => w.emit(&mut WitnessPacket::new_unchecked(packet.body_mut())),
        }
        if let Some(keys) = keys {
            let tag = auth::sign(keys.current(), packet.signed_bytes());
            for (d, s) in packet.tag_mut().iter_mut().zip(tag.iter()) {
                *d = *s;
            }
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{LinkId, NodeId, Role};
    use crate::wire::{DenyReason, HeartbeatFlags, Key, MAX_FRAME_LEN, MAX_MESSAGE_LEN};

    fn keyring() -> Keyring {
        Keyring::new(Key::new(7, b"an example key, 32 bytes long!!!").unwrap())
    }

    fn heartbeat() -> FrameRepr {
        FrameRepr {
            header: Header {
                sender: NodeId(0x0102_0304),
                role: Role::Primary,
                link: LinkId::PUBLIC,
                epoch: 0x6500_0000,
                seq: 42,
            },
            body: Body::Heartbeat(HeartbeatRepr::example()),
        }
    }

    fn grant() -> FrameRepr {
        FrameRepr {
            header: Header {
                sender: NodeId(3),
                role: Role::Witness,
                link: LinkId::PRIVATE,
                epoch: 5,
                seq: 6,
            },
            body: Body::Witness(WitnessRepr {
                kind: WitnessKind::Grant,
                nonce: 0xdead_beef,
                subject: NodeId(2),
                lease: Duration::from_millis(2500),
                reason: DenyReason::None,
            }),
        }
    }

    fn emit(repr: &FrameRepr, keys: Option<&Keyring>) -> ([u8; MAX_FRAME_LEN], usize) {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let n = repr.emit(&mut buf, keys).unwrap();
        (buf, n)
    }

    #[test]
    fn roundtrip_both_ways() {
        let ring = keyring();
        for repr in [heartbeat(), grant()] {
            for keys in [None, Some(&ring)] {
                let (buf, n) = emit(&repr, keys);
                assert_eq!(n, repr.buffer_len(keys.is_some()));
                assert_eq!(FrameRepr::parse(&buf[..n], keys), Ok(repr.clone()));
                // UDP padding after the declared length is ignored.
                assert_eq!(FrameRepr::parse(&buf[..n + 5], keys), Ok(repr.clone()));
            }
        }
    }

    #[test]
    fn longest_frame_fits_max_frame_len() {
        let mut repr = heartbeat();
        if let Body::Heartbeat(hb) = &mut repr.body {
            hb.message = heapless::Vec::from_slice(&[b'x'; MAX_MESSAGE_LEN]).unwrap();
        }
        assert!(repr.buffer_len(true) <= MAX_FRAME_LEN);
    }

    #[test]
    fn the_views_see_an_emitted_frame() {
        let ring = keyring();
        let (buf, n) = emit(&heartbeat(), Some(&ring));
        let p = Packet::new_checked(&buf[..n]).unwrap();
        assert_eq!(p.msg_type(), MessageType::Heartbeat);
        assert_eq!(p.auth(), AuthCode::HmacSha256);
        assert_eq!(p.key_id(), 7);
        assert_eq!(usize::from(p.total_len()), n);
        assert_eq!(p.role(), Ok(Role::Primary));
        assert_eq!(p.link(), LinkId::PUBLIC);
        assert_eq!(p.body().len(), 20);
        let hb = HeartbeatPacket::new_checked(p.body()).unwrap();
        assert_eq!(hb.message(), b"hi");
        let (buf, n) = emit(&grant(), None);
        let p = Packet::new_checked(&buf[..n]).unwrap();
        assert_eq!(p.msg_type(), MessageType::WitnessGrant);
        assert_eq!(p.auth(), AuthCode::None);
        let w = WitnessPacket::new_checked(p.body()).unwrap();
        assert_eq!(w.nonce(), 0xdead_beef);
    }

    #[test]
    fn check_order_and_errors() {
        let (buf, n) = emit(&heartbeat(), None);
        let frame = &buf[..n];
        let with = |at: usize, v: u8| {
            let mut b = [0u8; MAX_FRAME_LEN];
            b[..n].copy_from_slice(frame);
            b[at] = v;
            FrameRepr::parse(&b[..n], None)
        };
        assert_eq!(
            FrameRepr::parse(&frame[..23], None),
            Err(WireError::Truncated)
        );
        assert_eq!(with(0, b'X'), Err(WireError::BadMagic));
        assert_eq!(with(2, 9), Err(WireError::UnsupportedVersion(9)));
        assert_eq!(with(3, 0), Err(WireError::UnknownType(0)));
        assert_eq!(with(3, 6), Err(WireError::UnknownType(6)));
        assert_eq!(with(12, 0), Err(WireError::Malformed));
        assert_eq!(with(12, 4), Err(WireError::Malformed));
        assert_eq!(with(13, 4), Err(WireError::Malformed));
        assert_eq!(with(4, 2), Err(WireError::Malformed));
        // Declared length beyond the buffer, below the header.
        assert_eq!(with(7, n as u8 + 1), Err(WireError::Truncated));
        assert_eq!(with(7, 23), Err(WireError::Malformed));
        // Declared length cutting into the body.
        assert_eq!(with(7, 24 + 17), Err(WireError::Truncated));
        // Message length beyond the body / beyond the maximum.
        assert_eq!(with(24 + 17, 3), Err(WireError::Truncated));
        assert_eq!(with(24 + 17, 65), Err(WireError::Malformed));
        // Zero interval.
        let mut b = [0u8; MAX_FRAME_LEN];
        b[..n].copy_from_slice(frame);
        b[28..32].fill(0);
        assert_eq!(FrameRepr::parse(&b[..n], None), Err(WireError::Malformed));
        // Reserved bytes and unknown flags are ignored.
        assert!(with(14, 0xff).is_ok());
        let Ok(FrameRepr {
            body: Body::Heartbeat(hb),
            ..
        }) = with(24 + 16, 0xff)
        else {
            panic!("unknown flags refused")
        };
        assert_eq!(hb.flags, HeartbeatFlags::KNOWN);
        // A version error is reported before a length error.
        let mut b = [0u8; 24];
        b[..3].copy_from_slice(&[b'H', b'B', 2]);
        assert_eq!(
            FrameRepr::parse(&b, None),
            Err(WireError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn trailing_body_bytes_are_ignored() {
        // A later v1 revision may append fields after the message: a frame
        // with 3 more body bytes (and a length that covers them) parses to
        // the same repr, signed or not.
        let ring = keyring();
        let repr = grant();
        for keys in [None, Some(&ring)] {
            let mut buf = [0u8; MAX_FRAME_LEN];
            let n = repr.emit(&mut buf, None).unwrap();
            let total = n + 3 + if keys.is_some() { TAG_LEN } else { 0 };
            let mut p = Packet::new_unchecked(&mut buf[..total]);
            p.set_total_len(total as u16);
            if let Some(keys) = keys {
                p.set_auth(AuthCode::HmacSha256);
                p.set_key_id(keys.current().id());
                let tag = auth::sign(keys.current(), p.signed_bytes());
                p.tag_mut().copy_from_slice(&tag);
            }
            assert_eq!(FrameRepr::parse(&buf[..total], keys), Ok(repr.clone()));
        }
    }

    #[test]
    fn authentication_errors() {
        let ring = keyring();
        let (plain, pn) = emit(&heartbeat(), None);
        let (signed, sn) = emit(&heartbeat(), Some(&ring));
        assert_eq!(
            FrameRepr::parse(&plain[..pn], Some(&ring)),
            Err(WireError::AuthRequired)
        );
        // Unkeyed receivers accept signed frames without checking the tag.
        let mut forged = signed;
        forged[sn - 1] ^= 1;
        assert!(FrameRepr::parse(&forged[..sn], None).is_ok());
        assert_eq!(
            FrameRepr::parse(&forged[..sn], Some(&ring)),
            Err(WireError::AuthFailed)
        );
        let mut other_id = signed;
        other_id[5] = 8;
        assert_eq!(
            FrameRepr::parse(&other_id[..sn], Some(&ring)),
            Err(WireError::UnknownKey(8))
        );
        let wrong = Keyring::new(Key::new(7, b"another example key, 32 bytes!!").unwrap());
        assert_eq!(
            FrameRepr::parse(&signed[..sn], Some(&wrong)),
            Err(WireError::AuthFailed)
        );
        // Signed but too short to hold a tag.
        let mut short = plain;
        short[4] = 1;
        short[7] = 24 + 10;
        assert_eq!(
            FrameRepr::parse(&short[..pn], None),
            Err(WireError::Truncated)
        );
    }

    #[test]
    fn rotation_accepts_both_keys() {
        let old = Key::new(1, b"the old key, at least 16 bytes").unwrap();
        let new = Key::new(2, b"the new key, at least 16 bytes").unwrap();
        let old_only = Keyring::new(old.clone());
        let mut both = Keyring::new(old.clone());
        both.add(new.clone()).unwrap();
        let new_only = Keyring::new(new);
        let (a, an) = emit(&grant(), Some(&old_only));
        let (b, bn) = emit(&grant(), Some(&new_only));
        assert!(FrameRepr::parse(&a[..an], Some(&both)).is_ok());
        assert!(FrameRepr::parse(&b[..bn], Some(&both)).is_ok());
        assert_eq!(
            FrameRepr::parse(&b[..bn], Some(&old_only)),
            Err(WireError::UnknownKey(2))
        );
    }

    #[test]
    fn emit_refusals() {
        let repr = heartbeat();
        let mut buf = [0u8; MAX_FRAME_LEN];
        let need = repr.buffer_len(false);
        assert_eq!(
            repr.emit(&mut buf[..need - 1], None),
            Err(WireError::BufferTooSmall)
        );
        assert_eq!(repr.emit(&mut buf[..need], None), Ok(need));
        let mut zero = repr.clone();
        if let Body::Heartbeat(hb) = &mut zero.body {
            hb.interval = Duration::ZERO;
        }
        assert_eq!(zero.emit(&mut buf, None), Err(WireError::Malformed));
        let mut bad_link = repr;
        bad_link.header.link = LinkId(4);
        assert_eq!(bad_link.emit(&mut buf, None), Err(WireError::Malformed));
    }

    #[test]
    fn emit_saturates_and_masks() {
        let mut repr = grant();
        if let Body::Witness(w) = &mut repr.body {
            w.lease = Duration::MAX;
        }
        let (buf, n) = emit(&repr, None);
        let Ok(FrameRepr {
            body: Body::Witness(w),
            ..
        }) = FrameRepr::parse(&buf[..n], None)
        else {
            panic!()
        };
        assert_eq!(w.lease, Duration::from_millis(u64::from(u32::MAX)));

        let mut repr = heartbeat();
        if let Body::Heartbeat(hb) = &mut repr.body {
            hb.interval = Duration::MAX;
            hb.flags = HeartbeatFlags(0xff);
        }
        let (buf, n) = emit(&repr, None);
        assert_eq!(buf[24 + 16], HeartbeatFlags::KNOWN.0);
        let Ok(FrameRepr {
            body: Body::Heartbeat(hb),
            ..
        }) = FrameRepr::parse(&buf[..n], None)
        else {
            panic!()
        };
        assert_eq!(hb.interval, Duration::from_micros(u64::from(u32::MAX)));
        assert_eq!(hb.flags, HeartbeatFlags::KNOWN);
    }
}
