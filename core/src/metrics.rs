//! Prometheus metrics of a service process, in the text exposition format (0.0.4): requests by
//! service and result code (the transport's own: an HTTP status, a gRPC code), their latency as a
//! histogram, requests in flight, and the compensations each service still owes its next hop.
//! Each stack records at its edge (an actix middleware, a tower layer); recording costs a clock
//! read at each end, a few relaxed atomic adds and one short lock for the code's counter.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crate::topology::ServiceName;

/// Upper bounds of the latency histogram's buckets, seconds (`+Inf` follows).
pub const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Slot {
    in_flight: AtomicI64,
    /// Cumulative counts are computed when rendered; here each bucket counts its own.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_ns: AtomicU64,
    count: AtomicU64,
    by_code: Mutex<BTreeMap<String, u64>>,
}

fn slots() -> &'static [Slot; 6] {
    static SLOTS: OnceLock<[Slot; 6]> = OnceLock::new();
    SLOTS.get_or_init(Default::default)
}

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns recording on or off for this process (`--metrics off`: to measure what it costs).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// One request being served: counted in flight until [`Request::finish`] (or its drop, which
/// counts it as `cancelled`: the client went away).
pub struct Request {
    service: ServiceName,
    started: Instant,
    done: bool,
}

/// A request to `service` begins (recorded only while metrics are on).
pub fn start(service: ServiceName) -> Request {
    let on = ENABLED.load(Ordering::Relaxed);
    if on {
        slots()[service.index()]
            .in_flight
            .fetch_add(1, Ordering::Relaxed);
    }
    Request {
        service,
        started: Instant::now(),
        done: !on,
    }
}

impl Request {
    /// The request ended with `code` (an HTTP status or a gRPC code name).
    pub fn finish(mut self, code: &str) {
        self.record(code);
    }

    fn record(&mut self, code: &str) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let s = &slots()[self.service.index()];
        let secs = self.started.elapsed().as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        s.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        s.sum_ns.fetch_add((secs * 1e9) as u64, Ordering::Relaxed);
        s.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = s.by_code.lock() {
            // The code is almost always one already seen: count it without allocating.
            match m.get_mut(code) {
                Some(n) => *n += 1,
                None => {
                    m.insert(code.to_owned(), 1);
                }
            }
        }
        s.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        self.record("cancelled");
    }
}

/// The metrics of `services` in the text exposition format; `owed` gives a service's outbox
/// backlog (none for a service that owes nothing, or when it cannot be read).
pub fn render(services: &[ServiceName], owed: impl Fn(ServiceName) -> Option<i64>) -> String {
    let mut out = String::new();
    let label = |s: ServiceName| format!("service=\"{}\"", s.as_str());
    out.push_str("# HELP checkout_requests_total Requests served, by service and result code (HTTP status or gRPC code).\n# TYPE checkout_requests_total counter\n");
    for &s in services {
        let codes = slots()[s.index()]
            .by_code
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        for (code, n) in codes {
            let _ = writeln!(
                out,
                "checkout_requests_total{{{},code=\"{code}\"}} {n}",
                label(s)
            );
        }
    }
    out.push_str("# HELP checkout_request_duration_seconds Time to serve a request, from its arrival at the service to its answer.\n# TYPE checkout_request_duration_seconds histogram\n");
    for &s in services {
        let slot = &slots()[s.index()];
        let mut cumulative = 0;
        for (i, b) in slot.buckets.iter().enumerate() {
            cumulative += b.load(Ordering::Relaxed);
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |v| v.to_string());
            let _ = writeln!(
                out,
                "checkout_request_duration_seconds_bucket{{{},le=\"{le}\"}} {cumulative}",
                label(s)
            );
        }
        let _ = writeln!(
            out,
            "checkout_request_duration_seconds_sum{{{}}} {}",
            label(s),
            slot.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "checkout_request_duration_seconds_count{{{}}} {}",
            label(s),
            slot.count.load(Ordering::Relaxed)
        );
    }
    out.push_str(
        "# HELP checkout_in_flight Requests being served now.\n# TYPE checkout_in_flight gauge\n",
    );
    for &s in services {
        let _ = writeln!(
            out,
            "checkout_in_flight{{{}}} {}",
            label(s),
            slots()[s.index()].in_flight.load(Ordering::Relaxed)
        );
    }
    out.push_str("# HELP checkout_outbox_backlog Compensations the service still owes its next hop.\n# TYPE checkout_outbox_backlog gauge\n");
    for &s in services {
        if let Some(n) = owed(s) {
            let _ = writeln!(out, "checkout_outbox_backlog{{{}}} {n}", label(s));
        }
    }
    out
}

/// The outbox backlog of `service` in `data_dir`, for [`render`] (services at the end of the
/// chain owe nothing and have none).
pub fn outbox_backlog(data_dir: &std::path::Path, service: ServiceName) -> Option<i64> {
    crate::audit::OWING
        .contains(&service)
        .then(|| crate::audit::owed_by(data_dir, service).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_code_timed_into_buckets_and_leave_the_in_flight_count() {
        let s = ServiceName::Fiscal;
        let before = slots()[s.index()].count.load(Ordering::Relaxed);
        start(s).finish("200");
        start(s).finish("503");
        let r = start(s);
        assert_eq!(slots()[s.index()].in_flight.load(Ordering::Relaxed), 1);
        drop(r);
        let text = render(&[s], |_| Some(3));
        assert!(
            text.contains("checkout_requests_total{service=\"fiscal\",code=\"503\"}"),
            "{text}"
        );
        assert!(text.contains("code=\"cancelled\"}"), "{text}");
        assert!(
            text.contains("checkout_in_flight{service=\"fiscal\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("checkout_outbox_backlog{service=\"fiscal\"} 3"),
            "{text}"
        );
        assert!(text.contains(&format!(
            "checkout_request_duration_seconds_count{{service=\"fiscal\"}} {}",
            before + 3
        )));
        // Buckets are cumulative and end at +Inf with the count.
        assert!(text.contains(&format!(
            "checkout_request_duration_seconds_bucket{{service=\"fiscal\",le=\"+Inf\"}} {}",
            before + 3
        )));
    }
}
