//! A run's timeline: what happened, when, relative to the fault. The lab
//! collects events from its observers (the daemons' log lines, the capture,
//! the prober, address ownership) and prints them in time order, so a
//! reader sees "verdict, takeover, first gratuitous ARP, client back" with
//! the milliseconds between them.

use std::fmt;
use std::time::{Duration, Instant};

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When it happened (lab clock).
    pub at: Instant,
    /// What happened, in words.
    pub what: String,
}

/// Events relative to a zero (the fault).
#[derive(Debug, Clone)]
pub struct Timeline {
    zero: Instant,
    events: Vec<Event>,
}

impl Timeline {
    /// An empty timeline whose zero is `zero`.
    pub fn new(zero: Instant) -> Timeline {
        Timeline {
            zero,
            events: Vec::new(),
        }
    }

    /// Adds an event, if it happened (`at` is `Some`).
    pub fn add(&mut self, at: Option<Instant>, what: impl Into<String>) {
        if let Some(at) = at {
            self.events.push(Event {
                at,
                what: what.into(),
            });
        }
    }

    /// Milliseconds from the zero to `at` (negative before it).
    pub fn ms(&self, at: Instant) -> f64 {
        signed_ms(self.zero, at)
    }

    /// The events in time order.
    pub fn events(&self) -> Vec<Event> {
        let mut e = self.events.clone();
        e.sort_by_key(|e| e.at);
        e
    }
}

/// `at - zero` in milliseconds, negative when `at` is earlier.
pub fn signed_ms(zero: Instant, at: Instant) -> f64 {
    if at >= zero {
        at.duration_since(zero).as_secs_f64() * 1e3
    } else {
        -(zero.duration_since(at).as_secs_f64() * 1e3)
    }
}

/// A duration in milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in self.events() {
            writeln!(f, "  {:>9.1} ms  {}", self.ms(e.at), e.what)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_print_in_order_relative_to_zero() {
        let t0 = Instant::now() + Duration::from_secs(1);
        let mut t = Timeline::new(t0);
        t.add(Some(t0 + Duration::from_micros(31_400)), "verdict");
        t.add(None, "never happened");
        t.add(Some(t0), "fault");
        t.add(Some(t0 - Duration::from_millis(2)), "last answer");
        assert_eq!(
            t.to_string(),
            "       -2.0 ms  last answer\n        0.0 ms  fault\n       31.4 ms  verdict\n"
        );
    }
}
