//! Data-movement ops, generic over the element type where MIL allows any dtype: transpose,
//! concat, split, slice, pad, gather, tile; plus the float-only cumsum, topk, band_part and
//! upsampling.
//!
//! Most of them are "output index → source index per dimension" maps; `gather_grid` walks
//! such a per-dimension map once, so slice, tile, pad and nearest upsampling share one loop.

use crate::par::{build_rows, simd};
use crate::tensor::{contiguous_strides, normalize_axis, num_elements};
use crate::{KernelError, Result, Tensor, TensorView};
use rayon::prelude::*;

/// Element types the generic shape ops accept (f32 activations, bool masks, i32 indices...).
pub trait Element: Copy + Default + Send + Sync + 'static {}
impl<T: Copy + Default + Send + Sync + 'static> Element for T {}

/// Build the tensor whose element at index `(i0, i1, ...)` is `x[maps[0][i0], maps[1][i1],
/// ...]`, or `fill` where any map entry is `None`.
fn gather_grid<T: Element>(
    x: TensorView<'_, T>,
    maps: &[Vec<Option<usize>>],
    fill: T,
) -> Tensor<T> {
    let strides = contiguous_strides(x.shape());
    // Per-dimension source offsets (index · stride).
    let offs: Vec<Vec<Option<usize>>> = maps
        .iter()
        .zip(&strides)
        .map(|(m, &s)| m.iter().map(|o| o.map(|i| i * s)).collect())
        .collect();
    let shape: Vec<usize> = maps.iter().map(Vec::len).collect();
    let n: usize = shape.iter().product();
    let src = x.data();
    let Some((last, outer)) = offs.split_last() else {
        return Tensor::from_parts(shape, src.to_vec());
    };
    if n == 0 {
        return Tensor::from_parts(shape, Vec::new());
    }
    // Each output row (one index of the outer dims) is a fill row, one contiguous copy (the
    // last map selects consecutive elements, as slices, splits and pads' interiors do) or an
    // element-by-element gather.
    let row = last.len();
    let run = match last.first() {
        Some(&Some(k0)) => last
            .iter()
            .enumerate()
            .all(|(j, &o)| o == Some(k0 + j))
            .then_some(k0),
        _ => None,
    };
    let out = build_rows(n, row, 1, |r, sink| {
        let mut rem = r;
        let mut base = Some(0usize);
        for m in outer.iter().rev() {
            let i = rem % m.len();
            rem /= m.len();
            base = base.zip(m[i]).map(|(b, o)| b + o);
        }
        match (base, run) {
            (None, _) => {
                sink.extend(std::iter::repeat_n(fill, row));
                true
            }
            (Some(b), Some(k0)) => match src.get(b + k0..b + k0 + row) {
                Some(xs) => {
                    simd(
                        #[inline(always)]
                        || sink.extend_from_slice(xs),
                    );
                    true
                }
                None => false,
            },
            (Some(b), None) => {
                sink.extend(
                    last.iter()
                        .map(|o| o.and_then(|o| src.get(b + o).copied()).unwrap_or(fill)),
                );
                true
            }
        }
    });
    Tensor::from_parts(shape, out)
}

fn identity_maps(shape: &[usize]) -> Vec<Vec<Option<usize>>> {
    shape.iter().map(|&d| (0..d).map(Some).collect()).collect()
}

/// MIL `transpose`: output dim `i` is input dim `perm[i]` (negative entries count from the
/// end).
pub fn transpose<T: Element>(x: TensorView<'_, T>, perm: &[i64]) -> Result<Tensor<T>> {
    const OP: &str = "transpose";
    let r = x.rank();
    if perm.len() != r {
        return Err(KernelError::param(
            OP,
            "perm",
            format!("{perm:?} has {} entries for rank {r}", perm.len()),
        ));
    }
    let p: Vec<usize> = perm
        .iter()
        .map(|&a| normalize_axis(OP, a, r))
        .collect::<Result<_>>()?;
    let mut seen = vec![false; r];
    for &a in &p {
        if std::mem::replace(&mut seen[a], true) {
            return Err(KernelError::param(
                OP,
                "perm",
                format!("{perm:?} is not a permutation"),
            ));
        }
    }
    let in_strides = contiguous_strides(x.shape());
    let shape: Vec<usize> = p.iter().map(|&a| x.shape()[a]).collect();
    let strides: Vec<usize> = p.iter().map(|&a| in_strides[a]).collect();
    let out = crate::tensor::strided_copy(x.data(), &shape, &strides);
    Ok(Tensor::from_parts(shape, out))
}

/// MIL `concat` along `axis`. With `interleave`, all inputs must have the same shape and the
/// result alternates their slices (`a0, b0, a1, b1, ...`).
pub fn concat<T: Element>(
    values: &[TensorView<'_, T>],
    axis: i64,
    interleave: bool,
) -> Result<Tensor<T>> {
    const OP: &str = "concat";
    let Some(first) = values.first() else {
        return Err(KernelError::param(
            OP,
            "values",
            "needs at least one tensor",
        ));
    };
    let r = first.rank();
    let ax = normalize_axis(OP, axis, r)?;
    for v in values {
        let same = v.rank() == r
            && (0..r).all(|d| d == ax || v.shape()[d] == first.shape()[d])
            && (!interleave || v.shape()[ax] == first.shape()[ax]);
        if !same {
            return Err(KernelError::shape(
                OP,
                first.shape(),
                v.shape(),
                format!(
                    "all inputs must agree except on axis {ax}{}",
                    if interleave {
                        " (and on it too, with interleave)"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    let outer: usize = first.shape()[..ax].iter().product();
    let inner: usize = first.shape()[ax + 1..].iter().product();
    let total_axis: usize = values.iter().map(|v| v.shape()[ax]).sum();
    let mut shape = first.shape().to_vec();
    shape[ax] = total_axis;
    let n = num_elements(OP, &shape)?;
    let mut out = Vec::with_capacity(n);
    for o in 0..outer {
        if interleave {
            for j in 0..first.shape()[ax] {
                for v in values {
                    let start = (o * first.shape()[ax] + j) * inner;
                    out.extend_from_slice(&v.data()[start..start + inner]);
                }
            }
        } else {
            for v in values {
                let len = v.shape()[ax] * inner;
                out.extend_from_slice(&v.data()[o * len..(o + 1) * len]);
            }
        }
    }
    Ok(Tensor::from_parts(shape, out))
}

/// MIL `split` with explicit `sizes` along `axis` (they must sum to the axis length). For
/// `num_splits`, pass [`even_split_sizes`].
pub fn split<T: Element>(
    x: TensorView<'_, T>,
    sizes: &[usize],
    axis: i64,
) -> Result<Vec<Tensor<T>>> {
    const OP: &str = "split";
    let ax = normalize_axis(OP, axis, x.rank())?;
    let dim = x.shape()[ax];
    if sizes.iter().sum::<usize>() != dim {
        return Err(KernelError::param(
            OP,
            "split_sizes",
            format!(
                "{sizes:?} does not sum to the axis length {dim} of shape {:?}",
                x.shape()
            ),
        ));
    }
    let mut start = 0;
    let mut out = Vec::with_capacity(sizes.len());
    for &s in sizes {
        let mut maps = identity_maps(x.shape());
        maps[ax] = (start..start + s).map(Some).collect();
        out.push(gather_grid(x, &maps, T::default()));
        start += s;
    }
    Ok(out)
}

/// `num_splits` equal parts of an axis of length `dim` (MIL requires divisibility).
pub fn even_split_sizes(dim: usize, num_splits: usize) -> Result<Vec<usize>> {
    if num_splits == 0 || !dim.is_multiple_of(num_splits) {
        return Err(KernelError::param(
            "split",
            "num_splits",
            format!("{num_splits} does not divide the axis length {dim}"),
        ));
    }
    Ok(vec![dim / num_splits; num_splits])
}

/// Per-dimension parameters of MIL `slice_by_index` (all vectors have one entry per dim).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SliceParams {
    pub begin: Vec<i64>,
    pub end: Vec<i64>,
    /// Empty = all 1.
    pub stride: Vec<i64>,
    /// Ignore `begin[i]` (start at the first element in stride direction). Empty = all false.
    pub begin_mask: Vec<bool>,
    /// Ignore `end[i]` (run to the last element in stride direction). Empty = all false.
    pub end_mask: Vec<bool>,
    /// Drop dim `i` (it must select exactly one element). Empty = all false.
    pub squeeze_mask: Vec<bool>,
}

/// MIL `slice_by_index`: Python slicing per dim (`x[begin:end:stride]`, negative indices count
/// from the end, out-of-range values are clamped, negative strides walk backwards).
pub fn slice_by_index<T: Element>(x: TensorView<'_, T>, p: &SliceParams) -> Result<Tensor<T>> {
    const OP: &str = "slice_by_index";
    let r = x.rank();
    let opt_len = |v: usize| v == 0 || v == r;
    if p.begin.len() != r
        || p.end.len() != r
        || !opt_len(p.stride.len())
        || !opt_len(p.begin_mask.len())
        || !opt_len(p.end_mask.len())
        || !opt_len(p.squeeze_mask.len())
    {
        return Err(KernelError::param(
            OP,
            "begin/end/stride/masks",
            format!("each needs {r} entries for input shape {:?}", x.shape()),
        ));
    }
    let mut maps = Vec::with_capacity(r);
    let mut shape = Vec::with_capacity(r);
    for d in 0..r {
        let dim = x.shape()[d] as i64;
        let s = p.stride.get(d).copied().unwrap_or(1);
        if s == 0 {
            return Err(KernelError::param(
                OP,
                "stride",
                format!("stride of dim {d} is 0"),
            ));
        }
        let norm = |v: i64| if v < 0 { v + dim } else { v };
        let (b, e) = if s > 0 {
            let b = if p.begin_mask.get(d) == Some(&true) {
                0
            } else {
                norm(p.begin[d]).clamp(0, dim)
            };
            let e = if p.end_mask.get(d) == Some(&true) {
                dim
            } else {
                norm(p.end[d]).clamp(0, dim)
            };
            (b, e)
        } else {
            let b = if p.begin_mask.get(d) == Some(&true) {
                dim - 1
            } else {
                norm(p.begin[d]).clamp(-1, dim - 1)
            };
            let e = if p.end_mask.get(d) == Some(&true) {
                -1
            } else {
                norm(p.end[d]).clamp(-1, dim - 1)
            };
            (b, e)
        };
        let mut idx = Vec::new();
        let mut i = b;
        while (s > 0 && i < e) || (s < 0 && i > e) {
            idx.push(Some(i as usize));
            i += s;
        }
        if p.squeeze_mask.get(d) == Some(&true) {
            // A squeezed dim selects the single element at `begin` (MIL semantics).
            let bi = norm(p.begin[d]);
            if bi < 0 || bi >= dim {
                return Err(KernelError::param(
                    OP,
                    "squeeze_mask",
                    format!(
                        "dim {d}: begin {} is out of range for size {dim}",
                        p.begin[d]
                    ),
                ));
            }
            idx = vec![Some(bi as usize)];
        } else {
            shape.push(idx.len());
        }
        maps.push(idx);
    }
    let t = gather_grid(x, &maps, T::default());
    Ok(Tensor::from_parts(shape, t.into_data()))
}

/// MIL `slice_by_size`: `size[i]` elements from `begin[i]` (`-1` = to the end).
pub fn slice_by_size<T: Element>(
    x: TensorView<'_, T>,
    begin: &[i64],
    size: &[i64],
) -> Result<Tensor<T>> {
    const OP: &str = "slice_by_size";
    let r = x.rank();
    if begin.len() != r || size.len() != r {
        return Err(KernelError::param(
            OP,
            "begin/size",
            format!("need {r} entries each for shape {:?}", x.shape()),
        ));
    }
    let mut maps = Vec::with_capacity(r);
    for d in 0..r {
        let dim = x.shape()[d] as i64;
        let b = if begin[d] < 0 {
            begin[d] + dim
        } else {
            begin[d]
        };
        let len = if size[d] == -1 { dim - b } else { size[d] };
        if b < 0 || len < 0 || b + len > dim {
            return Err(KernelError::param(
                OP,
                "begin/size",
                format!(
                    "dim {d}: begin {} size {} exceed size {dim}",
                    begin[d], size[d]
                ),
            ));
        }
        maps.push((b..b + len).map(|i| Some(i as usize)).collect());
    }
    Ok(gather_grid(x, &maps, T::default()))
}

/// MIL `pad` modes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PadMode<T> {
    Constant(T),
    /// Mirror without repeating the edge (`[1,2,3]` → `3,2 | 1,2,3 | 2,1`); pad < dim.
    Reflect,
    /// Repeat the edge element.
    Replicate,
}

/// MIL `pad`: `pads` holds `[before, after]` pairs for the *last* `pads.len() / 2` dims.
pub fn pad<T: Element>(
    x: TensorView<'_, T>,
    pads: &[usize],
    mode: PadMode<T>,
) -> Result<Tensor<T>> {
    const OP: &str = "pad";
    let r = x.rank();
    if !pads.len().is_multiple_of(2) || pads.len() / 2 > r {
        return Err(KernelError::param(
            OP,
            "pad",
            format!(
                "{} values for rank {r}: need an even count ≤ {}",
                pads.len(),
                2 * r
            ),
        ));
    }
    let first = r - pads.len() / 2;
    // The result's size is checked before the per-axis maps (b + dim + a entries) are built.
    let mut out_dims = x.shape().to_vec();
    for d in first..r {
        let (b, a) = (pads[2 * (d - first)], pads[2 * (d - first) + 1]);
        out_dims[d] = out_dims[d]
            .checked_add(b)
            .and_then(|n| n.checked_add(a))
            .ok_or_else(|| KernelError::Overflow {
                op: OP,
                shape: x.shape().to_vec(),
            })?;
    }
    num_elements(OP, &out_dims)?;
    let mut maps = identity_maps(x.shape());
    for d in first..r {
        let (b, a) = (pads[2 * (d - first)], pads[2 * (d - first) + 1]);
        let dim = x.shape()[d];
        if matches!(mode, PadMode::Reflect) && (b >= dim || a >= dim) && (b | a) != 0 {
            return Err(KernelError::param(
                OP,
                "pad",
                format!("reflect padding ({b}, {a}) must be smaller than dim {d} of size {dim}"),
            ));
        }
        if matches!(mode, PadMode::Replicate) && dim == 0 && (b | a) != 0 {
            return Err(KernelError::param(
                OP,
                "pad",
                "cannot replicate an empty dim",
            ));
        }
        maps[d] = (0..out_dims[d])
            .map(|o| {
                let i = o as i64 - b as i64;
                let n = dim as i64;
                if (0..n).contains(&i) {
                    return Some(i as usize);
                }
                match mode {
                    PadMode::Constant(_) => None,
                    PadMode::Replicate => Some(i.clamp(0, n - 1) as usize),
                    PadMode::Reflect => Some(if i < 0 { -i } else { 2 * (n - 1) - i } as usize),
                }
            })
            .collect();
    }
    let fill = match mode {
        PadMode::Constant(v) => v,
        _ => T::default(),
    };
    Ok(gather_grid(x, &maps, fill))
}

/// MIL `tile`: repeat the tensor `reps[i]` times along dim `i`.
pub fn tile<T: Element>(x: TensorView<'_, T>, reps: &[usize]) -> Result<Tensor<T>> {
    if reps.len() != x.rank() {
        return Err(KernelError::param(
            "tile",
            "reps",
            format!("{} entries for input shape {:?}", reps.len(), x.shape()),
        ));
    }
    // The result's size is checked before the per-axis maps are built (they hold d·r entries).
    let out: Option<Vec<usize>> = x
        .shape()
        .iter()
        .zip(reps)
        .map(|(&d, &r)| d.checked_mul(r))
        .collect();
    let out = out.ok_or_else(|| KernelError::Overflow {
        op: "tile",
        shape: x.shape().to_vec(),
    })?;
    num_elements("tile", &out)?;
    let maps: Vec<Vec<Option<usize>>> = x
        .shape()
        .iter()
        .zip(&out)
        .map(|(&d, &n)| (0..n).map(|i| Some(i % d.max(1))).collect())
        .collect();
    Ok(gather_grid(x, &maps, T::default()))
}

fn resolve_index(op: &'static str, i: i32, dim: usize) -> Result<usize> {
    let v = if i < 0 {
        i as i64 + dim as i64
    } else {
        i as i64
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

/// MIL `gather` (batch_dims = 0): `out = x[..., indices, ...]` along `axis`; the result shape
/// is `x.shape[..axis] + indices.shape + x.shape[axis+1..]`. Negative indices count from the
/// end; out-of-range indices are an error.
pub fn gather<T: Element>(
    x: TensorView<'_, T>,
    indices: TensorView<'_, i32>,
    axis: i64,
) -> Result<Tensor<T>> {
    const OP: &str = "gather";
    let ax = normalize_axis(OP, axis, x.rank())?;
    let dim = x.shape()[ax];
    let idx: Vec<usize> = indices
        .data()
        .iter()
        .map(|&i| resolve_index(OP, i, dim))
        .collect::<Result<_>>()?;
    let outer: usize = x.shape()[..ax].iter().product();
    let inner: usize = x.shape()[ax + 1..].iter().product();
    let mut shape = x.shape()[..ax].to_vec();
    shape.extend_from_slice(indices.shape());
    shape.extend_from_slice(&x.shape()[ax + 1..]);
    let n = num_elements(OP, &shape)?;
    let mut out = Vec::with_capacity(n);
    for o in 0..outer {
        for &i in &idx {
            let s = (o * dim + i) * inner;
            out.extend_from_slice(&x.data()[s..s + inner]);
        }
    }
    Ok(Tensor::from_parts(shape, out))
}

/// MIL `gather_along_axis`: `out[..., i, ...] = x[..., indices[..., i, ...], ...]`; `indices`
/// has x's rank and x's shape except along `axis`.
pub fn gather_along_axis<T: Element>(
    x: TensorView<'_, T>,
    indices: TensorView<'_, i32>,
    axis: i64,
) -> Result<Tensor<T>> {
    const OP: &str = "gather_along_axis";
    let ax = normalize_axis(OP, axis, x.rank())?;
    let ok = indices.rank() == x.rank()
        && (0..x.rank()).all(|d| d == ax || indices.shape()[d] == x.shape()[d]);
    if !ok {
        return Err(KernelError::shape(
            OP,
            x.shape(),
            indices.shape(),
            format!("indices must have x's shape except along axis {ax}"),
        ));
    }
    let dim = x.shape()[ax];
    let k = indices.shape()[ax];
    let inner: usize = x.shape()[ax + 1..].iter().product();
    let mut out = Vec::with_capacity(indices.len());
    for (pos, &i) in indices.data().iter().enumerate() {
        let j = resolve_index(OP, i, dim)?;
        let inn = pos % inner.max(1);
        let o = pos / (inner.max(1) * k);
        out.push(x.data()[(o * dim + j) * inner + inn]);
    }
    Ok(Tensor::from_parts(indices.shape().to_vec(), out))
}

/// MIL `cumsum` along `axis`; `exclusive` shifts by one (first element 0), `reverse` sums
/// from the end. f32 accumulation.
pub fn cumsum(x: TensorView<'_>, axis: i64, exclusive: bool, reverse: bool) -> Result<Tensor> {
    let ax = normalize_axis("cumsum", axis, x.rank())?;
    let dim = x.shape()[ax];
    let inner: usize = x.shape()[ax + 1..].iter().product();
    let mut out = x.to_tensor();
    if dim == 0 || inner == 0 {
        return Ok(out);
    }
    for blk in out.data_mut().chunks_mut(dim * inner) {
        for i in 0..inner {
            let mut acc = 0.0f32;
            for step in 0..dim {
                let k = if reverse { dim - 1 - step } else { step };
                let v = blk[k * inner + i];
                if exclusive {
                    blk[k * inner + i] = acc;
                    acc += v;
                } else {
                    acc += v;
                    blk[k * inner + i] = acc;
                }
            }
        }
    }
    Ok(out)
}

/// MIL `topk`: the `k` largest (or smallest with `ascending`) values along `axis`, sorted,
/// and their indices. Ties keep the lower index first; NaN sorts as the largest value.
pub fn topk(
    x: TensorView<'_>,
    k: usize,
    axis: i64,
    ascending: bool,
) -> Result<(Tensor, Tensor<i32>)> {
    const OP: &str = "topk";
    let ax = normalize_axis(OP, axis, x.rank())?;
    let dim = x.shape()[ax];
    if k > dim || dim > i32::MAX as usize {
        return Err(KernelError::param(
            OP,
            "k",
            format!(
                "k = {k} exceeds the axis length {dim} of shape {:?}",
                x.shape()
            ),
        ));
    }
    let outer: usize = x.shape()[..ax].iter().product();
    let inner: usize = x.shape()[ax + 1..].iter().product();
    let mut shape = x.shape().to_vec();
    shape[ax] = k;
    let n = outer * k * inner;
    let mut vals = vec![0.0f32; n];
    let mut idxs = vec![0i32; n];
    let mut order: Vec<usize> = Vec::with_capacity(dim);
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| x.data()[(o * dim + j) * inner + i];
            order.clear();
            order.extend(0..dim);
            // total_cmp puts NaN above +inf; stable sort keeps equal values in index order.
            if ascending {
                order.sort_by(|&a, &b| at(a).total_cmp(&at(b)));
            } else {
                order.sort_by(|&a, &b| at(b).total_cmp(&at(a)));
            }
            for (r, &j) in order.iter().take(k).enumerate() {
                let dst = (o * k + r) * inner + i;
                vals[dst] = at(j);
                idxs[dst] = j as i32;
            }
        }
    }
    Ok((
        Tensor::from_parts(shape.clone(), vals),
        Tensor::from_parts(shape, idxs),
    ))
}

/// MIL `band_part` on the last two dims: keep `x[.., m, n]` where `m - n ≤ lower` and
/// `n - m ≤ upper` (a negative bound keeps the whole triangle); zero elsewhere.
pub fn band_part(x: TensorView<'_>, lower: i64, upper: i64) -> Result<Tensor> {
    if x.rank() < 2 {
        return Err(KernelError::input(
            "band_part",
            x.shape(),
            "rank must be ≥ 2",
        ));
    }
    let (rows, cols) = (x.shape()[x.rank() - 2], x.shape()[x.rank() - 1]);
    let mut out = x.to_tensor();
    if rows * cols == 0 {
        return Ok(out);
    }
    for mat in out.data_mut().chunks_mut(rows * cols) {
        for m in 0..rows {
            for n in 0..cols {
                let d = m as i64 - n as i64;
                let keep = (lower < 0 || d <= lower) && (upper < 0 || -d <= upper);
                if !keep {
                    mat[m * cols + n] = 0.0;
                }
            }
        }
    }
    Ok(out)
}

/// MIL `upsample_nearest_neighbor` on the last two dims (rank ≥ 3): output size
/// `floor(H · scale_h)` × `floor(W · scale_w)`, source index `min(floor(i / scale), H - 1)`.
pub fn upsample_nearest<T: Element>(
    x: TensorView<'_, T>,
    scale_h: f32,
    scale_w: f32,
) -> Result<Tensor<T>> {
    const OP: &str = "upsample_nearest_neighbor";
    let (oh, ow) = upsample_dims(OP, x.shape(), scale_h, scale_w)?;
    let r = x.rank();
    let mut maps = identity_maps(x.shape());
    let (h, w) = (x.shape()[r - 2], x.shape()[r - 1]);
    maps[r - 2] = (0..oh)
        .map(|i| Some(((i as f64 / scale_h as f64).floor() as usize).min(h - 1)))
        .collect();
    maps[r - 1] = (0..ow)
        .map(|i| Some(((i as f64 / scale_w as f64).floor() as usize).min(w - 1)))
        .collect();
    Ok(gather_grid(x, &maps, T::default()))
}

fn upsample_dims(op: &'static str, s: &[usize], sh: f32, sw: f32) -> Result<(usize, usize)> {
    if s.len() < 3 {
        return Err(KernelError::input(op, s, "rank must be ≥ 3"));
    }
    if !(sh.is_finite() && sw.is_finite() && sh > 0.0 && sw > 0.0) {
        return Err(KernelError::param(
            op,
            "scale_factor",
            format!("scale factors ({sh}, {sw}) must be finite and > 0"),
        ));
    }
    let (h, w) = (s[s.len() - 2], s[s.len() - 1]);
    let oh = (h as f64 * sh as f64).floor() as usize;
    let ow = (w as f64 * sw as f64).floor() as usize;
    if h == 0 || w == 0 || oh == 0 || ow == 0 {
        return Err(KernelError::input(
            op,
            s,
            format!("scale factors ({sh}, {sw}) give an empty output"),
        ));
    }
    Ok((oh, ow))
}

/// Sampling grid of MIL `upsample_bilinear`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BilinearMode {
    /// `align_corners = true`: `src = i · (in - 1) / (out - 1)` (corners map to corners).
    AlignCorners,
    /// `align_corners = false` (iOS15, and iOS16 `half_pixel_centers = true`):
    /// `src = (i + 0.5) · in / out - 0.5`, clamped at 0 (TF `half_pixel_centers`).
    HalfPixel,
    /// iOS16 `align_corners = false, half_pixel_centers = false`: `src = i · in / out`.
    Asymmetric,
}

/// MIL `upsample_bilinear` on the last two dims (rank ≥ 3); output size as for
/// [`upsample_nearest`]. Sources beyond the last row/column clamp to it.
pub fn upsample_bilinear(
    x: TensorView<'_>,
    scale_h: f32,
    scale_w: f32,
    mode: BilinearMode,
) -> Result<Tensor> {
    const OP: &str = "upsample_bilinear";
    let (oh, ow) = upsample_dims(OP, x.shape(), scale_h, scale_w)?;
    let r = x.rank();
    let (h, w) = (x.shape()[r - 2], x.shape()[r - 1]);
    // (lower index, upper index, weight of upper) per output coordinate.
    let taps = |inp: usize, out: usize| -> Vec<(usize, usize, f32)> {
        (0..out)
            .map(|i| {
                let src = match mode {
                    BilinearMode::AlignCorners => {
                        if out > 1 {
                            i as f64 * (inp - 1) as f64 / (out - 1) as f64
                        } else {
                            0.0
                        }
                    }
                    BilinearMode::HalfPixel => {
                        ((i as f64 + 0.5) * inp as f64 / out as f64 - 0.5).max(0.0)
                    }
                    BilinearMode::Asymmetric => i as f64 * inp as f64 / out as f64,
                };
                let src = src.min((inp - 1) as f64);
                let lo = src.floor() as usize;
                let hi = (lo + 1).min(inp - 1);
                (lo, hi, (src - lo as f64) as f32)
            })
            .collect()
    };
    let (ty, tx) = (taps(h, oh), taps(w, ow));
    let planes: usize = x.shape()[..r - 2].iter().product();
    let mut shape = x.shape().to_vec();
    shape[r - 2] = oh;
    shape[r - 1] = ow;
    let n = num_elements(OP, &shape)?;
    let mut out = vec![0.0f32; n];
    out.par_chunks_mut(oh * ow)
        .enumerate()
        .take(planes)
        .for_each(|(p, dst)| {
            let src = &x.data()[p * h * w..(p + 1) * h * w];
            for (i, &(y0, y1, fy)) in ty.iter().enumerate() {
                for (j, &(x0, x1, fx)) in tx.iter().enumerate() {
                    let top = src[y0 * w + x0] * (1.0 - fx) + src[y0 * w + x1] * fx;
                    let bot = src[y1 * w + x0] * (1.0 - fx) + src[y1 * w + x1] * fx;
                    dst[i * ow + j] = top * (1.0 - fy) + bot * fy;
                }
            }
        });
    Ok(Tensor::from_parts(shape, out))
}

/// MIL `reverse`: flip `x` along each of `axes` (an empty list flips every axis).
pub fn reverse<T: Element>(x: TensorView<'_, T>, axes: &[i64]) -> Result<Tensor<T>> {
    let axes = if axes.is_empty() {
        (0..x.rank()).collect()
    } else {
        crate::tensor::normalize_axes("reverse", axes, x.rank())?
    };
    let mut maps = identity_maps(x.shape());
    for a in axes {
        maps[a].reverse();
    }
    Ok(gather_grid(x, &maps, T::default()))
}

/// MIL `stack`: join same-shape tensors along a new axis `axis` (in `0..=rank`).
pub fn stack<T: Element>(values: &[TensorView<'_, T>], axis: i64) -> Result<Tensor<T>> {
    const OP: &str = "stack";
    let Some(first) = values.first() else {
        return Err(KernelError::param(
            OP,
            "values",
            "needs at least one tensor",
        ));
    };
    let ax = normalize_axis(OP, axis, first.rank() + 1)?;
    if let Some(v) = values.iter().find(|v| v.shape() != first.shape()) {
        return Err(KernelError::shape(
            OP,
            first.shape(),
            v.shape(),
            "all inputs must have the same shape",
        ));
    }
    let mut shape = first.shape().to_vec();
    shape.insert(ax, 1);
    let expanded: Vec<Tensor<T>> = values
        .iter()
        .map(|v| Tensor::from_parts(shape.clone(), v.data().to_vec()))
        .collect();
    let views: Vec<TensorView<'_, T>> = expanded.iter().map(Tensor::view).collect();
    concat(&views, ax as i64, false)
}
