//! The Observability section: what each transport gives a person debugging it — every item
//! served by both stacks and held by a test — and what recording the metrics costs, measured:
//! the scaling scenario's copies with metrics on (as run) and off, trials interleaved.

use super::document::{Block, Document, table};
use crate::results::Results;
use crate::scenarios::scaling::SCALING;

use super::facts::step_of as run;

/// Appends the section.
pub fn section(r: &Results, d: &mut Document) {
    d.push(Block::Heading(2, "Observability".into()));
    d.push(Block::Paragraph("What each stack gives someone debugging it. Every service of both serves Prometheus metrics at `GET /metrics` — on the gRPC ports too, over plain HTTP/1.1 beside gRPC's HTTP/2 — with requests counted by the transport's own code, a latency histogram, requests in flight and, for the services that owe compensations, the outbox backlog (the bench's observability test parses every service's exposition strictly).".into()));
    d.push(table(
        &["", "gRPC", "REST"],
        vec![
            vec!["result codes".into(), "gRPC status (`RESOURCE_EXHAUSTED`, `NOT_FOUND`, …) with `comum.Erro` details; counted as `code=\"NotFound\"`".into(), "HTTP status (503, 404, …) with a JSON error body; counted as `code=\"404\"`".into()],
            vec!["health".into(), "`grpc.health.v1.Health/Check` per service".into(), "`GET /health`".into()],
            vec!["discovering the API".into(), "server reflection, `v1` and `v1alpha`".into(), "OpenAPI document at `/openapi.json`".into()],
            vec!["reading a payload".into(), "binary protobuf: needs the `.proto` or reflection (grpcurl, the bench's client)".into(), "JSON, readable as it travels".into()],
            vec!["calling it by hand".into(), "grpcurl or `bench client`".into(), "curl, or `bench client --transport rest`".into()],
            vec!["metrics".into(), "`GET /metrics` on the service's port".into(), "`GET /metrics` on the service's port".into()],
            vec!["tracing a request".into(), "W3C `traceparent` in the call's metadata; a `request` span per hop".into(), "W3C `traceparent` header; a `request` span per hop".into()],
        ],
    ));
    let [base, .., off] = SCALING.map(|c| c.name);
    let rows: Vec<Vec<String>> = r
        .targets()
        .iter()
        .filter_map(|t| {
            let (on, no) = (run(r, base, t)?, run(r, off, t)?);
            let c = crate::stats::compare(
                &no.trial_values(|x| x.achieved_rps),
                &on.trial_values(|x| x.achieved_rps),
            );
            Some(vec![
                t.clone(),
                super::analysis::spread_cell(
                    on.spread.map(|s| s.achieved_rps),
                    on.achieved_rps,
                    1.0,
                    0,
                ),
                super::analysis::spread_cell(
                    no.spread.map(|s| s.achieved_rps),
                    no.achieved_rps,
                    1.0,
                    0,
                ),
                format!(
                    "{:.2}× [{:.2}–{:.2}], p = {:.3}",
                    c.ratio.median, c.ratio.lo, c.ratio.hi, c.p
                ),
                format!("{:.0}", super::verdict::service_cpu(on)),
                format!("{:.0}", super::verdict::service_cpu(no)),
            ])
        })
        .collect();
    if rows.is_empty() {
        d.push(Block::Paragraph("What recording costs is measured by `--also scaling` (or the `full` profile): not in this run.".into()));
        return;
    }
    d.push(Block::Paragraph("What recording costs: fresh copies of each stack with metrics on (as run) and off (`--metrics off`), closed loop at the scaling scenario's concurrency, trials interleaved with the other scaling copies. Checkouts per second, median [interval]; service CPU per checkout.".into()));
    d.push(table(
        &[
            "target",
            "metrics on, /s",
            "metrics off, /s",
            "off / on",
            "service CPU µs/checkout, on",
            "off",
        ],
        rows,
    ));
}
