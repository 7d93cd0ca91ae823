//! The secondary's decisions (`failoverd`): watch the primary on every link,
//! take the service addresses when it is dead, give them back when it
//! returns.
//!
//! Apple's rules, kept: silence on all links starts the acquire sequence
//! (Test, PreAcq, add and announce, PostAcq, notify), where a failing Test or
//! PreAcq cancels it; silence on some links only is a "network anomaly"
//! notice; heartbeats back on every link start the release sequence (PreRel,
//! remove, PostRel, notify). Added: an optional hold-down, the witness
//! (a takeover needs its grant, or with policy "preferred" falls back to
//! Apple's rule when the witness is unreachable), and the primary's reclaim
//! request, answered by releasing and then acknowledging.

use crate::action::{Action, Dest, Event, LinkMask, Stage, StageOutcome, Transmit};
use crate::config::{ConfigError, Timing};
use crate::detector::{DeadTime, PeerDetector};
use crate::endpoint::Freshness;
use crate::machine::{Machine, Server, Wake};
use crate::node::{LinkId, NodeId, Role, MAX_LINKS};
use crate::reach::HandoverRequest;
use crate::removal::RemovalRetry;
use crate::station::{
    server_methods, station_inherent_methods, station_methods, HostLinks, Outbox, Station,
};
use crate::time::{Duration, Instant};
use crate::wire::{
    Body, DenyReason, FrameRepr, HeartbeatFlags, HeartbeatRepr, Keyring, WitnessKind, WitnessRepr,
    MAX_FRAME_LEN, MAX_MESSAGE_LEN,
};

/// What the witness's opinion counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WitnessPolicy {
    /// No witness: Apple's rule alone (silence on every link).
    Off,
    /// Take over only with the witness's grant. A secondary that cannot
    /// reach the witness never takes over.
    Required,
    /// Ask the witness when it is reachable and obey it; when it has been
    /// unreachable, fall back to Apple's rule once `fallback_hold_down` has
    /// passed since the verdict.
    Preferred {
        /// How long after the verdict the fallback may act.
        fallback_hold_down: Duration,
    },
}

/// Everything the secondary needs to know. [`SecondaryConfig::new`] fills in
/// the defaults.
#[derive(Debug, Clone)]
pub struct SecondaryConfig {
    /// This node.
    pub node: NodeId,
    /// This boot's epoch (see `docs/protocol.md`: larger than any before).
    pub epoch: u32,
    /// The primary's node id; `None` listens to any node in the primary role.
    pub primary: Option<NodeId>,
    /// How many links to watch (link 0 private, link 1 public, …).
    pub links: u8,
    /// This node's own heartbeat interval.
    pub interval: Duration,
    /// The primary's interval until its first heartbeat says otherwise.
    pub primary_interval: Duration,
    /// How long silence must last for the verdict.
    pub dead_time: DeadTime,
    /// Wait this long after the verdict before acting (the Test-script post's 240 s).
    pub hold_down: Duration,
    /// What the witness's opinion counts for.
    pub witness: WitnessPolicy,
    /// The witness's node id; `None` accepts any node in the witness role.
    pub witness_node: Option<NodeId>,
    /// The witness counts as unreachable after this much silence.
    pub witness_dead_time: Duration,
    /// Ask the witness again when it has not answered within this.
    pub request_timeout: Duration,
    /// Give up waiting for a stage report after this long (the host's own
    /// per-script limit should fire first).
    pub stage_timeout: Duration,
    /// After a veto, try the takeover again after this long if the primary
    /// is still dead.
    pub veto_retry: Duration,
    /// Authentication keys; `None` sends and accepts unauthenticated frames.
    pub keys: Option<Keyring>,
    /// Free text carried in heartbeats (`failoverd` has no `-m`, but its
    /// heartbeats carry the field like the primary's).
    pub message: heapless::Vec<u8, MAX_MESSAGE_LEN>,
    /// How long the service network must have been reachable again
    /// ([`Secondary::set_reachable`]) before this node says it can serve.
    pub reach_settle: Duration,
    /// Back up an old Mac OS X Server primary (`failoverd --apple-compat`):
    /// the primary is heard only through
    /// [`Secondary::handle_apple_beat`] (Apple's heartbeat, a datagram
    /// that carries no state), frames are ignored and none are sent. The
    /// primary is taken to hold its addresses (Apple's kept them configured
    /// statically): the addresses are given back when it is heard on every
    /// link again, with no handshake. Refused with a witness, keys or an
    /// adaptive dead time ([`ConfigError::AppleCompat`]).
    pub apple_compat: bool,
}

impl SecondaryConfig {
    /// Defaults: Apple's dead time of three intervals, no hold-down, no
    /// witness, 60 s stage limit, retry a vetoed takeover after 60 s.
    #[must_use]
    pub fn new(node: NodeId, epoch: u32, links: u8, interval: Duration) -> Self {
        SecondaryConfig {
            node,
            epoch,
            primary: None,
            links,
            interval,
            primary_interval: interval,
            dead_time: DeadTime::Fixed(interval.saturating_mul(3)),
            hold_down: Duration::ZERO,
            witness: WitnessPolicy::Off,
            witness_node: None,
            witness_dead_time: interval.saturating_mul(3),
            request_timeout: interval,
            stage_timeout: Duration::from_secs(60),
            veto_retry: Duration::from_secs(60),
            keys: None,
            message: heapless::Vec::new(),
            reach_settle: interval.saturating_mul(3),
            apple_compat: false,
        }
    }
}

/// Where the secondary is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The primary is alive (or has not been silent long enough).
    Monitoring,
    /// The primary is dead; waiting out the hold-down (or, with policy
    /// "preferred" and no witness, the longer fallback hold-down).
    HoldDown {
        /// When the wait ends.
        until: Instant,
        /// Whether this is the witness fallback wait.
        fallback: bool,
    },
    /// Asked the witness for a grant; waiting for the answer. Asked at the
    /// verdict, in parallel with the wait for the primary's isolation
    /// fence ([`Phase::Granted`]).
    AwaitGrant {
        /// The request's nonce.
        nonce: u32,
        /// When the request was sent: the lease counts from here.
        sent_at: Instant,
        /// When to ask again.
        resend_at: Instant,
    },
    /// The witness granted before the primary must have fenced itself:
    /// the grant is held (and renewed) until `until`, when acquiring
    /// starts. A primary heard again meanwhile gets it handed back.
    Granted {
        /// When the primary must have fenced itself.
        until: Instant,
    },
    /// Running the acquire sequence; `stage` is the script stage under way.
    Acquiring {
        /// The stage running.
        stage: Stage,
        /// When to stop waiting for its report.
        deadline: Instant,
        /// The primary came back before the addresses were added: stop
        /// after this stage.
        abort: bool,
    },
    /// Holds the service addresses.
    Holding,
    /// Running the release sequence.
    Releasing {
        /// The stage running.
        stage: Stage,
        /// When to stop waiting for its report.
        deadline: Instant,
    },
    /// A Test or PreAcq script refused; try again at `retry_at` if the
    /// primary is still dead.
    Vetoed {
        /// When to try again.
        retry_at: Instant,
    },
    /// Shut down (after releasing, if it held the addresses).
    Stopped,
}

impl Phase {
    /// A short name for logs (`failoverd` logs each change).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Monitoring => "monitoring",
            Phase::HoldDown { .. } => "hold-down",
            Phase::AwaitGrant { .. } => "awaiting the witness's grant",
            Phase::Granted { .. } => "granted, waiting out the primary's fence",
            Phase::Acquiring { .. } => "acquiring",
            Phase::Holding => "holding the addresses",
            Phase::Releasing { .. } => "releasing",
            Phase::Vetoed { .. } => "vetoed",
            Phase::Stopped => "stopped",
        }
    }
}

/// A grant from the witness, as this node counts it: from when the request
/// was sent, so it always ends before the witness's own count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The nonce of the request it answered.
    pub nonce: u32,
    /// When it ends.
    pub expires: Instant,
}

/// The secondary state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Secondary {
    config: SecondaryConfig,
    station: Station<32>,
    primary: PeerDetector,
    primary_state: Freshness,
    /// The primary's epoch and sequence number as last heard (acknowledged
    /// in our heartbeats).
    primary_epoch: u32,
    primary_seq: u32,
    /// The primary's latest heartbeat asks for the addresses back.
    reclaim: bool,
    witness: PeerDetector,
    witness_reported_alive: bool,
    phase: Phase,
    /// When the primary was last declared dead.
    verdict_at: Option<Instant>,
    lease: Option<Lease>,
    /// Nonce of a lease renewal in flight, and when it was sent.
    renewal: Option<(u32, Instant)>,
    /// The reason of the last deny notified in this attempt.
    denied: Option<DenyReason>,
    /// The primary epoch whose reclaim this node answered by releasing.
    released_for: Option<u32>,
    reported_silent: LinkMask,
    /// When the primary was last heard again after a verdict.
    regained_at: Instant,
    /// Since `regained_at`, some link has been neither heard nor silent for
    /// its dead time: its silence must count from the return.
    settling: bool,
    peer_lost_reported: bool,
    shutting_down: bool,
    /// The carrier and the service network, as the host reports them.
    links: HostLinks,
    /// A removal of the addresses the host could not carry out, retried.
    removal: RemovalRetry,
    /// The release sequence ended while a removal was failing: Relinquished
    /// is notified when a retry works.
    relinquish_owed: bool,
    /// The primary's latest heartbeat says it cannot serve: the addresses
    /// are not given back to it.
    primary_unreachable: bool,
    /// The primary's latest heartbeat says it stands by (`STANDBY`): it
    /// does not want the addresses back.
    primary_standby: bool,
    /// The primary's latest heartbeat echoes a frame of this node's present
    /// life (`Secondary::echoes_this_life`): what it asks may start a
    /// takeover.
    primary_verified: bool,
    /// The primary asks this node to serve (it cannot be reached).
    handover: HandoverRequest,
    /// The takeover under way or held was asked for by the primary, not
    /// caused by its silence.
    on_request: bool,
    to_witness: Outbox,
    /// With [`SecondaryConfig::apple_compat`]: Apple's heartbeats counted on
    /// each link, which stand for the rounds the detector needs (an Apple
    /// heartbeat carries no round number).
    apple_beats: [u32; MAX_LINKS],
}

impl Secondary {
    /// A secondary that starts watching at `now`, or the first of
    /// [`SecondaryConfig::problems`] if there are any (a configuration is
    /// refused, not quietly repaired). It has heard nothing yet, so the
    /// primary is declared dead one dead time from now unless it is heard
    /// first.
    pub fn try_new(config: SecondaryConfig, now: Instant) -> Result<Self, ConfigError> {
        match config.problems().first() {
            Some(&problem) => Err(problem),
            None => Ok(Secondary::new(config, now)),
        }
    }

    /// The machine for a configuration that passed its checks.
    fn new(config: SecondaryConfig, now: Instant) -> Self {
        let links = config.links;
        let primary = PeerDetector::new(config.dead_time, links, config.primary_interval, now);
        let witness = PeerDetector::new(
            DeadTime::Fixed(config.witness_dead_time),
            1,
            config.interval,
            now,
        );
        let mut machine = Secondary {
            station: Station::new(
                config.node,
                Role::Secondary,
                config.epoch,
                config.keys.clone(),
                config.interval,
                links,
                now,
            ),
            primary,
            primary_state: Freshness::default(),
            primary_epoch: 0,
            primary_seq: 0,
            reclaim: false,
            witness,
            witness_reported_alive: false,
            phase: Phase::Monitoring,
            verdict_at: None,
            lease: None,
            renewal: None,
            denied: None,
            released_for: None,
            reported_silent: LinkMask::NONE,
            regained_at: now,
            settling: false,
            peer_lost_reported: false,
            shutting_down: false,
            links: HostLinks::new(config.interval, config.reach_settle),
            removal: RemovalRetry::new(config.interval),
            relinquish_owed: false,
            primary_unreachable: false,
            primary_standby: false,
            primary_verified: false,
            handover: HandoverRequest::default(),
            on_request: false,
            to_witness: Outbox::default(),
            apple_beats: [0; MAX_LINKS],
            config,
        };
        // A backup that beats at its primary's rate sends with the frames
        // that wake it (`beat.rs`): one wake-up per interval, not two.
        if !machine.config.apple_compat
            && machine.config.interval == machine.config.primary_interval
        {
            machine.station.beater.follow();
        }
        machine.sync_timing();
        machine
    }

    station_inherent_methods!(primary, primary_interval);

    /// Where the machine is.
    #[must_use]
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The primary's detector, for status output.
    #[must_use]
    pub fn primary_detector(&self) -> &PeerDetector {
        &self.primary
    }

    /// The current witness grant, if any.
    #[must_use]
    pub fn lease(&self) -> Option<Lease> {
        self.lease
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &SecondaryConfig {
        &self.config
    }

    /// Whether the witness has been heard within its dead time.
    #[must_use]
    pub fn witness_reachable(&self) -> bool {
        self.witness.heard_any() && !self.witness.is_dead(self.station.endpoint.now())
    }

    /// Whether this node can serve clients now (reachable, and settled).
    fn can_serve(&self, now: Instant) -> bool {
        self.links.can_serve(now)
    }

    fn report_reach(&mut self, now: Instant) {
        if let Some(event) = self.links.report_reach(now) {
            self.notify(event);
        }
    }

    /// Whether the primary, alive, asks this node to serve, and this node
    /// can.
    fn handed_over(&self, now: Instant) -> bool {
        self.handover.stands(self.config.keys.is_some()) && self.can_serve(now)
    }

    /// The primary handed the service over: take it without a verdict or a
    /// hold-down. With a witness, its grant is still asked for (it grants
    /// to a primary's handover request), so a secondary holding the
    /// addresses always holds a lease that runs out if it is cut off.
    fn take_over_on_request(&mut self, now: Instant) {
        self.on_request = true;
        self.notify(Event::PrimaryHandedOver {
            planned: !self.primary_unreachable,
        });
        self.verdict_at = Some(now);
        self.denied = None;
        match self.config.witness {
            WitnessPolicy::Off => self.start_acquire(now),
            WitnessPolicy::Preferred { .. } if !self.witness_reachable() => self.start_acquire(now),
            WitnessPolicy::Required | WitnessPolicy::Preferred { .. } => self.request_grant(now),
        }
    }

    /// An Apple heartbeat (Mac OS X Server's `heartbeatd`: a UDP datagram
    /// whose payload is only its `-m` message) from the primary arrived on
    /// `link`. With [`SecondaryConfig::apple_compat`] it counts as a round
    /// of the primary on that link: its silence on every link for the
    /// (fixed) dead time is the verdict, and a primary heard on every link
    /// again gets its addresses back (Apple's rule: once it hears "the
    /// heartbeat on both interfaces again"). The host decides what is an
    /// Apple heartbeat (the port, and the primary's source addresses on
    /// that link); nothing in it is read. Without the option, and on a link
    /// this node does not watch, it is ignored.
    pub fn handle_apple_beat(&mut self, now: Instant, link: LinkId) {
        if !self.config.apple_compat || usize::from(link.0) >= usize::from(self.config.links) {
            return;
        }
        let now = self.enter(now);
        let Some(beat) = self.apple_beats.get_mut(usize::from(link.0)) else {
            return;
        };
        *beat = beat.wrapping_add(1);
        let beat = *beat;
        // Epoch 0 and no advertised interval: the detector keeps the
        // configured one, and each datagram is the link's next round.
        self.primary
            .on_heartbeat(now, link, 0, beat, Duration::ZERO);
        self.evaluate(now);
    }

    /// Every entry point starts here ([`Station::enter`]).
    fn enter(&mut self, now: Instant) -> Instant {
        let (now, stalled) = self.station.enter(now, self.config.interval);
        if stalled {
            self.on_stall(now);
        }
        now
    }

    /// This node was not running for longer than the primary needs to take
    /// the addresses back on its silence: whatever it held must go at once
    /// (PreRel cannot come first), and what it heard is stale, so silence
    /// counts afresh.
    fn on_stall(&mut self, now: Instant) {
        self.forget_primary(now);
        let addresses_on = match self.phase {
            Phase::Holding
            | Phase::Releasing {
                stage: Stage::PreRel,
                ..
            } => true,
            Phase::Acquiring { stage, .. } => stage == Stage::PostAcq,
            _ => false,
        };
        if addresses_on {
            self.removal.request(&mut self.station.actions);
            self.notify(Event::Stalled);
            self.run_release_stage(now, Stage::PostRel);
        }
    }

    fn notify(&mut self, event: Event) {
        self.station.notify(event);
    }

    fn send_witness(&mut self, kind: WitnessKind, nonce: u32) {
        self.to_witness.push(WitnessRepr {
            kind,
            nonce,
            subject: self.config.node,
            lease: Duration::ZERO,
            reason: DenyReason::None,
        });
    }

    fn holds_flag(&self) -> bool {
        // A removal that failed: the addresses may still be here, and the
        // primary must not add them (nor take RELEASED from this node).
        if self.removal.pending() {
            return true;
        }
        match self.phase {
            Phase::Acquiring { stage, abort, .. } => stage == Stage::PostAcq || !abort,
            Phase::Holding => true,
            // Until PostRel has run: the primary waits for the whole release
            // sequence, so its scripts never race the secondary's.
            Phase::Releasing { .. } => true,
            _ => false,
        }
    }

    /// Whether the primary's frame echoes a frame of this node's present
    /// life (its epoch since this machine started: epochs only grow, across
    /// restarts and rollovers alike), so it was sent after this node
    /// started. After a restart the replay window starts afresh, and a copy
    /// of a primary frame sent before it (a handover while the primary was
    /// cut off, say) would pass for news: what such a frame asks may keep
    /// this node serving, but never starts a takeover.
    fn echoes_this_life(&self, hb: &HeartbeatRepr) -> bool {
        hb.ack_epoch >= self.config.epoch
    }

    fn on_primary_heartbeat(
        &mut self,
        now: Instant,
        link: LinkId,
        frame: &FrameRepr,
        hb: &HeartbeatRepr,
    ) {
        let h = &frame.header;
        self.primary
            .on_heartbeat(now, link, h.epoch, hb.beat, hb.interval);
        self.station.report_refused_interval(&mut self.primary);
        self.handover.heard(h.epoch);
        // A frame whose epoch is believed on its own word (docs/protocol.md,
        // "Epochs from an unkeyed peer") counts for liveness only.
        if !self.station.endpoint.provisional() && self.primary_state.advance(h.epoch, h.seq) {
            self.primary_epoch = h.epoch;
            self.primary_seq = h.seq;
            self.station.beater.heard_leader(now);
            self.primary_verified = self.echoes_this_life(hb);
            self.reclaim = hb.flags.contains(HeartbeatFlags::RECLAIM);
            self.primary_unreachable = hb.flags.contains(HeartbeatFlags::UNREACHABLE);
            self.primary_standby = hb.flags.contains(HeartbeatFlags::STANDBY);
            self.handover.on_frame(h.epoch, hb.flags);
        }
    }

    fn on_witness_frame(&mut self, now: Instant, msg: &WitnessRepr) {
        if msg.subject != self.config.node {
            return;
        }
        match msg.kind {
            WitnessKind::Grant => self.on_grant(now, msg),
            WitnessKind::Deny => {
                // Asked at the verdict, before the primary must have fenced
                // itself: "not yet" is the expected answer then (the
                // witness keeps the request and grants it when its own
                // dead time has passed), not news for the administrator.
                let early = matches!(msg.reason, DenyReason::PrimaryAlive | DenyReason::Listening)
                    && self.fenced_at().is_some_and(|t| now < t);
                if let Phase::AwaitGrant { nonce, .. } = self.phase {
                    if nonce == msg.nonce && !early && self.denied != Some(msg.reason) {
                        self.denied = Some(msg.reason);
                        self.notify(Event::WitnessDenied { reason: msg.reason });
                    }
                }
            }
            WitnessKind::Request | WitnessKind::Release => {}
        }
    }

    fn on_grant(&mut self, now: Instant, msg: &WitnessRepr) {
        match self.phase {
            Phase::AwaitGrant { nonce, sent_at, .. } if nonce == msg.nonce => {
                self.lease = Some(Lease {
                    nonce,
                    expires: sent_at + msg.lease,
                });
                self.acquire_when_fenced(now);
            }
            _ => match self.renewal {
                Some((nonce, sent_at)) if nonce == msg.nonce => {
                    self.lease = Some(Lease {
                        nonce,
                        expires: sent_at + msg.lease,
                    });
                    self.renewal = None;
                }
                // A grant this node no longer wants (it was answered late,
                // after the primary came back): hand it back at once so the
                // witness is free.
                _ if self.lease.is_none() && !matches!(self.phase, Phase::AwaitGrant { .. }) => {
                    self.send_witness(WitnessKind::Release, msg.nonce);
                }
                _ => {}
            },
        }
    }

    /// Hands the grant back. The witness ends only the grant of the nonce
    /// a Release names, and it may have granted a renewal whose answer has
    /// not arrived (or was lost): that renewal is handed back too.
    fn release_lease(&mut self) {
        if let Some(lease) = self.lease.take() {
            self.send_witness(WitnessKind::Release, lease.nonce);
        }
        if let Some((nonce, _)) = self.renewal.take() {
            self.send_witness(WitnessKind::Release, nonce);
        }
    }

    fn request_grant(&mut self, now: Instant) {
        let nonce = self.station.endpoint.nonce();
        self.phase = Phase::AwaitGrant {
            nonce,
            sent_at: now,
            resend_at: now + self.config.request_timeout,
        };
        self.send_witness(WitnessKind::Request, nonce);
    }

    fn start_acquire(&mut self, now: Instant) {
        self.denied = None;
        self.run_acquire_stage(now, Stage::Test);
    }

    fn run_acquire_stage(&mut self, now: Instant, stage: Stage) {
        self.phase = Phase::Acquiring {
            stage,
            deadline: now + self.config.stage_timeout,
            abort: false,
        };
        self.station.actions.push(Action::RunStage(stage));
    }

    fn run_release_stage(&mut self, now: Instant, stage: Stage) {
        self.phase = Phase::Releasing {
            stage,
            deadline: now + self.config.stage_timeout,
        };
        self.station.actions.push(Action::RunStage(stage));
    }

    /// Granted: start acquiring once the primary must have fenced itself
    /// ([`Secondary::fenced_at`]), holding the grant until then.
    fn acquire_when_fenced(&mut self, now: Instant) {
        match self.fenced_at() {
            Some(until) if now < until => self.phase = Phase::Granted { until },
            _ => self.start_acquire(now),
        }
    }

    /// The primary is dead: hold down, ask the witness, or start acquiring.
    /// The witness is asked at once (after a configured hold-down): the
    /// wait for the primary's isolation fence runs in parallel, and only
    /// the use of the grant waits for it ([`Secondary::acquire_when_fenced`]).
    fn begin_takeover(&mut self, now: Instant) {
        self.on_request = false;
        self.verdict_at = Some(now);
        self.denied = None;
        let until = now + self.config.hold_down;
        if until > now {
            self.phase = Phase::HoldDown {
                until,
                fallback: false,
            };
        } else {
            self.after_hold_down(now);
        }
    }

    /// With a witness, when a primary that is in fact alive is sure to have
    /// fenced itself (no acquiring before then, grant or not): the witness's
    /// own rule (`Timing::recommended`'s witness dead time: the primary's
    /// isolation fence, plus a stall's margin and the delay allowance),
    /// counted from when this node last heard the primary, or from when it
    /// started watching if it has not heard it since.
    ///
    /// A primary's isolation fence counts from its last round trip: the
    /// newest of its frames that the witness or this node echoed. Echoed by
    /// the witness, the witness's own count covers it. Echoed by this node,
    /// the frame was heard here, so it is no later than this node's last
    /// frame from the primary, or, if this node restarted (or forgot what
    /// it heard, after a stall) since, no later than the restart. Counting
    /// from the restart matters: the witness may have lost the primary long
    /// before (its private port went first, while this node kept it in
    /// touch on a public link) and grant at once, and a secondary restarted
    /// just as the primary was cut off never hears it, yet the primary
    /// holds the addresses until a fence after the old life's last echo.
    /// `None` without a witness (Apple's rule has no fence).
    fn fenced_at(&self) -> Option<Instant> {
        if self.config.witness == WitnessPolicy::Off {
            return None;
        }
        let wait = Timing::recommended(self.primary.interval()).witness_dead_time;
        Some(self.primary.silent_since() + wait)
    }

    fn after_hold_down(&mut self, now: Instant) {
        match self.config.witness {
            WitnessPolicy::Off => self.start_acquire(now),
            WitnessPolicy::Required => self.request_grant(now),
            WitnessPolicy::Preferred { .. } if self.witness_reachable() => self.request_grant(now),
            WitnessPolicy::Preferred { .. } => self.fall_back(now),
        }
    }

    /// Policy "preferred" with the witness unreachable: Apple's rule, once
    /// the longer hold-down since the verdict has passed.
    fn fall_back(&mut self, now: Instant) {
        let WitnessPolicy::Preferred { fallback_hold_down } = self.config.witness else {
            return;
        };
        // Apple's rule acts no sooner than a grant would.
        let until = (self.verdict_at.unwrap_or(now) + fallback_hold_down)
            .max(self.fenced_at().unwrap_or(now));
        if now >= until {
            self.notify(Event::WitnessFallback);
            self.start_acquire(now);
        } else {
            self.phase = Phase::HoldDown {
                until,
                fallback: true,
            };
        }
    }

    fn finish_stage(&mut self, now: Instant, stage: Stage, outcome: StageOutcome) {
        match self.phase {
            Phase::Acquiring {
                stage: running,
                abort,
                ..
            } if running == stage => match stage {
                Stage::Test | Stage::PreAcq if abort => {
                    self.notify(Event::TakeoverCancelled);
                    self.release_lease();
                    self.phase = Phase::Monitoring;
                }
                Stage::Test | Stage::PreAcq if !outcome.is_success() => {
                    self.notify(Event::Vetoed { stage, outcome });
                    self.release_lease();
                    self.phase = Phase::Vetoed {
                        retry_at: now + self.config.veto_retry,
                    };
                }
                Stage::Test => self.run_acquire_stage(now, Stage::PreAcq),
                Stage::PreAcq => {
                    self.removal.cancel();
                    self.relinquish_owed = false;
                    self.station.actions.push(Action::AddAddresses);
                    self.station.actions.push(Action::Announce);
                    self.run_acquire_stage(now, Stage::PostAcq);
                }
                _ => {
                    if !outcome.is_success() {
                        self.notify(Event::ScriptFailed { stage, outcome });
                    }
                    self.released_for = None;
                    self.phase = Phase::Holding;
                    self.notify(Event::TookOver);
                }
            },
            Phase::Releasing { stage: running, .. } if running == stage => {
                if !outcome.is_success() {
                    self.notify(Event::ScriptFailed { stage, outcome });
                }
                if stage == Stage::PreRel {
                    self.removal.request(&mut self.station.actions);
                    self.run_release_stage(now, Stage::PostRel);
                } else {
                    // Relinquished says the addresses are gone: after a
                    // failed removal, only once a retry has worked.
                    if self.removal.pending() {
                        self.relinquish_owed = true;
                    } else {
                        self.notify(Event::Relinquished);
                    }
                    self.release_lease();
                    if self.reclaim {
                        self.released_for = Some(self.primary_epoch);
                    }
                    self.phase = Phase::Monitoring;
                }
            }
            _ => {}
        }
    }

    /// Re-derives every decision from the current facts. Called after every
    /// input, so no decision depends on which input happened to come last.
    fn evaluate(&mut self, now: Instant) {
        self.removal.retry_if_due(now, &mut self.station.actions);
        if self.relinquish_owed && !self.removal.pending() {
            self.relinquish_owed = false;
            self.notify(Event::Relinquished);
        }
        let silent = self.primary.is_dead(now);
        self.report_links(now, silent);
        // Deaf is not the same as the primary being dead.
        let dead = silent && self.links.carrier();
        let cut_off = self.links.cut_off(now);
        if dead {
            // A request dies with the primary that made it.
            self.handover.reset();
        }
        // The primary, alive, asks this node to serve: enough to keep
        // serving, and, once its latest frame is known to be of this node's
        // present life (`echoes_this_life`), to take over.
        let asked = !dead && !cut_off && self.handed_over(now);
        let handed_over = asked && self.primary_verified;
        // Not dead only because silence counts afresh (this node stalled,
        // or its carrier came back) is not the primary's return: only a
        // heartbeat heard since is. Taking the reset for a return cancelled
        // every takeover whose Test script outlasted the node's next stall
        // of a few intervals, over and over on a loaded machine.
        let recounting = !silent && !self.primary.heard_any() && self.links.carrier();
        // A primary heard asking, but not yet in a frame of this node's
        // present life, counts as back too: a takeover it did not ask for
        // in a believed frame stops (it starts again on request once it
        // is). Only a node already holding keeps serving on its word.
        let back = !dead && !handed_over && !recounting;
        self.report_reach(now);
        self.report_witness(now);
        self.check_lease(now);

        match self.phase {
            Phase::Monitoring
            | Phase::HoldDown { .. }
            | Phase::AwaitGrant { .. }
            | Phase::Granted { .. }
            | Phase::Vetoed { .. }
                if self.shutting_down =>
            {
                self.release_lease();
                self.phase = Phase::Stopped;
            }
            Phase::Monitoring if dead => self.begin_takeover(now),
            Phase::Monitoring if handed_over => self.take_over_on_request(now),
            Phase::Monitoring | Phase::Stopped => {}
            Phase::HoldDown { .. }
            | Phase::AwaitGrant { .. }
            | Phase::Granted { .. }
            | Phase::Vetoed { .. }
                if back =>
            {
                // A grant taken while waiting out the fence goes back to
                // the witness at once: nothing was acquired.
                self.release_lease();
                self.phase = Phase::Monitoring;
            }
            // The primary, alive, hands the service over while this node
            // holds a grant: take it now (the witness grants a handover
            // without the fence, and the primary released first).
            Phase::Granted { .. } if handed_over => {
                self.on_request = true;
                self.notify(Event::PrimaryHandedOver {
                    planned: !self.primary_unreachable,
                });
                self.verdict_at = Some(now);
                self.start_acquire(now);
            }
            Phase::Granted { until } => {
                if self.lease.is_none() {
                    // The grant ran out before the fence (a lease shorter
                    // than the wait, or renewals unanswered): ask again.
                    self.request_grant(now);
                } else if now >= until {
                    self.start_acquire(now);
                } else {
                    self.renew_lease(now);
                }
            }
            // Asked to serve while waiting out a verdict's hold-down: the
            // primary is alive, and released first.
            Phase::HoldDown { .. } if handed_over => self.take_over_on_request(now),
            Phase::HoldDown { until, fallback } => {
                if now >= until {
                    if fallback {
                        self.fall_back(now);
                    } else {
                        self.after_hold_down(now);
                    }
                }
            }
            Phase::AwaitGrant { resend_at, .. } => {
                let preferred = matches!(self.config.witness, WitnessPolicy::Preferred { .. });
                if preferred && !self.witness_reachable() {
                    self.fall_back(now);
                } else if now >= resend_at {
                    self.request_grant(now);
                }
            }
            Phase::Vetoed { retry_at } => {
                if now >= retry_at {
                    if handed_over {
                        self.take_over_on_request(now);
                    } else {
                        self.begin_takeover(now);
                    }
                }
            }
            Phase::Acquiring {
                stage,
                deadline,
                abort,
            } => {
                let before_add = matches!(stage, Stage::Test | Stage::PreAcq);
                // A primary that handed the service over stands by once it
                // hears this node hold it: that is the handover going
                // through, not the primary coming back for the addresses.
                let standing_by = self.on_request && self.primary_standby;
                if before_add && !abort && ((back && !standing_by) || self.shutting_down) {
                    self.phase = Phase::Acquiring {
                        stage,
                        deadline,
                        abort: true,
                    };
                } else {
                    self.renew_lease(now);
                }
                if now >= deadline {
                    self.finish_stage(now, stage, StageOutcome::TimedOut);
                }
            }
            Phase::Holding => {
                // A primary that says it cannot serve (its service network
                // is out, or just back and settling), or that stands by
                // (manual failback, or after a handover), is not given the
                // addresses back, however many links it is heard on.
                let primary_back = self.primary.heard_any()
                    && !dead
                    && !self.primary_unreachable
                    && !self.primary_standby
                    && !asked
                    && (self.reclaim || self.primary.silent_links(now).is_empty());
                if primary_back || self.shutting_down || cut_off {
                    self.run_release_stage(now, Stage::PreRel);
                } else {
                    self.renew_lease(now);
                }
            }
            Phase::Releasing { stage, deadline } => {
                if now >= deadline {
                    self.finish_stage(now, stage, StageOutcome::TimedOut);
                }
            }
        }
    }

    /// With policy "required" the grant is binding: when it runs out (this
    /// node counts it from when it sent the request, so it runs out here
    /// before it does at the witness), the addresses go at once. A
    /// secondary cut off from everyone cannot renew, and the primary may take
    /// the addresses back as soon as the witness has no grant outstanding.
    /// With "preferred" an unrenewed grant lapses quietly: Apple's rule
    /// (the primary is still silent) keeps the addresses.
    fn check_lease(&mut self, now: Instant) {
        let Some(lease) = self.lease else { return };
        if now < lease.expires {
            return;
        }
        self.lease = None;
        self.renewal = None;
        if self.config.witness != WitnessPolicy::Required {
            return;
        }
        self.notify(Event::LeaseExpired);
        match self.phase {
            Phase::Acquiring {
                stage: stage @ (Stage::Test | Stage::PreAcq),
                deadline,
                ..
            } => {
                self.phase = Phase::Acquiring {
                    stage,
                    deadline,
                    abort: true,
                };
            }
            Phase::Holding
            | Phase::Acquiring { .. }
            | Phase::Releasing {
                stage: Stage::PreRel,
                ..
            } => {
                self.removal.request(&mut self.station.actions);
                self.run_release_stage(now, Stage::PostRel);
            }
            _ => {}
        }
    }

    /// Keeps the witness grant alive while acquiring and holding: ask again
    /// when three request timeouts of it are left, and each timeout after.
    fn renew_lease(&mut self, now: Instant) {
        if let Some(at) = self.renew_at() {
            if now >= at {
                let nonce = self.station.endpoint.nonce();
                self.renewal = Some((nonce, now));
                self.send_witness(WitnessKind::Request, nonce);
            }
        }
    }

    /// When to ask the witness to extend the grant: when three request
    /// timeouts of it are left, and again each timeout until it answers.
    fn renew_at(&self) -> Option<Instant> {
        let lease = self.lease?;
        let due = lease.expires - self.config.request_timeout.saturating_mul(3);
        Some(match self.renewal {
            Some((_, sent)) => due.max(sent + self.config.request_timeout),
            None => due,
        })
    }

    /// Anomaly notices: one per change of the set of silent links while the
    /// primary is alive; "peer lost/regained" around the verdict.
    /// What this node heard is stale (it was stalled, or deaf): the
    /// detectors start afresh. What it reported stands until a link is
    /// heard again or is silent for its dead time counted from now (the
    /// settling rule of `report_links`), so a stall neither repeats an
    /// anomaly notice, nor forgets one it sent, nor passes for the
    /// primary's return.
    fn forget_primary(&mut self, now: Instant) {
        self.primary.reset(now);
        self.primary_verified = false;
        self.handover.reset();
        self.witness.reset(now);
        self.regained_at = now;
        self.settling = true;
    }

    fn report_links(&mut self, now: Instant, dead: bool) {
        if dead {
            self.reported_silent = LinkMask::NONE;
            if !self.peer_lost_reported && self.primary.heard_any() {
                self.peer_lost_reported = true;
                self.notify(Event::PeerLost);
            }
            return;
        }
        // Not dead only because the detector was reset is not a return.
        if self.peer_lost_reported && self.primary.heard_any() {
            self.peer_lost_reported = false;
            self.regained_at = now;
            self.settling = true;
            self.notify(Event::PeerRegained);
        }
        // A primary coming back is heard on one link a moment before the
        // others: its links' silence counts from its return, not from its
        // death, or every failback would mail a spurious anomaly. Once every
        // link has been heard since, or been silent for its dead time, the
        // detector's own view is the same, and cheaper.
        let silent = if self.settling {
            let mut silent = LinkMask::NONE;
            let mut settled = true;
            for link in (0..self.config.links).map(LinkId) {
                if now >= self.link_silent_at(link) {
                    silent = silent.with(link);
                } else if self
                    .primary
                    .last_heard(link)
                    .is_none_or(|t| t < self.regained_at)
                {
                    // Unknown yet: what was reported of it stands.
                    settled = false;
                    if self.reported_silent.contains(link) {
                        silent = silent.with(link);
                    }
                }
            }
            self.settling = !settled;
            silent
        } else {
            self.primary.silent_links(now)
        };
        if silent != self.reported_silent && self.primary.heard_any() {
            if silent.is_empty() {
                self.notify(Event::NetworkRestored);
            } else {
                self.notify(Event::NetworkAnomaly { silent });
            }
            self.reported_silent = silent;
        }
    }

    /// When `link` counts as silent for anomaly notices if nothing more
    /// arrives on it.
    fn link_silent_at(&self, link: LinkId) -> Instant {
        let heard = self
            .primary
            .last_heard(link)
            .map_or(self.regained_at, |t| t.max(self.regained_at));
        heard + self.primary.link_dead_time(link)
    }

    fn report_witness(&mut self, now: Instant) {
        if self.config.witness == WitnessPolicy::Off {
            return;
        }
        let alive = self.witness.heard_any() && !self.witness.is_dead(now);
        if alive != self.witness_reported_alive {
            self.witness_reported_alive = alive;
            self.notify(if alive {
                Event::WitnessRegained
            } else {
                Event::WitnessLost
            });
        }
    }

    fn heartbeat(&self) -> HeartbeatRepr {
        let holds = self.holds_flag();
        let released = !holds && self.released_for == Some(self.primary_epoch);
        let flags = HeartbeatFlags::empty()
            .with_if(HeartbeatFlags::HOLDS, holds)
            .with_if(HeartbeatFlags::RELEASED, released)
            // A takeover its own script refused: this node cannot serve
            // either, and a primary must not hand the service over to it
            // (nor wait for it to take a handover it will refuse again).
            .with_if(
                HeartbeatFlags::UNREACHABLE,
                !self.can_serve(self.station.endpoint.now())
                    || matches!(self.phase, Phase::Vetoed { .. }),
            );
        let ack = (self.primary_epoch, self.primary_seq);
        self.station
            .heartbeat(ack, flags, self.config.message.clone())
    }
}

impl Machine for Secondary {
    station_methods!();

    fn handle_frame(&mut self, now: Instant, link: LinkId, bytes: &[u8]) {
        let now = self.enter(now);
        if self.config.apple_compat {
            // Apple's primary sends no frames, and there is no witness:
            // only handle_apple_beat hears the primary.
            self.evaluate(now);
            return;
        }
        let primary = self.config.primary;
        let witness = self.config.witness_node;
        let Some(frame) = self.station.endpoint.receive(bytes, |h| match h.role {
            Role::Primary => primary.is_none_or(|p| p == h.sender),
            Role::Witness => witness.is_none_or(|w| w == h.sender),
            Role::Secondary => false,
        }) else {
            return;
        };
        if self.station.endpoint.take_rewound().is_some() {
            match frame.header.role {
                Role::Primary => {
                    self.primary.forget_epoch();
                    self.primary_state.forget();
                }
                Role::Witness => self.witness.forget_epoch(),
                Role::Secondary => {}
            }
        }
        match (&frame.body, frame.header.role) {
            (Body::Heartbeat(hb), Role::Primary) => {
                self.on_primary_heartbeat(now, link, &frame, hb)
            }
            (Body::Heartbeat(hb), Role::Witness) => {
                // The witness lives on the private link alone.
                self.witness
                    .on_heartbeat(now, LinkId(0), frame.header.epoch, hb.beat, hb.interval)
            }
            (Body::Witness(msg), Role::Witness) => self.on_witness_frame(now, msg),
            _ => {}
        }
        self.sync_timing();
        self.evaluate(now);
    }

    fn handle_stage_done(&mut self, now: Instant, stage: Stage, outcome: StageOutcome) {
        let now = self.enter(now);
        self.finish_stage(now, stage, outcome);
        self.evaluate(now);
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8; MAX_FRAME_LEN]) -> Option<Transmit> {
        let now = self.enter(now);
        if !self.to_witness.is_empty() {
            return self
                .station
                .transmit_queued(&mut self.to_witness, Dest::Witness, buf);
        }
        if self.phase == Phase::Stopped {
            return None;
        }
        if self.config.apple_compat {
            // Apple's failoverd sends nothing, and its primary listens to
            // nothing. The schedule still runs: it wakes this node every
            // interval, which its stall rule counts on.
            while self.station.beater.poll(now).is_some() {}
            return None;
        }
        let link = self.station.beater.poll(now)?;
        self.station
            .transmit(link, Dest::Peers, Body::Heartbeat(self.heartbeat()), buf)
    }

    fn poll_at(&self) -> Option<Instant> {
        let now = self.station.endpoint.now();
        let mut wake = Wake::new(now);
        if !self.to_witness.is_empty() {
            wake.now();
        }
        if self.phase != Phase::Stopped {
            self.station.beater.wake(&mut wake, now);
        }
        wake.at(self.primary.next_change(now));
        self.links.wake(&mut wake, now);
        self.removal.wake(&mut wake);
        if self.settling {
            for link in (0..self.config.links).map(LinkId) {
                wake.at(Some(self.link_silent_at(link)));
            }
        }
        if self.config.witness != WitnessPolicy::Off {
            wake.at(self.witness.next_change(now));
        }
        wake.at(match self.phase {
            Phase::HoldDown { until, .. } => Some(until),
            Phase::AwaitGrant { resend_at, .. } => Some(resend_at),
            Phase::Granted { until } => Some(match self.renew_at() {
                Some(renew) => renew.min(until),
                None => until,
            }),
            Phase::Acquiring { deadline, .. } | Phase::Releasing { deadline, .. } => Some(deadline),
            Phase::Vetoed { retry_at } => Some(retry_at),
            Phase::Holding => self.renew_at(),
            Phase::Monitoring | Phase::Stopped => None,
        });
        wake.at(self.lease.map(|l| l.expires));
        if matches!(self.phase, Phase::Acquiring { .. }) {
            wake.at(self.renew_at());
        }
        wake.get()
    }

    fn holds_addresses(&self) -> bool {
        self.holds_flag()
    }
}

/// The secondary's side of [`Server`]: `failoverd`'s signals, links and
/// reloads.
impl Server for Secondary {
    server_methods!();

    /// Stop (SIGTERM): release the addresses if held, through PreRel and
    /// PostRel, then [`Phase::Stopped`]. Keep driving the machine until
    /// [`is_stopped`](Secondary::is_stopped).
    fn shutdown(&mut self, now: Instant) {
        let now = self.enter(now);
        self.shutting_down = true;
        self.evaluate(now);
    }

    /// The host's view of its own links: `any_up` is false when not one of
    /// them has a carrier. After one interval of that, a silent primary
    /// proves nothing (this node hears no one), so no takeover starts, and
    /// addresses held are released: no client can reach them here, and on
    /// reconnection they would meet the primary's.
    fn set_carrier(&mut self, now: Instant, any_up: bool) {
        let now = self.enter(now);
        if self.links.set_carrier(now, any_up) == Some(true) {
            // Back after being cut off: silence heard while deaf proves
            // nothing, so count afresh.
            self.forget_primary(now);
        }
        self.evaluate(now);
    }

    /// The host's view of the service network (the reachability rule,
    /// `docs/protocol.md`): `reachable` is false when an interface that
    /// carries a service address has no carrier, or its probe target stopped
    /// answering. Heartbeats then say `UNREACHABLE`, so the primary does not
    /// hand the addresses to this node; a takeover on the primary's silence
    /// still happens (Apple's rule: the service is ready here when the
    /// cable returns).
    fn set_reachable(&mut self, now: Instant, reachable: bool) {
        let now = self.enter(now);
        self.links.reach.set(now, reachable);
        self.evaluate(now);
    }

    fn peer_detector(&self) -> &PeerDetector {
        &self.primary
    }

    /// Some when a witness is configured (or a witness policy is set).
    fn witness_detector(&self) -> Option<&PeerDetector> {
        (self.config.witness != WitnessPolicy::Off || self.config.witness_node.is_some())
            .then_some(&self.witness)
    }

    fn took_over_on_request(&self) -> bool {
        self.on_request
    }
}
