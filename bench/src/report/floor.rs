//! The report's calibration section: this machine's floor for one checkout — the loopback round
//! trip on one core and across two, the SQLite commit — as measured at the start of the run.

use super::document::{Block, table};
use crate::results::Results;

/// This machine's floor, as calibrated at the start of the run.
pub fn section(r: &Results, d: &mut Vec<Block>) {
    let c = &r.calibration;
    let rtt_header = if c.loopback_rtt_pinned {
        "loopback RTT µs, one core"
    } else {
        "loopback RTT µs (unpinned)"
    };
    d.extend([
        Block::Heading(2, "Calibration: this machine's floor".into()),
        table(
            &[
                rtt_header,
                "loopback RTT µs, across cores",
                "SQLite commit µs",
                "floor per checkout µs (5 RTT + 5 commits)",
                "floor throughput /s (cores ÷ floor)",
            ],
            vec![vec![
                format!("{:.1}", c.loopback_rtt_us),
                c.cross_core_rtt_us
                    .map_or("–".into(), |v| format!("{v:.1}")),
                format!("{:.1}", c.sqlite_commit_us),
                format!("{:.0}", c.floor_latency_us),
                format!("{:.0}", c.floor_rps),
            ]],
        ),
    ]);
    if let (true, Some(across)) = (c.loopback_rtt_pinned, c.cross_core_rtt_us) {
        d.push(Block::Paragraph(format!(
            "The round trip is a 1-byte ping-pong over loopback TCP between two threads, measured twice: pinned to one core ({:.1} µs), where each direction only hands the core over, and pinned to two ({across:.1} µs, {:.0}× as long), where each direction wakes the other core — {} The floor uses the first, the least a round trip costs here. The services' processes run on every core and the scheduler may wake a process on the idle one, and then a hop between them pays the second; the transport's cost per hop (below) is counted in it, and the Scalability section, when the scaling scenario ran, measures how much of a hop's light-load median that placement costs.",
            c.loopback_rtt_us,
            across / c.loopback_rtt_us.max(f64::MIN_POSITIVE),
            idle_words(&r.config.idle)
        )));
    }
    if let (Some(link), Some(pass), Some(across)) =
        (&r.config.link, c.passthrough_rtt_us, c.link_rtt_us)
    {
        let direct = c.link_direct_rtt_us.unwrap_or(c.loopback_rtt_us);
        d.push(Block::Paragraph(format!(
            "Every networked hop crossed the link `{link}`: a round trip across it took {across:.0} µs (the floor's RTT). The link's proxy by itself, adding nothing, took {pass:.0} µs against {direct:.0} µs direct, measured alike: {:.0} µs of every round trip is the measuring device, not the network it imitates.",
            (pass - direct).max(0.0)
        )));
    }
}

/// How the run's idle cores waited, as the round trip across cores depends on it.
fn idle_words(idle: &str) -> &'static str {
    if idle == "poll" {
        "in this run idle cores polled (Method), so the other core was awake to take it."
    } else {
        "where an idle core sleeps (a virtual machine's halted vCPU, a deep C-state), waking it is most of that; in this run idle cores waited as the machine sets them."
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    /// The calibration section's text.
    fn text(r: &Results) -> String {
        let mut d = Vec::new();
        section(r, &mut d);
        crate::report::document::markdown(&d)
    }

    #[test]
    fn the_round_trip_across_cores_is_read_with_the_runs_idle_policy() {
        let mut r = fixture::results(&["grpc"], Vec::new());
        r.calibration.loopback_rtt_pinned = true;
        r.calibration.loopback_rtt_us = 3.8;
        r.calibration.cross_core_rtt_us = Some(9.2);
        r.config.idle = "poll".into();
        let polled = text(&r);
        assert!(polled.contains("(9.2 µs, 2× as long)"), "{polled}");
        assert!(polled.contains("idle cores polled"), "{polled}");
        // A run that left the machine's policy, or made before there was a choice.
        for idle in ["machine", ""] {
            r.config.idle = idle.into();
            let halted = text(&r);
            assert!(halted.contains("waking it is most of that"), "{halted}");
            assert!(!halted.contains("idle cores polled"), "{halted}");
        }
    }
}
