//! A third host on the lab's private network: the forger and replayer of
//! the security scenarios. It joins the private bridge with an address of
//! its own and a raw channel on the protocol's port, so it sees everything
//! broadcast there and can send any frame.
//!
//! Two forgers run on it in a thread of their own, each stopped and joined
//! when dropped: [`HeartbeatForger`] (heartbeats in the primary's name with
//! a wrong key, and genuine ones replayed) and [`GrantForger`] (grants in
//! the witness's name, answering the secondary's requests).

mod grants;
mod heartbeats;

pub use grants::{Forged, GrantForger};
pub use heartbeats::HeartbeatForger;

use std::io;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use failover_core::wire::DEFAULT_PORT;
use failover_host::net::{parse_udp_frame, Channel, ChannelConfig, UdpFlow, BROADCAST_MAC};

use crate::netns::Netns;
use crate::topology::{Topology, PRIVATE_BRIDGE, PRIVATE_BROADCAST, PRIVATE_IF};

/// The attacker's private address.
pub const ATTACKER_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 66);

/// The attacker's host: a namespace cabled to the private bridge.
#[derive(Debug)]
pub struct Attacker {
    ns: Netns,
}

impl Attacker {
    /// Plugs a new host into `t`'s private bridge, as [`ATTACKER_IP`].
    pub fn join_private(t: &Topology) -> io::Result<Attacker> {
        let ns = Netns::new("attacker")?;
        t.switch
            .connect(PRIVATE_BRIDGE, "attacker-priv", &ns, PRIVATE_IF)?;
        ns.add_addr(PRIVATE_IF, &format!("{ATTACKER_IP}/24"))?;
        Ok(Attacker { ns })
    }

    /// Joins `t`'s private network ([`Attacker::join_private`]) and opens
    /// its channel, with the headers of its frames ([`Attacker::flow`]):
    /// how the tests that flood or forge on the private network start.
    /// The host stays as long as the returned [`Attacker`] lives.
    pub fn on_private(t: &Topology) -> (Attacker, Channel, UdpFlow) {
        let attacker = Attacker::join_private(t).expect("the attacker joins");
        let ch = attacker.channel().expect("the attacker's channel");
        let flow = Attacker::flow(&ch);
        (attacker, ch, flow)
    }

    /// A raw channel on the attacker's private interface, receiving the
    /// protocol's frames (port 1694).
    pub fn channel(&self) -> io::Result<Channel> {
        self.ns
            .run(|| Channel::open(PRIVATE_IF, &ChannelConfig::heartbeat(DEFAULT_PORT)))?
            .map_err(|e| io::Error::other(format!("attacker's raw channel: {e}")))
    }

    /// The headers of a frame from the attacker to the private network's
    /// broadcast address, from and to the protocol's port.
    pub fn flow(ch: &Channel) -> UdpFlow {
        UdpFlow {
            src_mac: ch.mac(),
            dst_mac: BROADCAST_MAC,
            src_ip: ATTACKER_IP,
            dst_ip: PRIVATE_BROADCAST,
            src_port: DEFAULT_PORT,
            dst_port: DEFAULT_PORT,
        }
    }
}

/// Records up to `max` genuine frames sent from `source` (whole Ethernet
/// frames, as captured), for at most half a second: what a replayer needs.
pub fn capture_from(ch: &mut Channel, source: Ipv4Addr, max: usize) -> Vec<Vec<u8>> {
    let mut captured = Vec::new();
    let until = std::time::Instant::now() + Duration::from_millis(500);
    for _ in 0..100_000 {
        if std::time::Instant::now() >= until || captured.len() >= max {
            break;
        }
        if let Ok(Some(frame)) = ch.recv_timeout(Duration::from_millis(20)) {
            if parse_udp_frame(frame, DEFAULT_PORT).is_some_and(|u| u.src_ip == source) {
                captured.push(frame.to_vec());
            }
        }
    }
    captured
}

/// Sends `frame` on `ch`, waiting out a full socket buffer (bounded: 100
/// tries, 200 µs apart); whether it went.
pub fn send(ch: &mut Channel, frame: &[u8]) -> bool {
    for _ in 0..100 {
        match ch.send(frame) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(_) => return false,
            Ok(()) => return true,
        }
    }
    false
}

/// An epoch newer than any a node booted in this run uses (its time of day
/// in seconds, plus 1000): were a forged frame of this epoch accepted, it
/// would be taken as the sender's newest.
fn newer_epoch() -> u32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(now)
        .unwrap_or(u32::MAX - 100_000)
        .saturating_add(1000)
}
