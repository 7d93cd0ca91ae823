use std::net::Ipv4Addr;

use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressProtocol};

use super::change::{address_message, Request};
use super::support::release_keeps_proto;
use super::*;

#[test]
fn labels() {
    assert_eq!(daemon_label("eth0").unwrap(), "eth0:fo");
    assert_eq!(daemon_label("enp0s31f6").unwrap(), "enp0s31f6:fo");
    assert_eq!(daemon_label("abcdefghijkl").unwrap(), "abcdefghijkl:fo");
    assert_eq!(daemon_label("abcdefghijklm").unwrap(), "abcdefghijklm:f");
    assert_eq!(daemon_label("abcdefghijklmn"), None);
    assert_eq!(daemon_label("abcdefghijklmno"), None);
    assert_eq!(daemon_label(""), None);
    for n in 1..=13 {
        let name = "x".repeat(n);
        let l = daemon_label(&name).unwrap();
        assert!(l.len() <= MAX_LABEL_LEN);
        assert!(l.starts_with(&format!("{name}:")));
    }
}

#[test]
fn every_legal_name_gets_a_mark() {
    // Up to 13 bytes: the label (and the protocol, which `add` always
    // sends); 14 and 15 bytes: the protocol alone.
    for n in 1..=MAX_IFNAME_LEN {
        let name = "x".repeat(n);
        let mark = Mark::for_interface(&name);
        if n <= MAX_LABELLED_IFNAME_LEN {
            assert_eq!(mark, Mark::Label(daemon_label(&name).unwrap()), "{n}");
        } else {
            assert_eq!(mark, Mark::Proto, "{n}");
        }
    }
    assert_eq!(Mark::for_interface("enp129s0f0.100"), Mark::Proto);
    assert_eq!(Mark::for_interface("bond0.1234abcd").label(), None);
    assert_eq!(Mark::for_interface("pub0").label(), Some("pub0:fo"));
    assert_eq!(Mark::for_interface("pub0").to_string(), "label pub0:fo");
    assert_eq!(Mark::Proto.to_string(), "protocol 70");
}

#[test]
fn added_addresses_carry_the_protocol_and_the_label_where_it_fits() {
    let ip = Ipv4Addr::new(192, 0, 2, 10);
    let proto = AddressAttribute::Protocol(AddressProtocol::from(ADDR_PROTO));
    let labels = |m: &AddressMessage| {
        m.attributes
            .iter()
            .filter_map(|a| match a {
                AddressAttribute::Label(l) => Some(l.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let short = Mark::for_interface("pub0");
    let m = address_message(Request::Add, 3, ip, 32, short.label()).unwrap();
    assert!(m.attributes.contains(&proto));
    assert_eq!(labels(&m), ["pub0:fo"]);
    let long = Mark::for_interface("enp129s0f0.1001");
    let m = address_message(Request::Add, 3, ip, 32, long.label()).unwrap();
    assert!(m.attributes.contains(&proto));
    assert!(labels(&m).is_empty(), "the kernel gives it the name");
    // A delete never carries the protocol (the kernel ignores it there).
    let m = address_message(Request::Delete, 3, ip, 32, None).unwrap();
    assert!(!m.attributes.contains(&proto));
    assert!(address_message(Request::Add, 3, ip, 32, Some("")).is_err());
    assert!(address_message(Request::Add, 3, ip, 32, Some("abcdefghijklmno:fo")).is_err());
}

#[test]
fn ours_by_label_or_by_protocol() {
    let addr = |label: &str, proto: u8| Ipv4IfAddr {
        ifindex: 3,
        addr: Ipv4Addr::new(192, 0, 2, 10),
        prefix_len: 32,
        broadcast: None,
        label: label.into(),
        proto,
        secondary: false,
    };
    // An older daemon's address: the label alone.
    assert!(is_ours("pub0", &addr("pub0:fo", 0)));
    assert_eq!(
        mark_of("pub0", &addr("pub0:fo", ADDR_PROTO)),
        Some(Mark::Label("pub0:fo".into()))
    );
    // A long name's: the protocol alone (the label is the bare name).
    let long = "enp129s0f0.1001";
    assert!(is_ours(long, &addr(long, ADDR_PROTO)));
    assert_eq!(mark_of(long, &addr(long, ADDR_PROTO)), Some(Mark::Proto));
    // An administrator's: neither, even with a label like ours elsewhere.
    assert!(!is_ours(long, &addr(long, 0)));
    assert!(!is_ours("pub0", &addr("pub0", 0)));
    assert!(!is_ours("pub0", &addr("lan1:fo", 0)));
    assert!(!is_ours("pub0", &addr("pub0", 3)));
    assert_eq!(mark_of(long, &addr(long, 0)), None);
    // Renamed while marked by the protocol: still ours, under any label.
    assert!(is_ours("lan1", &addr("lan1", ADDR_PROTO)));
    assert_eq!(Mark::Proto.renamed("lan1"), Mark::Proto);
    assert_eq!(
        Mark::Label("pub0:fo".into()).renamed("lan1"),
        Mark::Label("lan1:fo".into())
    );
}

#[test]
fn kernel_releases_that_keep_the_protocol() {
    assert_eq!(release_keeps_proto("6.1.0-18-amd64"), Some(true));
    assert_eq!(release_keeps_proto("5.18.0"), Some(true));
    assert_eq!(release_keeps_proto("5.17.15-1-default"), Some(false));
    assert_eq!(release_keeps_proto("5.10.0-28-amd64"), Some(false));
    assert_eq!(release_keeps_proto("4.19.0+"), Some(false));
    assert_eq!(release_keeps_proto("6.18.44-fc-v1252"), Some(true));
    assert_eq!(release_keeps_proto("6.2-rc3"), Some(true));
    assert_eq!(release_keeps_proto("unknown"), None);
    assert_eq!(release_keeps_proto(""), None);
}

#[test]
fn a_long_name_needs_a_kernel_that_keeps_the_protocol() {
    let long = "enp129s0f0.100";
    let old = ProtoSupport::Missing("5.10.0-28-amd64".into());
    let e = old.mark_for(long).unwrap_err();
    let m = e.to_string();
    assert!(
        m.starts_with("interface enp129s0f0.100 has a 14-byte name"),
        "{m}"
    );
    assert!(m.contains("Linux 5.10.0-28-amd64"), "{m}");
    assert!(m.contains("Linux 5.18 or later"), "{m}");
    assert!(
        m.contains("rename the interface to at most 13 bytes"),
        "{m}"
    );
    // Short names keep their label on any kernel.
    assert_eq!(old.mark_for("eth0").unwrap(), Mark::Label("eth0:fo".into()));
    for ok in [ProtoSupport::Seen, ProtoSupport::Release("6.1.0".into())] {
        assert_eq!(ok.mark_for(long).unwrap(), Mark::Proto);
    }
}

#[test]
fn an_ipv6_address_needs_a_kernel_that_keeps_the_protocol_whatever_the_name() {
    let old = ProtoSupport::Missing("5.10.0-28-amd64".into());
    let m = old.mark_for_address("eth0", true).unwrap_err().to_string();
    assert!(
        m.starts_with("an IPv6 service address on eth0 cannot be marked as the daemon's"),
        "{m}"
    );
    assert!(m.contains("Linux 5.10.0-28-amd64"), "{m}");
    assert!(m.contains("run Linux 5.18 or later"), "{m}");
    // IPv4 on the same kernel and name keeps its label.
    assert_eq!(
        old.mark_for_address("eth0", false).unwrap(),
        Mark::Label("eth0:fo".into())
    );
    for ok in [ProtoSupport::Seen, ProtoSupport::Release("6.18.0".into())] {
        assert_eq!(ok.mark_for_address("eth0", true).unwrap(), Mark::Proto);
    }
}

#[test]
fn masks_and_broadcasts() {
    assert_eq!(netmask(0), Ipv4Addr::new(0, 0, 0, 0));
    assert_eq!(netmask(24), Ipv4Addr::new(255, 255, 255, 0));
    assert_eq!(netmask(32), Ipv4Addr::new(255, 255, 255, 255));
    assert_eq!(netmask(40), Ipv4Addr::new(255, 255, 255, 255));
    let a = Ipv4Addr::new(192, 0, 2, 10);
    assert_eq!(
        directed_broadcast(a, 24),
        Some(Ipv4Addr::new(192, 0, 2, 255))
    );
    assert_eq!(
        directed_broadcast(a, 30),
        Some(Ipv4Addr::new(192, 0, 2, 11))
    );
    assert_eq!(directed_broadcast(a, 31), None);
    assert_eq!(directed_broadcast(a, 32), None);
}

fn iface(addrs: &[(Ipv4Addr, u8)]) -> InterfaceInfo {
    InterfaceInfo {
        link: LinkInfo {
            name: "eth0".into(),
            index: 2,
            ethernet: true,
            mac: None,
            up: true,
            lower_up: true,
            mtu: Some(1500),
        },
        addrs: addrs
            .iter()
            .map(|&(addr, prefix_len)| Ipv4IfAddr {
                ifindex: 2,
                addr,
                prefix_len,
                broadcast: directed_broadcast(addr, prefix_len),
                label: "eth0".into(),
                proto: 0,
                secondary: false,
            })
            .collect(),
        addrs6: Vec::new(),
    }
}

#[test]
fn classify_targets() {
    let i = iface(&[(Ipv4Addr::new(198, 51, 100, 1), 24)]);
    assert_eq!(
        i.classify_target(Ipv4Addr::BROADCAST),
        TargetKind::LimitedBroadcast
    );
    assert!(matches!(
        i.classify_target(Ipv4Addr::new(198, 51, 100, 255)),
        TargetKind::SubnetBroadcast(_)
    ));
    assert!(matches!(
        i.classify_target(Ipv4Addr::new(198, 51, 100, 2)),
        TargetKind::OnLinkUnicast(_)
    ));
    assert_eq!(
        i.classify_target(Ipv4Addr::new(203, 0, 113, 255)),
        TargetKind::OffLink
    );
    // The seed's trap, both ways: a /16-style broadcast on a /24 link
    // here, a /24-style broadcast inside a /16 below.
    assert!(matches!(
        i.classify_target(Ipv4Addr::new(198, 51, 255, 255)),
        TargetKind::MismatchedBroadcast {
            implied_prefix: 16,
            ..
        }
    ));
    // Hosts whose address ends in a few one bits are just hosts.
    assert!(matches!(
        i.classify_target(Ipv4Addr::new(198, 51, 100, 3)),
        TargetKind::OnLinkUnicast(_)
    ));
    assert!(matches!(
        i.classify_target(Ipv4Addr::new(198, 51, 100, 127)),
        TargetKind::OnLinkUnicast(_)
    ));
    let wide = iface(&[(Ipv4Addr::new(198, 51, 100, 1), 16)]);
    assert!(matches!(
        wide.classify_target(Ipv4Addr::new(198, 51, 100, 255)),
        TargetKind::MismatchedBroadcast {
            implied_prefix: 24,
            ..
        }
    ));
    assert!(matches!(
        wide.classify_target(Ipv4Addr::new(198, 51, 255, 255)),
        TargetKind::SubnetBroadcast(_)
    ));
    let a = &wide.addrs[0];
    assert_eq!(a.network(), Ipv4Addr::new(198, 51, 0, 0));
    assert!(a.contains(Ipv4Addr::new(198, 51, 7, 7)));
    assert!(!a.contains(Ipv4Addr::new(198, 52, 0, 1)));
    assert_eq!(
        wide.subnet_containing(Ipv4Addr::new(198, 51, 9, 9))
            .map(|a| a.prefix_len),
        Some(16)
    );
}

#[test]
fn a_rename_moves_the_label_as_the_kernel_does() {
    assert_eq!(renamed_label("pub0:fo", "lan1"), "lan1:fo");
    assert_eq!(renamed_label("pub0:fo", "pub0"), "pub0:fo");
    // 13 bytes fit with the whole suffix (15 in all); 14 do not: the kernel
    // cuts the name, never the suffix.
    assert_eq!(renamed_label("pub0:fo", "abcdefghijklm"), "abcdefghijkl:fo");
    assert_eq!(renamed_label("pub0:fo", "abcdefghijkl"), "abcdefghijkl:fo");
    assert_eq!(
        renamed_label("pub0:fo", "abcdefghijklmno"),
        "abcdefghijkl:fo"
    );
    assert_eq!(renamed_label("abcdefghijklm:f", "x"), "x:f");
    assert!(renamed_label("pub0:fo", "abcdefghijklmno").len() <= MAX_LABEL_LEN);
}
