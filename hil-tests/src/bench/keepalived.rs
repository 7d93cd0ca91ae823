//! The reference: keepalived's VRRP in the same lab, at the same heartbeat
//! rate, measured the same way, so the benchmark's figures stand next to
//! the tool most Linux sites use for this job.
//!
//! Each server runs keepalived (VRRP only, version 3, which allows an
//! `advert_int` in hundredths of a second) on its public interface, the
//! primary at a higher priority (so it preempts: keepalived's default, the
//! counterpart of our automatic failback), with the service address as
//! the virtual address. Then the primary loses power as in our runs (both
//! of its switch ports down), and the client's first answer from the
//! secondary is timed from the moment the second port went down; the
//! failback's overlap (both servers holding the address at once, read
//! from the kernel's address events as for our daemons) is measured too.
//! keepalived cannot advertise faster than every 10 ms (VRRPv3's unit is a
//! centisecond), so a profile beating faster has no reference.
//!
//! Only when a `keepalived` binary is installed (`apt-get install
//! keepalived`); the benchmark says so otherwise.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::Serialize;

use super::runs::{bench_lab, ms, primary_serving};
use super::stats::{stats, Stats};
use super::usage::{count_syscalls, proc_usage, Sample, SYSCALL_WINDOW};
use super::{Usage, PRE_CUT, SETTLE, STEP_LIMIT};
use crate::daemons::Profile;
use crate::holds::overlap_within;
use crate::interrupt;
use crate::lab::Owner;
use crate::measure::{first_answer_from, poll, POLL_STEP};
use crate::netns::Netns;
use crate::process::is_running;
use crate::topology::{Net, Server, PUBLIC_IF, SERVICE};
use failover_host::netlink::addr::Netlink;
use failover_host::netlink::follow::LinkEvent;
use failover_host::netlink::linkwatch::LinkWatch;

/// Where keepalived is installed by Debian's package.
pub const BINARY: &str = "/usr/sbin/keepalived";
/// The shortest `advert_int` keepalived takes: VRRPv3 counts centiseconds.
pub const MIN_INTERVAL_MS: u64 = 10;
/// The VRRP router id both servers share (any of 1 to 255).
const ROUTER_ID: u8 = 51;

/// keepalived's figures for one profile.
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    /// `keepalived --version`'s first line.
    pub version: String,
    /// The `advert_int` used, ms (the profile's interval).
    pub advert_int_ms: u64,
    /// Power-loss runs made.
    pub runs: usize,
    /// Runs in which the client was answered by the secondary.
    pub took_over: usize,
    /// The client's first answer from the secondary, ms after the
    /// primary's second port went down.
    pub recovery_ms: Option<Stats>,
    /// Both servers held the address at once, over every run's failback,
    /// ms (VRRP's preemption adds before the old master removes).
    pub failback_overlap_ms: f64,
    /// The backup's (the secondary's keepalived processes') resource use in
    /// a window without faults.
    pub backup: Usage,
    /// The master's.
    pub master: Usage,
}

/// The installed keepalived's version, or why it cannot be used.
pub fn installed() -> Result<String, String> {
    if !Path::new(BINARY).exists() {
        return Err(format!(
            "{BINARY} is not installed (apt-get install keepalived)"
        ));
    }
    let out = std::process::Command::new(BINARY)
        .arg("--version")
        .output()
        .map_err(|e| format!("{BINARY} --version: {e}"))?;
    // keepalived prints its version on stderr.
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("Keepalived"))
        .map(|l| l.trim().to_owned())
        .ok_or_else(|| format!("{BINARY} --version printed no version: {text:?}"))
}

/// The configuration of one server's keepalived.
pub fn config(name: &str, priority: u8, advert_int_ms: u64, real_time: bool) -> String {
    // keepalived's own way to real-time scheduling (SCHED_RR) for its VRRP
    // process, as a keepalived deployment would ask for it.
    let rt = if real_time {
        "    vrrp_rt_priority 20\n"
    } else {
        ""
    };
    format!(
        "global_defs {{\n    router_id {name}\n    vrrp_version 3\n{rt}}}\n\
         vrrp_instance service {{\n    state BACKUP\n    interface {PUBLIC_IF}\n    \
         virtual_router_id {ROUTER_ID}\n    priority {priority}\n    advert_int {}.{:02}\n    \
         virtual_ipaddress {{\n        {SERVICE}/32 dev {PUBLIC_IF}\n    }}\n}}\n",
        advert_int_ms / 1000,
        advert_int_ms % 1000 / 10
    )
}

/// One server's keepalived: its parent process, started in the server's
/// namespace, and the VRRP child it forks (found through its pid file).
struct Keepalived<'a> {
    ns: &'a Netns,
    parent: u32,
    vrrp_pid_file: PathBuf,
}

impl<'a> Keepalived<'a> {
    fn start(
        server: &'a Server,
        dir: &Path,
        priority: u8,
        interval_ms: u64,
        real_time: bool,
    ) -> io::Result<Self> {
        let name = server.name;
        let conf = dir.join(format!("keepalived-{name}.conf"));
        fs::write(&conf, config(name, priority, interval_ms, real_time))?;
        let pid_file = dir.join(format!("keepalived-{name}.pid"));
        let vrrp_pid_file = dir.join(format!("keepalived-{name}-vrrp.pid"));
        let log = fs::File::create(dir.join(format!("keepalived-{name}.log")))?;
        let args = [
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "--no-syslog",
            "--vrrp",
            "--use-file",
            path_str(&conf)?,
            "--pid",
            path_str(&pid_file)?,
            "--vrrp_pid",
            path_str(&vrrp_pid_file)?,
        ];
        let parent = server.ns.spawn(
            BINARY,
            &args,
            Stdio::from(log.try_clone()?),
            Stdio::from(log),
        )?;
        Ok(Keepalived {
            ns: &server.ns,
            parent,
            vrrp_pid_file,
        })
    }

    fn vrrp_pid(&self) -> Option<u32> {
        fs::read_to_string(&self.vrrp_pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The parent and the VRRP child, the processes that do the job.
    fn pids(&self) -> Vec<u32> {
        std::iter::once(self.parent)
            .chain(self.vrrp_pid())
            .collect()
    }

    /// The parent's and the VRRP child's CPU ticks, wake-ups and resident
    /// memory, added up.
    fn usage(&self) -> io::Result<Sample> {
        self.pids()
            .into_iter()
            .try_fold(Sample::default(), |sum, pid| Ok(sum + proc_usage(pid)?))
    }
}

impl Drop for Keepalived<'_> {
    /// SIGTERM to the parent (it stops its child and removes its
    /// addresses), then the child by its pid if it outlived it.
    fn drop(&mut self) {
        let child = self.vrrp_pid();
        let _ = self.ns.signal(self.parent, Signal::SIGTERM);
        let _ = poll(Duration::from_secs(3), POLL_STEP, || {
            !is_running(self.parent) && child.is_none_or(|c| !is_running(c))
        });
        if let Some(c) = child.filter(|c| is_running(*c)) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c as i32), Signal::SIGKILL);
        }
    }
}

/// The carrier watch's thread: entering the namespace, then the watch.
type Watch = std::thread::JoinHandle<io::Result<io::Result<Option<Instant>>>>;

/// Watches `server`'s public interface from inside its namespace, as
/// `heartbeatd`'s carrier watch does, and returns when it lost its
/// carrier (`None` if it did not within the step limit).
fn carrier_lost(server: &Server) -> io::Result<Watch> {
    let name = server.public_if;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = server
        .ns
        .spawn_thread(move || -> io::Result<Option<Instant>> {
            let mut nl = Netlink::open().map_err(io::Error::other)?;
            let mut watch = LinkWatch::open(&mut nl, &[name], &[]).map_err(io::Error::other)?;
            let _ = ready_tx.send(());
            let until = Instant::now() + STEP_LIMIT;
            while Instant::now() < until {
                for e in watch.poll(&mut nl)? {
                    if let LinkEvent::Carrier { carrier: false, .. } = e {
                        return Ok(Some(Instant::now()));
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Ok(None)
        })?;
    // Subscribed before the plug is pulled, or the event could be missed.
    let _ = ready_rx.recv_timeout(Duration::from_secs(2));
    Ok(handle)
}

fn path_str(p: &Path) -> io::Result<&str> {
    p.to_str()
        .ok_or_else(|| io::Error::other(format!("{}: not UTF-8", p.display())))
}

/// keepalived at `profile`'s interval on a fresh lab in `dir`: a steady
/// window of `steady`, then `runs` power losses of the primary, each
/// followed by its failback.
pub fn measure(
    profile: &Profile,
    version: String,
    runs: usize,
    steady: Duration,
    real_time: bool,
    dir: &Path,
) -> io::Result<Reference> {
    // The lab's daemons never start here: `real_time` is keepalived's.
    let lab = bench_lab(profile, dir, false)?;
    let master = Keepalived::start(&lab.t.primary, dir, 150, profile.interval_ms, real_time)?;
    let backup = Keepalived::start(&lab.t.secondary, dir, 100, profile.interval_ms, real_time)?;
    let (before, start) = ((master.usage()?, backup.usage()?), Instant::now());
    interrupt::sleep(steady)?;
    let (after, seconds) = (
        (master.usage()?, backup.usage()?),
        start.elapsed().as_secs_f64(),
    );
    // After the CPU window: strace slows what it counts.
    let calls = (
        count_syscalls(&master.pids(), SYSCALL_WINDOW, dir)?,
        count_syscalls(&backup.pids(), SYSCALL_WINDOW, dir)?,
    );
    let mut recovery = Vec::new();
    let mut overlap = Duration::ZERO;
    for _ in 0..runs {
        let (prober, serving) = primary_serving(&lab)?;
        if !serving {
            break;
        }
        interrupt::sleep(PRE_CUT)?;
        let t = &lab.t;
        let watch = carrier_lost(&t.primary)?;
        t.unplug(&t.primary, Net::Private)?;
        t.unplug(&t.primary, Net::Public)?;
        let returned = Instant::now();
        // Zero, as for our daemons: the moment the primary's public
        // interface lost its carrier (else the unplug's return, a few ms
        // late, which would favour keepalived).
        let cut = watch
            .join()
            .map_err(|_| io::Error::other("the carrier watch panicked"))???
            .unwrap_or(returned);
        poll(STEP_LIMIT, POLL_STEP, || {
            first_answer_from(&prober.probes(), "secondary", cut).is_some()
        })?;
        if let Some(back) = first_answer_from(&prober.probes(), "secondary", cut) {
            recovery.push(ms(back.saturating_duration_since(cut)));
        }
        interrupt::sleep(SETTLE)?;
        t.plug(&t.primary, Net::Private)?;
        t.plug(&t.primary, Net::Public)?;
        let plugged = Instant::now();
        poll(STEP_LIMIT, POLL_STEP, || {
            lab.owners.are(Owner::Primary)
                && first_answer_from(&prober.probes(), "primary", plugged).is_some()
        })?;
        interrupt::sleep(SETTLE)?;
        prober.stop();
        let (p_held, s_held) = lab.owners.held();
        overlap += overlap_within(&p_held, &s_held, plugged, Instant::now());
    }
    Ok(Reference {
        version,
        advert_int_ms: profile.interval_ms,
        runs,
        took_over: recovery.len(),
        recovery_ms: stats(&recovery),
        failback_overlap_ms: ms(overlap),
        master: Usage::between(before.0, after.0, seconds, profile.interval_ms, calls.0),
        backup: Usage::between(before.1, after.1, seconds, profile.interval_ms, calls.1),
    })
}

/// One line for the progress output.
pub fn describe(r: &Reference) -> String {
    let back = r.recovery_ms.map_or_else(
        || "never".to_owned(),
        |s| {
            format!(
                "{:.1} ms median, {:.1} p95, {:.1} max",
                s.median, s.p95, s.max
            )
        },
    );
    format!(
        "keepalived ({}, advert_int {} ms): client back {back} ({}/{} runs); both held the \
         address for {:.1} ms over the failbacks\n    backup: {}\n    master: {}",
        r.version, r.advert_int_ms, r.took_over, r.runs, r.failback_overlap_ms, r.backup, r.master
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_names_the_interval_in_hundredths_and_the_service() {
        let c = config("primary", 150, 10, false);
        assert!(!c.contains("vrrp_rt_priority"));
        assert!(config("primary", 150, 10, true).contains("    vrrp_rt_priority 20\n"));
        assert!(c.contains("advert_int 0.01\n"), "{c}");
        assert!(c.contains("vrrp_version 3"), "{c}");
        assert!(c.contains("priority 150"), "{c}");
        assert!(c.contains(&format!("{SERVICE}/32 dev {PUBLIC_IF}")), "{c}");
        assert!(config("s", 100, 1000, false).contains("advert_int 1.00\n"));
        assert!(config("s", 100, 250, false).contains("advert_int 0.25\n"));
    }
}
