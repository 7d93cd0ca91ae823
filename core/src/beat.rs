//! The heartbeat schedule every node keeps: one round per interval, one
//! frame per link per round.

use crate::action::LinkMask;
use crate::machine::Wake;
use crate::node::LinkId;
use crate::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub(crate) struct Beater {
    interval: Duration,
    links: u8,
    next_round: Instant,
    beat: u32,
    /// Links still owed a frame in the current round.
    pending: LinkMask,
    /// When the current round started: never two rounds at one instant,
    /// even where time saturates and the next round cannot move ahead.
    round_started: Option<Instant>,
}

impl Beater {
    /// The first round goes out at `start`.
    pub fn new(interval: Duration, links: u8, start: Instant) -> Self {
        Beater {
            // A zero interval would make a busy loop; a microsecond is the floor.
            interval: if interval == Duration::ZERO {
                Duration::from_micros(1)
            } else {
                interval
            },
            links: links.clamp(1, crate::node::MAX_LINKS as u8),
            next_round: start,
            beat: 0,
            pending: LinkMask::NONE,
            round_started: None,
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The current round number (the `beat` field of heartbeats).
    pub fn beat(&self) -> u32 {
        self.beat
    }

    /// Starts a round now, as Apple's heartbeatd does on SIGHUP ("tickle").
    pub fn tickle(&mut self, now: Instant) {
        if self.next_round > now {
            self.next_round = now;
        }
    }

    /// The next link owed a heartbeat at `now`, starting a round if one is due.
    pub fn poll(&mut self, now: Instant) -> Option<LinkId> {
        if self.round_due(now) {
            self.round_started = Some(now);
            self.beat = self.beat.wrapping_add(1);
            self.pending = LinkMask::first(self.links);
            self.next_round += self.interval;
            // After a stall (a frozen process, a suspended VM) do not burst
            // the missed rounds out: resume the rhythm from now.
            if self.next_round <= now {
                self.next_round = now + self.interval;
            }
        }
        let link = (0..self.links)
            .map(LinkId)
            .find(|l| self.pending.contains(*l))?;
        self.pending = LinkMask(self.pending.0 & !(1 << link.0));
        Some(link)
    }

    fn round_due(&self, now: Instant) -> bool {
        self.pending.is_empty() && now >= self.next_round && self.round_started != Some(now)
    }

    /// Adds the next heartbeat's time to `wake`.
    pub fn wake(&self, wake: &mut Wake, now: Instant) {
        if !self.pending.is_empty() || self.round_due(now) {
            wake.now();
        } else {
            wake.at(Some(self.next_round));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Wake;

    #[test]
    fn one_round_per_interval_and_none_twice_at_the_end_of_time() {
        let i = Duration::from_millis(10);
        let mut b = Beater::new(i, 2, Instant::ZERO);
        assert_eq!(b.poll(Instant::ZERO), Some(LinkId(0)));
        assert_eq!(b.poll(Instant::ZERO), Some(LinkId(1)));
        assert_eq!(b.poll(Instant::ZERO), None);
        assert_eq!(b.poll(Instant::from_millis(9)), None);
        assert_eq!(b.poll(Instant::from_millis(10)), Some(LinkId(0)));
        // Found by the fuzzer: at the largest instant the next round cannot
        // move ahead; it must still not start a new round on every call.
        let end = Instant::from_micros(u64::MAX);
        let sent = (0..100).filter(|_| b.poll(end).is_some()).count();
        assert!(sent <= 3, "{sent} frames at one instant");
        let mut wake = Wake::new(end);
        b.wake(&mut wake, end);
        assert_eq!(wake.get(), None, "asks to be woken at once, forever");
    }
}
