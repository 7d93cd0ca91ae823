//! heartbeatd's options: put together, checked, and turned into the
//! primary's core configuration.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use failover_core::wire::MAX_MESSAGE_LEN;
use failover_core::{Duration, Failback, PrimaryConfig, Timing};

use super::fill::fill_heartbeatd;
use super::{
    core_problems, node_id, resolve_common, resolve_keys, resolve_script_timeout, Collector,
    HealthChecks, HeartbeatdOptions, Resolved, WitnessMode, DEFAULT_CHECK_FAILURES,
};
use crate::config::cli::{
    parse_digits, parse_ipv4, parse_service_addr, AddrUse, HeartbeatdArgs, Program, StartupError,
    DEFAULT_SCRIPTS_DIR,
};
use crate::config::hostconfig::{HostConfig, KEY_BCAST_IPS, KEY_SECONDARY_IP};

/// What Apple's heartbeatd sends without `-m`, and so what heartbeatd
/// `--apple-compat` sends.
pub const APPLE_DEFAULT_MESSAGE: &str = "heartbeat";

impl HeartbeatdOptions {
    /// Puts `args` and the configuration `file` together and checks every
    /// value. The targets come from the command line if it gives any, else
    /// from `FAILOVER_BCAST_IPS`. Reads the key file.
    pub fn resolve(
        args: &HeartbeatdArgs,
        file: &HostConfig,
    ) -> Result<HeartbeatdOptions, StartupError> {
        Self::resolve_all(args, file).into_result()
    }

    /// [`resolve`](Self::resolve), keeping the options as far as they
    /// resolved next to every problem (for `-n`).
    pub fn resolve_all(args: &HeartbeatdArgs, file: &HostConfig) -> Resolved<HeartbeatdOptions> {
        let program = Program::Heartbeatd;
        let mut args = args.clone();
        let origins = fill_heartbeatd(&mut args, file);
        let args = &args;
        let mut c = Collector::new(file, &args.common, origins);
        let (mut common, interval_ok) = resolve_common(program, &args.common, file, &mut c);
        let apple = common.apple_compat;
        let message = match args.message.clone() {
            // Apple's heartbeatd's default message, which is all its
            // heartbeat carries.
            None if apple => APPLE_DEFAULT_MESSAGE.to_owned(),
            m => m.unwrap_or_default(),
        };
        if message.len() > MAX_MESSAGE_LEN {
            let name = c.name("--message");
            c.bad(
                "--message",
                format!(
                    "Message too long: {} bytes ({name}): heartbeats carry at most \
                     {MAX_MESSAGE_LEN}",
                    message.len()
                ),
            );
        }
        let mut services = Vec::new();
        for p in &args.service {
            match parse_service_addr(p, &c.name("--service")) {
                Ok(s) => services.push(s),
                Err(es) => es.into_iter().for_each(|e| c.bad("--service", e)),
            }
        }
        let from_file = args.targets.is_empty();
        let mut targets = Vec::new();
        for t in &args.targets {
            if let Ok(a) = parse_ipv4(t, "ip_addr", AddrUse::Target).map_err(|e| c.usage(e)) {
                targets.push(a);
            }
        }
        c.problems.extend(file.problems.iter().cloned());
        if from_file {
            match &file.bcast_ips {
                Some(s) if s.words().next().is_some() => {
                    let ctx = file.context(KEY_BCAST_IPS, s);
                    for t in s.words() {
                        if let Ok(a) = parse_ipv4(t, &ctx, AddrUse::Target).map_err(|e| c.config(e))
                        {
                            targets.push(a);
                        }
                    }
                }
                _ => c.usage(format!(
                    "missing ip_addr: give the broadcast addresses, private network first, on \
                     the command line or as {KEY_BCAST_IPS} in {}",
                    file.path.display()
                )),
            }
        }
        for (i, t) in targets.iter().enumerate() {
            if targets[..i].contains(t) {
                c.value(
                    from_file,
                    format!("the target {t} is given twice: list each network once"),
                );
            }
        }
        for (i, s) in services.iter().enumerate() {
            if services[..i].iter().any(|o| o.addr == s.addr) {
                c.usage(format!("the service address {} is given twice", s.addr));
            }
            if Some(s.addr) == common.witness.map(IpAddr::V4) {
                c.usage(format!(
                    "--witness {} is also a --service address: the witness must be a third machine",
                    s.addr
                ));
            }
        }
        let peer = match (&args.peer, &file.secondary_ip) {
            (Some(p), _) => parse_ipv4(p, "--peer", AddrUse::Host)
                .map_err(|e| c.usage(e))
                .ok(),
            (None, Some(s)) => {
                let ctx = file.context(KEY_SECONDARY_IP, s);
                parse_ipv4(s.value.trim(), &ctx, AddrUse::Host)
                    .map_err(|e| c.config(e))
                    .ok()
            }
            (None, None) => None,
        };
        if let Some(p) = peer {
            if Some(p) == common.witness {
                c.usage(format!(
                    "--peer {p} is also the --witness: the secondary and the witness are two machines"
                ));
            }
            if services.iter().any(|s| s.addr == IpAddr::V4(p)) {
                c.usage(format!(
                    "--peer {p} is also a --service address: give the secondary's private address"
                ));
            }
        }
        let failback = match args.failback.as_deref().map(str::trim) {
            None | Some("auto") => Failback::Auto,
            Some("manual") => Failback::Manual,
            Some(other) => {
                let name = c.name("--failback");
                c.bad(
                    "--failback",
                    format!("{name} is {other:?}: it is auto or manual"),
                );
                Failback::Auto
            }
        };
        if failback == Failback::Manual && services.is_empty() {
            c.warnings.push(
                "--failback manual has no effect without --service: this primary does not \
                 manage the service addresses, so it never takes them back"
                    .to_owned(),
            );
        }
        if apple && !args.service.is_empty() {
            super::apple_conflict(
                &mut c,
                "--service",
                "a Mac's failoverd sends nothing, so this primary could never learn that it \
                 released the addresses; configure them statically, as on Apple's primary",
            );
        }
        let checks = resolve_checks(args, !services.is_empty(), &mut c);
        let script_timeout = resolve_script_timeout(args.script_timeout.as_deref(), &mut c);
        let scripts_dir = args
            .scripts_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SCRIPTS_DIR));
        resolve_keys(&mut common, &mut c);
        if peer.is_none() && common.key_file.is_none() && !apple {
            // With a key only key holders can claim anything.
            c.warnings.push(format!(
                "no --peer (or {KEY_SECONDARY_IP}) and no key: any node on the networks may \
                 claim the secondary role, and one that claims to hold the service addresses \
                 makes this primary give them up; give the secondary's private address"
            ));
        }
        let options = HeartbeatdOptions {
            common,
            targets,
            services,
            message,
            peer,
            failback,
            scripts_dir,
            script_timeout,
            checks,
        };
        // An empty target list is reported above; the core's link count
        // check covers too many.
        if interval_ok && !options.targets.is_empty() {
            let config = options.primary_config(Ipv4Addr::UNSPECIFIED, 0);
            core_problems(program, &config.problems(), WitnessMode::Off, false, &mut c);
        }
        c.finish(program, options)
    }

    /// How many networks the primary beats on: one per target.
    pub fn links(&self) -> u8 {
        u8::try_from(self.targets.len()).unwrap_or(u8::MAX)
    }

    /// The primary's core configuration. `local_private` is this machine's
    /// address on the private network (the network of the first target):
    /// it must be the `master_priv_addr` failoverd is given, since it
    /// becomes the primary's node id. `epoch` is this boot's epoch. With
    /// `--witness`, the isolation fence is [`Timing::recommended`]'s.
    pub fn primary_config(&self, local_private: Ipv4Addr, epoch: u32) -> PrimaryConfig {
        let interval = self.common.interval;
        let mut c = PrimaryConfig::new(node_id(local_private), epoch, self.links(), interval);
        c.manage_addresses = !self.services.is_empty();
        c.secondary = self.peer.map(node_id);
        c.witness_node = self.common.witness.map(node_id);
        c.isolation_fence = self
            .common
            .witness
            .map(|_| Timing::recommended(interval).isolation_fence);
        c.keys = self.common.keys.clone();
        c.failback = self.failback;
        // Checked against MAX_MESSAGE_LEN when resolving; a longer one is
        // cut rather than dropped.
        let bytes = self.message.as_bytes();
        let _ = c
            .message
            .extend_from_slice(bytes.get(..MAX_MESSAGE_LEN).unwrap_or(bytes));
        c
    }
}

/// `--check-interval`, `--check-failures` and `--scripts-dir`: the health
/// checks, when an interval is given (and only with `--service`: a primary
/// that does not manage the addresses has nothing to hand over).
fn resolve_checks(
    args: &HeartbeatdArgs,
    managing: bool,
    c: &mut Collector,
) -> Option<HealthChecks> {
    let Some(text) = args.check_interval.as_deref() else {
        if args.check_failures.is_some() {
            c.warnings.push(
                "--check-failures has no effect without --check-interval: no checks run".to_owned(),
            );
        }
        return None;
    };
    let every = match parse_digits(text.trim()) {
        Some(ms) if (MIN_CHECK_INTERVAL_MS..=MAX_CHECK_INTERVAL_MS).contains(&ms) => {
            Duration::from_millis(ms)
        }
        _ => {
            c.invalid(
                "--check-interval",
                "Invalid check interval",
                text,
                "give milliseconds from 100 to 3600000",
            );
            return None;
        }
    };
    let failures = match args.check_failures.as_deref() {
        None => DEFAULT_CHECK_FAILURES,
        Some(t) => match parse_digits(t.trim()).and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (1..=100).contains(&n) => n,
            _ => {
                c.invalid(
                    "--check-failures",
                    "Invalid number of failed checks",
                    t,
                    "give a whole number from 1 to 100",
                );
                return None;
            }
        },
    };
    if !managing {
        c.usage(
            "--check-interval needs --service: the checks decide whether this primary serves the \
             service addresses, and without --service it manages none"
                .to_owned(),
        );
        return None;
    }
    Some(HealthChecks { every, failures })
}

/// The shortest `--check-interval`: a script started ten times a second
/// is already a load of its own.
const MIN_CHECK_INTERVAL_MS: u64 = 100;
/// The longest `--check-interval`: an hour.
const MAX_CHECK_INTERVAL_MS: u64 = 3_600_000;
