//! The notifications the daemons sent: the events in a server's mail (the
//! fake `sendmail` of its [`RunDir`]), and in the order a daemon decided
//! them (its log).

use std::time::Instant;

use crate::daemons::{Daemon, RunDir};

/// The events a server mailed, in order (`X-Failover-Event` headers).
pub fn events(run: &RunDir) -> Vec<String> {
    run.mail()
        .lines()
        .filter_map(|l| l.strip_prefix("X-Failover-Event: "))
        .map(str::to_owned)
        .collect()
}

/// The events mailed after the ones in `before` (an earlier [`events`]).
pub fn events_since(run: &RunDir, before: &[String]) -> Vec<String> {
    events(run).into_iter().skip(before.len()).collect()
}

/// The events `d` mailed from `since` on, in the order it decided them (its
/// `mailing "<event>" ...` log lines). The mail file's order is not that:
/// each message goes through its own `sendmail`, so two notices a
/// millisecond apart may land in either order.
pub fn notified(d: &Daemon, since: Instant) -> Vec<String> {
    d.lines()
        .iter()
        .filter(|(t, _)| *t >= since)
        .filter_map(|(_, l)| {
            let rest = &l[l.find("mailing \"")? + "mailing \"".len()..];
            Some(rest[..rest.find('"')?].to_owned())
        })
        .collect()
}

/// Only the events named in `which`, in order.
pub fn only(events: &[String], which: &[&str]) -> Vec<String> {
    events
        .iter()
        .filter(|e| which.contains(&e.as_str()))
        .cloned()
        .collect()
}

/// Whether `mail` is exactly an anomaly and its end: what a fault on one
/// network may mail, and nothing else (also across a stall of `failoverd`,
/// which must not mail the same anomaly twice).
pub fn anomaly_mails_only(mail: &[String]) -> bool {
    mail == ["NetworkAnomaly", "NetworkRestored"]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn only_keeps_the_order() {
        let all = owned(&["TookOver", "WitnessLost", "LeaseExpired", "TookOver"]);
        assert_eq!(
            only(&all, &["TookOver", "LeaseExpired"]),
            ["TookOver", "LeaseExpired", "TookOver"]
        );
    }
}
