//! The values options take, parsed and checked: syslog facilities, interface
//! names, service addresses (IPv4 or IPv6), ports, IPv4 addresses.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{
    MAX_IFNAME_LEN, MSG_INVALID_FACILITY, MSG_INVALID_IFNAME, MSG_INVALID_IP, MSG_INVALID_PAIR,
    MSG_INVALID_PORT,
};

/// A `-L` value that names no syslog facility; says so in Apple's words,
/// with the valid names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFacility(pub String);

impl fmt::Display for UnknownFacility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{MSG_INVALID_FACILITY} {:?} is not one of daemon (the default), auth, user, local0 \
             to local7.",
            self.0
        )
    }
}

impl std::error::Error for UnknownFacility {}

/// The syslog facilities Apple's daemons accept with `-L`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Facility {
    /// `daemon`, the default.
    #[default]
    Daemon,
    /// `auth`.
    Auth,
    /// `user`.
    User,
    /// `local0` … `local7`: the number, 0 to 7.
    Local(u8),
}

impl Facility {
    /// The facility named `name` (`daemon`, `auth`, `user`, `local0` …
    /// `local7`; case does not matter), or Apple's "Invalid syslog
    /// facility." message with the valid names.
    pub fn parse(name: &str) -> Result<Facility, UnknownFacility> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "daemon" => Ok(Facility::Daemon),
            "auth" => Ok(Facility::Auth),
            "user" => Ok(Facility::User),
            _ => match lower.strip_prefix("local").map(str::as_bytes) {
                Some([d @ b'0'..=b'7']) => Ok(Facility::Local(d - b'0')),
                _ => Err(UnknownFacility(name.to_owned())),
            },
        }
    }

    /// The facility's name as `-L` takes it.
    pub fn name(self) -> String {
        match self {
            Facility::Daemon => "daemon".into(),
            Facility::Auth => "auth".into(),
            Facility::User => "user".into(),
            Facility::Local(n) => format!("local{n}"),
        }
    }

    /// The facility as syslog(3) encodes it (`LOG_DAEMON` = 3 << 3, …),
    /// ready to OR with a priority or to pass to `openlog`.
    pub const fn code(self) -> i32 {
        match self {
            Facility::User => 1 << 3,
            Facility::Daemon => 3 << 3,
            Facility::Auth => 4 << 3,
            Facility::Local(n) => (16 + (n as i32 & 7)) << 3,
        }
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A name Linux could give a network interface (checked syntactically:
/// whether it exists is `-n`'s netlink check). Kept as a type so that an
/// unchecked string cannot reach the netlink or raw-socket code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InterfaceName(String);

impl InterfaceName {
    /// `name` if Linux would accept it (as the kernel's `dev_valid_name`
    /// does: 1 to 15 bytes, not `.` or `..`, no `/`, `:` or whitespace);
    /// otherwise why not.
    pub fn new(name: &str) -> Result<InterfaceName, &'static str> {
        if name.is_empty() {
            Err("the name is empty")
        } else if name.len() > MAX_IFNAME_LEN {
            Err("longer than 15 bytes, the most Linux allows (IFNAMSIZ)")
        } else if name == "." || name == ".." {
            Err("\".\" and \"..\" are not interface names")
        } else if name.contains('/') {
            Err("an interface name cannot contain '/'")
        } else if name.contains(':') {
            Err("an interface name cannot contain ':'")
        } else if name.chars().any(char::is_whitespace) {
            Err("an interface name cannot contain whitespace")
        } else if name.chars().any(char::is_control) {
            Err("an interface name cannot contain control characters")
        } else {
            Ok(InterfaceName(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `interface:pub_addr[/mask]` triplet: a service address the secondary
/// takes over (`failoverd`) or the primary holds (`heartbeatd --service`).
/// The one type for it everywhere: options, plan, scripts, notifications
/// and the addresses the daemon adds. IPv4 or IPv6 (`eth0:2001:db8::10/128`:
/// the interface name ends at the first colon, since a Linux interface name
/// cannot contain one); the heartbeats stay on IPv4 either way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceAddress {
    /// The interface that carries the address.
    pub interface: InterfaceName,
    /// The address.
    pub addr: IpAddr,
    /// The prefix length, if one was given (`/0` to `/32` for IPv4, `/0` to
    /// `/128` for IPv6). Apple: left blank (or `/32`) when the address is
    /// on the interface's own subnet.
    pub prefix: Option<u8>,
}

impl ServiceAddress {
    /// The prefix length to configure: the one given, or a host address's
    /// (32 for IPv4, 128 for IPv6; what Linux assumes without a mask too).
    pub fn prefix_len(&self) -> u8 {
        self.prefix.unwrap_or(host_prefix(self.addr))
    }

    /// Whether it is an IPv6 address (added with IFA_F_NODAD and announced
    /// with unsolicited neighbour advertisements instead of ARP).
    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// In words, for notifications: `192.0.2.10/24 on eth0`.
    pub fn on_interface(&self) -> String {
        match self.prefix {
            Some(p) => format!("{}/{p} on {}", self.addr, self.interface),
            None => format!("{} on {}", self.addr, self.interface),
        }
    }
}

impl fmt::Display for ServiceAddress {
    /// As it is written on the command line: `en0:192.0.2.10/24`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.interface, self.addr)?;
        if let Some(p) = self.prefix {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

/// What an address is for, which decides the addresses that make no sense
/// there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrUse {
    /// A node's or a service's own address: not 0.0.0.0, loopback,
    /// multicast or 255.255.255.255.
    Host,
    /// Where heartbeats are sent (`heartbeatd`'s `ip_addr`): a broadcast or
    /// unicast address, not 0.0.0.0, loopback or multicast.
    Target,
}

/// Formats a value error the way every message in this crate looks:
/// `{sentence}: {value} ({context})`, then `: {reason}` if there is one.
pub fn value_error(sentence: &str, value: &str, context: &str, reason: Option<&str>) -> String {
    let mut s = format!("{sentence}: {value}");
    if !context.is_empty() {
        s.push_str(&format!(" ({context})"));
    }
    if let Some(r) = reason {
        s.push_str(": ");
        s.push_str(r);
    }
    s
}

/// Parses a `-p` value: 1 to 65535, digits only; otherwise Apple's message.
pub fn parse_port(text: &str) -> Result<u16, String> {
    match parse_digits(text) {
        Some(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(MSG_INVALID_PORT.to_owned()),
    }
}

/// Why an IPv6 address is refused where an IPv4 one is expected.
const ONLY_SERVICES_IPV6: &str =
    "only service addresses may be IPv6 (heartbeats, the witness and --probe are IPv4)";

/// Parses an IPv4 address in dotted decimal (strictly: four parts, no
/// leading zeros), refusing the addresses that make no sense for `usage`.
/// `context` says which argument it was, for the message.
pub fn parse_ipv4(text: &str, context: &str, usage: AddrUse) -> Result<Ipv4Addr, String> {
    let err = |reason: Option<&str>| value_error(MSG_INVALID_IP, text, context, reason);
    let addr: Ipv4Addr = match text.parse() {
        Ok(a) => a,
        Err(_) if text.parse::<Ipv6Addr>().is_ok() => return Err(err(Some(ONLY_SERVICES_IPV6))),
        Err(_) => return Err(err(None)),
    };
    let reason = if addr.is_unspecified() {
        Some("0.0.0.0 is not a host address")
    } else if addr.is_loopback() {
        Some("a loopback address cannot be used")
    } else if addr.is_multicast() {
        Some("a multicast address cannot be used")
    } else if usage == AddrUse::Host && addr.is_broadcast() {
        Some("the broadcast address 255.255.255.255 cannot be used")
    } else {
        None
    };
    match reason {
        Some(r) => Err(err(Some(r))),
        None => Ok(addr),
    }
}

/// The prefix length of a single host's address in `addr`'s family: 32
/// or 128.
pub fn host_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Parses an IPv6 service address, refusing the ones no service can live
/// at: unspecified, loopback, multicast, link-local (fe80::/10: scoped to
/// one link, and the kernel's own on every interface) and IPv4-mapped
/// (::ffff:0:0/96, which is IPv4 in disguise). `context` says which
/// argument it was, for the message.
pub fn parse_ipv6_service(text: &str, context: &str) -> Result<Ipv6Addr, String> {
    let err = |reason: Option<&str>| value_error(MSG_INVALID_IP, text, context, reason);
    let addr: Ipv6Addr = text.parse().map_err(|_| err(None))?;
    let reason = if addr.is_unspecified() {
        Some(":: is not a host address")
    } else if addr.is_loopback() {
        Some("a loopback address cannot be used")
    } else if addr.is_multicast() {
        Some("a multicast address cannot be used")
    } else if addr.segments()[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address (fe80::/10) cannot be a service address")
    } else if addr.to_ipv4_mapped().is_some() {
        Some("an IPv4-mapped address (::ffff:0:0/96) cannot be used: give the IPv4 address")
    } else {
        None
    };
    match reason {
        Some(r) => Err(err(Some(r))),
        None => Ok(addr),
    }
}

/// Parses an `interface:pub_addr[/mask]` triplet, IPv4 or IPv6 (the
/// interface name ends at the first colon: Linux names cannot contain one).
/// `context` names where it came from (empty for the command line). Every
/// problem in it is reported: a bad interface name and a bad address both.
pub fn parse_service_addr(arg: &str, context: &str) -> Result<ServiceAddress, Vec<String>> {
    let Some((ifname, rest)) = arg.split_once(':') else {
        return Err(vec![pair_error(arg, context)]);
    };
    if rest.is_empty() {
        return Err(vec![pair_error(arg, context)]);
    }
    let inner = if context.is_empty() {
        format!("in {arg}")
    } else {
        format!("in {arg}, {context}")
    };
    let mut problems = Vec::new();
    let interface = InterfaceName::new(ifname)
        .map_err(|why| {
            let shown = if ifname.is_empty() { "\"\"" } else { ifname };
            problems.push(value_error(MSG_INVALID_IFNAME, shown, &inner, Some(why)));
        })
        .ok();
    let (addr_text, mask_text) = match rest.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (rest, None),
    };
    // The rest has colons of its own: IPv6 (an IPv4 address has none).
    let v6 = addr_text.contains(':');
    let addr = if v6 {
        parse_ipv6_service(addr_text, &inner).map(IpAddr::V6)
    } else {
        parse_ipv4(addr_text, &inner, AddrUse::Host).map(IpAddr::V4)
    }
    .map_err(|e| problems.push(e))
    .ok();
    let most = if v6 { 128 } else { 32 };
    let mut prefix = None;
    if let Some(m) = mask_text {
        match parse_digits(m) {
            Some(n) if n <= most => prefix = Some(n as u8),
            _ => problems.push(value_error(
                "Invalid mask",
                &format!("/{m}"),
                &inner,
                Some(&format!("a mask is a prefix length from /0 to /{most}")),
            )),
        }
    }
    match (interface, addr) {
        (Some(interface), Some(addr)) if problems.is_empty() => Ok(ServiceAddress {
            interface,
            addr,
            prefix,
        }),
        // Read from its first colon on, it is no pair; whole, it is an IPv6
        // address: the interface was left out.
        _ if arg
            .split_once('/')
            .map_or(arg, |(a, _)| a)
            .parse::<Ipv6Addr>()
            .is_ok() =>
        {
            Err(vec![value_error(
                MSG_INVALID_PAIR,
                arg,
                context,
                Some("expected interface:pub_addr[/mask]; an IPv6 address needs its interface too"),
            )])
        }
        _ => Err(problems),
    }
}

fn pair_error(arg: &str, context: &str) -> String {
    value_error(
        MSG_INVALID_PAIR,
        arg,
        context,
        Some("expected interface:pub_addr[/mask]"),
    )
}

/// A non-negative decimal number made of ASCII digits only (no sign, no
/// spaces), if it fits in a `u64`.
pub fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
