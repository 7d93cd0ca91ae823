//! Faults the lab injects into the switch: random loss per switch port and
//! direction.
//!
//! This kernel has no `netem`, so loss is made with nftables in the
//! **bridge** family, inside the switch namespace (never the root
//! namespace's ruleset): table `bridge lab`, and for each port and
//! direction a base chain of its own holding one rule,
//!
//! ```text
//! table bridge lab {
//!     chain from_primary-priv {      # frames the host sends into its port
//!         type filter hook prerouting priority 0; policy accept;
//!         iifname "primary-priv" counter numgen random mod 100 < 30 counter drop
//!     }
//!     chain to_primary-priv {        # frames the switch sends to the host
//!         type filter hook forward priority 0; policy accept;
//!         oifname "primary-priv" counter numgen random mod 100 < 30 counter drop
//!     }
//! }
//! ```
//!
//! * [`Direction::FromHost`] decides **once per frame**, when it enters the
//!   switch (`prerouting`, before the bridge floods it): a broadcast the
//!   host sends is lost for every receiver or for none, as on a lossy
//!   cable. Setting N % `FromHost` on every port of a bridge therefore
//!   gives exactly N % loss on every host-to-host path, in both directions
//!   (each frame crosses one ingress port).
//! * [`Direction::ToHost`] decides per copy the switch sends out of the
//!   port (`forward`, after flooding).
//! * [`Direction::Both`] is both; a frame between two ports that both have
//!   N % in both directions crosses two rules (1 − (1 − N)² end to end).
//!
//! One chain per port and direction makes every change a small, atomic
//! `nft -f` transaction that needs no knowledge of what was set before
//! (`add chain` is idempotent, `flush chain` empties it): set, change and
//! clear in any order, from any thread or process. The two counters of each
//! rule say how many frames the port saw and how many it dropped
//! ([`Loss::counts`]), so a test can show the loss was really there.
//!
//! The `nft` tool is looked for first ([`ensure_nft`]) and installed with
//! `apt-get install nftables` when it is missing; failing that the error
//! says how to install it. Every `nft` run is bounded in time
//! ([`NFT_TIMEOUT`]) and runs as `ip netns exec <switch> nft -f -`.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::netns::Switch;

/// The nftables table (bridge family) the lab's loss rules live in.
pub const TABLE: &str = "lab";
/// Bound on one `nft` run.
pub const NFT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on installing nftables with `apt-get`.
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// Linux's `IFNAMSIZ` less the NUL: the longest port name.
const MAX_PORT_LEN: usize = 15;

/// Which frames of a switch port are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Frames the switch sends out of the port, towards the host.
    ToHost,
    /// Frames the host sends into the port.
    FromHost,
    /// Both.
    Both,
}

impl Direction {
    /// The one-way directions this stands for.
    fn ways(self) -> &'static [Way] {
        match self {
            Direction::ToHost => &[Way::To],
            Direction::FromHost => &[Way::From],
            Direction::Both => &[Way::From, Way::To],
        }
    }
}

/// One way through a port: its chain's prefix, hook and interface match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    From,
    To,
}

impl Way {
    fn chain(self, port: &str) -> String {
        match self {
            Way::From => format!("from_{port}"),
            Way::To => format!("to_{port}"),
        }
    }

    fn hook(self) -> &'static str {
        match self {
            Way::From => "prerouting",
            Way::To => "forward",
        }
    }

    fn matcher(self) -> &'static str {
        match self {
            Way::From => "iifname",
            Way::To => "oifname",
        }
    }
}

/// What a port's rules counted: frames that reached the rule and frames it
/// dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Frames of the port in that direction while the rule was in place.
    pub seen: u64,
    /// Of those, dropped.
    pub dropped: u64,
}

/// Random loss on the switch's ports. Stateless: the rules in the switch's
/// namespace are the state, and the switch's namespace (with its ruleset)
/// goes away with the [`Switch`].
#[derive(Debug, Clone, Copy)]
pub struct Loss;

impl Loss {
    /// Drops `percent` % of the frames (0–100, chosen at random per frame)
    /// on `port` of `switch` in `direction`, replacing what was set there
    /// before. 0 removes the loss.
    pub fn set(switch: &Switch, port: &str, direction: Direction, percent: u8) -> io::Result<()> {
        Loss::set_many(switch, &[port], direction, percent)
    }

    /// [`Loss::set`] on several ports at once, in one atomic transaction.
    pub fn set_many(
        switch: &Switch,
        ports: &[&str],
        direction: Direction,
        percent: u8,
    ) -> io::Result<()> {
        let script = Loss::script(ports, direction, percent)?;
        nft(switch, &script)
    }

    /// Removes the loss on `port` in `direction`.
    pub fn clear(switch: &Switch, port: &str, direction: Direction) -> io::Result<()> {
        Loss::set(switch, port, direction, 0)
    }

    /// Removes every loss rule of the lab in `switch` (the whole table).
    pub fn clear_all(switch: &Switch) -> io::Result<()> {
        nft(
            switch,
            &format!("add table bridge {TABLE}\ndelete table bridge {TABLE}\n"),
        )
    }

    /// The `nft -f` text that [`Loss::set_many`] runs: pure, so it can be
    /// checked without root.
    pub fn script(ports: &[&str], direction: Direction, percent: u8) -> io::Result<String> {
        if percent > 100 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("loss of {percent} %: give 0 to 100"),
            ));
        }
        if ports.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "loss: no port given",
            ));
        }
        let mut s = format!("add table bridge {TABLE}\n");
        for port in ports {
            check_port(port)?;
            for way in direction.ways() {
                let chain = way.chain(port);
                s.push_str(&format!(
                    "add chain bridge {TABLE} {chain} {{ type filter hook {} priority 0; policy accept; }}\n\
                     flush chain bridge {TABLE} {chain}\n",
                    way.hook()
                ));
                if percent > 0 {
                    // `numgen random mod 100` is 0..=99: "< N" drops N % of
                    // the frames, and "<= 99" all of them (nft refuses
                    // "< 100", a value outside the type's range).
                    let test = if percent == 100 {
                        "le 99".to_owned()
                    } else {
                        format!("lt {percent}")
                    };
                    s.push_str(&format!(
                        "add rule bridge {TABLE} {chain} {} \"{port}\" counter numgen random mod 100 {test} counter drop\n",
                        way.matcher()
                    ));
                }
            }
        }
        Ok(s)
    }

    /// What the rules on `port` in `direction` counted since they were last
    /// set (summed over both ways for [`Direction::Both`]); zero where no
    /// rule is in place.
    pub fn counts(switch: &Switch, port: &str, direction: Direction) -> io::Result<Counts> {
        check_port(port)?;
        let mut total = Counts::default();
        for way in direction.ways() {
            let listing = nft_list(switch, &way.chain(port))?;
            let c = parse_counts(&listing);
            total.seen += c.seen;
            total.dropped += c.dropped;
        }
        Ok(total)
    }

    /// The lab's whole loss ruleset in `switch`, as `nft list` prints it
    /// (empty if none was ever set): for failure messages.
    pub fn listing(switch: &Switch) -> io::Result<String> {
        let out = run_nft(switch, &["list", "ruleset", "bridge"], None)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// ARP frames blocked between two ports of the switch: a host whose probe
/// target stops answering it (a switch that forwards nothing between them)
/// while every carrier stays up. Its own table, so it neither disturbs nor
/// is disturbed by the loss rules.
#[derive(Debug, Clone, Copy)]
pub struct ArpBlock;

/// The table [`ArpBlock`] keeps its rule in.
pub const ARP_TABLE: &str = "lab_arp";

impl ArpBlock {
    /// Drops every ARP frame forwarded from port `from` to port `to` (one
    /// direction; replaces what was blocked before).
    pub fn set(switch: &Switch, from: &str, to: &str) -> io::Result<()> {
        check_port(from)?;
        check_port(to)?;
        nft(
            switch,
            &format!(
                "add table bridge {ARP_TABLE}\ndelete table bridge {ARP_TABLE}\n\
                 add table bridge {ARP_TABLE}\n\
                 add chain bridge {ARP_TABLE} arp_block {{ type filter hook forward priority 0; policy accept; }}\n\
                 add rule bridge {ARP_TABLE} arp_block iifname \"{from}\" oifname \"{to}\" ether type arp drop\n"
            ),
        )
    }

    /// Lets ARP through again.
    pub fn clear(switch: &Switch) -> io::Result<()> {
        nft(
            switch,
            &format!("add table bridge {ARP_TABLE}\ndelete table bridge {ARP_TABLE}\n"),
        )
    }
}

/// Port names go into the nft text: interface names only (letters,
/// digits, `-`, `_`, `.`, at most 15), so nothing can be injected.
fn check_port(port: &str) -> io::Result<()> {
    if port.is_empty()
        || port.len() > MAX_PORT_LEN
        || !port
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || !port.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("switch port {port:?}: an interface name (a letter, then letters, digits, - _ .; at most 15)"),
        ));
    }
    Ok(())
}

/// The two counters of a loss rule in an `nft list chain` listing: the
/// first is every frame of the port, the second the dropped ones.
fn parse_counts(listing: &str) -> Counts {
    let mut numbers = listing
        .split("counter packets ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok());
    Counts {
        seen: numbers.next().unwrap_or(0),
        dropped: numbers.next().unwrap_or(0),
    }
}

/// `nft list chain bridge lab <chain>`, or "" if there is no such chain.
fn nft_list(switch: &Switch, chain: &str) -> io::Result<String> {
    let out = run_nft(switch, &["list", "chain", "bridge", TABLE, chain], None)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        // No table or no chain yet: nothing set, nothing counted.
        Ok(String::new())
    }
}

/// Runs `script` with `nft -f -` in the switch's namespace.
fn nft(switch: &Switch, script: &str) -> io::Result<()> {
    let out = run_nft(switch, &["-f", "-"], Some(script))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "nft -f in {}: {}\n--- the script was:\n{script}",
            switch.ns().name(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn run_nft(switch: &Switch, args: &[&str], input: Option<&str>) -> io::Result<Output> {
    let nft = ensure_nft()?;
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", switch.ns().name()])
        .arg(nft)
        .args(args);
    run_bounded(cmd, input, NFT_TIMEOUT)
}

/// Where `nft` was found, or why it could not be had: decided once per
/// process (a failed installation is not tried again on every call).
static NFT: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);

/// The `nft` binary: found on `PATH` or in the usual system directories,
/// else installed with `apt-get install nftables` (as root). The error says
/// what was tried and how to install it by hand.
pub fn ensure_nft() -> io::Result<PathBuf> {
    let mut decided = NFT.lock().unwrap_or_else(|e| e.into_inner());
    let result = decided.get_or_insert_with(|| {
        if let Some(p) = find_nft() {
            return Ok(p);
        }
        let why = install_nftables();
        find_nft().ok_or_else(|| {
            format!(
                "the nft tool (Debian package nftables) is needed for loss injection and is not \
                 installed; installing it failed: {}; install it by hand: apt-get install nftables",
                why.err()
                    .unwrap_or_else(|| "apt-get ran but no nft appeared".to_owned())
            )
        })
    });
    result
        .clone()
        .map_err(|why| io::Error::new(io::ErrorKind::NotFound, why))
}

fn find_nft() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .take(64)
        .map(|d| d.join("nft"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `apt-get install nftables`, with one `apt-get update` and a retry if the
/// first attempt fails (empty package lists on a fresh machine).
fn install_nftables() -> Result<(), String> {
    if !crate::netns::is_root() {
        return Err("not root, so apt-get cannot be run".to_owned());
    }
    let _ = writeln!(
        io::stderr().lock(),
        "failover-lab: nft not found; installing nftables with apt-get..."
    );
    let apt = |args: &[&str]| -> Result<(), String> {
        let mut cmd = Command::new("apt-get");
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        match run_bounded(cmd, None, INSTALL_TIMEOUT) {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "apt-get {}: {}",
                args.join(" "),
                tail(&String::from_utf8_lossy(&out.stderr))
            )),
            Err(e) => Err(format!("apt-get {}: {e}", args.join(" "))),
        }
    };
    let install = ["install", "-y", "--no-install-recommends", "nftables"];
    apt(&install).or_else(|_| {
        apt(&["update"])?;
        apt(&install)
    })
}

/// The last few lines of a long message.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim().lines().collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

/// Runs `cmd` to completion within `timeout`, feeding it `input`, killing
/// it past the deadline.
fn run_bounded(mut cmd: Command, input: Option<&str>, timeout: Duration) -> io::Result<Output> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("{what}: {e}")))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // Small scripts: they fit in the pipe; closing it ends nft's input.
        let r = stdin.write_all(text.as_bytes());
        drop(stdin);
        if let Err(e) = r {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                e.kind(),
                format!("{what}: writing its input: {e}"),
            ));
        }
    }
    // Both outputs are read on threads of their own, so a chatty program
    // (apt-get) never blocks on a full pipe; they end when it exits (or,
    // should something it started keep the pipe, are given up on below).
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            let _ = tx.send(buf);
        });
        rx
    };
    let out_reader = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err_reader = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let collect = |rx: std::sync::mpsc::Receiver<Vec<u8>>| {
        rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default()
    };
    let deadline = Instant::now() + timeout;
    for _ in 0..1_000_000 {
        if let Some(status) = child.try_wait()? {
            return Ok(Output {
                status,
                stdout: collect(out_reader),
                stderr: collect(err_reader),
            });
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what}: still running after {timeout:?}, killed"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netns::{skip_unless_root, wait_until, Netns};
    use std::net::UdpSocket;

    #[test]
    fn rule_text_per_direction() {
        let s = Loss::script(&["primary-priv"], Direction::FromHost, 30).unwrap();
        assert_eq!(
            s,
            "add table bridge lab\n\
             add chain bridge lab from_primary-priv { type filter hook prerouting priority 0; policy accept; }\n\
             flush chain bridge lab from_primary-priv\n\
             add rule bridge lab from_primary-priv iifname \"primary-priv\" counter numgen random mod 100 lt 30 counter drop\n"
        );
        let s = Loss::script(&["client-pub"], Direction::ToHost, 100).unwrap();
        assert!(s.contains(
            "add chain bridge lab to_client-pub { type filter hook forward priority 0; policy accept; }\n"
        ));
        assert!(s.contains(
            "add rule bridge lab to_client-pub oifname \"client-pub\" counter numgen random mod 100 le 99 counter drop\n"
        ));
        assert!(!s.contains("from_"), "{s}");
        let both = Loss::script(&["a", "b"], Direction::Both, 5).unwrap();
        for chain in ["from_a", "to_a", "from_b", "to_b"] {
            assert!(
                both.contains(&format!("flush chain bridge lab {chain}\n")),
                "{both}"
            );
        }
        assert_eq!(both.matches("add rule").count(), 4, "{both}");
    }

    #[test]
    fn zero_percent_only_empties_the_chains() {
        let s = Loss::script(&["p1"], Direction::Both, 0).unwrap();
        assert!(!s.contains("add rule"), "{s}");
        assert!(s.contains("flush chain bridge lab from_p1\n"), "{s}");
        assert!(s.contains("flush chain bridge lab to_p1\n"), "{s}");
    }

    #[test]
    fn bad_percent_and_port_names_are_refused() {
        assert!(Loss::script(&["p1"], Direction::Both, 101).is_err());
        assert!(Loss::script(&[], Direction::Both, 1).is_err());
        for bad in [
            "",
            "x\"; flush ruleset",
            "a b",
            "sixteen-chars-xx",
            "1abc",
            "p1\n",
        ] {
            assert!(
                Loss::script(&[bad], Direction::ToHost, 10).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn counters_are_read_from_a_listing() {
        let listing = "table bridge lab {\n\tchain from_p {\n\t\ttype filter hook prerouting priority 0; policy accept;\n\
                       \t\tiifname \"p\" counter packets 1000 bytes 64000 numgen random mod 100 < 30 counter packets 297 bytes 19008 drop\n\t}\n}\n";
        assert_eq!(
            parse_counts(listing),
            Counts {
                seen: 1000,
                dropped: 297
            }
        );
        assert_eq!(parse_counts(""), Counts::default());
    }

    /// Two hosts on one bridge, with a UDP socket each.
    struct Pair {
        sw: Switch,
        _h1: Netns,
        _h2: Netns,
        s1: UdpSocket,
        s2: UdpSocket,
    }

    fn pair() -> Pair {
        let sw = Switch::new().unwrap();
        sw.add_bridge("br0").unwrap();
        let h1 = Netns::new("h1").unwrap();
        let h2 = Netns::new("h2").unwrap();
        sw.connect("br0", "p-h1", &h1, "eth0").unwrap();
        sw.connect("br0", "p-h2", &h2, "eth0").unwrap();
        h1.add_addr("eth0", "203.0.113.1/24").unwrap();
        h2.add_addr("eth0", "203.0.113.2/24").unwrap();
        let sock = |ns: &Netns, ip: &'static str| {
            ns.run(move || {
                let s = UdpSocket::bind((ip, 4000)).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                s
            })
            .unwrap()
        };
        let s1 = sock(&h1, "203.0.113.1");
        let s2 = sock(&h2, "203.0.113.2");
        let p = Pair {
            sw,
            _h1: h1,
            _h2: h2,
            s1,
            s2,
        };
        // Neighbours resolved both ways, ports forwarding (bounded).
        assert!(
            wait_until(Duration::from_secs(5), Duration::from_millis(1), || {
                delivered(&p.s1, &p.s2, "203.0.113.2:4000", 1) == 1
                    && delivered(&p.s2, &p.s1, "203.0.113.1:4000", 1) == 1
            }),
            "no traffic across the bridge"
        );
        p
    }

    /// Sends `n` datagrams from `a` to `to` and counts what `b` receives,
    /// in batches of 100 that are each read back before the next is sent
    /// (a socket buffer holds about 250 small datagrams: only the rule may
    /// drop).
    fn delivered(a: &UdpSocket, b: &UdpSocket, to: &str, n: usize) -> usize {
        let mut buf = [0u8; 16];
        b.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
        while b.recv_from(&mut buf).is_ok() {}
        b.set_read_timeout(Some(Duration::from_millis(40))).unwrap();
        let mut got = 0;
        for start in (0..n).step_by(100) {
            let batch = (n - start).min(100);
            for i in 0..batch {
                let _ = a.send_to(&((start + i) as u32).to_be_bytes(), to);
            }
            let mut here = 0;
            while here < batch && b.recv_from(&mut buf).is_ok() {
                here += 1;
            }
            got += here;
        }
        got
    }

    #[test]
    fn full_loss_drops_one_direction_and_zero_restores() {
        if skip_unless_root("faults::full_loss_drops_one_direction_and_zero_restores") {
            return;
        }
        let p = pair();
        let (to1, to2) = ("203.0.113.1:4000", "203.0.113.2:4000");
        // Frames from h1 into its port: h1 -> h2 lost, h2 -> h1 passes.
        Loss::set(&p.sw, "p-h1", Direction::FromHost, 100).unwrap();
        assert_eq!(delivered(&p.s1, &p.s2, to2, 50), 0);
        assert_eq!(delivered(&p.s2, &p.s1, to1, 50), 50);
        let c = Loss::counts(&p.sw, "p-h1", Direction::FromHost).unwrap();
        assert!(c.seen >= 50 && c.dropped == c.seen, "{c:?}");
        // Towards h1 instead: the other way round.
        Loss::clear(&p.sw, "p-h1", Direction::FromHost).unwrap();
        Loss::set(&p.sw, "p-h1", Direction::ToHost, 100).unwrap();
        assert_eq!(delivered(&p.s1, &p.s2, to2, 50), 50);
        assert_eq!(delivered(&p.s2, &p.s1, to1, 50), 0);
        // Both, then 0 %: everything passes again.
        Loss::set(&p.sw, "p-h1", Direction::Both, 100).unwrap();
        assert_eq!(delivered(&p.s1, &p.s2, to2, 50), 0);
        assert_eq!(delivered(&p.s2, &p.s1, to1, 50), 0);
        Loss::set(&p.sw, "p-h1", Direction::Both, 0).unwrap();
        assert_eq!(delivered(&p.s1, &p.s2, to2, 50), 50);
        assert_eq!(delivered(&p.s2, &p.s1, to1, 50), 50);
        assert_eq!(
            Loss::counts(&p.sw, "p-h1", Direction::Both).unwrap(),
            Counts::default()
        );
        // clear_all removes the table, and is idempotent.
        Loss::set(&p.sw, "p-h2", Direction::Both, 100).unwrap();
        assert!(Loss::listing(&p.sw).unwrap().contains("to_p-h2"));
        Loss::clear_all(&p.sw).unwrap();
        Loss::clear_all(&p.sw).unwrap();
        assert!(!Loss::listing(&p.sw).unwrap().contains("table bridge lab"));
        assert_eq!(delivered(&p.s1, &p.s2, to2, 50), 50);
    }

    #[test]
    fn partial_loss_drops_about_that_share() {
        if skip_unless_root("faults::partial_loss_drops_about_that_share") {
            return;
        }
        let p = pair();
        Loss::set(&p.sw, "p-h2", Direction::ToHost, 30).unwrap();
        let n = 2000;
        let got = delivered(&p.s1, &p.s2, "203.0.113.2:4000", n);
        let lost = n - got;
        // 30 % of 2000 is 600, standard deviation about 20: 450..750 is
        // over seven of them either side.
        assert!((450..=750).contains(&lost), "lost {lost} of {n}");
        let c = Loss::counts(&p.sw, "p-h2", Direction::ToHost).unwrap();
        // The port also carries the hosts' own frames (ARP, IPv6
        // neighbour discovery), which the rule may drop too.
        let (n, lost) = (n as u64, lost as u64);
        assert!(c.seen >= n, "{c:?}");
        assert!(
            c.dropped >= lost && c.dropped - lost <= c.seen - n,
            "{c:?}, lost {lost}"
        );
    }
}
