//! The asking side of `--status`: find the daemon through its pid file,
//! send it SIGUSR1, and wait for the status file it writes.
//!
//! The pid file's lock tells whether a daemon is really running: a stale
//! pid file after a crash is not locked, and its pid may belong to an
//! unrelated process by now, which must not be sent a signal.

use std::fs;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{json_path, status_path, EXIT_NOT_RUNNING, EXIT_NO_ANSWER};
use crate::config::cli::StatusRequest;
use crate::daemon::safefile;

/// What `--status` found.
#[derive(Debug)]
pub enum Answer {
    /// The daemon's state, as it wrote it (text or JSON, as asked).
    State(String),
    /// No daemon runs with this pid file.
    NotRunning(String),
    /// A daemon runs but did not answer.
    NoAnswer(String),
}

impl Answer {
    /// The exit status for `--status`.
    pub fn exit_code(&self) -> u8 {
        match self {
            Answer::State(_) => 0,
            Answer::NotRunning(_) => EXIT_NOT_RUNNING,
            Answer::NoAnswer(_) => EXIT_NO_ANSWER,
        }
    }
}

/// Asks the daemon whose pid file `request` names for its state, as text
/// or JSON, waiting at most `timeout`.
pub fn query(request: &StatusRequest, timeout: Duration) -> Answer {
    let pid_file = request.pid_file.as_path();
    let shown = pid_file.display();
    let path = if request.json {
        json_path(pid_file)
    } else {
        status_path(pid_file)
    };
    let mut file = match safefile::open_read(pid_file) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Answer::NotRunning(format!("not running (no pid file {shown})"))
        }
        Err(e) => return Answer::NoAnswer(format!("cannot read the pid file: {e}")),
    };
    let mut text = String::new();
    if let Err(e) = file.read_to_string(&mut text) {
        return Answer::NoAnswer(format!("cannot read the pid file {shown}: {e}"));
    }
    // Taking the lock succeeds only if no daemon holds it.
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        Ok(_unlocked_on_drop) => {
            return Answer::NotRunning(format!(
                "not running (the pid file {shown} is left from a process that has exited)"
            ))
        }
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {}
        Err((_, e)) => return Answer::NoAnswer(format!("cannot check the pid file {shown}: {e}")),
    }
    let Some(pid) = text.trim().parse::<i32>().ok().filter(|p| *p > 0) else {
        return Answer::NoAnswer(format!("the pid file {shown} does not hold a process id"));
    };
    let _ = fs::remove_file(&path);
    if let Err(e) = kill(Pid::from_raw(pid), Signal::SIGUSR1) {
        return Answer::NoAnswer(format!("cannot signal the daemon (pid {pid}): {e}"));
    }
    let start = Instant::now();
    while start.elapsed() < timeout {
        match safefile::read_to_string(&path) {
            Ok(state) => return Answer::State(state),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Answer::NoAnswer(format!("cannot read the status: {e}")),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Answer::NoAnswer(format!(
        "the daemon (pid {pid}) did not write {} within {} s",
        path.display(),
        timeout.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn request(pid_file: &Path, json: bool) -> StatusRequest {
        StatusRequest {
            pid_file: pid_file.to_path_buf(),
            json,
        }
    }

    #[test]
    fn no_pid_file_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let r = request(&dir.path().join("x.pid"), false);
        let a = query(&r, Duration::from_millis(10));
        assert!(matches!(a, Answer::NotRunning(_)), "{a:?}");
        assert_eq!(a.exit_code(), 3);
    }

    #[test]
    fn unlocked_pid_file_is_stale_and_nobody_is_signalled() {
        let dir = tempfile::tempdir().unwrap();
        let pid = dir.path().join("x.pid");
        // Our own pid: were it signalled, SIGUSR1 would kill this test.
        fs::write(&pid, format!("{}\n", std::process::id())).unwrap();
        let a = query(&request(&pid, true), Duration::from_millis(10));
        assert!(
            matches!(a, Answer::NotRunning(ref m) if m.contains("left from")),
            "{a:?}"
        );
    }
}
