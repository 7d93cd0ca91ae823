//! How late a heartbeat can be: the grace the adaptive dead time adds to its
//! `k` silent intervals, measured instead of assumed.
//!
//! A verdict falls `k·I + grace` after the latest heartbeat on any link. The
//! next heartbeat after that one comes `Δ·I + e` later, where `Δ` is how many
//! rounds on it is and `e` its lateness relative to the one before: the
//! sender's and the receiver's scheduling, the network's queueing, the skew
//! between links. With no round lost `Δ = 1` and the verdict is far away; a
//! false verdict needs `k − 1` rounds lost on every link *and* then `e` above
//! the grace. So the grace needs to cover how much later than the peer's
//! rhythm one heartbeat can come than another, and that is what this module
//! measures: for every heartbeat that moves the peer forward, its offset
//! `(now − t₀) − Δ·I` from the first arrival `t₀` of its block of 64 (any
//! link, the same epoch; `Δ` signed, so a slower link's copy of an older
//! round counts too), and the *spread*, the range of the offsets over the
//! current and the previous block: every pair up to 64 arrivals apart is
//! compared, so a slow ramp that no two neighbours show is seen. The
//! largest spread over the last 1024 to 2048 arrivals (as the loss
//! estimator's window) is what the grace covers.
//!
//! The grace is twice that largest spread plus a sixteenth of an interval,
//! never under an eighth of an interval and never over half of one (the
//! fixed grace it replaces, used until enough arrivals were seen). The
//! detector uses it only for the peer's verdict at the fewest intervals
//! (clean links; `PeerDetector::peer_grace` says why). On a quiet
//! LAN at 10 ms beats that takes the verdict from 25 ms after the last
//! heartbeat to about 21 ms; one scheduling hiccup of a few milliseconds
//! brings the half interval back for the next window. Each shortcut errs the
//! safe way: the window's largest spread, doubled, against a false verdict that also
//! needs `k − 1` whole rounds lost.

use crate::time::{Duration, Instant};

/// Spreads per window bucket; the window spans one to two buckets.
const BUCKET: u32 = 1024;

/// Arrivals per block: offsets are compared within two adjacent blocks, so
/// every pair of arrivals up to this many apart is covered (with two links,
/// 32 rounds and more), while the clocks' drift over a block stays far
/// below the grace (100 ppm over 64 rounds of 10 ms: 64 µs).
const BLOCK: u32 = 64;

/// Arrivals measured before the grace is shortened: until then it stays at
/// half an interval (the adaptive dead time's `k` needs about 280 clean
/// rounds to reach its floor anyway).
pub(crate) const WARM_UP: u32 = 256;

/// Rounds from the block's first arrival beyond which a new block starts:
/// further apart (an outage, a restarted count) the drift over the gap
/// would read as lateness.
const MAX_ROUNDS_APART: i64 = BLOCK as i64;

/// The spread of the peer's heartbeats' lateness.
#[derive(Debug, Clone)]
pub(crate) struct Lateness {
    /// The arrival offsets are measured from: when, and its round.
    base: Option<(Instant, u32)>,
    /// Lowest and highest offset in the current block and the one before
    /// (µs, relative to `base`), and the current block's arrivals.
    block: (i64, i64),
    prev: Option<(i64, i64)>,
    in_block: u32,
    /// Largest spread in the current and the previous bucket, µs.
    cur_max: u64,
    prev_max: u64,
    /// Spreads measured in the current bucket.
    cur_count: u32,
    /// Arrivals measured since the detector was reset, up to [`WARM_UP`].
    seen: u32,
}

impl Lateness {
    pub(crate) const fn new() -> Self {
        Lateness {
            base: None,
            block: (0, 0),
            prev: None,
            in_block: 0,
            cur_max: 0,
            prev_max: 0,
            cur_count: 0,
            seen: 0,
        }
    }

    /// Starts comparing afresh from the next arrival (a new epoch, a count
    /// restarted, an epoch forgotten, a long gap) but keeps what was
    /// measured.
    pub(crate) fn rebase(&mut self) {
        self.base = None;
        self.prev = None;
    }

    /// A heartbeat of round `beat` that moved the peer forward arrived at
    /// `now`; `interval` is the peer's believed interval.
    pub(crate) fn arrival(&mut self, now: Instant, beat: u32, interval: Duration) {
        let Some((t0, b0)) = self.base else {
            self.start_block(now, beat, None);
            return;
        };
        // Rounds on from the base, signed: a slower link's copy of an older
        // round comes after the newer one and counts as late.
        let apart = i64::from(beat.wrapping_sub(b0) as i32);
        if apart.abs() > MAX_ROUNDS_APART {
            self.start_block(now, beat, None);
            return;
        }
        // |apart| <= 64 and the interval under 2^32 µs (71 minutes; the
        // believed one is within four times the configured one): the
        // product cannot overflow, and 32-bit factors keep the witness's
        // Cortex-M code small.
        let interval = i64::from(u32::try_from(interval.total_micros()).unwrap_or(u32::MAX));
        let elapsed = i64::try_from(now.saturating_since(t0).total_micros()).unwrap_or(i64::MAX);
        let offset = elapsed.saturating_sub(apart * interval);
        self.block = (self.block.0.min(offset), self.block.1.max(offset));
        self.in_block = self.in_block.saturating_add(1);
        let (lo, hi) = match self.prev {
            Some((lo, hi)) => (lo.min(self.block.0), hi.max(self.block.1)),
            None => self.block,
        };
        self.measured(u64::try_from(hi.saturating_sub(lo)).unwrap_or(0));
        if self.in_block >= BLOCK {
            // Offsets from this arrival on: the block's range moves with it.
            let block = (
                self.block.0.saturating_sub(offset),
                self.block.1.saturating_sub(offset),
            );
            self.start_block(now, beat, Some(block));
        }
    }

    fn start_block(&mut self, now: Instant, beat: u32, prev: Option<(i64, i64)>) {
        self.base = Some((now, beat));
        self.block = (0, 0);
        self.prev = prev;
        self.in_block = 1;
    }

    fn measured(&mut self, spread: u64) {
        self.cur_max = self.cur_max.max(spread);
        self.cur_count = self.cur_count.saturating_add(1);
        self.seen = self.seen.saturating_add(1).min(WARM_UP);
        if self.cur_count >= BUCKET {
            self.prev_max = self.cur_max;
            self.cur_max = 0;
            self.cur_count = 0;
        }
    }

    /// The largest spread in the window, µs: how much later than on the
    /// peer's rhythm one heartbeat came than another, up to 64 arrivals
    /// apart.
    pub(crate) fn spread(&self) -> u64 {
        self.cur_max.max(self.prev_max)
    }

    /// The grace for a peer beating every `interval`: twice the window's
    /// spread plus `interval / 16`, within `[interval / 8, interval / 2]`;
    /// half an interval until [`WARM_UP`] arrivals were measured.
    pub(crate) fn grace(&self, interval: Duration) -> Duration {
        let half = interval.saturating_div(2);
        if self.seen < WARM_UP {
            return half;
        }
        let i = interval.total_micros();
        let wanted = self.spread().saturating_mul(2).saturating_add(i / 16);
        Duration::from_micros(wanted.clamp(i / 8, i / 2)).min(half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: Duration = Duration::from_millis(10);

    fn at(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    /// Feeds `n` rounds on two links, the second link `skew` µs behind and
    /// every round `late(round)` µs late; returns the next round number.
    fn feed(l: &mut Lateness, first: u32, n: u32, skew: u64, late: impl Fn(u32) -> u64) -> u32 {
        for b in first..first + n {
            let t = u64::from(b) * 10_000 + late(b);
            l.arrival(at(t), b, I);
            l.arrival(at(t + skew), b, I);
        }
        first + n
    }

    #[test]
    fn half_an_interval_until_warmed_up() {
        let mut l = Lateness::new();
        assert_eq!(l.grace(I), Duration::from_millis(5));
        // 2 · 127 arrivals, the first only a base: 253 measured.
        feed(&mut l, 1, WARM_UP / 2 - 1, 0, |_| 0);
        assert_eq!(l.grace(I), Duration::from_millis(5));
        feed(&mut l, WARM_UP / 2, 2, 0, |_| 0);
        // Punctual beats: the floor, an eighth of an interval.
        assert_eq!(l.spread(), 0);
        assert_eq!(l.grace(I), Duration::from_micros(1250));
    }

    #[test]
    fn the_grace_covers_twice_the_spread_including_a_slow_ramp() {
        let mut l = Lateness::new();
        // Each round 100 µs later than the one before, for five rounds, and
        // the second link 100 µs behind: one arrival to the next is never
        // more than 100 µs late, but a round after four lost ones is 400 µs
        // late against the last one heard, and the second link's copy 500.
        let next = feed(&mut l, 1, 300, 100, |b| u64::from(b % 5) * 100);
        assert_eq!(l.spread(), 500);
        assert_eq!(l.grace(I), Duration::from_micros(2 * 500 + 625));
        // One hiccup of 3 ms: back to half an interval...
        let t = u64::from(next) * 10_000 + 3_000;
        l.arrival(at(t), next, I);
        assert_eq!(l.grace(I), Duration::from_millis(5));
        // ...for the rest of its bucket (599 + 1 + 400 < 1024 spreads)...
        let next = feed(&mut l, next + 1, 200, 0, |_| 0);
        assert_eq!(l.grace(I), Duration::from_millis(5));
        // ...and all of the next: once both buckets are punctual, the floor.
        feed(&mut l, next, 600, 0, |_| 0);
        assert_eq!(l.grace(I), Duration::from_micros(1250));
    }

    #[test]
    fn lost_rounds_and_an_older_round_on_a_slower_link_are_measured_right() {
        let mut l = Lateness::new();
        l.arrival(at(10_000), 1, I);
        // Rounds 2 to 4 lost, round 5 on time: not late.
        l.arrival(at(50_000), 5, I);
        assert_eq!(l.spread(), 0);
        // Round 4's copy on the other link comes 200 µs after round 5:
        // 10.2 ms late against it.
        l.arrival(at(50_200), 4, I);
        assert_eq!(l.spread(), 10_200);
    }

    #[test]
    fn gaps_and_a_new_epoch_are_not_lateness() {
        let mut l = Lateness::new();
        l.arrival(at(0), 1, I);
        // An outage: 100 rounds later, and late by the drift of the clocks.
        l.arrival(at(1_003_000), 101, I);
        assert_eq!(l.spread(), 0);
        l.arrival(at(1_013_000), 102, I);
        assert_eq!(l.spread(), 0);
        l.rebase();
        // The peer restarted at round 0 a while later.
        l.arrival(at(5_000_000), 0, I);
        assert_eq!(l.spread(), 0);
        // Garbage: time standing still, round numbers anywhere.
        for b in [u32::MAX, 0, 1 << 31, 7, 1 << 31] {
            l.arrival(at(5_000_000), b, I);
        }
        l.arrival(at(u64::MAX), 8, Duration::MAX);
        assert!(l.grace(I) <= Duration::from_millis(5));
        assert!(l.grace(Duration::MAX) <= Duration::MAX.saturating_div(2));
        assert_eq!(l.grace(Duration::ZERO), Duration::ZERO);
    }
}
