//! The heartbeat body (message type 1): its layout, [`HeartbeatPacket`]
//! (the view over the body's bytes) and [`HeartbeatRepr`].
//!
//! ```text
//! beat (4) | interval µs (4) | ack_epoch (4) | ack_seq (4) | flags (1) | n (1) | message (n) | ignored
//! ```

use super::field::{read_u32, read_u8, saturate_u32, write, write_u32, write_u8, Field};
use super::{WireError, MAX_MESSAGE_LEN};
use crate::time::Duration;

/// Field offsets, relative to the start of the body.
mod field {
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

/// The flags of a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeartbeatFlags(pub u8);

impl HeartbeatFlags {
    /// The sender holds the service addresses, or is part-way through
    /// acquiring or releasing them (so they may be on its interfaces).
    pub const HOLDS: HeartbeatFlags = HeartbeatFlags(0x01);
    /// The primary asks the secondary to release the service addresses.
    pub const RECLAIM: HeartbeatFlags = HeartbeatFlags(0x02);
    /// The secondary finished releasing the addresses in answer to the
    /// reclaim of the primary epoch named in `ack_epoch`.
    pub const RELEASED: HeartbeatFlags = HeartbeatFlags(0x04);
    /// The sender cannot serve clients now: a service interface has no
    /// carrier, or its probe target does not answer, or it came back too
    /// recently to be trusted (the reachability rule), or, from a
    /// secondary, its Test or PreAcq script refused the takeover it
    /// attempted. A secondary does not give the addresses back to a
    /// primary that says this; a primary does not hand them over to a
    /// secondary that says it.
    pub const UNREACHABLE: HeartbeatFlags = HeartbeatFlags(0x08);
    /// The primary does not hold the addresses and asks the secondary to
    /// serve them: it cannot be reached where they live (with
    /// `UNREACHABLE`), or the operator asked it to hand the service over
    /// (`heartbeatd --handover`).
    pub const HANDOVER: HeartbeatFlags = HeartbeatFlags(0x10);
    /// The primary does not hold the addresses and does not ask for them
    /// back: it stands by (manual failback, or after an operator's
    /// handover) until the operator reclaims them. A secondary that holds
    /// them keeps them, however well it hears the primary; one that does
    /// not hold them is not asked to take them.
    pub const STANDBY: HeartbeatFlags = HeartbeatFlags(0x20);
    /// The flags this version defines; others are ignored on receipt.
    pub const KNOWN: HeartbeatFlags = HeartbeatFlags(0x3F);

    /// No flag set.
    #[must_use]
    pub const fn empty() -> Self {
        HeartbeatFlags(0)
    }
    /// Whether every flag of `other` is set in `self`.
    #[must_use]
    pub const fn contains(self, other: HeartbeatFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// `self` with the flags of `other` set.
    #[must_use]
    pub const fn with(self, other: HeartbeatFlags) -> Self {
        HeartbeatFlags(self.0 | other.0)
    }
    /// `self` with the flags of `other` set when `on`.
    #[must_use]
    pub const fn with_if(self, other: HeartbeatFlags, on: bool) -> Self {
        if on {
            self.with(other)
        } else {
            self
        }
    }
}

/// A read/write view over a heartbeat body (the bytes of
/// [`Packet::body`](super::Packet::body) of a heartbeat frame).
///
/// [`HeartbeatPacket::new_checked`] validates the fixed fields and the
/// message length once; the accessors never panic, even unchecked (a field
/// beyond the buffer reads as zero).
#[derive(Debug, Clone)]
pub struct HeartbeatPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> HeartbeatPacket<T> {
    /// A view over `buffer` without any check.
    pub const fn new_unchecked(buffer: T) -> HeartbeatPacket<T> {
        HeartbeatPacket { buffer }
    }

    /// A view over `buffer`, after [`check_len`](HeartbeatPacket::check_len).
    pub fn new_checked(buffer: T) -> Result<HeartbeatPacket<T>, WireError> {
        let packet = HeartbeatPacket::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks, in this order: the fixed fields are there (`Truncated`), the
    /// message length is at most [`MAX_MESSAGE_LEN`] (`Malformed`), the
    /// message is there (`Truncated`). Bytes after the message are allowed
    /// (fields a later v1 revision may append).
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < field::MESSAGE {
            return Err(WireError::Truncated);
        }
        let n = usize::from(self.message_len());
        if n > MAX_MESSAGE_LEN {
            return Err(WireError::Malformed);
        }
        if len < field::MESSAGE + n {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The heartbeat round.
    #[must_use]
    pub fn beat(&self) -> u32 {
        read_u32(self.bytes(), field::BEAT)
    }

    /// The sender's interval, as written (microseconds; zero in a frame
    /// that [`HeartbeatRepr::parse`] refuses).
    #[must_use]
    pub fn interval(&self) -> Duration {
        Duration::from_micros(u64::from(read_u32(self.bytes(), field::INTERVAL)))
    }

    /// The epoch of the frame the sender echoes.
    #[must_use]
    pub fn ack_epoch(&self) -> u32 {
        read_u32(self.bytes(), field::ACK_EPOCH)
    }

    /// The seq of the frame the sender echoes.
    #[must_use]
    pub fn ack_seq(&self) -> u32 {
        read_u32(self.bytes(), field::ACK_SEQ)
    }

    /// The flags, as written: bits this version does not define included
    /// (the representation drops them).
    #[must_use]
    pub fn flags(&self) -> HeartbeatFlags {
        HeartbeatFlags(read_u8(self.bytes(), field::FLAGS))
    }

    /// The declared message length.
    #[must_use]
    pub fn message_len(&self) -> u8 {
        read_u8(self.bytes(), field::MESSAGE_LEN)
    }

    /// The message; empty if it is not all there.
    #[must_use]
    pub fn message(&self) -> &[u8] {
        let n = usize::from(self.message_len());
        self.bytes()
            .get(field::MESSAGE..field::MESSAGE + n)
            .unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> HeartbeatPacket<T> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Writes the heartbeat round.
    pub fn set_beat(&mut self, value: u32) {
        write_u32(self.bytes_mut(), field::BEAT, value);
    }

    /// Writes the interval, in microseconds, saturating at `u32::MAX`.
    pub fn set_interval(&mut self, value: Duration) {
        write_u32(
            self.bytes_mut(),
            field::INTERVAL,
            saturate_u32(value.total_micros()),
        );
    }

    /// Writes the echoed epoch.
    pub fn set_ack_epoch(&mut self, value: u32) {
        write_u32(self.bytes_mut(), field::ACK_EPOCH, value);
    }

    /// Writes the echoed seq.
    pub fn set_ack_seq(&mut self, value: u32) {
        write_u32(self.bytes_mut(), field::ACK_SEQ, value);
    }

    /// Writes the flags, as given.
    pub fn set_flags(&mut self, value: HeartbeatFlags) {
        write_u8(self.bytes_mut(), field::FLAGS, value.0);
    }

    /// Writes the message and its length (at most [`MAX_MESSAGE_LEN`]
    /// bytes of it: a longer one is cut, as the length byte could not say
    /// more anyway).
    pub fn set_message(&mut self, value: &[u8]) {
        let text = value.get(..MAX_MESSAGE_LEN).unwrap_or(value);
        // MAX_MESSAGE_LEN (64) fits in a byte.
        let n = u8::try_from(text.len()).unwrap_or(u8::MAX);
        write_u8(self.bytes_mut(), field::MESSAGE_LEN, n);
        write(
            self.bytes_mut(),
            field::MESSAGE..field::MESSAGE + text.len(),
            text,
        );
    }
}

/// A heartbeat: "I am alive, here is my state".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRepr {
    /// The heartbeat round; the same on every link for one round, so a
    /// receiver measures each link's loss from the gaps.
    pub beat: u32,
    /// How often the sender beats; the receiver's detector scales to it.
    /// Carried in microseconds.
    pub interval: Duration,
    /// The epoch of the last heartbeat the sender heard from its peer server
    /// (0 when none).
    pub ack_epoch: u32,
    /// The sequence number of that heartbeat. With `ack_epoch` it proves
    /// which of the primary's frames the secondary had processed when it
    /// sent this one: how the primary knows the secondary has seen this
    /// reclaim request, and recently.
    pub ack_seq: u32,
    /// State the receiver acts on.
    pub flags: HeartbeatFlags,
    /// Free text for the administrator (Apple's `heartbeatd -m`).
    pub message: heapless::Vec<u8, MAX_MESSAGE_LEN>,
}

impl HeartbeatRepr {
    /// The heartbeat a checked view holds: `Malformed` for a zero interval
    /// (a detector cannot scale to it). Flags this version does not define
    /// are dropped.
    pub fn parse<T: AsRef<[u8]>>(packet: &HeartbeatPacket<T>) -> Result<HeartbeatRepr, WireError> {
        // Checked again, so an unchecked view cannot yield a cut message.
        packet.check_len()?;
        let message =
            heapless::Vec::from_slice(packet.message()).map_err(|()| WireError::Malformed)?;
        let interval = packet.interval();
        if interval == Duration::ZERO {
            return Err(WireError::Malformed);
        }
        Ok(HeartbeatRepr {
            beat: packet.beat(),
            interval,
            ack_epoch: packet.ack_epoch(),
            ack_seq: packet.ack_seq(),
            flags: HeartbeatFlags(packet.flags().0 & HeartbeatFlags::KNOWN.0),
            message,
        })
    }

    /// The length of the body [`emit`](HeartbeatRepr::emit) writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        field::MESSAGE + self.message.len()
    }

    /// Writes the body into `packet`, which must be at least
    /// [`buffer_len`](HeartbeatRepr::buffer_len) long (fields beyond a
    /// shorter one are not written). The interval saturates at `u32::MAX`
    /// microseconds; flags outside [`HeartbeatFlags::KNOWN`] are not
    /// written.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut HeartbeatPacket<T>) {
        packet.set_beat(self.beat);
        packet.set_interval(self.interval);
        packet.set_ack_epoch(self.ack_epoch);
        packet.set_ack_seq(self.ack_seq);
        packet.set_flags(HeartbeatFlags(self.flags.0 & HeartbeatFlags::KNOWN.0));
        packet.set_message(&self.message);
    }
}

#[cfg(test)]
impl HeartbeatRepr {
    /// The body the unit tests here and in `frame.rs` share: one fixture, so
    /// the byte offsets the frame tests poke at are those of the body this
    /// file's byte vector spells out.
    pub(crate) fn example() -> HeartbeatRepr {
        HeartbeatRepr {
            beat: 41,
            interval: Duration::from_secs(1),
            ack_epoch: 0x6400_0000,
            ack_seq: 7,
            flags: HeartbeatFlags::HOLDS.with(HeartbeatFlags::RECLAIM),
            message: heapless::Vec::from_slice(b"hi").unwrap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_reads_what_the_repr_wrote() {
        let mut buf = [0u8; 20];
        HeartbeatRepr::example().emit(&mut HeartbeatPacket::new_unchecked(&mut buf[..]));
        assert_eq!(
            buf,
            [0, 0, 0, 41, 0, 0x0f, 0x42, 0x40, 0x64, 0, 0, 0, 0, 0, 0, 7, 3, 2, b'h', b'i']
        );
        let p = HeartbeatPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(p.beat(), 41);
        assert_eq!(p.interval(), Duration::from_secs(1));
        assert_eq!((p.ack_epoch(), p.ack_seq()), (0x6400_0000, 7));
        assert_eq!(p.flags(), HeartbeatFlags(3));
        assert_eq!(p.message(), b"hi");
        assert_eq!(HeartbeatRepr::parse(&p), Ok(HeartbeatRepr::example()));
    }

    #[test]
    fn length_errors_come_in_order() {
        let mut buf = [0u8; 20];
        HeartbeatRepr::example().emit(&mut HeartbeatPacket::new_unchecked(&mut buf[..]));
        let check = |b: &[u8]| HeartbeatPacket::new_checked(b).map(|_| ());
        assert_eq!(check(&buf[..17]), Err(WireError::Truncated));
        assert_eq!(check(&buf[..19]), Err(WireError::Truncated));
        buf[17] = 65;
        assert_eq!(check(&buf[..]), Err(WireError::Malformed));
        // Unchecked, a cut message still does not parse.
        buf[17] = 2;
        let p = HeartbeatPacket::new_unchecked(&buf[..19]);
        assert_eq!(p.message(), b"");
        assert_eq!(HeartbeatRepr::parse(&p), Err(WireError::Truncated));
    }
}
