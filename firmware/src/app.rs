//! The witness application, the same on every board: a smoltcp interface
//! with one UDP socket on the protocol's port, and failover-core's
//! [`Witness`] machine, which makes every decision. This loop only carries
//! frames between the two, runs the machine's timers, and turns its actions
//! into effects (the fence pin, log lines) and its state into LEDs.
//!
//! Where frames go: the witness's machine addresses everything it sends to
//! [`Dest::Peers`], the private link's heartbeat targets, which the
//! configuration names (`peers`, by default the private network's
//! broadcast address, as `heartbeatd`'s first target). It never sends to
//! [`Dest::Witness`] (that is the servers' way to reach it).

use core::net::Ipv4Addr;

use embedded_hal::digital::OutputPin;
use failover_core::wire::MAX_FRAME_LEN;
use failover_core::{Action, Dest, Duration, Event, Instant, LinkId, Machine, Witness};
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::phy::Device;
use smoltcp::socket::udp;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, IpEndpoint, Ipv4Cidr};

use crate::config;
use crate::hal::{Clock, Idle, NetStatus};

/// Datagrams each way the UDP socket buffers.
const SOCKET_SLOTS: usize = 4;
/// Frames taken from the socket per wake-up at most, so a flood cannot
/// starve the timers.
const RX_BURST: usize = 16;
/// Frames the machine may send per wake-up at most (a heartbeat and a
/// reply or two).
const TX_BURST: usize = 4;
/// How often the status line is logged.
const STATUS_EVERY: Duration = Duration::from_secs(10);

/// The witness's outputs.
pub struct Pins<P, S, G, F> {
    /// Lit while the primary is heard.
    pub primary_led: P,
    /// Lit while the secondary is heard.
    pub secondary_led: S,
    /// Lit while a grant is outstanding.
    pub grant_led: G,
    /// The fence relay: asserted (high) while the machine says so.
    pub fence: F,
}

/// An IPv4 address for defmt.
struct Ip([u8; 4]);

impl defmt::Format for Ip {
    fn format(&self, f: defmt::Formatter<'_>) {
        let [a, b, c, d] = self.0;
        defmt::write!(f, "{}.{}.{}.{}", a, b, c, d);
    }
}

/// An Ethernet address for defmt.
struct Mac([u8; 6]);

impl defmt::Format for Mac {
    fn format(&self, f: defmt::Formatter<'_>) {
        let [a, b, c, d, e, g] = self.0;
        defmt::write!(
            f,
            "{=u8:02x}:{=u8:02x}:{=u8:02x}:{=u8:02x}:{=u8:02x}:{=u8:02x}",
            a,
            b,
            c,
            d,
            e,
            g
        );
    }
}

fn ip_of(node: failover_core::NodeId) -> Ip {
    Ip(node.0.to_be_bytes())
}

/// What the LEDs show, kept to log the changes.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
struct Shown {
    primary: bool,
    secondary: bool,
    grant: bool,
}

/// Runs the witness on `device`, whose Ethernet address is `mac`; never
/// returns.
pub fn run<D, C, I, P, S, G, F>(
    device: &mut D,
    mac: [u8; 6],
    clock: &mut C,
    idle: &mut I,
    mut pins: Pins<P, S, G, F>,
    epoch: u32,
) -> !
where
    D: Device + NetStatus,
    C: Clock,
    I: Idle,
    P: OutputPin,
    S: OutputPin,
    G: OutputPin,
    F: OutputPin,
{
    let boot_us = clock.now_micros();
    crate::set_log_time(boot_us);
    let start = Instant::from_micros(boot_us);

    // The network: one address, no routes (everything is on-link), one
    // UDP socket on the protocol's port.
    let mut iface_config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    iface_config.random_seed = u64::from(epoch);
    let mut iface = Interface::new(iface_config, device, ts(boot_us));
    iface.update_ip_addrs(|addrs| {
        let cidr = IpCidr::Ipv4(Ipv4Cidr::new(config::address(), config::PREFIX_LEN));
        // One address fits the one slot configured.
        let _ = addrs.push(cidr);
    });
    let mut rx_meta = [udp::PacketMetadata::EMPTY; SOCKET_SLOTS];
    let mut rx_data = [0u8; SOCKET_SLOTS * MAX_FRAME_LEN];
    let mut tx_meta = [udp::PacketMetadata::EMPTY; SOCKET_SLOTS];
    let mut tx_data = [0u8; SOCKET_SLOTS * MAX_FRAME_LEN];
    let mut socket = udp::Socket::new(
        udp::PacketBuffer::new(&mut rx_meta[..], &mut rx_data[..]),
        udp::PacketBuffer::new(&mut tx_meta[..], &mut tx_data[..]),
    );
    if socket.bind(config::PORT).is_err() {
        crate::fatal("cannot bind the UDP port");
    }
    let mut storage = [SocketStorage::EMPTY; 1];
    let mut sockets = SocketSet::new(&mut storage[..]);
    let handle = sockets.add(socket);

    // build.rs ran the same checks on witness.toml, so this refuses nothing
    // a build let through.
    let Ok(mut witness) = Witness::try_new(config::witness_config(epoch), start) else {
        crate::fatal("the witness configuration is refused");
    };
    let interval = Duration::from_micros(config::INTERVAL_US);
    let dead_time = Duration::from_micros(config::DEAD_TIME_US);
    defmt::info!(
        "witness {} up: {}/{} on port {}, mac {}, epoch {}, interval {} ms, dead time {} us, lease {} ms, fence {}, auth {}",
        Ip(config::ADDRESS),
        Ip(config::ADDRESS),
        config::PREFIX_LEN,
        config::PORT,
        Mac(mac),
        epoch,
        interval.total_millis(),
        config::DEAD_TIME_US,
        config::LEASE_US / 1000,
        if config::FENCE_US.is_some() { "on" } else { "off" },
        if config::KEYS.is_empty() { "off" } else { "on" },
    );
    if config::LAB_KEY {
        defmt::warn!(
            "built with the lab's PUBLISHED key (lab-only.key): anyone can forge this witness's frames; not for a deployment"
        );
    }
    defmt::info!(
        "ram: witness machine {} B, interface {} B; sends to {} peer address(es); link {}; wakes {}; config {}",
        core::mem::size_of::<Witness>(),
        core::mem::size_of::<Interface>(),
        config::PEERS.len(),
        if device.link_up() { "up" } else { "DOWN" },
        I::WAKES,
        config::CONFIG_FILE,
    );

    let mut frame = [0u8; MAX_FRAME_LEN];
    let mut shown = Shown::default();
    let mut status_at = start + STATUS_EVERY;
    let mut send_failures: u32 = 0;
    // The machine's next deadline, asked once per turn (after the turn's
    // work) and kept for the next: its answer is the largest function of
    // the image, and one call site keeps it out of line only once.
    let mut timer_at = witness.poll_at();
    // Turns of this loop since boot: how often the witness woke up, in the
    // status line (a board that sleeps until a frame or a deadline turns
    // about once per frame and per timer; the lab checks it).
    let mut turns: u32 = 0;
    loop {
        turns = turns.wrapping_add(1);
        let now_us = clock.now_micros();
        crate::set_log_time(now_us);
        let now = Instant::from_micros(now_us);
        iface.poll(ts(now_us), device, &mut sockets);

        let socket = sockets.get_mut::<udp::Socket>(handle);
        for _ in 0..RX_BURST {
            match socket.recv() {
                Ok((payload, _meta)) => witness.handle_frame(now, LinkId::PRIVATE, payload),
                Err(_) => break,
            }
        }
        // A frame may have moved the deadline since it was asked: running
        // the machine's timers early is harmless (it re-evaluates its state
        // at `now`), and a deadline brought forward is caught below, where
        // the sleep then returns at once.
        if timer_at.is_some_and(|t| t <= now) {
            witness.handle_timeout(now);
        }
        while let Some(action) = witness.poll_action() {
            act(action, &witness, &mut pins.fence);
        }
        for _ in 0..TX_BURST {
            let Some(t) = witness.poll_transmit(now, &mut frame) else {
                break;
            };
            let Some(bytes) = frame.get(..t.len) else {
                continue;
            };
            let peers: &[[u8; 4]] = match t.dest {
                Dest::Peers => config::PEERS,
                // Not a destination a witness has; never asked for.
                Dest::Witness => &[],
            };
            for peer in peers {
                let [a, b, c, d] = *peer;
                let to = IpEndpoint::new(Ipv4Addr::new(a, b, c, d).into(), config::PORT);
                if socket.send_slice(bytes, to).is_err() {
                    send_failures = send_failures.wrapping_add(1);
                }
            }
        }
        iface.poll(ts(now_us), device, &mut sockets);

        shown = show(now, &witness, shown, dead_time, &mut pins);
        if now >= status_at {
            status_at = now + STATUS_EVERY;
            let rx = witness.stats().rx;
            let stack = crate::stack::usage();
            let [nic_rx, nic_dropped, nic_tx, nic_failed] = device.counters();
            defmt::info!(
                "status: primary {}, secondary {}, grant {}; frames accepted {}, malformed {}, auth failed {}, replayed {}, ignored {}; socket send failures {}; nic rx {} dropped {} tx {} failed {}; turns {}; stack peak {} B of {} B",
                if shown.primary { "heard" } else { "silent" },
                if shown.secondary { "heard" } else { "silent" },
                if shown.grant { "out" } else { "none" },
                rx.accepted,
                rx.malformed,
                rx.auth_failed,
                rx.replayed,
                rx.ignored,
                send_failures,
                nic_rx,
                nic_dropped,
                nic_tx,
                nic_failed,
                turns,
                stack.peak,
                stack.size,
            );
        }
        // Sleep until a frame arrives or the next deadline: the machine's
        // timers or the status line. smoltcp's own (an ARP retry for a
        // datagram waiting on its neighbour) need no wake-up of their own:
        // the witness beats every interval, and each turn polls smoltcp.
        timer_at = witness.poll_at();
        let until = timer_at.map_or(status_at, |t| t.min(status_at));
        idle.idle(clock.now_micros(), until.total_micros());
    }
}

/// smoltcp's timestamp for a microsecond count.
fn ts(micros: u64) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
}

/// Carries out one of the machine's actions.
fn act<F: OutputPin>(action: Action, witness: &Witness, fence: &mut F) {
    match action {
        Action::SetFence(on) => {
            let ok = if on {
                fence.set_high()
            } else {
                fence.set_low()
            }
            .is_ok();
            defmt::warn!(
                "fence {}{}",
                if on { "ASSERTED" } else { "released" },
                if ok {
                    ""
                } else {
                    " (the pin reported an error)"
                }
            );
        }
        Action::Notify(Event::Granted) => match witness.grant() {
            Some(g) => defmt::warn!(
                "GRANT to {}: the primary is silent; lease until {} ms",
                ip_of(g.holder),
                g.expires.total_micros() / 1000
            ),
            None => defmt::warn!("GRANT"),
        },
        Action::Notify(Event::GrantEnded) => defmt::info!("grant ended (released or expired)"),
        Action::Notify(Event::IntervalRefused { advertised, used }) => defmt::warn!(
            "the primary advertises a {} us interval, out of the range believed: using {} us",
            advertised.total_micros(),
            used.total_micros()
        ),
        // After 2^32 frames (497 days at 10 ms beats). Not recorded: QEMU's
        // next boot takes the time of day, far above; the NUCLEO's boot
        // counter does not learn it yet (firmware/README.md, "Not yet").
        Action::PersistEpoch(epoch) => {
            defmt::warn!("frame counter ran out: now sending in epoch {}", epoch)
        }
        // Without a key: a server's epoch settled. No room to keep it (the
        // boot counter's flash holds one number): after a reboot the
        // witness accepts the servers' older lives once more, as before.
        Action::PersistPeerEpoch { epoch, .. } => {
            defmt::info!("a peer settled in epoch {}", epoch)
        }
        // This loop drains after every turn, so never; but if it did not,
        // the grant LED and the fence could lag the machine: say so.
        Action::Notify(Event::ActionsLost { count }) => {
            defmt::error!("{} actions dropped unperformed", count)
        }
        // A witness machine notifies nothing else; naming every event
        // would cost half a kilobyte of flash for lines never logged.
        Action::Notify(_) => defmt::info!("event"),
        // Server actions; a witness machine never asks for them.
        Action::RunStage(_) | Action::AddAddresses | Action::Announce | Action::RemoveAddresses => {
        }
    }
}

/// Updates the LEDs and logs what changed.
fn show<P, S, G, F>(
    now: Instant,
    witness: &Witness,
    before: Shown,
    dead_time: Duration,
    pins: &mut Pins<P, S, G, F>,
) -> Shown
where
    P: OutputPin,
    S: OutputPin,
    G: OutputPin,
    F: OutputPin,
{
    let shown = Shown {
        // "Not yet declared dead" is not "heard": right after boot (or
        // after deafness) the machine counts the primary's silence afresh.
        primary: witness.primary_heard(),
        secondary: witness
            .secondary_last_heard()
            .is_some_and(|t| now.saturating_since(t) < dead_time),
        grant: witness.grant().is_some(),
    };
    if shown == before {
        return shown;
    }
    let _ = set(&mut pins.primary_led, shown.primary);
    let _ = set(&mut pins.secondary_led, shown.secondary);
    let _ = set(&mut pins.grant_led, shown.grant);
    if shown.primary != before.primary {
        defmt::info!("primary {}", if shown.primary { "heard" } else { "SILENT" });
    }
    if shown.secondary != before.secondary {
        defmt::info!(
            "secondary {}",
            if shown.secondary { "heard" } else { "silent" }
        );
    }
    shown
}

fn set<P: OutputPin>(pin: &mut P, on: bool) -> Result<(), P::Error> {
    if on {
        pin.set_high()
    } else {
        pin.set_low()
    }
}
