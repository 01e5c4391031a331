//! The calibration every run starts with: the round trip on one core and across two, each
//! framework's bare echo answers and is costed, and the store's four paths are each measured.

use bench::scenarios::calibrate::{Placement, framework_echo, pinned_rtt_us, store_paths};
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

#[test]
fn the_round_trip_is_measured_on_one_core_and_across_two_without_pinning_the_caller() {
    let mask = || {
        let set = rustix::thread::sched_getaffinity(None).unwrap();
        (0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|&c| set.is_set(c))
            .collect::<Vec<_>>()
    };
    let before = mask();
    let allowed = before.len();
    let one = pinned_rtt_us(Placement::OneCore, 50).unwrap();
    let across = pinned_rtt_us(Placement::AcrossCores, 50).unwrap();
    assert!(one.is_some_and(|v| v > 0.0), "{one:?}");
    // Across cores needs two to run on; with one it says so by measuring nothing.
    assert_eq!(
        across.is_some(),
        allowed >= 2,
        "{across:?} with {allowed} cores"
    );
    assert!(across.is_none_or(|v| v > 0.0), "{across:?}");
    // The threads pinned were the calibration's own: this one may still run where it could.
    assert_eq!(mask(), before);
}
