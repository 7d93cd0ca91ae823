//! The benchmark's figures, table, file and picture on made-up runs.

use super::runs::summarise_runs;
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
