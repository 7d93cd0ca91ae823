//! What the event loop needs from a core machine beyond the core's own
//! [`Server`] trait (which carries the controls signals map to and the
//! read-outs the log and `--status` use): the phase in an administrator's
//! words, which is this daemon's wording, not the core's, and as a stable
//! key for programs (`--status --json`, the metrics). Implemented for
//! the primary (`heartbeatd`) and the secondary (`failoverd`), so one loop
//! drives both.

use failover_core::standby::{Accepted, Ask, Refusal};
use failover_core::{primary, secondary};
use failover_core::{Duration, Failback, Instant, LinkId, Primary, Secondary, Server};

use super::status::snapshot::OperatorView;
use crate::config::cli::OperatorCommand;

/// A core server machine the daemon loop can drive.
pub trait Node: Server {
    /// The phase in words, with its deadline if it has one.
    fn phase_text(&self, now: Instant) -> String;

    /// The phase as a stable key (lowercase, underscores), for programs:
    /// the core's [`Server::phase_name`] is for the log, in words that may
    /// be reworded. Documented in `docs/operations.md`.
    fn phase_key(&self, now: Instant) -> &'static str;

    /// The operator's commands and the failback policy as they stand, for
    /// `--status` (the primary's; `None` on the secondary).
    fn operator_view(&self, now: Instant) -> Option<OperatorView>;

    /// Carries out an operator's command (`heartbeatd --handover` or
    /// `--reclaim`). `None`: this daemon takes no such command.
    fn operator(
        &mut self,
        now: Instant,
        command: OperatorCommand,
    ) -> Option<Result<Accepted, Refusal>>;

    /// The health checks' verdict (heartbeatd's Check scripts); the
    /// secondary runs none.
    fn set_healthy(&mut self, now: Instant, healthy: bool);

    /// An Apple heartbeat from the primary on `link` (`failoverd
    /// --apple-compat`: [`Secondary::handle_apple_beat`]); the primary
    /// hears none.
    fn handle_apple_beat(&mut self, now: Instant, link: LinkId);

    /// Whether the peers' frames can wait for this node's next round: the
    /// loop then reads them when its timer rings instead of waking for
    /// them. Only a primary in a steady phase (holding, or beating without
    /// addresses, and the secondary not holding) with short beats says
    /// yes: there a frame changes nothing that cannot wait an interval
    /// (the isolation fence counts from when the echoed frame was sent,
    /// not when its echo is read), and reading at the timer saves the
    /// wake-up for the backup's answer, half of a primary's wake-ups.
    fn frames_can_wait(&self) -> bool;
}

/// The longest interval at which a primary reads its peers' frames at its
/// own rounds ([`Node::frames_can_wait`]): below it a wake-up an interval
/// is worth saving (on the lab's VM, 0.5 to 1 % of a core at 2 ms beats,
/// under 0.1 % at 10 ms: README, "Performance"), and an interval is short
/// enough that a reaction it delays (yielding to a secondary that took
/// over) is still prompt.
const FRAMES_WAIT_AT_MOST: Duration = Duration::from_millis(50);

fn until(now: Instant, t: Instant) -> String {
    format!(
        "{} from now",
        super::words::duration_text(t.saturating_since(now))
    )
}

impl Node for Secondary {
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
            secondary::Phase::Granted { until: t } => format!(
                "primary declared dead; the witness granted; acquiring {}, once the primary must have fenced itself",
                until(now, t)
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

    fn phase_key(&self, _now: Instant) -> &'static str {
        match self.phase() {
            secondary::Phase::Monitoring => "monitoring",
            secondary::Phase::HoldDown { .. } => "hold_down",
            secondary::Phase::AwaitGrant { .. } => "awaiting_grant",
            secondary::Phase::Granted { .. } => "granted",
            secondary::Phase::Acquiring { .. } => "acquiring",
            secondary::Phase::Holding => "holding",
            secondary::Phase::Releasing { .. } => "releasing",
            secondary::Phase::Vetoed { .. } => "vetoed",
            secondary::Phase::Stopped => "stopped",
        }
    }

    fn operator_view(&self, _now: Instant) -> Option<OperatorView> {
        None
    }

    fn operator(
        &mut self,
        _now: Instant,
        _command: OperatorCommand,
    ) -> Option<Result<Accepted, Refusal>> {
        None
    }

    fn set_healthy(&mut self, _now: Instant, _healthy: bool) {}

    fn handle_apple_beat(&mut self, now: Instant, link: LinkId) {
        Secondary::handle_apple_beat(self, now, link);
    }

    /// The backup's round answers the primary's frames (docs/protocol.md):
    /// they start its turn, so it reads them as they come.
    fn frames_can_wait(&self) -> bool {
        false
    }
}

/// What a primary that does not hold the addresses asks for, as a stable
/// key for programs.
fn ask_key(ask: Ask) -> &'static str {
    match ask {
        Ask::Back => "back",
        Ask::StandBy => "standby",
        Ask::HandOver => "handover",
    }
}

impl Node for Primary {
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
            primary::Phase::Reclaiming { .. } if self.ask(now) == Ask::HandOver => {
                "handing the service to the secondary (the operator's switchover): waiting \
                 until it serves"
                    .into()
            }
            primary::Phase::Reclaiming { .. } if self.ask(now) == Ask::StandBy => format!(
                "standing by ({}): {}; heartbeatd --reclaim takes the service back",
                if self.standby().ordered() {
                    "after the operator's switchover"
                } else {
                    "failback is manual"
                },
                if self.secondary_holds() {
                    "the secondary serves"
                } else {
                    "taking the addresses once the secondary confirms it does not hold them"
                }
            ),
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

    fn phase_key(&self, now: Instant) -> &'static str {
        match self.phase() {
            primary::Phase::Unmanaged => "beating",
            primary::Phase::Reclaiming { .. } => match self.ask(now) {
                Ask::Back => "reclaiming",
                Ask::StandBy => "standing_by",
                Ask::HandOver => "handing_over",
            },
            primary::Phase::Holding => "holding",
            primary::Phase::Stopped => "stopped",
        }
    }

    fn operator_view(&self, now: Instant) -> Option<OperatorView> {
        let managed = !matches!(self.phase(), primary::Phase::Unmanaged);
        managed.then(|| OperatorView {
            failback: match self.standby().failback() {
                Failback::Auto => "auto",
                Failback::Manual => "manual",
            },
            standby_ordered: self.standby().ordered(),
            asks: matches!(self.phase(), primary::Phase::Reclaiming { .. })
                .then(|| ask_key(self.ask(now))),
            secondary_holds: self.secondary_holds(),
        })
    }

    fn operator(
        &mut self,
        now: Instant,
        command: OperatorCommand,
    ) -> Option<Result<Accepted, Refusal>> {
        Some(match command {
            OperatorCommand::Handover => self.request_handover(now),
            OperatorCommand::Reclaim => self.request_reclaim(now),
        })
    }

    fn set_healthy(&mut self, now: Instant, healthy: bool) {
        Primary::set_healthy(self, now, healthy);
    }

    fn handle_apple_beat(&mut self, _now: Instant, _link: LinkId) {}

    fn frames_can_wait(&self) -> bool {
        matches!(
            self.phase(),
            primary::Phase::Holding | primary::Phase::Unmanaged
        ) && !self.secondary_holds()
            && self.config().interval <= FRAMES_WAIT_AT_MOST
    }
}
