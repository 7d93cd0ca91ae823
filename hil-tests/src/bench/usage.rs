//! A daemon's CPU time and memory, read from `/proc/<pid>/stat` and
//! `/proc/<pid>/status`.

use std::fs;
use std::io;

/// CPU ticks (user, system), VmRSS and VmHWM (kB) of a process.
pub(super) fn proc_usage(pid: u32) -> io::Result<(u64, u64, u64, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let (utime, stime) = parse_stat_times(&stat)
        .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat: cannot parse {stat:?}")))?;
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((utime, stime, kb("VmRSS:"), kb("VmHWM:")))
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
    let (utime, stime, _, _) = proc_usage(pid)?;
    Ok((utime + stime) as f64 / clock_ticks_per_second())
}

pub(super) fn clock_ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}
