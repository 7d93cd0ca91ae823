//! The real daemons in the lab: finding the binaries, starting
//! `heartbeatd` and `failoverd` in the servers' namespaces with a run
//! directory of their own (pid files, boot epochs, scripts, a fake
//! `sendmail`), and reading their log lines as they come, each stamped with
//! the lab's clock on arrival, so the timeline can place "the secondary's
//! verdict" next to the faults and the packets.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use failover_host::config::cli::Program;

use crate::netns::Netns;
use crate::topology::{Topology, PRIVATE_BROADCAST, PUBLIC_BROADCAST, SERVICE};

/// Where the daemons' binaries are.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `heartbeatd`.
    pub heartbeatd: PathBuf,
    /// `failoverd`.
    pub failoverd: PathBuf,
}

impl Binaries {
    /// Looks in `$FAILOVER_BIN_DIR`, then next to the running program and
    /// one directory up (cargo puts test programs in `target/*/deps`).
    pub fn find() -> io::Result<Binaries> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(d) = std::env::var_os("FAILOVER_BIN_DIR") {
            dirs.push(PathBuf::from(d));
        }
        if let Ok(exe) = std::env::current_exe() {
            if let Some(d) = exe.parent() {
                dirs.push(d.to_path_buf());
                if let Some(up) = d.parent() {
                    dirs.push(up.to_path_buf());
                }
            }
        }
        for d in &dirs {
            let (h, f) = (d.join("heartbeatd"), d.join("failoverd"));
            if h.is_file() && f.is_file() {
                return Ok(Binaries {
                    heartbeatd: h,
                    failoverd: f,
                });
            }
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "heartbeatd and failoverd not found in {dirs:?}: build them first \
                 (cargo build -p failover-host --features fault-injection, or --release) \
                 or set FAILOVER_BIN_DIR"
            ),
        ))
    }
}

/// How fast the daemons beat and judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Its name in reports: `apple`, `fast`, `fastest`.
    pub name: &'static str,
    /// Heartbeat interval, milliseconds.
    pub interval_ms: u64,
    /// `--deadtime` (`None`: failoverd's default, which is three intervals
    /// at 1 s beats and adaptive below).
    pub deadtime: Option<String>,
}

impl Profile {
    /// Apple-compatible: 1 s beats, 3 s dead time.
    pub fn apple() -> Profile {
        Profile {
            name: "apple",
            interval_ms: 1000,
            deadtime: None,
        }
    }

    /// Fast: 10 ms beats, 30 ms dead time.
    pub fn fast() -> Profile {
        Profile::fixed("fast", 10)
    }

    /// The fast profile (10 ms beats) with a dead time of 200 ms instead of
    /// 30, for the scenarios whose claim is that nothing happens: their
    /// faults do not depend on the dead time, while 30 ms is within the
    /// scheduling stalls of a loaded two-core machine, and a primary that
    /// does not run for a dead time is (rightly) taken over from.
    pub fn fast_patient() -> Profile {
        let mut p = Profile::fast();
        p.deadtime = Some("200".to_owned());
        p
    }

    /// `interval_ms` beats with a fixed dead time of three intervals. At
    /// sub-second intervals failoverd's default is the adaptive dead time,
    /// which needs seconds after a start before it trusts the network; the
    /// lab's scenarios and measurements want a dead time known in advance
    /// (the loss runs try `--deadtime auto` explicitly).
    pub fn fixed(name: &'static str, interval_ms: u64) -> Profile {
        Profile {
            name,
            interval_ms,
            deadtime: Some((interval_ms * 3).to_string()),
        }
    }
}

/// How far the clock jumped, as a daemon logs it: "the clock jumped 1.2 s
/// between two turns" or "… 850 ms …".
fn jump_of(line: &str) -> Option<Duration> {
    let rest = line.split("the clock jumped ").nth(1)?;
    let mut words = rest.split(' ');
    let value: f64 = words.next()?.parse().ok()?;
    match words.next()? {
        "s" => Some(Duration::from_secs_f64(value)),
        "ms" => Some(Duration::from_secs_f64(value / 1000.0)),
        _ => None,
    }
}

/// Log lines, each with the lab time it arrived.
pub type Lines = Arc<Mutex<Vec<(Instant, String)>>>;

/// A daemon running in a lab namespace.
#[derive(Debug)]
pub struct Daemon {
    /// `heartbeatd` or `failoverd`.
    pub name: &'static str,
    /// Its process id (it runs in the foreground, `-d`).
    pub pid: u32,
    /// Its pid file.
    pub pid_file: PathBuf,
    lines: Lines,
    reader: Option<JoinHandle<()>>,
}

impl Daemon {
    /// Every log line so far.
    pub fn lines(&self) -> Vec<(Instant, String)> {
        lock(&self.lines).clone()
    }

    /// When the first line containing `needle` arrived at or after `since`.
    pub fn logged_after(&self, since: Instant, needle: &str) -> Option<Instant> {
        lock(&self.lines)
            .iter()
            .find(|(t, l)| *t >= since && l.contains(needle))
            .map(|(t, _)| *t)
    }

    /// Whether some line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        lock(&self.lines).iter().any(|(_, l)| l.contains(needle))
    }

    /// When it logged that it had not run for over two intervals while it
    /// held the addresses, and dropped them (the stall rule of
    /// docs/protocol.md: on a loaded two-core machine a daemon now and then
    /// waits that long for the CPU). It takes them back through the reclaim
    /// handshake, so each stall may add a holding interval, which the
    /// scenarios allow for.
    pub fn stall_times(&self) -> Vec<Instant> {
        lock(&self.lines)
            .iter()
            .filter(|(_, l)| l.contains("was frozen too long"))
            .map(|(t, _)| *t)
            .collect()
    }

    /// When it logged, at or after `since`, that its clock jumped between
    /// two turns of its loop, and how far: a suspend or a stop (SIGSTOP,
    /// the lab's stand-in for a suspend), or a wait for the CPU of over two
    /// intervals. Its clock (CLOCK_BOOTTIME) counts them all.
    pub fn clock_jumps_after(&self, since: Instant) -> Vec<(Instant, Duration)> {
        lock(&self.lines)
            .iter()
            .filter(|(t, _)| *t >= since)
            .filter_map(|(t, l)| Some((*t, jump_of(l)?)))
            .collect()
    }

    /// How often it stalled (see [`Daemon::stall_times`]).
    pub fn stalls(&self) -> usize {
        self.stall_times().len()
    }

    /// When `failoverd` reached a verdict (the primary silent on every
    /// network), as its log says.
    pub fn verdicts(&self) -> Vec<Instant> {
        lock(&self.lines)
            .iter()
            .filter(|(_, l)| {
                l.contains("warning: the primary") && l.contains("is silent on every network")
            })
            .map(|(t, _)| *t)
            .collect()
    }

    /// The whole log.
    pub fn log_text(&self) -> String {
        lock(&self.lines)
            .iter()
            .map(|(_, l)| format!("{l}\n"))
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // The namespace kills the process; the reader ends at EOF then.
        if let Some(r) = self.reader.take() {
            if r.is_finished() {
                let _ = r.join();
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A test's scratch directory, `<tmp>/folab-<kind>-<pid>-<test>`: removed
/// when the test passes, kept and named on standard error when it fails,
/// so the daemons' logs and mail of a failed scenario can be read.
#[derive(Debug)]
pub struct Scratch {
    /// Its path.
    pub base: PathBuf,
    what: &'static str,
}

impl Scratch {
    /// Creates it afresh (mode 755: the daemons refuse scripts in a
    /// directory others can write). `what` says what it holds, for the
    /// failure message.
    pub fn new(kind: &str, test: &str, what: &'static str) -> io::Result<Scratch> {
        let base = std::env::temp_dir().join(format!("folab-{kind}-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base)?;
        fs::set_permissions(&base, fs::Permissions::from_mode(0o755))?;
        Ok(Scratch { base, what })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{} are in {}", self.what, self.base.display());
        } else {
            let _ = fs::remove_dir_all(&self.base);
        }
    }
}

/// A run's directory: scripts, pid files, epochs, logs, mail, the mail
/// spool.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// Its path.
    pub path: PathBuf,
    /// Where the daemon keeps what it writes as it runs: its state
    /// directory (`state/`: its epoch, its peers' settled epochs), its mail
    /// spool (`spool/`) and, when [`RunDir::metrics`] says so, its metrics
    /// file (`<daemon>.prom`). [`RunDir::path`] unless a test puts them
    /// elsewhere ([`RunDir::keep_files_in`]: on a disk it freezes).
    pub files: PathBuf,
    /// Whether the daemon writes its metrics (`--metrics-file`, every 5 s).
    pub metrics: bool,
}

impl RunDir {
    /// Creates `path` with an empty configuration file, a scripts
    /// directory and a `sendmail` that appends each message to `mail.txt`.
    pub fn create(path: &Path) -> io::Result<RunDir> {
        fs::create_dir_all(path.join("scripts").join(SERVICE.to_string()))?;
        for d in [
            path.to_path_buf(),
            path.join("scripts"),
            path.join("scripts").join(SERVICE.to_string()),
        ] {
            fs::set_permissions(&d, fs::Permissions::from_mode(0o755))?;
        }
        fs::write(path.join("failover.conf"), "")?;
        let sendmail = path.join("sendmail");
        fs::write(
            &sendmail,
            format!(
                "#!/bin/sh\n{{ echo \"ARGS: $*\"; cat; echo ----; }} >> {}\n",
                path.join("mail.txt").display()
            ),
        )?;
        fs::set_permissions(&sendmail, fs::Permissions::from_mode(0o755))?;
        Ok(RunDir {
            path: path.to_path_buf(),
            files: path.to_path_buf(),
            metrics: false,
        })
    }

    /// Has the daemons started from now on keep their state directory,
    /// mail spool and metrics file in `dir` (created, mode 755: the daemons
    /// refuse a directory others can write) instead of the run directory.
    pub fn keep_files_in(&mut self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
        self.files = dir.to_path_buf();
        Ok(())
    }

    /// The daemons' state directory (`--state-dir`): `<program>.epoch`,
    /// `<program>.peers`.
    pub fn state_dir(&self) -> PathBuf {
        self.files.join("state")
    }

    /// The daemons' mail spool (`--spool-dir`).
    pub fn spool_dir(&self) -> PathBuf {
        self.files.join("spool")
    }

    /// `program`'s metrics file (`--metrics-file`, when
    /// [`RunDir::metrics`]): `heartbeatd.prom`, `failoverd.prom`.
    pub fn metrics_file(&self, program: &str) -> PathBuf {
        self.files.join(format!("{program}.prom"))
    }

    /// Adds a script for the service address (`Test_lab`, ...).
    pub fn script(&self, name: &str, body: &str) -> io::Result<()> {
        let p = self
            .path
            .join("scripts")
            .join(SERVICE.to_string())
            .join(name);
        fs::write(&p, format!("#!/bin/sh\n{body}"))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755))
    }

    /// Writes a key file (mode 600, which the daemons require) with one
    /// key, id 1, secret `hex`, and returns its path for `--key-file`.
    pub fn key_file(&self, hex: &str) -> io::Result<String> {
        let p = self.path.join("keys");
        fs::write(&p, format!("1 {hex}\n"))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600))?;
        Ok(p.display().to_string())
    }

    /// Gives the fake `sendmail` a different first call: `first` (shell)
    /// runs in the first `sendmail` only, before it keeps what it is given
    /// as usual. `cat >/dev/null; exit 75` fails the first mail (MTA
    /// temporarily down); `sleep 5` keeps it in flight for five seconds.
    pub fn sendmail_first(&self, first: &str) -> io::Result<()> {
        let sendmail = self.path.join("sendmail");
        fs::write(
            &sendmail,
            format!(
                "#!/bin/sh\nif mkdir '{once}' 2>/dev/null; then\n{first}\nfi\n\
                 {{ echo \"ARGS: $*\"; cat; echo ----; }} >> {mail}\n",
                once = self.path.join("sendmail.first").display(),
                mail = self.path.join("mail.txt").display()
            ),
        )?;
        fs::set_permissions(&sendmail, fs::Permissions::from_mode(0o755))
    }

    /// The daemons' mail spool (`--spool-dir`): the files in it, sorted.
    pub fn spooled(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.spool_dir())
            .map(|r| {
                r.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// What the fake `sendmail` received.
    pub fn mail(&self) -> String {
        fs::read_to_string(self.path.join("mail.txt")).unwrap_or_default()
    }

    fn common_args(&self, name: &str, profile: &Profile) -> Vec<String> {
        let p = |f: &str| self.path.join(f).display().to_string();
        let mut a = vec![
            "-d".to_owned(),
            "--interval".to_owned(),
            profile.interval_ms.to_string(),
            "--pid-file".to_owned(),
            p(&format!("{name}.pid")),
            "--state-dir".to_owned(),
            self.state_dir().display().to_string(),
            "--config".to_owned(),
            p("failover.conf"),
            "--sendmail".to_owned(),
            p("sendmail"),
            "--spool-dir".to_owned(),
            self.spool_dir().display().to_string(),
        ];
        if self.metrics {
            a.extend([
                "--metrics-file".to_owned(),
                self.metrics_file(name).display().to_string(),
            ]);
        }
        if name == "failoverd" {
            if let Some(d) = &profile.deadtime {
                a.extend(["--deadtime".to_owned(), d.clone()]);
            }
        }
        // Both: failoverd's stages, heartbeatd's Check scripts and hooks
        // (never the machine's own /etc/failover).
        a.extend(["--scripts-dir".to_owned(), p("scripts")]);
        a
    }
}

/// Starts `binary args...` in `ns` with its output read line by line (and
/// kept in `<run>/<name>.log`).
pub fn start(
    ns: &Netns,
    binary: &Path,
    name: &'static str,
    args: &[String],
    run: &RunDir,
) -> io::Result<Daemon> {
    // Close-on-exec, so no other child keeps the pipe open past this
    // daemon's exit (std's io::pipe does the same, but needs Rust 1.87).
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let (reader, writer) = (File::from(reader), File::from(writer));
    let writer2 = writer.try_clone()?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let program = binary
        .to_str()
        .ok_or_else(|| io::Error::other("non-UTF-8 path"))?;
    let pid = ns.spawn(program, &args, Stdio::from(writer), Stdio::from(writer2))?;
    let lines: Lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let mut file = File::create(run.path.join(format!("{name}.log")))?;
    let handle = std::thread::spawn(move || {
        // Ends at EOF, when the daemon exits or is killed.
        for line in BufReader::new(reader).lines().take(10_000_000) {
            let Ok(line) = line else { break };
            let _ = writeln!(file, "{line}");
            lock(&sink).push((Instant::now(), line));
        }
    });
    Ok(Daemon {
        name,
        pid,
        pid_file: run.path.join(format!("{name}.pid")),
        lines,
        reader: Some(handle),
    })
}

/// Starts `program` with the profile's arguments, then `extra`, serving
/// `services`: `heartbeatd` on the lab's primary, holding them itself
/// (a `--service` option each; none, and it only beats), beating on the
/// private network first; `failoverd` on the lab's secondary, watching the
/// primary and taking them over (`interface:pub_addr` triplets). Both
/// servers' public interfaces have the same name, so the same triplets
/// serve both.
pub fn start_daemon_serving(
    program: Program,
    t: &Topology,
    bins: &Binaries,
    run: &RunDir,
    profile: &Profile,
    extra: &[&str],
    services: &[String],
) -> io::Result<Daemon> {
    let name = program.name();
    let mut args = run.common_args(name, profile);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let (ns, binary) = match program {
        Program::Heartbeatd => {
            for s in services {
                args.extend(["--service".to_owned(), s.clone()]);
            }
            args.extend([PRIVATE_BROADCAST.to_string(), PUBLIC_BROADCAST.to_string()]);
            (&t.primary.ns, &bins.heartbeatd)
        }
        Program::Failoverd => {
            args.push(t.primary.private_ip.to_string());
            args.extend(services.iter().cloned());
            (&t.secondary.ns, &bins.failoverd)
        }
    };
    start(ns, binary, name, &args, run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_clock_jump_is_read_back() {
        let line = "heartbeatd[12]: warning: the clock jumped 1.2 s between two turns \
                    (suspend or a stall): …";
        assert_eq!(jump_of(line), Some(Duration::from_millis(1200)));
        let line = "warning: the clock jumped 850 ms between two turns (suspend or a stall)";
        assert_eq!(jump_of(line), Some(Duration::from_millis(850)));
        assert_eq!(jump_of("notice: reclaiming → holding the addresses"), None);
    }
}
