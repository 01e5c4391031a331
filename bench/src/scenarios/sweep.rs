//! The steps of one scenario on every target: a sweep of open-loop rates or closed-loop client
//! counts (targets alternate within every step, rotating who goes first), or a fault scenario
//! (a killed service, a slow one, an overload burst).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use checkout_core::ServiceEnv;
use checkout_core::admission::Admission;
use checkout_core::sim::WorkTime;
use hdrhistogram::Histogram;

use super::faults::{self, FaultCtx};
use super::profile::{Request, Scenario, Shape};
use super::runner::{Session, knee_so_far};
use crate::cluster::supervisor::NodeFlags;
use crate::cluster::target::{self, Target, TargetKind};
use crate::engine::load::Mode;
use crate::engine::step::{StepSpec, TargetInfo, measure_step};
use crate::engine::workload::{Call, CatalogCall, CheckoutCall, Workload};
use crate::results::Run;

/// How a step is named: in the progress line and in the run id.
fn step_names(mode: &Mode) -> (String, String) {
    match mode {
        Mode::Open { rate } => (format!("{rate:.0}/s"), format!("{rate:.0}rps")),
        Mode::Closed { clients } => (format!("{clients} clients"), format!("c{clients}")),
        Mode::Phased { .. } => ("phased".into(), "phased".into()),
    }
}

/// The request a step of `scenario` sends to `t`.
fn call_for(
    s: &Session,
    scenario: &Scenario,
    t: &Target,
    step: usize,
    products: usize,
) -> Arc<dyn Call> {
    match scenario.request {
        Request::Checkout => Arc::new(CheckoutCall {
            orders: t.orders.clone(),
            workload: Workload::new(s.opts.seed, scenario.name, step, 50, products),
            deadline: s.deadline,
        }),
        Request::Catalog => Arc::new(CatalogCall {
            catalog: t.catalog.clone(),
            expected: products,
            deadline: s.deadline,
        }),
    }
}

/// An open-loop step that missed its rate by 20% or its p99 objective tenfold: the target is past
/// saturation.
fn saturated(s: &Session, mode: &Mode, run: &Run) -> bool {
    matches!(mode, Mode::Open { rate } if run.achieved_rps < 0.8 * rate
        || run.latency_us.p99 > 10.0 * s.opts.profile.slo_p99.as_micros() as f64)
}

/// Runs an open- or closed-loop scenario on every target.
pub(crate) async fn steps(
    s: &mut Session,
    scenario: &Scenario,
    targets: &[Target],
    products: usize,
) {
    let modes: Vec<Mode> = match &scenario.shape {
        Shape::Open(rates) => rates.iter().map(|&rate| Mode::Open { rate }).collect(),
        Shape::Closed(cs) => cs.iter().map(|&clients| Mode::Closed { clients }).collect(),
        _ => Vec::new(),
    };
    let mut past_saturation: BTreeMap<TargetKind, u32> = BTreeMap::new();
    for (step, mode) in modes.into_iter().enumerate() {
        for k in 0..targets.len() {
            let t = &targets[(k + step) % targets.len()];
            let (what, label) = step_names(&mode);
            if past_saturation.get(&t.kind).copied().unwrap_or(0) >= 2 {
                s.progress.step(&format!(
                    "{} {} {what}: skipped (past saturation twice)",
                    scenario.name, t.kind
                ));
                continue;
            }
            s.progress
                .step(&format!("{} {} {what}", scenario.name, t.kind));
            let spec = StepSpec {
                mode: mode.clone(),
                warmup: s.opts.profile.warmup,
                window: s.opts.profile.step,
                scenario: scenario.name,
                step,
                label,
                samples: false,
            };
            let call = call_for(s, scenario, t, step, products);
            let info = TargetInfo::of(t);
            let (run, hist, _) =
                measure_step(call, spec, &info, &s.calibration, std::future::ready(())).await;
            if saturated(s, &mode, &run) {
                *past_saturation.entry(t.kind).or_default() += 1;
            }
            s.progress.detail(&format!(
                "achieved {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, errors {}",
                run.achieved_rps,
                run.latency_us.p50 / 1000.0,
                run.latency_us.p99 / 1000.0,
                run.errors
            ));
            s.record(run, hist);
            // Let stragglers of an overloaded step finish before the next target runs.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// What every fault step of this run shares.
fn fault_ctx(s: &Session, products: usize) -> FaultCtx<'_> {
    FaultCtx {
        seed: s.opts.seed,
        products,
        deadline: s.deadline,
        calibration: &s.calibration,
        profile: &s.opts.profile,
    }
}

/// Runs a fault scenario on every target (none in-process: no service process to fault).
pub(crate) async fn faults(
    s: &mut Session,
    scenario: &Scenario,
    targets: &mut [Target],
    seed_db: &Path,
    products: usize,
) -> anyhow::Result<()> {
    for t in targets.iter_mut() {
        s.progress.step(&format!("{} {}", scenario.name, t.kind));
        let fctx = fault_ctx(s, products);
        let measured = match &scenario.shape {
            Shape::Kill { .. } => faults::kill(t, scenario, &fctx).await,
            Shape::Overload { admission, .. } => {
                overload(s, scenario, t, *admission, seed_db, products).await?
            }
            Shape::Slow { .. } => slow(s, scenario, t.kind, seed_db, products).await?,
            Shape::Open(_) | Shape::Closed(_) => None,
        };
        match measured {
            Some((run, hist)) => {
                if let Some(f) = run.fault.as_ref() {
                    s.progress.detail(&format!(
                        "achieved {:.0}/s, p99 {:.2} ms, errors {} ({} during the fault), recovery {}, outlived deadline {}",
                        run.achieved_rps,
                        run.latency_us.p99 / 1000.0,
                        run.errors,
                        f.errors_during,
                        f.recovery_ms.map_or("none".into(), |ms| format!("{ms:.0} ms")),
                        f.outlived_deadline
                    ));
                }
                s.record(run, hist);
            }
            None => s
                .progress
                .detail("not applicable: no service processes to fault in-process"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// A separate copy of `kind` on its own data directory (`KIND-PRODUCTS-SUFFIX`), its services
/// started with the run's settings as `adjust` changes them; audited on its own once stopped.
fn start_copy(
    s: &Session,
    kind: TargetKind,
    seed_db: &Path,
    products: usize,
    suffix: &str,
    adjust: impl FnOnce(&mut ServiceEnv, &mut NodeFlags),
) -> anyhow::Result<(Target, String)> {
    let key = format!("{kind}-{products}-{suffix}");
    let dir = s.work.join(&key);
    target::prepare_data(seed_db, &dir, s.store)?;
    let (mut env, mut flags) = (s.env.clone(), s.flags.clone());
    adjust(&mut env, &mut flags);
    let copy = target::start(kind, &dir, &env, &flags, &s.work.join("logs").join(&key))?;
    Ok((copy, key))
}

/// The overload burst on `t` (admitting as the run says), or on a copy of it whose services admit
/// as `admission` says.
async fn overload(
    s: &mut Session,
    scenario: &Scenario,
    t: &Target,
    admission: Option<Admission>,
    seed_db: &Path,
    products: usize,
) -> anyhow::Result<Option<(Run, Histogram<u64>)>> {
    let label = t.kind.label();
    let knee = knee_so_far(&s.runs, label, &s.opts.profile);
    let peak = s
        .runs
        .iter()
        .filter(|r| r.scenario == "checkout-closed" && r.target == label)
        .map(|r| r.achieved_rps)
        .reduce(f64::max);
    let fctx = fault_ctx(s, products);
    let Some(admit) = admission else {
        let o = faults::OverloadCtx {
            knee,
            peak,
            admission: s.opts.admission.to_string(),
            data_dir: &t.data_dir,
        };
        return Ok(faults::overload(t, scenario, &fctx, o).await);
    };
    let (copy, key) = start_copy(
        s,
        t.kind,
        seed_db,
        products,
        &admit.to_string(),
        |env, flags| {
            env.admission = admit;
            flags.admission = admit;
        },
    )?;
    let o = faults::OverloadCtx {
        knee,
        peak,
        admission: admit.to_string(),
        data_dir: &copy.data_dir,
    };
    let out = faults::overload(&copy, scenario, &fault_ctx(s, products), o).await;
    s.settle_and_audit(copy, key).await?;
    Ok(out)
}

/// The slow-service scenario on a separate copy of `kind`, whose one service does extra work per
/// call from the start.
async fn slow(
    s: &mut Session,
    scenario: &Scenario,
    kind: TargetKind,
    seed_db: &Path,
    products: usize,
) -> anyhow::Result<Option<(Run, Histogram<u64>)>> {
    let Shape::Slow {
        service,
        extra,
        clients,
    } = &scenario.shape
    else {
        return Ok(None);
    };
    let baseline = s
        .runs
        .iter()
        .find(|r| {
            r.scenario == "checkout-closed"
                && r.target == kind.label()
                && r.concurrency == Some(*clients)
        })
        .map(|r| r.achieved_rps);
    let (service, extra) = (*service, *extra);
    let (slow_target, key) = start_copy(s, kind, seed_db, products, "slow", |env, flags| {
        env.sim = Arc::new(
            (*env.sim)
                .clone()
                .with_work(service, WorkTime::fixed(extra)),
        );
        flags.work.push(format!("{service}={}", extra.as_millis()));
    })?;
    let out = faults::slow(&slow_target, scenario, &fault_ctx(s, products), baseline).await;
    s.settle_and_audit(slow_target, key).await?;
    Ok(out)
}
