//! Drive a primary with an arbitrary input sequence (time, frames, stage
//! reports, tickle, shutdown, carrier) and check the invariants after every input.
#![no_main]

use arbitrary::Arbitrary;
use failover_core::{Primary, PrimaryConfig};
use failover_core_fuzz::{
    fuzz, keyring, message, DeadTimeChoice, Dur, Identity, Input, IntervalChoice, PeerChoice,
    PRIMARY, SECONDARY, WITNESS,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Setup {
    start_ms: u32,
    epoch: u32,
    links: u8,
    interval: IntervalChoice,
    keys: bool,
    manage_addresses: bool,
    secondary: PeerChoice,
    secondary_dead_time: DeadTimeChoice,
    witness: PeerChoice,
    isolation_fence: Option<Dur>,
    message: Vec<u8>,
}

fuzz_target!(|input: Input<Setup>| {
    let s = input.setup;
    let interval = s.interval.get();
    let mut config = PrimaryConfig::new(PRIMARY, s.epoch, s.links, interval);
    config.manage_addresses = s.manage_addresses;
    config.secondary = s.secondary.get(SECONDARY);
    config.secondary_dead_time = s.secondary_dead_time.get(interval);
    config.witness_node = s.witness.get(WITNESS);
    config.isolation_fence = s.isolation_fence.map(Dur::get);
    config.keys = s.keys.then(keyring);
    config.message = message(&s.message);
    let id = Identity::of::<Primary>(s.epoch, s.links, interval, config.keys.clone());
    fuzz(id, s.start_ms, &input.steps, |now| {
        Primary::try_new(config, now)
    });
});
