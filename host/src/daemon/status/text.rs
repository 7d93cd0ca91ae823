//! The status file for people (`--status`), rendered from a
//! [`Snapshot`]. Its lines are what they were before the snapshot existed,
//! word for word: administrators read them, and the lab parses the
//! "frames received:" line (`hil-tests/src/control.rs`). Scripts should
//! read `--status --json` instead ([`super::json`]).

use std::fmt::Write as _;

use super::snapshot::{PeerState, Snapshot};
use crate::daemon::words::{duration_text, duration_words};

/// `heard 4 ms ago`, `silent for 3.2 s`, `never heard`: the words of
/// [`crate::daemon::words::heard_text`], from an age already taken.
fn heard(ago: Option<failover_core::Duration>, alive: bool) -> String {
    match ago {
        None => "never heard".to_owned(),
        Some(age) if alive => format!("heard {} ago", duration_text(age)),
        Some(age) => format!("silent for {}", duration_text(age)),
    }
}

/// The state in words.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}, pid {}, running for {}",
        s.program,
        s.version,
        s.pid,
        duration_words(s.uptime_s)
    );
    let _ = writeln!(out, "role: {}; state: {}", s.role, s.phase.text);
    if s.apple_compat {
        let _ = writeln!(
            out,
            "Apple compatibility: on (Mac OS X Server's heartbeat: no authentication, no \
             failback handshake)"
        );
    }
    let _ = writeln!(
        out,
        "{}: {} (dead after {} of silence on every network)",
        s.peer.label,
        match s.peer.state {
            PeerState::Dead => "declared dead",
            PeerState::Alive => "alive",
            PeerState::NotHeard => "not heard yet",
        },
        duration_text(s.peer.dead_time)
    );
    for l in &s.links {
        let _ = writeln!(
            out,
            "  link {} {}: {}, loss {:.1} %",
            l.index,
            l.label,
            heard(l.heard_ago, l.alive),
            f64::from(l.loss_ppm) / 1e4
        );
    }
    if let Some(w) = &s.witness {
        let _ = writeln!(out, "{}: {}", w.label, heard(w.heard_ago, w.alive));
    }
    if s.addresses.is_empty() {
        let _ = writeln!(out, "service addresses: none managed here");
    } else {
        let _ = writeln!(out, "service addresses:");
        for a in &s.addresses {
            let _ = writeln!(
                out,
                "  {}/{} on {}: {}",
                a.address,
                a.prefix_len,
                a.interface,
                match a.held {
                    Some(true) => "on this host",
                    Some(false) => "not on this host",
                    None => "unknown (cannot read the interface)",
                }
            );
        }
    }
    if let Some(stage) = s.scripts_running {
        let _ = writeln!(out, "scripts: {stage} running");
    }
    let f = &s.frames;
    let _ = writeln!(
        out,
        "frames received: {} accepted, {} malformed, {} unknown version or type, {} failed \
         authentication, {} replayed, {} ignored, {} unconfirmed",
        f.accepted,
        f.malformed,
        f.unknown_version.saturating_add(f.unknown_type),
        f.auth_failed,
        f.replayed,
        f.ignored,
        f.unconfirmed
    );
    // Only when it happened: the machine's (or the host's) doing.
    if let Some(longest) = s.stalls.longest {
        let _ = writeln!(
            out,
            "stalls: {} since start, the longest {} (this daemon did not run for over two \
             intervals: it let go of any address it held)",
            s.stalls.count,
            duration_text(longest)
        );
    }
    // Only when it happened: another program's doing.
    if s.addresses_restored > 0 {
        let _ = writeln!(
            out,
            "addresses restored: {} since start (taken off by another program while this server \
             served them, and added back)",
            s.addresses_restored
        );
    }
    // Only while it lasts: the disk's doing; the heartbeats go on.
    if let Some(w) = &s.writing {
        let _ = writeln!(
            out,
            "writing {} for {} so far (a slow or frozen filesystem?), {} other file(s) waiting; \
             the heartbeats go on",
            w.path,
            duration_text(w.for_),
            w.waiting
        );
    }
    // Only when it happened: a fault of this loop, never of the network.
    if s.decisions_dropped > 0 {
        let _ = writeln!(
            out,
            "decisions dropped unperformed: {} (see the ActionsLost notices)",
            s.decisions_dropped
        );
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::Ipv4Addr;
    use std::time::{Duration as StdDuration, UNIX_EPOCH};

    use failover_core::Duration;

    use super::*;
    use crate::daemon::status::snapshot::{
        Address, Frames, Link, Peer, Phase, Stalls, Transition, Witness, Writing, SCHEMA,
    };

    /// The secondary of docs/operations.md §9's example, with a takeover
    /// behind it.
    pub(crate) fn example() -> Snapshot {
        let started = UNIX_EPOCH + StdDuration::from_secs(1_796_000_000);
        let up = 3 * 3600 + 12 * 60 + 5;
        let time = started + StdDuration::from_secs(up);
        let link = |index: u8, name: &'static str, iface: &str, loss_ppm| Link {
            index,
            label: format!("{name} ({iface})"),
            name,
            interface: iface.to_owned(),
            heard_ago: Some(Duration::from_millis(300)),
            alive: true,
            loss_ppm,
            dead_time: Duration::from_secs(3),
            carrier: Some(true),
        };
        Snapshot {
            apple_compat: false,
            schema: SCHEMA,
            program: "failoverd",
            version: "0.1.0",
            pid: 812,
            time,
            started,
            uptime_s: up,
            role: "secondary",
            phase: Phase {
                name: "monitoring",
                text: "monitoring (the primary holds the addresses)".to_owned(),
                since: time - StdDuration::from_secs(600),
                age: Duration::from_secs(600),
            },
            peer: Peer {
                label: "primary 198.51.100.1".to_owned(),
                role: "primary",
                address: Some("198.51.100.1".to_owned()),
                state: PeerState::Alive,
                dead_time: Duration::from_secs(3),
                grace: Duration::ZERO,
            },
            links: vec![
                link(0, "private", "eth1", 0),
                link(1, "public", "eth0", 1000),
            ],
            witness: Some(Witness {
                label: "witness 198.51.100.3 (policy required)".to_owned(),
                address: Some(Ipv4Addr::new(198, 51, 100, 3)),
                policy: "required",
                heard_ago: Some(Duration::from_millis(600)),
                alive: true,
            }),
            addresses: vec![Address {
                address: Ipv4Addr::new(192, 0, 2, 10).into(),
                prefix_len: 32,
                interface: "eth0".to_owned(),
                held: Some(false),
            }],
            scripts_running: None,
            frames: Frames {
                accepted: 11532,
                replayed: 2,
                ignored: 3,
                ..Frames::default()
            },
            decisions_dropped: 0,
            stalls: Stalls::default(),
            addresses_restored: 0,
            writing: None,
            transitions: vec![("takeover", 1), ("failback", 1)],
            last_transition: Some(Transition {
                kind: "failback",
                event: "Relinquished",
                reason: "the primary is back (private (eth1): heard 2 ms ago)".to_owned(),
                at: time - StdDuration::from_secs(600),
                ago: Duration::from_secs(600),
            }),
            mail_spool_depth: Some(0),
            operator: None,
        }
    }

    #[test]
    fn the_text_is_the_documented_one() {
        assert_eq!(
            render(&example()),
            "failoverd 0.1.0, pid 812, running for 3 h 12 min\n\
             role: secondary; state: monitoring (the primary holds the addresses)\n\
             primary 198.51.100.1: alive (dead after 3.0 s of silence on every network)\n  \
             link 0 private (eth1): heard 300 ms ago, loss 0.0 %\n  \
             link 1 public (eth0): heard 300 ms ago, loss 0.1 %\n\
             witness 198.51.100.3 (policy required): heard 600 ms ago\n\
             service addresses:\n  \
             192.0.2.10/32 on eth0: not on this host\n\
             frames received: 11532 accepted, 0 malformed, 0 unknown version or type, 0 failed \
             authentication, 2 replayed, 3 ignored, 0 unconfirmed\n"
        );
    }

    #[test]
    fn apple_compatibility_is_said_after_the_role() {
        let mut s = example();
        assert!(!render(&s).contains("Apple"));
        s.apple_compat = true;
        let text = render(&s);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("role: "), "{text}");
        assert_eq!(
            lines[2],
            "Apple compatibility: on (Mac OS X Server's heartbeat: no authentication, no \
             failback handshake)"
        );
    }

    #[test]
    fn the_rarer_lines() {
        let mut s = example();
        s.peer.state = PeerState::Dead;
        s.links[0].alive = false;
        s.links[0].heard_ago = Some(Duration::from_millis(3200));
        s.links[1].heard_ago = None;
        s.witness = None;
        s.addresses[0].held = None;
        s.scripts_running = Some("PreAcq");
        s.frames.unknown_version = 2;
        s.frames.unknown_type = 3;
        s.decisions_dropped = 4;
        s.stalls = Stalls {
            count: 3,
            longest: Some(Duration::from_millis(7)),
        };
        s.addresses_restored = 2;
        s.writing = Some(Writing {
            path: "/var/lib/failover/failoverd.peers".to_owned(),
            for_: Duration::from_millis(12_300),
            waiting: 2,
        });
        let text = render(&s);
        for line in [
            "primary 198.51.100.1: declared dead (dead after",
            "  link 0 private (eth1): silent for 3.2 s, loss 0.0 %\n",
            "  link 1 public (eth0): never heard, loss 0.1 %\n",
            "192.0.2.10/32 on eth0: unknown (cannot read the interface)\n",
            "scripts: PreAcq running\n",
            ", 5 unknown version or type,",
            "decisions dropped unperformed: 4 (see the ActionsLost notices)\n",
            "stalls: 3 since start, the longest 7 ms (this daemon did not run for over two \
             intervals: it let go of any address it held)\n",
            "addresses restored: 2 since start (taken off by another program while this server \
             served them, and added back)\n",
            "writing /var/lib/failover/failoverd.peers for 12.3 s so far (a slow or frozen \
             filesystem?), 2 other file(s) waiting; the heartbeats go on\n",
        ] {
            assert!(text.contains(line), "{line:?} in:\n{text}");
        }
        assert!(!text.contains("witness"), "{text}");
        s.addresses.clear();
        s.peer.state = PeerState::NotHeard;
        let text = render(&s);
        assert!(
            text.contains("service addresses: none managed here\n"),
            "{text}"
        );
        assert!(text.contains(": not heard yet (dead after"), "{text}");
        // The lab's parser reads the counters back.
        assert!(text.contains("frames received: 11532 accepted, 0 malformed"));
    }
}
