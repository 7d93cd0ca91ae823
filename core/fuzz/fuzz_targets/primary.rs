//! Drive a primary with an arbitrary input sequence (time, frames, stage
//! reports, tickle, shutdown, carrier) and check the invariants after every input.
#![no_main]

use arbitrary::Arbitrary;
use failover_core::{Instant, Primary, PrimaryConfig, Role};
use failover_core_fuzz::{
    keyring, message, DeadTimeChoice, Dur, Harness, Identity, IntervalChoice, PeerChoice, Step,
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

#[derive(Arbitrary, Debug)]
struct Input {
    setup: Setup,
    steps: Vec<Step>,
}

fuzz_target!(|input: Input| {
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
    let id = Identity {
        role: Role::Primary,
        node: PRIMARY,
        epoch: s.epoch,
        links: s.links,
        interval,
        keys: config.keys.clone(),
    };
    let now = Instant::from_millis(s.start_ms.into());
    // Configurations the machine refuses are not run: the host would
    // have stopped at `try_new` too.
    let Ok(machine) = Primary::try_new(config, now) else {
        return;
    };
    Harness::new(machine, id, now).run(&input.steps);
});
