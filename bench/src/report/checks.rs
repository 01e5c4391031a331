//! The thresholds a run is held to (and CI with it): a broken one fails the run.

use crate::report::figures::Figure;
use crate::results::{Check, Results};

/// Evaluates every check on a finished run.
pub fn evaluate(r: &Results, figures: &[Figure]) -> Vec<Check> {
    vec![
        every_transport_measured(r),
        every_sink_holds_what_was_sent(r),
        imports_near_the_floor_in_flat_memory(r),
        Check::held(
            "audit clean",
            r.audit.clean,
            format!("{} violation(s)", r.audit.violations.len()),
        ),
        no_errors_at_the_lightest_load(r),
        every_step_sent_requests(r),
        the_generator_kept_its_schedule(r),
        every_chart_drawn(figures),
        nothing_outlived_its_deadline(r),
        Check::held(
            "measured with optimised code",
            r.config.build_profile == "release",
            format!("build profile {}", r.config.build_profile),
        ),
    ]
}

fn every_transport_measured(r: &Results) -> Check {
    if r.runs.is_empty()
        && (r.crosscheck.is_some() || r.ingest.is_some() || r.cpu_profiles.is_some())
    {
        return Check::not_applicable(
            "every transport measured",
            "only the cross-check, the ingest scenario or the CPU profiles ran (their sections state what each measured)",
        );
    }
    // In-process takes part only in the sweeps (no processes to fault, copy or pin).
    let swept = r
        .runs
        .iter()
        .any(|x| x.scenario.starts_with("checkout-") || x.scenario.starts_with("catalog-"));
    let missing: Vec<&String> = r
        .targets()
        .iter()
        .filter(|t| swept || t.as_str() != "inprocess")
        .filter(|t| !r.runs.iter().any(|x| &x.target == *t && x.requests > 0))
        .collect();
    Check::held(
        "every transport measured",
        missing.is_empty(),
        if missing.is_empty() {
            format!("{} targets with completed requests", r.targets().len())
        } else {
            format!("no completed request on {missing:?}")
        },
    )
}

fn no_errors_at_the_lightest_load(r: &Results) -> Check {
    const NAME: &str = "no errors at the lightest load";
    let Some(lightest) = r
        .runs
        .iter()
        .filter(|x| x.scenario == "checkout-open")
        .filter_map(|x| x.offered_rps)
        .reduce(f64::min)
    else {
        return Check::not_applicable(NAME, "no open-loop checkout step ran");
    };
    let errors: Vec<String> = r
        .runs
        .iter()
        .filter(|x| {
            x.scenario == "checkout-open" && x.offered_rps == Some(lightest) && x.errors > 0
        })
        .map(|x| format!("{}: {:?}", x.target, x.errors_by_kind))
        .collect();
    Check::held(
        NAME,
        errors.is_empty(),
        if errors.is_empty() {
            format!("0 errors at {lightest:.0}/s on every target")
        } else {
            format!("at {lightest:.0}/s: {}", errors.join("; "))
        },
    )
}

fn every_step_sent_requests(r: &Results) -> Check {
    // A step, or any one trial of it, with nothing in its window.
    let empty: Vec<String> = r
        .runs
        .iter()
        .flat_map(|x| {
            let whole = (x.requests == 0).then(|| x.id.clone());
            let trials = x
                .trials
                .iter()
                .enumerate()
                .filter(|(_, t)| t.requests == 0)
                .map(|(j, _)| format!("{} trial {}", x.id, j + 1));
            whole.into_iter().chain(trials)
        })
        .collect();
    let trials: usize = r.runs.iter().map(|x| x.trials.len()).sum();
    Check::held(
        "every step sent requests",
        empty.is_empty(),
        if empty.is_empty() {
            format!(
                "{} steps ({trials} trials), each with requests in its window",
                r.runs.len()
            )
        } else {
            format!("nothing measured in {empty:?}")
        },
    )
}

/// Mean lateness of the open loop's dispatcher past which a step measures the generator, not the
/// target: a tenth of the p99 objective the profiles use.
const MAX_MEAN_LAG_US: f64 = 5_000.0;

fn the_generator_kept_its_schedule(r: &Results) -> Check {
    const NAME: &str = "the load generator kept its schedule";
    let open: Vec<_> = r.runs.iter().filter(|x| x.offered_rps.is_some()).collect();
    if open.is_empty() {
        return Check::not_applicable(NAME, "no open-loop step ran");
    }
    let late: Vec<String> = open
        .iter()
        .filter(|x| {
            x.generator_lag_us.0 > MAX_MEAN_LAG_US
                || x.errors_by_kind.contains_key("generator_overrun")
        })
        .map(|x| {
            format!(
                "{} (mean lag {:.1} ms, {} overrun)",
                x.id,
                x.generator_lag_us.0 / 1000.0,
                x.errors_by_kind
                    .get("generator_overrun")
                    .copied()
                    .unwrap_or(0)
            )
        })
        .collect();
    let worst = open
        .iter()
        .map(|x| x.generator_lag_us.0)
        .fold(0.0, f64::max);
    // Informative: how late requests' tasks began (the dispatcher's lag, then the wait for the
    // generator's thread), worst p99 over every step.
    let task = r
        .runs
        .iter()
        .filter_map(|x| Some((x.start_lag_p99_us?, x.id.as_str())))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(String::new(), |(us, id)| {
            format!(
                "; requests began at worst {:.1} ms late at p99 ({id})",
                us / 1000.0
            )
        });
    Check::held(
        NAME,
        late.is_empty(),
        if late.is_empty() {
            format!(
                "{} open-loop steps; worst mean dispatch lag {:.2} ms (limit {:.0} ms), no overrun{task}",
                open.len(),
                worst / 1000.0,
                MAX_MEAN_LAG_US / 1000.0
            )
        } else {
            format!("behind schedule: {}", late.join(", "))
        },
    )
}

fn every_chart_drawn(figures: &[Figure]) -> Check {
    let blank: Vec<&str> = figures
        .iter()
        .filter(|f| f.svg.contains("no data:"))
        .map(|f| f.name.as_str())
        .collect();
    Check::held(
        "every chart drawn",
        !figures.is_empty() && blank.is_empty(),
        if blank.is_empty() {
            format!("{} charts", figures.len())
        } else {
            format!("empty: {blank:?}")
        },
    )
}

fn nothing_outlived_its_deadline(r: &Results) -> Check {
    const NAME: &str = "nothing outlived its deadline under faults";
    if !r.runs.iter().any(|x| x.fault.is_some()) {
        return Check::not_applicable(NAME, "no fault scenario ran");
    }
    let outlived: u64 = r
        .runs
        .iter()
        .filter_map(|x| x.fault.as_ref())
        .map(|f| f.outlived_deadline)
        .sum();
    Check::held(
        NAME,
        outlived == 0,
        format!("{outlived} request(s) past chain deadline + 1 s"),
    )
}

/// Each sink holds exactly the distinct valid events sent to it, no call failed, and every import
/// ended with exactly the file's distinct valid events stored and every line counted.
fn every_sink_holds_what_was_sent(r: &Results) -> Check {
    const NAME: &str = "every sink holds exactly what was sent";
    let Some(ing) = &r.ingest else {
        return Check::not_applicable(NAME, "the ingest scenario did not run");
    };
    let mut wrong: Vec<String> = ing
        .verified
        .iter()
        .filter(|v| v.stored != v.expected || !v.digest_matches)
        .map(|v| {
            format!(
                "{}: {} stored of {}, digest {}",
                v.target,
                v.stored,
                v.expected,
                if v.digest_matches {
                    "matches"
                } else {
                    "differs"
                }
            )
        })
        .collect();
    wrong.extend(ing.cells.iter().filter(|c| c.errors > 0).map(|c| {
        format!(
            "{} {} × {}: {} failed calls",
            c.target, c.pattern, c.clients, c.errors
        )
    }));
    wrong.extend(
        ing.imports
            .iter()
            .filter(|i| i.inserted != i.expected || i.inserted + i.repeated + i.invalid != i.events)
            .map(|i| {
                format!(
                    "{} import of {}: {} inserted of {}",
                    i.target, i.events, i.inserted, i.expected
                )
            }),
    );
    let events: u64 = ing.verified.iter().map(|v| v.stored).sum();
    Check::held(
        NAME,
        wrong.is_empty(),
        if wrong.is_empty() {
            format!(
                "{} sinks, {events} events stored, each once; {} imports exact",
                ing.verified.len(),
                ing.imports.len()
            )
        } else {
            wrong.join("; ")
        },
    )
}

/// The largest import on the best transport within 5× the bulk-insert floor, and each sink's peak
/// memory growing less than 20 MiB from a tenth of the file to the whole of it.
fn imports_near_the_floor_in_flat_memory(r: &Results) -> Check {
    const NAME: &str = "import within 5× the bulk-insert floor, memory flat in the file's size";
    let Some(ing) = r.ingest.as_ref().filter(|i| !i.imports.is_empty()) else {
        return Check::not_applicable(NAME, "no import ran");
    };
    let largest = ing.imports.iter().map(|i| i.events).max().unwrap_or(0);
    let best = ing
        .imports
        .iter()
        .filter(|i| i.events == largest && i.target != "inprocess")
        .filter_map(|i| i.floor_ratio.map(|f| (f, i)))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let mut growth = Vec::new();
    for big in ing.imports.iter().filter(|i| i.events == largest) {
        let small = ing
            .imports
            .iter()
            .find(|i| i.target == big.target && i.events < largest);
        if let (Some(a), Some(b)) = (small.and_then(|s| s.peak_rss_mib), big.peak_rss_mib) {
            growth.push((big.target.clone(), b - a));
        }
    }
    let flat = growth.iter().all(|(_, g)| *g < 20.0);
    let near = best.is_some_and(|(f, _)| f <= 5.0);
    Check::held(
        NAME,
        near && flat,
        format!(
            "{}; peak RSS growth {}",
            best.map_or("no networked import with a floor".into(), |(f, i)| format!(
                "{} events through {} in {:.2} s = {f:.1}× the floor",
                i.events, i.target, i.total_s
            )),
            growth
                .iter()
                .map(|(t, g)| format!("{t} {g:+.1} MiB"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn check<'a>(checks: &'a [Check], name: &str) -> &'a Check {
        checks.iter().find(|c| c.name == name).expect(name)
    }

    #[test]
    fn a_step_that_sent_nothing_fails_and_absent_scenarios_are_not_applicable() {
        let mut idle = fixture::run("checkout-closed", "inprocess", None, Some(1), 0.0);
        idle.requests = 0;
        let busy = fixture::run("checkout-closed", "inprocess", None, Some(4), 500.0);
        let r = fixture::results(&["inprocess"], vec![idle, busy]);
        let checks = evaluate(&r, &[]);
        let sent = check(&checks, "every step sent requests");
        assert!(
            !sent.passed && sent.applicable && sent.detail.contains("Some(1)"),
            "{sent:?}"
        );
        // One empty trial of a step that otherwise measured fails it too.
        let mut gap = fixture::run("checkout-closed", "grpc", None, Some(1), 500.0);
        gap.trials = vec![
            crate::results::Trial {
                requests: 80,
                ..Default::default()
            };
            4
        ];
        gap.trials.push(crate::results::Trial::default());
        let checks = evaluate(&fixture::results(&["grpc"], vec![gap]), &[]);
        let sent = check(&checks, "every step sent requests");
        assert!(!sent.passed && sent.detail.contains("trial 5"), "{sent:?}");
        for name in [
            "no errors at the lightest load",
            "nothing outlived its deadline under faults",
        ] {
            let c = check(&checks, name);
            assert!(c.passed && !c.applicable, "{c:?}");
        }
    }

    #[test]
    fn a_generator_behind_its_schedule_fails_the_run() {
        let on_time = fixture::run("checkout-open", "grpc", Some(100.0), None, 100.0);
        let mut late = fixture::run("checkout-open", "grpc", Some(1000.0), None, 900.0);
        late.generator_lag_us = (7_500.0, 40_000.0);
        let checks = evaluate(
            &fixture::results(&["grpc"], vec![on_time.clone(), late]),
            &[],
        );
        let c = check(&checks, "the load generator kept its schedule");
        assert!(!c.passed && c.detail.contains("1000"), "{c:?}");
        let mut overrun = fixture::run("checkout-open", "grpc", Some(1000.0), None, 900.0);
        overrun.errors_by_kind.insert("generator_overrun".into(), 2);
        let checks = evaluate(
            &fixture::results(&["grpc"], vec![on_time.clone(), overrun]),
            &[],
        );
        assert!(!check(&checks, "the load generator kept its schedule").passed);
        let mut on_time_but_busy = on_time.clone();
        on_time_but_busy.start_lag_p99_us = Some(12_300.0);
        let checks = evaluate(
            &fixture::results(&["grpc"], vec![on_time, on_time_but_busy]),
            &[],
        );
        let c = check(&checks, "the load generator kept its schedule");
        assert!(c.passed, "{c:?}");
        assert!(
            c.detail
                .contains("requests began at worst 12.3 ms late at p99"),
            "the tasks' lag is told, not judged: {c:?}"
        );
    }

    #[test]
    fn errors_at_the_lightest_load_fail_the_run() {
        let mut light = fixture::run("checkout-open", "grpc", Some(100.0), None, 900.0);
        light.errors = 3;
        light.errors_by_kind.insert("unavailable".into(), 3);
        let heavy = fixture::run("checkout-open", "grpc", Some(1000.0), None, 900.0);
        let checks = evaluate(&fixture::results(&["grpc"], vec![light, heavy]), &[]);
        let c = check(&checks, "no errors at the lightest load");
        assert!(!c.passed && c.applicable && c.detail.contains("unavailable"));
    }
}
