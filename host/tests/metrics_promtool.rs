//! The metrics file checked from the outside by Prometheus's own linter,
//! `promtool check metrics` (the exposition format, HELP and TYPE, names,
//! units, counters named `_total`), on a snapshot with every family in it.
//! The crate's unit tests parse the same text strictly themselves
//! (`daemon::metrics`); this is the second opinion.
//!
//! promtool is Debian's `prometheus` package (bookworm: 2.42). Installing
//! that package also installs and starts a Prometheus server, so a machine
//! that only wants the linter can unpack it instead:
//! `apt-get download prometheus && dpkg -x prometheus_*.deb /tmp/prom` and
//! `PROMTOOL=/tmp/prom/usr/bin/promtool`. Without promtool (not in `PATH`,
//! no `PROMTOOL`) the test prints a loud "SKIPPED" and passes.

mod support;

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::{Duration as StdDuration, UNIX_EPOCH};

use failover_core::Duration;
use failover_host::daemon::metrics;
use failover_host::daemon::status::snapshot::{
    Address, Frames, Link, Peer, PeerState, Phase, Snapshot, Stalls, Transition, Witness, SCHEMA,
};
use support::promtool;

/// A secondary with two links, a witness, an address, a takeover behind
/// it and mail on: every family the daemon can write.
fn snapshot() -> Snapshot {
    let started = UNIX_EPOCH + StdDuration::from_secs(1_796_000_000);
    let time = started + StdDuration::from_secs(3600);
    let link = |index: u8, name: &'static str, interface: &str| Link {
        index,
        label: format!("{name} ({interface})"),
        name,
        interface: interface.to_owned(),
        heard_ago: (index == 0).then(|| Duration::from_millis(12)),
        alive: index == 0,
        loss_ppm: 2500,
        dead_time: Duration::from_millis(150),
        carrier: Some(index == 0),
    };
    Snapshot {
        apple_compat: false,
        schema: SCHEMA,
        program: "failoverd",
        version: "0.1.0",
        pid: 4242,
        time,
        started,
        uptime_s: 3600,
        role: "secondary",
        phase: Phase {
            name: "holding",
            text: "holding the service addresses (took over)".to_owned(),
            since: time - StdDuration::from_secs(60),
            age: Duration::from_secs(60),
        },
        peer: Peer {
            label: "primary 198.51.100.1".to_owned(),
            role: "primary",
            address: Some("198.51.100.1".to_owned()),
            state: PeerState::Dead,
            dead_time: Duration::from_millis(150),
            grace: Duration::from_millis(5),
        },
        links: vec![link(0, "private", "priv0"), link(1, "public", "pub0")],
        witness: Some(Witness {
            label: "witness 198.51.100.3 (policy required)".to_owned(),
            address: Some(Ipv4Addr::new(198, 51, 100, 3)),
            policy: "required",
            heard_ago: None,
            alive: false,
        }),
        addresses: vec![Address {
            address: Ipv4Addr::new(192, 0, 2, 10).into(),
            prefix_len: 32,
            interface: "pub0".to_owned(),
            held: Some(true),
        }],
        scripts_running: None,
        frames: Frames {
            accepted: 100,
            malformed: 1,
            unknown_version: 2,
            unknown_type: 3,
            auth_failed: 4,
            replayed: 5,
            ignored: 6,
            unconfirmed: 7,
        },
        decisions_dropped: 0,
        stalls: Stalls {
            count: 2,
            longest: Some(Duration::from_millis(7)),
        },
        addresses_restored: 1,
        writing: None,
        transitions: vec![("takeover", 1), ("failback", 0)],
        last_transition: Some(Transition {
            kind: "takeover",
            event: "TookOver",
            reason: "the primary is silent on every network".to_owned(),
            at: time - StdDuration::from_secs(60),
            ago: Duration::from_secs(60),
        }),
        mail_spool_depth: Some(2),
        operator: None,
    }
}

#[test]
fn promtool_accepts_the_metrics_file() {
    let Some(tool) = promtool() else {
        eprintln!(
            "SKIPPED: promtool_accepts_the_metrics_file needs promtool (Debian's prometheus \
             package; see this file's documentation to unpack it without the server), or \
             PROMTOOL=/path/to/promtool"
        );
        return;
    };
    let text = metrics::render(&snapshot());
    for family in [
        "failover_witness_up",
        "failover_last_transition_timestamp_seconds",
        "failover_mail_spool_messages",
        "failover_address_held",
        "failover_link_carrier",
    ] {
        assert!(text.contains(family), "{family} missing:\n{text}");
    }
    let mut child = Command::new(&tool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool ran");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {:?}\n{}{}\nthe text:\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
