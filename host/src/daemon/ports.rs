//! The daemon's raw channels: one AF_PACKET channel per interface it beats
//! on or announces from, the fixed frame headers of each link's peers and
//! witness, and the send path from a core [`Transmit`] to the wire. All
//! buffers are allocated once, at start: sending and receiving a heartbeat
//! allocates nothing.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd};

use failover_core::wire::MAX_FRAME_LEN;
use failover_core::{Dest, LinkId, Transmit};

use crate::net::frame::{frame_len, parse_udp_frame};
use crate::net::garp::{build_garp, GarpForm, ARP_FRAME_LEN};
use crate::net::{build_udp_frame, Channel, ChannelConfig, ChannelError, UdpFlow, BROADCAST_MAC};

/// Largest frame the daemon builds: a heartbeat in Ethernet + IPv4 + UDP.
const FRAME_BUF_LEN: usize = frame_len(MAX_FRAME_LEN);

/// Frames taken from one channel per wake-up at most, so that a flood on
/// one interface cannot starve timers and the other links.
pub const RX_BURST: usize = 64;

/// One link as the daemon sends on it.
#[derive(Debug)]
struct LinkPort {
    /// Index into `Ports::channels`.
    channel: usize,
    /// Headers for frames to the link's heartbeat targets.
    peers: UdpFlow,
    /// Headers for frames to the witness (link 0 only, when configured).
    witness: Option<UdpFlow>,
    /// The last send error, logged once until the link sends again.
    failing: Option<io::ErrorKind>,
}

/// What the caller should log after a send.
#[derive(Debug)]
pub enum SendReport {
    /// Sent; nothing new to say.
    Quiet,
    /// The first failure after successes (or a different one).
    Failing(io::Error),
    /// Sending works again after failures.
    Recovered,
}

/// The daemon's channels and the link → channel mapping.
#[derive(Debug)]
pub struct Ports {
    channels: Vec<Channel>,
    links: Vec<LinkPort>,
    port: u16,
    frame: Box<[u8; FRAME_BUF_LEN]>,
}

/// One link to open: its interface, our address on it, where its
/// heartbeats go.
#[derive(Debug, Clone)]
pub struct LinkSpec {
    /// The kernel interface name.
    pub interface: String,
    /// Our source address on it (may be unspecified).
    pub source: Ipv4Addr,
    /// Where `Dest::Peers` frames go.
    pub peers: Ipv4Addr,
    /// The witness's address, on link 0 when configured.
    pub witness: Option<Ipv4Addr>,
}

impl Ports {
    /// Opens a channel per distinct interface among `links` and `extra`
    /// (interfaces that only announce addresses), filtered to `port`.
    pub fn open(links: &[LinkSpec], extra: &[&str], port: u16) -> Result<Ports, ChannelError> {
        let config = ChannelConfig::heartbeat(port);
        let mut channels: Vec<Channel> = Vec::new();
        let index_of = |name: &str, channels: &mut Vec<Channel>| {
            if let Some(i) = channels.iter().position(|c| c.name() == name) {
                return Ok(i);
            }
            channels.push(Channel::open(name, &config)?);
            Ok::<usize, ChannelError>(channels.len() - 1)
        };
        let mut ports = Vec::with_capacity(links.len());
        for l in links {
            let channel = index_of(&l.interface, &mut channels)?;
            let mac = channels[channel].mac();
            let flow = |dst_ip| UdpFlow {
                src_mac: mac,
                dst_mac: BROADCAST_MAC,
                src_ip: l.source,
                dst_ip,
                src_port: port,
                dst_port: port,
            };
            ports.push(LinkPort {
                channel,
                peers: flow(l.peers),
                witness: l.witness.map(flow),
                failing: None,
            });
        }
        for name in extra {
            index_of(name, &mut channels)?;
        }
        Ok(Ports {
            channels,
            links: ports,
            port,
            frame: Box::new([0; FRAME_BUF_LEN]),
        })
    }

    /// How many channels are open (each is one pollable descriptor).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Channel `i`'s descriptor, for poll().
    pub fn fd(&self, i: usize) -> Option<BorrowedFd<'_>> {
        self.channels.get(i).map(AsFd::as_fd)
    }

    /// The link that receives on channel `i`, if any (a channel opened only
    /// to announce addresses carries no link).
    fn link_of_channel(&self, i: usize) -> Option<LinkId> {
        let l = self.links.iter().position(|l| l.channel == i)?;
        u8::try_from(l).ok().map(LinkId)
    }

    /// Takes up to [`RX_BURST`] queued frames off channel `i` and hands
    /// each heartbeat payload, with its link, to `deliver`. Returns how many
    /// frames were taken, or the channel's error (e.g. the interface went
    /// down).
    pub fn drain(&mut self, i: usize, mut deliver: impl FnMut(LinkId, &[u8])) -> io::Result<usize> {
        let link = self.link_of_channel(i);
        let port = self.port;
        let Some(ch) = self.channels.get_mut(i) else {
            return Ok(0);
        };
        let mut n = 0;
        while n < RX_BURST {
            let Some(frame) = ch.try_recv()? else { break };
            n += 1;
            if let (Some(link), Some(udp)) = (link, parse_udp_frame(frame, port)) {
                deliver(link, udp.payload);
            }
        }
        Ok(n)
    }

    /// Puts the frame `payload` that the machine described in `t` on the
    /// wire. A link or destination the daemon does not have is reported as
    /// an error (a configuration mismatch, not a panic).
    pub fn send(&mut self, t: &Transmit, payload: &[u8]) -> SendReport {
        let result = self.try_send(t, payload);
        let Some(port) = self.links.get_mut(usize::from(t.link.0)) else {
            return match result {
                Err(e) => SendReport::Failing(e),
                Ok(()) => SendReport::Quiet,
            };
        };
        match result {
            Ok(()) if port.failing.take().is_some() => SendReport::Recovered,
            Ok(()) => SendReport::Quiet,
            Err(e) if port.failing == Some(e.kind()) => SendReport::Quiet,
            Err(e) => {
                port.failing = Some(e.kind());
                SendReport::Failing(e)
            }
        }
    }

    fn try_send(&mut self, t: &Transmit, payload: &[u8]) -> io::Result<()> {
        let port = self
            .links
            .get(usize::from(t.link.0))
            .ok_or_else(|| io::Error::other(format!("no link {}", t.link.0)))?;
        let flow = match t.dest {
            Dest::Peers => &port.peers,
            Dest::Witness => port
                .witness
                .as_ref()
                .ok_or_else(|| io::Error::other("no witness on this link"))?,
        };
        let len = build_udp_frame(&mut self.frame[..], flow, payload)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let ch = self
            .channels
            .get_mut(port.channel)
            .ok_or_else(|| io::Error::other("no channel"))?;
        ch.send(&self.frame[..len])
    }

    /// Sends one gratuitous ARP for `addr` in `form` from `interface`.
    pub fn send_garp(&mut self, interface: &str, form: GarpForm, addr: Ipv4Addr) -> io::Result<()> {
        let ch = self
            .channels
            .iter_mut()
            .find(|c| c.name() == interface)
            .ok_or_else(|| io::Error::other(format!("no channel on {interface}")))?;
        let mut buf = [0u8; ARP_FRAME_LEN];
        let len = build_garp(&mut buf, form, ch.mac(), addr)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        ch.send(&buf[..len])
    }
}
