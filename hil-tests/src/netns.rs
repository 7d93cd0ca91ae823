//! Network-namespace fixtures shared by the host's integration tests and the
//! lab: namespaces that always go away, veth pairs, a "switch" namespace
//! with bridges, documentation addresses only, and a way to create sockets
//! inside a namespace.
//!
//! Rules this module enforces (DESIGN.md, "Test hosts and addresses"):
//!
//! * every namespace gets a unique name, `folab-<pid>-<counter>-<role>`, so
//!   parallel tests and parallel runs never collide, and a namespace left by
//!   a killed run can be recognised and removed ([`cleanup_stale`]);
//! * every namespace is deleted when its [`Netns`] is dropped, also while a
//!   test panics, after killing (by PID) the processes started in it;
//! * every `ip` command runs with `-n <namespace>`: nothing here touches the
//!   root namespace's interfaces; veth pairs are created inside a namespace
//!   with their peer placed directly into the other one;
//! * addresses must come from 192.0.2.0/24, 198.51.100.0/24 or
//!   203.0.113.0/24 ([`check_documentation_cidr`]);
//! * every wait is bounded in count and time ([`wait_until`], command
//!   timeouts).
//!
//! Fixture setup calls iproute2's `ip`: this is test scaffolding; the daemons
//! themselves use netlink.
//!
//! Sockets belong to the namespace they were created in, whatever thread
//! uses them later. [`Netns::run`] runs a closure on a fresh thread that has
//! entered the namespace (`setns(2)`), so a raw channel, UDP socket or
//! netlink socket created there lives in that namespace and can be returned
//! to the caller and used from any thread.

use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The prefix of every namespace this module creates.
pub const NAME_PREFIX: &str = "folab-";
/// Where iproute2 keeps named namespaces.
pub const NETNS_DIR: &str = "/run/netns";
/// Bound on any one `ip` command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Whether the process runs as root (namespaces, raw sockets and address
/// changes all need it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// For tests that need root: returns `true` (skip) and says so loudly on
/// stderr when not root, so a skipped lab test is never mistaken for a pass.
/// CI runs as root and runs them all.
pub fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    // Straight to the stderr handle, not eprintln!: the test harness
    // captures eprintln! output of passing tests, and a skip must be seen.
    let _ = writeln!(
        io::stderr().lock(),
        "\n********************************************************************\n\
         SKIPPED: {test}: needs root (network namespaces, raw sockets)\n\
         ********************************************************************"
    );
    true
}

/// Checks that `cidr` ("a.b.c.d/len", or a bare address meaning /32) lies in
/// one of the documentation ranges the tests may use, and returns it parsed.
pub fn check_documentation_cidr(cidr: &str) -> io::Result<(Ipv4Addr, u8)> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{cidr}: {why}"));
    let (addr, len) = match cidr.split_once('/') {
        Some((a, l)) => (
            a,
            l.parse::<u8>().map_err(|_| invalid("bad prefix length"))?,
        ),
        None => (cidr, 32),
    };
    let addr: Ipv4Addr = addr.parse().map_err(|_| invalid("bad IPv4 address"))?;
    if len > 32 {
        return Err(invalid("prefix length above 32"));
    }
    if !is_documentation_addr(addr) || len < 24 {
        return Err(invalid(
            "tests may only use 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24",
        ));
    }
    Ok((addr, len))
}

/// Whether `addr` is in 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24.
pub fn is_documentation_addr(addr: Ipv4Addr) -> bool {
    matches!(
        addr.octets(),
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _]
    )
}

/// Checks that `cidr` ("2001:db8::1/64", or a bare address meaning /128)
/// lies in the IPv6 documentation prefix 2001:db8::/32 (RFC 3849), the only
/// IPv6 addresses the tests may use, and returns it parsed.
pub fn check_documentation_cidr6(cidr: &str) -> io::Result<(Ipv6Addr, u8)> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{cidr}: {why}"));
    let (addr, len) = match cidr.split_once('/') {
        Some((a, l)) => (
            a,
            l.parse::<u8>().map_err(|_| invalid("bad prefix length"))?,
        ),
        None => (cidr, 128),
    };
    let addr: Ipv6Addr = addr.parse().map_err(|_| invalid("bad IPv6 address"))?;
    if len > 128 {
        return Err(invalid("prefix length above 128"));
    }
    if !is_documentation_addr6(addr) || len < 32 {
        return Err(invalid("tests may only use 2001:db8::/32"));
    }
    Ok((addr, len))
}

/// Whether `addr` is in 2001:db8::/32.
pub fn is_documentation_addr6(addr: Ipv6Addr) -> bool {
    addr.segments()[..2] == [0x2001, 0x0db8]
}

/// Polls `condition` every `step` until it holds or `timeout` passes;
/// returns whether it held. Bounded in time and in count.
pub fn wait_until(timeout: Duration, step: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let max_iterations = timeout.as_nanos() / step.as_nanos().max(1) + 2;
    for _ in 0..max_iterations.min(1_000_000) {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(step);
    }
    condition()
}

/// Runs a command to completion within `timeout`, killing it past that.
fn run_bounded(mut cmd: Command, timeout: Duration) -> io::Result<Output> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("{what}: {e}")))?;
    let deadline = Instant::now() + timeout;
    for _ in 0..100_000 {
        if child.try_wait()?.is_some() {
            return child.wait_with_output();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{what}: still running after {timeout:?}, killed"),
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what}: never finished"),
    ))
}

/// Runs `ip` with `args`, failing with its stderr if it fails.
fn ip(args: &[&str]) -> io::Result<String> {
    let mut cmd = Command::new("ip");
    cmd.args(args);
    let out = run_bounded(cmd, COMMAND_TIMEOUT)?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A named network namespace that exists for as long as this value does.
#[derive(Debug)]
pub struct Netns {
    name: String,
    children: Mutex<Vec<Child>>,
}

impl Netns {
    /// Creates a fresh namespace named `folab-<pid>-<n>-<role>` with its
    /// loopback up. `role` is for humans reading `ip netns` (letters, digits,
    /// dashes; at most 16).
    pub fn new(role: &str) -> io::Result<Netns> {
        if role.is_empty()
            || role.len() > 16
            || !role.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("namespace role {role:?}: 1-16 letters, digits or dashes"),
            ));
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{NAME_PREFIX}{}-{n}-{role}", std::process::id());
        ip(&["netns", "add", &name])?;
        // From here on Drop deletes it, also if the next step fails.
        let ns = Netns {
            name,
            children: Mutex::new(Vec::new()),
        };
        ns.ip(&["link", "set", "dev", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name (as `ip netns` shows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its bind mount, `/run/netns/<name>`.
    pub fn path(&self) -> PathBuf {
        Path::new(NETNS_DIR).join(&self.name)
    }

    /// Runs `ip -n <name> args...` and returns its standard output.
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Brings an interface up.
    pub fn link_up(&self, ifname: &str) -> io::Result<()> {
        self.ip(&["link", "set", "dev", ifname, "up"]).map(drop)
    }

    /// Takes an interface down (a pulled cable, seen from this side).
    pub fn link_down(&self, ifname: &str) -> io::Result<()> {
        self.ip(&["link", "set", "dev", ifname, "down"]).map(drop)
    }

    /// Adds a documentation-range address (`"198.51.100.1/24"`) to an
    /// interface; anything else is refused before `ip` runs.
    pub fn add_addr(&self, ifname: &str, cidr: &str) -> io::Result<()> {
        let (addr, len) = check_documentation_cidr(cidr)?;
        let cidr = format!("{addr}/{len}");
        self.ip(&["addr", "add", &cidr, "dev", ifname]).map(drop)
    }

    /// Adds a documentation-prefix IPv6 address (`"2001:db8::1/64"`) to an
    /// interface, without duplicate address detection (`nodad`: usable at
    /// once); anything outside 2001:db8::/32 is refused before `ip` runs.
    pub fn add_addr6(&self, ifname: &str, cidr: &str) -> io::Result<()> {
        let (addr, len) = check_documentation_cidr6(cidr)?;
        let cidr = format!("{addr}/{len}");
        self.ip(&["-6", "addr", "add", &cidr, "dev", ifname, "nodad"])
            .map(drop)
    }

    /// The interface's MAC address, as `ip` reports it.
    pub fn mac(&self, ifname: &str) -> io::Result<String> {
        let out = self.ip(&["-br", "link", "show", "dev", ifname])?;
        out.split_whitespace()
            .find(|w| w.len() == 17 && w.matches(':').count() == 5)
            .map(str::to_owned)
            .ok_or_else(|| io::Error::other(format!("no MAC for {ifname} in {out:?}")))
    }

    /// Sets a sysctl of this namespace (`"net.ipv6.conf.all.disable_ipv6"`,
    /// `"1"`): `/proc/sys/net` as seen from a thread inside it.
    pub fn sysctl(&self, key: &str, value: &str) -> io::Result<()> {
        if !key.starts_with("net.") || key.contains("..") || key.contains('/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{key}: only per-namespace net.* sysctls"),
            ));
        }
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let value = value.to_owned();
        self.run(move || std::fs::write(&path, value))?
    }

    /// Runs `f` on a new thread that has entered this namespace, and returns
    /// its result; a panic in `f` is propagated. Sockets created in `f`
    /// belong to this namespace for good, so this is how a test makes a raw
    /// channel or a UDP socket "on host A".
    pub fn run<T, F>(&self, f: F) -> io::Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let file = File::open(self.path())
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path().display())))?;
        std::thread::scope(|s| {
            let handle = s.spawn(move || -> io::Result<T> {
                setns(&file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
                drop(file);
                Ok(f())
            });
            match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Runs `f` on a new background thread that has entered this namespace
    /// and returns its handle: for lab observers and responders that run
    /// alongside the test. `f` must end on its own (bounded in time).
    pub fn spawn_thread<T, F>(&self, f: F) -> io::Result<std::thread::JoinHandle<io::Result<T>>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let file = File::open(self.path())
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path().display())))?;
        Ok(std::thread::spawn(move || -> io::Result<T> {
            setns(&file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            drop(file);
            Ok(f())
        }))
    }

    /// Starts `program args...` inside the namespace (through `ip netns
    /// exec`, which execs it, so the PID is the program's) and returns its
    /// PID. It is killed when this value is dropped. Standard input is
    /// closed; output goes to `stdout`/`stderr` as given.
    pub fn spawn(
        &self,
        program: &str,
        args: &[&str],
        stdout: Stdio,
        stderr: Stdio,
    ) -> io::Result<u32> {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()?;
        let pid = child.id();
        self.children
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(child);
        Ok(pid)
    }

    /// Sends `signal` to a process started with [`Netns::spawn`] (freeze
    /// with SIGSTOP, thaw with SIGCONT, kill...). Refuses other PIDs.
    pub fn signal(&self, pid: u32, signal: Signal) -> io::Result<()> {
        let children = self
            .children
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !children.iter().any(|c| c.id() == pid) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("pid {pid} was not started in {}", self.name),
            ));
        }
        let pid = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
        kill(Pid::from_raw(pid), signal).map_err(io::Error::from)
    }

    /// Kills (SIGKILL, by PID) and reaps every process started here; bounded.
    pub fn kill_all(&self) {
        let mut children = self
            .children
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for child in children.iter_mut() {
            // A stopped process dies of SIGKILL too.
            let _ = child.kill();
        }
        for mut child in children.drain(..) {
            let _ = wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
                matches!(child.try_wait(), Ok(Some(_)) | Err(_))
            });
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.kill_all();
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("netns: could not delete {}: {e}", self.name);
        }
    }
}

/// Creates a veth pair with one end `a_if` in `a` and the other `b_if` in
/// `b`, both up. (Created inside `a` with the peer placed straight into `b`:
/// the root namespace never sees it.)
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> io::Result<()> {
    a.ip(&[
        "link",
        "add",
        "name",
        a_if,
        "type",
        "veth",
        "peer",
        "name",
        b_if,
        "netns",
        b.name(),
    ])?;
    a.link_up(a_if)?;
    b.link_up(b_if)
}

/// A namespace holding bridges: the lab's Ethernet switch. Hosts are
/// connected to a bridge through veth pairs whose switch-side end is a
/// bridge port; taking that port down is pulling the host's cable.
#[derive(Debug)]
pub struct Switch {
    ns: Netns,
}

impl Switch {
    /// Creates the switch namespace (role `sw`).
    pub fn new() -> io::Result<Switch> {
        Ok(Switch {
            ns: Netns::new("sw")?,
        })
    }

    /// The switch's namespace (for captures and fault rules inside it).
    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    /// Adds a bridge: STP off and no forwarding delay, so ports forward
    /// the moment they are up; up.
    pub fn add_bridge(&self, name: &str) -> io::Result<()> {
        self.ns.ip(&[
            "link",
            "add",
            "name",
            name,
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ])?;
        self.ns.link_up(name)
    }

    /// Connects `host` to `bridge`: a veth pair with `port` in the switch
    /// (enslaved to the bridge) and `host_if` in the host, both up.
    pub fn connect(&self, bridge: &str, port: &str, host: &Netns, host_if: &str) -> io::Result<()> {
        veth(&self.ns, port, host, host_if)?;
        self.ns
            .ip(&["link", "set", "dev", port, "master", bridge])
            .map(drop)
    }

    /// Takes a switch port down (the host's cable on that network is pulled).
    pub fn port_down(&self, port: &str) -> io::Result<()> {
        self.ns.link_down(port)
    }

    /// Brings a switch port back up.
    pub fn port_up(&self, port: &str) -> io::Result<()> {
        self.ns.link_up(port)
    }
}

/// [`cleanup_stale`], saying on `out` how many namespaces it removed (if
/// any): the demo's and the benchmark's first step.
pub fn cleanup_stale_reporting(out: &mut impl std::io::Write) -> io::Result<()> {
    let stale = cleanup_stale()?;
    if stale > 0 {
        writeln!(
            out,
            "removed {stale} namespace(s) left by an earlier run that was killed"
        )?;
    }
    Ok(())
}

/// Deletes namespaces left behind by runs that died without cleaning up
/// (killed, Ctrl-C): every `folab-<pid>-...` whose `<pid>` is no longer a
/// running process. Returns how many were removed. Never touches other
/// namespaces or those of live runs.
pub fn cleanup_stale() -> io::Result<usize> {
    let entries = match std::fs::read_dir(NETNS_DIR) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries.take(10_000) {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let Some(pid) = stale_owner(&name) else {
            continue;
        };
        if Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        ip(&["netns", "del", &name])?;
        removed += 1;
    }
    Ok(removed)
}

/// The PID in a name of ours, `folab-<pid>-<n>-<role>`.
fn stale_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documentation_ranges_only() {
        assert!(check_documentation_cidr("192.0.2.1/24").is_ok());
        assert!(check_documentation_cidr("198.51.100.7").is_ok());
        assert_eq!(
            check_documentation_cidr("203.0.113.9/32").unwrap(),
            (Ipv4Addr::new(203, 0, 113, 9), 32)
        );
        for bad in [
            "10.0.0.1/24",
            "192.168.1.1/24",
            "192.0.3.1/24",
            "192.0.2.1/16",
            "192.0.2.1/33",
            "x/24",
            "192.0.2.1/x",
        ] {
            assert!(check_documentation_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stale_names() {
        assert_eq!(stale_owner("folab-1234-0-a"), Some(1234));
        assert_eq!(stale_owner("folab-x-0-a"), None);
        assert_eq!(stale_owner("other-1234-0-a"), None);
    }

    #[test]
    fn wait_until_is_bounded() {
        let start = Instant::now();
        assert!(!wait_until(
            Duration::from_millis(50),
            Duration::from_millis(5),
            || false
        ));
        assert!(start.elapsed() < Duration::from_secs(2));
        let mut n = 0;
        assert!(wait_until(
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                n += 1;
                n == 3
            }
        ));
    }

    #[test]
    fn namespace_lifecycle() {
        if skip_unless_root("netns::namespace_lifecycle") {
            return;
        }
        let a = Netns::new("a").unwrap();
        let b = Netns::new("b").unwrap();
        assert_ne!(a.name(), b.name());
        assert!(a.path().exists());
        veth(&a, "va", &b, "vb").unwrap();
        a.add_addr("va", "203.0.113.1/24").unwrap();
        assert!(a.add_addr("va", "10.1.2.3/24").is_err());
        assert_eq!(a.mac("va").unwrap().len(), 17);
        // A thread inside `a` sees va (/proc/thread-self: /proc/net would
        // show the main thread's namespace).
        let seen = a
            .run(|| std::fs::read_to_string("/proc/thread-self/net/dev").unwrap())
            .unwrap();
        assert!(seen.contains("va:"));
        let root_before = std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6");
        a.sysctl("net.ipv6.conf.all.disable_ipv6", "1").unwrap();
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            a.name(),
            "cat",
            "/proc/sys/net/ipv6/conf/all/disable_ipv6",
        ]);
        let inside = run_bounded(cmd, COMMAND_TIMEOUT).unwrap();
        assert_eq!(String::from_utf8_lossy(&inside.stdout).trim(), "1");
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6").ok(),
            root_before.ok(),
            "the root namespace's sysctl must not change"
        );
        let pid = a
            .spawn("sleep", &["30"], Stdio::null(), Stdio::null())
            .unwrap();
        assert!(Path::new("/proc").join(pid.to_string()).exists());
        a.signal(pid, Signal::SIGSTOP).unwrap();
        assert!(a.signal(1, Signal::SIGCONT).is_err());
        let path = a.path();
        drop(a);
        assert!(!path.exists());
        assert!(wait_until(
            Duration::from_secs(2),
            Duration::from_millis(5),
            || {
                !Path::new("/proc").join(pid.to_string()).exists()
                    || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .map(|s| s.contains(") Z "))
                        .unwrap_or(true)
            }
        ));
        // b's end of the pair goes with a's: the kernel tears the namespace
        // down asynchronously, later on a busy machine.
        assert!(
            wait_until(Duration::from_secs(10), Duration::from_millis(10), || b
                .ip(&["link", "show", "dev", "vb"])
                .is_err()),
            "vb outlived a's namespace by 10 s"
        );
    }

    #[test]
    fn switch_bridges_hosts_and_ports_fail() {
        if skip_unless_root("netns::switch_bridges_hosts_and_ports_fail") {
            return;
        }
        use std::net::UdpSocket;
        let sw = Switch::new().unwrap();
        sw.add_bridge("br-pub").unwrap();
        let h1 = Netns::new("h1").unwrap();
        let h2 = Netns::new("h2").unwrap();
        sw.connect("br-pub", "p-h1", &h1, "eth0").unwrap();
        sw.connect("br-pub", "p-h2", &h2, "eth0").unwrap();
        h1.add_addr("eth0", "192.0.2.1/24").unwrap();
        h2.add_addr("eth0", "192.0.2.2/24").unwrap();
        let sock = |ns: &Netns, ip: &str| {
            let ip = ip.to_owned();
            ns.run(move || {
                let s = UdpSocket::bind((ip.as_str(), 4000)).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                s
            })
            .unwrap()
        };
        let s1 = sock(&h1, "192.0.2.1");
        let s2 = sock(&h2, "192.0.2.2");
        // Through the bridge (bounded retries while ports settle).
        let exchange = || {
            (0..15).any(|_| {
                let _ = s1.send_to(b"ping", "192.0.2.2:4000");
                let mut buf = [0u8; 8];
                matches!(s2.recv_from(&mut buf), Ok((4, _)))
            })
        };
        assert!(exchange(), "no traffic across the bridge");
        sw.port_down("p-h2").unwrap();
        let mut buf = [0u8; 8];
        while s2.recv_from(&mut buf).is_ok() {}
        let _ = s1.send_to(b"ping", "192.0.2.2:4000");
        assert!(
            s2.recv_from(&mut buf).is_err(),
            "traffic with the port down"
        );
        sw.port_up("p-h2").unwrap();
        assert!(exchange(), "no traffic after the port came back");
    }

    #[test]
    fn cleanup_on_panic() {
        if skip_unless_root("netns::cleanup_on_panic") {
            return;
        }
        let path = std::sync::Arc::new(Mutex::new(PathBuf::new()));
        let p2 = path.clone();
        let r = std::panic::catch_unwind(move || {
            let ns = Netns::new("panics").unwrap();
            *p2.lock().unwrap() = ns.path();
            ns.run(|| panic!("inside the namespace")).unwrap();
        });
        assert!(r.is_err());
        let path = path.lock().unwrap().clone();
        assert!(path.starts_with(NETNS_DIR));
        assert!(!path.exists(), "{} left behind", path.display());
    }
}
