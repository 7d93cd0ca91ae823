//! Random fault schedules, drawn from a seed: the same seed always gives the
//! same schedule, so a failure replays exactly with `SIM_SEED`.

use std::ops::RangeInclusive;

use failover_core::{AdaptiveDeadTime, DeadTime, Duration, Failback, Instant, WitnessPolicy};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::NodeIx;

/// A fault (or its repair) at a moment of the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// A node's switch port on a link goes down / comes up.
    Port { node: NodeIx, link: usize, up: bool },
    /// Random loss on every path of a link (0.0 repairs it).
    Loss { link: usize, loss: f64 },
    /// Duplication on every path of a link.
    Dup { link: usize, dup: f64 },
    /// Power loss: the node stops, its addresses vanish.
    Kill(NodeIx),
    /// Power back: the node boots with a new epoch.
    Restart(NodeIx),
    /// The node is suspended: it runs nothing and hears nothing.
    Freeze(NodeIx),
    /// The node resumes.
    Thaw(NodeIx),
    /// An attacker (or a confused switch) re-sends a burst of old frames.
    Replay { count: u32 },
    /// The probe target stops answering a node (or answers again): its
    /// host reports the service network unreachable although every cable
    /// has a carrier.
    Probe { node: NodeIx, up: bool },
    /// An attacker without the key sends heartbeats claiming to be the
    /// primary, asking for the addresses back, to the secondary and the
    /// witness (only drawn in authenticated schedules).
    Forge { count: u32 },
    /// Without a key: an attacker on the LAN sends one frame with arbitrary
    /// header values (docs/simulator.md, invariant 6).
    ForgeOne(Forgery),
    /// The operator asks the primary for a planned switchover
    /// (`heartbeatd --handover`).
    Handover,
    /// The operator asks the primary to take the service back
    /// (`heartbeatd --reclaim`).
    Reclaim,
    /// The primary's health checks start failing (its host reports it
    /// unhealthy) or pass again.
    Health { ok: bool },
}

impl Fault {
    /// A port going down or up, in one line: the struct literal takes six
    /// once formatted, and schedules pair every cut with its repair.
    pub fn port(node: NodeIx, link: usize, up: bool) -> Fault {
        Fault::Port { node, link, up }
    }
}

/// The epoch a forged frame claims.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EpochPick {
    /// `0xFFFF_FFFF`, the tester's choice.
    Max,
    /// Any value.
    Raw(u32),
    /// The claimed sender's real epoch plus this much (a "restart").
    AboveReal(u32),
    /// The claimed sender's real epoch (then the seq is far off or old).
    Real,
}

/// One forged heartbeat: every header and body field the attacker chooses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forgery {
    pub to: NodeIx,
    pub link: u8,
    /// The node it claims to be; `None`: a foreign node id.
    pub sender: Option<NodeIx>,
    pub foreign: u32,
    pub role: u8,
    pub epoch: EpochPick,
    pub seq: u32,
    pub beat: u32,
    pub interval_us: u32,
    pub ack: (u32, u32),
    pub flags: u8,
}

/// Everything a run needs: the deployment's configuration and its faults.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub seed: u64,
    pub interval: Duration,
    pub dead_time: DeadTime,
    pub hold_down: Duration,
    pub policy: WitnessPolicy,
    /// Whether the witness runs at all (policy off may still have none).
    pub witness_present: bool,
    pub fence: bool,
    pub authenticated: bool,
    /// Script behaviour: the longest normal run, and the chances that a
    /// Test/PreAcq script refuses or that any script hangs until killed.
    pub script_max: Duration,
    pub veto_chance: f64,
    pub hang_chance: f64,
    pub script_timeout: Duration,
    pub delay_min: Duration,
    pub delay_max: Duration,
    pub end: Instant,
    pub faults: Vec<(Instant, Fault)>,
    /// Every life of every node starts numbering its frames after this seq
    /// (0 normally): near `u32::MAX`, the nodes run out of seq numbers
    /// mid-run and move to a new epoch (docs/protocol.md, "Epochs").
    pub start_seq: u32,
    /// The chance that the host's removal of the addresses fails (the
    /// address stays on the interface), for each removal before
    /// `removal_failures_until`; after it, every removal works.
    pub removal_failure_chance: f64,
    pub removal_failures_until: Instant,
    /// The primary's failback policy.
    pub failback: Failback,
}

impl Schedule {
    /// A calm deployment for hand-written scenarios: 10 ms beats, Apple's
    /// fixed dead time of three intervals, no witness, clean instant
    /// scripts, a fixed 100 µs delay, no faults yet.
    pub fn calm(end: Instant) -> Schedule {
        let interval = Duration::from_millis(10);
        Schedule {
            seed: 1,
            interval,
            dead_time: DeadTime::Fixed(interval.saturating_mul(3)),
            hold_down: Duration::ZERO,
            policy: WitnessPolicy::Off,
            witness_present: false,
            fence: false,
            authenticated: false,
            script_max: Duration::ZERO,
            veto_chance: 0.0,
            hang_chance: 0.0,
            script_timeout: interval.saturating_mul(10),
            delay_min: Duration::from_micros(100),
            delay_max: Duration::from_micros(100),
            end,
            faults: Vec::new(),
            start_seq: 0,
            removal_failure_chance: 0.0,
            removal_failures_until: Instant::ZERO,
            failback: Failback::Auto,
        }
    }

    /// Runs a witness, with `policy` on the secondary.
    pub fn witness(mut self, policy: WitnessPolicy) -> Schedule {
        self.policy = policy;
        self.witness_present = true;
        self
    }

    /// Adds `fault` at `at` milliseconds.
    pub fn with(mut self, at_ms: u64, fault: Fault) -> Schedule {
        self.faults.push((Instant::from_millis(at_ms), fault));
        self.faults.sort_by_key(|(t, _)| *t);
        self
    }

    /// Pulls both of a server's cables at `at_ms`: the walk-throughs' "cut
    /// off from everything", spelled once rather than as two port faults.
    pub fn unplugged(self, at_ms: u64, node: NodeIx) -> Schedule {
        self.with(at_ms, Fault::port(node, 0, false))
            .with(at_ms, Fault::port(node, 1, false))
    }

    /// Plugs both of a server's cables back at `at_ms`.
    pub fn plugged_back(self, at_ms: u64, node: NodeIx) -> Schedule {
        self.with(at_ms, Fault::port(node, 0, true))
            .with(at_ms, Fault::port(node, 1, true))
    }

    /// The schedule of `seed`.
    pub fn generate(seed: u64) -> Schedule {
        let mut rng = stream(seed, 0x005e_ed0f_fa11_0fe7);
        let interval = Duration::from_millis(*[5u64, 10, 20, 100].choose(&mut rng).unwrap_or(&10));
        let dead_time = if rng.gen_bool(0.5) {
            DeadTime::Adaptive(AdaptiveDeadTime::default())
        } else {
            DeadTime::Fixed(interval.saturating_mul(rng.gen_range(3..=6)))
        };
        let hold_down = if rng.gen_bool(0.2) {
            interval.saturating_mul(rng.gen_range(1..=20))
        } else {
            Duration::ZERO
        };
        let policy = match rng.gen_range(0..3) {
            0 => WitnessPolicy::Off,
            1 => WitnessPolicy::Required,
            _ => WitnessPolicy::Preferred {
                fallback_hold_down: interval.saturating_mul(rng.gen_range(10..=40)),
            },
        };
        let witness_present = policy != WitnessPolicy::Off || rng.gen_bool(0.3);
        let fence = witness_present && rng.gen_bool(0.2);
        let authenticated = rng.gen_bool(0.5);
        let script_max = interval.saturating_mul(rng.gen_range(0..=4));
        let veto_chance = if rng.gen_bool(0.2) { 0.3 } else { 0.0 };
        let hang_chance = if rng.gen_bool(0.1) { 0.2 } else { 0.0 };
        let script_timeout = interval.saturating_mul(10);
        // Delays well under an interval, as on a LAN; the stall rule and the
        // detector's half-interval grace assume that.
        let delay_max = Duration::from_micros(interval.total_micros() / rng.gen_range(5..=20));
        let delay_min = Duration::from_micros(delay_max.total_micros() / 4);

        let intervals: u64 = rng.gen_range(400..=1200);
        // After this every fault is repaired, and the system must settle
        // with the primary holding the addresses.
        let faults_until = Instant::ZERO + interval.saturating_mul(intervals * 6 / 10);
        let end = Instant::ZERO + interval.saturating_mul(intervals);
        let mut faults = Vec::new();
        let n = rng.gen_range(0..=6);
        // Let the system settle for a while before the first fault.
        let earliest = interval.saturating_mul(60).total_micros();
        let latest = faults_until.total_micros().max(earliest + 1);
        // A moment while faults last; and a moment a number of intervals in
        // `intervals` after `from`, but before the faults end.
        let fault_at = |rng: &mut Pcg64Mcg| Instant::from_micros(rng.gen_range(earliest..latest));
        let later = |rng: &mut Pcg64Mcg, from: Instant, intervals: RangeInclusive<u64>| {
            (from + interval.saturating_mul(rng.gen_range(intervals))).min(faults_until)
        };
        for _ in 0..n {
            let at = fault_at(&mut rng);
            let heal = later(&mut rng, at, 1..=200);
            let node = any_node(&mut rng);
            match rng.gen_range(0..8) {
                0 | 1 => {
                    let link = if node == NodeIx::Witness {
                        0
                    } else {
                        rng.gen_range(0..2)
                    };
                    faults.push((at, Fault::port(node, link, false)));
                    faults.push((heal, Fault::port(node, link, true)));
                    // Sometimes the other link too: a node cut off entirely.
                    if node != NodeIx::Witness && rng.gen_bool(0.5) {
                        faults.push((at, Fault::port(node, 1 - link, false)));
                        faults.push((heal, Fault::port(node, 1 - link, true)));
                    }
                }
                2 => {
                    let loss = *[0.1, 0.2, 0.3].choose(&mut rng).unwrap_or(&0.3);
                    for link in 0..2 {
                        faults.push((at, Fault::Loss { link, loss }));
                        faults.push((heal, Fault::Loss { link, loss: 0.0 }));
                    }
                }
                3 => {
                    let link = rng.gen_range(0..2);
                    faults.push((at, Fault::Dup { link, dup: 0.2 }));
                    faults.push((heal, Fault::Dup { link, dup: 0.0 }));
                }
                4 | 5 => {
                    faults.push((at, Fault::Kill(node)));
                    faults.push((heal, Fault::Restart(node)));
                }
                6 => {
                    faults.push((at, Fault::Freeze(node)));
                    faults.push((heal, Fault::Thaw(node)));
                }
                _ if authenticated && rng.gen_bool(0.5) => faults.push((
                    at,
                    Fault::Forge {
                        count: rng.gen_range(1..=50),
                    },
                )),
                _ => faults.push((
                    at,
                    Fault::Replay {
                        count: rng.gen_range(1..=20),
                    },
                )),
            }
        }
        // The reachability rule's faults, from a stream of their own (so the
        // faults above stay what they were for every seed): a server's
        // probe target goes silent, and a server cut off on both links gets
        // its private cable back first and its public one (the service
        // network) only later: the half-healed cable.
        let mut reach_rng = stream(seed, 0x0000_2eac_4ab1_e000);
        let server = |rng: &mut Pcg64Mcg| {
            if rng.gen_bool(0.5) {
                NodeIx::Primary
            } else {
                NodeIx::Secondary
            }
        };
        if reach_rng.gen_bool(0.15) {
            let node = server(&mut reach_rng);
            let at = fault_at(&mut reach_rng);
            let heal = later(&mut reach_rng, at, 1..=200);
            faults.push((at, Fault::Probe { node, up: false }));
            faults.push((heal, Fault::Probe { node, up: true }));
        }
        if reach_rng.gen_bool(0.15) {
            let node = server(&mut reach_rng);
            let at = fault_at(&mut reach_rng);
            let private_back = later(&mut reach_rng, at, 5..=100);
            let public_back = later(&mut reach_rng, private_back, 1..=100);
            for link in 0..2 {
                faults.push((at, Fault::port(node, link, false)));
            }
            faults.push((private_back, Fault::port(node, 0, true)));
            faults.push((public_back, Fault::port(node, 1, true)));
        }
        // From a stream of its own, so every other choice of a seed stays
        // what it was (failing seeds quoted elsewhere still replay): one
        // schedule in ten starts each life a few hundred frames short of
        // the end of the seq space, so every node rolls its epoch over
        // within the first half of the run (each node sends at least one
        // frame per interval).
        let mut seq_rng = stream(seed, 0x0005_e9e9_0000_0123);
        let start_seq = if seq_rng.gen_bool(0.1) {
            let frames = u32::try_from(intervals / 2).unwrap_or(u32::MAX).max(1);
            u32::MAX - seq_rng.gen_range(0..frames)
        } else {
            0
        };
        // From a stream of their own (so every other choice of a seed stays
        // what it was): a dead switch, whose ports keep their carrier but
        // forward nothing, so that no node is told; and a node power-cycled
        // or its daemon restarted (back within an interval), often right on
        // another fault, when a node's memory of what it heard matters most
        // (a secondary restarted as the primary was cut off must still wait
        // out the fence of the round trips its earlier life carried).
        let mut outage_rng = stream(seed, 0x0de4_d5e1_7c40_0001);
        if outage_rng.gen_bool(0.1) {
            let link = outage_rng.gen_range(0..2);
            let at = fault_at(&mut outage_rng);
            let heal = later(&mut outage_rng, at, 1..=200);
            faults.push((at, Fault::Loss { link, loss: 1.0 }));
            faults.push((heal, Fault::Loss { link, loss: 0.0 }));
        }
        if outage_rng.gen_bool(0.15) {
            let node = any_node(&mut outage_rng);
            let near = match faults.choose(&mut outage_rng) {
                Some(&(t, _)) if outage_rng.gen_bool(0.7) => t,
                _ => fault_at(&mut outage_rng),
            };
            let spread = interval.total_micros();
            let at = Instant::from_micros(
                (near.total_micros() + outage_rng.gen_range(0..2 * spread))
                    .saturating_sub(spread)
                    .clamp(earliest, latest),
            );
            let back = at + Duration::from_micros(outage_rng.gen_range(0..spread));
            faults.push((at, Fault::Kill(node)));
            faults.push((back, Fault::Restart(node)));
        }
        // Unkeyed schedules, from a stream of their own (so every other
        // choice of a seed stays what it was): one in four gets one forged
        // frame; then one in two has no other fault, and invariant 6 holds
        // it to doing nothing at all.
        let mut forge_rng = stream(seed, 0x00f0_49ed_0000_0001);
        if !authenticated && forge_rng.gen_bool(0.25) {
            if forge_rng.gen_bool(0.5) {
                faults.clear();
            }
            let at = fault_at(&mut forge_rng);
            let to = any_node(&mut forge_rng);
            let sender = match forge_rng.gen_range(0..4) {
                0 => None,
                1 => Some(NodeIx::Primary),
                2 => Some(NodeIx::Secondary),
                _ => Some(NodeIx::Witness),
            };
            let epoch = match forge_rng.gen_range(0..4) {
                0 => EpochPick::Max,
                1 => EpochPick::Raw(forge_rng.gen()),
                2 => EpochPick::AboveReal(forge_rng.gen_range(1..=1000)),
                _ => EpochPick::Real,
            };
            let seq = match forge_rng.gen_range(0..3) {
                0 => 1,
                1 => u32::MAX,
                _ => forge_rng.gen_range(100_000..u32::MAX),
            };
            let forgery = Forgery {
                to,
                link: if to == NodeIx::Witness {
                    0
                } else {
                    forge_rng.gen_range(0..2)
                },
                sender,
                foreign: forge_rng.gen_range(4..u32::MAX),
                role: forge_rng.gen_range(1..=3),
                epoch,
                seq,
                beat: forge_rng.gen(),
                interval_us: if forge_rng.gen_bool(0.5) {
                    u32::MAX
                } else {
                    forge_rng.gen_range(1..=u32::MAX)
                },
                ack: (forge_rng.gen(), forge_rng.gen()),
                flags: forge_rng.gen_range(0..32),
            };
            faults.push((at, Fault::ForgeOne(forgery)));
        }
        // From a stream of its own, so every other choice of a seed stays
        // what it was: one schedule in eight has a host whose removals of
        // the addresses fail half the time while faults last (netlink errors
        // or timeouts).
        let mut removal_rng = stream(seed, 0x00de_1add_0000_0001);
        let removal_failure_chance = if removal_rng.gen_bool(0.125) {
            0.5
        } else {
            0.0
        };
        // The operator, from a stream of its own (so every other choice of
        // a seed stays what it was): one primary in five fails back
        // manually, and one schedule in four has a planned switchover,
        // mostly followed by a reclaim, some of them after a second
        // (repeated) handover. Schedules kept to one forged frame keep it
        // alone (invariant 6).
        let mut operator_rng = stream(seed, 0x0000_0be7_a70e_0001);
        let failback = if operator_rng.gen_bool(0.2) {
            Failback::Manual
        } else {
            Failback::Auto
        };
        let forged_only = matches!(faults.as_slice(), [(_, Fault::ForgeOne(_))]);
        if !forged_only && operator_rng.gen_bool(0.25) {
            let at = fault_at(&mut operator_rng);
            faults.push((at, Fault::Handover));
            if operator_rng.gen_bool(0.2) {
                let again = later(&mut operator_rng, at, 1..=300);
                faults.push((again, Fault::Handover));
            }
            if operator_rng.gen_bool(0.7) {
                let back = later(&mut operator_rng, at, 1..=300);
                faults.push((back, Fault::Reclaim));
            }
        } else if !forged_only && failback == Failback::Manual && operator_rng.gen_bool(0.5) {
            let at = fault_at(&mut operator_rng);
            faults.push((at, Fault::Reclaim));
        }
        // The primary's health checks, from a stream of their own: one
        // schedule in eight has its service fail for a while (and with
        // manual failback, a reclaim some time after it passes again).
        let mut health_rng = stream(seed, 0x0000_4ea1_74c4_0001);
        if !forged_only && health_rng.gen_bool(0.125) {
            let at = fault_at(&mut health_rng);
            let heal = later(&mut health_rng, at, 1..=200);
            faults.push((at, Fault::Health { ok: false }));
            faults.push((heal, Fault::Health { ok: true }));
            if failback == Failback::Manual {
                let reclaim = later(&mut health_rng, heal, 1..=100);
                faults.push((reclaim, Fault::Reclaim));
            }
        }
        // In time order, and in the order drawn among faults at the same
        // moment (a stable sort).
        faults.sort_by_key(|(t, _)| *t);
        Schedule {
            seed,
            interval,
            dead_time,
            hold_down,
            policy,
            witness_present,
            fence,
            authenticated,
            script_max,
            veto_chance,
            hang_chance,
            script_timeout,
            delay_min,
            delay_max,
            end,
            faults,
            start_seq,
            removal_failure_chance,
            removal_failures_until: faults_until,
            failback,
        }
    }
}

/// The random stream `salt` of `seed`. Each part of a schedule added after
/// the first draws from a stream of its own, so that every earlier choice
/// of a seed stays what it was (the failing seeds quoted in `simulator.rs`
/// still replay). The generator's state must be odd (`Pcg64Mcg::new` sets
/// the lowest bit), so the seed goes in shifted: unshifted, seeds 2k and
/// 2k + 1 drew the same schedule (half the seeds repeated a neighbour's
/// faults).
fn stream(seed: u64, salt: u128) -> Pcg64Mcg {
    Pcg64Mcg::new((u128::from(seed) << 1) ^ salt)
}

/// One of the three nodes, each as likely.
fn any_node(rng: &mut Pcg64Mcg) -> NodeIx {
    *[NodeIx::Primary, NodeIx::Secondary, NodeIx::Witness]
        .choose(rng)
        .unwrap_or(&NodeIx::Primary)
}
