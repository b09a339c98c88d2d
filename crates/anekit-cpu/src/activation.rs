//! Activation functions (MIL `activation` family) and `softmax`.

use crate::elementwise::map;
use crate::par::{build, simd};
use crate::tensor::normalize_axis;
use crate::{Result, Tensor, TensorView};
use rayon::prelude::*;

/// MIL `gelu` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GeluMode {
    /// `0.5·x·(1 + erf(x/√2))`.
    #[default]
    Exact,
    /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
    TanhApproximation,
    /// `x·sigmoid(1.702·x)`.
    SigmoidApproximation,
}

impl GeluMode {
    pub fn from_mil(s: &str) -> Option<GeluMode> {
        Some(match s {
            "EXACT" => GeluMode::Exact,
            "TANH_APPROXIMATION" => GeluMode::TanhApproximation,
            "SIGMOID_APPROXIMATION" => GeluMode::SigmoidApproximation,
            _ => return None,
        })
    }
}

/// Activation functions with their MIL parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x` if `x ≥ 0` else `alpha·x`.
    LeakyRelu {
        alpha: f32,
    },
    /// `x` if `x > 0` else `alpha·(eˣ - 1)`.
    Elu {
        alpha: f32,
    },
    Sigmoid,
    /// `min(max(alpha·x + beta, 0), 1)`.
    SigmoidHard {
        alpha: f32,
        beta: f32,
    },
    Tanh,
    Gelu(GeluMode),
    /// `x·sigmoid(x)`.
    Silu,
    /// `ln(1 + eˣ)`, computed without overflow.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `min(beta, x if x ≥ 0 else alpha·x)`.
    ClampedRelu {
        alpha: f32,
        beta: f32,
    },
    /// `alpha·x + beta`.
    LinearActivation {
        alpha: f32,
        beta: f32,
    },
    /// `alpha·tanh(beta·x)`.
    ScaledTanh {
        alpha: f32,
        beta: f32,
    },
    /// `alpha·ln(1 + e^(beta·x))` (scalar alpha/beta; the per-channel form is not covered).
    SoftplusParametric {
        alpha: f32,
        beta: f32,
    },
    /// `x` if `x > alpha` else 0.
    ThresholdedRelu {
        alpha: f32,
    },
}

#[inline(always)]
fn sigmoid(v: f32) -> f32 {
    // e = e^-|v| ≤ 1 never overflows; both branches use it. `exp_nonpos` vectorizes where
    // libm's expf is an opaque call per element (sigmoid/SiLU were 4 % of a transformer
    // block's profile); it is within 2 f32 ulps and flushes e below 2⁻¹²⁶ to 0, so
    // sigmoid(v < -87) is 0 instead of a subnormal, and SiLU(v < -87) a signed 0.
    let e = exp_nonpos(-v.abs());
    let s = if v >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    if v.is_nan() { v } else { s }
}

#[inline]
fn softplus(v: f32) -> f32 {
    // ln(1 + eˣ) = max(x, 0) + ln(1 + e^-|x|)
    v.max(0.0) + (-v.abs()).exp().ln_1p()
}

/// Apply an activation to every element.
pub fn activation(act: Activation, x: TensorView<'_>) -> Tensor {
    use std::f32::consts::{FRAC_1_SQRT_2, FRAC_2_PI};
    match act {
        Activation::Relu => map(x, |v| if v.is_nan() { v } else { v.max(0.0) }),
        Activation::Relu6 => map(x, |v| v.clamp(0.0, 6.0)),
        Activation::LeakyRelu { alpha } => map(x, move |v| if v >= 0.0 { v } else { alpha * v }),
        Activation::Elu { alpha } => map(x, move |v| if v > 0.0 { v } else { alpha * v.exp_m1() }),
        Activation::Sigmoid => map(x, sigmoid),
        Activation::SigmoidHard { alpha, beta } => {
            map(x, move |v| (alpha * v + beta).clamp(0.0, 1.0))
        }
        Activation::Tanh => map(x, f32::tanh),
        Activation::Gelu(GeluMode::Exact) => {
            map(x, |v| 0.5 * v * (1.0 + libm::erff(v * FRAC_1_SQRT_2)))
        }
        Activation::Gelu(GeluMode::TanhApproximation) => {
            let c = FRAC_2_PI.sqrt();
            map(x, move |v| {
                0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh())
            })
        }
        Activation::Gelu(GeluMode::SigmoidApproximation) => map(x, |v| v * sigmoid(1.702 * v)),
        Activation::Silu => map(x, |v| v * sigmoid(v)),
        Activation::Softplus => map(x, softplus),
        Activation::Softsign => map(x, |v| v / (1.0 + v.abs())),
        Activation::ClampedRelu { alpha, beta } => map(x, move |v| {
            let y = if v >= 0.0 { v } else { alpha * v };
            y.min(beta)
        }),
        Activation::LinearActivation { alpha, beta } => map(x, move |v| alpha * v + beta),
        Activation::ScaledTanh { alpha, beta } => map(x, move |v| alpha * (beta * v).tanh()),
        Activation::SoftplusParametric { alpha, beta } => {
            map(x, move |v| alpha * softplus(beta * v))
        }
        Activation::ThresholdedRelu { alpha } => map(x, move |v| if v > alpha { v } else { 0.0 }),
    }
}

/// MIL `prelu`: `x` if `x ≥ 0` else `alpha[c]·x`, with `x: [N, C, ...]` (rank ≥ 3) and one
/// alpha per channel.
pub fn prelu(x: TensorView<'_>, alpha: TensorView<'_>) -> Result<Tensor> {
    if x.rank() < 3 || alpha.len() != x.shape()[1] {
        return Err(crate::KernelError::shape(
            "prelu",
            x.shape(),
            alpha.shape(),
            "x must be [N, C, ...] (rank ≥ 3) with one alpha per channel",
        ));
    }
    let c = x.shape()[1];
    let inner: usize = x.shape()[2..].iter().product();
    let mut out = x.to_tensor();
    if inner > 0 {
        for (i, plane) in out.data_mut().chunks_mut(inner).enumerate() {
            let a = alpha.data()[i % c];
            for v in plane {
                if *v < 0.0 {
                    *v *= a;
                }
            }
        }
    }
    Ok(out)
}

/// Numerically stable softmax along `axis` (MIL default -1): `exp(x - max) / Σ exp(x - max)`,
/// summed in f32.
pub fn softmax(x: TensorView<'_>, axis: i64) -> Result<Tensor> {
    let ax = normalize_axis("softmax", axis, x.rank())?;
    let shape = x.shape();
    let n = shape[ax];
    let inner: usize = shape[ax + 1..].iter().product();
    if n == 0 || x.is_empty() {
        return Ok(x.to_tensor());
    }
    if inner == 1 {
        // Contiguous rows: read each from `x`, write the result once (no copy of `x` first).
        let src = x.data();
        let rows_per = (8192 / n).max(1);
        let out = build(src.len(), rows_per * n, 2, |ci, sink| {
            let mut e = vec![0.0f32; n];
            let rows = src.get(ci * rows_per * n..).unwrap_or_default();
            for row in rows.chunks(n).take(rows_per) {
                let e = &mut e[..row.len()];
                simd(
                    #[inline(always)]
                    || match softmax_exp(row, e) {
                        Some(inv) => sink.extend(e.iter().map(|&v| v * inv)),
                        None => sink.extend(row.iter().map(|_| f32::NAN)),
                    },
                )
            }
        });
        return Ok(Tensor::from_parts(shape.to_vec(), out));
    }
    let mut out = x.to_tensor();
    let block = n * inner;
    let work = |blk: &mut [f32]| {
        // Strided axis: gather each lane into a scratch row.
        let mut row = vec![0.0f32; n];
        for i in 0..inner {
            for (k, r) in row.iter_mut().enumerate() {
                *r = blk[k * inner + i];
            }
            softmax_row(&mut row);
            for (k, r) in row.iter().enumerate() {
                blk[k * inner + i] = *r;
            }
        }
    };
    if out.len() >= 1 << 14 {
        out.data_mut().par_chunks_mut(block).for_each(work);
    } else {
        out.data_mut().chunks_mut(block).for_each(work);
    }
    Ok(out)
}

/// Softmax of one contiguous row, in place.
pub(crate) fn softmax_row(row: &mut [f32]) {
    simd(
        #[inline(always)]
        || {
            let Some(m) = row_max(row) else {
                row.fill(f32::NAN);
                return;
            };
            for v in row.iter_mut() {
                *v = exp_nonpos(*v - m);
            }
            let inv = 1.0 / crate::reduce::sum8(row, |v| v);
            for v in row.iter_mut() {
                *v *= inv;
            }
        },
    )
}

/// `e[i] = exp(row[i] - max)` and the factor `1 / Σ e` that normalizes them, or `None` when
/// the whole softmax row is NaN (see [`row_max`]). `e` has `row`'s length.
#[inline(always)]
fn softmax_exp(row: &[f32], e: &mut [f32]) -> Option<f32> {
    let m = row_max(row)?;
    for (o, &v) in e.iter_mut().zip(row) {
        *o = exp_nonpos(v - m);
    }
    Some(1.0 / crate::reduce::sum8(e, |v| v))
}

/// The maximum of a softmax row, or `None` when numpy's softmax of the row is all NaN: a NaN
/// logit (it makes the max, and so every output, NaN), every logit -inf (0/0), or a +inf
/// logit (inf - inf poisons the sum). One pass with 16 independent maxima and a NaN flag, so
/// it vectorizes; the maximum of a set does not depend on the order it is taken in (the sign
/// of a zero maximum can, but `v - (±0)` and so `exp` are the same either way).
#[inline(always)]
fn row_max(row: &[f32]) -> Option<f32> {
    let mut acc = [f32::NEG_INFINITY; 16];
    let mut nan = false;
    let mut chunks = row.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] };
            nan |= c[i].is_nan();
        }
    }
    let mut m = f32::NEG_INFINITY;
    for &v in acc.iter().chain(chunks.remainder()) {
        m = if v > m { v } else { m };
        nan |= v.is_nan();
    }
    (!nan && m.is_finite()).then_some(m)
}

/// `eˣ` for `x ≤ 0` (softmax arguments after subtracting the maximum), written so the loop over
/// a row vectorizes: `f32::exp` is an opaque libm call per element and made attention
/// softmax-bound. Cody-Waite reduction `x = n·ln2 + r`, |r| ≤ ln2/2, and the Cephes `expf`
/// degree-6 polynomial; the scale 2ⁿ is built from the exponent bits. Error ≤ 2 f32 ulps
/// (checked against `f32::exp` in the tests); results below 2⁻¹²⁶ flush to 0, which cannot
/// change a softmax whose sum is ≥ 1.
#[inline(always)]
pub(crate) fn exp_nonpos(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = 0.693_359_4; // ln 2, high part (exact in a few bits)
    const C2: f32 = -2.121_944_4e-4; // ln 2 - C1
    const ROUND: f32 = 12_582_912.0; // 1.5·2²³: adding it rounds to an integer (nearest-even)
    let xc = x.max(-87.0);
    let t = xc * LOG2E + ROUND;
    let n = t - ROUND;
    // n sits in t's low mantissa bits: an integer subtraction instead of a float→int cast
    // (whose saturating semantics keep the loop from vectorizing).
    let ni = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let r = xc - n * C1 - n * C2;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5; // Cephes 5.0000001201e-1 rounds to 0.5 in f32
    let y = p * r * r + r + 1.0;
    let scale = f32::from_bits((ni.wrapping_add(127) as u32) << 23);
    if x < -87.0 { 0.0 } else { y * scale }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_nonpos_within_two_ulps_of_libm() {
        let mut worst = 0u32;
        let mut x = 0.0f32;
        while x > -87.0 {
            let (a, b) = (exp_nonpos(x), x.exp());
            let ulps = a.to_bits().abs_diff(b.to_bits());
            assert!(ulps <= 2, "exp({x}) = {a}, libm {b}: {ulps} ulps");
            worst = worst.max(ulps);
            x -= 0.000_37;
        }
        assert_eq!(exp_nonpos(0.0), 1.0);
        assert_eq!(exp_nonpos(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpos(-100.0), 0.0);
        assert!(worst <= 2);
    }

    /// The softmax row kernel as it was before the one-pass maximum and the out-of-place
    /// path (NaN check, `f32::max` fold, in-place exp, `sum8`, scale): the reference.
    fn reference_row(row: &mut [f32]) {
        if row.iter().any(|v| v.is_nan()) {
            row.fill(f32::NAN);
            return;
        }
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if m.is_infinite() {
            row.fill(f32::NAN);
            return;
        }
        for v in row.iter_mut() {
            *v = exp_nonpos(*v - m);
        }
        let inv = 1.0 / crate::reduce::sum8(row, |v| v);
        for v in row.iter_mut() {
            *v *= inv;
        }
    }

    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
    }

    #[test]
    fn row_max_finds_the_maximum_at_every_position() {
        for n in 1..70usize {
            for at in 0..n {
                let mut row: Vec<f32> = (0..n).map(|i| -((i * 7 % 13) as f32) - 1.0).collect();
                row[at] = 0.5;
                assert_eq!(row_max(&row), Some(0.5), "n={n} at={at}");
                let mut r = row.clone();
                r[at] = f32::NAN;
                assert_eq!(row_max(&r), None);
                r[at] = f32::INFINITY;
                assert_eq!(row_max(&r), None);
            }
        }
        assert_eq!(row_max(&[f32::NEG_INFINITY; 20]), None);
        assert_eq!(row_max(&[]), None);
    }

    #[test]
    fn softmax_paths_match_reference() {
        let mut s = 12345u64;
        for &(rows, n) in &[
            (1usize, 1usize),
            (2, 15),
            (3, 16),
            (9, 33),
            (64, 256),
            (5, 1001),
        ] {
            let x: Vec<f32> = (0..rows * n)
                .map(|i| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    match i % 37 {
                        5 => f32::NEG_INFINITY,
                        9 if rows > 3 && i / n == 3 => f32::NAN,
                        _ => ((s >> 40) as f32 / (1u64 << 24) as f32) * 20.0 - 10.0,
                    }
                })
                .collect();
            let mut want = x.clone();
            want.chunks_mut(n).for_each(reference_row);
            let t = Tensor::new(vec![rows, n], x.clone()).unwrap();
            let fast = softmax(t.view(), 1).unwrap();
            assert!(same_bits(fast.data(), &want), "softmax [{rows}, {n}]");
            let mut inplace = x.clone();
            inplace.chunks_mut(n).for_each(softmax_row);
            assert!(same_bits(&inplace, &want), "softmax_row [{rows}, {n}]");
        }
    }

    #[test]
    fn softmax_special_rows() {
        let mut r = [f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY];
        softmax_row(&mut r);
        assert_eq!(r, [0.0, 1.0, 0.0]);
        let mut r = [1.0, f32::NAN];
        softmax_row(&mut r);
        assert!(r.iter().all(|v| v.is_nan()));
    }
}
