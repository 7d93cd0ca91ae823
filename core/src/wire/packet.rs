//! The byte layout of a v1 frame: [`Packet`], a view over a buffer, and
//! `FrameRepr::parse` / `FrameRepr::emit`.
//!
//! ```text
//! header (24) | body (heartbeat 18 + n, witness 16, then ignored bytes) | tag (16, if auth = 1)
//! ```
//!
//! All integers are big-endian. `docs/protocol.md` describes every field.

use super::auth::{self, Keyring, TAG_LEN};
use super::repr::{
    Body, DenyReason, FrameRepr, Header, HeartbeatFlags, HeartbeatRepr, WitnessKind, WitnessRepr,
};
use super::{WireError, MAGIC, MAX_MESSAGE_LEN, PROTOCOL_VERSION};
use crate::node::{LinkId, NodeId, Role, MAX_LINKS};
use crate::time::Duration;

/// Field offsets, smoltcp style. Header fields are offsets into the frame;
/// body fields are offsets into the body, which starts at `HEADER_LEN`.
mod field {
    use core::ops::Range;

    /// A multi-byte field.
    pub type Field = Range<usize>;

    pub const MAGIC: Field = 0..2;
    pub const VERSION: usize = 2;
    pub const TYPE: usize = 3;
    pub const AUTH: usize = 4;
    pub const KEY_ID: usize = 5;
    pub const LENGTH: Field = 6..8;
    pub const SENDER: Field = 8..12;
    pub const ROLE: usize = 12;
    pub const LINK: usize = 13;
    pub const RESERVED: Field = 14..16;
    pub const EPOCH: Field = 16..20;
    pub const SEQ: Field = 20..24;
    /// Length of the header; the body starts here.
    pub const HEADER_LEN: usize = 24;

    /// Heartbeat body fields, relative to the start of the body.
    pub mod heartbeat {
        use super::Field;

        pub const BEAT: Field = 0..4;
        pub const INTERVAL: Field = 4..8;
        pub const ACK_EPOCH: Field = 8..12;
        pub const ACK_SEQ: Field = 12..16;
        pub const FLAGS: usize = 16;
        pub const MESSAGE_LEN: usize = 17;
        /// The message starts here; the body is at least this long.
        pub const MESSAGE: usize = 18;
    }

    /// Witness body fields (all four kinds), relative to the start of the
    /// body.
    pub mod witness {
        use super::Field;

        pub const NONCE: Field = 0..4;
        pub const SUBJECT: Field = 4..8;
        pub const LEASE: Field = 8..12;
        pub const REASON: usize = 12;
        pub const RESERVED: Field = 13..16;
        /// Length of the body's fields.
        pub const LEN: usize = 16;
    }
}

/// Wire codes of the `type` header field.
mod msg_type {
    pub const HEARTBEAT: u8 = 1;
    pub const WITNESS_REQUEST: u8 = 2;
    pub const WITNESS_GRANT: u8 = 3;
    pub const WITNESS_DENY: u8 = 4;
    pub const WITNESS_RELEASE: u8 = 5;
}

/// Wire codes of the `auth` header field.
mod auth_code {
    /// No tag.
    pub const NONE: u8 = 0;
    /// HMAC-SHA256 truncated to 16 bytes, at the end of the frame.
    pub const HMAC_SHA256_128: u8 = 1;
}

use field::HEADER_LEN;

fn read_u16(bytes: &[u8], f: field::Field) -> u16 {
    bytes
        .get(f)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map_or(0, u16::from_be_bytes)
}

fn read_u32(bytes: &[u8], f: field::Field) -> u32 {
    bytes
        .get(f)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes)
}

fn read_u8(bytes: &[u8], at: usize) -> u8 {
    bytes.get(at).copied().unwrap_or(0)
}

/// Copies `value` into `bytes[f]`; does nothing if `bytes` is too short.
fn write(bytes: &mut [u8], f: field::Field, value: &[u8]) {
    if let Some(dst) = bytes.get_mut(f) {
        for (d, s) in dst.iter_mut().zip(value.iter()) {
            *d = *s;
        }
    }
}

fn write_u8(bytes: &mut [u8], at: usize, value: u8) {
    if let Some(b) = bytes.get_mut(at) {
        *b = value;
    }
}

/// A read/write view over the bytes of one frame.
///
/// [`Packet::new_checked`] validates the header length and the declared
/// length once; after that the body and tag accessors cover exactly the
/// frame's bytes. The accessors never panic, even on an unchecked packet:
/// a field beyond the end of the buffer reads as zero (or an empty slice)
/// and setters on such a field do nothing.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// A view over `buffer` without any check.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// A view over `buffer`, after [`check_len`](Packet::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds a whole header and the whole frame its
    /// length field declares: `Truncated` if the buffer is shorter than
    /// either, or than header and tag when the auth field says the frame is
    /// signed; `Malformed` if the declared length is shorter than the
    /// header. Bytes after the declared length (UDP padding) are allowed.
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let total = usize::from(self.total_len());
        if total > len {
            return Err(WireError::Truncated);
        }
        if total < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if total < HEADER_LEN + self.tag_len() {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The magic bytes; [`MAGIC`](super::MAGIC) in our frames.
    pub fn magic(&self) -> [u8; 2] {
        read_u16(self.bytes(), field::MAGIC).to_be_bytes()
    }

    /// The protocol version.
    pub fn version(&self) -> u8 {
        read_u8(self.bytes(), field::VERSION)
    }

    /// The message type code: 1 heartbeat, 2 witness request, 3 grant,
    /// 4 deny, 5 release.
    pub fn msg_type(&self) -> u8 {
        read_u8(self.bytes(), field::TYPE)
    }

    /// The authentication code: 0 none, 1 HMAC-SHA256 truncated to
    /// [`TAG_LEN`] bytes.
    pub fn auth(&self) -> u8 {
        read_u8(self.bytes(), field::AUTH)
    }

    /// The id of the key the frame is signed with.
    pub fn key_id(&self) -> u8 {
        read_u8(self.bytes(), field::KEY_ID)
    }

    /// The declared length of the frame: header, body and tag.
    pub fn total_len(&self) -> u16 {
        read_u16(self.bytes(), field::LENGTH)
    }

    /// The sender's node id.
    pub fn sender(&self) -> u32 {
        read_u32(self.bytes(), field::SENDER)
    }

    /// The sender's role code (see [`Role`]).
    pub fn role(&self) -> u8 {
        read_u8(self.bytes(), field::ROLE)
    }

    /// The sender's link id.
    pub fn link(&self) -> u8 {
        read_u8(self.bytes(), field::LINK)
    }

    /// The sender's epoch.
    pub fn epoch(&self) -> u32 {
        read_u32(self.bytes(), field::EPOCH)
    }

    /// The sender's sequence number within its epoch.
    pub fn seq(&self) -> u32 {
        read_u32(self.bytes(), field::SEQ)
    }

    /// The length of the tag the auth field announces: [`TAG_LEN`] when
    /// signed, else 0.
    pub fn tag_len(&self) -> usize {
        if self.auth() == auth_code::HMAC_SHA256_128 {
            TAG_LEN
        } else {
            0
        }
    }

    fn body_range(&self) -> core::ops::Range<usize> {
        let end = usize::from(self.total_len()).saturating_sub(self.tag_len());
        HEADER_LEN..end.max(HEADER_LEN)
    }

    fn tag_range(&self) -> core::ops::Range<usize> {
        let end = usize::from(self.total_len());
        end.saturating_sub(self.tag_len()).max(HEADER_LEN)..end.max(HEADER_LEN)
    }

    /// The body: from the end of the header to the tag (or the declared
    /// end of the frame). Empty if the packet fails `check_len`.
    pub fn body(&self) -> &[u8] {
        self.bytes().get(self.body_range()).unwrap_or(&[])
    }

    /// The tag: the last [`tag_len`](Packet::tag_len) bytes of the frame.
    pub fn tag(&self) -> &[u8] {
        self.bytes().get(self.tag_range()).unwrap_or(&[])
    }

    /// The bytes the tag covers: the frame up to the tag.
    pub fn signed_bytes(&self) -> &[u8] {
        let end = self.body_range().end;
        self.bytes().get(..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Writes the magic bytes.
    pub fn set_magic(&mut self, value: [u8; 2]) {
        write(self.bytes_mut(), field::MAGIC, &value);
    }

    /// Writes the protocol version.
    pub fn set_version(&mut self, value: u8) {
        write_u8(self.bytes_mut(), field::VERSION, value);
    }

    /// Writes the message type code.
    pub fn set_msg_type(&mut self, value: u8) {
        write_u8(self.bytes_mut(), field::TYPE, value);
    }

    /// Writes the authentication code.
    pub fn set_auth(&mut self, value: u8) {
        write_u8(self.bytes_mut(), field::AUTH, value);
    }

    /// Writes the key id.
    pub fn set_key_id(&mut self, value: u8) {
        write_u8(self.bytes_mut(), field::KEY_ID, value);
    }

    /// Writes the declared frame length.
    pub fn set_total_len(&mut self, value: u16) {
        write(self.bytes_mut(), field::LENGTH, &value.to_be_bytes());
    }

    /// Writes the sender's node id.
    pub fn set_sender(&mut self, value: u32) {
        write(self.bytes_mut(), field::SENDER, &value.to_be_bytes());
    }

    /// Writes the sender's role code.
    pub fn set_role(&mut self, value: u8) {
        write_u8(self.bytes_mut(), field::ROLE, value);
    }

    /// Writes the sender's link id.
    pub fn set_link(&mut self, value: u8) {
        write_u8(self.bytes_mut(), field::LINK, value);
    }

    /// Zeroes the reserved header bytes.
    pub fn clear_reserved(&mut self) {
        write(self.bytes_mut(), field::RESERVED, &[0, 0]);
    }

    /// Writes the sender's epoch.
    pub fn set_epoch(&mut self, value: u32) {
        write(self.bytes_mut(), field::EPOCH, &value.to_be_bytes());
    }

    /// Writes the sender's sequence number.
    pub fn set_seq(&mut self, value: u32) {
        write(self.bytes_mut(), field::SEQ, &value.to_be_bytes());
    }

    /// The body, writable. Its extent follows from the length and auth
    /// fields, so set those first.
    pub fn body_mut(&mut self) -> &mut [u8] {
        let range = self.body_range();
        self.bytes_mut().get_mut(range).unwrap_or(&mut [])
    }

    /// The tag, writable. Its extent follows from the length and auth
    /// fields, so set those first.
    pub fn tag_mut(&mut self) -> &mut [u8] {
        let range = self.tag_range();
        self.bytes_mut().get_mut(range).unwrap_or(&mut [])
    }
}

impl WitnessKind {
    const fn code(self) -> u8 {
        match self {
            WitnessKind::Request => msg_type::WITNESS_REQUEST,
            WitnessKind::Grant => msg_type::WITNESS_GRANT,
            WitnessKind::Deny => msg_type::WITNESS_DENY,
            WitnessKind::Release => msg_type::WITNESS_RELEASE,
        }
    }

    const fn from_code(code: u8) -> Option<WitnessKind> {
        match code {
            msg_type::WITNESS_REQUEST => Some(WitnessKind::Request),
            msg_type::WITNESS_GRANT => Some(WitnessKind::Grant),
            msg_type::WITNESS_DENY => Some(WitnessKind::Deny),
            msg_type::WITNESS_RELEASE => Some(WitnessKind::Release),
            _ => None,
        }
    }
}

fn saturate_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl HeartbeatRepr {
    fn parse(body: &[u8]) -> Result<HeartbeatRepr, WireError> {
        use field::heartbeat as f;
        if body.len() < f::MESSAGE {
            return Err(WireError::Truncated);
        }
        let n = usize::from(read_u8(body, f::MESSAGE_LEN));
        if n > MAX_MESSAGE_LEN {
            return Err(WireError::Malformed);
        }
        let text = body
            .get(f::MESSAGE..f::MESSAGE + n)
            .ok_or(WireError::Truncated)?;
        let message = heapless::Vec::from_slice(text).map_err(|()| WireError::Malformed)?;
        let interval = read_u32(body, f::INTERVAL);
        if interval == 0 {
            return Err(WireError::Malformed);
        }
        Ok(HeartbeatRepr {
            beat: read_u32(body, f::BEAT),
            interval: Duration::from_micros(u64::from(interval)),
            ack_epoch: read_u32(body, f::ACK_EPOCH),
            ack_seq: read_u32(body, f::ACK_SEQ),
            flags: HeartbeatFlags(read_u8(body, f::FLAGS) & HeartbeatFlags::KNOWN.0),
            message,
        })
    }

    fn body_len(&self) -> usize {
        field::heartbeat::MESSAGE + self.message.len()
    }

    fn emit(&self, body: &mut [u8]) {
        use field::heartbeat as f;
        let interval = saturate_u32(self.interval.total_micros());
        write(body, f::BEAT, &self.beat.to_be_bytes());
        write(body, f::INTERVAL, &interval.to_be_bytes());
        write(body, f::ACK_EPOCH, &self.ack_epoch.to_be_bytes());
        write(body, f::ACK_SEQ, &self.ack_seq.to_be_bytes());
        write_u8(body, f::FLAGS, self.flags.0 & HeartbeatFlags::KNOWN.0);
        // MAX_MESSAGE_LEN (64) fits in a byte.
        write_u8(
            body,
            f::MESSAGE_LEN,
            u8::try_from(self.message.len()).unwrap_or(u8::MAX),
        );
        write(
            body,
            f::MESSAGE..f::MESSAGE + self.message.len(),
            &self.message,
        );
    }
}

impl WitnessRepr {
    fn parse(kind: WitnessKind, body: &[u8]) -> Result<WitnessRepr, WireError> {
        use field::witness as f;
        if body.len() < f::LEN {
            return Err(WireError::Truncated);
        }
        Ok(WitnessRepr {
            kind,
            nonce: read_u32(body, f::NONCE),
            subject: NodeId(read_u32(body, f::SUBJECT)),
            lease: Duration::from_millis(u64::from(read_u32(body, f::LEASE))),
            reason: DenyReason::from_u8(read_u8(body, f::REASON)),
        })
    }

    fn emit(&self, body: &mut [u8]) {
        use field::witness as f;
        let lease = saturate_u32(self.lease.total_millis());
        write(body, f::NONCE, &self.nonce.to_be_bytes());
        write(body, f::SUBJECT, &self.subject.0.to_be_bytes());
        write(body, f::LEASE, &lease.to_be_bytes());
        write_u8(body, f::REASON, self.reason as u8);
        write(body, f::RESERVED, &[0, 0, 0]);
    }
}

/// A frame whose structure and header were checked, but neither its tag
/// nor its body yet: what a receiver needs to decide cheaply whether the
/// frame is worth authenticating (its sender, role, link, epoch and seq),
/// so that a flood of frames it would refuse anyway costs no HMAC.
#[derive(Debug, Clone)]
pub struct UnverifiedFrame<'a> {
    packet: Packet<&'a [u8]>,
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
        let msg = packet.msg_type();
        let witness_kind = WitnessKind::from_code(msg);
        if msg != msg_type::HEARTBEAT && witness_kind.is_none() {
            return Err(WireError::UnknownType(msg));
        }
        let role = Role::from_u8(packet.role()).ok_or(WireError::Malformed)?;
        if usize::from(packet.link()) >= MAX_LINKS {
            return Err(WireError::Malformed);
        }
        let auth = packet.auth();
        if auth != auth_code::NONE && auth != auth_code::HMAC_SHA256_128 {
            return Err(WireError::Malformed);
        }
        let header = Header {
            sender: NodeId(packet.sender()),
            role,
            link: LinkId(packet.link()),
            epoch: packet.epoch(),
            seq: packet.seq(),
        };
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
            if packet.auth() != auth_code::HMAC_SHA256_128 {
                return Err(WireError::AuthRequired);
            }
            let key = keys
                .get(packet.key_id())
                .ok_or(WireError::UnknownKey(packet.key_id()))?;
            if !auth::verify(key, packet.signed_bytes(), packet.tag()) {
                return Err(WireError::AuthFailed);
            }
        }
        let body = match self.witness_kind {
            None => Body::Heartbeat(HeartbeatRepr::parse(packet.body())?),
            Some(kind) => Body::Witness(WitnessRepr::parse(kind, packet.body())?),
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
    pub fn buffer_len(&self, authenticated: bool) -> usize {
        let body = match &self.body {
            Body::Heartbeat(hb) => hb.body_len(),
            Body::Witness(_) => field::witness::LEN,
        };
        HEADER_LEN + body + if authenticated { TAG_LEN } else { 0 }
    }

    /// Writes the frame at the start of `buf` and returns its length. With
    /// `keys`, the frame is signed with the ring's current key.
    ///
    /// Errors: `BufferTooSmall` if `buf` is shorter than
    /// [`buffer_len`](FrameRepr::buffer_len); `Malformed` if the frame
    /// could not be parsed back (a zero heartbeat interval, or a link id of
    /// [`MAX_LINKS`] or more). Nothing is written on error. Out-of-range
    /// values saturate: an interval above `u32::MAX` microseconds, a lease
    /// above `u32::MAX` milliseconds (sub-millisecond lease is rounded
    /// down); flags outside [`HeartbeatFlags::KNOWN`] are not written.
    pub fn emit(&self, buf: &mut [u8], keys: Option<&Keyring>) -> Result<usize, WireError> {
        let len = self.buffer_len(keys.is_some());
        let frame = buf.get_mut(..len).ok_or(WireError::BufferTooSmall)?;
        let total_len = u16::try_from(len).map_err(|_| WireError::Malformed)?;
        if usize::from(self.header.link.0) >= MAX_LINKS {
            return Err(WireError::Malformed);
        }
        let msg = match &self.body {
            Body::Heartbeat(hb) => {
                if hb.interval.total_micros() == 0 {
                    return Err(WireError::Malformed);
                }
                msg_type::HEARTBEAT
            }
            Body::Witness(w) => w.kind.code(),
        };

        let mut packet = Packet::new_unchecked(frame);
        packet.set_magic(MAGIC);
        packet.set_version(PROTOCOL_VERSION);
        packet.set_msg_type(msg);
        match keys {
            Some(keys) => {
                packet.set_auth(auth_code::HMAC_SHA256_128);
                packet.set_key_id(keys.current().id());
            }
            None => {
                packet.set_auth(auth_code::NONE);
                packet.set_key_id(0);
            }
        }
        packet.set_total_len(total_len);
        packet.set_sender(self.header.sender.0);
        packet.set_role(self.header.role as u8);
        packet.set_link(self.header.link.0);
        packet.clear_reserved();
        packet.set_epoch(self.header.epoch);
        packet.set_seq(self.header.seq);
        match &self.body {
            Body::Heartbeat(hb) => hb.emit(packet.body_mut()),
            Body::Witness(w) => w.emit(packet.body_mut()),
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
    use crate::wire::{Key, MAX_FRAME_LEN};

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
            body: Body::Heartbeat(HeartbeatRepr {
                beat: 41,
                interval: Duration::from_secs(1),
                ack_epoch: 0x6400_0000,
                ack_seq: 7,
                flags: HeartbeatFlags::HOLDS.with(HeartbeatFlags::RECLAIM),
                message: heapless::Vec::from_slice(b"hi").unwrap(),
            }),
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
    fn packet_accessors() {
        let ring = keyring();
        let (buf, n) = emit(&heartbeat(), Some(&ring));
        let p = Packet::new_checked(&buf[..n]).unwrap();
        assert_eq!(p.magic(), MAGIC);
        assert_eq!(p.version(), 1);
        assert_eq!(p.msg_type(), msg_type::HEARTBEAT);
        assert_eq!(p.auth(), auth_code::HMAC_SHA256_128);
        assert_eq!(p.key_id(), 7);
        assert_eq!(usize::from(p.total_len()), n);
        assert_eq!(p.sender(), 0x0102_0304);
        assert_eq!(p.role(), 1);
        assert_eq!(p.link(), 1);
        assert_eq!(p.epoch(), 0x6500_0000);
        assert_eq!(p.seq(), 42);
        assert_eq!(p.body().len(), 20);
        assert_eq!(p.tag().len(), TAG_LEN);
        assert_eq!(p.signed_bytes().len(), n - TAG_LEN);
    }

    #[test]
    fn accessors_on_short_unchecked_buffers_do_not_panic() {
        for len in 0..40 {
            let mut buf = [0xffu8; 40];
            let mut p = Packet::new_unchecked(&mut buf[..len]);
            let _ = (
                p.magic(),
                p.version(),
                p.total_len(),
                p.seq(),
                p.body(),
                p.tag(),
            );
            p.set_seq(1);
            p.set_total_len(1000);
            p.set_auth(1);
            let _ = (
                p.body_mut().len(),
                p.tag_mut().len(),
                p.signed_bytes().len(),
            );
            assert!(p.check_len().is_err());
        }
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
                p.set_auth(auth_code::HMAC_SHA256_128);
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
