//! heartbeatd's plan: each target located on an interface, and the classic
//! trap of a broadcast address for another netmask caught.

use std::net::Ipv4Addr;

use failover_core::LinkId;

use super::checks::{check_probe, check_service, check_witness};
use super::{check_interfaces, networks, own_view, peers_of, subnet, LinkPlan, Plan, Uses};
use crate::config::options::HeartbeatdOptions;
use crate::netlink::addr::{InterfaceInfo, Ipv4IfAddr, TargetKind};

/// Where a heartbeat target leads, the best match over all interfaces.
#[derive(Debug)]
pub(super) enum Located<'a> {
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
pub(super) fn locate_target(target: Ipv4Addr, own: &[InterfaceInfo]) -> Located<'_> {
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
pub(super) fn mismatch_message(
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
pub(super) fn plan_heartbeatd(opts: &HeartbeatdOptions, ifaces: &[InterfaceInfo]) -> Plan {
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
