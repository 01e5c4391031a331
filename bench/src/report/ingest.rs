//! The "Ingestion" section (seeds 000 and 003): events per second of each call pattern on each
//! transport at each number of clients, emission-to-commit latency, what each event cost the
//! sink and the wire, gRPC against REST per pattern (the verdict table's rule), the file imports
//! against the bulk-insert floor with their memory, the check that each sink holds what was sent,
//! and the answer to the seed's question — which pattern to choose — from those numbers.

use super::document::{Block, Document, table};
use super::figures::{Figure, fig};
use super::verdict::{Entry, contest};
use crate::results::Results;
use crate::results::ingest::{Ingest, IngestCell};

fn cells<'a>(
    ing: &'a Ingest,
    pattern: &'a str,
    clients: usize,
) -> impl Iterator<Item = &'a IngestCell> {
    ing.cells
        .iter()
        .filter(move |c| c.pattern == pattern && c.clients == clients)
}

fn patterns(ing: &Ingest) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &ing.cells {
        if !out.contains(&c.pattern) {
            out.push(c.pattern.clone());
        }
    }
    out
}

fn clients(ing: &Ingest) -> Vec<usize> {
    let mut out: Vec<usize> = ing.cells.iter().map(|c| c.clients).collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |x| format!("{x:.digits$}"))
}

/// The chart: events/s by pattern × clients, one bar per target.
pub fn figures(r: &Results, out: &mut Vec<Figure>) {
    let Some(ing) = r.ingest.as_ref().filter(|i| !i.cells.is_empty()) else {
        return;
    };
    let mut categories = Vec::new();
    let mut keys = Vec::new();
    for p in patterns(ing) {
        for n in clients(ing) {
            let short = if p == "stream-batches" {
                "st-batches"
            } else {
                p.as_str()
            };
            categories.push(format!("{short} ×{n}"));
            keys.push((p.clone(), n));
        }
    }
    let mut targets: Vec<String> = Vec::new();
    for c in &ing.cells {
        if !targets.contains(&c.target) {
            targets.push(c.target.clone());
        }
    }
    let series: Vec<(String, Vec<f64>)> = targets
        .iter()
        .map(|t| {
            let v = keys
                .iter()
                .map(|(p, n)| {
                    cells(ing, p, *n)
                        .find(|c| &c.target == t)
                        .map_or(0.0, |c| c.events_per_s / 1000.0)
                })
                .collect();
            (t.clone(), v)
        })
        .collect();
    out.push(fig(
        "ingest-rate",
        "Events the sink answered for per second (stored, or counted as repeated or invalid) by call pattern and clients (thousands; median of the trials)",
        super::charts::bars(
            "Ingestion: events/s by pattern × clients",
            "thousand events/s",
            &categories,
            &series,
        ),
    ));
}

/// Appends the section when the ingest scenario ran.
pub fn section(r: &Results, d: &mut Document) {
    let Some(ing) = &r.ingest else {
        return;
    };
    d.push(Block::Heading(
        2,
        "Ingestion: the seed's four patterns and the import".into(),
    ));
    let per_call: Vec<String> = ing
        .events_per_call
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    d.push(Block::Paragraph(format!(
        "Seed 000's simulators send order events to a sink that stores them in SQLite; seed 003 imports a file of 300,000 in the background with live progress. The sink is a seventh service, outside the checkout chain: its own process and database per transport (in-process: in the bench's process), fresh for the scenario. Each step runs clients that call back to back for a trial's length, every target's trials interleaved with the same events (1% exact repeats, 0.1% invalid, as the seed's pipeline met them). Events per call: {}. \"events/s\" counts the events the sink answered for (stored, or counted as repeated or invalid) per second of the trial. Latency runs from the client stamping an event as it goes on the wire to the sink's write that stores it, over every event stored. CPU and bytes are per event answered for; the load generator's CPU includes making the events.",
        per_call.join(", ")
    )));
    if !ing.cells.is_empty() {
        d.push(Block::Figure("ingest-rate".into()));
        let rows = ing
            .cells
            .iter()
            .map(|c| {
                vec![
                    c.pattern.clone(),
                    c.clients.to_string(),
                    c.target.clone(),
                    format!("{:.0} [{:.0}–{:.0}]", c.events_per_s, c.lo, c.hi),
                    format!("{:.2}", c.latency_p50_ms),
                    format!("{:.2}", c.latency_p99_ms),
                    opt(c.sink_cpu_us, 2),
                    format!("{:.2}", c.client_cpu_us),
                    opt(c.wire_bytes, 0),
                    opt(c.sink_rss_mib, 1),
                    c.errors.to_string(),
                ]
            })
            .collect();
        d.push(table(
            &[
                "pattern",
                "clients",
                "target",
                "events/s",
                "emission→commit p50 ms",
                "p99 ms",
                "sink CPU µs/event",
                "loadgen CPU µs/event",
                "wire bytes/event",
                "sink RSS MiB",
                "failed calls",
            ],
            rows,
        ));
        verdicts(ing, d);
        d.push(Block::Paragraph(answer(ing)));
    }
    imports(r, ing, d);
    let rows = ing
        .verified
        .iter()
        .map(|v| {
            vec![
                v.target.clone(),
                v.expected.to_string(),
                v.stored.to_string(),
                if v.digest_matches { "yes" } else { "NO" }.into(),
            ]
        })
        .collect();
    d.push(Block::Paragraph("Each sink after the steps: the distinct valid events sent to it (repeats and invalid ones left out) against the rows it holds, and the sum of a 64-bit digest of each row against that of the events sent.".into()));
    d.push(table(
        &[
            "target",
            "distinct valid events sent",
            "rows stored",
            "digests match",
        ],
        rows,
    ));
}

/// gRPC against REST per pattern, at the most clients.
fn verdicts(ing: &Ingest, d: &mut Document) {
    let Some(&most) = clients(ing).last() else {
        return;
    };
    let mut rows = Vec::new();
    for p in patterns(ing) {
        let entries: Vec<Entry> = cells(ing, &p, most)
            .filter(|c| c.target != "inprocess")
            .map(|c| Entry {
                target: c.target.clone(),
                values: c.trials.clone(),
            })
            .collect();
        let none = |_: &str, _: &str| String::new();
        if let Some(v) = contest(String::new(), entries, false, &none) {
            rows.push(vec![
                p.clone(),
                v.outcome(),
                format!(
                    "{:.2}× [{:.2}–{:.2}]",
                    v.ratio.median, v.ratio.lo, v.ratio.hi
                ),
                v.evidence.clone(),
            ]);
        }
    }
    d.push(Block::Paragraph(format!(
        "Which transport stores the most events per second with {most} clients, per pattern (a winner only where the trials differ significantly, with the ratio's whole interval more than 10% clear of 1):"
    )));
    d.push(table(&["pattern", "winner", "ratio", "evidence"], rows));
}

/// The seed's question — which pattern to choose, and why — answered from the measured cells.
pub fn answer(ing: &Ingest) -> String {
    let Some(&most) = clients(ing).last() else {
        return String::new();
    };
    let mut parts = Vec::new();
    let mut targets: Vec<&str> = Vec::new();
    for c in &ing.cells {
        if c.target != "inprocess" && !targets.contains(&c.target.as_str()) {
            targets.push(&c.target);
        }
    }
    for t in targets {
        let at = |p: &'static str| cells(ing, p, most).find(|c| c.target == t);
        let Some(best) = ing
            .cells
            .iter()
            .filter(|c| c.target == t && c.clients == most)
            .max_by(|a, b| a.events_per_s.total_cmp(&b.events_per_s))
        else {
            continue;
        };
        let unary = at("unary");
        parts.push(format!(
            "{t}: `{}` {:.0}/s{}, p99 emission→commit {:.1} ms",
            best.pattern,
            best.events_per_s,
            unary
                .filter(|u| u.pattern != best.pattern && u.events_per_s > 0.0)
                .map_or(String::new(), |u| format!(
                    " ({:.0}× unary's {:.0}/s; sink CPU {} vs {} µs/event)",
                    best.events_per_s / u.events_per_s,
                    u.events_per_s,
                    opt(best.sink_cpu_us, 1),
                    opt(u.sink_cpu_us, 1)
                )),
            best.latency_p99_ms
        ));
    }
    let p99 = |t: &str, p: &str| {
        cells(ing, p, most)
            .find(|c| c.target == t)
            .map(|c| c.latency_p99_ms)
    };
    let latency: Vec<String> = ing
        .cells
        .iter()
        .filter(|c| c.clients == most && c.pattern == "stream" && c.target != "inprocess")
        .filter_map(|c| {
            Some(format!(
                "{} {:.1} vs {:.1} ms",
                c.target,
                p99(&c.target, "stream")?,
                p99(&c.target, "batch")?
            ))
        })
        .collect();
    let streaming = ing
        .cells
        .iter()
        .filter(|c| c.pattern.starts_with("stream") && c.clients == most && c.target != "inprocess")
        .collect::<Vec<_>>();
    let served = streaming.iter().all(|c| c.errors == 0 && c.events > 0);
    format!(
        "**Which pattern to choose.** The fastest pattern of each transport with {most} clients — {}. A call costs the same framework work whatever it carries, so carrying many events per call (a batch, or a stream) divides that cost among them; unary pays it per event. {}{}",
        parts.join("; "),
        if latency.is_empty() {
            String::new()
        } else {
            format!(
                "Latency tells streams and batches apart: emission→commit p99 of `stream` against `batch` — {}. A streamed event is stamped when the client writes it and then waits in the connection's buffers while the sink commits the ones ahead of it; a batch is stamped as a whole and committed in one write. ",
                latency.join(", ")
            )
        },
        if streaming.is_empty() {
            String::new()
        } else if served {
            format!(
                "The seed's worry — a server holding one thread per streaming client — does not arise here: {most} streaming clients at once were all served on each transport, with no failed call (async servers park a stream, not a thread)."
            )
        } else {
            format!("Some of the {most} streaming clients' calls failed: see the table.")
        }
    )
}

/// The imports: time, rate against the floor, counts, memory.
fn imports(r: &Results, ing: &Ingest, d: &mut Document) {
    if ing.imports.is_empty() {
        return;
    }
    d.push(Block::Paragraph(format!(
        "The import (seed 003): a CSV file uploaded through each transport to a fresh sink process, answered with the import's id once the file is stored (\"accepted\"), then processed in the background in blocks of {} lines — the file is never held in memory — while the client follows the progress the server pushes (gRPC: a server stream; REST: Server-Sent Events). \"× floor\" divides the import's time by what the calibrated bulk insert ({}) takes for as many rows. Peak RSS is the sink process's high-water mark; the smaller file shows how memory grows with the file's size.",
        checkout_core::ingest::import::BLOCK_LINES,
        r.calibration
            .bulk_insert_rows_per_s
            .map_or("not measured".into(), |f| format!("{f:.0} rows/s in one transaction"))
    )));
    let rows = ing
        .imports
        .iter()
        .map(|i| {
            vec![
                i.target.clone(),
                i.events.to_string(),
                format!("{:.1}", i.bytes as f64 / (1 << 20) as f64),
                format!("{:.3}", i.accepted_s),
                format!("{:.2}", i.total_s),
                format!("{:.0}", i.events_per_s),
                opt(i.floor_ratio, 2),
                format!("{} / {} / {}", i.inserted, i.repeated, i.invalid),
                i.expected.to_string(),
                i.updates.to_string(),
                opt(i.peak_rss_mib, 1),
            ]
        })
        .collect();
    d.push(table(
        &[
            "target",
            "events",
            "MiB",
            "accepted s",
            "done s",
            "events/s",
            "× floor",
            "inserted / repeated / invalid",
            "expected inserted",
            "progress updates",
            "peak RSS MiB",
        ],
        rows,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{document, fixture};
    use crate::results::ingest::{ImportRun, SinkCheck};

    fn cell(target: &str, pattern: &str, clients: usize, rates: &[f64]) -> IngestCell {
        IngestCell {
            target: target.into(),
            pattern: pattern.into(),
            clients,
            trials: rates.to_vec(),
            events_per_s: crate::stats::median(rates),
            events: 1000,
            sink_cpu_us: Some(if pattern == "unary" { 60.0 } else { 3.0 }),
            ..IngestCell::default()
        }
    }

    #[test]
    fn the_section_names_each_transports_fastest_pattern_from_the_cells_and_a_winner_only_where_trials_differ()
     {
        let mut r = fixture::results(&["grpc", "rest-h1"], Vec::new());
        r.ingest = Some(Ingest {
            cells: vec![
                cell(
                    "grpc",
                    "unary",
                    20,
                    &[20_000.0, 21_000.0, 19_500.0, 20_500.0, 19_000.0],
                ),
                cell(
                    "rest-h1",
                    "unary",
                    20,
                    &[30_000.0, 31_000.0, 29_000.0, 30_500.0, 29_500.0],
                ),
                cell("grpc", "batch", 20, &[300_000.0, 310_000.0, 305_000.0]),
                cell("rest-h1", "batch", 20, &[302_000.0, 299_000.0, 306_000.0]),
            ],
            imports: vec![ImportRun {
                target: "grpc".into(),
                events: 300_000,
                inserted: 293_000,
                expected: 293_000,
                floor_ratio: Some(1.5),
                ..ImportRun::default()
            }],
            verified: vec![SinkCheck {
                target: "grpc".into(),
                expected: 5,
                stored: 5,
                digest_matches: true,
            }],
            events_per_call: vec![("unary".into(), 1), ("batch".into(), 100)],
        });
        let mut d = Document::default();
        section(&r, &mut d);
        let text = document::markdown(&d);
        assert!(
            text.contains(
                "grpc: `batch` 305000/s (15× unary's 20000/s; sink CPU 3.0 vs 60.0 µs/event)"
            ),
            "{text}"
        );
        assert!(text.contains("| unary | rest-h1 | 1.50×"), "{text}");
        assert!(text.contains("| batch | tie (grpc, rest-h1) |"), "{text}");
        assert!(text.contains("| grpc | 300000 |"), "{text}");
        let mut figures = Vec::new();
        figures_for(&r, &mut figures);
        assert_eq!(figures.len(), 1);
        // Without the scenario, no section and no chart.
        let bare = fixture::results(&["grpc"], Vec::new());
        let mut empty = Document::default();
        section(&bare, &mut empty);
        assert!(document::markdown(&empty).is_empty());
    }

    fn figures_for(r: &Results, out: &mut Vec<Figure>) {
        figures(r, out);
    }
}
