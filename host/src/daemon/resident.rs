//! Gives back, once start-up is over, the pages of code start-up ran (and
//! later, once a takeover or a reload is over, the pages those ran).
//!
//! Start-up runs most of a daemon's code once: the command line and the
//! configuration, their checks and error messages, netlink, the channels,
//! the pid file, the first scripts and mail. Each of those pages stays
//! mapped in the process, and with the kernel's fault-around (it maps up to
//! 64 kB around each page fault) nearly all of the binary's code ends up
//! resident: 1.5 MB for `heartbeatd`, where the steady loop runs about
//! 150 kB of it; of the C library's 1.1 MB and ld.so's 0.2 MB likewise. Once
//! the daemon has logged nothing above debug level for [`QUIET`]
//! ([`Quiet`]), the loop drops
//! those mappings' pages from the process's page tables (`MADV_DONTNEED`)
//! and then faults back in only what it runs (a minor fault each: the
//! pages are still in the page cache). A takeover later faults in what it
//! runs, and [`QUIET`] after it those pages go again. On the development
//! VM this took a daemon from 3.5 MB resident to 1.4 to 1.7 MB.
//!
//! This changes what the process holds, not what the machine caches: the
//! files' pages stay in the page cache, shared with every other process
//! that maps them, until the kernel wants the memory, which it takes more
//! readily from pages no process maps.
//!
//! Only the read-only mappings of the program and its shared libraries
//! with no private copies in them are touched: a page of such a mapping
//! always reads as the file does, so dropping it loses nothing. A mapping
//! with a private copy (the relocated `.data.rel.ro`, made read-only after
//! relocation; code a debugger wrote a breakpoint into) is left alone, as
//! is anything writable, anything locked in memory and any other file.

use std::ffi::c_void;
use std::fs;
use std::io;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use nix::sys::mman::{madvise, MmapAdvise};

/// How long the daemon must go without logging anything above debug level
/// before it gives its pages back. Start-up goes on past the loop's first
/// turn (the stage scripts, the first mail, a peer's epoch settling), and
/// so does a takeover; each logs as it goes, and 10 s of silence is well
/// past all of it at any interval, without letting the daemon sit on a
/// megabyte for long.
pub const QUIET: Duration = Duration::from_secs(10);

/// When to give pages back: once start-up is over, and again after any
/// later burst of activity (a takeover, a reload, a mail) once it is over,
/// never while the daemon only beats. It knows activity by the log: the
/// daemons log every change at info level or above, and nothing in the
/// steady state but routine at debug level (a periodic health check)
/// ([`crate::notify::log::Logger::messages`]).
#[derive(Debug, Clone, Copy)]
pub struct Quiet {
    /// The log's message count when last looked at.
    messages: u64,
    /// Since when it has not changed.
    since: Instant,
    /// Pages were given back since the last change.
    released: bool,
}

impl Quiet {
    /// Starts counting at `now`, with the log at `messages`.
    pub fn new(now: Instant, messages: u64) -> Quiet {
        Quiet {
            messages,
            since: now,
            released: false,
        }
    }

    /// Whether to give pages back now, the log at `messages`: the first
    /// turn [`QUIET`] after its last change. Cheap enough for every turn:
    /// a comparison or two.
    pub fn due(&mut self, now: Instant, messages: u64) -> bool {
        if messages != self.messages {
            self.messages = messages;
            self.since = now;
            self.released = false;
            return false;
        }
        if self.released || now.saturating_duration_since(self.since) < QUIET {
            return false;
        }
        self.released = true;
        true
    }

    /// Pages were given back and the log is at `messages`: the lines that
    /// said so are no activity.
    pub fn released(&mut self, messages: u64) {
        self.messages = messages;
    }
}

/// The pages [`release`] can drop: this process's read-only file mappings
/// (its code and constants, the C library's) with none of their pages
/// written. Errors only when `/proc/self/exe` or `/proc/self/smaps` cannot
/// be read (no `/proc`).
pub fn code_pages() -> io::Result<Vec<Mapping>> {
    let program = fs::read_link("/proc/self/exe")?;
    let smaps = fs::read_to_string("/proc/self/smaps")?;
    Ok(droppable(&smaps, &program.to_string_lossy()))
}

/// Drops `mappings`' resident pages ([`code_pages`]) from this
/// process, for the loop to fault back in what it uses. Returns how many
/// mappings the kernel took the advice for; one it refuses is skipped.
pub fn release(mappings: &[Mapping]) -> usize {
    mappings
        .iter()
        .filter(|m| drop_pages(m.start, m.end).is_ok())
        .count()
}

/// What [`code_pages`] found resident, kB.
pub fn resident_kb(mappings: &[Mapping]) -> u64 {
    mappings.iter().map(|m| m.rss_kb).sum()
}

/// One mapping of `/proc/<pid>/smaps`, with what deciding needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    start: usize,
    end: usize,
    /// The permissions field, such as `r-xp`.
    perms: String,
    /// The path, or a pseudo-name such as `[heap]`, or empty.
    name: String,
    rss_kb: u64,
    /// Pages of the mapping that are private copies (copy-on-write).
    anonymous_kb: u64,
    /// Pages locked in memory (`mlock`).
    locked_kb: u64,
}

impl Mapping {
    /// Whether dropping this mapping's pages loses nothing and nothing
    /// can unmap it meanwhile: the pages of `program` or of a shared
    /// library (loaded before `main`, never unloaded), never written
    /// (read-only now, and no private copy from before), not locked, and
    /// some of them resident.
    fn droppable(&self, program: &str) -> bool {
        let bytes = self.perms.as_bytes();
        let read_only = bytes.first() == Some(&b'r') && bytes.get(1) == Some(&b'-');
        let file_name = self.name.rsplit('/').next().unwrap_or("");
        let image =
            self.name == program || (self.name.starts_with('/') && file_name.contains(".so"));
        read_only && image && self.anonymous_kb == 0 && self.locked_kb == 0 && self.rss_kb > 0
    }
}

/// The mappings of `smaps` text whose pages can be dropped, `program`
/// the path of this process's executable.
fn droppable(smaps: &str, program: &str) -> Vec<Mapping> {
    parse(smaps)
        .into_iter()
        .filter(|m| m.droppable(program))
        .collect()
}

/// Parses `/proc/<pid>/smaps`: a header line per mapping
/// (`start-end perms offset dev inode [name]`), then `Key: value kB`
/// lines. Lines that fit neither are skipped; a header that does not parse
/// ends the mapping before it, so its counts go to no mapping.
fn parse(smaps: &str) -> Vec<Mapping> {
    let mut mappings = Vec::new();
    let mut current: Option<Mapping> = None;
    for line in smaps.lines() {
        let first = line.split_ascii_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.contains(':') {
            mappings.extend(current.take());
            current = header(line);
            continue;
        }
        let (Some(m), Some((key, value))) = (current.as_mut(), line.split_once(':')) else {
            continue;
        };
        let kb = || {
            value
                .trim()
                .strip_suffix("kB")
                .and_then(|n| n.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        match key {
            "Rss" => m.rss_kb = kb(),
            "Anonymous" => m.anonymous_kb = kb(),
            "Locked" => m.locked_kb = kb(),
            _ => {}
        }
    }
    mappings.extend(current);
    mappings
}

/// A mapping's header line, or `None` if it does not parse.
fn header(line: &str) -> Option<Mapping> {
    let (range, rest) = next_field(line);
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let (perms, rest) = next_field(rest);
    if end <= start || perms.len() != 4 {
        return None;
    }
    // Offset, device and inode; then the name, which may hold spaces.
    let (_offset, rest) = next_field(rest);
    let (_device, rest) = next_field(rest);
    let (inode, rest) = next_field(rest);
    if inode.is_empty() {
        return None;
    }
    Some(Mapping {
        start,
        end,
        perms: perms.to_owned(),
        name: rest.trim().to_owned(),
        rss_kb: 0,
        anonymous_kb: 0,
        locked_kb: 0,
    })
}

/// The first whitespace-separated field of `text` and what follows it.
fn next_field(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    text.split_at(end)
}

/// `madvise(MADV_DONTNEED)` over `start..end` of this process.
#[allow(unsafe_code)]
fn drop_pages(start: usize, end: usize) -> nix::Result<()> {
    let Some(addr) = NonNull::new(std::ptr::without_provenance_mut::<c_void>(start)) else {
        return Err(nix::errno::Errno::EINVAL);
    };
    // SAFETY: `start..end` is a whole mapping the kernel listed in this
    // process's smaps a moment ago: read-only, of the program or a shared
    // library, without a private page (`Mapping::droppable`). Nothing
    // writes to such a mapping, so MADV_DONTNEED only drops page-table
    // entries and the next access reads the same bytes from the file's page
    // cache; no Rust object can tell. The program and its libraries are
    // mapped before `main` and nothing here unloads them (no `dlclose`), so
    // the range cannot have been unmapped and reused for writable memory
    // since smaps was read, by this thread or another.
    unsafe { madvise(addr, end - start, MmapAdvise::MADV_DONTNEED) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_go_back_once_after_each_quiet_spell() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut quiet = Quiet::new(t0, 5);
        assert!(!quiet.due(at(9), 5), "not quiet long enough yet");
        assert!(quiet.due(at(10), 5), "10 s without a message");
        quiet.released(6);
        assert!(!quiet.due(at(11), 6), "its own message is no activity");
        assert!(!quiet.due(at(30), 6), "once per quiet spell, not again");
        assert!(!quiet.due(at(31), 9), "a takeover logs");
        assert!(!quiet.due(at(40), 9));
        assert!(quiet.due(at(41), 9), "and is over 10 s after its last line");
        assert!(!quiet.due(at(60), 9));
    }

    const SMAPS: &str = "\
563d59182000-563d591d5000 r--p 00000000 fe:01 1234 /usr/sbin/heartbeatd
Size:                332 kB
Rss:                 248 kB
Anonymous:             0 kB
Locked:                0 kB
563d591d5000-563d5930d000 r-xp 00053000 fe:01 1234 /usr/sbin/heartbeatd
Size:               1248 kB
Rss:                1248 kB
Anonymous:             0 kB
Locked:                0 kB
563d5930d000-563d59315000 r--p 0018b000 fe:01 1234 /usr/sbin/heartbeatd
Rss:                  32 kB
Anonymous:            32 kB
563d59315000-563d59317000 rw-p 00193000 fe:01 1234 /usr/sbin/heartbeatd
Rss:                   8 kB
Anonymous:             8 kB
563d66458000-563d66493000 rw-p 00000000 00:00 0                          [heap]
Rss:                 124 kB
7f679835b000-7f67984b1000 r-xp 00026000 fe:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1108 kB
Anonymous:             0 kB
Locked:             1108 kB
7f6798400000-7f6798401000 r--p 00000000 fe:01 77 /opt/a dir/with spaces.so
Rss:                   4 kB
Anonymous:             0 kB
7f6798548000-7f679854a000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   4 kB
7f6798550000-7f6798551000 r--p 00000000 fe:01 78 /usr/lib/never-touched.so
Rss:                   0 kB
7f6798560000-7f6798561000 r--p 00000000 fe:01 79 /var/lib/some/data
Rss:                   4 kB
Anonymous:             0 kB
";

    #[test]
    fn parses_each_mapping_with_its_counts() {
        let all = parse(SMAPS);
        assert_eq!(all.len(), 10);
        assert_eq!(all[1].start, 0x563d_591d_5000);
        assert_eq!(all[1].end, 0x563d_5930_d000);
        assert_eq!(all[1].perms, "r-xp");
        assert_eq!(all[1].name, "/usr/sbin/heartbeatd");
        assert_eq!(all[1].rss_kb, 1248);
        assert_eq!(all[2].anonymous_kb, 32);
        assert_eq!(all[4].name, "[heap]");
        assert_eq!(all[5].locked_kb, 1108);
        assert_eq!(all[6].name, "/opt/a dir/with spaces.so");
    }

    #[test]
    fn drops_only_unwritten_unlocked_file_pages() {
        let names: Vec<(String, u64)> = droppable(SMAPS, "/usr/sbin/heartbeatd")
            .into_iter()
            .map(|m| (m.name, m.rss_kb))
            .collect();
        assert_eq!(
            names,
            [
                ("/usr/sbin/heartbeatd".to_owned(), 248),
                ("/usr/sbin/heartbeatd".to_owned(), 1248),
                ("/opt/a dir/with spaces.so".to_owned(), 4),
            ],
            "not the relocated read-only data (private copies), the writable data, the heap, \
             locked code, the vdso, a mapping with nothing resident or a file that is neither \
             the program nor a library"
        );
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text = "garbage\nRss: 5 kB\nzz-yy r-xp 0 0 0 /x\n\
                    1000-2000 r-xp 0 fe:01 5 /bin/x\nRss: lots kB\nAnonymous: 0 kB\n\
                    3000-2000 r-xp 0 fe:01 5 /bin/backwards\nRss: 4 kB\n";
        let all = parse(text);
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].rss_kb, 0);
        assert!(droppable(text, "/bin/x").is_empty());
    }

    #[test]
    fn releasing_our_own_pages_keeps_the_code_running() {
        let mappings = code_pages().expect("smaps readable");
        let before = resident_kb(&mappings);
        assert!(before > 0, "{mappings:?}");
        assert_eq!(release(&mappings), mappings.len(), "every mapping advised");
        // Running on faults back in what runs, less than was there.
        let after = resident_kb(&code_pages().expect("smaps readable"));
        assert!(after < before, "{after} kB after, {before} kB before");
    }
}
