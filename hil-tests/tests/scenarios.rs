//! The lab's scenarios (issue 4): the real `heartbeatd` and `failoverd`
//! in the lab network, one fault each, and assertions on the outcome:
//!
//! * who holds the service address afterwards, from both servers'
//!   [`Ownership`] samplers (every millisecond over the whole run), and
//!   that it was never on both at once ([`overlap`] zero) except where a
//!   test says why;
//! * which notifications were mailed (the fake `sendmail` of each server's
//!   [`RunDir`]) and which stage scripts ran, in order;
//! * what the client saw ([`Prober`] every millisecond, [`service_runs`]).
//!
//! Every scenario builds its own [`Topology`] (unique namespaces, removed
//! also on failure) and runs the daemons at the fast profile (10 ms beats)
//! unless it says otherwise. Time bounds are generous ([`WAIT`]) and only
//! where a behaviour is about time. The scenarios run one at a time (a
//! lock): they measure timing, and two labs sharing two cores would
//! measure each other.
//!
//! At 10 ms beats a daemon that does not run for 20 ms has stalled (it
//! drops its addresses: the stall rule) and a primary that does not run for
//! 30 ms is taken over from. On a shared two-core machine both happen many
//! times a minute at normal priority, so the daemons run with real-time
//! scheduling (`failover_lab::control::real_time`); the scenarios whose claim is that nothing
//! happens use a 200 ms dead time ([`fast_patient`]); and "the primary held
//! the address throughout" allows the drops heartbeatd logged as its own
//! stalls ([`primary_kept_it`]). Typical run: about 40 s in all.
//!
//! They need root. Without it each test prints a loud "SKIPPED: needs root"
//! and returns; CI runs as root and runs them all. The daemons' binaries
//! are built by `cargo test --workspace`; alone, build them first with
//! `cargo build -p failover-host` (or set `FAILOVER_BIN_DIR`). A failing
//! scenario keeps its run directory (logs, mail, scripts) and names it.

use std::cell::RefCell;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use failover_core::wire::{
    Body, FrameRepr, Header, HeartbeatFlags, HeartbeatRepr, Key, Keyring, DEFAULT_PORT,
    MAX_FRAME_LEN,
};
use failover_core::{LinkId, NodeId, Role};
use failover_host::net::{build_udp_frame, parse_udp_frame};
use failover_lab::attacker::{send, Attacker};
use failover_lab::control::{real_time, status, FrameCounters};
use failover_lab::daemons::{
    start_failoverd, start_heartbeatd, Binaries, Daemon, Profile, RunDir, Scratch,
};
use failover_lab::faults::{ArpBlock, Direction, Loss};
use failover_lab::netns::{skip_unless_root, wait_until};
use failover_lab::observe::{overlap, Capture, Held, Ownership};
use failover_lab::service::{service_runs, Probe, Prober, Responder};
use failover_lab::topology::{Net, Topology, CLIENT_IP, PUBLIC_BRIDGE, PUBLIC_IF, SERVICE};
use nix::sys::signal::Signal;

/// Generous bound on anything that must happen (a verdict, a takeover, a
/// failback): at 10 ms beats these take tens of milliseconds.
const WAIT: Duration = Duration::from_secs(10);
/// How long "nothing happens" is watched for after a fault that must not
/// cause a takeover: 150 fast-profile intervals, 50 dead times.
const QUIET: Duration = Duration::from_millis(1500);
/// Polling step of the waits.
const STEP: Duration = Duration::from_millis(2);
/// How often the observers sample.
const PERIOD: Duration = Duration::from_millis(1);
/// The longest a client may go unanswered where the service must not be
/// interrupted at all. A real interruption (a takeover, a lost address)
/// lasts tens of milliseconds at least and shows up as a server change in
/// the client's runs too; this bound only absorbs the scheduling of a
/// loaded two-core machine (the prober, the responders and both daemons
/// compete for it).
const NO_OUTAGE: Duration = Duration::from_millis(250);

static SERIAL: Mutex<()> = Mutex::new(());

/// One scenario at a time (see the module documentation).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The scenario's directory (see `Scratch`).
fn scratch(test: &str) -> Scratch {
    Scratch::new(
        "scenario",
        test,
        "scenario failed: its logs, mail and scripts",
    )
    .expect("scenario directory")
}

/// A lab network with the observers running. On drop, failoverd is
/// killed first (were heartbeatd to go first, failoverd could start a
/// takeover, and its scripts would outlive it); then the fields drop in
/// order: the observers stop, the namespaces go (killing the daemons), the
/// files last.
struct Lab {
    prober: Option<Prober>,
    capture: Option<Capture>,
    owners: (Ownership, Ownership),
    _responders: (Responder, Responder),
    t: Topology,
    bins: Binaries,
    profile: Profile,
    /// The primary's run directory (its mail, its state).
    prun: RunDir,
    /// The secondary's run directory (its scripts, mail, state).
    srun: RunDir,
    /// Every failoverd started, for the teardown.
    failoverds: RefCell<Vec<u32>>,
    _files: Scratch,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for pid in self.failoverds.borrow().iter() {
            let _ = self.t.secondary.ns.signal(*pid, Signal::SIGKILL);
        }
    }
}

impl Lab {
    fn new(test: &str, profile: Profile) -> Lab {
        let bins = match Binaries::find() {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let files = scratch(test);
        let prun = RunDir::create(&files.base.join("primary")).expect("primary's run dir");
        let srun = RunDir::create(&files.base.join("secondary")).expect("secondary's run dir");
        let t = Topology::new().expect("lab network");
        let responders = (
            Responder::start(&t.primary.ns, "primary").expect("responder"),
            Responder::start(&t.secondary.ns, "secondary").expect("responder"),
        );
        let owners = (
            Ownership::start(&t.primary.ns, PUBLIC_IF, SERVICE, PERIOD).expect("sampler"),
            Ownership::start(&t.secondary.ns, PUBLIC_IF, SERVICE, PERIOD).expect("sampler"),
        );
        Lab {
            prober: None,
            capture: None,
            owners,
            _responders: responders,
            t,
            bins,
            profile,
            prun,
            srun,
            failoverds: RefCell::new(Vec::new()),
            _files: files,
        }
    }

    /// Starts heartbeatd on the primary and waits for its start-up line.
    fn heartbeatd(&self, extra: &[&str]) -> Daemon {
        let d = start_heartbeatd(&self.t, &self.bins, &self.prun, &self.profile, extra)
            .expect("start heartbeatd");
        real_time(&d);
        self.wait("heartbeatd to start", WAIT, &[&d], || d.logged("started"));
        d
    }

    /// Starts failoverd on the secondary and waits for its start-up line.
    fn failoverd(&self, extra: &[&str]) -> Daemon {
        let d = start_failoverd(&self.t, &self.bins, &self.srun, &self.profile, extra)
            .expect("start failoverd");
        self.failoverds.borrow_mut().push(d.pid);
        real_time(&d);
        self.wait("failoverd to start", WAIT, &[&d], || d.logged("started"));
        d
    }

    /// Waits for the steady state (the primary alone holds the address, the
    /// secondary hears it), then starts the client and waits until the
    /// primary answers it.
    /// Starts both daemons with the profile's arguments only and waits for
    /// the steady state.
    fn start_both(&mut self) -> (Daemon, Daemon) {
        let hb = self.heartbeatd(&[]);
        let fo = self.failoverd(&[]);
        self.steady(&hb, &fo);
        (hb, fo)
    }

    fn steady(&mut self, hb: &Daemon, fo: &Daemon) {
        self.wait_owner(Owner::Primary, &[hb, fo]);
        let bin = self.bins.failoverd.clone();
        self.wait("failoverd to hear the primary", WAIT, &[hb, fo], || {
            status(&bin, fo).contains("198.51.100.1: alive")
        });
        self.start_client();
        self.wait_served_by("primary", Instant::now(), &[hb, fo]);
    }

    fn start_client(&mut self) {
        self.prober = Some(Prober::start(&self.t.client, SERVICE, PERIOD).expect("prober"));
    }

    fn probes(&self) -> Vec<Probe> {
        self.prober.as_ref().map(Prober::probes).unwrap_or_default()
    }

    /// The servers that answered the client, in runs.
    fn runs(&self) -> Vec<String> {
        service_runs(&self.probes())
            .into_iter()
            .map(|r| r.0)
            .collect()
    }

    /// The servers that answered probes sent at or after `since`, in runs.
    fn runs_since(&self, since: Instant) -> Vec<String> {
        let probes: Vec<Probe> = self
            .probes()
            .into_iter()
            .filter(|p| p.sent >= since)
            .collect();
        service_runs(&probes).into_iter().map(|r| r.0).collect()
    }

    /// Waits until `who` answers a probe sent at or after `since`.
    fn wait_served_by(&self, who: &str, since: Instant, logs: &[&Daemon]) {
        self.wait(
            &format!("the client to be served by the {who}"),
            WAIT,
            logs,
            || {
                self.probes()
                    .iter()
                    .any(|p| p.sent >= since && p.answer.as_ref().is_some_and(|a| a.1 == who))
            },
        );
    }

    fn held(&self) -> (Vec<Held>, Vec<Held>) {
        (self.owners.0.held(), self.owners.1.held())
    }

    /// Fails the scenario if both servers ever had the address at once.
    fn check_never_two_holders(&self, logs: &[&Daemon]) {
        let both = self.overlap();
        self.check(
            both.is_zero(),
            &format!("never two holders (overlap {both:?})"),
            logs,
        );
    }

    /// Time both servers had the address at once, over the whole run.
    fn overlap(&self) -> Duration {
        let (p, s) = self.held();
        overlap(&p, &s, Instant::now())
    }

    /// Waits until exactly `owner` holds the service address (as sampled).
    fn wait_owner(&self, owner: Owner, logs: &[&Daemon]) {
        let (p, s) = (&self.owners.0, &self.owners.1);
        self.wait(
            &format!("{owner:?} alone to hold {SERVICE}"),
            WAIT,
            logs,
            || match owner {
                Owner::Primary => p.holds_now() && !s.holds_now(),
                Owner::Secondary => s.holds_now() && !p.holds_now(),
                Owner::Nobody => !p.holds_now() && !s.holds_now(),
            },
        );
    }

    /// Waits at most `timeout` for `condition`, failing with the daemons'
    /// logs if it never holds.
    fn wait(
        &self,
        what: &str,
        timeout: Duration,
        logs: &[&Daemon],
        condition: impl FnMut() -> bool,
    ) {
        if !wait_until(timeout, STEP, condition) {
            self.fail(&format!("waited {timeout:?} for {what} in vain"), logs);
        }
    }

    /// Fails the scenario with everything that helps to see why.
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
            "--- mail: primary {:?}, secondary {:?}\n--- stages run: {:?}\n--- held: {:?}\n--- client: {:?}\n",
            events(&self.prun),
            events(&self.srun),
            stages(&self.srun),
            self.held(),
            self.runs()
        ));
        panic!("{text}");
    }

    /// Checks a condition of the outcome, failing with the logs.
    fn check(&self, ok: bool, what: &str, logs: &[&Daemon]) {
        if !ok {
            self.fail(what, logs);
        }
    }

    /// Waits until `run` has mailed `event` (mail goes out asynchronously).
    /// What a fault on one network must leave behind (Apple's rule): the
    /// secondary never held the address, the primary kept it (`kept` says
    /// how), no takeover, no script, and no mail but the anomaly and its
    /// end.
    fn check_anomaly_only(&self, hb: &Daemon, fo: &Daemon, kept: &str) {
        let logs = [hb, fo];
        let (p, s) = self.held();
        self.check(
            s.is_empty(),
            "the secondary must never hold the address",
            &logs,
        );
        self.check(primary_kept_it(&p, hb), kept, &logs);
        self.check(!fo.logged("took over"), "no takeover", &logs);
        self.check(stages(&self.srun).is_empty(), "no script may run", &logs);
        let mail = events(&self.srun);
        self.check(
            anomaly_mails_only(&mail),
            &format!("the secondary mails the anomaly and its end, nothing else: {mail:?}"),
            &logs,
        );
    }

    fn wait_mailed(&self, run: &RunDir, event: &str, logs: &[&Daemon]) {
        self.wait(&format!("a {event} mail"), WAIT, logs, || {
            events(run).iter().any(|e| e == event)
        });
    }
}

/// Which server should hold the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Primary,
    Secondary,
    Nobody,
}

/// The last `n` lines of a log.
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

/// Adds, for every stage, a script that records the stage and its
/// arguments in `stages.txt`.
fn record_stages(run: &RunDir) {
    let record = run.path.join("stages.txt");
    for stage in ["Test", "PreAcq", "PostAcq", "PreRel", "PostRel"] {
        run.script(
            &format!("{stage}_record"),
            &format!("echo \"$FAILOVER_STAGE $1 $2\" >> {}\n", record.display()),
        )
        .expect("stage script");
    }
}

/// The stages the recording scripts saw, in order.
fn stages(run: &RunDir) -> Vec<String> {
    fs::read_to_string(run.path.join("stages.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

const ACQUIRE: [&str; 3] = [
    "Test acquire 192.0.2.10",
    "PreAcq acquire 192.0.2.10",
    "PostAcq acquire 192.0.2.10",
];
const RELEASE: [&str; 2] = ["PreRel release 192.0.2.10", "PostRel release 192.0.2.10"];

/// Whether the stage scripts ran a takeover, then a failback: the acquire
/// stages first, the release stages last, one PreRel. (A failoverd that
/// stalls while holding drops the address with PostRel alone and takes it
/// again: those stages may come in between.)
fn acquire_then_release(ran: &[String]) -> bool {
    ran.starts_with(&ACQUIRE.map(str::to_owned))
        && ran.ends_with(&RELEASE.map(str::to_owned))
        && ran.iter().filter(|s| s.starts_with("PreRel")).count() == 1
}

/// The interval of `held` that was open at `at`.
fn held_at(held: &[Held], at: Instant) -> Option<Held> {
    held.iter()
        .find(|(from, until)| *from <= at && until.is_none_or(|u| u >= at))
        .copied()
}

/// The overlap of two sets of intervals counted only from `since`.
fn overlap_since(a: &[Held], b: &[Held], since: Instant, end: Instant) -> Duration {
    let clip = |h: &[Held]| -> Vec<Held> {
        h.iter()
            .filter(|(_, until)| until.is_none_or(|u| u > since))
            .map(|(from, until)| ((*from).max(since), *until))
            .collect()
    };
    overlap(&clip(a), &clip(b), end)
}

/// The longest time the client went unanswered between `from` and `to`:
/// from the first probe of a run of unanswered ones to the next answered
/// probe (or `to`).
fn longest_outage(probes: &[Probe], from: Instant, to: Instant) -> Duration {
    let mut longest = Duration::ZERO;
    let mut gap_start: Option<Instant> = None;
    for p in probes.iter().filter(|p| p.sent >= from && p.sent < to) {
        match (&p.answer, gap_start) {
            (None, None) => gap_start = Some(p.sent),
            (Some(_), Some(s)) => {
                longest = longest.max(p.sent.duration_since(s));
                gap_start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = gap_start {
        longest = longest.max(to.saturating_duration_since(s));
    }
    longest
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn is_running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

/// The fast profile (10 ms beats) with a dead time of 200 ms instead of
/// 30, for the scenarios whose claim is that nothing happens: their faults
/// do not depend on the dead time, while 30 ms is within the scheduling
/// stalls of a loaded two-core machine, and a primary that does not run
/// for a dead time is (rightly) taken over from.
fn fast_patient() -> Profile {
    let mut p = Profile::fast();
    p.deadtime = Some("200".to_owned());
    p
}

/// How often `d` logged that it had not run for over two intervals while
/// it held the addresses, and dropped them (the stall rule).
fn stalls(d: &Daemon) -> usize {
    d.lines()
        .iter()
        .filter(|(_, l)| l.contains("was frozen too long"))
        .count()
}

/// Whether the primary held the address from before the fault to now: one
/// interval, still open; on a loaded machine also one more for each time
/// its heartbeatd logged that it had not run for over two intervals and
/// dropped the address (the stall rule, docs/protocol.md), which it then
/// took back through the reclaim handshake.
fn primary_kept_it(p: &[Held], hb: &Daemon) -> bool {
    let stalls = stalls(hb);
    if stalls > 0 {
        eprintln!(
            "note: heartbeatd stalled {stalls} time(s) (the machine is loaded) and dropped the \
             address each time, as the stall rule says; {} hold(s) in all",
            p.len()
        );
    }
    p.last().is_some_and(|h| h.1.is_none()) && p.len() <= 1 + stalls
}

/// Whether `mail` is exactly an anomaly and its end (also across a stall
/// of failoverd: `an_anomaly_is_mailed_once_across_a_stall`).
fn anomaly_mails_only(mail: &[String]) -> bool {
    mail == ["NetworkAnomaly", "NetworkRestored"]
}

/// When failoverd reached a verdict (the primary silent on every network),
/// as its log says.
fn verdicts(fo: &Daemon) -> Vec<Instant> {
    fo.lines()
        .iter()
        .filter(|(_, l)| {
            l.contains("warning: the primary") && l.contains("is silent on every network")
        })
        .map(|(t, _)| *t)
        .collect()
}

/// Removes the service address from the primary, as its death would (the
/// kernel of a crashed host takes its addresses along).
fn primary_host_forgets_the_address(t: &Topology) {
    t.primary
        .ns
        .ip(&["addr", "del", &format!("{SERVICE}/32"), "dev", PUBLIC_IF])
        .expect("remove the dead primary's address");
}

#[test]
fn private_cut_is_an_anomaly_only() {
    if skip_unless_root("scenarios::private_cut_is_an_anomaly_only") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("private-cut", fast_patient());
    record_stages(&lab.srun);
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];

    let cut = Instant::now();
    lab.t.unplug(&lab.t.primary, Net::Private).unwrap();
    lab.wait("the anomaly", WAIT, &logs, || {
        fo.logged_after(cut, "network anomaly").is_some()
    });
    std::thread::sleep(QUIET);
    lab.t.plug(&lab.t.primary, Net::Private).unwrap();
    lab.wait_mailed(&lab.srun, "NetworkRestored", &logs);
    let end = Instant::now();

    lab.check_anomaly_only(&hb, &fo, "the primary must hold the address throughout");
    lab.check(lab.runs() == ["primary"], "only the primary serves", &logs);
    let outage = longest_outage(&lab.probes(), cut, end);
    lab.check(
        outage < NO_OUTAGE,
        &format!("the client must keep its service (longest gap {outage:?})"),
        &logs,
    );
}

#[test]
fn a_public_cut_on_the_primary_hands_the_service_over_and_back() {
    // Issue 11, B: the cable of the primary's service interface is pulled;
    // the private link still works. Apple's rule made this an anomaly only,
    // and nobody answered the client while the cable was out. Now the
    // primary, which sees its own carrier go, hands the service to the
    // secondary (release first, then acquire) and takes it back once the
    // cable has been in for the settling time.
    if skip_unless_root("scenarios::a_public_cut_on_the_primary_hands_the_service_over_and_back") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("public-cut", Profile::fast());
    record_stages(&lab.srun);
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];

    let cut = Instant::now();
    lab.t.unplug(&lab.t.primary, Net::Public).unwrap();
    lab.wait_owner(Owner::Secondary, &logs);
    lab.wait_served_by("secondary", cut, &logs);
    lab.wait_mailed(&lab.prun, "HandedOver", &logs);
    lab.wait_mailed(&lab.srun, "TookOver", &logs);
    let (_, s) = lab.held();
    let moved = s.first().map(|h| h.0.saturating_duration_since(cut));
    println!("public cable cut: the secondary held the address after {moved:?}");
    lab.check(
        hb.logged_after(cut, "clients cannot reach this server: no carrier on pub0")
            .is_some(),
        "heartbeatd says why it handed over",
        &logs,
    );
    lab.check(
        fo.logged_after(
            cut,
            "took over 192.0.2.10: the primary (198.51.100.1) handed them over",
        )
        .is_some(),
        "failoverd says why it took over",
        &logs,
    );
    // Ten intervals of 10 ms is generous: an interval of grace, three
    // frames of asking, the scripts; `ip link` itself can be slow here.
    lab.check(
        moved.is_some_and(|d| d < Duration::from_secs(1)),
        &format!("the secondary took over promptly ({moved:?})"),
        &logs,
    );

    std::thread::sleep(QUIET);
    let plugged = Instant::now();
    lab.t.plug(&lab.t.primary, Net::Public).unwrap();
    lab.wait_owner(Owner::Primary, &logs);
    lab.wait_served_by("primary", plugged, &logs);
    lab.wait_mailed(&lab.srun, "Relinquished", &logs);

    lab.check_never_two_holders(&logs);
    lab.check(
        acquire_then_release(&stages(&lab.srun)),
        &format!(
            "acquire stages, then release stages: {:?}",
            stages(&lab.srun)
        ),
        &logs,
    );
    lab.check(
        lab.runs() == ["primary", "secondary", "primary"],
        "the client was served by the primary, the secondary, the primary",
        &logs,
    );
    let (pm, sm) = (events(&lab.prun), events(&lab.srun));
    lab.check(
        ["Unreachable", "HandedOver", "Reachable", "Acquired"]
            .iter()
            .all(|e| pm.iter().any(|m| m == e))
            && sm.iter().any(|m| m == "PrimaryHandedOver"),
        &format!("both mailed what happened and why: {pm:?} {sm:?}"),
        &logs,
    );
}

#[test]
fn a_half_healed_primary_does_not_get_the_service_back() {
    // Issue 11, A, and Apple's own test procedure: both of the primary's
    // cables are pulled, the secondary takes over; the private cable comes
    // back first, the public one later. The primary hears the secondary
    // again at once, but clients still cannot reach it: the secondary keeps
    // serving until the public cable is back.
    if skip_unless_root("scenarios::a_half_healed_primary_does_not_get_the_service_back") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("half-healed", Profile::fast());
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];

    let cut = Instant::now();
    lab.t.unplug_both(&lab.t.primary).unwrap();
    lab.wait_owner(Owner::Secondary, &logs);
    lab.wait_served_by("secondary", cut, &logs);

    let private_back = Instant::now();
    lab.t.plug(&lab.t.primary, Net::Private).unwrap();
    lab.wait(
        "heartbeatd to hear the secondary again",
        WAIT,
        &logs,
        || hb.logged_after(private_back, "carrier back").is_some(),
    );
    std::thread::sleep(QUIET);
    let public_back = Instant::now();
    let (p, s) = lab.held();
    lab.check(
        s.last().is_some_and(|h| h.1.is_none()) && p.last().is_none_or(|h| h.1.is_some()),
        &format!("with the private cable alone back, the secondary still serves: {p:?} {s:?}"),
        &logs,
    );
    let gap = longest_outage(&lab.probes(), private_back, public_back);
    lab.check(
        gap < NO_OUTAGE,
        &format!(
            "the client kept its service while the primary was half healed (longest gap {gap:?})"
        ),
        &logs,
    );

    lab.t.plug(&lab.t.primary, Net::Public).unwrap();
    lab.wait_owner(Owner::Primary, &logs);
    lab.wait_served_by("primary", public_back, &logs);
    let (p, _) = lab.held();
    lab.check(
        p.last().is_some_and(|h| h.0 >= public_back),
        &format!("the primary took the address back only after its public cable: {p:?}"),
        &logs,
    );
    lab.check_never_two_holders(&logs);
    lab.check(
        lab.runs() == ["primary", "secondary", "primary"],
        "the client was served by the primary, the secondary, the primary",
        &logs,
    );
}

#[test]
fn a_primary_whose_probe_goes_unanswered_hands_over_and_takes_back() {
    // Issue 11, item 2: every carrier stays up, but the switch stops
    // forwarding between the primary and the rest of the public network
    // (here: ARP from the client, the probe target, to the primary's port).
    // `--probe` notices within ten probe periods; the primary hands over,
    // and takes the service back once the probe answers again.
    if skip_unless_root(
        "scenarios::a_primary_whose_probe_goes_unanswered_hands_over_and_takes_back",
    ) {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("probe", Profile::fast());
    let probe = CLIENT_IP.to_string();
    let hb = lab.heartbeatd(&["--probe", &probe]);
    let fo = lab.failoverd(&["--probe", &probe]);
    lab.steady(&hb, &fo);
    let logs = [&hb, &fo];

    let primary_port = lab.t.primary.port(Net::Public);
    let blocked = Instant::now();
    ArpBlock::set(&lab.t.switch, "client-pub", &primary_port).expect("block ARP");
    lab.wait_owner(Owner::Secondary, &logs);
    lab.wait_mailed(&lab.prun, "HandedOver", &logs);
    let (_, s) = lab.held();
    let moved = s.first().map(|h| h.0.saturating_duration_since(blocked));
    println!("probe unanswered: the secondary held the address after {moved:?}");
    lab.check(
        hb.logged_after(
            blocked,
            &format!("no answer from the probe {probe} on pub0"),
        )
        .is_some(),
        "heartbeatd says the probe went unanswered",
        &logs,
    );
    lab.check(
        hb.logged_after(blocked, "carrier lost").is_none(),
        "no carrier was lost",
        &logs,
    );

    let cleared = Instant::now();
    ArpBlock::clear(&lab.t.switch).expect("unblock ARP");
    lab.wait_owner(Owner::Primary, &logs);
    lab.wait_served_by("primary", cleared, &logs);
    lab.check_never_two_holders(&logs);
    let runs = lab.runs();
    lab.check(
        runs.first().is_some_and(|r| r == "primary")
            && runs.last().is_some_and(|r| r == "primary")
            && runs.iter().any(|r| r == "secondary"),
        &format!("the client was served by the primary, the secondary, the primary: {runs:?}"),
        &logs,
    );
}

#[test]
fn both_cut_takes_over_and_fails_back_on_replug() {
    if skip_unless_root("scenarios::both_cut_takes_over_and_fails_back_on_replug") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("both-cut", Profile::fast());
    record_stages(&lab.srun);
    lab.capture = Some(Capture::start(lab.t.switch.ns(), PUBLIC_BRIDGE, SERVICE).expect("capture"));
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];
    let (pmac, smac) = (
        lab.t.primary.public_mac().unwrap(),
        lab.t.secondary.public_mac().unwrap(),
    );

    let cut = Instant::now();
    lab.t.unplug_both(&lab.t.primary).unwrap();
    lab.wait_owner(Owner::Secondary, &logs);
    lab.wait_served_by("secondary", cut, &logs);
    lab.wait_mailed(&lab.srun, "TookOver", &logs);
    lab.check(
        stages(&lab.srun).starts_with(&ACQUIRE.map(str::to_owned)),
        "Test, PreAcq, PostAcq ran in order",
        &logs,
    );
    let capture = lab.capture.as_ref().unwrap();
    lab.check(
        capture.first_garp(&smac, cut).is_some(),
        "the secondary announced the address (gratuitous ARP)",
        &logs,
    );

    let plugged = Instant::now();
    lab.t.plug_both(&lab.t.primary).unwrap();
    lab.wait_owner(Owner::Primary, &logs);
    lab.wait_served_by("primary", plugged, &logs);
    lab.wait_mailed(&lab.srun, "Relinquished", &logs);
    lab.wait("the primary's gratuitous ARP", WAIT, &logs, || {
        lab.capture
            .as_ref()
            .unwrap()
            .first_garp(&pmac, plugged)
            .is_some()
    });

    lab.check(
        acquire_then_release(&stages(&lab.srun)),
        &format!(
            "acquire stages, then release stages: {:?}",
            stages(&lab.srun)
        ),
        &logs,
    );
    lab.check_never_two_holders(&logs);
    // One hold each way; more only where a daemon logged a stall.
    let (p, s) = lab.held();
    lab.check(
        p.len() >= 2
            && p.len() <= 2 + stalls(&hb)
            && s.len() <= 1 + stalls(&fo)
            && p.last().is_some_and(|h| h.1.is_none()),
        &format!("the primary, the secondary, the primary again: {p:?} {s:?}"),
        &logs,
    );
    lab.check(
        lab.runs() == ["primary", "secondary", "primary"],
        "the client was served by the primary, the secondary, the primary",
        &logs,
    );
    let (pm, sm) = (events(&lab.prun), events(&lab.srun));
    lab.check(
        pm.contains(&"Isolated".to_owned()) && sm.contains(&"TookOver".to_owned()),
        &format!(
            "the primary mailed that it was cut off, the secondary its takeover: {pm:?} {sm:?}"
        ),
        &logs,
    );
}

#[test]
fn primary_process_killed_then_restarted() {
    if skip_unless_root("scenarios::primary_process_killed_then_restarted") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("primary-killed", Profile::fast());
    record_stages(&lab.srun);
    let (hb, fo) = lab.start_both();

    let killed = Instant::now();
    lab.t.primary.ns.signal(hb.pid, Signal::SIGKILL).unwrap();
    lab.wait("the takeover", WAIT, &[&hb, &fo], || {
        lab.owners.1.holds_now()
    });
    lab.wait_served_by("secondary", killed, &[&hb, &fo]);
    lab.wait_mailed(&lab.srun, "TookOver", &[&fo]);
    // A killed heartbeatd cannot remove its address: the kernel keeps it
    // on the primary's interface until heartbeatd runs again. Both servers
    // have it meanwhile; the secondary's gratuitous ARP points the client
    // at the secondary. (This is why the systemd unit restarts heartbeatd
    // after a second.)
    lab.check(
        lab.owners.0.holds_now(),
        "the dead heartbeatd's address stays",
        &[&fo],
    );

    std::thread::sleep(Duration::from_millis(300));
    let restarted = Instant::now();
    let hb2 = lab.heartbeatd(&[]);
    let logs = [&hb2, &fo];
    lab.wait_owner(Owner::Primary, &logs);
    lab.wait_served_by("primary", restarted, &logs);
    lab.wait_mailed(&lab.srun, "Relinquished", &logs);
    lab.check(
        hb2.logged("left by a previous run"),
        "the restarted heartbeatd removed the address its killed predecessor left",
        &logs,
    );

    // The overlap ended when the restarted heartbeatd removed the leftover,
    // and the failback itself had none.
    let (p, s) = lab.held();
    let leftover_gone = held_at(&p, killed).and_then(|h| h.1);
    lab.check(
        leftover_gone.is_some_and(|t| t >= restarted),
        &format!("the leftover went with the restart: {p:?}"),
        &logs,
    );
    let since = overlap_since(&p, &s, leftover_gone.unwrap(), Instant::now());
    lab.check(
        since.is_zero(),
        &format!("zero overlap from the restart on ({since:?})"),
        &logs,
    );
    lab.check(
        acquire_then_release(&stages(&lab.srun)),
        &format!(
            "acquire stages, then release stages: {:?}",
            stages(&lab.srun)
        ),
        &logs,
    );
    lab.check(
        hb2.logged("reclaiming"),
        "the restarted primary reclaimed through the handshake",
        &logs,
    );
    // While the killed heartbeatd's address stayed, both kernels had it,
    // and either may have answered the client's ARP (the primary's kernel
    // also asks for the client's MAC to answer it, which moves the client
    // back): which one served then is up to ARP. From the clean-up on, the
    // secondary at most, then the primary for good.
    let gone = leftover_gone.unwrap();
    lab.check(
        lab.runs().first().is_some_and(|r| r == "primary")
            && lab.runs().iter().any(|r| r == "secondary")
            && ["secondary,primary", "primary"].contains(&lab.runs_since(gone).join(",").as_str()),
        &format!(
            "the client: the primary, the secondary, the primary ({:?}; since the clean-up {:?})",
            lab.runs(),
            lab.runs_since(gone)
        ),
        &logs,
    );
}

#[test]
fn primary_frozen_then_thawed_drops_at_once() {
    if skip_unless_root("scenarios::primary_frozen_then_thawed_drops_at_once") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("primary-frozen", Profile::fast());
    record_stages(&lab.srun);
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];

    let frozen = Instant::now();
    lab.t.primary.ns.signal(hb.pid, Signal::SIGSTOP).unwrap();
    lab.wait("the takeover", WAIT, &logs, || lab.owners.1.holds_now());
    lab.wait_served_by("secondary", frozen, &logs);
    std::thread::sleep(Duration::from_millis(500));
    // Frozen, heartbeatd cannot remove its address: both have it now.
    lab.check(
        lab.owners.0.holds_now(),
        "the frozen primary still has it",
        &logs,
    );

    let thawed = Instant::now();
    lab.t.primary.ns.signal(hb.pid, Signal::SIGCONT).unwrap();
    // The stall rule: more than two intervals without running, so it
    // drops its addresses before doing anything else, then reclaims.
    lab.wait(
        "the thawed primary to drop the address",
        WAIT,
        &logs,
        || !lab.owners.0.holds_now(),
    );
    lab.wait_owner(Owner::Primary, &logs);
    lab.wait_served_by("primary", thawed, &logs);
    lab.wait_mailed(&lab.prun, "Stalled", &logs);
    lab.wait_mailed(&lab.srun, "Relinquished", &logs);

    let (p, s) = lab.held();
    let dropped = held_at(&p, frozen).and_then(|h| h.1).unwrap();
    let kept = dropped.saturating_duration_since(thawed);
    // "At once": its first turn after SIGCONT. Bounded generously for a
    // loaded machine; the alternative rule (hearing the secondary's HOLDS)
    // would also be quick at 10 ms beats, so the Stalled mail above is
    // what shows which rule acted.
    lab.check(
        kept < Duration::from_millis(500),
        &format!("the thawed primary kept the address {kept:?} next to the secondary"),
        &logs,
    );
    let after = overlap_since(&p, &s, dropped, Instant::now());
    lab.check(
        after.is_zero(),
        &format!("no overlap after the drop ({after:?})"),
        &logs,
    );
    lab.check(
        hb.logged_after(thawed, "was frozen too long: dropped 192.0.2.10")
            .is_some(),
        "heartbeatd logged that it dropped the address for its stall",
        &logs,
    );
    // While the primary was frozen, both kernels had the address, and
    // either may have answered the client's ARP: which one served then is
    // up to ARP. From the drop on, the secondary at most, then the primary
    // for good.
    lab.check(
        lab.runs().first().is_some_and(|r| r == "primary")
            && lab.runs().iter().any(|r| r == "secondary")
            && ["secondary,primary", "primary"]
                .contains(&lab.runs_since(dropped).join(",").as_str()),
        &format!(
            "the client: the primary, the secondary, the primary ({:?}; since the drop {:?})",
            lab.runs(),
            lab.runs_since(dropped)
        ),
        &logs,
    );
}

#[test]
fn secondary_isolated_takes_nothing_and_the_client_keeps_its_service() {
    if skip_unless_root(
        "scenarios::secondary_isolated_takes_nothing_and_the_client_keeps_its_service",
    ) {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("secondary-isolated", fast_patient());
    record_stages(&lab.srun);
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];

    let cut = Instant::now();
    lab.t.unplug_both(&lab.t.secondary).unwrap();
    lab.wait("failoverd to see it is cut off", WAIT, &logs, || {
        fo.logged_after(cut, "no carrier on any link").is_some()
    });
    lab.wait_mailed(&lab.prun, "PeerLost", &logs);
    std::thread::sleep(QUIET);
    let plugged = Instant::now();
    lab.t.plug_both(&lab.t.secondary).unwrap();
    lab.wait_mailed(&lab.prun, "PeerRegained", &logs);
    // Back on the network, failoverd watches the primary again.
    let bin = lab.bins.failoverd.clone();
    lab.wait("failoverd to hear the primary again", WAIT, &logs, || {
        fo.logged_after(plugged, "carrier back").is_some()
            && status(&bin, &fo).contains("198.51.100.1: alive")
    });
    std::thread::sleep(Duration::from_millis(300));
    let end = Instant::now();

    let (p, s) = lab.held();
    lab.check(
        s.is_empty(),
        "the isolated secondary must never take the address",
        &logs,
    );
    lab.check(
        primary_kept_it(&p, &hb),
        "the primary holds the address throughout",
        &logs,
    );
    lab.check(stages(&lab.srun).is_empty(), "no script may run", &logs);
    lab.check(
        !events(&lab.srun).iter().any(|e| e == "TookOver"),
        "no takeover mail",
        &logs,
    );
    lab.check(lab.runs() == ["primary"], "only the primary serves", &logs);
    let outage = longest_outage(&lab.probes(), cut, end);
    lab.check(
        outage < NO_OUTAGE,
        &format!("the client never loses its service (longest gap {outage:?})"),
        &logs,
    );
}

#[test]
fn thirty_percent_loss_everywhere_makes_no_false_takeover() {
    if skip_unless_root("scenarios::thirty_percent_loss_everywhere_makes_no_false_takeover") {
        return;
    }
    let _serial = serial();
    // 30 s, 3000 rounds at 10 ms beats, where a detector that ignored the
    // loss (a fixed 30 ms dead time) would see all of 0.09^3 ≈ 7·10⁻⁴ per
    // round lost on both networks (30 % per port, about 51 % end to end
    // on each), a couple of false verdicts per run; the benchmark counted
    // 51 with the fixed dead time. `auto` (failoverd's default at these
    // intervals) must make none.
    const LOSSY: Duration = Duration::from_secs(30);
    // No --deadtime: failoverd's own default at 10 ms beats, the adaptive
    // dead time, is what is under test.
    let mut profile = Profile::fast();
    profile.deadtime = None;
    let mut lab = Lab::new("loss-30", profile);
    record_stages(&lab.srun);
    // Every frame entering the switch is lost with 30 % probability: 30 %
    // loss on every path, both directions, both networks. Set before the
    // daemons start, so the detector learns the loss as it warms up: a
    // sudden onset on both networks at once is a correlated event that
    // docs/detector.md ("Onset") leaves to the witness and the hold-down.
    let ports = [
        "primary-priv",
        "primary-pub",
        "secondary-priv",
        "secondary-pub",
        "client-pub",
    ];
    Loss::set_many(&lab.t.switch, &ports, Direction::FromHost, 30).expect("loss");
    let hb = lab.heartbeatd(&[]);
    let fo = lab.failoverd(&[]);
    let logs = [&hb, &fo];
    lab.wait_owner(Owner::Primary, &logs);
    lab.start_client();
    std::thread::sleep(LOSSY);
    let counts = Loss::counts(&lab.t.switch, "primary-priv", Direction::FromHost).unwrap();
    Loss::clear_all(&lab.t.switch).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let share = counts.dropped as f64 / counts.seen.max(1) as f64;
    lab.check(
        counts.seen > 1000 && (0.25..0.35).contains(&share),
        &format!("the loss was there: {counts:?}"),
        &logs,
    );
    // A verdict is false (the loss's doing) unless heartbeatd itself says
    // it did not run then: a primary that does not run for longer than the
    // dead time is rightly taken over from (this happens on a machine
    // loaded beyond its two cores even at real-time priority). It drops
    // the address when it runs again, and the secondary gives it back.
    let verdicts = verdicts(&fo);
    let hb_stalls: Vec<Instant> = hb
        .lines()
        .iter()
        .filter(|(_, l)| l.contains("was frozen too long"))
        .map(|(t, _)| *t)
        .collect();
    let false_verdicts: Vec<&Instant> = verdicts
        .iter()
        .filter(|v| {
            !hb_stalls.iter().any(|s| {
                *s + Duration::from_millis(200) >= **v && *s <= **v + Duration::from_secs(1)
            })
        })
        .collect();
    lab.check(
        false_verdicts.is_empty(),
        &format!(
            "no false verdict: {} verdict(s), {} with no primary stall ({} stall(s))",
            verdicts.len(),
            false_verdicts.len(),
            hb_stalls.len()
        ),
        &logs,
    );
    let (p, s) = lab.held();
    if verdicts.is_empty() {
        lab.check(
            s.is_empty(),
            &format!("no false takeover: the secondary held {s:?}"),
            &logs,
        );
        lab.check(!fo.logged("took over"), "no takeover in the log", &logs);
        lab.check(stages(&lab.srun).is_empty(), "no script ran", &logs);
        lab.check(
            primary_kept_it(&p, &hb),
            "the primary held the address throughout",
            &logs,
        );
        lab.check(
            lab.runs() == ["primary"],
            "only the primary answered the client",
            &logs,
        );
    } else {
        eprintln!(
            "note: {} takeover(s) of a stalled primary during the lossy period (the machine \
             is overloaded); none was the loss's doing",
            verdicts.len()
        );
        lab.wait_owner(Owner::Primary, &logs);
    }
    let status = status(&lab.bins.failoverd, &fo);
    lab.check(
        status.contains("role: secondary") && status.contains("198.51.100.1: alive"),
        &format!("failoverd still monitors a live primary:\n{status}"),
        &logs,
    );
}

/// Writes a key file (mode 600) with one key, id 1, and returns its path.
fn key_file(run: &RunDir, hex: &str) -> String {
    let p = run.path.join("keys");
    fs::write(&p, format!("1 {hex}\n")).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    p.display().to_string()
}

#[test]
fn forged_and_replayed_heartbeats_neither_hold_off_nor_undo_a_takeover() {
    if skip_unless_root(
        "scenarios::forged_and_replayed_heartbeats_neither_hold_off_nor_undo_a_takeover",
    ) {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("forged", Profile::fast());
    record_stages(&lab.srun);
    let secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let (pkeys, skeys) = (key_file(&lab.prun, secret), key_file(&lab.srun, secret));
    let hb = lab.heartbeatd(&["--key-file", &pkeys]);
    let fo = lab.failoverd(&["--key-file", &skeys]);
    lab.steady(&hb, &fo);
    let logs = [&hb, &fo];
    let attacker = Attacker::join_private(&lab.t).expect("the attacker joins");
    let mut ch = attacker.channel().expect("the attacker's channel");

    // The attacker records genuine, signed frames of the primary.
    let mut captured: Vec<Vec<u8>> = Vec::new();
    let until = Instant::now() + Duration::from_millis(500);
    for _ in 0..100_000 {
        if Instant::now() >= until || captured.len() >= 200 {
            break;
        }
        if let Ok(Some(frame)) = ch.recv_timeout(Duration::from_millis(20)) {
            if parse_udp_frame(frame, DEFAULT_PORT)
                .is_some_and(|u| u.src_ip == lab.t.primary.private_ip)
            {
                captured.push(frame.to_vec());
            }
        }
    }
    lab.check(
        captured.len() >= 10,
        "the attacker captured primary frames",
        &logs,
    );
    let before = FrameCounters::from_status(&status(&lab.bins.failoverd, &fo)).expect("counters");

    // From now on it sends, every 2 ms, a heartbeat that claims to be the
    // primary's (its node id, a newer epoch, HOLDS; later also RECLAIM)
    // signed with a key of the right id but the wrong secret, and one of
    // the genuine frames again.
    let stop = Arc::new(AtomicBool::new(false));
    let reclaim = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU32::new(0));
    let flow = Attacker::flow(&ch);
    let interval = failover_core::Duration::from_millis(lab.profile.interval_ms);
    let forger = {
        let (stop, reclaim, sent) = (stop.clone(), reclaim.clone(), sent.clone());
        std::thread::spawn(move || {
            let wrong = Keyring::new(Key::new(1, b"not the deployment's secret key!").unwrap());
            let epoch = u32::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs(),
            )
            .unwrap()
                + 1000;
            let started = Instant::now();
            let mut frame = [0u8; 256];
            for seq in 0..100_000u32 {
                if stop.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(60) {
                    break;
                }
                let flags = if reclaim.load(Ordering::Relaxed) {
                    HeartbeatFlags::RECLAIM
                } else {
                    HeartbeatFlags::HOLDS
                };
                let forged = FrameRepr {
                    header: Header {
                        sender: NodeId(u32::from_be_bytes([198, 51, 100, 1])),
                        role: Role::Primary,
                        link: LinkId(0),
                        epoch,
                        seq,
                    },
                    body: Body::Heartbeat(HeartbeatRepr {
                        beat: seq,
                        interval,
                        ack_epoch: 0,
                        ack_seq: 0,
                        flags,
                        message: Default::default(),
                    }),
                };
                let mut payload = [0u8; MAX_FRAME_LEN];
                let len = forged.emit(&mut payload, Some(&wrong)).unwrap();
                let n = build_udp_frame(&mut frame, &flow, &payload[..len]).unwrap();
                send(&mut ch, &frame[..n]);
                let replay = &captured[seq as usize % captured.len()];
                send(&mut ch, replay);
                sent.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };

    // The primary dies: heartbeatd killed, its address gone with the host.
    std::thread::sleep(Duration::from_millis(200));
    let killed = Instant::now();
    lab.t.primary.ns.signal(hb.pid, Signal::SIGKILL).unwrap();
    primary_host_forgets_the_address(&lab.t);
    lab.wait_owner(Owner::Secondary, &logs);
    let took = killed.elapsed();
    lab.wait_served_by("secondary", killed, &logs);
    // Now the forged frames ask for the address back: no release.
    reclaim.store(true, Ordering::Relaxed);
    std::thread::sleep(QUIET);
    stop.store(true, Ordering::Relaxed);
    let _ = forger.join();

    let after = FrameCounters::from_status(&status(&lab.bins.failoverd, &fo)).expect("counters");
    let forged = u64::from(sent.load(Ordering::Relaxed));
    lab.check(
        forged > 500,
        &format!("the attacker sent {forged} forged and {forged} replayed frames"),
        &logs,
    );
    // Some frames are lost to the raw channels' buffers on a loaded
    // machine; most must be counted.
    lab.check(
        after.auth_failed - before.auth_failed >= forged / 2,
        &format!("forged frames failed authentication: {before:?} -> {after:?}, {forged} sent"),
        &logs,
    );
    lab.check(
        after.replayed - before.replayed >= forged / 2,
        &format!("replayed frames were refused: {before:?} -> {after:?}, {forged} sent"),
        &logs,
    );
    lab.check(
        took < Duration::from_secs(2),
        &format!("the takeover was not held off ({took:?} after the kill)"),
        &logs,
    );
    let (p, s) = lab.held();
    // Once, and kept; a failoverd stall while holding (logged) drops the
    // address and takes it again, with PostRel only.
    lab.check(
        s.last().is_some_and(|h| h.1.is_none()) && s.len() <= 1 + stalls(&fo),
        &format!("the secondary took over once and kept the address: {s:?}"),
        &logs,
    );
    // The primary's death is two steps here (the kill, then its address
    // removed with `ip`): a takeover between them is the test's doing, so
    // the overlap counts from the removal.
    let gone = p.last().and_then(|h| h.1);
    lab.check(
        gone.is_some_and(|t| t >= killed),
        &format!("the dead primary's address went with it, for good: {p:?}"),
        &logs,
    );
    let both = overlap_since(&p, &s, gone.unwrap(), Instant::now());
    lab.check(
        both.is_zero(),
        &format!("never two holders ({both:?})"),
        &logs,
    );
    // A release in answer to a RECLAIM starts with PreRel.
    let ran = stages(&lab.srun);
    lab.check(
        ran.starts_with(&ACQUIRE.map(str::to_owned))
            && !ran.iter().any(|s| s.starts_with("PreRel")),
        &format!("took over, and no reclaim was answered: {ran:?}"),
        &logs,
    );
    let mail = events(&lab.srun);
    lab.check(
        mail.iter().any(|e| e == "TookOver")
            && mail.iter().filter(|e| *e == "Relinquished").count() <= stalls(&fo),
        &format!("took over, never relinquished: {mail:?}"),
        &logs,
    );
}

/// Issue 11, scenario D: without a key, a third host on the private
/// network sends a few forged heartbeats: a copy of a real one of the
/// primary with epoch 0xFFFFFFFF, seq 1 and an interval of u32::MAX µs,
/// once for each link id; the same in the secondary's name claiming HOLDS;
/// and a stranger claiming the secondary role with HOLDS. Before the fix
/// the secondary refused the real primary for good (its epoch now "older")
/// and took over, and heartbeatd, hearing HOLDS, gave the address up and
/// stayed "reclaiming". Now nothing happens but counted refusals.
#[test]
fn forged_unkeyed_heartbeats_of_a_huge_epoch_change_nothing() {
    if skip_unless_root("scenarios::forged_unkeyed_heartbeats_of_a_huge_epoch_change_nothing") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("forged-unkeyed", fast_patient());
    record_stages(&lab.srun);
    let secondary_ip = lab.t.secondary.private_ip.to_string();
    let hb = lab.heartbeatd(&["--peer", &secondary_ip]);
    let fo = lab.failoverd(&[]);
    lab.steady(&hb, &fo);
    let logs = [&hb, &fo];
    let attacker = Attacker::join_private(&lab.t).expect("the attacker joins");
    let mut ch = attacker.channel().expect("the attacker's channel");
    let flow = Attacker::flow(&ch);

    // One real heartbeat of each server, as the tester captured them.
    let (mut primary, mut secondary) = (None, None);
    let until = Instant::now() + Duration::from_secs(2);
    for _ in 0..100_000 {
        if Instant::now() >= until || (primary.is_some() && secondary.is_some()) {
            break;
        }
        if let Ok(Some(frame)) = ch.recv_timeout(Duration::from_millis(20)) {
            let Some(u) = parse_udp_frame(frame, DEFAULT_PORT) else {
                continue;
            };
            let Ok(f) = FrameRepr::parse(u.payload, None) else {
                continue;
            };
            match f.header.role {
                Role::Primary => primary = Some(f),
                Role::Secondary => secondary = Some(f),
                Role::Witness => {}
            }
        }
    }
    let (Some(primary), Some(secondary)) = (primary, secondary) else {
        lab.fail("the attacker captured a heartbeat of each server", &logs);
    };
    let before = (
        FrameCounters::from_status(&status(&lab.bins.heartbeatd, &hb)).expect("counters"),
        FrameCounters::from_status(&status(&lab.bins.failoverd, &fo)).expect("counters"),
    );

    let forge = |mut f: FrameRepr, sender: Option<NodeId>, link: u8, holds: bool| {
        f.header.epoch = u32::MAX;
        f.header.seq = 1;
        f.header.link = LinkId(link);
        if let Some(id) = sender {
            f.header.sender = id;
        }
        if let Body::Heartbeat(hb) = &mut f.body {
            hb.interval = failover_core::Duration::from_micros(u64::from(u32::MAX));
            if holds {
                hb.flags = HeartbeatFlags::HOLDS;
            }
        }
        let mut payload = [0u8; MAX_FRAME_LEN];
        let len = f.emit(&mut payload, None).unwrap();
        payload[..len].to_vec()
    };
    let stranger = NodeId(u32::from_be_bytes([198, 51, 100, 99]));
    let mut frames = Vec::new();
    for link in 0..2 {
        frames.push(forge(primary.clone(), None, link, false));
        frames.push(forge(secondary.clone(), None, link, true));
        frames.push(forge(secondary.clone(), Some(stranger), link, true));
    }
    let attack = Instant::now();
    let mut frame = [0u8; 256];
    let mut sent = 0;
    for payload in &frames {
        let n = build_udp_frame(&mut frame, &flow, payload).unwrap();
        if send(&mut ch, &frame[..n]) {
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    lab.check(sent == frames.len(), "the attacker sent its frames", &logs);
    // Many dead times (200 ms) and reclaim rounds.
    std::thread::sleep(QUIET * 2);

    let after = (
        FrameCounters::from_status(&status(&lab.bins.heartbeatd, &hb)).expect("counters"),
        FrameCounters::from_status(&status(&lab.bins.failoverd, &fo)).expect("counters"),
    );
    let (p, s) = lab.held();
    lab.check(
        s.is_empty(),
        &format!("the secondary never held the address: {s:?}"),
        &logs,
    );
    lab.check(
        primary_kept_it(&p, &hb),
        &format!("the primary kept the address: {p:?}"),
        &logs,
    );
    lab.check(!fo.logged("took over"), "no takeover", &logs);
    lab.check(stages(&lab.srun).is_empty(), "no script ran", &logs);
    // The stall rule may drop and retake the address on a loaded machine
    // (primary_kept_it allows for it); a yield to the forged HOLDS would be
    // logged as "gave up".
    let yielded: Vec<String> = hb
        .lines()
        .into_iter()
        .filter(|(t, l)| *t >= attack && l.contains("gave up"))
        .map(|(_, l)| l)
        .collect();
    lab.check(
        yielded.is_empty() && !events(&lab.prun).iter().any(|e| e == "Yielded"),
        &format!("heartbeatd never yielded to a forged secondary: {yielded:?}"),
        &logs,
    );
    lab.wait(
        "heartbeatd to hold the address, not reclaim it",
        WAIT,
        &logs,
        || status(&lab.bins.heartbeatd, &hb).contains("holding the service addresses"),
    );
    let outage = longest_outage(&lab.probes(), attack, Instant::now());
    lab.check(
        outage < NO_OUTAGE,
        &format!("the client kept its service (longest gap {outage:?})"),
        &logs,
    );
    lab.check(
        status(&lab.bins.failoverd, &fo).contains("198.51.100.1: alive"),
        "failoverd still hears the real primary",
        &logs,
    );
    // Counted: the forged primary frames as unconfirmed on the secondary,
    // the forged secondary frames as unconfirmed and the stranger's as
    // ignored on the primary (a raw channel may drop one on a loaded
    // machine: at least one of each).
    lab.check(
        after.1.unconfirmed > before.1.unconfirmed,
        &format!("failoverd counted the forged epoch: {before:?} -> {after:?}"),
        &logs,
    );
    lab.check(
        after.0.unconfirmed > before.0.unconfirmed && after.0.ignored > before.0.ignored,
        &format!("heartbeatd counted the forged epoch and the stranger: {before:?} -> {after:?}"),
        &logs,
    );
}

#[test]
fn a_flood_of_malformed_frames_changes_nothing() {
    if skip_unless_root("scenarios::a_flood_of_malformed_frames_changes_nothing") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("malformed-flood", fast_patient());
    record_stages(&lab.srun);
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];
    let attacker = Attacker::join_private(&lab.t).expect("the attacker joins");
    let mut ch = attacker.channel().expect("the attacker's channel");
    let flow = Attacker::flow(&ch);
    let before = (
        FrameCounters::from_status(&status(&lab.bins.heartbeatd, &hb)).expect("counters"),
        FrameCounters::from_status(&status(&lab.bins.failoverd, &fo)).expect("counters"),
    );

    // 3 s of garbage on port 1694, about 5000 datagrams a second: every
    // way a frame can be malformed (too short, wrong magic, lengths that
    // lie, unknown codes, a zero interval, an overlong message), each with
    // random filler, between valid UDP headers.
    let flood = Duration::from_secs(3);
    let start = Instant::now();
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut frame = [0u8; 256];
    let mut sent = 0u64;
    for i in 0..1_000_000u64 {
        if start.elapsed() >= flood {
            break;
        }
        let mut p = [0u8; 80];
        for b in p.iter_mut() {
            *b = next() as u8;
        }
        let len = match i % 7 {
            // Too short for a header.
            0 => 1 + (next() % 23) as usize,
            // Wrong magic.
            1 => 24 + (next() % 40) as usize,
            // "HB" v1 heartbeat, total length below the header.
            2 => {
                p[..8].copy_from_slice(&[b'H', b'B', 1, 1, 0, 0, 0, 10]);
                48
            }
            // Declared longer than the datagram.
            3 => {
                p[..8].copy_from_slice(&[b'H', b'B', 1, 1, 0, 0, 0, 120]);
                48
            }
            // Unknown auth code, bad role and link.
            4 => {
                p[..8].copy_from_slice(&[b'H', b'B', 1, 1, 9, 0, 0, 48]);
                p[12] = 7;
                p[13] = 9;
                48
            }
            // A heartbeat with a zero interval.
            5 => {
                p[..8].copy_from_slice(&[b'H', b'B', 1, 1, 0, 0, 0, 48]);
                p[8..12].copy_from_slice(&[198, 51, 100, 1]);
                p[12] = 1;
                p[13] = 0;
                p[28..32].copy_from_slice(&[0, 0, 0, 0]);
                p[41] = 0;
                48
            }
            // A message length above 64.
            _ => {
                p[..8].copy_from_slice(&[b'H', b'B', 1, 1, 0, 0, 0, 60]);
                p[8..12].copy_from_slice(&[198, 51, 100, 1]);
                p[12] = 1;
                p[13] = 0;
                p[28..32].copy_from_slice(&[0, 0, 0x27, 0x10]);
                p[41] = 200;
                60
            }
        };
        let n = build_udp_frame(&mut frame, &flow, &p[..len]).unwrap();
        send(&mut ch, &frame[..n]);
        sent += 1;
        if i % 50 == 49 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    std::thread::sleep(Duration::from_millis(300));

    for d in [&hb, &fo] {
        lab.check(
            is_running(d.pid),
            &format!("{} keeps running", d.name),
            &logs,
        );
    }
    let after = (
        FrameCounters::from_status(&status(&lab.bins.heartbeatd, &hb))
            .expect("heartbeatd answers --status"),
        FrameCounters::from_status(&status(&lab.bins.failoverd, &fo))
            .expect("failoverd answers --status"),
    );
    for (name, b, a) in [
        ("heartbeatd", before.0, after.0),
        ("failoverd", before.1, after.1),
    ] {
        lab.check(
            a.malformed - b.malformed >= sent / 2,
            &format!("{name} counted the malformed frames: {b:?} -> {a:?}, {sent} sent"),
            &logs,
        );
        lab.check(
            a.accepted > b.accepted,
            &format!("{name} still accepts its peer's frames"),
            &logs,
        );
    }
    let (p, s) = lab.held();
    lab.check(s.is_empty(), "no takeover", &logs);
    lab.check(
        primary_kept_it(&p, &hb),
        "the primary held throughout",
        &logs,
    );
    lab.check(!fo.logged("took over"), "no takeover in the log", &logs);
    lab.check(stages(&lab.srun).is_empty(), "no script ran", &logs);
    lab.check(lab.runs() == ["primary"], "only the primary served", &logs);
}

/// Kills (SIGKILL, by PID) the processes a hanging script listed in its
/// file, should the test end before failoverd killed them: it ignores
/// SIGTERM and would otherwise outlive the test. PIDs that are no longer
/// the script or its `sleep` are left alone.
struct KillListed(PathBuf);

impl Drop for KillListed {
    fn drop(&mut self) {
        let listed = fs::read_to_string(&self.0).unwrap_or_default();
        for pid in listed.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            if pid > 1 && (cmdline.contains("Test_hang") || cmdline.starts_with("sleep")) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

#[test]
fn a_hanging_test_script_is_killed_and_vetoes_the_takeover() {
    if skip_unless_root("scenarios::a_hanging_test_script_is_killed_and_vetoes_the_takeover") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("hanging-test", Profile::fast());
    // Test hangs, and ignores SIGTERM (so does the sleep it starts: an
    // ignored signal stays ignored across exec): only SIGKILL, after the
    // runner's 5 s grace, ends it. Its pids go to a file.
    let pids = lab.srun.path.join("test.pids");
    let _hung_guard = KillListed(pids.clone());
    let ran = lab.srun.path.join("stages.txt");
    lab.srun
        .script(
            "Test_hang",
            &format!(
                "echo \"$FAILOVER_STAGE $1 $2\" >> {ran}\ntrap '' TERM\necho $$ > {pids}\nsleep 600 &\necho $! >> {pids}\nwait\nwait\n",
                ran = ran.display(),
                pids = pids.display()
            ),
        )
        .unwrap();
    for stage in ["PreAcq", "PostAcq"] {
        lab.srun
            .script(
                &format!("{stage}_record"),
                &format!("echo \"$FAILOVER_STAGE $1 $2\" >> {}\n", ran.display()),
            )
            .unwrap();
    }
    let hb = lab.heartbeatd(&[]);
    let fo = lab.failoverd(&["--script-timeout", "1"]);
    lab.steady(&hb, &fo);
    let logs = [&hb, &fo];

    let cut = Instant::now();
    lab.t.unplug_both(&lab.t.primary).unwrap();
    let mut hung: Vec<u32> = Vec::new();
    lab.wait("the Test script to start", WAIT, &logs, || {
        hung = fs::read_to_string(&pids)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        hung.len() == 2
    });
    // 1 s limit, then SIGTERM (ignored), SIGKILL 5 s later: the stage ends
    // as timed out, which vetoes the takeover (host scripts/: a veto stage
    // that fails or times out stops the takeover; core retries after
    // veto_retry, 60 s, beyond this test).
    lab.wait("the veto", Duration::from_secs(20), &logs, || {
        fo.logged_after(cut, "vetoed").is_some()
    });
    let vetoed = cut.elapsed();
    lab.wait_mailed(&lab.srun, "Vetoed", &logs);
    lab.wait("the hanging processes to be gone", WAIT, &logs, || {
        hung.iter().all(|p| !is_running(*p))
    });
    std::thread::sleep(Duration::from_millis(500));

    lab.check(
        vetoed >= Duration::from_secs(1),
        &format!("the Test script had its second ({vetoed:?})"),
        &logs,
    );
    let (p, s) = lab.held();
    lab.check(
        s.is_empty(),
        "a timed-out Test is a veto: no takeover",
        &logs,
    );
    lab.check(
        p.len() <= 1 + stalls(&hb) && p.last().is_some_and(|h| h.1.is_some()),
        "the cut-off primary dropped its address",
        &logs,
    );
    // Only Test; twice if a failoverd stall restarted the count of the
    // primary's silence while Test hung (the stage is then cancelled and
    // the takeover begins again).
    let ran = stages(&lab.srun);
    lab.check(
        !ran.is_empty() && ran.iter().all(|s| s == "Test acquire 192.0.2.10"),
        &format!("only Test ran: {ran:?}"),
        &logs,
    );
    lab.check(
        fo.logged("did not finish within its time limit and was killed")
            || fo.logged("was killed at its time limit"),
        "failoverd says the script was killed at its limit",
        &logs,
    );
    lab.check(
        !events(&lab.srun).iter().any(|e| e == "TookOver"),
        "no takeover mail",
        &logs,
    );

    // The primary comes back and serves again; still never two holders.
    let plugged = Instant::now();
    lab.t.plug_both(&lab.t.primary).unwrap();
    lab.wait_owner(Owner::Primary, &logs);
    lab.wait_served_by("primary", plugged, &logs);
    lab.check_never_two_holders(&logs);
    lab.check(
        lab.runs() == ["primary"],
        "only the primary ever served",
        &logs,
    );
}

#[test]
fn failoverd_restarted_while_holding() {
    if skip_unless_root("scenarios::failoverd_restarted_while_holding") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("failoverd-restart", Profile::fast());
    record_stages(&lab.srun);
    let (hb, fo) = lab.start_both();

    // The primary is cut off: the secondary takes over.
    let cut = Instant::now();
    lab.t.unplug_both(&lab.t.primary).unwrap();
    lab.wait_owner(Owner::Secondary, &[&hb, &fo]);
    lab.wait_served_by("secondary", cut, &[&hb, &fo]);
    lab.wait_mailed(&lab.srun, "TookOver", &[&fo]);

    // 1. SIGTERM: it releases (PreRel, remove, PostRel) and exits.
    lab.t.secondary.ns.signal(fo.pid, Signal::SIGTERM).unwrap();
    lab.wait("failoverd to stop", WAIT, &[&fo], || {
        fo.logged("failoverd stopped") && !is_running(fo.pid)
    });
    lab.wait_owner(Owner::Nobody, &[&fo]);
    lab.check(
        stages(&lab.srun).ends_with(&RELEASE.map(str::to_owned)),
        "SIGTERM ran PreRel and PostRel",
        &[&fo],
    );

    // Started again, with the primary still silent: a new takeover.
    let fo2 = lab.failoverd(&[]);
    lab.wait("the second takeover", WAIT, &[&fo2], || {
        lab.owners.1.holds_now()
            && fo2.logged("took over 192.0.2.10")
            && stages(&lab.srun).ends_with(&ACQUIRE.map(str::to_owned))
    });
    // Its mail out before the kill (a killed daemon sends nothing more).
    lab.wait("the second takeover's mail", WAIT, &[&fo2], || {
        fo2.logged("mail \"TookOver\" handed to sendmail")
    });

    // 2. SIGKILL: the address stays behind; the next failoverd removes the
    // leftover first and then, the primary being silent still, takes over.
    lab.t.secondary.ns.signal(fo2.pid, Signal::SIGKILL).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    lab.check(
        lab.owners.1.holds_now(),
        "a killed failoverd cannot remove its address",
        &[&fo2],
    );
    let holds_before = lab.owners.1.held().len();
    let restarted = Instant::now();
    let fo3 = lab.failoverd(&[]);
    lab.wait("the third takeover", WAIT, &[&fo3], || {
        lab.owners.1.holds_now()
            && fo3.logged("took over 192.0.2.10")
            && stages(&lab.srun).ends_with(&ACQUIRE.map(str::to_owned))
    });
    lab.check(
        fo3.logged("left by a previous run"),
        "the restarted failoverd removed the leftover address",
        &[&fo3],
    );
    let s = lab.owners.1.held();
    lab.check(
        s.len() > holds_before && s[holds_before - 1].1.is_some_and(|gone| gone >= restarted),
        &format!("the leftover went when failoverd started again, then it took over: {s:?}"),
        &[&fo3],
    );
    lab.wait("three takeover mails", WAIT, &[&fo3], || {
        events(&lab.srun)
            .iter()
            .filter(|e| *e == "TookOver")
            .count()
            >= 3
    });

    // The primary comes back: failback, never two holders in all of it.
    let plugged = Instant::now();
    lab.t.plug_both(&lab.t.primary).unwrap();
    let logs = [&hb, &fo3];
    lab.wait_owner(Owner::Primary, &logs);
    lab.wait_served_by("primary", plugged, &logs);
    lab.wait("the failback's PostRel", WAIT, &logs, || {
        stages(&lab.srun).ends_with(&RELEASE.map(str::to_owned))
    });
    lab.check_never_two_holders(&logs);
    // Three holds; more only if a failoverd stalled while holding (it then
    // drops the address and takes it again, and says so).
    let (_, s) = lab.held();
    let stalls: usize = [&fo, &fo2, &fo3].iter().map(|d| stalls(d)).sum();
    lab.check(
        s.len() >= 3 && s.len() <= 3 + stalls,
        &format!("three holds by the secondary ({stalls} stalls): {s:?}"),
        &logs,
    );
    lab.check(
        lab.runs() == ["primary", "secondary", "primary"],
        "the client was served by the primary, the secondary, the primary",
        &logs,
    );
}

/// Cuts the primary off, waits for the secondary's takeover, then freezes
/// failoverd for 300 ms (SIGSTOP) and thaws it. Returns when it thawed.
fn freeze_failoverd_while_it_holds(lab: &mut Lab, hb: &Daemon, fo: &Daemon) -> Instant {
    lab.steady(hb, fo);
    let cut = Instant::now();
    lab.t.unplug_both(&lab.t.primary).unwrap();
    lab.wait_owner(Owner::Secondary, &[hb, fo]);
    lab.wait_served_by("secondary", cut, &[hb, fo]);
    lab.wait_mailed(&lab.srun, "TookOver", &[fo]);
    lab.t.secondary.ns.signal(fo.pid, Signal::SIGSTOP).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let thawed = Instant::now();
    lab.t.secondary.ns.signal(fo.pid, Signal::SIGCONT).unwrap();
    thawed
}

#[test]
fn secondary_frozen_while_holding_drops_at_once_and_takes_over_again() {
    if skip_unless_root(
        "scenarios::secondary_frozen_while_holding_drops_at_once_and_takes_over_again",
    ) {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("secondary-frozen", Profile::fast());
    record_stages(&lab.srun);
    let hb = lab.heartbeatd(&[]);
    let fo = lab.failoverd(&[]);
    let logs = [&hb, &fo];
    let thawed = freeze_failoverd_while_it_holds(&mut lab, &hb, &fo);

    // The stall rule on the secondary: what it held goes at once (PostRel
    // only: PreRel cannot come first), silence counts afresh, and the
    // primary, still cut off, is taken over from again.
    lab.wait("the drop and the second takeover", WAIT, &logs, || {
        let s = lab.owners.1.held();
        s.len() >= 2 && s.last().is_some_and(|h| h.1.is_none())
    });
    let (_, s) = lab.held();
    let kept = s[0].1.unwrap().saturating_duration_since(thawed);
    lab.check(
        kept < Duration::from_millis(500),
        &format!("the thawed secondary dropped the address at once ({kept:?})"),
        &logs,
    );
    lab.check(
        fo.logged_after(thawed, "failoverd was frozen too long: dropped 192.0.2.10")
            .is_some(),
        "failoverd says why it dropped the address",
        &logs,
    );
    lab.wait_mailed(&lab.srun, "Stalled", &logs);
    // PostRel (no PreRel), then the acquire stages again.
    lab.wait(
        "PostRel, then the acquire stages again",
        WAIT,
        &logs,
        || {
            let ran = stages(&lab.srun);
            let after_drop = ran
                .iter()
                .position(|s| s == "PostRel release 192.0.2.10")
                .map(|i| ran[i + 1..].to_vec())
                .unwrap_or_default();
            after_drop.ends_with(&ACQUIRE.map(str::to_owned))
                && !ran.iter().any(|s| s.starts_with("PreRel"))
        },
    );

    // The primary comes back: failback, and never two holders.
    let plugged = Instant::now();
    lab.t.plug_both(&lab.t.primary).unwrap();
    lab.wait_owner(Owner::Primary, &logs);
    lab.wait_served_by("primary", plugged, &logs);
    lab.check_never_two_holders(&logs);
}

#[test]
fn a_stalled_failoverd_does_not_claim_to_have_heard_the_primary() {
    if skip_unless_root("scenarios::a_stalled_failoverd_does_not_claim_to_have_heard_the_primary") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("stall-heard-again", Profile::fast());
    let hb = lab.heartbeatd(&[]);
    let fo = lab.failoverd(&[]);
    let logs = [&hb, &fo];
    let thawed = freeze_failoverd_while_it_holds(&mut lab, &hb, &fo);
    lab.wait("the second takeover", WAIT, &logs, || {
        let s = lab.owners.1.held();
        s.len() >= 2 && s.last().is_some_and(|h| h.1.is_none())
    });
    lab.check(
        fo.logged_after(thawed, "heard again").is_none(),
        "the primary is cut off: nothing was heard from it",
        &logs,
    );
}

#[test]
fn an_anomaly_mailed_before_a_stall_is_still_closed() {
    if skip_unless_root("scenarios::an_anomaly_mailed_before_a_stall_is_still_closed") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("stall-anomaly", fast_patient());
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];
    lab.t.unplug(&lab.t.primary, Net::Private).unwrap();
    lab.wait_mailed(&lab.srun, "NetworkAnomaly", &logs);
    lab.t.secondary.ns.signal(fo.pid, Signal::SIGSTOP).unwrap();
    lab.t.plug(&lab.t.primary, Net::Private).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    lab.t.secondary.ns.signal(fo.pid, Signal::SIGCONT).unwrap();
    lab.wait_mailed(&lab.srun, "NetworkRestored", &logs);
}

#[test]
fn an_anomaly_is_mailed_once_across_a_stall() {
    if skip_unless_root("scenarios::an_anomaly_is_mailed_once_across_a_stall") {
        return;
    }
    let _serial = serial();
    let mut lab = Lab::new("stall-anomaly-twice", fast_patient());
    let (hb, fo) = lab.start_both();
    let logs = [&hb, &fo];
    lab.t.unplug(&lab.t.primary, Net::Private).unwrap();
    lab.wait_mailed(&lab.srun, "NetworkAnomaly", &logs);
    lab.t.secondary.ns.signal(fo.pid, Signal::SIGSTOP).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    lab.t.secondary.ns.signal(fo.pid, Signal::SIGCONT).unwrap();
    // Well past the private link's dead time (200 ms) after the thaw.
    std::thread::sleep(Duration::from_millis(1000));
    let mail = events(&lab.srun);
    lab.check(
        mail == ["NetworkAnomaly"],
        &format!("the anomaly, still the same, is mailed once: {mail:?}"),
        &logs,
    );
}

#[test]
fn helpers_measure_what_they_say() {
    // No root needed: the outcome helpers on made-up data.
    let t = Instant::now();
    let ms = |n: u64| t + Duration::from_millis(n);
    let a = [(ms(0), Some(ms(100)))];
    let b = [(ms(50), Some(ms(150)))];
    assert_eq!(
        overlap_since(&a, &b, ms(0), ms(200)),
        Duration::from_millis(50)
    );
    assert_eq!(
        overlap_since(&a, &b, ms(80), ms(200)),
        Duration::from_millis(20)
    );
    assert_eq!(overlap_since(&a, &b, ms(120), ms(200)), Duration::ZERO);
    let p = |sent: u64, answered: bool| Probe {
        seq: 0,
        sent: ms(sent),
        answer: answered.then(|| (ms(sent + 1), "primary".to_owned())),
    };
    let probes = [
        p(0, true),
        p(1, false),
        p(2, false),
        p(9, true),
        p(10, false),
    ];
    assert_eq!(
        longest_outage(&probes, ms(0), ms(12)),
        Duration::from_millis(8)
    );
    assert_eq!(
        longest_outage(&probes, ms(3), ms(30)),
        Duration::from_millis(20)
    );
    let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut ran = owned(&ACQUIRE);
    assert!(!acquire_then_release(&ran));
    ran.extend(owned(&RELEASE));
    assert!(acquire_then_release(&ran));
    ran.extend(owned(&RELEASE));
    assert!(!acquire_then_release(&ran), "two PreRel");
    assert!(anomaly_mails_only(&owned(&[
        "NetworkAnomaly",
        "NetworkRestored"
    ])));
    assert!(!anomaly_mails_only(&owned(&[
        "NetworkAnomaly",
        "NetworkAnomaly",
        "NetworkRestored"
    ])));
    assert!(!anomaly_mails_only(&owned(&["NetworkAnomaly"])));
    assert!(!anomaly_mails_only(&owned(&[
        "NetworkAnomaly",
        "TookOver",
        "NetworkRestored"
    ])));
    assert_eq!(held_at(&a, ms(50)), Some(a[0]));
    assert_eq!(held_at(&a, ms(120)), None);
}
