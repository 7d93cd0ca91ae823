//! Namespace tests of the plan (`failover_host::config::plan`): the daemons' options
//! resolved against real interfaces over netlink, in network namespaces the
//! tests create and always delete, with documentation addresses only.
//!
//! The lab: a secondary ("sec") and a primary ("pri") joined by two veth
//! pairs, the private network a0 <-> b0 (198.51.100.0/24) and the public one
//! a1 <-> b1 (192.0.2.0/24). The secondary is .2 on both, the primary .1.
//!
//! They need root. Without it each test prints a loud "SKIPPED: needs root"
//! and returns; CI runs as root and runs them all.

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use failover_host::config::cli::{parse_failoverd_args, parse_heartbeatd_args, Invocation};
use failover_host::config::hostconfig::HostConfig;
use failover_host::config::options::{FailoverdOptions, HeartbeatdOptions};
use failover_host::config::plan::{heartbeatd_plan, LinkPlan, Plan};
use failover_host::daemon::start::failoverd_checks;
use failover_host::netlink::addr::{Mark, Netlink};
use failover_lab::netns::{skip_unless_root, veth, Netns};

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("IPv4 address")
}

/// The two servers, wired and addressed, and an empty scripts directory
/// for failoverd (root-owned, mode 0700 as tempfile makes it).
struct Lab {
    sec: Netns,
    pri: Netns,
    scripts: tempfile::TempDir,
}

/// The start of every test here: `None` (skipped, said loudly) unless root,
/// else the lab.
fn lab(test: &str) -> Option<Lab> {
    if skip_unless_root(test) {
        return None;
    }
    let sec = Netns::new("sec").expect("namespace sec");
    let pri = Netns::new("pri").expect("namespace pri");
    veth(&sec, "a0", &pri, "b0").expect("private veth pair");
    veth(&sec, "a1", &pri, "b1").expect("public veth pair");
    sec.add_addr("a0", "198.51.100.2/24").expect("a0 address");
    sec.add_addr("a1", "192.0.2.2/24").expect("a1 address");
    pri.add_addr("b0", "198.51.100.1/24").expect("b0 address");
    pri.add_addr("b1", "192.0.2.1/24").expect("b1 address");
    let scripts = tempfile::tempdir().expect("tempdir");
    Some(Lab { sec, pri, scripts })
}

impl Lab {
    /// failoverd's options from `args`, with the lab's scripts directory.
    fn fopts(&self, args: &[&str]) -> FailoverdOptions {
        fopts(args, self.scripts.path())
    }

    /// failoverd's plan on the secondary for `args`.
    fn failoverd(&self, args: &[&str]) -> Plan {
        fplan(&self.sec, &self.fopts(args))
    }

    /// heartbeatd's plan on the primary for `args`.
    fn heartbeatd(&self, args: &[&str]) -> Plan {
        hplan(&self.pri, &hopts(args))
    }
}

/// failoverd's options from a command line (no configuration file). The
/// scripts directory is `scripts` unless the arguments name one.
fn fopts(args: &[&str], scripts: &Path) -> FailoverdOptions {
    let scripts = scripts.to_str().expect("utf-8 path");
    let all = ["failoverd", "--scripts-dir", scripts]
        .into_iter()
        .chain(args.iter().copied());
    let a = match parse_failoverd_args(all) {
        Ok(Invocation::Run(a)) => a,
        other => panic!("{args:?}: {other:?}"),
    };
    FailoverdOptions::resolve(&a, &HostConfig::absent(Path::new("/nonexistent")))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn hopts(args: &[&str]) -> HeartbeatdOptions {
    let a = match parse_heartbeatd_args(std::iter::once("heartbeatd").chain(args.iter().copied())) {
        Ok(Invocation::Run(a)) => a,
        other => panic!("{args:?}: {other:?}"),
    };
    HeartbeatdOptions::resolve(&a, &HostConfig::absent(Path::new("/nonexistent")))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// failoverd's plan, computed inside `ns`.
fn fplan(ns: &Netns, opts: &FailoverdOptions) -> Plan {
    ns.run(|| {
        let mut nl = Netlink::open().expect("netlink");
        failoverd_checks(opts, &mut nl)
    })
    .expect("enter namespace")
}

/// heartbeatd's plan, computed inside `ns`.
fn hplan(ns: &Netns, opts: &HeartbeatdOptions) -> Plan {
    ns.run(|| {
        let mut nl = Netlink::open().expect("netlink");
        heartbeatd_plan(opts, &mut nl)
    })
    .expect("enter namespace")
}

/// The one problem of `plan`, which must mention every word of `culprits`.
fn the_problem<'a>(plan: &'a Plan, culprits: &[&str]) -> &'a str {
    assert_eq!(
        plan.problems.len(),
        1,
        "expected one problem: {:#?}",
        plan.problems
    );
    assert!(!plan.is_sound());
    let m = plan.problems[0].as_str();
    for c in culprits {
        assert!(m.contains(c), "{m:?} does not mention {c:?}");
    }
    m
}

/// Link `id` on `interface`, from `source` to `peers`.
fn link(id: u8, interface: &str, source: &str, peers: &str) -> LinkPlan {
    LinkPlan::new(id, interface, ip(source), ip(peers))
}

#[test]
fn failoverd_sound_setup() {
    let Some(lab) = lab("plan_ns::failoverd_sound_setup") else {
        return;
    };
    let p = lab.failoverd(&[
        "--witness",
        "198.51.100.3",
        "198.51.100.1",
        "a1:192.0.2.10",
        "a1:192.0.2.11/32",
    ]);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
    assert_eq!(
        p.links,
        [
            link(0, "a0", "198.51.100.2", "198.51.100.255"),
            link(1, "a1", "192.0.2.2", "192.0.2.255"),
        ]
    );
    assert_eq!(p.local_private, ip("198.51.100.2"));
}

#[test]
fn heartbeatd_sound_setup() {
    let Some(lab) = lab("plan_ns::heartbeatd_sound_setup") else {
        return;
    };
    let p = lab.heartbeatd(&[
        "--witness",
        "198.51.100.3",
        "--service",
        "b1:192.0.2.10",
        "198.51.100.255",
        "192.0.2.255",
    ]);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
    assert_eq!(
        p.links,
        [
            link(0, "b0", "198.51.100.1", "198.51.100.255"),
            link(1, "b1", "192.0.2.1", "192.0.2.255"),
        ]
    );
    assert_eq!(p.local_private, ip("198.51.100.1"));

    // A unicast target (the secondary's address) is sent to as given.
    let p = lab.heartbeatd(&["198.51.100.2", "192.0.2.2"]);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(
        p.links,
        [
            link(0, "b0", "198.51.100.1", "198.51.100.2"),
            link(1, "b1", "192.0.2.1", "192.0.2.2"),
        ]
    );
}

#[test]
fn down_interface_is_a_problem_no_carrier_a_warning() {
    let Some(lab) = lab("plan_ns::down_interface_is_a_problem_no_carrier_a_warning") else {
        return;
    };
    let o = lab.fopts(&["198.51.100.1", "a1:192.0.2.10"]);

    // The peer's end down: a0 is up but has no carrier.
    lab.pri.link_down("b0").expect("b0 down");
    let p = fplan(&lab.sec, &o);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(p.warnings.len(), 1, "{:#?}", p.warnings);
    assert!(
        p.warnings[0].starts_with("interface a0 (link 0") && p.warnings[0].contains("no carrier"),
        "{:?}",
        p.warnings
    );

    // This host's own end down.
    lab.sec.link_down("a1").expect("a1 down");
    let p = fplan(&lab.sec, &o);
    the_problem(&p, &["interface a1", "is down", "ip link set dev a1 up"]);
    // The link is still planned: the address stays configured while down.
    assert_eq!(p.links[1], link(1, "a1", "192.0.2.2", "192.0.2.255"));

    // heartbeatd: a --service interface that is down.
    lab.pri.link_down("b1").expect("b1 down");
    lab.pri.link_up("b0").expect("b0 up");
    let p = lab.heartbeatd(&["--service", "b1:192.0.2.10", "198.51.100.255"]);
    the_problem(&p, &["interface b1", "--service b1:192.0.2.10", "is down"]);
}

#[test]
fn the_32_rule() {
    let Some(lab) = lab("plan_ns::the_32_rule") else {
        return;
    };
    let p = lab.failoverd(&["198.51.100.1", "a1:192.0.2.10/24"]);
    the_problem(
        &p,
        &[
            "a1:192.0.2.10/24",
            "192.0.2.0/24",
            "192.0.2.2/24",
            "must have the mask /32",
            "a1:192.0.2.10/32",
        ],
    );

    let p = lab.heartbeatd(&["--service", "b1:192.0.2.10/25", "198.51.100.255"]);
    the_problem(&p, &["--service b1:192.0.2.10/25", "192.0.2.0/24", "/32"]);

    // A mask for an address on another subnet is fine (with a warning that
    // the servers need their own address on it).
    let p = lab.failoverd(&["198.51.100.1", "a1:203.0.113.10/24"]);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("203.0.113.10 is on none of a1's subnets")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn broadcast_netmask_trap() {
    let Some(lab) = lab("plan_ns::broadcast_netmask_trap") else {
        return;
    };
    // A /16 broadcast for a /24 network (a reader's comment on the 2005 walk-through, our addresses).
    let p = lab.heartbeatd(&["198.51.255.255", "192.0.2.255"]);
    the_problem(
        &p,
        &[
            "ip_addr 198.51.255.255",
            "b0",
            "netmask 255.255.255.0",
            "198.51.100.0/24",
            "give 198.51.100.255",
        ],
    );

    // The other way round: a /24 broadcast on a /25 network.
    let h = Netns::new("narrow").expect("namespace");
    let peer = Netns::new("narrow-peer").expect("namespace");
    veth(&h, "n0", &peer, "p0").expect("veth");
    h.add_addr("n0", "198.51.100.1/25").expect("address");
    let p = hplan(&h, &hopts(&["198.51.100.255"]));
    the_problem(
        &p,
        &[
            "ip_addr 198.51.100.255",
            "n0",
            "198.51.100.0/25",
            "give 198.51.100.127",
        ],
    );
    let p = hplan(&h, &hopts(&["198.51.100.127"]));
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(p.links, [link(0, "n0", "198.51.100.1", "198.51.100.127")]);

    // 255.255.255.255 names no network.
    let p = lab.heartbeatd(&["255.255.255.255", "192.0.2.255"]);
    the_problem(
        &p,
        &[
            "ip_addr 255.255.255.255",
            "directed broadcast",
            "198.51.100.255",
        ],
    );
}

#[test]
fn witness_outside_the_private_subnet() {
    let Some(lab) = lab("plan_ns::witness_outside_the_private_subnet") else {
        return;
    };
    let p = lab.failoverd(&["--witness", "203.0.113.5", "198.51.100.1", "a1:192.0.2.10"]);
    the_problem(&p, &["--witness 203.0.113.5", "198.51.100.0/24", "a0"]);

    // The public subnet is not the private one either, for heartbeatd.
    let p = lab.heartbeatd(&["--witness", "192.0.2.3", "198.51.100.255", "192.0.2.255"]);
    the_problem(&p, &["--witness 192.0.2.3", "198.51.100.0/24", "b0"]);
}

#[test]
fn missing_interface() {
    let Some(lab) = lab("plan_ns::missing_interface") else {
        return;
    };
    let p = lab.failoverd(&["198.51.100.1", "nope0:192.0.2.10"]);
    let m = the_problem(
        &p,
        &["CNode: invalid interface name: nope0", "nope0:192.0.2.10"],
    );
    assert!(
        m.contains("a0") && m.contains("a1"),
        "lists the choices: {m}"
    );
    assert_eq!(p.links[1].interface, "nope0");

    let p = lab.heartbeatd(&["--service", "nope1:192.0.2.10", "198.51.100.255"]);
    the_problem(&p, &["nope1", "--service nope1:192.0.2.10"]);

    // No interface on master_priv_addr's subnet.
    let p = lab.failoverd(&["203.0.113.1", "a1:192.0.2.10"]);
    the_problem(
        &p,
        &["no interface is on master_priv_addr 203.0.113.1's subnet"],
    );
    assert_eq!(p.local_private, Ipv4Addr::UNSPECIFIED);
}

#[test]
fn service_address_already_configured() {
    let Some(lab) = lab("plan_ns::service_address_already_configured") else {
        return;
    };
    let o = lab.fopts(&["198.51.100.1", "a1:192.0.2.10"]);

    // Added by failoverd itself (its marks): a takeover already done.
    let ifindex = lab
        .sec
        .run(|| {
            let mut nl = Netlink::open().expect("netlink");
            let idx = nl.link_by_name("a1").expect("a1").index;
            let mark = Mark::for_interface("a1");
            nl.add(idx, ip("192.0.2.10"), 32, &mark).expect("add");
            idx
        })
        .expect("enter namespace");
    assert!(ifindex > 0);
    let p = fplan(&lab.sec, &o);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert_eq!(
        p.links[1].source,
        ip("192.0.2.2"),
        "not the service address"
    );

    // Configured by an administrator: the secondary must not hold it.
    lab.sec.add_addr("a0", "192.0.2.10/32").expect("address");
    let p = fplan(&lab.sec, &o);
    the_problem(
        &p,
        &["a1:192.0.2.10", "already configured on a0", "ip addr del"],
    );

    // On the primary too: heartbeatd could never remove it, so the
    // failback would overlap.
    lab.pri.add_addr("b1", "192.0.2.10/32").expect("address");
    let p = lab.heartbeatd(&["--service", "b1:192.0.2.10", "198.51.100.255"]);
    the_problem(
        &p,
        &[
            "b1:192.0.2.10",
            "already configured on b1",
            "without overlap",
        ],
    );
}

#[test]
fn failoverd_warns_about_skipped_scripts() {
    let Some(lab) = lab("plan_ns::failoverd_warns_about_skipped_scripts") else {
        return;
    };
    let addr_dir = lab.scripts.path().join("192.0.2.10");
    std::fs::create_dir(&addr_dir).expect("mkdir");
    let script = addr_dir.join("PostAcq_web");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = lab.fopts(&["198.51.100.1", "a1:192.0.2.10"]);
    let p = fplan(&lab.sec, &o);
    // A skipped script is a warning: the daemon runs without it.
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(
        p.warnings.iter().any(|w| w.contains("PostAcq_web")
            && w.contains("skipped")
            && w.contains("not executable")),
        "{:#?}",
        p.warnings
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let p = fplan(&lab.sec, &o);
    assert!(p.is_sound(), "{:#?}", p.problems);
    // Executable but without a #! line: meant to run, cannot: a problem.
    std::fs::write(&script, "exit 0\n").expect("write");
    let p = fplan(&lab.sec, &o);
    the_problem(&p, &["PostAcq_web", "#! line"]);
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write");
    // A scripts directory named but missing: a typo, not "no scripts".
    let missing = lab.scripts.path().join("nonexistent");
    let o = fopts(&["198.51.100.1", "a1:192.0.2.10"], &missing);
    let p = fplan(&lab.sec, &o);
    the_problem(&p, &["nonexistent", "does not exist"]);
}

/// `-n` with IPv6 service addresses against real interfaces: sound on the
/// interface's own prefix (heartbeats stay on IPv4), a problem when the
/// address is configured by hand, a warning off every prefix.
#[test]
fn ipv6_service_addresses_against_real_interfaces() {
    let Some(lab) = lab("plan_ns::ipv6_service_addresses_against_real_interfaces") else {
        return;
    };
    lab.sec.add_addr6("a1", "2001:db8::2/64").expect("a1 IPv6");
    lab.pri.add_addr6("b1", "2001:db8::1/64").expect("b1 IPv6");

    let p = lab.failoverd(&["198.51.100.1", "a1:192.0.2.10", "a1:2001:db8::10/128"]);
    assert!(p.is_sound(), "{:#?}", p.problems);
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
    assert_eq!(p.links.len(), 2, "heartbeats on IPv4: {:#?}", p.links);
    let p = lab.heartbeatd(&[
        "--service",
        "b1:2001:db8::10",
        "198.51.100.255",
        "192.0.2.255",
    ]);
    assert!(p.is_sound(), "{:#?}", p.problems);

    let p = lab.failoverd(&["198.51.100.1", "a1:2001:db8:1::10"]);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("2001:db8:1::10 is on none of a1's IPv6 prefixes")),
        "{:#?}",
        p.warnings
    );

    lab.sec
        .add_addr6("a1", "2001:db8::10/128")
        .expect("by hand");
    let p = lab.failoverd(&["198.51.100.1", "a1:2001:db8::10"]);
    the_problem(
        &p,
        &["2001:db8::10", "already configured on a1", "failoverd"],
    );
}
