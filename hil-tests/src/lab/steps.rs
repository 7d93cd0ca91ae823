//! Faults and moves that several tests make on the lab, beyond pulling
//! cables ([`crate::topology`]): the switch keeping the servers apart, a
//! dead primary's kernel forgetting its address, a `failoverd` frozen while
//! it holds.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::daemons::Daemon;
use crate::topology::{Net, PUBLIC_IF, SERVICE};

use super::{Lab, Owner};

impl Lab {
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
            .ip(&["addr", "del", &format!("{SERVICE}/32"), "dev", PUBLIC_IF])
            .expect("remove the dead primary's address");
    }

    /// Waits for the steady state, cuts the primary off, waits for the
    /// secondary's takeover, then freezes `failoverd` for 300 ms (SIGSTOP)
    /// and thaws it. Returns when it thawed.
    pub fn freeze_failoverd_while_it_holds(&mut self, hb: &Daemon, fo: &Daemon) -> Instant {
        self.steady(hb, fo);
        let cut = Instant::now();
        self.t.unplug_both(&self.t.primary).unwrap();
        self.wait_owner(Owner::Secondary, &[hb, fo]);
        self.wait_served_by("secondary", cut, &[hb, fo]);
        self.wait_mailed(&self.srun, "TookOver", &[fo]);
        self.t.secondary.ns.signal(fo.pid, Signal::SIGSTOP).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let thawed = Instant::now();
        self.t.secondary.ns.signal(fo.pid, Signal::SIGCONT).unwrap();
        thawed
    }
}
