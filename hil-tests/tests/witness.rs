//! The witness scenarios (issue 5): the real witness firmware, booted in
//! QEMU (`failover_lab::witness`), on the lab's private network with the
//! real `heartbeatd --witness 198.51.100.3` and `failoverd --witness
//! 198.51.100.3 --witness-policy required`, at the fast profile (10 ms
//! beats, as the firmware is built for):
//!
//! * the primary loses power (both its cables out) → the witness grants →
//!   the secondary takes over, never with two holders;
//! * the secondary is isolated (both its cables out) → it cannot reach the
//!   witness and takes nothing; the primary, which still hears the witness,
//!   keeps the address;
//! * the witness is down (policy required) → the secondary notifies and
//!   takes nothing when the primary goes; once the witness is powered on
//!   again it grants (after listening for its whole dead time) and the
//!   secondary takes over.
//!
//! Each test needs root, `qemu-system-arm` and the firmware ELF
//! (`scripts/firmware.sh` builds it); without them it says so loudly and
//! returns (under `CI=true`, a missing QEMU or ELF fails instead). A failing
//! test keeps its directory (daemon logs, mail, the witness's defmt streams,
//! decoded when `defmt-print` is installed) and names it.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use failover_lab::daemons::{
    start_failoverd, start_heartbeatd, Binaries, Daemon, Profile, RunDir, Scratch,
};
use failover_lab::netns::{skip_unless_root, wait_until};
use failover_lab::observe::{overlap, Held, Ownership};
use failover_lab::topology::{Net, Topology, PUBLIC_IF, SERVICE};
use failover_lab::witness::{self, WitnessNode, WITNESS_IP};

/// Generous bound on anything that must happen.
const WAIT: Duration = Duration::from_secs(15);
/// How long "nothing happens" is watched: 150 intervals, 25 witness dead
/// times.
const QUIET: Duration = Duration::from_millis(1500);
const STEP: Duration = Duration::from_millis(2);
const PERIOD: Duration = Duration::from_millis(1);

static SERIAL: Mutex<()> = Mutex::new(());

/// One scenario at a time: they measure time on a two-core machine.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Root, QEMU and the ELF, or a loud skip.
fn ready(test: &str) -> Option<PathBuf> {
    if skip_unless_root(test) {
        return None;
    }
    witness::skip_unless_ready(test)
}

/// The scenario's directory (see `Scratch`).
fn scratch(test: &str) -> Scratch {
    Scratch::new(
        "witness",
        test,
        "witness scenario failed: its logs, mail and the witness's defmt streams",
    )
    .expect("scenario directory")
}

/// The lab network with the witness plugged in. Fields drop in order: the
/// samplers stop, then the namespaces go (killing QEMU and the daemons),
/// then the files.
struct Lab {
    owners: (Ownership, Ownership),
    witness: WitnessNode,
    t: Topology,
    bins: Binaries,
    profile: Profile,
    prun: RunDir,
    srun: RunDir,
    files: Scratch,
}

impl Lab {
    fn new(test: &str, elf: &Path) -> Lab {
        let bins = Binaries::find().unwrap_or_else(|e| panic!("{e}"));
        let files = scratch(test);
        let prun = RunDir::create(&files.base.join("primary")).expect("primary's run dir");
        let srun = RunDir::create(&files.base.join("secondary")).expect("secondary's run dir");
        let t = Topology::new().expect("lab network");
        let witness =
            WitnessNode::attach(&t, elf, &files.base.join("witness")).expect("witness tap");
        let owners = (
            Ownership::start(&t.primary.ns, PUBLIC_IF, SERVICE, PERIOD).expect("sampler"),
            Ownership::start(&t.secondary.ns, PUBLIC_IF, SERVICE, PERIOD).expect("sampler"),
        );
        let profile = Profile::fast();
        assert_eq!(
            profile.interval_ms,
            witness::INTERVAL_MS,
            "the firmware is built for the fast profile"
        );
        Lab {
            owners,
            witness,
            t,
            bins,
            profile,
            prun,
            srun,
            files,
        }
    }

    fn power_on(&mut self) {
        self.witness.power_on(&self.t).expect("start QEMU");
    }

    fn power_off(&mut self) {
        self.witness.power_off(&self.t).expect("stop QEMU");
    }

    fn heartbeatd(&self) -> Daemon {
        let witness = WITNESS_IP.to_string();
        let keys = witness::key_args();
        let mut args = vec!["--witness", witness.as_str()];
        args.extend(keys.iter().map(String::as_str));
        let d = start_heartbeatd(&self.t, &self.bins, &self.prun, &self.profile, &args)
            .expect("start heartbeatd");
        self.wait("heartbeatd to start", &[&d], || d.logged("started"));
        d
    }

    fn failoverd(&self) -> Daemon {
        let witness = WITNESS_IP.to_string();
        let keys = witness::key_args();
        let mut args = vec![
            "--witness",
            witness.as_str(),
            "--witness-policy",
            "required",
        ];
        args.extend(keys.iter().map(String::as_str));
        let d = start_failoverd(&self.t, &self.bins, &self.srun, &self.profile, &args)
            .expect("start failoverd");
        self.wait("failoverd to start", &[&d], || d.logged("started"));
        d
    }

    /// The primary alone holds the address, failoverd hears the primary
    /// and (if `witness_up`) the witness.
    fn steady(&self, hb: &Daemon, fo: &Daemon, witness_up: bool) {
        let logs = [hb, fo];
        self.wait_owner(Owner::Primary, &logs);
        let bin = self.bins.failoverd.clone();
        self.wait("failoverd to hear the primary", &logs, || {
            status(&bin, fo).contains("198.51.100.1: alive")
        });
        if witness_up {
            let heard = format!("witness {WITNESS_IP} (policy required): heard");
            self.wait("failoverd to hear the witness", &logs, || {
                status(&bin, fo).contains(&heard)
            });
        }
    }

    fn held(&self) -> (Vec<Held>, Vec<Held>) {
        (self.owners.0.held(), self.owners.1.held())
    }

    fn wait_owner(&self, owner: Owner, logs: &[&Daemon]) {
        let (p, s) = (&self.owners.0, &self.owners.1);
        self.wait(
            &format!("{owner:?} alone to hold {SERVICE}"),
            logs,
            || match owner {
                Owner::Primary => p.holds_now() && !s.holds_now(),
                Owner::Secondary => s.holds_now() && !p.holds_now(),
            },
        );
    }

    fn wait(&self, what: &str, logs: &[&Daemon], condition: impl FnMut() -> bool) {
        if !wait_until(WAIT, STEP, condition) {
            self.fail(&format!("waited {WAIT:?} for {what} in vain"), logs);
        }
    }

    fn wait_mailed(&self, run: &RunDir, event: &str, logs: &[&Daemon]) {
        self.wait(&format!("a {event} mail"), logs, || {
            events(run).iter().any(|e| e == event)
        });
    }

    fn check(&self, ok: bool, what: &str, logs: &[&Daemon]) {
        if !ok {
            self.fail(what, logs);
        }
    }

    /// Fails with everything that helps to see why.
    fn fail(&self, what: &str, logs: &[&Daemon]) -> ! {
        let mut text = format!("{what}\n");
        for d in logs {
            text.push_str(&format!(
                "--- {} (pid {}) log:\n{}",
                d.name,
                d.pid,
                tail(&d.log_text(), 60)
            ));
        }
        text.push_str(&format!(
            "--- witness: {} boot(s), running {}; QEMU stderr: {:?}\n",
            self.witness.boots(),
            self.witness.is_running(),
            self.witness.stderr_text()
        ));
        match self.witness.decode_logs() {
            Some(log) => text.push_str(&format!("--- witness log (defmt):\n{}", tail(&log, 40))),
            None => text.push_str(
                "--- witness log: not decoded (cargo install defmt-print --locked; \
                 defmt-print -e <elf> < witness-boot<N>.defmt)\n",
            ),
        }
        text.push_str(&format!(
            "--- mail: primary {:?}, secondary {:?}\n--- held: {:?}\n--- files: {}\n",
            events(&self.prun),
            events(&self.srun),
            self.held(),
            self.files.base.display()
        ));
        panic!("{text}");
    }

    /// The witness's decoded log when `defmt-print` is installed (and says
    /// so on stderr when it is not).
    fn witness_log(&self) -> Option<String> {
        let log = self.witness.decode_logs();
        if log.is_none() {
            eprintln!(
                "note: defmt-print is not installed: the witness's own log is not checked \
                 (cargo install defmt-print --locked)"
            );
        }
        log
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Primary,
    Secondary,
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = lines[lines.len().saturating_sub(n)..].join("\n");
    out.push('\n');
    out
}

/// The events a server mailed, in order (`X-Failover-Event` headers).
fn events(run: &RunDir) -> Vec<String> {
    run.mail()
        .lines()
        .filter_map(|l| l.strip_prefix("X-Failover-Event: "))
        .map(str::to_owned)
        .collect()
}

/// The events mailed after the ones in `before`.
fn events_since(run: &RunDir, before: &[String]) -> Vec<String> {
    events(run).into_iter().skip(before.len()).collect()
}

/// The holding intervals that last until `from` or later.
fn since(held: &[Held], from: Instant) -> Vec<Held> {
    held.iter()
        .filter(|(_, until)| until.is_none_or(|u| u > from))
        .copied()
        .collect()
}

/// `failoverd --status --pid-file <its pid file>`.
fn status(binary: &Path, d: &Daemon) -> String {
    let mut cmd = Command::new(binary);
    cmd.arg("--status").arg("--pid-file").arg(&d.pid_file);
    run_bounded(cmd, Duration::from_secs(10)).unwrap_or_else(|e| format!("--status: {e}"))
}

fn run_bounded(mut cmd: Command, timeout: Duration) -> io::Result<String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + timeout;
    for _ in 0..100_000 {
        if child.try_wait()?.is_some() {
            let out = child.wait_with_output()?;
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr));
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "still running, killed",
    ))
}

#[test]
fn primary_power_loss_the_witness_grants_and_the_secondary_takes_over() {
    let test = "witness::primary_power_loss_the_witness_grants_and_the_secondary_takes_over";
    let Some(elf) = ready(test) else { return };
    let _serial = serial();
    let mut lab = Lab::new("power-loss", &elf);
    lab.power_on();
    let hb = lab.heartbeatd();
    let fo = lab.failoverd();
    lab.steady(&hb, &fo, true);
    let logs = [&hb, &fo];

    // Power loss: both cables out; the primary's kernel drops its address
    // (its heartbeatd sees no carrier anywhere and lets go too).
    let cut = Instant::now();
    lab.t.unplug(&lab.t.primary, Net::Private).unwrap();
    lab.t.unplug(&lab.t.primary, Net::Public).unwrap();
    lab.wait_owner(Owner::Secondary, &logs);
    let took = cut.elapsed();
    lab.wait_mailed(&lab.srun, "TookOver", &logs);

    let (p, s) = lab.held();
    let both = overlap(&p, &s, Instant::now());
    lab.check(
        both.is_zero(),
        &format!("never two holders (overlap {both:?})"),
        &logs,
    );
    lab.check(
        since(&p, cut).len() == 1
            && p.last().is_some_and(|h| h.1.is_some())
            && s.len() == 1
            && s[0].1.is_none(),
        "the primary until the cut, then the secondary",
        &logs,
    );
    let mail = events(&lab.srun);
    lab.check(
        !mail
            .iter()
            .any(|e| e == "WitnessFallback" || e == "WitnessLost"),
        &format!("the takeover had the witness's grant, no fallback: {mail:?}"),
        &logs,
    );
    lab.check(
        lab.witness.is_running(),
        "the witness is still running",
        &logs,
    );
    if let Some(log) = lab.witness_log() {
        lab.check(
            log.contains("GRANT to 198.51.100.2"),
            "the witness logged its grant to the secondary",
            &logs,
        );
    }
    eprintln!("takeover {took:?} after the primary's power loss");
}

#[test]
fn secondary_isolated_cannot_reach_the_witness_and_takes_nothing() {
    let test = "witness::secondary_isolated_cannot_reach_the_witness_and_takes_nothing";
    let Some(elf) = ready(test) else { return };
    let _serial = serial();
    let mut lab = Lab::new("secondary-isolated", &elf);
    lab.power_on();
    let hb = lab.heartbeatd();
    let fo = lab.failoverd();
    lab.steady(&hb, &fo, true);
    let logs = [&hb, &fo];

    let pm_before = events(&lab.prun);
    let cut = Instant::now();
    lab.t.unplug(&lab.t.secondary, Net::Private).unwrap();
    lab.t.unplug(&lab.t.secondary, Net::Public).unwrap();
    lab.wait("failoverd to see it is cut off", &logs, || {
        fo.logged_after(cut, "no carrier on any link").is_some()
    });
    lab.wait_mailed(&lab.prun, "PeerLost", &logs);
    std::thread::sleep(QUIET);
    lab.t.plug(&lab.t.secondary, Net::Private).unwrap();
    lab.t.plug(&lab.t.secondary, Net::Public).unwrap();
    lab.wait_mailed(&lab.prun, "PeerRegained", &logs);
    std::thread::sleep(Duration::from_millis(300));

    let (p, s) = lab.held();
    lab.check(
        s.is_empty(),
        "the isolated secondary must never take the address",
        &logs,
    );
    let during = since(&p, cut);
    lab.check(
        during.len() == 1 && during[0].0 < cut && during[0].1.is_none(),
        "the primary, which still hears the witness, holds the address throughout",
        &logs,
    );
    let (pm, sm) = (events_since(&lab.prun, &pm_before), events(&lab.srun));
    lab.check(
        !pm.iter()
            .any(|e| e == "Isolated" || e == "Yielded" || e == "Stalled"),
        &format!("the primary never thought itself cut off: {pm:?}"),
        &logs,
    );
    lab.check(
        !sm.iter().any(|e| e == "TookOver"),
        &format!("no takeover: {sm:?}"),
        &logs,
    );
    lab.check(
        lab.witness.is_running(),
        "the witness is still running",
        &logs,
    );
    if let Some(log) = lab.witness_log() {
        lab.check(!log.contains("GRANT"), "the witness granted nothing", &logs);
    }
}

#[test]
fn witness_down_with_policy_required_no_takeover_until_it_is_back() {
    let test = "witness::witness_down_with_policy_required_no_takeover_until_it_is_back";
    let Some(elf) = ready(test) else { return };
    let _serial = serial();
    let mut lab = Lab::new("witness-down", &elf);
    lab.power_on();
    let hb = lab.heartbeatd();
    let fo = lab.failoverd();
    lab.steady(&hb, &fo, true);
    let logs = [&hb, &fo];

    // The witness loses power: the secondary notices and says so.
    lab.power_off();
    lab.wait_mailed(&lab.srun, "WitnessLost", &logs);
    lab.wait_owner(Owner::Primary, &logs);

    // Then the primary goes: without the witness, policy "required" takes
    // nothing.
    lab.t.unplug(&lab.t.primary, Net::Private).unwrap();
    lab.t.unplug(&lab.t.primary, Net::Public).unwrap();
    std::thread::sleep(QUIET);
    let (_, s) = lab.held();
    lab.check(
        s.is_empty(),
        "without the witness (policy required) the secondary takes nothing",
        &logs,
    );
    lab.check(
        !events(&lab.srun).iter().any(|e| e == "TookOver"),
        "no takeover mail",
        &logs,
    );

    // The witness comes back (a new boot, a new epoch): it listens for its
    // whole dead time, hears no primary, and grants.
    let back = Instant::now();
    lab.power_on();
    lab.wait_owner(Owner::Secondary, &logs);
    lab.wait_mailed(&lab.srun, "TookOver", &logs);
    let (p, s) = lab.held();
    let both = overlap(&p, &s, Instant::now());
    lab.check(
        both.is_zero(),
        &format!("never two holders (overlap {both:?})"),
        &logs,
    );
    lab.check(
        lab.witness.boots() == 2 && lab.witness.is_running(),
        "the witness runs its second boot",
        &logs,
    );
    if let Some(log) = lab.witness_log() {
        lab.check(
            log.contains("GRANT to 198.51.100.2"),
            "the rebooted witness logged its grant",
            &logs,
        );
    }
    eprintln!("takeover {:?} after the witness came back", back.elapsed());
}
