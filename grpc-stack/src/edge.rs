//! The edge every gRPC call crosses before its handler: counted and timed by its gRPC code in
//! the service's metrics, and served in its hop's span (joined to the caller's trace).

use checkout_core::metrics;
use checkout_core::telemetry;
use checkout_core::*;

/// Counts and times one call by its gRPC code: an error is answered trailers-only, with
/// `grpc-status` in the headers; a reply without it went on to `OK` in its trailers.
pub(crate) async fn count_call(
    axum::extract::State(service): axum::extract::State<ServiceName>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.uri().path() == "/metrics" {
        return next.run(req).await;
    }
    let m = metrics::start(service);
    let (req, hop) = traced(service, req);
    let res = tracing::Instrument::instrument(next.run(req), hop.span.clone()).await;
    let code = res
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok()?.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from_i32);
    m.finish(code_name(code));
    hop.finish(code_name(code), server_error(code));
    res
}

/// A gRPC code's name as the metrics label it (`Ok`, `NotFound`, ...), without formatting one
/// per call.
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "Ok",
        Cancelled => "Cancelled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

/// A code the server is to blame for (what HTTP would answer with a 5xx): its span is an error.
fn server_error(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(
        code,
        Unknown
            | DeadlineExceeded
            | ResourceExhausted
            | Unimplemented
            | Internal
            | Unavailable
            | DataLoss
    )
}

/// The call's hop: its span, joined to the caller's trace (its `traceparent`) or starting one,
/// and written back into the request as the trace the handler's own calls carry.
fn traced(
    service: ServiceName,
    mut req: axum::extract::Request,
) -> (axum::extract::Request, telemetry::Hop) {
    let incoming = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(Trace::parse);
    let hop = telemetry::hop(service, incoming, req.uri().path());
    if let Ok(v) = hop.trace.header().parse() {
        req.headers_mut().insert("traceparent", v);
    }
    (req, hop)
}
