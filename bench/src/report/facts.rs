//! Facts derived from a run's results: the knee, the common load, light-load and best runs,
//! and the number formats the report uses.

use crate::results::{Results, Run};

/// The open-loop run of `target` in `scenario` at `rate`.
pub fn run_at<'a>(r: &'a Results, scenario: &str, target: &str, rate: f64) -> Option<&'a Run> {
    r.series(scenario, target)
        .find(|x| x.offered_rps.is_some_and(|o| (o - rate).abs() < 0.5))
}

/// True when a run met its offered rate, a p99 of at most `slo_p99_ms`, and had at most 1% errors.
pub fn within_slo(slo_p99_ms: f64, x: &Run) -> bool {
    let offered = x.offered_rps.unwrap_or(0.0);
    x.achieved_rps >= 0.95 * offered
        && x.latency_us.p99 <= slo_p99_ms * 1000.0
        && (x.errors as f64) <= 0.01 * (x.requests.max(1) as f64)
}

/// The knee of `target` among `runs`: the highest offered checkout rate run within the objective.
pub fn knee_in(runs: &[Run], target: &str, slo_p99_ms: f64) -> Option<f64> {
    runs.iter()
        .filter(|x| {
            x.scenario == "checkout-open" && x.target == target && within_slo(slo_p99_ms, x)
        })
        .filter_map(|x| x.offered_rps)
        .reduce(f64::max)
}

/// The knee of `target` in a finished run.
pub fn knee(r: &Results, target: &str) -> Option<f64> {
    knee_in(&r.runs, target, r.config.slo_p99_ms)
}

/// The highest offered rate every target sustained (achieved ≥ 90% of offered); else the lightest.
pub fn common_rate(r: &Results) -> Option<f64> {
    let rates: Vec<f64> = r
        .runs
        .iter()
        .filter(|x| x.scenario == "checkout-open")
        .filter_map(|x| x.offered_rps)
        .collect();
    let lightest = rates.iter().copied().reduce(f64::min)?;
    let sustained = rates
        .iter()
        .copied()
        .filter(|&rate| {
            r.targets().iter().all(|t| {
                run_at(r, "checkout-open", t, rate).is_some_and(|x| x.achieved_rps >= 0.9 * rate)
            })
        })
        .reduce(f64::max);
    Some(sustained.unwrap_or(lightest))
}

/// Microseconds as milliseconds with two decimals.
pub fn ms(us: f64) -> String {
    format!("{:.2}", us / 1000.0)
}

/// `a / b` as a multiplier.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "–".into()
    }
}

/// The lightest open-loop checkout step of `target`.
pub fn lightest<'a>(r: &'a Results, target: &str) -> Option<&'a Run> {
    r.series("checkout-open", target).min_by(|a, b| {
        a.offered_rps
            .unwrap_or(0.0)
            .total_cmp(&b.offered_rps.unwrap_or(0.0))
    })
}

/// The closed-loop checkout step of `target` with the highest throughput.
pub fn closed_best<'a>(r: &'a Results, target: &str) -> Option<&'a Run> {
    r.series("checkout-closed", target)
        .max_by(|a, b| a.achieved_rps.total_cmp(&b.achieved_rps))
}
