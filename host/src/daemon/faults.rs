//! Fault injection for the lab, compiled in only with the cargo feature
//! `fault-injection`. The lab turns it on (`cargo test --workspace` builds
//! the daemons with it); `cargo build`, release builds and packages never
//! have it, and then nothing here does anything.
//!
//! Some failures of the machine around a daemon cannot be caused on demand
//! in a network namespace: netlink refusing to remove an address is one. A
//! lab scenario creates a file in the daemon's state directory, and while it
//! exists the daemon behaves as if the kernel refused: the address stays on
//! its interface and the removal is reported failed.

use std::path::{Path, PathBuf};

/// While this file exists in the state directory, every removal of a
/// service address fails (the address stays), as after a netlink error.
pub const REMOVAL_FAULT_FILE: &str = "fault-removals";

/// The faults this build can inject, and where their switches are.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    removal_switch: Option<PathBuf>,
}

impl Faults {
    /// The switches in `state_dir`, if this build has fault injection.
    pub fn in_state_dir(state_dir: &Path) -> Faults {
        Faults {
            removal_switch: cfg!(feature = "fault-injection")
                .then(|| state_dir.join(REMOVAL_FAULT_FILE)),
        }
    }

    /// Whether a removal must fail now.
    pub fn removal_blocked(&self) -> bool {
        self.removal_switch.as_ref().is_some_and(|f| f.exists())
    }

    /// For the start-up log: what can be injected, and how.
    pub fn describe(&self) -> Option<String> {
        self.removal_switch.as_ref().map(|f| {
            format!(
                "fault injection compiled in (a test build): removals fail while {} exists",
                f.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_works_only_in_a_fault_injection_build() {
        let dir = std::env::temp_dir().join(format!("faults-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let faults = Faults::in_state_dir(&dir);
        assert!(!faults.removal_blocked(), "no switch yet");
        std::fs::write(dir.join(REMOVAL_FAULT_FILE), b"").unwrap();
        assert_eq!(
            faults.removal_blocked(),
            cfg!(feature = "fault-injection"),
            "the switch is on"
        );
        assert_eq!(
            faults.describe().is_some(),
            cfg!(feature = "fault-injection")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
