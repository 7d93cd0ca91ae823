//! The daemons' options resolved against the live network interfaces: which
//! interface is which link, this host's address on each, where frames to
//! the peers go, and every problem `-n` must report before anything runs.
//!
//! [`crate::config::options`] checks what can be checked without looking at the
//! machine (syntax, ports, the key file's permissions, the core's own
//! rules). This module is the other half: it reads the interfaces and their
//! IPv4 addresses over netlink once ([`crate::netlink::addr::Netlink`]) and checks the
//! options against them. The event loop runs from the [`Plan`] it returns,
//! and `-n` prints its problems and warnings; both see the same facts, so
//! what `-n` accepts is what the daemon does.
//!
//! # Links
//!
//! Link ids follow the core's numbering (`failover_core::LinkId`): link 0 is
//! the private network, the others the public ones.
//!
//! - `failoverd`: link 0 is the interface with a subnet containing
//!   `master_priv_addr`; link *k* ≥ 1 is the *k*-th public interface
//!   ([`FailoverdOptions::public_interfaces`]). Frames to the peers go to the
//!   directed broadcast of this host's subnet on the link (255.255.255.255
//!   when it has none: no address, or a /31 or /32).
//! - `heartbeatd`: link *i* is the interface that target *i* belongs to: a
//!   directed broadcast of one of its subnets, or a host on one; frames go to
//!   the target as given. The trap of a broadcast address written for another
//!   netmask than the interface's (seeds 000 and 001) is a problem, with the
//!   right broadcast address in the message.
//!
//! # Checks
//!
//! Every interface named (by a link or a service address) must exist and be
//! administratively up; no carrier is a warning (a cable can come back).
//! Heartbeat links must be Ethernet. A service address on a subnet its
//! interface already has must have the mask /32 (Apple's rule, failoverd(8)).
//! A service address already configured on this host outside the daemon is a
//! problem for `failoverd` (the secondary must not hold the primary's
//! address) and a warning for `heartbeatd` (the primary may hold its own).
//! `--witness` must be on the private subnet. (The scripts are checked by
//! the daemon's start-up, [`crate::daemon::start::failoverd_checks`]: they
//! are files, not interfaces.)
//!
//! A service interface whose name is too long for the daemon's address
//! label needs a kernel that keeps the address protocol mark (`marks.rs`:
//! the one check here that asks the kernel rather than the interfaces).
//!
//! Addresses that carry the daemon's own mark ([`is_ours`]: its label or
//! its address protocol) are left out when choosing a link's subnet and
//! source address: they are service addresses a previous run added, not the
//! host's own.

use std::net::{IpAddr, Ipv4Addr};

use failover_core::LinkId;

use crate::config::cli::{value_error, ServiceAddress, MSG_INVALID_IFNAME};
use crate::config::options::{FailoverdOptions, HeartbeatdOptions};
use crate::net::probe::ProbeTarget;
use crate::netlink::addr::{is_ours, InterfaceInfo, Ipv4IfAddr, Netlink, ADDR_PROTO};

mod checks;
mod checks6;
mod failoverd;
mod heartbeatd;
mod marks;

use failoverd::plan_failoverd;
use heartbeatd::plan_heartbeatd;

/// One network the daemon beats and listens on: what the event loop needs
/// to open its channel and address its frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPlan {
    /// The link, in the core's numbering (0 = the private network).
    pub link: LinkId,
    /// The kernel name of the interface the link runs on (empty in an
    /// unsound plan when no interface could be found for it).
    pub interface: String,
    /// This host's address on the link's subnet: the source of its frames.
    /// [`Ipv4Addr::UNSPECIFIED`] if it has none (a warning says so).
    pub source: Ipv4Addr,
    /// Where frames addressed to the peers (`Dest::Peers`) go on this link.
    pub peers: Ipv4Addr,
}

impl LinkPlan {
    /// Link `link` on `interface`, from `source` to `peers`.
    pub fn new(link: u8, interface: &str, source: Ipv4Addr, peers: Ipv4Addr) -> LinkPlan {
        LinkPlan {
            link: LinkId(link),
            interface: interface.into(),
            source,
            peers,
        }
    }
}

/// The options resolved against the live interfaces: the links the event
/// loop runs (when sound) and everything `-n` reports.
#[derive(Debug, Clone)]
pub struct Plan {
    /// One entry per link, `links[i].link == LinkId(i)`. In an unsound
    /// plan, links that could not be resolved carry what is known.
    pub links: Vec<LinkPlan>,
    /// Link 0's source: this host's private address, hence its node id
    /// ([`crate::config::options::node_id`]). Unspecified if it could not be found.
    pub local_private: Ipv4Addr,
    /// Every problem found; empty when the configuration is sound. Each
    /// names the option or value at fault and what to do about it.
    pub problems: Vec<String>,
    /// Things worth knowing that do not stop the daemon.
    pub warnings: Vec<String>,
    /// What `--probe` asks on each service interface (empty without it).
    pub probes: Vec<ProbeTarget>,
}

impl Default for Plan {
    /// An empty plan: no links, no problems (`Ipv4Addr` has no `Default`,
    /// so this is written out rather than derived).
    fn default() -> Self {
        Plan {
            links: Vec::new(),
            local_private: Ipv4Addr::UNSPECIFIED,
            problems: Vec::new(),
            warnings: Vec::new(),
            probes: Vec::new(),
        }
    }
}

impl Plan {
    /// Whether the daemon can run from this plan: no problem was found.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, m: String) {
        if !self.problems.contains(&m) {
            self.problems.push(m);
        }
    }

    fn warning(&mut self, m: String) {
        if !self.warnings.contains(&m) {
            self.warnings.push(m);
        }
    }
}

/// Resolves `failoverd`'s options against the interfaces `nl` sees (its
/// network namespace): the secondary's links, and every problem of them
/// `-n` reports.
pub fn failoverd_plan(opts: &FailoverdOptions, nl: &mut Netlink) -> Plan {
    match snapshot(nl) {
        Ok(ifaces) => {
            let mut plan = plan_failoverd(opts, &ifaces);
            let support = || nl.proto_support();
            marks::check_marks(&opts.services, ToString::to_string, support, &mut plan);
            plan
        }
        Err(problem) => {
            let mut p = Plan::default();
            p.problem(problem);
            p
        }
    }
}

/// Resolves `heartbeatd`'s options against the interfaces `nl` sees (its
/// network namespace): the primary's links, and every problem `-n` reports.
pub fn heartbeatd_plan(opts: &HeartbeatdOptions, nl: &mut Netlink) -> Plan {
    match snapshot(nl) {
        Ok(ifaces) => {
            let mut plan = plan_heartbeatd(opts, &ifaces);
            let shown = |s: &ServiceAddress| format!("--service {s}");
            marks::check_marks(&opts.services, shown, || nl.proto_support(), &mut plan);
            plan
        }
        Err(problem) => {
            let mut p = Plan::default();
            p.problem(problem);
            p
        }
    }
}

/// Every interface of the namespace with its IPv4 addresses, read once so
/// that all checks see the same facts.
fn snapshot(nl: &mut Netlink) -> Result<Vec<InterfaceInfo>, String> {
    let links = nl
        .links()
        .map_err(|e| format!("cannot list the network interfaces over netlink: {e}"))?;
    let mut out = Vec::with_capacity(links.len());
    for link in links {
        let addrs = nl.addresses(link.index).map_err(|e| {
            format!(
                "cannot list the addresses of interface {} over netlink: {e}",
                link.name
            )
        })?;
        let addrs6 = nl.addresses_v6(link.index).map_err(|e| {
            format!(
                "cannot list the IPv6 addresses of interface {} over netlink: {e}",
                link.name
            )
        })?;
        out.push(InterfaceInfo {
            link,
            addrs,
            addrs6,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Planning, over interface facts only (no netlink): unit-testable.

/// Whether `a`, on the interface `ifname`, was added by the daemon (carries
/// its label or its protocol).
fn is_daemons(ifname: &str, a: &Ipv4IfAddr) -> bool {
    is_ours(ifname, a)
}

/// The interfaces with only the host's own addresses: those the daemon
/// added (its mark) are left out.
fn own_view(ifaces: &[InterfaceInfo]) -> Vec<InterfaceInfo> {
    ifaces
        .iter()
        .map(|i| InterfaceInfo {
            link: i.link.clone(),
            addrs: i
                .addrs
                .iter()
                .filter(|a| !is_daemons(&i.link.name, a))
                .cloned()
                .collect(),
            addrs6: i
                .addrs6
                .iter()
                .filter(|a| a.proto != ADDR_PROTO)
                .cloned()
                .collect(),
        })
        .collect()
}

fn find<'a>(ifaces: &'a [InterfaceInfo], name: &str) -> Option<&'a InterfaceInfo> {
    ifaces.iter().find(|i| i.link.name == name)
}

/// `198.51.100.0/24`.
fn subnet(a: &Ipv4IfAddr) -> String {
    format!("{}/{}", a.network(), a.prefix_len)
}

/// Where frames to the peers go on the subnet of `a`: its directed
/// broadcast, or the limited broadcast for a /31 or /32.
fn peers_of(a: &Ipv4IfAddr) -> Ipv4Addr {
    a.directed_broadcast().unwrap_or(Ipv4Addr::BROADCAST)
}

/// The interface names, for "no such interface" messages.
fn interface_names(ifaces: &[InterfaceInfo]) -> String {
    if ifaces.is_empty() {
        return "none".into();
    }
    ifaces
        .iter()
        .map(|i| i.link.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The host's networks, for messages that ask for one of them:
/// `a0 198.51.100.2/24 (broadcast 198.51.100.255), a1 192.0.2.2/24 (...)`.
fn networks(ifaces: &[InterfaceInfo]) -> String {
    let mut parts = Vec::new();
    for i in ifaces {
        for a in i.addrs.iter().filter(|a| !a.addr.is_loopback()) {
            let mut s = format!("{} {}/{}", i.link.name, a.addr, a.prefix_len);
            if let Some(b) = a.directed_broadcast() {
                s.push_str(&format!(" (broadcast {b})"));
            }
            parts.push(s);
        }
    }
    if parts.is_empty() {
        "this host has no IPv4 network besides loopback".into()
    } else {
        format!("this host's networks: {}", parts.join(", "))
    }
}

/// The Apple-style message for an interface that does not exist.
fn missing_interface(name: &str, context: &str, ifaces: &[InterfaceInfo]) -> String {
    value_error(
        MSG_INVALID_IFNAME,
        name,
        context,
        Some(&format!(
            "no such interface on this host (it has: {}); check the name with `ip link`",
            interface_names(ifaces)
        )),
    )
}

/// What an interface is used for, collected so that each interface is
/// checked (and reported) once.
#[derive(Debug, Default)]
struct Uses {
    /// (name, roles, carries a heartbeat link)
    entries: Vec<(String, Vec<String>, bool)>,
}

impl Uses {
    fn add(&mut self, name: &str, role: String, link: bool) {
        match self.entries.iter_mut().find(|(n, _, _)| n == name) {
            Some((_, roles, l)) => {
                if !roles.contains(&role) {
                    roles.push(role);
                }
                *l |= link;
            }
            None => self.entries.push((name.to_owned(), vec![role], link)),
        }
    }
}

/// Checks that each used interface exists, is up and (for heartbeat links)
/// is Ethernet.
fn check_interfaces(uses: &Uses, ifaces: &[InterfaceInfo], plan: &mut Plan) {
    for (name, roles, link) in &uses.entries {
        let roles = roles.join("; ");
        match find(ifaces, name) {
            None => plan.problem(missing_interface(name, &roles, ifaces)),
            Some(i) => check_state(i, &roles, *link, plan),
        }
    }
}

/// Up, carrier and link type of one interface used as `roles`.
fn check_state(i: &InterfaceInfo, roles: &str, link: bool, plan: &mut Plan) {
    let name = &i.link.name;
    if !i.link.up {
        plan.problem(format!(
            "interface {name} ({roles}) is down: bring it up with `ip link set dev {name} up`"
        ));
    } else if !i.link.lower_up {
        plan.warning(format!(
            "interface {name} ({roles}) is up but has no carrier (cable unplugged, or the other \
             end of the link is down): nothing passes on it until the carrier returns"
        ));
    }
    let ethernet = i.link.ethernet && i.link.mac.is_some();
    if !ethernet {
        if link {
            plan.problem(format!(
                "interface {name} ({roles}) is not an Ethernet interface with a MAC address: \
                 heartbeats travel as raw Ethernet frames; use the Ethernet interface of that \
                 network"
            ));
        } else {
            plan.warning(format!(
                "interface {name} ({roles}) is not an Ethernet interface with a MAC address: the \
                 address can be added there but not announced with gratuitous ARP"
            ));
        }
    }
}

/// Link 0 of `failoverd`: the interface and own address whose subnet holds
/// `master`.
fn private_link(
    master: Ipv4Addr,
    own: &[InterfaceInfo],
) -> Result<(&InterfaceInfo, &Ipv4IfAddr), String> {
    for i in own {
        if let Some(a) = i.addrs.iter().find(|a| a.addr == master) {
            return Err(format!(
                "master_priv_addr {master} is this host's own address (on {}, {}/{}): failoverd \
                 runs on the secondary and watches the primary; give the primary's private \
                 address",
                i.link.name, a.addr, a.prefix_len
            ));
        }
    }
    own.iter()
        .find_map(|i| i.subnet_containing(master).map(|a| (i, a)))
        .ok_or_else(|| {
            format!(
                "no interface is on master_priv_addr {master}'s subnet: failoverd hears the \
                 primary on the private network, so this host needs an address there; add one to \
                 the private interface (`ip addr add ADDR/LEN dev IFACE`) or correct \
                 master_priv_addr ({})",
                networks(own)
            )
        })
}

/// This host's address on a public interface: an own address, not a
/// service address, preferring one whose subnet holds a service address of
/// the interface.
fn public_source<'a>(i: &'a InterfaceInfo, services: &[&ServiceAddress]) -> Option<&'a Ipv4IfAddr> {
    let candidates = || {
        i.addrs
            .iter()
            .filter(|a| !services.iter().any(|s| s.addr == IpAddr::V4(a.addr)))
    };
    candidates()
        .find(|a| {
            services.iter().any(|s| match s.addr {
                IpAddr::V4(addr) => a.contains(addr),
                IpAddr::V6(_) => false,
            })
        })
        .or_else(|| candidates().next())
}

#[cfg(test)]
mod tests;
