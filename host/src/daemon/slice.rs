//! Asks the scheduler for a short time slice, so that a daemon woken for a
//! heartbeat runs at once instead of after a busy task's slice.
//!
//! Linux's fair scheduler (EEVDF, since 6.6) lets a task that wakes up run
//! before the task on the CPU only when its virtual deadline is earlier,
//! and a task's deadline is one slice past its eligible time: at the
//! default slice (0.7 ms times 1 + log2 of the CPUs, 1.4 ms on two CPUs) a
//! daemon woken beside a busy process can wait most of that process's
//! slice, and now and then more than one. Since 6.12 a task may ask for a
//! slice of its own (`sched_setattr`'s `sched_runtime` for SCHED_OTHER,
//! 0.1 to 100 ms), and a shorter one wakes it ahead of tasks with longer
//! ones. It changes nothing of the share of CPU a task gets, only how soon
//! it runs, and needs no privilege.
//!
//! A daemon needs a few tens of microseconds per interval and must have
//! them within a fraction of it: at 2 ms beats a primary that waits two
//! intervals for the CPU lets go of its addresses ("the clock jumped"), and
//! a secondary whose primary waited that long takes over. On the
//! development VM, beside one busy process, a primary at 2 ms beats with
//! the default slice stalled that long 33 times in four 30 s windows, and
//! with [`SLICE`] 3 times in four more, at the same CPU cost; SCHED_FIFO
//! (docs/operations.md) is what still holds when every CPU is busy, at a
//! third more CPU per wake-up.
//!
//! The slice is asked with `SCHED_FLAG_RESET_ON_FORK`: scripts and sendmail
//! start with the machine's default slice (and a negative nice reset to 0),
//! since the hurry is the daemon's, not theirs. A daemon an administrator
//! put at SCHED_FIFO or SCHED_RR is left as it is, and a kernel older than
//! 6.12 accepts the call and ignores the slice, which the read-back shows.

use std::io;
use std::time::Duration;

use nix::libc;

use crate::notify::Level;

/// The slice asked for: the shortest the kernel allows. The daemon's turn
/// takes a fraction of it.
pub const SLICE: Duration = Duration::from_micros(100);

/// What came of asking for [`SLICE`].
#[derive(Debug)]
pub enum Outcome {
    /// The kernel keeps the slice.
    Set,
    /// The kernel took the call but reads back another slice: it predates
    /// custom slices (Linux 6.12).
    Ignored,
    /// The daemon runs under another policy (SCHED_FIFO, say, given by its
    /// unit file), where slices do not decide who runs first.
    OtherPolicy(u32),
    /// `sched_getattr` or `sched_setattr` failed (a seccomp filter, a
    /// kernel before 3.14).
    Failed(io::Error),
}

impl Outcome {
    /// The line the daemon logs at start-up, and its level: an
    /// administrator reading why a fast daemon stalled wants to see whether
    /// it had its slice, and a warning when it could not ask.
    pub fn describe(&self) -> (Level, String) {
        let us = SLICE.as_micros();
        match self {
            Outcome::Set => (
                Level::Info,
                format!(
                    "scheduler: a {us} µs time slice, so a heartbeat's wake-up runs ahead of \
                     busy processes (scripts and sendmail start with the default)"
                ),
            ),
            Outcome::Ignored => (
                Level::Info,
                format!(
                    "scheduler: this kernel keeps no time slice of a process's own (Linux 6.12 \
                     and later do), so the {us} µs asked for is ignored; below 10 ms beats on a \
                     busy machine, see docs/operations.md on SCHED_FIFO"
                ),
            ),
            Outcome::OtherPolicy(policy) => (
                Level::Info,
                format!(
                    "scheduler: runs under policy {} (not SCHED_OTHER), time slice left alone",
                    policy_name(*policy)
                ),
            ),
            Outcome::Failed(e) => (
                Level::Warning,
                format!(
                    "scheduler: cannot ask for a {us} µs time slice ({e}); a busy machine may \
                     delay this daemon's heartbeats by another process's slice"
                ),
            ),
        }
    }
}

/// Asks the kernel to run the calling thread (the daemon's loop: the
/// daemons have no other thread) with [`SLICE`], keeping its nice value.
pub fn request() -> Outcome {
    let mut attr = match get() {
        Ok(attr) => attr,
        Err(e) => return Outcome::Failed(e),
    };
    if attr.sched_policy != libc::SCHED_OTHER as u32 {
        return Outcome::OtherPolicy(attr.sched_policy);
    }
    attr.size = ATTR_SIZE;
    attr.sched_flags = libc::SCHED_FLAG_RESET_ON_FORK as u64;
    attr.sched_runtime = slice_ns();
    attr.sched_deadline = 0;
    attr.sched_period = 0;
    if let Err(e) = set(&attr) {
        return Outcome::Failed(e);
    }
    match get() {
        Ok(back) if back.sched_runtime == slice_ns() => Outcome::Set,
        Ok(_) => Outcome::Ignored,
        Err(e) => Outcome::Failed(e),
    }
}

/// The running thread's slice as the kernel reports it, in nanoseconds (the
/// lab reads a daemon's from `/proc/<pid>/sched`).
#[cfg(test)]
fn current_ns() -> io::Result<u64> {
    get().map(|attr| attr.sched_runtime)
}

fn slice_ns() -> u64 {
    u64::try_from(SLICE.as_nanos()).unwrap_or(u64::MAX)
}

fn policy_name(policy: u32) -> String {
    match i32::try_from(policy) {
        Ok(libc::SCHED_FIFO) => "SCHED_FIFO".into(),
        Ok(libc::SCHED_RR) => "SCHED_RR".into(),
        Ok(libc::SCHED_BATCH) => "SCHED_BATCH".into(),
        Ok(libc::SCHED_IDLE) => "SCHED_IDLE".into(),
        _ => format!("{policy}"),
    }
}

/// `struct sched_attr`'s first version (48 bytes), the one the kernel
/// takes since 3.14 and libc describes.
const ATTR_SIZE: u32 = std::mem::size_of::<libc::sched_attr>() as u32;

fn empty() -> libc::sched_attr {
    libc::sched_attr {
        size: ATTR_SIZE,
        sched_policy: 0,
        sched_flags: 0,
        sched_nice: 0,
        sched_priority: 0,
        sched_runtime: 0,
        sched_deadline: 0,
        sched_period: 0,
    }
}

// Neither nix nor libc wraps these two system calls (glibc 2.41 added
// them; Debian 12 has 2.36), so they are made through `libc::syscall`.

/// `sched_getattr(0, attr, sizeof attr, 0)`: the calling thread's.
#[allow(unsafe_code)]
fn get() -> io::Result<libc::sched_attr> {
    let mut attr = empty();
    // SAFETY: the kernel writes at most `ATTR_SIZE` bytes (the size passed)
    // into `attr`, a live, properly aligned `sched_attr` of exactly that
    // size, and keeps no pointer to it after returning.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0,
            std::ptr::from_mut(&mut attr),
            ATTR_SIZE,
            0,
        )
    };
    if r == 0 {
        Ok(attr)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `sched_setattr(0, attr, 0)`: for the calling thread.
#[allow(unsafe_code)]
fn set(attr: &libc::sched_attr) -> io::Result<()> {
    // SAFETY: the kernel reads `attr.size` bytes from `attr`, a live
    // `sched_attr` whose `size` is its own size, and keeps no pointer to it.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, std::ptr::from_ref(attr), 0) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On its own thread: the slice is the thread's, and the test harness
    /// reuses threads.
    #[test]
    fn the_slice_is_kept_where_the_kernel_has_custom_slices_and_children_start_without_it() {
        std::thread::spawn(|| {
            let before = current_ns().expect("sched_getattr works on any kernel since 3.14");
            match request() {
                Outcome::Set => {
                    assert_eq!(current_ns().unwrap(), slice_ns());
                    // A child starts with the default slice, not ours.
                    let out = std::process::Command::new("sh")
                        .args(["-c", "grep '^se.slice' /proc/self/sched"])
                        .output()
                        .unwrap();
                    let text = String::from_utf8_lossy(&out.stdout);
                    if let Some(ns) = text.split(':').nth(1) {
                        let ns: u64 = ns.trim().parse().unwrap();
                        assert_ne!(ns, slice_ns(), "the child inherited the slice: {text}");
                    }
                }
                Outcome::Ignored => {
                    assert_eq!(
                        current_ns().unwrap(),
                        before,
                        "an ignored slice changes nothing"
                    )
                }
                // The test runs under whatever the CI gives it.
                Outcome::OtherPolicy(_) => {}
                Outcome::Failed(e) => panic!("sched_setattr refused a SCHED_OTHER slice: {e}"),
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn each_outcome_has_its_words() {
        assert!(Outcome::Set.describe().1.contains("100 µs time slice"));
        assert!(Outcome::Ignored.describe().1.contains("Linux 6.12"));
        let (level, text) = Outcome::OtherPolicy(libc::SCHED_FIFO as u32).describe();
        assert!(
            level == Level::Info && text.contains("SCHED_FIFO"),
            "{text}"
        );
        let (level, text) = Outcome::Failed(io::Error::from_raw_os_error(libc::EPERM)).describe();
        assert!(
            level == Level::Warning && text.contains("cannot ask"),
            "{text}"
        );
    }
}
