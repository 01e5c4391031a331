//! The one report model: everything a run measured, serialised as `results.json`, and the only
//! input of the Markdown, HTML and chart renderers (and of `compare`).

use std::collections::BTreeMap;

use checkout_core::audit::Violation;
use serde::{Deserialize, Serialize};

mod calibration;
mod config;
pub mod ingest;
mod repeated;

pub use calibration::{Calibration, EchoCost, StorePath};
pub use config::{Machine, RunConfig};
pub use repeated::*;

/// A whole benchmark run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Format version of this file.
    pub schema_version: u32,
    /// When the run started (UTC, RFC 3339).
    pub started_at: String,
    /// Wall time of the whole run, seconds.
    pub duration_s: f64,
    /// Settings of the run.
    pub config: RunConfig,
    /// The machine it ran on.
    pub machine: Machine,
    /// Versions of what was measured.
    pub versions: BTreeMap<String, String>,
    /// This machine's physical floor, measured at the start of the run.
    pub calibration: Calibration,
    /// One item per scenario × target × step.
    pub runs: Vec<Run>,
    /// The audit of every target's six databases after the run.
    pub audit: Audit,
    /// The thresholds CI holds the run to, and whether each held.
    pub checks: Vec<Check>,
    /// Where the time goes: the core's cost against the transport's (derived from the runs).
    #[serde(default)]
    pub cost: Option<crate::report::cost::CostSummary>,
    /// Each stack's complexity, measured from the source tree the bench was built from (absent
    /// when that tree was not there).
    #[serde(default)]
    pub complexity: Option<Vec<crate::report::complexity::StackComplexity>>,
    /// Each target's knee, found by search (absent when the profile does not search).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub knees: Vec<KneeSearch>,
    /// Our engine against wrk and h2load on the same endpoints (when the scenario ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crosscheck: Option<Crosscheck>,
    /// Steps run behind a layer-4 balancer: connections it handed each replica, by run id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub balanced: BTreeMap<String, Vec<u64>>,
    /// Per run of the links scenario: connections each service's links carried over the copy's
    /// life, by service.
    #[serde(default)]
    pub link_connections: BTreeMap<String, Vec<(String, u64)>>,
    /// The ingest scenario, when it ran.
    #[serde(default)]
    pub ingest: Option<ingest::Ingest>,
    /// The CPU profiles, when asked for (`--profile-cpu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_profiles: Option<CpuProfiles>,
}

/// Latency summary, µs, measured from each request's intended start.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// One bin of a fault step's fine timeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bin {
    /// Start of the bin, seconds since the measured window began.
    pub t_s: f64,
    /// Requests that ended in the bin (errors included).
    pub completed: u64,
    /// Of which errors.
    pub errors: u64,
    /// p99 of the successful ones, µs (0 when none).
    pub p99_us: f64,
}

/// One second of a step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the measured window began.
    pub t: u32,
    /// Requests completed in this second.
    pub completed: u64,
    /// Of which errors.
    pub errors: u64,
    /// p99 of the requests completed in this second, µs.
    pub p99_us: f64,
}

/// CPU and memory of one process during a step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessUsage {
    /// Service name, or `loadgen`.
    pub process: String,
    /// CPU use, percent of one core, averaged over the step.
    pub cpu_pct: f64,
    /// CPU time per request sent during the step (warm-up included, as the CPU is), µs.
    pub cpu_us_per_request: f64,
    /// Peak resident memory, MiB.
    pub rss_mib_max: f64,
}

/// What one service's core (storage work: SQL and commits, timed inside the core) cost per
/// request during a step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoreUsage {
    /// Service name.
    pub service: String,
    /// CPU time of the core's storage work per request, µs.
    pub core_cpu_us_per_request: f64,
    /// Writes per request.
    pub writes_per_request: f64,
    /// Transactions committed per request (below writes when group commit batches them).
    pub commits_per_request: f64,
    /// Share of commits made inline by the caller, without a hand-off to the writer thread.
    pub inline_commit_share: f64,
}

/// Little's law on a step: mean requests in flight vs achieved rate × mean latency.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct LittlesLaw {
    /// Mean requests in flight, sampled.
    pub in_flight_mean: f64,
    /// Achieved rate × mean latency.
    pub predicted: f64,
    /// Within 25% (or 0.5 requests).
    pub holds: bool,
}

/// One scenario × target × step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// Unique id (`scenario/target/step`), also the histogram file name.
    pub id: String,
    /// Scenario (`checkout-open`, `checkout-closed`, `catalog-30`, `catalog-1000`).
    pub scenario: String,
    /// `grpc`, `rest` or `inprocess`.
    pub transport: String,
    /// HTTP version for REST (`1.1` or `2`), `2` for gRPC, none in-process.
    pub http_version: Option<String>,
    /// Target label: `inprocess`, `grpc`, `rest-h1`, `rest-h2`.
    pub target: String,
    /// Step index within the scenario.
    pub step: usize,
    /// Offered rate (open loop); null in closed loop.
    pub offered_rps: Option<f64>,
    /// Clients in flight (closed loop); null in open loop.
    pub concurrency: Option<usize>,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Successful completions per second in the window.
    pub achieved_rps: f64,
    /// Requests meant to start in the window (including errors and late finishers).
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// Errors by kind.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Business outcomes of successful checkouts (`enviado`, `cancelado`).
    pub outcomes: BTreeMap<String, u64>,
    /// Latency of successful requests, µs.
    pub latency_us: Latency,
    /// Per-second series.
    pub timeline: Vec<Second>,
    /// Fault steps only: the same series in bins of 100 ms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fine_timeline: Vec<Bin>,
    /// CPU and RSS of every service process and of the load generator.
    pub resources: Vec<ProcessUsage>,
    /// The core's own storage work per service (the rest of a process's CPU is transport,
    /// framework, runtime and kernel).
    #[serde(default)]
    pub core: Vec<CoreUsage>,
    /// Loopback bytes (all hops, both directions, TCP/IP headers included) per request.
    pub wire_bytes_per_request: Option<f64>,
    /// Loopback packets (TCP segments, ACKs included; all hops, both directions) per request;
    /// absent in runs made before they were counted.
    #[serde(default)]
    pub wire_packets_per_request: Option<f64>,
    /// Little's law check.
    pub littles_law: LittlesLaw,
    /// Open loop: mean and largest delay between a request's intended start and its dispatch,
    /// µs (the generator's own lateness, included in the latency as coordinated-omission
    /// correction requires).
    pub generator_lag_us: (f64, f64),
    /// p99 of how late the step's requests began past their intended start, µs: the load
    /// generator's own lag as each request's task saw it (the dispatcher's lag above is part of
    /// it; the target did nothing yet). The worst trial's when the step ran as trials; none in
    /// runs made before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_lag_p99_us: Option<f64>,
    /// p50 as a multiple of the calibrated floor.
    pub p50_floor_ratio: f64,
    /// What a fault scenario did and how the target came through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// Sweep steps: each of the step's interleaved trials (the figures above pool them all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trials: Vec<Trial>,
    /// Sweep steps: median and interval of the trials' figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
    /// A rate the knee search probed for this target alone (not one of the sweep's shared rates).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub probe: bool,
}

/// A fault injected during a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// `kill`, `slow` or `overload`.
    pub kind: String,
    /// The service affected (none for overload).
    pub service: Option<String>,
    /// What was done, in words.
    pub detail: String,
    /// Start and end of the outage, the slowness or the overload, seconds from the window's start.
    pub window_s: [f64; 2],
    /// Errors of requests meant to start inside that window.
    pub errors_during: u64,
    /// From the end of the fault until every later request succeeded (kill), or until the first
    /// full second (searched in 100 ms steps) back at the calm rate, error-free, with p99 within
    /// twice the pre-burst second's (overload), ms; null when that never happened in the step.
    pub recovery_ms: Option<f64>,
    /// Requests whose latency exceeded the deadline (chain deadline + 1 s): should be zero.
    pub outlived_deadline: u64,
    /// For a slow service: throughput at the same concurrency without the slowness, if measured.
    pub baseline_rps: Option<f64>,
    /// Compensations owed by the services (all outboxes), sampled every 250 ms through the step:
    /// `[seconds from the window's start, owed]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backlog: Vec<[f64; 2]>,
    /// Overload only: how the burst was absorbed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shedding: Option<Shedding>,
}

/// How a target absorbed an overload burst.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Shedding {
    /// What its services admitted (`static:256`, `adaptive`, `off`).
    pub admission: String,
    /// Requests offered per second during the burst.
    pub offered_rps: f64,
    /// Successful checkouts completed per second during the burst.
    pub goodput_rps: f64,
    /// The target's closed-loop peak in this run (checkouts/s), if measured.
    pub peak_rps: Option<f64>,
    /// p99 latency of those refusals, ms.
    pub refusal_p99_ms: Option<f64>,
    /// p99 of the refusals the target's services made (the request was sent), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_refusal_p99_ms: Option<f64>,
    /// p99 of the refusals the bench's own client made (nothing sent), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_refusal_p99_ms: Option<f64>,
    /// p99 of how late the step's requests began past their intended start, ms: the load
    /// generator's own lag, part of every latency (refusals included) and nothing the target did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_lag_p99_ms: Option<f64>,
    /// p99 of the second before the burst, ms: what recovery is measured against.
    pub before_p99_ms: f64,
    /// Of the refusals, those the bench's own client to Orders made locally (nothing sent):
    /// throttled once Orders had been refusing, or its lane to Orders full; the rest came from
    /// the services. None in-process (no client) and in runs made before throttling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled: Option<u64>,
}

impl Run {
    /// The trials' values of one figure (`pick`), or the pooled figure alone when the step ran
    /// as one trial.
    pub fn trial_values(&self, pick: impl Fn(&Trial) -> f64) -> Vec<f64> {
        if self.trials.is_empty() {
            vec![pick(&Trial {
                p50_us: self.latency_us.p50,
                p99_us: self.latency_us.p99,
                achieved_rps: self.achieved_rps,
                requests: self.requests,
                errors: self.errors,
            })]
        } else {
            self.trials.iter().map(pick).collect()
        }
    }

    /// Requests refused for overload (`overloaded`) in the step.
    pub fn refused(&self) -> u64 {
        self.errors_by_kind.get("overloaded").copied().unwrap_or(0)
    }
}

impl Shedding {
    /// Goodput during the burst over what the target could have served: its closed-loop peak,
    /// or the offered rate when that is lower. `None` without a measured peak.
    pub fn share_of_attainable(&self) -> Option<f64> {
        let attainable = self.peak_rps?.min(self.offered_rps);
        Some(self.goodput_rps / attainable.max(1.0))
    }
}

/// The audit after the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Audit {
    /// No violation on any target.
    pub clean: bool,
    /// Orders audited per target.
    pub orders: BTreeMap<String, i64>,
    /// Every violation found, with the target it was found on.
    pub violations: Vec<TargetViolation>,
    /// Per target, how long owed compensations took to land before the audit, ms (the wait is
    /// capped at `settle_limit_s`).
    pub settle_ms: BTreeMap<String, u64>,
    /// Longest settling wait, seconds.
    pub settle_limit_s: f64,
    /// Targets whose databases were not read: stacks running elsewhere (`--target-addr`).
    #[serde(default)]
    pub not_audited: Vec<String>,
}

/// A violation on one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetViolation {
    /// Target label.
    pub target: String,
    /// What was broken.
    #[serde(flatten)]
    pub violation: Violation,
}

/// A threshold the run is held to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Whether it held (true when it does not apply).
    pub passed: bool,
    /// False when the run had nothing it could be held to (e.g. no fault scenario ran).
    #[serde(default = "applicable")]
    pub applicable: bool,
    /// What was found.
    pub detail: String,
}

fn applicable() -> bool {
    true
}

impl Check {
    /// A check that applied: whether it held, and what was found.
    pub fn held(name: &str, passed: bool, detail: String) -> Self {
        Self {
            name: name.into(),
            passed,
            applicable: true,
            detail,
        }
    }

    /// A check this run gives nothing to hold to, and says why.
    pub fn not_applicable(name: &str, why: &str) -> Self {
        Self {
            name: name.into(),
            passed: true,
            applicable: false,
            detail: format!("not applicable: {why}"),
        }
    }
}

impl Results {
    /// Runs of one scenario and target, in step order.
    pub fn series<'a>(
        &'a self,
        scenario: &str,
        target: &str,
    ) -> impl Iterator<Item = &'a Run> + use<'a> {
        let (scenario, target) = (scenario.to_owned(), target.to_owned());
        self.runs
            .iter()
            .filter(move |r| r.scenario == scenario && r.target == target)
    }

    /// Targets in the order they were configured.
    pub fn targets(&self) -> &[String] {
        &self.config.targets
    }
}
