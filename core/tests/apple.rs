//! The secondary backing up an old Mac OS X Server primary
//! (`failoverd --apple-compat`): Apple's heartbeats (a datagram whose
//! payload is only the primary's `-m` message) reach the machine through
//! `Secondary::handle_apple_beat`. These scenarios drive the secondary
//! alone, in virtual time, as a Mac would: one datagram per second on each
//! link, then silence, then the Mac back (on one link, then on both).

mod common;

use failover_core::config::{AppleConflict, ConfigError};
use failover_core::wire::{Key, Keyring, MAX_FRAME_LEN};
use failover_core::{
    Action, AdaptiveDeadTime, DeadTime, Duration, Event, Instant, LinkId, LinkMask, Machine,
    NodeId, Removal, Secondary, SecondaryConfig, Server, Stage, StageOutcome, WitnessPolicy,
};

const SECOND: Duration = Duration::from_secs(1);

fn config(apple: bool) -> SecondaryConfig {
    let mut c = SecondaryConfig::new(NodeId(2), 1, 2, SECOND);
    c.primary = Some(NodeId(1));
    c.apple_compat = apple;
    c
}

/// A secondary and its virtual time, with every action it took (stages
/// succeed at once, removals are done).
struct Rig {
    s: Secondary,
    now: Instant,
    log: Vec<(Instant, Action)>,
    frames: usize,
}

impl Rig {
    fn new(apple: bool) -> Rig {
        Rig {
            s: Secondary::try_new(config(apple), Instant::ZERO).expect("valid"),
            now: Instant::ZERO,
            log: Vec::new(),
            frames: 0,
        }
    }

    fn drain(&mut self) {
        let mut buf = [0u8; MAX_FRAME_LEN];
        for _ in 0..1000 {
            let mut busy = false;
            while let Some(a) = self.s.poll_action() {
                busy = true;
                self.log.push((self.now, a));
                match a {
                    Action::RunStage(stage) => {
                        self.s
                            .handle_stage_done(self.now, stage, StageOutcome::Success)
                    }
                    Action::RemoveAddresses => self.s.handle_removal(self.now, Removal::Done),
                    _ => {}
                }
            }
            while self.s.poll_transmit(self.now, &mut buf).is_some() {
                busy = true;
                self.frames += 1;
            }
            if !busy {
                return;
            }
        }
        panic!("the machine never went quiet");
    }

    /// Runs the timers until `until`, the Mac beating on `links` every
    /// second (at whole seconds from `from`).
    fn run(&mut self, until: Instant, links: &[u8]) {
        let mut next_beat = Some(self.now);
        while self.now < until {
            if let Some(t) = next_beat.filter(|t| *t <= self.now) {
                if !links.is_empty() {
                    for &l in links {
                        self.s.handle_apple_beat(self.now, LinkId(l));
                    }
                }
                next_beat = Some(t + SECOND);
            }
            if self.s.poll_at().is_some_and(|t| t <= self.now) {
                self.s.handle_timeout(self.now);
            }
            self.drain();
            let next = [self.s.poll_at(), next_beat.filter(|_| !links.is_empty())]
                .into_iter()
                .flatten()
                .filter(|t| *t > self.now)
                .min()
                .unwrap_or(until);
            self.now = next.min(until).max(self.now + Duration::from_micros(1));
        }
    }

    fn actions_from(&self, from: Instant) -> Vec<Action> {
        self.log
            .iter()
            .filter(|(t, a)| *t >= from && !matches!(a, Action::PersistPeerEpoch { .. }))
            .map(|(_, a)| *a)
            .collect()
    }

    fn first(&self, action: Action) -> Option<Instant> {
        self.log.iter().find(|(_, a)| *a == action).map(|(t, _)| *t)
    }
}

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

#[test]
fn a_beating_mac_is_alive_a_silent_one_is_taken_over_and_a_returning_one_gets_its_addresses_back() {
    let mut r = Rig::new(true);
    // The Mac beats on both links for 10 s: nothing happens.
    r.run(ms(10_000), &[0, 1]);
    assert_eq!(r.actions_from(Instant::ZERO), []);
    assert!(!r.s.holds_addresses());
    assert!(r.s.primary_detector().heard_any());
    // Its last heartbeat was at 9 s (the run stops at 10 s before the
    // beat of 10 s). Silence: the verdict comes three intervals later,
    // Apple's fixed dead time, and the usual sequence runs.
    r.run(ms(20_000), &[]);
    let took = r.first(Action::Notify(Event::TookOver)).expect("took over");
    assert_eq!(took, ms(12_000), "9 s + 3 × 1 s");
    assert_eq!(r.actions_from(Instant::ZERO), common::TAKEOVER);
    // The Mac comes back on the private link only: an anomaly, the
    // addresses stay here.
    let back = r.now;
    r.run(ms(30_000), &[0]);
    assert!(r.s.holds_addresses(), "heard on one link only: kept");
    assert_eq!(
        r.actions_from(back),
        [
            Action::Notify(Event::PeerRegained),
            Action::Notify(Event::NetworkAnomaly {
                silent: LinkMask::NONE.with(LinkId(1))
            }),
        ]
    );
    // Then on both: Apple's rule gives the addresses back at once, through
    // the release scripts, without any handshake.
    let both = r.now;
    r.run(ms(35_000), &[0, 1]);
    assert!(!r.s.holds_addresses());
    assert_eq!(
        r.actions_from(both),
        [
            Action::Notify(Event::NetworkRestored),
            Action::RunStage(Stage::PreRel),
            Action::RemoveAddresses,
            Action::RunStage(Stage::PostRel),
            Action::Notify(Event::Relinquished),
        ]
    );
    let released = r
        .log
        .iter()
        .rfind(|(_, a)| *a == Action::RunStage(Stage::PreRel))
        .map(|(t, _)| *t)
        .expect("released");
    assert_eq!(released, both, "released on the first round heard on both");
    // Apple's failoverd sends nothing: neither does this one.
    assert_eq!(r.frames, 0);
}

#[test]
fn without_the_option_apple_heartbeats_are_ignored() {
    let mut r = Rig::new(false);
    r.run(ms(10_000), &[0, 1]);
    assert!(
        !r.s.primary_detector().heard_any(),
        "an Apple heartbeat is nothing to our protocol"
    );
    // Silence from the start: the takeover at the dead time, as before.
    assert_eq!(r.first(Action::AddAddresses), Some(ms(3_000)));
    assert!(r.frames > 0, "our own secondary beats");
}

#[test]
fn in_apple_mode_frames_of_our_format_are_not_heard() {
    // A primary of our own, heard through frames: its heartbeats do not
    // keep an Apple-mode secondary from taking over (the host passes them
    // as Apple heartbeats instead, whose sender it checks).
    let mut p = failover_core::PrimaryConfig::new(NodeId(1), 1, 2, SECOND);
    p.manage_addresses = false;
    let mut primary = failover_core::Primary::try_new(p, Instant::ZERO).expect("valid");
    let mut r = Rig::new(true);
    let mut buf = [0u8; MAX_FRAME_LEN];
    while r.now < ms(5_000) {
        primary.handle_timeout(r.now);
        while let Some(tx) = primary.poll_transmit(r.now, &mut buf) {
            r.s.handle_frame(r.now, tx.link, &buf[..tx.len]);
        }
        r.s.handle_timeout(r.now);
        r.drain();
        r.now += Duration::from_millis(100);
    }
    assert!(!r.s.primary_detector().heard_any());
    assert_eq!(r.first(Action::AddAddresses), Some(ms(3_000)));
}

#[test]
fn a_beat_on_a_link_not_watched_is_ignored() {
    let mut r = Rig::new(true);
    for t in 0..10 {
        r.now = ms(t * 1000);
        r.s.handle_apple_beat(r.now, LinkId(2));
        r.s.handle_apple_beat(r.now, LinkId(200));
        r.s.handle_timeout(r.now);
        r.drain();
    }
    assert!(!r.s.primary_detector().heard_any());
    assert_eq!(r.first(Action::AddAddresses), Some(ms(3_000)));
}

#[test]
fn a_beat_on_every_link_while_acquiring_stops_the_takeover_before_the_addresses() {
    let mut s = Secondary::try_new(config(true), Instant::ZERO).expect("valid");
    let mut buf = [0u8; MAX_FRAME_LEN];
    // Woken every half interval (a jump of more than two intervals would be
    // a stall, which counts the silence afresh).
    for t in (0..=3_000).step_by(500) {
        s.handle_timeout(ms(t));
        while s.poll_transmit(ms(t), &mut buf).is_some() {}
    }
    assert_eq!(s.poll_action(), Some(Action::RunStage(Stage::Test)));
    // The Mac was only rebooting: back on both links while Test runs.
    s.handle_apple_beat(ms(3_500), LinkId(0));
    s.handle_apple_beat(ms(3_500), LinkId(1));
    s.handle_stage_done(ms(3_600), Stage::Test, StageOutcome::Success);
    let mut rest = Vec::new();
    while let Some(a) = s.poll_action() {
        rest.push(a);
    }
    assert_eq!(
        rest.last(),
        Some(&Action::Notify(Event::TakeoverCancelled)),
        "{rest:?}"
    );
    assert!(!rest.contains(&Action::AddAddresses), "{rest:?}");
    assert!(!s.holds_addresses());
}

#[test]
fn apple_compat_refuses_a_witness_keys_and_an_adaptive_dead_time() {
    assert!(config(true).problems().is_empty());
    let mut c = config(true);
    c.witness = WitnessPolicy::Required;
    c.witness_node = Some(NodeId(3));
    c.keys = Some(Keyring::new(Key::new(1, &[7; 32]).expect("key")));
    c.dead_time = DeadTime::Adaptive(AdaptiveDeadTime::default());
    let problems = c.problems();
    for conflict in [
        AppleConflict::Witness,
        AppleConflict::Keys,
        AppleConflict::AdaptiveDeadTime,
    ] {
        assert!(
            problems.contains(&ConfigError::AppleCompat(conflict)),
            "{conflict:?} in {problems:?}"
        );
    }
    assert!(Secondary::try_new(c.clone(), Instant::ZERO).is_err());
    // The same without the option is fine.
    c.apple_compat = false;
    assert!(c.problems().is_empty(), "{:?}", c.problems());
    // And the words name the conflict.
    let words = ConfigError::AppleCompat(AppleConflict::Keys).to_string();
    assert!(
        words.contains("Apple compatibility") && words.contains("keys"),
        "{words}"
    );
}
