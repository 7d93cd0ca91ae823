//! Faults and moves that several tests make on the lab: the primary's
//! cables pulled and put back with the takeover and the failback waited
//! for, the switch keeping the servers apart, a dead primary's kernel
//! forgetting its address, a `failoverd` frozen (while it holds), a
//! holding `failoverd` killed and started again.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::daemons::Daemon;
use crate::topology::{Net, SERVICE};

use super::{stages, Lab, Owner, ACQUIRE, QUIET};

impl Lab {
    /// Waits until exactly `owner` holds the service address and, when the
    /// lab has a client, until `owner` answers a probe sent at or after
    /// `since`.
    pub fn wait_serving(&self, owner: Owner, since: Instant, logs: &[&Daemon]) {
        self.wait_owner(owner, logs);
        if self.client.is_some() {
            let who = match owner {
                Owner::Primary => "primary",
                Owner::Secondary => "secondary",
                Owner::Nobody => return,
            };
            self.wait_served_by(who, since, logs);
        }
    }

    /// Pulls both of the primary's cables and waits for the takeover (see
    /// [`Lab::wait_serving`]). Returns when the cables went.
    pub fn cut_primary_off(&self, logs: &[&Daemon]) -> Instant {
        let cut = Instant::now();
        self.t.unplug_both(&self.t.primary).unwrap();
        self.wait_serving(Owner::Secondary, cut, logs);
        cut
    }

    /// Puts both of the primary's cables back and waits for the failback
    /// (see [`Lab::wait_serving`]). Returns when the cables were back.
    pub fn plug_primary_back(&self, logs: &[&Daemon]) -> Instant {
        let plugged = Instant::now();
        self.t.plug_both(&self.t.primary).unwrap();
        self.wait_serving(Owner::Primary, plugged, logs);
        plugged
    }

    /// Pulls both of the secondary's cables, waits until `failoverd` sees
    /// it is cut off and the primary mailed that it lost its peer, leaves
    /// it so for [`QUIET`], puts the cables back and waits until the
    /// primary mailed that it has its peer again. Returns when the cables
    /// went and when they were back.
    pub fn isolate_secondary_for_a_while(
        &self,
        fo: &Daemon,
        logs: &[&Daemon],
    ) -> (Instant, Instant) {
        let cut = Instant::now();
        self.t.unplug_both(&self.t.secondary).unwrap();
        self.wait("failoverd to see it is cut off", logs, || {
            fo.logged_after(cut, "no carrier on any link").is_some()
        });
        self.wait_mailed(&self.prun, "PeerLost", logs);
        std::thread::sleep(QUIET);
        let plugged = Instant::now();
        self.t.plug_both(&self.t.secondary).unwrap();
        self.wait_mailed(&self.prun, "PeerRegained", logs);
        (cut, plugged)
    }

    /// Freezes `failoverd` (SIGSTOP) for `time` and thaws it. Returns when
    /// it thawed.
    pub fn freeze_failoverd(&self, fo: &Daemon, time: Duration) -> Instant {
        self.t.secondary.ns.signal(fo.pid, Signal::SIGSTOP).unwrap();
        std::thread::sleep(time);
        let thawed = Instant::now();
        self.t.secondary.ns.signal(fo.pid, Signal::SIGCONT).unwrap();
        thawed
    }

    /// The switch keeps the two servers from reaching each other on both
    /// networks (bridge port isolation: isolated ports reach only ports
    /// that are not isolated), while each still reaches the witness, the
    /// client and any other host. Neither sees its carrier go. `on: false`
    /// ends it.
    pub fn split(&self, on: bool) {
        let flag = if on { "on" } else { "off" };
        for server in [&self.t.primary, &self.t.secondary] {
            for net in [Net::Private, Net::Public] {
                let port = server.port(net);
                self.t
                    .switch
                    .ns()
                    .ip(&[
                        "link",
                        "set",
                        "dev",
                        &port,
                        "type",
                        "bridge_slave",
                        "isolated",
                        flag,
                    ])
                    .unwrap_or_else(|e| panic!("isolate {port}: {e}"));
            }
        }
    }

    /// Removes the service address from the primary, as its death would
    /// (the kernel of a crashed host takes its addresses along).
    pub fn primary_host_forgets_the_address(&self) {
        self.t
            .primary
            .ns
            .ip(&[
                "addr",
                "del",
                &format!("{SERVICE}/32"),
                "dev",
                self.t.primary.public_if,
            ])
            .expect("remove the dead primary's address");
    }

    /// Waits for the steady state, cuts the primary off, waits for the
    /// secondary's takeover, then freezes `failoverd` for 300 ms (SIGSTOP)
    /// and thaws it. Returns when it thawed.
    pub fn freeze_failoverd_while_it_holds(&mut self, hb: &Daemon, fo: &Daemon) -> Instant {
        self.steady(hb, fo);
        self.cut_primary_off(&[hb, fo]);
        self.wait_mailed(&self.srun, "TookOver", &[fo]);
        self.freeze_failoverd(fo, Duration::from_millis(300))
    }

    /// Kills the holding `failoverd` `fo` with SIGKILL, checks that its
    /// address stays behind (a killed daemon cannot remove it), starts a
    /// new `failoverd` and waits for `takeover` (its name in a failure),
    /// the primary being silent still: then checks that the leftover went
    /// when the new one started, before it took over. Returns the new
    /// `failoverd`, for the caller's checks of how it found the leftover.
    /// Why: the tests of a leftover's removal (by label, by protocol) do
    /// all this the same way.
    pub fn kill_and_restart_failoverd(&self, fo: &Daemon, takeover: &str) -> Daemon {
        self.t.secondary.ns.signal(fo.pid, Signal::SIGKILL).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        self.check(
            self.owners.secondary.holds_now(),
            "a killed failoverd cannot remove its address",
            &[fo],
        );
        let holds_before = self.owners.secondary.held().len();
        let restarted = Instant::now();
        let fo2 = self.failoverd(&[]);
        self.wait(takeover, &[&fo2], || {
            self.owners.secondary.holds_now()
                && fo2.logged("took over 192.0.2.10")
                && stages(&self.srun).ends_with(&ACQUIRE.map(str::to_owned))
        });
        let s = self.owners.secondary.held();
        self.check(
            s.len() > holds_before
                && s[holds_before - 1]
                    .until
                    .is_some_and(|gone| gone >= restarted),
            &format!("the leftover went when failoverd started again, then it took over: {s:?}"),
            &[&fo2],
        );
        fo2
    }

    /// Renames the secondary's interface `from` to `to` the way an
    /// administrator must (down, renamed, up again), for the tests of
    /// `failoverd` following its public interface by name.
    pub fn rename_secondary_interface(&self, from: &str, to: &str) {
        let steps: [&[&str]; 3] = [
            &["link", "set", "dev", from, "down"],
            &["link", "set", "dev", from, "name", to],
            &["link", "set", "dev", to, "up"],
        ];
        for args in steps {
            self.t
                .secondary
                .ns
                .ip(args)
                .unwrap_or_else(|e| panic!("rename {from} to {to}: {e}"));
        }
    }
}
