//! Namespace integration tests for IPv6 service addresses: the daemon's
//! IPv6 addresses over netlink (IFA_F_NODAD, the protocol mark, an
//! administrator's address left alone) and the unsolicited neighbour
//! advertisement as a real Linux neighbour cache takes it. Veth pairs
//! between namespaces the tests create and always delete; 2001:db8::/32
//! only.
//!
//! They need root. Without it each test prints a loud "SKIPPED: needs root"
//! and returns.

use std::net::Ipv6Addr;
use std::time::Duration;

use failover_host::net::channel::{Channel, ChannelConfig};
use failover_host::net::na::build_unsolicited_na;
use failover_host::netlink::addr::{Change, Netlink, ProtoSupport, ADDR_PROTO};
use failover_lab::netns::{skip_unless_root, veth, wait_until, Netns};

const SERVICE: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
const ADMIN: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x20);

/// Two hosts joined by a veth pair a0 <-> b0, up.
fn pair() -> (Netns, Netns) {
    let a = Netns::new("a").expect("namespace a");
    let b = Netns::new("b").expect("namespace b");
    veth(&a, "a0", &b, "b0").expect("veth pair");
    (a, b)
}

#[test]
fn ipv6_addresses_add_list_remove_under_the_protocol_mark() {
    if skip_unless_root("ipv6_ns::ipv6_addresses_add_list_remove_under_the_protocol_mark") {
        return;
    }
    let (a, _b) = pair();
    a.add_addr6("a0", "2001:db8::1/64").unwrap();
    // An administrator's address, which the daemon must never remove.
    a.add_addr6("a0", "2001:db8::20/128").unwrap();
    a.run(|| {
        let mut nl = Netlink::open().unwrap();
        assert!(
            !matches!(nl.proto_support().unwrap(), ProtoSupport::Missing(_)),
            "this kernel keeps IFA_PROTO"
        );
        let idx = nl.link_by_name("a0").unwrap().index;
        assert_eq!(nl.list_ours_v6("a0").unwrap(), vec![]);

        assert_eq!(nl.add_v6(idx, SERVICE, 128).unwrap(), Change::Done);
        assert_eq!(nl.add_v6(idx, SERVICE, 128).unwrap(), Change::AlreadyThere);
        let ours = nl.list_ours_v6("a0").unwrap();
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert_eq!((ours[0].addr, ours[0].prefix_len), (SERVICE, 128));
        assert_eq!(ours[0].proto, ADDR_PROTO);
        // IFA_F_NODAD: usable at once, never tentative.
        assert!(!ours[0].tentative, "{ours:?}");

        // -n's facts: the interface's IPv6 addresses, ours and not.
        let info = nl.interface("a0").unwrap();
        assert!(info
            .addrs6
            .iter()
            .any(|x| x.addr == ADMIN && x.proto != ADDR_PROTO));
        assert!(info.addrs6.iter().any(|x| x.is_link_local()));
        assert!(info
            .addrs6
            .iter()
            .any(|x| x.prefix_len == 64 && x.contains(SERVICE)));

        // The protocol protects the administrator's address.
        assert_eq!(nl.remove_v6(idx, ADMIN, 128).unwrap(), Change::AlreadyThere);
        assert!(nl
            .addresses_v6(idx)
            .unwrap()
            .iter()
            .any(|x| x.addr == ADMIN));

        assert_eq!(nl.remove_v6(idx, SERVICE, 128).unwrap(), Change::Done);
        assert_eq!(
            nl.remove_v6(idx, SERVICE, 128).unwrap(),
            Change::AlreadyThere
        );
        assert_eq!(nl.list_ours_v6("a0").unwrap(), vec![]);

        // A /64 in the interface's own prefix: its removal leaves the
        // host's own address and its prefix route.
        assert_eq!(nl.add_v6(idx, SERVICE, 64).unwrap(), Change::Done);
        assert_eq!(nl.remove_v6(idx, SERVICE, 64).unwrap(), Change::Done);
        let left = nl.addresses_v6(idx).unwrap();
        assert!(left
            .iter()
            .any(|x| x.addr == "2001:db8::1".parse::<Ipv6Addr>().unwrap()));
    })
    .unwrap();
    let routes = a.ip(&["-6", "route", "show", "dev", "a0"]).unwrap();
    assert!(routes.contains("2001:db8::/64"), "{routes}");
    // iproute2 sees the daemon's address as 'proto 70' (6.3 and later) or
    // at least without 'tentative'.
    a.run(|| {
        let mut nl = Netlink::open().unwrap();
        let idx = nl.link_by_name("a0").unwrap().index;
        nl.add_v6(idx, SERVICE, 128).unwrap()
    })
    .unwrap();
    let shown = a.ip(&["-6", "addr", "show", "dev", "a0"]).unwrap();
    let line = shown
        .lines()
        .find(|l| l.contains("2001:db8::10/128"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(!line.contains("tentative"), "{shown}");
}

#[test]
fn an_unsolicited_na_moves_the_neighbours_cache_entry() {
    if skip_unless_root("ipv6_ns::an_unsolicited_na_moves_the_neighbours_cache_entry") {
        return;
    }
    let (a, b) = pair();
    a.add_addr6("a0", "2001:db8::1/64").unwrap();
    b.add_addr6("b0", "2001:db8::2/64").unwrap();
    // b believes the service address lives at another MAC (the old holder).
    b.ip(&[
        "-6",
        "neigh",
        "replace",
        "2001:db8::10",
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        "b0",
        "nud",
        "stale",
    ])
    .unwrap();
    let a_mac = a.mac("a0").unwrap();
    let mut tx = a
        .run(|| Channel::open("a0", &ChannelConfig::heartbeat(1694)))
        .unwrap()
        .unwrap();
    let mut buf = [0u8; 128];
    let n = build_unsolicited_na(&mut buf, tx.mac(), SERVICE).unwrap();
    let moved = || {
        b.ip(&["-6", "neigh", "show", "2001:db8::10", "dev", "b0"])
            .unwrap_or_default()
            .contains(&a_mac)
    };
    // Bounded: a few sends, 3 s in all.
    let mut ok = false;
    for _ in 0..3 {
        tx.send(&buf[..n]).unwrap();
        if wait_until(Duration::from_secs(1), Duration::from_millis(10), moved) {
            ok = true;
            break;
        }
    }
    let shown = b.ip(&["-6", "neigh", "show", "dev", "b0"]).unwrap();
    assert!(ok, "b's cache still points elsewhere: {shown}");
}
