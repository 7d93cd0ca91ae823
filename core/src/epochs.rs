//! Which epoch of each peer a node *without a key* believes (docs/protocol.md,
//! "Epochs from an unkeyed peer").
//!
//! Without a key anyone on the LAN can send a frame in a peer's name. The
//! replay window alone then lets one forged frame with a large epoch (say
//! `0xFFFF_FFFF`) make every genuine frame of the peer "older", for good.
//! So an unkeyed receiver believes a peer's epoch only when it is
//! *corroborated*: [`CORROBORATION`] frames of it with strictly increasing
//! `seq`, no further apart than the quiet time (the peer's dead time). A
//! genuine peer corroborates its new epoch within its first round (it sends
//! the round on every link, with consecutive `seq`), or within two rounds on
//! one link; a single forged frame never does. Three cases are believed on
//! their first frame, *provisionally*, because a verdict may be due: the
//! first frame heard from a peer, a newer epoch from a peer silent for
//! half the quiet time (it restarted), and a far jump in seq after the same
//! silence (the seq believed came from a genuine frame delivered late). Until a later frame of the same epoch
//! confirms it, a provisional belief gives way at once to the next frame of
//! the epoch believed before (or, for a first frame, to any other frame):
//! one forged frame is then accepted, but shuts the real peer out for no
//! more than that peer's next frame, and the machines act on the state a
//! provisional frame carries (flags, echoes) only once it is confirmed: it
//! counts for liveness alone. A newer epoch from a peer
//! silent for half the quiet time (it restarted) is believed at once. The same holds for a jump of
//! more than [`WINDOW`] in `seq` within the believed
//! epoch (a forged "far future" seq would otherwise push the real frames out
//! of the replay window); the allowance grows by [`PACE`] per interval the peer
//! was silent, so a peer back from a long cut is believed at once.
//!
//! A believed epoch that has been silent for the quiet time no longer blocks
//! another one, older or newer: a forged epoch that got corroborated by a
//! short burst holds the real peer off for one dead time at most. Once an
//! epoch has been heard for a whole quiet time it is *settled*: it becomes
//! the floor below which nothing from that peer is accepted again, and the
//! machine asks its host to persist it ([`crate::Action::PersistPeerEpoch`]),
//! so frames of the peer's earlier lives stay refused after a restart of
//! this node (`EpochTrust::set_floor`).
//!
//! With a key none of this runs: the tag already proves the epoch.

use crate::node::NodeId;
use crate::replay::WINDOW;
use crate::time::{Duration, Instant};

/// How many frames of a new epoch (with increasing `seq`) make it believed.
pub const CORROBORATION: u8 = 2;

/// How many frames per interval of silence a peer's `seq` may move on
/// without corroboration (on top of the replay window).
pub const PACE: u32 = 16;

/// What to do with a frame, as far as its epoch is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The frame is of the believed epoch: go on with the replay window.
    Believed,
    /// The frame corroborated a new epoch, now believed. `rewound`: it is
    /// older than the one believed before (that one fell silent), so the
    /// replay window and the machine's ordering of the peer must forget the
    /// newer one.
    Corroborated {
        /// The new epoch is below the previous belief.
        rewound: bool,
    },
    /// Not (yet) believable: held as a candidate, or refused outright (below
    /// the floor, or older than a believed epoch that is still heard).
    Unconfirmed,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    epoch: u32,
    seq: u32,
    count: u8,
    first: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    sender: NodeId,
    /// The believed epoch and the highest seq accepted in it.
    believed: Option<(u32, u32)>,
    /// Since when the believed epoch is believed.
    since: Instant,
    /// The last frame of the believed epoch accepted.
    heard: Instant,
    /// Settled (heard for a whole quiet time) and raised into the floor.
    settled: bool,
    /// Nothing below this epoch is accepted (the persisted, settled one).
    floor: u32,
    /// The belief rests on one frame so far: the first heard from the peer,
    /// or a newer epoch after a silence. A later frame of it confirms it.
    provisional: bool,
    /// With a provisional belief after a silence: the belief before, still
    /// accepted, whose next frame takes the belief back.
    previous: Option<(u32, u32)>,
    candidate: Option<Candidate>,
}

impl Entry {
    fn new(sender: NodeId, now: Instant) -> Entry {
        Entry {
            sender,
            believed: None,
            since: now,
            heard: now,
            settled: false,
            floor: 0,
            provisional: false,
            previous: None,
            candidate: None,
        }
    }

    /// Believes `(epoch, seq)` from `now`, provisionally, `previous` being
    /// the belief it replaces if that stays acceptable meanwhile.
    fn believe(&mut self, epoch: u32, seq: u32, now: Instant, previous: Option<(u32, u32)>) {
        let same = self.believed.is_some_and(|(b, _)| b == epoch);
        self.believed = Some((epoch, seq));
        self.provisional = true;
        self.previous = previous;
        self.candidate = None;
        self.heard = now;
        if !same {
            self.since = now;
            self.settled = false;
        }
    }
}

/// The believed epoch of up to `N` peers. See the module docs.
#[derive(Debug, Clone)]
pub(crate) struct EpochTrust<const N: usize> {
    entries: heapless::Vec<Entry, N>,
    /// A settled epoch not yet handed to the host for persisting.
    settled: Option<(NodeId, u32)>,
}

impl<const N: usize> EpochTrust<N> {
    pub const fn new() -> Self {
        EpochTrust {
            entries: heapless::Vec::new(),
            settled: None,
        }
    }

    fn entry(&mut self, sender: NodeId, now: Instant) -> Option<&mut Entry> {
        let i = match self.entries.iter().position(|e| e.sender == sender) {
            Some(i) => i,
            None => {
                if self.entries.is_full() {
                    // Forget the peer heard least recently, one without a
                    // floor first: strangers claiming a role a node listens
                    // to from anyone must not push out a persisted floor.
                    let oldest = self
                        .entries
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, e)| (e.floor != 0, e.heard))
                        .map(|(i, _)| i)?;
                    self.entries.swap_remove(oldest);
                }
                self.entries.push(Entry::new(sender, now)).ok()?;
                self.entries.len().checked_sub(1)?
            }
        };
        self.entries.get_mut(i)
    }

    /// Nothing older than `epoch` from `sender` is accepted: the epoch the
    /// host persisted in an earlier life of this node.
    pub fn set_floor(&mut self, sender: NodeId, epoch: u32, now: Instant) {
        if let Some(e) = self.entry(sender, now) {
            e.floor = e.floor.max(epoch);
        }
    }

    /// Judges a frame `(epoch, seq)` from `sender` at `now`; `quiet` is how
    /// long a believed epoch may be silent before it stops blocking others,
    /// `interval` how often the peer is expected to beat.
    /// Changes nothing for a frame of the believed epoch (see
    /// [`EpochTrust::heard`], called once the frame is accepted).
    pub fn judge(
        &mut self,
        sender: NodeId,
        epoch: u32,
        seq: u32,
        now: Instant,
        quiet: Duration,
        interval: Duration,
    ) -> Verdict {
        let Some(e) = self.entry(sender, now) else {
            return Verdict::Unconfirmed;
        };
        if epoch < e.floor {
            return Verdict::Unconfirmed;
        }
        let gap = now.saturating_since(e.heard);
        // A genuine peer silent for a while (cut off) comes back with a seq
        // that moved on meanwhile: allow PACE more per interval of silence
        // (four times what a node sends in that time).
        let intervals = gap.total_micros() / interval.total_micros().max(1);
        let allowance = PACE
            .saturating_mul(u32::try_from(intervals).unwrap_or(u32::MAX))
            .saturating_add(WINDOW);
        let fits = |(b, top): (u32, u32)| epoch == b && seq <= top.saturating_add(allowance);
        let Some((believed, top)) = e.believed else {
            // The first frame heard from this peer (since this node
            // started): believed provisionally, so that a peer coming up
            // is heard at once; until confirmed, another epoch replaces it.
            e.believe(epoch, seq, now, None);
            return Verdict::Corroborated { rewound: false };
        };
        if fits((believed, top)) {
            if seq > top {
                // A later frame of the same epoch: confirmed.
                e.provisional = false;
                e.previous = None;
            } else if e.provisional && seq < top {
                // The one frame the belief rests on claimed a seq this
                // peer's frames have not reached: not the peer's (a forged
                // seq far ahead in its real epoch). Kept, every genuine frame
                // after it would fit under it and none would ever confirm
                // it (simulator seed 745920630735). This frame replaces it,
                // provisionally still.
                let previous = e.previous;
                e.believe(epoch, seq, now, previous);
            }
            return Verdict::Believed;
        }
        if e.provisional {
            if let Some(previous) = e.previous.filter(|p| fits(*p)) {
                // The peer believed before is still there: the newer epoch
                // was a single (forged) frame. Back to it, confirmed.
                e.believe(epoch, previous.1.max(seq), now, None);
                e.provisional = false;
                return Verdict::Corroborated { rewound: true };
            }
            if e.previous.is_none_or(|(p, _)| epoch > p) {
                // Not the belief confirmed before, but not older either
                // (the peer restarted meanwhile, or nothing was ever
                // confirmed): it replaces the unconfirmed one,
                // provisionally still.
                let previous = e.previous;
                e.believe(epoch, seq, now, previous);
                return Verdict::Corroborated {
                    rewound: epoch < believed,
                };
            }
        }
        // The peer's seq ran out in the believed epoch and it moved to the
        // next one, starting seq over (`Endpoint::emit`): believed on its
        // first frame, provisionally, as after a silence. Waiting for a
        // second frame would leave the peer unheard for rounds under loss,
        // long enough for a false verdict (simulator seed 891900045935). A
        // forger can only use this in the few frames before the real peer
        // rolls over, and its frame gives way to the real one as above.
        let rolled_over = believed.checked_add(1) == Some(epoch)
            && top >= u32::MAX - allowance
            && seq <= allowance;
        if !e.provisional && rolled_over {
            e.believe(epoch, seq, now, Some((believed, top)));
            return Verdict::Corroborated { rewound: false };
        }
        // A newer epoch from a peer that has been silent for half the quiet
        // time is believed at once: that is how a restarted peer comes back,
        // and its first frame must not wait for a second one while the
        // verdict on its silence is due. Provisionally: until a second frame
        // confirms it, the epoch believed before stays acceptable, and its
        // next frame takes the belief back. So a forged frame can only delay
        // the verdict on a peer that really is silent, once, by one quiet
        // time; it never shuts out one that is not.
        if !e.provisional && epoch > believed && gap >= quiet.saturating_div(2) {
            e.believe(epoch, seq, now, Some((believed, top)));
            return Verdict::Corroborated { rewound: false };
        }
        // The same for a far jump in seq within the believed epoch after
        // half a quiet time: the top may be the stale one, taken from a
        // genuine frame delivered late (replayed), so the peer's real seq is
        // as far ahead as the time since that frame was *sent* allows, not
        // since it arrived. Holding the real frame as a candidate left the
        // peer unheard until its second one, past the verdict (simulator
        // seed 377982327856: a takeover 5 ms after the primary was heard).
        // Provisionally, as above: it counts for liveness only, marks no
        // replay window, and the next lower frame of the peer replaces it.
        if !e.provisional && epoch == believed && gap >= quiet.saturating_div(2) {
            e.believe(epoch, seq, now, Some((believed, top)));
            return Verdict::Believed;
        }
        // Older than a believed epoch that is still heard, or settled: a
        // replay.
        if epoch < believed && (gap < quiet || e.settled) {
            return Verdict::Unconfirmed;
        }
        // A candidate: a newer epoch, a far jump in seq, or an older epoch
        // while the believed one is silent. A later frame of it corroborates
        // it only if its seq is as near the candidate's as a genuine peer's
        // can be (the allowance above, counted from the candidate's first
        // frame): one forged frame with a seq far ahead, landing after a
        // restarted peer's first frame, corroborated its real new epoch with
        // that seq, and every genuine frame after it was refused as a
        // replay on its link for good (simulator seed 10000003577937: the
        // secondary's echo stuck at the forged seq, the restarted primary
        // never reclaimed, and nobody served). A lower frame of the
        // candidate's epoch replaces it: a genuine peer's frames climb from
        // there, while a candidate far ahead may be the forged one.
        let candidate_allowance = |c: &Candidate| {
            let intervals =
                now.saturating_since(c.first).total_micros() / interval.total_micros().max(1);
            PACE.saturating_mul(u32::try_from(intervals).unwrap_or(u32::MAX))
                .saturating_add(WINDOW)
        };
        match e.candidate.as_mut() {
            Some(c) if c.epoch == epoch && now.saturating_since(c.first) < quiet => {
                if seq > c.seq && seq - c.seq <= candidate_allowance(c) {
                    c.seq = seq;
                    c.count = c.count.saturating_add(1);
                } else if seq < c.seq {
                    *c = Candidate {
                        epoch,
                        seq,
                        count: 1,
                        first: c.first,
                    };
                    return Verdict::Unconfirmed;
                } else {
                    // A copy, or a seq far ahead of the candidate's: no news.
                    return Verdict::Unconfirmed;
                }
            }
            _ => {
                e.candidate = Some(Candidate {
                    epoch,
                    seq,
                    count: 1,
                    first: now,
                });
            }
        }
        if e.candidate.is_none_or(|c| c.count < CORROBORATION) {
            return Verdict::Unconfirmed;
        }
        let rewound = epoch < believed;
        if epoch == believed {
            // A far jump in seq, corroborated: same epoch, same settling.
            e.believed = Some((epoch, seq));
            e.candidate = None;
            e.heard = now;
        } else {
            e.believe(epoch, seq, now, None);
            e.provisional = false;
        }
        Verdict::Corroborated { rewound }
    }

    /// A frame `(epoch, seq)` of `sender` was accepted at `now` (after
    /// [`EpochTrust::judge`] and the replay window). Settles the epoch once
    /// it has been heard for `quiet`.
    pub fn heard(&mut self, sender: NodeId, epoch: u32, seq: u32, now: Instant, quiet: Duration) {
        let Some(e) = self.entries.iter_mut().find(|e| e.sender == sender) else {
            return;
        };
        let Some((believed, top)) = e.believed.as_mut() else {
            return;
        };
        if *believed != epoch {
            return;
        }
        *top = (*top).max(seq);
        e.heard = now;
        if !e.settled && !e.provisional && now.saturating_since(e.since) >= quiet {
            e.settled = true;
            if epoch > e.floor {
                e.floor = epoch;
                self.settled = Some((sender, epoch));
            }
        }
    }

    /// Whether `sender`'s believed epoch rests on one frame so far: its
    /// frames count for liveness, but the state they carry (flags, echoes)
    /// waits for a confirming frame.
    pub fn provisional(&self, sender: NodeId) -> bool {
        self.entries
            .iter()
            .any(|e| e.sender == sender && e.provisional)
    }

    /// A settled epoch to persist, once.
    pub fn take_settled(&mut self) -> Option<(NodeId, u32)> {
        self.settled.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: NodeId = NodeId(1);
    const Q: Duration = Duration::from_millis(30);
    const I: Duration = Duration::from_millis(10);

    fn ms(t: u64) -> Instant {
        Instant::from_millis(t)
    }

    /// Judges and, when believed, records the frame as accepted.
    fn feed(t: &mut EpochTrust<4>, epoch: u32, seq: u32, at: u64) -> bool {
        let v = t.judge(P, epoch, seq, ms(at), Q, I);
        let ok = v != Verdict::Unconfirmed;
        if ok {
            t.heard(P, epoch, seq, ms(at), Q);
        }
        ok
    }

    #[test]
    fn a_new_peer_is_believed_at_once_and_a_forged_first_frame_gives_way() {
        let mut t = EpochTrust::<4>::new();
        assert!(feed(&mut t, u32::MAX, 1, 0), "the first frame: provisional");
        assert_eq!(
            t.judge(P, 100, 1, ms(1), Q, I),
            Verdict::Corroborated { rewound: true },
            "the next word replaces an unconfirmed first one"
        );
        t.heard(P, 100, 1, ms(1), Q);
        assert!(feed(&mut t, 100, 2, 1), "confirmed");
        assert!(
            !feed(&mut t, u32::MAX, 2, 2),
            "now a forgery is only a candidate"
        );
        assert!(feed(&mut t, 100, 3, 10));
    }

    #[test]
    fn one_forged_frame_of_a_huge_epoch_changes_nothing() {
        let mut t = EpochTrust::<4>::new();
        assert!(feed(&mut t, 100, 1, 0));
        assert!(feed(&mut t, 100, 2, 0));
        assert!(!feed(&mut t, u32::MAX, 1, 5));
        assert!(
            !feed(&mut t, u32::MAX, 1, 6),
            "the same forged frame on the other link"
        );
        assert!(feed(&mut t, 100, 3, 10), "the real peer is still believed");
        // A forged seq far ahead in the real epoch is held too.
        assert!(!feed(&mut t, 100, u32::MAX, 11));
        assert!(feed(&mut t, 100, 4, 20));
    }

    #[test]
    fn a_genuine_restart_is_believed_within_a_round() {
        let mut t = EpochTrust::<4>::new();
        feed(&mut t, 100, 1, 0);
        feed(&mut t, 100, 2, 0);
        assert!(!feed(&mut t, 200, 1, 10));
        assert!(feed(&mut t, 200, 2, 10));
        assert!(!feed(&mut t, 100, 9, 11), "the previous life is refused");
    }

    #[test]
    fn a_peer_whose_seq_ran_out_is_believed_in_its_next_epoch_at_once() {
        let mut t = EpochTrust::<4>::new();
        feed(&mut t, 7, u32::MAX - 3, 0);
        feed(&mut t, 7, u32::MAX - 2, 0);
        assert!(
            feed(&mut t, 8, 1, 10),
            "the first frame after the roll-over, the second one lost"
        );
        assert!(t.provisional(P), "provisional until a second frame");
        assert!(feed(&mut t, 8, 3, 20));
        assert!(!t.provisional(P), "confirmed");
        assert!(!feed(&mut t, 7, u32::MAX, 21), "the old epoch is over");
    }

    #[test]
    fn a_seq_far_ahead_of_a_new_epochs_first_frame_does_not_corroborate_it() {
        let mut t = EpochTrust::<4>::new();
        feed(&mut t, 7, 1000, 0);
        feed(&mut t, 7, 1001, 0);
        // The peer restarts: its first round reordered (seq 2, then 1),
        // too soon after its last frame to be believed on its own.
        assert!(!feed(&mut t, 8, 2, 5), "a candidate");
        assert!(!feed(&mut t, 8, 1, 5), "a lower frame replaces it");
        assert!(
            !feed(&mut t, 8, 2_885_492_760, 6),
            "a forged seq far ahead, in the real new epoch: no corroboration"
        );
        assert!(feed(&mut t, 8, 3, 25), "the peer's next frame corroborates");
        assert!(feed(&mut t, 8, 4, 25), "and the ones after it are believed");
        assert!(
            !feed(&mut t, 8, 2_885_492_761, 26),
            "the forged seq stays out"
        );
    }

    #[test]
    fn a_next_epoch_is_only_believed_at_once_when_the_seq_ran_out() {
        let mut t = EpochTrust::<4>::new();
        feed(&mut t, 7, 1000, 0);
        feed(&mut t, 7, 1001, 0);
        assert!(!feed(&mut t, 8, 1, 5), "seq far from its end: corroborate");
        feed(&mut t, 7, u32::MAX - 3, 6);
        feed(&mut t, 7, u32::MAX - 2, 6);
        assert!(
            !feed(&mut t, 8, u32::MAX, 7),
            "a next epoch with a seq far from its start: corroborate"
        );
        assert!(feed(&mut t, 7, u32::MAX - 1, 10), "the real peer goes on");
    }

    #[test]
    fn strangers_do_not_push_out_a_persisted_floor() {
        let mut t = EpochTrust::<4>::new();
        t.set_floor(P, 100, ms(0));
        for id in 10..20 {
            t.judge(NodeId(id), 1, 1, ms(u64::from(id)), Q, I);
        }
        assert!(!feed(&mut t, 99, 1, 30), "the floor is still there");
    }

    #[test]
    fn a_peer_back_from_silence_in_a_new_epoch_is_believed_at_once() {
        let mut t = EpochTrust::<4>::new();
        feed(&mut t, 100, 1, 0);
        feed(&mut t, 100, 2, 0);
        assert!(!feed(&mut t, 200, 1, 14), "heard 14 ms ago: corroborate");
        assert!(feed(&mut t, 300, 1, 15), "silent for half the quiet time");
        assert!(feed(&mut t, 300, 2, 16), "and confirmed");
        assert!(!feed(&mut t, 100, 3, 17), "the previous life is refused");
    }

    #[test]
    fn a_forged_seq_far_ahead_in_the_peers_new_epoch_gives_way_to_its_real_frames() {
        // The peer restarted (epoch 2) while this node was cut off; the
        // first frame after is forged: the real new epoch, a seq far ahead.
        let mut t = EpochTrust::<4>::new();
        feed(&mut t, 1, 1, 0);
        feed(&mut t, 1, 2, 0);
        assert!(feed(&mut t, 2, 1_599_519_067, 100));
        assert!(t.provisional(P));
        // The peer's real frames, far below that seq: believed, and the
        // second one confirms the epoch.
        assert!(feed(&mut t, 2, 40, 101));
        assert!(feed(&mut t, 2, 41, 102));
        assert!(!t.provisional(P), "confirmed by the peer's own frames");
    }

    #[test]
    fn a_far_jump_in_seq_after_half_a_quiet_time_counts_provisionally() {
        // The top was taken from a genuine frame sent long ago and delivered
        // late (replayed): the peer's real seq is far ahead of it.
        let mut t = EpochTrust::<4>::new();
        feed(&mut t, 100, 1, 0);
        feed(&mut t, 100, 2, 0);
        assert!(
            !feed(&mut t, 100, 500, 5),
            "right after a frame: a candidate"
        );
        assert!(feed(&mut t, 100, 501, 16), "half a quiet time on: believed");
        assert!(t.provisional(P), "on one frame's word");
        assert!(feed(&mut t, 100, 502, 17));
        assert!(!t.provisional(P), "the next frame confirms it");

        // A forged jump is replaced by the peer's next, lower, frame.
        assert!(feed(&mut t, 100, 1_000_000, 40));
        assert!(t.provisional(P));
        assert!(feed(&mut t, 100, 503, 41));
        assert!(feed(&mut t, 100, 504, 42));
        assert!(!t.provisional(P), "confirmed by the peer's own frames");
    }

    #[test]
    fn a_forged_frame_believed_after_a_gap_gives_way_to_the_real_peer_at_once() {
        let mut t = EpochTrust::<4>::new();
        feed(&mut t, 100, 1, 0);
        feed(&mut t, 100, 2, 0);
        // The real peer was silent for 20 ms (loss), and the first frame
        // after is forged.
        assert!(feed(&mut t, u32::MAX, 1, 20));
        // Its copy on the other link is no news (the replay window of that
        // link takes it), and confirms nothing.
        assert!(feed(&mut t, u32::MAX, 1, 20));
        assert_eq!(
            t.judge(P, 100, 3, ms(21), Q, I),
            Verdict::Corroborated { rewound: true },
            "the real peer's next frame takes the belief back"
        );
        t.heard(P, 100, 3, ms(21), Q);
        assert!(feed(&mut t, 100, 4, 22));
        for i in 0..5u32 {
            feed(&mut t, 100, 5 + i, 30 + u64::from(i) * 10);
        }
        assert_eq!(
            t.take_settled(),
            Some((P, 100)),
            "the real epoch settles, not the forged"
        );
    }

    #[test]
    fn a_corroborated_epoch_that_falls_silent_stops_blocking_the_real_peer() {
        let mut t = EpochTrust::<4>::new();
        feed(&mut t, 100, 1, 0);
        feed(&mut t, 100, 2, 0);
        // A burst of two forged frames corroborates a forged epoch.
        feed(&mut t, u32::MAX, 1, 5);
        assert!(feed(&mut t, u32::MAX, 2, 5));
        assert!(
            !feed(&mut t, 100, 3, 10),
            "refused while the forgery is fresh"
        );
        assert!(!feed(&mut t, 100, 4, 20));
        // One quiet time after the last forged frame the real peer is back.
        assert!(!feed(&mut t, 100, 5, 35));
        assert_eq!(
            t.judge(P, 100, 6, ms(36), Q, I),
            Verdict::Corroborated { rewound: true }
        );
        assert_eq!(t.take_settled(), None, "nothing settled: nothing persisted");
    }

    #[test]
    fn an_epoch_heard_for_a_quiet_time_settles_and_becomes_the_floor() {
        let mut t = EpochTrust::<4>::new();
        for i in 0..=4u32 {
            feed(&mut t, 100, i + 1, u64::from(i) * 10);
        }
        assert_eq!(t.take_settled(), Some((P, 100)));
        assert_eq!(t.take_settled(), None);
        // Even silent, a settled epoch is not given up for an older one.
        assert!(!feed(&mut t, 99, 1, 500));
        assert!(!feed(&mut t, 99, 2, 500));
        // A restart of this node: the persisted floor refuses old lives.
        let mut fresh = EpochTrust::<4>::new();
        fresh.set_floor(P, 100, ms(0));
        assert!(!feed(&mut fresh, 99, 1, 0));
        assert!(!feed(&mut fresh, 99, 2, 0));
        assert!(feed(&mut fresh, 100, 7, 0));
        assert!(feed(&mut fresh, 100, 8, 0));
    }

    proptest::proptest! {
        /// A genuine peer (beats 1 to 12 ms apart, now and then a silence
        /// and a restart into a newer epoch) and one forged frame with any
        /// epoch and seq, anywhere after the peer was first confirmed: no
        /// genuine frame is refused but the first of a restarted epoch, and
        /// only epochs the peer used settle.
        #[test]
        fn one_forged_frame_never_shuts_the_real_peer_out(
            gaps in proptest::collection::vec((1u64..=12, 0u8..20), 10..120),
            forged_at in 2usize..10,
            forged in (proptest::prelude::any::<u32>(), proptest::prelude::any::<u32>(), 0u64..40),
        ) {
            let mut t = EpochTrust::<4>::new();
            let (mut epoch, mut seq, mut at) = (100u32, 0u32, 0u64);
            let mut used = std::vec![epoch];
            let (mut refused, mut restarts) = (0, 0);
            for (i, (gap, event)) in gaps.iter().enumerate() {
                at += gap;
                match event {
                    // A silence of 40 ms, then a restart.
                    0 => {
                        at += 40;
                        epoch += 1 + u32::from(*event);
                        seq = 0;
                        used.push(epoch);
                        restarts += 1;
                    }
                    // A silence of 20 ms.
                    1 => at += 20,
                    _ => {}
                }
                seq += 1;
                if !feed(&mut t, epoch, seq, at) {
                    refused += 1;
                }
                if i == forged_at {
                    // After a silence of up to 40 ms (the real peer's next
                    // frame is due later still).
                    at += forged.2;
                    let _ = feed(&mut t, forged.0, forged.1, at);
                }
                if let Some((_, settled)) = t.take_settled() {
                    proptest::prop_assert!(used.contains(&settled), "settled {}", settled);
                }
            }
            proptest::prop_assert!(refused <= restarts, "{} refused, {} restarts", refused, restarts);
        }
    }
}
