//! `lstm` (forward direction; MIL gate order `[input, forget, output, cell]`, "ifoz").
//!
//! No lstm kernel exists in the kernel library; this one is small: the input projection of
//! every step is one GEMM (`linear`), then each step adds `h·W_hhᵀ` (another `linear`) and
//! applies the gates in f32. `reverse`/`bidirectional` directions and `clip` are refused by
//! name rather than guessed.

use super::OpFn;
use crate::Tensor;
use crate::exec::ExecError;
use crate::exec::ctx::OpCtx;
use crate::exec::value::Val;
use crate::matmul::linear;

pub(crate) const OPS: &[(&str, OpFn)] = &[("lstm", lstm)];

fn activation(ctx: &OpCtx<'_>, name: &str, default: &str) -> Result<fn(f32) -> f32, ExecError> {
    let s = ctx.string(name)?.unwrap_or(default);
    Ok(match s {
        "sigmoid" => |v: f32| 1.0 / (1.0 + (-v).exp()),
        "tanh" => f32::tanh,
        "relu" => |v: f32| v.max(0.0),
        "linear" => |v: f32| v,
        other => {
            return Err(ctx.err(format!(
                "`{name}` = \"{other}\" is not supported (sigmoid, tanh, relu, linear are)"
            )));
        }
    })
}

fn lstm(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let direction = ctx.string("direction")?.unwrap_or("forward");
    if direction != "forward" {
        return Err(ctx.err(format!(
            "direction \"{direction}\" is not supported (forward is)"
        )));
    }
    if ctx.has_input("clip") {
        return Err(ctx.err("`clip` is not supported"));
    }
    let x = ctx.f32("x")?;
    let (h0, c0) = (ctx.f32("initial_h")?, ctx.f32("initial_c")?);
    let (w_ih, w_hh) = (ctx.f32("weight_ih")?, ctx.f32("weight_hh")?);
    let bias = ctx.opt_f32("bias")?;
    let peep = ctx.opt_f32("peephole")?;
    let output_sequence = ctx.bool_or("output_sequence", false)?;
    let ra = activation(ctx, "recurrent_activation", "sigmoid")?;
    let ca = activation(ctx, "cell_activation", "tanh")?;
    let act = activation(ctx, "activation", "tanh")?;
    let k = |e| ctx.kernel(e);

    let &[s, b, i_sz] = x.shape() else {
        return Err(ctx.err(format!("x must be [s, b, I], got {:?}", x.shape())));
    };
    let h = w_hh.shape().get(1).copied().unwrap_or(0);
    let shapes_ok = w_hh.shape() == [4 * h, h]
        && w_ih.shape() == [4 * h, i_sz]
        && h0.shape() == [b, h]
        && c0.shape() == [b, h]
        && bias.is_none_or(|t| t.len() == 4 * h)
        && peep.is_none_or(|t| t.len() == 3 * h);
    if !shapes_ok || h == 0 {
        return Err(ctx.err(format!(
            "inconsistent shapes: x {:?}, weight_ih {:?}, weight_hh {:?}, initial_h {:?}, initial_c {:?}",
            x.shape(),
            w_ih.shape(),
            w_hh.shape(),
            h0.shape(),
            c0.shape()
        )));
    }
    // Input projections of every step at once: [s·b, 4H].
    let x2 = Tensor::new(vec![s * b, i_sz], x.data().to_vec()).map_err(k)?;
    let xw = linear(x2.view(), w_ih, bias).map_err(k)?;
    let mut hs = h0.to_tensor();
    let mut cs = c0.to_tensor().into_data();
    let mut seq = Vec::with_capacity(if output_sequence { s * b * h } else { b * h });
    let p = peep.map(|t| t.data());
    for t in 0..s {
        let hw = linear(hs.view(), w_hh, None).map_err(k)?;
        let mut hn = vec![0.0f32; b * h];
        for bi in 0..b {
            let g_x = &xw.data()[(t * b + bi) * 4 * h..(t * b + bi + 1) * 4 * h];
            let g_h = &hw.data()[bi * 4 * h..(bi + 1) * 4 * h];
            for j in 0..h {
                let gate = |q: usize| g_x[q * h + j] + g_h[q * h + j];
                let c_prev = cs[bi * h + j];
                let peep_at = |q: usize| p.map_or(0.0, |p| p[q * h + j]);
                let i_g = ra(gate(0) + peep_at(0) * c_prev);
                let f_g = ra(gate(1) + peep_at(1) * c_prev);
                let z = ca(gate(3));
                let c = f_g * c_prev + i_g * z;
                let o_g = ra(gate(2) + peep_at(2) * c);
                cs[bi * h + j] = c;
                hn[bi * h + j] = o_g * act(c);
            }
        }
        hs = Tensor::new(vec![b, h], hn).map_err(k)?;
        if output_sequence || t + 1 == s {
            seq.extend_from_slice(hs.data());
        }
    }
    let out_len = if output_sequence { s } else { 1 };
    Ok(vec![
        Val::F32(Tensor::new(vec![out_len, b, h], seq).map_err(k)?),
        Val::F32(hs),
        Val::F32(Tensor::new(vec![b, h], cs).map_err(k)?),
    ])
}
