//! The daemons' clock: the time the core machines are given, and that every
//! deadline of theirs is measured in.
//!
//! It is `CLOCK_BOOTTIME`, not `CLOCK_MONOTONIC` (what [`std::time::Instant`]
//! reads): both are steady, but `CLOCK_MONOTONIC` stops while the system is
//! suspended, and `CLOCK_BOOTTIME` goes on counting. A node that was
//! suspended for a minute must see a minute go by, or its machine's stall
//! rule (docs/protocol.md: a node that was not running for more than two
//! of its intervals drops what it holds and counts its peers' silence
//! afresh) never fires, and a resumed primary keeps addresses the
//! secondary took over meanwhile.
//!
//! Behind the [`Clock`] trait, so tests can hand the loop a clock they move
//! themselves (a suspend is then one step of it).

use std::cell::Cell;
use std::io;

use failover_core::Instant;
use nix::sys::time::TimeValLike;
use nix::time::{clock_gettime, ClockId};

/// Where the event loop reads the time from. The one source of the core's
/// time in a daemon, so a test can substitute a clock it moves itself.
pub trait Clock {
    /// Now, in the machine's time: microseconds since this clock's start
    /// (the machine's time zero). Never goes backwards.
    fn now(&self) -> Instant;
}

/// `CLOCK_BOOTTIME`, counted from when the daemon started: the clock the
/// daemons run on, because it counts the time the system was suspended.
#[derive(Debug)]
pub struct BootClock {
    /// `CLOCK_BOOTTIME` at the start, in microseconds.
    origin: i64,
    /// The last reading, returned again should the clock ever fail to read.
    last: Cell<Instant>,
}

impl BootClock {
    /// A clock whose time zero is now. Fails only if the kernel has no
    /// `CLOCK_BOOTTIME` (Linux has had it since 2.6.39).
    pub fn start() -> io::Result<BootClock> {
        let origin = boottime_micros()?;
        Ok(BootClock {
            origin,
            last: Cell::new(Instant::from_micros(0)),
        })
    }
}

impl Clock for BootClock {
    fn now(&self) -> Instant {
        // A clock that could be read once can always be read again; should
        // it fail all the same, time stands still for that turn rather than
        // jumping.
        let micros = boottime_micros()
            .ok()
            .and_then(|t| u64::try_from(t.saturating_sub(self.origin)).ok());
        let now = micros.map_or(self.last.get(), |m| {
            self.last.get().max(Instant::from_micros(m))
        });
        self.last.set(now);
        now
    }
}

/// `CLOCK_BOOTTIME` in microseconds.
fn boottime_micros() -> io::Result<i64> {
    let ts = clock_gettime(ClockId::CLOCK_BOOTTIME).map_err(io::Error::from)?;
    Ok(ts.num_microseconds())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boottime_starts_at_zero_and_keeps_pace_with_the_monotonic_clock() {
        // No suspend happens in a test: both clocks then advance alike.
        let clock = BootClock::start().expect("CLOCK_BOOTTIME");
        let std0 = std::time::Instant::now();
        let t0 = clock.now();
        assert!(t0.total_micros() < 1_000_000, "{t0:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
        let t1 = clock.now();
        let std_elapsed = u64::try_from(std0.elapsed().as_micros()).unwrap_or(u64::MAX);
        let elapsed = t1.saturating_since(t0).total_micros();
        assert!(elapsed >= 50_000, "{elapsed} µs");
        assert!(
            elapsed <= std_elapsed + 1_000,
            "{elapsed} µs vs {std_elapsed} µs"
        );
    }

    #[test]
    fn it_never_goes_back() {
        let clock = BootClock::start().expect("CLOCK_BOOTTIME");
        let mut last = clock.now();
        for _ in 0..1000 {
            let t = clock.now();
            assert!(t >= last);
            last = t;
        }
    }
}
