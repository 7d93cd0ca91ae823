//! Telling the administrator: every core [`Event`] goes to syslog (with the
//! `-L` facility, default `daemon`) and, with `-d`, to the terminal; the
//! important ones also by email to `FAILOVER_EMAIL_RECIPIENT` (default
//! `root`) through the local `sendmail -t -i`, as Apple's `NotifyFailover`
//! did.
//!
//! - [`Logger`] (in [`log`]): the one log every part of the daemon writes
//!   to; syslog datagrams to `/dev/log` and/or level-tagged, timestamped
//!   terminal lines. Never blocks, and a storm of lines is cut to a
//!   steady rate ([`budget`]).
//! - [`Mailer`] (in [`mail`]): one `sendmail` child per message, fed and
//!   reaped from the event loop, bounded in time, concurrency and rate.
//! - [`Spool`] (in [`spool`]): every message a file until `sendmail` took
//!   it, so that mail survives SIGKILL, a crash, a reload and a failing
//!   MTA (retried with back-off, and at the next start).
//! - [`Notifier`]: turns an [`Event`] plus a [`NotifyContext`] (host name,
//!   role, addresses, per-link state, reason) into a log line and, per the
//!   table below, an email whose subject and body say what happened, what
//!   the daemon did and what to check.
//!
//! # Events, severities and mail
//!
//! Mailed: what changes who serves the addresses, what leaves the service
//! down or unprotected, and the "all clear" that closes each of those. Only
//! logged: what another mailed notice already reports (on the secondary,
//! "peer lost" is followed by "took over", "refused" or "cancelled") and the
//! witness's own bookkeeping. The severities are syslog's: `crit` means the
//! service is (or may be) down or at risk of a split brain.
//!
//! | Event | Severity | Mail | Why |
//! |---|---|---|---|
//! | TookOver | crit | yes | the primary is down; the secondary serves |
//! | NetworkAnomaly | warning | yes | one network silent: protection degraded (Apple mailed it) |
//! | NetworkRestored | notice | yes | closes the anomaly |
//! | Relinquished | notice | yes | failback done (Apple mailed it) |
//! | Vetoed | crit | yes | primary silent, no takeover: nobody may serve |
//! | ScriptFailed | err | yes | a PostAcq/PreRel/PostRel step did not happen |
//! | TakeoverCancelled | warning | yes | the primary paused for a dead time; PreAcq effects remain |
//! | LeaseExpired | crit | yes | addresses dropped for want of the witness |
//! | WitnessLost | warning | yes | the tie-breaker is gone |
//! | WitnessRegained | notice | yes | closes it |
//! | WitnessDenied | warning | yes | explains why no takeover happened |
//! | WitnessFallback | err | yes | takeover without a third opinion |
//! | Acquired | notice | yes | the primary serves (start-up or failback) |
//! | Yielded | crit | yes | the primary was frozen or cut off |
//! | Isolated | crit | yes | the primary dropped its addresses |
//! | Stalled | err | yes | this node froze and dropped its addresses |
//! | PeerLost (primary) | err | yes | the backup is gone: unprotected |
//! | PeerLost (secondary, witness) | warning | no | the outcome follows in its own notice |
//! | PeerRegained (primary) | notice | yes | protection restored |
//! | PeerRegained (secondary, witness) | notice | no | a relinquish notice follows if it held |
//! | Granted | notice | no | witness bookkeeping |
//! | GrantEnded | info | no | witness bookkeeping |
//! | IntervalRefused | err | yes | the peer's timing is not believed: a mismatch or a forgery |
//! | ActionsLost | crit | yes | the daemon dropped decisions unperformed: addresses may be wrong |
//! | RemovalFailed | crit | yes | the addresses may still be here: the peer waits, the removal is retried |
//! | RemovalRecovered | notice | yes | closes it: the handshake goes on |
//! | HandoverStarted | notice | yes | the operator's switchover: the primary let go first |
//! | HandoverFailed | err | yes | the secondary did not take it: the primary serves again |
//! | StandingBy | notice | yes | the secondary serves; `heartbeatd --reclaim` takes it back |
//! | StandbyEnded | crit | yes | the secondary stopped serving while the primary stood by |
//! | CheckFailed | crit | yes | the primary's Check scripts fail: it hands the service over |
//! | CheckPassed | notice | yes | closes it: failback follows the failback setting |
//!
//! Script output, skipped scripts and mail delivery go to the same log (see
//! [`crate::scripts`]).

#![warn(missing_docs)]

pub mod budget;
pub mod log;
pub mod mail;
pub mod spool;
pub mod text;

use std::fmt::Write as _;
use std::path::PathBuf;
// `Instant` (CLOCK_MONOTONIC) is the mail's clock (see `mail`), not the
// machine's (daemon::clock).
use std::time::{Instant, SystemTime};

use failover_core::action::Event;
use failover_core::Role;

pub use self::log::{Facility, Level, LogCapture, LogConfig, LogRecord, Logger};
pub use self::mail::{MailConfig, MailMessage, Mailer};
pub use self::spool::{Backoff, Spool, SpoolError};
pub use self::text::{describe, policy, Notice};
use crate::config::cli::ServiceAddress;
use crate::disk::Disk;

/// The state of one network link as the caller sees it, for the log line
/// and the email ("every transition logs its reason and the link states").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkReport {
    /// How the administrator knows the link: `private (eth1)`.
    pub name: String,
    /// Its state in words: `heard 0.3 s ago`, `silent for 3.2 s`.
    pub state: String,
}

/// What a notification needs to know besides the event: who this node is,
/// what it serves, and how its links look right now. The daemon builds one
/// per event (cheap: a few strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyContext {
    /// This host's name (see [`local_hostname`]).
    pub hostname: String,
    /// This node's role.
    pub role: Role,
    /// The peer server's address as configured (the primary's private
    /// address on the secondary, the secondary's on the primary).
    pub peer: Option<String>,
    /// The service addresses, in configuration order.
    pub addresses: Vec<ServiceAddress>,
    /// Per-link state, indexed by `LinkId` (link 0 = private).
    pub links: Vec<LinkReport>,
    /// The witness's state in words, when one is configured.
    pub witness: Option<String>,
    /// Where the scripts live, for "what to check" (default
    /// `/etc/failover`).
    pub scripts_dir: Option<PathBuf>,
    /// Extra detail from the caller: the failing script and its status, the
    /// dead time used, why a release started.
    pub reason: Option<String>,
}

impl NotifyContext {
    /// A context with only the host name and role filled in.
    pub fn new(hostname: &str, role: Role) -> NotifyContext {
        NotifyContext {
            hostname: hostname.to_owned(),
            role,
            peer: None,
            addresses: Vec::new(),
            links: Vec::new(),
            witness: None,
            scripts_dir: None,
            reason: None,
        }
    }

    /// `private (eth1): heard 0.3 s ago, public (eth0): silent for 3.2 s`.
    pub fn links_text(&self) -> String {
        let mut out = String::new();
        for (i, l) in self.links.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}: {}", l.name, l.state);
        }
        out
    }
}

/// The host name for notifications (the kernel's, as `hostname` prints it),
/// or `localhost` if it cannot be read.
pub fn local_hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The one log line for `notice`: its summary, then the reason, the links
/// and the witness.
pub fn log_line(notice: &Notice, ctx: &NotifyContext) -> String {
    let mut line = notice.summary.clone();
    let mut extras = Vec::new();
    if let Some(r) = ctx.reason.as_deref().filter(|r| !r.is_empty()) {
        extras.push(format!("reason: {r}"));
    }
    if !ctx.links.is_empty() {
        extras.push(format!("links: {}", ctx.links_text()));
    }
    if let Some(w) = ctx.witness.as_deref() {
        extras.push(format!("witness: {w}"));
    }
    if !extras.is_empty() {
        let _ = write!(line, " ({})", extras.join("; "));
    }
    line
}

/// The email for `notice`: subject `[failover] <host>: <summary>`, and a
/// body in sections an administrator can act on at 3 AM.
pub fn mail_message(
    notice: &Notice,
    ctx: &NotifyContext,
    time: SystemTime,
    ident: &str,
) -> MailMessage {
    let host = if ctx.hostname.is_empty() {
        "localhost"
    } else {
        &ctx.hostname
    };
    let mut b = String::new();
    let _ = writeln!(b, "{} on {host} ({}):", ident, ctx.role.name());
    let _ = writeln!(b, "{}", notice.summary);
    let _ = writeln!(b);
    let _ = writeln!(b, "WHAT HAPPENED");
    wrap(&mut b, &notice.happened);
    if let Some(r) = ctx.reason.as_deref().filter(|r| !r.is_empty()) {
        wrap(&mut b, &format!("Detail: {r}"));
    }
    let _ = writeln!(b);
    let _ = writeln!(b, "WHAT {} DID", ident.to_uppercase());
    wrap(&mut b, &notice.did);
    let _ = writeln!(b);
    let _ = writeln!(b, "WHAT TO CHECK");
    for c in &notice.check {
        wrap_item(&mut b, c);
    }
    let _ = writeln!(b);
    let _ = writeln!(b, "STATE");
    let _ = writeln!(
        b,
        "  Host:      {host} ({}, {ident} pid {})",
        ctx.role.name(),
        std::process::id()
    );
    if let Some(p) = ctx.peer.as_deref() {
        let _ = writeln!(b, "  Peer:      {p}");
    }
    if !ctx.addresses.is_empty() {
        let list: Vec<String> = ctx
            .addresses
            .iter()
            .map(ServiceAddress::on_interface)
            .collect();
        let _ = writeln!(b, "  Addresses: {}", list.join(", "));
    }
    for l in &ctx.links {
        let _ = writeln!(b, "  Link {}: {}", l.name, l.state);
    }
    if let Some(w) = ctx.witness.as_deref() {
        let _ = writeln!(b, "  Witness:   {w}");
    }
    let _ = writeln!(b, "  Event:     {} ({})", notice.tag, notice.level);
    let _ = writeln!(b, "  Time:      {}", log::utc_timestamp(time));
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "-- \nSent by {ident} on {host}. The system log has the full story: journalctl -t {ident}\n\
         Recipient: FAILOVER_EMAIL_RECIPIENT in /etc/default/failover."
    );
    MailMessage {
        subject: format!("[failover] {host}: {}", notice.summary),
        body: b,
        tag: notice.tag.to_owned(),
        time,
    }
}

/// Appends `text` wrapped at 72 columns, indented by two spaces.
fn wrap(out: &mut String, text: &str) {
    wrap_with(out, text, "  ", "  ");
}

/// Appends `text` as a bulleted item wrapped at 72 columns.
fn wrap_item(out: &mut String, text: &str) {
    wrap_with(out, text, "  - ", "    ");
}

fn wrap_with(out: &mut String, text: &str, first: &str, rest: &str) {
    let mut col = 0;
    let mut prefix = first;
    for word in unbroken_words(text) {
        let word = word.as_str();
        let len = word.chars().count();
        if col > 0 && col + 1 + len > 72 {
            out.push('\n');
            col = 0;
            prefix = rest;
        }
        if col == 0 {
            out.push_str(prefix);
            col = prefix.len();
        } else {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
    }
    if col > 0 {
        out.push('\n');
    }
}

/// The words of `text`, except that a `` `quoted command` `` stays one
/// piece, so that wrapping never splits a command an administrator should
/// copy.
fn unbroken_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut open = false;
    for w in text.split_whitespace() {
        match words.last_mut() {
            Some(last) if open => {
                last.push(' ');
                last.push_str(w);
            }
            _ => words.push(w.to_owned()),
        }
        if w.matches('`').count() % 2 == 1 {
            open = !open;
        }
    }
    words
}

/// Logs and mails events. The daemon calls [`Notifier::notify`] for every
/// `Action::Notify`, and [`Notifier::poll`] whenever
/// [`Notifier::next_deadline`] has passed (mail in flight or due).
#[derive(Debug)]
pub struct Notifier {
    log: Logger,
    mailer: Option<Mailer>,
    /// Whether new notices are mailed. A reload that turns mail off keeps
    /// the mailer to finish what it already took.
    mail_on: bool,
    /// For a spool opened by a reload.
    disk: Disk,
}

impl Notifier {
    /// Logs to `log`; mails with `mail` unless it is `None` (mail off: the
    /// spool is then left alone), its spool's files written by `disk`.
    pub fn new(log: Logger, mail: Option<MailConfig>, disk: Disk) -> Notifier {
        let mailer = mail.map(|m| Mailer::new(m, log.clone(), disk.clone()));
        let mail_on = mailer.is_some();
        Notifier {
            log,
            mailer,
            mail_on,
            disk,
        }
    }

    /// Takes a reloaded mail configuration without waiting for anything:
    /// the `sendmail`s running keep running and the spool keeps its
    /// messages (a reload must neither block the loop nor lose mail).
    /// `None` stops mailing new notices; what was already taken is still
    /// sent.
    pub fn reconfigure(&mut self, mail: Option<MailConfig>) {
        self.mail_on = mail.is_some();
        match (mail, self.mailer.as_mut()) {
            (Some(c), Some(m)) => m.set_config(c),
            (Some(c), None) => {
                self.mailer = Some(Mailer::on_reload(c, self.log.clone(), self.disk.clone()));
            }
            (None, _) => {}
        }
    }

    /// The logger, for the rest of the daemon.
    pub fn logger(&self) -> &Logger {
        &self.log
    }

    /// The mailer, if mail is on (or was, with mail still to send).
    pub fn mailer(&self) -> Option<&Mailer> {
        self.mailer.as_ref()
    }

    /// Logs `event` at its severity with the reason and link states, and
    /// mails it if the table says so. Never blocks.
    pub fn notify(&mut self, now: Instant, event: Event, ctx: &NotifyContext) {
        let notice = describe(&event, ctx);
        self.log.log(notice.level, log_line(&notice, ctx));
        if notice.mail && self.mail_on {
            if let Some(m) = self.mailer.as_mut() {
                let msg = mail_message(&notice, ctx, SystemTime::now(), self.log.ident());
                m.send(now, msg);
            }
        }
    }

    /// Advances mail deliveries.
    pub fn poll(&mut self, now: Instant) {
        if let Some(m) = self.mailer.as_mut() {
            m.poll(now);
        }
    }

    /// When [`Notifier::poll`] next needs to run, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.mailer.as_ref().and_then(Mailer::next_deadline)
    }

    /// At shutdown only: waits at most `limit` for mail running or due;
    /// what is not sent stays in the spool for the next start.
    pub fn flush(&mut self, limit: std::time::Duration) {
        if let Some(m) = self.mailer.as_mut() {
            m.flush(limit);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::cli::InterfaceName;
    use failover_core::action::{LinkMask, StageOutcome};
    use failover_core::wire::DenyReason;
    use failover_core::Duration;
    use failover_core::Stage;

    pub(crate) fn context(role: Role) -> NotifyContext {
        NotifyContext {
            hostname: "server2".to_owned(),
            role,
            peer: Some("198.51.100.1".to_owned()),
            addresses: vec![ServiceAddress {
                interface: InterfaceName::new("eth0").unwrap(),
                addr: "192.0.2.10".parse().unwrap(),
                prefix: None,
            }],
            links: vec![
                LinkReport {
                    name: "private (eth1)".to_owned(),
                    state: "silent for 3.2 s".to_owned(),
                },
                LinkReport {
                    name: "public (eth0)".to_owned(),
                    state: "heard 0.3 s ago".to_owned(),
                },
            ],
            witness: None,
            scripts_dir: None,
            reason: None,
        }
    }

    fn all_events() -> Vec<Event> {
        vec![
            Event::TookOver,
            Event::NetworkAnomaly {
                silent: LinkMask(1),
            },
            Event::NetworkRestored,
            Event::Relinquished,
            Event::Vetoed {
                stage: Stage::Test,
                outcome: StageOutcome::Failed(5),
            },
            Event::ScriptFailed {
                stage: Stage::PreRel,
                outcome: StageOutcome::TimedOut,
            },
            Event::TakeoverCancelled,
            Event::LeaseExpired,
            Event::WitnessLost,
            Event::WitnessRegained,
            Event::WitnessDenied {
                reason: DenyReason::PrimaryAlive,
            },
            Event::WitnessFallback,
            Event::Acquired,
            Event::Yielded,
            Event::Isolated,
            Event::Stalled,
            Event::PeerLost,
            Event::PeerRegained,
            Event::Granted,
            Event::GrantEnded,
            Event::Unreachable,
            Event::Reachable,
            Event::HandedOver,
            Event::PrimaryHandedOver { planned: false },
            Event::HandoverStarted,
            Event::HandoverFailed,
            Event::StandingBy,
            Event::StandbyEnded,
            Event::CheckFailed,
            Event::CheckPassed,
            Event::RemovalFailed,
            Event::RemovalRecovered,
            Event::IntervalRefused {
                advertised: Duration::from_secs(4000),
                used: Duration::from_secs(4),
            },
            Event::ActionsLost { count: 3 },
        ]
    }

    /// The table in the module documentation says what [`policy`] does.
    #[test]
    fn doc_table_matches_policy() {
        let src = include_str!("mod.rs");
        let mut rows = 0;
        for line in src.lines() {
            let Some(row) = line.strip_prefix("//! | ") else {
                continue;
            };
            let cells: Vec<&str> = row.split(" | ").map(str::trim).collect();
            if cells.len() < 3 || cells[0] == "Event" || cells[0].starts_with("---") {
                continue;
            }
            let (name, roles): (&str, Vec<Role>) = match cells[0].split_once(" (") {
                Some((n, "primary)")) => (n, vec![Role::Primary]),
                Some((n, _)) => (n, vec![Role::Secondary, Role::Witness]),
                None => (
                    cells[0],
                    vec![Role::Primary, Role::Secondary, Role::Witness],
                ),
            };
            let event = all_events()
                .into_iter()
                .find(|e| text::tag(e) == name)
                .unwrap_or_else(|| panic!("no event {name}"));
            for role in roles {
                let (level, mail) = policy(&event, role);
                assert_eq!(level.name(), cells[1], "{name} {role:?}");
                assert_eq!(mail, cells[2] == "yes", "{name} {role:?}");
            }
            rows += 1;
        }
        assert_eq!(rows, 32);
    }

    #[test]
    fn event_names_are_unique() {
        let names: Vec<&str> = all_events().iter().map(Event::name).collect();
        for (i, a) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(a), "{a} twice");
        }
    }

    #[test]
    fn every_event_reads_well_for_every_role() {
        for role in [Role::Primary, Role::Secondary, Role::Witness] {
            let planned = Event::PrimaryHandedOver { planned: true };
            for e in all_events().into_iter().chain([planned]) {
                let ctx = context(role);
                let n = describe(&e, &ctx);
                assert!(!n.summary.is_empty() && !n.happened.is_empty() && !n.did.is_empty());
                assert!(!n.check.is_empty());
                assert!(!n.summary.contains('\n'));
                let m = mail_message(&n, &ctx, SystemTime::UNIX_EPOCH, "failoverd");
                assert!(m.subject.starts_with("[failover] server2: "));
                assert!(m.body.contains("WHAT HAPPENED"));
                assert!(m.body.contains("WHAT TO CHECK"));
                assert!(m.body.contains("Link private (eth1): silent for 3.2 s"));
                for l in m.body.lines() {
                    assert!(l.chars().count() <= 100, "long line {l:?}");
                }
            }
        }
    }

    #[test]
    fn took_over_mail_for_3am() {
        let mut ctx = context(Role::Secondary);
        ctx.reason = Some("primary silent on both links for 3.0 s (dead time 3.0 s)".to_owned());
        let n = describe(&Event::TookOver, &ctx);
        assert_eq!(n.level, Level::Crit);
        let m = mail_message(&n, &ctx, SystemTime::UNIX_EPOCH, "failoverd");
        assert_eq!(
            m.subject,
            "[failover] server2: took over 192.0.2.10: the primary (198.51.100.1) is silent on every network"
        );
        assert!(m.body.contains("192.0.2.10 on eth0"));
        assert!(m.body.contains("Detail: primary silent on both links"));
        assert!(m.body.contains("WHAT FAILOVERD DID"));
        let line = log_line(&n, &ctx);
        assert!(line.contains("reason: primary silent"));
        assert!(line
            .contains("links: private (eth1): silent for 3.2 s, public (eth0): heard 0.3 s ago"));
    }

    #[test]
    fn notifier_logs_at_the_event_severity_without_mail() {
        let (log, cap) = Logger::memory("failoverd");
        let disk = Disk::start(log.clone()).unwrap();
        let mut n = Notifier::new(log, None, disk);
        n.notify(
            Instant::now(),
            Event::Vetoed {
                stage: Stage::PreAcq,
                outcome: StageOutcome::Failed(2),
            },
            &context(Role::Secondary),
        );
        let r = cap.records();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].level, Level::Crit);
        assert!(r[0]
            .message
            .starts_with("takeover REFUSED by the PreAcq script (status 2)"));
        assert!(n.next_deadline().is_none());
    }

    #[test]
    fn wrapping_keeps_commands_whole() {
        let mut s = String::new();
        wrap(
            &mut s,
            &format!("{} see `journalctl -t failoverd` now", "x".repeat(50)),
        );
        assert!(s.contains("`journalctl -t failoverd`"), "{s}");
    }

    #[test]
    fn wrapping_keeps_words() {
        let mut s = String::new();
        wrap_item(&mut s, &"word ".repeat(40));
        assert!(s.lines().all(|l| l.len() <= 72));
        assert_eq!(s.split_whitespace().filter(|w| *w == "word").count(), 40);
        assert!(s.starts_with("  - word"));
    }
}
