//! The grant forger of the witness scenarios: an attacker on the private
//! network that first records the witness's real grants and then, once told
//! to forge, answers each request of the secondary with grants for that
//! very request (its nonce and subject, from the witness's node id and
//! address): unsigned, signed with a wrong secret under the deployment's
//! key id, signed with a key id nobody holds, and one of the recorded real
//! grants again. A secondary that believed any of them would take the
//! address from a live primary.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use failover_core::wire::{
    Body, DenyReason, FrameRepr, Header, Key, Keyring, WitnessKind, WitnessRepr, DEFAULT_PORT,
    MAX_FRAME_LEN,
};
use failover_core::{LinkId, NodeId, Role};
use failover_host::net::{build_udp_frame, parse_udp_frame, Channel, MacAddr, UdpFlow};

use super::{newer_epoch, send};
use crate::background::Background;
use crate::witness::{WITNESS_IP, WITNESS_MAC};

/// What the grant forger did.
#[derive(Debug, Default, Clone)]
pub struct Forged {
    /// Real grants of the witness it captured (whole Ethernet frames).
    pub captured: Vec<Vec<u8>>,
    /// Requests of the secondary it answered.
    pub requests: u64,
    /// Grants it sent unsigned.
    pub unsigned: u64,
    /// Grants signed with a wrong secret under the deployment's key id.
    pub wrong_key: u64,
    /// Grants signed with a key id nobody holds.
    pub unknown_key: u64,
    /// Captured real grants it sent again.
    pub replayed: u64,
}

impl Forged {
    /// The grants it made up (not the replayed real ones).
    pub fn unauthentic(&self) -> u64 {
        self.unsigned + self.wrong_key + self.unknown_key
    }
}

/// The grant forger at work, in a thread (bounded: two minutes at most).
#[derive(Debug)]
pub struct GrantForger {
    forge: Arc<AtomicBool>,
    done: Arc<Mutex<Forged>>,
    _thread: Background<()>,
}

fn lock(m: &Mutex<Forged>) -> std::sync::MutexGuard<'_, Forged> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl GrantForger {
    /// Starts recording real grants on `ch` (the attacker's channel).
    pub fn start(mut ch: Channel) -> GrantForger {
        let forge = Arc::new(AtomicBool::new(false));
        let done = Arc::new(Mutex::new(Forged::default()));
        let thread = {
            let (forge, done) = (forge.clone(), done.clone());
            Background::spawn(move |stop| forger(&mut ch, stop, &forge, &done))
        };
        GrantForger {
            forge,
            done,
            _thread: thread,
        }
    }

    /// Turns forging on (answering requests) or off (recording only).
    pub fn forging(&self, on: bool) {
        self.forge.store(on, Ordering::SeqCst);
    }

    /// What it did so far.
    pub fn report(&self) -> Forged {
        lock(&self.done).clone()
    }
}

/// The forger's loop (bounded: two minutes at most).
fn forger(ch: &mut Channel, stop: &AtomicBool, forge: &AtomicBool, done: &Mutex<Forged>) {
    let witness_mac: MacAddr = WITNESS_MAC.parse().expect("the witness's MAC");
    let wrong = Keyring::new(Key::new(1, b"not the lab's key, but its key id").expect("key"));
    let unknown = Keyring::new(Key::new(9, &[0x5a; 32]).expect("key"));
    let witness_id = NodeId(u32::from(WITNESS_IP));
    // An epoch newer than the witness's: were the frames accepted, they
    // would be taken as the witness's newest.
    let epoch = newer_epoch();
    let mut seq = 0u32;
    let mut payload = [0u8; MAX_FRAME_LEN];
    let mut out = [0u8; 256];
    let started = Instant::now();
    let own = ch.mac();
    for _ in 0..10_000_000u64 {
        if stop.load(Ordering::SeqCst) || started.elapsed() > Duration::from_secs(120) {
            break;
        }
        let Ok(Some(frame)) = ch.recv_timeout(Duration::from_millis(5)) else {
            continue;
        };
        let Some(udp) = parse_udp_frame(frame, DEFAULT_PORT) else {
            continue;
        };
        let Ok(repr) = FrameRepr::parse(udp.payload, None) else {
            continue;
        };
        let Body::Witness(msg) = repr.body else {
            continue;
        };
        let mut d = lock(done);
        if !forge.load(Ordering::SeqCst) {
            if msg.kind == WitnessKind::Grant && udp.src_mac == witness_mac && d.captured.len() < 64
            {
                d.captured.push(frame.to_vec());
            }
            continue;
        }
        if msg.kind != WitnessKind::Request
            || repr.header.role != Role::Secondary
            || udp.src_mac == own
        {
            continue;
        }
        d.requests += 1;
        let flow = UdpFlow {
            src_mac: own,
            dst_mac: udp.src_mac,
            src_ip: WITNESS_IP,
            dst_ip: udp.src_ip,
            src_port: DEFAULT_PORT,
            dst_port: DEFAULT_PORT,
        };
        let grant = WitnessRepr {
            kind: WitnessKind::Grant,
            nonce: msg.nonce,
            subject: msg.subject,
            lease: failover_core::Duration::from_secs(60),
            reason: DenyReason::None,
        };
        let mut sent = [0u64; 3];
        for (i, keys) in [None, Some(&wrong), Some(&unknown)].into_iter().enumerate() {
            seq = seq.wrapping_add(1);
            let f = FrameRepr {
                header: Header {
                    sender: witness_id,
                    role: Role::Witness,
                    link: LinkId(0),
                    epoch,
                    seq,
                },
                body: Body::Witness(grant),
            };
            let Ok(len) = f.emit(&mut payload, keys) else {
                continue;
            };
            let Ok(n) = build_udp_frame(&mut out, &flow, &payload[..len]) else {
                continue;
            };
            if send(ch, &out[..n]) {
                sent[i] += 1;
            }
        }
        d.unsigned += sent[0];
        d.wrong_key += sent[1];
        d.unknown_key += sent[2];
        if !d.captured.is_empty() {
            let i = (d.requests as usize) % d.captured.len();
            let real = d.captured[i].clone();
            if send(ch, &real) {
                d.replayed += 1;
            }
        }
    }
}
