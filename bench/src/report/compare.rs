//! `bench compare A B`: what changed between two runs, step by step.

use std::path::Path;

use crate::results::Results;

fn load(p: &Path) -> anyhow::Result<Results> {
    let text = std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
}

fn change(a: f64, b: f64) -> String {
    if a == 0.0 {
        "–".into()
    } else {
        format!("{:+.1}%", 100.0 * (b - a) / a)
    }
}

/// The comparison as text lines.
pub fn compare(a: &Results, b: &Results) -> Vec<String> {
    let mut out = vec![
        format!(
            "A: {} profile {}, {} ({} cores)",
            a.started_at, a.config.profile, a.machine.cpu_model, a.machine.cores
        ),
        format!(
            "B: {} profile {}, {} ({} cores)",
            b.started_at, b.config.profile, b.machine.cpu_model, b.machine.cores
        ),
        format!(
            "floor: {:.0} µs → {:.0} µs ({})",
            a.calibration.floor_latency_us,
            b.calibration.floor_latency_us,
            change(
                a.calibration.floor_latency_us,
                b.calibration.floor_latency_us
            )
        ),
        format!(
            "{:<44} {:>22} {:>22} {:>22}",
            "step", "achieved/s", "p50 ms", "p99 ms"
        ),
    ];
    for x in &a.runs {
        match b.runs.iter().find(|y| y.id == x.id) {
            Some(y) => out.push(format!(
                "{:<44} {:>7.0} → {:<7.0}{:>6} {:>6.2} → {:<6.2}{:>7} {:>6.2} → {:<6.2}{:>7}",
                x.id,
                x.achieved_rps,
                y.achieved_rps,
                change(x.achieved_rps, y.achieved_rps),
                x.latency_us.p50 / 1000.0,
                y.latency_us.p50 / 1000.0,
                change(x.latency_us.p50, y.latency_us.p50),
                x.latency_us.p99 / 1000.0,
                y.latency_us.p99 / 1000.0,
                change(x.latency_us.p99, y.latency_us.p99),
            )),
            None => out.push(format!("{:<44} only in A", x.id)),
        }
    }
    for y in b
        .runs
        .iter()
        .filter(|y| !a.runs.iter().any(|x| x.id == y.id))
    {
        out.push(format!("{:<44} only in B", y.id));
    }
    out.push(format!(
        "audit: A {} / B {}",
        if a.audit.clean { "clean" } else { "VIOLATIONS" },
        if b.audit.clean { "clean" } else { "VIOLATIONS" }
    ));
    out
}

/// Reads two `results.json` files and prints the comparison.
pub fn run(a: &Path, b: &Path) -> anyhow::Result<()> {
    for line in compare(&load(a)?, &load(b)?) {
        println!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn results(p50: f64, ids: &[&str]) -> Results {
        let runs = ids
            .iter()
            .map(|id| {
                let mut r = fixture::run("checkout-open", "grpc", Some(100.0), None, p50);
                r.id = id.to_string();
                r
            })
            .collect();
        fixture::results(&["grpc"], runs)
    }

    #[test]
    fn compare_reports_changes_and_unmatched_steps() {
        let a = results(1000.0, &["x", "only-a"]);
        let b = results(1500.0, &["x", "only-b"]);
        let text = compare(&a, &b).join("\n");
        assert!(text.contains("+50.0%"), "{text}");
        assert!(text.contains("only-a") && text.contains("only in A"));
        assert!(text.contains("only-b") && text.contains("only in B"));
        let round: Results = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(round.runs.len(), 2);
    }
}
