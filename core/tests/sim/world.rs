//! The simulated world: the three machines, the network between them, their
//! scripts and addresses, virtual time, and the invariants checked after
//! every step.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Write as _;
use std::rc::Rc;

use failover_core::wire::{
    Body, FrameRepr, Header, HeartbeatFlags, HeartbeatRepr, Key, Keyring, MAX_FRAME_LEN,
};
use failover_core::{
    standby::Accepted, Action, DeadTime, Dest, Duration, FenceConfig, Instant, LinkId, Machine,
    NodeId, Primary, PrimaryConfig, Removal, Role, Secondary, SecondaryConfig, Server, Stage,
    StageOutcome, Timing, Witness, WitnessConfig, WitnessPolicy,
};
use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::net::{attached, Network};
use super::schedule::{EpochPick, Fault, Forgery, Schedule};
use super::NodeIx;

const NODES: [NodeIx; 3] = [NodeIx::Primary, NodeIx::Secondary, NodeIx::Witness];
const TRACE_LINES: usize = 60;
/// Frames kept for replay attacks.
const CAPTURE: usize = 64;

/// The state machine a simulated node runs.
enum AnyMachine {
    Primary(Box<Primary>),
    Secondary(Box<Secondary>),
    Witness(Box<Witness>),
}

impl AnyMachine {
    fn as_machine(&mut self) -> &mut dyn Machine {
        match self {
            AnyMachine::Primary(m) => m.as_mut(),
            AnyMachine::Secondary(m) => m.as_mut(),
            AnyMachine::Witness(m) => m.as_mut(),
        }
    }
    /// The servers' controls; the witness's firmware watches its own link.
    fn as_server(&mut self) -> Option<&mut dyn Server> {
        match self {
            AnyMachine::Primary(m) => Some(m.as_mut()),
            AnyMachine::Secondary(m) => Some(m.as_mut()),
            AnyMachine::Witness(_) => None,
        }
    }
    fn poll_at(&self) -> Option<Instant> {
        match self {
            AnyMachine::Primary(m) => m.poll_at(),
            AnyMachine::Secondary(m) => m.poll_at(),
            AnyMachine::Witness(m) => m.poll_at(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Power {
    Up,
    Frozen,
    Down,
}

struct SimNode {
    machine: Option<AnyMachine>,
    power: Power,
    /// Ground truth: the addresses are on this node's interfaces.
    has_addresses: bool,
    /// When the addresses were last added here.
    added_at: Instant,
    /// Whether the two servers could not hear each other at that moment
    /// (Apple's rule cannot tell a silent peer from a dead one).
    added_deaf: bool,
    /// Whether this node heard the other server at that moment: a node
    /// that adds while deaf to a peer whose removal failed cannot know it
    /// still holds them.
    added_hearing_peer: bool,
    /// When this node's latest acquisition began (its Test stage; the
    /// primary, which runs none, at its add).
    acquire_began: Instant,
    /// Since when a removal that failed left them here (until a removal
    /// works or the node adds them again).
    removal_failed_at: Option<Instant>,
    epoch: u32,
    /// Counts boots, so a script report from a previous life is dropped.
    life: u32,
    /// Stage reports that arrived while frozen, delivered at thaw.
    deferred: Vec<(Stage, StageOutcome)>,
    /// Ground truth: the probe target does not answer this node.
    probe_down: bool,
    /// Ground truth: the primary's service is broken (its health checks
    /// fail).
    unhealthy: bool,
    /// Ground truth: clients can reach this node (its public port is up
    /// and its probe answers).
    reachable: bool,
    /// What its machine was last told of that, and when (a frozen node
    /// hears of it at thaw).
    told_reachable: bool,
    told_since: Instant,
    /// Peer epochs the host persisted (`Action::PersistPeerEpoch`), handed
    /// back at each boot.
    peer_epochs: Vec<(NodeId, u32)>,
}

/// Something scheduled to happen at a future instant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    /// `from` is `None` for a replayed copy.
    Deliver {
        to: NodeIx,
        link: u8,
        from: Option<NodeIx>,
        /// Shared by every copy of one transmission (a frame goes to up to
        /// two receivers, duplicated, and into the replay capture): one
        /// allocation per frame sent, not per copy.
        frame: Rc<[u8]>,
    },
    StageDone {
        node: NodeIx,
        life: u32,
        stage: StageKey,
        outcome: OutcomeKey,
    },
    Fault(usize),
}

// Ordering keys for the heap (the core types are not `Ord`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct StageKey(u8);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct OutcomeKey(i32);

const STAGES: [Stage; 5] = [
    Stage::Test,
    Stage::PreAcq,
    Stage::PostAcq,
    Stage::PreRel,
    Stage::PostRel,
];

fn stage_key(s: Stage) -> StageKey {
    StageKey(STAGES.iter().position(|x| *x == s).unwrap_or(0) as u8)
}
fn outcome_key(o: StageOutcome) -> OutcomeKey {
    match o {
        StageOutcome::Success => OutcomeKey(0),
        StageOutcome::TimedOut => OutcomeKey(-1),
        StageOutcome::Failed(c) => OutcomeKey(c.max(1)),
    }
}
fn outcome_of(k: OutcomeKey) -> StageOutcome {
    match k.0 {
        0 => StageOutcome::Success,
        -1 => StageOutcome::TimedOut,
        c => StageOutcome::Failed(c),
    }
}

/// Which documented exception to invariant (1) an overlap falls under.
#[derive(Debug, Clone, Copy)]
enum Excuse {
    /// No required witness, and the servers could not hear each other.
    Partition,
    /// A required witness that could not hear the primary, and a false
    /// verdict by the secondary.
    BlindWitness,
    /// A node's removal failed while the other already held the addresses,
    /// or while the other could not hear it (it took them on the first
    /// one's silence): the failure is the host's, and the node keeps trying.
    FailedRemoval,
}

/// Why a run failed.
#[derive(Debug)]
pub struct Violation {
    pub at: Instant,
    pub what: String,
}

/// What one run observed, for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunStats {
    pub takeovers: u64,
    /// Overlaps of the documented exceptions: servers partitioned without
    /// a required witness, and a false verdict the blind witness could not
    /// veto.
    pub partition_overlaps: u64,
    pub blind_witness_overlaps: u64,
    /// Overlaps that began with a node's failed removal: the other node had
    /// added the addresses before it (nothing else can undo that).
    pub failed_removal_overlaps: u64,
    /// Removals of the addresses that the simulated host failed.
    pub removals_failed: u64,
    pub liveness_checked: u64,
    pub frames: u64,
    /// Epochs a node moved to because its seq ran out.
    pub rollovers: u64,
    /// Schedules whose only fault, one forged frame, was checked to have
    /// left no trace (invariant 6).
    pub forgeries_checked: u64,
    /// Operator requests (handover, reclaim) the primary accepted and
    /// refused.
    pub operator_accepted: u64,
    pub operator_refused: u64,
    /// Runs that ended with the secondary serving and the primary standing
    /// by (manual failback, or a handover not reclaimed).
    pub ended_standing_by: u64,
    /// Planned switchovers checked to complete in time (invariant 8).
    pub handovers_checked: u64,
    /// Times the primary's service broke (its health checks failing).
    pub health_failures: u64,
}

impl RunStats {
    /// Adds another run's counts to these.
    pub fn add(&mut self, other: &RunStats) {
        self.takeovers += other.takeovers;
        self.partition_overlaps += other.partition_overlaps;
        self.blind_witness_overlaps += other.blind_witness_overlaps;
        self.failed_removal_overlaps += other.failed_removal_overlaps;
        self.removals_failed += other.removals_failed;
        self.liveness_checked += other.liveness_checked;
        self.frames += other.frames;
        self.rollovers += other.rollovers;
        self.forgeries_checked += other.forgeries_checked;
        self.operator_accepted += other.operator_accepted;
        self.operator_refused += other.operator_refused;
        self.ended_standing_by += other.ended_standing_by;
        self.handovers_checked += other.handovers_checked;
        self.health_failures += other.health_failures;
    }
}

pub struct World {
    sched: Schedule,
    now: Instant,
    rng: Pcg64Mcg,
    /// Draws whether a removal fails: a stream of its own, so that the
    /// other draws of a seed stay what they were.
    removal_rng: Pcg64Mcg,
    net: Network,
    nodes: [SimNode; 3],
    heap: BinaryHeap<Reverse<(Instant, u64, Pending)>>,
    order: u64,
    captured: VecDeque<(u8, Rc<[u8]>)>,
    /// `heard[to][from]`: the last instant a genuine frame from `from`
    /// reached `to` (replayed copies do not count, nor frames `to` refused
    /// as unconfirmed).
    heard: [[Option<Instant>; 3]; 3],
    /// Whether the current overlap (if any) is one of the documented
    /// exceptions.
    overlap: Option<bool>,
    liveness: Option<Instant>,
    trace: VecDeque<String>,
    pub stats: RunStats,
    verbose: bool,
    /// When the schedule's forged frame (if any) was sent.
    forged_at: Option<Instant>,
    /// The last instant the primary's machine was handing the service over
    /// on the operator's request (its frames asked the secondary to serve).
    operator_handover_at: Option<Instant>,
    /// Invariant 8's deadline: a planned switchover with everything healthy
    /// puts the addresses on the secondary by then.
    handover_deadline: Option<Instant>,
    /// Invariant 8's second deadline: the switchover lasts.
    standby_deadline: Option<Instant>,
    /// When the last fault other than an operator's command struck.
    last_fault_at: Option<Instant>,
    /// Every action of every node, when recording (scenario tests).
    pub log: Option<Vec<(Instant, NodeIx, Action)>>,
    /// Every witness-exchange frame sent (request, grant, deny, release),
    /// when recording: when, by whom, its message type (2 to 5) and its
    /// reason byte.
    pub exchange: Option<Vec<(Instant, NodeIx, u8, u8)>>,
}

fn keyring() -> Keyring {
    let key = Key::new(7, b"simulated pre-shared key, 32 by.").expect("valid key");
    Keyring::new(key)
}

impl World {
    pub fn new(sched: Schedule, verbose: bool) -> World {
        let rng = Pcg64Mcg::new(u128::from(sched.seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let net = Network::new(sched.delay_min, sched.delay_max);
        let node = || SimNode {
            machine: None,
            power: Power::Down,
            has_addresses: false,
            added_at: Instant::ZERO,
            added_deaf: false,
            added_hearing_peer: false,
            acquire_began: Instant::ZERO,
            removal_failed_at: None,
            epoch: 0,
            life: 0,
            deferred: Vec::new(),
            probe_down: false,
            unhealthy: false,
            reachable: true,
            told_reachable: true,
            told_since: Instant::ZERO,
            peer_epochs: Vec::new(),
        };
        let mut world = World {
            now: Instant::ZERO,
            rng,
            removal_rng: Pcg64Mcg::new(u128::from(sched.seed) ^ 0x0de1_add0_0000_0003),
            net,
            nodes: [node(), node(), node()],
            heap: BinaryHeap::new(),
            order: 0,
            captured: VecDeque::new(),
            heard: [[None; 3]; 3],
            overlap: None,
            liveness: None,
            trace: VecDeque::new(),
            stats: RunStats::default(),
            verbose,
            log: None,
            exchange: None,
            forged_at: None,
            operator_handover_at: None,
            handover_deadline: None,
            standby_deadline: None,
            last_fault_at: None,
            sched,
        };
        world.boot(NodeIx::Primary);
        world.boot(NodeIx::Secondary);
        if world.sched.witness_present {
            world.boot(NodeIx::Witness);
        }
        for i in 0..world.sched.faults.len() {
            let at = world.sched.faults[i].0;
            world.at(at, Pending::Fault(i));
        }
        world
    }

    fn note(&mut self, line: impl FnOnce() -> String) {
        let line = format!(
            "{:>10.3} ms  {}",
            self.now.total_micros() as f64 / 1000.0,
            line()
        );
        if self.verbose {
            println!("{line}");
        }
        if self.trace.len() == TRACE_LINES {
            self.trace.pop_front();
        }
        self.trace.push_back(line);
    }

    /// Whether node `ix` has the service addresses on its interfaces now.
    /// The primary's machine, while it runs.
    pub fn primary(&self) -> Option<&Primary> {
        match self.nodes[NodeIx::Primary as usize].machine.as_ref() {
            Some(AnyMachine::Primary(m)) => Some(m),
            _ => None,
        }
    }

    /// The simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn has_addresses(&self, ix: NodeIx) -> bool {
        self.nodes[ix as usize].has_addresses
    }

    /// The last lines of the trace, for a failure report.
    pub fn trace(&self) -> String {
        let mut out = String::new();
        for line in &self.trace {
            let _ = writeln!(out, "  {line}");
        }
        out
    }

    fn at(&mut self, t: Instant, p: Pending) {
        self.order += 1;
        self.heap.push(Reverse((t, self.order, p)));
    }

    fn keys(&self) -> Option<Keyring> {
        self.sched.authenticated.then(keyring)
    }

    fn boot(&mut self, ix: NodeIx) {
        let s = &self.sched;
        let n = &mut self.nodes[ix as usize];
        n.epoch += 1;
        n.life += 1;
        n.power = Power::Up;
        n.has_addresses = false;
        n.deferred.clear();
        // A new machine believes itself reachable until told otherwise.
        n.told_reachable = true;
        let epoch = n.epoch;
        let now = self.now;
        let machine = match ix {
            NodeIx::Primary => {
                let mut c = PrimaryConfig::new(NodeId(1), epoch, 2, s.interval);
                c.secondary = Some(NodeId(2));
                c.manage_addresses = true;
                c.secondary_dead_time = s.dead_time;
                if s.policy != WitnessPolicy::Off {
                    c.witness_node = Some(NodeId(3));
                    // Let go before the witness can grant: see
                    // `witness_dead_time` for the margin.
                    c.isolation_fence = Some(isolation_fence(s));
                }
                c.keys = self.keys();
                c.failback = s.failback;
                let m = Primary::try_new(c, now).expect("primary configuration");
                AnyMachine::Primary(Box::new(m.starting_after_seq(s.start_seq)))
            }
            NodeIx::Secondary => {
                let mut c = SecondaryConfig::new(NodeId(2), epoch, 2, s.interval);
                c.primary = Some(NodeId(1));
                c.dead_time = s.dead_time;
                c.hold_down = s.hold_down;
                c.witness = s.policy;
                c.witness_node = Some(NodeId(3));
                c.witness_dead_time = s.interval.saturating_mul(4);
                c.stage_timeout = s.script_timeout.saturating_mul(2);
                c.veto_retry = s.interval.saturating_mul(50);
                c.keys = self.keys();
                let m = Secondary::try_new(c, now).expect("secondary configuration");
                AnyMachine::Secondary(Box::new(m.starting_after_seq(s.start_seq)))
            }
            NodeIx::Witness => {
                let mut c = WitnessConfig::new(NodeId(3), epoch, s.interval);
                c.primary = Some(NodeId(1));
                c.secondary = Some(NodeId(2));
                c.dead_time = witness_dead_time(s);
                if s.fence {
                    c.fence = Some(FenceConfig {
                        pulse: s.interval,
                        settle: s.interval,
                    });
                }
                c.keys = self.keys();
                // The rules between the nodes, which the witness alone
                // cannot check.
                let problems = c.problems(s.interval, isolation_fence(s), s.interval);
                assert_eq!(problems.as_slice(), &[], "witness configuration");
                let m = Witness::try_new(c, now).expect("witness configuration");
                AnyMachine::Witness(Box::new(m.starting_after_seq(s.start_seq)))
            }
        };
        let mut machine = machine;
        for &(peer, e) in &self.nodes[ix as usize].peer_epochs {
            machine.as_machine().remember_peer_epoch(peer, e);
        }
        self.nodes[ix as usize].machine = Some(machine);
        self.note(|| format!("{ix:?} boots, epoch {epoch}"));
        self.report_carrier(ix);
    }

    /// Tells a running node's machine whether any of its ports is up, as
    /// the host's link monitor does, and whether its service network (the
    /// public link) is reachable; a frozen node hears of it at thaw.
    fn report_carrier(&mut self, ix: NodeIx) {
        let any_up = self.net.up.iter().any(|link| link[ix as usize]);
        let now = self.now;
        let public_up = self.net.up[1][ix as usize];
        let n = &mut self.nodes[ix as usize];
        // Clients are served here only if the service works too.
        let reachable = public_up && !n.probe_down && !n.unhealthy;
        n.reachable = reachable;
        if n.power == Power::Up {
            if reachable != n.told_reachable {
                n.told_reachable = reachable;
                n.told_since = now;
            }
            // What a host's link monitor reports: of its service network
            // (the public link here): its carrier, and the probe target
            // answering; and whether any cable has a carrier. Reachability
            // first, as the daemons do: a machine that re-evaluates on the
            // carrier report must not act on the reachability of before.
            let healthy = !n.unhealthy;
            if let Some(m) = n.machine.as_mut().and_then(AnyMachine::as_server) {
                m.set_reachable(now, public_up && !n.probe_down);
                m.set_carrier(now, any_up);
            }
            // And, on the primary, what its health checks find.
            if let Some(AnyMachine::Primary(m)) = n.machine.as_mut() {
                m.set_healthy(now, healthy);
            }
        }
    }

    /// Whether node `ix`'s machine has known it unreachable by clients at
    /// some point in the last `window`.
    fn unreachable_within(&self, ix: NodeIx, window: Duration) -> bool {
        let n = &self.nodes[ix as usize];
        !n.told_reachable || self.now.saturating_since(n.told_since) < window
    }

    /// Runs the schedule to its end; the first violated invariant stops it.
    pub fn run(&mut self) -> Result<(), Violation> {
        let mut buf = [0u8; MAX_FRAME_LEN];
        // Bounded: every step advances time or drains a finite queue.
        let max_steps = 50_000_000u64;
        for _ in 0..max_steps {
            let next_wake = NODES
                .iter()
                .filter(|ix| self.nodes[**ix as usize].power == Power::Up)
                .filter_map(|ix| {
                    self.nodes[*ix as usize]
                        .machine
                        .as_ref()
                        .and_then(|m| m.poll_at())
                })
                .min();
            let next_event = self.heap.peek().map(|Reverse((t, _, _))| *t);
            let next = match (next_wake, next_event) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > self.sched.end {
                break;
            }
            if next > self.now {
                self.now = next;
            }
            if self.handover_deadline.is_some_and(|t| self.now >= t) {
                self.handover_deadline = None;
                self.stats.handovers_checked += 1;
                if !self.nodes[NodeIx::Secondary as usize].has_addresses {
                    return Err(self.violation("(8) a planned switchover with everything healthy did not put the addresses on the secondary in time"));
                }
                // And it lasts: fifty intervals later, still calm, the
                // secondary still serves (a witness's lease included).
                self.standby_deadline = Some(self.now + self.sched.interval.saturating_mul(50));
            }
            if self.standby_deadline.is_some_and(|t| self.now >= t) {
                self.standby_deadline = None;
                if !self.nodes[NodeIx::Secondary as usize].has_addresses {
                    return Err(self.violation("(8) after a planned switchover with everything healthy, the secondary stopped serving"));
                }
            }
            // Liveness deadline passed?
            if let Some(deadline) = self.liveness {
                if self.now >= deadline {
                    self.liveness = None;
                    self.stats.liveness_checked += 1;
                    if !self.nodes[NodeIx::Secondary as usize].has_addresses {
                        return Err(self.violation("(2) the primary died with the secondary and witness healthy, and the secondary does not hold the addresses in time"));
                    }
                }
            }
            // Events due now.
            while let Some(Reverse((t, _, _))) = self.heap.peek() {
                if *t > self.now {
                    break;
                }
                let Some(Reverse((_, _, p))) = self.heap.pop() else {
                    break;
                };
                self.handle(p)?;
            }
            // Timers due now, then drain every machine.
            for ix in NODES {
                let due = self.nodes[ix as usize].power == Power::Up
                    && self.nodes[ix as usize]
                        .machine
                        .as_ref()
                        .and_then(|m| m.poll_at())
                        .is_some_and(|t| t <= self.now);
                if due {
                    let now = self.now;
                    if let Some(m) = self.nodes[ix as usize].machine.as_mut() {
                        m.as_machine().handle_timeout(now);
                    }
                }
                self.drain(ix, &mut buf)?;
            }
        }
        self.final_check()
    }

    fn violation(&self, what: &str) -> Violation {
        Violation {
            at: self.now,
            what: what.to_string(),
        }
    }

    fn handle(&mut self, p: Pending) -> Result<(), Violation> {
        match p {
            Pending::Deliver {
                to,
                link,
                from,
                frame,
            } => {
                let n = &mut self.nodes[to as usize];
                if n.power != Power::Up {
                    return Ok(());
                }
                let mut unconfirmed = false;
                if let Some(m) = n.machine.as_mut() {
                    let before = m.as_machine().stats().rx.unconfirmed;
                    m.as_machine().handle_frame(self.now, LinkId(link), &frame);
                    unconfirmed = m.as_machine().stats().rx.unconfirmed != before;
                }
                // A frame refused as unconfirmed (without a key: a new
                // epoch not yet corroborated) is one the node cannot tell
                // from a forgery: it has not heard its peer (seed
                // 10000000274850: a primary power-cycled within an interval
                // under loss got one frame of its new life through, and the
                // secondary, rightly, took over on the old life's silence).
                if let Some(from) = from.filter(|_| !unconfirmed) {
                    self.heard[to as usize][from as usize] = Some(self.now);
                }
                if from == Some(NodeIx::Primary)
                    && self.nodes[NodeIx::Primary as usize].power != Power::Up
                {
                    self.rearm_liveness(to);
                }
                // With SIM_DEBUG_FRAMES set, a replay lists every frame
                // delivered (`from: None` marks a replayed or forged one).
                if self.verbose && std::env::var_os("SIM_DEBUG_FRAMES").is_some() {
                    if let Ok(f) = failover_core::wire::UnverifiedFrame::parse(&frame) {
                        let h = f.header;
                        self.note(|| {
                            format!(
                                "{to:?} <- {:?} on link {link}: epoch {} seq {} (from {from:?})",
                                h.sender, h.epoch, h.seq
                            )
                        });
                    }
                }
                if self.verbose {
                    if let Ok(f) = failover_core::wire::FrameRepr::parse(&frame, None) {
                        if let failover_core::wire::Body::Witness(w) = f.body {
                            let phase = match self.nodes[to as usize].machine.as_ref() {
                                Some(AnyMachine::Secondary(m)) => format!("{:?}", m.phase()),
                                _ => String::new(),
                            };
                            self.note(|| format!("{to:?} <- {:?} {w:?} {phase}", f.header.sender));
                        }
                    }
                }
                let mut buf = [0u8; MAX_FRAME_LEN];
                self.drain(to, &mut buf)?;
            }
            Pending::StageDone {
                node,
                life,
                stage,
                outcome,
            } => {
                let stage = STAGES[stage.0 as usize];
                let outcome = outcome_of(outcome);
                let n = &mut self.nodes[node as usize];
                if n.life != life || n.power == Power::Down {
                    return Ok(());
                }
                if n.power == Power::Frozen {
                    n.deferred.push((stage, outcome));
                    return Ok(());
                }
                if let Some(m) = n.machine.as_mut() {
                    m.as_machine().handle_stage_done(self.now, stage, outcome);
                }
                self.note(|| format!("{node:?} stage {} done: {outcome:?}", stage.name()));
                let mut buf = [0u8; MAX_FRAME_LEN];
                self.drain(node, &mut buf)?;
            }
            Pending::Fault(i) => {
                let fault = self.sched.faults[i].1;
                self.apply(fault);
                let mut buf = [0u8; MAX_FRAME_LEN];
                for ix in NODES {
                    self.drain(ix, &mut buf)?;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, fault: Fault) {
        self.note(|| format!("FAULT {fault:?}"));
        // Any fault while a liveness check is pending makes it moot.
        if !matches!(fault, Fault::Kill(NodeIx::Primary)) {
            self.liveness = None;
        }
        self.handover_deadline = None;
        self.standby_deadline = None;
        if !matches!(fault, Fault::Handover | Fault::Reclaim) {
            self.last_fault_at = Some(self.now);
        }
        match fault {
            Fault::Port { node, link, up } => {
                self.net.up[link][node as usize] = up;
                self.report_carrier(node);
            }
            Fault::Probe { node, up } => {
                self.nodes[node as usize].probe_down = !up;
                self.report_carrier(node);
            }
            Fault::Loss { link, loss } => self.net.set_link_loss(link, loss),
            Fault::Dup { link, dup } => {
                for from in 0..3 {
                    for to in 0..3 {
                        self.net.quality[link][from][to].dup = dup;
                    }
                }
            }
            Fault::Kill(ix) => {
                let n = &mut self.nodes[ix as usize];
                if n.power == Power::Down {
                    return;
                }
                let was_clean = n.power == Power::Up;
                n.power = Power::Down;
                n.machine = None;
                n.has_addresses = false;
                // A machine that knew itself unreachable said so in its
                // last frames, and a peer may act on them after it died, as
                // it would had it lived (seed 260906847952: an unhealthy
                // primary asked for a handover, was power-cycled within an
                // interval, and its new life's first frames were not yet
                // believed; the secondary took over on the old life's word).
                // Its word counts from its death, not from when it was told.
                if !n.told_reachable {
                    n.told_reachable = true;
                    n.told_since = self.now;
                }
                if ix == NodeIx::Primary && was_clean {
                    self.arm_liveness();
                }
            }
            Fault::Restart(ix) => {
                if self.nodes[ix as usize].power == Power::Down {
                    self.boot(ix);
                }
            }
            Fault::Freeze(ix) => {
                let n = &mut self.nodes[ix as usize];
                if n.power == Power::Up {
                    n.power = Power::Frozen;
                }
            }
            Fault::Thaw(ix) => {
                let n = &mut self.nodes[ix as usize];
                if n.power == Power::Frozen {
                    n.power = Power::Up;
                    let now = self.now;
                    let deferred = std::mem::take(&mut n.deferred);
                    if let Some(m) = n.machine.as_mut() {
                        // A resumed node first notices the time that passed.
                        m.as_machine().handle_timeout(now);
                        for (stage, outcome) in deferred {
                            m.as_machine().handle_stage_done(now, stage, outcome);
                        }
                    }
                    self.report_carrier(ix);
                }
            }
            Fault::Forge { count } => {
                let forger = Keyring::new(
                    Key::new(7, b"the attacker's guess at the key").expect("valid key"),
                );
                for i in 0..count {
                    let frame = FrameRepr {
                        header: Header {
                            sender: NodeId(1),
                            role: Role::Primary,
                            link: LinkId(i as u8 % 2),
                            epoch: u32::MAX,
                            seq: i,
                        },
                        body: Body::Heartbeat(HeartbeatRepr {
                            beat: i,
                            interval: self.sched.interval,
                            ack_epoch: 0,
                            ack_seq: 0,
                            flags: HeartbeatFlags::RECLAIM.with(HeartbeatFlags::HOLDS),
                            message: heapless::Vec::new(),
                        }),
                    };
                    let mut buf = [0u8; MAX_FRAME_LEN];
                    let Ok(len) = frame.emit(&mut buf, Some(&forger)) else {
                        continue;
                    };
                    for to in [NodeIx::Secondary, NodeIx::Witness] {
                        let link = if to == NodeIx::Witness {
                            0
                        } else {
                            (i % 2) as u8
                        };
                        let at = self.now
                            + self
                                .sched
                                .interval
                                .saturating_div(u64::from(count))
                                .saturating_mul(u64::from(i));
                        self.at(
                            at,
                            Pending::Deliver {
                                to,
                                link,
                                from: None,
                                frame: Rc::from(&buf[..len]),
                            },
                        );
                    }
                }
            }
            Fault::ForgeOne(f) => self.forge_one(f),
            Fault::Handover | Fault::Reclaim => self.operator(fault),
            Fault::Health { ok } => {
                self.stats.health_failures += u64::from(!ok);
                self.nodes[NodeIx::Primary as usize].unhealthy = !ok;
                self.report_carrier(NodeIx::Primary);
            }
            Fault::Replay { count } => {
                for _ in 0..count {
                    if self.captured.is_empty() {
                        break;
                    }
                    let i = self.rng.gen_range(0..self.captured.len());
                    let (link, frame) = self.captured[i].clone();
                    let to = NODES[self.rng.gen_range(0..NODES.len())];
                    let delay = Duration::from_micros(
                        self.rng.gen_range(0..=self.sched.delay_max.total_micros()),
                    );
                    self.at(
                        self.now + delay,
                        Pending::Deliver {
                            to,
                            link,
                            from: None,
                            frame,
                        },
                    );
                }
            }
        }
    }

    /// One unkeyed forged heartbeat, delivered now.
    /// The operator's command reaches the primary's daemon, if it runs (a
    /// frozen one answers nothing: the command times out).
    fn operator(&mut self, fault: Fault) {
        let now = self.now;
        let n = &mut self.nodes[NodeIx::Primary as usize];
        if n.power != Power::Up {
            return;
        }
        let Some(AnyMachine::Primary(m)) = n.machine.as_mut() else {
            return;
        };
        let was_holding = m.holds_addresses();
        let answer = if fault == Fault::Handover {
            m.request_handover(now)
        } else {
            m.request_reclaim(now)
        };
        match answer {
            Ok(_) => self.stats.operator_accepted += 1,
            Err(_) => self.stats.operator_refused += 1,
        }
        self.note(|| format!("operator {fault:?}: {answer:?}"));
        if fault == Fault::Handover && was_holding && answer == Ok(Accepted::Started) {
            self.arm_handover_check();
        }
    }

    /// (8) The operator's handover was accepted from a holding primary with
    /// everything healthy: the secondary must hold the addresses within the
    /// handover frames it needs, a witness round trip (when it asks one),
    /// its Test and PreAcq scripts, and the delays.
    fn arm_handover_check(&mut self) {
        let s = &self.sched;
        let p = &self.nodes[NodeIx::Primary as usize];
        let sec = &self.nodes[NodeIx::Secondary as usize];
        let removals_work = s.removal_failure_chance == 0.0 || self.now >= s.removal_failures_until;
        let healthy = self.net.all_up()
            && self.net.max_loss() == 0.0
            && s.veto_chance == 0.0
            && s.hang_chance == 0.0
            && removals_work
            && p.reachable
            && sec.reachable
            && sec.power == Power::Up
            && (!s.witness_present || self.nodes[NodeIx::Witness as usize].power == Power::Up)
            && (s.policy != WitnessPolicy::Required || s.witness_present);
        let monitoring = matches!(
            sec.machine.as_ref(),
            Some(AnyMachine::Secondary(m)) if m.phase() == failover_core::secondary::Phase::Monitoring
        );
        // A primary that rolls its epoch over mid-handover is, to an
        // unkeyed secondary, a restarted primary that has asked for nothing
        // yet: the takeover is cancelled and the primary serves on (safe,
        // and once in 2^32 frames). The schedules that start near the end
        // of the seq space are left out.
        // Calm for a while, too: a carrier blip or a repair moments ago
        // may still be settling (a secondary just back says it cannot
        // serve yet, and the handover rightly fails).
        let settle = s.interval.saturating_mul(5);
        let calm = self
            .last_fault_at
            .is_none_or(|t| self.now.saturating_since(t) >= settle);
        if !healthy || !monitoring || !calm || s.start_seq != 0 {
            return;
        }
        let frames = if s.authenticated {
            1
        } else {
            u64::from(failover_core::reach::HANDOVER_FRAMES_UNKEYED)
        };
        // The handover frames, the removal's report before the first of
        // them, and a witness request with one retry.
        let bound = s.interval.saturating_mul(frames + 4)
            + s.script_max.saturating_mul(2)
            + s.delay_max.saturating_mul(6);
        self.handover_deadline = Some(self.now + bound);
    }

    /// Whether the primary has been handing the service over on the
    /// operator's request within `window`.
    fn operator_handover_within(&self, window: Duration) -> bool {
        self.operator_handover_at
            .is_some_and(|t| self.now.saturating_since(t) < window)
    }

    fn forge_one(&mut self, f: Forgery) {
        let real = |ix: Option<NodeIx>| ix.map_or(0, |ix| self.nodes[ix as usize].epoch);
        let epoch = match f.epoch {
            EpochPick::Max => u32::MAX,
            EpochPick::Raw(e) => e,
            EpochPick::AboveReal(d) => real(f.sender).saturating_add(d),
            EpochPick::Real => real(f.sender),
        };
        let frame = FrameRepr {
            header: Header {
                sender: f
                    .sender
                    .map_or(NodeId(f.foreign), |ix| NodeId(ix as u32 + 1)),
                role: Role::from_u8(f.role).unwrap_or(Role::Primary),
                link: LinkId(f.link),
                epoch,
                seq: f.seq,
            },
            body: Body::Heartbeat(HeartbeatRepr {
                beat: f.beat,
                interval: Duration::from_micros(u64::from(f.interval_us.max(1))),
                ack_epoch: f.ack.0,
                ack_seq: f.ack.1,
                // Any combination of the flags this version knows (HOLDS,
                // RECLAIM, RELEASED, UNREACHABLE, HANDOVER).
                flags: HeartbeatFlags(f.flags & HeartbeatFlags::KNOWN.0),
                message: heapless::Vec::new(),
            }),
        };
        let mut buf = [0u8; MAX_FRAME_LEN];
        if let Ok(len) = frame.emit(&mut buf, None) {
            self.forged_at = Some(self.now);
            self.at(
                self.now,
                Pending::Deliver {
                    to: f.to,
                    link: f.link,
                    from: None,
                    frame: Rc::from(&buf[..len]),
                },
            );
        }
    }

    /// Whether the schedule's only fault is one forged frame (invariant 6).
    fn forged_only(&self) -> bool {
        matches!(self.sched.faults.as_slice(), [(_, Fault::ForgeOne(_))])
    }

    /// (6) One forged frame, and nothing else wrong: no takeover starts, the
    /// primary never lets go of the addresses, and one dead time after the
    /// frame every node hears its peers on every link again.
    fn check_forgery_harmless(&self, ix: NodeIx, action: &Action) -> Result<(), Violation> {
        if !self.forged_only() || self.forged_at.is_none() {
            return Ok(());
        }
        match (ix, action) {
            (NodeIx::Secondary, Action::RunStage(Stage::Test | Stage::PreAcq))
            | (NodeIx::Secondary, Action::AddAddresses) => {
                Err(self.violation("(6) one forged frame started a takeover"))
            }
            (NodeIx::Primary, Action::RemoveAddresses) => {
                Err(self.violation("(6) one forged frame made the primary let go of the addresses"))
            }
            _ => Ok(()),
        }
    }

    /// (6), at the end: the real peers are heard on every link again.
    fn check_forgery_forgotten(&mut self) -> Result<(), Violation> {
        let Some(at) = self.forged_at else {
            return Ok(());
        };
        if !self.forged_only()
            || self.now.saturating_since(at) < self.sched.interval.saturating_mul(40)
        {
            return Ok(());
        }
        let now = self.now;
        let deaf = |what: &str| Err(self.violation(&format!("(6) after one forged frame, {what}")));
        if let Some(AnyMachine::Secondary(m)) =
            self.nodes[NodeIx::Secondary as usize].machine.as_ref()
        {
            if !m.primary_detector().silent_links(now).is_empty() {
                return deaf("the secondary no longer hears the primary on every link");
            }
        }
        if let Some(AnyMachine::Primary(m)) = self.nodes[NodeIx::Primary as usize].machine.as_ref()
        {
            if !m.secondary_detector().silent_links(now).is_empty() {
                return deaf("the primary no longer hears the secondary on every link");
            }
        }
        if let Some(AnyMachine::Witness(m)) = self.nodes[NodeIx::Witness as usize].machine.as_ref()
        {
            if m.primary_detector().is_dead(now) {
                return deaf("the witness no longer hears the primary");
            }
        }
        self.stats.forgeries_checked += 1;
        Ok(())
    }

    /// The primary just lost power with everything else healthy: the
    /// secondary must hold the addresses within its dead time, the witness's
    /// (when asked), the scripts and one interval.
    fn arm_liveness(&mut self) {
        if let Some(bound) = self.liveness_bound() {
            self.liveness = Some(self.now + bound);
        }
    }

    /// A frame the primary sent before it died has just landed on `to`:
    /// the secondary and the witness count the primary's silence from its
    /// arrival, with the dead time that frame leaves them (a frame after a
    /// long outage of the primary's port counts the rounds it missed as
    /// loss, and an adaptive dead time grows with them: seed
    /// 5000000346913). The deadline moves to what they now promise, never
    /// earlier than it was.
    fn rearm_liveness(&mut self, to: NodeIx) {
        if self.liveness.is_none() || to == NodeIx::Primary {
            return;
        }
        if let (Some(deadline), Some(bound)) = (self.liveness, self.liveness_bound()) {
            self.liveness = Some(deadline.max(self.now + bound));
        }
    }

    /// How long after now the secondary must hold the addresses, with the
    /// primary dead and everything else healthy; `None` when that is not
    /// the situation invariant 2 describes.
    fn liveness_bound(&self) -> Option<Duration> {
        let s = &self.sched;
        let healthy = self.net.all_up()
            && self.net.max_loss() == 0.0
            && s.veto_chance == 0.0
            && s.hang_chance == 0.0
            && self.nodes[NodeIx::Secondary as usize].power == Power::Up
            && (!s.witness_present || self.nodes[NodeIx::Witness as usize].power == Power::Up)
            && (s.policy != WitnessPolicy::Required || s.witness_present);
        if !healthy {
            return None;
        }
        let Some(AnyMachine::Secondary(sec)) =
            self.nodes[NodeIx::Secondary as usize].machine.as_ref()
        else {
            return None;
        };
        // Already holding or part-way through something else: not the
        // scenario this invariant describes.
        if sec.phase() != failover_core::secondary::Phase::Monitoring
            || !sec.primary_detector().heard_any()
        {
            return None;
        }
        let mut dead = sec.primary_detector().dead_time();
        let asks_witness = match s.policy {
            WitnessPolicy::Off => false,
            WitnessPolicy::Required => true,
            // A witness that is up may be regained before the verdict, and
            // then it is asked.
            WitnessPolicy::Preferred { .. } => {
                sec.witness_reachable()
                    || (s.witness_present
                        && self.nodes[NodeIx::Witness as usize].power == Power::Up)
            }
        };
        if asks_witness {
            if let Some(AnyMachine::Witness(w)) =
                self.nodes[NodeIx::Witness as usize].machine.as_ref()
            {
                dead = dead.max(w.primary_detector().dead_time());
            }
            if s.fence {
                dead = dead + s.interval.saturating_mul(2);
            }
            // One request round trip, plus a retry if it raced the verdict.
            dead = dead + s.interval;
        }
        Some(
            dead + s.hold_down
                + s.script_max.saturating_mul(2)
                + s.interval
                + s.delay_max.saturating_mul(4),
        )
    }

    fn drain(&mut self, ix: NodeIx, buf: &mut [u8; MAX_FRAME_LEN]) -> Result<(), Violation> {
        if self.nodes[ix as usize].power != Power::Up {
            return Ok(());
        }
        if let Some(AnyMachine::Primary(m)) = self.nodes[ix as usize].machine.as_ref() {
            if m.standby().handover_until().is_some() {
                self.operator_handover_at = Some(self.now);
            }
        }
        // Bounded: a machine's queues are finite.
        for _ in 0..1000 {
            let now = self.now;
            let Some(m) = self.nodes[ix as usize].machine.as_mut() else {
                return Ok(());
            };
            let action = m.as_machine().poll_action();
            if let Some(action) = action {
                self.act(ix, action)?;
                continue;
            }
            let tx = m.as_machine().poll_transmit(now, buf);
            let Some(tx) = tx else { return Ok(()) };
            let frame: Rc<[u8]> = Rc::from(&buf[..tx.len]);
            self.stats.frames += 1;
            if let Some(exchange) = self.exchange.as_mut() {
                // The header's type byte; a witness body's reason byte
                // (the 24-byte header, then offset 12).
                let kind = frame.get(3).copied().unwrap_or(0);
                if (2..=5).contains(&kind) {
                    let reason = frame.get(36).copied().unwrap_or(0);
                    exchange.push((now, ix, kind, reason));
                }
            }
            for to in NODES {
                if to == ix {
                    continue;
                }
                let wanted = match tx.dest {
                    Dest::Peers => attached(tx.link, to),
                    Dest::Witness => to == NodeIx::Witness,
                };
                if !wanted {
                    continue;
                }
                let fate = self.net.fate(&mut self.rng, tx.link, ix, to);
                for delay in fate.into_iter().flatten() {
                    self.at(
                        self.now + delay,
                        Pending::Deliver {
                            to,
                            link: tx.link.0,
                            from: Some(ix),
                            frame: frame.clone(),
                        },
                    );
                }
            }
            // Keep a sample of what went out, for replay attacks later; the
            // victim is drawn at replay time.
            if self.captured.len() < CAPTURE {
                self.captured.push_back((tx.link.0, frame));
            } else if self.rng.gen_ratio(1, 16) {
                let i = self.rng.gen_range(0..CAPTURE);
                self.captured[i] = (tx.link.0, frame);
            }
        }
        Err(self.violation("a machine produced more than 1000 actions and frames in one step"))
    }

    fn act(&mut self, ix: NodeIx, action: Action) -> Result<(), Violation> {
        self.note(|| format!("{ix:?} {action:?}"));
        self.check_forgery_harmless(ix, &action)?;
        if let Some(log) = self.log.as_mut() {
            log.push((self.now, ix, action));
        }
        match action {
            Action::RunStage(stage) => {
                if ix == NodeIx::Secondary && stage == Stage::Test {
                    self.check_no_takeover_while_heard()?;
                    self.nodes[ix as usize].acquire_began = self.now;
                }
                let s = &self.sched;
                let acquire_gate = matches!(stage, Stage::Test | Stage::PreAcq);
                let (delay, outcome) = if s.hang_chance > 0.0 && self.rng.gen_bool(s.hang_chance) {
                    (s.script_timeout, StageOutcome::TimedOut)
                } else if acquire_gate && s.veto_chance > 0.0 && self.rng.gen_bool(s.veto_chance) {
                    (Duration::ZERO, StageOutcome::Failed(1))
                } else {
                    let max = s.script_max.total_micros();
                    (
                        Duration::from_micros(self.rng.gen_range(0..=max)),
                        StageOutcome::Success,
                    )
                };
                let life = self.nodes[ix as usize].life;
                self.at(
                    self.now + delay,
                    Pending::StageDone {
                        node: ix,
                        life,
                        stage: stage_key(stage),
                        outcome: outcome_key(outcome),
                    },
                );
            }
            Action::AddAddresses => {
                if ix == NodeIx::Witness {
                    return Err(self.violation("the witness added the service addresses"));
                }
                if ix == NodeIx::Primary && !self.nodes[ix as usize].reachable {
                    return Err(self.violation(
                        "(5) the primary took the addresses where clients cannot reach it",
                    ));
                }
                let deaf = self.servers_deaf();
                let peer = if ix == NodeIx::Primary {
                    NodeIx::Secondary
                } else {
                    NodeIx::Primary
                };
                let hearing_peer = self.hears(ix, peer);
                let n = &mut self.nodes[ix as usize];
                n.has_addresses = true;
                n.added_at = self.now;
                n.added_deaf = deaf;
                n.added_hearing_peer = hearing_peer;
                if ix != NodeIx::Secondary {
                    n.acquire_began = self.now;
                }
                n.removal_failed_at = None;
                if ix == NodeIx::Secondary {
                    self.stats.takeovers += 1;
                }
            }
            Action::RemoveAddresses => {
                let s = &self.sched;
                let fails = s.removal_failure_chance > 0.0
                    && self.now < s.removal_failures_until
                    && self.removal_rng.gen_bool(s.removal_failure_chance);
                let n = &mut self.nodes[ix as usize];
                let outcome = if fails {
                    self.stats.removals_failed += 1;
                    if n.has_addresses && n.removal_failed_at.is_none() {
                        n.removal_failed_at = Some(self.now);
                    }
                    Removal::Failed
                } else {
                    n.has_addresses = false;
                    n.removal_failed_at = None;
                    Removal::Done
                };
                // The host reports every removal (the daemons at their next
                // turn; here at once, in the same instant).
                if let Some(m) = n.machine.as_mut().and_then(AnyMachine::as_server) {
                    m.handle_removal(self.now, outcome);
                }
                self.note(|| format!("{ix:?} removal: {outcome:?}"));
            }
            Action::PersistEpoch(epoch) => {
                // The host records it, so the next boot counts on from it.
                let was = self.nodes[ix as usize].epoch;
                if epoch != was + 1 {
                    return Err(
                        self.violation(&format!("{ix:?} rolled over from epoch {was} to {epoch}"))
                    );
                }
                self.nodes[ix as usize].epoch = epoch;
                self.stats.rollovers += 1;
            }
            Action::PersistPeerEpoch { peer, epoch } => {
                // Only an epoch the peer really used may be persisted: a
                // forged one would lock the real peer out after a restart.
                let real = NODES
                    .iter()
                    .find(|p| NodeId(**p as u32 + 1) == peer)
                    .map(|p| self.nodes[*p as usize].epoch);
                if real.is_none_or(|r| epoch > r) {
                    return Err(self.violation(&format!(
                        "{ix:?} persisted epoch {epoch} of {peer:?}, which never used it"
                    )));
                }
                let list = &mut self.nodes[ix as usize].peer_epochs;
                list.retain(|(p, _)| *p != peer);
                list.push((peer, epoch));
            }
            Action::Announce | Action::Notify(_) | Action::SetFence(false) => {}
            Action::SetFence(true) => {}
        }
        self.check_overlap()
    }

    /// Whether `to` has heard `from` within the last two intervals.
    fn hears(&self, to: NodeIx, from: NodeIx) -> bool {
        self.heard[to as usize][from as usize]
            .is_some_and(|t| self.now.saturating_since(t) < self.sched.interval.saturating_mul(2))
    }

    /// The documented exceptions to (1), both cases where every node that
    /// could vouch for a live primary was deaf to it, so no rule can tell
    /// "dead" from "hidden":
    /// - without a required witness, the two servers could not hear each
    ///   other (Apple's rule);
    /// - with a required witness, the witness could not hear the primary
    ///   either (its private port is down) and the secondary's verdict was
    ///   false (loss on the remaining link outlasted the dead time). The
    ///   primary, still hearing someone, did not fence; it yields as soon as
    ///   it hears the secondary hold the addresses.
    fn overlap_excused(&self) -> Option<Excuse> {
        use NodeIx::{Primary as P, Secondary as S, Witness as W};
        // A node whose removal failed keeps saying HOLDS: the other must
        // not add the addresses while it hears that. But it may have added
        // them before the failure, or added them while it could not hear
        // the stuck node at all (a cut-off primary's witness-granted
        // takeover: nobody can tell it the removal failed). What it heard
        // when it added decides, not what it hears now: an overlap is
        // judged afresh when a frozen node thaws, by which time the adder
        // may hear the stuck node again (seed 796 866 848 659: the
        // secondary took over a cut-off primary whose removal kept failing,
        // and the primary, plugged back in, froze and thawed still holding
        // them, as it had all along).
        let stuck = |x: NodeIx, y: NodeIx| {
            let adder = &self.nodes[y as usize];
            self.nodes[x as usize]
                .removal_failed_at
                .is_some_and(|f| adder.added_at <= f || !adder.added_hearing_peer)
        };
        if stuck(P, S) || stuck(S, P) {
            return Some(Excuse::FailedRemoval);
        }
        let servers_deaf = self.servers_deaf();
        match self.sched.policy {
            WitnessPolicy::Required => {
                let blind =
                    servers_deaf && !self.hears(W, P) && (self.hears(P, S) || self.hears(P, W));
                blind.then_some(Excuse::BlindWitness)
            }
            _ => (servers_deaf || self.raced_a_deaf_add()).then_some(Excuse::Partition),
        }
    }

    /// Whether either server has not heard the other for two intervals.
    fn servers_deaf(&self) -> bool {
        use NodeIx::{Primary as P, Secondary as S};
        !self.hears(S, P) || !self.hears(P, S)
    }

    /// The overlap that begins now was started while the servers could
    /// not hear each other, even if they hear each other again by now: the
    /// node that holds already added the addresses on its peer's silence,
    /// and the one adding now began its acquisition before word of that
    /// could reach it (seed 5000000991580: a primary standing by after a
    /// handover took the service back on the secondary's silence under
    /// loss while the secondary ran its Test and PreAcq scripts for the
    /// handover, and added the addresses 4 ms later).
    fn raced_a_deaf_add(&self) -> bool {
        let [p, s] = [NodeIx::Primary, NodeIx::Secondary].map(|ix| &self.nodes[ix as usize]);
        let (first, now_adding) = if p.added_at <= s.added_at {
            (p, s)
        } else {
            (s, p)
        };
        first.added_deaf && now_adding.acquire_began <= first.added_at + self.sched.delay_max
    }

    /// (3) No takeover while the secondary hears the primary, unless the
    /// primary handed the addresses over: it cannot be reached (or just
    /// could not: its handover frames are still arriving), it let them go
    /// first, and (5) the secondary can be reached.
    fn check_no_takeover_while_heard(&self) -> Result<(), Violation> {
        use NodeIx::{Primary as P, Secondary as S};
        let p_up = self.nodes[P as usize].power == Power::Up;
        if p_up && self.hears(S, P) {
            let settle = self.sched.interval.saturating_mul(5);
            let handover = !self.nodes[P as usize].has_addresses
                && (self.unreachable_within(P, settle) || self.operator_handover_within(settle));
            if !handover {
                return Err(self.violation(
                    "(3) the secondary started a takeover while it was hearing the primary",
                ));
            }
            if !self.nodes[S as usize].reachable {
                return Err(self
                    .violation("(5) the secondary took a handover where clients cannot reach it"));
            }
        }
        Ok(())
    }

    /// (1) At most one node holds the addresses (a frozen node answers for
    /// nothing: it is suspended whole).
    fn check_overlap(&mut self) -> Result<(), Violation> {
        let active = |ix: NodeIx| {
            let n = &self.nodes[ix as usize];
            n.power == Power::Up && n.has_addresses
        };
        let both = active(NodeIx::Primary) && active(NodeIx::Secondary);
        match (both, self.overlap) {
            (true, None) => {
                if let Some(excuse) = self.overlap_excused() {
                    match excuse {
                        Excuse::Partition => self.stats.partition_overlaps += 1,
                        Excuse::BlindWitness => self.stats.blind_witness_overlaps += 1,
                        Excuse::FailedRemoval => self.stats.failed_removal_overlaps += 1,
                    }
                    self.overlap = Some(true);
                    self.note(|| format!("overlap, documented exception: {excuse:?}"));
                } else {
                    return Err(self.violation("(1) two nodes hold the service addresses"));
                }
            }
            (false, Some(_)) => self.overlap = None,
            _ => {}
        }
        Ok(())
    }

    /// (4) Once every fault is repaired, the addresses end on the primary
    /// alone, or, where the primary stands by (manual failback, or a
    /// handover the operator did not undo), on the secondary alone.
    fn final_check(&mut self) -> Result<(), Violation> {
        self.check_forgery_forgotten()?;
        // Repair everything still broken at faults_until is the schedule's
        // job (every fault has a heal before it); here just check.
        let p = &self.nodes[NodeIx::Primary as usize];
        let s = &self.nodes[NodeIx::Secondary as usize];
        if p.power == Power::Up
            && s.power == Power::Up
            && p.reachable
            && s.reachable
            && self.net.all_up()
            && self.net.max_loss() == 0.0
        {
            let standing_by = match p.machine.as_ref() {
                Some(AnyMachine::Primary(m)) => {
                    m.ask(self.now) == failover_core::standby::Ask::StandBy
                }
                _ => false,
            };
            if standing_by && s.has_addresses && !p.has_addresses {
                self.stats.ended_standing_by += 1;
                return Ok(());
            }
            if s.has_addresses {
                return Err(self.violation(
                    "(4) after every fault was repaired, the secondary still holds the addresses",
                ));
            }
            if !p.has_addresses {
                return Err(self.violation(
                    "(4) after every fault was repaired, the primary does not hold the addresses",
                ));
            }
        }
        Ok(())
    }
}

/// The primary's isolation fence: the recommended four intervals.
fn isolation_fence(s: &Schedule) -> Duration {
    Timing::recommended(s.interval).isolation_fence
}

/// The witness's dead time: the schedule's, but never less than the
/// recommended timing (which leaves an interval of margin over the
/// primary's isolation fence).
fn witness_dead_time(s: &Schedule) -> DeadTime {
    let timing = Timing::recommended(s.interval);
    match s.dead_time {
        DeadTime::Fixed(d) => DeadTime::Fixed(d.max(timing.witness_dead_time)),
        DeadTime::Adaptive(a) => DeadTime::Adaptive(failover_core::AdaptiveDeadTime {
            min_intervals: a.min_intervals.max(6),
            ..a
        }),
    }
}
