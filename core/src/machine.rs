//! The interfaces the state machines share, so that the Linux daemons, the
//! firmware and the simulator drive them the same way: [`Machine`] for all
//! three (quinn-proto's `handle` / `poll_transmit` / `poll_timeout`
//! pattern), [`Server`] for the primary and the secondary.

use crate::action::{Action, Stage, StageOutcome, Transmit};
use crate::detector::PeerDetector;
use crate::endpoint::RxStats;
use crate::node::{LinkId, NodeId, Role};
use crate::time::{Duration, Instant};
use crate::wire::{Keyring, MAX_FRAME_LEN, MAX_MESSAGE_LEN};

/// A sans-IO failover state machine. The caller's loop:
///
/// 1. feed it what happened: [`handle_frame`](Machine::handle_frame),
///    [`handle_stage_done`](Machine::handle_stage_done), and
///    [`handle_timeout`](Machine::handle_timeout) when `poll_at` has passed;
/// 2. drain [`poll_action`](Machine::poll_action) and
///    [`poll_transmit`](Machine::poll_transmit) until both return `None`;
/// 3. sleep until [`poll_at`](Machine::poll_at) or the next input.
///
/// `now` must never go backwards; a machine treats an earlier `now` as equal
/// to the latest it has seen.
///
/// # Example
///
/// A primary and a secondary on two links that deliver at once, in virtual
/// time; the primary goes silent at 1 s, and the secondary takes over one
/// dead time (three intervals) after its last heartbeat.
/// `core/examples/two_machines.rs` is the same with delays and a log.
///
/// ```
/// use failover_core::wire::MAX_FRAME_LEN;
/// use failover_core::{
///     Action, Duration, Event, Instant, Machine, NodeId, Primary, PrimaryConfig, Secondary,
///     SecondaryConfig, StageOutcome,
/// };
///
/// /// Step 2 for `m`: carry out its actions (script stages succeed at
/// /// once) and hand its frames to `peer`, if it is listening. Returns
/// /// the events `m` notified.
/// fn drain(m: &mut dyn Machine, peer: Option<&mut dyn Machine>, now: Instant) -> Vec<Event> {
///     let mut events = Vec::new();
///     let mut frames = Vec::new();
///     let mut buf = [0u8; MAX_FRAME_LEN];
///     loop {
///         let mut busy = false;
///         while let Some(action) = m.poll_action() {
///             busy = true;
///             match action {
///                 Action::RunStage(stage) => m.handle_stage_done(now, stage, StageOutcome::Success),
///                 Action::Notify(event) => events.push(event),
///                 _ => {} // add and remove addresses, announce, persist epochs
///             }
///         }
///         while let Some(tx) = m.poll_transmit(now, &mut buf) {
///             busy = true;
///             frames.push((tx.link, buf[..tx.len].to_vec()));
///         }
///         if !busy {
///             break;
///         }
///     }
///     if let Some(peer) = peer {
///         for (link, frame) in frames {
///             peer.handle_frame(now, link, &frame);
///         }
///     }
///     events
/// }
///
/// let interval = Duration::from_millis(100);
/// let mut p = PrimaryConfig::new(NodeId(1), 1, 2, interval);
/// p.manage_addresses = true;
/// let mut s = SecondaryConfig::new(NodeId(2), 1, 2, interval);
/// s.primary = Some(NodeId(1));
/// let mut primary = Primary::try_new(p, Instant::ZERO)?;
/// let mut secondary = Secondary::try_new(s, Instant::ZERO)?;
///
/// let crash = Instant::from_millis(1000);
/// let mut now = Instant::ZERO;
/// let mut took_over = None;
/// while now < Instant::from_millis(3000) && took_over.is_none() {
///     let alive = now < crash;
///     // 1. Timers that are due (frames were fed in step 2, at once).
///     if alive && primary.poll_at().is_some_and(|t| t <= now) {
///         primary.handle_timeout(now);
///     }
///     if secondary.poll_at().is_some_and(|t| t <= now) {
///         secondary.handle_timeout(now);
///     }
///     // 2. Drain both; each one's frames reach the other. A frame can
///     //    cause an answer, so go round until both are quiet.
///     for _ in 0..4 {
///         if alive {
///             drain(&mut primary, Some(&mut secondary), now);
///         }
///         let listener: Option<&mut dyn Machine> = if alive { Some(&mut primary) } else { None };
///         if drain(&mut secondary, listener, now).contains(&Event::TookOver) {
///             took_over = Some(now);
///         }
///     }
///     // 3. Sleep until the next timer.
///     let next = [alive.then(|| primary.poll_at()).flatten(), secondary.poll_at()];
///     now = next.into_iter().flatten().min().unwrap_or(now).max(now + Duration::from_micros(1));
/// }
///
/// let took_over = took_over.expect("the secondary took over");
/// // The primary's last heartbeat went out at 900 ms; three intervals later
/// // the secondary declares it dead and takes over.
/// assert_eq!(took_over, Instant::from_millis(1200));
/// assert!(secondary.holds_addresses());
/// # Ok::<(), failover_core::ConfigError>(())
/// ```
pub trait Machine {
    /// A UDP payload arrived on `link`. Anything, including garbage, may be
    /// passed: it is parsed, authenticated, checked for replay, and counted
    /// if refused.
    fn handle_frame(&mut self, now: Instant, link: LinkId, frame: &[u8]);

    /// Time has passed; run the timers that are due.
    fn handle_timeout(&mut self, now: Instant);

    /// A [`Action::RunStage`] finished. Reports for a stage the machine is
    /// not waiting for are ignored.
    fn handle_stage_done(&mut self, now: Instant, stage: Stage, outcome: StageOutcome);

    /// The next effect to carry out, if any.
    #[must_use = "an action taken from the queue and dropped is an effect never carried out"]
    fn poll_action(&mut self) -> Option<Action>;

    /// Writes the next frame due into `buf` and says where it goes (its
    /// bytes are `buf[..len]`); `None` when nothing is due.
    ///
    /// `buf` is an array of [`MAX_FRAME_LEN`] bytes, not a slice: every
    /// frame fits, so a frame taken off the schedule is always written. (A
    /// slice too small for it used to lose that heartbeat silently: the
    /// machine had already counted it as sent.) The one frame that is never
    /// written is one past the end of the epoch space, which a node reaches
    /// in the year 2106 at the earliest: silence is then the failure its
    /// peers already handle.
    #[must_use = "the frame is written and counted as sent: dropping the Transmit loses it"]
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8; MAX_FRAME_LEN]) -> Option<Transmit>;

    /// When the machine next needs `handle_timeout`, if ever.
    #[must_use = "a host that does not wake the machine at poll_at misses its timers"]
    fn poll_at(&self) -> Option<Instant>;

    /// Whether the service addresses are (or may be, part-way through a
    /// sequence) on this node's interfaces. The witness never holds them.
    #[must_use]
    fn holds_addresses(&self) -> bool;

    /// What this machine counted: frames received by fate, and actions its
    /// host never took.
    #[must_use]
    fn stats(&self) -> Stats;

    /// The part this machine plays, for logs and notices.
    #[must_use]
    fn role(&self) -> Role;

    /// Replaces the authentication keys (a reload: key rotation without a
    /// restart). Replay windows are kept, so nothing old becomes acceptable.
    fn set_keys(&mut self, keys: Option<Keyring>);

    /// Without a key: refuses every frame of `peer` from an epoch older
    /// than `epoch`, the one the host persisted for it in an earlier life of
    /// this node ([`Action::PersistPeerEpoch`]). Call before the first
    /// frame.
    fn remember_peer_epoch(&mut self, peer: NodeId, epoch: u32);
}

/// The controls and read-outs the two servers (the primary, `heartbeatd`,
/// and the secondary, `failoverd`) have beyond [`Machine`], so that one
/// daemon loop drives either: the signals (tickle, shutdown), the host's
/// view of its links (carrier, reachability), a reload, and what the log
/// and `--status` show. The witness is not a server: it holds no
/// addresses, never stops, and its firmware knows its links itself.
pub trait Server: Machine {
    /// Sends a heartbeat round at once (SIGHUP, Apple's "tickle").
    fn tickle(&mut self, now: Instant);

    /// Stop (SIGTERM): let go of the addresses (the secondary through its
    /// release scripts) and stop beating. Keep driving the machine until
    /// [`is_stopped`](Server::is_stopped).
    fn shutdown(&mut self, now: Instant);

    /// Whether shutdown has finished.
    #[must_use]
    fn is_stopped(&self) -> bool;

    /// The host's view of its own links: `any_up` is false when not one of
    /// them has a carrier (every cable pulled, the switch off). Such a node
    /// hears no one and no one hears it: after an interval of it, it lets go
    /// of the addresses and draws no conclusion from the silence it hears.
    fn set_carrier(&mut self, now: Instant, any_up: bool);

    /// The host's view of the service network (the reachability rule,
    /// `docs/protocol.md`): `reachable` is false when an interface that
    /// carries a service address has no carrier, or its probe target
    /// stopped answering.
    fn set_reachable(&mut self, now: Instant, reachable: bool);

    /// How the host's removal of the service addresses
    /// ([`Action::RemoveAddresses`](crate::Action::RemoveAddresses)) ended.
    /// Report every one: after a failure the node keeps saying it holds the
    /// addresses, and asks for the removal again, until one is reported
    /// done ([`crate::removal`]).
    fn handle_removal(&mut self, now: Instant, outcome: crate::Removal);

    /// Replaces the free text carried in every heartbeat (a reload). The
    /// type bounds its length: the host decides how to cut a longer one.
    fn set_message(&mut self, message: heapless::Vec<u8, MAX_MESSAGE_LEN>);

    /// The phase's short name (`"reclaiming"`, `"hold-down"`, …), without
    /// allocating: a daemon compares it after every input to log
    /// transitions.
    #[must_use]
    fn phase_name(&self) -> &'static str;

    /// What this node knows of the other server.
    #[must_use]
    fn peer_detector(&self) -> &PeerDetector;

    /// What this node knows of the witness, when one is configured.
    #[must_use]
    fn witness_detector(&self) -> Option<&PeerDetector>;

    /// Whether the addresses this node holds (or is acquiring) were handed
    /// over by the primary, which could not be reached, rather than taken
    /// on its silence: the words of notices differ. Always false for the
    /// primary.
    #[must_use]
    fn took_over_on_request(&self) -> bool;
}

/// Counters a machine keeps for its operator: the daemons' `--status`, the
/// witness's status line, the simulator and the fuzzers read them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Received frames, by fate.
    pub rx: RxStats,
    /// Actions dropped, since start, because the host did not drain
    /// [`Machine::poll_action`] and the bounded queue was full (each loss is
    /// also announced by an [`Event::ActionsLost`](crate::Event::ActionsLost)).
    /// Zero unless the host's loop is broken.
    pub actions_dropped: u32,
}

/// How long a node may go unscheduled before it must assume its peers
/// declared it dead: two of its own intervals. No peer reaches a verdict in
/// less (the adaptive detector needs at least two silent intervals and half
/// an interval of grace; the daemons refuse a fixed dead time below two
/// intervals), and a running node is woken at least once per interval to
/// beat.
pub(crate) fn stall_limit(interval: Duration) -> Duration {
    interval.saturating_mul(2)
}

/// Collects the instants a machine must be woken at and keeps the earliest.
/// Timers at or before `now` have already been acted on by the evaluation
/// that just ran (or are waiting on an input, not on time), so only future
/// ones count; work that is due at once is asked for with [`Wake::now`].
/// Without this rule a moot past timer would make a host spin.
pub(crate) struct Wake {
    now: Instant,
    at: Option<Instant>,
}

impl Wake {
    pub fn new(now: Instant) -> Self {
        Wake { now, at: None }
    }

    /// Something is due immediately (a frame to send).
    pub fn now(&mut self) {
        self.at = Some(self.now);
    }

    /// A timer at `t`, if `t` is still ahead.
    pub fn at(&mut self, t: Option<Instant>) {
        if let Some(t) = t.filter(|t| *t > self.now) {
            self.at = Some(self.at.map_or(t, |a| a.min(t)));
        }
    }

    pub fn get(self) -> Option<Instant> {
        self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Primary, PrimaryConfig, Secondary, SecondaryConfig};

    /// One daemon loop drives either server through `dyn Server`.
    #[test]
    fn both_servers_answer_through_the_trait() {
        let i = Duration::from_millis(10);
        let now = Instant::ZERO;
        let mut p = PrimaryConfig::new(NodeId(1), 1, 2, i);
        p.manage_addresses = true;
        let mut s = SecondaryConfig::new(NodeId(2), 1, 2, i);
        s.witness_node = Some(NodeId(3));
        let mut servers: [&mut dyn Server; 2] = [
            &mut Primary::try_new(p, now).expect("valid"),
            &mut Secondary::try_new(s, now).expect("valid"),
        ];
        let seen: [(Role, &str, bool); 2] = [
            (Role::Primary, "reclaiming", false),
            (Role::Secondary, "monitoring", true),
        ];
        for (m, (role, phase, witness)) in servers.iter_mut().zip(seen) {
            assert_eq!(m.role(), role);
            assert_eq!(m.phase_name(), phase);
            assert_eq!(m.witness_detector().is_some(), witness);
            assert!(!m.took_over_on_request());
            m.shutdown(now);
            while m.poll_action().is_some() {}
            assert!(
                m.is_stopped(),
                "{role:?} stops at once when it holds nothing"
            );
        }
    }
}
