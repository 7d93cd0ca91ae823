//! The stage scripts a server ran (Test, PreAcq, PostAcq, PreRel,
//! PostRel), recorded by scripts the test adds, and the orders in which a
//! takeover and a release must run them.

use std::fs;
use std::path::PathBuf;

use crate::daemons::RunDir;

use super::Lab;

/// The stages of a takeover of 192.0.2.10, in order.
pub const ACQUIRE: [&str; 3] = [
    "Test acquire 192.0.2.10",
    "PreAcq acquire 192.0.2.10",
    "PostAcq acquire 192.0.2.10",
];
/// The stages of a release of 192.0.2.10, in order.
pub const RELEASE: [&str; 2] = ["PreRel release 192.0.2.10", "PostRel release 192.0.2.10"];

impl Lab {
    /// The lab with [`record_stages`] on the secondary: a scenario's lab
    /// whose stage scripts the test checks.
    pub fn recording_stages(self) -> Lab {
        record_stages(&self.srun);
        self
    }
}

/// The file the recording scripts append to, in `run`: a script of a
/// test's own records there too, with the same line.
pub fn record_file(run: &RunDir) -> PathBuf {
    run.path.join("stages.txt")
}

/// Adds, for every stage, a script that records the stage and its
/// arguments (see [`stages`]).
pub fn record_stages(run: &RunDir) {
    for stage in ["Test", "PreAcq", "PostAcq", "PreRel", "PostRel"] {
        record_stage(run, stage);
    }
}

/// Adds a script for `stage` that records it and its arguments.
pub fn record_stage(run: &RunDir, stage: &str) {
    run.script(
        &format!("{stage}_record"),
        &format!(
            "echo \"$FAILOVER_STAGE $1 $2\" >> {}\n",
            record_file(run).display()
        ),
    )
    .expect("stage script");
}

/// The stages the recording scripts saw, in order.
pub fn stages(run: &RunDir) -> Vec<String> {
    fs::read_to_string(record_file(run))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Whether the stage scripts ran a takeover, then a failback: the acquire
/// stages first, the release stages last, one PreRel. (A failoverd that
/// stalls while holding drops the address with PostRel alone and takes it
/// again: those stages may come in between.)
pub fn acquire_then_release(ran: &[String]) -> bool {
    ran.starts_with(&ACQUIRE.map(str::to_owned))
        && ran.ends_with(&RELEASE.map(str::to_owned))
        && ran.iter().filter(|s| s.starts_with("PreRel")).count() == 1
}

/// The acquire stages, then PostRel alone: the addresses dropped at once by
/// a failoverd that stalled while holding them.
pub fn acquire_then_dropped(ran: &[String]) -> bool {
    let mut expected: Vec<String> = ACQUIRE.map(str::to_owned).to_vec();
    expected.push(RELEASE[1].to_owned());
    ran == expected.as_slice()
}
