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
//!   address, as Apple passed them (the Test-script post's script reads `$1`, `$2`).
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
//!   services it started (the 2005 walk-through's `mysqld_safe &`) keep running.
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

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use failover_core::{Role, Stage};

use crate::config::cli::ServiceAddress;
use crate::config::cli::DEFAULT_SCRIPTS_DIR;

mod runner;
mod scan;

pub use runner::StageRunner;
pub use scan::{check, check_stages, scan, Scan, ScriptReport, SkipReason, Skipped};

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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

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
