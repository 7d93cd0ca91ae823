//! The statistics the benchmark reports of a sample: median, 95th
//! percentile (nearest rank), maximum, minimum and mean.

use serde::Serialize;

/// Median, 95th percentile and maximum (and minimum and mean) of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// How many values.
    pub n: usize,
    /// Smallest.
    pub min: f64,
    /// Median (the mean of the two middle values when `n` is even).
    pub median: f64,
    /// 95th percentile, nearest rank: the `⌈0.95·n⌉`-th smallest value
    /// (the maximum for n ≤ 19).
    pub p95: f64,
    /// Largest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// The statistics of the finite values of `values`; `None` if there are
/// none.
pub fn stats(values: &[f64]) -> Option<Stats> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    // Nearest rank, 1-based: ceil(0.95 n), in integers (no float rounding).
    let rank = (95 * n).div_ceil(100).clamp(1, n);
    Some(Stats {
        n,
        min: v[0],
        median,
        p95: v[rank - 1],
        max: v[n - 1],
        mean: v.iter().sum::<f64>() / n as f64,
    })
}
