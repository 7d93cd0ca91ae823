use super::*;
use failover_core::action::{LinkMask, StageOutcome};

#[test]
fn outcomes_read_like_a_shell() {
    assert_eq!(
        outcome_text(StageOutcome::Failed(3)),
        "exited with status 3"
    );
    assert_eq!(
        outcome_text(StageOutcome::Failed(137)),
        "was killed by signal 9 (status 137)"
    );
    assert_eq!(
        outcome_text(StageOutcome::Failed(127)),
        "was not found (status 127)"
    );
    assert!(outcome_text(StageOutcome::TimedOut).contains("time limit"));
}

#[test]
fn anomaly_names_the_silent_link() {
    let mut ctx = super::super::tests::context(Role::Secondary);
    let n = describe(
        &Event::NetworkAnomaly {
            silent: LinkMask(0b01),
        },
        &ctx,
    );
    assert_eq!(
        n.summary,
        "network anomaly: the primary (198.51.100.1) is silent on private (eth1)"
    );
    assert!(n.happened.contains("still hears it on public (eth0)"));
    // Without link names: Apple's convention, link 0 private.
    ctx.links.clear();
    let n = describe(
        &Event::NetworkAnomaly {
            silent: LinkMask(0b10),
        },
        &ctx,
    );
    assert!(
        n.summary.ends_with("silent on the public link"),
        "{}",
        n.summary
    );
}
