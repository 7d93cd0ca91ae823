//! The lab's standard network: a switch namespace with two bridges, the
//! private network (`198.51.100.0/24`) and the public one (`192.0.2.0/24`),
//! and three hosts plugged into them: `primary` and `secondary` on both,
//! `client` on the public one. Pulling a cable is taking the host's switch
//! port down, so the host sees its carrier go, as with a real cable.
//!
//! ```text
//!   primary  priv0 198.51.100.1 ─┐          ┌─ priv0 198.51.100.2  secondary
//!            pub0  192.0.2.1   ─┼─ switch ─┼─ pub0  192.0.2.2
//!   client   pub0  192.0.2.100 ─┘          │
//! ```
//!
//! Used by the daemons' integration tests (host/tests) and the lab's
//! scenarios alike. One scenario names the servers' public interfaces
//! otherwise ([`Topology::with_public_interface`]: a 15-byte name, which
//! leaves no room for the daemons' address label).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::netns::{Netns, Switch};

/// The private network's bridge in the switch.
pub const PRIVATE_BRIDGE: &str = "br-priv";
/// The public network's bridge in the switch.
pub const PUBLIC_BRIDGE: &str = "br-pub";
/// Every host's interface on the private network.
pub const PRIVATE_IF: &str = "priv0";
/// Every host's interface on the public network.
pub const PUBLIC_IF: &str = "pub0";
/// The private network's directed broadcast (heartbeatd's first target).
pub const PRIVATE_BROADCAST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 255);
/// The public network's directed broadcast.
pub const PUBLIC_BROADCAST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 255);
/// The service address the servers hand over.
pub const SERVICE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// The client's address.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
/// The IPv6 service address of the scenarios that add IPv6
/// ([`Topology::add_ipv6`]).
pub const SERVICE6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
/// The client's IPv6 address ([`Topology::add_ipv6`]).
pub const CLIENT_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);
/// The public network's IPv6 prefix length (2001:db8::/64).
pub const PUBLIC_PREFIX6_LEN: u8 = 64;
/// The switch port of the client's cable.
pub const CLIENT_PORT: &str = "client-pub";

/// Every host's interface on `net`.
pub fn interface(net: Net) -> &'static str {
    match net {
        Net::Private => PRIVATE_IF,
        Net::Public => PUBLIC_IF,
    }
}

/// Which network a cable is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// The private (heartbeat) network.
    Private,
    /// The public (service) network.
    Public,
}

/// A server of the lab.
#[derive(Debug)]
pub struct Server {
    /// Its namespace.
    pub ns: Netns,
    /// `primary` or `secondary`: also the prefix of its switch ports.
    pub name: &'static str,
    /// Its address on the private network.
    pub private_ip: Ipv4Addr,
    /// Its own address on the public network.
    pub public_ip: Ipv4Addr,
    /// Its interface on the public network ([`PUBLIC_IF`] unless the lab
    /// was built [`Topology::with_public_interface`]).
    pub public_if: &'static str,
}

impl Server {
    /// The switch port of this server's cable on `net`.
    pub fn port(&self, net: Net) -> String {
        match net {
            Net::Private => format!("{}-priv", self.name),
            Net::Public => format!("{}-pub", self.name),
        }
    }

    /// Its interface on `net`.
    pub fn interface(&self, net: Net) -> &'static str {
        match net {
            Net::Private => PRIVATE_IF,
            Net::Public => self.public_if,
        }
    }

    /// Whether `addr` is on this server's public interface right now.
    pub fn holds(&self, addr: Ipv4Addr) -> io::Result<bool> {
        let out = self
            .ns
            .ip(&["-4", "-o", "addr", "show", "dev", self.public_if])?;
        let needle = format!("inet {addr}/");
        Ok(out.contains(&needle))
    }

    /// Its own IPv6 address on the public network once
    /// [`Topology::add_ipv6`] gave it one: `2001:db8::<n>`, `n` the last
    /// number of its IPv4 address.
    pub fn public_ip6(&self) -> Ipv6Addr {
        let n = u16::from(self.public_ip.octets()[3]);
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n)
    }

    /// The MAC of its public interface.
    pub fn public_mac(&self) -> io::Result<String> {
        self.ns.mac(self.public_if)
    }
}

/// The whole lab network. Dropping it kills everything started in it and
/// deletes every namespace (switch last).
#[derive(Debug)]
pub struct Topology {
    /// The primary server.
    pub primary: Server,
    /// The secondary server.
    pub secondary: Server,
    /// The client, on the public network only.
    pub client: Netns,
    /// The switch (declared last: dropped after the hosts).
    pub switch: Switch,
}

impl Topology {
    /// Builds the network, every cable plugged in.
    pub fn new() -> io::Result<Topology> {
        Topology::with_public_interface(PUBLIC_IF)
    }

    /// Builds the network with the servers' public interfaces called
    /// `public_if` (the client's stays [`PUBLIC_IF`]).
    pub fn with_public_interface(public_if: &'static str) -> io::Result<Topology> {
        let switch = Switch::new()?;
        switch.add_bridge(PRIVATE_BRIDGE)?;
        switch.add_bridge(PUBLIC_BRIDGE)?;
        let server = |name: &'static str, n: u8| -> io::Result<Server> {
            let s = Server {
                ns: Netns::new(name)?,
                name,
                private_ip: Ipv4Addr::new(198, 51, 100, n),
                public_ip: Ipv4Addr::new(192, 0, 2, n),
                public_if,
            };
            switch.connect(PRIVATE_BRIDGE, &s.port(Net::Private), &s.ns, PRIVATE_IF)?;
            switch.connect(PUBLIC_BRIDGE, &s.port(Net::Public), &s.ns, public_if)?;
            s.ns.add_addr(PRIVATE_IF, &format!("{}/24", s.private_ip))?;
            s.ns.add_addr(public_if, &format!("{}/24", s.public_ip))?;
            Ok(s)
        };
        let primary = server("primary", 1)?;
        let secondary = server("secondary", 2)?;
        let client = Netns::new("client")?;
        switch.connect(PUBLIC_BRIDGE, CLIENT_PORT, &client, PUBLIC_IF)?;
        client.add_addr(PUBLIC_IF, &format!("{CLIENT_IP}/24"))?;
        Ok(Topology {
            primary,
            secondary,
            client,
            switch,
        })
    }

    /// Adds IPv6 to the public network, beside IPv4: each server's own
    /// `2001:db8::<n>/64` and the client's [`CLIENT_IP6`], all without
    /// duplicate address detection (usable at once). Heartbeats stay on
    /// IPv4.
    pub fn add_ipv6(&self) -> io::Result<()> {
        for s in [&self.primary, &self.secondary] {
            let cidr = format!("{}/{PUBLIC_PREFIX6_LEN}", s.public_ip6());
            s.ns.add_addr6(s.public_if, &cidr)?;
        }
        self.client
            .add_addr6(PUBLIC_IF, &format!("{CLIENT_IP6}/{PUBLIC_PREFIX6_LEN}"))
    }

    /// Every port of the switch: both cables of each server, and the
    /// client's (where loss is injected on every path).
    pub fn switch_ports(&self) -> Vec<String> {
        vec![
            self.primary.port(Net::Private),
            self.primary.port(Net::Public),
            self.secondary.port(Net::Private),
            self.secondary.port(Net::Public),
            CLIENT_PORT.to_owned(),
        ]
    }

    /// Pulls `server`'s cable on `net`.
    pub fn unplug(&self, server: &Server, net: Net) -> io::Result<()> {
        self.switch.port_down(&server.port(net))
    }

    /// Plugs `server`'s cable on `net` back in.
    pub fn plug(&self, server: &Server, net: Net) -> io::Result<()> {
        self.switch.port_up(&server.port(net))
    }

    /// Deletes `server`'s interface on `net` (the veth pair goes, the
    /// switch port with it): what a driver reload, a rebuilt VLAN or bond,
    /// an `ifdown` of a virtual interface does under a running daemon. The
    /// addresses on it go with it.
    pub fn delete_interface(&self, server: &Server, net: Net) -> io::Result<()> {
        server
            .ns
            .ip(&["link", "del", "dev", server.interface(net)])
            .map(drop)
    }

    /// Creates `server`'s interface on `net` again after
    /// [`Topology::delete_interface`]: the same name, plugged into the same
    /// switch port, with the server's own address; a new index and a new
    /// MAC address, as a re-created interface has.
    pub fn recreate_interface(&self, server: &Server, net: Net) -> io::Result<()> {
        let (bridge, ip) = match net {
            Net::Private => (PRIVATE_BRIDGE, server.private_ip),
            Net::Public => (PUBLIC_BRIDGE, server.public_ip),
        };
        self.switch
            .connect(bridge, &server.port(net), &server.ns, server.interface(net))?;
        server
            .ns
            .add_addr(server.interface(net), &format!("{ip}/24"))
    }

    /// Pulls both of `server`'s cables, private first: what the server sees
    /// when it loses power or its plug is pulled.
    pub fn unplug_both(&self, server: &Server) -> io::Result<()> {
        self.unplug(server, Net::Private)?;
        self.unplug(server, Net::Public)
    }

    /// Plugs both of `server`'s cables back in, private first.
    pub fn plug_both(&self, server: &Server) -> io::Result<()> {
        self.plug(server, Net::Private)?;
        self.plug(server, Net::Public)
    }
}
