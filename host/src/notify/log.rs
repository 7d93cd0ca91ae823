//! The daemons' log: syslog (always, with the `-L` facility) and the
//! terminal (with `-d`).
//!
//! # Why not a syslog crate
//!
//! A syslog client on Linux is one datagram per message to `/dev/log`. Doing
//! it here (about a hundred lines) keeps the dependency list short and gives
//! control where it matters to a failover daemon:
//!
//! - **it never blocks**: the socket is non-blocking; when the log daemon is
//!   backed up, messages are dropped and counted, and the count is logged
//!   once it drains, instead of stalling heartbeats behind `journald`;
//! - **it survives a log daemon restart**: a failed send drops the socket and
//!   the next message (at most one attempt a second) reconnects; meanwhile
//!   messages go to stderr, which systemd sends to the journal;
//! - **local time read from the zone file**: the RFC 3164 layout stamps
//!   messages in local time, as `syslog(3)` does. The zone (`TZ`, else
//!   `/etc/localtime`) is read once with `tz-rs` ([`local_offset`]): the
//!   `time` crate's own reading works only while the process has one
//!   thread, and the daemons have a writer thread ([`crate::disk`]); where
//!   no zone is configured the stamp is in UTC. Both Debian log daemons
//!   stamp messages from `/dev/log` with their reception time anyway
//!   (journald always, rsyslog's imuxsock by default:
//!   `SysSock.IgnoreTimestamp="on"`).
//!
//! The layout is exactly what glibc's `syslog(3)` sends to `/dev/log`:
//! `<PRI>Mmm dd hh:mm:ss ident[pid]: message` (see [`format_syslog`]).

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::io::{ErrorKind, Write as _};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
// `Instant` (CLOCK_MONOTONIC) only paces reconnecting to syslog; never the
// machine's time (daemon::clock).
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc2822;
use time::{OffsetDateTime, UtcOffset};

use super::budget::{LogBudget, Verdict, BURST, PER_SECOND};
use crate::process::OutputSink;

/// A syslog severity (RFC 5424 §6.2.1). Ordered from most to least severe,
/// so `level <= Level::Warning` means "warning or worse".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The system is unusable.
    Emerg = 0,
    /// Action must be taken immediately.
    Alert = 1,
    /// Critical conditions: the service is down or unprotected.
    Crit = 2,
    /// Error conditions.
    Err = 3,
    /// Warning conditions.
    Warning = 4,
    /// Normal but significant.
    Notice = 5,
    /// Informational.
    Info = 6,
    /// Debugging detail.
    Debug = 7,
}

impl Level {
    /// The severity code that goes into the syslog priority.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The name syslog tools use (`logger -p daemon.<name>`).
    pub const fn name(self) -> &'static str {
        match self {
            Level::Emerg => "emerg",
            Level::Alert => "alert",
            Level::Crit => "crit",
            Level::Err => "err",
            Level::Warning => "warning",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `-L` facility: the command line's type (`crate::config::cli::Facility`),
/// re-exported so that the logger and the option parser share one.
pub use crate::config::cli::Facility;

/// The longest message sent to syslog or the terminal, in bytes; longer ones
/// are cut (on a character boundary) and marked. Script output lines are
/// already shorter (see `ScriptConfig::max_line`).
pub const MAX_MESSAGE: usize = 4096;

/// Records a memory log keeps before dropping the oldest.
const CAPTURE_CAPACITY: usize = 10_000;

/// Minimum time between two attempts to (re)connect to the syslog socket.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// Where and what a [`Logger`] writes.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The program name in every line (`failoverd`, `heartbeatd`).
    pub ident: String,
    /// The `-L` facility.
    pub facility: Facility,
    /// Whether to send to syslog at all (off only for tests and `-n`).
    pub syslog: bool,
    /// The syslog socket, `/dev/log`.
    pub syslog_path: PathBuf,
    /// Messages less severe than this are not sent to syslog (default
    /// [`Level::Info`]: debug detail stays out of the system log).
    pub syslog_level: Level,
    /// Whether to print to the terminal (stderr): `-d` and `-n`.
    pub terminal: bool,
    /// Messages less severe than this are not printed (default
    /// [`Level::Debug`]: everything, since `-d` is for watching).
    pub terminal_level: Level,
}

impl LogConfig {
    /// Syslog only, at `facility`, info and above: the daemon's default.
    pub fn new(ident: &str, facility: Facility) -> LogConfig {
        LogConfig {
            ident: ident.to_owned(),
            facility,
            syslog: true,
            syslog_path: PathBuf::from("/dev/log"),
            syslog_level: Level::Info,
            terminal: false,
            terminal_level: Level::Debug,
        }
    }
}

/// One message kept by a memory log ([`Logger::memory`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its severity.
    pub level: Level,
    /// The message as it would have been sent (sanitised, cut).
    pub message: String,
}

/// The messages of a [`Logger::memory`] logger, for tests (and for `-n`
/// style reports that collect problems before printing them).
#[derive(Debug, Clone)]
pub struct LogCapture {
    records: Arc<Mutex<VecDeque<LogRecord>>>,
}

impl LogCapture {
    /// Every message kept so far (at most the last 10 000).
    pub fn records(&self) -> Vec<LogRecord> {
        lock(&self.records).iter().cloned().collect()
    }

    /// Whether some message contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        lock(&self.records)
            .iter()
            .any(|r| r.message.contains(needle))
    }

    /// How many messages are kept, without allocating: a test can tell
    /// the turns of a loop that logged from those that did not.
    pub fn count(&self) -> usize {
        lock(&self.records).len()
    }

    /// All messages, one per line, as `level: message`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for r in lock(&self.records).iter() {
            let _ = writeln!(out, "{}: {}", r.level, r.message);
        }
        out
    }
}

/// The daemon's logger: cheap to clone (one shared sink), usable from any
/// thread, never blocks and never panics. Every part of the daemon logs
/// through one of these so that `-L` and `-d` apply everywhere.
#[derive(Debug, Clone)]
pub struct Logger {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: LogConfig,
    pid: u32,
    syslog: Mutex<SyslogSocket>,
    capture: Option<Arc<Mutex<VecDeque<LogRecord>>>>,
    /// How many lines may still be written (`super::budget`).
    budget: Mutex<LogBudget>,
    /// Messages logged so far above debug level, written or not: how the
    /// loop tells a quiet daemon from a busy one ([`Logger::messages`]).
    messages: AtomicU64,
}

#[derive(Debug, Default)]
struct SyslogSocket {
    socket: Option<UnixDatagram>,
    last_attempt: Option<Instant>,
    /// Messages dropped since the last successful send.
    dropped: u64,
    /// Whether the last connection attempt failed (so the fallback notice
    /// is printed once, not per message).
    down_reported: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock must not take logging down.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A [`Logger`] as the sink of a child's output: its lines at one level,
/// problems with it as warnings ([`Logger::at`]).
#[derive(Debug, Clone, Copy)]
pub struct LogAt<'a> {
    log: &'a Logger,
    level: Level,
}

impl OutputSink for LogAt<'_> {
    fn line(&self, line: fmt::Arguments<'_>) {
        self.log.log(self.level, line);
    }

    fn problem(&self, message: fmt::Arguments<'_>) {
        self.log.log(Level::Warning, message);
    }
}

impl Logger {
    /// This log as the sink of a child's output, its lines at `level`.
    pub fn at(&self, level: Level) -> LogAt<'_> {
        LogAt { log: self, level }
    }

    /// A logger with the sinks `config` asks for. Connects to syslog lazily,
    /// on the first message.
    pub fn new(config: LogConfig) -> Logger {
        Logger {
            inner: Arc::new(Inner {
                config,
                pid: std::process::id(),
                syslog: Mutex::new(SyslogSocket::default()),
                capture: None,
                budget: Mutex::new(LogBudget::new()),
                messages: AtomicU64::new(0),
            }),
        }
    }

    /// A logger that only keeps its messages in memory (every level), and
    /// the handle to read them: for tests, without a syslog daemon.
    pub fn memory(ident: &str) -> (Logger, LogCapture) {
        let mut config = LogConfig::new(ident, Facility::Daemon);
        config.syslog = false;
        let records = Arc::new(Mutex::new(VecDeque::new()));
        let logger = Logger {
            inner: Arc::new(Inner {
                config,
                pid: std::process::id(),
                syslog: Mutex::new(SyslogSocket::default()),
                capture: Some(Arc::clone(&records)),
                budget: Mutex::new(LogBudget::new()),
                messages: AtomicU64::new(0),
            }),
        };
        (logger, LogCapture { records })
    }

    /// How many messages were logged so far at info level or above,
    /// whether a sink wanted them or not. Everything a daemon does beyond
    /// beating and its routine (a periodic health check logs each run at
    /// debug level) logs something at info or above, so an unchanged count
    /// means nothing new happened: the loop gives back the code pages that
    /// ran once it stays unchanged a while (`daemon::resident`).
    pub fn messages(&self) -> u64 {
        self.inner.messages.load(Ordering::Relaxed)
    }

    /// The program name the logger writes.
    pub fn ident(&self) -> &str {
        &self.inner.config.ident
    }

    /// Logs `msg` at `level`. Control characters become `?` (a message is
    /// one line), and messages over [`MAX_MESSAGE`] bytes are cut. Past the
    /// log's budget (a storm: [`super::budget`]) lines less than critical
    /// are left out, before they cost any formatting, and counted; the next
    /// line written says how many.
    pub fn log(&self, level: Level, msg: impl fmt::Display) {
        let inner = &*self.inner;
        if level <= Level::Info {
            inner.messages.fetch_add(1, Ordering::Relaxed);
        }
        let config = &inner.config;
        let want_syslog = config.syslog && level <= config.syslog_level;
        let want_terminal = config.terminal && level <= config.terminal_level;
        if !want_syslog && !want_terminal && inner.capture.is_none() {
            return;
        }
        match lock(&inner.budget).take(Instant::now(), level <= Level::Crit) {
            Verdict::Pass => {}
            Verdict::Refuse => return,
            Verdict::PassAfterRefusing(n) => self.write(
                Level::Warning,
                format!(
                    "{n} log lines left out: more than {PER_SECOND} a second, after a burst of {BURST}"
                ),
            ),
        }
        self.write(level, sanitize(&msg.to_string()));
    }

    /// Writes one sanitised line to every sink that wants `level`.
    fn write(&self, level: Level, message: String) {
        let inner = &*self.inner;
        let config = &inner.config;
        let want_syslog = config.syslog && level <= config.syslog_level;
        let want_terminal = config.terminal && level <= config.terminal_level;
        let now = SystemTime::now();
        if let Some(capture) = &inner.capture {
            let mut records = lock(capture);
            if records.len() >= CAPTURE_CAPACITY {
                records.pop_front();
            }
            records.push_back(LogRecord {
                level,
                message: message.clone(),
            });
        }
        let mut syslog_failed = false;
        if want_syslog {
            syslog_failed = !self.send_syslog(level, &message, now);
        }
        if want_terminal || syslog_failed {
            let line = format_terminal(now, &config.ident, inner.pid, level, &message);
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }

    /// Logs at [`Level::Err`].
    pub fn error(&self, msg: impl fmt::Display) {
        self.log(Level::Err, msg);
    }

    /// Logs at [`Level::Warning`].
    pub fn warning(&self, msg: impl fmt::Display) {
        self.log(Level::Warning, msg);
    }

    /// Logs at [`Level::Notice`].
    pub fn notice(&self, msg: impl fmt::Display) {
        self.log(Level::Notice, msg);
    }

    /// Logs at [`Level::Info`].
    pub fn info(&self, msg: impl fmt::Display) {
        self.log(Level::Info, msg);
    }

    /// Logs at [`Level::Debug`].
    pub fn debug(&self, msg: impl fmt::Display) {
        self.log(Level::Debug, msg);
    }

    /// Sends one message to syslog; false if it could not (the caller then
    /// falls back to stderr).
    fn send_syslog(&self, level: Level, message: &str, now: SystemTime) -> bool {
        let inner = &*self.inner;
        let config = &inner.config;
        let offset = local_offset(now);
        let mut state = lock(&inner.syslog);
        if state.socket.is_none() {
            let due = state
                .last_attempt
                .is_none_or(|t| t.elapsed() >= RECONNECT_EVERY);
            if !due {
                return false;
            }
            state.last_attempt = Some(Instant::now());
            match connect(&config.syslog_path) {
                Ok(socket) => {
                    state.socket = Some(socket);
                    state.down_reported = false;
                }
                Err(e) => {
                    if !state.down_reported {
                        state.down_reported = true;
                        let line = format_terminal(
                            now,
                            &config.ident,
                            inner.pid,
                            Level::Warning,
                            &format!(
                                "cannot reach syslog at {}: {e}; logging to stderr until it is back",
                                config.syslog_path.display()
                            ),
                        );
                        let _ = std::io::stderr().lock().write_all(line.as_bytes());
                    }
                    return false;
                }
            }
        }
        if state.dropped > 0 {
            let note = format!(
                "{} log messages were dropped while syslog was busy",
                state.dropped
            );
            let packet = format_syslog(
                config.facility,
                Level::Warning,
                &config.ident,
                inner.pid,
                now,
                offset,
                &note,
            );
            if send(&mut state, &packet).is_ok() {
                state.dropped = 0;
            }
        }
        let packet = format_syslog(
            config.facility,
            level,
            &config.ident,
            inner.pid,
            now,
            offset,
            message,
        );
        match send(&mut state, &packet) {
            Ok(()) => true,
            Err(SendError::Busy) => {
                state.dropped = state.dropped.saturating_add(1);
                // Not a failure to fall back from: the log daemon is alive,
                // only slow; the count is reported when it catches up.
                true
            }
            Err(SendError::Gone) => false,
        }
    }
}

enum SendError {
    /// The socket buffer is full: the message is dropped.
    Busy,
    /// The log daemon went away: the socket is closed.
    Gone,
}

fn send(state: &mut SyslogSocket, packet: &[u8]) -> Result<(), SendError> {
    let Some(socket) = &state.socket else {
        return Err(SendError::Gone);
    };
    // A few retries on EINTR only; everything else is decided at once.
    for _ in 0..3 {
        match socket.send(packet) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Err(SendError::Busy),
            Err(_) => {
                state.socket = None;
                return Err(SendError::Gone);
            }
        }
    }
    Err(SendError::Busy)
}

fn connect(path: &std::path::Path) -> std::io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    socket.connect(path)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// One line for syslog: control characters replaced by `?` (tabs by a
/// space), cut at [`MAX_MESSAGE`] bytes on a character boundary.
pub fn sanitize(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(MAX_MESSAGE));
    for c in msg.chars() {
        if out.len() + c.len_utf8() > MAX_MESSAGE {
            out.push_str(" [cut]");
            break;
        }
        out.push(match c {
            '\t' => ' ',
            c if c.is_control() => '?',
            c => c,
        });
    }
    out
}

/// The datagram for `/dev/log`, in the layout glibc's `syslog(3)` uses:
/// `<PRI>Mmm dd hh:mm:ss ident[pid]: message`, PRI = facility × 8 +
/// severity. `message` should already be [`sanitize`]d. The timestamp is
/// UTC (see the module documentation for why that is harmless).
pub fn format_syslog(
    facility: Facility,
    level: Level,
    ident: &str,
    pid: u32,
    time: SystemTime,
    offset: UtcOffset,
    message: &str,
) -> Vec<u8> {
    // `Facility::code` is already shifted (`LOG_DAEMON` = 3 << 3).
    let pri = facility.code() + i32::from(level.code());
    let t = date_time(time, offset);
    let month = MONTHS[usize::from(u8::from(t.month())) - 1];
    format!(
        "<{pri}>{month} {:>2} {:02}:{:02}:{:02} {ident}[{pid}]: {message}",
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
    .into_bytes()
}

/// A terminal line: `2025-03-29T17:55:01.123Z failoverd[412] warning: message`
/// (UTC, so that lines from both servers compare directly).
pub fn format_terminal(
    time: SystemTime,
    ident: &str,
    pid: u32,
    level: Level,
    message: &str,
) -> String {
    format!(
        "{} {ident}[{pid}] {level}: {message}\n",
        utc_timestamp(time)
    )
}

/// The months as syslog and RFC 5322 abbreviate them.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// This host's offset from UTC at `time`, from the time zone `TZ` names
/// or else `/etc/localtime`, read once (as glibc does; a changed zone
/// applies from the next start); UTC when neither gives one. Read here, not
/// with the `time` crate's `current_local_offset`, which answers only while
/// the process has one thread, and the daemons have two ([`crate::disk`]).
pub fn local_offset(time: SystemTime) -> UtcOffset {
    static ZONE: OnceLock<Option<tz::TimeZone>> = OnceLock::new();
    let zone = ZONE.get_or_init(|| match std::env::var("TZ") {
        Ok(tz) if !tz.is_empty() => tz::TimeZone::from_posix_tz(&tz).ok(),
        _ => tz::TimeZone::local().ok(),
    });
    offset_in(zone.as_ref(), time)
}

/// `zone`'s offset from UTC at `time`; UTC without a zone.
fn offset_in(zone: Option<&tz::TimeZone>, time: SystemTime) -> UtcOffset {
    let secs = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    };
    zone.and_then(|z| z.find_local_time_type(secs).ok())
        .and_then(|t| UtcOffset::from_whole_seconds(t.ut_offset()).ok())
        .unwrap_or(UtcOffset::UTC)
}

/// `time` at `offset`, within the years the formats can show: a clock
/// before 1970 or past 9999 (a broken one) shows the nearest end.
fn date_time(time: SystemTime, offset: UtcOffset) -> OffsetDateTime {
    const LAST: u64 = 253_402_214_400; // 9999-12-31T00:00:00Z
    let secs = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = secs.min(Duration::from_secs(LAST));
    OffsetDateTime::from(UNIX_EPOCH + secs).to_offset(offset)
}

/// `2025-03-29T17:55:01.123Z`.
pub fn utc_timestamp(time: SystemTime) -> String {
    let t = date_time(time, UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// An RFC 5322 `Date:` value at `offset`: `Sat, 29 Mar 2025 18:55:01 +0100`.
pub fn rfc5322_date(time: SystemTime, offset: UtcOffset) -> String {
    date_time(time, offset)
        .format(&Rfc2822)
        .unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 +0000".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn the_local_offset_follows_the_zone_across_daylight_saving() {
        // Central Europe: +1 h in winter, +2 h from the last Sunday of March.
        let zone = tz::TimeZone::from_posix_tz("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let winter = at(1_104_537_600, 0); // 2005-01-01T00:00:00Z
        let summer = at(1_120_176_000, 0); // 2005-07-01T00:00:00Z
        assert_eq!(offset_in(Some(&zone), winter).whole_hours(), 1);
        assert_eq!(offset_in(Some(&zone), summer).whole_hours(), 2);
        assert_eq!(offset_in(None, summer), UtcOffset::UTC);
        // And with a second thread alive, as in the daemons (the `time`
        // crate's own reading gives up then).
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        assert_eq!(offset_in(Some(&zone), summer).whole_hours(), 2);
        drop(tx);
        let _ = other.join();
    }

    #[test]
    fn syslog_line_has_glibc_layout() {
        // 2005-03-29 17:55:01 UTC, the day the 2005 walk-through was posted.
        let t = at(1_112_118_901, 0);
        let line = format_syslog(
            Facility::Daemon,
            Level::Crit,
            "failoverd",
            412,
            t,
            UtcOffset::UTC,
            "took over",
        );
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "<26>Mar 29 17:55:01 failoverd[412]: took over"
        );
        // Day of month space-padded, local7.debug = 23*8+7 = 191.
        let t = at(1_110_330_000, 0); // 2005-03-09 01:00:00
        let line = format_syslog(
            Facility::Local(7),
            Level::Debug,
            "heartbeatd",
            1,
            t,
            UtcOffset::UTC,
            "x",
        );
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "<191>Mar  9 01:00:00 heartbeatd[1]: x"
        );
        let line = format_syslog(Facility::Auth, Level::Emerg, "a", 2, t, UtcOffset::UTC, "y");
        assert!(line.starts_with(b"<32>"));
        let line = format_syslog(Facility::User, Level::Info, "a", 2, t, UtcOffset::UTC, "y");
        assert!(line.starts_with(b"<14>"));
    }

    #[test]
    fn times_are_utc_civil() {
        assert_eq!(utc_timestamp(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            utc_timestamp(at(1_112_118_901, 123)),
            "2005-03-29T17:55:01.123Z"
        );
        // Leap day.
        assert_eq!(
            utc_timestamp(at(951_782_400, 0)),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            rfc5322_date(at(0, 0), UtcOffset::UTC),
            "Thu, 01 Jan 1970 00:00:00 +0000"
        );
        assert_eq!(
            rfc5322_date(at(1_112_118_901, 0), UtcOffset::UTC),
            "Tue, 29 Mar 2005 17:55:01 +0000"
        );
        assert_eq!(
            rfc5322_date(at(951_782_400, 0), UtcOffset::UTC),
            "Tue, 29 Feb 2000 00:00:00 +0000"
        );
        let paris = UtcOffset::from_hms(1, 0, 0).unwrap();
        assert_eq!(
            rfc5322_date(at(1_112_118_901, 0), paris),
            "Tue, 29 Mar 2005 18:55:01 +0100"
        );
        // A broken clock far in the future still gives a date.
        assert!(
            rfc5322_date(UNIX_EPOCH + Duration::from_secs(u64::MAX / 4), paris)
                .starts_with("Fri, 31 Dec 9999")
        );
    }

    #[test]
    fn messages_are_one_bounded_line() {
        assert_eq!(sanitize("a\nb\tc\rd\u{7}"), "a?b c?d?");
        let long = "é".repeat(MAX_MESSAGE);
        let s = sanitize(&long);
        assert!(s.len() <= MAX_MESSAGE + 8);
        assert!(s.ends_with(" [cut]"));
        let t = format_terminal(at(0, 5), "failoverd", 9, Level::Warning, "hello");
        assert_eq!(t, "1970-01-01T00:00:00.005Z failoverd[9] warning: hello\n");
    }

    #[test]
    fn messages_count_what_is_above_debug_whatever_the_sinks_want() {
        let mut config = LogConfig::new("t", Facility::Daemon);
        config.syslog = false;
        config.terminal = false;
        let log = Logger::new(config);
        assert_eq!(log.messages(), 0);
        log.debug("routine: a health check ran");
        assert_eq!(log.messages(), 0, "debug lines are routine");
        log.info("written nowhere, counted");
        log.warning("w");
        assert_eq!(log.messages(), 2);
    }

    #[test]
    fn memory_logger_keeps_every_level() {
        let (log, cap) = Logger::memory("t");
        log.debug("d");
        log.error(format_args!("e {}", 1));
        let r = cap.records();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].level, Level::Debug);
        assert_eq!(r[1].message, "e 1");
        assert!(cap.contains("e 1"));
        assert_eq!(cap.text(), "debug: d\nerr: e 1\n");
    }

    #[test]
    fn a_storm_of_lines_is_cut_and_critical_lines_still_pass() {
        let (log, cap) = Logger::memory("t");
        let sent = BURST + 200;
        for i in 0..sent {
            log.info(format_args!("carrier lost {i}"));
        }
        log.log(Level::Crit, "the service is down");
        let r = cap.records();
        // The burst, and at most a few refilled tokens on a slow machine.
        let kept = r
            .iter()
            .filter(|r| r.message.starts_with("carrier"))
            .count() as u32;
        assert!((BURST..BURST + 20).contains(&kept), "{kept} kept");
        // Every line left out is counted in a summary (one, unless a token
        // came back during the storm), and the critical line is written.
        let suffix = format!(
            " log lines left out: more than {PER_SECOND} a second, after a burst of {BURST}"
        );
        let left_out: u32 = r
            .iter()
            .filter(|r| r.level == Level::Warning)
            .map(|r| r.message.strip_suffix(&suffix).expect("a summary"))
            .map(|n| n.parse::<u32>().expect("a count"))
            .sum();
        assert_eq!(left_out, sent - kept, "{}", cap.text());
        assert!(r[r.len() - 2].message.ends_with(&suffix));
        assert_eq!(r[r.len() - 1].message, "the service is down");
    }

    /// A private "syslogd" on a socket in a temp dir: what the logger sends
    /// is exactly one datagram per message, with the configured facility.
    #[test]
    fn sends_datagrams_to_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut config = LogConfig::new("failoverd", Facility::Local(3));
        config.syslog_path = path;
        let log = Logger::new(config);
        log.notice("network anomaly");
        log.debug("not sent: below the syslog level");
        log.warning("second");
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        // local3.notice = 19*8+5 = 157
        assert!(got.starts_with("<157>"), "{got}");
        assert!(
            got.ends_with(&format!(
                "failoverd[{}]: network anomaly",
                std::process::id()
            )),
            "{got}"
        );
        let n = server.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(
            got.starts_with("<156>") && got.ends_with("]: second"),
            "{got}"
        );
    }

    /// If the real `/dev/log` exists, a message reaches it without error
    /// (what the log daemon does with it is not checked).
    #[test]
    fn real_dev_log_if_present() {
        if !std::path::Path::new("/dev/log").exists() {
            eprintln!("no /dev/log here: skipping the real syslog check");
            return;
        }
        let log = Logger::new(LogConfig::new("failover-host-test", Facility::User));
        log.debug("failover-host unit test: debug, not sent");
        log.info("failover-host unit test: ignore this message");
    }
}
