//! Email through the local `sendmail -t -i`, without ever blocking the
//! daemon.
//!
//! Each message is one `sendmail` child in its own process group. The
//! message is written to its stdin from the event loop, non-blocking, a
//! piece per [`Mailer::poll`]; its output (an MTA's complaints) goes to the
//! log; it is reaped by `try_wait` and killed (SIGTERM, then SIGKILL) if it
//! outlives [`MailConfig::timeout`]. At most [`MailConfig::max_concurrent`]
//! run at once, at most [`MailConfig::max_queued`] wait, and at most
//! [`MailConfig::max_per_hour`] are started per rolling hour (a flapping
//! link must not flood the administrator's mailbox); whatever exceeds a
//! bound is logged, never silently lost.
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
use crate::config::cli::DEFAULT_SENDMAIL;
use crate::config::recipients::{parse_recipients, RecipientError};
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
    /// At most this many messages waiting for a slot; more are dropped
    /// (and logged).
    pub max_queued: usize,
    /// At most this many messages started per rolling hour.
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
            max_queued: 16,
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
    out.push_str(&rfc5322_date(msg.time, local_offset()));
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
    tag: String,
    started: Instant,
    kill: Kill,
}

/// Sends notification mail through `sendmail`, never blocking (see the
/// module documentation). Drive it with [`Mailer::poll`] whenever
/// [`Mailer::next_deadline`] has passed.
#[derive(Debug)]
pub struct Mailer {
    config: MailConfig,
    /// `Err` when the recipient setting is unusable: mail is off.
    recipients: Result<Vec<String>, RecipientError>,
    log: Logger,
    in_flight: Vec<Delivery>,
    queue: VecDeque<MailMessage>,
    /// Start times of the messages of the last hour.
    started: VecDeque<Instant>,
    /// Why mail is unavailable, once logged (logged again only after it
    /// worked in between).
    unavailable_logged: bool,
    /// The `now` of the latest poll, for the next wake-up.
    last_poll: Option<Instant>,
}

impl Mailer {
    /// A mailer with `config`, logging to `log`. An unusable recipient is
    /// logged now and turns mail off (the daemon still runs: notifications
    /// also go to syslog).
    pub fn new(config: MailConfig, log: Logger) -> Mailer {
        let recipients = parse_recipients(&config.recipient);
        if let Err(e) = &recipients {
            log.error(format_args!(
                "email notifications disabled: {e} (set FAILOVER_EMAIL_RECIPIENT)"
            ));
        }
        Mailer {
            config,
            recipients,
            log,
            in_flight: Vec::new(),
            queue: VecDeque::new(),
            started: VecDeque::new(),
            unavailable_logged: false,
            last_poll: None,
        }
    }

    /// The recipients, if mail is configured sensibly.
    pub fn recipients(&self) -> Option<&[String]> {
        self.recipients.as_deref().ok()
    }

    /// Why mail cannot be sent right now, if it cannot: the recipient
    /// setting, or `sendmail` missing or not executable. Checked at every
    /// message, so installing an MTA later enables mail without a restart.
    pub fn unavailable(&self) -> Option<String> {
        if let Err(e) = &self.recipients {
            return Some(e.to_string());
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

    /// Queues `msg` and starts it if a slot is free. Never blocks. If mail
    /// is unavailable this is logged (once) and the message dropped: the
    /// event itself is already in syslog.
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
        if self.queue.len() >= self.config.max_queued {
            self.log.error(format_args!(
                "mail queue full ({} waiting): not mailing {:?} \"{}\"",
                self.queue.len(),
                msg.tag,
                msg.subject
            ));
            return;
        }
        self.queue.push_back(msg);
        self.poll(now);
    }

    /// Messages being sent or waiting.
    pub fn pending(&self) -> usize {
        self.in_flight.len() + self.queue.len()
    }

    /// Advances every delivery: writes, reaps, kills on time-out, starts
    /// queued messages. Bounded work per call.
    pub fn poll(&mut self, now: Instant) {
        self.last_poll = Some(now);
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.step(i, now) {
                let d = self.in_flight.swap_remove(i);
                drop(d);
            } else {
                i += 1;
            }
        }
        // The hour window.
        while self
            .started
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Duration::from_secs(3600))
        {
            self.started.pop_front();
        }
        while self.in_flight.len() < self.config.max_concurrent.max(1) {
            let Some(msg) = self.queue.pop_front() else {
                break;
            };
            if self.started.len() >= self.config.max_per_hour {
                self.log.error(format_args!(
                    "mail rate limit reached ({} messages in the last hour): not mailing {:?} \"{}\"",
                    self.started.len(),
                    msg.tag,
                    msg.subject
                ));
                continue;
            }
            self.started.push_back(now);
            self.start(now, msg);
        }
    }

    /// When [`Mailer::poll`] should next run: every 100 ms while a message
    /// is in flight (its writes, exit and time limit are checked by
    /// polling; mail is rare, so this costs nothing while idle), `None`
    /// otherwise.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.in_flight.is_empty() {
            return None;
        }
        Some(self.last_poll.map_or_else(Instant::now, |t| t + MAIL_TICK))
    }

    /// Descriptors worth polling for input (`sendmail`'s output).
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.in_flight
            .iter()
            .filter(|d| !d.output.at_eof())
            .map(|d| d.output.fd())
            .collect()
    }

    /// Waits at most `limit` for every pending message to be handed to
    /// `sendmail` (polling every 10 ms). For shutdown only: the last
    /// notice ("relinquished") should not die with the daemon.
    pub fn flush(&mut self, limit: Duration) {
        let start = Instant::now();
        while self.pending() > 0 && start.elapsed() < limit {
            self.poll(Instant::now());
            if self.pending() > 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if self.pending() > 0 {
            self.log.warning(format_args!(
                "{} notification mail(s) still pending at exit",
                self.pending()
            ));
        }
    }

    fn start(&mut self, now: Instant, msg: MailMessage) {
        let recipients = match &self.recipients {
            Ok(r) => r,
            Err(_) => return,
        };
        let data = render_message(recipients, &msg, self.log.ident());
        let mut cmd = Command::new(&self.config.sendmail);
        cmd.arg("-t")
            .arg("-i")
            .env_clear()
            .env("PATH", crate::process::CHILD_PATH)
            .current_dir("/");
        let (mut child, out) = match spawn_captured(cmd, true) {
            Ok(x) => x,
            Err(e) => {
                self.log.error(format_args!(
                    "cannot run {} to mail {:?}: {e}",
                    self.config.sendmail.display(),
                    msg.tag
                ));
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
            "mailing {:?} \"{}\" to {} (sendmail pid {})",
            msg.tag,
            header_text(&msg.subject, 200),
            recipients.join(", "),
            child.id()
        ));
        let output = OutputPipe::new(out, "sendmail".to_owned(), 512, 8 * 1024);
        self.in_flight.push(Delivery {
            child,
            stdin,
            data,
            written: 0,
            output,
            tag: msg.tag,
            started: now,
            kill: Kill::No,
        });
    }

    /// One delivery's step; true when it is finished (reaped or given up).
    fn step(&mut self, i: usize, now: Instant) -> bool {
        let timeout = self.config.timeout;
        let grace = self.config.kill_grace;
        let log = self.log.clone();
        let d = &mut self.in_flight[i];
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
                } else if status.success() && d.stdin.is_none() && d.written == d.data.len() {
                    log.info(format_args!("mail {:?} handed to sendmail", d.tag));
                } else {
                    log.error(format_args!(
                        "mail {:?} probably not sent: sendmail {} after reading {} of {} bytes",
                        d.tag,
                        describe_status(status),
                        d.written,
                        d.data.len()
                    ));
                }
                true
            }
            Ok(None) => {
                if d.kill == Kill::No && now.saturating_duration_since(d.started) < timeout {
                    return false;
                }
                if d.kill == Kill::No {
                    log.error(format_args!(
                        "sendmail for {:?} still running after {} s: killing it",
                        d.tag,
                        timeout.as_secs()
                    ));
                    d.stdin = None;
                }
                let give_up = d.kill.step(&d.child, now, grace);
                if give_up {
                    log.error(format_args!(
                        "sendmail pid {} for {:?} does not die; no longer waiting for it",
                        d.child.id(),
                        d.tag
                    ));
                }
                give_up
            }
            Err(e) => {
                log.error(format_args!("sendmail for {:?}: cannot wait: {e}", d.tag));
                signal_group(&d.child, nix::sys::signal::Signal::SIGKILL);
                true
            }
        }
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
            format!("Date: {}", rfc5322_date(UNIX_EPOCH, local_offset()))
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
