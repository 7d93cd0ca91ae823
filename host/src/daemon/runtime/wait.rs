//! The loop's wait: one `ppoll()` over every descriptor, until one is
//! ready or the next deadline. The links are left out of it while the
//! peers' frames can wait for the machine's next round
//! ([`Runtime::watches_links`]): they are read when the wait ends.

use std::os::fd::AsFd;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use failover_core::Instant;

use nix::poll::{PollFd, PollFlags};
use nix::sys::time::TimeSpec;

use super::{HealthSchedule, Hooks, Node, Runtime};
use crate::daemon::metrics::MetricsFile;
use crate::net::probe::Prober;
use crate::scripts::StageRunner;

/// The longest the loop sleeps without a deadline (a safety net: a machine
/// always has a timer while running).
const MAX_SLEEP: StdDuration = StdDuration::from_secs(60);
/// Descriptors polled at most (channels, the signal fd, script pipes).
const MAX_POLL_FDS: usize = 24;

/// What a wait found ready, for the next take-in. Probe replies and script
/// output are read on every turn anyway: their descriptors only wake the
/// loop.
#[derive(Debug, Default)]
pub(super) struct Ready {
    /// A signal is waiting.
    pub(super) signals: bool,
    /// A carrier change is waiting.
    pub(super) links: bool,
    /// Frames are waiting on channel *i*.
    pub(super) channels: heapless::Vec<bool, MAX_POLL_FDS>,
}

impl<N: Node> Runtime<N> {
    /// How long the loop may sleep at most: until the earliest deadline of
    /// the machine and the announcer (on the machine's clock, read at `t`)
    /// and of the children, the mail, the probes, the metrics file and
    /// systemd's watchdog (on the monotonic clock, read at `now`: they only
    /// bound waits, see the module documentation of the runtime); zero if
    /// results wait to be reported to the machine. `None` without any
    /// deadline.
    fn sleep_for(&self, t: Instant, now: StdInstant) -> Option<StdDuration> {
        if !self.reported.is_empty() {
            return Some(StdDuration::ZERO);
        }
        let core = [self.node.poll_at(), self.announcer.next_due()]
            .into_iter()
            .flatten()
            .map(|at| StdDuration::from_micros(at.saturating_since(t).total_micros()));
        // The watchdog's next ping is one of them: a loop beating every
        // hour (the longest --interval) still wakes in time to ping.
        let monotonic = [
            self.runner.as_ref().and_then(StageRunner::next_deadline),
            self.hooks.as_ref().and_then(Hooks::next_deadline),
            self.health.as_ref().and_then(HealthSchedule::next_due),
            self.notifier.next_deadline(),
            self.io.probe.as_ref().and_then(|p| p.next_deadline(now)),
            self.metrics.as_ref().map(MetricsFile::next_due),
            self.systemd.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .map(|at| at.saturating_duration_since(now));
        core.chain(monotonic).min()
    }

    /// Whether the next wait wakes for the peers' frames. It does not while
    /// the machine lets them wait for its next round
    /// ([`Node::frames_can_wait`]) and the last read found no flood; they
    /// are read when the wait ends, whatever ended it.
    pub fn watches_links(&self) -> bool {
        self.flooded || !self.node.frames_can_wait()
    }

    /// Waits in `ppoll()` until a descriptor is ready or the next deadline,
    /// and notes what is ready.
    pub(super) fn wait(&mut self) {
        let timeout = self
            .sleep_for(self.now(), StdInstant::now())
            .map_or(MAX_SLEEP, |d| d.min(MAX_SLEEP));
        // ppoll() counts its timeout on CLOCK_MONOTONIC, which stops during
        // a suspend; the alarm counts it, and wakes the loop at the resume.
        let alarm = self
            .alarm
            .as_ref()
            .ok()
            .filter(|a| a.arm(timeout).unwrap_or(false));
        let channels = self.io.ports.channel_count();
        let probes = self.io.probe.as_ref().map_or(0, Prober::len);
        let mut script_fds = self
            .runner
            .as_ref()
            .map(StageRunner::fds)
            .unwrap_or_default();
        script_fds.extend(self.hooks.as_ref().map(Hooks::fds).unwrap_or_default());
        let mut fds: heapless::Vec<PollFd<'_>, MAX_POLL_FDS> = heapless::Vec::new();
        let _ = fds.push(PollFd::new(self.io.signals.as_fd(), PollFlags::POLLIN));
        let _ = fds.push(PollFd::new(self.io.carrier.as_fd(), PollFlags::POLLIN));
        // It only wakes the loop: the next arm() forgets that it rang.
        if let Some(a) = alarm {
            let _ = fds.push(PollFd::new(a.as_fd(), PollFlags::POLLIN));
        }
        let first_channel = fds.len();
        let frames_wait = !self.watches_links();
        // The channels polled, by position (a channel whose interface is
        // gone is closed and has no descriptor), and those read at the end
        // of the wait without being polled.
        let mut polled: heapless::Vec<usize, MAX_POLL_FDS> = heapless::Vec::new();
        let mut unpolled: heapless::Vec<usize, MAX_POLL_FDS> = heapless::Vec::new();
        for i in 0..channels {
            if frames_wait && self.io.ports.hears_peers(i) {
                let _ = unpolled.push(i);
            } else if let Some(fd) = self.io.ports.fd(i) {
                if fds.push(PollFd::new(fd, PollFlags::POLLIN)).is_ok() {
                    let _ = polled.push(i);
                }
            }
        }
        for i in 0..probes {
            if let Some(fd) = self.io.probe.as_ref().and_then(|p| p.fd(i)) {
                let _ = fds.push(PollFd::new(fd, PollFlags::POLLIN));
            }
        }
        for fd in script_fds {
            // More script pipes than fit are still read on the runner's
            // own tick.
            let _ = fds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        let mut ready = Ready::default();
        match nix::poll::ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None) {
            Ok(_) => {
                let is_ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
                ready.signals = fds.first().is_some_and(is_ready);
                ready.links = fds.get(1).is_some_and(is_ready);
                for _ in 0..channels {
                    let _ = ready.channels.push(false);
                }
                for (f, i) in fds.iter().skip(first_channel).zip(polled.iter()) {
                    if let Some(r) = ready.channels.get_mut(*i) {
                        *r = is_ready(f);
                    }
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                self.log.error(format_args!("poll failed: {e}"));
                std::thread::sleep(StdDuration::from_millis(10));
            }
        }
        drop(fds);
        // Whatever woke the loop, the frames that waited are read now,
        // before the machine's round.
        ready.channels.resize(channels, false).ok();
        for i in unpolled {
            if let Some(r) = ready.channels.get_mut(i) {
                *r = true;
            }
        }
        self.ready = ready;
    }
}
