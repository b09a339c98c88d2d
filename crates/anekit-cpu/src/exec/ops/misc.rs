//! `band_part`, `cumsum`, `topk`, and the upsampling ops.

use super::{OpFn, one};
use crate::exec::ExecError;
use crate::exec::ctx::{OpCtx, element_count};
use crate::exec::value::{Val, map_val};
use crate::shape_ops::{BilinearMode, band_part as kband, cumsum as kcumsum, topk as ktopk};
use crate::shape_ops::{upsample_bilinear as kbilinear, upsample_nearest};
use crate::{Tensor, TensorView};
use anekit_ir::ops::Opset;

pub(crate) const OPS: &[(&str, OpFn)] = &[
    ("band_part", band_part),
    ("cumsum", cumsum),
    ("topk", topk),
    ("upsample_nearest_neighbor", upsample_nn),
    ("upsample_bilinear", upsample_bilinear),
];

fn float_x<'a>(
    ctx: &OpCtx<'a>,
    holder: &'a mut Option<Tensor>,
) -> Result<TensorView<'a>, ExecError> {
    Ok(match ctx.input("x")? {
        Val::F32(t) => t.view(),
        other => holder.insert(other.to_f32_tensor()).view(),
    })
}

fn band_part(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let mut h = None;
    let x = float_x(ctx, &mut h)?;
    let t = kband(x, ctx.int_or("lower", -1)?, ctx.int_or("upper", -1)?);
    one(Val::F32(t.map_err(|e| ctx.kernel(e))?))
}

fn cumsum(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let mut h = None;
    let x = float_x(ctx, &mut h)?;
    let t = kcumsum(
        x,
        ctx.int_or("axis", 0)?,
        ctx.bool_or("exclusive", false)?,
        ctx.bool_or("reverse", false)?,
    );
    one(Val::F32(t.map_err(|e| ctx.kernel(e))?))
}

fn topk(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let mut h = None;
    let x = float_x(ctx, &mut h)?;
    let k = usize::try_from(ctx.int_or("k", 1)?).map_err(|_| ctx.err("`k` must be ≥ 0"))?;
    let axis = ctx.int_or("axis", -1)?;
    let ascending = ctx.bool_or("ascending", false)?;
    // `sort = false` allows any order; the sorted order is one of them.
    let (vals, idx) = ktopk(x, k, axis, ascending).map_err(|e| ctx.kernel(e))?;
    let mut out = vec![Val::F32(vals)];
    if ctx.op.results.len() > 1 {
        out.push(Val::I32(idx));
    }
    Ok(out)
}

/// The scale factors, after refusing a result above the executor's element limit (the
/// output is at most ⌈H·sh⌉ × ⌈W·sw⌉ per plane).
fn scales(ctx: &OpCtx<'_>) -> Result<(f32, f32), ExecError> {
    let (sh, sw) = (
        ctx.float_or("scale_factor_height", 1.0)?,
        ctx.float_or("scale_factor_width", 1.0)?,
    );
    let shape = ctx.input("x")?.shape();
    if let [lead @ .., h, w] = shape {
        // `as` saturates: infinite or huge scales become u128::MAX and are refused.
        let out = |d: usize, s: f32| (d as f64 * f64::from(s)).ceil().max(0.0) as u128;
        // An empty batch still sizes the kernel's per-row tables by the output dims, so it
        // counts as one plane (fuzzing found a 0-plane input with a 2^37 scale).
        let planes = element_count(lead.iter().map(|&d| d as u128)).max(1);
        ctx.check_result_size(element_count([planes, out(*h, sh), out(*w, sw)]))?;
    }
    Ok((sh, sw))
}

fn upsample_nn(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let (sh, sw) = scales(ctx)?;
    let k = |e| ctx.kernel(e);
    one(map_val!(x, t => upsample_nearest(t.view(), sh, sw).map_err(k)?))
}

fn upsample_bilinear(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.f32("x")?;
    let (sh, sw) = scales(ctx)?;
    let align = ctx.bool_or("align_corners", false)?;
    // iOS16 added half_pixel_centers, defaulting to `not align_corners` (coremltools); before
    // it, align_corners = false meant half-pixel centers.
    let half_pixel = if ctx.op.opset >= Opset::Ios16 {
        ctx.bool_or("half_pixel_centers", !align)?
    } else {
        !align
    };
    let mode = match (align, half_pixel) {
        (true, _) => BilinearMode::AlignCorners,
        (false, true) => BilinearMode::HalfPixel,
        (false, false) => BilinearMode::Asymmetric,
    };
    one(Val::F32(
        kbilinear(x, sh, sw, mode).map_err(|e| ctx.kernel(e))?,
    ))
}
