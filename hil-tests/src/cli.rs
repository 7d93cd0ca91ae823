//! The `failover-lab` command line and what each subcommand does.
//!
//! Parsing is kept apart from the process (`main.rs`) so that it can be
//! tested: [`run`] takes the parsed command and whether we are root, and
//! writes its messages to the given writer.

use std::io::{self, Write};

use clap::{Parser, Subcommand};

/// Exit status when the command did its job.
pub const EXIT_OK: u8 = 0;
/// Exit status when the command refused to run (for example, not root).
pub const EXIT_REFUSED: u8 = 1;
/// Exit status when the command is not implemented yet.
pub const EXIT_NOT_YET: u8 = 2;
/// Exit status when the demo ran but did not show what it promises (no
/// takeover, no failback, or an overlap), or the lab could not be built.
pub const EXIT_FAILED: u8 = 3;

/// The failover lab: network namespaces, fault injection, the demo and the benchmark.
#[derive(Debug, Parser)]
#[command(
    name = "failover-lab",
    version,
    after_help = "Both subcommands need root (they create network namespaces).\n\
                  Exit status: 0 done, 1 refused (not root), 2 not yet implemented or usage error,\n\
                  3 the demo failed (its output says what went wrong)."
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The lab's subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Start the lab, pull the primary's plug, show the takeover and the failback with their timelines.
    Demo,
    /// Measure failover times and false takeovers per profile (not yet: issue 4).
    Bench,
}

impl Command {
    /// The subcommand's name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Command::Demo => "demo",
            Command::Bench => "bench",
        }
    }
}

/// Runs `command`, writing its messages to `err`, and returns the exit status.
///
/// `is_root` is whether the process runs with effective uid 0; every lab
/// command needs it, so that is checked first, as the real commands will.
pub fn run(command: Command, is_root: bool, err: &mut impl Write) -> io::Result<u8> {
    if !is_root {
        writeln!(
            err,
            "failover-lab {}: sorry, this needs root: the lab creates network namespaces, \
             bridges and firewall rules, which only root may do.\n\
             Please run it as root, for example: sudo ./demo.sh",
            command.name()
        )?;
        return Ok(EXIT_REFUSED);
    }
    match command {
        Command::Demo => demo(err),
        Command::Bench => {
            writeln!(
                err,
                "failover-lab bench: not yet: the lab benchmark lands with issue 4 (hil-tests); \
                 meanwhile see `./test.sh` and `cargo bench -p failover-core --bench heartbeat`"
            )?;
            Ok(EXIT_NOT_YET)
        }
    }
}

/// The demo, with its report on standard output and problems on `err`.
fn demo(err: &mut impl Write) -> io::Result<u8> {
    let run_dir = std::env::temp_dir().join(format!("failover-lab-{}", std::process::id()));
    let mut out = io::stdout().lock();
    match crate::demo::run(&mut out, run_dir.clone()) {
        Ok(outcome) => {
            writeln!(
                out,
                "\ncleaned up: the lab's namespaces are gone; the daemons' logs and the mail they \
                 sent are in {}",
                run_dir.display()
            )?;
            if outcome.ok() {
                writeln!(out, "demo: OK")?;
                Ok(EXIT_OK)
            } else {
                writeln!(err, "failover-lab demo: FAILED: {outcome:?}")?;
                Ok(EXIT_FAILED)
            }
        }
        Err(e) => {
            writeln!(
                err,
                "failover-lab demo: {e}\n(the lab's namespaces have been removed; logs, if any, \
                 are in {})",
                run_dir.display()
            )?;
            Ok(EXIT_FAILED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("failover-lab").chain(args.iter().copied()))
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_the_two_subcommands() {
        assert_eq!(
            parse(&["demo"]).map(|c| c.command).ok(),
            Some(Command::Demo)
        );
        assert_eq!(
            parse(&["bench"]).map(|c| c.command).ok(),
            Some(Command::Bench)
        );
    }

    #[test]
    fn unknown_subcommand_is_an_error() {
        let e = parse(&["frobnicate"]).err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::InvalidSubcommand));
    }

    #[test]
    fn missing_subcommand_is_an_error() {
        let e = parse(&[]).err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand));
    }

    #[test]
    fn extra_arguments_are_an_error() {
        assert!(parse(&["demo", "now"]).is_err());
    }

    #[test]
    fn refuses_politely_when_not_root() {
        for command in [Command::Demo, Command::Bench] {
            let mut err = Vec::new();
            let status = run(command, false, &mut err).ok();
            let text = String::from_utf8_lossy(&err);
            assert_eq!(status, Some(EXIT_REFUSED));
            assert!(text.contains("needs root"), "{text}");
            assert!(!text.contains("not yet"), "root is checked first: {text}");
        }
    }

    #[test]
    fn bench_says_not_yet_as_root() {
        let mut err = Vec::new();
        assert_eq!(run(Command::Bench, true, &mut err).ok(), Some(EXIT_NOT_YET));
        let text = String::from_utf8_lossy(&err);
        assert!(
            text.contains("not yet: the lab benchmark lands with issue 4"),
            "{text}"
        );
    }
}
