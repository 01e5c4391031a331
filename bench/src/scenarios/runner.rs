//! The main job: calibrate, generate data, bring every target up, run each scenario's steps on
//! every target in turn (rotating the order so drift affects all alike), audit, and hand the
//! measurements to the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use checkout_core::store::StoreConfig;
use checkout_core::*;
use hdrhistogram::Histogram;

use super::calibrate::calibrate;
pub use super::options::RunOptions;
use super::options::run_config;
use super::profile::{Profile, Request, Scenario, Shape};
use super::progress::Progress;
use super::{knee, sweep};
use crate::cluster::owed::OwedSource;
use crate::cluster::supervisor::NodeFlags;
use crate::cluster::target::{self, Target, TargetKind};
use crate::engine::step::CHAIN_TIMEOUT_MS;
use crate::results::*;

/// Everything a run measured, before it is rendered.
pub struct Measured {
    /// The report model.
    pub results: Results,
    /// Raw histogram of each run, by run id.
    pub histograms: BTreeMap<String, Histogram<u64>>,
}

/// Longest wait for outboxes to drain before the audit.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(20);

/// Records one target's audit into `audit`.
fn record_audit(key: &str, report: checkout_core::audit::AuditReport, audit: &mut Audit) {
    audit.orders.insert(key.to_owned(), report.orders);
    for v in report.violations {
        audit.clean = false;
        audit.violations.push(TargetViolation {
            target: key.to_owned(),
            violation: v,
        });
    }
}

/// The knee of `target` as searched, or from the open-loop steps run so far (highest offered rate
/// within the objective); without one, 80% of its closed-loop peak; without that, 500/s.
pub fn knee_so_far(runs: &[Run], knees: &[KneeSearch], target: &str, profile: &Profile) -> f64 {
    knees
        .iter()
        .find(|k| k.target == target)
        .and_then(|k| k.knee_rps)
        .or_else(|| {
            crate::report::facts::knee_in(runs, target, profile.slo_p99.as_secs_f64() * 1000.0)
        })
        .or_else(|| crate::report::facts::closed_peak(runs, target).map(|p| 0.8 * p))
        .unwrap_or(500.0)
}

/// Waits until no compensation is owed and no order is `pendente` in `owed`'s services, at most
/// `limit`; returns how long it took.
pub async fn settle(owed: &OwedSource, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let settled = owed
            .read(checkout_core::audit::Ask::All)
            .await
            .is_some_and(|o| o.iter().all(|(_, o)| o.total() == 0));
        if settled || started.elapsed() >= limit {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Everything the scenarios of one run share: what was asked, the machine's floor, the
/// services' settings, and what has been measured so far.
pub(crate) struct Session {
    pub(crate) opts: RunOptions,
    pub(crate) calibration: Calibration,
    pub(crate) env: ServiceEnv,
    pub(crate) flags: NodeFlags,
    pub(crate) store: StoreConfig,
    pub(crate) work: PathBuf,
    /// Longest a request may take before it counts as having outlived its deadline.
    pub(crate) deadline: Duration,
    pub(crate) progress: Progress,
    pub(crate) runs: Vec<Run>,
    pub(crate) histograms: BTreeMap<String, Histogram<u64>>,
    pub(crate) audit: Audit,
    /// Each target's knee search.
    pub(crate) knees: Vec<KneeSearch>,
    /// The cross-check against outside drivers, if it ran.
    pub(crate) crosscheck: Option<Crosscheck>,
    /// Connections a balancer handed each replica, by run id.
    pub(crate) balanced: BTreeMap<String, Vec<u64>>,
    /// Per run behind links: connections each service's links carried over the copy's life.
    pub(crate) link_connections: BTreeMap<String, Vec<(String, u64)>>,
    /// The ingest scenario's results, if it ran.
    pub(crate) ingest: Option<crate::results::ingest::Ingest>,
    /// The CPU profiles, if asked for.
    pub(crate) cpu_profiles: Option<crate::results::CpuProfiles>,
}

impl Session {
    /// Records a measured step.
    pub(crate) fn record(&mut self, run: Run, hist: Histogram<u64>) {
        self.histograms.insert(run.id.clone(), hist);
        self.runs.push(run);
    }

    /// Brings up every selected target on a fresh copy of the seed database.
    fn start_targets(
        &mut self,
        labels: &[TargetKind],
        seed_db: &Path,
        products: usize,
    ) -> anyhow::Result<Vec<Target>> {
        let mut targets = Vec::new();
        if !self.opts.remote.is_empty() {
            for &(kind, orders, catalog) in &self.opts.remote {
                self.progress.line(&format!(
                    "driving {kind} elsewhere: Orders {orders}, Catalog {catalog}"
                ));
                let tls = self.opts.tls.as_ref().map(|t| t.load()).transpose()?;
                targets.push(target::remote(kind, orders, catalog, tls)?);
            }
            return Ok(targets);
        }
        for &label in labels {
            let key = format!("{label}-{products}");
            let dir = self.work.join(&key);
            target::prepare_data(seed_db, &dir, self.store)?;
            self.progress
                .line(&format!("starting {label} ({products} products)"));
            let logs = self.work.join("logs").join(&key);
            targets.push(target::start(label, &dir, &self.env, &self.flags, &logs)?);
        }
        Ok(targets)
    }

    /// Lets owed compensations land (stated in the report), stops the target and audits it.
    pub(crate) async fn settle_and_audit(&mut self, t: Target, key: String) -> anyhow::Result<()> {
        self.settle_and_audit_all(vec![(t, key)]).await
    }

    /// [`Session::settle_and_audit`] for several targets: each settles and stops in turn, then
    /// their databases are audited side by side — an audit reads every order a target holds
    /// (seconds once the sweeps have loaded it), on cores the stopped targets no longer use.
    pub(crate) async fn settle_and_audit_all(
        &mut self,
        targets: Vec<(Target, String)>,
    ) -> anyhow::Result<()> {
        let mut stopped = Vec::new();
        for (t, key) in targets {
            if t.is_remote() {
                // Its databases are on another machine.
                self.audit.not_audited.push(key);
                t.stop();
                continue;
            }
            let dir = t.data_dir.clone();
            let settled = settle(&t.owed_source(), SETTLE_LIMIT).await;
            self.audit
                .settle_ms
                .insert(key.clone(), settled.as_millis() as u64);
            t.stop();
            stopped.push((key, dir));
        }
        let audited = tokio::task::spawn_blocking(move || {
            std::thread::scope(|scope| {
                let audits: Vec<_> = stopped
                    .iter()
                    .map(|(_, dir)| scope.spawn(move || checkout_core::audit::audit(dir)))
                    .collect();
                stopped
                    .iter()
                    .zip(audits)
                    .map(|((key, _), a)| {
                        let report = a.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                        (key.clone(), report)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .await?;
        for (key, report) in audited {
            record_audit(&key, report?, &mut self.audit);
        }
        Ok(())
    }
}

/// Calibrates the floor and sets the run up.
async fn open_session(
    opts: RunOptions,
    machine: &Machine,
    idle: &crate::cluster::idle::IdleHold,
) -> anyhow::Result<Session> {
    let work = opts.out.join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let mut progress = Progress::new();
    progress.line(&format!(
        "calibrating the floor ({} cores, {}; idle cores: {})",
        machine.cores,
        machine.cpu_model,
        idle.label()
    ));
    let calibration = calibrate(&work, opts.sync, machine.cores, opts.link.as_ref()).await?;
    progress.line(&format!(
        "floor: loopback RTT {}, SQLite commit {:.1} µs → {:.0} µs per checkout",
        calibration.rtt_words(),
        calibration.sqlite_commit_us,
        calibration.floor_latency_us
    ));
    let store = StoreConfig {
        sync: opts.sync,
        owned: opts.owned_db,
        ..StoreConfig::default()
    };
    let flags = NodeFlags {
        seed: opts.seed,
        sync: opts.sync.as_str().to_ascii_lowercase(),
        approval_rate: 0.9,
        chain_timeout_ms: CHAIN_TIMEOUT_MS,
        grpc_workers: opts.grpc_workers,
        grpc_per_thread: opts.grpc_per_thread,
        rest_workers: opts.rest_workers,
        admission: opts.admission,
        work: Vec::new(),
        cpus: 0,
        metrics: true,
        coalesce: opts.coalesce,
        shared_db: !opts.owned_db,
        otlp: None,
        link: opts.link.clone(),
        tls: opts.tls.clone(),
    };
    let mut env = ServiceEnv::new(&work);
    env.store = store;
    env.sim = Arc::new(Simulation::with_seed(opts.seed));
    env.chain_timeout = Duration::from_millis(CHAIN_TIMEOUT_MS);
    env.admission = opts.admission;
    Ok(Session {
        opts,
        calibration,
        env,
        flags,
        store,
        work,
        deadline: Duration::from_millis(CHAIN_TIMEOUT_MS + 1000),
        progress,
        runs: Vec::new(),
        histograms: BTreeMap::new(),
        audit: Audit {
            clean: true,
            settle_limit_s: SETTLE_LIMIT.as_secs_f64(),
            ..Default::default()
        },
        knees: Vec::new(),
        crosscheck: None,
        balanced: BTreeMap::new(),
        link_connections: BTreeMap::new(),
        ingest: None,
        cpu_profiles: None,
    })
}

/// The targets and scenarios the options select, in run order.
fn selection(opts: &RunOptions) -> anyhow::Result<(Vec<TargetKind>, Vec<Scenario>)> {
    let labels: Vec<TargetKind> = TargetKind::ALL
        .into_iter()
        .filter(|k| opts.targets.is_empty() || opts.targets.contains(k))
        .collect();
    let mut scenarios: Vec<Scenario> = opts
        .profile
        .scenarios
        .iter()
        .filter(|s| opts.scenarios.is_empty() || opts.scenarios.iter().any(|n| n == s.name))
        .cloned()
        .collect();
    // Scenarios outside the profile (the cross-check, scaling) run in any profile when named,
    // alone with `--scenario` or beside the profile's with `--also`.
    for name in opts.scenarios.iter().chain(&opts.also) {
        if !scenarios.iter().any(|s| s.name == name) {
            match super::named::extra(name) {
                Some(x) => scenarios.push(x),
                None if opts.also.contains(name) => {
                    anyhow::bail!(
                        "unknown scenario {name}: --also takes crosscheck, scaling, links, links-region, links-catalog, tls, ingest or cpu-profile"
                    )
                }
                None => {}
            }
        }
    }
    // A stack running elsewhere is driven, not started: only the sweeps of the seed's catalog
    // apply (faults, copies, links, the cross-check and the sinks need the stack here).
    if !opts.remote.is_empty() {
        let labels: Vec<TargetKind> = opts.remote.iter().map(|r| r.0).collect();
        scenarios
            .retain(|s| matches!(s.shape, Shape::Open(_) | Shape::Closed(_)) && s.products == 30);
        anyhow::ensure!(
            !scenarios.is_empty(),
            "with --target-addr only the sweeps of the seed's 30-product catalog run (checkout-open, checkout-closed, catalog-30)"
        );
        return Ok((labels, scenarios));
    }
    anyhow::ensure!(!labels.is_empty(), "no target selected");
    anyhow::ensure!(!scenarios.is_empty(), "no scenario selected");
    Ok((labels, scenarios))
}

/// Runs the whole benchmark.
pub async fn run(opts: RunOptions) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339();
    // The bench's own gRPC connections (its client, the calibration's echo) follow the flag too.
    checkout_core::coalesce::set_enabled(opts.coalesce);
    let machine = crate::engine::procfs::machine();
    let (labels, scenarios) = selection(&opts)?;
    // Held from before calibration, so the floor is measured with the run's idle policy.
    let idle = crate::cluster::idle::IdleHold::take(opts.idle);
    // Started before calibration: on a busy machine the floor is measured busy too.
    let _hog = match opts.busy {
        true => Some(crate::cluster::hog::Hog::start(
            machine.cores,
            Duration::from_secs(3600),
        )?),
        false => None,
    };
    let mut s = open_session(opts, &machine, &idle).await?;
    s.progress
        .set_total(scenarios.iter().map(|x| x.shape.steps()).sum::<usize>() * labels.len());
    let mut sizes: Vec<usize> = scenarios.iter().map(|x| x.products).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for products in sizes {
        let seed_db = target::seed_database(&s.work, s.opts.seed, products)?;
        let mut targets = s.start_targets(&labels, &seed_db, products)?;
        let here: Vec<&Scenario> = scenarios
            .iter()
            .filter(|x| x.products == products)
            .collect();
        let knee_after = here
            .iter()
            .rev()
            .find(|x| {
                x.request == Request::Checkout
                    && matches!(x.shape, Shape::Open(_) | Shape::Closed(_))
            })
            .map(|x| x.name);
        for scenario in &here {
            match scenario.shape {
                Shape::Open(_) | Shape::Closed(_) => {
                    sweep::steps(&mut s, scenario, &targets, products).await
                }
                Shape::Scaling { .. } => {
                    super::scaling::scaling(&mut s, scenario, &targets, &seed_db, products).await?
                }
                Shape::Links { .. } => {
                    super::links::links(&mut s, scenario, &targets, &seed_db, products).await?
                }
                Shape::Tls { .. } => {
                    super::tls::tls(&mut s, scenario, &targets, &seed_db, products).await?
                }
                Shape::Ingest(ref spec) => super::ingest::ingest(&mut s, spec, &labels).await?,
                Shape::CpuProfile { clients, window } => {
                    s.progress.step("cpu-profile");
                    let p = super::flame::run(&mut s, &targets, clients, window, products).await;
                    if let Some(why) = &p.skipped {
                        s.progress.line(&format!("cpu profile {why}"));
                    }
                    s.cpu_profiles = Some(p);
                }
                Shape::Crosscheck => {
                    s.progress.step("crosscheck");
                    let c = super::crosscheck::run(&mut s, &targets, products).await;
                    for why in &c.skipped {
                        s.progress.line(&format!("crosscheck {why}"));
                    }
                    s.crosscheck = Some(c);
                }
                _ => sweep::faults(&mut s, scenario, &mut targets, &seed_db, products).await?,
            }
            // The knee is searched once the checkout sweeps it starts from (open loop for the
            // bracket, closed loop for the ceiling) have run, before the faults that use it.
            if Some(scenario.name) == knee_after
                && let Some(open) = here.iter().find(|x| matches!(x.shape, Shape::Open(_)))
            {
                knee::knees(&mut s, open, &targets, products).await;
            }
        }
        let keyed = targets
            .into_iter()
            .map(|t| {
                let key = format!("{}-{products}", t.kind);
                (t, key)
            })
            .collect();
        s.settle_and_audit_all(keyed).await?;
    }
    s.progress.finish();
    // Keep the services' logs; the databases were audited and are dropped with the work folder.
    let logs = s.opts.out.join("logs");
    let _ = std::fs::remove_dir_all(&logs);
    let _ = std::fs::rename(s.work.join("logs"), &logs);
    let _ = std::fs::remove_dir_all(&s.work);
    let results = Results {
        schema_version: 1,
        started_at,
        duration_s: started.elapsed().as_secs_f64(),
        config: run_config(&s.opts, &labels, &scenarios, &idle),
        machine,
        versions: crate::versions(),
        calibration: s.calibration,
        runs: s.runs,
        audit: s.audit,
        checks: Vec::new(),
        cost: None,
        complexity: crate::report::complexity::measure(
            &crate::report::complexity::workspace_root(),
            std::env::current_exe()
                .ok()
                .as_deref()
                .and_then(std::path::Path::parent),
        ),
        knees: s.knees,
        crosscheck: s.crosscheck,
        balanced: s.balanced,
        link_connections: s.link_connections,
        ingest: s.ingest,
        cpu_profiles: s.cpu_profiles,
    };
    Ok(Measured {
        results,
        histograms: s.histograms,
    })
}
