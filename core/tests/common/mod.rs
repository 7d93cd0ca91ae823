//! What more than one of the core's test binaries checks against, kept in
//! one place so that they cannot drift apart (the simulator's own shared
//! code is `sim/`).

use failover_core::{Action, Event, Stage};

/// The secondary's takeover, action by action, in Apple's order (the
/// notice of the peer's loss, the Test, PreAcq stages, the addresses added
/// and announced, PostAcq, the notice that it took over): the same whether
/// the primary is one of ours or a Mac.
pub const TAKEOVER: [Action; 7] = [
    Action::Notify(Event::PeerLost),
    Action::RunStage(Stage::Test),
    Action::RunStage(Stage::PreAcq),
    Action::AddAddresses,
    Action::Announce,
    Action::RunStage(Stage::PostAcq),
    Action::Notify(Event::TookOver),
];
