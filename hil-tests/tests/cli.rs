//! The `failover-lab` binary as a user meets it: exit statuses and messages.

use std::process::{Command, Output};
use std::sync::Mutex;

/// The lab tests run one at a time: two labs at once on a small machine
/// would time each other's heartbeats.
static LAB: Mutex<()> = Mutex::new(());

fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_failover-lab"))
        .args(args)
        .output()
        .expect("the failover-lab binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn unknown_subcommand_fails_with_usage() {
    let o = lab(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unrecognized subcommand"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn no_subcommand_fails_with_usage() {
    let o = lab(&[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("demo") && e.contains("bench"), "{e}");
}

#[test]
fn help_lists_both_subcommands() {
    let o = lab(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("demo") && out.contains("bench"), "{out}");
}

#[test]
fn demo_runs_the_lab_as_root_and_refuses_otherwise() {
    let _one_lab = LAB.lock().unwrap_or_else(|e| e.into_inner());
    let o = lab(&["demo"]);
    let e = stderr(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    if nix::unistd::geteuid().is_root() {
        // The real demo: a takeover and a zero-overlap failback, checked by
        // the demo itself (exit status) and visible in its timelines.
        assert_eq!(o.status.code(), Some(0), "{out}\n{e}");
        for needle in [
            "failoverd: the primary is silent on every network (verdict)",
            "first gratuitous ARP from the secondary",
            "client: answered by the secondary",
            "client: answered by the primary again",
            "never on both servers at once",
            "demo: OK",
        ] {
            assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
        }
        // With the firmware built (CI builds it), the witness takes part and
        // its grant, captured on the private network, is in the timeline.
        if failover_lab::demo::witness_firmware().is_ok() {
            for needle in [
                "witness    198.51.100.3",
                "witness: grant (",
                "heartbeats on the private network",
            ] {
                assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
            }
        }
    } else {
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(e.contains("needs root"), "{e}");
    }
}

#[test]
fn bench_smoke_run_writes_its_json_and_picture() {
    if failover_lab::netns::skip_unless_root("cli::bench_smoke_run_writes_its_json_and_picture") {
        let o = lab(&["bench", "--runs", "1"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        return;
    }
    let _one_lab = LAB.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("failover-lab-bench-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out_dir = dir.to_str().expect("a UTF-8 temporary directory");
    // The smoke run: one takeover, 30 % loss for 2 s with each dead time.
    let o = lab(&[
        "bench",
        "--runs",
        "1",
        "--profiles",
        "fast",
        "--loss-seconds",
        "2",
        "--loss",
        "30",
        "--steady-seconds",
        "1",
        "--out",
        out_dir,
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", stderr(&o));
    for needle in ["run 1/1: verdict", "targets:", "bench: done"] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    let json = std::fs::read_to_string(dir.join("bench.json")).expect("bench.json written");
    let v: serde_json::Value = serde_json::from_str(&json).expect("bench.json is JSON");
    assert_eq!(v["schema"], "failover-lab-bench/1", "{json}");
    assert_eq!(v["complete"], true, "{json}");
    let fast = &v["profiles"][0];
    assert_eq!(fast["name"], "fast", "{json}");
    assert_eq!(fast["failover"]["took_over"], 1, "{json}");
    for key in ["verdict_ms", "first_garp_ms", "recovery_ms"] {
        for stat in ["median", "p95", "max"] {
            assert!(
                fast["failover"][key][stat].is_number(),
                "{key}.{stat}: {json}"
            );
        }
    }
    let loss = fast["loss"].as_array().expect("loss runs");
    assert_eq!(loss.len(), 2, "{json}");
    for run in loss {
        assert_eq!(run["percent"], 30, "{json}");
        assert!(run["false_takeovers"].is_u64(), "{json}");
        assert!(
            run["frames_dropped"].as_u64().unwrap_or(0) > 0,
            "no loss seen: {json}"
        );
    }
    for daemon in ["heartbeatd", "failoverd"] {
        assert!(
            fast["steady"][daemon]["rss_kb"].as_u64().unwrap_or(0) > 0,
            "{json}"
        );
        assert!(fast["steady"][daemon]["cpu_ms"].is_number(), "{json}");
    }
    assert!(
        v["targets"].as_array().is_some_and(|t| t.len() >= 3),
        "{json}"
    );
    let svg = std::fs::read_to_string(dir.join("recovery.svg")).expect("recovery.svg written");
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("fast (10 ms beats)"), "{svg}");
    assert!(svg.contains("<circle"), "{svg}");
    let _ = std::fs::remove_dir_all(&dir);
}
