//! The fault steps' charts: their 100 ms timelines with the fault window shaded, goodput under
//! the overload burst with shedding and without, and the compensations owed through each step.

use super::charts::{Series, bars};
use super::figures::{Figure, OVERLOAD_SCENARIOS, TIMELINE_SCENARIOS, fig};
use crate::results::{Results, Run, Shedding};

/// Per-second completions and errors of every fault scenario, its window shaded.
pub(super) fn timelines(r: &Results, out: &mut Vec<Figure>) {
    for scenario in TIMELINE_SCENARIOS {
        let runs: Vec<&Run> = r
            .runs
            .iter()
            .filter(|x| x.scenario == scenario && x.fault.is_some())
            .collect();
        let Some(band) = runs
            .first()
            .and_then(|x| x.fault.as_ref())
            .map(|f| (f.window_s[0], f.window_s[1]))
        else {
            continue;
        };
        // Rates per second, from the 100 ms bins when the step has them (a 1 s outage is
        // invisible in 1 s bins), else from the per-second series.
        let rate = |x: &Run, errors: bool| -> Vec<(f64, f64)> {
            if x.fine_timeline.is_empty() {
                x.timeline
                    .iter()
                    .map(|s| {
                        (
                            s.t as f64 + 0.5,
                            (if errors { s.errors } else { s.completed }) as f64,
                        )
                    })
                    .collect()
            } else {
                let width = crate::engine::step::FINE_BIN.as_secs_f64();
                x.fine_timeline
                    .iter()
                    .map(|b| {
                        let n = if errors { b.errors } else { b.completed };
                        (b.t_s + width / 2.0, n as f64 / width)
                    })
                    .collect()
            }
        };
        let series: Vec<Series> = runs
            .iter()
            .flat_map(|x| {
                [
                    Series {
                        label: format!("{} completed/s", x.target),
                        points: rate(x, false),
                        secondary: false,
                        band: Vec::new(),
                    },
                    Series {
                        label: format!("{} errors/s", x.target),
                        points: rate(x, true),
                        secondary: true,
                        band: Vec::new(),
                    },
                ]
            })
            .collect();
        out.push(fig(
            &format!("timeline-{scenario}"),
            &format!(
                "{scenario}: completions and errors per second, in 100 ms bins; fault window shaded"
            ),
            super::charts::timeline(
                &format!("{scenario}: per-second completions and errors"),
                "requests per second",
                &series,
                band,
            ),
        ));
    }
}

/// The overload runs' goodput during the burst (share of the closed-loop peak), with shedding
/// and without, and the compensations owed through the step.
pub(super) fn shedding(r: &Results, out: &mut Vec<Figure>) {
    let runs: Vec<(&Run, &Shedding)> = r
        .runs
        .iter()
        .filter(|x| OVERLOAD_SCENARIOS.contains(&x.scenario.as_str()))
        .filter_map(|x| Some((x, x.fault.as_ref()?.shedding.as_ref()?)))
        .collect();
    // Without a closed-loop peak (`checkout-closed` not run) no share is known: no chart.
    if !runs.iter().any(|(_, s)| s.share_of_attainable().is_some()) {
        return;
    }
    let categories: Vec<String> = OVERLOAD_SCENARIOS
        .iter()
        .filter_map(|name| {
            let (_, s) = runs.iter().find(|(x, _)| x.scenario == *name)?;
            Some(format!("admission {}", s.admission))
        })
        .collect();
    let series: Vec<(String, Vec<f64>)> = r
        .targets()
        .iter()
        .map(|t| {
            let share = OVERLOAD_SCENARIOS
                .iter()
                .filter(|name| runs.iter().any(|(x, _)| x.scenario == **name))
                .map(|name| {
                    runs.iter()
                        .find(|(x, _)| x.scenario == *name && x.target == *t)
                        .and_then(|(_, s)| s.share_of_attainable())
                        .map_or(0.0, |v| 100.0 * v)
                })
                .collect();
            (t.clone(), share)
        })
        .collect();
    out.push(fig(
        "shedding",
        "Goodput during the overload burst (2× the knee), % of what each target could serve (its closed-loop peak, or the offered rate if lower)",
        bars(
            "Goodput at 2× the knee, % of attainable",
            "% of min(peak, offered)",
            &categories,
            &series,
        ),
    ));
}

/// The compensations owed through every fault step that sampled them (kill and overload), one
/// line per target and scenario, with the fault window of the first shaded.
pub(super) fn backlog(r: &Results, out: &mut Vec<Figure>) {
    let runs: Vec<(&Run, &crate::results::Fault)> = r
        .runs
        .iter()
        .filter_map(|x| Some((x, x.fault.as_ref()?)))
        .filter(|(_, f)| !f.backlog.is_empty())
        .collect();
    let Some((_, first)) = runs.first() else {
        return;
    };
    // Steps that never owed anything are left out of the legend (the report says which).
    let owing: Vec<_> = runs
        .iter()
        .filter(|(_, f)| f.backlog.iter().any(|p| p[1] > 0.0))
        .collect();
    let shown = if owing.is_empty() {
        runs.iter().collect()
    } else {
        owing
    };
    let series: Vec<Series> = shown
        .iter()
        .map(|(x, f)| Series {
            label: format!("{} {}", x.target, x.scenario),
            points: f.backlog.iter().map(|p| (p[0], p[1])).collect(),
            secondary: x.scenario == "overload-unshed",
            band: Vec::new(),
        })
        .collect();
    out.push(fig(
        "compensation-backlog",
        "Compensations owed (all outboxes) through each fault step, every 250 ms; the first step's fault window shaded",
        super::charts::timeline(
            "Compensations owed during faults",
            "owed compensations",
            &series,
            (first.window_s[0], first.window_s[1]),
        ),
    ));
}
