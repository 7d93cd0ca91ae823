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
//! Addresses that carry the daemon's own label ([`daemon_label`]) are left
//! out when choosing a link's subnet and source address: they are service
//! addresses a previous run added, not the host's own.

use std::net::Ipv4Addr;

use failover_core::LinkId;

use crate::config::cli::{value_error, ServiceAddress, MSG_INVALID_IFNAME};
use crate::config::options::{FailoverdOptions, HeartbeatdOptions};
use crate::net::probe::ProbeTarget;
use crate::netlink::addr::{daemon_label, InterfaceInfo, Ipv4IfAddr, Netlink, TargetKind};

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
        Ok(ifaces) => plan_failoverd(opts, &ifaces),
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
        Ok(ifaces) => plan_heartbeatd(opts, &ifaces),
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
        out.push(InterfaceInfo { link, addrs });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Planning, over interface facts only (no netlink): unit-testable.

/// Whether `a`, on the interface `ifname`, was added by the daemon (carries
/// its label).
fn is_daemons(ifname: &str, a: &Ipv4IfAddr) -> bool {
    daemon_label(ifname).is_ok_and(|l| a.label == l)
}

/// The interfaces with only the host's own addresses: those the daemon
/// added (its label) are left out.
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
            .filter(|a| !services.iter().any(|s| s.addr == a.addr))
    };
    candidates()
        .find(|a| services.iter().any(|s| a.contains(s.addr)))
        .or_else(|| candidates().next())
}

/// The resolution of `failoverd`'s options over the interfaces `ifaces`
/// (everything but the scripts, which are files).
fn plan_failoverd(opts: &FailoverdOptions, ifaces: &[InterfaceInfo]) -> Plan {
    let own = own_view(ifaces);
    let mut plan = Plan::default();
    let mut uses = Uses::default();

    // Link 0.
    let mut private = None;
    match private_link(opts.master, &own) {
        Ok((i, a)) => {
            uses.add(
                &i.link.name,
                format!(
                    "link 0, the private network to master_priv_addr {}",
                    opts.master
                ),
                true,
            );
            if Some(opts.master) == a.directed_broadcast() {
                plan.problem(format!(
                    "master_priv_addr {} is the broadcast address of {} ({}): give the \
                     primary's own private address",
                    opts.master,
                    subnet(a),
                    i.link.name
                ));
            }
            plan.links.push(LinkPlan {
                link: LinkId(0),
                interface: i.link.name.clone(),
                source: a.addr,
                peers: peers_of(a),
            });
            if a.directed_broadcast().is_none() {
                plan.warning(format!(
                    "the private network {} on {} (a /{}) has no broadcast address: frames to \
                     the peers go to 255.255.255.255",
                    subnet(a),
                    i.link.name,
                    a.prefix_len
                ));
            }
            plan.local_private = a.addr;
            private = Some((i.link.name.clone(), a.clone()));
        }
        Err(m) => {
            plan.problem(m);
            plan.links.push(LinkPlan {
                link: LinkId(0),
                interface: String::new(),
                source: Ipv4Addr::UNSPECIFIED,
                peers: Ipv4Addr::BROADCAST,
            });
        }
    }

    // Links 1...: the public interfaces.
    for (k, name) in opts.public_interfaces().into_iter().enumerate() {
        let id = k.saturating_add(1);
        let link = LinkId(u8::try_from(id).unwrap_or(u8::MAX));
        let name = name.as_str();
        let services: Vec<&ServiceAddress> = opts
            .services
            .iter()
            .filter(|s| s.interface.as_str() == name)
            .collect();
        let pairs = services
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        uses.add(name, format!("link {id}, public, for {pairs}"), true);
        let mut lp = LinkPlan {
            link,
            interface: name.to_owned(),
            source: Ipv4Addr::UNSPECIFIED,
            peers: Ipv4Addr::BROADCAST,
        };
        if let Some(i) = find(&own, name) {
            match public_source(i, &services) {
                Some(a) => {
                    lp.source = a.addr;
                    lp.peers = peers_of(a);
                }
                None => plan.warning(format!(
                    "public interface {name} (link {id}) has no IPv4 address of its own: \
                     heartbeats are still heard there, but this host's frames on it go from \
                     0.0.0.0 to 255.255.255.255; give it an address on the public subnet (both \
                     servers need one, Apple's rule)"
                )),
            }
        }
        if private.as_ref().is_some_and(|(p, _)| p == name) {
            plan.warning(format!(
                "interface {name} carries both the private network (link 0) and public \
                 addresses (link {id}): the two heartbeat networks are one, so losing it looks \
                 like the primary's death; use a separate private link"
            ));
        }
        plan.links.push(lp);
    }

    check_interfaces(&uses, ifaces, &mut plan);

    for s in &opts.services {
        let name = s.to_string();
        check_service(s, &name, "failoverd", ifaces, &own, true, &mut plan);
    }

    check_witness(opts.common.witness, private.as_ref(), &mut plan);
    check_probe(opts.common.probe, &opts.services, &own, &mut plan);
    plan
}

/// Where a heartbeat target leads, the best match over all interfaces.
#[derive(Debug)]
enum Located<'a> {
    /// 255.255.255.255.
    Limited,
    /// A directed broadcast of (`broadcast`) or a host on this subnet.
    On {
        iface: &'a InterfaceInfo,
        addr: Ipv4IfAddr,
        broadcast: bool,
    },
    /// A broadcast address for another mask than the interface's.
    Mismatch {
        iface: &'a InterfaceInfo,
        addr: Ipv4IfAddr,
        implied_prefix: u8,
    },
    /// On none of the host's subnets.
    OffLink,
}

/// Classifies `target` against every interface: a subnet broadcast wins
/// over a host on a subnet, which wins over a mismatched broadcast.
fn locate_target(target: Ipv4Addr, own: &[InterfaceInfo]) -> Located<'_> {
    if target == Ipv4Addr::BROADCAST {
        return Located::Limited;
    }
    let mut best = Located::OffLink;
    let rank = |l: &Located<'_>| match l {
        Located::On {
            broadcast: true, ..
        } => 3,
        Located::On { .. } => 2,
        Located::Mismatch { .. } => 1,
        Located::Limited | Located::OffLink => 0,
    };
    for iface in own {
        let l = match iface.classify_target(target) {
            TargetKind::SubnetBroadcast(addr) => Located::On {
                iface,
                addr,
                broadcast: true,
            },
            TargetKind::OnLinkUnicast(addr) => Located::On {
                iface,
                addr,
                broadcast: false,
            },
            TargetKind::MismatchedBroadcast {
                addr,
                implied_prefix,
            } => Located::Mismatch {
                iface,
                addr,
                implied_prefix,
            },
            TargetKind::LimitedBroadcast => Located::Limited,
            TargetKind::OffLink => Located::OffLink,
        };
        if rank(&l) > rank(&best) {
            best = l;
        }
    }
    best
}

/// The message for a target written for another netmask: the seed's trap.
fn mismatch_message(
    what: &str,
    iface: &InterfaceInfo,
    a: &Ipv4IfAddr,
    implied_prefix: u8,
) -> String {
    let name = &iface.link.name;
    let right = match a.directed_broadcast() {
        Some(b) => format!("give {b}, the broadcast address of {name}'s subnet"),
        None => format!(
            "that subnet (a /{}) has no broadcast address: give the other server's address",
            a.prefix_len
        ),
    };
    format!(
        "{what} is the broadcast address of a /{implied_prefix} (netmask {}), but {name}'s \
         address {} has netmask {} (/{}, subnet {}): the netmask and the broadcast address do \
         not match, so heartbeats sent there are not broadcast on that network and the other \
         server never hears them; {right}, or, if the network really is a /{implied_prefix}, set \
         {name}'s netmask to {}",
        crate::netlink::addr::netmask(implied_prefix),
        a.addr,
        a.netmask(),
        a.prefix_len,
        subnet(a),
        crate::netlink::addr::netmask(implied_prefix),
    )
}

/// The resolution of `heartbeatd`'s options over the interfaces `ifaces`.
fn plan_heartbeatd(opts: &HeartbeatdOptions, ifaces: &[InterfaceInfo]) -> Plan {
    let own = own_view(ifaces);
    let mut plan = Plan::default();
    let mut uses = Uses::default();
    let mut private = None;

    if opts.targets.is_empty() {
        plan.problem(
            "no heartbeat target: give the broadcast addresses, private network first (ip_addr \
             or FAILOVER_BCAST_IPS)"
                .into(),
        );
    }
    for (i, &target) in opts.targets.iter().enumerate() {
        let link = LinkId(u8::try_from(i).unwrap_or(u8::MAX));
        let network = if i == 0 {
            "the private network"
        } else {
            "a public network"
        };
        let what = format!(
            "ip_addr {target} (target {}, {network})",
            i.saturating_add(1)
        );
        let mut lp = LinkPlan {
            link,
            interface: String::new(),
            source: Ipv4Addr::UNSPECIFIED,
            peers: target,
        };
        match locate_target(target, &own) {
            Located::Limited => plan.problem(format!(
                "{what} is the limited broadcast 255.255.255.255: it names no network, so \
                 heartbeatd cannot tell which interface to send it on; give the directed \
                 broadcast address of the network instead ({})",
                networks(&own)
            )),
            Located::On {
                iface,
                addr,
                broadcast,
            } => {
                if !broadcast && own.iter().any(|i| i.addrs.iter().any(|a| a.addr == target)) {
                    plan.problem(format!(
                        "{what} is this host's own address (on {}): give the network's \
                         broadcast address ({}) or the secondary's address",
                        iface.link.name,
                        peers_of(&addr)
                    ));
                }
                lp.interface = iface.link.name.clone();
                lp.source = addr.addr;
                uses.add(
                    &iface.link.name,
                    format!("link {i}, for ip_addr {target}"),
                    true,
                );
                if i == 0 {
                    plan.local_private = addr.addr;
                    private = Some((iface.link.name.clone(), addr.clone()));
                }
            }
            Located::Mismatch {
                iface,
                addr,
                implied_prefix,
            } => {
                plan.problem(mismatch_message(&what, iface, &addr, implied_prefix));
                lp.interface = iface.link.name.clone();
            }
            Located::OffLink => plan.problem(format!(
                "{what} is on none of this host's networks, so heartbeats to it would leave by \
                 a route, not on the network to watch; give the broadcast address of that \
                 network ({})",
                networks(&own)
            )),
        }
        if !lp.interface.is_empty() {
            if let Some(other) = plan.links.iter().find(|o| o.interface == lp.interface) {
                plan.warning(format!(
                    "ip_addr {} and {target} (links {} and {i}) are both on {}: the two \
                     heartbeat networks are one, so losing it looks like the primary's death to \
                     the secondary; give one broadcast address per network, private first",
                    other.peers, other.link.0, lp.interface
                ));
            }
        }
        plan.links.push(lp);
    }

    for s in &opts.services {
        uses.add(s.interface.as_str(), format!("for --service {s}"), false);
    }
    check_interfaces(&uses, ifaces, &mut plan);

    for s in &opts.services {
        let name = format!("--service {s}");
        check_service(s, &name, "heartbeatd", ifaces, &own, false, &mut plan);
    }

    check_witness(opts.common.witness, private.as_ref(), &mut plan);
    check_probe(opts.common.probe, &opts.services, &own, &mut plan);
    plan
}

/// Checks one service address `s` (shown as `shown`): its interface can
/// carry the daemon's label, Apple's /32 rule, a mask that makes it a host
/// address, and whether the host already has it. `strict` (`failoverd`): an
/// address already present outside the daemon is a problem, not a warning.
fn check_service(
    s: &ServiceAddress,
    shown: &str,
    daemon: &str,
    ifaces: &[InterfaceInfo],
    own: &[InterfaceInfo],
    strict: bool,
    plan: &mut Plan,
) {
    let ifname = s.interface.as_str();
    if let Err(e) = daemon_label(ifname) {
        plan.problem(format!("{shown}: {e}"));
    }
    check_mask(s, shown, find(own, ifname), plan);
    check_present(s, shown, daemon, ifaces, strict, plan);
}

/// Apple's /32 rule, and a mask that leaves the address a host address.
fn check_mask(s: &ServiceAddress, shown: &str, own: Option<&InterfaceInfo>, plan: &mut Plan) {
    let prefix = s.prefix_len();
    let addr = s.addr;
    let ifname = s.interface.as_str();
    if prefix <= 30 {
        let probe = Ipv4IfAddr {
            ifindex: 0,
            addr,
            prefix_len: prefix,
            broadcast: None,
            label: String::new(),
            secondary: false,
        };
        let kind = if addr == probe.network() {
            Some("network")
        } else if Some(addr) == probe.directed_broadcast() {
            Some("broadcast")
        } else {
            None
        };
        if let Some(kind) = kind {
            plan.problem(format!(
                "{shown}: {addr} is the {kind} address of {}, not a host address: check the \
                 address and its mask",
                subnet(&probe)
            ));
        }
    }
    let Some(i) = own else {
        return; // a missing interface is reported on its own
    };
    let others = || i.addrs.iter().filter(|a| a.addr != addr);
    match others().find(|a| a.contains(addr)) {
        Some(a) if prefix != 32 => plan.problem(format!(
            "{shown}: {addr} lies in {}, a subnet {ifname} already has (its address {}/{}), so \
             the alias must have the mask /32 (Apple's rule, as for ifconfig(8) aliases: with \
             /{prefix} it becomes a secondary address of that subnet, which the kernel deletes \
             along with the subnet's primary address); write {ifname}:{addr}/32 or \
             {ifname}:{addr}",
            subnet(a),
            a.addr,
            a.prefix_len
        )),
        Some(_) => {}
        None => {
            let subnets = others().map(subnet).collect::<Vec<_>>();
            let has = if subnets.is_empty() {
                "it has no IPv4 address".to_owned()
            } else {
                format!("it has {}", subnets.join(", "))
            };
            let mask = if s.prefix.is_none() {
                format!(
                    " and with no mask it is added as a /32: give its network's mask \
                     ({ifname}:{addr}/24, say) unless it is routed to this host;"
                )
            } else {
                String::new()
            };
            plan.warning(format!(
                "{shown}: {addr} is on none of {ifname}'s subnets ({has}):{mask} both servers \
                 need an address of their own on the public subnet, since heartbeats are \
                 broadcasts (Apple's rule); if {addr} is unreachable after a takeover, check \
                 the mask"
            ));
        }
    }
}

/// Whether the host already has the service address.
fn check_present(
    s: &ServiceAddress,
    shown: &str,
    daemon: &str,
    ifaces: &[InterfaceInfo],
    strict: bool,
    plan: &mut Plan,
) {
    let addr = s.addr;
    for i in ifaces {
        let name = &i.link.name;
        for a in i.addrs.iter().filter(|a| a.addr == addr) {
            let cidr = format!("{}/{}", a.addr, a.prefix_len);
            if is_daemons(name, a) {
                if name != s.interface.as_str() {
                    plan.warning(format!(
                        "{shown}: {cidr} is on {name} with the daemon's label {}, left from an \
                         earlier configuration: remove it with `ip addr del {cidr} dev {name}`",
                        a.label
                    ));
                }
            } else if strict {
                plan.problem(format!(
                    "{shown}: {addr} is already configured on {name} ({cidr}), not by {daemon}: \
                     the secondary must not hold the primary's public address while the \
                     primary is up, and {daemon} never removes an address it did not add; \
                     remove it with `ip addr del {cidr} dev {name}` and let {daemon} add it on \
                     takeover"
                ));
            } else {
                plan.warning(format!(
                    "{shown}: {addr} is already configured on {name} ({cidr}), not by {daemon}: \
                     it is kept as it is, and {daemon} never removes an address it did not add, \
                     so it cannot hand it over; to let {daemon} manage it, remove it with `ip \
                     addr del {cidr} dev {name}` before starting"
                ));
            }
        }
    }
}

/// `--witness` must be a third machine on the private subnet.
/// Resolves `--probe`: the target is asked on every interface that carries
/// a service address, so it must be a host on a network each of them has
/// (the gateway of the service network, typically). The requests' sender
/// is this host's own address on that network, not a service address (which
/// moves between the servers).
fn check_probe(
    probe: Option<Ipv4Addr>,
    services: &[ServiceAddress],
    own: &[InterfaceInfo],
    plan: &mut Plan,
) {
    let Some(target) = probe else { return };
    if services.is_empty() {
        plan.problem(format!(
            "--probe {target} needs --service addresses: it tells whether clients can reach \
             this server on the interfaces that carry them"
        ));
        return;
    }
    if services.iter().any(|s| s.addr == target) {
        plan.problem(format!(
            "--probe {target} is a service address: it moves between the servers; give a host \
             that stays put, such as the gateway"
        ));
        return;
    }
    let mut names: Vec<&str> = services.iter().map(|s| s.interface.as_str()).collect();
    names.dedup();
    for name in names {
        if plan.probes.iter().any(|p| p.interface == name) {
            continue;
        }
        let Some(i) = find(own, name) else {
            continue; // a missing interface is reported already
        };
        let mine = i
            .addrs
            .iter()
            .filter(|a| !services.iter().any(|s| s.addr == a.addr));
        let on = mine.clone().find(|a| a.contains(target));
        let source = match on {
            Some(a) if a.addr == target => {
                plan.problem(format!(
                    "--probe {target} is this host's own address on {name}: give a host that \
                     clients' traffic passes, such as the gateway of {}",
                    subnet(a)
                ));
                continue;
            }
            Some(a) if target == a.network() || Some(target) == a.directed_broadcast() => {
                plan.problem(format!(
                    "--probe {target} is not a host address of {} on {name}: give one host, \
                     such as the gateway",
                    subnet(a)
                ));
                continue;
            }
            Some(a) => a.addr,
            None => {
                let nets: Vec<String> = mine.map(subnet).collect();
                plan.warning(format!(
                    "--probe {target} is on none of {name}'s networks ({}): it is asked from \
                     0.0.0.0 and must answer on {name} itself; give a host on that network",
                    if nets.is_empty() {
                        "it has no address of its own".to_owned()
                    } else {
                        nets.join(", ")
                    }
                ));
                Ipv4Addr::UNSPECIFIED
            }
        };
        plan.probes.push(ProbeTarget {
            interface: name.to_owned(),
            source,
            target,
        });
    }
}

fn check_witness(
    witness: Option<Ipv4Addr>,
    private: Option<&(String, Ipv4IfAddr)>,
    plan: &mut Plan,
) {
    let (Some(w), Some((ifname, a))) = (witness, private) else {
        return; // no witness, or no private link (reported already)
    };
    if !a.contains(w) {
        plan.problem(format!(
            "--witness {w} is not on the private network {} (link 0, on {ifname}): the witness \
             sits on the private link and is heard only there; give its address on {}",
            subnet(a),
            subnet(a)
        ));
    } else if w == a.addr {
        plan.problem(format!(
            "--witness {w} is this host's own address on {ifname}: the witness must be a third \
             machine; give its address"
        ));
    } else if Some(w) == a.directed_broadcast() || w == a.network() {
        plan.problem(format!(
            "--witness {w} is not a host address of the private network {}: give the \
             witness's own address",
            subnet(a)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cli::{parse_failoverd_args, parse_heartbeatd_args, Invocation};
    use crate::config::hostconfig::HostConfig;
    use crate::netlink::addr::{directed_broadcast, LinkInfo};
    use pnet_datalink::MacAddr;
    use std::path::Path;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn iface(index: u32, name: &str, addrs: &[(&str, u8)]) -> InterfaceInfo {
        InterfaceInfo {
            link: LinkInfo {
                name: name.into(),
                index,
                ethernet: true,
                mac: Some(MacAddr(2, 0, 0, 0, 0, index as u8)),
                up: true,
                lower_up: true,
                mtu: Some(1500),
            },
            addrs: addrs
                .iter()
                .map(|&(a, p)| Ipv4IfAddr {
                    ifindex: index,
                    addr: ip(a),
                    prefix_len: p,
                    broadcast: directed_broadcast(ip(a), p),
                    label: name.into(),
                    secondary: false,
                })
                .collect(),
        }
    }

    fn lo() -> InterfaceInfo {
        let mut l = iface(1, "lo", &[("127.0.0.1", 8)]);
        l.link.ethernet = false;
        l.link.mac = None;
        l
    }

    /// The secondary: private a0, public a1.
    fn secondary_host() -> Vec<InterfaceInfo> {
        vec![
            lo(),
            iface(2, "a0", &[("198.51.100.2", 24)]),
            iface(3, "a1", &[("192.0.2.2", 24)]),
        ]
    }

    /// The primary: private b0, public b1.
    fn primary_host() -> Vec<InterfaceInfo> {
        vec![
            lo(),
            iface(2, "b0", &[("198.51.100.1", 24)]),
            iface(3, "b1", &[("192.0.2.1", 24)]),
        ]
    }

    fn fopts(args: &[&str]) -> FailoverdOptions {
        let a = match parse_failoverd_args(std::iter::once("failoverd").chain(args.iter().copied()))
        {
            Ok(Invocation::Run(a)) => a,
            other => panic!("{args:?}: {other:?}"),
        };
        FailoverdOptions::resolve(&a, &HostConfig::absent(Path::new("/nonexistent")))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn hopts(args: &[&str]) -> HeartbeatdOptions {
        let a = match parse_heartbeatd_args(
            std::iter::once("heartbeatd").chain(args.iter().copied()),
        ) {
            Ok(Invocation::Run(a)) => a,
            other => panic!("{args:?}: {other:?}"),
        };
        HeartbeatdOptions::resolve(&a, &HostConfig::absent(Path::new("/nonexistent")))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn one_problem(plan: &Plan) -> &str {
        assert_eq!(plan.problems.len(), 1, "{:#?}", plan.problems);
        &plan.problems[0]
    }

    #[test]
    fn failoverd_sound() {
        let o = fopts(&[
            "--witness",
            "198.51.100.3",
            "198.51.100.1",
            "a1:192.0.2.10",
            "a1:192.0.2.11/32",
        ]);
        let p = plan_failoverd(&o, &secondary_host());
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
        assert_eq!(
            p.links,
            [
                LinkPlan {
                    link: LinkId(0),
                    interface: "a0".into(),
                    source: ip("198.51.100.2"),
                    peers: ip("198.51.100.255"),
                },
                LinkPlan {
                    link: LinkId(1),
                    interface: "a1".into(),
                    source: ip("192.0.2.2"),
                    peers: ip("192.0.2.255"),
                }
            ]
        );
        assert_eq!(p.local_private, ip("198.51.100.2"));
    }

    #[test]
    fn the_probe_is_asked_from_this_hosts_own_address_on_each_service_interface() {
        let o = fopts(&["--probe", "192.0.2.254", "198.51.100.1", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert_eq!(
            p.probes,
            [ProbeTarget {
                interface: "a1".into(),
                source: ip("192.0.2.2"),
                target: ip("192.0.2.254"),
            }]
        );
        // Off the service network: asked from 0.0.0.0, with a warning.
        let o = fopts(&["--probe", "203.0.113.1", "198.51.100.1", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert_eq!(p.probes[0].source, Ipv4Addr::UNSPECIFIED);
        assert!(
            p.warnings
                .iter()
                .any(|w| w
                    .contains("--probe 203.0.113.1 is on none of a1's networks (192.0.2.0/24)")),
            "{:#?}",
            p.warnings
        );
    }

    #[test]
    fn a_probe_that_cannot_work_is_a_problem() {
        let bad = [
            ("192.0.2.2", "this host's own address on a1"),
            ("192.0.2.255", "not a host address of 192.0.2.0/24"),
            ("192.0.2.10", "is a service address"),
        ];
        for (target, why) in bad {
            let o = fopts(&["--probe", target, "198.51.100.1", "a1:192.0.2.10"]);
            let p = plan_failoverd(&o, &secondary_host());
            assert!(one_problem(&p).contains(why), "{target}: {:?}", p.problems);
        }
        let o = hopts(&["--probe", "192.0.2.254", "198.51.100.255", "192.0.2.255"]);
        let p = plan_heartbeatd(&o, &primary_host());
        assert!(
            one_problem(&p).contains("--probe 192.0.2.254 needs --service addresses"),
            "{:?}",
            p.problems
        );
    }

    #[test]
    fn failoverd_master_off_every_subnet() {
        let o = fopts(&["203.0.113.1", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &secondary_host());
        let m = one_problem(&p);
        assert!(
            m.starts_with("no interface is on master_priv_addr 203.0.113.1's subnet"),
            "{m}"
        );
        assert!(m.contains("a0 198.51.100.2/24"), "{m}");
        assert_eq!(p.links.len(), 2);
        assert_eq!(p.links[0].source, Ipv4Addr::UNSPECIFIED);
        assert_eq!(p.local_private, Ipv4Addr::UNSPECIFIED);
        // Its own address as master.
        let o = fopts(&["198.51.100.2", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert!(one_problem(&p).contains("this host's own address"), "{p:?}");
        // The subnet's broadcast address.
        let o = fopts(&["198.51.100.255", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert!(one_problem(&p).contains("broadcast address of 198.51.100.0/24"));
    }

    #[test]
    fn failoverd_public_interface_without_address() {
        let mut host = secondary_host();
        host[2].addrs.clear();
        let o = fopts(&["198.51.100.1", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &host);
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert_eq!(p.links[1].source, Ipv4Addr::UNSPECIFIED);
        assert_eq!(p.links[1].peers, Ipv4Addr::BROADCAST);
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("a1 (link 1) has no IPv4 address")),
            "{:#?}",
            p.warnings
        );
    }

    #[test]
    fn labelled_addresses_are_not_the_hosts_own() {
        // A previous run's service address on a1 (labelled) with the public
        // address; and a leftover labelled address on a0.
        let mut host = secondary_host();
        let mut svc = host[2].addrs[0].clone();
        svc.addr = ip("192.0.2.10");
        svc.prefix_len = 32;
        svc.label = "a1:fo".into();
        host[2].addrs.insert(0, svc);
        let o = fopts(&["198.51.100.1", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &host);
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert_eq!(p.links[1].source, ip("192.0.2.2"));
        // Without its label, it is the administrator's: a problem.
        host[2].addrs[0].label = "a1".into();
        let p = plan_failoverd(&o, &host);
        let m = one_problem(&p);
        assert!(
            m.contains("already configured on a1 (192.0.2.10/32)"),
            "{m}"
        );
        // On another interface with the label: a leftover, a warning.
        let mut host = secondary_host();
        let mut svc = host[1].addrs[0].clone();
        svc.addr = ip("192.0.2.10");
        svc.prefix_len = 32;
        svc.label = "a0:fo".into();
        host[1].addrs.push(svc);
        let p = plan_failoverd(&o, &host);
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert!(p
            .warnings
            .iter()
            .any(|w| w.contains("left from an earlier")));
    }

    #[test]
    fn the_32_rule() {
        let o = fopts(&["198.51.100.1", "a1:192.0.2.10/24"]);
        let p = plan_failoverd(&o, &secondary_host());
        let m = one_problem(&p);
        assert!(
            m.starts_with("a1:192.0.2.10/24: 192.0.2.10 lies in 192.0.2.0/24"),
            "{m}"
        );
        assert!(m.contains("must have the mask /32"), "{m}");
        assert!(m.contains("a1:192.0.2.10/32"), "{m}");
        // Off the interface's subnets with a mask: allowed, with a warning.
        let o = fopts(&["198.51.100.1", "a1:203.0.113.10/24"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert!(p.warnings[0].contains("on none of a1's subnets (it has 192.0.2.0/24)"));
        // Without a mask, the warning asks for one.
        let o = fopts(&["198.51.100.1", "a1:203.0.113.10"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert!(p.warnings[0].contains("with no mask"), "{:?}", p.warnings);
        // A network or broadcast address for its own mask.
        let o = fopts(&["198.51.100.1", "a1:203.0.113.255/24"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert!(one_problem(&p).contains("is the broadcast address of 203.0.113.0/24"));
    }

    #[test]
    fn interface_state() {
        let mut host = secondary_host();
        host[2].link.up = false;
        host[2].link.lower_up = false;
        host[1].link.lower_up = false;
        let o = fopts(&["198.51.100.1", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &host);
        let m = one_problem(&p);
        assert_eq!(
            m,
            "interface a1 (link 1, public, for a1:192.0.2.10) is down: bring it up with `ip link \
             set dev a1 up`"
        );
        assert_eq!(p.warnings.len(), 1, "{:#?}", p.warnings);
        assert!(p.warnings[0].starts_with("interface a0 (link 0, the private network"));
        assert!(p.warnings[0].contains("no carrier"));
        // Not Ethernet (a tun-like link).
        let mut host = secondary_host();
        host[2].link.ethernet = false;
        let o = fopts(&["198.51.100.1", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &host);
        assert!(one_problem(&p).contains("not an Ethernet interface"));
    }

    #[test]
    fn missing_interface_is_named() {
        let o = fopts(&["198.51.100.1", "a9:192.0.2.10", "a9:192.0.2.11"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert_eq!(
            one_problem(&p),
            "CNode: invalid interface name: a9 (link 1, public, for a9:192.0.2.10, \
             a9:192.0.2.11): no such interface on this host (it has: lo, a0, a1); check the name \
             with `ip link`"
        );
        assert_eq!(p.links[1].interface, "a9");
        let h = hopts(&["--service", "b9:192.0.2.10", "198.51.100.255"]);
        let p = plan_heartbeatd(&h, &primary_host());
        assert!(one_problem(&p).starts_with(
            "CNode: invalid interface name: b9 (for --service b9:192.0.2.10): no such interface"
        ));
    }

    #[test]
    fn long_interface_names_cannot_be_labelled() {
        let mut host = secondary_host();
        host[2].link.name = "abcdefghijklmn".into();
        let o = fopts(&["198.51.100.1", "abcdefghijklmn:192.0.2.10"]);
        let p = plan_failoverd(&o, &host);
        assert!(one_problem(&p).contains("at most 13 bytes"), "{p:?}");
    }

    #[test]
    fn witness_on_the_private_subnet() {
        let o = fopts(&["--witness", "203.0.113.5", "198.51.100.1", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert_eq!(
            one_problem(&p),
            "--witness 203.0.113.5 is not on the private network 198.51.100.0/24 (link 0, on \
             a0): the witness sits on the private link and is heard only there; give its \
             address on 198.51.100.0/24"
        );
        let o = fopts(&["--witness", "198.51.100.2", "198.51.100.1", "a1:192.0.2.10"]);
        let p = plan_failoverd(&o, &secondary_host());
        assert!(one_problem(&p).contains("this host's own address"));
        let h = hopts(&["--witness", "192.0.2.5", "198.51.100.255", "192.0.2.255"]);
        let p = plan_heartbeatd(&h, &primary_host());
        assert!(one_problem(&p).contains("not on the private network 198.51.100.0/24"));
    }

    #[test]
    fn shared_private_and_public_interface_is_a_warning() {
        let host = vec![iface(2, "a0", &[("198.51.100.2", 24), ("192.0.2.2", 24)])];
        let o = fopts(&["198.51.100.1", "a0:192.0.2.10"]);
        let p = plan_failoverd(&o, &host);
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert_eq!(p.links[1].source, ip("192.0.2.2"));
        assert_eq!(p.links[1].peers, ip("192.0.2.255"));
        assert!(p.warnings.iter().any(|w| w.contains("the two heartbeat")));
    }

    #[test]
    fn heartbeatd_sound() {
        let h = hopts(&[
            "--witness",
            "198.51.100.3",
            "--service",
            "b1:192.0.2.10",
            "198.51.100.255",
            "192.0.2.2",
        ]);
        let p = plan_heartbeatd(&h, &primary_host());
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
        assert_eq!(
            p.links,
            [
                LinkPlan {
                    link: LinkId(0),
                    interface: "b0".into(),
                    source: ip("198.51.100.1"),
                    peers: ip("198.51.100.255"),
                },
                LinkPlan {
                    link: LinkId(1),
                    interface: "b1".into(),
                    source: ip("192.0.2.1"),
                    peers: ip("192.0.2.2"),
                }
            ]
        );
        assert_eq!(p.local_private, ip("198.51.100.1"));
    }

    #[test]
    fn heartbeatd_broadcast_netmask_trap() {
        let h = hopts(&["198.51.255.255", "192.0.2.255"]);
        let p = plan_heartbeatd(&h, &primary_host());
        let m = one_problem(&p);
        assert!(
            m.starts_with(
                "ip_addr 198.51.255.255 (target 1, the private network) is the broadcast address \
                 of a /16 (netmask 255.255.0.0), but b0's address 198.51.100.1 has netmask \
                 255.255.255.0 (/24, subnet 198.51.100.0/24)"
            ),
            "{m}"
        );
        assert!(m.contains("give 198.51.100.255"), "{m}");
        assert_eq!(p.links[0].interface, "b0");
        assert_eq!(p.local_private, Ipv4Addr::UNSPECIFIED);
        // The other way round: a /24 broadcast on a /25.
        let host = vec![iface(2, "b0", &[("198.51.100.1", 25)])];
        let h = hopts(&["198.51.100.255"]);
        let p = plan_heartbeatd(&h, &host);
        let m = one_problem(&p);
        assert!(m.contains("a /24 (netmask 255.255.255.0)"), "{m}");
        assert!(m.contains("give 198.51.100.127"), "{m}");
        // A host on the /25 ending in 127 is the right broadcast.
        let p = plan_heartbeatd(&hopts(&["198.51.100.127"]), &host);
        assert!(p.is_sound(), "{:#?}", p.problems);
    }

    #[test]
    fn heartbeatd_bad_targets() {
        let h = hopts(&["255.255.255.255"]);
        let p = plan_heartbeatd(&h, &primary_host());
        let m = one_problem(&p);
        assert!(m.contains("limited broadcast"), "{m}");
        assert!(
            m.contains("b0 198.51.100.1/24 (broadcast 198.51.100.255)"),
            "{m}"
        );
        let p = plan_heartbeatd(&hopts(&["203.0.113.255"]), &primary_host());
        assert!(one_problem(&p).contains("on none of this host's networks"));
        let p = plan_heartbeatd(&hopts(&["198.51.100.1"]), &primary_host());
        assert!(one_problem(&p).contains("this host's own address (on b0)"));
        let p = plan_heartbeatd(&hopts(&["198.51.100.255", "198.51.100.2"]), &primary_host());
        assert!(p.is_sound());
        assert!(p.warnings[0].contains("both on b0"), "{:?}", p.warnings);
    }

    #[test]
    fn heartbeatd_service_already_present_is_a_warning() {
        let mut host = primary_host();
        let mut a = host[2].addrs[0].clone();
        a.addr = ip("192.0.2.10");
        a.prefix_len = 32;
        host[2].addrs.push(a);
        let h = hopts(&["--service", "b1:192.0.2.10", "198.51.100.255"]);
        let p = plan_heartbeatd(&h, &host);
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert!(p.warnings[0].starts_with(
            "--service b1:192.0.2.10: 192.0.2.10 is already configured on b1 (192.0.2.10/32), \
             not by heartbeatd"
        ));
        // The /32 rule applies to --service too.
        let h = hopts(&["--service", "b1:192.0.2.11/24", "198.51.100.255"]);
        let p = plan_heartbeatd(&h, &primary_host());
        assert!(one_problem(&p).starts_with("--service b1:192.0.2.11/24: 192.0.2.11 lies in"));
    }

    #[test]
    fn point_to_point_private_link() {
        let host = vec![iface(2, "a0", &[("198.51.100.2", 31)])];
        let o = fopts(&["198.51.100.3", "a0:192.0.2.10/24"]);
        let p = plan_failoverd(&o, &host);
        assert!(p.is_sound(), "{:#?}", p.problems);
        assert_eq!(p.links[0].peers, Ipv4Addr::BROADCAST);
        assert!(p
            .warnings
            .iter()
            .any(|w| w.contains("no broadcast address")));
    }
}
