//! Whether the daemon may do its work: root, or the two capabilities.

use std::{fmt, io};

use crate::config::cli::Program;

/// Why the daemon may not run.
#[derive(Debug)]
pub enum PrivilegeError {
    /// `/proc/self/status` could not be read to tell.
    Unreadable(Program, io::Error),
    /// Neither root nor both capabilities.
    Missing(Program),
}

impl fmt::Display for PrivilegeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrivilegeError::Unreadable(program, e) => write!(
                f,
                "{program}: cannot read /proc/self/status to check privileges: {e}"
            ),
            PrivilegeError::Missing(program) => write!(
                f,
                "{program} must be executed as root (or with CAP_NET_RAW and CAP_NET_ADMIN): it \
                 controls system-wide resources."
            ),
        }
    }
}

impl std::error::Error for PrivilegeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PrivilegeError::Unreadable(_, e) => Some(e),
            PrivilegeError::Missing(_) => None,
        }
    }
}

/// The Linux capability to use raw sockets (pnet's AF_PACKET channels).
pub const CAP_NET_RAW: u32 = 13;
/// The Linux capability to change interface addresses over netlink.
pub const CAP_NET_ADMIN: u32 = 12;

/// Refuses to go on without the privileges the daemon needs: root, or the
/// capabilities `CAP_NET_RAW` and `CAP_NET_ADMIN` in the effective set (as
/// a systemd unit with `AmbientCapabilities=` grants). The message is
/// Apple's "must be executed as root", adapted; exit with
/// [`crate::config::cli::EXIT_NOPERM`].
pub fn check_privileges(program: Program) -> Result<(), PrivilegeError> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| PrivilegeError::Unreadable(program, e))?;
    privileges_from_status(program, &status)
}

/// [`check_privileges`] on the text of a `/proc/<pid>/status` file.
pub fn privileges_from_status(program: Program, status: &str) -> Result<(), PrivilegeError> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    // "Uid:" lists the real, effective, saved and filesystem uids.
    let euid = field("Uid:").and_then(|v| v.split_whitespace().nth(1)?.parse::<u32>().ok());
    let caps = field("CapEff:").and_then(|v| u64::from_str_radix(v, 16).ok());
    let needed = (1u64 << CAP_NET_RAW) | (1u64 << CAP_NET_ADMIN);
    if euid == Some(0) || caps.is_some_and(|c| c & needed == needed) {
        Ok(())
    } else {
        Err(PrivilegeError::Missing(program))
    }
}
