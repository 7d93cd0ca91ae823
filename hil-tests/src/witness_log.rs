//! Reading the witness's own log, as `defmt-print` decodes it
//! ([`WitnessNode::decode_logs`](crate::witness::WitnessNode::decode_logs)):
//! each boot's part, the epoch a boot announces, whether a boot granted
//! before it had heard anyone, and the numbers of its periodic status line.
//! The witness tests check these; they are facts of the firmware's log
//! format, so they live next to the lab's witness, not in the tests.

/// The decoded log of each boot, in order (split at `decode_logs`'s
/// `--- witness boot <N>` lines).
pub fn boots(log: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in log.lines() {
        if line.starts_with("--- witness boot ") {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    out
}

/// A note for a failure message when a boot of the witness granted before
/// it had received a single frame: its silence count since boot was
/// deafness (its network not passing frames yet: seen when the machine was
/// so loaded that `ip` commands took seconds), not the primary's silence.
pub fn granted_deaf(log: &str) -> String {
    let mut notes = String::new();
    for (n, boot) in boots(log).iter().enumerate() {
        let grant = boot.find("GRANT");
        let heard = boot.find(" heard");
        if grant.is_some_and(|g| heard.is_none_or(|h| h > g)) {
            notes.push_str(&format!(
                "\n(note: witness boot {} granted before it had heard anyone: it counted its \
                 own deafness after boot as the primary's silence)",
                n + 1
            ));
        }
    }
    notes
}

/// The epoch a boot's log announces ("witness … up: … epoch N, …").
pub fn boot_epoch(boot_log: &str) -> Option<u32> {
    let line = boot_log.lines().find(|l| l.contains(" up: "))?;
    let rest = &line[line.find("epoch ")? + "epoch ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The epochs the boots of `log` announced, in order.
pub fn boot_epochs(log: &str) -> Vec<Option<u32>> {
    boots(log).iter().map(|b| boot_epoch(b)).collect()
}

/// The numbers of the witness's first status line (10 s after boot):
/// frames the NIC received and sent, turns of its loop, its stack's peak
/// and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WitnessStatus {
    /// Frames its NIC received.
    pub nic_rx: u64,
    /// Frames its NIC sent.
    pub nic_tx: u64,
    /// Turns of its main loop.
    pub turns: u64,
    /// The deepest its stack went (bytes).
    pub stack_peak: u64,
    /// Its stack region (bytes).
    pub stack_size: u64,
}

/// The first `status:` line of a decoded witness log.
pub fn first_status(log: &str) -> Option<WitnessStatus> {
    let line = log.lines().find(|l| l.contains("status: primary"))?;
    let after = |key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .find(|w| !w.is_empty())?
            .parse()
            .ok()
    };
    Some(WitnessStatus {
        nic_rx: after("nic rx ")?,
        nic_tx: after(" tx ")?,
        turns: after("turns ")?,
        stack_peak: after("stack peak ")?,
        stack_size: after(" B of ")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boots_epochs_and_a_deaf_grant() {
        let up = |epoch: u32| {
            format!(
                "0.000 INFO witness 198.51.100.3 up: 198.51.100.3/24 on port 1694, mac \
                 02:00:00:00:00:03, epoch {epoch}, interval 10 ms, dead time 61000 us, lease \
                 200 ms, fence 40 ms, auth on\n"
            )
        };
        let log = format!(
            "--- witness boot 1\n{}0.010 INFO primary heard\n0.500 INFO GRANT to \
             198.51.100.2: the primary is silent; lease until 700 ms\n--- witness boot 2\n{}\
             0.070 INFO GRANT to 198.51.100.2: the primary is silent; lease until 270 ms\n",
            up(17),
            up(19)
        );
        assert_eq!(boots(&log).len(), 2);
        assert_eq!(boot_epochs(&log), [Some(17), Some(19)]);
        let note = granted_deaf(&log);
        assert!(
            note.contains("witness boot 2") && !note.contains("witness boot 1"),
            "{note}"
        );
    }

    #[test]
    fn the_first_status_line_is_read() {
        let log = "x\n10.000 INFO status: primary heard, secondary heard, grant none; frames \
                   accepted 2000, malformed 0, auth failed 0, replayed 0, ignored 0; socket send \
                   failures 0; nic rx 2000 dropped 0 tx 1000 failed 0; turns 3500; stack peak \
                   7900 B of 10240 B\n";
        assert_eq!(
            first_status(log),
            Some(WitnessStatus {
                nic_rx: 2000,
                nic_tx: 1000,
                turns: 3500,
                stack_peak: 7900,
                stack_size: 10240,
            })
        );
        assert_eq!(first_status("nothing"), None);
    }
}
