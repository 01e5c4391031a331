//! The steps of one scenario on every target: a sweep of open-loop rates or closed-loop client
//! counts (each step as interleaved trials, rotating who goes first), or a fault scenario (a
//! killed service, a slow one, an overload burst); the knee search's probes run as its rounds.

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
use crate::cluster::supervisor::{NodeFlags, Replicas};
use crate::cluster::target::{self, Target, TargetKind};
use crate::engine::load::Mode;
use crate::engine::step::{StepSpec, TargetInfo, measure_step};
use crate::engine::trials::{Part, pool};
use crate::engine::workload::{Call, CatalogCall, CheckoutCall, Workload};
use crate::report::facts::closed_peak;
use crate::results::Run;

/// How a step is named: in the progress line and in the run id.
pub(super) fn step_names(mode: &Mode) -> (String, String) {
    match mode {
        Mode::Open { rate } => (format!("{rate:.0}/s"), format!("{rate:.0}rps")),
        Mode::Closed { clients } => (format!("{clients} clients"), format!("c{clients}")),
        Mode::Phased { .. } => ("phased".into(), "phased".into()),
    }
}

/// The request a step of `scenario` sends to `t`, from request sequence `sequence`.
fn call_for(
    s: &Session,
    scenario: &Scenario,
    t: &Target,
    sequence: usize,
    products: usize,
) -> Arc<dyn Call> {
    match scenario.request {
        Request::Checkout => Arc::new(CheckoutCall {
            orders: t.orders.clone(),
            workload: Workload::new(s.opts.seed, scenario.name, sequence, 50, products),
            deadline: s.deadline,
        }),
        Request::Catalog => Arc::new(CatalogCall {
            catalog: t.catalog.clone(),
            expected: products,
            deadline: s.deadline,
        }),
        Request::Ingest => unreachable!("the ingest scenario drives the sinks itself"),
    }
}

/// An open-loop step that missed its rate by 20% or its p99 objective tenfold: the target is past
/// saturation.
fn saturated(s: &Session, mode: &Mode, run: &Run) -> bool {
    matches!(mode, Mode::Open { rate } if run.achieved_rps < 0.8 * rate
        || run.latency_us.p99 > 10.0 * s.opts.profile.slo_p99.as_micros() as f64)
}

/// One target's load in a round of trials.
pub(super) struct Probe {
    /// Index into the targets.
    pub(super) target: usize,
    pub(super) mode: Mode,
    /// Step index within the scenario (a knee probe's continues after the sweep's).
    pub(super) step: usize,
    /// The scenario it is recorded under (the scaling scenario's configurations each have their
    /// own).
    pub(super) name: &'static str,
}

/// Runs every probe as `trials` trials, interleaved: trial `j` goes through the probes starting
/// one further along each time (A B C D, B C D A, ...), so drift hits all alike.
/// Each probe's trials are pooled into one recorded run; returns the runs' indices in the
/// session, in probe order.
pub(super) async fn round(
    s: &mut Session,
    scenario: &Scenario,
    targets: &[Target],
    probes: &[Probe],
    products: usize,
    trials: usize,
) -> Vec<usize> {
    let profile = &s.opts.profile;
    let (k, warmup) = (trials.max(1), profile.trial_warmup);
    let mut parts: Vec<Vec<Part>> = probes.iter().map(|_| Vec::new()).collect();
    for j in 0..k {
        for i in 0..probes.len() {
            let n = (i + j) % probes.len();
            let p = &probes[n];
            let t = &targets[p.target];
            let (_, label) = step_names(&p.mode);
            let window = profile.trial_window(match p.mode {
                Mode::Open { rate } => Some(rate),
                _ => None,
            });
            let spec = StepSpec {
                mode: p.mode.clone(),
                warmup,
                window,
                scenario: p.name,
                step: p.step,
                label,
                samples: false,
            };
            // Every trial sends its own requests (fresh idempotency keys), the same to every
            // target.
            let call = call_for(s, scenario, t, p.step * 1000 + j, products);
            let info = TargetInfo::of(t);
            let (run, hist, extras) =
                measure_step(call, spec, &info, &s.calibration, std::future::ready(())).await;
            let pause = if saturated(s, &p.mode, &run) { 300 } else { 10 };
            parts[n].push(Part {
                run,
                hist,
                dispatched: extras.dispatched,
            });
            // Let stragglers of an overloaded trial finish before the next one runs.
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }
    let mut recorded = Vec::new();
    for (p, trials) in probes.iter().zip(parts) {
        let (run, hist) = pool(trials, &s.calibration);
        let t = &targets[p.target];
        let (what, _) = step_names(&p.mode);
        s.progress.step(&format!("{} {} {what}", p.name, t.kind));
        let spread = run.spread.unwrap_or_default();
        s.progress.detail(&format!(
            "achieved {:.0}/s, p50 {:.2} ms [{:.2}–{:.2}], p99 {:.2} ms, errors {}",
            spread.achieved_rps.median,
            spread.p50_us.median / 1000.0,
            spread.p50_us.lo / 1000.0,
            spread.p50_us.hi / 1000.0,
            spread.p99_us.median / 1000.0,
            run.errors
        ));
        recorded.push(s.runs.len());
        s.record(run, hist);
    }
    recorded
}

/// Whether a target that was past saturation at the open-loop rates `missed` is driven at
/// `rate`: not after two such rates, nor at twice one of them or more — those trials would only
/// wait on a backlog, and the knee search and the overload scenario measure what lies past the
/// knee. The profiles' finer steps just above a missed rate still run.
fn still_driven(missed: &[f64], rate: f64) -> bool {
    missed.len() < 2 && missed.iter().all(|&m| rate < 2.0 * m)
}

/// Runs an open- or closed-loop scenario on every target, each step as interleaved trials; a
/// target past saturation is not driven much harder ([`still_driven`]).
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
    // The open-loop rates each target could not carry.
    let mut missed: BTreeMap<TargetKind, Vec<f64>> = BTreeMap::new();
    for (step, mode) in modes.into_iter().enumerate() {
        let mut probes = Vec::new();
        for k in 0..targets.len() {
            let i = (k + step) % targets.len();
            let t = &targets[i];
            let rate = match mode {
                Mode::Open { rate } => rate,
                _ => 0.0,
            };
            if !still_driven(missed.get(&t.kind).map_or(&[], Vec::as_slice), rate) {
                let (what, _) = step_names(&mode);
                s.progress.step(&format!(
                    "{} {} {what}: skipped (past saturation at a lower rate)",
                    scenario.name, t.kind
                ));
                continue;
            }
            probes.push(Probe {
                target: i,
                mode: mode.clone(),
                step,
                name: scenario.name,
            });
        }
        let trials = match (&scenario.shape, &mode) {
            (Shape::Open(rates), Mode::Open { rate }) => {
                s.opts.profile.trials_at(scenario.request, rates, *rate)
            }
            _ => s.opts.profile.trials,
        };
        for (p, at) in probes
            .iter()
            .zip(round(s, scenario, targets, &probes, products, trials).await)
        {
            if let Mode::Open { rate } = p.mode
                && saturated(s, &p.mode, &s.runs[at])
            {
                missed.entry(targets[p.target].kind).or_default().push(rate);
            }
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
            Shape::Open(_)
            | Shape::Closed(_)
            | Shape::Crosscheck
            | Shape::CpuProfile { .. }
            | Shape::Scaling { .. }
            | Shape::Links { .. }
            | Shape::Tls { .. }
            | Shape::Ingest(_) => None,
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
pub(super) fn start_copy(
    s: &Session,
    kind: TargetKind,
    seed_db: &Path,
    products: usize,
    suffix: &str,
    replicas: Option<Replicas>,
    adjust: impl FnOnce(&mut ServiceEnv, &mut NodeFlags),
) -> anyhow::Result<(Target, String)> {
    let key = format!("{kind}-{products}-{suffix}");
    let dir = s.work.join(&key);
    target::prepare_data(seed_db, &dir, s.store)?;
    let (mut env, mut flags) = (s.env.clone(), s.flags.clone());
    adjust(&mut env, &mut flags);
    let logs = s.work.join("logs").join(&key);
    let copy = target::start_replicated(kind, &dir, &env, &flags, &logs, replicas)?;
    Ok((copy, key))
}

/// The networked kinds among `targets` (copies of in-process have nothing to set apart).
pub(super) fn networked(targets: &[Target]) -> impl Iterator<Item = TargetKind> + '_ {
    targets
        .iter()
        .map(|t| t.kind)
        .filter(|k| *k != TargetKind::InProcess)
}

/// Fresh copies of targets, each probed closed loop at one client (latency) and at many
/// (throughput), all their trials interleaved in one round.
#[derive(Default)]
pub(super) struct Copies {
    /// The copies started, in the order their probes name them.
    pub(super) started: Vec<Target>,
    keys: Vec<String>,
    /// Two probes per copy: 1 client, then `clients`.
    pub(super) probes: Vec<Probe>,
}

impl Copies {
    /// Adds a copy (from [`start_copy`]), probed at 1 client and at `clients`, its runs
    /// recorded under `name`.
    pub(super) fn add(
        &mut self,
        (copy, key): (Target, String),
        clients: usize,
        name: &'static str,
    ) {
        for (step, c) in [1, clients].into_iter().enumerate() {
            self.probes.push(Probe {
                target: self.started.len(),
                mode: Mode::Closed { clients: c },
                step,
                name,
            });
        }
        self.started.push(copy);
        self.keys.push(key);
    }

    /// Runs every copy's probes as the profile's trials, interleaved in one round; returns the
    /// runs' indices in the session, in probe order.
    pub(super) async fn round(
        &self,
        s: &mut Session,
        scenario: &Scenario,
        products: usize,
    ) -> Vec<usize> {
        let trials = s.opts.profile.trials;
        round(s, scenario, &self.started, &self.probes, products, trials).await
    }

    /// Lets every copy settle and audits it.
    pub(super) async fn settle(self, s: &mut Session) -> anyhow::Result<()> {
        s.settle_and_audit_all(self.started.into_iter().zip(self.keys).collect())
            .await
    }
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
    let knee = knee_so_far(&s.runs, &s.knees, label, &s.opts.profile);
    let peak = closed_peak(&s.runs, label);
    let fctx = fault_ctx(s, products);
    let Some(admit) = admission else {
        let o = faults::OverloadCtx {
            knee,
            peak,
            admission: s.opts.admission.to_string(),
            owed: t.owed_source(),
        };
        return Ok(faults::overload(t, scenario, &fctx, o).await);
    };
    let (copy, key) = start_copy(
        s,
        t.kind,
        seed_db,
        products,
        &admit.to_string(),
        None,
        |env, flags| {
            env.admission = admit;
            flags.admission = admit;
        },
    )?;
    let o = faults::OverloadCtx {
        knee,
        peak,
        admission: admit.to_string(),
        owed: copy.owed_source(),
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
    let (slow_target, key) = start_copy(s, kind, seed_db, products, "slow", None, |env, flags| {
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

#[cfg(test)]
mod tests {
    use super::still_driven;

    #[test]
    fn a_saturated_target_skips_doubled_rates_and_stops_after_two_misses() {
        // The default profile's sweep: missed at 2,000/s, 4,000/s is not driven.
        assert!(still_driven(&[], 4000.0));
        assert!(!still_driven(&[2000.0], 4000.0));
        // The full profile's finer steps just above a miss still run, until a second miss.
        assert!(still_driven(&[1500.0], 2000.0));
        assert!(still_driven(&[1500.0], 2500.0));
        assert!(!still_driven(&[1500.0], 3000.0));
        assert!(!still_driven(&[1500.0, 2000.0], 2500.0));
    }
}
