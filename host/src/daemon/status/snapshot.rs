//! The daemon's state at one moment, as typed data: what `--status` prints
//! (as text, [`super::text`], or as JSON, [`super::json`]) and what the
//! metrics file exposes ([`crate::daemon::metrics`]). The event loop fills
//! one in (`runtime/export.rs`) and every view is rendered from it, so the
//! three can never disagree about what the daemon knows.
//!
//! The JSON schema *is* this type (serde derives it): a field renamed here
//! is a schema change, which `json.rs`'s tests pin and
//! `docs/operations.md` ("--status --json") documents. Times relative to
//! "now" are taken on the daemon's own clock (`CLOCK_BOOTTIME`, which a
//! wall-clock step does not move); wall-clock times are only labels.

use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

use failover_core::Duration;
use serde::{Serialize, Serializer};

use crate::notify::log::utc_timestamp;

/// The version of the JSON document's layout. Raised when a field changes
/// meaning or goes away; new fields may be added within a version, so a
/// reader should ignore the fields it does not know.
pub const SCHEMA: u32 = 1;

/// The operator's commands and the failback policy on a primary that
/// manages the service addresses (`"operator"` in the JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatorView {
    /// `auto` or `manual` (`--failback`).
    pub failback: &'static str,
    /// The operator asked this primary to stand by (`--handover`), until
    /// `--reclaim`.
    pub standby_ordered: bool,
    /// While it does not hold the addresses, what it asks of the
    /// secondary: `back`, `standby` or `handover`; `null` while it holds
    /// them.
    pub asks: Option<&'static str>,
    /// The secondary's latest heartbeat says it holds the addresses.
    pub secondary_holds: bool,
}

/// Everything `--status` and the metrics say, at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// [`SCHEMA`].
    pub schema: u32,
    /// `heartbeatd` or `failoverd`.
    pub program: &'static str,
    /// The daemon's version.
    pub version: &'static str,
    /// Its process id.
    pub pid: u32,
    /// When this snapshot was taken (wall clock).
    #[serde(serialize_with = "wall")]
    pub time: SystemTime,
    /// When the daemon started (wall clock).
    #[serde(serialize_with = "wall")]
    pub started: SystemTime,
    /// Whole seconds since the start (on the wall clock, as the text's
    /// "running for" always showed).
    pub uptime_s: u64,
    /// `primary` or `secondary`.
    pub role: &'static str,
    /// The machine's phase.
    pub phase: Phase,
    /// The other server, as this one hears it.
    pub peer: Peer,
    /// Each link (network), in configuration order: link 0 is the private
    /// one.
    pub links: Vec<Link>,
    /// The witness, if one is configured.
    pub witness: Option<Witness>,
    /// The service addresses managed here, in configuration order.
    pub addresses: Vec<Address>,
    /// The script stage running now, if any (failoverd).
    pub scripts_running: Option<&'static str>,
    /// Frames received since start, by fate.
    pub frames: Frames,
    /// Decisions the machine dropped because this loop fell behind (zero
    /// unless the daemon is broken).
    pub decisions_dropped: u32,
    /// Times this daemon did not run for over two intervals (a suspend, a
    /// frozen or stalled VM, a long wait for the CPU), since start: each
    /// made it let go of any address it held, and may have made its peer
    /// take over. A handful a day is a machine to look at; below 10 ms
    /// beats on a VM, docs/operations.md.
    pub stalls: Stalls,
    /// Service addresses added back since start after another program
    /// took them off while this server served them (a network manager, a
    /// DHCP client, `ip addr del`): a few a year is an upgrade; more is a
    /// configuration fighting the daemon (docs/operations.md §12).
    pub addresses_restored: u64,
    /// The file the daemon has been writing for over a second, if one: a
    /// slow or frozen filesystem under its state, spool or metrics
    /// (docs/operations.md §12). `None` while its writes keep up.
    pub writing: Option<Writing>,
    /// How often the addresses changed hands since start, by kind (the two
    /// kinds of this daemon's role, zero included).
    #[serde(serialize_with = "counts")]
    pub transitions: Vec<(&'static str, u64)>,
    /// The last time they did, if they did since start.
    pub last_transition: Option<Transition>,
    /// Mail waiting in the spool; `None` with mail off.
    pub mail_spool_depth: Option<usize>,
    /// heartbeatd with `--service`: the operator's switchover and the
    /// failback policy; `None` otherwise.
    pub operator: Option<OperatorView>,
    /// `--apple-compat`: this daemon speaks Mac OS X Server's heartbeat
    /// (docs/protocol.md, "Apple's heartbeat").
    pub apple_compat: bool,
}

/// The daemon's stalls since start ([`Snapshot::stalls`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stalls {
    /// How many.
    pub count: u64,
    /// The longest gap between two turns of the loop among them (`None`:
    /// none yet).
    #[serde(rename = "longest_ms", serialize_with = "option_millis")]
    pub longest: Option<Duration>,
}

/// A write the daemon's writer thread is stuck on ([`Snapshot::writing`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Writing {
    /// The file.
    pub path: String,
    /// For how long.
    #[serde(rename = "for_ms", serialize_with = "millis")]
    pub for_: Duration,
    /// Other files waiting to be written behind it.
    pub waiting: usize,
}

/// The machine's phase, and since when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// A stable key (`monitoring`, `holding`, …: see `Node::phase_key`).
    pub name: &'static str,
    /// The phase in words, as the text shows it.
    pub text: String,
    /// When the daemon entered it (wall clock).
    #[serde(serialize_with = "wall")]
    pub since: SystemTime,
    /// How long ago that was (the daemon's clock).
    #[serde(rename = "for_s", serialize_with = "seconds")]
    pub age: Duration,
}

/// What the daemon concludes about the other server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// Heard within the dead time.
    Alive,
    /// Silent on every network for the dead time: the verdict.
    Dead,
    /// Not heard since start.
    NotHeard,
}

/// The other server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peer {
    /// How the status names it: `primary 198.51.100.1`.
    pub label: String,
    /// Its role: `primary` or `secondary`.
    pub role: &'static str,
    /// Its private address as configured (`None`: heartbeatd without
    /// `--peer`).
    pub address: Option<String>,
    /// The verdict.
    pub state: PeerState,
    /// The silence on every network that makes the verdict.
    #[serde(rename = "dead_time_ms", serialize_with = "millis")]
    pub dead_time: Duration,
    /// Of that, what an adaptive dead time adds to its whole intervals for
    /// late heartbeats (zero with a fixed dead time; docs/detector.md).
    #[serde(rename = "grace_ms", serialize_with = "millis")]
    pub grace: Duration,
}

/// One link: the peer as heard on one network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// Its number (0: the private network).
    pub index: u8,
    /// How the text names it: `private (eth1)`.
    #[serde(skip)]
    pub label: String,
    /// `private` or `public`.
    pub name: &'static str,
    /// The interface it runs on.
    pub interface: String,
    /// How long ago the peer was last heard on it (`None`: never).
    #[serde(rename = "heard_ms_ago", serialize_with = "option_millis")]
    pub heard_ago: Option<Duration>,
    /// Whether the peer was heard within this link's dead time.
    pub alive: bool,
    /// The share of heartbeats lost lately, parts per million.
    #[serde(rename = "loss", serialize_with = "ratio")]
    pub loss_ppm: u32,
    /// The silence on this link alone that makes it silent.
    #[serde(rename = "dead_time_ms", serialize_with = "millis")]
    pub dead_time: Duration,
    /// Whether its interface has a carrier (`None`: unknown).
    pub carrier: Option<bool>,
}

/// The witness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Witness {
    /// How the status names it: `witness 198.51.100.3 (policy required)`.
    pub label: String,
    /// Its private address.
    pub address: Option<Ipv4Addr>,
    /// What it counts for: failoverd's `--witness-policy` (`off`,
    /// `preferred`, `required`), or `fence` on heartbeatd (it gives up the
    /// addresses when cut off from both the secondary and the witness).
    pub policy: &'static str,
    /// How long ago it was last heard (`None`: never).
    #[serde(rename = "heard_ms_ago", serialize_with = "option_millis")]
    pub heard_ago: Option<Duration>,
    /// Whether it was heard within its dead time.
    pub alive: bool,
}

/// One service address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Address {
    /// The address (IPv4 or IPv6).
    pub address: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// The interface that carries it.
    pub interface: String,
    /// Whether it is on this host now (`None`: the interface could not be
    /// read).
    pub held: Option<bool>,
}

/// Frames received since start, by fate: the counters of the text's
/// "frames received:" line, with "unknown version or type" split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Frames {
    /// Accepted and acted on.
    pub accepted: u64,
    /// Truncated or malformed.
    pub malformed: u64,
    /// Of a protocol version this daemon does not speak.
    pub unknown_version: u64,
    /// Of a message type this version does not know.
    pub unknown_type: u64,
    /// Refused by authentication.
    pub auth_failed: u64,
    /// Replayed, duplicated or reordered.
    pub replayed: u64,
    /// From nodes or roles not listened to (or our own, looped back).
    pub ignored: u64,
    /// Without a key: of an epoch not believed (yet).
    pub unconfirmed: u64,
}

impl Frames {
    /// Each counter with its name as the JSON and the metrics' `result`
    /// label give it, in a fixed order.
    pub fn named(&self) -> [(&'static str, u64); 8] {
        [
            ("accepted", self.accepted),
            ("malformed", self.malformed),
            ("unknown_version", self.unknown_version),
            ("unknown_type", self.unknown_type),
            ("auth_failed", self.auth_failed),
            ("replayed", self.replayed),
            ("ignored", self.ignored),
            ("unconfirmed", self.unconfirmed),
        ]
    }
}

/// The last time the addresses changed hands ([`super::history`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// `takeover`, `failback` (failoverd), `acquire`, `release`
    /// (heartbeatd).
    pub kind: &'static str,
    /// The core's event (`TookOver`, `Relinquished`, `Acquired`,
    /// `Yielded`, …), as the mail's `X-Failover-Event` header names it.
    pub event: &'static str,
    /// Why, in words.
    pub reason: String,
    /// When (wall clock).
    #[serde(serialize_with = "wall")]
    pub at: SystemTime,
    /// How long ago (the daemon's clock).
    #[serde(rename = "ago_s", serialize_with = "seconds")]
    pub ago: Duration,
}

/// A wall-clock time as RFC 3339 in UTC with milliseconds
/// (`2026-12-05T10:00:00.000Z`), the log's format.
fn wall<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&utc_timestamp(*t))
}

/// Milliseconds, with the microseconds the daemon's clock has (at 5 ms
/// beats whole milliseconds would hide what matters).
fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.total_micros() as f64 / 1e3)
}

fn option_millis<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => millis(d, s),
        None => s.serialize_none(),
    }
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.total_micros() as f64 / 1e6)
}

fn ratio<S: Serializer>(ppm: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(f64::from(*ppm) / 1e6)
}

/// The transition counts as an object, `{"takeover": 1, "failback": 0}`.
fn counts<S: Serializer>(c: &[(&'static str, u64)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(c.iter().copied())
}
