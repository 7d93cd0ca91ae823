//! Replay protection: a frame is accepted only once, and only if it is not
//! older than a window of [`WINDOW`] frames behind the newest one accepted
//! from the same sender on the same link (the sliding window of IPsec and
//! DTLS).
//!
//! Every sender stamps its frames with `(epoch, seq)`. The epoch is chosen
//! at boot and is larger than any epoch the sender used before (see
//! `docs/protocol.md`: `max(persisted epoch + 1, UNIX time)`); `seq` counts
//! every frame the sender sends within the epoch. So the pairs a sender
//! emits increase strictly, in lexicographic order.
//!
//! Ordering is tracked per `(sender, link)` and not per sender alone,
//! because a sender sends the same round on every link and the links
//! reorder relative to each other: the public copy of round 7 may arrive
//! after the private copy of round 8. The sender's `seq` is shared across
//! its links, so the subsequence sent on any one link is still strictly
//! increasing as sent. A link may still reorder within itself (a witness's
//! grant and its next heartbeat leave together and can swap places), which
//! is why a window rather than a strict "newer than the last": a frame
//! overtaken by a few others is still accepted, once. A replayed frame — an
//! older epoch, a `seq` already seen, or one that fell out of the window —
//! is refused. Frames whose *state* must only move forward are ordered
//! again by the machines (`endpoint::Freshness`).
//!
//! The table is bounded: `N` entries. Size it for every `(sender, link)`
//! pair the node hears (3 nodes × [`MAX_LINKS`](crate::node::MAX_LINKS)
//! is plenty). When it is full, a new pair evicts the least recently
//! accepted entry, whose history is then forgotten: only a sender that has
//! been silent longest can be replayed against once, and with
//! authentication only key holders can create entries at all.

use crate::node::{LinkId, NodeId};

/// A frame was refused: its `(epoch, seq)` is not newer than the last one
/// accepted from the same sender on the same link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed;

impl core::fmt::Display for Replayed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "replayed or stale frame")
    }
}

/// So that a caller of [`ReplayGuard::accept`] can pass the refusal on as
/// an error.
impl core::error::Error for Replayed {}

/// How far behind the newest accepted frame a late frame may be.
pub const WINDOW: u32 = 64;

#[derive(Debug, Clone, Copy)]
struct Entry {
    sender: NodeId,
    link: LinkId,
    epoch: u32,
    /// The newest `seq` accepted in `epoch`.
    seq: u32,
    /// Bit `i` set: `seq - i` was accepted.
    seen: u64,
    /// Value of the guard's use counter when this entry last accepted.
    used: u32,
}

/// The last accepted `(epoch, seq)` for up to `N` `(sender, link)` pairs.
#[derive(Debug, Clone)]
pub struct ReplayGuard<const N: usize> {
    entries: heapless::Vec<Entry, N>,
    clock: u32,
}

impl<const N: usize> Default for ReplayGuard<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> ReplayGuard<N> {
    /// An empty guard: the first frame of every pair is accepted.
    #[must_use]
    pub const fn new() -> Self {
        ReplayGuard {
            entries: heapless::Vec::new(),
            clock: 0,
        }
    }

    /// Accepts a frame from `sender` on `link` stamped `(epoch, seq)` if the
    /// stamp is greater than the last one accepted for that pair
    /// (lexicographically: a greater epoch wins whatever its `seq`), and
    /// records it. A pair never seen before is accepted. A refused frame
    /// changes nothing.
    ///
    /// With `N == 0` nothing can be remembered and every frame is accepted.
    pub fn accept(
        &mut self,
        sender: NodeId,
        link: LinkId,
        epoch: u32,
        seq: u32,
    ) -> Result<(), Replayed> {
        let used = self.tick();
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| e.sender == sender && e.link == link)
        {
            if epoch > entry.epoch || (epoch == entry.epoch && seq > entry.seq) {
                let shift = if epoch > entry.epoch {
                    u32::MAX
                } else {
                    seq - entry.seq
                };
                entry.seen = entry.seen.checked_shl(shift).unwrap_or(0) | 1;
                entry.epoch = epoch;
                entry.seq = seq;
            } else {
                let behind = entry.seq.wrapping_sub(seq);
                let bit = 1u64.checked_shl(behind).unwrap_or(0);
                if epoch < entry.epoch || behind >= WINDOW || entry.seen & bit != 0 {
                    return Err(Replayed);
                }
                entry.seen |= bit;
            }
            entry.used = used;
            return Ok(());
        }
        let entry = Entry {
            sender,
            link,
            epoch,
            seq,
            seen: 1,
            used,
        };
        if let Err(entry) = self.entries.push(entry) {
            // Full: replace the least recently accepted entry.
            if let Some(oldest) = self.entries.iter_mut().min_by_key(|e| e.used) {
                *oldest = entry;
            }
        }
        Ok(())
    }

    /// Whether [`ReplayGuard::accept`] would refuse `(epoch, seq)` from
    /// `sender` on `link`, without remembering anything: for checking a
    /// frame before the work of authenticating it.
    #[must_use]
    pub fn would_refuse(&self, sender: NodeId, link: LinkId, epoch: u32, seq: u32) -> bool {
        let Some(entry) = self
            .entries
            .iter()
            .find(|e| e.sender == sender && e.link == link)
        else {
            return false;
        };
        if epoch > entry.epoch || (epoch == entry.epoch && seq > entry.seq) {
            return false;
        }
        let behind = entry.seq.wrapping_sub(seq);
        let bit = 1u64.checked_shl(behind).unwrap_or(0);
        epoch < entry.epoch || behind >= WINDOW || entry.seen & bit != 0
    }

    /// The last `(epoch, seq)` accepted from `sender` on `link`, if it is
    /// remembered.
    #[must_use]
    pub fn last(&self, sender: NodeId, link: LinkId) -> Option<(u32, u32)> {
        self.entries
            .iter()
            .find(|e| e.sender == sender && e.link == link)
            .map(|e| (e.epoch, e.seq))
    }

    /// Forgets everything about `sender`, on every link (for example when
    /// it is removed from the configuration).
    pub fn forget(&mut self, sender: NodeId) {
        self.entries.retain(|e| e.sender != sender);
    }

    /// How many `(sender, link)` pairs are remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no pair is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The next value of the use counter. When it would overflow, each
    /// entry's counter becomes its rank (how many entries were used before
    /// it), which keeps the eviction order and leaves the counter small
    /// again. Ranks rather than a sort: N is small, and a sort would cost the
    /// witness's flash about 2.7 KB of code for a path taken once in years.
    fn tick(&mut self) -> u32 {
        if self.clock == u32::MAX {
            let mut ranks = [0u32; N];
            for (rank, e) in ranks.iter_mut().zip(self.entries.iter()) {
                let before = self.entries.iter().filter(|f| f.used < e.used).count();
                *rank = u32::try_from(before).unwrap_or(u32::MAX);
            }
            for (e, rank) in self.entries.iter_mut().zip(ranks) {
                e.used = rank;
            }
            self.clock = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        }
        let now = self.clock;
        self.clock = self.clock.saturating_add(1);
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: NodeId = NodeId(1);
    const B: NodeId = NodeId(2);
    const L0: LinkId = LinkId::PRIVATE;
    const L1: LinkId = LinkId::PUBLIC;

    #[test]
    fn window_per_pair() {
        let mut g = ReplayGuard::<8>::new();
        assert_eq!(g.accept(A, L0, 10, 5), Ok(()));
        assert_eq!(g.accept(A, L0, 10, 5), Err(Replayed));
        assert_eq!(g.accept(A, L0, 10, 4), Ok(()), "late but inside the window");
        assert_eq!(g.accept(A, L0, 10, 4), Err(Replayed), "only once");
        assert_eq!(g.accept(A, L0, 9, 100), Err(Replayed));
        assert_eq!(g.accept(A, L0, 10, 6), Ok(()));
        // A new epoch resets the sequence.
        assert_eq!(g.accept(A, L0, 11, 0), Ok(()));
        assert_eq!(g.accept(A, L0, 10, 7), Err(Replayed));
        assert_eq!(g.last(A, L0), Some((11, 0)));
    }

    #[test]
    fn links_and_senders_are_independent() {
        let mut g = ReplayGuard::<8>::new();
        assert_eq!(g.accept(A, L0, 1, 8), Ok(()));
        // The public copy of an earlier round arrives late: still accepted.
        assert_eq!(g.accept(A, L1, 1, 7), Ok(()));
        assert_eq!(g.accept(B, L0, 1, 1), Ok(()));
        assert_eq!(g.accept(A, L1, 1, 7), Err(Replayed));
        assert_eq!(g.len(), 3);
        g.forget(A);
        assert_eq!(g.len(), 1);
        assert_eq!(g.accept(A, L0, 1, 8), Ok(()));
    }

    #[test]
    fn full_table_evicts_least_recently_accepted() {
        let mut g = ReplayGuard::<2>::new();
        g.accept(A, L0, 1, 1).unwrap();
        g.accept(B, L0, 1, 1).unwrap();
        g.accept(A, L0, 1, 2).unwrap(); // A is now the most recent
        g.accept(A, L1, 1, 3).unwrap(); // evicts B
        assert_eq!(g.len(), 2);
        assert_eq!(g.last(B, L0), None);
        assert_eq!(g.last(A, L0), Some((1, 2)));
        assert_eq!(g.last(A, L1), Some((1, 3)));
        // A refused frame does not refresh its entry.
        assert!(g.accept(A, L0, 1, 2).is_err());
        g.accept(A, L1, 1, 4).unwrap();
        g.accept(B, L0, 1, 1).unwrap(); // evicts (A, L0)
        assert_eq!(g.last(A, L0), None);
    }

    #[test]
    fn zero_capacity_accepts_everything() {
        let mut g = ReplayGuard::<0>::new();
        assert!(g.accept(A, L0, 1, 1).is_ok());
        assert!(g.accept(A, L0, 1, 1).is_ok());
        assert!(g.is_empty());
    }

    #[test]
    fn counter_wrap_keeps_eviction_order() {
        let mut g = ReplayGuard::<2>::new();
        g.accept(A, L0, 1, 1).unwrap();
        g.accept(B, L0, 1, 1).unwrap();
        g.clock = u32::MAX - 1;
        g.accept(B, L0, 1, 2).unwrap(); // used = MAX - 1
        g.accept(A, L0, 1, 2).unwrap(); // renumbers, A most recent
        assert!(g.clock < 10);
        g.accept(B, L1, 1, 3).unwrap(); // evicts (B, L0)
        assert_eq!(g.last(B, L0), None);
        assert_eq!(g.last(A, L0), Some((1, 2)));
    }
}
