//! Every service of every stack serves Prometheus metrics — at `GET /metrics` over plain
//! HTTP/1.1 on the REST and gRPC ports, as the `Metrics` call on the TCP stack's — in a text
//! exposition a strict parser accepts, with requests counted by the transport's own code, timed,
//! and the outbox backlog where a service owes one.

use std::time::Duration;

use checkout_core::testkit::{PRODUCTS, approving, parse_prometheus};
use checkout_core::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::conformance::harness::{Wiring, spawn};

/// `GET /metrics` over HTTP/1.1 on a fresh connection, as curl or a scraper would: the body.
async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{addr}: {head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    // A chunked body (actix) is unwrapped; a sized one (hyper) is whole.
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
        out
    } else {
        body.to_owned()
    }
}

async fn exercise(w: Wiring, ok: &str, not_found: &str) {
    let app = spawn(w, PRODUCTS, approving()).await;
    for i in 0..3 {
        let o = app
            .checkout(&format!("m-{w:?}-{i}"), 1, &[(1, 1)])
            .await
            .unwrap();
        assert_eq!(o.status, OrderStatus::Enviado);
    }
    let missing = app
        .orders
        .get_order(CallCtx::with_timeout(Duration::from_secs(5)), 987_654)
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), "not_found");
    let peers = app.peers().unwrap().clone();
    for s in ServiceName::ALL {
        let text = match w {
            Wiring::Tcp => tcp_stack::client::Link::new(&peers, s)
                .metrics(CallCtx::with_timeout(Duration::from_secs(5)))
                .await
                .unwrap(),
            _ => scrape(peers.get(s)).await,
        };
        let samples = parse_prometheus(&text).unwrap_or_else(|e| panic!("{w:?} {s}: {e}\n{text}"));
        let of = |name: &str, code: Option<&str>| {
            samples
                .iter()
                .filter(|x| x.name == name)
                .filter(|x| x.labels.contains(&("service".into(), s.as_str().into())))
                .filter(|x| code.is_none_or(|c| x.labels.contains(&("code".into(), c.into()))))
                .map(|x| x.value)
                .sum::<f64>()
        };
        let backlog = samples.iter().any(|x| x.name == "checkout_outbox_backlog");
        assert_eq!(
            backlog,
            checkout_core::audit::OWING.contains(&s),
            "{w:?} {s}: {text}"
        );
        assert!(
            samples.iter().any(|x| x.name == "checkout_in_flight"),
            "{w:?} {s}"
        );
        if s == ServiceName::Catalog {
            continue; // not on the checkout chain
        }
        assert!(
            of("checkout_requests_total", Some(ok)) >= 3.0,
            "{w:?} {s}: {text}"
        );
        assert!(
            of("checkout_request_duration_seconds_count", None) >= 3.0,
            "{w:?} {s}"
        );
        if s == ServiceName::Orders {
            assert!(
                of("checkout_requests_total", Some(not_found)) >= 1.0,
                "{w:?}: the failed lookup is counted by its code\n{text}"
            );
        }
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grpc_service_serves_metrics_counted_by_grpc_code() {
    exercise(Wiring::Grpc, "Ok", "NotFound").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rest_service_serves_metrics_counted_by_http_status() {
    exercise(Wiring::Rest { http2: false }, "200", "404").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tcp_service_serves_metrics_counted_by_error_kind() {
    exercise(Wiring::Tcp, "ok", "not_found").await;
}

/// Every `request` span the services open, as (service, trace id), from a subscriber installed
/// once for this test binary.
fn spans() -> &'static std::sync::Mutex<Vec<(String, String)>> {
    use tracing_subscriber::layer::SubscriberExt;

    struct Spans;
    #[derive(Default)]
    struct Fields {
        service: String,
        trace: String,
    }
    impl tracing::field::Visit for Fields {
        fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
            if f.name() == "service" {
                self.service = v.to_owned();
            }
        }
        fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
            if f.name() == "trace_id" {
                self.trace = format!("{v:?}");
            }
        }
    }
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Spans {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if attrs.metadata().name() == "request" {
                let mut f = Fields::default();
                attrs.record(&mut f);
                SEEN.lock().unwrap().push((f.service, f.trace));
            }
        }
    }
    static SEEN: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Spans));
    });
    &SEEN
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_id_sent_by_the_client_is_in_all_five_services_spans() {
    let seen = spans();
    for w in [
        Wiring::Grpc,
        Wiring::Rest { http2: false },
        Wiring::Rest { http2: true },
        Wiring::Tcp,
    ] {
        let app = spawn(w, PRODUCTS, approving()).await;
        let trace = Trace::new();
        let ctx = CallCtx::with_timeout(Duration::from_secs(5)).traced(trace);
        let o = app
            .orders
            .place_order(
                ctx,
                checkout_core::testkit::request(&format!("t-{w:?}"), 1, &[(1, 1)]),
            )
            .await
            .unwrap();
        assert_eq!(o.status, OrderStatus::Enviado);
        let services: std::collections::BTreeSet<String> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, t)| *t == trace.trace_hex())
            .map(|(s, _)| s.clone())
            .collect();
        let chain: std::collections::BTreeSet<String> = ServiceName::CHAIN
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        assert_eq!(
            services,
            chain,
            "{w:?}: spans of trace {}",
            trace.trace_hex()
        );
        app.shutdown().await;
    }
}
