//! The event loop both daemons run: one thread, one `ppoll()`, no busy
//! waiting. Inputs (heartbeat frames, signals, script exits, the clock) go
//! into the core machine; the machine's actions (addresses, announcements,
//! script stages, notifications) and frames come out and are carried out
//! here. Nothing in the loop waits for a script or a mail: those run as
//! child processes polled on their own deadlines, so heartbeats and
//! detection go on while they run.
//!
//! Steady state (beating and listening, nothing changing) allocates
//! nothing: the poll set lives on the stack, frames are built into buffers
//! made at start, and logging happens only when something changes.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration as StdDuration, Instant as StdInstant, SystemTime};

use failover_core::wire::{Keyring, MAX_FRAME_LEN, MAX_MESSAGE_LEN};
use failover_core::{Action, Event, Instant, LinkId, Stage, StageOutcome};
use nix::poll::{PollFd, PollFlags};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use nix::sys::time::TimeSpec;

use super::node::Node;
use super::ports::{Ports, SendReport};
use super::services::Services;
use super::status;
use super::words::{duration_text, duration_words, heard_text, join};
use crate::config::cli::{Program, StartupError};
use crate::net::probe::Prober;
use crate::net::{AnnouncePlan, Announcer};
use crate::netlink::addr::Netlink;
use crate::netlink::linkwatch::LinkWatch;
use crate::notify::{LinkReport, Logger, MailConfig, Notifier, NotifyContext};
use crate::scripts::{ScriptConfig, StageContext, StageRunner};

/// The longest the loop sleeps without a deadline (a safety net: a machine
/// always has a timer while running).
const MAX_SLEEP: StdDuration = StdDuration::from_secs(60);
/// How long a stopping daemon waits for mail still being handed to sendmail.
const MAIL_FLUSH: StdDuration = StdDuration::from_secs(5);
/// Descriptors polled at most (channels, the signal fd, script pipes).
const MAX_POLL_FDS: usize = 24;

/// What a SIGHUP reload may change while running, as re-read from the
/// command line and the configuration file.
#[derive(Debug, Clone)]
pub struct Reload {
    /// Everything that needs a restart to change (addresses, interfaces,
    /// interval, port, witness), in a comparable form.
    pub fingerprint: String,
    /// The authentication keys.
    pub keys: Option<Keyring>,
    /// Mail settings (`None`: mail off).
    pub mail: Option<MailConfig>,
    /// Script settings (failoverd).
    pub scripts: Option<ScriptConfig>,
    /// heartbeatd's `-m` message.
    pub message: String,
}

/// Re-reads the configuration for a reload.
pub type Reloader = Box<dyn FnMut() -> Result<Reload, StartupError>>;

/// Everything the loop drives besides the machine, set up by the daemon's
/// start-up code.
pub struct Setup {
    /// Which daemon this is.
    pub program: Program,
    /// The log.
    pub log: Logger,
    /// The raw channels.
    pub ports: Ports,
    /// How each link is shown to an administrator: `private (eth1)`.
    pub link_names: Vec<String>,
    /// The service addresses managed here.
    pub services: Services,
    /// The carrier of the links' interfaces.
    pub carrier: LinkWatch,
    /// The `--probe` of the service interfaces, if configured.
    pub probe: Option<Prober>,
    /// Netlink, for the addresses.
    pub netlink: Netlink,
    /// The script runner (failoverd); heartbeatd runs no scripts.
    pub runner: Option<StageRunner>,
    /// Syslog and mail.
    pub notifier: Notifier,
    /// Host name, role, peer, addresses, scripts directory: filled in once.
    pub notify_base: NotifyContext,
    /// The peer as shown in the status: `primary 198.51.100.1`.
    pub peer_label: String,
    /// The witness as shown in the status, if configured.
    pub witness_label: Option<String>,
    /// What the scripts are told besides the reason.
    pub stage_base: StageContext,
    /// SIGTERM, SIGINT, SIGHUP and SIGUSR1, blocked and read here.
    pub signals: SignalFd,
    /// The pid file; the status file goes next to it.
    pub pid_file: PathBuf,
    /// Where this daemon's last epoch is kept (a rollover updates it).
    pub epoch_file: PathBuf,
    /// Where the peers' settled epochs are kept (`<program>.peers`).
    pub peers_file: PathBuf,
    /// How acquired addresses are announced.
    pub announce: AnnouncePlan,
    /// The reload.
    pub reload: Reloader,
    /// The fingerprint of the settings running now.
    pub fingerprint: String,
}

/// The loop's state.
pub struct Runtime<N: Node> {
    node: N,
    s: Setup,
    origin: StdInstant,
    started: SystemTime,
    announcer: Announcer,
    last_phase: &'static str,
    stopping: bool,
    rx_failing: Vec<bool>,
    /// The reachability last reported: the service interfaces without a
    /// carrier, and the probes unanswered, as bit masks (compared on every
    /// turn without allocating).
    reach_state: Option<(u32, u32)>,
    payload: [u8; MAX_FRAME_LEN],
}

impl<N: Node> Runtime<N> {
    /// A loop for `node`, whose clock started at `origin` (core time zero).
    pub fn new(node: N, setup: Setup, origin: StdInstant) -> Self {
        let announcer = Announcer::new(setup.announce);
        let last_phase = node.phase_name();
        let channels = setup.ports.channel_count();
        Runtime {
            node,
            s: setup,
            origin,
            started: SystemTime::now(),
            announcer,
            last_phase,
            stopping: false,
            rx_failing: vec![false; channels],
            reach_state: None,
            payload: [0; MAX_FRAME_LEN],
        }
    }

    fn core(&self, t: StdInstant) -> Instant {
        core_time(self.origin, t)
    }

    fn std(&self, t: Instant) -> StdInstant {
        self.origin + StdDuration::from_micros(t.total_micros())
    }

    /// Runs until the machine has stopped (after SIGTERM or SIGINT).
    /// Returns the exit status.
    pub fn run(mut self) -> u8 {
        self.s.log.notice(format_args!(
            "{} started: {}; links: {}",
            self.s.program.name(),
            self.node.phase_text(self.core(StdInstant::now())),
            self.s.link_names.join(", ")
        ));
        let now = StdInstant::now();
        let any = self.s.carrier.any_carrier();
        if !any {
            self.s
                .log
                .warning("no carrier on any link: this host is cut off from everyone");
        }
        self.node.set_carrier(self.core(now), any);
        self.report_reachability(now);
        loop {
            let now = StdInstant::now();
            self.step(now);
            if self.node.is_stopped() && self.runner_idle() {
                break;
            }
            self.sleep();
        }
        self.s.notifier.flush(MAIL_FLUSH);
        status::remove(&self.s.pid_file);
        // "stopped" is logged by the caller once the pid file's lock is
        // released, so a restart prompted by that line finds it free.
        0
    }

    /// One turn of the loop: everything due now, then sleep until the next
    /// input or deadline and take in what arrived. [`Runtime::run`] is this
    /// in a loop; tests drive it directly (the allocation test counts what
    /// a turn allocates).
    pub fn turn(&mut self) {
        self.step(StdInstant::now());
        self.sleep();
    }

    /// The machine, for tests and tools that read its state.
    pub fn node(&self) -> &N {
        &self.node
    }

    fn runner_idle(&self) -> bool {
        self.s.runner.as_ref().is_none_or(|r| r.running().is_none())
    }

    /// Does everything due at `now` (without sleeping).
    fn step(&mut self, now: StdInstant) {
        let t = self.core(now);
        if let Some(r) = self.s.runner.as_mut() {
            if let Some((stage, outcome)) = r.poll(now) {
                self.node.handle_stage_done(t, stage, outcome);
            }
        }
        if let Some(p) = self.s.probe.as_mut() {
            // Replies that queued up while this process was not running
            // (a stall) count before the verdict is taken: the time it was
            // away must not look like the target's silence.
            for i in 0..p.len() {
                p.receive(i, now);
            }
            for (iface, e) in p.send_due(now) {
                self.s.log.warning(format_args!(
                    "cannot send the --probe request on {iface}: {e} (logged once until it works \
                     again)"
                ));
            }
            self.report_reachability(now);
        }
        if self.node.poll_at().is_some_and(|at| at <= t) {
            self.node.handle_timeout(t);
        }
        self.drive(now);
        self.s.notifier.poll(now);
    }

    /// Drains the machine's actions and frames, and the announcements due.
    fn drive(&mut self, now: StdInstant) {
        let t = self.core(now);
        // Actions may cause frames and frames never cause actions, but a
        // stage that ends at once (no runner) feeds back: loop until quiet.
        for _ in 0..64 {
            let mut busy = false;
            while let Some(a) = self.node.poll_action() {
                busy = true;
                self.act(now, a);
            }
            while let Some(tx) = self.node.poll_transmit(t, &mut self.payload) {
                busy = true;
                let payload = self.payload.get(..tx.len).unwrap_or(&[]);
                match self.s.ports.send(&tx, payload) {
                    SendReport::Quiet => {}
                    SendReport::Failing(e) => self.s.log.warning(format_args!(
                        "cannot send on {}: {e} (logged once until it works again)",
                        self.link_name(tx.link)
                    )),
                    SendReport::Recovered => self.s.log.notice(format_args!(
                        "sending on {} works again",
                        self.link_name(tx.link)
                    )),
                }
            }
            if !busy {
                break;
            }
        }
        while let Some(round) = self.announcer.poll(t) {
            for svc in self.s.services.iter() {
                for form in round.forms() {
                    if let Err(e) = self
                        .s
                        .ports
                        .send_garp(svc.interface.as_str(), form, svc.addr)
                    {
                        self.s.log.warning(format_args!(
                            "cannot announce {} on {}: {e}",
                            svc.addr, svc.interface
                        ));
                    }
                }
            }
            if round.index == 0 {
                self.s.log.info(format_args!(
                    "announced {} with gratuitous ARP ({} rounds)",
                    join(&self.s.services.addrs()),
                    round.plan.rounds
                ));
            }
        }
        let phase = self.node.phase_name();
        if phase != self.last_phase {
            let from = std::mem::replace(&mut self.last_phase, phase);
            self.s.log.notice(format_args!(
                "{from} → {}; {}{}",
                self.node.phase_text(t),
                self.links_text(t),
                self.witness_text(t)
                    .map(|w| format!("; witness: {w}"))
                    .unwrap_or_default()
            ));
        }
    }

    fn act(&mut self, now: StdInstant, action: Action) {
        let t = self.core(now);
        match action {
            Action::RunStage(stage) => {
                let ctx = StageContext {
                    reason: self.stage_reason(t, stage),
                    ..self.s.stage_base.clone()
                };
                match self.s.runner.as_mut() {
                    Some(r) => r.start(now, stage, &ctx),
                    None => self.node.handle_stage_done(t, stage, StageOutcome::Success),
                }
            }
            Action::AddAddresses => {
                self.s.services.add_all(&mut self.s.netlink, &self.s.log);
            }
            Action::RemoveAddresses => {
                self.announcer.stop();
                self.s.services.remove_all(&mut self.s.netlink, &self.s.log);
            }
            Action::Announce => {
                if !self.s.services.is_empty() {
                    self.announcer.start(t);
                }
            }
            Action::Notify(event) => {
                let ctx = self.notify_context(t, event);
                self.s.notifier.notify(now, event, &ctx);
            }
            Action::SetFence(_) => {}
            Action::PersistPeerEpoch { peer, epoch } => {
                let file = self.s.peers_file.display();
                let addr = std::net::Ipv4Addr::from(peer.0);
                match super::epoch::persist_peer_epoch(&self.s.peers_file, peer.0, epoch) {
                    Ok(()) => self.s.log.info(format_args!(
                        "{addr} settled in epoch {epoch}: older epochs of it stay refused (kept in {file})"
                    )),
                    Err(e) => self.s.log.warning(format_args!(
                        "{addr} settled in epoch {epoch}, but cannot keep it in {file}: {e} \
                         (after a restart, frames of its earlier lives would be accepted once more)"
                    )),
                }
            }
            Action::PersistEpoch(epoch) => {
                let file = self.s.epoch_file.display();
                match super::epoch::persist(&self.s.epoch_file, epoch) {
                    Ok(()) => self.s.log.notice(format_args!(
                        "frame counter ran out: now sending in epoch {epoch} (kept in {file})"
                    )),
                    Err(e) => self.s.log.warning(format_args!(
                        "frame counter ran out: now sending in epoch {epoch}, but cannot keep it in {file}: {e} \
                         (a restart with the clock behind could choose it again)"
                    )),
                }
            }
        }
    }

    fn stage_reason(&self, t: Instant, stage: Stage) -> String {
        let acquiring = matches!(stage, Stage::Test | Stage::PreAcq | Stage::PostAcq);
        if acquiring && self.node.took_over_on_request() {
            format!(
                "the {} handed the service over: clients cannot reach it ({})",
                self.s.peer_label,
                self.links_text(t)
            )
        } else if acquiring {
            format!(
                "the {} is silent on every network ({})",
                self.s.peer_label,
                self.links_text(t)
            )
        } else if self.stopping {
            format!("{} is stopping", self.s.program.name())
        } else {
            format!("the {} is back ({})", self.s.peer_label, self.links_text(t))
        }
    }

    fn notify_context(&self, t: Instant, event: Event) -> NotifyContext {
        let mut ctx = self.s.notify_base.clone();
        ctx.links = self.link_reports(t);
        ctx.witness = self.witness_text(t);
        ctx.reason = match event {
            Event::Vetoed { .. } | Event::ScriptFailed { .. } => self
                .s
                .runner
                .as_ref()
                .and_then(|r| r.failure_detail())
                .map(str::to_owned),
            Event::Relinquished if self.stopping => {
                Some(format!("{} was asked to stop", self.s.program.name()))
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

    fn link_name(&self, link: LinkId) -> &str {
        self.s
            .link_names
            .get(usize::from(link.0))
            .map_or("an unknown link", String::as_str)
    }

    fn link_reports(&self, t: Instant) -> Vec<LinkReport> {
        let peer = self.node.peer_detector();
        (0..self.s.link_names.len())
            .map(|i| {
                let link = LinkId(u8::try_from(i).unwrap_or(u8::MAX));
                LinkReport {
                    name: self.link_name(link).to_owned(),
                    state: heard_text(peer.last_heard(link), peer.link_alive(t, link), t),
                }
            })
            .collect()
    }

    fn links_text(&self, t: Instant) -> String {
        let reports = self.link_reports(t);
        let parts: Vec<String> = reports
            .iter()
            .map(|r| format!("{}: {}", r.name, r.state))
            .collect();
        parts.join(", ")
    }

    fn witness_text(&self, t: Instant) -> Option<String> {
        let w = self.node.witness_detector()?;
        Some(heard_text(
            w.last_heard_any(),
            !w.is_dead(t) && w.heard_any(),
            t,
        ))
    }

    /// Sleeps in `ppoll()` until a descriptor is ready or the next deadline,
    /// then takes in what arrived.
    fn sleep(&mut self) {
        let now = StdInstant::now();
        let mut wake: Option<StdInstant> = self.node.poll_at().map(|t| self.std(t));
        let mut earliest = |t: Option<StdInstant>| {
            if let Some(t) = t {
                wake = Some(wake.map_or(t, |w| w.min(t)));
            }
        };
        earliest(self.announcer.next_due().map(|t| self.std(t)));
        earliest(self.s.runner.as_ref().and_then(StageRunner::next_deadline));
        earliest(self.s.notifier.next_deadline());
        earliest(self.s.probe.as_ref().and_then(|p| p.next_deadline(now)));
        let timeout = wake.map_or(MAX_SLEEP, |w| {
            w.saturating_duration_since(now).min(MAX_SLEEP)
        });

        let channels = self.s.ports.channel_count();
        let mut ready: heapless::Vec<bool, MAX_POLL_FDS> = heapless::Vec::new();
        let mut signalled = false;
        let mut link_event = false;
        let probes = self.s.probe.as_ref().map_or(0, Prober::len);
        let mut probe_ready: heapless::Vec<bool, MAX_POLL_FDS> = heapless::Vec::new();
        {
            let script_fds = self
                .s
                .runner
                .as_ref()
                .map(StageRunner::fds)
                .unwrap_or_default();
            let mut fds: heapless::Vec<PollFd<'_>, MAX_POLL_FDS> = heapless::Vec::new();
            let _ = fds.push(PollFd::new(self.s.signals.as_fd(), PollFlags::POLLIN));
            let _ = fds.push(PollFd::new(self.s.carrier.as_fd(), PollFlags::POLLIN));
            for i in 0..channels {
                if let Some(fd) = self.s.ports.fd(i) {
                    let _ = fds.push(PollFd::new(fd, PollFlags::POLLIN));
                }
            }
            for i in 0..probes {
                if let Some(fd) = self.s.probe.as_ref().and_then(|p| p.fd(i)) {
                    let _ = fds.push(PollFd::new(fd, PollFlags::POLLIN));
                }
            }
            for fd in script_fds {
                // More script pipes than fit are still read on the runner's
                // own tick.
                let _ = fds.push(PollFd::new(fd, PollFlags::POLLIN));
            }
            let ts = TimeSpec::from_duration(timeout);
            match nix::poll::ppoll(&mut fds, Some(ts), None) {
                Ok(_) => {
                    let is_ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
                    signalled = fds.first().is_some_and(is_ready);
                    link_event = fds.get(1).is_some_and(is_ready);
                    for f in fds.iter().skip(2).take(channels) {
                        let _ = ready.push(is_ready(f));
                    }
                    for f in fds.iter().skip(2 + channels).take(probes) {
                        let _ = probe_ready.push(is_ready(f));
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    self.s.log.error(format_args!("poll failed: {e}"));
                    std::thread::sleep(StdDuration::from_millis(10));
                }
            }
        }
        if signalled {
            self.take_signals();
        }
        if link_event {
            self.take_link_events();
        }
        for (i, r) in ready.iter().enumerate() {
            if *r {
                self.receive(i);
            }
        }
        if let Some(p) = self.s.probe.as_mut() {
            let now = StdInstant::now();
            for (i, r) in probe_ready.iter().enumerate() {
                if *r {
                    p.receive(i, now);
                }
            }
        }
    }

    /// Takes in every frame waiting on `channel`, each stamped with the
    /// time it was read, not the time the loop woke: a process stopped
    /// between the two (SIGSTOP, a suspended VM) would otherwise hand the
    /// frames queued meanwhile to the machine with a time from before the
    /// stop, and the machine would act on them (a HOLDS from the secondary
    /// that took over) before it noticed its own stall.
    fn receive(&mut self, channel: usize) {
        let node = &mut self.node;
        let origin = self.origin;
        let result = self.s.ports.drain(channel, |link, payload| {
            node.handle_frame(core_time(origin, StdInstant::now()), link, payload)
        });
        let failing = self.rx_failing.get_mut(channel);
        match (result, failing) {
            (Err(e), Some(f)) if !*f => {
                *f = true;
                self.s.log.warning(format_args!(
                    "receiving on channel {channel} failed: {e} (logged once until it works again)"
                ));
            }
            (Ok(n), Some(f)) if n > 0 && *f => {
                *f = false;
                self.s
                    .log
                    .notice(format_args!("receiving on channel {channel} works again"));
            }
            _ => {}
        }
    }

    fn take_link_events(&mut self) {
        match self.s.carrier.poll(&mut self.s.netlink) {
            Ok(changes) if changes.is_empty() => {}
            Ok(changes) => {
                for c in &changes {
                    if c.carrier {
                        self.s.log.notice(format_args!("{}: carrier back", c.name));
                    } else {
                        self.s.log.warning(format_args!("{}: carrier lost", c.name));
                    }
                }
                let any = self.s.carrier.any_carrier();
                if !any {
                    self.s.log.warning(
                        "no carrier on any link: this host is cut off from everyone; it will \
                         hold no service address until a link is back",
                    );
                }
                let now = StdInstant::now();
                self.node.set_carrier(self.core(now), any);
                self.report_reachability(now);
                self.drive(now);
                // Gratuitous ARPs sent while a service interface had no
                // carrier were lost (the addresses may be added as soon as
                // the private link is back, before the public one): announce
                // again the moment it returns, not at the next round.
                let returned = changes.iter().any(|c| {
                    c.carrier
                        && self
                            .s
                            .services
                            .iter()
                            .any(|s| s.interface.as_str() == c.name)
                });
                if returned && self.node.holds_addresses() && !self.s.services.is_empty() {
                    self.s.log.info(format_args!(
                        "announcing {} again: a service interface's carrier is back",
                        join(&self.s.services.addrs())
                    ));
                    self.announcer.start(self.core(now));
                    self.drive(now);
                }
            }
            Err(e) => self
                .s
                .log
                .error(format_args!("cannot read interface changes: {e}")),
        }
    }

    /// The reachability rule's input: clients can reach this host only if
    /// every interface that carries a service address has a carrier and,
    /// with `--probe`, its probe target answers there. The core decides
    /// what follows (a primary hands the service over, a secondary says it
    /// cannot serve); this logs why. Cheap when nothing changed: called on
    /// every turn with a probe.
    fn report_reachability(&mut self, now: StdInstant) {
        let state = (
            self.s.carrier.service_dark_mask(),
            self.s.probe.as_ref().map_or(0, |p| p.unanswered_mask(now)),
        );
        if self.reach_state == Some(state) {
            return;
        }
        let starting = self.reach_state.is_none();
        self.reach_state = Some(state);
        let mut why: Vec<String> = self
            .s
            .carrier
            .services_without_carrier()
            .into_iter()
            .map(|i| format!("no carrier on {i}"))
            .collect();
        if let Some(p) = self.s.probe.as_ref() {
            why.extend(p.unanswered(now));
        }
        let reachable = why.is_empty();
        if !reachable {
            self.s.log.warning(format_args!(
                "clients cannot reach this server: {} (service addresses live there)",
                why.join("; ")
            ));
        } else if !starting {
            self.s.log.notice(
                "every service interface has a carrier (and its probe answers) again: clients can \
                 reach this server",
            );
        }
        self.node.set_reachable(self.core(now), reachable);
    }

    fn take_signals(&mut self) {
        for _ in 0..16 {
            let info = match self.s.signals.read_signal() {
                Ok(Some(info)) => info,
                Ok(None) => break,
                Err(e) => {
                    self.s.log.error(format_args!("cannot read signals: {e}"));
                    break;
                }
            };
            let signo = i32::try_from(info.ssi_signo).unwrap_or(0);
            match Signal::try_from(signo) {
                Ok(Signal::SIGTERM | Signal::SIGINT) => self.on_stop(signo),
                Ok(Signal::SIGHUP) => self.on_reload(),
                Ok(Signal::SIGUSR1) => self.on_status(),
                _ => {}
            }
        }
    }

    fn on_stop(&mut self, signo: i32) {
        let now = StdInstant::now();
        let name = Signal::try_from(signo).map_or("a signal", Signal::as_str);
        if self.stopping {
            self.s.log.warning(format_args!(
                "{name} again while stopping: giving up on the running scripts and removing \
                 the addresses now"
            ));
            if let Some(r) = self.s.runner.as_mut() {
                r.cancel(now);
            }
            self.s.services.remove_all(&mut self.s.netlink, &self.s.log);
            self.s.notifier.flush(MAIL_FLUSH);
            status::remove(&self.s.pid_file);
            std::process::exit(1);
        }
        self.stopping = true;
        self.s.log.notice(format_args!(
            "{name}: stopping{}",
            if self.node.holds_addresses() {
                " (letting go of the service addresses first)"
            } else {
                ""
            }
        ));
        self.node.shutdown(self.core(now));
        self.drive(now);
    }

    fn on_reload(&mut self) {
        let now = StdInstant::now();
        self.node.tickle(self.core(now));
        self.drive(now);
        self.s
            .log
            .notice("SIGHUP: sent a heartbeat round at once; reloading the configuration");
        match (self.s.reload)() {
            Err(e) => {
                for p in &e.problems {
                    self.s
                        .log
                        .error(format_args!("reload refused: {}", p.message));
                }
                self.s
                    .log
                    .error("reload refused: still running with the previous configuration");
            }
            Ok(r) => {
                if r.fingerprint != self.s.fingerprint {
                    self.s.log.warning(
                        "the new configuration changes addresses, interfaces, the interval, the \
                         port or the witness: those take effect only after a restart \
                         (systemctl restart); keys, mail and script settings are applied now",
                    );
                }
                self.node.set_keys(r.keys);
                self.node.set_message(heartbeat_message(&r.message));
                let log = self.s.notifier.logger().clone();
                self.s.notifier.flush(StdDuration::from_millis(200));
                self.s.notifier = Notifier::new(log, r.mail);
                if let (Some(runner), Some(cfg)) = (self.s.runner.as_mut(), r.scripts) {
                    runner.set_config(cfg);
                }
                self.s.log.notice("configuration reloaded");
            }
        }
    }

    fn on_status(&mut self) {
        let text = self.status_text(StdInstant::now());
        if let Err(e) = status::write(&self.s.pid_file, &text) {
            self.s.log.error(format_args!(
                "cannot write the status file {}: {e}",
                status::status_path(&self.s.pid_file).display()
            ));
        }
    }

    /// The state in words, for `--status`.
    pub fn status_text(&mut self, now: StdInstant) -> String {
        use std::fmt::Write as _;
        let t = self.core(now);
        let mut out = String::new();
        let up = SystemTime::now()
            .duration_since(self.started)
            .unwrap_or_default()
            .as_secs();
        let _ = writeln!(
            out,
            "{} {}, pid {}, running for {}",
            self.s.program.name(),
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
            self.s.peer_label,
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
        if let (Some(label), Some(text)) = (&self.s.witness_label, self.witness_text(t)) {
            let _ = writeln!(out, "{label}: {text}");
        }
        if self.s.services.is_empty() {
            let _ = writeln!(out, "service addresses: none managed here");
        } else {
            let _ = writeln!(out, "service addresses:");
            let present = self.s.services.present(&mut self.s.netlink);
            for (svc, here) in self.s.services.iter().zip(present) {
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
        if let Some(stage) = self.s.runner.as_ref().and_then(StageRunner::running) {
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

/// A message for heartbeats: at most [`MAX_MESSAGE_LEN`] bytes of `text`
/// (the options refuse a longer `-m`; a longer one is cut, not dropped).
fn heartbeat_message(text: &str) -> heapless::Vec<u8, MAX_MESSAGE_LEN> {
    let bytes = text.as_bytes();
    let mut message = heapless::Vec::new();
    // Cannot fail: at most MAX_MESSAGE_LEN bytes.
    let _ = message.extend_from_slice(bytes.get(..MAX_MESSAGE_LEN).unwrap_or(bytes));
    message
}

/// Core time (microseconds since `origin`, the machine's time zero) of `t`.
fn core_time(origin: StdInstant, t: StdInstant) -> Instant {
    Instant::from_micros(
        u64::try_from(t.saturating_duration_since(origin).as_micros()).unwrap_or(u64::MAX),
    )
}
