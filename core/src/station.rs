//! What every machine is beside its decisions: the frames in and out
//! ([`Endpoint`]), the heartbeat schedule ([`Beater`]), the queue of actions
//! for the host ([`ActionQueue`]), and the turn every input starts with
//! (time moves forward; a stall is noticed). One copy here keeps the three
//! machines about decisions only, as [`Endpoint`] does for the frame
//! plumbing; the machines' [`Machine`](crate::Machine) and
//! [`Server`](crate::Server) methods that are nothing but this common part
//! are written once, by [`station_inherent_methods!`], [`station_methods!`] and
//! [`server_methods!`].

use heapless::Deque;

use crate::action::{Action, Dest, Event, Transmit};
use crate::beat::Beater;
use crate::detector::PeerDetector;
use crate::endpoint::Endpoint;
use crate::machine::{stall_limit, Stats};
use crate::node::{LinkId, NodeId, Role};
use crate::queue::ActionQueue;
use crate::reach::Reach;
use crate::time::{Duration, Instant};
use crate::wire::{
    Body, HeartbeatFlags, HeartbeatRepr, Keyring, WitnessRepr, MAX_FRAME_LEN, MAX_MESSAGE_LEN,
};

/// The part every machine holds; `N` is its action queue's capacity.
#[derive(Debug, Clone)]
pub(crate) struct Station<const N: usize> {
    pub endpoint: Endpoint,
    pub beater: Beater,
    pub actions: ActionQueue<N>,
}

impl<const N: usize> Station<N> {
    /// The station of node `node` in `role`, booted at `now` in `epoch`,
    /// beating every `interval` on `links` links.
    pub fn new(
        node: NodeId,
        role: Role,
        epoch: u32,
        keys: Option<Keyring>,
        interval: Duration,
        links: u8,
        now: Instant,
    ) -> Self {
        Station {
            endpoint: Endpoint::new(node, role, epoch, keys, now),
            beater: Beater::new(interval, links, now),
            actions: ActionQueue::new(),
        }
    }

    /// Every entry point starts here: time moves forward (never back), and
    /// whether this node went unscheduled for longer than its peers allow
    /// ([`stall_limit`] of its own `interval`) is noticed before anything
    /// else happens. Returns the clamped `now`, and whether it stalled.
    pub fn enter(&mut self, now: Instant, interval: Duration) -> (Instant, bool) {
        let stalled = now.saturating_since(self.endpoint.now()) > stall_limit(interval);
        (self.endpoint.advance(now), stalled)
    }

    /// [`Machine::poll_action`](crate::Machine::poll_action): a new epoch
    /// of this node's, then a peer's settled epoch, is persisted before
    /// anything else is done.
    pub fn poll_action(&mut self) -> Option<Action> {
        if let Some(epoch) = self.endpoint.take_rolled() {
            return Some(Action::PersistEpoch(epoch));
        }
        if let Some((peer, epoch)) = self.endpoint.take_settled() {
            return Some(Action::PersistPeerEpoch { peer, epoch });
        }
        self.actions.pop()
    }

    /// [`Machine::stats`](crate::Machine::stats).
    pub fn stats(&self) -> Stats {
        Stats {
            rx: self.endpoint.stats,
            actions_dropped: self.actions.dropped(),
        }
    }

    pub fn notify(&mut self, event: Event) {
        self.actions.push(Action::Notify(event));
    }

    /// Tells the host when `peer`'s detector refused the interval its last
    /// heartbeat advertised.
    pub fn report_refused_interval(&mut self, peer: &mut PeerDetector) {
        if let Some(advertised) = peer.take_interval_refused() {
            let used = peer.interval();
            self.notify(Event::IntervalRefused { advertised, used });
        }
    }

    /// Hands the endpoint the timings it judges unkeyed epochs with
    /// ([`Endpoint::set_timing`]): the dead time of `peer`, which an
    /// adaptive detector learns from frames, and the `interval` it is
    /// expected to beat at. Kept out of the receive path, so a refused keyed
    /// frame costs what it did.
    pub fn sync_timing(&mut self, peer: &PeerDetector, interval: Duration) {
        self.endpoint.set_timing(peer.dead_time(), interval);
    }

    /// A heartbeat of the current round, acknowledging the peer frame
    /// `ack` (`(epoch, seq)`).
    pub fn heartbeat(
        &self,
        ack: (u32, u32),
        flags: HeartbeatFlags,
        message: heapless::Vec<u8, MAX_MESSAGE_LEN>,
    ) -> HeartbeatRepr {
        HeartbeatRepr {
            beat: self.beater.beat(),
            interval: self.beater.interval(),
            ack_epoch: ack.0,
            ack_seq: ack.1,
            flags,
            message,
        }
    }

    /// Numbers, signs and writes `body` into `buf` for `link`
    /// ([`Endpoint::emit`]).
    pub fn transmit(
        &mut self,
        link: LinkId,
        dest: Dest,
        body: Body,
        buf: &mut [u8; MAX_FRAME_LEN],
    ) -> Option<Transmit> {
        let len = self.endpoint.emit(link, body, buf)?;
        Some(Transmit { link, dest, len })
    }

    /// Writes the first witness message of `outbox` to `dest` on the
    /// private link, and takes it off only once it is written.
    pub fn transmit_queued(
        &mut self,
        outbox: &mut Outbox,
        dest: Dest,
        buf: &mut [u8; MAX_FRAME_LEN],
    ) -> Option<Transmit> {
        let msg = outbox.0.front().copied()?;
        let transmit = self.transmit(LinkId(0), dest, Body::Witness(msg), buf)?;
        outbox.0.pop_front();
        Some(transmit)
    }
}

/// Witness messages waiting for `poll_transmit` (the secondary's requests,
/// the witness's replies). Bounded: when it is full the oldest goes, as a
/// lost datagram would.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outbox(Deque<WitnessRepr, 4>);

impl Outbox {
    pub fn push(&mut self, msg: WitnessRepr) {
        if self.0.is_full() {
            self.0.pop_front();
        }
        let _ = self.0.push_back(msg);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What the two servers' hosts report of their own links, and what of it
/// was notified: the carrier ([`Server::set_carrier`](crate::Server::set_carrier))
/// and the reachability of the service network
/// ([`Server::set_reachable`](crate::Server::set_reachable)). Both count
/// after one `interval`, so a blip moves nothing; reachability regained
/// counts after `settle`.
#[derive(Debug, Clone)]
pub(crate) struct HostLinks {
    /// Since when the host has reported no carrier on any link, if it has.
    carrier_lost_at: Option<Instant>,
    /// Whether clients can reach this node where the addresses live.
    pub reach: Reach,
    /// The reachability last notified: lost after an interval out, back
    /// after the settling time.
    pub reach_ok: bool,
    /// Whether the host's health checks pass (the primary's Check
    /// scripts): kept as a reachability of its own, with the same grace
    /// and settling time, since a server whose service is broken cannot
    /// serve clients either.
    pub health: Reach,
    /// The health last notified.
    pub health_ok: bool,
    interval: Duration,
    settle: Duration,
}

impl HostLinks {
    /// Carrier up, reachable.
    pub fn new(interval: Duration, settle: Duration) -> Self {
        HostLinks {
            carrier_lost_at: None,
            reach: Reach::new(),
            reach_ok: true,
            health: Reach::new(),
            health_ok: true,
            interval,
            settle,
        }
    }

    /// Whether the host reports a carrier on some link.
    pub fn carrier(&self) -> bool {
        self.carrier_lost_at.is_none()
    }

    /// Whether the carrier has been gone on every link for an interval.
    pub fn cut_off(&self, now: Instant) -> bool {
        self.carrier_lost_at
            .is_some_and(|t| now.saturating_since(t) >= self.interval)
    }

    /// The host's report of its carrier. Returns, when the carrier is back
    /// after a loss, whether this node had been [cut off](HostLinks::cut_off).
    pub fn set_carrier(&mut self, now: Instant, any_up: bool) -> Option<bool> {
        match (any_up, self.carrier_lost_at) {
            (false, None) => {
                self.carrier_lost_at = Some(now);
                None
            }
            (true, Some(_)) => {
                let was_cut_off = self.cut_off(now);
                self.carrier_lost_at = None;
                Some(was_cut_off)
            }
            _ => None,
        }
    }

    /// Whether this node can serve clients now (reachable and healthy, and
    /// settled).
    pub fn can_serve(&self, now: Instant) -> bool {
        self.reach.can_serve(now, self.settle) && self.health.can_serve(now, self.settle)
    }

    /// Whether this node should hand the service over if someone else can
    /// serve: unreachable, or failing its health checks, for an interval.
    pub fn should_hand_over(&self) -> bool {
        !self.reach_ok || !self.health_ok
    }

    /// The change of reachability to notify, if there is one.
    pub fn report_reach(&mut self, now: Instant) -> Option<Event> {
        if self.reach_ok && self.reach.lost_for(now, self.interval) {
            self.reach_ok = false;
            Some(Event::Unreachable)
        } else if !self.reach_ok && self.reach.can_serve(now, self.settle) {
            self.reach_ok = true;
            Some(Event::Reachable)
        } else {
            None
        }
    }

    /// The change of health to notify, if there is one.
    pub fn report_health(&mut self, now: Instant) -> Option<Event> {
        if self.health_ok && self.health.lost_for(now, self.interval) {
            self.health_ok = false;
            Some(Event::CheckFailed)
        } else if !self.health_ok && self.health.can_serve(now, self.settle) {
            self.health_ok = true;
            Some(Event::CheckPassed)
        } else {
            None
        }
    }

    /// Adds when the carrier or the reachability next counts to `wake`.
    pub fn wake(&self, wake: &mut crate::machine::Wake, now: Instant) {
        if let Some(t) = self.carrier_lost_at {
            wake.at(Some(t + self.interval));
        }
        wake.at(self.reach.next_change(now, self.interval, self.settle));
        wake.at(self.health.next_change(now, self.interval, self.settle));
    }
}

/// The inherent methods that are the same for every machine, used inside
/// its `impl`: `$peer` names the detector field of the peer whose epochs the
/// endpoint judges, `$interval` the config field with that peer's interval.
macro_rules! station_inherent_methods {
    ($peer:ident, $interval:ident) => {
        /// Keeps the endpoint's unkeyed-epoch timings in step with the
        /// watched peer's dead time and interval.
        fn sync_timing(&mut self) {
            self.station.sync_timing(&self.$peer, self.config.$interval);
        }

        /// This machine's first frame is `(epoch, seq + 1)` instead of
        /// `(epoch, 1)`: for tests and simulations of the epoch rollover, which
        /// a real node reaches only after 2³² frames.
        #[must_use]
        pub fn starting_after_seq(mut self, seq: u32) -> Self {
            self.station.endpoint.start_after_seq(seq);
            self
        }
    };
}
pub(crate) use station_inherent_methods;

/// The [`Machine`](crate::Machine) methods that are the same for every
/// machine: a timeout only re-evaluates; the actions, the counters, the
/// role, the keys and the persisted peer epochs are the [`Station`]'s. Used
/// inside `impl Machine for …` of a machine with fields `station` and
/// `config` (with `keys`) and methods `enter` and `evaluate`.
macro_rules! station_methods {
    () => {
        fn handle_timeout(&mut self, now: $crate::time::Instant) {
            let now = self.enter(now);
            self.evaluate(now);
        }

        fn poll_action(&mut self) -> Option<$crate::action::Action> {
            self.station.poll_action()
        }

        fn stats(&self) -> $crate::machine::Stats {
            self.station.stats()
        }

        fn role(&self) -> $crate::node::Role {
            self.station.endpoint.role
        }

        fn set_keys(&mut self, keys: Option<$crate::wire::Keyring>) {
            self.station.endpoint.set_keys(keys.clone());
            self.config.keys = keys;
        }

        fn remember_peer_epoch(&mut self, peer: $crate::node::NodeId, epoch: u32) {
            self.station.endpoint.set_peer_floor(peer, epoch);
        }
    };
}
pub(crate) use station_methods;

/// The [`Server`](crate::Server) methods that are the same for both
/// servers: a tickle starts a round, a removal's outcome goes to the retry
/// schedule (a field `removal`), a reload replaces the message, and
/// the phase (a `Phase` with a `Stopped` and a `name`) says the rest. Used
/// inside `impl Server for …`, beside [`station_methods!`].
macro_rules! server_methods {
    () => {
        fn tickle(&mut self, now: $crate::time::Instant) {
            let now = self.enter(now);
            self.station.beater.tickle(now);
        }

        fn handle_removal(&mut self, now: $crate::time::Instant, outcome: $crate::Removal) {
            let now = self.enter(now);
            if let Some(event) = self.removal.report(now, outcome) {
                self.station.notify(event);
            }
            self.evaluate(now);
        }

        fn is_stopped(&self) -> bool {
            self.phase == Phase::Stopped
        }

        fn set_message(&mut self, message: heapless::Vec<u8, { $crate::wire::MAX_MESSAGE_LEN }>) {
            self.config.message = message;
        }

        fn phase_name(&self) -> &'static str {
            self.phase.name()
        }
    };
}
pub(crate) use server_methods;
