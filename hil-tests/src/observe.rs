//! The lab's observers, each a bounded background thread in the namespace
//! it watches:
//!
//! - [`Capture`]: the public bridge in the switch, every gratuitous ARP and
//!   every ARP reply for the service address, with the sender's MAC;
//! - [`ProtocolCapture`]: the failover protocol on a bridge (the private
//!   one: heartbeats and the witness exchange), with each frame's sender;
//! - [`Ownership`]: which server has the service address on its interface,
//!   sampled over netlink every millisecond, as intervals
//!   ([`crate::holds::Held`]).
//!
//! Together with the prober ([`crate::service`]) and the daemons' logs
//! ([`crate::daemons`]) they make the run's [`crate::timeline`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use failover_core::wire::{Body, FrameRepr, WitnessKind, WitnessRepr};
use failover_host::net::bpf::Senders;
use failover_host::net::channel::{Channel, ChannelConfig, RxFilter};
use failover_host::net::frame::parse_udp_frame;
use failover_host::net::garp::{parse_arp, GarpForm};
use failover_host::net::na::parse_na;
use failover_host::netlink::addr::{AddrError, Netlink};

use crate::background::Background;
use crate::holds::Held;
use crate::netns::Netns;
use crate::service::MAX_RUN;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An observer's thread, run in a namespace until stopped (or
/// [`MAX_RUN`]): its result is the namespace's and the observer's.
type Worker = Background<io::Result<io::Result<()>>>;

/// Stops an observer's thread and says how it ended.
fn halt(worker: &mut Worker) -> io::Result<()> {
    match worker.halt() {
        Some(Ok(Ok(Ok(())))) | None => Ok(()),
        Some(Ok(Ok(Err(e)) | Err(e))) => Err(e),
        Some(Err(_)) => Err(io::Error::other("observer thread panicked")),
    }
}

/// An ARP frame about the service address seen on the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpSeen {
    /// When.
    pub at: Instant,
    /// The sender's MAC, as `ip link` prints it.
    pub mac: String,
    /// `Some(form)` for a gratuitous ARP, `None` for an ordinary reply.
    pub garp: Option<GarpForm>,
}

/// The capture on a bridge of the switch.
#[derive(Debug)]
pub struct Capture {
    seen: Arc<Mutex<Vec<ArpSeen>>>,
    worker: Worker,
}

/// Opens a capture on `bridge` in `switch` and runs it in a bounded
/// background thread: every frame `filter` passes goes to `classify`, and
/// what it returns is kept, stamped on arrival. Returns once the capture is
/// open (or why it could not be).
///
/// The filter runs in the kernel: a capture that wakes for every heartbeat
/// crossing the bridge costs the daemon that sent it (the wake-up happens
/// in the sender's system call on a veth), which the benchmark would then
/// count as the daemon's CPU.
fn spawn_capture<T: Send + 'static>(
    switch: &Netns,
    bridge: &'static str,
    filter: RxFilter,
    classify: impl Fn(&[u8], Instant) -> Option<T> + Send + 'static,
) -> io::Result<(Arc<Mutex<Vec<T>>>, Worker)> {
    // Opened in the thread (the namespace's), reported here, so that a
    // failure reaches the caller.
    let ready = Arc::new(Mutex::new(None::<io::Result<()>>));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stop = Worker::flag();
    let (flag, sink, report) = (Arc::clone(&stop), Arc::clone(&seen), Arc::clone(&ready));
    let handle = switch.spawn_thread(move || -> io::Result<()> {
        let mut ch = match Channel::open(bridge, &ChannelConfig::capture_of(filter)) {
            Ok(ch) => {
                *lock(&report) = Some(Ok(()));
                ch
            }
            Err(e) => {
                let e = io::Error::other(format!("capture on {bridge}: {e}"));
                *lock(&report) = Some(Err(io::Error::new(e.kind(), e.to_string())));
                return Err(e);
            }
        };
        let start = Instant::now();
        while !flag.load(Ordering::Relaxed) && start.elapsed() < MAX_RUN {
            let Some(frame) = ch.recv_timeout(Duration::from_millis(20))? else {
                continue;
            };
            if let Some(item) = classify(frame, Instant::now()) {
                lock(&sink).push(item);
            }
        }
        Ok(())
    })?;
    let worker = Worker::new(stop, handle);
    for _ in 0..500 {
        if let Some(r) = lock(&ready).take() {
            r?;
            return Ok((seen, worker));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(io::Error::other(format!(
        "capture on {bridge} did not start"
    )))
}

impl Capture {
    /// Starts capturing on `bridge` in `switch`: ARP frames whose sender is
    /// `addr` (gratuitous ARPs and replies).
    pub fn start(switch: &Netns, bridge: &'static str, addr: Ipv4Addr) -> io::Result<Capture> {
        let (seen, worker) = spawn_capture(switch, bridge, RxFilter::Arp, move |frame, at| {
            let arp = parse_arp(frame)?;
            let garp = arp.garp_form();
            (arp.sender_ip == addr && (garp.is_some() || arp.operation == 2)).then(|| ArpSeen {
                at,
                mac: arp.sender_mac.to_string(),
                garp,
            })
        })?;
        Ok(Capture { seen, worker })
    }

    /// Everything seen so far.
    pub fn seen(&self) -> Vec<ArpSeen> {
        lock(&self.seen).clone()
    }

    /// The first gratuitous ARP from `mac` at or after `since`.
    pub fn first_garp(&self, mac: &str, since: Instant) -> Option<Instant> {
        lock(&self.seen)
            .iter()
            .find(|s| s.at >= since && s.garp.is_some() && s.mac == mac)
            .map(|s| s.at)
    }

    /// Stops the capture.
    pub fn stop(mut self) -> io::Result<Vec<ArpSeen>> {
        halt(&mut self.worker)?;
        Ok(self.seen())
    }
}

/// An unsolicited neighbour advertisement for an IPv6 service address seen
/// on a bridge: gratuitous ARP's IPv6 counterpart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaSeen {
    /// When.
    pub at: Instant,
    /// The sender's MAC, as `ip link` prints it.
    pub mac: String,
}

/// The capture of the unsolicited neighbour advertisements (Override set,
/// Solicited not, hop limit 255) for one IPv6 address on a bridge.
#[derive(Debug)]
pub struct NaCapture {
    seen: Arc<Mutex<Vec<NaSeen>>>,
    _worker: Worker,
}

impl NaCapture {
    /// Starts capturing on `bridge` in `switch` the unsolicited neighbour
    /// advertisements for `addr`.
    pub fn start(switch: &Netns, bridge: &'static str, addr: Ipv6Addr) -> io::Result<NaCapture> {
        let (seen, worker) =
            spawn_capture(switch, bridge, RxFilter::Everything, move |frame, at| {
                let na = parse_na(frame)?;
                (na.target == addr && na.override_flag && !na.solicited && na.hop_limit == 255)
                    .then(|| NaSeen {
                        at,
                        mac: na.eth_src.to_string(),
                    })
            })?;
        Ok(NaCapture {
            seen,
            _worker: worker,
        })
    }

    /// How many came from `mac` after `after` and up to `until`.
    pub fn count_from(&self, mac: &str, after: Instant, until: Instant) -> usize {
        lock(&self.seen)
            .iter()
            .filter(|s| s.mac == mac && s.at > after && s.at <= until)
            .count()
    }
}

/// A failover-protocol frame seen on a bridge: a heartbeat or a witness
/// exchange message, and who sent it. Signed frames are read without
/// checking their tags (the capture holds no key): this is what was on the
/// wire, not what a daemon accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSeen {
    /// When.
    pub at: Instant,
    /// The sender's node id, as an address.
    pub sender: Ipv4Addr,
    /// `None` for a heartbeat; the exchange message otherwise.
    pub witness: Option<WitnessRepr>,
}

/// The capture of the failover protocol (UDP, one port) on a bridge of the
/// switch: on the private bridge it shows the witness exchange (requests,
/// grants, denials) that the daemons' logs only summarise.
#[derive(Debug)]
pub struct ProtocolCapture {
    seen: Arc<Mutex<Vec<FrameSeen>>>,
    worker: Worker,
}

impl ProtocolCapture {
    /// Starts capturing the protocol's frames to UDP `port` on `bridge` in
    /// `switch`.
    pub fn start(switch: &Netns, bridge: &'static str, port: u16) -> io::Result<ProtocolCapture> {
        let filter = RxFilter::Udp {
            port,
            arp: false,
            senders: Senders::Any,
        };
        let (seen, worker) = spawn_capture(switch, bridge, filter, move |frame, at| {
            let udp = parse_udp_frame(frame, port)?;
            let repr = FrameRepr::parse(udp.payload, None).ok()?;
            Some(FrameSeen {
                at,
                sender: Ipv4Addr::from(repr.header.sender.0),
                witness: match repr.body {
                    Body::Heartbeat(_) => None,
                    Body::Witness(w) => Some(w),
                },
            })
        })?;
        Ok(ProtocolCapture { seen, worker })
    }

    /// Everything seen so far.
    pub fn seen(&self) -> Vec<FrameSeen> {
        lock(&self.seen).clone()
    }

    /// Heartbeats from `sender` seen at or after `since`.
    pub fn heartbeats_from(&self, sender: Ipv4Addr, since: Instant) -> usize {
        lock(&self.seen)
            .iter()
            .filter(|f| f.at >= since && f.sender == sender && f.witness.is_none())
            .count()
    }

    /// The first exchange message of `kind` at or after `since`.
    pub fn first(&self, kind: WitnessKind, since: Instant) -> Option<FrameSeen> {
        lock(&self.seen)
            .iter()
            .find(|f| f.at >= since && f.witness.is_some_and(|w| w.kind == kind))
            .cloned()
    }

    /// Stops the capture.
    pub fn stop(mut self) -> io::Result<Vec<FrameSeen>> {
        halt(&mut self.worker)?;
        Ok(self.seen())
    }
}

/// Samples whether a server has an address on an interface.
#[derive(Debug)]
pub struct Ownership {
    held: Arc<Mutex<Vec<Held>>>,
    worker: Worker,
}

impl Ownership {
    /// Starts sampling `ifname` in `ns` for `addr` (IPv4 or IPv6) every
    /// `period`.
    pub fn start(
        ns: &Netns,
        ifname: &'static str,
        addr: impl Into<IpAddr>,
        period: Duration,
    ) -> io::Result<Ownership> {
        let addr: IpAddr = addr.into();
        let held = Arc::new(Mutex::new(Vec::new()));
        let stop = Worker::flag();
        let (flag, sink) = (Arc::clone(&stop), Arc::clone(&held));
        let handle = ns.spawn_thread(move || -> io::Result<()> {
            let mut nl = Netlink::open().map_err(io::Error::other)?;
            let start = Instant::now();
            let mut had = false;
            // Start of the query of the last sample that saw the address.
            let mut last_seen = start;
            while !flag.load(Ordering::Relaxed) && start.elapsed() < MAX_RUN {
                let before = Instant::now();
                // An interface that is gone (a scenario deletes and
                // re-creates it) has no address.
                let has = match (nl.link_by_name(ifname), addr) {
                    (Ok(link), IpAddr::V4(addr)) => nl
                        .addresses(link.index)
                        .map_err(io::Error::other)?
                        .iter()
                        .any(|a| a.addr == addr),
                    (Ok(link), IpAddr::V6(addr)) => nl
                        .addresses_v6(link.index)
                        .map_err(io::Error::other)?
                        .iter()
                        .any(|a| a.addr == addr),
                    (Err(AddrError::NoSuchInterface { .. }), _) => false,
                    (Err(e), _) => return Err(io::Error::other(e)),
                };
                let after = Instant::now();
                if has != had {
                    let mut h = lock(&sink);
                    if has {
                        h.push(Held {
                            from: after,
                            until: None,
                        });
                    } else if let Some(last) = h.last_mut() {
                        last.until = Some(last_seen.max(last.from));
                    }
                    had = has;
                }
                if has {
                    last_seen = before;
                }
                std::thread::sleep(period);
            }
            Ok(())
        })?;
        Ok(Ownership {
            held,
            worker: Worker::new(stop, handle),
        })
    }

    /// The intervals so far.
    pub fn held(&self) -> Vec<Held> {
        lock(&self.held).clone()
    }

    /// Whether the address is on the interface now (as last sampled).
    pub fn holds_now(&self) -> bool {
        lock(&self.held).last().is_some_and(Held::is_open)
    }

    /// Stops sampling.
    pub fn stop(mut self) -> io::Result<Vec<Held>> {
        halt(&mut self.worker)?;
        Ok(self.held())
    }
}
