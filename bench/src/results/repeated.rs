//! What repeated measurement adds to the report model: each sweep step's trials and their
//! spread, each target's knee search, and the cross-check against outside load generators.

use serde::{Deserialize, Serialize};

/// One trial of a step: a short measured window of its own, interleaved with the other
/// targets' trials of the same step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Median latency of its successful requests, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// Successful completions per second.
    pub achieved_rps: f64,
    /// Requests meant to start in its window.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
}

/// Median and interval over a step's trials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Trials.
    pub trials: usize,
    /// Of the trials' medians.
    pub p50_us: crate::stats::Interval,
    /// Of the trials' p99s.
    pub p99_us: crate::stats::Interval,
    /// Of the trials' throughputs.
    pub achieved_rps: crate::stats::Interval,
}

/// The search for one target's knee: the highest offered rate within the objective, bracketed
/// by the lowest rate above it that was not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KneeSearch {
    /// Target label.
    pub target: String,
    /// Highest rate found within the objective (none: not even the lowest probed).
    pub knee_rps: Option<f64>,
    /// Lowest rate above it found outside the objective (none: the search never got past it).
    pub above_rps: Option<f64>,
    /// Every rate probed, in order: `[rate, trials within the objective, trials]`.
    pub probes: Vec<[f64; 3]>,
}

/// The cross-check against outside load generators.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Crosscheck {
    /// What could not run, and why (a tool not installed, a driver that failed).
    pub skipped: Vec<String>,
    /// Every measurement, ours beside each outside driver's.
    pub rows: Vec<CrossRow>,
}

/// One driver on one endpoint at one concurrency.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrossRow {
    /// Target label.
    pub target: String,
    /// `catalog listing` or `checkout`.
    pub endpoint: String,
    /// Connections (wrk), streams on one connection (h2load), or clients (ours).
    pub clients: usize,
    /// `wrk`, `h2load` or `ours`.
    pub driver: String,
    /// Successful requests per second.
    pub rps: f64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// CPU of the target's service processes per request, µs.
    pub server_cpu_us: f64,
    /// The driver's own CPU per request, µs.
    pub driver_cpu_us: f64,
    /// Loopback packets per request, every hop and both directions (ACKs included); absent in
    /// runs made before it was counted.
    #[serde(default)]
    pub packets: Option<f64>,
    /// Rounds each figure is the median of (1 in runs made before rounds were alternated).
    #[serde(default = "one")]
    pub rounds: usize,
}

fn one() -> usize {
    1
}

/// The CPU profiles (`--profile-cpu`): one flame graph per networked stack.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CpuProfiles {
    /// Closed-loop checkout clients while sampling.
    pub clients: usize,
    /// Seconds of load per stack.
    pub window_s: f64,
    /// Sampling frequency, Hz.
    pub frequency_hz: u32,
    /// Why no profile was taken (perf missing or not permitted).
    #[serde(default)]
    pub skipped: Option<String>,
    /// One per stack profiled.
    pub profiles: Vec<CpuProfile>,
}

/// One stack's flame graph.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CpuProfile {
    /// Target label.
    pub target: String,
    /// The SVG, relative to the report.
    pub svg: String,
    /// CPU time the samples stand for, seconds (each sample weighs its period).
    pub cpu_s: f64,
}
