//! Finding a stage's scripts for an address, and refusing the unsafe ones:
//! what `-n` warns about and what a stage runs.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use failover_core::Stage;

use super::{ScriptConfig, MAX_DIR_ENTRIES, STAGES};
use crate::config::cli::ServiceAddress;

/// Why a file that looks like a script was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// An editor or package-manager leftover, or `*.disabled`.
    Leftover,
    /// A hidden file (name starting with `.`).
    Hidden,
    /// The name matches the stage only if case is ignored.
    WrongCase,
    /// A directory.
    Directory,
    /// Not a regular file (device, socket, dangling symlink target...).
    NotRegular,
    /// No execute permission.
    NotExecutable,
    /// Owned by this uid, not the required one.
    WrongOwner(u32),
    /// Writable by group or others (the mode).
    Writable(u32),
    /// Neither a `#!` line nor an ELF binary: the kernel cannot run it
    /// (ENOEXEC; the daemon does not hand files to a shell).
    NoInterpreter,
    /// Its metadata could not be read.
    Unreadable(String),
}

impl SkipReason {
    /// Whether the administrator plainly meant the file to run, so that
    /// `-n` fails on it instead of warning: it is executable, root's and
    /// safe, but the kernel cannot execute it.
    pub fn is_a_mistake(&self) -> bool {
        matches!(self, SkipReason::NoInterpreter)
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Leftover => f.write_str("an editor or package leftover, not a script"),
            SkipReason::Hidden => f.write_str("a hidden file"),
            SkipReason::WrongCase => f.write_str(
                "its name matches the stage only if case is ignored (Linux names are \
                 case-sensitive: rename it)",
            ),
            SkipReason::Directory => f.write_str("a directory"),
            SkipReason::NotRegular => f.write_str("not a regular file"),
            SkipReason::NotExecutable => f.write_str("not executable (chmod 755 to enable it)"),
            SkipReason::NoInterpreter => f.write_str(
                "it starts with neither a #! line nor an ELF header, so the kernel cannot run \
                 it: add a first line such as #!/bin/sh",
            ),
            SkipReason::WrongOwner(uid) => write!(
                f,
                "owned by uid {uid}, not root: the daemon runs scripts as root \
                 (chown root to enable it)"
            ),
            SkipReason::Writable(mode) => write!(
                f,
                "writable by group or others (mode {:03o}): anyone who can change it could \
                 run commands as root (chmod go-w to enable it)",
                mode & 0o7777
            ),
            SkipReason::Unreadable(e) => write!(f, "cannot be examined: {e}"),
        }
    }
}

/// A file that looks like a script but was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its path.
    pub path: PathBuf,
    /// Why.
    pub reason: SkipReason,
}

/// The scripts of one stage in one address directory, as the runner would
/// run them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The directory looked at.
    pub dir: PathBuf,
    /// Scripts to run, in order.
    pub scripts: Vec<PathBuf>,
    /// Files skipped, with the reason.
    pub skipped: Vec<Skipped>,
    /// Why the whole directory was skipped or incompletely read, if it was.
    pub problem: Option<String>,
}

/// Whether the name is an editor or package-manager leftover (or a script
/// the administrator marked `.disabled`).
fn is_leftover(name: &[u8]) -> bool {
    const SUFFIXES: [&[u8]; 9] = [
        b"~",
        b".bak",
        b".orig",
        b".rej",
        b".swp",
        b".swo",
        b".rpmsave",
        b".rpmnew",
        b".disabled",
    ];
    if SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return true;
    }
    if name.len() >= 2 && name.starts_with(b"#") && name.ends_with(b"#") {
        return true;
    }
    name.windows(6).any(|w| w == b".dpkg-") || name.windows(5).any(|w| w == b".ucf-")
}

/// How a directory entry relates to a stage.
enum Match {
    /// Not this stage's: ignored silently.
    Other,
    /// Looks like this stage's, but is skipped.
    Skip(SkipReason),
    /// A candidate: check its metadata.
    Candidate,
}

fn classify(name: &[u8], stage: &[u8]) -> Match {
    if name.starts_with(stage) {
        return if is_leftover(name) {
            Match::Skip(SkipReason::Leftover)
        } else {
            Match::Candidate
        };
    }
    // `.PostAcq.swp`, `#PostAcq#`, `.PostAcq`: about this stage, not run.
    if let Some(rest) = name.strip_prefix(b".").or_else(|| name.strip_prefix(b"#")) {
        if rest.starts_with(stage) {
            return Match::Skip(if is_leftover(name) {
                SkipReason::Leftover
            } else {
                SkipReason::Hidden
            });
        }
    }
    if name.len() >= stage.len() && name[..stage.len()].eq_ignore_ascii_case(stage) {
        return Match::Skip(SkipReason::WrongCase);
    }
    Match::Other
}

/// Checks a directory the daemon takes scripts from: it must be a directory
/// owned by `owner` and not writable by group or others.
fn check_dir(path: &Path, owner: u32) -> Result<bool, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("{}: cannot be examined: {e}", path.display())),
        Ok(m) if !m.is_dir() => Err(format!("{} is not a directory", path.display())),
        Ok(m) if m.uid() != owner => Err(format!(
            "{} is owned by uid {}, not root: its scripts are not run (chown root)",
            path.display(),
            m.uid()
        )),
        Ok(m) if m.mode() & 0o022 != 0 => Err(format!(
            "{} is writable by group or others (mode {:03o}): its scripts are not run \
             (chmod go-w)",
            path.display(),
            m.mode() & 0o7777
        )),
        Ok(_) => Ok(true),
    }
}

/// The scripts `stage` would run for `address`, and what would be skipped
/// and why. Reads the directory; never runs anything. The runner and `-n`
/// both use it, so they agree.
pub fn scan(config: &ScriptConfig, stage: Stage, address: IpAddr) -> Scan {
    let dir = config.address_dir(address);
    let mut out = Scan {
        dir: dir.clone(),
        ..Scan::default()
    };
    for d in [config.dir.as_path(), dir.as_path()] {
        match check_dir(d, config.owner) {
            Ok(true) => {}
            Ok(false) => return out,
            Err(problem) => {
                out.problem = Some(problem);
                return out;
            }
        }
    }
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            out.problem = Some(format!("{}: cannot be read: {e}", dir.display()));
            return out;
        }
    };
    let prefix = stage.name().as_bytes();
    let mut found: Vec<(Vec<u8>, PathBuf)> = Vec::new();
    for (i, entry) in entries.enumerate() {
        if i >= MAX_DIR_ENTRIES {
            out.problem = Some(format!(
                "{}: more than {MAX_DIR_ENTRIES} entries; only the first were looked at",
                dir.display()
            ));
            break;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.problem = Some(format!("{}: cannot be read: {e}", dir.display()));
                break;
            }
        };
        let name = entry.file_name();
        let path = entry.path();
        match classify(name.as_bytes(), prefix) {
            Match::Other => {}
            Match::Skip(reason) => out.skipped.push(Skipped { path, reason }),
            Match::Candidate => match check_file(&path, config.owner) {
                Ok(()) => found.push((name.as_bytes().to_vec(), path)),
                Err(reason) => out.skipped.push(Skipped { path, reason }),
            },
        }
    }
    found.sort();
    out.scripts = found.into_iter().map(|(_, p)| p).collect();
    out.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn check_file(path: &Path, owner: u32) -> Result<(), SkipReason> {
    // Follows symlinks: what runs is the target.
    let m = std::fs::metadata(path).map_err(|e| SkipReason::Unreadable(e.to_string()))?;
    if m.is_dir() {
        return Err(SkipReason::Directory);
    }
    if !m.is_file() {
        return Err(SkipReason::NotRegular);
    }
    let mode = m.permissions().mode();
    if mode & 0o111 == 0 {
        return Err(SkipReason::NotExecutable);
    }
    if m.uid() != owner {
        return Err(SkipReason::WrongOwner(m.uid()));
    }
    if mode & 0o022 != 0 {
        return Err(SkipReason::Writable(mode));
    }
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| {
            use std::io::Read;
            f.read(&mut head)
        })
        .map_err(|e| SkipReason::Unreadable(e.to_string()))?;
    let head = &head[..n];
    if !head.starts_with(b"#!") && !head.starts_with(b"\x7fELF") {
        return Err(SkipReason::NoInterpreter);
    }
    Ok(())
}

/// What `-n` says about the scripts of `addresses`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptReport {
    /// Scripts that were plainly meant to run but cannot
    /// ([`SkipReason::is_a_mistake`]): `-n` fails.
    pub problems: Vec<String>,
    /// Directories and files skipped, with the reason: the daemon runs
    /// without them, and says so again when a stage would have run them.
    pub warnings: Vec<String>,
}

/// Every problem with the scripts of `addresses`, for `-n`: directories
/// skipped and files skipped, with the reason, for every stage. Empty when
/// all is well (including when there are no scripts at all).
pub fn check(config: &ScriptConfig, addresses: &[ServiceAddress]) -> ScriptReport {
    check_stages(config, addresses, &STAGES)
}

/// [`check`] for the scripts of `stages` only (heartbeatd's Check).
pub fn check_stages(
    config: &ScriptConfig,
    addresses: &[ServiceAddress],
    stages: &[Stage],
) -> ScriptReport {
    let mut report = ScriptReport::default();
    let problems = &mut report.warnings;
    let mut seen: Vec<IpAddr> = Vec::new();
    for a in addresses {
        if seen.contains(&a.addr) {
            continue;
        }
        seen.push(a.addr);
        for &stage in stages {
            let s = scan(config, stage, a.addr);
            if let Some(p) = s.problem {
                if !problems.contains(&p) {
                    problems.push(p);
                }
            }
            for k in s.skipped {
                let line = format!("{}: skipped: {}", k.path.display(), k.reason);
                if k.reason.is_a_mistake() {
                    if !report.problems.contains(&line) {
                        report.problems.push(line);
                    }
                } else {
                    problems.push(line);
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified() {
        let s = b"PostAcq";
        assert!(matches!(classify(b"PostAcq", s), Match::Candidate));
        assert!(matches!(classify(b"PostAcq_mysql", s), Match::Candidate));
        assert!(matches!(classify(b"PostAcq.sh", s), Match::Candidate));
        for leftover in [
            &b"PostAcq~"[..],
            b"PostAcq.bak",
            b"PostAcq_x.orig",
            b"PostAcq.rej",
            b"PostAcq.dpkg-old",
            b"PostAcq.dpkg-new",
            b"PostAcq.ucf-dist",
            b"PostAcq.rpmsave",
            b"PostAcq.disabled",
            b".PostAcq.swp",
            b".PostAcq_x.swo",
            b"#PostAcq#",
        ] {
            assert!(
                matches!(classify(leftover, s), Match::Skip(SkipReason::Leftover)),
                "{}",
                String::from_utf8_lossy(leftover)
            );
        }
        assert!(matches!(
            classify(b".PostAcq", s),
            Match::Skip(SkipReason::Hidden)
        ));
        assert!(matches!(
            classify(b"postacq_mysql", s),
            Match::Skip(SkipReason::WrongCase)
        ));
        assert!(matches!(classify(b"PreAcq", s), Match::Other));
        assert!(matches!(classify(b"README", s), Match::Other));
        assert!(matches!(classify(b"Post", s), Match::Other));
        assert!(matches!(classify(b".hidden", s), Match::Other));
    }
}
