//! The load engine, generic over what it sends ([`Call`]): an open loop at a constant arrival
//! rate with latency measured from each request's intended start (coordinated omission corrected,
//! as wrk2 does), and a closed loop of N clients. Warm-up is discarded; one collector records
//! every completion into the step's HdrHistogram and a per-second series.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc;

use crate::engine::workload::{Call, Outcome};

/// Most requests the open loop keeps in flight; past it a request is counted as `generator_overrun`.
pub const MAX_IN_FLIGHT: u64 = 20_000;

/// How a step loads its target.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Requests start at `rate` per second, whether or not earlier ones finished.
    Open { rate: f64 },
    /// `clients` loops, each sending its next request when the previous one ends.
    Closed { clients: usize },
    /// Open loop whose rate changes: each phase's rate holds for its duration (from the start of
    /// the warm-up); the last phase lasts to the end of the step.
    Phased { phases: Vec<(Duration, f64)> },
}

/// What one step measured (before resource sampling is attached).
pub struct StepResult {
    /// Latency of successful requests, µs.
    pub histogram: Histogram<u64>,
    /// Requests meant to start in the window (successes and errors, however late they ended).
    pub requests: u64,
    /// Every request the step sent, warm-up included: what the step's CPU time was spent on.
    pub dispatched: u64,
    /// Successful requests that completed inside the window: the achieved throughput.
    pub completed_in_window: u64,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
    /// Success labels.
    pub outcomes: BTreeMap<String, u64>,
    /// Per second: completed, errors, histogram.
    pub seconds: Vec<(u64, u64, Histogram<u64>)>,
    /// Mean requests in flight in the window.
    pub in_flight_mean: f64,
    /// The measured window.
    pub window: Duration,
    /// Mean delay between a request's intended start and its dispatch (open loop), µs.
    pub lag_mean_us: f64,
    /// Largest such delay, µs.
    pub lag_max_us: f64,
    /// When each failed request was meant to start, from the start of the window.
    pub error_offsets: Vec<Duration>,
    /// Requests whose latency exceeded the step's deadline (they outlived it).
    pub over_deadline: u64,
}

/// How late the open loop dispatched requests relative to their schedule.
#[derive(Default)]
struct LagStats {
    sum_us: AtomicU64,
    count: AtomicU64,
    max_us: AtomicU64,
}

impl LagStats {
    fn record(&self, us: u64) {
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }
    fn mean_us(&self) -> f64 {
        let n = self.count.load(Ordering::Relaxed);
        if n == 0 {
            0.0
        } else {
            self.sum_us.load(Ordering::Relaxed) as f64 / n as f64
        }
    }
}

/// The running load: a dispatcher thread (open loop) or client tasks (closed loop).
enum Driver {
    Open(Arc<AtomicBool>),
    Closed(tokio::task::JoinHandle<()>),
}

impl Driver {
    fn stop(self) {
        match self {
            Driver::Open(stop) => stop.store(true, Ordering::Relaxed),
            Driver::Closed(task) => task.abort(),
        }
    }
}

struct Sample {
    intended: Instant,
    done: Instant,
    outcome: Outcome,
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// Runs one step: `warmup` then `window`, then waits (at most `drain`) for stragglers.
pub async fn run_step(
    call: Arc<dyn Call>,
    mode: Mode,
    warmup: Duration,
    window: Duration,
    drain: Duration,
) -> StepResult {
    run_step_with_deadline(call, mode, warmup, window, drain, Duration::MAX).await
}

/// [`run_step`], also counting requests whose latency exceeded `deadline_limit`.
pub async fn run_step_with_deadline(
    call: Arc<dyn Call>,
    mode: Mode,
    warmup: Duration,
    window: Duration,
    drain: Duration,
    deadline_limit: Duration,
) -> StepResult {
    let (tx, mut rx) = mpsc::unbounded_channel::<Sample>();
    let in_flight = Arc::new(AtomicU64::new(0));
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + warmup;
    let measure_to = measure_from + window;

    // Samples in-flight counts through the window for Little's law.
    let sampler = {
        let in_flight = in_flight.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            let (mut sum, mut n) = (0u64, 0u64);
            while Instant::now() < measure_to {
                sum += in_flight.load(Ordering::Relaxed);
                n += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if n == 0 { 0.0 } else { sum as f64 / n as f64 }
        })
    };

    let lag = Arc::new(LagStats::default());
    let driver = drive(
        call,
        mode,
        start,
        measure_to,
        tx,
        in_flight.clone(),
        lag.clone(),
    );

    let mut result = StepResult {
        histogram: new_histogram(),
        requests: 0,
        dispatched: 0,
        errors: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        seconds: (0..window.as_secs_f64().ceil() as usize)
            .map(|_| (0, 0, new_histogram()))
            .collect(),
        in_flight_mean: 0.0,
        window,
        completed_in_window: 0,
        lag_mean_us: 0.0,
        lag_max_us: 0.0,
        error_offsets: Vec::new(),
        over_deadline: 0,
    };
    // A request belongs to the step when it was meant to start inside the window, however late it
    // ends: the collector waits (up to `drain`) for every one of them, so a slow tail is counted.
    let deadline = measure_to + drain;
    loop {
        let sample = tokio::select! {
            s = rx.recv() => match s { Some(s) => s, None => break },
            _ = tokio::time::sleep_until(deadline.into()) => break,
        };
        result.dispatched += 1;
        if sample.intended < measure_from || sample.intended >= measure_to {
            continue;
        }
        result.requests += 1;
        let latency = (sample.done - sample.intended).as_micros().max(1) as u64;
        if sample.done - sample.intended > deadline_limit {
            result.over_deadline += 1;
        }
        let in_window = sample.done < measure_to;
        let second = ((sample.done.saturating_duration_since(measure_from)).as_secs() as usize)
            .min(result.seconds.len().saturating_sub(1));
        let slot = &mut result.seconds[second];
        slot.0 += 1;
        match sample.outcome {
            Ok(label) => {
                let _ = result.histogram.record(latency.min(60_000_000));
                let _ = slot.2.record(latency.min(60_000_000));
                *result.outcomes.entry(label.to_owned()).or_default() += 1;
                result.completed_in_window += u64::from(in_window);
            }
            Err(kind) => {
                slot.1 += 1;
                *result.errors.entry(kind.to_owned()).or_default() += 1;
                result.error_offsets.push(sample.intended - measure_from);
            }
        }
    }
    let unfinished = in_flight.load(Ordering::Relaxed);
    if unfinished > 0 {
        // Still running after the drain: counted as errors of their own kind.
        result.requests += unfinished;
        result.dispatched += unfinished;
        *result.errors.entry("unfinished".into()).or_default() += unfinished;
    }
    driver.stop();
    result.in_flight_mean = sampler.await.unwrap_or(0.0);
    result.lag_mean_us = lag.mean_us();
    result.lag_max_us = lag.max_us.load(Ordering::Relaxed) as f64;
    result
}

fn drive(
    call: Arc<dyn Call>,
    mode: Mode,
    start: Instant,
    end: Instant,
    tx: mpsc::UnboundedSender<Sample>,
    in_flight: Arc<AtomicU64>,
    lag: Arc<LagStats>,
) -> Driver {
    match mode {
        Mode::Open { .. } | Mode::Phased { .. } => {
            let phases = match mode {
                Mode::Open { rate } => vec![(end - start, rate)],
                Mode::Phased { phases } => phases,
                Mode::Closed { .. } => unreachable!("closed loop handled below"),
            };
            // A dedicated thread keeps the schedule: `thread::sleep` wakes within tens of µs,
            // where the async timer's 1 ms granularity would charge its slack to the target.
            let stop = Arc::new(AtomicBool::new(false));
            let handle = tokio::runtime::Handle::current();
            let flag = stop.clone();
            std::thread::spawn(move || {
                // Linux lets a sleeping thread wake up to 50 µs late (its timer slack) to batch
                // wake-ups; every such microsecond would be charged to the target.
                let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
                let mut i: u64 = 0;
                let mut phase_start = start;
                let last = phases.len().saturating_sub(1);
                let mut schedule = phases.iter().enumerate().flat_map(|(k, &(length, rate))| {
                    let from = phase_start;
                    let to = if k == last {
                        end
                    } else {
                        (from + length).min(end)
                    };
                    phase_start = to;
                    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
                    (0u64..)
                        .map(move |j| from + interval.mul_f64(j as f64))
                        .take_while(move |t| *t < to)
                });
                while !flag.load(Ordering::Relaxed) {
                    let Some(intended) = schedule.next() else {
                        break;
                    };
                    let now = Instant::now();
                    if intended > now {
                        std::thread::sleep(intended - now);
                    }
                    lag.record(intended.elapsed().as_micros() as u64);
                    if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
                        let _ = tx.send(Sample {
                            intended,
                            done: Instant::now(),
                            outcome: Err("generator_overrun"),
                        });
                    } else {
                        in_flight.fetch_add(1, Ordering::Relaxed);
                        let (call, tx, in_flight) = (call.clone(), tx.clone(), in_flight.clone());
                        handle.spawn(async move {
                            let outcome = call.call(i).await;
                            in_flight.fetch_sub(1, Ordering::Relaxed);
                            let _ = tx.send(Sample {
                                intended,
                                done: Instant::now(),
                                outcome,
                            });
                        });
                    }
                    i += 1;
                }
            });
            Driver::Open(stop)
        }
        Mode::Closed { clients } => Driver::Closed(tokio::spawn(async move {
            let next = Arc::new(AtomicU64::new(0));
            tokio::time::sleep_until(start.into()).await;
            let workers: Vec<_> = (0..clients)
                .map(|_| {
                    let (call, tx, in_flight, next) =
                        (call.clone(), tx.clone(), in_flight.clone(), next.clone());
                    tokio::spawn(async move {
                        while Instant::now() < end {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let intended = Instant::now();
                            in_flight.fetch_add(1, Ordering::Relaxed);
                            let outcome = call.call(i).await;
                            in_flight.fetch_sub(1, Ordering::Relaxed);
                            let _ = tx.send(Sample {
                                intended,
                                done: Instant::now(),
                                outcome,
                            });
                        }
                    })
                })
                .collect();
            for w in workers {
                let _ = w.await;
            }
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target that takes a fixed time.
    struct Sleepy {
        each: Duration,
    }

    #[async_trait::async_trait]
    impl Call for Sleepy {
        async fn call(&self, _i: u64) -> Outcome {
            tokio::time::sleep(self.each).await;
            Ok("ok")
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_loop_keeps_its_rate_and_little_holds() {
        let call = Arc::new(Sleepy {
            each: Duration::from_millis(10),
        });
        let r = run_step(
            call,
            Mode::Open { rate: 400.0 },
            Duration::from_millis(200),
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .await;
        assert!(
            (340..=460).contains(&r.requests),
            "{} requests at 400/s for 1 s",
            r.requests
        );
        let p50 = r.histogram.value_at_quantile(0.5);
        assert!(
            (10_000..40_000).contains(&p50),
            "p50 {p50} µs for a 10 ms call"
        );
        // L = λW: 400/s × ~10 ms ≈ 4 in flight.
        assert!(
            (2.0..8.0).contains(&r.in_flight_mean),
            "in flight {}",
            r.in_flight_mean
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closed_loop_runs_its_clients_back_to_back() {
        let call = Arc::new(Sleepy {
            each: Duration::from_millis(20),
        });
        let r = run_step(
            call,
            Mode::Closed { clients: 4 },
            Duration::from_millis(100),
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .await;
        // 4 clients × 1 s / 20 ms ≈ 200.
        assert!((140..=210).contains(&r.requests), "{}", r.requests);
        assert!(
            (3.5..=4.0).contains(&r.in_flight_mean),
            "{}",
            r.in_flight_mean
        );
    }
}
