//! The fault scenarios (seed 001 §5.3): a service killed and restarted under steady load, a slow
//! service at fixed concurrency, and an overload burst followed by calm. Each is one step per
//! target, with its per-second timeline, the fault's window, the errors it caused, the time to
//! recover, and whether any request outlived its deadline.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::cluster::owed::OwedSource;
use crate::cluster::target::Target;
use crate::engine::load::Mode;
use crate::engine::step::{
    FINE_BIN, StepExtras, StepSpec, TargetInfo, fine_timeline, first_good_second, measure_step, p99,
};
use crate::engine::workload::{Call, CheckoutCall, Workload};
use crate::results::{Calibration, Fault, Run, Shedding};
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
    let owed = t.owed_source();
    let cluster = t.cluster()?;
    let warmup = ctx.profile.warmup;
    let times: Arc<Mutex<(f64, f64)>> = Arc::default();
    let t0 = Instant::now() + crate::engine::load::START_DELAY + warmup;
    let recorded = times.clone();
    let backlog: Arc<Mutex<Vec<[f64; 2]>>> = Arc::default();
    let sampler = sample_backlog(owed, t0, backlog.clone());
    let fault = async move {
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
    let inject = async move {
        tokio::join!(fault, sampler);
    };
    let window = before + down + after;
    let spec = StepSpec {
        mode: Mode::Open { rate },
        warmup,
        window,
        scenario: scenario.name,
        step: 0,
        label: format!("{rate:.0}rps"),
        samples: true,
    };
    let (mut run, hist, extras) = measure_step(call, spec, &info, ctx.calibration, inject).await;
    run.fine_timeline = fine_timeline(&extras.samples, window, FINE_BIN);
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
        backlog: std::mem::take(&mut *backlog.lock().expect("backlog")),
        shedding: None,
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
        samples: true,
    };
    let (mut run, hist, extras) =
        measure_step(call, spec, &info, ctx.calibration, std::future::ready(())).await;
    run.fine_timeline = fine_timeline(&extras.samples, window, FINE_BIN);
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
        backlog: Vec::new(),
        shedding: None,
    });
    Some((run, hist))
}

/// What an overload step knows of its target beyond the step itself.
pub struct OverloadCtx {
    /// The target's knee so far (checkouts/s).
    pub knee: f64,
    /// Its closed-loop peak so far, if measured.
    pub peak: Option<f64>,
    /// What its services admit.
    pub admission: String,
    /// Where its outboxes' backlog is learnt.
    pub owed: OwedSource,
}

/// Compensations `owed` says are owed, every 250 ms from `t0` (the window's start) on, into
/// `out`.
async fn sample_backlog(owed: OwedSource, t0: Instant, out: Arc<Mutex<Vec<[f64; 2]>>>) {
    tokio::time::sleep_until(t0.into()).await;
    loop {
        // The backlog only: counting pending orders would scan them while the step is measured.
        if let Some(o) = owed.read(checkout_core::audit::Ask::Backlog).await {
            let n: i64 = o.iter().map(|(_, o)| o.backlog).sum();
            let t = t0.elapsed().as_secs_f64();
            out.lock().expect("backlog").push([t, n as f64]);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// An open loop at `low` × the knee, then `high` × the knee for the burst, then `low` × the knee
/// again; measures goodput and refusals during the burst, the recovery after it (the first
/// second back at the calm rate with p99 within twice the second before the burst), and the
/// compensation backlog throughout.
pub async fn overload(
    t: &Target,
    scenario: &Scenario,
    ctx: &FaultCtx<'_>,
    o: OverloadCtx,
) -> Option<(Run, Histogram<u64>)> {
    let Shape::Overload {
        high,
        low,
        before,
        burst,
        calm,
        ..
    } = scenario.shape.clone()
    else {
        return None;
    };
    let info = TargetInfo::of(t);
    let call = checkout(t, ctx, scenario.name);
    let warmup = ctx.profile.warmup;
    let (hi, lo) = (high * o.knee, low * o.knee);
    let spec = StepSpec {
        mode: Mode::Phased {
            phases: vec![(warmup + before, lo), (burst, hi), (calm, lo)],
        },
        warmup,
        window: before + burst + calm,
        scenario: scenario.name,
        step: 0,
        label: format!("{hi:.0}-then-{lo:.0}rps"),
        samples: true,
    };
    let backlog: Arc<Mutex<Vec<[f64; 2]>>> = Arc::default();
    let t0 = Instant::now() + crate::engine::load::START_DELAY + warmup;
    let sampler = sample_backlog(o.owed.clone(), t0, backlog.clone());
    let networked = info.kind != crate::cluster::target::TargetKind::InProcess;
    let (mut run, hist, extras) = measure_step(call, spec, &info, ctx.calibration, sampler).await;
    let (from, to) = (before.as_secs_f64(), (before + burst).as_secs_f64());
    let seconds = &run.timeline;
    // The p99 of the calm before the burst, and the first full second after it (searched in
    // 100 ms steps) back at the calm rate, error-free, with p99 within twice that.
    let mut before_ok: Vec<u64> = extras
        .samples
        .iter()
        .filter(|s| s.ok && s.done_us < before.as_micros() as u64)
        .map(|s| s.latency_us)
        .collect();
    let before_p99_us = p99(&mut before_ok);
    let burst_end_us = (before + burst).as_micros() as u64;
    let recovered = first_good_second(
        &extras.samples,
        burst_end_us,
        before + burst + calm,
        |ok, errors, p99| ok as f64 >= 0.9 * lo && errors == 0 && p99 <= 2.0 * before_p99_us,
    );
    let good = |s: &crate::results::Second| s.completed.saturating_sub(s.errors) as f64;
    let in_burst: Vec<_> = seconds
        .iter()
        .filter(|s| (from..to).contains(&f64::from(s.t)))
        .collect();
    let goodput = in_burst.iter().map(|s| good(s)).sum::<f64>() / in_burst.len().max(1) as f64;
    run.fine_timeline = fine_timeline(&extras.samples, before + burst + calm, FINE_BIN);
    let p99_ms = |h: &hdrhistogram::Histogram<u64>| {
        (!h.is_empty()).then(|| h.value_at_quantile(0.99) as f64 / 1e3)
    };
    let mut refusals = extras.refusals.clone();
    let _ = refusals.add(&extras.local_refusals);
    run.fault = Some(Fault {
        kind: "overload".into(),
        service: None,
        detail: format!(
            "{lo:.0}/s for {from:.0} s, then {hi:.0}/s ({high}× the knee of {:.0}/s) for {:.1} s, then {lo:.0}/s ({low}×) for {:.1} s; services admit: {}",
            o.knee,
            burst.as_secs_f64(),
            calm.as_secs_f64(),
            o.admission
        ),
        window_s: [from, to],
        errors_during: errors_between(&extras, from, to),
        recovery_ms: recovered.map(|start| (start - burst_end_us) as f64 / 1000.0),
        outlived_deadline: extras.over_deadline,
        baseline_rps: None,
        shedding: Some(Shedding {
            admission: o.admission,
            offered_rps: hi,
            goodput_rps: goodput,
            peak_rps: o.peak,
            refusal_p99_ms: p99_ms(&refusals),
            service_refusal_p99_ms: p99_ms(&extras.refusals),
            local_refusal_p99_ms: p99_ms(&extras.local_refusals),
            start_lag_p99_ms: p99_ms(&extras.start_lag),
            before_p99_ms: before_p99_us / 1e3,
            // The bench's own client to Orders refuses locally once Orders has been refusing.
            throttled: networked.then(|| extras.local_refusals.len()),
        }),
        backlog: std::mem::take(&mut *backlog.lock().expect("backlog")),
    });
    Some((run, hist))
}
