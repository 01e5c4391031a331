//! The report's charts, drawn from the results.

use super::charts::{Series, bars, lines, stacked_bars};
use super::facts::{common_rate, run_at};
use crate::results::Results;

/// Fault scenarios whose per-second timeline is charted (`charts/timeline-NAME.svg`).
pub const TIMELINE_SCENARIOS: [&str; 6] = [
    "kill-orders",
    "kill-payments",
    "kill-inventory",
    "kill-fiscal",
    "kill-logistics",
    "overload",
];

/// A rendered chart.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem under `charts/`.
    pub name: String,
    /// What it shows.
    pub title: String,
    /// The SVG.
    pub svg: String,
}

fn fig(name: &str, title: &str, svg: String) -> Figure {
    Figure {
        name: name.into(),
        title: title.into(),
        svg,
    }
}

/// Every chart the report shows.
pub fn all(r: &Results) -> Vec<Figure> {
    let mut out = Vec::new();
    let targets = r.targets();
    let open =
        |pick: fn(&crate::results::Run) -> f64, secondary: bool, suffix: &str| -> Vec<Series> {
            targets
                .iter()
                .map(|t| Series {
                    label: format!("{t}{suffix}"),
                    points: r
                        .series("checkout-open", t)
                        .filter_map(|x| x.offered_rps.map(|o| (o, pick(x))))
                        .collect(),
                    secondary,
                })
                .filter(|s| !s.points.is_empty())
                .collect()
        };
    let has = |scenario: &str| r.runs.iter().any(|x| x.scenario == scenario);
    if has("checkout-open") {
        let mut lat = open(|x| x.latency_us.p99 / 1000.0, false, " p99");
        lat.extend(open(|x| x.latency_us.p50 / 1000.0, true, " p50"));
        out.push(fig(
            "latency-vs-load",
            "Checkout latency (p50, p99) vs offered load",
            lines(
                "Checkout latency vs offered load",
                "offered checkouts/s",
                "latency, ms (log)",
                &lat,
                true,
                false,
            ),
        ));
        out.push(fig(
            "throughput",
            "Achieved vs offered throughput",
            lines(
                "Achieved vs offered checkouts/s",
                "offered checkouts/s",
                "achieved checkouts/s",
                &open(|x| x.achieved_rps, false, ""),
                false,
                true,
            ),
        ));
    }
    if let Some(rate) = common_rate(r) {
        let spectrum: Vec<Series> = targets
            .iter()
            .filter_map(|t| run_at(r, "checkout-open", t, rate))
            .map(|x| {
                let l = x.latency_us;
                Series {
                    label: x.target.clone(),
                    points: [
                        (50.0, l.p50),
                        (90.0, l.p90),
                        (99.0, l.p99),
                        (99.9, l.p999),
                        (100.0, l.max),
                    ]
                    .iter()
                    .map(|&(q, v): &(f64, f64)| (-(1.0 - q / 100.0 + 1e-4).log10(), v / 1000.0))
                    .collect(),
                    secondary: false,
                }
            })
            .collect();
        out.push(fig(
            "spectrum",
            &format!("Latency percentile spectrum at {rate:.0} checkouts/s"),
            lines(
                &format!(
                    "Latency spectrum at {rate:.0}/s (x: 0.3=p50, 1=p90, 2=p99, 3=p99.9, 4=max)"
                ),
                "-log10(1 - percentile)",
                "latency, ms (log)",
                &spectrum,
                true,
                false,
            ),
        ));
        let runs: Vec<_> = targets
            .iter()
            .filter_map(|t| run_at(r, "checkout-open", t, rate))
            .collect();
        let mut processes: Vec<String> = Vec::new();
        for x in &runs {
            for p in &x.resources {
                if !processes.contains(&p.process) {
                    processes.push(p.process.clone());
                }
            }
        }
        let per = |pick: fn(&crate::results::ProcessUsage) -> f64| -> Vec<(String, Vec<f64>)> {
            runs.iter()
                .map(|x| {
                    let vals = processes
                        .iter()
                        .map(|p| {
                            x.resources
                                .iter()
                                .find(|u| &u.process == p)
                                .map_or(0.0, pick)
                        })
                        .collect();
                    (x.target.clone(), vals)
                })
                .collect()
        };
        out.push(fig(
            "cpu-per-service",
            &format!("CPU per checkout, by process, at {rate:.0}/s"),
            bars(
                &format!("CPU µs per checkout at {rate:.0}/s"),
                "CPU µs per request",
                &processes,
                &per(|u| u.cpu_us_per_request),
            ),
        ));
        out.push(fig(
            "rss-per-service",
            &format!("Peak resident memory by process at {rate:.0}/s"),
            bars(
                &format!("Peak RSS at {rate:.0}/s"),
                "MiB",
                &processes,
                &per(|u| u.rss_mib_max),
            ),
        ));
    }
    if let Some(cost) = r.cost.as_ref().filter(|c| !c.services.is_empty()) {
        let services: Vec<String> = ["orders", "payments", "inventory", "fiscal", "logistics"]
            .into_iter()
            .map(String::from)
            .collect();
        let series: Vec<(String, Vec<(f64, f64)>)> = targets
            .iter()
            .filter(|t| cost.services.iter().any(|c| &c.target == *t))
            .map(|t| {
                let split = services
                    .iter()
                    .map(|svc| {
                        cost.services
                            .iter()
                            .find(|c| &c.target == t && &c.service == svc)
                            .map_or((0.0, 0.0), |c| {
                                let rest = c
                                    .process_cpu_us
                                    .map_or(0.0, |p| (p - c.core_cpu_us).max(0.0));
                                (c.core_cpu_us, rest)
                            })
                    })
                    .collect();
                (t.clone(), split)
            })
            .collect();
        let rate = cost.common_rate_rps.unwrap_or(0.0);
        out.push(fig(
            "cpu-core-vs-transport",
            &format!("CPU per checkout by service at {rate:.0}/s: the core's storage work (solid) and everything else (light)"),
            stacked_bars(
                &format!("CPU µs per checkout at {rate:.0}/s: core vs transport"),
                "CPU µs per checkout",
                ("core", "transport + runtime"),
                &services,
                &series,
            ),
        ));
    }
    if has("checkout-closed") {
        let closed: Vec<Series> = targets
            .iter()
            .map(|t| Series {
                label: t.clone(),
                points: r
                    .series("checkout-closed", t)
                    .filter_map(|x| x.concurrency.map(|c| (c as f64, x.achieved_rps)))
                    .collect(),
                secondary: false,
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        out.push(fig(
            "closed-loop",
            "Closed loop: throughput vs clients in flight",
            lines(
                "Closed-loop checkouts/s vs clients",
                "clients in flight",
                "achieved checkouts/s",
                &closed,
                false,
                false,
            ),
        ));
    }
    for scenario in TIMELINE_SCENARIOS {
        let runs: Vec<_> = r
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
        let mut series = Vec::new();
        for x in &runs {
            series.push(Series {
                label: format!("{} completed/s", x.target),
                points: x
                    .timeline
                    .iter()
                    .map(|s| (s.t as f64 + 0.5, s.completed as f64))
                    .collect(),
                secondary: false,
            });
            series.push(Series {
                label: format!("{} errors/s", x.target),
                points: x
                    .timeline
                    .iter()
                    .map(|s| (s.t as f64 + 0.5, s.errors as f64))
                    .collect(),
                secondary: true,
            });
        }
        out.push(fig(
            &format!("timeline-{scenario}"),
            &format!("{scenario}: completions and errors per second, fault window shaded"),
            super::charts::timeline(
                &format!("{scenario}: per-second completions and errors"),
                "requests per second",
                &series,
                band,
            ),
        ));
    }
    let scen: Vec<String> = ["checkout-open", "catalog-30", "catalog-1000"]
        .iter()
        .filter(|s| {
            r.runs
                .iter()
                .any(|x| &x.scenario == *s && x.wire_bytes_per_request.is_some())
        })
        .map(|s| s.to_string())
        .collect();
    let wire: Vec<(String, Vec<f64>)> = targets
        .iter()
        .filter(|t| *t != "inprocess")
        .map(|t| {
            let vals = scen
                .iter()
                .map(|s| {
                    let rate = if s == "checkout-open" {
                        common_rate(r)
                    } else {
                        None
                    };
                    let run = match rate {
                        Some(rate) => run_at(r, s, t, rate),
                        None => r.series(s, t).next(),
                    };
                    run.and_then(|x| x.wire_bytes_per_request).unwrap_or(0.0)
                })
                .collect();
            (t.clone(), vals)
        })
        .collect();
    if scen.is_empty() {
        return out;
    }
    out.push(fig(
        "bytes-per-request",
        "Loopback bytes per request (all hops, both directions, headers included)",
        bars(
            "Bytes on the wire per request (all hops)",
            "bytes",
            &scen,
            &wire,
        ),
    ));
    out
}
