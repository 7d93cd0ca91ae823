//! The common header every frame starts with, and [`Packet`], the view over
//! a whole frame: header fields, and where the body and the tag are.
//!
//! ```text
//! header (24) | body (heartbeat 18 + n, witness 16, then ignored bytes) | tag (16, if auth = 1)
//! ```
//!
//! All integers are big-endian. `docs/protocol.md` describes every field.

use super::auth::{AuthCode, TAG_LEN};
use super::field::{read_u16, read_u32, read_u8, write, write_u32, write_u8, Field};
use super::WireError;
use crate::node::{LinkId, NodeId, Role, MAX_LINKS};

/// Header field offsets into the frame, smoltcp style.
mod field {
    use super::Field;

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
}

/// The length of the header; the body starts here. Public for tools that
/// take frames apart by hand (the lab's attackers, tests that corrupt one
/// field).
pub const HEADER_LEN: usize = 24;

enum_with_unknown! {
    /// The `type` header field: which body follows.
    pub enum MessageType(u8) {
        /// A heartbeat ([`HeartbeatRepr`](super::HeartbeatRepr)).
        Heartbeat = 1,
        /// Secondary to witness: may I take the service addresses?
        WitnessRequest = 2,
        /// Witness to secondary: yes, for a lease.
        WitnessGrant = 3,
        /// Witness to secondary: no.
        WitnessDeny = 4,
        /// Secondary to witness: I no longer need the grant.
        WitnessRelease = 5,
    }
}

/// A read/write view over the bytes of one frame.
///
/// [`Packet::new_checked`] validates the header length and the declared
/// length once; after that the body and tag accessors cover exactly the
/// frame's bytes. The accessors never panic, even on an unchecked packet:
/// a field beyond the end of the buffer reads as zero (or an empty slice)
/// and setters on such a field do nothing.
///
/// Code fields read as enums ([`MessageType`], [`AuthCode`], [`Role`]), so
/// a caller matches on meanings, not numbers; codes this version does not
/// define are reported (`Unknown`, or an error for the role), not guessed.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// A view over `buffer` without any check: for building a frame in a
    /// buffer (then set the length and auth fields first), or for reading
    /// fields one by one when the caller checks what it needs.
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
    #[must_use]
    pub fn magic(&self) -> [u8; 2] {
        read_u16(self.bytes(), field::MAGIC).to_be_bytes()
    }

    /// The protocol version. A number, not an enum: every version but
    /// [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION) is just "another one".
    #[must_use]
    pub fn version(&self) -> u8 {
        read_u8(self.bytes(), field::VERSION)
    }

    /// The message type: which body follows.
    #[must_use]
    pub fn msg_type(&self) -> MessageType {
        MessageType::from(read_u8(self.bytes(), field::TYPE))
    }

    /// How the frame is authenticated.
    #[must_use]
    pub fn auth(&self) -> AuthCode {
        AuthCode::from(read_u8(self.bytes(), field::AUTH))
    }

    /// The id of the key the frame is signed with (meaningless unsigned).
    #[must_use]
    pub fn key_id(&self) -> u8 {
        read_u8(self.bytes(), field::KEY_ID)
    }

    /// The declared length of the frame: header, body and tag.
    #[must_use]
    pub fn total_len(&self) -> u16 {
        read_u16(self.bytes(), field::LENGTH)
    }

    /// The sender's node id.
    #[must_use]
    pub fn sender(&self) -> NodeId {
        NodeId(read_u32(self.bytes(), field::SENDER))
    }

    /// The sender's role; `Malformed` for a code that names none (an
    /// unknown role is not a newer feature but a broken frame, so there is
    /// no `Unknown` to carry it).
    pub fn role(&self) -> Result<Role, WireError> {
        Role::from_u8(read_u8(self.bytes(), field::ROLE)).ok_or(WireError::Malformed)
    }

    /// The sender's link id, as written: it may be [`MAX_LINKS`] or more in
    /// a frame that [`Header::parse`] refuses.
    #[must_use]
    pub fn link(&self) -> LinkId {
        LinkId(read_u8(self.bytes(), field::LINK))
    }

    /// The sender's epoch.
    #[must_use]
    pub fn epoch(&self) -> u32 {
        read_u32(self.bytes(), field::EPOCH)
    }

    /// The sender's sequence number within its epoch.
    #[must_use]
    pub fn seq(&self) -> u32 {
        read_u32(self.bytes(), field::SEQ)
    }

    /// The length of the tag the auth field announces: [`TAG_LEN`] when
    /// signed, else 0 (an unknown auth code announces none; parsing refuses
    /// it).
    #[must_use]
    pub fn tag_len(&self) -> usize {
        if self.auth() == AuthCode::HmacSha256 {
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
    #[must_use]
    pub fn body(&self) -> &[u8] {
        self.bytes().get(self.body_range()).unwrap_or(&[])
    }

    /// The tag: the last [`tag_len`](Packet::tag_len) bytes of the frame.
    #[must_use]
    pub fn tag(&self) -> &[u8] {
        self.bytes().get(self.tag_range()).unwrap_or(&[])
    }

    /// The bytes the tag covers: the frame up to the tag.
    #[must_use]
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

    /// Writes the message type.
    pub fn set_msg_type(&mut self, value: MessageType) {
        write_u8(self.bytes_mut(), field::TYPE, value.into());
    }

    /// Writes the authentication code.
    pub fn set_auth(&mut self, value: AuthCode) {
        write_u8(self.bytes_mut(), field::AUTH, value.into());
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
    pub fn set_sender(&mut self, value: NodeId) {
        write_u32(self.bytes_mut(), field::SENDER, value.0);
    }

    /// Writes the sender's role.
    pub fn set_role(&mut self, value: Role) {
        write_u8(self.bytes_mut(), field::ROLE, value as u8);
    }

    /// Writes the sender's link id.
    pub fn set_link(&mut self, value: LinkId) {
        write_u8(self.bytes_mut(), field::LINK, value.0);
    }

    /// Zeroes the reserved header bytes.
    pub fn clear_reserved(&mut self) {
        write(self.bytes_mut(), field::RESERVED, &[0, 0]);
    }

    /// Writes the sender's epoch.
    pub fn set_epoch(&mut self, value: u32) {
        write_u32(self.bytes_mut(), field::EPOCH, value);
    }

    /// Writes the sender's sequence number.
    pub fn set_seq(&mut self, value: u32) {
        write_u32(self.bytes_mut(), field::SEQ, value);
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

/// The fields every frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Who sent the frame.
    pub sender: NodeId,
    /// The part the sender plays.
    pub role: Role,
    /// The sender's link the frame was sent on (0 = private, 1 = public).
    pub link: LinkId,
    /// Chosen by the sender at boot, larger than any epoch it used before;
    /// with `seq` it orders the sender's frames for replay protection.
    pub epoch: u32,
    /// Counts every frame the sender sends within one epoch, on all links.
    pub seq: u32,
}

impl Header {
    /// The header `packet` carries: `Malformed` for a role code that names
    /// none, or a link id of [`MAX_LINKS`] or more. The caller has checked
    /// the length, magic and version, as
    /// [`UnverifiedFrame::parse`](super::UnverifiedFrame::parse) does, in
    /// the order the protocol reports them.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Header, WireError> {
        let role = packet.role()?;
        let link = packet.link();
        if link.index().is_none() {
            return Err(WireError::Malformed);
        }
        Ok(Header {
            sender: packet.sender(),
            role,
            link,
            epoch: packet.epoch(),
            seq: packet.seq(),
        })
    }

    /// Whether [`parse`](Header::parse) would read this header back: its
    /// link id is below [`MAX_LINKS`].
    pub(super) fn is_valid(&self) -> bool {
        usize::from(self.link.0) < MAX_LINKS
    }

    /// Writes the header's own fields (not magic, version, type, auth or
    /// length: those describe the frame, see
    /// [`FrameRepr::emit`](super::FrameRepr::emit)) and zeroes the reserved
    /// bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_sender(self.sender);
        packet.set_role(self.role);
        packet.set_link(self.link);
        packet.clear_reserved();
        packet.set_epoch(self.epoch);
        packet.set_seq(self.seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{MAGIC, MAX_FRAME_LEN};

    /// A signed 60-byte frame's header, written field by field.
    fn frame() -> [u8; MAX_FRAME_LEN] {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_magic(MAGIC);
        p.set_version(1);
        p.set_msg_type(MessageType::Heartbeat);
        p.set_auth(AuthCode::HmacSha256);
        p.set_key_id(7);
        p.set_total_len(60);
        Header {
            sender: NodeId(0x0102_0304),
            role: Role::Primary,
            link: LinkId::PUBLIC,
            epoch: 0x6500_0000,
            seq: 42,
        }
        .emit(&mut p);
        buf
    }

    #[test]
    fn accessors_read_what_the_setters_wrote() {
        let buf = frame();
        assert_eq!(
            &buf[..HEADER_LEN],
            &[b'H', b'B', 1, 1, 1, 7, 0, 60, 1, 2, 3, 4, 1, 1, 0, 0, 0x65, 0, 0, 0, 0, 0, 0, 42]
        );
        let p = Packet::new_checked(&buf[..60]).unwrap();
        assert_eq!(p.magic(), MAGIC);
        assert_eq!(p.version(), 1);
        assert_eq!(p.msg_type(), MessageType::Heartbeat);
        assert_eq!(p.auth(), AuthCode::HmacSha256);
        assert_eq!(p.key_id(), 7);
        assert_eq!(p.total_len(), 60);
        assert_eq!(p.sender(), NodeId(0x0102_0304));
        assert_eq!(p.role(), Ok(Role::Primary));
        assert_eq!(p.link(), LinkId::PUBLIC);
        assert_eq!(p.epoch(), 0x6500_0000);
        assert_eq!(p.seq(), 42);
        assert_eq!(p.body().len(), 60 - HEADER_LEN - TAG_LEN);
        assert_eq!(p.tag().len(), TAG_LEN);
        assert_eq!(p.signed_bytes().len(), 60 - TAG_LEN);
        assert_eq!(Header::parse(&p).map(|h| h.seq), Ok(42));
    }

    #[test]
    fn unknown_codes_are_reported_as_such() {
        let mut buf = frame();
        buf[3] = 9;
        buf[4] = 2;
        buf[12] = 4;
        let p = Packet::new_unchecked(&buf[..]);
        assert_eq!(p.msg_type(), MessageType::Unknown(9));
        assert_eq!(p.auth(), AuthCode::Unknown(2));
        assert_eq!(p.tag_len(), 0, "an unknown auth code announces no tag");
        assert_eq!(p.role(), Err(WireError::Malformed));
        // Codes convert both ways, unknown ones included.
        assert_eq!(u8::from(MessageType::Unknown(9)), 9);
        assert_eq!(MessageType::from(5), MessageType::WitnessRelease);
        assert_eq!(u8::from(AuthCode::HmacSha256), 1);
    }

    #[test]
    fn a_link_id_out_of_range_is_malformed() {
        let mut buf = frame();
        buf[13] = MAX_LINKS as u8;
        let p = Packet::new_unchecked(&buf[..60]);
        assert_eq!(p.link(), LinkId(MAX_LINKS as u8));
        assert_eq!(Header::parse(&p), Err(WireError::Malformed));
    }

    #[test]
    fn accessors_on_short_unchecked_buffers_do_not_panic() {
        for len in 0..40 {
            let mut buf = [0xffu8; 40];
            let mut p = Packet::new_unchecked(&mut buf[..len]);
            let _ = (
                p.magic(),
                p.version(),
                p.msg_type(),
                p.role(),
                p.total_len(),
                p.seq(),
                p.body(),
                p.tag(),
            );
            p.set_seq(1);
            p.set_total_len(1000);
            p.set_auth(AuthCode::HmacSha256);
            let _ = (
                p.body_mut().len(),
                p.tag_mut().len(),
                p.signed_bytes().len(),
            );
            assert!(p.check_len().is_err());
        }
    }
}
