//! The status for programs (`--status --json`): the [`Snapshot`] as one
//! JSON object, versioned by its `"schema"` field
//! ([`super::snapshot::SCHEMA`]), documented field by field in
//! `docs/operations.md` ("--status --json") and the man pages. Monitoring
//! scripts read this instead of the text, which is for people and may be
//! reworded.

use super::snapshot::Snapshot;

/// The snapshot as pretty-printed JSON, with a final newline (a shell
/// prints it as a file should end). Serialising a tree of plain fields
/// cannot fail; were it ever to, the document says so in valid JSON
/// rather than leaving a reader with nothing.
pub fn render(s: &Snapshot) -> String {
    let mut text = serde_json::to_string_pretty(s).unwrap_or_else(|e| {
        serde_json::json!({ "schema": s.schema, "error": e.to_string() }).to_string()
    });
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::daemon::status::snapshot::PeerState;
    use crate::daemon::status::text::tests::example;

    /// The whole documented layout of schema 1: a change here is a change
    /// of the schema (and of docs/operations.md's table).
    #[test]
    fn schema_1_layout() {
        let v: Value = serde_json::from_str(&render(&example())).expect("valid JSON");
        assert_eq!(
            v,
            json!({
                "schema": 1,
                "program": "failoverd",
                "version": "0.1.0",
                "pid": 812,
                "time": "2026-11-30T04:05:25.000Z",
                "started": "2026-11-30T00:53:20.000Z",
                "uptime_s": 11525,
                "role": "secondary",
                "phase": {
                    "name": "monitoring",
                    "text": "monitoring (the primary holds the addresses)",
                    "since": "2026-11-30T03:55:25.000Z",
                    "for_s": 600.0
                },
                "peer": {
                    "label": "primary 198.51.100.1",
                    "role": "primary",
                    "address": "198.51.100.1",
                    "state": "alive",
                    "dead_time_ms": 3000.0,
                    "grace_ms": 0.0
                },
                "links": [
                    {
                        "index": 0, "name": "private", "interface": "eth1",
                        "heard_ms_ago": 300.0, "alive": true, "loss": 0.0,
                        "dead_time_ms": 3000.0, "carrier": true
                    },
                    {
                        "index": 1, "name": "public", "interface": "eth0",
                        "heard_ms_ago": 300.0, "alive": true, "loss": 0.001,
                        "dead_time_ms": 3000.0, "carrier": true
                    }
                ],
                "witness": {
                    "label": "witness 198.51.100.3 (policy required)",
                    "address": "198.51.100.3",
                    "policy": "required",
                    "heard_ms_ago": 600.0,
                    "alive": true
                },
                "addresses": [
                    { "address": "192.0.2.10", "prefix_len": 32, "interface": "eth0", "held": false }
                ],
                "scripts_running": null,
                "frames": {
                    "accepted": 11532, "malformed": 0, "unknown_version": 0, "unknown_type": 0,
                    "auth_failed": 0, "replayed": 2, "ignored": 3, "unconfirmed": 0
                },
                "decisions_dropped": 0,
                "stalls": { "count": 0, "longest_ms": null },
                "addresses_restored": 0,
                "writing": null,
                "transitions": { "takeover": 1, "failback": 1 },
                "last_transition": {
                    "kind": "failback",
                    "event": "Relinquished",
                    "reason": "the primary is back (private (eth1): heard 2 ms ago)",
                    "at": "2026-11-30T03:55:25.000Z",
                    "ago_s": 600.0
                },
                "mail_spool_depth": 0,
                "operator": null,
                "apple_compat": false
            })
        );
    }

    #[test]
    fn unknowns_are_null_and_states_are_words() {
        let mut s = example();
        s.links[1].heard_ago = None;
        s.links[1].carrier = None;
        s.witness = None;
        s.addresses[0].held = None;
        s.last_transition = None;
        s.mail_spool_depth = None;
        s.peer.address = None;
        s.peer.state = PeerState::NotHeard;
        s.scripts_running = Some("PreAcq");
        let text = render(&s);
        assert!(text.ends_with("}\n"), "{text}");
        let v: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["links"][1]["heard_ms_ago"], Value::Null);
        assert_eq!(v["links"][1]["carrier"], Value::Null);
        assert_eq!(v["witness"], Value::Null);
        assert_eq!(v["addresses"][0]["held"], Value::Null);
        assert_eq!(v["last_transition"], Value::Null);
        assert_eq!(v["mail_spool_depth"], Value::Null);
        assert_eq!(v["peer"]["address"], Value::Null);
        assert_eq!(v["peer"]["state"], "not_heard");
        assert_eq!(v["scripts_running"], "PreAcq");
        s.peer.state = PeerState::Dead;
        let v: Value = serde_json::from_str(&render(&s)).expect("valid JSON");
        assert_eq!(v["peer"]["state"], "dead");
    }
}
