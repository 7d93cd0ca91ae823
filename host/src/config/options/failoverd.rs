//! failoverd's options: put together, checked, and turned into the
//! secondary's core configuration.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use failover_core::{AdaptiveDeadTime, DeadTime, Duration, SecondaryConfig, Timing, WitnessPolicy};

use super::fill::fill_failoverd;
use super::{
    core_problems, default_dead_time, node_id, resolve_common, resolve_keys,
    resolve_script_timeout, Collector, FailoverdOptions, Resolved, WitnessMode,
    STAGE_TIMEOUT_SCRIPTS,
};
use crate::config::cli::{
    parse_digits, parse_ipv4, parse_service_addr, value_error, AddrUse, FailoverdArgs,
    InterfaceName, Program, StartupError, DEFAULT_SCRIPTS_DIR, MSG_INVALID_IP,
};
use crate::config::hostconfig::{HostConfig, KEY_PEER_IP, KEY_PEER_IP_PAIRS};

impl FailoverdOptions {
    /// Puts `args` and the configuration `file` together and checks every
    /// value. `master_priv_addr` and the triplets come from the command line
    /// if it gives any of them, else from `FAILOVER_PEER_IP` and
    /// `FAILOVER_PEER_IP_PAIRS`: never half from each. Reads the key file.
    pub fn resolve(
        args: &FailoverdArgs,
        file: &HostConfig,
    ) -> Result<FailoverdOptions, StartupError> {
        Self::resolve_all(args, file).into_result()
    }

    /// [`resolve`](Self::resolve), keeping the options as far as they
    /// resolved next to every problem (for `-n`).
    pub fn resolve_all(args: &FailoverdArgs, file: &HostConfig) -> Resolved<FailoverdOptions> {
        let program = Program::Failoverd;
        let mut args = args.clone();
        let origins = fill_failoverd(&mut args, file);
        let args = &args;
        let mut c = Collector::new(file, &args.common, origins);
        let (mut common, interval_ok) = resolve_common(program, &args.common, file, &mut c);
        let interval = common.interval;

        let mut dead_time_ok = true;
        let apple = common.apple_compat;
        let dead_time = match args.deadtime.as_deref() {
            // Apple's rule, fixed, whatever the interval: Apple's heartbeats
            // carry no round number to measure loss by.
            None if apple => DeadTime::Fixed(interval.saturating_mul(3)),
            None => default_dead_time(interval),
            Some(t) if apple && parse_auto(t).is_some() => {
                dead_time_ok = false;
                super::apple_conflict(
                    &mut c,
                    "--deadtime",
                    "Apple's heartbeats carry no round number to measure loss by; give \
                     milliseconds (the default is Apple's three intervals)",
                );
                DeadTime::Fixed(interval.saturating_mul(3))
            }
            Some(t) => match (parse_auto(t), parse_digits(t)) {
                (Some(Ok(adaptive)), _) => DeadTime::Adaptive(adaptive),
                (_, Some(ms)) => DeadTime::Fixed(Duration::from_millis(ms)),
                (found, None) => {
                    dead_time_ok = false;
                    let hint = match found {
                        Some(Err(hint)) => hint,
                        _ => "give milliseconds, \"auto\", or \"auto:N\" for at least N silent intervals (2 to 64)",
                    };
                    c.invalid("--deadtime", "Invalid dead time", t, hint);
                    DeadTime::Fixed(interval.saturating_mul(3))
                }
            },
        };
        let hold_down = match args.hold_down.as_deref() {
            None => Duration::ZERO,
            Some(t) => parse_digits(t).map_or_else(
                || {
                    c.invalid("--hold-down", "Invalid hold-down", t, "give milliseconds");
                    Duration::ZERO
                },
                Duration::from_millis,
            ),
        };
        let witness_mode = match args.witness_policy.as_deref() {
            None if args.common.witness.is_some() => WitnessMode::Required,
            None => WitnessMode::Off,
            Some(t) => WitnessMode::parse(t).unwrap_or_else(|| {
                c.invalid(
                    "--witness-policy",
                    "Invalid witness policy",
                    t,
                    "give off, preferred or required",
                );
                WitnessMode::Off
            }),
        };
        if apple && witness_mode != WitnessMode::Off && args.common.witness.is_none() {
            super::apple_conflict(
                &mut c,
                "--witness-policy",
                "Apple's daemons know no witness",
            );
        }
        if witness_mode == WitnessMode::Off && common.witness.is_some() && !apple {
            c.warnings.push(
                "--witness is given but --witness-policy is off: the witness is not asked before \
                 a takeover"
                    .into(),
            );
        }
        let script_timeout = resolve_script_timeout(args.script_timeout.as_deref(), &mut c);

        // The master and the triplets: the command line, else the file.
        let from_file = args.master_priv_addr.is_none() && args.pairs.is_empty();
        let mut master = None;
        let mut services = Vec::new();
        if !from_file {
            if let Some(m) = &args.master_priv_addr {
                master = parse_master(m).map_err(|e| c.usage(e)).ok();
            }
            for p in &args.pairs {
                match parse_service_addr(p, "") {
                    Ok(s) => services.push(s),
                    Err(es) => es.into_iter().for_each(|e| c.usage(e)),
                }
            }
            if args.pairs.is_empty() {
                c.usage(
                    "missing interface:pub_addr[/mask]: master_priv_addr is on the command line, \
                     so the addresses to take over must be too (the command line replaces \
                     FAILOVER_PEER_IP and FAILOVER_PEER_IP_PAIRS together)",
                );
            }
        }
        c.problems.extend(file.problems.iter().cloned());
        if from_file {
            match &file.peer_ip {
                Some(s) if !s.value.trim().is_empty() => {
                    let ctx = file.context(KEY_PEER_IP, s);
                    let mut words = s.words();
                    let first = words.next().unwrap_or_default();
                    if words.next().is_some() {
                        c.config(value_error(
                            MSG_INVALID_IP,
                            s.value.trim(),
                            &ctx,
                            Some("give a single address"),
                        ));
                    } else {
                        master = parse_ipv4(first, &ctx, AddrUse::Host)
                            .map_err(|e| c.config(e))
                            .ok();
                    }
                }
                _ => c.usage(format!(
                    "missing master_priv_addr: give it on the command line or as {KEY_PEER_IP} \
                     in {}",
                    file.path.display()
                )),
            }
            let pairs = file.peer_ip_pairs.as_ref();
            match pairs {
                Some(s) if s.words().next().is_some() => {
                    let ctx = file.context(KEY_PEER_IP_PAIRS, s);
                    for p in s.words() {
                        match parse_service_addr(p, &ctx) {
                            Ok(sa) => services.push(sa),
                            Err(es) => es.into_iter().for_each(|e| c.config(e)),
                        }
                    }
                }
                _ => c.usage(format!(
                    "missing interface:pub_addr[/mask]: give at least one on the command line \
                     or in {KEY_PEER_IP_PAIRS} in {}",
                    file.path.display()
                )),
            }
        }

        // Cross-checks.
        for (i, s) in services.iter().enumerate() {
            if services[..i].iter().any(|o| o.addr == s.addr) {
                c.value(
                    from_file,
                    format!("the public address {} is given twice", s.addr),
                );
            }
            if Some(s.addr) == master.map(IpAddr::V4) {
                c.value(
                    from_file,
                    format!(
                        "the public address {} is also master_priv_addr: the backup must never \
                         acquire the master's private address",
                        s.addr
                    ),
                );
            }
        }
        if let Some(w) = common.witness {
            if Some(w) == master {
                c.usage(format!(
                    "--witness {w} is master_priv_addr: the witness must be a third machine"
                ));
            }
            if services.iter().any(|s| s.addr == IpAddr::V4(w)) {
                c.usage(format!(
                    "--witness {w} is also a public address to take over: the witness must be a \
                     third machine"
                ));
            }
        }

        resolve_keys(&mut common, &mut c);
        let options = FailoverdOptions {
            common,
            master: master.unwrap_or(Ipv4Addr::UNSPECIFIED),
            services,
            dead_time,
            hold_down,
            witness_mode,
            scripts_dir: args
                .scripts_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SCRIPTS_DIR)),
            script_timeout,
        };
        if interval_ok && dead_time_ok {
            let config = options.secondary_config(Ipv4Addr::UNSPECIFIED, 0);
            core_problems(
                program,
                &config.problems(),
                witness_mode,
                args.common.witness.is_some(),
                &mut c,
            );
        }
        c.finish(program, options)
    }

    /// The public interfaces, each once, in the order of their first
    /// triplet. Link 0 is the interface that reaches `master_priv_addr`;
    /// link *k* is the *k*-th of these, which must be the network of
    /// heartbeatd's target *k* (private first, as in `FAILOVER_BCAST_IPS`).
    pub fn public_interfaces(&self) -> Vec<&InterfaceName> {
        let mut out: Vec<&InterfaceName> = Vec::new();
        for s in &self.services {
            if !out.contains(&&s.interface) {
                out.push(&s.interface);
            }
        }
        out
    }

    /// How many networks the secondary watches: the private one and each
    /// public interface (see [`public_interfaces`](Self::public_interfaces)).
    pub fn links(&self) -> u8 {
        u8::try_from(self.public_interfaces().len().saturating_add(1)).unwrap_or(u8::MAX)
    }

    /// The core's witness policy. "preferred" falls back to Apple's rule
    /// one witness lease (twenty intervals, [`Timing::recommended`]) after
    /// the hold-down: long enough for any grant the witness may have given
    /// to have run out.
    pub fn witness_policy(&self) -> WitnessPolicy {
        match self.witness_mode {
            WitnessMode::Off => WitnessPolicy::Off,
            WitnessMode::Required => WitnessPolicy::Required,
            WitnessMode::Preferred => WitnessPolicy::Preferred {
                fallback_hold_down: self
                    .hold_down
                    .saturating_add(Timing::recommended(self.common.interval).lease),
            },
        }
    }

    /// The directory of the scripts for one public address
    /// (`<scripts-dir>/<pub_addr>/`, as Apple's `/Library/IPFailover/<addr>/`).
    pub fn script_dir_for(&self, addr: Ipv4Addr) -> PathBuf {
        self.scripts_dir.join(addr.to_string())
    }

    /// The secondary's core configuration. `local_private` is this
    /// machine's own address on the private network (its node id);
    /// `epoch` is this boot's epoch, larger than any used before. The
    /// resolve step already ran the core's checks on it.
    pub fn secondary_config(&self, local_private: Ipv4Addr, epoch: u32) -> SecondaryConfig {
        let mut c = SecondaryConfig::new(
            node_id(local_private),
            epoch,
            self.links(),
            self.common.interval,
        );
        c.primary = Some(node_id(self.master));
        c.dead_time = self.dead_time;
        c.hold_down = self.hold_down;
        c.witness = self.witness_policy();
        c.witness_node = self.common.witness.map(node_id);
        c.stage_timeout = self.script_timeout.saturating_mul(STAGE_TIMEOUT_SCRIPTS);
        c.keys = self.common.keys.clone();
        c.apple_compat = self.common.apple_compat;
        c
    }

    /// With `--apple-compat`: the source addresses an Apple heartbeat on
    /// each link may come from, link by link. Everywhere the master's
    /// private address (the man page's "used to communicate the master's
    /// status"); on a public link also the master's public addresses there,
    /// the triplets' addresses on that link's interface, which a Mac has
    /// configured statically and sends its broadcasts on that network
    /// from. Empty without the option.
    pub fn apple_sources(&self) -> Vec<Vec<Ipv4Addr>> {
        if !self.common.apple_compat {
            return Vec::new();
        }
        let mut out = vec![vec![self.master]];
        for iface in self.public_interfaces() {
            let mut sources = vec![self.master];
            sources.extend(
                self.services
                    .iter()
                    .filter(|s| &s.interface == iface)
                    // A Mac beats over IPv4 only.
                    .filter_map(|s| match s.addr {
                        std::net::IpAddr::V4(a) => Some(a),
                        std::net::IpAddr::V6(_) => None,
                    }),
            );
            out.push(sources);
        }
        out
    }
}

/// `master_priv_addr`, with a hint when it looks like a triplet: the
/// private address was forgotten, so the first triplet took its place.
fn parse_master(text: &str) -> Result<Ipv4Addr, String> {
    parse_ipv4(text, "master_priv_addr", AddrUse::Host).map_err(|e| {
        if text.contains(':') && parse_service_addr(text, "").is_ok() {
            value_error(
                MSG_INVALID_IP,
                text,
                "master_priv_addr",
                Some("this is an interface:pub_addr[/mask] triplet; the master's private address comes first"),
            )
        } else {
            e
        }
    })
}

/// `--deadtime auto` or `auto:N`: the adaptive dead time, never fewer than
/// `N` silent intervals (default 2). `None` if `text` is not of that form;
/// `Err` says what is wrong with an `N`. A larger `N` is for a site that
/// would rather take over later than risk a false verdict when heavy loss
/// starts all at once on every link (docs/detector.md, "Onset").
pub(crate) fn parse_auto(text: &str) -> Option<Result<AdaptiveDeadTime, &'static str>> {
    const RANGE: &str = "auto:N takes 2 to 64 silent intervals";
    let default = AdaptiveDeadTime::default();
    let n = match text.split_once(':') {
        None if text == "auto" => return Some(Ok(default)),
        Some(("auto", n)) => n,
        _ => return None,
    };
    Some(match parse_digits(n) {
        Some(n @ 2..=64) => Ok(AdaptiveDeadTime {
            // In range, so the conversion cannot fail.
            min_intervals: u32::try_from(n).unwrap_or(2),
            ..default
        }),
        _ => Err(RANGE),
    })
}
