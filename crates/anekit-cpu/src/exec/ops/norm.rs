//! Normalizations.

use super::{OpFn, one};
use crate::exec::ExecError;
use crate::exec::ctx::OpCtx;
use crate::exec::value::Val;
use crate::norm;

pub(crate) const OPS: &[(&str, OpFn)] = &[
    ("layer_norm", layer_norm),
    ("batch_norm", batch_norm),
    ("instance_norm", instance_norm),
    ("l2_norm", l2_norm),
    ("local_response_norm", local_response_norm),
];

fn layer_norm(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.f32("x")?;
    // MIL default: every axis.
    let axes = ctx
        .ints("axes")?
        .unwrap_or_else(|| (0..x.rank() as i64).collect());
    let t = norm::layer_norm(
        x,
        &axes,
        ctx.opt_f32("gamma")?,
        ctx.opt_f32("beta")?,
        ctx.float_or("epsilon", 1e-5)?,
    );
    one(Val::F32(t.map_err(|e| ctx.kernel(e))?))
}

fn batch_norm(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let t = norm::batch_norm(
        ctx.f32("x")?,
        ctx.f32("mean")?,
        ctx.f32("variance")?,
        ctx.opt_f32("gamma")?,
        ctx.opt_f32("beta")?,
        ctx.float_or("epsilon", 1e-5)?,
    );
    one(Val::F32(t.map_err(|e| ctx.kernel(e))?))
}

fn instance_norm(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let t = norm::instance_norm(
        ctx.f32("x")?,
        ctx.opt_f32("gamma")?,
        ctx.opt_f32("beta")?,
        ctx.float_or("epsilon", 1e-5)?,
    );
    one(Val::F32(t.map_err(|e| ctx.kernel(e))?))
}

fn l2_norm(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let t = norm::l2_norm(ctx.f32("x")?, ctx.float_or("epsilon", 1e-6)?);
    one(Val::F32(t.map_err(|e| ctx.kernel(e))?))
}

fn local_response_norm(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let size = ctx
        .int("size")?
        .and_then(|s| usize::try_from(s).ok())
        .ok_or_else(|| ctx.err("parameter `size` must be a positive integer"))?;
    let t = norm::local_response_norm(
        ctx.f32("x")?,
        size,
        ctx.float_or("alpha", 1e-4)?,
        ctx.float_or("beta", 0.75)?,
        ctx.float_or("k", 1.0)?,
    );
    one(Val::F32(t.map_err(|e| ctx.kernel(e))?))
}
