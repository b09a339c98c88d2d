//! MIL `scaled_dot_product_attention` (iOS18).

use crate::activation::softmax_row;
use crate::elementwise::broadcast_binary;
use crate::matmul::{MatRef, gemm_f32, matmul};
use crate::numerics::round_f16;
use crate::tensor::{broadcast_shapes, broadcast_strides, broadcast_to, num_elements};
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
    // Enough heads to keep every thread busy: one fused task per head. Otherwise (e.g. one
    // long sequence) the op-by-op path, whose GEMMs are threaded internally.
    let nb_batch = fused_batch_count(q, k, v);
    if nb_batch.is_some_and(|nb| nb >= rayon::current_num_threads()) {
        fused(q, k, v, mask, numerics)
    } else {
        unfused(q, k, v, mask, numerics)
    }
}

/// Op by op: batched matmul, scale, mask, softmax, matmul.
fn unfused(
    q: TensorView<'_>,
    k: TensorView<'_>,
    v: TensorView<'_>,
    mask: Option<AttnMask<'_>>,
    numerics: Numerics,
) -> Result<Tensor> {
    const OP: &str = "scaled_dot_product_attention";
    let e = q.shape()[q.rank() - 1];
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

/// Number of (broadcast) batch matrices, when q, k and v batch dims broadcast together.
fn fused_batch_count(q: TensorView<'_>, k: TensorView<'_>, v: TensorView<'_>) -> Option<usize> {
    let b = broadcast_shapes("", &q.shape()[..q.rank() - 2], &k.shape()[..k.rank() - 2]).ok()?;
    let b = broadcast_shapes("", &b, &v.shape()[..v.rank() - 2]).ok()?;
    b.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// One task per batch matrix (head): scores, scale, mask, softmax and the product with v all
/// happen on one thread while the `[Lq, Lkv]` scores are in cache, instead of four passes over
/// the whole score tensor. Same arithmetic (and rounding points) as the unfused path.
fn fused(
    q: TensorView<'_>,
    k: TensorView<'_>,
    v: TensorView<'_>,
    mask: Option<AttnMask<'_>>,
    numerics: Numerics,
) -> Result<Tensor> {
    const OP: &str = "scaled_dot_product_attention";
    let (qr, kr, vr) = (q.rank(), k.rank(), v.rank());
    let (lq, e) = (q.shape()[qr - 2], q.shape()[qr - 1]);
    let lkv = k.shape()[kr - 2];
    let ev = v.shape()[vr - 1];
    let (qb, kb, vb) = (
        &q.shape()[..qr - 2],
        &k.shape()[..kr - 2],
        &v.shape()[..vr - 2],
    );
    let batch = broadcast_shapes(OP, &broadcast_shapes(OP, qb, kb)?, vb)?;
    let mut score_shape = batch.clone();
    score_shape.extend([lq, lkv]);
    // Masks are materialized at the score shape so each task reads its own contiguous slice.
    let mask_err = |m: &[usize]| {
        KernelError::shape(
            OP,
            &score_shape,
            m,
            "the mask must broadcast to the score shape [..., Lq, Lkv]",
        )
    };
    let fmask = match mask {
        Some(AttnMask::Additive(m)) => {
            Some(broadcast_to(m, &score_shape).map_err(|_| mask_err(m.shape()))?)
        }
        _ => None,
    };
    let bmask = match mask {
        Some(AttnMask::Bool(m)) => {
            Some(broadcast_to(m, &score_shape).map_err(|_| mask_err(m.shape()))?)
        }
        _ => None,
    };
    let (sq, sk, sv) = (
        broadcast_strides(qb, &batch),
        broadcast_strides(kb, &batch),
        broadcast_strides(vb, &batch),
    );
    let mut out_shape = batch.clone();
    out_shape.extend([lq, ev]);
    let total = num_elements(OP, &out_shape)?;
    let mut out = vec![0.0f32; total];
    if total == 0 {
        return Ok(Tensor::from_parts(out_shape, out));
    }
    let scale = 1.0 / (e.max(1) as f32).sqrt();
    let plane = lq * lkv;
    out.par_chunks_mut(lq * ev)
        .enumerate()
        .try_for_each(|(bi, dst)| -> Result<()> {
            // Matrix index of q, k, v for batch index bi.
            let (mut rem, mut oq, mut ok, mut ov) = (bi, 0, 0, 0);
            for d in (0..batch.len()).rev() {
                let i = rem % batch[d];
                rem /= batch[d];
                oq += i * sq[d];
                ok += i * sk[d];
                ov += i * sv[d];
            }
            let qd = &q.data()[oq * lq * e..(oq + 1) * lq * e];
            let kd = &k.data()[ok * lkv * e..(ok + 1) * lkv * e];
            let vd = &v.data()[ov * lkv * ev..(ov + 1) * lkv * ev];
            let mut s = vec![0.0f32; plane];
            gemm_f32(
                OP,
                lq,
                lkv,
                e,
                MatRef {
                    data: qd,
                    rs: e,
                    cs: 1,
                },
                MatRef {
                    data: kd,
                    rs: 1,
                    cs: e,
                },
                &mut s,
                false,
                false,
            )?;
            let range = bi * plane..(bi + 1) * plane;
            match (&fmask, &bmask) {
                (Some(m), _) => {
                    for (x, &a) in s.iter_mut().zip(&m.data()[range]) {
                        *x = *x * scale + a;
                    }
                }
                (_, Some(m)) => {
                    for (x, &keep) in s.iter_mut().zip(&m.data()[range]) {
                        *x = if keep { *x * scale } else { f32::NEG_INFINITY };
                    }
                }
                _ => s.iter_mut().for_each(|x| *x *= scale),
            }
            if numerics == Numerics::Ane {
                round_f16(&mut s);
            }
            if lkv > 0 {
                s.chunks_mut(lkv).for_each(softmax_row);
            }
            if numerics == Numerics::Ane {
                round_f16(&mut s);
            }
            gemm_f32(
                OP,
                lq,
                ev,
                lkv,
                MatRef {
                    data: &s,
                    rs: lkv,
                    cs: 1,
                },
                MatRef {
                    data: vd,
                    rs: ev,
                    cs: 1,
                },
                dst,
                false,
                false,
            )
        })?;
    Ok(Tensor::from_parts(out_shape, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], seed: usize) -> Tensor {
        let n: usize = shape.iter().product();
        let data = (0..n)
            .map(|i| (((i + seed) * 2654435761) % 2000) as f32 / 1000.0 - 1.0)
            .collect();
        Tensor::new(shape.to_vec(), data).unwrap()
    }

    /// The fused per-head path and the op-by-op path compute the same thing (same rounding
    /// points); only the summation order inside the GEMMs may differ.
    #[test]
    fn fused_matches_unfused() {
        let (q, k, v) = (t(&[2, 3, 5, 8], 1), t(&[1, 7, 8], 2), t(&[3, 7, 6], 3));
        let add = t(&[3, 1, 7], 4);
        let keep = Tensor::new(
            vec![5, 7],
            (0..35).map(|i| i % 7 <= i / 7 + 2).collect::<Vec<bool>>(),
        )
        .unwrap();
        for numerics in [Numerics::Exact, Numerics::Ane] {
            for mask in [
                None,
                Some(AttnMask::Additive(add.view())),
                Some(AttnMask::Bool(keep.view())),
            ] {
                let a = fused(q.view(), k.view(), v.view(), mask, numerics).unwrap();
                let b = unfused(q.view(), k.view(), v.view(), mask, numerics).unwrap();
                assert_eq!(a.shape(), b.shape());
                assert_eq!(a.shape(), &[2, 3, 5, 6]);
                for (x, y) in a.data().iter().zip(b.data()) {
                    // ane: an fp16 intermediate may round differently after a different f32
                    // summation order (1 fp16 ulp of a probability ≤ 2⁻¹¹).
                    let tol = if numerics == Numerics::Ane {
                        2e-3
                    } else {
                        1e-5
                    };
                    assert!((x - y).abs() <= tol, "{numerics:?} {mask:?}: {x} vs {y}");
                }
            }
        }
        // A mask that would enlarge the scores is an error on both paths.
        let big = t(&[4, 3, 5, 7], 5);
        let m = Some(AttnMask::Additive(big.view()));
        assert!(fused(q.view(), k.view(), v.view(), m, Numerics::Exact).is_err());
        assert!(unfused(q.view(), k.view(), v.view(), m, Numerics::Exact).is_err());
    }
}
