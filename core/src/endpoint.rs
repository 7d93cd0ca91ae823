//! What every machine does with frames, whatever its role: authenticate and
//! de-duplicate what arrives, number and sign what leaves, and count what was
//! refused. One copy here keeps the three machines about decisions only.

use crate::epochs::{EpochTrust, Verdict};
use crate::node::{LinkId, NodeId, Role};
use crate::replay::ReplayGuard;
use crate::time::{Duration, Instant};
use crate::wire::{Body, FrameRepr, Header, Keyring, UnverifiedFrame, WireError, MAX_FRAME_LEN};

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
    /// Without a key: frames of an epoch (or a `seq` far ahead) that is not
    /// corroborated yet, or older than a believed epoch still heard
    /// (`crate::epochs`). A single forged frame lands here.
    pub unconfirmed: u32,
}

/// The frame plumbing a machine embeds.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub node: NodeId,
    pub role: Role,
    pub epoch: u32,
    seq: u32,
    /// An epoch this endpoint moved to on its own (its seq counter ran
    /// out) that the machine has not yet asked its host to persist.
    rolled: Option<u32>,
    keys: Option<Keyring>,
    replay: ReplayGuard<16>,
    /// Without a key: which epoch of each peer is believed.
    trust: EpochTrust<4>,
    /// A peer whose believed epoch went back to an older one (the newer one
    /// fell silent): the machine forgets its ordering of that peer.
    rewound: Option<NodeId>,
    /// The last frame returned rests on a provisional belief.
    provisional: bool,
    /// Without a key: how long a believed epoch may be silent before
    /// another may replace it, and how often peers are expected to beat.
    timing: (Duration, Duration),
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
            rolled: None,
            keys,
            replay: ReplayGuard::new(),
            trust: EpochTrust::new(),
            rewound: None,
            provisional: false,
            timing: (Duration::ZERO, Duration::ZERO),
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
    ///
    /// Every cheap check comes before the tag is computed: the structure,
    /// the sender and role (`wanted`), and the replay window. A frame that
    /// would be refused anyway (one of this node's own, from a sender it
    /// does not listen to, or an old or repeated seq) costs no HMAC, so a
    /// flood of them costs little; only a frame with a fresh seq from a
    /// wanted sender is authenticated. Such a frame with a bad tag is
    /// counted as failing authentication; one that is also old counts as
    /// replayed.
    ///
    /// Without a key, the sender's epoch must be believed first
    /// (`crate::epochs`), with the timings of [`Endpoint::set_timing`].
    /// With a key this costs one branch: the tag proves the epoch.
    pub fn receive(&mut self, bytes: &[u8], wanted: impl Fn(&Header) -> bool) -> Option<FrameRepr> {
        let unverified = match UnverifiedFrame::parse(bytes) {
            Ok(frame) => frame,
            Err(err) => {
                self.count(err);
                return None;
            }
        };
        let h = unverified.header;
        if h.sender == self.node || !wanted(&h) {
            self.stats.ignored = self.stats.ignored.saturating_add(1);
            return None;
        }
        // Only without a key, and only then are the timings looked up: the
        // keyed path stays as it was.
        let unkeyed = if self.keys.is_none() {
            let (quiet, interval) = self.timing;
            if !self.believes(&h, quiet, interval) {
                return None;
            }
            Some(quiet)
        } else {
            None
        };
        if self.replay.would_refuse(h.sender, h.link, h.epoch, h.seq) {
            self.stats.replayed = self.stats.replayed.saturating_add(1);
            return None;
        }
        let frame = match unverified.verify(self.keys.as_ref()) {
            Ok(frame) => frame,
            Err(err) => {
                self.count(err);
                return None;
            }
        };
        let h = &frame.header;
        match unkeyed {
            Some(quiet) => self.heard(h.sender, h.epoch, h.seq, quiet),
            // Keyed (perhaps since a reload): nothing rests on one frame.
            None => self.provisional = false,
        }
        // A frame believed provisionally leaves no mark in the replay
        // window: if it was forged with a seq far ahead, the genuine frames
        // after it (lower seqs) would be refused on its link for good
        // (simulator seed 745920630735). It was checked against the window
        // above, and it counts for liveness only.
        if !self.provisional
            && self
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

    /// Without a key: whether `h`'s epoch is believed (`crate::epochs`);
    /// counts the frame as unconfirmed if not. Out of line, so the keyed
    /// path stays as short as it was.
    #[inline(never)]
    fn believes(&mut self, h: &Header, quiet: Duration, interval: Duration) -> bool {
        match self
            .trust
            .judge(h.sender, h.epoch, h.seq, self.latest, quiet, interval)
        {
            Verdict::Believed => true,
            Verdict::Corroborated { rewound } => {
                if rewound {
                    self.replay.forget(h.sender);
                    self.rewound = Some(h.sender);
                }
                true
            }
            Verdict::Unconfirmed => {
                self.stats.unconfirmed = self.stats.unconfirmed.saturating_add(1);
                false
            }
        }
    }

    /// Without a key: a frame of `sender` was accepted.
    #[inline(never)]
    fn heard(&mut self, sender: NodeId, epoch: u32, seq: u32, quiet: Duration) {
        self.trust.heard(sender, epoch, seq, self.latest, quiet);
        self.provisional = self.trust.provisional(sender);
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

    /// Numbers, signs and writes a frame into `buf`. Every frame fits in
    /// [`MAX_FRAME_LEN`] bytes, so this fails only when the epoch space has
    /// run out (below) or for a body `FrameRepr::emit` refuses (a zero
    /// interval, which the machines' validated configurations rule out);
    /// the frame is then not counted as sent.
    ///
    /// A frame is numbered `(epoch, seq)`, and receivers accept only what is
    /// newer than what they have seen. When `seq` has run out, the endpoint
    /// moves to the next epoch and starts `seq` over, as a restart would
    /// (docs/protocol.md, "Epochs"); the machine then asks its host to
    /// persist the new epoch ([`Endpoint::take_rolled`]). A wrapped `seq`
    /// in the same epoch would be refused by every receiver as a replay, for
    /// good (at 1 ms beats on two links, after 25 days). When the epoch has
    /// run out too (the year 2106, with epochs from the clock), nothing is
    /// sent: silence is the one failure the peers already handle.
    pub fn emit(
        &mut self,
        link: LinkId,
        body: Body,
        buf: &mut [u8; MAX_FRAME_LEN],
    ) -> Option<usize> {
        let (epoch, seq) = match self.seq.checked_add(1) {
            Some(seq) => (self.epoch, seq),
            None => (self.epoch.checked_add(1)?, 1),
        };
        let frame = FrameRepr {
            header: Header {
                sender: self.node,
                role: self.role,
                link,
                epoch,
                seq,
            },
            body,
        };
        let len = frame.emit(buf, self.keys.as_ref()).ok()?;
        if epoch != self.epoch {
            self.epoch = epoch;
            self.rolled = Some(epoch);
        }
        self.seq = seq;
        Some(len)
    }

    /// Numbers the next frame `seq + 1` (see the machines'
    /// `starting_after_seq`).
    pub fn start_after_seq(&mut self, seq: u32) {
        self.seq = seq;
    }

    /// Whether frames are authenticated: without a key anyone on the
    /// segment can forge one, and a claim that costs the receiver its
    /// service needs a second frame's word.
    pub fn keyed(&self) -> bool {
        self.keys.is_some()
    }

    /// Replaces the keys frames are signed and checked with.
    pub fn set_keys(&mut self, keys: Option<Keyring>) {
        self.keys = keys;
    }

    /// The `(epoch, seq)` of the last frame emitted.
    pub fn last_sent(&self) -> (u32, u32) {
        (self.epoch, self.seq)
    }

    /// The epoch this endpoint moved to when its seq ran out, once: the
    /// machine turns it into [`crate::Action::PersistEpoch`].
    pub fn take_rolled(&mut self) -> Option<u32> {
        self.rolled.take()
    }

    /// Without a key: `quiet`, how long a believed epoch may be silent
    /// before another may replace it (the machine's dead time for peers),
    /// and `interval`, how often peers are expected to beat. The machine
    /// sets them at start and after each frame it accepts, not on the
    /// receive path.
    pub fn set_timing(&mut self, quiet: Duration, interval: Duration) {
        self.timing = (quiet, interval);
    }

    /// Whether the frame just returned by [`Endpoint::receive`] rests on a
    /// provisional belief in its sender's epoch (`crate::epochs`): count it
    /// for liveness, but do not act on its flags or echo. Always false with
    /// a key.
    pub fn provisional(&self) -> bool {
        self.provisional
    }

    /// A peer whose believed epoch went back to an older one, once: the
    /// machine forgets how it ordered that peer's frames (detector epoch,
    /// [`Freshness`]), or it would go on ignoring the real peer.
    pub fn take_rewound(&mut self) -> Option<NodeId> {
        self.rewound.take()
    }

    /// A peer epoch that has settled (heard for a whole quiet time), once:
    /// the machine turns it into [`crate::Action::PersistPeerEpoch`].
    pub fn take_settled(&mut self) -> Option<(NodeId, u32)> {
        self.trust.take_settled()
    }

    /// Refuses every frame of `peer` older than `epoch`: the epoch of it the
    /// host persisted in an earlier life of this node. Only used without a
    /// key (with one, the tag covers the epoch).
    pub fn set_peer_floor(&mut self, peer: NodeId, epoch: u32) {
        let now = self.latest;
        self.trust.set_floor(peer, epoch, now);
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

    /// Forgets the order: the peer's believed epoch went back
    /// ([`Endpoint::take_rewound`]).
    pub fn forget(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;
    use crate::wire::{HeartbeatFlags, HeartbeatRepr};

    /// An unkeyed receiver with a 30 ms quiet time and 10 ms beats.
    fn unkeyed_rx(node: NodeId, epoch: u32, t: Instant) -> Endpoint {
        let mut rx = Endpoint::new(node, Role::Secondary, epoch, None, t);
        rx.set_timing(Duration::from_millis(30), Duration::from_millis(10));
        rx
    }

    fn heartbeat() -> Body {
        Body::Heartbeat(HeartbeatRepr {
            beat: 1,
            interval: Duration::from_millis(10),
            ack_epoch: 0,
            ack_seq: 0,
            flags: HeartbeatFlags::empty(),
            message: heapless::Vec::new(),
        })
    }

    #[test]
    fn the_seq_space_running_out_moves_to_the_next_epoch_and_receivers_keep_accepting() {
        let t = Instant::ZERO;
        // Keyed: without a key each new epoch first needs corroborating
        // (see the next test).
        let mut tx = Endpoint::new(NodeId(1), Role::Primary, 7, Some(keyring()), t);
        tx.start_after_seq(u32::MAX - 2);
        let mut rx = Endpoint::new(NodeId(2), Role::Secondary, 9, Some(keyring()), t);
        let mut buf = [0u8; MAX_FRAME_LEN];
        let mut sent = [(0, 0); 4];
        for s in sent.iter_mut() {
            let len = tx.emit(LinkId(0), heartbeat(), &mut buf).expect("emitted");
            let frame = rx.receive(&buf[..len], |_| true).expect("accepted");
            *s = (frame.header.epoch, frame.header.seq);
            assert_eq!(tx.last_sent(), *s);
        }
        assert_eq!(
            sent,
            [(7, u32::MAX - 1), (7, u32::MAX), (8, 1), (8, 2)],
            "the last seq of epoch 7, then epoch 8 from 1"
        );
        assert_eq!(tx.take_rolled(), Some(8), "the host is asked to persist it");
        assert_eq!(tx.take_rolled(), None, "once");
        assert_eq!(rx.stats.replayed, 0);
    }

    #[test]
    fn without_a_key_a_rollover_is_believed_at_once_and_one_forged_frame_costs_nothing() {
        let t = Instant::ZERO;
        let mut tx = Endpoint::new(NodeId(1), Role::Primary, 7, None, t);
        tx.start_after_seq(u32::MAX - 3);
        let mut rx = unkeyed_rx(NodeId(2), 9, t);
        let mut buf = [0u8; MAX_FRAME_LEN];
        let mut got = std::vec::Vec::new();
        for _ in 0..6 {
            let len = tx.emit(LinkId(0), heartbeat(), &mut buf).expect("emitted");
            if let Some(f) = rx.receive(&buf[..len], |_| true) {
                got.push((f.header.epoch, f.header.seq));
            }
            if got.len() == 2 {
                // A forged copy of the frame just accepted, in a huge epoch.
                let mut forged = buf;
                forged[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
                forged[20..24].copy_from_slice(&1u32.to_be_bytes());
                assert!(rx.receive(&forged[..len], |_| true).is_none());
            }
        }
        assert_eq!(
            got,
            [
                (7, u32::MAX - 2),
                (7, u32::MAX - 1),
                (7, u32::MAX),
                (8, 1),
                (8, 2),
                (8, 3)
            ],
            "the rolled-over epoch is believed on its first frame (crate::epochs); the forgery \
             did not count"
        );
        assert_eq!((rx.stats.unconfirmed, rx.stats.replayed), (1, 0));
    }

    #[test]
    fn a_provisional_belief_does_not_outlive_a_switch_to_a_key() {
        let t = Instant::ZERO;
        let mut tx = Endpoint::new(NodeId(1), Role::Primary, 7, None, t);
        let mut rx = unkeyed_rx(NodeId(2), 9, t);
        let mut buf = [0u8; MAX_FRAME_LEN];
        let len = tx.emit(LinkId(0), heartbeat(), &mut buf).expect("emitted");
        assert!(rx.receive(&buf[..len], |_| true).is_some());
        assert!(
            rx.provisional(),
            "the first frame heard rests on its own word"
        );
        let len = tx.emit(LinkId(1), heartbeat(), &mut buf).expect("emitted");
        assert!(rx.receive(&buf[..len], |_| true).is_some());
        assert!(!rx.provisional(), "confirmed by the next");
        // A reload adds a key after an unconfirmed frame: keyed frames are
        // never provisional.
        let mut rx = unkeyed_rx(NodeId(2), 9, t);
        let len = tx.emit(LinkId(0), heartbeat(), &mut buf).expect("emitted");
        assert!(rx.receive(&buf[..len], |_| true).is_some());
        assert!(rx.provisional());
        tx.set_keys(Some(keyring()));
        rx.set_keys(Some(keyring()));
        let len = tx.emit(LinkId(0), heartbeat(), &mut buf).expect("emitted");
        assert!(rx.receive(&buf[..len], |_| true).is_some());
        assert!(!rx.provisional());
    }

    #[test]
    fn with_the_epoch_space_run_out_too_nothing_is_sent() {
        let mut tx = Endpoint::new(NodeId(1), Role::Primary, u32::MAX, None, Instant::ZERO);
        tx.start_after_seq(u32::MAX);
        let mut buf = [0u8; MAX_FRAME_LEN];
        assert_eq!(tx.emit(LinkId(0), heartbeat(), &mut buf), None);
        assert_eq!(tx.last_sent(), (u32::MAX, u32::MAX));
        assert_eq!(tx.take_rolled(), None);
    }

    fn keyring() -> Keyring {
        Keyring::new(crate::wire::Key::new(1, b"sixteen+ byte key, test only").expect("key"))
    }

    #[test]
    fn frames_refused_anyway_are_refused_before_their_tag_is_checked() {
        let t = Instant::ZERO;
        let mut tx = Endpoint::new(NodeId(1), Role::Primary, 7, Some(keyring()), t);
        let mut rx = Endpoint::new(NodeId(2), Role::Secondary, 9, Some(keyring()), t);
        let mut buf = [0u8; MAX_FRAME_LEN];
        let len = tx.emit(LinkId(0), heartbeat(), &mut buf).expect("emitted");
        assert!(rx.receive(&buf[..len], |_| true).is_some());
        // The same frame again with its tag broken: an old seq is refused
        // as a replay, without authenticating it.
        let mut broken = buf;
        broken[len - 1] ^= 1;
        assert!(rx.receive(&broken[..len], |_| true).is_none());
        assert_eq!((rx.stats.replayed, rx.stats.auth_failed), (1, 0));
        // From a sender it does not listen to: ignored, not authenticated.
        assert!(rx
            .receive(&broken[..len], |h| h.sender != NodeId(1))
            .is_none());
        assert_eq!((rx.stats.ignored, rx.stats.auth_failed), (1, 0));
        // A fresh seq with a broken tag is authenticated, and fails.
        let len = tx.emit(LinkId(0), heartbeat(), &mut buf).expect("emitted");
        buf[len - 1] ^= 1;
        assert!(rx.receive(&buf[..len], |_| true).is_none());
        assert_eq!(rx.stats.auth_failed, 1);
        // And did not take the seq: the genuine frame is still accepted.
        buf[len - 1] ^= 1;
        assert!(rx.receive(&buf[..len], |_| true).is_some());
        assert_eq!(rx.stats.accepted, 2);
    }
}
