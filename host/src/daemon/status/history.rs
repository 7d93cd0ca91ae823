//! What the status remembers beyond the machine's present state: since
//! when the daemon is in its phase, and the last time the service
//! addresses changed hands (a takeover or failback on failoverd, an
//! acquire or release on heartbeatd), with why, and how often. The core
//! keeps none of this (it has no wall clock and no use for it); the event
//! loop feeds it the phase changes it already logs and the events it
//! already notifies, so it costs nothing on a quiet turn.

use std::time::SystemTime;

use failover_core::{Event, Instant, Role};

use super::snapshot::Transition;

/// A change of hands of the service addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionKind {
    /// failoverd took the addresses over (`TookOver`).
    Takeover,
    /// failoverd gave them up again (`Relinquished`: the primary is back,
    /// or failoverd stopped, stalled or lost its witness grant).
    Failback,
    /// heartbeatd took them (`Acquired`: at start or after a failback).
    Acquire,
    /// heartbeatd dropped them (`Yielded`, `Isolated`, `HandedOver`,
    /// `Stalled`).
    Release,
}

impl TransitionKind {
    /// Every kind, in the order of [`History`]'s counters.
    const ALL: [TransitionKind; 4] = [
        TransitionKind::Takeover,
        TransitionKind::Failback,
        TransitionKind::Acquire,
        TransitionKind::Release,
    ];

    /// The kind's name in the JSON and the metrics' `kind` label.
    pub const fn name(self) -> &'static str {
        match self {
            TransitionKind::Takeover => "takeover",
            TransitionKind::Failback => "failback",
            TransitionKind::Acquire => "acquire",
            TransitionKind::Release => "release",
        }
    }

    /// The two kinds a daemon of `role` reports.
    pub const fn of_role(role: Role) -> [TransitionKind; 2] {
        match role {
            Role::Primary => [TransitionKind::Acquire, TransitionKind::Release],
            _ => [TransitionKind::Takeover, TransitionKind::Failback],
        }
    }

    /// The change of hands `event` means for a daemon of `role`, if any.
    /// A secondary's `Stalled` or `LeaseExpired` is not one: its release
    /// follows and ends in `Relinquished`.
    pub fn of(role: Role, event: &Event) -> Option<TransitionKind> {
        match (role, event) {
            (Role::Secondary, Event::TookOver) => Some(TransitionKind::Takeover),
            (Role::Secondary, Event::Relinquished) => Some(TransitionKind::Failback),
            (Role::Primary, Event::Acquired) => Some(TransitionKind::Acquire),
            (
                Role::Primary,
                Event::Yielded
                | Event::Isolated
                | Event::HandedOver
                | Event::HandoverStarted
                | Event::Stalled,
            ) => Some(TransitionKind::Release),
            _ => None,
        }
    }

    /// Whether `event`, on a daemon of `role`, starts a release whose
    /// `Relinquished` comes later: its words are that release's reason.
    pub fn is_cause(role: Role, event: &Event) -> bool {
        role == Role::Secondary && matches!(event, Event::Stalled | Event::LeaseExpired)
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// The last transition, on both clocks.
#[derive(Debug, Clone)]
struct Last {
    kind: TransitionKind,
    event: &'static str,
    reason: String,
    wall: SystemTime,
    at: Instant,
}

/// The phase's start and the transitions, for the status and the metrics.
#[derive(Debug, Clone)]
pub struct History {
    role: Role,
    phase_wall: SystemTime,
    phase_at: Instant,
    last: Option<Last>,
    counts: [u64; 4],
    /// The reason of a release under way (a secondary's stall or expired
    /// grant), for its `Relinquished`.
    cause: Option<String>,
}

impl History {
    /// A daemon of `role` that started at `wall`, `at` on its clock.
    pub fn new(role: Role, wall: SystemTime, at: Instant) -> History {
        History {
            role,
            phase_wall: wall,
            phase_at: at,
            last: None,
            counts: [0; 4],
            cause: None,
        }
    }

    /// The machine entered a new phase.
    pub fn phase_changed(&mut self, wall: SystemTime, at: Instant) {
        self.phase_wall = wall;
        self.phase_at = at;
    }

    /// When the current phase began: on the wall clock, and on the
    /// daemon's.
    pub fn phase_since(&self) -> (SystemTime, Instant) {
        (self.phase_wall, self.phase_at)
    }

    /// Whether `event` matters here (a transition or the cause of one): the
    /// caller words a reason only then.
    pub fn wants(&self, event: &Event) -> bool {
        TransitionKind::of(self.role, event).is_some() || TransitionKind::is_cause(self.role, event)
    }

    /// The machine notified `event`, for `reason`, at `wall` (`at` on the
    /// daemon's clock).
    pub fn note(&mut self, event: &Event, reason: String, wall: SystemTime, at: Instant) {
        if TransitionKind::is_cause(self.role, event) {
            self.cause = Some(reason);
            return;
        }
        let Some(kind) = TransitionKind::of(self.role, event) else {
            return;
        };
        let cause = self.cause.take();
        let reason = match kind {
            TransitionKind::Failback => cause.unwrap_or(reason),
            _ => reason,
        };
        if let Some(n) = self.counts.get_mut(kind.index()) {
            *n = n.saturating_add(1);
        }
        self.last = Some(Last {
            kind,
            event: event.name(),
            reason,
            wall,
            at,
        });
    }

    /// This role's two kinds with their counts since start.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        TransitionKind::of_role(self.role)
            .iter()
            .map(|k| (k.name(), self.counts.get(k.index()).copied().unwrap_or(0)))
            .collect()
    }

    /// The last transition, aged at `now` on the daemon's clock.
    pub fn last(&self, now: Instant) -> Option<Transition> {
        self.last.as_ref().map(|l| Transition {
            kind: l.kind.name(),
            event: l.event,
            reason: l.reason.clone(),
            at: l.wall,
            ago: now.saturating_since(l.at),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration as StdDuration, UNIX_EPOCH};

    use super::*;

    fn at(s: u64) -> (SystemTime, Instant) {
        (
            UNIX_EPOCH + StdDuration::from_secs(1_000 + s),
            Instant::from_millis(s * 1000),
        )
    }

    #[test]
    fn a_secondary_counts_takeovers_and_failbacks_with_their_reasons() {
        let (w0, t0) = at(0);
        let mut h = History::new(Role::Secondary, w0, t0);
        assert_eq!(h.counts(), [("takeover", 0), ("failback", 0)]);
        assert!(h.last(t0).is_none());
        assert!(!h.wants(&Event::PeerLost));
        assert!(h.wants(&Event::TookOver));
        let (w, t) = at(10);
        h.note(&Event::TookOver, "the primary is silent".into(), w, t);
        let last = h.last(at(15).1).expect("a takeover");
        assert_eq!(
            (last.kind, last.event, last.reason.as_str(), last.at),
            ("takeover", "TookOver", "the primary is silent", w)
        );
        assert_eq!(last.ago, failover_core::Duration::from_secs(5));
        // A stall's release is reported with the stall as its reason.
        let (w, t) = at(20);
        h.note(
            &Event::Stalled,
            "failoverd was frozen too long".into(),
            w,
            t,
        );
        assert_eq!(h.last(t).map(|l| l.kind), Some("takeover"));
        h.note(&Event::Relinquished, "the primary is back".into(), w, t);
        let last = h.last(t).expect("a failback");
        assert_eq!(
            (last.kind, last.reason.as_str()),
            ("failback", "failoverd was frozen too long")
        );
        // The next one has its own words.
        h.note(&Event::TookOver, "x".into(), w, t);
        h.note(&Event::Relinquished, "the primary is back".into(), w, t);
        assert_eq!(
            h.last(t).map(|l| l.reason),
            Some("the primary is back".into())
        );
        assert_eq!(h.counts(), [("takeover", 2), ("failback", 2)]);
    }

    #[test]
    fn a_primary_counts_acquires_and_releases() {
        let (w, t) = at(0);
        let mut h = History::new(Role::Primary, w, t);
        for e in [
            Event::Acquired,
            Event::Yielded,
            Event::Acquired,
            Event::Stalled,
            Event::TookOver,
            Event::PeerLost,
        ] {
            h.note(&e, e.name().into(), w, t);
        }
        assert_eq!(h.counts(), [("acquire", 2), ("release", 2)]);
        assert_eq!(h.last(t).map(|l| l.event), Some("Stalled"));
    }

    #[test]
    fn the_phase_start_moves() {
        let (w, t) = at(0);
        let mut h = History::new(Role::Primary, w, t);
        assert_eq!(h.phase_since(), (w, t));
        let (w, t) = at(7);
        h.phase_changed(w, t);
        assert_eq!(h.phase_since(), (w, t));
    }
}
