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

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("heartbeat");
    for (name, keys) in [("unauthenticated", None), ("hmac-sha256", Some(keyring()))] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let stream = frames(iters, keys.clone());
                let mut machine = secondary(keys.clone());
                let start = WallClock::now();
                for (now, link, frame) in &stream {
                    machine.handle_frame(*now, *link, frame);
                    black_box(machine.poll_at());
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
