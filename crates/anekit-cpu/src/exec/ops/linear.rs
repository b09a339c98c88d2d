//! `matmul` and `linear`.

use super::{OpFn, one};
use crate::exec::ExecError;
use crate::exec::ctx::OpCtx;
use crate::exec::value::Val;
use crate::matmul::{linear as klinear, matmul as kmatmul};

pub(crate) const OPS: &[(&str, OpFn)] = &[("matmul", matmul), ("linear", linear)];

fn matmul(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let (x, y) = (ctx.input("x")?, ctx.input("y")?);
    let tx = ctx.bool_or("transpose_x", false)?;
    let ty = ctx.bool_or("transpose_y", false)?;
    // Integer matmul (rare) goes through f32: exact below 2^24.
    let (xf, yf);
    let xv = match x.f32_view() {
        Some(v) => v,
        None => {
            xf = x.to_f32_tensor();
            xf.view()
        }
    };
    let yv = match y.f32_view() {
        Some(v) => v,
        None => {
            yf = y.to_f32_tensor();
            yf.view()
        }
    };
    one(Val::F32(
        kmatmul(xv, yv, tx, ty).map_err(|e| ctx.kernel(e))?,
    ))
}

fn linear(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let (x, w, b) = (ctx.f32("x")?, ctx.f32("weight")?, ctx.opt_f32("bias")?);
    one(Val::F32(klinear(x, w, b).map_err(|e| ctx.kernel(e))?))
}
