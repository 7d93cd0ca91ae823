//! A disk of a test's own, to freeze: an ext4 image file in the test's
//! directory, attached to a loop device (`losetup --find --show`) and
//! mounted at a directory beside it; frozen and thawed with `fsfreeze`, as
//! a VM backup agent (qemu-guest-agent) does around a snapshot: while it
//! is frozen, every write to it waits until the thaw.
//!
//! It makes nothing outside the directory it is given but the loop device
//! `losetup` hands out, and every command is bounded in time. Dropped
//! (also when a test fails), it thaws the filesystem, unmounts it (lazily
//! if it is busy), detaches the loop device and removes the image (kept
//! when the test fails, as the rest of its directory).
//!
//! The daemons run in mount namespaces of their own (`ip netns exec`
//! makes one, a copy of the lab's at their start): a daemon sees the disk
//! only if it was mounted before the daemon started, and a daemon still
//! running when the disk goes keeps the filesystem (and so its loop
//! device, which `losetup -d` then detaches when the last user goes) until
//! it exits. A freeze is of the filesystem, so it reaches every namespace.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::control::run_bounded;

/// The longest `mkfs`, `losetup`, `mount`, `umount` or `fsfreeze` may
/// take (a freeze writes the dirty pages back first).
const DISK_COMMAND_LIMIT: Duration = Duration::from_secs(30);

/// A loop-mounted ext4 image (see the module's documentation).
#[derive(Debug)]
pub struct Disk {
    image: PathBuf,
    mount: PathBuf,
    /// The loop device, once attached.
    device: Option<String>,
    mounted: bool,
    frozen: bool,
}

/// Runs `program args...` bounded in time; an error with its output if it
/// fails.
fn run(program: &str, args: &[&str]) -> io::Result<String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let (ok, out) = run_bounded(cmd, DISK_COMMAND_LIMIT)
        .map_err(|e| io::Error::new(e.kind(), format!("{program} {args:?}: {e}")))?;
    if ok {
        Ok(out)
    } else {
        Err(io::Error::other(format!(
            "{program} {args:?} failed: {}",
            out.trim()
        )))
    }
}

/// A path as an argument.
fn arg(p: &Path) -> io::Result<&str> {
    p.to_str()
        .ok_or_else(|| io::Error::other(format!("non-UTF-8 path {}", p.display())))
}

impl Disk {
    /// Makes an ext4 filesystem of `size_mb` MiB in `<dir>/<name>.img`,
    /// attaches it to a free loop device and mounts it at `<dir>/<name>`
    /// (its root mode 755, as the daemons want their directories). On an
    /// error, what was done is undone.
    pub fn create(dir: &Path, name: &str, size_mb: u64) -> io::Result<Disk> {
        let mut disk = Disk {
            image: dir.join(format!("{name}.img")),
            mount: dir.join(name),
            device: None,
            mounted: false,
            frozen: false,
        };
        File::create(&disk.image)?.set_len(size_mb << 20)?;
        // 256-byte inodes: nanosecond timestamps (a small filesystem's
        // default, 128, keeps whole seconds).
        run("mkfs.ext4", &["-q", "-F", "-I", "256", arg(&disk.image)?])?;
        let device = run("losetup", &["--find", "--show", arg(&disk.image)?])?;
        disk.device = Some(device.trim().to_owned());
        fs::create_dir_all(&disk.mount)?;
        run(
            "mount",
            &[
                "-t",
                "ext4",
                disk.device.as_deref().unwrap_or_default(),
                arg(&disk.mount)?,
            ],
        )?;
        disk.mounted = true;
        fs::set_permissions(&disk.mount, fs::Permissions::from_mode(0o755))?;
        Ok(disk)
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.mount
    }

    /// Freezes the filesystem (`fsfreeze --freeze`): from its return on,
    /// every write to it waits until [`Disk::thaw`]. Reads go on.
    pub fn freeze(&mut self) -> io::Result<()> {
        // Counted as frozen from the attempt on: a freeze that timed out
        // may still have happened, and the thaw is harmless if not.
        self.frozen = true;
        run("fsfreeze", &["--freeze", arg(&self.mount)?]).map(drop)
    }

    /// Thaws it (`fsfreeze --unfreeze`): the writes that waited go on.
    pub fn thaw(&mut self) -> io::Result<()> {
        run("fsfreeze", &["--unfreeze", arg(&self.mount)?])?;
        self.frozen = false;
        Ok(())
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        let Ok(mount) = arg(&self.mount).map(str::to_owned) else {
            return;
        };
        if self.frozen {
            if let Err(e) = self.thaw() {
                eprintln!("disk {mount}: {e}");
            }
        }
        if self.mounted && run("umount", &[mount.as_str()]).is_err() {
            // Busy (a process of the lab's has a file open there): detached
            // now, gone when it is no longer used.
            if let Err(e) = run("umount", &["--lazy", mount.as_str()]) {
                eprintln!("disk {mount}: {e}");
            }
        }
        if let Some(device) = &self.device {
            // Still used (a daemon's mount namespace has it): the kernel
            // detaches it when the last user goes (autoclear).
            if let Err(e) = run("losetup", &["--detach", device]) {
                eprintln!("disk {mount}: {e}");
            }
        }
        // A failed test's directory is kept: its image too, to be mounted
        // and read (the daemons' state, spool and metrics).
        if !std::thread::panicking() {
            let _ = fs::remove_file(&self.image);
        }
    }
}
