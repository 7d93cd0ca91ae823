//! The operator at work, in the lab: a planned switchover
//! (`heartbeatd --handover`) and taking the service back (`--reclaim`), a
//! switchover the secondary cannot take, manual failback
//! (`--failback manual`), health checks, and the primary's own
//! PostAcq/PostRel scripts. Real daemons in network namespaces, a client
//! asking the service address every few milliseconds, and the commands run
//! as an administrator runs them, in the primary's namespace.
//!
//! Each scenario would fail without its behaviour: without the handover
//! the command has nothing to ask (and the client would be served by the
//! primary throughout); without the stand-by the primary would reclaim at
//! once (auto failback); without the handshake's order the addresses
//! would overlap, which `check_never_two_holders` measures from the
//! kernel's own address events.

use std::time::{Duration, Instant};

use failover_lab::daemons::{Daemon, Profile};
use failover_lab::lab::{longest_outage, notified, Lab, Owner};
use failover_lab::lab_test;
use failover_lab::process::is_running;
use nix::sys::signal::Signal;

/// The phase key (`phase.name`) of `d`'s JSON status.
fn phase(lab: &Lab, d: &Daemon) -> String {
    lab.status_json(d)
        .pointer("/phase/name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Runs `heartbeatd <option>` against `hb` and checks it ended with `code`;
/// returns what it printed.
fn ask(lab: &Lab, hb: &Daemon, option: &str, code: i32, logs: &[&Daemon]) -> String {
    let (got, text) = lab.operator(hb, option, &["--wait", "20"]);
    lab.check(
        got == Some(code),
        &format!("heartbeatd {option} exits {code} (got {got:?}: {text})"),
        logs,
    );
    text
}

#[test]
fn a_planned_switchover_moves_the_service_without_overlap_and_a_reclaim_brings_it_back() {
    let Some(_serial) = lab_test!() else { return };
    let mut lab = Lab::scenario("handover", Profile::fast());
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];

    let asked = Instant::now();
    let said = ask(&lab, &hb, "--handover", 0, &logs);
    lab.check(
        said.contains("handed 192.0.2.10 over") && said.contains("stands by"),
        &format!("--handover says what it did: {said}"),
        &logs,
    );
    lab.wait_served_by("secondary", asked, &logs);
    lab.wait_owner(Owner::Secondary, &logs);
    let handover_gap = longest_outage(&lab.probes(), asked, Instant::now());
    // Auto failback, and yet the primary stands by: a second is a hundred
    // of its intervals, in which it would have reclaimed.
    std::thread::sleep(Duration::from_secs(1));
    lab.check(
        lab.runs_since(asked).last().map(String::as_str) == Some("secondary"),
        &format!(
            "the secondary still serves a second later: {:?}",
            lab.runs_since(asked)
        ),
        &logs,
    );
    lab.check(
        phase(&lab, &hb) == "standing_by",
        &format!("heartbeatd's phase is standing_by: {}", lab.status(&hb)),
        &logs,
    );
    lab.check(
        notified(&hb, asked).iter().any(|e| e == "HandoverStarted")
            && notified(&hb, asked).iter().any(|e| e == "StandingBy")
            && notified(&fo, asked)
                .iter()
                .any(|e| e == "PrimaryHandedOver"),
        &format!(
            "the notices: heartbeatd {:?}, failoverd {:?}",
            notified(&hb, asked),
            notified(&fo, asked)
        ),
        &logs,
    );

    let back = Instant::now();
    let said = ask(&lab, &hb, "--reclaim", 0, &logs);
    lab.check(
        said.contains("reclaimed 192.0.2.10"),
        &format!("--reclaim says what it did: {said}"),
        &logs,
    );
    lab.wait_served_by("primary", back, &logs);
    lab.wait_owner(Owner::Primary, &logs);
    let reclaim_gap = longest_outage(&lab.probes(), back, Instant::now());
    lab.check_never_two_holders(&logs);
    println!(
        "planned switchover at 10 ms beats: client unanswered {handover_gap:?} at the \
         handover, {reclaim_gap:?} at the reclaim; both servers held the address for 0 ms"
    );
}

#[test]
fn a_switchover_the_secondarys_test_script_refuses_leaves_the_primary_serving() {
    let Some(_serial) = lab_test!() else { return };
    let mut lab = Lab::scenario("handover-vetoed", Profile::fast());
    lab.srun
        .script("Test_refuse", "echo 'not today' >&2\nexit 1\n")
        .expect("script");
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];

    let asked = Instant::now();
    let said = ask(&lab, &hb, "--handover", 6, &logs);
    lab.check(
        said.contains("the handover failed"),
        &format!("--handover says it failed: {said}"),
        &logs,
    );
    lab.wait_owner(Owner::Primary, &logs);
    lab.wait_served_by("primary", Instant::now(), &logs);
    // The secondary says it holds the addresses from the start of its Test
    // script (zero overlap), so the primary may already stand by when the
    // veto comes: then the notice is that the stand-by ended.
    lab.check(
        notified(&hb, asked)
            .iter()
            .any(|e| e == "HandoverFailed" || e == "StandbyEnded"),
        &format!("heartbeatd mailed the failure: {:?}", notified(&hb, asked)),
        &logs,
    );
    lab.check(
        phase(&lab, &hb) == "holding",
        &format!("heartbeatd holds the address again: {}", lab.status(&hb)),
        &logs,
    );
    lab.check_never_two_holders(&logs);
}

#[test]
fn a_switchover_is_refused_while_the_secondary_is_not_running() {
    let Some(_serial) = lab_test!() else { return };
    let mut lab = Lab::scenario("handover-refused", Profile::fast());
    let (hb, fo) = lab.start_both();
    lab.t.secondary.ns.signal(fo.pid, Signal::SIGTERM).unwrap();
    lab.wait("failoverd to stop", &[&fo], || !is_running(fo.pid));
    let logs = [&hb];
    lab.wait("heartbeatd to lose the secondary", &logs, || {
        hb.logged("the secondary lost")
    });
    let asked = Instant::now();
    let said = ask(&lab, &hb, "--handover", 5, &logs);
    lab.check(
        said.contains("refused") && said.contains("the secondary cannot take the service"),
        &format!("--handover says why it is refused: {said}"),
        &logs,
    );
    lab.check(
        phase(&lab, &hb) == "holding",
        &format!("heartbeatd still holds the address: {}", lab.status(&hb)),
        &logs,
    );
    lab.check_client_kept_service(
        asked,
        Instant::now(),
        "the client is served throughout",
        &logs,
    );
}

#[test]
fn with_manual_failback_a_returning_primary_stands_by_until_reclaimed() {
    let Some(_serial) = lab_test!() else { return };
    let mut lab = Lab::scenario("manual-failback", Profile::fast());
    let (hb, fo) = lab.start_both_with(&["--failback", "manual"], &[]);
    let logs = [&hb, &fo];
    lab.cut_primary_off(&logs);
    lab.wait_mailed(&lab.srun, "TookOver", &logs);
    let healed = Instant::now();
    lab.t
        .plug_both(&lab.t.primary)
        .expect("plug the primary back");
    lab.wait("heartbeatd to stand by", &logs, || {
        notified(&hb, healed).iter().any(|e| e == "StandingBy")
    });
    // Back, heard on both networks, and yet it does not ask: two seconds
    // are two hundred intervals.
    std::thread::sleep(Duration::from_secs(2));
    lab.check(
        lab.runs_since(healed).last().map(String::as_str) == Some("secondary"),
        &format!("the secondary still serves: {:?}", lab.runs_since(healed)),
        &logs,
    );
    lab.check(
        phase(&lab, &hb) == "standing_by",
        &format!("heartbeatd's phase is standing_by: {}", lab.status(&hb)),
        &logs,
    );

    let back = Instant::now();
    ask(&lab, &hb, "--reclaim", 0, &logs);
    lab.wait_served_by("primary", back, &logs);
    lab.wait_owner(Owner::Primary, &logs);
    lab.check_never_two_holders(&logs);
    println!(
        "manual failback: reclaimed on request, client unanswered {:?}",
        longest_outage(&lab.probes(), back, Instant::now())
    );
}

#[test]
fn a_primary_whose_check_scripts_fail_hands_the_service_over_and_takes_it_back_once_they_pass() {
    let Some(_serial) = lab_test!() else { return };
    let mut lab = Lab::scenario("health-check", Profile::fast());
    // The check fails while the file exists (the stand-in for a web server
    // that stopped answering).
    let broken = lab.prun.path.join("service-broken");
    lab.prun
        .script(
            "Check_service",
            &format!("test ! -e {}\n", broken.display()),
        )
        .expect("script");
    let checks = ["--check-interval", "100", "--check-failures", "2"];
    let (hb, fo) = lab.start_both_with(&checks, &[]);
    let logs = [&hb, &fo];
    // Healthy: a second of checks moves nothing.
    let calm = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    lab.check(
        lab.runs_since(calm) == ["primary"],
        &format!("passing checks move nothing: {:?}", lab.runs_since(calm)),
        &logs,
    );

    std::fs::write(&broken, "").expect("break the service");
    let broke = Instant::now();
    lab.wait_served_by("secondary", broke, &logs);
    lab.wait_owner(Owner::Secondary, &logs);
    let moved = broke.elapsed();
    lab.check(
        notified(&hb, broke).iter().any(|e| e == "CheckFailed")
            && notified(&hb, broke).iter().any(|e| e == "HandedOver"),
        &format!("heartbeatd's notices: {:?}", notified(&hb, broke)),
        &logs,
    );
    lab.check(
        phase(&lab, &hb) == "handing_over",
        &format!(
            "an unhealthy primary asks the secondary to serve: {}",
            lab.status(&hb)
        ),
        &logs,
    );

    std::fs::remove_file(&broken).expect("mend the service");
    let mended = Instant::now();
    lab.wait_served_by("primary", mended, &logs);
    lab.wait_owner(Owner::Primary, &logs);
    lab.check(
        notified(&hb, mended).iter().any(|e| e == "CheckPassed"),
        &format!("heartbeatd's notices: {:?}", notified(&hb, mended)),
        &logs,
    );
    lab.check_never_two_holders(&logs);
    println!(
        "health checks every 100 ms, 2 failures: the secondary served {moved:?} after the service \
         broke; the primary {:?} after it was mended",
        mended.elapsed()
    );
}

/// What heartbeatd's hook scripts recorded: `<stage> <argument> <address>
/// present|absent`, the last word saying whether the address was on the
/// primary when the script ran.
fn hooks_ran(lab: &Lab) -> Vec<String> {
    std::fs::read_to_string(lab.prun.path.join("hooks.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_primarys_own_post_acq_and_post_rel_scripts_run_after_its_address_moved() {
    let Some(_serial) = lab_test!() else { return };
    let mut lab = Lab::scenario("primary-hooks", Profile::fast());
    let record = lab.prun.path.join("hooks.txt");
    for stage in ["PostAcq", "PostRel", "PreAcq", "PreRel", "Test"] {
        lab.prun
            .script(
                &format!("{stage}_record"),
                &format!(
                    "if ip -o -4 addr show | grep -q ' 192.0.2.10/'; then where=present; \
                     else where=absent; fi\n\
                     echo \"$FAILOVER_STAGE $1 $2 $where\" >> {}\n",
                    record.display()
                ),
            )
            .expect("script");
    }
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];
    let acquired = "PostAcq acquire 192.0.2.10 present";
    let released = "PostRel release 192.0.2.10 absent";
    lab.wait(
        "PostAcq after the primary's first acquisition",
        &logs,
        || hooks_ran(&lab) == [acquired],
    );

    // A planned switchover: PostRel once the address has left; the reclaim
    // brings PostAcq again once it is back.
    ask(&lab, &hb, "--handover", 0, &logs);
    lab.wait("PostRel after the handover", &logs, || {
        hooks_ran(&lab) == [acquired, released]
    });
    ask(&lab, &hb, "--reclaim", 0, &logs);
    lab.wait("PostAcq after the reclaim", &logs, || {
        hooks_ran(&lab) == [acquired, released, acquired]
    });

    // A stop lets go of the address, then runs PostRel before it exits.
    lab.t.primary.ns.signal(hb.pid, Signal::SIGTERM).unwrap();
    lab.wait("heartbeatd to stop", &logs, || !is_running(hb.pid));
    lab.check(
        hooks_ran(&lab) == [acquired, released, acquired, released],
        &format!(
            "PostRel ran before heartbeatd exited, and never a Test, PreAcq or PreRel script \
             (those are failoverd's): {:?}",
            hooks_ran(&lab)
        ),
        &logs,
    );
    lab.check_never_two_holders(&logs);
}
