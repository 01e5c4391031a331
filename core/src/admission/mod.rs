//! Admission control at the edge of every service, and the bound on what a client sends to one
//! peer. Past its knee a service that accepts everything queues work it cannot finish before the
//! caller's deadline, does it anyway, and its goodput collapses; a service that refuses the excess
//! at once, before doing any of its work, keeps serving at its peak and the refused caller hears
//! within microseconds that it may retry.
//!
//! A [`Gate`] admits a forward request (a checkout, a payment, a listing) when fewer than its
//! limit are in flight and the time left before the request's deadline is at least the service's
//! recent median; otherwise it answers [`ServiceError::Overloaded`] and nothing is done.
//! Compensations (void, release, cancel) never pass through it: they undo work already admitted,
//! so refusing them would only leave that work live longer.
//!
//! The limit is static ([`Admission::Static`]) or adaptive ([`Admission::Adaptive`], a gradient
//! limiter after Netflix's `concurrency-limits` Gradient2: the limit shrinks when the recent
//! median latency rises past a tolerance of its long-run average, and grows by a small queue
//! allowance otherwise). [`Admission::Off`] admits everything, for comparison.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{ServiceError, ServiceResult};
use crate::ports::CallCtx;

mod peer;
pub use peer::{
    Lanes, PEER_IN_FLIGHT, PEER_WAITING, PeerLimit, THROTTLE_K, UNDO_IN_FLIGHT,
    noting_local_refusals,
};

/// Requests in flight a service admits by default. Chosen by measurement (2-core machine, one
/// open-loop burst at twice each stack's knee): 64 — the highest closed-loop concurrency the
/// bench drives — kept 55–68% of the peak in the reference run, 128 kept 68–77% (73–95% with the
/// caller's throttle), 256 with the throttle 79–117%: an open loop needs more in flight than a
/// closed one to keep every process busy, since its arrivals bunch. At ~3,000 checkouts/s 256 in
/// flight is under 0.1 s of work, far inside the 5 s chain deadline, and it still bounds what an
/// open loop past the knee can pile up.
pub const DEFAULT_LIMIT: usize = 256;

/// How a service decides what to admit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Everything is admitted (the behaviour without admission control).
    Off,
    /// At most this many forward requests in flight.
    Static(usize),
    /// A limit that follows latency, between [`ADAPTIVE_MIN`] and [`ADAPTIVE_MAX`].
    Adaptive,
}

impl Default for Admission {
    fn default() -> Self {
        Self::Static(DEFAULT_LIMIT)
    }
}

impl Admission {
    /// Parses `off`, `static`, `static:N` or `adaptive`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(Self::Off),
            "static" => Ok(Self::Static(DEFAULT_LIMIT)),
            "adaptive" => Ok(Self::Adaptive),
            _ => match s.strip_prefix("static:").map(str::parse::<usize>) {
                Some(Ok(n)) if n > 0 => Ok(Self::Static(n)),
                _ => Err(format!(
                    "admission {s:?}: expected off, static, static:N (N ≥ 1) or adaptive"
                )),
            },
        }
    }
}

impl std::fmt::Display for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Static(n) => write!(f, "static:{n}"),
            Self::Adaptive => f.write_str("adaptive"),
        }
    }
}

/// Smallest limit the adaptive gate goes down to.
pub const ADAPTIVE_MIN: f64 = 8.0;
/// Largest limit the adaptive gate goes up to.
pub const ADAPTIVE_MAX: f64 = 256.0;
/// Completions whose latencies make one window (median and limit update).
const WINDOW: usize = 32;
/// Gradient2's tolerance: the recent median may reach this multiple of the long-run one before
/// the limit shrinks.
const TOLERANCE: f64 = 1.5;
/// Requests the adaptive limit allows beyond what the latency gradient says (Gradient2's queue).
const QUEUE_ALLOWANCE: f64 = 4.0;
/// Weight of a new limit against the old one.
const SMOOTHING: f64 = 0.2;
/// Windows the long-run median averages over (about 600 completions, as in Gradient2).
const LONG_WINDOWS: f64 = 20.0;

/// One service's admission gate; clones share it.
#[derive(Clone)]
pub struct Gate(Arc<GateCore>);

struct GateCore {
    service: &'static str,
    mode: Admission,
    state: Mutex<GateState>,
}

struct GateState {
    in_flight: usize,
    /// The current limit (fixed when static).
    limit: f64,
    /// Latencies (µs) of the last completions, up to [`WINDOW`].
    window: Vec<u32>,
    /// Most requests in flight during the window.
    window_peak: usize,
    /// Median of the last full window, µs (0 before the first).
    median_us: u32,
    /// Long-run average of the windows' medians, µs (adaptive only).
    long_us: f64,
    admitted: u64,
    refused: u64,
}

/// Counters of a gate (what the tests read).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateStats {
    /// Forward requests admitted.
    pub admitted: u64,
    /// Forward requests refused.
    pub refused: u64,
    /// The limit now (`None` when off).
    pub limit: Option<f64>,
    /// Recent median latency of admitted requests.
    pub median: Duration,
}

/// An admitted request; its latency is recorded when it is dropped.
#[must_use = "the request counts as in flight while the permit lives"]
pub struct Permit {
    gate: Gate,
    since: Instant,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gate.release(self.since.elapsed());
    }
}

impl Gate {
    /// A gate for `service` (named in its refusals).
    pub fn new(service: &'static str, mode: Admission) -> Self {
        let limit = match mode {
            Admission::Off => f64::INFINITY,
            Admission::Static(n) => n as f64,
            Admission::Adaptive => DEFAULT_LIMIT as f64,
        };
        Self(Arc::new(GateCore {
            service,
            mode,
            state: Mutex::new(GateState {
                in_flight: 0,
                limit,
                window: Vec::with_capacity(WINDOW),
                window_peak: 0,
                median_us: 0,
                long_us: 0.0,
                admitted: 0,
                refused: 0,
            }),
        }))
    }

    /// Admits a forward request or refuses it at once, before any work: too many in flight, or
    /// less time left before `ctx`'s deadline than the service's recent median.
    pub fn admit(&self, ctx: CallCtx) -> ServiceResult<Permit> {
        let g = &self.0;
        if g.mode == Admission::Off {
            return Ok(Permit {
                gate: self.clone(),
                since: Instant::now(),
            });
        }
        let mut st = g.state.lock().expect("admission state");
        let median = Duration::from_micros(u64::from(st.median_us));
        let too_late = ctx.remaining().is_some_and(|left| left < median);
        if too_late || st.in_flight as f64 >= st.limit.floor() {
            st.refused += 1;
            // A slot frees, on average, within a median latency.
            let retry_after_ms = (median.as_millis() as u64).clamp(1, 1000);
            return Err(ServiceError::Overloaded {
                service: g.service,
                retry_after_ms,
            });
        }
        st.in_flight += 1;
        st.window_peak = st.window_peak.max(st.in_flight);
        st.admitted += 1;
        drop(st);
        Ok(Permit {
            gate: self.clone(),
            since: Instant::now(),
        })
    }

    fn release(&self, took: Duration) {
        let g = &self.0;
        if g.mode == Admission::Off {
            return;
        }
        let mut st = g.state.lock().expect("admission state");
        st.in_flight -= 1;
        st.window
            .push(took.as_micros().min(u32::MAX as u128) as u32);
        if st.window.len() < WINDOW {
            return;
        }
        let mid = st.window.len() / 2;
        let median = *st.window.select_nth_unstable(mid).1;
        st.window.clear();
        st.median_us = median;
        if g.mode == Admission::Adaptive {
            st.adapt(f64::from(median.max(1)));
        }
        st.window_peak = st.in_flight;
    }

    /// What the gate has done so far.
    #[cfg(test)]
    pub fn stats(&self) -> GateStats {
        let st = self.0.state.lock().expect("admission state");
        GateStats {
            admitted: st.admitted,
            refused: st.refused,
            limit: (self.0.mode != Admission::Off).then_some(st.limit),
            median: Duration::from_micros(u64::from(st.median_us)),
        }
    }
}

impl GateState {
    /// Gradient2's update, once a window: `limit × gradient + queue`, smoothed, where the gradient
    /// is the long-run median over the recent one (times the tolerance), between 0.5 and 1.
    fn adapt(&mut self, short_us: f64) {
        if self.long_us == 0.0 {
            self.long_us = short_us;
        } else {
            self.long_us += (short_us - self.long_us) / LONG_WINDOWS;
        }
        // After a spell of high latency, let the long-run figure come down quickly.
        if self.long_us / short_us > 2.0 {
            self.long_us *= 0.95;
        }
        // A limit the traffic never reached says nothing about the service: leave it.
        if (self.window_peak as f64) < self.limit / 2.0 {
            return;
        }
        let gradient = (TOLERANCE * self.long_us / short_us).clamp(0.5, 1.0);
        let target = self.limit * gradient + QUEUE_ALLOWANCE;
        self.limit =
            (self.limit * (1.0 - SMOOTHING) + target * SMOOTHING).clamp(ADAPTIVE_MIN, ADAPTIVE_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_static_gate_admits_up_to_its_limit_and_refuses_the_rest_at_once() {
        let gate = Gate::new("orders", Admission::Static(3));
        let ctx = CallCtx::unbounded();
        let held: Vec<_> = (0..3).map(|_| gate.admit(ctx).expect("admitted")).collect();
        let refused = gate.admit(ctx).err().expect("the fourth is refused");
        assert!(
            matches!(refused, ServiceError::Overloaded { service: "orders", retry_after_ms } if retry_after_ms >= 1),
            "{refused:?}"
        );
        drop(held);
        assert!(gate.admit(ctx).is_ok(), "a freed slot is admitted again");
        let s = gate.stats();
        assert_eq!((s.admitted, s.refused), (4, 1));
    }

    #[test]
    fn off_admits_everything() {
        let gate = Gate::new("orders", Admission::Off);
        let held: Vec<_> = (0..10_000)
            .map(|_| gate.admit(CallCtx::unbounded()).expect("admitted"))
            .collect();
        assert_eq!(held.len(), 10_000);
        assert_eq!(gate.stats().refused, 0);
    }

    #[test]
    fn a_request_with_less_time_left_than_the_median_is_refused() {
        let gate = Gate::new("payments", Admission::Static(100));
        {
            let mut st = gate.0.state.lock().unwrap();
            st.median_us = 20_000;
        }
        let short = CallCtx::with_timeout(Duration::from_millis(5));
        assert!(matches!(
            gate.admit(short),
            Err(ServiceError::Overloaded {
                retry_after_ms: 20,
                ..
            })
        ));
        assert!(
            gate.admit(CallCtx::with_timeout(Duration::from_secs(1)))
                .is_ok()
        );
    }

    #[test]
    fn the_median_follows_completed_requests() {
        let gate = Gate::new("fiscal", Admission::Static(100));
        for _ in 0..WINDOW {
            gate.release_sample(Duration::from_millis(3));
        }
        let m = gate.stats().median;
        assert!(
            (Duration::from_millis(3)..Duration::from_millis(50)).contains(&m),
            "{m:?}"
        );
    }

    /// Feeds the gate `windows` windows of completions taking `us` each, with `offered`
    /// requests asking to be in flight (as many as the limit lets in are).
    fn feed(gate: &Gate, windows: usize, offered: usize, us: u64) {
        for _ in 0..windows * WINDOW {
            {
                let mut st = gate.0.state.lock().unwrap();
                let admitted = (offered as f64).min(st.limit.floor()) as usize;
                st.in_flight = admitted;
                st.window_peak = st.window_peak.max(admitted);
            }
            gate.release(Duration::from_micros(us));
        }
    }

    impl Gate {
        /// Records a completion without an admitted request behind it (tests only).
        fn release_sample(&self, took: Duration) {
            self.0.state.lock().unwrap().in_flight += 1;
            self.release(took);
        }
    }

    #[test]
    fn the_adaptive_limit_shrinks_when_latency_rises_and_grows_back_when_it_falls() {
        let gate = Gate::new("orders", Admission::Adaptive);
        feed(&gate, 30, DEFAULT_LIMIT, 1_000);
        let calm = gate.stats().limit.unwrap();
        assert!(
            calm >= DEFAULT_LIMIT as f64,
            "steady latency keeps or grows the limit: {calm}"
        );
        feed(&gate, 10, DEFAULT_LIMIT, 10_000);
        let loaded = gate.stats().limit.unwrap();
        assert!(
            loaded < calm * 0.6,
            "tenfold latency shrinks it: {calm} → {loaded}"
        );
        assert!(loaded >= ADAPTIVE_MIN);
        feed(&gate, 60, DEFAULT_LIMIT, 1_000);
        let back = gate.stats().limit.unwrap();
        assert!(
            back > loaded,
            "it grows back once latency falls: {loaded} → {back}"
        );
        assert!(back <= ADAPTIVE_MAX);
    }
}
