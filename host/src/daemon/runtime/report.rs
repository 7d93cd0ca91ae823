//! The machine's state in words: for the scripts (the reason of a stage),
//! the notifications, the log and `--status`.

use std::time::SystemTime;

use failover_core::{Event, Instant, LinkId, Stage};

use super::{Node, Runtime};
use crate::daemon::words::{duration_text, duration_words, heard_text};
use crate::notify::{LinkReport, NotifyContext};
use crate::scripts::StageRunner;

impl<N: Node> Runtime<N> {
    pub(super) fn stage_reason(&self, t: Instant, stage: Stage) -> String {
        let acquiring = matches!(stage, Stage::Test | Stage::PreAcq | Stage::PostAcq);
        let peer = &self.labels.peer;
        if acquiring && self.node.took_over_on_request() {
            format!(
                "the {peer} handed the service over: clients cannot reach it ({})",
                self.links_text(t)
            )
        } else if acquiring {
            format!(
                "the {peer} is silent on every network ({})",
                self.links_text(t)
            )
        } else if self.stopping {
            format!("{} is stopping", self.labels.program.name())
        } else {
            format!("the {peer} is back ({})", self.links_text(t))
        }
    }

    pub(super) fn notify_context(&self, t: Instant, event: Event) -> NotifyContext {
        let mut ctx = self.labels.notify_base.clone();
        ctx.links = self.link_reports(t);
        ctx.witness = self.witness_text(t);
        ctx.reason = match event {
            Event::Vetoed { .. } | Event::ScriptFailed { .. } => self
                .runner
                .as_ref()
                .and_then(|r| r.failure_detail())
                .map(str::to_owned),
            Event::Relinquished if self.stopping => {
                Some(format!("{} was asked to stop", self.labels.program.name()))
            }
            Event::TookOver if self.node.took_over_on_request() => {
                Some(crate::notify::text::HANDED_OVER.to_owned())
            }
            Event::TookOver => Some(format!(
                "dead time {}",
                duration_text(self.node.peer_detector().dead_time())
            )),
            _ => None,
        };
        ctx
    }

    pub(super) fn link_name(&self, link: LinkId) -> &str {
        self.labels
            .link_names
            .get(usize::from(link.0))
            .map_or("an unknown link", String::as_str)
    }

    fn link_reports(&self, t: Instant) -> Vec<LinkReport> {
        let peer = self.node.peer_detector();
        (0..self.labels.link_names.len())
            .map(|i| {
                let link = LinkId(u8::try_from(i).unwrap_or(u8::MAX));
                LinkReport {
                    name: self.link_name(link).to_owned(),
                    state: heard_text(peer.last_heard(link), peer.link_alive(t, link), t),
                }
            })
            .collect()
    }

    pub(super) fn links_text(&self, t: Instant) -> String {
        let reports = self.link_reports(t);
        let parts: Vec<String> = reports
            .iter()
            .map(|r| format!("{}: {}", r.name, r.state))
            .collect();
        parts.join(", ")
    }

    pub(super) fn witness_text(&self, t: Instant) -> Option<String> {
        let w = self.node.witness_detector()?;
        Some(heard_text(
            w.last_heard_any(),
            !w.is_dead(t) && w.heard_any(),
            t,
        ))
    }

    /// The state in words, for `--status`.
    pub fn status_text(&mut self) -> String {
        use std::fmt::Write as _;
        let t = self.now();
        let mut out = String::new();
        let up = SystemTime::now()
            .duration_since(self.started)
            .unwrap_or_default()
            .as_secs();
        let _ = writeln!(
            out,
            "{} {}, pid {}, running for {}",
            self.labels.program.name(),
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            duration_words(up)
        );
        let _ = writeln!(
            out,
            "role: {}; state: {}",
            self.node.role().name(),
            self.node.phase_text(t)
        );
        let peer = self.node.peer_detector();
        let _ = writeln!(
            out,
            "{}: {} (dead after {} of silence on every network)",
            self.labels.peer,
            if peer.is_dead(t) && peer.heard_any() {
                "declared dead"
            } else if peer.heard_any() {
                "alive"
            } else {
                "not heard yet"
            },
            duration_text(peer.dead_time())
        );
        for (i, r) in self.link_reports(t).iter().enumerate() {
            let link = LinkId(u8::try_from(i).unwrap_or(u8::MAX));
            let _ = writeln!(
                out,
                "  link {i} {}: {}, loss {:.1} %",
                r.name,
                r.state,
                f64::from(peer.loss_ppm(link)) / 1e4
            );
        }
        if let (Some(label), Some(text)) = (&self.labels.witness, self.witness_text(t)) {
            let _ = writeln!(out, "{label}: {text}");
        }
        if self.services.is_empty() {
            let _ = writeln!(out, "service addresses: none managed here");
        } else {
            let _ = writeln!(out, "service addresses:");
            let present = self.services.present(&mut self.io.netlink);
            for (svc, here) in self.services.iter().zip(present) {
                let _ = writeln!(
                    out,
                    "  {}/{} on {}: {}",
                    svc.addr,
                    svc.prefix_len(),
                    svc.interface,
                    match here {
                        Some(true) => "on this host".to_owned(),
                        Some(false) => "not on this host".to_owned(),
                        None => "unknown (cannot read the interface)".to_owned(),
                    }
                );
            }
        }
        if let Some(stage) = self.runner.as_ref().and_then(StageRunner::running) {
            let _ = writeln!(out, "scripts: {} running", stage.name());
        }
        let stats = self.node.stats();
        let st = stats.rx;
        let _ = writeln!(
            out,
            "frames received: {} accepted, {} malformed, {} unknown version or type, {} failed \
             authentication, {} replayed, {} ignored, {} unconfirmed",
            st.accepted,
            st.malformed,
            st.unknown_version.saturating_add(st.unknown_type),
            st.auth_failed,
            st.replayed,
            st.ignored,
            st.unconfirmed
        );
        // Only when it happened: a fault of this loop, never of the network.
        if stats.actions_dropped > 0 {
            let _ = writeln!(
                out,
                "decisions dropped unperformed: {} (see the ActionsLost notices)",
                stats.actions_dropped
            );
        }
        out
    }
}
