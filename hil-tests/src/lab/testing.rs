//! What every lab test does first: skip, loudly, when it cannot run (not
//! root; for the witness tests also no QEMU or no firmware), and run one at
//! a time (a lock held to the end of the test): the tests measure timing,
//! and two labs sharing two cores would measure each other. And the labs
//! the two test suites build.
//!
//! ```ignore
//! #[test]
//! fn a_scenario() {
//!     let Some(_serial) = failover_lab::lab_test!() else { return };
//!     let mut lab = Lab::scenario("a-scenario", Profile::fast());
//!     ...
//! }
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::daemons::Profile;
use crate::netns::skip_unless_root;
use crate::topology::PUBLIC_IF;
use crate::witness;

use super::{Lab, Place, Setup};

/// How long a scenario waits at most for anything that must happen (a
/// verdict, a takeover, a failback): at 10 ms beats these take tens of
/// milliseconds.
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(10);
/// The same for the witness tests, whose witness boots in QEMU.
pub const WITNESS_LIMIT: Duration = Duration::from_secs(15);

static SERIAL: Mutex<()> = Mutex::new(());

/// The lock that runs a test binary's lab tests one at a time; the test
/// holds it to its end.
#[derive(Debug)]
pub struct Serial {
    _guard: MutexGuard<'static, ()>,
}

/// Takes the lock (a test that failed while holding it does not poison it
/// for the others).
pub fn serial() -> Serial {
    Serial {
        _guard: SERIAL.lock().unwrap_or_else(|e| e.into_inner()),
    }
}

/// For a test that needs root: `None` (skip, said loudly) when not root,
/// else the lock. See [`lab_test!`](crate::lab_test).
pub fn ready(test: &str) -> Option<Serial> {
    if skip_unless_root(test) {
        return None;
    }
    Some(serial())
}

/// For a witness test: `None` (skip, said loudly; under CI a failure) when
/// not root or without QEMU or the firmware, else the firmware ELF and the
/// lock. See [`witness_test!`](crate::witness_test).
pub fn witness_ready(test: &str) -> Option<(PathBuf, Serial)> {
    if skip_unless_root(test) {
        return None;
    }
    let elf = witness::skip_unless_ready(test)?;
    Some((elf, serial()))
}

/// The path of the function it is used in (`scenarios::a_scenario`), for
/// the messages of a skipped test: derived, so it cannot drift from the
/// test's name.
#[macro_export]
macro_rules! test_name {
    () => {{
        fn here() {}
        let name = ::std::any::type_name_of_val(&here);
        name.strip_suffix("::here").unwrap_or(name)
    }};
}

/// The start of a lab test: `let Some(_serial) = lab_test!() else { return };`
/// skips (loudly) when not root, and otherwise holds the lab tests' lock to
/// the end of the test.
#[macro_export]
macro_rules! lab_test {
    () => {
        $crate::lab::ready($crate::test_name!())
    };
}

/// The start of a witness test: `let Some((elf, _serial)) = witness_test!()
/// else { return };` skips (loudly; under CI it fails) when not root or
/// without QEMU or the firmware, and otherwise gives the firmware ELF and
/// holds the lab tests' lock to the end of the test.
#[macro_export]
macro_rules! witness_test {
    () => {
        $crate::lab::witness_ready($crate::test_name!())
    };
}

impl Lab {
    /// A scenario's lab (`tests/scenarios.rs`): its own scratch directory,
    /// named by `test`, the daemons at real-time priority, and the client
    /// started once steady.
    pub fn scenario(test: &'static str, profile: Profile) -> Lab {
        Lab::scenario_on(test, profile, PUBLIC_IF)
    }

    /// Starts the daemons from now on at normal priority, as deployed by
    /// default, not at the scenarios' real-time priority: for a scenario
    /// about what a daemon asks of the scheduler itself.
    pub fn at_normal_priority(&mut self) {
        self.real_time = false;
    }

    /// A scenario's lab ([`Lab::scenario`]) whose servers' public
    /// interfaces are called `public_if`.
    pub fn scenario_on(test: &'static str, profile: Profile, public_if: &'static str) -> Lab {
        Lab::new(Setup {
            place: Place::Scratch {
                kind: "scenario",
                test,
                what: "scenario failed: its logs, mail and scripts",
            },
            profile,
            witness: None,
            real_time: true,
            client_when_steady: true,
            limit: SCENARIO_LIMIT,
            public_if,
        })
        .unwrap_or_else(|e| panic!("the lab could not be built: {e}"))
    }

    /// A witness test's lab (`tests/witness.rs`): the witness booted from
    /// `elf` (powered off until [`Lab::power_on`]), the fast profile it is
    /// built for, policy `required` unless the test changes
    /// [`Lab::policy`], no client.
    pub fn with_witness(test: &'static str, elf: &Path) -> Lab {
        let profile = Profile::fast();
        assert_eq!(
            profile.interval_ms,
            witness::INTERVAL_MS,
            "the firmware is built for the fast profile"
        );
        Lab::new(Setup {
            place: Place::Scratch {
                kind: "witness",
                test,
                what: "witness scenario failed: its logs, mail and the witness's defmt streams \
                       (and decoded logs, witness/witness-boot<N>.log)",
            },
            profile,
            witness: Some(elf.to_path_buf()),
            real_time: true,
            client_when_steady: false,
            limit: WITNESS_LIMIT,
            public_if: PUBLIC_IF,
        })
        .unwrap_or_else(|e| panic!("the lab could not be built: {e}"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_test_knows_its_name() {
        assert_eq!(
            crate::test_name!(),
            "failover_lab::lab::testing::tests::a_test_knows_its_name"
        );
    }
}
