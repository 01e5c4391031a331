//! Small hand-made results for the report's tests (checks, cost, compare).

use crate::results::*;

/// One step of `target` in `scenario`: open loop at `offered` or closed with `clients`,
/// achieving what it was offered (or 1,000/s closed), with median `p50` µs.
pub fn run(
    scenario: &str,
    target: &str,
    offered: Option<f64>,
    clients: Option<usize>,
    p50: f64,
) -> Run {
    Run {
        id: format!("{scenario}-{target}-{offered:?}-{clients:?}"),
        scenario: scenario.into(),
        transport: target.split('-').next().unwrap_or(target).into(),
        http_version: None,
        target: target.into(),
        step: 0,
        offered_rps: offered,
        concurrency: clients,
        duration_s: 1.0,
        achieved_rps: offered.unwrap_or(1000.0),
        requests: 100,
        errors: 0,
        errors_by_kind: Default::default(),
        outcomes: Default::default(),
        latency_us: Latency {
            p50,
            p90: p50,
            p99: 2.0 * p50,
            p999: 2.0 * p50,
            max: 3.0 * p50,
            mean: p50,
        },
        timeline: Vec::new(),
        fine_timeline: Vec::new(),
        resources: Vec::new(),
        core: Vec::new(),
        wire_bytes_per_request: None,
        wire_packets_per_request: None,
        littles_law: LittlesLaw::default(),
        generator_lag_us: (0.0, 0.0),
        start_lag_p99_us: None,
        p50_floor_ratio: 1.0,
        fault: None,
        trials: Vec::new(),
        spread: None,
        probe: false,
    }
}

/// A run of `targets` made of `runs`.
pub fn results(targets: &[&str], runs: Vec<Run>) -> Results {
    Results {
        schema_version: 1,
        started_at: "t".into(),
        duration_s: 1.0,
        config: RunConfig {
            profile: "smoke".into(),
            seed: 1,
            build_profile: "release".into(),
            sqlite_synchronous: "NORMAL".into(),
            sqlite_journal: "WAL".into(),
            approval_rate: 0.9,
            chain_timeout_ms: 5000,
            warmup_s: 0.1,
            step_s: 1.0,
            trials: 5,
            trial_warmup_s: 0.1,
            trial_s: 0.4,
            trial_requests: 0,
            slo_p99_ms: 50.0,
            grpc_worker_threads: 2,
            grpc_runtime: "per-thread".into(),
            rest_workers: 2,
            admission: "static:256".into(),
            busy: false,
            idle: "poll".into(),
            idle_polled_share: Some(0.99),
            coalesce: true,
            generator_nice: Some(-10),
            link: None,
            tls: None,
            targets: targets.iter().map(|t| t.to_string()).collect(),
            scenarios: vec!["checkout-open".into()],
            data: String::new(),
            notes: Vec::new(),
        },
        machine: Machine::default(),
        versions: Default::default(),
        calibration: Calibration {
            floor_latency_us: 100.0,
            ..Default::default()
        },
        runs,
        audit: Audit {
            clean: true,
            ..Default::default()
        },
        checks: Vec::new(),
        cost: None,
        complexity: None,
        knees: Vec::new(),
        crosscheck: None,
        balanced: Default::default(),
        link_connections: Default::default(),
        ingest: None,
        cpu_profiles: None,
    }
}
