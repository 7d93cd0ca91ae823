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
}

impl Beater {
    /// The first round goes out at `start`.
    pub fn new(interval: Duration, links: u8, start: Instant) -> Self {
        Beater {
            // A zero interval would make a busy loop; a microsecond is the floor.
            interval: if interval == Duration::ZERO { Duration::from_micros(1) } else { interval },
            links: links.clamp(1, crate::node::MAX_LINKS as u8),
            next_round: start,
            beat: 0,
            pending: LinkMask::NONE,
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
        if self.pending.is_empty() && now >= self.next_round {
            self.beat = self.beat.wrapping_add(1);
            self.pending = LinkMask::first(self.links);
            self.next_round += self.interval;
            // After a stall (a frozen process, a suspended VM) do not burst
            // the missed rounds out: resume the rhythm from now.
            if self.next_round <= now {
                self.next_round = now + self.interval;
            }
        }
        let link = (0..self.links).map(LinkId).find(|l| self.pending.contains(*l))?;
        self.pending = LinkMask(self.pending.0 & !(1 << link.0));
        Some(link)
    }

    /// Adds the next heartbeat's time to `wake`.
    pub fn wake(&self, wake: &mut Wake, now: Instant) {
        if !self.pending.is_empty() || self.next_round <= now {
            wake.now();
        } else {
            wake.at(Some(self.next_round));
        }
    }
}
