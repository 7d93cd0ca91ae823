//! The benchmark's runs on the lab: a profile's steady window, its failover
//! runs (a fresh lab for each that did not fail back), its planned
//! switchovers (`switchover.rs`), its loss runs, and the fastest-interval
//! search.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::keepalived;
use super::switchover::{describe as describe_switchover, summarise_switchovers, switchover_run};
use super::usage::{count_syscalls, proc_usage, SYSCALL_WINDOW};
use super::{
    stats, Ctx, DeadtimeMode, Failover, FastestSearch, LossResult, ProfileName, ProfileResult,
    RunSample, Stats, Steady, Trial, Usage, WarmUp, PRE_CUT, PROBE_PERIOD, SEARCH_SECONDS_MAX,
    SETTLE, STEP_LIMIT,
};
use crate::daemons::{Daemon, Profile};
use crate::faults::Loss;
use crate::holds::{held_within, overlap_within};
use crate::interrupt;
use crate::lab::{Daemons, Lab, Owner, Place, Setup};
use crate::measure::{self, first_answer_from, poll, POLL_STEP};
use crate::service::Prober;
use crate::topology::{PUBLIC_IF, SERVICE};

/// Builds a lab, starts everything, waits until the primary serves and
/// `failoverd` has started, then lets the daemons warm up. The daemons run
/// at normal priority, as deployed by default, or with `--real-time` at
/// SCHED_FIFO, as docs/operations.md advises below 10 ms beats: what is
/// measured is what a deployment gets.
fn start_lab(ctx: &Ctx, profile: &Profile, dir: &Path) -> io::Result<(Lab, Daemons)> {
    start_lab_at(ctx, profile, dir).map(|(lab, d, _)| (lab, d))
}

/// [`start_lab`], and when the daemons were started.
fn start_lab_at(ctx: &Ctx, profile: &Profile, dir: &Path) -> io::Result<(Lab, Daemons, Instant)> {
    start_lab_after(ctx, profile, dir, |_| Ok(()))
}

/// [`start_lab_at`], with `before_daemons` done on the lab before the
/// daemons start.
fn start_lab_after(
    ctx: &Ctx,
    profile: &Profile,
    dir: &Path,
    before_daemons: impl FnOnce(&Lab) -> io::Result<()>,
) -> io::Result<(Lab, Daemons, Instant)> {
    let mut lab = bench_lab(profile, dir, ctx.opts.real_time)?;
    before_daemons(&lab)?;
    // No protocol capture: the bench has no witness whose exchange it
    // would show, and a capture of the heartbeats would wake on each one,
    // in the sender's system call (see `observe::spawn_capture`).
    lab.capture_arp()?;
    let started = Instant::now();
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
    Ok((lab, d, started))
}

/// The longest wait for an adaptive dead time to come down to two
/// intervals: after a failback the outage counts as 64 lost rounds in a
/// window of 1024 to 2048 (docs/detector.md), which keeps `k` at 3 for up
/// to 2048 intervals.
fn settle_limit(profile: &Profile) -> Duration {
    Duration::from_secs(10).max(Duration::from_millis(profile.interval_ms * 2200))
}

/// `failoverd`'s dead time as its status gives it, ms.
fn dead_time_ms(lab: &Lab, d: &Daemons) -> Option<f64> {
    lab.status_json(&d.fo)["peer"]["dead_time_ms"].as_f64()
}

/// Waits (at most [`settle_limit`]) until `failoverd`'s adaptive dead time
/// reads under three intervals: two, and the grace for late heartbeats, the
/// value it keeps on clean links. Returns it and when it was first seen.
fn settle_dead_time(
    lab: &Lab,
    d: &Daemons,
    profile: &Profile,
) -> io::Result<Option<(f64, Instant)>> {
    let three = (profile.interval_ms * 3) as f64;
    let limit = Instant::now() + settle_limit(profile);
    loop {
        if let Some(ms) = dead_time_ms(lab, d).filter(|ms| *ms < three) {
            return Ok(Some((ms, Instant::now())));
        }
        if Instant::now() >= limit {
            return Ok(None);
        }
        interrupt::sleep(Duration::from_millis(100))?;
    }
}

/// A benchmark's lab, kept in `dir`, without a witness and without the
/// daemons (each kind of run starts its own); `real_time` gives the
/// daemons SCHED_FIFO as they start.
pub(super) fn bench_lab(profile: &Profile, dir: &Path, real_time: bool) -> io::Result<Lab> {
    Lab::new(Setup {
        place: Place::Kept(dir.to_path_buf()),
        profile: profile.clone(),
        witness: None,
        real_time,
        client_when_steady: false,
        limit: STEP_LIMIT,
        public_if: PUBLIC_IF,
    })
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

/// One profile: its steady window, its failover runs, its planned
/// switchovers and its loss runs, with progress on `out`.
pub(super) fn bench_profile(
    ctx: &Ctx,
    name: ProfileName,
    profile: &Profile,
    out: &mut impl Write,
) -> io::Result<ProfileResult> {
    let runs = ctx.opts.runs_for(name);
    // As failoverd's default: adaptive below 1 s beats; at Apple's 1 s,
    // Apple's fixed dead time (an adaptive one would warm up for minutes).
    let mode = if profile.interval_ms >= 1000 {
        DeadtimeMode::Fixed
    } else {
        ctx.opts.failover_deadtime
    };
    let fixed_ms = (mode == DeadtimeMode::Fixed).then_some(profile.interval_ms * 3);
    let failover_profile = mode.apply(profile);
    let profile = &failover_profile;
    let priority = if ctx.opts.real_time {
        ", real-time priority"
    } else {
        ""
    };
    match fixed_ms {
        Some(ms) => writeln!(
            out,
            "\nprofile {}: heartbeats every {} ms, dead time {ms} ms (three intervals, fixed){priority}",
            profile.name, profile.interval_ms
        )?,
        None => writeln!(
            out,
            "\nprofile {}: heartbeats every {} ms, dead time auto (adaptive){priority}",
            profile.name, profile.interval_ms
        )?,
    }
    let dir = ctx.logs.join(profile.name);
    let mut labs = 1;
    let (mut lab, mut daemons, started) = start_lab_at(ctx, profile, &dir.join("failover-1"))?;
    let adaptive = mode == DeadtimeMode::Auto;
    let warm_up = if adaptive {
        let settled = settle_dead_time(&lab, &daemons, profile)?;
        let warm_up = settled.map(|(dead_time_ms, at)| WarmUp {
            seconds: at.duration_since(started).as_secs_f64(),
            dead_time_ms,
        });
        match warm_up {
            Some(w) => writeln!(
                out,
                "  warm-up: the dead time read {:.2} ms (under three intervals) {:.1} s after the daemons started",
                w.dead_time_ms, w.seconds
            )?,
            None => writeln!(
                out,
                "  warm-up: the dead time did not come under three intervals within {:?}",
                settle_limit(profile)
            )?,
        }
        warm_up
    } else {
        None
    };
    let steady = steady_window(
        &daemons,
        Duration::from_secs(ctx.opts.steady_seconds),
        profile.interval_ms,
        &dir,
    )?;
    writeln!(
        out,
        "  steady {} s, {} false takeover(s), {} stall(s) of the primary\n    heartbeatd: {}\n    \
         failoverd: {}",
        ctx.opts.steady_seconds,
        steady.false_takeovers,
        steady.stalls,
        steady.heartbeatd,
        steady.failoverd
    )?;
    let mut samples = Vec::with_capacity(runs);
    for run in 1..=runs {
        // Each run from the steady state: after a failback the outage keeps
        // the adaptive dead time up for a while.
        if adaptive && run > 1 {
            settle_dead_time(&lab, &daemons, profile)?;
        }
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
            (lab, daemons) = start_lab(ctx, profile, &dir.join(format!("failover-{labs}")))?;
        }
    }
    let failover = summarise_runs(runs, labs, samples);
    // The planned switchovers, as many, on the same lab if it failed back.
    let mut sw_labs = 1;
    if failover.samples.last().is_some_and(|s| !s.failed_back) {
        drop((lab, daemons));
        writeln!(
            out,
            "  (no clean failback: building a fresh lab for the planned switchovers)"
        )?;
        (lab, daemons) = start_lab(ctx, profile, &dir.join("switchover-1"))?;
    } else {
        interrupt::sleep(rest(profile))?;
    }
    let mut sw_samples = Vec::with_capacity(runs);
    for run in 1..=runs {
        let sample = switchover_run(&lab, &daemons, run)?;
        writeln!(
            out,
            "  switchover {run}/{runs}: {}",
            describe_switchover(&sample)
        )?;
        let back = sample.back;
        sw_samples.push(sample);
        if run == runs {
            break;
        }
        if back {
            interrupt::sleep(rest(profile))?;
        } else {
            drop((lab, daemons));
            sw_labs += 1;
            writeln!(
                out,
                "  (the primary does not serve again: building a fresh lab for the next switchover)"
            )?;
            (lab, daemons) = start_lab(ctx, profile, &dir.join(format!("switchover-{sw_labs}")))?;
        }
    }
    drop((lab, daemons));
    let switchover = summarise_switchovers(runs, sw_labs, sw_samples);
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
    let (keepalived, keepalived_skipped) = match reference(ctx, profile, runs, &dir, out)? {
        Ok(r) => (Some(r), None),
        Err(why) => (None, Some(why)),
    };
    Ok(ProfileResult {
        name: profile.name,
        interval_ms: profile.interval_ms,
        deadtime_ms: fixed_ms,
        warm_up,
        steady,
        failover,
        switchover,
        loss,
        keepalived,
        keepalived_skipped,
    })
}

/// keepalived at `profile`'s interval, with progress on `out`; `Ok(Err)`
/// says why it was not measured.
fn reference(
    ctx: &Ctx,
    profile: &Profile,
    runs: usize,
    dir: &Path,
    out: &mut impl Write,
) -> io::Result<Result<keepalived::Reference, String>> {
    let skipped = if !ctx.opts.keepalived {
        Some("not asked for (--no-keepalived)".to_owned())
    } else if profile.interval_ms < keepalived::MIN_INTERVAL_MS
        || profile.interval_ms % keepalived::MIN_INTERVAL_MS != 0
    {
        Some(format!(
            "keepalived advertises in whole hundredths of a second, not every {} ms",
            profile.interval_ms
        ))
    } else {
        keepalived::installed().err()
    };
    if let Some(why) = skipped {
        writeln!(out, "  keepalived: not measured: {why}")?;
        return Ok(Err(why));
    }
    let version = keepalived::installed().unwrap_or_default();
    let steady = Duration::from_secs(ctx.opts.steady_seconds);
    let r = keepalived::measure(
        profile,
        version,
        runs,
        steady,
        ctx.opts.real_time,
        &dir.join("keepalived"),
    )?;
    writeln!(out, "  {}", keepalived::describe(&r))?;
    Ok(Ok(r))
}

/// Counts the lines of `failoverd` (`fo`) in `[from, to)` that contain
/// `needle` (not the mail lines that quote them).
fn count_lines(d: &Daemon, from: Instant, to: Instant, needle: &str) -> u64 {
    d.lines()
        .iter()
        .filter(|(t, l)| *t >= from && *t < to && l.contains(needle) && !l.contains("mailing"))
        .count() as u64
}

fn count_takeovers(fo: &Daemon, from: Instant, to: Instant) -> u64 {
    count_lines(fo, from, to, "took over 192.0.2.10")
}

fn steady_window(
    d: &Daemons,
    window: Duration,
    interval_ms: u64,
    dir: &Path,
) -> io::Result<Steady> {
    let pids = (d.hb.pid, d.fo.pid);
    let before = (proc_usage(pids.0)?, proc_usage(pids.1)?);
    let start = Instant::now();
    interrupt::sleep(window)?;
    let after = (proc_usage(pids.0)?, proc_usage(pids.1)?);
    let end = Instant::now();
    let seconds = end.duration_since(start).as_secs_f64();
    // After the CPU window: strace slows what it counts.
    let calls = (
        count_syscalls(&[pids.0], SYSCALL_WINDOW, dir)?,
        count_syscalls(&[pids.1], SYSCALL_WINDOW, dir)?,
    );
    Ok(Steady {
        seconds,
        false_takeovers: count_takeovers(&d.fo, start, end),
        stalls: count_lines(&d.hb, start, end, "was frozen too long"),
        heartbeatd: Usage::between(before.0, after.0, seconds, interval_ms, calls.0),
        failoverd: Usage::between(before.1, after.1, seconds, interval_ms, calls.1),
    })
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Every run's starting line: a client prober started, and the primary
/// alone holding the address and answering it (`false` if it does not
/// within the step limit).
pub(super) fn primary_serving(lab: &Lab) -> io::Result<(Prober, bool)> {
    let prober = Prober::start(&lab.t.client, SERVICE, PROBE_PERIOD)?;
    let since = Instant::now();
    let serving = poll(STEP_LIMIT, POLL_STEP, || {
        lab.owners.are(Owner::Primary)
            && first_answer_from(&prober.probes(), "primary", since).is_some()
    })?;
    Ok((prober, serving))
}

/// One primary power-loss run on a lab where the primary serves.
fn failover_run(lab: &Lab, d: &Daemons, run: usize) -> io::Result<RunSample> {
    let (prober, serving) = primary_serving(lab)?;
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
            dead_time_ms: None,
        });
    }
    interrupt::sleep(PRE_CUT)?;
    let dead_time_ms = dead_time_ms(lab, d);
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
        dead_time_ms,
    })
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{x:.1} ms"))
}

fn describe(s: &RunSample) -> String {
    let mut text = format!(
        "verdict {}, first GARP {}, client back {} (outage {}, {} probes lost; dead time {})",
        opt_ms(s.verdict_ms),
        opt_ms(s.first_garp_ms),
        opt_ms(s.recovery_ms),
        opt_ms(s.outage_ms),
        s.lost_probes,
        opt_ms(s.dead_time_ms),
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

/// The failover runs' statistics.
pub(super) fn summarise_runs(runs: usize, labs: usize, samples: Vec<RunSample>) -> Failover {
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
///
/// The loss is there before the daemons start, so they warm up under it:
/// what is measured is the detector's steady state at that loss, which is
/// what its bound is about. Loss that starts abruptly on every link at
/// once, after the detector has learnt a clean network, is a different
/// event with its own odds (docs/detector.md, "Onset": a false verdict in
/// about 6 % of abrupt onsets of 30 % on both links at two intervals).
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
    let (lab, d, _) = start_lab_after(ctx, profile, dir, |lab| {
        let ports = lab.t.switch_ports();
        let ports: Vec<&str> = ports.iter().map(String::as_str).collect();
        if percent > 0 {
            Loss::set_many(&lab.t.switch, &ports, way.direction(), percent)?;
        }
        Ok(())
    })?;
    let ports = lab.t.switch_ports();
    let port_refs: Vec<&str> = ports.iter().map(String::as_str).collect();
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
pub(super) fn search_fastest(ctx: &Ctx, out: &mut impl Write) -> io::Result<FastestSearch> {
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
