//! `failover-host`: the Linux side of IP failover.
//!
//! This crate will hold the two daemons an administrator installs,
//! `heartbeatd` (on the primary) and `failoverd` (on the secondary): thin
//! shells over `failover-core` that turn raw frames, timers, script exits and
//! signals into core inputs, and core actions into real effects (netlink
//! address changes, gratuitous ARP, the Test/PreAcq/PostAcq/PreRel/PostRel
//! scripts, syslog and email notifications).
//!
//! **Nothing is implemented here yet.** The daemons land with issue 3
//! ("host: heartbeatd and failoverd for Linux"). Until then this crate is an
//! empty placeholder so that the workspace builds; it deliberately has no
//! `heartbeatd` or `failoverd` binaries, because a stub daemon would pretend
//! to work.
#![forbid(unsafe_code)]
