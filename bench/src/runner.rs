//! The main job: calibrate, generate data, bring every target up, run each scenario's steps on
//! every target in turn (rotating the order so drift affects all alike), audit, and hand the
//! measurements to the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use checkout_core::store::{StoreConfig, SyncMode};
use checkout_core::*;
use hdrhistogram::Histogram;

use crate::faults::{self, FaultCtx};
use crate::load::Mode;
use crate::profile::{Profile, Request, Shape};
use crate::progress::Progress;
use crate::results::*;
use crate::step::{CHAIN_TIMEOUT_MS, StepSpec, TargetInfo, measure_step};
use crate::supervisor::NodeFlags;
use crate::target::{self, Target};
use crate::workload::{Call, CatalogCall, CheckoutCall, Workload};

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
    /// Only these targets (all when empty).
    pub targets: Vec<String>,
    /// SQLite durability.
    pub sync: SyncMode,
    /// tokio workers of each gRPC service process (0: current-thread runtime).
    pub grpc_workers: usize,
    /// actix workers of each REST service process.
    pub rest_workers: usize,
}

/// Everything a run measured, before it is rendered.
pub struct Measured {
    /// The report model.
    pub results: Results,
    /// Raw histogram of each run, by run id.
    pub histograms: BTreeMap<String, Histogram<u64>>,
}

/// Longest wait for outboxes to drain before the audit.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(20);

/// Audits one target's databases into `audit`.
fn audit_target(key: &str, dir: &Path, audit: &mut Audit) -> anyhow::Result<()> {
    let report = checkout_core::audit::audit(dir)?;
    audit.orders.insert(key.to_owned(), report.orders);
    for v in report.violations {
        audit.clean = false;
        audit.violations.push(TargetViolation {
            target: key.to_owned(),
            violation: v,
        });
    }
    Ok(())
}

/// The knee of `target` from the open-loop steps run so far (highest offered rate within the
/// objective); without one, 80% of its closed-loop peak; without that, 500/s.
pub fn knee_so_far(runs: &[Run], target: &str, profile: &Profile) -> f64 {
    crate::report::facts::knee_in(runs, target, profile.slo_p99.as_secs_f64() * 1000.0)
        .or_else(|| {
            runs.iter()
                .filter(|r| r.scenario == "checkout-closed" && r.target == target)
                .map(|r| 0.8 * r.achieved_rps)
                .reduce(f64::max)
        })
        .unwrap_or(500.0)
}

/// Waits until no compensation is owed and no order is `pendente` in `dir`, at most `limit`;
/// returns how long it took.
pub async fn settle(dir: &Path, limit: Duration) -> Duration {
    let started = Instant::now();
    let dir = dir.to_owned();
    loop {
        let d = dir.clone();
        let pending =
            tokio::task::spawn_blocking(move || checkout_core::audit::owed_work(&d)).await;
        if matches!(pending, Ok(Ok(0))) || started.elapsed() >= limit {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the whole benchmark.
pub async fn run(opts: RunOptions) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339();
    let work = opts.out.join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let machine = crate::procfs::machine();
    let mut progress = Progress::new();
    progress.line(&format!(
        "calibrating the floor ({} cores, {})",
        machine.cores, machine.cpu_model
    ));
    let calibration = crate::calibrate::calibrate(&work, opts.sync, machine.cores).await?;
    progress.line(&format!(
        "floor: loopback RTT {:.1} µs, SQLite commit {:.1} µs → {:.0} µs per checkout",
        calibration.loopback_rtt_us, calibration.sqlite_commit_us, calibration.floor_latency_us
    ));

    let labels: Vec<&'static str> = target::LABELS
        .into_iter()
        .filter(|l| opts.targets.is_empty() || opts.targets.iter().any(|t| t == l))
        .collect();
    let scenarios: Vec<_> = opts
        .profile
        .scenarios
        .iter()
        .filter(|s| opts.scenarios.is_empty() || opts.scenarios.iter().any(|n| n == s.name))
        .cloned()
        .collect();
    anyhow::ensure!(
        !labels.is_empty(),
        "no target selected (choose from {:?})",
        target::LABELS
    );
    anyhow::ensure!(!scenarios.is_empty(), "no scenario selected");

    let store = StoreConfig {
        sync: opts.sync,
        ..StoreConfig::default()
    };
    let flags = NodeFlags {
        seed: opts.seed,
        sync: opts.sync.as_str().to_ascii_lowercase(),
        approval_rate: 0.9,
        chain_timeout_ms: CHAIN_TIMEOUT_MS,
        grpc_workers: opts.grpc_workers,
        rest_workers: opts.rest_workers,
        work: Vec::new(),
    };
    let mut env = ServiceEnv::new(&work);
    env.store = store;
    env.sim = Arc::new(Simulation::with_seed(opts.seed));
    env.chain_timeout = Duration::from_millis(CHAIN_TIMEOUT_MS);

    let total_steps: usize =
        scenarios.iter().map(|s| s.shape.steps()).sum::<usize>() * labels.len();
    progress.set_total(total_steps);

    let mut runs = Vec::new();
    let mut histograms = BTreeMap::new();
    let mut audit = Audit {
        clean: true,
        ..Default::default()
    };
    let deadline = Duration::from_millis(CHAIN_TIMEOUT_MS + 1000);

    let mut sizes: Vec<usize> = scenarios.iter().map(|s| s.products).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for products in sizes {
        let seed_db = target::seed_database(&work, opts.seed, products)?;
        let mut targets: Vec<Target> = Vec::new();
        for label in &labels {
            let dir = work.join(format!("{label}-{products}"));
            target::prepare_data(&seed_db, &dir, store)?;
            progress.line(&format!("starting {label} ({products} products)"));
            targets.push(target::start(
                label,
                &dir,
                &env,
                &flags,
                &work.join("logs").join(format!("{label}-{products}")),
            )?);
        }
        for scenario in scenarios.iter().filter(|s| s.products == products) {
            if !matches!(scenario.shape, Shape::Open(_) | Shape::Closed(_)) {
                let fctx = FaultCtx {
                    seed: opts.seed,
                    products,
                    deadline,
                    calibration: &calibration,
                    profile: &opts.profile,
                };
                for t in targets.iter_mut() {
                    progress.step(&format!("{} {}", scenario.name, t.label));
                    let measured = match &scenario.shape {
                        Shape::Kill { .. } => faults::kill(t, scenario, &fctx).await,
                        Shape::Overload { .. } => {
                            let knee = knee_so_far(&runs, t.label, &opts.profile);
                            faults::overload(t, scenario, &fctx, knee).await
                        }
                        Shape::Slow {
                            service,
                            extra,
                            clients,
                        } => {
                            let baseline = runs
                                .iter()
                                .find(|r| {
                                    r.scenario == "checkout-closed"
                                        && r.target == t.label
                                        && r.concurrency == Some(*clients)
                                })
                                .map(|r| r.achieved_rps);
                            let label = t.label;
                            let key = format!("{label}-{products}-slow");
                            let dir = work.join(&key);
                            target::prepare_data(&seed_db, &dir, store)?;
                            let service = ServiceName::parse(service).expect("known service");
                            let mut slow_env = env.clone();
                            slow_env.sim =
                                Arc::new((*env.sim).clone().with_work(
                                    service,
                                    checkout_core::sim::WorkTime::fixed(*extra),
                                ));
                            let mut slow_flags = flags.clone();
                            slow_flags
                                .work
                                .push(format!("{service}={}", extra.as_millis()));
                            let slow_target = target::start(
                                label,
                                &dir,
                                &slow_env,
                                &slow_flags,
                                &work.join("logs").join(&key),
                            )?;
                            let out = faults::slow(&slow_target, scenario, &fctx, baseline).await;
                            let settled = settle(&dir, SETTLE_LIMIT).await;
                            audit
                                .settle_ms
                                .insert(key.clone(), settled.as_millis() as u64);
                            slow_target.stop();
                            audit_target(&key, &dir, &mut audit)?;
                            out
                        }
                        _ => None,
                    };
                    match measured {
                        Some((run, hist)) => {
                            if let Some(f) = run.fault.as_ref() {
                                progress.detail(&format!(
                                    "achieved {:.0}/s, p99 {:.2} ms, errors {} ({} during the fault), recovery {}, outlived deadline {}",
                                    run.achieved_rps,
                                    run.latency_us.p99 / 1000.0,
                                    run.errors,
                                    f.errors_during,
                                    f.recovery_ms.map_or("none".into(), |ms| format!("{ms:.0} ms")),
                                    f.outlived_deadline
                                ));
                            }
                            histograms.insert(run.id.clone(), hist);
                            runs.push(run);
                        }
                        None => progress
                            .detail("not applicable: no service processes to fault in-process"),
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                continue;
            }
            let steps: Vec<Mode> = match &scenario.shape {
                Shape::Open(rates) => rates.iter().map(|&rate| Mode::Open { rate }).collect(),
                Shape::Closed(cs) => cs.iter().map(|&clients| Mode::Closed { clients }).collect(),
                _ => Vec::new(),
            };
            let mut saturated: BTreeMap<&str, u32> = BTreeMap::new();
            for (step, mode) in steps.into_iter().enumerate() {
                for k in 0..targets.len() {
                    let t = &targets[(k + step) % targets.len()];
                    let (what, label) = match &mode {
                        Mode::Open { rate } => (format!("{rate:.0}/s"), format!("{rate:.0}rps")),
                        Mode::Closed { clients } => {
                            (format!("{clients} clients"), format!("c{clients}"))
                        }
                        Mode::Phased { .. } => ("phased".into(), "phased".into()),
                    };
                    if saturated.get(t.label).copied().unwrap_or(0) >= 2 {
                        progress.step(&format!(
                            "{} {} {what}: skipped (past saturation twice)",
                            scenario.name, t.label
                        ));
                        continue;
                    }
                    progress.step(&format!("{} {} {what}", scenario.name, t.label));
                    let call: Arc<dyn Call> = match scenario.request {
                        Request::Checkout => Arc::new(CheckoutCall {
                            orders: t.orders.clone(),
                            workload: Workload::new(opts.seed, scenario.name, step, 50, products),
                            deadline,
                        }),
                        Request::Catalog => Arc::new(CatalogCall {
                            catalog: t.catalog.clone(),
                            expected: products,
                            deadline,
                        }),
                    };
                    let spec = StepSpec {
                        mode: mode.clone(),
                        warmup: opts.profile.warmup,
                        window: opts.profile.step,
                        scenario: scenario.name,
                        step,
                        label,
                    };
                    let (run, hist, _) = measure_step(
                        call,
                        spec,
                        &TargetInfo::of(t),
                        &calibration,
                        std::future::ready(()),
                    )
                    .await;
                    if let Mode::Open { rate } = mode
                        && (run.achieved_rps < 0.8 * rate
                            || run.latency_us.p99 > 10.0 * opts.profile.slo_p99.as_micros() as f64)
                    {
                        *saturated.entry(t.label).or_default() += 1;
                    }
                    progress.detail(&format!(
                        "achieved {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, errors {}",
                        run.achieved_rps,
                        run.latency_us.p50 / 1000.0,
                        run.latency_us.p99 / 1000.0,
                        run.errors
                    ));
                    histograms.insert(run.id.clone(), hist);
                    runs.push(run);
                    // Let stragglers of an overloaded step finish before the next target runs.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        for t in targets {
            let (label, dir) = (t.label, t.data_dir.clone());
            // Let owed compensations land before the audit (stated in the report).
            let settled = settle(&dir, SETTLE_LIMIT).await;
            audit
                .settle_ms
                .insert(format!("{label}-{products}"), settled.as_millis() as u64);
            t.stop();
            audit_target(&format!("{label}-{products}"), &dir, &mut audit)?;
        }
    }
    progress.finish();
    // Keep the services' logs; the databases were audited and are dropped with the work folder.
    let logs = opts.out.join("logs");
    let _ = std::fs::remove_dir_all(&logs);
    let _ = std::fs::rename(work.join("logs"), &logs);
    let _ = std::fs::remove_dir_all(&work);

    let results = Results {
        schema_version: 1,
        started_at,
        duration_s: started.elapsed().as_secs_f64(),
        config: RunConfig {
            profile: opts.profile.name.into(),
            seed: opts.seed,
            build_profile: if cfg!(debug_assertions) { "debug" } else { "release" }.into(),
            sqlite_synchronous: opts.sync.as_str().into(),
            sqlite_journal: "WAL".into(),
            approval_rate: 0.9,
            chain_timeout_ms: CHAIN_TIMEOUT_MS,
            warmup_s: opts.profile.warmup.as_secs_f64(),
            step_s: opts.profile.step.as_secs_f64(),
            slo_p99_ms: opts.profile.slo_p99.as_secs_f64() * 1000.0,
            grpc_worker_threads: opts.grpc_workers,
            rest_workers: opts.rest_workers,
            targets: labels.iter().map(|l| l.to_string()).collect(),
            scenarios: scenarios.iter().map(|s| s.name.to_string()).collect(),
            data: "50 customers, 30 products (1,000 for catalog-1000), 100 historical orders; generated with the run seed".into(),
            notes: vec![
                format!("every product's stock topped up by {} units before the run, so the sweep never sells out (out-of-stock behaviour is covered by the conformance tests)", target::STOCK_TOP_UP),
                "each networked stack runs six OS processes (one per service); the in-process target runs inside the load generator's process".into(),
                "the load generator shares the machine's cores with the services; its own CPU is reported as `loadgen`".into(),
                "an open-loop target that misses its offered rate by 20% or its p99 objective tenfold twice is not driven at higher rates".into(),
            ],
        },
        machine,
        versions: crate::versions(),
        calibration,
        runs,
        audit,
        checks: Vec::new(),
        cost: None,
    };
    Ok(Measured {
        results,
        histograms,
    })
}
