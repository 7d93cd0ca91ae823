//! The rtnetlink messages the daemons exchange with the kernel: links and
//! addresses, and nothing else.
//!
//! netlink-packet-route's `RouteNetlinkMessage` covers every rtnetlink
//! family (routes, rules, neighbours, traffic control, statistics, ...).
//! Used as the payload type, it puts the parser and the emitter of every one
//! of them into the daemons, although they never see one: about 120 KB of
//! machine code (2026-12-05: the crate's 317 KB in a release failoverd fell
//! to 190 KB), all of it resident, because the kernel maps a binary's text
//! in 64 KiB windows around each page it touches. [`RouteMessage`] is the
//! same payload narrowed to the six message types the daemons send and read,
//! each parsed and emitted by the crate's own `LinkMessage` and
//! `AddressMessage`, exactly as `RouteNetlinkMessage` does it.

use netlink_packet_core::{
    DecodeError, Emitable, ErrorContext, NetlinkDeserializable, NetlinkHeader, NetlinkPayload,
    NetlinkSerializable, Parseable,
};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;

// linux/rtnetlink.h
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;

/// An rtnetlink link or address message (the variants are named as
/// `netlink_packet_route::RouteNetlinkMessage`'s).
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum RouteMessage {
    /// RTM_NEWLINK: an interface as a dump lists it, or a change to it.
    NewLink(LinkMessage),
    /// RTM_DELLINK: an interface was deleted.
    DelLink(LinkMessage),
    /// RTM_GETLINK: the request for one interface, or all.
    GetLink(LinkMessage),
    /// RTM_NEWADDR: an address as a dump lists it, or to add.
    NewAddress(AddressMessage),
    /// RTM_DELADDR: an address to remove.
    DelAddress(AddressMessage),
    /// RTM_GETADDR: the request for the addresses.
    GetAddress(AddressMessage),
}

impl RouteMessage {
    /// The rtnetlink message type (RTM_*).
    pub fn message_type(&self) -> u16 {
        match self {
            RouteMessage::NewLink(_) => RTM_NEWLINK,
            RouteMessage::DelLink(_) => RTM_DELLINK,
            RouteMessage::GetLink(_) => RTM_GETLINK,
            RouteMessage::NewAddress(_) => RTM_NEWADDR,
            RouteMessage::DelAddress(_) => RTM_DELADDR,
            RouteMessage::GetAddress(_) => RTM_GETADDR,
        }
    }
}

impl NetlinkSerializable for RouteMessage {
    fn message_type(&self) -> u16 {
        RouteMessage::message_type(self)
    }

    fn buffer_len(&self) -> usize {
        match self {
            RouteMessage::NewLink(m) | RouteMessage::DelLink(m) | RouteMessage::GetLink(m) => {
                m.buffer_len()
            }
            RouteMessage::NewAddress(m)
            | RouteMessage::DelAddress(m)
            | RouteMessage::GetAddress(m) => m.buffer_len(),
        }
    }

    fn serialize(&self, buffer: &mut [u8]) {
        match self {
            RouteMessage::NewLink(m) | RouteMessage::DelLink(m) | RouteMessage::GetLink(m) => {
                m.emit(buffer)
            }
            RouteMessage::NewAddress(m)
            | RouteMessage::DelAddress(m)
            | RouteMessage::GetAddress(m) => m.emit(buffer),
        }
    }
}

impl NetlinkDeserializable for RouteMessage {
    type Error = DecodeError;

    /// As `RouteNetlinkMessage` parses these six types (with its allowance
    /// for iproute2's 4-byte RTM_GETLINK and RTM_GETADDR requests); any
    /// other type is an error, as one unknown to it is there.
    fn deserialize(header: &NetlinkHeader, buf: &[u8]) -> Result<Self, DecodeError> {
        let message_type = header.message_type;
        match message_type {
            RTM_NEWLINK | RTM_DELLINK | RTM_GETLINK => {
                let msg = match (message_type, buf) {
                    (RTM_GETLINK, &[family, _, _, _]) => {
                        let mut msg = LinkMessage::default();
                        msg.header.interface_family = family.into();
                        msg
                    }
                    _ => LinkMessage::parse(buf).context("invalid link message")?,
                };
                Ok(match message_type {
                    RTM_NEWLINK => RouteMessage::NewLink(msg),
                    RTM_DELLINK => RouteMessage::DelLink(msg),
                    _ => RouteMessage::GetLink(msg),
                })
            }
            RTM_NEWADDR | RTM_DELADDR | RTM_GETADDR => {
                let msg = match (message_type, buf) {
                    (RTM_GETADDR, &[family, _, _, _]) => {
                        let mut msg = AddressMessage::default();
                        msg.header.family = family.into();
                        msg
                    }
                    _ => AddressMessage::parse(buf).context("invalid address message")?,
                };
                Ok(match message_type {
                    RTM_NEWADDR => RouteMessage::NewAddress(msg),
                    RTM_DELADDR => RouteMessage::DelAddress(msg),
                    _ => RouteMessage::GetAddress(msg),
                })
            }
            _ => Err(format!("Unknown message type: {message_type}").into()),
        }
    }
}

impl From<RouteMessage> for NetlinkPayload<RouteMessage> {
    fn from(message: RouteMessage) -> Self {
        NetlinkPayload::InnerMessage(message)
    }
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::NetlinkMessage;
    use netlink_packet_route::address::AddressAttribute;
    use netlink_packet_route::link::LinkAttribute;
    use netlink_packet_route::RouteNetlinkMessage;

    use super::*;

    /// Serialises `message` whole (netlink header and payload).
    fn bytes<T: NetlinkSerializable>(message: T) -> Vec<u8>
    where
        NetlinkPayload<T>: From<T>,
    {
        let mut packet =
            NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(message));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        buf
    }

    fn link() -> LinkMessage {
        let mut msg = LinkMessage::default();
        msg.header.index = 7;
        msg.attributes
            .push(LinkAttribute::IfName("pub0".to_owned()));
        msg.attributes.push(LinkAttribute::Mtu(1500));
        msg
    }

    fn address() -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.index = 7;
        msg.header.prefix_len = 24;
        msg.attributes
            .push(AddressAttribute::Address([192, 0, 2, 10].into()));
        msg.attributes
            .push(AddressAttribute::Label("pub0:fo".to_owned()));
        msg
    }

    /// Each of the six is written byte for byte as the crate's complete
    /// message type writes it, and reads back as the same message.
    #[test]
    fn the_six_types_are_written_and_read_as_route_netlink_message_does() {
        let pairs = [
            (
                RouteMessage::NewLink(link()),
                RouteNetlinkMessage::NewLink(link()),
            ),
            (
                RouteMessage::DelLink(link()),
                RouteNetlinkMessage::DelLink(link()),
            ),
            (
                RouteMessage::GetLink(link()),
                RouteNetlinkMessage::GetLink(link()),
            ),
            (
                RouteMessage::NewAddress(address()),
                RouteNetlinkMessage::NewAddress(address()),
            ),
            (
                RouteMessage::DelAddress(address()),
                RouteNetlinkMessage::DelAddress(address()),
            ),
            (
                RouteMessage::GetAddress(address()),
                RouteNetlinkMessage::GetAddress(address()),
            ),
        ];
        for (ours, theirs) in pairs {
            let written = bytes(ours.clone());
            assert_eq!(written, bytes(theirs), "{ours:?}");
            let read = NetlinkMessage::<RouteMessage>::deserialize(&written).expect("parses");
            assert_eq!(read.payload, NetlinkPayload::InnerMessage(ours));
        }
    }

    /// iproute2's short requests (only the family) parse as the crate's do.
    #[test]
    fn short_get_requests_parse() {
        for (message_type, family) in [(RTM_GETLINK, 2u8), (RTM_GETADDR, 10)] {
            let mut header = NetlinkHeader::default();
            header.message_type = message_type;
            let ours = RouteMessage::deserialize(&header, &[family, 0, 0, 0]).expect("parses");
            let theirs =
                RouteNetlinkMessage::deserialize(&header, &[family, 0, 0, 0]).expect("parses");
            assert_eq!(bytes(ours), bytes(theirs));
        }
    }

    /// Any other type (a route, say) is refused, not misread.
    #[test]
    fn other_types_are_errors() {
        let mut header = NetlinkHeader::default();
        header.message_type = 24; // RTM_NEWROUTE
        let err = RouteMessage::deserialize(&header, &[0; 12]).unwrap_err();
        assert!(
            err.to_string().contains("Unknown message type: 24"),
            "{err}"
        );
    }
}
