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
        detail: if missing.is_empty() {
            format!("{} targets with completed requests", r.targets().len())
        } else {
            format!("no completed request on {missing:?}")
        },
    });
    checks.push(Check {
        name: "audit clean".into(),
        passed: r.audit.clean,
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
    if lightest.is_some() {
        checks.push(Check {
            name: "no errors at the lightest load".into(),
            passed: lightest.is_some() && light_errors.is_empty(),
            detail: match lightest {
                None => "no open-loop checkout step ran".into(),
                Some(l) if light_errors.is_empty() => {
                    format!("0 errors at {l:.0}/s on every target")
                }
                Some(l) => format!("at {l:.0}/s: {}", light_errors.join("; ")),
            },
        });
    }
    let blank: Vec<&str> = figures
        .iter()
        .filter(|f| f.svg.contains("no data:"))
        .map(|f| f.name.as_str())
        .collect();
    checks.push(Check {
        name: "every chart drawn".into(),
        passed: !figures.is_empty() && blank.is_empty(),
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
    if r.runs.iter().any(|x| x.fault.is_some()) {
        checks.push(Check {
            name: "nothing outlived its deadline under faults".into(),
            passed: outlived == 0,
            detail: format!("{outlived} request(s) past chain deadline + 1 s"),
        });
    }
    checks.push(Check {
        name: "measured with optimised code".into(),
        passed: r.config.build_profile == "release",
        detail: format!("build profile {}", r.config.build_profile),
    });
    checks
}
