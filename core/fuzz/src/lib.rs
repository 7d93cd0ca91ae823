//! The harness the machine fuzz targets share: an input sequence decoded
//! from the fuzz bytes drives one machine as a host would, and after every
//! input the harness drains its output and checks the invariants every
//! machine must keep (see `README.md`).
//!
//! Frames fed to the machine are either arbitrary bytes or structurally
//! valid frames built from a [`FrameDesc`], numbered like a real sender's
//! (per-sender epoch, sequence and beat counters) and signed with the
//! machine's own keys or others, so inputs get past the parser,
//! authentication and replay protection into the decision logic.

use std::collections::VecDeque;

use arbitrary::Arbitrary;
use failover_core::wire::{
    Body, DenyReason, FrameRepr, Header, HeartbeatFlags, HeartbeatRepr, Key, Keyring, WitnessKind,
    WitnessRepr, MAX_FRAME_LEN, MAX_MESSAGE_LEN,
};
use failover_core::{
    Action, AdaptiveDeadTime, ConfigError, DeadTime, Dest, Duration, Instant, LinkId, Machine,
    NodeId, Primary, Role, Secondary, Server, Stage, StageOutcome, Witness, MAX_LINKS,
};

/// More items than this from one drain is unbounded output: a bug.
pub const DRAIN_BOUND: usize = 1000;

/// The node ids of the deployment the fuzzed machine is part of.
pub const PRIMARY: NodeId = NodeId(1);
/// See [`PRIMARY`].
pub const SECONDARY: NodeId = NodeId(2);
/// See [`PRIMARY`].
pub const WITNESS: NodeId = NodeId(3);

/// How far the clock may run: all the way to where `Instant` saturates,
/// where the heartbeat schedule can no longer move forward (a runaway found
/// by these targets, fixed in `beat.rs`).
pub const HORIZON: Instant = Instant::from_micros(u64::MAX);

fn key(id: u8, secret: &[u8]) -> Key {
    Key::new(id, secret).expect("fixed fuzzing keys are valid")
}

/// The deployment's keys: key 1 signs, key 2 is accepted too.
pub fn keyring() -> Keyring {
    let mut ring = Keyring::new(key(1, b"fuzzing key: 0123456789abcdef"));
    ring.add(key(2, b"second fuzzing key, 32 bytes!!!!"))
        .expect("ids differ");
    ring
}

/// A configuration duration or time step.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Dur {
    /// No time at all.
    Zero,
    /// Microseconds.
    Micros(u16),
    /// Milliseconds: 0..=65 s.
    Millis(u16),
    /// Seconds: up to 18 hours.
    Secs(u16),
    /// Anything.
    Raw(u64),
    /// `Duration::MAX`.
    Max,
}

impl Dur {
    /// The duration described.
    pub fn get(self) -> Duration {
        match self {
            Dur::Zero => Duration::ZERO,
            Dur::Micros(n) => Duration::from_micros(n.into()),
            Dur::Millis(n) => Duration::from_millis(n.into()),
            Dur::Secs(n) => Duration::from_secs(n.into()),
            Dur::Raw(n) => Duration::from_micros(n),
            Dur::Max => Duration::MAX,
        }
    }
}

/// A heartbeat interval for a configuration: mostly realistic, sometimes
/// degenerate (zero, a microsecond, an hour).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum IntervalChoice {
    /// Apple's one second.
    Second,
    /// 100 ms.
    Fast,
    /// 0..=65 s.
    Millis(u16),
    /// Any duration.
    Any(Dur),
}

impl IntervalChoice {
    /// The interval described.
    pub fn get(self) -> Duration {
        match self {
            IntervalChoice::Second => Duration::from_secs(1),
            IntervalChoice::Fast => Duration::from_millis(100),
            IntervalChoice::Millis(n) => Duration::from_millis(n.into()),
            IntervalChoice::Any(d) => d.get(),
        }
    }
}

/// Either dead-time mode.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum DeadTimeChoice {
    /// `intervals` times the interval.
    FixedIntervals(u8),
    /// Any fixed duration.
    Fixed(Dur),
    /// The adaptive defaults.
    AdaptiveDefault,
    /// Any adaptive parameters (NaN and negative bounds included).
    Adaptive {
        /// `false_verdict_bound`.
        bound: f64,
        /// `min_intervals`.
        min: u32,
        /// `max_intervals`.
        max: u32,
    },
}

impl DeadTimeChoice {
    /// The dead time described, for a node beating every `interval`.
    pub fn get(self, interval: Duration) -> DeadTime {
        match self {
            DeadTimeChoice::FixedIntervals(n) => DeadTime::Fixed(interval.saturating_mul(n.into())),
            DeadTimeChoice::Fixed(d) => DeadTime::Fixed(d.get()),
            DeadTimeChoice::AdaptiveDefault => DeadTime::Adaptive(AdaptiveDeadTime::default()),
            DeadTimeChoice::Adaptive { bound, min, max } => DeadTime::Adaptive(AdaptiveDeadTime {
                false_verdict_bound: bound,
                min_intervals: min,
                max_intervals: max,
            }),
        }
    }
}

/// A node id, from the deployment's three or any other.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Sender {
    /// Node 1, the primary.
    N1,
    /// Node 2, the secondary.
    N2,
    /// Node 3, the witness.
    N3,
    /// A node outside the deployment (or 1..=3 again, by chance).
    Other(u32),
}

impl Sender {
    /// The node id.
    pub fn id(self) -> NodeId {
        match self {
            Sender::N1 => PRIMARY,
            Sender::N2 => SECONDARY,
            Sender::N3 => WITNESS,
            Sender::Other(n) => NodeId(n),
        }
    }

    fn slot(self) -> usize {
        match self {
            Sender::N1 => 0,
            Sender::N2 => 1,
            Sender::N3 => 2,
            Sender::Other(_) => 3,
        }
    }
}

/// An optional peer id in a configuration.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum PeerChoice {
    /// Accept any node in that role.
    Any,
    /// The deployment's node for that role.
    Expected,
    /// Some node.
    Node(Sender),
}

impl PeerChoice {
    /// The configured id, `expected` standing for the deployment's.
    pub fn get(self, expected: NodeId) -> Option<NodeId> {
        match self {
            PeerChoice::Any => None,
            PeerChoice::Expected => Some(expected),
            PeerChoice::Node(s) => Some(s.id()),
        }
    }
}

/// Free text for a heartbeat (longer input is cut at `MAX_MESSAGE_LEN`).
pub fn message(bytes: &[u8]) -> heapless::Vec<u8, MAX_MESSAGE_LEN> {
    let n = bytes.len().min(MAX_MESSAGE_LEN);
    heapless::Vec::from_slice(&bytes[..n]).expect("fits")
}

/// How much time passes.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Advance {
    /// A few microseconds.
    Micros(u16),
    /// 0..=65 s.
    Millis(u16),
    /// `n` of the machine's intervals.
    Intervals(u8),
    /// Just past the stall limit (two intervals), or `n` intervals more.
    Stall(u8),
    /// Up to 49 days.
    Huge(u32),
    /// Anything (up to the horizon).
    Far(u64),
}

/// What the host of the machine does next.
#[derive(Arbitrary, Debug)]
pub enum Step {
    /// Time passes, without telling the machine.
    Advance(Advance),
    /// `handle_timeout` at the current time.
    Timeout,
    /// Time passes to `poll_at` (if later), then `handle_timeout`: the
    /// host's sleep.
    Sleep,
    /// `handle_frame` with arbitrary bytes, on `link`.
    Raw {
        /// The receiving link (may be out of range).
        link: u8,
        /// The payload.
        bytes: Vec<u8>,
    },
    /// `handle_frame` with a well-formed frame.
    Frame(FrameDesc),
    /// `handle_frame` with the `n`th-latest frame the harness sent (a
    /// duplicate or replay).
    Replay(u8),
    /// `handle_frame` with the `n`th-latest frame the machine sent (a
    /// broadcast looping back).
    Reflect(u8),
    /// `handle_stage_done`.
    StageDone(StageChoice, OutcomeChoice),
    /// `tickle` (primary, secondary; nothing for the witness).
    Tickle,
    /// `shutdown` (primary, secondary; nothing for the witness).
    Shutdown,
    /// `set_carrier`: whether any link has a carrier (primary, secondary).
    Carrier(bool),
}

/// A script stage for `handle_stage_done`.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum StageChoice {
    /// The stage the machine last asked to run (Test if none).
    Current,
    /// A given stage.
    Test,
    /// See `Test`.
    PreAcq,
    /// See `Test`.
    PostAcq,
    /// See `Test`.
    PreRel,
    /// See `Test`.
    PostRel,
}

/// How the stage ended.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum OutcomeChoice {
    /// Success.
    Success,
    /// A non-zero exit (or zero: the host's business).
    Failed(i32),
    /// Killed at its time limit.
    TimedOut,
}

impl OutcomeChoice {
    fn get(self) -> StageOutcome {
        match self {
            OutcomeChoice::Success => StageOutcome::Success,
            OutcomeChoice::Failed(n) => StageOutcome::Failed(n),
            OutcomeChoice::TimedOut => StageOutcome::TimedOut,
        }
    }
}

/// A well-formed frame, numbered like a real sender's unless told not to.
#[derive(Arbitrary, Debug)]
pub struct FrameDesc {
    /// Who sends it.
    pub sender: Sender,
    /// In what role.
    pub role: RoleChoice,
    /// The link it arrives on; the header says the same unless `header_link`.
    pub link: LinkChoice,
    /// A different link in the header (a loop, a misrouted frame).
    pub header_link: Option<LinkChoice>,
    /// The sender's epoch.
    pub epoch: EpochChoice,
    /// Its sequence number.
    pub seq: SeqChoice,
    /// What it says.
    pub body: BodyDesc,
    /// How it is signed.
    pub auth: AuthChoice,
}

/// A role.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum RoleChoice {
    /// The sender's own role in the deployment (secondary for others).
    Natural,
    /// Primary.
    Primary,
    /// Secondary.
    Secondary,
    /// Witness.
    Witness,
}

/// A link.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum LinkChoice {
    /// The private link.
    Private,
    /// The public link.
    Public,
    /// Any link id, in range or not.
    Id(u8),
}

impl LinkChoice {
    fn get(self) -> LinkId {
        match self {
            LinkChoice::Private => LinkId::PRIVATE,
            LinkChoice::Public => LinkId::PUBLIC,
            LinkChoice::Id(n) => LinkId(n),
        }
    }
}

/// The epoch in a frame's header.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum EpochChoice {
    /// The sender's current epoch.
    Current,
    /// The sender rebooted: a larger epoch, counters from zero.
    Reboot,
    /// Any epoch (not remembered).
    Raw(u32),
}

/// The sequence number in a frame's header.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum SeqChoice {
    /// The sender's next one.
    Next,
    /// The sender's last one again.
    Same,
    /// The sender's next one after skipping `n`.
    Skip(u8),
    /// Any (not remembered).
    Raw(u32),
}

/// What a frame says.
#[derive(Arbitrary, Debug)]
pub enum BodyDesc {
    /// A heartbeat.
    Heartbeat {
        /// Its round.
        beat: BeatChoice,
        /// The interval it announces.
        interval: HbInterval,
        /// What it acknowledges.
        ack: AckChoice,
        /// Flag bits (unknown ones included).
        flags: u8,
        /// Free text.
        message: Vec<u8>,
    },
    /// A witness-exchange message.
    Witness {
        /// Which.
        kind: KindChoice,
        /// Its nonce.
        nonce: NonceChoice,
        /// Whom it is about.
        subject: SubjectChoice,
        /// The lease it grants.
        lease: Dur,
        /// The deny reason code.
        reason: u8,
    },
}

/// A heartbeat round.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum BeatChoice {
    /// The sender's next round.
    Next,
    /// The sender's current round (another link's copy).
    Same,
    /// After `n` lost rounds.
    Skip(u8),
    /// Any (not remembered).
    Raw(u32),
}

/// The interval a heartbeat announces.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum HbInterval {
    /// The fuzzed machine's own interval.
    Machine,
    /// Any.
    Any(Dur),
}

/// What a heartbeat acknowledges.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum AckChoice {
    /// Nothing heard yet.
    Nothing,
    /// The `n`th-latest frame the machine sent.
    Echo(u8),
    /// Anything.
    Raw(u32, u32),
}

/// A witness message kind.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum KindChoice {
    /// Request.
    Request,
    /// Grant.
    Grant,
    /// Deny.
    Deny,
    /// Release.
    Release,
}

/// A witness message nonce.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum NonceChoice {
    /// The latest nonce the machine sent in a witness message.
    Latest,
    /// Any.
    Raw(u32),
}

/// Whom a witness message is about.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum SubjectChoice {
    /// The frame's sender.
    Sender,
    /// The fuzzed machine.
    Machine,
    /// Some node.
    Node(Sender),
}

/// How a frame is signed.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum AuthChoice {
    /// With the machine's keys (unsigned if it has none).
    Machine,
    /// With the machine's second key (a rotation in progress).
    Rotated,
    /// Unsigned.
    Plain,
    /// A known key id with the wrong secret.
    WrongSecret,
    /// A key id the machine does not hold.
    UnknownKey,
}

/// The fuzzed machine's identity, as the harness checks it.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Its role.
    pub role: Role,
    /// Its node id.
    pub node: NodeId,
    /// Its epoch.
    pub epoch: u32,
    /// How many links it beats on, as configured (clamped by the machine).
    pub links: u8,
    /// Its heartbeat interval.
    pub interval: Duration,
    /// Its keys.
    pub keys: Option<Keyring>,
}

impl Identity {
    /// The identity of machine `M` in the fuzzed deployment.
    pub fn of<M: Target>(epoch: u32, links: u8, interval: Duration, keys: Option<Keyring>) -> Self {
        Identity {
            role: M::ROLE,
            node: M::NODE,
            epoch,
            links,
            interval,
            keys,
        }
    }
}

/// A machine as the harness drives it: its place in the deployment, and
/// the servers' controls ([`Server`]) where the machine has them; nothing
/// for the witness.
pub trait Target: Machine {
    /// Its role.
    const ROLE: Role;
    /// Its node id.
    const NODE: NodeId;
    /// The server controls, if this machine is a server.
    fn server(&mut self) -> Option<&mut dyn Server>;
}

impl Target for Primary {
    const ROLE: Role = Role::Primary;
    const NODE: NodeId = PRIMARY;
    fn server(&mut self) -> Option<&mut dyn Server> {
        Some(self)
    }
}

impl Target for Secondary {
    const ROLE: Role = Role::Secondary;
    const NODE: NodeId = SECONDARY;
    fn server(&mut self) -> Option<&mut dyn Server> {
        Some(self)
    }
}

impl Target for Witness {
    const ROLE: Role = Role::Witness;
    const NODE: NodeId = WITNESS;
    fn server(&mut self) -> Option<&mut dyn Server> {
        None
    }
}

/// A machine target's input: its machine's configuration (`S`, decoded
/// first), then the steps that drive it.
#[derive(Arbitrary, Debug)]
pub struct Input<S> {
    /// What the target configures its machine from.
    pub setup: S,
    /// What happens to the machine.
    pub steps: Vec<Step>,
}

/// What every machine target does with its decoded setup: builds the
/// machine at `start_ms` with `build` (its `try_new`) and drives it
/// through `steps`. A configuration the machine refuses is not run: the
/// host would have stopped at `try_new` too.
pub fn fuzz<M: Target>(
    id: Identity,
    start_ms: u32,
    steps: &[Step],
    build: impl FnOnce(Instant) -> Result<M, ConfigError>,
) {
    let now = Instant::from_millis(start_ms.into());
    let Ok(machine) = build(now) else {
        return;
    };
    Harness::new(machine, id, now).run(steps);
}

/// What the harness remembers of a sender it impersonates.
#[derive(Debug, Clone, Copy)]
struct Peer {
    epoch: u32,
    seq: u32,
    beat: u32,
}

/// Drives one machine and checks it.
pub struct Harness<M> {
    machine: M,
    id: Identity,
    now: Instant,
    peers: [Peer; 4],
    rotated: Option<Keyring>,
    wrong_secret: Keyring,
    unknown_key: Keyring,
    /// `(epoch, seq)` of the machine's latest frames, newest first.
    sent_headers: VecDeque<(u32, u32)>,
    /// The machine's latest frames, newest first.
    sent_frames: VecDeque<Vec<u8>>,
    /// The harness's latest frames, newest first.
    fed_frames: VecDeque<Vec<u8>>,
    /// The sequence number of the machine's latest frame.
    out_seq: u32,
    latest_nonce: u32,
    current_stage: Stage,
    /// Whether the machine added the service addresses and has not removed
    /// them since.
    addresses: bool,
    /// Whether the witness's fence output is asserted.
    fence: bool,
}

const HISTORY: usize = 32;

fn remember<T>(list: &mut VecDeque<T>, item: T) {
    if list.len() == HISTORY {
        list.pop_back();
    }
    list.push_front(item);
}

impl<M: Target> Harness<M> {
    /// A harness for `machine`, created at `now`.
    pub fn new(machine: M, id: Identity, now: Instant) -> Self {
        // The deployment's ring holds key 2 (`keyring`): signing with it
        // is a peer part-way through a rotation.
        let rotated = id.keys.clone().map(|mut k| {
            let switched = k.set_current(2);
            assert!(switched, "the fuzzing ring holds key 2");
            k
        });
        let mut h = Harness {
            machine,
            id,
            now,
            peers: [Peer {
                epoch: 1,
                seq: 0,
                beat: 0,
            }; 4],
            rotated,
            wrong_secret: Keyring::new(key(1, b"not the fuzzing key, but id 1")),
            unknown_key: Keyring::new(key(9, b"a key the machines do not hold")),
            sent_headers: VecDeque::new(),
            sent_frames: VecDeque::new(),
            fed_frames: VecDeque::new(),
            out_seq: 0,
            latest_nonce: 0,
            current_stage: Stage::Test,
            addresses: false,
            fence: false,
        };
        h.drain();
        h
    }

    /// Runs every step, checking after each.
    pub fn run(mut self, steps: &[Step]) {
        for step in steps {
            self.step(step);
        }
    }

    fn step(&mut self, step: &Step) {
        let before = self.now;
        match step {
            Step::Advance(a) => self.advance(*a),
            Step::Timeout => self.machine.handle_timeout(self.now),
            Step::Sleep => {
                if let Some(t) = self.machine.poll_at() {
                    self.now = self.now.max(t.min(HORIZON));
                }
                self.machine.handle_timeout(self.now);
            }
            Step::Raw { link, bytes } => self.machine.handle_frame(self.now, LinkId(*link), bytes),
            Step::Frame(desc) => {
                if let Some((link, bytes)) = self.build(desc) {
                    self.machine.handle_frame(self.now, link, &bytes);
                    remember(&mut self.fed_frames, bytes);
                }
            }
            Step::Replay(n) => {
                if let Some(bytes) = nth(&self.fed_frames, *n) {
                    let bytes = bytes.clone();
                    self.machine.handle_frame(self.now, LinkId::PRIVATE, &bytes);
                }
            }
            Step::Reflect(n) => {
                if let Some(bytes) = nth(&self.sent_frames, *n) {
                    let bytes = bytes.clone();
                    self.machine.handle_frame(self.now, LinkId::PRIVATE, &bytes);
                }
            }
            Step::StageDone(stage, outcome) => {
                let stage = match stage {
                    StageChoice::Current => self.current_stage,
                    StageChoice::Test => Stage::Test,
                    StageChoice::PreAcq => Stage::PreAcq,
                    StageChoice::PostAcq => Stage::PostAcq,
                    StageChoice::PreRel => Stage::PreRel,
                    StageChoice::PostRel => Stage::PostRel,
                };
                self.machine
                    .handle_stage_done(self.now, stage, outcome.get());
            }
            Step::Tickle => {
                if let Some(m) = self.machine.server() {
                    m.tickle(self.now);
                }
            }
            Step::Shutdown => {
                if let Some(m) = self.machine.server() {
                    m.shutdown(self.now);
                }
            }
            Step::Carrier(up) => {
                if let Some(m) = self.machine.server() {
                    m.set_carrier(self.now, *up);
                }
            }
        }
        assert!(self.now >= before, "the harness moved time backwards");
        self.drain();
    }

    fn advance(&mut self, a: Advance) {
        let interval = self.id.interval;
        let d = match a {
            Advance::Micros(n) => Duration::from_micros(n.into()),
            Advance::Millis(n) => Duration::from_millis(n.into()),
            Advance::Intervals(n) => interval.saturating_mul(n.into()),
            Advance::Stall(n) => {
                interval.saturating_mul(2 + u64::from(n)) + Duration::from_micros(1)
            }
            Advance::Huge(n) => Duration::from_millis(n.into()),
            Advance::Far(n) => Duration::from_micros(n),
        };
        self.now = (self.now + d).min(HORIZON).max(self.now);
    }

    /// Builds the frame `desc` describes; `None` if it cannot be emitted
    /// (a link id out of range, a zero interval).
    fn build(&mut self, desc: &FrameDesc) -> Option<(LinkId, Vec<u8>)> {
        let slot = desc.sender.slot();
        let peer = &mut self.peers[slot];
        let epoch = match desc.epoch {
            EpochChoice::Current => peer.epoch,
            EpochChoice::Reboot => {
                peer.epoch = peer.epoch.saturating_add(1);
                peer.seq = 0;
                peer.beat = 0;
                peer.epoch
            }
            EpochChoice::Raw(e) => e,
        };
        let seq = match desc.seq {
            SeqChoice::Next => {
                peer.seq = peer.seq.wrapping_add(1);
                peer.seq
            }
            SeqChoice::Same => peer.seq,
            SeqChoice::Skip(n) => {
                peer.seq = peer.seq.wrapping_add(2 + u32::from(n));
                peer.seq
            }
            SeqChoice::Raw(s) => s,
        };
        let role = match desc.role {
            RoleChoice::Natural => match desc.sender {
                Sender::N1 => Role::Primary,
                Sender::N3 => Role::Witness,
                Sender::N2 | Sender::Other(_) => Role::Secondary,
            },
            RoleChoice::Primary => Role::Primary,
            RoleChoice::Secondary => Role::Secondary,
            RoleChoice::Witness => Role::Witness,
        };
        let body = match &desc.body {
            BodyDesc::Heartbeat {
                beat,
                interval,
                ack,
                flags,
                message: text,
            } => {
                let beat = match beat {
                    BeatChoice::Next => {
                        peer.beat = peer.beat.wrapping_add(1);
                        peer.beat
                    }
                    BeatChoice::Same => peer.beat,
                    BeatChoice::Skip(n) => {
                        peer.beat = peer.beat.wrapping_add(2 + u32::from(*n));
                        peer.beat
                    }
                    BeatChoice::Raw(b) => *b,
                };
                let (ack_epoch, ack_seq) = match ack {
                    AckChoice::Nothing => (0, 0),
                    AckChoice::Echo(n) => nth(&self.sent_headers, *n).copied().unwrap_or((0, 0)),
                    AckChoice::Raw(e, s) => (*e, *s),
                };
                Body::Heartbeat(HeartbeatRepr {
                    beat,
                    interval: match interval {
                        HbInterval::Machine => self.id.interval,
                        HbInterval::Any(d) => d.get(),
                    },
                    ack_epoch,
                    ack_seq,
                    flags: HeartbeatFlags(*flags),
                    message: message(text),
                })
            }
            BodyDesc::Witness {
                kind,
                nonce,
                subject,
                lease,
                reason,
            } => Body::Witness(WitnessRepr {
                kind: match kind {
                    KindChoice::Request => WitnessKind::Request,
                    KindChoice::Grant => WitnessKind::Grant,
                    KindChoice::Deny => WitnessKind::Deny,
                    KindChoice::Release => WitnessKind::Release,
                },
                nonce: match nonce {
                    NonceChoice::Latest => self.latest_nonce,
                    NonceChoice::Raw(n) => *n,
                },
                subject: match subject {
                    SubjectChoice::Sender => desc.sender.id(),
                    SubjectChoice::Machine => self.id.node,
                    SubjectChoice::Node(s) => s.id(),
                },
                lease: lease.get(),
                reason: DenyReason::from_u8(*reason),
            }),
        };
        let link = desc.link.get();
        let frame = FrameRepr {
            header: Header {
                sender: desc.sender.id(),
                role,
                link: desc.header_link.map_or(link, LinkChoice::get),
                epoch,
                seq,
            },
            body,
        };
        let keys = match desc.auth {
            AuthChoice::Machine => self.id.keys.as_ref(),
            AuthChoice::Rotated => self.rotated.as_ref(),
            AuthChoice::Plain => None,
            AuthChoice::WrongSecret => Some(&self.wrong_secret),
            AuthChoice::UnknownKey => Some(&self.unknown_key),
        };
        let mut buf = [0u8; MAX_FRAME_LEN];
        let n = frame.emit(&mut buf, keys).ok()?;
        Some((link, buf[..n].to_vec()))
    }

    /// Drains actions and frames, checking each, then checks the machine.
    fn drain(&mut self) {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let mut actions = 0;
        let mut frames = 0;
        loop {
            let mut progress = false;
            while let Some(action) = self.machine.poll_action() {
                actions += 1;
                assert!(actions <= DRAIN_BOUND, "unbounded actions after one input");
                self.on_action(action);
                progress = true;
            }
            while let Some(t) = self.machine.poll_transmit(self.now, &mut buf) {
                frames += 1;
                assert!(frames <= DRAIN_BOUND, "unbounded frames after one input");
                self.on_transmit(&t, &buf);
                progress = true;
            }
            if !progress {
                break;
            }
        }
        self.check();
    }

    fn on_action(&mut self, action: Action) {
        let role = self.id.role;
        match action {
            Action::RunStage(stage) => {
                assert_eq!(role, Role::Secondary, "only the secondary runs scripts");
                self.current_stage = stage;
            }
            Action::AddAddresses | Action::RemoveAddresses | Action::Announce => {
                assert_ne!(role, Role::Witness, "the witness never touches addresses");
                if action == Action::AddAddresses {
                    assert!(!self.addresses, "addresses added twice");
                    self.addresses = true;
                } else if action == Action::RemoveAddresses {
                    assert!(self.addresses, "addresses removed but not added");
                    self.addresses = false;
                }
            }
            Action::SetFence(on) => {
                assert_eq!(role, Role::Witness, "only the witness fences");
                assert_ne!(on, self.fence, "fence output set to what it already was");
                self.fence = on;
            }
            Action::Notify(_) => {}
            Action::PersistEpoch(epoch) => {
                assert_eq!(
                    epoch,
                    self.id.epoch.wrapping_add(1),
                    "an epoch rolls over by one"
                );
                self.id.epoch = epoch;
            }
            Action::PersistPeerEpoch { peer, .. } => {
                // Only unkeyed machines corroborate epochs; the tag covers
                // them otherwise.
                assert!(
                    self.id.keys.is_none(),
                    "a keyed machine persisted a peer epoch"
                );
                assert_ne!(
                    peer, self.id.node,
                    "a machine persisted its own epoch as a peer's"
                );
            }
        }
    }

    fn on_transmit(&mut self, t: &failover_core::Transmit, buf: &[u8; MAX_FRAME_LEN]) {
        assert!(t.len <= MAX_FRAME_LEN, "frame longer than MAX_FRAME_LEN");
        let bytes = &buf[..t.len];
        let frame = FrameRepr::parse(bytes, self.id.keys.as_ref())
            .expect("every frame a machine sends parses with its own keys");
        let h = &frame.header;
        assert_eq!(h.sender, self.id.node);
        assert_eq!(h.role, self.id.role);
        // The frame that rolls the epoch over comes before the machine asks
        // for it to be persisted.
        assert!(
            h.epoch == self.id.epoch || h.epoch == self.id.epoch.wrapping_add(1) && h.seq == 1,
            "frames carry the node's epoch"
        );
        assert_eq!(h.link, t.link, "frame sent on another link than it says");
        assert!(usize::from(t.link.0) < usize::from(self.id.links.clamp(1, MAX_LINKS as u8)));
        assert_eq!(
            h.seq,
            self.out_seq.wrapping_add(1),
            "sequence numbers count every frame"
        );
        self.out_seq = h.seq;
        match &frame.body {
            Body::Heartbeat(hb) => {
                assert_eq!(t.dest, Dest::Peers);
                if self.id.role != Role::Witness {
                    assert_eq!(
                        hb.flags.contains(HeartbeatFlags::HOLDS),
                        self.machine.holds_addresses(),
                        "a heartbeat's HOLDS flag tells what holds_addresses says"
                    );
                }
            }
            Body::Witness(w) => {
                assert_eq!(
                    t.link,
                    LinkId::PRIVATE,
                    "the witness lives on the private link"
                );
                match self.id.role {
                    Role::Primary => panic!("the primary sent a witness message"),
                    Role::Secondary => {
                        assert_eq!(t.dest, Dest::Witness);
                        assert!(matches!(
                            w.kind,
                            WitnessKind::Request | WitnessKind::Release
                        ));
                        assert_eq!(w.subject, self.id.node);
                    }
                    Role::Witness => {
                        assert_eq!(t.dest, Dest::Peers);
                        assert!(matches!(w.kind, WitnessKind::Grant | WitnessKind::Deny));
                    }
                }
                self.latest_nonce = w.nonce;
            }
        }
        remember(&mut self.sent_headers, (h.epoch, h.seq));
        remember(&mut self.sent_frames, bytes.to_vec());
    }

    fn check(&self) {
        if let Some(t) = self.machine.poll_at() {
            assert!(t >= self.now, "poll_at {t:?} is before now {:?}", self.now);
        }
        let holds = self.machine.holds_addresses();
        match self.id.role {
            Role::Witness => assert!(!holds, "the witness never holds the addresses"),
            // The primary holds them exactly when it has added them.
            Role::Primary => assert_eq!(holds, self.addresses, "primary holds_addresses"),
            // The secondary may report holding them before it adds them
            // (part-way through acquiring), never the reverse.
            Role::Secondary => assert!(holds || !self.addresses, "secondary holds_addresses"),
        }
    }
}

fn nth<T>(list: &VecDeque<T>, n: u8) -> Option<&T> {
    if list.is_empty() {
        None
    } else {
        list.get(usize::from(n) % list.len())
    }
}
