//! Ctrl-C (and SIGTERM) during a lab run: the lab blocks both signals in
//! every thread and waits for them on one thread of its own, which only
//! raises a flag. Every wait of the lab checks the flag, so an interrupted
//! run unwinds normally and its namespaces, daemons and observers are
//! removed by their destructors instead of being left behind.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Blocks SIGINT and SIGTERM and starts the thread that waits for them.
/// Call first thing in `main`, before any other thread exists (threads
/// inherit the mask). So do the processes the lab starts:
/// `std::process::Command` does not reset it. The daemons and keepalived
/// read their signals from a signalfd, for which they block them anyway;
/// the rest are stopped with SIGKILL; strace is stopped with SIGHUP
/// (`bench::usage`).
pub fn install() -> io::Result<()> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGINT);
    mask.add(Signal::SIGTERM);
    mask.thread_block().map_err(io::Error::from)?;
    std::thread::spawn(move || {
        if mask.wait().is_ok() {
            INTERRUPTED.store(true, Ordering::Relaxed);
            eprintln!("\ninterrupted: cleaning up (namespaces, daemons)...");
        }
    });
    Ok(())
}

/// Whether the run was interrupted.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

fn interrupted_error() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "interrupted")
}

/// Sleeps for `d`, in short steps, unless interrupted.
pub fn sleep(d: Duration) -> io::Result<()> {
    let end = Instant::now() + d;
    for _ in 0..1_000_000 {
        if interrupted() {
            return Err(interrupted_error());
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(10)));
    }
    Ok(())
}

/// Waits until `condition` holds (checked every millisecond), at most
/// `timeout`. Errors: `TimedOut`, or `Interrupted`.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> io::Result<()> {
    let end = Instant::now() + timeout;
    for _ in 0..10_000_000 {
        if condition() {
            return Ok(());
        }
        if interrupted() {
            return Err(interrupted_error());
        }
        if Instant::now() >= end {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("not within {timeout:?}"),
    ))
}
