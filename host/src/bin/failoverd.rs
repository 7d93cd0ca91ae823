//! `failoverd`: the IP failover daemon of the secondary server. See
//! `docs/man/failoverd.8`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(failover_host::daemon::start::failoverd_main(
        std::env::args_os().collect(),
    ))
}
