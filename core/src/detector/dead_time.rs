//! From loss probabilities to a number of silent intervals, with nothing but
//! `+ - * /` and comparisons on `f64` (no libm on the witness).

use crate::time::Duration;

/// The largest `max_intervals` honoured: the search below walks the binary
/// digits of the answer, 17 of them cover this.
pub(crate) const INTERVALS_CEILING: u32 = (1 << 16) - 1;

/// The fewest silent intervals any verdict needs. One lost beat on every link
/// must never read as death, and `machine::stall_limit` relies on no peer
/// reaching a verdict in less than two intervals.
pub(crate) const INTERVALS_FLOOR: u32 = 2;

/// The smallest `k` with `q^k <= bound`, clamped to `[min, max]`.
///
/// `q` is the probability that one heartbeat round is lost on every link
/// counted (the product of their loss probabilities). Anything that is not a
/// probability strictly below one (including NaN) needs `max`; a bound that
/// is not positive (including NaN) can never be met and also needs `max`.
///
/// Cost: `2 * bits(max)` multiplications (7 + 7 for the default 64), no loop
/// over `k` itself: the answer is found digit by digit (binary lifting over
/// `q, q^2, q^4, …`), which works because `q^m` never grows with `m`.
pub(crate) fn intervals_for(q: f64, bound: f64, min: u32, max: u32) -> u32 {
    let max = max.clamp(1, INTERVALS_CEILING);
    let min = min.min(max);
    // NaN is routed to the pessimistic answer.
    if bound.is_nan() || bound <= 0.0 {
        return max;
    }
    if bound >= 1.0 {
        return min;
    }
    if q.is_nan() || q >= 1.0 {
        return max;
    }
    if q <= 0.0 {
        return min;
    }
    let levels = (u32::BITS - max.leading_zeros()) as usize;
    // powers[j] = q^(2^j)
    let mut powers = [0.0f64; 17];
    let mut x = q;
    for slot in powers.iter_mut().take(levels) {
        *slot = x;
        x *= x;
    }
    // Largest m < 2^levels with q^m > bound (q^0 = 1 > bound, so m >= 0).
    let mut acc = 1.0f64;
    let mut m: u32 = 0;
    for (j, &power) in powers.iter().enumerate().take(levels).rev() {
        let next = acc * power;
        if next > bound {
            acc = next;
            m |= 1 << j;
        }
    }
    m.saturating_add(1).clamp(min, max)
}

/// [`intervals_for`], given the answer `k0` for a nearby `q`: estimates
/// move a little at a time, so first check whether `k0` still holds (`q^k0`
/// within the bound and `q^(k0−1)` not: about `2·log2(k0)` multiplications)
/// and search only if it does not.
pub(crate) fn intervals_near(q: f64, k0: u32, bound: f64, min: u32, max: u32) -> u32 {
    let max = max.clamp(1, INTERVALS_CEILING);
    let min = min.min(max);
    // The check relies on q^k falling with k: only for probabilities.
    if (min..=max).contains(&k0)
        && k0 >= 1
        && (0.0..=1.0).contains(&q)
        && bound > 0.0
        && bound < 1.0
    {
        let below = powi(q, k0 - 1);
        let at = below * q;
        // NaNs fail both comparisons and fall through to the search.
        if (k0 == max || at <= bound) && (k0 == min || below > bound) {
            return k0;
        }
    }
    intervals_for(q, bound, min, max)
}

/// `q^n` by repeated squaring (at most 32 rounds).
fn powi(q: f64, n: u32) -> f64 {
    let mut result = 1.0f64;
    let mut base = q;
    let mut e = n;
    while e > 0 {
        if e & 1 == 1 {
            result *= base;
        }
        base *= base;
        e >>= 1;
    }
    result
}

/// `k` silent intervals plus a grace for scheduling and network jitter
/// (at most half an interval, measured: `lateness.rs`): the verdict then
/// falls between the k-th and the (k+1)-th missed beat, never on a beat that
/// is merely a little late.
pub(crate) fn span(k: u32, interval: Duration, grace: Duration) -> Duration {
    interval.saturating_mul(u64::from(k)).saturating_add(grace)
}

/// `ceil(d / interval)`, saturating; the interval is never zero here.
pub(crate) fn intervals_in(d: Duration, interval: Duration) -> u32 {
    let i = interval.total_micros().max(1);
    let n = d.total_micros() / i + u64::from(d.total_micros() % i != 0);
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// An upper approximation of `sqrt(v)` for `v >= 0`: an exponent-halving
/// first guess, then Newton steps, whose iterates never fall below the root
/// (AM-GM) and square their relative error each time; three steps take the
/// ≤ 3.5 % first guess to ~1e-14.
pub(crate) fn sqrt_upper(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 {
        return 0.0;
    }
    if v == f64::INFINITY {
        return v;
    }
    let mut y = f64::from_bits((v.to_bits() >> 1).wrapping_add(0x1ff7_a3be_a91d_9b1b));
    for _ in 0..3 {
        y = 0.5 * (y + v / y);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious definition, for comparison.
    fn linear(q: f64, bound: f64, min: u32, max: u32) -> u32 {
        let mut acc = 1.0;
        let mut k = 0;
        while k < max {
            acc *= q;
            k += 1;
            if acc <= bound {
                break;
            }
        }
        k.clamp(min, max)
    }

    #[test]
    fn binary_lifting_matches_repeated_multiplication() {
        for i in 0..=1000 {
            let q = f64::from(i) / 1000.0;
            for &bound in &[1e-3, 1e-6, 1e-9, 1e-12, 0.5] {
                for &(min, max) in &[(1, 64), (2, 64), (2, 10), (3, 1000)] {
                    let a = intervals_for(q, bound, min, max);
                    let b = linear(q, bound, min, max);
                    // Products taken in another order may differ in the last
                    // bit; only an exact tie could tell them apart.
                    assert!(a.abs_diff(b) <= 1, "q={q} bound={bound} {a} vs {b}");
                    if a != b {
                        let qa = q.powi(a.min(b) as i32);
                        assert!(
                            (qa - bound).abs() <= bound * 1e-9,
                            "q={q} bound={bound} {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_shortcut_agrees_with_the_search() {
        let bounds = [1e-6, 1e-3, 0.5, 1.0, 2.0, 0.0, f64::NAN];
        let qs = [
            0.0,
            1e-9,
            0.01,
            0.09,
            0.1,
            0.3,
            0.5,
            0.9,
            0.999,
            1.0,
            1.5,
            f64::NAN,
        ];
        for &bound in &bounds {
            for &q in &qs {
                for &(min, max) in &[(2, 64), (2, 10), (5, 5), (10, 3)] {
                    let want = intervals_for(q, bound, min, max);
                    for k0 in [0, 1, 2, 3, 5, 6, 7, 8, 10, 13, 64, 65, 1000] {
                        let got = intervals_near(q, k0, bound, min, max);
                        assert_eq!(got, want, "q={q} bound={bound} min={min} max={max} k0={k0}");
                    }
                }
            }
        }
        for i in 0..=2000 {
            let q = f64::from(i) / 2000.0;
            let want = intervals_for(q, 1e-6, 2, 64);
            for k0 in [want.saturating_sub(1), want, want + 1] {
                assert!(intervals_near(q, k0, 1e-6, 2, 64).abs_diff(want) <= 1);
            }
        }
        assert_eq!(powi(0.5, 0), 1.0);
        assert_eq!(powi(0.5, 3), 0.125);
    }

    #[test]
    fn known_values() {
        // 30 % loss on two links: 0.09^5 = 5.9e-6, 0.09^6 = 5.3e-7.
        assert_eq!(intervals_for(0.09, 1e-6, 2, 64), 6);
        // 10 % on two links: 0.01^3 = 1e-6 exactly (in decimal; in binary
        // a hair either side, so 3 or 4).
        assert!((3..=4).contains(&intervals_for(0.01, 1e-6, 2, 64)));
        assert_eq!(intervals_for(0.0, 1e-6, 2, 64), 2);
        assert_eq!(intervals_for(1.0, 1e-6, 2, 64), 64);
        assert_eq!(intervals_for(f64::NAN, 1e-6, 2, 64), 64);
        assert_eq!(intervals_for(0.5, f64::NAN, 2, 64), 64);
        assert_eq!(intervals_for(0.5, 0.0, 2, 64), 64);
        assert_eq!(intervals_for(0.5, 2.0, 2, 64), 2);
        assert_eq!(intervals_for(1.0, 2.0, 2, 64), 2);
        assert_eq!(intervals_for(0.999, 1e-6, 2, u32::MAX), 13_809);
        assert_eq!(intervals_for(0.5, 1e-6, 5, 3), 3);
    }

    #[test]
    fn sqrt_is_tight_and_never_below() {
        for i in 0..10_000u32 {
            let v = f64::from(i) * 0.37 + 1e-3;
            let s = sqrt_upper(v);
            assert!(s * s >= v * (1.0 - 1e-15), "{v}");
            assert!((s - v.sqrt()).abs() <= v.sqrt() * 1e-12, "{v}");
        }
        assert_eq!(sqrt_upper(0.0), 0.0);
        assert_eq!(sqrt_upper(-1.0), 0.0);
        assert_eq!(sqrt_upper(f64::NAN), 0.0);
    }

    #[test]
    fn durations() {
        let i = Duration::from_millis(5);
        assert_eq!(
            span(2, i, i.saturating_div(2)),
            Duration::from_micros(12_500)
        );
        assert_eq!(span(u32::MAX, Duration::MAX, Duration::MAX), Duration::MAX);
        assert_eq!(intervals_in(Duration::from_millis(15), i), 3);
        assert_eq!(intervals_in(Duration::from_micros(15_001), i), 4);
        assert_eq!(intervals_in(Duration::ZERO, i), 0);
        assert_eq!(
            intervals_in(Duration::MAX, Duration::from_micros(1)),
            u32::MAX
        );
    }
}
