//! MIL `scaled_dot_product_attention` (iOS18).

use crate::activation::softmax_row;
use crate::elementwise::broadcast_binary;
use crate::matmul::matmul;
use crate::numerics::round_f16;
use crate::{KernelError, Numerics, Result, Tensor, TensorView};
use rayon::prelude::*;

/// An attention mask: boolean (`false` = masked out, i.e. -inf) or additive float, either
/// broadcastable to `[..., L_q, L_kv]`.
#[derive(Debug, Clone, Copy)]
pub enum AttnMask<'a> {
    Bool(TensorView<'a, bool>),
    Additive(TensorView<'a>),
}

/// `softmax(q·kᵀ / √E + mask) · v` with `q: [..., Lq, E]`, `k: [..., Lkv, E]`,
/// `v: [..., Lkv, Ev]` (batch dims broadcast) → `[..., Lq, Ev]`.
///
/// Products accumulate in f32 (GEMM). In [`Numerics::Ane`] the two intermediates (the scaled,
/// masked scores and the softmax probabilities) are rounded to fp16, as they would be if the
/// op ran as the `matmul → mul → add → softmax → matmul` chain a compiler lowers it to; the
/// final rounding of the output is left to the caller as for every kernel. Whether the ANE
/// fuses these steps and keeps wider intermediates is unknown (see docs/numerics.md).
pub fn scaled_dot_product_attention(
    q: TensorView<'_>,
    k: TensorView<'_>,
    v: TensorView<'_>,
    mask: Option<AttnMask<'_>>,
    numerics: Numerics,
) -> Result<Tensor> {
    const OP: &str = "scaled_dot_product_attention";
    if q.rank() < 2 || k.rank() < 2 || v.rank() < 2 {
        return Err(KernelError::shape(
            OP,
            q.shape(),
            k.shape(),
            "query, key and value need rank ≥ 2",
        ));
    }
    let e = q.shape()[q.rank() - 1];
    if k.shape()[k.rank() - 1] != e || k.shape()[k.rank() - 2] != v.shape()[v.rank() - 2] {
        return Err(KernelError::shape(
            OP,
            k.shape(),
            v.shape(),
            format!(
                "key must be [..., L, {e}] and value [..., L, Ev] with the same L (query {:?})",
                q.shape()
            ),
        ));
    }
    let mut scores = matmul(q, k, false, true)?;
    let scale = 1.0 / (e.max(1) as f32).sqrt();
    scores.data_mut().par_iter_mut().for_each(|s| *s *= scale);
    let mut scores = match mask {
        None => scores,
        Some(AttnMask::Additive(m)) => {
            let t = broadcast_binary(OP, scores.view(), m, |a, b| a + b)?;
            check_mask_shape(OP, &scores, &t, m.shape())?;
            t
        }
        Some(AttnMask::Bool(m)) => {
            let t = broadcast_binary(OP, scores.view(), m, |a, keep| {
                if keep { a } else { f32::NEG_INFINITY }
            })?;
            check_mask_shape(OP, &scores, &t, m.shape())?;
            t
        }
    };
    if numerics == Numerics::Ane {
        round_f16(scores.data_mut());
    }
    let lkv = *scores.shape().last().unwrap_or(&0);
    if lkv > 0 {
        scores.data_mut().par_chunks_mut(lkv).for_each(softmax_row);
    }
    if numerics == Numerics::Ane {
        round_f16(scores.data_mut());
    }
    matmul(scores.view(), v, false, false)
}

/// The mask may broadcast against the scores but must not enlarge them.
fn check_mask_shape(op: &'static str, scores: &Tensor, masked: &Tensor, m: &[usize]) -> Result<()> {
    if masked.shape() != scores.shape() {
        return Err(KernelError::shape(
            op,
            scores.shape(),
            m,
            "the mask must broadcast to the score shape [..., Lq, Lkv]",
        ));
    }
    Ok(())
}
