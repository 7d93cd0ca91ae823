//! The daemon's interfaces followed **by name**: which configured interface
//! a link notification is about, and what it means for it — a carrier
//! change, the interface gone, an interface of that name back (under a new
//! index), or the interface renamed.
//!
//! An interface that is deleted and re-created (a VLAN or bond rebuilt, a
//! driver reloaded, `ifdown`/`ifup` of a virtual interface) comes back with
//! a new index. The kernel addresses everything by index (AF_PACKET
//! sockets, addresses), so a daemon that remembered only the index at start
//! would stay deaf and mute on it until restarted. The administrator names
//! interfaces, so the daemon follows names; this table turns the kernel's
//! index-based notifications into events about the configured names.
//!
//! # Renames
//!
//! A rename keeps the index (and the kernel keeps the addresses, the
//! sockets and the carrier with it). The decision: the daemon keeps
//! following the renamed interface **by its index**, under its new name,
//! until an interface with the configured name appears; then it moves to
//! that one ([`LinkEvent::Appeared`] says which one it leaves). So a rename
//! and back (`ip link set pub0 name tmp; ip link set tmp name pub0`) loses
//! nothing, and a rename that makes room for a replacement (the old
//! interface kept aside, a new one given its name) moves the service
//! there. The kernel renames the labels of the addresses along with the
//! interface (see [`crate::netlink::addr::renamed_label`]); the daemon
//! tracks that, so it removes exactly what it added (an address marked by
//! the address protocol alone needs no tracking: the kernel keeps the
//! protocol through a rename).
//!
//! Pure: no socket here ([`super::linkwatch`] reads the kernel and feeds
//! this), so every case is unit-tested.

/// One link notification, reduced to what the table needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkMsg {
    /// RTM_NEWLINK: the interface `index` exists, is called `name`, and has
    /// a carrier (up and lower-up) or not.
    New {
        /// Its index.
        index: u32,
        /// Its name now.
        name: String,
        /// Up and IFF_LOWER_UP.
        carrier: bool,
    },
    /// RTM_DELLINK: the interface `index` is gone.
    Del {
        /// Its index.
        index: u32,
    },
}

/// What a notification meant for a followed interface. `name` is always
/// the configured name (what the administrator wrote, what the logs and
/// the rest of the daemon use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// Its carrier changed.
    Carrier {
        /// The configured name.
        name: String,
        /// Whether it has a carrier now.
        carrier: bool,
    },
    /// The interface followed is gone: no carrier until one of that name
    /// is back.
    Vanished {
        /// The configured name.
        name: String,
        /// The index it had.
        index: u32,
        /// What it was called when it went (the configured name, unless it
        /// had been renamed).
        called: String,
    },
    /// An interface with the configured name exists (again), under `index`.
    Appeared {
        /// The configured name.
        name: String,
        /// Its index now.
        index: u32,
        /// Whether it has a carrier.
        carrier: bool,
        /// The renamed interface followed until now (its index and its
        /// name), which the daemon leaves for this one.
        replaces: Option<(u32, String)>,
    },
    /// The interface followed was renamed (same index): followed on under
    /// its new name, `now`, until an interface named `name` appears.
    Renamed {
        /// The configured name.
        name: String,
        /// Its index (unchanged).
        index: u32,
        /// What it is called now (the configured name when renamed back).
        now: String,
    },
}

/// One followed interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    /// The configured name.
    pub name: String,
    /// The index followed, `None` while no such interface exists.
    pub index: Option<u32>,
    /// What the interface followed is called now (differs from `name`
    /// after a rename).
    pub called: String,
    /// Whether it has a carrier (never while gone).
    pub carrier: bool,
}

impl Followed {
    /// An interface found at start under `index`.
    pub fn found(name: &str, index: u32, carrier: bool) -> Self {
        Followed {
            name: name.to_owned(),
            index: Some(index),
            called: name.to_owned(),
            carrier,
        }
    }
}

/// The followed interfaces, kept current from link notifications.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Follow {
    list: Vec<Followed>,
}

impl Follow {
    /// Follows `list` (configured names, each once).
    pub fn new(list: Vec<Followed>) -> Self {
        Follow { list }
    }

    /// The interfaces, in the order given at start.
    pub fn iter(&self) -> impl Iterator<Item = &Followed> {
        self.list.iter()
    }

    /// Applies one notification; the events it means, in order (at most
    /// two: an interface that takes a followed one's name while another is
    /// followed by index gives `Appeared`, and a notification can be about
    /// two followed names at once only through a rename onto another's
    /// configured name).
    pub fn apply(&mut self, msg: &LinkMsg) -> Vec<LinkEvent> {
        let mut events = Vec::new();
        match msg {
            LinkMsg::Del { index } => {
                if let Some(f) = self.list.iter_mut().find(|f| f.index == Some(*index)) {
                    f.index = None;
                    f.carrier = false;
                    events.push(LinkEvent::Vanished {
                        name: f.name.clone(),
                        index: *index,
                        called: std::mem::replace(&mut f.called, f.name.clone()),
                    });
                }
            }
            LinkMsg::New {
                index,
                name,
                carrier,
            } => {
                // An interface that has the configured name is followed,
                // whatever was followed under that name before (a renamed
                // one; or a deleted one whose DELLINK was lost).
                if let Some(f) = self
                    .list
                    .iter_mut()
                    .find(|f| f.name == *name && f.index != Some(*index))
                {
                    let replaces = f
                        .index
                        .filter(|_| f.called != f.name)
                        .map(|old| (old, f.called.clone()));
                    f.index = Some(*index);
                    f.called.clone_from(name);
                    f.carrier = *carrier;
                    events.push(LinkEvent::Appeared {
                        name: f.name.clone(),
                        index: *index,
                        carrier: *carrier,
                        replaces,
                    });
                    // That interface may have been followed under another
                    // configured name (renamed onto this one): it is not
                    // that one's any more.
                    for other in self
                        .list
                        .iter_mut()
                        .filter(|o| o.name != *name && o.index == Some(*index))
                    {
                        other.index = None;
                        other.carrier = false;
                        events.push(LinkEvent::Vanished {
                            name: other.name.clone(),
                            index: *index,
                            called: std::mem::replace(&mut other.called, other.name.clone()),
                        });
                    }
                    return events;
                }
                if let Some(f) = self.list.iter_mut().find(|f| f.index == Some(*index)) {
                    if f.called != *name {
                        f.called.clone_from(name);
                        events.push(LinkEvent::Renamed {
                            name: f.name.clone(),
                            index: *index,
                            now: name.clone(),
                        });
                    }
                    if f.carrier != *carrier {
                        f.carrier = *carrier;
                        events.push(LinkEvent::Carrier {
                            name: f.name.clone(),
                            carrier: *carrier,
                        });
                    }
                }
            }
        }
        events
    }

    /// After lost notifications: `links` is every interface that exists
    /// now. Interfaces followed that are not among them are gone; the rest
    /// is applied as notifications.
    pub fn resync(&mut self, links: &[LinkMsg]) -> Vec<LinkEvent> {
        let exists = |i: u32| {
            links
                .iter()
                .any(|l| matches!(l, LinkMsg::New { index, .. } if *index == i))
        };
        let gone: Vec<u32> = self
            .list
            .iter()
            .filter_map(|f| f.index)
            .filter(|i| !exists(*i))
            .collect();
        let mut events = Vec::new();
        for index in gone {
            events.extend(self.apply(&LinkMsg::Del { index }));
        }
        for l in links {
            events.extend(self.apply(l));
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(index: u32, name: &str, carrier: bool) -> LinkMsg {
        LinkMsg::New {
            index,
            name: name.to_owned(),
            carrier,
        }
    }

    fn pub0() -> Follow {
        Follow::new(vec![
            Followed::found("priv0", 2, true),
            Followed::found("pub0", 3, true),
        ])
    }

    #[test]
    fn carrier_changes_are_matched_by_index_and_reported_once() {
        let mut f = pub0();
        assert_eq!(
            f.apply(&new(3, "pub0", false)),
            [LinkEvent::Carrier {
                name: "pub0".into(),
                carrier: false
            }]
        );
        assert!(f.apply(&new(3, "pub0", false)).is_empty(), "no change");
        assert!(f.apply(&new(9, "eth7", true)).is_empty(), "not followed");
        assert!(f.apply(&LinkMsg::Del { index: 9 }).is_empty());
    }

    #[test]
    fn deleted_and_recreated_is_followed_by_name() {
        let mut f = pub0();
        // The kernel says "down" before it deletes.
        f.apply(&new(3, "pub0", false));
        assert_eq!(
            f.apply(&LinkMsg::Del { index: 3 }),
            [LinkEvent::Vanished {
                name: "pub0".into(),
                index: 3,
                called: "pub0".into()
            }]
        );
        assert_eq!(f.iter().nth(1).and_then(|x| x.index), None);
        // A notification about the old index means nothing any more.
        assert!(f.apply(&new(3, "pub0-old", true)).is_empty());
        // Re-created: down at first, then up.
        assert_eq!(
            f.apply(&new(308, "pub0", false)),
            [LinkEvent::Appeared {
                name: "pub0".into(),
                index: 308,
                carrier: false,
                replaces: None
            }]
        );
        assert_eq!(
            f.apply(&new(308, "pub0", true)),
            [LinkEvent::Carrier {
                name: "pub0".into(),
                carrier: true
            }]
        );
        assert!(f.iter().all(|x| x.carrier));
    }

    #[test]
    fn a_lost_dellink_still_moves_to_the_new_interface() {
        let mut f = pub0();
        assert_eq!(
            f.apply(&new(40, "pub0", true)),
            [LinkEvent::Appeared {
                name: "pub0".into(),
                index: 40,
                carrier: true,
                replaces: None
            }]
        );
    }

    #[test]
    fn a_renamed_interface_is_followed_by_index_until_the_name_is_taken() {
        let mut f = pub0();
        assert_eq!(
            f.apply(&new(3, "pubX", true)),
            [LinkEvent::Renamed {
                name: "pub0".into(),
                index: 3,
                now: "pubX".into()
            }]
        );
        assert_eq!(
            f.apply(&new(3, "pubX", false)),
            [LinkEvent::Carrier {
                name: "pub0".into(),
                carrier: false
            }],
            "still followed: its carrier counts"
        );
        // Renamed back: nothing else changes.
        assert_eq!(
            f.apply(&new(3, "pub0", false)),
            [LinkEvent::Renamed {
                name: "pub0".into(),
                index: 3,
                now: "pub0".into()
            }]
        );
        // Renamed away again, and a new interface takes the name.
        f.apply(&new(3, "pub0-old", false));
        assert_eq!(
            f.apply(&new(50, "pub0", true)),
            [LinkEvent::Appeared {
                name: "pub0".into(),
                index: 50,
                carrier: true,
                replaces: Some((3, "pub0-old".into()))
            }]
        );
        // The old one is nothing to us now.
        assert!(f.apply(&LinkMsg::Del { index: 3 }).is_empty());
    }

    #[test]
    fn a_renamed_interface_that_is_deleted_vanishes_under_its_new_name() {
        let mut f = pub0();
        f.apply(&new(3, "pubX", true));
        assert_eq!(
            f.apply(&LinkMsg::Del { index: 3 }),
            [LinkEvent::Vanished {
                name: "pub0".into(),
                index: 3,
                called: "pubX".into()
            }]
        );
        assert_eq!(f.iter().nth(1).map(|x| x.called.as_str()), Some("pub0"));
    }

    #[test]
    fn renamed_onto_another_followed_name_moves_it() {
        let mut f = pub0();
        f.apply(&LinkMsg::Del { index: 2 });
        assert_eq!(
            f.apply(&new(3, "priv0", true)),
            [
                LinkEvent::Appeared {
                    name: "priv0".into(),
                    index: 3,
                    carrier: true,
                    replaces: None
                },
                LinkEvent::Vanished {
                    name: "pub0".into(),
                    index: 3,
                    called: "pub0".into()
                }
            ]
        );
    }

    #[test]
    fn resync_finds_what_the_lost_notifications_said() {
        let mut f = pub0();
        let events = f.resync(&[new(1, "lo", true), new(77, "pub0", true)]);
        assert_eq!(
            events,
            [
                LinkEvent::Vanished {
                    name: "priv0".into(),
                    index: 2,
                    called: "priv0".into()
                },
                LinkEvent::Vanished {
                    name: "pub0".into(),
                    index: 3,
                    called: "pub0".into()
                },
                LinkEvent::Appeared {
                    name: "pub0".into(),
                    index: 77,
                    carrier: true,
                    replaces: None
                }
            ]
        );
    }
}
