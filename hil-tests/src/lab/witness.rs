//! The witness in a test's lab: powering it on and off, and its own log,
//! decoded, for the checks and for a failure's report; the checks of it
//! that several tests make.

use crate::daemons::Daemon;
use crate::topology::Topology;
use crate::witness::{self, WitnessNode};
use crate::witness_log::{boot_epochs, boots};

use super::checks::tail;
use super::Lab;

/// How many lines of the witness's log a failure shows.
const WITNESS_LOG_TAIL: usize = 40;

impl Lab {
    /// The witness; a test that asks for it on a lab without one is wrong.
    pub fn witness_node(&self) -> &WitnessNode {
        self.witness
            .as_ref()
            .expect("this lab was built without the witness")
    }

    /// The witness and the network it is plugged into; a test that asks
    /// for the witness of a lab without one is wrong.
    fn witness_on_its_network(&mut self) -> (&mut WitnessNode, &Topology) {
        let node = self
            .witness
            .as_mut()
            .expect("this lab was built without the witness");
        (node, &self.t)
    }

    /// Powers the witness on (QEMU boots the firmware).
    pub fn power_on(&mut self) {
        let (node, t) = self.witness_on_its_network();
        node.power_on(t).expect("start QEMU");
    }

    /// Cuts the witness's power (kills QEMU).
    pub fn power_off(&mut self) {
        let (node, t) = self.witness_on_its_network();
        node.power_off(t).expect("stop QEMU");
    }

    /// The witness's decoded log, all boots (see
    /// [`WitnessNode::decode_logs`]), when `defmt-print` is installed; it
    /// says so on stderr when it is not, and fails under CI, which must
    /// check the log.
    pub fn witness_log(&self, logs: &[&Daemon]) -> Option<String> {
        let log = self.witness.as_ref().and_then(WitnessNode::decode_logs);
        if log.is_none() {
            if witness::is_ci() {
                self.fail(
                    "the witness's log could not be decoded (defmt-print missing or failing), \
                     and CI must check it",
                    logs,
                );
            }
            eprintln!(
                "note: defmt-print is not installed: the witness's own log is not checked \
                 (cargo install defmt-print --locked)"
            );
        }
        log
    }

    /// Fails the test unless the witness (QEMU) still runs.
    pub fn check_witness_running(&self, logs: &[&Daemon]) {
        self.check(
            self.witness_node().is_running(),
            "the witness is still running",
            logs,
        );
    }

    /// Fails the test (saying `what`) unless the witness's decoded log
    /// satisfies `ok`; checks nothing where [`Lab::witness_log`] has no log.
    pub fn check_witness_log(&self, ok: impl FnOnce(&str) -> bool, what: &str, logs: &[&Daemon]) {
        if let Some(log) = self.witness_log(logs) {
            self.check(ok(&log), what, logs);
        }
    }

    /// Fails the test unless the witness's decoded log shows two boots,
    /// which `ok` accepts (given the whole log and each boot's part; saying
    /// `what`), the second with the larger epoch; checks nothing where
    /// [`Lab::witness_log`] has no log.
    pub fn check_witness_rebooted(
        &self,
        ok: impl FnOnce(&str, &[String]) -> bool,
        what: &str,
        logs: &[&Daemon],
    ) {
        if let Some(log) = self.witness_log(logs) {
            let b = boots(&log);
            let epochs = boot_epochs(&log);
            self.check(b.len() == 2 && ok(&log, &b), what, logs);
            self.check(
                matches!(epochs[..], [Some(a), Some(b)] if b > a),
                &format!("the rebooted witness has a larger epoch: {epochs:?}"),
                logs,
            );
        }
    }

    /// Cuts the witness's power and waits until the secondary mailed that
    /// it lost the witness, with the primary still the only holder.
    pub fn power_off_until_witness_lost(&mut self, logs: &[&Daemon]) {
        self.power_off();
        self.wait_mailed(&self.srun, "WitnessLost", logs);
        self.wait_owner(super::Owner::Primary, logs);
    }

    /// The tail of the witness's decoded log (decoding it into
    /// `witness-boot<N>.log`), or how to decode it.
    pub(super) fn witness_log_tail(&self) -> String {
        match self.witness.as_ref().and_then(WitnessNode::decode_logs) {
            Some(log) => format!(
                "--- witness log (defmt, decoded):\n{}",
                tail(&log, WITNESS_LOG_TAIL)
            ),
            None => "--- witness log: not decoded (cargo install defmt-print --locked; \
                     defmt-print -e <elf> < witness-boot<N>.defmt)\n"
                .to_owned(),
        }
    }
}
