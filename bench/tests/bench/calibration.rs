//! The calibration every run starts with: each framework's bare echo answers and is costed, and
//! the store's four paths are each measured.

use bench::scenarios::calibrate::{framework_echo, store_paths};
use checkout_core::store::SyncMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_framework_echo_answers_and_is_costed() {
    let echo = framework_echo(50).await.unwrap();
    let labels: Vec<&str> = echo.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(labels, ["grpc", "rest-h1", "rest-h2", "tcp"]);
    for e in &echo {
        assert!(
            e.p50_us > 0.0 && e.calls_per_s > 0.0 && e.cpu_us_per_call > 0.0,
            "{e:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_paths_are_each_measured() {
    let dir = tempfile::tempdir().unwrap();
    let paths = store_paths(dir.path(), SyncMode::Normal, 50).await.unwrap();
    let labels: Vec<&str> = paths.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        labels,
        [
            "write inline",
            "read inline",
            "read blocking pool",
            "write hand-off"
        ]
    );
    for p in &paths {
        assert!(p.p50_us > 0.0 && p.ops_per_s > 0.0, "{p:?}");
    }
    // The databases it made are gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
