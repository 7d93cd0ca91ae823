//! What every machine does with frames, whatever its role: authenticate and
//! de-duplicate what arrives, number and sign what leaves, and count what was
//! refused. One copy here keeps the three machines about decisions only.

use crate::node::{LinkId, NodeId, Role};
use crate::replay::ReplayGuard;
use crate::time::Instant;
use crate::wire::{Body, FrameRepr, Header, Keyring, WireError};

/// Counters of received frames, by fate. An operator reads them in the
/// status output; the fuzzers and the simulator read them too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxStats {
    /// Frames accepted and acted on.
    pub accepted: u32,
    /// Truncated or malformed frames, and frames not starting with the magic.
    pub malformed: u32,
    /// Frames of a protocol version this node does not speak.
    pub unknown_version: u32,
    /// Frames of a message type this version does not know.
    pub unknown_type: u32,
    /// Frames refused by authentication (missing, unknown key, bad tag).
    pub auth_failed: u32,
    /// Authentic frames that were replayed, duplicated or reordered.
    pub replayed: u32,
    /// Frames this node sent itself (broadcasts loop back), or frames from
    /// nodes or roles this node does not listen to.
    pub ignored: u32,
}

/// The frame plumbing a machine embeds.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub node: NodeId,
    pub role: Role,
    pub epoch: u32,
    seq: u32,
    keys: Option<Keyring>,
    replay: ReplayGuard<16>,
    pub stats: RxStats,
    /// The latest `now` seen: time never goes backwards inside a machine.
    latest: Instant,
}

impl Endpoint {
    pub fn new(
        node: NodeId,
        role: Role,
        epoch: u32,
        keys: Option<Keyring>,
        start: Instant,
    ) -> Self {
        Endpoint {
            node,
            role,
            epoch,
            seq: 0,
            keys,
            replay: ReplayGuard::new(),
            stats: RxStats::default(),
            latest: start,
        }
    }

    /// Clamps `now` so it never goes backwards, and remembers it.
    pub fn advance(&mut self, now: Instant) -> Instant {
        if now > self.latest {
            self.latest = now;
        }
        self.latest
    }

    /// The latest instant seen.
    pub fn now(&self) -> Instant {
        self.latest
    }

    /// Parses, authenticates and de-duplicates `bytes`, counting what is
    /// refused. `wanted` says whether the machine listens to this sender in
    /// this role; unwanted frames are counted before they can take a place
    /// in the replay table. Returns the frame only if the machine should act
    /// on it.
    pub fn receive(
        &mut self,
        bytes: &[u8],
        wanted: impl Fn(&FrameRepr) -> bool,
    ) -> Option<FrameRepr> {
        let frame = match FrameRepr::parse(bytes, self.keys.as_ref()) {
            Ok(frame) => frame,
            Err(err) => {
                self.count(err);
                return None;
            }
        };
        let h = &frame.header;
        if h.sender == self.node || !wanted(&frame) {
            self.stats.ignored = self.stats.ignored.saturating_add(1);
            return None;
        }
        if self
            .replay
            .accept(h.sender, h.link, h.epoch, h.seq)
            .is_err()
        {
            self.stats.replayed = self.stats.replayed.saturating_add(1);
            return None;
        }
        self.stats.accepted = self.stats.accepted.saturating_add(1);
        Some(frame)
    }

    fn count(&mut self, err: WireError) {
        let counter = match err {
            WireError::UnsupportedVersion(_) => &mut self.stats.unknown_version,
            WireError::UnknownType(_) => &mut self.stats.unknown_type,
            WireError::AuthRequired | WireError::AuthFailed | WireError::UnknownKey(_) => {
                &mut self.stats.auth_failed
            }
            WireError::Truncated
            | WireError::BadMagic
            | WireError::Malformed
            | WireError::BufferTooSmall => &mut self.stats.malformed,
        };
        *counter = counter.saturating_add(1);
    }

    /// Numbers, signs and writes a frame into `buf`; `None` if `buf` is too
    /// small (the frame is then not counted as sent).
    pub fn emit(&mut self, link: LinkId, body: Body, buf: &mut [u8]) -> Option<usize> {
        let frame = FrameRepr {
            header: Header {
                sender: self.node,
                role: self.role,
                link,
                epoch: self.epoch,
                seq: self.seq.wrapping_add(1),
            },
            body,
        };
        let len = frame.emit(buf, self.keys.as_ref()).ok()?;
        self.seq = self.seq.wrapping_add(1);
        Some(len)
    }

    /// The sequence number of the last frame emitted.
    pub fn set_keys(&mut self, keys: Option<Keyring>) {
        self.keys = keys;
    }

    pub fn last_seq(&self) -> u32 {
        self.seq
    }

    /// A fresh nonce for a witness request: unique within this epoch.
    pub fn nonce(&mut self) -> u32 {
        // The sequence counter is unique per epoch; mixing in the epoch keeps
        // nonces of consecutive boots apart.
        self.seq.wrapping_add(1) ^ self.epoch.rotate_left(16)
    }
}

/// Tells whether a frame is newer than the last one whose *state* (flags)
/// the machine applied. Liveness counts every authentic frame, on every
/// link; state must only move forward, or a slow link could deliver an old
/// "I hold the addresses" after a newer "released".
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Freshness {
    last: Option<(u32, u32)>,
}

impl Freshness {
    /// Whether `(epoch, seq)` is newer than any applied so far; records it if so.
    pub fn advance(&mut self, epoch: u32, seq: u32) -> bool {
        match self.last {
            Some(last) if (epoch, seq) <= last => false,
            _ => {
                self.last = Some((epoch, seq));
                true
            }
        }
    }
}
