//! The Scalability section: what one stack gains from a second worker per service process and
//! from a second core, and where a second Payments replica's calls go when Orders takes the
//! replicas in turn or reaches them through a layer-4 balancer — each measured on fresh copies
//! of the stack driven closed loop, every configuration's trials interleaved.

use super::document::{Block, Document, table};
use crate::results::{Results, Run};
use crate::scenarios::scaling::SCALING;

/// The closed-loop run of `target` in the scaling configuration `name`.
pub(crate) fn run<'a>(r: &'a Results, name: &str, target: &str) -> Option<&'a Run> {
    r.series(name, target).find(|x| x.concurrency.is_some())
}

/// The light-load (open-loop) run of `target` in the scaling configuration `name`.
fn light<'a>(r: &'a Results, name: &str, target: &str) -> Option<&'a Run> {
    r.series(name, target).find(|x| x.offered_rps.is_some())
}

/// `median [lo–hi]` of a step's throughput.
pub(crate) fn rate(x: &Run) -> String {
    super::analysis::spread_cell(x.spread.map(|s| s.achieved_rps), x.achieved_rps, 1.0, 0)
}

/// `0.62× [0.58–0.66], p = 0.002` of `x`'s throughput over `base`'s.
pub(crate) fn against(x: &Run, base: &Run) -> String {
    let c = crate::stats::compare(
        &x.trial_values(|t| t.achieved_rps),
        &base.trial_values(|t| t.achieved_rps),
    );
    c.text()
}

/// Each payments process's share of the payments CPU in `x`, in percent: how the calls split
/// between replicas.
fn payments_split(x: &Run) -> Vec<f64> {
    let cpu: Vec<f64> = x
        .resources
        .iter()
        .filter(|u| u.process == "payments" || u.process.starts_with("payments-"))
        .map(|u| u.cpu_us_per_request)
        .collect();
    let total: f64 = cpu.iter().sum();
    cpu.iter()
        .map(|c| 100.0 * c / total.max(f64::MIN_POSITIVE))
        .collect()
}

/// Appends the section when the scaling scenario ran.
pub fn section(r: &Results, d: &mut Document) {
    let [base, one_worker, one_core, in_turn, balancer, _, _] = SCALING.map(|c| c.name);
    let vertical: Vec<Vec<String>> = r
        .targets()
        .iter()
        .filter_map(|t| {
            let b = run(r, base, t)?;
            let w = run(r, one_worker, t)?;
            let c = run(r, one_core, t)?;
            Some(vec![
                t.clone(),
                rate(b),
                rate(w),
                against(w, b),
                rate(c),
                against(c, b),
            ])
        })
        .collect();
    d.push(Block::Heading(2, "Scalability".into()));
    if vertical.is_empty() {
        d.push(Block::Paragraph("Not measured in this run: `--also scaling` (or the `full` profile) drives fresh copies of every networked stack with one worker per service process, with one core per service process, and with Payments as two processes — reached in turn by Orders, or through a layer-4 balancer — against the run's own setting.".into()));
        return;
    }
    let clients = r
        .runs
        .iter()
        .find(|x| x.scenario == base)
        .and_then(|x| x.concurrency)
        .unwrap_or(0);
    d.push(Block::Paragraph(format!(
        "Each networked stack started afresh in every configuration below and driven closed loop at {clients} clients, all copies' trials interleaved. Vertical: as the run sets it up ({} gRPC worker threads, {} actix workers per process, both cores), with one worker per service process, and with every service process allowed one core (the load generator keeps both). Checkouts per second, median of the trials [interval]; each ratio is against the run's setting, with its bootstrap interval and Mann–Whitney p.",
        r.config.grpc_worker_threads, r.config.rest_workers
    )));
    d.push(table(
        &[
            "target",
            "as run, /s",
            "1 worker per process, /s",
            "1 worker / as run",
            "1 core per process, /s",
            "1 core / as run",
        ],
        vertical,
    ));
    light_load(r, base, one_core, d);
    let horizontal: Vec<Vec<String>> = r
        .targets()
        .iter()
        .flat_map(|t| {
            let b = run(r, base, t);
            [
                (in_turn, "Orders calls them in turn"),
                (balancer, "behind a layer-4 balancer"),
            ]
            .into_iter()
            .filter_map(move |(name, how)| {
                let (x, b) = (run(r, name, t)?, b?);
                let split = payments_split(x)
                    .iter()
                    .map(|p| format!("{p:.0}%"))
                    .collect::<Vec<_>>()
                    .join(" / ");
                let conns = r.balanced.get(&x.id).map_or("–".into(), |c| {
                    c.iter().map(u64::to_string).collect::<Vec<_>>().join(" / ")
                });
                Some(vec![
                    t.clone(),
                    how.into(),
                    rate(x),
                    against(x, b),
                    split,
                    conns,
                ])
            })
            .collect::<Vec<_>>()
        })
        .collect();
    if !horizontal.is_empty() {
        d.push(Block::Paragraph("Horizontal: Payments as two processes on the same database (SQLite serialises their writes), reached two ways. In turn: Orders is given both addresses and takes them request by request (`--peer-payments a,b`: client-side round robin, what the stacks do). Behind a balancer: Orders is given one address, a layer-4 balancer's (in the bench's process), which hands each new connection to the next replica — so it balances connections, not requests. The split is each replica's share of the payments CPU; the balancer's column counts the connections it handed each. On two cores a second replica adds no capacity (every process already shares them); what the table shows is where the calls go.".into()));
        d.push(table(
            &[
                "target",
                "two Payments replicas",
                "checkouts/s",
                "against one process",
                "payments CPU split",
                "connections per replica",
            ],
            horizontal,
        ));
    }
}

/// The light-load medians as run and with every service process on one core: what a hop's
/// wake-ups on the other core cost.
fn light_load(r: &Results, base: &str, one_core: &str, d: &mut Document) {
    let across = r.calibration.cross_core_rtt_us;
    let rows: Vec<(Vec<String>, Option<f64>)> = r
        .targets()
        .iter()
        .filter_map(|t| {
            let (b, c) = (light(r, base, t)?, light(r, one_core, t)?);
            let p50 = |x: &Run| x.trial_values(|t| t.p50_us);
            let cmp = crate::stats::compare(&p50(c), &p50(b));
            let per_hop = (crate::stats::median(&p50(b)) - crate::stats::median(&p50(c))) / 5.0;
            let fell = cmp.significant && cmp.ratio.hi < 1.0;
            let cell = |x: &Run| {
                super::analysis::spread_cell(x.spread.map(|s| s.p50_us), x.latency_us.p50, 1e3, 2)
            };
            Some((
                vec![
                    t.clone(),
                    cell(b),
                    cell(c),
                    cmp.text(),
                    format!("{per_hop:.0}"),
                    across
                        .filter(|a| *a > 0.0)
                        .map_or("–".into(), |a| format!("{:.1}", per_hop / a)),
                ],
                fell.then_some(per_hop),
            ))
        })
        .collect();
    let Some(rate) = r
        .targets()
        .iter()
        .find_map(|t| light(r, base, t)?.offered_rps)
        .filter(|_| !rows.is_empty())
    else {
        return;
    };
    d.push(Block::Paragraph(format!(
        "Light load, the same copies driven open loop at {rate:.0} checkouts/s: as run, and with every service process allowed one core. Where the processes may use both cores the scheduler may wake a callee on the idle one, and then the hop pays a wake-up of the other core each way{}; on one core a hop only hands the core over. The load generator keeps both cores, so its own hop to Orders may still cross: what the median falls per hop (÷ 5) is a lower bound on what those wake-ups cost the chain. p50 ms, median of the trials [interval]; the ratio with its bootstrap interval and Mann–Whitney p.",
        across.map_or(String::new(), |a| format!(
            " (the calibrated round trip across cores: {a:.0} µs, against {:.1} µs on one)",
            r.calibration.loopback_rtt_us
        ))
    )));
    // What the measured differences say: the per-hop saving of the stacks whose median fell
    // significantly.
    let saved: Vec<f64> = rows.iter().filter_map(|(_, s)| *s).collect();
    let all = rows.len();
    d.push(table(
        &[
            "target",
            "as run, p50 ms",
            "1 core per process, p50 ms",
            "1 core / as run",
            "less per hop, µs",
            "in round trips across cores",
        ],
        rows.into_iter().map(|(row, _)| row).collect(),
    ));
    let in_rtt = |v: f64| {
        across.filter(|a| *a > 0.0).map_or(String::new(), |a| {
            format!(" ({:.1} round trips across cores)", v / a)
        })
    };
    let said = match (
        saved.iter().copied().reduce(f64::min),
        saved.iter().copied().reduce(f64::max),
    ) {
        (Some(lo), Some(hi)) => format!(
            "On one core the median fell measurably for {} of {all} stacks, by {lo:.0}{} to {hi:.0} µs a hop{}: that much of a hop's light-load cost is where its processes run, not the transport.",
            saved.len(),
            in_rtt(lo),
            in_rtt(hi)
        ),
        _ => format!(
            "On one core no stack's median fell measurably ({all} measured): here a hop's light-load cost is not where its processes run."
        ),
    };
    d.push(Block::Paragraph(said));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::results::Trial;

    fn step(scenario: &str, rps: &[f64]) -> Run {
        let mut x = fixture::run(scenario, "grpc", None, Some(64), 20_000.0);
        x.trials = rps
            .iter()
            .map(|&a| Trial {
                achieved_rps: a,
                requests: 100,
                ..Default::default()
            })
            .collect();
        x.spread = Some(crate::engine::trials::spread(&x.trials));
        x
    }

    #[test]
    fn each_configuration_is_set_against_the_run_s_own() {
        let r = fixture::results(
            &["grpc"],
            vec![
                step("scaling-base", &[3000., 3100., 2900., 3050., 2950., 3020.]),
                step(
                    "scaling-1-worker",
                    &[2000., 2100., 1900., 2050., 1950., 2020.],
                ),
                step(
                    "scaling-1-core",
                    &[1500., 1550., 1450., 1520., 1480., 1510.],
                ),
                {
                    let mut x = step("scaling-2-payments-balancer", &[3000.; 6]);
                    x.resources = ["payments", "payments-2"]
                        .iter()
                        .zip([300.0, 0.0])
                        .map(|(p, cpu)| crate::results::ProcessUsage {
                            process: p.to_string(),
                            cpu_pct: 0.0,
                            cpu_us_per_request: cpu,
                            rss_mib_max: 0.0,
                        })
                        .collect();
                    x
                },
            ],
        );
        let mut r = r;
        let id = r.runs[3].id.clone();
        r.balanced.insert(id, vec![1, 1]);
        // At light load, as run and on one core: 400 µs less over five hops, 80 µs a hop.
        let light = |scenario: &str, p50: f64| {
            let mut x = fixture::run(scenario, "grpc", Some(200.0), None, p50);
            x.trials = (0..6)
                .map(|i| Trial {
                    p50_us: p50 + 10.0 * i as f64,
                    achieved_rps: 200.0,
                    requests: 100,
                    ..Default::default()
                })
                .collect();
            x.spread = Some(crate::engine::trials::spread(&x.trials));
            x
        };
        r.runs.push(light("scaling-base", 1500.0));
        r.runs.push(light("scaling-1-core", 1100.0));
        r.calibration.cross_core_rtt_us = Some(40.0);
        let mut d = Document::new();
        section(&r, &mut d);
        let text = super::super::document::markdown(&d);
        // The closed-loop table still reads the closed-loop runs.
        assert!(text.contains("| grpc | 3010 [2900–3100]"), "{text}");
        assert!(
            text.contains("| grpc | 1.52 [1.50–1.55] | 1.12 [1.10–1.15] | 0.74× ["),
            "{text}"
        );
        assert!(text.contains("p = 0.002 | 80 | 2.0 |"), "{text}");
        assert!(
            text.contains(
                "fell measurably for 1 of 1 stacks, by 80 (2.0 round trips across cores)"
            ),
            "{text}"
        );
        assert!(text.contains("| grpc | 3010 [2900–3100]"), "{text}");
        assert!(text.contains("0.67× ["), "{text}");
        assert!(text.contains("p = 0.002"), "{text}");
        assert!(text.contains("0.50× ["), "{text}");
        assert!(
            text.contains("| grpc | behind a layer-4 balancer | 3000 [3000–3000] | 1.00×"),
            "{text}"
        );
        assert!(text.contains("| 100% / 0% | 1 / 1 |"), "{text}");
        let mut empty = Document::new();
        section(&fixture::results(&["grpc"], Vec::new()), &mut empty);
        assert!(super::super::document::markdown(&empty).contains("Not measured in this run"));
    }
}
