//! The primary's own scripts (`heartbeatd`): `PostAcq_*` once it has added
//! and announced its service addresses, `PostRel_*` once it has removed
//! them, from the same per-address directories, with the same arguments
//! and environment as failoverd's stages.
//!
//! Unlike failoverd's stages, the protocol never waits for them: they run
//! after the fact, on a runner of their own (so a long one delays no health
//! check, and a health check's short time limit kills no hook). A primary
//! moves its addresses on the handshake's timing, which is what keeps a
//! switchover gapless and free of overlap, and some of its releases cannot
//! wait at all (it found the secondary holding the addresses). That is also
//! why there are no `PreAcq`/`PreRel` hooks here: a "before" that does not
//! hold the address back would be a lie. `heartbeatd -n` warns about such
//! scripts in its directories.
//!
//! A hook's failure is logged and mailed (`ScriptFailed`), and changes
//! nothing else.

use std::collections::VecDeque;
use std::os::fd::BorrowedFd;
use std::time::Instant;

use failover_core::{Stage, StageOutcome};

use super::{Node, Runtime};
use crate::scripts::{ScriptConfig, StageContext, StageRunner};

/// Hooks waiting to run at most: an address that flaps faster than its
/// scripts run keeps only the latest transitions.
const MAX_PENDING: usize = 8;

/// The hooks' runner and the transitions waiting for it.
pub struct Hooks {
    runner: StageRunner,
    /// Whether this daemon added the addresses and has not removed them
    /// since: a removal that has nothing to undo runs no PostRel.
    held: bool,
    /// The hooks to run, in order, each with why (filled in by the notice
    /// that follows the change).
    pending: VecDeque<(Stage, Option<String>)>,
    /// Hooks dropped because too many waited, for the log.
    dropped: u32,
}

impl Hooks {
    /// Hooks run by `runner`.
    pub fn new(runner: StageRunner) -> Hooks {
        Hooks {
            runner,
            held: false,
            pending: VecDeque::new(),
            dropped: 0,
        }
    }

    /// The addresses were added: PostAcq is due (once per acquisition).
    pub fn added(&mut self) {
        if !std::mem::replace(&mut self.held, true) {
            self.queue(Stage::PostAcq);
        }
    }

    /// The addresses were removed: PostRel is due if they had been added.
    pub fn removed(&mut self) {
        if std::mem::replace(&mut self.held, false) {
            self.queue(Stage::PostRel);
        }
    }

    fn queue(&mut self, stage: Stage) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.pending.push_back((stage, None));
    }

    /// Why the latest queued hook runs, unless it was said already: the
    /// notice that follows an address change names its cause.
    pub fn explain(&mut self, why: impl FnOnce() -> String) {
        if let Some((_, reason @ None)) = self.pending.back_mut() {
            *reason = Some(why());
        }
    }

    /// Starts the next hook when none runs; `base` is what every script is
    /// told besides the reason. Returns how many were dropped since the
    /// last start, for the log.
    pub fn start_next(&mut self, now: Instant, base: &StageContext) -> u32 {
        if self.runner.running().is_some() {
            return 0;
        }
        let Some((stage, reason)) = self.pending.pop_front() else {
            return 0;
        };
        let ctx = StageContext {
            reason: reason.unwrap_or_else(|| {
                format!("this primary {} its service addresses", stage_verb(stage))
            }),
            ..base.clone()
        };
        self.runner.start(now, stage, &ctx);
        std::mem::take(&mut self.dropped)
    }

    /// A hook that ended, with how.
    pub fn poll(&mut self, now: Instant) -> Option<(Stage, StageOutcome)> {
        self.runner.poll(now)
    }

    /// Why the last hook failed, in words, for the notice.
    pub fn failure_detail(&self) -> Option<&str> {
        self.runner.failure_detail()
    }

    /// Whether nothing runs and nothing waits (a stopping daemon waits for
    /// its PostRel).
    pub fn idle(&self) -> bool {
        self.runner.running().is_none() && self.pending.is_empty()
    }

    /// When the loop must wake for the running hook's time limit.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.runner.next_deadline()
    }

    /// The running hook's output pipes, for the loop's wait.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.runner.fds()
    }

    /// Gives up on the running hook (a second SIGTERM).
    pub fn cancel(&mut self, now: Instant) {
        self.runner.cancel(now);
        self.pending.clear();
    }

    /// New script settings (SIGHUP).
    pub fn set_config(&mut self, config: ScriptConfig) {
        self.runner.set_config(config);
    }
}

impl<N: Node> Runtime<N> {
    /// Takes in a hook that ended: a failure is logged (by the runner) and
    /// mailed, and changes nothing else.
    pub(super) fn take_hook_done(&mut self, now: Instant) {
        let Some((stage, outcome)) = self.hooks.as_mut().and_then(|h| h.poll(now)) else {
            return;
        };
        if !outcome.is_success() {
            let event = failover_core::Event::ScriptFailed { stage, outcome };
            let mut ctx = self.notify_context(self.now(), event);
            ctx.reason = self
                .hooks
                .as_ref()
                .and_then(Hooks::failure_detail)
                .map(str::to_owned);
            self.notifier.notify(now, event, &ctx);
        }
    }

    /// Starts the next hook due, if none runs.
    pub(super) fn start_next_hook(&mut self, now: Instant) {
        let Some(hooks) = self.hooks.as_mut() else {
            return;
        };
        let dropped = hooks.start_next(now, &self.labels.stage_base);
        if dropped > 0 {
            self.log.warning(format_args!(
                "{dropped} PostAcq/PostRel runs left out: the addresses changed hands faster \
                 than their scripts ran (the latest {MAX_PENDING} are kept)"
            ));
        }
    }
}

fn stage_verb(stage: Stage) -> &'static str {
    if stage == Stage::PostRel {
        "removed"
    } else {
        "added"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::log::Logger;

    fn hooks() -> Hooks {
        let (log, _) = Logger::memory("heartbeatd");
        Hooks::new(StageRunner::new(ScriptConfig::new("/nonexistent"), log))
    }

    fn stages(h: &Hooks) -> Vec<Stage> {
        h.pending.iter().map(|(s, _)| *s).collect()
    }

    #[test]
    fn one_post_acq_per_acquisition_and_post_rel_only_after_one() {
        let mut h = hooks();
        h.removed();
        assert!(h.idle(), "a removal with nothing added runs nothing");
        h.added();
        h.added();
        assert_eq!(stages(&h), [Stage::PostAcq], "added twice: one acquisition");
        h.removed();
        h.removed();
        assert_eq!(stages(&h), [Stage::PostAcq, Stage::PostRel]);
    }

    #[test]
    fn the_notice_after_a_change_explains_it_once() {
        let mut h = hooks();
        h.added();
        h.explain(|| "the secondary released".to_owned());
        h.explain(|| "a later notice".to_owned());
        assert_eq!(
            h.pending.back().and_then(|(_, r)| r.as_deref()),
            Some("the secondary released")
        );
    }

    #[test]
    fn a_flapping_address_keeps_the_latest_hooks() {
        let mut h = hooks();
        for _ in 0..MAX_PENDING {
            h.added();
            h.removed();
        }
        assert_eq!(h.pending.len(), MAX_PENDING);
        assert_eq!(h.dropped, MAX_PENDING as u32);
        assert_eq!(h.pending.back().map(|(s, _)| *s), Some(Stage::PostRel));
    }
}
