//! Unsolicited neighbour advertisements: the IPv6 counterpart of gratuitous
//! ARP (RFC 4861 § 7.2.6), telling the segment that an IPv6 service address
//! now lives at this host's MAC.
//!
//! One frame per address: an ICMPv6 Neighbor Advertisement for the address,
//! with the Override flag (a neighbour replaces the link-layer address it
//! has cached, which is the point after a takeover) and without Solicited
//! (nobody asked), carrying the Target Link-Layer Address option with this
//! host's MAC; from the address itself to the all-nodes multicast group
//! ff02::1 (Ethernet 33:33:00:00:00:01), hop limit 255 (a receiver drops an
//! NA with any other: it proves the frame was not routed). Linux updates an
//! existing neighbour entry from it (and, by default, creates none: a
//! client that never talked to the address has nothing stale to fix).
//!
//! It goes out on the same schedule as gratuitous ARP ([`super::garp`]'s
//! [`Announcer`](super::garp::Announcer): every round, and every
//! `--arp-refresh`), once a round whatever the ARP forms.

use std::net::Ipv6Addr;

use pnet_datalink::MacAddr;
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::{self, Icmpv6Code, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;

use super::frame::ETHERNET_HEADER_LEN;
use super::garp::BufferTooSmall;

/// The IPv6 header's length.
const IPV6_HEADER_LEN: usize = 40;
/// A Neighbor Advertisement without options: type, code, checksum, flags
/// and reserved (8 bytes), the target (16).
const NA_LEN: usize = 24;
/// The Target Link-Layer Address option for Ethernet: type, length (in
/// units of 8 bytes: 1), the MAC.
const TLLA_LEN: usize = 8;
/// The length of an unsolicited NA frame as built here: 86 bytes (longer
/// than Ethernet's minimum, so never padded).
pub const NA_FRAME_LEN: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + NA_LEN + TLLA_LEN;
/// All-nodes link-local multicast (RFC 4291).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// The Ethernet address of [`ALL_NODES`] (33:33 and its last 32 bits, RFC
/// 2464).
pub const ALL_NODES_MAC: MacAddr = MacAddr(0x33, 0x33, 0, 0, 0, 1);
/// The hop limit every neighbour-discovery message carries, and receivers
/// require.
pub const ND_HOP_LIMIT: u8 = 255;

/// Writes an unsolicited Neighbor Advertisement for `addr` at `mac` into
/// `buf` and returns its length ([`NA_FRAME_LEN`]). Allocation-free.
pub fn build_unsolicited_na(
    buf: &mut [u8],
    mac: MacAddr,
    addr: Ipv6Addr,
) -> Result<usize, BufferTooSmall> {
    let too_small = BufferTooSmall {
        needed: NA_FRAME_LEN,
        available: buf.len(),
    };
    let frame = buf.get_mut(..NA_FRAME_LEN).ok_or(too_small)?;
    frame.fill(0);
    let (eth_bytes, rest) = frame.split_at_mut(ETHERNET_HEADER_LEN);
    let mut eth = MutableEthernetPacket::new(eth_bytes).ok_or(too_small)?;
    eth.set_destination(ALL_NODES_MAC);
    eth.set_source(mac);
    eth.set_ethertype(EtherTypes::Ipv6);
    let (ip_bytes, icmp_bytes) = rest.split_at_mut(IPV6_HEADER_LEN);
    let mut ip = MutableIpv6Packet::new(ip_bytes).ok_or(too_small)?;
    ip.set_version(6);
    ip.set_payload_length((NA_LEN + TLLA_LEN) as u16);
    ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
    ip.set_hop_limit(ND_HOP_LIMIT);
    ip.set_source(addr);
    ip.set_destination(ALL_NODES);
    {
        let mut na = MutableNeighborAdvertPacket::new(icmp_bytes).ok_or(too_small)?;
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_icmpv6_code(Icmpv6Code(0));
        na.set_flags(NeighborAdvertFlags::Override);
        na.set_target_addr(addr);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: mac.octets().to_vec(),
        }]);
    }
    let sum = icmpv6::checksum(
        &Icmpv6Packet::new(icmp_bytes).ok_or(too_small)?,
        &addr,
        &ALL_NODES,
    );
    MutableNeighborAdvertPacket::new(icmp_bytes)
        .ok_or(too_small)?
        .set_checksum(sum);
    Ok(NA_FRAME_LEN)
}

/// A received unsolicited-or-not Neighbor Advertisement, decoded: what the
/// lab's capture reads. Never panics on any input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NaView {
    /// Ethernet source.
    pub eth_src: MacAddr,
    /// The IPv6 hop limit (255 for a valid one).
    pub hop_limit: u8,
    /// The address advertised.
    pub target: Ipv6Addr,
    /// The Override flag.
    pub override_flag: bool,
    /// The Solicited flag.
    pub solicited: bool,
}

/// Decodes `frame` if it is an Ethernet/IPv6 ICMPv6 Neighbor Advertisement
/// (checksum not checked: the capture shows what was on the wire).
pub fn parse_na(frame: &[u8]) -> Option<NaView> {
    use pnet_packet::ethernet::EthernetPacket;
    use pnet_packet::icmpv6::ndp::NeighborAdvertPacket;
    use pnet_packet::ipv6::Ipv6Packet;
    use pnet_packet::Packet;

    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype() != EtherTypes::Ipv6 {
        return None;
    }
    let ip = Ipv6Packet::new(eth.payload())?;
    if ip.get_next_header() != IpNextHeaderProtocols::Icmpv6 {
        return None;
    }
    let payload = ip.payload();
    if payload.len() < NA_LEN || payload.first() != Some(&Icmpv6Types::NeighborAdvert.0) {
        return None;
    }
    let na = NeighborAdvertPacket::new(payload)?;
    Some(NaView {
        eth_src: eth.get_source(),
        hop_limit: ip.get_hop_limit(),
        target: na.get_target_addr(),
        override_flag: na.get_flags() & NeighborAdvertFlags::Override != 0,
        solicited: na.get_flags() & NeighborAdvertFlags::Solicited != 0,
    })
}

#[cfg(test)]
mod tests {
    use pnet_packet::icmpv6::ndp::NeighborAdvertPacket;
    use pnet_packet::ipv6::Ipv6Packet;
    use pnet_packet::Packet;

    use super::*;

    const MAC: MacAddr = MacAddr(0x02, 0, 0, 0, 0, 0x22);

    fn frame() -> Vec<u8> {
        let mut buf = [0u8; 128];
        let n = build_unsolicited_na(&mut buf, MAC, "2001:db8::10".parse().unwrap()).unwrap();
        assert_eq!(n, 86);
        buf[..n].to_vec()
    }

    #[test]
    fn the_exact_bytes() {
        #[rustfmt::skip]
        let want: [u8; 86] = [
            // Ethernet: to 33:33:00:00:00:01, from our MAC, IPv6.
            0x33, 0x33, 0, 0, 0, 1,  0x02, 0, 0, 0, 0, 0x22,  0x86, 0xdd,
            // IPv6: version 6, payload 32, next header 58 (ICMPv6), hop
            // limit 255, from 2001:db8::10 to ff02::1.
            0x60, 0, 0, 0,  0, 32, 58, 255,
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
            // NA: type 136, code 0, checksum, flags O (0x20), reserved.
            136, 0, 0xf8, 0xeb,  0x20, 0, 0, 0,
            // Target: 2001:db8::10.
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            // Option 2 (target link-layer address), length 1, the MAC.
            2, 1, 0x02, 0, 0, 0, 0, 0x22,
        ];
        assert_eq!(frame(), want);
    }

    #[test]
    fn the_checksum_verifies() {
        let f = frame();
        let ip = Ipv6Packet::new(&f[ETHERNET_HEADER_LEN..]).unwrap();
        let icmp = Icmpv6Packet::new(ip.payload()).unwrap();
        assert_eq!(
            icmpv6::checksum(&icmp, &ip.get_source(), &ip.get_destination()),
            icmp.get_checksum()
        );
        // The one's-complement sum over the pseudo-header and the message,
        // checksum included, is all ones: what a receiver checks.
        let mut sum: u32 = 0;
        let mut add = |b: &[u8]| {
            for c in b.chunks(2) {
                sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
            }
        };
        add(&ip.get_source().octets());
        add(&ip.get_destination().octets());
        add(&[0, 0, 0, 32, 0, 0, 0, 58]);
        add(ip.payload());
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff);
        let na = NeighborAdvertPacket::new(ip.payload()).unwrap();
        assert_eq!(na.get_flags(), NeighborAdvertFlags::Override);
        assert_eq!(na.get_target_addr(), ip.get_source());
    }

    #[test]
    fn parsed_back() {
        let f = frame();
        let na = parse_na(&f).expect("an NA");
        assert_eq!(na.eth_src, MAC);
        assert_eq!(na.hop_limit, 255);
        assert_eq!(na.target, "2001:db8::10".parse::<Ipv6Addr>().unwrap());
        assert!(na.override_flag && !na.solicited);
        // Cut before the end of the target it is not one (and nothing
        // panics); without the option it still is.
        let whole = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + NA_LEN;
        for n in 0..f.len() {
            assert_eq!(parse_na(&f[..n]).is_some(), n >= whole, "{n} bytes");
        }
        let mut other = f.clone();
        other[ETHERNET_HEADER_LEN + IPV6_HEADER_LEN] = 135; // a solicitation
        assert_eq!(parse_na(&other), None);
    }

    #[test]
    fn a_short_buffer_is_refused() {
        let mut buf = [0u8; 85];
        let e = build_unsolicited_na(&mut buf, MAC, "2001:db8::10".parse().unwrap());
        assert_eq!(
            e,
            Err(BufferTooSmall {
                needed: 86,
                available: 85
            })
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "frame buffer too small: 86 bytes needed, 85 available"
        );
    }
}
