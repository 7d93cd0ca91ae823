//! `heartbeatd`: the heartbeat daemon of the primary server. See
//! `docs/man/heartbeatd.8`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(failover_host::daemon::start::heartbeatd_main(
        std::env::args_os().collect(),
    ))
}
