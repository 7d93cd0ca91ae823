//! The service addresses on this host: added and removed over netlink with
//! the daemon's label (`<if>:fo`), so that a restarted daemon finds what a
//! previous run left behind, and never removes an address it did not add.

use std::net::Ipv4Addr;

use crate::config::cli::ServiceAddress;
use std::fmt;

use crate::netlink::addr::{daemon_label, AddrError, Change, LabelError, Netlink};
use crate::notify::Logger;

use super::faults::Faults;

/// One service address with what adding it takes, looked up at start.
#[derive(Debug, Clone)]
struct Installed {
    address: ServiceAddress,
    /// The interface's index.
    ifindex: u32,
    /// The label it carries (`<if>:fo`).
    label: String,
}

/// Why a service address cannot be managed: its interface is unknown, or
/// its name leaves no room for the daemon's label.
#[derive(Debug)]
pub enum ResolveError {
    /// The interface could not be looked up.
    Interface(ServiceAddress, AddrError),
    /// The interface's name cannot carry the label.
    Label(ServiceAddress, LabelError),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::Interface(s, e) => write!(f, "service address {s}: {e}"),
            ResolveError::Label(s, e) => write!(f, "service address {s}: {e}"),
        }
    }
}

impl std::error::Error for ResolveError {}

/// The service addresses this daemon manages.
#[derive(Debug, Default)]
pub struct Services {
    list: Vec<Installed>,
    faults: Faults,
}

impl Services {
    /// Looks up the interfaces of `specs`. Errors name the interface.
    pub fn resolve(nl: &mut Netlink, specs: &[ServiceAddress]) -> Result<Services, ResolveError> {
        let mut list = Vec::with_capacity(specs.len());
        for s in specs {
            let name = s.interface.as_str();
            let link = nl
                .link_by_name(name)
                .map_err(|e| ResolveError::Interface(s.clone(), e))?;
            let label = daemon_label(name).map_err(|e| ResolveError::Label(s.clone(), e))?;
            list.push(Installed {
                address: s.clone(),
                ifindex: link.index,
                label,
            });
        }
        Ok(Services {
            list,
            faults: Faults::default(),
        })
    }

    /// Lets the lab make removals fail ([`Faults`]; nothing outside a
    /// fault-injection build).
    #[must_use]
    pub fn with_faults(self, faults: Faults) -> Services {
        Services { faults, ..self }
    }

    /// The addresses, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &ServiceAddress> {
        self.list.iter().map(|s| &s.address)
    }

    /// Whether there are none (heartbeatd without `--service`).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds every address (with the label). Returns how many failed; each
    /// failure is logged.
    pub fn add_all(&self, nl: &mut Netlink, log: &Logger) -> usize {
        let mut failed = 0;
        for s in &self.list {
            let (addr, prefix) = (s.address.addr, s.address.prefix_len());
            match nl.add(s.ifindex, addr, prefix, &s.label) {
                Ok(Change::Done) => log.info(format_args!(
                    "added {addr}/{prefix} to {} (label {})",
                    s.address.interface, s.label
                )),
                Ok(Change::AlreadyThere) => log.warning(format_args!(
                    "{addr} is already on {}: left as it is",
                    s.address.interface
                )),
                Err(e) => {
                    failed += 1;
                    log.error(format_args!(
                        "cannot add {addr}/{prefix} to {}: {e}",
                        s.address.interface
                    ));
                }
            }
        }
        failed
    }

    /// Removes every address that carries our label. Returns how many
    /// removals failed (an address that may still be on its interface);
    /// each failure is logged. The machine is told, and keeps saying it
    /// holds the addresses until a removal works.
    pub fn remove_all(&self, nl: &mut Netlink, log: &Logger) -> usize {
        let mut failed = 0;
        for s in &self.list {
            let (addr, prefix) = (s.address.addr, s.address.prefix_len());
            if self.faults.removal_blocked() {
                failed += 1;
                log.error(format_args!(
                    "cannot remove {addr} from {}: injected fault (a lab test)",
                    s.address.interface
                ));
                continue;
            }
            match nl.remove(s.ifindex, addr, prefix, &s.label) {
                Ok(Change::Done) => {
                    log.info(format_args!("removed {addr} from {}", s.address.interface))
                }
                Ok(Change::AlreadyThere) => log.debug(format_args!(
                    "{addr} was not on {} with our label: nothing to remove",
                    s.address.interface
                )),
                // The interface is gone, and its addresses with it: nothing
                // can be left to clash with the peer's.
                Err(e @ AddrError::NoSuchInterface { .. }) => log.warning(format_args!(
                    "cannot remove {addr} from {}: {e} (gone with the interface)",
                    s.address.interface
                )),
                Err(e) => {
                    failed += 1;
                    log.error(format_args!(
                        "cannot remove {addr} from {}: {e}",
                        s.address.interface
                    ));
                }
            }
        }
        failed
    }

    /// At start: removes every address a previous run left with our label
    /// on the service interfaces (after a crash or a kill -9), so that the
    /// core machine, which starts holding nothing, matches the interfaces.
    /// The primary takes its addresses back through the reclaim handshake,
    /// the secondary only after a new verdict: either way never two holders.
    /// Addresses configured by anyone else are never touched.
    pub fn remove_leftovers(&self, nl: &mut Netlink, log: &Logger) {
        let mut seen: Vec<&str> = Vec::new();
        for s in &self.list {
            let name = s.address.interface.as_str();
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            match nl.list_labelled(name) {
                Ok(found) => {
                    for a in found {
                        match nl.remove(s.ifindex, a.addr, a.prefix_len, &s.label) {
                            Ok(_) => log.warning(format_args!(
                                "removed {}/{} from {name}: left by a previous run (label {})",
                                a.addr, a.prefix_len, s.label
                            )),
                            Err(e) => log.error(format_args!(
                                "cannot remove {} left on {name} by a previous run: {e}",
                                a.addr
                            )),
                        }
                    }
                }
                Err(e) => log.error(format_args!(
                    "cannot list the addresses of {name} to clean up after a previous run: {e}"
                )),
            }
        }
    }

    /// Which of the addresses are on their interface right now with our
    /// label, read from the kernel (for `--status`).
    pub fn present(&self, nl: &mut Netlink) -> Vec<Option<bool>> {
        self.list
            .iter()
            .map(|s| {
                nl.list_labelled(s.address.interface.as_str())
                    .ok()
                    .map(|found| found.iter().any(|a| a.addr == s.address.addr))
            })
            .collect()
    }

    /// The addresses alone.
    pub fn addrs(&self) -> Vec<Ipv4Addr> {
        self.list.iter().map(|s| s.address.addr).collect()
    }
}
