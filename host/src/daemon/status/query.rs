//! The asking side of `--status`: find the daemon through its pid file,
//! make sure it may and should be signalled from here, send it SIGUSR1,
//! and wait for the status file it writes.
//!
//! The pid file's lock tells whether a daemon is really running: a stale
//! pid file after a crash is not locked, and its pid may belong to an
//! unrelated process by now, which must not be sent a signal. Nor is a
//! daemon signalled when this command is not root (the signal would be
//! refused, and the answer is root's to read), or when it runs in another
//! network namespace ([`super::netns`]): each of those is said plainly,
//! with what to do instead, rather than as "no answer".

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::netns::{self, Place};
use super::{json_path, status_path, EXIT_CANNOT_ASK, EXIT_NOT_RUNNING, EXIT_NO_ANSWER};
use crate::config::cli::{default_pid_file, Program, StatusRequest};
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
    /// Not root: the daemon was not asked.
    NeedsRoot(String),
    /// The daemon runs in another network namespace: it was not asked.
    OtherNamespace(String),
}

impl Answer {
    /// The exit status for `--status`.
    pub fn exit_code(&self) -> u8 {
        match self {
            Answer::State(_) => 0,
            Answer::NotRunning(_) => EXIT_NOT_RUNNING,
            Answer::NoAnswer(_) => EXIT_NO_ANSWER,
            Answer::NeedsRoot(_) | Answer::OtherNamespace(_) => EXIT_CANNOT_ASK,
        }
    }
}

/// Asks `program`'s daemon whose pid file `request` names for its state,
/// as text or JSON, waiting at most `timeout`.
pub fn query(program: Program, request: &StatusRequest, timeout: Duration) -> Answer {
    let pid_file = request.pid_file.as_path();
    let path = if request.json {
        json_path(pid_file)
    } else {
        status_path(pid_file)
    };
    let needs_root = format!(
        "--status needs root (it signals the daemon and reads {})",
        path.display()
    );
    let pid = match locate(pid_file, &needs_root, |pid, name, id| {
        elsewhere(program, request, pid, name, id)
    }) {
        Ok(pid) => pid,
        Err(answer) => return answer,
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

/// Finds the daemon that holds `pid_file` and makes sure it may and should
/// be signalled from here: running (the pid file locked), asked by root
/// (`needs_root` says why it must be), in this network namespace
/// (`elsewhere` words the refusal for one that is not). Its pid, or the
/// answer to give instead.
pub fn locate(
    pid_file: &Path,
    needs_root: &str,
    elsewhere: impl FnOnce(i32, Option<String>, &str) -> String,
) -> Result<i32, Answer> {
    let shown = pid_file.display();
    let needs_root = || Answer::NeedsRoot(needs_root.to_owned());
    let mut file = match safefile::open_read(pid_file) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Answer::NotRunning(format!(
                "not running (no pid file {shown})"
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Err(needs_root()),
        Err(e) => return Err(Answer::NoAnswer(format!("cannot read the pid file: {e}"))),
    };
    let mut text = String::new();
    if let Err(e) = file.read_to_string(&mut text) {
        return Err(Answer::NoAnswer(format!(
            "cannot read the pid file {shown}: {e}"
        )));
    }
    // Taking the lock succeeds only if no daemon holds it.
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        Ok(_unlocked_on_drop) => {
            return Err(Answer::NotRunning(format!(
                "not running (the pid file {shown} is left from a process that has exited)"
            )))
        }
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {}
        Err((_, e)) => {
            return Err(Answer::NoAnswer(format!(
                "cannot check the pid file {shown}: {e}"
            )))
        }
    }
    let Some(pid) = text.trim().parse::<i32>().ok().filter(|p| *p > 0) else {
        return Err(Answer::NoAnswer(format!(
            "the pid file {shown} does not hold a process id"
        )));
    };
    // Whether the daemon is running anyone may know (the pid file is
    // world-readable); its state only root may ask for. Checked before
    // anything else is tried, so the answer does not depend on which
    // refusal (the namespace's, the signal's) would have come first.
    if !nix::unistd::geteuid().is_root() {
        return Err(needs_root());
    }
    match netns::locate(pid) {
        Ok(Place::Here) => Ok(pid),
        Ok(Place::Gone) => Err(Answer::NotRunning(format!(
            "not running (pid {pid} of the pid file {shown} has just exited)"
        ))),
        Ok(Place::Elsewhere { name, id }) => Err(Answer::OtherNamespace(elsewhere(pid, name, &id))),
        Err(e) => Err(Answer::NoAnswer(format!(
            "cannot tell the network namespace of pid {pid} (/proc/{pid}/ns/net): {e}"
        ))),
    }
}

/// The refusal for a daemon in another network namespace, with the
/// command that asks it there.
fn elsewhere(
    program: Program,
    request: &StatusRequest,
    pid: i32,
    name: Option<String>,
    id: &str,
) -> String {
    let mut command = "--status".to_owned();
    if request.json {
        command.push_str(" --json");
    }
    elsewhere_command(program, &request.pid_file, &command, pid, name, id)
}

/// The refusal for a daemon in another network namespace: `command` (the
/// options after the program's name) is how to ask it there.
pub fn elsewhere_command(
    program: Program,
    pid_file: &Path,
    options: &str,
    pid: i32,
    name: Option<String>,
    id: &str,
) -> String {
    let mut command = format!("{program} {options}");
    if pid_file != default_pid_file(program) {
        command.push_str(&format!(" --pid-file {}", pid_file.display()));
    }
    let (which, there) = match name {
        Some(name) => (name.clone(), format!("ip netns exec {name} {command}")),
        None => (
            format!("{id}, not named in {}", netns::NETNS_RUN_DIR),
            format!("nsenter --target {pid} --net {command}"),
        ),
    };
    let verb = options.split(' ').next().unwrap_or(options);
    format!(
        "the {program} of pid {pid} runs in another network namespace ({which}); run {verb} \
         there ({there})"
    )
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
        let a = query(Program::Failoverd, &r, Duration::from_millis(10));
        assert!(matches!(a, Answer::NotRunning(_)), "{a:?}");
        assert_eq!(a.exit_code(), 3);
    }

    #[test]
    fn unlocked_pid_file_is_stale_and_nobody_is_signalled() {
        let dir = tempfile::tempdir().unwrap();
        let pid = dir.path().join("x.pid");
        // Our own pid: were it signalled, SIGUSR1 would kill this test.
        fs::write(&pid, format!("{}\n", std::process::id())).unwrap();
        let a = query(
            Program::Heartbeatd,
            &request(&pid, true),
            Duration::from_millis(10),
        );
        assert!(
            matches!(a, Answer::NotRunning(ref m) if m.contains("left from")),
            "{a:?}"
        );
    }

    #[test]
    fn the_refusals_name_the_way_to_ask_there() {
        let default = request(&default_pid_file(Program::Heartbeatd), false);
        assert_eq!(
            elsewhere(
                Program::Heartbeatd,
                &default,
                42,
                Some("blue".into()),
                "net:[1]"
            ),
            "the heartbeatd of pid 42 runs in another network namespace (blue); run --status \
             there (ip netns exec blue heartbeatd --status)"
        );
        let own = request(Path::new("/tmp/f.pid"), true);
        assert_eq!(
            elsewhere(Program::Failoverd, &own, 7, None, "net:[4026532290]"),
            "the failoverd of pid 7 runs in another network namespace (net:[4026532290], not \
             named in /run/netns); run --status there (nsenter --target 7 --net failoverd \
             --status --json --pid-file /tmp/f.pid)"
        );
        for a in [
            Answer::NeedsRoot(String::new()),
            Answer::OtherNamespace(String::new()),
        ] {
            assert_eq!(a.exit_code(), 4);
        }
    }
}
