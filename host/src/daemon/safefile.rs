//! The files the daemons keep (the pid file, the status file, the epoch
//! files) opened without ever following a symbolic link. The daemons run as
//! root and write these files; a link planted at one of their names (or at
//! the temporary name a file is written under) would otherwise make root
//! overwrite whatever the link points to. Every open here carries
//! `O_NOFOLLOW`, a temporary file is created with `O_CREAT|O_EXCL` (so a
//! name that exists in any form, a dangling link too, is never written
//! through), and a link found at a name is refused with a message naming
//! it. The directories themselves are checked by [`super::safedir`].

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

/// The mode of the directories the daemons create for their files: only
/// the owner writes ([`super::safedir`] refuses anything looser).
pub const DIR_MODE: u32 = 0o755;
/// The mode of the files the daemons keep: readable by all (the pid file
/// and the status are for operators and init scripts), written by root.
pub const FILE_MODE: u32 = 0o644;

fn nofollow() -> i32 {
    OFlag::O_NOFOLLOW.bits() | OFlag::O_CLOEXEC.bits()
}

/// The error for a symbolic link found at `path`: never followed, named,
/// with the fix.
pub fn link_refused(path: &Path) -> io::Error {
    let p = path.display();
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{p} is a symbolic link: refused (the daemon never follows a link for the files it \
             keeps, as it could be made to overwrite what the link points to); remove it with: \
             rm {p}"
        ),
    )
}

/// What is at `path` when `open` failed with `e`: a link (refused, with
/// [`link_refused`]), or `e` itself with the path named.
fn explain(path: &Path, e: io::Error) -> io::Error {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link || e.raw_os_error() == Some(nix::libc::ELOOP) {
        return link_refused(path);
    }
    if e.kind() == io::ErrorKind::NotFound {
        // Callers test for it: keep the kind, as the open said.
        return e;
    }
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Refuses anything but a regular file: a FIFO or a device at a kept name
/// is as foreign as a link.
fn regular(path: &Path, file: File) -> io::Result<File> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a regular file: refused; remove it",
                path.display()
            ),
        ));
    }
    Ok(file)
}

/// Opens `path` for reading, refusing a symbolic link. A missing file is
/// the `NotFound` error of the open.
pub fn open_read(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nofollow() | OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| explain(path, e))?;
    regular(path, file)
}

/// Reads `path` to a string, refusing a symbolic link (see [`open_read`]).
pub fn read_to_string(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    open_read(path)?
        .read_to_string(&mut text)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(text)
}

/// Opens `path` for reading and writing, creating it (mode
/// [`FILE_MODE`]) if missing and keeping its contents: the pid file, which
/// is locked while open. A symbolic link at `path` is refused.
pub fn open_or_create(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .custom_flags(nofollow() | OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| explain(path, e))?;
    regular(path, file)
}

/// Creates `dir` and its missing parents, each with mode [`DIR_MODE`]
/// (whatever the umask would have allowed).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create the directory {}: {e}", dir.display()),
            )
        })
}

/// The temporary name `path` is written under before it replaces `path`:
/// `<path>.tmp`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// Creates the temporary file `tmp` with `O_CREAT|O_EXCL|O_NOFOLLOW`. A
/// regular file left there (a crash between create and rename) is removed
/// and the create tried once more; a link or anything else is refused.
fn create_temp(tmp: &Path) -> io::Result<File> {
    let create = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(nofollow())
            .open(tmp)
    };
    match create() {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta = fs::symlink_metadata(tmp)?;
            if meta.file_type().is_symlink() {
                return Err(link_refused(tmp));
            }
            if !meta.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is not a regular file: refused; remove it",
                        tmp.display()
                    ),
                ));
            }
            // A leftover of our own: `remove_file` unlinks the name, it
            // follows nothing.
            fs::remove_file(tmp)
                .and_then(|()| create())
                .map_err(|e| explain(tmp, e))
        }
        Err(e) => Err(explain(tmp, e)),
    }
}

/// Replaces `path` with `text` atomically: written to a new temporary file
/// next to it ([`temp_path`]), synced, renamed over `path`, and the
/// directory synced, so a crash leaves the old or the new contents, never
/// a torn file. A symbolic link at `path` or at the temporary name is
/// refused (the rename would not follow it, but a link where a kept file
/// belongs means someone is at work there). Missing directories are
/// created ([`create_dir`]).
pub fn replace(path: &Path, text: &str) -> io::Result<()> {
    replace_with(path, text, true)
}

/// [`replace`] without waiting for the disk (no `fsync` of the file or the
/// directory), for a file rewritten every few seconds from the event loop,
/// which must never wait on a slow disk: the metrics. Readers still never
/// see half a file (the rename is atomic), and the links are refused as
/// by [`replace`]; only a crash of the whole host may lose the last
/// writes, which the next start writes again.
pub fn replace_volatile(path: &Path, text: &str) -> io::Result<()> {
    replace_with(path, text, false)
}

fn replace_with(path: &Path, text: &str, durable: bool) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        create_dir(dir)?;
    }
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(link_refused(path));
    }
    let tmp = temp_path(path);
    let written = create_temp(&tmp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        if durable {
            f.sync_all()?;
        }
        Ok(())
    });
    let renamed = written.and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = renamed {
        // Only a name we created: `create_temp` refused anything else
        // before writing.
        if fs::symlink_metadata(&tmp).is_ok_and(|m| m.is_file()) {
            let _ = fs::remove_file(&tmp);
        }
        return Err(e);
    }
    if let Some(dir) = dir.filter(|_| durable) {
        // Make the rename itself durable.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    /// A directory with a victim file a link could point to.
    fn setup() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        (dir, victim)
    }

    fn assert_refused(e: &io::Error, path: &Path) {
        let m = e.to_string();
        assert!(
            m.contains(&format!("{} is a symbolic link: refused", path.display())),
            "{m}"
        );
    }

    #[test]
    fn replace_writes_and_replaces() {
        let (dir, _) = setup();
        let path = dir.path().join("sub/x.epoch");
        replace(&path, "1\n").unwrap();
        replace(&path, "2\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "2\n");
        assert!(!temp_path(&path).exists());
        let mode = fs::metadata(dir.path().join("sub")).unwrap().mode() & 0o7777;
        assert_eq!(mode & 0o022, 0, "{mode:o}");
    }

    #[test]
    fn a_link_at_the_temporary_name_is_refused_not_followed() {
        let (dir, victim) = setup();
        let path = dir.path().join("x.epoch");
        let tmp = temp_path(&path);
        symlink(&victim, &tmp).unwrap();
        let e = replace(&path, "1\n").unwrap_err();
        assert_refused(&e, &tmp);
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(!path.exists());
        // A dangling link too: O_EXCL never creates through it.
        let absent = dir.path().join("absent");
        fs::remove_file(&tmp).unwrap();
        symlink(&absent, &tmp).unwrap();
        assert_refused(&replace(&path, "1\n").unwrap_err(), &tmp);
        assert!(!absent.exists());
    }

    #[test]
    fn a_link_at_the_final_name_is_refused_not_followed() {
        let (dir, victim) = setup();
        let path = dir.path().join("x.status");
        symlink(&victim, &path).unwrap();
        assert_refused(&replace(&path, "1\n").unwrap_err(), &path);
        assert_refused(&read_to_string(&path).unwrap_err(), &path);
        assert_refused(&open_or_create(&path).unwrap_err(), &path);
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(!temp_path(&path).exists(), "no temporary file left");
    }

    #[test]
    fn a_volatile_replace_is_as_atomic_and_as_careful() {
        let (dir, victim) = setup();
        let path = dir.path().join("m.prom");
        replace_volatile(&path, "a 1\n").unwrap();
        replace_volatile(&path, "a 2\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a 2\n");
        assert!(!temp_path(&path).exists());
        fs::remove_file(&path).unwrap();
        symlink(&victim, &path).unwrap();
        assert_refused(&replace_volatile(&path, "a 3\n").unwrap_err(), &path);
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    }

    #[test]
    fn a_leftover_temporary_file_is_replaced() {
        let (dir, _) = setup();
        let path = dir.path().join("x.epoch");
        fs::write(temp_path(&path), "half").unwrap();
        replace(&path, "3\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "3\n");
    }

    #[test]
    fn missing_files_keep_not_found_and_others_are_refused() {
        let (dir, _) = setup();
        let e = read_to_string(&dir.path().join("nope")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let e = read_to_string(dir.path()).unwrap_err();
        assert!(e.to_string().contains("is not a regular file"), "{e}");
    }
}
