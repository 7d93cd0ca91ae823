//! Heartbeat datagrams as whole Ethernet + IPv4 + UDP frames.
//!
//! The daemons send and receive heartbeats on raw AF_PACKET channels
//! ([`super::channel`]), not on UDP sockets, so that reception never depends
//! on which addresses an interface holds at the moment (a secondary that
//! has just released the service address, or a primary that has not yet
//! configured its private address, must still hear its peer). That means the
//! host builds and checks the Ethernet, IPv4 and UDP headers itself; this
//! module does it with pnet's packet types.
//!
//! * [`build_udp_frame`] writes a frame into a caller-owned buffer (no heap
//!   allocation: the daemons call it once per heartbeat), with a correct IPv4
//!   header checksum and UDP checksum, padded to the 60-byte Ethernet minimum.
//! * [`parse_udp_frame`] is the receive-side filter: IPv4 only, no
//!   fragments, every length field checked against the bytes actually
//!   received, both checksums verified, UDP destination port matched. It
//!   never panics on any input (property-tested below) and borrows the
//!   payload from the frame (no allocation).
//!
//! # Destination MAC for unicast targets
//!
//! `FAILOVER_BCAST_IPS` may name broadcast addresses (the usual case, sent to
//! `ff:ff:ff:ff:ff:ff`) or unicast peer addresses. For a unicast IP target the
//! daemons use the **broadcast MAC** by default ([`BROADCAST_MAC`]), and the
//! receivers filter on the destination IP themselves (they read raw frames,
//! so they see [`UdpView::dst_ip`]). Reasons: no dependency on the peer's
//! kernel answering ARP for an address (the whole point of raw reception),
//! no stale neighbour entry after the peer's NIC or bond changes, no blocking
//! resolution in the daemon loop, and no extra cost over the default
//! broadcast configuration. Receiving IP stacks drop such frames without
//! forwarding them (Linux's `ip_forward` refuses non-`PACKET_HOST` frames).
//! Where a real unicast MAC is wanted, [`super::channel::Channel::resolve_mac`]
//! is a bounded ARP resolver for start-up or tools, and `dst_mac` is a plain
//! field of [`UdpFlow`].

use std::fmt;
use std::net::Ipv4Addr;

use pnet_datalink::MacAddr;
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::{self, Ipv4Packet, MutableIpv4Packet};
use pnet_packet::udp::{self, MutableUdpPacket, UdpPacket};

/// The Ethernet broadcast address, the destination of every heartbeat by
/// default (see the module documentation for unicast targets).
pub const BROADCAST_MAC: MacAddr = MacAddr(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/// Length of an Ethernet II header (no VLAN tag: AF_PACKET delivers frames of
/// a VLAN interface untagged).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Length of the IPv4 header we emit (no options).
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of a UDP header.
pub const UDP_HEADER_LEN: usize = 8;
/// All headers in front of the payload of a frame built here.
pub const HEADERS_LEN: usize = ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN;
/// The minimum Ethernet frame without its FCS; shorter frames are zero-padded
/// (receivers use the IPv4 total length, so the padding is invisible).
pub const MIN_FRAME_LEN: usize = 60;
/// The largest UDP payload a single IPv4 datagram can carry.
pub const MAX_PAYLOAD_LEN: usize = u16::MAX as usize - IPV4_HEADER_LEN - UDP_HEADER_LEN;

/// Time to live of emitted heartbeats: the same as the kernel's default for a
/// UDP socket, so captures look ordinary. Heartbeats never cross a router
/// anyway (they are link-layer broadcast frames).
pub const TTL: u8 = 64;
/// DSCP of emitted heartbeats: CS6 ("network control"), so that switches
/// with QoS queue them ahead of bulk traffic on a saturated public network.
pub const DSCP_CS6: u8 = 48;

/// Everything in a heartbeat frame's headers, fixed per link and target, so
/// the daemons build it once and reuse it for every beat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpFlow {
    /// The sending interface's MAC.
    pub src_mac: MacAddr,
    /// [`BROADCAST_MAC`], or a resolved unicast MAC.
    pub dst_mac: MacAddr,
    /// The sender's IPv4 address on that link (may be `0.0.0.0` when the
    /// interface has none: receivers do not depend on it).
    pub src_ip: Ipv4Addr,
    /// The target: a broadcast address or a unicast peer address.
    pub dst_ip: Ipv4Addr,
    /// UDP source port (Apple used the heartbeat port on both ends).
    pub src_port: u16,
    /// UDP destination port, 1694 by default.
    pub dst_port: u16,
}

/// Why [`build_udp_frame`] could not build a frame. No partial frame is ever
/// reported as built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildError {
    /// The buffer cannot hold the frame.
    BufferTooSmall {
        /// Bytes the frame needs (including padding to [`MIN_FRAME_LEN`]).
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The payload does not fit in one IPv4 datagram.
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::BufferTooSmall { needed, available } => write!(
                f,
                "frame buffer too small: {needed} bytes needed, {available} available"
            ),
            BuildError::PayloadTooLarge { len } => write!(
                f,
                "payload of {len} bytes does not fit in one IPv4 datagram (max {MAX_PAYLOAD_LEN})"
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// The length of the frame [`build_udp_frame`] writes for `payload_len`
/// bytes of payload, so callers can size their buffers.
pub const fn frame_len(payload_len: usize) -> usize {
    let len = HEADERS_LEN + payload_len;
    if len < MIN_FRAME_LEN {
        MIN_FRAME_LEN
    } else {
        len
    }
}

/// Writes an Ethernet + IPv4 + UDP frame carrying `payload` into `buf` and
/// returns its length: the daemons' way to put a core `Transmit` on the wire.
///
/// IPv4: no options, DF set with identification 0 (an atomic datagram, RFC
/// 6864), TTL [`TTL`], DSCP [`DSCP_CS6`], header checksum computed. UDP:
/// checksum computed (0 is sent as 0xffff, RFC 768). Frames shorter than
/// [`MIN_FRAME_LEN`] are zero-padded. Allocation-free.
pub fn build_udp_frame(
    buf: &mut [u8],
    flow: &UdpFlow,
    payload: &[u8],
) -> Result<usize, BuildError> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(BuildError::PayloadTooLarge { len: payload.len() });
    }
    let total = frame_len(payload.len());
    if buf.len() < total {
        return Err(BuildError::BufferTooSmall {
            needed: total,
            available: buf.len(),
        });
    }
    let frame = &mut buf[..total];
    let udp_len = UDP_HEADER_LEN + payload.len();
    let ip_len = IPV4_HEADER_LEN + udp_len;
    let ip_end = ETHERNET_HEADER_LEN + ip_len;
    // Both lengths fit in u16: checked against MAX_PAYLOAD_LEN above.
    let (Ok(udp_len16), Ok(ip_len16)) = (u16::try_from(udp_len), u16::try_from(ip_len)) else {
        return Err(BuildError::PayloadTooLarge { len: payload.len() });
    };
    let too_small = BuildError::BufferTooSmall {
        needed: total,
        available: total,
    };

    // Padding first, so a reused buffer never leaks old bytes.
    frame[ip_end..].fill(0);

    {
        let mut udp =
            MutableUdpPacket::new(&mut frame[ETHERNET_HEADER_LEN + IPV4_HEADER_LEN..ip_end])
                .ok_or(too_small)?;
        udp.set_source(flow.src_port);
        udp.set_destination(flow.dst_port);
        udp.set_length(udp_len16);
        udp.set_checksum(0);
        udp.set_payload(payload);
        let sum = udp::ipv4_checksum(&udp.to_immutable(), &flow.src_ip, &flow.dst_ip);
        udp.set_checksum(if sum == 0 { 0xffff } else { sum });
    }
    {
        let mut ip =
            MutableIpv4Packet::new(&mut frame[ETHERNET_HEADER_LEN..ip_end]).ok_or(too_small)?;
        ip.set_version(4);
        ip.set_header_length((IPV4_HEADER_LEN / 4) as u8);
        ip.set_dscp(DSCP_CS6);
        ip.set_ecn(0);
        ip.set_total_length(ip_len16);
        ip.set_identification(0);
        ip.set_flags(ipv4::Ipv4Flags::DontFragment);
        ip.set_fragment_offset(0);
        ip.set_ttl(TTL);
        ip.set_next_level_protocol(IpNextHeaderProtocols::Udp);
        ip.set_source(flow.src_ip);
        ip.set_destination(flow.dst_ip);
        ip.set_checksum(0);
        let sum = ipv4::checksum(&ip.to_immutable());
        ip.set_checksum(sum);
    }
    {
        let mut eth =
            MutableEthernetPacket::new(&mut frame[..ETHERNET_HEADER_LEN]).ok_or(too_small)?;
        eth.set_destination(flow.dst_mac);
        eth.set_source(flow.src_mac);
        eth.set_ethertype(EtherTypes::Ipv4);
    }
    Ok(total)
}

/// A received heartbeat datagram, borrowed from the frame: what the daemon
/// hands to `Machine::handle_frame` (the payload) and what it logs or
/// filters on (the addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpView<'a> {
    /// The sender's MAC (Ethernet source).
    pub src_mac: MacAddr,
    /// The Ethernet destination (broadcast, or this host's MAC).
    pub dst_mac: MacAddr,
    /// The IPv4 source address.
    pub src_ip: Ipv4Addr,
    /// The IPv4 destination address: a receiver applies its own policy
    /// (broadcast of the link, or one of its addresses), since raw
    /// reception bypasses the kernel's.
    pub dst_ip: Ipv4Addr,
    /// The UDP source port.
    pub src_port: u16,
    /// The UDP payload, exactly as long as the UDP length field says.
    pub payload: &'a [u8],
}

/// Parses `frame` as an Ethernet II + IPv4 + UDP datagram to UDP port `port`
/// and returns a view of it, or `None` for anything else: not IPv4, a
/// fragment, a header length or total length that disagrees with the bytes
/// received, a bad IPv4 header checksum, a UDP length that does not fit, a
/// bad UDP checksum (0 means "none" and is accepted), another port.
///
/// Never panics and never allocates, whatever the input: this runs on every
/// frame a daemon receives, including hostile ones.
///
/// Checksum caveat: frames that the *local* kernel stack sends with checksum
/// offload carry an incomplete UDP checksum when captured on the sending host
/// (or across a veth); they fail here. Heartbeats built by
/// [`build_udp_frame`] always carry a complete one.
pub fn parse_udp_frame(frame: &[u8], port: u16) -> Option<UdpView<'_>> {
    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype() != EtherTypes::Ipv4 {
        return None;
    }
    let ip_bytes = frame.get(ETHERNET_HEADER_LEN..)?;
    let ip = Ipv4Packet::new(ip_bytes)?;
    if ip.get_version() != 4 {
        return None;
    }
    let header_len = usize::from(ip.get_header_length()) * 4;
    let total_len = usize::from(ip.get_total_length());
    if header_len < IPV4_HEADER_LEN || total_len < header_len + UDP_HEADER_LEN {
        return None;
    }
    // Ethernet padding may follow the datagram; a truncated one is refused.
    let datagram = ip_bytes.get(..total_len)?;
    // No fragments: MF clear and offset zero.
    if ip.get_flags() & ipv4::Ipv4Flags::MoreFragments != 0 || ip.get_fragment_offset() != 0 {
        return None;
    }
    if ip.get_next_level_protocol() != IpNextHeaderProtocols::Udp {
        return None;
    }
    let header = datagram.get(..header_len)?;
    if pnet_packet::util::checksum(header, 5) != ip.get_checksum() {
        return None;
    }
    let src_ip = ip.get_source();
    let dst_ip = ip.get_destination();

    let udp_bytes = datagram.get(header_len..)?;
    let udp_hdr = UdpPacket::new(udp_bytes)?;
    if udp_hdr.get_destination() != port {
        return None;
    }
    let udp_len = usize::from(udp_hdr.get_length());
    if udp_len < UDP_HEADER_LEN {
        return None;
    }
    let udp_bytes = udp_bytes.get(..udp_len)?;
    let udp = UdpPacket::new(udp_bytes)?;
    let sum = udp.get_checksum();
    if sum != 0 {
        let computed = udp::ipv4_checksum(&udp, &src_ip, &dst_ip);
        // 0xffff and 0 are the same one's-complement value.
        let computed = if computed == 0 { 0xffff } else { computed };
        if computed != sum {
            return None;
        }
    }
    let payload = udp_bytes.get(UDP_HEADER_LEN..)?;
    Some(UdpView {
        src_mac: eth.get_source(),
        dst_mac: eth.get_destination(),
        src_ip,
        dst_ip,
        src_port: udp.get_source(),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flow() -> UdpFlow {
        UdpFlow {
            src_mac: MacAddr(0x02, 0, 0, 0, 0, 1),
            dst_mac: BROADCAST_MAC,
            src_ip: Ipv4Addr::new(198, 51, 100, 1),
            dst_ip: Ipv4Addr::new(198, 51, 100, 255),
            src_port: 1694,
            dst_port: 1694,
        }
    }

    #[test]
    fn round_trip() {
        let mut buf = [0u8; 256];
        let payload = b"HB heartbeat payload";
        let len = build_udp_frame(&mut buf, &flow(), payload).unwrap();
        assert_eq!(len, HEADERS_LEN + payload.len());
        let v = parse_udp_frame(&buf[..len], 1694).unwrap();
        assert_eq!(v.payload, payload);
        assert_eq!(v.src_mac, flow().src_mac);
        assert_eq!(v.dst_mac, BROADCAST_MAC);
        assert_eq!(v.src_ip, flow().src_ip);
        assert_eq!(v.dst_ip, flow().dst_ip);
        assert_eq!(v.src_port, 1694);
        assert!(parse_udp_frame(&buf[..len], 1695).is_none());
    }

    #[test]
    fn short_frames_are_padded_and_padding_is_ignored() {
        let mut buf = [0xaau8; 128];
        let len = build_udp_frame(&mut buf, &flow(), b"x").unwrap();
        assert_eq!(len, MIN_FRAME_LEN);
        assert!(buf[HEADERS_LEN + 1..len].iter().all(|&b| b == 0));
        let v = parse_udp_frame(&buf[..len], 1694).unwrap();
        assert_eq!(v.payload, b"x");
        // Extra trailing bytes (more padding) are ignored as well.
        let v = parse_udp_frame(&buf[..100], 1694).unwrap();
        assert_eq!(v.payload, b"x");
    }

    #[test]
    fn header_fields_and_checksum() {
        // The IPv4 header as a receiving kernel checks it: version/IHL,
        // DSCP, DF, TTL, protocol, and a checksum that verifies.
        let mut buf = [0u8; 64];
        let f = UdpFlow {
            dst_ip: Ipv4Addr::new(192, 0, 2, 7),
            ..flow()
        };
        let len = build_udp_frame(&mut buf, &f, b"hello").unwrap();
        let ip = &buf[ETHERNET_HEADER_LEN..ETHERNET_HEADER_LEN + IPV4_HEADER_LEN];
        // The checksum over a header including its checksum folds to 0.
        assert_eq!(pnet_packet::util::checksum(ip, usize::MAX), 0);
        assert_eq!(ip[0], 0x45);
        assert_eq!(ip[1], DSCP_CS6 << 2);
        assert_eq!(&ip[6..8], &[0x40, 0x00], "DF, offset 0");
        assert_eq!(ip[8], TTL);
        assert_eq!(ip[9], 17);
        assert!(parse_udp_frame(&buf[..len], 1694).is_some());
    }

    #[test]
    fn errors() {
        let mut small = [0u8; 59];
        assert_eq!(
            build_udp_frame(&mut small, &flow(), b""),
            Err(BuildError::BufferTooSmall {
                needed: 60,
                available: 59
            })
        );
        let big = vec![0u8; MAX_PAYLOAD_LEN + 1];
        let mut buf = vec![0u8; 70_000];
        assert_eq!(
            build_udp_frame(&mut buf, &flow(), &big),
            Err(BuildError::PayloadTooLarge {
                len: MAX_PAYLOAD_LEN + 1
            })
        );
        let max = vec![7u8; MAX_PAYLOAD_LEN];
        let len = build_udp_frame(&mut buf, &flow(), &max).unwrap();
        assert_eq!(
            parse_udp_frame(&buf[..len], 1694).unwrap().payload.len(),
            MAX_PAYLOAD_LEN
        );
    }

    fn good_frame() -> Vec<u8> {
        let mut buf = vec![0u8; 128];
        let len = build_udp_frame(&mut buf, &flow(), b"0123456789").unwrap();
        buf.truncate(len);
        buf
    }

    #[test]
    fn rejects_each_corruption() {
        let base = good_frame();
        assert!(parse_udp_frame(&base, 1694).is_some());
        let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = base.clone();
            f(&mut b);
            parse_udp_frame(&b, 1694).map(|v| v.payload.to_vec())
        };
        // Not IPv4 (ARP ethertype).
        assert!(mutate(&|b| b[12..14].copy_from_slice(&[0x08, 0x06])).is_none());
        // IPv6 version nibble.
        assert!(mutate(&|b| b[14] = 0x65).is_none());
        // Header length below 5 words, and beyond the datagram.
        assert!(mutate(&|b| b[14] = 0x44).is_none());
        assert!(mutate(&|b| b[14] = 0x4f).is_none());
        // More-fragments flag, and a fragment offset.
        assert!(mutate(&|b| b[20] = 0x20).is_none());
        assert!(mutate(&|b| b[21] = 0x01).is_none());
        // Not UDP.
        assert!(mutate(&|b| b[23] = 6).is_none());
        // IPv4 checksum.
        assert!(mutate(&|b| b[24] ^= 1).is_none());
        // Total length beyond the frame.
        assert!(mutate(&|b| b[16..18].copy_from_slice(&[0x05, 0xdc])).is_none());
        // UDP length too short, too long.
        assert!(mutate(&|b| b[38..40].copy_from_slice(&[0, 7])).is_none());
        assert!(mutate(&|b| b[38..40].copy_from_slice(&[0, 200])).is_none());
        // UDP checksum, payload byte.
        assert!(mutate(&|b| b[40] ^= 1).is_none());
        assert!(mutate(&|b| b[45] ^= 1).is_none());
        // Truncated frame.
        assert!(parse_udp_frame(&base[..HEADERS_LEN + 9], 1694).is_none());
        // A zero UDP checksum means "not computed" and is accepted.
        let payload = mutate(&|b| b[40..42].copy_from_slice(&[0, 0])).unwrap();
        assert_eq!(payload, b"0123456789");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn parse_never_panics(frame in proptest::collection::vec(any::<u8>(), 0..200), port in any::<u16>()) {
            let _ = parse_udp_frame(&frame, port);
        }

        #[test]
        fn parse_never_panics_on_mutated_frames(
            edits in proptest::collection::vec((0usize..64, any::<u8>()), 0..8),
            cut in 0usize..80,
        ) {
            let mut f = good_frame();
            for (i, v) in edits {
                if let Some(b) = f.get_mut(i) {
                    *b = v;
                }
            }
            f.truncate(f.len().saturating_sub(cut));
            if let Some(v) = parse_udp_frame(&f, 1694) {
                prop_assert!(v.payload.len() <= f.len());
            }
        }

        #[test]
        fn build_parse_round_trip(
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            src in any::<u32>(), dst in any::<u32>(),
            sport in any::<u16>(), dport in any::<u16>(),
            mac in any::<[u8; 6]>(),
        ) {
            let f = UdpFlow {
                src_mac: MacAddr(mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]),
                dst_mac: BROADCAST_MAC,
                src_ip: Ipv4Addr::from(src),
                dst_ip: Ipv4Addr::from(dst),
                src_port: sport,
                dst_port: dport,
            };
            let mut buf = [0u8; 400];
            let len = build_udp_frame(&mut buf, &f, &payload).unwrap();
            prop_assert_eq!(len, frame_len(payload.len()));
            let v = parse_udp_frame(&buf[..len], dport).unwrap();
            prop_assert_eq!(v.payload, &payload[..]);
            prop_assert_eq!(v.src_ip, f.src_ip);
            prop_assert_eq!(v.dst_ip, f.dst_ip);
            prop_assert_eq!(v.src_port, sport);
            prop_assert_eq!(v.src_mac, f.src_mac);
        }
    }
}
