//! The knee row of the verdict table: decided from each target's searched bracket.

use super::{Verdict, closed_best, mechanism, networked};
use crate::report::facts::knee;
use crate::results::Results;
use crate::stats::Interval;

/// Gap under which two searched knees are called a tie, measured between the best's knee and
/// the top of the runner-up's bracket: the search's own resolution (it stops when the bracket's
/// ends are 10% apart).
pub const KNEE_TIE: f64 = 0.10;

/// The knee: a winner when the searched brackets are more than [`KNEE_TIE`] apart.
pub(super) fn knee_verdict(r: &Results) -> Option<Verdict> {
    let mut found: Vec<(String, f64, f64)> = networked(r)
        .filter_map(|t| {
            let k = knee(r, t)?;
            let above = r
                .knees
                .iter()
                .find(|s| &s.target == t)
                .and_then(|s| s.above_rps)
                .unwrap_or(k);
            Some((t.clone(), k, above))
        })
        .collect();
    if found.len() < 2 {
        return None;
    }
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (best, next) = (&found[0], &found[1]);
    let searched = !r.knees.is_empty();
    // Searched: even the nearest the two knees can be (the best's knee against the top of the
    // runner-up's bracket) must be further apart than the search resolves, the trials' noise
    // threshold applied to the brackets; the sweep's coarse rates alone decide nothing.
    let decided = searched && best.1 / next.2 - 1.0 > KNEE_TIE;
    Some(Verdict {
        question: format!(
            "Knee (highest rate with p99 ≤ {:.0} ms)",
            r.config.slo_p99_ms
        ),
        winner: decided.then(|| best.0.clone()),
        pair: (best.0.clone(), next.0.clone()),
        ratio: Interval {
            median: best.1 / next.1,
            lo: best.1 / next.2,
            hi: best.2 / next.1,
            coverage: 0.0,
        },
        evidence: if searched {
            format!(
                "brackets {:.0}–{:.0} vs {:.0}–{:.0}/s",
                best.1, best.2, next.1, next.2
            )
        } else {
            "sweep rates only".into()
        },
        once: !searched,
        significant: false,
        cause: mechanism(
            closed_best(r, &best.0),
            closed_best(r, &next.0),
            (&best.0, &next.0),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::results::KneeSearch;

    #[test]
    fn a_knee_wins_only_when_the_brackets_are_further_apart_than_the_search_resolves() {
        let knee_row = |rest: (f64, f64)| {
            let mut r = fixture::results(&["grpc", "rest-h1"], vec![]);
            r.knees = vec![
                KneeSearch {
                    target: "grpc".into(),
                    knee_rps: Some(1000.0),
                    above_rps: Some(1100.0),
                    probes: vec![],
                },
                KneeSearch {
                    target: "rest-h1".into(),
                    knee_rps: Some(rest.0),
                    above_rps: Some(rest.1),
                    probes: vec![],
                },
            ];
            knee_verdict(&r).expect("two knees")
        };
        // Touching brackets, knees 11% apart: the knees may be closer than the search resolves.
        let v = knee_row((1110.0, 1220.0));
        assert_eq!(v.outcome(), "tie (rest-h1, grpc)", "{v:?}");
        assert!((v.ratio.median - 1.11).abs() < 1e-9 && v.ratio.lo < 1.1);
        // Knee 15% past the top of gRPC's bracket.
        let v = knee_row((1265.0, 1390.0));
        assert_eq!(v.winner.as_deref(), Some("rest-h1"), "{v:?}");
    }
}
