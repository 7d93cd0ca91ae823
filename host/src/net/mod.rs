//! The daemons' network I/O on raw frames: heartbeat datagrams built and
//! parsed as whole Ethernet/IPv4/UDP frames ([`frame`]), gratuitous ARP and
//! its repeat schedule ([`garp`]), and one pnet AF_PACKET channel per
//! interface with a kernel-side filter ([`bpf`]) and a pollable descriptor
//! ([`channel`], whose documentation describes the recommended event loop).
//!
//! Receiving on raw channels, not UDP sockets, is what makes reception
//! independent of the addresses an interface holds at the moment.

pub mod bpf;
pub mod channel;
pub mod frame;
pub mod garp;
pub mod na;
pub mod probe;

pub use bpf::Senders;
pub use channel::{Channel, ChannelConfig, ChannelError, RxFilter};
pub use frame::{build_udp_frame, parse_udp_frame, UdpFlow, UdpView, BROADCAST_MAC};
pub use garp::{build_garp, parse_arp, AnnouncePlan, Announcer, GarpForm};
/// The MAC address type used throughout (pnet's).
pub use pnet_datalink::MacAddr;
