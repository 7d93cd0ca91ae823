//! Host-side tests of the witness firmware's boot counter.
//!
//! The firmware only builds for a Cortex-M target, with Debian's toolchain
//! (../README.md); its boot counter, `src/bootcount.rs`, depends on nothing
//! but embedded-storage's `NorFlash` traits (and a `defmt::Format` derive),
//! so this crate compiles that very file for the host, next to a NOR flash
//! in RAM ([`flash::MockFlash`]) that can lose power at any point of any
//! operation. The tests are in `tests/bootcount.rs`.
//!
//! Nothing here links a defmt log call: `bootcount.rs` only derives
//! `defmt::Format` for its error type, and nothing formats it, so no global
//! logger, timestamp or panic handler is needed on the host.

#![forbid(unsafe_code)]

/// The firmware's boot counter, the very source file the NUCLEO build
/// compiles.
#[path = "../../src/bootcount.rs"]
pub mod bootcount;

pub mod flash;
