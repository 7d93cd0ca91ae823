//! The lab harness: one lab network ([`Topology`]) with what every use of
//! it needs around it — the daemons' binaries and run directories, an echo
//! responder and an ownership sampler on each server, the witness when
//! there is one, the client and the captures when asked for — built in one
//! place for the scenario tests, the witness tests, the demo and the
//! benchmark.
//!
//! One type, [`Lab`], with two layers, one concept a file:
//!
//! * the plain layer, for the demo and the benchmark, which report a
//!   failure and clean up instead of panicking: building the lab and its
//!   captures (this file), starting the daemons (`daemons.rs`), asking who
//!   holds the address (`owners.rs`);
//! * the checking layer, for the tests: bounded waits and checks that fail
//!   the test with everything that helps to see why (`checks.rs`: the
//!   daemons' logs, the mail, the scripts that ran, who held the address,
//!   what the client saw, the witness's log); the steady state and the
//!   waits for an owner or a mail (`steady.rs`); "never two holders" and
//!   the other checks of an outcome (`outcome.rs`); faults several tests
//!   share (`steps.rs`); the client (`client.rs`), the mail (`mail.rs`),
//!   the stage scripts (`stages.rs`), the witness (`witness.rs`); and what
//!   every lab test does first, skip unless it can run and take the lock
//!   that runs the tests one at a time (`testing.rs`,
//!   [`lab_test!`](crate::lab_test), [`witness_test!`](crate::witness_test)).
//!
//! Teardown, on drop (also when a test fails): every `failoverd` the lab
//! started is killed first (were `heartbeatd` to go first, `failoverd`
//! could start a takeover, and its scripts would outlive it); then the
//! fields drop in order: the observers stop, the namespaces go (killing the
//! daemons and QEMU by PID), the files last.

mod checks;
mod client;
mod daemons;
mod ipv6;
mod mail;
mod outcome;
mod owners;
mod stages;
mod steady;
mod steps;
mod testing;
mod witness;

use std::cell::{Cell, RefCell};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use failover_core::wire::DEFAULT_PORT;
use nix::sys::signal::Signal;

pub use client::{longest_outage, NO_OUTAGE};
pub use daemons::Daemons;
pub use ipv6::Ipv6Side;
pub use mail::{anomaly_mails_only, events, events_since, notified, only};
pub use outcome::primary_kept_it;
pub use owners::{Owner, Owners};
pub use stages::{
    acquire_then_dropped, acquire_then_release, record_file, record_stage, record_stages, stages,
    ACQUIRE, RELEASE,
};
pub use testing::{ready, serial, witness_ready, Serial, SCENARIO_LIMIT, WITNESS_LIMIT};

use crate::daemons::{Binaries, Profile, RunDir, Scratch};
use crate::observe::{Capture, ProtocolCapture};
use crate::service::{Prober, Responder};
use crate::topology::{Topology, PRIVATE_BRIDGE, PUBLIC_BRIDGE, SERVICE};
use crate::witness::WitnessNode;

/// How often address ownership is sampled, and the client probes.
pub const PERIOD: Duration = Duration::from_millis(1);
/// Polling step of the tests' waits (what they wait for is timed by the
/// observers, not by this).
pub const STEP: Duration = Duration::from_millis(2);
/// How long "nothing happens" is watched for after a fault that must not
/// cause a takeover: 150 intervals of the fast profile, 50 of its dead
/// times, 25 of the witness's.
pub const QUIET: Duration = Duration::from_millis(1500);

/// Where a lab's files go.
#[derive(Debug, Clone)]
pub enum Place {
    /// A test's scratch directory ([`Scratch`]: removed when the test
    /// passes, kept and named when it fails), with a run directory of its
    /// own for each server (`primary/`, `secondary/`): each server's mail
    /// is then its own.
    Scratch {
        /// The kind of test (`scenario`, `witness`), in the directory's name.
        kind: &'static str,
        /// The test's short name, in the directory's name.
        test: &'static str,
        /// What a failed test's directory holds, for the message naming it.
        what: &'static str,
    },
    /// A directory that stays (the demo's, a benchmark run's), used as the
    /// one run directory of both servers, as the demo and the benchmark
    /// have always laid out their logs.
    Kept(PathBuf),
}

/// What to build.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Where its files go.
    pub place: Place,
    /// How fast the daemons beat and judge.
    pub profile: Profile,
    /// The witness firmware to plug in (powered off), if any.
    pub witness: Option<PathBuf>,
    /// Run the daemons at real-time priority (the tests: see
    /// [`crate::control::real_time`]). The demo and the benchmark show the
    /// daemons as they are deployed by default, at normal priority.
    pub real_time: bool,
    /// Start the client once the steady state is reached
    /// ([`Lab::steady`]).
    pub client_when_steady: bool,
    /// Generous bound on anything a test waits for.
    pub limit: Duration,
    /// The servers' public interface
    /// ([`crate::topology::Topology::with_public_interface`]; normally
    /// [`crate::topology::PUBLIC_IF`]).
    pub public_if: &'static str,
}

/// A lab network with its observers, and the files of the run. See the
/// module's documentation.
#[derive(Debug)]
pub struct Lab {
    /// The client asking the service address every [`PERIOD`], once
    /// started ([`Lab::start_client`]).
    pub client: Option<Prober>,
    /// Gratuitous ARPs and ARP replies for the service address on the
    /// public bridge, once started ([`Lab::capture_arp`]).
    pub arp: Option<Capture>,
    /// The protocol on the private bridge (heartbeats, the witness
    /// exchange), once started ([`Lab::capture_protocol`]).
    pub protocol: Option<ProtocolCapture>,
    /// Who has the service address, sampled every [`PERIOD`].
    pub owners: Owners,
    _responders: (Responder, Responder),
    /// The witness, when the setup named its firmware (powered off until
    /// [`Lab::power_on`]).
    pub witness: Option<WitnessNode>,
    /// The network.
    pub t: Topology,
    /// The daemons' binaries.
    pub bins: Binaries,
    /// The daemons' profile.
    pub profile: Profile,
    /// The primary's run directory (its mail, its state).
    pub prun: RunDir,
    /// The secondary's run directory (its scripts, mail, state); the
    /// primary's own in a [`Place::Kept`] lab.
    pub srun: RunDir,
    /// `failoverd`'s `--witness-policy` with a witness.
    pub policy: &'static str,
    /// The daemons' `--key-file` arguments with a witness (the firmware's
    /// key; none for an unkeyed firmware).
    pub keys: Vec<String>,
    /// The primary's and the secondary's public MACs.
    pub macs: (String, String),
    real_time: bool,
    client_when_steady: bool,
    limit: Duration,
    /// Every `failoverd` started, for the teardown.
    failoverds: RefCell<Vec<u32>>,
    /// The failure was reported with everything ([`Lab::fail`]).
    reported: Cell<bool>,
    dir: PathBuf,
    _scratch: Option<Scratch>,
}

impl Lab {
    /// Builds the network and starts its observers.
    pub fn new(setup: Setup) -> io::Result<Lab> {
        let bins = Binaries::find()?;
        let (scratch, dir, prun, srun) = match setup.place {
            Place::Scratch { kind, test, what } => {
                let s = Scratch::new(kind, test, what)?;
                let dir = s.base.clone();
                let prun = RunDir::create(&dir.join("primary"))?;
                let srun = RunDir::create(&dir.join("secondary"))?;
                (Some(s), dir, prun, srun)
            }
            Place::Kept(dir) => {
                let run = RunDir::create(&dir)?;
                (None, dir, run.clone(), run)
            }
        };
        let t = Topology::with_public_interface(setup.public_if)?;
        let witness = match &setup.witness {
            Some(elf) => Some(WitnessNode::attach(&t, elf, &dir.join("witness"))?),
            None => None,
        };
        let keys = if witness.is_some() {
            crate::witness::key_args()
        } else {
            Vec::new()
        };
        let responders = (
            Responder::start(&t.primary.ns, "primary")?,
            Responder::start(&t.secondary.ns, "secondary")?,
        );
        let owners = Owners::start(&t, PERIOD)?;
        let macs = (t.primary.public_mac()?, t.secondary.public_mac()?);
        Ok(Lab {
            client: None,
            arp: None,
            protocol: None,
            owners,
            _responders: responders,
            witness,
            t,
            bins,
            profile: setup.profile,
            prun,
            srun,
            policy: "required",
            keys,
            macs,
            real_time: setup.real_time,
            client_when_steady: setup.client_when_steady,
            limit: setup.limit,
            failoverds: RefCell::new(Vec::new()),
            reported: Cell::new(false),
            dir,
            _scratch: scratch,
        })
    }

    /// The lab's directory (the run directories, the witness's files).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts capturing gratuitous ARPs and ARP replies for the service
    /// address on the public bridge ([`Lab::arp`]).
    pub fn capture_arp(&mut self) -> io::Result<()> {
        self.arp = Some(Capture::start(self.t.switch.ns(), PUBLIC_BRIDGE, SERVICE)?);
        Ok(())
    }

    /// Starts capturing the protocol on the private bridge
    /// ([`Lab::protocol`]): heartbeats and the witness exchange.
    pub fn capture_protocol(&mut self) -> io::Result<()> {
        self.protocol = Some(ProtocolCapture::start(
            self.t.switch.ns(),
            PRIVATE_BRIDGE,
            DEFAULT_PORT,
        )?);
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for pid in self.failoverds.borrow().iter() {
            let _ = self.t.secondary.ns.signal(*pid, Signal::SIGKILL);
        }
        self.report_unreported_panic();
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::holds::{held_at, overlap_within, Held};
    use crate::service::Probe;

    /// The outcome helpers of the scenarios, on made-up data (no root
    /// needed).
    #[test]
    fn helpers_measure_what_they_say() {
        let t = Instant::now();
        let ms = |n: u64| t + Duration::from_millis(n);
        let held = |from: u64, until: u64| Held {
            from: ms(from),
            until: Some(ms(until)),
        };
        let a = [held(0, 100)];
        let b = [held(50, 150)];
        assert_eq!(
            overlap_within(&a, &b, ms(0), ms(200)),
            Duration::from_millis(50)
        );
        assert_eq!(
            overlap_within(&a, &b, ms(80), ms(200)),
            Duration::from_millis(20)
        );
        assert_eq!(overlap_within(&a, &b, ms(120), ms(200)), Duration::ZERO);
        let p = |sent: u64, answered: bool| Probe {
            seq: 0,
            sent: ms(sent),
            answer: answered.then(|| (ms(sent + 1), "primary".to_owned())),
        };
        let probes = [
            p(0, true),
            p(1, false),
            p(2, false),
            p(9, true),
            p(10, false),
        ];
        assert_eq!(
            longest_outage(&probes, ms(0), ms(12)),
            Duration::from_millis(8)
        );
        assert_eq!(
            longest_outage(&probes, ms(3), ms(30)),
            Duration::from_millis(20)
        );
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut ran = owned(&ACQUIRE);
        assert!(!acquire_then_release(&ran));
        ran.extend(owned(&RELEASE));
        assert!(acquire_then_release(&ran));
        ran.extend(owned(&RELEASE));
        assert!(!acquire_then_release(&ran), "two PreRel");
        assert!(anomaly_mails_only(&owned(&[
            "NetworkAnomaly",
            "NetworkRestored"
        ])));
        assert!(!anomaly_mails_only(&owned(&[
            "NetworkAnomaly",
            "NetworkAnomaly",
            "NetworkRestored"
        ])));
        assert!(!anomaly_mails_only(&owned(&["NetworkAnomaly"])));
        assert!(!anomaly_mails_only(&owned(&[
            "NetworkAnomaly",
            "TookOver",
            "NetworkRestored"
        ])));
        assert_eq!(held_at(&a, ms(50)), Some(a[0]));
        assert_eq!(held_at(&a, ms(120)), None);
    }
}
