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
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::daemons::{Binaries, Profile, RunDir};
use crate::holds::overlap;
use crate::interrupt;
use crate::measure::{self, Rig};
use crate::netns::cleanup_stale_reporting;
use crate::service::{service_runs, Probe, Prober};
use crate::timeline::ms;
use crate::topology::{Topology, CLIENT_IP, SERVICE};
use crate::witness::{self, WitnessNode, WITNESS_IP};

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

/// Boots the witness on the lab's private network and returns it with the
/// daemons' extra arguments (`--witness`, the key if the firmware has one;
/// `failoverd` also `--witness-policy required`).
fn start_witness(
    t: &Topology,
    elf: &Path,
    dir: &Path,
) -> io::Result<(WitnessNode, Vec<String>, Vec<String>)> {
    let mut node = WitnessNode::attach(t, elf, dir)?;
    node.power_on(t)?;
    let keys = witness::key_args();
    let mut hb = vec!["--witness".to_owned(), WITNESS_IP.to_string()];
    hb.extend(keys.iter().cloned());
    let mut fo = hb.clone();
    fo.extend(["--witness-policy".to_owned(), "required".to_owned()]);
    Ok((node, hb, fo))
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
    let firmware = match leave_out {
        Some(why) => Err(why),
        None => witness_firmware(),
    };
    let (mut witness, hb_extra, fo_extra) = match &firmware {
        Ok(elf) => {
            let (node, hb, fo) = start_witness(&t, elf, &run.path.join("witness"))?;
            writeln!(
                out,
                "  witness    {WITNESS_IP} (private only): the real firmware in QEMU (mps2-an385, \
                 LAN9118); failoverd may take over only with its grant (--witness-policy required)"
            )?;
            (Some(node), hb, fo)
        }
        Err(why) => {
            writeln!(
                out,
                "  no witness (left out: {why})\n  (running with the two servers only, as Apple's IP failover did)"
            )?;
            (None, Vec::new(), Vec::new())
        }
    };
    let hb_extra: Vec<&str> = hb_extra.iter().map(String::as_str).collect();
    let fo_extra: Vec<&str> = fo_extra.iter().map(String::as_str).collect();

    let rig = Rig::start(&t, &bins, &run, &profile, &hb_extra, &fo_extra)?;
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
    let beats = |ip| rig.private.heartbeats_from(ip, steady_from);
    let mut heard = format!(
        "  heartbeats on the private network: primary {}, secondary {}",
        beats(t.primary.private_ip),
        beats(t.secondary.private_ip)
    );
    if witness.is_some() {
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
    let takeover = measure::pull_plug(&t, &rig, &prober, STEP_LIMIT, SETTLE)?;
    writeln!(
        out,
        "timeline, 0 = the primary's last cable out:\n{}",
        takeover.timeline()
    )?;
    let took_over = takeover.served();
    let granted = takeover.granted.is_some();
    if witness.is_some() && !granted {
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
    if let Some(node) = witness.as_mut() {
        node.power_off(&t)?;
        let dir = run.path.join("witness");
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
