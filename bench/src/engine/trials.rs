//! A step run as several short trials, interleaved with the other targets' trials of the same
//! step: each trial's figures are kept, and the trials are pooled into the step's one [`Run`]
//! (every request of every trial in one histogram; per-request costs weighted by what each trial
//! sent).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::step::{floor_ratio, littles_law, summarize};
use crate::results::*;
use crate::stats::interval;

/// One trial as measured.
pub struct Part {
    /// Its run.
    pub run: Run,
    /// Its latency histogram.
    pub hist: Histogram<u64>,
    /// Requests it sent, warm-up included.
    pub dispatched: u64,
}

/// The trial's own figures.
pub fn trial_of(run: &Run) -> Trial {
    Trial {
        p50_us: run.latency_us.p50,
        p99_us: run.latency_us.p99,
        achieved_rps: run.achieved_rps,
        requests: run.requests,
        errors: run.errors,
    }
}

/// Median and interval of each figure over `trials`.
pub fn spread(trials: &[Trial]) -> Spread {
    let of = |f: fn(&Trial) -> f64| interval(&trials.iter().map(f).collect::<Vec<_>>());
    Spread {
        trials: trials.len(),
        p50_us: of(|t| t.p50_us),
        p99_us: of(|t| t.p99_us),
        achieved_rps: of(|t| t.achieved_rps),
    }
}

fn add<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// Weighted mean of `(value, weight)` pairs (0 when the weights are 0).
fn weighted(items: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (sum, w) = items.fold((0.0, 0.0), |(s, w), (v, x)| (s + v * x, w + x));
    if w > 0.0 { sum / w } else { 0.0 }
}

/// Pools `parts` (at least one) into one run named like the first, keeping every trial.
pub fn pool(parts: Vec<Part>, calibration: &Calibration) -> (Run, Histogram<u64>) {
    let mut hist = parts[0].hist.clone();
    hist.reset();
    for p in &parts {
        let _ = hist.add(&p.hist);
    }
    let mut run = parts[0].run.clone();
    let runs: Vec<&Run> = parts.iter().map(|p| &p.run).collect();
    let secs = |r: &Run| r.duration_s;
    run.duration_s = runs.iter().map(|r| secs(r)).sum();
    run.requests = runs.iter().map(|r| r.requests).sum();
    run.errors = runs.iter().map(|r| r.errors).sum();
    run.errors_by_kind = BTreeMap::new();
    run.outcomes = BTreeMap::new();
    for r in &runs {
        add(&mut run.errors_by_kind, &r.errors_by_kind);
        add(&mut run.outcomes, &r.outcomes);
    }
    run.latency_us = summarize(&hist);
    run.achieved_rps = weighted(runs.iter().map(|r| (r.achieved_rps, secs(r))));
    run.timeline = runs
        .iter()
        .flat_map(|r| r.timeline.iter().cloned())
        .enumerate()
        .map(|(i, mut s)| {
            s.t = i as u32;
            s
        })
        .collect();
    let sent = |p: &Part| p.dispatched as f64;
    run.resources = run
        .resources
        .iter()
        .map(|u| {
            let each = parts.iter().filter_map(|p| {
                let v = p.run.resources.iter().find(|x| x.process == u.process)?;
                Some((v, p))
            });
            ProcessUsage {
                process: u.process.clone(),
                cpu_pct: weighted(each.clone().map(|(v, p)| (v.cpu_pct, secs(&p.run)))),
                cpu_us_per_request: weighted(
                    each.clone().map(|(v, p)| (v.cpu_us_per_request, sent(p))),
                ),
                rss_mib_max: each.map(|(v, _)| v.rss_mib_max).fold(0.0, f64::max),
            }
        })
        .collect();
    run.core = run
        .core
        .iter()
        .map(|c| {
            let each = parts.iter().filter_map(|p| {
                let v = p.run.core.iter().find(|x| x.service == c.service)?;
                Some((v, sent(p)))
            });
            let w = |f: fn(&CoreUsage) -> f64| weighted(each.clone().map(|(v, n)| (f(v), n)));
            CoreUsage {
                service: c.service.clone(),
                core_cpu_us_per_request: w(|v| v.core_cpu_us_per_request),
                writes_per_request: w(|v| v.writes_per_request),
                commits_per_request: w(|v| v.commits_per_request),
                inline_commit_share: w(|v| v.inline_commit_share),
            }
        })
        .collect();
    // Over every trial's requests, when every trial counted it.
    let per_request = |f: fn(&Run) -> Option<f64>| {
        runs.iter().all(|r| f(r).is_some()).then(|| {
            weighted(
                runs.iter()
                    .map(|r| (f(r).unwrap_or(0.0), r.requests as f64)),
            )
        })
    };
    run.wire_bytes_per_request = per_request(|r| r.wire_bytes_per_request);
    run.wire_packets_per_request = per_request(|r| r.wire_packets_per_request);
    let in_flight = weighted(runs.iter().map(|r| (r.littles_law.in_flight_mean, secs(r))));
    run.littles_law = littles_law(in_flight, run.achieved_rps, run.latency_us.mean);
    run.generator_lag_us = (
        weighted(
            runs.iter()
                .map(|r| (r.generator_lag_us.0, r.requests as f64)),
        ),
        runs.iter()
            .map(|r| r.generator_lag_us.1)
            .fold(0.0, f64::max),
    );
    run.start_lag_p99_us = runs
        .iter()
        .filter_map(|r| r.start_lag_p99_us)
        .reduce(f64::max);
    run.p50_floor_ratio = floor_ratio(run.latency_us.p50, calibration);
    run.trials = runs.iter().map(|r| trial_of(r)).collect();
    run.spread = Some(spread(&run.trials));
    (run, hist)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn part(p50: f64, rps: f64, cpu: f64, dispatched: u64) -> Part {
        let mut run = fixture::run("checkout-open", "grpc", Some(100.0), None, p50);
        run.achieved_rps = rps;
        run.duration_s = 0.5;
        run.resources = vec![ProcessUsage {
            process: "orders".into(),
            cpu_pct: 10.0,
            cpu_us_per_request: cpu,
            rss_mib_max: p50 / 100.0,
        }];
        run.errors_by_kind.insert("overloaded".into(), 1);
        let mut hist = Histogram::<u64>::new(3).unwrap();
        for _ in 0..100 {
            hist.record(p50 as u64).unwrap();
        }
        Part {
            run,
            hist,
            dispatched,
        }
    }

    #[test]
    fn pooling_keeps_every_trial_and_weighs_costs_by_what_each_sent() {
        let parts = vec![
            part(1000.0, 100.0, 200.0, 100),
            part(3000.0, 90.0, 100.0, 300),
            part(2000.0, 110.0, 100.0, 100),
        ];
        let (run, hist) = pool(parts, &Calibration::default());
        assert_eq!(hist.len(), 300);
        assert_eq!(run.trials.len(), 3);
        assert_eq!(run.trials[1].p50_us, 3000.0);
        let s = run.spread.unwrap();
        assert_eq!(
            (s.p50_us.median, s.p50_us.lo, s.p50_us.hi),
            (2000.0, 1000.0, 3000.0)
        );
        assert_eq!(s.achieved_rps.median, 100.0);
        assert!((run.duration_s - 1.5).abs() < 1e-9);
        assert!((run.achieved_rps - 100.0).abs() < 1e-9);
        assert_eq!(run.requests, 300);
        assert_eq!(run.errors_by_kind["overloaded"], 3);
        // 200 µs × 100 + 100 µs × 300 + 100 µs × 100 over 500 sent.
        assert!((run.resources[0].cpu_us_per_request - 120.0).abs() < 1e-9);
        assert_eq!(run.resources[0].rss_mib_max, 30.0);
        assert_eq!(run.trial_values(|t| t.p50_us), vec![1000.0, 3000.0, 2000.0]);
    }
}
