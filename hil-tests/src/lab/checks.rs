//! The tests' way of failing: a bounded wait that fails the test if what
//! it waits for never happens, a check of the outcome, and the report a
//! failure comes with — the tail of each daemon's log, the witness's state
//! and log, the mail each server sent, the scripts that ran, who held the
//! address when, and whom the client reached — so that a failure on a
//! loaded CI machine can be understood from its output alone.

use std::time::Duration;

use crate::daemons::Daemon;
use crate::netns::wait_until;
use crate::process::is_running;

use super::{events, stages, Lab, STEP};

/// How many lines of each daemon's log a failure shows.
const LOG_TAIL: usize = 60;

/// The last `n` lines of a log.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = lines[lines.len().saturating_sub(n)..].join("\n");
    out.push('\n');
    out
}

impl Lab {
    /// Waits at most the setup's limit for `condition`, failing the test
    /// with the daemons' logs (`logs`) if it never holds.
    pub fn wait(&self, what: &str, logs: &[&Daemon], condition: impl FnMut() -> bool) {
        self.wait_up_to(what, self.limit, logs, condition);
    }

    /// [`Lab::wait`] with another bound: for what takes longer by design.
    pub fn wait_up_to(
        &self,
        what: &str,
        timeout: Duration,
        logs: &[&Daemon],
        condition: impl FnMut() -> bool,
    ) {
        if !wait_until(timeout, STEP, condition) {
            self.fail(&format!("waited {timeout:?} for {what} in vain"), logs);
        }
    }

    /// Checks a condition of the outcome, failing the test with the logs.
    pub fn check(&self, ok: bool, what: &str, logs: &[&Daemon]) {
        if !ok {
            self.fail(what, logs);
        }
    }

    /// Checks that each of `daemons` is still running (what a flood or a
    /// forgery must not change), failing the test with their logs.
    pub fn check_running(&self, daemons: &[&Daemon]) {
        for d in daemons {
            self.check(
                is_running(d.pid),
                &format!("{} keeps running", d.name),
                daemons,
            );
        }
    }

    /// Fails the test with everything that helps to see why.
    pub fn fail(&self, what: &str, logs: &[&Daemon]) -> ! {
        let mut text = format!("{what}\n");
        for d in logs {
            text.push_str(&format!(
                "--- {} (pid {}) log:\n{}",
                d.name,
                d.pid,
                tail(&d.log_text(), LOG_TAIL)
            ));
        }
        if let Some(w) = &self.witness {
            text.push_str(&format!(
                "--- witness: {} boot(s), running {}; QEMU stderr: {:?}\n",
                w.boots(),
                w.is_running(),
                w.stderr_text()
            ));
            text.push_str(&self.witness_log_tail());
        }
        text.push_str(&format!(
            "--- mail: primary {:?}, secondary {:?}\n--- stages run: {:?}\n--- held: {:?}\n\
             --- client: {:?}\n--- files: {}\n",
            events(&self.prun),
            events(&self.srun),
            stages(&self.srun),
            self.owners.held(),
            self.runs(),
            self.dir.display()
        ));
        self.reported.set(true);
        panic!("{text}");
    }

    /// A panic that did not go through [`Lab::fail`] (an `expect`) still
    /// decodes the witness's log into the kept directory and shows its
    /// tail.
    pub(super) fn report_unreported_panic(&self) {
        if std::thread::panicking() && !self.reported.get() && self.witness.is_some() {
            eprintln!("{}", self.witness_log_tail());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail("a", 5), "a\n");
        assert_eq!(tail("", 5), "\n");
    }
}
