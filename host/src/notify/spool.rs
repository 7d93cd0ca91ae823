//! The mail spool: every notification mail is a file in a directory
//! (default `/var/spool/failover`) from before its `sendmail` starts until
//! `sendmail` exits 0, so a message survives what the daemon does not:
//! SIGKILL, a crash, a reload, a stop while `sendmail` fails, and a
//! `sendmail` that keeps failing (it is retried with back-off).
//!
//! # Files
//!
//! `<prefix>-<seq>-<tag>.mail`, where the prefix is the daemon's name
//! (`heartbeatd`, `failoverd`: two daemons sharing a directory never take
//! each other's mail), `seq` a 20-digit counter that goes on from the
//! highest one found at start (so names sort oldest first across lives,
//! whatever the clock did), and `tag` the event (`TookOver`). The content
//! is the whole message as `sendmail -t` reads it.
//!
//! A message is written as `.<prefix>-<seq>.tmp` (created with `O_EXCL`
//! and `O_NOFOLLOW`, mode 600, one `write`) and renamed into place, so a
//! reader never sees half a message; a temporary file left by a daemon
//! killed between the two is removed at the next start.
//!
//! # Why the event loop never writes it
//!
//! The daemon hands each write and removal to its writer thread
//! ([`crate::disk`]) and keeps the message in memory until it is sent, so
//! neither a busy disk nor a frozen filesystem (a VM backup's snapshot)
//! holds up a heartbeat: the message is handed to `sendmail` from memory
//! whether or not its file is written yet. A removal queued while the
//! write still waits cancels it (the file is never written). No `fsync`
//! either: what the page cache holds survives the process (SIGKILL, a
//! crash, a restart); against a power cut the kernel writes it back within
//! its dirty-page expiry (30 s by default). Files found at start, and what
//! is left at a stop, are synced ([`Spool::sync`]), outside the loop.
//!
//! Opening lists the directory and removes unfinished files, no `fsync`:
//! it may also happen on the loop, when a reload turns mail on.
//!
//! # Bounds
//!
//! At most [`Spool::max`] messages: adding one more drops the oldest (the
//! caller logs it), so a dead `sendmail` cannot fill the disk. A failed
//! message waits [`Backoff`] before its next try: the first delay, doubled
//! at each failure up to the longest.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::disk::Disk;

/// The largest message spooled or read back: notices are a few kilobytes;
/// anything bigger in the directory is not ours.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The longest tag kept in a file name.
const MAX_TAG: usize = 40;

/// How long [`Spool::sync`] waits for the writer thread.
pub const SYNC_WAIT: Duration = Duration::from_secs(5);

/// A spool operation that failed, naming the file or directory and what
/// was being done to it.
#[derive(Debug)]
pub struct SpoolError {
    /// The file or directory.
    pub path: PathBuf,
    /// What was being done: `create`, `write`, `rename into place`, ...
    pub action: &'static str,
    /// Why it failed.
    pub source: io::Error,
}

impl SpoolError {
    fn new(path: &Path, action: &'static str, source: io::Error) -> SpoolError {
        SpoolError {
            path: path.to_owned(),
            action,
            source,
        }
    }
}

impl fmt::Display for SpoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mail spool: cannot {} {}: {}",
            self.action,
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for SpoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// How long a message whose `sendmail` failed waits before the next try:
/// `first` after the first failure, doubled after each further one, never
/// more than `max`. A failing MTA is retried without being hammered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(15),
            max: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// The delay after `failures` failures (at least one).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.first
            .checked_mul(1 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

/// One spooled message as the mailer sees it: which file, and what event it
/// tells of (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Its place in the order (oldest first).
    pub seq: u64,
    /// The event (`TookOver`), as in its file name.
    pub tag: String,
}

/// A message in the spool and where its delivery stands.
#[derive(Debug, Clone)]
struct Entry {
    ticket: Ticket,
    /// Failed tries so far.
    failures: u32,
    /// Not to be tried before this.
    not_before: Instant,
    /// A `sendmail` is running for it.
    busy: bool,
    /// The message, for one added in this run (its file may not be
    /// written yet); `None` for one a previous run left, read from its
    /// file.
    data: Option<Arc<[u8]>>,
}

/// What [`Spool::open`] found and did, for the log.
#[derive(Debug, Default)]
pub struct Opened {
    /// Messages a previous run left, now queued (oldest first).
    pub leftovers: usize,
    /// Temporary files a previous run did not finish, removed.
    pub removed_temp: Vec<PathBuf>,
    /// Leftovers beyond the bound, removed (oldest).
    pub dropped: Vec<Ticket>,
    /// Files that could not be removed or synced (the spool still works).
    pub errors: Vec<SpoolError>,
}

/// The spool directory of one daemon: its messages, oldest first, with
/// their delivery state. See the module documentation.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    prefix: String,
    max: usize,
    backoff: Backoff,
    next_seq: u64,
    entries: VecDeque<Entry>,
    /// Writes and removes the files.
    disk: Disk,
}

impl Spool {
    /// Opens (creating it, mode 700, if missing) the spool in `dir` for
    /// the daemon named `prefix`, holding at most `max` messages: removes
    /// the temporary files a previous run left, queues its messages (due
    /// at `now`, oldest first) and drops the oldest beyond `max`. From then
    /// on, `disk` writes and removes its files.
    pub fn open(
        dir: &Path,
        prefix: &str,
        max: usize,
        backoff: Backoff,
        now: Instant,
        disk: Disk,
    ) -> Result<(Spool, Opened), SpoolError> {
        prepare(dir)?;
        let mut opened = Opened::default();
        let read = fs::read_dir(dir).map_err(|e| SpoolError::new(dir, "list", e))?;
        let temp_prefix = format!(".{prefix}-");
        let mut found: Vec<Ticket> = Vec::new();
        let mut highest = 0;
        for item in read {
            let item = item.map_err(|e| SpoolError::new(dir, "list", e))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(&temp_prefix) && name.ends_with(".tmp") {
                let path = dir.join(name);
                match fs::remove_file(&path) {
                    Ok(()) => opened.removed_temp.push(path),
                    Err(e) => {
                        opened
                            .errors
                            .push(SpoolError::new(&path, "remove the unfinished", e))
                    }
                }
            } else if let Some(t) = parse_name(prefix, name) {
                highest = highest.max(t.seq);
                found.push(t);
            }
        }
        found.sort_by_key(|t| t.seq);
        let mut spool = Spool {
            dir: dir.to_owned(),
            prefix: prefix.to_owned(),
            max: max.max(1),
            backoff,
            next_seq: highest.saturating_add(1),
            entries: found
                .into_iter()
                .map(|ticket| Entry {
                    ticket,
                    failures: 0,
                    not_before: now,
                    busy: false,
                    data: None,
                })
                .collect(),
            disk,
        };
        while spool.entries.len() > spool.max {
            if let Some(e) = spool.entries.pop_front() {
                if let Err(err) = spool.unlink(&e.ticket) {
                    opened.errors.push(err);
                }
                opened.dropped.push(e.ticket);
            }
        }
        opened.leftovers = spool.entries.len();
        Ok((spool, opened))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The most messages it holds.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Messages in it (being sent or waiting).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no message.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The messages, oldest first.
    pub fn tickets(&self) -> impl Iterator<Item = &Ticket> {
        self.entries.iter().map(|e| &e.ticket)
    }

    /// The path of `ticket`'s file.
    pub fn path(&self, ticket: &Ticket) -> PathBuf {
        self.dir.join(file_name(&self.prefix, ticket))
    }

    /// Spools `data` as a new message about `tag`, due at `now`, and
    /// returns it with the messages dropped to stay within [`Spool::max`]
    /// (the oldest waiting ones; the oldest being sent if every one is).
    /// The file is written by the writer thread, which logs a failure
    /// (the message is still sent, from memory); `Err` only for a message
    /// too large to be a notice.
    pub fn add(
        &mut self,
        now: Instant,
        tag: &str,
        data: &[u8],
    ) -> Result<(Ticket, Vec<Ticket>), SpoolError> {
        let ticket = Ticket {
            seq: self.next_seq,
            tag: clean_tag(tag),
        };
        let path = self.path(&ticket);
        if data.len() > MAX_MESSAGE_BYTES {
            return Err(SpoolError::new(
                &path,
                "write",
                io::Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "the message is {} bytes, more than {MAX_MESSAGE_BYTES}",
                        data.len()
                    ),
                ),
            ));
        }
        self.next_seq = self.next_seq.saturating_add(1);
        let temp = self
            .dir
            .join(format!(".{}-{:020}.tmp", self.prefix, ticket.seq));
        let data: Arc<[u8]> = Arc::from(data);
        let content = Arc::clone(&data);
        let tag = ticket.tag.clone();
        self.disk.submit(&path.clone(), move |log| {
            if let Err(e) = write_message(&temp, &path, &content) {
                log.error(format_args!(
                    "{e}: mail {tag:?} is sent from memory, without a spool copy (not kept \
                     if the daemon stops before it is sent)"
                ));
            }
        });
        let mut dropped = Vec::new();
        while self.entries.len() >= self.max {
            let i = self.entries.iter().position(|e| !e.busy).unwrap_or(0);
            let Some(old) = self.entries.remove(i) else {
                break;
            };
            self.unlink_later(&old.ticket);
            dropped.push(old.ticket);
        }
        self.entries.push_back(Entry {
            ticket: ticket.clone(),
            failures: 0,
            not_before: now,
            busy: false,
            data: Some(data),
        });
        Ok((ticket, dropped))
    }

    /// The oldest message due at `now` that no `sendmail` is sending yet,
    /// now marked as being sent.
    pub fn take_due(&mut self, now: Instant) -> Option<Ticket> {
        let e = self
            .entries
            .iter_mut()
            .find(|e| !e.busy && e.not_before <= now)?;
        e.busy = true;
        Some(e.ticket.clone())
    }

    /// Whether a message waits that is due at `now`.
    pub fn has_due(&self, now: Instant) -> bool {
        self.entries.iter().any(|e| !e.busy && e.not_before <= now)
    }

    /// When the next waiting message is due, if one waits.
    pub fn next_due(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter(|e| !e.busy)
            .map(|e| e.not_before)
            .min()
    }

    /// `ticket`'s message: from memory if it was added in this run, else
    /// read back from its file (refusing a symbolic link or a file larger
    /// than [`MAX_MESSAGE_BYTES`]).
    pub fn read(&self, ticket: &Ticket) -> Result<Vec<u8>, SpoolError> {
        let kept = self
            .entries
            .iter()
            .find(|e| e.ticket.seq == ticket.seq)
            .and_then(|e| e.data.as_deref());
        if let Some(data) = kept {
            return Ok(data.to_vec());
        }
        let path = self.path(ticket);
        let mut f = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| SpoolError::new(&path, "open", e))?;
        let mut data = Vec::new();
        let limit = u64::try_from(MAX_MESSAGE_BYTES).unwrap_or(u64::MAX) + 1;
        (&mut f)
            .take(limit)
            .read_to_end(&mut data)
            .map_err(|e| SpoolError::new(&path, "read", e))?;
        if data.len() > MAX_MESSAGE_BYTES {
            return Err(SpoolError::new(
                &path,
                "read",
                io::Error::new(
                    ErrorKind::InvalidData,
                    format!("larger than {MAX_MESSAGE_BYTES} bytes: not a notice"),
                ),
            ));
        }
        Ok(data)
    }

    /// `ticket` is done with (delivered, or unreadable): its file goes,
    /// through the writer thread (which logs a failure; already gone is
    /// none).
    pub fn remove(&mut self, ticket: &Ticket) {
        self.entries.retain(|e| e.ticket.seq != ticket.seq);
        self.unlink_later(ticket);
    }

    /// `ticket`'s `sendmail` failed at `now`: it waits for its back-off and
    /// is tried again. Returns the delay, or `None` if the message is no
    /// longer in the spool (dropped meanwhile to stay within the bound).
    pub fn failed(&mut self, ticket: &Ticket, now: Instant) -> Option<Duration> {
        let e = self
            .entries
            .iter_mut()
            .find(|e| e.ticket.seq == ticket.seq)?;
        e.busy = false;
        e.failures = e.failures.saturating_add(1);
        let delay = self.backoff.delay(e.failures);
        e.not_before = now + delay;
        Some(delay)
    }

    /// Flushes the messages and the directory to disk, once the writer
    /// thread has written them (waiting at most [`SYNC_WAIT`]). Blocks on
    /// the disk: for start and stop only, never from the event loop.
    /// Returns what could not be synced.
    pub fn sync(&self) -> Vec<SpoolError> {
        let mut errors = Vec::new();
        if !self.disk.wait_idle(SYNC_WAIT) {
            errors.push(SpoolError::new(
                &self.dir,
                "write",
                io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "files still being written after {} s (a frozen filesystem?)",
                        SYNC_WAIT.as_secs()
                    ),
                ),
            ));
        }
        for e in &self.entries {
            let path = self.path(&e.ticket);
            let synced = OpenOptions::new()
                .read(true)
                .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
                .open(&path)
                .and_then(|f| f.sync_all());
            match synced {
                Err(err) if err.kind() != ErrorKind::NotFound => {
                    errors.push(SpoolError::new(&path, "sync", err));
                }
                _ => {}
            }
        }
        if let Err(err) = File::open(&self.dir).and_then(|d| d.sync_all()) {
            errors.push(SpoolError::new(&self.dir, "sync", err));
        }
        errors
    }

    /// Has the writer thread remove `ticket`'s file (cancelling its write
    /// if that has not begun).
    fn unlink_later(&self, ticket: &Ticket) {
        let path = self.path(ticket);
        let tag = ticket.tag.clone();
        self.disk
            .submit(&path.clone(), move |log| match fs::remove_file(&path) {
                Err(e) if e.kind() != ErrorKind::NotFound => log.error(format_args!(
                    "{}: mail {tag:?} is done with, but its file stays (if it was sent, it \
                     may be sent again at the next start)",
                    SpoolError::new(&path, "remove", e)
                )),
                _ => {}
            });
    }

    fn unlink(&self, ticket: &Ticket) -> Result<(), SpoolError> {
        let path = self.path(ticket);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(SpoolError::new(&path, "remove", e)),
            _ => Ok(()),
        }
    }
}

/// Writes a message's file: as `temp` (created with `O_EXCL` and
/// `O_NOFOLLOW`, mode 600, one `write`), renamed to `path`. On the writer
/// thread.
fn write_message(temp: &Path, path: &Path, data: &[u8]) -> Result<(), SpoolError> {
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(temp)
        .map_err(|e| SpoolError::new(temp, "create", e))
        .and_then(|mut f| {
            f.write_all(data)
                .map_err(|e| SpoolError::new(temp, "write", e))
        })
        .and_then(|()| {
            fs::rename(temp, path).map_err(|e| SpoolError::new(path, "rename into place", e))
        });
    if written.is_err() {
        let _ = fs::remove_file(temp);
    }
    written
}

/// Makes sure `dir` can be the spool: creates it (mode 700) if missing;
/// refuses a symbolic link, a non-directory, and a directory that another
/// user or group can write (it could plant mail this daemon would send as
/// root). Run before the daemon moves to the background, so a refusal
/// reaches the terminal.
pub fn prepare(dir: &Path) -> Result<(), SpoolError> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| SpoolError::new(dir, "create the directory", e)),
        Err(e) => Err(SpoolError::new(dir, "examine", e)),
        Ok(m) => usable(&m).map_err(|why| {
            SpoolError::new(dir, "use", io::Error::new(ErrorKind::InvalidInput, why))
        }),
    }
}

/// `-n`'s check of the spool directory, creating nothing: `None` if the
/// daemon can use (or create) it, else why not, naming it.
pub fn check(dir: &Path) -> Option<String> {
    if !dir.is_absolute() {
        return Some(format!(
            "mail spool directory {}: not an absolute path",
            dir.display()
        ));
    }
    match fs::symlink_metadata(dir) {
        Ok(m) => match usable(&m) {
            Err(why) => Some(format!("mail spool directory {}: {why}", dir.display())),
            Ok(()) => nix::unistd::access(
                dir,
                nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
            )
            .err()
            .map(|e| format!("mail spool directory {}: not writable: {e}", dir.display())),
        },
        Err(e)
            if e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(nix::libc::ENOTDIR) =>
        {
            // It will be created under its nearest existing ancestor.
            let mut up = dir.parent();
            while let Some(p) = up {
                match fs::metadata(p) {
                    Ok(m) if m.is_dir() => return None,
                    Ok(_) => {
                        return Some(format!(
                            "mail spool directory {}: cannot be created: {} is not a directory",
                            dir.display(),
                            p.display()
                        ))
                    }
                    Err(_) => up = p.parent(),
                }
            }
            None
        }
        Err(e) => Some(format!("mail spool directory {}: {e}", dir.display())),
    }
}

/// Why an existing `dir` (its metadata, not followed) cannot be the spool.
fn usable(m: &fs::Metadata) -> Result<(), String> {
    if m.file_type().is_symlink() {
        return Err("is a symbolic link; give the real directory".to_owned());
    }
    if !m.is_dir() {
        return Err("is not a directory".to_owned());
    }
    if m.mode() & 0o022 != 0 {
        return Err(format!(
            "is writable by its group or by others (mode {:o}); chmod 700 it",
            m.mode() & 0o7777
        ));
    }
    // The effective uid, as the owner of /proc/self (nix's geteuid needs a
    // feature this crate does not otherwise use); unknown: not checked.
    let Ok(me) = fs::metadata("/proc/self").map(|p| p.uid()) else {
        return Ok(());
    };
    if m.uid() != me {
        return Err(format!(
            "belongs to uid {}, not to this daemon's (uid {me}); chown it",
            m.uid()
        ));
    }
    Ok(())
}

/// `TookOver` as it goes into a file name: ASCII letters and digits only,
/// at most [`MAX_TAG`]; `mail` if nothing is left.
fn clean_tag(tag: &str) -> String {
    let t: String = tag
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(MAX_TAG)
        .collect();
    if t.is_empty() {
        "mail".to_owned()
    } else {
        t
    }
}

fn file_name(prefix: &str, t: &Ticket) -> String {
    format!("{prefix}-{:020}-{}.mail", t.seq, t.tag)
}

/// The ticket of a file named `<prefix>-<20 digits>-<tag>.mail`; `None`
/// for any other name (another daemon's, a temporary file, a stranger).
fn parse_name(prefix: &str, name: &str) -> Option<Ticket> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('-')?;
    let rest = rest.strip_suffix(".mail")?;
    let (seq, tag) = rest.split_once('-')?;
    if seq.len() != 20 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if tag.is_empty() || tag.len() > MAX_TAG || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(Ticket {
        seq: seq.parse().ok()?,
        tag: tag.to_owned(),
    })
}

#[cfg(test)]
mod tests;
