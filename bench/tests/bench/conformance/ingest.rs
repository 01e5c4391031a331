//! The ingestion sink's conformance suite, written once and run against every wiring that serves
//! it: in-process (no transport), gRPC, REST over HTTP/1.1 and REST over HTTP/2. (The raw-TCP
//! stack has no sink.) Every pattern stores each event once and counts repeats and invalid events
//! with their positions; an import reports progress and ends with exact counts; a stream broken
//! off keeps what was committed, and sending it again stores each event once; twenty streaming
//! clients at once all land.

use std::path::PathBuf;
use std::sync::Arc;

use checkout_core::ServiceError;
use checkout_core::ingest::events::{EventGen, EventsConfig, write_csv};
use checkout_core::ingest::{Estado, Evento, IngestPort, Progresso, Sink};
use checkout_core::node::Shutdown;
use checkout_core::store::StoreConfig;
use tempfile::TempDir;

#[derive(Debug, Clone, Copy)]
pub enum SinkWiring {
    InProcess,
    Grpc,
    Rest {
        http2: bool,
    },
    /// A networked wiring with the test's calls over mutual TLS.
    Mtls(&'static SinkWiring),
}

pub struct SinkApp {
    dir: TempDir,
    pub port: Arc<dyn IngestPort>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    sink: Option<Sink>,
}

impl SinkApp {
    fn db(&self) -> PathBuf {
        self.dir.path().join("sink").join("eventos.db")
    }

    /// Rows stored and the wrapping sum of their digests.
    pub fn stored(&self) -> (u64, u64) {
        checkout_core::ingest::stored_digest(&self.db(), true).unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
        if let Some(s) = self.sink.take() {
            s.close();
        }
    }
}

pub async fn spawn(wiring: SinkWiring) -> SinkApp {
    let dir = TempDir::new().unwrap();
    let (wiring, tls) = match wiring {
        SinkWiring::Mtls(inner) => (*inner, Some(super::harness::test_tls(dir.path(), true))),
        w => (w, None),
    };
    let sink = Sink::open(&dir.path().join("sink"), StoreConfig::default()).unwrap();
    if let SinkWiring::InProcess = wiring {
        return SinkApp {
            dir,
            port: Arc::new(sink.clone()),
            stop: None,
            task: None,
            sink: Some(sink),
        };
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown: Shutdown = Box::pin(async move {
        let _ = rx.await;
    });
    let (serving, port): (_, Arc<dyn IngestPort>) = match wiring {
        SinkWiring::Grpc => (
            grpc_stack::ingest::start(sink, listener, tls.clone(), shutdown).unwrap(),
            Arc::new(grpc_stack::ingest::GrpcIngest::new(addr, tls.as_deref())),
        ),
        SinkWiring::Rest { http2 } => (
            rest_stack::ingest::start(1)(sink, listener, tls.clone(), shutdown).unwrap(),
            Arc::new(rest_stack::ingest::RestIngest::new(
                addr,
                http2,
                tls.as_deref(),
            )),
        ),
        SinkWiring::InProcess | SinkWiring::Mtls(_) => unreachable!(),
    };
    let task = tokio::spawn(async move { serving.await.unwrap() });
    SinkApp {
        dir,
        port,
        stop: Some(tx),
        task: Some(task),
        sink: None,
    }
}

fn events(seed: u64, n: usize, repeat_rate: f64, invalid_rate: f64) -> (Vec<Evento>, (u64, u64)) {
    let mut g = EventGen::new(EventsConfig {
        seed,
        repeat_rate,
        invalid_rate,
        start_us: 0,
    });
    let v: Vec<Evento> = g.by_ref().take(n).collect();
    (v, g.expected())
}

/// Every error a receipt lists points at an invalid event of what was sent.
fn invalid_where_said(sent: &[Evento], r: &checkout_core::ingest::Recibo) {
    for e in &r.erros {
        let at = &sent[e.posicao as usize];
        assert!(
            at.invalid_reason().is_some(),
            "position {}: {at:?}",
            e.posicao
        );
    }
}

fn sum(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    (a.0 + b.0, a.1.wrapping_add(b.1))
}

pub async fn every_pattern_stores_each_event_once_and_counts_repeats_and_invalid(w: SinkWiring) {
    let app = spawn(w).await;
    let p = &app.port;
    let (one, _) = events(1, 1, 0.0, 0.0);
    let r = p.enviar(one[0].clone()).await.unwrap();
    assert_eq!((r.inseridos, r.repetidos, r.invalidos), (1, 0, 0));
    let r = p.enviar(one[0].clone()).await.unwrap();
    assert_eq!(
        (r.inseridos, r.repetidos),
        (0, 1),
        "a repeat is counted, not stored"
    );
    let mut bad = one[0].clone();
    bad.id_evento = "outro".into();
    bad.quantidade = 0;
    let r = p.enviar(bad).await.unwrap();
    assert_eq!(r.invalidos, 1);
    assert!(r.erros[0].motivo.starts_with("quantidade"), "{r:?}");

    let (lote, exp_lote) = events(2, 300, 0.05, 0.02);
    let r = p.enviar_lote(lote.clone()).await.unwrap();
    assert_eq!(r.inseridos, exp_lote.0);
    assert_eq!(r.total(), 300);
    invalid_where_said(&lote, &r);
    let (stream, exp_stream) = events(3, 1_000, 0.05, 0.01);
    let r = p.enviar_stream(stream.clone()).await.unwrap();
    assert_eq!((r.inseridos, r.total()), (exp_stream.0, 1_000));
    invalid_where_said(&stream, &r);
    let (flat, exp_batches) = events(4, 1_000, 0.05, 0.01);
    let batches: Vec<Vec<Evento>> = flat.chunks(100).map(<[Evento]>::to_vec).collect();
    let r = p.enviar_lotes_stream(batches).await.unwrap();
    assert_eq!((r.inseridos, r.total()), (exp_batches.0, 1_000));
    invalid_where_said(&flat, &r);
    let expected = sum(
        sum((1, one[0].digest()), exp_lote),
        sum(exp_stream, exp_batches),
    );
    assert_eq!(
        app.stored(),
        expected,
        "the sink holds exactly the distinct valid events"
    );
    app.stop().await;
}

pub async fn an_import_reports_progress_and_ends_with_exact_counts(w: SinkWiring) {
    let app = spawn(w).await;
    let file = app.dir.path().join("eventos.csv");
    let cfg = EventsConfig {
        seed: 9,
        repeat_rate: 0.02,
        invalid_rate: 0.005,
        start_us: 1_764_000_000_000_000,
    };
    let expected = write_csv(&file, 20_000, cfg).unwrap();
    // One line that is not CSV of an event, at line 20,002.
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("isto não é um evento\n");
    std::fs::write(&file, text).unwrap();
    let id = app.port.importar(&file).await.unwrap();
    let mut seen: Vec<Progresso> = Vec::new();
    let end = app
        .port
        .acompanhar(id, &mut |p| seen.push(p))
        .await
        .unwrap();
    assert_eq!(end.estado, Estado::Concluida, "{end:?}");
    assert_eq!(end.inseridos, expected.0);
    // The broken line is counted invalid with the generator's own.
    assert_eq!(end.inseridos + end.repetidos + end.invalidos, 20_001);
    assert_eq!(end.linhas, 20_002);
    assert!(
        end.erros
            .iter()
            .all(|e| e.posicao >= 2 && !e.motivo.is_empty())
    );
    assert!(!seen.is_empty() && seen.last().unwrap().estado.terminal());
    assert!(
        seen.windows(2).all(|w| w[0].linhas <= w[1].linhas),
        "progress only moves forward"
    );
    let again = app.port.progresso(id).await.unwrap();
    assert_eq!(
        (again.inseridos, again.invalidos),
        (end.inseridos, end.invalidos)
    );
    assert_eq!(app.stored(), expected);
    match app.port.progresso(id + 100).await {
        Err(ServiceError::NotFound { .. }) => {}
        other => panic!("an unknown import is not found: {other:?}"),
    }
    app.stop().await;
}

pub async fn a_stream_broken_off_keeps_what_was_committed_and_a_resend_stores_each_once(
    w: SinkWiring,
) {
    let app = spawn(w).await;
    let (all, expected) = events(5, 200_000, 0.01, 0.001);
    let port = app.port.clone();
    let sending = all.clone();
    let call = tokio::spawn(async move { port.enviar_stream(sending).await });
    // Break the call off once part of it is committed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.stored().0 == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    call.abort();
    let _ = call.await;
    // The server may still commit what it had received when the call broke: read the count
    // once it has stopped moving.
    let mut before = app.stored().0;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let now = app.stored().0;
        if now == before || std::time::Instant::now() > deadline {
            break;
        }
        before = now;
    }
    assert!(
        before > 0,
        "part of the stream was committed before the break"
    );
    let r = app.port.enviar_stream(all).await.unwrap();
    assert_eq!(r.inseridos + before, expected.0, "{r:?}, {before} before");
    assert_eq!(app.stored(), expected, "each event stored once");
    app.stop().await;
}

pub async fn twenty_streaming_clients_at_once_all_land(w: SinkWiring) {
    let app = spawn(w).await;
    let mut calls = Vec::new();
    let mut expected = (0, 0);
    for c in 0..20u64 {
        let (evs, exp) = events(100 + c, 500, 0.0, 0.0);
        expected = sum(expected, exp);
        let port = app.port.clone();
        calls.push(tokio::spawn(async move {
            if c % 2 == 0 {
                port.enviar_stream(evs).await
            } else {
                port.enviar_lotes_stream(evs.chunks(50).map(<[Evento]>::to_vec).collect())
                    .await
            }
        }));
    }
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().inseridos, 500);
    }
    assert_eq!(app.stored(), expected);
    app.stop().await;
}

macro_rules! for_every_sink_wiring {
    ($($case:ident),* $(,)?) => {
        mod sink_inprocess {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::SinkWiring::InProcess).await }
            )*
        }
        mod sink_grpc {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::SinkWiring::Grpc).await }
            )*
        }
        mod sink_rest_http1 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::SinkWiring::Rest { http2: false }).await }
            )*
        }
        mod sink_rest_http2 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::SinkWiring::Rest { http2: true }).await }
            )*
        }
        mod sink_grpc_mtls {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::SinkWiring::Mtls(&super::SinkWiring::Grpc)).await }
            )*
        }
        mod sink_rest_http2_mtls {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::SinkWiring::Mtls(&super::SinkWiring::Rest { http2: true })).await }
            )*
        }
    };
}

for_every_sink_wiring!(
    every_pattern_stores_each_event_once_and_counts_repeats_and_invalid,
    an_import_reports_progress_and_ends_with_exact_counts,
    a_stream_broken_off_keeps_what_was_committed_and_a_resend_stores_each_once,
    twenty_streaming_clients_at_once_all_land,
);
