//! Every hop a service serves is a span: a `tracing` span (`request{service, trace_id, path}`,
//! for logs and tests) and, when span export is on, an OpenTelemetry server span exported over
//! OTLP/HTTP (protobuf) in batches. Export is off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) names a collector, as the OpenTelemetry specification
//! has it; then every hop's span joins the caller's trace (W3C `traceparent`) and the calls it
//! makes carry its own span id, so a collector shows the five hops of a checkout as one tree.
//!
//! The spans are built with the OpenTelemetry SDK directly rather than through a `tracing`
//! layer: a hop's span id must be known while the hop runs (its calls carry it downstream), and
//! building the span here gives it at once.

use std::sync::OnceLock;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use crate::ServiceName;
use crate::ports::Trace;

static EXPORT: OnceLock<(SdkTracerProvider, SdkTracer)> = OnceLock::new();

/// Where spans go, from the standard variables; `None`: export is off.
pub fn otlp_endpoint() -> Option<String> {
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .into_iter()
    .filter_map(|v| std::env::var(v).ok())
    .find(|v| !v.trim().is_empty())
}

/// Turns span export on for this process when a collector is configured (see the module);
/// `services` name it (`checkout-payments` for one service, `checkout` for several). Answers
/// whether export is on.
pub fn export_spans(services: &[ServiceName]) -> Result<bool, String> {
    if otlp_endpoint().is_none() || EXPORT.get().is_some() {
        return Ok(EXPORT.get().is_some());
    }
    // The exporter's HTTP client looks for the process's default TLS provider when built.
    crate::tls::install_crypto();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| format!("OTLP exporter: {e}"))?;
    let name = match services {
        [one] => format!("checkout-{one}"),
        _ => "checkout".to_owned(),
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(name).build())
        .build();
    let tracer = provider.tracer("checkout");
    let _ = EXPORT.set((provider, tracer));
    Ok(true)
}

/// Exports what is still buffered and stops exporting (at a service's shutdown).
pub fn flush() {
    if let Some((provider, _)) = EXPORT.get() {
        let _ = provider.shutdown();
    }
}

/// One hop being served.
pub struct Hop {
    /// The `tracing` span to serve it in.
    pub span: tracing::Span,
    /// The trace its own calls carry: the caller's trace, this hop's span as their parent.
    pub trace: Trace,
    otel: Option<opentelemetry_sdk::trace::Span>,
}

/// A hop of `service` begins, serving `path` for a caller that sent `incoming` (none: the trace
/// starts here).
pub fn hop(service: ServiceName, incoming: Option<Trace>, path: &str) -> Hop {
    let otel = EXPORT.get().map(|(_, tracer)| {
        let parent = match incoming {
            Some(t) => Context::new().with_remote_span_context(SpanContext::new(
                TraceId::from(t.trace_id),
                SpanId::from(t.parent_id),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            )),
            None => Context::new(),
        };
        tracer
            .span_builder(path.to_owned())
            .with_kind(SpanKind::Server)
            .with_attributes([KeyValue::new("checkout.service", service.as_str())])
            .start_with_context(tracer, &parent)
    });
    let trace = match &otel {
        Some(s) => Trace {
            trace_id: u128::from_be_bytes(s.span_context().trace_id().to_bytes()),
            parent_id: u64::from_be_bytes(s.span_context().span_id().to_bytes()),
        },
        None => incoming.unwrap_or_default().child(),
    };
    let span = tracing::info_span!(
        "request",
        service = service.as_str(),
        trace_id = %trace.trace_hex(),
        path = path
    );
    Hop { span, trace, otel }
}

impl Hop {
    /// The hop ended with `code` (the transport's own: a gRPC code name, an HTTP status, an
    /// error kind); `failed` marks its span as an error.
    pub fn finish(mut self, code: &str, failed: bool) {
        if let Some(s) = self.otel.as_mut() {
            s.set_attribute(KeyValue::new("checkout.code", code.to_owned()));
            if failed {
                s.set_status(Status::error(code.to_owned()));
            }
            s.end();
        }
    }
}
