//! The failure detector: per peer, per link, arrival times and heartbeat
//! numbers; loss measured from the gaps; and the verdicts the state machines
//! act on (a link is silent, the peer is dead).
//!
//! Two ways to decide how long silence must last ([`DeadTime`]):
//!
//! * **Fixed**, Apple-compatible: a duration, the same for the whole peer and
//!   for each link.
//! * **Adaptive**: the detector chooses how many consecutive silent
//!   heartbeat intervals it needs so that, given the loss it measured on each
//!   link, an alive peer is wrongly declared dead with probability at most
//!   [`AdaptiveDeadTime::false_verdict_bound`] per interval. The reasoning,
//!   its assumptions and its numbers are in `docs/detector.md`.
//!
//! Cheap by construction: [`PeerDetector::on_heartbeat`] does O(links)
//! integer work on the common path, and the queries are a few comparisons
//! against cached dead times.

mod dead_time;
mod lateness;
mod loss;

#[cfg(test)]
mod tests;

use crate::action::LinkMask;
use crate::node::{LinkId, MAX_LINKS};
use crate::time::{Duration, Instant};

use dead_time::{
    intervals_for, intervals_in, intervals_near, span, INTERVALS_CEILING, INTERVALS_FLOOR,
};
use lateness::Lateness;
use loss::{from_q24, q24_to_ppm, LossEstimator, ONE};

/// How long silence must last before a verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeadTime {
    /// Apple-compatible: a fixed duration of silence (on all links for
    /// "dead"; on one link for that link's anomaly).
    Fixed(Duration),
    /// The detector picks how many consecutive silent intervals it needs
    /// from the measured loss.
    Adaptive(AdaptiveDeadTime),
}

/// Parameters of the adaptive dead time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveDeadTime {
    /// Upper bound on the probability, per heartbeat interval, of a false
    /// verdict ("dead" while alive). Default 1e-6. Not positive (or NaN):
    /// never satisfiable, so `max_intervals` is used.
    pub false_verdict_bound: f64,
    /// Never fewer silent intervals than this (default 2; values below 2
    /// are raised to 2: a single lost round must never be a verdict).
    pub min_intervals: u32,
    /// Never more (default 64): caps the verdict time on terrible links.
    /// Raised to `min_intervals` if below it; at most 65 535.
    pub max_intervals: u32,
}

impl Default for AdaptiveDeadTime {
    fn default() -> Self {
        AdaptiveDeadTime {
            false_verdict_bound: 1e-6,
            min_intervals: 2,
            max_intervals: 64,
        }
    }
}

impl AdaptiveDeadTime {
    /// The parameters as the detector applies them (see the field docs).
    fn sanitized(self) -> Self {
        let min = self.min_intervals.clamp(INTERVALS_FLOOR, INTERVALS_CEILING);
        AdaptiveDeadTime {
            false_verdict_bound: self.false_verdict_bound,
            min_intervals: min,
            max_intervals: self.max_intervals.clamp(min, INTERVALS_CEILING),
        }
    }
}

/// The interval assumed when the caller passes zero: Apple's heartbeat.
const FALLBACK_INTERVAL: Duration = Duration::from_secs(1);

/// How far from the expected interval (the receiver's own configuration) a
/// peer's advertised interval is believed: a factor of 4 either way. The
/// advertised value is clamped to that range, never trusted raw: without a
/// key a forged frame could otherwise claim `u32::MAX` µs and stretch the
/// dead time to hours, and with one a misconfigured peer would still set
/// the receiver's timing. Daemons and witness configured alike are far
/// inside it.
pub const INTERVAL_TRUST: u64 = 4;

/// Rounds a link may jump ahead beyond what the time since its last round
/// allows (at [`INTERVAL_TRUST`] times the believed rate): reordering and
/// clock slack. A larger jump is not believed (see `on_heartbeat`).
pub const BEAT_SLACK: u64 = 4;

/// What is known about the peer on one link.
#[derive(Debug, Clone)]
struct Link {
    /// When a heartbeat last arrived here.
    last_heard: Option<Instant>,
    /// The last heartbeat round seen here in the current epoch.
    last_beat: Option<u32>,
    /// A round too far ahead of `last_beat` to believe on one frame's word:
    /// the next frame, if it follows on from this one, confirms it (the
    /// stored round was the stale one, say a replayed frame taken first
    /// after a restart).
    pending_beat: Option<u32>,
    loss: LossEstimator,
    /// The pessimistic loss probability in force (Q24).
    p: u32,
    /// Silent intervals this link alone needs for an anomaly.
    k: u32,
    /// `k` as a duration (or the fixed dead time).
    dead_time: Duration,
    /// The first instant at which the link reads silent (baseline plus
    /// dead time); `None`: never (the sum is past the end of time).
    silent_from: Option<Instant>,
}

impl Link {
    const fn new() -> Self {
        Link {
            last_heard: None,
            last_beat: None,
            pending_beat: None,
            loss: LossEstimator::new(),
            p: ONE,
            k: 0,
            dead_time: Duration::ZERO,
            silent_from: Some(Instant::ZERO),
        }
    }

    /// Whether the link has been heard within its dead time at `now`.
    fn heard_at(&self, now: Instant) -> bool {
        self.silent_from.is_none_or(|t| now < t)
    }

    /// Silence on this link is counted from here.
    fn baseline(&self, start: Instant) -> Instant {
        match self.last_heard {
            Some(t) => t.max(start),
            None => start,
        }
    }

    /// Record a round after `lost` missing ones; whether the loss estimate
    /// in force changed. Fixed mode only counts.
    fn record(&mut self, lost: u32, adaptive: bool) -> bool {
        if !adaptive {
            self.loss.count(lost);
            return false;
        }
        let p = self.loss.record(lost);
        let changed = p != self.p;
        self.p = p;
        changed
    }
}

/// Tracks one peer on up to [`MAX_LINKS`] links.
///
/// Time never goes backwards inside the detector: a heartbeat stamped
/// earlier than what it has already seen (or than `start`) counts as
/// arriving at the latest instant seen.
#[derive(Debug, Clone)]
pub struct PeerDetector {
    mode: DeadTime,
    links: u8,
    expected_interval: Duration,
    interval: Duration,
    /// The interval the peer last advertised outside the range this
    /// detector believes (see [`INTERVAL_TRUST`]), until it is reported
    /// ([`PeerDetector::take_interval_refused`]); the flag says whether it
    /// has been.
    refused_interval: Option<(Duration, bool)>,
    start: Instant,
    epoch: Option<u32>,
    link: [Link; MAX_LINKS],
    /// The latest heartbeat on any link.
    last_any: Option<Instant>,
    /// Links counted in the peer's dead time (adaptive mode): those not
    /// already silent for their own dead time when the latest heartbeat
    /// arrived.
    counted: u8,
    /// Silent intervals the peer verdict needs.
    k: u32,
    dead_time: Duration,
    /// The first instant of the dead verdict (latest heartbeat plus dead
    /// time); `None`: never.
    dead_from: Option<Instant>,
    /// How late the peer's heartbeats come (adaptive mode), and the grace
    /// it gives the peer's verdict on top of its whole intervals (zero in
    /// Fixed mode).
    lateness: Lateness,
    grace: Duration,
}

impl PeerDetector {
    /// `links`: how many links are watched (1..=MAX_LINKS; clamp).
    /// `expected_interval`: the peer's interval until its first heartbeat
    /// says otherwise (zero means Apple's 1 s). `start`: the instant watching
    /// began — silence is counted from here until the first heartbeat, so a
    /// node that never hears its peer reaches a verdict one dead time after
    /// start.
    #[must_use]
    pub fn new(
        dead_time: DeadTime,
        links: u8,
        expected_interval: Duration,
        start: Instant,
    ) -> Self {
        let mode = match dead_time {
            DeadTime::Fixed(d) => DeadTime::Fixed(d),
            DeadTime::Adaptive(a) => DeadTime::Adaptive(a.sanitized()),
        };
        let expected_interval = if expected_interval == Duration::ZERO {
            FALLBACK_INTERVAL
        } else {
            expected_interval
        };
        let mut detector = PeerDetector {
            mode,
            links: links.clamp(1, MAX_LINKS as u8),
            expected_interval,
            interval: expected_interval,
            refused_interval: None,
            start,
            epoch: None,
            link: [Link::new(), Link::new(), Link::new(), Link::new()],
            last_any: None,
            counted: 0,
            k: 0,
            dead_time: Duration::ZERO,
            dead_from: Some(Instant::ZERO),
            lateness: Lateness::new(),
            grace: Duration::ZERO,
        };
        detector.reset(start);
        detector
    }

    /// The interval to use for an advertised one: zero stays zero (no
    /// word), anything else is clamped to [`INTERVAL_TRUST`] times the
    /// expected interval either way, and a value outside is remembered for
    /// [`PeerDetector::take_interval_refused`].
    fn believable(&mut self, advertised: Duration) -> Duration {
        if advertised == Duration::ZERO {
            return advertised;
        }
        let low = Duration::from_micros(self.expected_interval.total_micros() / INTERVAL_TRUST);
        let high = self.expected_interval.saturating_mul(INTERVAL_TRUST);
        let used = advertised.max(low).min(high);
        if used == advertised {
            self.refused_interval = None;
        } else if self.refused_interval.is_none_or(|(a, _)| a != advertised) {
            self.refused_interval = Some((advertised, false));
        }
        used
    }

    /// An advertised interval outside the believed range (the value the
    /// peer claimed), once per new value: the machine tells the
    /// administrator, since a peer configured that differently is either a
    /// mistake or a forgery.
    pub fn take_interval_refused(&mut self) -> Option<Duration> {
        match self.refused_interval {
            Some((advertised, false)) => {
                self.refused_interval = Some((advertised, true));
                Some(advertised)
            }
            _ => None,
        }
    }

    /// Forget everything and start counting silence from `now` (used when
    /// roles change or after a restart). Loss estimates start over from the
    /// conservative prior too, and the interval reverts to the expected one.
    pub fn reset(&mut self, now: Instant) {
        self.start = now;
        self.interval = self.expected_interval;
        self.epoch = None;
        self.last_any = None;
        for link in self.link.iter_mut() {
            *link = Link::new();
        }
        self.lateness = Lateness::new();
        self.refresh_all();
    }

    /// Forgets the peer's epoch and where each link's rounds stood, but not
    /// its liveness: the peer's believed epoch went back to an older one
    /// (without a key, a newer one that was never more than a short burst
    /// fell silent: `crate::epochs`), whose rounds must count again. Gap
    /// accounting starts afresh, as after the peer's restart.
    pub fn forget_epoch(&mut self) {
        self.epoch = None;
        for l in self.link.iter_mut() {
            l.last_beat = None;
        }
        self.lateness.rebase();
    }

    /// Counts silence afresh from `now`, as if watching began then, but
    /// keeps what was learned (the links' loss estimates, the peer's epoch
    /// and interval): for a node that may have been deaf for a while (its
    /// own link down), during which the peer's silence proves nothing but
    /// the network's statistics are still the best estimate. The rounds
    /// missed meanwhile are not the network's loss either: gap accounting
    /// starts afresh with the peer's next heartbeat on each link, as after
    /// the peer's restart. (Counting them once let a witness deaf for 2.5 s
    /// learn 25 lost rounds, stretch its adaptive dead time to seconds, and
    /// deny a legitimate takeover long past the deadline: simulator seed
    /// 50229129.) [`PeerDetector::heard_any`] reads `false` until the peer's
    /// next heartbeat.
    pub fn restart_count(&mut self, now: Instant) {
        self.start = now;
        self.last_any = None;
        for l in self.link.iter_mut() {
            l.last_beat = None;
        }
        self.lateness.rebase();
        self.refresh_all();
    }

    /// How many rounds link `index` can have moved on since it was last
    /// heard: the elapsed time at [`INTERVAL_TRUST`] times the believed
    /// rate, plus [`BEAT_SLACK`].
    fn plausible_ahead(&self, index: usize, now: Instant) -> u64 {
        let Some(heard) = self.link.get(index).and_then(|l| l.last_heard) else {
            return u64::MAX;
        };
        let elapsed = now.saturating_since(heard).total_micros();
        let interval = self.interval.total_micros().max(1);
        (elapsed.saturating_mul(INTERVAL_TRUST) / interval).saturating_add(BEAT_SLACK)
    }

    /// Whether `beat` follows on (by 1 to [`BEAT_SLACK`] rounds) from the
    /// round held as pending on link `index`: two such frames are the
    /// peer's, whatever the stored round says.
    fn follows_pending(&self, index: usize, beat: u32) -> bool {
        self.link
            .get(index)
            .and_then(|l| l.pending_beat)
            .is_some_and(|p| (1..=BEAT_SLACK).contains(&u64::from(beat.wrapping_sub(p))))
    }

    /// A valid (authenticated, non-replayed) heartbeat from the peer arrived
    /// on `link`. `epoch`/`beat` are from the frame (beat = heartbeat round,
    /// same on every link; a new epoch means the peer restarted: gap
    /// accounting restarts on every link and the restart is not counted as
    /// loss). Only a frame that moves the peer forward (a newer epoch, or a
    /// newer round on its link) refreshes liveness: an older epoch, a
    /// duplicate or an older round is ignored, so a genuine frame delivered
    /// late by an attacker cannot hold off a verdict. `interval` is the
    /// peer's advertised interval (zero is ignored). Links >= the watched
    /// count are ignored. A round further ahead than the time since the
    /// link was last heard allows is ignored too (`plausible_ahead`).
    pub fn on_heartbeat(
        &mut self,
        now: Instant,
        link: LinkId,
        epoch: u32,
        beat: u32,
        interval: Duration,
    ) {
        let Some(index) = link.index().filter(|&i| i < usize::from(self.links)) else {
            return;
        };
        let now = now.max(self.latest());

        // Only a frame that moves the peer forward proves it is alive now: a
        // newer epoch, or a newer round on this link. A frame of an older
        // epoch, a duplicate or an older round says nothing new, and such a
        // frame is exactly what an attacker can deliver late (a genuine one
        // it captured): letting it refresh liveness would let it hold off a
        // failover.
        let new_epoch = self.epoch.is_none_or(|current| epoch > current);
        if !new_epoch && self.epoch.is_some_and(|current| epoch < current) {
            return;
        }
        let previous = if new_epoch {
            None
        } else {
            self.link.get(index).and_then(|l| l.last_beat)
        };
        // `stored`: whether `beat` becomes the link's round. A round too far
        // ahead counts for liveness but is only held as pending (below).
        let (lost, stored) = match previous {
            None => (0, true),
            Some(previous) => {
                let ahead = beat.wrapping_sub(previous);
                // Zero: a duplicate.
                if ahead == 0 {
                    return;
                }
                // Half the number space or more: an older round. Reordered
                // (it was counted lost: pessimistic), it says nothing new.
                // But far behind, the stored round may be the implausible
                // one: a forged round far ahead taken as the link's first in
                // an epoch, with no round before it to judge it by (simulator
                // seed 1069470591171: the link stayed deaf to every genuine
                // round after it). Two frames far behind that follow on from
                // each other are the peer's: the second is stored and counts.
                if ahead >= 1 << 31 {
                    let behind = u64::from(previous.wrapping_sub(beat));
                    if behind <= self.plausible_ahead(index, now) {
                        return;
                    }
                    let follows = self.follows_pending(index, beat);
                    if !follows {
                        if let Some(l) = self.link.get_mut(index) {
                            l.pending_beat = Some(beat);
                        }
                        return;
                    }
                    (0, true)
                } else {
                    // A round further ahead than the time since the last one
                    // allows is not stored on one frame's word: a forged (or
                    // corrupted) round number would make every genuine round
                    // after it look old, and the link silent, for good (found
                    // by the simulator: one unkeyed frame, within the replay
                    // window, with round 719 450 993). Two frames in a row that
                    // follow on from each other are the peer's: the stored round
                    // was the stale one (a genuine frame delivered late, taken
                    // first after a restart or a cut). Meanwhile the frame still
                    // counts for liveness: refusing it let a stale round, taken
                    // from a frame delayed for seconds, hide the real peer for a
                    // dead time (simulator seed 1000000273055). A forger gains
                    // nothing by it that a plausible round would not give it.
                    if u64::from(ahead) > self.plausible_ahead(index, now) {
                        (0, self.follows_pending(index, beat))
                    } else {
                        (ahead - 1, true)
                    }
                }
            }
        };
        if new_epoch {
            self.epoch = Some(epoch);
            for l in self.link.iter_mut() {
                l.last_beat = None;
            }
            self.lateness.rebase();
        }

        let interval = self.believable(interval);
        let interval_changed = interval != Duration::ZERO && interval != self.interval;
        if interval_changed {
            self.interval = interval;
            // Offsets on the old rhythm do not compare with the new one.
            self.lateness.rebase();
        }

        let adaptive = matches!(self.mode, DeadTime::Adaptive(_));
        let Some(l) = self.link.get_mut(index) else {
            return;
        };
        l.last_heard = Some(now);
        self.last_any = Some(now);
        if stored {
            l.last_beat = Some(beat);
            l.pending_beat = None;
        } else {
            l.pending_beat = Some(beat);
        }
        let p_changed = l.record(lost, adaptive);
        // A round held as pending is not compared: its number is in doubt.
        if adaptive && stored {
            self.lateness.arrival(now, beat, self.interval);
        }

        match self.mode {
            DeadTime::Fixed(d) => {
                if interval_changed {
                    let k = intervals_in(d, self.interval);
                    self.k = k;
                    for l in self.watched_mut() {
                        l.k = k;
                    }
                }
                self.update_link_deadline(index);
            }
            DeadTime::Adaptive(a) => {
                if p_changed {
                    if let Some(l) = self.link.get_mut(index) {
                        let k = intervals_near(
                            from_q24(l.p),
                            l.k,
                            a.false_verdict_bound,
                            a.min_intervals,
                            a.max_intervals,
                        );
                        if k != l.k {
                            l.k = k;
                            l.dead_time = span(k, self.interval, half(self.interval));
                        }
                    }
                }
                if interval_changed {
                    let interval = self.interval;
                    for l in self.watched_mut() {
                        l.dead_time = span(l.k, interval, half(interval));
                    }
                    for i in 0..usize::from(self.links) {
                        self.update_link_deadline(i);
                    }
                } else {
                    self.update_link_deadline(index);
                }
                // Which links count depends on their dead times, so this
                // comes after them.
                let counted = self.counted_links(now);
                let counted_changed = counted != self.counted;
                self.counted = counted;
                let p_counts = p_changed && counted & (1 << index) != 0;
                let k = if p_counts || counted_changed {
                    self.peer_intervals(a)
                } else {
                    self.k
                };
                let grace = self.peer_grace(a, k);
                if k != self.k || grace != self.grace || interval_changed {
                    self.k = k;
                    self.grace = grace;
                    self.dead_time = span(k, self.interval, grace);
                }
            }
        }
        self.dead_from = deadline(now, self.dead_time);
    }

    /// Whether `link` has been heard within its link dead time. A dead peer
    /// (see [`is_dead`](Self::is_dead)) is silent on every link.
    #[must_use]
    pub fn link_alive(&self, now: Instant, link: LinkId) -> bool {
        match link.index().filter(|&i| i < usize::from(self.links)) {
            Some(i) => match self.link.get(i) {
                Some(l) => l.heard_at(now) && !self.is_dead(now),
                None => false,
            },
            None => false,
        }
    }

    /// The watched links that are currently silent (not alive).
    #[must_use]
    pub fn silent_links(&self, now: Instant) -> LinkMask {
        if self.is_dead(now) {
            return LinkMask::first(self.links);
        }
        let mut mask = LinkMask::NONE;
        for (i, l) in self.watched().enumerate() {
            if !l.heard_at(now) {
                mask = mask.with(LinkId(i as u8));
            }
        }
        mask
    }

    /// True when the peer has been silent on every link for the dead time:
    /// the "primary is dead" verdict.
    #[must_use]
    pub fn is_dead(&self, now: Instant) -> bool {
        self.dead_from.is_some_and(|t| now >= t)
    }

    /// The current dead time for the whole peer (all links together).
    ///
    /// Adaptive mode: `k` intervals plus the [grace](Self::grace), where `k` comes
    /// from the product of the loss estimates of the links counted. A link
    /// that was already silent for its own dead time when the latest
    /// heartbeat arrived is not counted (its silence is an outage, not
    /// evidence about the peer), so with one link cut the dead time is that
    /// of the remaining link alone.
    #[must_use]
    pub fn dead_time(&self) -> Duration {
        self.dead_time
    }

    /// The current dead time for one link alone (used for anomaly notices).
    /// Zero for links that are not watched.
    #[must_use]
    pub fn link_dead_time(&self, link: LinkId) -> Duration {
        self.watched_link(link)
            .map_or(Duration::ZERO, |l| l.dead_time)
    }

    /// Consecutive silent intervals currently required for the verdict
    /// (Fixed mode: dead_time / interval rounded up).
    #[must_use]
    pub fn required_intervals(&self) -> u32 {
        self.k
    }

    /// Silent intervals one link alone currently needs for its anomaly
    /// (Fixed mode: the same as [`required_intervals`](Self::required_intervals));
    /// zero for links that are not watched.
    #[must_use]
    pub fn link_required_intervals(&self, link: LinkId) -> u32 {
        self.watched_link(link).map_or(0, |l| l.k)
    }

    /// Last heartbeat time on `link`, if any.
    #[must_use]
    pub fn last_heard(&self, link: LinkId) -> Option<Instant> {
        self.watched_link(link).and_then(|l| l.last_heard)
    }

    /// Last heartbeat on any link, if any.
    #[must_use]
    pub fn last_heard_any(&self) -> Option<Instant> {
        self.last_any
    }

    /// When the silence being counted began: the last heartbeat, or when
    /// watching (re)started if none came since. A bound that must hold for
    /// every frame this node *could* have heard (a restarted node's earlier
    /// life heard frames this one never saw) counts from here, not from
    /// [`PeerDetector::last_heard_any`].
    #[must_use]
    pub fn silent_since(&self) -> Instant {
        self.latest()
    }

    /// Measured loss on `link`, parts per million: the plain ratio of lost
    /// to expected rounds over the last 1024 to 2048 rounds, each gap counted
    /// at most 64 rounds. Zero before any data and for unwatched links.
    #[must_use]
    pub fn loss_ppm(&self, link: LinkId) -> u32 {
        self.watched_link(link).map_or(0, |l| l.loss.observed_ppm())
    }

    /// The pessimistic loss estimate the adaptive dead time uses for `link`,
    /// parts per million (an upper confidence bound; 1 000 000 before any
    /// data). Fixed mode, which uses no estimate, reports the window's
    /// Wilson bound. Zero for unwatched links.
    #[must_use]
    pub fn loss_bound_ppm(&self, link: LinkId) -> u32 {
        let Some(l) = self.watched_link(link) else {
            return 0;
        };
        match self.mode {
            DeadTime::Fixed(_) => q24_to_ppm(l.loss.wilson_now()),
            DeadTime::Adaptive(_) => q24_to_ppm(l.p),
        }
    }

    /// What the adaptive dead time adds to its whole intervals for late
    /// heartbeats: at the fewest intervals (clean links), twice the spread of
    /// their lateness measured over the last 1024 to 2048 arrivals plus a
    /// sixteenth of an interval, between an eighth and a half of the
    /// interval; half an interval while warming up and on lossy links. Zero
    /// in Fixed mode, whose dead time is the configured one.
    #[must_use]
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// The peer's interval as last advertised (or the expected one).
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Whether any heartbeat has been heard since new()/reset().
    #[must_use]
    pub fn heard_any(&self) -> bool {
        self.last_any.is_some()
    }

    /// The earliest instant after `now` at which `link_alive`,
    /// `silent_links` or `is_dead` would change if nothing more arrives;
    /// None if nothing can change (all links silent and dead already).
    #[must_use]
    pub fn next_change(&self, now: Instant) -> Option<Instant> {
        // Once dead, every link reads silent until a heartbeat arrives.
        if self.is_dead(now) {
            return None;
        }
        let mut next: Option<Instant> = None;
        let mut consider = |at: Instant| {
            if at > now {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        };
        if let Some(verdict) = self.dead_from {
            consider(verdict);
        }
        for l in self.watched() {
            if let Some(at) = l.silent_from {
                consider(at);
            }
        }
        next
    }

    // ---- internals ----

    /// Silence on all links is counted from here.
    fn latest(&self) -> Instant {
        match self.last_any {
            Some(t) => t.max(self.start),
            None => self.start,
        }
    }

    fn watched(&self) -> impl Iterator<Item = &Link> {
        self.link.iter().take(usize::from(self.links))
    }

    fn watched_mut(&mut self) -> impl Iterator<Item = &mut Link> {
        self.link.iter_mut().take(usize::from(self.links))
    }

    fn watched_link(&self, link: LinkId) -> Option<&Link> {
        link.index()
            .filter(|&i| i < usize::from(self.links))
            .and_then(|i| self.link.get(i))
    }

    /// Recompute link `index`'s cached silence instant.
    fn update_link_deadline(&mut self, index: usize) {
        let start = self.start;
        if let Some(l) = self.link.get_mut(index) {
            l.silent_from = deadline(l.baseline(start), l.dead_time);
        }
    }

    /// The links counted in the peer's dead time when the latest heartbeat
    /// arrived at `latest`: those not yet silent for their own dead time.
    fn counted_links(&self, latest: Instant) -> u8 {
        let mut mask = 0u8;
        for (i, l) in self.watched().enumerate() {
            if l.heard_at(latest) {
                mask |= 1 << i;
            }
        }
        mask
    }

    /// `k` for the whole peer from the counted links' losses.
    fn peer_intervals(&self, a: AdaptiveDeadTime) -> u32 {
        let mut q = 1.0f64;
        for (i, l) in self.watched().enumerate() {
            if self.counted & (1 << i) != 0 {
                q *= from_q24(l.p);
            }
        }
        intervals_near(
            q,
            self.k,
            a.false_verdict_bound,
            a.min_intervals,
            a.max_intervals,
        )
    }

    /// The grace of the peer's verdict after `k` silent intervals: measured
    /// ([`Lateness::grace`]) on links clean enough for the fewest intervals,
    /// half an interval otherwise. Loss and lateness come together (a
    /// congested queue drops and delays), and on a lossy network a false
    /// verdict needs only `k − 1` lost rounds and one late heartbeat, so
    /// the grace is shortened only where it is the verdict's largest part.
    fn peer_grace(&self, a: AdaptiveDeadTime, k: u32) -> Duration {
        if k <= a.min_intervals {
            self.lateness.grace(self.interval)
        } else {
            half(self.interval)
        }
    }

    /// Recompute every cached dead time from scratch.
    fn refresh_all(&mut self) {
        let interval = self.interval;
        match self.mode {
            DeadTime::Fixed(d) => {
                let k = intervals_in(d, interval);
                for l in self.watched_mut() {
                    l.k = k;
                    l.dead_time = d;
                }
                self.k = k;
                self.dead_time = d;
                self.grace = Duration::ZERO;
                self.counted = LinkMask::first(self.links).0;
                for i in 0..usize::from(self.links) {
                    self.update_link_deadline(i);
                }
            }
            DeadTime::Adaptive(a) => {
                for l in self.watched_mut() {
                    l.k = intervals_for(
                        from_q24(l.p),
                        a.false_verdict_bound,
                        a.min_intervals,
                        a.max_intervals,
                    );
                    l.dead_time = span(l.k, interval, half(interval));
                }
                for i in 0..usize::from(self.links) {
                    self.update_link_deadline(i);
                }
                self.counted = self.counted_links(self.latest());
                self.k = self.peer_intervals(a);
                self.grace = self.peer_grace(a, self.k);
                self.dead_time = span(self.k, interval, self.grace);
            }
        }
        self.dead_from = deadline(self.latest(), self.dead_time);
    }
}

/// Half an interval: the grace of a link's own dead time, and of the
/// peer's until its heartbeats' lateness is known (or while it is lossy).
fn half(interval: Duration) -> Duration {
    interval.saturating_div(2)
}

/// The first instant `t` with `t.saturating_since(from) >= span`: `from +
/// span`, every instant when `span` is zero, `None` past the end of time.
fn deadline(from: Instant, span: Duration) -> Option<Instant> {
    if span == Duration::ZERO {
        return Some(Instant::ZERO);
    }
    from.total_micros()
        .checked_add(span.total_micros())
        .map(Instant::from_micros)
}
