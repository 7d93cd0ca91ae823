//! `failover-lab`: the failover lab.
//!
//! The lab will build a small network of real Linux network stacks on one
//! machine (network namespaces joined by bridges, documentation addresses
//! only), run the real daemons and the witness firmware in it, inject faults
//! and measure what a client of the service sees. It will provide the README
//! demo (`./demo.sh`) and the failover benchmark.
//!
//! **None of that exists yet**: it lands with issue 4 ("hil-tests"). Today
//! this crate only holds the command line of the `failover-lab` binary, whose
//! `demo` and `bench` subcommands check for root (the real ones need it too)
//! and then say plainly that they are not implemented yet.
#![forbid(unsafe_code)]

pub mod bench;
pub mod cli;
pub mod daemons;
pub mod demo;
pub mod faults;
pub mod interrupt;
pub mod measure;
pub mod netns;
pub mod observe;
pub mod service;
pub mod timeline;
pub mod topology;
pub mod witness;
