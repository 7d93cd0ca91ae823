//! The machine's state in words: for the scripts (the reason of a stage),
//! the notifications and the log. `--status` and the metrics are built in
//! `export.rs`.

use failover_core::{Event, Instant, LinkId, Stage};

use super::{Node, Runtime};
use crate::daemon::words::{duration_text, heard_text};
use crate::notify::{LinkReport, NotifyContext};

impl<N: Node> Runtime<N> {
    pub(super) fn stage_reason(&self, t: Instant, stage: Stage) -> String {
        let acquiring = matches!(stage, Stage::Test | Stage::PreAcq | Stage::PostAcq);
        let peer = &self.labels.peer;
        if acquiring && self.node.took_over_on_request() {
            format!(
                "the {peer} handed the service over: clients cannot reach it there, or its \
                 operator asked for a switchover ({})",
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
}
