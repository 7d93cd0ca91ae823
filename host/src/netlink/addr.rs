//! IPv4 and IPv6 addresses and interface facts over rtnetlink, never by
//! running `ip` or `ifconfig`.
//!
//! The daemons add the service addresses on takeover and remove them on
//! release ([`Netlink::add`], [`Netlink::remove`]); `-n` and start-up need
//! to know an interface's index, MAC, up state and addresses
//! ([`Netlink::interface`]).
//!
//! Here: the connection ([`Netlink`]) and its one bounded request/answer
//! exchange, and the errors. Around it, one file a concern: what an
//! interface is made of, with the subnet arithmetic `-n` checks by
//! (`facts`, plain data); reading interfaces and addresses from the kernel
//! (`query`); adding and removing the service addresses under the
//! daemon's marks (`change`, with the rules in [`mark`]); the same for IPv6
//! service addresses, marked by the protocol alone (`v6`); and whether this
//! kernel keeps the protocol mark ([`support`]).
//!
//! # Marking the daemon's addresses
//!
//! A restarted daemon must find every address it added, to reconcile them
//! ([`Netlink::list_ours`]): nothing it added is orphaned by a crash. And
//! it must never remove an address an administrator configured, even the
//! same address. So every address the daemon adds carries two marks
//! ([`mark`]):
//!
//! - the IPv4 address label (IFA_LABEL) [`daemon_label`]`(ifname)`,
//!   `<ifname>:fo` (`ip addr` shows it in the last column, like an old
//!   `eth0:1` alias), where the name leaves room for it;
//! - the address protocol (IFA_PROTO) [`ADDR_PROTO`], always.
//!
//! An address is ours if it carries either ([`is_ours`]): the label alone
//! finds the addresses of daemons older than the protocol mark.
//!
//! The label rule: it must start with the interface name (iproute2 and the
//! alias convention require `ifname` or `ifname:suffix`) and fit in
//! IFNAMSIZ - 1 = 15 bytes (the kernel refuses a longer one). So the label
//! is `<ifname>:fo` for names up to 12 bytes and `<ifname>:f` for a 13-byte
//! name. A 14- or 15-byte name (`enp129s0f0.100`) leaves no room after the
//! colon, and a label equal to the name is what every unlabelled address
//! has: there the address gets no label of the daemon's (the kernel gives
//! it the name) and the protocol is the only mark ([`Mark::Proto`]).
//!
//! Removal ([`Netlink::remove`]) differs by mark, because of what the kernel
//! compares when it deletes an IPv4 address (`inet_rtm_deladdr` in
//! `net/ipv4/devinet.c`): the local address, the prefix length, and the
//! label if one is given; never IFA_PROTO.
//!
//! - [`Mark::Label`]: the label is passed, and the kernel deletes the
//!   address only if it carries it. An administrator's address is safe by
//!   the kernel's own rule, whatever happens concurrently.
//! - [`Mark::Proto`]: the daemon reads the interface's addresses, and
//!   deletes the one with that address and prefix length only if it
//!   carries [`ADDR_PROTO`], passing the label it was read with. An
//!   interface holds at most one address with a given address and prefix
//!   length (adding a second is EEXIST: `__inet_insert_ifa`), so this
//!   names exactly the address that was checked, except in one window: were
//!   ours removed and an administrator's with the same address, prefix
//!   length and label added between the read and the delete (two netlink
//!   requests apart: microseconds), the administrator's would go.
//!   `-n` refuses a service address configured by hand on such an
//!   interface, so a sound configuration never has the two.
//!
//! What the protocol mark relies on: Linux 5.18 or later, which stores
//! IFA_PROTO with an IPv4 address (`rtm_to_ifaddr`), keeps it across a
//! rename (only labels change: `inetdev_changename`) and dumps it when it is
//! not 0 (`inet_fill_ifaddr`). An older kernel skips the unknown attribute
//! and adds the address unmarked; the daemon refuses to start on an
//! interface with a long name there ([`support`]), and reads back the first
//! address it marks by the protocol alone, removing it again with an error
//! if the mark did not stick ([`MarkError`]). The workaround there is to
//! rename the interface to at most 13 bytes.
//!
//! # Why this crate set
//!
//! `netlink-sys` 0.9 (a plain blocking socket, no async runtime) with
//! `netlink-packet-core` 0.9 and `netlink-packet-route` 0.34, the rust-netlink
//! project's current mutually compatible releases (route 0.34 depends on
//! core 0.9 and is tested against sys 0.9). Every request is bounded: the
//! socket has a receive timeout of [`REQUEST_TIMEOUT`].
//!
//! Removing an address has one kernel subtlety the daemons should know: when
//! a *primary* address of a subnet is removed and
//! `net.ipv4.conf.<if>.promote_secondaries` is 0, the kernel also removes
//! that subnet's secondary addresses. Apple's rule of giving a service
//! address on the interface's own subnet a /32 mask avoids that case.

use std::fmt;
use std::io;
use std::time::Duration;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::netlink::message::RouteMessage;

mod change;
mod facts;
pub mod mark;
mod query;
pub mod support;
mod v6;

pub use change::Change;
pub use facts::{directed_broadcast, netmask, InterfaceInfo, Ipv4IfAddr, LinkInfo, TargetKind};
pub use mark::{
    daemon_label, is_ours, mark_of, renamed_label, Mark, ADDR_PROTO, LABEL_SUFFIX,
    MAX_LABELLED_IFNAME_LEN, MAX_LABEL_LEN,
};
pub(crate) use query::link_info;
pub use support::{MarkError, ProtoSupport};
pub use v6::{network6, same_prefix, Ipv6IfAddr};

/// The longest interface name Linux allows (IFNAMSIZ - 1).
pub const MAX_IFNAME_LEN: usize = 15;
/// Bound on every netlink exchange: the kernel answers rtnetlink requests
/// synchronously, so this only fires if something is badly wrong.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a dump interrupted by a concurrent change is retried.
const DUMP_RETRIES: usize = 3;

/// Why an address operation or interface query failed.
#[derive(Debug)]
pub enum AddrError {
    /// No interface of that name or index (ENODEV).
    NoSuchInterface {
        /// The name or `#index` asked for.
        name: String,
    },
    /// The daemon's addresses cannot be marked on the interface: see
    /// [`MarkError`].
    Mark(MarkError),
    /// The kernel refused for lack of CAP_NET_ADMIN (EPERM/EACCES).
    PermissionDenied {
        /// What was attempted.
        operation: &'static str,
    },
    /// A request, argument or other system error.
    Io {
        /// What was attempted.
        operation: &'static str,
        /// The cause.
        source: io::Error,
    },
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrError::NoSuchInterface { name } => write!(f, "no such interface: {name}"),
            AddrError::Mark(e) => e.fmt(f),
            AddrError::PermissionDenied { operation } => write!(
                f,
                "{operation}: permission denied (needs root or CAP_NET_ADMIN)"
            ),
            AddrError::Io { operation, source } => write!(f, "{operation}: {source}"),
        }
    }
}

impl std::error::Error for AddrError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AddrError::Mark(e) => Some(e),
            AddrError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl AddrError {
    pub(crate) fn from_io(
        operation: &'static str,
        name: impl FnOnce() -> String,
        e: io::Error,
    ) -> Self {
        match e.raw_os_error() {
            Some(libc_enodev) if libc_enodev == ENODEV => {
                AddrError::NoSuchInterface { name: name() }
            }
            Some(c) if c == EPERM || c == EACCES => AddrError::PermissionDenied { operation },
            _ => AddrError::Io {
                operation,
                source: e,
            },
        }
    }
}

// errno values (Linux, all architectures).
const EPERM: i32 = 1;
const EACCES: i32 = 13;
const EEXIST: i32 = 17;
const ENODEV: i32 = 19;
const EADDRNOTAVAIL: i32 = 99;

/// A synchronous rtnetlink connection in the network namespace of the
/// thread that opened it. Cheap to keep open for the daemon's lifetime;
/// every call is one bounded request/response exchange.
#[derive(Debug)]
pub struct Netlink {
    socket: Socket,
    seq: u32,
    /// An address added with [`Mark::Proto`] was read back with the
    /// protocol: the kernel keeps it, no need to check again.
    proto_kept: bool,
    /// Likewise for the first IPv6 address added (always marked by the
    /// protocol alone: IPv6 has no labels).
    proto6_kept: bool,
}

type Msg = NetlinkMessage<RouteMessage>;

impl Netlink {
    /// Opens a NETLINK_ROUTE socket. Needs no privilege (queries work for
    /// anyone; changes need CAP_NET_ADMIN).
    pub fn open() -> Result<Self, AddrError> {
        let io = |e| AddrError::from_io("opening a netlink socket", String::new, e);
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(io)?;
        socket.bind_auto().map_err(io)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(io)?;
        socket2::SockRef::from(&socket)
            .set_read_timeout(Some(REQUEST_TIMEOUT))
            .map_err(io)?;
        Ok(Netlink {
            socket,
            seq: 0,
            proto_kept: false,
            proto6_kept: false,
        })
    }

    /// Sends one request and collects the kernel's answers up to the
    /// terminating DONE (dumps) or ACK/error (everything else).
    fn exchange(&mut self, message: RouteMessage, flags: u16) -> io::Result<Vec<RouteMessage>> {
        for _ in 0..DUMP_RETRIES {
            match self.exchange_once(message.clone(), flags)? {
                Some(answers) => return Ok(answers),
                None => continue, // dump interrupted by a concurrent change
            }
        }
        Err(io::Error::new(
            io::ErrorKind::Interrupted,
            "netlink dump kept being interrupted by concurrent changes",
        ))
    }

    fn exchange_once(
        &mut self,
        message: RouteMessage,
        flags: u16,
    ) -> io::Result<Option<Vec<RouteMessage>>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket.send(&buf, 0)?;

        let mut answers = Vec::new();
        let mut interrupted = false;
        // Bounded: each recv is bounded by REQUEST_TIMEOUT, and a dump of a
        // sane system is a few hundred datagrams at most.
        for _ in 0..100_000 {
            let (data, _) = self.socket.recv_from_full().map_err(|e| {
                if e.kind() == io::ErrorKind::WouldBlock {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        "netlink: no answer from the kernel",
                    )
                } else {
                    e
                }
            })?;
            let mut offset = 0;
            while offset < data.len() {
                let bytes = &data[offset..];
                let msg: Msg = NetlinkMessage::deserialize(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = msg.header.length as usize;
                if msg.header.sequence_number == seq {
                    if msg.header.flags & NLM_F_DUMP_INTR != 0 {
                        interrupted = true;
                    }
                    match msg.payload {
                        NetlinkPayload::Done(_) => {
                            return Ok((!interrupted).then_some(answers));
                        }
                        NetlinkPayload::Error(e) => {
                            return match e.code {
                                None => Ok(Some(answers)),
                                Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                            };
                        }
                        NetlinkPayload::InnerMessage(m) => answers.push(m),
                        _ => {}
                    }
                }
                if len == 0 {
                    break;
                }
                offset = offset.saturating_add(align4(len));
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "netlink: answer never ended",
        ))
    }
}

const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

#[cfg(test)]
mod tests;
