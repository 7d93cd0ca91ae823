//! The deterministic simulator: the three real state machines, a simulated
//! network and virtual time, driven by seeded fault schedules. See
//! `core/tests/simulator.rs` for how to run it.

// Shared by the `simulator` and `scenarios` test binaries, each of which
// uses only part of it.
#![allow(dead_code)]

pub mod net;
pub mod schedule;
pub mod world;

/// The three simulated nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeIx {
    Primary = 0,
    Secondary = 1,
    Witness = 2,
}
