//! Per-link loss measurement from heartbeat-number gaps, deliberately
//! pessimistic. See `docs/detector.md` for the reasoning and the numbers.
//!
//! Two estimators run side by side and the larger one is used:
//!
//! * **slow**: counts of expected and lost beats over the last 1024 to 2048
//!   rounds (two buckets of [`BUCKET`] rounds; when the current one fills, it
//!   replaces the previous one). Its value is not the observed ratio but the
//!   upper end of a Wilson score interval at `z = 3`: with `n` rounds seen and
//!   no loss it is `9 / (n + 9)`, and with no data at all it is 1. That is
//!   the conservative prior: a link earns trust beat by beat.
//! * **fast**: an exponentially weighted average of the loss indicator with
//!   weight 1/32, starting at 0 (the slow bound already carries the prior).
//!   It reacts within tens of rounds when loss starts, long before the slow
//!   window notices; its noise only ever raises the maximum, never lowers
//!   it.
//!
//! A single gap counts at most [`GAP_CAP`] lost rounds: silence much longer
//! than any dead time is an outage (the link is reported silent and the
//! detector stops counting on it), not evidence about random loss, and it
//! must not make the link read as 100 % lossy for the next half hour.
//!
//! Everything is integer fixed point (Q24) except the Wilson bound, which is
//! recomputed in `f64` only every [`REFRESH_EVERY`] received rounds, after a
//! long gap, when a bucket changes, and on every round while warming up. In
//! between, the cached bound is raised per lost round by a bound on its slope
//! (about `1.1 / n` at 30 % loss, see [`wilson`]), which is at least what the
//! true bound can rise by, and the estimate in force only
//! changes when a loss makes it rise: clean rounds leave it where it was,
//! and a fall is passed on only once it amounts to 1/32 of the estimate.
//! Every shortcut therefore errs on the safe side, and a clean round costs a
//! few integer operations.

use super::dead_time::sqrt_upper;

/// Fixed-point one: probabilities are stored as `p * 2^24`.
pub(crate) const ONE: u32 = 1 << 24;
/// The most lost rounds a single gap counts (see the module doc).
pub(crate) const GAP_CAP: u32 = 64;
/// Rounds per window bucket; the window spans one to two buckets.
pub(crate) const BUCKET: u32 = 1024;
/// The fast average's weight is `2^-FAST_SHIFT`.
const FAST_SHIFT: u32 = 5;
/// Received rounds after which the estimate is recomputed anyway; a gap of
/// this many lost rounds or more also recomputes it at once. Between
/// refreshes the lazy raise adds at most a few times `2/(n + 9)`: under one
/// percentage point at 30 % loss.
const REFRESH_EVERY: u8 = 8;
/// Falls of the estimate smaller than `2^-HYSTERESIS_SHIFT` of it are not
/// passed on (rises always are).
const HYSTERESIS_SHIFT: u32 = 5;
/// Width of the confidence interval, in standard deviations (one-sided
/// 99.87 %).
const Z: f64 = 3.0;

/// `DECAY[g] = (1 - 2^-FAST_SHIFT)^g` in Q24: what is left of the fast
/// average's distance to 1 after `g` losses.
const DECAY: [u32; GAP_CAP as usize + 1] = decay_table();

// Evaluated at compile time only: an out-of-range index would be a build
// error, not a run-time panic.
#[allow(clippy::indexing_slicing)]
const fn decay_table() -> [u32; GAP_CAP as usize + 1] {
    let mut table = [0u32; GAP_CAP as usize + 1];
    let mut keep = ONE;
    let mut g = 0;
    while g <= GAP_CAP as usize {
        table[g] = keep;
        keep -= keep >> FAST_SHIFT;
        g += 1;
    }
    table
}

/// One link's loss statistics.
#[derive(Debug, Clone)]
pub(crate) struct LossEstimator {
    cur_sent: u32,
    cur_lost: u32,
    prev_sent: u32,
    prev_lost: u32,
    /// Fast average, Q24.
    fast: u32,
    /// Cached Wilson upper bound over the window, Q24 (raised on losses
    /// between refreshes).
    slow: u32,
    /// What one lost round may add to the Wilson bound until the next
    /// refresh, Q24 (see [`wilson`]).
    slow_step: u32,
    /// The estimate in force: at least `max(fast, slow)`, Q24.
    bound: u32,
    /// Received rounds since `slow` was computed.
    stale: u8,
}

impl LossEstimator {
    /// Nothing seen: loss is assumed total until beats say otherwise.
    pub(crate) const fn new() -> Self {
        LossEstimator {
            cur_sent: 0,
            cur_lost: 0,
            prev_sent: 0,
            prev_lost: 0,
            fast: 0,
            slow: ONE,
            slow_step: ONE,
            bound: ONE,
            stale: 0,
        }
    }

    /// Only the counts, for [`observed_ppm`](Self::observed_ppm) (Fixed
    /// mode needs no estimate). Whether a bucket changed.
    pub(crate) fn count(&mut self, lost: u32) -> bool {
        let lost = lost.min(GAP_CAP);
        self.cur_sent = self.cur_sent.saturating_add(lost + 1);
        self.cur_lost = self.cur_lost.saturating_add(lost);
        if self.cur_sent >= BUCKET {
            self.prev_sent = self.cur_sent;
            self.prev_lost = self.cur_lost;
            self.cur_sent = 0;
            self.cur_lost = 0;
            return true;
        }
        false
    }

    /// One round arrived after `lost` rounds that did not (capped here at
    /// [`GAP_CAP`]). Returns the estimate in force, Q24.
    pub(crate) fn record(&mut self, lost: u32) -> u32 {
        let lost = lost.min(GAP_CAP);
        let rotated = self.count(lost);
        let mut refresh =
            rotated || self.stale >= REFRESH_EVERY || lost >= u32::from(REFRESH_EVERY);
        let (lost_total, sent_total) = self.window();
        // Warming up, every round moves the bound a lot: keep it current.
        refresh |= sent_total < BUCKET;

        if lost > 0 {
            let keep = DECAY.get(lost as usize).copied().unwrap_or(0);
            let distance = (u64::from(ONE - self.fast.min(ONE)) * u64::from(keep)) >> 24;
            self.fast = ONE - distance as u32;
        }
        self.fast -= self.fast >> FAST_SHIFT;

        if refresh {
            (self.slow, self.slow_step) = wilson(lost_total, sent_total);
            self.stale = 0;
            let fresh = self.fast.max(self.slow);
            // Rises are taken at once; falls only once they amount to
            // 1/32 of the estimate, so that a clean link's slowly sinking
            // bound does not recompute the dead times every refresh.
            if fresh > self.bound || fresh < self.bound - (self.bound >> HYSTERESIS_SHIFT) {
                self.bound = fresh;
            }
        } else {
            self.stale += 1;
            if lost > 0 {
                self.slow = self.slow.saturating_add(lost * self.slow_step).min(ONE);
                self.bound = self.bound.max(self.fast).max(self.slow);
            }
        }
        self.bound
    }

    /// The estimate in force, Q24.
    #[cfg(test)]
    fn bound(&self) -> u32 {
        self.bound
    }

    /// The Wilson bound over the window as it stands (Fixed mode reports
    /// it on demand), Q24.
    pub(crate) fn wilson_now(&self) -> u32 {
        let (lost, sent) = self.window();
        wilson_upper(lost, sent)
    }

    /// The observed loss over the window (no pessimism), parts per million.
    pub(crate) fn observed_ppm(&self) -> u32 {
        let (lost, sent) = self.window();
        if sent == 0 {
            return 0;
        }
        let ppm = u64::from(lost) * 1_000_000 / u64::from(sent);
        u32::try_from(ppm).unwrap_or(1_000_000)
    }

    /// (lost, expected) over the whole window.
    fn window(&self) -> (u32, u32) {
        (
            self.prev_lost.saturating_add(self.cur_lost),
            self.prev_sent.saturating_add(self.cur_sent),
        )
    }
}

/// The upper end of the Wilson score interval for `lost` out of `sent`, in
/// Q24, rounded up:
/// `U = (L + z²/2 + z·S) / (n + z²)` with `S = sqrt(L(n−L)/n + z²/4)`.
fn wilson_upper(lost: u32, sent: u32) -> u32 {
    wilson(lost, sent).0
}

/// [`wilson_upper`], and an upper bound on how much each lost round can
/// raise it until the next refresh (both Q24, rounded up).
///
/// The slope of `U` in `L` is `(1 + z(n−2L)/(2n·S)) / (n + z²)`; adding
/// rounds (with or without loss) never lowers `S` while `L <= n/2`, and
/// adding a round without loss never raises `U`. So while `L` stays at most
/// `n/2` (checked with the most the loss count can grow before the next
/// refresh: [`REFRESH_EVERY`] rounds with gaps below [`REFRESH_EVERY`]) the
/// slope stays below `(1 + z/(2S)) / (n + z²)` with `S` and `n` taken now;
/// otherwise `S >= z/2` still bounds it by `2 / (n + z²)`.
fn wilson(lost: u32, sent: u32) -> (u32, u32) {
    let n = f64::from(sent);
    let l = f64::from(lost.min(sent));
    let spread = if sent > 0 { l * (n - l) / n } else { 0.0 };
    let z2 = Z * Z;
    let s = sqrt_upper(spread + z2 / 4.0);
    let upper = (l + z2 / 2.0 + Z * s) / (n + z2);
    let growth = u64::from(REFRESH_EVERY) * u64::from(REFRESH_EVERY);
    let stays_below_half = 2 * (u64::from(lost) + growth) <= u64::from(sent);
    // `s` may exceed the root by an ulp or so: shave it before dividing.
    let slope = if stays_below_half && s > 0.0 {
        (1.0 + Z / (2.0 * s * (1.0 - 1e-9))) / (n + z2)
    } else {
        2.0 / (n + z2)
    };
    (to_q24_up(upper), to_q24_up(slope))
}

/// A probability to Q24, rounded up; anything not below one (or NaN) is one.
pub(crate) fn to_q24_up(p: f64) -> u32 {
    if p.is_nan() || p >= 1.0 {
        return ONE;
    }
    if p <= 0.0 {
        return 0;
    }
    // In range: 0 < p * 2^24 < 2^24, the cast cannot saturate.
    ((p * f64::from(ONE)) as u32).saturating_add(1).min(ONE)
}

/// A Q24 probability as `f64`.
pub(crate) fn from_q24(p: u32) -> f64 {
    f64::from(p) / f64::from(ONE)
}

/// A Q24 probability in parts per million, rounded up.
pub(crate) fn q24_to_ppm(p: u32) -> u32 {
    let ppm = (u64::from(p) * 1_000_000).div_ceil(u64::from(ONE));
    u32::try_from(ppm).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_table_is_monotone_and_ends_small() {
        assert_eq!(DECAY[0], ONE);
        assert!(DECAY.windows(2).all(|w| w[1] < w[0]));
        // (31/32)^64 = 0.131
        let last = from_q24(DECAY[GAP_CAP as usize]);
        assert!((last - 0.131).abs() < 0.002, "{last}");
    }

    #[test]
    fn nothing_seen_means_total_loss() {
        let e = LossEstimator::new();
        assert_eq!(e.bound(), ONE);
        assert_eq!(e.observed_ppm(), 0);
        assert_eq!(wilson_upper(0, 0), ONE);
    }

    #[test]
    fn clean_link_earns_trust_as_wilson_says() {
        let mut e = LossEstimator::new();
        for _ in 0..300 {
            e.record(0);
        }
        // 9 / 309 = 0.0291, or up to 1/32 above while a fall is held back.
        let p = from_q24(e.bound());
        assert!(
            (9.0 / 309.0..=9.0 / 309.0 * (1.0 + 1.0 / 31.0)).contains(&p),
            "{p}"
        );
        for _ in 0..5000 {
            e.record(0);
        }
        // The window holds 1024..2048 rounds: 9/(1024+9) at worst (plus the
        // held-back fall).
        let p = from_q24(e.bound());
        assert!(
            (9.0 / 2057.0 - 1e-6..=9.0 / 1033.0 * (1.0 + 1.0 / 31.0)).contains(&p),
            "{p}"
        );
        assert_eq!(e.observed_ppm(), 0);
    }

    #[test]
    fn bound_is_above_the_observed_ratio() {
        let mut e = LossEstimator::new();
        // Exactly one round in three lost, forever.
        for _ in 0..10_000 {
            e.record(1);
            e.record(0);
        }
        let observed = e.observed_ppm();
        assert!((333_000..=334_000).contains(&observed), "{observed}");
        let p = from_q24(e.bound());
        assert!(p > 1.0 / 3.0 + 0.02 && p < 1.0 / 3.0 + 0.06, "{p}");
    }

    #[test]
    fn a_huge_gap_counts_as_gap_cap() {
        let mut e = LossEstimator::new();
        for _ in 0..3000 {
            e.record(0);
        }
        e.record(u32::MAX);
        let (lost, _) = e.window();
        assert_eq!(lost, GAP_CAP);
        // Right after the outage the fast average distrusts the link...
        assert!(from_q24(e.bound()) > 0.8);
        // ...and forgives it within a few hundred clean rounds.
        for _ in 0..300 {
            e.record(0);
        }
        assert!(from_q24(e.bound()) < 0.1, "{}", from_q24(e.bound()));
    }

    #[test]
    fn fast_average_reacts_to_onset() {
        let mut e = LossEstimator::new();
        for _ in 0..5000 {
            e.record(0);
        }
        let before = e.bound();
        // 30 % loss starts: a loss every ~3 rounds.
        for _ in 0..20 {
            e.record(1);
            e.record(0);
            e.record(0);
        }
        let after = from_q24(e.bound());
        assert!(from_q24(before) < 0.01 && after > 0.2, "{after}");
    }

    #[test]
    fn wilson_step_bounds_the_true_rise() {
        let mut x = 0x9e37_79b9u32;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for n in (0..3000u32).step_by(7) {
            for l in (0..=n).step_by(13) {
                let (here, step) = wilson(l, n);
                // One more round without loss never raises it.
                assert!(wilson_upper(l, n + 1) <= here + 1, "n={n} l={l}");
                // Any run of up to REFRESH_EVERY rounds, each after a gap
                // below REFRESH_EVERY, raises it by at most step per loss.
                let (mut ll, mut nn, mut total) = (l, n, 0);
                for _ in 0..REFRESH_EVERY {
                    let g = next() % u32::from(REFRESH_EVERY);
                    ll += g;
                    nn += g + 1;
                    total += g;
                    let now = wilson_upper(ll, nn);
                    assert!(
                        now <= (here + total * step + 1).min(ONE),
                        "n={n} l={l} ll={ll} nn={nn}"
                    );
                }
            }
        }
    }

    #[test]
    fn lazy_bound_is_never_below_the_fresh_one() {
        let mut e = LossEstimator::new();
        let mut x = 12345u32;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let lost = if x % 10 < 3 { 1 + x % 3 } else { 0 };
            let bound = e.record(lost);
            let (l, n) = e.window();
            assert!(bound >= wilson_upper(l, n).max(e.fast));
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(to_q24_up(f64::NAN), ONE);
        assert_eq!(to_q24_up(2.0), ONE);
        assert_eq!(to_q24_up(-1.0), 0);
        assert_eq!(to_q24_up(0.5), ONE / 2 + 1);
        assert_eq!(q24_to_ppm(ONE), 1_000_000);
        assert_eq!(q24_to_ppm(0), 0);
    }
}
