//! Ops wired by the kernel modules written alongside the executor (`index_ops`, `misc_ops`,
//! `resize`, `quant`). This file belongs to whoever wires those kernels; the executor only
//! calls the two functions below.
//!
//! Contract:
//! - [`SUPPORTED`] lists every op kind (registry name, e.g. `"gather_nd"`) that [`dispatch`]
//!   handles. `Executor::new` checks every op of the program against the executor's own table
//!   and this list, so an op in neither fails early with `ExecError::UnsupportedOp`.
//! - [`dispatch`] is called for every op kind that is *not* in the executor's own table
//!   (`exec::ops::supported_ops()`): return `None` when the kind is not handled here, else
//!   `Some(Ok(results))` with one [`Val`] per declared result, in order, or
//!   `Some(Err(ctx.err("why")))` / `Some(Err(ctx.kernel(kernel_error)))`.
//! - Read inputs with `ctx.input("x")` / `ctx.f32("x")` / `ctx.opt_f32(..)` / `ctx.tuple(..)`
//!   (tensors: runtime values, constants, constexpr results alike) and parameters with
//!   `ctx.int(..)`, `ctx.int_or(..)`, `ctx.ints(..)`, `ctx.usizes(..)`, `ctx.bool_or(..)`,
//!   `ctx.bools(..)`, `ctx.float_or(..)`, `ctx.floats(..)`, `ctx.string(..)`; `ctx.op.opset`
//!   tells the opset; `ctx.result_dtype(i)` the declared dtype of result `i`.
//! - Return raw f32 results: the executor rounds every float result to its declared dtype
//!   (`Numerics::round_output`) and converts the storage class (f32/i32/i64/bool) to the
//!   declared dtype afterwards, then checks the shape against the declared one.
//!
//! Defaults are coremltools': `scatter*` mode `"add"`, `argsort` descending on the last axis,
//! `one_hot` on the last axis with 1/0, `resize_bilinear` `"DEFAULT"` to 1×1,
//! `reverse_sequence` axes 0, `sliding_windows` stride 1. Arithmetic kernels (scatter modes,
//! argsort, resize_bilinear, quantize) run on f32: integer data is converted (exact up to
//! 2²⁴) and the executor converts the result back to the declared dtype; data movement
//! (gather*, reverse_sequence, sliding_windows, block rearrangements, nearest resize) keeps
//! the storage class.

use super::ExecError;
use super::ctx::{OpCtx, element_count};
use super::value::{Val, map_val};
use crate::index_ops::{self, ScatterMode};
use crate::quant::{self, QuantDtype};
use crate::resize::{self, SamplingMode};
use crate::{Tensor, TensorView, misc_ops};

/// Op kinds [`dispatch`] handles (`gather` with `batch_dims > 0` is routed here by the
/// executor's own `gather`, so it is not listed).
pub(crate) const SUPPORTED: &[&str] = &[
    "argsort",
    "depth_to_space",
    "dequantize",
    "einsum",
    "fill",
    "fill_like",
    "gather_nd",
    "non_zero",
    "one_hot",
    "pixel_shuffle",
    "pixel_unshuffle",
    "quantize",
    "range_1d",
    "resize_bilinear",
    "resize_nearest_neighbor",
    "reverse_sequence",
    "scatter",
    "scatter_along_axis",
    "scatter_nd",
    "sliding_windows",
    "space_to_depth",
];

type Res = Result<Vec<Val>, ExecError>;

/// Evaluate `ctx.op` if its kind is handled here; `None` otherwise.
pub(crate) fn dispatch(ctx: &OpCtx<'_>) -> Option<Res> {
    let f: fn(&OpCtx<'_>) -> Res = match ctx.op.kind.as_str() {
        "gather" => gather_batched,
        "gather_nd" => gather_nd,
        "scatter" | "scatter_along_axis" | "scatter_nd" => scatter,
        "one_hot" => one_hot,
        "argsort" => argsort,
        "non_zero" => non_zero,
        "einsum" => einsum,
        "range_1d" => range_1d,
        "fill" | "fill_like" => fill,
        "reverse_sequence" => reverse_sequence,
        "sliding_windows" => sliding_windows,
        "resize_bilinear" => resize_bilinear,
        "resize_nearest_neighbor" => resize_nearest,
        "depth_to_space" | "space_to_depth" | "pixel_shuffle" | "pixel_unshuffle" => blocks,
        "quantize" => quantize,
        "dequantize" => dequantize,
        _ => return None,
    };
    Some(f(ctx))
}

/// A float view of any value: borrowed for float tensors, converted otherwise.
enum Floats<'a> {
    Borrowed(TensorView<'a>),
    Owned(Tensor),
}

impl Floats<'_> {
    fn view(&self) -> TensorView<'_> {
        match self {
            Floats::Borrowed(v) => *v,
            Floats::Owned(t) => t.view(),
        }
    }
}

fn floats<'a>(v: &'a Val) -> Floats<'a> {
    match v.f32_view() {
        Some(view) => Floats::Borrowed(view),
        None => Floats::Owned(v.to_f32_tensor()),
    }
}

fn input_floats<'a>(ctx: &OpCtx<'a>, name: &str) -> Result<Floats<'a>, ExecError> {
    Ok(floats(ctx.input(name)?))
}

fn opt_floats<'a>(ctx: &OpCtx<'a>, name: &str) -> Result<Option<Floats<'a>>, ExecError> {
    Ok(ctx.opt_input(name)?.map(floats))
}

fn indices(ctx: &OpCtx<'_>, name: &str) -> Result<Tensor<i32>, ExecError> {
    ctx.input(name)?
        .to_i32_tensor()
        .ok_or_else(|| ctx.err(format!("`{name}` holds values that are not 32-bit indices")))
}

fn required_int(ctx: &OpCtx<'_>, name: &str) -> Result<i64, ExecError> {
    ctx.int(name)?
        .ok_or_else(|| ctx.err(format!("missing parameter `{name}`")))
}

fn required_usize(ctx: &OpCtx<'_>, name: &str) -> Result<usize, ExecError> {
    let v = required_int(ctx, name)?;
    usize::try_from(v).map_err(|_| ctx.err(format!("`{name}` = {v} must be ≥ 0")))
}

/// `batch_dims`, negative values counting from the rank of `indices` (TF's convention).
fn batch_dims(ctx: &OpCtx<'_>, indices_rank: usize) -> Result<usize, ExecError> {
    let b = ctx.int_or("batch_dims", 0)?;
    let b = if b < 0 { b + indices_rank as i64 } else { b };
    usize::try_from(b).map_err(|_| ctx.err(format!("batch_dims {b} is out of range")))
}

fn gather_batched(ctx: &OpCtx<'_>) -> Res {
    let x = ctx.input("x")?;
    let idx = indices(ctx, "indices")?;
    let bd = batch_dims(ctx, idx.rank())?;
    let axis = ctx.int_or("axis", 0)?;
    let k = |e| ctx.kernel(e);
    Ok(vec![
        map_val!(x, t => index_ops::gather(t.view(), idx.view(), axis, bd).map_err(k)?),
    ])
}

fn gather_nd(ctx: &OpCtx<'_>) -> Res {
    let x = ctx.input("x")?;
    let idx = indices(ctx, "indices")?;
    let bd = batch_dims(ctx, idx.rank())?;
    let k = |e| ctx.kernel(e);
    Ok(vec![
        map_val!(x, t => index_ops::gather_nd(t.view(), idx.view(), bd).map_err(k)?),
    ])
}

fn scatter(ctx: &OpCtx<'_>) -> Res {
    let data = input_floats(ctx, "data")?;
    let updates = input_floats(ctx, "updates")?;
    let idx = indices(ctx, "indices")?;
    let mode =
        ScatterMode::from_mil(ctx.string("mode")?.unwrap_or("add")).map_err(|e| ctx.kernel(e))?;
    let (d, u) = (data.view(), updates.view());
    let out = match ctx.op.kind.as_str() {
        "scatter" => index_ops::scatter(d, idx.view(), u, ctx.int_or("axis", 0)?, mode),
        "scatter_along_axis" => {
            index_ops::scatter_along_axis(d, idx.view(), u, ctx.int_or("axis", 0)?, mode)
        }
        _ => index_ops::scatter_nd(d, idx.view(), u, mode),
    };
    Ok(vec![Val::F32(out.map_err(|e| ctx.kernel(e))?)])
}

fn one_hot(ctx: &OpCtx<'_>) -> Res {
    let idx = indices(ctx, "indices")?;
    let depth = required_usize(ctx, "one_hot_vector_size")?;
    ctx.check_result_size((idx.len().max(1) as u128).saturating_mul(depth as u128))?;
    let out = index_ops::one_hot(
        idx.view(),
        depth,
        ctx.int_or("axis", -1)?,
        ctx.float_or("on_value", 1.0)?,
        ctx.float_or("off_value", 0.0)?,
    );
    Ok(vec![Val::F32(out.map_err(|e| ctx.kernel(e))?)])
}

fn argsort(ctx: &OpCtx<'_>) -> Res {
    let x = input_floats(ctx, "x")?;
    let out = index_ops::argsort(
        x.view(),
        ctx.int_or("axis", -1)?,
        ctx.bool_or("ascending", false)?,
    );
    Ok(vec![Val::I32(out.map_err(|e| ctx.kernel(e))?)])
}

fn non_zero(ctx: &OpCtx<'_>) -> Res {
    let x = input_floats(ctx, "x")?;
    Ok(vec![Val::I32(
        index_ops::non_zero(x.view()).map_err(|e| ctx.kernel(e))?,
    )])
}

fn einsum(ctx: &OpCtx<'_>) -> Res {
    let values: Vec<Floats<'_>> = ctx.tuple("values")?.into_iter().map(floats).collect();
    let views: Vec<TensorView<'_>> = values.iter().map(Floats::view).collect();
    let eq = ctx
        .string("equation")?
        .ok_or_else(|| ctx.err("missing parameter `equation`"))?;
    Ok(vec![Val::F32(
        misc_ops::einsum(eq, &views).map_err(|e| ctx.kernel(e))?,
    )])
}

fn scalar_f64(ctx: &OpCtx<'_>, name: &str) -> Result<f64, ExecError> {
    // Integers go through f64 directly so every int32 stays exact (f32 would not past 2^24).
    let v = ctx.input(name)?;
    let first = match v {
        Val::F32(t) => t.data().first().map(|&x| f64::from(x)),
        Val::I32(t) => t.data().first().map(|&x| f64::from(x)),
        Val::I64(t) => t.data().first().map(|&x| x as f64),
        Val::Bool(t) => t.data().first().map(|&x| f64::from(u8::from(x))),
    };
    match first {
        Some(x) if v.len() == 1 => Ok(x),
        _ => Err(ctx.err(format!(
            "`{name}` must be a scalar, got shape {:?}",
            v.shape()
        ))),
    }
}

fn range_1d(ctx: &OpCtx<'_>) -> Res {
    let (start, end, step) = (
        scalar_f64(ctx, "start")?,
        scalar_f64(ctx, "end")?,
        scalar_f64(ctx, "step")?,
    );
    let n = ((end - start) / step).ceil();
    if n.is_finite() && n > 0.0 {
        // `as` saturates: a huge float count becomes u128::MAX and is refused.
        ctx.check_result_size(n as u128)?;
    }
    let out = misc_ops::range_1d(start, end, step);
    Ok(vec![Val::F32(out.map_err(|e| ctx.kernel(e))?)])
}

fn fill(ctx: &OpCtx<'_>) -> Res {
    let shape: Vec<i64> = if ctx.op.kind == "fill_like" {
        ctx.input("ref_tensor")?
            .shape()
            .iter()
            .map(|&d| d as i64)
            .collect()
    } else {
        ctx.ints("shape")?
            .ok_or_else(|| ctx.err("missing parameter `shape`"))?
    };
    ctx.check_result_size(element_count(shape.iter().map(|&d| d.max(0) as u128)))?;
    let value = ctx.float_or("value", 0.0)?;
    Ok(vec![Val::F32(
        misc_ops::fill(&shape, value).map_err(|e| ctx.kernel(e))?,
    )])
}

fn reverse_sequence(ctx: &OpCtx<'_>) -> Res {
    let x = ctx.input("x")?;
    let lengths = indices(ctx, "lengths")?;
    let (sa, ba) = (ctx.int_or("seq_axis", 0)?, ctx.int_or("batch_axis", 0)?);
    let k = |e| ctx.kernel(e);
    Ok(vec![
        map_val!(x, t => misc_ops::reverse_sequence(t.view(), lengths.data(), sa, ba).map_err(k)?),
    ])
}

fn sliding_windows(ctx: &OpCtx<'_>) -> Res {
    let x = ctx.input("x")?;
    let axis = required_int(ctx, "axis")?;
    let size = required_usize(ctx, "size")?;
    let stride =
        usize::try_from(ctx.int_or("stride", 1)?).map_err(|_| ctx.err("`stride` must be ≥ 0"))?;
    // Windows × size × the other dims: at most (len / stride + 1) · size · (x.len() / len).
    let len = usize::try_from(axis.rem_euclid(x.rank_i64().max(1)))
        .ok()
        .and_then(|a| x.shape().get(a))
        .copied()
        .unwrap_or(0);
    if len > 0 {
        let windows = (len / stride.max(1) + 1) as u128;
        ctx.check_result_size(element_count([
            windows,
            size as u128,
            (x.len() / len) as u128,
        ]))?;
    }
    let k = |e| ctx.kernel(e);
    Ok(vec![
        map_val!(x, t => misc_ops::sliding_windows(t.view(), axis, size, stride).map_err(k)?),
    ])
}

fn target(ctx: &OpCtx<'_>, name: &str, default: Option<i64>) -> Result<usize, ExecError> {
    let v = match default {
        Some(d) => ctx.int_or(name, d)?,
        None => required_int(ctx, name)?,
    };
    usize::try_from(v).map_err(|_| ctx.err(format!("`{name}` = {v} must be ≥ 0")))
}

/// Elements of `shape` with its last two dims replaced by `h`, `w` (resize results); an
/// empty batch counts as one plane, since kernels size per-row tables by `h` and `w`.
fn resized(shape: &[usize], h: usize, w: usize) -> u128 {
    let lead = shape.len().saturating_sub(2);
    let planes = element_count(shape[..lead].iter().map(|&d| d as u128)).max(1);
    element_count([planes, h as u128, w as u128])
}

fn resize_bilinear(ctx: &OpCtx<'_>) -> Res {
    let x = input_floats(ctx, "x")?;
    let mode = SamplingMode::from_mil(ctx.string("sampling_mode")?.unwrap_or("DEFAULT"))
        .map_err(|e| ctx.kernel(e))?;
    let (h, w) = (
        target(ctx, "target_size_height", Some(1))?,
        target(ctx, "target_size_width", Some(1))?,
    );
    ctx.check_result_size(resized(x.view().shape(), h, w))?;
    let out = resize::resize_bilinear(x.view(), h, w, mode);
    Ok(vec![Val::F32(out.map_err(|e| ctx.kernel(e))?)])
}

fn resize_nearest(ctx: &OpCtx<'_>) -> Res {
    let x = ctx.input("x")?;
    let (h, w) = (
        target(ctx, "target_size_height", None)?,
        target(ctx, "target_size_width", None)?,
    );
    ctx.check_result_size(resized(x.shape(), h, w))?;
    let k = |e| ctx.kernel(e);
    Ok(vec![
        map_val!(x, t => resize::resize_nearest_neighbor(t.view(), h, w).map_err(k)?),
    ])
}

fn blocks(ctx: &OpCtx<'_>) -> Res {
    let x = ctx.input("x")?;
    let k = |e| ctx.kernel(e);
    let v = match ctx.op.kind.as_str() {
        "depth_to_space" => {
            let b = required_usize(ctx, "block_size")?;
            map_val!(x, t => resize::depth_to_space(t.view(), b).map_err(k)?)
        }
        "space_to_depth" => {
            let b = required_usize(ctx, "block_size")?;
            map_val!(x, t => resize::space_to_depth(t.view(), b).map_err(k)?)
        }
        "pixel_shuffle" => {
            let r = required_usize(ctx, "upscale_factor")?;
            map_val!(x, t => resize::pixel_shuffle(t.view(), r).map_err(k)?)
        }
        _ => {
            let r = required_usize(ctx, "downscale_factor")?;
            map_val!(x, t => resize::pixel_unshuffle(t.view(), r).map_err(k)?)
        }
    };
    Ok(vec![v])
}

fn quantize(ctx: &OpCtx<'_>) -> Res {
    let x = input_floats(ctx, "input")?;
    let scale = input_floats(ctx, "scale")?;
    let zp = opt_floats(ctx, "zero_point")?;
    let dtype = QuantDtype::from_mil(
        ctx.string("output_dtype")?
            .ok_or_else(|| ctx.err("missing parameter `output_dtype`"))?,
    )
    .map_err(|e| ctx.kernel(e))?;
    let out = quant::quantize(
        x.view(),
        scale.view(),
        zp.as_ref().map(Floats::view),
        ctx.int("axis")?,
        dtype,
    );
    Ok(vec![Val::F32(out.map_err(|e| ctx.kernel(e))?)])
}

fn dequantize(ctx: &OpCtx<'_>) -> Res {
    let x = input_floats(ctx, "input")?;
    let scale = input_floats(ctx, "scale")?;
    let zp = opt_floats(ctx, "zero_point")?;
    let out = quant::dequantize(
        x.view(),
        scale.view(),
        zp.as_ref().map(Floats::view),
        ctx.int("axis")?,
    );
    Ok(vec![Val::F32(out.map_err(|e| ctx.kernel(e))?)])
}
