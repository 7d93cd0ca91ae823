//! The stage runner and the notifier against real processes: shell scripts
//! and a fake `sendmail` written by each test into its own temporary
//! directory. Every wait is bounded; nothing touches the network or the
//! real `/etc/failover`.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use failover_core::action::Event;
use failover_core::{Role, Stage, StageOutcome};
use failover_host::config::cli::{InterfaceName, ServiceAddress};
use failover_host::disk::Disk;
use failover_host::notify::{Backoff, LinkReport, Logger, MailConfig, Notifier, NotifyContext};
use failover_host::scripts::{self, ScriptConfig, StageContext, StageRunner};

const A: &str = "192.0.2.10";

/// A fresh directory under cargo's per-target temporary directory, not
/// `/tmp`, which may be mounted `noexec` (the tests execute scripts there).
fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("failover-scripts-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}
const B: &str = "192.0.2.11";

struct Lab {
    dir: tempfile::TempDir,
    config: ScriptConfig,
    ctx: StageContext,
}

impl Lab {
    /// A scripts directory with one directory per address, owned by whoever
    /// runs the test (root in CI).
    fn new(addresses: &[&str]) -> Lab {
        let dir = tempdir();
        let root = dir.path().join("failover");
        fs::create_dir(&root).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        let mut config = ScriptConfig::new(&root);
        config.owner = fs::metadata(&root).unwrap().uid();
        config.script_timeout = Duration::from_secs(20);
        config.stage_timeout = Duration::from_secs(30);
        config.kill_grace = Duration::from_secs(1);
        let mut list = Vec::new();
        for (i, a) in addresses.iter().enumerate() {
            let d = root.join(a);
            fs::create_dir(&d).unwrap();
            fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
            list.push(ServiceAddress {
                interface: InterfaceName::new(&format!("eth{i}")).unwrap(),
                addr: a.parse().unwrap(),
                prefix: if i == 0 { Some(24) } else { None },
            });
        }
        let ctx = StageContext {
            role: Role::Secondary,
            addresses: list,
            peer: Some("198.51.100.1".parse().unwrap()),
            reason: "primary silent on every link for 3.0 s".to_owned(),
        };
        Lab { dir, config, ctx }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A `#!/bin/sh` script in `addr`'s directory, with `mode`.
    fn script(&self, addr: &str, name: &str, body: &str, mode: u32) -> PathBuf {
        let p = self.config.dir.join(addr).join(name);
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    /// A script that appends `<name> <args>` to the record file.
    fn recorder(&self, addr: &str, name: &str) {
        let rec = self.path("record");
        self.script(
            addr,
            name,
            &format!("echo \"$(basename \"$0\") $*\" >> '{}'", rec.display()),
            0o755,
        );
    }

    fn record(&self) -> Vec<String> {
        fs::read_to_string(self.path("record"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Polls until the stage reports (at most `limit`), sleeping until the
/// runner's next deadline (at most 50 ms at a time).
fn wait(r: &mut StageRunner, limit: Duration) -> Option<(Stage, StageOutcome)> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(done) = r.poll(Instant::now()) {
            return Some(done);
        }
        let nap = r
            .next_deadline()
            .map_or(Duration::from_millis(20), |t| {
                t.saturating_duration_since(Instant::now())
            })
            .min(Duration::from_millis(50));
        std::thread::sleep(nap);
    }
    None
}

fn run(lab: &Lab, stage: Stage) -> (StageOutcome, failover_host::notify::LogCapture, StageRunner) {
    let (log, cap) = Logger::memory("failoverd");
    let mut r = StageRunner::new(lab.config.clone(), log);
    r.start(Instant::now(), stage, &lab.ctx);
    let (s, outcome) = wait(&mut r, Duration::from_secs(30)).expect("stage did not finish");
    assert_eq!(s, stage);
    (outcome, cap, r)
}

/// Whether process `pid` is gone (or a zombie nobody has reaped yet).
fn gone(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_gone(pid: u32) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn read_pid(p: &Path) -> u32 {
    let start = Instant::now();
    loop {
        if let Ok(s) = fs::read_to_string(p) {
            if let Ok(pid) = s.trim().parse() {
                return pid;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no pid in {}",
            p.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn lexical_order_per_address_in_configured_order_with_arguments() {
    // B is configured first: its directory runs first.
    let lab = Lab::new(&[B, A]);
    for name in ["PreAcq_b", "PreAcq_a", "PreAcq_9", "PreAcq_10", "PreAcq"] {
        lab.recorder(A, name);
    }
    lab.recorder(B, "PreAcq_z");
    lab.recorder(A, "PostAcq_other_stage");
    let (outcome, cap, _) = run(&lab, Stage::PreAcq);
    assert_eq!(outcome, StageOutcome::Success, "{}", cap.text());
    assert_eq!(
        lab.record(),
        [
            format!("PreAcq_z acquire {B}"),
            format!("PreAcq acquire {A}"),
            format!("PreAcq_10 acquire {A}"),
            format!("PreAcq_9 acquire {A}"),
            format!("PreAcq_a acquire {A}"),
            format!("PreAcq_b acquire {A}"),
        ]
    );
    // Release stages say "release".
    fs::remove_file(lab.path("record")).unwrap();
    lab.recorder(A, "PreRel_x");
    let (outcome, _, _) = run(&lab, Stage::PreRel);
    assert_eq!(outcome, StageOutcome::Success);
    assert_eq!(lab.record(), [format!("PreRel_x release {A}")]);
}

#[test]
fn scripts_get_a_clean_environment_describing_the_event() {
    let lab = Lab::new(&[A, B]);
    let out = lab.path("env");
    lab.script(A, "PostAcq", &format!("env > '{}'", out.display()), 0o755);
    let (outcome, cap, _) = run(&lab, Stage::PostAcq);
    assert_eq!(outcome, StageOutcome::Success, "{}", cap.text());
    let env = fs::read_to_string(&out).unwrap();
    let vars: Vec<&str> = env.lines().collect();
    for want in [
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        "HOME=/".to_owned(),
        "FAILOVER_STAGE=PostAcq".to_owned(),
        "FAILOVER_OPERATION=acquire".to_owned(),
        format!("FAILOVER_ADDRESS={A}"),
        "FAILOVER_INTERFACE=eth0".to_owned(),
        "FAILOVER_PREFIX=24".to_owned(),
        format!("FAILOVER_ADDRESSES=eth0:{A}/24 eth1:{B}"),
        "FAILOVER_PEER=198.51.100.1".to_owned(),
        "FAILOVER_ROLE=secondary".to_owned(),
        "FAILOVER_REASON=primary silent on every link for 3.0 s".to_owned(),
    ] {
        assert!(vars.contains(&want.as_str()), "missing {want} in\n{env}");
    }
    // Nothing of the daemon's own environment (cargo sets CARGO_* here).
    assert!(
        !vars.iter().any(|v| v.starts_with("CARGO")),
        "leaked environment:\n{env}"
    );
}

#[test]
fn an_ipv6_address_reaches_its_scripts_as_an_ipv4_one_does() {
    // Its directory is named by the address as Rust and iproute2 print it
    // (compressed); the address is the argument and FAILOVER_ADDRESS.
    let v6 = "2001:db8::10";
    let lab = Lab::new(&[A, v6]);
    let out = lab.path("env6");
    lab.script(
        v6,
        "PostAcq",
        &format!("{{ echo \"$1 $2\"; env; }} > '{}'", out.display()),
        0o755,
    );
    let (outcome, cap, _) = run(&lab, Stage::PostAcq);
    assert_eq!(outcome, StageOutcome::Success, "{}", cap.text());
    let env = fs::read_to_string(&out).unwrap();
    let vars: Vec<&str> = env.lines().collect();
    for want in [
        format!("acquire {v6}"),
        format!("FAILOVER_ADDRESS={v6}"),
        "FAILOVER_INTERFACE=eth1".to_owned(),
        format!("FAILOVER_ADDRESSES=eth0:{A}/24 eth1:{v6}"),
    ] {
        assert!(vars.contains(&want.as_str()), "missing {want} in\n{env}");
    }
}

#[test]
fn a_failing_test_script_vetoes_and_stops_the_stage() {
    let lab = Lab::new(&[A]);
    lab.recorder(A, "Test_1");
    lab.script(A, "Test_2", "echo 'sync is stale' >&2; exit 3", 0o755);
    lab.recorder(A, "Test_3");
    let (outcome, cap, r) = run(&lab, Stage::Test);
    assert_eq!(outcome, StageOutcome::Failed(3));
    assert_eq!(lab.record(), [format!("Test_1 acquire {A}")]);
    let detail = r.failure_detail().unwrap();
    assert!(
        detail.contains("Test_2") && detail.contains("status 3"),
        "{detail}"
    );
    assert!(cap.contains(&format!("{A}/Test_2: sync is stale")));
    assert!(cap.contains("1 script(s) not run"), "{}", cap.text());
}

#[test]
fn a_failing_post_stage_runs_every_script_and_reports_the_first_failure() {
    let lab = Lab::new(&[A]);
    lab.script(A, "PreRel_1", "exit 4", 0o755);
    lab.recorder(A, "PreRel_2");
    lab.script(A, "PreRel_3", "exit 5", 0o755);
    let (outcome, _, _) = run(&lab, Stage::PreRel);
    assert_eq!(outcome, StageOutcome::Failed(4));
    assert_eq!(lab.record(), [format!("PreRel_2 release {A}")]);
}

#[test]
fn a_signal_death_is_128_plus_the_signal() {
    let lab = Lab::new(&[A]);
    lab.script(A, "PreAcq", "kill -USR1 $$; sleep 5", 0o755);
    let (outcome, cap, _) = run(&lab, Stage::PreAcq);
    assert_eq!(outcome, StageOutcome::Failed(128 + 10), "{}", cap.text());
    assert!(
        cap.contains("killed by signal 10 (SIGUSR1)"),
        "{}",
        cap.text()
    );
}

#[test]
fn a_hanging_script_is_killed_with_its_process_group() {
    let mut lab = Lab::new(&[A]);
    lab.config.script_timeout = Duration::from_millis(500);
    let child_pid = lab.path("child.pid");
    lab.script(
        A,
        "Test_hang",
        &format!(
            "sleep 1000 &\necho $! > '{}'\nsleep 1000",
            child_pid.display()
        ),
        0o755,
    );
    lab.recorder(A, "Test_later");
    let start = Instant::now();
    let (outcome, cap, _) = run(&lab, Stage::Test);
    assert_eq!(outcome, StageOutcome::TimedOut);
    // SIGTERM was enough: well before the SIGKILL grace.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(cap.contains("still running at its limit"), "{}", cap.text());
    assert!(
        wait_gone(read_pid(&child_pid)),
        "the script's child survived"
    );
    assert!(
        lab.record().is_empty(),
        "a veto stage went on after a time-out"
    );
}

/// Blocks the signals the daemons block for their signalfd, on this test's
/// thread (the runner spawns from it), as `daemon::start` does.
fn block_signals_as_the_daemons_do() {
    let mask: nix::sys::signal::SigSet = failover_host::daemon::start::HANDLED_SIGNALS
        .iter()
        .copied()
        .collect();
    mask.thread_block().unwrap();
}

#[test]
fn scripts_start_with_no_signal_blocked_though_the_daemon_blocks_them() {
    block_signals_as_the_daemons_do();
    let lab = Lab::new(&[A]);
    let rec = lab.path("record");
    // bash keeps the mask it inherits (dash clears it): the script reads
    // its own with a builtin, so no child of it is what is measured.
    let p = lab.config.dir.join(A).join("Test_mask");
    fs::write(
        &p,
        format!(
            "#!/bin/bash\nwhile read -r key value; do [ \"$key\" = SigBlk: ] && echo \"$value\"; \
             done < /proc/$$/status >> '{}'\nexit 0\n",
            rec.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let (outcome, cap, _) = run(&lab, Stage::Test);
    assert_eq!(outcome, StageOutcome::Success, "{}", cap.text());
    let record = lab.record();
    let [mask] = record.as_slice() else {
        panic!("{record:?}");
    };
    let mask = u64::from_str_radix(mask, 16).unwrap();
    // Bit n-1 is signal n: HUP 1, INT 2, USR1 10, USR2 12, TERM 15.
    let daemons = [1u32, 2, 10, 12, 15]
        .iter()
        .fold(0u64, |m, s| m | 1 << (s - 1));
    assert_eq!(mask & daemons, 0, "the script's SigBlk is {mask:#x}");
}

#[test]
fn a_script_trapping_sigterm_cleans_up_at_its_time_out() {
    block_signals_as_the_daemons_do();
    let mut lab = Lab::new(&[A]);
    lab.config.script_timeout = Duration::from_millis(300);
    lab.config.kill_grace = Duration::from_secs(5);
    let rec = lab.path("record");
    lab.script(
        A,
        "PreAcq_slow",
        &format!(
            "trap 'echo cleaned up >> \'{}\'; exit 1' TERM\nsleep 1000 &\nwait",
            rec.display()
        ),
        0o755,
    );
    let start = Instant::now();
    let (outcome, cap, _) = run(&lab, Stage::PreAcq);
    let took = start.elapsed();
    assert_eq!(outcome, StageOutcome::TimedOut, "{}", cap.text());
    // The trap ran on SIGTERM, long before the SIGKILL grace was over.
    assert_eq!(lab.record(), ["cleaned up"], "after {took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn a_script_ignoring_sigterm_gets_sigkill_after_the_grace() {
    let mut lab = Lab::new(&[A]);
    lab.config.script_timeout = Duration::from_millis(300);
    lab.config.kill_grace = Duration::from_millis(700);
    let child_pid = lab.path("child.pid");
    lab.script(
        A,
        "PostRel_stubborn",
        &format!(
            "trap '' TERM\nsleep 1000 &\necho $! > '{}'\nwhile :; do sleep 1; done",
            child_pid.display()
        ),
        0o755,
    );
    lab.recorder(A, "PostRel_next");
    let start = Instant::now();
    let (outcome, _, _) = run(&lab, Stage::PostRel);
    let took = start.elapsed();
    assert_eq!(outcome, StageOutcome::TimedOut);
    assert!(took >= Duration::from_millis(1000), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(wait_gone(read_pid(&child_pid)));
    // A Post* stage goes on after a script's own time-out.
    assert_eq!(lab.record(), [format!("PostRel_next release {A}")]);
}

#[test]
fn the_stage_limit_stops_the_stage() {
    let mut lab = Lab::new(&[A]);
    lab.config.stage_timeout = Duration::from_millis(600);
    lab.script(A, "PostAcq_1", "sleep 30", 0o755);
    lab.recorder(A, "PostAcq_2");
    let (outcome, cap, _) = run(&lab, Stage::PostAcq);
    assert_eq!(outcome, StageOutcome::TimedOut);
    assert!(cap.contains("the PostAcq stage's limit"), "{}", cap.text());
    assert!(lab.record().is_empty());
}

#[test]
fn leftovers_and_unsafe_files_are_skipped_with_a_warning() {
    let lab = Lab::new(&[A]);
    lab.recorder(A, "Test_ok");
    for name in [
        "Test_ok~",
        "Test_ok.bak",
        ".Test_ok.swp",
        "#Test_ok#",
        "Test.dpkg-old",
        "Test_ok.orig",
        "Test_ok.rej",
        "test_lowercase",
    ] {
        lab.recorder(A, name);
    }
    lab.script(A, "Test_noexec", "exit 9", 0o644);
    lab.script(A, "Test_writable", "exit 9", 0o777);
    fs::create_dir(lab.config.dir.join(A).join("Test_dir")).unwrap();
    let (outcome, cap, _) = run(&lab, Stage::Test);
    assert_eq!(outcome, StageOutcome::Success, "{}", cap.text());
    assert_eq!(lab.record(), [format!("Test_ok acquire {A}")]);
    let text = cap.text();
    for (name, why) in [
        ("Test_ok~", "leftover"),
        ("Test_ok.bak", "leftover"),
        (".Test_ok.swp", "leftover"),
        ("#Test_ok#", "leftover"),
        ("Test.dpkg-old", "leftover"),
        ("Test_ok.orig", "leftover"),
        ("Test_ok.rej", "leftover"),
        ("test_lowercase", "case-sensitive"),
        ("Test_noexec", "not executable"),
        ("Test_writable", "writable by group or others"),
        ("Test_dir", "a directory"),
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with("warning: Test: skipping") && l.contains(&format!("/{name}: ")))
            .unwrap_or_else(|| panic!("no warning for {name} in\n{text}"));
        assert!(line.contains(why), "{line}");
    }
    // -n sees the same, as warnings: the daemon runs without them.
    let report = scripts::check(&lab.config, &lab.ctx.addresses);
    assert_eq!(report.warnings.len(), 11, "{report:#?}");
    assert!(report.problems.is_empty(), "{report:#?}");
}

/// A script written without a `#!` line is executable, root's and safe,
/// so it was meant to run, but the kernel refuses it (ENOEXEC): the stage
/// skips it with a warning saying so, and `-n` fails on it.
#[test]
fn a_script_without_an_interpreter_line_is_a_problem_for_the_check() {
    let lab = Lab::new(&[A]);
    lab.recorder(A, "Test_ok");
    let p = lab.config.dir.join(A).join("Test_no_shebang");
    fs::write(&p, "echo forgot the first line\n").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let (outcome, cap, _) = run(&lab, Stage::Test);
    assert_eq!(outcome, StageOutcome::Success, "{}", cap.text());
    assert_eq!(lab.record(), [format!("Test_ok acquire {A}")]);
    assert!(
        cap.contains("neither a #! line nor an ELF header"),
        "{}",
        cap.text()
    );
    let report = scripts::check(&lab.config, &lab.ctx.addresses);
    assert_eq!(report.problems.len(), 1, "{report:#?}");
    assert!(
        report.problems[0].contains("Test_no_shebang: skipped"),
        "{report:#?}"
    );
}

#[test]
fn scripts_not_owned_by_the_required_user_are_skipped() {
    let mut lab = Lab::new(&[A]);
    lab.recorder(A, "PreAcq");
    lab.config.owner = lab.config.owner.wrapping_add(4242);
    let (outcome, cap, _) = run(&lab, Stage::PreAcq);
    assert_eq!(outcome, StageOutcome::Success);
    assert!(lab.record().is_empty());
    // The scripts directory itself is refused first.
    assert!(
        cap.contains("not root: its scripts are not run"),
        "{}",
        cap.text()
    );
}

#[test]
fn a_writable_address_directory_is_refused() {
    let lab = Lab::new(&[A]);
    lab.recorder(A, "PreAcq");
    fs::set_permissions(lab.config.dir.join(A), fs::Permissions::from_mode(0o777)).unwrap();
    let (outcome, cap, _) = run(&lab, Stage::PreAcq);
    assert_eq!(outcome, StageOutcome::Success);
    assert!(lab.record().is_empty());
    assert!(
        cap.contains("writable by group or others (mode 777)"),
        "{}",
        cap.text()
    );
    assert_eq!(
        scripts::check(&lab.config, &lab.ctx.addresses)
            .warnings
            .len(),
        1
    );
}

#[test]
fn no_directory_means_no_scripts() {
    let lab = Lab::new(&[]);
    let mut ctx = lab.ctx.clone();
    ctx.addresses.push(ServiceAddress {
        interface: InterfaceName::new("eth0").unwrap(),
        addr: "203.0.113.7".parse().unwrap(),
        prefix: None,
    });
    let (log, _) = Logger::memory("failoverd");
    let mut r = StageRunner::new(lab.config.clone(), log);
    let now = Instant::now();
    r.start(now, Stage::PostRel, &ctx);
    assert!(r.next_deadline().is_some_and(|t| t <= now));
    assert_eq!(r.poll(now), Some((Stage::PostRel, StageOutcome::Success)));
    assert_eq!(r.poll(now), None);
    assert_eq!(r.next_deadline(), None);
    assert_eq!(
        scripts::check(&lab.config, &ctx.addresses),
        scripts::ScriptReport::default()
    );
}

#[test]
fn output_goes_to_the_log_line_by_line_and_bounded() {
    let mut lab = Lab::new(&[A]);
    lab.config.max_line = 100;
    lab.config.max_output = 2000;
    lab.script(
        A,
        "PostAcq_out",
        "echo hello\necho oops >&2\nprintf 'no newline'; echo\n\
         head -c 5000 /dev/zero | tr '\\0' x; echo\n\
         i=0; while [ $i -lt 200 ]; do echo \"filler line $i\"; i=$((i+1)); done",
        0o755,
    );
    let (outcome, cap, _) = run(&lab, Stage::PostAcq);
    assert_eq!(outcome, StageOutcome::Success);
    let text = cap.text();
    assert!(
        text.contains(&format!("info: {A}/PostAcq_out: hello\n")),
        "{text}"
    );
    assert!(text.contains(&format!("info: {A}/PostAcq_out: oops\n")));
    assert!(text.contains(&format!("info: {A}/PostAcq_out: no newline\n")));
    assert!(text.contains("[line cut at 100 bytes]"));
    assert!(text.contains("output exceeds 2000 bytes"), "{text}");
    assert!(text.contains("more bytes of output not logged"), "{text}");
    assert!(!text.contains("filler line 199"));
    assert!(!text.contains(&"x".repeat(101)));
}

#[test]
fn background_processes_survive_a_successful_script_and_are_still_heard() {
    let lab = Lab::new(&[A]);
    // As the 2005 walk-through's PostAcq does with `mysqld_safe &`.
    lab.script(
        A,
        "PostAcq_start",
        "(sleep 1; echo late) &\necho started",
        0o755,
    );
    let (log, cap) = Logger::memory("failoverd");
    let mut r = StageRunner::new(lab.config.clone(), log);
    let start = Instant::now();
    r.start(start, Stage::PostAcq, &lab.ctx);
    let (_, outcome) = wait(&mut r, Duration::from_secs(10)).unwrap();
    assert_eq!(outcome, StageOutcome::Success);
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "waited for the background"
    );
    assert!(
        !r.fds().is_empty(),
        "the background's output is no longer read"
    );
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until && !cap.contains("(background): late") {
        let _ = r.poll(Instant::now());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        cap.contains(&format!("{A}/PostAcq_start (background): late")),
        "{}",
        cap.text()
    );
}

#[test]
fn the_output_descriptor_wakes_a_poll_loop() {
    let lab = Lab::new(&[A]);
    lab.script(A, "PreAcq", "sleep 0.3; echo ready; sleep 0.2", 0o755);
    let (log, cap) = Logger::memory("failoverd");
    let mut r = StageRunner::new(lab.config.clone(), log);
    r.start(Instant::now(), Stage::PreAcq, &lab.ctx);
    let start = Instant::now();
    {
        let mut fds: Vec<nix::poll::PollFd> = r
            .fds()
            .into_iter()
            .map(|fd| nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN))
            .collect();
        assert_eq!(fds.len(), 1);
        let n = nix::poll::poll(&mut fds, 5000u16).unwrap();
        assert_eq!(n, 1);
    }
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(r.poll(Instant::now()), None);
    assert!(cap.contains("/PreAcq: ready"));
    assert_eq!(
        wait(&mut r, Duration::from_secs(5)),
        Some((Stage::PreAcq, StageOutcome::Success))
    );
}

#[test]
fn a_new_stage_supersedes_the_running_one() {
    let lab = Lab::new(&[A]);
    let pid = lab.path("pid");
    lab.script(
        A,
        "PreAcq_slow",
        &format!("echo $$ > '{}'; sleep 1000", pid.display()),
        0o755,
    );
    lab.recorder(A, "PostRel");
    let (log, cap) = Logger::memory("failoverd");
    let mut r = StageRunner::new(lab.config.clone(), log);
    r.start(Instant::now(), Stage::PreAcq, &lab.ctx);
    let slow = read_pid(&pid);
    assert_eq!(r.poll(Instant::now()), None);
    r.start(Instant::now(), Stage::PostRel, &lab.ctx);
    assert_eq!(r.running(), Some(Stage::PostRel));
    // Only the new stage reports.
    assert_eq!(
        wait(&mut r, Duration::from_secs(10)),
        Some((Stage::PostRel, StageOutcome::Success))
    );
    assert!(wait_gone(slow));
    assert_eq!(lab.record(), [format!("PostRel release {A}")]);
    assert!(
        cap.contains("PreAcq superseded by PostRel"),
        "{}",
        cap.text()
    );
}

#[test]
fn an_unrunnable_script_fails_like_a_shell_says() {
    let lab = Lab::new(&[A]);
    // Executable, but its interpreter does not exist.
    let p = lab.config.dir.join(A).join("Test");
    fs::write(&p, "#!/nonexistent/interpreter\n").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let (outcome, cap, _) = run(&lab, Stage::Test);
    assert_eq!(outcome, StageOutcome::Failed(127), "{}", cap.text());
}

// ---- notifications -------------------------------------------------------

fn notify_context() -> NotifyContext {
    let mut ctx = NotifyContext::new("server2", Role::Secondary);
    ctx.peer = Some("198.51.100.1".to_owned());
    ctx.addresses = vec![ServiceAddress {
        interface: InterfaceName::new("eth0").unwrap(),
        addr: A.parse().unwrap(),
        prefix: None,
    }];
    ctx.links = vec![
        LinkReport {
            name: "private (eth1)".to_owned(),
            state: "silent for 3.1 s".to_owned(),
        },
        LinkReport {
            name: "public (eth0)".to_owned(),
            state: "silent for 3.0 s".to_owned(),
        },
    ];
    ctx.reason = Some("dead time 3.0 s passed on both links".to_owned());
    ctx
}

/// A fake `sendmail` in `dir` that appends its arguments and its input to
/// `dir/mail.out`, running the shell commands `before` first and `after`
/// last; returns the program and the output file.
fn sendmail_script(dir: &Path, before: &str, after: &str) -> (PathBuf, PathBuf) {
    let out = dir.join("mail.out");
    let bin = dir.join("sendmail");
    fs::write(
        &bin,
        format!(
            "#!/bin/sh\n{before}\n{{ echo \"ARGS: $*\"; cat; }} >> '{}'\n{after}\n",
            out.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    (bin, out)
}

/// A fake `sendmail` that saves its arguments and its input, then runs
/// `extra` (which decides its exit status).
fn fake_sendmail(dir: &Path, extra: &str) -> (PathBuf, PathBuf) {
    sendmail_script(dir, "", extra)
}

/// The mail configuration of these tests: `sendmail` as the program and
/// the spool in `dir/spool`, the rest as default; tests that change a
/// bound set it over this.
fn mail_config(sendmail: PathBuf, dir: &Path) -> MailConfig {
    MailConfig {
        sendmail,
        spool_dir: dir.join("spool"),
        ..MailConfig::default()
    }
}

/// Polls until nothing runs and nothing is due (what waits for its
/// back-off is not due), at most `limit`.
fn drain(n: &mut Notifier, limit: Duration) {
    let start = Instant::now();
    while n.mailer().is_some_and(|m| !m.is_idle(Instant::now())) && start.elapsed() < limit {
        n.poll(Instant::now());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn took_over_is_mailed_through_sendmail_t_i() {
    let dir = tempdir();
    let (bin, out) = fake_sendmail(dir.path(), "");
    let (log, cap) = Logger::memory("failoverd");
    let mail = MailConfig {
        recipient: "admin@example.org, oncall@example.org".to_owned(),
        ..mail_config(bin, dir.path())
    };
    let (mut n, _disk) = notifier(log, Some(mail));
    n.notify(Instant::now(), Event::TookOver, &notify_context());
    assert!(n.next_deadline().is_some());
    drain(&mut n, Duration::from_secs(10));
    let text = fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ARGS: -t -i"));
    assert_eq!(
        lines.next(),
        Some("To: admin@example.org, oncall@example.org")
    );
    assert_eq!(
        lines.next(),
        Some(
            "Subject: [failover] server2: took over 192.0.2.10: the primary (198.51.100.1) is \
             silent on every network"
        )
    );
    for want in [
        "Auto-Submitted: auto-generated",
        "WHAT HAPPENED",
        "  192.0.2.10 on eth0.",
        "Addresses: 192.0.2.10 on eth0",
        "WHAT FAILOVERD DID",
        "WHAT TO CHECK",
        "Link private (eth1): silent for 3.1 s",
        "Link public (eth0): silent for 3.0 s",
        "Detail: dead time 3.0 s passed on both links",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(cap.contains("handed to sendmail"), "{}", cap.text());
    // Logged at crit with the reason and the links.
    let rec = &cap.records()[0];
    assert_eq!(rec.level, failover_host::notify::Level::Crit);
    assert!(rec
        .message
        .contains("links: private (eth1): silent for 3.1 s"));
    assert_eq!(n.next_deadline(), None);
}

#[test]
fn log_only_events_do_not_mail() {
    let dir = tempdir();
    let (bin, out) = fake_sendmail(dir.path(), "");
    let (log, cap) = Logger::memory("failoverd");
    let mail = mail_config(bin, dir.path());
    let (mut n, _disk) = notifier(log, Some(mail));
    // On the secondary, "peer lost" is followed by its outcome's notice.
    n.notify(Instant::now(), Event::PeerLost, &notify_context());
    assert_eq!(n.mailer().unwrap().pending(), 0);
    assert!(!out.exists());
    assert!(cap.contains("silent on every network"));
    // On the primary it is the only warning that protection is gone.
    let mut ctx = notify_context();
    ctx.role = Role::Primary;
    n.notify(Instant::now(), Event::PeerLost, &ctx);
    drain(&mut n, Duration::from_secs(10));
    let text = fs::read_to_string(&out).unwrap();
    assert!(text.contains("Subject: [failover] server2: the secondary (198.51.100.1) lost"));
    assert!(text.contains("To: root"));
}

#[test]
fn missing_sendmail_is_logged_once_not_an_error() {
    let dir = tempdir();
    let (log, cap) = Logger::memory("failoverd");
    let mail = mail_config(dir.path().join("no-such-sendmail"), dir.path());
    let (mut n, _disk) = notifier(log, Some(mail));
    n.notify(Instant::now(), Event::Relinquished, &notify_context());
    n.notify(Instant::now(), Event::TookOver, &notify_context());
    assert_eq!(n.mailer().unwrap().pending(), 0);
    assert_eq!(n.next_deadline(), None);
    let disabled = cap
        .records()
        .iter()
        .filter(|r| r.message.contains("email notifications disabled"))
        .count();
    assert_eq!(disabled, 1, "{}", cap.text());
    assert!(cap.contains("no-such-sendmail not found"));
    // Both events are in the log regardless.
    assert!(cap.contains("gave 192.0.2.10 back"));
    assert!(cap.contains("took over 192.0.2.10"));
}

#[test]
fn a_failing_or_hanging_sendmail_is_reported_and_bounded() {
    let dir = tempdir();
    let (bin, _) = fake_sendmail(dir.path(), "echo 'queue dir missing' >&2; exit 75");
    let (log, cap) = Logger::memory("failoverd");
    let mail = mail_config(bin, dir.path());
    let (mut n, _disk) = notifier(log, Some(mail));
    n.notify(
        Instant::now(),
        Event::NetworkAnomaly {
            silent: failover_core::LinkMask(1),
        },
        &notify_context(),
    );
    drain(&mut n, Duration::from_secs(10));
    assert!(
        cap.contains("sendmail: queue dir missing"),
        "{}",
        cap.text()
    );
    assert!(cap.contains("exited with status 75"), "{}", cap.text());

    let dir = tempdir();
    let (bin, _) = fake_sendmail(dir.path(), "sleep 1000");
    let (log, cap) = Logger::memory("failoverd");
    let mail = MailConfig {
        timeout: Duration::from_millis(300),
        kill_grace: Duration::from_millis(300),
        ..mail_config(bin, dir.path())
    };
    let (mut n, _disk) = notifier(log, Some(mail));
    let start = Instant::now();
    n.notify(
        Instant::now(),
        Event::Vetoed {
            stage: Stage::Test,
            outcome: StageOutcome::Failed(5),
        },
        &notify_context(),
    );
    drain(&mut n, Duration::from_secs(10));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(cap.contains("killing it"), "{}", cap.text());
    assert!(
        cap.contains("not sent: sendmail was killed"),
        "{}",
        cap.text()
    );
}

#[test]
fn mail_is_bounded_in_concurrency_spool_and_rate() {
    let dir = tempdir();
    let (bin, out) = fake_sendmail(dir.path(), "sleep 0.2");
    let (log, cap) = Logger::memory("failoverd");
    let mail = MailConfig {
        max_concurrent: 2,
        max_spooled: 3,
        max_per_hour: 4,
        ..mail_config(bin, dir.path())
    };
    let (mut n, disk) = notifier(log, Some(mail));
    for _ in 0..6 {
        n.notify(Instant::now(), Event::WitnessLost, &notify_context());
    }
    // Four fit in the hour: the fifth and sixth are refused at once. Of
    // the four, two run; the spool holds three, so the fourth dropped the
    // oldest waiting one (the third).
    let m = n.mailer().unwrap();
    assert_eq!(m.in_flight(), 2);
    assert_eq!(m.pending(), 3);
    assert!(cap.contains("mail rate limit reached"), "{}", cap.text());
    assert!(
        cap.contains("full (3 messages): dropped the oldest"),
        "{}",
        cap.text()
    );
    drain(&mut n, Duration::from_secs(10));
    let sent = fs::read_to_string(&out)
        .unwrap()
        .matches("ARGS: -t -i")
        .count();
    assert_eq!(sent, 3);
    assert_eq!(n.mailer().unwrap().pending(), 0);
    settle(&disk);
    assert_eq!(fs::read_dir(dir.path().join("spool")).unwrap().count(), 0);
}

/// A `sendmail` that fails (exit 75) the first `fails` times, then keeps
/// what it is given.
fn flaky_sendmail(dir: &Path, fails: u32) -> (PathBuf, PathBuf) {
    let count = dir.join("count");
    fake_sendmail_first(
        dir,
        &format!(
            "n=$(cat '{c}' 2>/dev/null || echo 0); echo $((n+1)) > '{c}'
             if [ \"$n\" -lt {fails} ]; then cat >/dev/null; exit 75; fi",
            c = count.display()
        ),
    )
}

/// A fake `sendmail` that runs `first` before keeping its input.
fn fake_sendmail_first(dir: &Path, first: &str) -> (PathBuf, PathBuf) {
    sendmail_script(dir, first, "")
}

/// A notifier whose spool files are written by a writer thread of its own,
/// with the handle a test waits on before it looks at the files.
fn notifier(log: Logger, mail: Option<MailConfig>) -> (Notifier, Disk) {
    let disk = Disk::start(log.clone()).expect("the writer thread");
    (Notifier::new(log, mail, disk.clone()), disk)
}

/// Waits until the spool's writes and removals so far are done.
fn settle(disk: &Disk) {
    assert!(
        disk.wait_idle(Duration::from_secs(10)),
        "the writer is stuck"
    );
}

fn spool_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_failed_mail_stays_spooled_and_is_retried_after_its_back_off() {
    let dir = tempdir();
    let (bin, out) = flaky_sendmail(dir.path(), 2);
    let spool = dir.path().join("spool");
    let (log, cap) = Logger::memory("failoverd");
    let mail = MailConfig {
        retry: Backoff {
            first: Duration::from_millis(200),
            max: Duration::from_millis(300),
        },
        ..mail_config(bin, dir.path())
    };
    let (mut n, disk) = notifier(log, Some(mail));
    let t0 = Instant::now();
    n.notify(t0, Event::TookOver, &notify_context());
    settle(&disk);
    assert_eq!(
        spool_files(&spool),
        ["failoverd-00000000000000000001-TookOver.mail"]
    );
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) && !out.exists() {
        n.poll(Instant::now());
        std::thread::sleep(Duration::from_millis(10));
    }
    drain(&mut n, Duration::from_secs(10));
    let text = fs::read_to_string(&out).unwrap();
    assert_eq!(text.matches("ARGS: -t -i").count(), 1, "{text}");
    assert!(text.contains("X-Failover-Event: TookOver"));
    // Two failures, 200 ms then 300 ms (the cap) apart.
    assert!(start.elapsed() >= Duration::from_millis(500));
    assert_eq!(
        cap.records()
            .iter()
            .filter(|r| r.message.contains("kept in") && r.message.contains("trying again"))
            .count(),
        2,
        "{}",
        cap.text()
    );
    assert!(cap.contains("exited with status 75"), "{}", cap.text());
    settle(&disk);
    assert!(spool_files(&spool).is_empty(), "sent, so gone");
    assert_eq!(n.mailer().unwrap().pending(), 0);
    assert_eq!(n.next_deadline(), None);
}

#[test]
fn what_one_life_could_not_send_the_next_sends_first() {
    let dir = tempdir();
    let spool = dir.path().join("spool");
    // First life: sendmail fails; the daemon dies (the notifier is dropped
    // without a flush, as SIGKILL would).
    let (bin, _) = fake_sendmail(dir.path(), "exit 75");
    let (log, _) = Logger::memory("failoverd");
    let mail = mail_config(bin.clone(), dir.path());
    let (mut n, disk) = notifier(log, Some(mail.clone()));
    n.notify(Instant::now(), Event::TookOver, &notify_context());
    drain(&mut n, Duration::from_secs(10));
    assert_eq!(n.mailer().unwrap().pending(), 1, "waiting for its back-off");
    settle(&disk);
    drop(n);
    // Another daemon's mail in the same directory is not taken.
    fs::write(
        spool.join("heartbeatd-00000000000000000001-Acquired.mail"),
        "x",
    )
    .unwrap();
    // Second life, with a working sendmail: the leftover goes first.
    let (bin, out) = fake_sendmail(dir.path(), "");
    let (log, cap) = Logger::memory("failoverd");
    let (mut n, disk) = notifier(
        log,
        Some(MailConfig {
            sendmail: bin,
            ..mail
        }),
    );
    assert!(
        cap.contains("1 notification mail(s) left by a previous run"),
        "{}",
        cap.text()
    );
    assert!(n.next_deadline().is_some(), "due at once");
    n.notify(Instant::now(), Event::Relinquished, &notify_context());
    drain(&mut n, Duration::from_secs(10));
    let text = fs::read_to_string(&out).unwrap();
    let took = text
        .find("X-Failover-Event: TookOver")
        .expect("the leftover");
    let rel = text
        .find("X-Failover-Event: Relinquished")
        .expect("the new one");
    assert!(took < rel, "oldest first:\n{text}");
    settle(&disk);
    assert_eq!(
        spool_files(&spool),
        ["heartbeatd-00000000000000000001-Acquired.mail"]
    );
}

#[test]
fn a_reload_neither_waits_for_mail_nor_loses_it() {
    let dir = tempdir();
    let (bin, out) = fake_sendmail_first(dir.path(), "sleep 0.5");
    let (log, cap) = Logger::memory("heartbeatd");
    let mail = mail_config(bin, dir.path());
    let (mut n, _disk) = notifier(log, Some(mail.clone()));
    n.notify(Instant::now(), Event::Acquired, &notify_context());
    n.poll(Instant::now());
    assert_eq!(n.mailer().unwrap().in_flight(), 1);
    let start = Instant::now();
    for i in 0..100 {
        let again = MailConfig {
            recipient: format!("ops{i}@example.org"),
            ..mail.clone()
        };
        n.reconfigure(Some(again));
        n.poll(Instant::now());
    }
    // Mail off, then on again: still nothing waits and nothing is lost.
    n.reconfigure(None);
    n.notify(Instant::now(), Event::PeerLost, &notify_context());
    let took = start.elapsed();
    assert!(took < Duration::from_millis(100), "reloads took {took:?}");
    assert_eq!(n.mailer().unwrap().in_flight(), 1, "still running");
    drain(&mut n, Duration::from_secs(10));
    let text = fs::read_to_string(&out).unwrap();
    assert_eq!(text.matches("ARGS: -t -i").count(), 1, "{text}");
    assert!(text.contains("X-Failover-Event: Acquired"), "{text}");
    assert!(text.contains("To: root"), "addressed when it was spooled");
    assert!(cap.contains("handed to sendmail"), "{}", cap.text());
    n.reconfigure(Some(mail));
    let mut ctx = notify_context();
    ctx.role = Role::Primary;
    n.notify(Instant::now(), Event::PeerLost, &ctx);
    drain(&mut n, Duration::from_secs(10));
    let text = fs::read_to_string(&out).unwrap();
    assert_eq!(text.matches("ARGS: -t -i").count(), 2, "{text}");
}

#[test]
fn a_stop_leaves_unsent_mail_in_the_spool() {
    let dir = tempdir();
    let spool = dir.path().join("spool");
    let (bin, _) = fake_sendmail(dir.path(), "exit 75");
    let (log, cap) = Logger::memory("heartbeatd");
    let mail = mail_config(bin, dir.path());
    let (mut n, _disk) = notifier(log, Some(mail.clone()));
    n.notify(Instant::now(), Event::Relinquished, &notify_context());
    // SIGTERM's wait: bounded, and what failed is not waited for (its
    // retry is 15 s away) but kept.
    let start = Instant::now();
    n.flush(Duration::from_secs(5));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(
        cap.contains("1 notification mail(s) not yet sent: kept in"),
        "{}",
        cap.text()
    );
    drop(n);
    assert_eq!(spool_files(&spool).len(), 1);
    // The next start sends it.
    let (bin, out) = fake_sendmail(dir.path(), "");
    let (log, _) = Logger::memory("heartbeatd");
    let (mut n, _disk) = notifier(
        log,
        Some(MailConfig {
            sendmail: bin,
            ..mail
        }),
    );
    drain(&mut n, Duration::from_secs(10));
    assert!(fs::read_to_string(&out)
        .unwrap()
        .contains("X-Failover-Event: Relinquished"));
    assert!(spool_files(&spool).is_empty());
}
