use std::net::Ipv4Addr;

use super::*;

fn failoverd(args: &[&str]) -> Result<Invocation<FailoverdArgs>, StartupError> {
    parse_failoverd_args(std::iter::once("failoverd").chain(args.iter().copied()))
}

fn heartbeatd(args: &[&str]) -> Result<Invocation<HeartbeatdArgs>, StartupError> {
    parse_heartbeatd_args(std::iter::once("heartbeatd").chain(args.iter().copied()))
}

fn run_f(args: &[&str]) -> FailoverdArgs {
    match failoverd(args) {
        Ok(Invocation::Run(a)) => a,
        other => panic!("{args:?}: {other:?}"),
    }
}

fn run_h(args: &[&str]) -> HeartbeatdArgs {
    match heartbeatd(args) {
        Ok(Invocation::Run(a)) => a,
        other => panic!("{args:?}: {other:?}"),
    }
}

#[test]
fn apples_examples_parse() {
    let a = run_f(&["10.100.0.100", "en0:192.13.2.2"]);
    assert_eq!(a.master_priv_addr.as_deref(), Some("10.100.0.100"));
    assert_eq!(a.pairs, ["en0:192.13.2.2"]);
    assert_eq!(a.mode(), RunMode::Background);
    let a = run_f(&["10.100.0.10", "en0:192.13.2.2/16", "en1:1.2.3.4/24"]);
    assert_eq!(a.pairs.len(), 2);
    let h = run_h(&["192.168.1.255", "10.1.0.255"]);
    assert_eq!(h.targets, ["192.168.1.255", "10.1.0.255"]);
}

#[test]
fn short_and_long_forms_are_equivalent() {
    for args in [
        &["-p", "2000", "-L", "local3"][..],
        &["--port=2000", "--syslog=local3"],
        &["--port", "2000", "--syslog", "local3"],
        &["-p2000", "-Llocal3"],
    ] {
        let a = run_f(args);
        assert_eq!(a.common.port.as_deref(), Some("2000"), "{args:?}");
        assert_eq!(a.common.syslog.as_deref(), Some("local3"), "{args:?}");
    }
    assert_eq!(run_f(&["-d"]).mode(), RunMode::Debug);
    assert_eq!(run_f(&["--debug"]).mode(), RunMode::Debug);
    assert_eq!(run_f(&["-n"]).mode(), RunMode::NoRun);
    assert_eq!(run_f(&["--no-run"]).mode(), RunMode::NoRun);
    assert_eq!(run_f(&["-x"]).mode(), RunMode::NoFork);
    assert_eq!(run_f(&["--no-fork"]).mode(), RunMode::NoFork);
    assert_eq!(run_h(&["-x"]).mode(), RunMode::NoFork);
    assert_eq!(
        run_h(&["-m", "-hello-", "198.51.100.255"])
            .message
            .as_deref(),
        Some("-hello-")
    );
}

#[test]
fn run_modes_say_what_they_mean() {
    assert!(RunMode::Background.forks());
    assert!(!RunMode::Debug.forks() && !RunMode::NoFork.forks() && !RunMode::NoRun.forks());
    assert!(RunMode::Debug.logs_to_terminal() && RunMode::NoRun.logs_to_terminal());
    assert!(!RunMode::NoFork.logs_to_terminal());
    assert!(RunMode::NoRun.validate_only() && !RunMode::Debug.validate_only());
}

#[test]
fn modes_exclude_each_other() {
    for args in [
        &["-d", "-n"][..],
        &["-n", "-x"],
        &["-d", "-x"],
        &["--debug", "--no-fork"],
    ] {
        let e = failoverd(args).expect_err("refused");
        assert_eq!(e.exit_code(), EXIT_USAGE);
        assert!(e.messages()[0].contains("cannot be used with"), "{e}");
        let e = heartbeatd(args).expect_err("refused");
        assert_eq!(e.exit_code(), EXIT_USAGE);
    }
}

#[test]
fn help_and_version_stand_alone() {
    for h in ["-h", "--help"] {
        match failoverd(&[h]) {
            Ok(Invocation::Help(text)) => {
                assert!(text.contains("failoverd [-d | -n | -x]"), "{text}");
                assert!(text.contains("--deadtime"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        match heartbeatd(&[h]) {
            Ok(Invocation::Help(text)) => assert!(text.contains("--service"), "{text}"),
            other => panic!("{other:?}"),
        }
    }
    for v in ["-v", "--version"] {
        match failoverd(&[v]) {
            Ok(Invocation::Version(text)) => {
                assert_eq!(
                    text,
                    format!("failoverd version {}\n", env!("CARGO_PKG_VERSION"))
                )
            }
            other => panic!("{other:?}"),
        }
    }
    for args in [&["-h", "-d"][..], &["-v", "10.0.0.1"], &["-h", "-v"]] {
        let e = failoverd(args).expect_err("not alone");
        assert_eq!(e.exit_code(), EXIT_USAGE, "{args:?}");
    }
}

#[test]
fn status_asks_for_text_or_json() {
    match failoverd(&["--status"]) {
        Ok(Invocation::Status(r)) => assert_eq!(
            r,
            StatusRequest {
                pid_file: PathBuf::from("/run/failoverd.pid"),
                json: false
            }
        ),
        other => panic!("{other:?}"),
    }
    match heartbeatd(&["--status", "--json", "--pid-file", "/srv/h.pid"]) {
        Ok(Invocation::Status(r)) => assert_eq!(
            r,
            StatusRequest {
                pid_file: PathBuf::from("/srv/h.pid"),
                json: true
            }
        ),
        other => panic!("{other:?}"),
    }
    // --json means nothing without --status.
    let e = failoverd(&["--json", "10.0.0.1", "eth0:192.0.2.1"]).expect_err("refused");
    assert_eq!(e.exit_code(), EXIT_USAGE);
    assert!(
        e.to_string()
            .contains("required arguments were not provided:\n  --status"),
        "{e}"
    );
}

#[test]
fn handover_and_reclaim_ask_the_running_primary_and_wait() {
    match heartbeatd(&["--handover"]) {
        Ok(Invocation::Operator(r)) => assert_eq!(
            r,
            OperatorRequest {
                pid_file: PathBuf::from("/run/heartbeatd.pid"),
                command: OperatorCommand::Handover,
                wait: std::time::Duration::from_secs(DEFAULT_OPERATOR_WAIT_SECS),
            }
        ),
        other => panic!("{other:?}"),
    }
    match heartbeatd(&["--reclaim", "--wait", "5", "--pid-file", "/srv/h.pid"]) {
        Ok(Invocation::Operator(r)) => {
            assert_eq!(r.command, OperatorCommand::Reclaim);
            assert_eq!(r.wait, std::time::Duration::from_secs(5));
            assert_eq!(r.pid_file, PathBuf::from("/srv/h.pid"));
        }
        other => panic!("{other:?}"),
    }
    for bad in [
        &["--handover", "--reclaim"][..],
        &["--handover", "--status"],
        &["--handover", "-n"],
        &["--wait", "5", "192.0.2.255"],
        &["--reclaim", "--wait", "soon"],
    ] {
        let e = heartbeatd(bad).expect_err("refused");
        assert_eq!(e.exit_code(), EXIT_USAGE, "{bad:?}: {e}");
    }
    // failoverd takes no such command.
    assert!(failoverd(&["--handover"]).is_err());
}

#[test]
fn clap_errors_are_prefixed_with_the_program_and_show_usage() {
    let e = failoverd(&["--bogus"]).expect_err("unknown");
    let text = e.to_string();
    assert!(
        text.starts_with("failoverd: unexpected argument '--bogus'"),
        "{text}"
    );
    assert!(text.contains("failoverd [-d | -n | -x]"), "{text}");
    let e = heartbeatd(&["-p"]).expect_err("missing value");
    assert!(e.to_string().starts_with("heartbeatd: "), "{e}");
    // Options of the other daemon are unknown here.
    assert!(heartbeatd(&["--hold-down", "5"]).is_err());
    assert!(failoverd(&["--service", "eth0:192.0.2.1"]).is_err());
    assert!(failoverd(&["-m", "x"]).is_err());
}

#[test]
fn port_messages() {
    assert_eq!(parse_port("1694"), Ok(1694));
    assert_eq!(parse_port("1"), Ok(1));
    assert_eq!(parse_port("65535"), Ok(65535));
    assert_eq!(parse_port("01694"), Ok(1694));
    for bad in [
        "0",
        "65536",
        "99999999999999999999999",
        "",
        "-1",
        "+1",
        "12a",
        " 1",
    ] {
        assert_eq!(
            parse_port(bad).unwrap_err(),
            "Invalid port. Valid ports range from 1 to 65535.",
            "{bad:?}"
        );
    }
}

#[test]
fn facility_names_and_messages() {
    assert_eq!(Facility::parse("daemon"), Ok(Facility::Daemon));
    assert_eq!(Facility::parse("auth"), Ok(Facility::Auth));
    assert_eq!(Facility::parse("user"), Ok(Facility::User));
    assert_eq!(Facility::parse("LOCAL7"), Ok(Facility::Local(7)));
    for n in 0..8u8 {
        let f = Facility::parse(&format!("local{n}")).expect("valid");
        assert_eq!(f, Facility::Local(n));
        assert_eq!(f.name(), format!("local{n}"));
        assert_eq!(f.code(), (16 + i32::from(n)) << 3);
    }
    assert_eq!(Facility::Daemon.code(), 24);
    assert_eq!(Facility::Auth.code(), 32);
    assert_eq!(Facility::User.code(), 8);
    assert_eq!(Facility::default(), Facility::Daemon);
    for bad in ["kern", "local8", "local", "local00", "", "daemon "] {
        assert_eq!(
            Facility::parse(bad).unwrap_err().to_string(),
            format!(
                "Invalid syslog facility. {bad:?} is not one of daemon (the default), auth, \
                 user, local0 to local7."
            ),
        );
    }
}

#[test]
fn ip_address_messages() {
    let ctx = "master_priv_addr";
    assert_eq!(
        parse_ipv4("198.51.100.1", ctx, AddrUse::Host),
        Ok(Ipv4Addr::new(198, 51, 100, 1))
    );
    let cases = [
        ("10.0.0.300", AddrUse::Host, "CNode: invalid IP address: 10.0.0.300 (master_priv_addr)"),
        ("10.1", AddrUse::Host, "CNode: invalid IP address: 10.1 (master_priv_addr)"),
        ("010.0.0.1", AddrUse::Host, "CNode: invalid IP address: 010.0.0.1 (master_priv_addr)"),
        ("server1", AddrUse::Host, "CNode: invalid IP address: server1 (master_priv_addr)"),
        (
            "2001:db8::1",
            AddrUse::Host,
            "CNode: invalid IP address: 2001:db8::1 (master_priv_addr): only service addresses may be IPv6 (heartbeats, the witness and --probe are IPv4)",
        ),
        (
            "0.0.0.0",
            AddrUse::Target,
            "CNode: invalid IP address: 0.0.0.0 (master_priv_addr): 0.0.0.0 is not a host address",
        ),
        (
            "127.0.0.1",
            AddrUse::Host,
            "CNode: invalid IP address: 127.0.0.1 (master_priv_addr): a loopback address cannot be used",
        ),
        (
            "224.0.0.1",
            AddrUse::Target,
            "CNode: invalid IP address: 224.0.0.1 (master_priv_addr): a multicast address cannot be used",
        ),
        (
            "255.255.255.255",
            AddrUse::Host,
            "CNode: invalid IP address: 255.255.255.255 (master_priv_addr): the broadcast address 255.255.255.255 cannot be used",
        ),
    ];
    for (text, usage, msg) in cases {
        assert_eq!(parse_ipv4(text, ctx, usage).unwrap_err(), msg);
    }
    // Broadcast targets are what heartbeatd sends to.
    assert!(parse_ipv4("255.255.255.255", "ip_addr", AddrUse::Target).is_ok());
    assert!(parse_ipv4("198.51.100.255", "ip_addr", AddrUse::Target).is_ok());
}

#[test]
fn interface_names() {
    for good in [
        "eth0",
        "en0",
        "enp0s31f6",
        "a",
        "veth-pub.100",
        "abcdefghijklmno",
    ] {
        assert_eq!(InterfaceName::new(good).expect(good).as_str(), good);
    }
    let cases = [
        ("", "the name is empty"),
        (
            "abcdefghijklmnop",
            "longer than 15 bytes, the most Linux allows (IFNAMSIZ)",
        ),
        (".", "\".\" and \"..\" are not interface names"),
        ("..", "\".\" and \"..\" are not interface names"),
        ("a/b", "an interface name cannot contain '/'"),
        ("a:b", "an interface name cannot contain ':'"),
        ("a b", "an interface name cannot contain whitespace"),
        ("a\tb", "an interface name cannot contain whitespace"),
        (
            "a\u{7}b",
            "an interface name cannot contain control characters",
        ),
        // 15 characters but more bytes.
        (
            "ééééééééé",
            "longer than 15 bytes, the most Linux allows (IFNAMSIZ)",
        ),
    ];
    for (bad, why) in cases {
        assert_eq!(InterfaceName::new(bad), Err(why), "{bad:?}");
    }
}

#[test]
fn service_addresses() {
    let s = parse_service_addr("en0:192.0.2.10/24", "").expect("valid");
    assert_eq!(s.interface.as_str(), "en0");
    assert_eq!(s.addr, Ipv4Addr::new(192, 0, 2, 10));
    assert!(!s.is_ipv6());
    assert_eq!(s.prefix, Some(24));
    assert_eq!(s.prefix_len(), 24);
    assert_eq!(s.to_string(), "en0:192.0.2.10/24");
    let s = parse_service_addr("eth1:192.0.2.11", "").expect("valid");
    assert_eq!((s.prefix, s.prefix_len()), (None, 32));
    assert_eq!(s.to_string(), "eth1:192.0.2.11");
    assert_eq!(
        parse_service_addr("e:192.0.2.1/0", "").expect("ok").prefix,
        Some(0)
    );
    assert_eq!(
        parse_service_addr("e:192.0.2.1/32", "").expect("ok").prefix,
        Some(32)
    );
}

#[test]
fn ipv6_service_addresses_split_at_the_first_colon() {
    let s = parse_service_addr("eth0:2001:db8::10/128", "").expect("valid");
    assert_eq!(s.interface.as_str(), "eth0");
    assert_eq!(s.addr, "2001:db8::10".parse::<std::net::IpAddr>().unwrap());
    assert!(s.is_ipv6());
    assert_eq!((s.prefix, s.prefix_len()), (Some(128), 128));
    assert_eq!(s.to_string(), "eth0:2001:db8::10/128");
    // Without a mask: a host address, /128.
    let s = parse_service_addr("pub0:2001:db8:0:1::10", "").expect("valid");
    assert_eq!((s.prefix, s.prefix_len()), (None, 128));
    assert_eq!(s.on_interface(), "2001:db8:0:1::10 on pub0");
    let s = parse_service_addr("pub0:2001:db8::10/64", "").expect("valid");
    assert_eq!(s.prefix_len(), 64);
    // The name ends at the first colon, even one made of hex digits.
    let s = parse_service_addr("a1:2001:db8::10", "").expect("valid");
    assert_eq!(s.interface.as_str(), "a1");
    assert_eq!(s.to_string(), "a1:2001:db8::10");
    // An IPv4 address still defaults to /32.
    assert_eq!(
        parse_service_addr("pub0:192.0.2.10", "")
            .expect("ok")
            .prefix_len(),
        32
    );
}

#[test]
fn service_address_messages() {
    let one = |arg: &str, ctx: &str| {
        let e = parse_service_addr(arg, ctx).expect_err(arg);
        assert_eq!(e.len(), 1, "{e:?}");
        e.into_iter().next().unwrap_or_default()
    };
    assert_eq!(
        one("en0", ""),
        "Invalid interface / IP address pair: en0: expected interface:pub_addr[/mask]"
    );
    assert_eq!(
        one("en0:", ""),
        "Invalid interface / IP address pair: en0:: expected interface:pub_addr[/mask]"
    );
    assert_eq!(
        one(
            "192.0.2.1",
            "FAILOVER_PEER_IP_PAIRS at /etc/default/failover:4"
        ),
        "Invalid interface / IP address pair: 192.0.2.1 (FAILOVER_PEER_IP_PAIRS at \
         /etc/default/failover:4): expected interface:pub_addr[/mask]"
    );
    assert_eq!(
        one("en0:192.0.2.300/24", ""),
        "CNode: invalid IP address: 192.0.2.300 (in en0:192.0.2.300/24)"
    );
    assert_eq!(
        one("2001::1/64", ""),
        "Invalid interface / IP address pair: 2001::1/64: expected \
         interface:pub_addr[/mask]; an IPv6 address needs its interface too"
    );
    assert_eq!(
        one("::1", ""),
        "Invalid interface / IP address pair: ::1: expected \
         interface:pub_addr[/mask]; an IPv6 address needs its interface too"
    );
    assert_eq!(
        one("en0:2001:db8::1/129", ""),
        "Invalid mask: /129 (in en0:2001:db8::1/129): a mask is a prefix length from /0 to /128"
    );
    assert_eq!(
        one("en0:fe80::1", ""),
        "CNode: invalid IP address: fe80::1 (in en0:fe80::1): a link-local address (fe80::/10) \
         cannot be a service address"
    );
    assert_eq!(
        one("en0:ff02::1", ""),
        "CNode: invalid IP address: ff02::1 (in en0:ff02::1): a multicast address cannot be used"
    );
    assert_eq!(
        one("en0:::1", ""),
        "CNode: invalid IP address: ::1 (in en0:::1): a loopback address cannot be used"
    );
    assert_eq!(
        one("en0:::ffff:192.0.2.1", ""),
        "CNode: invalid IP address: ::ffff:192.0.2.1 (in en0:::ffff:192.0.2.1): an IPv4-mapped \
         address (::ffff:0:0/96) cannot be used: give the IPv4 address"
    );
    assert_eq!(
        one("en0:2001:db8::zz", ""),
        "CNode: invalid IP address: 2001:db8::zz (in en0:2001:db8::zz)"
    );
    assert_eq!(
        one(":192.0.2.1", ""),
        "CNode: invalid interface name: \"\" (in :192.0.2.1): the name is empty"
    );
    assert_eq!(
        one("a/b:192.0.2.1", ""),
        "CNode: invalid interface name: a/b (in a/b:192.0.2.1): an interface name cannot contain '/'"
    );
    assert_eq!(
        one("averyveryverylongname:192.0.2.1", ""),
        "CNode: invalid interface name: averyveryverylongname (in averyveryverylongname:192.0.2.1): \
         longer than 15 bytes, the most Linux allows (IFNAMSIZ)"
    );
    assert_eq!(
        one("en0:192.0.2.1/33", ""),
        "Invalid mask: /33 (in en0:192.0.2.1/33): a mask is a prefix length from /0 to /32"
    );
    assert_eq!(
        one("en0:192.0.2.1/", ""),
        "Invalid mask: / (in en0:192.0.2.1/): a mask is a prefix length from /0 to /32"
    );
    assert_eq!(
        one("en0:192.0.2.1/255.255.255.0", ""),
        "Invalid mask: /255.255.255.0 (in en0:192.0.2.1/255.255.255.0): a mask is a prefix \
         length from /0 to /32"
    );
    assert!(parse_service_addr("en0:192.0.2.1/24", "FAILOVER_PEER_IP_PAIRS at f:2").is_ok());
}

#[test]
fn every_problem_in_a_triplet_is_reported() {
    let e = parse_service_addr("a b:10.0.0.256/40", "").expect_err("three problems");
    assert_eq!(
        e,
        [
            "CNode: invalid interface name: a b (in a b:10.0.0.256/40): an interface name cannot contain whitespace",
            "CNode: invalid IP address: 10.0.0.256 (in a b:10.0.0.256/40)",
            "Invalid mask: /40 (in a b:10.0.0.256/40): a mask is a prefix length from /0 to /32",
        ]
    );
}

#[test]
fn startup_error_display_lists_every_problem_then_usage() {
    let e = StartupError::new(
        Program::Failoverd,
        vec![
            Problem::usage(MSG_INVALID_PORT),
            Problem::config("dead time 1000 ms is too short"),
        ],
        vec!["unknown key FOO".into()],
    );
    assert_eq!(e.exit_code(), EXIT_USAGE);
    assert_eq!(
        e.to_string(),
        "failoverd: warning: unknown key FOO\n\
         failoverd: Invalid port. Valid ports range from 1 to 65535.\n\
         failoverd: dead time 1000 ms is too short\n\
         usage: failoverd [-d | -n | -x] [-p port] [-L facility] [options] master_priv_addr \
         interface:pub_addr[/mask] ...\n       failoverd --status [--json] [--pid-file PATH]\n       \
         failoverd [-h | -v]"
    );
    let e = StartupError::new(
        Program::Heartbeatd,
        vec![Problem::no_input("cannot read"), Problem::usage("x")],
        vec![],
    );
    assert_eq!(e.exit_code(), EXIT_NOINPUT);
    let e = StartupError::new(Program::Heartbeatd, vec![Problem::config("c")], vec![]);
    assert_eq!(
        (e.exit_code(), e.to_string()),
        (EXIT_CONFIG, "heartbeatd: c\n".into())
    );
    assert_eq!(ProblemKind::NoPerm.exit_code(), EXIT_NOPERM);
}
