//! `failover-host`: the Linux side of IP failover.
//!
//! This crate will hold the two daemons an administrator installs,
//! `heartbeatd` (on the primary) and `failoverd` (on the secondary): thin
//! shells over `failover-core` that turn raw frames, timers, script exits and
//! signals into core inputs, and core actions into real effects (netlink
//! address changes, gratuitous ARP, the Test/PreAcq/PostAcq/PreRel/PostRel
//! scripts, syslog and email notifications).
//!
//! The binaries (`src/bin/heartbeatd.rs`, `src/bin/failoverd.rs`) only call
//! [`daemon::start`]: it reads and checks the options ([`cli`],
//! [`hostconfig`], [`options`]), resolves them against the interfaces
//! ([`plan`]), and runs the event loop ([`daemon::runtime`]) over the core
//! machine. The loop's parts: raw heartbeat frames, gratuitous ARP and
//! AF_PACKET channels ([`net`]), netlink addresses ([`addr`]) and carrier
//! ([`linkwatch`]), the script runner ([`scripts`]), syslog and email
//! ([`notify`]). Users' documentation: `docs/operations.md` and the man
//! pages in `docs/man/`.
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
