//! The Scalability section: what one stack gains from a second worker per service process and
//! from a second core, each measured on fresh copies of the stack driven closed loop, the three
//! configurations' trials interleaved.

use super::document::{Block, Document, table};
use crate::results::{Results, Run};
use crate::scenarios::sweep::SCALING;

fn run<'a>(r: &'a Results, scenario: &str, target: &str) -> Option<&'a Run> {
    r.series(scenario, target).next()
}

/// `median [lo–hi]` of a step's throughput.
fn rate(x: &Run) -> String {
    super::analysis::spread_cell(x.spread.map(|s| s.achieved_rps), x.achieved_rps, 1.0, 0)
}

/// `0.62× [0.58–0.66], p = 0.002` of `x`'s throughput over `base`'s.
fn against(x: &Run, base: &Run) -> String {
    let c = crate::stats::compare(
        &x.trial_values(|t| t.achieved_rps),
        &base.trial_values(|t| t.achieved_rps),
    );
    format!(
        "{:.2}× [{:.2}–{:.2}], p = {:.3}",
        c.ratio.median, c.ratio.lo, c.ratio.hi, c.p
    )
}

/// Appends the section when the scaling scenario ran.
pub fn section(r: &Results, d: &mut Document) {
    let [(base, _, _), (one_worker, _, _), (one_core, _, _)] = SCALING;
    let rows: Vec<Vec<String>> = r
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
    if rows.is_empty() {
        d.push(Block::Paragraph("Not measured in this run: `--also scaling` (or the `full` profile) drives fresh copies of every networked stack with one worker per service process and with one core per service process, against the run's own setting.".into()));
        return;
    }
    let clients = r
        .runs
        .iter()
        .find(|x| x.scenario == base)
        .and_then(|x| x.concurrency)
        .unwrap_or(0);
    d.push(Block::Paragraph(format!(
        "Vertical: each networked stack started afresh three ways and driven closed loop at {clients} clients, the nine copies' trials interleaved — as the run sets it up ({} gRPC worker threads, {} actix workers per process, both cores), with one worker per service process, and with every service process allowed one core (the load generator keeps both). Checkouts per second, median of the trials [interval]; each ratio is against the run's setting, with its bootstrap interval and Mann–Whitney p.",
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
        rows,
    ));
    d.push(Block::Paragraph("Horizontal scaling — two replicas of the bottleneck service behind client-side round robin, and how gRPC's one long-lived HTTP/2 connection splits requests against REST/1.1's pool — is not built yet: every service has one address per peer.".into()));
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
            ],
        );
        let mut d = Document::new();
        section(&r, &mut d);
        let text = super::super::document::markdown(&d);
        assert!(text.contains("| grpc | 3010 [2900–3100]"), "{text}");
        assert!(text.contains("0.67× ["), "{text}");
        assert!(text.contains("p = 0.002"), "{text}");
        assert!(text.contains("0.50× ["), "{text}");
        let mut empty = Document::new();
        section(&fixture::results(&["grpc"], Vec::new()), &mut empty);
        assert!(super::super::document::markdown(&empty).contains("Not measured in this run"));
    }
}
