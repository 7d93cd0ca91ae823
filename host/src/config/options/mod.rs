//! The daemons' resolved options: the command line and the configuration
//! file put together (the command line wins), every value checked and
//! typed, and the core configurations built from them.
//!
//! The binaries call [`failoverd_from_args`] or [`heartbeatd_from_args`]
//! with `std::env::args_os()`: either they get options to run with, a help
//! or version text to print, or a [`StartupError`] listing **every** problem
//! found (not just the first: `-n` is for seeing them all), with the exit
//! status to use. SIGHUP's reload calls the same function again with the
//! same arguments.
//!
//! Node ids: each node's id is its IPv4 address on the private network, as
//! a big-endian `u32` ([`node_id`]). The three nodes' private addresses
//! differ, so the ids are unique; they stay the same across restarts; and an
//! administrator can read them (`198.51.100.1` is `0xC6336401`). So the
//! primary's id is `master_priv_addr`, which is how failoverd knows whose
//! heartbeats to listen to, and `heartbeatd` must use as its own id the
//! address that failoverd names as `master_priv_addr`: its address on the
//! private interface. The witness's id is its `--witness` address.
//!
//! Durations are [`failover_core::Duration`] throughout, since most of them
//! go into the core's configurations; [`to_std`] converts for timers and
//! child-process limits.

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use failover_core::config::ConfigError;
use failover_core::wire::Keyring;
use failover_core::{AdaptiveDeadTime, DeadTime, Duration, Failback, NodeId, MAX_LINKS};

use crate::config::cli::{
    parse_digits, parse_failoverd_args, parse_heartbeatd_args, parse_ipv4, parse_port,
    pid_file_path, value_error, AddrUse, CommonArgs, Facility, Invocation, Problem, Program,
    RunMode, ServiceAddress, StartupError, DEFAULT_INTERVAL_MS, DEFAULT_PORT,
    DEFAULT_SCRIPT_TIMEOUT_SECS, DEFAULT_SENDMAIL, DEFAULT_SPOOL_DIR, MAX_INTERVAL_MS,
    MAX_SCRIPT_TIMEOUT_SECS,
};
use crate::config::hostconfig::{HostConfig, KEY_EMAIL_RECIPIENT, KEY_METRICS_FILE, KEY_SPOOL_DIR};
use crate::config::recipients::parse_recipients;
use crate::net::AnnouncePlan;

mod failoverd;
mod fill;
mod heartbeatd;
mod keys;

use fill::Origins;
pub use keys::{load_key_file, parse_keys};

/// Who is mailed when `FAILOVER_EMAIL_RECIPIENT` is not set (Apple's
/// default).
pub const DEFAULT_EMAIL_RECIPIENT: &str = "root";

/// The core's stage timeout is this many script time limits: a stage of up
/// to this many scripts, each running to its limit, still reports before the
/// core gives up on it (the script runner's own limit fires first).
pub const STAGE_TIMEOUT_SCRIPTS: u64 = 16;

/// The node id of the node whose private IPv4 address is `addr`: the
/// address as a big-endian `u32` (see the module docs for why).
pub const fn node_id(addr: Ipv4Addr) -> NodeId {
    NodeId(u32::from_be_bytes(addr.octets()))
}

/// A core duration as a `std` one, for timers and child-process limits.
pub const fn to_std(d: Duration) -> std::time::Duration {
    std::time::Duration::from_micros(d.total_micros())
}

/// `--witness-policy` as given; [`FailoverdOptions::witness_policy`] turns
/// it into the core's [`WitnessPolicy`](failover_core::WitnessPolicy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WitnessMode {
    /// No witness: Apple's rule alone (silence on every network).
    Off,
    /// Obey the witness when it is reachable; without it, fall back to
    /// Apple's rule after a longer hold-down.
    Preferred,
    /// Take over only with the witness's grant.
    Required,
}

impl WitnessMode {
    /// The mode named `off`, `preferred` or `required`.
    pub fn parse(text: &str) -> Option<WitnessMode> {
        match text {
            "off" => Some(WitnessMode::Off),
            "preferred" => Some(WitnessMode::Preferred),
            "required" => Some(WitnessMode::Required),
            _ => None,
        }
    }

    /// The mode's name as `--witness-policy` takes it.
    pub const fn name(self) -> &'static str {
        match self {
            WitnessMode::Off => "off",
            WitnessMode::Preferred => "preferred",
            WitnessMode::Required => "required",
        }
    }
}

/// What both daemons need alike.
#[derive(Debug, Clone)]
pub struct CommonOptions {
    /// `-d`, `-n`, `-x` or none.
    pub mode: RunMode,
    /// `--strict` (with `-n`): warnings fail the check too.
    pub strict: bool,
    /// The UDP port heartbeats use (`-p`; default 1694).
    pub port: u16,
    /// The syslog facility (`-L`; default daemon). Logging always goes to
    /// syslog; `-d` and `-n` also print to the terminal.
    pub facility: Facility,
    /// This node's heartbeat interval (`--interval`; default 1 s).
    pub interval: Duration,
    /// The witness's private address (`--witness`), if there is one.
    pub witness: Option<Ipv4Addr>,
    /// The host ARP-probed on each service interface (`--probe`): evidence
    /// beyond the carrier that clients can reach this server there.
    pub probe: Option<Ipv4Addr>,
    /// The key file (`--key-file`), if heartbeats are authenticated.
    pub key_file: Option<PathBuf>,
    /// The keys read from it: the signing key first, then at most one more
    /// that is also accepted (during a rotation).
    pub keys: Option<Keyring>,
    /// The configuration file read or looked for (`--config`; default
    /// `/etc/default/failover`).
    pub config_file: PathBuf,
    /// Whether that file existed and was read.
    pub config_loaded: bool,
    /// Where the boot epoch is kept (`--state-dir`; default
    /// `/var/lib/failover`).
    pub state_dir: PathBuf,
    /// Where notification mail waits until `sendmail` took it
    /// (`--spool-dir` or `FAILOVER_SPOOL_DIR`; default
    /// `/var/spool/failover`); an absolute path.
    pub spool_dir: PathBuf,
    /// Where the Prometheus metrics are written (`--metrics-file` or
    /// `FAILOVER_METRICS_FILE`; `None`: no metrics): an absolute path
    /// ending in `.prom`.
    pub metrics_file: Option<PathBuf>,
    /// Where to write the process id (`--pid-file`; default
    /// `/run/<daemon>.pid`).
    pub pid_file: PathBuf,
    /// The sendmail to mail notifications through (`--sendmail`; default
    /// `/usr/sbin/sendmail`); mail is skipped when it is not installed.
    pub sendmail: PathBuf,
    /// Who is mailed (`FAILOVER_EMAIL_RECIPIENT`; default `root`); `None`
    /// when the file sets it to the empty string: syslog only.
    pub email_recipient: Option<String>,
    /// How acquired addresses are announced (`--arp-count`,
    /// `--arp-spacing`).
    pub announce: AnnouncePlan,
    /// `--apple-compat` (`FAILOVER_APPLE_COMPAT=yes`): speak Mac OS X
    /// Server's heartbeat (docs/protocol.md, "Apple's heartbeat").
    pub apple_compat: bool,
    /// Things to log at startup that did not stop it (unknown keys in the
    /// configuration file, …).
    pub warnings: Vec<String>,
}

/// Everything `failoverd` (the secondary) runs with.
#[derive(Debug, Clone)]
pub struct FailoverdOptions {
    /// The options both daemons share.
    pub common: CommonOptions,
    /// The primary's private address (`master_priv_addr` or
    /// `FAILOVER_PEER_IP`), never acquired; its node id is the primary's.
    pub master: Ipv4Addr,
    /// The addresses to take over (`interface:pub_addr[/mask]` or
    /// `FAILOVER_PEER_IP_PAIRS`), in the order given.
    pub services: Vec<ServiceAddress>,
    /// How long the primary must be silent everywhere (`--deadtime`;
    /// default [`default_dead_time`]).
    pub dead_time: DeadTime,
    /// How long to wait after the verdict before acting (`--hold-down`).
    pub hold_down: Duration,
    /// What the witness counts for (`--witness-policy`; default `required`
    /// with `--witness`, else `off`).
    pub witness_mode: WitnessMode,
    /// The directory of per-address script directories (`--scripts-dir`).
    pub scripts_dir: PathBuf,
    /// The time limit of each script (`--script-timeout`; default 300 s).
    pub script_timeout: Duration,
}

/// Everything `heartbeatd` (the primary) runs with.
#[derive(Debug, Clone)]
pub struct HeartbeatdOptions {
    /// The options both daemons share.
    pub common: CommonOptions,
    /// Where heartbeats go (`ip_addr …` or `FAILOVER_BCAST_IPS`): target
    /// *i* is link *i*, private network first.
    pub targets: Vec<Ipv4Addr>,
    /// Addresses this primary holds itself and reclaims without overlap
    /// (`--service`); empty: it only beats, as Apple's did.
    pub services: Vec<ServiceAddress>,
    /// Free text carried in heartbeats (`-m`), at most 64 bytes.
    pub message: String,
    /// The secondary's private address (`--peer` or
    /// `FAILOVER_SECONDARY_IP`): its node id is the only one listened to in
    /// the secondary role. `None`: any node may claim it (warned about).
    pub peer: Option<Ipv4Addr>,
    /// `--failback` (`FAILOVER_FAILBACK`).
    pub failback: Failback,
    /// `--scripts-dir`: the Check scripts and the PostAcq/PostRel hooks
    /// are `DIR/ADDRESS/<stage>_*`.
    pub scripts_dir: PathBuf,
    /// `--script-timeout`: the time limit of each PostAcq/PostRel hook
    /// (a Check's is its period).
    pub script_timeout: Duration,
    /// `--check-interval` and its companions: the health checks, if any.
    pub checks: Option<HealthChecks>,
}

/// The primary's health checks: its Check scripts, run periodically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChecks {
    /// `--check-interval`: how often they run; also each run's time limit
    /// (a check slower than its period has failed).
    pub every: Duration,
    /// `--check-failures`: failed runs in a row that make the primary
    /// hand the service over.
    pub failures: u32,
}

/// The default of `--check-failures`.
pub const DEFAULT_CHECK_FAILURES: u32 = 3;

/// Reads `failoverd`'s command line (with the program name first) and its
/// configuration file, and checks everything.
pub fn failoverd_from_args<I, T>(args: I) -> Result<Invocation<FailoverdOptions>, StartupError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    into_result(failoverd_resolved(args)?)
}

/// [`failoverd_from_args`], with the options as far as they resolved next
/// to their problems (for `-n`). `Err` only for what stops parsing (a
/// syntax error of the command line).
pub fn failoverd_resolved<I, T>(
    args: I,
) -> Result<Invocation<Resolved<FailoverdOptions>>, StartupError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Ok(match parse_failoverd_args(args)? {
        Invocation::Run(a) => {
            let file = HostConfig::load(a.common.config.as_deref());
            Invocation::Run(FailoverdOptions::resolve_all(&a, &file))
        }
        Invocation::Help(t) => Invocation::Help(t),
        Invocation::Version(t) => Invocation::Version(t),
        Invocation::Status(p) => Invocation::Status(p),
        Invocation::Operator(r) => Invocation::Operator(r),
    })
}

/// Reads `heartbeatd`'s command line (with the program name first) and its
/// configuration file, and checks everything.
pub fn heartbeatd_from_args<I, T>(args: I) -> Result<Invocation<HeartbeatdOptions>, StartupError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    into_result(heartbeatd_resolved(args)?)
}

/// [`heartbeatd_from_args`], with the options as far as they resolved next
/// to their problems (for `-n`).
pub fn heartbeatd_resolved<I, T>(
    args: I,
) -> Result<Invocation<Resolved<HeartbeatdOptions>>, StartupError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Ok(match parse_heartbeatd_args(args)? {
        Invocation::Run(a) => {
            let file = HostConfig::load(a.common.config.as_deref());
            Invocation::Run(HeartbeatdOptions::resolve_all(&a, &file))
        }
        Invocation::Help(t) => Invocation::Help(t),
        Invocation::Version(t) => Invocation::Version(t),
        Invocation::Status(p) => Invocation::Status(p),
        Invocation::Operator(r) => Invocation::Operator(r),
    })
}

/// A resolved invocation, or the error its problems make.
fn into_result<T: HasWarnings>(i: Invocation<Resolved<T>>) -> Result<Invocation<T>, StartupError> {
    Ok(match i {
        Invocation::Run(r) => Invocation::Run(r.into_result()?),
        Invocation::Help(t) => Invocation::Help(t),
        Invocation::Version(t) => Invocation::Version(t),
        Invocation::Status(p) => Invocation::Status(p),
        Invocation::Operator(r) => Invocation::Operator(r),
    })
}

/// Collects problems and warnings while resolving.
struct Collector {
    problems: Vec<Problem>,
    warnings: Vec<String>,
    /// Which options the file supplied.
    origins: Origins,
}

impl Collector {
    /// Starts with the file's warnings; its unknown keys are problems for
    /// `-n` (it checks what would run, and a key the daemon does not know
    /// is a setting that would not), warnings for a start.
    fn new(file: &HostConfig, common: &CommonArgs, origins: Origins) -> Self {
        let mut c = Collector {
            problems: Vec::new(),
            warnings: file.warnings.clone(),
            origins,
        };
        for u in &file.unknown {
            if common.no_run {
                c.config(format!(
                    "{u}: a daemon would ignore it (the keys it reads: the CONFIGURATION section \
                     of its man page)"
                ));
            } else {
                c.warnings.push(format!("{u} ignored"));
            }
        }
        c
    }

    /// How a message names the value of `flag`: the option, or the file's
    /// key and line.
    fn name(&self, flag: &str) -> String {
        self.origins.name(flag)
    }

    /// A bad value of `flag`: a usage error from the command line, a
    /// configuration problem (naming the key and line) from the file.
    fn bad(&mut self, flag: &str, m: impl Into<String>) {
        let m = m.into();
        if self.origins.came_from_file(flag) {
            let name = self.name(flag);
            if m.contains(&name) {
                self.config(m);
            } else {
                self.config(format!("{m} (from {name})"));
            }
        } else {
            self.usage(m);
        }
    }

    /// A value of `flag` that does not parse, reported as [`Collector::bad`]
    /// in the crate's form, `{sentence}: {value} ({name}): {hint}`, where the
    /// name is the option or the file's key and line.
    fn invalid(&mut self, flag: &str, sentence: &str, value: &str, hint: &str) {
        let name = self.name(flag);
        self.bad(flag, value_error(sentence, value, &name, Some(hint)));
    }

    fn usage(&mut self, m: impl Into<String>) {
        self.problems.push(Problem::usage(m));
    }

    fn config(&mut self, m: impl Into<String>) {
        self.problems.push(Problem::config(m));
    }

    /// A value error: a usage problem from the command line, a
    /// configuration problem from the file.
    fn value(&mut self, from_file: bool, m: String) {
        if from_file {
            self.config(m);
        } else {
            self.usage(m);
        }
    }

    /// The options as far as they resolved, with the problems found.
    fn finish<T: HasWarnings>(self, program: Program, mut options: T) -> Resolved<T> {
        options.set_warnings(self.warnings);
        Resolved {
            program,
            options,
            problems: self.problems,
        }
    }
}

/// Options resolved as far as they could be, with every problem found.
/// A value in error is replaced by its default, so `-n` can go on to check
/// the rest of the configuration (interfaces, directories, scripts) and
/// show every problem in one run; a daemon must not start from them
/// ([`Resolved::into_result`]).
#[derive(Debug, Clone)]
pub struct Resolved<T> {
    /// The daemon.
    pub program: Program,
    /// The options, defaults in place of the values in error.
    pub options: T,
    /// Every problem, command line first. Empty: the options are good.
    pub problems: Vec<Problem>,
}

impl<T: HasWarnings> Resolved<T> {
    /// The options if there was no problem, else the error listing them
    /// all.
    pub fn into_result(self) -> Result<T, StartupError> {
        if self.problems.is_empty() {
            Ok(self.options)
        } else {
            let warnings = self.options.warnings().to_vec();
            Err(StartupError::new(self.program, self.problems, warnings))
        }
    }
}

/// Options that carry the warnings met while resolving them.
pub trait HasWarnings {
    /// The warnings.
    fn warnings(&self) -> &[String];
    /// Replaces them.
    fn set_warnings(&mut self, warnings: Vec<String>);
}

impl HasWarnings for FailoverdOptions {
    fn warnings(&self) -> &[String] {
        &self.common.warnings
    }
    fn set_warnings(&mut self, warnings: Vec<String>) {
        self.common.warnings = warnings;
    }
}

impl HasWarnings for HeartbeatdOptions {
    fn warnings(&self) -> &[String] {
        &self.common.warnings
    }
    fn set_warnings(&mut self, warnings: Vec<String>) {
        self.common.warnings = warnings;
    }
}

fn parse_interval(text: &str) -> Option<Duration> {
    parse_digits(text)
        .filter(|ms| (1..=MAX_INTERVAL_MS).contains(ms))
        .map(Duration::from_millis)
}

/// Checks the options both daemons share, and the email recipient of the
/// configuration `file`. Also says whether `--interval` was valid: the
/// core's checks, which depend on it, are run only if it was.
fn resolve_common(
    program: Program,
    a: &CommonArgs,
    file: &HostConfig,
    c: &mut Collector,
) -> (CommonOptions, bool) {
    let port = match a.port.as_deref() {
        Some(p) => parse_port(p).unwrap_or_else(|e| {
            c.bad("--port", e);
            DEFAULT_PORT
        }),
        None => DEFAULT_PORT,
    };
    let facility = match a.syslog.as_deref() {
        Some(f) => Facility::parse(f).unwrap_or_else(|e| {
            c.bad("--syslog", e.to_string());
            Facility::default()
        }),
        None => Facility::default(),
    };
    let mut interval_ok = true;
    let interval = match a.interval.as_deref() {
        Some(t) => parse_interval(t).unwrap_or_else(|| {
            interval_ok = false;
            c.invalid(
                "--interval",
                "Invalid interval",
                t,
                &format!("give milliseconds from 1 to {MAX_INTERVAL_MS}"),
            );
            Duration::from_millis(DEFAULT_INTERVAL_MS)
        }),
        None => Duration::from_millis(DEFAULT_INTERVAL_MS),
    };
    let witness = a.witness.as_deref().and_then(|w| {
        parse_ipv4(w, &c.name("--witness"), AddrUse::Host)
            .map_err(|e| c.bad("--witness", e))
            .ok()
    });
    let probe = a.probe.as_deref().and_then(|w| {
        parse_ipv4(w, &c.name("--probe"), AddrUse::Host)
            .map_err(|e| c.bad("--probe", e))
            .ok()
    });
    let email_recipient = match &file.email_recipient {
        None => Some(DEFAULT_EMAIL_RECIPIENT.to_owned()),
        Some(s) if s.value.trim().is_empty() => None,
        Some(s) if s.value.chars().any(char::is_control) => {
            c.config(value_error(
                "Invalid email recipient",
                &s.value.escape_debug().to_string(),
                &file.context(KEY_EMAIL_RECIPIENT, s),
                Some("it contains a control character"),
            ));
            None
        }
        Some(s) if parse_recipients(&s.value).is_err() => {
            let why = parse_recipients(&s.value)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            c.config(value_error(
                "Invalid email recipient",
                &s.value.escape_debug().to_string(),
                &file.context(KEY_EMAIL_RECIPIENT, s),
                Some(&format!(
                    "{why}: give plain addresses (user or user@example.org), separated by \
                     commas or spaces, without names, quotes or angle brackets"
                )),
            ));
            None
        }
        Some(s) => Some(s.value.trim().to_owned()),
    };
    let spool_dir = resolve_spool_dir(a, file, c);
    let metrics_file = resolve_metrics_file(a, file, c);
    let mut announce = AnnouncePlan::default();
    if let Some(t) = a.arp_count.as_deref() {
        match parse_digits(t).and_then(|n| u8::try_from(n).ok()) {
            Some(n) => announce.rounds = n,
            None => c.invalid(
                "--arp-count",
                "Invalid gratuitous ARP count",
                t,
                "give a number of rounds from 1 to 50",
            ),
        }
    }
    if let Some(t) = a.arp_spacing.as_deref() {
        match parse_digits(t) {
            Some(ms) => announce.spacing = Duration::from_millis(ms),
            None => c.invalid(
                "--arp-spacing",
                "Invalid gratuitous ARP spacing",
                t,
                "give milliseconds from 0 to 10000",
            ),
        }
    }
    if let Some(t) = a.arp_refresh.as_deref() {
        match parse_digits(t).filter(|s| AnnouncePlan::REFRESH_SECS.contains(s)) {
            Some(secs) => announce.refresh = Some(Duration::from_secs(secs)),
            None => c.invalid(
                "--arp-refresh",
                "Invalid gratuitous ARP refresh",
                t,
                "give whole seconds from 1 to 3600",
            ),
        }
    }
    if let Err(why) = announce.validate() {
        let given = format!(
            "--arp-count {} --arp-spacing {}",
            announce.rounds,
            announce.spacing.total_millis()
        );
        c.usage(value_error(
            "Invalid gratuitous ARP plan",
            &given,
            "--arp-count/--arp-spacing",
            Some(why),
        ));
    }
    let apple_compat = a.apple_compat
        || match a.apple_compat_file.as_deref() {
            None | Some("no" | "") => false,
            Some("yes") => true,
            Some(t) => {
                c.invalid(
                    "--apple-compat",
                    "Invalid Apple compatibility",
                    t,
                    "give yes or no",
                );
                false
            }
        };
    if apple_compat {
        if a.key_file.is_some() {
            apple_conflict(
                c,
                "--key-file",
                "Apple's heartbeats are not authenticated, so a key would protect nothing",
            );
        }
        if a.witness.is_some() {
            apple_conflict(
                c,
                "--witness",
                "Apple's daemons know no witness (its primary never fences itself)",
            );
        }
    }
    let common = CommonOptions {
        mode: a.mode(),
        strict: a.strict,
        port,
        facility,
        interval,
        witness,
        probe,
        key_file: a.key_file.clone(),
        keys: None,
        config_file: file.path.clone(),
        config_loaded: file.loaded,
        pid_file: pid_file_path(program, a),
        state_dir: a
            .state_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::config::cli::STATE_DIR)),
        spool_dir,
        metrics_file,
        sendmail: a
            .sendmail
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SENDMAIL)),
        email_recipient,
        announce,
        apple_compat,
        warnings: Vec::new(),
    };
    (common, interval_ok)
}

/// `--apple-compat` given with `flag`, which it cannot go with: `why`.
/// Reported against `flag` (a usage error, or a configuration problem when
/// the file set it), naming both where they came from.
fn apple_conflict(c: &mut Collector, flag: &str, why: &str) {
    let apple = c.name("--apple-compat");
    let other = c.name(flag);
    c.bad(
        flag,
        format!("{apple} cannot be combined with {other}: {why}"),
    );
}

/// The spool directory: `--spool-dir`, else `FAILOVER_SPOOL_DIR`, else
/// [`DEFAULT_SPOOL_DIR`]. It must be absolute: the daemon works from `/`
/// once in the background.
fn resolve_spool_dir(a: &CommonArgs, file: &HostConfig, c: &mut Collector) -> PathBuf {
    let (dir, from) = match (&a.spool_dir, &file.spool_dir) {
        (Some(d), _) => (d.clone(), "--spool-dir".to_owned()),
        (None, Some(s)) => (
            PathBuf::from(s.value.trim()),
            file.context(KEY_SPOOL_DIR, s),
        ),
        (None, None) => return PathBuf::from(DEFAULT_SPOOL_DIR),
    };
    if !dir.is_absolute() {
        c.value(
            a.spool_dir.is_none(),
            value_error(
                "Invalid mail spool directory",
                &dir.display().to_string(),
                &from,
                Some("give an absolute path"),
            ),
        );
        return PathBuf::from(DEFAULT_SPOOL_DIR);
    }
    dir
}

/// The metrics file: `--metrics-file`, else `FAILOVER_METRICS_FILE` (set
/// to the empty string: none), else none. It must be absolute (the daemon
/// works from `/` once in the background) and end in `.prom`, the only
/// files node_exporter's textfile collector reads: any other name would
/// be written faithfully and never collected.
fn resolve_metrics_file(a: &CommonArgs, file: &HostConfig, c: &mut Collector) -> Option<PathBuf> {
    let (path, from) = match (&a.metrics_file, &file.metrics_file) {
        (Some(p), _) => (p.clone(), "--metrics-file".to_owned()),
        (None, Some(s)) if s.value.trim().is_empty() => return None,
        (None, Some(s)) => (
            PathBuf::from(s.value.trim()),
            file.context(KEY_METRICS_FILE, s),
        ),
        (None, None) => return None,
    };
    let why = if !path.is_absolute() {
        Some("give an absolute path")
    } else if path.as_os_str().to_string_lossy().ends_with('/') {
        Some("give a file, not a directory")
    } else if path.extension().is_none_or(|e| e != "prom")
        || path.file_stem().is_none_or(|s| s.is_empty())
    {
        Some("node_exporter's textfile collector reads only files named *.prom")
    } else {
        None
    };
    match why {
        Some(why) => {
            c.value(
                a.metrics_file.is_none(),
                value_error(
                    "Invalid metrics file",
                    &path.display().to_string(),
                    &from,
                    Some(why),
                ),
            );
            None
        }
        None => Some(path),
    }
}

/// Loads the key file named with `--key-file`, if any, into `common.keys`.
fn resolve_keys(common: &mut CommonOptions, c: &mut Collector) {
    if let Some(path) = &common.key_file {
        match load_key_file(path) {
            Ok(keys) => common.keys = Some(keys),
            Err(problems) => c.problems.extend(problems),
        }
    }
}

/// Reports the core's own checks, in this crate's words where an option is
/// to blame.
fn core_problems<'a>(
    program: Program,
    problems: impl IntoIterator<Item = &'a ConfigError>,
    witness_mode: WitnessMode,
    witness_given: bool,
    c: &mut Collector,
) {
    for e in problems {
        let m = match e {
            // A --witness that did not parse is reported already.
            ConfigError::NoWitness if witness_given => continue,
            // Reported in this crate's words, naming the options.
            ConfigError::AppleCompat(_) => continue,
            ConfigError::NoWitness => format!(
                "--witness-policy {} needs a witness: give its private address with --witness ADDR",
                witness_mode.name()
            ),
            ConfigError::Links(n) => match program {
                Program::Failoverd => format!(
                    "{n} networks to watch (the private one and {} public interfaces); between 1 \
                     and {MAX_LINKS} are supported",
                    n.saturating_sub(1)
                ),
                Program::Heartbeatd => {
                    format!("{n} ip_addr targets; between 1 and {MAX_LINKS} networks are supported")
                }
            },
            other => other.to_string(),
        };
        c.config(m);
    }
}

/// The intervals from which on `failoverd`'s default dead time is Apple's
/// fixed three intervals.
pub const APPLE_INTERVAL: Duration = Duration::from_secs(1);

/// `failoverd`'s dead time without `--deadtime`: Apple's rule, three
/// intervals, fixed, at Apple's intervals (1 s and longer); the adaptive
/// dead time below them. Sub-second heartbeats are this project's
/// extension, and there a fixed three intervals is no longer safe: 30 %
/// loss per switch port makes three lost rounds in a row on both networks
/// likely enough that the lab's benchmark counted dozens of false
/// takeovers (each a brief split brain without a witness) in 30 s at 10 ms
/// beats, and none with `auto`, whose verdict on clean networks also comes
/// sooner (2.5 intervals). At 1 s beats the fixed rule stays, for Apple
/// compatibility and because `auto` there needs minutes after a start to
/// trust the network (docs/detector.md).
pub fn default_dead_time(interval: Duration) -> DeadTime {
    if interval < APPLE_INTERVAL {
        DeadTime::Adaptive(AdaptiveDeadTime::default())
    } else {
        DeadTime::Fixed(interval.saturating_mul(3))
    }
}

#[cfg(test)]
pub(crate) mod tests;

/// `--script-timeout` (both daemons): whole seconds from 1 to a day,
/// [`DEFAULT_SCRIPT_TIMEOUT_SECS`] when not given (or wrong, with the
/// problem collected).
fn resolve_script_timeout(text: Option<&str>, c: &mut Collector) -> Duration {
    let default = Duration::from_secs(DEFAULT_SCRIPT_TIMEOUT_SECS);
    let Some(t) = text else { return default };
    match parse_digits(t) {
        Some(s) if (1..=MAX_SCRIPT_TIMEOUT_SECS).contains(&s) => Duration::from_secs(s),
        _ => {
            c.invalid(
                "--script-timeout",
                "Invalid script timeout",
                t,
                "give whole seconds from 1 to 86400",
            );
            default
        }
    }
}
