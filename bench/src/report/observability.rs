//! The Observability section: what each transport gives a person debugging it — every item
//! served by both stacks and held by a test — and what recording metrics and exporting spans
//! cost, measured: the scaling scenario's copies as run, with metrics off and with spans
//! exported, trials interleaved.

use super::document::{Block, Document, table};
use crate::results::Results;
use crate::scenarios::scaling::SCALING;

use super::scaling::{against, rate, run};

/// Appends the section.
pub fn section(r: &Results, d: &mut Document) {
    d.push(Block::Heading(2, "Observability".into()));
    d.push(Block::Paragraph("What each stack gives someone debugging it. Every service of both serves Prometheus metrics at `GET /metrics` — on the gRPC ports too, over plain HTTP/1.1 beside gRPC's HTTP/2 — with requests counted by the transport's own code, a latency histogram, requests in flight and, for the services that owe compensations, the outbox backlog (the bench's observability test parses every service's exposition strictly). The raw-TCP baseline answers the same text to its metrics call and opens the same spans.".into()));
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
            vec!["exporting spans".into(), "OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: one server span per hop, parented across hops".into(), "the same".into()],
        ],
    ));
    let name = |f: fn(&crate::scenarios::scaling::Config) -> bool| {
        SCALING.iter().find(|c| f(c)).map(|c| c.name)
    };
    let (Some(base), Some(off), Some(spans)) = (
        SCALING.first().map(|c| c.name),
        name(|c| !c.metrics),
        name(|c| c.spans),
    ) else {
        return;
    };
    let rows: Vec<Vec<String>> = r
        .targets()
        .iter()
        .filter_map(|t| {
            let (on, no, exported) = (run(r, base, t)?, run(r, off, t)?, run(r, spans, t)?);
            Some(vec![
                t.clone(),
                rate(on),
                rate(no),
                against(no, on),
                rate(exported),
                against(exported, on),
                format!(
                    "{:.0} / {:.0} / {:.0}",
                    super::verdict::service_cpu(on),
                    super::verdict::service_cpu(no),
                    super::verdict::service_cpu(exported)
                ),
            ])
        })
        .collect();
    if rows.is_empty() {
        d.push(Block::Paragraph("What recording metrics and exporting spans cost is measured by `--also scaling` (or the `full` profile): not in this run.".into()));
        return;
    }
    d.push(Block::Paragraph("What observability costs: fresh copies of each stack as run (metrics on, spans not exported), with metrics off (`--metrics off`), and with every hop's span exported over OTLP/HTTP in batches to a stand-in collector in the bench's process; closed loop at the scaling scenario's concurrency, trials interleaved with the other scaling copies. Checkouts per second, median [interval], each ratio against the stack as run; service CPU per checkout.".into()));
    d.push(table(
        &[
            "target",
            "as run, /s",
            "metrics off, /s",
            "off / as run",
            "spans exported, /s",
            "exported / as run",
            "service CPU µs/checkout: as run / metrics off / exported",
        ],
        rows,
    ));
}
