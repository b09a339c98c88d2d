//! Reductions (MIL `reduce_*` family) over any set of axes, with `keep_dims`.
//!
//! Reduced axes are made the innermost, contiguous block (a transpose copy, skipped when they
//! already are), then each lane is reduced in f32 with several independent accumulators (which
//! vectorizes and loses less precision than one running sum).

use crate::par::simd;
use crate::shape_ops::transpose;
use crate::tensor::normalize_axes;
use crate::{KernelError, Result, Tensor, TensorView};
use rayon::prelude::*;
use std::borrow::Cow;

/// Reduction ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    /// `Σ|x|`.
    L1Norm,
    /// `√Σx²`.
    L2Norm,
    /// `ln Σx`.
    LogSum,
    /// `ln Σeˣ`, computed as `m + ln Σe^(x-m)` with `m` the lane maximum.
    LogSumExp,
    /// `Σx²`.
    SumSquare,
}

impl ReduceOp {
    pub const fn mil_name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "reduce_sum",
            ReduceOp::Mean => "reduce_mean",
            ReduceOp::Max => "reduce_max",
            ReduceOp::Min => "reduce_min",
            ReduceOp::Prod => "reduce_prod",
            ReduceOp::L1Norm => "reduce_l1_norm",
            ReduceOp::L2Norm => "reduce_l2_norm",
            ReduceOp::LogSum => "reduce_log_sum",
            ReduceOp::LogSumExp => "reduce_log_sum_exp",
            ReduceOp::SumSquare => "reduce_sum_square",
        }
    }
}

/// The data of `x` rearranged as `[outer, lane]` rows with the `axes` (sorted, normalized)
/// innermost. Borrowed when they already are.
pub(crate) fn lanes<'a>(
    x: TensorView<'a>,
    axes: &[usize],
) -> Result<(Cow<'a, [f32]>, Vec<usize>, usize)> {
    let rank = x.rank();
    let kept: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
    let lane: usize = axes.iter().map(|&a| x.shape()[a]).product();
    let trailing = axes
        .iter()
        .enumerate()
        .all(|(i, &a)| a == rank - axes.len() + i);
    let data = if trailing {
        Cow::Borrowed(x.data())
    } else {
        let perm: Vec<i64> = kept.iter().chain(axes).map(|&a| a as i64).collect();
        Cow::Owned(transpose(x, &perm)?.into_data())
    };
    Ok((data, kept, lane))
}

fn out_shape(shape: &[usize], axes: &[usize], keep_dims: bool) -> Vec<usize> {
    (0..shape.len())
        .filter_map(|a| {
            if axes.contains(&a) {
                keep_dims.then_some(1)
            } else {
                Some(shape[a])
            }
        })
        .collect()
}

/// Sum with 8 independent accumulators.
pub(crate) fn sum8(v: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            acc[i] += f(c[i]);
        }
    }
    let mut s: f32 = chunks.remainder().iter().map(|&x| f(x)).sum();
    s += ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    s
}

fn nan_max(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::NEG_INFINITY, |m, x| {
        if x.is_nan() || m.is_nan() {
            f32::NAN
        } else {
            m.max(x)
        }
    })
}

fn nan_min(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::INFINITY, |m, x| {
        if x.is_nan() || m.is_nan() {
            f32::NAN
        } else {
            m.min(x)
        }
    })
}

fn reduce_lane(op: ReduceOp, v: &[f32]) -> f32 {
    match op {
        ReduceOp::Sum => sum8(v, |x| x),
        ReduceOp::Mean => sum8(v, |x| x) / v.len() as f32,
        ReduceOp::Max => nan_max(v),
        ReduceOp::Min => nan_min(v),
        ReduceOp::Prod => v.iter().product(),
        ReduceOp::L1Norm => sum8(v, f32::abs),
        ReduceOp::L2Norm => sum8(v, |x| x * x).sqrt(),
        ReduceOp::LogSum => sum8(v, |x| x).ln(),
        ReduceOp::LogSumExp => {
            let m = nan_max(v);
            if m.is_infinite() {
                // all -inf → -inf; any +inf → +inf (avoids inf - inf = NaN)
                m
            } else {
                m + sum8(v, |x| (x - m).exp()).ln()
            }
        }
        ReduceOp::SumSquare => sum8(v, |x| x * x),
    }
}

/// Reduce `x` over `axes` (`None` = every axis). With `keep_dims` the reduced axes stay as
/// size 1. Reducing an empty lane gives the op's identity (0 for sums, 1 for prod, -inf for
/// max, NaN for mean as numpy does).
pub fn reduce(
    op: ReduceOp,
    x: TensorView<'_>,
    axes: Option<&[i64]>,
    keep_dims: bool,
) -> Result<Tensor> {
    let name = op.mil_name();
    let axes = match axes {
        Some(a) => normalize_axes(name, a, x.rank())?,
        None => (0..x.rank()).collect(),
    };
    let shape = out_shape(x.shape(), &axes, keep_dims);
    if let Some(out) = reduce_middle(op, x, &axes) {
        return Ok(Tensor::from_parts(shape, out));
    }
    let (data, _, lane) = lanes(x, &axes)?;
    let n_out: usize = shape.iter().product();
    let mut out = vec![0.0f32; n_out];
    let lane_of = |v: &[f32]| simd(|| reduce_lane(op, v));
    if lane == 0 {
        out.fill(reduce_lane(op, &[]));
    } else if x.len() >= 1 << 15 && n_out > 1 {
        out.par_iter_mut()
            .zip(data.par_chunks(lane))
            .for_each(|(o, v)| *o = lane_of(v));
    } else {
        for (o, v) in out.iter_mut().zip(data.chunks(lane)) {
            *o = lane_of(v);
        }
    }
    Ok(Tensor::from_parts(shape, out))
}

/// The sum-based reductions over a consecutive block of axes followed by kept axes (e.g. the
/// channel axis of `[1, C, 1, S]`), read in place instead of transposing the reduced axes
/// innermost first. `x` is seen as `[outer, lane, inner]`; each output `(o, j)` is computed
/// with exactly [`sum8`]'s operations on its lane `x[o, 0..lane, j]` (eight accumulators
/// over the whole chunks of 8, the remainder summed on its own and added last), so the results
/// are bit-identical to the transposing path; only the loop order differs (eight rows of
/// columns at a time, which vectorizes across `j`). `None` when the case does not apply.
fn reduce_middle(op: ReduceOp, x: TensorView<'_>, axes: &[usize]) -> Option<Vec<f32>> {
    let (&first, &last) = (axes.first()?, axes.last()?);
    let consecutive = last - first + 1 == axes.len();
    let shape = x.shape();
    let inner: usize = shape.get(last + 1..)?.iter().product();
    if !consecutive || inner <= 1 {
        return None;
    }
    let lane: usize = shape[first..=last].iter().product();
    let outer: usize = shape[..first].iter().product();
    if lane == 0 {
        return None;
    }
    let d = x.data();
    let n = lane as f32;
    let id = |v: f32| v;
    let sq = |v: f32| v * v;
    Some(match op {
        ReduceOp::Sum => column_sums(d, outer, lane, inner, id)?,
        ReduceOp::Mean => column_sums(d, outer, lane, inner, id)?
            .into_iter()
            .map(|s| s / n)
            .collect(),
        ReduceOp::LogSum => column_sums(d, outer, lane, inner, id)?
            .into_iter()
            .map(f32::ln)
            .collect(),
        ReduceOp::L1Norm => column_sums(d, outer, lane, inner, f32::abs)?,
        ReduceOp::SumSquare => column_sums(d, outer, lane, inner, sq)?,
        ReduceOp::L2Norm => column_sums(d, outer, lane, inner, sq)?
            .into_iter()
            .map(f32::sqrt)
            .collect(),
        _ => return None,
    })
}

/// `sum8(lane, f)` of every lane `data[o, 0..lane, j]` of `data` seen as `[outer, lane, inner]`,
/// in output order `(o, j)`. See [`reduce_middle`].
fn column_sums(
    data: &[f32],
    outer: usize,
    lane: usize,
    inner: usize,
    f: impl Fn(f32) -> f32,
) -> Option<Vec<f32>> {
    // The value `Iterator::sum` starts from (std has used both 0.0 and -0.0).
    let zero: f32 = std::iter::empty::<f32>().sum();
    const COLS: usize = 128;
    let whole = lane / 8 * 8;
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        let plane = data.get(o * lane * inner..(o + 1) * lane * inner)?;
        let mut j0 = 0;
        while j0 < inner {
            let cols = COLS.min(inner - j0);
            let mut acc = [[0.0f32; COLS]; 8];
            let mut rem = [zero; COLS];
            simd(
                #[inline(always)]
                || {
                    for l in 0..lane {
                        let row = plane.get(l * inner + j0..l * inner + j0 + cols)?;
                        let a = if l < whole {
                            &mut acc[l % 8][..cols]
                        } else {
                            &mut rem[..cols]
                        };
                        for (a, &v) in a.iter_mut().zip(row) {
                            *a += f(v);
                        }
                    }
                    Some(())
                },
            )?;
            out.extend((0..cols).map(|j| {
                let c = |i: usize| acc[i][j];
                rem[j] + (((c(0) + c(4)) + (c(1) + c(5))) + ((c(2) + c(6)) + (c(3) + c(7))))
            }));
            j0 += cols;
        }
    }
    Some(out)
}

/// MIL `reduce_argmax` / `reduce_argmin` along one `axis`: the index of the first maximum
/// (minimum); a NaN counts as the extreme (numpy's rule).
pub fn argmax(x: TensorView<'_>, axis: i64, keep_dims: bool) -> Result<Tensor<i32>> {
    arg_extreme("reduce_argmax", x, axis, keep_dims, |a, b| a > b)
}

pub fn argmin(x: TensorView<'_>, axis: i64, keep_dims: bool) -> Result<Tensor<i32>> {
    arg_extreme("reduce_argmin", x, axis, keep_dims, |a, b| a < b)
}

fn arg_extreme(
    op: &'static str,
    x: TensorView<'_>,
    axis: i64,
    keep_dims: bool,
    better: impl Fn(f32, f32) -> bool,
) -> Result<Tensor<i32>> {
    let axes = normalize_axes(op, &[axis], x.rank())?;
    let shape = out_shape(x.shape(), &axes, keep_dims);
    let (data, _, lane) = lanes(x, &axes)?;
    if lane == 0 {
        return Err(KernelError::input(
            op,
            x.shape(),
            "cannot reduce an empty axis",
        ));
    }
    if lane > i32::MAX as usize {
        return Err(KernelError::input(
            op,
            x.shape(),
            "axis longer than i32::MAX",
        ));
    }
    let out: Vec<i32> = data
        .chunks(lane)
        .map(|v| {
            let mut bi = 0usize;
            for (i, &val) in v.iter().enumerate().skip(1) {
                let best = v[bi];
                if best.is_nan() {
                    break;
                }
                if val.is_nan() || better(val, best) {
                    bi = i;
                }
            }
            bi as i32
        })
        .collect();
    Ok(Tensor::from_parts(shape, out))
}
