//! The configuration file: `/etc/hostconfig`-style `KEY=VALUE` lines, as
//! Apple's IPFailover startup item read them from `/etc/hostconfig` and as
//! Debian keeps daemon settings in `/etc/default/`.
//!
//! The keys are Apple's: `FAILOVER_BCAST_IPS` (heartbeatd's targets, private
//! network first), `FAILOVER_PEER_IP` (failoverd's `master_priv_addr`),
//! `FAILOVER_PEER_IP_PAIRS` (failoverd's `interface:pub_addr[/mask]`
//! triplets) and `FAILOVER_EMAIL_RECIPIENT` (who is mailed; `root` when
//! unset); ours add `FAILOVER_SECONDARY_IP` (heartbeatd's `--peer`),
//! `FAILOVER_SPOOL_DIR` (`--spool-dir`) and `FAILOVER_METRICS_FILE`
//! (`--metrics-file`); and every other option has a key of its own
//! ([`super::filekeys`]). The command line wins over the file
//! ([`crate::config::options`]).
//!
//! The syntax is the subset of `sh` such files use, so the same file can
//! still be sourced by a shell script: `#` comments, blank lines, an
//! optional `export `, and values bare, in `"double"` or in `'single'`
//! quotes. **No shell expansion is done**: `$VAR` and `` `cmd` `` are taken
//! literally (with a warning), because the daemon must not run commands or
//! depend on its environment to read its configuration. A malformed line is
//! a problem (the daemon does not guess), reported with `file:line` and the
//! text; an unknown key is a warning when a daemon starts and a problem for
//! `-n`, with the closest known key when one is near.

use std::io;
use std::path::{Path, PathBuf};

use super::filekeys::{closest_key, OPTION_KEYS};
use crate::config::cli::Problem;

/// Where the configuration file is looked for when `--config` is not given.
/// Its absence is not an error: everything can be on the command line.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/default/failover";

/// heartbeatd's targets: space-separated addresses, private network first.
pub const KEY_BCAST_IPS: &str = "FAILOVER_BCAST_IPS";
/// failoverd's `master_priv_addr`.
pub const KEY_PEER_IP: &str = "FAILOVER_PEER_IP";
/// failoverd's space-separated `interface:pub_addr[/mask]` triplets (the
/// "PAIRS" name is historical, as Apple's man page says).
pub const KEY_PEER_IP_PAIRS: &str = "FAILOVER_PEER_IP_PAIRS";
/// heartbeatd's `--peer`: the secondary's private address (its node id).
/// Not Apple's; a file shared by both servers may set it, failoverd ignores
/// it.
pub const KEY_SECONDARY_IP: &str = "FAILOVER_SECONDARY_IP";
/// Who receives email notifications; `root` when unset, no email when set
/// to the empty string.
pub const KEY_EMAIL_RECIPIENT: &str = "FAILOVER_EMAIL_RECIPIENT";
/// Where notification mail is spooled (`--spool-dir`; default
/// `/var/spool/failover`). Not Apple's.
pub const KEY_SPOOL_DIR: &str = "FAILOVER_SPOOL_DIR";
/// Where the Prometheus metrics are written (`--metrics-file`; unset or
/// empty: none). Not Apple's.
pub const KEY_METRICS_FILE: &str = "FAILOVER_METRICS_FILE";
/// The keys read here, besides the option keys of [`super::filekeys`].
pub const KNOWN_KEYS: [&str; 7] = [
    KEY_BCAST_IPS,
    KEY_PEER_IP,
    KEY_PEER_IP_PAIRS,
    KEY_EMAIL_RECIPIENT,
    KEY_SECONDARY_IP,
    KEY_SPOOL_DIR,
    KEY_METRICS_FILE,
];

/// Every key the file may set.
pub fn all_keys() -> impl Iterator<Item = &'static str> + Clone {
    KNOWN_KEYS
        .into_iter()
        .chain(OPTION_KEYS.iter().map(|k| k.key))
}

/// One value read from the file, with the line it came from so that a
/// message about it can point there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value, quotes removed.
    pub value: String,
    /// The line number, from 1.
    pub line: usize,
}

impl Setting {
    /// The value's space-separated words (the lists in
    /// `FAILOVER_BCAST_IPS` and `FAILOVER_PEER_IP_PAIRS`).
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.value.split_whitespace()
    }
}

/// What one configuration file says, and what was wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// The file (read or looked for), for messages.
    pub path: PathBuf,
    /// Whether the file was found and read.
    pub loaded: bool,
    /// `FAILOVER_BCAST_IPS`.
    pub bcast_ips: Option<Setting>,
    /// `FAILOVER_PEER_IP`.
    pub peer_ip: Option<Setting>,
    /// `FAILOVER_PEER_IP_PAIRS`.
    pub peer_ip_pairs: Option<Setting>,
    /// `FAILOVER_EMAIL_RECIPIENT`.
    pub email_recipient: Option<Setting>,
    /// `FAILOVER_SECONDARY_IP` (heartbeatd's `--peer`).
    pub secondary_ip: Option<Setting>,
    /// `FAILOVER_SPOOL_DIR` (`--spool-dir`).
    pub spool_dir: Option<Setting>,
    /// `FAILOVER_METRICS_FILE` (`--metrics-file`).
    pub metrics_file: Option<Setting>,
    /// The keys that stand for one option each ([`super::filekeys`]).
    pub options: Vec<(&'static str, Setting)>,
    /// Unknown keys, each with its place and a "did you mean" when a known
    /// key is close: a warning when the daemon starts, a problem for `-n`
    /// (what the administrator meant is not what would run).
    pub unknown: Vec<String>,
    /// Repeated keys, literal `$`: worth logging, not fatal.
    pub warnings: Vec<String>,
    /// Malformed lines and unreadable files: the daemon refuses to start.
    pub problems: Vec<Problem>,
}

impl HostConfig {
    /// No file: every key unset.
    pub fn absent(path: &Path) -> HostConfig {
        HostConfig {
            path: path.to_owned(),
            ..HostConfig::default()
        }
    }

    /// Reads the configuration file. `explicit` is the `--config` argument:
    /// a file named there must exist; without it, [`DEFAULT_CONFIG_FILE`]
    /// is read if it exists and silently skipped if it does not. A file that
    /// exists but cannot be read is a problem either way.
    pub fn load(explicit: Option<&Path>) -> HostConfig {
        let path = explicit.unwrap_or(Path::new(DEFAULT_CONFIG_FILE));
        match std::fs::read(path) {
            Ok(bytes) => HostConfig::parse(path, &String::from_utf8_lossy(&bytes)),
            Err(e) if explicit.is_none() && e.kind() == io::ErrorKind::NotFound => {
                HostConfig::absent(path)
            }
            Err(e) => {
                let mut c = HostConfig::absent(path);
                c.problems.push(Problem::no_input(format!(
                    "cannot read configuration file {}: {e}",
                    path.display()
                )));
                c
            }
        }
    }

    /// Parses the text of a configuration file read from `path`.
    pub fn parse(path: &Path, text: &str) -> HostConfig {
        let mut c = HostConfig::absent(path);
        c.loaded = true;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let here = format!("{}:{line}", path.display());
            match parse_line(raw) {
                Ok(None) => {}
                Ok(Some(assignment)) => {
                    if assignment.literal_expansion {
                        c.warnings.push(format!(
                            "{here}: {}: '$' and '`' are taken literally (this file is read \
                             without shell expansion)",
                            assignment.key
                        ));
                    }
                    c.set(&here, line, assignment.key, assignment.value);
                }
                Err(reason) if looks_like_a_key(raw) => c.problems.push(Problem::config(format!(
                    "{here}: {reason}; the line holds what looks like a key (not shown: it may \
                     be a secret): is this the key file?"
                ))),
                Err(reason) => c
                    .problems
                    .push(Problem::config(format!("{here}: {reason}: {}", raw.trim()))),
            }
        }
        c
    }

    fn set(&mut self, here: &str, line: usize, key: &str, value: String) {
        let slot = match key {
            KEY_BCAST_IPS => &mut self.bcast_ips,
            KEY_PEER_IP => &mut self.peer_ip,
            KEY_PEER_IP_PAIRS => &mut self.peer_ip_pairs,
            KEY_EMAIL_RECIPIENT => &mut self.email_recipient,
            KEY_SECONDARY_IP => &mut self.secondary_ip,
            KEY_SPOOL_DIR => &mut self.spool_dir,
            KEY_METRICS_FILE => &mut self.metrics_file,
            _ => match OPTION_KEYS.iter().find(|k| k.key == key) {
                Some(k) => {
                    let setting = Setting { value, line };
                    match self.options.iter_mut().find(|(o, _)| *o == k.key) {
                        Some((_, old)) => {
                            self.warnings.push(format!(
                                "{here}: {key} is set again; this value replaces the one on line {}",
                                old.line
                            ));
                            *old = setting;
                        }
                        None => self.options.push((k.key, setting)),
                    }
                    return;
                }
                None => {
                    let hint = closest_key(key, all_keys())
                        .map(|k| format!(" (did you mean {k}?)"))
                        .unwrap_or_default();
                    self.unknown
                        .push(format!("{here}: unknown key {key}{hint}"));
                    return;
                }
            },
        };
        if let Some(old) = slot {
            self.warnings.push(format!(
                "{here}: {key} is set again; this value replaces the one on line {}",
                old.line
            ));
        }
        *slot = Some(Setting { value, line });
    }

    /// The value of an option key ([`super::filekeys::OPTION_KEYS`]).
    pub fn option(&self, key: &str) -> Option<&Setting> {
        self.options.iter().find(|(k, _)| *k == key).map(|(_, s)| s)
    }

    /// Where a setting came from, for messages: `KEY at /path:line`.
    pub fn context(&self, key: &str, setting: &Setting) -> String {
        format!("{key} at {}:{}", self.path.display(), setting.line)
    }
}

/// Whether a line holds a run of hexadecimal digits as long as the
/// shortest key (`failover_core::wire::MIN_KEY_LEN` bytes): a key file given
/// as the configuration file, whose lines a message must not quote.
fn looks_like_a_key(raw: &str) -> bool {
    let mut run = 0usize;
    raw.chars().any(|c| {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        run >= 2 * failover_core::wire::MIN_KEY_LEN
    })
}

/// One `KEY=VALUE` line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Assignment<'a> {
    key: &'a str,
    value: String,
    /// An unquoted or double-quoted `$` or `` ` ``, which a shell would
    /// have expanded.
    literal_expansion: bool,
}

/// Typographic quotes that word processors and web pages put in place of
/// `"` and `'` (seeds 000 and 001 show `FAILOVER_BCAST_IPS=”…″`).
const TYPOGRAPHIC_QUOTES: [char; 7] = ['“', '”', '„', '″', '‘', '’', '′'];

/// Parses one line: `Ok(None)` for a blank or comment line, the assignment,
/// or why the line is malformed.
fn parse_line(raw: &str) -> Result<Option<Assignment<'_>>, String> {
    let line = raw.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let line = match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => line,
    };
    let key_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(line.len());
    let (key, rest) = line.split_at(key_len);
    if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("expected KEY=VALUE".into());
    }
    let Some(rest) = rest.strip_prefix('=') else {
        return Err(if rest.trim_start().starts_with('=') {
            "no spaces are allowed before '=' (as in sh)".into()
        } else {
            "expected KEY=VALUE".into()
        });
    };
    if rest.starts_with([' ', '\t']) && !rest.trim().is_empty() && !rest.trim().starts_with('#') {
        return Err("no spaces are allowed after '=' (as in sh); quote a value with spaces".into());
    }
    let (value, literal_expansion, after) = parse_value(rest)?;
    let after = after.trim_start();
    if !after.is_empty() && !after.starts_with('#') {
        return Err("unexpected text after the value; quote a value with spaces".into());
    }
    Ok(Some(Assignment {
        key,
        value,
        literal_expansion,
    }))
}

/// Reads a value up to the first unquoted whitespace, sh-style: bare,
/// `"…"` (where `\` escapes `"`, `\`, `$` and `` ` ``) and `'…'` segments
/// concatenate. Returns the value, whether it held a literal `$` or `` ` ``
/// outside single quotes, and the rest of the line.
fn parse_value(text: &str) -> Result<(String, bool, &str), String> {
    let mut value = String::new();
    let mut expansion = false;
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => return Ok((value, expansion, &text[i..])),
            '"' => {
                chars.next();
                loop {
                    match chars.next() {
                        None => {
                            return Err(
                                "unterminated double quote (a value cannot span lines)".into()
                            )
                        }
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.peek() {
                            Some(&(_, e @ ('"' | '\\' | '$' | '`'))) => {
                                value.push(e);
                                chars.next();
                            }
                            _ => value.push('\\'),
                        },
                        Some((_, d)) => {
                            expansion |= d == '$' || d == '`';
                            value.push(d);
                        }
                    }
                }
            }
            '\'' => {
                chars.next();
                loop {
                    match chars.next() {
                        None => {
                            return Err(
                                "unterminated single quote (a value cannot span lines)".into()
                            )
                        }
                        Some((_, '\'')) => break,
                        Some((_, d)) => value.push(d),
                    }
                }
            }
            '\\' => {
                chars.next();
                match chars.next() {
                    Some((_, e)) => value.push(e),
                    None => return Err("a '\\' at the end of the line".into()),
                }
            }
            c if TYPOGRAPHIC_QUOTES.contains(&c) => {
                return Err(format!(
                    "'{c}' is a typographic quote, not a quote character: use a plain \" \
                     (an editor or a web page replaced it)"
                ))
            }
            c => {
                chars.next();
                expansion |= c == '$' || c == '`';
                value.push(c);
            }
        }
    }
    Ok((value, expansion, ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cli::ProblemKind;

    fn parse(text: &str) -> HostConfig {
        HostConfig::parse(Path::new("/etc/default/failover"), text)
    }

    fn value(text: &str) -> String {
        match parse_line(text) {
            Ok(Some(a)) => a.value,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn malformed(text: &str) -> String {
        parse_line(text).expect_err(text)
    }

    #[test]
    fn apples_hostconfig_lines() {
        let c = parse(
            "# IP failover\n\
             FAILOVER_PEER_IP=10.100.0.10\n\
             FAILOVER_PEER_IP_PAIRS=\"en0:192.13.2.2/16 en1:1.2.3.4/24\"\n\
             FAILOVER_EMAIL_RECIPIENT=failure_notifications@groups.example.com\n\
             \n\
             FAILOVER_BCAST_IPS=\"192.168.1.255 10.1.0.255\"\n",
        );
        assert!(c.loaded);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let peer = c.peer_ip.as_ref().expect("set");
        assert_eq!((peer.value.as_str(), peer.line), ("10.100.0.10", 2));
        let pairs = c.peer_ip_pairs.as_ref().expect("set");
        assert_eq!(
            pairs.words().collect::<Vec<_>>(),
            ["en0:192.13.2.2/16", "en1:1.2.3.4/24"]
        );
        assert_eq!(
            c.email_recipient.as_ref().map(|s| s.value.as_str()),
            Some("failure_notifications@groups.example.com")
        );
        let b = c.bcast_ips.as_ref().expect("set");
        assert_eq!(
            b.words().collect::<Vec<_>>(),
            ["192.168.1.255", "10.1.0.255"]
        );
        assert_eq!(b.line, 6);
        assert_eq!(
            c.context(KEY_BCAST_IPS, b),
            "FAILOVER_BCAST_IPS at /etc/default/failover:6"
        );
    }

    #[test]
    fn value_forms() {
        assert_eq!(value("A=bare"), "bare");
        assert_eq!(value("A=\"two words\""), "two words");
        assert_eq!(value("A='two words'"), "two words");
        assert_eq!(value("A="), "");
        assert_eq!(value("A=\"\""), "");
        assert_eq!(value("export A=x"), "x");
        assert_eq!(value("export\tA='x'"), "x");
        assert_eq!(value("   A=x   "), "x");
        assert_eq!(value("A=x # a comment"), "x");
        assert_eq!(value("A=\"x\"\t# a comment"), "x");
        assert_eq!(value("A=x#y"), "x#y");
        assert_eq!(value("A=\"a\"'b'c"), "abc");
        assert_eq!(
            value(r#"A="say \"hi\" \\ \$ \` \n""#),
            r#"say "hi" \ $ ` \n"#
        );
        assert_eq!(value(r"A='no \escapes'"), r"no \escapes");
        assert_eq!(value(r"A=a\ b"), "a b");
        assert_eq!(value("A= # only a comment"), "");
        assert_eq!(value("exporter=1"), "1");
        assert_eq!(
            parse_line("export=1").map(|a| a.map(|a| a.key)),
            Ok(Some("export"))
        );
        for blank in ["", "   ", "# comment", "   # indented comment", "\t"] {
            assert_eq!(parse_line(blank), Ok(None), "{blank:?}");
        }
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(malformed("FOO bar"), "expected KEY=VALUE");
        assert_eq!(malformed("FOO"), "expected KEY=VALUE");
        assert_eq!(malformed("=x"), "expected KEY=VALUE");
        assert_eq!(malformed("1A=x"), "expected KEY=VALUE");
        assert_eq!(malformed("A-B=x"), "expected KEY=VALUE");
        assert_eq!(malformed("export"), "expected KEY=VALUE");
        assert_eq!(
            malformed("A =x"),
            "no spaces are allowed before '=' (as in sh)"
        );
        assert_eq!(
            malformed("A= x"),
            "no spaces are allowed after '=' (as in sh); quote a value with spaces"
        );
        assert_eq!(
            malformed("A=a b"),
            "unexpected text after the value; quote a value with spaces"
        );
        assert_eq!(
            malformed("A=\"open"),
            "unterminated double quote (a value cannot span lines)"
        );
        assert_eq!(
            malformed("A='open"),
            "unterminated single quote (a value cannot span lines)"
        );
        assert_eq!(malformed("A=x\\"), "a '\\' at the end of the line");
    }

    #[test]
    fn the_seeds_typographic_quotes_are_named() {
        let c = parse("FAILOVER_BCAST_IPS=”192.168.1.255 10.1.0.255″\n");
        assert_eq!(c.bcast_ips, None);
        assert_eq!(c.problems.len(), 1);
        assert_eq!(c.problems[0].kind, ProblemKind::Config);
        assert_eq!(
            c.problems[0].message,
            "/etc/default/failover:1: '”' is a typographic quote, not a quote character: use a \
             plain \" (an editor or a web page replaced it): \
             FAILOVER_BCAST_IPS=”192.168.1.255 10.1.0.255″"
        );
    }

    #[test]
    fn a_key_file_read_as_the_configuration_is_not_quoted() {
        let secret = "000102030405060708090a0b0c0d0e0f";
        let c = HostConfig::parse(
            Path::new("/etc/failover.keys"),
            &format!("1 {secret}\nnot a key\n"),
        );
        let messages: Vec<&str> = c.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "/etc/failover.keys:1: expected KEY=VALUE; the line holds what looks like a key \
                 (not shown: it may be a secret): is this the key file?",
                "/etc/failover.keys:2: expected KEY=VALUE: not a key",
            ]
        );
    }

    #[test]
    fn problems_name_the_file_line_and_text_and_all_are_reported() {
        let c = parse("A=1\n  bad line here  \nFAILOVER_PEER_IP=198.51.100.1\nB = 2\n");
        let messages: Vec<_> = c.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "/etc/default/failover:2: expected KEY=VALUE: bad line here",
                "/etc/default/failover:4: no spaces are allowed before '=' (as in sh): B = 2",
            ]
        );
        // The good lines around them still count.
        assert_eq!(c.peer_ip.map(|s| s.value), Some("198.51.100.1".into()));
    }

    #[test]
    fn option_keys_are_kept_and_near_misses_named() {
        let c = parse(
            "FAILOVER_INTERVAL=10\n\
             FAILOVER_INTERVALL=20\n\
             HEARTBEATD_ARGS=\"--service pub0:192.0.2.10\"\n\
             FAILOVER_INTERVAL=30\n",
        );
        assert_eq!(
            c.option("FAILOVER_INTERVAL")
                .map(|s| (s.value.as_str(), s.line)),
            Some(("30", 4))
        );
        assert_eq!(
            c.unknown,
            [
                "/etc/default/failover:2: unknown key FAILOVER_INTERVALL (did you mean \
                 FAILOVER_INTERVAL?)",
                "/etc/default/failover:3: unknown key HEARTBEATD_ARGS",
            ]
        );
        assert_eq!(
            c.warnings,
            [
                "/etc/default/failover:4: FAILOVER_INTERVAL is set again; this value replaces the \
              one on line 1"
            ]
        );
    }

    #[test]
    fn warnings_for_unknown_repeated_and_literal_expansion() {
        let c = parse(
            "IPFORWARDING=-YES-\n\
             FAILOVER_PEER_IP=198.51.100.1\n\
             FAILOVER_PEER_IP=198.51.100.2\n\
             FAILOVER_EMAIL_RECIPIENT=\"$ADMIN\"\n\
             export FAILOVER_BCAST_IPS='$literal'\n",
        );
        assert!(c.problems.is_empty());
        assert_eq!(
            c.unknown,
            ["/etc/default/failover:1: unknown key IPFORWARDING"]
        );
        assert_eq!(
            c.warnings,
            [
                "/etc/default/failover:3: FAILOVER_PEER_IP is set again; this value replaces the \
                 one on line 2",
                "/etc/default/failover:4: FAILOVER_EMAIL_RECIPIENT: '$' and '`' are taken \
                 literally (this file is read without shell expansion)",
            ]
        );
        assert_eq!(
            c.peer_ip.map(|s| (s.value, s.line)),
            Some(("198.51.100.2".into(), 3))
        );
        assert_eq!(c.email_recipient.map(|s| s.value), Some("$ADMIN".into()));
        assert_eq!(c.bcast_ips.map(|s| s.value), Some("$literal".into()));
    }

    #[test]
    fn crlf_and_byte_order_mark_are_tolerated() {
        let c = parse("\u{feff}FAILOVER_PEER_IP=198.51.100.1\r\nFAILOVER_BCAST_IPS=\"a b\"\r\n");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.peer_ip.map(|s| s.value), Some("198.51.100.1".into()));
        assert_eq!(c.bcast_ips.map(|s| s.value), Some("a b".into()));
    }

    #[test]
    fn missing_default_file_is_fine_but_a_named_one_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let c = HostConfig::load(Some(&missing));
        assert!(!c.loaded);
        assert_eq!(c.problems.len(), 1);
        assert_eq!(c.problems[0].kind, ProblemKind::NoInput);
        assert_eq!(
            c.problems[0].message,
            format!(
                "cannot read configuration file {}: No such file or directory (os error 2)",
                missing.display()
            )
        );
        let file = dir.path().join("failover");
        std::fs::write(&file, "FAILOVER_PEER_IP=198.51.100.1\n").expect("write");
        let c = HostConfig::load(Some(&file));
        assert!(c.loaded && c.problems.is_empty());
        assert_eq!(c.path, file);
        // A directory is not a file.
        let c = HostConfig::load(Some(dir.path()));
        assert_eq!(c.problems[0].kind, ProblemKind::NoInput);
        // The default file: absent on a build machine is fine, present is
        // read. Either way no "cannot read" problem for a missing file.
        let c = HostConfig::load(None);
        assert_eq!(c.path, Path::new(DEFAULT_CONFIG_FILE));
        assert!(c
            .problems
            .iter()
            .all(|p| !p.message.contains("No such file")));
    }

    /// The Debian package's `/etc/default/failover` (host/debian): every
    /// key set in it is commented out, so as installed it sets nothing and
    /// says nothing; it documents each key this file accepts (the option
    /// keys of `filekeys` too), and no other
    /// (each example line, uncommented, is a known key and parses cleanly).
    #[test]
    fn the_packaged_template_documents_every_key_and_only_those() {
        let template = include_str!("../../debian/failover.default");
        let c = parse(template);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(
            c,
            HostConfig {
                loaded: true,
                ..HostConfig::absent(&c.path)
            }
        );
        let examples: Vec<&str> = template
            .lines()
            .filter_map(|l| l.strip_prefix('#'))
            .filter(|l| l.starts_with("FAILOVER_"))
            .collect();
        let uncommented = parse(&examples.join("\n"));
        assert!(
            uncommented.problems.is_empty(),
            "{:?}",
            uncommented.problems
        );
        assert!(
            uncommented.warnings.is_empty() && uncommented.unknown.is_empty(),
            "{:?} {:?}",
            uncommented.warnings,
            uncommented.unknown
        );
        let mut keys: Vec<&str> = examples
            .iter()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .collect();
        keys.sort_unstable();
        let mut known: Vec<&str> = all_keys().collect();
        known.sort_unstable();
        assert_eq!(keys, known, "one example line per key the daemons read");
    }
}
