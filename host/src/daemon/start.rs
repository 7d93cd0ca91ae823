//! Start-up, shared by both binaries: read and check the options, resolve
//! them against the interfaces, report every problem (`-n` stops there),
//! then open everything that can fail (channels, pid file, epoch) while the
//! terminal still shows errors, move to the background, and hand over to
//! the [`Runtime`].

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};

use failover_core::{
    AdaptiveDeadTime, ConfigError, DeadTime, Instant, NodeId, Primary, Role, Secondary, Stage,
};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::clock::BootClock;
use super::faults::Faults;
use super::metrics;
use super::node::Node;
use super::operator;
use super::pidfile::PidFile;
use super::ports::{LinkSpec, Ports};
use super::reload::{Reload, Reloader, RestartSettings};
use super::runtime::{Effects, HealthSchedule, Hooks, Io, Labels, Runtime, Setup, StateFiles};
use super::safedir;
use super::safefile;
use super::services::Services;
use super::status;
use super::systemd::Systemd;
use crate::config::cli::{
    Invocation, Problem, Program, ServiceAddress, StartupError, EXIT_CONFIG, EXIT_NOPERM,
};
use crate::config::options::{
    failoverd_from_args, failoverd_resolved, heartbeatd_from_args, heartbeatd_resolved, node_id,
    to_std, CommonOptions, FailoverdOptions, HasWarnings, HeartbeatdOptions, Resolved,
};
use crate::config::plan::{failoverd_plan, heartbeatd_plan, Plan};
use crate::config::privileges::check_privileges;
use crate::disk::Disk;
use crate::net::probe::Prober;
use crate::net::Senders;
use crate::netlink::addr::Netlink;
use crate::netlink::linkwatch::LinkWatch;
use crate::notify::{local_hostname, LogConfig, Logger, MailConfig, Notifier, NotifyContext};
use crate::scripts::{ScriptConfig, StageContext, StageRunner};

/// The signals a daemon reads from its signalfd, and so blocks: stop (TERM,
/// INT), reload (HUP), a status query (USR1), an operator's command
/// (USR2). Its children must not inherit them blocked
/// (`process::spawn_captured`).
pub const HANDLED_SIGNALS: [Signal; 5] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Exit status for a failure at run time (a channel that cannot be opened,
/// another copy running).
pub const EXIT_FAILURE: u8 = 1;

/// `failoverd`'s `main`: `args` is the whole command line.
pub fn failoverd_main(args: Vec<OsString>) -> u8 {
    let program = Program::Failoverd;
    let (opts, problems) = match first_step(program, failoverd_resolved(args.clone())) {
        Ok(r) => (r.options, r.problems),
        Err(code) => return code,
    };
    // Without the primary's address or a public address there is no plan
    // to check: the options' problems say what is missing.
    let complete = opts.master != Ipv4Addr::UNSPECIFIED && !opts.services.is_empty();
    let (nl, plan) = match checked_plan(
        program,
        &opts.common,
        &problems,
        complete,
        |nl| failoverd_checks(&opts, nl),
        |plan| summary_failoverd(&opts, plan),
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let spec = Spec {
        program,
        common: opts.common.clone(),
        services: opts.services.clone(),
        scripts: Some(script_config(&opts)),
        hooks: None,
        health: None,
        peer: Some(opts.master),
        peer_label: format!("primary {}", opts.master),
        witness_label: opts
            .common
            .witness
            .map(|w| format!("witness {w} (policy {})", opts.witness_mode.name())),
        settings: RestartSettings::failoverd(&opts),
        apple_sources: opts.apple_sources(),
        apple_message: None,
        reload: Box::new(move || match failoverd_from_args(args.clone())? {
            Invocation::Run(o) => Ok(Reload {
                restart: RestartSettings::failoverd(&o),
                keys: o.common.keys.clone(),
                mail: mail_config(&o.common),
                scripts: Some(script_config(&o)),
                hooks: None,
                message: String::new(),
            }),
            _ => Err(not_a_run(program)),
        }),
        plan,
    };
    start(spec, nl, |epoch, local, now| {
        Secondary::try_new(opts.secondary_config(local, epoch), now)
    })
}

/// What `failoverd -n` reports: the [`failoverd_plan`], the scripts it
/// would skip as warnings (the daemon runs without them, and says so again
/// when a stage would have run them, as it would without any scripts at
/// all), and as problems the scripts meant to run that cannot and a named
/// scripts directory that does not exist.
pub fn failoverd_checks(opts: &FailoverdOptions, nl: &mut Netlink) -> Plan {
    let mut plan = failoverd_plan(opts, nl);
    let scripts = crate::scripts::check(&script_config(opts), &opts.services);
    plan.warnings.extend(scripts.warnings);
    plan.problems.extend(scripts.problems);
    // No scripts directory is no scripts (Apple's were optional), unless
    // one was named: then it is a typo or a missing mount.
    if opts.scripts_dir != std::path::Path::new(crate::config::cli::DEFAULT_SCRIPTS_DIR)
        && !opts.scripts_dir.exists()
    {
        plan.problems.push(format!(
            "the scripts directory {} does not exist (--scripts-dir or FAILOVER_SCRIPTS_DIR): \
             create it, or leave the option out to run without scripts",
            opts.scripts_dir.display()
        ));
    }
    plan
}

/// What `heartbeatd -n` reports: the [`heartbeatd_plan`], and its scripts
/// as `failoverd -n` reports its own: the PostAcq/PostRel hooks when it
/// manages addresses, the Check scripts with health checks (a named
/// scripts directory that does not exist is a problem; no Check script at
/// all is a warning: every check would pass). Scripts of the stages only
/// failoverd runs are pointed out: heartbeatd never runs them.
pub fn heartbeatd_checks(opts: &HeartbeatdOptions, nl: &mut Netlink) -> Plan {
    let mut plan = heartbeatd_plan(opts, nl);
    if let Some(config) = hook_script_config(opts) {
        let scripts = crate::scripts::check_stages(&config, &opts.services, &PRIMARY_HOOKS);
        plan.warnings.extend(scripts.warnings);
        plan.problems.extend(scripts.problems);
        plan.warnings
            .extend(unrun_stage_scripts(&config, &opts.services));
    }
    let (Some(_), Some(config)) = (&opts.checks, check_script_config(opts)) else {
        return plan;
    };
    let scripts = crate::scripts::check_stages(&config, &opts.services, &[Stage::Check]);
    plan.warnings.extend(scripts.warnings);
    plan.problems.extend(scripts.problems);
    if !opts.scripts_dir.exists() {
        plan.problems.push(format!(
            "the scripts directory {} does not exist (--scripts-dir or FAILOVER_SCRIPTS_DIR): \
             the Check scripts of --check-interval live there",
            opts.scripts_dir.display()
        ));
    } else if opts.services.iter().all(|s| {
        crate::scripts::scan(&config, Stage::Check, s.addr)
            .scripts
            .is_empty()
    }) {
        plan.warnings.push(format!(
            "--check-interval is set but there is no Check script in {}/<address>/: every \
             check passes",
            opts.scripts_dir.display()
        ));
    }
    plan
}

/// The stages heartbeatd runs on its own transitions.
const PRIMARY_HOOKS: [Stage; 2] = [Stage::PostAcq, Stage::PostRel];

/// Scripts in heartbeatd's directories for stages only failoverd runs
/// (Test, PreAcq, PreRel): a tree copied from the secondary, or a hope
/// that the primary waits for them. Either way the operator should know.
fn unrun_stage_scripts(config: &ScriptConfig, services: &[ServiceAddress]) -> Vec<String> {
    let mut out = Vec::new();
    for s in services {
        for stage in [Stage::Test, Stage::PreAcq, Stage::PreRel] {
            for script in crate::scripts::scan(config, stage, s.addr).scripts {
                let line = format!(
                    "{}: heartbeatd never runs {} scripts (failoverd does); the primary runs \
                     PostAcq and PostRel only, after it moved its addresses",
                    script.display(),
                    stage.name()
                );
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
    }
    out
}

/// `heartbeatd`'s `main`: `args` is the whole command line.
pub fn heartbeatd_main(args: Vec<OsString>) -> u8 {
    let program = Program::Heartbeatd;
    let (opts, problems) = match first_step(program, heartbeatd_resolved(args.clone())) {
        Ok(r) => (r.options, r.problems),
        Err(code) => return code,
    };
    // No target, no plan: the options' problems say so.
    let (nl, plan) = match checked_plan(
        program,
        &opts.common,
        &problems,
        !opts.targets.is_empty(),
        |nl| heartbeatd_checks(&opts, nl),
        |plan| summary_heartbeatd(&opts, plan),
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let spec = Spec {
        program,
        common: opts.common.clone(),
        services: opts.services.clone(),
        scripts: check_script_config(&opts),
        hooks: hook_script_config(&opts),
        health: opts
            .checks
            .as_ref()
            .map(|h| (crate::config::options::to_std(h.every), h.failures)),
        peer: opts.peer,
        peer_label: opts
            .peer
            .map_or_else(|| "secondary".to_owned(), |p| format!("secondary {p}")),
        witness_label: opts
            .common
            .witness
            .map(|w| format!("witness {w} (isolation fence on)")),
        settings: RestartSettings::heartbeatd(&opts),
        apple_sources: Vec::new(),
        apple_message: opts
            .common
            .apple_compat
            .then(|| opts.message.as_bytes().to_vec()),
        reload: Box::new(move || match heartbeatd_from_args(args.clone())? {
            Invocation::Run(o) => Ok(Reload {
                restart: RestartSettings::heartbeatd(&o),
                keys: o.common.keys.clone(),
                mail: mail_config(&o.common),
                scripts: None,
                hooks: hook_script_config(&o),
                message: o.message.clone(),
            }),
            _ => Err(not_a_run(program)),
        }),
        plan,
    };
    start(spec, nl, |epoch, local, now| {
        Primary::try_new(opts.primary_config(local, epoch), now)
    })
}

/// Handles everything that does not run the daemon: errors of the command
/// line's syntax, `-h`, `-v` and `--status`; and problems of the options
/// unless `-n` goes on to check the rest. Returns the options as far as
/// they resolved, or the exit status.
fn first_step<T: HasCommon + HasWarnings>(
    program: Program,
    parsed: Result<Invocation<Resolved<T>>, StartupError>,
) -> Result<Resolved<T>, u8> {
    match parsed {
        Err(e) => {
            eprintln!("{e}");
            Err(e.exit_code())
        }
        Ok(Invocation::Run(r))
            if !r.problems.is_empty() && !r.options.common().mode.validate_only() =>
        {
            let e = r.into_result().err().unwrap_or_else(|| not_a_run(program));
            eprintln!("{e}");
            Err(e.exit_code())
        }
        Ok(Invocation::Help(text) | Invocation::Version(text)) => {
            print!("{text}");
            Err(0)
        }
        Ok(Invocation::Status(request)) => {
            let answer = status::query(program, &request, status::ANSWER_TIMEOUT);
            match &answer {
                status::Answer::State(text) => print!("{text}"),
                status::Answer::NotRunning(m)
                | status::Answer::NoAnswer(m)
                | status::Answer::NeedsRoot(m)
                | status::Answer::OtherNamespace(m) => {
                    eprintln!("{}: {m}", program.name());
                }
            }
            Err(answer.exit_code())
        }
        Ok(Invocation::Operator(request)) => {
            let outcome = operator::ask(program, &request);
            if outcome.code == 0 {
                println!("{}: {}", program.name(), outcome.message);
            } else {
                eprintln!("{}: {}", program.name(), outcome.message);
            }
            Err(outcome.code)
        }
        Ok(Invocation::Run(r)) => {
            for w in &r.options.common().warnings {
                eprintln!("{}: warning: {w}", program.name());
            }
            Ok(r)
        }
    }
}

/// The start both `main`s share once the options are read: opens netlink,
/// makes the daemon's `checks` into a plan (whose problems are dropped
/// when the options lack what a plan needs, `complete` false: their own
/// problems say so), adds the mail spool's problem and hands all to
/// [`check`]. Returns the channel and the plan to run with, or the exit
/// status when the daemon must not run.
fn checked_plan(
    program: Program,
    common: &CommonOptions,
    option_problems: &[Problem],
    complete: bool,
    checks: impl FnOnce(&mut Netlink) -> Plan,
    summary: impl FnOnce(&Plan) -> String,
) -> Result<(Netlink, Plan), u8> {
    let mut nl = match Netlink::open() {
        Ok(nl) => nl,
        Err(e) => return Err(fail(program, &format!("cannot open netlink: {e}"))),
    };
    let mut plan = checks(&mut nl);
    if !complete {
        plan.problems.clear();
    }
    plan.problems.extend(spool_problem(common));
    match check(program, common, option_problems, &plan, &summary(&plan)) {
        Some(code) => Err(code),
        None => Ok((nl, plan)),
    }
}

/// Options that carry the [`CommonOptions`].
trait HasCommon {
    fn common(&self) -> &CommonOptions;
}

impl HasCommon for FailoverdOptions {
    fn common(&self) -> &CommonOptions {
        &self.common
    }
}

impl HasCommon for HeartbeatdOptions {
    fn common(&self) -> &CommonOptions {
        &self.common
    }
}

/// Prints the options' problems (only `-n` gets here with any), the plan's
/// warnings and problems and the privilege check; with `-n`, ends there.
/// Returns the exit status if the daemon must not run: that of the
/// options' first problem, else 78 for the plan's.
fn check(
    program: Program,
    common: &CommonOptions,
    option_problems: &[Problem],
    plan: &Plan,
    summary: &str,
) -> Option<u8> {
    let name = program.name();
    for w in &plan.warnings {
        eprintln!("{name}: warning: {w}");
    }
    for p in option_problems {
        eprintln!("{name}: {p}");
    }
    for p in &plan.problems {
        eprintln!("{name}: {p}");
    }
    let directories = directory_problems(common);
    for p in &directories {
        eprintln!("{name}: {p}");
    }
    let privileges = check_privileges(program).err();
    if let Some(p) = &privileges {
        eprintln!("{p}");
    }
    if let Some(first) = option_problems.first() {
        return Some(first.kind.exit_code());
    }
    if !plan.problems.is_empty() || !directories.is_empty() {
        return Some(EXIT_CONFIG);
    }
    let warned = !plan.warnings.is_empty() || !common.warnings.is_empty();
    if common.strict && warned {
        eprintln!("{name}: --strict: the warnings above fail the check");
        return Some(EXIT_CONFIG);
    }
    if privileges.is_some() {
        return Some(EXIT_NOPERM);
    }
    if common.mode.validate_only() {
        println!("{name}: configuration OK\n{summary}");
        return Some(0);
    }
    None
}

/// The problems of the directories the daemon keeps its files in (the pid
/// file's, which holds the status file too, the state directory, and the
/// metrics file's, which must exist already: [`metrics::directory_problems`]),
/// for the user it runs as ([`safedir::check_directory`]): at start and
/// with `-n`, before anything is created there.
pub fn directory_problems(common: &CommonOptions) -> Vec<String> {
    let euid = nix::unistd::geteuid().as_raw();
    let pid_dir = common
        .pid_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut problems = safedir::check_directory(pid_dir, "pid file's directory", euid);
    let metrics = common
        .metrics_file
        .as_deref()
        .map(|f| metrics::directory_problems(f, euid))
        .unwrap_or_default();
    for p in safedir::check_directory(&common.state_dir, "state directory", euid)
        .into_iter()
        .chain(metrics)
    {
        if !problems.contains(&p) {
            problems.push(p);
        }
    }
    problems
}

/// The reload's command line asks for help or status instead of a run:
/// cannot happen (it is the running daemon's own), but is not a panic.
fn not_a_run(program: Program) -> StartupError {
    StartupError::new(
        program,
        vec![Problem::usage(
            "the command line no longer describes a daemon to run",
        )],
        Vec::new(),
    )
}

fn fail(program: Program, message: &str) -> u8 {
    eprintln!("{}: {message}", program.name());
    EXIT_FAILURE
}

/// What differs between the daemons at start.
struct Spec {
    program: Program,
    common: CommonOptions,
    plan: Plan,
    services: Vec<ServiceAddress>,
    scripts: Option<ScriptConfig>,
    /// heartbeatd's PostAcq/PostRel hooks.
    hooks: Option<ScriptConfig>,
    /// heartbeatd's health checks: how often, and how many failures in a
    /// row make it unhealthy.
    health: Option<(std::time::Duration, u32)>,
    peer: Option<Ipv4Addr>,
    peer_label: String,
    witness_label: Option<String>,
    settings: RestartSettings,
    reload: Reloader,
    /// `failoverd --apple-compat`: per link, the primary's addresses an
    /// Apple heartbeat may come from; empty otherwise.
    apple_sources: Vec<Vec<Ipv4Addr>>,
    /// `heartbeatd --apple-compat`: what each heartbeat carries instead of
    /// a frame (the `-m` message).
    apple_message: Option<Vec<u8>>,
}

fn start<N: Node>(
    spec: Spec,
    mut nl: Netlink,
    make: impl FnOnce(u32, Ipv4Addr, Instant) -> Result<N, ConfigError>,
) -> u8 {
    let program = spec.program;
    let name = program.name();
    let common = &spec.common;
    let links: Vec<LinkSpec> = spec
        .plan
        .links
        .iter()
        .map(|l| LinkSpec {
            interface: l.interface.clone(),
            source: l.source,
            peers: l.peers,
            witness: if l.link.0 == 0 { common.witness } else { None },
        })
        .collect();
    let extra: Vec<&str> = spec
        .services
        .iter()
        .map(|s| s.interface.as_str())
        .filter(|i| !links.iter().any(|l| l.interface == *i))
        .collect();
    // Whom the kernel lets through: the peer and the witness, when the
    // peer is known (heartbeatd without --peer listens to any secondary).
    let senders = match spec.peer {
        // failoverd --apple-compat: the primary's addresses, by IPv4 source.
        _ if !spec.apple_sources.is_empty() => {
            let mut all: Vec<Ipv4Addr> = Vec::new();
            for a in spec.apple_sources.iter().flatten() {
                if !all.contains(a) {
                    all.push(*a);
                }
            }
            Senders::addresses(&all)
        }
        Some(peer) => {
            Senders::peer_and_witness(node_id(peer).0, common.witness.map(|w| node_id(w).0))
        }
        None => Senders::Any,
    };
    let mut ports = match Ports::open(&links, &extra, common.port, senders) {
        Ok(p) => p,
        Err(e) => return fail(program, &e.to_string()),
    };
    if !spec.apple_sources.is_empty() {
        ports.set_apple_sources(spec.apple_sources.clone());
    }
    if let Some(message) = &spec.apple_message {
        ports.set_apple_message(message.clone());
    }
    let services = match Services::resolve(&mut nl, &spec.services) {
        Ok(s) => s.with_faults(Faults::in_state_dir(&common.state_dir)),
        Err(e) => return fail(program, &e.to_string()),
    };
    let link_ifaces: Vec<&str> = links.iter().map(|l| l.interface.as_str()).collect();
    let service_ifaces: Vec<&str> = spec.services.iter().map(|s| s.interface.as_str()).collect();
    let carrier = match LinkWatch::open(&mut nl, &link_ifaces, &service_ifaces) {
        Ok(w) => w,
        Err(e) => return fail(program, &e.to_string()),
    };
    let probe = if spec.plan.probes.is_empty() {
        None
    } else {
        match Prober::open(
            &spec.plan.probes,
            crate::config::options::to_std(common.interval),
        ) {
            Ok(p) => Some(p),
            Err(e) => return fail(program, &format!("cannot open the --probe channel: {e}")),
        }
    };
    // Before the pid file exists: a --status query (SIGUSR1) or an
    // operator's command (SIGUSR2) must never find a daemon that would die
    // of it.
    let mask: SigSet = HANDLED_SIGNALS.iter().copied().collect();
    let signals = match mask
        .thread_block()
        .and_then(|()| SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC))
    {
        Ok(s) => s,
        Err(e) => return fail(program, &format!("cannot set up signal handling: {e}")),
    };
    let mut pid_file = match PidFile::acquire(&common.pid_file, std::process::id()) {
        Ok(p) => p,
        Err(e) => {
            return fail(
                program,
                &format!(
                    "cannot take the pid file {}: {e}",
                    common.pid_file.display()
                ),
            )
        }
    };
    if let Err(e) = safefile::create_dir(&common.state_dir) {
        return fail(program, &format!("the state directory: {e}"));
    }
    if common.email_recipient.is_some() {
        if let Err(e) = crate::notify::spool::prepare(&common.spool_dir) {
            return fail(
                program,
                &format!("{e} (the mail spool: --spool-dir or FAILOVER_SPOOL_DIR)"),
            );
        }
    }
    let epoch_path = common.state_dir.join(format!("{name}.epoch"));
    let epoch = match super::epoch::next_epoch(&epoch_path, super::epoch::unix_now()) {
        Ok(e) => e,
        Err(e) => {
            return fail(
                program,
                &format!(
                    "cannot choose the boot epoch ({}): {e}",
                    epoch_path.display()
                ),
            )
        }
    };
    // The core checks the configuration again (`-n` reported its problems
    // already, so this refuses nothing in practice); before the fork, so a
    // refusal still reaches the terminal.
    // The machine's time zero: the clock counts from here, suspends
    // included.
    let clock = match BootClock::start() {
        Ok(c) => c,
        Err(e) => return fail(program, &format!("cannot read CLOCK_BOOTTIME: {e}")),
    };
    let mut node = match make(epoch, spec.plan.local_private, Instant::from_micros(0)) {
        Ok(node) => node,
        Err(e) => {
            eprintln!("{name}: the configuration is refused: {e}");
            return EXIT_CONFIG;
        }
    };
    if common.mode.forks() {
        if let Err(e) = nix::unistd::daemon(false, false) {
            return fail(program, &format!("cannot move to the background: {e}"));
        }
        if let Err(e) = pid_file.rewrite(std::process::id()) {
            return fail(program, &format!("cannot write the pid file: {e}"));
        }
    }

    let mut log_config = LogConfig::new(name, common.facility);
    if common.mode.logs_to_terminal() {
        log_config.terminal = true;
        log_config.syslog = false;
    }
    let log = Logger::new(log_config);
    // After the fork (a thread does not survive it).
    let writers = Disk::start(log.clone())
        .and_then(|disk| Ok((disk, Disk::start_named("status", log.clone())?)));
    let (disk, status_disk) = match writers {
        Ok(writers) => writers,
        Err(e) => {
            return fail(
                program,
                &format!("cannot start the threads that write files: {e}"),
            )
        }
    };
    services.remove_leftovers(&mut nl, &log);

    let addresses = spec.services.clone();
    let role = match program {
        Program::Failoverd => Role::Secondary,
        Program::Heartbeatd => Role::Primary,
    };
    let mut notify_base = NotifyContext::new(&local_hostname(), role);
    notify_base.peer = spec.peer.map(|p| p.to_string());
    notify_base.addresses = addresses.clone();
    notify_base.scripts_dir = spec.scripts.as_ref().map(|s| s.dir.clone());
    let stage_base = StageContext {
        role,
        addresses,
        peer: spec.peer.map(IpAddr::V4),
        reason: String::new(),
    };
    let link_names = spec
        .plan
        .links
        .iter()
        .map(|l| {
            let kind = if l.link.0 == 0 { "private" } else { "public" };
            format!("{kind} ({})", l.interface)
        })
        .collect();
    if spec.peer == Some(spec.plan.local_private) {
        return fail(
            program,
            &format!(
                "the peer {} is this machine's own private address",
                spec.plan.local_private
            ),
        );
    }
    // Frames of the peers' earlier lives stay refused across this restart
    // (without a key; with one the tag covers them).
    let peers_path = super::epoch::peers_path(&epoch_path);
    let (peer_epochs, peer_problems) = super::epoch::load_peer_epochs(&peers_path);
    for problem in &peer_problems {
        log.warning(format_args!("peer epochs: {problem}"));
    }
    for &(peer, e) in &peer_epochs {
        node.remember_peer_epoch(NodeId(peer), e);
    }
    let setup = Setup {
        log: log.clone(),
        io: Io {
            ports,
            netlink: nl,
            carrier,
            probe,
            signals,
        },
        effects: Effects {
            services,
            runner: spec.scripts.map(|c| StageRunner::new(c, log.clone())),
            hooks: spec
                .hooks
                .map(|c| Hooks::new(StageRunner::new(c, log.clone()))),
            health: spec.health.map(|(every, failures)| {
                HealthSchedule::new(every, failures, std::time::Instant::now())
            }),
            notifier: Notifier::new(log.clone(), mail_config(common), disk.clone()),
            announce: common.announce,
        },
        labels: Labels {
            program,
            link_names,
            peer: spec.peer_label,
            witness: spec.witness_label,
            notify_base,
            stage_base,
        },
        files: StateFiles {
            pid_file: common.pid_file.clone(),
            epoch_file: epoch_path.clone(),
            peers_file: peers_path,
            peer_epochs,
        },
        reload: spec.reload,
        settings: spec.settings,
        disk,
        status_disk,
    };
    log.info(format_args!(
        "epoch {epoch}, node id {}, interval {} ms",
        spec.plan.local_private,
        common.interval.total_millis()
    ));
    if let Some(what) = Faults::in_state_dir(&common.state_dir).describe() {
        log.warning(format_args!("{what}"));
    }
    let systemd = Systemd::from_env(std::time::Instant::now());
    if systemd.enabled() {
        match systemd.ping_period() {
            Some(every) => log.info(format_args!(
                "systemd: readiness and status notifications on, watchdog pinged every {} ms",
                every.as_millis()
            )),
            None => log.info("systemd: readiness and status notifications on, no watchdog"),
        }
        // Type=notify takes only the main process's word (NotifyAccess=main):
        // a daemon that moved to the background is no longer it.
        if common.mode.forks() {
            log.warning(
                "NOTIFY_SOCKET is set but this daemon moved to the background: systemd ignores \
                 its notifications; run it with -x under Type=notify",
            );
        }
    }
    let code = Runtime::new(node, setup, Box::new(clock))
        .with_systemd(systemd)
        .run();
    // Unlock first, then say so: whoever restarts the daemon on reading
    // "stopped" must not find the old lock still held.
    drop(pid_file);
    log.notice(format_args!("{} stopped", program.name()));
    code
}

/// `-n`'s check of the mail spool directory, when mail is on.
fn spool_problem(common: &CommonOptions) -> Option<String> {
    common.email_recipient.as_ref()?;
    crate::notify::spool::check(&common.spool_dir)
}

fn mail_config(common: &CommonOptions) -> Option<MailConfig> {
    common.email_recipient.as_ref().map(|r| MailConfig {
        sendmail: common.sendmail.clone(),
        recipient: r.clone(),
        spool_dir: common.spool_dir.clone(),
        ..MailConfig::default()
    })
}

/// The script settings heartbeatd's health checks run with, if it has
/// any: each script, and the whole run, limited to one period.
fn check_script_config(o: &HeartbeatdOptions) -> Option<ScriptConfig> {
    o.checks.as_ref().map(|h| {
        let mut c = ScriptConfig::new(&o.scripts_dir);
        let every = to_std(h.every);
        c.script_timeout = every;
        c.stage_timeout = every;
        c
    })
}

/// heartbeatd's PostAcq/PostRel hooks: with `--service` only (a primary
/// that manages no address has no transition to run them on).
fn hook_script_config(o: &HeartbeatdOptions) -> Option<ScriptConfig> {
    (!o.services.is_empty()).then(|| {
        let mut c = ScriptConfig::new(&o.scripts_dir);
        c.script_timeout = to_std(o.script_timeout);
        c.stage_timeout = to_std(
            o.script_timeout
                .saturating_mul(crate::config::options::STAGE_TIMEOUT_SCRIPTS),
        );
        c
    })
}

fn script_config(o: &FailoverdOptions) -> ScriptConfig {
    let mut c = ScriptConfig::new(&o.scripts_dir);
    c.script_timeout = to_std(o.script_timeout);
    c.fit_within_core(to_std(
        o.secondary_config(Ipv4Addr::UNSPECIFIED, 0).stage_timeout,
    ));
    c
}

fn links_summary(plan: &Plan) -> String {
    let lines: Vec<String> = plan
        .links
        .iter()
        .map(|l| {
            format!(
                "  link {} on {}: from {} to {}",
                l.link.0, l.interface, l.source, l.peers
            )
        })
        .collect();
    lines.join("\n")
}

fn summary_failoverd(o: &FailoverdOptions, plan: &Plan) -> String {
    let services: Vec<String> = o.services.iter().map(ToString::to_string).collect();
    format!(
        "  watching primary {} every {} ms, dead time {}, hold-down {} ms, witness policy {}\n{}\n  takes over: {}",
        o.master,
        o.common.interval.total_millis(),
        match o.dead_time {
            DeadTime::Fixed(d) => format!("{} ms", d.total_millis()),
            DeadTime::Adaptive(a) if a == AdaptiveDeadTime::default() => "auto".to_owned(),
            DeadTime::Adaptive(a) => format!("auto:{}", a.min_intervals),
        },
        o.hold_down.total_millis(),
        o.witness_mode.name(),
        links_summary(plan),
        services.join(", ")
    ) + &apple_summary_failoverd(o)
}

/// `failoverd -n`'s line about `--apple-compat`: where Apple heartbeats
/// are taken from, link by link.
fn apple_summary_failoverd(o: &FailoverdOptions) -> String {
    if !o.common.apple_compat {
        return String::new();
    }
    let links: Vec<String> = o
        .apple_sources()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s: Vec<String> = s.iter().map(ToString::to_string).collect();
            format!("link {i} from {}", s.join(" or "))
        })
        .collect();
    format!(
        "\n  Apple compatibility: the primary is a Mac OS X Server heartbeatd; any datagram to \
         port {} counts as its heartbeat ({}); this daemon sends none; failback without \
         handshake",
        o.common.port,
        links.join(", ")
    )
}

fn summary_heartbeatd(o: &HeartbeatdOptions, plan: &Plan) -> String {
    let services: Vec<String> = o.services.iter().map(ToString::to_string).collect();
    format!(
        "  beating every {} ms{}\n{}\n  secondary: {}\n  service addresses held here: {}",
        o.common.interval.total_millis(),
        if o.common.apple_compat {
            format!(
                ", Apple's format (for a Mac OS X Server failoverd): each heartbeat is only the \
                 message {:?}",
                o.message
            )
        } else {
            String::new()
        },
        links_summary(plan),
        o.peer.map_or_else(
            || "any node that claims the role (no --peer)".to_owned(),
            |p| format!("{p} only"),
        ),
        if services.is_empty() {
            "none".to_owned()
        } else {
            format!(
                "{}\n  failback: {}\n  health checks: {}",
                services.join(", "),
                match o.failback {
                    failover_core::Failback::Auto => "automatic",
                    failover_core::Failback::Manual => "manual (heartbeatd --reclaim)",
                },
                o.checks.as_ref().map_or_else(
                    || "none".to_owned(),
                    |h| format!(
                        "{}/<address>/Check_* every {} ms, {} failures in a row hand the service over",
                        o.scripts_dir.display(),
                        h.every.total_millis(),
                        h.failures
                    ),
                )
            )
        }
    )
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn heartbeatd_n_points_out_the_scripts_only_failoverd_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let addr_dir = dir.path().join("192.0.2.10");
        std::fs::create_dir(&addr_dir).expect("address directory");
        for name in ["PostAcq_ok", "PreRel_stop_db", "Test_copied"] {
            let p = addr_dir.join(name);
            std::fs::write(&p, "#!/bin/sh\n").expect("script");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("mode");
        }
        let mut config = ScriptConfig::new(dir.path());
        config.owner = nix::unistd::getuid().as_raw();
        let services = [
            crate::config::cli::parse_service_addr("eth0:192.0.2.10", "--service")
                .expect("service address"),
        ];
        let said = unrun_stage_scripts(&config, &services);
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(
            said.iter()
                .any(|w| w.contains("PreRel_stop_db") && w.contains("never runs PreRel scripts")),
            "{said:?}"
        );
        assert!(said.iter().any(|w| w.contains("Test_copied")), "{said:?}");
        assert!(!said.iter().any(|w| w.contains("PostAcq_ok")), "{said:?}");
    }
}
