//! The search for a target's knee: the highest offered rate it serves within the objective. The
//! sweep's shared rates give a first bracket (highest rate within the objective below the lowest
//! one outside it); the search widens it upward (doubling, up to a little past the closed-loop
//! peak) or downward (halving) until both ends are known, then bisects geometrically until the
//! upper end is within `width` of the lower, or the probes run out. Every probe is judged by the
//! majority of its trials. [`knees`] runs every target's search, probes interleaved.

use super::profile::Scenario;
use super::runner::Session;
use super::sweep::{self, Probe, step_names};
use crate::cluster::target::Target;
use crate::engine::load::Mode;
use crate::report::facts::{closed_peak, trials_within_slo};
use crate::results::KneeSearch;

/// How a profile searches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KneeSpec {
    /// Most probes per target beyond the sweep's rates.
    pub max_probes: usize,
    /// Stop when `above / knee` is at most this (1.10: the knee is known to ±5% of the bracket's
    /// middle).
    pub width: f64,
}

/// One target's search in progress.
#[derive(Debug, Clone)]
pub struct Search {
    spec: KneeSpec,
    /// The closed-loop peak, if measured: no rate much past it can be within the objective.
    ceiling: Option<f64>,
    /// Every rate judged so far: `(rate, trials within, trials)`, and whether it came from the
    /// search (not the sweep).
    judged: Vec<(f64, usize, usize, bool)>,
}

/// Probes are rounded to 10/s so run ids stay short and rates comparable.
fn round(rate: f64) -> f64 {
    (rate / 10.0).round().max(1.0) * 10.0
}

impl Search {
    /// A search with nothing judged yet.
    pub fn new(spec: KneeSpec, ceiling: Option<f64>) -> Self {
        Self {
            spec,
            ceiling,
            judged: Vec::new(),
        }
    }

    /// Records how `rate` fared: `within` of `trials` met the objective. `probed`: this rate was
    /// one of the search's own (it counts against the probe budget).
    pub fn record(&mut self, rate: f64, within: usize, trials: usize, probed: bool) {
        self.judged.push((rate, within, trials, probed));
    }

    fn passed(j: &(f64, usize, usize, bool)) -> bool {
        2 * j.1 > j.2
    }

    /// The bracket so far: the lowest rate outside the objective, and the highest within it
    /// below that one.
    pub fn bracket(&self) -> (Option<f64>, Option<f64>) {
        let above = self
            .judged
            .iter()
            .filter(|j| !Self::passed(j))
            .map(|j| j.0)
            .reduce(f64::min);
        let knee = self
            .judged
            .iter()
            .filter(|j| Self::passed(j) && above.is_none_or(|a| j.0 < a))
            .map(|j| j.0)
            .reduce(f64::max);
        (knee, above)
    }

    fn probes(&self) -> usize {
        self.judged.iter().filter(|j| j.3).count()
    }

    /// The next rate to probe, or `None` when the knee is known closely enough (or the budget is
    /// spent, or nothing new can be learnt).
    pub fn next(&self) -> Option<f64> {
        if self.probes() >= self.spec.max_probes {
            return None;
        }
        let (knee, above) = self.bracket();
        let next = match (knee, above) {
            (Some(k), Some(a)) if a / k <= self.spec.width => return None,
            (Some(k), Some(a)) => round((k * a).sqrt()),
            (Some(k), None) => {
                let up = round(2.0 * k);
                match self.ceiling {
                    Some(c) if k < 1.1 * c => up.min(round(1.1 * c)),
                    _ => up,
                }
            }
            (None, Some(a)) => round(a / 2.0),
            (None, None) => return None,
        };
        let seen = self.judged.iter().any(|j| (j.0 - next).abs() < 0.5);
        (!seen && next >= 10.0).then_some(next)
    }

    /// The outcome, for the report.
    pub fn result(&self, target: &str) -> KneeSearch {
        let (knee, above) = self.bracket();
        KneeSearch {
            target: target.into(),
            knee_rps: knee,
            above_rps: above,
            probes: self
                .judged
                .iter()
                .map(|j| [j.0, j.1 as f64, j.2 as f64])
                .collect(),
        }
    }
}

/// Searches every target's knee (see the module's note) from the open-loop sweep's rates, each round
/// probing every unfinished target once, interleaved. Probes are recorded as more steps of the
/// open-loop scenario.
pub(crate) async fn knees(
    s: &mut Session,
    scenario: &Scenario,
    targets: &[Target],
    products: usize,
) {
    let Some(spec) = s.opts.profile.knee else {
        return;
    };
    let slo = s.opts.profile.slo_p99.as_secs_f64() * 1000.0;
    let mut searches: Vec<Search> = targets
        .iter()
        .map(|t| {
            let label = t.kind.label();
            let mut search = Search::new(spec, closed_peak(&s.runs, label));
            for r in s
                .runs
                .iter()
                .filter(|r| r.scenario == scenario.name && r.target == label)
            {
                let (within, trials) = trials_within_slo(slo, r);
                search.record(r.offered_rps.unwrap_or(0.0), within, trials, false);
            }
            search
        })
        .collect();
    let mut step = s
        .runs
        .iter()
        .filter(|r| r.scenario == scenario.name)
        .map(|r| r.step + 1)
        .max()
        .unwrap_or(0);
    loop {
        let probes: Vec<Probe> = searches
            .iter()
            .enumerate()
            .filter_map(|(i, search)| {
                Some(Probe {
                    target: i,
                    mode: Mode::Open {
                        rate: search.next()?,
                    },
                    step,
                    name: scenario.name,
                })
            })
            .collect();
        if probes.is_empty() {
            break;
        }
        s.progress.grow(probes.len());
        s.progress.line(&format!(
            "knee search: probing {}",
            probes
                .iter()
                .map(|p| format!("{} at {}", targets[p.target].kind, step_names(&p.mode).0))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for (p, at) in probes.iter().zip(
            sweep::round(
                s,
                scenario,
                targets,
                &probes,
                products,
                s.opts.profile.trials,
            )
            .await,
        ) {
            s.runs[at].probe = true;
            let r = &s.runs[at];
            let (within, trials) = trials_within_slo(slo, r);
            searches[p.target].record(r.offered_rps.unwrap_or(0.0), within, trials, true);
        }
        step += 1;
    }
    for (t, search) in targets.iter().zip(&searches) {
        let found = search.result(t.kind.label());
        s.progress.line(&format!(
            "knee of {}: {}",
            t.kind,
            match (found.knee_rps, found.above_rps) {
                (Some(k), Some(a)) => format!("{k:.0}/s (outside the objective at {a:.0}/s)"),
                (Some(k), None) => format!("at least {k:.0}/s"),
                (None, Some(a)) => format!("below {a:.0}/s"),
                (None, None) => "not measured".into(),
            }
        ));
        s.knees.push(found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a search on a synthetic target within the objective up to `knee`, each probe judged
    /// with 5 trials of which `noise(rate)` flip.
    fn search(
        sweep: &[f64],
        knee: f64,
        ceiling: Option<f64>,
        spec: KneeSpec,
    ) -> (KneeSearch, usize) {
        let judge = |rate: f64| if rate <= knee { 4 } else { 1 };
        let mut s = Search::new(spec, ceiling);
        for &r in sweep {
            s.record(r, judge(r), 5, false);
        }
        let mut probes = 0;
        while let Some(r) = s.next() {
            s.record(r, judge(r), 5, true);
            probes += 1;
        }
        (s.result("t"), probes)
    }

    const SPEC: KneeSpec = KneeSpec {
        max_probes: 5,
        width: 1.10,
    };

    #[test]
    fn a_known_knee_is_found_to_within_five_percent() {
        for knee in [730.0, 2345.0, 2999.0, 3001.0, 5555.0] {
            let (r, probes) = search(&[200.0, 500.0, 1000.0, 2000.0, 4000.0], knee, None, SPEC);
            let (k, a) = (r.knee_rps.unwrap(), r.above_rps.unwrap());
            assert!(k <= knee && knee < a, "{knee}: {k}..{a}");
            assert!(a / k <= 1.10, "{knee}: {k}..{a} after {probes} probes");
            assert!(probes <= 4, "{knee}: {probes}");
        }
    }

    #[test]
    fn the_search_widens_past_the_sweep_and_stops_at_its_budget() {
        // Every sweep rate within: the search doubles, capped a little past the peak.
        let (r, _) = search(&[200.0, 1000.0], 9_000.0, Some(9_500.0), SPEC);
        assert!(
            r.probes[2][0] == 2000.0 && r.probes[3][0] == 4000.0,
            "{r:?}"
        );
        assert_eq!(r.probes[4][0], 8000.0);
        assert_eq!(r.probes.len(), 7, "budget of 5 probes");
        assert!(r.knee_rps.unwrap() <= 9_000.0);
        // Nothing within: it halves from the lowest rate.
        let (r, _) = search(&[200.0, 1000.0], 60.0, None, SPEC);
        assert_eq!(r.probes[2][0], 100.0);
        let (k, a) = (r.knee_rps.unwrap(), r.above_rps.unwrap());
        assert!(k <= 60.0 && 60.0 < a && a / k <= 1.2, "{r:?}");
        // A noisy probe judged by its trials' majority: 2 of 5 within is outside.
        let mut s = Search::new(SPEC, None);
        s.record(1000.0, 5, 5, false);
        s.record(2000.0, 2, 5, false);
        assert_eq!(s.bracket(), (Some(1000.0), Some(2000.0)));
        assert_eq!(s.next(), Some(1410.0));
    }
}
