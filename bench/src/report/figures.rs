//! The report's charts, drawn from the results.

use super::charts::{Series, bars, lines, named_x, stacked_bars};
use super::facts::{common_rate, run_at};
use crate::cluster::target::TargetKind;
use crate::results::{ProcessUsage, Results, Run};

/// Fault scenarios whose timeline is charted (`charts/timeline-NAME.svg`), at 100 ms resolution.
pub const TIMELINE_SCENARIOS: [&str; 7] = [
    "kill-orders",
    "kill-payments",
    "kill-inventory",
    "kill-fiscal",
    "kill-logistics",
    "overload",
    "overload-unshed",
];

/// The overload scenarios: with the run's admission, and on copies that shed nothing.
pub const OVERLOAD_SCENARIOS: [&str; 2] = ["overload", "overload-unshed"];

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

pub(super) fn fig(name: &str, title: &str, svg: String) -> Figure {
    Figure {
        name: name.into(),
        title: title.into(),
        svg,
    }
}

/// Every chart the report shows.
pub fn all(r: &Results) -> Vec<Figure> {
    let mut out = vec![
        fig(
            "architecture",
            "The six services, their databases, the calls on each transport and the compensation path",
            super::diagrams::architecture(),
        ),
        fig(
            "sequence-checkout",
            "One checkout, message by message",
            super::diagrams::sequence(false),
        ),
        fig(
            "sequence-compensated",
            "One compensated checkout (Logistics unreachable)",
            super::diagrams::sequence(true),
        ),
    ];
    open_loop(r, &mut out);
    if let Some(rate) = common_rate(r) {
        at_common_rate(r, rate, &mut out);
    }
    core_vs_transport(r, &mut out);
    closed_loop(r, &mut out);
    super::fault_figures::timelines(r, &mut out);
    super::fault_figures::shedding(r, &mut out);
    super::fault_figures::backlog(r, &mut out);
    wire_bytes(r, &mut out);
    super::ingest::figures(r, &mut out);
    out
}

/// One series per target of the open-loop checkout sweep (knee probes included, in rate order):
/// `pick` against the offered rate; with `band`, the trials' interval of that figure shaded.
fn open_series(
    r: &Results,
    pick: fn(&Run) -> f64,
    band: Option<fn(&crate::results::Spread) -> crate::stats::Interval>,
    secondary: bool,
    suffix: &str,
) -> Vec<Series> {
    r.targets()
        .iter()
        .map(|t| {
            let mut runs: Vec<&Run> = r
                .series("checkout-open", t)
                .filter(|x| x.offered_rps.is_some())
                .collect();
            runs.sort_by(|a, b| {
                a.offered_rps
                    .unwrap_or(0.0)
                    .total_cmp(&b.offered_rps.unwrap_or(0.0))
            });
            let at = |x: &Run| x.offered_rps.unwrap_or(0.0);
            Series {
                label: format!("{t}{suffix}"),
                points: runs.iter().map(|x| (at(x), pick(x))).collect(),
                secondary,
                band: band.map_or_else(Vec::new, |b| {
                    runs.iter()
                        .filter_map(|x| {
                            let i = b(x.spread.as_ref()?);
                            Some((at(x), i.lo / 1000.0, i.hi / 1000.0))
                        })
                        .collect()
                }),
            }
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// Latency and throughput against the offered load.
fn open_loop(r: &Results, out: &mut Vec<Figure>) {
    if !r.runs.iter().any(|x| x.scenario == "checkout-open") {
        return;
    }
    // Lines: the median of the trials; bands: their interval.
    let p99 = |x: &Run| x.spread.map_or(x.latency_us.p99, |s| s.p99_us.median) / 1000.0;
    let p50 = |x: &Run| x.spread.map_or(x.latency_us.p50, |s| s.p50_us.median) / 1000.0;
    let mut lat = open_series(r, p99, Some(|s| s.p99_us), false, " p99");
    lat.extend(open_series(r, p50, Some(|s| s.p50_us), true, " p50"));
    out.push(fig(
        "latency-vs-load",
        "Checkout latency (p50, p99: median of the trials, interval shaded) vs offered load",
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
            &open_series(r, |x| x.achieved_rps, None, false, ""),
            false,
            true,
        ),
    ));
}

/// The latency spectrum, and CPU and memory by process, at the rate every target sustained.
fn at_common_rate(r: &Results, rate: f64, out: &mut Vec<Figure>) {
    let runs: Vec<&Run> = r
        .targets()
        .iter()
        .filter_map(|t| run_at(r, "checkout-open", t, rate))
        .collect();
    let spectrum: Vec<Series> = runs
        .iter()
        .map(|x| {
            let l = x.latency_us;
            Series {
                label: x.target.clone(),
                // Evenly spaced: each step a tenfold rarer tail, as on a log-percentile axis.
                points: [l.p50, l.p90, l.p99, l.p999, l.max]
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (i as f64, v / 1000.0))
                    .collect(),
                secondary: false,
                band: Vec::new(),
            }
        })
        .collect();
    out.push(fig(
        "spectrum",
        &format!("Latency percentile spectrum at {rate:.0} checkouts/s"),
        named_x(
            &format!("Latency spectrum at {rate:.0}/s"),
            "latency, ms (log)",
            &["p50", "p90", "p99", "p99.9", "max"],
            &spectrum,
        ),
    ));
    let mut processes: Vec<String> = Vec::new();
    for p in runs.iter().flat_map(|x| &x.resources) {
        if !processes.contains(&p.process) {
            processes.push(p.process.clone());
        }
    }
    let per = |pick: fn(&ProcessUsage) -> f64| -> Vec<(String, Vec<f64>)> {
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

/// Each service's CPU per checkout split into the core's storage work and everything else.
fn core_vs_transport(r: &Results, out: &mut Vec<Figure>) {
    let Some(cost) = r.cost.as_ref().filter(|c| !c.services.is_empty()) else {
        return;
    };
    let services: Vec<String> = super::cost::CHAIN.into_iter().map(String::from).collect();
    let split = |t: &str, svc: &str| {
        cost.services
            .iter()
            .find(|c| c.target == t && c.service == svc)
            .map_or((0.0, 0.0), |c| {
                let rest = c
                    .process_cpu_us
                    .map_or(0.0, |p| (p - c.core_cpu_us).max(0.0));
                (c.core_cpu_us, rest)
            })
    };
    let series: Vec<(String, Vec<(f64, f64)>)> = r
        .targets()
        .iter()
        .filter(|t| cost.services.iter().any(|c| &c.target == *t))
        .map(|t| {
            (
                t.clone(),
                services.iter().map(|svc| split(t, svc)).collect(),
            )
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

/// Closed-loop throughput against clients in flight.
fn closed_loop(r: &Results, out: &mut Vec<Figure>) {
    let closed: Vec<Series> = r
        .targets()
        .iter()
        .map(|t| Series {
            label: t.clone(),
            points: r
                .series("checkout-closed", t)
                .filter_map(|x| x.concurrency.map(|c| (c as f64, x.achieved_rps)))
                .collect(),
            secondary: false,
            band: Vec::new(),
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    if closed.is_empty() {
        return;
    }
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

/// Loopback bytes per request of the networked targets, per scenario.
fn wire_bytes(r: &Results, out: &mut Vec<Figure>) {
    let scen = super::wire::scenarios(r);
    if scen.is_empty() {
        return;
    }
    let bytes = |t: &str, s: &str| {
        super::wire::run(r, s, t)
            .and_then(|x| x.wire_bytes_per_request)
            .unwrap_or(0.0)
    };
    let wire: Vec<(String, Vec<f64>)> = r
        .targets()
        .iter()
        .filter(|t| *t != TargetKind::InProcess.label())
        .map(|t| (t.clone(), scen.iter().map(|s| bytes(t, s)).collect()))
        .collect();
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
}
