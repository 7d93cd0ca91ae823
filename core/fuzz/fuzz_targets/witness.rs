//! Drive a witness with an arbitrary input sequence (time, frames, stray
//! stage reports) and check the invariants after every input.
#![no_main]

use arbitrary::Arbitrary;
use failover_core::{FenceConfig, Instant, Role, Witness, WitnessConfig};
use failover_core_fuzz::{
    keyring, DeadTimeChoice, Dur, Harness, Identity, IntervalChoice, PeerChoice, Step, PRIMARY,
    SECONDARY, WITNESS,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Setup {
    start_ms: u32,
    epoch: u32,
    interval: IntervalChoice,
    primary_interval: Option<IntervalChoice>,
    keys: bool,
    primary: PeerChoice,
    secondary: PeerChoice,
    dead_time: DeadTimeChoice,
    lease: Option<Dur>,
    fence: Option<(Dur, Dur)>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    setup: Setup,
    steps: Vec<Step>,
}

fuzz_target!(|input: Input| {
    let s = input.setup;
    let interval = s.interval.get();
    let mut config = WitnessConfig::new(WITNESS, s.epoch, interval);
    if let Some(i) = s.primary_interval {
        config.primary_interval = i.get();
    }
    config.primary = s.primary.get(PRIMARY);
    config.secondary = s.secondary.get(SECONDARY);
    config.dead_time = s.dead_time.get(config.primary_interval);
    if let Some(d) = s.lease {
        config.lease = d.get();
    }
    config.fence = s.fence.map(|(pulse, settle)| FenceConfig {
        pulse: pulse.get(),
        settle: settle.get(),
    });
    config.keys = s.keys.then(keyring);
    let id = Identity {
        role: Role::Witness,
        node: WITNESS,
        epoch: s.epoch,
        links: 1,
        interval,
        keys: config.keys.clone(),
    };
    let now = Instant::from_millis(s.start_ms.into());
    // Configurations the machine refuses are not run: the host would
    // have stopped at `try_new` too.
    let Ok(machine) = Witness::try_new(config, now) else {
        return;
    };
    Harness::new(machine, id, now).run(&input.steps);
});
