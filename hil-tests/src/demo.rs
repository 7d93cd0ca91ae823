//! The demo (README command 1): the lab network with the real daemons,
//! steady state, the primary's plug pulled (both cables), the takeover with
//! its timeline, the plug back in, and the failback without overlap, then
//! everything removed. It checks what it shows: the exit status says
//! whether the takeover and the zero-overlap failback happened.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::daemons::{start_failoverd, start_heartbeatd, Binaries, Daemon, Profile, RunDir};
use crate::interrupt::{self, wait_for};
use crate::netns::cleanup_stale;
use crate::observe::{overlap, Capture, Ownership};
use crate::service::{service_runs, Probe, Prober, Responder};
use crate::timeline::{ms, Timeline};
use crate::topology::{Net, Topology, CLIENT_IP, PUBLIC_BRIDGE, PUBLIC_IF, SERVICE};

/// How often the client probes the service.
pub const PROBE_PERIOD: Duration = Duration::from_millis(1);
/// How often address ownership is sampled.
pub const OWNERSHIP_PERIOD: Duration = Duration::from_millis(1);
/// The longest any step may take before the demo gives up.
pub const STEP_LIMIT: Duration = Duration::from_secs(20);
/// How long the steady state is shown.
pub const STEADY: Duration = Duration::from_secs(2);

/// What the demo measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The secondary served the client after the plug was pulled.
    pub took_over: bool,
    /// The primary served the client again after the plug went back.
    pub failed_back: bool,
    /// Time both servers had the address at once (should be zero).
    pub overlap: Duration,
    /// Client-visible outage at the takeover.
    pub takeover_outage: Option<Duration>,
    /// Client-visible outage at the failback.
    pub failback_outage: Option<Duration>,
}

impl Outcome {
    /// Whether the demo showed what it promises.
    pub fn ok(&self) -> bool {
        self.took_over && self.failed_back && self.overlap.is_zero()
    }
}

fn first_answer_from(probes: &[Probe], who: &str, since: Instant) -> Option<Instant> {
    probes
        .iter()
        .filter_map(|p| p.answer.as_ref())
        .filter(|(t, w)| *t >= since && w == who)
        .map(|(t, _)| *t)
        .min()
}

fn last_answer_from(probes: &[Probe], who: &str, before: Instant) -> Option<Instant> {
    probes
        .iter()
        .filter_map(|p| p.answer.as_ref())
        .filter(|(t, w)| *t < before && w == who)
        .map(|(t, _)| *t)
        .max()
}

fn lost_between(probes: &[Probe], from: Instant, to: Instant) -> usize {
    probes
        .iter()
        .filter(|p| p.sent >= from && p.sent < to && p.answer.is_none())
        .count()
}

fn logged(d: &Daemon, since: Instant, needle: &str) -> Option<Instant> {
    d.logged_after(since, needle)
}

/// Runs the demo, printing to `out`. The run's logs stay in `run_dir`.
pub fn run(out: &mut impl Write, run_dir: PathBuf) -> io::Result<Outcome> {
    let profile = Profile::fast();
    let stale = cleanup_stale()?;
    if stale > 0 {
        writeln!(
            out,
            "removed {stale} namespace(s) left by an earlier run that was killed"
        )?;
    }
    let bins = Binaries::find()?;
    let run = RunDir::create(&run_dir)?;
    run.script(
        "PostAcq_demo",
        "echo \"PostAcq $1 $2: the secondary would start the service here\"\n",
    )?;
    run.script(
        "PreRel_demo",
        "echo \"PreRel $1 $2: the secondary would stop the service here\"\n",
    )?;

    writeln!(
        out,
        "building the lab network (network namespaces; documentation addresses only):"
    )?;
    let t = Topology::new()?;
    let (pmac, smac) = (t.primary.public_mac()?, t.secondary.public_mac()?);
    writeln!(
        out,
        "  primary    {} (private)  {} (public, {pmac})",
        t.primary.private_ip, t.primary.public_ip
    )?;
    writeln!(
        out,
        "  secondary  {} (private)  {} (public, {smac})",
        t.secondary.private_ip, t.secondary.public_ip
    )?;
    writeln!(
        out,
        "  client     {CLIENT_IP} (public), asking {SERVICE} every {} ms",
        PROBE_PERIOD.as_millis()
    )?;
    writeln!(
        out,
        "  service address {SERVICE}: heartbeatd holds it on the primary; failoverd takes it over"
    )?;
    writeln!(
        out,
        "profile {}: heartbeats every {} ms on both networks, dead time {} ms",
        profile.name,
        profile.interval_ms,
        profile.interval_ms * 3
    )?;

    let _responders = (
        Responder::start(&t.primary.ns, "primary")?,
        Responder::start(&t.secondary.ns, "secondary")?,
    );
    let owners = (
        Ownership::start(&t.primary.ns, PUBLIC_IF, SERVICE, OWNERSHIP_PERIOD)?,
        Ownership::start(&t.secondary.ns, PUBLIC_IF, SERVICE, OWNERSHIP_PERIOD)?,
    );
    let capture = Capture::start(t.switch.ns(), PUBLIC_BRIDGE, SERVICE)?;
    let hb = start_heartbeatd(&t, &bins, &run, &profile, &[])?;
    let fo = start_failoverd(&t, &bins, &run, &profile, &[])?;
    let prober = Prober::start(&t.client, SERVICE, PROBE_PERIOD)?;

    // Steady state: the primary serves.
    let started = Instant::now();
    wait_for(STEP_LIMIT, || owners.0.holds_now() && fo.logged("started"))?;
    let steady_from = Instant::now();
    interrupt::sleep(STEADY)?;
    let probes = prober.probes();
    let steady: Vec<&Probe> = probes.iter().filter(|p| p.sent >= steady_from).collect();
    let answered = steady
        .iter()
        .filter(|p| p.answer.as_ref().is_some_and(|a| a.1 == "primary"))
        .count();
    writeln!(
        out,
        "\nsteady state, {} s: the primary serves; {} probes, {} answered by the primary \
         (it held {SERVICE} {} ms after heartbeatd started)",
        STEADY.as_secs(),
        steady.len(),
        answered,
        steady_from.duration_since(started).as_millis()
    )?;

    // The plug. Zero is when the primary's last cable lost its carrier, as
    // its own heartbeatd saw it (the two `ip` commands take a few ms each).
    writeln!(out, "\npulling the primary's plug (both cables)...")?;
    let cut_start = Instant::now();
    t.unplug(&t.primary, Net::Private)?;
    t.unplug(&t.primary, Net::Public)?;
    let cut_done = Instant::now();
    let _ = wait_for(Duration::from_secs(1), || {
        logged(&hb, cut_start, "pub0: carrier lost").is_some()
    });
    let priv_lost = logged(&hb, cut_start, "priv0: carrier lost");
    let pulled = logged(&hb, cut_start, "pub0: carrier lost").unwrap_or(cut_done);
    let took_over = wait_for(STEP_LIMIT, || {
        first_answer_from(&prober.probes(), "secondary", pulled).is_some()
    })
    .is_ok();
    interrupt::sleep(Duration::from_millis(500))?;
    let probes = prober.probes();
    let mut tl = Timeline::new(pulled);
    tl.add(
        priv_lost,
        "primary's private cable out (priv0 lost its carrier)",
    );
    tl.add(Some(pulled), "primary's public cable out: it is cut off");
    let last_primary = last_answer_from(&probes, "primary", pulled + Duration::from_millis(1));
    tl.add(last_primary, "client: last answer from the primary");
    tl.add(
        logged(&fo, pulled, "is silent on every network"),
        "failoverd: the primary is silent on every network (verdict)",
    );
    tl.add(
        logged(&fo, pulled, "added 192.0.2.10"),
        "failoverd: added 192.0.2.10 to pub0",
    );
    tl.add(
        capture.first_garp(&smac, pulled),
        "first gratuitous ARP from the secondary",
    );
    tl.add(
        logged(&fo, pulled, "PostAcq acquire"),
        "failoverd: PostAcq script ran",
    );
    tl.add(
        logged(&fo, pulled, "took over 192.0.2.10"),
        "failoverd: took over (mail sent)",
    );
    tl.add(
        logged(&hb, pulled, "dropped 192.0.2.10"),
        "heartbeatd (unplugged): no carrier anywhere, dropped 192.0.2.10",
    );
    let back = first_answer_from(&probes, "secondary", pulled);
    tl.add(back, "client: answered by the secondary");
    writeln!(out, "timeline, 0 = the primary's last cable out:\n{tl}")?;
    let takeover_outage = match (last_primary, back) {
        (Some(a), Some(b)) => {
            let d = b.saturating_duration_since(a);
            writeln!(
                out,
                "  the client went without an answer for {} ({} probes unanswered)",
                ms(d),
                lost_between(&probes, a, b)
            )?;
            Some(d)
        }
        _ => {
            writeln!(
                out,
                "  the secondary never served the client: TAKEOVER FAILED"
            )?;
            None
        }
    };

    // The plug back in.
    writeln!(out, "\nplugging the primary back in...")?;
    let plugged = Instant::now();
    t.plug(&t.primary, Net::Private)?;
    t.plug(&t.primary, Net::Public)?;
    let failed_back = wait_for(STEP_LIMIT, || {
        first_answer_from(&prober.probes(), "primary", plugged).is_some()
            && owners.0.holds_now()
            && !owners.1.holds_now()
    })
    .is_ok();
    interrupt::sleep(Duration::from_millis(500))?;
    let probes = prober.stop();
    let end = Instant::now();
    let mut tl = Timeline::new(plugged);
    tl.add(Some(plugged), "both cables back");
    tl.add(
        logged(&hb, plugged, "carrier back"),
        "heartbeatd: carrier back",
    );
    tl.add(
        logged(&fo, plugged, "PreRel release"),
        "failoverd: PreRel script ran",
    );
    tl.add(
        logged(&fo, plugged, "removed 192.0.2.10"),
        "failoverd: removed 192.0.2.10 from pub0",
    );
    tl.add(
        logged(&fo, plugged, "gave 192.0.2.10 back"),
        "failoverd: gave 192.0.2.10 back",
    );
    tl.add(
        logged(&hb, plugged, "added 192.0.2.10"),
        "heartbeatd: added 192.0.2.10 to pub0",
    );
    tl.add(
        capture.first_garp(&pmac, plugged),
        "first gratuitous ARP from the primary",
    );
    let last_secondary = last_answer_from(&probes, "secondary", end);
    tl.add(last_secondary, "client: last answer from the secondary");
    let home = first_answer_from(&probes, "primary", plugged);
    tl.add(home, "client: answered by the primary again");
    writeln!(out, "timeline, 0 = the plug:\n{tl}")?;
    let failback_outage = match (last_secondary, home) {
        (Some(a), Some(b)) => {
            let d = b.saturating_duration_since(a);
            writeln!(
                out,
                "  the client went without an answer for {} ({} probes unanswered)",
                ms(d),
                lost_between(&probes, a, b)
            )?;
            Some(d)
        }
        _ => {
            writeln!(
                out,
                "  the primary never served the client again: FAILBACK FAILED"
            )?;
            None
        }
    };
    let (p_held, s_held) = (owners.0.stop()?, owners.1.stop()?);
    let both = overlap(&p_held, &s_held, end);
    if both.is_zero() {
        writeln!(
            out,
            "  the address was never on both servers at once (sampled every {} ms over the whole run)",
            OWNERSHIP_PERIOD.as_millis()
        )?;
    } else {
        writeln!(
            out,
            "  OVERLAP: both servers had {SERVICE} for {}",
            ms(both)
        )?;
    }
    let runs = service_runs(&probes);
    let who: Vec<String> = runs
        .iter()
        .map(|r| format!("{} ({} answers)", r.0, r.3))
        .collect();
    writeln!(out, "  who served the client, in order: {}", who.join(", "))?;
    drop(capture);
    drop((hb, fo));
    Ok(Outcome {
        took_over,
        failed_back,
        overlap: both,
        takeover_outage,
        failback_outage,
    })
}
