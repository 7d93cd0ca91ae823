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
//! Every address the daemon adds carries the IPv4 address label (IFA_LABEL)
//! [`daemon_label`]`(ifname)`, normally `<ifname>:fo` (`ip addr` shows it in
//! the last column, like an old `eth0:1` alias). A restarted daemon lists
//! the addresses with that label ([`Netlink::list_labelled`]) and reconciles
//! them: nothing it added is orphaned by a crash. And [`Netlink::remove`]
//! passes the label to the kernel, which deletes an address only when the
//! label matches too, so the daemon can never remove an address an
//! administrator configured, even the same address.
//!
//! The label rule: it must start with the interface name (iproute2 and the
//! alias convention require `ifname` or `ifname:suffix`) and fit in
//! IFNAMSIZ - 1 = 15 bytes. So the label is `<ifname>:fo` for names up to 12
//! bytes, `<ifname>:f` for a 13-byte name, and interfaces with a 14- or
//! 15-byte name cannot carry a distinguishable label: [`daemon_label`]
//! refuses them with [`LabelError`] (there would be no room for anything
//! after the colon, and a label equal to the interface name is what every
//! unlabelled address has). Rename such an interface (`ip link set name`,
//! or an `altname` is not enough: labels use the real name).
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
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkLayerType, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use pnet_datalink::MacAddr;

/// The suffix of the daemon's address label.
pub const LABEL_SUFFIX: &str = ":fo";
/// The longest label the kernel stores (IFNAMSIZ - 1).
pub const MAX_LABEL_LEN: usize = 15;
/// The longest interface name Linux allows (IFNAMSIZ - 1).
pub const MAX_IFNAME_LEN: usize = 15;
/// Bound on every netlink exchange: the kernel answers rtnetlink requests
/// synchronously, so this only fires if something is badly wrong.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a dump interrupted by a concurrent change is retried.
const DUMP_RETRIES: usize = 3;

/// The interface's name leaves no room for a distinguishable label (see the
/// module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelError {
    /// The interface name.
    pub ifname: String,
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interface name {:?} is {} bytes long: an address label must start with it and fit in {MAX_LABEL_LEN} bytes, \
             so the daemon cannot mark its addresses there (use an interface name of at most 13 bytes)",
            self.ifname,
            self.ifname.len()
        )
    }
}

impl std::error::Error for LabelError {}

/// The label the daemon puts on the addresses it adds to `ifname`:
/// `<ifname>:fo`, or `<ifname>:f` for a 13-byte name; an error for longer
/// names or an empty one.
pub fn daemon_label(ifname: &str) -> Result<String, LabelError> {
    let room = MAX_LABEL_LEN.saturating_sub(ifname.len());
    // Need the colon and at least one character after it.
    if ifname.is_empty() || room < 2 {
        return Err(LabelError {
            ifname: ifname.to_owned(),
        });
    }
    let suffix = &LABEL_SUFFIX[..LABEL_SUFFIX.len().min(room)];
    Ok(format!("{ifname}{suffix}"))
}

/// The label the kernel gives an address labelled `label` when its
/// interface is renamed to `new_ifname` (`inetdev_changename` in
/// `net/ipv4/devinet.c`): the new name followed by the old label's part from
/// its colon on (`pub0:fo` becomes `lan1:fo`), the name cut short when both
/// do not fit in [`MAX_LABEL_LEN`] bytes. The daemon tracks its addresses
/// through a rename with it, so it still removes exactly what it added.
///
/// One kernel exception this cannot know: the interface's *first* address
/// gets the bare new name. The daemon's address is never first on an
/// interface that has an address of its own; the daemon reads the labels
/// back from the kernel after a rename to cover the other case.
pub fn renamed_label(label: &str, new_ifname: &str) -> String {
    let suffix = label.find(':').and_then(|at| label.get(at..)).unwrap_or("");
    let room = MAX_LABEL_LEN.saturating_sub(suffix.len());
    let mut cut = new_ifname.len().min(room);
    // Names are ASCII in practice; never split a character all the same.
    while !new_ifname.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", new_ifname.get(..cut).unwrap_or(""))
}

/// Why an address operation or interface query failed.
#[derive(Debug)]
pub enum AddrError {
    /// No interface of that name or index (ENODEV).
    NoSuchInterface {
        /// The name or `#index` asked for.
        name: String,
    },
    /// The interface name cannot be marked: see [`daemon_label`].
    Label(LabelError),
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
            AddrError::Label(e) => e.fmt(f),
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
            AddrError::Label(e) => Some(e),
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
    /// (EEXIST, whatever its label), `remove` found no address with that
    /// label (EADDRNOTAVAIL).
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
        Ok(Netlink { socket, seq: 0 })
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
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        let answers = self
            .exchange(RouteNetlinkMessage::GetAddress(msg), NLM_F_DUMP)
            .map_err(|e| AddrError::from_io("listing addresses", String::new, e))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) if a.header.index == ifindex => ipv4_addr(a),
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

    /// The addresses on `ifname` that carry the daemon's label: what a
    /// restarted daemon reconciles.
    pub fn list_labelled(&mut self, ifname: &str) -> Result<Vec<Ipv4IfAddr>, AddrError> {
        let label = daemon_label(ifname).map_err(AddrError::Label)?;
        let link = self.link_by_name(ifname)?;
        Ok(self
            .addresses(link.index)?
            .into_iter()
            .filter(|a| a.label == label)
            .collect())
    }

    /// Adds `addr/prefix_len` to the interface `ifindex` with `label`
    /// (normally [`daemon_label`]), and the subnet's broadcast address for
    /// prefixes up to /30. Idempotent: an address already present (with
    /// any label) is [`Change::AlreadyThere`].
    pub fn add(
        &mut self,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        label: &str,
    ) -> Result<Change, AddrError> {
        let msg = address_message(ifindex, addr, prefix_len, label, true)?;
        self.change(
            ifindex,
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            EEXIST,
            "adding an address",
        )
    }

    /// Removes `addr/prefix_len` from the interface `ifindex`, but only if it
    /// carries `label` (the kernel matches the label too). Idempotent: no
    /// such labelled address is [`Change::AlreadyThere`].
    pub fn remove(
        &mut self,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        label: &str,
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

fn address_message(
    ifindex: u32,
    addr: Ipv4Addr,
    prefix_len: u8,
    label: &str,
    with_broadcast: bool,
) -> Result<AddressMessage, AddrError> {
    let invalid = |what: &str| AddrError::Io {
        operation: "preparing an address change",
        source: io::Error::new(io::ErrorKind::InvalidInput, what.to_owned()),
    };
    if prefix_len > 32 {
        return Err(invalid("prefix length above 32"));
    }
    if label.is_empty() || label.len() > MAX_LABEL_LEN || label.contains('\0') {
        return Err(invalid("address label must be 1 to 15 bytes"));
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
    if with_broadcast {
        if let Some(b) = directed_broadcast(addr, prefix_len) {
            msg.attributes.push(AddressAttribute::Broadcast(b));
        }
    }
    msg.attributes
        .push(AddressAttribute::Label(label.to_owned()));
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
    for attr in &a.attributes {
        match attr {
            AddressAttribute::Local(IpAddr::V4(ip)) => local = Some(*ip),
            AddressAttribute::Address(IpAddr::V4(ip)) => address = Some(*ip),
            AddressAttribute::Broadcast(ip) => broadcast = Some(*ip),
            AddressAttribute::Label(l) => label = Some(l.clone()),
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
        secondary: a.header.flags.contains(AddressHeaderFlags::Secondary),
    })
}

#[cfg(test)]
mod tests;
