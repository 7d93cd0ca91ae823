//! Who hears of each [`Event`]: its syslog severity and whether it is
//! mailed, on a node of each role. Kept apart from the words
//! ([`super::describe`]) because it is the routing an administrator tunes
//! a mail filter or a log alert by, and the one table the [`crate::notify`]
//! module documentation lists (a unit test there keeps the two in step).

use failover_core::action::Event;
use failover_core::Role;

use super::super::log::Level;

/// Severity and mail decision for `event` on a node of `role`.
pub fn policy(event: &Event, role: Role) -> (Level, bool) {
    match event {
        Event::TookOver => (Level::Crit, true),
        Event::NetworkAnomaly { .. } => (Level::Warning, true),
        Event::NetworkRestored => (Level::Notice, true),
        Event::Relinquished => (Level::Notice, true),
        Event::Vetoed { .. } => (Level::Crit, true),
        Event::ScriptFailed { .. } => (Level::Err, true),
        Event::TakeoverCancelled => (Level::Warning, true),
        Event::LeaseExpired => (Level::Crit, true),
        Event::WitnessLost => (Level::Warning, true),
        Event::WitnessRegained => (Level::Notice, true),
        Event::WitnessDenied { .. } => (Level::Warning, true),
        Event::WitnessFallback => (Level::Err, true),
        Event::Acquired => (Level::Notice, true),
        Event::Yielded => (Level::Crit, true),
        Event::Isolated => (Level::Crit, true),
        Event::Stalled => (Level::Err, true),
        // On the primary nobody else reports it: the backup is gone. On the
        // secondary the outcome follows in its own notice (took over,
        // refused, cancelled, relinquished), which is what gets mailed.
        Event::PeerLost => match role {
            Role::Primary => (Level::Err, true),
            _ => (Level::Warning, false),
        },
        Event::PeerRegained => match role {
            Role::Primary => (Level::Notice, true),
            _ => (Level::Notice, false),
        },
        Event::Granted => (Level::Notice, false),
        Event::GrantEnded => (Level::Info, false),
        Event::IntervalRefused { .. } => (Level::Err, true),
        Event::Unreachable => (Level::Crit, true),
        Event::Reachable => (Level::Notice, true),
        Event::HandedOver => (Level::Crit, true),
        // A switchover the operator asked for is news, not an alarm.
        Event::PrimaryHandedOver { planned } => {
            (if *planned { Level::Notice } else { Level::Crit }, true)
        }
        Event::HandoverStarted => (Level::Notice, true),
        Event::HandoverFailed => (Level::Err, true),
        Event::StandingBy => (Level::Notice, true),
        Event::StandbyEnded => (Level::Crit, true),
        Event::CheckFailed => (Level::Crit, true),
        Event::CheckPassed => (Level::Notice, true),
        // The handshake waits on it: the peer does not add the addresses.
        Event::RemovalFailed => (Level::Crit, true),
        Event::RemovalRecovered => (Level::Notice, true),
        // The daemon's own loop failed to carry out what the core decided:
        // the addresses may not be where the core thinks.
        Event::ActionsLost { .. } => (Level::Crit, true),
    }
}
