//! Metrics for Prometheus (`--metrics-file`, `FAILOVER_METRICS_FILE`): the
//! daemon's [`Snapshot`] in the text exposition format, written every
//! [`PERIOD`] to a file that node_exporter's textfile collector reads. No
//! HTTP server: the daemon keeps no listening socket (a port is one more
//! thing to secure, and node_exporter is there already), and a file works
//! the same in any network namespace.
//!
//! Every name starts with `failover_` and carries the `program` label
//! (`heartbeatd` or `failoverd`), so two daemons on one host, each with
//! its own file, never clash in node_exporter. `docs/operations.md`
//! ("Metrics") documents each name. Counters count since the daemon
//! started (`failover_start_time_seconds` says when; Prometheus's `rate()`
//! handles the reset at a restart). A series whose value is unknown (a
//! carrier not read, an address whose interface is gone) is left out
//! rather than given a made-up value. The file is removed when the daemon
//! stops; after a crash it stays with its last values, which node_exporter
//! shows in `node_textfile_mtime_seconds` (alert when it is older than a
//! few periods).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::status::snapshot::{PeerState, Snapshot};
use super::{safedir, safefile};
use crate::disk::Disk;
use crate::notify::log::Logger;

/// How often the metrics file is rewritten. Independent of the heartbeat
/// interval (1 ms or 1 h): a scrape every 15 s or so, Prometheus's usual,
/// then sees values at most 5 s old, while a daemon beating every 5 ms
/// does not rewrite a file 200 times a second.
pub const PERIOD: Duration = Duration::from_secs(5);

/// When the next write is due, on the monotonic clock (which, like the
/// mail's and the scripts', only paces work; a suspend need not count).
#[derive(Debug, Clone)]
pub struct Schedule {
    next: Instant,
}

impl Schedule {
    /// The first write is due at once, so the file exists as soon as the
    /// daemon runs.
    pub fn new(now: Instant) -> Schedule {
        Schedule { next: now }
    }

    /// Whether a write is due at `now`; if so, the next is [`PERIOD`]
    /// later (from now: a loop that was held up does not write twice).
    pub fn take_due(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next = now + PERIOD;
        true
    }

    /// When the next write is due, for the loop's wait.
    pub fn next_due(&self) -> Instant {
        self.next
    }
}

/// How a write of the metrics file went, for the log: said once when it
/// starts failing and once when it works again, never every period.
#[derive(Debug)]
pub enum WriteReport {
    /// As before (written, or failing as already said).
    Quiet,
    /// It has just started failing, with why.
    Failing(std::io::Error),
    /// It works again.
    Recovered,
}

impl WriteReport {
    /// What `result`, a write's, is worth saying, given whether the writes
    /// were `failing` before it (updated).
    fn of(result: std::io::Result<()>, failing: &AtomicBool) -> WriteReport {
        let was_failing = failing.swap(result.is_err(), Ordering::Relaxed);
        match (result, was_failing) {
            (Ok(()), false) | (Err(_), true) => WriteReport::Quiet,
            (Ok(()), true) => WriteReport::Recovered,
            (Err(e), false) => WriteReport::Failing(e),
        }
    }

    /// Logs it, about the file at `path`.
    fn log(self, log: &Logger, path: &Path) {
        match self {
            WriteReport::Quiet => {}
            WriteReport::Failing(e) => log.error(format_args!(
                "cannot write the metrics file {}: {e} (logged once until it works again)",
                path.display()
            )),
            WriteReport::Recovered => log.notice(format_args!(
                "writing the metrics file {} works again",
                path.display()
            )),
        }
    }
}

/// The metrics file a daemon keeps: where, when next, and whether the
/// last write failed.
#[derive(Debug)]
pub struct MetricsFile {
    path: PathBuf,
    schedule: Schedule,
    /// Whether the last write failed; the writer thread updates it.
    failing: Arc<AtomicBool>,
}

impl MetricsFile {
    /// The file at `path`, first written at `now`.
    pub fn new(path: PathBuf, now: Instant) -> MetricsFile {
        MetricsFile {
            path,
            schedule: Schedule::new(now),
            failing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// See [`Schedule::take_due`].
    pub fn take_due(&mut self, now: Instant) -> bool {
        self.schedule.take_due(now)
    }

    /// See [`Schedule::next_due`].
    pub fn next_due(&self) -> Instant {
        self.schedule.next_due()
    }

    /// Has `disk` replace the file with `text`, atomically and without
    /// waiting for the disk ([`safefile::replace_volatile`]); a failure is
    /// logged once, and the recovery ([`WriteReport`]). Never waits: a
    /// write still stuck on a frozen filesystem is replaced by this one.
    pub fn write(&self, disk: &Disk, text: String) {
        let path = self.path.clone();
        let failing = Arc::clone(&self.failing);
        disk.submit(&self.path, move |log| {
            WriteReport::of(safefile::replace_volatile(&path, &text), &failing).log(log, &path);
        });
    }

    /// Has `disk` remove the file (at exit: stale values must not look
    /// current), after any write still queued.
    pub fn remove(&self, disk: &Disk) {
        let path = self.path.clone();
        disk.submit(&self.path, move |_| {
            let _ = std::fs::remove_file(&path);
        });
    }
}

/// The problems of the directory `file` is to be written in, for a daemon
/// running as user `euid`, for `-n` and the start: it must exist (the
/// daemon does not create node_exporter's directory: a missing one is most
/// likely a typo) and be safe to write in as root
/// ([`safedir::check_directory`]).
pub fn directory_problems(file: &Path, euid: u32) -> Vec<String> {
    let what = "metrics file's directory";
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("/"));
    if !dir.is_dir() {
        return vec![format!(
            "the {what} {} does not exist (or is not a directory): create it, or fix \
             --metrics-file or FAILOVER_METRICS_FILE (node_exporter's textfile collector reads \
             the directory given with --collector.textfile.directory)",
            dir.display()
        )];
    }
    safedir::check_directory(dir, what, euid)
}

/// A sample's value as the exposition format writes it.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{v}")
    }
}

/// A label value, escaped as the exposition format requires.
fn escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn seconds(d: failover_core::Duration) -> f64 {
    d.total_micros() as f64 / 1e6
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Builds the text: one family at a time, its HELP and TYPE first.
struct Exposition {
    out: String,
    program: &'static str,
}

impl Exposition {
    /// Starts family `name` of `kind` (`gauge`, `counter`) with its help,
    /// and writes its `samples`: extra labels and value each. A family
    /// without samples is left out whole.
    fn family(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        samples: &[(Vec<(&str, String)>, f64)],
    ) {
        if samples.is_empty() {
            return;
        }
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = write!(self.out, "{name}{{program=\"{}\"", self.program);
            for (k, v) in labels {
                let _ = write!(self.out, ",{k}=\"{}\"", escaped(v));
            }
            let _ = writeln!(self.out, "}} {}", number(*value));
        }
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help, &[(Vec::new(), value)]);
    }
}

/// The snapshot in Prometheus's text exposition format (version 0.0.4).
pub fn render(s: &Snapshot) -> String {
    let mut e = Exposition {
        out: String::new(),
        program: s.program,
    };
    e.family(
        "failover_info",
        "gauge",
        "The daemon's version, role and current phase (the phase key of --status --json); always 1.",
        &[(
            vec![
                ("version", s.version.to_owned()),
                ("role", s.role.to_owned()),
                ("phase", s.phase.name.to_owned()),
            ],
            1.0,
        )],
    );
    e.one(
        "failover_start_time_seconds",
        "gauge",
        "When the daemon started, in seconds since the Unix epoch.",
        unix(s.started),
    );
    e.one(
        "failover_phase_seconds",
        "gauge",
        "Seconds since the daemon entered its current phase (its last transition).",
        seconds(s.phase.age),
    );
    e.one(
        "failover_peer_up",
        "gauge",
        "Whether the other server is heard (1), or declared dead or not heard since start (0).",
        flag(s.peer.state == PeerState::Alive),
    );
    e.one(
        "failover_peer_dead_time_seconds",
        "gauge",
        "The silence on every network after which the other server is declared dead.",
        seconds(s.peer.dead_time),
    );
    e.one(
        "failover_peer_dead_time_grace_seconds",
        "gauge",
        "Of that silence, what an adaptive dead time adds to its whole heartbeat intervals for late heartbeats (0 with a fixed dead time).",
        seconds(s.peer.grace),
    );
    let link = |l: &super::status::snapshot::Link| {
        vec![
            ("link", l.index.to_string()),
            ("name", l.name.to_owned()),
            ("interface", l.interface.clone()),
        ]
    };
    let links: Vec<_> = s.links.iter().map(|l| (link(l), l)).collect();
    e.family(
        "failover_link_up",
        "gauge",
        "Whether the other server is heard on this link within its dead time.",
        &links
            .iter()
            .map(|(k, l)| (k.clone(), flag(l.alive)))
            .collect::<Vec<_>>(),
    );
    e.family(
        "failover_link_last_heard_seconds",
        "gauge",
        "Seconds since the other server was last heard on this link (+Inf: never).",
        &links
            .iter()
            .map(|(k, l)| (k.clone(), l.heard_ago.map_or(f64::INFINITY, seconds)))
            .collect::<Vec<_>>(),
    );
    e.family(
        "failover_link_loss_ratio",
        "gauge",
        "The share of the other server's heartbeats lost lately on this link (0 to 1).",
        &links
            .iter()
            .map(|(k, l)| (k.clone(), f64::from(l.loss_ppm) / 1e6))
            .collect::<Vec<_>>(),
    );
    e.family(
        "failover_link_dead_time_seconds",
        "gauge",
        "The silence on this link after which it counts as silent.",
        &links
            .iter()
            .map(|(k, l)| (k.clone(), seconds(l.dead_time)))
            .collect::<Vec<_>>(),
    );
    e.family(
        "failover_link_carrier",
        "gauge",
        "Whether this link's interface has a carrier.",
        &links
            .iter()
            .filter_map(|(k, l)| Some((k.clone(), flag(l.carrier?))))
            .collect::<Vec<_>>(),
    );
    if let Some(w) = &s.witness {
        e.one(
            "failover_witness_up",
            "gauge",
            "Whether the witness is heard within its dead time.",
            flag(w.alive),
        );
        e.one(
            "failover_witness_last_heard_seconds",
            "gauge",
            "Seconds since the witness was last heard (+Inf: never).",
            w.heard_ago.map_or(f64::INFINITY, seconds),
        );
    }
    e.family(
        "failover_address_held",
        "gauge",
        "Whether this service address is on this host now.",
        &s.addresses
            .iter()
            .filter_map(|a| {
                Some((
                    vec![
                        ("address", a.address.to_string()),
                        ("prefix", a.prefix_len.to_string()),
                        ("interface", a.interface.clone()),
                    ],
                    flag(a.held?),
                ))
            })
            .collect::<Vec<_>>(),
    );
    e.family(
        "failover_frames_total",
        "counter",
        "Heartbeat frames received since start, by result (accepted, or why refused).",
        &s.frames
            .named()
            .iter()
            .map(|(result, n)| (vec![("result", (*result).to_owned())], *n as f64))
            .collect::<Vec<_>>(),
    );
    e.one(
        "failover_decisions_dropped_total",
        "counter",
        "Decisions the daemon dropped unperformed because its loop fell behind (a fault of the daemon).",
        f64::from(s.decisions_dropped),
    );
    e.one(
        "failover_stalls_total",
        "counter",
        "Times the daemon did not run for over two intervals (a suspend, a stalled VM, a long wait for the CPU) and let go of any address it held.",
        s.stalls.count as f64,
    );
    e.one(
        "failover_addresses_restored_total",
        "counter",
        "Service addresses added back after another program took them off while this server served them.",
        s.addresses_restored as f64,
    );
    e.family(
        "failover_transitions_total",
        "counter",
        "How often the service addresses changed hands since start: takeover and failback \
         (failoverd), acquire and release (heartbeatd).",
        &s.transitions
            .iter()
            .map(|(kind, n)| (vec![("kind", (*kind).to_owned())], *n as f64))
            .collect::<Vec<_>>(),
    );
    if let Some(t) = &s.last_transition {
        e.family(
            "failover_last_transition_timestamp_seconds",
            "gauge",
            "When the service addresses last changed hands, in seconds since the Unix epoch, \
             with the kind and the event.",
            &[(
                vec![("kind", t.kind.to_owned()), ("event", t.event.to_owned())],
                unix(t.at),
            )],
        );
    }
    if let Some(depth) = s.mail_spool_depth {
        e.one(
            "failover_mail_spool_messages",
            "gauge",
            "Notification mails waiting in the spool for sendmail.",
            depth as f64,
        );
    }
    e.out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::daemon::status::text::tests::example;

    /// A sample as read back: its name, its labels in order, its value.
    type Sample = (String, Vec<(String, String)>, f64);

    /// A strict reading of the text exposition format (0.0.4), as much as
    /// node_exporter's textfile collector needs: `# HELP` and `# TYPE`
    /// once per family, before its samples; families not interleaved;
    /// valid metric and label names; quoted, escaped label values; a
    /// float or ±Inf/NaN value; no timestamps (the collector refuses
    /// them); no series twice; counters named `_total`. Returns the
    /// samples as (name, labels, value). `promtool check metrics`, when
    /// installed, checks the same from the outside
    /// (`host/tests/metrics_promtool.rs`).
    fn parse(text: &str) -> Result<Vec<Sample>, String> {
        fn name_ok(n: &str, colon: bool) -> bool {
            let mut chars = n.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
        }
        let mut samples = Vec::new();
        let mut typed: Vec<(String, String)> = Vec::new();
        let mut helped = BTreeSet::new();
        let mut series = BTreeSet::new();
        if !text.ends_with('\n') {
            return Err("the text must end with a newline".into());
        }
        for (i, line) in text.lines().enumerate() {
            let at = |m: &str| format!("line {}: {m}: {line:?}", i + 1);
            if let Some(rest) = line.strip_prefix("# ") {
                let (word, rest) = rest.split_once(' ').ok_or_else(|| at("bare comment"))?;
                let (name, arg) = rest.split_once(' ').ok_or_else(|| at("no text"))?;
                if !name_ok(name, true) {
                    return Err(at("bad metric name"));
                }
                match word {
                    "HELP" => {
                        if !helped.insert(name.to_owned()) || arg.trim().is_empty() {
                            return Err(at("HELP twice or empty"));
                        }
                        if typed.iter().any(|(n, _)| n == name) {
                            return Err(at("HELP after TYPE"));
                        }
                    }
                    "TYPE" => {
                        if !["counter", "gauge", "untyped"].contains(&arg) {
                            return Err(at("unknown type"));
                        }
                        if typed.iter().any(|(n, _)| n == name) {
                            return Err(at("TYPE twice"));
                        }
                        if arg == "counter" && !name.ends_with("_total") {
                            return Err(at("a counter not named _total"));
                        }
                        typed.push((name.to_owned(), arg.to_owned()));
                    }
                    _ => return Err(at("unknown comment")),
                }
                continue;
            }
            let (name, rest) = match line.find(['{', ' ']) {
                Some(p) => line.split_at(p),
                None => return Err(at("no value")),
            };
            if !name_ok(name, true) {
                return Err(at("bad metric name"));
            }
            // Its family is the last one typed: no interleaving.
            if typed.last().map(|(n, _)| n.as_str()) != Some(name) {
                return Err(at("sample outside its family (or before its TYPE)"));
            }
            if !helped.contains(name) {
                return Err(at("no HELP"));
            }
            let mut labels = Vec::new();
            let mut rest = rest;
            if let Some(body) = rest.strip_prefix('{') {
                let mut j = 0;
                loop {
                    let eq = body[j..].find('=').ok_or_else(|| at("no ="))? + j;
                    let key = &body[j..eq];
                    if !name_ok(key, false) || key.starts_with("__") {
                        return Err(at("bad label name"));
                    }
                    if body.get(eq + 1..eq + 2) != Some("\"") {
                        return Err(at("unquoted label value"));
                    }
                    j = eq + 2;
                    let mut value = String::new();
                    loop {
                        let c = body[j..].chars().next().ok_or_else(|| at("unterminated"))?;
                        j += c.len_utf8();
                        match c {
                            '"' => break,
                            '\\' => {
                                let e = body[j..].chars().next().ok_or_else(|| at("escape"))?;
                                j += e.len_utf8();
                                value.push(match e {
                                    '\\' => '\\',
                                    '"' => '"',
                                    'n' => '\n',
                                    _ => return Err(at("bad escape")),
                                });
                            }
                            c => value.push(c),
                        }
                    }
                    if labels.iter().any(|(k, _): &(String, String)| k == key) {
                        return Err(at("label twice"));
                    }
                    labels.push((key.to_owned(), value));
                    match body.get(j..j + 1) {
                        Some(",") => j += 1,
                        Some("}") => {
                            j += 1;
                            break;
                        }
                        _ => return Err(at("expected , or }")),
                    }
                }
                rest = &body[j..];
            }
            let value = rest
                .strip_prefix(' ')
                .ok_or_else(|| at("no space before the value"))?;
            if value.contains(' ') {
                return Err(at("a timestamp (or junk) after the value"));
            }
            let v = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                "NaN" => f64::NAN,
                v => v.parse::<f64>().map_err(|_| at("bad value"))?,
            };
            let mut key = labels.clone();
            key.sort();
            if !series.insert((name.to_owned(), format!("{key:?}"))) {
                return Err(at("the same series twice"));
            }
            samples.push((name.to_owned(), labels, v));
        }
        if let Some((n, _)) = typed
            .iter()
            .find(|(n, _)| !samples.iter().any(|(s, ..)| s == n))
        {
            return Err(format!("family {n} has no samples"));
        }
        Ok(samples)
    }

    fn value(samples: &[Sample], name: &str, label: Option<(&str, &str)>) -> f64 {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name && label.is_none_or(|(k, v)| l.iter().any(|(a, b)| a == k && b == v))
            })
            .map(|(.., v)| *v)
            .unwrap_or_else(|| panic!("no {name} {label:?}"))
    }

    #[test]
    fn the_example_renders_to_valid_exposition_text() {
        let text = render(&example());
        let samples = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(
            text.starts_with("# HELP failover_info The daemon's version, role and current phase")
        );
        assert!(text.contains(
            "failover_info{program=\"failoverd\",version=\"0.1.0\",role=\"secondary\",\
             phase=\"monitoring\"} 1\n"
        ));
        assert!(text.contains("# TYPE failover_frames_total counter\n"));
        assert!(text
            .contains("failover_frames_total{program=\"failoverd\",result=\"accepted\"} 11532\n"));
        assert!(text.contains(
            "failover_link_loss_ratio{program=\"failoverd\",link=\"1\",name=\"public\",\
             interface=\"eth0\"} 0.001\n"
        ));
        assert!(text.contains(
            "failover_address_held{program=\"failoverd\",address=\"192.0.2.10\",prefix=\"32\",\
             interface=\"eth0\"} 0\n"
        ));
        assert_eq!(
            value(&samples, "failover_start_time_seconds", None),
            1_796_000_000.0
        );
        assert_eq!(value(&samples, "failover_phase_seconds", None), 600.0);
        assert_eq!(value(&samples, "failover_peer_up", None), 1.0);
        assert_eq!(
            value(&samples, "failover_peer_dead_time_seconds", None),
            3.0
        );
        assert_eq!(
            value(
                &samples,
                "failover_link_last_heard_seconds",
                Some(("link", "0"))
            ),
            0.3
        );
        assert_eq!(
            value(&samples, "failover_link_carrier", Some(("name", "private"))),
            1.0
        );
        assert_eq!(value(&samples, "failover_witness_up", None), 1.0);
        assert_eq!(
            value(&samples, "failover_witness_last_heard_seconds", None),
            0.6
        );
        assert_eq!(
            value(
                &samples,
                "failover_frames_total",
                Some(("result", "ignored"))
            ),
            3.0
        );
        assert_eq!(
            value(
                &samples,
                "failover_transitions_total",
                Some(("kind", "takeover"))
            ),
            1.0
        );
        assert_eq!(
            value(
                &samples,
                "failover_last_transition_timestamp_seconds",
                Some(("event", "Relinquished"))
            ),
            1_796_000_000.0 + 11525.0 - 600.0
        );
        assert_eq!(value(&samples, "failover_mail_spool_messages", None), 0.0);
        assert_eq!(
            value(&samples, "failover_decisions_dropped_total", None),
            0.0
        );
        assert_eq!(value(&samples, "failover_stalls_total", None), 0.0);
        assert_eq!(
            value(&samples, "failover_addresses_restored_total", None),
            0.0
        );
        // Every family is documented in docs/operations.md.
        let docs = include_str!("../../../docs/operations.md");
        let names: BTreeSet<&str> = samples.iter().map(|(n, ..)| n.as_str()).collect();
        for name in names {
            assert!(
                docs.contains(&format!("`{name}`")),
                "{name} is not documented"
            );
        }
    }

    #[test]
    fn unknowns_are_left_out_and_never_heard_is_infinite() {
        let mut s = example();
        s.links[0].heard_ago = None;
        s.links[1].carrier = None;
        s.addresses[0].held = None;
        s.witness = None;
        s.last_transition = None;
        s.mail_spool_depth = None;
        s.peer.state = PeerState::NotHeard;
        // A hostile interface name cannot break the format.
        s.links[1].interface = "a\"b\\c\nd".to_owned();
        let text = render(&s);
        let samples = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            value(
                &samples,
                "failover_link_last_heard_seconds",
                Some(("link", "0"))
            ),
            f64::INFINITY
        );
        assert_eq!(value(&samples, "failover_peer_up", None), 0.0);
        assert!(text.contains("interface=\"a\\\"b\\\\c\\nd\""), "{text}");
        assert!(samples
            .iter()
            .any(|(n, l, _)| n == "failover_link_carrier" && l.iter().any(|(_, v)| v == "eth1")));
        for absent in [
            "failover_address_held",
            "failover_witness_up",
            "failover_last_transition_timestamp_seconds",
            "failover_mail_spool_messages",
        ] {
            assert!(!text.contains(absent), "{absent} in:\n{text}");
        }
        assert!(!samples
            .iter()
            .any(|(n, l, _)| n == "failover_link_carrier" && l.iter().any(|(_, v)| v == "public")));
    }

    #[test]
    fn the_checker_refuses_what_the_collector_would() {
        for bad in [
            "x 1\n",
            "# HELP x h\n# TYPE x gauge\nx 1 1700000000\n",
            "# HELP x_total h\n# TYPE x_total counter\nx_total{a=\"1\"} 1\nx_total{a=\"1\"} 2\n",
            "# HELP x h\n# TYPE x counter\nx 1\n",
            "# HELP x h\n# TYPE x gauge\nx{a=1} 1\n",
            "# HELP x h\n# TYPE x gauge\nx{1a=\"1\"} 1\n",
            "# HELP x h\n# TYPE x gauge\nx one\n",
            "# HELP x h\n# TYPE x gauge\n# HELP y h\n# TYPE y gauge\ny 1\nx 1\n",
            "# HELP x h\n# TYPE x gauge\nx 1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} passed");
        }
        let good = "# HELP x h\n# TYPE x gauge\nx{a=\"1\",b=\"q\\\"\"} +Inf\nx{a=\"2\"} 0.5\n";
        assert_eq!(parse(good).map(|s| s.len()), Ok(2));
    }

    #[test]
    fn the_schedule_writes_at_once_then_every_period() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0);
        assert!(s.take_due(t0));
        assert!(!s.take_due(t0 + Duration::from_secs(4)));
        assert_eq!(s.next_due(), t0 + PERIOD);
        // Late by 7 s: one write, the next a period after it.
        assert!(s.take_due(t0 + Duration::from_secs(12)));
        assert_eq!(s.next_due(), t0 + Duration::from_secs(17));
    }

    #[test]
    fn a_failing_write_is_reported_once_and_its_recovery_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.prom");
        let (log, capture) = Logger::memory("metrics-test");
        let disk = Disk::start(log).unwrap();
        let m = MetricsFile::new(path.clone(), Instant::now());
        let write = |text: &str| {
            m.write(&disk, text.to_owned());
            assert!(disk.wait_idle(Duration::from_secs(10)));
        };
        write("a 1\n");
        assert_eq!(capture.count(), 0, "{}", capture.text());
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(dir.path().join("victim"), &path).unwrap();
        write("a 2\n");
        assert_eq!(capture.count(), 1, "{}", capture.text());
        assert!(capture.contains("symbolic link"), "{}", capture.text());
        write("a 3\n");
        assert_eq!(capture.count(), 1, "said once: {}", capture.text());
        assert!(!dir.path().join("victim").exists());
        std::fs::remove_file(&path).unwrap();
        write("a 4\n");
        assert!(capture.contains("works again"), "{}", capture.text());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 4\n");
        m.remove(&disk);
        assert!(disk.wait_idle(Duration::from_secs(10)));
        assert!(!path.exists());
    }

    #[test]
    fn the_directory_must_exist_and_be_safe() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let euid = nix::unistd::geteuid().as_raw();
        let missing = directory_problems(&dir.path().join("absent/m.prom"), euid);
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(missing[0].contains("absent does not exist"), "{missing:?}");
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let unsafe_ = directory_problems(&open.join("m.prom"), euid);
        assert!(
            unsafe_
                .iter()
                .any(|p| p.contains("metrics file's directory") && p.contains("chmod go-w")),
            "{unsafe_:?}"
        );
    }
}
