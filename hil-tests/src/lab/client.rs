//! The client of the service: started once the lab is steady, asking the
//! service address every millisecond; whom it reached, in runs, and the
//! longest it went unanswered (checked against [`NO_OUTAGE`]).

use std::time::{Duration, Instant};

use crate::daemons::Daemon;
use crate::service::{service_runs, Probe, Prober};
use crate::topology::SERVICE;

use super::{Lab, PERIOD};

/// The longest a client may go unanswered where the service must not be
/// interrupted at all. A real interruption (a takeover, a lost address)
/// lasts tens of milliseconds at least and shows up as a server change in
/// the client's runs too; this bound only absorbs the scheduling of a
/// loaded two-core machine (the prober, the responders and both daemons
/// compete for it).
pub const NO_OUTAGE: Duration = Duration::from_millis(250);

/// The longest time the client went unanswered between `from` and `to`:
/// from the first probe of a run of unanswered ones to the next answered
/// probe (or `to`).
pub fn longest_outage(probes: &[Probe], from: Instant, to: Instant) -> Duration {
    let mut longest = Duration::ZERO;
    let mut gap_start: Option<Instant> = None;
    for p in probes.iter().filter(|p| p.sent >= from && p.sent < to) {
        match (&p.answer, gap_start) {
            (None, None) => gap_start = Some(p.sent),
            (Some(_), Some(s)) => {
                longest = longest.max(p.sent.duration_since(s));
                gap_start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = gap_start {
        longest = longest.max(to.saturating_duration_since(s));
    }
    longest
}

impl Lab {
    /// Starts the client (a prober asking the service every [`PERIOD`]).
    pub fn start_client(&mut self) {
        self.client = Some(Prober::start(&self.t.client, SERVICE, PERIOD).expect("prober"));
    }

    /// Every probe so far (none before the client started).
    pub fn probes(&self) -> Vec<Probe> {
        self.client.as_ref().map(Prober::probes).unwrap_or_default()
    }

    /// The servers that answered the client, in runs.
    pub fn runs(&self) -> Vec<String> {
        service_runs(&self.probes())
            .into_iter()
            .map(|r| r.0)
            .collect()
    }

    /// The servers that answered probes sent at or after `since`, in runs.
    pub fn runs_since(&self, since: Instant) -> Vec<String> {
        let probes: Vec<Probe> = self
            .probes()
            .into_iter()
            .filter(|p| p.sent >= since)
            .collect();
        service_runs(&probes).into_iter().map(|r| r.0).collect()
    }

    /// Waits until `who` answers a probe sent at or after `since`.
    pub fn wait_served_by(&self, who: &str, since: Instant, logs: &[&Daemon]) {
        self.wait(
            &format!("the client to be served by the {who}"),
            logs,
            || {
                self.probes()
                    .iter()
                    .any(|p| p.sent >= since && p.answer.as_ref().is_some_and(|a| a.1 == who))
            },
        );
    }

    /// Fails the test (saying `what`) if the client went unanswered for
    /// [`NO_OUTAGE`] or longer between `from` and `to`.
    pub fn check_client_kept_service(
        &self,
        from: Instant,
        to: Instant,
        what: &str,
        logs: &[&Daemon],
    ) {
        let outage = longest_outage(&self.probes(), from, to);
        self.check(
            outage < NO_OUTAGE,
            &format!("{what} (longest gap {outage:?})"),
            logs,
        );
    }
}
