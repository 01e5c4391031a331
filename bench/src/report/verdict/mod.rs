//! The verdict table at the top of the report: one row per question a reader asks, with the
//! winner among the networked stacks (or a tie), the ratio and its interval, how sure the run is,
//! and the measured mechanism behind it. A winner is named only when the trials support it
//! (Mann–Whitney p < 0.05 and the ratio's interval more than [`stats::PRACTICAL`] past 1) or, for the knee, when the
//! searched brackets are more than [`KNEE_TIE`] apart; a question measured once per run (a fault, the overload
//! burst, memory) gets no verdict: one overload burst put gRPC and REST/1.1 level in one run and
//! 39% apart in the next.

use super::document::{Block, Document, table};
mod knee;

use knee::KNEE_TIE;

use super::facts::{closed_best, common_rate, lightest, run_at};
use crate::cluster::target::TargetKind;
use crate::results::{Results, Run};
use crate::stats::{self, Interval};

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The question.
    pub question: String,
    /// The winning target, or `None` for a tie.
    pub winner: Option<String>,
    /// Best and runner-up.
    pub pair: (String, String),
    /// How much better the best is than the runner-up (≥ 1), with its interval.
    pub ratio: Interval,
    /// How sure: `p = 0.008 (5 + 5 trials)`, or `measured once`.
    pub evidence: String,
    /// Measured once per run: no verdict is drawn.
    pub once: bool,
    /// The trials differ significantly (a tie may still be called: the gap is too small, or
    /// the interval holds 1).
    pub significant: bool,
    /// The measured mechanism behind it.
    pub cause: String,
}

impl Verdict {
    /// `grpc`, `tie (grpc, rest-h1)`, or `no verdict (measured once)`.
    pub fn outcome(&self) -> String {
        match &self.winner {
            Some(w) => w.clone(),
            None if self.once => "no verdict (measured once)".into(),
            None => format!("tie ({}, {})", self.pair.0, self.pair.1),
        }
    }
}

/// What each candidate measured for one question: its trials' values.
pub(crate) struct Entry {
    pub(crate) target: String,
    pub(crate) values: Vec<f64>,
}

/// The stacks a verdict chooses among: gRPC and REST (the in-process and raw-TCP baselines are
/// measuring sticks, not candidates).
fn networked(r: &Results) -> impl Iterator<Item = &String> {
    r.targets()
        .iter()
        .filter(|t| TargetKind::parse(t).is_none_or(|k| !k.baseline()))
}

/// Decides among `entries` (lower is better when `low`).
pub(crate) fn contest(
    question: String,
    mut entries: Vec<Entry>,
    low: bool,
    cause: &dyn Fn(&str, &str) -> String,
) -> Option<Verdict> {
    entries.retain(|e| !e.values.is_empty() && e.values.iter().all(|v| v.is_finite()));
    if entries.len() < 2 {
        return None;
    }
    entries.sort_by(|a, b| {
        let (x, y) = (stats::median(&a.values), stats::median(&b.values));
        if low {
            x.total_cmp(&y)
        } else {
            y.total_cmp(&x)
        }
    });
    let (best, next) = (&entries[0], &entries[1]);
    // The ratio reads "best is N× better": runner-up over best when lower is better.
    let (num, den) = if low {
        (&next.values, &best.values)
    } else {
        (&best.values, &next.values)
    };
    let once = best.values.len() < 2 || next.values.len() < 2;
    let (ratio, decided, significant, evidence) = if once {
        let (a, b) = (stats::median(num), stats::median(den));
        let ratio = a / b.max(f64::MIN_POSITIVE);
        let point = Interval {
            median: ratio,
            lo: ratio,
            hi: ratio,
            coverage: 0.0,
        };
        (point, false, false, "measured once".to_string())
    } else {
        let c = stats::compare(num, den);
        (
            c.ratio,
            c.decided,
            c.significant,
            format!(
                "{} ({} + {} trials)",
                crate::stats::p_text(c.p),
                best.values.len(),
                next.values.len()
            ),
        )
    };
    Some(Verdict {
        question,
        winner: decided.then(|| best.target.clone()),
        pair: (best.target.clone(), next.target.clone()),
        ratio,
        evidence,
        once,
        significant,
        cause: cause(&best.target, &next.target),
    })
}

/// What differs between two stacks, in words.
fn difference(a: &str, b: &str) -> &'static str {
    let mut pair = [a, b];
    pair.sort_unstable();
    match pair {
        ["grpc", "rest-h2"] => {
            "same HTTP/2; codec and framework differ (protobuf + tonic vs JSON + actix/reqwest)"
        }
        ["rest-h1", "rest-h2"] => {
            "same JSON and framework; HTTP version differs (a pooled connection per request in flight vs one multiplexed connection)"
        }
        ["grpc", "rest-h1"] => "HTTP version and codec both differ",
        _ => "",
    }
}

/// A figure summed over the service processes (every process but the load generator).
fn services(x: &Run, pick: fn(&crate::results::ProcessUsage) -> f64) -> f64 {
    x.resources
        .iter()
        .filter(|u| !u.process.starts_with("loadgen"))
        .map(pick)
        .sum()
}

/// Service CPU per request, µs.
pub fn service_cpu(x: &Run) -> f64 {
    services(x, |u| u.cpu_us_per_request)
}

/// Peak resident memory of the service processes together, MiB.
pub fn service_rss(x: &Run) -> f64 {
    services(x, |u| u.rss_mib_max)
}

/// "service CPU 410 vs 520 µs/request, 3.1 vs 4.4 KB/request on the wire in 12.5 vs 20.9 packets;
/// <difference>" for two runs.
fn mechanism(a: Option<&Run>, b: Option<&Run>, pair: (&str, &str)) -> String {
    let (Some(a), Some(b)) = (a, b) else {
        return difference(pair.0, pair.1).into();
    };
    let mut parts = vec![format!(
        "service CPU {:.0} vs {:.0} µs/request",
        service_cpu(a),
        service_cpu(b)
    )];
    if let (Some(x), Some(y)) = (a.wire_bytes_per_request, b.wire_bytes_per_request) {
        let packets = match (a.wire_packets_per_request, b.wire_packets_per_request) {
            (Some(p), Some(q)) => format!(" in {p:.1} vs {q:.1} packets"),
            _ => String::new(),
        };
        parts.push(format!(
            "{:.1} vs {:.1} KB/request on the wire{packets}",
            x / 1000.0,
            y / 1000.0
        ));
    }
    let what = difference(pair.0, pair.1);
    if !what.is_empty() {
        parts.push(what.into());
    }
    parts.join("; ")
}

fn entries(r: &Results, pick: impl Fn(&str) -> Option<Vec<f64>>) -> Vec<Entry> {
    networked(r)
        .filter_map(|t| {
            Some(Entry {
                target: t.clone(),
                values: pick(t)?,
            })
        })
        .collect()
}

/// Every question this run can answer, in reading order.
pub fn verdicts(r: &Results) -> Vec<Verdict> {
    let mut out = Vec::new();
    // Light-load latency.
    if let Some(rate) = lightest(r, "grpc").and_then(|x| x.offered_rps) {
        let at = |t: &str| run_at(r, "checkout-open", t, rate);
        out.extend(contest(
            format!("Light-load latency (checkout p50 at {rate:.0}/s)"),
            entries(r, |t| Some(at(t)?.trial_values(|x| x.p50_us))),
            true,
            &|a, b| mechanism(at(a), at(b), (a, b)),
        ));
    }
    // Tail latency at the common load.
    if let Some(rate) = common_rate(r) {
        let at = |t: &str| run_at(r, "checkout-open", t, rate);
        out.extend(contest(
            format!("Tail latency (checkout p99 at {rate:.0}/s)"),
            entries(r, |t| Some(at(t)?.trial_values(|x| x.p99_us))),
            true,
            &|a, b| mechanism(at(a), at(b), (a, b)),
        ));
    }
    // Peak throughput.
    out.extend(contest(
        "Peak throughput (closed-loop checkouts/s)".into(),
        entries(r, |t| {
            Some(closed_best(r, t)?.trial_values(|x| x.achieved_rps))
        }),
        false,
        &|a, b| mechanism(closed_best(r, a), closed_best(r, b), (a, b)),
    ));
    if let Some(v) = knee::knee_verdict(r) {
        out.push(v);
    }
    // Overload: goodput kept at twice the knee.
    let shed = |t: &str| {
        r.runs
            .iter()
            .find(|x| x.scenario == "overload" && x.target == t)
            .and_then(|x| x.fault.as_ref()?.shedding.as_ref())
    };
    out.extend(contest(
        "Overload (goodput at 2× the knee, % of what it could serve)".into(),
        entries(r, |t| Some(vec![100.0 * shed(t)?.share_of_attainable()?])),
        false,
        &|a, b| {
            let p99 = |t: &str| {
                shed(t)
                    .and_then(|s| s.refusal_p99_ms)
                    .map_or("–".into(), |v| format!("{v:.1}"))
            };
            format!(
                "every service sheds at its edge; refusals answered in p99 {} vs {} ms",
                p99(a),
                p99(b)
            )
        },
    ));
    // Large payloads.
    let listing = |t: &str| super::facts::step_of(r, "catalog-1000", t);
    out.extend(contest(
        "Large payload (listing of 1,000 products, /s)".into(),
        entries(r, |t| Some(listing(t)?.trial_values(|x| x.achieved_rps))),
        false,
        &|a, b| mechanism(listing(a), listing(b), (a, b)),
    ));
    // Faults: time to recover from a killed service.
    let kill = |t: &str| {
        r.runs
            .iter()
            .find(|x| x.scenario.starts_with("kill-") && x.target == t)
    };
    out.extend(contest(
        "Faults (recovery after a killed service, ms; 100 ms resolution)".into(),
        entries(r, |t| {
            Some(vec![kill(t)?.fault.as_ref()?.recovery_ms?.max(100.0)])
        }),
        true,
        &|a, b| {
            let errs = |t: &str| {
                kill(t)
                    .and_then(|x| x.fault.as_ref())
                    .map_or(0, |f| f.errors_during)
            };
            format!(
                "the chain, not the transport, sets it: {} vs {} errors during the outage",
                errs(a),
                errs(b)
            )
        },
    ));
    // Memory at the closed-loop peak.
    out.extend(contest(
        "Memory (peak RSS of the six services at the closed-loop peak, MiB)".into(),
        entries(r, |t| Some(vec![service_rss(closed_best(r, t)?)])),
        true,
        &|a, b| {
            let conns = difference(a, b);
            if conns.is_empty() {
                "runtime and buffers per process".into()
            } else {
                conns.into()
            }
        },
    ));
    out
}

fn ratio_text(v: &Verdict) -> (String, String) {
    let i = v.ratio;
    let point = format!("{:.2}×", i.median);
    let range = if i.lo == i.hi {
        "–".into()
    } else {
        format!("{:.2}–{:.2}", i.lo, i.hi)
    };
    (point, range)
}

/// The table at the top of the report.
pub fn section(r: &Results, d: &mut Document) {
    let rows: Vec<Vec<String>> = verdicts(r)
        .iter()
        .map(|v| {
            let (point, range) = ratio_text(v);
            vec![
                v.question.clone(),
                match &v.winner {
                    Some(w) => format!("**{w}**"),
                    None => v.outcome(),
                },
                format!("{point} ({} over {})", v.pair.0, v.pair.1),
                range,
                v.evidence.clone(),
                v.cause.clone(),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    d.push(Block::Heading(2, "Verdict".into()));
    let k = r.config.trials;
    d.push(Block::Paragraph(format!(
        "gRPC and REST only (in-process and raw TCP are the baselines they are measured against). Each row compares the best with the runner-up: a winner is named when their trials differ significantly (Mann–Whitney U, p < {}) and the ratio's whole interval lies more than {:.0}% past 1 (a noise threshold, as criterion.rs draws it: the ratio between two stacks moves about that much between runs of the same build); otherwise it is a tie. The ratio is how much better the best is, with a 95% bootstrap interval over the trials. Rows measured once per run (faults, overload, memory) get no verdict — one overload burst can put two stacks level in one run and far apart in the next — and show the ratio for information; knees are decided only when their search brackets are more than {:.0}% apart (the search's resolution), the best's knee against the top of the runner-up's bracket. Sweep steps ran as {k} interleaved trials each{}{}.",
        stats::ALPHA,
        100.0 * stats::PRACTICAL,
        100.0 * KNEE_TIE,
        super::facts::light_trials(r)
            .map_or(String::new(), |n| format!(", the lightest checkout rate as {n}")),
        if k > 0 && k < stats::trials_needed() {
            format!("; with fewer than {} trials per side no difference can reach p < {}, so this profile names no winner from trials", stats::trials_needed(), stats::ALPHA)
        } else {
            String::new()
        }
    )));
    d.push(table(
        &[
            "question",
            "winner",
            "ratio",
            "95% interval",
            "evidence",
            "measured cause",
        ],
        rows,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::results::Trial;

    fn with_trials(target: &str, p50s: &[f64]) -> Run {
        let mut x = fixture::run("checkout-open", target, Some(200.0), None, p50s[0]);
        x.trials = p50s
            .iter()
            .map(|&p| Trial {
                p50_us: p,
                p99_us: 2.0 * p,
                achieved_rps: 200.0,
                requests: 80,
                errors: 0,
            })
            .collect();
        x
    }

    #[test]
    fn a_clear_difference_names_a_winner_and_overlap_a_tie() {
        let r = fixture::results(
            &["grpc", "rest-h1", "rest-h2"],
            vec![
                with_trials("grpc", &[2000., 2100., 1900., 2050., 1950.]),
                with_trials("rest-h1", &[1500., 1550., 1450., 1520., 1480.]),
                with_trials("rest-h2", &[1990., 2080., 1940., 2010., 1960.]),
            ],
        );
        let v = verdicts(&r);
        let light = &v[0];
        assert_eq!(light.winner.as_deref(), Some("rest-h1"), "{light:?}");
        assert_eq!(light.pair.1, "rest-h2");
        assert!(
            light.ratio.median > 1.25 && light.ratio.lo > 1.1,
            "{light:?}"
        );
        assert!(
            light.evidence.starts_with("p = 0.008"),
            "{}",
            light.evidence
        );
        assert!(light.cause.contains("HTTP version"), "{}", light.cause);
        // gRPC against REST/2 alone: the trials overlap.
        let r = fixture::results(
            &["grpc", "rest-h2"],
            vec![
                with_trials("grpc", &[2000., 2100., 1900., 2050., 1950.]),
                with_trials("rest-h2", &[1990., 2080., 1940., 2010., 1960.]),
            ],
        );
        let light = &verdicts(&r)[0];
        assert_eq!(light.winner, None);
        assert_eq!(light.outcome(), "tie (rest-h2, grpc)");
    }
}
