//! The stage scripts: Apple's `Test`, `PreAcq`, `PostAcq`, `PreRel` and
//! `PostRel`, run without ever making heartbeats or detection wait.
//!
//! # Layout and order
//!
//! One directory per service address under the scripts directory (default
//! [`DEFAULT_SCRIPTS_DIR`], `--scripts-dir`), named by the address as it is
//! written on the command line: `/etc/failover/192.0.2.10/`, as Apple's
//! `/Library/IPFailover/10.1.0.1/`. For a stage, every executable regular
//! file whose name starts with the stage name (`Stage::name`, exactly, case
//! included) is run: `PostAcq`, `PostAcq_apache`, `PostAcq.10-mount` ...
//!
//! - Within a directory, in lexical **byte** order (what `LC_ALL=C ls`
//!   shows): `PostAcq_10` before `PostAcq_9`; number with leading zeros.
//! - Directories in the order the addresses were configured
//!   (`FAILOVER_PEER_IP_PAIRS` / the command line), each address once: all
//!   of the first address's scripts, then all of the second's.
//! - Arguments: `acquire` or `release` (`Stage::operation`), then the
//!   address, as Apple passed them (seed 002's Test script reads `$1`, `$2`).
//!
//! # Environment
//!
//! Scripts get a clean environment, like cron's, not the daemon's:
//!
//! | Variable | Value |
//! |---|---|
//! | `PATH` | `/usr/sbin:/usr/bin:/sbin:/bin` |
//! | `HOME`, `SHELL` | `/`, `/bin/sh` |
//! | `FAILOVER_STAGE` | `Test`, `PreAcq`, `PostAcq`, `PreRel` or `PostRel` |
//! | `FAILOVER_OPERATION` | `acquire` or `release` (also `$1`) |
//! | `FAILOVER_ADDRESS` | the address whose directory the script is in (also `$2`) |
//! | `FAILOVER_INTERFACE` | the interface that address goes on |
//! | `FAILOVER_PREFIX` | its mask length, only if one was configured (`/24`) |
//! | `FAILOVER_ADDRESSES` | every service address, `iface:addr[/mask]` separated by spaces, like `FAILOVER_PEER_IP_PAIRS` |
//! | `FAILOVER_PEER` | the peer server's configured address (the primary's private address on the secondary), if known |
//! | `FAILOVER_ROLE` | `primary` or `secondary` |
//! | `FAILOVER_REASON` | why the stage runs, in words from the daemon (may be empty) |
//!
//! Standard input is `/dev/null`; the working directory is `/`; stdout and
//! stderr go, line by line, to the log (see below).
//!
//! # What is skipped, with a warning
//!
//! - files that are not executable (the way to disable a script is
//!   `chmod -x`), directories, and anything that is not a regular file;
//! - editor and package-manager leftovers: `*~`, `.*.swp`/`.*.swo`,
//!   `#*#`, `*.bak`, `*.orig`, `*.rej`, `*.dpkg-*`, `*.ucf-*`,
//!   `*.rpmsave`, `*.rpmnew`, and `*.disabled`; hidden files;
//! - names that match a stage only when case is ignored (`postacq`): HFS+
//!   was case-insensitive, Linux is not, and a migrated script that silently
//!   never runs is worse than a warning;
//! - **files not owned by root (by [`ScriptConfig::owner`]) or writable by
//!   group or others, and the same for the scripts directory and the
//!   address's directory.** The daemon runs scripts as root: a script (or a
//!   directory) another user can change is a root shell for that user. This
//!   is cron's and sshd's rule. Skipping is "fail open" for a Test script (a
//!   takeover proceeds without the check), which is why `-n` reports the
//!   same problems ahead of time (see [`check`]).
//!
//! # How a stage ends
//!
//! - A script's status is its exit code, or 128 + the signal that killed it
//!   (as shells report it); 126/127 when it could not be started.
//! - **Test and PreAcq** (the veto stages): the first script that fails or
//!   times out ends the stage; the rest of the stage's scripts do not run,
//!   and the stage reports that script's outcome. Core then cancels the
//!   takeover.
//! - **PostAcq, PreRel and PostRel**: every script runs even after one
//!   failed, and the stage reports the *first* failure. Core goes on with
//!   the sequence regardless (the addresses are added or removed anyway), so
//!   stopping would only skip independent steps: a failed `PreRel_apache`
//!   must not keep `PreRel_unmount` from releasing the shared disk the
//!   primary is about to mount. Scripts that depend on an earlier one should
//!   check for themselves. (The seeds do not say what Apple did.)
//! - **Time limits**: each script gets [`ScriptConfig::script_timeout`], and
//!   the whole stage [`ScriptConfig::stage_timeout`]. On expiry the script's
//!   whole process group (each script is started as a group leader) gets
//!   SIGTERM, then SIGKILL after [`ScriptConfig::kill_grace`], and the stage
//!   reports `TimedOut` (a veto stage stops; a Post* stage goes on with its
//!   next script unless the stage limit is the one that expired). A process
//!   that moved itself to another session or group (`setsid`) escapes this.
//! - A script that exits successfully is *not* killed afterwards: background
//!   services it started (seed 000's `mysqld_safe &`) keep running.
//!
//! Core has its own give-up time per stage (`SecondaryConfig::stage_timeout`;
//! the options set it to 16 script limits). The runner's limits, which kill
//! the scripts, must fire first: derive one from the other with
//! [`ScriptConfig::fit_within_core`] (or [`ScriptConfig::core_stage_timeout`]
//! the other way round).
//!
//! # Output
//!
//! Stdout and stderr share one pipe, so lines keep their order. Each line is
//! logged at `info` as `192.0.2.10/PostAcq_mysql: <line>`; lines longer than
//! [`ScriptConfig::max_line`] bytes are cut (and marked), and after
//! [`ScriptConfig::max_output`] bytes per script the rest is read and
//! counted but not logged (both said in the log). A background process a
//! script leaves holding the pipe keeps being read (bounded by the same cap)
//! under `... (background)`, rather than being closed on it, which would kill
//! it with SIGPIPE on its next write; start services with `systemctl start`
//! or redirect their output to avoid that.
//!
//! # Driving it from an event loop
//!
//! [`StageRunner`] never blocks: [`StageRunner::start`] spawns the first
//! script and returns; [`StageRunner::poll`] reads output without blocking,
//! reaps with `try_wait`, enforces limits, starts the next script, and
//! returns the stage's outcome once (for `Machine::handle_stage_done`).
//! Call `poll` when [`StageRunner::next_deadline`] has passed or one of
//! [`StageRunner::fds`] is readable. Child exits are noticed by polling:
//! while a script runs, `next_deadline` is at most 50 ms away (a script's
//! exit usually also closes its pipe, which wakes `poll(2)` at once).
//! No SIGCHLD handler is needed.

#![warn(missing_docs)]

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use failover_core::{Role, Stage, StageOutcome};

use crate::notify::{Level, Logger};
use crate::process::{
    describe_status, exit_code, signal_group, spawn_captured, spawn_error_code, Kill, OutputPipe,
    CHILD_PATH,
};

use crate::config::cli::ServiceAddress;
use crate::config::cli::DEFAULT_SCRIPTS_DIR;

/// Default per-script limit: `--script-timeout`'s default
/// (`crate::config::cli::DEFAULT_SCRIPT_TIMEOUT_SECS`), so that a runner built
/// without options behaves like the daemon.
pub const DEFAULT_SCRIPT_TIMEOUT: Duration =
    Duration::from_secs(crate::config::cli::DEFAULT_SCRIPT_TIMEOUT_SECS);

/// Default limit for a whole stage (all scripts of all addresses).
pub const DEFAULT_STAGE_TIMEOUT: Duration = Duration::from_secs(600);

/// Default time between SIGTERM and SIGKILL.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(5);

/// The stages in the order a takeover and a release run them.
pub const STAGES: [Stage; 5] = [
    Stage::Test,
    Stage::PreAcq,
    Stage::PostAcq,
    Stage::PreRel,
    Stage::PostRel,
];

/// Directory entries looked at per directory: a directory with more is
/// misconfigured, and the daemon must not spend unbounded time on it.
const MAX_DIR_ENTRIES: usize = 4096;

/// How often a running script's exit is checked when nothing else wakes the
/// loop.
const CHILD_TICK: Duration = Duration::from_millis(50);

/// At most this many finished scripts' background processes whose output
/// is still read; beyond it the oldest pipe is closed (with a warning).
const MAX_LINGERING: usize = 8;

/// At most this many children that would not die even after SIGKILL are
/// remembered (to be reaped if they ever do).
const MAX_ABANDONED: usize = 16;

/// How scripts are found and run.
#[derive(Debug, Clone)]
pub struct ScriptConfig {
    /// The scripts directory ([`DEFAULT_SCRIPTS_DIR`]).
    pub dir: PathBuf,
    /// Limit per script.
    pub script_timeout: Duration,
    /// Limit for a whole stage.
    pub stage_timeout: Duration,
    /// SIGTERM → SIGKILL grace.
    pub kill_grace: Duration,
    /// The uid that must own scripts and their directories: 0 (root) in
    /// production; tests that do not run as root set their own.
    pub owner: u32,
    /// Longest output line logged, in bytes; longer ones are cut.
    pub max_line: usize,
    /// Output bytes logged per script; the rest is counted only.
    pub max_output: usize,
}

impl ScriptConfig {
    /// The defaults, with scripts under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> ScriptConfig {
        ScriptConfig {
            dir: dir.into(),
            script_timeout: DEFAULT_SCRIPT_TIMEOUT,
            stage_timeout: DEFAULT_STAGE_TIMEOUT,
            kill_grace: DEFAULT_KILL_GRACE,
            owner: 0,
            max_line: 1024,
            max_output: 64 * 1024,
        }
    }

    /// What core's `SecondaryConfig::stage_timeout` should be (at least)
    /// so that the runner always reports first: the stage limit, plus the
    /// kill grace and the wait after SIGKILL, plus a second.
    pub fn core_stage_timeout(&self) -> Duration {
        self.stage_timeout.saturating_add(self.stage_overhead())
    }

    /// The other way round: sets [`ScriptConfig::stage_timeout`] so that
    /// the runner gives up (and kills) before core, whose own limit is
    /// `core_stage_timeout` (what `FailoverdOptions::secondary_config`
    /// puts in `SecondaryConfig::stage_timeout`). Never below one script's
    /// limit unless core's is shorter still.
    pub fn fit_within_core(&mut self, core_stage_timeout: Duration) {
        self.stage_timeout = core_stage_timeout.saturating_sub(self.stage_overhead());
    }

    fn stage_overhead(&self) -> Duration {
        self.kill_grace
            .saturating_add(crate::process::KILL_WAIT)
            .saturating_add(Duration::from_secs(1))
    }

    /// The directory of `address`'s scripts.
    pub fn address_dir(&self, address: IpAddr) -> PathBuf {
        self.dir.join(address.to_string())
    }
}

impl Default for ScriptConfig {
    fn default() -> Self {
        ScriptConfig::new(DEFAULT_SCRIPTS_DIR)
    }
}

/// What the scripts of one stage are told (arguments and `FAILOVER_*`
/// variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageContext {
    /// This node's role.
    pub role: Role,
    /// The service addresses, in configuration order: the order the
    /// directories run in.
    pub addresses: Vec<ServiceAddress>,
    /// The peer server's configured address, if known.
    pub peer: Option<IpAddr>,
    /// Why the stage runs, in words (`FAILOVER_REASON`).
    pub reason: String,
}

/// Why a file that looks like a script was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// An editor or package-manager leftover, or `*.disabled`.
    Leftover,
    /// A hidden file (name starting with `.`).
    Hidden,
    /// The name matches the stage only if case is ignored.
    WrongCase,
    /// A directory.
    Directory,
    /// Not a regular file (device, socket, dangling symlink target...).
    NotRegular,
    /// No execute permission.
    NotExecutable,
    /// Owned by this uid, not the required one.
    WrongOwner(u32),
    /// Writable by group or others (the mode).
    Writable(u32),
    /// Its metadata could not be read.
    Unreadable(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Leftover => f.write_str("an editor or package leftover, not a script"),
            SkipReason::Hidden => f.write_str("a hidden file"),
            SkipReason::WrongCase => f.write_str(
                "its name matches the stage only if case is ignored (Linux names are \
                 case-sensitive: rename it)",
            ),
            SkipReason::Directory => f.write_str("a directory"),
            SkipReason::NotRegular => f.write_str("not a regular file"),
            SkipReason::NotExecutable => f.write_str("not executable (chmod 755 to enable it)"),
            SkipReason::WrongOwner(uid) => write!(
                f,
                "owned by uid {uid}, not root: the daemon runs scripts as root \
                 (chown root to enable it)"
            ),
            SkipReason::Writable(mode) => write!(
                f,
                "writable by group or others (mode {:03o}): anyone who can change it could \
                 run commands as root (chmod go-w to enable it)",
                mode & 0o7777
            ),
            SkipReason::Unreadable(e) => write!(f, "cannot be examined: {e}"),
        }
    }
}

/// A file that looks like a script but was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its path.
    pub path: PathBuf,
    /// Why.
    pub reason: SkipReason,
}

/// The scripts of one stage in one address directory, as the runner would
/// run them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The directory looked at.
    pub dir: PathBuf,
    /// Scripts to run, in order.
    pub scripts: Vec<PathBuf>,
    /// Files skipped, with the reason.
    pub skipped: Vec<Skipped>,
    /// Why the whole directory was skipped or incompletely read, if it was.
    pub problem: Option<String>,
}

/// Whether the name is an editor or package-manager leftover (or a script
/// the administrator marked `.disabled`).
fn is_leftover(name: &[u8]) -> bool {
    const SUFFIXES: [&[u8]; 9] = [
        b"~",
        b".bak",
        b".orig",
        b".rej",
        b".swp",
        b".swo",
        b".rpmsave",
        b".rpmnew",
        b".disabled",
    ];
    if SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return true;
    }
    if name.len() >= 2 && name.starts_with(b"#") && name.ends_with(b"#") {
        return true;
    }
    name.windows(6).any(|w| w == b".dpkg-") || name.windows(5).any(|w| w == b".ucf-")
}

/// How a directory entry relates to a stage.
enum Match {
    /// Not this stage's: ignored silently.
    Other,
    /// Looks like this stage's, but is skipped.
    Skip(SkipReason),
    /// A candidate: check its metadata.
    Candidate,
}

fn classify(name: &[u8], stage: &[u8]) -> Match {
    if name.starts_with(stage) {
        return if is_leftover(name) {
            Match::Skip(SkipReason::Leftover)
        } else {
            Match::Candidate
        };
    }
    // `.PostAcq.swp`, `#PostAcq#`, `.PostAcq`: about this stage, not run.
    if let Some(rest) = name.strip_prefix(b".").or_else(|| name.strip_prefix(b"#")) {
        if rest.starts_with(stage) {
            return Match::Skip(if is_leftover(name) {
                SkipReason::Leftover
            } else {
                SkipReason::Hidden
            });
        }
    }
    if name.len() >= stage.len() && name[..stage.len()].eq_ignore_ascii_case(stage) {
        return Match::Skip(SkipReason::WrongCase);
    }
    Match::Other
}

/// Checks a directory the daemon takes scripts from: it must be a directory
/// owned by `owner` and not writable by group or others.
fn check_dir(path: &Path, owner: u32) -> Result<bool, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("{}: cannot be examined: {e}", path.display())),
        Ok(m) if !m.is_dir() => Err(format!("{} is not a directory", path.display())),
        Ok(m) if m.uid() != owner => Err(format!(
            "{} is owned by uid {}, not root: its scripts are not run (chown root)",
            path.display(),
            m.uid()
        )),
        Ok(m) if m.mode() & 0o022 != 0 => Err(format!(
            "{} is writable by group or others (mode {:03o}): its scripts are not run \
             (chmod go-w)",
            path.display(),
            m.mode() & 0o7777
        )),
        Ok(_) => Ok(true),
    }
}

/// The scripts `stage` would run for `address`, and what would be skipped
/// and why. Reads the directory; never runs anything. The runner and `-n`
/// both use it, so they agree.
pub fn scan(config: &ScriptConfig, stage: Stage, address: IpAddr) -> Scan {
    let dir = config.address_dir(address);
    let mut out = Scan {
        dir: dir.clone(),
        ..Scan::default()
    };
    for d in [config.dir.as_path(), dir.as_path()] {
        match check_dir(d, config.owner) {
            Ok(true) => {}
            Ok(false) => return out,
            Err(problem) => {
                out.problem = Some(problem);
                return out;
            }
        }
    }
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            out.problem = Some(format!("{}: cannot be read: {e}", dir.display()));
            return out;
        }
    };
    let prefix = stage.name().as_bytes();
    let mut found: Vec<(Vec<u8>, PathBuf)> = Vec::new();
    for (i, entry) in entries.enumerate() {
        if i >= MAX_DIR_ENTRIES {
            out.problem = Some(format!(
                "{}: more than {MAX_DIR_ENTRIES} entries; only the first were looked at",
                dir.display()
            ));
            break;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.problem = Some(format!("{}: cannot be read: {e}", dir.display()));
                break;
            }
        };
        let name = entry.file_name();
        let path = entry.path();
        match classify(name.as_bytes(), prefix) {
            Match::Other => {}
            Match::Skip(reason) => out.skipped.push(Skipped { path, reason }),
            Match::Candidate => match check_file(&path, config.owner) {
                Ok(()) => found.push((name.as_bytes().to_vec(), path)),
                Err(reason) => out.skipped.push(Skipped { path, reason }),
            },
        }
    }
    found.sort();
    out.scripts = found.into_iter().map(|(_, p)| p).collect();
    out.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn check_file(path: &Path, owner: u32) -> Result<(), SkipReason> {
    // Follows symlinks: what runs is the target.
    let m = std::fs::metadata(path).map_err(|e| SkipReason::Unreadable(e.to_string()))?;
    if m.is_dir() {
        return Err(SkipReason::Directory);
    }
    if !m.is_file() {
        return Err(SkipReason::NotRegular);
    }
    let mode = m.permissions().mode();
    if mode & 0o111 == 0 {
        return Err(SkipReason::NotExecutable);
    }
    if m.uid() != owner {
        return Err(SkipReason::WrongOwner(m.uid()));
    }
    if mode & 0o022 != 0 {
        return Err(SkipReason::Writable(mode));
    }
    Ok(())
}

/// Every problem with the scripts of `addresses`, for `-n`: directories
/// skipped and files skipped, with the reason, for every stage. Empty when
/// all is well (including when there are no scripts at all).
pub fn check(config: &ScriptConfig, addresses: &[ServiceAddress]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: Vec<Ipv4Addr> = Vec::new();
    for a in addresses {
        if seen.contains(&a.addr) {
            continue;
        }
        seen.push(a.addr);
        for stage in STAGES {
            let s = scan(config, stage, a.addr.into());
            if let Some(p) = s.problem {
                if !problems.contains(&p) {
                    problems.push(p);
                }
            }
            for k in s.skipped {
                problems.push(format!("{}: skipped: {}", k.path.display(), k.reason));
            }
        }
    }
    problems
}

/// A script of the running stage.
#[derive(Debug)]
struct Planned {
    path: PathBuf,
    /// `192.0.2.10/PostAcq_mysql`: the log prefix.
    label: String,
    /// Index into the context's addresses.
    address: usize,
}

/// The script being run.
#[derive(Debug)]
struct Current {
    child: Child,
    output: OutputPipe,
    label: String,
    started: Instant,
    /// When it is killed: its own limit or the stage's, whichever is first.
    deadline: Instant,
    /// Whether `deadline` is the stage's limit.
    stage_limit: bool,
    kill: Kill,
}

#[derive(Debug)]
struct StageRun {
    stage: Stage,
    ctx: StageContext,
    plan: Vec<Planned>,
    next: usize,
    started: Instant,
    deadline: Instant,
    current: Option<Current>,
    /// The first failure: its outcome and its description.
    failure: Option<(StageOutcome, String)>,
    /// No more scripts start (veto stage failed, or the stage limit passed).
    stop: bool,
    ran: usize,
}

/// Runs script stages for the daemon's event loop (see the module
/// documentation). One stage at a time: starting a stage while another
/// runs supersedes it.
#[derive(Debug)]
pub struct StageRunner {
    config: ScriptConfig,
    log: Logger,
    run: Option<StageRun>,
    /// A superseded stage's script, being killed before the next stage
    /// starts.
    dying: Option<Current>,
    /// The stage to start once `dying` is gone.
    pending: Option<(Stage, StageContext)>,
    /// An outcome not yet returned by `poll`.
    done: Option<(Stage, StageOutcome)>,
    /// Output pipes of finished scripts still held by their background
    /// processes.
    lingering: Vec<OutputPipe>,
    /// Children that did not die after SIGKILL.
    abandoned: Vec<Child>,
    last_failure: Option<String>,
    last_poll: Option<Instant>,
}

impl StageRunner {
    /// A runner with `config`, logging to `log`.
    pub fn new(config: ScriptConfig, log: Logger) -> StageRunner {
        StageRunner {
            config,
            log,
            run: None,
            dying: None,
            pending: None,
            done: None,
            lingering: Vec::new(),
            abandoned: Vec::new(),
            last_failure: None,
            last_poll: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ScriptConfig {
        &self.config
    }

    /// Replaces the configuration (a reload): the next stage uses it; a
    /// stage already running keeps its scripts and limits.
    pub fn set_config(&mut self, config: ScriptConfig) {
        self.config = config;
    }

    /// Starts `stage` for the addresses in `ctx` (core's
    /// `Action::RunStage`): finds the scripts, logs what it skips, and
    /// spawns the first one. Never blocks, never fails: problems are logged
    /// and reported as the stage's outcome by [`StageRunner::poll`].
    ///
    /// If a stage is still running, it is superseded (core asks for a new
    /// stage only once it has given up on the old one, e.g. after its own
    /// time limit or a lost witness lease): its running script's process
    /// group is killed (SIGTERM, SIGKILL after the grace), its outcome is
    /// never reported, and `stage` starts once that script is gone.
    pub fn start(&mut self, now: Instant, stage: Stage, ctx: &StageContext) {
        self.last_poll = Some(now);
        if let Some((old, _)) = self.done.take() {
            self.log.debug(format_args!(
                "{} outcome dropped: superseded by {}",
                old.name(),
                stage.name()
            ));
        }
        if let Some(mut run) = self.run.take() {
            if let Some(mut cur) = run.current.take() {
                self.log.warning(format_args!(
                    "{} superseded by {} before it finished: stopping {} (pid {})",
                    run.stage.name(),
                    stage.name(),
                    cur.label,
                    cur.child.id()
                ));
                cur.kill.step(&cur.child, now, self.config.kill_grace);
                self.dying = Some(cur);
            } else {
                self.log.warning(format_args!(
                    "{} superseded by {}: its remaining scripts are not run",
                    run.stage.name(),
                    stage.name()
                ));
            }
        }
        if let Some((old, _)) = self.pending.take() {
            self.log.warning(format_args!(
                "{} never started: superseded by {}",
                old.name(),
                stage.name()
            ));
        }
        self.pending = Some((stage, ctx.clone()));
        self.advance(now);
    }

    /// Stops the running stage, if any, without starting another: its
    /// script's process group is killed and no outcome is reported. For
    /// shutdown paths that will not wait for the stage.
    pub fn cancel(&mut self, now: Instant) {
        self.pending = None;
        self.done = None;
        if let Some(mut run) = self.run.take() {
            if let Some(mut cur) = run.current.take() {
                self.log.warning(format_args!(
                    "{} cancelled: stopping {} (pid {})",
                    run.stage.name(),
                    cur.label,
                    cur.child.id()
                ));
                cur.kill.step(&cur.child, now, self.config.kill_grace);
                if let Some(old) = self.dying.replace(cur) {
                    self.abandon(old);
                }
            }
        }
    }

    /// The stage running (or about to start), if any.
    pub fn running(&self) -> Option<Stage> {
        self.run
            .as_ref()
            .map(|r| r.stage)
            .or(self.pending.as_ref().map(|p| p.0))
    }

    /// The first failing script of the last stage that failed, in words
    /// (`192.0.2.10/Test_sync exited with status 5`): for the notification's
    /// reason.
    pub fn failure_detail(&self) -> Option<&str> {
        self.last_failure.as_deref()
    }

    /// Does everything that is due: reads output, reaps, kills on time-out,
    /// starts the next script. Returns the stage's outcome once, when it
    /// ends. Never blocks; bounded work per call.
    pub fn poll(&mut self, now: Instant) -> Option<(Stage, StageOutcome)> {
        self.last_poll = Some(now);
        self.advance(now);
        self.done.take()
    }

    /// When [`StageRunner::poll`] must next run (in addition to when one of
    /// [`StageRunner::fds`] is readable), or `None` when nothing runs.
    pub fn next_deadline(&self) -> Option<Instant> {
        let base = self.last_poll.unwrap_or_else(Instant::now);
        if self.done.is_some() {
            return Some(base);
        }
        let mut at: Option<Instant> = None;
        let mut wake = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        for cur in self
            .run
            .iter()
            .filter_map(|r| r.current.as_ref())
            .chain(self.dying.as_ref())
        {
            wake(base + CHILD_TICK);
            match cur.kill.next_step(self.config.kill_grace) {
                Some(t) => wake(t),
                None => wake(cur.deadline),
            }
        }
        if self.run.as_ref().is_some_and(|r| r.current.is_none()) || self.pending.is_some() {
            wake(base);
        }
        if !self.abandoned.is_empty() {
            wake(base + Duration::from_secs(1));
        }
        at
    }

    /// Descriptors to poll for input: the running script's output and that
    /// of background processes left by earlier scripts.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.run
            .iter()
            .filter_map(|r| r.current.as_ref())
            .chain(self.dying.as_ref())
            .map(|c| &c.output)
            .chain(self.lingering.iter())
            .filter(|o| !o.at_eof())
            .map(|o| o.fd())
            .collect()
    }

    fn abandon(&mut self, cur: Current) {
        self.log.error(format_args!(
            "{} (pid {}) does not die even after SIGKILL (stuck in the kernel, e.g. on a \
             dead NFS or SAN mount?); no longer waiting for it",
            cur.label,
            cur.child.id()
        ));
        if self.abandoned.len() >= MAX_ABANDONED {
            // Forget the oldest: one last chance to reap it, then it stays a
            // zombie until the daemon exits (it could not be killed anyway).
            let mut oldest = self.abandoned.remove(0);
            let _ = oldest.try_wait();
        }
        self.abandoned.push(cur.child);
        self.linger(cur.output);
    }

    fn linger(&mut self, mut output: OutputPipe) {
        output.drain(&self.log.at(Level::Info));
        if output.at_eof() {
            return;
        }
        if self.lingering.len() >= MAX_LINGERING {
            let mut old = self.lingering.remove(0);
            old.flush(&self.log.at(Level::Info));
            self.log.warning(
                "too many background processes hold script output: no longer reading the \
                 oldest (it gets SIGPIPE if it writes again)",
            );
        }
        self.lingering.push(output);
    }

    fn advance(&mut self, now: Instant) {
        // Background output and stuck children.
        let log = self.log.clone();
        self.lingering.retain_mut(|o| {
            o.drain(&log.at(Level::Info));
            !o.at_eof()
        });
        self.abandoned
            .retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_)) | Err(_)));

        // A superseded stage's script must be gone before the next starts.
        if let Some(mut cur) = self.dying.take() {
            cur.output.drain(&self.log.at(Level::Info));
            match cur.child.try_wait() {
                Ok(Some(status)) => {
                    self.log.notice(format_args!(
                        "{} stopped: {}",
                        cur.label,
                        describe_status(status)
                    ));
                    self.linger(cur.output);
                }
                Ok(None) => {
                    if cur.kill.step(&cur.child, now, self.config.kill_grace) {
                        self.abandon(cur);
                    } else {
                        self.dying = Some(cur);
                        return;
                    }
                }
                Err(e) => {
                    self.log
                        .error(format_args!("{}: cannot wait: {e}", cur.label));
                    self.linger(cur.output);
                }
            }
        }
        if let Some((stage, ctx)) = self.pending.take() {
            self.begin(now, stage, ctx);
        }
        self.step(now);
    }

    /// Finds the stage's scripts and makes it the running stage.
    fn begin(&mut self, now: Instant, stage: Stage, ctx: StageContext) {
        let mut plan = Vec::new();
        let mut seen: Vec<Ipv4Addr> = Vec::new();
        for (i, a) in ctx.addresses.iter().enumerate() {
            if seen.contains(&a.addr) {
                continue;
            }
            seen.push(a.addr);
            let scan = scan(&self.config, stage, a.addr.into());
            if let Some(p) = &scan.problem {
                self.log.warning(format_args!("{}: {p}", stage.name()));
            }
            for s in &scan.skipped {
                self.log.warning(format_args!(
                    "{}: skipping {}: {}",
                    stage.name(),
                    s.path.display(),
                    s.reason
                ));
            }
            for path in scan.scripts {
                let name = path
                    .file_name()
                    .map(OsStr::to_string_lossy)
                    .unwrap_or_default()
                    .into_owned();
                plan.push(Planned {
                    label: format!("{}/{name}", a.addr),
                    path,
                    address: i,
                });
            }
        }
        if plan.is_empty() {
            self.log.debug(format_args!(
                "{}: no scripts (in {}/<address>/)",
                stage.name(),
                self.config.dir.display()
            ));
        } else {
            let names: Vec<&str> = plan.iter().map(|p| p.label.as_str()).collect();
            self.log.info(format_args!(
                "{} {}: running {}",
                stage.name(),
                stage.operation(),
                names.join(", ")
            ));
        }
        self.run = Some(StageRun {
            stage,
            ctx,
            plan,
            next: 0,
            started: now,
            deadline: now + self.config.stage_timeout,
            current: None,
            failure: None,
            stop: false,
            ran: 0,
        });
    }

    /// Advances the running stage as far as it can go now.
    fn step(&mut self, now: Instant) {
        let Some(mut run) = self.run.take() else {
            return;
        };
        // Each round finishes or starts one script, or returns.
        for _ in 0..run.plan.len() + 2 {
            if let Some(mut cur) = run.current.take() {
                cur.output.drain(&self.log.at(Level::Info));
                match cur.child.try_wait() {
                    Ok(Some(status)) => {
                        let outcome = if cur.kill != Kill::No {
                            StageOutcome::TimedOut
                        } else {
                            match exit_code(status) {
                                0 => StageOutcome::Success,
                                code => StageOutcome::Failed(code),
                            }
                        };
                        let what = if cur.kill != Kill::No {
                            format!("was killed at its time limit ({})", describe_status(status))
                        } else {
                            describe_status(status)
                        };
                        self.script_done(&mut run, cur, now, outcome, what);
                    }
                    Ok(None) => {
                        if cur.kill == Kill::No && now < cur.deadline {
                            run.current = Some(cur);
                            self.run = Some(run);
                            return;
                        }
                        if cur.kill == Kill::No {
                            let limit = if cur.stage_limit {
                                format!(
                                    "the {} stage's limit of {} s",
                                    run.stage.name(),
                                    self.config.stage_timeout.as_secs()
                                )
                            } else {
                                format!("its limit of {} s", self.config.script_timeout.as_secs())
                            };
                            self.log.error(format_args!(
                                "{} still running at {limit}: sending SIGTERM to its process \
                                 group, SIGKILL in {} s",
                                cur.label,
                                self.config.kill_grace.as_secs()
                            ));
                        }
                        if cur.kill.step(&cur.child, now, self.config.kill_grace) {
                            let label = cur.label.clone();
                            self.abandon(cur);
                            run.ran += 1;
                            record_failure(
                                &mut run,
                                StageOutcome::TimedOut,
                                format!("{label} timed out and could not be killed"),
                            );
                            if matches!(run.stage, Stage::Test | Stage::PreAcq) {
                                run.stop = true;
                            }
                        } else {
                            run.current = Some(cur);
                            self.run = Some(run);
                            return;
                        }
                    }
                    Err(e) => {
                        self.log
                            .error(format_args!("{}: cannot wait for it: {e}", cur.label));
                        signal_group(&cur.child, nix::sys::signal::Signal::SIGKILL);
                        let label = cur.label.clone();
                        self.abandon(cur);
                        run.ran += 1;
                        record_failure(
                            &mut run,
                            StageOutcome::Failed(126),
                            format!("{label} could not be waited for: {e}"),
                        );
                        if matches!(run.stage, Stage::Test | Stage::PreAcq) {
                            run.stop = true;
                        }
                    }
                }
                continue;
            }
            if !run.stop && run.next < run.plan.len() && now >= run.deadline {
                let rest: Vec<&str> = run.plan[run.next..]
                    .iter()
                    .map(|p| p.label.as_str())
                    .collect();
                self.log.error(format_args!(
                    "{}: stage limit of {} s reached; not running {}",
                    run.stage.name(),
                    self.config.stage_timeout.as_secs(),
                    rest.join(", ")
                ));
                let detail = format!("the {} stage ran out of time", run.stage.name());
                record_failure(&mut run, StageOutcome::TimedOut, detail);
                run.stop = true;
            }
            if run.stop || run.next >= run.plan.len() {
                self.finish(run, now);
                return;
            }
            let i = run.next;
            run.next += 1;
            match self.spawn(&run, i, now) {
                Ok(cur) => run.current = Some(cur),
                Err(e) => {
                    let code = spawn_error_code(&e);
                    let label = run.plan[i].label.clone();
                    self.log
                        .error(format_args!("{label}: cannot run: {e} (status {code})"));
                    run.ran += 1;
                    record_failure(
                        &mut run,
                        StageOutcome::Failed(code),
                        format!("{label} could not be run: {e}"),
                    );
                    if matches!(run.stage, Stage::Test | Stage::PreAcq) {
                        run.stop = true;
                    }
                }
            }
        }
        // Not reached with a sane plan; keep the state and come back.
        self.run = Some(run);
    }

    fn script_done(
        &mut self,
        run: &mut StageRun,
        mut cur: Current,
        now: Instant,
        outcome: StageOutcome,
        what: String,
    ) {
        cur.output.drain(&self.log.at(Level::Info));
        let secs = now.saturating_duration_since(cur.started).as_secs_f64();
        run.ran += 1;
        if outcome.is_success() {
            self.log
                .info(format_args!("{} {what} after {secs:.1} s", cur.label));
        } else {
            self.log
                .error(format_args!("{} {what} after {secs:.1} s", cur.label));
            record_failure(run, outcome, format!("{} {what}", cur.label));
            if matches!(run.stage, Stage::Test | Stage::PreAcq) || cur.stage_limit {
                run.stop = true;
            }
        }
        if !cur.output.at_eof() {
            self.log.info(format_args!(
                "{} left background processes holding its output; it is logged as \
                 \"{} (background)\" until they close it",
                cur.label, cur.label
            ));
            cur.output.set_prefix(format!("{} (background)", cur.label));
        }
        self.linger(cur.output);
    }

    fn finish(&mut self, run: StageRun, now: Instant) {
        let secs = now.saturating_duration_since(run.started).as_secs_f64();
        let skipped = run.plan.len().saturating_sub(run.ran);
        let outcome = match run.failure {
            None => {
                if !run.plan.is_empty() {
                    self.log.info(format_args!(
                        "{}: {} script(s) succeeded in {secs:.1} s",
                        run.stage.name(),
                        run.ran
                    ));
                }
                StageOutcome::Success
            }
            Some((outcome, detail)) => {
                let not_run = if skipped > 0 {
                    format!("; {skipped} script(s) not run")
                } else {
                    String::new()
                };
                self.log.log(
                    Level::Err,
                    format_args!(
                        "{} failed after {secs:.1} s: {detail}{not_run}",
                        run.stage.name()
                    ),
                );
                self.last_failure = Some(detail);
                outcome
            }
        };
        self.done = Some((run.stage, outcome));
    }

    fn spawn(&self, run: &StageRun, i: usize, now: Instant) -> io::Result<Current> {
        let planned = &run.plan[i];
        let ctx = &run.ctx;
        let addr = ctx
            .addresses
            .get(planned.address)
            .ok_or_else(|| io::Error::other("address index out of range"))?;
        let stage = run.stage;
        let mut cmd = Command::new(&planned.path);
        cmd.arg(stage.operation())
            .arg(addr.addr.to_string())
            .env_clear()
            .env("PATH", CHILD_PATH)
            .env("HOME", "/")
            .env("SHELL", "/bin/sh")
            .env("FAILOVER_STAGE", stage.name())
            .env("FAILOVER_OPERATION", stage.operation())
            .env("FAILOVER_ADDRESS", addr.addr.to_string())
            .env("FAILOVER_INTERFACE", addr.interface.as_str())
            .env(
                "FAILOVER_ADDRESSES",
                ctx.addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            )
            .env("FAILOVER_ROLE", ctx.role.name())
            .env("FAILOVER_REASON", &ctx.reason)
            .current_dir("/");
        if let Some(p) = addr.prefix {
            cmd.env("FAILOVER_PREFIX", p.to_string());
        }
        if let Some(peer) = ctx.peer {
            cmd.env("FAILOVER_PEER", peer.to_string());
        }
        let (child, out) = spawn_captured(cmd, false)?;
        self.log.debug(format_args!(
            "{} started: pid {}, {} {}",
            planned.label,
            child.id(),
            stage.operation(),
            addr.addr
        ));
        let own = now + self.config.script_timeout;
        let (deadline, stage_limit) = if run.deadline <= own {
            (run.deadline, true)
        } else {
            (own, false)
        };
        Ok(Current {
            child,
            output: OutputPipe::new(
                out,
                planned.label.clone(),
                self.config.max_line,
                self.config.max_output,
            ),
            label: planned.label.clone(),
            started: now,
            deadline,
            stage_limit,
            kill: Kill::No,
        })
    }
}

fn record_failure(run: &mut StageRun, outcome: StageOutcome, detail: String) {
    if run.failure.is_none() {
        run.failure = Some((outcome, detail));
    }
}

impl Drop for StageRunner {
    /// A runner dropped mid-stage (the daemon exiting) sends SIGTERM to the
    /// running script's process group rather than leave it orphaned; it does
    /// not wait.
    fn drop(&mut self) {
        let current = self.run.as_ref().and_then(|r| r.current.as_ref());
        for cur in current.into_iter().chain(self.dying.as_ref()) {
            signal_group(&cur.child, nix::sys::signal::Signal::SIGTERM);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified() {
        let s = b"PostAcq";
        assert!(matches!(classify(b"PostAcq", s), Match::Candidate));
        assert!(matches!(classify(b"PostAcq_mysql", s), Match::Candidate));
        assert!(matches!(classify(b"PostAcq.sh", s), Match::Candidate));
        for leftover in [
            &b"PostAcq~"[..],
            b"PostAcq.bak",
            b"PostAcq_x.orig",
            b"PostAcq.rej",
            b"PostAcq.dpkg-old",
            b"PostAcq.dpkg-new",
            b"PostAcq.ucf-dist",
            b"PostAcq.rpmsave",
            b"PostAcq.disabled",
            b".PostAcq.swp",
            b".PostAcq_x.swo",
            b"#PostAcq#",
        ] {
            assert!(
                matches!(classify(leftover, s), Match::Skip(SkipReason::Leftover)),
                "{}",
                String::from_utf8_lossy(leftover)
            );
        }
        assert!(matches!(
            classify(b".PostAcq", s),
            Match::Skip(SkipReason::Hidden)
        ));
        assert!(matches!(
            classify(b"postacq_mysql", s),
            Match::Skip(SkipReason::WrongCase)
        ));
        assert!(matches!(classify(b"PreAcq", s), Match::Other));
        assert!(matches!(classify(b"README", s), Match::Other));
        assert!(matches!(classify(b"Post", s), Match::Other));
        assert!(matches!(classify(b".hidden", s), Match::Other));
    }

    #[test]
    fn core_timeout_covers_the_runner() {
        let mut c = ScriptConfig::default();
        assert_eq!(c.dir, Path::new("/etc/failover"));
        assert!(c.core_stage_timeout() > c.stage_timeout + c.kill_grace);
        let core = c.script_timeout * 16;
        c.fit_within_core(core);
        assert!(c.stage_timeout + c.kill_grace + crate::process::KILL_WAIT < core);
        assert_eq!(c.core_stage_timeout(), core);
        assert_eq!(
            c.address_dir("192.0.2.10".parse().unwrap()),
            Path::new("/etc/failover/192.0.2.10")
        );
    }
}
