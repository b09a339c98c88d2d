//! `conv`, `conv_transpose`, `avg_pool`, `max_pool` (1-D on rank-3 input, 2-D on rank 4).

use super::{OpFn, one};
use crate::conv::{
    Conv2dParams, ConvTranspose2dParams, PadType, conv_transpose2d, conv2d, resolve_pads,
};
use crate::exec::ExecError;
use crate::exec::ctx::OpCtx;
use crate::exec::value::Val;
use crate::pool::{Pool2dParams, avg_pool2d, max_pool2d};

pub(crate) const OPS: &[(&str, OpFn)] = &[
    ("conv", conv),
    ("conv_transpose", conv_transpose),
    ("avg_pool", pool),
    ("max_pool", pool),
];

/// Spatial sizes of `x` (`[N, C, H, W]` or `[N, C, W]`); rank 5 (3-D) is refused by name.
fn spatial(ctx: &OpCtx<'_>, shape: &[usize]) -> Result<Vec<usize>, ExecError> {
    match shape.len() {
        3 | 4 => Ok(shape[2..].to_vec()),
        r => Err(ctx.err(format!(
            "input of rank {r} ({shape:?}): only 1-D (rank 3) and 2-D (rank 4) are supported"
        ))),
    }
}

/// A per-spatial-dim list parameter (default all `default`), checked for length.
fn per_dim(ctx: &OpCtx<'_>, name: &str, n: usize, default: usize) -> Result<Vec<usize>, ExecError> {
    match ctx.usizes(name)? {
        None => Ok(vec![default; n]),
        Some(v) if v.len() == n => Ok(v),
        Some(v) => Err(ctx.err(format!(
            "parameter `{name}` has {} values, expected {n}",
            v.len()
        ))),
    }
}

fn pad_type(ctx: &OpCtx<'_>, default: &str) -> Result<PadType, ExecError> {
    let s = ctx.string("pad_type")?.unwrap_or(default);
    PadType::from_mil(s).ok_or_else(|| ctx.err(format!("unknown pad_type `{s}`")))
}

/// 2-element arrays from 1 or 2 spatial values (1-D: H = 1).
fn two(v: &[usize], fill: usize) -> [usize; 2] {
    match v {
        [w] => [fill, *w],
        [h, w, ..] => [*h, *w],
        [] => [fill, fill],
    }
}

/// `[top, bottom, left, right]` from MIL's per-dim `[begin, end, ...]`.
fn four(p: &[usize]) -> [usize; 4] {
    match p {
        [l, r] => [0, 0, *l, *r],
        [t, b, l, r, ..] => [*t, *b, *l, *r],
        _ => [0; 4],
    }
}

fn conv(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.f32("x")?;
    let w = ctx.f32("weight")?;
    let bias = ctx.opt_f32("bias")?;
    let sp = spatial(ctx, x.shape())?;
    let n = sp.len();
    let ksz: Vec<usize> = w.shape().get(2..).unwrap_or_default().to_vec();
    if ksz.len() != n {
        return Err(ctx.err(format!(
            "weight {:?} does not match input {:?}",
            w.shape(),
            x.shape()
        )));
    }
    let strides = per_dim(ctx, "strides", n, 1)?;
    let dilations = per_dim(ctx, "dilations", n, 1)?;
    let custom = ctx.usizes("pad")?.unwrap_or_default();
    let pads = resolve_pads(
        pad_type(ctx, "valid")?,
        &sp,
        &ksz,
        &strides,
        &dilations,
        &custom,
    )
    .map_err(|e| ctx.kernel(e))?;
    let groups = usize::try_from(ctx.int_or("groups", 1)?)
        .map_err(|_| ctx.err("parameter `groups` must be positive"))?;
    let p = Conv2dParams {
        strides: two(&strides, 1),
        dilations: two(&dilations, 1),
        pads: four(&pads),
        groups,
    };
    one(Val::F32(conv2d(x, w, bias, &p).map_err(|e| ctx.kernel(e))?))
}

fn conv_transpose(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.f32("x")?;
    let w = ctx.f32("weight")?;
    let bias = ctx.opt_f32("bias")?;
    let sp = spatial(ctx, x.shape())?;
    let n = sp.len();
    let ksz: Vec<usize> = w.shape().get(2..).unwrap_or_default().to_vec();
    if ksz.len() != n {
        return Err(ctx.err(format!(
            "weight {:?} does not match input {:?}",
            w.shape(),
            x.shape()
        )));
    }
    let strides = per_dim(ctx, "strides", n, 1)?;
    let dilations = per_dim(ctx, "dilations", n, 1)?;
    let groups = usize::try_from(ctx.int_or("groups", 1)?)
        .map_err(|_| ctx.err("parameter `groups` must be positive"))?;
    // Full (unpadded) output size per dim.
    let full: Vec<usize> = (0..n)
        .map(|i| (sp[i].saturating_sub(1)) * strides[i] + dilations[i] * (ksz[i].max(1) - 1) + 1)
        .collect();
    let pads: Vec<usize> = match pad_type(ctx, "valid")? {
        PadType::Valid => vec![0; 2 * n],
        PadType::Custom => {
            let p = ctx.usizes("pad")?.unwrap_or_else(|| vec![0; 2 * n]);
            if p.len() != 2 * n {
                return Err(ctx.err(format!("`pad` needs {} values", 2 * n)));
            }
            p
        }
        // Output size `in · stride`: the surplus of the full output is cropped, the odd
        // element at the end (same) or the beginning (same_lower).
        t @ (PadType::Same | PadType::SameLower) => (0..n)
            .flat_map(|i| {
                let total = full[i].saturating_sub(sp[i] * strides[i]);
                let (small, large) = (total / 2, total - total / 2);
                if t == PadType::Same {
                    [small, large]
                } else {
                    [large, small]
                }
            })
            .collect(),
    };
    let mut output_padding = vec![0usize; n];
    if let Some(out_shape) = ctx.usizes("output_shape")? {
        // output_shape is the full [N, Cout, spatial...] or just the spatial sizes.
        let want = &out_shape[out_shape.len().saturating_sub(n)..];
        for i in 0..n {
            let got = full[i].saturating_sub(pads[2 * i] + pads[2 * i + 1]);
            output_padding[i] = want.get(i).copied().unwrap_or(got).checked_sub(got).ok_or_else(|| {
                ctx.err(format!(
                    "output_shape {out_shape:?} is smaller than the computed output size {got} in dim {i}"
                ))
            })?;
        }
    }
    let p = ConvTranspose2dParams {
        strides: two(&strides, 1),
        dilations: two(&dilations, 1),
        pads: four(&pads),
        output_padding: two(&output_padding, 0),
        groups,
    };
    one(Val::F32(
        conv_transpose2d(x, w, bias, &p).map_err(|e| ctx.kernel(e))?,
    ))
}

fn pool(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.f32("x")?;
    let sp = spatial(ctx, x.shape())?;
    let n = sp.len();
    let kernel = ctx
        .usizes("kernel_sizes")?
        .ok_or_else(|| ctx.err("missing parameter `kernel_sizes`"))?;
    if kernel.len() != n {
        return Err(ctx.err(format!(
            "kernel_sizes {kernel:?} does not match input {:?}",
            x.shape()
        )));
    }
    let strides = per_dim(ctx, "strides", n, 1)?;
    let custom = ctx.usizes("pad")?.unwrap_or_default();
    let pads = resolve_pads(
        pad_type(ctx, "valid")?,
        &sp,
        &kernel,
        &strides,
        &vec![1; n],
        &custom,
    )
    .map_err(|e| ctx.kernel(e))?;
    let p = Pool2dParams {
        kernel: two(&kernel, 1),
        strides: two(&strides, 1),
        pads: four(&pads),
        ceil_mode: ctx.bool_or("ceil_mode", false)?,
    };
    let t = if ctx.op.kind == "max_pool" {
        max_pool2d(x, &p)
    } else {
        avg_pool2d(x, &p, ctx.bool_or("exclude_padding_from_average", false)?)
    };
    one(Val::F32(t.map_err(|e| ctx.kernel(e))?))
}
