//! Taking in what happened to the interfaces: carrier changes, and
//! interfaces gone, back or renamed ([`LinkEvent`]); and a service address
//! taken off behind the daemon's back, added again while this server holds
//! it.
//!
//! The daemon follows its interfaces by name (see
//! [`crate::netlink::follow`]). An interface that is gone counts as one
//! without a carrier, and its channel is closed. When an interface of that
//! name is back (under a new index), its channel is opened on it again, its
//! service addresses go there from now on, and if this server holds them
//! they are added there again and announced: the kernel deleted them with
//! the old interface, and the clients' ARP caches point at the old MAC.
//! A renamed interface is followed by index (nothing to redo) until an
//! interface takes the configured name; the service addresses then move
//! there.

use std::time::Instant as StdInstant;

use super::{Node, Runtime};
use crate::daemon::words::join;
use crate::netlink::linkwatch::LinkEvent;

impl<N: Node> Runtime<N> {
    /// Reads the link notifications and acts on what they mean.
    pub(super) fn take_link_events(&mut self, now: StdInstant) {
        let events = match self.io.carrier.poll(&mut self.io.netlink) {
            Ok(events) => events,
            Err(e) => {
                self.log
                    .error(format_args!("cannot read interface changes: {e}"));
                return;
            }
        };
        if self.io.carrier.take_addresses_removed() {
            self.restore_addresses();
        }
        if events.is_empty() {
            return;
        }
        let t = self.now();
        let mut announce = false;
        for e in &events {
            match e {
                LinkEvent::Carrier { name, carrier } => {
                    if *carrier {
                        self.log.notice(format_args!("{name}: carrier back"));
                    } else {
                        self.log.warning(format_args!("{name}: carrier lost"));
                    }
                    announce |= *carrier && self.is_service_interface(name);
                }
                LinkEvent::Vanished {
                    name,
                    index,
                    called,
                } => self.on_vanished(name, *index, called),
                LinkEvent::Appeared {
                    name,
                    index,
                    carrier,
                    replaces,
                } => {
                    announce |= self.on_appeared(name, *index, *carrier, replaces.as_ref());
                }
                LinkEvent::Renamed { name, index, now } => self.on_renamed(name, *index, now),
            }
        }
        let any = self.io.carrier.any_carrier();
        if !any {
            self.log.warning(
                "no carrier on any link: this host is cut off from everyone; it will hold no \
                 service address until a link is back",
            );
        }
        // Reachability first: the machine re-evaluates on each input, and
        // must not act on the carrier news with the reachability of
        // before (a secondary would start taking a handover on a service
        // interface that just went dark).
        self.report_reachability(now);
        self.node.set_carrier(t, any);
        self.announce_again |= announce;
    }

    /// An address went from a service interface: if this server holds the
    /// service addresses, any of them no longer there is added again and
    /// announced ([`Services::restore_missing`](crate::daemon::services::Services::restore_missing)).
    fn restore_addresses(&mut self) {
        if !self.node.holds_addresses() {
            return;
        }
        let carrier = &self.io.carrier;
        let usable = |name: &str| carrier.present(name) && carrier.carrier(name) == Some(true);
        let restored = self
            .services
            .restore_missing(&mut self.io.netlink, &self.log, usable);
        self.announce_again |= !restored.is_empty();
        self.addresses_restored = self
            .addresses_restored
            .saturating_add(restored.len() as u64);
    }

    fn is_service_interface(&self, name: &str) -> bool {
        self.services.iter().any(|s| s.interface.as_str() == name)
    }

    /// The interface followed as `name` is gone.
    fn on_vanished(&mut self, name: &str, index: u32, called: &str) {
        let was = if called == name {
            String::new()
        } else {
            format!(", renamed {called}")
        };
        let service = self.is_service_interface(name);
        let holding = service && self.node.holds_addresses();
        self.log.warning(format_args!(
            "{name} is gone (interface #{index}{was} deleted): no carrier there, its channel is \
             closed, until an interface named {name} is back{}",
            if holding {
                format!("; {} went with it", join(&self.services.addrs_on(name)))
            } else {
                String::new()
            }
        ));
        self.io.ports.close(name);
        if service {
            self.services.interface_gone(name);
        }
    }

    /// An interface named `name` is there (again) under `index`. Whether
    /// the service addresses must be announced (this server holds them and
    /// they were added there again).
    fn on_appeared(
        &mut self,
        name: &str,
        index: u32,
        carrier: bool,
        replaces: Option<&(u32, String)>,
    ) -> bool {
        match replaces {
            Some((old, called)) => self.log.notice(format_args!(
                "{name} is a new interface (#{index}): leaving #{old}, which was renamed {called}, \
                 for it"
            )),
            None => self.log.notice(format_args!(
                "{name} is back (interface #{index}{}): reopening its channel",
                if carrier { "" } else { ", no carrier yet" }
            )),
        }
        if self.io.ports.has(name) {
            match self.io.ports.reopen(name) {
                Ok(_) => self
                    .log
                    .info(format_args!("{name}: channel open on #{index}")),
                Err(e) => self.log.error(format_args!(
                    "cannot open the channel on {name} again: {e} (it stays closed until the \
                     interface changes again)"
                )),
            }
        }
        if let Some(p) = self.io.probe.as_mut() {
            if let Err(e) = p.reopen(name) {
                self.log.error(format_args!(
                    "cannot open the --probe channel on {name} again: {e}"
                ));
            }
        }
        if !self.is_service_interface(name) {
            return false;
        }
        let holding = self.node.holds_addresses();
        if holding && replaces.is_some() {
            // Off the renamed interface first: never on both.
            self.services
                .remove_on(&mut self.io.netlink, &self.log, name);
        }
        self.services.interface_back(name, index);
        if !holding {
            self.log.info(format_args!(
                "the service addresses on {name} go on #{index} from now on"
            ));
            return false;
        }
        self.log.notice(format_args!(
            "adding {} to {name} again: this server holds it, and the interface was {}",
            join(&self.services.addrs_on(name)),
            if replaces.is_some() {
                "replaced"
            } else {
                "re-created"
            }
        ));
        self.services.add_on(&mut self.io.netlink, &self.log, name);
        true
    }

    /// The interface followed as `name` is called `now`.
    fn on_renamed(&mut self, name: &str, index: u32, now: &str) {
        if now == name {
            self.log
                .notice(format_args!("interface #{index} is named {name} again"));
        } else {
            self.log.warning(format_args!(
                "{name} (interface #{index}) was renamed {now}: following it under its new name \
                 until an interface named {name} appears{}",
                if self.is_service_interface(name) && self.node.holds_addresses() {
                    format!("; {} stays on it", join(&self.services.addrs_on(name)))
                } else {
                    String::new()
                }
            ));
        }
        if self.is_service_interface(name) {
            self.services
                .interface_renamed(&mut self.io.netlink, &self.log, name, now);
        }
    }
}
