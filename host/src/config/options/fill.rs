//! The configuration file's values for the options the command line left
//! out ([`fill_failoverd`], [`fill_heartbeatd`]), option by option (the
//! command line wins), and where each value came from ([`Origins`]), so
//! that a message about a bad one names the key and its line instead of an
//! option the administrator never typed. Which key stands for which option:
//! [`crate::config::filekeys`].

use std::path::PathBuf;

use crate::config::cli::{CommonArgs, FailoverdArgs, HeartbeatdArgs};
use crate::config::filekeys::key_of;
use crate::config::hostconfig::HostConfig;

/// Where each option's value came from, for messages: the options the
/// file supplied, with `KEY at FILE:LINE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    from_file: Vec<(&'static str, String)>,
}

impl Origins {
    /// How a message names the value of `flag`: the option, or the key and
    /// line it came from.
    pub fn name(&self, flag: &str) -> String {
        self.from_file
            .iter()
            .find(|(f, _)| *f == flag)
            .map_or_else(|| flag.to_owned(), |(_, at)| at.clone())
    }

    /// Whether the value of `flag` came from the file (a bad one is then a
    /// configuration problem, not a usage error).
    pub fn came_from_file(&self, flag: &str) -> bool {
        self.from_file.iter().any(|(f, _)| *f == flag)
    }
}

/// Takes `flag`'s value from the file into `slot` when the command line
/// left it empty.
fn take<T>(
    file: &HostConfig,
    origins: &mut Origins,
    flag: &'static str,
    slot: &mut Option<T>,
    make: impl FnOnce(&str) -> T,
) {
    if slot.is_some() {
        return;
    }
    let Some(k) = key_of(flag) else {
        return;
    };
    if let Some(s) = file.option(k.key) {
        *slot = Some(make(s.value.trim()));
        origins.from_file.push((flag, file.context(k.key, s)));
    }
}

/// Fills the options both daemons take from the file, where the command
/// line did not give them.
fn fill_common(a: &mut CommonArgs, file: &HostConfig, o: &mut Origins) {
    let text = str::to_owned;
    let path = |v: &str| PathBuf::from(v);
    take(file, o, "--port", &mut a.port, text);
    take(file, o, "--syslog", &mut a.syslog, text);
    take(file, o, "--interval", &mut a.interval, text);
    take(file, o, "--witness", &mut a.witness, text);
    take(file, o, "--probe", &mut a.probe, text);
    take(file, o, "--key-file", &mut a.key_file, path);
    take(file, o, "--sendmail", &mut a.sendmail, path);
    take(file, o, "--state-dir", &mut a.state_dir, path);
    take(file, o, "--arp-count", &mut a.arp_count, text);
    take(file, o, "--arp-spacing", &mut a.arp_spacing, text);
    take(file, o, "--arp-refresh", &mut a.arp_refresh, text);
    if !a.apple_compat {
        take(file, o, "--apple-compat", &mut a.apple_compat_file, text);
    }
}

/// [`fill_common`] and `failoverd`'s own options.
pub fn fill_failoverd(a: &mut FailoverdArgs, file: &HostConfig) -> Origins {
    let mut o = Origins::default();
    fill_common(&mut a.common, file, &mut o);
    let text = str::to_owned;
    take(file, &mut o, "--deadtime", &mut a.deadtime, text);
    take(file, &mut o, "--hold-down", &mut a.hold_down, text);
    take(
        file,
        &mut o,
        "--witness-policy",
        &mut a.witness_policy,
        text,
    );
    fill_scripts(&mut a.scripts_dir, &mut a.script_timeout, file, &mut o);
    o
}

/// `--scripts-dir` and `--script-timeout`, which both daemons read:
/// failoverd for its stages, heartbeatd for its checks and hooks.
fn fill_scripts(
    dir: &mut Option<PathBuf>,
    timeout: &mut Option<String>,
    file: &HostConfig,
    o: &mut Origins,
) {
    take(file, o, "--scripts-dir", dir, |v| PathBuf::from(v));
    take(file, o, "--script-timeout", timeout, str::to_owned);
}

/// [`fill_common`] and `heartbeatd`'s own options. `FAILOVER_SERVICES`
/// holds the `--service` values separated by spaces; any `--service` on
/// the command line replaces them all.
pub fn fill_heartbeatd(a: &mut HeartbeatdArgs, file: &HostConfig) -> Origins {
    let mut o = Origins::default();
    fill_common(&mut a.common, file, &mut o);
    take(file, &mut o, "--message", &mut a.message, str::to_owned);
    take(file, &mut o, "--failback", &mut a.failback, str::to_owned);
    take(
        file,
        &mut o,
        "--check-interval",
        &mut a.check_interval,
        str::to_owned,
    );
    take(
        file,
        &mut o,
        "--check-failures",
        &mut a.check_failures,
        str::to_owned,
    );
    fill_scripts(&mut a.scripts_dir, &mut a.script_timeout, file, &mut o);
    let mut services = (!a.service.is_empty()).then(|| std::mem::take(&mut a.service));
    take(file, &mut o, "--service", &mut services, |v| {
        v.split_whitespace().map(str::to_owned).collect()
    });
    a.service = services.unwrap_or_default();
    o
}
