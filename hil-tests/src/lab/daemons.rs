//! Starting the real daemons on the lab — the profile's arguments, the
//! witness's when the lab has one (its address, the firmware's key, and
//! for `failoverd` the lab's policy), then the caller's — and asking them
//! for their own account (`--status`) and frame counters.

use std::io;
use std::path::Path;

use failover_host::config::cli::Program;

use crate::control::{real_time, status, FrameCounters};
use crate::daemons::{start_daemon_serving, Daemon};
use crate::topology::SERVICE;
use crate::witness::WITNESS_IP;

use super::Lab;

/// Both daemons, started together (the demo's and the benchmark's way).
#[derive(Debug)]
pub struct Daemons {
    /// `heartbeatd` on the primary.
    pub hb: Daemon,
    /// `failoverd` on the secondary.
    pub fo: Daemon,
}

impl Lab {
    /// The arguments that name the witness, if the lab has one.
    fn witness_args(&self, failoverd: bool) -> Vec<String> {
        if self.witness.is_none() {
            return Vec::new();
        }
        let mut args = vec!["--witness".to_owned(), WITNESS_IP.to_string()];
        if failoverd {
            args.extend(["--witness-policy".to_owned(), self.policy.to_owned()]);
        }
        args.extend(self.keys.iter().cloned());
        args
    }

    /// Writes `secret` (hexadecimal, key id 1) to a key file in each
    /// server's run directory and returns their paths, the primary's
    /// first: the same key on both, as the tests of signed heartbeats
    /// give it (`--key-file`).
    pub fn key_files(&self, secret: &str) -> (String, String) {
        (
            self.prun.key_file(secret).expect("the primary's key file"),
            self.srun
                .key_file(secret)
                .expect("the secondary's key file"),
        )
    }

    /// Starts `heartbeatd` on the primary with `extra` arguments (at
    /// real-time priority if the setup says so), without waiting for it.
    pub fn start_heartbeatd(&self, extra: &[&str]) -> io::Result<Daemon> {
        self.start_program(Program::Heartbeatd, extra)
    }

    /// Starts `heartbeatd` on the primary without `--service` (it only
    /// beats, as Apple's did), with `extra` arguments, at real-time
    /// priority if the setup says so; the lab has no witness then.
    pub fn start_heartbeatd_unmanaged(&self, extra: &[&str]) -> io::Result<Daemon> {
        self.start_program_serving(Program::Heartbeatd, extra, &[])
    }

    /// Starts `failoverd` on the secondary with `extra` arguments (at
    /// real-time priority if the setup says so), without waiting for it;
    /// the lab kills it first when it goes.
    pub fn start_failoverd(&self, extra: &[&str]) -> io::Result<Daemon> {
        self.start_program(Program::Failoverd, extra)
    }

    /// Starts `program` with the witness's arguments and `extra`, serving
    /// the lab's service address.
    fn start_program(&self, program: Program, extra: &[&str]) -> io::Result<Daemon> {
        let t = &self.t;
        let lab = match program {
            Program::Heartbeatd => format!("{}:{SERVICE}/32", t.primary.public_if),
            Program::Failoverd => format!("{}:{SERVICE}", t.secondary.public_if),
        };
        self.start_program_serving(program, extra, &[lab])
    }

    /// [`Lab::start_heartbeatd`] or [`Lab::start_failoverd`] serving
    /// `services` (triplets valid on both servers) instead of the lab's
    /// own address alone: `pub0:192.0.2.10` and `pub0:2001:db8::10/128`,
    /// or the IPv6 one alone.
    pub fn start_program_serving(
        &self,
        program: Program,
        extra: &[&str],
        services: &[String],
    ) -> io::Result<Daemon> {
        let failoverd = program == Program::Failoverd;
        let mut args = self.witness_args(failoverd);
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = if failoverd { &self.srun } else { &self.prun };
        let d = start_daemon_serving(
            program,
            &self.t,
            &self.bins,
            run,
            &self.profile,
            &args,
            services,
        )?;
        if failoverd {
            self.failoverds.borrow_mut().push(d.pid);
        }
        if self.real_time {
            real_time(&d);
        }
        Ok(d)
    }

    /// Starts `heartbeatd`, then `failoverd`, with the profile's (and the
    /// witness's) arguments only.
    pub fn start_daemons(&self) -> io::Result<Daemons> {
        let hb = self.start_heartbeatd(&[])?;
        let fo = self.start_failoverd(&[])?;
        Ok(Daemons { hb, fo })
    }

    /// `d`'s own account (`--status`), or why there is none.
    pub fn status(&self, d: &Daemon) -> String {
        status(self.binary_of(d), d)
    }

    /// The program `d` runs, to ask it for its status: the status
    /// queries of both kinds need it.
    fn binary_of(&self, d: &Daemon) -> &Path {
        if d.name == "heartbeatd" {
            &self.bins.heartbeatd
        } else {
            &self.bins.failoverd
        }
    }

    /// `heartbeatd <option>` (`--handover`, `--reclaim`) asked of the
    /// running `d`, with `args` (`--wait N`): its exit status and output.
    pub fn operator(&self, d: &Daemon, option: &str, args: &[&str]) -> (Option<i32>, String) {
        crate::control::operator(&self.bins.heartbeatd, d, option, args)
    }

    /// `d`'s JSON status (`--status --json`), parsed; `Null` if there is
    /// none.
    pub fn status_json(&self, d: &Daemon) -> serde_json::Value {
        let text = crate::control::status_with(self.binary_of(d), d, &["--json"]);
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    /// `d`'s frame counters, from its `--status`; the test fails if it
    /// gives none.
    pub fn counters(&self, d: &Daemon) -> FrameCounters {
        let status = self.status(d);
        FrameCounters::from_status(&status).unwrap_or_else(|| {
            panic!(
                "{} answers --status with its frame counters: {status:?}",
                d.name
            )
        })
    }
}
