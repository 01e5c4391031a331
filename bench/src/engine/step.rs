//! One measured step: the load runs (with a fault beside it, or none) while the target's
//! processes are sampled; the raw measurements become a [`Run`] of the report model.

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::cluster::target::{Target, TargetKind};
use crate::engine::load::{Mode, StepResult, run_step_with_deadline};
use crate::engine::workload::Call;
use crate::results::*;

/// Deadline Orders gives each checkout's chain in a run, ms: the services' own default.
pub const CHAIN_TIMEOUT_MS: u64 = checkout_core::services::DEFAULT_CHAIN_TIMEOUT.as_millis() as u64;

/// The latency summary of a histogram.
pub(crate) fn summarize(h: &Histogram<u64>) -> Latency {
    if h.is_empty() {
        return Latency::default();
    }
    Latency {
        p50: h.value_at_quantile(0.5) as f64,
        p90: h.value_at_quantile(0.9) as f64,
        p99: h.value_at_quantile(0.99) as f64,
        p999: h.value_at_quantile(0.999) as f64,
        max: h.max() as f64,
        mean: h.mean(),
    }
}

/// Who a step measures: copied out of the [`Target`] so a fault can hold the target's processes.
pub struct TargetInfo {
    /// Which wiring.
    pub kind: TargetKind,
    /// Processes to sample.
    pub processes: Vec<(String, u32)>,
    /// Where the services' core meters are read.
    pub meter: crate::engine::meter::MeterSource,
}

impl TargetInfo {
    /// The step-relevant facts of `t`.
    pub fn of(t: &Target) -> Self {
        Self {
            kind: t.kind,
            processes: t.processes(),
            meter: t.meter_source(),
        }
    }
}

/// How one step runs.
pub struct StepSpec<'a> {
    /// Load shape.
    pub mode: Mode,
    /// Warm-up.
    pub warmup: Duration,
    /// Measured window.
    pub window: Duration,
    /// Scenario name.
    pub scenario: &'a str,
    /// Step index.
    pub step: usize,
    /// Step label in the run id (`200rps`, `c16`, or the fault's).
    pub label: String,
    /// Keep every request of the window ([`StepExtras::samples`]): fault steps, for their
    /// 100 ms timeline; sweeps record per second only.
    pub samples: bool,
}

/// What a step measured beyond its [`Run`]: for fault analysis.
pub struct StepExtras {
    /// When each failed request was meant to start, from the window's start.
    pub error_offsets: Vec<Duration>,
    /// Requests that outlived the deadline.
    pub over_deadline: u64,
    /// Latency of the requests the target's services refused for overload, µs.
    pub refusals: Histogram<u64>,
    /// Latency of the requests the bench's own client refused before sending them, µs.
    pub local_refusals: Histogram<u64>,
    /// How late requests' tasks began past their intended start, µs (the generator's lag).
    pub start_lag: Histogram<u64>,
    /// Every request of the window as it ended (when the spec asked for them).
    pub samples: Vec<crate::engine::collect::Sample>,
    /// Requests sent, warm-up included (what the CPU per request is over).
    pub dispatched: u64,
}

/// Resolution of the fault steps' timelines: a 1 s outage is a tenth of a 1 s bin's width.
pub const FINE_BIN: Duration = Duration::from_millis(100);

/// The window's requests in bins of `bin` by when they ended: completed (errors included),
/// errors, and p99 of the successful ones.
pub fn fine_timeline(
    samples: &[crate::engine::collect::Sample],
    window: Duration,
    bin: Duration,
) -> Vec<Bin> {
    let width = bin.as_micros().max(1) as u64;
    let n = (window.as_micros() as u64).div_ceil(width) as usize;
    let mut bins: Vec<(u64, u64, Vec<u64>)> = vec![(0, 0, Vec::new()); n];
    for s in samples {
        let Some(b) = bins.get_mut(((s.done_us / width) as usize).min(n.saturating_sub(1))) else {
            continue;
        };
        b.0 += 1;
        if s.ok {
            b.2.push(s.latency_us);
        } else {
            b.1 += 1;
        }
    }
    bins.into_iter()
        .enumerate()
        .map(|(k, (completed, errors, mut ok))| Bin {
            t_s: k as f64 * bin.as_secs_f64(),
            completed,
            errors,
            p99_us: p99(&mut ok),
        })
        .collect()
}

/// The 99th percentile of `v` (nearest rank), 0 when empty.
pub fn p99(v: &mut [u64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1] as f64
}

/// The first time at or after `from` (µs into the window) at which one second of requests meets
/// `good` (successes that ended in it, errors, and their p99 in µs), searched in steps of
/// [`FINE_BIN`]; `None` if no full second before `window`'s end does.
pub fn first_good_second(
    samples: &[crate::engine::collect::Sample],
    from_us: u64,
    window: Duration,
    good: impl Fn(u64, u64, f64) -> bool,
) -> Option<u64> {
    let end = window.as_micros() as u64;
    let step = FINE_BIN.as_micros() as u64;
    let mut start = from_us;
    while start + 1_000_000 <= end {
        let in_it = samples
            .iter()
            .filter(|s| (start..start + 1_000_000).contains(&s.done_us));
        let (mut ok, mut errors) = (Vec::new(), 0u64);
        for s in in_it {
            if s.ok {
                ok.push(s.latency_us);
            } else {
                errors += 1;
            }
        }
        let n = ok.len() as u64;
        if good(n, errors, p99(&mut ok)) {
            return Some(start);
        }
        start += step;
    }
    None
}

/// Runs one step while `inject` runs beside it (a fault, or nothing), sampling resources.
pub async fn measure_step(
    call: Arc<dyn Call>,
    spec: StepSpec<'_>,
    t: &TargetInfo,
    calibration: &Calibration,
    inject: impl std::future::Future<Output = ()>,
) -> (Run, Histogram<u64>, StepExtras) {
    let StepSpec {
        mode,
        warmup,
        window: step_window,
        scenario,
        step,
        label: step_label,
        samples,
    } = spec;
    let meter_before = t.meter.read().await;
    let mut sampler = crate::engine::procfs::ResourceSampler::start(t.processes.clone());
    let lo_before = crate::engine::procfs::loopback_bytes();
    let lo_packets_before = crate::engine::procfs::loopback_packets();
    let run = crate::engine::driver::run(
        t.kind.stack().is_some(),
        run_step_with_deadline(
            call,
            mode.clone(),
            warmup,
            step_window,
            Duration::from_millis(CHAIN_TIMEOUT_MS + 1500),
            Duration::from_millis(CHAIN_TIMEOUT_MS + 1000),
            samples,
        ),
    );
    tokio::pin!(run);
    tokio::pin!(inject);
    let mut injected = false;
    let measured: StepResult = loop {
        tokio::select! {
            r = &mut run => break r,
            _ = &mut inject, if !injected => injected = true,
            _ = tokio::time::sleep(Duration::from_millis(250)) => sampler.sample(),
        }
    };
    let lo_after = crate::engine::procfs::loopback_bytes();
    let lo_packets_after = crate::engine::procfs::loopback_packets();
    let usage = sampler.finish();
    let meter_after = t.meter.read().await;
    // In-process sends nothing over loopback: whatever it counted was someone else's.
    let per_request = |before, after| {
        crate::engine::procfs::per_request(before, after, measured.tally.requests)
            .filter(|_| t.kind != TargetKind::InProcess)
    };
    let wire = per_request(lo_before, lo_after);
    let packets = per_request(lo_packets_before, lo_packets_after);
    let mut run = to_run(&measured, &mode, calibration);
    run.id = format!("{scenario}-{}-{step_label}", t.kind);
    run.scenario = scenario.into();
    run.transport = t.kind.transport().into();
    run.http_version = t.kind.http_version().map(Into::into);
    run.target = t.kind.label().into();
    run.step = step;
    let tally = measured.tally;
    run.resources = per_request_usage(usage, tally.dispatched);
    run.core = crate::engine::meter::per_request(&meter_before, &meter_after, tally.dispatched);
    run.wire_bytes_per_request = wire;
    run.wire_packets_per_request = packets;
    let extras = StepExtras {
        error_offsets: tally.error_offsets,
        over_deadline: tally.over_deadline,
        refusals: tally.refusals,
        local_refusals: tally.local_refusals,
        start_lag: tally.start_lag,
        samples: tally.samples,
        dispatched: tally.dispatched,
    };
    (run, tally.histogram, extras)
}

/// What the load engine measured, as a [`Run`] not yet named for its target and scenario.
fn to_run(m: &StepResult, mode: &Mode, calibration: &Calibration) -> Run {
    let r = &m.tally;
    let window = m.window.as_secs_f64();
    let latency = summarize(&r.histogram);
    let achieved = r.completed_in_window as f64 / window;
    let (offered, concurrency) = match mode {
        Mode::Open { rate } => (Some(*rate), None),
        Mode::Closed { clients } => (None, Some(*clients)),
        Mode::Phased { phases } => (phases.iter().map(|p| p.1).reduce(f64::max), None),
    };
    Run {
        id: String::new(),
        scenario: String::new(),
        transport: String::new(),
        http_version: None,
        target: String::new(),
        step: 0,
        offered_rps: offered,
        concurrency,
        duration_s: window,
        achieved_rps: achieved,
        requests: r.requests,
        errors: r.errors.values().sum(),
        errors_by_kind: r.errors.clone(),
        outcomes: r.outcomes.clone(),
        latency_us: latency,
        timeline: timeline(&r.seconds),
        fine_timeline: Vec::new(),
        resources: Vec::new(),
        core: Vec::new(),
        wire_bytes_per_request: None,
        wire_packets_per_request: None,
        littles_law: littles_law(m.in_flight_mean, achieved, latency.mean),
        generator_lag_us: (m.lag_mean_us, m.lag_max_us),
        start_lag_p99_us: (!r.start_lag.is_empty())
            .then(|| r.start_lag.value_at_quantile(0.99) as f64),
        fault: None,
        trials: Vec::new(),
        spread: None,
        probe: false,
        p50_floor_ratio: floor_ratio(latency.p50, calibration),
    }
}

/// Little's law on a step: mean in flight against rate × mean latency (µs), within 25% or half
/// a request.
pub(crate) fn littles_law(in_flight_mean: f64, achieved_rps: f64, mean_us: f64) -> LittlesLaw {
    let predicted = achieved_rps * mean_us / 1e6;
    LittlesLaw {
        in_flight_mean,
        predicted,
        holds: (in_flight_mean - predicted).abs()
            <= (0.25 * in_flight_mean.max(predicted)).max(0.5),
    }
}

/// A median as a multiple of the calibrated floor (0 without one).
pub(crate) fn floor_ratio(p50_us: f64, calibration: &Calibration) -> f64 {
    if calibration.floor_latency_us > 0.0 {
        p50_us / calibration.floor_latency_us
    } else {
        0.0
    }
}

/// The per-second series: completions, errors and p99 of each second of the window.
fn timeline(seconds: &[(u64, u64, Histogram<u64>)]) -> Vec<Second> {
    seconds
        .iter()
        .enumerate()
        .map(|(i, (n, e, h))| Second {
            t: i as u32,
            completed: *n,
            errors: *e,
            p99_us: if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(0.99) as f64
            },
        })
        .collect()
}

/// Each process's CPU per request the step sent (warm-up included, as the CPU is).
fn per_request_usage(usage: Vec<(String, f64, f64, f64)>, dispatched: u64) -> Vec<ProcessUsage> {
    usage
        .into_iter()
        .map(|(process, cpu_s, cpu_pct, rss)| ProcessUsage {
            process,
            cpu_pct,
            cpu_us_per_request: if dispatched > 0 {
                cpu_s * 1e6 / dispatched as f64
            } else {
                0.0
            },
            rss_mib_max: rss,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::collect::Sample;

    /// One request a millisecond for `secs` seconds, each taking `latency(t_ms)` µs, failing
    /// when `fails(t_ms)`.
    fn samples(
        secs: u64,
        latency: impl Fn(u64) -> u64,
        fails: impl Fn(u64) -> bool,
    ) -> Vec<Sample> {
        (0..secs * 1000)
            .map(|ms| Sample {
                done_us: ms * 1000,
                latency_us: latency(ms),
                ok: !fails(ms),
            })
            .collect()
    }

    #[test]
    fn a_short_outage_shows_in_the_100_ms_bins() {
        // 300 ms of errors from 1.2 s: in 1 s bins it would be a dip of a third of one bin.
        let s = samples(3, |_| 1_000, |ms| (1200..1500).contains(&ms));
        let bins = fine_timeline(&s, Duration::from_secs(3), FINE_BIN);
        assert_eq!(bins.len(), 30);
        assert!(bins.iter().all(|b| b.completed == 100));
        let failing: Vec<f64> = bins
            .iter()
            .filter(|b| b.errors == 100)
            .map(|b| b.t_s)
            .collect();
        assert_eq!(failing.len(), 3);
        assert!((failing[0] - 1.2).abs() < 1e-9);
        assert_eq!(bins[0].p99_us, 1_000.0);
        assert_eq!(bins[13].p99_us, 0.0, "no success in a failing bin");
    }

    #[test]
    fn recovery_is_found_to_the_100_ms() {
        // Slow (50 ms) until 2.35 s, then fast (1 ms): the first full second that is all fast
        // starts at 2.4 s, searched from 2.0 s in 100 ms steps.
        let s = samples(5, |ms| if ms < 2350 { 50_000 } else { 1_000 }, |_| false);
        let found = first_good_second(&s, 2_000_000, Duration::from_secs(5), |ok, errors, p99| {
            ok >= 900 && errors == 0 && p99 <= 2_000.0
        });
        assert_eq!(found, Some(2_400_000));
        let never = first_good_second(&s, 2_000_000, Duration::from_secs(5), |_, _, p99| p99 < 1.0);
        assert_eq!(never, None);
    }
}
