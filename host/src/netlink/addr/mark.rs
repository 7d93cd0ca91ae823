//! How the daemon marks the addresses it adds, so that it later recognises
//! them and only them: the label `<ifname>:fo` where the interface's name
//! leaves room for it, and always the address protocol [`ADDR_PROTO`]
//! (IFA_PROTO). Pure rules; why these two marks and what the kernel does
//! with them: the module documentation of [`super`].

use std::fmt;

use super::Ipv4IfAddr;

/// The suffix of the daemon's address label.
pub const LABEL_SUFFIX: &str = ":fo";
/// The longest label the kernel stores (IFNAMSIZ - 1).
pub const MAX_LABEL_LEN: usize = 15;
/// The longest interface name that leaves room for a distinguishable label
/// (the colon and at least one character): 13 bytes.
pub const MAX_LABELLED_IFNAME_LEN: usize = MAX_LABEL_LEN - 2;

/// The address protocol (IFA_PROTO) of every address the daemons add: 70,
/// ASCII `F` for failover. Any value the kernel does not use itself would
/// do (0 is "unspecified", 1 to 3 are the kernel's own: `kernel_lo`,
/// `kernel_ra`, `kernel_ll`); this one is fixed so that a daemon of any
/// version recognises what another added. iproute2 6.3 and later show it
/// as `proto 70` in `ip addr` (Debian 12's 6.1 does not show it;
/// `heartbeatd --status`/`failoverd --status` say whether the address is
/// on).
pub const ADDR_PROTO: u8 = 70;
// Never one of the kernel's own (0 unspecified, 1 to 3 IFAPROT_KERNEL_*).
const _: () = assert!(ADDR_PROTO > 3);

/// The label the daemon puts on the addresses it adds to `ifname`:
/// `<ifname>:fo`, or `<ifname>:f` for a 13-byte name. `None` for a 14- or
/// 15-byte name (or an empty one): a label must start with the name and fit
/// in [`MAX_LABEL_LEN`] bytes, which leaves no room for anything after the
/// colon, and a label equal to the name is what every unlabelled address
/// has. Those addresses are marked by [`ADDR_PROTO`] alone ([`Mark::Proto`]).
pub fn daemon_label(ifname: &str) -> Option<String> {
    if ifname.is_empty() || ifname.len() > MAX_LABELLED_IFNAME_LEN {
        return None;
    }
    let room = MAX_LABEL_LEN - ifname.len();
    let suffix = &LABEL_SUFFIX[..LABEL_SUFFIX.len().min(room)];
    Some(format!("{ifname}{suffix}"))
}

/// How the daemon recognises, and safely removes, one address it added on
/// one interface. Every address it adds also carries [`ADDR_PROTO`]; the
/// variants differ in what removal relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// The label (`<ifname>:fo`, or what the kernel made of it after a
    /// rename). A removal passes it, and the kernel deletes the address
    /// only if its label matches: an administrator's address is safe by
    /// the kernel's own rule, and addresses of daemons older than the
    /// protocol mark are recognised too.
    Label(String),
    /// The protocol mark alone, for interface names of 14 or 15 bytes. The
    /// kernel does not match IFA_PROTO on delete, so a removal reads the
    /// interface's addresses first and deletes only one carrying
    /// [`ADDR_PROTO`].
    Proto,
}

impl Mark {
    /// The mark of the addresses the daemon adds to `ifname` (its name now).
    pub fn for_interface(ifname: &str) -> Mark {
        daemon_label(ifname).map_or(Mark::Proto, Mark::Label)
    }

    /// The label to add with, if any (none: the kernel gives the address
    /// the interface's name, as for any unlabelled address).
    pub fn label(&self) -> Option<&str> {
        match self {
            Mark::Label(l) => Some(l),
            Mark::Proto => None,
        }
    }

    /// The mark after the interface is renamed to `new_ifname`: a label
    /// changes as the kernel changes it ([`renamed_label`]), the protocol
    /// does not change at all.
    #[must_use]
    pub fn renamed(&self, new_ifname: &str) -> Mark {
        match self {
            Mark::Label(l) => Mark::Label(renamed_label(l, new_ifname)),
            Mark::Proto => Mark::Proto,
        }
    }
}

impl fmt::Display for Mark {
    /// `label pub0:fo`, or `protocol 70`: how the logs name the mark.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mark::Label(l) => write!(f, "label {l}"),
            Mark::Proto => write!(f, "protocol {ADDR_PROTO}"),
        }
    }
}

/// Whether `a`, found on the interface called `ifname`, is one the daemon
/// added: it carries the daemon's label for that name or the daemon's
/// protocol. The label alone covers addresses added by a daemon older than
/// the protocol mark, or on a kernel that does not keep it.
pub fn is_ours(ifname: &str, a: &Ipv4IfAddr) -> bool {
    a.proto == ADDR_PROTO || daemon_label(ifname).is_some_and(|l| a.label == l)
}

/// How to remove `a`, found on `ifname` and recognised as ours
/// ([`is_ours`]): under its label if it carries the daemon's label (the
/// kernel then checks it), by the protocol otherwise. `None` if it is not
/// ours.
pub fn mark_of(ifname: &str, a: &Ipv4IfAddr) -> Option<Mark> {
    match daemon_label(ifname) {
        Some(l) if a.label == l => Some(Mark::Label(l)),
        _ if a.proto == ADDR_PROTO => Some(Mark::Proto),
        _ => None,
    }
}

/// The label the kernel gives an address labelled `label` when its
/// interface is renamed to `new_ifname` (`inetdev_changename` in
/// `net/ipv4/devinet.c`): the new name followed by the old label's part from
/// its colon on (`pub0:fo` becomes `lan1:fo`), the name cut short when both
/// do not fit in [`MAX_LABEL_LEN`] bytes. The daemon tracks its labelled
/// addresses through a rename with it, so it still removes exactly what it
/// added (addresses marked by [`Mark::Proto`] need no tracking).
///
/// One kernel exception this cannot know: the interface's *first* address
/// gets the bare new name (and an address whose label had no colon gets
/// `:<n>`). The daemon's address is never first on an interface that has an
/// address of its own; the daemon reads the labels back from the kernel
/// after a rename to cover the other case.
pub fn renamed_label(label: &str, new_ifname: &str) -> String {
    let suffix = label.find(':').and_then(|at| label.get(at..)).unwrap_or("");
    let room = MAX_LABEL_LEN.saturating_sub(suffix.len());
    let mut cut = new_ifname.len().min(room);
    // Names are ASCII in practice; never split a character all the same.
    while !new_ifname.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", new_ifname.get(..cut).unwrap_or(""))
}
