use super::*;

#[test]
fn labels() {
    assert_eq!(daemon_label("eth0").unwrap(), "eth0:fo");
    assert_eq!(daemon_label("enp0s31f6").unwrap(), "enp0s31f6:fo");
    assert_eq!(daemon_label("abcdefghijkl").unwrap(), "abcdefghijkl:fo");
    assert_eq!(daemon_label("abcdefghijklm").unwrap(), "abcdefghijklm:f");
    assert!(daemon_label("abcdefghijklmn").is_err());
    assert!(daemon_label("abcdefghijklmno").is_err());
    assert!(daemon_label("").is_err());
    for n in 1..=13 {
        let name = "x".repeat(n);
        let l = daemon_label(&name).unwrap();
        assert!(l.len() <= MAX_LABEL_LEN);
        assert!(l.starts_with(&format!("{name}:")));
    }
    assert!(daemon_label("abcdefghijklmn")
        .unwrap_err()
        .to_string()
        .contains("at most 13"));
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
                secondary: false,
            })
            .collect(),
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
