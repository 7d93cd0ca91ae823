//! The real `heartbeatd` and `failoverd` binaries in the lab network
//! (network namespaces joined by a bridge "switch", documentation addresses
//! only), replaying the 2005 walk-through's test procedure: pull the primary's private
//! cable (an anomaly notice only), pull its public one too (the secondary
//! takes over and the client reaches it), plug both back (the secondary
//! releases and the primary has the address again, never both at once).
//! Scripts, the notification mail, a vetoing Test script, SIGTERM, the
//! status command and the restart clean-up are checked on the way.
//!
//! They need root. Without it each test prints a loud "SKIPPED: needs root"
//! and returns; CI runs as root and runs them all.

mod support;

use std::fs::{self, File};
use std::net::{Ipv4Addr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use failover_host::net::channel::{Channel, ChannelConfig, RxFilter};
use failover_host::net::Senders;
use failover_lab::netns::{skip_unless_root, wait_until, Netns};
use failover_lab::topology::{
    Net, Server, Topology, CLIENT_IP, PRIVATE_BROADCAST, PUBLIC_BROADCAST, PUBLIC_IF, SERVICE,
};
use nix::sys::signal::Signal;
use support::promtool;

/// Heartbeat interval of the test daemons: fast, so the tests are short,
/// but slow enough for a loaded CI machine.
const INTERVAL_MS: &str = "50";
/// failoverd's dead time: three intervals, fixed (below 1 s intervals the
/// default is adaptive, which needs seconds after a start to trust the
/// network; these tests time their steps against a known dead time).
const DEADTIME_MS: &str = "150";
/// Generous bound on anything that must happen (a takeover, a release).
const WAIT: Duration = Duration::from_secs(10);
/// How long "nothing happens" is watched for.
const QUIET: Duration = Duration::from_millis(1500);
const STEP: Duration = Duration::from_millis(5);

/// A daemon started in a namespace, with its files.
struct Daemon {
    pid: u32,
    log: PathBuf,
    pid_file: PathBuf,
    binary: &'static str,
    /// The namespace it runs in: `--status` is asked there (from any
    /// other, it refuses).
    ns: String,
}

impl Daemon {
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn logged(&self, needle: &str) -> bool {
        self.log().contains(needle)
    }

    fn wait_logged(&self, needle: &str) {
        assert!(
            wait_until(WAIT, STEP, || self.logged(needle)),
            "{} never logged {needle:?}; its log:\n{}",
            self.binary,
            self.log()
        );
    }

    /// `--status` with `extra` options, asked in the daemon's namespace:
    /// its exit status, standard output and standard error.
    fn ask(&self, extra: &[&str]) -> (i32, String, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, self.binary, "--status"])
            .args(extra)
            .arg("--pid-file")
            .arg(&self.pid_file)
            .output()
            .expect("run --status");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn status(&self) -> (i32, String) {
        let (code, out, err) = self.ask(&[]);
        (code, out + &err)
    }

    /// `--status --json`, parsed; the test fails on anything else.
    fn status_json(&self) -> serde_json::Value {
        let (code, out, err) = self.ask(&["--json"]);
        assert_eq!(code, 0, "{}: {out}{err}", self.binary);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

/// The test's files: scripts, logs, pid files, the fake sendmail.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let f = Files { dir };
        // An empty configuration file: the command line says it all.
        fs::write(f.path("failover.conf"), "").unwrap();
        // A sendmail that keeps what it is given, with its arguments.
        f.script(
            &f.path("sendmail"),
            &format!(
                "echo \"ARGS: $*\" >> {mail}\ncat >> {mail}\necho ---- >> {mail}\n",
                mail = f.path("mail.txt").display()
            ),
        );
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn script(&self, path: &Path, body: &str) {
        fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Every stage's script for the service address records its name and
    /// arguments; `Test` exits with `test_status`.
    fn stage_scripts(&self, test_status: u8) {
        let dir = self.path("scripts").join(SERVICE.to_string());
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(self.path("scripts"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let record = self.path("stages.txt");
        for stage in ["Test", "PreAcq", "PostAcq", "PreRel", "PostRel"] {
            let exit = if stage == "Test" { test_status } else { 0 };
            self.script(
                &dir.join(format!("{stage}_record")),
                &format!(
                    "echo \"{stage} $* $FAILOVER_STAGE\" >> {}\nexit {exit}\n",
                    record.display()
                ),
            );
        }
        // Skipped, with a warning: not executable, and an editor leftover.
        fs::write(dir.join("PreAcq_disabled_by_mode"), "#!/bin/sh\nexit 1\n").unwrap();
        self.script(&dir.join("PreAcq_old~"), "exit 1\n");
    }

    fn stages(&self) -> Vec<String> {
        fs::read_to_string(self.path("stages.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn mail(&self) -> String {
        fs::read_to_string(self.path("mail.txt")).unwrap_or_default()
    }
}

fn spawn(ns: &Netns, files: &Files, binary: &'static str, name: &str, args: &[&str]) -> Daemon {
    spawn_with(ns, files, &[], INTERVAL_MS, binary, name, args)
}

/// [`spawn`] with `env` (`NAME=value` words) added to the daemon's
/// environment and a heartbeat interval of `interval_ms`. The environment
/// goes through `env(1)`, which execs the daemon: the PID stays the one
/// [`Netns::spawn`] returns.
fn spawn_with(
    ns: &Netns,
    files: &Files,
    env: &[String],
    interval_ms: &str,
    binary: &'static str,
    name: &str,
    args: &[&str],
) -> Daemon {
    let log = files.path(&format!("{name}.log"));
    let pid_file = files.path(&format!("{name}.pid"));
    let mut all: Vec<String> = env.to_vec();
    if !env.is_empty() {
        all.push(binary.to_owned());
    }
    all.extend([
        "-d".into(),
        "--interval".into(),
        interval_ms.into(),
        "--pid-file".into(),
        pid_file.display().to_string(),
        "--state-dir".into(),
        files.path("state").display().to_string(),
        "--config".into(),
        files.path("failover.conf").display().to_string(),
        "--sendmail".into(),
        files.path("sendmail").display().to_string(),
        "--spool-dir".into(),
        files.path("spool").display().to_string(),
    ]);
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let program = if env.is_empty() { binary } else { "env" };
    let pid = ns
        .spawn(program, &all, Stdio::from(out), Stdio::from(err))
        .expect("spawn daemon");
    let d = Daemon {
        pid,
        log,
        pid_file,
        binary,
        ns: ns.name().to_owned(),
    };
    d.wait_logged("started");
    d
}

fn heartbeatd(t: &Topology, files: &Files) -> Daemon {
    heartbeatd_with(t, files, &[])
}

/// [`heartbeatd`] with `extra` options.
fn heartbeatd_with(t: &Topology, files: &Files, extra: &[&str]) -> Daemon {
    let service = format!("{PUBLIC_IF}:{SERVICE}/32");
    let (private, public) = (PRIVATE_BROADCAST.to_string(), PUBLIC_BROADCAST.to_string());
    let mut args = vec!["--service", &service];
    args.extend_from_slice(extra);
    args.extend([private.as_str(), public.as_str()]);
    spawn(
        &t.primary.ns,
        files,
        env!("CARGO_BIN_EXE_heartbeatd"),
        "heartbeatd",
        &args,
    )
}

fn failoverd(t: &Topology, files: &Files) -> Daemon {
    failoverd_with(t, files, &[])
}

/// [`failoverd`] with `extra` options.
fn failoverd_with(t: &Topology, files: &Files, extra: &[&str]) -> Daemon {
    let pair = format!("{PUBLIC_IF}:{SERVICE}");
    // A named scripts directory must exist (-n and the start check it),
    // even with no scripts in it.
    fs::create_dir_all(files.path("scripts")).unwrap();
    fs::set_permissions(files.path("scripts"), fs::Permissions::from_mode(0o755)).unwrap();
    let scripts = files.path("scripts").display().to_string();
    let master = t.primary.private_ip.to_string();
    let mut args = vec![
        "--deadtime",
        DEADTIME_MS,
        "--scripts-dir",
        &scripts,
        "--script-timeout",
        "5",
    ];
    args.extend_from_slice(extra);
    args.extend([master.as_str(), pair.as_str()]);
    spawn(
        &t.secondary.ns,
        files,
        env!("CARGO_BIN_EXE_failoverd"),
        "failoverd",
        &args,
    )
}

fn holds(s: &Server) -> bool {
    s.holds(SERVICE).expect("read addresses")
}

/// Waits until exactly `owner` holds the service address, checking at every
/// step that the two servers never hold it at once.
fn wait_owner(t: &Topology, owner: &Server) {
    let other = if owner.name == t.primary.name {
        &t.secondary
    } else {
        &t.primary
    };
    let mut both = 0;
    let ok = wait_until(WAIT, STEP, || {
        let (a, b) = (holds(owner), holds(other));
        if a && b {
            both += 1;
        }
        a && !b
    });
    assert!(
        ok,
        "{} never became the only holder of {SERVICE}",
        owner.name
    );
    assert_eq!(both, 0, "both servers held {SERVICE} at once");
}

/// Who answers ARP for the service address on the public network, seen
/// from the client, and whether a datagram to it reaches a host (the host's
/// ICMP port-unreachable comes back as ECONNREFUSED).
fn probe(t: &Topology) -> (Option<String>, bool) {
    t.client
        .run(|| {
            let mut ch = Channel::open(
                PUBLIC_IF,
                &ChannelConfig {
                    filter: RxFilter::Udp {
                        port: 9,
                        arp: true,
                        senders: Senders::Any,
                    },
                    ..ChannelConfig::heartbeat(9)
                },
            )
            .expect("client channel");
            let mac = ch
                .resolve_mac(CLIENT_IP, SERVICE, Duration::from_millis(600))
                .expect("arp")
                .map(|m| m.to_string());
            let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
            sock.connect((SERVICE, 9)).unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut reached = false;
            for _ in 0..5 {
                let _ = sock.send(b"probe");
                let mut buf = [0u8; 16];
                if let Err(e) = sock.recv(&mut buf) {
                    if e.kind() == std::io::ErrorKind::ConnectionRefused {
                        reached = true;
                        break;
                    }
                }
            }
            (mac, reached)
        })
        .expect("run in client namespace")
}

fn wait_answered_by(t: &Topology, server: &Server) {
    let mac = server.public_mac().unwrap();
    let mut last = (None, false);
    let ok = wait_until(WAIT, Duration::from_millis(50), || {
        last = probe(t);
        last.0.as_deref() == Some(mac.as_str()) && last.1
    });
    assert!(
        ok,
        "the client is not served by {} ({mac}): last probe {last:?}",
        server.name
    );
}

/// The start of every test here: `None` (skipped, said loudly) unless
/// root; else the lab network and the test's files, with every stage's
/// script when `test_status` is given (see [`Files::stage_scripts`]).
fn lab(test: &str, test_status: Option<u8>) -> Option<(Topology, Files)> {
    if skip_unless_root(test) {
        return None;
    }
    let t = Topology::new().expect("lab network");
    let files = Files::new();
    if let Some(status) = test_status {
        files.stage_scripts(status);
    }
    Some((t, files))
}

/// Starts both daemons and waits until the primary alone holds the address
/// and failoverd monitors it.
fn steady(t: &Topology, files: &Files) -> (Daemon, Daemon) {
    let hb = heartbeatd(t, files);
    let fo = failoverd(t, files);
    wait_owner(t, &t.primary);
    fo.wait_logged("monitoring");
    (hb, fo)
}

/// Waits until the secondary holds the service address, failing with
/// `fo`'s log.
fn wait_secondary_holds(t: &Topology, fo: &Daemon) {
    assert!(
        wait_until(WAIT, STEP, || holds(&t.secondary)),
        "{}",
        fo.log()
    );
}

/// Waits until `d`'s `--status` exits with `code`; its exit code and
/// output.
fn wait_status(d: &Daemon, code: i32) -> (i32, String) {
    let mut last = (0, String::new());
    assert!(
        wait_until(WAIT, Duration::from_millis(20), || {
            last = d.status();
            last.0 == code
        }),
        "{last:?}"
    );
    last
}

/// `failoverd` run in the secondary's namespace with the test's
/// configuration file and state directory, `first` before them.
fn failoverd_command(t: &Topology, files: &Files, first: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        t.secondary.ns.name(),
        env!("CARGO_BIN_EXE_failoverd"),
    ])
    .args(first)
    .arg("--config")
    .arg(files.path("failover.conf"))
    .arg("--state-dir")
    .arg(files.path("state"))
    .arg("--spool-dir")
    .arg(files.path("spool"));
    c
}

/// The pid a pid file names, if any.
fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

/// Whether `pid` is a running `failoverd`.
fn is_failoverd(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "failoverd")
}

#[test]
fn seed_000_procedure_with_scripts_and_mail() {
    let Some((t, files)) = lab("seed_000_procedure_with_scripts_and_mail", Some(0)) else {
        return;
    };
    let (hb, fo) = steady(&t, &files);
    wait_answered_by(&t, &t.primary);

    // The status command shows both sides.
    let (code, text) = fo.status();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("role: secondary"), "{text}");
    assert!(text.contains("primary 198.51.100.1: alive"), "{text}");
    assert!(text.contains("link 1 public (pub0): heard"), "{text}");
    let (code, text) = hb.status();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("192.0.2.10/32 on pub0: on this host"),
        "{text}"
    );

    // 1. The private cable: a network anomaly, nothing else.
    t.unplug(&t.primary, Net::Private).unwrap();
    fo.wait_logged("network anomaly");
    std::thread::sleep(QUIET);
    assert!(holds(&t.primary) && !holds(&t.secondary));
    assert!(files.stages().is_empty(), "{:?}", files.stages());
    assert!(!fo.logged("took over"), "{}", fo.log());

    // 2. The public cable too: the secondary takes over.
    t.unplug(&t.primary, Net::Public).unwrap();
    wait_secondary_holds(&t, &fo);
    wait_answered_by(&t, &t.secondary);
    fo.wait_logged("took over 192.0.2.10");
    assert_eq!(
        files.stages(),
        [
            "Test acquire 192.0.2.10 Test",
            "PreAcq acquire 192.0.2.10 PreAcq",
            "PostAcq acquire 192.0.2.10 PostAcq"
        ]
    );
    assert!(fo.logged("PreAcq_disabled_by_mode"), "{}", fo.log());
    assert!(wait_until(WAIT, STEP, || files
        .mail()
        .contains("took over")));
    let mail = files.mail();
    assert!(mail.contains("ARGS: -t -i"), "{mail}");
    assert!(mail.contains("Subject: "), "{mail}");
    assert!(mail.contains("network anomaly"), "{mail}");

    // 3. Both cables back: the secondary releases, the primary takes the
    // address back, never both at once.
    t.plug_both(&t.primary).unwrap();
    wait_owner(&t, &t.primary);
    wait_answered_by(&t, &t.primary);
    fo.wait_logged("gave 192.0.2.10 back");
    let stages = files.stages();
    assert_eq!(
        stages.get(3..).unwrap_or_default(),
        [
            "PreRel release 192.0.2.10 PreRel",
            "PostRel release 192.0.2.10 PostRel"
        ]
    );
    drop(hb);
}

/// How long a metrics file may take to show a state: the first write is
/// at the start, the next ones every `metrics::PERIOD` (5 s).
const METRICS_WAIT: Duration = Duration::from_secs(20);

/// The value of the sample whose line starts with `series` (name and
/// labels as written) in the metrics file `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `--status --json` and the metrics files of a running pair, each asked
/// in its daemon's namespace; then `--status` asked the wrong ways, from
/// another namespace and as a user other than root, refused without a
/// signal; and the metrics files gone once the daemons stop.
#[test]
fn status_json_and_metrics_show_the_running_pair() {
    let Some((t, files)) = lab("status_json_and_metrics_show_the_running_pair", None) else {
        return;
    };
    let metrics_dir = files.path("metrics");
    fs::create_dir(&metrics_dir).unwrap();
    fs::set_permissions(&metrics_dir, fs::Permissions::from_mode(0o755)).unwrap();
    let hb_prom = metrics_dir.join("heartbeatd.prom");
    let fo_prom = metrics_dir.join("failoverd.prom");
    let hb = heartbeatd_with(&t, &files, &["--metrics-file", hb_prom.to_str().unwrap()]);
    let fo = failoverd_with(&t, &files, &["--metrics-file", fo_prom.to_str().unwrap()]);
    wait_owner(&t, &t.primary);
    fo.wait_logged("monitoring");

    // The JSON, once each side hears the other on both links.
    let heard_everywhere = |v: &serde_json::Value| {
        v["links"]
            .as_array()
            .is_some_and(|l| l.len() == 2 && l.iter().all(|l| l["alive"] == true))
    };
    let mut last = (serde_json::Value::Null, serde_json::Value::Null);
    assert!(
        wait_until(WAIT, Duration::from_millis(50), || {
            last = (hb.status_json(), fo.status_json());
            heard_everywhere(&last.0)
                && heard_everywhere(&last.1)
                && last.0["addresses"][0]["held"] == true
        }),
        "{last:#?}"
    );
    let (h, f) = last;
    for (v, program, role, pid) in [
        (&h, "heartbeatd", "primary", hb.pid),
        (&f, "failoverd", "secondary", fo.pid),
    ] {
        assert_eq!(v["schema"], 1, "{v:#}");
        assert_eq!(v["program"], program, "{v:#}");
        assert_eq!(v["role"], role, "{v:#}");
        assert_eq!(v["pid"], pid, "{v:#}");
        assert_eq!(v["peer"]["state"], "alive", "{v:#}");
        assert!(
            v["phase"]["since"]
                .as_str()
                .is_some_and(|s| s.ends_with('Z')),
            "{v:#}"
        );
        assert!(
            v["phase"]["for_s"].as_f64().is_some_and(|s| s >= 0.0),
            "{v:#}"
        );
        assert!(
            v["frames"]["accepted"].as_u64().is_some_and(|n| n > 0),
            "{v:#}"
        );
        assert!(v["mail_spool_depth"].is_u64(), "{v:#}");
        assert!(v["witness"].is_null(), "{v:#}");
        for (i, (name, interface)) in [("private", "priv0"), ("public", "pub0")]
            .iter()
            .enumerate()
        {
            let l = &v["links"][i];
            assert_eq!(l["index"], i, "{v:#}");
            assert_eq!(l["name"], *name, "{v:#}");
            assert_eq!(l["interface"], *interface, "{v:#}");
            assert!(
                l["heard_ms_ago"]
                    .as_f64()
                    .is_some_and(|ms| (0.0..2000.0).contains(&ms)),
                "{v:#}"
            );
            assert!(
                l["loss"].as_f64().is_some_and(|r| (0.0..=1.0).contains(&r)),
                "{v:#}"
            );
            assert!(
                l["dead_time_ms"].as_f64().is_some_and(|ms| ms > 0.0),
                "{v:#}"
            );
            assert_eq!(l["carrier"], true, "{v:#}");
        }
        let a = &v["addresses"][0];
        assert_eq!(a["address"], "192.0.2.10", "{v:#}");
        assert_eq!(a["prefix_len"], 32, "{v:#}");
        assert_eq!(a["interface"], "pub0", "{v:#}");
    }
    assert_eq!(h["phase"]["name"], "holding", "{h:#}");
    assert_eq!(h["peer"]["role"], "secondary", "{h:#}");
    assert!(h["peer"]["address"].is_null(), "no --peer: {h:#}");
    assert!(
        h["transitions"]["acquire"].as_u64().is_some_and(|n| n >= 1),
        "{h:#}"
    );
    // A stall on a loaded machine may add a release and a reacquire: the
    // last change of hands is still an acquire, as the address is held.
    assert_eq!(h["last_transition"]["kind"], "acquire", "{h:#}");
    assert_eq!(h["last_transition"]["event"], "Acquired", "{h:#}");
    assert!(
        h["last_transition"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("192.0.2.10")),
        "{h:#}"
    );
    assert_eq!(f["phase"]["name"], "monitoring", "{f:#}");
    assert_eq!(f["peer"]["address"], "198.51.100.1", "{f:#}");
    assert_eq!(f["addresses"][0]["held"], false, "{f:#}");
    assert_eq!(
        f["transitions"],
        serde_json::json!({"takeover": 0, "failback": 0}),
        "{f:#}"
    );
    assert!(f["last_transition"].is_null(), "{f:#}");
    // The text still reads as before, from the same state.
    let (code, text) = fo.status();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("role: secondary; state: monitoring"),
        "{text}"
    );
    assert!(text.contains("frames received: "), "{text}");

    // The metrics files show the same pair.
    let labels = |p: &str, l: &str| {
        format!(
            "{{program=\"{p}\",link=\"{l}\",name=\"{}\",interface=\"{}\"}}",
            if l == "0" { "private" } else { "public" },
            if l == "0" { "priv0" } else { "pub0" }
        )
    };
    let address = |p: &str| {
        format!(
            "failover_address_held{{program=\"{p}\",address=\"192.0.2.10\",prefix=\"32\",\
             interface=\"pub0\"}}"
        )
    };
    let mut texts = (String::new(), String::new());
    let ok = wait_until(METRICS_WAIT, Duration::from_millis(100), || {
        texts = (
            fs::read_to_string(&hb_prom).unwrap_or_default(),
            fs::read_to_string(&fo_prom).unwrap_or_default(),
        );
        let (h, f) = (&texts.0, &texts.1);
        h.contains("role=\"primary\",phase=\"holding\"} 1\n")
            && f.contains("role=\"secondary\",phase=\"monitoring\"} 1\n")
            && sample(h, &address("heartbeatd")) == Some(1.0)
            && sample(f, &address("failoverd")) == Some(0.0)
            // Written after each had heard the other: the first file of a
            // daemon may be from its first turn, before any frame.
            && ["heartbeatd", "failoverd"].iter().zip([h, f]).all(|(p, text)| {
                sample(text, &format!("failover_peer_up{{program=\"{p}\"}}")) == Some(1.0)
            })
            && ["0", "1"].iter().all(|l| {
                sample(h, &format!("failover_link_up{}", labels("heartbeatd", l))) == Some(1.0)
                    && sample(f, &format!("failover_link_up{}", labels("failoverd", l)))
                        == Some(1.0)
            })
    });
    assert!(ok, "heartbeatd's:\n{}\nfailoverd's:\n{}", texts.0, texts.1);
    let (ht, ft) = texts;
    for (text, p) in [(&ht, "heartbeatd"), (&ft, "failoverd")] {
        assert_eq!(
            sample(text, &format!("failover_peer_up{{program=\"{p}\"}}")),
            Some(1.0),
            "{text}"
        );
        assert!(
            sample(
                text,
                &format!("failover_frames_total{{program=\"{p}\",result=\"accepted\"}}")
            )
            .is_some_and(|n| n > 0.0),
            "{text}"
        );
        assert!(
            sample(
                text,
                &format!("failover_link_last_heard_seconds{}", labels(p, "1"))
            )
            .is_some_and(|s| s < 2.0),
            "{text}"
        );
        assert_eq!(
            sample(text, &format!("failover_link_carrier{}", labels(p, "0"))),
            Some(1.0),
            "{text}"
        );
        assert!(
            sample(
                text,
                &format!("failover_start_time_seconds{{program=\"{p}\"}}")
            )
            .is_some_and(|s| s > 1.6e9),
            "{text}"
        );
        assert!(
            text.contains("# TYPE failover_frames_total counter\n"),
            "{text}"
        );
    }
    assert!(
        sample(
            &ht,
            "failover_transitions_total{program=\"heartbeatd\",kind=\"acquire\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{ht}"
    );
    assert_eq!(
        sample(
            &ft,
            "failover_transitions_total{program=\"failoverd\",kind=\"takeover\"}"
        ),
        Some(0.0),
        "{ft}"
    );
    match promtool() {
        Some(tool) => {
            for path in [&hb_prom, &fo_prom] {
                let out = Command::new(&tool)
                    .args(["check", "metrics"])
                    .stdin(File::open(path).unwrap())
                    .output()
                    .expect("run promtool");
                let quiet = out.stdout.is_empty() && out.stderr.is_empty();
                assert!(
                    out.status.success() && quiet,
                    "promtool on {}: {out:?}",
                    path.display()
                );
            }
        }
        None => eprintln!(
            "SKIPPED (in status_json_and_metrics_show_the_running_pair): promtool check \
             metrics (no promtool; see tests/metrics_promtool.rs)"
        ),
    }

    // From the test's own network namespace: refused, nothing signalled.
    let status_file = hb.pid_file.with_extension("status");
    let _ = fs::remove_file(&status_file);
    let out = Command::new(hb.binary)
        .arg("--status")
        .arg("--pid-file")
        .arg(&hb.pid_file)
        .output()
        .expect("run --status");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(&format!(
            "heartbeatd: the heartbeatd of pid {} runs in another network namespace ({ns}); run \
             --status there (ip netns exec {ns} heartbeatd --status --pid-file {})",
            hb.pid,
            hb.pid_file.display(),
            ns = hb.ns
        )),
        "{err}"
    );
    // As another user: refused before anything else, nothing signalled.
    for (json, file) in [
        (false, "heartbeatd.status"),
        (true, "heartbeatd.status.json"),
    ] {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "nobody", "--", hb.binary, "--status", "--pid-file"])
            .arg(&hb.pid_file);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().expect("run runuser");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{err}");
        assert_eq!(
            err.trim_end(),
            format!(
                "heartbeatd: --status needs root (it signals the daemon and reads {})",
                files.path(file).display()
            ),
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !status_file.exists(),
        "heartbeatd was signalled from outside its namespace"
    );

    // Stopped, each daemon takes its metrics file with it.
    t.secondary.ns.signal(fo.pid, Signal::SIGTERM).unwrap();
    fo.wait_logged("failoverd stopped");
    assert!(!fo_prom.exists(), "{}", fo.log());
    t.primary.ns.signal(hb.pid, Signal::SIGTERM).unwrap();
    hb.wait_logged("heartbeatd stopped");
    assert!(!hb_prom.exists(), "{}", hb.log());
}

#[test]
fn failing_test_script_blocks_the_takeover() {
    let Some((t, files)) = lab("failing_test_script_blocks_the_takeover", Some(3)) else {
        return;
    };
    let (_hb, fo) = steady(&t, &files);

    t.unplug_both(&t.primary).unwrap();
    fo.wait_logged("vetoed");
    std::thread::sleep(QUIET);
    assert!(!holds(&t.secondary), "{}", fo.log());
    let stages = files.stages();
    assert!(
        stages.iter().all(|s| s.starts_with("Test ")),
        "only Test may run: {stages:?}"
    );
    assert!(
        wait_until(WAIT, STEP, || files.mail().contains("veto")),
        "{}",
        files.mail()
    );
    assert!(fo.logged("exited with status 3"), "{}", fo.log());
}

#[test]
fn sigterm_releases_and_a_restart_cleans_up() {
    let Some((t, files)) = lab("sigterm_releases_and_a_restart_cleans_up", Some(0)) else {
        return;
    };
    // No primary at all: the secondary takes over after the dead time.
    let fo = failoverd(&t, &files);
    wait_secondary_holds(&t, &fo);
    fo.wait_logged("took over");

    // SIGHUP: a heartbeat round at once, and a reload. A configuration
    // with a problem is refused and the daemon goes on as it was; a sound
    // one is applied.
    fs::write(
        files.path("failover.conf"),
        "FAILOVER_EMAIL_RECIPIENT=\"Ops <ops@example.org>\"\n",
    )
    .unwrap();
    t.secondary.ns.signal(fo.pid, Signal::SIGHUP).unwrap();
    fo.wait_logged("reload refused: Invalid email recipient");
    fo.wait_logged("still running with the previous configuration");
    assert!(holds(&t.secondary));
    fs::write(
        files.path("failover.conf"),
        "FAILOVER_EMAIL_RECIPIENT=ops\n",
    )
    .unwrap();
    t.secondary.ns.signal(fo.pid, Signal::SIGHUP).unwrap();
    fo.wait_logged("configuration reloaded");
    assert!(fo.logged("SIGHUP: sent a heartbeat round at once"));

    // SIGTERM: PreRel, remove, PostRel, exit 0.
    t.secondary.ns.signal(fo.pid, Signal::SIGTERM).unwrap();
    fo.wait_logged("failoverd stopped");
    assert!(!holds(&t.secondary));
    assert!(files.stages().ends_with(&[
        "PreRel release 192.0.2.10 PreRel".to_owned(),
        "PostRel release 192.0.2.10 PostRel".to_owned()
    ]));
    // Once it has exited, --status says so (exit 3).
    let last = wait_status(&fo, 3);
    assert!(last.1.contains("not running"), "{last:?}");

    // A crash while holding leaves the address; the next start removes it
    // (and only it: the server's own address stays).
    let fo = failoverd(&t, &files);
    wait_secondary_holds(&t, &fo);
    t.secondary.ns.signal(fo.pid, Signal::SIGKILL).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(holds(&t.secondary), "a killed daemon cannot clean up");
    let fo = failoverd(&t, &files);
    assert!(fo.logged("left by a previous run"), "{}", fo.log());
    assert!(!holds(&t.secondary));
    let _hb = heartbeatd(&t, &files);
    wait_owner(&t, &t.primary);
    assert!(t
        .secondary
        .holds(t.secondary.public_ip)
        .expect("read addresses"));
}

#[test]
fn no_run_reports_every_problem_and_exits_78() {
    let Some((t, files)) = lab("no_run_reports_every_problem_and_exits_78", None) else {
        return;
    };
    let run = |args: &[&str]| {
        let out = failoverd_command(&t, &files, &["-n"])
            .args(args)
            .output()
            .expect("run failoverd -n");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    // Sound: exit 0 and a summary of what it would do.
    let (code, text) = run(&["198.51.100.1", "pub0:192.0.2.10"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("configuration OK"), "{text}");
    assert!(text.contains("link 1 on pub0"), "{text}");
    // Apple compatibility: which source counts on which network.
    let (code, text) = run(&["--apple-compat", "198.51.100.1", "pub0:192.0.2.10"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(
            "Apple compatibility: the primary is a Mac OS X Server heartbeatd; any datagram to \
             port 1694 counts as its heartbeat (link 0 from 198.51.100.1, link 1 from \
             198.51.100.1 or 192.0.2.10)"
        ),
        "{text}"
    );
    // The mail spool directory (--spool-dir) is checked, not created.
    assert!(!files.path("spool").exists(), "-n creates nothing");
    fs::write(files.path("spool"), "").unwrap();
    let (code, text) = run(&["198.51.100.1", "pub0:192.0.2.10"]);
    assert_eq!(code, Some(78), "{text}");
    let want = format!(
        "mail spool directory {}: is not a directory",
        files.path("spool").display()
    );
    assert!(text.contains(&want), "{text}");
    fs::remove_file(files.path("spool")).unwrap();
    // The metrics file's directory must exist already, and be safe.
    let missing = files.path("no-such-dir/failoverd.prom");
    let missing = missing.to_str().unwrap();
    let (code, text) = run(&["--metrics-file", missing, "198.51.100.1", "pub0:192.0.2.10"]);
    assert_eq!(code, Some(78), "{text}");
    let want = format!(
        "the metrics file's directory {} does not exist",
        files.path("no-such-dir").display()
    );
    assert!(text.contains(&want), "{text}");
    let open = files.path("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let prom = open.join("failoverd.prom");
    let (code, text) = run(&[
        "--metrics-file",
        prom.to_str().unwrap(),
        "198.51.100.1",
        "pub0:192.0.2.10",
    ]);
    assert_eq!(code, Some(78), "{text}");
    let want = format!(
        "the metrics file's directory {} is unsafe (mode 0777)",
        open.display()
    );
    assert!(text.contains(&want), "{text}");
    fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
    let (code, text) = run(&[
        "--metrics-file",
        prom.to_str().unwrap(),
        "198.51.100.1",
        "pub0:192.0.2.10",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!prom.exists(), "-n writes no metrics");
    // Three problems at once: a witness off the private network, a missing
    // interface, and the /32 rule (192.0.2.10/24 on pub0's own subnet).
    let (code, text) = run(&[
        "--witness",
        "203.0.113.3",
        "198.51.100.1",
        "pub0:192.0.2.10/24",
        "nosuch0:192.0.2.11",
    ]);
    assert_eq!(code, Some(78), "{text}");
    for needle in ["203.0.113.3", "nosuch0", "/32"] {
        assert!(text.contains(needle), "{needle} not reported:\n{text}");
    }
    assert!(!text.contains("configuration OK"), "{text}");
    // A warning passes the check, and fails it with --strict.
    let warned = [
        "--witness",
        "198.51.100.3",
        "--witness-policy",
        "off",
        "198.51.100.1",
        "pub0:192.0.2.10",
    ];
    let (code, text) = run(&warned);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("warning: --witness is given"), "{text}");
    let strict: Vec<&str> = std::iter::once("--strict").chain(warned).collect();
    let (code, text) = run(&strict);
    assert_eq!(code, Some(78), "{text}");
    assert!(
        text.contains("--strict: the warnings above fail the check"),
        "{text}"
    );
    // A wrong option does not hide the interfaces' problems: one run shows
    // the bad dead time, the bad hold-down and the missing interface; the
    // exit status is the command line's (64).
    let (code, text) = run(&[
        "--deadtime",
        "soon",
        "--hold-down",
        "-",
        "198.51.100.1",
        "nosuch0:192.0.2.11",
    ]);
    assert_eq!(code, Some(64), "{text}");
    for needle in ["Invalid dead time", "Invalid hold-down", "nosuch0"] {
        assert!(text.contains(needle), "{needle} not reported:\n{text}");
    }
    assert!(!text.contains("configuration OK"), "{text}");
}

/// Kills a daemon that moved to the background (not a child of the test):
/// whatever failoverd its pid file names when this is dropped, so that a
/// failing test leaves no daemon behind either.
struct KillOnDrop(PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let Some(pid) = read_pid(&self.0) else {
            return;
        };
        if is_failoverd(pid) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

#[test]
fn background_mode_forks_keeps_the_pid_file_and_stops_on_sigterm() {
    let Some((t, files)) = lab(
        "background_mode_forks_keeps_the_pid_file_and_stops_on_sigterm",
        None,
    ) else {
        return;
    };
    let pid_file = files.path("bg.pid");
    let pair = format!("{PUBLIC_IF}:{SERVICE}");
    let pid_arg = pid_file.display().to_string();
    let _guard = KillOnDrop(pid_file.clone());
    let out = failoverd_command(&t, &files, &["--interval", INTERVAL_MS])
        .args(["--pid-file", &pid_arg, "198.51.100.1", &pair])
        .stdin(Stdio::null())
        .output()
        .expect("run failoverd");
    // The foreground process returns once the daemon is in the background.
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The daemon rewrites the pid file with its own pid just after the
    // fork: wait for a pid that is a running failoverd.
    let mut pid = 0;
    assert!(
        wait_until(WAIT, STEP, || {
            pid = read_pid(&pid_file).unwrap_or(0);
            pid > 0 && is_failoverd(pid)
        }),
        "no running failoverd in the pid file"
    );
    let alive = || Path::new(&format!("/proc/{pid}")).exists();
    assert!(alive(), "the daemon {pid} is not running");
    let daemon = Daemon {
        pid: 0,
        log: files.path("none.log"),
        pid_file: pid_file.clone(),
        binary: env!("CARGO_BIN_EXE_failoverd"),
        ns: t.secondary.ns.name().to_owned(),
    };
    let last = wait_status(&daemon, 0);
    assert!(last.1.contains(&format!("pid {pid}")), "{last:?}");
    // A second copy refuses to start while the first runs.
    let out = failoverd_command(&t, &files, &["-x"])
        .args(["--pid-file", &pid_arg, "198.51.100.1", &pair])
        .output()
        .expect("run a second failoverd");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("already running (pid {pid}")),
        "{text}"
    );

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM).unwrap();
    assert!(
        wait_until(WAIT, STEP, || !alive()),
        "still running after SIGTERM"
    );
    assert!(!pid_file.exists(), "the pid file is left behind");
}

/// Runs `cmd` (a daemon in the foreground) until it exits, or kills it
/// after [`WAIT`]: its exit status (`None` if it had to be killed) and its
/// output.
fn run_until_exit(mut cmd: Command) -> (Option<i32>, String) {
    let log = tempfile::NamedTempFile::new().expect("log file");
    let out = log.reopen().expect("log");
    let err = out.try_clone().expect("log");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("run the daemon");
    let mut status = None;
    wait_until(WAIT, STEP, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    (
        status.and_then(|s| s.code()),
        fs::read_to_string(log.path()).unwrap_or_default(),
    )
}

/// The files the daemon keeps are never written through a symbolic link,
/// and a state directory others may write in is refused: at start (exit
/// 1 for a link, 78 for the directory, as a configuration problem) and by
/// `-n`, each time with a message naming the path.
#[test]
fn links_at_kept_files_and_unsafe_state_directories_are_refused() {
    let Some((t, files)) = lab(
        "links_at_kept_files_and_unsafe_state_directories_are_refused",
        None,
    ) else {
        return;
    };
    let pair = format!("{PUBLIC_IF}:{SERVICE}");
    let victim = files.path("victim");
    fs::write(&victim, "precious\n").unwrap();
    let pid_file = files.path("failoverd.pid");
    let pid_arg = pid_file.display().to_string();
    let run = |first: &[&str]| {
        let mut c = failoverd_command(&t, &files, first);
        c.args(["--interval", INTERVAL_MS, "--pid-file", &pid_arg])
            .args(["198.51.100.1", &pair]);
        run_until_exit(c)
    };
    // A link at the pid file.
    std::os::unix::fs::symlink(&victim, &pid_file).unwrap();
    let (code, text) = run(&["-d"]);
    assert_eq!(code, Some(1), "{text}");
    let refused = format!("{} is a symbolic link: refused", pid_file.display());
    assert!(text.contains(&refused), "{text}");
    fs::remove_file(&pid_file).unwrap();
    // A link at the epoch file.
    let state = files.path("state");
    fs::create_dir_all(&state).unwrap();
    let epoch = state.join("failoverd.epoch");
    std::os::unix::fs::symlink(&victim, &epoch).unwrap();
    let (code, text) = run(&["-d"]);
    assert_eq!(code, Some(1), "{text}");
    let refused = format!("{} is a symbolic link: refused", epoch.display());
    assert!(text.contains(&refused), "{text}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(!pid_file.exists(), "the pid file is removed on the way out");
    fs::remove_file(&epoch).unwrap();
    // A state directory anyone may write in: refused by -n and at start.
    fs::set_permissions(&state, fs::Permissions::from_mode(0o777)).unwrap();
    let unsafe_dir = format!(
        "the state directory {} is unsafe (mode 0777)",
        state.display()
    );
    for first in [&["-n"][..], &["-d"][..]] {
        let (code, text) = run(first);
        assert_eq!(code, Some(78), "{first:?}: {text}");
        assert!(text.contains(&unsafe_dir), "{first:?}: {text}");
        assert!(text.contains("chmod go-w"), "{first:?}: {text}");
    }
    assert!(!epoch.exists() && !pid_file.exists());
    // Once fixed, -n is content.
    fs::set_permissions(&state, fs::Permissions::from_mode(0o755)).unwrap();
    let (code, text) = run(&["-n"]);
    assert_eq!(code, Some(0), "{text}");
}

/// One datagram systemd would have received, and when.
struct Notice {
    at: std::time::Instant,
    text: String,
}

/// Reads what a daemon sends to its `NOTIFY_SOCKET` until `done` says
/// enough or [`WAIT`] passes without a datagram.
fn notices(sock: &UnixDatagram, mut done: impl FnMut(&[Notice]) -> bool) -> Vec<Notice> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !done(&got) {
        match sock.recv(&mut buf) {
            Ok(n) => got.push(Notice {
                at: std::time::Instant::now(),
                text: String::from_utf8_lossy(&buf[..n]).into_owned(),
            }),
            Err(e) => panic!(
                "no notification within {WAIT:?} ({e}); so far: {:?}",
                got.iter().map(|n| &n.text).collect::<Vec<_>>()
            ),
        }
    }
    got
}

/// Whether a datagram carries `assignment` as one of its lines.
fn says(notice: &Notice, assignment: &str) -> bool {
    notice.text.lines().any(|l| l == assignment)
}

/// The units' `Type=notify` with `WatchdogSec=`, as systemd would run
/// them: each real daemon, given a `NOTIFY_SOCKET` this test binds and a
/// `WATCHDOG_USEC`, says `READY=1` (with its phase in `STATUS=`) first, then
/// pings `WATCHDOG=1` at less than half the watchdog period, although its
/// heartbeat interval is longer than that (the ping's deadline bounds the
/// loop's wait), and says `STOPPING=1` at SIGTERM before it exits.
#[test]
fn systemd_hears_ready_watchdog_and_stopping() {
    let Some((t, files)) = lab("systemd_hears_ready_watchdog_and_stopping", None) else {
        return;
    };
    // A 4 s watchdog: pinged every second, due at least every 2 s. Beats
    // every 10 s, so only the watchdog's own deadline wakes the loop in
    // time. (Wide margins: CI's machine is loaded.)
    const WATCHDOG_USEC: u64 = 4_000_000;
    const INTERVAL: &str = "10000";
    const WATCHED: Duration = Duration::from_millis(4500);
    let half = Duration::from_micros(WATCHDOG_USEC / 2);
    let service = format!("{PUBLIC_IF}:{SERVICE}/32");
    let pair = format!("{PUBLIC_IF}:{SERVICE}");
    let primary = t.primary.private_ip.to_string();
    let (private_bcast, public_bcast) =
        (PRIVATE_BROADCAST.to_string(), PUBLIC_BROADCAST.to_string());
    let daemons: [(&Server, &'static str, Vec<&str>); 2] = [
        (
            &t.primary,
            env!("CARGO_BIN_EXE_heartbeatd"),
            vec!["--service", &service, &private_bcast, &public_bcast],
        ),
        (
            &t.secondary,
            env!("CARGO_BIN_EXE_failoverd"),
            vec![&primary, &pair],
        ),
    ];
    std::thread::scope(|scope| {
        for (server, binary, args) in &daemons {
            let files = &files;
            scope.spawn(move || {
                let name = Path::new(binary).file_name().unwrap().to_string_lossy();
                let socket = files.path(&format!("notify-{name}.sock"));
                let sock = UnixDatagram::bind(&socket).expect("bind the notification socket");
                sock.set_read_timeout(Some(WAIT)).unwrap();
                let env = [
                    format!("NOTIFY_SOCKET={}", socket.display()),
                    format!("WATCHDOG_USEC={WATCHDOG_USEC}"),
                ];
                let d = spawn_with(&server.ns, files, &env, INTERVAL, binary, &name, args);

                // READY=1 first, with the phase.
                let first = notices(&sock, |got| !got.is_empty());
                assert!(says(&first[0], "READY=1"), "{name}: {}", first[0].text);
                assert!(first[0].text.contains("\nSTATUS="), "{name}: {}", first[0].text);
                // Then the watchdog, on time.
                let watched = notices(&sock, |got| {
                    got.last().is_some_and(|n| n.at - first[0].at >= WATCHED)
                });
                let pings: Vec<_> = std::iter::once(&first[0])
                    .chain(watched.iter().filter(|n| says(n, "WATCHDOG=1")))
                    .map(|n| n.at)
                    .collect();
                assert!(pings.len() >= 4, "{name}: {} pings in {WATCHED:?}", pings.len() - 1);
                let longest = pings.windows(2).map(|w| w[1] - w[0]).max().unwrap();
                assert!(
                    longest < half,
                    "{name}: {longest:?} between two watchdog pings, over half of {WATCHDOG_USEC} µs"
                );
                assert!(!watched.iter().any(|n| says(n, "READY=1")), "{name}: READY=1 twice");

                // SIGTERM: STOPPING=1, and the daemon stops.
                server.ns.signal(d.pid, Signal::SIGTERM).unwrap();
                notices(&sock, |got| got.iter().any(|n| says(n, "STOPPING=1")));
                d.wait_logged(&format!("{name} stopped"));
            });
        }
    });
}
