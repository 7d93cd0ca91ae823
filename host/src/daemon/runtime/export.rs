//! What the loop tells the outside about its state, all from one
//! [`Snapshot`]: the status files on SIGUSR1 (text and JSON, `--status`)
//! and the metrics file every [`metrics::PERIOD`] (`--metrics-file`). Both
//! allocate, and only on their own turns: a steady turn with neither due
//! costs a comparison of two instants.

use std::path::{Path, PathBuf};
use std::time::{Instant as StdInstant, SystemTime};

use failover_core::{Duration, Event, Instant, LinkId, Role, Stage};

use super::{Node, Runtime};
use crate::daemon::metrics;
use crate::daemon::reload::DaemonSettings;
use crate::daemon::status::snapshot::{
    Address, Frames, Link, Peer, PeerState, Phase, Snapshot, Witness, Writing, SCHEMA,
};
use crate::daemon::status::{self, json, text};
use crate::disk;
use crate::notify::{describe, NotifyContext};
use crate::scripts::StageRunner;

impl<N: Node> Runtime<N> {
    /// The daemon's state now: what `--status` prints and the metrics
    /// expose. Reads the service addresses over netlink (a request to the
    /// kernel, answered at once).
    pub fn snapshot(&mut self) -> Snapshot {
        let t = self.now();
        let time = SystemTime::now();
        let peer = self.node.peer_detector();
        let links = (0..self.labels.link_names.len())
            .map(|i| {
                let link = LinkId(u8::try_from(i).unwrap_or(u8::MAX));
                let interface = self
                    .io
                    .ports
                    .link_interface(link)
                    .unwrap_or_default()
                    .to_owned();
                Link {
                    index: link.0,
                    label: self.link_name(link).to_owned(),
                    // As start.rs names them: link 0 is the private network.
                    name: if i == 0 { "private" } else { "public" },
                    carrier: self.io.carrier.carrier(&interface),
                    interface,
                    heard_ago: peer.last_heard(link).map(|at| t.saturating_since(at)),
                    alive: peer.link_alive(t, link),
                    loss_ppm: peer.loss_ppm(link),
                    dead_time: peer.link_dead_time(link),
                }
            })
            .collect();
        let peer = Peer {
            label: self.labels.peer.clone(),
            role: match self.node.role() {
                Role::Primary => "secondary",
                _ => "primary",
            },
            address: self.labels.notify_base.peer.clone(),
            state: if peer.is_dead(t) && peer.heard_any() {
                PeerState::Dead
            } else if peer.heard_any() {
                PeerState::Alive
            } else {
                PeerState::NotHeard
            },
            dead_time: peer.dead_time(),
            grace: peer.grace(),
        };
        let witness = match (&self.labels.witness, self.node.witness_detector()) {
            (Some(label), Some(w)) => Some(Witness {
                label: label.clone(),
                address: self.settings.witness,
                policy: match &self.settings.daemon {
                    DaemonSettings::Failoverd { witness_mode, .. } => witness_mode.name(),
                    DaemonSettings::Heartbeatd { .. } => "fence",
                },
                heard_ago: w.last_heard_any().map(|at| t.saturating_since(at)),
                alive: !w.is_dead(t) && w.heard_any(),
            }),
            _ => None,
        };
        let present = self.services.present(&mut self.io.netlink);
        let addresses = self
            .services
            .iter()
            .zip(present)
            .map(|(svc, held)| Address {
                address: svc.addr,
                prefix_len: svc.prefix_len(),
                interface: svc.interface.to_string(),
                held,
            })
            .collect();
        let stats = self.node.stats();
        let rx = stats.rx;
        let (phase_wall, phase_at) = self.history.phase_since();
        Snapshot {
            schema: SCHEMA,
            apple_compat: self.settings.apple_compat,
            program: self.labels.program.name(),
            version: env!("CARGO_PKG_VERSION"),
            pid: std::process::id(),
            time,
            started: self.started,
            uptime_s: time
                .duration_since(self.started)
                .unwrap_or_default()
                .as_secs(),
            role: self.node.role().name(),
            phase: Phase {
                name: self.node.phase_key(t),
                text: self.node.phase_text(t),
                since: phase_wall,
                age: t.saturating_since(phase_at),
            },
            peer,
            links,
            witness,
            addresses,
            scripts_running: self
                .runner
                .as_ref()
                .and_then(StageRunner::running)
                .map(Stage::name),
            frames: Frames {
                accepted: rx.accepted.into(),
                malformed: rx.malformed.into(),
                unknown_version: rx.unknown_version.into(),
                unknown_type: rx.unknown_type.into(),
                auth_failed: rx.auth_failed.into(),
                replayed: rx.replayed.into(),
                ignored: rx.ignored.into(),
                unconfirmed: rx.unconfirmed.into(),
            },
            decisions_dropped: stats.actions_dropped,
            stalls: self.jumps.seen(),
            addresses_restored: self.addresses_restored,
            writing: self
                .disk
                .stuck(StdInstant::now(), disk::SLOW)
                .map(|w| Writing {
                    path: w.path.display().to_string(),
                    for_: Duration::from_micros(
                        u64::try_from(w.for_.as_micros()).unwrap_or(u64::MAX),
                    ),
                    waiting: w.waiting,
                }),
            transitions: self.history.counts(),
            last_transition: self.history.last(t),
            mail_spool_depth: self
                .notifier
                .mailer()
                .and_then(|m| m.spool())
                .map(|s| s.len()),
            operator: self.node.operator_view(t),
        }
    }

    /// SIGUSR1: writes the status files, the JSON first (each `--status`
    /// waits only for the one it asked for, and each is replaced whole),
    /// through the writer thread: a `--status` never stalls the loop, even
    /// on a frozen filesystem (it times out instead).
    pub(super) fn write_status(&mut self) {
        type Write = fn(&Path, &str) -> std::io::Result<()>;
        let snapshot = self.snapshot();
        let pid_file = &self.files.pid_file;
        let files: [(PathBuf, Write, String); 2] = [
            (
                status::json_path(pid_file),
                status::write_json,
                json::render(&snapshot),
            ),
            (
                status::status_path(pid_file),
                status::write,
                text::render(&snapshot),
            ),
        ];
        for (path, write, content) in files {
            let pid_file = pid_file.clone();
            self.status_disk.submit(&path.clone(), move |log| {
                if let Err(e) = write(&pid_file, &content) {
                    log.error(format_args!(
                        "cannot write the status file {}: {e}",
                        path.display()
                    ));
                }
            });
        }
    }

    /// Writes the metrics file if it is due.
    pub(super) fn export_metrics(&mut self, now: StdInstant) {
        if !self.metrics.as_mut().is_some_and(|m| m.take_due(now)) {
            return;
        }
        let text = metrics::render(&self.snapshot());
        if let Some(m) = &self.metrics {
            m.write(&self.disk, text);
        }
    }

    /// Remembers a change of hands of the addresses (or the cause of one)
    /// for the status and the metrics, with its reason: the words the
    /// scripts were given for a takeover or a failback, the notice's for
    /// the rest.
    pub(super) fn note_transition(&mut self, t: Instant, event: &Event, ctx: &NotifyContext) {
        if !self.history.wants(event) {
            return;
        }
        let reason = match event {
            Event::TookOver => self.stage_reason(t, Stage::PostAcq),
            Event::Relinquished => self.stage_reason(t, Stage::PostRel),
            _ => event_reason(event, ctx),
        };
        self.history.note(event, reason, SystemTime::now(), t);
    }
}

/// An event in words, with its cause when known: the history's and the
/// primary's hooks' reason.
pub(super) fn event_reason(event: &Event, ctx: &NotifyContext) -> String {
    let notice = describe(event, ctx);
    match &ctx.reason {
        Some(why) => format!("{}: {why}", notice.summary),
        None => notice.summary,
    }
}
