//! A daemon's CPU time, wake-ups, system calls and memory, read from
//! `/proc/<pid>/stat` and `/proc/<pid>/status` (and counted by `strace -c`
//! when it is installed).

use std::fs;
use std::io;
use std::ops::Add;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::report::Usage;
use crate::interrupt;

/// What `/proc` says about a process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Sample {
    /// CPU clock ticks in user and in system mode.
    pub utime: u64,
    pub stime: u64,
    /// Time on a CPU, ns, over all threads (`/proc/<pid>/task/*/schedstat`):
    /// exact, where the ticks count in hundredths of a second, which at a
    /// tenth of a percent over 10 s is one tick.
    pub cpu_ns: u64,
    /// VmRSS, VmHWM, RssAnon and RssFile, kB.
    pub rss_kb: u64,
    pub hwm_kb: u64,
    pub anon_kb: u64,
    pub file_kb: u64,
    /// Pss (`/proc/<pid>/smaps_rollup`), kB: the resident pages with each
    /// shared one divided by the processes that map it, so the C library
    /// every process maps counts for a sliver. What the process really
    /// costs the machine.
    pub pss_kb: u64,
    /// Voluntary context switches: each is a sleep that ended, a wake-up,
    /// the cost a timer or a frame adds (preemptions, which other load
    /// causes, are not counted).
    pub switches: u64,
}

/// Two processes that do one job (keepalived's parent and its VRRP
/// child) count together.
impl Add for Sample {
    type Output = Sample;

    fn add(self, o: Sample) -> Sample {
        Sample {
            utime: self.utime + o.utime,
            stime: self.stime + o.stime,
            cpu_ns: self.cpu_ns + o.cpu_ns,
            rss_kb: self.rss_kb + o.rss_kb,
            hwm_kb: self.hwm_kb + o.hwm_kb,
            anon_kb: self.anon_kb + o.anon_kb,
            file_kb: self.file_kb + o.file_kb,
            pss_kb: self.pss_kb + o.pss_kb,
            switches: self.switches + o.switches,
        }
    }
}

/// Reads a process's [`Sample`].
pub(super) fn proc_usage(pid: u32) -> io::Result<Sample> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let (utime, stime) = parse_stat_times(&stat)
        .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat: cannot parse {stat:?}")))?;
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| status_field(&status, key);
    // Unreadable (an old kernel): 0, as the other fields when absent.
    let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    Ok(Sample {
        pss_kb: status_field(&rollup, "Pss:"),
        utime,
        stime,
        rss_kb: kb("VmRSS:"),
        hwm_kb: kb("VmHWM:"),
        anon_kb: kb("RssAnon:"),
        file_kb: kb("RssFile:"),
        cpu_ns: task_cpu_ns(pid),
        switches: kb("voluntary_ctxt_switches:"),
    })
}

/// The on-CPU time of all of a process's threads, ns (0 if the kernel has
/// no schedstat).
fn task_cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The first number after `key` at the start of a line of a
/// `/proc/<pid>/status` (or `smaps_rollup`) text, 0 if absent.
fn status_field(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
}

impl Usage {
    /// What a process used between two samples `seconds` apart, at
    /// heartbeats every `interval_ms`; `syscalls` is a separate count over
    /// `syscall_seconds` (see [`count_syscalls`]).
    pub(super) fn between(
        before: Sample,
        after: Sample,
        seconds: f64,
        interval_ms: u64,
        syscalls: Option<(u64, f64)>,
    ) -> Usage {
        let hz = clock_ticks_per_second();
        let user = after.utime.saturating_sub(before.utime) as f64 / hz * 1e3;
        let cpu = if after.cpu_ns > 0 {
            after.cpu_ns.saturating_sub(before.cpu_ns) as f64 / 1e6
        } else {
            (after.utime + after.stime).saturating_sub(before.utime + before.stime) as f64 / hz
                * 1e3
        };
        let intervals = (seconds * 1e3 / interval_ms.max(1) as f64).max(1.0);
        Usage {
            rss_kb: after.rss_kb,
            rss_peak_kb: after.hwm_kb,
            rss_anon_kb: after.anon_kb,
            rss_file_kb: after.file_kb,
            pss_kb: after.pss_kb,
            cpu_ms: cpu,
            user_ms: user,
            cpu_percent: cpu / (seconds * 1e3) * 100.0,
            wakeups_per_interval: after.switches.saturating_sub(before.switches) as f64 / intervals,
            syscalls_per_interval: syscalls.map(|(calls, secs)| {
                calls as f64 / (secs * 1e3 / interval_ms.max(1) as f64).max(1.0)
            }),
        }
    }
}

impl std::fmt::Display for Usage {
    /// One line for the progress output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} kB RSS ({} anon + {} file; Pss {} kB), {:.2} % CPU, {:.1} wake-ups",
            self.rss_kb,
            self.rss_anon_kb,
            self.rss_file_kb,
            self.pss_kb,
            self.cpu_percent,
            self.wakeups_per_interval
        )?;
        if let Some(calls) = self.syscalls_per_interval {
            write!(f, " and {calls:.1} system calls")?;
        }
        f.write_str(" per interval")
    }
}

/// How long [`count_syscalls`] watches.
pub(super) const SYSCALL_WINDOW: Duration = Duration::from_secs(2);

/// Counts the system calls of `pids` (all their threads) over `window`
/// with `strace -c`, and returns the count and the seconds it covered;
/// `None` when strace is not installed. Run it outside a CPU window:
/// ptrace slows every call it counts.
pub(super) fn count_syscalls(
    pids: &[u32],
    window: Duration,
    dir: &Path,
) -> io::Result<Option<(u64, f64)>> {
    if !Path::new("/usr/bin/strace").exists() || pids.is_empty() {
        return Ok(None);
    }
    fs::create_dir_all(dir)?;
    let out = dir.join(format!("strace-{}.txt", pids[0]));
    let mut cmd = Command::new("/usr/bin/strace");
    cmd.args(["-c", "-f", "-qq", "-o"]).arg(&out);
    for pid in pids {
        cmd.arg("-p").arg(pid.to_string());
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let started = std::time::Instant::now();
    let slept = interrupt::sleep(window);
    // strace detaches and writes its table on SIGHUP as on SIGINT; SIGINT
    // would stay pending, as strace inherits the lab's signal mask, which
    // blocks SIGINT and SIGTERM (`interrupt::install`).
    let pid = Pid::from_raw(i32::try_from(child.id()).map_err(io::Error::other)?);
    let _ = kill(pid, Signal::SIGHUP);
    // Bounded: a strace that keeps ignoring SIGHUP (the bench run under
    // nohup) is killed, and there is no count.
    let ended = interrupt::wait_for(Duration::from_secs(5), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if ended.is_err() {
        let _ = child.kill();
        let _ = child.wait();
        slept?;
        return Ok(None);
    }
    slept?;
    let seconds = started.elapsed().as_secs_f64();
    let text = fs::read_to_string(&out)?;
    Ok(parse_strace_total(&text).map(|calls| (calls, seconds)))
}

/// The calls of `strace -c`'s table, added up over its syscall rows
/// (`% time, seconds, usecs/call, calls, [errors], syscall`: the errors
/// column may be blank, so the calls are the fourth field; the total line,
/// whose usecs/call may be blank, is not read).
pub fn parse_strace_total(text: &str) -> Option<u64> {
    let mut rows = text
        .lines()
        .skip_while(|l| !l.starts_with("------"))
        .skip(1)
        .take_while(|l| !l.starts_with("------"))
        .peekable();
    rows.peek()?;
    rows.map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
        .sum()
}

/// utime and stime (fields 14 and 15, clock ticks) of a `/proc/<pid>/stat`
/// line; the command name (field 2) may hold spaces and parentheses, so
/// the fields are counted after its last `)`.
pub fn parse_stat_times(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime = fields.next()?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// The CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let s = proc_usage(pid)?;
    Ok((s.utime + s.stime) as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strace_table_gives_the_calls_with_or_without_errors() {
        let with_errors = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 60.00    0.000600           3       200           ppoll
 40.00    0.000400           2       150        75 recvfrom
------ ----------- ----------- --------- --------- ----------------
100.00    0.001000           2       350        75 total
";
        assert_eq!(parse_strace_total(with_errors), Some(350));
        assert_eq!(parse_strace_total("strace: attach: ptrace: EPERM\n"), None);
        let garbled = with_errors.replace("  200 ", "  two ");
        assert_eq!(parse_strace_total(&garbled), None);
    }

    #[test]
    fn counting_system_calls_ends_with_its_window_even_with_sigint_blocked() {
        if !Path::new("/usr/bin/strace").exists() || !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs strace and root");
            return;
        }
        // As in the lab (`interrupt::install`): SIGINT and SIGTERM blocked.
        let mut mask = nix::sys::signal::SigSet::empty();
        mask.add(Signal::SIGINT);
        mask.add(Signal::SIGTERM);
        mask.thread_block().unwrap();
        let mut target = Command::new("sh")
            .args(["-c", "while :; do sleep 0.01; done"])
            .spawn()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("usage-test-{}", std::process::id()));
        let started = std::time::Instant::now();
        let counted = count_syscalls(&[target.id()], Duration::from_millis(500), &dir);
        let took = started.elapsed();
        let _ = target.kill();
        let _ = target.wait();
        let _ = fs::remove_dir_all(&dir);
        let (calls, seconds) = counted.unwrap().expect("strace's table");
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert!(calls > 0 && seconds >= 0.5, "{calls} calls in {seconds} s");
    }

    #[test]
    fn a_process_reads_its_own_memory_and_pss_is_at_most_its_rss() {
        let s = proc_usage(std::process::id()).unwrap();
        assert!(s.rss_kb > 0 && s.anon_kb > 0 && s.file_kb > 0, "{s:?}");
        // Shared pages count for a share only: Pss never exceeds RSS.
        assert!(s.pss_kb > 0 && s.pss_kb <= s.rss_kb, "{s:?}");
    }

    #[test]
    fn usage_per_interval_counts_wakeups_over_the_window() {
        let before = Sample {
            switches: 100,
            ..Sample::default()
        };
        let after = Sample {
            switches: 400,
            rss_kb: 3000,
            anon_kb: 300,
            file_kb: 2700,
            pss_kb: 1800,
            ..Sample::default()
        };
        // 3 s at 10 ms beats: 300 intervals, 300 wake-ups.
        let u = Usage::between(before, after, 3.0, 10, Some((2200, 2.0)));
        assert!((u.wakeups_per_interval - 1.0).abs() < 1e-9, "{u:?}");
        assert_eq!(u.syscalls_per_interval, Some(11.0));
        assert_eq!((u.rss_anon_kb, u.rss_file_kb, u.pss_kb), (300, 2700, 1800));
    }
}
