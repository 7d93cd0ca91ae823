//! failoverd's plan: the private link found by `master_priv_addr`, the public
//! links by name.

use std::net::Ipv4Addr;

use failover_core::LinkId;

use super::checks::{check_probe, check_service, check_witness};
use super::{
    check_interfaces, find, own_view, peers_of, private_link, public_source, subnet, LinkPlan,
    Plan, Uses,
};
use crate::config::cli::ServiceAddress;
use crate::config::options::FailoverdOptions;
use crate::netlink::addr::InterfaceInfo;

/// The resolution of `failoverd`'s options over the interfaces `ifaces`
/// (everything but the scripts, which are files).
pub(super) fn plan_failoverd(opts: &FailoverdOptions, ifaces: &[InterfaceInfo]) -> Plan {
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
