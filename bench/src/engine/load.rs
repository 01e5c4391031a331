//! The load engine, generic over what it sends ([`Call`]): an open loop at a constant arrival
//! rate with latency measured from each request's intended start (coordinated omission corrected,
//! as wrk2 does), and a closed loop of N clients. Warm-up is discarded; every completion is
//! recorded by the task that finished it into a shard of the step's [`Collector`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::collect::{Collector, Sent, Tally};
use crate::engine::workload::Call;

/// Most requests the open loop keeps in flight; past it a request is counted as `generator_overrun`.
/// Every request is cancelled at its deadline (5 s), so up to 20,000/s offered (the in-process
/// overload burst, twice its knee, offered 13,000–18,600/s on copies that shed nothing in the
/// runs so far) the bound cannot be reached unless the generator itself falls behind; it still
/// caps the memory a runaway step can take (a few hundred MiB).
pub const MAX_IN_FLIGHT: u64 = 100_000;

/// How long after [`run_step`] is called its schedule begins (time for the dispatcher thread to
/// start); a step's warm-up counts from then.
pub const START_DELAY: Duration = Duration::from_millis(5);

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
    /// Every completion the step recorded, merged; requests still running after the drain are
    /// counted as `unfinished` errors.
    pub tally: Tally,
    /// Mean requests in flight in the window.
    pub in_flight_mean: f64,
    /// The measured window.
    pub window: Duration,
    /// Mean delay between a request's intended start and its dispatch (open loop), µs.
    pub lag_mean_us: f64,
    /// Largest such delay, µs.
    pub lag_max_us: f64,
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
struct Driver {
    /// Asks the dispatcher to stop early (open loop).
    stop: Arc<AtomicBool>,
    /// Set once no request will be dispatched any more.
    done: Arc<AtomicBool>,
    /// The closed loop's clients, aborted when the step ends.
    clients: Option<tokio::task::JoinHandle<()>>,
}

impl Driver {
    fn finished(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.clients {
            task.abort();
        }
    }
}

/// Runs one step: `warmup` then `window`, then waits (at most `drain`) for stragglers.
pub async fn run_step(
    call: Arc<dyn Call>,
    mode: Mode,
    warmup: Duration,
    window: Duration,
    drain: Duration,
) -> StepResult {
    run_step_with_deadline(call, mode, warmup, window, drain, Duration::MAX, false).await
}

/// [`run_step`], also counting requests whose latency exceeded `deadline_limit`, and keeping
/// every request of the window when `keep_samples`.
pub async fn run_step_with_deadline(
    call: Arc<dyn Call>,
    mode: Mode,
    warmup: Duration,
    window: Duration,
    drain: Duration,
    deadline_limit: Duration,
    keep_samples: bool,
) -> StepResult {
    let start = Instant::now() + START_DELAY;
    let (measure_from, measure_to) = (start + warmup, start + warmup + window);
    let collector = Arc::new(
        Collector::new(measure_from, measure_to, deadline_limit).keeping_samples(keep_samples),
    );
    let in_flight = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn(sample_in_flight(
        in_flight.clone(),
        measure_from,
        measure_to,
    ));
    let lag = Arc::new(LagStats::default());
    let load = Load {
        call,
        collector: collector.clone(),
        in_flight: in_flight.clone(),
        lag: lag.clone(),
    };
    let driver = match mode {
        Mode::Open { rate } => {
            drive_open(load, vec![(measure_to - start, rate)], start, measure_to)
        }
        Mode::Phased { phases } => drive_open(load, phases, start, measure_to),
        Mode::Closed { clients } => drive_closed(load, clients, start, measure_to),
    };
    // Every request meant to start in the window is waited for (up to `drain`), so a slow tail is
    // counted; the collector has it once its task has recorded and left the in-flight count.
    let deadline = measure_to + drain;
    tokio::time::sleep_until(measure_to.into()).await;
    while !(driver.finished() && in_flight.load(Ordering::Acquire) == 0)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let unfinished = in_flight.load(Ordering::Acquire);
    driver.stop();
    let in_flight_mean = sampler.await.unwrap_or(0.0);
    step_result(collector.tally(), unfinished, in_flight_mean, window, &lag)
}

/// Samples the requests in flight through the window, every 5 ms, for Little's law.
async fn sample_in_flight(in_flight: Arc<AtomicU64>, from: Instant, to: Instant) -> f64 {
    tokio::time::sleep_until(from.into()).await;
    let (mut sum, mut n) = (0u64, 0u64);
    while Instant::now() < to {
        sum += in_flight.load(Ordering::Relaxed);
        n += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if n == 0 { 0.0 } else { sum as f64 / n as f64 }
}

fn step_result(
    mut t: Tally,
    unfinished: u64,
    in_flight_mean: f64,
    window: Duration,
    lag: &LagStats,
) -> StepResult {
    if unfinished > 0 {
        // Still running after the drain: counted as errors of their own kind.
        *t.errors.entry("unfinished".into()).or_default() += unfinished;
        t.requests += unfinished;
        t.dispatched += unfinished;
    }
    StepResult {
        tally: t,
        in_flight_mean,
        window,
        lag_mean_us: lag.mean_us(),
        lag_max_us: lag.max_us.load(Ordering::Relaxed) as f64,
    }
}

/// What every driver needs: the request, where completions go, the in-flight count, the
/// dispatcher's lateness.
struct Load {
    call: Arc<dyn Call>,
    collector: Arc<Collector>,
    in_flight: Arc<AtomicU64>,
    lag: Arc<LagStats>,
}

impl Load {
    /// Sends request `i`, meant to start at `intended`, and records it (before it leaves the
    /// in-flight count, so a drained step has every completion).
    async fn send(&self, i: u64, intended: Instant) {
        // Dispatched a little early (see `drive_open`): the task itself waits for its instant,
        // yielding to the runtime, so neither the dispatcher's nor a parked worker's wake-up is
        // charged to the target.
        while Instant::now() < intended {
            tokio::task::yield_now().await;
        }
        let started = Instant::now();
        let (outcome, refused_locally) =
            checkout_core::admission::noting_local_refusals(self.call.call(i, intended)).await;
        let sent = Sent {
            started,
            refused_locally,
        };
        self.collector
            .record(i, intended, Some(sent), Instant::now(), outcome);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open loop: a dedicated thread keeps the schedule (`thread::sleep` wakes within tens of µs,
/// where the async timer's 1 ms granularity would charge its slack to the target) and spawns each
/// request on the runtime a little before its intended time — a tenth of the interval, at most
/// [`MAX_EARLY`] — and the request's task waits for that instant itself. Both wake-ups on the
/// way (this thread's from its sleep, then a parked runtime worker's) take tens of µs on a VM,
/// up to a third of an in-process checkout at light load; begun early they are the generator's
/// cost, not the target's. The task's wait yields to the runtime, and a tenth of the interval
/// bounds what it can take (a tenth of a core at any rate).
fn drive_open(load: Load, phases: Vec<(Duration, f64)>, start: Instant, end: Instant) -> Driver {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let handle = tokio::runtime::Handle::current();
    let (flag, finished) = (stop.clone(), done.clone());
    let load = Arc::new(load);
    std::thread::spawn(move || {
        // Linux lets a sleeping thread wake up to 50 µs late (its timer slack) to batch
        // wake-ups; every such microsecond would be charged to the target.
        let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
        for (i, (intended, interval)) in schedule(&phases, start, end).enumerate() {
            if flag.load(Ordering::Relaxed) {
                break;
            }
            let early = (interval / 10).min(MAX_EARLY);
            let now = Instant::now();
            if intended > now + early {
                std::thread::sleep(intended - early - now);
            }
            load.lag.record(intended.elapsed().as_micros() as u64);
            let i = i as u64;
            if load.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
                load.collector
                    .record(i, intended, None, Instant::now(), Err("generator_overrun"));
            } else {
                load.in_flight.fetch_add(1, Ordering::AcqRel);
                let load = load.clone();
                handle.spawn(async move { load.send(i, intended).await });
            }
        }
        finished.store(true, Ordering::Release);
    });
    Driver {
        stop,
        done,
        clients: None,
    }
}

/// How early, at most, the open loop hands a request to the runtime before its intended start
/// (a VM's wake-up takes tens of µs).
const MAX_EARLY: Duration = Duration::from_micros(200);

/// Intended start times, each with its phase's interval: each phase at its own rate, the last
/// one lasting to `end`.
fn schedule(
    phases: &[(Duration, f64)],
    start: Instant,
    end: Instant,
) -> impl Iterator<Item = (Instant, Duration)> + '_ {
    let last = phases.len().saturating_sub(1);
    let mut phase_start = start;
    phases
        .iter()
        .enumerate()
        .flat_map(move |(k, &(length, rate))| {
            let from = phase_start;
            let to = if k == last {
                end
            } else {
                (from + length).min(end)
            };
            phase_start = to;
            let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
            (0u64..)
                .map(move |j| (from + interval.mul_f64(j as f64), interval))
                .take_while(move |(t, _)| *t < to)
        })
}

/// The closed loop: `clients` tasks, each sending its next request when the previous one ends.
fn drive_closed(load: Load, clients: usize, start: Instant, end: Instant) -> Driver {
    let done = Arc::new(AtomicBool::new(false));
    let finished = done.clone();
    let load = Arc::new(load);
    let task = tokio::spawn(async move {
        let next = Arc::new(AtomicU64::new(0));
        tokio::time::sleep_until(start.into()).await;
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                let (load, next) = (load.clone(), next.clone());
                tokio::spawn(async move {
                    while Instant::now() < end {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        load.in_flight.fetch_add(1, Ordering::AcqRel);
                        load.send(i, Instant::now()).await;
                    }
                })
            })
            .collect();
        for w in workers {
            let _ = w.await;
        }
        finished.store(true, Ordering::Release);
    });
    Driver {
        stop: Arc::new(AtomicBool::new(false)),
        done,
        clients: Some(task),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::workload::Outcome;

    /// A target that takes a fixed time.
    struct Sleepy {
        each: Duration,
    }

    #[async_trait::async_trait]
    impl Call for Sleepy {
        async fn call(&self, _i: u64, _intended: Instant) -> Outcome {
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
            (340..=460).contains(&r.tally.requests),
            "{} requests at 400/s for 1 s",
            r.tally.requests
        );
        let p50 = r.tally.histogram.value_at_quantile(0.5);
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

    /// A target that notes how many requests began before their intended start.
    #[derive(Default)]
    struct Punctual {
        early: AtomicU64,
        calls: AtomicU64,
    }

    #[async_trait::async_trait]
    impl Call for Punctual {
        async fn call(&self, _i: u64, intended: Instant) -> Outcome {
            if Instant::now() < intended {
                self.early.fetch_add(1, Ordering::Relaxed);
            }
            self.calls.fetch_add(1, Ordering::Relaxed);
            Ok("ok")
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_loop_hands_requests_over_early_but_none_begins_before_its_time() {
        let call = Arc::new(Punctual::default());
        let r = run_step(
            call.clone(),
            Mode::Open { rate: 500.0 },
            Duration::from_millis(100),
            Duration::from_millis(500),
            Duration::from_secs(1),
        )
        .await;
        assert!(r.tally.requests > 100, "{} requests", r.tally.requests);
        assert!(call.calls.load(Ordering::Relaxed) >= r.tally.requests);
        assert_eq!(
            call.early.load(Ordering::Relaxed),
            0,
            "requests began early"
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
        assert!(
            (140..=210).contains(&r.tally.requests),
            "{}",
            r.tally.requests
        );
        assert!(
            (3.5..=4.0).contains(&r.in_flight_mean),
            "{}",
            r.in_flight_mean
        );
    }
}
