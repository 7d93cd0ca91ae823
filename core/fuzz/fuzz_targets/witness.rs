//! Drive a witness with an arbitrary input sequence (time, frames, stray
//! stage reports) and check the invariants after every input.
#![no_main]

use arbitrary::Arbitrary;
use failover_core::{FenceConfig, Witness, WitnessConfig};
use failover_core_fuzz::{
    fuzz, keyring, DeadTimeChoice, Dur, Identity, Input, IntervalChoice, PeerChoice, PRIMARY,
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

fuzz_target!(|input: Input<Setup>| {
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
    let id = Identity::of::<Witness>(s.epoch, 1, interval, config.keys.clone());
    fuzz(id, s.start_ms, &input.steps, |now| {
        Witness::try_new(config, now)
    });
});
