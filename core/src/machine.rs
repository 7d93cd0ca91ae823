//! The interface all three state machines share, so that the Linux daemons,
//! the firmware and the simulator drive them the same way (quinn-proto's
//! `handle` / `poll_transmit` / `poll_timeout` pattern).

use crate::action::{Action, Stage, StageOutcome, Transmit};
use crate::endpoint::RxStats;
use crate::node::LinkId;
use crate::time::{Duration, Instant};
use crate::wire::MAX_FRAME_LEN;

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
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8; MAX_FRAME_LEN]) -> Option<Transmit>;

    /// When the machine next needs `handle_timeout`, if ever.
    fn poll_at(&self) -> Option<Instant>;

    /// Whether the service addresses are (or may be, part-way through a
    /// sequence) on this node's interfaces. The witness never holds them.
    fn holds_addresses(&self) -> bool;

    /// What this machine counted: frames received by fate, and actions its
    /// host never took.
    fn stats(&self) -> Stats;
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
