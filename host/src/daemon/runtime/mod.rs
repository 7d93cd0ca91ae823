//! The event loop both daemons run: one thread, one `ppoll()`, no busy
//! waiting. Nothing in the loop waits for a script, a mail or a disk:
//! scripts and `sendmail` run as child processes polled on their own
//! deadlines, and files are written by the writer thread ([`crate::disk`]),
//! so heartbeats and detection go on meanwhile.
//!
//! Each turn is one pass down a pipeline:
//!
//! 1. **wait** (`wait.rs`) in `ppoll()` until a descriptor is ready or the
//!    next deadline;
//! 2. **take in** what arrived: signals, interface changes (carrier, and
//!    interfaces gone, back or renamed: `links.rs`), frames, `--probe`
//!    replies, children that ended, and the results the previous turn's
//!    actions reported;
//! 3. **step** the machine: its timers;
//! 4. **carry out** its actions (`act.rs`) and send its frames and the
//!    announcements due. An action whose result the machine needs (a stage
//!    with no script runner) reports it back as an input for the next
//!    turn, which then does not wait.
//!
//! Steady state (beating and listening, nothing changing) allocates
//! nothing: the poll set lives on the stack, frames are built into buffers
//! made at start, and logging happens only when something changes. The
//! exception is the turn that writes the metrics file (every 5 s, with
//! `--metrics-file`: `export.rs`), which builds its text.
//!
//! Under systemd (`Type=notify`) the loop says `READY=1` after its first
//! turn, pings the watchdog when a ping is due (its deadline bounds the
//! wait like any other), says `STATUS=` with each new phase and
//! `STOPPING=1` at SIGTERM ([`Systemd`]).
//!
//! Ten seconds after its last log line above debug level (a periodic
//! health check's are debug) the loop gives back the pages of
//! code that start-up (or a takeover, a reload, a mail) ran and the steady
//! state does not ([`resident`]): a turn only compares the log's message
//! count.
//!
//! Two clocks. The machine's time, and every deadline it and the
//! announcer ask for, is the daemon's [`Clock`] (`CLOCK_BOOTTIME`, which
//! counts a suspend): a resumed node sees the time it was away, and the
//! machine's stall rule acts on it (`jump.rs` logs it). The children
//! (scripts, sendmail) and the `--probe` keep their own deadlines on
//! [`std::time::Instant`] (`CLOCK_MONOTONIC`, which stops during a
//! suspend): those only bound how long the loop waits for them, and a
//! suspend must not count as a script's or a mail's time, nor as the probe
//! target's silence.

mod act;
mod alarm;
mod export;
mod health;
mod hooks;
mod jump;
mod links;
mod report;
#[cfg(test)]
mod tests;
mod wait;

/// The result of an action that the machine needs, taken in at the next
/// turn.
#[derive(Debug, Clone, Copy)]
enum Reported {
    /// A stage with no script runner (it succeeded).
    Stage(Stage, StageOutcome),
    /// How a removal of the service addresses ended: the machine keeps
    /// saying it holds them until one is done.
    Removal(Removal),
}

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration as StdDuration, Instant as StdInstant, SystemTime};

use failover_core::wire::{MAX_FRAME_LEN, MAX_MESSAGE_LEN};
use failover_core::{Instant, LinkId, Removal, Stage, StageOutcome};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;

use super::clock::Clock;
use super::metrics::MetricsFile;
use super::node::Node;
use super::operator;
use super::ports::{Ports, Rx, SendReport, RX_BURST};
use super::reload::{Reloader, RestartSettings};
use super::resident;
use super::services::Services;
use super::slice;
use super::status;
use super::status::history::History;
use super::systemd::{self, Systemd};
use super::words::{duration_text, join};
use crate::config::cli::{Program, ServiceAddress};
use crate::disk::{self, Disk};
use crate::net::channel::MAX_TX_FRAMES;
use crate::net::probe::Prober;
use crate::net::{AnnouncePlan, Announcer};
use crate::netlink::addr::Netlink;
use crate::netlink::linkwatch::LinkWatch;
use crate::notify::{Level, Logger, Notifier, NotifyContext};
use crate::scripts::{StageContext, StageRunner};
use alarm::Alarm;
pub use health::HealthSchedule;
pub use hooks::Hooks;
use jump::JumpWatch;
use wait::Ready;

/// How long a stopping daemon waits for mail still being handed to
/// sendmail; what is not sent by then stays in the spool for the next
/// start.
const MAIL_FLUSH: StdDuration = StdDuration::from_secs(5);

/// How long a stopping daemon waits for the writer thread to finish what
/// is queued (a frozen filesystem may hold it: the stop goes on).
const DISK_FLUSH: StdDuration = StdDuration::from_secs(5);

/// The kernel's side of the loop: what it waits on and takes in from, and
/// netlink for the addresses.
pub struct Io {
    /// The raw channels: heartbeat frames in and out, gratuitous ARP out.
    pub ports: Ports,
    /// Netlink, for the addresses.
    pub netlink: Netlink,
    /// The carrier of the links' interfaces.
    pub carrier: LinkWatch,
    /// The `--probe` of the service interfaces, if configured.
    pub probe: Option<Prober>,
    /// SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2, blocked and read here.
    pub signals: SignalFd,
}

/// What carries out the machine's actions besides frames.
pub struct Effects {
    /// The service addresses managed here.
    pub services: Services,
    /// The script runner: failoverd's stages, heartbeatd's health checks.
    pub runner: Option<StageRunner>,
    /// heartbeatd's health checks (`--check-interval`), run by `runner`.
    pub health: Option<HealthSchedule>,
    /// heartbeatd's PostAcq/PostRel hooks, on a runner of their own.
    pub hooks: Option<Hooks>,
    /// Syslog and mail.
    pub notifier: Notifier,
    /// How acquired addresses are announced.
    pub announce: AnnouncePlan,
}

/// How this daemon names things to an administrator and to its scripts:
/// filled in once at start.
pub struct Labels {
    /// Which daemon this is.
    pub program: Program,
    /// How each link is shown: `private (eth1)`.
    pub link_names: Vec<String>,
    /// The peer as shown in the status: `primary 198.51.100.1`.
    pub peer: String,
    /// The witness as shown in the status, if configured.
    pub witness: Option<String>,
    /// Host name, role, peer, addresses, scripts directory.
    pub notify_base: NotifyContext,
    /// What the scripts are told besides the reason.
    pub stage_base: StageContext,
}

/// The files the daemon keeps.
pub struct StateFiles {
    /// The pid file; the status file goes next to it.
    pub pid_file: PathBuf,
    /// Where this daemon's last epoch is kept (a rollover updates it).
    pub epoch_file: PathBuf,
    /// Where the peers' settled epochs are kept (`<program>.peers`).
    pub peers_file: PathBuf,
    /// What it holds, `(node id, epoch)`: read at start, kept here as it
    /// changes, and written whole by the writer thread.
    pub peer_epochs: Vec<(u32, u32)>,
}

/// Everything the loop drives besides the machine, set up by the daemon's
/// start-up code.
pub struct Setup {
    /// The log.
    pub log: Logger,
    /// What the loop waits on.
    pub io: Io,
    /// What carries out the actions.
    pub effects: Effects,
    /// Names and contexts.
    pub labels: Labels,
    /// Files.
    pub files: StateFiles,
    /// Reads the configuration again on SIGHUP.
    pub reload: Reloader,
    /// The restart-only settings running now.
    pub settings: RestartSettings,
    /// The writer thread: every file the loop writes or removes goes
    /// through it (or through `status_disk`), so that no filesystem makes
    /// the loop wait.
    pub disk: Disk,
    /// The writer thread of the files an operator's command waits for (the
    /// status files, `--handover`'s answer): a write stuck on `disk` never
    /// holds them up ([`crate::disk`]).
    pub status_disk: Disk,
}

/// The loop's state.
pub struct Runtime<N: Node> {
    node: N,
    log: Logger,
    io: Io,
    services: Services,
    runner: Option<StageRunner>,
    health: Option<HealthSchedule>,
    hooks: Option<Hooks>,
    notifier: Notifier,
    announcer: Announcer,
    labels: Labels,
    files: StateFiles,
    reload: Reloader,
    settings: RestartSettings,
    /// The machine's time: `CLOCK_BOOTTIME` in a daemon.
    clock: Box<dyn Clock>,
    /// The clock at the previous turn, to notice it jumped.
    jumps: JumpWatch,
    /// Wakes the wait at its deadline counting a suspend (its error, logged
    /// at the start, if it cannot be had).
    alarm: nix::Result<Alarm>,
    started: SystemTime,
    /// Since when the phase is what it is, and the last change of hands,
    /// for `--status` and the metrics.
    history: History,
    /// `--metrics-file`, when given.
    metrics: Option<MetricsFile>,
    /// See [`Setup::disk`].
    disk: Disk,
    /// See [`Setup::status_disk`].
    status_disk: Disk,
    /// Service addresses added back since start (`--status`, metrics).
    addresses_restored: u64,
    /// The writer thread's job stuck longest, once logged (logged again
    /// only for another file, or after it finished).
    disk_stuck_logged: Option<PathBuf>,
    /// What the last wait found ready, for the next take-in.
    ready: Ready,
    /// The last take-in found a link's queue fuller than one read takes
    /// ([`RX_BURST`]): the next wait watches the links even where the
    /// machine would let their frames wait for its round, so that a flood
    /// is read as it comes instead of overflowing the queue between rounds.
    flooded: bool,
    /// Results of carried-out actions, for the machine at the next take-in.
    reported: Vec<Reported>,
    /// A service interface's carrier came back: announce again once the
    /// machine has said whether it holds the addresses.
    announce_again: bool,
    last_phase: &'static str,
    stopping: bool,
    /// systemd's notifications; disabled unless [`Runtime::with_systemd`].
    systemd: Systemd,
    rx_failing: Vec<bool>,
    /// The reachability last reported: the service interfaces without a
    /// carrier, and the probes unanswered, as bit masks (compared on every
    /// turn without allocating).
    reach_state: Option<(u32, u32)>,
    payload: [u8; MAX_FRAME_LEN],
    /// What [`Ports::flush`](crate::daemon::ports::Ports::flush) found worth
    /// logging, kept between rounds for its capacity.
    send_reports: Vec<(LinkId, SendReport)>,
    /// `--apple-compat`: a heartbeat in this daemon's own format came from
    /// the primary (logged once).
    heard_our_format: bool,
}

impl<N: Node> Runtime<N> {
    /// A loop for `node`, whose time is `clock`'s (the machine was made at
    /// the clock's time zero, or at least not after its first reading).
    pub fn new(node: N, setup: Setup, clock: Box<dyn Clock>) -> Self {
        let Setup {
            log,
            io,
            effects,
            labels,
            files,
            reload,
            settings,
            disk,
            status_disk,
        } = setup;
        let last_phase = node.phase_name();
        let channels = io.ports.channel_count();
        let jumps = JumpWatch::new(settings.interval);
        let started = SystemTime::now();
        let history = History::new(node.role(), started, clock.now());
        let metrics = settings
            .metrics_file
            .clone()
            .map(|path| MetricsFile::new(path, StdInstant::now()));
        Runtime {
            node,
            log,
            io,
            services: effects.services,
            runner: effects.runner,
            health: effects.health,
            hooks: effects.hooks,
            notifier: effects.notifier,
            announcer: Announcer::new(effects.announce),
            labels,
            files,
            reload,
            settings,
            clock,
            jumps,
            alarm: Alarm::open(),
            started,
            history,
            metrics,
            disk,
            status_disk,
            addresses_restored: 0,
            disk_stuck_logged: None,
            ready: Ready::default(),
            flooded: false,
            reported: Vec::new(),
            announce_again: false,
            last_phase,
            stopping: false,
            systemd: Systemd::disabled(),
            rx_failing: vec![false; channels],
            reach_state: None,
            payload: [0; MAX_FRAME_LEN],
            send_reports: Vec::with_capacity(MAX_TX_FRAMES),
            heard_our_format: false,
        }
    }

    /// The loop, notifying systemd through `systemd` (the daemons pass
    /// [`Systemd::from_env`]; loops built by tests and the lab stay
    /// silent).
    pub fn with_systemd(mut self, systemd: Systemd) -> Self {
        self.systemd = systemd;
        self
    }

    /// Now, in the machine's time.
    fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Runs until the machine has stopped (after SIGTERM or SIGINT).
    /// Returns the exit status.
    pub fn run(mut self) -> u8 {
        let now = StdInstant::now();
        let t = self.now();
        self.log.notice(format_args!(
            "{} started: {}; links: {}",
            self.labels.program.name(),
            self.node.phase_text(t),
            self.labels.link_names.join(", ")
        ));
        let (level, text) = slice::request().describe();
        self.log.log(level, text);
        if let Err(e) = &self.alarm {
            self.log.warning(format_args!(
                "cannot set a timer on CLOCK_BOOTTIME: {e}; after a suspend, this daemon may \
                 notice the time it was away up to one interval late"
            ));
        }
        let any = self.io.carrier.any_carrier();
        if !any {
            self.log
                .warning("no carrier on any link: this host is cut off from everyone");
        }
        // Reachability first, as at every carrier change (links.rs).
        self.report_reachability(now);
        self.node.set_carrier(t, any);
        let mut first = true;
        let mut start_up = true;
        let mut quiet = resident::Quiet::new(now, self.log.messages());
        loop {
            self.advance(StdInstant::now());
            // Ready once the channels are open (they were, before the loop
            // was made) and the machine has had its first turn: its first
            // heartbeats are out, the carrier and the reachability taken in.
            if std::mem::take(&mut first) {
                let status = self.node.phase_text(self.now());
                let report = self.systemd.ready(StdInstant::now(), &status);
                self.log_systemd(report);
            }
            if quiet.due(StdInstant::now(), self.log.messages()) {
                self.release_pages(std::mem::take(&mut start_up));
                quiet.released(self.log.messages());
            }
            if self.node.is_stopped() && self.runner_idle() && self.reported.is_empty() {
                break;
            }
            self.wait();
        }
        self.notifier.flush(MAIL_FLUSH);
        self.remove_files();
        self.finish_writes();
        // "stopped" is logged by the caller once the pid file's lock is
        // released, so a restart prompted by that line finds it free.
        0
    }

    /// The daemon has been quiet for [`resident::QUIET`]: what start-up
    /// (or the last takeover, reload or mail) ran need not stay resident.
    /// Logged before, so that the logging is not the first thing to come
    /// back.
    fn release_pages(&self, start_up: bool) {
        let pages = match resident::code_pages() {
            Ok(pages) => pages,
            Err(e) => {
                if start_up {
                    self.log.info(format_args!(
                        "start-up over; its code stays resident: cannot read /proc/self: {e}"
                    ));
                }
                return;
            }
        };
        let kb = resident::resident_kb(&pages);
        let count = pages.len();
        let (level, what) = if start_up {
            (Level::Info, "start-up over")
        } else {
            (Level::Debug, "quiet again")
        };
        self.log.log(
            level,
            format_args!(
                "{what}: {kb} kB of code and constants in {count} mappings made non-resident \
                 (they stay in the page cache; what runs comes back)"
            ),
        );
        resident::release(&pages);
    }

    /// At exit: the files the daemon keeps while it runs (the status
    /// files, an operator's request and answer, the metrics) go with it,
    /// after the writes still queued for them.
    fn remove_files(&self) {
        status::remove(&self.files.pid_file, &self.status_disk);
        operator::remove_files(&self.files.pid_file, &self.status_disk);
        if let Some(m) = &self.metrics {
            m.remove(&self.disk);
        }
    }

    /// At exit: waits (at most [`DISK_FLUSH`]) for the writer thread to
    /// finish, so the peers' epochs and the mail are on disk when
    /// "stopped" is logged; says what is lost if it cannot.
    fn finish_writes(&self) {
        // The status files go quickly (in /run) or not at all.
        let _ = self.status_disk.wait_idle(DISK_FLUSH);
        if self.disk.wait_idle(DISK_FLUSH) {
            return;
        }
        if let Some(stuck) = self.disk.stuck(StdInstant::now(), StdDuration::ZERO) {
            self.log.warning(format_args!(
                "stopping with {} file(s) not written: writing {} has taken {:.1} s (a frozen \
                 filesystem?); what the others held is lost",
                stuck.waiting + 1,
                stuck.path.display(),
                stuck.for_.as_secs_f64()
            ));
        }
    }

    /// One turn of the loop: take in, step, carry out, then wait for the
    /// next input or deadline. [`Runtime::run`] is this in a loop; tests
    /// drive it directly (the allocation test counts what a turn
    /// allocates).
    pub fn turn(&mut self) {
        self.advance(StdInstant::now());
        self.wait();
    }

    /// The machine, for tests and tools that read its state.
    pub fn node(&self) -> &N {
        &self.node
    }

    /// The writer thread, for tests that wait until what a turn queued is
    /// written.
    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    fn runner_idle(&self) -> bool {
        self.runner.as_ref().is_none_or(|r| r.running().is_none())
            && self.hooks.as_ref().is_none_or(Hooks::idle)
    }

    /// Everything but the wait: take in, step the machine, carry out. A
    /// jump of the clock since the previous turn is logged first, before
    /// anything the machine does about it.
    fn advance(&mut self, now: StdInstant) {
        self.watch_jumps();
        self.take_in(now);
        let t = self.now();
        if self.node.poll_at().is_some_and(|at| at <= t) {
            self.node.handle_timeout(t);
        }
        self.carry_out(now);
        self.start_next_hook(now);
        self.notifier.poll(now);
        self.export_metrics(now);
        self.watch_disk(now);
        // The watchdog is fed here, where every turn passes: only when a
        // ping is due (the common case is one comparison).
        let report = self.systemd.poll(now);
        self.log_systemd(report);
    }

    /// Says once when the writer thread has been stuck on a file for over
    /// [`disk::SLOW`] (a frozen filesystem), while the heartbeats go on;
    /// the thread says when it is done.
    fn watch_disk(&mut self, now: StdInstant) {
        match self.disk.stuck(now, disk::SLOW) {
            Some(stuck) if self.disk_stuck_logged.as_ref() != Some(&stuck.path) => {
                self.log.warning(format_args!(
                    "writing {} has taken {:.1} s so far (a slow or frozen filesystem?): the \
                     heartbeats go on, and {} other file(s) wait to be written",
                    stuck.path.display(),
                    stuck.for_.as_secs_f64(),
                    stuck.waiting
                ));
                self.disk_stuck_logged = Some(stuck.path);
            }
            Some(_) => {}
            None => self.disk_stuck_logged = None,
        }
    }

    /// Logs a failing systemd notification once, and its recovery.
    fn log_systemd(&self, report: systemd::Report) {
        match report {
            systemd::Report::Quiet => {}
            systemd::Report::Failing(e) => self.log.warning(format_args!(
                "cannot notify systemd (NOTIFY_SOCKET): {e}; with WatchdogSec= in the unit, \
                 systemd will restart this daemon (logged once until it works again)"
            )),
            systemd::Report::Recovered => self.log.notice("notifying systemd works again"),
        }
    }

    /// Logs a jump of the clock since the previous turn: the machine,
    /// given the new time at its next input, treats it as a stall.
    fn watch_jumps(&mut self) {
        let t = self.now();
        if let Some(gap) = self.jumps.turn(t) {
            self.log.warning(format_args!(
                "the clock jumped {} between two turns (suspend or a stall): the peers may have \
                 declared this node dead meanwhile, so it lets go of any service address it holds \
                 at once and counts their silence afresh",
                duration_text(gap)
            ));
        }
    }

    /// Takes in what the last wait found and what is due: signals, carrier
    /// changes, frames, probe replies, ended stages, reported results.
    fn take_in(&mut self, now: StdInstant) {
        let ready = std::mem::take(&mut self.ready);
        if ready.signals {
            self.take_signals();
        }
        if ready.links {
            self.take_link_events(now);
        }
        let mut heard = false;
        let mut taken = 0;
        for (i, r) in ready.channels.iter().enumerate() {
            if *r {
                taken = taken.max(self.receive(i));
                heard = true;
            }
        }
        if heard {
            // A peer's round is one frame per link, sent together but
            // delivered link by link: the wait may have returned for the
            // first before the next was in. Looking at the other links now
            // (a system call that finds nothing when they are empty) takes
            // the rest of the round in this turn instead of waking again
            // for it.
            for (i, r) in ready.channels.iter().enumerate() {
                if !*r && self.io.ports.hears_peers(i) {
                    taken = taken.max(self.receive(i));
                }
            }
        }
        self.flooded = taken >= RX_BURST;
        self.take_probes(now);
        let t = self.now();
        match self.runner.as_mut().and_then(|r| r.poll(now)) {
            Some((Stage::Check, outcome)) => self.on_check_done(t, outcome),
            Some((stage, outcome)) => self.node.handle_stage_done(t, stage, outcome),
            None => {}
        }
        self.start_due_check(now);
        self.take_hook_done(now);
        for report in std::mem::take(&mut self.reported) {
            match report {
                Reported::Stage(stage, outcome) => self.node.handle_stage_done(t, stage, outcome),
                Reported::Removal(outcome) => self.node.handle_removal(t, outcome),
            }
        }
    }

    /// Carries out the machine's actions, sends its frames and the
    /// announcements due, and logs a change of phase.
    fn carry_out(&mut self, now: StdInstant) {
        let t = self.now();
        while let Some(a) = self.node.poll_action() {
            self.act(now, a);
        }
        // A round's frames go out together (Ports::flush), and what is
        // worth logging about them is said after: the reports' vector
        // keeps its capacity, so a round allocates nothing.
        let mut reports = std::mem::take(&mut self.send_reports);
        while let Some(tx) = self.node.poll_transmit(t, &mut self.payload) {
            let payload = self.payload.get(..tx.len).unwrap_or(&[]);
            self.io.ports.queue(&tx, payload, &mut reports);
        }
        self.io.ports.flush(&mut reports);
        for (link, report) in reports.drain(..) {
            match report {
                SendReport::Quiet => {}
                SendReport::Failing(e) => self.log.warning(format_args!(
                    "cannot send on {}: {e} (logged once until it works again)",
                    self.link_name(link)
                )),
                SendReport::Recovered => self.log.notice(format_args!(
                    "sending on {} works again",
                    self.link_name(link)
                )),
            }
        }
        self.send_reports = reports;
        // Gratuitous ARPs sent while a service interface had no carrier
        // were lost (the addresses may be added as soon as the private link
        // is back, before the public one): announce again the moment it
        // returns, not at the next round. Likewise for addresses added again
        // to a re-created interface (links.rs): the clients' caches point at
        // the old one's MAC.
        if std::mem::take(&mut self.announce_again)
            && self.node.holds_addresses()
            && !self.services.is_empty()
        {
            self.log.info(format_args!(
                "announcing {} again: a service interface is back (its carrier, or the interface)",
                join(&self.services.addrs())
            ));
            self.announcer.start(t);
        }
        self.announce(t);
        let phase = self.node.phase_name();
        if phase != self.last_phase {
            let from = std::mem::replace(&mut self.last_phase, phase);
            self.history.phase_changed(SystemTime::now(), t);
            let text = self.node.phase_text(t);
            let report = self.systemd.status(&text);
            self.log_systemd(report);
            self.log.notice(format_args!(
                "{from} → {text}; {}{}",
                self.links_text(t),
                self.witness_text(t)
                    .map(|w| format!("; witness: {w}"))
                    .unwrap_or_default()
            ));
        }
    }

    /// Sends the announcement rounds due: gratuitous ARP for the IPv4
    /// addresses (each form of the round), one unsolicited neighbour
    /// advertisement a round for the IPv6 ones.
    fn announce(&mut self, t: Instant) {
        while let Some(round) = self.announcer.poll(t) {
            for svc in self.services.iter() {
                let ifname = svc.interface.as_str();
                let sent = match svc.addr {
                    IpAddr::V4(addr) => round
                        .forms()
                        .map(|form| self.io.ports.send_garp(ifname, form, addr))
                        .find(Result::is_err)
                        .unwrap_or(Ok(())),
                    IpAddr::V6(addr) => self.io.ports.send_na(ifname, addr),
                };
                if let Err(e) = sent {
                    self.log.warning(format_args!(
                        "cannot announce {} on {}: {e}",
                        svc.addr, svc.interface
                    ));
                }
            }
            if round.index == 0 {
                let how = match (
                    self.services.iter().any(|s| !s.is_ipv6()),
                    self.services.iter().any(ServiceAddress::is_ipv6),
                ) {
                    (true, true) => "gratuitous ARP and unsolicited neighbour advertisements",
                    (false, true) => "unsolicited neighbour advertisements",
                    _ => "gratuitous ARP",
                };
                self.log.info(format_args!(
                    "announced {} with {how} ({} rounds)",
                    join(&self.services.addrs()),
                    round.plan.rounds
                ));
            }
        }
    }

    /// Takes in every frame waiting on `channel`, each stamped with the
    /// time it was read, not the time the loop woke: a process stopped
    /// between the two (SIGSTOP, a suspended VM) would otherwise hand the
    /// frames queued meanwhile to the machine with a time from before the
    /// stop, and the machine would act on them (a HOLDS from the secondary
    /// that took over) before it noticed its own stall. Returns how many
    /// frames it took.
    fn receive(&mut self, channel: usize) -> usize {
        let node = &mut self.node;
        let clock = &self.clock;
        let mut ours = false;
        let result = self.io.ports.drain(channel, |link, rx| match rx {
            Rx::Frame(payload) => node.handle_frame(clock.now(), link, payload),
            Rx::AppleBeat { ours: o } => {
                ours |= o;
                node.handle_apple_beat(clock.now(), link);
            }
        });
        if ours && !self.heard_our_format {
            self.heard_our_format = true;
            self.log.notice(
                "--apple-compat: the primary sends this daemon's own heartbeats (heartbeatd \
                 without --apple-compat); they count as Apple's, without the failback \
                 handshake: leave --apple-compat out on both servers to have it",
            );
        }
        let taken = *result.as_ref().unwrap_or(&0);
        let failing = self.rx_failing.get_mut(channel);
        match (result, failing) {
            (Err(e), Some(f)) if !*f => {
                *f = true;
                self.log.warning(format_args!(
                    "receiving on channel {channel} failed: {e} (logged once until it works again)"
                ));
            }
            (Ok(n), Some(f)) if n > 0 && *f => {
                *f = false;
                self.log
                    .notice(format_args!("receiving on channel {channel} works again"));
            }
            _ => {}
        }
        taken
    }

    /// `--probe`: the replies (all of them, also those that queued up
    /// while this process was not running: the time it was away must not
    /// look like the target's silence), then the requests due, then the
    /// verdict.
    fn take_probes(&mut self, now: StdInstant) {
        let Some(p) = self.io.probe.as_mut() else {
            return;
        };
        for i in 0..p.len() {
            p.receive(i, now);
        }
        for (iface, e) in p.send_due(now) {
            self.log.warning(format_args!(
                "cannot send the --probe request on {iface}: {e} (logged once until it works \
                 again)"
            ));
        }
        self.report_reachability(now);
    }

    /// The reachability rule's input: clients can reach this host only if
    /// every interface that carries a service address has a carrier and,
    /// with `--probe`, its probe target answers there. The core decides
    /// what follows (a primary hands the service over, a secondary says it
    /// cannot serve); this logs why. Cheap when nothing changed: called on
    /// every turn with a probe.
    fn report_reachability(&mut self, now: StdInstant) {
        let state = (
            self.io.carrier.service_dark_mask(),
            self.io.probe.as_ref().map_or(0, |p| p.unanswered_mask(now)),
        );
        if self.reach_state == Some(state) {
            return;
        }
        let starting = self.reach_state.is_none();
        self.reach_state = Some(state);
        let mut why: Vec<String> = self
            .io
            .carrier
            .services_without_carrier()
            .into_iter()
            .map(|i| format!("no carrier on {i}"))
            .collect();
        if let Some(p) = self.io.probe.as_ref() {
            why.extend(p.unanswered(now));
        }
        let reachable = why.is_empty();
        if !reachable {
            self.log.warning(format_args!(
                "clients cannot reach this server: {} (service addresses live there)",
                why.join("; ")
            ));
        } else if !starting {
            self.log.notice(
                "every service interface has a carrier (and its probe answers) again: clients can \
                 reach this server",
            );
        }
        self.node.set_reachable(self.now(), reachable);
    }

    fn take_signals(&mut self) {
        for _ in 0..16 {
            let info = match self.io.signals.read_signal() {
                Ok(Some(info)) => info,
                Ok(None) => break,
                Err(e) => {
                    self.log.error(format_args!("cannot read signals: {e}"));
                    break;
                }
            };
            let signo = i32::try_from(info.ssi_signo).unwrap_or(0);
            match Signal::try_from(signo) {
                Ok(Signal::SIGTERM | Signal::SIGINT) => self.on_stop(signo),
                Ok(Signal::SIGHUP) => self.on_reload(),
                Ok(Signal::SIGUSR1) => self.on_status(),
                Ok(Signal::SIGUSR2) => self.on_operator(),
                _ => {}
            }
        }
    }

    fn on_stop(&mut self, signo: i32) {
        let now = StdInstant::now();
        let name = Signal::try_from(signo).map_or("a signal", Signal::as_str);
        if self.stopping {
            self.log.warning(format_args!(
                "{name} again while stopping: giving up on the running scripts and removing \
                 the addresses now"
            ));
            if let Some(r) = self.runner.as_mut() {
                r.cancel(now);
            }
            if let Some(h) = self.hooks.as_mut() {
                h.cancel(now);
            }
            self.services.remove_all(&mut self.io.netlink, &self.log);
            self.notifier.flush(MAIL_FLUSH);
            self.remove_files();
            self.finish_writes();
            std::process::exit(1);
        }
        self.stopping = true;
        let what = if self.node.holds_addresses() {
            "stopping (letting go of the service addresses first)"
        } else {
            "stopping"
        };
        let report = self.systemd.stopping(what);
        self.log_systemd(report);
        self.log.notice(format_args!("{name}: {what}"));
        self.node.shutdown(self.now());
    }

    fn on_reload(&mut self) {
        self.node.tickle(self.now());
        self.log
            .notice("SIGHUP: sent a heartbeat round at once; reloading the configuration");
        match (self.reload)() {
            Err(e) => {
                for p in &e.problems {
                    self.log
                        .error(format_args!("reload refused: {}", p.message));
                }
                self.log
                    .error("reload refused: still running with the previous configuration");
            }
            Ok(r) => {
                if r.restart != self.settings {
                    self.log.warning(
                        "the new configuration changes a setting that takes effect only after a \
                         restart (systemctl restart): addresses, interfaces, the peer, the \
                         interval, the port, the witness, the probe, --apple-compat, the \
                         gratuitous ARP plan, the \
                         log facility, the metrics file or a directory; keys, mail, script \
                         settings and the message are applied now",
                    );
                }
                self.node.set_keys(r.keys);
                self.node.set_message(heartbeat_message(&r.message));
                if self.io.ports.sends_apple() {
                    let message = heartbeat_message(&r.message);
                    self.io.ports.set_apple_message(message.to_vec());
                }
                // Never waits: mail being sent goes on, spooled mail stays.
                self.notifier.reconfigure(r.mail);
                if let (Some(runner), Some(cfg)) = (self.runner.as_mut(), r.scripts) {
                    runner.set_config(cfg);
                }
                if let (Some(hooks), Some(cfg)) = (self.hooks.as_mut(), r.hooks) {
                    hooks.set_config(cfg);
                }
                self.log.notice("configuration reloaded");
            }
        }
    }

    fn on_status(&mut self) {
        self.write_status();
    }

    /// SIGUSR2: an operator's command (`heartbeatd --handover` or
    /// `--reclaim`), read from the request file; the answer goes to the
    /// answer file and the log.
    fn on_operator(&mut self) {
        let pid_file = self.files.pid_file.clone();
        let reply = match operator::take_request(&pid_file, &self.status_disk) {
            Err(e) => {
                self.log.warning(format_args!("SIGUSR2: {e}"));
                operator::Reply::Refused(e)
            }
            Ok(command) => {
                let now = self.now();
                let reply = operator::Reply::from_core(self.node.operator(now, command));
                let word = command.word();
                match &reply {
                    operator::Reply::Started => self
                        .log
                        .notice(format_args!("the operator asked for a {word}: under way")),
                    operator::Reply::AlreadySo => self.log.notice(format_args!(
                        "the operator asked for a {word}: already so, nothing to do"
                    )),
                    operator::Reply::Refused(why) => self.log.warning(format_args!(
                        "the operator asked for a {word}: refused: {why}"
                    )),
                }
                reply
            }
        };
        operator::write_reply(&pid_file, &reply, &self.status_disk);
    }
}

/// A message for heartbeats: at most [`MAX_MESSAGE_LEN`] bytes of `text`
/// (the options refuse a longer `-m`; a longer one is cut, not dropped).
fn heartbeat_message(text: &str) -> heapless::Vec<u8, MAX_MESSAGE_LEN> {
    let bytes = text.as_bytes();
    let mut message = heapless::Vec::new();
    // Cannot fail: at most MAX_MESSAGE_LEN bytes.
    let _ = message.extend_from_slice(bytes.get(..MAX_MESSAGE_LEN).unwrap_or(bytes));
    message
}
