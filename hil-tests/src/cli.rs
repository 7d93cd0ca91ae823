//! The `failover-lab` command line and what each subcommand does.
//!
//! Parsing is kept apart from the process (`main.rs`) so that it can be
//! tested: [`run`] takes the parsed command and whether we are root, and
//! writes its messages to the given writer.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::bench::{self, DeadtimeMode, LossWay, ProfileName};
use crate::demo::Outcome;

/// Exit status when the command did its job.
pub const EXIT_OK: u8 = 0;
/// Exit status when the command refused to run (for example, not root).
pub const EXIT_REFUSED: u8 = 1;
/// Exit status of a usage error (clap's).
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the demo ran but did not show what it promises (no
/// takeover, no failback, or an overlap; under `CI=true`, also the witness
/// left out), or the lab could not be built; for the benchmark, when it
/// could not finish (it was interrupted, or the lab could not be built).
pub const EXIT_FAILED: u8 = 3;

/// The failover lab: network namespaces, fault injection, the demo and the benchmark.
#[derive(Debug, Parser)]
#[command(
    name = "failover-lab",
    version,
    after_help = "Both subcommands need root (they create network namespaces).\n\
                  Exit status: 0 done, 1 refused (not root), 2 usage error,\n\
                  3 the demo failed or the benchmark could not finish (the output says why).\n\
                  The demo's last line is its verdict: `demo: OK`, or, when the witness was\n\
                  left out, `demo: OK without the witness (left out: REASON)` (exit status 0),\n\
                  under CI=true a failure instead (exit status 3)."
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The lab's subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Start the lab, pull the primary's plug, show the takeover and the failback with their timelines.
    Demo(DemoArgs),
    /// Measure failover times, false takeovers under loss, and the daemons' memory and CPU, per profile.
    Bench(BenchArgs),
}

/// `failover-lab demo`'s options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct DemoArgs {
    /// Run without the witness even if its firmware is built (by default it boots in QEMU when
    /// scripts/firmware.sh has built it and qemu-system-arm is installed).
    #[arg(long)]
    pub no_witness: bool,
    /// Run without the witness because it could not be built or booted, for REASON (./demo.sh
    /// passes scripts/firmware.sh's error); the final line names it.
    #[arg(long, value_name = "REASON", conflicts_with = "no_witness")]
    pub witness_missing: Option<String>,
}

impl DemoArgs {
    /// Why the witness is to be left out, if it is.
    pub fn leave_out(&self) -> Option<String> {
        if self.no_witness {
            Some("--no-witness".to_owned())
        } else {
            self.witness_missing.clone()
        }
    }
}

/// `failover-lab bench`'s options. A quick smoke run:
/// `--runs 1 --profiles fast --loss-seconds 2 --loss 30 --steady-seconds 1`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(
    after_help = "Writes bench.json and recovery.svg into --out and prints a table of the \
                        figures next to the targets\n(fast profile: client-visible recovery \
                        <= 20 ms median; 0 false takeovers at 30 % loss; backup RSS <= 2 MB),\n\
                        and of the planned switchovers (heartbeatd --handover, then --reclaim: \
                        the client's gap,\nboth servers holding the address, the command's \
                        time).\n\
                        The full run (the defaults) takes about a quarter of an hour."
)]
pub struct BenchArgs {
    /// Primary power-loss runs, and planned switchovers, per profile [default: 3 for apple, 10 for fast and fastest].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub runs: Option<u16>,
    /// Heartbeat profiles, in order: apple (1 s beats), fast (10 ms), fastest (the shortest sustained).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "PROFILE,...",
        default_value = "apple,fast,fastest"
    )]
    pub profiles: Vec<ProfileName>,
    /// Seconds of each loss run (the fastest-interval search uses at most 10).
    #[arg(long, value_name = "S", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub loss_seconds: u64,
    /// Loss levels of the loss runs, % of the frames dropped at every switch port.
    #[arg(
        long = "loss",
        value_delimiter = ',',
        value_name = "PERCENT,...",
        default_value = "10,20,30",
        value_parser = clap::value_parser!(u8).range(0..=100)
    )]
    pub loss: Vec<u8>,
    /// Which frames of every switch port the loss applies to: both ways, or only those entering the switch.
    #[arg(long, value_enum, value_name = "WAY", default_value = "both")]
    pub loss_direction: LossWay,
    /// failoverd's dead time in the loss runs: fixed (three intervals, Apple's rule), --deadtime auto, or both.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "MODE,...",
        default_value = "fixed,auto"
    )]
    pub deadtimes: Vec<DeadtimeMode>,
    /// failoverd's dead time in the power-loss runs and the steady window below 1 s beats: auto (its default there; each run waits until it has come down to two intervals and its grace) or fixed (three intervals). At 1 s beats Apple's fixed dead time is used.
    #[arg(long, value_enum, value_name = "MODE", default_value = "auto")]
    pub failover_deadtime: DeadtimeMode,
    /// Seconds of the fault-free window in which each daemon's memory and CPU time are read.
    #[arg(long, value_name = "S", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub steady_seconds: u64,
    /// Heartbeat intervals (ms) the fastest profile tries, longest first.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "MS,...",
        default_value = "5,3,2",
        value_parser = clap::value_parser!(u64).range(1..=1000)
    )]
    pub fastest_candidates: Vec<u64>,
    /// Where to write bench.json, recovery.svg and the daemons' logs [default: target/lab-bench/UTC-TIME/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not measure keepalived (VRRP at the same interval, the reference) beside each profile; by default it is measured when /usr/sbin/keepalived is installed.
    #[arg(long)]
    pub no_keepalived: bool,
    /// Run heartbeatd and failoverd at real-time priority (SCHED_FIFO 20, with chrt; their scripts at normal priority), and keepalived with `vrrp_rt_priority 20`: what docs/operations.md advises below 10 ms beats. By default everything runs at normal priority, as deployed by default.
    #[arg(long)]
    pub real_time: bool,
}

impl BenchArgs {
    /// The benchmark's options.
    pub fn options(&self) -> bench::Options {
        bench::Options {
            runs: self.runs.map(usize::from),
            profiles: self.profiles.clone(),
            loss_seconds: self.loss_seconds,
            loss_percents: self.loss.clone(),
            loss_way: self.loss_direction,
            deadtimes: self.deadtimes.clone(),
            failover_deadtime: self.failover_deadtime,
            steady_seconds: self.steady_seconds,
            fastest_candidates: self.fastest_candidates.clone(),
            out: self.out.clone(),
            keepalived: !self.no_keepalived,
            real_time: self.real_time,
        }
    }
}

impl Command {
    /// The subcommand's name as typed on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Demo(_) => "demo",
            Command::Bench(_) => "bench",
        }
    }
}

/// Runs `command`, writing its messages to `err`, and returns the exit status.
///
/// `is_root` is whether the process runs with effective uid 0; every lab
/// command needs it, so that is checked first.
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
        Command::Demo(args) => demo(&args, err),
        Command::Bench(args) => bench(&args, err),
    }
}

/// The benchmark, with its progress and table on standard output and
/// problems on `err`.
fn bench(args: &BenchArgs, err: &mut impl Write) -> io::Result<u8> {
    let options = args.options();
    if let Err(e) = options.check() {
        writeln!(err, "failover-lab bench: {e}")?;
        return Ok(EXIT_USAGE);
    }
    let command: Vec<String> = std::env::args().collect();
    let mut out = io::stdout().lock();
    match bench::run(&options, command.join(" "), &mut out) {
        Ok(_) => {
            writeln!(out, "bench: done")?;
            Ok(EXIT_OK)
        }
        Err(e) => {
            writeln!(
                err,
                "failover-lab bench: {e}\n(the lab's namespaces have been removed; the daemons' \
                 logs, and bench.json with every profile finished so far, are in the output \
                 directory)"
            )?;
            Ok(EXIT_FAILED)
        }
    }
}

/// The demo, with its report on standard output and problems on `err`.
fn demo(args: &DemoArgs, err: &mut impl Write) -> io::Result<u8> {
    let run_dir = std::env::temp_dir().join(format!("failover-lab-{}", std::process::id()));
    let mut out = io::stdout().lock();
    match crate::demo::run(&mut out, run_dir.clone(), args.leave_out()) {
        Ok(outcome) => {
            writeln!(
                out,
                "\ncleaned up: the lab's namespaces are gone; the daemons' logs and the mail they \
                 sent are in {}",
                run_dir.display()
            )?;
            let (status, line) = verdict(&outcome, crate::witness::is_ci());
            if status == EXIT_OK {
                writeln!(out, "{line}")?;
            } else {
                out.flush()?;
                writeln!(err, "{line}")?;
            }
            Ok(status)
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

/// The demo's exit status and final line. Without the witness the two
/// servers' failover is still shown, but the final line says that the
/// headline was left out, and why; under CI (`ci`) that is a failure.
pub fn verdict(outcome: &Outcome, ci: bool) -> (u8, String) {
    if !outcome.ok() {
        return (
            EXIT_FAILED,
            format!("failover-lab demo: FAILED: {outcome:?}"),
        );
    }
    match &outcome.witness_left_out {
        None => (EXIT_OK, "demo: OK".to_owned()),
        Some(why) if ci => (
            EXIT_FAILED,
            format!(
                "demo: FAILED under CI=true: the witness was left out ({why}); \
                 the two servers failed over without it"
            ),
        ),
        Some(why) => (
            EXIT_OK,
            format!("demo: OK without the witness (left out: {why})"),
        ),
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
            Some(Command::Demo(DemoArgs::default()))
        );
        let demo = |args: &[&str]| match parse(args).map(|c| c.command) {
            Ok(Command::Demo(d)) => Some(d),
            _ => None,
        };
        let no_witness = demo(&["demo", "--no-witness"]);
        assert!(no_witness.as_ref().is_some_and(|d| d.no_witness));
        assert_eq!(
            no_witness.and_then(|d| d.leave_out()).as_deref(),
            Some("--no-witness")
        );
        let missing = demo(&["demo", "--witness-missing", "no QEMU"]);
        assert_eq!(
            missing.and_then(|d| d.leave_out()).as_deref(),
            Some("no QEMU")
        );
        assert_eq!(demo(&["demo"]).and_then(|d| d.leave_out()), None);
        assert!(parse(&["demo", "--no-witness", "--witness-missing", "x"]).is_err());
        let Some(Command::Bench(b)) = parse(&["bench"]).ok().map(|c| c.command) else {
            panic!("bench does not parse");
        };
        assert_eq!(b.options(), bench::Options::default());
    }

    #[test]
    fn the_demo_verdict_names_a_missing_witness() {
        let shown = Outcome {
            took_over: true,
            failed_back: true,
            granted: true,
            ..Outcome::default()
        };
        assert_eq!(verdict(&shown, false), (EXIT_OK, "demo: OK".to_owned()));
        assert_eq!(verdict(&shown, true), (EXIT_OK, "demo: OK".to_owned()));
        let without = Outcome {
            granted: false,
            witness_left_out: Some("scripts/firmware.sh failed: no QEMU".to_owned()),
            ..shown.clone()
        };
        assert_eq!(
            verdict(&without, false),
            (
                EXIT_OK,
                "demo: OK without the witness (left out: scripts/firmware.sh failed: no QEMU)"
                    .to_owned()
            )
        );
        let (status, line) = verdict(&without, true);
        assert_eq!(status, EXIT_FAILED);
        assert!(
            line.starts_with("demo: FAILED under CI=true: the witness was left out (scripts/firmware.sh failed: no QEMU)"),
            "{line}"
        );
        let ungranted = Outcome {
            granted: false,
            ..shown
        };
        let (status, line) = verdict(&ungranted, false);
        assert_eq!(status, EXIT_FAILED);
        assert!(line.starts_with("failover-lab demo: FAILED"), "{line}");
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
        let bench = parse(&["bench"]).unwrap().command;
        for command in [Command::Demo(DemoArgs::default()), bench] {
            let mut err = Vec::new();
            let status = run(command, false, &mut err).ok();
            let text = String::from_utf8_lossy(&err);
            assert_eq!(status, Some(EXIT_REFUSED));
            assert!(text.contains("needs root"), "{text}");
            assert!(!text.contains("not yet"), "root is checked first: {text}");
        }
    }

    #[test]
    fn bench_options() {
        let Ok(Cli {
            command: Command::Bench(b),
        }) = parse(&[
            "bench",
            "--runs",
            "1",
            "--profiles",
            "fast,apple",
            "--loss-seconds",
            "2",
            "--loss",
            "30",
            "--loss-direction",
            "from-host",
            "--deadtimes",
            "auto",
            "--steady-seconds",
            "1",
            "--fastest-candidates",
            "4,3",
            "--out",
            "/tmp/x",
            "--real-time",
        ])
        else {
            panic!("the smoke options do not parse");
        };
        let o = b.options();
        assert_eq!(o.runs, Some(1));
        assert_eq!(o.profiles, [ProfileName::Fast, ProfileName::Apple]);
        assert_eq!(o.loss_seconds, 2);
        assert_eq!(o.loss_percents, [30]);
        assert_eq!(o.loss_way, LossWay::FromHost);
        assert_eq!(o.deadtimes, [DeadtimeMode::Auto]);
        assert_eq!(o.steady_seconds, 1);
        assert_eq!(o.fastest_candidates, [4, 3]);
        assert_eq!(o.out, Some(PathBuf::from("/tmp/x")));
        assert!(o.real_time);
        assert_eq!(o.check(), Ok(()));
    }

    #[test]
    fn bench_refuses_bad_values() {
        for args in [
            &["bench", "--runs", "0"][..],
            &["bench", "--profiles", "slow"],
            &["bench", "--loss", "101"],
            &["bench", "--loss-seconds", "0"],
            &["bench", "--deadtimes", "sometimes"],
            &["bench", "--fastest-candidates", "0"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
