//! `failover-lab`: the lab's command line. See `failover_lab::cli`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use failover_lab::cli::{run, Cli, EXIT_REFUSED};

fn main() -> ExitCode {
    // Before any thread exists, so that every thread inherits the mask.
    if let Err(e) = failover_lab::interrupt::install() {
        eprintln!("failover-lab: cannot set up Ctrl-C handling: {e}");
        return ExitCode::from(EXIT_REFUSED);
    }
    let cli = Cli::parse();
    let is_root = nix::unistd::geteuid().is_root();
    match run(cli.command, is_root, &mut std::io::stderr().lock()) {
        Ok(status) => ExitCode::from(status),
        Err(_) => ExitCode::from(EXIT_REFUSED),
    }
}
