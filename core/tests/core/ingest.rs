//! The ingestion sink in-process: an import stopped half way (the sink closed) resumes from its
//! last committed block when the sink opens again, and ends with every event counted once; a
//! file that is not the format fails with a reason and imports nothing.

use checkout_core::ingest::events::{EventsConfig, write_csv};
use checkout_core::ingest::{Estado, IngestPort, Sink, stored_digest};
use checkout_core::store::StoreConfig;

fn stored(dir: &std::path::Path) -> u64 {
    stored_digest(&dir.join("eventos.db"), true).unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_interrupted_by_a_stop_resumes_and_counts_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eventos.csv");
    let cfg = EventsConfig {
        seed: 7,
        repeat_rate: 0.03,
        invalid_rate: 0.01,
        start_us: 1_764_000_000_000_000,
    };
    let (distinct, _) = write_csv(&file, 60_000, cfg).unwrap();
    let data = dir.path().join("sink");
    let sink = Sink::open(&data, StoreConfig::default()).unwrap();
    let id = sink.importar(&file).await.unwrap();
    sink.close();
    let halfway = sink.progresso(id).await;
    drop(sink);
    let before = stored(&data);
    assert!(
        before < distinct,
        "stopped before the end: {before} of {distinct}"
    );
    if let Ok(p) = halfway {
        assert_eq!(p.inseridos, before, "progress counts what is stored");
    }

    let sink = Sink::open(&data, StoreConfig::default()).unwrap();
    let mut updates = 0;
    let end = sink.acompanhar(id, &mut |_| updates += 1).await.unwrap();
    assert_eq!(end.estado, Estado::Concluida, "{end:?}");
    assert_eq!(end.linhas, 60_001);
    assert_eq!(end.inseridos, distinct);
    assert_eq!(end.inseridos + end.repetidos + end.invalidos, 60_000);
    assert!(end.invalidos > 300 && end.repetidos > 1_000, "{end:?}");
    assert!(
        end.erros.iter().all(|e| e.posicao >= 2),
        "line numbers count the header"
    );
    assert!(updates >= 1);
    assert_eq!(stored(&data), distinct);
    assert!(
        !data.join("importacoes").join(format!("{id}.csv")).exists(),
        "the file is removed"
    );
    sink.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_without_the_header_fails_with_a_reason_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.csv");
    std::fs::write(&file, "a;b;c\n1;2;3\n").unwrap();
    let sink = Sink::open(&dir.path().join("sink"), StoreConfig::default()).unwrap();
    let id = sink.importar(&file).await.unwrap();
    let end = sink.acompanhar(id, &mut |_| {}).await.unwrap();
    assert_eq!(end.estado, Estado::Falhou);
    assert!(end.falha.unwrap().contains("header"));
    assert_eq!(stored(&dir.path().join("sink")), 0);
    let again = sink.progresso(id).await.unwrap();
    assert_eq!(again.estado, Estado::Falhou, "the outcome is kept");
    sink.close();
}
