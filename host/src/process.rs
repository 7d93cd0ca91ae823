//! Child processes the daemon starts and must never wait for: the stage
//! scripts and `sendmail`. Shared by [`crate::scripts`] and
//! [`crate::notify`]; it knows nothing of either (a child's output goes to
//! an [`OutputSink`], which the log implements).
//!
//! Every child runs in its own process group (so that a time-out kills the
//! script *and* whatever it started), with stdout and stderr on one
//! non-blocking pipe (so that its output interleaves as it was written and
//! reading it never blocks the event loop).

use std::fs::File;
use std::io::{self, ErrorKind, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
// CLOCK_MONOTONIC on purpose: deadlines here only bound how long a child
// may run; a suspend is no time it had. Never the machine's time
// (daemon::clock).
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use std::fmt;

/// The `PATH` every child runs with: the system directories only, whatever
/// the daemon was started with.
pub const CHILD_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// Where the lines of a child's output go (the log, at a level of the
/// caller's choosing).
pub trait OutputSink {
    /// One line the child wrote, with its prefix.
    fn line(&self, line: fmt::Arguments<'_>);
    /// Something wrong with the output itself: unreadable, or over its cap.
    fn problem(&self, message: fmt::Arguments<'_>);
}

/// Bytes read from one pipe per [`OutputPipe::drain`] call: bounds the time
/// one poll spends on a chatty child (the rest waits for the next poll).
const DRAIN_BUDGET: usize = 64 * 1024;

/// Sets `O_NONBLOCK` on `fd`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(fd, FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
    Ok(())
}

/// Spawns `cmd` in a new process group of its own, stdin from `/dev/null`
/// unless `stdin_piped`, stdout and stderr both on one pipe whose read end
/// is returned non-blocking.
pub(crate) fn spawn_captured(mut cmd: Command, stdin_piped: bool) -> io::Result<(Child, File)> {
    let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    set_nonblocking(read_end.as_fd())?;
    let write_err: OwnedFd = write_end.try_clone()?;
    cmd.stdin(if stdin_piped {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::from(write_end))
    .stderr(Stdio::from(write_err))
    .process_group(0);
    reset_signal_mask(&mut cmd);
    let child = cmd.spawn();
    // The command owns the pipe's write ends: drop them now, or the read end
    // never sees end-of-file.
    drop(cmd);
    Ok((child?, File::from(read_end)))
}

/// Makes the child start with no signal blocked. The daemon blocks the
/// signals it reads from its signalfd (TERM, INT, HUP, USR1, USR2), a
/// blocked mask survives `exec`, and `std::process::Command` does not
/// reset it: without this, a script's `trap ... TERM` never ran (its
/// time-out's SIGTERM stayed pending until the SIGKILL), and whatever a
/// script started in the background (a service, say) could not be stopped
/// or reloaded by TERM or HUP.
#[allow(unsafe_code)]
fn reset_signal_mask(cmd: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: it makes two, sigemptyset
    // on a set on the stack and pthread_sigmask, and allocates nothing (an
    // error becomes an io::Error from its errno, without allocating).
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::signal::SigSet::empty()
                .thread_set_mask()
                .map_err(io::Error::from)
        });
    }
}

/// The status a shell would report: the exit code, or 128 + the signal that
/// killed the process.
pub(crate) fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128_i32.saturating_add(signal),
        // Neither exited nor signalled (stopped/continued are not reported
        // by `try_wait`): call it a failure.
        (None, None) => 1,
    }
}

/// The status the shell uses when a program cannot be started: 127 when it
/// does not exist, 126 otherwise.
pub(crate) fn spawn_error_code(err: &io::Error) -> i32 {
    if err.kind() == ErrorKind::NotFound {
        127
    } else {
        126
    }
}

/// How a child exited, for a log line.
pub(crate) fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(0), _) => "exited 0".to_owned(),
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => {
            let name = Signal::try_from(signal).map_or("unknown signal", |s| s.as_str());
            format!(
                "was killed by signal {signal} ({name}), status {}",
                128_i32.saturating_add(signal)
            )
        }
        (None, None) => "ended in an unknown way".to_owned(),
    }
}

/// Sends `signal` to the process group led by `child` (created with
/// `process_group(0)`, so its id is the child's pid). Errors (the group is
/// already gone) are ignored: the caller goes on reaping either way.
pub(crate) fn signal_group(child: &Child, signal: Signal) {
    let Ok(pid) = i32::try_from(child.id()) else {
        return;
    };
    if pid > 1 {
        let _ = killpg(Pid::from_raw(pid), signal);
    }
}

/// Where a child is in being killed after its time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kill {
    /// Not being killed.
    No,
    /// SIGTERM sent to the group at this instant.
    Termed(Instant),
    /// SIGKILL sent to the group at this instant.
    Killed(Instant),
}

/// How long after SIGKILL the daemon keeps waiting for a child before it
/// stops waiting (a process in uninterruptible sleep, e.g. on a dead NFS or
/// SAN mount, cannot die until the I/O returns).
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(2);

impl Kill {
    /// Advances the kill: SIGTERM at once, SIGKILL after `grace`. Returns
    /// true once the child should be given up on (SIGKILL sent
    /// [`KILL_WAIT`] ago and still not reaped).
    pub(crate) fn step(&mut self, child: &Child, now: Instant, grace: Duration) -> bool {
        match *self {
            Kill::No => {
                signal_group(child, Signal::SIGTERM);
                *self = Kill::Termed(now);
                false
            }
            Kill::Termed(at) => {
                if now.saturating_duration_since(at) >= grace {
                    signal_group(child, Signal::SIGKILL);
                    *self = Kill::Killed(now);
                }
                false
            }
            Kill::Killed(at) => now.saturating_duration_since(at) >= KILL_WAIT,
        }
    }

    /// When [`Kill::step`] next has something to do.
    pub(crate) fn next_step(self, grace: Duration) -> Option<Instant> {
        match self {
            Kill::No => None,
            Kill::Termed(at) => Some(at + grace),
            Kill::Killed(at) => Some(at + KILL_WAIT),
        }
    }
}

/// The read end of a child's output pipe, turned into log lines: split on
/// newlines, long lines cut, total bytes capped, all of it said in the log.
#[derive(Debug)]
pub(crate) struct OutputPipe {
    file: File,
    /// Prefix for every log line, e.g. `192.0.2.10/PostAcq_mysql`.
    prefix: String,
    max_line: usize,
    max_total: usize,
    /// The current, unfinished line.
    line: Vec<u8>,
    /// The current line was cut: drop the rest of it up to the newline.
    skipping_line: bool,
    /// Bytes logged so far.
    logged: usize,
    /// Bytes read after the cap and thrown away.
    discarded: u64,
    eof: bool,
}

impl OutputPipe {
    /// Wraps the non-blocking read end `file`.
    pub(crate) fn new(file: File, prefix: String, max_line: usize, max_total: usize) -> Self {
        OutputPipe {
            file,
            prefix,
            max_line: max_line.max(16),
            max_total,
            line: Vec::new(),
            skipping_line: false,
            logged: 0,
            discarded: 0,
            eof: false,
        }
    }

    /// Whether every writer has closed the pipe.
    pub(crate) fn at_eof(&self) -> bool {
        self.eof
    }

    /// The descriptor to poll for input.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Changes the log prefix (for output that outlives its script).
    pub(crate) fn set_prefix(&mut self, prefix: String) {
        self.prefix = prefix;
    }

    /// Reads what is available now (at most [`DRAIN_BUDGET`] bytes) and logs
    /// each complete line.
    pub(crate) fn drain(&mut self, log: &impl OutputSink) {
        let mut buf = [0u8; 4096];
        let mut budget = DRAIN_BUDGET;
        while budget > 0 && !self.eof {
            match self.file.read(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                }
                Ok(n) => {
                    budget = budget.saturating_sub(n);
                    self.take(&buf[..n], log);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    log.problem(format_args!("{}: cannot read output: {e}", self.prefix));
                    self.eof = true;
                }
            }
        }
        if self.eof {
            self.flush(log);
        }
    }

    /// Logs a final unterminated line and the amount discarded, if any.
    pub(crate) fn flush(&mut self, log: &impl OutputSink) {
        if !self.line.is_empty() {
            self.emit(log, false);
        }
        if self.discarded > 0 {
            log.problem(format_args!(
                "{}: {} more bytes of output not logged (limit {} bytes per script)",
                self.prefix, self.discarded, self.max_total
            ));
            self.discarded = 0;
        }
    }

    fn take(&mut self, mut bytes: &[u8], log: &impl OutputSink) {
        while !bytes.is_empty() {
            if self.logged >= self.max_total {
                if self.discarded == 0 {
                    log.problem(format_args!(
                        "{}: output exceeds {} bytes; the rest is not logged",
                        self.prefix, self.max_total
                    ));
                }
                self.discarded = self.discarded.saturating_add(bytes.len() as u64);
                self.line.clear();
                return;
            }
            let (chunk, newline) = match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => (&bytes[..i], true),
                None => (bytes, false),
            };
            bytes = if newline {
                &bytes[chunk.len() + 1..]
            } else {
                &[]
            };
            if !self.skipping_line {
                let room = self.max_line.saturating_sub(self.line.len());
                if chunk.len() > room {
                    self.line.extend_from_slice(&chunk[..room]);
                    self.emit(log, true);
                    self.skipping_line = true;
                } else {
                    self.line.extend_from_slice(chunk);
                }
            }
            if newline {
                if self.skipping_line {
                    self.skipping_line = false;
                } else {
                    self.emit(log, false);
                }
            }
        }
    }

    fn emit(&mut self, log: &impl OutputSink, cut: bool) {
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        self.logged = self.logged.saturating_add(self.line.len() + 1);
        let text = String::from_utf8_lossy(&self.line);
        if cut {
            log.line(format_args!(
                "{}: {text} [line cut at {} bytes]",
                self.prefix, self.max_line
            ));
        } else {
            log.line(format_args!("{}: {text}", self.prefix));
        }
        self.line.clear();
    }
}
