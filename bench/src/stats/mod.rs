//! Statistics over repeated trials: the median with an order-statistic interval, the
//! Mann–Whitney U test (exact for small samples without ties, as Go's benchstat computes it;
//! normal approximation with tie correction otherwise), a bootstrap interval for the ratio of two
//! medians, and the verdict a comparison supports.

use serde::{Deserialize, Serialize};

/// Significance level of every comparison.
pub const ALPHA: f64 = 0.05;

/// A p-value as the report states it: `p = 0.002`, or `p < 0.001` below what three decimals show
/// (ten trials a side reach p ≈ 0.0002).
pub fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

/// The noise threshold: a winner is named only when the whole interval of the ratio lies more
/// than this share past 1, so a difference that may be smaller is a tie even when significant
/// (criterion.rs's `noise_threshold` rule). The ratio between two stacks moves about this much
/// between two default runs of the same build (gRPC's closed-loop peak over REST/1.1's: 1.09 in
/// one run, 1.03 in the next; 1.14 [1.02–1.21] in one and 1.01 in the next, each significant or
/// nearly so within its run), so a gap that may be smaller would not name the same winner twice.
pub const PRACTICAL: f64 = 0.10;

/// The median of some trials and an interval around it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Median of the trials.
    pub median: f64,
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Probability the interval holds the true median (order statistics, binomial): 0.95 or
    /// more when the trials allow it; with 5 trials the widest interval reaches 0.9375.
    pub coverage: f64,
}

/// The median of `v` (mean of the two middle values when even); 0 when empty.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// P(X ≤ k) for X ~ Binomial(n, ½).
fn binomial_half_cdf(n: usize, k: usize) -> f64 {
    let mut c = 1.0f64; // C(n, 0)
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        if i > 0 {
            c = c * (n + 1 - i) as f64 / i as f64;
        }
        sum += c;
    }
    sum / 2f64.powi(n as i32)
}

/// The median of `v` with the narrowest order-statistic interval `[x(j), x(n+1-j)]` whose
/// coverage is at least 95%, or the whole range when no narrower one reaches it.
pub fn interval(v: &[f64]) -> Interval {
    if v.is_empty() {
        return Interval::default();
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    // Coverage of [x(j), x(n+1-j)] (1-based) is 1 - 2·P(X ≤ j-1).
    let coverage = |j: usize| 1.0 - 2.0 * binomial_half_cdf(n, j - 1);
    let mut j = 1;
    while j < n.div_ceil(2) && coverage(j + 1) >= 0.95 {
        j += 1;
    }
    Interval {
        median: median(&s),
        lo: s[j - 1],
        hi: s[n - j],
        coverage: if n == 1 { 0.0 } else { coverage(j) },
    }
}

/// Two-sided p-value of the Mann–Whitney U test that `a` and `b` come from the same
/// distribution. 1 when either is empty.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    // Ranks of the pooled sample, ties sharing their mean rank.
    let mut pooled: Vec<(f64, usize)> = a
        .iter()
        .map(|&x| (x, 0))
        .chain(b.iter().map(|&x| (x, 1)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = pooled.len();
    let (mut r1, mut tie_term, mut ties) = (0.0, 0.0, false);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        if t > 1.0 {
            ties = true;
            tie_term += t * t * t - t;
        }
        r1 += pooled[i..=j].iter().filter(|p| p.1 == 0).count() as f64 * rank;
        i = j + 1;
    }
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let u = u1.min((n1 * n2) as f64 - u1);
    if !ties && n1 * n2 <= 400 {
        // Exact: the number of arrangements with U ≤ u, over all C(n, n1).
        let counts = u_distribution(n1, n2);
        let total: f64 = counts.iter().sum();
        let below: f64 = counts.iter().take(u as usize + 1).sum();
        return (2.0 * below / total).min(1.0);
    }
    let mean = (n1 * n2) as f64 / 2.0;
    let nf = n as f64;
    let var = (n1 * n2) as f64 / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((mean - u).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * (1.0 - normal_cdf(z))).min(1.0)
}

/// How many arrangements of `n1` and `n2` values give each U (index), with no ties.
fn u_distribution(n1: usize, n2: usize) -> Vec<f64> {
    // f[i][j][u]: arrangements of i and j values with statistic u; built by the last value.
    let max = n1 * n2;
    let mut f = vec![vec![vec![0.0f64; max + 1]; n2 + 1]; n1 + 1];
    for (i, fi) in f.iter_mut().enumerate() {
        for (j, fij) in fi.iter_mut().enumerate() {
            if i == 0 || j == 0 {
                fij[0] = 1.0;
            }
        }
    }
    for i in 1..=n1 {
        for j in 1..=n2 {
            for u in 0..=i * j {
                // The largest value is from the first sample (it exceeds all j of the second)
                // or from the second (it adds nothing).
                let from_a = if u >= j { f[i - 1][j][u - j] } else { 0.0 };
                f[i][j][u] = from_a + f[i][j - 1][u];
            }
        }
    }
    f[n1][n2].clone()
}

/// Standard normal CDF (Abramowitz–Stegun 26.2.17, error < 7.5e-8).
fn normal_cdf(z: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.231_641_9 * z.abs());
    let poly = t
        * (0.319_381_530
            + t * (-0.356_563_782
                + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    let tail = (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt() * poly;
    if z >= 0.0 { 1.0 - tail } else { tail }
}

/// A small deterministic generator (xorshift64*), so a report's intervals are reproducible.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// The ratio of `a`'s median over `b`'s, with a 95% percentile-bootstrap interval (2,000
/// resamples of each side's trials, fixed seed).
pub fn ratio(a: &[f64], b: &[f64]) -> Interval {
    bootstrap(a, b, |x, y| x / y)
}

/// `a`'s median minus `b`'s, with a 95% percentile-bootstrap interval (as [`ratio`]).
pub fn difference(a: &[f64], b: &[f64]) -> Interval {
    bootstrap(a, b, |x, y| x - y)
}

/// `combine(median(a), median(b))`, with the 2.5th and 97.5th percentiles of the same over 2,000
/// resamples of each side's trials (fixed seed); a point without an interval when either side has
/// fewer than two trials.
fn bootstrap(a: &[f64], b: &[f64], combine: fn(f64, f64) -> f64) -> Interval {
    let point = combine(median(a), median(b));
    let single = Interval {
        median: point,
        lo: point,
        hi: point,
        coverage: 0.0,
    };
    if a.len() < 2 || b.len() < 2 {
        return single;
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut draw = |v: &[f64]| {
        let s: Vec<f64> = (0..v.len()).map(|_| v[rng.below(v.len())]).collect();
        median(&s)
    };
    let mut values: Vec<f64> = (0..2000)
        .map(|_| combine(draw(a), draw(b)))
        .filter(|x| x.is_finite())
        .collect();
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return single;
    }
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Interval {
        median: point,
        lo: at(0.025),
        hi: at(0.975),
        coverage: 0.95,
    }
}

/// What a comparison of two sets of trials supports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// `a`'s median over `b`'s, with its interval.
    pub ratio: Interval,
    /// Mann–Whitney two-sided p-value.
    pub p: f64,
    /// Significant at [`ALPHA`].
    pub significant: bool,
    /// Significant, and the ratio's whole interval more than [`PRACTICAL`] past 1 on one side:
    /// a winner may be named.
    pub decided: bool,
}

impl Comparison {
    /// `1.23× [1.10–1.40], p = 0.008`: the ratio, its interval and the p-value as the report
    /// states them.
    pub fn text(&self) -> String {
        format!(
            "{:.2}× [{:.2}–{:.2}], {}",
            self.ratio.median,
            self.ratio.lo,
            self.ratio.hi,
            p_text(self.p)
        )
    }
}

/// Compares trials `a` with trials `b`.
pub fn compare(a: &[f64], b: &[f64]) -> Comparison {
    let ratio = ratio(a, b);
    let p = mann_whitney(a, b);
    let significant = p < ALPHA;
    Comparison {
        ratio,
        p,
        significant,
        // The rank test and the interval must agree: a significant p whose interval still
        // reaches within the noise threshold of 1 (a wide tail, say) names no winner.
        decided: significant && (ratio.lo > 1.0 + PRACTICAL || ratio.hi < 1.0 / (1.0 + PRACTICAL)),
    }
}

/// The fewest trials per side with which a difference can reach [`ALPHA`] at all (exact test,
/// complete separation).
pub fn trials_needed() -> usize {
    (2..)
        .find(|&k| mann_whitney(&lin(0.0, k), &lin(100.0, k)) < ALPHA)
        .unwrap_or(4)
}

fn lin(from: f64, k: usize) -> Vec<f64> {
    (0..k).map(|i| from + i as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exact_test_matches_the_tables() {
        // Complete separation of 5 and 5: 2 / C(10,5) = 2/252.
        let p = mann_whitney(&[1., 2., 3., 4., 5.], &[6., 7., 8., 9., 10.]);
        assert!((p - 2.0 / 252.0).abs() < 1e-12, "{p}");
        // One inversion: U = 1, P(U ≤ 1) = 2/252.
        let p = mann_whitney(&[1., 2., 3., 4., 6.], &[5., 7., 8., 9., 10.]);
        assert!((p - 4.0 / 252.0).abs() < 1e-12, "{p}");
        // Three trials each can never be significant: 2/20.
        let p = mann_whitney(&[1., 2., 3.], &[4., 5., 6.]);
        assert!((p - 0.1).abs() < 1e-12, "{p}");
        assert_eq!(trials_needed(), 4);
    }

    #[test]
    fn a_known_difference_is_found_and_identical_samples_give_a_tie() {
        let fast = [1.00, 1.02, 0.98, 1.01, 0.99, 1.03];
        let slow = [1.50, 1.55, 1.45, 1.52, 1.48, 1.51];
        let c = compare(&slow, &fast);
        assert!(c.significant && c.decided, "{c:?}");
        assert!((c.ratio.median - 1.505 / 1.005).abs() < 1e-9);
        assert!(c.ratio.lo > 1.4 && c.ratio.hi < 1.6, "{c:?}");
        let same = compare(&fast, &fast);
        assert!(!same.significant && !same.decided, "{same:?}");
        assert!(same.p > 0.9);
        // Interleaved samples: no measurable difference.
        let c = compare(&[1., 3., 5., 7., 9.], &[2., 4., 6., 8., 10.]);
        assert!(!c.significant, "{c:?}");
        // Significant but under the practical margin: no winner.
        let c = compare(
            &[100., 101., 102., 103., 104.],
            &[102., 103., 104., 105., 106.5],
        );
        assert!(!c.decided);
        // Significant, the median past the margin, but the interval reaching inside it (one
        // trial of each side close to the other's): no winner, the same either way round.
        let slow = [1.00, 1.02, 1.03, 1.15, 1.16, 1.17];
        let fast = [0.95, 0.96, 0.97, 0.98, 0.99, 1.01];
        let c = compare(&slow, &fast);
        assert!(c.significant && c.ratio.median >= 1.0 + PRACTICAL, "{c:?}");
        assert!(c.ratio.lo < 1.0 + PRACTICAL && !c.decided, "{c:?}");
        let c = compare(&fast, &slow);
        assert!(c.significant && !c.decided, "{c:?}");
    }

    #[test]
    fn a_p_value_too_small_for_three_decimals_reads_as_a_bound() {
        // Ten trials a side, completely separated: the exact p is under 0.001.
        let a: Vec<f64> = (0..10).map(f64::from).collect();
        let b: Vec<f64> = (20..30).map(f64::from).collect();
        let p = mann_whitney(&a, &b);
        assert!(p < 0.001, "{p}");
        assert_eq!(p_text(p), "p < 0.001");
        assert_eq!(p_text(0.0021), "p = 0.002");
    }

    #[test]
    fn ties_use_the_corrected_normal_approximation() {
        let a = [1., 1., 1., 2., 2., 2., 3., 3.];
        let b = [5., 5., 6., 6., 6., 7., 7., 7.];
        let p = mann_whitney(&a, &b);
        // U = 0 with n1 = n2 = 8: z ≈ 3.3, p ≈ 0.001.
        assert!(p < 0.002 && p > 0.0002, "{p}");
        assert_eq!(mann_whitney(&[2., 2.], &[2., 2.]), 1.0);
    }

    #[test]
    fn the_interval_is_the_order_statistics_with_their_coverage() {
        let i = interval(&[5., 1., 4., 2., 3.]);
        assert_eq!((i.median, i.lo, i.hi), (3.0, 1.0, 5.0));
        assert!((i.coverage - 0.9375).abs() < 1e-12);
        // Nine trials: [x(2), x(8)] covers 1 - 2·10/512 = 96.1%.
        let v: Vec<f64> = (1..=9).map(f64::from).collect();
        let i = interval(&v);
        assert_eq!((i.lo, i.hi), (2.0, 8.0));
        assert!((i.coverage - (1.0 - 20.0 / 512.0)).abs() < 1e-12);
        assert_eq!(median(&[1., 2., 3., 10.]), 2.5);
    }

    #[test]
    fn a_difference_of_medians_has_a_bootstrap_interval_around_it() {
        let a = [300., 310., 305., 320., 298., 312.];
        let b = [200., 205., 210., 199., 202., 208.];
        let d = difference(&a, &b);
        assert_eq!(d.median, median(&a) - median(&b));
        assert!(d.lo <= d.median && d.median <= d.hi, "{d:?}");
        // Every resample's difference lies between the extremes of the two sides.
        assert!(d.lo >= 298. - 210. && d.hi <= 320. - 199., "{d:?}");
        assert_eq!(difference(&[5.], &[2., 3.]).coverage, 0.0);
    }
}
