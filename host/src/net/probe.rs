//! The reachability probe (`--probe ADDR`): evidence beyond the carrier that
//! clients can reach this server where its service addresses live.
//!
//! A carrier says the cable to the switch is in; it does not say the switch
//! forwards anything (a dead uplink, a VLAN pulled from the port, a
//! misconfigured switch). Linux bonding answers this with `arp_ip_target`:
//! ask a host that should always answer (the gateway) and count the
//! answers. So does this: every probe period, on each service interface, an
//! ARP request "who has ADDR?" goes out, and a reply from ADDR counts as
//! proof. After [`PROBE_MISSES`] periods without one, the interface counts
//! as cut off, and the core's reachability rule takes it from there (a
//! primary hands the service over, a secondary says it cannot serve).
//!
//! The period is the heartbeat interval, but never under
//! [`MIN_PROBE_PERIOD`]: ten ARP requests a second are nothing to a gateway,
//! a hundred would be noticed. The verdict therefore takes at least a
//! second: a probe is a slower, second line of evidence after the carrier,
//! which the kernel reports at once. Both a request and its reply can be
//! lost, so a lossy network needs more misses than one frame's loss
//! suggests; ten in a row at 10 % loss per frame happen about once in 10⁷
//! periods.
//!
//! I/O (the raw channels) is kept apart from the timing ([`ProbeClock`]),
//! which the unit tests drive with invented instants.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd};
// CLOCK_MONOTONIC on purpose, not the machine's CLOCK_BOOTTIME
// (daemon::clock): a suspend stops the clock here, so the time this host
// was away does not count as the target's silence (the target could not
// have answered a suspended host).
use std::time::{Duration, Instant};

use super::bpf::Senders;
use super::channel::{Channel, ChannelConfig, ChannelError, RxFilter};
use super::garp::{build_arp_request, parse_arp, ARP_FRAME_LEN};

/// Periods without a reply before an interface counts as cut off.
pub const PROBE_MISSES: u32 = 10;

/// The shortest probe period, whatever the heartbeat interval.
pub const MIN_PROBE_PERIOD: Duration = Duration::from_millis(100);

/// Frames read per interface per wake-up at most: bounded work.
const MAX_READS: usize = 64;

/// What to probe on one service interface, as the plan resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// The service interface.
    pub interface: String,
    /// The sender address of the requests: this host's own address on the
    /// probe's subnet, or 0.0.0.0 (an RFC 5227 probe, which hosts answer
    /// too) when it has none.
    pub source: Ipv4Addr,
    /// The host asked.
    pub target: Ipv4Addr,
}

/// When to ask, and whether the answers keep coming: one interface's probe
/// without its I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeClock {
    period: Duration,
    /// The last reply, or the start (the probe is trusted for its first
    /// [`PROBE_MISSES`] periods: no verdict before it had a chance).
    last_answer: Instant,
    next_send: Instant,
}

impl ProbeClock {
    /// A probe started at `now`, asking every `period`.
    pub fn new(now: Instant, period: Duration) -> Self {
        ProbeClock {
            period,
            last_answer: now,
            next_send: now,
        }
    }

    /// When the next request is due.
    pub fn due(&self) -> Instant {
        self.next_send
    }

    /// A request went out (or failed to) at `now`.
    pub fn sent(&mut self, now: Instant) {
        self.next_send = now + self.period;
    }

    /// A reply arrived at `now`.
    pub fn answered(&mut self, now: Instant) {
        self.last_answer = self.last_answer.max(now);
    }

    /// When the probe counts as unanswered if nothing more arrives.
    pub fn gives_up_at(&self) -> Instant {
        self.last_answer + self.period * PROBE_MISSES
    }

    /// Whether the target has answered recently enough.
    pub fn answering(&self, now: Instant) -> bool {
        now < self.gives_up_at()
    }
}

struct Probed {
    target: ProbeTarget,
    channel: Channel,
    clock: ProbeClock,
    request: [u8; ARP_FRAME_LEN],
    request_len: usize,
    failing: bool,
}

/// The probes of every service interface.
pub struct Prober {
    probed: Vec<Probed>,
}

impl Prober {
    /// Opens an ARP channel on each target's interface; the first probes
    /// are due at once.
    pub fn open(targets: &[ProbeTarget], period: Duration) -> Result<Prober, ChannelError> {
        let period = period.max(MIN_PROBE_PERIOD);
        let now = Instant::now();
        let mut probed = Vec::with_capacity(targets.len());
        for t in targets {
            let channel = Channel::open(&t.interface, &arp_only())?;
            let mut request = [0u8; ARP_FRAME_LEN];
            let request_len = build_arp_request(&mut request, channel.mac(), t.source, t.target)
                .map_err(|e| ChannelError::Io {
                    name: t.interface.clone(),
                    operation: "building the probe request",
                    source: io::Error::other(e.to_string()),
                })?;
            probed.push(Probed {
                target: t.clone(),
                channel,
                clock: ProbeClock::new(now, period),
                request,
                request_len,
                failing: false,
            });
        }
        Ok(Prober { probed })
    }

    /// Opens the channel on the interface `name` again: it was deleted and
    /// is back (a new index, perhaps a new MAC, still down perhaps). The
    /// old channel would never hear a reply again. `Ok(false)`: `name` is
    /// not probed.
    pub fn reopen(&mut self, name: &str) -> Result<bool, ChannelError> {
        let mut any = false;
        for p in self
            .probed
            .iter_mut()
            .filter(|p| p.target.interface == name)
        {
            let config = ChannelConfig {
                require_up: false,
                ..arp_only()
            };
            let channel = Channel::open(name, &config)?;
            let mut request = [0u8; ARP_FRAME_LEN];
            p.request_len = build_arp_request(
                &mut request,
                channel.mac(),
                p.target.source,
                p.target.target,
            )
            .map_err(|e| ChannelError::Io {
                name: name.to_owned(),
                operation: "building the probe request",
                source: io::Error::other(e.to_string()),
            })?;
            p.request = request;
            p.channel = channel;
            any = true;
        }
        Ok(any)
    }

    /// How many interfaces are probed (and descriptors to poll).
    pub fn len(&self) -> usize {
        self.probed.len()
    }

    /// Whether nothing is probed.
    pub fn is_empty(&self) -> bool {
        self.probed.is_empty()
    }

    /// The descriptor of interface `i`'s channel, readable when a reply
    /// (or any ARP frame) arrived.
    pub fn fd(&self, i: usize) -> Option<BorrowedFd<'_>> {
        self.probed.get(i).map(|p| p.channel.as_fd())
    }

    /// The next instant something is due after `now`: a request, or a
    /// verdict still to come.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        self.probed
            .iter()
            .flat_map(|p| {
                [
                    Some(p.clock.due()),
                    Some(p.clock.gives_up_at()).filter(|&t| t > now),
                ]
            })
            .flatten()
            .min()
    }

    /// Sends the requests due at `now`. Returns the interfaces whose
    /// sending just started failing (to log once), and clears the flag of
    /// those that work again.
    pub fn send_due(&mut self, now: Instant) -> Vec<(String, io::Error)> {
        let mut failed = Vec::new();
        for p in &mut self.probed {
            if p.clock.due() > now {
                continue;
            }
            p.clock.sent(now);
            match p.channel.send(&p.request[..p.request_len]) {
                Ok(()) => p.failing = false,
                Err(e) if !p.failing => {
                    p.failing = true;
                    failed.push((p.target.interface.clone(), e));
                }
                Err(_) => {}
            }
        }
        failed
    }

    /// Reads what arrived on interface `i`, at `now`; a reply from the
    /// target counts.
    pub fn receive(&mut self, i: usize, now: Instant) {
        let Some(p) = self.probed.get_mut(i) else {
            return;
        };
        for _ in 0..MAX_READS {
            match p.channel.try_recv() {
                Ok(Some(frame)) => {
                    if parse_arp(frame)
                        .is_some_and(|a| a.operation == 2 && a.sender_ip == p.target.target)
                    {
                        p.clock.answered(now);
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
    }

    /// A bit per probed interface (in order) whose target has stopped
    /// answering: cheap to compare on every turn of the loop.
    pub fn unanswered_mask(&self, now: Instant) -> u32 {
        self.probed
            .iter()
            .enumerate()
            .take(32)
            .filter(|(_, p)| !p.clock.answering(now))
            .fold(0, |m, (i, _)| m | (1 << i))
    }

    /// The probes whose target has stopped answering, in words.
    pub fn unanswered(&self, now: Instant) -> Vec<String> {
        self.probed
            .iter()
            .filter(|p| !p.clock.answering(now))
            .map(|p| {
                format!(
                    "no answer from the probe {} on {} for {} periods",
                    p.target.target, p.target.interface, PROBE_MISSES
                )
            })
            .collect()
    }
}

/// ARP frames only: no datagram is addressed to UDP port 0, so the
/// heartbeat filter with port 0 and ARP passes ARP alone (and never this
/// host's own frames).
fn arp_only() -> ChannelConfig {
    ChannelConfig {
        filter: RxFilter::Udp {
            port: 0,
            arp: true,
            senders: Senders::Any,
        },
        ..ChannelConfig::heartbeat(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_is_trusted_at_first_and_gives_up_after_its_misses() {
        let start = Instant::now();
        let period = Duration::from_millis(100);
        let mut c = ProbeClock::new(start, period);
        assert_eq!(c.due(), start);
        c.sent(start);
        assert_eq!(c.due(), start + period);
        assert!(c.answering(start + period * 9));
        assert!(!c.answering(start + period * PROBE_MISSES));
        c.answered(start + period * 11);
        assert!(c.answering(start + period * 12));
        assert_eq!(c.gives_up_at(), start + period * 21);
        // A late reply never moves the verdict back.
        c.answered(start + period);
        assert_eq!(c.gives_up_at(), start + period * 21);
    }
}
