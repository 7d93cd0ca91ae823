//! The checks both plans share: service addresses, their masks and presence,
//! `--probe`, `--witness`.

use std::net::{IpAddr, Ipv4Addr};

use super::{find, is_daemons, subnet, Plan};
use crate::config::cli::ServiceAddress;
use crate::net::probe::ProbeTarget;
use crate::netlink::addr::{daemon_label, InterfaceInfo, Ipv4IfAddr, ADDR_PROTO};

/// Checks one service address `s` (shown as `shown`): Apple's /32 rule, a
/// mask that makes it a host address, and whether the host already has it.
/// An address already present outside the daemon is a problem for both
/// daemons; `strict` (`failoverd`) words it for the secondary. (Whether the daemon can mark its addresses
/// on the interface is a question for the kernel: `marks.rs`.)
pub(super) fn check_service(
    s: &ServiceAddress,
    shown: &str,
    daemon: &str,
    ifaces: &[InterfaceInfo],
    own: &[InterfaceInfo],
    strict: bool,
    plan: &mut Plan,
) {
    let ifname = s.interface.as_str();
    let addr = match s.addr {
        IpAddr::V4(addr) => addr,
        IpAddr::V6(addr) => {
            let own = find(own, ifname);
            super::checks6::check_service_v6(s, addr, shown, daemon, ifaces, own, plan);
            return;
        }
    };
    check_mask(s, addr, shown, find(own, ifname), plan);
    check_present(s, addr, shown, daemon, ifaces, strict, plan);
}

/// Apple's /32 rule, and a mask that leaves the address a host address.
pub(super) fn check_mask(
    s: &ServiceAddress,
    addr: Ipv4Addr,
    shown: &str,
    own: Option<&InterfaceInfo>,
    plan: &mut Plan,
) {
    let prefix = s.prefix_len();
    let ifname = s.interface.as_str();
    if prefix <= 30 {
        let probe = Ipv4IfAddr {
            ifindex: 0,
            addr,
            prefix_len: prefix,
            broadcast: None,
            label: String::new(),
            proto: 0,
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
    if i.addrs.iter().any(|a| a.addr == addr) && others().next().is_none() {
        // Its only address is the service address itself: configured by
        // hand (check_present reports that) or a leftover of the daemon's.
        // Saying it has no address would send the reader the wrong way.
        return;
    }
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
pub(super) fn check_present(
    s: &ServiceAddress,
    addr: Ipv4Addr,
    shown: &str,
    daemon: &str,
    ifaces: &[InterfaceInfo],
    strict: bool,
    plan: &mut Plan,
) {
    for i in ifaces {
        let name = &i.link.name;
        for a in i.addrs.iter().filter(|a| a.addr == addr) {
            let cidr = format!("{}/{}", a.addr, a.prefix_len);
            if is_daemons(name, a) {
                if name != s.interface.as_str() {
                    let mark = if a.proto == ADDR_PROTO {
                        format!("protocol {ADDR_PROTO}")
                    } else {
                        format!("label {}", a.label)
                    };
                    plan.warning(format!(
                        "{shown}: {cidr} is on {name} with the daemon's {mark}, left from an \
                         earlier configuration: remove it with `ip addr del {cidr} dev {name}`"
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
                // heartbeatd: an address it did not add is one it never
                // removes, so it could not hand the service over without
                // overlap (the zero-overlap failback would be off), and on a
                // name too long for a label the kernel could not even tell
                // the two apart at removal. Never both.
                let label = if daemon_label(name).is_none() {
                    format!(
                        " ({name}'s name is too long for the daemon's address label, so the \
                         kernel could not tell the two apart when removing)"
                    )
                } else {
                    String::new()
                };
                plan.problem(format!(
                    "{shown}: {addr} is already configured on {name} ({cidr}), not by {daemon}: \
                     {daemon} never removes an address it did not add, so it could not hand \
                     the service over without overlap{label}; remove it with `ip addr del \
                     {cidr} dev {name}` (and from the interface's configuration) and let \
                     {daemon} add it"
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
pub(super) fn check_probe(
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
    if services.iter().any(|s| s.addr == IpAddr::V4(target)) {
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
        let v6_only = services
            .iter()
            .filter(|s| s.interface.as_str() == name)
            .all(ServiceAddress::is_ipv6);
        if v6_only && i.addrs.is_empty() {
            plan.problem(format!(
                "--probe {target} asks over ARP, which is IPv4, and {name} carries only IPv6 \
                 service addresses and has no IPv4 address: the probe could not tell whether \
                 clients reach this server there; leave --probe out or give {name} an IPv4 \
                 address on {target}'s network"
            ));
            continue;
        }
        let mine = i
            .addrs
            .iter()
            .filter(|a| !services.iter().any(|s| s.addr == IpAddr::V4(a.addr)));
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

pub(super) fn check_witness(
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
