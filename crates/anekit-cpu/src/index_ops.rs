//! Index-driven ops: `gather` with `batch_dims`, `gather_nd`, the `scatter` family (all seven
//! MIL modes), `one_hot`, `argsort` and `non_zero`.
//!
//! Semantics follow coremltools' op definitions (TF-style `batch_dims`); indices are `i32`,
//! negative indices count from the end of their axis, and an out-of-range index is an error
//! (MIL's `validate_indices` behaviour), never a panic or a silent clamp. `gather` without
//! batch dims and `gather_along_axis` live in [`crate::shape_ops`].

use crate::shape_ops::Element;
use crate::tensor::{contiguous_strides, normalize_axis, num_elements};
use crate::{KernelError, Result, Tensor, TensorView};

fn resolve(op: &'static str, i: i32, dim: usize) -> Result<usize> {
    let v = if i < 0 {
        i64::from(i) + dim as i64
    } else {
        i64::from(i)
    };
    if v < 0 || v >= dim as i64 {
        return Err(KernelError::param(
            op,
            "indices",
            format!("index {i} is out of range for an axis of size {dim}"),
        ));
    }
    Ok(v as usize)
}

fn batch_dims_match(
    op: &'static str,
    x: &[usize],
    indices: &[usize],
    batch_dims: usize,
) -> Result<()> {
    if batch_dims > indices.len() || batch_dims >= x.len().max(1) {
        return Err(KernelError::param(
            op,
            "batch_dims",
            format!(
                "{batch_dims} batch dims for x of rank {} and indices of rank {}",
                x.len(),
                indices.len()
            ),
        ));
    }
    if x[..batch_dims] != indices[..batch_dims] {
        return Err(KernelError::shape(
            op,
            x,
            indices,
            format!("the first {batch_dims} dims of x and indices must agree"),
        ));
    }
    Ok(())
}

/// MIL `gather` (iOS16+) with `batch_dims` (TF `gather`): for each of the leading `batch_dims`
/// positions, gather along `axis` with that position's indices. Result shape
/// `x.shape[..axis] + indices.shape[batch_dims..] + x.shape[axis+1..]`. `axis` must not be a
/// batch dim. `batch_dims = 0` is plain [`crate::shape_ops::gather`].
pub fn gather<T: Element>(
    x: TensorView<'_, T>,
    indices: TensorView<'_, i32>,
    axis: i64,
    batch_dims: usize,
) -> Result<Tensor<T>> {
    const OP: &str = "gather";
    let ax = normalize_axis(OP, axis, x.rank())?;
    batch_dims_match(OP, x.shape(), indices.shape(), batch_dims)?;
    if ax < batch_dims {
        return Err(KernelError::param(
            OP,
            "axis",
            format!("axis {axis} lies inside the {batch_dims} batch dims"),
        ));
    }
    let s = x.shape();
    let batches: usize = s[..batch_dims].iter().product();
    let pre: usize = s[batch_dims..ax].iter().product();
    let dim = s[ax];
    let inner: usize = s[ax + 1..].iter().product();
    let per_batch: usize = indices.shape()[batch_dims..].iter().product();
    let mut shape = s[..ax].to_vec();
    shape.extend_from_slice(&indices.shape()[batch_dims..]);
    shape.extend_from_slice(&s[ax + 1..]);
    let n = num_elements(OP, &shape)?;
    let idx: Vec<usize> = indices
        .data()
        .iter()
        .map(|&i| resolve(OP, i, dim))
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(n);
    for b in 0..batches {
        let ids = &idx[b * per_batch..(b + 1) * per_batch];
        for p in 0..pre {
            let base = (b * pre + p) * dim;
            for &i in ids {
                let start = (base + i) * inner;
                out.extend_from_slice(&x.data()[start..start + inner]);
            }
        }
    }
    Ok(Tensor::from_parts(shape, out))
}

/// MIL `gather_nd` (TF `gather_nd` with `batch_dims`): the last dim of `indices` (depth `k`)
/// addresses dims `batch_dims..batch_dims + k` of `x`; result shape
/// `indices.shape[..-1] + x.shape[batch_dims + k..]`.
pub fn gather_nd<T: Element>(
    x: TensorView<'_, T>,
    indices: TensorView<'_, i32>,
    batch_dims: usize,
) -> Result<Tensor<T>> {
    const OP: &str = "gather_nd";
    let ir = indices.rank();
    if ir == 0 {
        return Err(KernelError::input(
            OP,
            indices.shape(),
            "indices need rank ≥ 1",
        ));
    }
    let k = indices.shape()[ir - 1];
    if batch_dims >= ir || batch_dims + k > x.rank() {
        return Err(KernelError::shape(
            OP,
            x.shape(),
            indices.shape(),
            format!("index depth {k} + batch_dims {batch_dims} exceeds the rank of x"),
        ));
    }
    if batch_dims > 0 {
        batch_dims_match(OP, x.shape(), indices.shape(), batch_dims)?;
    }
    let s = x.shape();
    let strides = contiguous_strides(s);
    let batches: usize = s[..batch_dims].iter().product();
    let per_batch: usize = indices.shape()[batch_dims..ir - 1].iter().product();
    let slice: usize = s[batch_dims + k..].iter().product();
    let batch_stride: usize = s[batch_dims..].iter().product();
    let mut shape = indices.shape()[..ir - 1].to_vec();
    shape.extend_from_slice(&s[batch_dims + k..]);
    let n = num_elements(OP, &shape)?;
    let mut out = Vec::with_capacity(n);
    if k == 0 {
        // Each index tuple is empty: every one selects the whole batch slice.
        for b in 0..batches {
            for _ in 0..per_batch {
                let st = b * batch_stride;
                out.extend_from_slice(&x.data()[st..st + slice]);
            }
        }
        return Ok(Tensor::from_parts(shape, out));
    }
    for (t, tuple) in indices.data().chunks(k).enumerate() {
        let b = t / per_batch.max(1);
        let mut off = b * batch_stride;
        for (j, &i) in tuple.iter().enumerate() {
            off += resolve(OP, i, s[batch_dims + j])? * strides[batch_dims + j];
        }
        out.extend_from_slice(&x.data()[off..off + slice]);
    }
    Ok(Tensor::from_parts(shape, out))
}

/// How `scatter*` combines an update `u` with the existing value `o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScatterMode {
    /// `u` (with duplicate indices, the last update wins).
    Update,
    Add,
    /// `o - u`.
    Sub,
    Mul,
    /// `o / u`.
    Div,
    /// `max(o, u)` (NaN-ignoring, as `f32::max`).
    Max,
    Min,
}

impl ScatterMode {
    /// The MIL `mode` string (`"update"`, `"add"`, ...).
    pub fn from_mil(s: &str) -> Result<Self> {
        Ok(match s {
            "update" => ScatterMode::Update,
            "add" => ScatterMode::Add,
            "sub" => ScatterMode::Sub,
            "mul" => ScatterMode::Mul,
            "div" => ScatterMode::Div,
            "max" => ScatterMode::Max,
            "min" => ScatterMode::Min,
            other => {
                return Err(KernelError::param(
                    "scatter",
                    "mode",
                    format!("unknown mode {other:?}"),
                ));
            }
        })
    }

    fn apply(self, o: f32, u: f32) -> f32 {
        match self {
            ScatterMode::Update => u,
            ScatterMode::Add => o + u,
            ScatterMode::Sub => o - u,
            ScatterMode::Mul => o * u,
            ScatterMode::Div => o / u,
            ScatterMode::Max => o.max(u),
            ScatterMode::Min => o.min(u),
        }
    }
}

/// MIL `scatter`: a copy of `data` where, along `axis`, slice `indices[j]` is combined with
/// update slice `j`: `out[.., indices[j], ..] = mode(out[.., indices[j], ..], updates[.., j, ..])`,
/// applied in index order. `updates` has shape `data.shape[..axis] + indices.shape +
/// data.shape[axis+1..]`.
pub fn scatter(
    data: TensorView<'_>,
    indices: TensorView<'_, i32>,
    updates: TensorView<'_>,
    axis: i64,
    mode: ScatterMode,
) -> Result<Tensor> {
    const OP: &str = "scatter";
    let ax = normalize_axis(OP, axis, data.rank())?;
    let s = data.shape();
    let mut want = s[..ax].to_vec();
    want.extend_from_slice(indices.shape());
    want.extend_from_slice(&s[ax + 1..]);
    if updates.shape() != want.as_slice() {
        return Err(KernelError::shape(
            OP,
            updates.shape(),
            &want,
            "updates must have shape data.shape[..axis] + indices.shape + data.shape[axis+1..]",
        ));
    }
    let dim = s[ax];
    let idx: Vec<usize> = indices
        .data()
        .iter()
        .map(|&i| resolve(OP, i, dim))
        .collect::<Result<_>>()?;
    let outer: usize = s[..ax].iter().product();
    let inner: usize = s[ax + 1..].iter().product();
    let nidx = idx.len();
    let mut out = data.to_tensor();
    let o_data = out.data_mut();
    for o in 0..outer {
        for (j, &i) in idx.iter().enumerate() {
            let dst = (o * dim + i) * inner;
            let src = (o * nidx + j) * inner;
            for t in 0..inner {
                o_data[dst + t] = mode.apply(o_data[dst + t], updates.data()[src + t]);
            }
        }
    }
    Ok(out)
}

/// MIL `scatter_along_axis`: `indices` and `updates` have the same shape, equal to `data`'s
/// except along `axis`; element `p` of `updates` goes to `data` at `p`'s position with its
/// `axis` coordinate replaced by `indices[p]`.
pub fn scatter_along_axis(
    data: TensorView<'_>,
    indices: TensorView<'_, i32>,
    updates: TensorView<'_>,
    axis: i64,
    mode: ScatterMode,
) -> Result<Tensor> {
    const OP: &str = "scatter_along_axis";
    let ax = normalize_axis(OP, axis, data.rank())?;
    let s = data.shape();
    let ok = indices.shape() == updates.shape()
        && indices.rank() == data.rank()
        && (0..data.rank()).all(|d| d == ax || indices.shape()[d] == s[d]);
    if !ok {
        return Err(KernelError::shape(
            OP,
            s,
            indices.shape(),
            format!(
                "indices and updates ({:?}) must share a shape equal to data's except along axis {ax}",
                updates.shape()
            ),
        ));
    }
    let dim = s[ax];
    let k = indices.shape()[ax];
    let inner: usize = s[ax + 1..].iter().product::<usize>().max(1);
    let mut out = data.to_tensor();
    let o_data = out.data_mut();
    for (p, (&i, &u)) in indices.data().iter().zip(updates.data()).enumerate() {
        let j = resolve(OP, i, dim)?;
        let inn = p % inner;
        let o = p / (inner * k.max(1));
        let dst = (o * dim + j) * inner + inn;
        o_data[dst] = mode.apply(o_data[dst], u);
    }
    Ok(out)
}

/// MIL `scatter_nd`: `indices` has shape `K + [k]`; each k-tuple addresses a slice
/// `data[i0, .., ik-1, ...]` of shape `data.shape[k..]`, combined with the matching slice of
/// `updates` (shape `K + data.shape[k..]`).
pub fn scatter_nd(
    data: TensorView<'_>,
    indices: TensorView<'_, i32>,
    updates: TensorView<'_>,
    mode: ScatterMode,
) -> Result<Tensor> {
    const OP: &str = "scatter_nd";
    let ir = indices.rank();
    let s = data.shape();
    if ir == 0 || indices.shape()[ir - 1] > s.len() {
        return Err(KernelError::shape(
            OP,
            s,
            indices.shape(),
            "indices need rank ≥ 1 and a last dim ≤ the rank of data",
        ));
    }
    let k = indices.shape()[ir - 1];
    let mut want = indices.shape()[..ir - 1].to_vec();
    want.extend_from_slice(&s[k..]);
    if updates.shape() != want.as_slice() {
        return Err(KernelError::shape(
            OP,
            updates.shape(),
            &want,
            "updates must have shape indices.shape[..-1] + data.shape[k..]",
        ));
    }
    let strides = contiguous_strides(s);
    let slice: usize = s[k..].iter().product();
    let tuples: usize = indices.shape()[..ir - 1].iter().product();
    let mut out = data.to_tensor();
    let o_data = out.data_mut();
    for t in 0..tuples {
        let mut off = 0usize;
        for j in 0..k {
            off += resolve(OP, indices.data()[t * k + j], s[j])? * strides[j];
        }
        let src = &updates.data()[t * slice..(t + 1) * slice];
        for (o, &u) in o_data[off..off + slice].iter_mut().zip(src) {
            *o = mode.apply(*o, u);
        }
    }
    Ok(out)
}

/// MIL `one_hot`: a new axis of length `depth` at `axis` (in `-(r+1)..=r`, default -1 = last)
/// holding `on_value` where the position equals the index and `off_value` elsewhere. An index
/// outside `0..depth` (including negative ones) gives an all-`off_value` vector, as TF does.
pub fn one_hot(
    indices: TensorView<'_, i32>,
    depth: usize,
    axis: i64,
    on_value: f32,
    off_value: f32,
) -> Result<Tensor> {
    const OP: &str = "one_hot";
    let ax = normalize_axis(OP, axis, indices.rank() + 1)?;
    let mut shape = indices.shape().to_vec();
    shape.insert(ax, depth);
    let n = num_elements(OP, &shape)?;
    let outer: usize = indices.shape()[..ax].iter().product();
    let inner: usize = indices.shape()[ax..].iter().product();
    let mut out = vec![off_value; n];
    for o in 0..outer {
        for i in 0..inner {
            let v = indices.data()[o * inner + i];
            if v >= 0 && (v as usize) < depth {
                out[(o * depth + v as usize) * inner + i] = on_value;
            }
        }
    }
    Ok(Tensor::from_parts(shape, out))
}

/// MIL `argsort`: indices that sort `x` along `axis`, descending unless `ascending` (MIL's
/// default is descending). Stable: equal values keep index order. NaN counts as the largest.
pub fn argsort(x: TensorView<'_>, axis: i64, ascending: bool) -> Result<Tensor<i32>> {
    const OP: &str = "argsort";
    let ax = normalize_axis(OP, axis, x.rank())?;
    let dim = x.shape()[ax];
    if dim > i32::MAX as usize {
        return Err(KernelError::input(
            OP,
            x.shape(),
            "axis longer than i32::MAX",
        ));
    }
    let outer: usize = x.shape()[..ax].iter().product();
    let inner: usize = x.shape()[ax + 1..].iter().product();
    let mut out = vec![0i32; x.len()];
    let mut order: Vec<usize> = Vec::with_capacity(dim);
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| x.data()[(o * dim + j) * inner + i];
            order.clear();
            order.extend(0..dim);
            if ascending {
                order.sort_by(|&a, &b| at(a).total_cmp(&at(b)));
            } else {
                order.sort_by(|&a, &b| at(b).total_cmp(&at(a)));
            }
            for (r, &j) in order.iter().enumerate() {
                out[(o * dim + r) * inner + i] = j as i32;
            }
        }
    }
    Ok(Tensor::from_parts(x.shape().to_vec(), out))
}

/// MIL `non_zero`: the coordinates of the non-zero elements of `x` in C order, shape
/// `[N, rank]` (numpy `np.transpose(np.nonzero(x))`). NaN counts as non-zero.
pub fn non_zero(x: TensorView<'_>) -> Result<Tensor<i32>> {
    const OP: &str = "non_zero";
    let r = x.rank();
    if r == 0 {
        return Err(KernelError::input(OP, x.shape(), "rank must be ≥ 1"));
    }
    if x.shape().iter().any(|&d| d > i32::MAX as usize) {
        return Err(KernelError::input(
            OP,
            x.shape(),
            "a dim is longer than i32::MAX",
        ));
    }
    let strides = contiguous_strides(x.shape());
    let mut out = Vec::new();
    let mut count = 0usize;
    for (p, &v) in x.data().iter().enumerate() {
        if v != 0.0 {
            count += 1;
            for (d, &st) in strides.iter().enumerate() {
                out.push(((p / st) % x.shape()[d]) as i32);
            }
        }
    }
    Ok(Tensor::from_parts(vec![count, r], out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_duplicate_indices_apply_in_order() {
        let data = Tensor::new(vec![3], vec![1.0f32, 2.0, 3.0]).unwrap();
        let idx = Tensor::new(vec![2], vec![1i32, 1]).unwrap();
        let upd = Tensor::new(vec![2], vec![10.0f32, 20.0]).unwrap();
        let out = scatter(data.view(), idx.view(), upd.view(), 0, ScatterMode::Update).unwrap();
        assert_eq!(out.data(), &[1.0, 20.0, 3.0]);
        let out = scatter(data.view(), idx.view(), upd.view(), 0, ScatterMode::Add).unwrap();
        assert_eq!(out.data(), &[1.0, 32.0, 3.0]);
    }

    #[test]
    fn gather_nd_empty_depth_and_errors() {
        let x = Tensor::new(vec![2, 2], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let idx = Tensor::new(vec![2, 0], Vec::<i32>::new()).unwrap();
        let y = gather_nd(x.view(), idx.view(), 0).unwrap();
        assert_eq!(y.shape(), &[2, 2, 2]);
        let bad = Tensor::new(vec![1, 2], vec![0i32, 2]).unwrap();
        assert!(matches!(
            gather_nd(x.view(), bad.view(), 0),
            Err(KernelError::Param {
                op: "gather_nd",
                ..
            })
        ));
    }
}
