//! The heartbeat forger of the keyed security scenario: every 2 ms, a
//! heartbeat that claims to be the primary's (its node id, a newer epoch,
//! HOLDS; once told, RECLAIM) signed with a key of the right id but the
//! wrong secret, and one of the genuine frames it was given, again.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use failover_core::wire::{
    Body, FrameRepr, Header, HeartbeatFlags, HeartbeatRepr, Key, Keyring, MAX_FRAME_LEN,
};
use failover_core::{LinkId, NodeId, Role};
use failover_host::net::{build_udp_frame, Channel};

use super::{newer_epoch, send, Attacker};
use crate::background::Background;

/// The heartbeat forger at work, in a thread (bounded: a minute at most).
#[derive(Debug)]
pub struct HeartbeatForger {
    reclaim: Arc<AtomicBool>,
    sent: Arc<AtomicU32>,
    thread: Background<()>,
}

impl HeartbeatForger {
    /// Starts forging on `ch` (the attacker's channel), in the primary's
    /// name with its heartbeat `interval`, replaying `captured` (genuine
    /// frames of the primary, whole Ethernet frames; at least one).
    pub fn start(
        mut ch: Channel,
        captured: Vec<Vec<u8>>,
        interval: failover_core::Duration,
    ) -> HeartbeatForger {
        let reclaim = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU32::new(0));
        let thread = {
            let (reclaim, sent) = (reclaim.clone(), sent.clone());
            Background::spawn(move |stop| {
                forge(&mut ch, &captured, interval, stop, &reclaim, &sent);
            })
        };
        HeartbeatForger {
            reclaim,
            sent,
            thread,
        }
    }

    /// From now on the forged heartbeats ask for the address back
    /// (RECLAIM instead of HOLDS).
    pub fn reclaim(&self) {
        self.reclaim.store(true, Ordering::Relaxed);
    }

    /// Stops the forger and returns how many rounds it sent: each a forged
    /// frame and a replayed one.
    pub fn stop(mut self) -> u64 {
        let _ = self.thread.halt();
        u64::from(self.sent.load(Ordering::Relaxed))
    }
}

/// The forger's loop.
fn forge(
    ch: &mut Channel,
    captured: &[Vec<u8>],
    interval: failover_core::Duration,
    stop: &AtomicBool,
    reclaim: &AtomicBool,
    sent: &AtomicU32,
) {
    let flow = Attacker::flow(ch);
    let wrong = Keyring::new(Key::new(1, b"not the deployment's secret key!").unwrap());
    let epoch = newer_epoch();
    let started = Instant::now();
    let mut frame = [0u8; 256];
    for seq in 0..100_000u32 {
        if stop.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        let flags = if reclaim.load(Ordering::Relaxed) {
            HeartbeatFlags::RECLAIM
        } else {
            HeartbeatFlags::HOLDS
        };
        let forged = FrameRepr {
            header: Header {
                sender: NodeId(u32::from_be_bytes([198, 51, 100, 1])),
                role: Role::Primary,
                link: LinkId(0),
                epoch,
                seq,
            },
            body: Body::Heartbeat(HeartbeatRepr {
                beat: seq,
                interval,
                ack_epoch: 0,
                ack_seq: 0,
                flags,
                message: Default::default(),
            }),
        };
        let mut payload = [0u8; MAX_FRAME_LEN];
        let len = forged.emit(&mut payload, Some(&wrong)).unwrap();
        let n = build_udp_frame(&mut frame, &flow, &payload[..len]).unwrap();
        send(ch, &frame[..n]);
        let replay = &captured[seq as usize % captured.len()];
        send(ch, replay);
        sent.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(2));
    }
}
