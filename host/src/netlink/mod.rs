//! The kernel's view of the interfaces over rtnetlink: their addresses, and
//! adding and removing the service addresses ([`addr`]), and their carrier
//! as it changes ([`linkwatch`]), with the interfaces followed by name
//! through deletions, re-creations and renames ([`follow`]).

pub mod addr;
pub mod follow;
pub mod linkwatch;
pub mod message;
