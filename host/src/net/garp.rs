//! Gratuitous ARP: telling the segment that a service address now lives at
//! this host's MAC, and the schedule on which to repeat it.
//!
//! When the secondary takes over (core `Action::Announce`), or the primary
//! takes its addresses back, every switch's forwarding table and every
//! neighbour's ARP cache still point at the old holder. A gratuitous ARP
//! fixes both at once. Hosts differ in which form they honour, so we send
//! both (as keepalived, Pacemaker's IPaddr2 and Linux's `arping -U/-A` do):
//!
//! * [`GarpForm::Request`]: an ARP request with sender IP = target IP = the
//!   address, target MAC zero, to the Ethernet broadcast address (RFC 5227's
//!   "ARP announcement").
//! * [`GarpForm::Reply`]: an ARP reply (opcode 2) with sender IP = target IP
//!   = the address and target MAC broadcast, to the Ethernet broadcast
//!   address.
//!
//! [`parse_arp`] is the other side, used by the lab's capture and by the
//! bounded resolver in [`super::channel`]; it never panics on any input.
//!
//! # Repeats ([`AnnouncePlan`], [`Announcer`])
//!
//! One round sends the chosen forms once for every address. The default is
//! **3 rounds, 50 ms apart**, both forms each round:
//!
//! * the first round goes out at once, so on a healthy network clients
//!   recover as soon as the kernel has the address: the fast-profile target is
//!   client-visible recovery within 20 ms, and repeats must not delay that;
//! * repeating covers loss: the lab's worst case is 30 % loss on every link,
//!   where one frame is lost with p = 0.3 but all six (3 rounds × 2 forms) with
//!   p ≈ 0.07 %;
//! * 50 ms spacing spreads the rounds over 100 ms, across a short burst of loss
//!   or a switch port still settling after a link flap, yet finishes well
//!   inside one Apple-compatible 1 s beat, so a new announcement (say, on
//!   failback) never queues behind an old one. (RFC 5227 spaces announcements
//!   2 s apart; that suits address conflict detection at boot, not a takeover
//!   where every millisecond of stale ARP cache is an outage.)
//!
//! [`Announcer`] is a pure schedule in the sans-IO style of the core: the
//! daemon calls [`Announcer::poll`] with the current time, sends what it
//! says, and includes [`Announcer::next_due`] in its `poll(2)` timeout. It
//! never sleeps and never allocates.

use std::fmt;
use std::net::Ipv4Addr;

use failover_core::{Duration, Instant};
use pnet_datalink::MacAddr;
use pnet_packet::arp::{
    ArpHardwareTypes, ArpOperation, ArpOperations, ArpPacket, MutableArpPacket,
};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};

use super::frame::{BROADCAST_MAC, ETHERNET_HEADER_LEN, MIN_FRAME_LEN};

/// Length of an Ethernet/IPv4 ARP packet (without the Ethernet header).
pub const ARP_PACKET_LEN: usize = 28;
/// Length of an ARP frame as built here: padded to the Ethernet minimum.
pub const ARP_FRAME_LEN: usize = MIN_FRAME_LEN;

const ZERO_MAC: MacAddr = MacAddr(0, 0, 0, 0, 0, 0);

/// The two forms of gratuitous ARP; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GarpForm {
    /// ARP request, sender IP = target IP, target MAC zero.
    Request,
    /// ARP reply, sender IP = target IP, target MAC broadcast.
    Reply,
}

/// The buffer given to a frame builder (here, or [`super::na`]'s) is
/// shorter than the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferTooSmall {
    /// Bytes the frame needs ([`ARP_FRAME_LEN`] for ARP).
    pub needed: usize,
    /// Bytes the buffer has.
    pub available: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame buffer too small: {} bytes needed, {} available",
            self.needed, self.available
        )
    }
}

impl std::error::Error for BufferTooSmall {}

/// The fields of an Ethernet/IPv4 ARP frame, for [`build_arp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpFields {
    /// Ethernet destination.
    pub eth_dst: MacAddr,
    /// Ethernet source, also the ARP sender hardware address.
    pub sender_mac: MacAddr,
    /// 1 = request, 2 = reply.
    pub operation: u16,
    /// ARP sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// ARP target hardware address.
    pub target_mac: MacAddr,
    /// ARP target protocol address.
    pub target_ip: Ipv4Addr,
}

/// Writes any Ethernet/IPv4 ARP frame into `buf` (zero-padded to
/// [`ARP_FRAME_LEN`]) and returns its length. The general builder behind
/// [`build_garp`] and [`build_arp_request`].
pub fn build_arp(buf: &mut [u8], fields: &ArpFields) -> Result<usize, BufferTooSmall> {
    let too_small = BufferTooSmall {
        needed: ARP_FRAME_LEN,
        available: buf.len(),
    };
    let frame = buf.get_mut(..ARP_FRAME_LEN).ok_or(too_small)?;
    frame[ETHERNET_HEADER_LEN + ARP_PACKET_LEN..].fill(0);
    {
        let mut eth =
            MutableEthernetPacket::new(&mut frame[..ETHERNET_HEADER_LEN]).ok_or(too_small)?;
        eth.set_destination(fields.eth_dst);
        eth.set_source(fields.sender_mac);
        eth.set_ethertype(EtherTypes::Arp);
    }
    let mut arp = MutableArpPacket::new(
        &mut frame[ETHERNET_HEADER_LEN..ETHERNET_HEADER_LEN + ARP_PACKET_LEN],
    )
    .ok_or(too_small)?;
    arp.set_hardware_type(ArpHardwareTypes::Ethernet);
    arp.set_protocol_type(EtherTypes::Ipv4);
    arp.set_hw_addr_len(6);
    arp.set_proto_addr_len(4);
    arp.set_operation(ArpOperation::new(fields.operation));
    arp.set_sender_hw_addr(fields.sender_mac);
    arp.set_sender_proto_addr(fields.sender_ip);
    arp.set_target_hw_addr(fields.target_mac);
    arp.set_target_proto_addr(fields.target_ip);
    Ok(ARP_FRAME_LEN)
}

/// Writes a gratuitous ARP for `addr` at `mac`, in the given form, into
/// `buf`; returns the frame's length. Allocation-free.
pub fn build_garp(
    buf: &mut [u8],
    form: GarpForm,
    mac: MacAddr,
    addr: Ipv4Addr,
) -> Result<usize, BufferTooSmall> {
    let (operation, target_mac) = match form {
        GarpForm::Request => (ArpOperations::Request.0, ZERO_MAC),
        GarpForm::Reply => (ArpOperations::Reply.0, BROADCAST_MAC),
    };
    build_arp(
        buf,
        &ArpFields {
            eth_dst: BROADCAST_MAC,
            sender_mac: mac,
            operation,
            sender_ip: addr,
            target_mac,
            target_ip: addr,
        },
    )
}

/// Writes an ordinary broadcast ARP request "who has `target_ip`? tell
/// `sender_ip`" into `buf`: what the bounded resolver sends.
pub fn build_arp_request(
    buf: &mut [u8],
    sender_mac: MacAddr,
    sender_ip: Ipv4Addr,
    target_ip: Ipv4Addr,
) -> Result<usize, BufferTooSmall> {
    build_arp(
        buf,
        &ArpFields {
            eth_dst: BROADCAST_MAC,
            sender_mac,
            operation: ArpOperations::Request.0,
            sender_ip,
            target_mac: ZERO_MAC,
            target_ip,
        },
    )
}

/// A received Ethernet/IPv4 ARP frame, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpView {
    /// Ethernet source.
    pub eth_src: MacAddr,
    /// Ethernet destination.
    pub eth_dst: MacAddr,
    /// The ARP opcode (1 request, 2 reply; others are passed through).
    pub operation: u16,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpView {
    /// Whether this is a gratuitous ARP (sender IP = target IP), and if so in
    /// which form. Other opcodes with sender = target are not counted.
    pub fn garp_form(&self) -> Option<GarpForm> {
        if self.sender_ip != self.target_ip {
            return None;
        }
        match self.operation {
            1 => Some(GarpForm::Request),
            2 => Some(GarpForm::Reply),
            _ => None,
        }
    }
}

/// Decodes an Ethernet/IPv4 ARP frame (hardware type Ethernet, protocol
/// IPv4, address lengths 6 and 4); `None` for anything else. Never panics,
/// never allocates.
pub fn parse_arp(frame: &[u8]) -> Option<ArpView> {
    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype() != EtherTypes::Arp {
        return None;
    }
    let arp = ArpPacket::new(frame.get(ETHERNET_HEADER_LEN..)?)?;
    if arp.get_hardware_type() != ArpHardwareTypes::Ethernet
        || arp.get_protocol_type() != EtherTypes::Ipv4
        || arp.get_hw_addr_len() != 6
        || arp.get_proto_addr_len() != 4
    {
        return None;
    }
    Some(ArpView {
        eth_src: eth.get_source(),
        eth_dst: eth.get_destination(),
        operation: arp.get_operation().0,
        sender_mac: arp.get_sender_hw_addr(),
        sender_ip: arp.get_sender_proto_addr(),
        target_mac: arp.get_target_hw_addr(),
        target_ip: arp.get_target_proto_addr(),
    })
}

/// How to announce acquired addresses: configurable (the daemons' command
/// line and configuration set it), with the defaults justified in the module
/// documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnouncePlan {
    /// Number of rounds (each sends every enabled form once per address).
    pub rounds: u8,
    /// Time between the start of one round and the next.
    pub spacing: Duration,
    /// Send the ARP request form.
    pub request: bool,
    /// Send the ARP reply form.
    pub reply: bool,
    /// While the addresses are held, one more round this long after the
    /// last (`--arp-refresh`), for switches and routers that age their
    /// entries out faster than the clients ask; `None`: announce once.
    pub refresh: Option<Duration>,
}

impl AnnouncePlan {
    /// Default number of rounds.
    pub const DEFAULT_ROUNDS: u8 = 3;
    /// Default spacing between rounds, in milliseconds.
    pub const DEFAULT_SPACING_MS: u64 = 50;
    /// Upper bound on rounds, so a typo cannot make a daemon spray ARP.
    pub const MAX_ROUNDS: u8 = 50;
    /// Upper bound on spacing, in milliseconds.
    pub const MAX_SPACING_MS: u64 = 10_000;
    /// Bounds of the refresh period, in seconds: not a flood, and more
    /// often than the longest ARP cache timeouts in use (4 hours on some
    /// routers).
    pub const REFRESH_SECS: core::ops::RangeInclusive<u64> = 1..=3600;

    /// Checks the plan: 1 to [`Self::MAX_ROUNDS`] rounds, spacing at most
    /// [`Self::MAX_SPACING_MS`] (0 only for a single round), at least one
    /// form. Returns the reason otherwise, for the daemons' `-n` report.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.rounds == 0 || self.rounds > Self::MAX_ROUNDS {
            return Err("gratuitous ARP rounds must be between 1 and 50");
        }
        if self.spacing > Duration::from_millis(Self::MAX_SPACING_MS) {
            return Err("gratuitous ARP spacing must be at most 10000 ms");
        }
        if self.rounds > 1 && self.spacing == Duration::ZERO {
            return Err("gratuitous ARP spacing must be positive when repeating");
        }
        if !self.request && !self.reply {
            return Err("at least one gratuitous ARP form (request or reply) is needed");
        }
        if let Some(r) = self.refresh {
            let secs = r.total_micros() / 1_000_000;
            if r.total_micros() % 1_000_000 != 0 || !Self::REFRESH_SECS.contains(&secs) {
                return Err("the gratuitous ARP refresh must be whole seconds from 1 to 3600");
            }
        }
        Ok(())
    }

    /// The forms one round sends, request first.
    pub fn forms(&self) -> impl Iterator<Item = GarpForm> {
        [
            (self.request, GarpForm::Request),
            (self.reply, GarpForm::Reply),
        ]
        .into_iter()
        .filter_map(|(on, form)| on.then_some(form))
    }
}

impl Default for AnnouncePlan {
    fn default() -> Self {
        AnnouncePlan {
            rounds: Self::DEFAULT_ROUNDS,
            spacing: Duration::from_millis(Self::DEFAULT_SPACING_MS),
            request: true,
            reply: true,
            refresh: None,
        }
    }
}

/// One due round of an announcement, as returned by [`Announcer::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// 0 for the first round.
    pub index: u8,
    /// The plan, for [`AnnouncePlan::forms`].
    pub plan: AnnouncePlan,
}

impl Round {
    /// The forms to send in this round.
    pub fn forms(&self) -> impl Iterator<Item = GarpForm> {
        self.plan.forms()
    }
}

/// The schedule of one announcement (sans-IO): which round is due when. The
/// daemon keeps one per set of addresses it announces together.
///
/// ```
/// # use failover_core::{Duration, Instant};
/// # use failover_host::net::garp::{AnnouncePlan, Announcer};
/// let mut a = Announcer::new(AnnouncePlan::default());
/// let t0 = Instant::from_millis(1000);
/// a.start(t0);
/// let round = a.poll(t0).unwrap(); // first round at once
/// assert_eq!(round.forms().count(), 2);
/// assert_eq!(a.next_due(), Some(t0 + Duration::from_millis(50)));
/// assert!(a.poll(t0 + Duration::from_millis(10)).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcer {
    plan: AnnouncePlan,
    next: Option<Instant>,
    index: u8,
}

impl Announcer {
    /// An idle announcer with this plan.
    pub const fn new(plan: AnnouncePlan) -> Self {
        Announcer {
            plan,
            next: None,
            index: 0,
        }
    }

    /// The plan in use.
    pub const fn plan(&self) -> AnnouncePlan {
        self.plan
    }

    /// Starts (or restarts, e.g. on failback while an announcement is still
    /// running) the announcement: the first round is due at `now`.
    pub fn start(&mut self, now: Instant) {
        self.index = 0;
        self.next = Some(now);
    }

    /// Cancels the announcement (the addresses were released).
    pub fn stop(&mut self) {
        self.next = None;
    }

    /// Whether rounds remain (always, while refreshing).
    pub const fn is_active(&self) -> bool {
        self.next.is_some()
    }

    /// When the next round is due, for the daemon's poll timeout; `None` when
    /// idle.
    pub const fn next_due(&self) -> Option<Instant> {
        self.next
    }

    /// How long from `now` until the next round (zero if overdue), `None`
    /// when idle.
    pub fn time_until_due(&self, now: Instant) -> Option<Duration> {
        self.next.map(|t| t.saturating_since(now))
    }

    /// Returns the round due at `now`, if any, and schedules the next one
    /// `spacing` after `now`. Measuring from the actual send, not from the
    /// nominal due time, means a daemon that was late (stopped, overloaded)
    /// never sends a burst of catch-up rounds: rounds are always at least
    /// `spacing` apart. After the last round, with a refresh, one more
    /// round is due every `refresh` until [`stop`](Self::stop); its index
    /// is past the plan's rounds.
    pub fn poll(&mut self, now: Instant) -> Option<Round> {
        let due = self.next?;
        if now < due {
            return None;
        }
        let round = Round {
            index: self.index,
            plan: self.plan,
        };
        self.index = self.index.saturating_add(1);
        self.next = if self.index < self.plan.rounds {
            Some(now + self.plan.spacing)
        } else {
            self.plan.refresh.map(|r| now + r)
        };
        Some(round)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_refresh_repeats_one_round_until_stopped() {
        let plan = AnnouncePlan {
            refresh: Some(Duration::from_secs(30)),
            ..AnnouncePlan::default()
        };
        assert_eq!(plan.validate(), Ok(()));
        let mut a = Announcer::new(plan);
        let t0 = Instant::from_millis(1000);
        a.start(t0);
        let mut t = t0;
        for i in 0..3 {
            assert_eq!(a.poll(t).map(|r| r.index), Some(i));
            t += Duration::from_millis(50);
        }
        // The announcement is over; the refresh is 30 s after the last round.
        let last = t0 + Duration::from_millis(100);
        assert_eq!(a.next_due(), Some(last + Duration::from_secs(30)));
        assert!(a.poll(last + Duration::from_secs(29)).is_none());
        let r = a
            .poll(last + Duration::from_secs(30))
            .expect("a refresh round");
        assert!(r.index >= 3);
        assert_eq!(a.next_due(), Some(last + Duration::from_secs(60)));
        a.stop();
        assert!(!a.is_active());
        for bad in [
            Duration::ZERO,
            Duration::from_millis(1500),
            Duration::from_secs(3601),
        ] {
            let p = AnnouncePlan {
                refresh: Some(bad),
                ..AnnouncePlan::default()
            };
            assert!(p.validate().is_err(), "{bad:?}");
        }
    }

    const MAC: MacAddr = MacAddr(0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01);
    const ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

    #[test]
    fn request_form() {
        let mut buf = [0xffu8; 64];
        let len = build_garp(&mut buf, GarpForm::Request, MAC, ADDR).unwrap();
        assert_eq!(len, 60);
        assert!(buf[42..60].iter().all(|&b| b == 0));
        assert_eq!(&buf[12..14], &[0x08, 0x06]);
        let v = parse_arp(&buf[..len]).unwrap();
        assert_eq!(v.eth_dst, BROADCAST_MAC);
        assert_eq!(v.eth_src, MAC);
        assert_eq!(v.operation, 1);
        assert_eq!(v.sender_mac, MAC);
        assert_eq!(v.sender_ip, ADDR);
        assert_eq!(v.target_ip, ADDR);
        assert_eq!(v.target_mac, ZERO_MAC);
        assert_eq!(v.garp_form(), Some(GarpForm::Request));
    }

    #[test]
    fn reply_form() {
        let mut buf = [0u8; 60];
        let len = build_garp(&mut buf, GarpForm::Reply, MAC, ADDR).unwrap();
        let v = parse_arp(&buf[..len]).unwrap();
        assert_eq!(v.operation, 2);
        assert_eq!(v.eth_dst, BROADCAST_MAC);
        assert_eq!(v.target_mac, BROADCAST_MAC);
        assert_eq!(v.sender_ip, ADDR);
        assert_eq!(v.target_ip, ADDR);
        assert_eq!(v.garp_form(), Some(GarpForm::Reply));
    }

    #[test]
    fn ordinary_request_is_not_gratuitous() {
        let mut buf = [0u8; 60];
        let len = build_arp_request(&mut buf, MAC, ADDR, Ipv4Addr::new(192, 0, 2, 1)).unwrap();
        let v = parse_arp(&buf[..len]).unwrap();
        assert_eq!(v.operation, 1);
        assert_eq!(v.garp_form(), None);
        assert_eq!(
            build_garp(&mut buf[..59], GarpForm::Reply, MAC, ADDR),
            Err(BufferTooSmall {
                needed: 60,
                available: 59
            })
        );
    }

    #[test]
    fn default_plan_schedule() {
        let plan = AnnouncePlan::default();
        assert_eq!(plan.validate(), Ok(()));
        let mut a = Announcer::new(plan);
        assert!(!a.is_active());
        assert_eq!(a.poll(Instant::from_millis(5)), None);
        let t0 = Instant::from_millis(1000);
        a.start(t0);
        let mut sent = Vec::new();
        let mut now = t0;
        // Step 1 ms at a time for a second: exactly three rounds, 50 ms apart.
        for _ in 0..1000 {
            if let Some(r) = a.poll(now) {
                sent.push((r.index, now.saturating_since(t0).total_micros() / 1000));
                assert_eq!(
                    r.forms().collect::<Vec<_>>(),
                    vec![GarpForm::Request, GarpForm::Reply]
                );
            }
            now += Duration::from_millis(1);
        }
        assert_eq!(sent, vec![(0, 0), (1, 50), (2, 100)]);
        assert!(!a.is_active());
        assert_eq!(a.next_due(), None);
    }

    #[test]
    fn late_polls_do_not_burst_and_restart_resets() {
        let mut a = Announcer::new(AnnouncePlan::default());
        let t0 = Instant::from_millis(0);
        a.start(t0);
        assert!(a.poll(t0).is_some());
        // Polled 500 ms late: one round now, the next 50 ms later.
        let late = Instant::from_millis(500);
        assert_eq!(a.poll(late).map(|r| r.index), Some(1));
        assert!(a.poll(late).is_none());
        assert_eq!(a.time_until_due(late), Some(Duration::from_millis(50)));
        // Restart mid-way: from round 0 again.
        a.start(late);
        assert_eq!(a.poll(late).map(|r| r.index), Some(0));
        a.stop();
        assert!(a.poll(Instant::from_millis(10_000)).is_none());
    }

    #[test]
    fn plan_validation() {
        let ok = AnnouncePlan::default();
        assert!(AnnouncePlan { rounds: 0, ..ok }.validate().is_err());
        assert!(AnnouncePlan { rounds: 51, ..ok }.validate().is_err());
        assert!(AnnouncePlan {
            spacing: Duration::ZERO,
            ..ok
        }
        .validate()
        .is_err());
        assert!(AnnouncePlan {
            rounds: 1,
            spacing: Duration::ZERO,
            ..ok
        }
        .validate()
        .is_ok());
        assert!(AnnouncePlan {
            spacing: Duration::from_millis(10_001),
            ..ok
        }
        .validate()
        .is_err());
        assert!(AnnouncePlan {
            request: false,
            reply: false,
            ..ok
        }
        .validate()
        .is_err());
        let reply_only = AnnouncePlan {
            request: false,
            ..ok
        };
        assert_eq!(
            reply_only.forms().collect::<Vec<_>>(),
            vec![GarpForm::Reply]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn parse_arp_never_panics(frame in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse_arp(&frame);
        }

        #[test]
        fn garp_round_trip(mac in any::<[u8; 6]>(), ip in any::<u32>(), reply in any::<bool>()) {
            let mac = MacAddr(mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
            let form = if reply { GarpForm::Reply } else { GarpForm::Request };
            let mut buf = [0u8; 60];
            let len = build_garp(&mut buf, form, mac, Ipv4Addr::from(ip)).unwrap();
            let v = parse_arp(&buf[..len]).unwrap();
            prop_assert_eq!(v.garp_form(), Some(form));
            prop_assert_eq!(v.sender_mac, mac);
            prop_assert_eq!(v.sender_ip, Ipv4Addr::from(ip));
        }

        #[test]
        fn rounds_are_never_closer_than_spacing(
            rounds in 1u8..10, spacing_ms in 1u64..200,
            steps in proptest::collection::vec(0u64..300, 1..100),
        ) {
            let plan = AnnouncePlan { rounds, spacing: Duration::from_millis(spacing_ms), ..AnnouncePlan::default() };
            let mut a = Announcer::new(plan);
            let mut now = Instant::from_millis(7);
            a.start(now);
            let mut last: Option<Instant> = None;
            let mut count = 0u8;
            for step in steps {
                while let Some(r) = a.poll(now) {
                    prop_assert_eq!(r.index, count);
                    if let Some(l) = last {
                        prop_assert!(now.saturating_since(l) >= plan.spacing);
                    }
                    last = Some(now);
                    count += 1;
                }
                now += Duration::from_millis(step);
            }
            prop_assert!(count <= rounds);
        }
    }
}
