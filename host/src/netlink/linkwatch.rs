//! Carrier watch: the kernel tells the daemon, over a netlink multicast
//! socket (RTNLGRP_LINK), when one of its interfaces gains or loses its
//! carrier, disappears, comes back or is renamed. The core machines use "no
//! carrier on any link" as certain local evidence of being cut off
//! (`set_carrier`), which no heartbeat can give: a primary unplugged from
//! everything lets go of its addresses, so that plugging it back in never
//! puts two holders on the network.
//!
//! The interfaces are followed by their configured names ([`super::follow`]):
//! one deleted and re-created under a running daemon is found again under
//! its new index, and an interface that is gone counts as one without a
//! carrier.
//!
//! The same socket hears the addresses removed from the service
//! interfaces (RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR): one taken off
//! behind the daemon's back while this server serves it is added again
//! ([`LinkWatch::take_addresses_removed`]).
//!
//! Nothing is read in the steady state: the socket is only readable when a
//! link or an address changes.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use socket2::{SockFilter, SockRef};

use super::follow::{Follow, Followed, LinkMsg};
use crate::net::bpf::NETLINK_NO_NEW_ADDRESSES;
use crate::netlink::addr::{link_info, AddrError, LinkInfo, Netlink};
use crate::netlink::message::RouteMessage;

pub use super::follow::LinkEvent;

/// The rtnetlink multicast group of link changes (`RTNLGRP_LINK` in
/// `<linux/rtnetlink.h>`).
const RTNLGRP_LINK: u32 = 1;
/// The groups of IPv4 and IPv6 address changes (`RTNLGRP_IPV4_IFADDR`,
/// `RTNLGRP_IPV6_IFADDR`).
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV6_IFADDR: u32 = 9;

/// Datagrams read per call at most: bounded work per wake-up.
const MAX_READS: usize = 64;

/// What a watched interface is to the daemon.
#[derive(Debug, Clone, Copy)]
struct Kind {
    /// A heartbeat link (else only a service interface).
    link: bool,
    /// Carries a service address: its carrier decides whether clients can
    /// reach this host (the reachability rule).
    service: bool,
}

/// The carrier state of the daemon's interfaces, kept current from netlink
/// notifications, with the interfaces followed by name.
#[derive(Debug)]
pub struct LinkWatch {
    socket: Socket,
    follow: Follow,
    /// Parallel to `follow`'s list.
    kinds: Vec<Kind>,
    /// An address was removed from a service interface (or notifications
    /// were lost) since [`LinkWatch::take_addresses_removed`] last asked.
    addresses_removed: bool,
}

fn carrier_of(info: &LinkInfo) -> bool {
    info.up && info.lower_up
}

fn msg_of(info: LinkInfo) -> LinkMsg {
    LinkMsg::New {
        index: info.index,
        carrier: carrier_of(&info),
        name: info.name,
    }
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
        for group in [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR] {
            socket.add_membership(group).map_err(io)?;
        }
        // Address additions never wake the daemon (the program's doc says
        // why).
        let program: Vec<SockFilter> = NETLINK_NO_NEW_ADDRESSES
            .iter()
            .map(|&(code, jt, jf, k)| SockFilter::new(code, jt, jf, k))
            .collect();
        SockRef::from(&socket).attach_filter(&program).map_err(io)?;
        socket.set_non_blocking(true).map_err(io)?;
        let mut followed: Vec<Followed> = Vec::with_capacity(links.len() + services.len());
        let mut kinds: Vec<Kind> = Vec::with_capacity(links.len() + services.len());
        let named = links
            .iter()
            .map(|n| (n, true))
            .chain(services.iter().map(|n| (n, false)));
        for (name, link) in named {
            if let Some(i) = followed.iter().position(|w| w.name == *name) {
                if let Some(k) = kinds.get_mut(i) {
                    k.service |= !link;
                }
                continue;
            }
            let info = nl.link_by_name(name)?;
            followed.push(Followed::found(name, info.index, carrier_of(&info)));
            kinds.push(Kind {
                link,
                service: !link,
            });
        }
        Ok(LinkWatch {
            socket,
            follow: Follow::new(followed),
            kinds,
            addresses_removed: false,
        })
    }

    fn watched(&self) -> impl Iterator<Item = (&Followed, Kind)> {
        self.follow.iter().zip(self.kinds.iter().copied())
    }

    /// Whether any heartbeat link has a carrier.
    pub fn any_carrier(&self) -> bool {
        self.watched().any(|(w, k)| k.link && w.carrier)
    }

    /// A bit per watched interface (in order) that carries a service address
    /// and has no carrier: cheap to compare on every turn of the loop.
    pub fn service_dark_mask(&self) -> u32 {
        self.watched()
            .enumerate()
            .take(32)
            .filter(|(_, (w, k))| k.service && !w.carrier)
            .fold(0, |m, (i, _)| m | (1 << i))
    }

    /// The service interfaces without a carrier (or gone): clients cannot
    /// reach this host there. Empty when every one has a carrier (or there
    /// are none).
    pub fn services_without_carrier(&self) -> Vec<&str> {
        self.watched()
            .filter(|(w, k)| k.service && !w.carrier)
            .map(|(w, _)| w.name.as_str())
            .collect()
    }

    /// Whether the interface configured as `name` has a carrier (`None`:
    /// not watched).
    pub fn carrier(&self, name: &str) -> Option<bool> {
        self.follow
            .iter()
            .find(|w| w.name == name)
            .map(|w| w.carrier)
    }

    /// Whether an interface is followed under the configured name `name`
    /// now (it exists, perhaps renamed).
    pub fn present(&self, name: &str) -> bool {
        self.follow
            .iter()
            .any(|w| w.name == name && w.index.is_some())
    }

    /// Reads the queued notifications and returns what they mean for the
    /// watched interfaces: carrier changes, interfaces gone, back, renamed.
    /// If the kernel dropped notifications (the socket overflowed), the
    /// state is read afresh through `nl`.
    pub fn poll(&mut self, nl: &mut Netlink) -> io::Result<Vec<LinkEvent>> {
        let mut events = Vec::new();
        for _ in 0..MAX_READS {
            let data = match self.socket.recv_from_full() {
                Ok((data, _)) => data,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => {
                    self.resync(nl, &mut events)?;
                    // Address removals may be among what was lost.
                    self.addresses_removed = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut offset = 0;
            while let Some(bytes) = data.get(offset..).filter(|b| !b.is_empty()) {
                let Ok(msg) = NetlinkMessage::<RouteMessage>::deserialize(bytes) else {
                    break;
                };
                let len = msg.header.length as usize;
                let link = match &msg.payload {
                    NetlinkPayload::InnerMessage(RouteMessage::NewLink(l)) => {
                        Some(msg_of(link_info(l)))
                    }
                    NetlinkPayload::InnerMessage(RouteMessage::DelLink(l)) => Some(LinkMsg::Del {
                        index: l.header.index,
                    }),
                    NetlinkPayload::InnerMessage(RouteMessage::DelAddress(a)) => {
                        let index = Some(a.header.index);
                        let ours = self.watched().any(|(w, k)| k.service && w.index == index);
                        self.addresses_removed |= ours;
                        None
                    }
                    _ => None,
                };
                if let Some(link) = link {
                    events.extend(self.follow.apply(&link));
                }
                if len == 0 {
                    break;
                }
                offset = offset.saturating_add((len + 3) & !3);
            }
        }
        Ok(events)
    }

    /// Whether an address was removed from a service interface (or
    /// notifications were lost) since the last call: the caller checks its
    /// service addresses are still there.
    pub fn take_addresses_removed(&mut self) -> bool {
        std::mem::take(&mut self.addresses_removed)
    }

    /// Notifications were lost: every interface is listed afresh.
    fn resync(&mut self, nl: &mut Netlink, events: &mut Vec<LinkEvent>) -> io::Result<()> {
        let links = nl.links().map_err(|e| io::Error::other(e.to_string()))?;
        let links: Vec<LinkMsg> = links.into_iter().map(msg_of).collect();
        events.extend(self.follow.resync(&links));
        Ok(())
    }
}

impl AsFd for LinkWatch {
    /// Readable when a notification is queued.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}
