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
fn demo_checks_root_then_says_not_yet() {
    let o = lab(&["demo"]);
    let e = stderr(&o);
    if nix::unistd::geteuid().is_root() {
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(
            e.contains("not yet: the lab demo lands with issue 4"),
            "{e}"
        );
    } else {
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(e.contains("needs root"), "{e}");
    }
}
