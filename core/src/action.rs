//! What the state machines ask their host to do. Core never performs an
//! effect itself: it queues an [`Action`] (or a frame, see
//! [`Transmit`]) and the host, the firmware or the simulator carries it out.

use crate::node::LinkId;
use crate::wire::DenyReason;

/// A script stage, as in Apple's `/Library/IPFailover/<addr>/` directory:
/// every executable whose name starts with the stage name runs, in lexical
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Before acquiring: a non-zero exit vetoes the takeover.
    Test,
    /// Before the addresses are added: a non-zero exit cancels the takeover.
    PreAcq,
    /// After the addresses are added and announced.
    PostAcq,
    /// Before the addresses are removed.
    PreRel,
    /// After the addresses are removed.
    PostRel,
    /// The primary's periodic health check (`heartbeatd`'s Check scripts):
    /// a non-zero exit is a failed check. Never asked for by a machine: the
    /// host runs it on its own schedule and reports the health
    /// (`Primary::set_healthy`).
    Check,
}

impl Stage {
    /// The script name prefix, exactly as Apple spelled it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Test => "Test",
            Stage::PreAcq => "PreAcq",
            Stage::PostAcq => "PostAcq",
            Stage::PreRel => "PreRel",
            Stage::PostRel => "PostRel",
            Stage::Check => "Check",
        }
    }

    /// Whether the stage stops at its first failing script (the veto
    /// stages, and a health check: one failure decides it).
    #[must_use]
    pub const fn stops_at_failure(self) -> bool {
        matches!(self, Stage::Test | Stage::PreAcq | Stage::Check)
    }

    /// The first argument scripts receive: `acquire` or `release`.
    #[must_use]
    pub const fn operation(self) -> &'static str {
        match self {
            Stage::Test | Stage::PreAcq | Stage::PostAcq => "acquire",
            Stage::PreRel | Stage::PostRel => "release",
            Stage::Check => "check",
        }
    }
}

/// How a script stage ended, as the host reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageOutcome {
    /// Every script exited 0 (or there were none).
    Success,
    /// A script exited with this non-zero status (or was killed by a signal,
    /// reported as 128 + signal number, as shells do).
    Failed(i32),
    /// A script outlived its time limit and was killed.
    TimedOut,
}

impl StageOutcome {
    /// Whether the stage succeeded.
    #[must_use]
    pub const fn is_success(self) -> bool {
        matches!(self, StageOutcome::Success)
    }
}

/// A bit set of links, for reporting which networks are silent or alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct LinkMask(pub u8);

impl LinkMask {
    /// No link.
    pub const NONE: LinkMask = LinkMask(0);

    /// The first `n` links.
    #[must_use]
    pub const fn first(n: u8) -> LinkMask {
        if n >= 8 {
            LinkMask(0xff)
        } else {
            LinkMask((1u8 << n) - 1)
        }
    }
    /// Whether `link` is in the set.
    #[must_use]
    pub const fn contains(self, link: LinkId) -> bool {
        link.0 < 8 && self.0 & (1 << link.0) != 0
    }
    /// The set with `link` added.
    #[must_use]
    pub const fn with(self, link: LinkId) -> LinkMask {
        if link.0 < 8 {
            LinkMask(self.0 | (1 << link.0))
        } else {
            self
        }
    }
    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Something an administrator should hear about: always logged, and mailed
/// when the host is configured to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The secondary took over the service addresses (PostAcq has run).
    TookOver,
    /// The primary is silent on some links but not all: no takeover.
    /// `silent` names the silent links.
    NetworkAnomaly {
        /// The links on which the primary is silent.
        silent: LinkMask,
    },
    /// The primary is heard on every link again after an anomaly.
    NetworkRestored,
    /// The secondary released the service addresses (PostRel has run).
    Relinquished,
    /// A Test or PreAcq script refused the takeover.
    Vetoed {
        /// The stage that refused.
        stage: Stage,
        /// How it ended.
        outcome: StageOutcome,
    },
    /// A PostAcq, PreRel or PostRel script failed; the sequence went on.
    ScriptFailed {
        /// The stage that failed.
        stage: Stage,
        /// How it ended.
        outcome: StageOutcome,
    },
    /// A takeover was abandoned before the addresses were added because the
    /// primary was heard again.
    TakeoverCancelled,
    /// The witness grant ran out unrenewed (the witness, or the path to it,
    /// is gone); with policy "required" the secondary dropped the addresses.
    LeaseExpired,
    /// The witness stopped answering or beating.
    WitnessLost,
    /// The witness is heard again.
    WitnessRegained,
    /// The witness refused a takeover request.
    WitnessDenied {
        /// Why.
        reason: DenyReason,
    },
    /// Without a reachable witness, policy "preferred" fell back to Apple's
    /// rule after the longer hold-down.
    WitnessFallback,
    /// The primary took the service addresses (after the reclaim handshake,
    /// or after the secondary's silence).
    Acquired,
    /// The primary removed its own addresses because the secondary holds
    /// them (it was frozen or cut off while the secondary took over).
    Yielded,
    /// The primary removed its addresses because it heard neither the
    /// secondary nor the witness: it is the one cut off.
    Isolated,
    /// This node was not scheduled (frozen, suspended) for longer than its
    /// peers need to declare it dead; it dropped the addresses it held and
    /// listens afresh.
    Stalled,
    /// The peer server is silent on every link (for the primary: the
    /// backup is gone and the service is unprotected).
    PeerLost,
    /// The peer server is heard again.
    PeerRegained,
    /// The witness granted a takeover to `subject` (witness only).
    Granted,
    /// The grant ended: released by the holder or expired (witness only).
    GrantEnded,
    /// This server cannot reach clients where the service addresses live:
    /// a service interface lost its carrier, or its probe target stopped
    /// answering (the reachability rule). A primary that holds the
    /// addresses hands them to the secondary if the secondary can serve.
    Unreachable,
    /// This server's service network has been reachable again for the
    /// settling time.
    Reachable,
    /// The primary removed its addresses so that the secondary, which can
    /// be reached, serves them (primary only).
    HandedOver,
    /// The primary, unreachable or on the operator's request, asked this
    /// node to serve; the takeover follows (secondary only).
    PrimaryHandedOver {
        /// The operator asked for it (`heartbeatd --handover`); otherwise
        /// the primary cannot be reached where the addresses live.
        planned: bool,
    },
    /// The operator asked the primary to hand the service over
    /// (`heartbeatd --handover`): it removed its addresses (if it held
    /// them) and asks the secondary to serve (primary only).
    HandoverStarted,
    /// A handover the operator asked for did not happen: the secondary did
    /// not take the addresses in time (a script or the witness refused),
    /// so the primary stopped standing by and serves again (primary only).
    HandoverFailed,
    /// The secondary serves and the primary stands by, not asking for the
    /// addresses back (failback is manual, or the operator handed the
    /// service over) until `heartbeatd --reclaim` (primary only).
    StandingBy,
    /// The primary stood by on the operator's request, and took the
    /// addresses because the secondary no longer served them (a script
    /// refused, it released them, or it is gone) (primary only).
    StandbyEnded,
    /// The primary's health checks (its Check scripts) fail: clients
    /// cannot be served well here, and the primary hands the service to
    /// the secondary if the secondary can serve (primary only).
    CheckFailed,
    /// The health checks pass again, and have for the settling time
    /// (primary only).
    CheckPassed,
    /// The host could not remove the service addresses: this node keeps
    /// saying it holds them, so the peer does not add them, and asks for
    /// the removal again, with growing waits ([`crate::removal`]).
    RemovalFailed,
    /// A removal that had failed has now worked: the handshake goes on.
    RemovalRecovered,
    /// The peer server (for the witness: the primary) advertises a
    /// heartbeat interval outside 1/4..4 times this node's expected one
    /// (`detector::INTERVAL_TRUST`): a configuration mismatch, or a forged
    /// frame. Its detector uses the nearest end of the range instead.
    IntervalRefused {
        /// What the peer's frame claimed.
        advertised: crate::time::Duration,
        /// What the detector uses.
        used: crate::time::Duration,
    },
    /// The host did not drain this machine's actions for so long that its
    /// bounded queue dropped the oldest `count` of them (since the last
    /// such notice): effects the host never carried out (an address not
    /// removed, a script stage not run). A bug in the host's loop; this
    /// notice comes where the lost actions would have. The running total is
    /// [`Stats::actions_dropped`](crate::Stats::actions_dropped).
    ActionsLost {
        /// How many actions were dropped.
        count: u32,
    },
}

impl Event {
    /// The event's name, without its fields: for logs (the daemons' and the
    /// witness firmware's), the daemons' `X-Failover-Event` mail header and
    /// filters. Stable: administrators match on it.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Event::TookOver => "TookOver",
            Event::NetworkAnomaly { .. } => "NetworkAnomaly",
            Event::NetworkRestored => "NetworkRestored",
            Event::Relinquished => "Relinquished",
            Event::Vetoed { .. } => "Vetoed",
            Event::ScriptFailed { .. } => "ScriptFailed",
            Event::TakeoverCancelled => "TakeoverCancelled",
            Event::LeaseExpired => "LeaseExpired",
            Event::WitnessLost => "WitnessLost",
            Event::WitnessRegained => "WitnessRegained",
            Event::WitnessDenied { .. } => "WitnessDenied",
            Event::WitnessFallback => "WitnessFallback",
            Event::Acquired => "Acquired",
            Event::Yielded => "Yielded",
            Event::Unreachable => "Unreachable",
            Event::Reachable => "Reachable",
            Event::HandedOver => "HandedOver",
            Event::PrimaryHandedOver { .. } => "PrimaryHandedOver",
            Event::HandoverStarted => "HandoverStarted",
            Event::HandoverFailed => "HandoverFailed",
            Event::StandingBy => "StandingBy",
            Event::StandbyEnded => "StandbyEnded",
            Event::CheckFailed => "CheckFailed",
            Event::CheckPassed => "CheckPassed",
            Event::RemovalFailed => "RemovalFailed",
            Event::RemovalRecovered => "RemovalRecovered",
            Event::Isolated => "Isolated",
            Event::Stalled => "Stalled",
            Event::PeerLost => "PeerLost",
            Event::PeerRegained => "PeerRegained",
            Event::Granted => "Granted",
            Event::GrantEnded => "GrantEnded",
            Event::IntervalRefused { .. } => "IntervalRefused",
            Event::ActionsLost { .. } => "ActionsLost",
        }
    }
}

/// An effect the host carries out. Frames are not actions: see
/// `Machine::poll_transmit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run every script of `stage` (for every service address), then report
    /// with `Machine::handle_stage_done`. The machine keeps beating and
    /// detecting meanwhile.
    RunStage(Stage),
    /// Add the service addresses to their interfaces.
    AddAddresses,
    /// Announce the service addresses (gratuitous ARP).
    Announce,
    /// Remove the service addresses from their interfaces, and report how
    /// it ended with `Server::handle_removal`.
    RemoveAddresses,
    /// Tell the administrator.
    Notify(Event),
    /// Witness only: drive the fence output (true = asserted).
    SetFence(bool),
    /// This node moved to a new epoch on its own, because its frame counter
    /// ran out (docs/protocol.md, "Epochs"): store it where the next start
    /// reads its last epoch, so no later start can choose it again.
    PersistEpoch(u32),
    /// Without a key: `peer`'s epoch `epoch` has settled (corroborated, and
    /// heard for a whole dead time; see `crate::epochs`). Store it next to
    /// this node's own epoch and hand it back at the next start (the
    /// machines' `remember_peer_epoch`), so frames of the peer's earlier
    /// lives stay refused after this node restarts.
    PersistPeerEpoch {
        /// The peer.
        peer: crate::node::NodeId,
        /// Its settled epoch.
        epoch: u32,
    },
}

/// Where a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// The link's configured heartbeat targets (broadcast or unicast),
    /// as in `FAILOVER_BCAST_IPS`.
    Peers,
    /// The witness's address.
    Witness,
}

/// A frame ready to send: the bytes are in the buffer given to
/// `Machine::poll_transmit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// The link to send on.
    pub link: LinkId,
    /// To whom.
    pub dest: Dest,
    /// The frame's length in the buffer.
    pub len: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::DenyReason;

    #[test]
    fn an_event_name_ignores_the_fields() {
        let denied = |reason| Event::WitnessDenied { reason }.name();
        assert_eq!(
            denied(DenyReason::PrimaryAlive),
            denied(DenyReason::Fencing)
        );
        assert_eq!(denied(DenyReason::Other), "WitnessDenied");
        let vetoed = |outcome| {
            Event::Vetoed {
                stage: Stage::Test,
                outcome,
            }
            .name()
        };
        assert_eq!(
            vetoed(StageOutcome::TimedOut),
            vetoed(StageOutcome::Failed(1))
        );
    }
}
