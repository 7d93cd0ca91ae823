use super::*;
use proptest::prelude::*;
use std::vec::Vec;

const I: Duration = Duration::from_millis(5);
const A: LinkId = LinkId(0);
const B: LinkId = LinkId(1);

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

fn us(t: u64) -> Instant {
    Instant::from_micros(t)
}

fn adaptive() -> DeadTime {
    DeadTime::Adaptive(AdaptiveDeadTime::default())
}

/// Beats `rounds` rounds on the given links, round `n` at `t0 + n * I`,
/// beat numbers starting at `beat0`. Returns the time of the last round.
fn beat(d: &mut PeerDetector, links: &[LinkId], t0: Instant, beat0: u32, rounds: u32) -> Instant {
    let mut t = t0;
    for n in 0..rounds {
        t = t0 + I.saturating_mul(u64::from(n));
        for &l in links {
            d.on_heartbeat(t, l, 1, beat0 + n, I);
        }
    }
    t
}

#[test]
fn defaults_and_clamping() {
    let a = AdaptiveDeadTime::default();
    assert_eq!(
        (a.false_verdict_bound, a.min_intervals, a.max_intervals),
        (1e-6, 2, 64)
    );
    assert_eq!(
        PeerDetector::new(adaptive(), 0, I, ms(0)).silent_links(ms(1000)),
        LinkMask(0b1)
    );
    assert_eq!(
        PeerDetector::new(adaptive(), 200, I, ms(0)).silent_links(ms(1000)),
        LinkMask(0b1111)
    );
    let d = PeerDetector::new(adaptive(), 2, Duration::ZERO, ms(0));
    assert_eq!(d.interval(), Duration::from_secs(1));
    let silly = AdaptiveDeadTime {
        false_verdict_bound: f64::NAN,
        min_intervals: 0,
        max_intervals: 0,
    };
    let d = PeerDetector::new(DeadTime::Adaptive(silly), 2, I, ms(0));
    assert_eq!(d.required_intervals(), 2);
    let upside_down = AdaptiveDeadTime {
        false_verdict_bound: 1e-6,
        min_intervals: 10,
        max_intervals: 3,
    };
    let d = PeerDetector::new(DeadTime::Adaptive(upside_down), 2, I, ms(0));
    assert_eq!(d.required_intervals(), 10);
}

#[test]
fn fixed_mode_exact_boundaries() {
    let d15 = Duration::from_millis(15);
    let start = ms(1000);
    let mut d = PeerDetector::new(DeadTime::Fixed(d15), 2, I, start);
    assert_eq!(d.required_intervals(), 3);
    assert_eq!(d.dead_time(), d15);
    assert_eq!(d.link_dead_time(A), d15);
    assert!(!d.heard_any());
    // Never heard: silence counts from start.
    assert!(d.link_alive(start + d15 - Duration::from_micros(1), A));
    assert!(!d.is_dead(start + d15 - Duration::from_micros(1)));
    assert_eq!(d.next_change(start), Some(start + d15));
    assert!(d.is_dead(start + d15));
    assert_eq!(d.silent_links(start + d15), LinkMask(0b11));
    assert_eq!(d.next_change(start + d15), None);

    // Heard on A at 1010 ms: A alive until 1025 ms exclusive, B silent from
    // 1015 ms, dead at 1025 ms.
    d.on_heartbeat(ms(1010), A, 7, 100, I);
    assert!(d.heard_any());
    assert_eq!(d.last_heard(A), Some(ms(1010)));
    assert_eq!(d.last_heard(B), None);
    assert_eq!(d.last_heard_any(), Some(ms(1010)));
    assert_eq!(d.silent_links(ms(1010)), LinkMask::NONE);
    assert_eq!(d.next_change(ms(1010)), Some(ms(1015)));
    assert_eq!(d.silent_links(ms(1015)), LinkMask(0b10));
    assert_eq!(d.next_change(ms(1015)), Some(ms(1025)));
    assert!(d.link_alive(ms(1025) - Duration::from_micros(1), A));
    assert!(!d.is_dead(ms(1025) - Duration::from_micros(1)));
    assert!(!d.link_alive(ms(1025), A));
    assert!(d.is_dead(ms(1025)));
    assert_eq!(d.silent_links(ms(1025)), LinkMask(0b11));

    // A new advertised interval changes required_intervals, not the time.
    d.on_heartbeat(ms(1030), B, 7, 101, Duration::from_millis(4));
    assert_eq!(d.interval(), Duration::from_millis(4));
    assert_eq!(d.required_intervals(), 4);
    assert_eq!(d.link_required_intervals(A), 4);
    assert_eq!(d.dead_time(), d15);
    assert!(!d.is_dead(ms(1044)));
    assert!(d.is_dead(ms(1045)));
    // Fixed(0): dead at once and nothing alive; nothing ever changes.
    let z = PeerDetector::new(DeadTime::Fixed(Duration::ZERO), 2, I, start);
    assert!(z.is_dead(start));
    assert_eq!(z.required_intervals(), 0);
    assert_eq!(z.next_change(start), None);
}

#[test]
fn adaptive_never_heard_needs_max_intervals() {
    let start = ms(500);
    let d = PeerDetector::new(adaptive(), 2, I, start);
    assert_eq!(d.required_intervals(), 64);
    assert_eq!(d.dead_time(), Duration::from_micros(64 * 5000 + 2500));
    assert_eq!(d.loss_bound_ppm(A), 1_000_000);
    let verdict = start + d.dead_time();
    assert!(!d.is_dead(verdict - Duration::from_micros(1)));
    assert!(d.is_dead(verdict));
    assert_eq!(d.next_change(start), Some(verdict));
}

#[test]
fn adaptive_clean_links_reach_two_intervals() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    let last = beat(&mut d, &[A, B], ms(0), 0, 3000);
    assert_eq!(d.required_intervals(), 2);
    assert_eq!(d.link_required_intervals(A), 3);
    // Punctual beats: the grace is an eighth of an interval.
    assert_eq!(d.grace(), Duration::from_micros(625));
    assert_eq!(d.dead_time(), Duration::from_micros(10_625));
    // A link's own dead time keeps half an interval of grace.
    assert_eq!(d.link_dead_time(A), Duration::from_micros(17_500));
    assert_eq!(d.loss_ppm(A), 0);
    assert!(d.loss_bound_ppm(A) < 9_000);
    let verdict = last + Duration::from_micros(10_625);
    assert_eq!(d.next_change(last), Some(verdict));
    assert!(!d.is_dead(verdict - Duration::from_micros(1)));
    assert_eq!(
        d.silent_links(verdict - Duration::from_micros(1)),
        LinkMask::NONE
    );
    assert!(d.is_dead(verdict));
    // A dead peer is silent everywhere, before the links' own dead times.
    assert_eq!(d.silent_links(verdict), LinkMask(0b11));
    assert!(!d.link_alive(verdict, A));
    assert_eq!(d.next_change(verdict), None);
}

#[test]
fn late_beats_keep_half_an_interval_of_grace() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    // Every seventh round 1.2 ms late on link B: twice that is more than
    // half an interval of 5 ms.
    for n in 0..3000u32 {
        let t = ms(0) + I.saturating_mul(u64::from(n));
        let late = Duration::from_micros(if n % 7 == 0 { 1_200 } else { 0 });
        d.on_heartbeat(t, A, 1, n, I);
        d.on_heartbeat(t + late, B, 1, n, I);
    }
    assert_eq!(d.required_intervals(), 2);
    assert_eq!(d.grace(), Duration::from_micros(2_500));
    assert_eq!(d.dead_time(), Duration::from_micros(12_500));
    // A quarter of that lateness: 2 · 300 + 312 µs, above the floor.
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    for n in 0..3000u32 {
        let t = ms(0) + I.saturating_mul(u64::from(n));
        let late = Duration::from_micros(if n % 7 == 0 { 300 } else { 0 });
        d.on_heartbeat(t, A, 1, n, I);
        d.on_heartbeat(t + late, B, 1, n, I);
    }
    assert_eq!(d.grace(), Duration::from_micros(2 * 300 + 312));
    assert_eq!(d.dead_time(), Duration::from_micros(10_000 + 912));
    // Punctual but lossy (every third round lost on both links): k is
    // above its floor and the grace is half an interval again.
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    for n in (0..3000u32).filter(|n| n % 3 != 0) {
        let t = ms(0) + I.saturating_mul(u64::from(n));
        d.on_heartbeat(t, A, 1, n, I);
        d.on_heartbeat(t, B, 1, n, I);
    }
    assert!(d.required_intervals() > 2);
    assert_eq!(d.grace(), Duration::from_micros(2_500));
    // Fixed mode knows no grace of its own.
    let f = PeerDetector::new(DeadTime::Fixed(ms_d(15)), 2, I, ms(0));
    assert_eq!(f.grace(), Duration::ZERO);
}

#[test]
fn warm_up_shortens_the_dead_time_step_by_step() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    let mut previous = d.required_intervals();
    let mut seen = Vec::new();
    for n in 0..400u32 {
        let t = ms(0) + I.saturating_mul(u64::from(n));
        d.on_heartbeat(t, A, 1, n, I);
        d.on_heartbeat(t, B, 1, n, I);
        let k = d.required_intervals();
        assert!(k <= previous, "clean beats never lengthen the dead time");
        previous = k;
        seen.push(k);
    }
    assert_eq!(previous, 2);
    assert!(seen.contains(&10) && seen.contains(&4));
}

#[test]
fn one_link_cut_is_an_anomaly_not_a_death() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    let cut = beat(&mut d, &[A, B], ms(0), 0, 3000);
    let ldt = d.link_dead_time(B);
    assert_eq!(ldt, Duration::from_micros(17_500));
    // B is cut; A goes on for a long time.
    let mut t = cut;
    for n in 3000..30_000u32 {
        t = ms(0) + I.saturating_mul(u64::from(n));
        d.on_heartbeat(t, A, 1, n, I);
        assert!(!d.is_dead(t + I - Duration::from_micros(1)));
        let silent = d.silent_links(t);
        if t.saturating_since(cut) < ldt {
            assert_eq!(silent, LinkMask::NONE, "at {t:?}");
        } else {
            assert_eq!(silent, LinkMask(0b10), "at {t:?}");
        }
    }
    assert_eq!(
        d.silent_links(cut + ldt - Duration::from_micros(1)),
        LinkMask::NONE
    );
    // With B out, the verdict rests on A alone: A's own dead time.
    assert_eq!(d.required_intervals(), d.link_required_intervals(A));
    assert_eq!(d.dead_time(), d.link_dead_time(A));
    assert!(!d.is_dead(t + d.dead_time() - Duration::from_micros(1)));
    assert!(d.is_dead(t + d.dead_time()));
}

#[test]
fn both_links_silent_at_once_count_both() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    let last = beat(&mut d, &[A, B], ms(0), 0, 3000);
    // A lost two rounds just before the end: still counted.
    d.on_heartbeat(last + I, B, 1, 3000, I);
    d.on_heartbeat(last + I.saturating_mul(2), B, 1, 3001, I);
    assert_eq!(d.required_intervals(), 2);
}

#[test]
fn epoch_change_is_not_loss() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    let t = beat(&mut d, &[A, B], ms(0), 1_000_000, 3000);
    // The peer restarts: epoch 2, beats from 0.
    for n in 0..100u32 {
        let now = t + I.saturating_mul(u64::from(n + 1));
        d.on_heartbeat(now, A, 2, n, I);
        d.on_heartbeat(now, B, 2, n, I);
    }
    assert_eq!(d.loss_ppm(A), 0);
    assert_eq!(d.loss_ppm(B), 0);
    // 9 / (1024 + 9) at worst: no loss was counted.
    assert!(d.loss_bound_ppm(A) <= 8_713, "{}", d.loss_bound_ppm(A));
    assert_eq!(d.required_intervals(), 2);
    // A straggler from the old epoch (or a replay of one) proves nothing:
    // it neither refreshes liveness nor counts.
    let before = d.last_heard(B);
    let now = t + I.saturating_mul(101);
    d.on_heartbeat(now, B, 1, 5, I);
    assert_eq!(d.last_heard(B), before);
    assert_eq!(d.loss_ppm(B), 0);
    // Nor does a duplicate of the newest round.
    d.on_heartbeat(now, B, 2, 99, I);
    assert_eq!(d.last_heard(B), before);
    d.on_heartbeat(now, B, 2, 100, I);
    assert_eq!(d.loss_ppm(B), 0);
}

#[test]
fn gaps_duplicates_and_reordering() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    d.on_heartbeat(ms(0), A, 1, 10, I);
    d.on_heartbeat(ms(5), A, 1, 10, I); // duplicate
    d.on_heartbeat(ms(10), A, 1, 13, I); // 11, 12 lost
    d.on_heartbeat(ms(15), A, 1, 12, I); // late: ignored
                                         // 4 rounds expected (10..=13), 2 lost
    assert_eq!(d.loss_ppm(A), 500_000);
    // Wrapping beat numbers: u32::MAX then 0 is consecutive.
    let mut w = PeerDetector::new(adaptive(), 1, I, ms(0));
    w.on_heartbeat(ms(0), A, 1, u32::MAX, I);
    w.on_heartbeat(ms(5), A, 1, 0, I);
    assert_eq!(w.loss_ppm(A), 0);
}

#[test]
fn unwatched_links_are_ignored() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    d.on_heartbeat(ms(1), LinkId(2), 1, 1, I);
    d.on_heartbeat(ms(1), LinkId(200), 1, 1, I);
    assert!(!d.heard_any());
    assert!(!d.link_alive(ms(1), LinkId(2)));
    assert_eq!(d.last_heard(LinkId(3)), None);
    assert_eq!(d.loss_ppm(LinkId(9)), 0);
    assert_eq!(d.link_dead_time(LinkId(9)), Duration::ZERO);
}

#[test]
fn reset_forgets_everything() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    let t = beat(&mut d, &[A, B], ms(0), 0, 3000);
    d.on_heartbeat(t, A, 1, 3000, Duration::from_millis(7));
    d.reset(t + I);
    assert!(!d.heard_any());
    assert_eq!(d.last_heard(A), None);
    assert_eq!(d.interval(), I);
    assert_eq!(d.required_intervals(), 64);
    assert_eq!(d.next_change(t + I), Some(t + I + d.dead_time()));
}

#[test]
fn restart_count_counts_silence_afresh_but_keeps_the_learned_loss() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    let t = beat(&mut d, &[A, B], ms(0), 0, 3000);
    let (k, dead_time) = (d.required_intervals(), d.dead_time());
    assert!(k < 64, "learned: {k}");
    // Deaf for a long time: by the old count the peer is long dead.
    let back = t + Duration::from_secs(5);
    assert!(d.is_dead(back));
    d.restart_count(back);
    assert!(!d.heard_any());
    assert!(!d.is_dead(back));
    assert_eq!((d.required_intervals(), d.dead_time()), (k, dead_time));
    assert_eq!(d.next_change(back), Some(back + dead_time));
    assert!(d.is_dead(back + dead_time));
    // The rounds missed while deaf are not the network's loss: heard
    // again (50 rounds later), the dead time is what it was.
    d.on_heartbeat(back + I, A, 1, 3050, I);
    d.on_heartbeat(back + I, B, 1, 3050, I);
    assert_eq!((d.required_intervals(), d.dead_time()), (k, dead_time));
}

#[test]
fn time_going_backwards_is_clamped() {
    let mut d = PeerDetector::new(DeadTime::Fixed(Duration::from_millis(15)), 2, I, ms(100));
    d.on_heartbeat(ms(50), A, 1, 1, I);
    assert_eq!(d.last_heard(A), Some(ms(100)));
    d.on_heartbeat(ms(120), A, 1, 2, I);
    d.on_heartbeat(ms(110), B, 1, 2, I);
    assert_eq!(d.last_heard(B), Some(ms(120)));
    assert!(!d.is_dead(ms(0)));
}

#[test]
fn interval_change_rescales_adaptive_dead_times() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    let t = beat(&mut d, &[A, B], ms(0), 0, 3000);
    // Four times the expected interval: the most a peer is believed.
    d.on_heartbeat(t + I, A, 1, 3000, ms_d(20));
    d.on_heartbeat(t + I, B, 1, 3000, ms_d(20));
    // The spread measured at 5 ms (none) still holds: the grace is the
    // new interval's eighth.
    assert_eq!(d.dead_time(), ms_d(40) + Duration::from_micros(2_500));
    assert_eq!(d.link_dead_time(A), ms_d(70));
    assert_eq!(d.take_interval_refused(), None);
    // Zero is ignored.
    d.on_heartbeat(t + I, B, 1, 3001, Duration::ZERO);
    assert_eq!(d.interval(), ms_d(20));
}

fn ms_d(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn an_advertised_interval_is_believed_only_within_four_times_the_expected_one() {
    let mut d = PeerDetector::new(adaptive(), 2, I, ms(0));
    let t = beat(&mut d, &[A, B], ms(0), 0, 3000);
    let (k, dead_time) = (d.required_intervals(), d.dead_time());
    // A forged (or misconfigured) u32::MAX µs would stretch the dead time
    // to hours: the detector uses 4 × 5 ms, and says so once.
    let forged = Duration::from_micros(u64::from(u32::MAX));
    d.on_heartbeat(t + I, A, 1, 3000, forged);
    assert_eq!(d.interval(), ms_d(20));
    assert_eq!(d.required_intervals(), k);
    assert!(d.dead_time() <= dead_time.saturating_mul(4) + ms_d(20));
    assert_eq!(d.take_interval_refused(), Some(forged));
    d.on_heartbeat(t + I.saturating_mul(2), A, 1, 3001, forged);
    assert_eq!(d.take_interval_refused(), None, "reported once");
    // Too fast: 1 µs becomes 5 ms / 4.
    d.on_heartbeat(
        t + I.saturating_mul(3),
        A,
        1,
        3002,
        Duration::from_micros(1),
    );
    assert_eq!(d.interval(), Duration::from_micros(1250));
    assert_eq!(d.take_interval_refused(), Some(Duration::from_micros(1)));
    // Back in range: nothing to report, and a later refusal is new again.
    d.on_heartbeat(t + I.saturating_mul(4), A, 1, 3003, I);
    assert_eq!(d.interval(), I);
    assert_eq!(d.take_interval_refused(), None);
    d.on_heartbeat(t + I.saturating_mul(5), A, 1, 3004, forged);
    assert_eq!(d.take_interval_refused(), Some(forged));
}

#[test]
fn huge_values_saturate() {
    let mut d = PeerDetector::new(
        adaptive(),
        4,
        Duration::MAX,
        Instant::from_micros(u64::MAX - 5),
    );
    assert_eq!(d.dead_time(), Duration::MAX);
    d.on_heartbeat(
        Instant::from_micros(u64::MAX),
        LinkId(3),
        u32::MAX,
        u32::MAX,
        Duration::MAX,
    );
    assert!(!d.is_dead(Instant::from_micros(u64::MAX)));
    assert_eq!(d.next_change(Instant::from_micros(u64::MAX)), None);
    let f = PeerDetector::new(
        DeadTime::Fixed(Duration::MAX),
        2,
        Duration::from_micros(1),
        us(0),
    );
    assert_eq!(f.required_intervals(), u32::MAX);
    // Dead only at the very end of time.
    assert_eq!(f.next_change(us(0)), Some(Instant::from_micros(u64::MAX)));
}

/// Everything observable at `now`, to check `next_change`.
fn observe(d: &PeerDetector, now: Instant) -> (bool, LinkMask, [bool; MAX_LINKS]) {
    let mut alive = [false; MAX_LINKS];
    for (i, a) in alive.iter_mut().enumerate() {
        *a = d.link_alive(now, LinkId(i as u8));
    }
    (d.is_dead(now), d.silent_links(now), alive)
}

#[derive(Debug, Clone)]
enum Op {
    Beat {
        dt: u64,
        link: u8,
        epoch: u32,
        beat: u32,
        interval: u64,
    },
    Wait(u64),
    Reset(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let small = 0u64..20_000;
    let any_time = prop_oneof![small.clone(), any::<u64>()];
    prop_oneof![
        8 => (any_time.clone(), 0u8..6, 0u32..4, prop_oneof![0u32..50, any::<u32>()],
              prop_oneof![Just(5_000u64), 0u64..10_000, any::<u64>()])
            .prop_map(|(dt, link, epoch, beat, interval)| Op::Beat { dt, link, epoch, beat, interval }),
        2 => any_time.clone().prop_map(Op::Wait),
        1 => any_time.prop_map(Op::Reset),
    ]
}

fn dead_time() -> impl Strategy<Value = DeadTime> {
    prop_oneof![
        prop_oneof![0u64..100_000, any::<u64>()]
            .prop_map(|d| DeadTime::Fixed(Duration::from_micros(d))),
        (
            prop_oneof![Just(1e-6), any::<f64>(), 0.0f64..1.0],
            prop_oneof![0u32..10, any::<u32>()],
            prop_oneof![0u32..100, any::<u32>()],
        )
            .prop_map(|(b, min, max)| DeadTime::Adaptive(AdaptiveDeadTime {
                false_verdict_bound: b,
                min_intervals: min,
                max_intervals: max,
            })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_calls_never_panic_and_next_change_is_exact(
        mode in dead_time(),
        links in any::<u8>(),
        interval in prop_oneof![Just(5_000u64), any::<u64>()],
        start in prop_oneof![0u64..1_000_000, any::<u64>()],
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        let mut now = Instant::from_micros(start);
        let mut d = PeerDetector::new(mode, links, Duration::from_micros(interval), now);
        for op in ops {
            match op {
                Op::Beat { dt, link, epoch, beat, interval } => {
                    now += Duration::from_micros(dt);
                    d.on_heartbeat(now, LinkId(link), epoch, beat, Duration::from_micros(interval));
                }
                Op::Wait(dt) => now += Duration::from_micros(dt),
                Op::Reset(dt) => {
                    now += Duration::from_micros(dt);
                    d.reset(now);
                }
            }
            let here = observe(&d, now);
            // The dead verdict means silence everywhere.
            if here.0 {
                prop_assert_eq!(here.1, LinkMask::first(links.clamp(1, MAX_LINKS as u8)));
            }
            let _ = (d.dead_time(), d.required_intervals(), d.interval(), d.last_heard_any());
            for l in 0..6u8 {
                let _ = (d.link_dead_time(LinkId(l)), d.loss_ppm(LinkId(l)), d.loss_bound_ppm(LinkId(l)));
                prop_assert!(d.loss_ppm(LinkId(l)) <= 1_000_000);
                prop_assert!(d.loss_bound_ppm(LinkId(l)) <= 1_000_000);
            }
            match d.next_change(now) {
                None => {
                    // Nothing changes, even at the end of time.
                    prop_assert_eq!(observe(&d, Instant::from_micros(u64::MAX)), here);
                }
                Some(at) => {
                    prop_assert!(at > now);
                    prop_assert_eq!(observe(&d, at - Duration::from_micros(1)), here);
                    prop_assert_ne!(observe(&d, at), here);
                }
            }
        }
    }
}

#[test]
fn a_round_number_too_far_ahead_is_not_believed() {
    // One forged frame (no key) that slips through the replay window with
    // a round number far ahead: believed, every genuine round after it
    // would look old and the link silent for good (a simulator seed).
    let mut d = PeerDetector::new(DeadTime::Fixed(I.saturating_mul(3)), 2, I, ms(0));
    let t = beat(&mut d, &[A, B], ms(0), 1, 20);
    d.on_heartbeat(t + Duration::from_micros(100), A, 1, 719_450_993, I);
    // Genuine rounds go on, on both links.
    let t = beat(&mut d, &[A, B], t + I, 21, 20);
    assert!(d.silent_links(t).is_empty(), "{:?}", d.silent_links(t));
    assert!(!d.is_dead(t));
    // A jump the elapsed time allows (rounds lost) is still believed.
    let later = t + I.saturating_mul(10);
    d.on_heartbeat(later, A, 1, 50, I);
    assert_eq!(d.last_heard(A), Some(later));
}

#[test]
fn a_stale_round_taken_first_gives_way_to_two_rounds_that_follow_on() {
    // After a restart, the first frame taken on a link was a replayed one,
    // far behind: the peer's genuine rounds are "too far ahead" of it, and
    // two in a row that follow on from each other are believed.
    let mut d = PeerDetector::new(DeadTime::Fixed(I.saturating_mul(3)), 1, I, ms(0));
    d.on_heartbeat(ms(0), A, 1, 100, I);
    d.on_heartbeat(ms(1), A, 1, 900, I);
    assert_eq!(
        d.last_heard(A),
        Some(ms(1)),
        "a round too far ahead counts for liveness"
    );
    d.on_heartbeat(ms(2), A, 1, 101, I);
    assert_eq!(
        d.last_heard(A),
        Some(ms(2)),
        "but is not stored on one frame's word: 101 still moves the link on"
    );
    d.on_heartbeat(ms(5), A, 1, 900, I);
    d.on_heartbeat(ms(6), A, 1, 901, I);
    d.on_heartbeat(ms(7), A, 1, 102, I);
    assert_eq!(
        d.last_heard(A),
        Some(ms(6)),
        "two that follow on are the peer: 102 is now old"
    );
    let t = beat(&mut d, &[A], ms(11), 902, 10);
    assert!(!d.is_dead(t));
}

#[test]
fn a_round_delayed_for_seconds_does_not_hide_the_peer() {
    // A genuine frame held back for seconds (or captured where the peer's
    // cable was cut, and delivered later) is taken first after a silence:
    // its round is stale, and the peer's next genuine round looks too far
    // ahead. It still counts for liveness, so the peer is not declared
    // dead while it beats (simulator seed 1000000273055).
    let mut d = PeerDetector::new(DeadTime::Fixed(I.saturating_mul(5)), 1, I, ms(0));
    d.on_heartbeat(ms(0), A, 1, 10, I);
    d.on_heartbeat(ms(1000), A, 1, 60, I);
    d.on_heartbeat(ms(1020), A, 1, 210, I);
    assert!(!d.is_dead(ms(1040)), "heard 20 ms ago, dead time 25 ms");
    d.on_heartbeat(ms(1025), A, 1, 211, I);
    assert!(!d.is_dead(ms(1045)));
    d.on_heartbeat(ms(1030), A, 1, 70, I);
    assert!(d.is_dead(ms(1056)), "the stale run is over: 70 is old");
}

#[test]
fn a_forged_round_far_ahead_taken_first_in_an_epoch_does_not_deafen_the_link() {
    // Without a key, a forged frame can be a link's first of an epoch (just
    // after the peer rolled over, say): with no round before it, its round
    // far ahead is stored, and every genuine round after it looks old. Two
    // genuine rounds that follow on from each other take the link back
    // (simulator seed 1069470591171).
    let mut d = PeerDetector::new(DeadTime::Fixed(I.saturating_mul(5)), 1, I, ms(0));
    d.on_heartbeat(ms(0), A, 2, 158_507_247, I);
    for (i, beat) in (2u32..10).enumerate() {
        d.on_heartbeat(ms(5 + 5 * i as u64), A, 2, beat, I);
    }
    assert!(
        !d.is_dead(ms(60)),
        "heard at 40 ms, dead time 25 ms: the genuine rounds count"
    );
    // A single frame far behind proves nothing: a lone older round.
    let mut d = PeerDetector::new(DeadTime::Fixed(I.saturating_mul(5)), 1, I, ms(0));
    d.on_heartbeat(ms(0), A, 2, 1000, I);
    d.on_heartbeat(ms(20), A, 2, 10, I);
    assert!(d.is_dead(ms(26)), "the lone round far behind did not count");
}
