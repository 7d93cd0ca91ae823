//! `-n`'s checks of an IPv6 service address against the interfaces: the
//! IPv6 counterparts of Apple's /32 rule and of the "already configured"
//! check in `checks.rs`.
//!
//! The /32 rule exists because of an IPv4 kernel behaviour IPv6 does not
//! have: removing a subnet's primary IPv4 address deletes its secondaries.
//! IPv6 has no primary and secondary addresses, and the kernel keeps a
//! prefix route while any address of that prefix remains
//! (`check_cleanup_prefix_route`), so an IPv6 service address inside a
//! prefix its interface already has may carry that prefix's mask or /128;
//! `-n` accepts both (/128, the default, adds no route at all). What it does
//! report: the prefix's subnet-router anycast address (all host bits zero),
//! an address on none of the interface's prefixes (the server then has no
//! on-link route back to the clients, as with an IPv4 address off the
//! interface's subnets), an interface without IPv6, and the address
//! already configured outside the daemon.

use std::net::Ipv6Addr;

use super::Plan;
use crate::config::cli::ServiceAddress;
use crate::netlink::addr::{network6, InterfaceInfo, ADDR_PROTO};

/// Checks the IPv6 service address `s` (`addr`, shown as `shown`) against
/// its interface as the host configured it (`own`: without the daemon's
/// addresses) and against every interface (`ifaces`).
pub(super) fn check_service_v6(
    s: &ServiceAddress,
    addr: Ipv6Addr,
    shown: &str,
    daemon: &str,
    ifaces: &[InterfaceInfo],
    own: Option<&InterfaceInfo>,
    plan: &mut Plan,
) {
    let prefix = s.prefix_len();
    let ifname = s.interface.as_str();
    if prefix <= 126 && network6(addr, prefix) == addr {
        plan.problem(format!(
            "{shown}: {addr} is the subnet-router anycast address of {addr}/{prefix} (all host \
             bits zero), not a host address: check the address and its mask"
        ));
    }
    if let Some(i) = own {
        check_prefix(addr, s.prefix.is_none(), shown, ifname, i, plan);
    }
    for i in ifaces {
        let name = &i.link.name;
        for a in i.addrs6.iter().filter(|a| a.addr == addr) {
            let cidr = format!("{}/{}", a.addr, a.prefix_len);
            if a.proto == ADDR_PROTO {
                if name != ifname {
                    plan.warning(format!(
                        "{shown}: {cidr} is on {name} with the daemon's protocol {ADDR_PROTO}, \
                         left from an earlier configuration: remove it with `ip addr del {cidr} \
                         dev {name}`"
                    ));
                }
            } else {
                plan.problem(format!(
                    "{shown}: {addr} is already configured on {name} ({cidr}), not by {daemon}: \
                     {daemon} never removes an address it did not add, so the two servers could \
                     hold it at once; remove it with `ip addr del {cidr} dev {name}` (and from \
                     the interface's configuration) and let {daemon} add it"
                ));
            }
        }
    }
}

/// Whether `addr` lies in one of the interface's own global prefixes.
fn check_prefix(
    addr: Ipv6Addr,
    no_mask: bool,
    shown: &str,
    ifname: &str,
    i: &InterfaceInfo,
    plan: &mut Plan,
) {
    if i.addrs6.is_empty() {
        plan.warning(format!(
            "{shown}: {ifname} has no IPv6 address, not even a link-local one: IPv6 may be \
             disabled there (net.ipv6.conf.{ifname}.disable_ipv6), and then the address cannot \
             be added"
        ));
        return;
    }
    let global = || {
        i.addrs6
            .iter()
            .filter(|a| !a.is_link_local() && a.addr != addr && a.proto != ADDR_PROTO)
    };
    if global().any(|a| a.contains(addr)) {
        return;
    }
    let prefixes: Vec<String> = global().map(|a| a.prefix()).collect();
    let has = if prefixes.is_empty() {
        "it has no global IPv6 address".to_owned()
    } else {
        format!("it has {}", prefixes.join(", "))
    };
    let mask = if no_mask {
        format!(
            " and with no mask it is added as a /128: give its prefix's mask ({ifname}:{addr}/64, \
             say) unless it is routed to this host;"
        )
    } else {
        String::new()
    };
    plan.warning(format!(
        "{shown}: {addr} is on none of {ifname}'s IPv6 prefixes ({has}):{mask} each server \
         needs an IPv6 address of its own on the service's prefix (or a route to the clients); \
         if {addr} is unreachable after a takeover, check the mask"
    ));
}
