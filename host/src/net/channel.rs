//! One raw AF_PACKET channel per interface, through pnet's datalink layer.
//!
//! Heartbeats and gratuitous ARPs go out and come in as whole Ethernet
//! frames on these channels, so reception does not depend on the addresses
//! an interface holds (see [`super::frame`]).
//!
//! # What pnet gives, and what we add
//!
//! `pnet_datalink` 0.35's Linux backend opens an AF_PACKET socket, binds it
//! to the interface, makes it non-blocking, and on each `next()` calls
//! `poll()` on it with the configured `read_timeout` (`None` = wait forever)
//! and then `recvfrom()` into a buffer it owns; `send_to()` likewise polls
//! for POLLOUT with `write_timeout`. It does **not** expose the socket's file
//! descriptor, so a daemon could not wait on several interfaces, a signal
//! pipe and its script children at once; the only pnet-only loop design is
//! a short `read_timeout` per channel, i.e. waking up every few milliseconds
//! for nothing — CPU that is measurable at idle and wrong for a daemon.
//!
//! But its `linux::Config` has a `socket_fd` field: pnet uses a socket we
//! made instead of making its own. So [`Channel::open`]:
//!
//! 1. creates the AF_PACKET socket itself (socket2, no unsafe), with protocol
//!    0 so that it receives nothing before it is bound to the interface (an
//!    ETH_P_ALL socket would briefly see every interface's frames);
//! 2. attaches a classic BPF filter ([`RxFilter`], [`super::bpf`]): the
//!    kernel drops, before waking us, every frame that is not a UDP
//!    datagram to the heartbeat port from a sender the daemon listens to
//!    (optionally: or ARP), every IPv4 fragment, and this host's own
//!    outgoing frames (which an ETH_P_ALL socket otherwise sees). A daemon on
//!    a busy or hostile network thus wakes only for its peers' heartbeats;
//!    sizes the receive queue ([`DAEMON_QUEUE_BYTES`]); and, where the
//!    filter drops outgoing frames anyway, tells the kernel not to clone
//!    them for the socket at all ([`IgnoreOutgoing`]: on a service
//!    interface that is every packet the service sends);
//! 3. keeps a duplicate of the descriptor for `poll(2)` ([`Channel`]
//!    implements [`AsFd`]) and hands the original to pnet, which binds it and
//!    owns it from then on;
//! 4. reads and writes through the duplicate itself, without blocking:
//!    `recvmmsg` takes up to 16 frames per call ([`Channel::recv_batch`]),
//!    one `send` puts out a frame ([`Channel::send`]; pnet's `send_to`
//!    would poll for POLLOUT first, a second system call per frame), and
//!    one `sendmmsg` a round of frames on several interfaces
//!    ([`Channel::send_each`]).
//!
//! # The event loop this enables (recommended for the daemons)
//!
//! ```text
//! loop {
//!     timeout = min(machine.poll_at(), announcer.next_due(), script deadlines) - now
//!     poll([channel fds (POLLIN)..., signal self-pipe/signalfd, script pipes], timeout)
//!     now = monotonic clock
//!     for each readable channel: for frame in ch.recv_batch()? (again while a batch fills, at most N):
//!         if let Some(v) = parse_udp_frame(frame, port) { machine.handle_frame(now, link, v.payload) }
//!     machine.handle_timeout(now); drain poll_transmit -> build_udp_frame -> ch.send
//!     announcer.poll(now) -> build_garp -> ch.send
//! }
//! ```
//!
//! When `poll()` reports POLLIN *or POLLERR* on a channel, call
//! [`Channel::recv_batch`]: it returns a pending socket error (ENETDOWN when
//! the interface went down) once and clears it, so the loop never spins on
//! a sticky POLLERR; the channel keeps working when the interface comes
//! back. An interface that is deleted and re-created gets a new index: reopen
//! the channel by name. (A deleted interface's socket is unbound by the
//! kernel: POLLERR with ENETDOWN once, then never readable again, and every
//! send fails with ENXIO. The daemons close it: `daemon/ports.rs`.)
//!
//! Idle, the daemon sleeps in one `poll()` until its next beat or deadline:
//! at 1 s beats that is a handful of wake-ups a second, no measurable CPU.
//! `poll()` takes milliseconds; for sub-millisecond deadlines at 5 ms beats
//! use `ppoll()` (nanoseconds) or round the timeout up, never down (rounding
//! down spins until the deadline).
//!
//! Steady state allocates nothing: [`Channel::send`] passes the caller's
//! slice to `send`, [`Channel::recv_batch`] returns slices of the
//! channel's receive buffers, and the frame builders and parsers write into
//! and borrow from caller buffers.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, IoSliceMut};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd};
// CLOCK_MONOTONIC on purpose: these deadlines only bound a wait for
// frames (a `-n` check's ARP reply), never the machine's time
// (daemon::clock).
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{getsockname, recvmmsg, sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
use pnet_datalink::{ChannelType, DataLinkReceiver, DataLinkSender, MacAddr, NetworkInterface};
use socket2::{Domain, SockFilter, Socket, Type};

use super::bpf::{apple_filter, udp_filter, BpfInsn, Senders, ARP_ONLY, DROP_ALL};
use super::garp::{build_arp_request, parse_arp, ARP_FRAME_LEN};
use crate::netlink::addr::{AddrError, Netlink};

/// Which frames the kernel lets through to the channel (see [`super::bpf`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxFilter {
    /// Everything, both directions (the lab's capture).
    Everything,
    /// ARP frames only, both directions (the lab's observer of gratuitous
    /// ARPs, which must not wake for every heartbeat on its bridge).
    Arp,
    /// Nothing: the channel only sends (an interface that only announces
    /// service addresses).
    Nothing,
    /// Unfragmented IPv4 UDP datagrams to `port` from `senders` (and, with
    /// `arp`, ARP frames), received from the wire only: not this host's own
    /// frames.
    Udp {
        /// The heartbeat port.
        port: u16,
        /// Also pass ARP (for [`Channel::resolve_mac`] or ARP observation).
        arp: bool,
        /// Whose heartbeats pass.
        senders: Senders,
    },
}

impl RxFilter {
    /// Whether the filter drops this host's own outgoing frames (all but
    /// the lab's captures do): the socket need not be handed them at all.
    pub fn drops_outgoing(self) -> bool {
        matches!(self, RxFilter::Nothing | RxFilter::Udp { .. })
    }
}

/// How to open a [`Channel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelConfig {
    /// The kernel-side filter.
    pub filter: RxFilter,
    /// Put the interface in promiscuous mode while the channel is open (the
    /// daemons do not need it: heartbeats are broadcast or to our MAC).
    pub promiscuous: bool,
    /// Refuse an interface that is administratively down.
    pub require_up: bool,
    /// Largest frame received whole; longer ones are truncated (and then
    /// fail to parse).
    pub read_buffer_size: usize,
    /// The socket's receive queue, in bytes of kernel memory (`None`: the
    /// system default, `net.core.rmem_default`).
    pub queue_bytes: Option<usize>,
}

/// The receive queue of a daemon's channel: 1 MiB, about a thousand
/// queued frames (each takes its buffer's true size, a few hundred bytes
/// to 2 KiB, not its length). The default (208 KiB on Linux) holds a few
/// hundred: a daemon stalled for a moment at 1 ms beats on several links,
/// or draining a burst of forgeries in its peer's name, would lose real
/// heartbeats at the queue's tail. Set with SO_RCVBUFFORCE (root), which
/// `net.core.rmem_max` does not cap; without the privilege, SO_RCVBUF
/// (capped).
pub const DAEMON_QUEUE_BYTES: usize = 1 << 20;

impl ChannelConfig {
    /// What a daemon uses: heartbeats to `port` only, not promiscuous, the
    /// interface must be up, 2 KiB frames (1500 MTU plus headers).
    pub const fn heartbeat(port: u16) -> Self {
        ChannelConfig {
            filter: RxFilter::Udp {
                port,
                arp: false,
                senders: Senders::Any,
            },
            promiscuous: false,
            require_up: true,
            read_buffer_size: 2048,
            queue_bytes: Some(DAEMON_QUEUE_BYTES),
        }
    }

    /// What the lab's captures use: the frames `filter` passes, in both
    /// directions, promiscuous, 64 KiB frames (veth delivers GRO-merged
    /// ones).
    pub const fn capture_of(filter: RxFilter) -> Self {
        ChannelConfig {
            filter,
            promiscuous: true,
            require_up: true,
            read_buffer_size: 65536,
            queue_bytes: Some(DAEMON_QUEUE_BYTES),
        }
    }
}

/// Why a channel could not be opened.
#[derive(Debug)]
pub enum ChannelError {
    /// No interface of that name in this network namespace.
    NoSuchInterface {
        /// The name asked for.
        name: String,
    },
    /// The interface exists but is administratively down.
    NotUp {
        /// The interface.
        name: String,
    },
    /// Not an Ethernet interface with a MAC address (loopback, tun, ...).
    NotEthernet {
        /// The interface.
        name: String,
    },
    /// Opening a raw socket needs root or CAP_NET_RAW.
    PermissionDenied {
        /// The interface.
        name: String,
    },
    /// Any other failure.
    Io {
        /// The interface.
        name: String,
        /// What was attempted.
        operation: &'static str,
        /// The cause.
        source: io::Error,
    },
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelError::NoSuchInterface { name } => write!(f, "{name}: no such interface"),
            ChannelError::NotUp { name } => write!(
                f,
                "{name}: interface is down (bring it up first: ip link set {name} up)"
            ),
            ChannelError::NotEthernet { name } => {
                write!(f, "{name}: not an Ethernet interface with a MAC address")
            }
            ChannelError::PermissionDenied { name } => write!(
                f,
                "{name}: permission denied opening a raw socket (run as root or grant CAP_NET_RAW)"
            ),
            ChannelError::Io {
                name,
                operation,
                source,
            } => write!(f, "{name}: {operation}: {source}"),
        }
    }
}

impl std::error::Error for ChannelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ChannelError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// An open raw channel on one interface: send frames, receive frames without
/// blocking, and a descriptor to `poll()` on.
pub struct Channel {
    name: String,
    index: u32,
    mac: MacAddr,
    filter: RxFilter,
    /// pnet's sender: it owns the socket (frames are sent through
    /// `poll_fd`, see [`Channel::send`]).
    _tx: Box<dyn DataLinkSender>,
    /// pnet's receiver: it shares the socket with `_tx`; frames are read
    /// through `poll_fd` instead (see [`Channel::recv_batch`]).
    _rx: Box<dyn DataLinkReceiver>,
    /// A dup of pnet's socket, for poll(), reading and sending: same open
    /// file, same queue.
    poll_fd: OwnedFd,
    /// The receive buffers, allocated once: one slot of `slot_len` bytes
    /// per frame of a batch (as many as fit in [`RX_BATCH_BYTES`], at most
    /// [`MAX_RX_SLOTS`]).
    rx_buf: Box<[u8]>,
    slot_len: usize,
    /// The length of each frame the last batch received.
    rx_lens: [usize; MAX_RX_SLOTS],
    /// The socket's own address (a `sockaddr_ll` naming the interface's
    /// index), as the kernel reports it once bound: where another channel's
    /// [`Channel::send_each`] sends a frame meant for this interface.
    /// `None` if the kernel would not say. (Kept as nix's
    /// `SockaddrStorage`: its `LinkAddr` refuses the 18 bytes the kernel
    /// reports for an Ethernet `sockaddr_ll`, which is shorter than the
    /// struct.)
    link_addr: Option<SockaddrStorage>,
}

std::thread_local! {
    /// recvmmsg's message headers, allocated once per reading thread. They
    /// hold raw pointers, so they cannot live in a [`Channel`], which must
    /// move between threads (the lab opens channels in a namespace's
    /// thread); every batch points them at its own buffers anew.
    static RX_HEADERS: RefCell<MultiHeaders<()>> =
        RefCell::new(MultiHeaders::preallocate(MAX_RX_SLOTS, None));
    /// sendmmsg's message headers, likewise.
    static TX_HEADERS: RefCell<MultiHeaders<SockaddrStorage>> =
        RefCell::new(MultiHeaders::preallocate(MAX_TX_FRAMES, None));
}

/// The most frames one [`Channel::send_each`] sends: a round of heartbeats
/// on every link, and the witness's.
pub const MAX_TX_FRAMES: usize = 8;

/// Receive memory per channel for one batched read: 16 frames of 2 KiB
/// for a daemon; a capture with 64 KiB frames reads one at a time.
const RX_BATCH_BYTES: usize = 32 << 10;

/// The most frames one batched read takes.
const MAX_RX_SLOTS: usize = 16;

/// The frames one [`Channel::recv_batch`] took off the socket, in order,
/// borrowing the channel's buffers.
#[derive(Debug)]
pub struct Batch<'a> {
    slots: std::slice::ChunksExact<'a, u8>,
    lens: std::slice::Iter<'a, usize>,
    /// The socket's queue is empty: the batch did not fill every slot.
    pub drained: bool,
}

impl<'a> Iterator for Batch<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (slot, &len) = (self.slots.next()?, self.lens.next()?);
        slot.get(..len).or(Some(slot))
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("index", &self.index)
            .field("mac", &self.mac)
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// Opens a channel on the interface called `name`, in the network
    /// namespace of the calling thread. Errors name the problem: no such
    /// interface, not up, not Ethernet, permission denied.
    pub fn open(name: &str, config: &ChannelConfig) -> Result<Channel, ChannelError> {
        let io_err = |operation: &'static str| {
            let name = name.to_owned();
            move |source: io::Error| ChannelError::Io {
                name,
                operation,
                source,
            }
        };
        let link = Netlink::open()
            .and_then(|mut nl| nl.link_by_name(name))
            .map_err(|e| match e {
                AddrError::NoSuchInterface { .. } => ChannelError::NoSuchInterface {
                    name: name.to_owned(),
                },
                AddrError::Io { operation, source } => ChannelError::Io {
                    name: name.to_owned(),
                    operation,
                    source,
                },
                other => ChannelError::Io {
                    name: name.to_owned(),
                    operation: "querying the interface",
                    source: io::Error::other(other.to_string()),
                },
            })?;
        let mac = match (link.ethernet, link.mac) {
            (true, Some(mac)) => mac,
            _ => {
                return Err(ChannelError::NotEthernet {
                    name: name.to_owned(),
                })
            }
        };
        if config.require_up && !link.up {
            return Err(ChannelError::NotUp {
                name: name.to_owned(),
            });
        }

        // Protocol 0: no frames until pnet binds it with ETH_P_ALL.
        let socket = Socket::new(Domain::PACKET, Type::RAW, None).map_err(|e| {
            if matches!(e.kind(), io::ErrorKind::PermissionDenied) {
                ChannelError::PermissionDenied {
                    name: name.to_owned(),
                }
            } else {
                io_err("creating an AF_PACKET socket")(e)
            }
        })?;
        let program: &[BpfInsn] = match config.filter {
            RxFilter::Everything => &[],
            RxFilter::Nothing => &DROP_ALL,
            RxFilter::Arp => &ARP_ONLY,
            RxFilter::Udp {
                port,
                senders: Senders::SourceAddresses(sources),
                ..
            } => &apple_filter(port, sources),
            RxFilter::Udp { port, arp, senders } => &udp_filter(port, arp, senders),
        };
        if !program.is_empty() {
            let program: Vec<SockFilter> = program
                .iter()
                .map(|&(code, jt, jf, k)| SockFilter::new(code, jt, jf, k))
                .collect();
            socket
                .attach_filter(&program)
                .map_err(io_err("attaching the BPF filter"))?;
        }
        if let Some(bytes) = config.queue_bytes {
            set_queue_bytes(&socket, bytes).map_err(io_err("sizing the receive queue"))?;
        }
        if config.filter.drops_outgoing() {
            // Not even cloned for the filter to drop. A kernel without the
            // option (before 4.20) refuses it; the filter still drops them.
            let _ = nix::sys::socket::setsockopt(&socket, IgnoreOutgoing, &true);
        }
        let poll_fd: OwnedFd = socket
            .try_clone()
            .map_err(io_err("duplicating the socket"))?
            .into();

        let slot_len = config.read_buffer_size.max(64);
        let slots = (RX_BATCH_BYTES / slot_len).clamp(1, MAX_RX_SLOTS);
        let iface = NetworkInterface {
            name: link.name.clone(),
            description: String::new(),
            index: link.index,
            mac: Some(mac),
            ips: Vec::new(),
            flags: 0,
        };
        let pnet_config = pnet_datalink::linux::Config {
            write_buffer_size: 64,
            read_buffer_size: config.read_buffer_size.max(64),
            read_timeout: Some(Duration::ZERO),
            write_timeout: Some(Duration::ZERO),
            channel_type: ChannelType::Layer2,
            fanout: None,
            promiscuous: config.promiscuous,
            // pnet owns (and closes) the socket from here on, also on error.
            socket_fd: Some(socket.into_raw_fd()),
        };
        let (tx, rx) = match pnet_datalink::linux::channel(&iface, pnet_config) {
            Ok(pnet_datalink::Channel::Ethernet(tx, rx)) => (tx, rx),
            Ok(_) => {
                return Err(io_err("opening the pnet channel")(io::Error::other(
                    "pnet returned a non-Ethernet channel",
                )))
            }
            Err(e) => return Err(io_err("binding the AF_PACKET socket")(e)),
        };
        // Bound by pnet now: the kernel names the interface it is bound to.
        let link_addr = {
            use std::os::fd::AsRawFd;
            getsockname::<SockaddrStorage>(poll_fd.as_raw_fd()).ok()
        };
        Ok(Channel {
            name: link.name,
            index: link.index,
            mac,
            filter: config.filter,
            _tx: tx,
            _rx: rx,
            link_addr,
            poll_fd,
            rx_buf: vec![0; slot_len * slots].into_boxed_slice(),
            slot_len,
            rx_lens: [0; MAX_RX_SLOTS],
        })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The interface's MAC address (the source of our frames), as read at
    /// open time.
    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// The filter the channel was opened with.
    pub fn filter(&self) -> RxFilter {
        self.filter
    }

    /// Sends one complete Ethernet frame, in one non-blocking `send` on the
    /// bound socket (pnet's `send_to` first polls for POLLOUT, a system
    /// call per frame for nothing). Never blocks: a full socket buffer is
    /// reported as [`io::ErrorKind::WouldBlock`] (the frame is dropped; the
    /// next beat follows), a downed interface as ENETDOWN, a deleted one as
    /// ENXIO.
    pub fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        match nix::sys::socket::send(self.poll_fd.as_raw_fd(), frame, MsgFlags::MSG_DONTWAIT) {
            Ok(n) if n == frame.len() => Ok(()),
            Ok(n) => Err(io::Error::other(format!(
                "sent {n} of the frame's {} bytes",
                frame.len()
            ))),
            Err(nix::errno::Errno::EAGAIN) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "socket send buffer full",
            )),
            Err(e) => Err(io::Error::from(e)),
        }
    }

    /// The address that sends a frame out of this channel's interface
    /// from any packet socket ([`Channel::send_each`]).
    pub fn link_addr(&self) -> Option<SockaddrStorage> {
        self.link_addr
    }

    /// Sends `frames[i]` out of the interface `to[i]` names (each some
    /// channel's [`Channel::link_addr`]), all in one non-blocking
    /// `sendmmsg` on this channel's socket: a round of heartbeats on every
    /// link is one system call, and its frames reach the peer together, so
    /// the peer wakes once for all of them. Returns how many frames, from
    /// the first, went out; the first that did not is better sent alone
    /// ([`Channel::send`] on its own channel), which reports its error.
    /// Allocates nothing.
    pub fn send_each(&self, frames: &[&[u8]], to: &[Option<SockaddrStorage>]) -> io::Result<usize> {
        use std::io::IoSlice;
        use std::os::fd::AsRawFd;
        let n = frames.len().min(to.len()).min(MAX_TX_FRAMES);
        if n == 0 {
            return Ok(0);
        }
        let iovs: [[IoSlice<'_>; 1]; MAX_TX_FRAMES] =
            std::array::from_fn(|i| [IoSlice::new(frames.get(i).copied().unwrap_or_default())]);
        let addrs = to.get(..n).unwrap_or_default();
        let result = TX_HEADERS.with(|headers| {
            let mut headers = headers
                .try_borrow_mut()
                .map_err(|_| nix::errno::Errno::EBUSY)?;
            sendmmsg(
                self.poll_fd.as_raw_fd(),
                &mut headers,
                iovs.iter().take(n),
                addrs,
                [],
                MsgFlags::MSG_DONTWAIT,
            )
            .map(|results| results.count())
        });
        match result {
            Ok(sent) => Ok(sent),
            Err(nix::errno::Errno::EAGAIN) => Ok(0),
            Err(e) => Err(io::Error::from(e)),
        }
    }

    /// Waits up to `timeout` for a frame. A pending socket error (ENETDOWN
    /// after the interface went down, ...) is taken off the socket and
    /// returned once: left there, it would keep poll() returning POLLERR and
    /// the daemon loop spinning (pnet's receiver does not read on POLLERR).
    fn ready(&self, timeout: Duration) -> io::Result<bool> {
        let events = poll_in(self.poll_fd.as_fd(), timeout)?;
        if events.contains(PollFlags::POLLERR) {
            if let Some(e) = socket2::SockRef::from(&self.poll_fd).take_error()? {
                return Err(e);
            }
        }
        Ok(events.contains(PollFlags::POLLIN))
    }

    /// Takes every queued frame that fits in the channel's buffers (16 for
    /// a daemon) off the socket in one non-blocking `recvmmsg`, without
    /// allocating. A daemon drains a readable channel with one system call
    /// per 16 frames: one per wake-up for its peers' heartbeats, and a flood
    /// costs a sixteenth of the calls that one `recv` per frame did (plus
    /// the one that found the queue empty, which a batch that did not fill
    /// makes needless: [`Batch::drained`]). Nothing queued is an empty,
    /// drained batch. A pending socket error (ENETDOWN after the interface
    /// went down, ...) is returned once, and so taken off the socket.
    pub fn recv_batch(&mut self) -> io::Result<Batch<'_>> {
        use std::os::fd::AsRawFd;
        let fd = self.poll_fd.as_raw_fd();
        let slots = self.rx_buf.len() / self.slot_len;
        let mut lens = [0usize; MAX_RX_SLOTS];
        let mut buffers = self.rx_buf.chunks_exact_mut(self.slot_len);
        let result = RX_HEADERS.with(|headers| {
            let mut iovs: [[IoSliceMut<'_>; 1]; MAX_RX_SLOTS] =
                std::array::from_fn(|_| [IoSliceMut::new(buffers.next().unwrap_or_default())]);
            let mut headers = headers
                .try_borrow_mut()
                .map_err(|_| nix::errno::Errno::EBUSY)?;
            recvmmsg(
                fd,
                &mut headers,
                iovs.iter_mut().take(slots),
                MsgFlags::MSG_DONTWAIT,
                None,
            )
            .map(|results| {
                lens.iter_mut()
                    .zip(results)
                    .map(|(l, m)| *l = m.bytes)
                    .count()
            })
        });
        let received = match result {
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => 0,
            Err(e) => return Err(io::Error::from(e)),
        };
        self.rx_lens = lens;
        Ok(Batch {
            slots: self.rx_buf.chunks_exact(self.slot_len),
            lens: self.rx_lens.get(..received).unwrap_or_default().iter(),
            drained: received < slots,
        })
    }

    /// Returns the next queued frame, or `None` at once if there is none.
    /// The slice borrows the channel's receive buffer (no allocation). One
    /// non-blocking `recv` per call, for tools that wait for one reply; the
    /// daemons read with [`Channel::recv_batch`]. A pending socket error
    /// (ENETDOWN after the interface went down, ...) is returned once, and
    /// so taken off the socket.
    pub fn try_recv(&mut self) -> io::Result<Option<&[u8]>> {
        use std::os::fd::AsRawFd;
        match nix::sys::socket::recv(
            self.poll_fd.as_raw_fd(),
            self.rx_buf.get_mut(..self.slot_len).unwrap_or_default(),
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(n) => Ok(self.rx_buf.get(..n.min(self.slot_len))),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => Ok(None),
            Err(e) => Err(io::Error::from(e)),
        }
    }

    /// Waits at most `timeout` for a frame (sleeping in `poll()`, not
    /// spinning) and returns it, or `None` when the time is up. For tests,
    /// tools and the resolver; the daemons poll all their descriptors at
    /// once instead.
    pub fn recv_timeout(&mut self, timeout: Duration) -> io::Result<Option<&[u8]>> {
        if !self.ready(timeout)? {
            return Ok(None);
        }
        self.try_recv()
    }

    /// Finds the MAC of `target_ip` by ARP: sends a request (from
    /// `sender_ip`, which may be 0.0.0.0 for an RFC 5227 probe) up to three
    /// times within `timeout` and waits for a reply from `target_ip`.
    /// `Ok(None)` when nobody answered in time. Blocks for up to `timeout`,
    /// so it is for start-up and tools, not the daemon loop (which sends
    /// unicast-IP heartbeats to the broadcast MAC; see [`super::frame`]).
    /// Needs a channel opened with ARP in its filter.
    pub fn resolve_mac(
        &mut self,
        sender_ip: Ipv4Addr,
        target_ip: Ipv4Addr,
        timeout: Duration,
    ) -> io::Result<Option<MacAddr>> {
        if matches!(self.filter, RxFilter::Udp { arp: false, .. }) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "resolve_mac needs a channel whose filter passes ARP",
            ));
        }
        let mut request = [0u8; ARP_FRAME_LEN];
        let len = build_arp_request(&mut request, self.mac, sender_ip, target_ip)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let start = Instant::now();
        let deadline = start + timeout;
        const TRIES: u32 = 3;
        for attempt in 0..TRIES {
            self.send(&request[..len])?;
            let attempt_end = (start + timeout * (attempt + 1) / TRIES).min(deadline);
            // Bounded by time, and in count by the frames that can arrive.
            for _ in 0..10_000 {
                let now = Instant::now();
                if now >= attempt_end {
                    break;
                }
                let Some(frame) = self.recv_timeout(attempt_end - now)? else {
                    break;
                };
                if let Some(arp) = parse_arp(frame) {
                    if arp.operation == 2 && arp.sender_ip == target_ip {
                        return Ok(Some(arp.sender_mac));
                    }
                }
            }
        }
        Ok(None)
    }
}

impl AsFd for Channel {
    /// The descriptor to `poll()` for POLLIN: readable when a frame passed
    /// the filter. Reading must go through [`Channel::try_recv`].
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.poll_fd.as_fd()
    }
}

// nix has no PACKET_IGNORE_OUTGOING; its macro for a socket option it
// lacks makes one (the macro's expansion names `libc`).
use nix::{getsockopt_impl, libc, setsockopt_impl, sockopt_impl};
sockopt_impl!(
    /// PACKET_IGNORE_OUTGOING (Linux 4.20): the kernel does not hand the
    /// socket the frames this host sends. An ETH_P_ALL socket otherwise
    /// gets a clone of every frame any program sends out of its interface,
    /// and runs its filter over it only to drop it: on a service interface
    /// that is every packet the service sends.
    IgnoreOutgoing,
    Both,
    libc::SOL_PACKET,
    libc::PACKET_IGNORE_OUTGOING,
    bool
);

/// Sizes `socket`'s receive queue: SO_RCVBUFFORCE, or SO_RCVBUF (which
/// the kernel caps at `net.core.rmem_max`) when not permitted.
fn set_queue_bytes(socket: &Socket, bytes: usize) -> io::Result<()> {
    use nix::sys::socket::{setsockopt, sockopt};
    match setsockopt(socket, sockopt::RcvBufForce, &bytes) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EPERM) => socket.set_recv_buffer_size(bytes),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Waits up to `timeout` for `fd` to become readable or to report a
/// pending socket error; returns whether either happened. Retries on EINTR
/// within the same deadline. The timeout is rounded up to whole
/// milliseconds, so a wait never ends early and the caller never spins.
pub fn wait_readable(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
    poll_in(fd, timeout).map(|events| !events.is_empty())
}

/// poll(2) for POLLIN on one descriptor; the events seen (empty on
/// timeout). POLLNVAL (a closed descriptor) is an error.
fn poll_in(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<PollFlags> {
    let deadline = Instant::now() + timeout;
    // Bounded: each pass either returns or sleeps until the deadline; EINTR
    // storms are cut off by the count.
    for _ in 0..1000 {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = left.as_micros().div_ceil(1000);
        let ms = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, ms) {
            Ok(0) => return Ok(PollFlags::empty()),
            Ok(_) => {
                let revents = fds[0].revents().unwrap_or(PollFlags::empty());
                if revents.contains(PollFlags::POLLNVAL) {
                    return Err(io::Error::other("channel descriptor is closed"));
                }
                return Ok(revents & (PollFlags::POLLIN | PollFlags::POLLERR));
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(io::Error::from(e)),
        }
    }
    Ok(PollFlags::empty())
}
