//! The daemon's raw channels: one AF_PACKET channel per interface it beats
//! on or announces from, the fixed frame headers of each link's peers and
//! witness, and the send path from a core [`Transmit`] to the wire. All
//! buffers are allocated once, at start: sending and receiving a heartbeat
//! allocates nothing.
//!
//! A channel is bound to an interface *index*. When the interface is
//! deleted, its channel is closed ([`Ports::close`]): the kernel reports
//! ENETDOWN on it once and then it would stay silent forever (an unbound
//! packet socket is never readable again, so it cannot make the loop spin,
//! but it is no use either). When an interface of that name is back, the
//! channel is opened again on it ([`Ports::reopen`]), and the frame headers
//! take its MAC address. Channels keep their position meanwhile: the loop
//! knows them by it.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, BorrowedFd};

use failover_core::wire::MAX_FRAME_LEN;
use failover_core::{Dest, LinkId, Transmit};

use crate::net::channel::MAX_TX_FRAMES;
use crate::net::frame::{frame_len, parse_udp_frame};
use crate::net::garp::{build_garp, GarpForm, ARP_FRAME_LEN};
use crate::net::na::{build_unsolicited_na, NA_FRAME_LEN};
use crate::net::{
    build_udp_frame, Channel, ChannelConfig, ChannelError, MacAddr, RxFilter, Senders, UdpFlow,
    BROADCAST_MAC,
};

/// Largest frame the daemon builds: a heartbeat in Ethernet + IPv4 + UDP.
const FRAME_BUF_LEN: usize = frame_len(MAX_FRAME_LEN);

/// Frames taken from one channel per wake-up at most, so that a flood on
/// one interface cannot starve timers and the other links.
pub const RX_BURST: usize = 64;

/// What [`Ports::drain`] hands over for one datagram to the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rx<'a> {
    /// A UDP payload for the machine's `handle_frame`.
    Frame(&'a [u8]),
    /// With [`Ports::set_apple_sources`]: a datagram from one of the
    /// primary's addresses on this link, which is Apple's heartbeat
    /// (`docs/protocol.md`, "Apple's heartbeat"). `ours` says whether its
    /// payload starts as a frame of this protocol does (a heartbeatd without
    /// `--apple-compat`): it counts the same, and is worth a word in the
    /// log.
    AppleBeat {
        /// The payload has this protocol's magic and version.
        ours: bool,
    },
}

/// Whether `payload` starts like a frame of this protocol: magic and
/// version (an Apple heartbeat is free text).
pub fn looks_like_our_frame(payload: &[u8]) -> bool {
    payload.len() >= failover_core::wire::HEADER_LEN
        && payload.get(..2) == Some(&failover_core::wire::MAGIC[..])
        && payload.get(2) == Some(&failover_core::wire::PROTOCOL_VERSION)
}

/// With `--apple-compat`: what a datagram to the port from `src`, on a link
/// whose Apple heartbeats may come from `sources`, is: an Apple heartbeat,
/// or nothing (`None`: dropped). Its payload is only looked at to say
/// whether it is one of this protocol's frames.
pub fn apple_rx<'a>(sources: &[Ipv4Addr], src: Ipv4Addr, payload: &'a [u8]) -> Option<Rx<'a>> {
    sources.contains(&src).then(|| Rx::AppleBeat {
        ours: looks_like_our_frame(payload),
    })
}

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

/// The frames the machine put out in one turn, built whole and sent
/// together ([`Ports::flush`]).
#[derive(Debug)]
struct Outbox {
    frames: [[u8; FRAME_BUF_LEN]; MAX_TX_FRAMES],
    lens: [usize; MAX_TX_FRAMES],
    /// The link each frame is for (an index into `Ports::links`).
    links: [usize; MAX_TX_FRAMES],
    count: usize,
}

/// One interface's channel, closed while the interface is gone.
#[derive(Debug)]
struct Slot {
    /// The configured interface name.
    name: String,
    /// How it is opened: a link's heartbeat filter, or nothing in for an
    /// interface that only announces service addresses.
    config: ChannelConfig,
    channel: Option<Channel>,
}

/// The daemon's channels and the link → channel mapping.
#[derive(Debug)]
pub struct Ports {
    channels: Vec<Slot>,
    links: Vec<LinkPort>,
    port: u16,
    /// The frames of one round, built and waiting for [`Ports::flush`].
    outbox: Box<Outbox>,
    /// `failoverd --apple-compat`: per link, the addresses an Apple
    /// heartbeat may come from; empty without the option.
    apple_sources: Vec<Vec<Ipv4Addr>>,
    /// `heartbeatd --apple-compat`: what every heartbeat to the peers
    /// carries instead of the machine's frame (Apple's: the `-m` message).
    apple_message: Option<Vec<u8>>,
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
    /// (interfaces that only announce addresses). A link's channel passes
    /// heartbeats to `port` from `senders`; an `extra` one receives
    /// nothing.
    pub fn open(
        links: &[LinkSpec],
        extra: &[&str],
        port: u16,
        senders: Senders,
    ) -> Result<Ports, ChannelError> {
        let heartbeats = ChannelConfig {
            filter: RxFilter::Udp {
                port,
                arp: false,
                senders,
            },
            ..ChannelConfig::heartbeat(port)
        };
        let send_only = ChannelConfig {
            filter: RxFilter::Nothing,
            queue_bytes: None,
            ..heartbeats
        };
        let mut channels: Vec<Slot> = Vec::new();
        let index_of = |name: &str, config: ChannelConfig, channels: &mut Vec<Slot>| {
            if let Some(i) = channels.iter().position(|c| c.name == name) {
                return Ok(i);
            }
            channels.push(Slot {
                name: name.to_owned(),
                config,
                channel: Some(Channel::open(name, &config)?),
            });
            Ok::<usize, ChannelError>(channels.len() - 1)
        };
        let mut ports = Vec::with_capacity(links.len());
        for l in links {
            let channel = index_of(&l.interface, heartbeats, &mut channels)?;
            let mac = channels
                .get(channel)
                .and_then(|c| c.channel.as_ref())
                .map_or(BROADCAST_MAC, Channel::mac);
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
            index_of(name, send_only, &mut channels)?;
        }
        Ok(Ports {
            channels,
            links: ports,
            port,
            outbox: Box::new(Outbox {
                frames: [[0; FRAME_BUF_LEN]; MAX_TX_FRAMES],
                lens: [0; MAX_TX_FRAMES],
                links: [0; MAX_TX_FRAMES],
                count: 0,
            }),
            apple_sources: Vec::new(),
            apple_message: None,
        })
    }

    /// `failoverd --apple-compat`: from now on a datagram to the port on
    /// link *i* is Apple's heartbeat ([`Rx::AppleBeat`]) when it comes from
    /// one of `sources[i]`, and dropped otherwise (a link without an entry
    /// takes none). The channels' kernel filter must pass those sources
    /// ([`crate::net::Senders::addresses`]).
    pub fn set_apple_sources(&mut self, sources: Vec<Vec<Ipv4Addr>>) {
        self.apple_sources = sources;
    }

    /// `heartbeatd --apple-compat`: every frame to the peers is sent as
    /// `message` instead (Apple's heartbeat: only the `-m` message); frames
    /// to the witness are unchanged (there is none in that mode).
    pub fn set_apple_message(&mut self, message: Vec<u8>) {
        self.apple_message = Some(message);
    }

    /// Whether [`set_apple_message`](Self::set_apple_message) was called:
    /// a reload replaces the message through it.
    pub fn sends_apple(&self) -> bool {
        self.apple_message.is_some()
    }

    /// How many channels are open (each is one pollable descriptor).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Channel `i`'s descriptor, for poll(); `None` while its interface is
    /// gone.
    pub fn fd(&self, i: usize) -> Option<BorrowedFd<'_>> {
        self.channels
            .get(i)
            .and_then(|c| c.channel.as_ref())
            .map(AsFd::as_fd)
    }

    /// The configured interface of channel `i`.
    pub fn interface(&self, i: usize) -> Option<&str> {
        self.channels.get(i).map(|c| c.name.as_str())
    }

    /// The configured interface of link `link` (for the status and the
    /// metrics).
    pub fn link_interface(&self, link: LinkId) -> Option<&str> {
        self.links
            .get(usize::from(link.0))
            .and_then(|l| self.interface(l.channel))
    }

    /// Whether there is a channel on the interface configured as `name`
    /// (open or closed).
    pub fn has(&self, name: &str) -> bool {
        self.channels.iter().any(|c| c.name == name)
    }

    /// Closes the channel on the interface configured as `name` (it is
    /// gone). Whether one was open.
    pub fn close(&mut self, name: &str) -> bool {
        self.channels
            .iter_mut()
            .filter(|c| c.name == name)
            .any(|c| c.channel.take().is_some())
    }

    /// Opens the channel on the interface called `name` again (it is back,
    /// perhaps under a new index, with a new MAC address), replacing
    /// whatever was open on that name; the frame headers of its links take
    /// the new MAC. The interface may still be down: frames flow once it
    /// is up. `Ok(false)`: no channel was ever on that name.
    pub fn reopen(&mut self, name: &str) -> Result<bool, ChannelError> {
        let Some(i) = self.channels.iter().position(|c| c.name == name) else {
            return Ok(false);
        };
        let Some(slot) = self.channels.get_mut(i) else {
            return Ok(false);
        };
        let config = ChannelConfig {
            // Re-created interfaces are often still down when they appear;
            // the channel is bound now and works once they are up.
            require_up: false,
            ..slot.config
        };
        // Closed first: the old socket must not hold the name's index.
        slot.channel = None;
        let channel = Channel::open(name, &config)?;
        let mac = channel.mac();
        slot.channel = Some(channel);
        for l in self.links.iter_mut().filter(|l| l.channel == i) {
            l.peers.src_mac = mac;
            if let Some(w) = l.witness.as_mut() {
                w.src_mac = mac;
            }
        }
        Ok(true)
    }

    /// Whether channel `i` is open and carries a link's heartbeats (not an
    /// interface that only announces service addresses).
    pub fn hears_peers(&self, i: usize) -> bool {
        self.link_of_channel(i).is_some()
            && self.channels.get(i).is_some_and(|c| c.channel.is_some())
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
    pub fn drain(
        &mut self,
        i: usize,
        mut deliver: impl FnMut(LinkId, Rx<'_>),
    ) -> io::Result<usize> {
        let link = self.link_of_channel(i);
        let port = self.port;
        let apple = !self.apple_sources.is_empty();
        let sources: &[Ipv4Addr] = link
            .and_then(|l| self.apple_sources.get(usize::from(l.0)))
            .map_or(&[], Vec::as_slice);
        let Some(ch) = self.channels.get_mut(i).and_then(|c| c.channel.as_mut()) else {
            return Ok(0);
        };
        let mut n = 0;
        while n < RX_BURST {
            let batch = ch.recv_batch()?;
            let drained = batch.drained;
            for frame in batch {
                n += 1;
                let (Some(link), Some(udp)) = (link, parse_udp_frame(frame, port)) else {
                    continue;
                };
                if !apple {
                    deliver(link, Rx::Frame(udp.payload));
                } else if let Some(rx) = apple_rx(sources, udp.src_ip, udp.payload) {
                    deliver(link, rx);
                }
            }
            if drained {
                break;
            }
        }
        Ok(n)
    }

    /// Builds the frame `payload` that the machine described in `t` and
    /// holds it for [`Ports::flush`] (which runs first if a whole round is
    /// already waiting). A frame that cannot be built or whose interface is
    /// gone is reported at once; a link or destination the daemon does not
    /// have is an error (a configuration mismatch, not a panic). What is
    /// worth logging goes to `reports`.
    pub fn queue(&mut self, t: &Transmit, payload: &[u8], reports: &mut Vec<(LinkId, SendReport)>) {
        if self.outbox.count == MAX_TX_FRAMES {
            self.flush(reports);
        }
        let link = usize::from(t.link.0);
        if let Err(e) = self.build(t, payload) {
            self.record(link, Err(e), reports);
        }
    }

    /// Sends every frame [`Ports::queue`] holds, in one `sendmmsg` for all
    /// the links ([`Channel::send_each`]): one system call a round, and the
    /// peer wakes once for the whole round. A frame the batch did not send
    /// (the call stops at the first that fails) is sent alone on its own
    /// channel, which reports its error.
    pub fn flush(&mut self, reports: &mut Vec<(LinkId, SendReport)>) {
        let count = std::mem::take(&mut self.outbox.count);
        // The batch: every frame whose link is not failing (a link that
        // fails goes alone, so its error stays its own and the others go
        // out in one call) and whose interface the kernel named.
        let mut batch = [0usize; MAX_TX_FRAMES];
        let mut frames: [&[u8]; MAX_TX_FRAMES] = [&[]; MAX_TX_FRAMES];
        let mut to = [None; MAX_TX_FRAMES];
        let mut n = 0;
        let mut sender = None;
        for i in 0..count {
            let link = self.outbox.links[i];
            let failing = self.links.get(link).is_none_or(|p| p.failing.is_some());
            let ch = self.link_channel(link);
            let Some(addr) = ch.and_then(Channel::link_addr).filter(|_| !failing) else {
                continue;
            };
            sender = sender.or(ch);
            batch[n] = i;
            frames[n] = self.outbox.frames[i]
                .get(..self.outbox.lens[i])
                .unwrap_or_default();
            to[n] = Some(addr);
            n += 1;
        }
        let sent = sender
            .map_or(Ok(0), |ch| ch.send_each(&frames[..n], &to[..n]))
            .unwrap_or(0);
        let mut went = [false; MAX_TX_FRAMES];
        for &i in batch.iter().take(sent) {
            went[i] = true;
        }
        for (i, &went) in went.iter().enumerate().take(count) {
            let link = self.outbox.links[i];
            let result = if went {
                Ok(())
            } else {
                self.send_alone(link, i)
            };
            self.record(link, result, reports);
        }
    }

    /// The open channel of link `link`.
    fn link_channel(&self, link: usize) -> Option<&Channel> {
        let port = self.links.get(link)?;
        self.channels.get(port.channel)?.channel.as_ref()
    }

    /// Sends the outbox's frame `i`, for `link`, on that link's own channel.
    fn send_alone(&mut self, link: usize, i: usize) -> io::Result<()> {
        let frame = self
            .outbox
            .frames
            .get(i)
            .and_then(|f| f.get(..*self.outbox.lens.get(i)?))
            .unwrap_or_default();
        let port = self
            .links
            .get(link)
            .ok_or_else(|| io::Error::other(format!("no link {link}")))?;
        let slot = self
            .channels
            .get_mut(port.channel)
            .ok_or_else(|| io::Error::other("no channel"))?;
        let ch = slot.channel.as_mut().ok_or_else(|| gone(&slot.name))?;
        ch.send(frame)
    }

    /// Notes how a send on `link` went, and what of it to log: the first
    /// failure (or a different one) and the recovery, once each.
    fn record(
        &mut self,
        link: usize,
        result: io::Result<()>,
        reports: &mut Vec<(LinkId, SendReport)>,
    ) {
        let id = LinkId(u8::try_from(link).unwrap_or(u8::MAX));
        let report = match (self.links.get_mut(link), result) {
            (None, Err(e)) => SendReport::Failing(e),
            (None, Ok(())) => SendReport::Quiet,
            (Some(port), Ok(())) => match port.failing.take() {
                Some(_) => SendReport::Recovered,
                None => SendReport::Quiet,
            },
            (Some(port), Err(e)) if port.failing == Some(e.kind()) => SendReport::Quiet,
            (Some(port), Err(e)) => {
                port.failing = Some(e.kind());
                SendReport::Failing(e)
            }
        };
        if !matches!(report, SendReport::Quiet) {
            reports.push((id, report));
        }
    }

    /// Builds the frame for `t` into the outbox's next slot.
    fn build(&mut self, t: &Transmit, payload: &[u8]) -> io::Result<()> {
        let link = usize::from(t.link.0);
        let port = self
            .links
            .get(link)
            .ok_or_else(|| io::Error::other(format!("no link {}", t.link.0)))?;
        let payload = match (&self.apple_message, t.dest) {
            (Some(message), Dest::Peers) => message.as_slice(),
            _ => payload,
        };
        let flow = match t.dest {
            Dest::Peers => &port.peers,
            Dest::Witness => port
                .witness
                .as_ref()
                .ok_or_else(|| io::Error::other("no witness on this link"))?,
        };
        let slot = self
            .channels
            .get(port.channel)
            .ok_or_else(|| io::Error::other("no channel"))?;
        if slot.channel.is_none() {
            return Err(gone(&slot.name));
        }
        let n = self.outbox.count;
        let buf = self
            .outbox
            .frames
            .get_mut(n)
            .ok_or_else(|| io::Error::other("outbox full"))?;
        let len = build_udp_frame(&mut buf[..], flow, payload)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        self.outbox.lens[n] = len;
        self.outbox.links[n] = link;
        self.outbox.count = n + 1;
        Ok(())
    }

    /// Sends one gratuitous ARP for `addr` in `form` from `interface`.
    pub fn send_garp(&mut self, interface: &str, form: GarpForm, addr: Ipv4Addr) -> io::Result<()> {
        let mut buf = [0u8; ARP_FRAME_LEN];
        self.send_announcement(interface, &mut buf, |buf, mac| {
            build_garp(buf, form, mac, addr).map_err(|e| e.to_string())
        })
    }

    /// Sends one unsolicited neighbour advertisement for the IPv6 `addr`
    /// from `interface`: gratuitous ARP's IPv6 counterpart.
    pub fn send_na(&mut self, interface: &str, addr: Ipv6Addr) -> io::Result<()> {
        let mut buf = [0u8; NA_FRAME_LEN];
        self.send_announcement(interface, &mut buf, |buf, mac| {
            build_unsolicited_na(buf, mac, addr).map_err(|e| e.to_string())
        })
    }

    /// Builds an announcement with `build` (given the interface's MAC) in
    /// `buf` and sends it from `interface`.
    fn send_announcement(
        &mut self,
        interface: &str,
        buf: &mut [u8],
        build: impl FnOnce(&mut [u8], MacAddr) -> Result<usize, String>,
    ) -> io::Result<()> {
        let slot = self
            .channels
            .iter_mut()
            .find(|c| c.name == interface)
            .ok_or_else(|| io::Error::other(format!("no channel on {interface}")))?;
        let ch = slot.channel.as_mut().ok_or_else(|| gone(interface))?;
        let len =
            build(buf, ch.mac()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        ch.send(buf.get(..len).unwrap_or(buf))
    }
}

/// The error of a send on an interface that is gone.
fn gone(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        format!("{name} is gone (waiting for an interface of that name)"),
    )
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::{apple_rx, looks_like_our_frame, Rx};

    #[test]
    fn an_apple_heartbeat_counts_only_from_its_links_sources() {
        let private = Ipv4Addr::new(198, 51, 100, 1);
        let public = Ipv4Addr::new(192, 0, 2, 10);
        let link0 = [private];
        let link1 = [private, public];
        let beat = Some(Rx::AppleBeat { ours: false });
        assert_eq!(apple_rx(&link0, private, b"heartbeat"), beat);
        assert_eq!(apple_rx(&link1, public, b"heartbeat"), beat);
        assert_eq!(apple_rx(&link1, private, b""), beat, "any payload");
        assert_eq!(
            apple_rx(&link0, public, b"heartbeat"),
            None,
            "the public address does not count on the private link"
        );
        assert_eq!(
            apple_rx(&link1, Ipv4Addr::new(192, 0, 2, 99), b"heartbeat"),
            None
        );
        assert_eq!(
            apple_rx(&[], private, b"heartbeat"),
            None,
            "a link without sources"
        );
        let mut ours = [0u8; 24];
        ours[..3].copy_from_slice(b"HB\x01");
        assert_eq!(
            apple_rx(&link0, private, &ours),
            Some(Rx::AppleBeat { ours: true })
        );
    }

    #[test]
    fn our_frames_are_told_from_apples_heartbeats_by_magic_and_version() {
        let mut ours = [0u8; 24];
        ours[..3].copy_from_slice(b"HB\x01");
        assert!(looks_like_our_frame(&ours));
        assert!(!looks_like_our_frame(&ours[..23]), "too short for a header");
        for apple in [&b"heartbeat"[..], b"", b"HB", &[0xff; 300]] {
            assert!(!looks_like_our_frame(apple), "{apple:?}");
        }
        let mut v2 = ours;
        v2[2] = 2;
        assert!(!looks_like_our_frame(&v2));
    }
}
