//! Pooling (`avg_pool`, `max_pool`) over `[N, C, H, W]` (and `[N, C, W]` as H = 1).
//!
//! Direct loops, parallel over `N·C` planes: pooling does one add or compare per window element,
//! so there is nothing for a GEMM to win.

use crate::tensor::num_elements;
use crate::{KernelError, Result, Tensor, TensorView};
use rayon::prelude::*;

/// Parameters of a 2-D pool. `pads` = `[top, bottom, left, right]` (resolve MIL `pad_type`
/// with [`crate::conv::resolve_pads`], dilation 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dParams {
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub pads: [usize; 4],
    /// Output size rounds up instead of down; a last window that would start inside the end
    /// padding only is dropped (PyTorch's rule, which coremltools follows).
    pub ceil_mode: bool,
}

fn pool_out(i: usize, k: usize, s: usize, pb: usize, pe: usize, ceil: bool) -> Option<usize> {
    let padded = i + pb + pe;
    let span = padded.checked_sub(k)?;
    let mut o = if ceil { span.div_ceil(s) } else { span / s } + 1;
    if ceil && (o - 1) * s >= i + pb {
        o -= 1;
    }
    Some(o)
}

struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    rank3: bool,
}

fn geometry(op: &'static str, x: &[usize], p: &Pool2dParams) -> Result<Geometry> {
    let (n, c, h, w, rank3) = match *x {
        [n, c, w] => (n, c, 1, w, true),
        [n, c, h, w] => (n, c, h, w, false),
        _ => {
            return Err(KernelError::input(
                op,
                x,
                "expected rank 3 [N, C, W] or rank 4 [N, C, H, W]",
            ));
        }
    };
    if p.kernel.contains(&0) || p.strides.contains(&0) {
        return Err(KernelError::param(
            op,
            "kernel_sizes/strides",
            format!("must be ≥ 1, got {:?} / {:?}", p.kernel, p.strides),
        ));
    }
    if rank3 && (p.kernel[0] != 1 || p.pads[0] != 0 || p.pads[1] != 0) {
        return Err(KernelError::param(
            op,
            "kernel_sizes/pad",
            "for rank-3 input kernel[0] must be 1 and pads[0..2] 0",
        ));
    }
    let oh = pool_out(
        h,
        p.kernel[0],
        p.strides[0],
        p.pads[0],
        p.pads[1],
        p.ceil_mode,
    );
    let ow = pool_out(
        w,
        p.kernel[1],
        p.strides[1],
        p.pads[2],
        p.pads[3],
        p.ceil_mode,
    );
    match (oh, ow) {
        (Some(oh), Some(ow)) => Ok(Geometry {
            n,
            c,
            h,
            w,
            oh,
            ow,
            rank3,
        }),
        _ => Err(KernelError::input(
            op,
            x,
            format!(
                "kernel {:?} is larger than the padded input (pads {:?})",
                p.kernel, p.pads
            ),
        )),
    }
}

fn run_pool(
    op: &'static str,
    x: TensorView<'_>,
    p: &Pool2dParams,
    window: impl Fn(&[f32], usize, (usize, usize), (usize, usize), (usize, usize)) -> f32 + Sync,
) -> Result<Tensor> {
    let g = geometry(op, x.shape(), p)?;
    let shape = if g.rank3 {
        vec![g.n, g.c, g.ow]
    } else {
        vec![g.n, g.c, g.oh, g.ow]
    };
    let total = num_elements(op, &shape)?;
    let mut out = vec![0.0f32; total];
    let (plane_in, plane_out) = (g.h * g.w, g.oh * g.ow);
    if total == 0 {
        return Ok(Tensor::from_parts(shape, out));
    }
    let [sh, sw] = p.strides;
    let [kh, kw] = p.kernel;
    let (pt, pl) = (p.pads[0], p.pads[2]);
    out.par_chunks_mut(plane_out)
        .enumerate()
        .for_each(|(pi, dst)| {
            let src = &x.data()[pi * plane_in..(pi + 1) * plane_in];
            for o_r in 0..g.oh {
                // Window rows in padded coordinates [r0, r0+kh), clipped to the input and to
                // the padded extent (the latter matters for averages with ceil_mode).
                let r0 = o_r * sh;
                let r_end_pad = (r0 + kh).min(g.h + pt + p.pads[1]);
                let (ir0, ir1) = (r0.max(pt) - pt, (r0 + kh).min(g.h + pt).saturating_sub(pt));
                for o_c in 0..g.ow {
                    let c0 = o_c * sw;
                    let c_end_pad = (c0 + kw).min(g.w + pl + p.pads[3]);
                    let (ic0, ic1) = (c0.max(pl) - pl, (c0 + kw).min(g.w + pl).saturating_sub(pl));
                    let padded_area = (r_end_pad - r0) * (c_end_pad - c0);
                    dst[o_r * g.ow + o_c] = window(
                        src,
                        g.w,
                        (ir0, ir1.max(ir0)),
                        (ic0, ic1.max(ic0)),
                        (padded_area, 0),
                    );
                }
            }
        });
    Ok(Tensor::from_parts(shape, out))
}

/// MIL `max_pool`. Padding never wins (it acts as -inf). A window that covers only padding
/// yields -inf.
pub fn max_pool2d(x: TensorView<'_>, p: &Pool2dParams) -> Result<Tensor> {
    run_pool("max_pool", x, p, |src, w, (r0, r1), (c0, c1), _| {
        let mut m = f32::NEG_INFINITY;
        for r in r0..r1 {
            for &v in &src[r * w + c0..r * w + c1] {
                // NaN propagates, as in numpy's max.
                if v > m || v.is_nan() {
                    m = v;
                }
            }
        }
        m
    })
}

/// MIL `avg_pool`. With `exclude_padding_from_average` the divisor is the number of input
/// elements in the window; otherwise it is the window area clipped to the padded input (so
/// explicit padding counts as zeros, and the overhang that `ceil_mode` adds past the padding
/// does not — PyTorch's `count_include_pad=True` rule).
pub fn avg_pool2d(
    x: TensorView<'_>,
    p: &Pool2dParams,
    exclude_padding_from_average: bool,
) -> Result<Tensor> {
    run_pool(
        "avg_pool",
        x,
        p,
        |src, w, (r0, r1), (c0, c1), (padded_area, _)| {
            let mut s = 0.0f32;
            for r in r0..r1 {
                s += src[r * w + c0..r * w + c1].iter().sum::<f32>();
            }
            let count = if exclude_padding_from_average {
                (r1 - r0) * (c1 - c0)
            } else {
                padded_area
            };
            if count == 0 { 0.0 } else { s / count as f32 }
        },
    )
}
