//! The command lines of `failoverd` and `heartbeatd`: Apple's syntax, its
//! error messages, and our long-option extensions.
//!
//! This module is about *syntax*: which options exist, and whether each value
//! is well formed (a port number, a syslog facility, an IPv4 address, an
//! `interface:pub_addr[/mask]` triplet, an interface name that Linux could
//! have). Whether an interface exists or is up is checked later, over
//! netlink, by `-n`. Putting values together with the configuration file
//! and checking them as a whole is [`crate::config::options`].
//!
//! Apple's daemons printed fixed sentences ("Invalid port. Valid ports range
//! from 1 to 65535.", "CNode: invalid IP address", …); administrators and
//! their scripts know them, so they are kept word for word, with the
//! offending value and where it came from added after them.
//!
//! Library code never exits: every failure is a [`StartupError`] carrying an
//! exit status ([`StartupError::exit_code`]) for the binary to use.

use std::ffi::OsString;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser};

/// Exit status for a command-line mistake (sysexits' `EX_USAGE`): a
/// malformed option or value. systemd shows it as `USAGE`.
pub const EXIT_USAGE: u8 = 64;
/// Exit status when a file the daemon needs (the configuration file given
/// with `--config`, the key file) cannot be read (sysexits' `EX_NOINPUT`).
pub const EXIT_NOINPUT: u8 = 66;
/// Exit status when the daemon lacks the privileges it needs (sysexits'
/// `EX_NOPERM`); see [`crate::config::options::check_privileges`].
pub const EXIT_NOPERM: u8 = 77;
/// Exit status for a configuration that is well formed but wrong or unsafe
/// (sysexits' `EX_CONFIG`): a bad value in the configuration file, a key
/// file others can read, a dead time shorter than two intervals, …
pub const EXIT_CONFIG: u8 = 78;

/// The UDP port heartbeats use unless `-p` says otherwise (Apple's 1694).
pub const DEFAULT_PORT: u16 = failover_core::wire::DEFAULT_PORT;
/// Default heartbeat interval in milliseconds (Apple's one second).
pub const DEFAULT_INTERVAL_MS: u64 = 1000;
/// The longest heartbeat interval accepted, in milliseconds (one hour): the
/// wire carries intervals up to about 71 minutes.
pub const MAX_INTERVAL_MS: u64 = 3_600_000;
/// Default directory of the per-address script directories (Apple's
/// `/Library/IPFailover`).
pub const DEFAULT_SCRIPTS_DIR: &str = "/etc/failover";
/// Where a daemon keeps its epochs unless `--state-dir` says otherwise.
pub const STATE_DIR: &str = "/var/lib/failover";
/// Default `sendmail` used for email notifications.
pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";
/// Default per-script time limit, in seconds. Five minutes: real Test
/// scripts wait on purpose (seed 002's waits 240 s to see whether the
/// primary is only rebooting), and a limit that kills them would veto every
/// takeover.
pub const DEFAULT_SCRIPT_TIMEOUT_SECS: u64 = 300;
/// The longest per-script time limit accepted, in seconds (one day).
pub const MAX_SCRIPT_TIMEOUT_SECS: u64 = 86_400;
/// Linux's `IFNAMSIZ` less the terminating NUL: the longest interface name.
pub const MAX_IFNAME_LEN: usize = 15;

/// Apple's message for a bad `-p`, word for word.
pub const MSG_INVALID_PORT: &str = "Invalid port. Valid ports range from 1 to 65535.";
/// Apple's message for a bad `-L` / `--syslog`, word for word (the list of
/// valid names is appended, since Apple's pointed at its man page).
pub const MSG_INVALID_FACILITY: &str = "Invalid syslog facility.";
/// Apple's message for an address that is not an IPv4 address.
pub const MSG_INVALID_IP: &str = "CNode: invalid IP address";
/// Apple's message for a malformed `interface:pub_addr[/mask]` triplet.
pub const MSG_INVALID_PAIR: &str = "Invalid interface / IP address pair";
/// Apple's message for a bad interface name.
pub const MSG_INVALID_IFNAME: &str = "CNode: invalid interface name";

/// Which daemon a message or an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Program {
    /// The secondary's daemon.
    Failoverd,
    /// The primary's daemon.
    Heartbeatd,
}

impl Program {
    /// The program's name, as it prefixes its messages.
    pub const fn name(self) -> &'static str {
        match self {
            Program::Failoverd => "failoverd",
            Program::Heartbeatd => "heartbeatd",
        }
    }

    /// Apple's synopsis, shown in `--help` and after a usage error.
    pub const fn synopsis(self) -> &'static str {
        match self {
            Program::Failoverd => FAILOVERD_USAGE,
            Program::Heartbeatd => HEARTBEATD_USAGE,
        }
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const FAILOVERD_USAGE: &str = "failoverd [-d | -n | -x] [-p port] [-L facility] [options] \
master_priv_addr interface:pub_addr[/mask] ...\n       failoverd --status [--pid-file PATH]\n       failoverd [-h | -v]";
const HEARTBEATD_USAGE: &str =
    "heartbeatd [-d | -n | -x] [-p port] [-m message] [-L facility] [options] ip_addr ...\n       \
heartbeatd --status [--pid-file PATH]\n       heartbeatd [-h | -v]";

/// What kind of mistake a [`Problem`] is; decides the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// A malformed command line ([`EXIT_USAGE`]).
    Usage,
    /// A file that could not be read ([`EXIT_NOINPUT`]).
    NoInput,
    /// Missing privileges ([`EXIT_NOPERM`]).
    NoPerm,
    /// A wrong or unsafe configuration ([`EXIT_CONFIG`]).
    Config,
}

impl ProblemKind {
    /// The exit status for this kind of problem.
    pub const fn exit_code(self) -> u8 {
        match self {
            ProblemKind::Usage => EXIT_USAGE,
            ProblemKind::NoInput => EXIT_NOINPUT,
            ProblemKind::NoPerm => EXIT_NOPERM,
            ProblemKind::Config => EXIT_CONFIG,
        }
    }
}

/// One thing wrong with the invocation. The daemons collect every problem
/// before giving up, so that `-n` shows them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of mistake it is.
    pub kind: ProblemKind,
    /// The message for the administrator, without the program name.
    pub message: String,
}

impl Problem {
    /// A command-line mistake.
    pub fn usage(message: impl Into<String>) -> Self {
        Problem {
            kind: ProblemKind::Usage,
            message: message.into(),
        }
    }

    /// A file that could not be read.
    pub fn no_input(message: impl Into<String>) -> Self {
        Problem {
            kind: ProblemKind::NoInput,
            message: message.into(),
        }
    }

    /// A wrong or unsafe configuration.
    pub fn config(message: impl Into<String>) -> Self {
        Problem {
            kind: ProblemKind::Config,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a daemon cannot start: every problem found, and the warnings met on
/// the way (the binary prints all of them, then exits with
/// [`exit_code`](StartupError::exit_code)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupError {
    /// The daemon that refuses to start.
    pub program: Program,
    /// Every problem, in the order found (command line first). Never empty.
    pub problems: Vec<Problem>,
    /// Things worth knowing that did not stop the start by themselves
    /// (unknown keys in the configuration file, …).
    pub warnings: Vec<String>,
    /// Clap's own rendering of a syntax error (unknown option, missing
    /// value, `-d` with `-n`, …), which already includes the usage line.
    pub clap_message: Option<String>,
}

impl StartupError {
    /// An error made of `problems` (which must not be empty to be useful).
    pub fn new(program: Program, problems: Vec<Problem>, warnings: Vec<String>) -> Self {
        StartupError {
            program,
            problems,
            warnings,
            clap_message: None,
        }
    }

    /// The exit status: that of the first problem (command-line problems
    /// are found first); [`EXIT_USAGE`] if there is none.
    pub fn exit_code(&self) -> u8 {
        self.problems
            .first()
            .map_or(EXIT_USAGE, |p| p.kind.exit_code())
    }

    /// The problems' messages alone, without the program name.
    pub fn messages(&self) -> Vec<&str> {
        self.problems.iter().map(|p| p.message.as_str()).collect()
    }
}

impl fmt::Display for StartupError {
    /// One line per warning and per problem, each prefixed with the program
    /// name (`failoverd: Invalid port. …`), then the usage synopsis if the
    /// command line was at fault.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.program.name();
        for w in &self.warnings {
            writeln!(f, "{name}: warning: {w}")?;
        }
        if let Some(m) = &self.clap_message {
            return write!(f, "{name}: {}", m.trim_end());
        }
        for p in &self.problems {
            writeln!(f, "{name}: {}", p.message)?;
        }
        if self.problems.iter().any(|p| p.kind == ProblemKind::Usage) {
            write!(f, "usage: {}", self.program.synopsis())?;
        }
        Ok(())
    }
}

impl std::error::Error for StartupError {}

/// What a successfully parsed command line asks for: run (or, with `-n`,
/// validate), or print help or the version and exit 0.
#[derive(Debug, Clone)]
pub enum Invocation<T> {
    /// Run with these arguments or options.
    Run(T),
    /// `-h` / `--help`: print this text to standard output, exit 0.
    Help(String),
    /// `-v` / `--version`: print this text to standard output, exit 0.
    Version(String),
    /// `--status`: ask the daemon whose pid file is this one for its state.
    Status(PathBuf),
}

/// How the daemon runs: Apple's `-d`, `-n` and `-x`, which exclude each
/// other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RunMode {
    /// No option: move to the background, log to syslog.
    #[default]
    Background,
    /// `-d` / `--debug`: stay in the foreground and log to the terminal.
    Debug,
    /// `-n` / `--no-run`: check everything, print every problem to the
    /// terminal, and exit (0 if the configuration is sound).
    NoRun,
    /// `-x` / `--no-fork`: stay in the foreground (as under systemd), log to
    /// syslog.
    NoFork,
}

impl RunMode {
    /// Whether the daemon moves to the background.
    pub const fn forks(self) -> bool {
        matches!(self, RunMode::Background)
    }

    /// Whether log lines go to the terminal (`-d` and `-n`).
    pub const fn logs_to_terminal(self) -> bool {
        matches!(self, RunMode::Debug | RunMode::NoRun)
    }

    /// Whether the daemon only validates its configuration and exits.
    pub const fn validate_only(self) -> bool {
        matches!(self, RunMode::NoRun)
    }
}

/// The syslog facilities Apple's daemons accept with `-L`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Facility {
    /// `daemon`, the default.
    #[default]
    Daemon,
    /// `auth`.
    Auth,
    /// `user`.
    User,
    /// `local0` … `local7`: the number, 0 to 7.
    Local(u8),
}

impl Facility {
    /// The facility named `name` (`daemon`, `auth`, `user`, `local0` …
    /// `local7`; case does not matter), or Apple's "Invalid syslog
    /// facility." message with the valid names.
    pub fn parse(name: &str) -> Result<Facility, String> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "daemon" => Ok(Facility::Daemon),
            "auth" => Ok(Facility::Auth),
            "user" => Ok(Facility::User),
            _ => match lower.strip_prefix("local").map(str::as_bytes) {
                Some([d @ b'0'..=b'7']) => Ok(Facility::Local(d - b'0')),
                _ => Err(format!(
                    "{MSG_INVALID_FACILITY} {name:?} is not one of daemon (the default), auth, \
                     user, local0 to local7."
                )),
            },
        }
    }

    /// The facility's name as `-L` takes it.
    pub fn name(self) -> String {
        match self {
            Facility::Daemon => "daemon".into(),
            Facility::Auth => "auth".into(),
            Facility::User => "user".into(),
            Facility::Local(n) => format!("local{n}"),
        }
    }

    /// The facility as syslog(3) encodes it (`LOG_DAEMON` = 3 << 3, …),
    /// ready to OR with a priority or to pass to `openlog`.
    pub const fn code(self) -> i32 {
        match self {
            Facility::User => 1 << 3,
            Facility::Daemon => 3 << 3,
            Facility::Auth => 4 << 3,
            Facility::Local(n) => (16 + (n as i32 & 7)) << 3,
        }
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A name Linux could give a network interface (checked syntactically:
/// whether it exists is `-n`'s netlink check). Kept as a type so that an
/// unchecked string cannot reach the netlink or raw-socket code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InterfaceName(String);

impl InterfaceName {
    /// `name` if Linux would accept it (as the kernel's `dev_valid_name`
    /// does: 1 to 15 bytes, not `.` or `..`, no `/`, `:` or whitespace);
    /// otherwise why not.
    pub fn new(name: &str) -> Result<InterfaceName, &'static str> {
        if name.is_empty() {
            Err("the name is empty")
        } else if name.len() > MAX_IFNAME_LEN {
            Err("longer than 15 bytes, the most Linux allows (IFNAMSIZ)")
        } else if name == "." || name == ".." {
            Err("\".\" and \"..\" are not interface names")
        } else if name.contains('/') {
            Err("an interface name cannot contain '/'")
        } else if name.contains(':') {
            Err("an interface name cannot contain ':'")
        } else if name.chars().any(char::is_whitespace) {
            Err("an interface name cannot contain whitespace")
        } else if name.chars().any(char::is_control) {
            Err("an interface name cannot contain control characters")
        } else {
            Ok(InterfaceName(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `interface:pub_addr[/mask]` triplet: a service address the secondary
/// takes over (`failoverd`) or the primary holds (`heartbeatd --service`).
/// The one type for it everywhere: options, plan, scripts, notifications
/// and the addresses the daemon adds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceAddress {
    /// The interface that carries the address.
    pub interface: InterfaceName,
    /// The address.
    pub addr: Ipv4Addr,
    /// The prefix length, if one was given (`/0` to `/32`). Apple: left
    /// blank (or `/32`) when the address is on the interface's own subnet.
    pub prefix: Option<u8>,
}

impl ServiceAddress {
    /// The prefix length to configure: the one given, or 32 (a host
    /// address, which is what Linux assumes without a mask too).
    pub fn prefix_len(&self) -> u8 {
        self.prefix.unwrap_or(32)
    }

    /// In words, for notifications: `192.0.2.10/24 on eth0`.
    pub fn on_interface(&self) -> String {
        match self.prefix {
            Some(p) => format!("{}/{p} on {}", self.addr, self.interface),
            None => format!("{} on {}", self.addr, self.interface),
        }
    }
}

impl fmt::Display for ServiceAddress {
    /// As it is written on the command line: `en0:192.0.2.10/24`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.interface, self.addr)?;
        if let Some(p) = self.prefix {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

/// What an address is for, which decides the addresses that make no sense
/// there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrUse {
    /// A node's or a service's own address: not 0.0.0.0, loopback,
    /// multicast or 255.255.255.255.
    Host,
    /// Where heartbeats are sent (`heartbeatd`'s `ip_addr`): a broadcast or
    /// unicast address, not 0.0.0.0, loopback or multicast.
    Target,
}

/// Formats a value error the way every message in this crate looks:
/// `{sentence}: {value} ({context})`, then `: {reason}` if there is one.
pub fn value_error(sentence: &str, value: &str, context: &str, reason: Option<&str>) -> String {
    let mut s = format!("{sentence}: {value}");
    if !context.is_empty() {
        s.push_str(&format!(" ({context})"));
    }
    if let Some(r) = reason {
        s.push_str(": ");
        s.push_str(r);
    }
    s
}

/// Parses a `-p` value: 1 to 65535, digits only; otherwise Apple's message.
pub fn parse_port(text: &str) -> Result<u16, String> {
    match parse_digits(text) {
        Some(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(MSG_INVALID_PORT.to_owned()),
    }
}

/// Parses an IPv4 address in dotted decimal (strictly: four parts, no
/// leading zeros), refusing the addresses that make no sense for `usage`.
/// `context` says which argument it was, for the message.
pub fn parse_ipv4(text: &str, context: &str, usage: AddrUse) -> Result<Ipv4Addr, String> {
    let err = |reason: Option<&str>| value_error(MSG_INVALID_IP, text, context, reason);
    let addr: Ipv4Addr = match text.parse() {
        Ok(a) => a,
        Err(_) if text.parse::<Ipv6Addr>().is_ok() => {
            return Err(err(Some("IPv6 is not supported yet")))
        }
        Err(_) => return Err(err(None)),
    };
    let reason = if addr.is_unspecified() {
        Some("0.0.0.0 is not a host address")
    } else if addr.is_loopback() {
        Some("a loopback address cannot be used")
    } else if addr.is_multicast() {
        Some("a multicast address cannot be used")
    } else if usage == AddrUse::Host && addr.is_broadcast() {
        Some("the broadcast address 255.255.255.255 cannot be used")
    } else {
        None
    };
    match reason {
        Some(r) => Err(err(Some(r))),
        None => Ok(addr),
    }
}

/// Parses an `interface:pub_addr[/mask]` triplet. `context` names where it
/// came from (empty for the command line). Every problem in it is reported:
/// a bad interface name and a bad address both.
pub fn parse_service_addr(arg: &str, context: &str) -> Result<ServiceAddress, Vec<String>> {
    let bare = arg.split_once('/').map_or(arg, |(a, _)| a);
    if bare.parse::<Ipv6Addr>().is_ok() {
        return Err(vec![value_error(
            MSG_INVALID_PAIR,
            arg,
            context,
            Some("expected interface:pub_addr[/mask], and IPv6 is not supported yet"),
        )]);
    }
    let Some((ifname, rest)) = arg.split_once(':') else {
        return Err(vec![pair_error(arg, context)]);
    };
    if rest.is_empty() {
        return Err(vec![pair_error(arg, context)]);
    }
    let inner = if context.is_empty() {
        format!("in {arg}")
    } else {
        format!("in {arg}, {context}")
    };
    let mut problems = Vec::new();
    let interface = InterfaceName::new(ifname)
        .map_err(|why| {
            let shown = if ifname.is_empty() { "\"\"" } else { ifname };
            problems.push(value_error(MSG_INVALID_IFNAME, shown, &inner, Some(why)));
        })
        .ok();
    // An IPv6 address has colons of its own and, maybe, a mask: try the
    // whole rest first so that it is named as IPv6, not as a bad mask.
    let (addr_text, mask_text) = if rest.parse::<Ipv6Addr>().is_ok() {
        (rest, None)
    } else {
        match rest.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (rest, None),
        }
    };
    let addr = parse_ipv4(addr_text, &inner, AddrUse::Host)
        .map_err(|e| problems.push(e))
        .ok();
    let mut prefix = None;
    if let Some(m) = mask_text {
        match parse_digits(m) {
            Some(n) if n <= 32 => prefix = Some(n as u8),
            _ => problems.push(value_error(
                "Invalid mask",
                &format!("/{m}"),
                &inner,
                Some("a mask is a prefix length from /0 to /32"),
            )),
        }
    }
    match (interface, addr) {
        (Some(interface), Some(addr)) if problems.is_empty() => Ok(ServiceAddress {
            interface,
            addr,
            prefix,
        }),
        _ => Err(problems),
    }
}

fn pair_error(arg: &str, context: &str) -> String {
    value_error(
        MSG_INVALID_PAIR,
        arg,
        context,
        Some("expected interface:pub_addr[/mask]"),
    )
}

/// A non-negative decimal number made of ASCII digits only (no sign, no
/// spaces), if it fits in a `u64`.
pub fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The options both daemons take, declared once and flattened into
/// [`FailoverdArgs`] and [`HeartbeatdArgs`].
///
/// Where the daemons word an option's help differently (`-p`, `--witness`,
/// `--pid-file`), each sets its own with `mut_arg`. The `display_order`s
/// keep `--help` listing the options as before, each daemon's own options
/// in the gaps left for them (4, 9, 10, 12, 14 and 15).
#[derive(Debug, Clone, Default, Args)]
#[group(skip)]
#[command(group(ArgGroup::new("mode").args(["debug", "no_run", "no_fork"]).multiple(false)))]
pub struct CommonArgs {
    /// Do not move to background and print log strings to the terminal.
    #[arg(short = 'd', long = "debug", display_order = 0)]
    pub debug: bool,
    /// Check the configuration of hardware and software, print every problem, and quit.
    #[arg(short = 'n', long = "no-run", display_order = 1)]
    pub no_run: bool,
    /// Do not move to background (as under systemd); log to syslog.
    #[arg(short = 'x', long = "no-fork", display_order = 2)]
    pub no_fork: bool,
    /// The UDP port heartbeats use instead of 1694 (help text: each daemon's).
    #[arg(short = 'p', long = "port", value_name = "port", display_order = 3)]
    pub port: Option<String>,
    /// Log to syslog with this facility: daemon (the default), auth, user, local0 to local7.
    #[arg(
        short = 'L',
        long = "syslog",
        value_name = "facility",
        display_order = 5
    )]
    pub syslog: Option<String>,
    /// Print usage summary and exit.
    #[arg(short = 'h', long = "help", exclusive = true, display_order = 6)]
    pub show_help: bool,
    /// Print build version and exit.
    #[arg(short = 'v', long = "version", exclusive = true, display_order = 7)]
    pub show_version: bool,
    /// Heartbeat interval in milliseconds [default: 1000].
    #[arg(long = "interval", value_name = "MS", display_order = 8)]
    pub interval: Option<String>,
    /// The witness's address on the private network (help text: each daemon's).
    #[arg(long = "witness", value_name = "ADDR", display_order = 11)]
    pub witness: Option<String>,
    /// ARP-probe this host on each service interface every interval (at least 100 ms); unanswered 10 times in a row, clients count as cut off there (the gateway, say).
    #[arg(long = "probe", value_name = "ADDR", display_order = 12)]
    pub probe: Option<String>,
    /// Pre-shared key file (lines "ID HEXSECRET"; mode 600): authenticate heartbeats.
    #[arg(long = "key-file", value_name = "PATH", display_order = 13)]
    pub key_file: Option<PathBuf>,
    /// Configuration file of KEY=VALUE lines [default: /etc/default/failover].
    #[arg(long = "config", value_name = "FILE", display_order = 16)]
    pub config: Option<PathBuf>,
    /// Where to write the daemon's process id (help text: each daemon's).
    #[arg(long = "pid-file", value_name = "PATH", display_order = 17)]
    pub pid_file: Option<PathBuf>,
    /// Send email notifications through this sendmail [default: /usr/sbin/sendmail].
    #[arg(long = "sendmail", value_name = "PATH", display_order = 18)]
    pub sendmail: Option<PathBuf>,
    /// Keep the boot epoch in this directory [default: /var/lib/failover].
    #[arg(long = "state-dir", value_name = "DIR", display_order = 19)]
    pub state_dir: Option<PathBuf>,
    /// Gratuitous ARP rounds announcing each acquired address (1 to 50) [default: 3].
    #[arg(long = "arp-count", value_name = "N", display_order = 21)]
    pub arp_count: Option<String>,
    /// Milliseconds between gratuitous ARP rounds (up to 10000) [default: 50].
    #[arg(long = "arp-spacing", value_name = "MS", display_order = 22)]
    pub arp_spacing: Option<String>,
    /// Print the running daemon's state (role, links, addresses, witness) and exit: 0 shown, 3 not running, 1 no answer.
    #[arg(long = "status", conflicts_with = "mode", display_order = 20)]
    pub status: bool,
}

impl CommonArgs {
    /// The run mode chosen by `-d`, `-n` or `-x` (clap has already refused
    /// more than one).
    pub fn mode(&self) -> RunMode {
        if self.debug {
            RunMode::Debug
        } else if self.no_run {
            RunMode::NoRun
        } else if self.no_fork {
            RunMode::NoFork
        } else {
            RunMode::Background
        }
    }
}

/// `failoverd`'s command line: Apple's, plus long-option extensions.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "failoverd",
    about = "IP failover detection daemon (secondary): takes over the primary's public \
             addresses when its heartbeats stop on every network.",
    override_usage = FAILOVERD_USAGE,
    disable_help_flag = true,
    disable_version_flag = true,
    mut_arg("port", |a| a.help("Listen on this UDP port instead of 1694; must match heartbeatd's")),
    mut_arg("witness", |a| a.help("The witness's address on the private network")),
    mut_arg("pid_file", |a| a.help("Write the daemon's process id here [default: /run/failoverd.pid]")),
    after_help = "Configuration file keys (the command line wins): FAILOVER_PEER_IP, \
                  FAILOVER_PEER_IP_PAIRS, FAILOVER_EMAIL_RECIPIENT.\n\
                  Exit status: 0 success, 1 failure at run time, 3 --status: not running, \
                  64 usage, 66 unreadable file, 77 not root, \
                  78 configuration problem."
)]
pub struct FailoverdArgs {
    /// The options both daemons take.
    #[command(flatten)]
    pub common: CommonArgs,
    /// How long the primary must be silent on every network before it is declared dead: milliseconds, or "auto" to adapt to the measured loss [default: 3 × interval at intervals of 1 s and longer (Apple's rule), auto below].
    #[arg(long = "deadtime", value_name = "MS|auto", display_order = 9)]
    pub deadtime: Option<String>,
    /// Wait this many milliseconds after the verdict before taking over [default: 0].
    #[arg(long = "hold-down", value_name = "MS", display_order = 10)]
    pub hold_down: Option<String>,
    /// What the witness's opinion counts for: off, preferred or required [default: required with --witness, else off].
    #[arg(
        long = "witness-policy",
        value_name = "off|preferred|required",
        display_order = 12
    )]
    pub witness_policy: Option<String>,
    /// Directory holding one script directory per public address [default: /etc/failover].
    #[arg(long = "scripts-dir", value_name = "DIR", display_order = 14)]
    pub scripts_dir: Option<PathBuf>,
    /// Kill a script that runs longer than this many seconds [default: 300].
    #[arg(long = "script-timeout", value_name = "SECONDS", display_order = 15)]
    pub script_timeout: Option<String>,
    /// One of the master's IP addresses that the backup does not acquire, used to hear its status.
    #[arg(value_name = "master_priv_addr")]
    pub master_priv_addr: Option<String>,
    /// A public address of the master to take over, on this machine's interface.
    #[arg(value_name = "interface:pub_addr[/mask]")]
    pub pairs: Vec<String>,
}

/// `heartbeatd`'s command line: Apple's, plus long-option extensions.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "heartbeatd",
    about = "IP failover heartbeat daemon (primary): sends heartbeats on every network, \
             private network first.",
    override_usage = HEARTBEATD_USAGE,
    disable_help_flag = true,
    disable_version_flag = true,
    mut_arg("port", |a| a.help("Send to this UDP port instead of 1694; must match failoverd's")),
    mut_arg("witness", |a| a.help(
        "The witness's address on the private network (with --service: give up the addresses \
         when cut off from both the secondary and the witness)"
    )),
    mut_arg("pid_file", |a| a.help("Write the daemon's process id here [default: /run/heartbeatd.pid]")),
    after_help = "Configuration file keys (the command line wins): FAILOVER_BCAST_IPS, \
                  FAILOVER_SECONDARY_IP, FAILOVER_EMAIL_RECIPIENT.\n\
                  Exit status: 0 success, 1 failure at run time, 3 --status: not running, \
                  64 usage, 66 unreadable file, 77 not root, \
                  78 configuration problem."
)]
pub struct HeartbeatdArgs {
    /// The options both daemons take.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Free text carried in every heartbeat (at most 64 bytes).
    #[arg(
        short = 'm',
        long = "message",
        value_name = "message",
        allow_hyphen_values = true,
        display_order = 4
    )]
    pub message: Option<String>,
    /// A service address this primary holds itself and takes back from the secondary without overlap (repeatable).
    #[arg(long = "service", value_name = "IFACE:ADDR[/MASK]", display_order = 14)]
    pub service: Vec<String>,
    /// The secondary's address on the private network: only that node may claim the secondary role [default: any node, with a warning].
    #[arg(long = "peer", value_name = "ADDR", display_order = 12)]
    pub peer: Option<String>,
    /// Where to send heartbeats: broadcast (or unicast) addresses, private network first.
    #[arg(value_name = "ip_addr")]
    pub targets: Vec<String>,
}

impl FailoverdArgs {
    /// The run mode chosen by `-d`, `-n` or `-x`.
    pub fn mode(&self) -> RunMode {
        self.common.mode()
    }
}

impl HeartbeatdArgs {
    /// The run mode chosen by `-d`, `-n` or `-x`.
    pub fn mode(&self) -> RunMode {
        self.common.mode()
    }
}

/// The text `-v` prints: the program name and the build version.
pub fn version_text(program: Program) -> String {
    format!("{} version {}\n", program.name(), env!("CARGO_PKG_VERSION"))
}

/// Parses `failoverd`'s command line (`args` includes the program name, as
/// `std::env::args_os()` does). Syntax only: values are checked by
/// [`crate::config::options::FailoverdOptions::resolve`].
pub fn parse_failoverd_args<I, T>(args: I) -> Result<Invocation<FailoverdArgs>, StartupError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    parse_args(Program::Failoverd, args, |a: &FailoverdArgs| &a.common)
}

/// Parses `heartbeatd`'s command line (`args` includes the program name).
/// Syntax only: values are checked by
/// [`crate::config::options::HeartbeatdOptions::resolve`].
pub fn parse_heartbeatd_args<I, T>(args: I) -> Result<Invocation<HeartbeatdArgs>, StartupError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    parse_args(Program::Heartbeatd, args, |a: &HeartbeatdArgs| &a.common)
}

/// Parses `program`'s command line into `A`, whose shared options `common`
/// finds, and turns `-h` and `-v` into the texts to print.
fn parse_args<A, I, T>(
    program: Program,
    args: I,
    common: impl Fn(&A) -> &CommonArgs,
) -> Result<Invocation<A>, StartupError>
where
    A: Parser,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let parsed = A::try_parse_from(args).map_err(|e| clap_error(program, &e))?;
    let shared = common(&parsed);
    Ok(if shared.show_help {
        Invocation::Help(A::command().render_help().to_string())
    } else if shared.show_version {
        Invocation::Version(version_text(program))
    } else if shared.status {
        Invocation::Status(pid_file_path(program, shared))
    } else {
        Invocation::Run(parsed)
    })
}

/// The pid file `--pid-file` names, or `/run/<program>.pid`.
pub fn pid_file_path(program: Program, args: &CommonArgs) -> PathBuf {
    args.pid_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("/run/{}.pid", program.name())))
}

fn clap_error(program: Program, e: &clap::Error) -> StartupError {
    let rendered = e.render().to_string();
    // Clap starts its message with "error: "; the program name replaces it.
    let text = rendered
        .strip_prefix("error: ")
        .unwrap_or(&rendered)
        .to_owned();
    let first = text.lines().next().unwrap_or_default().to_owned();
    StartupError {
        program,
        problems: vec![Problem::usage(first)],
        warnings: Vec::new(),
        clap_message: Some(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failoverd(args: &[&str]) -> Result<Invocation<FailoverdArgs>, StartupError> {
        parse_failoverd_args(std::iter::once("failoverd").chain(args.iter().copied()))
    }

    fn heartbeatd(args: &[&str]) -> Result<Invocation<HeartbeatdArgs>, StartupError> {
        parse_heartbeatd_args(std::iter::once("heartbeatd").chain(args.iter().copied()))
    }

    fn run_f(args: &[&str]) -> FailoverdArgs {
        match failoverd(args) {
            Ok(Invocation::Run(a)) => a,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn run_h(args: &[&str]) -> HeartbeatdArgs {
        match heartbeatd(args) {
            Ok(Invocation::Run(a)) => a,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn apples_examples_parse() {
        let a = run_f(&["10.100.0.100", "en0:192.13.2.2"]);
        assert_eq!(a.master_priv_addr.as_deref(), Some("10.100.0.100"));
        assert_eq!(a.pairs, ["en0:192.13.2.2"]);
        assert_eq!(a.mode(), RunMode::Background);
        let a = run_f(&["10.100.0.10", "en0:192.13.2.2/16", "en1:1.2.3.4/24"]);
        assert_eq!(a.pairs.len(), 2);
        let h = run_h(&["192.168.1.255", "10.1.0.255"]);
        assert_eq!(h.targets, ["192.168.1.255", "10.1.0.255"]);
    }

    #[test]
    fn short_and_long_forms_are_equivalent() {
        for args in [
            &["-p", "2000", "-L", "local3"][..],
            &["--port=2000", "--syslog=local3"],
            &["--port", "2000", "--syslog", "local3"],
            &["-p2000", "-Llocal3"],
        ] {
            let a = run_f(args);
            assert_eq!(a.common.port.as_deref(), Some("2000"), "{args:?}");
            assert_eq!(a.common.syslog.as_deref(), Some("local3"), "{args:?}");
        }
        assert_eq!(run_f(&["-d"]).mode(), RunMode::Debug);
        assert_eq!(run_f(&["--debug"]).mode(), RunMode::Debug);
        assert_eq!(run_f(&["-n"]).mode(), RunMode::NoRun);
        assert_eq!(run_f(&["--no-run"]).mode(), RunMode::NoRun);
        assert_eq!(run_f(&["-x"]).mode(), RunMode::NoFork);
        assert_eq!(run_f(&["--no-fork"]).mode(), RunMode::NoFork);
        assert_eq!(run_h(&["-x"]).mode(), RunMode::NoFork);
        assert_eq!(
            run_h(&["-m", "-hello-", "198.51.100.255"])
                .message
                .as_deref(),
            Some("-hello-")
        );
    }

    #[test]
    fn run_modes_say_what_they_mean() {
        assert!(RunMode::Background.forks());
        assert!(!RunMode::Debug.forks() && !RunMode::NoFork.forks() && !RunMode::NoRun.forks());
        assert!(RunMode::Debug.logs_to_terminal() && RunMode::NoRun.logs_to_terminal());
        assert!(!RunMode::NoFork.logs_to_terminal());
        assert!(RunMode::NoRun.validate_only() && !RunMode::Debug.validate_only());
    }

    #[test]
    fn modes_exclude_each_other() {
        for args in [
            &["-d", "-n"][..],
            &["-n", "-x"],
            &["-d", "-x"],
            &["--debug", "--no-fork"],
        ] {
            let e = failoverd(args).expect_err("refused");
            assert_eq!(e.exit_code(), EXIT_USAGE);
            assert!(e.messages()[0].contains("cannot be used with"), "{e}");
            let e = heartbeatd(args).expect_err("refused");
            assert_eq!(e.exit_code(), EXIT_USAGE);
        }
    }

    #[test]
    fn help_and_version_stand_alone() {
        for h in ["-h", "--help"] {
            match failoverd(&[h]) {
                Ok(Invocation::Help(text)) => {
                    assert!(text.contains("failoverd [-d | -n | -x]"), "{text}");
                    assert!(text.contains("--deadtime"), "{text}");
                }
                other => panic!("{other:?}"),
            }
            match heartbeatd(&[h]) {
                Ok(Invocation::Help(text)) => assert!(text.contains("--service"), "{text}"),
                other => panic!("{other:?}"),
            }
        }
        for v in ["-v", "--version"] {
            match failoverd(&[v]) {
                Ok(Invocation::Version(text)) => {
                    assert_eq!(
                        text,
                        format!("failoverd version {}\n", env!("CARGO_PKG_VERSION"))
                    )
                }
                other => panic!("{other:?}"),
            }
        }
        for args in [&["-h", "-d"][..], &["-v", "10.0.0.1"], &["-h", "-v"]] {
            let e = failoverd(args).expect_err("not alone");
            assert_eq!(e.exit_code(), EXIT_USAGE, "{args:?}");
        }
    }

    #[test]
    fn clap_errors_are_prefixed_with_the_program_and_show_usage() {
        let e = failoverd(&["--bogus"]).expect_err("unknown");
        let text = e.to_string();
        assert!(
            text.starts_with("failoverd: unexpected argument '--bogus'"),
            "{text}"
        );
        assert!(text.contains("failoverd [-d | -n | -x]"), "{text}");
        let e = heartbeatd(&["-p"]).expect_err("missing value");
        assert!(e.to_string().starts_with("heartbeatd: "), "{e}");
        // Options of the other daemon are unknown here.
        assert!(heartbeatd(&["--hold-down", "5"]).is_err());
        assert!(failoverd(&["--service", "eth0:192.0.2.1"]).is_err());
        assert!(failoverd(&["-m", "x"]).is_err());
    }

    #[test]
    fn port_messages() {
        assert_eq!(parse_port("1694"), Ok(1694));
        assert_eq!(parse_port("1"), Ok(1));
        assert_eq!(parse_port("65535"), Ok(65535));
        assert_eq!(parse_port("01694"), Ok(1694));
        for bad in [
            "0",
            "65536",
            "99999999999999999999999",
            "",
            "-1",
            "+1",
            "12a",
            " 1",
        ] {
            assert_eq!(
                parse_port(bad).unwrap_err(),
                "Invalid port. Valid ports range from 1 to 65535.",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn facility_names_and_messages() {
        assert_eq!(Facility::parse("daemon"), Ok(Facility::Daemon));
        assert_eq!(Facility::parse("auth"), Ok(Facility::Auth));
        assert_eq!(Facility::parse("user"), Ok(Facility::User));
        assert_eq!(Facility::parse("LOCAL7"), Ok(Facility::Local(7)));
        for n in 0..8u8 {
            let f = Facility::parse(&format!("local{n}")).expect("valid");
            assert_eq!(f, Facility::Local(n));
            assert_eq!(f.name(), format!("local{n}"));
            assert_eq!(f.code(), (16 + i32::from(n)) << 3);
        }
        assert_eq!(Facility::Daemon.code(), 24);
        assert_eq!(Facility::Auth.code(), 32);
        assert_eq!(Facility::User.code(), 8);
        assert_eq!(Facility::default(), Facility::Daemon);
        for bad in ["kern", "local8", "local", "local00", "", "daemon "] {
            assert_eq!(
                Facility::parse(bad).unwrap_err(),
                format!(
                    "Invalid syslog facility. {bad:?} is not one of daemon (the default), auth, \
                     user, local0 to local7."
                ),
            );
        }
    }

    #[test]
    fn ip_address_messages() {
        let ctx = "master_priv_addr";
        assert_eq!(
            parse_ipv4("198.51.100.1", ctx, AddrUse::Host),
            Ok(Ipv4Addr::new(198, 51, 100, 1))
        );
        let cases = [
            ("10.0.0.300", AddrUse::Host, "CNode: invalid IP address: 10.0.0.300 (master_priv_addr)"),
            ("10.1", AddrUse::Host, "CNode: invalid IP address: 10.1 (master_priv_addr)"),
            ("010.0.0.1", AddrUse::Host, "CNode: invalid IP address: 010.0.0.1 (master_priv_addr)"),
            ("server1", AddrUse::Host, "CNode: invalid IP address: server1 (master_priv_addr)"),
            (
                "2001:db8::1",
                AddrUse::Host,
                "CNode: invalid IP address: 2001:db8::1 (master_priv_addr): IPv6 is not supported yet",
            ),
            (
                "0.0.0.0",
                AddrUse::Target,
                "CNode: invalid IP address: 0.0.0.0 (master_priv_addr): 0.0.0.0 is not a host address",
            ),
            (
                "127.0.0.1",
                AddrUse::Host,
                "CNode: invalid IP address: 127.0.0.1 (master_priv_addr): a loopback address cannot be used",
            ),
            (
                "224.0.0.1",
                AddrUse::Target,
                "CNode: invalid IP address: 224.0.0.1 (master_priv_addr): a multicast address cannot be used",
            ),
            (
                "255.255.255.255",
                AddrUse::Host,
                "CNode: invalid IP address: 255.255.255.255 (master_priv_addr): the broadcast address 255.255.255.255 cannot be used",
            ),
        ];
        for (text, usage, msg) in cases {
            assert_eq!(parse_ipv4(text, ctx, usage).unwrap_err(), msg);
        }
        // Broadcast targets are what heartbeatd sends to.
        assert!(parse_ipv4("255.255.255.255", "ip_addr", AddrUse::Target).is_ok());
        assert!(parse_ipv4("198.51.100.255", "ip_addr", AddrUse::Target).is_ok());
    }

    #[test]
    fn interface_names() {
        for good in [
            "eth0",
            "en0",
            "enp0s31f6",
            "a",
            "veth-pub.100",
            "abcdefghijklmno",
        ] {
            assert_eq!(InterfaceName::new(good).expect(good).as_str(), good);
        }
        let cases = [
            ("", "the name is empty"),
            (
                "abcdefghijklmnop",
                "longer than 15 bytes, the most Linux allows (IFNAMSIZ)",
            ),
            (".", "\".\" and \"..\" are not interface names"),
            ("..", "\".\" and \"..\" are not interface names"),
            ("a/b", "an interface name cannot contain '/'"),
            ("a:b", "an interface name cannot contain ':'"),
            ("a b", "an interface name cannot contain whitespace"),
            ("a\tb", "an interface name cannot contain whitespace"),
            (
                "a\u{7}b",
                "an interface name cannot contain control characters",
            ),
            // 15 characters but more bytes.
            (
                "ééééééééé",
                "longer than 15 bytes, the most Linux allows (IFNAMSIZ)",
            ),
        ];
        for (bad, why) in cases {
            assert_eq!(InterfaceName::new(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn service_addresses() {
        let s = parse_service_addr("en0:192.0.2.10/24", "").expect("valid");
        assert_eq!(s.interface.as_str(), "en0");
        assert_eq!(s.addr, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(s.prefix, Some(24));
        assert_eq!(s.prefix_len(), 24);
        assert_eq!(s.to_string(), "en0:192.0.2.10/24");
        let s = parse_service_addr("eth1:192.0.2.11", "").expect("valid");
        assert_eq!((s.prefix, s.prefix_len()), (None, 32));
        assert_eq!(s.to_string(), "eth1:192.0.2.11");
        assert_eq!(
            parse_service_addr("e:192.0.2.1/0", "").expect("ok").prefix,
            Some(0)
        );
        assert_eq!(
            parse_service_addr("e:192.0.2.1/32", "").expect("ok").prefix,
            Some(32)
        );
    }

    #[test]
    fn service_address_messages() {
        let one = |arg: &str, ctx: &str| {
            let e = parse_service_addr(arg, ctx).expect_err(arg);
            assert_eq!(e.len(), 1, "{e:?}");
            e.into_iter().next().unwrap_or_default()
        };
        assert_eq!(
            one("en0", ""),
            "Invalid interface / IP address pair: en0: expected interface:pub_addr[/mask]"
        );
        assert_eq!(
            one("en0:", ""),
            "Invalid interface / IP address pair: en0:: expected interface:pub_addr[/mask]"
        );
        assert_eq!(
            one(
                "192.0.2.1",
                "FAILOVER_PEER_IP_PAIRS at /etc/default/failover:4"
            ),
            "Invalid interface / IP address pair: 192.0.2.1 (FAILOVER_PEER_IP_PAIRS at \
             /etc/default/failover:4): expected interface:pub_addr[/mask]"
        );
        assert_eq!(
            one("en0:192.0.2.300/24", ""),
            "CNode: invalid IP address: 192.0.2.300 (in en0:192.0.2.300/24)"
        );
        assert_eq!(
            one("en0:2001:db8::1", ""),
            "CNode: invalid IP address: 2001:db8::1 (in en0:2001:db8::1): IPv6 is not supported yet"
        );
        assert_eq!(
            one("2001:db8::1/64", ""),
            "Invalid interface / IP address pair: 2001:db8::1/64: expected \
             interface:pub_addr[/mask], and IPv6 is not supported yet"
        );
        assert_eq!(
            one(":192.0.2.1", ""),
            "CNode: invalid interface name: \"\" (in :192.0.2.1): the name is empty"
        );
        assert_eq!(
            one("a/b:192.0.2.1", ""),
            "CNode: invalid interface name: a/b (in a/b:192.0.2.1): an interface name cannot contain '/'"
        );
        assert_eq!(
            one("averyveryverylongname:192.0.2.1", ""),
            "CNode: invalid interface name: averyveryverylongname (in averyveryverylongname:192.0.2.1): \
             longer than 15 bytes, the most Linux allows (IFNAMSIZ)"
        );
        assert_eq!(
            one("en0:192.0.2.1/33", ""),
            "Invalid mask: /33 (in en0:192.0.2.1/33): a mask is a prefix length from /0 to /32"
        );
        assert_eq!(
            one("en0:192.0.2.1/", ""),
            "Invalid mask: / (in en0:192.0.2.1/): a mask is a prefix length from /0 to /32"
        );
        assert_eq!(
            one("en0:192.0.2.1/255.255.255.0", ""),
            "Invalid mask: /255.255.255.0 (in en0:192.0.2.1/255.255.255.0): a mask is a prefix \
             length from /0 to /32"
        );
        assert!(parse_service_addr("en0:192.0.2.1/24", "FAILOVER_PEER_IP_PAIRS at f:2").is_ok());
    }

    #[test]
    fn every_problem_in_a_triplet_is_reported() {
        let e = parse_service_addr("a b:10.0.0.256/40", "").expect_err("three problems");
        assert_eq!(
            e,
            [
                "CNode: invalid interface name: a b (in a b:10.0.0.256/40): an interface name cannot contain whitespace",
                "CNode: invalid IP address: 10.0.0.256 (in a b:10.0.0.256/40)",
                "Invalid mask: /40 (in a b:10.0.0.256/40): a mask is a prefix length from /0 to /32",
            ]
        );
    }

    #[test]
    fn startup_error_display_lists_every_problem_then_usage() {
        let e = StartupError::new(
            Program::Failoverd,
            vec![
                Problem::usage(MSG_INVALID_PORT),
                Problem::config("dead time 1000 ms is too short"),
            ],
            vec!["unknown key FOO".into()],
        );
        assert_eq!(e.exit_code(), EXIT_USAGE);
        assert_eq!(
            e.to_string(),
            "failoverd: warning: unknown key FOO\n\
             failoverd: Invalid port. Valid ports range from 1 to 65535.\n\
             failoverd: dead time 1000 ms is too short\n\
             usage: failoverd [-d | -n | -x] [-p port] [-L facility] [options] master_priv_addr \
             interface:pub_addr[/mask] ...\n       failoverd --status [--pid-file PATH]\n       \
             failoverd [-h | -v]"
        );
        let e = StartupError::new(
            Program::Heartbeatd,
            vec![Problem::no_input("cannot read"), Problem::usage("x")],
            vec![],
        );
        assert_eq!(e.exit_code(), EXIT_NOINPUT);
        let e = StartupError::new(Program::Heartbeatd, vec![Problem::config("c")], vec![]);
        assert_eq!(
            (e.exit_code(), e.to_string()),
            (EXIT_CONFIG, "heartbeatd: c\n".into())
        );
        assert_eq!(ProblemKind::NoPerm.exit_code(), EXIT_NOPERM);
    }
}
