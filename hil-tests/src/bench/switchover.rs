//! The planned switchover, measured: from the steady state (the primary
//! serving the client), `heartbeatd --handover` asked of the running
//! daemon as an administrator asks it (in the primary's namespace, through
//! its pid file), until the client is served by the secondary; then
//! `heartbeatd --reclaim`, until it is served by the primary again. For
//! each of the two moves: the client's longest gap, the time both servers
//! held the address, and how long the command took.

use std::io;
use std::time::{Duration, Instant};

use super::runs::{ms, primary_serving};
use super::{
    stats, MoveSample, MoveStats, Switchover, SwitchoverSample, PRE_CUT, SETTLE, STEP_LIMIT,
};
use crate::holds::overlap_within;
use crate::interrupt;
use crate::lab::{longest_outage, Daemons, Lab, Owner};
use crate::measure::{first_answer_from, poll, POLL_STEP};
use crate::service::{Probe, Prober};

/// The `--wait` each command is given, s: as long as any step may take.
const WAIT_S: u64 = STEP_LIMIT.as_secs();

/// Probes sent this close to the end of a measurement are left out of it:
/// their answers may still be on the way.
const IN_FLIGHT: Duration = Duration::from_millis(20);

/// The longest a command's output is kept in the report (a failure's
/// reason is its first words).
const OUTPUT_MAX: usize = 400;

/// One command asked, and what followed until the settling after it.
struct Asked {
    /// When the command was started.
    at: Instant,
    /// Its exit status (`None`: killed, or it could not be run).
    exit_code: Option<i32>,
    /// What it printed.
    output: String,
    /// How long it ran.
    command: Duration,
    /// The client was answered by the server the command moves the service
    /// to, and that server alone held the address, within the limit.
    served: bool,
    /// When the settling after it ended (the measurement's end).
    settled: Instant,
}

/// Runs `heartbeatd <option>` against the primary's `heartbeatd`, then
/// waits (at most [`STEP_LIMIT`]) for `owner` to hold the address alone and
/// answer the client as `who`, then [`SETTLE`] more.
fn ask(
    lab: &Lab,
    d: &Daemons,
    prober: &Prober,
    option: &str,
    owner: Owner,
    who: &str,
) -> io::Result<Asked> {
    let at = Instant::now();
    let (exit_code, output) = lab.operator(&d.hb, option, &["--wait", &WAIT_S.to_string()]);
    let command = at.elapsed();
    let served = poll(STEP_LIMIT, POLL_STEP, || {
        lab.owners.are(owner) && first_answer_from(&prober.probes(), who, at).is_some()
    })?;
    interrupt::sleep(SETTLE)?;
    Ok(Asked {
        at,
        exit_code,
        output: short(&output),
        command,
        served,
        settled: Instant::now(),
    })
}

/// `text` trimmed, and cut to [`OUTPUT_MAX`] characters.
fn short(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(OUTPUT_MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// The figures of `asked`, from the client's probes and who held the
/// address until `until` (the next command, or the end of the run).
fn figures(asked: Asked, who: &str, probes: &[Probe], lab: &Lab, until: Instant) -> MoveSample {
    let end = asked.settled - IN_FLIGHT;
    let (p_held, s_held) = lab.owners.held();
    let overlap_ms = ms(overlap_within(&p_held, &s_held, asked.at, until));
    let lost_probes = probes
        .iter()
        .filter(|p| p.sent >= asked.at && p.sent < end && p.answer.is_none())
        .count();
    let completed = asked.exit_code == Some(0) && asked.served;
    MoveSample {
        exit_code: asked.exit_code,
        output: asked.output,
        command_ms: ms(asked.command),
        served: asked.served,
        served_ms: first_answer_from(probes, who, asked.at).map(|t| ms(t - asked.at)),
        gap_ms: asked
            .served
            .then(|| ms(longest_outage(probes, asked.at, end))),
        lost_probes,
        overlap_ms,
        completed,
    }
}

/// One planned switchover and the reclaim after it, on a lab where the
/// primary serves. The reclaim is asked only if the secondary served after
/// the handover.
pub(super) fn switchover_run(lab: &Lab, d: &Daemons, run: usize) -> io::Result<SwitchoverSample> {
    let (prober, serving) = primary_serving(lab)?;
    if !serving {
        let _ = prober.stop();
        return Ok(SwitchoverSample {
            run,
            primary_served_before: false,
            handover: None,
            reclaim: None,
            back: false,
        });
    }
    interrupt::sleep(PRE_CUT)?;
    let handover = ask(lab, d, &prober, "--handover", Owner::Secondary, "secondary")?;
    let reclaim = if handover.served {
        Some(ask(
            lab,
            d,
            &prober,
            "--reclaim",
            Owner::Primary,
            "primary",
        )?)
    } else {
        None
    };
    let probes = prober.stop();
    let end = Instant::now();
    let back =
        lab.owners.are(Owner::Primary) && last_answer(&probes).is_some_and(|(_, w)| w == "primary");
    let handover_until = reclaim.as_ref().map_or(end, |r| r.at);
    Ok(SwitchoverSample {
        run,
        primary_served_before: true,
        handover: Some(figures(handover, "secondary", &probes, lab, handover_until)),
        reclaim: reclaim.map(|r| figures(r, "primary", &probes, lab, end)),
        back,
    })
}

/// The last answer the client had: when, and from whom.
fn last_answer(probes: &[Probe]) -> Option<&(Instant, String)> {
    probes
        .iter()
        .filter_map(|p| p.answer.as_ref())
        .max_by_key(|a| a.0)
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{x:.1} ms"))
}

/// One move's figures in words.
fn describe_move(m: &MoveSample) -> String {
    format!(
        "client gap {} ({} probes lost), command {:.0} ms, both held {:.1} ms",
        opt_ms(m.gap_ms),
        m.lost_probes,
        m.command_ms,
        m.overlap_ms
    )
}

/// The first line of a command's output.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// What went wrong in a run, a line each, in capitals where it matters
/// (none when it went well): a failed command, a move the client did not
/// see, both servers holding the address, a primary not serving at the
/// end.
pub(super) fn problems(sample: &SwitchoverSample) -> Vec<String> {
    let Some(h) = &sample.handover else {
        return vec!["the primary did not serve the client: NOTHING ASKED".to_owned()];
    };
    let mut v = Vec::new();
    for (option, to, m) in [
        ("--handover", "secondary", Some(h)),
        ("--reclaim", "primary", sample.reclaim.as_ref()),
    ] {
        let Some(m) = m else {
            v.push(format!(
                "{option} NOT ASKED (the secondary did not serve after the handover)"
            ));
            continue;
        };
        if m.exit_code != Some(0) {
            let code = m
                .exit_code
                .map_or_else(|| "no exit status".to_owned(), |c| format!("exit {c}"));
            v.push(format!(
                "{option} FAILED ({code}): {}",
                first_line(&m.output)
            ));
        }
        if !m.served {
            v.push(format!("{option}: the {to} DID NOT SERVE the client"));
        }
        if m.overlap_ms > 0.0 {
            v.push(format!(
                "{option}: OVERLAP, both servers held the address for {:.1} ms",
                m.overlap_ms
            ));
        }
    }
    if !sample.back {
        v.push("NOT BACK: the primary does not serve the client alone at the end".to_owned());
    }
    v
}

/// One run in words, for the progress lines: each move's figures, then
/// what went wrong.
pub(super) fn describe(s: &SwitchoverSample) -> String {
    let mut parts = Vec::new();
    if let Some(h) = &s.handover {
        parts.push(format!("handover: {}", describe_move(h)));
    }
    if let Some(r) = &s.reclaim {
        parts.push(format!("reclaim: {}", describe_move(r)));
    }
    parts.extend(problems(s));
    parts.join("; ")
}

/// The switchover runs' statistics: medians and the rest over the moves
/// that completed, overlaps and failures over all.
pub(super) fn summarise_switchovers(
    runs: usize,
    labs: usize,
    samples: Vec<SwitchoverSample>,
) -> Switchover {
    let handovers: Vec<&MoveSample> = samples.iter().filter_map(|s| s.handover.as_ref()).collect();
    let reclaims: Vec<&MoveSample> = samples.iter().filter_map(|s| s.reclaim.as_ref()).collect();
    Switchover {
        runs,
        labs,
        back: samples.iter().filter(|s| s.back).count(),
        handover: move_stats(&handovers),
        reclaim: move_stats(&reclaims),
        samples,
    }
}

fn move_stats(moves: &[&MoveSample]) -> MoveStats {
    let done: Vec<&&MoveSample> = moves.iter().filter(|m| m.completed).collect();
    let col = |f: fn(&MoveSample) -> Option<f64>| {
        stats(&done.iter().filter_map(|m| f(m)).collect::<Vec<f64>>())
    };
    MoveStats {
        asked: moves.len(),
        completed: done.len(),
        gap_ms: col(|m| m.gap_ms),
        served_ms: col(|m| m.served_ms),
        command_ms: col(|m| Some(m.command_ms)),
        overlap_ms: moves.iter().map(|m| m.overlap_ms).sum(),
        overlapping: moves.iter().filter(|m| m.overlap_ms > 0.0).count(),
    }
}
