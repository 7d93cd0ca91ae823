//! The wait's alarm on `CLOCK_BOOTTIME`: a timer descriptor in the poll
//! set, armed for the same timeout as `ppoll()`'s.
//!
//! `ppoll()` counts its timeout on `CLOCK_MONOTONIC`, which stops while the
//! system is suspended: a loop that went to sleep for 800 ms before a
//! suspend would sleep out what was left of it after the resume, however
//! long the suspend lasted, and a resumed primary would keep its addresses
//! that much longer (unless a frame woke it first). This timer counts the
//! suspend, so it is already due at the resume and the loop wakes at once;
//! the machine then sees the jump and its stall rule acts.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration as StdDuration;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

/// A one-shot `CLOCK_BOOTTIME` timer the loop polls beside its
/// descriptors, so that the time a suspend lasted counts towards its wait.
#[derive(Debug)]
pub(super) struct Alarm {
    timer: TimerFd,
}

impl Alarm {
    /// A disarmed alarm.
    pub(super) fn open() -> nix::Result<Alarm> {
        let timer = TimerFd::new(
            ClockId::CLOCK_BOOTTIME,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        Ok(Alarm { timer })
    }

    /// Makes the descriptor readable `after` from now, counting a suspend;
    /// forgets an earlier expiry. A zero `after` disarms it (the wait does
    /// not sleep then anyway).
    pub(super) fn arm(&self, after: StdDuration) -> nix::Result<()> {
        self.clear();
        self.timer.set(
            Expiration::OneShot(TimeSpec::from_duration(after)),
            TimerSetTimeFlags::empty(),
        )
    }

    /// Reads an expiry off the descriptor, if there is one, so it stops
    /// being readable.
    pub(super) fn clear(&self) {
        // Non-blocking: EAGAIN when it has not expired, which is fine.
        let _ = self.timer.wait();
    }
}

impl AsFd for Alarm {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.timer.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

    fn readable(alarm: &Alarm, wait_ms: u16) -> bool {
        let mut fds = [PollFd::new(alarm.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(wait_ms)).unwrap_or(0) == 1
    }

    #[test]
    fn it_rings_after_its_time_and_rearming_forgets_the_ring() {
        let alarm = Alarm::open().expect("timerfd on CLOCK_BOOTTIME");
        alarm.arm(StdDuration::from_millis(20)).expect("arm");
        assert!(!readable(&alarm, 0), "rang at once");
        assert!(readable(&alarm, 2000), "never rang");
        alarm.arm(StdDuration::from_secs(60)).expect("arm again");
        assert!(!readable(&alarm, 0), "an old ring still shows");
        alarm.arm(StdDuration::ZERO).expect("disarm");
        assert!(!readable(&alarm, 30), "a disarmed alarm rang");
    }
}
