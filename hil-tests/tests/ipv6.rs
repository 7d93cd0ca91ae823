//! The lab's IPv6 scenarios: the real daemons serving an IPv6 service
//! address (2001:db8::10/128) beside the lab's IPv4 one (192.0.2.10), a
//! mixed service, with the heartbeats on IPv4. A second client asks the
//! IPv6 address every millisecond ([`Ipv6Side`]); who holds it is sampled
//! on both servers every millisecond, as for IPv4.
//!
//! They need root and the daemons built with the lab's fault injection
//! (`cargo build -p failover-host --features fault-injection`), like
//! `tests/scenarios.rs`, whose conventions they follow.

use std::time::{Duration, Instant};

use failover_host::config::cli::Program;
use failover_lab::daemons::Profile;
use failover_lab::holds::overlap;
use failover_lab::lab::Ipv6Side;
use failover_lab::lab::{events, longest_outage, Lab, Owner};
use failover_lab::lab_test;
use failover_lab::topology::SERVICE6;
use nix::sys::signal::Signal;

#[test]
fn ipv6_takeover_and_failback_with_the_client_answered_over_ipv6() {
    let Some(_serial) = lab_test!() else { return };
    let mut lab = Lab::scenario("ipv6-both-cut", Profile::fast());
    let mut v6 = lab.ipv6();
    let (hb, fo) = lab.start_both_ipv6(&mut v6);
    let logs = [&hb, &fo];

    // The primary's plug is pulled: the secondary takes both addresses.
    let cut = lab.cut_primary_off(&logs);
    lab.wait_owner6(&v6, Owner::Secondary, &logs);
    lab.wait_served6(&v6, "secondary", cut, &logs);
    let answered = Instant::now();
    lab.wait_mailed(&lab.srun, "TookOver", &logs);
    lab.check(
        fo.logged_after(cut, &format!("added {SERVICE6}/128 to pub0 (protocol 70)"))
            .is_some(),
        "failoverd added the IPv6 address under the protocol mark",
        &logs,
    );
    lab.check(
        fo.logged_after(
            cut,
            "with gratuitous ARP and unsolicited neighbour advertisements",
        )
        .is_some(),
        "failoverd announced both families",
        &logs,
    );
    // --status --json names the IPv6 address and reads it back held.
    let status = lab.status_json(&fo);
    let held6 = status["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["address"] == SERVICE6.to_string());
    lab.check(
        held6.is_some_and(|a| a["held"] == true && a["prefix_len"] == 128),
        &format!("failoverd --status --json shows {SERVICE6}/128 held: {status}"),
        &logs,
    );
    let (_, smac) = lab.macs.clone();
    lab.check(
        v6.na.count_from(&smac, cut, Instant::now()) >= 1,
        "the secondary announced the IPv6 address (an unsolicited neighbour advertisement)",
        &logs,
    );
    let probes6 = v6.client.as_ref().map(|c| c.probes()).unwrap_or_default();
    let gap6 = longest_outage(&probes6, cut, answered);
    let gap4 = longest_outage(&lab.probes(), cut, answered);
    println!("takeover: the IPv6 client went unanswered {gap6:?} (IPv4 client: {gap4:?})");
    // Without the neighbour advertisement the client's cache would point
    // at the primary's MAC until neighbour unreachability detection gave
    // up: seconds (5 s reachable time, 3 probes 1 s apart).
    lab.check(
        gap6 < Duration::from_secs(2),
        &format!("the IPv6 client was redirected promptly (gap {gap6:?})"),
        &logs,
    );

    // Back in: the secondary releases first, then the primary adds.
    let plugged = lab.plug_primary_back(&logs);
    lab.wait_owner6(&v6, Owner::Primary, &logs);
    lab.wait_served6(&v6, "primary", plugged, &logs);
    lab.wait_mailed(&lab.srun, "Relinquished", &logs);
    lab.check(
        fo.logged_after(plugged, &format!("removed {SERVICE6} from pub0"))
            .is_some(),
        "failoverd removed the IPv6 address",
        &logs,
    );

    lab.check_never_two_holders(&logs);
    let (p6, s6) = v6.owners.held();
    let both6 = overlap(&p6, &s6, Instant::now());
    lab.check(
        both6.is_zero(),
        &format!("never two holders of {SERVICE6} (overlap {both6:?}): {p6:?} {s6:?}"),
        &logs,
    );
    lab.check_served_over_and_back(&logs);
    lab.check(
        v6.runs() == ["primary", "secondary", "primary"],
        &format!(
            "the IPv6 client was served by the primary, the secondary, the primary: {:?}",
            v6.runs()
        ),
        &logs,
    );
    let sm = events(&lab.srun);
    lab.check(
        sm.contains(&"TookOver".to_owned()),
        &format!("the secondary mailed its takeover: {sm:?}"),
        &logs,
    );
}

#[test]
fn a_killed_failoverd_leaves_no_ipv6_address_after_its_restart_and_an_administrators_stays() {
    let Some(_serial) = lab_test!() else { return };
    let mut lab = Lab::scenario("ipv6-failoverd-killed", Profile::fast());
    let mut v6 = lab.ipv6();
    let (hb, fo) = lab.start_both_ipv6(&mut v6);
    let logs = [&hb, &fo];
    lab.cut_primary_off(&logs);
    lab.wait_owner6(&v6, Owner::Secondary, &logs);
    // An administrator's own IPv6 address on the secondary's interface.
    let admin = "2001:db8::30";
    lab.t
        .secondary
        .ns
        .add_addr6("pub0", &format!("{admin}/128"))
        .unwrap();

    // kill -9: the address stays behind, marked with the protocol.
    lab.t.secondary.ns.signal(fo.pid, Signal::SIGKILL).unwrap();
    lab.check(
        v6.owners.secondary.holds_now(),
        "the killed failoverd's IPv6 address stays",
        &[&hb],
    );
    // Restarted (with the primary still cut off): it removes what the
    // killed one added, and only that, before anything else.
    let restarted = Instant::now();
    let fo2 = lab
        .start_program_serving(Program::Failoverd, &[], &[Ipv6Side::triplet("pub0")])
        .expect("restart failoverd");
    let logs = [&hb, &fo2];
    let removed = format!("removed {SERVICE6}/128 from pub0: left by a previous run (protocol 70)");
    lab.wait("the leftover's removal", &logs, || {
        fo2.logged_after(restarted, &removed).is_some()
    });
    let shown = secondary_ipv6_addresses(&lab);
    lab.check(
        shown.contains(&format!("{admin}/128")),
        &format!("the administrator's {admin} stays: {shown}"),
        &logs,
    );
    // It takes over again on a verdict of its own; then the primary is
    // plugged back and the address goes home, with no overlap.
    lab.wait_owner6(&v6, Owner::Secondary, &logs);
    let plugged = lab.plug_primary_back(&logs);
    lab.wait_owner6(&v6, Owner::Primary, &logs);
    lab.wait_served6(&v6, "primary", plugged, &logs);
    let (p6, s6) = v6.owners.held();
    let both6 = overlap(&p6, &s6, Instant::now());
    lab.check(
        both6.is_zero(),
        &format!("never two holders of {SERVICE6} (overlap {both6:?})"),
        &logs,
    );
    let shown = secondary_ipv6_addresses(&lab);
    lab.check(
        shown.contains(&format!("{admin}/128")) && !shown.contains(&format!("{SERVICE6}/")),
        &format!("after the failback the secondary has the administrator's address only: {shown}"),
        &logs,
    );
}

#[test]
fn arp_refresh_announces_the_ipv6_address_again_while_held_and_stops_on_release() {
    let Some(_serial) = lab_test!() else { return };
    let mut lab = Lab::scenario("ipv6-arp-refresh", Profile::fast());
    let mut v6 = lab.ipv6();
    let (hb, fo) = lab.start_both_ipv6_with(&mut v6, &[], &["--arp-refresh", "1"]);
    let logs = [&hb, &fo];
    let (_, smac) = lab.macs.clone();
    lab.cut_primary_off(&logs);
    lab.wait_owner6(&v6, Owner::Secondary, &logs);
    lab.wait_mailed(&lab.srun, "TookOver", &logs);
    let took = Instant::now();
    // The takeover's own rounds are over within 100 ms; then one
    // advertisement a second.
    std::thread::sleep(Duration::from_millis(2700));
    let refreshed = v6
        .na
        .count_from(&smac, took + Duration::from_millis(500), Instant::now());
    lab.check(
        (2..=4).contains(&refreshed),
        &format!("two refresh rounds in 2.2 s, one advertisement each: {refreshed}"),
        &logs,
    );
    let plugged = lab.plug_primary_back(&logs);
    lab.wait_owner6(&v6, Owner::Primary, &logs);
    lab.wait_mailed(&lab.srun, "Relinquished", &logs);
    let released = Instant::now();
    std::thread::sleep(Duration::from_millis(2200));
    let after = v6.na.count_from(&smac, released, Instant::now());
    lab.check(
        after == 0,
        &format!("no refresh after the release: {after} advertisements from the secondary"),
        &logs,
    );
    lab.check_never_two_holders_from(plugged, "never two holders", &logs);
}

#[test]
fn an_ipv6_only_service_fails_over_and_back() {
    // No IPv4 service address at all: the daemons hold and hand over
    // 2001:db8::10 alone (the heartbeats still go over IPv4).
    let Some(_serial) = lab_test!() else { return };
    let mut lab = Lab::scenario("ipv6-only", Profile::fast());
    let mut v6 = lab.ipv6();
    let (hb, fo) = lab.start_both_ipv6_only(&mut v6);
    let logs = [&hb, &fo];

    let cut = Instant::now();
    lab.t.unplug_both(&lab.t.primary).unwrap();
    lab.wait_owner6(&v6, Owner::Secondary, &logs);
    lab.wait_served6(&v6, "secondary", cut, &logs);
    let answered = Instant::now();
    lab.check(
        fo.logged_after(cut, "with unsolicited neighbour advertisements (")
            .is_some(),
        "failoverd announced with neighbour advertisements only",
        &logs,
    );
    let probes6 = v6.client.as_ref().map(|c| c.probes()).unwrap_or_default();
    let gap6 = longest_outage(&probes6, cut, answered);
    println!("IPv6 only: the client went unanswered {gap6:?} at the takeover");

    let plugged = Instant::now();
    lab.t.plug_both(&lab.t.primary).unwrap();
    lab.wait_owner6(&v6, Owner::Primary, &logs);
    lab.wait_served6(&v6, "primary", plugged, &logs);
    lab.wait_mailed(&lab.srun, "Relinquished", &logs);

    let (p6, s6) = v6.owners.held();
    let both6 = overlap(&p6, &s6, Instant::now());
    lab.check(
        both6.is_zero(),
        &format!("never two holders of {SERVICE6} (overlap {both6:?}): {p6:?} {s6:?}"),
        &logs,
    );
    lab.check(
        v6.runs() == ["primary", "secondary", "primary"],
        &format!(
            "served by the primary, the secondary, the primary: {:?}",
            v6.runs()
        ),
        &logs,
    );
    let (p4, s4) = lab.held();
    lab.check(
        p4.is_empty() && s4.is_empty(),
        "no IPv4 service address anywhere",
        &logs,
    );
}

/// What `ip -6 addr show dev pub0` lists on the secondary: the test of a
/// killed `failoverd` reads it after the restart and after the failback.
fn secondary_ipv6_addresses(lab: &Lab) -> String {
    lab.t
        .secondary
        .ns
        .ip(&["-6", "addr", "show", "dev", "pub0"])
        .unwrap()
}
