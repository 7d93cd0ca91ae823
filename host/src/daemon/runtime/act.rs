//! Carrying out one of the machine's actions. Nothing here feeds the
//! machine directly: a result it needs is reported back
//! ([`Runtime::reported`]) and taken in at the next turn.

use std::time::Instant as StdInstant;

use failover_core::{Action, Removal, StageOutcome};

use super::export::event_reason;
use super::{Node, Reported, Runtime};
use crate::daemon::epoch;
use crate::scripts::StageContext;

impl<N: Node> Runtime<N> {
    /// Carries out `action`; `now` is the children's and the mail's clock
    /// (see the runtime's module documentation), the machine's is read
    /// here.
    pub(super) fn act(&mut self, now: StdInstant, action: Action) {
        let t = self.now();
        match action {
            Action::RunStage(stage) => {
                let ctx = StageContext {
                    reason: self.stage_reason(t, stage),
                    ..self.labels.stage_base.clone()
                };
                match self.runner.as_mut() {
                    Some(r) => r.start(now, stage, &ctx),
                    // No scripts to run: the stage succeeded.
                    None => self
                        .reported
                        .push(Reported::Stage(stage, StageOutcome::Success)),
                }
            }
            Action::AddAddresses => {
                self.services.add_all(&mut self.io.netlink, &self.log);
                if let Some(h) = self.hooks.as_mut() {
                    h.added();
                }
            }
            Action::RemoveAddresses => {
                self.announcer.stop();
                let failed = self.services.remove_all(&mut self.io.netlink, &self.log);
                if let (Some(h), 0) = (self.hooks.as_mut(), failed) {
                    h.removed();
                }
                self.reported.push(Reported::Removal(if failed == 0 {
                    Removal::Done
                } else {
                    Removal::Failed
                }));
            }
            Action::Announce => {
                if !self.services.is_empty() {
                    self.announcer.start(t);
                }
            }
            Action::Notify(event) => {
                let ctx = self.notify_context(t, event);
                if let Some(h) = self.hooks.as_mut() {
                    h.explain(|| event_reason(&event, &ctx));
                }
                self.notifier.notify(now, event, &ctx);
                self.note_transition(t, &event, &ctx);
            }
            Action::SetFence(_) => {}
            Action::PersistPeerEpoch { peer, epoch } => {
                epoch::record_peer_epoch(&mut self.files.peer_epochs, peer.0, epoch);
                let peers = self.files.peer_epochs.clone();
                let path = self.files.peers_file.clone();
                let addr = std::net::Ipv4Addr::from(peer.0);
                self.disk.submit(&path.clone(), move |log| {
                    let file = path.display();
                    match epoch::persist_peer_epochs(&path, &peers) {
                        Ok(()) => log.info(format_args!(
                            "{addr} settled in epoch {epoch}: older epochs of it stay refused (kept in {file})"
                        )),
                        Err(e) => log.warning(format_args!(
                            "{addr} settled in epoch {epoch}, but cannot keep it in {file}: {e} \
                             (after a restart, frames of its earlier lives would be accepted once more)"
                        )),
                    }
                });
            }
            Action::PersistEpoch(epoch) => {
                let path = self.files.epoch_file.clone();
                self.disk.submit(&path.clone(), move |log| {
                    let file = path.display();
                    match epoch::persist(&path, epoch) {
                        Ok(()) => log.notice(format_args!(
                            "frame counter ran out: now sending in epoch {epoch} (kept in {file})"
                        )),
                        Err(e) => log.warning(format_args!(
                            "frame counter ran out: now sending in epoch {epoch}, but cannot keep it in {file}: {e} \
                             (a restart with the clock behind could choose it again)"
                        )),
                    }
                });
            }
        }
    }
}
