//! Where the time goes: the core's own cost against the transport's, per target and per service,
//! and the ratios that say whether the core is cheap enough for the bench to measure the
//! transport (the in-process floor, the transport cost per hop in loopback round trips and
//! against each framework's bare echo, the networked peak against the in-process one).

use checkout_core::ServiceName;
use serde::{Deserialize, Serialize};

use super::document::{Block, table};
use super::facts::{closed_best, common_rate, lightest, ms, run_at};
use crate::cluster::target::TargetKind;
use crate::results::{Calibration, Results, Run};

/// The five services a checkout crosses, as the results name them.
pub const CHAIN: [&str; 5] = [
    ServiceName::Orders.as_str(),
    ServiceName::Payments.as_str(),
    ServiceName::Inventory.as_str(),
    ServiceName::Fiscal.as_str(),
    ServiceName::Logistics.as_str(),
];

/// What one service cost per checkout at the common load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceCost {
    /// Target label.
    pub target: String,
    /// Service.
    pub service: String,
    /// The service process's CPU per checkout, µs (in-process: none, the services share the
    /// load generator's process).
    pub process_cpu_us: Option<f64>,
    /// The core's storage work per checkout, µs.
    pub core_cpu_us: f64,
    /// Transactions committed per checkout.
    pub commits: f64,
    /// Share of them committed inline by the caller.
    pub inline_share: f64,
}

/// One networked target against the in-process baseline and its framework's echo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransportCost {
    /// Target label.
    pub target: String,
    /// Light-load median, µs.
    pub p50_us: f64,
    /// Light-load median minus the in-process one, in loopback round trips per hop (5 hops):
    /// round trips across cores ([`Calibration::hop_rtt_us`]).
    pub rtt_per_hop: Option<f64>,
    /// The same in round trips on one core, when both were measured.
    #[serde(default)]
    pub rtt_per_hop_one_core: Option<f64>,
    /// Service CPU per checkout at the common load (the five chain services), µs.
    pub service_cpu_us: f64,
    /// Of which the core's storage work, µs.
    pub core_cpu_us: f64,
    /// CPU per hop outside the core (server side, client side of the next call, and the load
    /// generator's client side net of what it costs in-process), µs.
    pub transport_cpu_per_hop_us: f64,
    /// The framework's bare echo, client + server, µs per call.
    pub echo_cpu_us: Option<f64>,
    /// Transport CPU per hop ÷ echo CPU per call.
    pub hop_vs_echo: Option<f64>,
    /// Closed-loop peak, checkouts/s.
    pub peak_rps: f64,
    /// Closed-loop peak ÷ the in-process peak.
    pub peak_vs_inprocess: Option<f64>,
}

/// The whole breakdown of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CostSummary {
    /// Offered rate where CPU is compared (the highest every target sustained).
    pub common_rate_rps: Option<f64>,
    /// Rate of the light-load step.
    pub light_rate_rps: Option<f64>,
    /// Five SQLite commits as calibrated: the in-process floor, µs.
    pub five_commit_floor_us: f64,
    /// In-process light-load median, µs.
    pub inprocess_p50_us: Option<f64>,
    /// That median ÷ the five-commit floor.
    pub inprocess_floor_ratio: Option<f64>,
    /// In-process closed-loop peak, checkouts/s.
    pub inprocess_peak_rps: Option<f64>,
    /// Each networked target.
    pub transports: Vec<TransportCost>,
    /// Each target × service at the common load.
    pub services: Vec<ServiceCost>,
}

fn core_of<'a>(x: &'a Run, service: &str) -> Option<&'a crate::results::CoreUsage> {
    x.core.iter().find(|c| c.service == service)
}

fn process_cpu(x: &Run, process: &str) -> Option<f64> {
    x.resources
        .iter()
        .find(|u| u.process == process)
        .map(|u| u.cpu_us_per_request)
}

fn core_sum(x: &Run) -> f64 {
    CHAIN
        .iter()
        .filter_map(|s| core_of(x, s))
        .map(|c| c.core_cpu_us_per_request)
        .sum()
}

/// Works the breakdown out of a run's results.
pub fn summarize(r: &Results) -> CostSummary {
    let c = &r.calibration;
    let mut s = CostSummary {
        five_commit_floor_us: 5.0 * c.sqlite_commit_us,
        common_rate_rps: common_rate(r),
        light_rate_rps: lightest(r, TargetKind::InProcess.label())
            .or_else(|| r.targets().first().and_then(|t| lightest(r, t)))
            .and_then(|x| x.offered_rps),
        ..Default::default()
    };
    let base = lightest(r, TargetKind::InProcess.label()).map(|x| x.latency_us.p50);
    s.inprocess_p50_us = base;
    s.inprocess_floor_ratio = base
        .filter(|_| s.five_commit_floor_us > 0.0)
        .map(|p| p / s.five_commit_floor_us);
    s.inprocess_peak_rps = closed_best(r, TargetKind::InProcess.label()).map(|x| x.achieved_rps);
    let at = |t: &str| {
        s.common_rate_rps
            .and_then(|rate| run_at(r, "checkout-open", t, rate))
    };
    // What the load generator costs per checkout when no transport is involved.
    let generator_alone = at(TargetKind::InProcess.label())
        .and_then(|x| process_cpu(x, "loadgen+services").map(|all| (all - core_sum(x)).max(0.0)));
    for t in r.targets() {
        let Some(x) = at(t) else { continue };
        for svc in CHAIN {
            let Some(core) = core_of(x, svc) else {
                continue;
            };
            s.services.push(ServiceCost {
                target: t.clone(),
                service: svc.into(),
                process_cpu_us: process_cpu(x, svc),
                core_cpu_us: core.core_cpu_us_per_request,
                commits: core.commits_per_request,
                inline_share: core.inline_commit_share,
            });
        }
        if t == TargetKind::InProcess.label() {
            continue;
        }
        let service_cpu: f64 = CHAIN.iter().filter_map(|p| process_cpu(x, p)).sum();
        let core = core_sum(x);
        let client_side = match (process_cpu(x, "loadgen"), generator_alone) {
            (Some(l), Some(g)) => (l - g).max(0.0),
            _ => 0.0,
        };
        let per_hop = ((service_cpu - core).max(0.0) + client_side) / 5.0;
        let echo = c
            .echo
            .iter()
            .find(|e| &e.target == t)
            .map(|e| e.cpu_us_per_call);
        let p50 = lightest(r, t).map_or(0.0, |x| x.latency_us.p50);
        let peak = closed_best(r, t).map_or(0.0, |x| x.achieved_rps);
        s.transports.push(TransportCost {
            target: t.clone(),
            p50_us: p50,
            rtt_per_hop: base
                .filter(|_| c.hop_rtt_us() > 0.0)
                .map(|b| (p50 - b) / 5.0 / c.hop_rtt_us()),
            rtt_per_hop_one_core: base
                .filter(|_| {
                    c.loopback_rtt_pinned
                        && c.cross_core_rtt_us.is_some()
                        && c.loopback_rtt_us > 0.0
                })
                .map(|b| (p50 - b) / 5.0 / c.loopback_rtt_us),
            service_cpu_us: service_cpu,
            core_cpu_us: core,
            transport_cpu_per_hop_us: per_hop,
            echo_cpu_us: echo,
            hop_vs_echo: echo.filter(|e| *e > 0.0).map(|e| per_hop / e),
            peak_rps: peak,
            peak_vs_inprocess: s.inprocess_peak_rps.filter(|p| *p > 0.0).map(|p| peak / p),
        });
    }
    s
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn goal(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "–",
    }
}

/// The CPU profiles' paragraph and links (`--profile-cpu`), or why none were taken.
pub fn profiles(r: &Results, d: &mut Vec<Block>) {
    let Some(p) = r.cpu_profiles.as_ref() else {
        return;
    };
    d.push(Block::Heading(3, "CPU profiles".into()));
    if let Some(why) = &p.skipped {
        d.push(Block::Paragraph(format!("CPU profiles {why}.")));
        return;
    }
    d.push(Block::Paragraph(format!(
        "Each networked stack's six service processes sampled by `perf record` ({} Hz, DWARF call graphs) while our engine drove {} closed-loop checkout clients for {:.0} s, folded with inferno into one flame graph per stack, a tower per service (the width of a frame is its share of the samples; the services' threads are named by their runtime: `tokio-rt-worker`, `actix-rt|system`, `sqlite-writer-…`). Open them beside the report:",
        p.frequency_hz, p.clients, p.window_s
    )));
    d.push(Block::Bullets(
        p.profiles
            .iter()
            .map(|x| {
                format!(
                    "[{}]({}) — {:.2} s of the services' CPU sampled",
                    x.target, x.svg, x.cpu_s
                )
            })
            .collect(),
    ));
}

/// The "Where the time goes" section.
pub fn section(r: &Results, d: &mut Vec<Block>) {
    let Some(s) = r.cost.as_ref() else { return };
    if s.services.is_empty() && s.inprocess_p50_us.is_none() {
        return;
    }
    d.push(Block::Heading(
        2,
        "Where the time goes: the core against the transport".into(),
    ));
    d.push(Block::Paragraph(format!(
        "The core counts its own storage work (SQL and commits, CPU time of the thread that ran them, two clock reads per operation) per service; the rest of a service process's CPU is transport: codec, framework, async runtime, kernel. Transport CPU per hop = (the five services' CPU − their core) plus the load generator's client side (its CPU less what it costs in-process), ÷ 5 hops, at {} checkouts/s; it is set against each framework's bare echo measured at the start of this run (client + server, one call at a time, a two-line payment request).",
        opt(s.common_rate_rps, 0)
    )));
    d.push(table(&["measure", "this run", "goal", ""], goal_rows(s)));
    d.push(Block::Figure("cpu-core-vs-transport".into()));
    d.push(service_table(s));
    if !r.calibration.echo.is_empty() || !r.calibration.store.is_empty() {
        d.push(Block::Paragraph("Measured at the start of this run, one operation at a time: each framework's bare echo, and the store's paths (a write committed by its caller vs handed to the writer thread; a point read on the caller's thread vs through the blocking pool). The faster path of each pair is the one the services use, except that with `synchronous=FULL` every write goes to the writer thread so no async worker waits for an fsync.".into()));
        d.push(paths_table(&r.calibration));
    }
}

/// Each ratio of the breakdown against its goal.
fn goal_rows(s: &CostSummary) -> Vec<Vec<String>> {
    let light = opt(s.light_rate_rps, 0);
    let row = |measure: String, value: String, target: &str, met: Option<bool>| {
        vec![measure, value, target.to_string(), goal(met).to_string()]
    };
    let mut rows = vec![row(
        format!("in-process light-load p50 ({light}/s) ÷ 5 SQLite commits"),
        format!(
            "{} ms ÷ {} ms = {}×",
            opt(s.inprocess_p50_us.map(|v| v / 1000.0), 2),
            ms(s.five_commit_floor_us),
            opt(s.inprocess_floor_ratio, 1)
        ),
        "≤ 3×",
        s.inprocess_floor_ratio.map(|v| v <= 3.0),
    )];
    for t in &s.transports {
        rows.push(row(
            format!(
                "{}: (p50 − in-process p50) per hop, in loopback RTTs{}",
                t.target,
                if t.rtt_per_hop_one_core.is_some() {
                    " across cores"
                } else {
                    ""
                }
            ),
            match t.rtt_per_hop_one_core {
                Some(one) => format!("{} RTT ({one:.0} on one core)", opt(t.rtt_per_hop, 1)),
                None => format!("{} RTT", opt(t.rtt_per_hop, 1)),
            },
            "≤ 2 RTT",
            t.rtt_per_hop.map(|v| v <= 2.0),
        ));
        rows.push(row(
            format!("{}: transport CPU per hop ÷ bare echo", t.target),
            format!(
                "{:.0} µs ÷ {} µs = {}×",
                t.transport_cpu_per_hop_us,
                opt(t.echo_cpu_us, 0),
                opt(t.hop_vs_echo, 2)
            ),
            "≤ 1.5×",
            t.hop_vs_echo.map(|v| v <= 1.5),
        ));
        rows.push(row(
            format!("{}: closed-loop peak ÷ in-process peak", t.target),
            format!(
                "{:.0} ÷ {} = {}",
                t.peak_rps,
                opt(s.inprocess_peak_rps, 0),
                opt(t.peak_vs_inprocess, 2)
            ),
            "≥ 0.35",
            t.peak_vs_inprocess.map(|v| v >= 0.35),
        ));
        rows.push(row(
            format!(
                "{}: service CPU per checkout at {}/s",
                t.target,
                opt(s.common_rate_rps, 0)
            ),
            format!("{:.0} µs (core {:.0} µs)", t.service_cpu_us, t.core_cpu_us),
            "≤ 420 µs (60% of the ~700 µs before the fast core)",
            Some(t.service_cpu_us <= 420.0),
        ));
    }
    rows
}

/// Per target and service: the process's CPU, the core's share, commits and inline commits.
fn service_table(s: &CostSummary) -> Block {
    table(
        &[
            "target",
            "service",
            "process CPU µs / checkout",
            "core µs",
            "rest µs",
            "commits / checkout",
            "inline commits",
        ],
        s.services
            .iter()
            .map(|c| {
                vec![
                    c.target.clone(),
                    c.service.clone(),
                    opt(c.process_cpu_us, 0),
                    format!("{:.0}", c.core_cpu_us),
                    opt(c.process_cpu_us.map(|p| (p - c.core_cpu_us).max(0.0)), 0),
                    format!("{:.2}", c.commits),
                    format!("{:.0}%", 100.0 * c.inline_share),
                ]
            })
            .collect(),
    )
}

/// The frameworks' echoes and the store's paths, as calibrated.
fn paths_table(cal: &Calibration) -> Block {
    let echo = cal.echo.iter().map(|e| {
        vec![
            format!("{} echo", e.target),
            format!("{:.1}", e.p50_us),
            format!("{:.0}", e.calls_per_s),
            format!("{:.1}", e.cpu_us_per_call),
        ]
    });
    let store = cal.store.iter().map(|p| {
        vec![
            p.path.clone(),
            format!("{:.1}", p.p50_us),
            format!("{:.0}", p.ops_per_s),
            format!("{:.1}", p.cpu_us_per_op),
        ]
    });
    table(
        &["path", "p50 µs", "per second, one at a time", "CPU µs each"],
        echo.chain(store).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::results::{CoreUsage, EchoCost, ProcessUsage};

    fn usage(process: &str, cpu: f64) -> ProcessUsage {
        ProcessUsage {
            process: process.into(),
            cpu_pct: 0.0,
            cpu_us_per_request: cpu,
            rss_mib_max: 0.0,
        }
    }

    fn core(service: &str, cpu: f64) -> CoreUsage {
        CoreUsage {
            service: service.into(),
            core_cpu_us_per_request: cpu,
            writes_per_request: 1.0,
            commits_per_request: 1.0,
            inline_commit_share: 1.0,
        }
    }

    #[test]
    fn the_breakdown_splits_core_from_transport_and_states_every_ratio() {
        // In-process: 250 µs of CPU per checkout, 150 of it the core (30 per service), so the
        // generator and the direct calls cost 100.
        let mut inproc = fixture::run("checkout-open", "inprocess", Some(200.0), None, 300.0);
        inproc.resources = vec![usage("loadgen+services", 250.0)];
        inproc.core = CHAIN.iter().map(|s| core(s, 30.0)).collect();
        // gRPC: each service process 110 µs, 30 of it core; the generator 160 µs, so its client
        // side is 60 µs. Per hop: (5 × 80 + 60) ÷ 5 = 92 µs.
        let mut grpc = fixture::run("checkout-open", "grpc", Some(200.0), None, 1300.0);
        grpc.resources = CHAIN.iter().map(|s| usage(s, 110.0)).collect();
        grpc.resources.push(usage("loadgen", 160.0));
        grpc.core = CHAIN.iter().map(|s| core(s, 30.0)).collect();
        let closed_in = fixture::run("checkout-closed", "inprocess", None, Some(64), 1.0);
        let mut closed_grpc = fixture::run("checkout-closed", "grpc", None, Some(64), 1.0);
        closed_grpc.achieved_rps = 400.0;
        let mut r = fixture::results(
            &["inprocess", "grpc"],
            vec![inproc, grpc, closed_in, closed_grpc],
        );
        r.calibration.sqlite_commit_us = 20.0;
        r.calibration.loopback_rtt_us = 50.0;
        r.calibration.echo = vec![EchoCost {
            target: "grpc".into(),
            p50_us: 100.0,
            calls_per_s: 10_000.0,
            cpu_us_per_call: 46.0,
        }];
        let s = summarize(&r);
        assert_eq!(s.common_rate_rps, Some(200.0));
        assert_eq!(s.inprocess_floor_ratio, Some(3.0)); // 300 ÷ (5 × 20)
        let g = &s.transports[0];
        assert_eq!(g.target, "grpc");
        assert!((g.transport_cpu_per_hop_us - 92.0).abs() < 1e-9, "{g:?}");
        assert_eq!(g.hop_vs_echo, Some(2.0));
        assert_eq!(g.rtt_per_hop, Some(4.0)); // (1300 − 300) ÷ 5 ÷ 50
        assert_eq!(g.peak_vs_inprocess, Some(0.4));
        assert_eq!((g.service_cpu_us, g.core_cpu_us), (550.0, 150.0));
        assert_eq!(s.services.len(), 10);
        // The report states each ratio against its goal.
        r.cost = Some(s);
        let mut d = Vec::new();
        section(&r, &mut d);
        let text = format!("{d:?}");
        assert!(text.contains("3.0×") && text.contains("4.0 RTT") && text.contains("2.00×"));
        assert!(text.contains("not met"));
        // With both round trips measured, a hop is counted in the one across cores and also
        // stated in the one on a core.
        r.calibration.loopback_rtt_us = 5.0;
        r.calibration.loopback_rtt_pinned = true;
        r.calibration.cross_core_rtt_us = Some(50.0);
        let s = summarize(&r);
        let g = &s.transports[0];
        assert_eq!(
            (g.rtt_per_hop, g.rtt_per_hop_one_core),
            (Some(4.0), Some(40.0))
        );
        r.cost = Some(s);
        let mut d = Vec::new();
        section(&r, &mut d);
        let text = format!("{d:?}");
        assert!(
            text.contains("in loopback RTTs across cores")
                && text.contains("4.0 RTT (40 on one core)")
        );
    }
}
