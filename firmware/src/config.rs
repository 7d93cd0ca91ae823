//! The witness's configuration, fixed at build time.
//!
//! `build.rs` reads and checks `witness.toml` (or `$FAILOVER_WITNESS_CONFIG`)
//! and generates the constants included here; this module turns them into
//! the core's [`WitnessConfig`] and smoltcp's addresses. Nothing here can
//! fail at run time except the keys (`Key::new` is checked at build time
//! with the same rule, so it cannot fail either).

use core::net::Ipv4Addr;

use failover_core::wire::{Key, Keyring};
use failover_core::{DeadTime, Duration, FenceConfig, NodeId, WitnessConfig};

mod generated {
    include!(concat!(env!("OUT_DIR"), "/witness_config.rs"));
}
pub use generated::*;

/// This node's private address.
pub const fn address() -> Ipv4Addr {
    let [a, b, c, d] = ADDRESS;
    Ipv4Addr::new(a, b, c, d)
}

/// A node id from its private address (big-endian, as the daemons do).
pub const fn node_id(addr: [u8; 4]) -> NodeId {
    NodeId(u32::from_be_bytes(addr))
}

/// The core's configuration for a witness booted with `epoch`.
pub fn witness_config(epoch: u32) -> WitnessConfig {
    let interval = Duration::from_micros(INTERVAL_US);
    let mut c = WitnessConfig::new(node_id(ADDRESS), epoch, interval);
    c.primary = PRIMARY.map(node_id);
    c.secondary = SECONDARY.map(node_id);
    c.primary_interval = Duration::from_micros(PRIMARY_INTERVAL_US);
    c.dead_time = DeadTime::Fixed(Duration::from_micros(DEAD_TIME_US));
    c.lease = Duration::from_micros(LEASE_US);
    c.fence = FENCE_US.map(|(pulse, settle)| FenceConfig {
        pulse: Duration::from_micros(pulse),
        settle: Duration::from_micros(settle),
    });
    c.keys = keyring();
    c
}

/// The keys from the key file, the signing key first.
fn keyring() -> Option<Keyring> {
    let mut keys = KEYS.iter().filter_map(|(id, secret)| Key::new(*id, secret));
    let mut ring = Keyring::new(keys.next()?);
    for k in keys {
        // Checked at build time: distinct ids, at most MAX_KEYS.
        let _ = ring.add(k);
    }
    Some(ring)
}
