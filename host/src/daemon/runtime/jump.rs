//! Noticing, between two turns of the loop, that the clock jumped: the
//! system was suspended, or this process was stopped or starved for longer
//! than its peers allow. The machine decides what follows (its stall rule,
//! docs/protocol.md); this only lets the loop say so in the log, in words
//! an administrator reads as the cause of what the machine does next, and
//! count it for `--status` and the metrics.

use failover_core::{Duration, Instant};

use crate::daemon::status::snapshot::Stalls;

/// The time of the loop's last turn, and how long a gap counts as a jump.
#[derive(Debug)]
pub(super) struct JumpWatch {
    /// When the previous turn started (none before the first).
    last: Option<Instant>,
    /// The core's stall limit for this daemon's interval: two intervals
    /// (`machine::stall_limit`, which the core keeps to itself). The
    /// machine measures from its own last input, which is never later than
    /// the loop's last turn, so every jump logged here is a stall the
    /// machine saw too.
    limit: Duration,
    /// The jumps seen since start, for `--status` and the metrics.
    seen: Stalls,
}

impl JumpWatch {
    /// A watch for a daemon beating every `interval`.
    pub(super) fn new(interval: Duration) -> Self {
        JumpWatch {
            last: None,
            limit: interval.saturating_mul(2),
            seen: Stalls::default(),
        }
    }

    /// The jumps seen since start: how many, the longest.
    pub(super) fn seen(&self) -> Stalls {
        self.seen
    }

    /// A turn starts at `now`: returns how far the clock jumped since the
    /// previous turn, if further than the stall limit.
    pub(super) fn turn(&mut self, now: Instant) -> Option<Duration> {
        let gap = self.last.map(|t| now.saturating_since(t));
        self.last = Some(now);
        let jump = gap.filter(|g| *g > self.limit)?;
        self.seen.count = self.seen.count.saturating_add(1);
        self.seen.longest = Some(self.seen.longest.map_or(jump, |l| l.max(jump)));
        Some(jump)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gap_over_two_intervals_is_a_jump() {
        let mut w = JumpWatch::new(Duration::from_millis(100));
        assert_eq!(w.turn(Instant::from_millis(5_000)), None, "the first turn");
        assert_eq!(w.turn(Instant::from_millis(5_200)), None, "exactly two");
        assert_eq!(
            w.turn(Instant::from_millis(5_401)),
            Some(Duration::from_millis(201))
        );
        assert_eq!(w.turn(Instant::from_millis(5_450)), None);
        assert_eq!(
            w.turn(Instant::from_millis(5_750)),
            Some(Duration::from_millis(300))
        );
        assert_eq!(w.turn(Instant::from_millis(5_950)), None);
        assert_eq!(
            w.seen(),
            Stalls {
                count: 2,
                longest: Some(Duration::from_millis(300))
            },
            "counted, with the longest"
        );
    }
}
