//! What the benchmark is asked to do: the profiles, the dead-time modes,
//! the way loss is injected, and the options as the command line gives
//! them, checked before anything runs.

use clap::ValueEnum;

use std::path::PathBuf;

use crate::daemons::Profile;
use crate::faults::Direction;

/// A heartbeat profile of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileName {
    /// Apple-compatible: 1 s beats, 3 s dead time.
    Apple,
    /// 10 ms beats, 30 ms dead time.
    Fast,
    /// The shortest interval the daemons sustain (searched among the
    /// candidates).
    Fastest,
}

impl ProfileName {
    /// As on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Apple => "apple",
            ProfileName::Fast => "fast",
            ProfileName::Fastest => "fastest",
        }
    }

    /// Failover runs (and as many planned switchovers) when `--runs` is
    /// not given: 3 at 1 s beats (each failover takes about ten seconds),
    /// else 10.
    pub fn default_runs(self) -> usize {
        match self {
            ProfileName::Apple => 3,
            ProfileName::Fast | ProfileName::Fastest => 10,
        }
    }
}

/// `failoverd`'s dead time in a loss run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeadtimeMode {
    /// Three intervals, fixed (Apple's rule; failoverd's default at 1 s
    /// beats and longer).
    Fixed,
    /// `--deadtime auto`: adapted to the measured loss.
    Auto,
}

impl DeadtimeMode {
    /// As on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadtimeMode::Fixed => "fixed",
            DeadtimeMode::Auto => "auto",
        }
    }

    /// `profile` with this dead-time mode (`--deadtime`).
    pub(super) fn apply(self, profile: &Profile) -> Profile {
        let mut p = profile.clone();
        p.deadtime = match self {
            DeadtimeMode::Fixed => Some((profile.interval_ms * 3).to_string()),
            DeadtimeMode::Auto => Some("auto".to_owned()),
        };
        p
    }
}

/// Which frames of each switch port the loss applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossWay {
    /// Into and out of every port: a frame between two hosts crosses two
    /// rules, so N % per port is 1 − (1 − N)² end to end.
    Both,
    /// Only frames entering the switch: exactly N % end to end.
    FromHost,
}

impl LossWay {
    /// As on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            LossWay::Both => "both",
            LossWay::FromHost => "from-host",
        }
    }

    /// The direction the loss rules take on each switch port.
    pub(super) fn direction(self) -> Direction {
        match self {
            LossWay::Both => Direction::Both,
            LossWay::FromHost => Direction::FromHost,
        }
    }

    /// The loss a heartbeat sees from the primary to the secondary on one
    /// network, in %, when every port drops `percent` %.
    pub fn end_to_end(self, percent: u8) -> f64 {
        let p = f64::from(percent) / 100.0;
        match self {
            LossWay::Both => (1.0 - (1.0 - p) * (1.0 - p)) * 100.0,
            LossWay::FromHost => p * 100.0,
        }
    }
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Failover runs, and planned switchovers, per profile (`None`:
    /// [`ProfileName::default_runs`]).
    pub runs: Option<usize>,
    /// The profiles, in order.
    pub profiles: Vec<ProfileName>,
    /// Seconds of each loss run.
    pub loss_seconds: u64,
    /// Loss levels, % per port.
    pub loss_percents: Vec<u8>,
    /// Which frames of each port are dropped.
    pub loss_way: LossWay,
    /// `failoverd`'s dead time in the loss runs.
    pub deadtimes: Vec<DeadtimeMode>,
    /// `failoverd`'s dead time in the power-loss runs and the steady
    /// window.
    pub failover_deadtime: DeadtimeMode,
    /// Seconds of the steady window (memory, CPU).
    pub steady_seconds: u64,
    /// Intervals (ms) the fastest profile tries.
    pub fastest_candidates: Vec<u64>,
    /// Output directory (`None`: `target/lab-bench/<timestamp>/`).
    pub out: Option<PathBuf>,
    /// Measure keepalived beside each profile, when it is installed.
    pub keepalived: bool,
    /// Run the daemons, and keepalived, at real-time priority (SCHED_FIFO
    /// 20; keepalived's `vrrp_rt_priority 20`).
    pub real_time: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            runs: None,
            profiles: vec![ProfileName::Apple, ProfileName::Fast, ProfileName::Fastest],
            loss_seconds: 30,
            loss_percents: vec![10, 20, 30],
            loss_way: LossWay::Both,
            deadtimes: vec![DeadtimeMode::Fixed, DeadtimeMode::Auto],
            failover_deadtime: DeadtimeMode::Auto,
            steady_seconds: 10,
            fastest_candidates: vec![5, 3, 2],
            out: None,
            keepalived: true,
            real_time: false,
        }
    }
}

impl Options {
    /// Checks the numbers; the message says which option is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.runs.is_some_and(|n| !(1..=1000).contains(&n)) {
            return Err("--runs: give 1 to 1000".to_owned());
        }
        if self.profiles.is_empty() {
            return Err("--profiles: give at least one of apple, fast, fastest".to_owned());
        }
        if !(1..=3600).contains(&self.loss_seconds) {
            return Err("--loss-seconds: give 1 to 3600".to_owned());
        }
        if self.loss_percents.iter().any(|p| *p > 100) {
            return Err("--loss: give percentages from 0 to 100".to_owned());
        }
        if !(1..=600).contains(&self.steady_seconds) {
            return Err("--steady-seconds: give 1 to 600".to_owned());
        }
        if self.fastest_candidates.is_empty()
            || self
                .fastest_candidates
                .iter()
                .any(|c| !(1..=1000).contains(c))
        {
            return Err("--fastest-candidates: give intervals from 1 to 1000 ms".to_owned());
        }
        Ok(())
    }

    /// Failover runs for `profile`.
    pub fn runs_for(&self, profile: ProfileName) -> usize {
        self.runs.unwrap_or_else(|| profile.default_runs())
    }
}
