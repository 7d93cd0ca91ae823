//! Namespace integration tests for the host's network layer: raw channels,
//! heartbeat frames, gratuitous ARP and netlink addresses on real Linux
//! network stacks (veth pairs between namespaces that the tests create and
//! always delete; documentation addresses only).
//!
//! They need root. Without it each test prints a loud "SKIPPED: needs root"
//! and returns; CI runs as root and runs them all.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use failover_core::Instant as CoreInstant;
use failover_core::{Primary, PrimaryConfig, Secondary, SecondaryConfig};
use failover_host::config::cli::Program;
use failover_host::config::options::node_id;
use failover_host::daemon::node::Node;
use failover_host::net::channel::{
    wait_readable, Channel, ChannelConfig, ChannelError, RxFilter, DAEMON_QUEUE_BYTES,
};
use failover_host::net::frame::{build_udp_frame, parse_udp_frame, UdpFlow, BROADCAST_MAC};
use failover_host::net::garp::{build_garp, parse_arp, AnnouncePlan, Announcer, GarpForm};
use failover_host::net::Senders;
use failover_host::netlink::addr::{
    daemon_label, AddrError, Change, Mark, Netlink, TargetKind, ADDR_PROTO,
};
use failover_lab::netns::{skip_unless_root, veth, Netns};

const PORT: u16 = 1694;
const A_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const PRIVATE_BCAST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 255);
const SERVICE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------------------
// A per-thread counting allocator, for the zero-allocation test.

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards every call to the system allocator unchanged; the
// counter is a const-initialised thread-local Cell (no allocation, no
// destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// ---------------------------------------------------------------------------

/// Two hosts joined by a veth pair a0 <-> b0, up, with no addresses.
fn pair() -> (Netns, Netns) {
    let a = Netns::new("a").expect("namespace a");
    let b = Netns::new("b").expect("namespace b");
    veth(&a, "a0", &b, "b0").expect("veth pair");
    (a, b)
}

fn open(ns: &Netns, ifname: &'static str, config: ChannelConfig) -> Channel {
    ns.run(move || Channel::open(ifname, &config))
        .expect("enter namespace")
        .unwrap_or_else(|e| panic!("open {ifname} in {}: {e}", ns.name()))
}

/// The two namespaces (kept alive by the caller), a heartbeat channel at
/// each end of the veth (a0 sends, b0 receives) and the flow a0 sends.
fn beating_pair() -> (Netns, Netns, Channel, Channel, UdpFlow) {
    let (a, b) = pair();
    let tx = open(&a, "a0", ChannelConfig::heartbeat(PORT));
    let rx = open(&b, "b0", ChannelConfig::heartbeat(PORT));
    let flow = heartbeat_flow(&tx);
    (a, b, tx, rx, flow)
}

fn heartbeat_flow(ch: &Channel) -> UdpFlow {
    UdpFlow {
        src_mac: ch.mac(),
        dst_mac: BROADCAST_MAC,
        src_ip: A_IP,
        dst_ip: PRIVATE_BCAST,
        src_port: PORT,
        dst_port: PORT,
    }
}

/// Receives frames until `want` accepts one or `WAIT` passes.
fn recv_until<T>(ch: &mut Channel, mut want: impl FnMut(&[u8]) -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + WAIT;
    for _ in 0..10_000 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        match ch.recv_timeout(left).expect("recv") {
            Some(frame) => {
                if let Some(t) = want(frame) {
                    return Some(t);
                }
            }
            None => return None,
        }
    }
    None
}

#[test]
fn heartbeat_reaches_peer_without_any_address() {
    if skip_unless_root("net_ns::heartbeat_reaches_peer_without_any_address") {
        return;
    }
    let (a, b) = pair();
    let mut tx = open(&a, "a0", ChannelConfig::heartbeat(PORT));
    let mut rx = open(&b, "b0", ChannelConfig::heartbeat(PORT));
    // The design point: b0 has no IPv4 address at all.
    let b_info = b.run(|| Netlink::open()?.interface("b0")).unwrap().unwrap();
    assert!(b_info.addrs.is_empty(), "{:?}", b_info.addrs);
    assert!(b_info.link.up);
    assert_eq!(Some(rx.mac()), b_info.link.mac);
    assert_eq!(rx.index(), b_info.link.index);
    assert_eq!(rx.name(), "b0");

    let flow = heartbeat_flow(&tx);
    let mut buf = [0u8; 256];
    // Noise the kernel filter must drop: another port, and a fragment.
    let n = build_udp_frame(
        &mut buf,
        &UdpFlow {
            dst_port: 53,
            ..flow
        },
        b"noise",
    )
    .unwrap();
    tx.send(&buf[..n]).unwrap();
    let n = build_udp_frame(&mut buf, &flow, b"fragment").unwrap();
    buf[20] |= 0x20;
    tx.send(&buf[..n]).unwrap();
    let n = build_udp_frame(&mut buf, &flow, b"HB beat 1").unwrap();
    tx.send(&buf[..n]).unwrap();

    // The first frame through the filter is the heartbeat.
    let frame = rx
        .recv_timeout(WAIT)
        .unwrap()
        .expect("heartbeat within 3 s")
        .to_vec();
    let v = parse_udp_frame(&frame, PORT).expect("parses");
    assert_eq!(v.payload, b"HB beat 1");
    assert_eq!(v.src_mac, tx.mac());
    assert_eq!(v.dst_mac, BROADCAST_MAC);
    assert_eq!(v.src_ip, A_IP);
    assert_eq!(v.dst_ip, PRIVATE_BCAST);
    assert_eq!(v.src_port, PORT);
    // Nothing else came through, and the sender does not hear itself.
    assert!(rx.try_recv().unwrap().is_none());
    assert!(tx
        .recv_timeout(Duration::from_millis(100))
        .unwrap()
        .is_none());
}

#[test]
fn a_burst_is_read_sixteen_frames_per_system_call_in_order() {
    if skip_unless_root("net_ns::a_burst_is_read_sixteen_frames_per_system_call_in_order") {
        return;
    }
    let (_a, _b, mut tx, mut rx, flow) = beating_pair();
    let mut buf = [0u8; 256];
    for i in 0..40u32 {
        let n = build_udp_frame(&mut buf, &flow, &i.to_be_bytes()).unwrap();
        tx.send(&buf[..n]).unwrap();
    }
    assert!(wait_readable(rx.as_fd(), WAIT).unwrap(), "nothing arrived");
    // veth hands frames over in its softirq: let the rest of the burst land.
    std::thread::sleep(Duration::from_millis(100));

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    for _ in 0..10 {
        let batch = rx.recv_batch().unwrap();
        let drained = batch.drained;
        let before = seen.len();
        for frame in batch {
            let v = parse_udp_frame(frame, PORT).expect("parses");
            seen.push(u32::from_be_bytes(v.payload.try_into().expect("4 bytes")));
        }
        sizes.push(seen.len() - before);
        if drained {
            break;
        }
    }
    assert_eq!(seen, (0..40).collect::<Vec<_>>(), "batches {sizes:?}");
    assert_eq!(sizes, [16, 16, 8], "frames per recvmmsg");
    // An empty queue is an empty, drained batch, not an error.
    let mut empty = rx.recv_batch().unwrap();
    assert!(empty.drained);
    assert!(empty.next().is_none());
}

/// A payload shaped like a heartbeat header naming `sender` (the kernel
/// filter reads only the sender field).
fn payload_from(sender: Ipv4Addr) -> [u8; 24] {
    let mut p = *b"HB\x01\x01\0\0\0\x18....\x02\0\0\0\0\0\0\x01\0\0\0\x01";
    p[8..12].copy_from_slice(&sender.octets());
    p
}

#[test]
fn kernel_filter_passes_only_the_peer_and_witness_heartbeats() {
    if skip_unless_root("net_ns::kernel_filter_passes_only_the_peer_and_witness_heartbeats") {
        return;
    }
    let (a, b) = pair();
    let mut tx = open(&a, "a0", ChannelConfig::heartbeat(PORT));
    let witness = Ipv4Addr::new(198, 51, 100, 3);
    let stranger = Ipv4Addr::new(198, 51, 100, 99);
    let senders = Senders::peer_and_witness(u32::from(A_IP), Some(u32::from(witness)));
    let filtered = ChannelConfig {
        filter: RxFilter::Udp {
            port: PORT,
            arp: false,
            senders,
        },
        ..ChannelConfig::heartbeat(PORT)
    };
    let mut rx = open(&b, "b0", filtered);
    // The daemon's queue, beyond net.core.rmem_max (SO_RCVBUFFORCE; the
    // kernel reports twice what was asked, its bookkeeping share).
    let queue = socket2::SockRef::from(&rx).recv_buffer_size().unwrap();
    assert!(queue >= DAEMON_QUEUE_BYTES, "receive queue {queue} bytes");
    let mut any = open(&b, "b0", ChannelConfig::heartbeat(PORT));
    let mut nothing = open(
        &b,
        "b0",
        ChannelConfig {
            filter: RxFilter::Nothing,
            ..ChannelConfig::heartbeat(PORT)
        },
    );

    let flow = heartbeat_flow(&tx);
    let mut buf = [0u8; 256];
    // Strangers first, then the peer, the witness, a datagram too short to
    // name a sender, and the peer again as the end marker.
    let mut sent = Vec::new();
    for (i, sender) in [stranger, A_IP, stranger, witness, B_IP, A_IP]
        .into_iter()
        .enumerate()
    {
        let mut p = payload_from(sender);
        p[23] = i as u8;
        let n = build_udp_frame(&mut buf, &flow, &p).unwrap();
        tx.send(&buf[..n]).unwrap();
        sent.push((sender, i as u8));
        if i == 4 {
            let n = build_udp_frame(&mut buf, &flow, b"HB\x01").unwrap();
            tx.send(&buf[..n]).unwrap();
        }
    }
    let mut heard = Vec::new();
    while let Some(frame) = rx.recv_timeout(Duration::from_millis(300)).unwrap() {
        let v = parse_udp_frame(frame, PORT).expect("parses");
        let p = v.payload;
        heard.push((Ipv4Addr::new(p[8], p[9], p[10], p[11]), p[23]));
        if heard.len() > sent.len() {
            break;
        }
    }
    assert_eq!(
        heard,
        vec![(A_IP, 1), (witness, 3), (A_IP, 5)],
        "only the peer's and the witness's heartbeats pass"
    );
    // The same frames through an any-sender filter: all of them, the short
    // one too (the core counts it as malformed).
    let mut all = 0;
    while any
        .recv_timeout(Duration::from_millis(300))
        .unwrap()
        .is_some()
    {
        all += 1;
        if all > sent.len() + 1 {
            break;
        }
    }
    assert_eq!(all, sent.len() + 1);
    assert!(
        nothing
            .recv_timeout(Duration::from_millis(100))
            .unwrap()
            .is_none(),
        "a send-only channel receives nothing"
    );
}

#[test]
fn kernel_udp_socket_accepts_our_frames() {
    // Checks the IPv4 and UDP checksums and layout against the real stack.
    if skip_unless_root("net_ns::kernel_udp_socket_accepts_our_frames") {
        return;
    }
    let (a, b) = pair();
    b.add_addr("b0", "198.51.100.2/24").unwrap();
    let mut tx = open(&a, "a0", ChannelConfig::heartbeat(PORT));
    let sock = b
        .run(|| {
            let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT))?;
            s.set_read_timeout(Some(WAIT))?;
            Ok::<_, std::io::Error>(s)
        })
        .unwrap()
        .unwrap();
    let mut buf = [0u8; 128];
    let n = build_udp_frame(&mut buf, &heartbeat_flow(&tx), b"checked by Linux").unwrap();
    tx.send(&buf[..n]).unwrap();
    let mut got = [0u8; 64];
    let (len, from) = sock.recv_from(&mut got).expect("kernel delivered it");
    assert_eq!(&got[..len], b"checked by Linux");
    assert_eq!(from, (A_IP, PORT).into());
}

#[test]
fn gratuitous_arp_both_forms_on_schedule() {
    if skip_unless_root("net_ns::gratuitous_arp_both_forms_on_schedule") {
        return;
    }
    let (a, b) = pair();
    let mut tx = open(&a, "a0", ChannelConfig::heartbeat(PORT));
    let mut rx = open(
        &b,
        "b0",
        ChannelConfig {
            filter: RxFilter::Udp {
                port: PORT,
                arp: true,
                senders: Senders::Any,
            },
            ..ChannelConfig::heartbeat(PORT)
        },
    );

    // Drive the default plan the way the daemon loop does: poll the
    // announcer with the current time, sleep until its next due time.
    let origin = Instant::now();
    let now = || CoreInstant::from_micros(origin.elapsed().as_micros() as u64);
    let mut announcer = Announcer::new(AnnouncePlan::default());
    announcer.start(now());
    let mut buf = [0u8; 64];
    let mut sent = 0;
    for _ in 0..100 {
        let t = now();
        while let Some(round) = announcer.poll(t) {
            for form in round.forms() {
                let n = build_garp(&mut buf, form, tx.mac(), SERVICE).unwrap();
                tx.send(&buf[..n]).unwrap();
                sent += 1;
            }
        }
        match announcer.time_until_due(now()) {
            Some(d) => std::thread::sleep(Duration::from_micros(d.total_micros())),
            None => break,
        }
    }
    assert_eq!(sent, 6);
    assert!(!announcer.is_active());

    let mut seen = Vec::new();
    while seen.len() < 6 {
        let Some((form, at)) = recv_until(&mut rx, |f| {
            let arp = parse_arp(f)?;
            assert_eq!(arp.sender_mac, tx.mac());
            assert_eq!(arp.eth_src, tx.mac());
            assert_eq!(arp.eth_dst, BROADCAST_MAC);
            assert_eq!(arp.sender_ip, SERVICE);
            assert_eq!(arp.target_ip, SERVICE);
            Some((arp.garp_form().expect("gratuitous"), Instant::now()))
        }) else {
            break;
        };
        seen.push((form, at));
    }
    let forms: Vec<GarpForm> = seen.iter().map(|s| s.0).collect();
    use GarpForm::{Reply, Request};
    assert_eq!(forms, vec![Request, Reply, Request, Reply, Request, Reply]);
}

#[test]
fn resolve_mac_by_arp() {
    if skip_unless_root("net_ns::resolve_mac_by_arp") {
        return;
    }
    let (a, b) = pair();
    a.add_addr("a0", "198.51.100.1/24").unwrap();
    b.add_addr("b0", "198.51.100.2/24").unwrap();
    let b_mac = b.mac("b0").unwrap();
    let arp_config = ChannelConfig {
        filter: RxFilter::Udp {
            port: PORT,
            arp: true,
            senders: Senders::Any,
        },
        ..ChannelConfig::heartbeat(PORT)
    };
    let mut ch = open(&a, "a0", arp_config);
    let mac = ch
        .resolve_mac(A_IP, B_IP, Duration::from_secs(2))
        .unwrap()
        .expect("b answers ARP");
    assert_eq!(mac.to_string(), b_mac);
    // Nobody has .99: bounded, then None.
    let start = Instant::now();
    let none = ch
        .resolve_mac(
            A_IP,
            Ipv4Addr::new(198, 51, 100, 99),
            Duration::from_millis(300),
        )
        .unwrap();
    assert_eq!(none, None);
    assert!(start.elapsed() < Duration::from_secs(2));
    // A heartbeat-only channel refuses (its filter drops ARP).
    let mut hb = open(&a, "a0", ChannelConfig::heartbeat(PORT));
    assert!(hb
        .resolve_mac(A_IP, B_IP, Duration::from_millis(10))
        .is_err());
}

#[test]
fn labelled_addresses_add_list_remove() {
    if skip_unless_root("net_ns::labelled_addresses_add_list_remove") {
        return;
    }
    let (a, _b) = pair();
    // An administrator's own address, which the daemon must never remove.
    a.add_addr("a0", "192.0.2.20/24").unwrap();
    let label = daemon_label("a0").unwrap();
    assert_eq!(label, "a0:fo");
    let mark = Mark::Label(label.clone());

    a.run(|| {
        let mut nl = Netlink::open().unwrap();
        let link = nl.link_by_name("a0").unwrap();
        assert!(link.up && link.ethernet && link.mac.is_some());
        let idx = link.index;
        assert_eq!(nl.list_ours("a0").unwrap(), vec![]);

        assert_eq!(nl.add(idx, SERVICE, 32, &mark).unwrap(), Change::Done);
        assert_eq!(
            nl.add(idx, SERVICE, 32, &mark).unwrap(),
            Change::AlreadyThere
        );
        let ours = nl.list_ours("a0").unwrap();
        assert_eq!(ours.len(), 1);
        assert_eq!(ours[0].addr, SERVICE);
        assert_eq!(ours[0].prefix_len, 32);
        assert_eq!(ours[0].label, "a0:fo");
        assert_eq!(ours[0].proto, ADDR_PROTO, "the protocol too (Linux 5.18+)");

        let info = nl.interface("a0").unwrap();
        let admin = info
            .addrs
            .iter()
            .find(|x| x.addr == Ipv4Addr::new(192, 0, 2, 20))
            .expect("admin address listed");
        assert_eq!(admin.prefix_len, 24);
        assert_eq!(admin.label, "a0");
        assert_eq!(admin.broadcast, None, "ip addr add without brd");
        assert!(matches!(
            info.classify_target(Ipv4Addr::new(192, 0, 2, 255)),
            TargetKind::SubnetBroadcast(_)
        ));
        // Apple's /32 rule input: the service address is on a0's own subnet.
        assert!(info.subnet_containing(SERVICE).is_some());

        // The label protects the administrator's address.
        assert_eq!(
            nl.remove(idx, Ipv4Addr::new(192, 0, 2, 20), 24, &mark)
                .unwrap(),
            Change::AlreadyThere
        );
        assert!(nl
            .addresses(idx)
            .unwrap()
            .iter()
            .any(|x| x.addr == Ipv4Addr::new(192, 0, 2, 20)));

        assert_eq!(nl.remove(idx, SERVICE, 32, &mark).unwrap(), Change::Done);
        assert_eq!(
            nl.remove(idx, SERVICE, 32, &mark).unwrap(),
            Change::AlreadyThere
        );
        assert_eq!(nl.list_ours("a0").unwrap(), vec![]);

        // A /24 service address gets its broadcast address.
        let svc = Ipv4Addr::new(203, 0, 113, 10);
        assert_eq!(nl.add(idx, svc, 24, &mark).unwrap(), Change::Done);
        let ours = nl.list_ours("a0").unwrap();
        assert_eq!(ours[0].broadcast, Some(Ipv4Addr::new(203, 0, 113, 255)));
        assert_eq!(nl.remove(idx, svc, 24, &mark).unwrap(), Change::Done);
    })
    .unwrap();
    // iproute2 sees the label the same way (checked while one is present).
    a.run(|| {
        let mut nl = Netlink::open().unwrap();
        let idx = nl.link_by_name("a0").unwrap().index;
        nl.add(idx, SERVICE, 32, &mark).unwrap()
    })
    .unwrap();
    let shown = a.ip(&["-4", "addr", "show", "label", "a0:fo"]).unwrap();
    assert!(shown.contains("192.0.2.10/32"), "{shown}");
}

/// Renames `from` to `to` in `ns` (the kernel renames only an interface
/// that is down).
fn rename(ns: &Netns, from: &str, to: &str) {
    ns.ip(&["link", "set", "dev", from, "down"]).unwrap();
    ns.ip(&["link", "set", "dev", from, "name", to]).unwrap();
    ns.ip(&["link", "set", "dev", to, "up"]).unwrap();
}

#[test]
fn long_interface_names_are_marked_by_the_protocol() {
    // A 15-byte name leaves no room for the daemon's label; its
    // addresses there carry the address protocol alone, and a removal
    // checks it first, so an administrator's address is never touched.
    if skip_unless_root("net_ns::long_interface_names_are_marked_by_the_protocol") {
        return;
    }
    const LONG: &str = "enp129s0f0.1001";
    let a = Netns::new("a").expect("namespace a");
    let b = Netns::new("b").expect("namespace b");
    veth(&a, LONG, &b, "b0").expect("a veth with a 15-byte name");
    // The host's own address, and two configured by hand: one on the
    // address the test then adds as a service address with another mask.
    a.add_addr(LONG, "192.0.2.2/24").unwrap();
    a.add_addr(LONG, "203.0.113.10/24").unwrap();
    a.add_addr(LONG, "198.51.100.20/32").unwrap();
    let mark = Mark::for_interface(LONG);
    assert_eq!(mark, Mark::Proto);
    let admin = Ipv4Addr::new(198, 51, 100, 20);
    let twin = Ipv4Addr::new(203, 0, 113, 10);

    a.run(|| {
        let mut nl = Netlink::open().unwrap();
        let support = nl.proto_support().unwrap();
        assert_eq!(support.mark_for(LONG).unwrap(), Mark::Proto, "{support:?}");
        let idx = nl.link_by_name(LONG).unwrap().index;
        assert_eq!(nl.list_ours(LONG).unwrap(), vec![]);

        assert_eq!(nl.add(idx, SERVICE, 32, &mark).unwrap(), Change::Done);
        assert_eq!(
            nl.add(idx, SERVICE, 32, &mark).unwrap(),
            Change::AlreadyThere
        );
        let ours = nl.list_ours(LONG).unwrap();
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert_eq!(ours[0].addr, SERVICE);
        assert_eq!(ours[0].proto, ADDR_PROTO);
        assert_eq!(ours[0].label, LONG, "no label of ours: the kernel's");

        // Configured by hand: a removal leaves it.
        assert_eq!(
            nl.remove(idx, admin, 32, &mark).unwrap(),
            Change::AlreadyThere
        );
        // Ours beside one configured by hand on the same address (another
        // mask, the same label): each is told apart.
        assert_eq!(nl.add(idx, twin, 32, &mark).unwrap(), Change::Done);
        assert_eq!(
            nl.remove(idx, twin, 24, &mark).unwrap(),
            Change::AlreadyThere
        );
        assert_eq!(nl.remove(idx, twin, 32, &mark).unwrap(), Change::Done);
    })
    .unwrap();

    // Renamed while the daemon's address is on: the protocol stays, so it
    // is still found and removed under the new name.
    rename(&a, LONG, "lan1");
    a.run(|| {
        let mut nl = Netlink::open().unwrap();
        let idx = nl.link_by_name("lan1").unwrap().index;
        let ours = nl.list_ours("lan1").unwrap();
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert_eq!(ours[0].addr, SERVICE);
        assert_eq!(
            nl.remove(idx, SERVICE, 32, &mark.renamed("lan1")).unwrap(),
            Change::Done
        );
    })
    .unwrap();
    rename(&a, "lan1", LONG);

    // The same address configured by hand: the daemon's add finds it there,
    // and its removal leaves it.
    a.add_addr(LONG, "192.0.2.10/32").unwrap();
    a.run(|| {
        let mut nl = Netlink::open().unwrap();
        let idx = nl.link_by_name(LONG).unwrap().index;
        assert_eq!(
            nl.add(idx, SERVICE, 32, &mark).unwrap(),
            Change::AlreadyThere
        );
        assert_eq!(nl.list_ours(LONG).unwrap(), vec![]);
        assert_eq!(
            nl.remove(idx, SERVICE, 32, &mark).unwrap(),
            Change::AlreadyThere
        );
        let mut left: Vec<String> = nl
            .addresses(idx)
            .unwrap()
            .iter()
            .map(|x| format!("{}/{}", x.addr, x.prefix_len))
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "192.0.2.10/32",
                "192.0.2.2/24",
                "198.51.100.20/32",
                "203.0.113.10/24"
            ],
            "everything configured by hand is still there"
        );
    })
    .unwrap();
}

#[test]
fn clear_errors() {
    if skip_unless_root("net_ns::clear_errors") {
        return;
    }
    let (a, _b) = pair();
    a.run(|| {
        let e = Channel::open("nosuch0", &ChannelConfig::heartbeat(PORT)).unwrap_err();
        assert!(matches!(e, ChannelError::NoSuchInterface { .. }), "{e}");
        assert_eq!(e.to_string(), "nosuch0: no such interface");
        let e = Channel::open("lo", &ChannelConfig::heartbeat(PORT)).unwrap_err();
        assert!(matches!(e, ChannelError::NotEthernet { .. }), "{e}");
        let e = Channel::open("bad/name", &ChannelConfig::heartbeat(PORT)).unwrap_err();
        assert!(matches!(e, ChannelError::NoSuchInterface { .. }), "{e}");

        let mut nl = Netlink::open().unwrap();
        assert!(matches!(
            nl.link_by_name("nosuch0"),
            Err(AddrError::NoSuchInterface { .. })
        ));
        assert!(matches!(
            nl.interface("nosuch0"),
            Err(AddrError::NoSuchInterface { .. })
        ));
        assert!(matches!(
            nl.list_ours("nosuch0"),
            Err(AddrError::NoSuchInterface { .. })
        ));
        assert!(matches!(
            nl.list_ours("abcdefghijklmn"),
            Err(AddrError::NoSuchInterface { .. })
        ));
        assert!(matches!(
            nl.add(999_999, SERVICE, 32, &Mark::Label("a0:fo".into())),
            Err(AddrError::NoSuchInterface { .. })
        ));
        assert!(nl
            .add(1, SERVICE, 33, &Mark::Label("lo:fo".into()))
            .is_err());
    })
    .unwrap();
    a.link_down("a0").unwrap();
    a.run(|| {
        let e = Channel::open("a0", &ChannelConfig::heartbeat(PORT)).unwrap_err();
        assert!(matches!(e, ChannelError::NotUp { .. }), "{e}");
        assert!(e.to_string().contains("down"));
        let cfg = ChannelConfig {
            require_up: false,
            ..ChannelConfig::heartbeat(PORT)
        };
        assert!(Channel::open("a0", &cfg).is_ok());
    })
    .unwrap();
}

fn thread_cpu() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
    Duration::from(t)
}

#[test]
fn idle_wait_sleeps_and_noise_never_wakes_it() {
    if skip_unless_root("net_ns::idle_wait_sleeps_and_noise_never_wakes_it") {
        return;
    }
    let (_a, _b, mut tx, mut rx, flow) = beating_pair();
    std::thread::scope(|s| {
        let waiter = s.spawn(move || {
            let cpu0 = thread_cpu();
            let t0 = Instant::now();
            let got = rx
                .recv_timeout(Duration::from_millis(600))
                .unwrap()
                .is_some();
            (got, t0.elapsed(), thread_cpu() - cpu0)
        });
        // 2000 frames of noise (other ports, ARP) while it waits.
        let mut buf = [0u8; 128];
        for i in 0..2000u16 {
            let n = if i % 2 == 0 {
                build_udp_frame(
                    &mut buf,
                    &UdpFlow {
                        dst_port: 2000 + i,
                        ..flow
                    },
                    b"noise",
                )
                .unwrap()
            } else {
                build_garp(&mut buf, GarpForm::Request, flow.src_mac, SERVICE).unwrap()
            };
            tx.send(&buf[..n]).unwrap();
            if i % 100 == 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let (got, waited, cpu) = waiter.join().unwrap();
        assert!(!got, "noise passed the filter");
        assert!(
            waited >= Duration::from_millis(590),
            "returned early: {waited:?}"
        );
        eprintln!("idle wait of {waited:?} under noise used {cpu:?} CPU");
        assert!(cpu < Duration::from_millis(20), "{cpu:?} CPU while idle");
    });
}

#[test]
fn steady_state_heartbeat_allocates_nothing() {
    if skip_unless_root("net_ns::steady_state_heartbeat_allocates_nothing") {
        return;
    }
    let (_a, _b, mut tx, mut rx, flow) = beating_pair();
    let mut buf = [0u8; 256];
    let mut garp = [0u8; 64];
    let mut received = 0usize;
    let mut payload = [0u8; 32];
    // One warm-up beat, then count.
    let mut beat = |i: u32, tx: &mut Channel, rx: &mut Channel| {
        payload[..4].copy_from_slice(&i.to_be_bytes());
        let n = build_udp_frame(&mut buf, &flow, &payload).unwrap();
        tx.send(&buf[..n]).unwrap();
        let g = build_garp(&mut garp, GarpForm::Reply, flow.src_mac, SERVICE).unwrap();
        tx.send(&garp[..g]).unwrap();
        assert!(wait_readable(rx.as_fd(), WAIT).unwrap(), "beat {i}");
        // As the daemons read: one batch (the beat; the ARP is filtered).
        let frame = rx.recv_batch().unwrap().next().expect("beat");
        let v = parse_udp_frame(frame, PORT).expect("parses");
        assert_eq!(&v.payload[..4], &i.to_be_bytes());
        received += 1;
    };
    beat(0, &mut tx, &mut rx);
    let before = allocations();
    for i in 1..=200 {
        beat(i, &mut tx, &mut rx);
    }
    let allocated = allocations() - before;
    assert_eq!(received, 201);
    assert_eq!(allocated, 0, "heap allocations in 200 steady-state beats");
}

#[test]
fn channel_survives_interface_down_and_up() {
    if skip_unless_root("net_ns::channel_survives_interface_down_and_up") {
        return;
    }
    let (a, b) = pair();
    let mut tx = open(&a, "a0", ChannelConfig::heartbeat(PORT));
    let mut rx = open(&b, "b0", ChannelConfig::heartbeat(PORT));
    b.link_down("b0").unwrap();
    // At most a few errors (ENETDOWN), then quiet: never a sticky error.
    let mut errors = 0;
    for _ in 0..10 {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Err(e) => {
                eprintln!("while down: {e}");
                errors += 1;
            }
            Ok(None) => {}
            Ok(Some(_)) => panic!("frame while down"),
        }
    }
    assert!(errors <= 2, "{errors} errors: POLLERR is sticky");
    b.link_up("b0").unwrap();
    let flow = heartbeat_flow(&tx);
    let mut buf = [0u8; 128];
    let n = build_udp_frame(&mut buf, &flow, b"after").unwrap();
    // Carrier takes a moment to return on the veth: resend, bounded.
    let deadline = Instant::now() + WAIT;
    let mut got = false;
    while !got && Instant::now() < deadline {
        let _ = tx.send(&buf[..n]);
        got = matches!(
            rx.recv_timeout(Duration::from_millis(50)),
            Ok(Some(f)) if parse_udp_frame(f, PORT).map(|v| v.payload == b"after") == Some(true)
        );
    }
    assert!(got, "no heartbeat after the interface came back");
}

/// Whether `ch` receives a heartbeat carrying `payload` within `WAIT`.
fn receives(ch: &mut Channel, payload: &[u8]) -> bool {
    recv_until(ch, |f| {
        parse_udp_frame(f, PORT)
            .filter(|v| v.payload == payload)
            .map(|_| ())
    })
    .is_some()
}

#[test]
fn a_round_on_two_links_reaches_both_and_a_dead_link_fails_alone() {
    if skip_unless_root("net_ns::a_round_on_two_links_reaches_both_and_a_dead_link_fails_alone") {
        return;
    }
    use failover_core::{Dest, LinkId, Transmit};
    use failover_host::daemon::ports::{LinkSpec, Ports, SendReport};
    let (a, b) = pair();
    veth(&a, "a1", &b, "b1").expect("second veth pair");
    let spec = |interface: &str| LinkSpec {
        interface: interface.to_owned(),
        source: A_IP,
        peers: PRIVATE_BCAST,
        witness: None,
    };
    let links = [spec("a0"), spec("a1")];
    let mut ports = a
        .run(move || Ports::open(&links, &[], PORT, Senders::Any))
        .expect("enter namespace")
        .expect("open the ports");
    let mut rx0 = open(&b, "b0", ChannelConfig::heartbeat(PORT));
    let mut rx1 = open(&b, "b1", ChannelConfig::heartbeat(PORT));
    let round = |ports: &mut Ports, payload: &[u8]| {
        let mut reports = Vec::new();
        for link in [0, 1] {
            let t = Transmit {
                link: LinkId(link),
                dest: Dest::Peers,
                len: payload.len(),
            };
            ports.queue(&t, payload, &mut reports);
        }
        ports.flush(&mut reports);
        reports
    };

    let reports = round(&mut ports, b"both");
    assert!(reports.is_empty(), "{reports:?}");
    assert!(receives(&mut rx0, b"both") && receives(&mut rx1, b"both"));

    // One link down: its frame fails, and says so once; the other still
    // goes out.
    a.link_down("a1").unwrap();
    let reports = round(&mut ports, b"one");
    assert!(
        matches!(reports.as_slice(), [(LinkId(1), SendReport::Failing(_))]),
        "{reports:?}"
    );
    assert!(receives(&mut rx0, b"one"));
    let reports = round(&mut ports, b"again");
    assert!(
        reports.is_empty(),
        "the failure is reported once: {reports:?}"
    );
    assert!(receives(&mut rx0, b"again"));

    // Back up: the recovery is reported, and both links get the round.
    a.link_up("a1").unwrap();
    let deadline = Instant::now() + WAIT;
    let mut recovered = false;
    while !recovered && Instant::now() < deadline {
        let reports = round(&mut ports, b"back");
        recovered = matches!(reports.as_slice(), [(LinkId(1), SendReport::Recovered)]);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(recovered, "no recovery reported after the link came back");
    assert!(receives(&mut rx1, b"back"));
}

#[test]
fn receiving_5ms_beats_costs_little_cpu() {
    if skip_unless_root("net_ns::receiving_5ms_beats_costs_little_cpu") {
        return;
    }
    let (_a, _b, mut tx, mut rx, flow) = beating_pair();
    const BEATS: u32 = 200; // 1 s at 5 ms
    std::thread::scope(|s| {
        let receiver = s.spawn(move || {
            let cpu0 = thread_cpu();
            let t0 = Instant::now();
            let mut got = 0u32;
            // The daemon's receive path: poll, drain, parse.
            while got < BEATS && t0.elapsed() < Duration::from_secs(5) {
                if let Some(frame) = rx.recv_timeout(Duration::from_millis(100)).unwrap() {
                    if parse_udp_frame(frame, PORT).is_some() {
                        got += 1;
                    }
                    while let Some(f) = rx.try_recv().unwrap() {
                        if parse_udp_frame(f, PORT).is_some() {
                            got += 1;
                        }
                    }
                }
            }
            (got, t0.elapsed(), thread_cpu() - cpu0)
        });
        let mut buf = [0u8; 128];
        let start = Instant::now();
        for i in 0..BEATS {
            let n = build_udp_frame(&mut buf, &flow, &i.to_be_bytes()).unwrap();
            tx.send(&buf[..n]).unwrap();
            let next = start + Duration::from_millis(5) * (i + 1);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        let (got, wall, cpu) = receiver.join().unwrap();
        let share = cpu.as_secs_f64() / wall.as_secs_f64() * 100.0;
        eprintln!("received {got} beats at 5 ms in {wall:?}: {cpu:?} CPU ({share:.3} % of a core)");
        assert_eq!(got, BEATS);
        assert!(share < 5.0, "{share:.2} % of a core for the receive path");
    });
}

/// What one daemon loop did in the measured window.
#[derive(Debug)]
struct LoopReport {
    allocations: u64,
    /// Allocations in the turns that logged nothing and wrote no metrics,
    /// and how many those were.
    quiet_allocations: u64,
    quiet_turns: u64,
    /// The turns that wrote the metrics file (every 5 s: they may
    /// allocate, for its text).
    metrics_turns: u64,
    accepted: u32,
    turns: u64,
    /// What it logged meanwhile: nothing in a steady state. On a loaded
    /// machine, a loop at 5 ms beats now and then waits over two intervals
    /// for the CPU: a stall, which it logs ("the clock jumped"), and a log
    /// line allocates.
    logged: Vec<String>,
}

/// A real daemon loop (the `Runtime` both binaries run, with raw
/// channels on `ifnames`, one link each, netlink, the carrier watch,
/// signals and notifications, but no fork or pid file) for `node` at
/// `interval`, inside the calling thread's namespace, with its log in
/// memory and its files in `dir`.
fn daemon_runtime<N: Node>(
    node: N,
    program: Program,
    ifnames: &[&str],
    interval: failover_core::Duration,
    dir: &std::path::Path,
) -> (
    failover_host::daemon::runtime::Runtime<N>,
    failover_host::notify::LogCapture,
) {
    use failover_host::daemon::ports::{LinkSpec, Ports};
    use failover_host::daemon::reload::{DaemonSettings, RestartSettings};
    use failover_host::daemon::runtime::{Effects, Io, Labels, Runtime, Setup, StateFiles};
    use failover_host::daemon::services::Services;
    use failover_host::netlink::linkwatch::LinkWatch;
    use failover_host::notify::{Logger, Notifier, NotifyContext};
    use failover_host::scripts::{ScriptConfig, StageContext, StageRunner};
    use nix::sys::signal::{SigSet, Signal as Sig};
    use nix::sys::signalfd::{SfdFlags, SignalFd};

    let role = node.role();
    let (log, capture) = Logger::memory(program.name());
    let mut nl = Netlink::open().unwrap();
    let links: Vec<LinkSpec> = ifnames
        .iter()
        .map(|name| LinkSpec {
            interface: (*name).to_owned(),
            source: Ipv4Addr::UNSPECIFIED,
            peers: PRIVATE_BCAST,
            witness: None,
        })
        .collect();
    let ports = Ports::open(&links, &[], PORT, Senders::Any).unwrap();
    let carrier = LinkWatch::open(&mut nl, ifnames, &[]).unwrap();
    // Only this thread's mask: the signal fd is what the loop polls.
    let mut mask = SigSet::empty();
    mask.add(Sig::SIGUSR2);
    mask.thread_block().unwrap();
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK).unwrap();
    let disk = failover_host::disk::Disk::start(log.clone()).unwrap();
    let setup = Setup {
        log: log.clone(),
        io: Io {
            ports,
            netlink: nl,
            carrier,
            probe: None,
            signals,
        },
        effects: Effects {
            services: Services::default(),
            runner: Some(StageRunner::new(ScriptConfig::new(dir), log.clone())),
            health: None,
            hooks: None,
            notifier: Notifier::new(log.clone(), None, disk.clone()),
            announce: AnnouncePlan::default(),
        },
        labels: Labels {
            program,
            link_names: ifnames.iter().map(|n| format!("link ({n})")).collect(),
            peer: "peer".to_owned(),
            witness: None,
            notify_base: NotifyContext::new("test", role),
            stage_base: StageContext {
                role,
                addresses: Vec::new(),
                peer: None,
                reason: String::new(),
            },
        },
        files: StateFiles {
            pid_file: dir.join("d.pid"),
            epoch_file: dir.join("d.epoch"),
            peers_file: dir.join("d.peers"),
            peer_epochs: Vec::new(),
        },
        reload: Box::new(move || {
            Err(failover_host::config::cli::StartupError::new(
                program,
                Vec::new(),
                Vec::new(),
            ))
        }),
        settings: RestartSettings {
            port: PORT,
            interval,
            witness: None,
            services: Vec::new(),
            spool_dir: dir.join("spool"),
            probe: None,
            files: Default::default(),
            facility: Default::default(),
            announce: Default::default(),
            metrics_file: Some(dir.join(format!("{}.prom", program.name()))),
            apple_compat: false,
            daemon: DaemonSettings::Heartbeatd {
                targets: Vec::new(),
                peer: None,
                failback: Default::default(),
                checks: None,
            },
        },
        disk,
        status_disk: failover_host::disk::Disk::start(log.clone()).unwrap(),
    };
    let clock = failover_host::daemon::clock::BootClock::start().unwrap();
    (Runtime::new(node, setup, Box::new(clock)), capture)
}

/// Runs [`daemon_runtime`] for `node` on `ifname` at 5 ms beats: `warm_up`
/// first, then `measure` with the allocations of this thread counted.
fn run_daemon_loop<N: Node>(
    node: N,
    program: Program,
    ifname: &str,
    warm_up: Duration,
    measure: Duration,
) -> LoopReport {
    let dir = tempfile::tempdir().unwrap();
    let metrics_file = dir.path().join(format!("{}.prom", program.name()));
    let interval = failover_core::Duration::from_millis(5);
    let (mut rt, capture) = daemon_runtime(node, program, &[ifname], interval, dir.path());
    let start = Instant::now();
    while start.elapsed() < warm_up {
        rt.turn();
    }
    let lines = capture.text().lines().count();
    let accepted = rt.node().stats().rx.accepted;
    let before = allocations();
    let mut turns = 0;
    // The turns that logged nothing and wrote no metrics: a stall on a
    // loaded machine logs (and a log line allocates), the metrics file is
    // written every 5 s (its text is built), a heartbeat sent or received
    // must not allocate. A write replaces the file (a rename): a new inode.
    // The writer thread writes it (its allocations are its own thread's,
    // not counted here): each turn waits for it, so the new inode shows in
    // the turn that queued the write.
    let (mut quiet_turns, mut quiet_allocations, mut metrics_turns) = (0u64, 0u64, 0u64);
    let inode = || {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&metrics_file).map_or(0, |m| m.ino())
    };
    let mut file = inode();
    let start = Instant::now();
    while start.elapsed() < measure {
        let (logged, allocated) = (capture.count(), allocations());
        rt.turn();
        turns += 1;
        let spent = allocations() - allocated;
        assert!(
            rt.disk().wait_idle(Duration::from_secs(5)),
            "the writer is stuck"
        );
        let now = inode();
        let wrote = std::mem::replace(&mut file, now) != now;
        if wrote {
            metrics_turns += 1;
        } else if capture.count() == logged {
            quiet_turns += 1;
            quiet_allocations += spent;
        }
    }
    let allocated = allocations() - before;
    let report = LoopReport {
        allocations: allocated,
        quiet_allocations,
        quiet_turns,
        metrics_turns,
        accepted: rt.node().stats().rx.accepted - accepted,
        turns,
        logged: capture
            .text()
            .lines()
            .skip(lines)
            .map(str::to_owned)
            .collect(),
    };
    drop(rt);
    assert!(
        !capture.contains("cannot"),
        "the loop reported an error:\n{}",
        capture.text()
    );
    report
}

#[test]
fn daemon_loops_allocate_nothing_per_heartbeat() {
    if skip_unless_root("net_ns::daemon_loops_allocate_nothing_per_heartbeat") {
        return;
    }
    let (a, b) = pair();
    let interval = failover_core::Duration::from_millis(5);
    let primary = PrimaryConfig::new(node_id(A_IP), 1, 1, interval);
    let mut secondary = SecondaryConfig::new(node_id(B_IP), 1, 1, interval);
    secondary.primary = Some(node_id(A_IP));
    // The measured window holds a metrics write (the first is at the first
    // turn, the next a period later), so the turns that write are seen to
    // be the only ones that allocate besides those that log.
    let warm_up = Duration::from_millis(500);
    let measure = failover_host::daemon::metrics::PERIOD + Duration::from_millis(500);
    let (p, s) = std::thread::scope(|scope| {
        let p = scope.spawn(|| {
            a.run(|| {
                let node = Primary::try_new(primary, CoreInstant::from_micros(0)).expect("config");
                run_daemon_loop(node, Program::Heartbeatd, "a0", warm_up, measure)
            })
            .unwrap()
        });
        let s = scope.spawn(|| {
            b.run(|| {
                let node =
                    Secondary::try_new(secondary, CoreInstant::from_micros(0)).expect("config");
                run_daemon_loop(node, Program::Failoverd, "b0", warm_up, measure)
            })
            .unwrap()
        });
        (p.join().unwrap(), s.join().unwrap())
    });
    println!("daemon loops, {measure:?} at 5 ms beats: primary {p:?}, secondary {s:?}");
    for (name, r) in [("heartbeatd", &p), ("failoverd", &s)] {
        println!(
            "{name}: {} allocations in all, for {} lines logged: {:?}",
            r.allocations,
            r.logged.len(),
            r.logged
        );
    }
    // 5.5 s at 5 ms is 1100 beats; a loaded machine may lose some, not most.
    assert!(p.accepted >= 250 && s.accepted >= 250, "{p:?} {s:?}");
    // No busy loop: about a wake-up per beat for each (the primary for its
    // timer, the backup for the primary's frames); a spinning loop would turn millions of
    // times.
    assert!(p.turns < 11_000 && s.turns < 11_000, "{p:?} {s:?}");
    // The primary, steady, reads the backup's answers at its own rounds:
    // it turns once per beat (1 100 here), not once for its timer and
    // again for each answer (Node::frames_can_wait).
    assert!(
        p.turns <= 1_650,
        "the primary woke for the backup's answers: {} turns for 1 100 beats",
        p.turns
    );
    // Nothing per heartbeat: the turns that logged nothing and wrote no
    // metrics (nearly all of them) allocated nothing. A turn that logged (a
    // stall on a loaded machine, and the notice it leads to) may allocate
    // for its words, and the one that wrote the metrics for their text.
    for (name, r) in [("heartbeatd", &p), ("failoverd", &s)] {
        assert!(
            r.quiet_turns >= 250 && r.quiet_allocations == 0,
            "{name}'s loop allocated in turns that logged nothing: {r:?}"
        );
        assert!(
            (1..=2).contains(&r.metrics_turns),
            "{name} wrote its metrics {} times in {measure:?}: {r:?}",
            r.metrics_turns
        );
    }
}

/// What the core was handed, counted whatever it made of it.
fn frames_handed<N: Node>(rt: &failover_host::daemon::runtime::Runtime<N>) -> u32 {
    let rx = rt.node().stats().rx;
    rx.accepted
        + rx.malformed
        + rx.unknown_version
        + rx.unknown_type
        + rx.auth_failed
        + rx.replayed
        + rx.ignored
        + rx.unconfirmed
}

#[test]
fn a_daemon_channel_is_not_handed_what_the_host_sends() {
    if skip_unless_root("net_ns::a_daemon_channel_is_not_handed_what_the_host_sends") {
        return;
    }
    use failover_host::net::channel::IgnoreOutgoing;
    use nix::sys::socket::getsockopt;
    // Every frame any program sends out of a service interface would be
    // cloned for the daemon's socket and run through its filter, only to
    // be dropped: the kernel is told not to hand them over at all. The
    // lab's captures, which record both directions, still get them.
    let (a, b) = pair();
    let daemon = open(&a, "a0", ChannelConfig::heartbeat(PORT));
    let send_only = open(
        &a,
        "a0",
        ChannelConfig {
            filter: RxFilter::Nothing,
            ..ChannelConfig::heartbeat(PORT)
        },
    );
    let mut capture = open(&a, "a0", ChannelConfig::capture_of(RxFilter::Everything));
    assert_eq!(getsockopt(&daemon.as_fd(), IgnoreOutgoing), Ok(true));
    assert_eq!(getsockopt(&send_only.as_fd(), IgnoreOutgoing), Ok(true));
    assert_eq!(getsockopt(&capture.as_fd(), IgnoreOutgoing), Ok(false));
    // What the host sends still reaches the wire, and the capture.
    let mut tx = open(&a, "a0", ChannelConfig::heartbeat(PORT));
    let mut rx = open(&b, "b0", ChannelConfig::heartbeat(PORT));
    let flow = heartbeat_flow(&tx);
    let mut frame = [0u8; 128];
    let len = build_udp_frame(&mut frame, &flow, b"outgoing").unwrap();
    tx.send(&frame[..len]).unwrap();
    assert!(receives(&mut rx, b"outgoing"));
    assert!(receives(&mut capture, b"outgoing"));
}

#[test]
fn a_round_split_across_the_wake_up_is_read_in_one_turn() {
    if skip_unless_root("net_ns::a_round_split_across_the_wake_up_is_read_in_one_turn") {
        return;
    }
    // A peer's round is one frame per link; they arrive microseconds
    // apart, and the loop's wait may return for the first alone. Here the
    // second comes after that wait, deterministically: the turn that takes
    // the first in must take the second too, not wait and wake for it.
    let (a, b) = pair();
    veth(&a, "a1", &b, "b1").expect("second veth pair");
    let mut tx = [
        open(&a, "a0", ChannelConfig::heartbeat(PORT)),
        open(&a, "a1", ChannelConfig::heartbeat(PORT)),
    ];
    let mut send = |link: usize| {
        let mut frame = [0u8; 128];
        let ch = &mut tx[link];
        // Not a heartbeat: the core counts it as malformed, which is all
        // this needs (a frame handed over).
        let flow = heartbeat_flow(ch);
        let len = build_udp_frame(&mut frame, &flow, b"half a round").unwrap();
        ch.send(&frame[..len]).unwrap();
        // Delivered to the other end's socket by the time the send
        // returns; the pause only makes that certain on a loaded machine.
        std::thread::sleep(Duration::from_millis(20));
    };
    b.run(|| {
        let dir = tempfile::tempdir().unwrap();
        // Long beats: no timer falls inside the test's turns.
        let interval = failover_core::Duration::from_secs(1);
        let config = SecondaryConfig::new(node_id(B_IP), 1, 2, interval);
        let node = Secondary::try_new(config, CoreInstant::from_micros(0)).expect("config");
        let (mut rt, capture) = daemon_runtime(
            node,
            Program::Failoverd,
            &["b0", "b1"],
            interval,
            dir.path(),
        );
        send(0);
        // Its first round out, then the wait: it returns for link 0.
        rt.turn();
        assert_eq!(frames_handed(&rt), 0, "nothing read before the wait");
        send(1);
        // Link 0's frame, and link 1's that came after the wait.
        rt.turn();
        assert_eq!(
            frames_handed(&rt),
            2,
            "the turn that read link 0 left link 1's frame for another wake-up:\n{}",
            capture.text()
        );
    })
    .expect("enter namespace b");
}

#[test]
fn a_steady_primary_reads_the_backups_answer_at_its_round_not_when_it_comes() {
    if skip_unless_root(
        "net_ns::a_steady_primary_reads_the_backups_answer_at_its_round_not_when_it_comes",
    ) {
        return;
    }
    // A primary in a steady phase lets the peers' frames wait for its next
    // round: one wake-up an interval (its timer) instead of two (its timer,
    // then the backup's answer). One in a handshake, or whose link floods,
    // wakes for them.
    use failover_host::daemon::ports::RX_BURST;
    let (a, b) = pair();
    let mut tx = open(&a, "a0", ChannelConfig::heartbeat(PORT));
    let mut send = move |count: usize| {
        let mut frame = [0u8; 128];
        let flow = heartbeat_flow(&tx);
        let len = build_udp_frame(&mut frame, &flow, b"not a heartbeat").unwrap();
        for _ in 0..count {
            tx.send(&frame[..len]).unwrap();
        }
    };
    b.run(|| {
        let dir = tempfile::tempdir().unwrap();
        let interval = failover_core::Duration::from_millis(50);
        let build = |manage: bool| {
            let mut config = PrimaryConfig::new(node_id(B_IP), 1, 1, interval);
            config.manage_addresses = manage;
            let node = Primary::try_new(config, CoreInstant::from_micros(0)).expect("config");
            daemon_runtime(node, Program::Heartbeatd, &["b0"], interval, dir.path())
        };
        // Reclaiming (it manages addresses, and has not heard that the
        // secondary holds none): the handshake wants the answer at once.
        let (reclaiming, _) = build(true);
        assert!(
            reclaiming.watches_links(),
            "a reclaiming primary must wake for frames"
        );
        drop(reclaiming);

        // Beating without addresses: steady.
        let (mut rt, capture) = build(false);
        assert!(
            !rt.watches_links(),
            "a steady primary need not wake for frames"
        );
        // The first round out, and the wait to the second.
        rt.turn();
        assert_eq!(frames_handed(&rt), 0);
        // A frame a fifth of the way into the next wait: the wait goes on
        // to the round (a lower bound only: a loaded machine makes it
        // later, never sooner).
        let waited = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(10));
                send(1);
            });
            let start = Instant::now();
            rt.turn();
            start.elapsed()
        });
        assert!(
            waited >= Duration::from_millis(40),
            "the wait returned after {waited:?} for a frame that could wait for the round:\n{}",
            capture.text()
        );
        assert_eq!(frames_handed(&rt), 0, "read before the turn after the wait");
        rt.turn();
        assert_eq!(frames_handed(&rt), 1, "the frame was read at the round");

        // A flood: more than one read takes. The next wait watches the
        // link, so the rest is read as it comes, not a round later.
        send(RX_BURST + 10);
        rt.turn();
        assert_eq!(frames_handed(&rt), 1 + RX_BURST as u32);
        assert!(rt.watches_links(), "a flooded link must be watched");
        rt.turn();
        assert_eq!(frames_handed(&rt), 11 + RX_BURST as u32);
        assert!(
            !rt.watches_links(),
            "the flood is over: the frames wait again"
        );
    })
    .expect("enter namespace b");
}

#[test]
fn link_watch_tells_a_dark_service_interface_from_a_dark_link() {
    // The reachability rule's input: a service interface without carrier
    // makes this host unreachable for clients; only the heartbeat links
    // count for "cut off from everyone".
    if skip_unless_root("net_ns::link_watch_tells_a_dark_service_interface_from_a_dark_link") {
        return;
    }
    use failover_host::netlink::linkwatch::LinkWatch;
    let (a, b) = pair();
    veth(&a, "a1", &b, "b1").expect("second veth pair");
    let (mut nl, mut watch) = a
        .run(|| {
            let mut nl = Netlink::open().expect("netlink");
            let watch = LinkWatch::open(&mut nl, &["a0"], &["a1"]).expect("link watch");
            (nl, watch)
        })
        .expect("enter namespace");
    assert!(watch.any_carrier());
    assert!(watch.services_without_carrier().is_empty());

    // The peer's end going down takes the carrier of ours.
    b.link_down("b1").unwrap();
    let deadline = Instant::now() + WAIT;
    while watch.services_without_carrier().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        watch.poll(&mut nl).expect("read link changes");
    }
    assert_eq!(watch.services_without_carrier(), ["a1"]);
    assert!(
        watch.any_carrier(),
        "a service interface is not a heartbeat link"
    );

    b.link_down("b0").unwrap();
    let deadline = Instant::now() + WAIT;
    while watch.any_carrier() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        watch.poll(&mut nl).expect("read link changes");
    }
    assert!(!watch.any_carrier());

    b.link_up("b1").unwrap();
    let deadline = Instant::now() + WAIT;
    while !watch.services_without_carrier().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        watch.poll(&mut nl).expect("read link changes");
    }
    assert!(watch.services_without_carrier().is_empty());
}

#[test]
fn the_probe_counts_arp_replies_and_gives_up_when_they_stop() {
    if skip_unless_root("net_ns::the_probe_counts_arp_replies_and_gives_up_when_they_stop") {
        return;
    }
    use failover_host::net::probe::{ProbeTarget, Prober, MIN_PROBE_PERIOD, PROBE_MISSES};
    let (a, b) = pair();
    a.add_addr("a0", &format!("{A_IP}/24")).unwrap();
    b.add_addr("b0", &format!("{B_IP}/24")).unwrap();
    let target = ProbeTarget {
        interface: "a0".into(),
        source: A_IP,
        target: B_IP,
    };
    let mut prober = a
        .run(move || Prober::open(&[target], Duration::from_millis(1)))
        .expect("enter namespace")
        .expect("open the probe");
    // Drives the probe for `span`, bounded in count by the probe periods.
    let mut drive = |span: Duration| {
        let end = Instant::now() + span;
        while Instant::now() < end {
            let now = Instant::now();
            assert!(prober.send_due(now).is_empty(), "sending failed");
            let fd = prober.fd(0).unwrap();
            let wait = prober
                .next_deadline(now)
                .map_or(Duration::from_millis(10), |t| {
                    t.saturating_duration_since(now)
                })
                .min(end.saturating_duration_since(now));
            let _ = failover_host::net::channel::wait_readable(fd, wait);
            prober.receive(0, Instant::now());
        }
        prober.unanswered_mask(Instant::now())
    };
    let span = MIN_PROBE_PERIOD * (PROBE_MISSES + 5);
    assert_eq!(drive(span), 0, "the target answers: the probe must say so");
    // The target goes away: no more replies.
    b.ip(&["addr", "flush", "dev", "b0"]).unwrap();
    assert_eq!(drive(span), 1, "the target is gone: the probe must give up");
}

#[test]
fn a_deleted_interfaces_channel_reports_it_once_then_sleeps() {
    // What poll() says of an AF_PACKET socket whose interface is deleted:
    // the kernel unbinds it and sets ENETDOWN once (POLLERR); once that is
    // taken, the socket is never readable again. So a dead channel cannot
    // make the daemon's loop spin; it is closed all the same (it would
    // never hear anything again), and reopened by name when the interface
    // is back.
    if skip_unless_root("net_ns::a_deleted_interfaces_channel_reports_it_once_then_sleeps") {
        return;
    }
    let (a, b) = pair();
    let mut ch = open(&b, "b0", ChannelConfig::heartbeat(PORT));
    a.ip(&["link", "del", "dev", "a0"])
        .expect("delete the pair");
    assert!(
        wait_readable(ch.as_fd(), WAIT).unwrap(),
        "the deletion is reported"
    );
    let e = ch.try_recv().expect_err("the error, once");
    assert_eq!(e.raw_os_error(), Some(nix::libc::ENETDOWN), "{e}");
    assert!(
        !wait_readable(ch.as_fd(), Duration::from_millis(300)).unwrap(),
        "then nothing: poll() sleeps"
    );
    assert!(matches!(ch.try_recv(), Ok(None)));
    let sent = ch.send(&[0u8; 60]);
    assert!(sent.is_err(), "sending on it fails: {sent:?}");
}

#[test]
fn the_link_watch_follows_an_interface_by_name_through_its_recreation() {
    if skip_unless_root(
        "net_ns::the_link_watch_follows_an_interface_by_name_through_its_recreation",
    ) {
        return;
    }
    use failover_host::netlink::linkwatch::{LinkEvent, LinkWatch};
    let (a, b) = pair();
    let (mut nl, mut watch, old) = b
        .run(|| {
            let mut nl = Netlink::open().expect("netlink");
            let old = nl.link_by_name("b0").expect("b0").index;
            let watch = LinkWatch::open(&mut nl, &["b0"], &[]).expect("link watch");
            (nl, watch, old)
        })
        .expect("enter namespace");
    assert!(watch.any_carrier());
    let mut events = Vec::new();
    let mut poll_until = |events: &mut Vec<LinkEvent>, done: &dyn Fn(&[LinkEvent]) -> bool| {
        let deadline = Instant::now() + WAIT;
        while !done(events) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            events.extend(watch.poll(&mut nl).expect("read link changes"));
        }
    };
    a.ip(&["link", "del", "dev", "a0"])
        .expect("delete the pair");
    poll_until(&mut events, &|e| {
        e.iter().any(|e| matches!(e, LinkEvent::Vanished { .. }))
    });
    assert!(
        events.contains(&LinkEvent::Vanished {
            name: "b0".into(),
            index: old,
            called: "b0".into()
        }),
        "{events:?}"
    );
    veth(&a, "a0", &b, "b0").expect("the pair again");
    poll_until(&mut events, &|e| {
        e.iter()
            .any(|e| matches!(e, LinkEvent::Carrier { carrier: true, .. }))
    });
    let new = events.iter().find_map(|e| match e {
        LinkEvent::Appeared { name, index, .. } if name == "b0" => Some(*index),
        _ => None,
    });
    assert!(new.is_some_and(|i| i != old), "a new index: {events:?}");
    assert!(
        events.contains(&LinkEvent::Carrier {
            name: "b0".into(),
            carrier: true
        }),
        "{events:?}"
    );
}

#[test]
fn a_service_address_taken_off_behind_the_daemons_back_is_seen_and_added_back() {
    // What a network manager reconfiguring the interface, a DHCP renewal or
    // `ip addr flush` does to an address the daemon holds.
    if skip_unless_root(
        "net_ns::a_service_address_taken_off_behind_the_daemons_back_is_seen_and_added_back",
    ) {
        return;
    }
    use failover_host::config::cli::parse_service_addr;
    use failover_host::daemon::services::Services;
    use failover_host::netlink::linkwatch::LinkWatch;
    use failover_host::notify::Logger;
    let (a, b) = pair();
    veth(&a, "a1", &b, "b1").expect("second veth pair");
    let service = parse_service_addr("a1:192.0.2.10", "test").expect("a service address");
    let (log, capture) = Logger::memory("heartbeatd");
    let (mut nl, mut watch, mut services) = a
        .run(|| {
            let mut nl = Netlink::open().expect("netlink");
            let watch = LinkWatch::open(&mut nl, &["a0"], &["a1"]).expect("link watch");
            let mut services = Services::resolve(&mut nl, &[service]).expect("resolve");
            assert_eq!(services.add_all(&mut nl, &log), 0);
            (nl, watch, services)
        })
        .expect("enter namespace");
    // Until something is removed, nothing to check; our own add is no
    // removal.
    let removed = |watch: &mut LinkWatch, nl: &mut Netlink| {
        let deadline = Instant::now() + WAIT;
        loop {
            watch.poll(nl).expect("read changes");
            if watch.take_addresses_removed() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let on_a1 = |nl: &mut Netlink| {
        nl.list_ours("a1")
            .expect("list")
            .iter()
            .any(|x| x.addr == SERVICE)
    };
    // An address added wakes nothing (the socket's BPF program drops
    // RTM_NEWADDR), even on a service interface.
    let readable = |watch: &LinkWatch| {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(watch.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(200u16)).expect("poll") > 0
    };
    watch.poll(&mut nl).expect("read changes");
    let _ = watch.take_addresses_removed();
    a.add_addr("a1", "203.0.113.7/32").unwrap();
    assert!(!readable(&watch), "an address added woke the watch");
    // An address that comes and goes on a heartbeat link is not watched.
    a.add_addr("a0", "198.51.100.77/32").unwrap();
    a.ip(&["addr", "del", "198.51.100.77/32", "dev", "a0"])
        .unwrap();
    watch.poll(&mut nl).expect("read changes");
    std::thread::sleep(Duration::from_millis(100));
    watch.poll(&mut nl).expect("read changes");
    assert!(
        !watch.take_addresses_removed(),
        "a0 is no service interface"
    );

    a.ip(&["addr", "del", "192.0.2.10/32", "dev", "a1"])
        .unwrap();
    assert!(removed(&mut watch, &mut nl), "the removal was heard");
    assert!(!on_a1(&mut nl));
    // Not where the caller says the interface is unusable (no carrier).
    assert!(services
        .restore_missing(&mut nl, &log, |_| false)
        .is_empty());
    assert!(!on_a1(&mut nl));
    let restored = services.restore_missing(&mut nl, &log, |_| true);
    assert_eq!(restored, [std::net::IpAddr::V4(SERVICE)]);
    assert!(on_a1(&mut nl), "back, with the daemon's mark");
    assert!(
        capture.contains("was taken off a1 behind this daemon's back"),
        "{}",
        capture.text()
    );
    // Already there: left alone.
    assert!(services.restore_missing(&mut nl, &log, |_| true).is_empty());
    // Released by the daemon itself: not the daemon's to restore.
    assert_eq!(services.remove_all(&mut nl, &log), 0);
    assert!(removed(&mut watch, &mut nl), "its own removal is heard too");
    assert!(services.restore_missing(&mut nl, &log, |_| true).is_empty());
    assert!(!on_a1(&mut nl));
}
