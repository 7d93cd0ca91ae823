//! Apple compatibility in the lab (`--apple-compat`): `socat` stands in for
//! a Mac OS X Server daemon, both ways.
//!
//! * An old Mac primary: `socat` broadcasts Apple's heartbeat (the bare
//!   message `heartbeat`, once a second, to UDP port 1694) from the
//!   primary's private address on the private network and from its
//!   public address (the service address, which a Mac has configured
//!   statically) on the public one. Our `failoverd --apple-compat` must not
//!   take over while it beats, must take over within Apple's dead time
//!   (3 × 1 s) plus a margin once the Mac dies (heartbeats stop, address
//!   gone), and must give the address back when the Mac beats again on both
//!   networks.
//! * An old Mac secondary: our `heartbeatd --apple-compat` beats, and
//!   `socat` listening on UDP 1694 in the secondary's namespace (one per
//!   network) must receive exactly Apple's payload, about once a second on
//!   each network.
//!
//! Root and `socat` are needed (`.ci/run` installs it): without root each
//! test says "SKIPPED" loudly; without `socat` too, and under `CI=true` that
//! is a failure. Processes are started with `Netns::spawn` (killed by PID
//! when the lab goes, also on failure); every wait is bounded.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use failover_lab::daemons::Profile;
use failover_lab::lab::{events, stages, Lab, Owner, ACQUIRE, RELEASE};
use failover_lab::lab_test;
use failover_lab::netns::Netns;
use failover_lab::topology::{PRIVATE_BROADCAST, PUBLIC_BROADCAST, SERVICE};
use nix::sys::signal::Signal;

/// Apple's dead time at its 1 s beats.
const DEAD_TIME: Duration = Duration::from_secs(3);
/// What the takeover may take beyond the dead time in the lab: scripts,
/// the address, the first answer, and a loaded two-core machine.
const MARGIN: Duration = Duration::from_millis(1500);

/// Whether `socat` is installed; if not, says so loudly (and fails under
/// CI, where `.ci/run` installs it).
fn socat_ready(test: &str) -> bool {
    if Path::new("/usr/bin/socat").exists() {
        return true;
    }
    eprintln!(
        "\n*** SKIPPED: {test} needs socat (apt-get install socat), the stand-in for a Mac ***\n"
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI must run {test}: socat is missing (.ci/run installs it)"
    );
    false
}

/// Processes started in a namespace, killed by PID (SIGKILL) when this
/// goes, also when the test fails: the lab kills what it started too, but a
/// stand-in that outlived a failed test would keep the lab lock it
/// inherited.
struct Killed<'a> {
    ns: &'a Netns,
    pids: Vec<u32>,
}

impl Killed<'_> {
    fn kill(&mut self) {
        for pid in self.pids.drain(..) {
            let _ = self.ns.signal(pid, Signal::SIGKILL);
        }
    }
}

impl Drop for Killed<'_> {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How many heartbeats a stand-in Mac sends at most (one a second): the
/// bound on its loop, longer than any test here.
const MAC_BEATS: u32 = 120;

/// A Mac's heartbeatd: per network, a shell loop in `ns` that runs `socat`
/// once a second to send `message` (a file holding `heartbeat`) from
/// `from` to `to`:1694 (Apple used the port at both ends), at most
/// [`MAC_BEATS`] times. Killing the shell by its PID ends the loop (a
/// `socat` under way exits as soon as it has sent its datagram).
///
/// The socket sets `SO_NO_CHECK` (level 1, option 11: a UDP checksum of 0,
/// "none"): across the lab's veth pairs the kernel leaves a checksum to the
/// offload that never happens, which the daemon's parser (rightly, on a
/// wire) refuses; a Mac's NIC fills it in.
fn mac_heartbeatd<'a>(
    ns: &'a Netns,
    beats: &[(&str, String)],
    message: &Path,
    log: &Path,
) -> Killed<'a> {
    let pids = beats
        .iter()
        .map(|(from, to)| {
            let err = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .expect("socat's log");
            let script = format!(
                "i=0; while [ $i -lt {MAC_BEATS} ]; do \
                 socat -u OPEN:{} UDP4-DATAGRAM:{to}:1694,broadcast,bind={from}:1694,setsockopt-int=1:11:1; \
                 i=$((i+1)); sleep 1; done",
                message.display()
            );
            ns.spawn("sh", &["-c", &script], Stdio::null(), Stdio::from(err))
                .expect("sh")
        })
        .collect();
    Killed { ns, pids }
}

fn mac_beats() -> Vec<(&'static str, String)> {
    vec![
        ("198.51.100.1", PRIVATE_BROADCAST.to_string()),
        ("192.0.2.10", PUBLIC_BROADCAST.to_string()),
    ]
}

#[test]
fn failoverd_backs_up_a_mac_primary() {
    let Some(_serial) = lab_test!() else { return };
    if !socat_ready("failoverd_backs_up_a_mac_primary") {
        return;
    }
    let mut lab = Lab::scenario("apple-mac-primary", Profile::apple()).recording_stages();
    lab.start_client();
    let primary = &lab.t.primary;
    let public_if = primary.public_if;
    // The Mac: its public address configured statically, as Apple's was.
    primary
        .ns
        .add_addr(public_if, &format!("{SERVICE}/32"))
        .unwrap();
    let message = lab.dir().join("mac-message");
    std::fs::write(&message, "heartbeat").unwrap();
    let log = lab.dir().join("socat-mac.log");
    let mut mac = mac_heartbeatd(&primary.ns, &mac_beats(), &message, &log);
    let fo = lab.start_failoverd(&["--apple-compat"]).unwrap();
    let logs = [&fo];
    lab.wait("failoverd to start", &logs, || fo.logged("started"));

    // The Mac beats: no takeover, over more than two dead times.
    std::thread::sleep(DEAD_TIME * 2 + Duration::from_millis(500));
    lab.check(
        fo.verdicts().is_empty(),
        "no verdict while the Mac beats",
        &logs,
    );
    lab.check(
        !lab.t.secondary.holds(SERVICE).unwrap(),
        "the secondary must not take the address while the Mac beats",
        &logs,
    );
    lab.check(
        lab.runs() == ["primary"],
        "only the Mac serves the client",
        &logs,
    );
    let status = lab.status(&fo);
    lab.check(
        status.contains("monitoring") && status.contains("Apple compatibility: on"),
        &format!("failoverd monitors the Mac: {status}"),
        &logs,
    );

    // The Mac dies: its heartbeats stop and its address goes with it.
    mac.kill();
    let died = Instant::now();
    lab.t
        .primary
        .ns
        .ip(&["addr", "del", &format!("{SERVICE}/32"), "dev", public_if])
        .unwrap();
    lab.wait_serving(Owner::Secondary, died, &logs);
    let served = Instant::now() - died;
    let verdict = fo.verdicts().first().map(|t| *t - died);
    eprintln!(
        "apple: the Mac stopped; verdict after {verdict:?}, the client answered by the \
         secondary after {served:?} (dead time {DEAD_TIME:?})"
    );
    lab.check(
        served <= DEAD_TIME + MARGIN,
        &format!("takeover within the dead time and a margin (took {served:?})"),
        &logs,
    );
    lab.check(
        verdict.is_some_and(|v| v >= DEAD_TIME - Duration::from_millis(1100)),
        &format!("the verdict came no sooner than the dead time after the last beat: {verdict:?}"),
        &logs,
    );
    lab.wait_mailed(&lab.srun, "TookOver", &logs);
    lab.check(
        stages(&lab.srun) == ACQUIRE,
        "the acquire scripts ran",
        &logs,
    );

    // The Mac comes back: its static address (Apple's "IP address in
    // use") and its heartbeats on both networks: failoverd releases.
    let back = Instant::now();
    lab.t
        .primary
        .ns
        .add_addr(public_if, &format!("{SERVICE}/32"))
        .unwrap();
    mac = mac_heartbeatd(&lab.t.primary.ns, &mac_beats(), &message, &log);
    lab.wait("failoverd to release", &logs, || {
        !lab.t.secondary.holds(SERVICE).unwrap_or(true)
    });
    let released = Instant::now() - back;
    eprintln!("apple: the Mac is back; failoverd released after {released:?}");
    lab.check(
        released <= Duration::from_secs(1) + MARGIN,
        &format!("released on the Mac's first heartbeats on both networks (took {released:?})"),
        &logs,
    );
    lab.wait_mailed(&lab.srun, "Relinquished", &logs);
    let all = stages(&lab.srun);
    lab.check(
        all.get(ACQUIRE.len()..).is_some_and(|r| r == RELEASE),
        &format!("the release scripts ran: {all:?}"),
        &logs,
    );
    lab.wait_served_by("primary", Instant::now(), &logs);
    let mailed = events(&lab.srun);
    lab.check(
        mailed.iter().any(|e| e == "TookOver") && mailed.iter().any(|e| e == "Relinquished"),
        &format!("mailed: {mailed:?}"),
        &logs,
    );
    lab.check(
        !fo.logged("sends this daemon's own heartbeats"),
        "socat's payload is not taken for our format",
        &logs,
    );
    mac.kill();
}

#[test]
fn heartbeatd_beats_for_a_mac_secondary() {
    let Some(_serial) = lab_test!() else { return };
    if !socat_ready("heartbeatd_beats_for_a_mac_secondary") {
        return;
    }
    let lab = Lab::scenario("apple-mac-secondary", Profile::apple());
    let dir = lab.dir().to_path_buf();
    let secondary = &lab.t.secondary;
    // A Mac's failoverd: one listener per network, on its broadcast
    // address, each writing what it receives to its own file.
    let files = [
        (PRIVATE_BROADCAST, dir.join("received-private")),
        (PUBLIC_BROADCAST, dir.join("received-public")),
    ];
    let mut listeners = Killed {
        ns: &secondary.ns,
        pids: Vec::new(),
    };
    for (bcast, file) in &files {
        let pid = secondary
            .ns
            .spawn(
                "socat",
                &[
                    "-u",
                    &format!("UDP4-RECV:1694,bind={bcast}"),
                    &format!("OPEN:{},creat,append", file.display()),
                ],
                Stdio::null(),
                Stdio::null(),
            )
            .unwrap();
        listeners.pids.push(pid);
    }
    std::thread::sleep(Duration::from_millis(300));
    let hb = lab.start_heartbeatd_unmanaged(&["--apple-compat"]).unwrap();
    let logs = [&hb];
    lab.wait("heartbeatd to start", &logs, || hb.logged("started"));
    let start = Instant::now();
    let run = Duration::from_secs(6);
    std::thread::sleep(run);
    let counts: Vec<(String, usize)> = files
        .iter()
        .map(|(bcast, file)| {
            let got = std::fs::read(file).unwrap_or_default();
            let n = got.len() / "heartbeat".len();
            lab.check(
                got == "heartbeat".repeat(n).as_bytes(),
                &format!(
                    "only Apple's payload on {bcast}: {:?}",
                    String::from_utf8_lossy(&got)
                ),
                &logs,
            );
            (bcast.to_string(), n)
        })
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    eprintln!("apple: socat received {counts:?} heartbeats in about {elapsed:.1} s");
    for (bcast, n) in &counts {
        // About one a second: 6 s of beats since the start was logged (plus
        // the round at the start itself), give or take one.
        lab.check(
            (5..=8).contains(n),
            &format!("about one heartbeat a second on {bcast}: {n} in {elapsed:.1} s"),
            &logs,
        );
    }
    listeners.kill();
}
