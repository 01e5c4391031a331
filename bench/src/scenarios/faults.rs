//! The fault scenarios (seed 001 §5.3): a service killed and restarted under steady load, a slow
//! service at fixed concurrency, and an overload burst followed by calm. Each is one step per
//! target, with its per-second timeline, the fault's window, the errors it caused, the time to
//! recover, and whether any request outlived its deadline.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::cluster::target::Target;
use crate::engine::load::Mode;
use crate::engine::step::{StepExtras, StepSpec, TargetInfo, measure_step};
use crate::engine::workload::{Call, CheckoutCall, Workload};
use crate::results::{Calibration, Fault, Run};
use crate::scenarios::profile::{Profile, Scenario, Shape};

/// What a fault step needs from the run.
pub struct FaultCtx<'a> {
    /// Run seed.
    pub seed: u64,
    /// Products in the catalog.
    pub products: usize,
    /// Client deadline of each checkout.
    pub deadline: Duration,
    /// The floor.
    pub calibration: &'a Calibration,
    /// The profile (warm-up, step length, objective).
    pub profile: &'a Profile,
}

fn checkout(t: &Target, ctx: &FaultCtx<'_>, scenario: &str) -> Arc<dyn Call> {
    Arc::new(CheckoutCall {
        orders: t.orders.clone(),
        workload: Workload::new(ctx.seed, scenario, 0, 50, ctx.products),
        deadline: ctx.deadline,
    })
}

fn errors_between(x: &StepExtras, from: f64, to: f64) -> u64 {
    x.error_offsets
        .iter()
        .filter(|o| (from..to).contains(&o.as_secs_f64()))
        .count() as u64
}

/// Kills `service` of `t` after `before`, restarts it after `down`, under an open loop at `rate`.
pub async fn kill(
    t: &mut Target,
    scenario: &Scenario,
    ctx: &FaultCtx<'_>,
) -> Option<(Run, Histogram<u64>)> {
    let Shape::Kill {
        service,
        rate,
        before,
        down,
        after,
    } = scenario.shape.clone()
    else {
        return None;
    };
    let name = service;
    let info = TargetInfo::of(t);
    let call = checkout(t, ctx, scenario.name);
    let cluster = t.cluster()?;
    let warmup = ctx.profile.warmup;
    let times: Arc<Mutex<(f64, f64)>> = Arc::default();
    let t0 = Instant::now() + Duration::from_millis(20) + warmup;
    let recorded = times.clone();
    let inject = async move {
        tokio::time::sleep_until((t0 + before).into()).await;
        cluster.kill(name);
        let killed = t0.elapsed().as_secs_f64();
        tokio::time::sleep(down).await;
        let restarted = tokio::task::block_in_place(|| cluster.spawn(name));
        let up = t0.elapsed().as_secs_f64();
        if let Err(e) = restarted {
            tracing::error!(error = %e, "restart failed");
        }
        *recorded.lock().expect("times") = (killed, up);
    };
    let window = before + down + after;
    let spec = StepSpec {
        mode: Mode::Open { rate },
        warmup,
        window,
        scenario: scenario.name,
        step: 0,
        label: format!("{rate:.0}rps"),
    };
    let (mut run, hist, extras) = measure_step(call, spec, &info, ctx.calibration, inject).await;
    let (killed, up) = *times.lock().expect("times");
    let last_error_after_up = extras
        .error_offsets
        .iter()
        .map(Duration::as_secs_f64)
        .filter(|&o| o >= up)
        .reduce(f64::max);
    let recovery_ms = match last_error_after_up {
        None => Some(0.0),
        Some(last) if last < window.as_secs_f64() - 0.5 => Some((last - up) * 1000.0),
        Some(_) => None,
    };
    run.fault = Some(Fault {
        kind: "kill".into(),
        service: Some(service.as_str().into()),
        detail: format!(
            "{service} killed with SIGKILL at {killed:.1} s, restarted on the same port and database at {up:.1} s, under {rate:.0} checkouts/s"
        ),
        window_s: [killed, up],
        errors_during: errors_between(&extras, killed, up),
        recovery_ms,
        outlived_deadline: extras.over_deadline,
        baseline_rps: None,
    });
    Some((run, hist))
}

/// A closed loop of `clients` against `t`, whose `service` was started slow; `baseline` is the
/// same concurrency's throughput without the slowness.
pub async fn slow(
    t: &Target,
    scenario: &Scenario,
    ctx: &FaultCtx<'_>,
    baseline: Option<f64>,
) -> Option<(Run, Histogram<u64>)> {
    let Shape::Slow {
        service,
        extra,
        clients,
    } = scenario.shape.clone()
    else {
        return None;
    };
    let info = TargetInfo::of(t);
    let call = checkout(t, ctx, scenario.name);
    let window = ctx.profile.step;
    let spec = StepSpec {
        mode: Mode::Closed { clients },
        warmup: ctx.profile.warmup,
        window,
        scenario: scenario.name,
        step: 0,
        label: format!("c{clients}"),
    };
    let (mut run, hist, extras) =
        measure_step(call, spec, &info, ctx.calibration, std::future::ready(())).await;
    run.fault = Some(Fault {
        kind: "slow".into(),
        service: Some(service.as_str().into()),
        detail: format!(
            "{service} takes {} ms longer per call; {clients} clients in flight",
            extra.as_millis()
        ),
        window_s: [0.0, window.as_secs_f64()],
        errors_during: extras.error_offsets.len() as u64,
        recovery_ms: None,
        outlived_deadline: extras.over_deadline,
        baseline_rps: baseline,
    });
    Some((run, hist))
}

/// An open loop at `high` × `knee` for the burst, then `low` × `knee`.
pub async fn overload(
    t: &Target,
    scenario: &Scenario,
    ctx: &FaultCtx<'_>,
    knee: f64,
) -> Option<(Run, Histogram<u64>)> {
    let Shape::Overload {
        high,
        low,
        burst,
        calm,
    } = scenario.shape.clone()
    else {
        return None;
    };
    let info = TargetInfo::of(t);
    let call = checkout(t, ctx, scenario.name);
    let warmup = ctx.profile.warmup;
    let (hi, lo) = (high * knee, low * knee);
    let spec = StepSpec {
        mode: Mode::Phased {
            phases: vec![(warmup + burst, hi), (calm, lo)],
        },
        warmup,
        window: burst + calm,
        scenario: scenario.name,
        step: 0,
        label: format!("{hi:.0}-then-{lo:.0}rps"),
    };
    let (mut run, hist, extras) =
        measure_step(call, spec, &info, ctx.calibration, std::future::ready(())).await;
    let b = burst.as_secs_f64();
    let slo_us = ctx.profile.slo_p99.as_micros() as f64;
    let first_calm = b.ceil() as usize;
    let settled = (first_calm..run.timeline.len()).find(|&k| {
        run.timeline[k..]
            .iter()
            .all(|s| s.errors == 0 && s.completed > 0 && s.p99_us <= slo_us)
    });
    run.fault = Some(Fault {
        kind: "overload".into(),
        service: None,
        detail: format!(
            "{hi:.0}/s ({high}× the knee of {knee:.0}/s) for {b:.1} s, then {lo:.0}/s ({low}×) for {:.1} s",
            calm.as_secs_f64()
        ),
        window_s: [0.0, b],
        errors_during: errors_between(&extras, 0.0, b),
        recovery_ms: settled.map(|k| ((k as f64 - b) * 1000.0).max(0.0)),
        outlived_deadline: extras.over_deadline,
        baseline_rps: None,
    });
    Some((run, hist))
}
