//! Reading the kernel's interfaces and IPv4 addresses: the requests, and
//! the answers turned into [`LinkInfo`] and [`Ipv4IfAddr`]. Reads only;
//! nothing here changes the system.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP};
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkLayerType, LinkMessage};
use netlink_packet_route::AddressFamily;
use pnet_datalink::MacAddr;

use crate::netlink::message::RouteMessage;

use super::{is_ours, AddrError, InterfaceInfo, Ipv4IfAddr, LinkInfo, Netlink, MAX_IFNAME_LEN};

impl Netlink {
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
            .exchange(RouteMessage::GetLink(msg), NLM_F_ACK)
            .map_err(|e| AddrError::from_io("querying an interface", || name.to_owned(), e))?;
        answers
            .into_iter()
            .find_map(|m| match m {
                RouteMessage::NewLink(l) => Some(link_info(&l)),
                _ => None,
            })
            .ok_or_else(|| AddrError::NoSuchInterface {
                name: name.to_owned(),
            })
    }

    /// Every link in the namespace (for listing choices in error messages).
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, AddrError> {
        let answers = self
            .exchange(RouteMessage::GetLink(LinkMessage::default()), NLM_F_DUMP)
            .map_err(|e| AddrError::from_io("listing interfaces", String::new, e))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteMessage::NewLink(l) => Some(link_info(l)),
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
            .exchange(RouteMessage::GetAddress(msg), NLM_F_DUMP)
            .map_err(|e| AddrError::from_io("listing addresses", String::new, e))?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteMessage::NewAddress(a) => ipv4_addr(a),
                _ => None,
            })
            .collect())
    }

    /// Link facts and addresses of the interface called `name`: what `-n`
    /// validates (exists, up, masks, broadcast targets).
    pub fn interface(&mut self, name: &str) -> Result<InterfaceInfo, AddrError> {
        let link = self.link_by_name(name)?;
        let addrs = self.addresses(link.index)?;
        let addrs6 = self.addresses_v6(link.index)?;
        Ok(InterfaceInfo {
            link,
            addrs,
            addrs6,
        })
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
