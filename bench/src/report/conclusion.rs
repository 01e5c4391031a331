//! The report's Conclusion: which transport to pick for what, each claim one of the verdict
//! table's rows in words (so it names a winner only where the trials support one), pointing to
//! the table or chart that shows its numbers.

use super::document::{Block, Document};
use super::facts::{lightest, ms};
use super::verdict::{Verdict, verdicts};
use crate::results::{Results, Run};

/// Relative gap under which two byte counts are not told apart in the closing advice.
const TIE: f64 = 0.10;

/// A verdict as a sentence of the Conclusion.
fn sentence(v: &Verdict, shown_in: &str) -> String {
    let ratio = if v.ratio.lo == v.ratio.hi {
        format!("{:.2}×", v.ratio.median)
    } else {
        format!(
            "{:.2}× [{:.2}–{:.2}]",
            v.ratio.median, v.ratio.lo, v.ratio.hi
        )
    };
    match &v.winner {
        Some(w) => format!(
            "{}: **{w}**, {ratio} better than {} ({}; {shown_in}).",
            v.question, v.pair.1, v.evidence
        ),
        None if v.once => format!(
            "{}: measured once, so no verdict — {} {ratio} over {} in this run ({shown_in}).",
            v.question, v.pair.0, v.pair.1
        ),
        None if v.significant => format!(
            "{}: a tie — {} ahead of {} by {ratio}, an interval that reaches within the {:.0}% noise threshold ({}; {shown_in}).",
            v.question,
            v.pair.0,
            v.pair.1,
            100.0 * crate::stats::PRACTICAL,
            v.evidence
        ),
        None if v.evidence.starts_with("brackets") => format!(
            "{}: a tie within the search's resolution — {} and {} ({ratio}, {}; {shown_in}).",
            v.question, v.pair.0, v.pair.1, v.evidence
        ),
        None => format!(
            "{}: no measurable difference — {} and {} ({ratio}, {}; {shown_in}).",
            v.question, v.pair.0, v.pair.1, v.evidence
        ),
    }
}

/// Where the report shows each verdict's numbers.
fn shown_in(question: &str) -> &'static str {
    match question.split_whitespace().next().unwrap_or("") {
        "Light-load" | "Tail" => "the open-loop table and the latency-vs-load chart",
        "Peak" => "Checkout, closed loop",
        "Knee" => "the open-loop table (knee probes included)",
        "Overload" => "Resilience: overload",
        "Large" => "Catalog listing: payload size",
        "Faults" => "Resilience",
        _ => "At a common load",
    }
}

fn catalog_1000<'a>(r: &'a Results, t: &str) -> Option<&'a Run> {
    super::facts::step_of(r, "catalog-1000", t)
}

/// Appends the Conclusion section: every verdict as a sentence, then the CPU and bytes each
/// stack costs, then when each fits.
pub fn section(r: &Results, d: &mut Document) {
    let mut claims: Vec<String> = verdicts(r)
        .iter()
        .map(|v| sentence(v, shown_in(&v.question)))
        .collect();
    if let Some(cost) = &r.cost {
        let cpu: Vec<String> = cost
            .transports
            .iter()
            .map(|t| format!("{} {:.0} µs", t.target, t.service_cpu_us))
            .collect();
        if !cpu.is_empty() {
            claims.push(format!(
                "Service CPU per checkout at the common load: {} (Where the time goes).",
                cpu.join(", ")
            ));
        }
    }
    let bytes: Vec<String> = r
        .targets()
        .iter()
        .filter_map(|t| {
            let b = catalog_1000(r, t)?.wire_bytes_per_request?;
            Some(format!("{t} {:.0} KB", b / 1000.0))
        })
        .collect();
    if !bytes.is_empty() {
        claims.push(format!(
            "Bytes on the wire for a 1,000-product listing (all hops, both directions): {} (Catalog listing: payload size).",
            bytes.join(", ")
        ));
    }
    if claims.is_empty() {
        return;
    }
    d.push(Block::Heading(2, "Conclusion".into()));
    d.push(Block::Paragraph(
        "What this run supports, question by question — the verdict table's rows in words (a winner only where the trials support one):".into(),
    ));
    d.push(Block::Bullets(claims));
    d.push(Block::Paragraph(when_to_pick(r)));
}

/// When each transport fits, from what the run and the code show.
fn when_to_pick(r: &Results) -> String {
    let bytes = |t: &str| catalog_1000(r, t).and_then(|x| x.wire_bytes_per_request);
    let smaller = match (bytes("grpc"), bytes("rest-h1")) {
        (Some(g), Some(h)) if g < h * (1.0 - TIE) => format!(
            "its listing of 1,000 products took {:.0} KB on the wire against {:.0} KB of JSON ({:.1}× less)",
            g / 1000.0,
            h / 1000.0,
            h / g
        ),
        _ => "its payloads are binary and typed".into(),
    };
    // The median of the step's trials, as the tables and the verdict state it (not the pooled
    // median of every request).
    let light =
        |t: &str| lightest(r, t).map(|x| crate::stats::median(&x.trial_values(|t| t.p50_us)));
    let h1_light = match (light("rest-h1"), light("rest-h2"), light("grpc")) {
        (Some(h1), Some(h2), Some(g)) => format!(
            " (light-load medians in this run: REST/1.1 {} ms, REST/2 {} ms, gRPC {} ms)",
            ms(h1),
            ms(h2),
            ms(g)
        ),
        _ => String::new(),
    };
    format!(
        "Pick gRPC for service-to-service calls with large or frequent payloads and a contract both sides compile from: {smaller}, and a field added on either side is skipped rather than refused (Coupling). Pick REST over HTTP/1.1 where reach and debuggability matter more than payload size — any HTTP client and curl speak it, errors are readable JSON, the OpenAPI document describes it — and at light load its short requests on kept-alive connections cost as little as the others{h1_light}. REST over HTTP/2 keeps JSON but multiplexes like gRPC: one connection per peer (and one more for compensations) instead of one per request in flight, which matters when many requests are in flight at once. On every transport the synchronous chain, not the wire, sets the behaviour under faults: a slow or dead service stalls every caller above it, and shedding at each service's edge is what keeps goodput when load exceeds capacity (Resilience)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Interval;

    #[test]
    fn a_verdict_reads_as_a_winner_or_as_no_measurable_difference() {
        let mut v = Verdict {
            question: "Light-load latency (checkout p50 at 200/s)".into(),
            winner: Some("rest-h1".into()),
            pair: ("rest-h1".into(), "grpc".into()),
            ratio: Interval {
                median: 1.19,
                lo: 1.13,
                hi: 1.49,
                coverage: 0.95,
            },
            evidence: "p = 0.002 (6 + 6 trials)".into(),
            once: false,
            significant: true,
            cause: String::new(),
        };
        let text = sentence(&v, "x");
        assert!(
            text.starts_with("Light-load latency (checkout p50 at 200/s): **rest-h1**, 1.19× [1.13–1.49] better than grpc (p = 0.002"),
            "{text}"
        );
        v.winner = None;
        let text = sentence(&v, "x");
        assert!(
            text.contains("a tie — rest-h1 ahead of grpc by 1.19×"),
            "{text}"
        );
        v.significant = false;
        let text = sentence(&v, "x");
        assert!(
            text.contains("no measurable difference — rest-h1 and grpc"),
            "{text}"
        );
        v.evidence = "brackets 2830–3080 vs 2600–2830/s".into();
        assert!(sentence(&v, "x").contains("a tie within the search's resolution"));
        assert_eq!(
            shown_in(&v.question),
            "the open-loop table and the latency-vs-load chart"
        );
    }

    #[test]
    fn the_light_load_medians_quoted_are_the_trials_median_the_tables_show() {
        use crate::report::fixture;
        use crate::results::Trial;
        let step = |target: &str, pooled: f64, trials: &[f64]| {
            let mut run = fixture::run("checkout-open", target, Some(200.0), None, pooled);
            run.trials = trials
                .iter()
                .map(|&p50_us| Trial {
                    p50_us,
                    p99_us: 2.0 * p50_us,
                    achieved_rps: 200.0,
                    requests: 100,
                    errors: 0,
                })
                .collect();
            run
        };
        let r = fixture::results(
            &["grpc", "rest-h1", "rest-h2"],
            vec![
                step("rest-h1", 2049.0, &[2221.0, 2265.0, 2127.0, 2142.0, 1812.0]),
                step("rest-h2", 2519.0, &[2500.0]),
                // Without trials the pooled median is the step's only figure.
                fixture::run("checkout-open", "grpc", Some(200.0), None, 2685.0),
            ],
        );
        let text = when_to_pick(&r);
        assert!(
            text.contains("REST/1.1 2.14 ms, REST/2 2.50 ms, gRPC 2.69 ms"),
            "{text}"
        );
    }
}
