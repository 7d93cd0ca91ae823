use super::*;
use crate::config::options::tests as options_tests;
use crate::netlink::addr::{directed_broadcast, LinkInfo, ProtoSupport, ADDR_PROTO};
use pnet_datalink::MacAddr;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn iface(index: u32, name: &str, addrs: &[(&str, u8)]) -> InterfaceInfo {
    InterfaceInfo {
        link: LinkInfo {
            name: name.into(),
            index,
            ethernet: true,
            mac: Some(MacAddr(2, 0, 0, 0, 0, index as u8)),
            up: true,
            lower_up: true,
            mtu: Some(1500),
        },
        addrs: addrs
            .iter()
            .map(|&(a, p)| Ipv4IfAddr {
                ifindex: index,
                addr: ip(a),
                prefix_len: p,
                broadcast: directed_broadcast(ip(a), p),
                label: name.into(),
                proto: 0,
                secondary: false,
            })
            .collect(),
        addrs6: Vec::new(),
    }
}

/// `i` with the IPv6 addresses `addrs` (and a link-local one, as every
/// interface with IPv6 has), each with protocol `proto`.
fn with_v6(mut i: InterfaceInfo, addrs: &[(&str, u8, u8)]) -> InterfaceInfo {
    let index = i.link.index;
    let ll = format!("fe80::{index}");
    for &(a, prefix_len, proto) in [(ll.as_str(), 64, 3)].iter().chain(addrs) {
        i.addrs6.push(crate::netlink::addr::Ipv6IfAddr {
            ifindex: index,
            addr: a.parse().unwrap(),
            prefix_len,
            proto,
            tentative: false,
        });
    }
    i
}

/// The secondary with IPv6 on its public interface: 2001:db8::2/64.
fn secondary_host_v6() -> Vec<InterfaceInfo> {
    let mut h = secondary_host();
    h[2] = with_v6(h[2].clone(), &[("2001:db8::2", 64, 0)]);
    h
}

#[test]
fn an_ipv6_service_address_on_its_interfaces_prefix_is_sound_with_any_mask() {
    for svc in [
        "a1:2001:db8::10",
        "a1:2001:db8::10/128",
        "a1:2001:db8::10/64",
    ] {
        let o = fopts(&["198.51.100.1", "a1:192.0.2.10", svc]);
        let p = plan_failoverd(&o, &secondary_host_v6());
        assert!(p.is_sound(), "{svc}: {:#?}", p.problems);
        assert!(p.warnings.is_empty(), "{svc}: {:#?}", p.warnings);
        // Heartbeats stay on IPv4.
        assert_eq!(p.links[1], link(1, "a1", "192.0.2.2", "192.0.2.255"));
    }
}

#[test]
fn ipv6_service_address_problems() {
    // Off every prefix of the interface: a warning naming what it has.
    let o = fopts(&["198.51.100.1", "a1:2001:db8:1::10"]);
    let p = plan_failoverd(&o, &secondary_host_v6());
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(
        p.warnings.iter().any(|w| w.contains(
            "a1:2001:db8:1::10: 2001:db8:1::10 is on none of a1's IPv6 prefixes (it has \
             2001:db8::/64): and with no mask it is added as a /128"
        )),
        "{:#?}",
        p.warnings
    );
    // The subnet-router anycast address.
    let o = fopts(&["198.51.100.1", "a1:2001:db8::/64"]);
    let p = plan_failoverd(&o, &secondary_host_v6());
    assert!(
        one_problem(&p).contains("is the subnet-router anycast address of 2001:db8::/64"),
        "{:#?}",
        p.problems
    );
    // Configured by hand: a problem for both daemons.
    let mut h = secondary_host_v6();
    h[2] = with_v6(h[2].clone(), &[("2001:db8::10", 128, 0)]);
    let o = fopts(&["198.51.100.1", "a1:2001:db8::10"]);
    let p = plan_failoverd(&o, &h);
    assert!(
        one_problem(&p).contains(
            "2001:db8::10 is already configured on a1 (2001:db8::10/128), not by failoverd"
        ),
        "{:#?}",
        p.problems
    );
    // The daemon's own (protocol 70) on its interface: a leftover it
    // removes at start, nothing to say.
    let mut h = secondary_host_v6();
    h[2] = with_v6(h[2].clone(), &[("2001:db8::10", 128, ADDR_PROTO)]);
    let p = plan_failoverd(&o, &h);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
    // No IPv6 on the interface at all.
    let p = plan_failoverd(&o, &secondary_host());
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("a1 has no IPv6 address, not even a link-local one")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn ipv6_service_addresses_need_a_kernel_that_keeps_the_protocol() {
    let o = fopts(&["198.51.100.1", "a1:192.0.2.10", "a1:2001:db8::10"]);
    let old = || Ok(ProtoSupport::Missing("5.10.0-28-amd64".into()));
    let mut p = Plan::default();
    marks::check_marks(&o.services, ToString::to_string, old, &mut p);
    let m = one_problem(&p);
    assert!(
        m.starts_with(
            "a1:2001:db8::10: an IPv6 service address on a1 cannot be marked as the daemon's"
        ),
        "{m}"
    );
    let mut p = Plan::default();
    let new = || Ok(ProtoSupport::Release("6.18.0".into()));
    marks::check_marks(&o.services, ToString::to_string, new, &mut p);
    assert!(p.is_sound(), "{:#?}", p.problems);
}

#[test]
fn the_arp_probe_refuses_an_interface_with_only_ipv6() {
    let mut h = secondary_host_v6();
    h[2].addrs.clear();
    let o = fopts(&["--probe", "192.0.2.254", "198.51.100.1", "a1:2001:db8::10"]);
    let p = plan_failoverd(&o, &h);
    assert!(
        p.problems.iter().any(|m| m.contains(
            "--probe 192.0.2.254 asks over ARP, which is IPv4, and a1 carries only IPv6 service \
             addresses and has no IPv4 address"
        )),
        "{:#?}",
        p.problems
    );
    // With an IPv4 address of its own there, the probe works as for IPv4.
    let p = plan_failoverd(&o, &secondary_host_v6());
    assert_eq!(p.probes[0].source, ip("192.0.2.2"));
}

fn lo() -> InterfaceInfo {
    let mut l = iface(1, "lo", &[("127.0.0.1", 8)]);
    l.link.ethernet = false;
    l.link.mac = None;
    l
}

/// The secondary: private a0, public a1.
fn secondary_host() -> Vec<InterfaceInfo> {
    vec![
        lo(),
        iface(2, "a0", &[("198.51.100.2", 24)]),
        iface(3, "a1", &[("192.0.2.2", 24)]),
    ]
}

/// The primary: private b0, public b1.
fn primary_host() -> Vec<InterfaceInfo> {
    vec![
        lo(),
        iface(2, "b0", &[("198.51.100.1", 24)]),
        iface(3, "b1", &[("192.0.2.1", 24)]),
    ]
}

/// The options of a command line with no configuration file (the option
/// pipeline's own test helpers).
fn fopts(args: &[&str]) -> FailoverdOptions {
    options_tests::failoverd(args, &options_tests::no_file())
}

fn hopts(args: &[&str]) -> HeartbeatdOptions {
    options_tests::heartbeatd(args, &options_tests::no_file())
}

/// Link `id` on `interface`, from `source` to `peers`.
fn link(id: u8, interface: &str, source: &str, peers: &str) -> LinkPlan {
    LinkPlan::new(id, interface, ip(source), ip(peers))
}

fn one_problem(plan: &Plan) -> &str {
    assert_eq!(plan.problems.len(), 1, "{:#?}", plan.problems);
    &plan.problems[0]
}

#[test]
fn failoverd_sound() {
    let o = fopts(&[
        "--witness",
        "198.51.100.3",
        "198.51.100.1",
        "a1:192.0.2.10",
        "a1:192.0.2.11/32",
    ]);
    let p = plan_failoverd(&o, &secondary_host());
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
    assert_eq!(
        p.links,
        [
            link(0, "a0", "198.51.100.2", "198.51.100.255"),
            link(1, "a1", "192.0.2.2", "192.0.2.255")
        ]
    );
    assert_eq!(p.local_private, ip("198.51.100.2"));
}

#[test]
fn the_probe_is_asked_from_this_hosts_own_address_on_each_service_interface() {
    let o = fopts(&["--probe", "192.0.2.254", "198.51.100.1", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &secondary_host());
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(
        p.probes,
        [ProbeTarget {
            interface: "a1".into(),
            source: ip("192.0.2.2"),
            target: ip("192.0.2.254"),
        }]
    );
    // Off the service network: asked from 0.0.0.0, with a warning.
    let o = fopts(&["--probe", "203.0.113.1", "198.51.100.1", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &secondary_host());
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(p.probes[0].source, Ipv4Addr::UNSPECIFIED);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("--probe 203.0.113.1 is on none of a1's networks (192.0.2.0/24)")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn a_probe_that_cannot_work_is_a_problem() {
    let bad = [
        ("192.0.2.2", "this host's own address on a1"),
        ("192.0.2.255", "not a host address of 192.0.2.0/24"),
        ("192.0.2.10", "is a service address"),
    ];
    for (target, why) in bad {
        let o = fopts(&["--probe", target, "198.51.100.1", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert!(one_problem(&p).contains(why), "{target}: {:?}", p.problems);
    }
    let o = hopts(&["--probe", "192.0.2.254", "198.51.100.255", "192.0.2.255"]);
    let p = plan_heartbeatd(&o, &primary_host());
    assert!(
        one_problem(&p).contains("--probe 192.0.2.254 needs --service addresses"),
        "{:?}",
        p.problems
    );
}

#[test]
fn failoverd_master_off_every_subnet() {
    let o = fopts(&["203.0.113.1", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &secondary_host());
    let m = one_problem(&p);
    assert!(
        m.starts_with("no interface is on master_priv_addr 203.0.113.1's subnet"),
        "{m}"
    );
    assert!(m.contains("a0 198.51.100.2/24"), "{m}");
    assert_eq!(p.links.len(), 2);
    assert_eq!(p.links[0].source, Ipv4Addr::UNSPECIFIED);
    assert_eq!(p.local_private, Ipv4Addr::UNSPECIFIED);
    // Its own address as master.
    let o = fopts(&["198.51.100.2", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &secondary_host());
    assert!(one_problem(&p).contains("this host's own address"), "{p:?}");
    // The subnet's broadcast address.
    let o = fopts(&["198.51.100.255", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &secondary_host());
    assert!(one_problem(&p).contains("broadcast address of 198.51.100.0/24"));
}

#[test]
fn failoverd_public_interface_without_address() {
    let mut host = secondary_host();
    host[2].addrs.clear();
    let o = fopts(&["198.51.100.1", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &host);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(p.links[1].source, Ipv4Addr::UNSPECIFIED);
    assert_eq!(p.links[1].peers, Ipv4Addr::BROADCAST);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("a1 (link 1) has no IPv4 address")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn labelled_addresses_are_not_the_hosts_own() {
    // A previous run's service address on a1 (labelled) with the public
    // address; and a leftover labelled address on a0.
    let mut host = secondary_host();
    let mut svc = host[2].addrs[0].clone();
    svc.addr = ip("192.0.2.10");
    svc.prefix_len = 32;
    svc.label = "a1:fo".into();
    host[2].addrs.insert(0, svc);
    let o = fopts(&["198.51.100.1", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &host);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(p.links[1].source, ip("192.0.2.2"));
    // Without its label, it is the administrator's: a problem.
    host[2].addrs[0].label = "a1".into();
    let p = plan_failoverd(&o, &host);
    let m = one_problem(&p);
    assert!(
        m.contains("already configured on a1 (192.0.2.10/32)"),
        "{m}"
    );
    // On another interface with the label: a leftover, a warning.
    let mut host = secondary_host();
    let mut svc = host[1].addrs[0].clone();
    svc.addr = ip("192.0.2.10");
    svc.prefix_len = 32;
    svc.label = "a0:fo".into();
    host[1].addrs.push(svc);
    let p = plan_failoverd(&o, &host);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(p
        .warnings
        .iter()
        .any(|w| w.contains("left from an earlier")));
}

#[test]
fn the_32_rule() {
    let o = fopts(&["198.51.100.1", "a1:192.0.2.10/24"]);
    let p = plan_failoverd(&o, &secondary_host());
    let m = one_problem(&p);
    assert!(
        m.starts_with("a1:192.0.2.10/24: 192.0.2.10 lies in 192.0.2.0/24"),
        "{m}"
    );
    assert!(m.contains("must have the mask /32"), "{m}");
    assert!(m.contains("a1:192.0.2.10/32"), "{m}");
    // Off the interface's subnets with a mask: allowed, with a warning.
    let o = fopts(&["198.51.100.1", "a1:203.0.113.10/24"]);
    let p = plan_failoverd(&o, &secondary_host());
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(p.warnings[0].contains("on none of a1's subnets (it has 192.0.2.0/24)"));
    // Without a mask, the warning asks for one.
    let o = fopts(&["198.51.100.1", "a1:203.0.113.10"]);
    let p = plan_failoverd(&o, &secondary_host());
    assert!(p.warnings[0].contains("with no mask"), "{:?}", p.warnings);
    // A network or broadcast address for its own mask.
    let o = fopts(&["198.51.100.1", "a1:203.0.113.255/24"]);
    let p = plan_failoverd(&o, &secondary_host());
    assert!(one_problem(&p).contains("is the broadcast address of 203.0.113.0/24"));
}

#[test]
fn interface_state() {
    let mut host = secondary_host();
    host[2].link.up = false;
    host[2].link.lower_up = false;
    host[1].link.lower_up = false;
    let o = fopts(&["198.51.100.1", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &host);
    let m = one_problem(&p);
    assert_eq!(
        m,
        "interface a1 (link 1, public, for a1:192.0.2.10) is down: bring it up with `ip link \
         set dev a1 up`"
    );
    assert_eq!(p.warnings.len(), 1, "{:#?}", p.warnings);
    assert!(p.warnings[0].starts_with("interface a0 (link 0, the private network"));
    assert!(p.warnings[0].contains("no carrier"));
    // Not Ethernet (a tun-like link).
    let mut host = secondary_host();
    host[2].link.ethernet = false;
    let o = fopts(&["198.51.100.1", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &host);
    assert!(one_problem(&p).contains("not an Ethernet interface"));
}

#[test]
fn missing_interface_is_named() {
    let o = fopts(&["198.51.100.1", "a9:192.0.2.10", "a9:192.0.2.11"]);
    let p = plan_failoverd(&o, &secondary_host());
    assert_eq!(
        one_problem(&p),
        "CNode: invalid interface name: a9 (link 1, public, for a9:192.0.2.10, \
         a9:192.0.2.11): no such interface on this host (it has: lo, a0, a1); check the name \
         with `ip link`"
    );
    assert_eq!(p.links[1].interface, "a9");
    let h = hopts(&["--service", "b9:192.0.2.10", "198.51.100.255"]);
    let p = plan_heartbeatd(&h, &primary_host());
    assert!(one_problem(&p).starts_with(
        "CNode: invalid interface name: b9 (for --service b9:192.0.2.10): no such interface"
    ));
}

/// A 15-byte name, as a VLAN on a multi-port card gets.
const LONG: &str = "enp129s0f0.1001";

#[test]
fn long_interface_names_are_planned_like_any_other() {
    // A 14- or 15-byte name is marked by the protocol alone; the
    // interface facts have nothing against it (the kernel's support is
    // `marks.rs`'s question).
    let mut host = secondary_host();
    host[2].link.name = LONG.into();
    let o = fopts(&["198.51.100.1", &format!("{LONG}:192.0.2.10")]);
    let p = plan_failoverd(&o, &host);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(p.links[1].interface, LONG);
    // A previous run's address there carries the protocol (and the bare
    // name as its label): not the host's own, and no problem.
    let mut svc = host[2].addrs[0].clone();
    svc.addr = ip("192.0.2.10");
    svc.prefix_len = 32;
    svc.proto = ADDR_PROTO;
    host[2].addrs.insert(0, svc);
    let p = plan_failoverd(&o, &host);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(p.links[1].source, ip("192.0.2.2"));
    // The same without the protocol is an administrator's: a problem.
    host[2].addrs[0].proto = 0;
    let p = plan_failoverd(&o, &host);
    assert!(one_problem(&p).contains(&format!("already configured on {LONG}")));
}

#[test]
fn long_interface_names_need_a_kernel_that_keeps_the_protocol() {
    let o = fopts(&[
        "198.51.100.1",
        &format!("{LONG}:192.0.2.10"),
        "a1:192.0.2.11",
    ]);
    let old = || Ok(ProtoSupport::Missing("5.10.0-28-amd64".into()));
    let mut p = Plan::default();
    marks::check_marks(&o.services, ToString::to_string, old, &mut p);
    let m = one_problem(&p);
    assert!(
        m.starts_with(&format!(
            "{LONG}:192.0.2.10: interface {LONG} has a 15-byte name"
        )),
        "{m}"
    );
    assert!(m.contains("Linux 5.18 or later"), "{m}");
    assert!(m.contains("rename the interface"), "{m}");
    // A kernel that keeps it: nothing to say.
    let mut p = Plan::default();
    let new = || Ok(ProtoSupport::Release("6.1.0-18-amd64".into()));
    marks::check_marks(&o.services, ToString::to_string, new, &mut p);
    assert!(p.is_sound(), "{:#?}", p.problems);
    // Short names only: the kernel is not even asked.
    let o = fopts(&["198.51.100.1", "a1:192.0.2.10"]);
    let mut p = Plan::default();
    let never = || -> Result<ProtoSupport, _> { panic!("asked the kernel") };
    marks::check_marks(&o.services, ToString::to_string, never, &mut p);
    assert!(p.is_sound());
}

#[test]
fn heartbeatd_service_configured_by_hand_on_a_long_name_is_a_problem() {
    // On a labelled interface the kernel protects an administrator's
    // address at removal (a warning); without a label only the daemon's
    // check does, so the two are never allowed together.
    let mut host = primary_host();
    host[2].link.name = LONG.into();
    let mut a = host[2].addrs[0].clone();
    a.addr = ip("192.0.2.10");
    a.prefix_len = 32;
    a.label = LONG.into();
    host[2].addrs.push(a);
    let h = hopts(&["--service", &format!("{LONG}:192.0.2.10"), "198.51.100.255"]);
    let p = plan_heartbeatd(&h, &host);
    let m = one_problem(&p);
    assert!(
        m.starts_with(&format!(
            "--service {LONG}:192.0.2.10: 192.0.2.10 is already configured on {LONG} \
             (192.0.2.10/32), not by heartbeatd"
        )),
        "{m}"
    );
    assert!(m.contains("too long for the daemon's address label"), "{m}");
    assert!(m.contains("without overlap"), "{m}");
    // heartbeatd's own (the protocol): fine.
    host[2].addrs[1].proto = ADDR_PROTO;
    assert!(plan_heartbeatd(&h, &host).is_sound());
}

#[test]
fn a_leftover_marked_by_the_protocol_elsewhere_is_a_warning() {
    let mut host = secondary_host();
    let mut svc = host[1].addrs[0].clone();
    svc.addr = ip("192.0.2.10");
    svc.prefix_len = 32;
    svc.proto = ADDR_PROTO;
    host[1].addrs.push(svc);
    let o = fopts(&["198.51.100.1", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &host);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("on a0 with the daemon's protocol 70, left from an earlier")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn witness_on_the_private_subnet() {
    let o = fopts(&["--witness", "203.0.113.5", "198.51.100.1", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &secondary_host());
    assert_eq!(
        one_problem(&p),
        "--witness 203.0.113.5 is not on the private network 198.51.100.0/24 (link 0, on \
         a0): the witness sits on the private link and is heard only there; give its \
         address on 198.51.100.0/24"
    );
    let o = fopts(&["--witness", "198.51.100.2", "198.51.100.1", "a1:192.0.2.10"]);
    let p = plan_failoverd(&o, &secondary_host());
    assert!(one_problem(&p).contains("this host's own address"));
    let h = hopts(&["--witness", "192.0.2.5", "198.51.100.255", "192.0.2.255"]);
    let p = plan_heartbeatd(&h, &primary_host());
    assert!(one_problem(&p).contains("not on the private network 198.51.100.0/24"));
}

#[test]
fn shared_private_and_public_interface_is_a_warning() {
    let host = vec![iface(2, "a0", &[("198.51.100.2", 24), ("192.0.2.2", 24)])];
    let o = fopts(&["198.51.100.1", "a0:192.0.2.10"]);
    let p = plan_failoverd(&o, &host);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(p.links[1].source, ip("192.0.2.2"));
    assert_eq!(p.links[1].peers, ip("192.0.2.255"));
    assert!(p.warnings.iter().any(|w| w.contains("the two heartbeat")));
}

#[test]
fn heartbeatd_sound() {
    let h = hopts(&[
        "--witness",
        "198.51.100.3",
        "--service",
        "b1:192.0.2.10",
        "198.51.100.255",
        "192.0.2.2",
    ]);
    let p = plan_heartbeatd(&h, &primary_host());
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
    assert_eq!(
        p.links,
        [
            link(0, "b0", "198.51.100.1", "198.51.100.255"),
            link(1, "b1", "192.0.2.1", "192.0.2.2")
        ]
    );
    assert_eq!(p.local_private, ip("198.51.100.1"));
}

#[test]
fn heartbeatd_broadcast_netmask_trap() {
    let h = hopts(&["198.51.255.255", "192.0.2.255"]);
    let p = plan_heartbeatd(&h, &primary_host());
    let m = one_problem(&p);
    assert!(
        m.starts_with(
            "ip_addr 198.51.255.255 (target 1, the private network) is the broadcast address \
             of a /16 (netmask 255.255.0.0), but b0's address 198.51.100.1 has netmask \
             255.255.255.0 (/24, subnet 198.51.100.0/24)"
        ),
        "{m}"
    );
    assert!(m.contains("give 198.51.100.255"), "{m}");
    assert_eq!(p.links[0].interface, "b0");
    assert_eq!(p.local_private, Ipv4Addr::UNSPECIFIED);
    // The other way round: a /24 broadcast on a /25.
    let host = vec![iface(2, "b0", &[("198.51.100.1", 25)])];
    let h = hopts(&["198.51.100.255"]);
    let p = plan_heartbeatd(&h, &host);
    let m = one_problem(&p);
    assert!(m.contains("a /24 (netmask 255.255.255.0)"), "{m}");
    assert!(m.contains("give 198.51.100.127"), "{m}");
    // A host on the /25 ending in 127 is the right broadcast.
    let p = plan_heartbeatd(&hopts(&["198.51.100.127"]), &host);
    assert!(p.is_sound(), "{:#?}", p.problems);
}

#[test]
fn heartbeatd_bad_targets() {
    let h = hopts(&["255.255.255.255"]);
    let p = plan_heartbeatd(&h, &primary_host());
    let m = one_problem(&p);
    assert!(m.contains("limited broadcast"), "{m}");
    assert!(
        m.contains("b0 198.51.100.1/24 (broadcast 198.51.100.255)"),
        "{m}"
    );
    let p = plan_heartbeatd(&hopts(&["203.0.113.255"]), &primary_host());
    assert!(one_problem(&p).contains("on none of this host's networks"));
    let p = plan_heartbeatd(&hopts(&["198.51.100.1"]), &primary_host());
    assert!(one_problem(&p).contains("this host's own address (on b0)"));
    let p = plan_heartbeatd(&hopts(&["198.51.100.255", "198.51.100.2"]), &primary_host());
    assert!(p.is_sound());
    assert!(p.warnings[0].contains("both on b0"), "{:?}", p.warnings);
}

#[test]
fn heartbeatd_service_already_present_is_a_problem() {
    // Configured by hand, heartbeatd could never remove it: the failback
    // would overlap. -n fails (it said "configuration OK" before).
    let mut host = primary_host();
    let mut a = host[2].addrs[0].clone();
    a.addr = ip("192.0.2.10");
    a.prefix_len = 32;
    host[2].addrs.push(a);
    let h = hopts(&["--service", "b1:192.0.2.10", "198.51.100.255"]);
    let p = plan_heartbeatd(&h, &host);
    let m = one_problem(&p);
    assert!(
        m.starts_with(
            "--service b1:192.0.2.10: 192.0.2.10 is already configured on b1 (192.0.2.10/32), \
             not by heartbeatd"
        ),
        "{m}"
    );
    assert!(m.contains("without overlap"), "{m}");
    // The interface's only address is the service address: the problem,
    // and no false "it has no IPv4 address" warning.
    let mut only = primary_host();
    only[2].addrs[0].addr = ip("192.0.2.10");
    let p = plan_heartbeatd(&h, &only);
    assert!(one_problem(&p).contains("already configured on b1"));
    assert!(
        !p.warnings.iter().any(|w| w.contains("no IPv4 address")),
        "{:?}",
        p.warnings
    );
    // The /32 rule applies to --service too.
    let h = hopts(&["--service", "b1:192.0.2.11/24", "198.51.100.255"]);
    let p = plan_heartbeatd(&h, &primary_host());
    assert!(one_problem(&p).starts_with("--service b1:192.0.2.11/24: 192.0.2.11 lies in"));
}

#[test]
fn point_to_point_private_link() {
    let host = vec![iface(2, "a0", &[("198.51.100.2", 31)])];
    let o = fopts(&["198.51.100.3", "a0:192.0.2.10/24"]);
    let p = plan_failoverd(&o, &host);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(p.links[0].peers, Ipv4Addr::BROADCAST);
    assert!(p
        .warnings
        .iter()
        .any(|w| w.contains("no broadcast address")));
}
