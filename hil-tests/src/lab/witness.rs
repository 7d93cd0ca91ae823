//! The witness in a test's lab: powering it on and off, and its own log,
//! decoded, for the checks and for a failure's report.

use crate::daemons::Daemon;
use crate::topology::Topology;
use crate::witness::{self, WitnessNode};

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
