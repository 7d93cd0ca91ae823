//! IPv4 addresses and interface facts over rtnetlink, never by running
//! `ip` or `ifconfig`.
//!
//! The daemons add the service addresses on takeover and remove them on
//! release ([`Netlink::add`], [`Netlink::remove`]); `-n` and start-up need
//! to know an interface's index, MAC, up state and addresses
//! ([`Netlink::interface`]).
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
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressProtocol, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkLayerType, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use pnet_datalink::MacAddr;

pub mod mark;
pub mod support;

pub use mark::{
    daemon_label, is_ours, mark_of, renamed_label, Mark, ADDR_PROTO, LABEL_SUFFIX,
    MAX_LABELLED_IFNAME_LEN, MAX_LABEL_LEN,
};
pub use support::{MarkError, ProtoSupport};

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

/// What an idempotent [`Netlink::add`] or [`Netlink::remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The address was added or removed now.
    Done,
    /// Nothing to do: `add` found the address already on the interface
    /// (EEXIST, whatever its marks), `remove` found no such address with
    /// the daemon's mark (EADDRNOTAVAIL for a label; for the protocol, none
    /// carrying it in the interface's list).
    AlreadyThere,
}

/// A network interface's link-level facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// The interface name.
    pub name: String,
    /// The interface index (what AF_PACKET and netlink address by).
    pub index: u32,
    /// Whether it is an Ethernet-like link (ARPHRD_ETHER): the only kind
    /// the heartbeat channels and gratuitous ARP support.
    pub ethernet: bool,
    /// Its hardware address, if it has a 6-byte one.
    pub mac: Option<MacAddr>,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Carrier present (IFF_LOWER_UP).
    pub lower_up: bool,
    /// The MTU, if reported.
    pub mtu: Option<u32>,
}

/// One IPv4 address on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4IfAddr {
    /// The interface index.
    pub ifindex: u32,
    /// The address (IFA_LOCAL).
    pub addr: Ipv4Addr,
    /// The prefix length (mask).
    pub prefix_len: u8,
    /// The broadcast address configured with it, if any.
    pub broadcast: Option<Ipv4Addr>,
    /// Its label (the interface name when none was given).
    pub label: String,
    /// Its protocol (IFA_PROTO): who added it; 0 when the kernel did not
    /// say (none given, or a kernel before 5.18). [`ADDR_PROTO`] marks the
    /// daemon's.
    pub proto: u8,
    /// Whether the kernel lists it as a secondary address of its subnet.
    pub secondary: bool,
}

/// The mask for a prefix length (clamped to 32).
pub const fn netmask(prefix_len: u8) -> Ipv4Addr {
    let p = if prefix_len > 32 { 32 } else { prefix_len };
    let bits = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    Ipv4Addr::new(
        (bits >> 24) as u8,
        (bits >> 16) as u8,
        (bits >> 8) as u8,
        bits as u8,
    )
}

/// The directed broadcast address of `addr/prefix_len`; `None` for /31 and
/// /32, which have none.
pub fn directed_broadcast(addr: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Addr> {
    if prefix_len >= 31 {
        return None;
    }
    Some(Ipv4Addr::from(
        u32::from(addr) | !u32::from(netmask(prefix_len)),
    ))
}

impl Ipv4IfAddr {
    /// The mask.
    pub fn netmask(&self) -> Ipv4Addr {
        netmask(self.prefix_len)
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & u32::from(self.netmask()))
    }

    /// Whether `ip` is inside this address's subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let m = u32::from(self.netmask());
        u32::from(ip) & m == u32::from(self.addr) & m
    }

    /// The subnet's directed broadcast address (computed from the mask, not
    /// the configured IFA_BROADCAST).
    pub fn directed_broadcast(&self) -> Option<Ipv4Addr> {
        directed_broadcast(self.addr, self.prefix_len)
    }
}

/// How a heartbeat target relates to an interface's addresses: the `-n`
/// check for the seed's classic trap of a broadcast address that does not
/// match the interface's netmask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// 255.255.255.255.
    LimitedBroadcast,
    /// The directed broadcast of one of the interface's subnets: correct.
    SubnetBroadcast(Ipv4IfAddr),
    /// The broadcast address the interface's address would have with
    /// another mask (`implied_prefix`, /24 or shorter): the netmask and the
    /// broadcast target disagree, the seed's classic mistake.
    MismatchedBroadcast {
        /// The interface address it was derived from.
        addr: Ipv4IfAddr,
        /// The prefix length the target implies.
        implied_prefix: u8,
    },
    /// A unicast address inside one of the interface's subnets.
    OnLinkUnicast(Ipv4IfAddr),
    /// Not on any of the interface's subnets.
    OffLink,
}

/// An interface: its link facts and IPv4 addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Link-level facts.
    pub link: LinkInfo,
    /// IPv4 addresses, in the kernel's order (primary before secondaries).
    pub addrs: Vec<Ipv4IfAddr>,
}

impl InterfaceInfo {
    /// The first address whose subnet contains `ip` (for Apple's /32 rule:
    /// a service address on the interface's own subnet).
    pub fn subnet_containing(&self, ip: Ipv4Addr) -> Option<&Ipv4IfAddr> {
        self.addrs.iter().find(|a| a.contains(ip))
    }

    /// Classifies a heartbeat target against this interface's addresses.
    pub fn classify_target(&self, target: Ipv4Addr) -> TargetKind {
        if target == Ipv4Addr::BROADCAST {
            return TargetKind::LimitedBroadcast;
        }
        if let Some(a) = self
            .addrs
            .iter()
            .find(|a| a.directed_broadcast() == Some(target))
        {
            return TargetKind::SubnetBroadcast(a.clone());
        }
        // Only masks whose host part is at least a whole octet count: a
        // target ending in fewer one bits (x.y.z.3) is an ordinary host.
        for a in &self.addrs {
            // Longest first: a broadcast can match several masks (x.51.255.255
            // is the /16 and the /15 broadcast); report the closest.
            for p in (1..=24u8).rev() {
                if p != a.prefix_len && directed_broadcast(a.addr, p) == Some(target) {
                    return TargetKind::MismatchedBroadcast {
                        addr: a.clone(),
                        implied_prefix: p,
                    };
                }
            }
        }
        match self.subnet_containing(target) {
            Some(a) => TargetKind::OnLinkUnicast(a.clone()),
            None => TargetKind::OffLink,
        }
    }
}

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
}

type Msg = NetlinkMessage<RouteNetlinkMessage>;

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
        })
    }

    /// Sends one request and collects the kernel's answers up to the
    /// terminating DONE (dumps) or ACK/error (everything else).
    fn exchange(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
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
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Option<Vec<RouteNetlinkMessage>>> {
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

    /// The link facts of the interface called `name`.
    pub fn link_by_name(&mut self, name: &str) -> Result<LinkInfo, AddrError> {
        if name.is_empty() || name.len() > MAX_IFNAME_LEN || name.contains(['/', '\0']) {
            return Err(AddrError::NoSuchInterface {
                name: name.to_owned(),
            });
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        let answers = self
            .exchange(RouteNetlinkMessage::GetLink(msg), NLM_F_ACK)
            .map_err(|e| AddrError::from_io("querying an interface", || name.to_owned(), e))?;
        answers
            .into_iter()
            .find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_info(&l)),
                _ => None,
            })
            .ok_or_else(|| AddrError::NoSuchInterface {
                name: name.to_owned(),
            })
    }

    /// Every link in the namespace (for listing choices in error messages).
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, AddrError> {
        let answers = self
            .exchange(
                RouteNetlinkMessage::GetLink(LinkMessage::default()),
                NLM_F_DUMP,
            )
            .map_err(|e| AddrError::from_io("listing interfaces", String::new, e))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_info(l)),
                _ => None,
            })
            .collect())
    }

    /// The IPv4 addresses on the interface with index `ifindex`.
    pub fn addresses(&mut self, ifindex: u32) -> Result<Vec<Ipv4IfAddr>, AddrError> {
        let mut all = self.all_addresses()?;
        all.retain(|a| a.ifindex == ifindex);
        Ok(all)
    }

    /// Every IPv4 address in the namespace, on any interface.
    pub fn all_addresses(&mut self) -> Result<Vec<Ipv4IfAddr>, AddrError> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        let answers = self
            .exchange(RouteNetlinkMessage::GetAddress(msg), NLM_F_DUMP)
            .map_err(|e| AddrError::from_io("listing addresses", String::new, e))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => ipv4_addr(a),
                _ => None,
            })
            .collect())
    }

    /// Link facts and addresses of the interface called `name`: what `-n`
    /// validates (exists, up, masks, broadcast targets).
    pub fn interface(&mut self, name: &str) -> Result<InterfaceInfo, AddrError> {
        let link = self.link_by_name(name)?;
        let addrs = self.addresses(link.index)?;
        Ok(InterfaceInfo { link, addrs })
    }

    /// The addresses on `ifname` that the daemon added ([`is_ours`]: they
    /// carry its label or its protocol): what a restarted daemon
    /// reconciles.
    pub fn list_ours(&mut self, ifname: &str) -> Result<Vec<Ipv4IfAddr>, AddrError> {
        let link = self.link_by_name(ifname)?;
        Ok(self
            .addresses(link.index)?
            .into_iter()
            .filter(|a| is_ours(ifname, a))
            .collect())
    }

    /// Adds `addr/prefix_len` to the interface `ifindex` with the daemon's
    /// marks: the protocol [`ADDR_PROTO`] and, for [`Mark::Label`], the
    /// label; and the subnet's broadcast address for prefixes up to /30.
    /// Idempotent: an address already present (with any marks) is
    /// [`Change::AlreadyThere`].
    ///
    /// With [`Mark::Proto`] the protocol is the only mark, so the first such
    /// address this connection adds is read back: if the kernel did not
    /// keep the protocol (before Linux 5.18), the address is removed again
    /// and the result is [`AddrError::Mark`].
    pub fn add(
        &mut self,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        mark: &Mark,
    ) -> Result<Change, AddrError> {
        let msg = address_message(ifindex, addr, prefix_len, mark.label(), true)?;
        let change = self.change(
            ifindex,
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            EEXIST,
            "adding an address",
        )?;
        if change == Change::Done && *mark == Mark::Proto && !self.proto_kept {
            self.check_proto_kept(ifindex, addr, prefix_len)?;
        }
        Ok(change)
    }

    /// After adding `addr/prefix_len` with the protocol as its only mark:
    /// whether the kernel kept the protocol. If not, the address is removed
    /// again (this connection added it a moment ago, and nothing could
    /// tell it from an administrator's later) and the error names the
    /// interface.
    fn check_proto_kept(
        &mut self,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
    ) -> Result<(), AddrError> {
        let found = self.addresses(ifindex)?;
        let Some(a) = found
            .into_iter()
            .find(|a| a.addr == addr && a.prefix_len == prefix_len)
        else {
            // Removed in the meantime by someone else: nothing to judge by
            // (the next add checks again).
            return Ok(());
        };
        if a.proto == ADDR_PROTO {
            self.proto_kept = true;
            return Ok(());
        }
        let undone = match self.delete_exact(ifindex, &a) {
            Ok(_) => "so the daemon removed it again".to_owned(),
            Err(e) => format!("and the daemon could not remove it again ({e}): remove it by hand"),
        };
        let ifname = self
            .links()
            .ok()
            .and_then(|l| l.into_iter().find(|l| l.index == ifindex))
            .map_or_else(|| format!("#{ifindex}"), |l| l.name);
        Err(AddrError::Mark(MarkError {
            ifname,
            why: format!(
                "this kernel (Linux {}) added {addr}/{prefix_len} without the address protocol \
                 mark (IFA_PROTO, Linux {}.{} and later) that marks the daemon's addresses \
                 instead, {undone}",
                support::kernel_release(),
                support::PROTO_SINCE.0,
                support::PROTO_SINCE.1
            ),
        }))
    }

    /// Removes `addr/prefix_len` from the interface `ifindex`, but only if it
    /// carries the daemon's `mark`. Idempotent: no such address with the
    /// mark is [`Change::AlreadyThere`].
    ///
    /// [`Mark::Label`]: the kernel matches the label. [`Mark::Proto`]: the
    /// kernel does not match the protocol on delete, so the interface's
    /// addresses are read first, and the address is deleted (under the
    /// label it was read with) only if it carries [`ADDR_PROTO`]; the module
    /// documentation says why that is exact but for a window of two
    /// requests.
    pub fn remove(
        &mut self,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        mark: &Mark,
    ) -> Result<Change, AddrError> {
        match mark {
            Mark::Label(label) => self.delete(ifindex, addr, prefix_len, Some(label)),
            Mark::Proto => {
                let found = self.addresses(ifindex)?;
                match found
                    .iter()
                    .find(|a| a.addr == addr && a.prefix_len == prefix_len)
                {
                    Some(a) if a.proto == ADDR_PROTO => self.delete_exact(ifindex, a),
                    // Not there, or not ours (an administrator's): leave it.
                    _ => Ok(Change::AlreadyThere),
                }
            }
        }
    }

    /// Deletes the address `a` as it was read from the kernel: its address,
    /// prefix length and label, which name one address on the interface.
    fn delete_exact(&mut self, ifindex: u32, a: &Ipv4IfAddr) -> Result<Change, AddrError> {
        let label = Some(a.label.as_str()).filter(|l| !l.is_empty());
        self.delete(ifindex, a.addr, a.prefix_len, label)
    }

    /// Deletes `addr/prefix_len` from `ifindex`, under `label` if given
    /// (the kernel then deletes it only if the label matches).
    fn delete(
        &mut self,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        label: Option<&str>,
    ) -> Result<Change, AddrError> {
        let msg = address_message(ifindex, addr, prefix_len, label, false)?;
        self.change(
            ifindex,
            RouteNetlinkMessage::DelAddress(msg),
            NLM_F_ACK,
            EADDRNOTAVAIL,
            "removing an address",
        )
    }

    /// Sends an address change for the interface `ifindex` and waits for
    /// its acknowledgement. The error `already_errno` means the change is
    /// already made ([`Change::AlreadyThere`]); `doing` names the change in
    /// other errors.
    fn change(
        &mut self,
        ifindex: u32,
        message: RouteNetlinkMessage,
        flags: u16,
        already_errno: i32,
        doing: &'static str,
    ) -> Result<Change, AddrError> {
        match self.exchange(message, flags) {
            Ok(_) => Ok(Change::Done),
            Err(e) if e.raw_os_error() == Some(already_errno) => Ok(Change::AlreadyThere),
            Err(e) => Err(AddrError::from_io(doing, || format!("#{ifindex}"), e)),
        }
    }
}

const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// The request to add (`adding`: with the subnet's broadcast address and
/// the daemon's protocol) or delete `addr/prefix_len` on `ifindex`, with
/// `label` if given.
fn address_message(
    ifindex: u32,
    addr: Ipv4Addr,
    prefix_len: u8,
    label: Option<&str>,
    adding: bool,
) -> Result<AddressMessage, AddrError> {
    let invalid = |what: &str| AddrError::Io {
        operation: "preparing an address change",
        source: io::Error::new(io::ErrorKind::InvalidInput, what.to_owned()),
    };
    if prefix_len > 32 {
        return Err(invalid("prefix length above 32"));
    }
    if let Some(label) = label {
        if label.is_empty() || label.len() > MAX_LABEL_LEN || label.contains('\0') {
            return Err(invalid("address label must be 1 to 15 bytes"));
        }
    }
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = prefix_len;
    msg.header.index = ifindex;
    msg.header.scope = AddressScope::Universe;
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V4(addr)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V4(addr)));
    if adding {
        if let Some(b) = directed_broadcast(addr, prefix_len) {
            msg.attributes.push(AddressAttribute::Broadcast(b));
        }
        // On every address the daemon adds; the kernel ignores it on delete.
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(
                ADDR_PROTO,
            )));
    }
    if let Some(label) = label {
        msg.attributes
            .push(AddressAttribute::Label(label.to_owned()));
    }
    Ok(msg)
}

pub(crate) fn link_info(l: &LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        name: String::new(),
        index: l.header.index,
        ethernet: l.header.link_layer_type == LinkLayerType::Ether,
        mac: None,
        up: l.header.flags.contains(LinkFlags::Up),
        lower_up: l.header.flags.contains(LinkFlags::LowerUp),
        mtu: None,
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::IfName(n) => info.name.clone_from(n),
            LinkAttribute::Address(b) => {
                if let [a, b, c, d, e, f] = b[..] {
                    info.mac = Some(MacAddr(a, b, c, d, e, f));
                }
            }
            LinkAttribute::Mtu(m) => info.mtu = Some(*m),
            _ => {}
        }
    }
    info
}

fn ipv4_addr(a: &AddressMessage) -> Option<Ipv4IfAddr> {
    if a.header.family != AddressFamily::Inet {
        return None;
    }
    let mut local = None;
    let mut address = None;
    let mut broadcast = None;
    let mut label = None;
    let mut proto = 0;
    for attr in &a.attributes {
        match attr {
            AddressAttribute::Local(IpAddr::V4(ip)) => local = Some(*ip),
            AddressAttribute::Address(IpAddr::V4(ip)) => address = Some(*ip),
            AddressAttribute::Broadcast(ip) => broadcast = Some(*ip),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            AddressAttribute::Protocol(p) => proto = u8::from(*p),
            _ => {}
        }
    }
    Some(Ipv4IfAddr {
        ifindex: a.header.index,
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS differs only
        // on point-to-point links (it is the peer there).
        addr: local.or(address)?,
        prefix_len: a.header.prefix_len,
        broadcast,
        label: label.unwrap_or_default(),
        proto,
        secondary: a.header.flags.contains(AddressHeaderFlags::Secondary),
    })
}

#[cfg(test)]
mod tests;
