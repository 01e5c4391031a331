//! What the calibration measured: this machine's floor for one checkout, each framework's bare
//! echo, the store's paths and the bulk-insert floor.

use serde::{Deserialize, Serialize};

/// This machine's floor for one checkout.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Calibration {
    /// Median loopback TCP round trip (1-byte ping-pong) between two threads pinned to one core,
    /// µs: the least a round trip costs here (no other core wakes), and the floor's. Unpinned
    /// (the runtime's tasks wherever its workers ran) when `loopback_rtt_pinned` is false.
    pub loopback_rtt_us: f64,
    /// Whether `loopback_rtt_us` was measured pinned to one core.
    #[serde(default)]
    pub loopback_rtt_pinned: bool,
    /// The same round trip between threads pinned to two cores, µs: each direction wakes the
    /// other core, as a hop between processes does when the scheduler wakes the callee on an
    /// idle core. None when this process may run on one core only, or may not pin its threads.
    #[serde(default)]
    pub cross_core_rtt_us: Option<f64>,
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
    /// With `--link`: the median direct round trip measured as the two across the proxy are
    /// (tasks of the bench's runtime, unpinned), µs.
    #[serde(default)]
    pub link_direct_rtt_us: Option<f64>,
    /// With `--link`: the median round trip across a link that adds nothing (what the proxy
    /// itself costs over `link_direct_rtt_us`), µs.
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

impl Calibration {
    /// The round trip a hop between the services' processes pays at light load: across cores
    /// when measured (the scheduler wakes a process on an idle core), else the one measured, µs.
    pub fn hop_rtt_us(&self) -> f64 {
        self.cross_core_rtt_us.unwrap_or(self.loopback_rtt_us)
    }

    /// The round trips measured, in words: "X µs across cores, Y µs on one core", or the one.
    pub fn rtt_words(&self) -> String {
        match (self.cross_core_rtt_us, self.loopback_rtt_pinned) {
            (Some(x), true) => format!(
                "{x:.0} µs across cores, {:.1} µs on one core",
                self.loopback_rtt_us
            ),
            _ => format!("{:.0} µs", self.loopback_rtt_us),
        }
    }
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
