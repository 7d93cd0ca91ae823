//! A primary and a secondary over a simulated two-link network, in virtual
//! time: the loop every host of `failover-core` runs, and a takeover.
//!
//! The primary manages the service addresses: it starts by reclaiming them,
//! and takes them once the secondary acknowledges. At 1.5 s it goes silent
//! (a crash); the secondary declares it dead after its dead time (three
//! intervals here), runs its Test, PreAcq and PostAcq stages (which succeed
//! at once: there are no scripts), adds the addresses and reports
//! `TookOver`.
//!
//! Run it with `cargo run -p failover-core --example two_machines`.
//!
//! The host's loop, in three steps, for each machine:
//!
//! 1. feed it what happened: frames that arrived (`handle_frame`), and its
//!    timers once `poll_at` has passed (`handle_timeout`);
//! 2. drain `poll_action` (carry each action out) and `poll_transmit` (send
//!    each frame) until both are empty;
//! 3. sleep until the earliest `poll_at`, or until the next frame arrives.

use failover_core::wire::MAX_FRAME_LEN;
use failover_core::{
    Action, ConfigError, Duration, Event, Instant, LinkId, Machine, NodeId, Primary, PrimaryConfig,
    Secondary, SecondaryConfig, StageOutcome,
};

/// How often both servers beat.
const INTERVAL: Duration = Duration::from_millis(100);
/// One-way delay on both links.
const DELAY: Duration = Duration::from_millis(2);
/// When the primary crashes.
const CRASH: Instant = Instant::from_millis(1500);
/// When the simulation ends.
const END: Instant = Instant::from_millis(4000);

/// A frame on its way to node `to`.
struct InFlight {
    at: Instant,
    to: usize,
    link: LinkId,
    bytes: Vec<u8>,
}

/// A simulated host: its machine, and whether it is running.
struct Host {
    name: &'static str,
    machine: Box<dyn Machine>,
    running: bool,
    /// When it last took the addresses, as its `Notify` said.
    took_over: Option<Instant>,
}

fn main() -> Result<(), ConfigError> {
    let start = Instant::ZERO;
    let mut primary = PrimaryConfig::new(NodeId(1), 1, 2, INTERVAL);
    primary.secondary = Some(NodeId(2));
    primary.manage_addresses = true;
    let mut secondary = SecondaryConfig::new(NodeId(2), 1, 2, INTERVAL);
    secondary.primary = Some(NodeId(1));
    let mut hosts = [
        Host {
            name: "primary",
            machine: Box::new(Primary::try_new(primary, start)?),
            running: true,
            took_over: None,
        },
        Host {
            name: "secondary",
            machine: Box::new(Secondary::try_new(secondary, start)?),
            running: true,
            took_over: None,
        },
    ];

    let mut wire: Vec<InFlight> = Vec::new();
    let mut buf = [0u8; MAX_FRAME_LEN];
    let mut now = start;
    while now <= END {
        if now >= CRASH && hosts[0].running {
            hosts[0].running = false;
            println!("{}  primary    crashes: silent from now on", at(now));
        }

        // 1. Feed what happened: the frames that arrived by now, then the
        //    timers that are due.
        let (arrived, later): (Vec<_>, Vec<_>) = wire.drain(..).partition(|f| f.at <= now);
        wire = later;
        for frame in arrived {
            let host = &mut hosts[frame.to];
            if host.running {
                host.machine.handle_frame(now, frame.link, &frame.bytes);
            }
        }
        for host in hosts.iter_mut().filter(|h| h.running) {
            if host.machine.poll_at().is_some_and(|t| t <= now) {
                host.machine.handle_timeout(now);
            }
        }

        // 2. Drain every machine's actions and frames. An action may lead
        //    to more (a stage reported done starts the next), so loop until
        //    both are empty.
        for (i, host) in hosts.iter_mut().enumerate() {
            if !host.running {
                continue;
            }
            loop {
                let mut busy = false;
                while let Some(action) = host.machine.poll_action() {
                    busy = true;
                    act(host, now, action);
                }
                while let Some(tx) = host.machine.poll_transmit(now, &mut buf) {
                    busy = true;
                    wire.push(InFlight {
                        at: now + DELAY,
                        to: 1 - i,
                        link: tx.link,
                        bytes: buf[..tx.len].to_vec(),
                    });
                }
                if !busy {
                    break;
                }
            }
        }

        // 3. Sleep until the next timer or arrival. A machine asks for
        //    `now` only while it has work due, and it has none after step 2:
        //    time always moves on.
        let next = hosts
            .iter()
            .filter(|h| h.running)
            .filter_map(|h| h.machine.poll_at())
            .chain(wire.iter().map(|f| f.at))
            .min();
        now = match next {
            Some(t) => t.max(now + Duration::from_micros(1)),
            None => break,
        };
    }

    let [primary, secondary] = &hosts;
    let took_over = secondary.took_over.expect("the secondary took over");
    println!(
        "{}  the secondary took over {} after the crash; it holds the addresses: {}; \
         frames it accepted: {}",
        at(END),
        took_over.saturating_since(CRASH),
        secondary.machine.holds_addresses(),
        secondary.machine.stats().rx.accepted,
    );
    // The example checks itself, so `cargo run` fails if the protocol
    // changes under it.
    assert!(
        primary.took_over.is_some(),
        "the primary took the addresses"
    );
    assert!(secondary.machine.holds_addresses());
    assert!(took_over.saturating_since(CRASH) <= INTERVAL.saturating_mul(5));
    Ok(())
}

/// What a host does with an action: here, print it, and report script
/// stages as done at once (a real host runs the scripts and reports later,
/// while it keeps feeding the machine).
fn act(host: &mut Host, now: Instant, action: Action) {
    println!("{}  {:<9}  {action:?}", at(now), host.name);
    match action {
        Action::RunStage(stage) => {
            host.machine
                .handle_stage_done(now, stage, StageOutcome::Success);
        }
        Action::Notify(Event::Acquired | Event::TookOver) => host.took_over = Some(now),
        _ => {}
    }
}

/// `now` as time since the start, right-aligned for the log.
fn at(now: Instant) -> String {
    format!("{:>9}", now.saturating_since(Instant::ZERO).to_string())
}
