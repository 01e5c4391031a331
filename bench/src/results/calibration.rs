//! What the calibration measured: this machine's floor for one checkout, each framework's bare
//! echo, the store's paths and the bulk-insert floor.

use serde::{Deserialize, Serialize};

/// This machine's floor for one checkout.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Calibration {
    /// Median loopback TCP round trip (1-byte ping-pong), µs.
    pub loopback_rtt_us: f64,
    /// Median cost of one SQLite commit with the run's settings, µs.
    pub sqlite_commit_us: f64,
    /// 5 round trips + 5 commits: the least a checkout through five hops can take, µs.
    pub floor_latency_us: f64,
    /// Cores ÷ floor latency: the most checkouts per second this machine could do, were each
    /// checkout nothing but its floor.
    pub floor_rps: f64,
    /// A bare echo of each framework with a hop-sized message: what the transport itself costs.
    #[serde(default)]
    pub echo: Vec<EchoCost>,
    /// The store's write path at light load, with and without the hand-off to the writer
    /// thread, and its read path inline and through the blocking pool.
    #[serde(default)]
    pub store: Vec<StorePath>,
    /// With `--link`: the median round trip across a link that adds nothing (what the proxy
    /// itself costs over `loopback_rtt_us`), µs.
    #[serde(default)]
    pub passthrough_rtt_us: Option<f64>,
    /// With `--link`: the median round trip across the run's link, µs (the floor uses it).
    #[serde(default)]
    pub link_rtt_us: Option<f64>,
    /// The bulk-insert floor: rows/s of the ingestion sink's prepared insert, 50,000 events in
    /// one transaction (what an ingestion can approach and never pass).
    #[serde(default)]
    pub bulk_insert_rows_per_s: Option<f64>,
}

/// One framework's bare echo, client and server in this process, one call at a time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EchoCost {
    /// `grpc`, `rest-h1` or `rest-h2`.
    pub target: String,
    /// Median round trip, µs.
    pub p50_us: f64,
    /// Calls per second, one at a time.
    pub calls_per_s: f64,
    /// Process CPU per call (client + server), µs.
    pub cpu_us_per_call: f64,
}

/// One way through the store, measured one operation at a time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StorePath {
    /// `write inline`, `write hand-off`, `read inline`, `read blocking pool`.
    pub path: String,
    /// Median time per operation as the caller sees it, µs.
    pub p50_us: f64,
    /// Operations per second, one at a time.
    pub ops_per_s: f64,
    /// Process CPU per operation, µs.
    pub cpu_us_per_op: f64,
}
