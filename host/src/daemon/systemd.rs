//! systemd's service notifications (`sd_notify(3)`) for the units'
//! `Type=notify`: `READY=1` once the event loop runs, `WATCHDOG=1` while it
//! keeps turning, `STOPPING=1` at SIGTERM or SIGINT, and `STATUS=` with the
//! phase, which `systemctl status` shows. The wire protocol is the
//! `sd-notify` crate's; this module only decides when to speak.
//!
//! Outside systemd (no `NOTIFY_SOCKET`: a terminal, the lab, the tests)
//! nothing here sends anything, and a turn of the loop costs one branch.
//!
//! The watchdog ping is sent when it is due, not on every turn: the crate
//! builds each message in a fresh `String` and a fresh socket, and the
//! loop's steady state must not allocate (`net_ns`'s allocation test
//! counts). Its period is a quarter of `WATCHDOG_USEC`, where systemd asks
//! for at least every half: a turn delayed by a loaded machine by up to
//! another quarter still pings in time. The loop's wait is bounded by
//! [`Systemd::next_deadline`], so the ping is never late for lack of a
//! wake-up, whatever the heartbeat interval (up to an hour).

use std::io;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// The environment variable systemd names its notification socket in.
const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
/// The watchdog is pinged this many times per `WATCHDOG_USEC`.
const PINGS_PER_PERIOD: u32 = 4;
/// The shortest ping period: a tiny `WATCHDOG_USEC` must not turn the loop
/// into a busy one.
const MIN_PING_PERIOD: Duration = Duration::from_millis(1);

/// The daemon's side of the notification protocol: whether systemd
/// listens, and when the watchdog wants its next ping.
#[derive(Debug)]
pub struct Systemd {
    /// `NOTIFY_SOCKET` was set at start: systemd (or a test) listens.
    enabled: bool,
    /// The watchdog, when the unit has `WatchdogSec=` (and systemd told
    /// this process so, in `WATCHDOG_USEC`).
    watchdog: Option<Watchdog>,
    /// The last notification failed; the next failure is not reported
    /// again (a socket gone away would fill the log at every ping).
    failing: bool,
}

/// When to ping the watchdog.
#[derive(Debug, Clone, Copy)]
struct Watchdog {
    every: Duration,
    next: Instant,
}

/// What a notification's outcome means for the log: said once when it
/// starts failing, once when it works again.
#[derive(Debug)]
pub enum Report {
    /// Sent (or nothing to send), as before.
    Quiet,
    /// It failed, for the first time since it last worked.
    Failing(io::Error),
    /// It works again after failing.
    Recovered,
}

impl Systemd {
    /// Not under systemd: every notification is a no-op. What the loop
    /// starts with, so that tests and the lab, which build loops of their
    /// own, never speak to a socket.
    pub fn disabled() -> Systemd {
        Systemd {
            enabled: false,
            watchdog: None,
            failing: false,
        }
    }

    /// What the environment says, read once at start: `NOTIFY_SOCKET`,
    /// and `WATCHDOG_USEC` (with `WATCHDOG_PID`, if set, naming this
    /// process). `now` is when the watchdog's period starts.
    pub fn from_env(now: Instant) -> Systemd {
        let enabled = std::env::var_os(NOTIFY_SOCKET).is_some();
        let watchdog = sd_notify::watchdog_enabled()
            .filter(|period| enabled && !period.is_zero())
            .map(|period| Watchdog::new(period, now));
        Systemd {
            enabled,
            watchdog,
            failing: false,
        }
    }

    /// Whether systemd listens (for the start-up's log line).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The watchdog's ping period, if there is a watchdog.
    pub fn ping_period(&self) -> Option<Duration> {
        self.watchdog.map(|w| w.every)
    }

    /// The loop is running: `READY=1`, with a first watchdog ping and the
    /// phase in `status`.
    pub fn ready(&mut self, now: Instant, status: &str) -> Report {
        if let Some(w) = self.watchdog.as_mut() {
            w.next = now + w.every;
        }
        self.send(&[
            NotifyState::Ready,
            NotifyState::Watchdog,
            NotifyState::Status(status),
        ])
    }

    /// Pings the watchdog if a ping is due at `now`; otherwise does
    /// nothing and allocates nothing.
    pub fn poll(&mut self, now: Instant) -> Report {
        match self.watchdog.as_mut() {
            Some(w) if now >= w.next => {
                w.next = now + w.every;
                self.send(&[NotifyState::Watchdog])
            }
            _ => Report::Quiet,
        }
    }

    /// When the next watchdog ping is due: the loop's wait must end by
    /// then.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.watchdog.map(|w| w.next)
    }

    /// The phase changed: `STATUS=` with it.
    pub fn status(&mut self, status: &str) -> Report {
        self.send(&[NotifyState::Status(status)])
    }

    /// Stopping has begun (the addresses are being let go of): `STOPPING=1`,
    /// so systemd shows the unit as deactivating while the release runs.
    pub fn stopping(&mut self, status: &str) -> Report {
        self.send(&[NotifyState::Stopping, NotifyState::Status(status)])
    }

    fn send(&mut self, states: &[NotifyState<'_>]) -> Report {
        if !self.enabled {
            return Report::Quiet;
        }
        match sd_notify::notify(states) {
            Ok(()) if std::mem::take(&mut self.failing) => Report::Recovered,
            Ok(()) => Report::Quiet,
            Err(_) if self.failing => Report::Quiet,
            Err(e) => {
                self.failing = true;
                Report::Failing(e)
            }
        }
    }
}

impl Watchdog {
    fn new(period: Duration, now: Instant) -> Watchdog {
        let every = (period / PINGS_PER_PERIOD).max(MIN_PING_PERIOD);
        Watchdog {
            every,
            next: now + every,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A notifier with a watchdog of `period`, as if systemd had set the
    /// environment. The test process has no `NOTIFY_SOCKET` (or one its
    /// service manager ignores from a process that is not the unit's main
    /// one), so sending is the crate's no-op: what is tested here is the
    /// schedule.
    fn with_watchdog(period: Duration, now: Instant) -> Systemd {
        Systemd {
            enabled: true,
            watchdog: Some(Watchdog::new(period, now)),
            failing: false,
        }
    }

    #[test]
    fn disabled_has_no_deadline_and_sends_nothing() {
        let now = Instant::now();
        let mut s = Systemd::disabled();
        assert_eq!(s.next_deadline(), None);
        assert!(matches!(
            s.poll(now + Duration::from_secs(3600)),
            Report::Quiet
        ));
        assert!(matches!(s.ready(now, "monitoring"), Report::Quiet));
        assert!(matches!(s.stopping("stopping"), Report::Quiet));
        assert!(!s.enabled());
    }

    #[test]
    fn the_watchdog_is_pinged_at_a_quarter_of_its_period_and_only_when_due() {
        let t0 = Instant::now();
        let mut s = with_watchdog(Duration::from_secs(10), t0);
        assert_eq!(s.ping_period(), Some(Duration::from_millis(2500)));
        // READY pings too, and the next ping is a period after it.
        let ready_at = t0 + Duration::from_millis(300);
        let _ = s.ready(ready_at, "holding");
        let due = ready_at + Duration::from_millis(2500);
        assert_eq!(s.next_deadline(), Some(due));
        // Not due: nothing moves.
        let _ = s.poll(due - Duration::from_millis(1));
        assert_eq!(s.next_deadline(), Some(due));
        // Due, and a little late: the next one counts from the ping.
        let late = due + Duration::from_millis(40);
        let _ = s.poll(late);
        assert_eq!(s.next_deadline(), Some(late + Duration::from_millis(2500)));
    }

    #[test]
    fn a_tiny_watchdog_period_does_not_make_a_busy_loop() {
        let t0 = Instant::now();
        let s = with_watchdog(Duration::from_micros(2), t0);
        assert_eq!(s.ping_period(), Some(MIN_PING_PERIOD));
    }
}
