//! `failover-host`: the Linux side of IP failover.
//!
//! This crate holds the two daemons an administrator installs,
//! `heartbeatd` (on the primary) and `failoverd` (on the secondary): thin
//! shells over `failover-core` that turn raw frames, timers, script exits and
//! signals into core inputs, and core actions into real effects (netlink
//! address changes, gratuitous ARP, the Test/PreAcq/PostAcq/PreRel/PostRel
//! scripts, syslog and email notifications).
//!
//! The binaries (`src/bin/heartbeatd.rs`, `src/bin/failoverd.rs`) only call
//! [`daemon::start`]: it reads and checks the options ([`config::cli`],
//! [`config::hostconfig`], [`config::options`]), resolves them against the
//! interfaces ([`config::plan`]), and runs the event loop
//! ([`daemon::runtime`]) over the core machine. The loop's parts: raw
//! heartbeat frames, gratuitous ARP and AF_PACKET channels ([`net`]),
//! netlink addresses ([`netlink::addr`]) and carrier
//! ([`netlink::linkwatch`]), child processes ([`process`]) for the script
//! runner ([`scripts`]) and `sendmail` ([`notify`]), syslog and email
//! ([`notify`]). Users' documentation: `docs/operations.md` and the man
//! pages in `docs/man/`.
// One reviewed exception, `process::reset_signal_mask`: a child must not
// inherit the signals the daemon blocks for its signalfd.
#![deny(unsafe_code)]

// Floors, bottom-up; a module uses only modules on its own floor or below.
// netlink, net, process: the kernel's interfaces, raw frames, children.
pub mod net;
pub mod netlink;
pub mod process;
// config, notify, scripts, disk: the configuration pipeline, the effects,
// and the thread that writes the daemon's files.
pub mod config;
pub mod disk;
pub mod notify;
pub mod scripts;
// daemon: start-up and the event loop, over everything below.
pub mod daemon;
