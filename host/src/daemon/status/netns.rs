//! Whether the daemon a pid file names runs in this command's network
//! namespace. Pid files live in `/run`, which every network namespace of
//! a host shares (`ip netns exec` changes only the network), so a lab or
//! a host running one pair of daemons per namespace has several
//! `/run/<daemon>.pid` candidates in view, and `--status` must not signal
//! (and report on) another namespace's daemon as if it were this one's.
//!
//! Two processes share a network namespace when `/proc/<pid>/ns/net`
//! resolves to the same nsfs inode (device and inode number) for both.
//! `ip netns` names a namespace by bind-mounting it under `/run/netns`,
//! so the name, when there is one, is found there the same way.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Where `ip netns` keeps its named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// Where a process's network namespace is, seen from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The same namespace as this process.
    Here,
    /// Another one: its name under [`NETNS_RUN_DIR`] if it has one, and
    /// its kernel id (`net:[4026532290]`).
    Elsewhere {
        /// The `ip netns` name.
        name: Option<String>,
        /// What `readlink /proc/<pid>/ns/net` says.
        id: String,
    },
    /// The process is gone.
    Gone,
}

fn identity(path: &Path) -> io::Result<(u64, u64)> {
    fs::metadata(path).map(|m| (m.dev(), m.ino()))
}

/// Where the network namespace of process `pid` is, relative to this
/// process's. Reading another user's `/proc/<pid>/ns` needs root (or the
/// same user): a refusal is the error.
pub fn locate(pid: i32) -> io::Result<Place> {
    let theirs = Path::new("/proc").join(pid.to_string()).join("ns/net");
    let target = match identity(&theirs) {
        Ok(id) => id,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Place::Gone),
        Err(e) => return Err(e),
    };
    if identity(Path::new("/proc/self/ns/net"))? == target {
        return Ok(Place::Here);
    }
    let id = fs::read_link(&theirs)
        .map(|l| l.display().to_string())
        .unwrap_or_else(|_| format!("inode {}", target.1));
    Ok(Place::Elsewhere {
        name: named(Path::new(NETNS_RUN_DIR), target),
        id,
    })
}

/// The name under `dir` of the namespace whose nsfs identity is `target`.
fn named(dir: &Path, target: (u64, u64)) -> Option<String> {
    fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| identity(&e.path()).is_ok_and(|id| id == target))
        .and_then(|e| e.file_name().into_string().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_here_and_a_dead_one_is_gone() {
        let me = i32::try_from(std::process::id()).unwrap();
        assert_eq!(locate(me).unwrap(), Place::Here);
        // Beyond any pid_max: no such process.
        assert_eq!(locate(i32::MAX).unwrap(), Place::Gone);
    }

    #[test]
    fn a_name_is_found_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ns-a");
        fs::write(&file, "").unwrap();
        let id = identity(&file).unwrap();
        assert_eq!(named(dir.path(), id), Some("ns-a".to_owned()));
        assert_eq!(named(dir.path(), (id.0, id.1 + 1)), None);
        assert_eq!(named(&dir.path().join("absent"), id), None);
    }
}
