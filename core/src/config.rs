//! Checks on the machines' configurations, and the timing rules that tie the
//! three nodes' settings together. The daemons' `-n` and the firmware's
//! build-time check both report these, so an administrator hears about an
//! unsafe combination before it can bite.

use core::fmt;

use crate::detector::DeadTime;
use crate::node::MAX_LINKS;
use crate::primary::PrimaryConfig;
use crate::secondary::{SecondaryConfig, WitnessPolicy};
use crate::time::Duration;
use crate::witness::WitnessConfig;

/// The most problems one check reports.
pub const MAX_PROBLEMS: usize = 8;

/// Every problem one check found (the daemons report them all, not just the
/// first).
pub type Problems = heapless::Vec<ConfigError, MAX_PROBLEMS>;

/// A configuration the machines would run with, but not safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// A heartbeat interval of zero.
    ZeroInterval,
    /// Not between 1 and [`MAX_LINKS`] links.
    Links(u8),
    /// A fixed dead time shorter than two intervals: a node that is merely
    /// slow would be declared dead, and the stall rule (a node unscheduled
    /// for two intervals drops its addresses) would no longer protect the
    /// failback.
    DeadTimeTooShort {
        /// The configured dead time.
        dead_time: Duration,
        /// The interval it is measured in.
        interval: Duration,
    },
    /// The primary's isolation fence must end before the witness can grant:
    /// the witness's dead time must exceed the fence by more than one
    /// interval (a primary that runs late) plus the network delay
    /// allowance.
    FenceTooLate {
        /// The primary's isolation fence.
        fence: Duration,
        /// The witness's dead time.
        witness_dead_time: Duration,
        /// The primary's interval.
        interval: Duration,
    },
    /// A witness policy other than "off" without a witness to ask.
    NoWitness,
    /// A lease shorter than three request timeouts cannot be renewed in
    /// time.
    LeaseTooShort {
        /// The lease.
        lease: Duration,
        /// The secondary's request timeout.
        request_timeout: Duration,
    },
    /// The secondary's Apple compatibility with something Apple's
    /// heartbeat cannot support.
    AppleCompat(AppleConflict),
}

/// What the secondary's Apple compatibility
/// ([`SecondaryConfig::apple_compat`]) cannot be combined with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppleConflict {
    /// A witness: Apple's primary has no isolation fence and answers no
    /// witness.
    Witness,
    /// Authentication keys: Apple's heartbeat carries no tag.
    Keys,
    /// An adaptive dead time: Apple's heartbeat carries no round number, so
    /// loss cannot be measured.
    AdaptiveDeadTime,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroInterval => write!(f, "the heartbeat interval must be above zero"),
            ConfigError::Links(n) => {
                write!(f, "{n} links configured; between 1 and {MAX_LINKS} are supported")
            }
            ConfigError::DeadTimeTooShort { dead_time, interval } => write!(
                f,
                "dead time {dead_time} is shorter than two heartbeat intervals ({interval} each)"
            ),
            ConfigError::FenceTooLate {
                fence,
                witness_dead_time,
                interval,
            } => write!(
                f,
                "the witness dead time ({witness_dead_time}) must exceed the primary's isolation fence ({fence}) by more than one interval ({interval}) plus the network delay allowance ({})",
                DELAY_ALLOWANCE
            ),
            ConfigError::NoWitness => {
                write!(f, "a witness policy is set but no witness is configured")
            }
            ConfigError::LeaseTooShort {
                lease,
                request_timeout,
            } => write!(
                f,
                "the witness lease ({lease}) must be at least three request timeouts ({request_timeout} each)"
            ),
            ConfigError::AppleCompat(AppleConflict::Witness) => write!(
                f,
                "Apple compatibility cannot use a witness: Apple's primary has no isolation fence"
            ),
            ConfigError::AppleCompat(AppleConflict::Keys) => write!(
                f,
                "Apple compatibility cannot use keys: Apple's heartbeats are not authenticated"
            ),
            ConfigError::AppleCompat(AppleConflict::AdaptiveDeadTime) => write!(
                f,
                "Apple compatibility needs a fixed dead time: Apple's heartbeats carry no round number to measure loss by"
            ),
        }
    }
}

/// So that a host can return a refused configuration (from `try_new` or a
/// check) through its own error types.
impl core::error::Error for ConfigError {}

/// The network delay the timing rules allow for on the private link.
pub const DELAY_ALLOWANCE: Duration = Duration::from_millis(1);

/// Settings that keep the three nodes consistent, derived from the
/// heartbeat interval. The primary lets go after four silent intervals
/// (three frames an interval, all lost for four intervals at 30 % loss, is a
/// 5e-7 event); the witness waits five and two delay allowances, the least
/// [`check_fence`] allows; a grant lasts twenty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The heartbeat interval of every node.
    pub interval: Duration,
    /// The primary's isolation fence.
    pub isolation_fence: Duration,
    /// The witness's (minimum) dead time for the primary.
    pub witness_dead_time: Duration,
    /// How long a grant lasts unless renewed.
    pub lease: Duration,
}

impl Timing {
    /// The recommended settings for `interval`.
    #[must_use]
    pub const fn recommended(interval: Duration) -> Timing {
        Timing {
            interval,
            isolation_fence: interval.saturating_mul(4),
            witness_dead_time: interval
                .saturating_mul(5)
                .saturating_add(DELAY_ALLOWANCE.saturating_mul(2)),
            lease: interval.saturating_mul(20),
        }
    }
}

fn push(problems: &mut Problems, e: ConfigError) {
    // MAX_PROBLEMS exceeds what any one check can find.
    let _ = problems.push(e);
}

fn check_common(problems: &mut Problems, interval: Duration, links: u8, dead_time: DeadTime) {
    if interval == Duration::ZERO {
        push(problems, ConfigError::ZeroInterval);
    }
    if links == 0 || usize::from(links) > MAX_LINKS {
        push(problems, ConfigError::Links(links));
    }
    if let DeadTime::Fixed(d) = dead_time {
        if d < interval.saturating_mul(2) {
            push(
                problems,
                ConfigError::DeadTimeTooShort {
                    dead_time: d,
                    interval,
                },
            );
        }
    }
}

/// Checks that a primary's isolation `fence` ends before a witness with
/// `witness_dead_time` can grant. The fence counts from the primary's last
/// round trip, which the witness or the secondary heard: a round trip
/// through the witness is no later than its last frame from the primary,
/// and one through the secondary is covered by the secondary's own count
/// (it acquires no sooner than this dead time after it last heard the
/// primary). On top of the fence: one interval for a primary that runs
/// late when its fence expires (its addresses answer ARP until its daemon
/// runs and removes them), and the network delay.
#[must_use]
pub fn check_fence(
    fence: Duration,
    witness_dead_time: Duration,
    interval: Duration,
) -> Option<ConfigError> {
    let needed = fence
        .saturating_add(interval)
        .saturating_add(DELAY_ALLOWANCE);
    (witness_dead_time <= needed).then_some(ConfigError::FenceTooLate {
        fence,
        witness_dead_time,
        interval,
    })
}

impl PrimaryConfig {
    /// Every problem with this configuration: what
    /// [`Primary::try_new`](crate::Primary::try_new) refuses.
    #[must_use]
    pub fn problems(&self) -> Problems {
        let mut problems = Problems::new();
        check_common(
            &mut problems,
            self.interval,
            self.links,
            self.secondary_dead_time,
        );
        problems
    }
}

/// A peer's expected interval of zero: the detector would have nothing to
/// scale its dead time to.
fn check_peer_interval(problems: &mut Problems, interval: Duration) {
    if interval == Duration::ZERO {
        push(problems, ConfigError::ZeroInterval);
    }
}

impl SecondaryConfig {
    /// Every problem with this configuration: what
    /// [`Secondary::try_new`](crate::Secondary::try_new) refuses.
    #[must_use]
    pub fn problems(&self) -> Problems {
        let mut problems = Problems::new();
        check_common(&mut problems, self.interval, self.links, self.dead_time);
        check_peer_interval(&mut problems, self.primary_interval);
        if self.witness != WitnessPolicy::Off && self.witness_node.is_none() {
            push(&mut problems, ConfigError::NoWitness);
        }
        if self.apple_compat {
            if self.witness != WitnessPolicy::Off || self.witness_node.is_some() {
                push(
                    &mut problems,
                    ConfigError::AppleCompat(AppleConflict::Witness),
                );
            }
            if self.keys.is_some() {
                push(&mut problems, ConfigError::AppleCompat(AppleConflict::Keys));
            }
            if matches!(self.dead_time, DeadTime::Adaptive(_)) {
                push(
                    &mut problems,
                    ConfigError::AppleCompat(AppleConflict::AdaptiveDeadTime),
                );
            }
        }
        problems
    }
}

impl WitnessConfig {
    /// The problems this configuration has on its own, without the
    /// servers' settings: what [`Witness::try_new`](crate::Witness::try_new)
    /// refuses.
    #[must_use]
    pub fn own_problems(&self) -> Problems {
        let mut problems = Problems::new();
        check_common(&mut problems, self.interval, 1, self.dead_time);
        check_peer_interval(&mut problems, self.primary_interval);
        problems
    }

    /// Every problem with this configuration, given the secondary's request
    /// timeout and the primary's isolation fence and interval: its
    /// [`own_problems`](WitnessConfig::own_problems), and whether its dead
    /// time and lease fit the servers' timing.
    #[must_use]
    pub fn problems(
        &self,
        request_timeout: Duration,
        primary_fence: Duration,
        primary_interval: Duration,
    ) -> Problems {
        let mut problems = self.own_problems();
        let dead = match self.dead_time {
            DeadTime::Fixed(d) => d,
            // The adaptive detector never waits less than its minimum.
            DeadTime::Adaptive(a) => primary_interval
                .saturating_mul(u64::from(a.min_intervals))
                .saturating_add(primary_interval.saturating_div(2)),
        };
        if let Some(e) = check_fence(primary_fence, dead, primary_interval) {
            push(&mut problems, e);
        }
        if self.lease < request_timeout.saturating_mul(3) {
            push(
                &mut problems,
                ConfigError::LeaseTooShort {
                    lease: self.lease,
                    request_timeout,
                },
            );
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::NodeId;
    use std::string::ToString;

    #[test]
    fn recommended_timing_passes_its_own_rule() {
        for ms in [1, 5, 10, 1000] {
            let t = Timing::recommended(Duration::from_millis(ms));
            assert_eq!(
                check_fence(t.isolation_fence, t.witness_dead_time, t.interval),
                None,
                "{ms} ms"
            );
        }
    }

    #[test]
    fn a_fence_too_close_to_the_witness_dead_time_is_refused() {
        let i = Duration::from_millis(10);
        let e = check_fence(i.saturating_mul(4), i.saturating_mul(5), i).expect("refused");
        assert!(e.to_string().contains("isolation fence (40 ms)"), "{e}");
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let mut c = SecondaryConfig::new(NodeId(2), 1, 0, Duration::from_millis(10));
        c.dead_time = DeadTime::Fixed(Duration::from_millis(15));
        c.witness = WitnessPolicy::Required;
        let p = c.problems();
        assert!(p.contains(&ConfigError::Links(0)));
        assert!(p
            .iter()
            .any(|e| matches!(e, ConfigError::DeadTimeTooShort { .. })));
        assert!(p.contains(&ConfigError::NoWitness));
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn the_machines_refuse_what_the_checks_find_and_nothing_else() {
        use crate::{Instant, Primary, Secondary, Witness};
        let i = Duration::from_millis(10);
        let now = Instant::ZERO;
        let p = |links| Primary::try_new(PrimaryConfig::new(NodeId(1), 1, links, i), now).err();
        assert_eq!(p(0), Some(ConfigError::Links(0)));
        assert_eq!(p(5), Some(ConfigError::Links(5)));
        assert_eq!(p(4), None);
        let mut s = SecondaryConfig::new(NodeId(2), 1, 2, i);
        s.primary_interval = Duration::ZERO;
        assert_eq!(
            Secondary::try_new(s, now).err(),
            Some(ConfigError::ZeroInterval)
        );
        let mut s = SecondaryConfig::new(NodeId(2), 1, 2, i);
        s.witness = WitnessPolicy::Required;
        assert_eq!(
            Secondary::try_new(s, now).err(),
            Some(ConfigError::NoWitness)
        );
        let mut w = WitnessConfig::new(NodeId(3), 1, i);
        let mut zero = w.clone();
        zero.primary_interval = Duration::ZERO;
        assert_eq!(
            Witness::try_new(zero, now).err(),
            Some(ConfigError::ZeroInterval)
        );
        // A lease too short for the secondary's timeout is a rule between
        // nodes: `problems` finds it, `try_new` cannot know.
        w.lease = i;
        assert!(!w.problems(i, i.saturating_mul(4), i).is_empty());
        assert!(Witness::try_new(w, now).is_ok());
    }

    #[test]
    fn defaults_are_clean() {
        let i = Duration::from_millis(10);
        assert!(PrimaryConfig::new(NodeId(1), 1, 2, i).problems().is_empty());
        assert!(SecondaryConfig::new(NodeId(2), 1, 2, i)
            .problems()
            .is_empty());
        let t = Timing::recommended(i);
        let mut w = WitnessConfig::new(NodeId(3), 1, i);
        w.dead_time = DeadTime::Fixed(t.witness_dead_time);
        w.lease = t.lease;
        assert!(w.problems(i, t.isolation_fence, i).is_empty());
    }
}
