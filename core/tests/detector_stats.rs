//! Statistical checks of the adaptive failure detector in virtual time
//! (the targets in docs/detector.md). Run with `--nocapture` to see the measured figures;
//! `DETECTOR_STATS_INTERVALS=100000000` runs the long version of the
//! false-verdict test.

use failover_core::{
    AdaptiveDeadTime, DeadTime, Duration, Instant, LinkId, LinkMask, PeerDetector,
};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

const I: Duration = Duration::from_millis(5);
const US: Duration = Duration::from_micros(1);

fn adaptive() -> DeadTime {
    DeadTime::Adaptive(AdaptiveDeadTime::default())
}

fn at(round: u64) -> Instant {
    Instant::ZERO + I.saturating_mul(round)
}

fn intervals_from_env(default: u64) -> u64 {
    std::env::var("DETECTOR_STATS_INTERVALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The detector's target (docs/detector.md): with 5 ms beats on clean links the verdict comes within three
/// intervals of the last heartbeat.
#[test]
fn clean_links_verdict_within_three_intervals() {
    let mut d = PeerDetector::new(adaptive(), 2, I, Instant::ZERO);
    // Warm-up: the detector trusts a link only after it has seen it clean
    // for a few hundred rounds (the Wilson bound at zero loss is 9/(n+9)).
    let mut warm = None;
    for n in 0..2000u64 {
        d.on_heartbeat(at(n), LinkId(0), 1, n as u32, I);
        d.on_heartbeat(at(n), LinkId(1), 1, n as u32, I);
        if warm.is_none() && d.required_intervals() == 2 {
            warm = Some(n);
        }
    }
    let last = at(1999);
    println!(
        "clean links: k = 2 reached after {} rounds",
        warm.unwrap_or(u64::MAX)
    );
    assert!(warm.is_some_and(|n| n < 400));
    assert_eq!(d.required_intervals(), 2);
    // Punctual beats: the grace is an eighth of an interval.
    assert_eq!(d.grace(), Duration::from_micros(625));
    let verdict = last + Duration::from_micros(10_625);
    assert_eq!(d.next_change(last), Some(verdict));
    assert!(!d.is_dead(verdict - US));
    assert!(d.is_dead(verdict));
    assert!(verdict.saturating_since(last) <= I.saturating_mul(3));
    // A beat that is late by less than the grace is no verdict.
    assert!(!d.is_dead(at(2001) + Duration::from_micros(624)));
}

struct Run {
    rounds: u64,
    false_verdicts: u64,
    /// Histogram of the peer's required intervals, sampled every round.
    k_hist: [u64; 65],
    link_k_hist: [u64; 65],
}

/// Beats every round on two links, each losing a round independently with
/// probability `loss[i]`, each arrival late by up to `jitter` (uniform).
/// Counts the silences during which the detector said "dead" while the peer
/// was beating all along.
fn simulate(seed: u64, loss: [f64; 2], rounds: u64, warm_up: u64, jitter: Duration) -> Run {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut d = PeerDetector::new(adaptive(), 2, I, Instant::ZERO);
    let mut run = Run {
        rounds: 0,
        false_verdicts: 0,
        k_hist: [0; 65],
        link_k_hist: [0; 65],
    };
    for n in 0..warm_up + rounds {
        // Deliver in time order, each on its own link.
        let mut deliveries: [(Option<Instant>, u8); 2] = [(None, 0), (None, 1)];
        for (link, item) in deliveries.iter_mut().enumerate() {
            item.0 = arrivals_for(&mut rng, loss[link], n, jitter);
        }
        deliveries.sort_by_key(|&(t, _)| t.map_or(u64::MAX, Instant::total_micros));
        for (t, link) in deliveries {
            let Some(t) = t else { continue };
            if n >= warm_up && d.is_dead(t - US) {
                run.false_verdicts += 1;
            }
            d.on_heartbeat(t, LinkId(link), 1, n as u32, I);
        }
        if n >= warm_up {
            run.rounds += 1;
            let k = d.required_intervals().min(64) as usize;
            run.k_hist[k] += 1;
            let lk = d.link_required_intervals(LinkId(0)).min(64) as usize;
            run.link_k_hist[lk] += 1;
        }
    }
    run
}

fn arrivals_for(rng: &mut Pcg64Mcg, loss: f64, n: u64, jitter: Duration) -> Option<Instant> {
    if rng.gen_bool(loss.clamp(0.0, 1.0)) {
        None
    } else {
        Some(at(n) + Duration::from_micros(rng.gen_range(0..jitter.total_micros().max(1))))
    }
}

/// Arrival jitter of the statistical runs: below a quarter interval, so the
/// grace stays at its half-interval ceiling.
const WIDE: Duration = Duration::from_micros(I.total_micros() / 4);

fn summary(hist: &[u64; 65]) -> String {
    let total: u64 = hist.iter().sum();
    let mut parts = Vec::new();
    for (k, &c) in hist.iter().enumerate() {
        if c * 1000 >= total && c > 0 {
            parts.push(format!("k={k}: {:.1} %", c as f64 * 100.0 / total as f64));
        }
    }
    parts.join(", ")
}

/// The detector's target (docs/detector.md): with 30 % independent loss on both links, false verdicts stay
/// below one per 10^6 intervals.
#[test]
fn thirty_percent_loss_false_verdicts_below_one_per_million() {
    let rounds = intervals_from_env(20_000_000);
    let run = simulate(0x5eed_0030, [0.3, 0.3], rounds, 5_000, WIDE);
    let rate = run.false_verdicts as f64 / run.rounds as f64;
    println!(
        "30 % loss on both links: {} false verdicts in {} intervals = {:.2e} per interval (bound 1e-6); \
         peer k: {}; one link's k: {}",
        run.false_verdicts,
        run.rounds,
        rate,
        summary(&run.k_hist),
        summary(&run.link_k_hist)
    );
    assert!(run.rounds >= 10_000_000);
    assert!(
        run.false_verdicts * 1_000_000 < run.rounds,
        "{} false verdicts",
        run.false_verdicts
    );
}

/// On a punctual network (arrivals within 100 µs at 5 ms beats) the grace
/// shrinks to its floor, an eighth of an interval, and the bound still holds
/// at 30 % loss: a false verdict needs `k − 1` rounds lost everywhere *and*
/// the next one later than the grace.
#[test]
fn a_short_grace_on_a_punctual_network_keeps_the_bound() {
    let rounds = intervals_from_env(10_000_000);
    let run = simulate(
        0x5eed_0100,
        [0.3, 0.3],
        rounds,
        5_000,
        Duration::from_micros(100),
    );
    println!(
        "30 % loss, arrivals within 100 µs: {} false verdicts in {} intervals; peer k: {}",
        run.false_verdicts,
        run.rounds,
        summary(&run.k_hist)
    );
    assert!(run.rounds >= 5_000_000);
    assert!(
        run.false_verdicts * 1_000_000 < run.rounds,
        "{} false verdicts",
        run.false_verdicts
    );
}

/// With one link cut, the other's loss alone must carry the bound: the cut
/// link is left out of the product once it is silent for its own dead time.
#[test]
fn one_link_cut_other_lossy_still_within_bound() {
    let rounds = 5_000_000;
    let mut rng = Pcg64Mcg::seed_from_u64(0x5eed_c0de);
    let mut d = PeerDetector::new(adaptive(), 2, I, Instant::ZERO);
    // Warm up on both links at 30 % loss, then cut link 1 for good.
    let warm_up = 5_000;
    let mut false_verdicts = 0u64;
    for n in 0..warm_up + rounds {
        for link in 0..2u8 {
            if link == 1 && n >= warm_up {
                continue;
            }
            if let Some(t) = arrivals_for(&mut rng, 0.3, n, WIDE) {
                if n >= warm_up && d.is_dead(t - US) {
                    false_verdicts += 1;
                }
                d.on_heartbeat(t, LinkId(link), 1, n as u32, I);
            }
        }
        if n == warm_up + 1000 {
            assert_eq!(d.silent_links(at(n)), LinkMask(0b10));
            assert_eq!(d.required_intervals(), d.link_required_intervals(LinkId(0)));
        }
    }
    println!(
        "link 1 cut, link 0 at 30 % loss: k = {}, {} false verdicts in {} intervals",
        d.required_intervals(),
        false_verdicts,
        rounds
    );
    assert!(d.required_intervals() >= 12);
    assert!(false_verdicts * 1_000_000 < rounds * 2, "{false_verdicts}");
}

/// The figures for `docs/detector.md`: k at 0, 10, 20 and 30 % loss on both
/// links (after warm-up), and the theoretical false-verdict rate.
#[test]
fn k_versus_loss_table() {
    for (i, &p) in [0.0, 0.1, 0.2, 0.3].iter().enumerate() {
        let run = simulate(0x7ab1e + i as u64, [p, p], 1_000_000, 5_000, WIDE);
        let q: f64 = p * p;
        let mode = run
            .k_hist
            .iter()
            .enumerate()
            .max_by_key(|&(_, c)| c)
            .map_or(0, |(k, _)| k);
        println!(
            "loss {:>2.0} %: peer k {} (true rate at the usual k = {:.1e}); one link's k {}; false verdicts {} in {}",
            p * 100.0,
            summary(&run.k_hist),
            q.powi(mode as i32) * (1.0 - q),
            summary(&run.link_k_hist),
            run.false_verdicts,
            run.rounds
        );
        // What the true loss needs (10 %: 0.01^3 = 1e-6, on the boundary).
        let needed = (1..=64)
            .find(|&k| q.powi(k) <= 1e-6 * (1.0 + 1e-9))
            .unwrap_or(64)
            .max(2) as usize;
        // Never below it, and not far above.
        let below: u64 = run.k_hist.iter().take(needed).sum();
        assert_eq!(below, 0, "k below the true requirement at {p}");
        assert!(mode <= needed + 2, "k {mode} at {p}");
    }
}

/// Loss that starts abruptly on both links is the hard case: until losses
/// are seen the detector works from the clean-link estimate. Measures how
/// often an abrupt 0 → 30 % onset produces a false verdict in its first
/// 2000 rounds (reported in `docs/detector.md`).
#[test]
fn abrupt_onset_exposure() {
    let trials = 5_000u64;
    let mut hit = 0u64;
    let mut rng = Pcg64Mcg::seed_from_u64(0x0de7);
    for _ in 0..trials {
        let mut d = PeerDetector::new(adaptive(), 2, I, Instant::ZERO);
        let mut false_verdict = false;
        for n in 0..4000u64 {
            let p = if n < 2000 { 0.0 } else { 0.3 };
            for link in 0..2u8 {
                if let Some(t) = arrivals_for(&mut rng, p, n, WIDE) {
                    false_verdict |= d.is_dead(t - US);
                    d.on_heartbeat(t, LinkId(link), 1, n as u32, I);
                }
            }
        }
        hit += u64::from(false_verdict);
    }
    println!(
        "abrupt 0 -> 30 % onset on both links: a false verdict in the first 2000 rounds in {} of {} trials ({:.2} %)",
        hit,
        trials,
        hit as f64 * 100.0 / trials as f64
    );
    assert!(hit * 10 < trials);
}
