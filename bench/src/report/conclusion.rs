//! The report's Conclusion: which transport to pick for what, each claim computed from this
//! run's numbers and pointing to the table or chart that shows them. One run decides nothing
//! close: two values within [`TIE`] of each other are called a tie.

use super::document::{Block, Document};
use super::facts::{closed_best, lightest, ms};
use crate::results::{Results, Run};

/// Relative gap under which two measurements of one run are not told apart.
const TIE: f64 = 0.10;

/// The networked targets, by label, with a value each; the best (lowest when `low`) and the
/// runner-up, or `None` when fewer than two were measured.
fn rank(values: &[(String, f64)], low: bool) -> Option<((String, f64), (String, f64))> {
    let mut v: Vec<(String, f64)> = values
        .iter()
        .filter(|(_, x)| x.is_finite())
        .cloned()
        .collect();
    if v.len() < 2 {
        return None;
    }
    v.sort_by(|a, b| {
        if low {
            a.1.total_cmp(&b.1)
        } else {
            b.1.total_cmp(&a.1)
        }
    });
    Some((v[0].clone(), v[1].clone()))
}

/// "X (a vs b, N% apart)" or a tie, for the claim about `what`.
fn claim(
    what: &str,
    unit: &str,
    values: &[(String, f64)],
    low: bool,
    shown_in: &str,
) -> Option<String> {
    let ((best, a), (next, b)) = rank(values, low)?;
    // How far the best is from the runner-up, relative to the runner-up.
    let gap = (a - b).abs() / b.abs().max(f64::MIN_POSITIVE);
    let show = |x: f64| {
        if x.abs() >= 100.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.2}")
        }
    };
    let all: Vec<String> = values
        .iter()
        .map(|(t, x)| format!("{t} {}{unit}", show(*x)))
        .collect();
    Some(if gap < TIE {
        format!(
            "{what}: no clear winner in this run — {best} and {next} within {:.0}% ({}; {shown_in}).",
            100.0 * gap,
            all.join(", ")
        )
    } else {
        format!(
            "{what}: {best}, {:.0}% {} {next} ({}; {shown_in}).",
            100.0 * gap,
            if low { "below" } else { "above" },
            all.join(", ")
        )
    })
}

fn networked(r: &Results) -> Vec<String> {
    r.targets()
        .iter()
        .filter(|t| *t != "inprocess")
        .cloned()
        .collect()
}

fn per_target(r: &Results, pick: impl Fn(&Results, &str) -> Option<f64>) -> Vec<(String, f64)> {
    networked(r)
        .into_iter()
        .filter_map(|t| Some((t.clone(), pick(r, &t)?)))
        .collect()
}

fn catalog_1000<'a>(r: &'a Results, t: &str) -> Option<&'a Run> {
    r.series("catalog-1000", t).next()
}

/// Appends the Conclusion section.
pub fn section(r: &Results, d: &mut Document) {
    let mut claims = Vec::new();
    claims.extend(claim(
        "Lowest median at light load",
        " ms",
        &per_target(r, |r, t| Some(lightest(r, t)?.latency_us.p50 / 1000.0)),
        true,
        "Findings; the latency-vs-load chart",
    ));
    claims.extend(claim(
        "Highest closed-loop throughput",
        "/s",
        &per_target(r, |r, t| Some(closed_best(r, t)?.achieved_rps)),
        false,
        "Checkout, closed loop",
    ));
    if let Some(cost) = &r.cost {
        let cpu: Vec<(String, f64)> = cost
            .transports
            .iter()
            .map(|t| (t.target.clone(), t.service_cpu_us))
            .collect();
        claims.extend(claim(
            "Least service CPU per checkout",
            " µs",
            &cpu,
            true,
            "Where the time goes",
        ));
    }
    claims.extend(claim(
        "Fewest bytes on the wire for a 1,000-product listing",
        " KB",
        &per_target(r, |r, t| {
            Some(catalog_1000(r, t)?.wire_bytes_per_request? / 1000.0)
        }),
        true,
        "Catalog listing: payload size; the bytes-per-request chart",
    ));
    claims.extend(claim(
        "Fastest 1,000-product listing (median)",
        " ms",
        &per_target(r, |r, t| Some(catalog_1000(r, t)?.latency_us.p50 / 1000.0)),
        true,
        "Catalog listing: payload size",
    ));
    let shed: Vec<(String, f64)> = r
        .runs
        .iter()
        .filter(|x| x.scenario == "overload" && x.target != "inprocess")
        .filter_map(|x| {
            let s = x.fault.as_ref()?.shedding.as_ref()?;
            Some((x.target.clone(), 100.0 * s.share_of_attainable()?))
        })
        .collect();
    claims.extend(claim(
        "Most goodput kept at twice the knee (% of what it could serve)",
        "%",
        &shed,
        false,
        "Resilience: overload, shedding on and off",
    ));
    if claims.is_empty() {
        return;
    }
    d.push(Block::Heading(2, "Conclusion".into()));
    d.push(Block::Paragraph(format!(
        "What this run supports, question by question (values from this run; a gap under {:.0}% is called a tie, since two runs of the same build differ by about that much — see Findings):",
        100.0 * TIE
    )));
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
    let light = |t: &str| lightest(r, t).map(|x| x.latency_us.p50);
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

    #[test]
    fn a_gap_under_the_tie_margin_names_no_winner() {
        let close = [("grpc".to_string(), 1.00), ("rest-h1".to_string(), 1.05)];
        let text = claim("Median", " ms", &close, true, "x").unwrap();
        assert!(text.contains("no clear winner"), "{text}");
        let apart = [("grpc".to_string(), 1.0), ("rest-h1".to_string(), 2.0)];
        let text = claim("Median", " ms", &apart, true, "x").unwrap();
        assert!(
            text.starts_with("Median: grpc, 50% below rest-h1"),
            "{text}"
        );
        let most = claim("Peak", "/s", &apart, false, "x").unwrap();
        assert!(most.starts_with("Peak: rest-h1, 100% above grpc"), "{most}");
        assert!(claim("Alone", "", &apart[..1], true, "x").is_none());
    }
}
