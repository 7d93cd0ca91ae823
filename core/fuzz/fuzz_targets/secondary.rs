//! Drive a secondary with an arbitrary input sequence (time, frames, stage
//! reports, tickle, shutdown, carrier) and check the invariants after every input.
#![no_main]

use arbitrary::Arbitrary;
use failover_core::{Secondary, SecondaryConfig, WitnessPolicy};
use failover_core_fuzz::{
    fuzz, keyring, message, DeadTimeChoice, Dur, Identity, Input, IntervalChoice, PeerChoice,
    PRIMARY, SECONDARY, WITNESS,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Policy {
    Off,
    Required,
    Preferred(Dur),
}

#[derive(Arbitrary, Debug)]
struct Setup {
    start_ms: u32,
    epoch: u32,
    links: u8,
    interval: IntervalChoice,
    primary_interval: Option<IntervalChoice>,
    keys: bool,
    primary: PeerChoice,
    dead_time: DeadTimeChoice,
    hold_down: Option<Dur>,
    policy: Policy,
    witness: PeerChoice,
    witness_dead_time: Option<Dur>,
    request_timeout: Option<Dur>,
    stage_timeout: Option<Dur>,
    veto_retry: Option<Dur>,
    message: Vec<u8>,
}

fuzz_target!(|input: Input<Setup>| {
    let s = input.setup;
    let interval = s.interval.get();
    let mut config = SecondaryConfig::new(SECONDARY, s.epoch, s.links, interval);
    if let Some(i) = s.primary_interval {
        config.primary_interval = i.get();
    }
    config.primary = s.primary.get(PRIMARY);
    config.dead_time = s.dead_time.get(config.primary_interval);
    if let Some(d) = s.hold_down {
        config.hold_down = d.get();
    }
    config.witness = match s.policy {
        Policy::Off => WitnessPolicy::Off,
        Policy::Required => WitnessPolicy::Required,
        Policy::Preferred(d) => WitnessPolicy::Preferred {
            fallback_hold_down: d.get(),
        },
    };
    config.witness_node = s.witness.get(WITNESS);
    if let Some(d) = s.witness_dead_time {
        config.witness_dead_time = d.get();
    }
    if let Some(d) = s.request_timeout {
        config.request_timeout = d.get();
    }
    if let Some(d) = s.stage_timeout {
        config.stage_timeout = d.get();
    }
    if let Some(d) = s.veto_retry {
        config.veto_retry = d.get();
    }
    config.keys = s.keys.then(keyring);
    config.message = message(&s.message);
    let id = Identity::of::<Secondary>(s.epoch, s.links, interval, config.keys.clone());
    fuzz(id, s.start_ms, &input.steps, |now| {
        Secondary::try_new(config, now)
    });
});
