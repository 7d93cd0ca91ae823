//! `failover-host`: the Linux side of IP failover.
//!
//! This crate will hold the two daemons an administrator installs,
//! `heartbeatd` (on the primary) and `failoverd` (on the secondary): thin
//! shells over `failover-core` that turn raw frames, timers, script exits and
//! signals into core inputs, and core actions into real effects (netlink
//! address changes, gratuitous ARP, the Test/PreAcq/PostAcq/PreRel/PostRel
//! scripts, syslog and email notifications).
//!
//! The building blocks are here, each tested on its own (the network ones
//! in network namespaces): the command lines, configuration file and key
//! file ([`cli`], [`hostconfig`], [`options`]), raw heartbeat frames,
//! gratuitous ARP and AF_PACKET channels ([`net`]), netlink address
//! management ([`addr`]), the script runner ([`scripts`]), syslog and email
//! notifications ([`notify`]), the boot epoch and the pid file ([`daemon`]).
//! **The daemon binaries themselves are not written yet**: the event loop
//! that ties these to the core machines is the next step of issue 3, so
//! there is deliberately no `heartbeatd` or `failoverd` binary to install.
#![forbid(unsafe_code)]

pub mod addr;
pub mod cli;
pub mod daemon;
pub mod hostconfig;
pub mod linkwatch;
pub mod net;
pub mod notify;
pub mod options;
pub mod plan;
pub mod scripts;
