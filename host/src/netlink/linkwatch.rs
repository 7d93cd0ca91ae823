//! Carrier watch: the kernel tells the daemon, over a netlink multicast
//! socket (RTNLGRP_LINK), when one of its interfaces gains or loses its
//! carrier. The core machines use "no carrier on any link" as certain local
//! evidence of being cut off (`set_carrier`), which no heartbeat can give:
//! a primary unplugged from everything lets go of its addresses, so that
//! plugging it back in never puts two holders on the network.
//!
//! Nothing is read in the steady state: the socket is only readable when a
//! link changes.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};

use crate::netlink::addr::{link_info, AddrError, Netlink};

/// The rtnetlink multicast group of link changes (`RTNLGRP_LINK` in
/// `<linux/rtnetlink.h>`).
const RTNLGRP_LINK: u32 = 1;

/// Datagrams read per call at most: bounded work per wake-up.
const MAX_READS: usize = 64;

/// One watched interface.
#[derive(Debug, Clone)]
struct Watched {
    index: u32,
    name: String,
    carrier: bool,
    /// A heartbeat link (else only a service interface).
    link: bool,
    /// Carries a service address: its carrier decides whether clients can
    /// reach this host (the reachability rule).
    service: bool,
}

/// What changed, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierChange {
    /// The interface.
    pub name: String,
    /// Whether it has a carrier now.
    pub carrier: bool,
}

/// The carrier state of the daemon's interfaces, kept current from netlink
/// notifications.
#[derive(Debug)]
pub struct LinkWatch {
    socket: Socket,
    watched: Vec<Watched>,
}

impl LinkWatch {
    /// Subscribes to link changes, then reads the current state of the
    /// heartbeat links `links` and the service interfaces `services` (in
    /// that order, so no change is missed).
    pub fn open(
        nl: &mut Netlink,
        links: &[&str],
        services: &[&str],
    ) -> Result<LinkWatch, AddrError> {
        let io = |e| AddrError::from_io("watching interface changes", String::new, e);
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(io)?;
        socket.bind_auto().map_err(io)?;
        socket.add_membership(RTNLGRP_LINK).map_err(io)?;
        socket.set_non_blocking(true).map_err(io)?;
        let mut watched: Vec<Watched> = Vec::with_capacity(links.len() + services.len());
        let named = links
            .iter()
            .map(|n| (n, true))
            .chain(services.iter().map(|n| (n, false)));
        for (name, link) in named {
            if let Some(w) = watched.iter_mut().find(|w| w.name == *name) {
                w.service |= !link;
                continue;
            }
            let info = nl.link_by_name(name)?;
            watched.push(Watched {
                index: info.index,
                name: info.name,
                carrier: info.up && info.lower_up,
                link,
                service: !link,
            });
        }
        Ok(LinkWatch { socket, watched })
    }

    /// Whether any heartbeat link has a carrier.
    pub fn any_carrier(&self) -> bool {
        self.watched.iter().any(|w| w.link && w.carrier)
    }

    /// A bit per watched interface (in order) that carries a service address
    /// and has no carrier: cheap to compare on every turn of the loop.
    pub fn service_dark_mask(&self) -> u32 {
        self.watched
            .iter()
            .enumerate()
            .take(32)
            .filter(|(_, w)| w.service && !w.carrier)
            .fold(0, |m, (i, _)| m | (1 << i))
    }

    /// The service interfaces without a carrier: clients cannot reach this
    /// host there. Empty when every one has a carrier (or there are none).
    pub fn services_without_carrier(&self) -> Vec<&str> {
        self.watched
            .iter()
            .filter(|w| w.service && !w.carrier)
            .map(|w| w.name.as_str())
            .collect()
    }

    /// Whether the interface `name` has a carrier (`None`: not watched).
    pub fn carrier(&self, name: &str) -> Option<bool> {
        self.watched
            .iter()
            .find(|w| w.name == name)
            .map(|w| w.carrier)
    }

    /// Reads the queued notifications and returns the carrier changes of
    /// watched interfaces. If the kernel dropped notifications (the socket
    /// overflowed), the state is read afresh through `nl`.
    pub fn poll(&mut self, nl: &mut Netlink) -> io::Result<Vec<CarrierChange>> {
        let mut changes = Vec::new();
        for _ in 0..MAX_READS {
            let data = match self.socket.recv_from_full() {
                Ok((data, _)) => data,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => {
                    self.resync(nl, &mut changes);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut offset = 0;
            while let Some(bytes) = data.get(offset..).filter(|b| !b.is_empty()) {
                let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes) else {
                    break;
                };
                let len = msg.header.length as usize;
                if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) = &msg.payload
                {
                    let info = link_info(l);
                    self.update(info.index, info.up && info.lower_up, &mut changes);
                }
                if len == 0 {
                    break;
                }
                offset = offset.saturating_add((len + 3) & !3);
            }
        }
        Ok(changes)
    }

    fn resync(&mut self, nl: &mut Netlink, changes: &mut Vec<CarrierChange>) {
        let names: Vec<(u32, String)> = self
            .watched
            .iter()
            .map(|w| (w.index, w.name.clone()))
            .collect();
        for (index, name) in names {
            if let Ok(info) = nl.link_by_name(&name) {
                self.update(index, info.up && info.lower_up, changes);
            }
        }
    }

    fn update(&mut self, index: u32, carrier: bool, changes: &mut Vec<CarrierChange>) {
        if let Some(w) = self.watched.iter_mut().find(|w| w.index == index) {
            if w.carrier != carrier {
                w.carrier = carrier;
                changes.push(CarrierChange {
                    name: w.name.clone(),
                    carrier,
                });
            }
        }
    }
}

impl AsFd for LinkWatch {
    /// Readable when a notification is queued.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}
