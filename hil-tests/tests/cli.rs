//! The `failover-lab` binary as a user meets it: exit statuses and messages.

use std::process::{Command, Output};

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
    } else {
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(e.contains("needs root"), "{e}");
    }
}
