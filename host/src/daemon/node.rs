//! What the event loop needs from a core machine beyond [`Machine`]: the
//! controls signals map to (tickle, shutdown, key reload) and the read-outs
//! that the log, the notifications and `--status` show. Implemented for the
//! primary (`heartbeatd`) and the secondary (`failoverd`), so one loop
//! drives both.

use failover_core::wire::{Keyring, MAX_MESSAGE_LEN};
use failover_core::{primary, secondary};
use failover_core::{Instant, Machine, NodeId, PeerDetector, Primary, Role, Secondary};

/// A core machine the daemon loop can drive.
pub trait Node: Machine {
    /// This node's role, for notifications and status.
    fn role(&self) -> Role;
    /// SIGHUP: send a heartbeat round at once.
    fn tickle(&mut self, now: Instant);
    /// SIGTERM: let go of the addresses (through the release scripts where
    /// there are any) and stop; keep driving until [`Node::is_stopped`].
    fn shutdown(&mut self, now: Instant);
    /// Whether shutdown has finished.
    fn is_stopped(&self) -> bool;
    /// The carrier watch: whether any of this host's links has a carrier.
    fn set_carrier(&mut self, now: Instant, any_up: bool);
    /// The reachability rule: whether every service interface has a
    /// carrier (clients can reach this host where the addresses live).
    fn set_reachable(&mut self, now: Instant, reachable: bool);
    /// A reload: new authentication keys.
    fn set_keys(&mut self, keys: Option<Keyring>);
    /// A reload: a new heartbeat message (the primary's `-m`; the secondary
    /// sends none).
    fn set_message(&mut self, message: &str);
    /// The phase's name, without allocating: the loop compares it after
    /// every input to log transitions.
    fn phase_name(&self) -> &'static str;
    /// The phase in words, with its deadline if it has one.
    fn phase_text(&self, now: Instant) -> String;
    /// The other server's detector.
    fn peer(&self) -> &PeerDetector;
    /// The witness's detector, when a witness is configured.
    fn witness(&self) -> Option<&PeerDetector>;
    /// Whether the last takeover was asked for by the primary (it could not
    /// be reached) rather than caused by its silence.
    fn took_over_on_request(&self) -> bool {
        false
    }
    /// At start: the settled epoch of `peer` persisted by an earlier life.
    fn remember_peer_epoch(&mut self, peer: NodeId, epoch: u32);
}

fn until(now: Instant, t: Instant) -> String {
    format!(
        "{} from now",
        super::runtime::duration_text(t.saturating_since(now))
    )
}

impl Node for Secondary {
    fn role(&self) -> Role {
        Role::Secondary
    }
    fn tickle(&mut self, now: Instant) {
        Secondary::tickle(self, now);
    }
    fn shutdown(&mut self, now: Instant) {
        Secondary::shutdown(self, now);
    }
    fn is_stopped(&self) -> bool {
        Secondary::is_stopped(self)
    }
    fn set_carrier(&mut self, now: Instant, any_up: bool) {
        Secondary::set_carrier(self, now, any_up);
    }
    fn set_reachable(&mut self, now: Instant, reachable: bool) {
        Secondary::set_reachable(self, now, reachable);
    }
    fn took_over_on_request(&self) -> bool {
        Secondary::took_over_on_request(self)
    }
    fn set_keys(&mut self, keys: Option<Keyring>) {
        Secondary::set_keys(self, keys);
    }
    fn set_message(&mut self, _message: &str) {}
    fn remember_peer_epoch(&mut self, peer: NodeId, epoch: u32) {
        Secondary::remember_peer_epoch(self, peer, epoch);
    }
    fn phase_name(&self) -> &'static str {
        match self.phase() {
            secondary::Phase::Monitoring => "monitoring",
            secondary::Phase::HoldDown { .. } => "hold-down",
            secondary::Phase::AwaitGrant { .. } => "awaiting the witness's grant",
            secondary::Phase::Acquiring { .. } => "acquiring",
            secondary::Phase::Holding => "holding the addresses",
            secondary::Phase::Releasing { .. } => "releasing",
            secondary::Phase::Vetoed { .. } => "vetoed",
            secondary::Phase::Stopped => "stopped",
        }
    }
    fn phase_text(&self, now: Instant) -> String {
        match self.phase() {
            secondary::Phase::Monitoring => "monitoring (the primary holds the addresses)".into(),
            secondary::Phase::HoldDown { until: t, fallback } => format!(
                "primary declared dead; {} ends {}",
                if fallback {
                    "the witness-fallback hold-down"
                } else {
                    "the hold-down"
                },
                until(now, t)
            ),
            secondary::Phase::AwaitGrant { resend_at, .. } => format!(
                "primary declared dead; asked the witness for a grant (asking again {})",
                until(now, resend_at)
            ),
            secondary::Phase::Acquiring { stage, abort, .. } => format!(
                "taking over: running {}{}",
                stage.name(),
                if abort {
                    " (the primary is back: stopping after it)"
                } else {
                    ""
                }
            ),
            secondary::Phase::Holding => "holding the service addresses (took over)".into(),
            secondary::Phase::Releasing { stage, .. } => {
                format!("releasing the addresses: running {}", stage.name())
            }
            secondary::Phase::Vetoed { retry_at } => format!(
                "a script vetoed the takeover; trying again {} if the primary is still dead",
                until(now, retry_at)
            ),
            secondary::Phase::Stopped => "stopped".into(),
        }
    }
    fn peer(&self) -> &PeerDetector {
        self.primary_detector()
    }
    fn witness(&self) -> Option<&PeerDetector> {
        (self.config().witness != failover_core::WitnessPolicy::Off
            || self.config().witness_node.is_some())
        .then(|| self.witness_detector())
    }
}

impl Node for Primary {
    fn role(&self) -> Role {
        Role::Primary
    }
    fn tickle(&mut self, now: Instant) {
        Primary::tickle(self, now);
    }
    fn shutdown(&mut self, now: Instant) {
        Primary::shutdown(self, now);
    }
    fn remember_peer_epoch(&mut self, peer: NodeId, epoch: u32) {
        Primary::remember_peer_epoch(self, peer, epoch);
    }
    fn is_stopped(&self) -> bool {
        Primary::is_stopped(self)
    }
    fn set_carrier(&mut self, now: Instant, any_up: bool) {
        Primary::set_carrier(self, now, any_up);
    }
    fn set_reachable(&mut self, now: Instant, reachable: bool) {
        Primary::set_reachable(self, now, reachable);
    }
    fn set_keys(&mut self, keys: Option<Keyring>) {
        Primary::set_keys(self, keys);
    }
    fn set_message(&mut self, message: &str) {
        let bytes = message.as_bytes();
        let mut m = heapless::Vec::<u8, MAX_MESSAGE_LEN>::new();
        let _ = m.extend_from_slice(bytes.get(..MAX_MESSAGE_LEN).unwrap_or(bytes));
        Primary::set_message(self, m);
    }
    fn phase_name(&self) -> &'static str {
        match self.phase() {
            primary::Phase::Unmanaged => "beating",
            primary::Phase::Reclaiming { .. } => "reclaiming",
            primary::Phase::Holding => "holding the addresses",
            primary::Phase::Stopped => "stopped",
        }
    }
    fn phase_text(&self, now: Instant) -> String {
        match self.phase() {
            primary::Phase::Unmanaged => {
                "beating (no --service addresses: the addresses are not managed here)".into()
            }
            primary::Phase::Reclaiming { .. } if !self.can_serve(now) => {
                "handing the service to the secondary: clients cannot reach this server yet \
                 (a service interface without carrier, or back for less than the settling time)"
                    .into()
            }
            primary::Phase::Reclaiming { .. } => format!(
                "reclaiming the service addresses: waiting until the secondary {}",
                if self.secondary_holds() {
                    "has released them"
                } else {
                    "confirms it does not hold them"
                }
            ),
            primary::Phase::Holding => "holding the service addresses".into(),
            primary::Phase::Stopped => "stopped".into(),
        }
    }
    fn peer(&self) -> &PeerDetector {
        self.secondary_detector()
    }
    fn witness(&self) -> Option<&PeerDetector> {
        self.config()
            .witness_node
            .is_some()
            .then(|| self.witness_detector())
    }
}
