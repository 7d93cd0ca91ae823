//! What both daemons need to run as daemons, apart from the protocol: the
//! boot epoch and the pid file.

pub mod epoch;
pub mod pidfile;
