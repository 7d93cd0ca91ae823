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
use std::fs::File;
use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use failover_core::config::ConfigError;
use failover_core::keyfile::KeyLines;
use failover_core::wire::{Keyring, MAX_MESSAGE_LEN};
use failover_core::{
    AdaptiveDeadTime, DeadTime, Duration, NodeId, PrimaryConfig, SecondaryConfig, Timing,
    WitnessPolicy, MAX_LINKS,
};

use crate::cli::{
    parse_digits, parse_failoverd_args, parse_heartbeatd_args, parse_ipv4, parse_port,
    parse_service_addr, pid_file_path, value_error, AddrUse, CommonArgs, Facility, FailoverdArgs,
    HeartbeatdArgs, InterfaceName, Invocation, Problem, Program, RunMode, ServiceAddr,
    StartupError, DEFAULT_INTERVAL_MS, DEFAULT_PORT, DEFAULT_SCRIPTS_DIR,
    DEFAULT_SCRIPT_TIMEOUT_SECS, DEFAULT_SENDMAIL, MAX_INTERVAL_MS, MAX_SCRIPT_TIMEOUT_SECS,
    MSG_INVALID_IP,
};
use crate::hostconfig::{
    HostConfig, KEY_BCAST_IPS, KEY_EMAIL_RECIPIENT, KEY_PEER_IP, KEY_PEER_IP_PAIRS,
    KEY_SECONDARY_IP,
};
use crate::net::AnnouncePlan;

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
/// it into the core's [`WitnessPolicy`].
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
    pub services: Vec<ServiceAddr>,
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
    pub services: Vec<ServiceAddr>,
    /// Free text carried in heartbeats (`-m`), at most 64 bytes.
    pub message: String,
    /// The secondary's private address (`--peer` or
    /// `FAILOVER_SECONDARY_IP`): its node id is the only one listened to in
    /// the secondary role. `None`: any node may claim it (warned about).
    pub peer: Option<Ipv4Addr>,
}

/// Reads `failoverd`'s command line (with the program name first) and its
/// configuration file, and checks everything.
pub fn failoverd_from_args<I, T>(args: I) -> Result<Invocation<FailoverdOptions>, StartupError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Ok(match parse_failoverd_args(args)? {
        Invocation::Run(a) => {
            let file = HostConfig::load(a.common.config.as_deref());
            Invocation::Run(FailoverdOptions::resolve(&a, &file)?)
        }
        Invocation::Help(t) => Invocation::Help(t),
        Invocation::Version(t) => Invocation::Version(t),
        Invocation::Status(p) => Invocation::Status(p),
    })
}

/// Reads `heartbeatd`'s command line (with the program name first) and its
/// configuration file, and checks everything.
pub fn heartbeatd_from_args<I, T>(args: I) -> Result<Invocation<HeartbeatdOptions>, StartupError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Ok(match parse_heartbeatd_args(args)? {
        Invocation::Run(a) => {
            let file = HostConfig::load(a.common.config.as_deref());
            Invocation::Run(HeartbeatdOptions::resolve(&a, &file)?)
        }
        Invocation::Help(t) => Invocation::Help(t),
        Invocation::Version(t) => Invocation::Version(t),
        Invocation::Status(p) => Invocation::Status(p),
    })
}

/// Collects problems and warnings while resolving.
struct Collector {
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

impl Collector {
    fn new(file: &HostConfig) -> Self {
        Collector {
            problems: Vec::new(),
            warnings: file.warnings.clone(),
        }
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

    fn finish<T>(
        self,
        program: Program,
        ok: impl FnOnce(Vec<String>) -> T,
    ) -> Result<T, StartupError> {
        if self.problems.is_empty() {
            Ok(ok(self.warnings))
        } else {
            Err(StartupError::new(program, self.problems, self.warnings))
        }
    }
}

/// `master_priv_addr`, with a hint when it looks like a triplet: the
/// private address was forgotten, so the first triplet took its place.
fn parse_master(text: &str) -> Result<Ipv4Addr, String> {
    parse_ipv4(text, "master_priv_addr", AddrUse::Host).map_err(|e| {
        if text.contains(':') && parse_service_addr(text, "").is_ok() {
            value_error(
                MSG_INVALID_IP,
                text,
                "master_priv_addr",
                Some("this is an interface:pub_addr[/mask] triplet; the master's private address comes first"),
            )
        } else {
            e
        }
    })
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
            c.usage(e);
            DEFAULT_PORT
        }),
        None => DEFAULT_PORT,
    };
    let facility = match a.syslog.as_deref() {
        Some(f) => Facility::parse(f).unwrap_or_else(|e| {
            c.usage(e);
            Facility::default()
        }),
        None => Facility::default(),
    };
    let mut interval_ok = true;
    let interval = match a.interval.as_deref() {
        Some(t) => parse_interval(t).unwrap_or_else(|| {
            interval_ok = false;
            c.usage(value_error(
                "Invalid interval",
                t,
                "--interval",
                Some("give milliseconds from 1 to 3600000"),
            ));
            Duration::from_millis(DEFAULT_INTERVAL_MS)
        }),
        None => Duration::from_millis(DEFAULT_INTERVAL_MS),
    };
    let witness = a.witness.as_deref().and_then(|w| {
        parse_ipv4(w, "--witness", AddrUse::Host)
            .map_err(|e| c.usage(e))
            .ok()
    });
    let probe = a.probe.as_deref().and_then(|w| {
        parse_ipv4(w, "--probe", AddrUse::Host)
            .map_err(|e| c.usage(e))
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
        Some(s) if crate::notify::mail::parse_recipients(&s.value).is_err() => {
            let why = crate::notify::mail::parse_recipients(&s.value)
                .err()
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
    let mut announce = AnnouncePlan::default();
    if let Some(t) = a.arp_count.as_deref() {
        match parse_digits(t).and_then(|n| u8::try_from(n).ok()) {
            Some(n) => announce.rounds = n,
            None => c.usage(value_error(
                "Invalid gratuitous ARP count",
                t,
                "--arp-count",
                Some("give a number of rounds from 1 to 50"),
            )),
        }
    }
    if let Some(t) = a.arp_spacing.as_deref() {
        match parse_digits(t) {
            Some(ms) => announce.spacing = Duration::from_millis(ms),
            None => c.usage(value_error(
                "Invalid gratuitous ARP spacing",
                t,
                "--arp-spacing",
                Some("give milliseconds from 0 to 10000"),
            )),
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
    let common = CommonOptions {
        mode: a.mode(),
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
            .unwrap_or_else(|| PathBuf::from(crate::daemon::epoch::STATE_DIR)),
        sendmail: a
            .sendmail
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SENDMAIL)),
        email_recipient,
        announce,
        warnings: Vec::new(),
    };
    (common, interval_ok)
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

impl FailoverdOptions {
    /// Puts `args` and the configuration `file` together and checks every
    /// value. `master_priv_addr` and the triplets come from the command line
    /// if it gives any of them, else from `FAILOVER_PEER_IP` and
    /// `FAILOVER_PEER_IP_PAIRS`: never half from each. Reads the key file.
    pub fn resolve(
        args: &FailoverdArgs,
        file: &HostConfig,
    ) -> Result<FailoverdOptions, StartupError> {
        let program = Program::Failoverd;
        let mut c = Collector::new(file);
        let (mut common, interval_ok) = resolve_common(program, &args.common, file, &mut c);
        let interval = common.interval;

        let mut dead_time_ok = true;
        let dead_time = match args.deadtime.as_deref() {
            None => default_dead_time(interval),
            Some("auto") => DeadTime::Adaptive(AdaptiveDeadTime::default()),
            Some(t) => match parse_digits(t) {
                Some(ms) => DeadTime::Fixed(Duration::from_millis(ms)),
                None => {
                    dead_time_ok = false;
                    c.usage(value_error(
                        "Invalid dead time",
                        t,
                        "--deadtime",
                        Some("give milliseconds, or \"auto\""),
                    ));
                    DeadTime::Fixed(interval.saturating_mul(3))
                }
            },
        };
        let hold_down = match args.hold_down.as_deref() {
            None => Duration::ZERO,
            Some(t) => parse_digits(t).map_or_else(
                || {
                    c.usage(value_error(
                        "Invalid hold-down",
                        t,
                        "--hold-down",
                        Some("give milliseconds"),
                    ));
                    Duration::ZERO
                },
                Duration::from_millis,
            ),
        };
        let witness_mode = match args.witness_policy.as_deref() {
            None if args.common.witness.is_some() => WitnessMode::Required,
            None => WitnessMode::Off,
            Some(t) => WitnessMode::parse(t).unwrap_or_else(|| {
                c.usage(value_error(
                    "Invalid witness policy",
                    t,
                    "--witness-policy",
                    Some("give off, preferred or required"),
                ));
                WitnessMode::Off
            }),
        };
        if witness_mode == WitnessMode::Off && common.witness.is_some() {
            c.warnings.push(
                "--witness is given but --witness-policy is off: the witness is not asked before \
                 a takeover"
                    .into(),
            );
        }
        let script_timeout = match args.script_timeout.as_deref() {
            None => Duration::from_secs(DEFAULT_SCRIPT_TIMEOUT_SECS),
            Some(t) => match parse_digits(t) {
                Some(s) if (1..=MAX_SCRIPT_TIMEOUT_SECS).contains(&s) => Duration::from_secs(s),
                _ => {
                    c.usage(value_error(
                        "Invalid script timeout",
                        t,
                        "--script-timeout",
                        Some("give whole seconds from 1 to 86400"),
                    ));
                    Duration::from_secs(DEFAULT_SCRIPT_TIMEOUT_SECS)
                }
            },
        };

        // The master and the triplets: the command line, else the file.
        let from_file = args.master_priv_addr.is_none() && args.pairs.is_empty();
        let mut master = None;
        let mut services = Vec::new();
        if !from_file {
            if let Some(m) = &args.master_priv_addr {
                master = parse_master(m).map_err(|e| c.usage(e)).ok();
            }
            for p in &args.pairs {
                match parse_service_addr(p, "") {
                    Ok(s) => services.push(s),
                    Err(es) => es.into_iter().for_each(|e| c.usage(e)),
                }
            }
            if args.pairs.is_empty() {
                c.usage(
                    "missing interface:pub_addr[/mask]: master_priv_addr is on the command line, \
                     so the addresses to take over must be too (the command line replaces \
                     FAILOVER_PEER_IP and FAILOVER_PEER_IP_PAIRS together)",
                );
            }
        }
        c.problems.extend(file.problems.iter().cloned());
        if from_file {
            match &file.peer_ip {
                Some(s) if !s.value.trim().is_empty() => {
                    let ctx = file.context(KEY_PEER_IP, s);
                    let mut words = s.words();
                    let first = words.next().unwrap_or_default();
                    if words.next().is_some() {
                        c.config(value_error(
                            MSG_INVALID_IP,
                            s.value.trim(),
                            &ctx,
                            Some("give a single address"),
                        ));
                    } else {
                        master = parse_ipv4(first, &ctx, AddrUse::Host)
                            .map_err(|e| c.config(e))
                            .ok();
                    }
                }
                _ => c.usage(format!(
                    "missing master_priv_addr: give it on the command line or as {KEY_PEER_IP} \
                     in {}",
                    file.path.display()
                )),
            }
            let pairs = file.peer_ip_pairs.as_ref();
            match pairs {
                Some(s) if s.words().next().is_some() => {
                    let ctx = file.context(KEY_PEER_IP_PAIRS, s);
                    for p in s.words() {
                        match parse_service_addr(p, &ctx) {
                            Ok(sa) => services.push(sa),
                            Err(es) => es.into_iter().for_each(|e| c.config(e)),
                        }
                    }
                }
                _ => c.usage(format!(
                    "missing interface:pub_addr[/mask]: give at least one on the command line \
                     or in {KEY_PEER_IP_PAIRS} in {}",
                    file.path.display()
                )),
            }
        }

        // Cross-checks.
        for (i, s) in services.iter().enumerate() {
            if services[..i].iter().any(|o| o.addr == s.addr) {
                c.value(
                    from_file,
                    format!("the public address {} is given twice", s.addr),
                );
            }
            if Some(s.addr) == master {
                c.value(
                    from_file,
                    format!(
                        "the public address {} is also master_priv_addr: the backup must never \
                         acquire the master's private address",
                        s.addr
                    ),
                );
            }
        }
        if let Some(w) = common.witness {
            if Some(w) == master {
                c.usage(format!(
                    "--witness {w} is master_priv_addr: the witness must be a third machine"
                ));
            }
            if services.iter().any(|s| s.addr == w) {
                c.usage(format!(
                    "--witness {w} is also a public address to take over: the witness must be a \
                     third machine"
                ));
            }
        }

        resolve_keys(&mut common, &mut c);
        let mut options = FailoverdOptions {
            common,
            master: master.unwrap_or(Ipv4Addr::UNSPECIFIED),
            services,
            dead_time,
            hold_down,
            witness_mode,
            scripts_dir: args
                .scripts_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SCRIPTS_DIR)),
            script_timeout,
        };
        if interval_ok && dead_time_ok {
            let config = options.secondary_config(Ipv4Addr::UNSPECIFIED, 0);
            core_problems(
                program,
                &config.problems(),
                witness_mode,
                args.common.witness.is_some(),
                &mut c,
            );
        }
        c.finish(program, |warnings| {
            options.common.warnings = warnings;
            options
        })
    }

    /// The public interfaces, each once, in the order of their first
    /// triplet. Link 0 is the interface that reaches `master_priv_addr`;
    /// link *k* is the *k*-th of these, which must be the network of
    /// heartbeatd's target *k* (private first, as in `FAILOVER_BCAST_IPS`).
    pub fn public_interfaces(&self) -> Vec<&InterfaceName> {
        let mut out: Vec<&InterfaceName> = Vec::new();
        for s in &self.services {
            if !out.contains(&&s.interface) {
                out.push(&s.interface);
            }
        }
        out
    }

    /// How many networks the secondary watches: the private one and each
    /// public interface (see [`public_interfaces`](Self::public_interfaces)).
    pub fn links(&self) -> u8 {
        u8::try_from(self.public_interfaces().len().saturating_add(1)).unwrap_or(u8::MAX)
    }

    /// The core's witness policy. "preferred" falls back to Apple's rule
    /// one witness lease (twenty intervals, [`Timing::recommended`]) after
    /// the hold-down: long enough for any grant the witness may have given
    /// to have run out.
    pub fn witness_policy(&self) -> WitnessPolicy {
        match self.witness_mode {
            WitnessMode::Off => WitnessPolicy::Off,
            WitnessMode::Required => WitnessPolicy::Required,
            WitnessMode::Preferred => WitnessPolicy::Preferred {
                fallback_hold_down: self
                    .hold_down
                    .saturating_add(Timing::recommended(self.common.interval).lease),
            },
        }
    }

    /// The directory of the scripts for one public address
    /// (`<scripts-dir>/<pub_addr>/`, as Apple's `/Library/IPFailover/<addr>/`).
    pub fn script_dir_for(&self, addr: Ipv4Addr) -> PathBuf {
        self.scripts_dir.join(addr.to_string())
    }

    /// The secondary's core configuration. `local_private` is this
    /// machine's own address on the private network (its node id);
    /// `epoch` is this boot's epoch, larger than any used before. The
    /// resolve step already ran the core's checks on it.
    pub fn secondary_config(&self, local_private: Ipv4Addr, epoch: u32) -> SecondaryConfig {
        let mut c = SecondaryConfig::new(
            node_id(local_private),
            epoch,
            self.links(),
            self.common.interval,
        );
        c.primary = Some(node_id(self.master));
        c.dead_time = self.dead_time;
        c.hold_down = self.hold_down;
        c.witness = self.witness_policy();
        c.witness_node = self.common.witness.map(node_id);
        c.stage_timeout = self.script_timeout.saturating_mul(STAGE_TIMEOUT_SCRIPTS);
        c.keys = self.common.keys.clone();
        c
    }
}

impl HeartbeatdOptions {
    /// Puts `args` and the configuration `file` together and checks every
    /// value. The targets come from the command line if it gives any, else
    /// from `FAILOVER_BCAST_IPS`. Reads the key file.
    pub fn resolve(
        args: &HeartbeatdArgs,
        file: &HostConfig,
    ) -> Result<HeartbeatdOptions, StartupError> {
        let program = Program::Heartbeatd;
        let mut c = Collector::new(file);
        let (mut common, interval_ok) = resolve_common(program, &args.common, file, &mut c);
        let message = args.message.clone().unwrap_or_default();
        if message.len() > MAX_MESSAGE_LEN {
            c.usage(format!(
                "Message too long: {} bytes (-m): heartbeats carry at most {MAX_MESSAGE_LEN}",
                message.len()
            ));
        }
        let mut services = Vec::new();
        for p in &args.service {
            match parse_service_addr(p, "--service") {
                Ok(s) => services.push(s),
                Err(es) => es.into_iter().for_each(|e| c.usage(e)),
            }
        }
        let from_file = args.targets.is_empty();
        let mut targets = Vec::new();
        for t in &args.targets {
            if let Ok(a) = parse_ipv4(t, "ip_addr", AddrUse::Target).map_err(|e| c.usage(e)) {
                targets.push(a);
            }
        }
        c.problems.extend(file.problems.iter().cloned());
        if from_file {
            match &file.bcast_ips {
                Some(s) if s.words().next().is_some() => {
                    let ctx = file.context(KEY_BCAST_IPS, s);
                    for t in s.words() {
                        if let Ok(a) = parse_ipv4(t, &ctx, AddrUse::Target).map_err(|e| c.config(e))
                        {
                            targets.push(a);
                        }
                    }
                }
                _ => c.usage(format!(
                    "missing ip_addr: give the broadcast addresses, private network first, on \
                     the command line or as {KEY_BCAST_IPS} in {}",
                    file.path.display()
                )),
            }
        }
        for (i, t) in targets.iter().enumerate() {
            if targets[..i].contains(t) {
                c.value(
                    from_file,
                    format!("the target {t} is given twice: list each network once"),
                );
            }
        }
        for (i, s) in services.iter().enumerate() {
            if services[..i].iter().any(|o| o.addr == s.addr) {
                c.usage(format!("the service address {} is given twice", s.addr));
            }
            if Some(s.addr) == common.witness {
                c.usage(format!(
                    "--witness {} is also a --service address: the witness must be a third machine",
                    s.addr
                ));
            }
        }
        let peer = match (&args.peer, &file.secondary_ip) {
            (Some(p), _) => parse_ipv4(p, "--peer", AddrUse::Host)
                .map_err(|e| c.usage(e))
                .ok(),
            (None, Some(s)) => {
                let ctx = file.context(KEY_SECONDARY_IP, s);
                parse_ipv4(s.value.trim(), &ctx, AddrUse::Host)
                    .map_err(|e| c.config(e))
                    .ok()
            }
            (None, None) => None,
        };
        if let Some(p) = peer {
            if Some(p) == common.witness {
                c.usage(format!(
                    "--peer {p} is also the --witness: the secondary and the witness are two machines"
                ));
            }
            if services.iter().any(|s| s.addr == p) {
                c.usage(format!(
                    "--peer {p} is also a --service address: give the secondary's private address"
                ));
            }
        }
        resolve_keys(&mut common, &mut c);
        if peer.is_none() && common.key_file.is_none() {
            // With a key only key holders can claim anything.
            c.warnings.push(format!(
                "no --peer (or {KEY_SECONDARY_IP}) and no key: any node on the networks may \
                 claim the secondary role, and one that claims to hold the service addresses \
                 makes this primary give them up; give the secondary's private address"
            ));
        }
        let mut options = HeartbeatdOptions {
            common,
            targets,
            services,
            message,
            peer,
        };
        // An empty target list is reported above; the core's link count
        // check covers too many.
        if interval_ok && !options.targets.is_empty() {
            let config = options.primary_config(Ipv4Addr::UNSPECIFIED, 0);
            core_problems(program, &config.problems(), WitnessMode::Off, false, &mut c);
        }
        c.finish(program, |warnings| {
            options.common.warnings = warnings;
            options
        })
    }

    /// How many networks the primary beats on: one per target.
    pub fn links(&self) -> u8 {
        u8::try_from(self.targets.len()).unwrap_or(u8::MAX)
    }

    /// The primary's core configuration. `local_private` is this machine's
    /// address on the private network (the network of the first target):
    /// it must be the `master_priv_addr` failoverd is given, since it
    /// becomes the primary's node id. `epoch` is this boot's epoch. With
    /// `--witness`, the isolation fence is [`Timing::recommended`]'s.
    pub fn primary_config(&self, local_private: Ipv4Addr, epoch: u32) -> PrimaryConfig {
        let interval = self.common.interval;
        let mut c = PrimaryConfig::new(node_id(local_private), epoch, self.links(), interval);
        c.manage_addresses = !self.services.is_empty();
        c.secondary = self.peer.map(node_id);
        c.witness_node = self.common.witness.map(node_id);
        c.isolation_fence = self
            .common
            .witness
            .map(|_| Timing::recommended(interval).isolation_fence);
        c.keys = self.common.keys.clone();
        // Checked against MAX_MESSAGE_LEN when resolving; a longer one is
        // cut rather than dropped.
        let bytes = self.message.as_bytes();
        let _ = c
            .message
            .extend_from_slice(bytes.get(..MAX_MESSAGE_LEN).unwrap_or(bytes));
        c
    }
}

/// Reads a key file, refusing one that group or others may access.
///
/// Format: one key per line, `ID HEXSECRET`: a key id from 0 to 255, then
/// the secret in hexadecimal, 16 to 64 bytes (32 to 128 hex digits). The
/// first key signs; a second one, if present, is also accepted (a rotation
/// in progress). `#` starts a comment; blank lines are skipped. Messages
/// never quote a secret (`failover_core::keyfile`).
pub fn load_key_file(path: &Path) -> Result<Keyring, Vec<Problem>> {
    let p = path.display();
    let unreadable =
        |e: std::io::Error| vec![Problem::no_input(format!("cannot read key file {p}: {e}"))];
    let mut file = File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(vec![Problem::config(format!(
            "key file {p} is not a regular file"
        ))]);
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(vec![Problem::config(format!(
            "key file {p} is accessible by group or others (mode {mode:04o}): anyone who can \
             read it can forge heartbeats; fix with: chmod 600 {p}"
        ))]);
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(unreadable)?;
    parse_keys(&text, &p.to_string())
}

/// Parses the text of a key file (see [`load_key_file`]) with the core's
/// parser, which the witness firmware's build uses too; `name` is the
/// file's name for messages.
pub fn parse_keys(text: &str, name: &str) -> Result<Keyring, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut keys = Vec::new();
    let mut lines = KeyLines::new(text);
    for (line, parsed) in &mut lines {
        match parsed {
            Ok(key) => keys.push(key.into_key()),
            Err(e) => problems.push(Problem::config(format!("{name}:{line}: {e}"))),
        }
    }
    if let Err(e) = lines.finish() {
        problems.push(Problem::config(format!("{name}: {e}")));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut keys = keys.into_iter();
    let Some(first) = keys.next() else {
        return Err(vec![Problem::config(format!("{name}: no key found"))]);
    };
    let mut ring = Keyring::new(first);
    for k in keys {
        if let Err(e) = ring.add(k) {
            return Err(vec![Problem::config(format!("{name}: {e}"))]);
        }
    }
    Ok(ring)
}

/// The Linux capability to use raw sockets (pnet's AF_PACKET channels).
pub const CAP_NET_RAW: u32 = 13;
/// The Linux capability to change interface addresses over netlink.
pub const CAP_NET_ADMIN: u32 = 12;

/// Refuses to go on without the privileges the daemon needs: root, or the
/// capabilities `CAP_NET_RAW` and `CAP_NET_ADMIN` in the effective set (as
/// a systemd unit with `AmbientCapabilities=` grants). The message is
/// Apple's "must be executed as root", adapted; exit with
/// [`crate::cli::EXIT_NOPERM`].
pub fn check_privileges(program: Program) -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| {
        format!("{program}: cannot read /proc/self/status to check privileges: {e}")
    })?;
    privileges_from_status(program, &status)
}

/// [`check_privileges`] on the text of a `/proc/<pid>/status` file.
pub fn privileges_from_status(program: Program, status: &str) -> Result<(), String> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    // "Uid:" lists the real, effective, saved and filesystem uids.
    let euid = field("Uid:").and_then(|v| v.split_whitespace().nth(1)?.parse::<u32>().ok());
    let caps = field("CapEff:").and_then(|v| u64::from_str_radix(v, 16).ok());
    let needed = (1u64 << CAP_NET_RAW) | (1u64 << CAP_NET_ADMIN);
    if euid == Some(0) || caps.is_some_and(|c| c & needed == needed) {
        Ok(())
    } else {
        Err(format!(
            "{program} must be executed as root (or with CAP_NET_RAW and CAP_NET_ADMIN): it \
             controls system-wide resources."
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::cli::{ProblemKind, EXIT_CONFIG, EXIT_NOINPUT, EXIT_USAGE};

    const FILE: &str = "/etc/default/failover";
    const KEY16: &str = "000102030405060708090a0b0c0d0e0f";
    const KEY32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn file(text: &str) -> HostConfig {
        HostConfig::parse(Path::new(FILE), text)
    }

    fn no_file() -> HostConfig {
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

    fn failoverd(args: &[&str], f: &HostConfig) -> FailoverdOptions {
        FailoverdOptions::resolve(&fargs(args), f).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn heartbeatd(args: &[&str], f: &HostConfig) -> HeartbeatdOptions {
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
            ["--witness is given but --witness-policy is off: the witness is not asked before a \
              takeover"]
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
            ["missing interface:pub_addr[/mask]: master_priv_addr is on the command line, so the \
              addresses to take over must be too (the command line replaces FAILOVER_PEER_IP and \
              FAILOVER_PEER_IP_PAIRS together)"]
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

        let e = f_err(&[], &file("FAILOVER_PEER_IP=\"198.51.100.1 198.51.100.2\"\nFAILOVER_PEER_IP_PAIRS=e:192.0.2.1\n"));
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
    fn email_recipient_set_empty_means_no_email() {
        let f = file("FAILOVER_EMAIL_RECIPIENT=\n");
        let o = failoverd(&["198.51.100.1", "eth0:192.0.2.10"], &f);
        assert_eq!(o.common.email_recipient, None);
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
                format!(
                    "Invalid interval: {bad} (--interval): give milliseconds from 1 to 3600000"
                )
            );
        }
        assert_eq!(
            with(&["--deadtime", "fast"]),
            "Invalid dead time: fast (--deadtime): give milliseconds, or \"auto\""
        );
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
            "CNode: invalid IP address: ::1 (--witness): IPv6 is not supported yet"
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
            h_one(&["--peer", "198.51.100.3", "--witness", "198.51.100.3", "198.51.100.255"]),
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
            "Message too long: 65 bytes (-m): heartbeats carry at most 64"
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
            let e = load_key_file(&path).expect_err("refused");
            assert_eq!(e.len(), 1);
            assert_eq!(e[0].kind, ProblemKind::Config);
            let p = path.display();
            assert_eq!(
                e[0].message,
                format!(
                    "key file {p} is accessible by group or others (mode {mode:04o}): anyone who \
                     can read it can forge heartbeats; fix with: chmod 600 {p}"
                )
            );
        }
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
                "k:1: invalid key id \"256\": give a number from 0 to 255",
            ),
            (
                "1 00112233445566778899aabbccddee\n".into(),
                "k:1: the secret is 15 bytes; a key needs 16 to 64 bytes (32 to 128 hex digits)",
            ),
            (
                format!("1 {KEY32}{KEY32}00\n"),
                "k:1: the secret is 65 bytes; a key needs 16 to 64 bytes (32 to 128 hex digits)",
            ),
            (
                format!("1 {KEY16}0\n"),
                "k:1: the secret is not hexadecimal (two digits 0-9, a-f per byte)",
            ),
            (
                format!("1 zz{KEY16}\n"),
                "k:1: the secret is not hexadecimal (two digits 0-9, a-f per byte)",
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
        let refused =
            "failoverd must be executed as root (or with CAP_NET_RAW and CAP_NET_ADMIN): \
                       it controls system-wide resources.";
        let p = Program::Failoverd;
        assert_eq!(
            privileges_from_status(p, &status("0\t0\t0\t0", "0000000000000000")),
            Ok(())
        );
        assert_eq!(
            privileges_from_status(p, &status("1000\t1000\t1000\t1000", "0000000000003000")),
            Ok(())
        );
        assert_eq!(
            privileges_from_status(p, &status("1000\t1000\t1000\t1000", "000001ffffffffff")),
            Ok(())
        );
        for caps in [
            "0000000000002000",
            "0000000000001000",
            "0000000000000000",
            "zz",
        ] {
            assert_eq!(
                privileges_from_status(p, &status("1000\t1000\t1000\t1000", caps)),
                Err(refused.to_owned()),
                "{caps}"
            );
        }
        // Root's real uid alone is not enough: the effective one counts.
        assert_eq!(
            privileges_from_status(p, &status("0\t1000\t0\t1000", "0000000000000000")),
            Err(refused.to_owned())
        );
        assert_eq!(privileges_from_status(p, ""), Err(refused.to_owned()));
        assert_eq!(
            privileges_from_status(Program::Heartbeatd, ""),
            Err(
                "heartbeatd must be executed as root (or with CAP_NET_RAW and CAP_NET_ADMIN): it \
                 controls system-wide resources."
                    .to_owned()
            )
        );
        // On this machine: either outcome, but never a read failure.
        match check_privileges(p) {
            Ok(()) => {}
            Err(e) => assert_eq!(e, refused),
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
}
