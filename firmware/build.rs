//! Build-time configuration of the witness.
//!
//! Reads `witness.toml` (or the file named by `FAILOVER_WITNESS_CONFIG`),
//! checks every value — with failover-core's own rules for the timing, the
//! same ones the daemons' `-n` applies — and writes
//! `$OUT_DIR/witness_config.rs`, which `src/config.rs` includes. Any problem
//! stops the build with every mistake listed, each naming its key and line.
//!
//! Also puts the board's memory layout (`memory/<board>.x`) where the
//! linker finds it, as `memory.x`. No `memory.x` may lie in this directory:
//! the linker looks in the working directory (this one) before the search
//! paths, so it would win over the board's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use failover_core::config::Timing;
use failover_core::keyfile::KeyLines;
use failover_core::{DeadTime, Duration, FenceConfig, NodeId, WitnessConfig};
use toml::de::{DeTable, DeValue};

/// The longest heartbeat interval accepted (the daemons' limit is an hour).
const MAX_INTERVAL_MS: u64 = 3_600_000;
/// At most this many destinations for the witness's frames.
const MAX_PEERS: usize = 4;

/// The image's build time in UNIX seconds (`SOURCE_DATE_EPOCH` when set,
/// for reproducible builds): the floor of a board's boot counter, so that a
/// newly flashed image starts above every epoch an older one used, even
/// after a chip erase (src/bootcount.rs).
fn build_epoch() -> u32 {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let secs = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs()),
    };
    u32::try_from(secs).unwrap_or(u32::MAX - 1).max(1)
}

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));

    // The linker script of the board (cargo features: exactly one board).
    let boards = [
        ("CARGO_FEATURE_BOARD_MPS2_AN385", "memory/mps2-an385.x"),
        (
            "CARGO_FEATURE_BOARD_NUCLEO_F429ZI",
            "memory/nucleo-f429zi.x",
        ),
    ];
    let chosen: Vec<&str> = boards
        .iter()
        .filter(|(feature, _)| std::env::var_os(feature).is_some())
        .map(|(_, memory)| *memory)
        .collect();
    let [memory] = chosen[..] else {
        eprintln!(
            "\nerror: build the witness for exactly one board: the default feature \
             board-mps2-an385 (QEMU), or --no-default-features --features \
             board-nucleo-f429zi --target thumbv7em-none-eabihf\n"
        );
        std::process::exit(1);
    };
    std::fs::copy(manifest.join(memory), out.join("memory.x"))
        .unwrap_or_else(|e| panic!("copy {memory}: {e}"));
    // The QEMU board brings its own interrupt vectors (cortex-m-rt's
    // `device` feature, src/board/mps2_an385.rs), all to `DefaultHandler`:
    // cortex-m-rt's link.x then includes a `device.x` for the handlers'
    // names, which a device crate would provide; there are none to name.
    // (The NUCLEO's device crate provides its own.)
    if memory == "memory/mps2-an385.x" {
        std::fs::write(
            out.join("device.x"),
            "/* No named interrupt handlers: every vector is DefaultHandler (build.rs). */\n",
        )
        .unwrap_or_else(|e| panic!("write device.x: {e}"));
    }
    println!("cargo:rustc-link-search={}", out.display());
    for (_, memory) in boards {
        println!("cargo:rerun-if-changed={memory}");
    }

    println!("cargo:rerun-if-env-changed=FAILOVER_WITNESS_CONFIG");
    let path = match std::env::var_os("FAILOVER_WITNESS_CONFIG") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => manifest.join("witness.toml"),
    };
    println!("cargo:rerun-if-changed={}", path.display());
    match configure(&path) {
        Ok((mut code, key_file)) => {
            // The lab's published key (lab-only.key, or a copy of it):
            // fine for QEMU in the lab, a hole on a real network.
            let lab_key = key_file.as_ref().is_some_and(|k| {
                println!("cargo:rerun-if-changed={}", k.display());
                let lab = std::fs::read(manifest.join("lab-only.key")).ok();
                lab.is_some() && std::fs::read(k).ok() == lab
            });
            if lab_key && std::env::var_os("CARGO_FEATURE_BOARD_MPS2_AN385").is_none() {
                println!(
                    "cargo:warning=this real-board image carries the lab's PUBLISHED key \
                     (firmware/lab-only.key): anyone can forge its grants. For a deployment, \
                     set key_file in witness.toml to your own key (firmware/README.md)"
                );
            }
            let _ = writeln!(code, "pub const LAB_KEY: bool = {lab_key};");
            std::fs::write(out.join("witness_config.rs"), code).expect("write witness_config.rs");
        }
        Err(problems) => {
            eprintln!(
                "\nerror: the witness configuration {} has {} problem(s):",
                path.display(),
                problems.len()
            );
            for p in &problems {
                eprintln!("  {p}");
            }
            eprintln!(
                "\nFix them in that file (documented in firmware/witness.toml), or point \
                 FAILOVER_WITNESS_CONFIG at another file.\n"
            );
            std::process::exit(1);
        }
    }
}

/// witness.toml's keys: `key -> (line, value)`.
type Table<'a> = BTreeMap<String, (usize, DeValue<'a>)>;

/// Parses witness.toml, keeping each key's line for the messages. A TOML
/// syntax error is a problem; the keys read around it are still checked.
fn parse<'a>(text: &'a str, name: &str, problems: &mut Vec<String>) -> Table<'a> {
    let (document, errors) = DeTable::parse_recoverable(text);
    for e in errors {
        let e = e.to_string();
        problems.push(format!("{name}: {}", e.trim_end().replace('\n', "\n    ")));
    }
    let line = |at: usize| {
        let before = text.as_bytes().get(..at).unwrap_or_default();
        before.iter().filter(|&&b| b == b'\n').count() + 1
    };
    document
        .into_inner()
        .into_iter()
        .map(|(key, value)| {
            let at = line(key.span().start);
            (key.into_inner().into_owned(), (at, value.into_inner()))
        })
        .collect()
}

/// Reads typed values out of the table, collecting problems.
struct Reader<'a> {
    table: Table<'a>,
    name: &'a str,
    problems: &'a mut Vec<String>,
}

impl Reader<'_> {
    fn at(&self, key: &str) -> String {
        match self.table.get(key) {
            Some((line, _)) => format!("{}:{line}: {key}", self.name),
            None => format!("{}: {key}", self.name),
        }
    }

    /// The value of `key` if `convert` takes it, `default` if the key is
    /// absent; otherwise a problem: the key must be `expected`.
    fn get<T>(
        &mut self,
        key: &str,
        expected: &str,
        default: T,
        convert: impl FnOnce(&DeValue) -> Option<T>,
    ) -> T {
        let Some((_, value)) = self.table.get(key) else {
            return default;
        };
        if let Some(v) = convert(value) {
            return v;
        }
        self.problem(key, format!("expected {expected}"));
        default
    }

    fn str(&mut self, key: &str, default: &str) -> String {
        self.get(key, "a \"string\"", default.to_owned(), |v| {
            v.as_str().map(str::to_owned)
        })
    }

    fn int(&mut self, key: &str, default: u64) -> u64 {
        self.get(key, "a whole number", default, |v| {
            let i = v.as_integer()?;
            u64::from_str_radix(i.as_str(), i.radix()).ok()
        })
    }

    fn list(&mut self, key: &str) -> Vec<String> {
        self.get(key, "a [\"list\", \"of strings\"]", Vec::new(), |v| {
            v.as_array()?
                .iter()
                .map(|item| item.get_ref().as_str().map(str::to_owned))
                .collect()
        })
    }

    fn problem(&mut self, key: &str, what: impl std::fmt::Display) {
        let at = self.at(key);
        self.problems.push(format!("{at}: {what}"));
    }
}

const KNOWN_KEYS: &[&str] = &[
    "address",
    "prefix_len",
    "mac",
    "port",
    "primary",
    "secondary",
    "peers",
    "interval_ms",
    "primary_interval_ms",
    "dead_time_ms",
    "lease_ms",
    "fence_pulse_ms",
    "fence_settle_ms",
    "key_file",
    "secondary_request_timeout_ms",
    "primary_fence_ms",
];

fn in_subnet(a: Ipv4Addr, net: u32, mask: u32) -> bool {
    u32::from(a) & mask == net
}

/// Checks the configuration and returns the generated Rust, or every
/// problem found.
fn configure(path: &Path) -> Result<(String, Option<PathBuf>), Vec<String>> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| vec![format!("{name}: cannot read it: {e}")])?;
    let mut problems = Vec::new();
    let table = parse(&text, &name, &mut problems);
    for (key, (line, _)) in &table {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            problems.push(format!(
                "{name}:{line}: unknown key {key:?} (known: {})",
                KNOWN_KEYS.join(", ")
            ));
        }
    }
    let mut r = Reader {
        table,
        name: &name,
        problems: &mut problems,
    };

    // Addresses.
    let address_text = r.str("address", "");
    let address = match address_text.parse::<Ipv4Addr>() {
        Ok(a) if a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback() => {
            r.problem("address", format!("{a} cannot be a node's address"));
            None
        }
        Ok(a) => Some(a),
        Err(_) => {
            r.problem(
                "address",
                format!("{address_text:?} is not an IPv4 address (required)"),
            );
            None
        }
    };
    let prefix_len = r.int("prefix_len", 24);
    if !(8..=30).contains(&prefix_len) {
        r.problem(
            "prefix_len",
            format!("{prefix_len}: give 8 to 30 (the network needs a broadcast address)"),
        );
    }
    let mask: u32 = if (8..=30).contains(&prefix_len) {
        u32::MAX << (32 - prefix_len)
    } else {
        u32::MAX << 8
    };
    let net = address.map_or(0, |a| u32::from(a) & mask);
    let broadcast = Ipv4Addr::from(net | !mask);
    if let Some(a) = address {
        let host = u32::from(a) & !mask;
        if host == 0 || host == !mask {
            r.problem(
                "address",
                format!("{a} is the network's or the broadcast address of {a}/{prefix_len}"),
            );
        }
    }

    let mac_text = r.str("mac", "");
    let mac: Option<[u8; 6]> = if mac_text.is_empty() {
        None
    } else {
        let parts: Vec<Option<u8>> = mac_text
            .split(':')
            .map(|p| {
                (p.len() == 2)
                    .then(|| u8::from_str_radix(p, 16).ok())
                    .flatten()
            })
            .collect();
        match <[Option<u8>; 6]>::try_from(parts) {
            Ok(octets) if octets.iter().all(Option::is_some) => {
                let m = octets.map(|o| o.unwrap_or(0));
                if m[0] & 1 != 0 || m == [0; 6] {
                    r.problem("mac", format!("{mac_text}: not a unicast Ethernet address"));
                }
                Some(m)
            }
            _ => {
                r.problem(
                    "mac",
                    format!(
                        "{mac_text:?}: expected six hex octets like \"02:00:00:00:00:03\", or \"\""
                    ),
                );
                None
            }
        }
    };

    let port = r.int("port", u64::from(failover_core::wire::DEFAULT_PORT));
    if !(1..=65535).contains(&port) {
        r.problem("port", format!("{port}: give 1 to 65535"));
    }

    let node = |r: &mut Reader, key: &str| -> Option<Ipv4Addr> {
        let text = r.str(key, "any");
        if text == "any" {
            return None;
        }
        match text.parse::<Ipv4Addr>() {
            Ok(a) => {
                if address.is_some_and(|own| own == a) {
                    r.problem(key, format!("{a} is this witness's own address"));
                } else if address.is_some() && !in_subnet(a, net, mask) {
                    r.problem(
                        key,
                        format!(
                            "{a} is not on the private network {}/{prefix_len}: the witness only \
                             hears the servers there",
                            Ipv4Addr::from(net)
                        ),
                    );
                }
                Some(a)
            }
            Err(_) => {
                r.problem(
                    key,
                    format!("{text:?}: expected the node's private IPv4 address, or \"any\""),
                );
                None
            }
        }
    };
    let primary = node(&mut r, "primary");
    let secondary = node(&mut r, "secondary");
    if primary.is_some() && primary == secondary {
        r.problem("secondary", "the primary and the secondary must differ");
    }

    let mut peers = Vec::new();
    for p in r.list("peers") {
        match p.parse::<Ipv4Addr>() {
            Ok(a) if address.is_some_and(|own| own == a) => {
                r.problem("peers", format!("{a} is this witness's own address"))
            }
            Ok(a)
                if address.is_none()
                    || a == broadcast
                    || a.is_broadcast()
                    || in_subnet(a, net, mask) =>
            {
                peers.push(a)
            }
            Ok(a) => r.problem(
                "peers",
                format!(
                    "{a} is not on the private network {}/{prefix_len} (nor its broadcast {broadcast})",
                    Ipv4Addr::from(net)
                ),
            ),
            Err(_) => r.problem("peers", format!("{p:?} is not an IPv4 address")),
        }
    }
    if peers.len() > MAX_PEERS {
        r.problem("peers", format!("at most {MAX_PEERS} destinations"));
        peers.truncate(MAX_PEERS);
    }
    if peers.is_empty() {
        peers.push(broadcast);
    }

    // Timing.
    let interval_ms = r.int("interval_ms", 1000);
    if !(1..=MAX_INTERVAL_MS).contains(&interval_ms) {
        r.problem(
            "interval_ms",
            format!("{interval_ms}: give 1 to {MAX_INTERVAL_MS}"),
        );
    }
    let interval = Duration::from_millis(interval_ms.max(1));
    let ms_or = |r: &mut Reader, key: &str, default: Duration| -> Duration {
        match r.int(key, 0) {
            0 => default,
            v => Duration::from_millis(v),
        }
    };
    let primary_interval = ms_or(&mut r, "primary_interval_ms", interval);
    let timing = Timing::recommended(interval);
    let dead_time = ms_or(&mut r, "dead_time_ms", timing.witness_dead_time);
    let lease = ms_or(&mut r, "lease_ms", timing.lease);
    let pulse = r.int("fence_pulse_ms", 0);
    let settle = r.int("fence_settle_ms", 0);
    let fence = if pulse > 0 {
        Some(FenceConfig {
            pulse: Duration::from_millis(pulse),
            settle: Duration::from_millis(settle),
        })
    } else {
        if settle > 0 {
            r.problem(
                "fence_settle_ms",
                "set without fence_pulse_ms: the fence is off unless fence_pulse_ms is above 0",
            );
        }
        None
    };
    let request_timeout = ms_or(&mut r, "secondary_request_timeout_ms", primary_interval);
    let primary_fence = ms_or(
        &mut r,
        "primary_fence_ms",
        Timing::recommended(primary_interval).isolation_fence,
    );

    // Keys.
    let key_file_text = r.str("key_file", "");
    let mut keys: Vec<(u8, Vec<u8>)> = Vec::new();
    let key_file = if key_file_text.is_empty() {
        None
    } else {
        let kp = path.parent().unwrap_or(Path::new(".")).join(&key_file_text);
        match std::fs::read_to_string(&kp) {
            Ok(text) => keys = parse_keys(&text, &kp.display().to_string(), r.problems),
            Err(e) => r.problem("key_file", format!("cannot read {}: {e}", kp.display())),
        }
        Some(kp)
    };

    // The core's own rules, as the daemons check them.
    let epoch_placeholder = 1;
    let mut config = WitnessConfig::new(
        NodeId(address.map_or(0, u32::from)),
        epoch_placeholder,
        interval,
    );
    config.primary = primary.map(|a| NodeId(u32::from(a)));
    config.secondary = secondary.map(|a| NodeId(u32::from(a)));
    config.primary_interval = primary_interval;
    config.dead_time = DeadTime::Fixed(dead_time);
    config.lease = lease;
    config.fence = fence;
    for e in config.problems(request_timeout, primary_fence, primary_interval) {
        let key = match e {
            failover_core::ConfigError::FenceTooLate { .. } => "dead_time_ms",
            failover_core::ConfigError::LeaseTooShort { .. } => "lease_ms",
            _ => "interval_ms",
        };
        r.problem(key, e);
    }

    if !problems.is_empty() {
        return Err(problems);
    }

    // The generated constants.
    let mut code = String::new();
    let ip = |a: Ipv4Addr| format!("{:?}", a.octets());
    let opt_ip = |a: Option<Ipv4Addr>| match a {
        Some(a) => format!("Some({})", ip(a)),
        None => "None".to_owned(),
    };
    let w = &mut code;
    let _ = writeln!(w, "// Generated by build.rs from {name}. Do not edit.");
    let _ = writeln!(w, "pub const CONFIG_FILE: &str = {name:?};");
    let _ = writeln!(w, "pub const BUILD_EPOCH: u32 = {};", build_epoch());
    let _ = writeln!(
        w,
        "pub const ADDRESS: [u8; 4] = {};",
        ip(address.unwrap_or(Ipv4Addr::UNSPECIFIED))
    );
    let _ = writeln!(w, "pub const PREFIX_LEN: u8 = {prefix_len};");
    let _ = writeln!(w, "pub const MAC: Option<[u8; 6]> = {mac:?};");
    let _ = writeln!(w, "pub const PORT: u16 = {port};");
    let _ = writeln!(
        w,
        "pub const PRIMARY: Option<[u8; 4]> = {};",
        opt_ip(primary)
    );
    let _ = writeln!(
        w,
        "pub const SECONDARY: Option<[u8; 4]> = {};",
        opt_ip(secondary)
    );
    let peers: Vec<String> = peers.into_iter().map(ip).collect();
    let _ = writeln!(w, "pub const PEERS: &[[u8; 4]] = &[{}];", peers.join(", "));
    let _ = writeln!(
        w,
        "pub const INTERVAL_US: u64 = {};",
        interval.total_micros()
    );
    let _ = writeln!(
        w,
        "pub const PRIMARY_INTERVAL_US: u64 = {};",
        primary_interval.total_micros()
    );
    let _ = writeln!(
        w,
        "pub const DEAD_TIME_US: u64 = {};",
        dead_time.total_micros()
    );
    let _ = writeln!(w, "pub const LEASE_US: u64 = {};", lease.total_micros());
    let fence = fence.map(|f| (f.pulse.total_micros(), f.settle.total_micros()));
    let _ = writeln!(w, "pub const FENCE_US: Option<(u64, u64)> = {fence:?};");
    let keys: Vec<String> = keys
        .iter()
        .map(|(id, secret)| format!("({id}, &{secret:?})"))
        .collect();
    let _ = writeln!(
        w,
        "pub const KEYS: &[(u8, &[u8])] = &[{}];",
        keys.join(", ")
    );
    Ok((code, key_file))
}

/// The daemons' key-file format, read by their own parser
/// (`failover_core::keyfile`): one key per line, `ID HEXSECRET`, `#`
/// comments; the first key signs, a second one is also accepted.
fn parse_keys(text: &str, name: &str, problems: &mut Vec<String>) -> Vec<(u8, Vec<u8>)> {
    let mut keys = Vec::new();
    let mut lines = KeyLines::new(text);
    for (n, parsed) in &mut lines {
        match parsed {
            Ok(key) => keys.push((key.id(), key.secret().to_vec())),
            Err(e) => problems.push(format!("{name}:{n}: {e}")),
        }
    }
    if let Err(e) = lines.finish() {
        problems.push(format!("{name}: {e}"));
    }
    keys
}
