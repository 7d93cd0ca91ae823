//! The daemons' start-up path end to end, as the binaries will run it:
//! argv and real files in, options and core machines out (or every problem,
//! with the exit status).

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use failover_core::{Instant, Machine, NodeId, Primary, Secondary};
use failover_host::config::cli::{Invocation, EXIT_CONFIG, EXIT_USAGE};
use failover_host::config::options::{
    failoverd_from_args, heartbeatd_from_args, node_id, FailoverdOptions, HeartbeatdOptions,
};

const KEY: &str = "2b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfe";

fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

fn run_failoverd(args: &[&str]) -> FailoverdOptions {
    match failoverd_from_args(std::iter::once("failoverd").chain(args.iter().copied())) {
        Ok(Invocation::Run(o)) => o,
        Ok(other) => panic!("{args:?}: {other:?}"),
        Err(e) => panic!("{args:?}:\n{e}"),
    }
}

fn run_heartbeatd(args: &[&str]) -> HeartbeatdOptions {
    match heartbeatd_from_args(std::iter::once("heartbeatd").chain(args.iter().copied())) {
        Ok(Invocation::Run(o)) => o,
        Ok(other) => panic!("{args:?}: {other:?}"),
        Err(e) => panic!("{args:?}:\n{e}"),
    }
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("address")
}

/// The 2005 walk-through, on documentation addresses: the primary's
/// `FAILOVER_BCAST_IPS`, the secondary's `FAILOVER_PEER_IP` and
/// `FAILOVER_PEER_IP_PAIRS`, both reading their own copy of the file, with
/// a shared key. The core machines build from the options and agree on who
/// is who.
#[test]
fn seed_walkthrough_configures_both_daemons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let primary_conf = write(
        dir.path(),
        "primary",
        "# server1\nFAILOVER_BCAST_IPS=\"198.51.100.255 192.0.2.255\"\nIPFORWARDING=-YES-\n",
        0o644,
    );
    let secondary_conf = write(
        dir.path(),
        "secondary",
        "# server2\n\
         FAILOVER_PEER_IP=\"198.51.100.1\"\n\
         FAILOVER_PEER_IP_PAIRS=\"eth0:192.0.2.1\"\n\
         FAILOVER_EMAIL_RECIPIENT=admin@example.com\n",
        0o644,
    );
    let key = write(dir.path(), "key", &format!("1 {KEY}\n"), 0o600);
    let key = key.to_str().expect("utf-8");

    let h = run_heartbeatd(&[
        "-x",
        "--config",
        primary_conf.to_str().expect("utf-8"),
        "--key-file",
        key,
    ]);
    assert_eq!(h.targets, [ip("198.51.100.255"), ip("192.0.2.255")]);
    assert_eq!(h.common.warnings.len(), 1, "{:?}", h.common.warnings);
    assert!(h.common.warnings[0].ends_with(":3: unknown key IPFORWARDING ignored"));

    let f = run_failoverd(&[
        "-x",
        "--config",
        secondary_conf.to_str().expect("utf-8"),
        "--key-file",
        key,
    ]);
    assert_eq!(f.master, ip("198.51.100.1"));
    assert_eq!(f.services[0].to_string(), "eth0:192.0.2.1");
    assert_eq!(
        f.common.email_recipient.as_deref(),
        Some("admin@example.com")
    );

    // heartbeatd's own private address is failoverd's master_priv_addr.
    let p = h.primary_config(ip("198.51.100.1"), 1);
    let s = f.secondary_config(ip("198.51.100.2"), 1);
    assert_eq!(s.primary, Some(p.node));
    assert_eq!(p.node, node_id(ip("198.51.100.1")));
    assert_eq!(s.node, NodeId(0xC633_6402));
    assert_eq!(p.links, s.links);
    // The machines accept them, start and want to beat.
    let now = Instant::ZERO;
    let primary = Primary::try_new(p, now).expect("heartbeatd's configuration");
    let secondary = Secondary::try_new(s, now).expect("failoverd's configuration");
    assert!(primary.poll_at().is_some());
    assert!(secondary.poll_at().is_some());
}

/// IPv6 service addresses from the configuration file's keys
/// (`FAILOVER_SERVICES`, `FAILOVER_PEER_IP_PAIRS`) and the command line,
/// beside IPv4 ones; the heartbeats stay on IPv4.
#[test]
fn ipv6_service_addresses_from_the_file_and_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = write(
        dir.path(),
        "conf",
        "FAILOVER_BCAST_IPS=\"198.51.100.255 192.0.2.255\"\n\
         FAILOVER_SERVICES=\"eth0:192.0.2.10 eth0:2001:db8::10/128\"\n\
         FAILOVER_PEER_IP=198.51.100.1\n\
         FAILOVER_PEER_IP_PAIRS=\"eth0:192.0.2.10 eth0:2001:db8::10\"\n",
        0o644,
    );
    let conf = conf.to_str().expect("utf-8");
    let h = run_heartbeatd(&["-x", "--config", conf]);
    let shown: Vec<String> = h.services.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["eth0:192.0.2.10", "eth0:2001:db8::10/128"]);
    assert!(h.services[1].is_ipv6());
    let f = run_failoverd(&["-x", "--config", conf]);
    assert_eq!(f.services[1].prefix_len(), 128);
    assert_eq!(f.services[1].addr.to_string(), "2001:db8::10");
    let h = run_heartbeatd(&[
        "-x",
        "--service",
        "eth1:2001:db8:1::10/64",
        "198.51.100.255",
    ]);
    assert_eq!(h.services[0].interface.as_str(), "eth1");
    assert_eq!(h.services[0].prefix_len(), 64);
    // The same address twice is refused, whichever way it is written.
    let e = heartbeatd_from_args([
        "heartbeatd",
        "-x",
        "--service",
        "eth0:2001:db8::10",
        "--service",
        "eth0:2001:DB8:0::10/128",
        "198.51.100.255",
    ])
    .expect_err("twice");
    assert!(
        e.to_string()
            .contains("the service address 2001:db8::10 is given twice"),
        "{e}"
    );
}

/// Apple's two man-page examples, on documentation addresses.
#[test]
fn apples_examples() {
    let o = run_failoverd(&["198.51.100.100", "en0:192.0.2.2"]);
    assert_eq!(o.links(), 2);
    let o = run_failoverd(&["198.51.100.10", "en0:192.0.2.2/16", "en1:203.0.113.4/24"]);
    assert_eq!(o.links(), 3);
    assert_eq!(o.services[1].prefix_len(), 24);
}

/// What an administrator sees for a broken command line: one line per
/// problem, each with the program name, then the synopsis; exit 64.
#[test]
fn every_problem_on_stderr() {
    let e = failoverd_from_args([
        "failoverd",
        "--config",
        "/nonexistent/failover.conf",
        "-p",
        "0",
        "-L",
        "mail",
        "198.51.100.300",
        "en0:192.0.2.1/64",
    ])
    .expect_err("refused");
    assert_eq!(e.exit_code(), EXIT_USAGE);
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..5],
        [
            "failoverd: Invalid port. Valid ports range from 1 to 65535.",
            "failoverd: Invalid syslog facility. \"mail\" is not one of daemon (the default), \
             auth, user, local0 to local7.",
            "failoverd: CNode: invalid IP address: 198.51.100.300 (master_priv_addr)",
            "failoverd: Invalid mask: /64 (in en0:192.0.2.1/64): a mask is a prefix length from \
             /0 to /32",
            "failoverd: cannot read configuration file /nonexistent/failover.conf: No such file \
             or directory (os error 2)",
        ]
    );
    assert!(
        lines[5].starts_with("usage: failoverd [-d | -n | -x]"),
        "{text}"
    );
}

/// A key file others can read stops both daemons, with the fix in the
/// message; exit 78.
#[test]
fn a_key_file_readable_by_others_stops_both_daemons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = write(dir.path(), "key", &format!("1 {KEY}\n"), 0o644);
    let k = key.to_str().expect("utf-8");
    let e = heartbeatd_from_args(["heartbeatd", "--key-file", k, "198.51.100.255"])
        .expect_err("refused");
    assert_eq!(e.exit_code(), EXIT_CONFIG);
    assert_eq!(
        e.to_string(),
        format!(
            "heartbeatd: key file {k} is accessible by group or others (mode 0644): anyone who \
             can read it can forge heartbeats; fix with: chmod 600 {k}\n"
        )
    );
    let e = failoverd_from_args(["failoverd", "--key-file", k, "198.51.100.1", "e:192.0.2.1"])
        .expect_err("refused");
    assert_eq!(e.exit_code(), EXIT_CONFIG);
}

/// Every option the help promises is accepted.
#[test]
fn help_lists_every_option() {
    let Ok(Invocation::Help(f)) = failoverd_from_args(["failoverd", "-h"]) else {
        panic!("no help");
    };
    for opt in [
        "--debug",
        "--no-run",
        "--no-fork",
        "--port",
        "--syslog",
        "--help",
        "--version",
        "--interval",
        "--deadtime",
        "--hold-down",
        "--witness",
        "--witness-policy",
        "--key-file",
        "--scripts-dir",
        "--script-timeout",
        "--config",
        "--pid-file",
        "--sendmail",
        "--spool-dir",
        "--apple-compat",
    ] {
        assert!(f.contains(opt), "failoverd help lacks {opt}");
    }
    let Ok(Invocation::Help(h)) = heartbeatd_from_args(["heartbeatd", "--help"]) else {
        panic!("no help");
    };
    for opt in [
        "-m, --message",
        "--service",
        "--witness",
        "--key-file",
        "--interval",
        "--failback",
        "--handover",
        "--reclaim",
        "--wait",
        "--check-interval",
        "--check-failures",
        "--scripts-dir",
        "--script-timeout",
        "--apple-compat",
    ] {
        assert!(h.contains(opt), "heartbeatd help lacks {opt}");
    }
    assert!(!h.contains("--hold-down") && !h.contains("--witness-policy"));
}

/// `--apple-compat` with what Apple's heartbeat cannot carry: the binaries
/// refuse to start, with the problem named on stderr and a usage status
/// (78 when the file set it).
#[test]
fn apple_compat_refuses_what_it_cannot_do_at_the_binaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = write(dir.path(), "empty", "", 0o644);
    let empty = empty.to_str().expect("utf-8");
    let run = |binary: &str, args: &[&str]| {
        let out = std::process::Command::new(binary)
            .args(["--config", empty])
            .args(args)
            .output()
            .expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(
        env!("CARGO_BIN_EXE_failoverd"),
        &[
            "--apple-compat",
            "--deadtime",
            "auto",
            "198.51.100.1",
            "eth0:192.0.2.10",
        ],
    );
    assert_eq!(code, Some(i32::from(EXIT_USAGE)), "{err}");
    assert!(
        err.contains("failoverd: --apple-compat cannot be combined with --deadtime"),
        "{err}"
    );
    let (code, err) = run(
        env!("CARGO_BIN_EXE_heartbeatd"),
        &[
            "--apple-compat",
            "--service",
            "eth0:192.0.2.10",
            "198.51.100.255",
        ],
    );
    assert_eq!(code, Some(i32::from(EXIT_USAGE)), "{err}");
    assert!(
        err.contains("heartbeatd: --apple-compat cannot be combined with --service"),
        "{err}"
    );
    let conf = write(
        dir.path(),
        "conf",
        "FAILOVER_APPLE_COMPAT=maybe\nFAILOVER_PEER_IP=198.51.100.1\nFAILOVER_PEER_IP_PAIRS=eth0:192.0.2.10\n",
        0o644,
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_failoverd"))
        .args(["--config", conf.to_str().expect("utf-8")])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(i32::from(EXIT_CONFIG)), "{err}");
    assert!(err.contains("Invalid Apple compatibility: maybe"), "{err}");
}
