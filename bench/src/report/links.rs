//! The "Past one machine" section: each networked target behind each link profile of the links
//! scenario — latency at one client, throughput at many, the connections its links carried —
//! and of the links-catalog scenario (the listing of 1,000 behind capped links, its bytes),
//! and, per profile, which transport wins on each (the verdict table's rule), so a reader sees
//! where the winner changes as the network gets farther away.

use super::analysis::spread_cell;
use super::document::{Block, Document, table};
use super::verdict::{Entry, contest};
use checkout_core::ServiceName;

use crate::cluster::target::TargetKind;
use crate::results::{Results, Run};
use crate::scenarios::links::{CATALOG_LINKS, LINKS};

/// The run of `target` in `scenario` at `clients`.
pub(crate) fn at<'a>(
    r: &'a Results,
    scenario: &str,
    target: &str,
    clients: usize,
) -> Option<&'a Run> {
    r.series(scenario, target)
        .find(|x| x.concurrency == Some(clients))
}

/// Clients at the throughput step of the runs recorded under `profiles` (the most any had).
pub(crate) fn most_clients(r: &Results, profiles: &[(&str, &str)]) -> usize {
    r.runs
        .iter()
        .filter(|x| profiles.iter().any(|(_, name)| x.scenario == *name))
        .filter_map(|x| x.concurrency)
        .max()
        .unwrap_or(1)
}

/// The run's networked targets.
pub(crate) fn networked(r: &Results) -> Vec<&String> {
    r.targets()
        .iter()
        .filter(|t| TargetKind::parse(t).is_some_and(|k| k != TargetKind::InProcess))
        .collect()
}

/// Whether any candidate ran behind any of `profiles`.
pub(crate) fn ran(r: &Results, profiles: &[(&str, &str)], candidates: &[&String]) -> bool {
    profiles.iter().any(|(_, name)| {
        candidates
            .iter()
            .any(|t| r.series(name, t).next().is_some())
    })
}

/// Appends the section when the links scenario (checkouts) or the links-catalog scenario (the
/// listing of 1,000 products) ran.
pub fn section(r: &Results, d: &mut Document) {
    let candidates = networked(r);
    let checkouts = ran(r, &LINKS, &candidates);
    let listings = ran(r, &CATALOG_LINKS, &candidates);
    if !checkouts && !listings {
        return;
    }
    d.push(Block::Heading(2, "Past one machine: links".into()));
    let mut verdicts = Vec::new();
    if checkouts {
        let many = most_clients(r, &LINKS);
        d.push(Block::Paragraph(format!(
            "Fresh copies of each networked stack with every hop — the load generator's to Orders included — across a shaped link (a TCP proxy per service in the bench: one-way delay ± jitter, a bandwidth cap, retransmission-like stalls; see the README), closed loop at 1 client (latency) and {many} (throughput), every copy's trials interleaved. Medians [interval] over the trials. \"Connections\" counts what the links carried over the copy's life, all hops together: HTTP/1.1 opens one per request in flight per hop; HTTP/2 and raw TCP keep one per lane."
        )));
        let rows = part(r, &LINKS, &candidates, many, &mut verdicts, |_, n| {
            let carried = r.link_connections.get(&n.id);
            let of = |svc: &str| {
                carried
                    .and_then(|v| v.iter().find(|(s, _)| s == svc))
                    .map_or(0, |(_, c)| *c)
            };
            let hops: Vec<u64> = ServiceName::CHAIN.iter().map(|s| of(s.as_str())).collect();
            format!(
                "{} ({})",
                hops.iter().sum::<u64>(),
                hops.iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" / ")
            )
        });
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
    }
    if listings {
        let many = most_clients(r, &CATALOG_LINKS);
        d.push(Block::Paragraph(format!(
            "The catalog of 1,000 products behind bandwidth-capped links: every copy's hops (the load generator's to Catalog, Catalog's to Inventory) across the link, the listing asked for at 1 client and at {many}. Here the size of what each wire carries sets the pace: a listing's bytes cross the capped link at its rate, and every connection through a link shares its rate, as on a real link. The bytes column counts loopback traffic, so each hop's bytes appear once on each side of its link's proxy."
        )));
        let rows = part(
            r,
            &CATALOG_LINKS,
            &candidates,
            many,
            &mut verdicts,
            |_, n| {
                n.wire_bytes_per_request
                    .map_or("–".into(), |b| format!("{:.0}", b / 1000.0))
            },
        );
        d.push(table(
            &[
                "link",
                "target",
                "listing p50 at 1 client, ms",
                &format!("listings/s at {many} clients"),
                "loopback KB per listing (all hops, each through its link's proxy)",
            ],
            rows,
        ));
    }
    verdict_table(d, "behind each link", "link", verdicts);
}

/// Who wins in each `where_` (its column named `column`), gRPC against REST, as [`part`] found.
pub(crate) fn verdict_table(
    d: &mut Document,
    where_: &str,
    column: &str,
    verdicts: Vec<Vec<String>>,
) {
    d.push(Block::Paragraph(format!("Who wins {where_}, gRPC against REST (raw TCP is the baseline), by the verdict table's rule: a winner only where the trials differ significantly, with the ratio's whole interval more than 10% clear of 1.")));
    d.push(table(
        &[column, "question", "winner", "ratio", "evidence"],
        verdicts,
    ));
}

/// The rows of one table (link, target, latency at 1 client, throughput at `many`, and `extra`
/// of the throughput step), adding each profile's verdicts on both questions to `verdicts`.
pub(crate) fn part(
    r: &Results,
    profiles: &[(&str, &str)],
    candidates: &[&String],
    many: usize,
    verdicts: &mut Vec<Vec<String>>,
    extra: impl Fn(&Run, &Run) -> String,
) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for &(profile, name) in profiles {
        for t in candidates {
            let (Some(one), Some(n)) = (at(r, name, t, 1), at(r, name, t, many)) else {
                continue;
            };
            rows.push(vec![
                profile.to_string(),
                t.to_string(),
                spread_cell(one.spread.map(|s| s.p50_us), one.latency_us.p50, 1000.0, 2),
                spread_cell(n.spread.map(|s| s.achieved_rps), n.achieved_rps, 1.0, 0),
                extra(one, n),
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
        let what = if name.starts_with("links-catalog") {
            "listing"
        } else {
            "checkout"
        };
        for (question, low, pick, clients) in [
            (
                format!("{what} latency (p50 at 1 client)"),
                true,
                (|x: &Run| x.trial_values(|t| t.p50_us)) as fn(&Run) -> Vec<f64>,
                1,
            ),
            (
                format!("{what} throughput"),
                false,
                (|x: &Run| x.trial_values(|t| t.achieved_rps)) as fn(&Run) -> Vec<f64>,
                many,
            ),
        ] {
            if let Some(v) = contest(String::new(), entries(pick, clients), low, &none) {
                verdicts.push(vec![
                    profile.to_string(),
                    question,
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
    rows
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
        assert!(
            text.contains("| lossy | checkout throughput | rest-h1 |"),
            "{text}"
        );
        // Raw TCP is measured, never a candidate.
        assert!(
            !text.contains("| lossy | checkout throughput | tcp"),
            "{text}"
        );
        // Without the scenario, no section.
        let mut empty = Document::default();
        section(&fixture::results(&["grpc"], Vec::new()), &mut empty);
        assert!(super::super::document::markdown(&empty).is_empty());
    }

    #[test]
    fn behind_a_thin_link_the_listing_shows_its_bytes_and_the_smaller_one_wins_throughput() {
        let fast = [30.0, 31.0, 29.5, 30.5, 30.2, 29.8];
        let slow = [13.0, 13.5, 12.8, 13.2, 13.1, 12.9];
        let mut runs = vec![
            step("links-catalog-thin", "grpc", 1, 40_000.0, &fast),
            step("links-catalog-thin", "grpc", 4, 500_000.0, &fast),
            step("links-catalog-thin", "rest-h1", 1, 80_000.0, &slow),
            step("links-catalog-thin", "rest-h1", 4, 1_200_000.0, &slow),
        ];
        runs[1].wire_bytes_per_request = Some(84_000.0);
        runs[3].wire_bytes_per_request = Some(185_000.0);
        let r = fixture::results(&["grpc", "rest-h1"], runs);
        let mut d = Document::default();
        section(&r, &mut d);
        let text = super::super::document::markdown(&d);
        assert!(text.contains("| thin | grpc | 40.00 | 30 | 84 |"), "{text}");
        assert!(
            text.contains("| thin | rest-h1 | 80.00 | 13 | 185 |"),
            "{text}"
        );
        assert!(
            text.contains("| thin | listing throughput | grpc | 2.3"),
            "{text}"
        );
        assert!(text.contains("listings/s at 4 clients"), "{text}");
        // Without the checkout scenario, no checkout table.
        assert!(!text.contains("checkouts/s"), "{text}");
        // Checkouts at 16 clients in the same run leave the listing's table at its own 4.
        let mut both = r.clone();
        both.runs
            .push(step("links-region", "grpc", 1, 23_000.0, &fast));
        both.runs
            .push(step("links-region", "grpc", 16, 24_000.0, &fast));
        let mut d = Document::default();
        section(&both, &mut d);
        let text = super::super::document::markdown(&d);
        assert!(text.contains("checkouts/s at 16 clients"), "{text}");
        assert!(text.contains("| thin | grpc | 40.00 | 30 | 84 |"), "{text}");
    }
}
