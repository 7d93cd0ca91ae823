//! The primary's health checks (`heartbeatd --check-interval`): its Check
//! scripts run on a schedule of their own, through the same script runner
//! as failoverd's stages, and their outcomes decide the machine's health
//! ([`failover_core::Primary::set_healthy`]). One failed run is not enough
//! (a script can stumble once); `--check-failures` failed runs in a row
//! are, and one passing run ends it (the machine then waits its settling
//! time before it serves again).

use std::time::{Duration, Instant};

use failover_core::{Instant as CoreInstant, Stage, StageOutcome};

use super::{Node, Runtime};

/// When the checks run, and what they have found.
#[derive(Debug, Clone)]
pub struct HealthSchedule {
    every: Duration,
    failures: u32,
    failed_in_a_row: u32,
    next_at: Instant,
    running: bool,
    healthy: bool,
}

impl HealthSchedule {
    /// Checks every `every`, the first at `now`; unhealthy after
    /// `failures` failed runs in a row.
    pub fn new(every: Duration, failures: u32, now: Instant) -> HealthSchedule {
        HealthSchedule {
            every,
            failures: failures.max(1),
            failed_in_a_row: 0,
            next_at: now,
            running: false,
            healthy: true,
        }
    }

    /// Whether a run is due (and none is running).
    pub fn due(&self, now: Instant) -> bool {
        !self.running && now >= self.next_at
    }

    /// A run started at `now`; the next one is due a period later.
    pub fn started(&mut self, now: Instant) {
        self.running = true;
        self.next_at = now + self.every;
    }

    /// A run ended with `outcome`: the new health when it changed.
    pub fn finished(&mut self, outcome: StageOutcome) -> Option<bool> {
        self.running = false;
        if outcome.is_success() {
            self.failed_in_a_row = 0;
        } else {
            self.failed_in_a_row = self.failed_in_a_row.saturating_add(1);
        }
        let healthy = self.failed_in_a_row < self.failures;
        (healthy != self.healthy).then(|| {
            self.healthy = healthy;
            healthy
        })
    }

    /// Failed runs in a row so far.
    pub fn failed_in_a_row(&self) -> u32 {
        self.failed_in_a_row
    }

    /// How many failed runs in a row make it unhealthy.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When the loop must wake for the next run (none while one runs: the
    /// runner's own deadline wakes it).
    pub fn next_due(&self) -> Option<Instant> {
        (!self.running).then_some(self.next_at)
    }
}

impl<N: Node> Runtime<N> {
    /// Starts the health check if one is due (never while stopping, and
    /// never over a stage the runner is running).
    pub(super) fn start_due_check(&mut self, now: Instant) {
        let Some(health) = self.health.as_mut() else {
            return;
        };
        if self.stopping || !health.due(now) {
            return;
        }
        let Some(runner) = self.runner.as_mut() else {
            return;
        };
        if runner.running().is_some() {
            return;
        }
        health.started(now);
        let ctx = crate::scripts::StageContext {
            reason: "the periodic health check".to_owned(),
            ..self.labels.stage_base.clone()
        };
        runner.start(now, Stage::Check, &ctx);
    }

    /// A health check ended: tells the machine when the health changed.
    pub(super) fn on_check_done(&mut self, t: CoreInstant, outcome: StageOutcome) {
        let Some(health) = self.health.as_mut() else {
            return;
        };
        let change = health.finished(outcome);
        let (failed, of) = (health.failed_in_a_row(), health.failures());
        match change {
            Some(false) => {
                self.log.warning(format_args!(
                    "the Check scripts failed {failed} times in a row: this server's service is \
                     not healthy"
                ));
                self.node.set_healthy(t, false);
            }
            Some(true) => {
                self.log
                    .notice("the Check scripts pass again: this server's service is healthy");
                self.node.set_healthy(t, true);
            }
            None if failed > 0 && failed < of => self.log.info(format_args!(
                "a Check script failed ({failed} of {of} failures in a row before this server \
                 hands the service over)"
            )),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhealthy_after_the_failures_in_a_row_healthy_after_one_pass() {
        let t0 = Instant::now();
        let mut h = HealthSchedule::new(Duration::from_secs(2), 3, t0);
        assert!(h.due(t0));
        h.started(t0);
        assert!(!h.due(t0 + Duration::from_secs(5)), "one at a time");
        assert_eq!(h.next_due(), None);
        assert_eq!(h.finished(StageOutcome::Failed(1)), None);
        assert_eq!(h.next_due(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(
            h.finished(StageOutcome::Success),
            None,
            "a pass resets the count"
        );
        assert_eq!(h.finished(StageOutcome::Failed(1)), None);
        assert_eq!(h.finished(StageOutcome::TimedOut), None);
        assert_eq!(h.finished(StageOutcome::Failed(2)), Some(false));
        assert_eq!(h.finished(StageOutcome::Failed(2)), None);
        assert_eq!(h.finished(StageOutcome::Success), Some(true));
    }
}
