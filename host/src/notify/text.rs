//! What each [`Event`] says: severity, whether it is mailed, and the words
//! an administrator reads in the log line and the email.
//!
//! Three parts: [`policy()`] (severity and mail, the table the
//! [`crate::notify`] module documentation shows), `phrases` (how a notice
//! names this server, its peer, the addresses and links, a script's
//! outcome and a witness's refusal), and here, [`describe`]: the words of
//! each event, one arm per event.

use failover_core::action::Event;
use failover_core::Role;
use failover_core::Stage;

use super::log::Level;
use super::NotifyContext;
use phrases::{deny_text, outcome_short, Words};

mod phrases;
mod policy;

pub use phrases::outcome_text;
pub use policy::policy;

/// The reason a takeover notice carries when the primary handed the
/// service over instead of falling silent.
pub const HANDED_OVER: &str = "the primary handed the service over";

/// The event's name, for the log, the `X-Failover-Event` header and
/// filters.
pub fn tag(event: &Event) -> &'static str {
    event.name()
}

/// An event put into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Syslog severity.
    pub level: Level,
    /// Whether it is mailed.
    pub mail: bool,
    /// [`tag`].
    pub tag: &'static str,
    /// One line: the log message and the mail subject.
    pub summary: String,
    /// What happened, in sentences.
    pub happened: String,
    /// What the daemon did about it.
    pub did: String,
    /// What the administrator should check, most likely first.
    pub check: Vec<String>,
}

/// Puts `event` into words for `ctx`.
pub fn describe(event: &Event, ctx: &NotifyContext) -> Notice {
    let (level, mail) = policy(event, ctx.role);
    let w = Words { ctx };
    let host = w.host();
    let addrs = w.addrs();
    let addrs_long = w.addrs_long();
    let peer = w.peer();
    let daemon = w.daemon();
    let log_hint = w.log_hint();
    let (summary, happened, did, check): (String, String, String, Vec<String>) = match *event {
        Event::TookOver if ctx.reason.as_deref() == Some(HANDED_OVER) => (
            format!("took over {addrs}: {peer} handed them over"),
            format!(
                "{peer} (primary) released the addresses and asked {host} to serve them: \
                 clients could not reach it (a service interface without carrier, or its probe \
                 unanswered), or its operator asked for a switchover (heartbeatd --handover). \
                 {host} has taken them over: {addrs_long}."
            ),
            format!(
                "Ran the Test and PreAcq scripts, added the addresses, announced them \
                 (gratuitous ARP) and ran the PostAcq scripts. Clients of {addrs} are now \
                 served by {host}."
            ),
            vec![
                format!(
                    "Unless it was a planned switchover: the service network of {peer} (cable, \
                     switch port, `ip link`)."
                ),
                format!(
                    "Nothing else is needed for failback: once {peer} can be reached again (and \
                     has been for the settling time), or when its operator runs `heartbeatd \
                     --reclaim` after a switchover, it reclaims the addresses and {daemon} \
                     gives them back."
                ),
            ],
        ),
        Event::TookOver => (
            format!("took over {addrs}: {peer} is silent on every network"),
            format!(
                "{host} no longer hears {peer} on any network, for longer than the dead time, \
                 and has taken over its service address(es): {addrs_long}."
            ),
            format!(
                "Ran the Test and PreAcq scripts, added the addresses, announced them \
                 (gratuitous ARP) and ran the PostAcq scripts. Clients of {addrs} are now \
                 served by {host}."
            ),
            vec![
                "Why the primary stopped: power, a crash or hang (console, IPMI), or both of \
                 its network links down."
                    .to_owned(),
                format!(
                    "That the services the PostAcq scripts start are running on {host}; the \
                     scripts' output is in {log_hint}."
                ),
                format!(
                    "Nothing else is needed for failback: when the primary is heard again on \
                     every network, {daemon} runs PreRel, removes the addresses, runs PostRel \
                     and the primary takes them back. Do not add the addresses to the primary \
                     by hand while {host} holds them."
                ),
            ],
        ),
        Event::NetworkAnomaly { silent } => {
            let silent_names = w.links(silent, true);
            let heard_names = w.links(silent, false);
            (
                format!("network anomaly: {peer} is silent on {silent_names}"),
                format!(
                    "{host} no longer hears {peer} on {silent_names}, but still hears it on \
                     {heard_names}, so it is presumed alive."
                ),
                format!(
                    "Nothing: {daemon} does not take over while the primary is heard on any \
                     network. Protection is degraded: if {heard_names} fails too, {host} will \
                     take over {addrs} even if the primary is still running (unless a witness \
                     decides)."
                ),
                vec![
                    format!(
                        "Cable, switch port and interface of {silent_names} on both servers \
                         (`ip -s link`, `ethtool`, the switch's log)."
                    ),
                    "On the primary, the heartbeat targets (FAILOVER_BCAST_IPS): a broadcast \
                     address that does not match the interface's netmask is the classic cause \
                     of one silent network."
                        .to_owned(),
                    "A switch ACL, VLAN change or network firewall between the servers \
                     dropping the heartbeats (UDP port 1694 unless -p says otherwise); the \
                     hosts' own firewalls do not matter, the daemons read raw frames."
                        .to_owned(),
                ],
            )
        }
        Event::NetworkRestored => (
            format!("network restored: {peer} is heard on every network again"),
            format!("{host} hears {peer} on every network again after an anomaly."),
            "Nothing: normal monitoring, with full protection again.".to_owned(),
            vec![
                "Nothing urgent. If anomalies repeat, look for errors on the link that went \
                 silent (`ip -s link`)."
                    .to_owned(),
            ],
        ),
        Event::Relinquished => (
            format!("gave {addrs} back: {host} is on standby again"),
            format!(
                "{host} no longer holds {addrs_long}: {peer} is heard again, or {daemon} is \
                 shutting down."
            ),
            format!(
                "Ran the PreRel scripts, removed the addresses and ran the PostRel scripts. \
                 {host} is on standby."
            ),
            vec![
                format!("That the primary serves {addrs} again (it announces them itself)."),
                format!(
                    "The PreRel and PostRel output in {log_hint}: services stopped, shared \
                     storage unmounted."
                ),
            ],
        ),
        Event::Vetoed { stage, outcome } => (
            format!(
                "takeover REFUSED by the {} script ({}): {addrs} may be unreachable",
                stage.name(),
                outcome_short(outcome)
            ),
            format!(
                "{peer} is silent on every network, but a {} script {}, which vetoes the \
                 takeover. If the primary is really down, nobody serves {addrs} now.",
                stage.name(),
                outcome_text(outcome)
            ),
            format!(
                "Did not take over{}. {daemon} tries again later while the primary stays \
                 silent.",
                if stage == Stage::PreAcq {
                    " (the addresses were not added; anything the PreAcq scripts already did \
                     is not undone)"
                } else {
                    ""
                }
            ),
            vec![
                "Whether the primary is really down: if it is, the service is down.".to_owned(),
                format!(
                    "The {} script's output in {log_hint}, for why it refused.",
                    stage.name()
                ),
                format!(
                    "The scripts in {}/<address>/: run the one that refused by hand, with the \
                     same arguments (`<script> acquire <address>`).",
                    w.scripts_dir()
                ),
            ],
        ),
        Event::ScriptFailed { stage, outcome } => {
            let (doing, consequence) = match stage {
                Stage::PreRel => (
                    "releasing",
                    "Removed the addresses anyway and ran PostRel: services the script should \
                     have stopped may still run, shared storage may still be mounted.",
                ),
                Stage::PostRel => (
                    "releasing",
                    "The addresses are removed; the clean-up the script should have done may \
                     be incomplete.",
                ),
                _ => (
                    "taking over",
                    "The addresses are up and announced and this server holds them, but the \
                     services the script should have started may not be running.",
                ),
            };
            (
                format!(
                    "{} script failed ({}) while {doing} {addrs}",
                    stage.name(),
                    outcome_short(outcome)
                ),
                format!(
                    "A {} script {} while {host} was {doing} {addrs_long}.",
                    stage.name(),
                    outcome_text(outcome)
                ),
                format!("Went on with the sequence. {consequence}"),
                vec![
                    format!("The script's output in {log_hint}."),
                    format!(
                        "The services it manages, by hand. The scripts are in {}/<address>/: \
                         run the failing one with the same arguments (`<script> {} <address>`).",
                        w.scripts_dir(),
                        stage.operation()
                    ),
                ],
            )
        }
        Event::TakeoverCancelled => (
            format!("takeover cancelled: {peer} came back"),
            format!(
                "{peer} was silent on every network long enough to start a takeover, but was \
                 heard again before the addresses were added."
            ),
            "Stopped before adding the addresses. Whatever the PreAcq scripts already did is \
             not undone (PreRel/PostRel only run after the addresses were added)."
                .to_owned(),
            vec![
                "Why the primary paused: overload, a hung disk or NFS mount, a VM pause, or a \
                 flapping network."
                    .to_owned(),
                "Whether a PreAcq script left something half done (a mount, a started \
                 service)."
                    .to_owned(),
            ],
        ),
        Event::LeaseExpired => (
            format!("witness grant expired: dropped {addrs}"),
            format!(
                "{host} held (or was acquiring) {addrs_long} under a grant from the witness and \
                 could not renew it: the witness, or the private network to it, is gone."
            ),
            format!(
                "With witness policy \"required\", removed the addresses at once (and ran \
                 PostRel) so that the primary may safely take them back. Until the primary or \
                 the witness is reachable, nobody may be serving {addrs}."
            ),
            vec![
                "The witness: power, and its link on the private network.".to_owned(),
                format!("The private network between {host} and the witness."),
                "The primary.".to_owned(),
            ],
        ),
        Event::WitnessLost => (
            "witness lost: it no longer answers".to_owned(),
            format!("{host} no longer hears the witness on the private network."),
            "Nothing yet. Without the witness a takeover waits for the longer fallback \
             hold-down (policy \"preferred\") or cannot happen at all (policy \"required\")."
                .to_owned(),
            vec![
                "The witness: power, its link and cable on the private network.".to_owned(),
                format!("The private network interface of {host}."),
            ],
        ),
        Event::WitnessRegained => (
            "witness heard again".to_owned(),
            format!("{host} hears the witness again."),
            "Nothing: full protection again.".to_owned(),
            vec!["Nothing urgent.".to_owned()],
        ),
        Event::WitnessDenied { reason } => {
            let (short, long) = deny_text(reason);
            (
                format!("witness refused the takeover: {short}"),
                format!(
                    "{host} stopped hearing {peer} and asked the witness for the service \
                     addresses; the witness refused. {long}"
                ),
                "Did not take over; it asks again while the primary stays silent.".to_owned(),
                vec![
                    format!("The links of {host} and of the primary."),
                    "The witness's state (its LEDs or console).".to_owned(),
                ],
            )
        }
        Event::WitnessFallback => (
            format!("taking over {addrs} WITHOUT the witness, which is unreachable"),
            format!(
                "{peer} is silent on every network and the witness cannot be reached. With \
                 witness policy \"preferred\", after the longer hold-down {host} falls back to \
                 Apple's rule."
            ),
            format!(
                "Starting the takeover (Test, PreAcq, add, announce, PostAcq). There is no \
                 third opinion: if the primary is in fact alive but cut off from {host}, both \
                 may hold {addrs}."
            ),
            vec![
                "Whether the primary is really down (console, IPMI); power it off if in doubt."
                    .to_owned(),
                "The witness and its network.".to_owned(),
            ],
        ),
        Event::Acquired => (
            format!("now serving {addrs}"),
            format!(
                "{host} (primary) has taken its service address(es) {addrs_long}: at start-up, \
                 or back from the secondary after the reclaim handshake."
            ),
            format!(
                "Added and announced the addresses after {peer} confirmed it does not hold \
                 them (or stayed silent long enough)."
            ),
            vec![
                "Nothing urgent. After a failover, check that the secondary released cleanly \
                 (its \"gave back\" notice)."
                    .to_owned(),
            ],
        ),
        Event::Yielded => (
            format!("gave up {addrs}: {peer} holds them"),
            format!(
                "{host} (primary) found {peer} holding the service addresses: {host} was \
                 frozen, suspended or cut off long enough for the secondary to take over."
            ),
            "Removed the addresses at once so that only one server holds them, and started \
             the reclaim handshake: it takes them back when the secondary releases them."
                .to_owned(),
            vec![
                format!(
                    "Why {host} stopped sending heartbeats: a paused or migrated VM, heavy \
                     swapping, a hung disk, or both networks down."
                ),
                "That the secondary then releases the addresses (its \"gave back\" notice)."
                    .to_owned(),
            ],
        ),
        Event::Unreachable => (
            format!("{host} cannot be reached where {addrs} live"),
            format!(
                "A service interface of {host} lost its carrier (or its probe target stopped \
                 answering) for longer than an interval: clients cannot reach {host} there, \
                 whatever the heartbeats on the other links say."
            ),
            match ctx.role {
                Role::Primary => format!(
                    "If {peer} can serve (it is heard and says it is reachable), {host} hands \
                     the addresses to it: released here first, then {peer} acquires them. \
                     Otherwise {host} keeps them, since moving them would help no one."
                ),
                _ => format!(
                    "{host} tells the primary it cannot serve, so the addresses are not handed \
                     to it; a takeover on the primary's silence still happens (Apple's rule)."
                ),
            },
            vec![format!(
                "The service interface of {host}: its cable, its switch port, the link's state \
                 (`ip link`), and the probe target if one is configured."
            )],
        ),
        Event::Reachable => (
            format!("{host} can be reached again where {addrs} live"),
            format!(
                "The service interfaces of {host} have a carrier again (and the probe answers), \
                 and have for the settling time."
            ),
            match ctx.role {
                Role::Primary => format!(
                    "If {peer} serves the addresses, {host} asks for them back with the reclaim \
                     handshake."
                ),
                _ => "Nothing: this server can take the service again if it has to.".to_owned(),
            },
            vec!["Nothing urgent. If it flaps, the cable or switch port.".to_owned()],
        ),
        Event::HandedOver => (
            format!("handed {addrs} to {peer}: {host} cannot serve them"),
            format!(
                "{host} (primary) lost the carrier (or its probe) on a service interface, or its \
                 Check scripts fail (the notice before this one says which), while {peer} can \
                 serve: a server that cannot serve clients should not hold the addresses."
            ),
            format!(
                "Removed the addresses here first; {peer} acquires them when it hears that \
                 (zero overlap). {host} takes them back with the reclaim handshake once its \
                 service network and its checks have been healthy for the settling time (with \
                 manual failback, on `heartbeatd --reclaim`)."
            ),
            vec![format!(
                "The service interface of {host} (cable, switch port, `ip link`), or its \
                 service and Check scripts."
            )],
        ),
        Event::PrimaryHandedOver { planned: true } => (
            format!("{peer} handed {addrs} over: a planned switchover"),
            format!(
                "The operator of {peer} (primary) asked for a switchover (heartbeatd \
                 --handover); {peer} has released the addresses."
            ),
            format!(
                "{host} takes them over now, with the usual sequence (Test, PreAcq, add and \
                 announce, PostAcq); {peer} stands by until its operator runs heartbeatd \
                 --reclaim (or until {host} no longer serves)."
            ),
            vec!["Nothing: this is what the operator asked for.".to_owned()],
        ),
        Event::HandoverStarted => (
            format!("handing {addrs} to {peer}: a planned switchover"),
            format!("The operator asked {host} (primary) to hand the service over (--handover)."),
            format!(
                "Removed the addresses here first; {peer} acquires them when it hears that \
                 (zero overlap). {host} then stands by, beating as before, until \
                 `heartbeatd --reclaim`. If {peer} does not take them (a script refuses, it \
                 cannot be reached), {host} serves again."
            ),
            vec![format!(
                "`heartbeatd --status` on {host}: \"standing by\" once {peer} serves."
            )],
        ),
        Event::HandoverFailed => (
            format!("the switchover of {addrs} to {peer} failed: {host} serves again"),
            format!(
                "{host} handed the service over on its operator's request, but {peer} did not \
                 take the addresses: it said it cannot serve (its Test or PreAcq script \
                 refused, its service network is out, the witness it needs is not heard), or \
                 it did not take them in time."
            ),
            "Stopped standing by and takes the addresses back through the reclaim handshake."
                .to_owned(),
            vec![
                format!("The secondary's log on {peer} (`journalctl -t failoverd`): why it did not take over."),
                "Then try the switchover again.".to_owned(),
            ],
        ),
        Event::StandingBy => (
            format!("{peer} serves {addrs}; {host} stands by"),
            format!(
                "{peer} holds the service addresses and {host} (primary) does not ask for them \
                 back: failback is manual (FAILOVER_FAILBACK=manual), or the operator handed \
                 the service over."
            ),
            format!(
                "Stands by, beating as before; it takes the addresses if {peer} stops serving \
                 them."
            ),
            vec![format!(
                "When it suits the clients: `heartbeatd --reclaim` on {host} takes the service \
                 back (the secondary releases first, then {host} adds the addresses)."
            )],
        ),
        Event::StandbyEnded => (
            format!("{host} serves {addrs} again: {peer} stopped serving them"),
            format!(
                "{host} (primary) stood by on its operator's request, and {peer} no longer \
                 serves the addresses: it released them, a script refused, or it is silent."
            ),
            format!("Took the addresses back (after {peer}'s release, or its dead time)."),
            vec![format!("The secondary on {peer}: its log, whether failoverd runs.")],
        ),
        Event::CheckFailed => (
            format!("the health checks of {host} fail"),
            format!(
                "The Check scripts of {host} (primary) failed several times in a row: the \
                 service behind {addrs} is not working here, whatever the network says."
            ),
            format!(
                "If {peer} can serve (it is heard and says it can), {host} hands the addresses \
                 to it: released here first, then {peer} acquires them. Otherwise {host} keeps \
                 them, since moving them would help no one."
            ),
            vec![
                format!("The Check scripts' output in {log_hint}."),
                format!("The service itself on {host}."),
            ],
        ),
        Event::CheckPassed => (
            format!("the health checks of {host} pass again"),
            format!(
                "The Check scripts of {host} pass again, and have for the settling time."
            ),
            format!(
                "With automatic failback {host} takes the addresses back from {peer} through \
                 the reclaim handshake; with manual failback it stands by until `heartbeatd \
                 --reclaim`."
            ),
            vec!["Nothing urgent. If it flaps, the service and its Check scripts.".to_owned()],
        ),
        Event::PrimaryHandedOver { planned: false } => (
            format!("{peer} handed {addrs} over: it cannot be reached"),
            format!(
                "{peer} (primary) says clients cannot reach it (a service interface without \
                 carrier, or its probe unanswered) and has released the addresses."
            ),
            format!(
                "{host} takes them over now, with the usual sequence (Test, PreAcq, add and \
                 announce, PostAcq); it gives them back when {peer} reclaims them."
            ),
            vec![format!("The service network of {peer}.")],
        ),
        Event::Isolated => (
            format!("dropped {addrs}: {host} is cut off from the network"),
            format!(
                "{host} (primary) lost the carrier on every link, or (with a witness) heard \
                 neither {peer} nor the witness for too long: it is the one cut off, and the \
                 secondary may take over."
            ),
            "Removed the addresses so that at most one server holds them; it takes them back \
             through the reclaim handshake when the network returns."
                .to_owned(),
            vec![format!(
                "The network links of {host}, private and public: cables, switch ports, \
                 interface errors."
            )],
        ),
        Event::RemovalFailed => (
            format!("cannot remove {addrs} from {host}: retrying"),
            format!(
                "{daemon} on {host} let go of the service addresses, but removing them from \
                 the interfaces failed (the log line before this says why: a netlink error or \
                 timeout, an interface renamed or gone)."
            ),
            format!(
                "Keeps telling {peer} that {host} holds the addresses, so that {peer} does not \
                 add them too, and tries the removal again after one interval, then twice as \
                 long each time, up to 32 intervals or a second."
            ),
            vec![
                format!("`ip address show` on {host}: whether the addresses are still there."),
                "The kernel log (`dmesg`) and the daemon's log for the netlink error.".to_owned(),
            ],
        ),
        Event::RemovalRecovered => (
            format!("removed {addrs} from {host} at last"),
            "A removal of the service addresses that had failed has now worked.".to_owned(),
            format!("Stopped saying that {host} holds the addresses: the handshake goes on."),
            vec![format!(
                "Why the earlier removals failed (the daemon's log), and that {peer} now serves \
                 or this server's reclaim completes."
            )],
        ),
        Event::Stalled => (
            format!("{daemon} was frozen too long: dropped {addrs}"),
            format!(
                "{daemon} on {host} was not scheduled for longer than its peers need to \
                 declare it dead (the machine or VM was suspended, frozen or overloaded)."
            ),
            match ctx.role {
                Role::Primary => "Removed the addresses it held and started the reclaim \
                                  handshake to take them back safely."
                    .to_owned(),
                _ => "Removed the addresses it held (and ran PostRel), and listens afresh."
                    .to_owned(),
            },
            vec![format!(
                "Why {host} stalled: VM suspend or migration, a swap storm, a clock jump, a \
                 hung storage device (`dmesg`)."
            )],
        ),
        Event::PeerLost => match ctx.role {
            Role::Primary => (
                format!("{peer} lost: failover protection is OFF"),
                format!("{host} (primary) no longer hears {peer} on any network."),
                format!(
                    "Nothing: it keeps serving {addrs}. If {host} fails now, nobody takes over."
                ),
                vec![
                    "The secondary: is the machine up, does `systemctl status failoverd` show \
                     it running, are its links up?"
                        .to_owned(),
                ],
            ),
            _ => (
                format!("{peer} is silent on every network"),
                format!("{host} no longer hears {peer} on any network: it is presumed dead."),
                "Starting the takeover procedure (hold-down, witness, Test scripts); a \
                 separate notice reports the result."
                    .to_owned(),
                vec!["The primary.".to_owned()],
            ),
        },
        Event::PeerRegained => match ctx.role {
            Role::Primary => (
                format!("{peer} heard again: failover protection restored"),
                format!("{host} (primary) hears {peer} again."),
                "Nothing: normal operation.".to_owned(),
                vec!["Nothing urgent.".to_owned()],
            ),
            _ => (
                format!("{peer} heard again"),
                format!("{host} hears {peer} again."),
                "Back to monitoring; if it held the addresses, it gives them back (a separate \
                 notice)."
                    .to_owned(),
                vec!["Nothing urgent.".to_owned()],
            ),
        },
        Event::Granted => (
            "granted a takeover".to_owned(),
            "The witness granted the service addresses to the secondary.".to_owned(),
            "Holds the grant as a lease until it is released or expires.".to_owned(),
            vec!["The primary.".to_owned()],
        ),
        Event::GrantEnded => (
            "grant ended".to_owned(),
            "The witness's grant was released by its holder or expired.".to_owned(),
            "Nothing.".to_owned(),
            vec!["Nothing urgent.".to_owned()],
        ),
        Event::ActionsLost { count } => (
            format!("{daemon} lost {count} of its own decisions"),
            format!(
                "{daemon} on {host} did not carry out its decisions for so long that {count} of \
                 them were dropped unperformed (adding or removing the addresses, a script \
                 stage, a notice): a fault in {daemon} itself."
            ),
            "Went on deciding; the dropped steps were not taken.".to_owned(),
            vec![
                format!(
                    "Whether the service addresses are where `{daemon} --status` says they \
                     should be (`ip addr`)."
                ),
                format!("{log_hint}, and report the fault."),
                format!("Restarting {daemon} puts the addresses back in a known state."),
            ],
        ),
        Event::IntervalRefused { advertised, used } => (
            format!("{peer} advertises a heartbeat interval of {advertised}: using {used}"),
            format!(
                "{peer}'s heartbeats say it beats every {advertised}, more than four times away \
                 from the interval {host} is configured to expect. {host} does not believe it: its \
                 failure detector uses {used}, the nearest value it trusts."
            ),
            "Keeps watching with that interval. If the peer really beats that slowly, \
             {host} may declare it dead while it is alive; if it beats that fast, a failure \
             is noticed later than configured."
                .to_owned(),
            vec![
                "Both servers' interval settings (`-i`, FAILOVER_INTERVAL): they should match."
                    .to_owned(),
                "Without a key, anyone on the network can send such a frame: set \
                 --key-file on both servers."
                    .to_owned(),
            ],
        ),
    };
    Notice {
        level,
        mail,
        tag: tag(event),
        summary,
        happened: capitalized(happened),
        did: capitalized(did),
        check: check.into_iter().map(capitalized).collect(),
    }
}

/// `s` with its first letter in upper case: sentences may start with a
/// name such as "the primary (198.51.100.1)".
fn capitalized(s: String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_lowercase() => c.to_uppercase().chain(chars).collect(),
        _ => s,
    }
}

#[cfg(test)]
mod tests;
