//! The directories the daemons keep their files in (the state directory;
//! the pid file's, which holds the status file too), checked before they
//! are used: whoever can write in one of them, or in a directory above it,
//! can rename or replace what the daemon (root) writes there, and make it
//! trust a forged epoch or signal a process of their choosing. So each
//! directory from the one named up to `/` must be owned by root (or by
//! the user the daemon runs as), and must not be writable by group or
//! others, except, above the directory itself, with the sticky bit (as
//! `/tmp`), which keeps others from renaming what they do not own.
//!
//! Called at start and by `-n`; the files themselves are opened by
//! [`super::safefile`], which refuses links.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const STICKY: u32 = 0o1000;
const GROUP_OR_OTHERS_WRITE: u32 = 0o022;

/// The problems of `dir` and of every directory above it, for a daemon
/// running as user `euid`: each names the directory, what is wrong and the
/// fix. Empty when all is well. Missing directories are skipped (the daemon
/// creates them itself, mode 755); `what` says what the directory is for
/// (`"state directory"`), for the messages.
///
/// Both the path as written and the path its links resolve to are walked,
/// so a link on the way (`/var/run` to `/run`) is judged by the directory
/// that holds it and by where it leads.
pub fn check_directory(dir: &Path, what: &str, euid: u32) -> Vec<String> {
    let absolute = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(cwd) => cwd.join(dir),
            Err(e) => {
                return vec![format!(
                    "cannot check the {what} {}: no current directory ({e})",
                    dir.display()
                )]
            }
        }
    };
    // The directory itself: the first that exists, going up.
    let mut chains: Vec<PathBuf> = vec![absolute.clone()];
    if let Some(existing) = absolute.ancestors().find(|a| a.exists()) {
        if let Ok(real) = fs::canonicalize(existing) {
            chains.push(real);
        }
    }
    let exists = absolute.exists();
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for chain in chains {
        for d in chain.ancestors() {
            let Ok(meta) = fs::metadata(d) else {
                continue;
            };
            // The directory named itself (not a parent its missing part
            // will be created in) has no sticky exception.
            let is_own = exists && d == chain.as_path();
            if !seen.insert(d.to_path_buf()) {
                continue;
            }
            problems.extend(judge(d, &meta, is_own, what, dir, euid));
        }
    }
    problems
}

/// The problem of one directory `d` on the way to the `what` at `named`, if
/// any; `own` is true for the directory itself.
fn judge(
    d: &Path,
    meta: &fs::Metadata,
    own: bool,
    what: &str,
    named: &Path,
    euid: u32,
) -> Option<String> {
    let shown = d.display();
    let about = if d == named {
        format!("the {what} {shown}")
    } else {
        format!("{shown} (on the way to the {what} {})", named.display())
    };
    if !meta.is_dir() {
        return Some(format!("{about} is not a directory"));
    }
    let uid = meta.uid();
    if uid != 0 && uid != euid {
        let owner = if euid == 0 {
            "root".to_owned()
        } else {
            format!("root or uid {euid}")
        };
        return Some(format!(
            "{about} is owned by uid {uid}, not {owner}: its owner could replace the files the \
             daemon keeps there; fix with: chown root {shown}"
        ));
    }
    let mode = meta.mode() & 0o7777;
    let writable = mode & GROUP_OR_OTHERS_WRITE != 0;
    let sticky = mode & STICKY != 0;
    if writable && (own || !sticky) {
        let why = if own {
            "group or others may write in it"
        } else {
            "group or others may write in it and it has no sticky bit"
        };
        return Some(format!(
            "{about} is unsafe (mode {mode:04o}): {why}, so they could plant or swap the \
             files the daemon keeps there; fix with: chmod go-w {shown}"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(p: &Path, mode: u32) {
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn me() -> u32 {
        nix::unistd::geteuid().as_raw()
    }

    #[test]
    fn a_private_directory_under_tmp_is_safe() {
        // /tmp is 1777: sticky, allowed above the directory.
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o700);
        assert_eq!(
            check_directory(dir.path(), "state directory", me()),
            Vec::<String>::new()
        );
        chmod(dir.path(), 0o755);
        let missing = dir.path().join("not/yet");
        assert_eq!(
            check_directory(&missing, "state directory", me()),
            Vec::<String>::new()
        );
        // To be created right in the sticky /tmp: allowed too.
        let in_tmp = std::env::temp_dir().join(format!("failover-none-{}", std::process::id()));
        assert_eq!(
            check_directory(&in_tmp, "state directory", me()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_world_writable_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        fs::create_dir(&state).unwrap();
        chmod(&state, 0o777);
        let p = check_directory(&state, "state directory", me());
        assert_eq!(
            p,
            [format!(
                "the state directory {s} is unsafe (mode 0777): group or others may write in \
                 it, so they could plant or swap the files the daemon keeps there; fix with: \
                 chmod go-w {s}",
                s = state.display()
            )]
        );
        // Sticky is no excuse for the directory itself.
        chmod(&state, 0o1777);
        assert_eq!(check_directory(&state, "state directory", me()).len(), 1);
        chmod(&state, 0o775);
        assert_eq!(check_directory(&state, "state directory", me()).len(), 1);
    }

    #[test]
    fn a_parent_writable_by_others_is_refused_unless_sticky() {
        let dir = tempfile::tempdir().unwrap();
        let parent = dir.path().join("shared");
        let state = parent.join("state");
        fs::create_dir_all(&state).unwrap();
        chmod(&parent, 0o777);
        let p = check_directory(&state, "state directory", me());
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with(&format!(
                "{} (on the way to the state directory {}) is unsafe (mode 0777): group or \
                 others may write in it and it has no sticky bit",
                parent.display(),
                state.display()
            )),
            "{p:?}"
        );
        // Also when the directory is still to be created.
        assert_eq!(
            check_directory(&state.join("new"), "state directory", me()).len(),
            1
        );
        // Sticky, as /tmp: allowed above.
        chmod(&parent, 0o1777);
        assert_eq!(
            check_directory(&state, "state directory", me()),
            Vec::<String>::new()
        );
        chmod(&parent, 0o755);
    }

    #[test]
    fn a_link_on_the_way_is_judged_where_it_leads() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir(&real).unwrap();
        chmod(&real, 0o777);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let p = check_directory(&link.join("state"), "state directory", me());
        assert!(!p.is_empty(), "{p:?}");
        assert!(p.iter().all(|m| m.contains("mode 0777")), "{p:?}");
    }

    #[test]
    fn a_directory_not_owned_by_root_is_refused_when_running_as_root() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIPPED: needs root (chown)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        fs::create_dir(&state).unwrap();
        chmod(&state, 0o755);
        std::os::unix::fs::chown(&state, Some(4321), Some(4321)).unwrap();
        let p = check_directory(&state, "state directory", 0);
        assert_eq!(
            p,
            [format!(
                "the state directory {s} is owned by uid 4321, not root: its owner could \
                 replace the files the daemon keeps there; fix with: chown root {s}",
                s = state.display()
            )]
        );
        // A daemon run as that user may keep its files there.
        assert_eq!(
            check_directory(&state, "state directory", 4321),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_file_where_a_directory_belongs_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let p = check_directory(&file, "pid file's directory", me());
        assert_eq!(
            p,
            [format!(
                "the pid file's directory {} is not a directory",
                file.display()
            )]
        );
    }
}
