//! The configuration pipeline, in the order it runs: the command line
//! ([`cli`]) and the `/etc/default/failover` file ([`hostconfig`]) are
//! merged and checked into resolved options ([`options`]), which are then
//! resolved against the live interfaces ([`plan`]). `-n` prints what the
//! last two found; the daemon runs from their result.

pub mod cli;
pub mod filekeys;
pub mod hostconfig;
pub mod options;
pub mod plan;
pub mod privileges;
pub mod recipients;
