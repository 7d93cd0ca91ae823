//! The checks of an outcome that several tests make: who held the address
//! when, and above all that the address was never on both servers at once
//! ("never two holders"), over the whole run or from a moment on; a fault
//! that must change nothing; a takeover and a failback, in the scripts
//! and in what the client saw.

use std::time::Instant;

use crate::daemons::Daemon;
use crate::holds::{overlap, overlap_within, Held};

use super::{acquire_then_dropped, acquire_then_release, anomaly_mails_only, events, stages, Lab};

/// Whether the primary held the address from before the fault to now: one
/// interval, still open; on a loaded machine also one more for each time
/// its `heartbeatd` logged that it had not run for over two intervals and
/// dropped the address (the stall rule, docs/protocol.md), which it then
/// took back through the reclaim handshake.
pub fn primary_kept_it(p: &[Held], hb: &Daemon) -> bool {
    let stalls = hb.stalls();
    if stalls > 0 {
        eprintln!(
            "note: heartbeatd stalled {stalls} time(s) (the machine is loaded) and dropped the \
             address each time, as the stall rule says; {} hold(s) in all",
            p.len()
        );
    }
    p.last().is_some_and(Held::is_open) && p.len() <= 1 + stalls
}

impl Lab {
    /// Who held the address when so far: the primary's intervals, the
    /// secondary's.
    pub fn held(&self) -> (Vec<Held>, Vec<Held>) {
        self.owners.held()
    }

    /// Fails the test if both servers ever had the address at once, and
    /// returns who held it when.
    pub fn check_never_two_holders(&self, logs: &[&Daemon]) -> (Vec<Held>, Vec<Held>) {
        let (p, s) = self.held();
        let both = overlap(&p, &s, Instant::now());
        self.check(
            both.is_zero(),
            &format!("never two holders (overlap {both:?})"),
            logs,
        );
        (p, s)
    }

    /// Fails the test (saying `what`) if both servers had the address at
    /// once at any time from `from` on: for a run whose first part has an
    /// overlap that is the test's doing (a killed daemon's address left
    /// behind, a frozen daemon).
    pub fn check_never_two_holders_from(&self, from: Instant, what: &str, logs: &[&Daemon]) {
        let (p, s) = self.held();
        let both = overlap_within(&p, &s, from, Instant::now());
        self.check(both.is_zero(), &format!("{what} ({both:?})"), logs);
    }

    /// What a fault on one network must leave behind (Apple's rule): the
    /// secondary never held the address, the primary kept it (`kept` says
    /// how), no takeover, no script, and no mail but the anomaly and its
    /// end.
    pub fn check_anomaly_only(&self, hb: &Daemon, fo: &Daemon, kept: &str) {
        let logs = [hb, fo];
        let (p, s) = self.held();
        self.check(
            s.is_empty(),
            "the secondary must never hold the address",
            &logs,
        );
        self.check(primary_kept_it(&p, hb), kept, &logs);
        self.check(!fo.logged("took over"), "no takeover", &logs);
        self.check(stages(&self.srun).is_empty(), "no script may run", &logs);
        let mail = events(&self.srun);
        self.check(
            anomaly_mails_only(&mail),
            &format!("the secondary mails the anomaly and its end, nothing else: {mail:?}"),
            &logs,
        );
    }

    /// What a fault that must change nothing leaves behind: the secondary
    /// never held the address, the primary kept it ([`primary_kept_it`]),
    /// `failoverd` logged no takeover and no script ran.
    pub fn check_no_takeover(&self, hb: &Daemon, fo: &Daemon, logs: &[&Daemon]) {
        let (p, s) = self.held();
        self.check(
            s.is_empty(),
            &format!("the secondary never held the address: {s:?}"),
            logs,
        );
        self.check(
            primary_kept_it(&p, hb),
            &format!("the primary kept the address: {p:?}"),
            logs,
        );
        self.check(!fo.logged("took over"), "no takeover in the log", logs);
        self.check(stages(&self.srun).is_empty(), "no script ran", logs);
    }

    /// Fails the test if the secondary mailed a takeover.
    pub fn check_no_takeover_mail(&self, logs: &[&Daemon]) {
        self.check(
            !events(&self.srun).iter().any(|e| e == "TookOver"),
            "no takeover mail",
            logs,
        );
    }

    /// Fails the test unless the secondary's stage scripts ran a takeover,
    /// then a failback ([`acquire_then_release`]).
    pub fn check_acquire_then_release(&self, logs: &[&Daemon]) {
        let ran = stages(&self.srun);
        // A failoverd that was not scheduled for longer than the primary
        // needs to take the addresses back drops them at once, without
        // PreRel ("frozen too long"): a loaded machine's stall, which the
        // daemon logs, not a fault of the stage order.
        let stalled = logs
            .iter()
            .any(|d| d.name == "failoverd" && d.logged("was frozen too long"));
        self.check(
            acquire_then_release(&ran) || (stalled && acquire_then_dropped(&ran)),
            &format!("acquire stages, then release stages: {ran:?}"),
            logs,
        );
    }

    /// Fails the test unless the client was served by the primary, the
    /// secondary, the primary, in that order, and by nobody else.
    pub fn check_served_over_and_back(&self, logs: &[&Daemon]) {
        self.check(
            self.runs() == ["primary", "secondary", "primary"],
            "the client was served by the primary, the secondary, the primary",
            logs,
        );
    }
}
