//! The pid file: written at start, locked for the daemon's life so a second
//! copy refuses to start (instead of both fighting over the addresses), and
//! removed on a clean exit.

use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::safefile;

/// A held pid file. Dropping it removes the file and releases the lock.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    _lock: Flock<File>,
}

impl PidFile {
    /// Creates (or takes over a stale) pid file at `path` for `pid`. Fails
    /// with a message naming the running copy's pid when another process
    /// holds the lock, and refuses a symbolic link or anything but a
    /// regular file at `path` ([`safefile::open_or_create`]).
    pub fn acquire(path: &Path, pid: u32) -> io::Result<PidFile> {
        // Never through a planted link: root would lock and overwrite
        // whatever it points to.
        let file = safefile::open_or_create(path)?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((mut file, _)) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "already running (pid {}, pid file {})",
                        text.trim(),
                        path.display()
                    ),
                ));
            }
        };
        lock.set_len(0)?;
        lock.rewind()?;
        writeln!(lock, "{pid}")?;
        lock.sync_all()?;
        Ok(PidFile {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// Writes a new pid into the held file: after moving to the background,
    /// where the daemon's pid changes but the lock (held by the open file,
    /// which the child inherits) stays.
    /// The new pid is written before the file is cut to its length, so a
    /// reader never finds it empty.
    pub fn rewrite(&mut self, pid: u32) -> io::Result<()> {
        let text = format!("{pid}\n");
        self._lock.rewind()?;
        self._lock.write_all(text.as_bytes())?;
        self._lock.set_len(text.len() as u64)?;
        self._lock.sync_all()
    }

    /// Where the pid file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_copy_is_refused_and_the_file_goes_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/failoverd.pid");
        let held = PidFile::acquire(&path, 4242).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "4242\n");
        let err = PidFile::acquire(&path, 7).unwrap_err();
        assert!(
            err.to_string().contains("already running (pid 4242"),
            "{err}"
        );
        drop(held);
        assert!(!path.exists());
        // A stale file (no lock held) is taken over.
        fs::write(&path, "99\n").unwrap();
        let again = PidFile::acquire(&path, 8).unwrap();
        assert_eq!(fs::read_to_string(again.path()).unwrap(), "8\n");
    }

    #[test]
    fn a_link_at_the_pid_file_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        let path = dir.path().join("failoverd.pid");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let err = PidFile::acquire(&path, 4242).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("{} is a symbolic link: refused", path.display())),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        // A FIFO is no pid file either (and opening it does not hang).
        let fifo = dir.path().join("fifo.pid");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let err = PidFile::acquire(&fifo, 1).unwrap_err();
        assert!(err.to_string().contains("is not a regular file"), "{err}");
    }
}
