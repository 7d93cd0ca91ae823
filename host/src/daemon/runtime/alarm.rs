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
//!
//! Only waits longer than [`SHORT_WAIT`] arm it: a shorter one ends at
//! most that long after a resume anyway, and at fast heartbeats nearly
//! every wait is short, so the alarm would cost two system calls a wake-up
//! (arming it, and reading off a stale expiry) for nothing. A disarmed or
//! re-armed timer holds no old expiry (the kernel clears it), so nothing
//! is ever read from it.

use std::cell::Cell;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration as StdDuration;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

/// A one-shot `CLOCK_BOOTTIME` timer the loop polls beside its
/// descriptors, so that the time a suspend lasted counts towards its wait.
#[derive(Debug)]
pub(super) struct Alarm {
    timer: TimerFd,
    /// Whether the timer is set: only then does a short wait disarm it.
    armed: Cell<bool>,
}

/// The longest wait that leaves the alarm alone: a suspend that begins
/// during it is noticed at most this long after the resume.
pub(super) const SHORT_WAIT: StdDuration = StdDuration::from_millis(50);

impl Alarm {
    /// A disarmed alarm.
    pub(super) fn open() -> nix::Result<Alarm> {
        let timer = TimerFd::new(
            ClockId::CLOCK_BOOTTIME,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        Ok(Alarm {
            timer,
            armed: Cell::new(false),
        })
    }

    /// For a wait of `after`: makes the descriptor readable `after` from
    /// now, counting a suspend, when that is longer than [`SHORT_WAIT`];
    /// else makes sure it stays quiet (a system call only if it was set).
    /// Either way an earlier expiry is forgotten. Returns whether the
    /// alarm is set, so whether the wait should poll it.
    pub(super) fn arm(&self, after: StdDuration) -> nix::Result<bool> {
        if after > SHORT_WAIT {
            self.timer.set(
                Expiration::OneShot(TimeSpec::from_duration(after)),
                TimerSetTimeFlags::empty(),
            )?;
            self.armed.set(true);
        } else if self.armed.get() {
            self.timer.unset()?;
            self.armed.set(false);
        }
        Ok(self.armed.get())
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
    fn it_rings_after_its_time_and_rearming_or_disarming_forgets_the_ring() {
        let alarm = Alarm::open().expect("timerfd on CLOCK_BOOTTIME");
        let long = SHORT_WAIT + StdDuration::from_millis(20);
        assert!(alarm.arm(long).expect("arm"), "a long wait arms it");
        assert!(!readable(&alarm, 0), "rang at once");
        assert!(readable(&alarm, 2000), "never rang");
        alarm.arm(StdDuration::from_secs(60)).expect("arm again");
        assert!(!readable(&alarm, 0), "an old ring still shows");
        assert!(
            !alarm.arm(SHORT_WAIT).expect("disarm"),
            "a short wait disarms it"
        );
        assert!(
            !readable(&alarm, 120),
            "a disarmed alarm rang (or kept its old ring)"
        );
        assert!(alarm.arm(long).expect("arm"));
        assert!(readable(&alarm, 2000), "never rang");
        assert!(!alarm.arm(StdDuration::ZERO).expect("disarm"));
        assert!(!readable(&alarm, 0), "disarming kept the ring");
        assert!(
            !alarm.arm(StdDuration::from_millis(1)).expect("left alone"),
            "already quiet: nothing to do"
        );
    }
}
