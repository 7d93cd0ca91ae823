//! Who is who on the failover network: node identities, roles and links.

/// A node's identity on the failover network, chosen by configuration and
/// unique among the primary, the secondary and the witness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// The part a node plays. It travels in every frame so that a receiver can
/// refuse, say, a "primary" heartbeat from the node it knows as the witness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Role {
    /// Runs `heartbeatd`; normally holds the service addresses.
    Primary = 1,
    /// Runs `failoverd`; takes the addresses when the primary dies.
    Secondary = 2,
    /// The tie-breaker on the private link; never holds addresses.
    Witness = 3,
}

impl Role {
    /// The role with wire code `code`, if there is one.
    #[must_use]
    pub const fn from_u8(code: u8) -> Option<Role> {
        match code {
            1 => Some(Role::Primary),
            2 => Some(Role::Secondary),
            3 => Some(Role::Witness),
            _ => None,
        }
    }

    /// A short lowercase name for logs and status output.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
            Role::Witness => "witness",
        }
    }
}

/// The most links (networks) one node watches. Apple's design has two, the
/// private link and the public network; a few more public networks fit.
pub const MAX_LINKS: usize = 4;

/// One of a node's networks, by position in its configuration. By Apple's
/// convention (and `FAILOVER_BCAST_IPS`) link 0 is the private link and
/// link 1 the public network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u8);

impl LinkId {
    /// The private link between the servers, where the witness also lives.
    pub const PRIVATE: LinkId = LinkId(0);
    /// The public network that carries the service addresses.
    pub const PUBLIC: LinkId = LinkId(1);

    /// The link's position as an index, if it is below [`MAX_LINKS`].
    #[must_use]
    pub const fn index(self) -> Option<usize> {
        if (self.0 as usize) < MAX_LINKS {
            Some(self.0 as usize)
        } else {
            None
        }
    }
}
