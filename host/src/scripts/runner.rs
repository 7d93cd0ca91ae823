//! The stage runner: one stage at a time, its scripts in order, each a child
//! process with a time limit, polled from the event loop.

use std::ffi::OsStr;
use std::io;
use std::net::IpAddr;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::process::{Child, Command};
// CLOCK_MONOTONIC on purpose, not the machine's CLOCK_BOOTTIME
// (daemon::clock): these deadlines only bound how long a script may run,
// and a suspend is no time a script had. The machine keeps its own
// deadline for each stage, on its clock.
use std::time::{Duration, Instant};

use failover_core::{Stage, StageOutcome};

use super::scan::scan;
use super::{ScriptConfig, StageContext, CHILD_TICK, MAX_ABANDONED, MAX_LINGERING};
use crate::notify::{Level, Logger};
use crate::process::{
    describe_status, exit_code, signal_group, spawn_captured, spawn_error_code, Kill, OutputPipe,
    CHILD_PATH,
};

/// The level of a stage's routine lines (started, succeeded): the health
/// checks run every few seconds for months, so theirs are debug lines; a
/// failure is logged as every stage's is.
fn routine(stage: Stage) -> Level {
    if stage == Stage::Check {
        Level::Debug
    } else {
        Level::Info
    }
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
        let mut seen: Vec<IpAddr> = Vec::new();
        for (i, a) in ctx.addresses.iter().enumerate() {
            if seen.contains(&a.addr) {
                continue;
            }
            seen.push(a.addr);
            let scan = scan(&self.config, stage, a.addr);
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
            self.log.log(
                routine(stage),
                format_args!(
                    "{} {}: running {}",
                    stage.name(),
                    stage.operation(),
                    names.join(", ")
                ),
            );
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
                            if run.stage.stops_at_failure() {
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
                        if run.stage.stops_at_failure() {
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
                    if run.stage.stops_at_failure() {
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
            self.log.log(
                routine(run.stage),
                format_args!("{} {what} after {secs:.1} s", cur.label),
            );
        } else {
            self.log
                .error(format_args!("{} {what} after {secs:.1} s", cur.label));
            record_failure(run, outcome, format!("{} {what}", cur.label));
            if run.stage.stops_at_failure() || cur.stage_limit {
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
                    self.log.log(
                        routine(run.stage),
                        format_args!(
                            "{}: {} script(s) succeeded in {secs:.1} s",
                            run.stage.name(),
                            run.ran
                        ),
                    );
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
