//! The witness scenarios: the real witness firmware, booted in
//! QEMU (`failover_lab::witness`), on the lab's private network with the
//! real `heartbeatd --witness 198.51.100.3` and `failoverd --witness
//! 198.51.100.3 --witness-policy required` (or `preferred`), at the fast
//! profile (10 ms beats, as the firmware is built for), all three nodes
//! with the lab's key (`firmware/lab-only.key`, `--key-file`):
//!
//! * the primary loses power (both its cables out) → the witness grants →
//!   the secondary takes over, never with two holders;
//! * the secondary is isolated (both its cables out) → it cannot reach the
//!   witness and takes nothing; the primary, which still hears the witness,
//!   keeps the address;
//! * the witness is down (policy required) → the secondary notifies and
//!   takes nothing when the primary goes; once the witness is powered on
//!   again it grants (after listening for its whole dead time) and the
//!   secondary takes over;
//! * the witness is down (policy preferred) → Apple's rule, but only after
//!   the longer hold-down (one lease after the verdict), with a
//!   `WitnessFallback` notice;
//! * the witness loses power right after its grant, during the takeover →
//!   the grant binds: unrenewed, it runs out and the secondary lets go; the
//!   rebooted witness (a new epoch) grants again only after listening for
//!   its whole dead time; the primary's return is a clean failback;
//! * the servers lose each other (the switch isolates their ports from
//!   each other, not from the witness), the secondary asks, the witness
//!   denies, and is rebooted meanwhile → the rebooted witness grants
//!   nothing; the primary, cut off from everyone while the witness is off,
//!   lets go (its isolation fence), and takes the address back only once
//!   the rebooted witness's amnesia lease is over;
//! * the same split with an attacker on the private network answering each
//!   of the secondary's requests with a forged grant (unsigned, signed with
//!   a wrong key, with an unknown key id, and a real grant captured earlier
//!   and replayed) → all refused (failoverd's counters), no takeover.
//!
//! Each asserts who holds the service address (ownership sampling every
//! millisecond) and that it was never on both servers at once, the mail,
//! and the witness's own log, decoded with `defmt-print` (required under
//! CI). The harness is the library's [`Lab`] with the witness plugged in
//! ([`Lab::with_witness`]); the tests run one at a time
//! ([`witness_test!`]).
//!
//! Each test needs root, `qemu-system-arm` and the firmware ELF
//! (`scripts/firmware.sh` builds it, with the lab's key); without them it
//! says so loudly and returns (under `CI=true`, a missing QEMU, ELF or
//! `defmt-print` fails instead). A failing test keeps its directory (daemon
//! logs, mail, the witness's defmt streams and their decoded text,
//! `witness/witness-boot<N>.log`), names it and prints the log's tail.

use std::time::{Duration, Instant};

use failover_lab::attacker::{Attacker, GrantForger};
use failover_lab::bench::cpu_seconds;
use failover_lab::holds::{lasting_past, started_since, Held};
use failover_lab::lab::{events, events_since, notified, only, Lab, Owner, QUIET, STEP};
use failover_lab::witness::{self, LEASE, WITNESS_DEAD_TIME};
use failover_lab::witness_log::{first_status, granted_deaf};
use failover_lab::witness_test;

#[test]
fn primary_power_loss_the_witness_grants_and_the_secondary_takes_over() {
    let Some((elf, _serial)) = witness_test!() else {
        return;
    };
    let mut lab = Lab::with_witness("power-loss", &elf);
    let (hb, fo) = lab.start_all();
    let logs = [&hb, &fo];

    // Power loss: both cables out; the primary's kernel drops its address
    // (its heartbeatd sees no carrier anywhere and lets go too).
    let cut = lab.cut_primary_off(&logs);
    let took = cut.elapsed();
    lab.wait_mailed(&lab.srun, "TookOver", &logs);

    let (p, s) = lab.check_never_two_holders(&logs);
    lab.check(
        lasting_past(&p, cut).len() == 1
            && p.last().is_some_and(|h| h.until.is_some())
            && s.len() == 1
            && s[0].is_open(),
        "the primary until the cut, then the secondary",
        &logs,
    );
    let mail = events(&lab.srun);
    lab.check(
        !mail
            .iter()
            .any(|e| e == "WitnessFallback" || e == "WitnessLost"),
        &format!("the takeover had the witness's grant, no fallback: {mail:?}"),
        &logs,
    );
    lab.check_witness_running(&logs);
    lab.check_witness_log(
        |log| log.contains("GRANT to 198.51.100.2"),
        "the witness logged its grant to the secondary",
        &logs,
    );
    eprintln!("takeover {took:?} after the primary's power loss");
}

#[test]
fn secondary_isolated_cannot_reach_the_witness_and_takes_nothing() {
    let Some((elf, _serial)) = witness_test!() else {
        return;
    };
    let mut lab = Lab::with_witness("secondary-isolated", &elf);
    let (hb, fo) = lab.start_all();
    let logs = [&hb, &fo];

    let pm_before = events(&lab.prun);
    let (cut, _) = lab.isolate_secondary_for_a_while(&fo, &logs);
    std::thread::sleep(Duration::from_millis(300));

    let (p, s) = lab.held();
    lab.check(
        s.is_empty(),
        "the isolated secondary must never take the address",
        &logs,
    );
    let during = lasting_past(&p, cut);
    // On a loaded machine heartbeatd may not run for over two intervals:
    // the stall rule drops the address, and it takes it back at once (the
    // witness says no grant is outstanding). That is logged, and allowed.
    lab.check(
        !during.is_empty()
            && during[0].from < cut
            && during.len() <= 1 + hb.stalls()
            && during.last().is_some_and(Held::is_open),
        &format!(
            "the primary, which still hears the witness, holds the address throughout (but \
             for its {} logged stall(s)): {during:?}",
            hb.stalls()
        ),
        &logs,
    );
    let (pm, sm) = (events_since(&lab.prun, &pm_before), events(&lab.srun));
    lab.check(
        !pm.iter().any(|e| e == "Isolated" || e == "Yielded"),
        &format!("the primary never thought itself cut off: {pm:?}"),
        &logs,
    );
    lab.check(
        !sm.iter().any(|e| e == "TookOver"),
        &format!("no takeover: {sm:?}"),
        &logs,
    );
    lab.check_witness_running(&logs);
    lab.check_witness_log(
        |log| !log.contains("GRANT"),
        "the witness granted nothing",
        &logs,
    );
}

#[test]
fn witness_down_with_policy_required_no_takeover_until_it_is_back() {
    let Some((elf, _serial)) = witness_test!() else {
        return;
    };
    let mut lab = Lab::with_witness("witness-down", &elf);
    let (hb, fo) = lab.start_all();
    let logs = [&hb, &fo];

    // The witness loses power: the secondary notices and says so.
    lab.power_off_until_witness_lost(&logs);

    // Then the primary goes: without the witness, policy "required" takes
    // nothing.
    lab.t.unplug_both(&lab.t.primary).unwrap();
    std::thread::sleep(QUIET);
    let (_, s) = lab.held();
    lab.check(
        s.is_empty(),
        "without the witness (policy required) the secondary takes nothing",
        &logs,
    );
    lab.check_no_takeover_mail(&logs);

    // The witness comes back (a new boot, a new epoch): it listens for its
    // whole dead time, hears no primary, and grants.
    let back = Instant::now();
    lab.power_on();
    lab.wait_owner(Owner::Secondary, &logs);
    lab.wait_mailed(&lab.srun, "TookOver", &logs);
    lab.check_never_two_holders(&logs);
    lab.check(
        lab.witness_node().boots() == 2 && lab.witness_node().is_running(),
        "the witness runs its second boot",
        &logs,
    );
    lab.check_witness_log(
        |log| log.contains("GRANT to 198.51.100.2"),
        "the rebooted witness logged its grant",
        &logs,
    );
    eprintln!("takeover {:?} after the witness came back", back.elapsed());
}

#[test]
fn witness_down_with_policy_preferred_apple_rule_after_the_longer_hold_down() {
    let Some((elf, _serial)) = witness_test!() else {
        return;
    };
    let mut lab = Lab::with_witness("preferred", &elf);
    lab.policy = "preferred";
    let (hb, fo) = lab.start_all();
    let logs = [&hb, &fo];

    lab.power_off_until_witness_lost(&logs);

    // The primary goes. Without the witness, policy "preferred" falls back
    // to Apple's rule (silence on every link), but only once the longer
    // hold-down — one lease, 200 ms — has passed since the verdict: any
    // grant the witness may have given meanwhile has run out by then.
    let cut = lab.cut_primary_off(&logs);
    lab.wait_mailed(&lab.srun, "TookOver", &logs);

    let (p, s) = lab.check_never_two_holders(&logs);
    lab.check(
        lasting_past(&p, cut).len() == 1
            && p.last().is_some_and(|h| h.until.is_some())
            && s.len() == 1,
        "the primary until the cut, then the secondary",
        &logs,
    );
    // A "must not happen before" bound: the verdict comes a dead time
    // (30 ms) after the primary's last heartbeat, itself at most an
    // interval or so before the cut, and the fallback a lease (200 ms)
    // after the verdict; so not before 220 ms after the cut. 150 ms leaves
    // 70 ms for a primary that beat late before the cut, and is still far
    // above the 52 ms the secondary waits with a witness's grant (or the
    // 30 ms of Apple's rule alone). Load only makes it later. The sampled
    // start is no earlier than the address really appeared.
    let took = s[0].from.saturating_duration_since(cut);
    lab.check(
        took >= LEASE - Duration::from_millis(50),
        &format!(
            "the fallback waited the longer hold-down ({LEASE:?} after the verdict): the \
             secondary held the address {took:?} after the cut"
        ),
        &logs,
    );
    let mail = only(
        &notified(&fo, cut),
        &["WitnessFallback", "TookOver", "LeaseExpired"],
    );
    lab.check(
        mail == ["WitnessFallback", "TookOver"],
        &format!("it said it acted without the witness, then took over: {mail:?}"),
        &logs,
    );
    // Each notice has its own sendmail: the fallback's may land after the
    // takeover's (a CI run read the file in between).
    lab.wait(
        "the fallback mail saying the takeover is without the witness",
        &logs,
        || lab.srun.mail().contains("WITHOUT the witness"),
    );
    lab.check_witness_log(
        |log| !log.contains("GRANT"),
        "the witness, off since before the primary went, granted nothing",
        &logs,
    );
    eprintln!("takeover {took:?} after the primary's power loss, without the witness");
}

#[test]
fn witness_rebooted_right_after_its_grant_the_lease_binds_and_no_second_holder() {
    let Some((elf, _serial)) = witness_test!() else {
        return;
    };
    let mut lab = Lab::with_witness("reboot-at-grant", &elf);
    let (hb, fo) = lab.start_all();
    let logs = [&hb, &fo];

    // The primary loses power; the witness grants; the moment the
    // secondary has the address, the witness loses power too.
    let cut = lab.cut_primary_off(&logs);
    let off = Instant::now();
    lab.power_off();

    // Policy "required": the grant is binding. It cannot be renewed, so it
    // runs out (one lease after the request) and the secondary drops the
    // address and says so. Then nobody holds it while the witness is off.
    lab.wait_mailed(&lab.srun, "LeaseExpired", &logs);
    lab.wait("the secondary to drop the address", &logs, || {
        !lab.owners.secondary.holds_now()
    });
    std::thread::sleep(Duration::from_millis(300));
    let (p, s) = lab.held();
    lab.check(
        s.len() == 1 && s[0].until.is_some_and(|end| end > off) && lasting_past(&p, cut).len() <= 1,
        &format!("the secondary held the address once, until its lease ran out: {s:?}"),
        &logs,
    );
    lab.check(
        started_since(&p, cut).is_empty() && !lab.owners.primary.holds_now(),
        "the primary, without power, holds nothing",
        &logs,
    );

    // The witness comes back with a new epoch. It remembers no grant, so
    // it grants only after listening for its whole dead time; the
    // secondary, still asking, then takes over again.
    let on = Instant::now();
    lab.power_on();
    lab.wait_owner(Owner::Secondary, &logs);
    let (_, s) = lab.held();
    let regained = started_since(&s, on);
    lab.check(
        regained.len() == 1
            && regained[0].from.saturating_duration_since(on) >= WITNESS_DEAD_TIME - STEP,
        &format!(
            "the rebooted witness granted no sooner than its dead time ({WITNESS_DEAD_TIME:?}) \
             after its power-on: {:?}",
            regained
                .first()
                .map(|h| h.from.saturating_duration_since(on))
        ),
        &logs,
    );
    lab.wait_mailed_times(&lab.srun, "TookOver", 2, &logs);

    // The primary comes back: a failback through the reclaim handshake.
    let back = lab.plug_primary_back(&logs);
    lab.wait_mailed(&lab.srun, "Relinquished", &logs);
    std::thread::sleep(Duration::from_millis(300));

    // Never two holders over the whole run.
    let (p, s) = lab.check_never_two_holders(&logs);
    let returned = started_since(&p, cut);
    lab.check(
        !returned.is_empty()
            && returned[0].from > back
            && returned.len() <= 1 + hb.stalls()
            && returned.last().is_some_and(Held::is_open),
        &format!(
            "the primary holds the address again, from its return on (and took it back after \
             each of its {} stall(s)): {returned:?}",
            hb.stalls()
        ),
        &logs,
    );
    lab.check(
        s.len() == 2 && s.iter().all(|h| h.until.is_some()),
        &format!("the secondary held it twice (each boot's grant), and not now: {s:?}"),
        &logs,
    );
    let mail = only(
        &notified(&fo, cut),
        &[
            "TookOver",
            "LeaseExpired",
            "Relinquished",
            "WitnessFallback",
        ],
    );
    lab.check(
        mail == [
            "TookOver",
            "LeaseExpired",
            "Relinquished",
            "TookOver",
            "Relinquished",
        ],
        &format!(
            "took over, the grant ran out (the address dropped), took over again, gave back: \
             {mail:?}"
        ),
        &logs,
    );
    lab.check_witness_rebooted(
        |_, b| b.iter().all(|l| l.contains("GRANT to 198.51.100.2")),
        "each boot of the witness logged a grant to the secondary",
        &logs,
    );
}

#[test]
fn witness_rebooted_while_the_live_primary_is_lost_to_the_secondary_grants_nothing() {
    let Some((elf, _serial)) = witness_test!() else {
        return;
    };
    let mut lab = Lab::with_witness("reboot-while-asked", &elf);
    let (hb, fo) = lab.start_all();
    let logs = [&hb, &fo];

    // The servers lose each other; both still reach the witness (and the
    // client). The secondary declares the primary dead and asks; the
    // witness still hears the primary and denies.
    let pm_before = events(&lab.prun);
    let split = Instant::now();
    lab.split(true);
    lab.wait_mailed(&lab.srun, "WitnessDenied", &logs);
    lab.check(
        lab.srun
            .mail()
            .contains("the witness still hears the primary"),
        "denied because the witness hears the primary",
        &logs,
    );

    // The witness loses power while the secondary keeps asking. The
    // primary now has no round trip with anyone: after its isolation
    // fence it lets go (it may be the one cut off, and the witness could
    // be granting). So nobody holds the address while the witness is off.
    let off = Instant::now();
    lab.power_off();
    lab.wait_mailed_since(&lab.prun, &pm_before, "Isolated", &logs);
    lab.wait("the primary to let go", &logs, || {
        !lab.owners.primary.holds_now()
    });
    std::thread::sleep(Duration::from_millis(300));

    // Back with a new epoch, it hears the primary at once: every request
    // is denied. It cannot know whether it granted before its reboot, so
    // for one lease its heartbeats say a grant may be outstanding, and the
    // primary (whose peer is silent) waits that out before it takes the
    // address back.
    let on = Instant::now();
    lab.power_on();
    lab.wait_owner(Owner::Primary, &logs);
    std::thread::sleep(QUIET);
    lab.split(false);
    lab.wait_hears_primary(&fo, &logs);
    std::thread::sleep(Duration::from_millis(300));

    let (p, s) = lab.held();
    lab.check(
        s.is_empty(),
        &format!(
            "the secondary never held the address: {s:?}{}",
            granted_deaf(&lab.witness_node().decode_logs().unwrap_or_default())
        ),
        &logs,
    );
    let gap = lasting_past(&p, split)
        .iter()
        .find(|h| h.until.is_some_and(|end| end >= off))
        .copied();
    lab.check(
        gap.is_some_and(|h| h.until.is_some_and(|end| end < on)),
        &format!("the primary let go while the witness was off: {p:?}"),
        &logs,
    );
    let retaken = started_since(&p, on);
    let after = retaken
        .first()
        .map(|h| h.from.saturating_duration_since(on));
    lab.check(
        after.is_some_and(|d| d >= LEASE - Duration::from_millis(10))
            && p.last().is_some_and(Held::is_open),
        &format!(
            "the primary took the address back, not before the rebooted witness's amnesia \
             lease ({LEASE:?}) was over: {after:?} after its power-on"
        ),
        &logs,
    );
    let sm = events(&lab.srun);
    lab.check(
        !sm.iter().any(|e| e == "TookOver" || e == "WitnessFallback"),
        &format!("no takeover: {sm:?}"),
        &logs,
    );
    let pm = only(&notified(&hb, split), &["Isolated", "Acquired", "Yielded"]);
    lab.check(
        pm.first().is_some_and(|e| e == "Isolated")
            && pm.last().is_some_and(|e| e == "Acquired")
            && !pm.iter().any(|e| e == "Yielded"),
        &format!("the primary fenced itself and took the address back: {pm:?}"),
        &logs,
    );
    lab.check_witness_rebooted(
        |log, _| !log.contains("GRANT"),
        "neither boot of the witness granted anything",
        &logs,
    );
}

#[test]
fn forged_grants_from_another_host_are_refused_with_a_key() {
    let Some((elf, _serial)) = witness_test!() else {
        return;
    };
    let mut lab = Lab::with_witness("forged-grant", &elf);
    lab.check(
        !lab.keys.is_empty(),
        "the lab runs with a key (FAILOVER_WITNESS_KEY_FILE says the firmware has none: this \
         scenario needs one)",
        &[],
    );
    let (hb, fo) = lab.start_all();
    let logs = [&hb, &fo];
    let attacker = Attacker::join_private(&lab.t).expect("the attacker joins");
    let forger = GrantForger::start(attacker.channel().expect("the attacker's channel"));

    // A real takeover first, with the key: the attacker records the
    // witness's genuine, signed grants off the wire. Then the primary
    // comes back (failback).
    lab.cut_primary_off(&logs);
    lab.wait_mailed(&lab.srun, "TookOver", &logs);
    lab.wait("the attacker to capture a real grant", &logs, || {
        !forger.report().captured.is_empty()
    });
    lab.plug_primary_back(&logs);
    lab.wait_mailed(&lab.srun, "Relinquished", &logs);
    lab.wait_hears_primary(&fo, &logs);

    // The servers lose each other; the primary lives and the witness hears
    // it, so it denies the secondary's requests. The attacker answers each
    // request at once with grants for it — the right nonce and subject,
    // from the witness's node id and address — unsigned, signed with a
    // wrong secret under the lab key's id, and under a key id nobody
    // holds, and replays a real grant. A secondary that took any of them
    // would take the address from a live primary.
    let sm_before = events(&lab.srun);
    let before = lab.counters(&fo);
    let split = Instant::now();
    lab.split(true);
    forger.forging(true);
    lab.wait_mailed_since(&lab.srun, &sm_before, "WitnessDenied", &logs);
    lab.wait("the attacker to answer 20 requests", &logs, || {
        forger.report().requests >= 20
    });
    std::thread::sleep(QUIET);
    forger.forging(false);
    std::thread::sleep(Duration::from_millis(50));
    let after = lab.counters(&fo);
    let forged = forger.report();
    lab.split(false);
    lab.wait_hears_primary(&fo, &logs);
    std::thread::sleep(Duration::from_millis(300));

    lab.check(
        forged.requests >= 20
            && forged.unsigned >= 20
            && forged.wrong_key >= 20
            && forged.unknown_key >= 20
            && forged.replayed >= 20,
        &format!(
            "the attacker answered the requests with forged and replayed grants: {} requests, \
             {} unsigned, {} wrong key, {} unknown key id, {} replayed",
            forged.requests, forged.unsigned, forged.wrong_key, forged.unknown_key, forged.replayed
        ),
        &logs,
    );
    // Some frames are lost to the raw channels' buffers on a loaded
    // machine; most must be counted.
    let refused = after.auth_failed - before.auth_failed;
    lab.check(
        refused >= forged.unauthentic() / 2,
        &format!(
            "the forged grants failed authentication: {refused} refused of {} sent ({before:?} \
             -> {after:?})",
            forged.unauthentic()
        ),
        &logs,
    );
    let replays = after.replayed - before.replayed;
    lab.check(
        replays >= forged.replayed / 2,
        &format!(
            "the replayed real grants were refused: {replays} of {} ({before:?} -> {after:?})",
            forged.replayed
        ),
        &logs,
    );
    let (p, s) = lab.held();
    lab.check(
        lasting_past(&s, split).is_empty(),
        &format!("the secondary took nothing while split from the live primary: {s:?}"),
        &logs,
    );
    lab.check_never_two_holders(&logs);
    lab.check(
        p.last().is_some_and(Held::is_open),
        "the primary holds the address",
        &logs,
    );
    let sm = events_since(&lab.srun, &sm_before);
    lab.check(
        !sm.iter().any(|e| e == "TookOver" || e == "WitnessFallback"),
        &format!("no takeover while split: {sm:?}"),
        &logs,
    );
    let pm = events(&lab.prun);
    lab.check(
        !pm.iter().any(|e| e == "Yielded"),
        &format!("the primary never heard the secondary hold the address: {pm:?}"),
        &logs,
    );
    lab.check_witness_log(
        |log| log.contains("auth on"),
        "the witness runs with the key",
        &logs,
    );
    lab.check_witness_log(
        |log| log.contains("GRANT to 198.51.100.2"),
        "the witness granted the real takeover",
        &logs,
    );
    drop(forger);
    eprintln!(
        "the attacker answered {} requests with {} unauthentic grants and {} replays of {} \
         captured real grant(s); failoverd refused {refused} as unauthentic, {replays} as \
         replayed",
        forged.requests,
        forged.unauthentic(),
        forged.replayed,
        forged.captured.len()
    );
}

/// The QEMU witness sleeps until a frame or its next deadline instead of
/// polling (it used to wake every 250 µs: 40 000 turns in 10 s, whatever
/// the traffic), and its stack keeps at least 1 KiB spare. Both are read
/// from its first status line, 10 s after boot, after a takeover has run
/// its deepest paths (a request, its grant, HMAC on every frame). Prints
/// the QEMU process's CPU while the witness is alone on the network (its
/// idle cost) and while both servers beat.
#[test]
fn the_witness_sleeps_between_frames_and_its_stack_keeps_a_margin() {
    let Some((elf, _serial)) = witness_test!() else {
        return;
    };
    let mut lab = Lab::with_witness("sleeps", &elf);
    lab.power_on();
    let booted = Instant::now();
    let pid = lab.witness_node().pid().expect("QEMU's pid");
    let window = Duration::from_secs(3);
    let cpu_over = |what: &str| {
        let before = cpu_seconds(pid).expect("QEMU's CPU time");
        std::thread::sleep(window);
        let used = cpu_seconds(pid).expect("QEMU's CPU time") - before;
        eprintln!(
            "witness (QEMU) CPU {what}: {:.1} % of a core over {} s",
            100.0 * used / window.as_secs_f64(),
            window.as_secs()
        );
    };
    std::thread::sleep(Duration::from_secs(1));
    cpu_over("alone on the network (idle)");

    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];
    cpu_over("with both servers beating every 10 ms");
    lab.cut_primary_off(&logs);

    // The first status line comes 10 s after boot.
    let status_at = booted + Duration::from_secs(11);
    std::thread::sleep(status_at.saturating_duration_since(Instant::now()));
    let mut status = None;
    lab.wait("the witness's first status line", &logs, || {
        status = lab.witness_log(&logs).as_deref().and_then(first_status);
        status.is_some() || !witness::is_ci() && witness::defmt_print().is_none()
    });
    let Some(s) = status else {
        eprintln!("note: defmt-print is not installed: the witness's status line is not checked");
        return;
    };
    eprintln!(
        "witness after 10 s: {} turns for {} frames received and {} sent; stack peak {} B of {} B",
        s.turns, s.nic_rx, s.nic_tx, s.stack_peak, s.stack_size
    );
    // Beside the ELF, for test.sh's summary (the firmware's footprint).
    let _ = std::fs::write(
        elf.with_extension("stack-peak"),
        format!("{} B of {} B\n", s.stack_peak, s.stack_size),
    );
    // One turn per frame received or sent and per timer (its heartbeat
    // every 10 ms, up to three deadlines per interval), plus slack for the
    // boot: a loop that polls turns whether or not anything happened.
    let timers = 3 * 10_000 / 10;
    lab.check(
        s.turns <= s.nic_rx + s.nic_tx + timers + 200,
        &format!(
            "the witness woke only for frames and timers: {} turns for {} frames, {} timer slots",
            s.turns,
            s.nic_rx + s.nic_tx,
            timers
        ),
        &logs,
    );
    lab.check(
        s.stack_peak > 0 && s.stack_peak + 1024 <= s.stack_size,
        &format!(
            "the stack kept 1 KiB spare: peak {} B of {} B",
            s.stack_peak, s.stack_size
        ),
        &logs,
    );
}
