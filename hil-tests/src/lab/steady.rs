//! A test's daemons started and the lab brought to its steady state (the
//! primary alone holds the address, `failoverd` hears it, and the witness
//! when there is one), and the waits for what the tests expect next: an
//! owner, a mail.

use std::time::Instant;

use crate::daemons::{Daemon, RunDir};
use crate::witness::WITNESS_IP;

use super::{events, events_since, Lab, Owner};

impl Lab {
    /// Starts `heartbeatd` with `extra` arguments and waits for its
    /// start-up line.
    pub fn heartbeatd(&self, extra: &[&str]) -> Daemon {
        let d = self.start_heartbeatd(extra).expect("start heartbeatd");
        self.wait("heartbeatd to start", &[&d], || d.logged("started"));
        d
    }

    /// Starts `failoverd` with `extra` arguments and waits for its
    /// start-up line.
    pub fn failoverd(&self, extra: &[&str]) -> Daemon {
        let d = self.start_failoverd(extra).expect("start failoverd");
        self.wait("failoverd to start", &[&d], || d.logged("started"));
        d
    }

    /// Starts both daemons with the profile's (and the witness's) arguments
    /// only and waits for the steady state.
    pub fn start_both(&mut self) -> (Daemon, Daemon) {
        self.start_both_with(&[], &[])
    }

    /// Starts `heartbeatd` with `hb_extra` arguments and `failoverd` with
    /// `fo_extra`, and waits for the steady state.
    pub fn start_both_with(&mut self, hb_extra: &[&str], fo_extra: &[&str]) -> (Daemon, Daemon) {
        let hb = self.heartbeatd(hb_extra);
        let fo = self.failoverd(fo_extra);
        self.steady(&hb, &fo);
        (hb, fo)
    }

    /// [`Lab::start_both_with`], `heartbeatd` given the secondary's private
    /// address as its `--peer` before `hb_extra`: the flood and forgery
    /// tests start so, where a stranger may claim to be the secondary.
    pub fn start_both_peered(&mut self, hb_extra: &[&str], fo_extra: &[&str]) -> (Daemon, Daemon) {
        let secondary_ip = self.t.secondary.private_ip.to_string();
        let mut hb = vec!["--peer", secondary_ip.as_str()];
        hb.extend_from_slice(hb_extra);
        self.start_both_with(&hb, fo_extra)
    }

    /// Powers the witness on, starts both daemons and waits for the steady
    /// state.
    pub fn start_all(&mut self) -> (Daemon, Daemon) {
        self.power_on();
        self.start_both()
    }

    /// Waits for the steady state: the primary alone holds the address,
    /// `failoverd` hears it, and the witness if it is powered on. Then, if
    /// the setup says so, starts the client and waits until the primary
    /// answers it.
    pub fn steady(&mut self, hb: &Daemon, fo: &Daemon) {
        let logs = [hb, fo];
        self.wait_owner(Owner::Primary, &logs);
        self.wait_hears_primary(fo, &logs);
        if self.witness.as_ref().is_some_and(|w| w.pid().is_some()) {
            let heard = format!("witness {WITNESS_IP} (policy {}): heard", self.policy);
            self.wait(
                "failoverd to hear the witness (a firmware built with another key than the \
                 daemons' is never heard: scripts/firmware.sh builds it with the lab's key, \
                 which the lab gives the daemons; see FAILOVER_WITNESS_KEY_FILE)",
                &logs,
                || self.status(fo).contains(&heard),
            );
        }
        if self.client_when_steady {
            self.start_client();
            self.wait_served_by("primary", Instant::now(), &logs);
        }
    }

    /// Waits until `failoverd` says it hears the primary.
    pub fn wait_hears_primary(&self, fo: &Daemon, logs: &[&Daemon]) {
        self.wait("failoverd to hear the primary", logs, || {
            self.status(fo).contains("198.51.100.1: alive")
        });
    }

    /// Waits until exactly `owner` holds the service address (as sampled).
    pub fn wait_owner(&self, owner: Owner, logs: &[&Daemon]) {
        self.wait(
            &format!("{owner:?} alone to hold {}", crate::topology::SERVICE),
            logs,
            || self.owners.are(owner),
        );
    }

    /// Waits until `run` has mailed `event` (mail goes out asynchronously).
    pub fn wait_mailed(&self, run: &RunDir, event: &str, logs: &[&Daemon]) {
        self.wait(&format!("a {event} mail"), logs, || {
            events(run).iter().any(|e| e == event)
        });
    }

    /// Waits until `run` has mailed `event` at least `times` times.
    pub fn wait_mailed_times(&self, run: &RunDir, event: &str, times: usize, logs: &[&Daemon]) {
        self.wait(&format!("{times} {event} mails"), logs, || {
            events(run).iter().filter(|e| *e == event).count() >= times
        });
    }

    /// Waits for a mail of `event` beyond the ones in `before`.
    pub fn wait_mailed_since(
        &self,
        run: &RunDir,
        before: &[String],
        event: &str,
        logs: &[&Daemon],
    ) {
        self.wait(&format!("a new {event} mail"), logs, || {
            events_since(run, before).iter().any(|e| e == event)
        });
    }
}
