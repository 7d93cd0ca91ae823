//! Whether this node can serve clients where the service addresses live:
//! the reachability rule's input (`docs/protocol.md`, "Reachability").
//!
//! A server that holds the addresses on an interface without a carrier (or
//! that cannot reach its probe target there) answers nobody, however well
//! its heartbeats flow on the other links. Only the host can see that, so
//! it reports it (`set_reachable`), and both machines keep it here. Losing
//! reachability counts after one interval, so a carrier blip moves nothing;
//! regaining it counts only once it has held for a settling time, so a
//! half-healed cable that flaps does not drag the service back and forth.

use crate::time::{Duration, Instant};
use crate::wire::HeartbeatFlags;

/// The reachability of this node's service network, as the host reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// Since when the host has reported it unreachable, if it has.
    lost_at: Option<Instant>,
    /// When it was last reported reachable again after a loss: clients can
    /// be served again once this has lasted the settling time.
    regained_at: Option<Instant>,
}

impl Default for Reach {
    fn default() -> Self {
        Reach::new()
    }
}

impl Reach {
    /// Reachable, as a node whose host never reports otherwise is.
    #[must_use]
    pub const fn new() -> Self {
        Reach {
            lost_at: None,
            regained_at: None,
        }
    }

    /// The host's report. Returns whether this changed the state.
    pub fn set(&mut self, now: Instant, reachable: bool) -> bool {
        match (reachable, self.lost_at) {
            (false, None) => {
                self.lost_at = Some(now);
                true
            }
            (true, Some(_)) => {
                self.lost_at = None;
                self.regained_at = Some(now);
                true
            }
            _ => false,
        }
    }

    /// Whether the host reports the service network reachable right now.
    #[must_use]
    pub fn reported(&self) -> bool {
        self.lost_at.is_none()
    }

    /// Whether the service network has been out for at least `grace`: this
    /// node should stop serving if someone else can.
    #[must_use]
    pub fn lost_for(&self, now: Instant, grace: Duration) -> bool {
        self.lost_at
            .is_some_and(|t| now.saturating_since(t) >= grace)
    }

    /// Whether this node can serve: reachable, and for at least `settle`
    /// since it last came back.
    #[must_use]
    pub fn can_serve(&self, now: Instant, settle: Duration) -> bool {
        self.lost_at.is_none()
            && self
                .regained_at
                .is_none_or(|t| now.saturating_since(t) >= settle)
    }

    /// The next instant at which [`Reach::lost_for`] or
    /// [`Reach::can_serve`] changes on its own, for `poll_at`.
    #[must_use]
    pub fn next_change(&self, now: Instant, grace: Duration, settle: Duration) -> Option<Instant> {
        match (self.lost_at, self.regained_at) {
            (Some(t), _) => Some(t + grace).filter(|&at| at > now),
            (None, Some(t)) => Some(t + settle).filter(|&at| at > now),
            (None, None) => None,
        }
    }
}

/// How many consecutive frames of the primary must ask for a handover
/// before a peer believes it, without a key: one forged datagram must not
/// move the service (with a key the tag proves the first one).
pub const HANDOVER_FRAMES_UNKEYED: u8 = 3;

/// Whether the primary is asking, frame after frame, for the secondary to
/// serve (`HANDOVER` without `HOLDS`). Fed the primary's frames in order
/// (`Freshness`), by the secondary, which then takes over, and the witness,
/// which then grants although the primary is alive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandoverRequest {
    /// Consecutive fresh frames asking for it.
    run: u8,
    /// Consecutive fresh frames saying the primary stands by (`STANDBY`
    /// without `HOLDS`): it lets the secondary keep serving.
    standby_run: u8,
    /// The primary's epoch they came in: a request belongs to one life of
    /// the primary, and a restarted primary has asked for nothing yet.
    epoch: u32,
}

impl HandoverRequest {
    /// Any accepted frame of the primary, fresh or not, believed or not: a
    /// frame of another epoch (a restart) ends the request.
    pub fn heard(&mut self, epoch: u32) {
        if epoch != self.epoch {
            self.epoch = epoch;
            self.run = 0;
            self.standby_run = 0;
        }
    }

    /// A fresh frame of the primary, with its epoch and flags.
    pub fn on_frame(&mut self, epoch: u32, flags: HeartbeatFlags) {
        self.heard(epoch);
        let asks =
            flags.contains(HeartbeatFlags::HANDOVER) && !flags.contains(HeartbeatFlags::HOLDS);
        self.run = if asks { self.run.saturating_add(1) } else { 0 };
        let stands_by =
            flags.contains(HeartbeatFlags::STANDBY) && !flags.contains(HeartbeatFlags::HOLDS);
        self.standby_run = if stands_by {
            self.standby_run.saturating_add(1)
        } else {
            0
        };
    }

    /// Forget what was heard (the primary was lost, or this node stalled).
    pub fn reset(&mut self) {
        self.run = 0;
        self.standby_run = 0;
    }

    /// Whether the request stands: the latest frames ask for it, enough of
    /// them for a node with (`keyed`) or without a key.
    #[must_use]
    pub fn stands(&self, keyed: bool) -> bool {
        self.run >= if keyed { 1 } else { HANDOVER_FRAMES_UNKEYED }
    }

    /// Whether the primary stands by (after a handover, or with manual
    /// failback): the latest frames say so, as many as [`Self::stands`]
    /// needs.
    #[must_use]
    pub fn stands_by(&self, keyed: bool) -> bool {
        self.standby_run >= if keyed { 1 } else { HANDOVER_FRAMES_UNKEYED }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn a_loss_counts_after_the_grace_and_a_return_after_the_settling_time() {
        let grace = Duration::from_millis(10);
        let settle = Duration::from_millis(30);
        let mut r = Reach::new();
        assert!(r.can_serve(at(0), settle));
        assert!(r.set(at(100), false));
        assert!(!r.set(at(101), false), "a repeated report changes nothing");
        assert!(!r.can_serve(at(100), settle));
        assert!(!r.lost_for(at(109), grace));
        assert!(r.lost_for(at(110), grace));
        assert_eq!(r.next_change(at(105), grace, settle), Some(at(110)));
        assert!(r.set(at(200), true));
        assert!(!r.lost_for(at(200), grace));
        assert!(!r.can_serve(at(229), settle), "settling");
        assert_eq!(r.next_change(at(210), grace, settle), Some(at(230)));
        assert!(r.can_serve(at(230), settle));
        assert_eq!(r.next_change(at(230), grace, settle), None);
    }

    #[test]
    fn a_handover_request_stands_after_enough_frames_and_falls_with_one_that_holds() {
        let ask = HeartbeatFlags::HANDOVER.with(HeartbeatFlags::UNREACHABLE);
        let mut h = HandoverRequest::default();
        h.on_frame(7, ask);
        assert!(h.stands(true), "with a key, the tag proves the first frame");
        assert!(!h.stands(false), "without, one frame may be forged");
        h.on_frame(7, ask);
        h.on_frame(7, ask);
        assert!(h.stands(false));
        h.on_frame(7, ask.with(HeartbeatFlags::HOLDS));
        assert!(!h.stands(true), "a primary that holds hands nothing over");
        h.on_frame(7, ask);
        h.on_frame(7, HeartbeatFlags::RECLAIM);
        assert!(!h.stands(true));
        h.on_frame(7, ask);
        h.reset();
        assert!(!h.stands(true));
        h.on_frame(7, ask);
        h.heard(8);
        assert!(
            !h.stands(true),
            "a restarted primary has asked for nothing yet"
        );
    }
}
