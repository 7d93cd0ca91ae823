//! A removal of the service addresses that the host could not carry out.
//!
//! The zero-overlap handshake rests on one promise: a server that says it no
//! longer holds the addresses (its heartbeats drop `HOLDS`) has removed them.
//! The host removes them over netlink, and netlink can fail (a timeout, an
//! interface renamed under the daemon, a full kernel table). If the machine
//! went on as if the removal had worked, the secondary would send RELEASED
//! and the primary would add an address still on the secondary: two holders.
//! So the host reports every removal's outcome
//! ([`Server::handle_removal`](crate::Server::handle_removal)); after a
//! failure the machine keeps saying `HOLDS` and asks for the removal again,
//! after one interval, then twice as long each time up to
//! [`MAX_BACKOFF_INTERVALS`] intervals and at most [`MAX_BACKOFF`] (but never
//! under one interval), until the host reports it done, or the machine takes
//! the addresses again (then nothing is to be removed).

use crate::action::{Action, Event};
use crate::machine::Wake;
use crate::queue::ActionQueue;
use crate::time::{Duration, Instant};

/// The longest wait between two attempts, in intervals: once backed off,
/// at worst one attempt every 32 intervals (about 30 a second at 1 ms
/// beats), so a kernel that keeps refusing is not hammered.
pub const MAX_BACKOFF_INTERVALS: u64 = 32;

/// The longest wait between two attempts (unless the interval is longer):
/// long enough not to hammer a kernel that refuses, short enough that the
/// service moves soon after the cause is gone.
pub const MAX_BACKOFF: Duration = Duration::from_millis(1000);

/// How a removal of the service addresses ended, as the host reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Every address is gone from this node (or was not there).
    Done,
    /// At least one address may still be on an interface here.
    Failed,
}

/// The retry schedule of a failed removal. Idle until a failure.
///
/// Reports come in the order the removals were asked for, but possibly
/// after the machine took the addresses again: a removal queued before an
/// add (the host carries them out in order) is reported after it, and its
/// failure is no news, as the addresses are wanted now. Taking such a stale
/// failure for a new one scheduled retries that removed the addresses the
/// machine had just added (simulator seed 107549943381). So the requests
/// are counted, and the reports of those made before the last add ignored.
#[derive(Debug, Clone)]
pub(crate) struct RemovalRetry {
    /// When to ask again, and the wait after that.
    next: Option<(Instant, Duration)>,
    interval: Duration,
    /// Removals asked for and not yet reported.
    outstanding: u32,
    /// How many of the next reports are of removals asked for before the
    /// machine last took the addresses.
    stale: u32,
}

impl RemovalRetry {
    pub const fn new(interval: Duration) -> Self {
        RemovalRetry {
            next: None,
            interval,
            outstanding: 0,
            stale: 0,
        }
    }

    /// Asks the host to remove the addresses (every removal goes through
    /// here, so that its report can be matched).
    pub fn request<const N: usize>(&mut self, actions: &mut ActionQueue<N>) {
        self.outstanding = self.outstanding.saturating_add(1);
        actions.push(Action::RemoveAddresses);
    }

    /// Whether addresses may still be on an interface although the machine
    /// let go of them: its heartbeats keep saying `HOLDS`.
    pub fn pending(&self) -> bool {
        self.next.is_some()
    }

    /// Whether a removal was asked for and its report has not come yet: the
    /// addresses may or may not be gone.
    pub fn unreported(&self) -> bool {
        self.outstanding > 0
    }

    /// Takes in the host's report; the event to notify, if the state
    /// changed: the first failure, or a success after failures.
    pub fn report(&mut self, now: Instant, outcome: Removal) -> Option<Event> {
        self.outstanding = self.outstanding.saturating_sub(1);
        if self.stale > 0 {
            self.stale -= 1;
            return None;
        }
        match (outcome, self.next) {
            (Removal::Failed, None) => {
                self.next = Some((now + self.interval, self.interval));
                Some(Event::RemovalFailed)
            }
            // The retry is scheduled already (`due`).
            (Removal::Failed, Some(_)) => None,
            (Removal::Done, Some(_)) => {
                self.next = None;
                Some(Event::RemovalRecovered)
            }
            (Removal::Done, None) => None,
        }
    }

    /// The machine takes the addresses again: nothing is left to remove,
    /// and the removals asked for so far are reported in vain.
    pub fn cancel(&mut self) {
        self.next = None;
        self.stale = self.outstanding;
    }

    /// Asks for the removal again if its retry is due at `now`, and
    /// schedules the next attempt (twice the wait, up to the cap).
    pub fn retry_if_due<const N: usize>(&mut self, now: Instant, actions: &mut ActionQueue<N>) {
        if self.due(now) {
            self.request(actions);
        }
    }

    /// Whether the removal is to be asked for again at `now`; if so, the
    /// next attempt is scheduled (twice the wait, up to the cap).
    fn due(&mut self, now: Instant) -> bool {
        let Some((at, wait)) = self.next else {
            return false;
        };
        if now < at {
            return false;
        }
        let cap = self
            .interval
            .saturating_mul(MAX_BACKOFF_INTERVALS)
            .min(MAX_BACKOFF)
            .max(self.interval);
        let wait = wait.saturating_mul(2).min(cap);
        self.next = Some((now + wait, wait));
        true
    }

    /// The next attempt, for the machine's timeout.
    pub fn wake(&self, wake: &mut Wake) {
        wake.at(self.next.map(|(at, _)| at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: u64) -> Instant {
        Instant::from_millis(t)
    }

    #[test]
    fn a_failure_is_retried_with_growing_waits_until_it_succeeds() {
        let mut r = RemovalRetry::new(Duration::from_millis(100));
        assert_eq!(r.report(ms(0), Removal::Done), None, "nothing to say");
        assert_eq!(r.report(ms(0), Removal::Failed), Some(Event::RemovalFailed));
        assert!(r.pending());
        assert!(!r.due(ms(99)));
        assert!(r.due(ms(100)));
        assert_eq!(r.report(ms(100), Removal::Failed), None, "said once");
        assert!(!r.due(ms(299)), "the wait doubled");
        assert!(r.due(ms(300)));
        assert!(r.due(ms(700)));
        assert!(r.due(ms(1500)));
        assert!(!r.due(ms(2499)), "capped at a second");
        assert!(r.due(ms(2500)));
        assert_eq!(
            r.report(ms(2500), Removal::Done),
            Some(Event::RemovalRecovered)
        );
        assert!(!r.pending());
        assert!(!r.due(ms(10_000)));
    }

    #[test]
    fn a_failure_reported_after_the_addresses_were_taken_again_is_no_news() {
        let mut r = RemovalRetry::new(Duration::from_millis(10));
        let mut q = ActionQueue::<4>::new();
        r.request(&mut q);
        r.cancel();
        assert_eq!(r.report(ms(0), Removal::Failed), None, "a stale report");
        assert!(!r.pending(), "no retry removes what was just added");
        r.request(&mut q);
        assert_eq!(r.report(ms(1), Removal::Failed), Some(Event::RemovalFailed));
    }

    #[test]
    fn taking_the_addresses_again_ends_the_retries() {
        let mut r = RemovalRetry::new(Duration::from_millis(10));
        r.report(ms(0), Removal::Failed);
        r.cancel();
        assert!(!r.pending());
        assert!(!r.due(ms(1000)));
    }
}
