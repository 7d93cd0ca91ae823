//! The failover benchmark (`failover-lab bench`, issue 4): per heartbeat
//! profile,
//!
//! 1. a steady window without faults: each daemon's resident memory and
//!    CPU time (`/proc/<pid>/status` VmRSS, `/proc/<pid>/stat`
//!    utime + stime), and any false takeover;
//! 2. N runs of primary power loss (both of its switch ports down, as in
//!    the demo, then plugged back, waiting for the failback before the next
//!    run): the secondary's verdict, its first gratuitous ARP, and the
//!    client's first answer from the secondary, in ms after the primary's
//!    last cable lost its carrier; median, p95 and max;
//! 3. runs with random loss on every switch port (nftables, see
//!    [`crate::faults`]) and no real fault, counting false takeovers, with
//!    a fixed dead time of three intervals (Apple's rule) and with
//!    `--deadtime auto` (failoverd's default below 1 s intervals).
//!
//! The `fastest` profile first looks for the shortest interval the daemons
//! sustain: each candidate gets a loss-free run with the fixed dead time
//! (any scheduling stall of three intervals is a false takeover) and a run
//! at 10 % loss with `--deadtime auto` (the adaptive dead time absorbs the
//! statistics of the loss, so a false takeover there is the daemons not
//! keeping up); the shortest candidate with no false takeover in both wins,
//! and the search stops at the first that fails.
//!
//! Everything is written to a JSON file and an SVG picture of the recovery
//! times in the output directory, and printed as a table next to the
//! targets. Every wait is bounded and checks for Ctrl-C; every lab is a
//! [`crate::lab::Lab`] that removes itself.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use clap::ValueEnum;
use serde::Serialize;

use crate::daemons::{Binaries, Daemon, Profile};
use crate::faults::{self, Direction, Loss};
use crate::holds::{held_within, overlap_within};
use crate::interrupt;
use crate::lab::{Daemons, Lab, Owner, Place, Setup};
use crate::measure::{self, first_answer_from, poll, POLL_STEP};
use crate::netns::cleanup_stale_reporting;
use crate::service::Prober;
use crate::topology::SERVICE;

/// Target: the fast profile's median client-visible recovery, ms.
pub const TARGET_FAST_RECOVERY_MEDIAN_MS: f64 = 20.0;
/// Target: false takeovers at 30 % loss.
pub const TARGET_FALSE_TAKEOVERS_AT_30: u64 = 0;
/// Target: the backup's (`failoverd`'s) resident memory, kB.
pub const TARGET_BACKUP_RSS_KB: u64 = 2048;
/// The JSON file's format name.
pub const SCHEMA: &str = "failover-lab-bench/1";
/// The JSON file's name in the output directory.
pub const JSON_FILE: &str = "bench.json";
/// The picture's name in the output directory.
pub const SVG_FILE: &str = "recovery.svg";

/// How often the client probes the service during a failover run.
pub const PROBE_PERIOD: Duration = Duration::from_millis(1);
/// The longest any one step (a takeover, a failback, the lab coming up)
/// may take.
pub const STEP_LIMIT: Duration = Duration::from_secs(20);
/// How long a run keeps watching after the client is served again.
pub const SETTLE: Duration = Duration::from_millis(500);
/// How long the client must have been answered by the primary before the
/// plug is pulled.
pub const PRE_CUT: Duration = Duration::from_millis(200);
/// The longest a loss-free or 10 % run of the fastest-interval search lasts.
pub const SEARCH_SECONDS_MAX: u64 = 10;

/// A heartbeat profile of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileName {
    /// Apple-compatible: 1 s beats, 3 s dead time.
    Apple,
    /// 10 ms beats, 30 ms dead time.
    Fast,
    /// The shortest interval the daemons sustain (searched among the
    /// candidates).
    Fastest,
}

impl ProfileName {
    /// As on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Apple => "apple",
            ProfileName::Fast => "fast",
            ProfileName::Fastest => "fastest",
        }
    }

    /// Failover runs when `--runs` is not given: 3 at 1 s beats (each takes
    /// about ten seconds), else 10.
    pub fn default_runs(self) -> usize {
        match self {
            ProfileName::Apple => 3,
            ProfileName::Fast | ProfileName::Fastest => 10,
        }
    }
}

/// `failoverd`'s dead time in a loss run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeadtimeMode {
    /// Three intervals, fixed (Apple's rule; failoverd's default at 1 s
    /// beats and longer).
    Fixed,
    /// `--deadtime auto`: adapted to the measured loss.
    Auto,
}

impl DeadtimeMode {
    /// As on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadtimeMode::Fixed => "fixed",
            DeadtimeMode::Auto => "auto",
        }
    }

    fn apply(self, profile: &Profile) -> Profile {
        let mut p = profile.clone();
        p.deadtime = match self {
            DeadtimeMode::Fixed => Some((profile.interval_ms * 3).to_string()),
            DeadtimeMode::Auto => Some("auto".to_owned()),
        };
        p
    }
}

/// Which frames of each switch port the loss applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossWay {
    /// Into and out of every port: a frame between two hosts crosses two
    /// rules, so N % per port is 1 − (1 − N)² end to end.
    Both,
    /// Only frames entering the switch: exactly N % end to end.
    FromHost,
}

impl LossWay {
    /// As on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            LossWay::Both => "both",
            LossWay::FromHost => "from-host",
        }
    }

    fn direction(self) -> Direction {
        match self {
            LossWay::Both => Direction::Both,
            LossWay::FromHost => Direction::FromHost,
        }
    }

    /// The loss a heartbeat sees from the primary to the secondary on one
    /// network, in %, when every port drops `percent` %.
    pub fn end_to_end(self, percent: u8) -> f64 {
        let p = f64::from(percent) / 100.0;
        match self {
            LossWay::Both => (1.0 - (1.0 - p) * (1.0 - p)) * 100.0,
            LossWay::FromHost => p * 100.0,
        }
    }
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Failover runs per profile (`None`: [`ProfileName::default_runs`]).
    pub runs: Option<usize>,
    /// The profiles, in order.
    pub profiles: Vec<ProfileName>,
    /// Seconds of each loss run.
    pub loss_seconds: u64,
    /// Loss levels, % per port.
    pub loss_percents: Vec<u8>,
    /// Which frames of each port are dropped.
    pub loss_way: LossWay,
    /// `failoverd`'s dead time in the loss runs.
    pub deadtimes: Vec<DeadtimeMode>,
    /// `failoverd`'s dead time in the power-loss runs and the steady
    /// window.
    pub failover_deadtime: DeadtimeMode,
    /// Seconds of the steady window (memory, CPU).
    pub steady_seconds: u64,
    /// Intervals (ms) the fastest profile tries.
    pub fastest_candidates: Vec<u64>,
    /// Output directory (`None`: `target/lab-bench/<timestamp>/`).
    pub out: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            runs: None,
            profiles: vec![ProfileName::Apple, ProfileName::Fast, ProfileName::Fastest],
            loss_seconds: 30,
            loss_percents: vec![10, 20, 30],
            loss_way: LossWay::Both,
            deadtimes: vec![DeadtimeMode::Fixed, DeadtimeMode::Auto],
            failover_deadtime: DeadtimeMode::Fixed,
            steady_seconds: 10,
            fastest_candidates: vec![5, 3, 2],
            out: None,
        }
    }
}

impl Options {
    /// Checks the numbers; the message says which option is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.runs.is_some_and(|n| !(1..=1000).contains(&n)) {
            return Err("--runs: give 1 to 1000".to_owned());
        }
        if self.profiles.is_empty() {
            return Err("--profiles: give at least one of apple, fast, fastest".to_owned());
        }
        if !(1..=3600).contains(&self.loss_seconds) {
            return Err("--loss-seconds: give 1 to 3600".to_owned());
        }
        if self.loss_percents.iter().any(|p| *p > 100) {
            return Err("--loss: give percentages from 0 to 100".to_owned());
        }
        if !(1..=600).contains(&self.steady_seconds) {
            return Err("--steady-seconds: give 1 to 600".to_owned());
        }
        if self.fastest_candidates.is_empty()
            || self
                .fastest_candidates
                .iter()
                .any(|c| !(1..=1000).contains(c))
        {
            return Err("--fastest-candidates: give intervals from 1 to 1000 ms".to_owned());
        }
        Ok(())
    }

    /// Failover runs for `profile`.
    pub fn runs_for(&self, profile: ProfileName) -> usize {
        self.runs.unwrap_or_else(|| profile.default_runs())
    }
}

/// Median, 95th percentile and maximum (and minimum and mean) of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// How many values.
    pub n: usize,
    /// Smallest.
    pub min: f64,
    /// Median (the mean of the two middle values when `n` is even).
    pub median: f64,
    /// 95th percentile, nearest rank: the `⌈0.95·n⌉`-th smallest value
    /// (the maximum for n ≤ 19).
    pub p95: f64,
    /// Largest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// The statistics of the finite values of `values`; `None` if there are
/// none.
pub fn stats(values: &[f64]) -> Option<Stats> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    // Nearest rank, 1-based: ceil(0.95 n), in integers (no float rounding).
    let rank = (95 * n).div_ceil(100).clamp(1, n);
    Some(Stats {
        n,
        min: v[0],
        median,
        p95: v[rank - 1],
        max: v[n - 1],
        mean: v.iter().sum::<f64>() / n as f64,
    })
}

/// The JSON result file.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// When the benchmark started, UTC.
    pub started_utc: String,
    /// How long it took, seconds (so far, in a file written mid-run).
    pub duration_s: f64,
    /// Whether every profile was measured (`false` in files written
    /// mid-run).
    pub complete: bool,
    /// The command line.
    pub command: String,
    /// The machine.
    pub host: HostInfo,
    /// The options in force.
    pub options: OptionsReport,
    /// The fastest-interval search, if the fastest profile ran.
    pub fastest_search: Option<FastestSearch>,
    /// One entry per profile, in order.
    pub profiles: Vec<ProfileResult>,
    /// Each target, with what was measured against it.
    pub targets: Vec<TargetCheck>,
}

/// The machine the benchmark ran on.
#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    /// `uname -r`.
    pub kernel: String,
    /// CPUs available to the lab.
    pub cpus: usize,
    /// `/proc/loadavg` when the benchmark started: other work on the
    /// machine shows in the figures.
    pub load_at_start: String,
    /// `/proc/loadavg` when it ended.
    pub load_at_end: String,
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// [`Options`] as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct OptionsReport {
    /// Profiles, in order.
    pub profiles: Vec<&'static str>,
    /// `--runs`, if given.
    pub runs: Option<usize>,
    /// Seconds of each loss run.
    pub loss_seconds: u64,
    /// Loss levels, % per port.
    pub loss_percents: Vec<u8>,
    /// `both` or `from-host`.
    pub loss_direction: &'static str,
    /// `fixed`, `auto`.
    pub deadtimes: Vec<&'static str>,
    /// The power-loss runs' dead time: `fixed` or `auto`.
    pub failover_deadtime: &'static str,
    /// Seconds of the steady window.
    pub steady_seconds: u64,
    /// Intervals the fastest profile tries, ms.
    pub fastest_candidates: Vec<u64>,
}

impl OptionsReport {
    fn from(o: &Options) -> OptionsReport {
        OptionsReport {
            profiles: o.profiles.iter().map(|p| p.as_str()).collect(),
            runs: o.runs,
            loss_seconds: o.loss_seconds,
            loss_percents: o.loss_percents.clone(),
            loss_direction: o.loss_way.as_str(),
            deadtimes: o.deadtimes.iter().map(|d| d.as_str()).collect(),
            failover_deadtime: o.failover_deadtime.as_str(),
            steady_seconds: o.steady_seconds,
            fastest_candidates: o.fastest_candidates.clone(),
        }
    }
}

/// How the fastest profile's interval was chosen.
#[derive(Debug, Clone, Serialize)]
pub struct FastestSearch {
    /// The interval chosen, ms.
    pub chosen_ms: u64,
    /// Whether some candidate passed (else the longest is used anyway).
    pub sustained: bool,
    /// Each candidate tried, longest first.
    pub tried: Vec<Trial>,
}

/// One candidate of the fastest-interval search.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// The interval, ms.
    pub interval_ms: u64,
    /// The loss-free run, fixed dead time (three intervals).
    pub loss_free: LossResult,
    /// The 10 % run, `--deadtime auto`.
    pub loss_10: LossResult,
    /// No false takeover in either.
    pub passed: bool,
}

/// Everything measured for one profile.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileResult {
    /// `apple`, `fast` or `fastest`.
    pub name: &'static str,
    /// Heartbeat interval, ms.
    pub interval_ms: u64,
    /// The power-loss runs' dead time: three intervals, fixed, ms; `None`
    /// with `--failover-deadtime auto`.
    pub deadtime_ms: Option<u64>,
    /// The steady window: resources, false takeovers.
    pub steady: Steady,
    /// The primary power-loss runs.
    pub failover: Failover,
    /// The loss runs.
    pub loss: Vec<LossResult>,
}

/// A window without faults.
#[derive(Debug, Clone, Serialize)]
pub struct Steady {
    /// Its length, s.
    pub seconds: f64,
    /// Takeovers during it (none should happen).
    pub false_takeovers: u64,
    /// `heartbeatd` on the primary.
    pub heartbeatd: Usage,
    /// `failoverd` on the secondary (the backup).
    pub failoverd: Usage,
}

/// A daemon's resources over the steady window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Resident memory at the end (VmRSS), kB.
    pub rss_kb: u64,
    /// Peak resident memory (VmHWM), kB.
    pub rss_peak_kb: u64,
    /// CPU time (user + system) over the window, ms.
    pub cpu_ms: f64,
    /// Of that, user time, ms.
    pub user_ms: f64,
    /// CPU time as a share of one core over the window, %.
    pub cpu_percent: f64,
}

/// The primary power-loss runs of a profile.
#[derive(Debug, Clone, Serialize)]
pub struct Failover {
    /// Runs asked for.
    pub runs: usize,
    /// Runs in which the secondary served the client.
    pub took_over: usize,
    /// Runs in which the primary served alone again afterwards.
    pub failed_back: usize,
    /// Labs built (one, plus one after each failed failback).
    pub labs: usize,
    /// Verdict ("silent on every network"), ms after zero.
    pub verdict_ms: Option<Stats>,
    /// First gratuitous ARP from the secondary, ms after zero.
    pub first_garp_ms: Option<Stats>,
    /// Client-visible recovery: first answer from the secondary, ms after
    /// zero.
    pub recovery_ms: Option<Stats>,
    /// The client's outage: last answer from the primary to first from the
    /// secondary, ms.
    pub outage_ms: Option<Stats>,
    /// The client's outage at the failback, ms.
    pub failback_outage_ms: Option<Stats>,
    /// Time both servers held the address, over all runs, ms.
    pub overlap_ms: f64,
    /// Each run.
    pub samples: Vec<RunSample>,
}

/// One primary power-loss run. Times in ms after zero (the primary's last
/// cable losing its carrier); `None` when it did not happen.
#[derive(Debug, Clone, Serialize)]
pub struct RunSample {
    /// 1-based.
    pub run: usize,
    /// The private cable's carrier loss (before zero).
    pub priv_lost_ms: Option<f64>,
    /// The verdict.
    pub verdict_ms: Option<f64>,
    /// The address added on the secondary.
    pub added_ms: Option<f64>,
    /// The first gratuitous ARP from the secondary.
    pub first_garp_ms: Option<f64>,
    /// The client's first answer from the secondary.
    pub recovery_ms: Option<f64>,
    /// "took over" in the log.
    pub took_over_ms: Option<f64>,
    /// Last answer from the primary to first from the secondary, ms.
    pub outage_ms: Option<f64>,
    /// Probes unanswered in that outage.
    pub lost_probes: usize,
    /// The failback's outage, ms.
    pub failback_outage_ms: Option<f64>,
    /// The primary served alone again.
    pub failed_back: bool,
    /// Time both servers held the address during the run, ms.
    pub overlap_ms: f64,
}

/// One run with random loss and no real fault.
#[derive(Debug, Clone, Serialize)]
pub struct LossResult {
    /// Loss per port, %.
    pub percent: u8,
    /// `both` or `from-host`.
    pub direction: &'static str,
    /// The resulting loss from the primary to the secondary on each
    /// network, %.
    pub end_to_end_percent: f64,
    /// `default` or `auto`.
    pub deadtime: &'static str,
    /// How long the loss lasted, s.
    pub seconds: f64,
    /// `failoverd` took the address ("took over" logged), from the warm-up
    /// to the end of the settling after the loss.
    pub false_takeovers: u64,
    /// Verdicts ("silent on every network").
    pub verdicts: u64,
    /// "network anomaly" notices (one network silent: no takeover).
    pub anomalies: u64,
    /// Times the secondary's interface got the address (sampled).
    pub secondary_acquisitions: u64,
    /// How long the secondary held it, ms.
    pub secondary_held_ms: f64,
    /// How long both held it, ms.
    pub overlap_ms: f64,
    /// Frames the loss rules saw, over all ports.
    pub frames_seen: u64,
    /// Frames they dropped.
    pub frames_dropped: u64,
}

/// A target and what was measured against it.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    /// What is measured.
    pub name: String,
    /// The target, in words.
    pub target: String,
    /// The measurement, in words.
    pub measured: String,
    /// Met, missed, or `None` when it was not measured.
    pub met: Option<bool>,
}

/// Where the benchmark's files go.
#[derive(Debug, Clone)]
pub struct Files {
    /// The output directory.
    pub dir: PathBuf,
    /// Its JSON file.
    pub json: PathBuf,
    /// Its SVG picture.
    pub svg: PathBuf,
}

/// Runs the benchmark, printing progress and the final table to `out`.
pub fn run(opts: &Options, command: String, out: &mut impl Write) -> io::Result<(Report, Files)> {
    opts.check()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let t0 = Instant::now();
    let started = SystemTime::now();
    let dir = match &opts.out {
        Some(d) => d.clone(),
        None => default_out_dir(started),
    };
    fs::create_dir_all(&dir)?;
    let files = Files {
        json: dir.join(JSON_FILE),
        svg: dir.join(SVG_FILE),
        dir,
    };
    cleanup_stale_reporting(out)?;
    // Before anything is measured: the daemons must be there (each lab
    // finds them again).
    Binaries::find()?;
    if !opts.loss_percents.is_empty() && !opts.deadtimes.is_empty() {
        // Before anything is measured: loss needs nft (installed if missing).
        faults::ensure_nft()?;
    }
    let mut report = Report {
        schema: SCHEMA,
        started_utc: utc(started, false),
        duration_s: 0.0,
        complete: false,
        command,
        host: HostInfo {
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_at_start: loadavg(),
            load_at_end: String::new(),
        },
        options: OptionsReport::from(opts),
        fastest_search: None,
        profiles: Vec::new(),
        targets: Vec::new(),
    };
    writeln!(
        out,
        "failover benchmark: {} CPU(s), kernel {}, load {}; results in {}",
        report.host.cpus,
        report.host.kernel,
        report.host.load_at_start,
        files.dir.display()
    )?;
    let ctx = Ctx {
        logs: files.dir.join("logs"),
        opts: opts.clone(),
    };
    for name in &opts.profiles {
        let profile = match name {
            ProfileName::Apple => Profile::apple(),
            ProfileName::Fast => Profile::fast(),
            ProfileName::Fastest => {
                let search = search_fastest(&ctx, out)?;
                let ms = search.chosen_ms;
                report.fastest_search = Some(search);
                Profile::fixed("fastest", ms)
            }
        };
        let result = bench_profile(&ctx, *name, &profile, out)?;
        report.profiles.push(result);
        report.duration_s = t0.elapsed().as_secs_f64();
        report.targets = targets(&report);
        // After each profile, so an interrupted run keeps what it measured.
        write_json(&files.json, &report)?;
    }
    report.complete = true;
    report.duration_s = t0.elapsed().as_secs_f64();
    report.host.load_at_end = loadavg();
    report.targets = targets(&report);
    write_json(&files.json, &report)?;
    plot(&files.svg, &report)?;
    writeln!(out, "\n{}", summary(&report))?;
    writeln!(
        out,
        "written: {} and {}",
        files.json.display(),
        files.svg.display()
    )?;
    Ok((report, files))
}

/// What every part of the benchmark needs.
struct Ctx {
    logs: PathBuf,
    opts: Options,
}

/// Builds a lab, starts everything, waits until the primary serves and
/// `failoverd` has started, then lets the daemons warm up. The daemons run
/// at normal priority, as deployed by default: what is measured is what a
/// deployment gets.
fn start_lab(profile: &Profile, dir: &Path) -> io::Result<(Lab, Daemons)> {
    let mut lab = Lab::new(Setup {
        place: Place::Kept(dir.to_path_buf()),
        profile: profile.clone(),
        witness: None,
        real_time: false,
        client_when_steady: false,
        limit: STEP_LIMIT,
    })?;
    lab.capture_arp()?;
    lab.capture_protocol()?;
    let d = lab.start_daemons()?;
    if !measure::wait_ready(&lab, &d, STEP_LIMIT)? {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the lab did not come up within {STEP_LIMIT:?} (logs in {})",
                dir.display()
            ),
        ));
    }
    interrupt::sleep(warm_up(profile))?;
    Ok((lab, d))
}

/// How long the daemons run before anything is measured: two seconds, and
/// at least five heartbeats.
fn warm_up(profile: &Profile) -> Duration {
    Duration::from_secs(2).max(Duration::from_millis(profile.interval_ms * 5))
}

/// The rest between failover runs, after the failback: one second, and at
/// least five heartbeats.
fn rest(profile: &Profile) -> Duration {
    Duration::from_secs(1).max(Duration::from_millis(profile.interval_ms * 5))
}

fn bench_profile(
    ctx: &Ctx,
    name: ProfileName,
    profile: &Profile,
    out: &mut impl Write,
) -> io::Result<ProfileResult> {
    let runs = ctx.opts.runs_for(name);
    let mode = ctx.opts.failover_deadtime;
    let fixed_ms = (mode == DeadtimeMode::Fixed).then_some(profile.interval_ms * 3);
    let failover_profile = mode.apply(profile);
    let profile = &failover_profile;
    match fixed_ms {
        Some(ms) => writeln!(
            out,
            "\nprofile {}: heartbeats every {} ms, dead time {ms} ms (three intervals, fixed)",
            profile.name, profile.interval_ms
        )?,
        None => writeln!(
            out,
            "\nprofile {}: heartbeats every {} ms, dead time auto (adaptive)",
            profile.name, profile.interval_ms
        )?,
    }
    let dir = ctx.logs.join(profile.name);
    let mut labs = 1;
    let (mut lab, mut daemons) = start_lab(profile, &dir.join("failover-1"))?;
    let steady = steady_window(&daemons, Duration::from_secs(ctx.opts.steady_seconds))?;
    writeln!(
        out,
        "  steady {} s: heartbeatd {} kB RSS, {:.1} % CPU; failoverd {} kB RSS, {:.1} % CPU; \
         {} false takeover(s)",
        ctx.opts.steady_seconds,
        steady.heartbeatd.rss_kb,
        steady.heartbeatd.cpu_percent,
        steady.failoverd.rss_kb,
        steady.failoverd.cpu_percent,
        steady.false_takeovers
    )?;
    let mut samples = Vec::with_capacity(runs);
    for run in 1..=runs {
        let sample = failover_run(&lab, &daemons, run)?;
        writeln!(out, "  run {run}/{runs}: {}", describe(&sample))?;
        let failed_back = sample.failed_back;
        samples.push(sample);
        if run == runs {
            break;
        }
        if failed_back {
            interrupt::sleep(rest(profile))?;
        } else {
            // A lab that did not come back is replaced, not measured again.
            drop((lab, daemons));
            labs += 1;
            writeln!(
                out,
                "  (no clean failback: building a fresh lab for the next run)"
            )?;
            (lab, daemons) = start_lab(profile, &dir.join(format!("failover-{labs}")))?;
        }
    }
    drop((lab, daemons));
    let failover = summarise_runs(runs, labs, samples);
    let mut loss = Vec::new();
    for mode in &ctx.opts.deadtimes {
        for percent in &ctx.opts.loss_percents {
            let seconds = Duration::from_secs(ctx.opts.loss_seconds);
            let r = loss_run(
                ctx,
                &mode.apply(profile),
                *mode,
                *percent,
                seconds,
                &dir.join(format!("loss-{percent}-{}", mode.as_str())),
            )?;
            writeln!(out, "  {}", describe_loss(&r))?;
            loss.push(r);
        }
    }
    Ok(ProfileResult {
        name: profile.name,
        interval_ms: profile.interval_ms,
        deadtime_ms: fixed_ms,
        steady,
        failover,
        loss,
    })
}

/// CPU ticks (user, system), VmRSS and VmHWM (kB) of a process.
fn proc_usage(pid: u32) -> io::Result<(u64, u64, u64, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let (utime, stime) = parse_stat_times(&stat)
        .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat: cannot parse {stat:?}")))?;
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((utime, stime, kb("VmRSS:"), kb("VmHWM:")))
}

/// utime and stime (fields 14 and 15, clock ticks) of a `/proc/<pid>/stat`
/// line; the command name (field 2) may hold spaces and parentheses, so
/// the fields are counted after its last `)`.
pub fn parse_stat_times(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime = fields.next()?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// The CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let (utime, stime, _, _) = proc_usage(pid)?;
    Ok((utime + stime) as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}

/// Counts the lines of `failoverd` (`fo`) in `[from, to)` that contain
/// `needle` (not the mail lines that quote them).
fn count_lines(fo: &Daemon, from: Instant, to: Instant, needle: &str) -> u64 {
    fo.lines()
        .iter()
        .filter(|(t, l)| *t >= from && *t < to && l.contains(needle) && !l.contains("mailing"))
        .count() as u64
}

fn count_takeovers(fo: &Daemon, from: Instant, to: Instant) -> u64 {
    count_lines(fo, from, to, "took over 192.0.2.10")
}

fn steady_window(d: &Daemons, window: Duration) -> io::Result<Steady> {
    let pids = (d.hb.pid, d.fo.pid);
    let before = (proc_usage(pids.0)?, proc_usage(pids.1)?);
    let start = Instant::now();
    interrupt::sleep(window)?;
    let after = (proc_usage(pids.0)?, proc_usage(pids.1)?);
    let end = Instant::now();
    let seconds = end.duration_since(start).as_secs_f64();
    let hz = clock_ticks_per_second();
    let usage = |b: (u64, u64, u64, u64), a: (u64, u64, u64, u64)| {
        let user = a.0.saturating_sub(b.0) as f64 / hz * 1e3;
        let cpu = (a.0 + a.1).saturating_sub(b.0 + b.1) as f64 / hz * 1e3;
        Usage {
            rss_kb: a.2,
            rss_peak_kb: a.3,
            cpu_ms: cpu,
            user_ms: user,
            cpu_percent: cpu / (seconds * 1e3) * 100.0,
        }
    };
    Ok(Steady {
        seconds,
        false_takeovers: count_takeovers(&d.fo, start, end),
        heartbeatd: usage(before.0, after.0),
        failoverd: usage(before.1, after.1),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One primary power-loss run on a lab where the primary serves.
fn failover_run(lab: &Lab, d: &Daemons, run: usize) -> io::Result<RunSample> {
    let prober = Prober::start(&lab.t.client, SERVICE, PROBE_PERIOD)?;
    let since = Instant::now();
    let serving = poll(STEP_LIMIT, POLL_STEP, || {
        lab.owners.are(Owner::Primary)
            && first_answer_from(&prober.probes(), "primary", since).is_some()
    })?;
    if !serving {
        return Ok(RunSample {
            run,
            priv_lost_ms: None,
            verdict_ms: None,
            added_ms: None,
            first_garp_ms: None,
            recovery_ms: None,
            took_over_ms: None,
            outage_ms: None,
            lost_probes: 0,
            failback_outage_ms: None,
            failed_back: false,
            overlap_ms: 0.0,
        });
    }
    interrupt::sleep(PRE_CUT)?;
    let tk = measure::pull_plug(lab, d, &prober, STEP_LIMIT, SETTLE)?;
    let (fb, _probes) = measure::plug_back(lab, d, prober, STEP_LIMIT, SETTLE)?;
    let (p_held, s_held) = lab.owners.held();
    let both = overlap_within(&p_held, &s_held, tk.cut_start, fb.end);
    Ok(RunSample {
        run,
        priv_lost_ms: tk.ms(tk.priv_lost),
        verdict_ms: tk.ms(tk.verdict),
        added_ms: tk.ms(tk.added),
        first_garp_ms: tk.ms(tk.first_garp),
        recovery_ms: tk.ms(tk.back),
        took_over_ms: tk.ms(tk.took_over),
        outage_ms: tk.outage().map(ms),
        lost_probes: tk.lost_probes,
        failback_outage_ms: fb.outage().map(ms),
        failed_back: fb.failed_back,
        overlap_ms: ms(both),
    })
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{x:.1} ms"))
}

fn describe(s: &RunSample) -> String {
    let mut text = format!(
        "verdict {}, first GARP {}, client back {} (outage {}, {} probes lost)",
        opt_ms(s.verdict_ms),
        opt_ms(s.first_garp_ms),
        opt_ms(s.recovery_ms),
        opt_ms(s.outage_ms),
        s.lost_probes
    );
    if s.recovery_ms.is_none() {
        text.push_str(": NO TAKEOVER");
    }
    if s.failed_back {
        let _ = write!(text, "; failback outage {}", opt_ms(s.failback_outage_ms));
    } else {
        text.push_str("; NO CLEAN FAILBACK");
    }
    if s.overlap_ms > 0.0 {
        let _ = write!(text, "; OVERLAP {:.1} ms", s.overlap_ms);
    }
    text
}

fn summarise_runs(runs: usize, labs: usize, samples: Vec<RunSample>) -> Failover {
    let col = |f: fn(&RunSample) -> Option<f64>| -> Option<Stats> {
        stats(&samples.iter().filter_map(f).collect::<Vec<f64>>())
    };
    Failover {
        runs,
        took_over: samples.iter().filter(|s| s.recovery_ms.is_some()).count(),
        failed_back: samples.iter().filter(|s| s.failed_back).count(),
        labs,
        verdict_ms: col(|s| s.verdict_ms),
        first_garp_ms: col(|s| s.first_garp_ms),
        recovery_ms: col(|s| s.recovery_ms),
        outage_ms: col(|s| s.outage_ms),
        failback_outage_ms: col(|s| s.failback_outage_ms),
        overlap_ms: samples.iter().map(|s| s.overlap_ms).sum(),
        samples,
    }
}

/// A run with `percent` % loss on every switch port for `seconds` and no
/// real fault (0 %: no rule at all), on a fresh lab.
fn loss_run(
    ctx: &Ctx,
    profile: &Profile,
    mode: DeadtimeMode,
    percent: u8,
    seconds: Duration,
    dir: &Path,
) -> io::Result<LossResult> {
    let way = ctx.opts.loss_way;
    let from = Instant::now();
    let (lab, d) = start_lab(profile, dir)?;
    let ports = lab.t.switch_ports();
    let port_refs: Vec<&str> = ports.iter().map(String::as_str).collect();
    if percent > 0 {
        Loss::set_many(&lab.t.switch, &port_refs, way.direction(), percent)?;
    }
    let loss_start = Instant::now();
    interrupt::sleep(seconds)?;
    let (mut seen, mut dropped) = (0, 0);
    if percent > 0 {
        for port in &port_refs {
            let c = Loss::counts(&lab.t.switch, port, way.direction())?;
            seen += c.seen;
            dropped += c.dropped;
        }
        Loss::clear_all(&lab.t.switch)?;
    }
    let loss_end = Instant::now();
    // A verdict in the last moment still counts: wait for the primary to
    // serve alone again (bounded), and a few dead times more.
    poll(STEP_LIMIT, POLL_STEP, || lab.owners.are(Owner::Primary))?;
    interrupt::sleep(
        Duration::from_millis(500).max(Duration::from_millis(profile.interval_ms * 5)),
    )?;
    let end = Instant::now();
    let (p_held, s_held) = lab.owners.held();
    let (acquisitions, held) = held_within(&s_held, from, end);
    Ok(LossResult {
        percent,
        direction: way.as_str(),
        end_to_end_percent: way.end_to_end(percent),
        deadtime: mode.as_str(),
        seconds: loss_end.duration_since(loss_start).as_secs_f64(),
        false_takeovers: count_takeovers(&d.fo, from, end),
        verdicts: count_lines(&d.fo, from, end, "is silent on every network (links"),
        anomalies: count_lines(&d.fo, from, end, "network anomaly"),
        secondary_acquisitions: acquisitions,
        secondary_held_ms: ms(held),
        overlap_ms: ms(overlap_within(&p_held, &s_held, from, end)),
        frames_seen: seen,
        frames_dropped: dropped,
    })
}

fn describe_loss(r: &LossResult) -> String {
    let drop_share = if r.frames_seen > 0 {
        format!(
            ", {:.1} % of {} frames dropped",
            r.frames_dropped as f64 * 100.0 / r.frames_seen as f64,
            r.frames_seen
        )
    } else {
        String::new()
    };
    format!(
        "{} % loss per port ({}; {:.0} % end to end), dead time {}, {:.0} s: {} false takeover(s), \
         {} anomaly notice(s){}{}",
        r.percent,
        r.direction,
        r.end_to_end_percent,
        r.deadtime,
        r.seconds,
        r.false_takeovers,
        r.anomalies,
        drop_share,
        if r.overlap_ms > 0.0 {
            format!("; both held the address for {:.1} ms", r.overlap_ms)
        } else {
            String::new()
        }
    )
}

/// The fastest-interval search (see the module's documentation).
fn search_fastest(ctx: &Ctx, out: &mut impl Write) -> io::Result<FastestSearch> {
    let mut candidates = ctx.opts.fastest_candidates.clone();
    candidates.sort_unstable_by(|a, b| b.cmp(a));
    candidates.dedup();
    let seconds = Duration::from_secs(ctx.opts.loss_seconds.min(SEARCH_SECONDS_MAX));
    writeln!(
        out,
        "\nfastest: trying {} ms, each with a {} s loss-free run (fixed dead time) and a {} s \
         run at 10 % loss per port ({}, --deadtime auto); the shortest without a false takeover wins",
        candidates
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        seconds.as_secs(),
        seconds.as_secs(),
        ctx.opts.loss_way.as_str()
    )?;
    let mut tried = Vec::new();
    let mut chosen = None;
    for c in &candidates {
        let profile = Profile::fixed("fastest", *c);
        let dir = ctx.logs.join("fastest-search").join(format!("{c}ms"));
        let loss_free = loss_run(
            ctx,
            &profile,
            DeadtimeMode::Fixed,
            0,
            seconds,
            &dir.join("loss-free"),
        )?;
        let loss_10 = loss_run(
            ctx,
            &DeadtimeMode::Auto.apply(&profile),
            DeadtimeMode::Auto,
            10,
            seconds,
            &dir.join("loss-10-auto"),
        )?;
        let passed = loss_free.false_takeovers == 0 && loss_10.false_takeovers == 0;
        writeln!(
            out,
            "  {c} ms: {} false takeover(s) loss-free, {} at 10 %: {}",
            loss_free.false_takeovers,
            loss_10.false_takeovers,
            if passed { "sustained" } else { "NOT sustained" }
        )?;
        tried.push(Trial {
            interval_ms: *c,
            loss_free,
            loss_10,
            passed,
        });
        if !passed {
            break;
        }
        chosen = Some(*c);
    }
    let sustained = chosen.is_some();
    let chosen_ms = chosen.unwrap_or(candidates[0]);
    writeln!(
        out,
        "  fastest = {chosen_ms} ms{}",
        if sustained {
            ""
        } else {
            " (no candidate was sustained; measured anyway)"
        }
    )?;
    Ok(FastestSearch {
        chosen_ms,
        sustained,
        tried,
    })
}

/// The targets, checked against `report`.
pub fn targets(report: &Report) -> Vec<TargetCheck> {
    let mut v = Vec::new();
    let fast = report.profiles.iter().find(|p| p.name == "fast");
    let median = fast.and_then(|p| p.failover.recovery_ms.map(|s| s.median));
    v.push(TargetCheck {
        name: "fast profile: client-visible recovery, median".to_owned(),
        target: format!("≤ {TARGET_FAST_RECOVERY_MEDIAN_MS} ms"),
        measured: median.map_or_else(|| "not measured".to_owned(), |m| format!("{m:.1} ms")),
        met: median.map(|m| m <= TARGET_FAST_RECOVERY_MEDIAN_MS),
    });
    for p in &report.profiles {
        for r in p.loss.iter().filter(|r| r.percent == 30) {
            v.push(TargetCheck {
                name: format!(
                    "{}: false takeovers at 30 % loss ({}, dead time {}, {:.0} s)",
                    p.name, r.direction, r.deadtime, r.seconds
                ),
                target: format!("{TARGET_FALSE_TAKEOVERS_AT_30}"),
                measured: r.false_takeovers.to_string(),
                met: Some(r.false_takeovers == TARGET_FALSE_TAKEOVERS_AT_30),
            });
        }
    }
    for p in &report.profiles {
        let rss = p.steady.failoverd.rss_kb;
        v.push(TargetCheck {
            name: format!("{}: backup (failoverd) RSS", p.name),
            target: format!("≤ {} MB", TARGET_BACKUP_RSS_KB / 1024),
            measured: format!("{:.2} MB", rss as f64 / 1024.0),
            met: Some(rss <= TARGET_BACKUP_RSS_KB),
        });
    }
    v
}

fn met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not measured",
    }
}

fn triple(s: &Option<Stats>) -> String {
    s.map_or_else(
        || "—".to_owned(),
        |s| format!("{:.1} / {:.1} / {:.1}", s.median, s.p95, s.max),
    )
}

/// The readable table: failover times, loss runs, resources, targets.
pub fn summary(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "primary power loss (both cables pulled), ms after the primary's last cable lost its carrier,\n\
         median / p95 / max:"
    );
    let _ = writeln!(
        s,
        "  {:<8} {:>6} {:>6} {:>7}  {:<25} {:<25} {:<25} {:<25}",
        "profile", "beat", "dead", "runs", "verdict", "first GARP", "client back", "client outage"
    );
    for p in &r.profiles {
        let f = &p.failover;
        let _ = writeln!(
            s,
            "  {:<8} {:>4}ms {:>6} {:>7}  {:<25} {:<25} {:<25} {:<25}",
            p.name,
            p.interval_ms,
            p.deadtime_ms
                .map_or_else(|| "auto".to_owned(), |ms| format!("{ms}ms")),
            format!("{}/{}", f.took_over, f.runs),
            triple(&f.verdict_ms),
            triple(&f.first_garp_ms),
            triple(&f.recovery_ms),
            triple(&f.outage_ms),
        );
    }
    if let Some(fs) = &r.fastest_search {
        let tried: Vec<String> = fs
            .tried
            .iter()
            .map(|t| {
                format!(
                    "{} ms {} ({} loss-free, {} at 10 %)",
                    t.interval_ms,
                    if t.passed { "ok" } else { "failed" },
                    t.loss_free.false_takeovers,
                    t.loss_10.false_takeovers
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "  fastest: tried {}; chose {} ms",
            tried.join(", "),
            fs.chosen_ms
        );
    }
    let way = r.options.loss_direction;
    let _ = writeln!(
        s,
        "\nfalse takeovers with random loss on every switch port ({way}) and no real fault, {} s each:",
        r.options.loss_seconds
    );
    let mut header = format!("  {:<8} {:<9}", "profile", "dead time");
    for pct in &r.options.loss_percents {
        let e2e = match way {
            "both" => LossWay::Both.end_to_end(*pct),
            _ => LossWay::FromHost.end_to_end(*pct),
        };
        let _ = write!(header, " {:>16}", format!("{pct} % ({e2e:.0} % e2e)"));
    }
    let _ = writeln!(s, "{header}");
    for p in &r.profiles {
        for mode in &r.options.deadtimes {
            let mut line = format!("  {:<8} {:<9}", p.name, mode);
            for pct in &r.options.loss_percents {
                let cell = p
                    .loss
                    .iter()
                    .find(|l| l.percent == *pct && l.deadtime == *mode)
                    .map_or_else(|| "—".to_owned(), |l| l.false_takeovers.to_string());
                let _ = write!(line, " {cell:>16}");
            }
            let _ = writeln!(s, "{line}");
        }
    }
    let _ = writeln!(
        s,
        "\nthe daemons over a {} s window without faults (RSS at its end; CPU as a share of one \
         core), and any false takeover in it:",
        r.options.steady_seconds
    );
    let _ = writeln!(
        s,
        "  {:<8} {:>16} {:>16} {:>16} {:>16} {:>16}",
        "profile",
        "heartbeatd RSS",
        "heartbeatd CPU",
        "failoverd RSS",
        "failoverd CPU",
        "false takeovers"
    );
    for p in &r.profiles {
        let st = &p.steady;
        let _ = writeln!(
            s,
            "  {:<8} {:>13.2} MB {:>14.2} % {:>13.2} MB {:>14.2} % {:>16}",
            p.name,
            st.heartbeatd.rss_kb as f64 / 1024.0,
            st.heartbeatd.cpu_percent,
            st.failoverd.rss_kb as f64 / 1024.0,
            st.failoverd.cpu_percent,
            st.false_takeovers,
        );
    }
    let _ = writeln!(s, "\ntargets:");
    for t in &r.targets {
        let _ = writeln!(
            s,
            "  {:<6} {}: {} (target {})",
            met(t.met),
            t.name,
            t.measured,
            t.target
        );
    }
    let _ = write!(
        s,
        "the benchmark took {:.0} s (load average at its start: {})",
        r.duration_s, r.host.load_at_start
    );
    s
}

fn write_json(path: &Path, report: &Report) -> io::Result<()> {
    let text = serde_json::to_string_pretty(report).map_err(io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, text + "\n")?;
    fs::rename(&tmp, path)
}

/// The recovery times per profile as a strip plot (every run a dot;
/// a bar at the median), log-scale, with the verdict and the first GARP
/// next to the client's recovery.
pub fn plot(path: &Path, report: &Report) -> io::Result<()> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};

    let err = |e: &dyn std::fmt::Display| io::Error::other(format!("{}: {e}", path.display()));
    type Pick = fn(&RunSample) -> Option<f64>;
    let series: [(&str, Pick, RGBColor, f64); 3] = [
        (
            "verdict (failoverd)",
            |s| s.verdict_ms,
            RGBColor(31, 119, 180),
            -0.25,
        ),
        (
            "first gratuitous ARP",
            |s| s.first_garp_ms,
            RGBColor(44, 160, 44),
            0.0,
        ),
        (
            "client answered by the secondary",
            |s| s.recovery_ms,
            RGBColor(214, 39, 40),
            0.25,
        ),
    ];
    let n = report.profiles.len().max(1);
    let all: Vec<f64> = report
        .profiles
        .iter()
        .flat_map(|p| p.failover.samples.iter())
        .flat_map(|s| series.iter().filter_map(move |(_, f, _, _)| f(s)))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let lo = all
        .iter()
        .copied()
        .fold(TARGET_FAST_RECOVERY_MEDIAN_MS, f64::min)
        / 2.0;
    let hi = all
        .iter()
        .copied()
        .fold(TARGET_FAST_RECOVERY_MEDIAN_MS, f64::max)
        * 8.0; // headroom for the legend above the slowest profile
    let names: Vec<String> = report
        .profiles
        .iter()
        .map(|p| format!("{} ({} ms beats)", p.name, p.interval_ms))
        .collect();
    let root = SVGBackend::new(path, (960, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Primary power loss: times after its last cable lost its carrier",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, (lo..hi).log_scale())
        .map_err(|e| err(&e))?;
    // The profiles are categories: no x scale, a name under each column.
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("ms (log scale)")
        .y_label_formatter(&|y| format!("{y}"))
        .draw()
        .map_err(|e| err(&e))?;
    let name_style = TextStyle::from(("sans-serif", 15))
        .pos(Pos::new(HPos::Center, VPos::Bottom))
        .color(&BLACK);
    chart
        .draw_series(
            names.iter().enumerate().map(|(i, name)| {
                Text::new(name.clone(), (i as f64, lo * 1.08), name_style.clone())
            }),
        )
        .map_err(|e| err(&e))?;
    for (title, pick, color, offset) in series {
        let mut dots = Vec::new();
        let mut medians = Vec::new();
        for (i, p) in report.profiles.iter().enumerate() {
            let values: Vec<f64> = p.failover.samples.iter().filter_map(pick).collect();
            let k = values.len().max(1) as f64;
            for (j, v) in values.iter().enumerate() {
                // Spread the runs sideways so equal values stay visible.
                let x = i as f64 + offset + (j as f64 / k - 0.5) * 0.14;
                dots.push((x, v.max(lo)));
            }
            if let Some(st) = stats(&values) {
                medians.push((i as f64 + offset, st.median.max(lo), st.median));
            }
        }
        chart
            .draw_series(
                dots.iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, color.mix(0.7).filled())),
            )
            .map_err(|e| err(&e))?
            .label(title)
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
        chart
            .draw_series(medians.iter().map(|&(x, y, _)| {
                PathElement::new(vec![(x - 0.1, y), (x + 0.1, y)], color.stroke_width(3))
            }))
            .map_err(|e| err(&e))?;
        // The client's median, in figures, right of its bar.
        if offset > 0.0 {
            let style = TextStyle::from(("sans-serif", 13))
                .pos(Pos::new(HPos::Left, VPos::Center))
                .color(&color);
            chart
                .draw_series(medians.iter().map(|&(x, y, m)| {
                    Text::new(format!("{m:.1} ms"), (x + 0.11, y), style.clone())
                }))
                .map_err(|e| err(&e))?;
        }
    }
    if let Some(i) = report.profiles.iter().position(|p| p.name == "fast") {
        let x = i as f64;
        let y = TARGET_FAST_RECOVERY_MEDIAN_MS;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x - 0.45, y), (x + 0.45, y)],
                BLACK.mix(0.6).stroke_width(1),
            )))
            .map_err(|e| err(&e))?
            .label("target: fast median recovery ≤ 20 ms (bars: medians)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.6)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// `target/lab-bench/<timestamp>/`, in the cargo target directory the
/// running program was built in when it can tell, else in the current
/// directory.
fn default_out_dir(now: SystemTime) -> PathBuf {
    let stamp = utc(now, true);
    let target = std::env::current_exe().ok().and_then(|exe| {
        let profile_dir = exe.parent()?;
        let target = profile_dir.parent()?;
        (target.file_name()? == "target").then(|| target.to_path_buf())
    });
    target
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("lab-bench")
        .join(stamp)
}

/// `t` as UTC, `2026-11-23T17:05:09Z`, or `20261123T170509Z` for a file
/// name: the daemons' own log timestamp without its milliseconds.
pub fn utc(t: SystemTime, compact: bool) -> String {
    let full = failover_host::notify::log::utc_timestamp(t);
    let seconds = full.split('.').next().unwrap_or(&full);
    if compact {
        seconds
            .chars()
            .filter(|c| !matches!(c, '-' | ':'))
            .collect::<String>()
            + "Z"
    } else {
        format!("{seconds}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn statistics_of_odd_even_and_tiny_samples() {
        assert_eq!(stats(&[]), None);
        assert_eq!(stats(&[f64::NAN]), None);
        let s = stats(&[3.0]).unwrap();
        assert_eq!(
            (s.n, s.min, s.median, s.p95, s.max),
            (1, 3.0, 3.0, 3.0, 3.0)
        );
        let s = stats(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.median, s.p95, s.max, s.min), (3.0, 5.0, 5.0, 1.0));
        assert_eq!(s.mean, 3.0);
        let s = stats(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert_eq!(s.p95, 4.0);
        // Non-finite values are left out.
        let s = stats(&[1.0, f64::INFINITY, 2.0]).unwrap();
        assert_eq!((s.n, s.max), (2, 2.0));
    }

    #[test]
    fn p95_is_the_nearest_rank() {
        // 1..=100: the 95th smallest is 95.
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = stats(&v).unwrap();
        assert_eq!((s.median, s.p95, s.max), (50.5, 95.0, 100.0));
        // 20 values: rank 19.
        let v: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(stats(&v).unwrap().p95, 19.0);
        // 10 values (the default run count): the maximum.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(stats(&v).unwrap().p95, 10.0);
        // 21 values: rank ceil(19.95) = 20.
        let v: Vec<f64> = (1..=21).map(f64::from).collect();
        assert_eq!(stats(&v).unwrap().p95, 20.0);
    }

    #[test]
    fn stat_line_fields() {
        let line = "4242 (failoverd (x) y) S 1 4242 4242 0 -1 4194560 161 0 0 0 \
                    1234 567 0 0 20 0 1 0 100 3000000 800 18446744073709551615";
        assert_eq!(parse_stat_times(line), Some((1234, 567)));
        assert_eq!(parse_stat_times("garbage"), None);
        assert_eq!(parse_stat_times("1 (x) S 1 2"), None);
    }

    #[test]
    fn end_to_end_loss() {
        assert!((LossWay::Both.end_to_end(30) - 51.0).abs() < 1e-9);
        assert!((LossWay::FromHost.end_to_end(30) - 30.0).abs() < 1e-9);
        assert_eq!(LossWay::Both.end_to_end(0), 0.0);
    }

    #[test]
    fn utc_formatting() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_453_509);
        assert_eq!(utc(t, false), "2026-11-23T17:05:09Z");
        assert_eq!(utc(t, true), "20261123T170509Z");
        assert_eq!(utc(UNIX_EPOCH, false), "1970-01-01T00:00:00Z");
        // A leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(t, false), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(Options::default().check(), Ok(()));
        let bad = [
            Options {
                runs: Some(0),
                ..Options::default()
            },
            Options {
                profiles: vec![],
                ..Options::default()
            },
            Options {
                loss_seconds: 0,
                ..Options::default()
            },
            Options {
                loss_percents: vec![101],
                ..Options::default()
            },
            Options {
                fastest_candidates: vec![0],
                ..Options::default()
            },
        ];
        for o in bad {
            assert!(o.check().is_err(), "{o:?}");
        }
        let o = Options::default();
        assert_eq!(o.runs_for(ProfileName::Apple), 3);
        assert_eq!(o.runs_for(ProfileName::Fast), 10);
        let o = Options {
            runs: Some(1),
            ..Options::default()
        };
        assert_eq!(o.runs_for(ProfileName::Apple), 1);
    }

    fn sample(run: usize, recovery: f64) -> RunSample {
        RunSample {
            run,
            priv_lost_ms: Some(-4.5),
            verdict_ms: Some(recovery - 2.0),
            added_ms: Some(recovery - 1.5),
            first_garp_ms: Some(recovery - 0.5),
            recovery_ms: Some(recovery),
            took_over_ms: Some(recovery + 7.0),
            outage_ms: Some(recovery + 0.5),
            lost_probes: 20,
            failback_outage_ms: Some(11.0),
            failed_back: true,
            overlap_ms: 0.0,
        }
    }

    fn loss(percent: u8, deadtime: &'static str, false_takeovers: u64) -> LossResult {
        LossResult {
            percent,
            direction: "both",
            end_to_end_percent: LossWay::Both.end_to_end(percent),
            deadtime,
            seconds: 30.0,
            false_takeovers,
            verdicts: false_takeovers,
            anomalies: 3,
            secondary_acquisitions: false_takeovers,
            secondary_held_ms: 0.0,
            overlap_ms: 0.0,
            frames_seen: 1000,
            frames_dropped: 300,
        }
    }

    fn profile(name: &'static str, interval_ms: u64, recoveries: &[f64]) -> ProfileResult {
        let samples = recoveries
            .iter()
            .enumerate()
            .map(|(i, r)| sample(i + 1, *r))
            .collect();
        let usage = Usage {
            rss_kb: 3100,
            rss_peak_kb: 3200,
            cpu_ms: 200.0,
            user_ms: 50.0,
            cpu_percent: 2.0,
        };
        ProfileResult {
            name,
            interval_ms,
            deadtime_ms: Some(interval_ms * 3),
            steady: Steady {
                seconds: 10.0,
                false_takeovers: 0,
                heartbeatd: usage,
                failoverd: Usage {
                    rss_kb: 1900,
                    ..usage
                },
            },
            failover: summarise_runs(recoveries.len(), 1, samples),
            loss: vec![
                loss(10, "fixed", 0),
                loss(30, "fixed", 4),
                loss(10, "auto", 0),
                loss(30, "auto", 0),
            ],
        }
    }

    fn report() -> Report {
        let options = Options {
            loss_percents: vec![10, 30],
            ..Options::default()
        };
        let mut r = Report {
            schema: SCHEMA,
            started_utc: utc(UNIX_EPOCH, false),
            duration_s: 812.0,
            complete: true,
            command: "failover-lab bench".to_owned(),
            host: HostInfo {
                kernel: "6.1.0".to_owned(),
                cpus: 2,
                load_at_start: "0.10 0.20 0.30 1/100 1000".to_owned(),
                load_at_end: String::new(),
            },
            options: OptionsReport::from(&options),
            fastest_search: None,
            profiles: vec![
                profile("apple", 1000, &[3020.0, 3010.0, 3030.0]),
                profile("fast", 10, &[22.5, 21.0, 19.0, 30.0]),
            ],
            targets: Vec::new(),
        };
        r.targets = targets(&r);
        r
    }

    #[test]
    fn json_shape() {
        let v: serde_json::Value = serde_json::to_value(report()).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        for key in [
            "started_utc",
            "duration_s",
            "complete",
            "command",
            "host",
            "options",
            "fastest_search",
            "profiles",
            "targets",
        ] {
            assert!(v.get(key).is_some(), "{key} missing: {v}");
        }
        let fast = &v["profiles"][1];
        assert_eq!(fast["name"], "fast");
        assert_eq!(fast["interval_ms"], 10);
        let rec = &fast["failover"]["recovery_ms"];
        for key in ["n", "min", "median", "p95", "max", "mean"] {
            assert!(rec[key].is_number(), "{key}: {rec}");
        }
        assert_eq!(rec["median"], 21.75);
        assert_eq!(rec["max"], 30.0);
        assert_eq!(fast["failover"]["samples"][0]["recovery_ms"], 22.5);
        assert!(fast["failover"]["verdict_ms"]["p95"].is_number());
        assert!(fast["failover"]["first_garp_ms"]["median"].is_number());
        assert_eq!(fast["loss"][1]["percent"], 30);
        assert_eq!(fast["loss"][1]["false_takeovers"], 4);
        assert_eq!(fast["loss"][1]["deadtime"], "fixed");
        assert_eq!(fast["steady"]["failoverd"]["rss_kb"], 1900);
        assert!(fast["steady"]["heartbeatd"]["cpu_percent"].is_number());
        let targets = v["targets"].as_array().unwrap();
        assert_eq!(targets[0]["met"], false);
        assert_eq!(targets[0]["measured"], "21.8 ms");
        assert!(targets
            .iter()
            .any(|t| t["name"].as_str().unwrap().contains("dead time auto") && t["met"] == true));
        assert!(targets
            .iter()
            .any(|t| t["name"].as_str().unwrap().contains("RSS") && t["met"] == true));
    }

    #[test]
    fn table_shows_figures_next_to_targets() {
        let text = summary(&report());
        for needle in [
            "21.8 / 30.0 / 30.0",
            "30 % (51 % e2e)",
            "MISSED fast profile: client-visible recovery, median: 21.8 ms (target ≤ 20 ms)",
            "met    fast: false takeovers at 30 % loss (both, dead time auto, 30 s): 0 (target 0)",
            "MISSED fast: false takeovers at 30 % loss (both, dead time fixed, 30 s): 4",
            "met    fast: backup (failoverd) RSS: 1.86 MB (target ≤ 2 MB)",
            "the benchmark took 812 s",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }

    #[test]
    fn picture_is_an_svg_with_every_profile() {
        let dir = std::env::temp_dir().join(format!("failover-bench-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(SVG_FILE);
        plot(&path, &report()).unwrap();
        let svg = fs::read_to_string(&path).unwrap();
        let _ = fs::remove_dir_all(&dir);
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.contains("apple (1000 ms beats)"), "profile labels");
        assert!(svg.contains("fast (10 ms beats)"));
        assert!(svg.contains("client answered by the secondary"), "legend");
        // 7 runs, three markers each, plus three legend markers.
        assert!(svg.matches("<circle").count() >= 21, "dots");
    }
}
