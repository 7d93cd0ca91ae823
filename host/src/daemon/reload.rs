//! SIGHUP: the configuration read again, what of it applies at once (keys,
//! mail, scripts, heartbeatd's message), and whether anything that needs a
//! restart changed ([`RestartSettings`], compared with `==`).

use std::net::Ipv4Addr;
use std::path::PathBuf;

use failover_core::wire::Keyring;
use failover_core::{DeadTime, Duration, Failback};

use crate::config::cli::{Facility, ServiceAddress, StartupError};
use crate::config::options::{
    CommonOptions, FailoverdOptions, HealthChecks, HeartbeatdOptions, WitnessMode,
};
use crate::net::AnnouncePlan;
use crate::notify::MailConfig;
use crate::scripts::ScriptConfig;

/// The settings that take effect only after a restart: addresses,
/// interfaces, the interval, the port, the witness, the probe, the files
/// and directories, the log facility, the gratuitous ARP plan, the mail
/// spool, the metrics file, and each daemon's own. Since every option has
/// a key in the configuration file, all of them may change under a
/// running daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartSettings {
    /// `-p`.
    pub port: u16,
    /// `--interval`.
    pub interval: Duration,
    /// `--witness`.
    pub witness: Option<Ipv4Addr>,
    /// The service addresses.
    pub services: Vec<ServiceAddress>,
    /// `--spool-dir`: the spool a running mailer has open stays.
    pub spool_dir: PathBuf,
    /// `--probe`: its channels are opened at start.
    pub probe: Option<Ipv4Addr>,
    /// `--state-dir`, `--pid-file`: files opened at start.
    pub files: (PathBuf, PathBuf),
    /// `-L`: the log is opened at start.
    pub facility: Facility,
    /// `--arp-count`, `--arp-spacing`, `--arp-refresh`.
    pub announce: AnnouncePlan,
    /// `--metrics-file`: its directory is checked at start (and by `-n`),
    /// so a new one waits for a restart that checks it.
    pub metrics_file: Option<PathBuf>,
    /// `--apple-compat`: the channels' filter and the heartbeats' format
    /// are set at start.
    pub apple_compat: bool,
    /// What only one of the daemons has.
    pub daemon: DaemonSettings,
}

/// The restart-only settings of one daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum DaemonSettings {
    /// `failoverd`'s.
    Failoverd {
        /// `master_priv_addr`.
        master: Ipv4Addr,
        /// `--deadtime`.
        dead_time: DeadTime,
        /// `--hold-down`.
        hold_down: Duration,
        /// `--witness-policy`.
        witness_mode: WitnessMode,
    },
    /// `heartbeatd`'s.
    Heartbeatd {
        /// Where the heartbeats go.
        targets: Vec<Ipv4Addr>,
        /// `--peer`: the core's secondary and the channels' kernel filter
        /// are set from it at start.
        peer: Option<Ipv4Addr>,
        /// `--failback`: the core's policy is set at start.
        failback: Failback,
        /// `--check-interval`, `--check-failures`, `--scripts-dir`: the
        /// checks' schedule and runner are set up at start.
        checks: Option<HealthChecks>,
    },
}

impl RestartSettings {
    /// What both daemons have, from their common options.
    fn common(c: &CommonOptions, services: &[ServiceAddress], daemon: DaemonSettings) -> Self {
        RestartSettings {
            port: c.port,
            interval: c.interval,
            witness: c.witness,
            services: services.to_vec(),
            spool_dir: c.spool_dir.clone(),
            probe: c.probe,
            files: (c.state_dir.clone(), c.pid_file.clone()),
            facility: c.facility,
            announce: c.announce,
            metrics_file: c.metrics_file.clone(),
            apple_compat: c.apple_compat,
            daemon,
        }
    }

    /// `failoverd`'s, from its options.
    pub fn failoverd(o: &FailoverdOptions) -> RestartSettings {
        Self::common(
            &o.common,
            &o.services,
            DaemonSettings::Failoverd {
                master: o.master,
                dead_time: o.dead_time,
                hold_down: o.hold_down,
                witness_mode: o.witness_mode,
            },
        )
    }

    /// `heartbeatd`'s, from its options.
    pub fn heartbeatd(o: &HeartbeatdOptions) -> RestartSettings {
        Self::common(
            &o.common,
            &o.services,
            DaemonSettings::Heartbeatd {
                targets: o.targets.clone(),
                peer: o.peer,
                failback: o.failback,
                checks: o.checks.clone(),
            },
        )
    }
}

/// What a SIGHUP reload may change while running, as re-read from the
/// command line and the configuration file.
#[derive(Debug, Clone)]
pub struct Reload {
    /// Everything that needs a restart to change.
    pub restart: RestartSettings,
    /// The authentication keys.
    pub keys: Option<Keyring>,
    /// Mail settings (`None`: mail off).
    pub mail: Option<MailConfig>,
    /// Script settings (failoverd).
    pub scripts: Option<ScriptConfig>,
    /// heartbeatd's PostAcq/PostRel hook settings.
    pub hooks: Option<ScriptConfig>,
    /// heartbeatd's `-m` message.
    pub message: String,
}

/// Re-reads the configuration for a reload.
pub type Reloader = Box<dyn FnMut() -> Result<Reload, StartupError>>;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::RestartSettings;
    use crate::config::hostconfig::HostConfig;
    use crate::config::options::tests::failoverd;

    fn file(text: &str) -> HostConfig {
        HostConfig::parse(Path::new("/etc/default/failover"), text)
    }

    /// Every option may now change in the file under a running daemon: one a
    /// reload cannot apply must count as a restart setting, so the reload
    /// says so instead of ignoring it.
    #[test]
    fn file_options_a_reload_cannot_apply_are_restart_settings() {
        let base = "FAILOVER_PEER_IP=198.51.100.1\nFAILOVER_PEER_IP_PAIRS=pub0:192.0.2.10\n";
        let settings = |extra: &str| {
            RestartSettings::failoverd(&failoverd(&[], &file(&format!("{base}{extra}"))))
        };
        let before = settings("");
        for extra in [
            "FAILOVER_PROBE=192.0.2.254\n",
            "FAILOVER_STATE_DIR=/srv/state\n",
            "FAILOVER_SYSLOG_FACILITY=local3\n",
            "FAILOVER_ARP_REFRESH=60\n",
            "FAILOVER_ARP_COUNT=5\n",
            "FAILOVER_INTERVAL=500\n",
            "FAILOVER_HOLD_DOWN=100\n",
        ] {
            assert_ne!(settings(extra), before, "{extra}");
        }
        // Applied by a reload, so not a restart setting.
        assert_eq!(settings("FAILOVER_SCRIPT_TIMEOUT=60\n"), before);
    }
}
