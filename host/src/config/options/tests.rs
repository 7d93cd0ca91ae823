use std::os::unix::fs::PermissionsExt;

use std::path::Path;

use failover_core::{AdaptiveDeadTime, WitnessPolicy};

use super::*;
use crate::config::cli::{FailoverdArgs, HeartbeatdArgs};
use crate::config::cli::{ProblemKind, EXIT_CONFIG, EXIT_NOINPUT, EXIT_USAGE};
use crate::config::privileges::{check_privileges, privileges_from_status};

/// [`privileges_from_status`]'s verdict as the message it prints.
fn privileges_text(p: Program, status: &str) -> Result<(), String> {
    privileges_from_status(p, status).map_err(|e| e.to_string())
}

const FILE: &str = "/etc/default/failover";
const KEY16: &str = "000102030405060708090a0b0c0d0e0f";
const KEY32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn file(text: &str) -> HostConfig {
    HostConfig::parse(Path::new(FILE), text)
}

pub(crate) fn no_file() -> HostConfig {
    HostConfig::absent(Path::new(FILE))
}

fn fargs(args: &[&str]) -> FailoverdArgs {
    match parse_failoverd_args(std::iter::once("failoverd").chain(args.iter().copied())) {
        Ok(Invocation::Run(a)) => a,
        other => panic!("{args:?}: {other:?}"),
    }
}

fn hargs(args: &[&str]) -> HeartbeatdArgs {
    match parse_heartbeatd_args(std::iter::once("heartbeatd").chain(args.iter().copied())) {
        Ok(Invocation::Run(a)) => a,
        other => panic!("{args:?}: {other:?}"),
    }
}

pub(crate) fn failoverd(args: &[&str], f: &HostConfig) -> FailoverdOptions {
    FailoverdOptions::resolve(&fargs(args), f).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

pub(crate) fn heartbeatd(args: &[&str], f: &HostConfig) -> HeartbeatdOptions {
    HeartbeatdOptions::resolve(&hargs(args), f).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn f_err(args: &[&str], f: &HostConfig) -> StartupError {
    FailoverdOptions::resolve(&fargs(args), f).expect_err("refused")
}

fn h_err(args: &[&str], f: &HostConfig) -> StartupError {
    HeartbeatdOptions::resolve(&hargs(args), f).expect_err("refused")
}

/// The one problem `args` has.
fn f_one(args: &[&str]) -> String {
    let e = f_err(args, &no_file());
    assert_eq!(e.problems.len(), 1, "{e}");
    e.problems[0].message.clone()
}

fn h_one(args: &[&str]) -> String {
    let e = h_err(args, &no_file());
    assert_eq!(e.problems.len(), 1, "{e}");
    e.problems[0].message.clone()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("address")
}

#[test]
fn failoverd_defaults() {
    let o = failoverd(&["198.51.100.1", "eth0:192.0.2.10"], &no_file());
    let c = &o.common;
    assert_eq!(c.mode, RunMode::Background);
    assert_eq!(c.port, 1694);
    assert_eq!(c.facility, Facility::Daemon);
    assert_eq!(c.interval, Duration::from_secs(1));
    assert_eq!(c.witness, None);
    assert!(c.keys.is_none() && c.key_file.is_none());
    assert_eq!(c.config_file, Path::new(FILE));
    assert!(!c.config_loaded);
    assert_eq!(c.pid_file, Path::new("/run/failoverd.pid"));
    assert_eq!(c.sendmail, Path::new("/usr/sbin/sendmail"));
    assert_eq!(c.email_recipient.as_deref(), Some("root"));
    assert_eq!(c.spool_dir, Path::new("/var/spool/failover"));
    assert_eq!(c.metrics_file, None);
    assert!(c.warnings.is_empty());
    assert_eq!(o.master, ip("198.51.100.1"));
    assert_eq!(o.services.len(), 1);
    assert_eq!(o.services[0].to_string(), "eth0:192.0.2.10");
    assert_eq!(o.dead_time, DeadTime::Fixed(Duration::from_secs(3)));
    assert_eq!(o.hold_down, Duration::ZERO);
    assert_eq!(o.witness_mode, WitnessMode::Off);
    assert_eq!(o.scripts_dir, Path::new("/etc/failover"));
    assert_eq!(
        o.script_dir_for(ip("192.0.2.10")),
        Path::new("/etc/failover/192.0.2.10")
    );
    assert_eq!(o.script_timeout, Duration::from_secs(300));
    assert_eq!(o.links(), 2);

    let s = o.secondary_config(ip("198.51.100.2"), 7);
    assert_eq!(s.node, NodeId(0xC633_6402));
    assert_eq!(s.primary, Some(NodeId(0xC633_6401)));
    assert_eq!(s.epoch, 7);
    assert_eq!(s.links, 2);
    assert_eq!(s.interval, Duration::from_secs(1));
    assert_eq!(s.dead_time, DeadTime::Fixed(Duration::from_secs(3)));
    assert_eq!(s.witness, WitnessPolicy::Off);
    assert_eq!(s.witness_node, None);
    assert_eq!(s.stage_timeout, Duration::from_secs(300 * 16));
    assert!(s.keys.is_none());
    assert!(s.problems().is_empty());
}

#[test]
fn failoverd_every_option() {
    let o = failoverd(
        &[
            "-x",
            "-p",
            "2000",
            "-L",
            "local2",
            "--interval",
            "10",
            "--deadtime",
            "auto",
            "--hold-down",
            "240000",
            "--witness",
            "198.51.100.3",
            "--witness-policy",
            "preferred",
            "--scripts-dir",
            "/srv/failover",
            "--script-timeout",
            "5",
            "--pid-file",
            "/tmp/f.pid",
            "--sendmail",
            "/usr/lib/sendmail",
            "198.51.100.1",
            "eth0:192.0.2.10/24",
            "eth1:203.0.113.5",
            "eth0:192.0.2.11/32",
        ],
        &no_file(),
    );
    assert_eq!(o.common.mode, RunMode::NoFork);
    assert_eq!(o.common.port, 2000);
    assert_eq!(o.common.facility, Facility::Local(2));
    assert_eq!(o.common.interval, Duration::from_millis(10));
    assert_eq!(o.common.witness, Some(ip("198.51.100.3")));
    assert_eq!(o.common.pid_file, Path::new("/tmp/f.pid"));
    assert_eq!(o.common.sendmail, Path::new("/usr/lib/sendmail"));
    assert_eq!(o.dead_time, DeadTime::Adaptive(AdaptiveDeadTime::default()));
    assert_eq!(o.hold_down, Duration::from_secs(240));
    assert_eq!(o.witness_mode, WitnessMode::Preferred);
    assert_eq!(o.scripts_dir, Path::new("/srv/failover"));
    assert_eq!(o.script_timeout, Duration::from_secs(5));
    let names: Vec<&str> = o.public_interfaces().iter().map(|i| i.as_str()).collect();
    assert_eq!(names, ["eth0", "eth1"]);
    assert_eq!(o.links(), 3);
    assert_eq!(o.services[2].prefix, Some(32));

    let s = o.secondary_config(ip("198.51.100.2"), 1);
    assert_eq!(s.links, 3);
    assert_eq!(s.hold_down, Duration::from_secs(240));
    assert_eq!(
        s.witness,
        WitnessPolicy::Preferred {
            // hold-down + one lease of twenty 10 ms intervals
            fallback_hold_down: Duration::from_millis(240_200),
        }
    );
    assert_eq!(s.witness_node, Some(NodeId(0xC633_6403)));
    assert_eq!(s.stage_timeout, Duration::from_secs(80));
    assert!(s.problems().is_empty());
}

#[test]
fn witness_policy_defaults_to_required_with_a_witness() {
    let o = failoverd(
        &[
            "--witness",
            "198.51.100.3",
            "198.51.100.1",
            "eth0:192.0.2.10",
        ],
        &no_file(),
    );
    assert_eq!(o.witness_mode, WitnessMode::Required);
    assert_eq!(o.witness_policy(), WitnessPolicy::Required);
    let o = failoverd(
        &[
            "--witness",
            "198.51.100.3",
            "--witness-policy",
            "off",
            "198.51.100.1",
            "eth0:192.0.2.10",
        ],
        &no_file(),
    );
    assert_eq!(o.witness_policy(), WitnessPolicy::Off);
    assert_eq!(
        o.common.warnings,
        [
            "--witness is given but --witness-policy is off: the witness is not asked before a \
          takeover"
        ]
    );
}

#[test]
fn failoverd_takes_master_and_triplets_from_the_file() {
    let f = file(
        "FAILOVER_PEER_IP=198.51.100.1\n\
         FAILOVER_PEER_IP_PAIRS=\"eth0:192.0.2.10/24 eth1:203.0.113.5\"\n\
         FAILOVER_EMAIL_RECIPIENT=ops@example.com\n\
         IPFORWARDING=-YES-\n",
    );
    let o = failoverd(&[], &f);
    assert_eq!(o.master, ip("198.51.100.1"));
    assert_eq!(o.services.len(), 2);
    assert_eq!(o.services[1].to_string(), "eth1:203.0.113.5");
    assert_eq!(o.common.email_recipient.as_deref(), Some("ops@example.com"));
    assert!(o.common.config_loaded);
    assert_eq!(
        o.common.warnings,
        ["/etc/default/failover:4: unknown key IPFORWARDING ignored"]
    );
}

#[test]
fn the_command_line_wins_over_the_file() {
    // Even a broken value in the file does not matter when the command
    // line replaces it.
    let f = file(
        "FAILOVER_PEER_IP=10.0.0.300\n\
         FAILOVER_PEER_IP_PAIRS=\"eth9:10.0.0.1/99\"\n",
    );
    let o = failoverd(&["198.51.100.1", "eth0:192.0.2.10"], &f);
    assert_eq!(o.master, ip("198.51.100.1"));
    assert_eq!(o.services.len(), 1);
    assert_eq!(o.services[0].interface.as_str(), "eth0");

    let f = file("FAILOVER_BCAST_IPS=\"198.51.100.255 192.0.2.255\"\n");
    let h = heartbeatd(&["203.0.113.255"], &f);
    assert_eq!(h.targets, [ip("203.0.113.255")]);
    let h = heartbeatd(&[], &f);
    assert_eq!(h.targets, [ip("198.51.100.255"), ip("192.0.2.255")]);
}

#[test]
fn the_command_line_replaces_master_and_triplets_together() {
    let f = file("FAILOVER_PEER_IP_PAIRS=eth0:192.0.2.10\n");
    let e = f_err(&["198.51.100.1"], &f);
    assert_eq!(
        e.messages(),
        [
            "missing interface:pub_addr[/mask]: master_priv_addr is on the command line, so the \
          addresses to take over must be too (the command line replaces FAILOVER_PEER_IP and \
          FAILOVER_PEER_IP_PAIRS together)"
        ]
    );
    assert_eq!(e.exit_code(), EXIT_USAGE);
}

#[test]
fn missing_master_and_triplets() {
    let e = f_err(&[], &no_file());
    assert_eq!(
        e.messages(),
        [
            "missing master_priv_addr: give it on the command line or as FAILOVER_PEER_IP in \
             /etc/default/failover",
            "missing interface:pub_addr[/mask]: give at least one on the command line or in \
             FAILOVER_PEER_IP_PAIRS in /etc/default/failover",
        ]
    );
    assert_eq!(e.exit_code(), EXIT_USAGE);
    // An empty value counts as missing.
    let e = f_err(
        &[],
        &file("FAILOVER_PEER_IP=\"\"\nFAILOVER_PEER_IP_PAIRS=\" \"\n"),
    );
    assert_eq!(e.problems.len(), 2);
    // The usage synopsis follows.
    assert!(e.to_string().ends_with("failoverd [-h | -v]"), "{e}");
}

#[test]
fn gratuitous_arp_plan_is_configurable_and_checked() {
    let o = failoverd(
        &[
            "--arp-count",
            "5",
            "--arp-spacing",
            "20",
            "10.0.0.1",
            "eth0:192.0.2.1",
        ],
        &no_file(),
    );
    assert_eq!(o.common.announce.rounds, 5);
    assert_eq!(o.common.announce.spacing, Duration::from_millis(20));
    let o = failoverd(&["10.0.0.1", "eth0:192.0.2.1"], &no_file());
    assert_eq!(o.common.announce, AnnouncePlan::default());
    for (args, needle) in [
        (&["--arp-count", "0"][..], "between 1 and 50"),
        (&["--arp-count", "51"], "between 1 and 50"),
        (&["--arp-count", "x"], "Invalid gratuitous ARP count: x"),
        (&["--arp-spacing", "20000"], "at most 10000 ms"),
        (&["--arp-spacing", "0"], "positive when repeating"),
    ] {
        let mut all = args.to_vec();
        all.extend(["10.0.0.1", "eth0:192.0.2.1"]);
        let m = f_one(&all);
        assert!(m.contains(needle), "{args:?}: {m}");
    }
}

#[test]
fn an_email_recipient_the_mailer_would_refuse_is_refused_at_start() {
    let f = file("FAILOVER_EMAIL_RECIPIENT=\"Ops <ops@example.org>\"\n");
    let e = f_err(&[], &f);
    let m = e.messages().join("\n");
    assert!(m.contains("Invalid email recipient"), "{m}");
    assert!(m.contains("without names, quotes or angle brackets"), "{m}");
    let f = file("FAILOVER_EMAIL_RECIPIENT=\"ops@example.org, root\"\n");
    assert!(f_err(&[], &f)
        .messages()
        .iter()
        .all(|m| !m.contains("recipient")));
}

#[test]
fn values_from_the_file_are_configuration_problems_naming_file_and_line() {
    let f = file(
        "# comment\n\
         FAILOVER_PEER_IP=10.0.0.300\n\
         FAILOVER_PEER_IP_PAIRS=\"eth0:192.0.2.1/40 eth1\"\n\
         FAILOVER_EMAIL_RECIPIENT=\"a\tb\"\n",
    );
    let e = f_err(&[], &f);
    assert_eq!(
        e.messages(),
        [
            "Invalid email recipient: a\\tb (FAILOVER_EMAIL_RECIPIENT at \
             /etc/default/failover:4): it contains a control character",
            "CNode: invalid IP address: 10.0.0.300 (FAILOVER_PEER_IP at \
             /etc/default/failover:2)",
            "Invalid mask: /40 (in eth0:192.0.2.1/40, FAILOVER_PEER_IP_PAIRS at \
             /etc/default/failover:3): a mask is a prefix length from /0 to /32",
            "Invalid interface / IP address pair: eth1 (FAILOVER_PEER_IP_PAIRS at \
             /etc/default/failover:3): expected interface:pub_addr[/mask]",
        ]
    );
    assert!(e.problems.iter().all(|p| p.kind == ProblemKind::Config));
    assert_eq!(e.exit_code(), EXIT_CONFIG);

    let e = f_err(
        &[],
        &file(
            "FAILOVER_PEER_IP=\"198.51.100.1 198.51.100.2\"\nFAILOVER_PEER_IP_PAIRS=e:192.0.2.1\n",
        ),
    );
    assert_eq!(
        e.messages(),
        [
            "CNode: invalid IP address: 198.51.100.1 198.51.100.2 (FAILOVER_PEER_IP at \
          /etc/default/failover:1): give a single address"
        ]
    );
}

#[test]
fn malformed_file_lines_stop_the_start_even_if_the_command_line_is_complete() {
    let f = file("FAILOVER_PEER_IP 198.51.100.1\n");
    let e = f_err(&["198.51.100.1", "eth0:192.0.2.10"], &f);
    assert_eq!(
        e.messages(),
        ["/etc/default/failover:1: expected KEY=VALUE: FAILOVER_PEER_IP 198.51.100.1"]
    );
    assert_eq!(e.exit_code(), EXIT_CONFIG);
}

#[test]
fn the_spool_directory_comes_from_the_command_line_then_the_file() {
    let base = ["198.51.100.1", "eth0:192.0.2.10"];
    let f = file("FAILOVER_SPOOL_DIR=/srv/spool\n");
    assert_eq!(
        failoverd(&base, &f).common.spool_dir,
        Path::new("/srv/spool")
    );
    let args: Vec<&str> = ["--spool-dir", "/var/tmp/mail"]
        .into_iter()
        .chain(base)
        .collect();
    assert_eq!(
        failoverd(&args, &f).common.spool_dir,
        Path::new("/var/tmp/mail")
    );
    assert_eq!(
        heartbeatd(&["--spool-dir", "/x/y", "192.0.2.255"], &no_file())
            .common
            .spool_dir,
        Path::new("/x/y")
    );
    // Relative: the daemon works from / once in the background.
    let args: Vec<&str> = ["--spool-dir", "spool"].into_iter().chain(base).collect();
    let e = f_err(&args, &no_file());
    assert!(
        e.to_string().contains("Invalid mail spool directory"),
        "{e}"
    );
    assert!(e.to_string().contains("absolute"), "{e}");
    assert_eq!(e.exit_code(), EXIT_USAGE);
    let e = f_err(&base, &file("FAILOVER_SPOOL_DIR=spool\n"));
    assert!(e.to_string().contains("FAILOVER_SPOOL_DIR at"), "{e}");
    assert_eq!(e.exit_code(), EXIT_CONFIG);
}

#[test]
fn email_recipient_set_empty_means_no_email() {
    let f = file("FAILOVER_EMAIL_RECIPIENT=\n");
    let o = failoverd(&["198.51.100.1", "eth0:192.0.2.10"], &f);
    assert_eq!(o.common.email_recipient, None);
}

#[test]
fn the_metrics_file_comes_from_the_command_line_then_the_file() {
    let base = ["198.51.100.1", "eth0:192.0.2.10"];
    let f = file("FAILOVER_METRICS_FILE=/var/lib/node_exporter/failover.prom\n");
    assert_eq!(
        failoverd(&base, &f).common.metrics_file.as_deref(),
        Some(Path::new("/var/lib/node_exporter/failover.prom"))
    );
    let args: Vec<&str> = ["--metrics-file", "/srv/m/fo.prom"]
        .into_iter()
        .chain(base)
        .collect();
    assert_eq!(
        failoverd(&args, &f).common.metrics_file.as_deref(),
        Some(Path::new("/srv/m/fo.prom"))
    );
    assert_eq!(
        heartbeatd(&["--metrics-file", "/x/hb.prom", "192.0.2.255"], &no_file())
            .common
            .metrics_file
            .as_deref(),
        Some(Path::new("/x/hb.prom"))
    );
    // Set to nothing in the file: no metrics.
    assert_eq!(
        failoverd(&base, &file("FAILOVER_METRICS_FILE=\n"))
            .common
            .metrics_file,
        None
    );
    for (bad, why) in [
        ("metrics.prom", "give an absolute path"),
        ("/var/lib/node_exporter/", "give a file, not a directory"),
        (
            "/var/lib/node_exporter/failover.txt",
            "node_exporter's textfile collector reads only files named *.prom",
        ),
        (
            "/var/lib/node_exporter/failover",
            "node_exporter's textfile collector reads only files named *.prom",
        ),
        (
            "/var/lib/node_exporter/.prom",
            "node_exporter's textfile collector reads only files named *.prom",
        ),
    ] {
        let args: Vec<&str> = ["--metrics-file", bad].into_iter().chain(base).collect();
        let e = f_err(&args, &no_file());
        assert_eq!(e.exit_code(), EXIT_USAGE, "{bad}: {e}");
        assert_eq!(
            e.problems[0].message,
            format!("Invalid metrics file: {bad} (--metrics-file): {why}"),
        );
        let e = h_err(
            &["192.0.2.255"],
            &file(&format!("FAILOVER_METRICS_FILE={bad}\n")),
        );
        assert_eq!(e.exit_code(), EXIT_CONFIG, "{bad}: {e}");
        assert!(
            e.to_string().contains("(FAILOVER_METRICS_FILE at "),
            "{bad}: {e}"
        );
    }
}

#[test]
fn failoverd_extension_messages() {
    let base = ["198.51.100.1", "eth0:192.0.2.10"];
    let with = |opts: &[&str]| -> String {
        let args: Vec<&str> = opts.iter().copied().chain(base).collect();
        f_one(&args)
    };
    for bad in ["0", "abc", "3600001", "1.5"] {
        assert_eq!(
            with(&["--interval", bad]),
            format!("Invalid interval: {bad} (--interval): give milliseconds from 1 to 3600000")
        );
    }
    assert_eq!(
        with(&["--deadtime", "fast"]),
        "Invalid dead time: fast (--deadtime): give milliseconds, \"auto\", or \"auto:N\" \
         for at least N silent intervals (2 to 64)"
    );
    for bad in ["auto:1", "auto:65", "auto:", "auto:x", "auto:3.5"] {
        assert_eq!(
            with(&["--deadtime", bad]),
            format!("Invalid dead time: {bad} (--deadtime): auto:N takes 2 to 64 silent intervals")
        );
    }
    assert_eq!(
        with(&["--hold-down", "10s"]),
        "Invalid hold-down: 10s (--hold-down): give milliseconds"
    );
    assert_eq!(
        with(&["--witness-policy", "maybe"]),
        "Invalid witness policy: maybe (--witness-policy): give off, preferred or required"
    );
    for bad in ["0", "86401", "1m"] {
        assert_eq!(
            with(&["--script-timeout", bad]),
            format!(
                "Invalid script timeout: {bad} (--script-timeout): give whole seconds from 1 \
                 to 86400"
            )
        );
    }
    assert_eq!(
        with(&["--witness", "198.51.100.300"]),
        "CNode: invalid IP address: 198.51.100.300 (--witness)"
    );
    assert_eq!(
        with(&["-p", "0"]),
        "Invalid port. Valid ports range from 1 to 65535."
    );
    assert_eq!(
        with(&["--syslog=kern"]),
        "Invalid syslog facility. \"kern\" is not one of daemon (the default), auth, user, \
         local0 to local7."
    );
}

#[test]
fn failoverd_consistency_messages() {
    assert_eq!(
        f_one(&["198.51.100.1", "eth0:192.0.2.10", "eth1:192.0.2.10/24"]),
        "the public address 192.0.2.10 is given twice"
    );
    assert_eq!(
        f_one(&["198.51.100.1", "eth0:198.51.100.1"]),
        "the public address 198.51.100.1 is also master_priv_addr: the backup must never \
         acquire the master's private address"
    );
    assert_eq!(
        f_one(&[
            "--witness",
            "198.51.100.1",
            "198.51.100.1",
            "eth0:192.0.2.10"
        ]),
        "--witness 198.51.100.1 is master_priv_addr: the witness must be a third machine"
    );
    assert_eq!(
        f_one(&["--witness", "192.0.2.10", "198.51.100.1", "eth0:192.0.2.10"]),
        "--witness 192.0.2.10 is also a public address to take over: the witness must be a \
         third machine"
    );
    assert_eq!(
        f_one(&[
            "--witness-policy",
            "required",
            "198.51.100.1",
            "eth0:192.0.2.10"
        ]),
        "--witness-policy required needs a witness: give its private address with --witness \
         ADDR"
    );
    assert_eq!(
        f_one(&["--deadtime", "1000", "198.51.100.1", "eth0:192.0.2.10"]),
        "dead time 1000 ms is shorter than two heartbeat intervals (1000 ms each)"
    );
    assert_eq!(
        f_one(&[
            "198.51.100.1",
            "eth0:192.0.2.10",
            "eth1:192.0.2.11",
            "eth2:192.0.2.12",
            "eth3:192.0.2.13"
        ]),
        "5 networks to watch (the private one and 4 public interfaces); between 1 and 4 are \
         supported"
    );
    // The master forgotten: the first triplet took its place.
    let e = f_err(&["eth0:192.0.2.10"], &no_file());
    assert_eq!(
        e.messages()[0],
        "CNode: invalid IP address: eth0:192.0.2.10 (master_priv_addr): this is an \
         interface:pub_addr[/mask] triplet; the master's private address comes first"
    );
    // Dead time and interval scale together.
    let o = failoverd(
        &[
            "--interval",
            "5",
            "--deadtime",
            "10",
            "198.51.100.1",
            "e:192.0.2.1",
        ],
        &no_file(),
    );
    assert_eq!(o.dead_time, DeadTime::Fixed(Duration::from_millis(10)));
}

#[test]
fn the_default_dead_time_is_apples_at_apples_intervals_and_adaptive_below() {
    let dead_time = |interval: &str| {
        failoverd(
            &["--interval", interval, "198.51.100.1", "e:192.0.2.1"],
            &no_file(),
        )
        .dead_time
    };
    assert_eq!(dead_time("1000"), DeadTime::Fixed(Duration::from_secs(3)));
    assert_eq!(
        dead_time("2500"),
        DeadTime::Fixed(Duration::from_millis(7500))
    );
    let auto = DeadTime::Adaptive(AdaptiveDeadTime::default());
    assert_eq!(dead_time("999"), auto);
    assert_eq!(dead_time("10"), auto);
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let f = file("FAILOVER_EMAIL_RECIPIENT=\"x\u{1}\"\nbroken\n");
    let e = f_err(
        &[
            "-p",
            "70000",
            "-L",
            "local9",
            "--interval",
            "0",
            "--witness-policy",
            "sometimes",
            "--witness",
            "::1",
            "10.0.0.256",
            "eth0/1:192.0.2.1/33",
            "eth0",
        ],
        &f,
    );
    let m = e.messages();
    assert_eq!(m.len(), 11, "{e}");
    assert_eq!(e.exit_code(), EXIT_USAGE);
    assert_eq!(m[0], "Invalid port. Valid ports range from 1 to 65535.");
    assert!(m[1].starts_with("Invalid syslog facility."));
    assert!(m[2].starts_with("Invalid interval: 0"));
    assert_eq!(
        m[3],
        "CNode: invalid IP address: ::1 (--witness): only service addresses may be IPv6 (heartbeats, the witness and --probe are IPv4)"
    );
    assert!(m[4].starts_with("Invalid email recipient"));
    assert!(m[5].starts_with("Invalid witness policy"));
    assert_eq!(
        m[6],
        "CNode: invalid IP address: 10.0.0.256 (master_priv_addr)"
    );
    assert!(m[7].starts_with("CNode: invalid interface name: eth0/1"));
    assert!(m[8].starts_with("Invalid mask: /33"));
    assert!(m[9].starts_with("Invalid interface / IP address pair: eth0"));
    assert_eq!(m[10], "/etc/default/failover:2: expected KEY=VALUE: broken");
}

#[test]
fn heartbeatd_defaults_and_core_config() {
    let o = heartbeatd(&["198.51.100.255", "192.0.2.255"], &no_file());
    assert_eq!(o.targets, [ip("198.51.100.255"), ip("192.0.2.255")]);
    assert!(o.services.is_empty());
    assert_eq!(o.message, "");
    assert_eq!(o.common.port, 1694);
    assert_eq!(o.common.pid_file, Path::new("/run/heartbeatd.pid"));
    assert_eq!(o.links(), 2);
    let p = o.primary_config(ip("198.51.100.1"), 3);
    assert_eq!(p.node, NodeId(0xC633_6401));
    assert_eq!(p.epoch, 3);
    assert_eq!(p.links, 2);
    assert!(!p.manage_addresses);
    assert_eq!(p.witness_node, None);
    assert_eq!(p.isolation_fence, None);
    assert!(p.message.is_empty());
    assert!(p.problems().is_empty());
}

#[test]
fn heartbeatd_every_option() {
    let o = heartbeatd(
        &[
            "-d",
            "-p",
            "1695",
            "-m",
            "primary in rack 4",
            "-L",
            "auth",
            "--interval",
            "100",
            "--witness",
            "198.51.100.3",
            "--service",
            "eth1:192.0.2.10/24",
            "--service",
            "eth1:192.0.2.11",
            "198.51.100.255",
            "192.0.2.255",
        ],
        &no_file(),
    );
    assert_eq!(o.common.mode, RunMode::Debug);
    assert_eq!(o.common.port, 1695);
    assert_eq!(o.common.facility, Facility::Auth);
    assert_eq!(o.services.len(), 2);
    let p = o.primary_config(ip("198.51.100.1"), 9);
    assert!(p.manage_addresses);
    assert_eq!(p.interval, Duration::from_millis(100));
    assert_eq!(p.witness_node, Some(NodeId(0xC633_6403)));
    assert_eq!(p.isolation_fence, Some(Duration::from_millis(400)));
    assert_eq!(&p.message[..], b"primary in rack 4");
    assert!(p.problems().is_empty());
}

#[test]
fn heartbeatd_pins_the_secondary_given_with_peer_and_warns_without() {
    let o = heartbeatd(&["198.51.100.255"], &no_file());
    assert_eq!(o.peer, None);
    assert_eq!(o.primary_config(ip("198.51.100.1"), 1).secondary, None);
    assert!(
        o.common
            .warnings
            .iter()
            .any(|w| w.starts_with("no --peer (or FAILOVER_SECONDARY_IP) and no key: any node")),
        "{:?}",
        o.common.warnings
    );
    let o = heartbeatd(&["--peer", "198.51.100.2", "198.51.100.255"], &no_file());
    assert_eq!(
        o.primary_config(ip("198.51.100.1"), 1).secondary,
        Some(NodeId(0xC633_6402))
    );
    assert!(!o.common.warnings.iter().any(|w| w.contains("--peer")));
    let f = file("FAILOVER_SECONDARY_IP=198.51.100.2\n");
    assert_eq!(
        heartbeatd(&["198.51.100.255"], &f).peer,
        Some(ip("198.51.100.2"))
    );
    assert_eq!(
        heartbeatd(&["--peer", "198.51.100.4", "198.51.100.255"], &f).peer,
        Some(ip("198.51.100.4")),
        "the command line wins"
    );
    assert_eq!(
        h_one(&[
            "--peer",
            "198.51.100.3",
            "--witness",
            "198.51.100.3",
            "198.51.100.255"
        ]),
        "--peer 198.51.100.3 is also the --witness: the secondary and the witness are two machines"
    );
    assert!(h_one(&["--peer", "nonsense", "198.51.100.255"]).contains("--peer"));
}

#[test]
fn heartbeatd_messages() {
    assert_eq!(
        h_one(&[]),
        "missing ip_addr: give the broadcast addresses, private network first, on the \
         command line or as FAILOVER_BCAST_IPS in /etc/default/failover"
    );
    assert_eq!(
        h_one(&["198.51.100.255", "198.51.100.255"]),
        "the target 198.51.100.255 is given twice: list each network once"
    );
    let long = "x".repeat(65);
    assert_eq!(
        h_one(&["-m", &long, "198.51.100.255"]),
        "Message too long: 65 bytes (--message): heartbeats carry at most 64"
    );
    assert!(
        heartbeatd(&["-m", &"x".repeat(64), "198.51.100.255"], &no_file())
            .message
            .len()
            == 64
    );
    assert_eq!(
        h_one(&[
            "198.51.100.255",
            "192.0.2.255",
            "203.0.113.255",
            "198.51.100.127",
            "192.0.2.127"
        ]),
        "5 ip_addr targets; between 1 and 4 networks are supported"
    );
    assert_eq!(
        h_one(&["198.51.100.256"]),
        "CNode: invalid IP address: 198.51.100.256 (ip_addr)"
    );
    assert_eq!(
        h_one(&["224.0.0.1"]),
        "CNode: invalid IP address: 224.0.0.1 (ip_addr): a multicast address cannot be used"
    );
    assert_eq!(
        h_one(&["--service", "eth0:192.0.2.300", "198.51.100.255"]),
        "CNode: invalid IP address: 192.0.2.300 (in eth0:192.0.2.300, --service)"
    );
    assert_eq!(
        h_one(&["--service", "eth0", "198.51.100.255"]),
        "Invalid interface / IP address pair: eth0 (--service): expected \
         interface:pub_addr[/mask]"
    );
    assert_eq!(
        h_one(&[
            "--service",
            "a:192.0.2.10",
            "--service",
            "b:192.0.2.10",
            "198.51.100.255"
        ]),
        "the service address 192.0.2.10 is given twice"
    );
    assert_eq!(
        h_one(&[
            "--witness",
            "192.0.2.10",
            "--service",
            "a:192.0.2.10",
            "198.51.100.255"
        ]),
        "--witness 192.0.2.10 is also a --service address: the witness must be a third \
         machine"
    );
    let e = h_err(
        &[],
        &file("FAILOVER_BCAST_IPS=\"198.51.100.256 192.0.2.255 192.0.2.255\"\n"),
    );
    assert_eq!(
        e.messages(),
        [
            "CNode: invalid IP address: 198.51.100.256 (FAILOVER_BCAST_IPS at \
             /etc/default/failover:1)",
            "the target 192.0.2.255 is given twice: list each network once",
        ]
    );
    assert_eq!(e.exit_code(), EXIT_CONFIG);
}

#[test]
fn node_ids_are_private_addresses() {
    assert_eq!(node_id(ip("198.51.100.1")), NodeId(0xC633_6401));
    assert_eq!(node_id(ip("0.0.0.1")), NodeId(1));
    assert_eq!(
        to_std(Duration::from_millis(1500)),
        std::time::Duration::from_millis(1500)
    );
}

fn key_file(dir: &Path, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(format!("key-{mode:o}"));
    std::fs::write(&path, text).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

/// The message of the one problem refusing the key file at `path`, after
/// checking that it is refused with exactly one configuration problem: the
/// refusals of an unsafe file differ only in that message.
fn the_one_config_problem(path: &Path) -> String {
    let e = load_key_file(path).expect_err("refused");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].kind, ProblemKind::Config);
    e[0].message.clone()
}

#[test]
fn key_file_mode_600_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_file(
        dir.path(),
        &format!(
            "# heartbeat keys\n7 {KEY16}\n\n8 {} # rotation\n",
            KEY32.to_uppercase()
        ),
        0o600,
    );
    let ring = load_key_file(&path).expect("readable");
    assert_eq!(ring.current().id(), 7);
    assert!(ring.get(8).is_some());
    assert_eq!(ring.iter().count(), 2);
    // 0400 is fine too.
    let path = key_file(dir.path(), &format!("1 {KEY16}\n"), 0o400);
    assert_eq!(load_key_file(&path).expect("readable").current().id(), 1);
}

#[test]
fn key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for mode in [0o644, 0o640, 0o604, 0o620, 0o660, 0o666, 0o610] {
        let path = key_file(dir.path(), &format!("1 {KEY16}\n"), mode);
        let p = path.display();
        assert_eq!(
            the_one_config_problem(&path),
            format!(
                "key file {p} is accessible by group or others (mode {mode:04o}): anyone who \
                 can read it can forge heartbeats; fix with: chmod 600 {p}"
            )
        );
    }
}

#[test]
fn key_file_not_owned_by_root_is_refused_when_running_as_root() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: needs root (chown)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_file(dir.path(), &format!("1 {KEY16}\n"), 0o600);
    std::os::unix::fs::chown(&path, Some(4321), Some(4321)).expect("chown");
    let p = path.display();
    assert_eq!(
        the_one_config_problem(&path),
        format!(
            "key file {p} is owned by uid 4321, not root: its owner can read and change the \
             keys; fix with: chown root:root {p}"
        )
    );
    std::os::unix::fs::chown(&path, Some(0), Some(0)).expect("chown");
    assert!(load_key_file(&path).is_ok());
}

#[test]
fn key_file_missing_or_not_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let e = load_key_file(&missing).expect_err("missing");
    assert_eq!(e[0].kind, ProblemKind::NoInput);
    assert_eq!(
        e[0].message,
        format!(
            "cannot read key file {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    let e = load_key_file(dir.path()).expect_err("a directory");
    assert_eq!(
        e[0].message,
        format!("key file {} is not a regular file", dir.path().display())
    );
}

#[test]
fn a_key_file_with_its_columns_swapped_never_shows_the_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_file(
        dir.path(),
        &format!("# keys\n{KEY32} 1\n{KEY16} 2 \n"),
        0o600,
    );
    let e = load_key_file(&path).expect_err("refused");
    let p = path.display();
    let swapped = "the columns are swapped: the key id comes first, then the secret (neither \
                   is shown)";
    assert_eq!(
        e.iter().map(|p| p.message.as_str()).collect::<Vec<_>>(),
        [format!("{p}:2: {swapped}"), format!("{p}:3: {swapped}")]
    );
    for problem in &e {
        for secret in [KEY16, KEY32, &KEY32[..8], &KEY32[32..]] {
            assert!(!problem.message.contains(secret), "{}", problem.message);
        }
    }
    // A secret split by a space: its first part, short as an id, is not
    // shown either.
    let e = parse_keys("9e2f7c1a 0e0f10111213\n", "k").expect_err("refused");
    assert_eq!(
        e[0].message,
        "k:1: the key id (first column) must be a number from 0 to 255; found a value of 8 \
         characters (not shown: it may be a secret)"
    );
    assert!(e.iter().all(|p| !p.message.contains("9e2f7c1a")), "{e:?}");
}

#[test]
fn key_file_format_messages_never_quote_the_secret() {
    let cases: [(String, &str); 8] = [
        (
            "1\n".into(),
            "k:1: expected \"ID HEXSECRET\" (a key id from 0 to 255, a space, then the secret \
             in hexadecimal)",
        ),
        (
            format!("1 {KEY16} extra\n"),
            "k:1: expected \"ID HEXSECRET\" (a key id from 0 to 255, a space, then the secret \
             in hexadecimal)",
        ),
        (
            format!("256 {KEY16}\n"),
            "k:1: the key id (first column) must be a number from 0 to 255; found a value of 3 characters (not shown: it may be a secret)",
        ),
        (
            "1 00112233445566778899aabbccddee\n".into(),
            "k:1: the secret (second column) is 15 bytes; a key needs 16 to 64 bytes (32 to 128 hex digits)",
        ),
        (
            format!("1 {KEY32}{KEY32}00\n"),
            "k:1: the secret (second column) is 65 bytes; a key needs 16 to 64 bytes (32 to 128 hex digits)",
        ),
        (
            format!("1 {KEY16}0\n"),
            "k:1: the secret (second column) is not hexadecimal (two digits 0-9, a-f per byte)",
        ),
        (
            format!("1 zz{KEY16}\n"),
            "k:1: the secret (second column) is not hexadecimal (two digits 0-9, a-f per byte)",
        ),
        (
            "# nothing\n\n".into(),
            "k: no key found (expected lines \"ID HEXSECRET\")",
        ),
    ];
    for (text, message) in cases {
        let e = parse_keys(&text, "k").expect_err(&text);
        assert_eq!(e.len(), 1, "{text}: {e:?}");
        assert_eq!(e[0].message, message, "{text}");
        assert!(
            !e[0].message.contains("0a0b0c"),
            "a secret leaked: {}",
            e[0].message
        );
    }
    let e = parse_keys(&format!("1 {KEY16}\n1 {KEY32}\n"), "k").expect_err("duplicate");
    assert_eq!(e[0].message, "k:2: key id 1 is given twice");
    let e = parse_keys(&format!("1 {KEY16}\n2 {KEY16}\n3 {KEY16}\n"), "k").expect_err("3");
    assert_eq!(
        e[0].message,
        "k:3: more than 2 keys: the file holds the signing key and at most one other, \
         accepted during a rotation"
    );
    // Every bad line is reported.
    let e = parse_keys("x y\n999 00\n", "k").expect_err("two lines");
    assert_eq!(e.len(), 4, "{e:?}");
}

#[test]
fn the_key_file_is_loaded_when_resolving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = key_file(dir.path(), &format!("5 {KEY32}\n"), 0o600);
    let good = good.to_str().expect("utf-8");
    let o = failoverd(
        &["--key-file", good, "198.51.100.1", "e:192.0.2.1"],
        &no_file(),
    );
    assert_eq!(o.common.keys.as_ref().map(|k| k.current().id()), Some(5));
    let s = o.secondary_config(ip("198.51.100.2"), 1);
    assert_eq!(s.keys.map(|k| k.current().id()), Some(5));
    let h = heartbeatd(&["--key-file", good, "198.51.100.255"], &no_file());
    assert_eq!(
        h.primary_config(ip("198.51.100.1"), 1)
            .keys
            .map(|k| k.current().id()),
        Some(5)
    );

    let bad = key_file(dir.path(), &format!("5 {KEY32}\n"), 0o644);
    let e = f_err(
        &[
            "-p",
            "0",
            "--key-file",
            bad.to_str().expect("utf-8"),
            "198.51.100.1",
            "e:192.0.2.1",
        ],
        &no_file(),
    );
    assert_eq!(e.problems.len(), 2, "{e}");
    assert!(e.messages()[1].contains("chmod 600"), "{e}");
    let e = h_err(
        &["--key-file", "/nonexistent/key", "198.51.100.255"],
        &no_file(),
    );
    assert_eq!(e.exit_code(), EXIT_NOINPUT);
}

#[test]
fn privileges() {
    let status = |uid: &str, caps: &str| {
        format!("Name:\tfailoverd\nUid:\t{uid}\nGid:\t0\t0\t0\t0\nCapEff:\t{caps}\n")
    };
    let refused = "failoverd must be executed as root (or with CAP_NET_RAW and CAP_NET_ADMIN): \
                   it controls system-wide resources.";
    let p = Program::Failoverd;
    assert_eq!(
        privileges_text(p, &status("0\t0\t0\t0", "0000000000000000")),
        Ok(())
    );
    assert_eq!(
        privileges_text(p, &status("1000\t1000\t1000\t1000", "0000000000003000")),
        Ok(())
    );
    assert_eq!(
        privileges_text(p, &status("1000\t1000\t1000\t1000", "000001ffffffffff")),
        Ok(())
    );
    for caps in [
        "0000000000002000",
        "0000000000001000",
        "0000000000000000",
        "zz",
    ] {
        assert_eq!(
            privileges_text(p, &status("1000\t1000\t1000\t1000", caps)),
            Err(refused.to_owned()),
            "{caps}"
        );
    }
    // Root's real uid alone is not enough: the effective one counts.
    assert_eq!(
        privileges_text(p, &status("0\t1000\t0\t1000", "0000000000000000")),
        Err(refused.to_owned())
    );
    assert_eq!(privileges_text(p, ""), Err(refused.to_owned()));
    assert_eq!(
        privileges_text(Program::Heartbeatd, ""),
        Err(
            "heartbeatd must be executed as root (or with CAP_NET_RAW and CAP_NET_ADMIN): it \
             controls system-wide resources."
                .to_owned()
        )
    );
    // On this machine: either outcome, but never a read failure.
    match check_privileges(p) {
        Ok(()) => {}
        Err(e) => assert_eq!(e.to_string(), refused),
    }
}

#[test]
fn from_args_reads_the_named_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("failover");
    std::fs::write(
        &conf,
        "FAILOVER_PEER_IP=198.51.100.1\nFAILOVER_PEER_IP_PAIRS=eth0:192.0.2.10\n",
    )
    .expect("write");
    let conf = conf.to_str().expect("utf-8");
    match failoverd_from_args(["failoverd", "-n", "--config", conf]) {
        Ok(Invocation::Run(o)) => {
            assert_eq!(o.common.mode, RunMode::NoRun);
            assert_eq!(o.master, ip("198.51.100.1"));
            assert!(o.common.config_loaded);
        }
        other => panic!("{other:?}"),
    }
    let missing = dir.path().join("missing");
    let e = failoverd_from_args([
        "failoverd",
        "--config",
        missing.to_str().expect("utf-8"),
        "198.51.100.1",
        "eth0:192.0.2.10",
    ])
    .expect_err("missing");
    assert_eq!(e.exit_code(), EXIT_NOINPUT);
    assert_eq!(
        e.messages(),
        [format!(
            "cannot read configuration file {}: No such file or directory (os error 2)",
            missing.display()
        )]
    );
    assert!(matches!(
        heartbeatd_from_args(["heartbeatd", "-v"]),
        Ok(Invocation::Version(_))
    ));
    assert!(matches!(
        failoverd_from_args(["failoverd", "--help"]),
        Ok(Invocation::Help(_))
    ));
}

/// Every option has a key in the file; the command line wins option by
/// option; a file shared by both servers sets each daemon's own keys.
#[test]
fn every_option_can_come_from_the_file_and_the_command_line_wins() {
    let f = file(
        "FAILOVER_PEER_IP=198.51.100.1\n\
         FAILOVER_PEER_IP_PAIRS=pub0:192.0.2.10\n\
         FAILOVER_BCAST_IPS=\"198.51.100.255 192.0.2.255\"\n\
         FAILOVER_INTERVAL=10\n\
         FAILOVER_DEADTIME=40\n\
         FAILOVER_HOLD_DOWN=20\n\
         FAILOVER_WITNESS=198.51.100.3\n\
         FAILOVER_WITNESS_POLICY=preferred\n\
         FAILOVER_SCRIPT_TIMEOUT=7\n\
         FAILOVER_SCRIPTS_DIR=/srv/failover\n\
         FAILOVER_PORT=1700\n\
         FAILOVER_ARP_COUNT=5\n\
         FAILOVER_STATE_DIR=/srv/state\n\
         FAILOVER_SERVICES=\"pub0:192.0.2.10 pub0:192.0.2.11/32\"\n\
         FAILOVER_MESSAGE=\"rack 4\"\n",
    );
    let o = failoverd(&[], &f);
    assert_eq!(o.common.interval, Duration::from_millis(10));
    assert_eq!(o.dead_time, DeadTime::Fixed(Duration::from_millis(40)));
    assert_eq!(o.hold_down, Duration::from_millis(20));
    assert_eq!(o.common.witness, Some(ip("198.51.100.3")));
    assert_eq!(o.witness_mode, WitnessMode::Preferred);
    assert_eq!(o.script_timeout, Duration::from_secs(7));
    assert_eq!(o.scripts_dir, Path::new("/srv/failover"));
    assert_eq!(o.common.port, 1700);
    assert_eq!(o.common.announce.rounds, 5);
    assert_eq!(o.common.state_dir, Path::new("/srv/state"));
    assert!(o.common.warnings.is_empty(), "{:?}", o.common.warnings);
    // The command line wins, one option at a time.
    let o = failoverd(&["--interval", "20", "--deadtime", "auto"], &f);
    assert_eq!(o.common.interval, Duration::from_millis(20));
    assert_eq!(o.dead_time, DeadTime::Adaptive(AdaptiveDeadTime::default()));
    // auto:N keeps every default but the floor.
    let o = failoverd(&["--interval", "20", "--deadtime", "auto:4"], &f);
    let four = AdaptiveDeadTime {
        min_intervals: 4,
        ..AdaptiveDeadTime::default()
    };
    assert_eq!(o.dead_time, DeadTime::Adaptive(four));
    for n in [2, 64] {
        let o = failoverd(&["--deadtime", &format!("auto:{n}")], &f);
        assert!(matches!(o.dead_time, DeadTime::Adaptive(a) if a.min_intervals == n));
    }
    assert_eq!(o.hold_down, Duration::from_millis(20));

    let h = heartbeatd(&[], &f);
    assert_eq!(h.common.interval, Duration::from_millis(10));
    assert_eq!(h.message, "rack 4");
    let services: Vec<String> = h.services.iter().map(ToString::to_string).collect();
    assert_eq!(services, ["pub0:192.0.2.10", "pub0:192.0.2.11/32"]);
    // Any --service replaces the file's list.
    let h = heartbeatd(&["--service", "pub1:192.0.2.20"], &f);
    assert_eq!(h.services.len(), 1);
}

/// A bad value from the file is a configuration problem (exit 78) that
/// names the key and its line, not the option the administrator never
/// typed; an unknown key is a problem for -n, with the key meant.
#[test]
fn bad_file_values_name_their_key_and_unknown_keys_fail_the_check() {
    let f = file(
        "FAILOVER_PEER_IP=198.51.100.1\n\
         FAILOVER_PEER_IP_PAIRS=pub0:192.0.2.10\n\
         FAILOVER_INTERVAL=often\n\
         FAILOVER_WITNESS=198.51.100.300\n\
         FAILOVER_DEADTIM=40\n",
    );
    let e = f_err(&[], &f);
    assert_eq!(e.exit_code(), EXIT_CONFIG, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("FAILOVER_INTERVAL at /etc/default/failover:3"),
        "{text}"
    );
    assert!(
        text.contains("FAILOVER_WITNESS at /etc/default/failover:4"),
        "{text}"
    );
    assert!(!text.contains("--interval"), "{text}");
    // Started for real, the unknown key is a warning ...
    let ok = file(
        "FAILOVER_PEER_IP=198.51.100.1\n\
         FAILOVER_PEER_IP_PAIRS=pub0:192.0.2.10\n\
         FAILOVER_DEADTIM=40\n",
    );
    let o = failoverd(&[], &ok);
    assert_eq!(
        o.common.warnings,
        ["/etc/default/failover:3: unknown key FAILOVER_DEADTIM (did you mean FAILOVER_DEADTIME?) \
          ignored"]
    );
    // ... and a problem for -n, which checks what would run.
    let e = f_err(&["-n"], &ok);
    assert_eq!(e.exit_code(), EXIT_CONFIG, "{e}");
    assert!(
        e.to_string()
            .contains("unknown key FAILOVER_DEADTIM (did you mean FAILOVER_DEADTIME?)"),
        "{e}"
    );
    // The Debian habit: a whole command line in one key.
    let debian =
        file("FAILOVER_BCAST_IPS=198.51.100.255\nHEARTBEATD_ARGS=\"--service pub0:192.0.2.10\"\n");
    let e = h_err(&["-n"], &debian);
    assert!(e.to_string().contains("unknown key HEARTBEATD_ARGS"), "{e}");
}

#[test]
fn failback_is_auto_by_default_manual_on_request_and_checked() {
    use failover_core::Failback;
    let base = ["--service", "eth0:192.0.2.10", "198.51.100.255"];
    assert_eq!(heartbeatd(&base, &no_file()).failback, Failback::Auto);
    let manual = [&base[..], &["--failback", "manual"]].concat();
    let o = heartbeatd(&manual, &no_file());
    assert_eq!(o.failback, Failback::Manual);
    assert_eq!(
        o.primary_config(ip("198.51.100.1"), 1).failback,
        Failback::Manual
    );
    let from_file = heartbeatd(&base, &file("FAILOVER_FAILBACK=manual\n"));
    assert_eq!(from_file.failback, Failback::Manual);

    let bad = [&base[..], &["--failback", "sometimes"]].concat();
    assert_eq!(
        h_one(&bad),
        "--failback is \"sometimes\": it is auto or manual"
    );
    let e = h_err(&base, &file("FAILOVER_FAILBACK=never\n"));
    assert_eq!(
        e.messages(),
        ["FAILOVER_FAILBACK at /etc/default/failover:1 is \"never\": it is auto or manual"]
    );
    assert_eq!(e.exit_code(), EXIT_CONFIG);
}

#[test]
fn health_checks_run_only_when_asked_with_service_and_checked_values() {
    let base = ["--service", "eth0:192.0.2.10", "198.51.100.255"];
    assert_eq!(heartbeatd(&base, &no_file()).checks, None);
    let with = [
        &base[..],
        &["--check-interval", "500", "--scripts-dir", "/srv/f"],
    ]
    .concat();
    let o = heartbeatd(&with, &no_file());
    let checks = o.checks.expect("checks");
    assert_eq!(checks.every, Duration::from_millis(500));
    assert_eq!(checks.failures, 3);
    assert_eq!(o.scripts_dir, Path::new("/srv/f"));
    let f = file("FAILOVER_CHECK_INTERVAL=2000\nFAILOVER_CHECK_FAILURES=5\n");
    let o = heartbeatd(&base, &f);
    let checks = o.checks.expect("checks from the file");
    assert_eq!((checks.every, checks.failures), (Duration::from_secs(2), 5));
    assert_eq!(o.scripts_dir, Path::new("/etc/failover"));

    let slow = [&base[..], &["--check-interval", "50"]].concat();
    assert!(
        h_one(&slow).starts_with("Invalid check interval: 50"),
        "{}",
        h_one(&slow)
    );
    let many = [
        &base[..],
        &["--check-interval", "500", "--check-failures", "0"],
    ]
    .concat();
    assert!(h_one(&many).starts_with("Invalid number of failed checks: 0"));
    assert_eq!(
        h_one(&["--check-interval", "500", "198.51.100.255"]),
        "--check-interval needs --service: the checks decide whether this primary serves the \
         service addresses, and without --service it manages none"
    );
}

#[test]
fn heartbeatd_reads_the_hooks_script_timeout_from_the_line_or_the_file() {
    let base = ["--service", "eth0:192.0.2.10", "198.51.100.255"];
    assert_eq!(
        heartbeatd(&base, &no_file()).script_timeout,
        Duration::from_secs(300)
    );
    let line = [&base[..], &["--script-timeout", "7"]].concat();
    assert_eq!(
        heartbeatd(&line, &no_file()).script_timeout,
        Duration::from_secs(7)
    );
    let f = file("FAILOVER_SCRIPT_TIMEOUT=9\nFAILOVER_SCRIPTS_DIR=/srv/s\n");
    let o = heartbeatd(&base, &f);
    assert_eq!(
        (o.script_timeout, o.scripts_dir.as_path()),
        (Duration::from_secs(9), Path::new("/srv/s"))
    );
    let bad = [&base[..], &["--script-timeout", "0"]].concat();
    assert!(
        h_one(&bad).starts_with("Invalid script timeout: 0"),
        "{}",
        h_one(&bad)
    );
}

#[test]
fn apple_compat_from_the_command_line_or_the_file() {
    let pair = ["198.51.100.1", "eth0:192.0.2.10", "eth1:203.0.113.10"];
    let o = failoverd(&pair, &no_file());
    assert!(!o.common.apple_compat);
    assert!(o.apple_sources().is_empty());
    assert!(!o.secondary_config(ip("198.51.100.2"), 1).apple_compat);

    let mut args = vec!["--apple-compat"];
    args.extend(pair);
    let o = failoverd(&args, &no_file());
    assert!(o.common.apple_compat);
    assert!(o.secondary_config(ip("198.51.100.2"), 1).apple_compat);
    // Apple's fixed dead time, even below 1 s intervals (where the default
    // is otherwise adaptive).
    assert_eq!(o.dead_time, DeadTime::Fixed(Duration::from_secs(3)));
    args.extend(["--interval", "100"]);
    let o = failoverd(&args, &no_file());
    assert_eq!(o.dead_time, DeadTime::Fixed(Duration::from_millis(300)));
    // The private address everywhere; on each public link also the
    // master's public addresses there.
    assert_eq!(
        o.apple_sources(),
        [
            vec![ip("198.51.100.1")],
            vec![ip("198.51.100.1"), ip("192.0.2.10")],
            vec![ip("198.51.100.1"), ip("203.0.113.10")],
        ]
    );

    for (value, on) in [("yes", true), ("no", false)] {
        let f = file(&format!("FAILOVER_APPLE_COMPAT={value}\n"));
        assert_eq!(failoverd(&pair, &f).common.apple_compat, on, "{value}");
        let h = heartbeatd(&["198.51.100.255"], &f);
        assert_eq!(h.common.apple_compat, on, "{value}");
    }
    // The command line wins over "no".
    let f = file("FAILOVER_APPLE_COMPAT=no\n");
    assert!(failoverd(&args, &f).common.apple_compat);
    // Anything else is refused, naming the key and its line.
    let e = f_err(&pair, &file("\nFAILOVER_APPLE_COMPAT=true\n"));
    assert_eq!(e.exit_code(), EXIT_CONFIG, "{e}");
    let m = e.to_string();
    assert!(
        m.contains("Invalid Apple compatibility: true")
            && m.contains("FAILOVER_APPLE_COMPAT at /etc/default/failover:2")
            && m.contains("give yes or no"),
        "{m}"
    );
}

#[test]
fn apple_compat_refuses_what_apple_cannot_do() {
    let base = ["--apple-compat", "198.51.100.1", "eth0:192.0.2.10"];
    fn with<'a>(base: [&'a str; 3], extra: &[&'a str]) -> Vec<&'a str> {
        let mut a: Vec<&str> = extra.to_vec();
        a.extend(base);
        a
    }
    for auto in ["auto", "auto:4"] {
        let m = f_one(&with(base, &["--deadtime", auto]));
        assert!(
            m.contains("--apple-compat cannot be combined with --deadtime")
                && m.contains("round number"),
            "{m}"
        );
    }
    let e = f_err(&with(base, &["--witness", "198.51.100.3"]), &no_file());
    assert_eq!(e.exit_code(), EXIT_USAGE);
    assert!(
        e.to_string()
            .contains("--apple-compat cannot be combined with --witness"),
        "{e}"
    );
    let m = f_err(&with(base, &["--witness-policy", "preferred"]), &no_file()).to_string();
    assert!(
        m.contains("--apple-compat cannot be combined with --witness-policy"),
        "{m}"
    );
    // A fixed dead time of one's own is fine.
    let o = failoverd(&with(base, &["--deadtime", "5000"]), &no_file());
    assert_eq!(o.dead_time, DeadTime::Fixed(Duration::from_secs(5)));

    // heartbeatd: no --service (nor FAILOVER_SERVICES), naming the key.
    let m = h_one(&[
        "--apple-compat",
        "--service",
        "eth0:192.0.2.10",
        "198.51.100.255",
    ]);
    assert!(
        m.contains("--apple-compat cannot be combined with --service")
            && m.contains("configure them statically"),
        "{m}"
    );
    let f = file("FAILOVER_APPLE_COMPAT=yes\nFAILOVER_SERVICES=\"eth0:192.0.2.10\"\n");
    let e = h_err(&["198.51.100.255"], &f);
    assert_eq!(e.exit_code(), EXIT_CONFIG);
    assert!(
        e.to_string().contains(
            "FAILOVER_APPLE_COMPAT at /etc/default/failover:1 cannot be combined with \
             FAILOVER_SERVICES at /etc/default/failover:2"
        ),
        "{e}"
    );
    let m = h_one(&[
        "--apple-compat",
        "--witness",
        "198.51.100.3",
        "198.51.100.255",
    ]);
    assert!(m.contains("cannot be combined with --witness"), "{m}");
}

#[test]
fn apple_compat_refuses_a_key_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("heartbeat.key");
    std::fs::write(&key, format!("1 {KEY32}\n")).expect("write");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let key = key.to_str().expect("utf-8");
    let e = f_err(
        &[
            "--apple-compat",
            "--key-file",
            key,
            "198.51.100.1",
            "eth0:192.0.2.10",
        ],
        &no_file(),
    );
    assert_ne!(e.exit_code(), 0);
    assert!(
        e.to_string()
            .contains("--apple-compat cannot be combined with --key-file: Apple's heartbeats are not authenticated"),
        "{e}"
    );
    let e = h_err(
        &["--apple-compat", "--key-file", key, "198.51.100.255"],
        &no_file(),
    );
    assert!(
        e.to_string().contains("cannot be combined with --key-file"),
        "{e}"
    );
}

#[test]
fn heartbeatd_apple_compat_sends_apples_default_message() {
    let o = heartbeatd(
        &["--apple-compat", "198.51.100.255", "192.0.2.255"],
        &no_file(),
    );
    assert_eq!(o.message, "heartbeat");
    assert!(o.services.is_empty());
    let o = heartbeatd(
        &["--apple-compat", "-m", "server1 alive", "198.51.100.255"],
        &no_file(),
    );
    assert_eq!(o.message, "server1 alive");
    // Without the option the message stays empty by default.
    assert_eq!(heartbeatd(&["198.51.100.255"], &no_file()).message, "");
}
