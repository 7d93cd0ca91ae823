//! Time per received heartbeat on the secondary: parse, authenticate,
//! replay check, failure detector and decision, i.e. one
//! `Secondary::handle_frame` plus the `poll_at` the daemon asks next.
//! Goal (issue 2): at most 100 ns without authentication, 1 µs with it.
//!
//! `cargo bench -p failover-core --bench heartbeat`

use std::hint::black_box;
use std::time::Instant as WallClock;

use criterion::{criterion_group, criterion_main, Criterion};
use failover_core::wire::{Key, Keyring, MAX_FRAME_LEN};
use failover_core::{
    AdaptiveDeadTime, DeadTime, Duration, Instant, LinkId, Machine, NodeId, Primary, PrimaryConfig,
    Secondary, SecondaryConfig,
};

const INTERVAL: Duration = Duration::from_millis(5);

fn keyring() -> Keyring {
    Keyring::new(Key::new(1, b"benchmark key of thirty-two bytes").expect("key"))
}

/// `n` heartbeats from a real primary machine, alternating links, each with
/// its arrival time, so the replay guard and the detector see a live stream.
fn frames(n: u64, keys: Option<Keyring>) -> Vec<(Instant, LinkId, Vec<u8>)> {
    let mut config = PrimaryConfig::new(NodeId(1), 1, 2, INTERVAL);
    config.keys = keys;
    let mut primary = Primary::new(config, Instant::ZERO);
    let mut out = Vec::with_capacity(n as usize);
    let mut buf = [0u8; MAX_FRAME_LEN];
    let mut now = Instant::ZERO;
    while (out.len() as u64) < n {
        while let Some(tx) = primary.poll_transmit(now, &mut buf) {
            out.push((now, tx.link, buf[..tx.len].to_vec()));
        }
        now += INTERVAL;
    }
    out
}

fn secondary(keys: Option<Keyring>) -> Secondary {
    let mut config = SecondaryConfig::new(NodeId(2), 1, 2, INTERVAL);
    config.primary = Some(NodeId(1));
    config.dead_time = DeadTime::Adaptive(AdaptiveDeadTime::default());
    config.keys = keys;
    Secondary::new(config, Instant::ZERO)
}

/// A secondary that has already processed `warm_up` frames of the stream
/// (so the detector and the replay window are in their steady state), and
/// the next `batch` frames to feed it.
fn fixture(keys: Option<Keyring>) -> (Secondary, Vec<(Instant, LinkId, Vec<u8>)>) {
    const WARM_UP: usize = 4096;
    const BATCH: usize = 4096;
    let mut stream = frames((WARM_UP + BATCH) as u64, keys.clone());
    let batch = stream.split_off(WARM_UP);
    let mut machine = secondary(keys);
    for (now, link, frame) in &stream {
        machine.handle_frame(*now, *link, frame);
    }
    (machine, batch)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("heartbeat");
    for (name, keys) in [("unauthenticated", None), ("hmac-sha256", Some(keyring()))] {
        let (warm, batch) = fixture(keys);
        group.throughput(criterion::Throughput::Elements(1));
        group.bench_function(name, |b| {
            // Each iteration is one heartbeat; batches replay the same
            // frames into a fresh copy of the warmed-up machine (the copy is
            // not timed), so the replay guard sees every frame once.
            b.iter_custom(|iters| {
                let mut total = std::time::Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let n = left.min(batch.len());
                    let mut machine = warm.clone();
                    let start = WallClock::now();
                    for (now, link, frame) in &batch[..n] {
                        machine.handle_frame(*now, *link, frame);
                        black_box(machine.poll_at());
                    }
                    total += start.elapsed();
                    left -= n;
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
