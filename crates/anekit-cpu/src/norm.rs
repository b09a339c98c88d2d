//! Normalizations: `layer_norm`, `rms_norm`, `batch_norm`, `instance_norm`, `l2_norm`.
//!
//! Statistics are accumulated in f32 with the two-pass formula (mean first, then the mean of
//! squared deviations), which does not cancel catastrophically the way `E[x²] - E[x]²` can.

use crate::reduce::{lanes, sum8};
use crate::shape_ops::transpose;
use crate::tensor::normalize_axes;
use crate::{KernelError, Result, Tensor, TensorView};
use rayon::prelude::*;

fn check_affine(
    op: &'static str,
    what: &'static str,
    t: Option<TensorView<'_>>,
    want: &[usize],
) -> Result<()> {
    if let Some(t) = t {
        let ok = t.shape() == want || (t.len() == want.iter().product::<usize>());
        if !ok {
            return Err(KernelError::shape(
                op,
                want,
                t.shape(),
                format!("{what} must have the shape of the normalized axes"),
            ));
        }
    }
    Ok(())
}

/// Normalize lanes of `x` over `axes`, then restore the layout. `f(lane, out)` writes the
/// normalized lane (before gamma/beta, which it also applies).
fn over_axes(
    op: &'static str,
    x: TensorView<'_>,
    axes: &[i64],
    f: impl Fn(&[f32], &mut [f32]) + Sync + Send,
) -> Result<Tensor> {
    let axes = normalize_axes(op, axes, x.rank())?;
    let (data, kept, lane) = lanes(x, &axes)?;
    let mut out = vec![0.0f32; data.len()];
    if lane > 0 {
        if data.len() >= 1 << 14 {
            out.par_chunks_mut(lane)
                .zip(data.par_chunks(lane))
                .for_each(|(o, v)| f(v, o));
        } else {
            for (o, v) in out.chunks_mut(lane).zip(data.chunks(lane)) {
                f(v, o);
            }
        }
    }
    let perm: Vec<usize> = kept.iter().chain(&axes).copied().collect();
    let permuted_shape: Vec<usize> = perm.iter().map(|&a| x.shape()[a]).collect();
    let t = Tensor::from_parts(permuted_shape, out);
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(t);
    }
    // Inverse permutation back to x's layout.
    let mut inv = vec![0i64; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i as i64;
    }
    transpose(t.view(), &inv)
}

/// MIL `layer_norm`: `(x - mean) / √(var + epsilon) · gamma + beta` over `axes`; `gamma` and
/// `beta` have the shape of `x` at `axes` (in ascending axis order).
pub fn layer_norm(
    x: TensorView<'_>,
    axes: &[i64],
    gamma: Option<TensorView<'_>>,
    beta: Option<TensorView<'_>>,
    epsilon: f32,
) -> Result<Tensor> {
    const OP: &str = "layer_norm";
    let ax = normalize_axes(OP, axes, x.rank())?;
    let want: Vec<usize> = ax.iter().map(|&a| x.shape()[a]).collect();
    check_affine(OP, "gamma", gamma, &want)?;
    check_affine(OP, "beta", beta, &want)?;
    let (g, b) = (gamma.map(|t| t.data()), beta.map(|t| t.data()));
    over_axes(OP, x, axes, |v, o| {
        let n = v.len() as f32;
        let mean = sum8(v, |t| t) / n;
        let var = sum8(v, |t| (t - mean) * (t - mean)) / n;
        let inv = 1.0 / (var + epsilon).sqrt();
        for (i, (o, &t)) in o.iter_mut().zip(v).enumerate() {
            let mut y = (t - mean) * inv;
            if let Some(g) = g {
                y *= g[i];
            }
            if let Some(b) = b {
                y += b[i];
            }
            *o = y;
        }
    })
}

/// RMS norm (not a MIL op; the composite `x / √(mean(x²) + epsilon) · gamma` that
/// transformer exports spell with `reduce_mean`/`rsqrt`/`mul`).
pub fn rms_norm(
    x: TensorView<'_>,
    axes: &[i64],
    gamma: Option<TensorView<'_>>,
    epsilon: f32,
) -> Result<Tensor> {
    const OP: &str = "rms_norm";
    let ax = normalize_axes(OP, axes, x.rank())?;
    let want: Vec<usize> = ax.iter().map(|&a| x.shape()[a]).collect();
    check_affine(OP, "gamma", gamma, &want)?;
    let g = gamma.map(|t| t.data());
    over_axes(OP, x, axes, |v, o| {
        let ms = sum8(v, |t| t * t) / v.len() as f32;
        let inv = 1.0 / (ms + epsilon).sqrt();
        for (i, (o, &t)) in o.iter_mut().zip(v).enumerate() {
            *o = t * inv * g.map_or(1.0, |g| g[i]);
        }
    })
}

/// Per-channel affine over `x: [N, C, ...]`: `out = x·scale[c] + shift[c]`.
fn per_channel(x: TensorView<'_>, scale: &[f32], shift: &[f32]) -> Tensor {
    let c = x.shape()[1];
    let inner: usize = x.shape()[2..].iter().product();
    let mut out = x.to_tensor();
    if inner > 0 {
        out.data_mut()
            .par_chunks_mut(inner)
            .enumerate()
            .for_each(|(i, plane)| {
                let (s, t) = (scale[i % c], shift[i % c]);
                for v in plane {
                    *v = *v * s + t;
                }
            });
    }
    out
}

fn channel_param(
    op: &'static str,
    what: &'static str,
    x: &[usize],
    t: Option<TensorView<'_>>,
    c: usize,
) -> Result<()> {
    if let Some(t) = t
        && t.len() != c
    {
        return Err(KernelError::shape(
            op,
            x,
            t.shape(),
            format!("{what} must have {c} elements (one per channel)"),
        ));
    }
    Ok(())
}

/// MIL `batch_norm` (inference): `(x - mean[c]) / √(variance[c] + epsilon) · gamma[c] +
/// beta[c]` over `x: [N, C, ...]` (rank ≥ 2).
pub fn batch_norm(
    x: TensorView<'_>,
    mean: TensorView<'_>,
    variance: TensorView<'_>,
    gamma: Option<TensorView<'_>>,
    beta: Option<TensorView<'_>>,
    epsilon: f32,
) -> Result<Tensor> {
    const OP: &str = "batch_norm";
    if x.rank() < 2 {
        return Err(KernelError::input(
            OP,
            x.shape(),
            "expected [N, C, ...] (rank ≥ 2)",
        ));
    }
    let c = x.shape()[1];
    for (what, t) in [
        ("mean", Some(mean)),
        ("variance", Some(variance)),
        ("gamma", gamma),
        ("beta", beta),
    ] {
        channel_param(OP, what, x.shape(), t, c)?;
    }
    let mut scale = vec![0.0f32; c];
    let mut shift = vec![0.0f32; c];
    for i in 0..c {
        let g = gamma.map_or(1.0, |t| t.data()[i]);
        let b = beta.map_or(0.0, |t| t.data()[i]);
        let inv = 1.0 / (variance.data()[i] + epsilon).sqrt();
        scale[i] = g * inv;
        shift[i] = b - mean.data()[i] * g * inv;
    }
    Ok(per_channel(x, &scale, &shift))
}

/// MIL `instance_norm`: normalize each `(n, c)` plane of `x: [N, C, ...]` (rank ≥ 3) over its
/// spatial dims, then `· gamma[c] + beta[c]`.
pub fn instance_norm(
    x: TensorView<'_>,
    gamma: Option<TensorView<'_>>,
    beta: Option<TensorView<'_>>,
    epsilon: f32,
) -> Result<Tensor> {
    const OP: &str = "instance_norm";
    if x.rank() < 3 {
        return Err(KernelError::input(
            OP,
            x.shape(),
            "expected [N, C, ...] (rank ≥ 3)",
        ));
    }
    let c = x.shape()[1];
    channel_param(OP, "gamma", x.shape(), gamma, c)?;
    channel_param(OP, "beta", x.shape(), beta, c)?;
    let inner: usize = x.shape()[2..].iter().product();
    let mut out = x.to_tensor();
    if inner > 0 {
        out.data_mut()
            .par_chunks_mut(inner)
            .enumerate()
            .for_each(|(i, v)| {
                let n = v.len() as f32;
                let mean = sum8(v, |t| t) / n;
                let var = sum8(v, |t| (t - mean) * (t - mean)) / n;
                let inv = 1.0 / (var + epsilon).sqrt();
                let g = gamma.map_or(1.0, |t| t.data()[i % c]);
                let b = beta.map_or(0.0, |t| t.data()[i % c]);
                for t in v {
                    *t = (*t - mean) * inv * g + b;
                }
            });
    }
    Ok(out)
}

/// MIL `l2_norm`: `x / √(Σx² + epsilon)` over the last three dims, batch-wise over any leading
/// dims (rank ≥ 3; MIL default epsilon 1e-6).
pub fn l2_norm(x: TensorView<'_>, epsilon: f32) -> Result<Tensor> {
    const OP: &str = "l2_norm";
    if x.rank() < 3 {
        return Err(KernelError::input(OP, x.shape(), "rank must be ≥ 3"));
    }
    let r = x.rank() as i64;
    over_axes(OP, x, &[r - 3, r - 2, r - 1], |v, o| {
        let inv = 1.0 / (sum8(v, |t| t * t) + epsilon).sqrt();
        for (o, &t) in o.iter_mut().zip(v) {
            *o = t * inv;
        }
    })
}

/// MIL `local_response_norm` across channels of `x: [N, C, ...]` (rank ≥ 3):
/// `x_c / (k + alpha/size · Σ x_j²)^beta`, the sum over channels
/// `j ∈ [c - ⌊(size-1)/2⌋, c + ⌈(size-1)/2⌉] ∩ [0, C)` (MIL defaults alpha 1e-4, beta 0.75, k 1).
pub fn local_response_norm(
    x: TensorView<'_>,
    size: usize,
    alpha: f32,
    beta: f32,
    k: f32,
) -> Result<Tensor> {
    const OP: &str = "local_response_norm";
    if x.rank() < 3 {
        return Err(KernelError::input(
            OP,
            x.shape(),
            "expected [N, C, ...] (rank ≥ 3)",
        ));
    }
    if size == 0 {
        return Err(KernelError::param(OP, "size", "must be ≥ 1"));
    }
    let c = x.shape()[1];
    let inner: usize = x.shape()[2..].iter().product();
    let (before, after) = ((size - 1) / 2, size / 2);
    let mut out = x.to_tensor();
    if c * inner == 0 {
        return Ok(out);
    }
    out.data_mut()
        .par_chunks_mut(c * inner)
        .zip(x.data().par_chunks(c * inner))
        .for_each(|(o, src)| {
            for ch in 0..c {
                let (lo, hi) = (ch.saturating_sub(before), (ch + after).min(c - 1));
                for i in 0..inner {
                    let s: f32 = (lo..=hi).map(|j| src[j * inner + i].powi(2)).sum();
                    o[ch * inner + i] =
                        src[ch * inner + i] / (k + alpha / size as f32 * s).powf(beta);
                }
            }
        });
    Ok(out)
}
