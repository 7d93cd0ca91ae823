//! The configuration file's keys for the command-line options: every
//! option a deployment sets has a key in `/etc/default/failover`, so the
//! units run the daemons without arguments and `-n` checks exactly what
//! systemd runs. The command line still wins, option by option.
//!
//! Apple's keys (`FAILOVER_BCAST_IPS`, `FAILOVER_PEER_IP`,
//! `FAILOVER_PEER_IP_PAIRS`, `FAILOVER_EMAIL_RECIPIENT`) and ours that
//! stand for positional arguments or have their own rules
//! (`FAILOVER_SECONDARY_IP`, `FAILOVER_SPOOL_DIR`) are read in
//! [`super::hostconfig`]; the keys here stand for one option each and are
//! applied the same way: the file's value is used where the command line
//! does not give the option, and a message about a bad value names the key
//! and its line instead of the option.
//!
//! This is the table alone, below both of its readers: the file's parser
//! ([`super::hostconfig`]) learns from it which keys exist, and the options
//! ([`super::options`]) fill the command line from the file with it.

/// Which daemon reads a key. A file shared by both servers may set every
/// key: each daemon ignores the other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Both daemons.
    Both,
    /// `failoverd` only.
    Failoverd,
    /// `heartbeatd` only.
    Heartbeatd,
}

/// One key that stands for one command-line option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionKey {
    /// The key, `FAILOVER_…`.
    pub key: &'static str,
    /// The option it stands for, as written on the command line.
    pub flag: &'static str,
    /// Who reads it.
    pub reader: Reader,
}

const fn key(key: &'static str, flag: &'static str, reader: Reader) -> OptionKey {
    OptionKey { key, flag, reader }
}

/// Every key that stands for an option.
pub const OPTION_KEYS: [OptionKey; 22] = [
    key("FAILOVER_PORT", "--port", Reader::Both),
    key("FAILOVER_SYSLOG_FACILITY", "--syslog", Reader::Both),
    key("FAILOVER_INTERVAL", "--interval", Reader::Both),
    key("FAILOVER_WITNESS", "--witness", Reader::Both),
    key("FAILOVER_PROBE", "--probe", Reader::Both),
    key("FAILOVER_KEY_FILE", "--key-file", Reader::Both),
    key("FAILOVER_APPLE_COMPAT", "--apple-compat", Reader::Both),
    key("FAILOVER_SENDMAIL", "--sendmail", Reader::Both),
    key("FAILOVER_STATE_DIR", "--state-dir", Reader::Both),
    key("FAILOVER_ARP_COUNT", "--arp-count", Reader::Both),
    key("FAILOVER_ARP_SPACING", "--arp-spacing", Reader::Both),
    key("FAILOVER_ARP_REFRESH", "--arp-refresh", Reader::Both),
    key("FAILOVER_DEADTIME", "--deadtime", Reader::Failoverd),
    key("FAILOVER_HOLD_DOWN", "--hold-down", Reader::Failoverd),
    key(
        "FAILOVER_WITNESS_POLICY",
        "--witness-policy",
        Reader::Failoverd,
    ),
    key("FAILOVER_SCRIPTS_DIR", "--scripts-dir", Reader::Both),
    key("FAILOVER_SCRIPT_TIMEOUT", "--script-timeout", Reader::Both),
    key("FAILOVER_MESSAGE", "--message", Reader::Heartbeatd),
    key("FAILOVER_SERVICES", "--service", Reader::Heartbeatd),
    key("FAILOVER_FAILBACK", "--failback", Reader::Heartbeatd),
    key(
        "FAILOVER_CHECK_INTERVAL",
        "--check-interval",
        Reader::Heartbeatd,
    ),
    key(
        "FAILOVER_CHECK_FAILURES",
        "--check-failures",
        Reader::Heartbeatd,
    ),
];

/// The key that stands for `flag`, if any.
pub fn key_of(flag: &str) -> Option<&'static OptionKey> {
    OPTION_KEYS.iter().find(|k| k.flag == flag)
}

/// The closest known key to an unknown `key`, for "did you mean": one a
/// few edits away, or the one whose words it shares (`HEARTBEATD_ARGS`
/// has none).
pub fn closest_key<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_prefixed() {
        for (i, k) in OPTION_KEYS.iter().enumerate() {
            assert!(k.key.starts_with("FAILOVER_"), "{}", k.key);
            assert!(k.flag.starts_with("--"), "{}", k.flag);
            assert!(
                OPTION_KEYS[i + 1..]
                    .iter()
                    .all(|o| o.key != k.key && o.flag != k.flag),
                "{} twice",
                k.key
            );
        }
    }

    #[test]
    fn near_misses_get_a_suggestion_and_strangers_none() {
        let known = OPTION_KEYS.iter().map(|k| k.key);
        assert_eq!(
            closest_key("FAILOVER_INTERVALL", known.clone()),
            Some("FAILOVER_INTERVAL")
        );
        assert_eq!(
            closest_key("FAILOVER_DEAD_TIME", known.clone()),
            Some("FAILOVER_DEADTIME")
        );
        assert_eq!(
            closest_key("FAILOVER_SERVICE", known.clone()),
            Some("FAILOVER_SERVICES")
        );
        assert_eq!(closest_key("HEARTBEATD_ARGS", known.clone()), None);
        assert_eq!(closest_key("IPFORWARDING", known), None);
    }
}
