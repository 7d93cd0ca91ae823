//! How many log lines a daemon may write: a token bucket, so a burst of
//! lines passes whole but a stream that never ends (a cable flapping a
//! hundred times a second, a flood that keeps some condition toggling)
//! cannot fill the disk, drown syslog or eat the CPU the heartbeats need.
//!
//! The bucket holds [`BURST`] lines and refills at [`PER_SECOND`]: far
//! above what a daemon logs in any normal hour (a failover with its scripts
//! is a few dozen lines), so in practice only a storm is cut. Critical
//! lines (the service is down or unprotected) always pass, and need no
//! token. Lines refused are counted; the next line that passes is preceded
//! by how many were left out.

// CLOCK_MONOTONIC: this paces a log, it decides nothing (daemon::clock).
use std::time::{Duration, Instant};

/// Lines that may pass at once, after a quiet time.
pub const BURST: u32 = 300;
/// Lines that may pass per second, on average, in a storm.
pub const PER_SECOND: u32 = 30;

/// The state of the bucket.
#[derive(Debug)]
pub struct LogBudget {
    /// Tokens left, in thousandths of a line (so a refill of a fraction of
    /// a line is not lost between two calls).
    millis: u64,
    /// When `millis` was last refilled.
    at: Option<Instant>,
    /// Lines refused since the last one that passed.
    refused: u64,
}

/// What the caller should do with one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write it.
    Pass,
    /// Write it, after a line saying that this many were left out.
    PassAfterRefusing(u64),
    /// Leave it out (it is counted).
    Refuse,
}

impl Default for LogBudget {
    fn default() -> Self {
        LogBudget::new()
    }
}

impl LogBudget {
    /// A full bucket.
    pub const fn new() -> LogBudget {
        LogBudget {
            millis: BURST as u64 * 1000,
            at: None,
            refused: 0,
        }
    }

    /// Whether a line may be written at `now`; `critical` lines always may.
    pub fn take(&mut self, now: Instant, critical: bool) -> Verdict {
        let elapsed = self
            .at
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
        self.at = Some(now);
        let refill = u64::try_from(elapsed.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(u64::from(PER_SECOND));
        self.millis = self
            .millis
            .saturating_add(refill)
            .min(u64::from(BURST) * 1000);
        if self.millis >= 1000 {
            self.millis -= 1000;
        } else if !critical {
            self.refused = self.refused.saturating_add(1);
            return Verdict::Refuse;
        }
        match std::mem::take(&mut self.refused) {
            0 => Verdict::Pass,
            n => Verdict::PassAfterRefusing(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_and_the_count_of_lines_left_out() {
        let t0 = Instant::now();
        let mut b = LogBudget::new();
        for i in 0..BURST {
            assert_eq!(b.take(t0, false), Verdict::Pass, "line {i}");
        }
        assert_eq!(b.take(t0, false), Verdict::Refuse);
        assert_eq!(b.take(t0, false), Verdict::Refuse);
        // Critical lines need no token and report what was left out.
        assert_eq!(b.take(t0, true), Verdict::PassAfterRefusing(2));
        assert_eq!(b.take(t0, false), Verdict::Refuse);
        // A thirtieth of a second later: one token.
        let t1 = t0 + Duration::from_millis(1000 / u64::from(PER_SECOND) + 1);
        assert_eq!(b.take(t1, false), Verdict::PassAfterRefusing(1));
        assert_eq!(b.take(t1, false), Verdict::Refuse);
        // A storm of ten seconds passes about PER_SECOND lines a second.
        let mut passed = 0;
        for ms in 0..10_000u64 {
            let t = t1 + Duration::from_millis(ms);
            for _ in 0..10 {
                if b.take(t, false) != Verdict::Refuse {
                    passed += 1;
                }
            }
        }
        assert!(
            (10 * PER_SECOND - 2..=10 * PER_SECOND + 2).contains(&passed),
            "{passed}"
        );
        // After a quiet time the whole burst is back, and no more.
        let later = t1 + Duration::from_secs(3600);
        let burst = (0..2 * BURST)
            .filter(|_| b.take(later, false) != Verdict::Refuse)
            .count();
        assert_eq!(burst, BURST as usize);
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut b = LogBudget::new();
        for _ in 0..BURST {
            b.take(t0, false);
        }
        assert_eq!(b.take(t0 - Duration::from_secs(5), false), Verdict::Refuse);
    }
}
