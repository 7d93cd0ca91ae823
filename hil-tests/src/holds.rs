//! Who had the service address when: the intervals the ownership samplers
//! ([`crate::observe::Ownership`]) record for each server, and the one
//! question every user of the lab asks of them: were they ever both holding
//! it at once (the overlap), over the whole run or over a part of it.
//!
//! The scenarios, the witness tests, the demo and the benchmark all answer
//! it here, so that "never two holders" means the same everywhere.

use std::time::{Duration, Instant};

/// One interval in which a server certainly had the address.
///
/// A sample only says the address was there at some instant of its netlink
/// query, and the sampling thread may run late, so an interval runs from
/// the end of the first query that saw the address to the start of the last
/// one: overlaps computed from these are real ones, never an artefact of a
/// late sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// When the server was first seen with the address.
    pub from: Instant,
    /// When it was last seen with it; `None` while it still has it.
    pub until: Option<Instant>,
}

impl Held {
    /// Whether the server still has the address (as last sampled).
    pub fn is_open(&self) -> bool {
        self.until.is_none()
    }

    /// Whether the server had the address at `at`.
    pub fn covers(&self, at: Instant) -> bool {
        self.from <= at && self.until.is_none_or(|u| u >= at)
    }
}

/// The total time two sets of intervals overlap, measured up to `end` for
/// intervals still open.
pub fn overlap(a: &[Held], b: &[Held], end: Instant) -> Duration {
    let mut total = Duration::ZERO;
    for x in a {
        for y in b {
            let start = x.from.max(y.from);
            let stop = x.until.unwrap_or(end).min(y.until.unwrap_or(end));
            total += stop.saturating_duration_since(start);
        }
    }
    total
}

/// `held` cut to `[from, to]`: intervals outside it left out, open ones
/// closed at `to`.
pub fn clip(held: &[Held], from: Instant, to: Instant) -> Vec<Held> {
    held.iter()
        .filter_map(|h| {
            let start = h.from.max(from);
            let stop = h.until.unwrap_or(to).min(to);
            (start < stop).then_some(Held {
                from: start,
                until: Some(stop),
            })
        })
        .collect()
}

/// The overlap of two sets of intervals within `[from, to]` only: for a run
/// whose first part had an overlap on purpose (a killed daemon's address
/// left behind) or for one measurement among several on the same lab.
pub fn overlap_within(a: &[Held], b: &[Held], from: Instant, to: Instant) -> Duration {
    overlap(&clip(a, from, to), &clip(b, from, to), to)
}

/// How many intervals started within `[from, to)`, and the time held within
/// `[from, to]` in all.
pub fn held_within(held: &[Held], from: Instant, to: Instant) -> (u64, Duration) {
    let started = held
        .iter()
        .filter(|h| h.from >= from && h.from < to)
        .count() as u64;
    let total = held
        .iter()
        .map(|h| {
            let stop = h.until.unwrap_or(to).min(to);
            stop.saturating_duration_since(h.from.max(from))
        })
        .sum();
    (started, total)
}

/// The interval of `held` that was open at `at`.
pub fn held_at(held: &[Held], at: Instant) -> Option<Held> {
    held.iter().find(|h| h.covers(at)).copied()
}

/// The intervals that last until `from` or later (those held across it and
/// those begun since).
pub fn lasting_past(held: &[Held], from: Instant) -> Vec<Held> {
    held.iter()
        .filter(|h| h.until.is_none_or(|u| u > from))
        .copied()
        .collect()
}

/// The intervals that started at `from` or later.
pub fn started_since(held: &[Held], from: Instant) -> Vec<Held> {
    held.iter().filter(|h| h.from >= from).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: Instant) -> impl Fn(u64) -> Instant {
        move |n| t + Duration::from_millis(n)
    }

    fn held(from: Instant, until: Option<Instant>) -> Held {
        Held { from, until }
    }

    #[test]
    fn overlap_of_intervals() {
        let ms = at(Instant::now());
        let a = [held(ms(0), Some(ms(10))), held(ms(50), None)];
        let b = [held(ms(10), Some(ms(50)))];
        assert_eq!(overlap(&a, &b, ms(100)), Duration::ZERO);
        let b = [held(ms(5), Some(ms(12))), held(ms(90), None)];
        assert_eq!(overlap(&a, &b, ms(100)), Duration::from_millis(15));
    }

    #[test]
    fn overlap_within_closes_open_intervals_at_the_end() {
        let ms = at(Instant::now());
        let a = [held(ms(0), Some(ms(100)))];
        let open = [held(ms(50), None)];
        assert_eq!(
            overlap_within(&a, &open, ms(0), ms(70)),
            Duration::from_millis(20)
        );
        assert_eq!(overlap_within(&a, &open, ms(100), ms(300)), Duration::ZERO);
    }

    #[test]
    fn intervals_at_since_and_within() {
        let ms = at(Instant::now());
        let a = [held(ms(0), Some(ms(100))), held(ms(150), None)];
        assert_eq!(held_at(&a, ms(500)), Some(a[1]));
        assert_eq!(lasting_past(&a, ms(100)), [a[1]]);
        assert_eq!(lasting_past(&a, ms(99)), a);
        assert_eq!(started_since(&a, ms(1)), [a[1]]);
        assert_eq!(
            held_within(&a, ms(50), ms(200)),
            (1, Duration::from_millis(100))
        );
        assert!(a[1].is_open() && !a[0].is_open());
    }
}
