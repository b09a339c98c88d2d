//! Activation functions (MIL `activation` family) and `softmax`.

use crate::elementwise::map;
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
    let mut out = x.to_tensor();
    if n == 0 || out.is_empty() {
        return Ok(out);
    }
    let block = n * inner;
    let work = |blk: &mut [f32]| {
        if inner == 1 {
            softmax_row(blk);
        } else {
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
        }
    };
    if out.len() >= 1 << 14 {
        out.data_mut().par_chunks_mut(block).for_each(work);
    } else {
        out.data_mut().chunks_mut(block).for_each(work);
    }
    Ok(out)
}

pub(crate) fn softmax_row(row: &mut [f32]) {
    if row.iter().any(|v| v.is_nan()) {
        row.fill(f32::NAN); // numpy: a NaN logit makes the max, and so every output, NaN
        return;
    }
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        // Every logit is -inf (a fully masked row): numpy gives NaN (0/0); keep that.
        row.fill(f32::NAN);
        return;
    }
    if m == f32::INFINITY {
        // numpy: inf - inf = NaN poisons the sum, so the whole row is NaN.
        row.fill(f32::NAN);
        return;
    }
    for v in row.iter_mut() {
        *v = exp_nonpos(*v - m);
    }
    let s = crate::reduce::sum8(row, |v| v);
    let inv = 1.0 / s;
    for v in row.iter_mut() {
        *v *= inv;
    }
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
