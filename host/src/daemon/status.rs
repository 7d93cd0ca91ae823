//! `--status`: how an operator sees a running daemon's state with one
//! command. The command finds the daemon through its pid file, sends it
//! SIGUSR1 and prints the status file the daemon writes in answer, next to
//! the pid file (`/run/failoverd.status`). A signal and a file keep the
//! daemon's loop free of any listening socket, and the state is produced by
//! the daemon itself, so it is never stale.
//!
//! The pid file's lock tells whether a daemon is really running: a stale pid
//! file after a crash is not locked, and its pid may belong to an unrelated
//! process by now, which must not be sent a signal.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::safefile;

/// Exit status of `--status` when no daemon is running (the LSB status
/// convention).
pub const EXIT_NOT_RUNNING: u8 = 3;
/// Exit status of `--status` when the daemon did not answer.
pub const EXIT_NO_ANSWER: u8 = 1;
/// How long `--status` waits for the daemon's answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// The status file that goes with `pid_file`.
pub fn status_path(pid_file: &Path) -> PathBuf {
    pid_file.with_extension("status")
}

/// Writes `text` as the status file for `pid_file`, atomically (a reader
/// never sees half of it) and never through a planted link
/// ([`safefile::replace`]).
pub fn write(pid_file: &Path, text: &str) -> io::Result<()> {
    safefile::replace(&status_path(pid_file), text)
}

/// Removes the status file at exit.
pub fn remove(pid_file: &Path) {
    let _ = fs::remove_file(status_path(pid_file));
}

/// What `--status` found.
#[derive(Debug)]
pub enum Answer {
    /// The daemon's state, as it wrote it.
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

/// Asks the daemon whose pid file is `pid_file` for its state, waiting at
/// most `timeout`.
pub fn query(pid_file: &Path, timeout: Duration) -> Answer {
    let shown = pid_file.display();
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
    let path = status_path(pid_file);
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
    use super::*;

    #[test]
    fn status_file_sits_next_to_the_pid_file() {
        assert_eq!(
            status_path(Path::new("/run/failoverd.pid")),
            Path::new("/run/failoverd.status")
        );
    }

    #[test]
    fn no_pid_file_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let a = query(&dir.path().join("x.pid"), Duration::from_millis(10));
        assert!(matches!(a, Answer::NotRunning(_)), "{a:?}");
        assert_eq!(a.exit_code(), 3);
    }

    #[test]
    fn unlocked_pid_file_is_stale_and_nobody_is_signalled() {
        let dir = tempfile::tempdir().unwrap();
        let pid = dir.path().join("x.pid");
        // Our own pid: were it signalled, SIGUSR1 would kill this test.
        fs::write(&pid, format!("{}\n", std::process::id())).unwrap();
        let a = query(&pid, Duration::from_millis(10));
        assert!(
            matches!(a, Answer::NotRunning(ref m) if m.contains("left from")),
            "{a:?}"
        );
    }

    #[test]
    fn write_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let pid = dir.path().join("d.pid");
        write(&pid, "one\n").unwrap();
        write(&pid, "two\n").unwrap();
        assert_eq!(fs::read_to_string(status_path(&pid)).unwrap(), "two\n");
        remove(&pid);
        assert!(!status_path(&pid).exists());
    }

    #[test]
    fn a_link_at_the_status_file_or_its_temporary_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        let pid = dir.path().join("d.pid");
        let status = status_path(&pid);
        let tmp = super::safefile::temp_path(&status);
        for link in [&status, &tmp] {
            std::os::unix::fs::symlink(&victim, link).unwrap();
            let err = write(&pid, "state\n").unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("{} is a symbolic link: refused", link.display())),
                "{err}"
            );
            assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
            fs::remove_file(link).unwrap();
        }
    }
}
