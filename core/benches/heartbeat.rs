//! Time per received heartbeat on the secondary: parse, authenticate,
//! replay check, failure detector and decision, i.e. one
//! `Secondary::handle_frame` plus the `poll_at` the daemon asks next.
//! Goal: at most 100 ns without authentication, 1 µs with it.
//!
//! Also the cost of *refusing* a frame on a keyed secondary (group
//! `refused`): a replay of a frame already accepted, a well-signed frame
//! from a node it does not listen to, and a fresh frame with a bad tag.
//! The first two are refused before any HMAC is computed; the third needs
//! one. Criterion's throughput line is the frames per second one core
//! refuses.
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

/// Frames with their arrival time and link.
type Frames = Vec<(Instant, LinkId, Vec<u8>)>;

fn keyring() -> Keyring {
    Keyring::new(Key::new(1, b"benchmark key of thirty-two bytes").expect("key"))
}

/// `n` heartbeats from a real primary machine, alternating links, each with
/// its arrival time, so the replay guard and the detector see a live stream.
fn frames(n: u64, keys: Option<Keyring>) -> Frames {
    frames_from(NodeId(1), n, keys)
}

/// The same from a primary with node id `node`.
fn frames_from(node: NodeId, n: u64, keys: Option<Keyring>) -> Frames {
    let mut config = PrimaryConfig::new(node, 1, 2, INTERVAL);
    config.keys = keys;
    let mut primary = Primary::try_new(config, Instant::ZERO).expect("valid configuration");
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
    Secondary::try_new(config, Instant::ZERO).expect("valid configuration")
}

/// A secondary that has already processed `warm_up` frames of the stream
/// (so the detector and the replay window are in their steady state), and
/// the next `batch` frames to feed it.
fn fixture(keys: Option<Keyring>) -> (Secondary, Frames) {
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

/// Times `iters` frames of `input`: each iteration is one frame (and the
/// `poll_at` a daemon asks next, when `poll` is set); batches replay the
/// same frames into a fresh copy of `machine` (the copy is not timed), so
/// its replay guard sees every frame once per copy.
fn feed(iters: u64, machine: &Secondary, input: &Frames, poll: bool) -> std::time::Duration {
    let mut total = std::time::Duration::ZERO;
    let mut left = iters as usize;
    while left > 0 {
        let n = left.min(input.len());
        let mut m = machine.clone();
        let start = WallClock::now();
        for (now, link, frame) in &input[..n] {
            m.handle_frame(*now, *link, frame);
            if poll {
                black_box(m.poll_at());
            }
        }
        total += start.elapsed();
        left -= n;
    }
    total
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("heartbeat");
    for (name, keys) in [("unauthenticated", None), ("hmac-sha256", Some(keyring()))] {
        let (warm, batch) = fixture(keys);
        group.throughput(criterion::Throughput::Elements(1));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| feed(iters, &warm, &batch, true))
        });
    }
    group.finish();
}

/// Frames a keyed secondary refuses, each fed to a warmed-up machine.
fn refused(c: &mut Criterion) {
    let keys = Some(keyring());
    let (warm, batch) = fixture(keys.clone());
    // What the secondary already accepted: every frame a replay.
    let replays = batch.clone();
    let mut accepted = warm.clone();
    for (now, link, frame) in &batch {
        accepted.handle_frame(*now, *link, frame);
    }
    // Well signed, but from a node that is not its primary.
    let stranger = frames_from(NodeId(9), batch.len() as u64, keys.clone());
    // Fresh (a later epoch), but the tag is wrong: one bit flipped.
    let mut config = PrimaryConfig::new(NodeId(1), 2, 2, INTERVAL);
    config.keys = keys;
    let mut later = Primary::try_new(config, Instant::ZERO).expect("valid configuration");
    let mut bad_tag = Vec::with_capacity(batch.len());
    let mut buf = [0u8; MAX_FRAME_LEN];
    let mut now = batch.last().map_or(Instant::ZERO, |f| f.0);
    while bad_tag.len() < batch.len() {
        while let Some(tx) = later.poll_transmit(now, &mut buf) {
            let mut frame = buf[..tx.len].to_vec();
            if let Some(last) = frame.last_mut() {
                *last ^= 1;
            }
            bad_tag.push((now, tx.link, frame));
        }
        now += INTERVAL;
    }

    let mut group = c.benchmark_group("refused");
    group.throughput(criterion::Throughput::Elements(1));
    for (name, machine, input) in [
        ("keyed-replay", &accepted, &replays),
        ("keyed-stranger", &warm, &stranger),
        ("keyed-bad-tag", &warm, &bad_tag),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| feed(iters, machine, input, false))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, refused);
criterion_main!(benches);
