//! The primary's operator controls: a planned switchover
//! (`heartbeatd --handover`), taking the service back (`--reclaim`), and
//! manual failback (keepalived's `nopreempt`).
//!
//! All three decide one thing: what a primary that does not hold the
//! addresses asks of the secondary ([`Ask`]). The addresses themselves
//! still move only through the zero-overlap handshake the primary already
//! has: a handover is the primary's own release followed by the
//! secondary's takeover on request (`HANDOVER`, as when the primary cannot
//! be reached), and a reclaim is the ordinary reclaim (`RECLAIM`, then a
//! fresh acknowledgement that the secondary no longer holds them). A
//! primary that stands by takes the addresses whenever the secondary does
//! not hold them (a fresh acknowledgement says so, or the secondary is
//! silent for its dead time): standing by never leaves the service
//! without a server.

use crate::action::Event;
use crate::time::{Duration, Instant};

/// Whether a primary that gets back while the secondary serves takes the
/// service back by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Failback {
    /// It reclaims at once (Apple's behaviour, the default).
    #[default]
    Auto,
    /// It stands by while the secondary serves, until the operator
    /// reclaims (`heartbeatd --reclaim`): one interruption for the
    /// clients instead of two, at a time the operator picks.
    Manual,
}

/// What a primary that does not hold the addresses asks of the secondary,
/// in its heartbeats' flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// The addresses back (`RECLAIM`).
    Back,
    /// Nothing: the secondary keeps what it holds, and is not asked to
    /// take what it does not hold (`STANDBY`).
    StandBy,
    /// That the secondary serve (`HANDOVER`): this node cannot be reached
    /// where the addresses live, or the operator asked for a handover.
    HandOver,
}

/// Why an operator's request was refused; nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This primary does not manage the addresses (no `--service`): they
    /// are static, and there is nothing to hand over or take back.
    NotManaging,
    /// The daemon is stopping.
    Stopping,
    /// The secondary cannot take the service now: it is not heard, it says
    /// it cannot be reached, or (with a witness) the witness whose grant it
    /// needs is not heard. Handing over would leave the addresses on no
    /// server.
    SecondaryCannotServe,
}

impl Refusal {
    /// The reason in an operator's words.
    #[must_use]
    pub const fn text(self) -> &'static str {
        match self {
            Refusal::NotManaging => {
                "this primary does not manage the service addresses (no --service): nothing to hand over or take back"
            }
            Refusal::Stopping => "the daemon is stopping",
            Refusal::SecondaryCannotServe => {
                "the secondary cannot take the service now (not heard, unreachable where the addresses live, or the witness it needs is not heard)"
            }
        }
    }
}

/// What an accepted request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// It changed what the primary does.
    Started,
    /// It was already so (a repeated command, or a reclaim while holding).
    AlreadySo,
}

/// The operator's wishes and the failback policy; see the module docs.
#[derive(Debug, Clone)]
pub struct Standby {
    failback: Failback,
    patience: Duration,
    /// The operator asked this node to stand by (`--handover`), until
    /// `--reclaim`.
    ordered: bool,
    /// A handover under way: until the secondary says it holds the
    /// addresses, or this deadline, when the primary gives up on it and
    /// serves again.
    handover_until: Option<Instant>,
    /// With manual failback: the operator asked for the addresses back; it
    /// lasts until the primary holds them.
    reclaim_ordered: bool,
    /// [`Event::StandingBy`] was announced for the current stand-by.
    reported: bool,
}

impl Standby {
    /// No request yet. `patience`: how long a handover may wait for the
    /// secondary to hold the addresses.
    #[must_use]
    pub fn new(failback: Failback, patience: Duration) -> Self {
        Standby {
            failback,
            patience,
            ordered: false,
            handover_until: None,
            reclaim_ordered: false,
            reported: false,
        }
    }

    /// The failback policy in force.
    #[must_use]
    pub fn failback(&self) -> Failback {
        self.failback
    }

    /// Whether the operator asked this node to stand by (`--handover`, not
    /// yet undone by `--reclaim` or by the secondary's loss).
    #[must_use]
    pub fn ordered(&self) -> bool {
        self.ordered
    }

    /// The deadline of a handover under way.
    #[must_use]
    pub fn handover_until(&self) -> Option<Instant> {
        self.handover_until
    }

    /// What a primary that does not hold the addresses asks for, given
    /// whether it can serve clients itself.
    #[must_use]
    pub fn ask(&self, can_serve: bool) -> Ask {
        if !can_serve || self.handover_until.is_some() {
            Ask::HandOver
        } else if self.ordered || (self.failback == Failback::Manual && !self.reclaim_ordered) {
            Ask::StandBy
        } else {
            Ask::Back
        }
    }

    /// The operator asked for a handover. `secondary_holds`: the secondary
    /// already serves (then this node only stands by).
    pub fn order_handover(&mut self, now: Instant, secondary_holds: bool) {
        self.ordered = true;
        self.reclaim_ordered = false;
        self.handover_until = (!secondary_holds).then(|| now + self.patience);
    }

    /// The operator asked for the addresses back. Whether that changes
    /// anything.
    pub fn order_reclaim(&mut self) -> bool {
        let changed = self.ordered
            || self.handover_until.is_some()
            || (self.failback == Failback::Manual && !self.reclaim_ordered);
        self.ordered = false;
        self.handover_until = None;
        self.reclaim_ordered = true;
        self.reported = false;
        changed
    }

    /// Follows a handover under way while the primary does not hold the
    /// addresses: it is done once the secondary says it holds them; if the
    /// secondary can no longer serve (lost, unreachable, or its witness
    /// gone), or has not taken them by the deadline, the primary stops
    /// standing by and serves again. Returns the event to announce.
    pub fn follow(
        &mut self,
        now: Instant,
        secondary_holds: bool,
        secondary_can_serve: bool,
    ) -> Option<Event> {
        let until = self.handover_until?;
        if secondary_holds {
            self.handover_until = None;
        } else if now >= until || !secondary_can_serve {
            self.handover_until = None;
            self.ordered = false;
            return Some(Event::HandoverFailed);
        }
        None
    }

    /// Whether [`Event::StandingBy`] is due: this node stands by while the
    /// secondary serves, and has not said so yet.
    pub fn report_due(&mut self, ask: Ask, secondary_holds: bool) -> bool {
        let due = ask == Ask::StandBy && secondary_holds && !self.reported;
        self.reported |= due;
        due
    }

    /// The primary took the addresses: every request is fulfilled, or, for
    /// the operator's stand-by, ended because the secondary no longer
    /// serves (returned: announce [`Event::StandbyEnded`]).
    #[must_use]
    pub fn acquired(&mut self) -> bool {
        let ended = self.ordered;
        self.ordered = false;
        self.handover_until = None;
        self.reclaim_ordered = false;
        self.reported = false;
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn auto_failback_asks_back_and_manual_stands_by_until_reclaimed() {
        let auto = Standby::new(Failback::Auto, Duration::from_millis(100));
        assert_eq!(auto.ask(true), Ask::Back);
        assert_eq!(auto.ask(false), Ask::HandOver);
        let mut manual = Standby::new(Failback::Manual, Duration::from_millis(100));
        assert_eq!(manual.ask(true), Ask::StandBy);
        assert!(manual.order_reclaim());
        assert_eq!(manual.ask(true), Ask::Back);
        assert!(!manual.order_reclaim(), "a second reclaim changes nothing");
        assert!(!manual.acquired(), "no stand-by was ordered");
        assert_eq!(
            manual.ask(true),
            Ask::StandBy,
            "the next failback is manual again"
        );
    }

    #[test]
    fn a_handover_hands_over_until_the_secondary_holds_then_stands_by() {
        let mut s = Standby::new(Failback::Auto, Duration::from_millis(100));
        s.order_handover(at(0), false);
        assert_eq!(s.ask(true), Ask::HandOver);
        assert_eq!(s.follow(at(50), false, true), None);
        assert_eq!(s.follow(at(60), true, true), None);
        assert_eq!(s.ask(true), Ask::StandBy);
        assert!(s.report_due(Ask::StandBy, true));
        assert!(!s.report_due(Ask::StandBy, true), "announced once");
        assert!(s.order_reclaim());
        assert_eq!(s.ask(true), Ask::Back);
    }

    #[test]
    fn a_handover_the_secondary_does_not_take_in_time_ends() {
        let mut s = Standby::new(Failback::Auto, Duration::from_millis(100));
        s.order_handover(at(0), false);
        assert_eq!(s.follow(at(99), false, true), None);
        assert_eq!(s.follow(at(100), false, true), Some(Event::HandoverFailed));
        assert!(!s.ordered());
        assert_eq!(s.ask(true), Ask::Back);
    }

    #[test]
    fn a_handover_ends_at_once_when_the_secondary_can_no_longer_serve() {
        let mut s = Standby::new(Failback::Manual, Duration::from_millis(100));
        s.order_handover(at(0), false);
        assert_eq!(s.follow(at(10), false, false), Some(Event::HandoverFailed));
        assert_eq!(
            s.ask(true),
            Ask::StandBy,
            "manual failback: back to its policy"
        );
    }

    #[test]
    fn a_handover_while_the_secondary_serves_only_stands_by() {
        let mut s = Standby::new(Failback::Auto, Duration::from_millis(100));
        s.order_handover(at(0), true);
        assert_eq!(s.handover_until(), None);
        assert_eq!(s.ask(true), Ask::StandBy);
        assert_eq!(
            s.ask(false),
            Ask::HandOver,
            "an unreachable node still hands over"
        );
    }
}
