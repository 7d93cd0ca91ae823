//! IPv6 service addresses over rtnetlink: reading an interface's IPv6
//! addresses, and adding and removing the daemon's own.
//!
//! IPv6 addresses have no label (IFA_LABEL is IPv4's), so the address
//! protocol [`ADDR_PROTO`] (IFA_PROTO) is the daemon's only mark on them,
//! as [`super::Mark::Proto`] is on an IPv4 address of a long-named
//! interface. The kernel does not compare IFA_PROTO on delete either
//! (`inet6_rtm_deladdr` in `net/ipv6/addrconf.c` matches the address and
//! the prefix length), so a removal reads the interface's addresses first
//! and deletes the one with that address and prefix length only if it
//! carries the mark. An interface holds an IPv6 address at most once
//! (adding it again is EEXIST), so this names exactly the address checked,
//! but for the window of two requests the module documentation of
//! [`super`] describes for IPv4.
//!
//! Every address is added with IFA_F_NODAD: duplicate address detection
//! would keep it *tentative* (unusable) for about a second after a
//! takeover, and the zero-overlap handshake already guarantees that the
//! peer no longer holds it. The kernel keeps IFA_PROTO with an IPv6 address
//! from Linux 5.18; an older kernel adds the address unmarked, so the
//! daemon refuses IPv6 service addresses there
//! ([`super::ProtoSupport::mark_for_address`]) and reads back the first
//! one it adds all the same, removing it again if the mark did not stick.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressProtocol,
    AddressScope,
};
use netlink_packet_route::AddressFamily;

use crate::netlink::message::RouteMessage;

use super::change::Request;
use super::{support, AddrError, Change, MarkError, Netlink, ADDR_PROTO, EADDRNOTAVAIL, EEXIST};

/// One IPv6 address on an interface, as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6IfAddr {
    /// The interface index.
    pub ifindex: u32,
    /// The address.
    pub addr: Ipv6Addr,
    /// The prefix length.
    pub prefix_len: u8,
    /// Its protocol (IFA_PROTO): [`ADDR_PROTO`] marks the daemon's; the
    /// kernel's own link-local and loopback addresses carry 1 to 3; 0 when
    /// none was given.
    pub proto: u8,
    /// Still tentative (duplicate address detection running, or failed):
    /// not usable yet. The daemon's addresses never are (IFA_F_NODAD).
    pub tentative: bool,
}

impl Ipv6IfAddr {
    /// Whether `ip` lies in this address's prefix (`-n`'s on-link check).
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        same_prefix(self.addr, ip, self.prefix_len)
    }

    /// The prefix in CIDR notation: `2001:db8::/64`.
    pub fn prefix(&self) -> String {
        format!(
            "{}/{}",
            network6(self.addr, self.prefix_len),
            self.prefix_len
        )
    }

    /// Whether it is a link-local address (fe80::/10): every IPv6 interface
    /// has one, which says nothing about the networks it is on.
    pub fn is_link_local(&self) -> bool {
        self.addr.segments()[0] & 0xffc0 == 0xfe80
    }
}

/// The first `prefix_len` bits of `addr` (the rest zero): the prefix's
/// network address, also its subnet-router anycast address (RFC 4291).
pub fn network6(addr: Ipv6Addr, prefix_len: u8) -> Ipv6Addr {
    let p = u32::from(prefix_len.min(128));
    let mask = u128::MAX.checked_shl(128 - p).unwrap_or(0);
    Ipv6Addr::from(u128::from(addr) & mask)
}

/// Whether `a` and `b` share their first `prefix_len` bits.
pub fn same_prefix(a: Ipv6Addr, b: Ipv6Addr, prefix_len: u8) -> bool {
    network6(a, prefix_len) == network6(b, prefix_len)
}

impl Netlink {
    /// The IPv6 addresses on the interface with index `ifindex`.
    pub fn addresses_v6(&mut self, ifindex: u32) -> Result<Vec<Ipv6IfAddr>, AddrError> {
        let mut all = self.all_addresses_v6()?;
        all.retain(|a| a.ifindex == ifindex);
        Ok(all)
    }

    /// Every IPv6 address in the namespace, on any interface.
    pub fn all_addresses_v6(&mut self) -> Result<Vec<Ipv6IfAddr>, AddrError> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet6;
        let answers = self
            .exchange(RouteMessage::GetAddress(msg), NLM_F_DUMP)
            .map_err(|e| AddrError::from_io("listing IPv6 addresses", String::new, e))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteMessage::NewAddress(a) => ipv6_addr(a),
                _ => None,
            })
            .collect())
    }

    /// The IPv6 addresses on `ifname` that the daemon added (they carry
    /// [`ADDR_PROTO`]): what a restarted daemon removes.
    pub fn list_ours_v6(&mut self, ifname: &str) -> Result<Vec<Ipv6IfAddr>, AddrError> {
        let link = self.link_by_name(ifname)?;
        Ok(self
            .addresses_v6(link.index)?
            .into_iter()
            .filter(|a| a.proto == ADDR_PROTO)
            .collect())
    }

    /// Adds `addr/prefix_len` to the interface `ifindex` with the daemon's
    /// protocol and IFA_F_NODAD. Idempotent: an address already present
    /// (with any marks) is [`Change::AlreadyThere`]. The first address this
    /// connection adds is read back: if the kernel did not keep the
    /// protocol (before Linux 5.18), it is removed again and the result is
    /// [`AddrError::Mark`].
    pub fn add_v6(
        &mut self,
        ifindex: u32,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<Change, AddrError> {
        let change = self.request_v6(Request::Add, ifindex, addr, prefix_len)?;
        if change == Change::Done && !self.proto6_kept {
            self.check_proto6_kept(ifindex, addr, prefix_len)?;
        }
        Ok(change)
    }

    /// Removes `addr/prefix_len` from the interface `ifindex`, but only if
    /// it carries [`ADDR_PROTO`] (read first: the kernel does not match the
    /// protocol on delete). Idempotent: no such address, or one that is not
    /// ours (an administrator's), is [`Change::AlreadyThere`].
    pub fn remove_v6(
        &mut self,
        ifindex: u32,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<Change, AddrError> {
        match self.find_v6(ifindex, addr, prefix_len)? {
            Some(a) if a.proto == ADDR_PROTO => {
                self.request_v6(Request::Delete, ifindex, addr, prefix_len)
            }
            _ => Ok(Change::AlreadyThere),
        }
    }

    fn find_v6(
        &mut self,
        ifindex: u32,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<Option<Ipv6IfAddr>, AddrError> {
        Ok(self
            .addresses_v6(ifindex)?
            .into_iter()
            .find(|a| a.addr == addr && a.prefix_len == prefix_len))
    }

    fn check_proto6_kept(
        &mut self,
        ifindex: u32,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<(), AddrError> {
        let Some(a) = self.find_v6(ifindex, addr, prefix_len)? else {
            return Ok(()); // removed meanwhile: the next add checks again
        };
        if a.proto == ADDR_PROTO {
            self.proto6_kept = true;
            return Ok(());
        }
        let undone = match self.request_v6(Request::Delete, ifindex, addr, prefix_len) {
            Ok(_) => "so the daemon removed it again".to_owned(),
            Err(e) => format!("and the daemon could not remove it again ({e}): remove it by hand"),
        };
        Err(AddrError::Mark(MarkError {
            ifname: format!("#{ifindex}"),
            why: format!(
                "this kernel (Linux {}) added {addr}/{prefix_len} without the address protocol \
                 mark (IFA_PROTO, Linux {}.{} and later), the only mark an IPv6 address can \
                 carry, {undone}",
                support::kernel_release(),
                support::PROTO_SINCE.0,
                support::PROTO_SINCE.1
            ),
            ipv6: true,
        }))
    }

    fn request_v6(
        &mut self,
        request: Request,
        ifindex: u32,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<Change, AddrError> {
        let msg = ipv6_address_message(request, ifindex, addr, prefix_len)?;
        let (message, flags, already, doing) = match request {
            Request::Add => (
                RouteMessage::NewAddress(msg),
                NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                EEXIST,
                "adding an IPv6 address",
            ),
            Request::Delete => (
                RouteMessage::DelAddress(msg),
                NLM_F_ACK,
                EADDRNOTAVAIL,
                "removing an IPv6 address",
            ),
        };
        match self.exchange(message, flags) {
            Ok(_) => Ok(Change::Done),
            Err(e) if e.raw_os_error() == Some(already) => Ok(Change::AlreadyThere),
            Err(e) => Err(AddrError::from_io(doing, || format!("#{ifindex}"), e)),
        }
    }
}

/// The message that adds `addr/prefix_len` to `ifindex` (with IFA_F_NODAD,
/// in the header and in IFA_FLAGS, and the daemon's protocol) or deletes
/// it.
pub(super) fn ipv6_address_message(
    request: Request,
    ifindex: u32,
    addr: Ipv6Addr,
    prefix_len: u8,
) -> Result<AddressMessage, AddrError> {
    if prefix_len > 128 {
        return Err(AddrError::Io {
            operation: "preparing an address change",
            source: io::Error::new(io::ErrorKind::InvalidInput, "prefix length above 128"),
        });
    }
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet6;
    msg.header.prefix_len = prefix_len;
    msg.header.index = ifindex;
    msg.header.scope = AddressScope::Universe;
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V6(addr)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V6(addr)));
    if request == Request::Add {
        msg.header.flags = AddressHeaderFlags::Nodad;
        msg.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(
                ADDR_PROTO,
            )));
    }
    Ok(msg)
}

fn ipv6_addr(a: &AddressMessage) -> Option<Ipv6IfAddr> {
    if a.header.family != AddressFamily::Inet6 {
        return None;
    }
    let mut local = None;
    let mut address = None;
    let mut proto = 0;
    let mut flags = u32::from(a.header.flags.bits());
    for attr in &a.attributes {
        match attr {
            AddressAttribute::Local(IpAddr::V6(ip)) => local = Some(*ip),
            AddressAttribute::Address(IpAddr::V6(ip)) => address = Some(*ip),
            AddressAttribute::Protocol(p) => proto = u8::from(*p),
            AddressAttribute::Flags(f) => flags = f.bits(),
            _ => {}
        }
    }
    let tentative = AddressFlags::Tentative | AddressFlags::Dadfailed;
    Some(Ipv6IfAddr {
        ifindex: a.header.index,
        addr: local.or(address)?,
        prefix_len: a.header.prefix_len,
        proto,
        tentative: AddressFlags::from_bits_retain(flags).intersects(tentative),
    })
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};

    use super::*;

    fn addr() -> Ipv6Addr {
        "2001:db8::10".parse().unwrap()
    }

    #[test]
    fn an_add_carries_nodad_and_the_protocol() {
        let m = ipv6_address_message(Request::Add, 7, addr(), 128).unwrap();
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert_eq!((m.header.index, m.header.prefix_len), (7, 128));
        assert!(m.header.flags.contains(AddressHeaderFlags::Nodad));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Flags(AddressFlags::Nodad)));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Protocol(AddressProtocol::from(70))));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Local(IpAddr::V6(addr()))));
        // No IPv4-only attributes.
        assert!(!m.attributes.iter().any(|a| matches!(
            a,
            AddressAttribute::Label(_) | AddressAttribute::Broadcast(_)
        )));
    }

    #[test]
    fn the_request_bytes_hold_the_flags_and_the_protocol() {
        let m = ipv6_address_message(Request::Add, 7, addr(), 128).unwrap();
        let mut header = NetlinkHeader::default();
        header.flags = 0x0605;
        let mut packet =
            NetlinkMessage::new(header, NetlinkPayload::from(RouteMessage::NewAddress(m)));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        // ifaddrmsg after the 16-byte nlmsghdr: family AF_INET6 (10),
        // prefix 128, flags IFA_F_NODAD (2), scope 0, index 7.
        assert_eq!(&buf[16..24], &[10, 128, 2, 0, 7, 0, 0, 0]);
        // IFA_FLAGS (8): len 8, type 8, value 2.
        assert!(buf.windows(8).any(|w| w == [8, 0, 8, 0, 2, 0, 0, 0]));
        // IFA_PROTO (11): len 5, type 11, value 70.
        assert!(buf.windows(5).any(|w| w == [5, 0, 11, 0, 70]));
    }

    #[test]
    fn a_delete_names_the_address_only() {
        let m = ipv6_address_message(Request::Delete, 7, addr(), 64).unwrap();
        assert_eq!(m.header.prefix_len, 64);
        assert!(m.header.flags.is_empty());
        assert!(!m.attributes.iter().any(|a| matches!(
            a,
            AddressAttribute::Protocol(_) | AddressAttribute::Flags(_)
        )));
        assert!(ipv6_address_message(Request::Add, 7, addr(), 129).is_err());
    }

    #[test]
    fn prefixes() {
        let a = Ipv6IfAddr {
            ifindex: 1,
            addr: "2001:db8::1".parse().unwrap(),
            prefix_len: 64,
            proto: 0,
            tentative: false,
        };
        assert!(a.contains(addr()));
        assert!(!a.contains("2001:db8:1::10".parse().unwrap()));
        assert_eq!(a.prefix(), "2001:db8::/64");
        assert!(!a.is_link_local());
        assert_eq!(network6(addr(), 0), Ipv6Addr::UNSPECIFIED);
        assert_eq!(network6(addr(), 128), addr());
    }
}
