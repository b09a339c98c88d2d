//! `scaled_dot_product_attention` (iOS18).

use super::{OpFn, one};
use crate::attention::{AttnMask, scaled_dot_product_attention};
use crate::exec::ExecError;
use crate::exec::ctx::OpCtx;
use crate::exec::value::Val;

pub(crate) const OPS: &[(&str, OpFn)] = &[("scaled_dot_product_attention", sdpa)];

fn sdpa(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let (q, k, v) = (ctx.f32("query")?, ctx.f32("key")?, ctx.f32("value")?);
    let converted;
    let mask = match ctx.opt_input("attn_mask")? {
        None => None,
        Some(Val::Bool(m)) => Some(AttnMask::Bool(m.view())),
        Some(Val::F32(m)) => Some(AttnMask::Additive(m.view())),
        Some(other) => {
            converted = other.to_f32_tensor();
            Some(AttnMask::Additive(converted.view()))
        }
    };
    let t = scaled_dot_product_attention(q, k, v, mask, ctx.numerics);
    one(Val::F32(t.map_err(|e| ctx.kernel(e))?))
}
