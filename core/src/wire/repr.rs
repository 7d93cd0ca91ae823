//! The high-level representation of a frame. `FrameRepr::parse` and
//! `FrameRepr::emit` live in `packet.rs`, next to the byte layout they read
//! and write.

use super::MAX_MESSAGE_LEN;
use crate::node::{LinkId, NodeId, Role};
use crate::time::Duration;

/// The fields every frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Who sent the frame.
    pub sender: NodeId,
    /// The part the sender plays.
    pub role: Role,
    /// The sender's link the frame was sent on (0 = private, 1 = public).
    pub link: LinkId,
    /// Chosen by the sender at boot, larger than any epoch it used before;
    /// with `seq` it orders the sender's frames for replay protection.
    pub epoch: u32,
    /// Counts every frame the sender sends within one epoch, on all links.
    pub seq: u32,
}

/// The flags of a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeartbeatFlags(pub u8);

impl HeartbeatFlags {
    /// The sender holds the service addresses, or is part-way through
    /// acquiring or releasing them (so they may be on its interfaces).
    pub const HOLDS: HeartbeatFlags = HeartbeatFlags(0x01);
    /// The primary asks the secondary to release the service addresses.
    pub const RECLAIM: HeartbeatFlags = HeartbeatFlags(0x02);
    /// The secondary finished releasing the addresses in answer to the
    /// reclaim of the primary epoch named in `ack_epoch`.
    pub const RELEASED: HeartbeatFlags = HeartbeatFlags(0x04);
    /// The sender cannot serve clients now: a service interface has no
    /// carrier, or its probe target does not answer, or it came back too
    /// recently to be trusted (the reachability rule). A secondary does not
    /// give the addresses back to a primary that says this.
    pub const UNREACHABLE: HeartbeatFlags = HeartbeatFlags(0x08);
    /// The primary does not hold the addresses and asks the secondary to
    /// serve them: it cannot be reached where they live (with
    /// `UNREACHABLE`).
    pub const HANDOVER: HeartbeatFlags = HeartbeatFlags(0x10);
    /// The flags this version defines; others are ignored on receipt.
    pub const KNOWN: HeartbeatFlags = HeartbeatFlags(0x1F);

    /// No flag set.
    pub const fn empty() -> Self {
        HeartbeatFlags(0)
    }
    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: HeartbeatFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// `self` with the flags of `other` set.
    pub const fn with(self, other: HeartbeatFlags) -> Self {
        HeartbeatFlags(self.0 | other.0)
    }
    /// `self` with the flags of `other` set when `on`.
    pub const fn with_if(self, other: HeartbeatFlags, on: bool) -> Self {
        if on {
            self.with(other)
        } else {
            self
        }
    }
}

/// A heartbeat: "I am alive, here is my state".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRepr {
    /// The heartbeat round; the same on every link for one round, so a
    /// receiver measures each link's loss from the gaps.
    pub beat: u32,
    /// How often the sender beats; the receiver's detector scales to it.
    /// Carried in microseconds.
    pub interval: Duration,
    /// The epoch of the last heartbeat the sender heard from its peer server
    /// (0 when none).
    pub ack_epoch: u32,
    /// The sequence number of that heartbeat. With `ack_epoch` it proves
    /// which of the primary's frames the secondary had processed when it
    /// sent this one: how the primary knows the secondary has seen this
    /// reclaim request, and recently.
    pub ack_seq: u32,
    /// State the receiver acts on.
    pub flags: HeartbeatFlags,
    /// Free text for the administrator (Apple's `heartbeatd -m`).
    pub message: heapless::Vec<u8, MAX_MESSAGE_LEN>,
}

/// The witness exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WitnessKind {
    /// Secondary to witness: may I take the service addresses?
    Request,
    /// Witness to secondary: yes, for the lease that follows.
    Grant,
    /// Witness to secondary: no, and why.
    Deny,
    /// Secondary to witness: I no longer need the grant.
    Release,
}

/// Why a witness refused a takeover request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DenyReason {
    /// Not a refusal (used in frames other than `Deny`).
    None = 0,
    /// The witness still hears the primary.
    PrimaryAlive = 1,
    /// Another node holds the one outstanding grant.
    GrantOutstanding = 2,
    /// The requester is not the configured secondary.
    NotSecondary = 3,
    /// The witness is driving its fence output; ask again shortly.
    Fencing = 4,
    /// The witness has not listened long enough to know: it has just
    /// started, or heard nobody for longer than a dead time (its own link
    /// was down), and counts the primary's silence afresh; ask again.
    Listening = 5,
    /// A reason this version does not know.
    Other = 255,
}

impl DenyReason {
    /// The reason with wire code `code`; unknown codes become `Other`.
    pub const fn from_u8(code: u8) -> DenyReason {
        match code {
            0 => DenyReason::None,
            1 => DenyReason::PrimaryAlive,
            2 => DenyReason::GrantOutstanding,
            3 => DenyReason::NotSecondary,
            4 => DenyReason::Fencing,
            5 => DenyReason::Listening,
            _ => DenyReason::Other,
        }
    }
}

/// A witness-exchange frame. One layout serves all four kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WitnessRepr {
    /// Which message this is.
    pub kind: WitnessKind,
    /// Chosen by the requester, echoed in the answer: a grant answers one
    /// request and cannot be replayed to answer another.
    pub nonce: u32,
    /// The node the message is about: the requester, or the grantee.
    pub subject: NodeId,
    /// For a grant, how long it lasts from when the request was sent
    /// (millisecond resolution on the wire); zero otherwise.
    pub lease: Duration,
    /// For a deny, why; `DenyReason::None` otherwise.
    pub reason: DenyReason,
}

/// What a frame says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A heartbeat.
    Heartbeat(HeartbeatRepr),
    /// A witness exchange message.
    Witness(WitnessRepr),
}

/// A whole frame: header and body. Authentication is applied by `emit` and
/// checked by `parse`; it is not part of the representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRepr {
    /// Sender and ordering.
    pub header: Header,
    /// The message.
    pub body: Body,
}
