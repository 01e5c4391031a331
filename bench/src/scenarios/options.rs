//! What the user asked for ([`RunOptions`]) and how `results.json` states it ([`run_config`]):
//! the settings, and the notes the report's Method prints about them.

use std::path::PathBuf;

use checkout_core::admission::Admission;
use checkout_core::store::SyncMode;

use super::profile::{Profile, Scenario};
use crate::cluster::target::{self, TargetKind};
use crate::engine::step::CHAIN_TIMEOUT_MS;
use crate::results::RunConfig;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Profile.
    pub profile: Profile,
    /// Output folder.
    pub out: PathBuf,
    /// Run seed.
    pub seed: u64,
    /// Only these scenarios (all when empty).
    pub scenarios: Vec<String>,
    /// Scenarios outside the profile to run after its own.
    pub also: Vec<String>,
    /// Only these targets (all when empty).
    pub targets: Vec<TargetKind>,
    /// SQLite durability.
    pub sync: SyncMode,
    /// tokio workers of each gRPC service process (0: current-thread runtime), or its serving
    /// threads with `grpc_per_thread`.
    pub grpc_workers: usize,
    /// Each gRPC service process serves on threads of its own, a current-thread runtime each
    /// (`grpc_stack::threads`).
    pub grpc_per_thread: bool,
    /// actix workers of each REST service process.
    pub rest_workers: usize,
    /// What each service admits.
    pub admission: Admission,
    /// A CPU hog spins on every core for the whole run.
    pub busy: bool,
    /// How idle cores wait through the run: poll (the default) or as the machine sets them.
    pub idle: crate::cluster::idle::IdlePolicy,
    /// gRPC connections and the REST servers' HTTP/2 ones coalesce their writes
    /// ([`checkout_core::coalesce`]).
    pub coalesce: bool,
    /// Each service process owns its database (SQLite's locks in its memory); false: file locks.
    pub owned_db: bool,
    /// Every hop of the networked stacks crosses a link shaped so (None: plain loopback).
    pub link: Option<crate::cluster::link::LinkProfile>,
    /// Every networked hop over TLS (None: in the clear).
    pub tls: Option<crate::cluster::supervisor::TlsFlags>,
    /// Stacks running elsewhere (`--target-addr`), by kind, with Orders' and Catalog's
    /// addresses: driven instead of started here.
    pub remote: Vec<(TargetKind, std::net::SocketAddr, std::net::SocketAddr)>,
}

/// The settings of the run, as `results.json` states them.
pub(super) fn run_config(
    opts: &RunOptions,
    labels: &[TargetKind],
    scenarios: &[Scenario],
    idle: &crate::cluster::idle::IdleHold,
) -> RunConfig {
    // Read once: the record and the Method's note state the same share.
    let polled = idle.polled_share();
    RunConfig {
        profile: opts.profile.name.into(),
        seed: opts.seed,
        build_profile: if cfg!(debug_assertions) { "debug" } else { "release" }.into(),
        sqlite_synchronous: opts.sync.as_str().into(),
        sqlite_journal: "WAL".into(),
        approval_rate: 0.9,
        chain_timeout_ms: CHAIN_TIMEOUT_MS,
        warmup_s: opts.profile.warmup.as_secs_f64(),
        step_s: opts.profile.step.as_secs_f64(),
        trials: opts.profile.trials,
        trial_warmup_s: opts.profile.trial_warmup.as_secs_f64(),
        trial_s: opts.profile.trial.as_secs_f64(),
        trial_requests: opts.profile.trial_requests,
        slo_p99_ms: opts.profile.slo_p99.as_secs_f64() * 1000.0,
        grpc_worker_threads: opts.grpc_workers,
        grpc_runtime: if opts.grpc_per_thread {
            "per-thread"
        } else {
            "shared"
        }
        .into(),
        rest_workers: opts.rest_workers,
        admission: opts.admission.to_string(),
        busy: opts.busy,
        idle: idle.label(),
        idle_polled_share: polled,
        coalesce: opts.coalesce,
        generator_nice: crate::engine::driver::nice().ok(),
        link: opts.link.as_ref().map(|l| l.name.clone()),
        tls: opts.tls.as_ref().map(|t| t.label().to_string()),
        targets: labels.iter().map(|l| l.to_string()).collect(),
        scenarios: scenarios.iter().map(|s| s.name.to_string()).collect(),
        data: "50 customers, 30 products (1,000 for catalog-1000), 100 historical orders; generated with the run seed".into(),
        notes: vec![
            format!("every product's stock topped up by {} units before the run, so the sweep never sells out (out-of-stock behaviour is covered by the conformance tests)", target::STOCK_TOP_UP),
            "each networked stack runs six OS processes (one per service); the in-process target runs inside the load generator's process".into(),
            "the networked targets' clients run on one thread of the load generator, a current-thread tokio runtime of their own (a request and its connection's tasks wake each other on one thread); the in-process target runs on the load generator's two-worker runtime".into(),
            "the load generator shares the machine's cores with the services; its own CPU is reported as `loadgen`".into(),
            match crate::engine::driver::nice() {
                Ok(n) => format!("the networked targets' client thread ran at nice {n}, the services at 0: on the cores it shares with them it begins each request when it is due instead of behind their work (it spends the same CPU; the cross-check's outside drivers ran at the same priority)"),
                Err(e) => format!("the networked targets' client thread ran at the services' priority (raising it failed: {e}): under load it may begin requests late, as the bench lag column shows"),
            },
            "an open-loop target that misses its offered rate by 20% or its p99 objective tenfold is not driven at twice that rate or more, nor at all after a second such rate".into(),
            format!("every service admits as `{}` says (static:N: at most N forward requests in flight; adaptive: a gradient limit; off: everything); the overload-unshed scenario runs copies that admit everything", opts.admission),
        ]
        .into_iter()
        .chain(std::iter::once(if opts.coalesce {
            "gRPC connections (the bench's client, the services' next-hop clients and their servers) and the REST servers' HTTP/2 connections hold what one poll of a connection writes and send it as one segment: stock tonic sends a unary request's HEADERS and its DATA in two, and a reply's trailers apart from its DATA, so each side wakes twice per call; actix sends a reply's closing empty DATA frame apart when its body was not written in the same poll; reqwest, whose connection takes no wrapper, still sends a request's HEADERS and DATA apart (`--coalesce off` measures stock tonic and actix)".to_string()
        } else {
            "gRPC and REST/2 connections wrote as stock tonic and actix do (`--coalesce off`): a unary request's HEADERS and DATA in two segments, a reply's trailers (gRPC) or closing empty DATA frame (actix) apart from its DATA".to_string()
        }))
        .chain(std::iter::once(if opts.owned_db {
            "each service process owned its database: SQLite took its locks in the process's memory (the `unix-excl` VFS) instead of with an `fcntl` call or more per transaction; replicas sharing a database (the scaling scenario's) took the file locks (`--sqlite-locks file` measures file locks everywhere)".to_string()
        } else {
            "every database took SQLite's file locks (`--sqlite-locks file`): an `fcntl` call or more per transaction, as when several processes share a database".to_string()
        }))
        .chain(std::iter::once(idle_note(idle, polled)))
        .chain(opts.busy.then(|| "busy machine: a separate process spun one thread per core for the whole run (calibration included), competing with the services and the load generator".to_string()))
        .chain(opts.remote.iter().map(|(k, o, c)| format!("{k} ran elsewhere (Orders {o}, Catalog {c}), started with the stack's own `serve` and the run's seed: driven only — the sweeps of the seed's catalog; its processes' CPU and memory, its core meters and its audit are not measured from here; the floor is this machine's, and so is the idle policy the bench holds (that machine's cores idle as it sets them)")))
        .chain(opts.tls.as_ref().map(|t| format!("every hop of the networked stacks (the load generator's calls to Orders and Catalog included) ran over {} 1.3 (rustls, `ring`; a CA of the run's own, one certificate for the chain, sessions kept on long-lived connections); the calibration's floor and framework echoes ran in the clear", t.label())))
        .chain(opts.link.as_ref().map(|l| format!("every hop of the networked stacks (client → Orders included) crossed a link shaped as `{}` ({:?} one way, jitter {:?}, rate {}, stalls {:.2}% of {:?}): a TCP proxy per service in the bench's process, whose CPU counts as the load generator's; in-process has no hops", l.name, l.delay, l.jitter, l.rate_bps.map_or_else(|| "uncapped".to_string(), |b| format!("{:.0} Mbit/s", b as f64 / 1e6)), 100.0 * l.stall_rate, l.stall)))
        .collect(),
    }
}

/// What the run's idle cores did, for the Method's notes.
fn idle_note(idle: &crate::cluster::idle::IdleHold, polled: Option<f64>) -> String {
    let polled = polled.map_or(String::new(), |p| {
        format!(
            "; {:.0}% of the cores' idle time was spent polling",
            100.0 * p
        )
    });
    if idle.polling() {
        format!(
            "idle cores polled instead of halting: the bench held a PM QoS request of 0 µs wake-up latency (`/dev/cpu_dma_latency`, as cyclictest does) from calibration to the last step, so work arriving at an idle core is not charged with waking it (on a virtual machine, an exit to the host and back){polled}; `--idle machine` measures with the machine's own idle policy"
        )
    } else if let Some(why) = &idle.failed {
        format!(
            "idle cores waited as the machine sets them: polling was asked for but the wake-up latency request could not be held ({why}), so a hop that wakes an idle core pays for it{polled}"
        )
    } else {
        format!(
            "idle cores waited as the machine sets them (`--idle machine`): a hop that wakes an idle core pays for it{polled}"
        )
    }
}
