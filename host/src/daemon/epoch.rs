//! The boot epoch (see `docs/protocol.md`, "Epochs"): chosen at start-up as
//! `max(persisted last epoch + 1, current UNIX time in seconds)` and written
//! to stable storage before the first frame is sent. So a restarted daemon is
//! never locked out by the sequence numbers of its previous life, and frames
//! of that life (an older epoch) are refused by its peers.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::safefile;
use crate::config::cli::STATE_DIR;

/// The default epoch file of `program` (`/var/lib/failover/<program>.epoch`).
pub fn default_path(program: &str) -> PathBuf {
    Path::new(STATE_DIR).join(format!("{program}.epoch"))
}

/// Chooses this boot's epoch and persists it at `path` before returning.
/// `now_secs` is the current UNIX time; a missing file counts as epoch 0, an
/// unreadable or corrupt one is an error (refusing to start is better than
/// reusing an epoch).
pub fn next_epoch(path: &Path, now_secs: u64) -> io::Result<u32> {
    let persisted = match safefile::read_to_string(path) {
        Ok(text) => text.trim().parse::<u32>().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "epoch file {} does not hold a number ({:?}); remove it only if you are sure the daemon is not running",
                    path.display(),
                    text.trim()
                ),
            )
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let clock = u32::try_from(now_secs).unwrap_or(u32::MAX);
    let epoch = persisted.checked_add(1).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("epoch file {} is exhausted (u32::MAX)", path.display()),
        )
    })?;
    let epoch = epoch.max(clock);
    write_atomically(path, &format!("{epoch}\n"))?;
    Ok(epoch)
}

/// Records `epoch` at `path` as the last one used: a running daemon that
/// moved to a new epoch (its frame counter ran out) keeps the next start
/// from choosing it again.
pub fn persist(path: &Path, epoch: u32) -> io::Result<()> {
    write_atomically(path, &format!("{epoch}\n"))
}

/// The peer epochs file next to `epoch_file` (`<program>.peers`): one line
/// per peer, `NODE-ADDRESS EPOCH`, the last epoch of each peer that settled
/// (docs/protocol.md, "Epochs from an unkeyed peer").
pub fn peers_path(epoch_file: &Path) -> PathBuf {
    epoch_file.with_extension("peers")
}

/// Reads the peer epochs file: `(node id, epoch)` pairs. A missing file is
/// empty. Lines that do not parse are reported in the `Err` list and
/// skipped (a lost floor only weakens replay protection; it is no reason
/// not to start).
pub fn load_peer_epochs(path: &Path) -> (Vec<(u32, u32)>, Vec<String>) {
    let text = match safefile::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return (Vec::new(), Vec::new()),
        Err(e) => return (Vec::new(), vec![e.to_string()]),
    };
    let mut peers = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let parsed = match (words.next(), words.next(), words.next()) {
            (Some(addr), Some(epoch), None) => addr
                .parse::<std::net::Ipv4Addr>()
                .ok()
                .zip(epoch.parse::<u32>().ok()),
            _ => None,
        };
        match parsed {
            Some((addr, epoch)) => peers.push((u32::from(addr), epoch)),
            None => problems.push(format!(
                "{}:{}: not `ADDRESS EPOCH`, ignored",
                path.display(),
                n + 1
            )),
        }
    }
    (peers, problems)
}

/// Records `epoch` as the settled epoch of `peer` (a node id) in `peers`,
/// the peer epochs file's content, kept sorted.
pub fn record_peer_epoch(peers: &mut Vec<(u32, u32)>, peer: u32, epoch: u32) {
    peers.retain(|(p, _)| *p != peer);
    peers.push((peer, epoch));
    peers.sort_unstable();
}

/// Writes `peers` as the peer epochs file at `path`, atomically and
/// durably, as the daemon's own epoch. It waits for the disk: the running
/// daemon calls it from its writer thread ([`crate::disk`]).
pub fn persist_peer_epochs(path: &Path, peers: &[(u32, u32)]) -> io::Result<()> {
    let text: String = peers
        .iter()
        .map(|(p, e)| format!("{} {e}\n", std::net::Ipv4Addr::from(*p)))
        .collect();
    write_atomically(path, &text)
}

/// The current UNIX time in seconds (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Writes `text` at `path` so that a crash leaves either the old or the
/// new epoch, never a torn one, and never through a planted link
/// ([`safefile::replace`]).
fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    safefile::replace(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn peer_epochs_are_kept_per_peer_and_bad_lines_are_skipped() {
        let dir = std::env::temp_dir().join(format!("failover-peers-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let epoch_file = dir.join("heartbeatd.epoch");
        let path = peers_path(&epoch_file);
        assert_eq!(path, dir.join("heartbeatd.peers"));
        assert_eq!(load_peer_epochs(&path), (Vec::new(), Vec::new()));
        let a = u32::from(std::net::Ipv4Addr::new(198, 51, 100, 2));
        let b = u32::from(std::net::Ipv4Addr::new(198, 51, 100, 3));
        let mut peers = Vec::new();
        for (peer, epoch) in [(a, 10), (b, 7), (a, 11)] {
            record_peer_epoch(&mut peers, peer, epoch);
            persist_peer_epochs(&path, &peers).expect("write");
        }
        assert_eq!(load_peer_epochs(&path).0, vec![(a, 11), (b, 7)]);
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "198.51.100.2 11\n198.51.100.3 7\n"
        );
        // The own epoch file is untouched by it, and its temporary name
        // differs.
        next_epoch(&epoch_file, 5).expect("epoch");
        fs::write(&path, "198.51.100.2 11\ngarbage\n").expect("write");
        let (peers, problems) = load_peer_epochs(&path);
        assert_eq!(peers, vec![(a, 11)]);
        assert_eq!(problems.len(), 1);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn epochs_increase_across_restarts_even_with_a_stopped_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/failoverd.epoch");
        let a = next_epoch(&path, 1_000).unwrap();
        assert_eq!(a, 1_000);
        // Same second, or a clock that went backwards: still larger.
        let b = next_epoch(&path, 1_000).unwrap();
        let c = next_epoch(&path, 10).unwrap();
        assert_eq!((b, c), (1_001, 1_002));
        // The clock moved on: it wins.
        assert_eq!(next_epoch(&path, 5_000).unwrap(), 5_000);
        assert_eq!(fs::read_to_string(&path).unwrap(), "5000\n");
    }

    #[test]
    fn a_corrupt_epoch_file_refuses_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.epoch");
        fs::write(&path, "garbage").unwrap();
        let err = next_epoch(&path, 1).unwrap_err();
        assert!(err.to_string().contains("does not hold a number"), "{err}");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "garbage",
            "left as it was"
        );
    }

    #[test]
    fn a_link_at_the_epoch_file_or_its_temporary_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "7\n").unwrap();
        let path = dir.path().join("failoverd.epoch");
        let tmp = safefile::temp_path(&path);
        for link in [&path, &tmp] {
            std::os::unix::fs::symlink(&victim, link).unwrap();
            let err = next_epoch(&path, 100).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("{} is a symbolic link: refused", link.display())),
                "{err}"
            );
            assert_eq!(fs::read_to_string(&victim).unwrap(), "7\n", "not followed");
            fs::remove_file(link).unwrap();
        }
        // The peers file too.
        let peers = peers_path(&path);
        std::os::unix::fs::symlink(&victim, &peers).unwrap();
        assert!(persist_peer_epochs(&peers, &[(1, 2)]).is_err());
        let (found, problems) = load_peer_epochs(&peers);
        assert!(found.is_empty());
        assert!(problems[0].contains("is a symbolic link"), "{problems:?}");
    }
}
