//! The failover benchmark (`failover-lab bench`): per heartbeat
//! profile,
//!
//! 1. a steady window without faults: each daemon's resident memory,
//!    anonymous and file-backed (`/proc/<pid>/status`), CPU time (on-CPU
//!    nanoseconds from `/proc/<pid>/task/*/schedstat`), wake-ups
//!    (voluntary context switches) and, in a window of its own, system
//!    calls (`strace -c`, when installed), and any false takeover;
//! 2. N runs of primary power loss (both of its switch ports down, as in
//!    the demo, then plugged back, waiting for the failback before the next
//!    run): the secondary's verdict, its first gratuitous ARP, and the
//!    client's first answer from the secondary, in ms after the primary's
//!    last cable lost its carrier; median, p95 and max;
//! 3. as many planned switchovers: from the steady state,
//!    `heartbeatd --handover` until the secondary serves the client, then
//!    `heartbeatd --reclaim` until the primary does again, each command
//!    run against the running daemon as an administrator runs it; for each
//!    move the client's longest gap, the time both servers held the
//!    address (none expected: the handshake removes before it adds) and
//!    how long the command took; median, p95 and max of the moves that
//!    completed, and every failed command or overlap said so;
//! 4. runs with random loss on every switch port (nftables, see
//!    [`crate::faults`]), in place before the daemons start, and no real
//!    fault, counting false takeovers, with
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
//!
//! The parts: the command line's choices (`options.rs`), the runs on the
//! lab (`runs.rs`), the planned switchovers (`switchover.rs`), a daemon's
//! CPU and memory (`usage.rs`), the statistics (`stats.rs`), the result
//! file's shape (`report.rs`), the table next to the targets (`table.rs`)
//! and the picture (`plot.rs`).

mod keepalived;
mod options;
mod plot;
mod report;
mod runs;
mod stats;
mod switchover;
mod table;
mod usage;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

pub use keepalived::Reference as KeepalivedReference;
pub use options::{DeadtimeMode, LossWay, Options, ProfileName};
pub use plot::plot;
pub use report::{
    Failover, FastestSearch, Files, HostInfo, LossResult, MoveSample, MoveStats, OptionsReport,
    ProfileResult, Report, RunSample, Steady, Switchover, SwitchoverSample, TargetCheck, Trial,
    Usage, WarmUp,
};
pub use stats::{stats, Stats};
pub use table::{summary, targets};
pub use usage::{cpu_seconds, parse_stat_times};

use crate::daemons::{Binaries, Profile};
use crate::faults;
use crate::netns::cleanup_stale_reporting;
use report::loadavg;
use runs::{bench_profile, search_fastest};

/// Target: the fast profile's median client-visible recovery, ms.
pub const TARGET_FAST_RECOVERY_MEDIAN_MS: f64 = 20.0;
/// Target: false takeovers at 30 % loss.
pub const TARGET_FALSE_TAKEOVERS_AT_30: u64 = 0;
/// Target: false takeovers, and stalls of the primary, in the window
/// without faults (each of the two).
pub const TARGET_STEADY_INCIDENTS: u64 = 0;
/// Target: each daemon's resident memory, kB (the backup's first; since
/// issue 16, the primary's too).
pub const TARGET_BACKUP_RSS_KB: u64 = 2048;
/// Target: at 10 ms beats, the client answered after at most this share of
/// keepalived's time at the same `advert_int` (medians of one run).
pub const TARGET_FAST_VS_KEEPALIVED: f64 = 0.7;
/// Target: at 2 ms beats, the client answered within this, median, ms.
pub const TARGET_FASTEST_RECOVERY_MEDIAN_MS: f64 = 8.0;
/// Target: at 2 ms beats, each daemon's CPU, % of one core.
pub const TARGET_FASTEST_CPU_PERCENT: f64 = 2.0;
/// Target: at 10 ms beats, the backup's CPU at most this many times
/// keepalived's backup's.
pub const TARGET_BACKUP_CPU_VS_KEEPALIVED: f64 = 2.0;
/// The JSON file's format name.
pub const SCHEMA: &str = "failover-lab-bench/1";
/// The JSON file's name in the output directory.
pub const JSON_FILE: &str = "bench.json";
/// The picture's name in the output directory.
pub const SVG_FILE: &str = "recovery.svg";

/// How often the client probes the service during a failover run.
pub const PROBE_PERIOD: Duration = Duration::from_millis(1);
/// The longest any one step (a takeover, a failback, a planned switchover,
/// the lab coming up) may take.
pub const STEP_LIMIT: Duration = Duration::from_secs(20);
/// How long a run keeps watching after the client is served again.
pub const SETTLE: Duration = Duration::from_millis(500);
/// How long the client must have been answered by the primary before the
/// plug is pulled.
pub const PRE_CUT: Duration = Duration::from_millis(200);
/// The longest a loss-free or 10 % run of the fastest-interval search lasts.
pub const SEARCH_SECONDS_MAX: u64 = 10;

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

fn write_json(path: &Path, report: &Report) -> io::Result<()> {
    let text = serde_json::to_string_pretty(report).map_err(io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, text + "\n")?;
    fs::rename(&tmp, path)
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
mod tests;
