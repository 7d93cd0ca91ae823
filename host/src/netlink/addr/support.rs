//! Whether this kernel keeps the address protocol mark (IFA_PROTO, Linux
//! 5.18 and later), which the daemon needs on interfaces whose names are too
//! long for its label ([`super::Mark::Proto`]) and on every IPv6 service
//! address (IPv6 has no labels; [`ProtoSupport::mark_for_address`]).
//!
//! An older kernel does not refuse the attribute: IPv4's RTM_NEWADDR
//! parses its attributes leniently (`nlmsg_parse_deprecated` in
//! `net/ipv4/devinet.c`), so an attribute type it does not know is skipped
//! and the address is added unmarked. The daemon must therefore find out,
//! without adding anything, before it starts on such an interface
//! ([`Netlink::proto_support`]): the proof is an address that carries a
//! protocol (the kernel gives one to IPv6's `::1` and link-local addresses,
//! never to IPv4's `127.0.0.1`, and dumps the attribute only when it is not
//! 0); without one, the kernel's release decides (5.18 or later, which
//! misjudges only a distribution kernel that backported the feature and
//! has no such address). The first address the daemon adds with the mark
//! alone is read back all the same ([`Netlink::add`]), so a kernel that
//! does not keep it never leaves an unmarked address behind.

use std::fmt;

use netlink_packet_core::NLM_F_DUMP;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};

use crate::netlink::message::RouteMessage;

use super::{AddrError, Mark, Netlink, MAX_LABELLED_IFNAME_LEN};

/// The first Linux release that keeps IFA_PROTO.
pub const PROTO_SINCE: (u32, u32) = (5, 18);

/// What is known of this kernel's support for the address protocol mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoSupport {
    /// An address in this network namespace carries a protocol: the kernel
    /// keeps them.
    Seen,
    /// No address carries one, but the kernel's release (named) is 5.18 or
    /// later.
    Release(String),
    /// No address carries one and the kernel's release (named) is older
    /// than 5.18, or could not be read.
    Missing(String),
}

impl ProtoSupport {
    /// The mark of the daemon's addresses on `ifname` on this kernel, or why
    /// it has none: the name is too long for a label and the kernel does not
    /// keep the protocol.
    pub fn mark_for(&self, ifname: &str) -> Result<Mark, MarkError> {
        match (Mark::for_interface(ifname), self) {
            (Mark::Proto, ProtoSupport::Missing(release)) => Err(MarkError {
                ifname: ifname.to_owned(),
                why: format!(
                    "this kernel (Linux {release}) does not keep the address protocol mark \
                     (IFA_PROTO, Linux {}.{} and later) that marks the daemon's addresses \
                     instead",
                    PROTO_SINCE.0, PROTO_SINCE.1
                ),
                ipv6: false,
            }),
            (mark, _) => Ok(mark),
        }
    }

    /// [`mark_for`](Self::mark_for) for one service address: an IPv6
    /// address has no label, so the protocol is its only mark whatever the
    /// interface's name, and a kernel that does not keep it cannot carry
    /// IPv6 service addresses at all.
    pub fn mark_for_address(&self, ifname: &str, ipv6: bool) -> Result<Mark, MarkError> {
        match self {
            ProtoSupport::Missing(release) if ipv6 => Err(MarkError {
                ifname: ifname.to_owned(),
                why: format!(
                    "this kernel (Linux {release}) does not keep the address protocol mark \
                     (IFA_PROTO, Linux {}.{} and later), the only mark an IPv6 address can \
                     carry",
                    PROTO_SINCE.0, PROTO_SINCE.1
                ),
                ipv6: true,
            }),
            _ if ipv6 => Ok(Mark::Proto),
            _ => self.mark_for(ifname),
        }
    }
}

/// The daemon cannot mark its addresses on an interface: its name is too
/// long for a label, and the kernel does not keep the protocol mark. Without
/// a mark, a restarted daemon could not find what it added, nor tell it from
/// an administrator's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkError {
    /// The interface name.
    pub ifname: String,
    /// How the kernel's lack of support showed.
    pub why: String,
    /// The address is IPv6: it has no label whatever the name, so the
    /// only remedy is a newer kernel.
    pub ipv6: bool,
}

impl fmt::Display for MarkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.ifname;
        if self.ipv6 {
            return write!(
                f,
                "an IPv6 service address on {name} cannot be marked as the daemon's: {}: run \
                 Linux {}.{} or later, or use an IPv4 service address",
                self.why, PROTO_SINCE.0, PROTO_SINCE.1
            );
        }
        write!(
            f,
            "interface {name} has a {}-byte name, too long for the daemon's address label (names \
             of at most {MAX_LABELLED_IFNAME_LEN} bytes get <name>:fo), and {}: run Linux {}.{} \
             or later, or rename the interface to at most {MAX_LABELLED_IFNAME_LEN} bytes (`ip \
             link set dev {name} down`, `ip link set dev {name} name <new>`) and configure the \
             new name",
            name.len(),
            self.why,
            PROTO_SINCE.0,
            PROTO_SINCE.1
        )
    }
}

impl std::error::Error for MarkError {}

/// Whether a kernel of release `release` (`6.1.0-18-amd64`, as `uname -r`
/// prints it) keeps IFA_PROTO; `None` if the release cannot be read as
/// `<major>.<minor>`.
pub fn release_keeps_proto(release: &str) -> Option<bool> {
    let mut parts = release.split(['.', '-', '+']);
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((major, minor) >= PROTO_SINCE)
}

/// The running kernel's release (`uname -r`), or `unknown`.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

impl Netlink {
    /// Whether this kernel keeps the address protocol mark: see the module
    /// documentation. Reads, changes nothing.
    pub fn proto_support(&mut self) -> Result<ProtoSupport, AddrError> {
        if self.any_address_has_proto()? {
            return Ok(ProtoSupport::Seen);
        }
        let release = kernel_release();
        Ok(match release_keeps_proto(&release) {
            Some(true) => ProtoSupport::Release(release),
            _ => ProtoSupport::Missing(release),
        })
    }

    /// Whether any address of any family in this namespace carries
    /// IFA_PROTO.
    fn any_address_has_proto(&mut self) -> Result<bool, AddrError> {
        // AF_UNSPEC: every family's addresses (IPv6's carry the kernel's
        // own protocols).
        let answers = self
            .exchange(
                RouteMessage::GetAddress(AddressMessage::default()),
                NLM_F_DUMP,
            )
            .map_err(|e| AddrError::from_io("listing addresses", String::new, e))?;
        Ok(answers.iter().any(|m| match m {
            RouteMessage::NewAddress(a) => a
                .attributes
                .iter()
                .any(|x| matches!(x, AddressAttribute::Protocol(_))),
            _ => false,
        }))
    }
}
