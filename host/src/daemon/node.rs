//! What the event loop needs from a core machine beyond the core's own
//! [`Server`] trait (which carries the controls signals map to and the
//! read-outs the log and `--status` use): the phase in an administrator's
//! words, which is this daemon's wording, not the core's, and as a stable
//! key for programs (`--status --json`, the metrics). Implemented for
//! the primary (`heartbeatd`) and the secondary (`failoverd`), so one loop
//! drives both.

use failover_core::{primary, secondary};
use failover_core::{Instant, Primary, Secondary, Server};

/// A core server machine the daemon loop can drive.
pub trait Node: Server {
    /// The phase in words, with its deadline if it has one.
    fn phase_text(&self, now: Instant) -> String;

    /// The phase as a stable key (lowercase, underscores), for programs:
    /// the core's [`Server::phase_name`] is for the log, in words that may
    /// be reworded. Documented in `docs/operations.md`.
    fn phase_key(&self) -> &'static str;
}

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

    fn phase_key(&self) -> &'static str {
        match self.phase() {
            secondary::Phase::Monitoring => "monitoring",
            secondary::Phase::HoldDown { .. } => "hold_down",
            secondary::Phase::AwaitGrant { .. } => "awaiting_grant",
            secondary::Phase::Acquiring { .. } => "acquiring",
            secondary::Phase::Holding => "holding",
            secondary::Phase::Releasing { .. } => "releasing",
            secondary::Phase::Vetoed { .. } => "vetoed",
            secondary::Phase::Stopped => "stopped",
        }
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

    fn phase_key(&self) -> &'static str {
        match self.phase() {
            primary::Phase::Unmanaged => "beating",
            primary::Phase::Reclaiming { .. } => "reclaiming",
            primary::Phase::Holding => "holding",
            primary::Phase::Stopped => "stopped",
        }
    }
}
