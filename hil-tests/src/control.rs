//! Asking and steering a running daemon from the lab: its own account
//! (`--status`) and the frame counters in it, and real-time scheduling for
//! the scenarios. Every command runs bounded in time.

use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::daemons::Daemon;

/// The longest a `--status` query or a `chrt` may take.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(10);

/// Runs a command to completion within `timeout` (killing it past that)
/// and returns whether it succeeded, and its standard output then error.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> io::Result<(bool, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + timeout;
    for _ in 0..100_000 {
        if child.try_wait()?.is_some() {
            let out = child.wait_with_output()?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            return Ok((out.status.success(), text));
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "still running, killed",
    ))
}

/// `<daemon> --status --pid-file <its pid file>`, run in the daemon's
/// network namespace: the daemon's own account (or why there is none).
/// From the lab's own namespace `--status` refuses to signal a daemon of
/// another one (pid files are seen from every namespace), so the command
/// joins the daemon's first (`nsenter --target <pid> --net`, which needs
/// only the pid, not the namespace's name).
pub fn status(binary: &Path, d: &Daemon) -> String {
    status_with(binary, d, &[])
}

/// [`status`] with more options (`--json`).
pub fn status_with(binary: &Path, d: &Daemon, options: &[&str]) -> String {
    let mut cmd = Command::new("nsenter");
    cmd.args(["--target", &d.pid.to_string(), "--net"])
        .arg(binary)
        .arg("--status")
        .args(options)
        .arg("--pid-file")
        .arg(&d.pid_file);
    match run_bounded(cmd, COMMAND_LIMIT) {
        Ok((_, text)) => text,
        Err(e) => format!("--status: {e}"),
    }
}

/// `heartbeatd <option> --pid-file <its pid file> [args]` (`--handover`
/// or `--reclaim`), run in the daemon's network namespace as [`status`]
/// is: its exit status (`None` if it was killed or did not end within
/// [`COMMAND_LIMIT`] plus its own wait) and what it printed.
pub fn operator(binary: &Path, d: &Daemon, option: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = Command::new("nsenter");
    cmd.args(["--target", &d.pid.to_string(), "--net"])
        .arg(binary)
        .arg(option)
        .arg("--pid-file")
        .arg(&d.pid_file)
        .args(args);
    let mut child = match cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return (None, format!("{option}: {e}")),
    };
    let deadline = Instant::now() + COMMAND_LIMIT + Duration::from_secs(60);
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) => {
                return match child.wait_with_output() {
                    Ok(out) => (
                        out.status.code(),
                        String::from_utf8_lossy(&out.stdout).into_owned()
                            + &String::from_utf8_lossy(&out.stderr),
                    ),
                    Err(e) => (None, format!("{option}: {e}")),
                }
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return (None, format!("{option}: {e}")),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    (None, format!("{option}: still running, killed"))
}

/// The frame counters of a `--status` text ("frames received: ...").
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FrameCounters {
    /// Frames accepted.
    pub accepted: u64,
    /// Frames that did not parse.
    pub malformed: u64,
    /// Frames whose tag did not verify (or that lacked one).
    pub auth_failed: u64,
    /// Frames refused as replays.
    pub replayed: u64,
    /// Frames from nodes or roles not listened to.
    pub ignored: u64,
    /// Without a key: frames of an epoch not (yet) believed.
    pub unconfirmed: u64,
}

impl FrameCounters {
    /// The counters in `status`, or `None` if it has no such line.
    pub fn from_status(status: &str) -> Option<FrameCounters> {
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("frames received: "))?;
        let mut c = FrameCounters::default();
        for part in line.split(", ") {
            let (n, what) = part.split_once(' ')?;
            let n: u64 = n.parse().ok()?;
            match what {
                "accepted" => c.accepted = n,
                "malformed" => c.malformed = n,
                "failed authentication" => c.auth_failed = n,
                "replayed" => c.replayed = n,
                "ignored" => c.ignored = n,
                "unconfirmed" => c.unconfirmed = n,
                _ => {}
            }
        }
        Some(c)
    }
}

/// Gives a daemon real-time scheduling (SCHED_FIFO, priority 20; its
/// scripts and sendmail go back to normal scheduling, SCHED_RESET_ON_FORK),
/// as a deployment at 10 ms beats on a busy host would. The lab shares two
/// cores with builds: at normal priority a daemon waits for the CPU longer
/// than the fast profile's stall limit (two intervals, 20 ms) many times a
/// minute, and each such wait is, rightly, a stall (addresses dropped) or
/// a takeover. The scenarios are about the protocol's decisions, not about
/// the machine's scheduler. Without `chrt` they run at normal priority,
/// and say so.
pub fn real_time(d: &Daemon) {
    let mut cmd = Command::new("chrt");
    cmd.args([
        "--fifo",
        "--reset-on-fork",
        "--pid",
        "20",
        &d.pid.to_string(),
    ]);
    match run_bounded(cmd, COMMAND_LIMIT) {
        Ok((true, _)) => {}
        Ok((false, text)) => eprintln!("note: {} stays at normal priority: {text}", d.name),
        Err(e) => eprintln!("note: {} stays at normal priority (chrt: {e})", d.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_counters_are_read_from_a_status_text() {
        let text = "role: secondary\nframes received: 10 accepted, 2 malformed, 0 unknown \
                    version or type, 3 failed authentication, 4 replayed, 1 ignored, \
                    5 unconfirmed\n";
        assert_eq!(
            FrameCounters::from_status(text),
            Some(FrameCounters {
                accepted: 10,
                malformed: 2,
                auth_failed: 3,
                replayed: 4,
                ignored: 1,
                unconfirmed: 5,
            })
        );
        assert_eq!(FrameCounters::from_status("nothing"), None);
    }

    #[test]
    fn a_command_past_its_limit_is_killed() {
        let mut cmd = Command::new("sleep");
        cmd.arg("5");
        let started = Instant::now();
        let e = run_bounded(cmd, Duration::from_millis(50)).expect_err("killed");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
        let (ok, text) = run_bounded(Command::new("true"), COMMAND_LIMIT).expect("ran");
        assert!(ok && text.is_empty());
    }
}
