//! What the ingest scenario measured: every transport × call pattern × clients cell, the import of
//! a large file per transport, and the check that each sink holds exactly what was sent.

use serde::{Deserialize, Serialize};

/// The ingest scenario's results.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ingest {
    /// One per target × pattern × clients, in run order.
    pub cells: Vec<IngestCell>,
    /// The file imports, per target.
    pub imports: Vec<ImportRun>,
    /// Per target: does its sink hold exactly the distinct valid events sent?
    pub verified: Vec<SinkCheck>,
    /// Events per call of each pattern (`unary` 1, `batch` …), as sent.
    pub events_per_call: Vec<(String, usize)>,
}

/// One target × pattern × clients, over interleaved trials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IngestCell {
    /// `inprocess`, `grpc`, `rest-h1`, `rest-h2`.
    pub target: String,
    /// `unary`, `stream`, `batch`, `stream-batches`.
    pub pattern: String,
    /// Clients sending at once.
    pub clients: usize,
    /// Events acknowledged per second, each trial.
    pub trials: Vec<f64>,
    /// Median of `trials`.
    pub events_per_s: f64,
    /// Order-statistic interval of the median (the trials' range with few trials).
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Events acknowledged over all trials.
    pub events: u64,
    /// Emission (stamped by the client as the event goes on the wire) to commit (stamped by the
    /// sink in the write that stores it), over every event stored: median, ms.
    pub latency_p50_ms: f64,
    /// 99th percentile, ms.
    pub latency_p99_ms: f64,
    /// The sink process's CPU per event, µs (`None` in-process).
    pub sink_cpu_us: Option<f64>,
    /// The load generator's process CPU per event, µs (the sink's too, in-process).
    pub client_cpu_us: f64,
    /// Loopback bytes per event (both directions; `None` in-process).
    pub wire_bytes: Option<f64>,
    /// The sink process's resident memory at the end, MiB.
    pub sink_rss_mib: Option<f64>,
    /// Calls that failed.
    pub errors: u64,
}

/// A file imported through one target.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportRun {
    /// Target.
    pub target: String,
    /// Events in the file.
    pub events: u64,
    /// Size of the file.
    pub bytes: u64,
    /// From the upload's start to the import's id (the file stored), s.
    pub accepted_s: f64,
    /// From the upload's start to the import's end, s.
    pub total_s: f64,
    /// Events per second over `total_s`.
    pub events_per_s: f64,
    /// `total_s` ÷ the time the bulk-insert floor takes for `events` rows.
    pub floor_ratio: Option<f64>,
    /// Counts at the end.
    pub inserted: u64,
    /// Repeats counted.
    pub repeated: u64,
    /// Invalid lines counted.
    pub invalid: u64,
    /// Distinct valid events in the file (what `inserted` must be).
    pub expected: u64,
    /// Progress updates the follower received.
    pub updates: u64,
    /// Peak resident memory of a fresh sink process through the import, MiB.
    pub peak_rss_mib: Option<f64>,
}

/// Whether one target's sink holds exactly the distinct valid events sent to it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SinkCheck {
    /// Target.
    pub target: String,
    /// Distinct valid events sent.
    pub expected: u64,
    /// Rows stored.
    pub stored: u64,
    /// The stored rows' digest sum equals the sent events'.
    pub digest_matches: bool,
}
