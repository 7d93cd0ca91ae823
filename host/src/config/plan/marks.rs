//! `-n`'s check that the daemon can mark its addresses on every service
//! interface ([`crate::netlink::addr::mark`]). An interface name of 14 or 15
//! bytes leaves no room for the daemon's label, so its addresses there are
//! marked by the address protocol (IFA_PROTO) alone, which takes a kernel
//! that keeps it (Linux 5.18 or later). An IPv6 service address has no
//! label on any interface, so it needs that kernel too. That is a fact of
//! the kernel, not of the interfaces: it is asked only when such a name or
//! an IPv6 service address is configured.

use crate::config::cli::ServiceAddress;
use crate::netlink::addr::{AddrError, Mark, ProtoSupport};

use super::Plan;

/// Reports a problem for each service address on an interface whose name is
/// too long for the label when `support` (asked at most once) says the
/// kernel does not keep the protocol mark. `shown` names a service address
/// as the daemon's options do.
pub(super) fn check_marks(
    services: &[ServiceAddress],
    shown: impl Fn(&ServiceAddress) -> String,
    support: impl FnOnce() -> Result<ProtoSupport, AddrError>,
    plan: &mut Plan,
) {
    let long: Vec<&ServiceAddress> = services
        .iter()
        .filter(|s| s.is_ipv6() || Mark::for_interface(s.interface.as_str()) == Mark::Proto)
        .collect();
    if long.is_empty() {
        return;
    }
    match support() {
        Ok(known) => {
            for s in long {
                if let Err(e) = known.mark_for_address(s.interface.as_str(), s.is_ipv6()) {
                    plan.problem(format!("{}: {e}", shown(s)));
                }
            }
        }
        Err(e) => {
            let names: Vec<String> = long.iter().map(|s| shown(s)).collect();
            plan.problem(format!(
                "{}: cannot tell whether this kernel keeps the address protocol mark (IFA_PROTO) \
                 that marks the daemon's IPv6 addresses and its addresses on an interface name \
                 of 14 or 15 bytes: {e}",
                names.join(", ")
            ));
        }
    }
}
