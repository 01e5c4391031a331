//! The "Past one machine" section: each networked target behind each link profile of the links
//! scenario — latency at one client, throughput at many, the connections its links carried —
//! and, per profile, which transport wins on each (the verdict table's rule), so a reader sees
//! where the winner changes as the network gets farther away.

use super::analysis::spread_cell;
use super::document::{Block, Document, table};
use super::verdict::{Entry, contest};
use checkout_core::ServiceName;

use crate::cluster::target::TargetKind;
use crate::results::{Results, Run};
use crate::scenarios::links::LINKS;

/// The run of `target` in `scenario` at `clients`.
fn at<'a>(r: &'a Results, scenario: &str, target: &str, clients: usize) -> Option<&'a Run> {
    r.series(scenario, target)
        .find(|x| x.concurrency == Some(clients))
}

/// Appends the section when the links scenario ran.
pub fn section(r: &Results, d: &mut Document) {
    let candidates: Vec<&String> = r
        .targets()
        .iter()
        .filter(|t| TargetKind::parse(t).is_some_and(|k| k != TargetKind::InProcess))
        .collect();
    let ran = LINKS.iter().any(|(_, name)| {
        candidates
            .iter()
            .any(|t| r.series(name, t).next().is_some())
    });
    if !ran {
        return;
    }
    let many = r
        .runs
        .iter()
        .filter(|x| x.scenario.starts_with("links-"))
        .filter_map(|x| x.concurrency)
        .max()
        .unwrap_or(1);
    d.push(Block::Heading(2, "Past one machine: links".into()));
    d.push(Block::Paragraph(format!(
        "Fresh copies of each networked stack with every hop — the load generator's to Orders included — across a shaped link (a TCP proxy per service in the bench: one-way delay ± jitter, a bandwidth cap, retransmission-like stalls; see the README), closed loop at 1 client (latency) and {many} (throughput), every copy's trials interleaved. Medians [interval] over the trials. \"Connections\" counts what the links carried over the copy's life, all hops together: HTTP/1.1 opens one per request in flight per hop; HTTP/2 and raw TCP keep one per lane."
    )));
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    for (profile, name) in LINKS {
        for t in &candidates {
            let (Some(one), Some(n)) = (at(r, name, t, 1), at(r, name, t, many)) else {
                continue;
            };
            let carried = r.link_connections.get(&n.id);
            let of = |svc: &str| {
                carried
                    .and_then(|v| v.iter().find(|(s, _)| s == svc))
                    .map_or(0, |(_, c)| *c)
            };
            let hops: Vec<u64> = ServiceName::CHAIN.iter().map(|s| of(s.as_str())).collect();
            let connections = format!(
                "{} ({})",
                hops.iter().sum::<u64>(),
                hops.iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" / ")
            );
            rows.push(vec![
                profile.to_string(),
                t.to_string(),
                spread_cell(one.spread.map(|s| s.p50_us), one.latency_us.p50, 1000.0, 2),
                spread_cell(n.spread.map(|s| s.achieved_rps), n.achieved_rps, 1.0, 0),
                connections,
            ]);
        }
        let entries = |pick: fn(&Run) -> Vec<f64>, clients: usize| -> Vec<Entry> {
            candidates
                .iter()
                .filter(|t| TargetKind::parse(t).is_some_and(|k| !k.baseline()))
                .filter_map(|t| {
                    Some(Entry {
                        target: t.to_string(),
                        values: pick(at(r, name, t, clients)?),
                    })
                })
                .collect()
        };
        let none = |_: &str, _: &str| String::new();
        for (question, v) in [
            (
                "latency (p50 at 1 client)",
                contest(
                    String::new(),
                    entries(|x| x.trial_values(|t| t.p50_us), 1),
                    true,
                    &none,
                ),
            ),
            (
                "throughput",
                contest(
                    String::new(),
                    entries(|x| x.trial_values(|t| t.achieved_rps), many),
                    false,
                    &none,
                ),
            ),
        ] {
            if let Some(v) = v {
                verdicts.push(vec![
                    profile.to_string(),
                    question.to_string(),
                    v.outcome(),
                    format!(
                        "{:.2}× [{:.2}–{:.2}]",
                        v.ratio.median, v.ratio.lo, v.ratio.hi
                    ),
                    v.evidence.clone(),
                ]);
            }
        }
    }
    d.push(table(
        &[
            "link",
            "target",
            "checkout p50 at 1 client, ms",
            &format!("checkouts/s at {many} clients"),
            "connections: all hops (orders / payments / inventory / fiscal / logistics)",
        ],
        rows,
    ));
    d.push(Block::Paragraph("Who wins behind each link, gRPC against REST (raw TCP is the baseline), by the verdict table's rule: a winner only where the trials differ significantly, by at least 10%, with the ratio's interval clear of 1.".into()));
    d.push(table(
        &["link", "question", "winner", "ratio", "evidence"],
        verdicts,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::results::Trial;

    /// A step behind `link` at `clients`, its trials achieving `rates` with median `p50` µs.
    fn step(link: &str, target: &str, clients: usize, p50: f64, rates: &[f64]) -> Run {
        let mut x = fixture::run(link, target, None, Some(clients), p50);
        x.trials = rates
            .iter()
            .map(|&r| Trial {
                p50_us: p50,
                p99_us: 2.0 * p50,
                achieved_rps: r,
                requests: 100,
                errors: 0,
            })
            .collect();
        x.achieved_rps = rates[0];
        x
    }

    #[test]
    fn behind_a_lossy_link_the_pool_wins_throughput_and_its_connections_are_shown() {
        let flat = [400.0, 410.0, 405.0, 395.0, 402.0, 398.0];
        let choked = [120.0, 130.0, 125.0, 118.0, 140.0, 122.0];
        let mut r = fixture::results(
            &["grpc", "rest-h1", "tcp"],
            vec![
                step("links-lossy", "grpc", 1, 25_000.0, &flat),
                step("links-lossy", "grpc", 16, 30_000.0, &choked),
                step("links-lossy", "rest-h1", 1, 24_000.0, &flat),
                step("links-lossy", "rest-h1", 16, 28_000.0, &flat),
                step("links-lossy", "tcp", 1, 23_000.0, &flat),
                step("links-lossy", "tcp", 16, 27_000.0, &choked),
            ],
        );
        let h1 = r
            .series("links-lossy", "rest-h1")
            .last()
            .unwrap()
            .id
            .clone();
        r.link_connections
            .insert(h1, vec![("orders".into(), 100), ("payments".into(), 128)]);
        let mut d = Document::default();
        section(&r, &mut d);
        let text = super::super::document::markdown(&d);
        assert!(
            text.contains("| lossy | rest-h1 | 24.00 | 400 | 228 (100 / 128 / 0 / 0 / 0) |"),
            "{text}"
        );
        assert!(text.contains("| lossy | throughput | rest-h1 |"), "{text}");
        // Raw TCP is measured, never a candidate.
        assert!(!text.contains("| lossy | throughput | tcp"), "{text}");
        // Without the scenario, no section.
        let mut empty = Document::default();
        section(&fixture::results(&["grpc"], Vec::new()), &mut empty);
        assert!(super::super::document::markdown(&empty).is_empty());
    }
}
