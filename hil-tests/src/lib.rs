//! `failover-lab`: the failover lab.
//!
//! The lab builds a small network of real Linux network stacks on one
//! machine (network namespaces joined by bridges, documentation addresses
//! only), runs the real daemons and the witness firmware (in QEMU) in it,
//! injects faults and measures what a client of the service sees. It
//! provides the README demo (`./demo.sh`, [`demo`]), the scenario tests
//! (`tests/`) and the failover benchmark ([`bench`](mod@crate::bench)), all
//! four on one harness, [`lab::Lab`]. `docs/lab.md` describes the parts and
//! what each figure measures.
#![forbid(unsafe_code)]

pub mod attacker;
pub mod background;
pub mod bench;
pub mod cli;
pub mod control;
pub mod daemons;
pub mod demo;
pub mod disk;
pub mod faults;
pub mod holds;
pub mod interrupt;
pub mod lab;
pub mod measure;
pub mod netns;
pub mod observe;
pub mod process;
pub mod service;
pub mod timeline;
pub mod topology;
pub mod witness;
pub mod witness_log;
