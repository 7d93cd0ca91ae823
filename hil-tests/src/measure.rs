//! One failover, measured on a [`Lab`] with both captures running
//! ([`Lab::capture_arp`], [`Lab::capture_protocol`]) and its [`Daemons`]:
//! the primary's plug pulled and what followed ([`Takeover`]), the plug put
//! back and what followed ([`Failback`]).
//!
//! The demo prints these measurements as timelines; the benchmark repeats
//! them and keeps the numbers. Zero of a takeover is when the primary's
//! last cable lost its carrier, as its own `heartbeatd` saw it (the two
//! `ip` commands that pull the cables take a few ms each); zero of a
//! failback is when the cables went back in.

use std::io;
use std::time::{Duration, Instant};

use failover_core::wire::WitnessKind;

use crate::interrupt;
use crate::lab::{Daemons, Lab, Owner};
use crate::observe::FrameSeen;
use crate::service::{Probe, Prober};
use crate::timeline::{signed_ms, Timeline};
use crate::topology::Net;
/// How often the measurements check whether what they wait for happened
/// (the times themselves come from the observers, not from this).
pub const POLL_STEP: Duration = Duration::from_millis(5);

/// Polls `condition` every `step` until it holds (`Ok(true)`) or `timeout`
/// passes (`Ok(false)`); `Err` only when interrupted. Bounded in time and
/// count.
pub fn poll(
    timeout: Duration,
    step: Duration,
    mut condition: impl FnMut() -> bool,
) -> io::Result<bool> {
    let end = Instant::now() + timeout;
    let max = timeout.as_nanos() / step.as_nanos().max(1) + 2;
    for _ in 0..max.min(10_000_000) {
        if condition() {
            return Ok(true);
        }
        if interrupt::interrupted() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        if Instant::now() >= end {
            break;
        }
        interrupt::sleep(step.min(end.saturating_duration_since(Instant::now())))?;
    }
    Ok(condition())
}

/// The first answer from `who` at or after `since`.
pub fn first_answer_from(probes: &[Probe], who: &str, since: Instant) -> Option<Instant> {
    probes
        .iter()
        .filter_map(|p| p.answer.as_ref())
        .filter(|(t, w)| *t >= since && w == who)
        .map(|(t, _)| *t)
        .min()
}

/// The last answer from `who` before `before`.
pub fn last_answer_from(probes: &[Probe], who: &str, before: Instant) -> Option<Instant> {
    probes
        .iter()
        .filter_map(|p| p.answer.as_ref())
        .filter(|(t, w)| *t < before && w == who)
        .map(|(t, _)| *t)
        .max()
}

/// Probes sent in `[from, to)` that were never answered.
pub fn lost_between(probes: &[Probe], from: Instant, to: Instant) -> usize {
    probes
        .iter()
        .filter(|p| p.sent >= from && p.sent < to && p.answer.is_none())
        .count()
}

/// Whether some answer from `who` came at or after `since` (without
/// copying the probes: this is polled).
fn answered_by(prober: &Prober, who: &str, since: Instant) -> bool {
    // `Prober` only hands out copies; the copy is the price of a poll, so
    // polls are every few ms, not every ms.
    first_answer_from(&prober.probes(), who, since).is_some()
}

/// Waits (at most `limit`) until the primary holds the address and
/// `failoverd` has started. `Ok(false)` if that did not happen in time.
pub fn wait_ready(lab: &Lab, d: &Daemons, limit: Duration) -> io::Result<bool> {
    poll(limit, Duration::from_millis(1), || {
        lab.owners.primary.holds_now() && d.fo.logged("started")
    })
}

/// The primary's plug pulled (both cables), and what followed.
#[derive(Debug, Clone)]
pub struct Takeover {
    /// When the first cable was pulled.
    pub cut_start: Instant,
    /// Zero: the primary's last (public) cable lost its carrier, as its
    /// `heartbeatd` logged (or, failing that, when both cables were out).
    pub pulled: Instant,
    /// The primary's private cable lost its carrier.
    pub priv_lost: Option<Instant>,
    /// The client's last answer from the primary before zero (+1 ms).
    pub last_primary: Option<Instant>,
    /// `failoverd`: "the primary is silent on every network".
    pub verdict: Option<Instant>,
    /// With a witness: the secondary's first request to it.
    pub asked: Option<FrameSeen>,
    /// With a witness: its first grant.
    pub granted: Option<FrameSeen>,
    /// `failoverd` added the service address.
    pub added: Option<Instant>,
    /// The first gratuitous ARP from the secondary on the public bridge.
    pub first_garp: Option<Instant>,
    /// `failoverd` ran its PostAcq script.
    pub post_acq: Option<Instant>,
    /// `failoverd` logged "took over" (after PostAcq, with the mail).
    pub took_over: Option<Instant>,
    /// The unplugged `heartbeatd` dropped the address.
    pub dropped: Option<Instant>,
    /// The client's first answer from the secondary after zero.
    pub back: Option<Instant>,
    /// Probes between the last answer from the primary and the first from
    /// the secondary that went unanswered.
    pub lost_probes: usize,
}

impl Takeover {
    /// Whether the secondary served the client.
    pub fn served(&self) -> bool {
        self.back.is_some()
    }

    /// `at` in ms after zero.
    pub fn ms(&self, at: Option<Instant>) -> Option<f64> {
        at.map(|a| signed_ms(self.pulled, a))
    }

    /// The client's outage: from the last answer from the primary to the
    /// first from the secondary.
    pub fn outage(&self) -> Option<Duration> {
        Some(self.back?.saturating_duration_since(self.last_primary?))
    }

    /// The timeline the demo prints, zero at [`Takeover::pulled`].
    pub fn timeline(&self) -> Timeline {
        let mut tl = Timeline::new(self.pulled);
        tl.add(
            self.priv_lost,
            "primary's private cable out (priv0 lost its carrier)",
        );
        tl.add(
            Some(self.pulled),
            "primary's public cable out: it is cut off",
        );
        tl.add(self.last_primary, "client: last answer from the primary");
        tl.add(
            self.verdict,
            "failoverd: the primary is silent on every network (verdict)",
        );
        tl.add(
            self.asked.as_ref().map(|f| f.at),
            "failoverd asks the witness for the address (at its verdict; it acquires once the primary must have fenced itself)",
        );
        if let Some(g) = &self.granted {
            let lease = g.witness.map_or(0, |w| w.lease.total_millis());
            tl.add(
                Some(g.at),
                format!("witness: grant (it no longer hears the primary either; lease {lease} ms)"),
            );
        }
        tl.add(self.added, "failoverd: added 192.0.2.10 to pub0");
        tl.add(self.first_garp, "first gratuitous ARP from the secondary");
        tl.add(self.post_acq, "failoverd: PostAcq script ran");
        tl.add(self.took_over, "failoverd: took over (mail sent)");
        tl.add(
            self.dropped,
            "heartbeatd (unplugged): no carrier anywhere, dropped 192.0.2.10",
        );
        tl.add(self.back, "client: answered by the secondary");
        tl
    }
}

/// Pulls the primary's plug (private cable, then public) and waits, at
/// most `limit`, for the client to be answered by the secondary, then
/// `settle` more for the slower log lines (PostAcq, "took over").
pub fn pull_plug(
    lab: &Lab,
    d: &Daemons,
    prober: &Prober,
    limit: Duration,
    settle: Duration,
) -> io::Result<Takeover> {
    let t = &lab.t;
    let cut_start = Instant::now();
    t.unplug(&t.primary, Net::Private)?;
    t.unplug(&t.primary, Net::Public)?;
    let cut_done = Instant::now();
    poll(Duration::from_secs(1), Duration::from_millis(1), || {
        d.hb.logged_after(cut_start, "pub0: carrier lost").is_some()
    })?;
    let priv_lost = d.hb.logged_after(cut_start, "priv0: carrier lost");
    let pulled =
        d.hb.logged_after(cut_start, "pub0: carrier lost")
            .unwrap_or(cut_done);
    poll(limit, POLL_STEP, || {
        answered_by(prober, "secondary", pulled)
    })?;
    interrupt::sleep(settle)?;
    let probes = prober.probes();
    let last_primary = last_answer_from(&probes, "primary", pulled + Duration::from_millis(1));
    let back = first_answer_from(&probes, "secondary", pulled);
    let lost_probes = match (last_primary, back) {
        (Some(a), Some(b)) => lost_between(&probes, a, b),
        _ => 0,
    };
    let fo = |needle: &str| d.fo.logged_after(pulled, needle);
    Ok(Takeover {
        cut_start,
        pulled,
        priv_lost,
        last_primary,
        verdict: fo("is silent on every network"),
        asked: lab
            .protocol
            .as_ref()
            .and_then(|c| c.first(WitnessKind::Request, pulled)),
        granted: lab
            .protocol
            .as_ref()
            .and_then(|c| c.first(WitnessKind::Grant, pulled)),
        added: fo("added 192.0.2.10"),
        first_garp: lab
            .arp
            .as_ref()
            .and_then(|c| c.first_garp(&lab.macs.1, pulled)),
        post_acq: fo("PostAcq acquire"),
        took_over: fo("took over 192.0.2.10"),
        dropped: d.hb.logged_after(pulled, "dropped 192.0.2.10"),
        back,
        lost_probes,
    })
}

/// The primary's plug put back, and what followed.
#[derive(Debug, Clone)]
pub struct Failback {
    /// Zero: both cables back in.
    pub plugged: Instant,
    /// The primary served the client again, held the address, and the
    /// secondary no longer did, within the limit.
    pub failed_back: bool,
    /// `heartbeatd`: carrier back.
    pub carrier_back: Option<Instant>,
    /// `failoverd` ran its PreRel script.
    pub pre_rel: Option<Instant>,
    /// `failoverd` removed the service address.
    pub removed: Option<Instant>,
    /// `failoverd`: "gave 192.0.2.10 back".
    pub gave_back: Option<Instant>,
    /// `heartbeatd` added the service address.
    pub hb_added: Option<Instant>,
    /// The first gratuitous ARP from the primary on the public bridge.
    pub first_garp: Option<Instant>,
    /// The client's last answer from the secondary.
    pub last_secondary: Option<Instant>,
    /// The client's first answer from the primary after zero.
    pub home: Option<Instant>,
    /// Probes between the last answer from the secondary and the first from
    /// the primary that went unanswered.
    pub lost_probes: usize,
    /// When the measurement ended (the prober stopped).
    pub end: Instant,
}

impl Failback {
    /// The client's outage: from the last answer from the secondary to the
    /// first from the primary.
    pub fn outage(&self) -> Option<Duration> {
        Some(self.home?.saturating_duration_since(self.last_secondary?))
    }

    /// The timeline the demo prints, zero at [`Failback::plugged`].
    pub fn timeline(&self) -> Timeline {
        let mut tl = Timeline::new(self.plugged);
        tl.add(Some(self.plugged), "both cables back");
        tl.add(self.carrier_back, "heartbeatd: carrier back");
        tl.add(self.pre_rel, "failoverd: PreRel script ran");
        tl.add(self.removed, "failoverd: removed 192.0.2.10 from pub0");
        tl.add(self.gave_back, "failoverd: gave 192.0.2.10 back");
        tl.add(self.hb_added, "heartbeatd: added 192.0.2.10 to pub0");
        tl.add(self.first_garp, "first gratuitous ARP from the primary");
        tl.add(
            self.last_secondary,
            "client: last answer from the secondary",
        );
        tl.add(self.home, "client: answered by the primary again");
        tl
    }
}

/// Puts the primary's plug back (private cable, then public), waits at
/// most `limit` for the primary to serve again and hold the address alone,
/// then `settle` more, and stops `prober`, returning its probes with the
/// measurement.
pub fn plug_back(
    lab: &Lab,
    d: &Daemons,
    prober: Prober,
    limit: Duration,
    settle: Duration,
) -> io::Result<(Failback, Vec<Probe>)> {
    let t = &lab.t;
    let plugged = Instant::now();
    t.plug(&t.primary, Net::Private)?;
    t.plug(&t.primary, Net::Public)?;
    let failed_back = poll(limit, POLL_STEP, || {
        lab.owners.are(Owner::Primary) && answered_by(&prober, "primary", plugged)
    })?;
    interrupt::sleep(settle)?;
    let probes = prober.stop();
    let end = Instant::now();
    let last_secondary = last_answer_from(&probes, "secondary", end);
    let home = first_answer_from(&probes, "primary", plugged);
    let lost_probes = match (last_secondary, home) {
        (Some(a), Some(b)) => lost_between(&probes, a, b),
        _ => 0,
    };
    let fb = Failback {
        plugged,
        failed_back,
        carrier_back: d.hb.logged_after(plugged, "carrier back"),
        pre_rel: d.fo.logged_after(plugged, "PreRel release"),
        removed: d.fo.logged_after(plugged, "removed 192.0.2.10"),
        gave_back: d.fo.logged_after(plugged, "gave 192.0.2.10 back"),
        hb_added: d.hb.logged_after(plugged, "added 192.0.2.10"),
        first_garp: lab
            .arp
            .as_ref()
            .and_then(|c| c.first_garp(&lab.macs.0, plugged)),
        last_secondary,
        home,
        lost_probes,
        end,
    };
    Ok((fb, probes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(seq: u32, sent: Instant, answer: Option<(u64, &str)>) -> Probe {
        Probe {
            seq,
            sent,
            answer: answer.map(|(ms, w)| (sent + Duration::from_millis(ms), w.to_owned())),
        }
    }

    #[test]
    fn answers_around_a_cut() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let probes = [
            probe(0, at(0), Some((1, "primary"))),
            probe(1, at(10), Some((1, "primary"))),
            probe(2, at(20), None),
            probe(3, at(30), None),
            probe(4, at(40), Some((1, "secondary"))),
            probe(5, at(50), Some((1, "secondary"))),
        ];
        assert_eq!(last_answer_from(&probes, "primary", at(30)), Some(at(11)));
        assert_eq!(
            first_answer_from(&probes, "secondary", at(15)),
            Some(at(41))
        );
        assert_eq!(first_answer_from(&probes, "primary", at(15)), None);
        assert_eq!(lost_between(&probes, at(11), at(41)), 2);
    }

    #[test]
    fn poll_is_bounded_and_sees_the_condition() {
        let start = Instant::now();
        assert!(
            !poll(Duration::from_millis(30), Duration::from_millis(5), || {
                false
            })
            .unwrap()
        );
        assert!(start.elapsed() < Duration::from_secs(2));
        let mut n = 0;
        assert!(poll(Duration::from_secs(5), Duration::from_millis(1), || {
            n += 1;
            n == 3
        })
        .unwrap());
    }
}
