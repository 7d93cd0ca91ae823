//! The benchmark's table: each profile's figures next to the targets
//! (failover, planned switchover, loss, resources), and the targets
//! checked.

use std::fmt::Write as _;

use super::switchover::problems;
use super::{
    LossWay, MoveStats, ProfileResult, Report, Stats, TargetCheck, TARGET_BACKUP_CPU_VS_KEEPALIVED,
    TARGET_BACKUP_RSS_KB, TARGET_FALSE_TAKEOVERS_AT_30, TARGET_FASTEST_CPU_PERCENT,
    TARGET_FASTEST_RECOVERY_MEDIAN_MS, TARGET_FAST_RECOVERY_MEDIAN_MS, TARGET_FAST_VS_KEEPALIVED,
    TARGET_STEADY_INCIDENTS,
};

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
        let st = &p.steady;
        v.push(TargetCheck {
            name: format!(
                "{}: false takeovers and primary stalls, {:.0} s without faults",
                p.name, st.seconds
            ),
            target: format!("{TARGET_STEADY_INCIDENTS}"),
            measured: format!("{} and {}", st.false_takeovers, st.stalls),
            met: Some(
                st.false_takeovers == TARGET_STEADY_INCIDENTS
                    && st.stalls == TARGET_STEADY_INCIDENTS,
            ),
        });
    }
    for p in &report.profiles {
        for (who, usage) in [
            ("backup (failoverd)", &p.steady.failoverd),
            ("primary (heartbeatd)", &p.steady.heartbeatd),
        ] {
            v.push(TargetCheck {
                name: format!("{}: {who} RSS", p.name),
                target: format!("≤ {} MB", TARGET_BACKUP_RSS_KB / 1024),
                measured: format!("{:.2} MB", usage.rss_kb as f64 / 1024.0),
                met: Some(usage.rss_kb <= TARGET_BACKUP_RSS_KB),
            });
        }
    }
    if let Some(fast) = fast {
        v.extend(against_keepalived(fast));
    }
    if let Some(fastest) = report.profiles.iter().find(|p| p.name == "fastest") {
        v.extend(fastest_targets(fastest));
    }
    v
}

/// Issue 16's goals against keepalived at 10 ms beats, from one run: the
/// client answered sooner, the backup's CPU. Not measured without
/// keepalived.
fn against_keepalived(fast: &ProfileResult) -> Vec<TargetCheck> {
    let k = fast.keepalived.as_ref();
    let ours = fast.failover.recovery_ms.map(|s| s.median);
    let theirs = k.and_then(|k| k.recovery_ms).map(|s| s.median);
    let ratio = ours
        .zip(theirs)
        .filter(|(_, t)| *t > 0.0)
        .map(|(o, t)| o / t);
    let backup_ratio = k
        .map(|k| k.backup.cpu_percent)
        .filter(|t| *t > 0.0)
        .map(|t| fast.steady.failoverd.cpu_percent / t);
    vec![
        TargetCheck {
            name: "fast: client answered, ours / keepalived's (medians)".to_owned(),
            target: format!("≤ {TARGET_FAST_VS_KEEPALIVED}"),
            measured: match (ours, theirs, ratio) {
                (Some(o), Some(t), Some(r)) => format!("{r:.2} ({o:.1} against {t:.1} ms)"),
                _ => "not measured (keepalived)".to_owned(),
            },
            met: ratio.map(|r| r <= TARGET_FAST_VS_KEEPALIVED),
        },
        TargetCheck {
            name: "fast: backup CPU, failoverd / keepalived's backup".to_owned(),
            target: format!("≤ {TARGET_BACKUP_CPU_VS_KEEPALIVED}"),
            measured: match (k, backup_ratio) {
                (Some(k), Some(r)) => format!(
                    "{r:.1} ({:.2} against {:.2} % of a core)",
                    fast.steady.failoverd.cpu_percent, k.backup.cpu_percent
                ),
                _ => "not measured (keepalived)".to_owned(),
            },
            met: backup_ratio.map(|r| r <= TARGET_BACKUP_CPU_VS_KEEPALIVED),
        },
    ]
}

/// Issue 16's goals at 2 ms beats: the client answered within 8 ms, each
/// daemon within 2 % of a core. Only when the fastest profile is 2 ms (the
/// search may settle on a longer interval).
fn fastest_targets(p: &ProfileResult) -> Vec<TargetCheck> {
    if p.interval_ms != 2 {
        return Vec::new();
    }
    let median = p.failover.recovery_ms.map(|s| s.median);
    let mut v = vec![TargetCheck {
        name: "fastest (2 ms): client-visible recovery, median".to_owned(),
        target: format!("≤ {TARGET_FASTEST_RECOVERY_MEDIAN_MS} ms"),
        measured: median.map_or_else(|| "not measured".to_owned(), |m| format!("{m:.1} ms")),
        met: median.map(|m| m <= TARGET_FASTEST_RECOVERY_MEDIAN_MS),
    }];
    for (who, usage) in [
        ("heartbeatd", &p.steady.heartbeatd),
        ("failoverd", &p.steady.failoverd),
    ] {
        v.push(TargetCheck {
            name: format!("fastest (2 ms): {who} CPU"),
            target: format!("≤ {TARGET_FASTEST_CPU_PERCENT} % of a core"),
            measured: format!("{:.2} %", usage.cpu_percent),
            met: Some(usage.cpu_percent <= TARGET_FASTEST_CPU_PERCENT),
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

/// "0 ms", or loudly how long both servers held the address and in how
/// many moves.
fn overlap_cell(m: &MoveStats) -> String {
    if m.overlapping == 0 {
        format!("{:.0} ms", m.overlap_ms)
    } else {
        format!("OVERLAP {:.1} ms in {}", m.overlap_ms, m.overlapping)
    }
}

/// The planned switchovers: per profile a line for the handovers and one
/// for the reclaims, then every move that did not complete or overlapped.
fn switchover_table(s: &mut String, r: &Report) {
    let _ = writeln!(
        s,
        "\nplanned switchover (heartbeatd --handover, then --reclaim; the client asks every ms), \
         median / p95 / max, ms,\nof the moves that completed; both servers holding the address: \
         in all, over every move:"
    );
    let _ = writeln!(
        s,
        "  {:<8} {:>6} {:<9} {:>7}  {:<25} {:<25} both held",
        "profile", "beat", "move", "done", "client's longest gap", "command"
    );
    for p in &r.profiles {
        let sw = &p.switchover;
        for (name, m) in [("handover", &sw.handover), ("reclaim", &sw.reclaim)] {
            let _ = writeln!(
                s,
                "  {:<8} {:>4}ms {:<9} {:>7}  {:<25} {:<25} {}",
                p.name,
                p.interval_ms,
                name,
                format!("{}/{}", m.completed, sw.runs),
                triple(&m.gap_ms),
                triple(&m.command_ms),
                overlap_cell(m),
            );
        }
    }
    for p in &r.profiles {
        for sample in &p.switchover.samples {
            for line in problems(sample) {
                let _ = writeln!(s, "  {} run {}: {line}", p.name, sample.run);
            }
        }
    }
}

/// keepalived beside each profile it was measured for: the client's
/// recovery (from the primary's second port going down), its ratio to
/// ours, the failback overlap and the backup's CPU next to failoverd's.
fn keepalived_lines(s: &mut String, r: &Report) {
    for p in &r.profiles {
        match (&p.keepalived, &p.keepalived_skipped) {
            (Some(k), _) => {
                let ratio = p
                    .failover
                    .recovery_ms
                    .zip(k.recovery_ms)
                    .filter(|(_, k)| k.median > 0.0)
                    .map_or_else(String::new, |(ours, k)| {
                        format!(" (ours {:.2}× keepalived's)", ours.median / k.median)
                    });
                let _ = writeln!(
                    s,
                    "  {:<8} keepalived, advert_int {} ms: client back {}{ratio}; both held {:.1} ms \
                     over {} failbacks; backup CPU {:.2} % (failoverd {:.2} %), RSS {:.2} MB",
                    p.name,
                    k.advert_int_ms,
                    triple(&k.recovery_ms),
                    k.failback_overlap_ms,
                    k.took_over,
                    k.backup.cpu_percent,
                    p.steady.failoverd.cpu_percent,
                    k.backup.rss_kb as f64 / 1024.0,
                );
            }
            (None, Some(why)) => {
                let _ = writeln!(s, "  {:<8} keepalived not measured: {why}", p.name);
            }
            (None, None) => {}
        }
    }
}

/// Each daemon's resources in the steady window, keepalived's beside
/// them where it was measured.
fn resource_lines(s: &mut String, r: &Report) {
    let _ = writeln!(
        s,
        "\nthe daemons over a {} s window without faults (RSS at its end, anonymous + file-backed, and \
         Pss, shared pages divided among the processes mapping them; CPU as a share of one core; \
         wake-ups and strace's system calls per heartbeat interval){}:",
        r.options.steady_seconds,
        if r.options.real_time {
            ", every daemon at real-time priority"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "  {:<8} {:<18} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "profile",
        "process",
        "RSS MB",
        "anon kB",
        "file kB",
        "Pss kB",
        "CPU %",
        "wake-ups",
        "syscalls"
    );
    for p in &r.profiles {
        let mut rows = vec![
            ("heartbeatd", &p.steady.heartbeatd),
            ("failoverd", &p.steady.failoverd),
        ];
        if let Some(k) = &p.keepalived {
            rows.push(("keepalived master", &k.master));
            rows.push(("keepalived backup", &k.backup));
        }
        for (name, u) in rows {
            let calls = u
                .syscalls_per_interval
                .map_or_else(|| "—".to_owned(), |c| format!("{c:.1}"));
            let _ = writeln!(
                s,
                "  {:<8} {:<18} {:>8.2} {:>8} {:>8} {:>8} {:>8.2} {:>9.1} {:>9}",
                p.name,
                name,
                u.rss_kb as f64 / 1024.0,
                u.rss_anon_kb,
                u.rss_file_kb,
                u.pss_kb,
                u.cpu_percent,
                u.wakeups_per_interval,
                calls
            );
        }
    }
    let takeovers: Vec<String> = r
        .profiles
        .iter()
        .map(|p| {
            format!(
                "{} {} ({} stalls of the primary)",
                p.name, p.steady.false_takeovers, p.steady.stalls
            )
        })
        .collect();
    let _ = writeln!(
        s,
        "  false takeovers in the window: {}",
        takeovers.join(", ")
    );
}

/// The readable table: failover times, planned switchovers, loss runs,
/// resources, targets.
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
    for p in &r.profiles {
        if let Some(w) = &p.warm_up {
            let at_cut: Vec<f64> = p
                .failover
                .samples
                .iter()
                .filter_map(|x| x.dead_time_ms)
                .collect();
            let _ = writeln!(
                s,
                "  {}: adaptive dead time {:.2} ms {:.1} s after the start; at the cuts {}",
                p.name,
                w.dead_time_ms,
                w.seconds,
                triple(&super::stats(&at_cut))
            );
        }
    }
    keepalived_lines(&mut s, r);
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
    switchover_table(&mut s, r);
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
    resource_lines(&mut s, r);
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
