//! What the daemons know of an interface: its link facts, its IPv4
//! addresses, and the subnet arithmetic `-n` checks heartbeat targets and
//! service addresses by. Plain data, filled in by [`super::Netlink`]'s
//! queries; nothing here talks to the kernel.

use std::net::Ipv4Addr;

use pnet_datalink::MacAddr;

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
    /// say (none given, or a kernel before 5.18).
    /// [`ADDR_PROTO`](super::ADDR_PROTO) marks the daemon's.
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

/// An interface: its link facts and its IPv4 and IPv6 addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Link-level facts.
    pub link: LinkInfo,
    /// IPv4 addresses, in the kernel's order (primary before secondaries).
    pub addrs: Vec<Ipv4IfAddr>,
    /// IPv6 addresses (link-local ones included), for `-n`'s checks of
    /// IPv6 service addresses.
    pub addrs6: Vec<super::Ipv6IfAddr>,
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
