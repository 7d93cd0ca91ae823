//! `--status`: how an operator, or a monitoring script, sees a running
//! daemon's state with one command. The command finds the daemon through
//! its pid file, sends it SIGUSR1 and prints the status file the daemon
//! writes in answer, next to the pid file: `/run/failoverd.status` for
//! people, `/run/failoverd.status.json` for programs (`--status --json`).
//! A signal and a file keep the daemon's loop free of any listening
//! socket, and the state is produced by the daemon itself, so it is never
//! stale.
//!
//! The parts: the asking ([`mod@query`]), with its check that the daemon runs
//! in this network namespace ([`netns`]); and the answering, one
//! [`snapshot::Snapshot`] of the daemon's state rendered as [`text`] and
//! as [`json`], with what the daemon remembers beyond its present state
//! ([`history`]). The same snapshot feeds the metrics
//! ([`crate::daemon::metrics`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::safefile;
use crate::disk::Disk;

pub mod history;
pub mod json;
pub mod netns;
pub mod query;
pub mod snapshot;
pub mod text;

pub use query::{query, Answer};

/// Exit status of `--status` when no daemon is running (the LSB status
/// convention).
pub const EXIT_NOT_RUNNING: u8 = 3;
/// Exit status of `--status` when the daemon did not answer.
pub const EXIT_NO_ANSWER: u8 = 1;
/// Exit status of `--status` when it cannot ask from here: not root, or
/// the daemon runs in another network namespace. LSB's "status unknown"
/// (the code its other actions use for "insufficient privilege"): nothing
/// is known about the daemon's health, and the caller must ask another
/// way.
pub const EXIT_CANNOT_ASK: u8 = 4;
/// How long `--status` waits for the daemon's answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// The status file that goes with `pid_file`.
pub fn status_path(pid_file: &Path) -> PathBuf {
    pid_file.with_extension("status")
}

/// The JSON status file that goes with `pid_file`: the text one's name
/// with `.json` added (`/run/failoverd.status.json`).
pub fn json_path(pid_file: &Path) -> PathBuf {
    let mut name = status_path(pid_file).into_os_string();
    name.push(".json");
    PathBuf::from(name)
}

/// Writes `text` as the status file for `pid_file`, atomically (a reader
/// never sees half of it) and never through a planted link, without
/// waiting for the disk ([`safefile::replace_volatile`]: the file lives
/// only as long as the daemon, so a crash of the host loses nothing).
pub fn write(pid_file: &Path, text: &str) -> io::Result<()> {
    safefile::replace_volatile(&status_path(pid_file), text)
}

/// Writes `json` as the JSON status file for `pid_file`, as [`write()`].
pub fn write_json(pid_file: &Path, json: &str) -> io::Result<()> {
    safefile::replace_volatile(&json_path(pid_file), json)
}

/// Has `disk` remove the status files at exit (after any write queued).
pub fn remove(pid_file: &Path, disk: &Disk) {
    for path in [status_path(pid_file), json_path(pid_file)] {
        disk.submit(&path.clone(), move |_| {
            let _ = fs::remove_file(&path);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_files_sit_next_to_the_pid_file() {
        assert_eq!(
            status_path(Path::new("/run/failoverd.pid")),
            Path::new("/run/failoverd.status")
        );
        assert_eq!(
            json_path(Path::new("/run/failoverd.pid")),
            Path::new("/run/failoverd.status.json")
        );
    }

    #[test]
    fn write_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let pid = dir.path().join("d.pid");
        write(&pid, "one\n").unwrap();
        write(&pid, "two\n").unwrap();
        write_json(&pid, "{}\n").unwrap();
        assert_eq!(fs::read_to_string(status_path(&pid)).unwrap(), "two\n");
        assert_eq!(fs::read_to_string(json_path(&pid)).unwrap(), "{}\n");
        let (log, _) = crate::notify::log::Logger::memory("status-test");
        let disk = Disk::start(log).unwrap();
        remove(&pid, &disk);
        assert!(disk.wait_idle(Duration::from_secs(10)));
        assert!(!status_path(&pid).exists());
        assert!(!json_path(&pid).exists());
    }

    #[test]
    fn a_link_at_the_status_file_or_its_temporary_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        let pid = dir.path().join("d.pid");
        for path in [status_path(&pid), json_path(&pid)] {
            let tmp = super::safefile::temp_path(&path);
            for link in [&path, &tmp] {
                std::os::unix::fs::symlink(&victim, link).unwrap();
                let err = if path == status_path(&pid) {
                    write(&pid, "state\n")
                } else {
                    write_json(&pid, "{}\n")
                }
                .unwrap_err();
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
}
