//! Times and lists in an administrator's words, shared by the log lines,
//! the machine's phase ([`super::node`]) and `--status`.

use failover_core::Instant;

/// `heard 4 ms ago`, `silent for 3.2 s`, `never heard`.
pub fn heard_text(last: Option<Instant>, alive: bool, now: Instant) -> String {
    match last {
        None => "never heard".to_owned(),
        Some(at) => {
            let age = duration_text(now.saturating_since(at));
            if alive {
                format!("heard {age} ago")
            } else {
                format!("silent for {age}")
            }
        }
    }
}

/// A duration as an administrator reads it: `7 ms` below a second (the
/// fast profiles live there), `3.2 s` above.
pub fn duration_text(d: failover_core::Duration) -> String {
    let us = d.total_micros();
    if us < 1_000_000 {
        format!("{} ms", (us + 500) / 1000)
    } else {
        format!("{:.1} s", us as f64 / 1e6)
    }
}

/// Seconds of uptime as an administrator reads them: `5 min 3 s`.
pub fn duration_words(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// `192.0.2.10, 2001:db8::10`: addresses (or anything printable) in a
/// list.
pub fn join<T: std::fmt::Display>(addrs: &[T]) -> String {
    let parts: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    parts.join(", ")
}
