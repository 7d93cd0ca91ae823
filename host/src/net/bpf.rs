//! The classic BPF programs the kernel runs on every frame before it wakes
//! a channel's reader: what a daemon never sees costs it nothing.
//!
//! A heartbeat channel passes only unfragmented IPv4 UDP datagrams to the
//! heartbeat port that came in from the wire (not this host's own), and,
//! when the daemon knows whom it listens to, only those whose header names
//! one of them as the sender ([`Senders`]). A flood of frames from any
//! other node, forged or broken, then dies in the kernel: the daemon's
//! queue holds only frames that claim to come from its peer or witness,
//! and its loop wakes for nothing else. (Frames that claim a wanted sender
//! still reach the core, which refuses forgeries cheaply before any HMAC:
//! `failover_core::endpoint`.) A channel that only sends (an interface
//! that only announces service addresses) takes nothing at all
//! ([`DROP_ALL`]).
//!
//! The programs are built here as plain data, so the unit tests run them
//! through a small interpreter of the instructions they use, and the
//! namespace tests (`host/tests/net_ns.rs`) through the kernel.

/// One classic BPF instruction as the kernel's `struct sock_filter`:
/// (code, jump-if-true, jump-if-false, k).
pub type BpfInsn = (u16, u8, u8, u32);

// Classic BPF opcodes (linux/filter.h).
const BPF_LD: u16 = 0x00;
const BPF_LDX: u16 = 0x01;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_W: u16 = 0x00;
const BPF_H: u16 = 0x08;
const BPF_B: u16 = 0x10;
const BPF_ABS: u16 = 0x20;
const BPF_IND: u16 = 0x40;
const BPF_MSH: u16 = 0xa0;
const BPF_JA: u16 = 0x00;
const BPF_JEQ: u16 = 0x10;
const BPF_JSET: u16 = 0x40;
const BPF_K: u16 = 0x00;
/// SKF_AD_OFF + SKF_AD_PKTTYPE: the ancillary "packet type" load.
const SKF_AD_PKTTYPE: u32 = 0xffff_f000 + 4;
/// The packet type of a frame this host sent.
const PACKET_OUTGOING: u32 = 4;
/// Accept up to this many bytes of a frame (all of it).
pub const ACCEPT_ALL: u32 = 0x0004_0000;

/// Where the UDP header starts, less the IPv4 header length (which the
/// program loads into X): the Ethernet header.
const UDP_AT: u32 = 14;
/// The UDP destination port, from the start of the IPv4 header.
const DST_PORT_AT: u32 = UDP_AT + 2;
/// The heartbeat header's sender field (bytes 8..12 of the UDP payload,
/// see `failover_core::wire`), from the start of the IPv4 header.
const SENDER_AT: u32 = UDP_AT + 8 + 8;

/// Which senders (the heartbeat header's node id) a channel passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Senders {
    /// Every sender: the daemon does not know whom it listens to
    /// (heartbeatd without `--peer`), or the channel is not a daemon's.
    /// The core still decides which it believes.
    Any,
    /// Only these two node ids (the same one twice when there is one): the
    /// peer and the witness.
    Only([u32; 2]),
    /// Datagrams whose IPv4 source is one of these addresses (repeat one to
    /// fill the array), whatever their payload: `failoverd --apple-compat`,
    /// whose primary's heartbeats (Apple's) carry no sender field. Such a
    /// channel runs [`apple_filter`]; [`udp_filter`] alone tests no source.
    SourceAddresses([u32; APPLE_SOURCES]),
}

/// How many source addresses [`Senders::SourceAddresses`] holds.
pub const APPLE_SOURCES: usize = 8;

impl Senders {
    /// The peer, and the witness when there is one.
    pub const fn peer_and_witness(peer: u32, witness: Option<u32>) -> Senders {
        match witness {
            Some(w) => Senders::Only([peer, w]),
            None => Senders::Only([peer, peer]),
        }
    }

    /// Datagrams from these IPv4 addresses; [`Senders::Any`] when there
    /// are none or more than [`APPLE_SOURCES`] (the daemon checks the
    /// source itself in any case: `daemon::ports`).
    pub fn addresses(addrs: &[std::net::Ipv4Addr]) -> Senders {
        let Some(first) = addrs.first() else {
            return Senders::Any;
        };
        if addrs.len() > APPLE_SOURCES {
            return Senders::Any;
        }
        let mut out = [u32::from(*first); APPLE_SOURCES];
        for (slot, a) in out.iter_mut().zip(addrs) {
            *slot = u32::from(*a);
        }
        Senders::SourceAddresses(out)
    }
}

/// The program that drops every frame: for a channel that only sends.
pub const DROP_ALL: [BpfInsn; 1] = [(BPF_RET | BPF_K, 0, 0, 0)];

/// rtnetlink's RTM_NEWADDR (`<linux/rtnetlink.h>`).
const RTM_NEWADDR: u16 = 20;

/// The program for the netlink socket that watches the daemon's interfaces
/// and the addresses removed from them (`crate::netlink::linkwatch`): it
/// drops address additions and changes (RTM_NEWADDR), which the daemon
/// has no use for and which come often on an IPv6 network (each router
/// advertisement renews the lifetimes of the addresses it configured), so
/// that they never wake it. Everything else passes. The message type is
/// in the host's byte order, and a `BPF_H` load reads big-endian: the
/// constant is compared as the load sees it.
pub const NETLINK_NO_NEW_ADDRESSES: [BpfInsn; 4] = [
    // nlmsghdr.nlmsg_type, after the 4-byte length.
    (BPF_LD | BPF_H | BPF_ABS, 0, 0, 4),
    (
        BPF_JMP | BPF_JEQ | BPF_K,
        0,
        1,
        u16::from_be_bytes(RTM_NEWADDR.to_ne_bytes()) as u32,
    ),
    (BPF_RET | BPF_K, 0, 0, 0),
    (BPF_RET | BPF_K, 0, 0, ACCEPT_ALL),
];

/// The program that passes ARP frames only, in both directions: for an
/// observer of address announcements, which then does not wake for the
/// heartbeats that cross the same bridge.
pub const ARP_ONLY: [BpfInsn; 4] = [
    (BPF_LD | BPF_H | BPF_ABS, 0, 0, 12),
    (BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0x0806),
    (BPF_RET | BPF_K, 0, 0, ACCEPT_ALL),
    (BPF_RET | BPF_K, 0, 0, 0),
];

/// The program for a heartbeat channel: drop outgoing frames; accept ARP if
/// asked (for address resolution and probes); accept unfragmented IPv4 UDP
/// to `port` whose heartbeat sender is one of `senders`; drop the rest.
/// (The shape of `tcpdump -dd 'udp dst port P and ip[6:2] & 0x3fff = 0'`,
/// plus the packet-type test and the sender test.)
pub const fn udp_filter(port: u16, arp: bool, senders: Senders) -> [BpfInsn; 17] {
    const ACCEPT: u8 = 15;
    const DROP: u8 = 16;
    // The jump offset from instruction `at` to instruction `to`.
    const fn off(at: u8, to: u8) -> u8 {
        to - at - 1
    }
    let arp_target = if arp { ACCEPT } else { DROP };
    // Any sender: jump over the sender test (12 to ACCEPT). Else load the
    // sender: a datagram too short to hold it is dropped by the load.
    let (sender_step, s0, s1) = match senders {
        Senders::Any | Senders::SourceAddresses(_) => {
            ((BPF_JMP | BPF_JA, 0, 0, off(12, ACCEPT) as u32), 0, 0)
        }
        Senders::Only([s0, s1]) => ((BPF_LD | BPF_W | BPF_IND, 0, 0, SENDER_AT), s0, s1),
    };
    [
        /* 0 */ (BPF_LD | BPF_W | BPF_ABS, 0, 0, SKF_AD_PKTTYPE),
        /* 1 */ (BPF_JMP | BPF_JEQ | BPF_K, off(1, DROP), 0, PACKET_OUTGOING),
        /* 2 */ (BPF_LD | BPF_H | BPF_ABS, 0, 0, 12),
        /* 3 */ (BPF_JMP | BPF_JEQ | BPF_K, off(3, 5), 0, 0x0800),
        /* 4 */
        (
            BPF_JMP | BPF_JEQ | BPF_K,
            off(4, arp_target),
            off(4, DROP),
            0x0806,
        ),
        /* 5 */ (BPF_LD | BPF_B | BPF_ABS, 0, 0, 23),
        /* 6 */ (BPF_JMP | BPF_JEQ | BPF_K, 0, off(6, DROP), 17),
        /* 7 */ (BPF_LD | BPF_H | BPF_ABS, 0, 0, 20),
        /* 8 */ (BPF_JMP | BPF_JSET | BPF_K, off(8, DROP), 0, 0x3fff),
        /* 9 */ (BPF_LDX | BPF_B | BPF_MSH, 0, 0, UDP_AT),
        /* 10 */ (BPF_LD | BPF_H | BPF_IND, 0, 0, DST_PORT_AT),
        /* 11 */ (BPF_JMP | BPF_JEQ | BPF_K, 0, off(11, DROP), port as u32),
        /* 12 */ sender_step,
        /* 13 */ (BPF_JMP | BPF_JEQ | BPF_K, off(13, ACCEPT), 0, s0),
        /* 14 */
        (
            BPF_JMP | BPF_JEQ | BPF_K,
            off(14, ACCEPT),
            off(14, DROP),
            s1,
        ),
        /* 15 */ (BPF_RET | BPF_K, 0, 0, ACCEPT_ALL),
        /* 16 */ (BPF_RET | BPF_K, 0, 0, 0),
    ]
}

/// Where the IPv4 source address is: the Ethernet header, then 12 bytes
/// into the IPv4 header.
const SRC_IP_AT: u32 = 14 + 12;

/// The program for a `failoverd --apple-compat` channel: drop outgoing
/// frames; accept unfragmented IPv4 UDP to `port` whose IPv4 source is one
/// of `sources`, whatever the payload (Apple's heartbeat is free text);
/// drop the rest, ARP included.
pub const fn apple_filter(port: u16, sources: [u32; APPLE_SOURCES]) -> [BpfInsn; 22] {
    const ACCEPT: u8 = 20;
    const DROP: u8 = 21;
    const fn off(at: u8, to: u8) -> u8 {
        to - at - 1
    }
    const fn source(at: u8, addr: u32, last: bool) -> BpfInsn {
        let jf = if last { off(at, DROP) } else { 0 };
        (BPF_JMP | BPF_JEQ | BPF_K, off(at, ACCEPT), jf, addr)
    }
    [
        /* 0 */ (BPF_LD | BPF_W | BPF_ABS, 0, 0, SKF_AD_PKTTYPE),
        /* 1 */ (BPF_JMP | BPF_JEQ | BPF_K, off(1, DROP), 0, PACKET_OUTGOING),
        /* 2 */ (BPF_LD | BPF_H | BPF_ABS, 0, 0, 12),
        /* 3 */ (BPF_JMP | BPF_JEQ | BPF_K, 0, off(3, DROP), 0x0800),
        /* 4 */ (BPF_LD | BPF_B | BPF_ABS, 0, 0, 23),
        /* 5 */ (BPF_JMP | BPF_JEQ | BPF_K, 0, off(5, DROP), 17),
        /* 6 */ (BPF_LD | BPF_H | BPF_ABS, 0, 0, 20),
        /* 7 */ (BPF_JMP | BPF_JSET | BPF_K, off(7, DROP), 0, 0x3fff),
        /* 8 */ (BPF_LDX | BPF_B | BPF_MSH, 0, 0, UDP_AT),
        /* 9 */ (BPF_LD | BPF_H | BPF_IND, 0, 0, DST_PORT_AT),
        /* 10 */ (BPF_JMP | BPF_JEQ | BPF_K, 0, off(10, DROP), port as u32),
        /* 11 */ (BPF_LD | BPF_W | BPF_ABS, 0, 0, SRC_IP_AT),
        /* 12 */ source(12, sources[0], false),
        /* 13 */ source(13, sources[1], false),
        /* 14 */ source(14, sources[2], false),
        /* 15 */ source(15, sources[3], false),
        /* 16 */ source(16, sources[4], false),
        /* 17 */ source(17, sources[5], false),
        /* 18 */ source(18, sources[6], false),
        /* 19 */ source(19, sources[7], true),
        /* 20 */ (BPF_RET | BPF_K, 0, 0, ACCEPT_ALL),
        /* 21 */ (BPF_RET | BPF_K, 0, 0, 0),
    ]
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::net::frame::{build_udp_frame, UdpFlow, BROADCAST_MAC};
    use crate::net::garp::{build_garp, GarpForm};
    use crate::net::MacAddr;

    /// A classic-BPF interpreter for the subset the filters use, so their
    /// logic is checked here and not only in the namespace tests. Loads
    /// beyond the frame end the program with 0, as the kernel does.
    fn run(prog: &[BpfInsn], frame: &[u8], pkttype: u32) -> u32 {
        let load = |off: u32, size: usize| -> Option<u32> {
            let off = off as usize;
            let b = frame.get(off..off + size)?;
            Some(b.iter().fold(0u32, |acc, &v| (acc << 8) | u32::from(v)))
        };
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        for _ in 0..prog.len() {
            let (code, jt, jf, k) = prog[pc];
            match code {
                c if c == BPF_LD | BPF_W | BPF_ABS && k == SKF_AD_PKTTYPE => a = pkttype,
                c if c == BPF_LD | BPF_W | BPF_ABS => match load(k, 4) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == BPF_LD | BPF_H | BPF_ABS => match load(k, 2) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == BPF_LD | BPF_B | BPF_ABS => match load(k, 1) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == BPF_LDX | BPF_B | BPF_MSH => match load(k, 1) {
                    Some(v) => x = (v & 0xf) * 4,
                    None => return 0,
                },
                c if c == BPF_LD | BPF_H | BPF_IND => match load(x + k, 2) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == BPF_LD | BPF_W | BPF_IND => match load(x + k, 4) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == BPF_JMP | BPF_JA => pc += k as usize,
                c if c == BPF_JMP | BPF_JEQ | BPF_K => {
                    pc += usize::from(if a == k { jt } else { jf });
                }
                c if c == BPF_JMP | BPF_JSET | BPF_K => {
                    pc += usize::from(if a & k != 0 { jt } else { jf });
                }
                c if c == BPF_RET | BPF_K => return k,
                other => panic!("unexpected opcode {other:#x}"),
            }
            pc += 1;
        }
        panic!("program did not return");
    }

    const HOST: u32 = 0;
    const BROADCAST: u32 = 1;
    const PEER: u32 = u32::from_be_bytes([198, 51, 100, 1]);
    const WITNESS: u32 = u32::from_be_bytes([198, 51, 100, 3]);
    const STRANGER: u32 = u32::from_be_bytes([198, 51, 100, 99]);

    fn flow() -> UdpFlow {
        UdpFlow {
            src_mac: MacAddr(2, 0, 0, 0, 0, 1),
            dst_mac: BROADCAST_MAC,
            src_ip: Ipv4Addr::new(198, 51, 100, 1),
            dst_ip: Ipv4Addr::new(198, 51, 100, 255),
            src_port: 1694,
            dst_port: 1694,
        }
    }

    /// A frame to the heartbeat port whose payload names `sender` where a
    /// heartbeat header does (the rest of the header does not matter to
    /// the kernel).
    fn from(sender: u32) -> Vec<u8> {
        let mut payload = *b"HB\x01\x01\0\0\0\x18....\x02\0\0\0\0\0\0\x01\0\0\0\x01";
        payload[8..12].copy_from_slice(&sender.to_be_bytes());
        let mut buf = [0u8; 128];
        let n = build_udp_frame(&mut buf, &flow(), &payload).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn any_sender_filter_passes_heartbeat_datagrams_only() {
        let hb = from(STRANGER);
        let hb = &hb[..];
        let mut other = [0u8; 128];
        let n2 = build_udp_frame(
            &mut other,
            &UdpFlow {
                dst_port: 53,
                ..flow()
            },
            b"dns",
        )
        .unwrap();
        let other = &other[..n2];
        let mut garp = [0u8; 60];
        build_garp(&mut garp, GarpForm::Reply, flow().src_mac, flow().src_ip).unwrap();
        let mut frag = hb.to_vec();
        frag[20] |= 0x20; // more fragments
        let mut later_frag = hb.to_vec();
        later_frag[21] = 0x10; // offset
        let mut tcp = hb.to_vec();
        tcp[23] = 6;
        let mut short = [0u8; 64];
        let n3 = build_udp_frame(&mut short, &flow(), b"x").unwrap();
        let short = &short[..n3];

        let prog = udp_filter(1694, false, Senders::Any);
        assert_eq!(run(&prog, hb, BROADCAST), ACCEPT_ALL, "broadcast heartbeat");
        assert_eq!(run(&prog, hb, HOST), ACCEPT_ALL, "unicast heartbeat");
        assert_eq!(
            run(&prog, short, BROADCAST),
            ACCEPT_ALL,
            "a short datagram reaches the core, which counts it as malformed"
        );
        assert_eq!(run(&prog, hb, PACKET_OUTGOING), 0, "own frame");
        assert_eq!(run(&prog, other, BROADCAST), 0, "other port");
        assert_eq!(run(&prog, &tcp, BROADCAST), 0, "not UDP");
        assert_eq!(run(&prog, &garp, BROADCAST), 0, "ARP not asked for");
        assert_eq!(run(&prog, &frag, BROADCAST), 0, "first fragment");
        assert_eq!(run(&prog, &later_frag, BROADCAST), 0, "later fragment");
        assert_eq!(run(&prog, &hb[..30], BROADCAST), 0, "truncated");
        assert_eq!(run(&prog, &[], BROADCAST), 0, "empty");
        let prog = udp_filter(1694, true, Senders::Any);
        assert_eq!(run(&prog, &garp, BROADCAST), ACCEPT_ALL, "ARP asked for");
        assert_eq!(run(&prog, hb, BROADCAST), ACCEPT_ALL);
        assert_eq!(run(&prog, &garp, PACKET_OUTGOING), 0);
        assert_eq!(run(&udp_filter(9, true, Senders::Any), hb, BROADCAST), 0);
        assert_eq!(run(&ARP_ONLY, &garp, BROADCAST), ACCEPT_ALL, "ARP");
        assert_eq!(run(&ARP_ONLY, &garp, PACKET_OUTGOING), ACCEPT_ALL);
        assert_eq!(run(&ARP_ONLY, hb, BROADCAST), 0, "a heartbeat is not ARP");
        assert_eq!(run(&ARP_ONLY, &[], BROADCAST), 0, "empty");
    }

    #[test]
    fn sender_filter_passes_the_peer_and_the_witness_only() {
        let only_peer = udp_filter(1694, false, Senders::peer_and_witness(PEER, None));
        let both = udp_filter(1694, false, Senders::peer_and_witness(PEER, Some(WITNESS)));
        assert_eq!(run(&only_peer, &from(PEER), BROADCAST), ACCEPT_ALL);
        assert_eq!(run(&only_peer, &from(WITNESS), BROADCAST), 0);
        assert_eq!(run(&only_peer, &from(STRANGER), BROADCAST), 0);
        assert_eq!(run(&both, &from(PEER), HOST), ACCEPT_ALL);
        assert_eq!(run(&both, &from(WITNESS), HOST), ACCEPT_ALL);
        assert_eq!(run(&both, &from(STRANGER), HOST), 0);
        // The other tests still come first: the peer's id on another port,
        // or in this host's own frame, is dropped.
        assert_eq!(run(&both, &from(PEER), PACKET_OUTGOING), 0);
        let mut tcp = from(PEER);
        tcp[23] = 6;
        assert_eq!(run(&both, &tcp, BROADCAST), 0);
        // Too short to name a sender: dropped by the load.
        let mut short = [0u8; 64];
        let n = build_udp_frame(&mut short, &flow(), &[0xc6, 0x33, 0x64, 1]).unwrap();
        assert_eq!(run(&both, &short[..n], BROADCAST), 0);
        // IPv4 options move the sender: it is found through X.
        let hb = from(PEER);
        let mut options = vec![0u8; hb.len() + 4];
        options[..34].copy_from_slice(&hb[..34]);
        options[14] = 0x46;
        options[34..38].copy_from_slice(&[1, 1, 1, 0]);
        options[38..].copy_from_slice(&hb[34..]);
        assert_eq!(run(&both, &options, BROADCAST), ACCEPT_ALL);
        options[38 + 8 + 11] ^= 1;
        assert_eq!(run(&both, &options, BROADCAST), 0, "the sender changed");
        // ARP, when asked for, needs no sender.
        let arp = udp_filter(1694, true, Senders::peer_and_witness(PEER, None));
        let mut garp = [0u8; 60];
        build_garp(&mut garp, GarpForm::Reply, flow().src_mac, flow().src_ip).unwrap();
        assert_eq!(run(&arp, &garp, BROADCAST), ACCEPT_ALL);
    }

    #[test]
    fn the_apple_filter_passes_any_payload_from_the_sources_only() {
        let primary = Ipv4Addr::new(198, 51, 100, 1);
        let public = Ipv4Addr::new(192, 0, 2, 10);
        let Senders::SourceAddresses(sources) = Senders::addresses(&[primary, public]) else {
            panic!("two addresses fit");
        };
        let prog = apple_filter(1694, sources);
        let datagram = |src: Ipv4Addr, port: u16, payload: &[u8]| {
            let mut buf = [0u8; 256];
            let flow = UdpFlow {
                src_ip: src,
                dst_port: port,
                ..flow()
            };
            let n = build_udp_frame(&mut buf, &flow, payload).unwrap();
            buf[..n].to_vec()
        };
        for payload in [&b"heartbeat"[..], b"", b"HB\x01", &[0xff; 100]] {
            assert_eq!(
                run(&prog, &datagram(primary, 1694, payload), BROADCAST),
                ACCEPT_ALL,
                "{payload:?} from the private address"
            );
            assert_eq!(
                run(&prog, &datagram(public, 1694, payload), HOST),
                ACCEPT_ALL,
                "{payload:?} from the public address"
            );
        }
        let stranger = Ipv4Addr::new(198, 51, 100, 99);
        assert_eq!(
            run(&prog, &datagram(stranger, 1694, b"heartbeat"), BROADCAST),
            0
        );
        assert_eq!(
            run(&prog, &datagram(primary, 1695, b"heartbeat"), BROADCAST),
            0
        );
        assert_eq!(
            run(
                &prog,
                &datagram(primary, 1694, b"heartbeat"),
                PACKET_OUTGOING
            ),
            0
        );
        let mut tcp = datagram(primary, 1694, b"heartbeat");
        tcp[23] = 6;
        assert_eq!(run(&prog, &tcp, BROADCAST), 0);
        let mut frag = datagram(primary, 1694, b"heartbeat");
        frag[20] |= 0x20;
        assert_eq!(run(&prog, &frag, BROADCAST), 0);
        let mut garp = [0u8; 60];
        build_garp(&mut garp, GarpForm::Reply, flow().src_mac, primary).unwrap();
        assert_eq!(run(&prog, &garp, BROADCAST), 0, "no ARP");
        // Too many sources for the program: the daemon checks them alone.
        let many: Vec<Ipv4Addr> = (1..=9).map(|i| Ipv4Addr::new(192, 0, 2, i)).collect();
        assert_eq!(Senders::addresses(&many), Senders::Any);
        assert_eq!(Senders::addresses(&[]), Senders::Any);
    }

    #[test]
    fn the_netlink_program_drops_new_addresses_only() {
        // A netlink header: length, type (host order), flags, seq, pid.
        let message = |kind: u16| {
            let mut m = Vec::new();
            m.extend_from_slice(&40u32.to_ne_bytes());
            m.extend_from_slice(&kind.to_ne_bytes());
            m.extend_from_slice(&[0; 10]);
            m
        };
        let prog = &NETLINK_NO_NEW_ADDRESSES;
        assert_eq!(run(prog, &message(RTM_NEWADDR), HOST), 0);
        // RTM_NEWLINK, RTM_DELLINK, RTM_DELADDR pass.
        for kind in [16, 17, 21] {
            assert_eq!(run(prog, &message(kind), HOST), ACCEPT_ALL, "type {kind}");
        }
        // The byte order matters: RTM_NEWADDR read the wrong way round is
        // another type, and passes.
        let swapped = message(RTM_NEWADDR.swap_bytes());
        assert_eq!(run(prog, &swapped, HOST), ACCEPT_ALL);
    }

    #[test]
    fn the_send_only_program_drops_everything() {
        assert_eq!(run(&DROP_ALL, &from(PEER), BROADCAST), 0);
        assert_eq!(run(&DROP_ALL, &[], HOST), 0);
    }
}
