//! The demo (README command 1): the lab network with the real daemons,
//! steady state, the primary's plug pulled (both cables), the takeover with
//! its timeline, the plug back in, and the failback without overlap, then
//! everything removed. It checks what it shows: the exit status says
//! whether the takeover and the zero-overlap failback happened.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::daemons::{Binaries, Profile, RunDir};
use crate::interrupt;
use crate::measure::{self, Rig};
use crate::netns::cleanup_stale;
use crate::observe::overlap;
use crate::service::{service_runs, Probe, Prober};
use crate::timeline::ms;
use crate::topology::{Topology, CLIENT_IP, SERVICE};

pub use crate::measure::OWNERSHIP_PERIOD;

/// How often the client probes the service.
pub const PROBE_PERIOD: Duration = Duration::from_millis(1);
/// The longest any step may take before the demo gives up.
pub const STEP_LIMIT: Duration = Duration::from_secs(20);
/// How long the steady state is shown.
pub const STEADY: Duration = Duration::from_secs(2);
/// How long the demo keeps watching after the client is served again
/// (the slower log lines: PostAcq, "took over", the mail).
pub const SETTLE: Duration = Duration::from_millis(500);

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

    let rig = Rig::start(&t, &bins, &run, &profile, &[], &[])?;
    let prober = Prober::start(&t.client, SERVICE, PROBE_PERIOD)?;

    // Steady state: the primary serves.
    let started = Instant::now();
    if !rig.wait_ready(STEP_LIMIT)? {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("not within {STEP_LIMIT:?}"),
        ));
    }
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
    let takeover = measure::pull_plug(&t, &rig, &prober, STEP_LIMIT, SETTLE)?;
    writeln!(
        out,
        "timeline, 0 = the primary's last cable out:\n{}",
        takeover.timeline()
    )?;
    let took_over = takeover.served();
    let takeover_outage = match takeover.outage() {
        Some(d) => {
            writeln!(
                out,
                "  the client went without an answer for {} ({} probes unanswered)",
                ms(d),
                takeover.lost_probes
            )?;
            Some(d)
        }
        None => {
            writeln!(
                out,
                "  the secondary never served the client: TAKEOVER FAILED"
            )?;
            None
        }
    };

    // The plug back in.
    writeln!(out, "\nplugging the primary back in...")?;
    let (failback, probes) = measure::plug_back(&t, &rig, prober, STEP_LIMIT, SETTLE)?;
    writeln!(out, "timeline, 0 = the plug:\n{}", failback.timeline())?;
    let failback_outage = match failback.outage() {
        Some(d) => {
            writeln!(
                out,
                "  the client went without an answer for {} ({} probes unanswered)",
                ms(d),
                failback.lost_probes
            )?;
            Some(d)
        }
        None => {
            writeln!(
                out,
                "  the primary never served the client again: FAILBACK FAILED"
            )?;
            None
        }
    };
    let Rig {
        owners,
        capture,
        hb,
        fo,
        responders,
        ..
    } = rig;
    let (p_held, s_held) = (owners.0.stop()?, owners.1.stop()?);
    let both = overlap(&p_held, &s_held, failback.end);
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
    drop(responders);
    Ok(Outcome {
        took_over,
        failed_back: failback.failed_back,
        overlap: both,
        takeover_outage,
        failback_outage,
    })
}
