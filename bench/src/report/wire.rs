//! What the networked targets put on the loopback interface per request: bytes (the chart) and
//! packets (the table), for the checkout at the common load and the listings.

use super::document::{Block, table};
use super::facts::{common_rate, run_at};
use crate::cluster::target::TargetKind;
use crate::results::{Results, Run};

/// The scenarios whose loopback traffic per request is shown, as measured in `r`.
pub fn scenarios(r: &Results) -> Vec<String> {
    ["checkout-open", "catalog-30", "catalog-1000"]
        .iter()
        .filter(|s| {
            r.runs
                .iter()
                .any(|x| &x.scenario == *s && x.wire_bytes_per_request.is_some())
        })
        .map(|s| s.to_string())
        .collect()
}

/// The step of `scenario` whose loopback traffic stands for `target`'s: the checkout at the
/// common load, a listing's first step.
pub fn run<'a>(r: &'a Results, scenario: &str, target: &str) -> Option<&'a Run> {
    match common_rate(r).filter(|_| scenario == "checkout-open") {
        Some(rate) => run_at(r, scenario, target, rate),
        None => r.series(scenario, target).next(),
    }
}

/// Bytes and packets on the loopback interface per request, per networked target: the chart,
/// and a table with the packets (each a segment some process was woken to read).
pub fn section(r: &Results, d: &mut Vec<Block>) {
    d.push(Block::Heading(2, "Bytes on the wire".into()));
    d.push(Block::Figure("bytes-per-request".into()));
    let scen = scenarios(r);
    let steps: Vec<(&str, &str, &Run)> = r
        .targets()
        .iter()
        .filter(|t| *t != TargetKind::InProcess.label())
        .flat_map(|t| {
            scen.iter()
                .filter_map(move |s| Some((t.as_str(), s.as_str(), run(r, s, t)?)))
        })
        .collect();
    // Runs made before packets were counted keep the chart and get no table.
    if steps
        .iter()
        .all(|(_, _, x)| x.wire_packets_per_request.is_none())
    {
        return;
    }
    let rows: Vec<Vec<String>> = steps
        .into_iter()
        .map(|(t, s, x)| {
            vec![
                t.to_string(),
                format!("{s} ({})", x.id.rsplit('-').next().unwrap_or_default()),
                x.wire_bytes_per_request
                    .map_or("–".into(), |b| format!("{b:.0}")),
                x.wire_packets_per_request
                    .map_or("–".into(), |p| format!("{p:.1}")),
            ]
        })
        .collect();
    d.push(Block::Paragraph("Everything the loopback interface carried during the step, divided by the requests it sent: every hop, both directions, TCP/IP headers and ACKs included. Each packet is a segment some process was woken to read, so the packet count is part of what a call costs in CPU; a checkout crosses five hops, a listing two.".into()));
    d.push(table(
        &["target", "step", "bytes / request", "packets / request"],
        rows,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn listing(target: &str, bytes: f64, packets: Option<f64>) -> Run {
        let mut x = fixture::run("catalog-30", target, None, Some(16), 500.0);
        x.id = format!("catalog-30-{target}-c16");
        x.wire_bytes_per_request = Some(bytes);
        x.wire_packets_per_request = packets;
        x
    }

    #[test]
    fn packets_per_request_are_tabled_per_networked_target_and_left_out_of_older_runs() {
        let r = fixture::results(
            &["grpc", "rest-h1"],
            vec![
                listing("grpc", 1800.0, Some(2.44)),
                listing("rest-h1", 5100.0, Some(4.0)),
            ],
        );
        let mut d = Vec::new();
        section(&r, &mut d);
        let rows = d
            .iter()
            .find_map(|b| match b {
                Block::Table { rows, .. } => Some(rows.clone()),
                _ => None,
            })
            .expect("a table");
        assert_eq!(
            rows,
            vec![
                vec!["grpc", "catalog-30 (c16)", "1800", "2.4"],
                vec!["rest-h1", "catalog-30 (c16)", "5100", "4.0"],
            ]
        );
        let older = fixture::results(&["grpc"], vec![listing("grpc", 1800.0, None)]);
        let mut d = Vec::new();
        section(&older, &mut d);
        assert!(d.iter().all(|b| !matches!(b, Block::Table { .. })));
        assert!(
            d.iter().any(|b| matches!(b, Block::Figure(_))),
            "the chart stays"
        );
    }
}
