//! Facts derived from a run's results: the knee, the common load, light-load and best runs,
//! and the number formats the report uses.

use crate::results::{Results, Run, Trial};

/// The first step of `target` in `scenario` (the one step of a single-step scenario).
pub fn step_of<'a>(r: &'a Results, scenario: &str, target: &str) -> Option<&'a Run> {
    r.series(scenario, target).next()
}

/// The open-loop run of `target` in `scenario` at `rate`.
pub fn run_at<'a>(r: &'a Results, scenario: &str, target: &str, rate: f64) -> Option<&'a Run> {
    r.series(scenario, target)
        .find(|x| x.offered_rps.is_some_and(|o| (o - rate).abs() < 0.5))
}

/// True when a trial met the offered rate, a p99 of at most `slo_p99_ms`, and had at most 1%
/// errors.
pub fn trial_within_slo(slo_p99_ms: f64, offered: f64, t: &Trial) -> bool {
    t.achieved_rps >= 0.95 * offered
        && t.p99_us <= slo_p99_ms * 1000.0
        && (t.errors as f64) <= 0.01 * (t.requests.max(1) as f64)
}

/// How many of a step's trials were within the objective, of how many (a step run as one
/// window counts as one trial).
pub fn trials_within_slo(slo_p99_ms: f64, x: &Run) -> (usize, usize) {
    let offered = x.offered_rps.unwrap_or(0.0);
    let pooled = [crate::engine::trials::trial_of(x)];
    let trials: &[Trial] = if x.trials.is_empty() {
        &pooled
    } else {
        &x.trials
    };
    let within = trials
        .iter()
        .filter(|t| trial_within_slo(slo_p99_ms, offered, t))
        .count();
    (within, trials.len())
}

/// True when most of a step's trials met its offered rate, a p99 of at most `slo_p99_ms`, and had
/// at most 1% errors.
pub fn within_slo(slo_p99_ms: f64, x: &Run) -> bool {
    let (within, trials) = trials_within_slo(slo_p99_ms, x);
    2 * within > trials
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

/// The highest closed-loop checkout throughput of `target` among `runs`.
pub fn closed_peak(runs: &[Run], target: &str) -> Option<f64> {
    runs.iter()
        .filter(|r| r.scenario == "checkout-closed" && r.target == target)
        .map(|r| r.achieved_rps)
        .reduce(f64::max)
}

/// The knee of `target` in a finished run: found by search when the profile searched, else the
/// highest sweep rate within the objective.
pub fn knee(r: &Results, target: &str) -> Option<f64> {
    match r.knees.iter().find(|k| k.target == target) {
        Some(k) => k.knee_rps,
        None => knee_in(&r.runs, target, r.config.slo_p99_ms),
    }
}

/// The highest of the sweep's shared rates every target sustained (achieved ≥ 90% of offered);
/// else the lightest. Knee probes, each at a rate of its target's own, are left out.
pub fn common_rate(r: &Results) -> Option<f64> {
    let rates: Vec<f64> = r
        .runs
        .iter()
        .filter(|x| x.scenario == "checkout-open" && !x.probe)
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

/// A share (1.0 = all) as a whole percent, rounded down, so a share just under a goal (0.795
/// against 80%) never reads as the goal it missed. A hair of tolerance keeps exact shares whole
/// (0.8 computed as 3.2 / 4 is 80%, not 79%).
pub fn percent(share: f64) -> String {
    format!("{:.0}%", (100.0 * share + 1e-9).floor())
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

/// Trials the lightest checkout step ran, when more than the run's other sweep steps (the
/// profile spends more where the light-load verdict is read).
pub fn light_trials(r: &Results) -> Option<usize> {
    r.targets()
        .iter()
        .filter_map(|t| lightest(r, t))
        .map(|x| x.trials.len())
        .max()
        .filter(|&n| n > r.config.trials)
}

/// The closed-loop checkout step of `target` with the highest throughput.
pub fn closed_best<'a>(r: &'a Results, target: &str) -> Option<&'a Run> {
    r.series("checkout-closed", target)
        .max_by(|a, b| a.achieved_rps.total_cmp(&b.achieved_rps))
}

#[cfg(test)]
mod tests {
    use super::{light_trials, percent};
    use crate::report::fixture;
    use crate::results::Trial;

    #[test]
    fn the_lightest_step_s_extra_trials_are_told_and_only_when_extra() {
        let step = |target: &str, rate: f64, n: usize| {
            let mut x = fixture::run("checkout-open", target, Some(rate), None, 1000.0);
            x.trials = vec![Trial::default(); n];
            x
        };
        // The run's sweep steps ran 5 trials (the fixture's); the lightest rate 10.
        let r = fixture::results(
            &["grpc", "rest-h1"],
            vec![
                step("grpc", 200.0, 10),
                step("grpc", 1000.0, 5),
                step("rest-h1", 1000.0, 5),
                step("rest-h1", 200.0, 10),
            ],
        );
        assert_eq!(light_trials(&r), Some(10));
        let r = fixture::results(
            &["grpc"],
            vec![step("grpc", 200.0, 5), step("grpc", 1000.0, 5)],
        );
        assert_eq!(
            light_trials(&r),
            None,
            "as many as every step: nothing to tell"
        );
    }

    #[test]
    fn a_share_under_a_goal_never_reads_as_the_goal() {
        // 3,506 of 4,408/s is 79.5%: rounded to nearest it read "80%" beside "goal not met".
        assert_eq!(percent(3506.0 / 4408.0), "79%");
        assert_eq!(percent(3.2 / 4.0), "80%", "an exact share stays whole");
        assert_eq!(percent(0.7 / 1.0 + 0.1), "80%", "0.7999999999999999 is 0.8");
        assert_eq!(percent(1.03), "103%");
    }
}
