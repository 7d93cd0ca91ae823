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
use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser};

mod problem;
mod values;

pub use problem::{Problem, ProblemKind, StartupError};
pub use values::{
    parse_digits, parse_ipv4, parse_port, parse_service_addr, value_error, AddrUse, Facility,
    InterfaceName, ServiceAddress, UnknownFacility,
};

/// Exit status for a command-line mistake (sysexits' `EX_USAGE`): a
/// malformed option or value. systemd shows it as `USAGE`.
pub const EXIT_USAGE: u8 = 64;
/// Exit status when a file the daemon needs (the configuration file given
/// with `--config`, the key file) cannot be read (sysexits' `EX_NOINPUT`).
pub const EXIT_NOINPUT: u8 = 66;
/// Exit status when the daemon lacks the privileges it needs (sysexits'
/// `EX_NOPERM`); see [`crate::config::privileges::check_privileges`].
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
/// Where a daemon spools its notification mail unless `--spool-dir` (or
/// `FAILOVER_SPOOL_DIR`) says otherwise; each daemon's files carry its name.
pub const DEFAULT_SPOOL_DIR: &str = "/var/spool/failover";
/// The `sendmail` notifications go through unless `--sendmail` says
/// otherwise: where Debian puts it, whichever MTA provides it.
pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";
/// Default per-script time limit, in seconds. Five minutes: real Test
/// scripts wait on purpose (the Test-script post's script waits 240 s to see whether the
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
master_priv_addr interface:pub_addr[/mask] ...\n       failoverd --status [--json] [--pid-file PATH]\n       failoverd [-h | -v]";
const HEARTBEATD_USAGE: &str =
    "heartbeatd [-d | -n | -x] [-p port] [-m message] [-L facility] [options] ip_addr ...\n       \
heartbeatd --status [--json] [--pid-file PATH]\n       \
heartbeatd --handover | --reclaim [--wait SECONDS] [--pid-file PATH]\n       heartbeatd [-h | -v]";

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
    /// `--status`: ask a running daemon for its state.
    Status(StatusRequest),
    /// `--handover` or `--reclaim`: ask the running heartbeatd to move the
    /// service, and wait until it has.
    Operator(OperatorRequest),
}

/// An operator's command to the running primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorCommand {
    /// `--handover`: a planned switchover to the secondary.
    Handover,
    /// `--reclaim`: take the service back.
    Reclaim,
}

impl OperatorCommand {
    /// The word that carries it to the daemon, and its option's name
    /// without the dashes.
    pub const fn word(self) -> &'static str {
        match self {
            OperatorCommand::Handover => "handover",
            OperatorCommand::Reclaim => "reclaim",
        }
    }

    /// The command a word names.
    pub fn from_word(word: &str) -> Option<OperatorCommand> {
        [OperatorCommand::Handover, OperatorCommand::Reclaim]
            .into_iter()
            .find(|c| c.word() == word)
    }
}

/// What `--handover` or `--reclaim` asks, and of whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRequest {
    /// The running heartbeatd's pid file.
    pub pid_file: PathBuf,
    /// What to ask.
    pub command: OperatorCommand,
    /// How long to wait for it to be done (`--wait`).
    pub wait: std::time::Duration,
}

/// How long `--handover` and `--reclaim` wait by default: longer than a
/// handover's patience at 1 s beats (20 s), with the Test and PreAcq
/// scripts of a typical takeover.
pub const DEFAULT_OPERATOR_WAIT_SECS: u64 = 60;

/// What `--status` asks, and of whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRequest {
    /// The pid file of the daemon to ask (`--pid-file`, or
    /// [`default_pid_file`]).
    pub pid_file: PathBuf,
    /// `--json`: the versioned JSON document rather than the text.
    pub json: bool,
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
    /// With -n: fail on warnings too (exit 78), not only on problems.
    #[arg(long = "strict", requires = "no_run", display_order = 2)]
    pub strict: bool,
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
    /// Speak Mac OS X Server's heartbeat (help text: each daemon's).
    #[arg(long = "apple-compat", display_order = 13)]
    pub apple_compat: bool,
    /// `FAILOVER_APPLE_COMPAT` (yes or no), when the command line has no
    /// `--apple-compat`.
    #[arg(skip)]
    pub apple_compat_file: Option<String>,
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
    /// Keep notification mail here until sendmail took it [default: /var/spool/failover].
    #[arg(long = "spool-dir", value_name = "DIR", display_order = 19)]
    pub spool_dir: Option<PathBuf>,
    /// Gratuitous ARP rounds announcing each acquired address (1 to 50) [default: 3].
    #[arg(long = "arp-count", value_name = "N", display_order = 21)]
    pub arp_count: Option<String>,
    /// Milliseconds between gratuitous ARP rounds (up to 10000) [default: 50].
    #[arg(long = "arp-spacing", value_name = "MS", display_order = 22)]
    pub arp_spacing: Option<String>,
    /// While holding the addresses, announce them again every this many seconds (1 to 3600) [default: never].
    #[arg(long = "arp-refresh", value_name = "SECONDS", display_order = 23)]
    pub arp_refresh: Option<String>,
    /// Print the running daemon's state (role, links, addresses, witness) and exit: 0 shown, 3 not running, 1 no answer, 4 cannot ask from here (not root, or another network namespace).
    #[arg(long = "status", conflicts_with = "mode", display_order = 20)]
    pub status: bool,
    /// With --status: print the state as JSON (a versioned schema, for scripts and monitoring).
    #[arg(long = "json", requires = "status", display_order = 20)]
    pub json: bool,
    /// Write Prometheus metrics to this file (ending in .prom) every 5 s, for node_exporter's textfile collector.
    #[arg(long = "metrics-file", value_name = "PATH", display_order = 19)]
    pub metrics_file: Option<PathBuf>,
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
    mut_arg("apple_compat", |a| a.help(
        "Back up a Mac OS X Server primary: its heartbeats (any datagram to the port from \
         master_priv_addr, or on a public network from one of its addresses there) count; \
         fixed dead time; no key, no witness"
    )),
    mut_arg("witness", |a| a.help("The witness's address on the private network")),
    mut_arg("pid_file", |a| a.help("Write the daemon's process id here [default: /run/failoverd.pid]")),
    after_help = "Configuration file keys (the command line wins): FAILOVER_PEER_IP, \
                  FAILOVER_PEER_IP_PAIRS, FAILOVER_EMAIL_RECIPIENT, FAILOVER_SPOOL_DIR, \
                  FAILOVER_METRICS_FILE, and one per option (FAILOVER_INTERVAL, \
                  FAILOVER_DEADTIME, FAILOVER_APPLE_COMPAT=yes, ...: failoverd(8)).\n\
                  Exit status: 0 success, 1 failure at run time, 3 --status: not running, \
                  4 --status: cannot ask from here, \
                  64 usage, 66 unreadable file, 77 not root, \
                  78 configuration problem."
)]
pub struct FailoverdArgs {
    /// The options both daemons take.
    #[command(flatten)]
    pub common: CommonArgs,
    /// How long the primary must be silent on every network before it is declared dead: milliseconds, or "auto" to adapt to the measured loss ("auto:N": never fewer than N silent intervals, 2 to 64; auto is auto:2) [default: 3 × interval at intervals of 1 s and longer (Apple's rule), auto below].
    #[arg(long = "deadtime", value_name = "MS|auto[:N]", display_order = 9)]
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
    mut_arg("apple_compat", |a| a.help(
        "Beat for a Mac OS X Server failoverd: each heartbeat is only the -m message \
         [default: heartbeat]; no --service, no key, no witness"
    )),
    mut_arg("witness", |a| a.help(
        "The witness's address on the private network (with --service: give up the addresses \
         when cut off from both the secondary and the witness)"
    )),
    mut_arg("pid_file", |a| a.help("Write the daemon's process id here [default: /run/heartbeatd.pid]")),
    after_help = "Configuration file keys (the command line wins): FAILOVER_BCAST_IPS, \
                  FAILOVER_SECONDARY_IP, FAILOVER_EMAIL_RECIPIENT, FAILOVER_SPOOL_DIR, \
                  FAILOVER_METRICS_FILE, and one per option (FAILOVER_SERVICES, \
                  FAILOVER_INTERVAL, ...: heartbeatd(8)).\n\
                  Exit status: 0 success, 1 failure at run time, 3 --status: not running, \
                  4 --status: cannot ask from here, \
                  2, 5, 6 --handover/--reclaim: not done within --wait, refused, failed, \
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
    /// Whether this primary takes the service back by itself when it returns while the secondary serves: auto, or manual (it stands by until heartbeatd --reclaim) [default: auto].
    #[arg(long = "failback", value_name = "auto|manual", display_order = 15)]
    pub failback: Option<String>,
    /// Run the Check scripts (DIR/ADDRESS/Check_*) every this many milliseconds; after --check-failures failures in a row this primary hands the service to the secondary [default: no checks].
    #[arg(long = "check-interval", value_name = "MS", display_order = 16)]
    pub check_interval: Option<String>,
    /// Failed checks in a row that make this primary hand the service over (1 to 100) [default: 3].
    #[arg(long = "check-failures", value_name = "N", display_order = 16)]
    pub check_failures: Option<String>,
    /// Directory holding one script directory per service address: the Check scripts, and the PostAcq/PostRel scripts run after this primary added or removed the address [default: /etc/failover].
    #[arg(long = "scripts-dir", value_name = "DIR", display_order = 16)]
    pub scripts_dir: Option<PathBuf>,
    /// Kill a PostAcq or PostRel script that runs longer than this many seconds [default: 300].
    #[arg(long = "script-timeout", value_name = "SECONDS", display_order = 16)]
    pub script_timeout: Option<String>,
    /// Hand the service to the secondary (a planned switchover: the address leaves here first, then the secondary takes it) and stand by; waits until the secondary serves: 0 done, 6 failed (this server serves again), 5 refused, 2 not done within --wait, 3 not running, 4 cannot ask from here, 1 no answer.
    #[arg(long = "handover", conflicts_with_all = ["mode", "status", "reclaim"], display_order = 24)]
    pub handover: bool,
    /// Take the service back from the secondary (after --handover, or with --failback manual), through the zero-overlap handshake; waits until this server serves.
    #[arg(long = "reclaim", conflicts_with_all = ["mode", "status"], display_order = 24)]
    pub reclaim: bool,
    /// With --handover or --reclaim: wait at most this many seconds for it to be done [default: 60].
    #[arg(long = "wait", value_name = "SECONDS", display_order = 24)]
    pub wait: Option<u64>,
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
    let program = Program::Heartbeatd;
    let parsed = parse_args(program, args, |a: &HeartbeatdArgs| &a.common)?;
    let Invocation::Run(a) = parsed else {
        return Ok(parsed);
    };
    let command = if a.handover {
        Some(OperatorCommand::Handover)
    } else if a.reclaim {
        Some(OperatorCommand::Reclaim)
    } else {
        None
    };
    match (command, a.wait) {
        (Some(command), wait) => Ok(Invocation::Operator(OperatorRequest {
            pid_file: pid_file_path(program, &a.common),
            command,
            wait: std::time::Duration::from_secs(wait.unwrap_or(DEFAULT_OPERATOR_WAIT_SECS)),
        })),
        (None, Some(_)) => Err(StartupError::new(
            program,
            vec![Problem::usage(
                "--wait goes with --handover or --reclaim: it says how long to wait for them",
            )],
            Vec::new(),
        )),
        (None, None) => Ok(Invocation::Run(a)),
    }
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
        Invocation::Status(StatusRequest {
            pid_file: pid_file_path(program, shared),
            json: shared.json,
        })
    } else {
        Invocation::Run(parsed)
    })
}

/// The pid file `--pid-file` names, or [`default_pid_file`].
pub fn pid_file_path(program: Program, args: &CommonArgs) -> PathBuf {
    args.pid_file
        .clone()
        .unwrap_or_else(|| default_pid_file(program))
}

/// `program`'s pid file without `--pid-file`: `/run/<program>.pid`.
pub fn default_pid_file(program: Program) -> PathBuf {
    PathBuf::from(format!("/run/{}.pid", program.name()))
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
mod tests;
