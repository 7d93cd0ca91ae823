//! Processes the lab did not start itself but must see end: whether a PID
//! is still a live process, and a guard that kills, by PID, what a script
//! wrote down as its own, should the test end before the daemon that ran
//! the script killed it. Never by name: only PIDs the lab knows.

use std::fs;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Whether `pid` is a live process (not gone, not a zombie).
pub fn is_running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

/// The PIDs listed in a file, one a line (what a script wrote down).
pub fn listed_pids(file: &Path) -> Vec<u32> {
    fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// On drop, kills (SIGKILL, by PID) the processes listed in a file whose
/// command line `is_ours` recognises: a hanging script that ignores SIGTERM
/// would otherwise outlive the test. A PID that is no longer such a process
/// (reused since) is left alone.
#[derive(Debug)]
pub struct KillListed {
    /// The file the script writes its PIDs to.
    pub file: PathBuf,
    /// Whether a command line (NUL-separated, as in `/proc/<pid>/cmdline`)
    /// is one of the listed processes: the script, the programs it starts.
    pub is_ours: fn(&str) -> bool,
}

impl Drop for KillListed {
    fn drop(&mut self) {
        for pid in listed_pids(&self.file) {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            if pid > 1 && (self.is_ours)(&cmdline) {
                if let Ok(raw) = i32::try_from(pid) {
                    let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_a_bogus_pid_does_not() {
        assert!(is_running(std::process::id()));
        assert!(!is_running(u32::MAX));
    }
}
