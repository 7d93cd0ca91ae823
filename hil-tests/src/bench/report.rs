//! The benchmark's result, as written to its JSON file: the host, the
//! options, each profile's steady window, failover runs, planned
//! switchovers and loss runs, the fastest-interval search and the targets.

use std::fs;
use std::path::PathBuf;

use serde::Serialize;

use super::{Options, Stats};

/// The JSON result file.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA`](super::SCHEMA).
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

/// The load average now, as `/proc/loadavg` gives it (for the report's
/// host).
pub(super) fn loadavg() -> String {
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
    /// Whether the daemons and keepalived ran at real-time priority.
    pub real_time: bool,
}

impl OptionsReport {
    /// The report's copy of `o`.
    pub(super) fn from(o: &Options) -> OptionsReport {
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
            real_time: o.real_time,
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
    /// With `--failover-deadtime auto`: how long `failoverd`'s adaptive
    /// dead time took to reach two intervals and its grace; `None` with a
    /// fixed one, or when it did not within the limit.
    pub warm_up: Option<WarmUp>,
    /// The steady window: resources, false takeovers.
    pub steady: Steady,
    /// The primary power-loss runs.
    pub failover: Failover,
    /// The planned switchovers (`heartbeatd --handover`) and the reclaims
    /// after them (`--reclaim`).
    pub switchover: Switchover,
    /// The loss runs.
    pub loss: Vec<LossResult>,
    /// keepalived at the same interval, measured the same way.
    pub keepalived: Option<super::keepalived::Reference>,
    /// Why keepalived was not measured, when it was not.
    pub keepalived_skipped: Option<String>,
}

/// An adaptive dead time's warm-up, from `failoverd`'s start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WarmUp {
    /// Until the dead time first read under three intervals (two, and the
    /// grace for late heartbeats), s.
    pub seconds: f64,
    /// The dead time then, ms.
    pub dead_time_ms: f64,
}

/// A window without faults.
#[derive(Debug, Clone, Serialize)]
pub struct Steady {
    /// Its length, s.
    pub seconds: f64,
    /// Takeovers during it (none should happen).
    pub false_takeovers: u64,
    /// Times the primary found it had not run for two intervals and let
    /// go of the address (the stall rule; none should happen): each is an
    /// outage for the client, with or without a takeover.
    pub stalls: u64,
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
    /// Of the resident memory at the end, anonymous pages (heap, stacks;
    /// RssAnon), kB.
    pub rss_anon_kb: u64,
    /// And file-backed pages (the binary's text, the C library; RssFile),
    /// kB: shared with every process that maps the same files.
    pub rss_file_kb: u64,
    /// Proportional set size at the end, kB: shared pages divided among
    /// the processes that map them (the C library counts for a sliver).
    pub pss_kb: u64,
    /// CPU time (user + system) over the window, ms: on-CPU time from
    /// schedstat where the kernel has it, clock ticks otherwise.
    pub cpu_ms: f64,
    /// Of that, user time, ms.
    pub user_ms: f64,
    /// CPU time as a share of one core over the window, %.
    pub cpu_percent: f64,
    /// Context switches (wake-ups, mostly) per heartbeat interval.
    pub wakeups_per_interval: f64,
    /// System calls per heartbeat interval, counted by `strace -c` in a
    /// window of their own (`None` without strace).
    pub syscalls_per_interval: Option<f64>,
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
    /// `failoverd`'s dead time just before the cut, as its status gave it,
    /// ms.
    pub dead_time_ms: Option<f64>,
}

/// The planned switchover runs of a profile: each from the steady state
/// (the primary serving the client), `heartbeatd --handover` until the
/// secondary serves, then `heartbeatd --reclaim` until the primary serves
/// again, on the lab of the last power-loss run (a fresh one if that did
/// not fail back).
#[derive(Debug, Clone, Serialize)]
pub struct Switchover {
    /// Runs asked for (as many as the power-loss runs).
    pub runs: usize,
    /// Labs built for them (the power-loss runs' last one counts as one
    /// when it is reused; one more after each run that did not end with
    /// the primary serving).
    pub labs: usize,
    /// Runs that ended with the primary serving the client, alone holding
    /// the address.
    pub back: usize,
    /// The handovers.
    pub handover: MoveStats,
    /// The reclaims.
    pub reclaim: MoveStats,
    /// Each run.
    pub samples: Vec<SwitchoverSample>,
}

/// One kind of move (the handovers, or the reclaims) over every run. The
/// statistics are of the moves that completed; the overlap is over all.
#[derive(Debug, Clone, Serialize)]
pub struct MoveStats {
    /// Commands run (a reclaim is asked only after a handover the
    /// secondary served).
    pub asked: usize,
    /// Commands that exited 0 with the client then served by the other
    /// server, which alone held the address.
    pub completed: usize,
    /// The client's longest gap around the move, ms.
    pub gap_ms: Option<Stats>,
    /// The client's first answer from the other server, ms after the
    /// command was started.
    pub served_ms: Option<Stats>,
    /// How long the command ran, ms (it follows the move through the
    /// daemon's status every 100 ms, so it ends up to 100 ms after the
    /// move did).
    pub command_ms: Option<Stats>,
    /// Time both servers held the address, over all the moves, ms.
    pub overlap_ms: f64,
    /// Moves in which both servers held the address at some time.
    pub overlapping: usize,
}

/// One planned switchover run.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchoverSample {
    /// 1-based.
    pub run: usize,
    /// The primary served the client before the handover (else nothing
    /// was asked).
    pub primary_served_before: bool,
    /// `heartbeatd --handover`; `None` if not asked.
    pub handover: Option<MoveSample>,
    /// `heartbeatd --reclaim`; `None` if not asked (the secondary did not
    /// serve after the handover).
    pub reclaim: Option<MoveSample>,
    /// The primary served the client, alone holding the address, at the
    /// end.
    pub back: bool,
}

/// One operator command and what followed it.
#[derive(Debug, Clone, Serialize)]
pub struct MoveSample {
    /// The command's exit status (`None`: it was killed, or could not be
    /// run).
    pub exit_code: Option<i32>,
    /// What it printed (trimmed, at most 400 characters).
    pub output: String,
    /// How long it ran, ms.
    pub command_ms: f64,
    /// The other server answered the client and alone held the address
    /// within the step limit.
    pub served: bool,
    /// The client's first answer from the other server, ms after the
    /// command was started.
    pub served_ms: Option<f64>,
    /// The client's longest gap from the command's start to the end of the
    /// settling after the move, ms; `None` when the other server never
    /// served.
    pub gap_ms: Option<f64>,
    /// Probes unanswered in that time.
    pub lost_probes: usize,
    /// Time both servers held the address, from the command's start to the
    /// next command (or the run's end), ms.
    pub overlap_ms: f64,
    /// Exit status 0 and `served`.
    pub completed: bool,
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
