//! The lab's stand-in for the service and its user: a UDP echo responder on
//! each server that answers with the server's name, and a prober on the
//! client that sends to the service address every millisecond or two and
//! records who answered and when. What the prober sees is what a client of
//! the real service would see: its kernel resolves the service address by
//! ARP, keeps the answer in its neighbour cache, and is redirected only by
//! the gratuitous ARP of the new holder.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::background::Background;
use crate::netns::Netns;

/// The UDP port of the stand-in service.
pub const SERVICE_PORT: u16 = 7;
/// How long a responder or prober runs at most, whatever happens.
pub const MAX_RUN: Duration = Duration::from_secs(3600);
/// A probe is a sequence number and this tag.
const PROBE_TAG: &[u8] = b"probe";

/// A thread of the service stand-in, run in a namespace.
type Worker = Background<io::Result<io::Result<()>>>;

/// An echo responder running in a server's namespace until dropped.
#[derive(Debug)]
pub struct Responder {
    _worker: Worker,
}

impl Responder {
    /// Starts answering on UDP port [`SERVICE_PORT`] of every address of
    /// `ns` with the request's bytes followed by `name`.
    pub fn start(ns: &Netns, name: &'static str) -> io::Result<Responder> {
        Responder::start_bound(ns, name, false)
    }

    /// Starts answering on UDP port [`SERVICE_PORT`] of every IPv6 address
    /// of `ns` (a socket of its own, IPv6 only, beside [`Responder::start`]'s
    /// IPv4 one), the same way.
    pub fn start_v6(ns: &Netns, name: &'static str) -> io::Result<Responder> {
        Responder::start_bound(ns, name, true)
    }

    fn start_bound(ns: &Netns, name: &'static str, v6: bool) -> io::Result<Responder> {
        let stop = Worker::flag();
        let flag = Arc::clone(&stop);
        let handle = ns.spawn_thread(move || -> io::Result<()> {
            let sock = if v6 {
                let s = socket2::Socket::new(
                    socket2::Domain::IPV6,
                    socket2::Type::DGRAM,
                    Some(socket2::Protocol::UDP),
                )?;
                s.set_only_v6(true)?;
                s.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, SERVICE_PORT)).into())?;
                UdpSocket::from(s)
            } else {
                UdpSocket::bind((Ipv4Addr::UNSPECIFIED, SERVICE_PORT))?
            };
            sock.set_read_timeout(Some(Duration::from_millis(50)))?;
            let start = Instant::now();
            let mut buf = [0u8; 64];
            let mut reply = [0u8; 128];
            while !flag.load(Ordering::Relaxed) && start.elapsed() < MAX_RUN {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let len = n + name.len();
                if let (Some(dst), Some(req)) = (reply.get_mut(..len), buf.get(..n)) {
                    let (head, tail) = dst.split_at_mut(n);
                    head.copy_from_slice(req);
                    tail.copy_from_slice(name.as_bytes());
                    let _ = sock.send_to(dst, from);
                }
            }
            Ok(())
        })?;
        Ok(Responder {
            _worker: Background::new(stop, handle),
        })
    }
}

/// One probe and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Its sequence number.
    pub seq: u32,
    /// When it was sent.
    pub sent: Instant,
    /// When the answer came and from which server, if one did.
    pub answer: Option<(Instant, String)>,
}

/// The client's prober, running until [`Prober::stop`].
#[derive(Debug)]
pub struct Prober {
    probes: Arc<Mutex<Vec<Probe>>>,
    worker: Worker,
}

impl Prober {
    /// Starts probing `target`:[`SERVICE_PORT`] (IPv4 or IPv6) from `ns`
    /// every `period`.
    pub fn start(ns: &Netns, target: impl Into<IpAddr>, period: Duration) -> io::Result<Prober> {
        let target: IpAddr = target.into();
        let any: IpAddr = match target {
            IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let stop = Worker::flag();
        let probes = Arc::new(Mutex::new(Vec::new()));
        let (flag, log) = (Arc::clone(&stop), Arc::clone(&probes));
        let handle = ns.spawn_thread(move || -> io::Result<()> {
            // Non-blocking, with the waits in thread::sleep: a socket read
            // timeout is rounded up to the kernel's tick (4 ms here), far
            // coarser than the probe period.
            let sock = UdpSocket::bind((any, 0))?;
            sock.set_nonblocking(true)?;
            let start = Instant::now();
            let mut next = start;
            let mut seq: u32 = 0;
            let mut buf = [0u8; 128];
            while !flag.load(Ordering::Relaxed) && start.elapsed() < MAX_RUN {
                let now = Instant::now();
                if now >= next {
                    let mut msg = [0u8; 9];
                    msg[..4].copy_from_slice(&seq.to_be_bytes());
                    msg[4..].copy_from_slice(PROBE_TAG);
                    // Errors (no route, ARP failed) are lost probes.
                    let _ = sock.send_to(&msg, (target, SERVICE_PORT));
                    lock(&log).push(Probe {
                        seq,
                        sent: now,
                        answer: None,
                    });
                    seq = seq.wrapping_add(1);
                    next += period;
                    if next < now {
                        next = now + period;
                    }
                }
                // Bounded: at most the datagrams queued since the last turn.
                for _ in 0..1024 {
                    let Ok((n, _)) = sock.recv_from(&mut buf) else {
                        break;
                    };
                    let at = Instant::now();
                    if let Some(answer) = parse_answer(buf.get(..n).unwrap_or_default()) {
                        let mut probes = lock(&log);
                        if let Some(p) = probes.iter_mut().rev().find(|p| p.seq == answer.0) {
                            p.answer.get_or_insert((at, answer.1));
                        }
                    }
                }
                // Answers are read at least every 250 µs: their times are
                // that precise.
                let wait = next.saturating_duration_since(Instant::now());
                std::thread::sleep(wait.min(Duration::from_micros(250)));
            }
            Ok(())
        })?;
        Ok(Prober {
            probes,
            worker: Background::new(stop, handle),
        })
    }

    /// The probes so far.
    pub fn probes(&self) -> Vec<Probe> {
        lock(&self.probes).clone()
    }

    /// Stops probing and returns every probe.
    pub fn stop(mut self) -> Vec<Probe> {
        let _ = self.worker.halt();
        self.probes()
    }
}

fn parse_answer(bytes: &[u8]) -> Option<(u32, String)> {
    let seq = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    let rest = bytes.get(4..)?.strip_prefix(PROBE_TAG)?;
    Some((seq, String::from_utf8_lossy(rest).into_owned()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Who served the client, in runs: `(server, first answer, last answer,
/// answers)`, in time order. A server that answers again after another
/// starts a new run.
pub fn service_runs(probes: &[Probe]) -> Vec<(String, Instant, Instant, usize)> {
    let mut answers: Vec<&(Instant, String)> =
        probes.iter().filter_map(|p| p.answer.as_ref()).collect();
    answers.sort_by_key(|a| a.0);
    let mut runs: Vec<(String, Instant, Instant, usize)> = Vec::new();
    for (at, who) in answers {
        match runs.last_mut() {
            Some(r) if r.0 == *who => {
                r.2 = *at;
                r.3 += 1;
            }
            _ => runs.push((who.clone(), *at, *at, 1)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_and_garbage_does_not() {
        let mut a = 7u32.to_be_bytes().to_vec();
        a.extend_from_slice(b"probeprimary");
        assert_eq!(parse_answer(&a), Some((7, "primary".to_owned())));
        assert_eq!(parse_answer(b"xx"), None);
        assert_eq!(parse_answer(b"\0\0\0\x01nope"), None);
    }

    #[test]
    fn runs_group_consecutive_answers_by_server() {
        let t = Instant::now();
        let p = |seq: u32, ms: u64, who: Option<&str>| Probe {
            seq,
            sent: t,
            answer: who.map(|w| (t + Duration::from_millis(ms), w.to_owned())),
        };
        let probes = [
            p(0, 1, Some("primary")),
            p(1, 2, Some("primary")),
            p(2, 0, None),
            p(3, 9, Some("secondary")),
            p(4, 12, Some("primary")),
        ];
        let runs = service_runs(&probes);
        let names: Vec<(&str, usize)> = runs.iter().map(|r| (r.0.as_str(), r.3)).collect();
        assert_eq!(names, [("primary", 2), ("secondary", 1), ("primary", 1)]);
    }
}
