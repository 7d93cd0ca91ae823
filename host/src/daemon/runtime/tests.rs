//! The loop's time across a suspend: a fake [`Clock`] stands in for
//! `CLOCK_BOOTTIME`, the loop is turned by hand (no wait), and a suspend is
//! one step of the clock. What the machine then does is its stall rule;
//! what these tests show is the plumbing: the time the machine is given is
//! the clock's, jump included, and the loop says so in the log first.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant as StdInstant;

use failover_core::primary::Phase as PrimaryPhase;
use failover_core::secondary::Phase as SecondaryPhase;
use failover_core::{
    Duration, Instant, NodeId, Primary, PrimaryConfig, Role, Secondary, SecondaryConfig,
};
use failover_core::{Machine, Stage};
use nix::sys::signal::SigSet;
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::{Effects, Io, Labels, Runtime, Setup, StateFiles};
use crate::config::cli::{Program, StartupError};
use crate::daemon::clock::Clock;
use crate::daemon::node::Node;
use crate::daemon::ports::Ports;
use crate::daemon::reload::{DaemonSettings, RestartSettings};
use crate::daemon::services::Services;
use crate::net::AnnouncePlan;
use crate::netlink::addr::Netlink;
use crate::netlink::linkwatch::LinkWatch;
use crate::notify::{LogCapture, Logger, Notifier, NotifyContext};
use crate::scripts::StageContext;

const INTERVAL: Duration = Duration::from_millis(100);
const JUMP_LINE: &str = "the clock jumped";
const STALLED_LINE: &str = "was frozen too long";

/// A clock the test moves: what `CLOCK_BOOTTIME` reads, suspends included.
#[derive(Clone, Default)]
struct FakeClock(Rc<Cell<u64>>);

impl FakeClock {
    fn step(&self, d: Duration) {
        self.0.set(self.0.get().saturating_add(d.total_micros()));
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        Instant::from_micros(self.0.get())
    }
}

/// A loop for `node` on `clock`, with no channel, no address, no script
/// runner and the log in memory: nothing that needs privileges.
fn runtime<N: Node>(node: N, program: Program, clock: &FakeClock) -> (Runtime<N>, LogCapture) {
    let role = node.role();
    let (log, capture) = Logger::memory(program.name());
    let mut netlink = Netlink::open().expect("a netlink socket");
    let carrier = LinkWatch::open(&mut netlink, &[], &[]).expect("the carrier watch");
    let signals =
        SignalFd::with_flags(&SigSet::empty(), SfdFlags::SFD_NONBLOCK).expect("a signal fd");
    let dir = std::env::temp_dir();
    let disk = crate::disk::Disk::start(log.clone()).expect("the writer thread");
    let setup = Setup {
        log: log.clone(),
        io: Io {
            ports: Ports::open(&[], &[], 1, crate::net::Senders::Any).expect("no channels"),
            netlink,
            carrier,
            probe: None,
            signals,
        },
        effects: Effects {
            services: Services::default(),
            runner: None,
            health: None,
            hooks: None,
            notifier: Notifier::new(log.clone(), None, disk.clone()),
            announce: AnnouncePlan::default(),
        },
        labels: Labels {
            program,
            link_names: vec!["private (test0)".to_owned()],
            peer: "peer".to_owned(),
            witness: None,
            notify_base: NotifyContext::new("test", role),
            stage_base: StageContext {
                role,
                addresses: Vec::new(),
                peer: None,
                reason: String::new(),
            },
        },
        files: StateFiles {
            pid_file: dir.join("failover-clock-test.pid"),
            epoch_file: dir.join("failover-clock-test.epoch"),
            peers_file: dir.join("failover-clock-test.peers"),
            peer_epochs: Vec::new(),
        },
        reload: Box::new(move || Err(StartupError::new(program, Vec::new(), Vec::new()))),
        settings: RestartSettings {
            port: 1,
            interval: INTERVAL,
            witness: None,
            services: Vec::new(),
            spool_dir: dir.join("spool"),
            probe: None,
            files: Default::default(),
            facility: Default::default(),
            announce: Default::default(),
            metrics_file: None,
            apple_compat: false,
            daemon: DaemonSettings::Heartbeatd {
                targets: Vec::new(),
                peer: None,
                failback: Default::default(),
                checks: None,
            },
        },
        disk,
        status_disk: crate::disk::Disk::start(log.clone()).expect("the writer thread"),
    };
    (Runtime::new(node, setup, Box::new(clock.clone())), capture)
}

/// Turns the loop every quarter interval until `done` (at most `limit`
/// turns). Returns whether it got there.
fn turn_until<N: Node>(
    rt: &mut Runtime<N>,
    clock: &FakeClock,
    limit: u32,
    done: impl Fn(&N) -> bool,
) -> bool {
    for _ in 0..limit {
        rt.advance(StdInstant::now());
        if done(rt.node()) {
            return true;
        }
        clock.step(INTERVAL.saturating_div(4));
    }
    false
}

/// The position of the first log line containing `needle`.
fn line_of(capture: &LogCapture, needle: &str) -> Option<usize> {
    capture.text().lines().position(|l| l.contains(needle))
}

/// A managing primary that took the addresses (the secondary silent since
/// its start), on `clock`.
fn holding_primary(clock: &FakeClock) -> (Runtime<Primary>, LogCapture) {
    let mut config = PrimaryConfig::new(NodeId(0xC633_6401), 1, 1, INTERVAL);
    config.manage_addresses = true;
    let node = Primary::try_new(config, Instant::from_micros(0)).expect("config");
    let (mut rt, capture) = runtime(node, Program::Heartbeatd, clock);
    let holding = turn_until(&mut rt, clock, 100, |n| n.phase() == PrimaryPhase::Holding);
    assert!(holding, "the primary never held:\n{}", capture.text());
    (rt, capture)
}

#[test]
fn a_suspended_primary_drops_its_addresses_at_the_resume() {
    let clock = FakeClock::default();
    let (mut rt, capture) = holding_primary(&clock);
    assert_eq!(line_of(&capture, JUMP_LINE), None, "{}", capture.text());

    // Suspended for 12.3 s: CLOCK_BOOTTIME counts it.
    clock.step(Duration::from_millis(12_300));
    rt.advance(StdInstant::now());

    let text = capture.text();
    assert!(
        matches!(rt.node().phase(), PrimaryPhase::Reclaiming { .. }),
        "still {:?}:\n{text}",
        rt.node().phase()
    );
    assert!(
        text.contains("the clock jumped 12.3 s between two turns (suspend or a stall)"),
        "{text}"
    );
    // The jump is said first, then what the machine did about it.
    let jump = line_of(&capture, JUMP_LINE).expect("the jump line");
    let stalled = line_of(&capture, STALLED_LINE).expect("the Stalled notice");
    let phase = line_of(&capture, "holding the addresses → reclaiming").expect("the phase change");
    assert!(jump < stalled && stalled < phase, "{text}");
}

#[test]
fn a_suspend_the_clock_does_not_count_goes_unnoticed() {
    // The same suspend on a clock that stops during it (CLOCK_MONOTONIC):
    // the machine's time shows no gap, so it keeps the addresses the
    // secondary may have taken meanwhile. This is the bug the daemons'
    // clock exists for.
    let clock = FakeClock::default();
    let (mut rt, capture) = holding_primary(&clock);
    clock.step(INTERVAL.saturating_div(4));
    rt.advance(StdInstant::now());
    assert_eq!(rt.node().phase(), PrimaryPhase::Holding);
    assert_eq!(line_of(&capture, JUMP_LINE), None, "{}", capture.text());
    assert_eq!(line_of(&capture, STALLED_LINE), None, "{}", capture.text());
}

#[test]
fn a_suspended_secondary_drops_what_it_took_over_and_listens_afresh() {
    let clock = FakeClock::default();
    let mut config = SecondaryConfig::new(NodeId(0xC633_6402), 1, 1, INTERVAL);
    config.primary = Some(NodeId(0xC633_6401));
    let node = Secondary::try_new(config, Instant::from_micros(0)).expect("config");
    let (mut rt, capture) = runtime(node, Program::Failoverd, &clock);
    // The primary silent since the start: the secondary takes over (no
    // scripts here, so every stage succeeds at once).
    let holding = turn_until(&mut rt, &clock, 400, |n| {
        n.phase() == SecondaryPhase::Holding
    });
    assert!(
        holding,
        "the secondary never took over:\n{}",
        capture.text()
    );
    assert_eq!(rt.node().role(), Role::Secondary);

    clock.step(Duration::from_secs(30));
    rt.advance(StdInstant::now());

    // Removed at once, PostRel running (PreRel cannot come first).
    let text = capture.text();
    assert!(
        matches!(
            rt.node().phase(),
            SecondaryPhase::Releasing {
                stage: Stage::PostRel,
                ..
            }
        ),
        "{:?}:\n{text}",
        rt.node().phase()
    );
    assert!(
        text.contains("the clock jumped 30.0 s between two turns"),
        "{text}"
    );
    let jump = line_of(&capture, JUMP_LINE).expect("the jump line");
    let stalled = line_of(&capture, STALLED_LINE).expect("the Stalled notice");
    assert!(jump < stalled, "{text}");
    // PostRel done: monitoring, the primary's silence counted from now.
    let monitoring = turn_until(&mut rt, &clock, 2, |n| {
        n.phase() == SecondaryPhase::Monitoring
    });
    assert!(monitoring, "{:?}:\n{}", rt.node().phase(), capture.text());
    assert!(!rt.node().holds_addresses());
}

#[test]
fn the_snapshot_follows_the_phase_and_the_changes_of_hands() {
    use crate::daemon::status::snapshot::PeerState;
    use crate::daemon::status::{json, text};

    let clock = FakeClock::default();
    let mut config = SecondaryConfig::new(NodeId(0xC633_6402), 1, 1, INTERVAL);
    config.primary = Some(NodeId(0xC633_6401));
    let node = Secondary::try_new(config, Instant::from_micros(0)).expect("config");
    let (mut rt, capture) = runtime(node, Program::Failoverd, &clock);
    let s = rt.snapshot();
    assert_eq!(
        (s.program, s.role, s.phase.name),
        ("failoverd", "secondary", "monitoring")
    );
    assert_eq!(s.peer.state, PeerState::NotHeard);
    assert_eq!(s.transitions, [("takeover", 0), ("failback", 0)]);
    assert!(s.last_transition.is_none());
    assert_eq!(s.links.len(), 1);
    assert_eq!(
        (s.links[0].label.as_str(), s.links[0].name),
        ("private (test0)", "private")
    );
    assert_eq!(s.links[0].heard_ago, None);

    // The primary silent since the start: a takeover.
    let holding = turn_until(&mut rt, &clock, 400, |n| {
        n.phase() == SecondaryPhase::Holding
    });
    assert!(holding, "{}", capture.text());
    clock.step(Duration::from_secs(1));
    let s = rt.snapshot();
    assert_eq!(s.phase.name, "holding");
    assert_eq!(s.phase.age, Duration::from_secs(1));
    assert_eq!(s.transitions, [("takeover", 1), ("failback", 0)]);
    let last = s.last_transition.clone().expect("the takeover");
    assert_eq!((last.kind, last.event), ("takeover", "TookOver"));
    assert!(
        last.reason
            .starts_with("the peer is silent on every network"),
        "{}",
        last.reason
    );
    assert_eq!(last.ago, Duration::from_secs(1));
    assert!(text::render(&s).contains("role: secondary; state: holding the service addresses"));

    // A suspend: the addresses dropped, and the release's reason is the
    // stall's, not "the primary is back".
    clock.step(Duration::from_secs(30));
    rt.advance(StdInstant::now());
    let monitoring = turn_until(&mut rt, &clock, 4, |n| {
        n.phase() == SecondaryPhase::Monitoring
    });
    assert!(monitoring, "{}", capture.text());
    let s = rt.snapshot();
    assert_eq!(s.phase.name, "monitoring");
    assert_eq!(s.transitions, [("takeover", 1), ("failback", 1)]);
    let last = s.last_transition.clone().expect("the failback");
    assert_eq!((last.kind, last.event), ("failback", "Relinquished"));
    assert!(
        last.reason.contains("was frozen too long"),
        "{}",
        last.reason
    );
    let v: serde_json::Value = serde_json::from_str(&json::render(&s)).expect("JSON");
    assert_eq!(v["last_transition"]["kind"], "failback");
    assert_eq!(v["transitions"]["takeover"], 1);
}
