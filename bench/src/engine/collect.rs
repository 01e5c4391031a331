//! Where completions are recorded: a few shards, each with its own HdrHistogram and per-second
//! series, filled by whichever task finished a request and merged once the step is over (as
//! rewrk and oha keep one histogram per worker). Memory is fixed by the step's length, not by its
//! request count, and no completion waits in a queue for a collector.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::workload::Outcome;

/// The error kind of a request refused for overload.
const OVERLOADED: &str = checkout_core::error::ErrorKind::Overloaded.as_str();

/// Shards: enough that two cores' worth of completing tasks rarely meet on one lock.
const SHARDS: usize = 8;

/// A new histogram of latencies from 1 µs to 60 s, three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// What one shard, or the merged step, recorded.
#[derive(Clone)]
pub struct Tally {
    /// Latency of successful requests meant to start in the window, µs.
    pub histogram: Histogram<u64>,
    /// Requests meant to start in the window.
    pub requests: u64,
    /// Every completion recorded, warm-up included.
    pub dispatched: u64,
    /// Successful requests that also ended inside the window.
    pub completed_in_window: u64,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
    /// Success labels.
    pub outcomes: BTreeMap<String, u64>,
    /// Per second of the window: completed, errors, latency histogram.
    pub seconds: Vec<(u64, u64, Histogram<u64>)>,
    /// When each failed request was meant to start, from the window's start.
    pub error_offsets: Vec<Duration>,
    /// Requests whose latency exceeded the deadline limit.
    pub over_deadline: u64,
    /// Latency of the requests a service refused for overload (`overloaded`: the request was
    /// sent), µs.
    pub refusals: Histogram<u64>,
    /// Latency of the requests the bench's own client refused for overload before sending them
    /// (throttled, or its lane to the peer full), µs.
    pub local_refusals: Histogram<u64>,
    /// How late each request's task began past its intended start, µs: the load generator's own
    /// lag, nothing the target did.
    pub start_lag: Histogram<u64>,
    /// Every request of the window as it ended, for series finer than a second.
    pub samples: Vec<Sample>,
}

/// One request of the window, as it ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When it ended, µs after the window's start.
    pub done_us: u64,
    /// Its latency from its intended start, µs.
    pub latency_us: u64,
    /// Whether it succeeded.
    pub ok: bool,
}

impl Tally {
    fn new(seconds: usize) -> Self {
        Self {
            histogram: new_histogram(),
            requests: 0,
            dispatched: 0,
            completed_in_window: 0,
            errors: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            seconds: (0..seconds).map(|_| (0, 0, new_histogram())).collect(),
            error_offsets: Vec::new(),
            over_deadline: 0,
            refusals: new_histogram(),
            local_refusals: new_histogram(),
            start_lag: new_histogram(),
            samples: Vec::new(),
        }
    }

    fn merge(&mut self, o: Tally) {
        let _ = self.histogram.add(&o.histogram);
        self.requests += o.requests;
        self.dispatched += o.dispatched;
        self.completed_in_window += o.completed_in_window;
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in o.outcomes {
            *self.outcomes.entry(k).or_default() += v;
        }
        for (mine, theirs) in self.seconds.iter_mut().zip(o.seconds) {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
            let _ = mine.2.add(&theirs.2);
        }
        self.error_offsets.extend(o.error_offsets);
        self.over_deadline += o.over_deadline;
        let _ = self.refusals.add(&o.refusals);
        let _ = self.local_refusals.add(&o.local_refusals);
        let _ = self.start_lag.add(&o.start_lag);
        self.samples.extend(o.samples);
    }
}

/// How a request went out.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    /// When its task began.
    pub started: Instant,
    /// Whether the bench's own client refused it before sending anything.
    pub refused_locally: bool,
}

/// The step's recorder, shared by every task that completes a request.
pub struct Collector {
    shards: Vec<Mutex<Tally>>,
    measure_from: Instant,
    measure_to: Instant,
    deadline_limit: Duration,
    /// Keep every request of the window as a [`Sample`] (fault steps only).
    keep_samples: bool,
}

impl Collector {
    /// Also keeps every request of the window as a [`Sample`], for series finer than a second.
    pub fn keeping_samples(mut self, keep: bool) -> Self {
        self.keep_samples = keep;
        self
    }

    /// A recorder for the window `[measure_from, measure_to)`; a request that took longer than
    /// `deadline_limit` counts as having outlived its deadline.
    pub fn new(measure_from: Instant, measure_to: Instant, deadline_limit: Duration) -> Self {
        let seconds = (measure_to - measure_from).as_secs_f64().ceil() as usize;
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Tally::new(seconds)))
                .collect(),
            measure_from,
            measure_to,
            deadline_limit,
            keep_samples: false,
        }
    }

    /// Records request `i`, meant to start at `intended`, that went out as `sent` (`None`: never
    /// started) and ended at `done` with `outcome`. A request belongs to the step when it was
    /// meant to start inside the window, however late it ended.
    pub fn record(
        &self,
        i: u64,
        intended: Instant,
        sent: Option<Sent>,
        done: Instant,
        outcome: Outcome,
    ) {
        crate::scenarios::progress::count_ended();
        let mut t = self.shards[i as usize % SHARDS]
            .lock()
            .expect("collector shard poisoned");
        t.dispatched += 1;
        if intended < self.measure_from || intended >= self.measure_to {
            return;
        }
        t.requests += 1;
        if let Some(s) = sent {
            let late = s.started.saturating_duration_since(intended).as_micros();
            let _ = t.start_lag.record((late as u64).clamp(1, 60_000_000));
        }
        let latency = (done - intended).as_micros().clamp(1, 60_000_000) as u64;
        if done - intended > self.deadline_limit {
            t.over_deadline += 1;
        }
        let since = done.saturating_duration_since(self.measure_from);
        let second = (since.as_secs() as usize).min(t.seconds.len().saturating_sub(1));
        if self.keep_samples {
            t.samples.push(Sample {
                done_us: since.as_micros() as u64,
                latency_us: latency,
                ok: outcome.is_ok(),
            });
        }
        match outcome {
            Ok(label) => {
                let _ = t.histogram.record(latency);
                if let Some(slot) = t.seconds.get_mut(second) {
                    slot.0 += 1;
                    let _ = slot.2.record(latency);
                }
                *t.outcomes.entry(label.to_owned()).or_default() += 1;
                t.completed_in_window += u64::from(done < self.measure_to);
            }
            Err(kind) => {
                if kind == OVERLOADED {
                    let local = sent.is_some_and(|s| s.refused_locally);
                    let h = if local {
                        &mut t.local_refusals
                    } else {
                        &mut t.refusals
                    };
                    let _ = h.record(latency);
                }
                if let Some(slot) = t.seconds.get_mut(second) {
                    slot.0 += 1;
                    slot.1 += 1;
                }
                *t.errors.entry(kind.to_owned()).or_default() += 1;
                t.error_offsets.push(intended - self.measure_from);
            }
        }
    }

    /// Every shard merged into one tally. Tasks that outlived the step's drain may still record
    /// after this; what they record is not part of the step.
    pub fn tally(&self) -> Tally {
        let mut shards = self
            .shards
            .iter()
            .map(|m| m.lock().expect("collector shard poisoned").clone());
        let mut all = shards.next().expect("at least one shard");
        for s in shards {
            all.merge(s);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_meant_to_start_in_the_window_count_and_shards_merge() {
        let t0 = Instant::now();
        let from = t0 + Duration::from_secs(1);
        let to = from + Duration::from_secs(2);
        let c = Collector::new(from, to, Duration::from_millis(500));
        let ms = Duration::from_millis;
        let sent = |at: Instant, late_ms: u64| {
            Some(Sent {
                started: at + ms(late_ms),
                refused_locally: false,
            })
        };
        c.record(0, t0, sent(t0, 0), t0 + ms(5), Ok("enviado")); // warm-up
        for i in 1..=20 {
            let start = from + ms(50 * i);
            c.record(i, start, sent(start, 0), start + ms(10), Ok("enviado"));
        }
        let at = from + ms(100);
        c.record(21, at, sent(at, 0), at + ms(600), Err("deadline_exceeded")); // outlived
        let at = to - ms(1);
        c.record(22, at, sent(at, 0), at + ms(21), Ok("cancelado")); // ends after the window
        let at = from + ms(300);
        c.record(23, at, sent(at, 1), at + ms(2), Err("overloaded")); // refused by the service
        let at = from + ms(400);
        let local = Some(Sent {
            started: at + ms(4),
            refused_locally: true,
        });
        c.record(24, at, local, at + ms(4), Err("overloaded")); // refused by the bench's client
        c.record(25, at, None, at, Err("generator_overrun")); // never started
        let t = c.tally();
        assert_eq!((t.dispatched, t.requests), (26, 25));
        assert_eq!(
            (t.refusals.len(), t.local_refusals.len()),
            (1, 1),
            "each refusal in its own histogram"
        );
        assert!((1900..=2100).contains(&t.refusals.max()));
        assert!((3900..=4100).contains(&t.local_refusals.max()));
        assert_eq!(t.start_lag.len(), 24, "every request that started");
        assert!((3900..=4100).contains(&t.start_lag.max()));
        assert_eq!(t.errors["overloaded"], 2);
        assert_eq!(t.completed_in_window, 20);
        assert_eq!(t.histogram.len(), 21);
        assert_eq!(t.errors["deadline_exceeded"], 1);
        assert_eq!(t.outcomes["cancelado"], 1);
        assert_eq!(t.over_deadline, 1);
        let mut offsets = t.error_offsets.clone();
        offsets.sort();
        assert_eq!(offsets, vec![ms(100), ms(300), ms(400), ms(400)]);
        assert_eq!(t.seconds.iter().map(|s| s.0).sum::<u64>(), 25);
        assert_eq!(t.seconds[0].1, 4);
    }
}
