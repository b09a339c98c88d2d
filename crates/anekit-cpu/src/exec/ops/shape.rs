//! Data movement for any element type: reshape family, transpose, concat/stack/split, slicing,
//! tile, pad, gather, reverse, `shape`, `identity`.

use super::{OpFn, one};
use crate::exec::ExecError;
use crate::exec::ctx::{OpCtx, element_count};
use crate::exec::value::{Storage, Val, map_val};
use crate::shape_ops::{
    self, PadMode, SliceParams, concat as kconcat, even_split_sizes, gather as kgather,
    gather_along_axis as kgather_along_axis, pad as kpad, reverse as kreverse,
    slice_by_index as kslice, slice_by_size as kslice_size, stack as kstack, tile as ktile,
    transpose as ktranspose,
};
use crate::{Tensor, TensorView};
use std::borrow::Cow;

pub(crate) const OPS: &[(&str, OpFn)] = &[
    ("identity", identity),
    ("reshape", reshape),
    ("squeeze", squeeze),
    ("expand_dims", expand_dims),
    ("flatten2d", flatten2d),
    ("transpose", transpose),
    ("concat", concat),
    ("stack", stack),
    ("split", split),
    ("slice_by_index", slice_by_index),
    ("slice_by_size", slice_by_size),
    ("slice_update", slice_update),
    ("tile", tile),
    ("pad", pad),
    ("gather", gather),
    ("gather_along_axis", gather_along_axis),
    ("reverse", reverse),
    ("shape", shape),
    ("tensor_buffer_to_tensor", buffer_identity),
    ("tensor_to_tensor_buffer", buffer_identity),
];

/// Analysis-dump layout conversions: the executor's values are logical tensors, so these
/// are identities (the ANE memory layout they describe is not modelled).
fn buffer_identity(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    one(ctx.input("input")?.clone())
}

fn identity(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    one(ctx.input("x")?.clone())
}

/// Ops that only relabel the shape of their input (`(kind, input name, output shape)`): the
/// executor's run loop moves the input's buffer into the result when this op is its last
/// use instead of copying it (see [`view_shape`]); the table entries below copy.
pub(crate) fn view_shape(ctx: &OpCtx<'_>) -> Option<(&'static str, Result<Vec<usize>, ExecError>)> {
    Some(match ctx.op.kind.as_str() {
        "reshape" => ("x", reshape_shape(ctx)),
        "squeeze" => ("x", squeeze_shape(ctx)),
        "expand_dims" => ("x", expand_dims_shape(ctx)),
        "flatten2d" => ("x", flatten2d_shape(ctx)),
        "identity" => ("x", ctx.input("x").map(|v| v.shape().to_vec())),
        "tensor_buffer_to_tensor" | "tensor_to_tensor_buffer" => {
            ("input", ctx.input("input").map(|v| v.shape().to_vec()))
        }
        _ => return None,
    })
}

fn reshape(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    reshaped(ctx, reshape_shape(ctx)?)
}

fn squeeze(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    reshaped(ctx, squeeze_shape(ctx)?)
}

fn expand_dims(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    reshaped(ctx, expand_dims_shape(ctx)?)
}

fn flatten2d(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    reshaped(ctx, flatten2d_shape(ctx)?)
}

fn reshaped(ctx: &OpCtx<'_>, shape: Vec<usize>) -> Result<Vec<Val>, ExecError> {
    one(ctx
        .input("x")?
        .clone()
        .reshape(shape)
        .map_err(|e| ctx.kernel(e))?)
}

fn reshape_shape(ctx: &OpCtx<'_>) -> Result<Vec<usize>, ExecError> {
    let x = ctx.input("x")?;
    let spec = ctx
        .ints("shape")?
        .ok_or_else(|| ctx.err("missing parameter `shape`"))?;
    let n = x.len();
    let mut infer = None;
    let mut known = 1usize;
    let mut shape = Vec::with_capacity(spec.len());
    for (i, &d) in spec.iter().enumerate() {
        if d == -1 {
            if infer.replace(i).is_some() {
                return Err(ctx.err(format!("shape {spec:?} has more than one -1")));
            }
            shape.push(0);
        } else {
            let d = usize::try_from(d)
                .map_err(|_| ctx.err(format!("shape {spec:?} has a negative size")))?;
            known = known.saturating_mul(d);
            shape.push(d);
        }
    }
    if let Some(i) = infer {
        if known == 0 || !n.is_multiple_of(known) {
            return Err(ctx.err(format!(
                "cannot reshape {:?} ({n} elements) to {spec:?}",
                x.shape()
            )));
        }
        shape[i] = n / known;
    }
    Ok(shape)
}

fn squeeze_shape(ctx: &OpCtx<'_>) -> Result<Vec<usize>, ExecError> {
    let x = ctx.input("x")?;
    let r = x.rank_i64();
    let shape: Vec<usize> = match ctx.ints("axes")? {
        None => x.shape().iter().copied().filter(|&d| d != 1).collect(),
        Some(axes) => {
            let mut drop = vec![false; x.shape().len()];
            for &a in &axes {
                let n = if a < 0 { a + r } else { a };
                let i = usize::try_from(n)
                    .ok()
                    .filter(|&i| x.shape().get(i) == Some(&1))
                    .ok_or_else(|| {
                        ctx.err(format!("axis {a} is not a size-1 dim of {:?}", x.shape()))
                    })?;
                drop[i] = true;
            }
            x.shape()
                .iter()
                .zip(&drop)
                .filter(|(_, d)| !**d)
                .map(|(&s, _)| s)
                .collect()
        }
    };
    Ok(shape)
}

fn expand_dims_shape(ctx: &OpCtx<'_>) -> Result<Vec<usize>, ExecError> {
    let x = ctx.input("x")?;
    let axes = ctx
        .ints("axes")?
        .ok_or_else(|| ctx.err("missing parameter `axes`"))?;
    let out_rank = x.shape().len() + axes.len();
    let mut norm: Vec<usize> = Vec::with_capacity(axes.len());
    for &a in &axes {
        let n = if a < 0 { a + out_rank as i64 } else { a };
        let i = usize::try_from(n)
            .ok()
            .filter(|&i| i < out_rank)
            .ok_or_else(|| ctx.err(format!("axis {a} is out of range for rank {out_rank}")))?;
        if norm.contains(&i) {
            return Err(ctx.err(format!("axes {axes:?} repeat an axis")));
        }
        norm.push(i);
    }
    let mut src = x.shape().iter();
    let shape = (0..out_rank)
        .map(|i| {
            if norm.contains(&i) {
                1
            } else {
                src.next().copied().unwrap_or(1)
            }
        })
        .collect();
    Ok(shape)
}

fn flatten2d_shape(ctx: &OpCtx<'_>) -> Result<Vec<usize>, ExecError> {
    let x = ctx.input("x")?;
    let r = x.rank_i64();
    let a = ctx.int_or("axis", 1)?;
    let a = if a < 0 { a + r } else { a };
    let a = usize::try_from(a)
        .ok()
        .filter(|&a| a <= x.shape().len())
        .ok_or_else(|| ctx.err(format!("axis out of range for {:?}", x.shape())))?;
    let outer = x.shape()[..a].iter().product();
    let inner = x.shape()[a..].iter().product();
    Ok(vec![outer, inner])
}

fn transpose(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let perm = ctx
        .ints("perm")?
        .ok_or_else(|| ctx.err("missing parameter `perm`"))?;
    let k = |e| ctx.kernel(e);
    one(map_val!(x, t => ktranspose(t.view(), &perm).map_err(k)?))
}

/// The values of a variadic input, all in one storage class (the declared result's, else the
/// first value's), converting only those that differ.
fn uniform<'a>(ctx: &OpCtx<'a>, name: &str) -> Result<Vec<Cow<'a, Val>>, ExecError> {
    let vals = ctx.tuple(name)?;
    let first = vals
        .first()
        .ok_or_else(|| ctx.err(format!("`{name}` is empty")))?;
    let target = ctx
        .result_dtype(0)
        .and_then(Storage::of)
        .unwrap_or(first.storage());
    Ok(vals
        .into_iter()
        .map(|v| {
            if v.storage() == target {
                Cow::Borrowed(v)
            } else {
                Cow::Owned(v.clone().convert(target))
            }
        })
        .collect())
}

macro_rules! views {
    ($ctx:expr, $vals:expr, $var:ident) => {
        $vals
            .iter()
            .map(|v| match v.as_ref() {
                Val::$var(t) => Ok(t.view()),
                _ => Err($ctx.err("inputs of different types")),
            })
            .collect::<Result<Vec<_>, ExecError>>()?
    };
}

fn concat(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let vals = uniform(ctx, "values")?;
    let axis = ctx
        .int("axis")?
        .ok_or_else(|| ctx.err("missing parameter `axis`"))?;
    let il = ctx.bool_or("interleave", false)?;
    let k = |e| ctx.kernel(e);
    let v = match vals.first().map(|v| v.storage()) {
        Some(Storage::F32) => Val::F32(kconcat(&views!(ctx, vals, F32), axis, il).map_err(k)?),
        Some(Storage::I32) => Val::I32(kconcat(&views!(ctx, vals, I32), axis, il).map_err(k)?),
        Some(Storage::I64) => Val::I64(kconcat(&views!(ctx, vals, I64), axis, il).map_err(k)?),
        _ => Val::Bool(kconcat(&views!(ctx, vals, Bool), axis, il).map_err(k)?),
    };
    one(v)
}

fn stack(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let vals = uniform(ctx, "values")?;
    let axis = ctx
        .int("axis")?
        .ok_or_else(|| ctx.err("missing parameter `axis`"))?;
    let k = |e| ctx.kernel(e);
    let v = match vals.first().map(|v| v.storage()) {
        Some(Storage::F32) => Val::F32(kstack(&views!(ctx, vals, F32), axis).map_err(k)?),
        Some(Storage::I32) => Val::I32(kstack(&views!(ctx, vals, I32), axis).map_err(k)?),
        Some(Storage::I64) => Val::I64(kstack(&views!(ctx, vals, I64), axis).map_err(k)?),
        _ => Val::Bool(kstack(&views!(ctx, vals, Bool), axis).map_err(k)?),
    };
    one(v)
}

fn split(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let axis = ctx
        .int("axis")?
        .ok_or_else(|| ctx.err("missing parameter `axis`"))?;
    let r = x.rank_i64();
    let ax = usize::try_from(if axis < 0 { axis + r } else { axis })
        .ok()
        .filter(|&a| a < x.shape().len())
        .ok_or_else(|| ctx.err(format!("axis {axis} out of range for {:?}", x.shape())))?;
    let dim = x.shape()[ax];
    let k = |e| ctx.kernel(e);
    let sizes = match (ctx.usizes("split_sizes")?, ctx.int("num_splits")?) {
        (Some(s), _) => s,
        (None, Some(n)) => even_split_sizes(dim, usize::try_from(n).unwrap_or(0)).map_err(k)?,
        (None, None) => {
            // coremltools allows neither when the outputs say how many: equal parts.
            even_split_sizes(dim, ctx.op.results.len()).map_err(k)?
        }
    };
    let parts: Vec<Val> = match x {
        Val::F32(t) => shape_ops::split(t.view(), &sizes, axis)
            .map_err(k)?
            .into_iter()
            .map(Val::F32)
            .collect(),
        Val::I32(t) => shape_ops::split(t.view(), &sizes, axis)
            .map_err(k)?
            .into_iter()
            .map(Val::I32)
            .collect(),
        Val::I64(t) => shape_ops::split(t.view(), &sizes, axis)
            .map_err(k)?
            .into_iter()
            .map(Val::I64)
            .collect(),
        Val::Bool(t) => shape_ops::split(t.view(), &sizes, axis)
            .map_err(k)?
            .into_iter()
            .map(Val::Bool)
            .collect(),
    };
    Ok(parts)
}

fn slice_params(ctx: &OpCtx<'_>) -> Result<SliceParams, ExecError> {
    let need = |name: &str| -> Result<Vec<i64>, ExecError> {
        ctx.ints(name)?
            .ok_or_else(|| ctx.err(format!("missing parameter `{name}`")))
    };
    Ok(SliceParams {
        begin: need("begin")?,
        end: need("end")?,
        stride: ctx.ints("stride")?.unwrap_or_default(),
        begin_mask: ctx.bools("begin_mask")?.unwrap_or_default(),
        end_mask: ctx.bools("end_mask")?.unwrap_or_default(),
        squeeze_mask: ctx.bools("squeeze_mask")?.unwrap_or_default(),
    })
}

fn slice_by_index(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let p = slice_params(ctx)?;
    let k = |e| ctx.kernel(e);
    one(map_val!(x, t => kslice(t.view(), &p).map_err(k)?))
}

fn slice_by_size(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let begin = ctx
        .ints("begin")?
        .ok_or_else(|| ctx.err("missing parameter `begin`"))?;
    let size = ctx
        .ints("size")?
        .ok_or_else(|| ctx.err("missing parameter `size`"))?;
    let k = |e| ctx.kernel(e);
    one(map_val!(x, t => kslice_size(t.view(), &begin, &size).map_err(k)?))
}

/// The source indices `x[begin:end:stride]` selects along one dim of size `dim` (Python
/// slicing, with the begin/end masks), as `slice_by_index` defines them.
fn slice_indices(dim: usize, begin: i64, end: i64, stride: i64, bm: bool, em: bool) -> Vec<usize> {
    let n = dim as i64;
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let mut out = Vec::new();
    if stride > 0 {
        let b = if bm {
            0
        } else {
            clamp(if begin < 0 { begin + n } else { begin }, 0, n)
        };
        let e = if em {
            n
        } else {
            clamp(if end < 0 { end + n } else { end }, 0, n)
        };
        let mut i = b;
        while i < e {
            out.push(i as usize);
            i += stride;
        }
    } else if stride < 0 {
        let b = if bm {
            n - 1
        } else {
            clamp(if begin < 0 { begin + n } else { begin }, -1, n - 1)
        };
        let e = if em {
            -1
        } else {
            clamp(if end < 0 { end + n } else { end }, -1, n - 1)
        };
        let mut i = b;
        while i > e {
            out.push(i as usize);
            i += stride;
        }
    }
    out
}

/// MIL `slice_update` (iOS18): `x` with `x[begin:end:stride] = update`.
fn slice_update(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let update = ctx.input("update")?.clone().convert(x.storage());
    let p = slice_params(ctx)?;
    let r = x.shape().len();
    let at = |v: &[bool], i: usize| v.get(i).copied().unwrap_or(false);
    if p.begin.len() != r || p.end.len() != r || !(p.stride.is_empty() || p.stride.len() == r) {
        return Err(ctx.err(format!("begin/end/stride need {r} entries")));
    }
    let maps: Vec<Vec<usize>> = (0..r)
        .map(|d| {
            let stride = p.stride.get(d).copied().unwrap_or(1);
            slice_indices(
                x.shape()[d],
                p.begin[d],
                p.end[d],
                stride,
                at(&p.begin_mask, d),
                at(&p.end_mask, d),
            )
        })
        .collect();
    let full: Vec<usize> = maps.iter().map(Vec::len).collect();
    let squeezed: Vec<usize> = full
        .iter()
        .enumerate()
        .filter(|(d, _)| !at(&p.squeeze_mask, *d))
        .map(|(_, &s)| s)
        .collect();
    if update.shape() != full.as_slice() && update.shape() != squeezed.as_slice() {
        return Err(ctx.err(format!(
            "update has shape {:?}, the slice has shape {full:?}",
            update.shape()
        )));
    }
    fn write<T: Copy>(dst: &mut [T], shape: &[usize], maps: &[Vec<usize>], src: &[T]) {
        let strides = crate::tensor::contiguous_strides(shape);
        let count: usize = maps.iter().map(Vec::len).product();
        let mut idx = vec![0usize; maps.len()];
        for s in src.iter().take(count) {
            let off: usize = idx
                .iter()
                .zip(maps)
                .zip(&strides)
                .map(|((&i, m), &st)| m[i] * st)
                .sum();
            dst[off] = *s;
            for d in (0..idx.len()).rev() {
                idx[d] += 1;
                if idx[d] < maps[d].len() {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
    let shape = x.shape().to_vec();
    let mut out = x.clone();
    match (&mut out, &update) {
        (Val::F32(o), Val::F32(u)) => write(o.data_mut(), &shape, &maps, u.data()),
        (Val::I32(o), Val::I32(u)) => write(o.data_mut(), &shape, &maps, u.data()),
        (Val::I64(o), Val::I64(u)) => write(o.data_mut(), &shape, &maps, u.data()),
        (Val::Bool(o), Val::Bool(u)) => write(o.data_mut(), &shape, &maps, u.data()),
        _ => return Err(ctx.err("update and x have different types")),
    }
    one(out)
}

fn tile(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let reps = ctx
        .usizes("reps")?
        .ok_or_else(|| ctx.err("missing parameter `reps`"))?;
    let dims = x.shape().iter().zip(&reps);
    ctx.check_result_size(element_count(
        dims.map(|(&d, &r)| (d as u128).saturating_mul(r as u128)),
    ))?;
    let k = |e| ctx.kernel(e);
    one(map_val!(x, t => ktile(t.view(), &reps).map_err(k)?))
}

fn pad(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let pads = ctx
        .usizes("pad")?
        .ok_or_else(|| ctx.err("missing parameter `pad`"))?;
    // The last pads.len() / 2 dims grow by their before + after amounts.
    let first = x.shape().len().saturating_sub(pads.len() / 2);
    let padded = x.shape().iter().enumerate().map(|(d, &n)| {
        let i = d.checked_sub(first).map(|i| 2 * i);
        let extra = |j: usize| pads.get(j).map_or(0, |&p| p as u128);
        n as u128 + i.map_or(0, |i| extra(i) + extra(i + 1))
    });
    ctx.check_result_size(element_count(padded))?;
    let mode = ctx.string("mode")?.unwrap_or("constant");
    let cval = ctx.float_or("constant_val", 0.0)?;
    let k = |e| ctx.kernel(e);
    fn mode_of<T: Copy>(ctx: &OpCtx<'_>, mode: &str, c: T) -> Result<PadMode<T>, ExecError> {
        Ok(match mode {
            "constant" => PadMode::Constant(c),
            "reflect" => PadMode::Reflect,
            "replicate" => PadMode::Replicate,
            m => return Err(ctx.err(format!("unknown pad mode `{m}`"))),
        })
    }
    let v = match x {
        Val::F32(t) => Val::F32(kpad(t.view(), &pads, mode_of(ctx, mode, cval)?).map_err(k)?),
        Val::I32(t) => {
            Val::I32(kpad(t.view(), &pads, mode_of(ctx, mode, cval as i32)?).map_err(k)?)
        }
        Val::I64(t) => {
            Val::I64(kpad(t.view(), &pads, mode_of(ctx, mode, cval as i64)?).map_err(k)?)
        }
        Val::Bool(t) => {
            Val::Bool(kpad(t.view(), &pads, mode_of(ctx, mode, cval != 0.0)?).map_err(k)?)
        }
    };
    one(v)
}

fn indices(ctx: &OpCtx<'_>) -> Result<Tensor<i32>, ExecError> {
    ctx.input("indices")?
        .to_i32_tensor()
        .ok_or_else(|| ctx.err("`indices` do not fit in int32"))
}

fn gather(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    if ctx.int_or("batch_dims", 0)? != 0 {
        // gather with batch_dims is an index kernel of its own (exec/extra.rs).
        return super::super::extra::dispatch(ctx).unwrap_or_else(|| {
            Err(ctx.err("`batch_dims` other than 0 is not supported by the CPU executor"))
        });
    }
    let x = ctx.input("x")?;
    let idx = indices(ctx)?;
    let axis = ctx.int_or("axis", 0)?;
    let k = |e| ctx.kernel(e);
    let iv: TensorView<'_, i32> = idx.view();
    one(map_val!(x, t => kgather(t.view(), iv, axis).map_err(k)?))
}

fn gather_along_axis(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let idx = indices(ctx)?;
    let axis = ctx.int_or("axis", 0)?;
    let k = |e| ctx.kernel(e);
    let iv: TensorView<'_, i32> = idx.view();
    one(map_val!(x, t => kgather_along_axis(t.view(), iv, axis).map_err(k)?))
}

fn reverse(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let axes = ctx
        .ints("axes")?
        .unwrap_or_else(|| (0..x.rank_i64()).collect());
    let k = |e| ctx.kernel(e);
    one(map_val!(x, t => kreverse(t.view(), &axes).map_err(k)?))
}

fn shape(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let dims = x
        .shape()
        .iter()
        .map(|&d| i32::try_from(d).map_err(|_| ctx.err("dim does not fit in int32")))
        .collect::<Result<Vec<_>, _>>()?;
    one(Val::I32(Tensor::from_parts(vec![dims.len()], dims)))
}
