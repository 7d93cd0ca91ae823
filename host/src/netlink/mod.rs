//! The kernel's view of the interfaces over rtnetlink: their addresses, and
//! adding and removing the service addresses ([`addr`]), and their carrier
//! as it changes ([`linkwatch`]).

pub mod addr;
pub mod linkwatch;
