//! `heartbeatd --handover` and `heartbeatd --reclaim`: the operator moves
//! the service by hand (a planned switchover for maintenance, and taking it
//! back; with `--failback manual`, the only way it comes back).
//!
//! Both sides of it live here. The command finds the running heartbeatd
//! as `--status` does ([`super::status::query::locate`]: its pid file's lock, root, the
//! same network namespace), writes the command into a request file next to
//! the pid file (`/run/heartbeatd.request`) and sends SIGUSR2. The daemon
//! reads and deletes the request, hands it to the core
//! ([`failover_core::Primary::request_handover`] or `request_reclaim`),
//! and writes the core's answer (started, already so, or refused and why)
//! to `/run/heartbeatd.answer`. The command then follows the move through
//! `--status --json` until it is done, failed, or its `--wait` ran out,
//! and says which with its exit status. A file, not the signal alone,
//! because a signal carries no word: SIGUSR2 means "read your request".

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use failover_core::standby::{Accepted, Refusal};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::safefile;
use super::status::query::{elsewhere_command, locate};
use super::status::{self, Answer, EXIT_NO_ANSWER};
use crate::config::cli::{OperatorCommand, OperatorRequest, Program, StatusRequest};
use crate::disk::Disk;

/// Exit status: not done within `--wait` (the daemon goes on with it).
pub const EXIT_NOT_DONE: u8 = 2;
/// Exit status: the daemon refused the command (the reason is printed).
pub const EXIT_REFUSED: u8 = 5;
/// Exit status: the command was carried out and did not work (a handover
/// the secondary did not take: this server serves again).
pub const EXIT_FAILED: u8 = 6;
/// How long the daemon has to answer the request (its loop turns at least
/// every few hundred milliseconds).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the command looks at the daemon's state while it waits.
const POLL: Duration = Duration::from_millis(100);

/// The request file next to `pid_file`: `/run/heartbeatd.request`.
pub fn request_path(pid_file: &Path) -> PathBuf {
    pid_file.with_extension("request")
}

/// The answer file next to `pid_file`: `/run/heartbeatd.answer`.
pub fn answer_path(pid_file: &Path) -> PathBuf {
    pid_file.with_extension("answer")
}

/// The daemon's answer to a request, one line in the answer file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The core accepted it and acts on it.
    Started,
    /// It was already so.
    AlreadySo,
    /// Refused, with the reason in an operator's words.
    Refused(String),
}

impl Reply {
    /// From the core's answer; `None` (a daemon that takes no such
    /// command) is a refusal.
    pub fn from_core(answer: Option<Result<Accepted, Refusal>>) -> Reply {
        match answer {
            Some(Ok(Accepted::Started)) => Reply::Started,
            Some(Ok(Accepted::AlreadySo)) => Reply::AlreadySo,
            Some(Err(r)) => Reply::Refused(r.text().to_owned()),
            None => Reply::Refused("this daemon takes no operator command".to_owned()),
        }
    }

    /// The answer file's line.
    pub fn line(&self) -> String {
        match self {
            Reply::Started => "started\n".to_owned(),
            Reply::AlreadySo => "already\n".to_owned(),
            Reply::Refused(why) => format!("refused {why}\n"),
        }
    }

    /// Reads an answer file's line.
    pub fn parse(text: &str) -> Option<Reply> {
        let line = text.lines().next()?.trim();
        match line {
            "started" => Some(Reply::Started),
            "already" => Some(Reply::AlreadySo),
            _ => line
                .strip_prefix("refused ")
                .map(|why| Reply::Refused(why.to_owned())),
        }
    }
}

/// The daemon's side: reads the request file next to `pid_file` and has
/// `disk` delete it (the loop never waits on a filesystem, [`Disk`]).
/// `Err` names what is wrong with it.
pub fn take_request(pid_file: &Path, disk: &Disk) -> Result<OperatorCommand, String> {
    let path = request_path(pid_file);
    let text = safefile::read_to_string(&path)
        .map_err(|e| format!("cannot read the request {}: {e}", path.display()))?;
    remove_later(disk, path.clone());
    let word = text.trim();
    OperatorCommand::from_word(word)
        .ok_or_else(|| format!("the request {} says {word:?}", path.display()))
}

/// The daemon's side: has `disk` write its reply, after the request's
/// removal (so a command that reads the reply finds the request gone).
pub fn write_reply(pid_file: &Path, reply: &Reply, disk: &Disk) {
    let path = answer_path(pid_file);
    let line = reply.line();
    disk.submit(&path.clone(), move |log| {
        if let Err(e) = safefile::replace_volatile(&path, &line) {
            log.error(format_args!(
                "cannot write the answer {}: {e}",
                path.display()
            ));
        }
    });
}

/// The daemon's side, at exit: nothing of a request is left behind.
pub fn remove_files(pid_file: &Path, disk: &Disk) {
    remove_later(disk, request_path(pid_file));
    remove_later(disk, answer_path(pid_file));
}

fn remove_later(disk: &Disk, path: PathBuf) {
    disk.submit(&path.clone(), move |_| {
        let _ = std::fs::remove_file(&path);
    });
}

/// What the command prints and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// On standard output (done) or standard error (anything else).
    pub message: String,
    /// The exit status.
    pub code: u8,
}

impl Outcome {
    fn new(message: impl Into<String>, code: u8) -> Outcome {
        Outcome {
            message: message.into(),
            code,
        }
    }
}

/// The command's side: asks the running heartbeatd and follows the move.
pub fn ask(program: Program, request: &OperatorRequest) -> Outcome {
    let option = format!("--{}", request.command.word());
    let pid_file = request.pid_file.as_path();
    let needs_root = format!(
        "{option} needs root (it signals the daemon and writes {})",
        request_path(pid_file).display()
    );
    let pid = match locate(pid_file, &needs_root, |pid, name, id| {
        elsewhere_command(program, pid_file, &option, pid, name, id)
    }) {
        Ok(pid) => pid,
        Err(answer) => return refusal_of(&answer),
    };
    let answer = answer_path(pid_file);
    let _ = std::fs::remove_file(&answer);
    if let Err(e) = safefile::replace(&request_path(pid_file), request.command.word()) {
        return Outcome::new(
            format!(
                "cannot write the request {}: {e}",
                request_path(pid_file).display()
            ),
            EXIT_NO_ANSWER,
        );
    }
    if let Err(e) = kill(Pid::from_raw(pid), Signal::SIGUSR2) {
        return Outcome::new(
            format!("cannot signal the daemon (pid {pid}): {e}"),
            EXIT_NO_ANSWER,
        );
    }
    let start = Instant::now();
    let reply = loop {
        match safefile::read_to_string(&answer) {
            Ok(text) => {
                let _ = std::fs::remove_file(&answer);
                break Reply::parse(&text);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Outcome::new(format!("cannot read the answer: {e}"), EXIT_NO_ANSWER),
        }
        if start.elapsed() > ANSWER_TIMEOUT {
            return Outcome::new(
                format!(
                    "the daemon (pid {pid}) did not answer within {} s (a heartbeatd older than \
                     this command?)",
                    ANSWER_TIMEOUT.as_secs()
                ),
                EXIT_NO_ANSWER,
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    match reply {
        None => Outcome::new("the daemon's answer makes no sense", EXIT_NO_ANSWER),
        Some(Reply::Refused(why)) => Outcome::new(format!("{option} refused: {why}"), EXIT_REFUSED),
        Some(Reply::Started | Reply::AlreadySo) => follow(program, request, start),
    }
}

/// The refusal `--status` would give, for this command.
fn refusal_of(answer: &Answer) -> Outcome {
    match answer {
        Answer::State(_) => Outcome::new("", 0),
        Answer::NotRunning(m)
        | Answer::NoAnswer(m)
        | Answer::NeedsRoot(m)
        | Answer::OtherNamespace(m) => Outcome::new(m.clone(), answer.exit_code()),
    }
}

/// Where a move stands, from the daemon's `--status --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// Not yet.
    Going,
    /// Done.
    Done,
    /// It will not happen (a handover the secondary did not take).
    Failed,
}

/// Reads the move's progress from a `--status --json` document.
fn progress(command: OperatorCommand, json: &serde_json::Value) -> Option<Progress> {
    let operator = json.get("operator")?;
    let held_here = json
        .get("addresses")?
        .as_array()?
        .iter()
        .all(|a| a.get("held").and_then(serde_json::Value::as_bool) == Some(true));
    let asks = operator.get("asks").and_then(serde_json::Value::as_str);
    let secondary_holds = operator.get("secondary_holds")?.as_bool()?;
    let ordered = operator.get("standby_ordered")?.as_bool()?;
    Some(match command {
        OperatorCommand::Handover if !ordered => Progress::Failed,
        OperatorCommand::Handover if asks == Some("standby") && secondary_holds => Progress::Done,
        OperatorCommand::Handover => Progress::Going,
        OperatorCommand::Reclaim if asks.is_none() && held_here => Progress::Done,
        OperatorCommand::Reclaim => Progress::Going,
    })
}

/// Follows an accepted move until it is done, failed, or the wait ran out.
fn follow(program: Program, request: &OperatorRequest, start: Instant) -> Outcome {
    let status = StatusRequest {
        pid_file: request.pid_file.clone(),
        json: true,
    };
    let mut last = String::new();
    let mut json = serde_json::Value::Null;
    loop {
        if let Answer::State(text) = status::query(program, &status, status::ANSWER_TIMEOUT) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                last = v
                    .pointer("/phase/text")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                json = v;
            }
        }
        let took = format!("{:.2} s", start.elapsed().as_secs_f64());
        let addresses = addresses_of(&json);
        match progress(request.command, &json) {
            Some(Progress::Done) => {
                return Outcome::new(
                    match request.command {
                        OperatorCommand::Handover => format!(
                            "handed {addresses} over in {took}: the secondary serves; this server \
                             stands by until heartbeatd --reclaim"
                        ),
                        OperatorCommand::Reclaim => {
                            format!("reclaimed {addresses} in {took}: this server serves")
                        }
                    },
                    0,
                )
            }
            Some(Progress::Failed) => {
                return Outcome::new(
                    format!(
                        "the handover failed after {took}: the secondary did not take \
                         {addresses}, and this server serves them again (the secondary's log \
                         says why); now: {last}"
                    ),
                    EXIT_FAILED,
                )
            }
            Some(Progress::Going) => {}
            None if json.get("operator").is_some_and(serde_json::Value::is_null) => {
                return Outcome::new(
                    "this heartbeatd does not manage the service addresses (no --service)",
                    EXIT_REFUSED,
                )
            }
            None => {}
        }
        if start.elapsed() >= request.wait {
            return Outcome::new(
                format!(
                    "not done within {} s (--wait); the daemon goes on with it: {last} \
                     (heartbeatd --status)",
                    request.wait.as_secs()
                ),
                EXIT_NOT_DONE,
            );
        }
        std::thread::sleep(POLL);
    }
}

/// The service addresses a status document lists, for the messages.
fn addresses_of(json: &serde_json::Value) -> String {
    let list: Vec<String> = json
        .get("addresses")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("address").and_then(serde_json::Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if list.is_empty() {
        "the service addresses".to_owned()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_read_back_as_written() {
        for r in [
            Reply::Started,
            Reply::AlreadySo,
            Reply::Refused("the daemon is stopping".to_owned()),
        ] {
            assert_eq!(Reply::parse(&r.line()), Some(r));
        }
        assert_eq!(Reply::parse("maybe\n"), None);
        assert_eq!(
            Reply::from_core(None),
            Reply::Refused("this daemon takes no operator command".to_owned())
        );
    }

    fn doc(
        asks: Option<&str>,
        held: bool,
        secondary_holds: bool,
        ordered: bool,
    ) -> serde_json::Value {
        json!({
            "addresses": [{ "address": "192.0.2.10", "held": held }],
            "operator": {
                "failback": "auto",
                "standby_ordered": ordered,
                "asks": asks,
                "secondary_holds": secondary_holds
            }
        })
    }

    #[test]
    fn a_handover_is_done_once_the_primary_stands_by_and_the_secondary_holds() {
        let h = OperatorCommand::Handover;
        assert_eq!(
            progress(h, &doc(Some("handover"), false, false, true)),
            Some(Progress::Going)
        );
        assert_eq!(
            progress(h, &doc(Some("standby"), false, true, true)),
            Some(Progress::Done)
        );
        assert_eq!(
            progress(h, &doc(None, true, false, false)),
            Some(Progress::Failed)
        );
        assert_eq!(progress(h, &json!({ "operator": null })), None);
    }

    #[test]
    fn a_reclaim_is_done_once_every_address_is_held_here() {
        let r = OperatorCommand::Reclaim;
        assert_eq!(
            progress(r, &doc(Some("back"), false, true, false)),
            Some(Progress::Going)
        );
        assert_eq!(
            progress(r, &doc(None, true, false, false)),
            Some(Progress::Done)
        );
    }

    #[test]
    fn the_files_sit_next_to_the_pid_file() {
        let pid = Path::new("/run/heartbeatd.pid");
        assert_eq!(request_path(pid), Path::new("/run/heartbeatd.request"));
        assert_eq!(answer_path(pid), Path::new("/run/heartbeatd.answer"));
    }
}
