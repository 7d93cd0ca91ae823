//! The witness in the lab: the real firmware ELF (`firmware/`)
//! booted in QEMU's `mps2-an385` board, its emulated LAN9118 attached by a
//! tap to the private network's bridge, as the host `witness` at
//! 198.51.100.3.
//!
//! ```text
//!   primary    priv0 198.51.100.1 ─┐
//!   secondary  priv0 198.51.100.2 ─┼─ br-priv (switch namespace)
//!   witness    tap "witness-priv" ─┘   └ QEMU runs in the switch namespace
//!              (QEMU mps2-an385, LAN9118, 198.51.100.3, 02:00:00:00:00:03)
//! ```
//!
//! * The tap is created once, persistent, in the switch namespace and
//!   enslaved to the private bridge, like the servers' switch ports. With no
//!   QEMU attached it has no carrier: the witness's cable is in, its power
//!   is off.
//! * [`WitnessNode::power_on`] starts QEMU inside the switch namespace
//!   ([`Netns::spawn`](crate::netns::Netns::spawn), so the namespace tracks
//!   and finally kills it); [`WitnessNode::power_off`] kills it by PID (a
//!   power loss: no goodbye frame). Each boot's defmt stream (semihosting
//!   stdout) goes to `witness-boot<N>.defmt` in the run's directory and
//!   QEMU's own messages (and a panic's) to `witness-boot<N>.stderr`;
//!   [`WitnessNode::decode_logs`] turns the streams into text,
//!   `witness-boot<N>.log` beside them, with `defmt-print -e <elf>` when it
//!   is installed (`scripts/firmware.sh --defmt-print`; required under CI).
//! * The firmware's boot epoch is the host's time of day in seconds
//!   (semihosting), read when the firmware starts, which is some time after
//!   QEMU was spawned (tens to hundreds of milliseconds later on a loaded
//!   machine). So power-on waits for the next second after the previous
//!   boot's power-off, the latest moment that boot can have read its
//!   epoch: a rebooted witness must use a larger epoch than before.
//!
//! The firmware is configured at build time (`firmware/witness.toml`) for
//! exactly this network and the daemons' "fast" profile (10 ms beats), with
//! the lab's published key ([`lab_key_file`]); [`key_args`] gives the
//! daemons the same key.

use std::fs::File;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::Signal;

use crate::netns::wait_until;
use crate::process;
use crate::topology::{Topology, PRIVATE_BRIDGE};

/// The witness's private address (its node id for the daemons'
/// `--witness`).
pub const WITNESS_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 3);
/// The emulated NIC's Ethernet address.
pub const WITNESS_MAC: &str = "02:00:00:00:00:03";
/// The tap in the switch namespace, a port of the private bridge.
pub const TAP: &str = "witness-priv";
/// Names the firmware ELF to boot, overriding the default location.
pub const ELF_ENV: &str = "FAILOVER_WITNESS_ELF";
/// Names the key file the firmware was built with (its `witness.toml`'s
/// `key_file`), for the daemons' `--key-file`: unset, the lab's key
/// ([`lab_key_file`], what `firmware/witness.toml` names by default); `none`
/// or empty for a firmware built without a key.
pub const KEY_FILE_ENV: &str = "FAILOVER_WITNESS_KEY_FILE";

/// The lab's key, `firmware/lab-only.key`: published in the repository, so
/// not secret; the default `firmware/witness.toml` builds it into the
/// firmware so that the lab runs with authentication on. Never for a real
/// deployment.
pub fn lab_key_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("firmware/lab-only.key")
}

/// The key file the firmware was built with, or `None` for an unkeyed
/// firmware (see [`KEY_FILE_ENV`]).
pub fn key_file() -> Option<PathBuf> {
    match std::env::var_os(KEY_FILE_ENV) {
        None => Some(lab_key_file()),
        Some(v) if v.is_empty() || v == "none" => None,
        Some(v) => Some(PathBuf::from(v)),
    }
}

/// The daemons' arguments for the key the firmware was built with
/// (`--key-file <file>`, see [`key_file`]), or none.
///
/// The daemons refuse a key file that group or others may read, and git
/// checks files out with mode 644: the lab's own key file is set to mode 600
/// here (git records only the executable bit, so the checkout does not
/// change). A file named by [`KEY_FILE_ENV`] is passed as it is.
pub fn key_args() -> Vec<String> {
    let Some(path) = key_file() else {
        return Vec::new();
    };
    if path == lab_key_file() {
        use std::os::unix::fs::PermissionsExt;
        let private = std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o077 == 0);
        if !private {
            if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            {
                let _ = writeln!(
                    io::stderr().lock(),
                    "warning: cannot make the lab's key file {} private ({e}): the daemons \
                     will refuse it",
                    path.display()
                );
            }
        }
    }
    vec!["--key-file".to_owned(), path.display().to_string()]
}

/// Extra arguments for QEMU, whitespace-separated (debugging).
pub const QEMU_ARGS_ENV: &str = "FAILOVER_WITNESS_QEMU_ARGS";
/// The QEMU binary.
pub const QEMU: &str = "qemu-system-arm";
/// The firmware's heartbeat interval as built for the lab
/// (`firmware/witness.toml`); the daemons must use the same.
pub const INTERVAL_MS: u64 = 10;
/// The witness's dead time as built for the lab (`Timing::recommended` for
/// 10 ms: five intervals and 2 ms): a freshly booted witness grants no
/// sooner than this after its boot.
pub const WITNESS_DEAD_TIME: Duration = Duration::from_millis(52);
/// A grant's lease as built for the lab (twenty intervals): also how long a
/// rebooted witness says a grant may be outstanding, and the longer
/// hold-down of policy "preferred" after the verdict.
pub const LEASE: Duration = Duration::from_millis(200);

/// Where `scripts/firmware.sh` leaves the ELF.
pub fn default_elf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("firmware/target/thumbv7m-none-eabi/release/failover-witness")
}

/// The firmware ELF: `$FAILOVER_WITNESS_ELF`, or the default build output.
pub fn find_elf() -> io::Result<PathBuf> {
    let path = std::env::var_os(ELF_ENV).map_or_else(default_elf, PathBuf::from);
    if path.is_file() {
        Ok(path)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "the witness firmware {} does not exist: build it with scripts/firmware.sh \
                 (as root it installs Debian's rustc-web toolchain and QEMU first), or set {ELF_ENV}",
                path.display()
            ),
        ))
    }
}

/// Whether `program` is on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Whether this is a CI run (`CI=true`), where a missing tool fails
/// instead of skipping.
pub fn is_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true" | "1"))
}

/// The `defmt-print` program: on `PATH`, or where `cargo install` puts it
/// (`$CARGO_HOME/bin`, `~/.cargo/bin`; `sudo` and CI shells often lack
/// those on `PATH`).
pub fn defmt_print() -> Option<PathBuf> {
    if on_path("defmt-print") {
        return Some(PathBuf::from("defmt-print"));
    }
    let cargo_home = std::env::var_os("CARGO_HOME").map(PathBuf::from);
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo"));
    [cargo_home, home]
        .into_iter()
        .flatten()
        .map(|d| d.join("bin").join("defmt-print"))
        .find(|p| p.is_file())
}

/// For the witness tests: returns the ELF to boot, or `None` (skip) after
/// saying loudly why — QEMU or the firmware is missing — and how to get
/// them. Under `CI=true` a skip is a failure: CI must run them, and decode
/// the witness's log, so there `defmt-print` missing fails too.
pub fn skip_unless_ready(test: &str) -> Option<PathBuf> {
    if is_ci() && defmt_print().is_none() {
        panic!(
            "{test}: CI must decode the witness's log, and defmt-print is not installed \
             (scripts/firmware.sh --defmt-print installs it: cargo install defmt-print --locked)"
        );
    }
    let why = if !on_path(QEMU) {
        format!(
            "{QEMU} is not installed (apt-get install qemu-system-arm; scripts/firmware.sh \
             installs it with the firmware toolchain)"
        )
    } else {
        match find_elf() {
            Ok(elf) => return Some(elf),
            Err(e) => e.to_string(),
        }
    };
    if is_ci() {
        panic!("{test}: cannot run under CI: {why}");
    }
    let _ = writeln!(
        io::stderr().lock(),
        "\n********************************************************************\n\
         SKIPPED: {test}: {why}\n\
         ********************************************************************"
    );
    None
}

/// Whole seconds of the host's clock (the firmware's epoch source).
fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The witness node: its tap on the private bridge, and QEMU when powered.
#[derive(Debug)]
pub struct WitnessNode {
    elf: PathBuf,
    dir: PathBuf,
    boots: u32,
    pid: Option<u32>,
    /// The latest second the running (or last) boot can have taken as its
    /// epoch: when it was powered off, or, while it runs, now.
    epoch_bound: u64,
}

impl WitnessNode {
    /// Plugs the witness into the lab's private bridge (powered off):
    /// creates the tap in the switch namespace. Its files go to `dir`.
    pub fn attach(t: &Topology, elf: &Path, dir: &Path) -> io::Result<WitnessNode> {
        let sw = t.switch.ns();
        sw.ip(&["tuntap", "add", "dev", TAP, "mode", "tap"])?;
        sw.ip(&["link", "set", "dev", TAP, "master", PRIVATE_BRIDGE])?;
        sw.link_up(TAP)?;
        std::fs::create_dir_all(dir)?;
        Ok(WitnessNode {
            elf: elf.to_path_buf(),
            dir: dir.to_path_buf(),
            boots: 0,
            pid: None,
            epoch_bound: 0,
        })
    }

    /// How many times it was powered on.
    pub fn boots(&self) -> u32 {
        self.boots
    }

    /// The PID of the running QEMU, if powered.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The defmt stream of boot `n` (1-based).
    pub fn defmt_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("witness-boot{n}.defmt"))
    }

    /// QEMU's standard error of boot `n` (its warnings; a panic message).
    pub fn stderr_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("witness-boot{n}.stderr"))
    }

    /// Powers the witness on: boots the firmware in QEMU, attached to the
    /// tap. Returns QEMU's PID.
    pub fn power_on(&mut self, t: &Topology) -> io::Result<u32> {
        if let Some(pid) = self.pid {
            return Err(io::Error::other(format!(
                "the witness is already on (QEMU pid {pid})"
            )));
        }
        // A new boot needs a new epoch: the next whole second after the
        // previous boot's power-off (bounded).
        let _ = wait_until(Duration::from_secs(2), Duration::from_millis(20), || {
            unix_secs() > self.epoch_bound
        });
        self.epoch_bound = unix_secs();
        self.boots += 1;
        let n = self.boots;
        let stdout = File::create(self.defmt_path(n))?;
        let stderr = File::create(self.stderr_path(n))?;
        let nic =
            format!("tap,ifname={TAP},script=no,downscript=no,model=lan9118,mac={WITNESS_MAC}");
        let elf = self
            .elf
            .to_str()
            .ok_or_else(|| io::Error::other("non-UTF-8 ELF path"))?;
        let args = [
            "-M",
            "mps2-an385",
            "-nographic",
            // stdout carries nothing but the defmt stream.
            "-monitor",
            "none",
            "-serial",
            "null",
            "-semihosting-config",
            "enable=on,target=native",
            "-nic",
            &nic,
            "-kernel",
            elf,
        ];
        // Extra QEMU arguments for debugging (`-d guest_errors`, a monitor
        // socket to read memory), split on whitespace.
        let extra = std::env::var(QEMU_ARGS_ENV).unwrap_or_default();
        let all: Vec<&str> = args
            .iter()
            .copied()
            .chain(extra.split_whitespace())
            .collect();
        let pid = t
            .switch
            .ns()
            .spawn(QEMU, &all, Stdio::from(stdout), Stdio::from(stderr))?;
        self.pid = Some(pid);
        Ok(pid)
    }

    /// Whether QEMU is still running (it exits on a firmware panic).
    pub fn is_running(&self) -> bool {
        self.pid.is_some_and(process::is_running)
    }

    /// Cuts the witness's power: kills QEMU (SIGKILL, by PID) and waits
    /// until it is gone.
    pub fn power_off(&mut self, t: &Topology) -> io::Result<()> {
        let Some(pid) = self.pid else {
            return Ok(());
        };
        if self.is_running() {
            t.switch.ns().signal(pid, Signal::SIGKILL)?;
        }
        let gone = wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
            !self.is_running()
        });
        // The firmware read its epoch before it died, so no later than now.
        self.epoch_bound = self.epoch_bound.max(unix_secs());
        self.pid = None;
        if gone {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "QEMU (pid {pid}) still running 5 s after SIGKILL"
            )))
        }
    }

    /// QEMU's standard error of the latest boot (empty when all went well).
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.stderr_path(self.boots)).unwrap_or_default()
    }

    /// The decoded log of boot `n` (see [`decode_logs`](Self::decode_logs)).
    pub fn log_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("witness-boot{n}.log"))
    }

    /// Decodes every boot's defmt stream with `defmt-print` (see
    /// [`defmt_print`]) into `witness-boot<N>.log` next to it, and returns
    /// the text of all boots, each after a `--- witness boot <N>` line;
    /// `None` without `defmt-print`. The raw streams stay either way
    /// (`defmt-print -e <elf> < witness-boot<N>.defmt`). A stream still
    /// being written (QEMU running) is decoded as far as it goes.
    pub fn decode_logs(&self) -> Option<String> {
        let program = defmt_print()?;
        let mut all = String::new();
        for n in 1..=self.boots {
            let Ok(input) = File::open(self.defmt_path(n)) else {
                continue;
            };
            let mut cmd = Command::new(&program);
            cmd.arg("-e").arg(&self.elf).stdin(input);
            let out = output_within(cmd, Duration::from_secs(20)).ok()?;
            let text = String::from_utf8_lossy(&out).into_owned();
            let _ = std::fs::write(self.log_path(n), &text);
            all.push_str(&format!("--- witness boot {n}\n{text}"));
        }
        Some(all)
    }
}

/// Runs `cmd` (standard input as set) and returns its standard output,
/// killing it after `timeout`. Its standard error is discarded.
fn output_within(mut cmd: Command, timeout: Duration) -> io::Result<Vec<u8>> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout"))?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let done = wait_until(timeout, Duration::from_millis(5), || {
        matches!(child.try_wait(), Ok(Some(_)) | Err(_))
    });
    if !done {
        let _ = child.kill();
        let _ = child.wait();
    }
    let out = reader
        .join()
        .map_err(|_| io::Error::other("reader thread panicked"))?;
    if done {
        Ok(out)
    } else {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "killed after the time limit",
        ))
    }
}
