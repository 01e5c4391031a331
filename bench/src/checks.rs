//! The thresholds a run is held to (and CI with it): a broken one fails the run.

use crate::report::figures::Figure;
use crate::results::{Check, Results};

/// Evaluates every check on a finished run.
pub fn evaluate(r: &Results, figures: &[Figure]) -> Vec<Check> {
    let mut checks = Vec::new();
    let missing: Vec<&String> = r
        .targets()
        .iter()
        .filter(|t| !r.runs.iter().any(|x| &x.target == *t && x.requests > 0))
        .collect();
    checks.push(Check {
        name: "every transport measured".into(),
        passed: missing.is_empty(),
        applicable: true,
        detail: if missing.is_empty() {
            format!("{} targets with completed requests", r.targets().len())
        } else {
            format!("no completed request on {missing:?}")
        },
    });
    checks.push(Check {
        name: "audit clean".into(),
        passed: r.audit.clean,
        applicable: true,
        detail: format!("{} violation(s)", r.audit.violations.len()),
    });
    let lightest = r
        .runs
        .iter()
        .filter(|x| x.scenario == "checkout-open")
        .filter_map(|x| x.offered_rps)
        .reduce(f64::min);
    let light_errors: Vec<String> = r
        .runs
        .iter()
        .filter(|x| x.scenario == "checkout-open" && x.offered_rps == lightest && x.errors > 0)
        .map(|x| format!("{}: {:?}", x.target, x.errors_by_kind))
        .collect();
    checks.push(match lightest {
        None => Check::not_applicable(
            "no errors at the lightest load",
            "no open-loop checkout step ran",
        ),
        Some(l) => Check {
            name: "no errors at the lightest load".into(),
            passed: light_errors.is_empty(),
            applicable: true,
            detail: if light_errors.is_empty() {
                format!("0 errors at {l:.0}/s on every target")
            } else {
                format!("at {l:.0}/s: {}", light_errors.join("; "))
            },
        },
    });
    let empty: Vec<&str> = r
        .runs
        .iter()
        .filter(|x| x.requests == 0)
        .map(|x| x.id.as_str())
        .collect();
    checks.push(Check {
        name: "every step sent requests".into(),
        passed: empty.is_empty(),
        applicable: true,
        detail: if empty.is_empty() {
            format!("{} steps, each with requests in its window", r.runs.len())
        } else {
            format!("nothing measured in {empty:?}")
        },
    });
    let blank: Vec<&str> = figures
        .iter()
        .filter(|f| f.svg.contains("no data:"))
        .map(|f| f.name.as_str())
        .collect();
    checks.push(Check {
        name: "every chart drawn".into(),
        passed: !figures.is_empty() && blank.is_empty(),
        applicable: true,
        detail: if blank.is_empty() {
            format!("{} charts", figures.len())
        } else {
            format!("empty: {blank:?}")
        },
    });
    let outlived: u64 = r
        .runs
        .iter()
        .filter_map(|x| x.fault.as_ref())
        .map(|f| f.outlived_deadline)
        .sum();
    checks.push(if r.runs.iter().any(|x| x.fault.is_some()) {
        Check {
            name: "nothing outlived its deadline under faults".into(),
            passed: outlived == 0,
            applicable: true,
            detail: format!("{outlived} request(s) past chain deadline + 1 s"),
        }
    } else {
        Check::not_applicable(
            "nothing outlived its deadline under faults",
            "no fault scenario ran",
        )
    });
    checks.push(Check {
        name: "measured with optimised code".into(),
        passed: r.config.build_profile == "release",
        applicable: true,
        detail: format!("build profile {}", r.config.build_profile),
    });
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixture;

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
        for name in [
            "no errors at the lightest load",
            "nothing outlived its deadline under faults",
        ] {
            let c = check(&checks, name);
            assert!(c.passed && !c.applicable, "{c:?}");
        }
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
