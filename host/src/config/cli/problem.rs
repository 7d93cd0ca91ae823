//! What the configuration pipeline reports: one problem, with its kind and
//! exit status, and every problem of a start-up together.

use std::fmt;

use super::{Program, EXIT_CONFIG, EXIT_NOINPUT, EXIT_NOPERM, EXIT_USAGE};

/// What kind of mistake a [`Problem`] is; decides the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// A malformed command line ([`EXIT_USAGE`]).
    Usage,
    /// A file that could not be read ([`EXIT_NOINPUT`]).
    NoInput,
    /// Missing privileges ([`EXIT_NOPERM`]).
    NoPerm,
    /// A wrong or unsafe configuration ([`EXIT_CONFIG`]).
    Config,
}

impl ProblemKind {
    /// The exit status for this kind of problem.
    pub const fn exit_code(self) -> u8 {
        match self {
            ProblemKind::Usage => EXIT_USAGE,
            ProblemKind::NoInput => EXIT_NOINPUT,
            ProblemKind::NoPerm => EXIT_NOPERM,
            ProblemKind::Config => EXIT_CONFIG,
        }
    }
}

/// One thing wrong with the invocation. The daemons collect every problem
/// before giving up, so that `-n` shows them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of mistake it is.
    pub kind: ProblemKind,
    /// The message for the administrator, without the program name.
    pub message: String,
}

impl Problem {
    /// A command-line mistake.
    pub fn usage(message: impl Into<String>) -> Self {
        Problem {
            kind: ProblemKind::Usage,
            message: message.into(),
        }
    }

    /// A file that could not be read.
    pub fn no_input(message: impl Into<String>) -> Self {
        Problem {
            kind: ProblemKind::NoInput,
            message: message.into(),
        }
    }

    /// A wrong or unsafe configuration.
    pub fn config(message: impl Into<String>) -> Self {
        Problem {
            kind: ProblemKind::Config,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a daemon cannot start: every problem found, and the warnings met on
/// the way (the binary prints all of them, then exits with
/// [`exit_code`](StartupError::exit_code)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupError {
    /// The daemon that refuses to start.
    pub program: Program,
    /// Every problem, in the order found (command line first). Never empty.
    pub problems: Vec<Problem>,
    /// Things worth knowing that did not stop the start by themselves
    /// (unknown keys in the configuration file, …).
    pub warnings: Vec<String>,
    /// Clap's own rendering of a syntax error (unknown option, missing
    /// value, `-d` with `-n`, …), which already includes the usage line.
    pub clap_message: Option<String>,
}

impl StartupError {
    /// An error made of `problems` (which must not be empty to be useful).
    pub fn new(program: Program, problems: Vec<Problem>, warnings: Vec<String>) -> Self {
        StartupError {
            program,
            problems,
            warnings,
            clap_message: None,
        }
    }

    /// The exit status: that of the first problem (command-line problems
    /// are found first); [`EXIT_USAGE`] if there is none.
    pub fn exit_code(&self) -> u8 {
        self.problems
            .first()
            .map_or(EXIT_USAGE, |p| p.kind.exit_code())
    }

    /// The problems' messages alone, without the program name.
    pub fn messages(&self) -> Vec<&str> {
        self.problems.iter().map(|p| p.message.as_str()).collect()
    }
}

impl fmt::Display for StartupError {
    /// One line per warning and per problem, each prefixed with the program
    /// name (`failoverd: Invalid port. …`), then the usage synopsis if the
    /// command line was at fault.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.program.name();
        for w in &self.warnings {
            writeln!(f, "{name}: warning: {w}")?;
        }
        if let Some(m) = &self.clap_message {
            return write!(f, "{name}: {}", m.trim_end());
        }
        for p in &self.problems {
            writeln!(f, "{name}: {}", p.message)?;
        }
        if self.problems.iter().any(|p| p.kind == ProblemKind::Usage) {
            write!(f, "usage: {}", self.program.synopsis())?;
        }
        Ok(())
    }
}

impl std::error::Error for StartupError {}
