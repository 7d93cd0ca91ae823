//! The demo (README command 1): the lab network with the real daemons,
//! steady state, the primary's plug pulled (both cables), the takeover with
//! its timeline, the plug back in, and the failback without overlap, then
//! everything removed. It checks what it shows: the exit status says
//! whether the takeover and the zero-overlap failback happened.
//!
//! With the witness (the default when its firmware is built and QEMU is
//! installed, as `./demo.sh` arranges), the real firmware boots in QEMU on
//! the private network, both daemons name it, `failoverd` runs with
//! `--witness-policy required`, and the takeover's timeline shows the
//! secondary's request and the witness's grant as captured on the wire: the
//! demo then also requires that grant. Without it (its firmware not built,
//! QEMU missing, `--no-witness`) the demo shows the two servers only and
//! keeps the reason in [`Outcome::witness_left_out`], for its final line.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::daemons::Profile;
use crate::holds::overlap;
use crate::interrupt;
use crate::lab::{Lab, Place, Setup};
use crate::measure;
use crate::netns::cleanup_stale_reporting;
use crate::service::{service_runs, Probe, Prober};
use crate::timeline::ms;
use crate::topology::{CLIENT_IP, PUBLIC_IF, SERVICE};
use crate::witness::{self, WITNESS_IP};

/// How often address ownership is sampled.
pub use crate::lab::PERIOD as OWNERSHIP_PERIOD;

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
    /// Why the witness was left out; `None` when it took part.
    pub witness_left_out: Option<String>,
    /// The witness granted the takeover (seen on the private network).
    pub granted: bool,
}

impl Outcome {
    /// Whether the demo showed what it promises.
    pub fn ok(&self) -> bool {
        self.took_over
            && self.failed_back
            && self.overlap.is_zero()
            && (self.granted || self.witness_left_out.is_some())
    }
}

/// The witness firmware to boot, or why there is none: QEMU missing, or
/// the ELF not built.
pub fn witness_firmware() -> Result<PathBuf, String> {
    if !witness::on_path(witness::QEMU) {
        return Err(format!(
            "{} is not installed (scripts/firmware.sh installs it and builds the firmware)",
            witness::QEMU
        ));
    }
    witness::find_elf().map_err(|e| e.to_string())
}

/// Runs the demo, printing to `out`. The run's logs stay in `run_dir`.
///
/// `leave_out`: why to run without the witness, or `None` to boot it if its
/// firmware and QEMU are there (without them the demo says why and runs with
/// the two servers only).
pub fn run(
    out: &mut impl Write,
    run_dir: PathBuf,
    leave_out: Option<String>,
) -> io::Result<Outcome> {
    let profile = Profile::fast();
    cleanup_stale_reporting(out)?;
    let firmware = match leave_out {
        Some(why) => Err(why),
        None => witness_firmware(),
    };

    writeln!(
        out,
        "building the lab network (network namespaces; documentation addresses only):"
    )?;
    // The demo shows the daemons as deployed by default: normal priority.
    let mut lab = Lab::new(Setup {
        place: Place::Kept(run_dir),
        profile: profile.clone(),
        witness: firmware.as_ref().ok().cloned(),
        real_time: false,
        client_when_steady: false,
        limit: STEP_LIMIT,
        public_if: PUBLIC_IF,
    })?;
    lab.srun.script(
        "PostAcq_demo",
        "echo \"PostAcq $1 $2: the secondary would start the service here\"\n",
    )?;
    lab.srun.script(
        "PreRel_demo",
        "echo \"PreRel $1 $2: the secondary would stop the service here\"\n",
    )?;
    let t = &lab.t;
    let (pmac, smac) = &lab.macs;
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
    if let Some(node) = lab.witness.as_mut() {
        node.power_on(&lab.t)?;
        writeln!(
            out,
            "  witness    {WITNESS_IP} (private only): the real firmware in QEMU (mps2-an385, \
             LAN9118); failoverd may take over only with its grant (--witness-policy required)"
        )?;
    } else if let Err(why) = &firmware {
        writeln!(
            out,
            "  no witness (left out: {why})\n  (running with the two servers only, as Apple's IP failover did)"
        )?;
    }

    lab.capture_arp()?;
    lab.capture_protocol()?;
    let daemons = lab.start_daemons()?;
    let prober = Prober::start(&lab.t.client, SERVICE, PROBE_PERIOD)?;

    // Steady state: the primary serves.
    let started = Instant::now();
    if !measure::wait_ready(&lab, &daemons, STEP_LIMIT)? {
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
    let beats = |ip| {
        lab.protocol
            .as_ref()
            .map_or(0, |c| c.heartbeats_from(ip, steady_from))
    };
    let mut heard = format!(
        "  heartbeats on the private network: primary {}, secondary {}",
        beats(lab.t.primary.private_ip),
        beats(lab.t.secondary.private_ip)
    );
    if lab.witness.is_some() {
        let from_witness = beats(WITNESS_IP);
        heard.push_str(&format!(", witness {from_witness}"));
        if from_witness == 0 {
            heard.push_str(" (THE WITNESS IS SILENT: see its log in the run directory)");
        }
    }
    writeln!(out, "{heard}")?;

    // The plug. Zero is when the primary's last cable lost its carrier, as
    // its own heartbeatd saw it (the two `ip` commands take a few ms each).
    writeln!(out, "\npulling the primary's plug (both cables)...")?;
    let takeover = measure::pull_plug(&lab, &daemons, &prober, STEP_LIMIT, SETTLE)?;
    writeln!(
        out,
        "timeline, 0 = the primary's last cable out:\n{}",
        takeover.timeline()
    )?;
    let took_over = takeover.served();
    let granted = takeover.granted.is_some();
    if lab.witness.is_some() && !granted {
        writeln!(
            out,
            "  the witness's grant was not seen on the private network: WITNESS FAILED"
        )?;
    }
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
    let (failback, probes) = measure::plug_back(&lab, &daemons, prober, STEP_LIMIT, SETTLE)?;
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
    let (p_held, s_held) = lab.owners.held();
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
    let dir = lab.dir().join("witness");
    if let Some(node) = lab.witness.as_mut() {
        node.power_off(&lab.t)?;
        if node.decode_logs().is_some() {
            writeln!(
                out,
                "  the witness's own log (defmt, decoded): {}",
                dir.join("witness-boot1.log").display()
            )?;
        } else {
            writeln!(
                out,
                "  the witness's log is kept raw (defmt) in {}: decode it with \
                 `defmt-print -e <firmware ELF> < witness-boot1.defmt` (cargo install defmt-print --locked)",
                dir.display()
            )?;
        }
    }
    Ok(Outcome {
        took_over,
        failed_back: failback.failed_back,
        overlap: both,
        takeover_outage,
        failback_outage,
        witness_left_out: firmware.err(),
        granted,
    })
}
