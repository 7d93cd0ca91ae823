//! The witness's decisions: the tie-breaker on the private link.
//!
//! The secondary cannot tell "the primary died" from "I am the one cut off".
//! The witness, a third node on the private link, can help: it grants a
//! takeover only when it, too, has not heard the primary for its own dead
//! time. At most one grant is outstanding; a grant is a lease that expires
//! unless its holder renews it. Optionally the witness first drives a fence
//! output (a relay cutting the primary's power, say) for `pulse`, waits
//! `settle`, and only then grants.
//!
//! A freshly booted witness has listened to nobody: it counts the primary's
//! silence from its own boot, so it never grants before a full dead time of
//! listening. That is what keeps a witness rebooted in the middle of a
//! takeover from handing out a second grant. For one lease after boot its
//! heartbeats also say a grant may be outstanding, since one granted before
//! the reboot may still be running at the secondary.

use crate::action::{Action, Dest, Event, Stage, StageOutcome, Transmit};
use crate::config::ConfigError;
use crate::detector::{DeadTime, PeerDetector};
use crate::endpoint::Freshness;
use crate::machine::{Machine, Wake};
use crate::node::{LinkId, NodeId, Role};
use crate::reach::HandoverRequest;
use crate::station::{station_inherent_methods, station_methods, Outbox, Station};
use crate::time::{Duration, Instant};
use crate::wire::{
    Body, DenyReason, HeartbeatFlags, Keyring, WitnessKind, WitnessRepr, MAX_FRAME_LEN,
};

/// The fence step before a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FenceConfig {
    /// How long the fence output stays asserted.
    pub pulse: Duration,
    /// How long to wait after releasing it before granting.
    pub settle: Duration,
}

/// Everything the witness needs to know. [`WitnessConfig::new`] fills in the
/// defaults.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    /// This node.
    pub node: NodeId,
    /// This boot's epoch.
    pub epoch: u32,
    /// The primary's node id; `None` watches any node in the primary role.
    pub primary: Option<NodeId>,
    /// The secondary's node id; `None` grants to any node in that role.
    pub secondary: Option<NodeId>,
    /// This node's heartbeat interval (on the private link only).
    pub interval: Duration,
    /// The primary's interval until its first heartbeat says otherwise.
    pub primary_interval: Duration,
    /// How long the primary must be silent before a grant.
    pub dead_time: DeadTime,
    /// How long a grant lasts unless renewed.
    pub lease: Duration,
    /// The optional fence step.
    pub fence: Option<FenceConfig>,
    /// Authentication keys.
    pub keys: Option<Keyring>,
}

impl WitnessConfig {
    /// Defaults: the [recommended timing](crate::config::Timing) for
    /// `interval` (a dead time of five intervals and two delay
    /// allowances, a lease of twenty), no fence.
    #[must_use]
    pub fn new(node: NodeId, epoch: u32, interval: Duration) -> Self {
        let timing = crate::config::Timing::recommended(interval);
        WitnessConfig {
            node,
            epoch,
            primary: None,
            secondary: None,
            interval,
            primary_interval: interval,
            dead_time: DeadTime::Fixed(timing.witness_dead_time),
            lease: timing.lease,
            fence: None,
            keys: None,
        }
    }
}

/// The one outstanding grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// Who holds it.
    pub holder: NodeId,
    /// The nonce of the request it last answered.
    pub nonce: u32,
    /// When it lapses unless renewed.
    pub expires: Instant,
}

/// A request answered "not yet" (the primary is still heard, the witness
/// is still listening, or fencing): kept, and granted unasked as soon as
/// the witness's rules allow, so the requester can ask at its verdict and
/// need not re-ask at the right instant. One slot: a newer early request
/// replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Who asked.
    pub requester: NodeId,
    /// The request's nonce (echoed in the grant).
    pub nonce: u32,
    /// When it lapses: one dead time after it arrived (the requester asks
    /// again every request timeout while it waits).
    pub until: Instant,
}

/// The fence step's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fence {
    /// Not fencing.
    Idle,
    /// The output is asserted until `until`, on behalf of `holder`.
    Asserted {
        /// The requester the fence is for.
        holder: NodeId,
        /// When to release the output.
        until: Instant,
    },
    /// The output is released; grant after `until`.
    Settling {
        /// The requester the fence is for.
        holder: NodeId,
        /// When the fence step is complete.
        until: Instant,
    },
    /// Fenced: the next request from `holder` before `until` is granted.
    Done {
        /// The requester the fence was for.
        holder: NodeId,
        /// When this fence stops counting.
        until: Instant,
    },
}

/// The witness state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Witness {
    config: WitnessConfig,
    primary: PeerDetector,
    /// Declared here, not first: field order moves the firmware's image by
    /// up to 260 B (rustc 1.96, measured), and here it is smallest.
    station: Station<16>,
    /// The primary's freshest frame: echoed in heartbeats, so the primary
    /// knows this witness heard it recently.
    primary_last: Freshness,
    primary_echo: (u32, u32),
    /// The primary asks the secondary to serve (it cannot be reached by
    /// clients): a grant is given although it is alive, without the fence.
    handover: HandoverRequest,
    secondary_heard: Option<Instant>,
    /// When a frame from anyone was last accepted: silence from everyone
    /// for longer than the dead time means this witness may have been deaf.
    heard_anyone: Option<Instant>,
    grant: Option<Grant>,
    /// An early request, kept and granted as soon as the rules allow
    /// (docs/protocol.md, "Early requests").
    pending: Option<Pending>,
    /// Until then, a grant from before this boot may still be running at
    /// the secondary: heartbeats say a grant is outstanding.
    amnesia_until: Instant,
    fence: Fence,
    replies: Outbox,
}

impl Witness {
    /// A witness booting at `now`, or the first of
    /// [`WitnessConfig::own_problems`] if there are any (a configuration
    /// is refused, not quietly repaired). The rules that tie the witness to
    /// the servers' settings ([`WitnessConfig::problems`]) need those
    /// settings, which the witness does not have: check them where they
    /// are known (the firmware's build does).
    pub fn try_new(config: WitnessConfig, now: Instant) -> Result<Self, ConfigError> {
        match config.own_problems().first() {
            Some(&problem) => Err(problem),
            None => Ok(Witness::new(config, now)),
        }
    }

    /// The machine for a configuration that passed its checks.
    ///
    /// Out of line: inlined through `try_new` into the firmware's loop,
    /// where it is called once, rustc 1.85 (LLVM 19) built an image 600 B
    /// (QEMU) to 1 KB (NUCLEO) larger, measured 2026-12-05: up to half the
    /// firmware's 2 KiB flash margin.
    #[inline(never)]
    fn new(config: WitnessConfig, now: Instant) -> Self {
        let mut machine = Witness {
            station: Station::new(
                config.node,
                Role::Witness,
                config.epoch,
                config.keys.clone(),
                config.interval,
                1,
                now,
            ),
            primary: PeerDetector::new(config.dead_time, 1, config.primary_interval, now),
            primary_last: Freshness::default(),
            primary_echo: (0, 0),
            handover: HandoverRequest::default(),
            secondary_heard: None,
            heard_anyone: None,
            grant: None,
            pending: None,
            amnesia_until: now + config.lease,
            fence: Fence::Idle,
            replies: Outbox::default(),
            config,
        };
        machine.sync_timing();
        machine
    }

    station_inherent_methods!(primary, interval);

    /// The outstanding grant, if any.
    #[must_use]
    pub fn grant(&self) -> Option<Grant> {
        self.grant
    }

    /// The fence step's progress.
    #[must_use]
    pub fn fence(&self) -> Fence {
        self.fence
    }

    /// The primary's detector (one link), for status output and the LEDs.
    #[must_use]
    pub fn primary_detector(&self) -> &PeerDetector {
        &self.primary
    }

    /// When the secondary was last heard, for status output and the LEDs.
    #[must_use]
    pub fn secondary_last_heard(&self) -> Option<Instant> {
        self.secondary_heard
    }

    /// Whether the primary counts as alive now.
    #[must_use]
    pub fn primary_alive(&self) -> bool {
        !self.primary.is_dead(self.station.endpoint.now())
    }

    /// Whether the primary is heard: alive *and* heard at least once since
    /// this machine started (or was last deaf). Right after boot the machine
    /// counts the primary's silence from boot, so "not yet dead" is not yet
    /// "heard"; status LEDs and logs want this one.
    #[must_use]
    pub fn primary_heard(&self) -> bool {
        self.primary_alive() && self.primary.heard_any()
    }

    /// Every entry point starts here ([`Station::enter`]).
    fn enter(&mut self, now: Instant) -> Instant {
        let (now, stalled) = self.station.enter(now, self.config.interval);
        if stalled {
            // Deaf while stalled: the primary's silence over that time proves
            // nothing, so count it afresh.
            self.primary.reset(now);
            self.handover.reset();
        }
        now
    }

    fn reply(
        &mut self,
        kind: WitnessKind,
        request: &WitnessRepr,
        lease: Duration,
        reason: DenyReason,
    ) {
        self.replies.push(WitnessRepr {
            kind,
            nonce: request.nonce,
            subject: request.subject,
            lease,
            reason,
        });
    }

    /// The outstanding early request, if any.
    #[must_use]
    pub fn pending(&self) -> Option<Pending> {
        self.pending
    }

    fn on_request(&mut self, now: Instant, requester: NodeId, msg: &WitnessRepr) {
        if msg.subject != requester {
            return;
        }
        let (kind, lease, reason) = self.decide(now, requester, msg);
        self.pending = match (kind, reason) {
            // Not yet: keep it, and grant it when the rules allow.
            (
                WitnessKind::Deny,
                DenyReason::PrimaryAlive | DenyReason::Listening | DenyReason::Fencing,
            ) => Some(Pending {
                requester,
                nonce: msg.nonce,
                until: now + self.primary.dead_time(),
            }),
            // Granted, or refused for good: nothing is kept for anyone
            // (one slot, and a grant now outstanding answers the others).
            _ => None,
        };
        self.reply(kind, msg, lease, reason);
    }

    /// Grants a kept early request once the rules that would grant a
    /// request arriving now allow it; drops it once they refuse it for
    /// another reason, or it lapses.
    fn answer_pending(&mut self, now: Instant) {
        let Some(p) = self.pending else { return };
        if now >= p.until {
            self.pending = None;
            return;
        }
        let msg = WitnessRepr {
            kind: WitnessKind::Request,
            nonce: p.nonce,
            subject: p.requester,
            lease: Duration::ZERO,
            reason: DenyReason::None,
        };
        let (kind, lease, reason) = self.decide(now, p.requester, &msg);
        match (kind, reason) {
            (
                WitnessKind::Deny,
                DenyReason::PrimaryAlive | DenyReason::Listening | DenyReason::Fencing,
            ) => {}
            (WitnessKind::Grant, _) => {
                self.pending = None;
                self.reply(kind, &msg, lease, reason);
            }
            _ => self.pending = None,
        }
    }

    /// The answer to `requester`'s request `msg` now: grant (and record
    /// the grant), or deny and why. Starts the fence step when it is due.
    fn decide(
        &mut self,
        now: Instant,
        requester: NodeId,
        msg: &WitnessRepr,
    ) -> (WitnessKind, Duration, DenyReason) {
        let deny = |reason| (WitnessKind::Deny, Duration::ZERO, reason);
        // The primary, alive, asks the secondary to serve: it released the
        // addresses first, so no fence is needed either.
        let keyed = self.config.keys.is_some();
        let alive = !self.primary.is_dead(now);
        // A primary that stands by (after a handover, or with manual
        // failback) lets the secondary that serves keep serving: its
        // renewals are granted as a handover's first request is.
        let renewal = self.grant.is_some_and(|g| g.holder == requester);
        let handover =
            alive && (self.handover.stands(keyed) || (renewal && self.handover.stands_by(keyed)));
        if self.config.secondary.is_some_and(|s| s != requester) {
            deny(DenyReason::NotSecondary)
        } else if !self.primary.is_dead(now) && !handover {
            deny(if self.primary.heard_any() {
                DenyReason::PrimaryAlive
            } else {
                DenyReason::Listening
            })
        } else if self.grant.is_some_and(|g| g.holder != requester) {
            deny(DenyReason::GrantOutstanding)
        } else if !handover && !self.fenced_for(requester) {
            if self.fence == Fence::Idle {
                if let Some(fence) = self.config.fence {
                    self.station.actions.push(Action::SetFence(true));
                    self.fence = Fence::Asserted {
                        holder: requester,
                        until: now + fence.pulse,
                    };
                }
            }
            deny(DenyReason::Fencing)
        } else {
            self.grant_to(now, requester, msg)
        }
    }

    /// Grants (or renews) the one lease to `requester`; the caller has
    /// checked that no one else holds it.
    fn grant_to(
        &mut self,
        now: Instant,
        requester: NodeId,
        msg: &WitnessRepr,
    ) -> (WitnessKind, Duration, DenyReason) {
        if self.grant.is_none() {
            self.station.actions.push(Action::Notify(Event::Granted));
        }
        self.grant = Some(Grant {
            holder: requester,
            nonce: msg.nonce,
            expires: now + self.config.lease,
        });
        (WitnessKind::Grant, self.config.lease, DenyReason::None)
    }

    /// Whether the fence step (if configured) is complete for `holder`.
    /// A renewal by the current holder needs no new fence.
    fn fenced_for(&self, holder: NodeId) -> bool {
        if self.config.fence.is_none() || self.grant.is_some_and(|g| g.holder == holder) {
            return true;
        }
        matches!(self.fence, Fence::Done { holder: h, .. } if h == holder)
    }

    fn evaluate(&mut self, now: Instant) {
        if let Some(grant) = self.grant {
            if now >= grant.expires {
                self.grant = None;
                self.station.actions.push(Action::Notify(Event::GrantEnded));
            }
        }
        let primary_back = !self.primary.is_dead(now);
        match self.fence {
            Fence::Asserted { holder, until } => {
                if now >= until || primary_back {
                    self.station.actions.push(Action::SetFence(false));
                    let settle = self.config.fence.map_or(Duration::ZERO, |f| f.settle);
                    self.fence = if primary_back {
                        Fence::Idle
                    } else {
                        Fence::Settling {
                            holder,
                            until: now + settle,
                        }
                    };
                }
            }
            Fence::Settling { holder, until } => {
                if primary_back {
                    self.fence = Fence::Idle;
                } else if now >= until {
                    self.fence = Fence::Done {
                        holder,
                        until: now + self.config.lease,
                    };
                }
            }
            Fence::Done { until, .. } => {
                if primary_back || now >= until {
                    self.fence = Fence::Idle;
                }
            }
            Fence::Idle => {}
        }
        self.answer_pending(now);
    }
}

impl Machine for Witness {
    station_methods!();

    fn handle_frame(&mut self, now: Instant, _link: LinkId, bytes: &[u8]) {
        let now = self.enter(now);
        let primary = self.config.primary;
        let secondary = self.config.secondary;
        let Some(frame) = self.station.endpoint.receive(bytes, |h| match h.role {
            Role::Primary => primary.is_none_or(|p| p == h.sender),
            // Requests from an unexpected secondary are answered (NotSecondary),
            // so the operator sees the misconfiguration in its log.
            Role::Secondary => true,
            Role::Witness => false,
        }) else {
            return;
        };
        if self.station.endpoint.take_rewound().is_some() && frame.header.role == Role::Primary {
            self.primary.forget_epoch();
            self.primary_last.forget();
        }
        // Deaf until now? Silence from everyone for longer than the dead
        // time (or since boot) says nothing about the primary: this witness
        // may not have been able to hear (its link down, its switch port
        // dead, a PHY still negotiating after boot), and the first frame it
        // hears may be the secondary's request. Count the primary's silence
        // afresh from here.
        let deaf = self
            .heard_anyone
            .is_none_or(|t| now.saturating_since(t) > self.primary.dead_time());
        self.heard_anyone = Some(now);
        if deaf {
            self.primary.restart_count(now);
        }
        let h = &frame.header;
        match (&frame.body, h.role) {
            // The witness lives on the private link: a primary frame that
            // says it was sent on another link did not come the usual way
            // (a loop, or a replay from elsewhere) and proves nothing.
            (Body::Heartbeat(hb), Role::Primary) if h.link == LinkId::PRIVATE => {
                self.primary
                    .on_heartbeat(now, LinkId(0), h.epoch, hb.beat, hb.interval);
                self.station.report_refused_interval(&mut self.primary);
                self.handover.heard(h.epoch);
                // Echoed only once its epoch is confirmed (docs/protocol.md,
                // "Epochs from an unkeyed peer").
                if !self.station.endpoint.provisional() && self.primary_last.advance(h.epoch, h.seq)
                {
                    self.primary_echo = (h.epoch, h.seq);
                    self.handover.on_frame(h.epoch, hb.flags);
                }
            }
            (Body::Heartbeat(_), Role::Secondary) if secondary.is_none_or(|s| s == h.sender) => {
                self.secondary_heard = Some(now);
            }
            (Body::Witness(msg), Role::Secondary) => {
                let sender = h.sender;
                match msg.kind {
                    WitnessKind::Request => {
                        self.evaluate(now);
                        self.on_request(now, sender, msg);
                    }
                    WitnessKind::Release => {
                        // A Release hands back the request of its nonce. One
                        // for an older nonce, overtaken on the way by a newer
                        // request of the same node that was granted or kept
                        // since, ends nothing (simulator seed 5000001353235).
                        let handed_back =
                            |holder: NodeId, nonce: u32| holder == sender && nonce == msg.nonce;
                        if self
                            .pending
                            .is_some_and(|p| handed_back(p.requester, p.nonce))
                        {
                            self.pending = None;
                        }
                        if self.grant.is_some_and(|g| handed_back(g.holder, g.nonce)) {
                            self.grant = None;
                            self.station.actions.push(Action::Notify(Event::GrantEnded));
                        }
                    }
                    WitnessKind::Grant | WitnessKind::Deny => {}
                }
            }
            _ => {}
        }
        self.sync_timing();
        self.evaluate(now);
    }

    fn handle_stage_done(&mut self, now: Instant, _stage: Stage, _outcome: StageOutcome) {
        // The witness runs no scripts.
        let now = self.enter(now);
        self.evaluate(now);
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8; MAX_FRAME_LEN]) -> Option<Transmit> {
        let now = self.enter(now);
        if !self.replies.is_empty() {
            return self
                .station
                .transmit_queued(&mut self.replies, Dest::Peers, buf);
        }
        let link = self.station.beater.poll(now)?;
        // HOLDS on a witness heartbeat: a grant is (or, right after boot,
        // may be) outstanding. A primary takes the addresses on the
        // secondary's silence only when it is clear.
        let grant_out = self.grant.is_some() || now < self.amnesia_until;
        let flags = HeartbeatFlags::empty().with_if(HeartbeatFlags::HOLDS, grant_out);
        let hb = self
            .station
            .heartbeat(self.primary_echo, flags, heapless::Vec::new());
        self.station
            .transmit(link, Dest::Peers, Body::Heartbeat(hb), buf)
    }

    fn poll_at(&self) -> Option<Instant> {
        let now = self.station.endpoint.now();
        let mut wake = Wake::new(now);
        if !self.replies.is_empty() {
            wake.now();
        }
        self.station.beater.wake(&mut wake, now);
        wake.at(self.primary.next_change(now));
        wake.at(self.grant.map(|g| g.expires));
        wake.at(self.pending.map(|p| p.until));
        wake.at(Some(self.amnesia_until));
        wake.at(match self.fence {
            Fence::Asserted { until, .. }
            | Fence::Settling { until, .. }
            | Fence::Done { until, .. } => Some(until),
            Fence::Idle => None,
        });
        wake.get()
    }

    fn holds_addresses(&self) -> bool {
        false
    }
}
