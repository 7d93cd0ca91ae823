//! The primary's decisions (`heartbeatd`): beat on every link, and, when it
//! manages the service addresses itself, take them only when no one else
//! holds them.
//!
//! Apple's heartbeatd only beats; the primary's address was static, so a
//! primary returning while the secondary still held it found "its IP address
//! in use" (the 2005 walk-through, README "Background"). Here a managing primary starts in *reclaim*: its
//! heartbeats ask for the addresses back, and it adds them only after the
//! secondary has acknowledged a heartbeat of this reclaim, sent moments ago
//! (its `ack_epoch` and `ack_seq`), and no longer holds them, or after the secondary has been silent on every link for the
//! dead time. If it ever hears that the secondary holds the addresses while
//! it holds them too (it was frozen, say), it drops its own at once and
//! reclaims. With a witness configured, a primary that hears neither the
//! secondary nor the witness for `isolation_fence` drops its addresses: it is
//! the one cut off, and the witness may be granting a takeover.

use heapless::Deque;

use crate::action::{Action, Dest, Event, Stage, StageOutcome, Transmit};
use crate::config::ConfigError;
use crate::detector::{DeadTime, PeerDetector};
use crate::endpoint::Freshness;
use crate::machine::{stall_limit, Machine, Server, Wake};
use crate::node::{LinkId, NodeId, Role};
use crate::removal::RemovalRetry;
use crate::standby::{Accepted, Ask, Failback, Refusal, Standby};
use crate::station::{
    server_methods, station_inherent_methods, station_methods, HostLinks, Station,
};
use crate::time::{Duration, Instant};
use crate::wire::{Body, HeartbeatFlags, HeartbeatRepr, Keyring, MAX_FRAME_LEN, MAX_MESSAGE_LEN};

/// Everything the primary needs to know. [`PrimaryConfig::new`] fills in the
/// defaults.
#[derive(Debug, Clone)]
pub struct PrimaryConfig {
    /// This node.
    pub node: NodeId,
    /// This boot's epoch (see `docs/protocol.md`).
    pub epoch: u32,
    /// The secondary's node id; `None` listens to any node in that role.
    pub secondary: Option<NodeId>,
    /// How many links to beat on (link 0 private, link 1 public, …).
    pub links: u8,
    /// The heartbeat interval.
    pub interval: Duration,
    /// Whether this node adds and removes the service addresses itself
    /// (`heartbeatd --service`); otherwise it only beats, as Apple's did.
    pub manage_addresses: bool,
    /// How long the secondary must be silent on every link before a
    /// reclaiming primary takes the addresses without its acknowledgement.
    pub secondary_dead_time: DeadTime,
    /// The witness's node id, when there is a witness; `None` with a fence
    /// configured accepts any node in the witness role.
    pub witness_node: Option<NodeId>,
    /// With a witness: drop the addresses after hearing neither the
    /// secondary nor the witness for this long. Must be shorter than the
    /// witness's own dead time, so the primary lets go before the witness
    /// can grant a takeover.
    pub isolation_fence: Option<Duration>,
    /// Authentication keys.
    pub keys: Option<Keyring>,
    /// Free text carried in heartbeats (`heartbeatd -m`).
    pub message: heapless::Vec<u8, MAX_MESSAGE_LEN>,
    /// How long the service network must have been reachable again
    /// ([`Primary::set_reachable`]) before this node reclaims: a
    /// half-healed cable that flaps does not drag the service back and
    /// forth.
    pub reach_settle: Duration,
    /// Whether this node takes the service back by itself when it returns
    /// while the secondary serves (`--failback`).
    pub failback: Failback,
    /// How long an operator's handover ([`Primary::request_handover`])
    /// waits for the secondary to hold the addresses before this node
    /// serves again.
    pub handover_patience: Duration,
}

impl PrimaryConfig {
    /// Defaults: Apple's behaviour (beat only), secondary dead time of three
    /// intervals, no witness.
    #[must_use]
    pub fn new(node: NodeId, epoch: u32, links: u8, interval: Duration) -> Self {
        PrimaryConfig {
            node,
            epoch,
            secondary: None,
            links,
            interval,
            manage_addresses: false,
            secondary_dead_time: DeadTime::Fixed(interval.saturating_mul(3)),
            witness_node: None,
            isolation_fence: None,
            keys: None,
            message: heapless::Vec::new(),
            reach_settle: interval.saturating_mul(3),
            failback: Failback::Auto,
            handover_patience: default_handover_patience(interval),
        }
    }
}

/// Twenty intervals, and at least two seconds: room for an unkeyed
/// secondary's three handover frames, a witness's grant and a loaded
/// machine, while a handover that a script refuses does not leave the
/// service without a server for long.
#[must_use]
pub fn default_handover_patience(interval: Duration) -> Duration {
    interval.saturating_mul(20).max(Duration::from_millis(2000))
}

/// Where the primary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Beats only; the addresses are not this machine's business.
    Unmanaged,
    /// Asks for the addresses back and waits until no one else holds them.
    Reclaiming {
        /// Silence of the secondary counts from here (or from when the
        /// witness was last regained, whichever is later).
        since: Instant,
    },
    /// Holds the addresses.
    Holding,
    /// Shut down.
    Stopped,
}

impl Phase {
    /// A short name for logs (`heartbeatd` logs each change).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Unmanaged => "beating",
            Phase::Reclaiming { .. } => "reclaiming",
            Phase::Holding => "holding the addresses",
            Phase::Stopped => "stopped",
        }
    }
}

/// The primary state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Primary {
    config: PrimaryConfig,
    station: Station<16>,
    secondary: PeerDetector,
    secondary_state: Freshness,
    secondary_epoch: u32,
    secondary_seq: u32,
    /// Frames sent recently, as `(epoch, seq)`, and when: an
    /// acknowledgement must name one of these to count.
    sent: Deque<((u32, u32), Instant), 16>,
    /// Only acknowledgements of frames after this `(epoch, seq)` answer the
    /// current reclaim.
    reclaim_floor: (u32, u32),
    /// The secondary's latest state, as consecutive frames of it that said
    /// it holds (or may hold) the addresses (zero: it does not). Without a
    /// key a holding primary yields only to two (one frame on each link of
    /// a round, or two rounds), so one forged frame cannot take the service
    /// down (simulator seed 40352295766).
    holds_frames: u8,
    /// The secondary's latest heartbeat acknowledges this boot's epoch.
    secondary_acked: bool,
    witness: PeerDetector,
    /// The freshest word from the witness: when the frame of ours it echoed
    /// was sent, and whether it said a grant is outstanding.
    witness_view: Option<(Instant, bool)>,
    /// The send time of the newest frame of ours that the secondary or the
    /// witness echoed back: a round trip proves this node was connected
    /// then, which a delayed or replayed frame cannot fake.
    last_contact: Instant,
    witness_was_alive: bool,
    peer_lost_reported: bool,
    /// The carrier and the service network, as the host reports them.
    links: HostLinks,
    /// A removal of the addresses the host could not carry out, retried.
    removal: RemovalRetry,
    /// The operator's requests and the failback policy.
    standby: Standby,
    /// What this node asked of the secondary at the last evaluation: a
    /// change starts the reclaim over (an acknowledgement of a frame that
    /// asked something else answers nothing now).
    last_ask: Ask,
    /// The secondary's latest heartbeat says it cannot serve.
    secondary_unreachable: bool,
    phase: Phase,
}

impl Primary {
    /// A primary starting at `now`, or the first of
    /// [`PrimaryConfig::problems`] if there are any: a configuration the
    /// machine would have to guess at (no links, a zero interval, a dead
    /// time that makes a slow node a dead one) is refused, not quietly
    /// repaired. A managing primary starts by reclaiming.
    pub fn try_new(config: PrimaryConfig, now: Instant) -> Result<Self, ConfigError> {
        match config.problems().first() {
            Some(&problem) => Err(problem),
            None => Ok(Primary::new(config, now)),
        }
    }

    /// The machine for a configuration that passed its checks.
    fn new(config: PrimaryConfig, now: Instant) -> Self {
        let links = config.links;
        let witness_dead = config
            .isolation_fence
            .unwrap_or(config.interval.saturating_mul(3));
        let mut machine = Primary {
            station: Station::new(
                config.node,
                Role::Primary,
                config.epoch,
                config.keys.clone(),
                config.interval,
                links,
                now,
            ),
            secondary: PeerDetector::new(config.secondary_dead_time, links, config.interval, now),
            secondary_state: Freshness::default(),
            secondary_epoch: 0,
            secondary_seq: 0,
            sent: Deque::new(),
            reclaim_floor: (0, 0),
            holds_frames: 0,
            secondary_acked: false,
            witness: PeerDetector::new(DeadTime::Fixed(witness_dead), 1, config.interval, now),
            witness_view: None,
            last_contact: now,
            witness_was_alive: false,
            peer_lost_reported: false,
            links: HostLinks::new(config.interval, config.reach_settle),
            removal: RemovalRetry::new(config.interval),
            standby: Standby::new(config.failback, config.handover_patience),
            last_ask: Ask::Back,
            secondary_unreachable: false,
            phase: if config.manage_addresses {
                Phase::Reclaiming { since: now }
            } else {
                Phase::Unmanaged
            },
            config,
        };
        machine.sync_timing();
        machine
    }

    station_inherent_methods!(secondary, interval);

    /// Where the machine is.
    #[must_use]
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The secondary's detector, for status output.
    #[must_use]
    pub fn secondary_detector(&self) -> &PeerDetector {
        &self.secondary
    }

    /// Whether the secondary's latest heartbeat says it holds the addresses.
    #[must_use]
    pub fn secondary_holds(&self) -> bool {
        self.holds_frames > 0
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &PrimaryConfig {
        &self.config
    }

    /// Whether this node can serve clients now (reachable, and settled):
    /// while it cannot, it does not reclaim, and asks the secondary to
    /// serve instead.
    #[must_use]
    pub fn can_serve(&self, now: Instant) -> bool {
        self.links.can_serve(now)
    }

    /// Whether handing the addresses over would help: the secondary is
    /// alive, says it can serve, and, with a witness, the witness (whose
    /// grant it will ask for) is alive too.
    fn secondary_can_serve(&self, now: Instant) -> bool {
        self.secondary.heard_any()
            && !self.secondary.is_dead(now)
            && !self.secondary_unreachable
            && (self.config.isolation_fence.is_none() || self.witness_alive(now))
    }

    /// The operator's requests and the failback policy, for status output.
    #[must_use]
    pub fn standby(&self) -> &Standby {
        &self.standby
    }

    /// What this node asks of the secondary while it does not hold the
    /// addresses ([`Ask`]).
    #[must_use]
    pub fn ask(&self, now: Instant) -> Ask {
        self.standby.ask(self.can_serve(now))
    }

    /// The operator asks for a planned switchover (`heartbeatd
    /// --handover`): a holding primary removes its addresses, then asks the
    /// secondary to serve (the zero-overlap order, as when it cannot be
    /// reached), and stands by until [`Primary::request_reclaim`]. Refused,
    /// with nothing changed, when the secondary cannot take the service
    /// now. If the secondary does not hold the addresses within
    /// [`PrimaryConfig::handover_patience`], this node serves again
    /// ([`Event::HandoverFailed`]); if it is lost while this node stands
    /// by, this node takes the addresses after its dead time, as at a
    /// reclaim.
    pub fn request_handover(&mut self, now: Instant) -> Result<Accepted, Refusal> {
        let now = self.enter(now);
        match self.phase {
            Phase::Unmanaged => return Err(Refusal::NotManaging),
            Phase::Stopped => return Err(Refusal::Stopping),
            Phase::Holding | Phase::Reclaiming { .. } => {}
        }
        if self.standby.ordered() {
            return Ok(Accepted::AlreadySo);
        }
        if !self.secondary_holds() && !self.secondary_can_serve(now) {
            return Err(Refusal::SecondaryCannotServe);
        }
        self.standby.order_handover(now, self.secondary_holds());
        // HandoverStarted says the addresses left this node: only a
        // holding one has any to let go (the daemon logs the request).
        if self.phase == Phase::Holding {
            self.start_reclaim(now, Event::HandoverStarted);
        }
        self.evaluate(now);
        Ok(Accepted::Started)
    }

    /// The operator asks for the service back (`heartbeatd --reclaim`): it
    /// ends a stand-by (after a handover, or with manual failback) and
    /// reclaims through the ordinary handshake: the secondary releases
    /// first, then this node adds the addresses. While this node cannot be
    /// reached, the reclaim waits for the network as usual.
    pub fn request_reclaim(&mut self, now: Instant) -> Result<Accepted, Refusal> {
        let now = self.enter(now);
        match self.phase {
            Phase::Unmanaged => return Err(Refusal::NotManaging),
            Phase::Stopped => return Err(Refusal::Stopping),
            Phase::Holding => return Ok(Accepted::AlreadySo),
            Phase::Reclaiming { .. } => {}
        }
        let changed = self.standby.order_reclaim();
        self.evaluate(now);
        Ok(if changed {
            Accepted::Started
        } else {
            Accepted::AlreadySo
        })
    }

    fn report_reach(&mut self, now: Instant) {
        if let Some(event) = self.links.report_reach(now) {
            self.station.notify(event);
        }
        if let Some(event) = self.links.report_health(now) {
            self.station.notify(event);
        }
    }

    /// The host's health checks (`heartbeatd`'s Check scripts, failing
    /// several times in a row, or passing again): a primary whose service
    /// is broken cannot serve clients, however reachable it is. It is
    /// treated as the reachability rule treats an unreachable primary:
    /// after one interval of it, a holding primary hands the addresses to
    /// the secondary if the secondary can serve (released here first), and
    /// its heartbeats say `UNREACHABLE` until the checks have passed for
    /// `reach_settle`; then failback follows the failback policy.
    pub fn set_healthy(&mut self, now: Instant, healthy: bool) {
        let now = self.enter(now);
        self.links.health.set(now, healthy);
        self.evaluate(now);
    }

    /// Follows the operator's requests while not holding, and starts the
    /// reclaim over whenever what this node asks of the secondary changes:
    /// the secondary's acknowledgements of frames that asked it to serve
    /// (`HANDOVER`) say nothing about whether it is acquiring now.
    fn follow_ask(&mut self, now: Instant) {
        if let Phase::Reclaiming { .. } = self.phase {
            let can_serve = self.secondary_can_serve(now);
            if let Some(event) = self.standby.follow(now, self.secondary_holds(), can_serve) {
                self.station.notify(event);
            }
        }
        let ask = self.ask(now);
        if ask != self.last_ask {
            self.last_ask = ask;
            if let Phase::Reclaiming { .. } = self.phase {
                self.enter_reclaim(now);
            }
        }
    }

    /// Every entry point starts here ([`Station::enter`]).
    fn enter(&mut self, now: Instant) -> Instant {
        let (now, stalled) = self.station.enter(now, self.config.interval);
        if stalled {
            // This node was not running (frozen, suspended) for longer than
            // the secondary needs to declare it dead: it heard nothing
            // meanwhile, and the secondary may have taken the addresses.
            self.secondary.reset(now);
            self.witness.reset(now);
            self.holds_frames = 0;
            self.secondary_acked = false;
            self.witness_view = None;
            if self.phase == Phase::Holding {
                self.start_reclaim(now, Event::Stalled);
            } else if let Phase::Reclaiming { .. } = self.phase {
                self.enter_reclaim(now);
            }
        }
        now
    }

    fn witness_alive(&self, now: Instant) -> bool {
        self.witness.heard_any() && !self.witness.is_dead(now)
    }

    /// When this node sent the frame a peer's heartbeat echoes, if it is
    /// one of ours and recent enough to be remembered.
    fn echo_time(&self, hb: &HeartbeatRepr) -> Option<Instant> {
        self.sent
            .iter()
            .find(|(sent, _)| *sent == (hb.ack_epoch, hb.ack_seq))
            .map(|(_, at)| *at)
    }

    fn on_echo(&mut self, sent_at: Option<Instant>) {
        if let Some(t) = sent_at {
            self.last_contact = self.last_contact.max(t);
        }
    }

    fn start_reclaim(&mut self, now: Instant, event: Event) {
        self.removal.request(&mut self.station.actions);
        self.station.actions.push(Action::Notify(event));
        self.enter_reclaim(now);
    }

    fn enter_reclaim(&mut self, now: Instant) {
        self.secondary_acked = false;
        self.reclaim_floor = self.station.endpoint.last_sent();
        self.phase = Phase::Reclaiming { since: now };
    }

    /// Whether a secondary heartbeat acknowledges the current reclaim: it
    /// echoes a frame this node sent since the reclaim began, and recently.
    /// The secondary cannot start a takeover sooner than two of this node's
    /// intervals after hearing that frame, so a fresh acknowledgement that
    /// says "not holding" still holds when the addresses are added; an old
    /// one (delayed, or captured and replayed) proves nothing.
    fn acknowledges(&self, now: Instant, hb: &HeartbeatRepr) -> bool {
        (hb.ack_epoch, hb.ack_seq) > self.reclaim_floor && self.recent(now, self.echo_time(hb))
    }

    fn recent(&self, now: Instant, sent_at: Option<Instant>) -> bool {
        sent_at.is_some_and(|t| now.saturating_since(t) < stall_limit(self.config.interval))
    }

    fn evaluate(&mut self, now: Instant) {
        self.removal.retry_if_due(now, &mut self.station.actions);
        let secondary_dead = self.secondary.is_dead(now);
        if secondary_dead != self.peer_lost_reported && self.secondary.heard_any() {
            self.peer_lost_reported = secondary_dead;
            self.station.actions.push(Action::Notify(if secondary_dead {
                Event::PeerLost
            } else {
                Event::PeerRegained
            }));
        }
        self.report_reach(now);
        self.follow_ask(now);
        let witness_alive = self.witness_alive(now);
        let witness_regained = witness_alive && !self.witness_was_alive;
        self.witness_was_alive = witness_alive;

        match self.phase {
            Phase::Unmanaged | Phase::Stopped => {}
            Phase::Holding => {
                if self.links.cut_off(now) {
                    self.start_reclaim(now, Event::Isolated);
                } else if self.secondary_holds()
                    && (self.station.endpoint.keyed() || self.holds_frames >= 2)
                {
                    self.start_reclaim(now, Event::Yielded);
                } else if self.links.should_hand_over() && self.secondary_can_serve(now) {
                    self.start_reclaim(now, Event::HandedOver);
                } else if let Some(fence) = self.config.isolation_fence {
                    if now.saturating_since(self.last_contact) >= fence {
                        self.start_reclaim(now, Event::Isolated);
                    }
                }
            }
            Phase::Reclaiming { mut since } => {
                if witness_regained {
                    // Back from isolation: the secondary's silence only counts
                    // from when this node could hear again.
                    since = now;
                    self.phase = Phase::Reclaiming { since };
                }
                if self
                    .standby
                    .report_due(self.last_ask, self.secondary_holds())
                {
                    self.station.notify(Event::StandingBy);
                }
                // While handing over, the secondary is about to take the
                // addresses: its "not holding" is no reason to keep them.
                let acknowledged = self.secondary_acked
                    && !self.secondary_holds()
                    && self.last_ask != Ask::HandOver;
                let from = self
                    .secondary
                    .last_heard_any()
                    .map_or(since, |t| t.max(since));
                let silent = now.saturating_since(from) >= self.secondary.dead_time();
                // With a witness, silence alone is not enough: this node may
                // be the one cut off, or the secondary may be cut off while
                // holding a grant (it drops the addresses when the grant
                // runs out, which is before the witness's count ends). So the
                // witness must have echoed a recent frame of ours and said
                // that no grant is outstanding.
                let connected = self.config.isolation_fence.is_none()
                    || self
                        .witness_view
                        .is_some_and(|(t, out)| !out && self.recent(now, Some(t)));
                if (acknowledged || (silent && connected))
                    && self.links.carrier()
                    && self.can_serve(now)
                {
                    if !acknowledged {
                        // Taken on the secondary's silence: what it last
                        // said (that it held the addresses, say) died with
                        // it. Kept, it would make this node yield at once,
                        // and take them again a dead time later, over and
                        // over until the secondary returns.
                        self.holds_frames = 0;
                    }
                    self.removal.cancel();
                    self.station.actions.push(Action::AddAddresses);
                    self.station.actions.push(Action::Announce);
                    if self.standby.acquired() {
                        self.station.notify(Event::StandbyEnded);
                    }
                    self.station.actions.push(Action::Notify(Event::Acquired));
                    self.phase = Phase::Holding;
                }
            }
        }
    }

    fn heartbeat(&self) -> HeartbeatRepr {
        let now = self.station.endpoint.now();
        let can_serve = self.can_serve(now);
        let reclaiming = matches!(self.phase, Phase::Reclaiming { .. });
        let ask = self.ask(now);
        // A removal that failed: the addresses may still be here.
        let unremoved = self.removal.pending();
        let flags = HeartbeatFlags::empty()
            .with_if(
                HeartbeatFlags::HOLDS,
                self.phase == Phase::Holding || unremoved,
            )
            .with_if(HeartbeatFlags::RECLAIM, reclaiming && ask == Ask::Back)
            .with_if(HeartbeatFlags::UNREACHABLE, !can_serve)
            // The secondary acquires on a handover: only once the host has
            // reported the addresses really gone from here (a frame sent
            // between the removal and its report might otherwise ask for a
            // handover of addresses still here, and with a key one frame is
            // enough for the secondary).
            .with_if(
                HeartbeatFlags::HANDOVER,
                reclaiming && ask == Ask::HandOver && !unremoved && !self.removal.unreported(),
            )
            .with_if(HeartbeatFlags::STANDBY, reclaiming && ask == Ask::StandBy);
        let ack = (self.secondary_epoch, self.secondary_seq);
        self.station
            .heartbeat(ack, flags, self.config.message.clone())
    }
}

impl Machine for Primary {
    station_methods!();

    fn handle_frame(&mut self, now: Instant, link: LinkId, bytes: &[u8]) {
        let now = self.enter(now);
        let secondary = self.config.secondary;
        let witness = self.config.witness_node;
        let Some(frame) = self.station.endpoint.receive(bytes, |h| match h.role {
            Role::Secondary => secondary.is_none_or(|s| s == h.sender),
            Role::Witness => witness.is_none_or(|w| w == h.sender),
            Role::Primary => false,
        }) else {
            return;
        };
        let h = &frame.header;
        if self.station.endpoint.take_rewound().is_some() {
            match h.role {
                Role::Secondary => {
                    self.secondary.forget_epoch();
                    self.secondary_state.forget();
                }
                Role::Witness => self.witness.forget_epoch(),
                Role::Primary => {}
            }
        }
        if let Body::Heartbeat(hb) = &frame.body {
            match h.role {
                Role::Secondary => {
                    self.secondary
                        .on_heartbeat(now, link, h.epoch, hb.beat, hb.interval);
                    self.station.report_refused_interval(&mut self.secondary);
                    // A frame whose epoch is believed on its own word
                    // (docs/protocol.md, "Epochs from an unkeyed peer")
                    // counts for liveness only.
                    let confirmed = !self.station.endpoint.provisional();
                    if confirmed {
                        self.on_echo(self.echo_time(hb));
                    }
                    if confirmed && self.secondary_state.advance(h.epoch, h.seq) {
                        self.secondary_epoch = h.epoch;
                        self.secondary_seq = h.seq;
                        self.holds_frames = if hb.flags.contains(HeartbeatFlags::HOLDS) {
                            self.holds_frames.saturating_add(1)
                        } else {
                            0
                        };
                        self.secondary_unreachable = hb.flags.contains(HeartbeatFlags::UNREACHABLE);
                        self.secondary_acked = self.acknowledges(now, hb);
                    }
                }
                Role::Witness => {
                    self.witness
                        .on_heartbeat(now, LinkId(0), h.epoch, hb.beat, hb.interval);
                    let echoed = self
                        .echo_time(hb)
                        .filter(|_| !self.station.endpoint.provisional());
                    self.on_echo(echoed);
                    if let Some(t) = echoed {
                        if self.witness_view.is_none_or(|(seen, _)| t >= seen) {
                            self.witness_view = Some((t, hb.flags.contains(HeartbeatFlags::HOLDS)));
                        }
                    }
                }
                Role::Primary => {}
            }
        }
        self.sync_timing();
        self.evaluate(now);
    }

    fn handle_stage_done(&mut self, now: Instant, _stage: Stage, _outcome: StageOutcome) {
        // The primary runs no scripts; a stray report changes nothing.
        let now = self.enter(now);
        self.evaluate(now);
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8; MAX_FRAME_LEN]) -> Option<Transmit> {
        let now = self.enter(now);
        if self.phase == Phase::Stopped {
            return None;
        }
        let link = self.station.beater.poll(now)?;
        let transmit =
            self.station
                .transmit(link, Dest::Peers, Body::Heartbeat(self.heartbeat()), buf)?;
        if self.sent.is_full() {
            self.sent.pop_front();
        }
        let _ = self
            .sent
            .push_back((self.station.endpoint.last_sent(), now));
        Some(transmit)
    }

    fn poll_at(&self) -> Option<Instant> {
        let now = self.station.endpoint.now();
        if self.phase == Phase::Stopped {
            return None;
        }
        let mut wake = Wake::new(now);
        self.station.beater.wake(&mut wake, now);
        wake.at(self.secondary.next_change(now));
        wake.at(self.witness.next_change(now));
        self.links.wake(&mut wake, now);
        self.removal.wake(&mut wake);
        wake.at(self.standby.handover_until());
        match self.phase {
            Phase::Reclaiming { since } => {
                let from = self
                    .secondary
                    .last_heard_any()
                    .map_or(since, |t| t.max(since));
                wake.at(Some(from + self.secondary.dead_time()));
            }
            Phase::Holding => {
                if let Some(fence) = self.config.isolation_fence {
                    wake.at(Some(self.last_contact + fence));
                }
            }
            Phase::Unmanaged | Phase::Stopped => {}
        }
        wake.get()
    }

    fn holds_addresses(&self) -> bool {
        self.phase == Phase::Holding
    }
}

/// The primary's side of [`Server`]: `heartbeatd`'s signals, links and
/// reloads.
impl Server for Primary {
    server_methods!();

    /// Stop (SIGTERM): remove the addresses if held, stop beating.
    fn shutdown(&mut self, now: Instant) {
        self.enter(now);
        if self.phase == Phase::Holding {
            self.removal.request(&mut self.station.actions);
        }
        self.phase = Phase::Stopped;
    }

    /// The host's view of its own links: `any_up` is false when not one of
    /// them has a carrier (every cable pulled, the switch off). Such a node
    /// reaches no one and no one reaches it, so after one interval of it
    /// (a carrier blip is not worth a reclaim) it lets go of the addresses,
    /// at no cost to any client, and does not take them again until a
    /// carrier is back and the reclaim handshake (or the secondary's
    /// silence, counted afresh) says so. Without this, a primary cut off
    /// without a witness would still hold the addresses when its cables
    /// return, and answer for them next to the secondary that took over.
    fn set_carrier(&mut self, now: Instant, any_up: bool) {
        let now = self.enter(now);
        let back = self.links.set_carrier(now, any_up).is_some();
        if back && matches!(self.phase, Phase::Reclaiming { .. }) {
            // Start the reclaim over: silence heard while deaf proves
            // nothing, and an acknowledgement from before the cut is stale
            // (the secondary may have taken over since).
            self.enter_reclaim(now);
        }
        self.evaluate(now);
    }

    /// The host's view of the service network (the reachability rule,
    /// `docs/protocol.md`): `reachable` is false when an interface that
    /// carries a service address has no carrier, or its probe target stopped
    /// answering. Clients cannot reach a primary that holds the addresses
    /// there, however well its heartbeats flow on the other links. After one
    /// interval of it, a holding primary hands the addresses to the
    /// secondary if the secondary says it can serve (release here first,
    /// then the secondary acquires: the zero-overlap order), and stays out
    /// until the network has been back for `reach_settle`; then the normal
    /// reclaim. Until then its heartbeats say `UNREACHABLE`, so a secondary
    /// that holds the addresses keeps them.
    fn set_reachable(&mut self, now: Instant, reachable: bool) {
        let now = self.enter(now);
        self.links.reach.set(now, reachable);
        self.evaluate(now);
    }

    fn peer_detector(&self) -> &PeerDetector {
        &self.secondary
    }

    /// Some when a witness is configured.
    fn witness_detector(&self) -> Option<&PeerDetector> {
        self.config.witness_node.is_some().then_some(&self.witness)
    }

    fn took_over_on_request(&self) -> bool {
        false
    }
}
