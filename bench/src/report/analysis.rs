//! The report document, written from a run's results: findings, method, tables and figures.
//! Every number in it comes from this run's results.

use super::document::{Block, Document, table};
use super::facts::*;
use super::figures::Figure;
use crate::results::{Results, Run};

fn run_rows<'a>(runs: impl Iterator<Item = &'a Run>) -> Vec<Vec<String>> {
    runs.map(|x| {
        let s = x.spread;
        vec![
            x.target.clone(),
            x.offered_rps.map_or_else(
                || format!("{} clients", x.concurrency.unwrap_or(0)),
                |o| format!("{o:.0}"),
            ),
            spread_cell(s.map(|s| s.achieved_rps), x.achieved_rps, 1.0, 0),
            spread_cell(s.map(|s| s.p50_us), x.latency_us.p50, 1000.0, 2),
            spread_cell(s.map(|s| s.p99_us), x.latency_us.p99, 1000.0, 2),
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

/// `median [lo–hi]` of a step's trials (divided by `scale`), or the pooled value when the step
/// ran once.
pub fn spread_cell(
    interval: Option<crate::stats::Interval>,
    pooled: f64,
    scale: f64,
    digits: usize,
) -> String {
    match interval {
        Some(i) => format!(
            "{:.*} [{:.*}–{:.*}]",
            digits,
            i.median / scale,
            digits,
            i.lo / scale,
            digits,
            i.hi / scale
        ),
        None => format!("{:.*}", digits, pooled / scale),
    }
}

const RUN_HEADER: [&str; 9] = [
    "target",
    "offered/s",
    "achieved/s",
    "p50 ms",
    "p99 ms",
    "p99.9 ms (pooled)",
    "max ms (pooled)",
    "errors",
    "Little",
];

/// The report, written from `r`: findings first, then how it was measured, then each scenario's
/// numbers, the audit and the checks.
pub fn document(r: &Results, _figures: &[Figure]) -> Document {
    let mut d = intro(r);
    super::verdict::section(r, &mut d);
    d.push(Block::Heading(2, "Findings".into()));
    d.push(Block::Paragraph("Comparisons across trials state the ratio with its 95% interval and the Mann–Whitney p-value, and name no winner where the trials do not support one. Between runs, set two side by side with `cargo run -p bench -- compare A/results.json B/results.json` (per step: medians, change with its interval, p-value; `~` where not significant).".into()));
    d.push(Block::Bullets(super::findings::findings(r)));
    d.push(Block::Heading(2, "Architecture".into()));
    d.push(Block::Paragraph("The load generator drives every target with the same requests, seed and schedule. In-process, the six services call each other directly in one process (the zero-transport baseline); over gRPC and REST each service is its own OS process on loopback. The diagrams are drawn from the chain's description in the code, whose call names a test holds to the protobuf contracts and the OpenAPI documents.".into()));
    d.push(Block::Figure("architecture".into()));
    d.push(Block::Figure("sequence-checkout".into()));
    d.push(Block::Figure("sequence-compensated".into()));
    method(r, &mut d);
    super::floor::section(r, &mut d);
    open_loop(r, &mut d);
    if let Some(rate) = common_rate(r) {
        at_common_rate(r, rate, &mut d);
    }
    super::cost::section(r, &mut d);
    super::cost::profiles(r, &mut d);
    closed_loop(r, &mut d);
    catalog(r, &mut d);
    if r.runs.iter().any(|x| x.wire_bytes_per_request.is_some()) {
        super::resilience::resilience(r, &mut d);
        super::coupling::section(r, &mut d);
        super::scaling::section(r, &mut d);
        super::observability::section(r, &mut d);
        super::links::section(r, &mut d);
        super::tls::section(r, &mut d);
        super::complexity::section(r, &mut d);
        super::conclusion::section(r, &mut d);
        super::wire::section(r, &mut d);
    }
    super::ingest::section(r, &mut d);
    super::crosscheck::section(r, &mut d);
    errors(r, &mut d);
    audit(r, &mut d);
    checks(r, &mut d);
    reproduce(r, &mut d);
    d
}

/// The title and what ran where.
fn intro(r: &Results) -> Vec<Block> {
    let c = &r.config;
    let m = &r.machine;
    vec![
        Block::Heading(1, "gRPC vs REST on a six-service checkout".into()),
        Block::Paragraph(format!(
            "Profile `{}`, seed {}, started {}, {:.0} s. Machine: {} ({} cores, {} MiB, kernel {}, {}). Build: `{}`. SQLite: {} journal, `synchronous={}`. Chain deadline {} ms.",
            c.profile,
            c.seed,
            r.started_at,
            r.duration_s,
            m.cpu_model,
            m.cores,
            m.memory_mib,
            m.kernel,
            m.os,
            c.build_profile,
            c.sqlite_journal,
            c.sqlite_synchronous,
            c.chain_timeout_ms
        )),
    ]
}

/// How the run measured.
fn method(r: &Results, d: &mut Vec<Block>) {
    let c = &r.config;
    d.extend([
        Block::Heading(2, "Method".into()),
        Block::Bullets(vec![
            {
                let tokio = match c.grpc_worker_threads {
                    0 => "a current-thread tokio runtime".to_string(),
                    n => format!("a tokio runtime with {n} worker threads"),
                };
                let grpc = if c.grpc_runtime == "per-thread" {
                    format!(
                        "gRPC services serve on a current-thread tokio runtime per serving thread ({} each), each thread serving the connections dealt to it in turn (as actix deals its workers theirs) and calling the next hop through channels of its own; raw-TCP ones (where measured) run {tokio}",
                        c.grpc_worker_threads.max(1)
                    )
                } else {
                    format!("gRPC services (and raw-TCP ones, where measured) run {tokio} each")
                };
                format!(
                    "Targets: {}. Each networked stack runs its six services as six OS processes on loopback; {grpc}; REST services {} actix workers each (the default sizing was chosen by measurement; see the README).",
                    c.targets.join(", "),
                    c.rest_workers
                )
            },
            "Storage: leader/follower group commit. A write that finds its database idle commits on the caller's thread; writes that arrive meanwhile are committed together, by the writer thread; with `synchronous=FULL` every write goes to the writer thread. Point reads run on the caller's thread, and so does a catalog listing's scan while the catalog holds at most 256 products (beyond that, the blocking pool). Each WAL is checkpointed every 200 ms off the commit path, and rewound by the writer thread between two groups when a checkpoint leaves it 1,000 frames long or more. CPU per request is each process's CPU over the whole step divided by every request the step sent, warm-up included.".into(),
            "Open loop: requests start at a constant rate whether or not earlier ones finished; latency is measured from each request's intended start, so a stalled server is charged for the requests it delayed (coordinated omission corrected, as wrk2 does). Closed loop: N clients, each sending its next request when the previous ends (comparable to ghz and wrk).".into(),
            if c.trials > 0 {
                format!("Each sweep step runs as {} trials per target{}, interleaved: trial j goes through the targets starting one further along (A B C D, B C D A, …), so drift hits all alike; each trial discards {:.2} s of warm-up, then measures {:.2} s{}. Tables give throughput, p50 and p99 as the median of the trials with its order-statistic interval (`median [lo–hi]`: the narrowest interval of order statistics covering at least 95% — the whole range with 6 trials, 96.9% — or the whole range when fewer trials cannot reach 95%: 75% with 3), and p99.9 and max over every request of all trials pooled. Fault steps run once: {:.1} s warm-up, then their phases. Every trial sends its own requests (customers, items, fresh idempotency keys) derived from the run seed — the same to every target.", c.trials, light_trials(r).map_or(String::new(), |n| format!(" ({n} at the lightest checkout rate, where the light-load verdict is read)")), c.trial_warmup_s, c.trial_s, if c.trial_requests > 0 { format!(" (an open loop's trial at least as long as {} requests take at its rate)", c.trial_requests) } else { String::new() }, c.warmup_s)
            } else {
                format!("Each step: {:.1} s warm-up discarded, then {:.1} s measured. Every target receives the identical request sequence (customers, items, idempotency keys) derived from the run seed, and the targets alternate within each step, rotating who goes first.", c.warmup_s, c.step_s)
            },
            "Latency: one HdrHistogram per step (3 significant digits), successful requests only; errors counted by kind. Throughput: successful completions in the window per second.".into(),
            "Resources: CPU (user + system, from /proc) and peak RSS of every service process and of the load generator, sampled through each step. Bytes per request: loopback interface bytes during the step divided by requests — all five hops, both directions, TCP/IP headers included.".into(),
            "Little's law is checked on every step: mean requests in flight (sampled every 5 ms) against achieved rate × mean latency; a gap over 25% (and over half a request) is flagged.".into(),
            if r.knees.is_empty() {
                format!("The knee is the highest offered rate with p99 ≤ {:.0} ms, at least 95% of the offered rate achieved and at most 1% errors.", c.slo_p99_ms)
            } else {
                format!("The knee is the highest offered rate with p99 ≤ {:.0} ms, at least 95% of the offered rate achieved and at most 1% errors, judged by the majority of a step's trials. It is searched per target: the sweep's rates give a bracket (highest rate within, lowest outside above it), widened by doubling (capped near the closed-loop peak) or halving when one end is missing, then bisected geometrically until the upper end is within 10% of the lower; every probe runs its own interleaved trials and appears in the open-loop table.", c.slo_p99_ms)
            },
        ]),
        Block::Bullets(c.notes.clone()),
    ]);
}

/// The open-loop sweep: latency and throughput against offered load.
fn open_loop(r: &Results, d: &mut Vec<Block>) {
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
}

/// Latency spectrum, CPU and memory at the rate every target sustained.
fn at_common_rate(r: &Results, rate: f64, d: &mut Vec<Block>) {
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

/// The closed-loop steps.
fn closed_loop(r: &Results, d: &mut Vec<Block>) {
    if r.runs.iter().any(|x| x.scenario == "checkout-closed") {
        d.push(Block::Heading(2, "Checkout, closed loop".into()));
        d.push(Block::Figure("closed-loop".into()));
        d.push(table(
            &RUN_HEADER,
            run_rows(r.runs.iter().filter(|x| x.scenario == "checkout-closed")),
        ));
    }
}

/// The catalog listings: payload size.
fn catalog(r: &Results, d: &mut Vec<Block>) {
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
                    spread_cell(x.spread.map(|s| s.achieved_rps), x.achieved_rps, 1.0, 0),
                    spread_cell(x.spread.map(|s| s.p50_us), x.latency_us.p50, 1000.0, 2),
                    spread_cell(x.spread.map(|s| s.p99_us), x.latency_us.p99, 1000.0, 2),
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
}

/// Errors by kind, per step.
fn errors(r: &Results, d: &mut Vec<Block>) {
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
}

/// The audit of every target's databases after the run.
fn audit(r: &Results, d: &mut Vec<Block>) {
    d.push(Block::Heading(2, "Audit".into()));
    d.push(Block::Paragraph(format!(
        "After the last step, the bench waits until every compensation a service owes its next hop has been acknowledged and no order is `pendente` (at most {:.0} s; waited: {}), then reads all six databases of every target.",
        r.audit.settle_limit_s,
        r.audit.settle_ms.iter().map(|(t, ms)| format!("{t} {ms} ms")).collect::<Vec<_>>().join(", ")
    )));
    if !r.audit.not_audited.is_empty() {
        d.push(Block::Paragraph(format!(
            "Not audited: {} — the stack ran elsewhere (`--target-addr`), so its databases are not on this machine; audit them where they are.",
            r.audit.not_audited.join(", ")
        )));
    }
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
}

/// The thresholds the run is held to.
fn checks(r: &Results, d: &mut Vec<Block>) {
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
}

/// How to run it again.
/// The command line that runs what this run ran: profile and seed, the settings that differ from
/// the defaults, and the scenarios (`--scenario` when the run chose some of the profile's,
/// `--also` for those outside it).
pub fn command_line(r: &Results) -> String {
    let c = &r.config;
    let mut cmd = format!(
        "cargo run -p bench -- --profile {} --seed {}",
        c.profile, c.seed
    );
    let ran = |name: &str| c.scenarios.iter().any(|x| x == name);
    if let Some(p) = crate::scenarios::profile::Profile::named(&c.profile) {
        let own: Vec<&str> = p.scenarios.iter().map(|x| x.name).collect();
        if !own.iter().all(|n| ran(n) || n.starts_with("kill-")) {
            for n in own.iter().filter(|n| ran(n)) {
                cmd.push_str(&format!(" --scenario {n}"));
            }
        }
        for extra in c
            .scenarios
            .iter()
            .filter(|x| crate::scenarios::named::extra(x).is_some())
        {
            if !own.contains(&extra.as_str()) {
                cmd.push_str(&format!(" --also {extra}"));
            }
        }
    }
    if !c.sqlite_synchronous.eq_ignore_ascii_case("normal") {
        cmd.push_str(&format!(
            " --sync {}",
            c.sqlite_synchronous.to_ascii_lowercase()
        ));
    }
    let default_admission = checkout_core::admission::Admission::default().to_string();
    if !c.admission.is_empty() && c.admission != default_admission {
        cmd.push_str(&format!(" --admission {}", c.admission));
    }
    if c.busy {
        cmd.push_str(" --busy");
    }
    // Asked for explicitly; a run that asked to poll and could not is reproduced by asking again.
    if c.idle == "machine" {
        cmd.push_str(" --idle machine");
    }
    if let Some(link) = &c.link {
        cmd.push_str(&format!(" --link {link}"));
    }
    match c.tls.as_deref() {
        Some("mutual TLS") => cmd.push_str(" --mtls"),
        Some(_) => cmd.push_str(" --tls"),
        None => {}
    }
    cmd
}

fn reproduce(r: &Results, d: &mut Vec<Block>) {
    d.push(Block::Heading(2, "Reproduce".into()));
    d.push(Block::Pre(format!(
        "{}\n# versions: {}",
        command_line(r),
        r.versions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn the_command_line_runs_what_the_run_ran() {
        let mut r = fixture::results(&["grpc"], Vec::new());
        // The smoke fixture ran only the open-loop sweep.
        assert_eq!(
            command_line(&r),
            "cargo run -p bench -- --profile smoke --seed 1 --scenario checkout-open"
        );
        r.config.profile = "default".into();
        r.config.scenarios = crate::scenarios::profile::Profile::named("default")
            .unwrap()
            .scenarios
            .iter()
            .map(|s| s.name.to_string())
            .chain(["scaling".to_string(), "crosscheck".to_string()])
            .collect();
        r.config.sqlite_synchronous = "FULL".into();
        r.config.busy = true;
        r.config.tls = Some("mutual TLS".into());
        assert_eq!(
            command_line(&r),
            "cargo run -p bench -- --profile default --seed 1 --also scaling --also crosscheck --sync full --busy --mtls"
        );
        // The machine's idle policy is asked for; polling is the default, and a run that asked
        // for it but could not hold it asked for nothing else.
        r.config.idle = "machine".into();
        assert!(command_line(&r).contains(" --busy --idle machine --mtls"));
        r.config.idle = "machine (/dev/cpu_dma_latency: Permission denied)".into();
        assert!(!command_line(&r).contains("--idle"));
    }
}
