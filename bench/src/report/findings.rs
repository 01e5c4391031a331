//! The report's Findings: one short statement per question a reader asks, each written from this
//! run's numbers (light-load latency, the transport's cost per hop, knee and peak, the floor,
//! where the CPU goes, saturation, Little's law, the audit).

use super::facts::*;
use crate::cluster::target::TargetKind::{self, Grpc, InProcess, RestH1, RestH2, Tcp};
use crate::results::{Results, Run};

/// Every finding of the run, in reading order.
pub fn findings(r: &Results) -> Vec<String> {
    let mut f = Vec::new();
    light_load(r, &mut f);
    transport_cost(r, &mut f);
    framework_over_tcp(r, &mut f);
    knee_and_peak(r, &mut f);
    against_the_floor(r, &mut f);
    where_the_cpu_goes(r, &mut f);
    past_saturation(r, &mut f);
    littles_law(r, &mut f);
    f.push(audit(r));
    f
}

/// The light-load step's trial medians of `t`, µs.
fn lightest_trials(r: &Results, t: TargetKind) -> Option<Vec<f64>> {
    Some(lightest(r, t.label())?.trial_values(|x| x.p50_us))
}

/// "A x ms vs B y ms: A lower, 1.23× [1.10–1.40], p = 0.008" — or no measurable difference —
/// for two sets of trial medians (µs), lower is better.
pub fn contrast(a: (&str, &[f64]), b: (&str, &[f64])) -> String {
    let (ma, mb) = (crate::stats::median(a.1), crate::stats::median(b.1));
    let ((win, wv), (lose, lv)) = if ma <= mb { (a, b) } else { (b, a) };
    let c = crate::stats::compare(lv, wv);
    let numbers = format!(
        "{} {} ms vs {} {} ms (medians of {} and {} trials)",
        a.0,
        ms(ma),
        b.0,
        ms(mb),
        a.1.len(),
        b.1.len()
    );
    let ratio = format!("{lose} / {win} = {}", c.text());
    if c.decided {
        format!("{numbers}: **{win}** lower; {ratio}")
    } else if c.significant {
        format!(
            "{numbers}: a difference that may be under {:.0}%, too small to name a winner; {ratio}",
            100.0 * crate::stats::PRACTICAL
        )
    } else {
        format!("{numbers}: no measurable difference at this load; {ratio}")
    }
}

/// Light-load medians compared pairwise: gRPC vs REST/1.1, then the HTTP version's share and the
/// codec's.
fn light_load(r: &Results, f: &mut Vec<String>) {
    let trials = |t: TargetKind| lightest_trials(r, t);
    let rate = lightest(r, Grpc.label())
        .and_then(|x| x.offered_rps)
        .unwrap_or(0.0);
    let pairs = [
        (Grpc, RestH1, format!("At light load ({rate:.0} checkouts/s)")),
        (RestH2, RestH1, "REST over HTTP/2 vs HTTP/1.1 at light load (same JSON, same framework: the HTTP version's share)".to_string()),
        (Grpc, RestH2, "gRPC vs REST over HTTP/2 at light load (same HTTP version; protobuf + tonic vs JSON + actix/reqwest)".to_string()),
    ];
    for (a, b, what) in pairs {
        if let (Some(x), Some(y)) = (trials(a), trials(b)) {
            f.push(format!(
                "{what}: {}.",
                contrast((a.label(), &x), (b.label(), &y))
            ));
        }
    }
}

/// Each networked target's light-load median over the in-process one, per hop.
fn transport_cost(r: &Results, f: &mut Vec<String>) {
    let Some(base) = lightest_trials(r, InProcess) else {
        return;
    };
    let b = crate::stats::median(&base);
    for t in [Grpc, RestH1, RestH2, Tcp] {
        if let Some(p) = lightest_trials(r, t) {
            let c = crate::stats::compare(&p, &base);
            let m = crate::stats::median(&p);
            f.push(format!(
                "Transport cost of {t} at light load: {} ms over the in-process baseline ({} ms), about {:.0} µs per hop over 5 hops, against a loopback round trip of {} ({t} / in-process = {}).",
                ms(m - b),
                ms(b),
                (m - b) / 5.0,
                r.calibration.rtt_words(),
                c.text()
            ));
        }
    }
}

/// What each framework adds per hop over the same calls as bare protobuf frames on TCP: the RPC
/// itself costs what `tcp` costs; the rest is HTTP, the framework and (for REST) JSON.
fn framework_over_tcp(r: &Results, f: &mut Vec<String>) {
    let Some(tcp) = lightest_trials(r, Tcp) else {
        return;
    };
    let parts: Vec<String> = [Grpc, RestH1, RestH2]
        .into_iter()
        .filter_map(|t| {
            let p = lightest_trials(r, t)?;
            let d = crate::stats::difference(&p, &tcp);
            let c = crate::stats::compare(&p, &tcp);
            Some(format!(
                "{t} {:.0} µs [{:.0}–{:.0}] per hop ({t} / tcp = {:.2}×, {})",
                d.median / 5.0,
                d.lo / 5.0,
                d.hi / 5.0,
                c.ratio.median,
                crate::stats::p_text(c.p)
            ))
        })
        .collect();
    if !parts.is_empty() {
        f.push(format!(
            "Framework cost over raw TCP at light load (the same protobuf calls as length-prefixed frames on one multiplexed connection, {} ms): {}. What remains is HTTP framing, the framework's machinery and, for REST, JSON; the interval is a bootstrap over trials of the difference in medians, over 5 hops.",
            ms(crate::stats::median(&tcp)),
            parts.join("; ")
        ));
    }
}

/// The knee of every target and its closed-loop peak.
fn knee_and_peak(r: &Results, f: &mut Vec<String>) {
    let knees: Vec<String> = r
        .targets()
        .iter()
        .map(|t| {
            let above = r
                .knees
                .iter()
                .find(|k| &k.target == t)
                .and_then(|k| k.above_rps);
            match (knee(r, t), above) {
                (Some(k), Some(a)) => format!("{t} {k:.0}/s (outside it at {a:.0}/s)"),
                (Some(k), None) => format!("{t} at least {k:.0}/s"),
                (None, _) => format!("{t} below the lightest step"),
            }
        })
        .collect();
    if !knees.is_empty() {
        f.push(format!(
            "Knee (highest offered rate with p99 ≤ {:.0} ms, ≥ 95% achieved, ≤ 1% errors): {}.",
            r.config.slo_p99_ms,
            knees.join(", ")
        ));
    }
    let best: Vec<String> = r
        .targets()
        .iter()
        .filter_map(|t| {
            closed_best(r, t).map(|x| {
                format!(
                    "{t} {} /s at {} clients",
                    super::analysis::spread_cell(
                        x.spread.map(|s| s.achieved_rps),
                        x.achieved_rps,
                        1.0,
                        0
                    ),
                    x.concurrency.unwrap_or(0)
                )
            })
        })
        .collect();
    if !best.is_empty() {
        f.push(format!("Closed-loop peak throughput: {}.", best.join(", ")));
    }
}

/// Every target's light-load median and peak against the calibrated floor.
fn against_the_floor(r: &Results, f: &mut Vec<String>) {
    for t in r.targets() {
        if let Some(x) = lightest(r, t) {
            f.push(format!(
                "{t}: light-load median is {:.1}× the calibrated floor ({:.0} µs); peak throughput is {:.0}% of the floor's {:.0}/s.",
                x.p50_floor_ratio,
                r.calibration.floor_latency_us,
                100.0 * closed_best(r, t).map_or(0.0, |b| b.achieved_rps) / r.calibration.floor_rps.max(1.0),
                r.calibration.floor_rps
            ));
        }
    }
}

/// Service CPU per checkout at the common load, and the process that costs most.
fn where_the_cpu_goes(r: &Results, f: &mut Vec<String>) {
    let Some(rate) = common_rate(r) else { return };
    for t in r.targets() {
        let Some(x) = run_at(r, "checkout-open", t, rate) else {
            continue;
        };
        let services = x
            .resources
            .iter()
            .filter(|u| !u.process.starts_with("loadgen"));
        let total: f64 = services.clone().map(|u| u.cpu_us_per_request).sum();
        if let Some(top) =
            services.max_by(|a, b| a.cpu_us_per_request.total_cmp(&b.cpu_us_per_request))
        {
            f.push(format!(
                "Where the CPU goes ({t}, {rate:.0}/s): {total:.0} µs of service CPU per checkout, most in {} ({:.0} µs).",
                top.process, top.cpu_us_per_request
            ));
        }
    }
}

/// How each target behaves at the first open-loop step it could not keep up with. Throughput is
/// the trials' median where the step ran trials, as the tables state it, for the step and for
/// the best it did at any checkout step alike.
fn past_saturation(r: &Results, f: &mut Vec<String>) {
    let achieved = |x: &Run| x.spread.map_or(x.achieved_rps, |s| s.achieved_rps.median);
    for t in r.targets() {
        let past = r
            .series("checkout-open", t)
            .find(|x| achieved(x) < 0.9 * x.offered_rps.unwrap_or(0.0));
        let Some(x) = past else { continue };
        let peak = r
            .runs
            .iter()
            .filter(|x| &x.target == t && x.scenario.starts_with("checkout"))
            .map(achieved)
            .fold(0.0, f64::max);
        let offered = x.offered_rps.unwrap_or(0.0);
        let (done, refused) = (achieved(x), x.refused());
        // Refusing the excess means refusing some of it: a step without errors queued it all.
        let verdict = if done >= 0.8 * peak && refused > 0 && 2 * refused >= x.errors {
            "degrades gracefully: it keeps serving near its peak and refuses the excess at once"
        } else if done >= 0.8 * peak {
            "degrades gracefully: it keeps serving near its peak while the excess queues"
        } else if done >= 0.5 * peak {
            "loses goodput: it completes less than it sustained at lower load, as the backlog grows"
        } else {
            "collapses: goodput falls far below what it sustained at lower load, as queued requests time out or wait behind a growing backlog"
        };
        f.push(format!(
            "Past saturation, {t} {verdict} — at {offered:.0}/s offered it completed {}/s ({} of its best {peak:.0}/s), median {} ms, {} errors ({refused} refused for overload).",
            super::analysis::spread_cell(x.spread.map(|s| s.achieved_rps), x.achieved_rps, 1.0, 0),
            percent(done / peak.max(1.0)),
            // The trials' median, as the open-loop table states it.
            super::analysis::spread_cell(x.spread.map(|s| s.p50_us), x.latency_us.p50, 1000.0, 2),
            x.errors
        ));
    }
}

/// The steps where in-flight requests and rate × latency disagree (the first [`LISTED`] named).
fn littles_law(r: &Results, f: &mut Vec<String>) {
    const LISTED: usize = 6;
    let broken: Vec<&Run> = r.runs.iter().filter(|x| !x.littles_law.holds).collect();
    if !broken.is_empty() {
        f.push(format!(
            "Little's law does not hold on {} step(s) ({}{}): in flight ≠ rate × latency, so the generator or the server was queueing outside what is measured (typical past saturation).",
            broken.len(),
            if broken.len() > LISTED {
                format!("the first {LISTED}: ")
            } else {
                String::new()
            },
            broken.iter().take(LISTED).map(|x| x.id.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
}

fn audit(r: &Results) -> String {
    if r.audit.orders.is_empty() && !r.audit.not_audited.is_empty() {
        format!(
            "Not audited: {} ran elsewhere; their databases are not on this machine.",
            r.audit.not_audited.join(", ")
        )
    } else if r.audit.clean {
        format!(
            "Audit after the run: clean on every target ({} orders checked).",
            r.audit.orders.values().sum::<i64>()
        )
    } else {
        format!(
            "Audit after the run: **{} violation(s)** — see the Audit section.",
            r.audit.violations.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::results::Spread;
    use crate::stats::Interval;

    #[test]
    fn past_saturation_states_the_trials_medians_and_little_names_the_first_six() {
        let of = |median: f64, lo: f64, hi: f64| Interval {
            median,
            lo,
            hi,
            coverage: 0.95,
        };
        let mut past = fixture::run("checkout-open", "grpc", Some(2000.0), None, 62_400.0);
        past.achieved_rps = 1366.0;
        past.spread = Some(Spread {
            trials: 6,
            p50_us: of(66_750.0, 42_430.0, 122_620.0),
            p99_us: of(121_470.0, 81_790.0, 210_560.0),
            achieved_rps: of(1190.0, 988.0, 1744.0),
        });
        let mut runs = vec![
            fixture::run("checkout-closed", "grpc", None, Some(64), 30_000.0),
            past,
        ];
        runs[0].achieved_rps = 1700.0;
        for x in &mut runs {
            x.littles_law.holds = true;
        }
        for i in 0..7 {
            let mut x = fixture::run("catalog-30", "grpc", None, Some(i + 1), 1_000.0);
            x.littles_law.holds = false;
            runs.push(x);
        }
        // A target that kept near its peak and refused nothing queued the excess.
        let mut queued = fixture::run("checkout-open", "rest-h1", Some(2000.0), None, 70_000.0);
        queued.achieved_rps = 1300.0;
        queued.littles_law.holds = true;
        runs.push(queued);
        let mut closed = fixture::run("checkout-closed", "rest-h1", None, Some(64), 30_000.0);
        closed.achieved_rps = 1500.0;
        closed.littles_law.holds = true;
        runs.push(closed);
        let r = fixture::results(&["grpc", "rest-h1"], runs);
        let mut f = Vec::new();
        past_saturation(&r, &mut f);
        let h1 = f.pop().expect("rest-h1's finding");
        assert!(h1.contains("while the excess queues"), "{h1}");
        littles_law(&r, &mut f);
        assert!(
            f[0].contains("median 66.75 [42.43–122.62] ms"),
            "the open-loop table's figure, not the pooled 62.40: {}",
            f[0]
        );
        assert!(
            f[0].contains("completed 1190 [988–1744]/s (70% of its best 1700/s)")
                && f[0].contains("loses goodput"),
            "the share and the verdict from the trials' median (1190 of 1700), not the pooled 1366 (80%): {}",
            f[0]
        );
        assert!(
            f[1].starts_with("Little's law does not hold on 7 step(s) (the first 6: "),
            "{}",
            f[1]
        );
        assert_eq!(f[1].matches("catalog-30-grpc").count(), 6, "{}", f[1]);
    }
}
