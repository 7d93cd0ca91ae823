//! The vocabulary every notice is written in: how it names this server,
//! its daemon, its peer, the service addresses and the links (from the
//! [`NotifyContext`]), and how it words a script stage's outcome and a
//! witness's refusal. The notices themselves ([`super::describe`]) only
//! put these phrases into sentences, so a name reads the same in every
//! notice.

use failover_core::action::StageOutcome;
use failover_core::node::LinkId;
use failover_core::wire::DenyReason;
use failover_core::Role;

use super::super::NotifyContext;
use crate::config::cli::ServiceAddress;

/// How a script stage ended, in words.
pub fn outcome_text(outcome: StageOutcome) -> String {
    match outcome {
        StageOutcome::Success => "succeeded".to_owned(),
        StageOutcome::TimedOut => "did not finish within its time limit and was killed".to_owned(),
        StageOutcome::Failed(126) => "could not be run (status 126)".to_owned(),
        StageOutcome::Failed(127) => "was not found (status 127)".to_owned(),
        StageOutcome::Failed(code) if (129..=192).contains(&code) => {
            format!("was killed by signal {} (status {code})", code - 128)
        }
        StageOutcome::Failed(code) => format!("exited with status {code}"),
    }
}

/// How a script stage ended, in a few words for a summary line.
pub(super) fn outcome_short(outcome: StageOutcome) -> String {
    match outcome {
        StageOutcome::Success => "ok".to_owned(),
        StageOutcome::TimedOut => "timed out".to_owned(),
        StageOutcome::Failed(code) => format!("status {code}"),
    }
}

/// Why the witness refused: a few words for the summary, and the
/// sentences that say what to check.
pub(super) fn deny_text(reason: DenyReason) -> (&'static str, &'static str) {
    match reason {
        DenyReason::PrimaryAlive => (
            "the witness still hears the primary",
            "The witness still hears the primary, so this server is probably the one cut off \
             from it: check this server's private and public links first.",
        ),
        DenyReason::GrantOutstanding => (
            "another node holds the witness's grant",
            "Another node holds the witness's only grant: check that no other secondary is \
             configured against the same witness.",
        ),
        DenyReason::NotSecondary => (
            "this node is not the witness's configured secondary",
            "The witness is not configured with this node as the secondary: check the node ids \
             and addresses in the witness's configuration.",
        ),
        DenyReason::Fencing => (
            "the witness is fencing",
            "The witness is driving its fence output (isolating or powering off the primary); \
             the request is retried shortly.",
        ),
        DenyReason::Listening => (
            "the witness is still listening",
            "The witness has only just started hearing the private network (it was booting, or \
             its own link was down) and has not yet listened for a whole dead time, so it cannot \
             tell whether the primary is silent; the request is retried shortly.",
        ),
        DenyReason::None | DenyReason::Other => (
            "a reason this version does not know",
            "The witness gave a reason code this version does not know: check that the witness \
             firmware and the daemons are of matching versions.",
        ),
    }
}

/// The names a notice uses, drawn from its context.
pub(super) struct Words<'a> {
    pub(super) ctx: &'a NotifyContext,
}

impl Words<'_> {
    pub(super) fn host(&self) -> &str {
        if self.ctx.hostname.is_empty() {
            "this server"
        } else {
            &self.ctx.hostname
        }
    }

    pub(super) fn daemon(&self) -> &'static str {
        match self.ctx.role {
            Role::Primary => "heartbeatd",
            Role::Secondary => "failoverd",
            Role::Witness => "the witness",
        }
    }

    /// `192.0.2.10`, `192.0.2.10 and 192.0.2.11`, `192.0.2.10 and 3 more`.
    pub(super) fn addrs(&self) -> String {
        let a = &self.ctx.addresses;
        match a.len() {
            0 => "the service addresses".to_owned(),
            1 => a[0].addr.to_string(),
            2 => format!("{} and {}", a[0].addr, a[1].addr),
            n => format!("{} and {} more", a[0].addr, n - 1),
        }
    }

    /// `192.0.2.10 on eth0, 192.0.2.11/24 on eth1`.
    pub(super) fn addrs_long(&self) -> String {
        if self.ctx.addresses.is_empty() {
            return "the service addresses".to_owned();
        }
        self.ctx
            .addresses
            .iter()
            .map(ServiceAddress::on_interface)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `the primary (198.51.100.1)` from the secondary's side.
    pub(super) fn peer(&self) -> String {
        let who = match self.ctx.role {
            Role::Primary => "the secondary",
            Role::Secondary => "the primary",
            Role::Witness => "the peer",
        };
        match &self.ctx.peer {
            Some(p) if !p.is_empty() => format!("{who} ({p})"),
            _ => who.to_owned(),
        }
    }

    fn link_name(&self, i: u8) -> String {
        match self.ctx.links.get(usize::from(i)) {
            Some(l) if !l.name.is_empty() => l.name.clone(),
            _ => match LinkId(i) {
                LinkId::PRIVATE => "the private link".to_owned(),
                LinkId::PUBLIC => "the public link".to_owned(),
                _ => format!("link {i}"),
            },
        }
    }

    /// The names of the links in (or out of) `mask`, among the configured
    /// ones (at least the two Apple ones).
    pub(super) fn links(&self, mask: failover_core::action::LinkMask, inside: bool) -> String {
        let n = self.ctx.links.len().clamp(2, 8) as u8;
        let names: Vec<String> = (0..n)
            .filter(|&i| mask.contains(LinkId(i)) == inside)
            .map(|i| self.link_name(i))
            .collect();
        if names.is_empty() {
            "no link".to_owned()
        } else {
            names.join(" and ")
        }
    }

    pub(super) fn scripts_dir(&self) -> String {
        match &self.ctx.scripts_dir {
            Some(d) => d.display().to_string(),
            None => crate::config::cli::DEFAULT_SCRIPTS_DIR.to_owned(),
        }
    }

    pub(super) fn log_hint(&self) -> String {
        format!(
            "the system log (`journalctl -t {}` or /var/log/syslog)",
            self.daemon()
        )
    }
}
