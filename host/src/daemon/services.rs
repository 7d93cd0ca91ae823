//! The service addresses on this host: added and removed over netlink with
//! the daemon's marks (the label `<if>:fo` where the interface's name leaves
//! room for it, and the address protocol; [`crate::netlink::addr::mark`]),
//! so that a restarted daemon finds what a previous run left behind, and
//! never removes an address it did not add.
//!
//! Each address is kept with the interface it goes on as it is *now*: the
//! interfaces are followed by name ([`crate::netlink::follow`]), so one
//! deleted and re-created gets its addresses back under its new index
//! ([`Services::interface_back`]), one that is gone has none to add or
//! remove ([`Services::interface_gone`]), and one that is renamed keeps
//! them, with the label the kernel renamed along
//! ([`Services::interface_renamed`]; the protocol mark needs no tracking).
//!
//! IPv6 service addresses go the same way, marked by the protocol alone
//! (IPv6 has no labels) and added without duplicate address detection
//! ([`crate::netlink::addr::Ipv6IfAddr`]'s module says why).

use std::fmt;
use std::net::IpAddr;

use crate::config::cli::ServiceAddress;

use crate::netlink::addr::{
    mark_of, AddrError, Change, Mark, MarkError, Netlink, ProtoSupport, ADDR_PROTO,
};
use crate::notify::Logger;

use super::faults::Faults;

/// One service address with what adding it takes, looked up at start and
/// kept current as its interface goes, comes back or is renamed.
#[derive(Debug, Clone)]
struct Installed {
    address: ServiceAddress,
    /// The interface's index; `None` while no interface of that name
    /// exists.
    ifindex: Option<u32>,
    /// How it is marked: its label (`<if>:fo`; after a rename, what the
    /// kernel made of it), or the protocol alone (a 14- or 15-byte name).
    mark: Mark,
    /// What the interface is called now (its configured name unless
    /// renamed), for the log.
    called: String,
    /// This run added it (and has not removed it since): after a rename,
    /// its label (if marked by one) is read back from the kernel.
    added: bool,
}

impl Installed {
    /// The interface as the log names it: `pub0`, or `pub0 (now lan1)`.
    fn shown(&self) -> String {
        if self.called == self.address.interface.as_str() {
            self.called.clone()
        } else {
            format!("{} (now {})", self.address.interface, self.called)
        }
    }
}

/// Why a service address cannot be managed: its interface is unknown, or
/// the daemon cannot mark its addresses there (a name too long for the
/// label on a kernel that does not keep the protocol mark).
#[derive(Debug)]
pub enum ResolveError {
    /// The interface could not be looked up.
    Interface(ServiceAddress, AddrError),
    /// The daemon's addresses cannot be marked on the interface.
    Mark(ServiceAddress, MarkError),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::Interface(s, e) => write!(f, "service address {s}: {e}"),
            ResolveError::Mark(s, e) => write!(f, "service address {s}: {e}"),
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
    /// Looks up the interfaces of `specs`, and how the daemon's addresses
    /// are marked on each: an interface whose name is too long for the
    /// label needs a kernel that keeps the protocol mark. Errors name the
    /// interface.
    pub fn resolve(nl: &mut Netlink, specs: &[ServiceAddress]) -> Result<Services, ResolveError> {
        let mut list = Vec::with_capacity(specs.len());
        // Asked only if an interface needs it (it reads every address).
        let mut support: Option<ProtoSupport> = None;
        for s in specs {
            let name = s.interface.as_str();
            let link = nl
                .link_by_name(name)
                .map_err(|e| ResolveError::Interface(s.clone(), e))?;
            let mark = match configured_mark(s) {
                Mark::Proto => {
                    let known = match support.take() {
                        Some(known) => known,
                        None => nl
                            .proto_support()
                            .map_err(|e| ResolveError::Interface(s.clone(), e))?,
                    };
                    let mark = known
                        .mark_for_address(name, s.is_ipv6())
                        .map_err(|e| ResolveError::Mark(s.clone(), e))?;
                    support = Some(known);
                    mark
                }
                labelled => labelled,
            };
            list.push(Installed {
                address: s.clone(),
                ifindex: Some(link.index),
                mark,
                called: name.to_owned(),
                added: false,
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

    /// Adds every address (with the daemon's marks). Returns how many
    /// failed; each failure is logged.
    pub fn add_all(&mut self, nl: &mut Netlink, log: &Logger) -> usize {
        self.add_where(nl, log, |_| true)
    }

    /// Adds the addresses that go on the interface configured as `name`
    /// (it is back, or a new one took its name, while this server holds
    /// them). Returns how many failed; each failure is logged.
    pub fn add_on(&mut self, nl: &mut Netlink, log: &Logger, name: &str) -> usize {
        self.add_where(nl, log, |s| s.address.interface.as_str() == name)
    }

    fn add_where(
        &mut self,
        nl: &mut Netlink,
        log: &Logger,
        pick: impl Fn(&Installed) -> bool,
    ) -> usize {
        let mut failed = 0;
        for s in self.list.iter_mut().filter(|s| pick(s)) {
            let (addr, prefix) = (s.address.addr, s.address.prefix_len());
            let Some(ifindex) = s.ifindex else {
                failed += 1;
                log.error(format_args!(
                    "cannot add {addr}/{prefix} to {}: the interface is gone (it is added when \
                     an interface of that name is back)",
                    s.address.interface
                ));
                continue;
            };
            match change_addr(nl, AddrOp::Add, ifindex, addr, prefix, &s.mark) {
                Ok(Change::Done) => {
                    s.added = true;
                    log.info(format_args!(
                        "added {addr}/{prefix} to {} ({})",
                        s.shown(),
                        s.mark
                    ))
                }
                Ok(Change::AlreadyThere) => log.warning(format_args!(
                    "{addr} is already on {}: left as it is",
                    s.shown()
                )),
                Err(e) => {
                    failed += 1;
                    log.error(format_args!(
                        "cannot add {addr}/{prefix} to {}: {e}",
                        s.shown()
                    ));
                }
            }
        }
        failed
    }

    /// Adds back, while this server holds them, the addresses that are no
    /// longer on their interface although this run added them: another
    /// program removed them (`ip addr flush`, a network manager
    /// reconfiguring the interface and dropping what it did not configure,
    /// a DHCP client's renewal), or the kernel flushed an IPv6 address with
    /// a link that went down. Only on the interfaces `usable` accepts (there,
    /// with a carrier: elsewhere the machine hands the service over
    /// anyway). An address found on its interface in any form is left as
    /// it is. Returns the addresses added back; failures are logged.
    pub fn restore_missing(
        &mut self,
        nl: &mut Netlink,
        log: &Logger,
        usable: impl Fn(&str) -> bool,
    ) -> Vec<IpAddr> {
        let mut restored = Vec::new();
        for s in self.list.iter_mut() {
            let Some(ifindex) = s.ifindex.filter(|_| s.added) else {
                continue;
            };
            if !usable(s.address.interface.as_str()) {
                continue;
            }
            let (addr, prefix) = (s.address.addr, s.address.prefix_len());
            let there = match addr {
                IpAddr::V4(a) => nl
                    .addresses(ifindex)
                    .map(|found| found.iter().any(|f| f.addr == a)),
                IpAddr::V6(a) => nl
                    .addresses_v6(ifindex)
                    .map(|found| found.iter().any(|f| f.addr == a)),
            };
            match there {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    log.error(format_args!(
                        "cannot tell whether {addr} is still on {}: {e}",
                        s.shown()
                    ));
                    continue;
                }
            }
            match change_addr(nl, AddrOp::Add, ifindex, addr, prefix, &s.mark) {
                Ok(_) => {
                    log.warning(format_args!(
                        "{addr} was taken off {} behind this daemon's back while this server \
                         serves it: added again ({}). To take it off for good, stop the daemon \
                         (on the primary, heartbeatd --handover moves the service without an \
                         outage)",
                        s.shown(),
                        s.mark
                    ));
                    restored.push(addr);
                }
                Err(e) => log.error(format_args!(
                    "{addr} was taken off {} behind this daemon's back, and cannot be added \
                     again: {e}; the clients are not served here",
                    s.shown()
                )),
            }
        }
        restored
    }

    /// Removes every address that carries our mark. Returns how many
    /// removals failed (an address that may still be on its interface);
    /// each failure is logged. The machine is told, and keeps saying it
    /// holds the addresses until a removal works.
    pub fn remove_all(&mut self, nl: &mut Netlink, log: &Logger) -> usize {
        let faults = &self.faults;
        let mut failed = 0;
        for s in &mut self.list {
            if faults.removal_blocked() {
                failed += 1;
                log.error(format_args!(
                    "cannot remove {} from {}: injected fault (a lab test)",
                    s.address.addr,
                    s.shown()
                ));
                continue;
            }
            if !remove_one(s, nl, log) {
                failed += 1;
            }
        }
        failed
    }

    /// At start: removes every address a previous run left with our label
    /// or our protocol on the service interfaces (after a crash or a kill -9), so that the
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
            let Some(ifindex) = s.ifindex else { continue };
            match nl.list_ours(name) {
                Ok(found) => {
                    for a in found {
                        // Under its own mark: a label if it has ours (an
                        // older daemon's has nothing else), else the
                        // protocol.
                        let Some(mark) = mark_of(name, &a) else {
                            continue;
                        };
                        let removed = nl.remove(ifindex, a.addr, a.prefix_len, &mark);
                        log_leftover(log, name, a.addr.into(), a.prefix_len, &mark, removed);
                    }
                }
                Err(e) => log.error(format_args!(
                    "cannot list the addresses of {name} to clean up after a previous run: {e}"
                )),
            }
            if self.list.iter().any(|s| s.address.is_ipv6()) {
                remove_leftovers_v6(nl, log, name, ifindex);
            }
        }
        self.remove_leftovers_elsewhere(nl, log);
    }

    /// At start, after [`remove_leftovers`](Self::remove_leftovers): one of
    /// the service addresses with the daemon's protocol on an interface it
    /// is not configured for. A previous run killed while it followed a
    /// renamed service interface (`pub0` renamed `lan1`, then a new `pub0`)
    /// left it there; the protocol says the daemon added it, and the
    /// address that it is this daemon's to serve.
    fn remove_leftovers_elsewhere(&self, nl: &mut Netlink, log: &Logger) {
        let configured: Vec<u32> = self.list.iter().filter_map(|s| s.ifindex).collect();
        let found = match nl.all_addresses() {
            Ok(found) => found,
            Err(e) => {
                log.error(format_args!(
                    "cannot list the addresses to clean up after a previous run: {e}"
                ));
                return;
            }
        };
        let found = found.into_iter().map(|a| {
            (
                a.ifindex,
                IpAddr::V4(a.addr),
                a.prefix_len,
                a.proto,
                a.label,
            )
        });
        let found6 = if self.list.iter().any(|s| s.address.is_ipv6()) {
            match nl.all_addresses_v6() {
                Ok(found) => found,
                Err(e) => {
                    log.error(format_args!(
                        "cannot list the IPv6 addresses to clean up after a previous run: {e}"
                    ));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let found6 = found6.into_iter().map(|a| {
            (
                a.ifindex,
                IpAddr::V6(a.addr),
                a.prefix_len,
                a.proto,
                format!("#{}", a.ifindex),
            )
        });
        let found: Vec<_> = found.chain(found6).collect();
        for (ifindex, addr, prefix_len, _, label) in
            found.iter().filter(|(i, addr, _, proto, _)| {
                *proto == ADDR_PROTO
                    && !configured.contains(i)
                    && self.list.iter().any(|s| s.address.addr == *addr)
            })
        {
            let a = Leftover {
                ifindex: *ifindex,
                addr: *addr,
                prefix_len: *prefix_len,
                label,
            };
            match change_addr(
                nl,
                AddrOp::Remove,
                a.ifindex,
                a.addr,
                a.prefix_len,
                &Mark::Proto,
            ) {
                Ok(_) => log.warning(format_args!(
                    "removed {}/{} from {}: left by a previous run on an interface it had \
                     followed (protocol {ADDR_PROTO})",
                    a.addr, a.prefix_len, a.label
                )),
                Err(e) => log.error(format_args!(
                    "cannot remove {} left on {} by a previous run: {e}",
                    a.addr, a.label
                )),
            }
        }
    }

    /// Which of the addresses are on their interface right now with our
    /// mark, read from the kernel (for `--status`).
    pub fn present(&self, nl: &mut Netlink) -> Vec<Option<bool>> {
        self.list
            .iter()
            .map(|s| {
                let name = s.address.interface.as_str();
                match s.address.addr {
                    IpAddr::V4(addr) => nl
                        .list_ours(name)
                        .ok()
                        .map(|found| found.iter().any(|a| a.addr == addr)),
                    IpAddr::V6(addr) => nl
                        .list_ours_v6(name)
                        .ok()
                        .map(|found| found.iter().any(|a| a.addr == addr)),
                }
            })
            .collect()
    }

    /// The addresses alone.
    pub fn addrs(&self) -> Vec<IpAddr> {
        self.list.iter().map(|s| s.address.addr).collect()
    }

    /// The addresses that go on the interface configured as `name`.
    pub fn addrs_on(&self, name: &str) -> Vec<IpAddr> {
        self.list
            .iter()
            .filter(|s| s.address.interface.as_str() == name)
            .map(|s| s.address.addr)
            .collect()
    }

    /// The interface configured as `name` is gone: its addresses went with
    /// it (the kernel deletes an interface's addresses along with it), and
    /// none can be added there until it is back.
    pub fn interface_gone(&mut self, name: &str) {
        for s in self.on(name) {
            s.ifindex = None;
            s.added = false;
            s.called = name.to_owned();
            // The mark of the configured name again: what a re-created
            // interface's addresses get.
            s.mark = configured_mark(&s.address);
        }
    }

    /// An interface configured as `name` is there again, under `index`
    /// (re-created, or a new one that took the name): the addresses go
    /// there from now on, with the configured name's mark.
    pub fn interface_back(&mut self, name: &str, index: u32) {
        for s in self.on(name) {
            s.ifindex = Some(index);
            s.called = name.to_owned();
            s.added = false;
            s.mark = configured_mark(&s.address);
        }
    }

    /// The interface configured as `name` was renamed to `now` (same index,
    /// same addresses). An address marked by the protocol alone needs
    /// nothing: the kernel keeps the protocol through a rename. A labelled
    /// one does: the kernel renamed the labels of its addresses along with
    /// it, so the daemon must remove it under the new label. The label is
    /// worked out ([`Mark::renamed`]) and, for an address this run added,
    /// read back from the kernel, which is the authority (it gives an
    /// interface's first address the bare name).
    pub fn interface_renamed(&mut self, nl: &mut Netlink, log: &Logger, name: &str, now: &str) {
        for s in self.on(name) {
            s.mark = s.mark.renamed(now);
            s.called = now.to_owned();
            let Mark::Label(label) = &s.mark else {
                continue;
            };
            let Some(ifindex) = s.ifindex.filter(|_| s.added) else {
                continue;
            };
            let (IpAddr::V4(addr), prefix) = (s.address.addr, s.address.prefix_len()) else {
                continue; // IPv6: the protocol alone, which a rename keeps
            };
            match nl.addresses(ifindex) {
                Ok(found) => {
                    let now_labelled = found
                        .iter()
                        .find(|a| a.addr == addr && a.prefix_len == prefix)
                        .filter(|a| a.label != *label)
                        .map(|a| a.label.clone());
                    if let Some(kernels) = now_labelled {
                        log.warning(format_args!(
                            "{addr} on {} now carries the label {kernels} (not {label}): \
                             removed under it",
                            s.shown(),
                        ));
                        s.mark = Mark::Label(kernels);
                    }
                }
                Err(e) => log.warning(format_args!(
                    "cannot read the addresses of {} after its rename: {e} (assuming {})",
                    s.shown(),
                    s.mark
                )),
            }
        }
    }

    /// Removes the addresses on the interface configured as `name` from the
    /// renamed interface it leaves (a new interface took the name). Returns
    /// how many removals failed; each is logged.
    pub fn remove_on(&mut self, nl: &mut Netlink, log: &Logger, name: &str) -> usize {
        let mut failed = 0;
        for s in self.on(name) {
            if !remove_one(s, nl, log) {
                failed += 1;
            }
        }
        failed
    }

    fn on<'a>(&'a mut self, name: &'a str) -> impl Iterator<Item = &'a mut Installed> + 'a {
        self.list
            .iter_mut()
            .filter(move |s| s.address.interface.as_str() == name)
    }
}

/// Removes `s` from its interface if it carries our mark there. Whether
/// it is gone now (or never was ours there); a failure is logged.
fn remove_one(s: &mut Installed, nl: &mut Netlink, log: &Logger) -> bool {
    let (addr, prefix) = (s.address.addr, s.address.prefix_len());
    let Some(ifindex) = s.ifindex else {
        log.info(format_args!(
            "{addr} went with {} (the interface is gone): nothing to remove",
            s.address.interface
        ));
        return true;
    };
    match change_addr(nl, AddrOp::Remove, ifindex, addr, prefix, &s.mark) {
        Ok(Change::Done) => {
            s.added = false;
            log.info(format_args!("removed {addr} from {}", s.shown()));
            true
        }
        Ok(Change::AlreadyThere) => {
            s.added = false;
            log.debug(format_args!(
                "{addr} was not on {} with our {}: nothing to remove",
                s.shown(),
                s.mark
            ));
            true
        }
        // The interface is gone, and its addresses with it: nothing can be
        // left to clash with the peer's.
        Err(e @ AddrError::NoSuchInterface { .. }) => {
            s.added = false;
            log.warning(format_args!(
                "cannot remove {addr} from {}: {e} (gone with the interface)",
                s.shown()
            ));
            true
        }
        Err(e) => {
            log.error(format_args!("cannot remove {addr} from {}: {e}", s.shown()));
            false
        }
    }
}

/// The mark of `s`'s addresses on its configured interface: the protocol
/// alone for IPv6 (no labels) or a long name, the label otherwise.
fn configured_mark(s: &ServiceAddress) -> Mark {
    if s.is_ipv6() {
        Mark::Proto
    } else {
        Mark::for_interface(s.interface.as_str())
    }
}

/// What [`change_addr`] does with an address.
#[derive(Clone, Copy)]
enum AddrOp {
    Add,
    Remove,
}

/// Adds `addr/prefix` to `ifindex` under `mark`, or removes it if it
/// carries `mark`, over IPv4's or IPv6's request (an IPv6 address is marked
/// by the protocol whatever `mark`): one place picks the request for both
/// directions.
fn change_addr(
    nl: &mut Netlink,
    op: AddrOp,
    ifindex: u32,
    addr: IpAddr,
    prefix: u8,
    mark: &Mark,
) -> Result<Change, AddrError> {
    match (op, addr) {
        (AddrOp::Add, IpAddr::V4(a)) => nl.add(ifindex, a, prefix, mark),
        (AddrOp::Add, IpAddr::V6(a)) => nl.add_v6(ifindex, a, prefix),
        (AddrOp::Remove, IpAddr::V4(a)) => nl.remove(ifindex, a, prefix, mark),
        (AddrOp::Remove, IpAddr::V6(a)) => nl.remove_v6(ifindex, a, prefix),
    }
}

/// An address with the daemon's protocol found at start on an interface it
/// is not configured for.
struct Leftover<'a> {
    ifindex: u32,
    addr: IpAddr,
    prefix_len: u8,
    /// The IPv4 label, or `#<index>` for IPv6: how the log names where.
    label: &'a str,
}

/// Logs how the removal of a previous run's leftover `addr/prefix` from
/// `name` (found by its `mark`) ended.
fn log_leftover<T, E: std::fmt::Display>(
    log: &Logger,
    name: &str,
    addr: IpAddr,
    prefix: u8,
    mark: &dyn std::fmt::Display,
    removed: Result<T, E>,
) {
    match removed {
        Ok(_) => log.warning(format_args!(
            "removed {addr}/{prefix} from {name}: left by a previous run ({mark})"
        )),
        Err(e) => log.error(format_args!(
            "cannot remove {addr} left on {name} by a previous run: {e}"
        )),
    }
}

/// At start: removes every IPv6 address with the daemon's protocol from
/// the interface `name` (index `ifindex`), which a previous run left.
fn remove_leftovers_v6(nl: &mut Netlink, log: &Logger, name: &str, ifindex: u32) {
    match nl.list_ours_v6(name) {
        Ok(found) => {
            for a in found {
                let removed = nl.remove_v6(ifindex, a.addr, a.prefix_len);
                let mark = format!("protocol {ADDR_PROTO}");
                log_leftover(log, name, a.addr.into(), a.prefix_len, &mark, removed);
            }
        }
        Err(e) => log.error(format_args!(
            "cannot list the IPv6 addresses of {name} to clean up after a previous run: {e}"
        )),
    }
}
