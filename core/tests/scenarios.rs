//! Conformance scenarios: hand-written fault schedules played through the
//! simulator with fixed delays, asserting the exact sequence of actions each
//! machine takes. Where `simulator.rs` proves the invariants over random
//! schedules, these pin down the behaviour an administrator sees: Apple's
//! rules, the scripts' order, the reclaim handshake, the witness policies.
//! Every run also checks the simulator's invariants.

mod common;
mod sim;

use failover_core::{
    Action, Duration, Event, Failback, Instant, Machine, NodeId, Stage, StageOutcome, WitnessPolicy,
};
use sim::schedule::{Fault, Schedule};
use sim::world::World;
use sim::NodeIx::{self, Primary as P, Secondary as S, Witness as W};

/// Runs `schedule`, failing with the trace on any invariant violation, and
/// returns the world with its action log.
fn play(schedule: Schedule) -> World {
    let mut world = World::new(schedule, false);
    world.log = Some(Vec::new());
    if let Err(v) = world.run() {
        panic!(
            "invariant violated at {:?}: {}\n{}",
            v.at,
            v.what,
            world.trace()
        );
    }
    world
}

/// Every action `node` took, with when.
fn actions(world: &World, node: NodeIx) -> Vec<(Instant, Action)> {
    world
        .log
        .as_ref()
        .map(|log| {
            log.iter()
                .filter(|(_, n, _)| *n == node)
                .map(|(t, _, a)| (*t, *a))
                .collect()
        })
        .unwrap_or_default()
}

/// The node's actions from `from_ms`, without the timestamps and without
/// the bookkeeping of peer epochs (`peer_epochs_persisted` checks those).
fn after(world: &World, node: NodeIx, from_ms: u64) -> Vec<Action> {
    actions(world, node)
        .into_iter()
        .filter(|(t, _)| *t >= Instant::from_millis(from_ms))
        .map(|(_, a)| a)
        .filter(|a| !matches!(a, Action::PersistPeerEpoch { .. }))
        .collect()
}

/// Asserts `node`'s actions from `from_ms` (as [`after`] lists them) are
/// exactly `expected`, showing its whole timeline when they are not.
#[track_caller]
fn assert_actions(world: &World, node: NodeIx, from_ms: u64, expected: &[Action]) {
    assert_eq!(
        after(world, node, from_ms),
        expected,
        "{:?}",
        timed(world, node)
    );
}

/// The peer epochs `node` asked its host to persist.
fn peer_epochs_persisted(world: &World, node: NodeIx) -> Vec<(NodeId, u32)> {
    actions(world, node)
        .into_iter()
        .filter_map(|(_, a)| match a {
            Action::PersistPeerEpoch { peer, epoch } => Some((peer, epoch)),
            _ => None,
        })
        .collect()
}

#[test]
fn without_a_key_each_peer_epoch_is_persisted_once_it_settles_and_with_a_key_never() {
    let world = play(Schedule::calm(Instant::from_millis(2000)));
    assert_eq!(peer_epochs_persisted(&world, P), [(NodeId(2), 1)]);
    assert_eq!(peer_epochs_persisted(&world, S), [(NodeId(1), 1)]);
    let t = actions(&world, S)
        .into_iter()
        .find(|(_, a)| matches!(a, Action::PersistPeerEpoch { .. }))
        .map(|(t, _)| ms(t));
    // Calm: 10 ms beats, a dead time of 30 ms: settled one dead time
    // after the primary's epoch was confirmed.
    assert!(t.is_some_and(|t| (30..=60).contains(&t)), "{t:?}");
    let mut keyed = Schedule::calm(Instant::from_millis(2000));
    keyed.authenticated = true;
    let world = play(keyed);
    assert_eq!(peer_epochs_persisted(&world, P), []);
    assert_eq!(peer_epochs_persisted(&world, S), []);
}

/// When `node` first took `action`.
fn first_at(world: &World, node: NodeIx, action: Action) -> Option<Instant> {
    actions(world, node)
        .into_iter()
        .find(|(_, a)| *a == action)
        .map(|(t, _)| t)
}

/// When `node` last took `action`: a failback is judged by the final
/// hand-off, not by the acquisition at boot or an earlier takeover.
fn last_at(world: &World, node: NodeIx, action: Action) -> Option<Instant> {
    actions(world, node)
        .into_iter()
        .rfind(|(_, a)| *a == action)
        .map(|(t, _)| t)
}

/// The millisecond `node` first took `action` at or after `from_ms`:
/// scenarios with a cut and a repair ask what each of them brought.
fn first_from(world: &World, node: NodeIx, action: Action, from_ms: u64) -> Option<u64> {
    actions(world, node)
        .into_iter()
        .map(|(t, a)| (ms(t), a))
        .find(|(t, a)| *a == action && *t >= from_ms)
        .map(|(t, _)| t)
}

/// Whether `list` holds the notice of `event`.
fn notified(list: &[Action], event: Event) -> bool {
    list.contains(&Action::Notify(event))
}

/// `t` in whole milliseconds, the unit the scenarios are written in.
fn ms(t: Instant) -> u64 {
    t.total_micros() / 1000
}

/// Asserts the secondary added the addresses by `by_ms`, and returns when:
/// the bound on the failover time that most takeover scenarios check.
#[track_caller]
fn took_over_by(world: &World, by_ms: u64) -> Instant {
    let added = first_at(world, S, Action::AddAddresses).expect("the secondary took over");
    assert!(ms(added) <= by_ms, "took over at {} ms", ms(added));
    added
}

/// Asserts the addresses end on the primary and nowhere else: how every
/// scenario that heals (or never needed a failover) must settle.
#[track_caller]
fn assert_primary_holds_alone(world: &World) {
    assert!(world.has_addresses(P) && !world.has_addresses(S));
}

#[test]
fn steady_state_primary_takes_the_addresses_once_and_nothing_else_happens() {
    let world = play(Schedule::calm(Instant::from_millis(2000)));
    assert_actions(
        &world,
        P,
        0,
        &[
            Action::AddAddresses,
            Action::Announce,
            Action::Notify(Event::Acquired),
        ],
    );
    assert_actions(&world, S, 0, &[]);
    assert_primary_holds_alone(&world);
}

#[test]
fn silence_on_one_network_is_an_anomaly_notice_only() {
    let world = play(
        Schedule::calm(Instant::from_millis(2000))
            .with(500, Fault::port(P, 0, false))
            .with(1200, Fault::port(P, 0, true)),
    );
    let anomaly = Action::Notify(Event::NetworkAnomaly {
        silent: failover_core::LinkMask(0b01),
    });
    assert_actions(
        &world,
        S,
        0,
        &[anomaly, Action::Notify(Event::NetworkRestored)],
    );
    // The notice comes once the private link has been silent for its dead
    // time (three 10 ms intervals after the last heartbeat), not before.
    let at = first_at(&world, S, anomaly).expect("anomaly notice");
    assert!(
        ms(at) >= 515 && ms(at) <= 535,
        "anomaly noticed at {} ms",
        ms(at)
    );
    assert_primary_holds_alone(&world);
}

#[test]
fn silence_on_both_networks_runs_the_acquire_sequence_in_apples_order() {
    let world = play(Schedule::calm(Instant::from_millis(1500)).with(500, Fault::Kill(P)));
    assert_actions(&world, S, 0, &common::TAKEOVER);
    // Dead time 30 ms after the last heartbeat (sent at most one interval
    // before the kill), scripts instant: the addresses move within 40 ms.
    took_over_by(&world, 540);
    assert!(world.has_addresses(S));
}

#[test]
fn a_failing_test_script_vetoes_the_takeover() {
    let mut schedule = Schedule::calm(Instant::from_millis(1500)).with(500, Fault::Kill(P));
    schedule.veto_chance = 1.0;
    let world = play(schedule);
    let s = after(&world, S, 0);
    assert!(
        s.contains(&Action::Notify(Event::Vetoed {
            stage: Stage::Test,
            outcome: StageOutcome::Failed(1)
        })),
        "{s:?}"
    );
    assert!(!s.contains(&Action::AddAddresses), "{s:?}");
    assert!(!s.contains(&Action::RunStage(Stage::PreAcq)), "{s:?}");
    assert!(!world.has_addresses(S));
}

#[test]
fn the_returning_primary_gets_its_addresses_back_without_overlap() {
    let world = play(
        Schedule::calm(Instant::from_millis(2500))
            .with(500, Fault::Kill(P))
            .with(1000, Fault::Restart(P)),
    );
    check_clean_failback(&world, 1000);
}

/// The primary restarted at `restart_ms` after the secondary took over:
/// the secondary released in Apple's order (epoch rollovers aside), the
/// primary took the addresses back only after the removal, within a few
/// intervals, and holds them alone.
fn check_clean_failback(world: &World, restart_ms: u64) {
    let (secondary, _) = split_rollovers(after(world, S, restart_ms));
    assert_eq!(
        secondary,
        vec![
            Action::Notify(Event::PeerRegained),
            Action::RunStage(Stage::PreRel),
            Action::RemoveAddresses,
            Action::RunStage(Stage::PostRel),
            Action::Notify(Event::Relinquished),
        ]
    );
    let removed = last_at(world, S, Action::RemoveAddresses).expect("released");
    let reacquired = last_at(world, P, Action::AddAddresses).expect("reacquired");
    assert!(
        reacquired > removed,
        "primary re-added at {reacquired:?}, secondary removed at {removed:?}"
    );
    // The handshake is quick: the primary's reclaim, the secondary's
    // release and acknowledgement take a few intervals.
    assert!(
        ms(reacquired) - restart_ms <= 60,
        "failback took {} ms",
        ms(reacquired) - restart_ms
    );
    assert_primary_holds_alone(world);
}

#[test]
fn hold_down_delays_the_takeover_and_a_primary_back_in_time_cancels_it() {
    let mut schedule = Schedule::calm(Instant::from_millis(2500))
        .with(500, Fault::Kill(P))
        .with(600, Fault::Restart(P))
        .with(1500, Fault::Kill(P));
    schedule.hold_down = Duration::from_millis(200);
    let world = play(schedule);
    let s = actions(&world, S);
    let added = first_at(&world, S, Action::AddAddresses).expect("second outage taken over");
    assert!(
        ms(added) >= 1700,
        "took over at {} ms despite the hold-down",
        ms(added)
    );
    assert!(
        s.iter()
            .all(|(t, a)| *a != Action::RunStage(Stage::Test) || ms(*t) >= 1500),
        "the first outage, shorter than the hold-down, started a takeover: {s:?}"
    );
}

#[test]
fn witness_required_an_isolated_secondary_never_takes_over() {
    let world = play(
        Schedule::calm(Instant::from_millis(2000))
            .unplugged(500, S)
            .witness(WitnessPolicy::Required),
    );
    let s = after(&world, S, 0);
    assert!(!s.contains(&Action::RunStage(Stage::Test)), "{s:?}");
    assert!(notified(&s, Event::WitnessLost), "{s:?}");
    assert_primary_holds_alone(&world);
}

#[test]
fn witness_required_primary_death_is_taken_over_with_the_grant() {
    let world = play(
        Schedule::calm(Instant::from_millis(2000))
            .with(500, Fault::Kill(P))
            .witness(WitnessPolicy::Required),
    );
    assert!(notified(&after(&world, W, 0), Event::Granted));
    // The witness's own dead time is five intervals and two delay
    // allowances (the simulator's configuration), then one request round
    // trip.
    took_over_by(&world, 580);
    assert!(world.has_addresses(S));
}

#[test]
fn a_deaf_witness_counts_the_primarys_silence_only_from_when_it_hears_again() {
    // The witness's own port is down (a dead switch port, a PHY still
    // negotiating after boot) while the primary dies. When it comes back,
    // the first thing it hears is the secondary, asking: its silence from
    // the primary over the deaf second proves nothing, so it listens for a
    // whole dead time of its own before it grants.
    let world = play(
        Schedule::calm(Instant::from_millis(3000))
            .with(500, Fault::port(W, 0, false))
            .with(1000, Fault::Kill(P))
            .with(2000, Fault::port(W, 0, true))
            .witness(WitnessPolicy::Required),
    );
    let witness_dead_time = failover_core::Timing::recommended(Duration::from_millis(10))
        .witness_dead_time
        .total_micros()
        / 1000;
    let granted = first_at(&world, W, Action::Notify(Event::Granted)).expect("a grant");
    assert!(
        ms(granted) >= 2000 + witness_dead_time,
        "granted at {} ms, before listening for {witness_dead_time} ms after 2000 ms",
        ms(granted)
    );
    let s = after(&world, S, 0);
    assert!(
        notified(
            &s,
            Event::WitnessDenied {
                reason: failover_core::wire::DenyReason::Listening
            }
        ),
        "{s:?}"
    );
    let added = first_at(&world, S, Action::AddAddresses).expect("takeover");
    assert!(added > granted && world.has_addresses(S));
}

#[test]
fn witness_required_an_isolated_primary_lets_go_before_the_secondary_takes_over() {
    let world = play(
        Schedule::calm(Instant::from_millis(2000))
            .unplugged(500, P)
            .witness(WitnessPolicy::Required),
    );
    let fenced =
        first_at(&world, P, Action::Notify(Event::Isolated)).expect("primary fenced itself");
    let added = first_at(&world, S, Action::AddAddresses).expect("secondary took over");
    assert!(fenced < added);
    assert!(world.has_addresses(S) && !world.has_addresses(P));
}

#[test]
fn witness_preferred_falls_back_to_apples_rule_when_the_witness_is_gone() {
    let world = play(
        Schedule::calm(Instant::from_millis(2500))
            .with(300, Fault::Kill(W))
            .with(800, Fault::Kill(P))
            .witness(WitnessPolicy::Preferred {
                fallback_hold_down: Duration::from_millis(500),
            }),
    );
    let s = after(&world, S, 0);
    assert!(notified(&s, Event::WitnessLost), "{s:?}");
    assert!(notified(&s, Event::WitnessFallback), "{s:?}");
    let added = first_at(&world, S, Action::AddAddresses).expect("fallback takeover");
    assert!(
        ms(added) >= 1300 && ms(added) <= 1360,
        "took over at {} ms",
        ms(added)
    );
}

#[test]
fn a_frozen_primary_gives_the_addresses_up_when_it_thaws() {
    let world = play(
        Schedule::calm(Instant::from_millis(2500))
            .with(500, Fault::Freeze(P))
            .with(900, Fault::Thaw(P)),
    );
    assert!(notified(&after(&world, P, 900), Event::Stalled));
    assert!(first_at(&world, S, Action::AddAddresses).is_some());
    // And the handshake brings them back to the primary afterwards.
    assert_primary_holds_alone(&world);
}

#[test]
fn forged_heartbeats_without_the_key_do_not_hold_off_the_failover() {
    let mut schedule = Schedule::calm(Instant::from_millis(1500))
        .with(500, Fault::Kill(P))
        .with(505, Fault::Forge { count: 40 })
        .with(520, Fault::Forge { count: 40 });
    schedule.authenticated = true;
    let world = play(schedule);
    took_over_by(&world, 540);
    assert!(world.has_addresses(S));
}

#[test]
fn replayed_frames_do_not_bring_a_dead_primary_back() {
    let mut schedule = Schedule::calm(Instant::from_millis(1500))
        .with(500, Fault::Kill(P))
        .with(600, Fault::Replay { count: 60 })
        .with(700, Fault::Replay { count: 60 });
    schedule.authenticated = true;
    let world = play(schedule);
    let s = after(&world, S, 600);
    assert!(
        !s.contains(&Action::RunStage(Stage::PreRel)),
        "released on replayed frames: {s:?}"
    );
    assert!(world.has_addresses(S));
}

#[test]
fn a_primary_unplugged_from_everything_lets_go_and_takes_back_without_overlap() {
    // The 2005 walk-through's procedure without a witness: both of the primary's cables
    // pulled, then plugged back. The host reports the lost carrier, so the
    // primary drops the addresses after one interval (no one can reach
    // them), and on its return reclaims them only after the secondary
    // released: never two holders on a connected network.
    let world = play(
        Schedule::calm(Instant::from_millis(3000))
            .unplugged(500, P)
            .plugged_back(1500, P),
    );
    let p_dropped = first_from(&world, P, Action::RemoveAddresses, 500).expect("primary let go");
    assert!(p_dropped <= 520, "primary let go at {p_dropped} ms");
    assert!(notified(&after(&world, P, 500), Event::Isolated));
    let s_added = first_from(&world, S, Action::AddAddresses, 500).expect("secondary took over");
    assert!(s_added > p_dropped);
    let s_removed =
        first_from(&world, S, Action::RemoveAddresses, 1500).expect("secondary released");
    let p_added = first_from(&world, P, Action::AddAddresses, 1500).expect("primary took back");
    assert!(
        p_added > s_removed,
        "primary re-added at {p_added} ms, secondary removed at {s_removed} ms"
    );
    assert_primary_holds_alone(&world);
}

#[test]
fn a_secondary_unplugged_from_everything_never_takes_over() {
    let world = play(
        Schedule::calm(Instant::from_millis(2500))
            .unplugged(500, S)
            .plugged_back(1500, S),
    );
    let s = after(&world, S, 0);
    assert!(!s.contains(&Action::RunStage(Stage::Test)), "{s:?}");
    assert_primary_holds_alone(&world);
}

#[test]
fn a_secondary_holding_when_unplugged_releases_and_the_primary_returns_cleanly() {
    // The primary dies, the secondary takes over, then the secondary loses
    // every cable: it releases (no client can reach it there). The primary
    // restarts meanwhile and, hearing no one, takes the addresses on the
    // secondary's silence; when the secondary is plugged back it finds the
    // primary alive and stays on standby.
    let world = play(
        Schedule::calm(Instant::from_millis(3500))
            .with(300, Fault::Kill(P))
            .unplugged(1000, S)
            .with(1200, Fault::Restart(P))
            .plugged_back(2500, S),
    );
    let released =
        first_from(&world, S, Action::RemoveAddresses, 1000).expect("released when unplugged");
    assert!(released <= 1100, "released at {released} ms");
    assert!(
        first_from(&world, S, Action::AddAddresses, 1000).is_none(),
        "took over again: {:?}",
        actions(&world, S)
    );
    assert_primary_holds_alone(&world);
}

/// The node's actions without its epoch rollovers, and the rollovers.
fn split_rollovers(list: Vec<Action>) -> (Vec<Action>, Vec<u32>) {
    let epochs = list
        .iter()
        .filter_map(|a| match a {
            Action::PersistEpoch(e) => Some(*e),
            _ => None,
        })
        .collect();
    let rest = list
        .into_iter()
        .filter(|a| !matches!(a, Action::PersistEpoch(_)))
        .collect();
    (rest, epochs)
}

#[test]
fn running_out_of_sequence_numbers_rolls_the_epoch_over_and_changes_nothing_else() {
    // Every node starts two frames short of the end of the seq space: its
    // third frame is the first of the next epoch, which its host persists.
    let mut schedule = Schedule::calm(Instant::from_millis(2000));
    schedule.start_seq = u32::MAX - 2;
    let world = play(schedule);
    let (primary, primary_epochs) = split_rollovers(after(&world, P, 0));
    assert_eq!(
        primary,
        vec![
            Action::AddAddresses,
            Action::Announce,
            Action::Notify(Event::Acquired)
        ]
    );
    assert_eq!(primary_epochs, vec![2], "booted in epoch 1, rolled once");
    let (secondary, secondary_epochs) = split_rollovers(after(&world, S, 0));
    assert!(secondary.is_empty(), "{secondary:?}");
    assert_eq!(secondary_epochs, vec![2]);
    assert_primary_holds_alone(&world);
}

#[test]
fn the_failback_handshake_holds_across_an_epoch_rollover() {
    // The restarted primary rolls over right at the start of its reclaim:
    // the secondary's acknowledgement names a frame of the new epoch, which
    // the reclaim must accept (its floor is a frame of the old one).
    let mut schedule = Schedule::calm(Instant::from_millis(2500))
        .with(500, Fault::Kill(P))
        .with(1000, Fault::Restart(P));
    schedule.start_seq = u32::MAX - 2;
    let world = play(schedule);
    check_clean_failback(&world, 1000);
    let (_, restarted_epochs) = split_rollovers(after(&world, P, 1000));
    assert_eq!(
        restarted_epochs,
        vec![4],
        "second life: epoch 2 + 1 (boot) + 1 (rollover)"
    );
}

/// The node's actions, each with the millisecond it was taken.
fn timed(world: &World, node: NodeIx) -> Vec<(u64, Action)> {
    actions(world, node)
        .into_iter()
        .map(|(t, a)| (ms(t), a))
        .collect()
}

#[test]
fn a_primary_cut_from_its_public_network_hands_over_and_takes_back_when_it_returns() {
    // The reachability rule: the primary's public cable (where the service address
    // lives) is pulled; the private link still works. The primary cannot
    // serve, the secondary can: the primary lets go first, then the
    // secondary acquires, and the address comes back once the cable has
    // been in for the settling time (three intervals).
    let world = play(
        Schedule::calm(Instant::from_millis(2000))
            .with(500, Fault::port(P, 1, false))
            .with(1200, Fault::port(P, 1, true)),
    );
    assert_actions(
        &world,
        P,
        400,
        &[
            Action::Notify(Event::Unreachable),
            Action::RemoveAddresses,
            Action::Notify(Event::HandedOver),
            Action::Notify(Event::Reachable),
            Action::AddAddresses,
            Action::Announce,
            Action::Notify(Event::Acquired),
        ],
    );
    let released = first_at(&world, P, Action::RemoveAddresses).expect("handed over");
    assert_eq!(ms(released), 510, "one interval after the carrier went");
    // The secondary mails the public link's silence (it cannot tell whose
    // cable it is), then the primary's handover, then runs the acquire
    // sequence.
    let s = after(&world, S, 400);
    assert!(
        s[1..].starts_with(&[
            Action::Notify(Event::PrimaryHandedOver { planned: false }),
            Action::RunStage(Stage::Test)
        ]),
        "{:?}",
        timed(&world, S)
    );
    // Three frames of the primary's asking (no key: one could be forged),
    // two rounds on its private link alone.
    took_over_by(&world, 500 + 3 * 10 + 5);
    let back = last_at(&world, P, Action::AddAddresses).expect("failback");
    assert!(
        ms(back) >= 1200 + 30,
        "the primary waited for the settling time: back at {} ms",
        ms(back)
    );
    assert_primary_holds_alone(&world);
}

#[test]
fn a_half_healed_primary_does_not_get_the_addresses_back() {
    // A partial heal, as in the 2005 walk-through's test procedure: both of the primary's
    // cables are pulled; the secondary takes over. The private cable comes
    // back first, the public one (the service network) a second later.
    // Hearing the primary on the private link again is not a reason to
    // give the address back to a server nobody can reach.
    let world = play(
        Schedule::calm(Instant::from_millis(3000))
            .unplugged(500, P)
            .with(1000, Fault::port(P, 0, true))
            .with(2000, Fault::port(P, 1, true)),
    );
    let took = first_from(&world, S, Action::AddAddresses, 0).expect("takeover");
    let released = first_from(&world, S, Action::RemoveAddresses, 0).expect("failback");
    assert!(took < 1000, "took over at {took} ms");
    assert!(
        released >= 2000 + 30,
        "the secondary kept serving until the public cable was back and settled: released at {released} ms, {:?}",
        timed(&world, S)
    );
    let p_added: Vec<u64> = timed(&world, P)
        .into_iter()
        .filter(|(_, a)| *a == Action::AddAddresses)
        .map(|(t, _)| t)
        .collect();
    assert_eq!(p_added.len(), 2, "at start and after the heal: {p_added:?}");
    assert!(p_added[1] >= released, "{p_added:?}");
    assert_primary_holds_alone(&world);
}

#[test]
fn an_unreachable_primary_keeps_the_addresses_when_the_secondary_cannot_serve_either() {
    // Both servers' probe targets stop answering (the gateway rebooted, say):
    // handing over would help no one, so nothing moves. When the
    // secondary's probe answers again (and has for the settling time), the
    // primary hands over; when its own does, it takes the service back.
    let world = play(
        Schedule::calm(Instant::from_millis(3000))
            .with(300, Fault::Probe { node: S, up: false })
            .with(500, Fault::Probe { node: P, up: false })
            .with(1000, Fault::Probe { node: S, up: true })
            .with(2000, Fault::Probe { node: P, up: true }),
    );
    let handed = first_from(&world, P, Action::Notify(Event::HandedOver), 0).expect("handed over");
    assert!(
        (1000 + 30..=1000 + 50).contains(&handed),
        "handed over once the secondary could serve: {:?}",
        timed(&world, P)
    );
    assert!(notified(&after(&world, S, 0), Event::TookOver));
    assert_primary_holds_alone(&world);
}

#[test]
fn witness_required_a_handover_is_granted_without_the_fence() {
    let mut schedule = Schedule::calm(Instant::from_millis(2000))
        .with(500, Fault::port(P, 1, false))
        .with(1200, Fault::port(P, 1, true))
        .witness(WitnessPolicy::Required);
    schedule.fence = true;
    let world = play(schedule);
    let w = after(&world, W, 0);
    assert!(notified(&w, Event::Granted), "{w:?}");
    assert!(
        !w.contains(&Action::SetFence(true)),
        "a primary that hands over is not fenced: {w:?}"
    );
    // The witness hears the primary on the private link only: three of its
    // frames, then one request round trip.
    took_over_by(&world, 500 + 5 * 10);
    assert_primary_holds_alone(&world);
}

#[test]
fn a_secondary_whose_removal_fails_keeps_saying_it_holds_until_a_retry_works() {
    // The secondary took over; the primary returns at 1000 ms; every
    // removal on either host fails until 1300 ms (netlink errors).
    let mut schedule = Schedule::calm(Instant::from_millis(2500))
        .with(500, Fault::Kill(P))
        .with(1000, Fault::Restart(P));
    schedule.removal_failure_chance = 1.0;
    schedule.removal_failures_until = Instant::from_millis(1300);
    let world = play(schedule);

    let secondary = after(&world, S, 1000);
    let failed = secondary
        .iter()
        .position(|a| *a == Action::Notify(Event::RemovalFailed))
        .expect("the failure is notified");
    let recovered = secondary
        .iter()
        .position(|a| *a == Action::Notify(Event::RemovalRecovered))
        .expect("and so is the retry that worked");
    assert!(failed < recovered);
    let relinquished = secondary
        .iter()
        .position(|a| *a == Action::Notify(Event::Relinquished));
    assert!(
        relinquished.is_some_and(|r| r > recovered),
        "Relinquished (the addresses are gone) only after the removal worked: {secondary:?}"
    );
    let retries = secondary[failed..recovered]
        .iter()
        .filter(|a| **a == Action::RemoveAddresses)
        .count();
    assert!(
        retries >= 3,
        "retried {retries} times in 300 ms: {secondary:?}"
    );

    // The primary waited for the removal that worked: no overlap (play
    // checks invariant 1 throughout), and the addresses end on the primary.
    let last_add = last_at(&world, P, Action::AddAddresses).map(ms);
    assert!(
        last_add.is_some_and(|t| t >= 1300),
        "the primary took the addresses back at {last_add:?}, before the removal worked"
    );
    assert_primary_holds_alone(&world);
}

#[test]
fn a_stall_of_the_secondary_during_its_test_script_does_not_cancel_the_takeover() {
    // The primary dies; while the secondary's Test script runs, the
    // secondary is not scheduled for 35 ms (a loaded machine, at 10 ms
    // beats a stall). Silence then counts afresh, but that is not the
    // primary's return: the takeover goes on.
    let mut schedule = Schedule::calm(Instant::from_millis(1500))
        .with(500, Fault::Kill(P))
        .with(545, Fault::Freeze(S))
        .with(580, Fault::Thaw(S));
    schedule.script_max = Duration::from_millis(300);
    // Scripts run up to 300 ms: the stage limit (twice this) must not end
    // them, or the outcome depends on the duration drawn, not on the stall.
    schedule.script_timeout = Duration::from_millis(500);
    let world = play(schedule);
    let secondary = after(&world, S, 500);
    let test_started = first_from(&world, S, Action::RunStage(Stage::Test), 500);
    assert!(
        test_started.is_some_and(|t| t < 545),
        "the Test script was running when the stall came: {secondary:?}"
    );
    assert!(
        !notified(&secondary, Event::TakeoverCancelled),
        "a stall is not the primary's return: {secondary:?}"
    );
    assert!(notified(&secondary, Event::TookOver), "{secondary:?}");
}

// --- The operator: planned switchover, reclaim, manual failback ----------

/// Asserts a switchover asked for at `asked_ms` came to nothing: the
/// primary served again within ten intervals, the secondary never added
/// the addresses, and they end on the primary alone.
#[track_caller]
fn assert_switchover_given_up(world: &World, asked_ms: u64) {
    let back = first_from(world, P, Action::AddAddresses, asked_ms).expect("served again");
    assert!(back <= asked_ms + 100, "served again at {back} ms");
    assert!(!after(world, S, 0).contains(&Action::AddAddresses));
    assert_primary_holds_alone(world);
}

/// Asserts the primary took the addresses back through the handshake, not
/// before `not_before_ms`: the secondary's release first, then the
/// primary's add (the first of each from `from_ms`). Returns the
/// millisecond of the add.
#[track_caller]
fn assert_reclaimed(world: &World, from_ms: u64, not_before_ms: u64) -> u64 {
    let given_back = first_from(world, S, Action::RemoveAddresses, from_ms).expect("released");
    let back = first_from(world, P, Action::AddAddresses, from_ms).expect("reclaimed");
    assert!(
        given_back >= not_before_ms && back > given_back,
        "released at {given_back} ms, reclaimed at {back} ms"
    );
    back
}

/// Whether the primary's machine stands by at the end of the run.
fn primary_stands_by(world: &World) -> bool {
    world.primary().is_some_and(|m| {
        !m.holds_addresses() && m.ask(world.now()) == failover_core::standby::Ask::StandBy
    })
}

#[test]
fn a_planned_switchover_releases_first_then_the_secondary_serves_until_reclaimed() {
    let world = play(
        Schedule::calm(Instant::from_millis(3000))
            .with(500, Fault::Handover)
            .with(1500, Fault::Reclaim),
    );
    assert_actions(
        &world,
        P,
        400,
        &[
            Action::RemoveAddresses,
            Action::Notify(Event::HandoverStarted),
            Action::Notify(Event::StandingBy),
            Action::AddAddresses,
            Action::Announce,
            Action::Notify(Event::Acquired),
        ],
    );
    let s = after(&world, S, 400);
    assert_eq!(
        s[..2],
        [
            Action::Notify(Event::PrimaryHandedOver { planned: true }),
            Action::RunStage(Stage::Test)
        ],
        "{:?}",
        timed(&world, S)
    );
    // The primary's removal came first; three of its frames (no key: one
    // could be forged) asked the secondary to serve.
    let released = first_from(&world, P, Action::RemoveAddresses, 400).expect("released");
    assert_eq!(released, 500);
    let taken = took_over_by(&world, 500 + 3 * 10 + 5);
    assert!(ms(taken) > released);
    // Stood by for the whole second, however well it heard the secondary;
    // the reclaim went through the handshake: the secondary's release
    // first, then the primary's add.
    let back = assert_reclaimed(&world, 1000, 1500);
    assert!(back <= 1500 + 40, "reclaimed at {back} ms");
    assert_primary_holds_alone(&world);
}

#[test]
fn a_switchover_is_refused_while_the_secondary_is_not_heard() {
    let world = play(
        Schedule::calm(Instant::from_millis(1500))
            .with(300, Fault::Kill(S))
            .with(500, Fault::Handover),
    );
    assert_eq!(world.stats.operator_refused, 1);
    let p = after(&world, P, 300);
    assert!(!p.contains(&Action::RemoveAddresses), "{p:?}");
    assert_primary_holds_alone(&world);
}

#[test]
fn a_switchover_the_secondarys_test_script_refuses_leaves_the_primary_serving() {
    let mut schedule = Schedule::calm(Instant::from_millis(2000)).with(500, Fault::Handover);
    schedule.veto_chance = 1.0;
    let world = play(schedule);
    // The secondary's next heartbeat said it could not serve (its Test
    // refused): the primary gave the handover up and took the addresses
    // back through the handshake, without waiting out its patience.
    assert_actions(
        &world,
        P,
        400,
        &[
            Action::RemoveAddresses,
            Action::Notify(Event::HandoverStarted),
            Action::Notify(Event::HandoverFailed),
            Action::AddAddresses,
            Action::Announce,
            Action::Notify(Event::Acquired),
        ],
    );
    assert_switchover_given_up(&world, 500);
}

#[test]
fn a_switchover_ends_when_the_secondary_cannot_be_reached_before_it_takes_over() {
    // The secondary's probe target stops answering just after the request:
    // it says it cannot serve and does not take the handover, and the
    // primary serves again at once instead of waiting out the patience.
    let world = play(
        Schedule::calm(Instant::from_millis(2000))
            .with(500, Fault::Handover)
            .with(500, Fault::Probe { node: S, up: false }),
    );
    let p = after(&world, P, 400);
    assert!(
        notified(&p, Event::HandoverFailed),
        "{:?}",
        timed(&world, P)
    );
    assert_switchover_given_up(&world, 500);
}

#[test]
fn a_primary_standing_by_takes_the_service_when_the_secondary_dies() {
    let world = play(
        Schedule::calm(Instant::from_millis(2000))
            .with(500, Fault::Handover)
            .with(1000, Fault::Kill(S)),
    );
    assert_actions(
        &world,
        P,
        900,
        &[
            Action::Notify(Event::PeerLost),
            Action::AddAddresses,
            Action::Announce,
            Action::Notify(Event::StandbyEnded),
            Action::Notify(Event::Acquired),
        ],
    );
    let back = first_from(&world, P, Action::AddAddresses, 900).expect("served again");
    assert!(back <= 1000 + 45, "served again at {back} ms");
    assert!(world.has_addresses(P));
}

#[test]
fn with_manual_failback_a_returning_primary_stands_by_until_reclaimed() {
    let mut schedule = Schedule::calm(Instant::from_millis(3000))
        .unplugged(500, P)
        .with(1000, Fault::port(P, 0, true))
        .with(1000, Fault::port(P, 1, true));
    schedule.failback = Failback::Manual;
    let stays = play(schedule.clone());
    assert!(stays.has_addresses(S) && !stays.has_addresses(P));
    assert!(primary_stands_by(&stays));
    assert!(notified(&after(&stays, P, 1000), Event::StandingBy));
    assert!(!after(&stays, S, 600).contains(&Action::RemoveAddresses));

    let reclaimed = play(schedule.with(2000, Fault::Reclaim));
    assert_reclaimed(&reclaimed, 1000, 2000);
    assert_primary_holds_alone(&reclaimed);
}

#[test]
fn with_manual_failback_a_primary_starting_beside_an_idle_secondary_serves() {
    let mut schedule = Schedule::calm(Instant::from_millis(1000));
    schedule.failback = Failback::Manual;
    let world = play(schedule);
    assert_primary_holds_alone(&world);
    assert!(!primary_stands_by(&world));
}

#[test]
fn a_primary_whose_health_checks_fail_hands_over_and_takes_the_service_back_once_they_pass() {
    let world = play(
        Schedule::calm(Instant::from_millis(2000))
            .with(500, Fault::Health { ok: false })
            .with(1000, Fault::Health { ok: true }),
    );
    assert_actions(
        &world,
        P,
        400,
        &[
            Action::Notify(Event::CheckFailed),
            Action::RemoveAddresses,
            Action::Notify(Event::HandedOver),
            Action::Notify(Event::CheckPassed),
            Action::AddAddresses,
            Action::Announce,
            Action::Notify(Event::Acquired),
        ],
    );
    // One interval of failing checks, then the handover; the secondary
    // serves meanwhile, and gives the addresses back (released first) once
    // the checks have passed for the settling time.
    assert_eq!(
        first_from(&world, P, Action::RemoveAddresses, 400),
        Some(510)
    );
    took_over_by(&world, 510 + 3 * 10 + 5);
    assert_reclaimed(&world, 1000, 1030);
    assert_primary_holds_alone(&world);
}

/// [`play`], recording the witness exchange's frames too.
fn play_exchange(schedule: Schedule) -> World {
    let mut world = World::new(schedule, false);
    world.log = Some(Vec::new());
    world.exchange = Some(Vec::new());
    if let Err(v) = world.run() {
        panic!(
            "invariant violated at {:?}: {}\n{}",
            v.at,
            v.what,
            world.trace()
        );
    }
    world
}

/// Message types of the witness exchange, as the simulator records them.
const REQUEST: u8 = 2;
const GRANT: u8 = 3;
const DENY: u8 = 4;
const RELEASE: u8 = 5;

/// When `node` sent exchange frames of message type `kind`, in order.
fn exchange_at(world: &World, node: NodeIx, kind: u8) -> Vec<Instant> {
    world
        .exchange
        .as_ref()
        .map(|x| {
            x.iter()
                .filter(|(_, n, k, _)| *n == node && *k == kind)
                .map(|(t, _, _, _)| *t)
                .collect()
        })
        .unwrap_or_default()
}

/// When the secondary reached its verdict (it notifies the peer lost).
fn verdict_at(world: &World) -> Instant {
    first_at(world, S, Action::Notify(Event::PeerLost)).expect("a verdict")
}

/// The secondary's wait for the primary's isolation fence after its
/// verdict, with the calm schedule (a fixed dead time of three intervals):
/// the witness's recommended dead time counts from the last frame heard,
/// three intervals before the verdict.
fn fence_after_verdict() -> Duration {
    let interval = Duration::from_millis(10);
    failover_core::Timing::recommended(interval).witness_dead_time - interval.saturating_mul(3)
}

#[test]
fn witness_required_the_request_goes_out_at_the_verdict_and_the_grant_comes_without_a_retry() {
    let world = play_exchange(
        Schedule::calm(Instant::from_millis(2000))
            .with(500, Fault::Kill(P))
            .witness(WitnessPolicy::Required),
    );
    let verdict = verdict_at(&world);
    let fenced = verdict + fence_after_verdict();
    // Asked at the verdict, not after the fence wait.
    let requests = exchange_at(&world, S, REQUEST);
    assert_eq!(requests.first(), Some(&verdict), "{requests:?}");
    // The witness, which still counted the primary alive, said "not yet"
    // and kept the request: the secondary does not report that deny.
    let denies = exchange_at(&world, W, DENY);
    assert!(denies.first().is_some_and(|&t| t < fenced), "{denies:?}");
    let s = after(&world, S, 0);
    assert!(
        !s.iter()
            .any(|a| matches!(a, Action::Notify(Event::WitnessDenied { .. }))),
        "{s:?}"
    );
    // The grant comes as soon as the witness's own dead time has passed
    // (one delay after the secondary's count, which starts one delay
    // earlier), not at the secondary's next request an interval later.
    let test = first_at(&world, S, Action::RunStage(Stage::Test)).expect("a takeover");
    assert!(
        test >= fenced,
        "Test at {test:?}, before the fence {fenced:?}"
    );
    assert!(
        test <= fenced + Duration::from_millis(1),
        "Test at {test:?}, the fence passed at {fenced:?}"
    );
    let grant = exchange_at(&world, W, GRANT)[0];
    assert!(
        !requests
            .iter()
            .any(|&r| r < grant && grant.saturating_since(r) < Duration::from_millis(1)),
        "the grant answered a request sent just before it: {requests:?}, grant {grant:?}"
    );
    assert!(world.has_addresses(S));
}

#[test]
fn witness_required_a_grant_before_the_fence_is_held_until_the_fence() {
    // The witness lost the primary first (its private port went), so its
    // own dead time passed before the secondary's verdict: it grants the
    // request at once, and the secondary holds the grant, acquiring only
    // once the primary must have fenced itself.
    let world = play_exchange(
        Schedule::calm(Instant::from_millis(2000))
            .with(400, Fault::port(P, 0, false))
            .with(500, Fault::Kill(P))
            .witness(WitnessPolicy::Required),
    );
    let verdict = verdict_at(&world);
    let fenced = verdict + fence_after_verdict();
    assert_eq!(exchange_at(&world, S, REQUEST).first(), Some(&verdict));
    let grant = exchange_at(&world, W, GRANT)[0];
    assert!(
        grant < verdict + Duration::from_millis(1),
        "granted at {grant:?}"
    );
    assert!(exchange_at(&world, W, DENY).is_empty());
    let test = first_at(&world, S, Action::RunStage(Stage::Test)).expect("a takeover");
    let added = first_at(&world, S, Action::AddAddresses).expect("a takeover");
    assert_eq!(
        test, fenced,
        "Test at {test:?}, the fence passes at {fenced:?}"
    );
    assert!(added >= fenced);
    // The lease counts from the request, sent at the verdict: its renewal
    // is due three request timeouts before it ends, and the grant lasts.
    let lease = failover_core::Timing::recommended(Duration::from_millis(10)).lease;
    let renewals: Vec<Instant> = exchange_at(&world, S, REQUEST)
        .into_iter()
        .filter(|&t| t > test)
        .collect();
    assert_eq!(
        renewals.first(),
        Some(&(verdict + lease - Duration::from_millis(30))),
        "{renewals:?}"
    );
    assert!(!notified(&after(&world, S, 0), Event::LeaseExpired));
    assert!(world.has_addresses(S) && !world.has_addresses(P));
}

#[test]
fn witness_required_a_lease_granted_early_still_ends_the_takeover_when_the_witness_dies() {
    // As above, then the witness dies: the lease, counted from the last
    // renewal's request, runs out at the secondary first, and the
    // addresses go at once.
    let world = play_exchange(
        Schedule::calm(Instant::from_millis(2000))
            .with(400, Fault::port(P, 0, false))
            .with(500, Fault::Kill(P))
            .with(900, Fault::Kill(W))
            .witness(WitnessPolicy::Required),
    );
    let lease = failover_core::Timing::recommended(Duration::from_millis(10)).lease;
    let last_granted_request = exchange_at(&world, S, REQUEST)
        .into_iter()
        .rfind(|&t| t < Instant::from_millis(900))
        .expect("a renewal before the witness died");
    let expired = first_at(&world, S, Action::Notify(Event::LeaseExpired)).expect("expiry");
    assert_eq!(expired, last_granted_request + lease);
    assert!(!world.has_addresses(S));
}

#[test]
fn witness_required_a_primary_back_during_the_fence_wait_gets_the_grant_handed_back() {
    // The witness lost the primary first and grants at the secondary's
    // verdict; the secondary hears the primary again (its public cable is
    // back) before the fence has passed: it hands the grant back and
    // acquires nothing.
    let world = play_exchange(
        Schedule::calm(Instant::from_millis(2000))
            .with(400, Fault::port(P, 0, false))
            .with(500, Fault::port(S, 1, false))
            .with(540, Fault::port(S, 1, true))
            .with(700, Fault::port(P, 0, true))
            .witness(WitnessPolicy::Required),
    );
    let verdict = verdict_at(&world);
    let fenced = verdict + fence_after_verdict();
    let grant = exchange_at(&world, W, GRANT)[0];
    assert!(grant < verdict + Duration::from_millis(1), "{grant:?}");
    let released = exchange_at(&world, S, RELEASE);
    assert!(
        released.first().is_some_and(|&t| t > grant && t < fenced),
        "released {released:?}, fence {fenced:?}"
    );
    let w = after(&world, W, 0);
    assert!(notified(&w, Event::GrantEnded), "{w:?}");
    let s = after(&world, S, 0);
    assert!(!s.contains(&Action::RunStage(Stage::Test)), "{s:?}");
    assert!(!s.contains(&Action::AddAddresses), "{s:?}");
    assert_primary_holds_alone(&world);
}

#[test]
fn a_secondary_restarted_as_the_primary_is_cut_off_waits_out_its_fence_before_acquiring() {
    // The witness has been deaf to the primary for long (the primary's
    // private port is down): the primary keeps its round trips through the
    // secondary on the public link. Then that link goes silent (no carrier
    // lost: the primary keeps serving until its isolation fence), and the
    // secondary restarts just then. The restarted secondary never hears the
    // primary, and the witness, long without it, grants at once: only the
    // secondary's own count, from its start, keeps it from adding the
    // addresses while the primary, whose last round trip was just before
    // the restart, still holds them.
    let world = play(
        Schedule::calm(Instant::from_millis(2000))
            // A restart early on puts the secondary's heartbeats 5 ms after
            // the primary's, so each echoes a frame only 5 ms old.
            .with(100, Fault::Kill(S))
            .with(105, Fault::Restart(S))
            .with(300, Fault::port(P, 0, false))
            .with(986, Fault::Kill(S))
            .with(986, Fault::Loss { link: 1, loss: 1.0 })
            .with(987, Fault::Restart(S))
            .witness(WitnessPolicy::Required),
    );
    let added = first_at(&world, S, Action::AddAddresses).expect("the secondary took over");
    let let_go = last_at(&world, P, Action::RemoveAddresses).expect("the primary let go");
    assert!(
        added > let_go,
        "added at {added:?}, the primary let go at {let_go:?}"
    );
}

#[test]
fn a_restarted_secondary_keeps_serving_a_primary_back_but_not_yet_reachable() {
    // The secondary restarts while the primary is cut off, and takes over.
    // When the primary's cables come back, its first frames cannot echo the
    // new secondary (it never heard it) and say it cannot serve yet (its
    // service link is settling). Those frames do not start a takeover (they
    // could be copies from before the restart), but they do keep this node
    // serving: one failback, when the primary can serve, and no release
    // followed by a second takeover.
    let world = play(
        Schedule::calm(Instant::from_millis(2000))
            .with(300, Fault::Kill(S))
            .unplugged(300, P)
            .with(320, Fault::Restart(S))
            .plugged_back(600, P),
    );
    let s = after(&world, S, 320);
    let count = |action: Action| s.iter().filter(|a| **a == action).count();
    assert_eq!(count(Action::AddAddresses), 1, "{:?}", timed(&world, S));
    assert_eq!(count(Action::RemoveAddresses), 1, "{:?}", timed(&world, S));
    let released = last_at(&world, S, Action::RemoveAddresses).expect("a failback");
    assert!(ms(released) > 600, "released at {} ms", ms(released));
    assert_primary_holds_alone(&world);
}
