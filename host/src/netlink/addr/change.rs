//! Adding and removing the service addresses, each only under the
//! daemon's marks ([`super::mark`]), idempotently: the requests, and the
//! read-back that checks a protocol-only mark stuck. Why removal differs
//! by mark: the module documentation of [`super`].

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressMessage, AddressProtocol, AddressScope,
};
use netlink_packet_route::AddressFamily;

use crate::netlink::message::RouteMessage;

use super::{
    directed_broadcast, support, AddrError, Ipv4IfAddr, Mark, MarkError, Netlink, ADDR_PROTO,
    EADDRNOTAVAIL, EEXIST, MAX_LABEL_LEN,
};

/// What an idempotent [`Netlink::add`] or [`Netlink::remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The address was added or removed now.
    Done,
    /// Nothing to do: `add` found the address already on the interface
    /// (EEXIST, whatever its marks), `remove` found no such address with
    /// the daemon's mark (EADDRNOTAVAIL for a label; for the protocol, none
    /// carrying it in the interface's list).
    AlreadyThere,
}

impl Netlink {
    /// Adds `addr/prefix_len` to the interface `ifindex` with the daemon's
    /// marks: the protocol [`ADDR_PROTO`] and, for [`Mark::Label`], the
    /// label; and the subnet's broadcast address for prefixes up to /30.
    /// Idempotent: an address already present (with any marks) is
    /// [`Change::AlreadyThere`].
    ///
    /// With [`Mark::Proto`] the protocol is the only mark, so the first such
    /// address this connection adds is read back: if the kernel did not
    /// keep the protocol (before Linux 5.18), the address is removed again
    /// and the result is [`AddrError::Mark`].
    pub fn add(
        &mut self,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        mark: &Mark,
    ) -> Result<Change, AddrError> {
        let change = self.request(Request::Add, ifindex, addr, prefix_len, mark.label())?;
        if change == Change::Done && *mark == Mark::Proto && !self.proto_kept {
            self.check_proto_kept(ifindex, addr, prefix_len)?;
        }
        Ok(change)
    }

    /// After adding `addr/prefix_len` with the protocol as its only mark:
    /// whether the kernel kept the protocol. If not, the address is removed
    /// again (this connection added it a moment ago, and nothing could
    /// tell it from an administrator's later) and the error names the
    /// interface.
    fn check_proto_kept(
        &mut self,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
    ) -> Result<(), AddrError> {
        let Some(a) = self.find(ifindex, addr, prefix_len)? else {
            // Removed in the meantime by someone else: nothing to judge by
            // (the next add checks again).
            return Ok(());
        };
        if a.proto == ADDR_PROTO {
            self.proto_kept = true;
            return Ok(());
        }
        let undone = match self.delete_exact(ifindex, &a) {
            Ok(_) => "so the daemon removed it again".to_owned(),
            Err(e) => format!("and the daemon could not remove it again ({e}): remove it by hand"),
        };
        let ifname = self
            .links()
            .ok()
            .and_then(|l| l.into_iter().find(|l| l.index == ifindex))
            .map_or_else(|| format!("#{ifindex}"), |l| l.name);
        Err(AddrError::Mark(MarkError {
            ifname,
            why: format!(
                "this kernel (Linux {}) added {addr}/{prefix_len} without the address protocol \
                 mark (IFA_PROTO, Linux {}.{} and later) that marks the daemon's addresses \
                 instead, {undone}",
                support::kernel_release(),
                support::PROTO_SINCE.0,
                support::PROTO_SINCE.1
            ),
            ipv6: false,
        }))
    }

    /// Removes `addr/prefix_len` from the interface `ifindex`, but only if it
    /// carries the daemon's `mark`. Idempotent: no such address with the
    /// mark is [`Change::AlreadyThere`].
    ///
    /// [`Mark::Label`]: the kernel matches the label. [`Mark::Proto`]: the
    /// kernel does not match the protocol on delete, so the interface's
    /// addresses are read first, and the address is deleted (under the
    /// label it was read with) only if it carries [`ADDR_PROTO`]; the module
    /// documentation says why that is exact but for a window of two
    /// requests.
    pub fn remove(
        &mut self,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        mark: &Mark,
    ) -> Result<Change, AddrError> {
        match mark {
            Mark::Label(label) => {
                self.request(Request::Delete, ifindex, addr, prefix_len, Some(label))
            }
            Mark::Proto => {
                match self.find(ifindex, addr, prefix_len)? {
                    Some(a) if a.proto == ADDR_PROTO => self.delete_exact(ifindex, &a),
                    // Not there, or not ours (an administrator's): leave it.
                    _ => Ok(Change::AlreadyThere),
                }
            }
        }
    }

    /// The address `addr/prefix_len` on `ifindex` as the kernel lists it
    /// now, if there is one: an interface holds at most one (adding a
    /// second is EEXIST).
    fn find(
        &mut self,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
    ) -> Result<Option<Ipv4IfAddr>, AddrError> {
        Ok(self
            .addresses(ifindex)?
            .into_iter()
            .find(|a| a.addr == addr && a.prefix_len == prefix_len))
    }

    /// Deletes the address `a` as it was read from the kernel: its address,
    /// prefix length and label, which name one address on the interface.
    fn delete_exact(&mut self, ifindex: u32, a: &Ipv4IfAddr) -> Result<Change, AddrError> {
        let label = Some(a.label.as_str()).filter(|l| !l.is_empty());
        self.request(Request::Delete, ifindex, a.addr, a.prefix_len, label)
    }

    /// Asks the kernel to add or delete `addr/prefix_len` on `ifindex`
    /// (under `label` if given: a delete then matches it) and waits for its
    /// acknowledgement. The one error that means the change is already made
    /// is [`Change::AlreadyThere`]: EEXIST for an add (the address is there,
    /// whatever its marks), EADDRNOTAVAIL for a delete (no such address, or
    /// not under that label).
    fn request(
        &mut self,
        request: Request,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        label: Option<&str>,
    ) -> Result<Change, AddrError> {
        let msg = address_message(request, ifindex, addr, prefix_len, label)?;
        let (message, flags, already, doing) = match request {
            Request::Add => (
                RouteMessage::NewAddress(msg),
                NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                EEXIST,
                "adding an address",
            ),
            Request::Delete => (
                RouteMessage::DelAddress(msg),
                NLM_F_ACK,
                EADDRNOTAVAIL,
                "removing an address",
            ),
        };
        match self.exchange(message, flags) {
            Ok(_) => Ok(Change::Done),
            Err(e) if e.raw_os_error() == Some(already) => Ok(Change::AlreadyThere),
            Err(e) => Err(AddrError::from_io(doing, || format!("#{ifindex}"), e)),
        }
    }
}

/// The two changes the daemons make to an interface's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Request {
    /// RTM_NEWADDR, with the daemon's marks.
    Add,
    /// RTM_DELADDR.
    Delete,
}

/// The message that adds `addr/prefix_len` to `ifindex` (with the subnet's
/// broadcast address and the daemon's protocol) or deletes it, with `label`
/// if given.
pub(super) fn address_message(
    request: Request,
    ifindex: u32,
    addr: Ipv4Addr,
    prefix_len: u8,
    label: Option<&str>,
) -> Result<AddressMessage, AddrError> {
    let invalid = |what: &str| AddrError::Io {
        operation: "preparing an address change",
        source: io::Error::new(io::ErrorKind::InvalidInput, what.to_owned()),
    };
    if prefix_len > 32 {
        return Err(invalid("prefix length above 32"));
    }
    if let Some(label) = label {
        if label.is_empty() || label.len() > MAX_LABEL_LEN || label.contains('\0') {
            return Err(invalid("address label must be 1 to 15 bytes"));
        }
    }
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = prefix_len;
    msg.header.index = ifindex;
    msg.header.scope = AddressScope::Universe;
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V4(addr)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V4(addr)));
    if request == Request::Add {
        if let Some(b) = directed_broadcast(addr, prefix_len) {
            msg.attributes.push(AddressAttribute::Broadcast(b));
        }
        // On every address the daemon adds; the kernel ignores it on delete.
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(
                ADDR_PROTO,
            )));
    }
    if let Some(label) = label {
        msg.attributes
            .push(AddressAttribute::Label(label.to_owned()));
    }
    Ok(msg)
}
