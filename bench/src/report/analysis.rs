//! The report document, written from a run's results: findings, method, tables and figures.
//! Every number in it comes from this run's results.

use super::document::{Block, Document};
use super::facts::*;
use super::figures::Figure;
use crate::results::{Results, Run};

fn findings(r: &Results) -> Vec<String> {
    let mut f = Vec::new();
    let p50 = |t: &str| lightest(r, t).map(|x| x.latency_us.p50);
    if let (Some(g), Some(h1)) = (p50("grpc"), p50("rest-h1")) {
        let rate = lightest(r, "grpc")
            .and_then(|x| x.offered_rps)
            .unwrap_or(0.0);
        let (winner, loser, a, b) = if g <= h1 {
            ("gRPC", "REST/HTTP 1.1", g, h1)
        } else {
            ("REST/HTTP 1.1", "gRPC", h1, g)
        };
        f.push(format!(
            "At light load ({rate:.0} checkouts/s) **{winner}** has the lower median: {} ms vs {} ms for {loser} ({} slower).",
            ms(a),
            ms(b),
            ratio(b, a)
        ));
    }
    if let (Some(h1), Some(h2)) = (p50("rest-h1"), p50("rest-h2")) {
        f.push(format!(
            "REST over HTTP/2 vs HTTP/1.1 at light load: median {} ms vs {} ms ({}). Same JSON, same framework: this is the HTTP version's share.",
            ms(h2),
            ms(h1),
            ratio(h2, h1)
        ));
    }
    if let (Some(g), Some(h2)) = (p50("grpc"), p50("rest-h2")) {
        f.push(format!(
            "gRPC vs REST over HTTP/2 (same HTTP version; protobuf + tonic vs JSON + actix/reqwest): median {} ms vs {} ms ({}).",
            ms(g),
            ms(h2),
            ratio(h2, g)
        ));
    }
    if let Some(base) = p50("inprocess") {
        for t in ["grpc", "rest-h1", "rest-h2"] {
            if let Some(p) = p50(t) {
                f.push(format!(
                    "Transport cost of {t} at light load: {} ms over the in-process baseline ({} ms), about {} µs per hop over 5 hops, against a loopback round trip of {:.0} µs.",
                    ms(p - base),
                    ms(base),
                    format_args!("{:.0}", (p - base) / 5.0),
                    r.calibration.loopback_rtt_us
                ));
            }
        }
    }
    let knees: Vec<String> = r
        .targets()
        .iter()
        .map(|t| match knee(r, t) {
            Some(k) => format!("{t} {k:.0}/s"),
            None => format!("{t} below the lightest step"),
        })
        .collect();
    if !knees.is_empty() {
        f.push(format!(
            "Knee (highest offered rate with p99 ≤ {:.0} ms, ≥ 95% achieved, ≤ 1% errors): {}.",
            r.config.slo_p99_ms,
            knees.join(", ")
        ));
    }
    let best: Vec<String> = r
        .targets()
        .iter()
        .filter_map(|t| {
            closed_best(r, t).map(|x| {
                format!(
                    "{t} {:.0}/s at {} clients",
                    x.achieved_rps,
                    x.concurrency.unwrap_or(0)
                )
            })
        })
        .collect();
    if !best.is_empty() {
        f.push(format!("Closed-loop peak throughput: {}.", best.join(", ")));
    }
    for t in r.targets() {
        if let Some(x) = lightest(r, t) {
            f.push(format!(
                "{t}: light-load median is {:.1}× the calibrated floor ({:.0} µs); peak throughput is {:.0}% of the floor's {:.0}/s.",
                x.p50_floor_ratio,
                r.calibration.floor_latency_us,
                100.0 * closed_best(r, t).map_or(0.0, |b| b.achieved_rps) / r.calibration.floor_rps.max(1.0),
                r.calibration.floor_rps
            ));
        }
    }
    if let Some(rate) = common_rate(r) {
        for t in r.targets() {
            if let Some(x) = run_at(r, "checkout-open", t, rate) {
                let services: f64 = x
                    .resources
                    .iter()
                    .filter(|u| !u.process.starts_with("loadgen"))
                    .map(|u| u.cpu_us_per_request)
                    .sum();
                let top = x
                    .resources
                    .iter()
                    .filter(|u| !u.process.starts_with("loadgen"))
                    .max_by(|a, b| a.cpu_us_per_request.total_cmp(&b.cpu_us_per_request));
                if let Some(top) = top {
                    f.push(format!(
                        "Where the CPU goes ({t}, {rate:.0}/s): {services:.0} µs of service CPU per checkout, most in {} ({:.0} µs).",
                        top.process, top.cpu_us_per_request
                    ));
                }
            }
        }
    }
    for t in r.targets() {
        let past = r
            .series("checkout-open", t)
            .find(|x| x.achieved_rps < 0.9 * x.offered_rps.unwrap_or(0.0));
        let peak = r
            .runs
            .iter()
            .filter(|x| &x.target == t && x.scenario.starts_with("checkout"))
            .map(|x| x.achieved_rps)
            .fold(0.0, f64::max);
        if let Some(x) = past {
            let offered = x.offered_rps.unwrap_or(0.0);
            let verdict = if x.achieved_rps >= 0.8 * peak {
                "degrades gracefully: it keeps serving near its peak while the excess queues"
            } else if x.achieved_rps >= 0.5 * peak {
                "loses goodput: it completes less than it sustained at lower load, as the backlog grows"
            } else {
                "collapses: goodput falls far below what it sustained at lower load, as queued requests time out or wait behind a growing backlog"
            };
            f.push(format!(
                "Past saturation, {t} {verdict} — at {offered:.0}/s offered it completed {:.0}/s ({:.0}% of its best {peak:.0}/s), median {} ms, {} errors.",
                x.achieved_rps,
                100.0 * x.achieved_rps / peak.max(1.0),
                ms(x.latency_us.p50),
                x.errors
            ));
        }
    }
    let broken: Vec<&Run> = r.runs.iter().filter(|x| !x.littles_law.holds).collect();
    if !broken.is_empty() {
        f.push(format!(
            "Little's law does not hold on {} step(s) ({}): in flight ≠ rate × latency, so the generator or the server was queueing outside what is measured (typical past saturation).",
            broken.len(),
            broken.iter().take(6).map(|x| x.id.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    f.push(if r.audit.clean {
        format!(
            "Audit after the run: clean on every target ({} orders checked).",
            r.audit.orders.values().sum::<i64>()
        )
    } else {
        format!(
            "Audit after the run: **{} violation(s)** — see the Audit section.",
            r.audit.violations.len()
        )
    });
    f
}

const ARCHITECTURE: &str = r#"  load generator (bench)            same requests, same seed, same schedule
        │
        ├── in-process ── Orders → Payments → Inventory → Fiscal → Logistics   (direct calls, one process)
        │
        ├── gRPC ──────── Orders ─h2─▶ Payments ─h2─▶ Inventory ─h2─▶ Fiscal ─h2─▶ Logistics
        │                 (tonic + prost; one HTTP/2 channel per peer)      Catalog ─h2─▶ Inventory
        │
        └── REST ──────── Orders ─http─▶ Payments ─http─▶ Inventory ─http─▶ Fiscal ─http─▶ Logistics
                          (actix-web + reqwest, JSON; HTTP/1.1 pool or HTTP/2)   Catalog ─http─▶ Inventory

  every service: its own OS process (networked stacks) and its own SQLite file (WAL, one writer
  thread with group commit); replies travel back along the chain; Orders answers last."#;

/// A table block.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table {
        header: header.iter().map(|s| s.to_string()).collect(),
        rows,
    }
}

fn run_rows<'a>(runs: impl Iterator<Item = &'a Run>) -> Vec<Vec<String>> {
    runs.map(|x| {
        vec![
            x.target.clone(),
            x.offered_rps.map_or_else(
                || format!("{} clients", x.concurrency.unwrap_or(0)),
                |o| format!("{o:.0}"),
            ),
            format!("{:.0}", x.achieved_rps),
            ms(x.latency_us.p50),
            ms(x.latency_us.p90),
            ms(x.latency_us.p99),
            ms(x.latency_us.p999),
            ms(x.latency_us.max),
            format!("{}", x.errors),
            if x.littles_law.holds {
                "yes".into()
            } else {
                "**no**".into()
            },
        ]
    })
    .collect()
}

const RUN_HEADER: [&str; 10] = [
    "target",
    "offered/s",
    "achieved/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "errors",
    "Little",
];

/// The report, written from `r`.
pub fn document(r: &Results, figures: &[Figure]) -> Document {
    let c = &r.config;
    let m = &r.machine;
    let mut d = vec![
        Block::Heading(1, "gRPC vs REST on a six-service checkout".into()),
        Block::Paragraph(format!(
            "Profile `{}`, seed {}, started {}, {:.0} s. Machine: {} ({} cores, {} MiB, kernel {}, {}). Build: `{}`. SQLite: {} journal, `synchronous={}`. Chain deadline {} ms.",
            c.profile, c.seed, r.started_at, r.duration_s, m.cpu_model, m.cores, m.memory_mib, m.kernel, m.os,
            c.build_profile, c.sqlite_journal, c.sqlite_synchronous, c.chain_timeout_ms
        )),
        Block::Heading(2, "Findings".into()),
        Block::Paragraph("One run. On a shared machine two runs of the same build differ, most in the tails and near the knee; before reading a small difference, repeat the run and set the two side by side with `cargo run -p bench -- compare A/results.json B/results.json`.".into()),
        Block::Bullets(findings(r)),
        Block::Heading(2, "Architecture".into()),
        Block::Pre(ARCHITECTURE.into()),
        Block::Heading(2, "Method".into()),
        Block::Bullets(vec![
            format!(
                "Targets: {}. Each networked stack runs its six services as six OS processes on loopback; gRPC services run {} each, REST services {} actix workers each (the default sizing was chosen by measurement; see the README).",
                c.targets.join(", "),
                match c.grpc_worker_threads {
                    0 => "a current-thread tokio runtime".to_string(),
                    n => format!("a tokio runtime with {n} worker threads"),
                },
                c.rest_workers
            ),
            "Storage: leader/follower group commit. A write that finds its database idle commits on the caller's thread; writes that arrive meanwhile are committed together, by the writer thread; with `synchronous=FULL` every write goes to the writer thread. Point reads run on the caller's thread. CPU per request is each process's CPU over the whole step divided by every request the step sent, warm-up included.".into(),
            "Open loop: requests start at a constant rate whether or not earlier ones finished; latency is measured from each request's intended start, so a stalled server is charged for the requests it delayed (coordinated omission corrected, as wrk2 does). Closed loop: N clients, each sending its next request when the previous ends (comparable to ghz and wrk).".into(),
            format!("Each step: {:.1} s warm-up discarded, then {:.1} s measured. Every target receives the identical request sequence (customers, items, idempotency keys) derived from the run seed, and the targets alternate within each step, rotating who goes first.", c.warmup_s, c.step_s),
            "Latency: one HdrHistogram per step (3 significant digits), successful requests only; errors counted by kind. Throughput: successful completions in the window per second.".into(),
            "Resources: CPU (user + system, from /proc) and peak RSS of every service process and of the load generator, sampled through each step. Bytes per request: loopback interface bytes during the step divided by requests — all five hops, both directions, TCP/IP headers included.".into(),
            "Little's law is checked on every step: mean requests in flight (sampled every 5 ms) against achieved rate × mean latency; a gap over 25% (and over half a request) is flagged.".into(),
            format!("The knee is the highest offered rate with p99 ≤ {:.0} ms, at least 95% of the offered rate achieved and at most 1% errors.", c.slo_p99_ms),
        ]),
        Block::Bullets(c.notes.clone()),
        Block::Heading(2, "Calibration: this machine's floor".into()),
        table(
            &["loopback RTT µs", "SQLite commit µs", "floor per checkout µs (5 RTT + 5 commits)", "floor throughput /s (cores ÷ floor)"],
            vec![vec![
                format!("{:.1}", r.calibration.loopback_rtt_us),
                format!("{:.1}", r.calibration.sqlite_commit_us),
                format!("{:.0}", r.calibration.floor_latency_us),
                format!("{:.0}", r.calibration.floor_rps),
            ]],
        ),
    ];
    if r.runs.iter().any(|x| x.scenario == "checkout-open") {
        d.push(Block::Heading(
            2,
            "Checkout, open loop: latency and throughput vs offered load".into(),
        ));
        d.push(Block::Figure("latency-vs-load".into()));
        d.push(Block::Figure("throughput".into()));
        d.push(table(
            &RUN_HEADER,
            run_rows(r.runs.iter().filter(|x| x.scenario == "checkout-open")),
        ));
    }
    if let Some(rate) = common_rate(r) {
        d.push(Block::Heading(
            2,
            format!("At a common load: {rate:.0} checkouts/s"),
        ));
        d.push(Block::Paragraph("The highest offered rate every target sustained. The spectrum shows each target's tail; the bars show where the CPU goes, per process, per checkout.".into()));
        d.push(Block::Figure("spectrum".into()));
        d.push(Block::Figure("cpu-per-service".into()));
        d.push(Block::Figure("rss-per-service".into()));
        let rows = r
            .targets()
            .iter()
            .filter_map(|t| run_at(r, "checkout-open", t, rate))
            .flat_map(|x| {
                x.resources.iter().map(move |u| {
                    vec![
                        x.target.clone(),
                        u.process.clone(),
                        format!("{:.1}", u.cpu_pct),
                        format!("{:.0}", u.cpu_us_per_request),
                        format!("{:.1}", u.rss_mib_max),
                    ]
                })
            })
            .collect();
        d.push(table(
            &[
                "target",
                "process",
                "CPU %",
                "CPU µs / checkout",
                "peak RSS MiB",
            ],
            rows,
        ));
    }
    super::cost::section(r, &mut d);
    if r.runs.iter().any(|x| x.scenario == "checkout-closed") {
        d.push(Block::Heading(2, "Checkout, closed loop".into()));
        d.push(Block::Figure("closed-loop".into()));
        d.push(table(
            &RUN_HEADER,
            run_rows(r.runs.iter().filter(|x| x.scenario == "checkout-closed")),
        ));
    }
    let catalog: Vec<&Run> = r
        .runs
        .iter()
        .filter(|x| x.scenario.starts_with("catalog"))
        .collect();
    if !catalog.is_empty() {
        d.push(Block::Heading(2, "Catalog listing: payload size".into()));
        d.push(Block::Paragraph("A full listing (Catalog asks Inventory for live stock), closed loop, at the seed's 30 products and at 1,000. The JSON array grows with the catalog; so does the protobuf message, more slowly.".into()));
        let rows = catalog
            .iter()
            .map(|x| {
                vec![
                    x.scenario.clone(),
                    x.target.clone(),
                    format!("{:.0}", x.achieved_rps),
                    ms(x.latency_us.p50),
                    ms(x.latency_us.p99),
                    x.wire_bytes_per_request
                        .map_or("–".into(), |b| format!("{b:.0}")),
                    format!("{}", x.errors),
                ]
            })
            .collect();
        d.push(table(
            &[
                "scenario",
                "target",
                "achieved/s",
                "p50 ms",
                "p99 ms",
                "bytes/request",
                "errors",
            ],
            rows,
        ));
    }
    if r.runs.iter().any(|x| x.wire_bytes_per_request.is_some()) {
        super::resilience::resilience(r, &mut d);
        d.push(Block::Heading(2, "Bytes on the wire".into()));
        d.push(Block::Figure("bytes-per-request".into()));
    }
    d.push(Block::Heading(2, "Errors by kind".into()));
    let errs: Vec<Vec<String>> = r
        .runs
        .iter()
        .filter(|x| x.errors > 0)
        .map(|x| {
            vec![
                x.id.clone(),
                x.errors_by_kind
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    if errs.is_empty() {
        d.push(Block::Paragraph("No request failed in any step.".into()));
    } else {
        d.push(table(&["step", "errors"], errs));
    }
    d.push(Block::Heading(2, "Audit".into()));
    d.push(Block::Paragraph(format!(
        "After the last step, the bench waits until every compensation a service owes its next hop has been acknowledged and no order is `pendente` (at most {:.0} s; waited: {}), then reads all six databases of every target.",
        r.audit.settle_limit_s,
        r.audit.settle_ms.iter().map(|(t, ms)| format!("{t} {ms} ms")).collect::<Vec<_>>().join(", ")
    )));
    if r.audit.clean {
        d.push(Block::Paragraph(format!(
            "All six databases of every target were read after the run; every invariant holds ({}).",
            r.audit.orders.iter().map(|(t, n)| format!("{t}: {n} orders")).collect::<Vec<_>>().join(", ")
        )));
    } else {
        let rows = r
            .audit
            .violations
            .iter()
            .take(50)
            .map(|v| {
                vec![
                    v.target.clone(),
                    v.violation.rule.clone(),
                    v.violation.service.as_str().into(),
                    v.violation.id.map_or("–".into(), |i| i.to_string()),
                    v.violation.detail.clone(),
                ]
            })
            .collect();
        d.push(table(&["target", "rule", "service", "id", "detail"], rows));
    }
    d.push(Block::Heading(2, "Checks".into()));
    d.push(table(
        &["check", "result", "detail"],
        r.checks
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    match (c.applicable, c.passed) {
                        (false, _) => "n/a",
                        (true, true) => "pass",
                        (true, false) => "**FAIL**",
                    }
                    .into(),
                    c.detail.clone(),
                ]
            })
            .collect(),
    ));
    d.push(Block::Heading(2, "Reproduce".into()));
    d.push(Block::Pre(format!(
        "cargo run -p bench -- --profile {} --seed {}\n# versions: {}",
        c.profile,
        c.seed,
        r.versions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )));
    let _ = figures;
    d
}
