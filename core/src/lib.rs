//! The failover protocol core: wire format, failure detector and the three
//! decision machines (primary `heartbeatd`, secondary `failoverd`, witness).
//!
//! Sans-IO and allocation-free: no clock, socket, file or heap is touched
//! here. Every machine implements [`Machine`]: the caller passes `now` and
//! inputs, and drains actions and frames. The same code runs in the Linux
//! daemons, in the Cortex-M witness and in the deterministic simulator
//! (`core/tests/simulator.rs`). The two servers also implement [`Server`],
//! the controls the daemons drive (signals, carrier, reachability, reload).
//!
//! [`Machine`]'s documentation shows the loop a host runs, driving a
//! primary and a secondary in virtual time to a takeover;
//! `core/examples/two_machines.rs` does the same with link delays and a log
//! (`cargo run -p failover-core --example two_machines`).
//!
//! Misuse is refused rather than tolerated: configurations are checked by
//! the machines' `try_new`, `poll_transmit` takes a buffer of exactly
//! [`MAX_FRAME_LEN`](wire::MAX_FRAME_LEN) bytes, the polls are
//! `#[must_use]`, and a host that does not drain the actions hears of it
//! ([`Event::ActionsLost`]).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[cfg(test)]
extern crate std;

pub mod action;
pub mod config;
pub mod detector;
pub mod keyfile;
pub mod machine;
pub mod node;
pub mod primary;
mod queue;
pub mod reach;
pub mod removal;
pub mod replay;
pub mod secondary;
pub mod standby;
pub mod time;
pub mod wire;
pub mod witness;

mod beat;
pub(crate) mod endpoint;
pub mod epochs;
mod station;

pub use action::{Action, Dest, Event, LinkMask, Stage, StageOutcome, Transmit};
pub use config::{AppleConflict, ConfigError, Timing};
pub use detector::{AdaptiveDeadTime, DeadTime, PeerDetector};
pub use endpoint::RxStats;
pub use machine::{Machine, Server, Stats};
pub use node::{LinkId, NodeId, Role, MAX_LINKS};
pub use primary::{Primary, PrimaryConfig};
pub use removal::Removal;
pub use secondary::{Secondary, SecondaryConfig, WitnessPolicy};
pub use standby::{Failback, Standby};
pub use time::{Duration, Instant};
pub use witness::{FenceConfig, Witness, WitnessConfig};
