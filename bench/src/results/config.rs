//! How a run was set up and where: the settings `results.json` states (`config`) and the
//! machine it ran on.

use serde::{Deserialize, Serialize};

/// Settings of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunConfig {
    /// Profile name (`smoke`, `default`, `full`).
    pub profile: String,
    /// Run seed: data, request sequence and simulated outcomes.
    pub seed: u64,
    /// Build profile of the measuring binary (`release` or `debug`).
    pub build_profile: String,
    /// SQLite `synchronous` setting of every service.
    pub sqlite_synchronous: String,
    /// SQLite journal mode.
    pub sqlite_journal: String,
    /// Payment approval rate.
    pub approval_rate: f64,
    /// Deadline of the whole chain, ms.
    pub chain_timeout_ms: u64,
    /// Warm-up discarded at the start of each fault step, seconds.
    pub warmup_s: f64,
    /// Measured duration of the slow-service step, seconds.
    pub step_s: f64,
    /// Interleaved trials of every sweep step (0 in runs made before trials: one window each).
    #[serde(default)]
    pub trials: usize,
    /// Warm-up discarded at the start of each trial, seconds.
    #[serde(default)]
    pub trial_warmup_s: f64,
    /// Measured window of each trial, seconds.
    #[serde(default)]
    pub trial_s: f64,
    /// Fewest requests an open-loop trial holds: at a light rate its window is that much longer
    /// (0: no minimum).
    #[serde(default)]
    pub trial_requests: u64,
    /// p99 objective that defines the knee, ms.
    pub slo_p99_ms: f64,
    /// tokio worker threads of each gRPC service process (0: a current-thread runtime).
    pub grpc_worker_threads: usize,
    /// How each gRPC service process ran its calls: `per-thread` (that many threads, a
    /// current-thread runtime each, with its share of the connections) or `shared` (one runtime
    /// with that many workers); empty in runs made before the choice existed (shared).
    #[serde(default)]
    pub grpc_runtime: String,
    /// actix workers of each REST service process.
    pub rest_workers: usize,
    /// What each service admitted (`static:256`, `adaptive`, `off`); empty in runs made before
    /// admission control.
    #[serde(default)]
    pub admission: String,
    /// A CPU hog spun on every core for the whole run.
    #[serde(default)]
    pub busy: bool,
    /// How idle cores waited: `poll` (a 0 µs wake-up latency request held for the run),
    /// `machine`, or `machine (why polling could not be had)`; empty in runs made before the
    /// choice (the machine's).
    #[serde(default)]
    pub idle: String,
    /// The share of the cores' idle time spent in cpuidle's polling state over the run; none
    /// where the kernel lists no idle states, or in older runs.
    #[serde(default)]
    pub idle_polled_share: Option<f64>,
    /// gRPC connections (and, since they could, the REST servers' HTTP/2 ones) coalesced their
    /// writes (false in runs made before they could).
    #[serde(default)]
    pub coalesce: bool,
    /// The nice value the networked targets' client thread ran at (the services at 0); none: at
    /// the services' priority, or a run made before it was raised.
    #[serde(default)]
    pub generator_nice: Option<i32>,
    /// The link profile every networked hop crossed (`--link`); none: plain loopback.
    #[serde(default)]
    pub link: Option<String>,
    /// `TLS` or `mutual TLS` when every networked hop ran over it (`--tls`, `--mtls`); none: in
    /// the clear.
    #[serde(default)]
    pub tls: Option<String>,
    /// Targets measured.
    pub targets: Vec<String>,
    /// Scenarios run.
    pub scenarios: Vec<String>,
    /// Customers, products and orders of the generated data.
    pub data: String,
    /// Free-form notes on method (stock top-up, processes, ...).
    pub notes: Vec<String>,
}

/// The machine.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name.
    pub cpu_model: String,
    /// Logical cores.
    pub cores: usize,
    /// Total memory, MiB.
    pub memory_mib: u64,
    /// Kernel release.
    pub kernel: String,
    /// OS name.
    pub os: String,
}
