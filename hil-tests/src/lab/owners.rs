//! Who holds the service address: both servers' ownership samplers, asked
//! together.

use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::holds::{overlap, Held};
use crate::observe::Ownership;
use crate::topology::{Topology, SERVICE};

/// Which server holds the address, alone (or that nobody does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The primary, and not the secondary.
    Primary,
    /// The secondary, and not the primary.
    Secondary,
    /// Neither.
    Nobody,
}

/// The service address sampled on both servers' public interfaces.
#[derive(Debug)]
pub struct Owners {
    /// On the primary.
    pub primary: Ownership,
    /// On the secondary.
    pub secondary: Ownership,
}

impl Owners {
    /// Starts sampling both servers of `t` every `period`.
    pub fn start(t: &Topology, period: Duration) -> io::Result<Owners> {
        Owners::start_for(t, SERVICE.into(), period)
    }

    /// Starts sampling both servers of `t` for another service address,
    /// `addr` (an IPv6 one, say), every `period`.
    pub fn start_for(t: &Topology, addr: IpAddr, period: Duration) -> io::Result<Owners> {
        Ok(Owners {
            primary: Ownership::start(&t.primary.ns, t.primary.public_if, addr, period)?,
            secondary: Ownership::start(&t.secondary.ns, t.secondary.public_if, addr, period)?,
        })
    }

    /// Whether `owner` is who holds the address now (as last sampled).
    pub fn are(&self, owner: Owner) -> bool {
        let (p, s) = (self.primary.holds_now(), self.secondary.holds_now());
        match owner {
            Owner::Primary => p && !s,
            Owner::Secondary => s && !p,
            Owner::Nobody => !p && !s,
        }
    }

    /// Who held the address when so far: the primary's intervals, the
    /// secondary's.
    pub fn held(&self) -> (Vec<Held>, Vec<Held>) {
        (self.primary.held(), self.secondary.held())
    }

    /// The time both had the address at once, over the whole run so far.
    pub fn overlap(&self) -> Duration {
        let (p, s) = self.held();
        overlap(&p, &s, Instant::now())
    }
}
