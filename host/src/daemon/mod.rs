//! The daemons themselves: start-up ([`start`]), the event loop
//! ([`runtime`]) over a core machine ([`node`]) on the daemons' clock
//! ([`clock`]), the raw channels
//! ([`ports`]), the service addresses ([`services`]), `--status`
//! ([`status`]) and the metrics file ([`metrics`]), the boot epoch and the
//! pid file, and the checks that keep those files safe ([`safedir`],
//! [`safefile`]); systemd's readiness and watchdog notifications
//! ([`systemd`]); the pages start-up ran, given back once the daemon is quiet
//! ([`resident`]); a short time slice from the scheduler, so that a
//! heartbeat's wake-up does not wait behind a busy process ([`mod@slice`]);
//! [`faults`] for the lab.

pub mod clock;
pub mod epoch;
pub mod faults;
pub mod metrics;
pub mod node;
pub mod operator;
pub mod pidfile;
pub mod ports;
pub mod reload;
pub mod resident;
pub mod runtime;
pub mod safedir;
pub mod safefile;
pub mod services;
pub mod slice;
pub mod start;
pub mod status;
pub mod systemd;
pub mod words;
