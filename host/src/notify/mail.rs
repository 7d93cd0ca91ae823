//! Email through the local `sendmail -t -i`, without ever blocking the
//! daemon, and without losing a message to the daemon's death.
//!
//! Each message is first written to the spool ([`crate::notify::spool`]),
//! then handed to one `sendmail` child in its own process group. The
//! message is written to its stdin from the event loop, non-blocking, a
//! piece per [`Mailer::poll`]; its output (an MTA's complaints) goes to the
//! log; it is reaped by `try_wait` and killed (SIGTERM, then SIGKILL) if it
//! outlives [`MailConfig::timeout`]. When `sendmail` exits 0 the message
//! leaves the spool; when it fails (or is killed) the message stays and is
//! tried again after [`MailConfig::retry`]'s back-off; what a killed or
//! crashed daemon left is sent at its next start, oldest first. Delivery is
//! at least once: a daemon killed after `sendmail` took a message but
//! before it exited sends that message again at its next start.
//!
//! At most [`MailConfig::max_concurrent`] `sendmail` run at once, at most
//! [`MailConfig::max_spooled`] messages wait (the oldest is dropped for a
//! new one), and at most [`MailConfig::max_per_hour`] are accepted per
//! rolling hour (a flapping link must not flood the administrator's
//! mailbox); whatever exceeds a bound is logged, never silently lost.
//!
//! `-t` takes the recipients from the `To:` header and `-i` keeps a line with
//! a lone `.` from ending the message: every `sendmail` (Exim, Postfix,
//! OpenSMTPD, msmtp, dma, nullmailer) accepts both.

use std::collections::VecDeque;
use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command};
// CLOCK_MONOTONIC on purpose, not the machine's CLOCK_BOOTTIME
// (daemon::clock): these deadlines only bound sendmail's run and pace the
// mail; a suspend need not count towards either.
use std::time::{Duration, Instant, SystemTime};

use super::log::{local_offset, rfc5322_date, Level, Logger};
use super::spool::{Backoff, Opened, Spool, Ticket};
use crate::config::cli::{DEFAULT_SENDMAIL, DEFAULT_SPOOL_DIR};
use crate::config::recipients::{parse_recipients, RecipientError};
use crate::disk::Disk;
use crate::process::{
    describe_status, set_nonblocking, signal_group, spawn_captured, Kill, OutputPipe,
};

/// How often [`Mailer::next_deadline`] asks to be woken while a message is
/// in flight.
const MAIL_TICK: Duration = Duration::from_millis(100);

/// The longest body line sent (RFC 5322 allows 998 octets); longer lines are
/// cut.
const MAX_BODY_LINE: usize = 900;

/// How the daemon sends mail.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The `sendmail` program ([`DEFAULT_SENDMAIL`]).
    pub sendmail: PathBuf,
    /// `FAILOVER_EMAIL_RECIPIENT`: one address or several separated by
    /// commas or spaces (default `root`).
    pub recipient: String,
    /// Longest time one `sendmail` may run before it is killed.
    pub timeout: Duration,
    /// SIGTERM → SIGKILL grace when killing it.
    pub kill_grace: Duration,
    /// At most this many `sendmail` at once.
    pub max_concurrent: usize,
    /// The spool directory ([`DEFAULT_SPOOL_DIR`]; `--spool-dir`): every
    /// message is a file there until `sendmail` took it. Changes only at
    /// a restart.
    pub spool_dir: PathBuf,
    /// At most this many messages in the spool; a new one drops the oldest
    /// (and says so in the log).
    pub max_spooled: usize,
    /// How long a message whose `sendmail` failed waits before the next try.
    pub retry: Backoff,
    /// At most this many messages accepted per rolling hour.
    pub max_per_hour: usize,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            sendmail: PathBuf::from(DEFAULT_SENDMAIL),
            recipient: "root".to_owned(),
            timeout: Duration::from_secs(60),
            kill_grace: Duration::from_secs(5),
            max_concurrent: 4,
            spool_dir: PathBuf::from(DEFAULT_SPOOL_DIR),
            max_spooled: 100,
            retry: Backoff::default(),
            max_per_hour: 30,
        }
    }
}

/// One notification email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// The subject (ASCII; other characters become `?`).
    pub subject: String,
    /// The plain-text body (UTF-8).
    pub body: String,
    /// A short tag for the log and the `X-Failover-Event` header
    /// (`TookOver`, ...).
    pub tag: String,
    /// When the event happened (the `Date:` header).
    pub time: SystemTime,
}

/// The message as `sendmail -t` reads it: headers, a blank line, the body
/// with CRLF-free lines no longer than 998 octets.
pub fn render_message(recipients: &[String], msg: &MailMessage, ident: &str) -> Vec<u8> {
    let mut out = String::new();
    out.push_str("To: ");
    out.push_str(&recipients.join(", "));
    out.push('\n');
    out.push_str("Subject: ");
    out.push_str(&header_text(&msg.subject, 200));
    out.push('\n');
    out.push_str("Date: ");
    out.push_str(&rfc5322_date(msg.time, local_offset(msg.time)));
    out.push('\n');
    out.push_str("MIME-Version: 1.0\n");
    out.push_str("Content-Type: text/plain; charset=utf-8\n");
    out.push_str("Content-Transfer-Encoding: 8bit\n");
    // RFC 3834: no vacation auto-replies to the daemon.
    out.push_str("Auto-Submitted: auto-generated\n");
    out.push_str("X-Mailer: ");
    out.push_str(&header_text(ident, 40));
    out.push('\n');
    out.push_str("X-Failover-Event: ");
    out.push_str(&header_text(&msg.tag, 40));
    out.push_str("\n\n");
    for line in msg.body.lines() {
        let line = line.trim_end_matches('\r');
        if line.len() <= MAX_BODY_LINE {
            out.push_str(line);
        } else {
            let mut cut = MAX_BODY_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(&line[..cut]);
            out.push_str(" [cut]");
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// Header-safe text: printable ASCII only, at most `max` characters.
fn header_text(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// One `sendmail` in flight.
#[derive(Debug)]
struct Delivery {
    child: Child,
    stdin: Option<ChildStdin>,
    data: Vec<u8>,
    written: usize,
    output: OutputPipe,
    /// Its spool file; `None` when the spool could not take it (sent once,
    /// never retried).
    ticket: Option<Ticket>,
    tag: String,
    started: Instant,
    kill: Kill,
}

/// How a delivery ended.
enum Ended {
    /// `sendmail` exited 0 after reading the whole message.
    Sent,
    /// It failed, was killed, or could not be waited for: try again later.
    Failed,
}

/// Sends notification mail through `sendmail`, never blocking, from the
/// spool (see the module documentation). Drive it with [`Mailer::poll`]
/// whenever [`Mailer::next_deadline`] has passed.
#[derive(Debug)]
pub struct Mailer {
    config: MailConfig,
    /// `Err` when the recipient setting is unusable: mail is off.
    recipients: Result<Vec<String>, RecipientError>,
    log: Logger,
    /// `Err` (why) when the spool directory cannot be used: mail is off.
    spool: Result<Spool, String>,
    in_flight: Vec<Delivery>,
    /// When the messages of the last hour were accepted.
    started: VecDeque<Instant>,
    /// Why mail is unavailable, once logged (logged again only after it
    /// worked in between).
    unavailable_logged: bool,
    /// The `now` of the latest poll, for the next wake-up.
    last_poll: Option<Instant>,
}

impl Mailer {
    /// A mailer with `config`, logging to `log`, its spool opened in
    /// [`MailConfig::spool_dir`] under the log's name (the daemon's): the
    /// mail a previous run left there is queued, oldest first. An unusable
    /// recipient or spool is logged now and turns mail off (the daemon
    /// still runs: notifications also go to syslog).
    pub fn new(config: MailConfig, log: Logger, disk: Disk) -> Mailer {
        let m = Mailer::on_reload(config, log, disk);
        // At start, before the event loop: the leftovers to disk.
        if let Ok(spool) = &m.spool {
            if !spool.is_empty() {
                for e in spool.sync() {
                    m.log.error(format_args!("{e}"));
                }
            }
        }
        m
    }

    /// [`Mailer::new`] for a reload that turns mail on, from the event
    /// loop: the same, except that the leftovers are not synced to disk
    /// (an `fsync` waits for the disk; see [`crate::notify::spool`]).
    pub fn on_reload(config: MailConfig, log: Logger, disk: Disk) -> Mailer {
        let recipients = parse_recipients(&config.recipient);
        if let Err(e) = &recipients {
            log.error(format_args!(
                "email notifications disabled: {e} (set FAILOVER_EMAIL_RECIPIENT)"
            ));
        }
        let spool = match Spool::open(
            &config.spool_dir,
            log.ident(),
            config.max_spooled,
            config.retry,
            Instant::now(),
            disk,
        ) {
            Ok((spool, opened)) => {
                report_opened(&log, &spool, &opened);
                Ok(spool)
            }
            Err(e) => {
                log.error(format_args!(
                    "email notifications disabled: {e} (see --spool-dir)"
                ));
                Err(e.to_string())
            }
        };
        Mailer {
            config,
            recipients,
            log,
            spool,
            in_flight: Vec::new(),
            started: VecDeque::new(),
            unavailable_logged: false,
            last_poll: None,
        }
    }

    /// Takes a reloaded configuration: the recipients, `sendmail` and the
    /// limits apply to the next message; the deliveries running and the
    /// spool (its directory changes only at a restart) go on untouched.
    pub fn set_config(&mut self, config: MailConfig) {
        let recipients = parse_recipients(&config.recipient);
        if let Err(e) = &recipients {
            self.log.error(format_args!(
                "email notifications disabled: {e} (set FAILOVER_EMAIL_RECIPIENT)"
            ));
        }
        self.recipients = recipients;
        let spool_dir = std::mem::replace(&mut self.config, config).spool_dir;
        self.config.spool_dir = spool_dir;
    }

    /// The recipients, if mail is configured sensibly.
    pub fn recipients(&self) -> Option<&[String]> {
        self.recipients.as_deref().ok()
    }

    /// The spool, if it could be opened.
    pub fn spool(&self) -> Option<&Spool> {
        self.spool.as_ref().ok()
    }

    /// Why mail cannot be sent right now, if it cannot: the recipient
    /// setting, or `sendmail` missing or not executable. Checked at every
    /// message, so installing an MTA later enables mail without a restart.
    pub fn unavailable(&self) -> Option<String> {
        if let Err(e) = &self.recipients {
            return Some(e.to_string());
        }
        if let Err(e) = &self.spool {
            return Some(e.clone());
        }
        let path = &self.config.sendmail;
        match std::fs::metadata(path) {
            Err(e) if e.kind() == ErrorKind::NotFound => Some(format!(
                "{} not found: no mail transfer agent is installed \
                 (install one, e.g. `apt install exim4-daemon-light`, postfix or dma, \
                 or point --sendmail at yours)",
                path.display()
            )),
            Err(e) => Some(format!("{}: {e}", path.display())),
            Ok(m) if !m.is_file() || m.permissions().mode() & 0o111 == 0 => {
                Some(format!("{} is not an executable file", path.display()))
            }
            Ok(_) => None,
        }
    }

    /// Writes `msg` to the spool and starts it if a slot is free. Never
    /// blocks (see [`crate::notify::spool`] for why the write is bounded).
    /// If mail is unavailable this is logged (once) and the message
    /// dropped: the event itself is already in syslog.
    pub fn send(&mut self, now: Instant, msg: MailMessage) {
        if let Some(why) = self.unavailable() {
            if !self.unavailable_logged {
                self.unavailable_logged = true;
                self.log.warning(format_args!(
                    "email notifications disabled: {why}; events are still logged to syslog"
                ));
            } else {
                self.log
                    .debug(format_args!("not mailing {:?}: mail is off", msg.tag));
            }
            return;
        }
        if self.unavailable_logged {
            self.unavailable_logged = false;
            self.log
                .notice("email notifications enabled again: sendmail is available");
        }
        self.forget_old_starts(now);
        if self.started.len() >= self.config.max_per_hour {
            self.log.error(format_args!(
                "mail rate limit reached ({} messages in the last hour): not mailing {:?} \"{}\"",
                self.started.len(),
                msg.tag,
                msg.subject
            ));
            return;
        }
        let (Ok(recipients), Ok(spool)) = (&self.recipients, &mut self.spool) else {
            return;
        };
        self.started.push_back(now);
        let data = render_message(recipients, &msg, self.log.ident());
        let to = recipients.join(", ");
        match spool.add(now, &msg.tag, &data) {
            Ok((ticket, dropped)) => {
                self.log.info(format_args!(
                    "mailing {:?} \"{}\" to {to} (spooled in {})",
                    msg.tag,
                    header_text(&msg.subject, 200),
                    spool.path(&ticket).display()
                ));
                for old in dropped {
                    self.log.error(format_args!(
                        "mail spool {} full ({} messages): dropped the oldest, {:?} (seq {}), \
                         never sent",
                        spool.dir().display(),
                        spool.max(),
                        old.tag,
                        old.seq
                    ));
                }
            }
            Err(e) => {
                // Disk full, say: still try once, from memory.
                self.log.error(format_args!(
                    "{e}: mailing {:?} \"{}\" to {to} without a spool copy (not retried if \
                     sendmail fails, lost if the daemon stops first)",
                    msg.tag,
                    header_text(&msg.subject, 200),
                ));
                if self.in_flight.len() < self.config.max_concurrent.max(1) {
                    self.start(now, None, msg.tag, data);
                } else {
                    self.log.error(format_args!(
                        "not mailing {:?}: {} sendmail already running and no spool to wait in",
                        msg.tag,
                        self.in_flight.len()
                    ));
                }
            }
        }
        self.poll(now);
    }

    /// Messages not yet handed to `sendmail` for good: being sent or in the
    /// spool.
    pub fn pending(&self) -> usize {
        let spooled = self.spool.as_ref().map_or(0, Spool::len);
        let unspooled = self.in_flight.iter().filter(|d| d.ticket.is_none()).count();
        spooled + unspooled
    }

    /// `sendmail`s running.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether nothing is running and nothing is due at `now` (what waits
    /// for its back-off is not due).
    pub fn is_idle(&self, now: Instant) -> bool {
        self.in_flight.is_empty() && !self.spool.as_ref().is_ok_and(|s| s.has_due(now))
    }

    /// Advances every delivery (writes, reaps, kills on time-out), removes
    /// what was sent from the spool, puts back what failed for its
    /// back-off, and starts the messages due, oldest first. Bounded work
    /// per call.
    pub fn poll(&mut self, now: Instant) {
        self.last_poll = Some(now);
        let mut i = 0;
        while i < self.in_flight.len() {
            match self.step(i, now) {
                None => i += 1,
                Some(ended) => {
                    let d = self.in_flight.swap_remove(i);
                    self.finish(now, d, ended);
                }
            }
        }
        while self.in_flight.len() < self.config.max_concurrent.max(1) {
            let Ok(spool) = self.spool.as_mut() else {
                break;
            };
            let Some(ticket) = spool.take_due(now) else {
                break;
            };
            match spool.read(&ticket) {
                Ok(data) => {
                    let tag = ticket.tag.clone();
                    self.start(now, Some(ticket), tag, data);
                }
                Err(e) => {
                    self.log
                        .error(format_args!("{e}: mail {:?} dropped", ticket.tag));
                    spool.remove(&ticket);
                }
            }
        }
    }

    /// When [`Mailer::poll`] should next run: every 100 ms while a message
    /// is in flight (its writes, exit and time limit are checked by
    /// polling; mail is rare, so this costs nothing while idle); else when
    /// the next spooled message is due; `None` when there is nothing to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        if !self.in_flight.is_empty() {
            return Some(self.last_poll.map_or_else(Instant::now, |t| t + MAIL_TICK));
        }
        self.spool.as_ref().ok().and_then(Spool::next_due)
    }

    /// Descriptors worth polling for input (`sendmail`'s output).
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.in_flight
            .iter()
            .filter(|d| !d.output.at_eof())
            .map(|d| d.output.fd())
            .collect()
    }

    /// Waits at most `limit` for the messages running or due to be handed
    /// to `sendmail` (polling every 10 ms). For shutdown only, never from
    /// the event loop: the last notice ("relinquished") should not wait
    /// for the next start. What is not sent stays in the spool, synced to
    /// disk, for the next start.
    pub fn flush(&mut self, limit: Duration) {
        let start = Instant::now();
        while !self.is_idle(Instant::now()) && start.elapsed() < limit {
            self.poll(Instant::now());
            if !self.is_idle(Instant::now()) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let unspooled = self.in_flight.iter().filter(|d| d.ticket.is_none()).count();
        if unspooled > 0 {
            self.log.warning(format_args!(
                "{unspooled} notification mail(s) without a spool copy still being sent at exit"
            ));
        }
        if let Ok(spool) = &self.spool {
            if !spool.is_empty() {
                self.log.warning(format_args!(
                    "{} notification mail(s) not yet sent: kept in {} for the next start",
                    spool.len(),
                    spool.dir().display()
                ));
                for e in spool.sync() {
                    self.log.error(format_args!("{e}"));
                }
            }
        }
    }

    /// Forgets the acceptances older than an hour (the rate window).
    fn forget_old_starts(&mut self, now: Instant) {
        while self
            .started
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Duration::from_secs(3600))
        {
            self.started.pop_front();
        }
    }

    /// A delivery ended: a sent message leaves the spool, a failed one
    /// waits for its back-off.
    fn finish(&mut self, now: Instant, d: Delivery, ended: Ended) {
        let Some(ticket) = d.ticket else {
            return;
        };
        let Ok(spool) = self.spool.as_mut() else {
            return;
        };
        match ended {
            Ended::Sent => spool.remove(&ticket),
            Ended::Failed => match spool.failed(&ticket, now) {
                Some(delay) => self.log.warning(format_args!(
                    "mail {:?} kept in {}: trying again in {} s",
                    ticket.tag,
                    spool.path(&ticket).display(),
                    delay.as_secs()
                )),
                None => self.log.error(format_args!(
                    "mail {:?} not sent and no longer in the spool (dropped to keep it within \
                     {} messages)",
                    ticket.tag,
                    spool.max()
                )),
            },
        }
    }

    /// Starts `sendmail` for `data` (`ticket`'s, if spooled). A `sendmail`
    /// that cannot be started counts as a failed delivery.
    fn start(&mut self, now: Instant, ticket: Option<Ticket>, tag: String, data: Vec<u8>) {
        let why_not = self.unavailable();
        let mut cmd = Command::new(&self.config.sendmail);
        cmd.arg("-t")
            .arg("-i")
            .env_clear()
            .env("PATH", crate::process::CHILD_PATH)
            .current_dir("/");
        let spawned = match why_not {
            Some(why) => Err(std::io::Error::other(why)),
            None => spawn_captured(cmd, true),
        };
        let (mut child, out) = match spawned {
            Ok(x) => x,
            Err(e) => {
                self.log.error(format_args!(
                    "cannot run {} to mail {tag:?}: {e}",
                    self.config.sendmail.display(),
                ));
                if let (Some(t), Ok(spool)) = (ticket, self.spool.as_mut()) {
                    if let Some(delay) = spool.failed(&t, now) {
                        self.log.warning(format_args!(
                            "mail {tag:?} kept in {}: trying again in {} s",
                            spool.path(&t).display(),
                            delay.as_secs()
                        ));
                    }
                }
                return;
            }
        };
        let stdin = child.stdin.take();
        if let Some(s) = &stdin {
            if let Err(e) = set_nonblocking(s.as_fd()) {
                self.log.warning(format_args!(
                    "sendmail stdin: cannot make non-blocking: {e}"
                ));
            }
        }
        self.log.info(format_args!(
            "sendmail pid {} started for mail {tag:?}",
            child.id()
        ));
        let output = OutputPipe::new(out, "sendmail".to_owned(), 512, 8 * 1024);
        self.in_flight.push(Delivery {
            child,
            stdin,
            data,
            written: 0,
            output,
            ticket,
            tag,
            started: now,
            kill: Kill::No,
        });
    }

    /// One delivery's step; how it ended, once it has (reaped or given up).
    fn step(&mut self, i: usize, now: Instant) -> Option<Ended> {
        let timeout = self.config.timeout;
        let grace = self.config.kill_grace;
        let log = self.log.clone();
        let d = self.in_flight.get_mut(i)?;
        write_some(d, &log);
        d.output.drain(&log.at(Level::Warning));
        match d.child.try_wait() {
            Ok(Some(status)) => {
                d.output.drain(&log.at(Level::Warning));
                d.output.flush(&log.at(Level::Warning));
                if d.kill != Kill::No {
                    log.error(format_args!(
                        "mail {:?} not sent: sendmail was killed after {} s",
                        d.tag,
                        timeout.as_secs()
                    ));
                    Some(Ended::Failed)
                } else if status.success() && d.stdin.is_none() && d.written == d.data.len() {
                    log.info(format_args!("mail {:?} handed to sendmail", d.tag));
                    Some(Ended::Sent)
                } else {
                    log.error(format_args!(
                        "mail {:?} probably not sent: sendmail {} after reading {} of {} bytes",
                        d.tag,
                        describe_status(status),
                        d.written,
                        d.data.len()
                    ));
                    Some(Ended::Failed)
                }
            }
            Ok(None) => {
                if d.kill == Kill::No && now.saturating_duration_since(d.started) < timeout {
                    return None;
                }
                if d.kill == Kill::No {
                    log.error(format_args!(
                        "sendmail for {:?} still running after {} s: killing it",
                        d.tag,
                        timeout.as_secs()
                    ));
                    d.stdin = None;
                }
                if d.kill.step(&d.child, now, grace) {
                    log.error(format_args!(
                        "sendmail pid {} for {:?} does not die; no longer waiting for it",
                        d.child.id(),
                        d.tag
                    ));
                    Some(Ended::Failed)
                } else {
                    None
                }
            }
            Err(e) => {
                log.error(format_args!("sendmail for {:?}: cannot wait: {e}", d.tag));
                signal_group(&d.child, nix::sys::signal::Signal::SIGKILL);
                Some(Ended::Failed)
            }
        }
    }
}

/// Logs what opening the spool found: unfinished files removed, leftovers
/// to send, leftovers dropped beyond the bound.
fn report_opened(log: &Logger, spool: &Spool, opened: &Opened) {
    let dir = spool.dir().display();
    for p in &opened.removed_temp {
        log.info(format_args!(
            "mail spool: removed {}, a message a previous run did not finish writing",
            p.display()
        ));
    }
    for t in &opened.dropped {
        log.error(format_args!(
            "mail spool {dir} holds more than {} messages: dropped the oldest, {:?} (seq {}), \
             never sent",
            spool.max(),
            t.tag,
            t.seq
        ));
    }
    for e in &opened.errors {
        log.error(format_args!("{e}"));
    }
    if opened.leftovers > 0 {
        let tags: Vec<&str> = spool.tickets().map(|t| t.tag.as_str()).collect();
        log.notice(format_args!(
            "mail spool {dir}: {} notification mail(s) left by a previous run, sending them now, \
             oldest first: {}",
            opened.leftovers,
            tags.join(", ")
        ));
    }
}

/// Writes what the pipe takes now; closes stdin when all is written or the
/// reader is gone.
fn write_some(d: &mut Delivery, log: &Logger) {
    let Some(stdin) = d.stdin.as_mut() else {
        return;
    };
    // Bounded: each successful write makes progress, at most 64 rounds.
    for _ in 0..64 {
        if d.written >= d.data.len() {
            break;
        }
        match stdin.write(&d.data[d.written..]) {
            Ok(0) => break,
            Ok(n) => d.written += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) => {
                log.error(format_args!(
                    "mail {:?}: writing to sendmail failed: {e}",
                    d.tag
                ));
                d.stdin = None;
                return;
            }
        }
    }
    if d.written >= d.data.len() {
        // End of message.
        d.stdin = None;
    }
}

impl Drop for Mailer {
    fn drop(&mut self) {
        // Deliveries still writing would get a truncated message; those
        // already fed finish on their own. Nothing here blocks.
        for d in &mut self.in_flight {
            if d.stdin.is_some() {
                signal_group(&d.child, nix::sys::signal::Signal::SIGTERM);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn message_has_headers_and_bounded_lines() {
        let msg = MailMessage {
            subject: "[failover] server2: took over 192.0.2.10 \u{2014} é\nBcc: x".to_owned(),
            body: format!("line one\r\n.\n{}\n", "x".repeat(2000)),
            tag: "TookOver".to_owned(),
            time: UNIX_EPOCH,
        };
        let out =
            String::from_utf8(render_message(&["root".to_owned()], &msg, "failoverd")).unwrap();
        let (head, body) = out.split_once("\n\n").unwrap();
        let headers: Vec<&str> = head.lines().collect();
        assert_eq!(headers[0], "To: root");
        assert_eq!(
            headers[1],
            "Subject: [failover] server2: took over 192.0.2.10 ? ??Bcc: x"
        );
        assert_eq!(
            headers[2],
            format!(
                "Date: {}",
                rfc5322_date(UNIX_EPOCH, local_offset(UNIX_EPOCH))
            )
        );
        assert!(headers.contains(&"Auto-Submitted: auto-generated"));
        assert!(headers.contains(&"X-Failover-Event: TookOver"));
        assert!(!head.contains("\nBcc"));
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[0], "line one");
        assert_eq!(lines[1], ".");
        assert!(lines[2].len() <= MAX_BODY_LINE + 6 && lines[2].ends_with("[cut]"));
        assert!(!out.contains('\r'));
    }
}
