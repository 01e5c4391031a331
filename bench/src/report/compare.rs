//! `bench compare A B`: what changed between two runs, step by step.

use std::path::Path;

use crate::results::Results;

/// A run's results: its `results.json`, or the run's folder holding one.
fn load(p: &Path) -> anyhow::Result<Results> {
    let joined = p.join("results.json");
    let p = if p.is_dir() { joined.as_path() } else { p };
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

/// `median ±x%` of a step's trials (x: the interval's larger half-width), as benchstat shows a
/// value.
fn value(v: &[f64], scale: f64) -> String {
    let i = crate::stats::interval(v);
    let half = (i.hi - i.median).max(i.median - i.lo);
    if v.len() < 2 || i.median == 0.0 {
        format!("{:.2}", i.median / scale)
    } else {
        format!("{:.2} ±{:.0}%", i.median / scale, 100.0 * half / i.median)
    }
}

/// One metric of one step in both runs: `A  B  delta [interval]  p`; the delta is `~` when
/// the trials do not differ significantly.
fn metric_line(name: &str, a: &[f64], b: &[f64], scale: f64) -> String {
    let c = crate::stats::compare(b, a);
    let delta = if a.len() < 2 || b.len() < 2 {
        format!(
            "{} (one trial each: no test)",
            change(crate::stats::median(a), crate::stats::median(b))
        )
    } else if c.significant {
        format!(
            "{:+.1}% [{:+.1}% {:+.1}%]",
            100.0 * (c.ratio.median - 1.0),
            100.0 * (c.ratio.lo - 1.0),
            100.0 * (c.ratio.hi - 1.0)
        )
    } else {
        "~".into()
    };
    format!(
        "  {name:<12} {:>16} {:>16}   {delta:<28} (p={:.3} n={}+{})",
        value(a, scale),
        value(b, scale),
        c.p,
        a.len(),
        b.len()
    )
}

/// The comparison as text lines: the floor, every step's throughput, p50 and p99 (median of the
/// trials ± interval in each run, the change with its interval, Mann–Whitney p; `~` where not
/// significant), the verdict table of each run side by side, and the audits.
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
            "  {:<12} {:>16} {:>16}   {:<28} {}",
            "metric", "A", "B", "delta", "(p, trials)"
        ),
    ];
    // Fault steps are named after rates derived from each run's knee: matched by scenario and
    // target instead.
    let key = |x: &crate::results::Run| match &x.fault {
        Some(_) => format!("{}-{}", x.scenario, x.target),
        None => x.id.clone(),
    };
    for x in &a.runs {
        match b.runs.iter().find(|y| key(y) == key(x)) {
            Some(y) => {
                out.push(x.id.clone());
                out.push(metric_line(
                    "achieved/s",
                    &x.trial_values(|t| t.achieved_rps),
                    &y.trial_values(|t| t.achieved_rps),
                    1.0,
                ));
                out.push(metric_line(
                    "p50 ms",
                    &x.trial_values(|t| t.p50_us),
                    &y.trial_values(|t| t.p50_us),
                    1000.0,
                ));
                out.push(metric_line(
                    "p99 ms",
                    &x.trial_values(|t| t.p99_us),
                    &y.trial_values(|t| t.p99_us),
                    1000.0,
                ));
            }
            None => out.push(format!("{:<44} only in A", x.id)),
        }
    }
    for y in b
        .runs
        .iter()
        .filter(|y| !a.runs.iter().any(|x| key(x) == key(y)))
    {
        out.push(format!("{:<44} only in B", y.id));
    }
    let (va, vb) = (super::verdict::verdicts(a), super::verdict::verdicts(b));
    out.push("verdicts:".into());
    let mut agree = 0;
    // Matched by the question, not the rate it was asked at (each run finds its own).
    let topic = |q: &str| q.split(" (").next().unwrap_or(q).to_owned();
    for v in &va {
        let other = vb.iter().find(|w| topic(&w.question) == topic(&v.question));
        let same = other.is_some_and(|w| w.winner == v.winner);
        agree += usize::from(same);
        out.push(format!(
            "  {:<70} A {:<28} B {:<28} {}",
            v.question,
            v.outcome(),
            other.map_or("–".into(), |w| w.outcome()),
            if same { "same" } else { "DIFFERS" }
        ));
    }
    out.push(format!(
        "  {agree} of {} verdicts name the same winner (or tie) in both runs",
        va.len()
    ));
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

    fn with_trials(mut r: Results, p50s: &[f64]) -> Results {
        for x in &mut r.runs {
            x.trials = p50s
                .iter()
                .map(|&p| crate::results::Trial {
                    p50_us: p,
                    p99_us: 2.0 * p,
                    achieved_rps: 100.0,
                    requests: 100,
                    errors: 0,
                })
                .collect();
        }
        r
    }

    #[test]
    fn compare_reports_changes_and_unmatched_steps() {
        let a = results(1000.0, &["x", "only-a"]);
        let b = results(1500.0, &["x", "only-b"]);
        let text = compare(&a, &b).join("\n");
        assert!(text.contains("+50.0% (one trial each: no test)"), "{text}");
        assert!(text.contains("only-a") && text.contains("only in A"));
        assert!(text.contains("only-b") && text.contains("only in B"));
        let round: Results = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(round.runs.len(), 2);
    }

    #[test]
    fn a_run_is_named_by_its_results_or_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("results.json");
        std::fs::write(
            &file,
            serde_json::to_string(&results(1000.0, &["x"])).unwrap(),
        )
        .unwrap();
        assert_eq!(load(&file).unwrap().runs.len(), 1);
        assert_eq!(load(dir.path()).unwrap().runs.len(), 1);
        let empty = tempfile::tempdir().unwrap();
        let e = load(empty.path()).unwrap_err().to_string();
        assert!(e.contains("results.json"), "{e}");
    }

    #[test]
    fn a_significant_change_has_its_interval_and_noise_is_a_tilde() {
        let a = with_trials(results(1000.0, &["x"]), &[1000., 1010., 990., 1005., 995.]);
        let slower = with_trials(
            results(1000.0, &["x"]),
            &[1500., 1510., 1490., 1505., 1495.],
        );
        let text = compare(&a, &slower).join("\n");
        let p50 = text
            .lines()
            .find(|l| l.contains("p50 ms") && l.contains("p="))
            .unwrap();
        assert!(p50.contains("+50.0% ["), "{p50}");
        assert!(p50.contains("p=0.008 n=5+5"), "{p50}");
        // Throughput identical in every trial: no change.
        let rps = text
            .lines()
            .find(|l| l.contains("achieved/s") && l.contains("p="))
            .unwrap();
        assert!(rps.contains(" ~ "), "{rps}");
        let same = with_trials(results(1000.0, &["x"]), &[1001., 1011., 989., 1004., 996.]);
        let text = compare(&a, &same).join("\n");
        let p50 = text
            .lines()
            .find(|l| l.contains("p50 ms") && l.contains("p="))
            .unwrap();
        assert!(p50.contains(" ~ "), "{p50}");
        assert!(text.contains("verdicts name the same winner"), "{text}");
    }
}
