//! Resizing to a target size and block rearrangements: `resize_bilinear` (the five MIL sampling
//! modes), `resize_nearest_neighbor`, `depth_to_space`, `space_to_depth`, `pixel_shuffle`,
//! `pixel_unshuffle`.
//!
//! Scale-factor upsampling (`upsample_bilinear`, `upsample_nearest_neighbor`) is in
//! [`crate::shape_ops`]. The block rearrangements are a reshape + transpose each.

use crate::shape_ops::{Element, transpose};
use crate::tensor::num_elements;
use crate::{KernelError, Result, Tensor, TensorView};
use rayon::prelude::*;

/// `sampling_mode` of MIL `resize_bilinear`: where output sample `i` of `out` lies on the
/// input grid `[0, in - 1]` (always clamped to it). Formulas from coremltools' op definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplingMode {
    /// `i · (in - 1) / (out - 1)` (TF `align_corners=True`); 0 when `out == 1`.
    StrictAlignCorners,
    /// As `StrictAlignCorners`, but `(in - 1) / 2` when `out == 1`.
    AlignCorners,
    /// `i · in / out` (TF `align_corners=False, half_pixel_centers=False`).
    Default,
    /// `(i + 0.5) · max(1, in - 1) / out`.
    OffsetCorners,
    /// `(i + 0.5) · in / out - 0.5` (TF `half_pixel_centers=True`, PyTorch
    /// `align_corners=False`).
    UnalignCorners,
}

impl SamplingMode {
    pub fn from_mil(s: &str) -> Result<Self> {
        Ok(match s {
            "STRICT_ALIGN_CORNERS" => SamplingMode::StrictAlignCorners,
            "ALIGN_CORNERS" => SamplingMode::AlignCorners,
            "DEFAULT" => SamplingMode::Default,
            "OFFSET_CORNERS" => SamplingMode::OffsetCorners,
            "UNALIGN_CORNERS" => SamplingMode::UnalignCorners,
            other => {
                return Err(KernelError::param(
                    "resize_bilinear",
                    "sampling_mode",
                    format!("unknown sampling mode {other:?}"),
                ));
            }
        })
    }

    fn grid(self, i: usize, inp: usize, out: usize) -> f64 {
        let (i, fin, fout) = (i as f64, inp as f64, out as f64);
        let g = match self {
            SamplingMode::StrictAlignCorners | SamplingMode::AlignCorners if out == 1 => {
                if self == SamplingMode::AlignCorners {
                    (fin - 1.0) / 2.0
                } else {
                    0.0
                }
            }
            SamplingMode::StrictAlignCorners | SamplingMode::AlignCorners => {
                i * (fin - 1.0) / (fout - 1.0)
            }
            SamplingMode::Default => i * fin / fout,
            SamplingMode::OffsetCorners => (i + 0.5) * (fin - 1.0).max(1.0) / fout,
            SamplingMode::UnalignCorners => (i + 0.5) * fin / fout - 0.5,
        };
        g.clamp(0.0, fin - 1.0)
    }
}

fn target_dims(op: &'static str, s: &[usize], oh: usize, ow: usize) -> Result<()> {
    if s.len() < 3 {
        return Err(KernelError::input(op, s, "rank must be ≥ 3"));
    }
    if s[s.len() - 2] == 0 || s[s.len() - 1] == 0 || oh == 0 || ow == 0 {
        return Err(KernelError::param(
            op,
            "target_size",
            format!("target {oh}×{ow} from input {s:?}: sizes must be > 0"),
        ));
    }
    Ok(())
}

/// MIL `resize_bilinear` on the last two dims (rank ≥ 3) to `out_h × out_w`.
pub fn resize_bilinear(
    x: TensorView<'_>,
    out_h: usize,
    out_w: usize,
    mode: SamplingMode,
) -> Result<Tensor> {
    const OP: &str = "resize_bilinear";
    target_dims(OP, x.shape(), out_h, out_w)?;
    let r = x.rank();
    let (h, w) = (x.shape()[r - 2], x.shape()[r - 1]);
    // (lower index, upper index, weight of the upper one) per output coordinate.
    let taps = |inp: usize, out: usize| -> Vec<(usize, usize, f32)> {
        (0..out)
            .map(|i| {
                let g = mode.grid(i, inp, out);
                let lo = g.floor() as usize;
                let hi = (lo + 1).min(inp - 1);
                (lo, hi, (g - lo as f64) as f32)
            })
            .collect()
    };
    let (ty, tx) = (taps(h, out_h), taps(w, out_w));
    let mut shape = x.shape().to_vec();
    shape[r - 2] = out_h;
    shape[r - 1] = out_w;
    let n = num_elements(OP, &shape)?;
    let mut out = vec![0.0f32; n];
    out.par_chunks_mut(out_h * out_w)
        .zip(x.data().par_chunks(h * w))
        .for_each(|(dst, src)| {
            for (i, &(y0, y1, fy)) in ty.iter().enumerate() {
                for (j, &(x0, x1, fx)) in tx.iter().enumerate() {
                    let top = src[y0 * w + x0] * (1.0 - fx) + src[y0 * w + x1] * fx;
                    let bot = src[y1 * w + x0] * (1.0 - fx) + src[y1 * w + x1] * fx;
                    dst[i * out_w + j] = top * (1.0 - fy) + bot * fy;
                }
            }
        });
    Ok(Tensor::from_parts(shape, out))
}

/// MIL `resize_nearest_neighbor` on the last two dims (rank ≥ 3): output `(i, j)` reads input
/// `(floor(i · H / out_h), floor(j · W / out_w))` (PyTorch `nearest`, TF without align_corners
/// or half-pixel centers).
pub fn resize_nearest_neighbor<T: Element>(
    x: TensorView<'_, T>,
    out_h: usize,
    out_w: usize,
) -> Result<Tensor<T>> {
    const OP: &str = "resize_nearest_neighbor";
    target_dims(OP, x.shape(), out_h, out_w)?;
    let r = x.rank();
    let (h, w) = (x.shape()[r - 2], x.shape()[r - 1]);
    let src = |i: usize, inp: usize, out: usize| ((i * inp) / out).min(inp - 1);
    let rows: Vec<usize> = (0..out_h).map(|i| src(i, h, out_h)).collect();
    let cols: Vec<usize> = (0..out_w).map(|j| src(j, w, out_w)).collect();
    let mut shape = x.shape().to_vec();
    shape[r - 2] = out_h;
    shape[r - 1] = out_w;
    let n = num_elements(OP, &shape)?;
    let mut out = Vec::with_capacity(n);
    for plane in x.data().chunks(h * w) {
        for &y in &rows {
            for &c in &cols {
                out.push(plane[y * w + c]);
            }
        }
    }
    Ok(Tensor::from_parts(shape, out))
}

fn rank4(op: &'static str, x: &[usize], block: usize) -> Result<[usize; 4]> {
    if block == 0 {
        return Err(KernelError::param(op, "block_size", "must be > 0"));
    }
    match x {
        &[n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(KernelError::input(op, x, "rank must be 4 ([N, C, H, W])")),
    }
}

/// Reinterpret `x` as `split` (same element count), transpose by `perm`, and label the result
/// `shape`.
fn rearrange<T: Element>(
    x: TensorView<'_, T>,
    split: &[usize],
    perm: &[i64],
    shape: Vec<usize>,
) -> Result<Tensor<T>> {
    let v = TensorView::new(split, x.data())?;
    transpose(v, perm)?.reshape(shape)
}

/// MIL `depth_to_space` (TF / ONNX `DCR` order): `[N, C·b², H, W] → [N, C, H·b, W·b]`, output
/// `(c, h·b + i, w·b + j)` = input channel `(i·b + j)·C + c`.
pub fn depth_to_space<T: Element>(x: TensorView<'_, T>, block: usize) -> Result<Tensor<T>> {
    const OP: &str = "depth_to_space";
    let [n, c, h, w] = rank4(OP, x.shape(), block)?;
    let b = block;
    if !c.is_multiple_of(b * b) {
        return Err(KernelError::input(
            OP,
            x.shape(),
            format!("channels not divisible by block_size² = {}", b * b),
        ));
    }
    let co = c / (b * b);
    rearrange(
        x,
        &[n, b, b, co, h, w],
        &[0, 3, 4, 1, 5, 2],
        vec![n, co, h * b, w * b],
    )
}

/// MIL `space_to_depth` (inverse of [`depth_to_space`]): `[N, C, H, W] → [N, C·b², H/b, W/b]`.
pub fn space_to_depth<T: Element>(x: TensorView<'_, T>, block: usize) -> Result<Tensor<T>> {
    const OP: &str = "space_to_depth";
    let [n, c, h, w] = rank4(OP, x.shape(), block)?;
    let b = block;
    if !h.is_multiple_of(b) || !w.is_multiple_of(b) {
        return Err(KernelError::input(
            OP,
            x.shape(),
            format!("H and W must be divisible by block_size {b}"),
        ));
    }
    let (ho, wo) = (h / b, w / b);
    rearrange(
        x,
        &[n, c, ho, b, wo, b],
        &[0, 3, 5, 1, 2, 4],
        vec![n, b * b * c, ho, wo],
    )
}

/// MIL `pixel_shuffle` (PyTorch, `CRD` order): `[N, C·r², H, W] → [N, C, H·r, W·r]`, output
/// `(c, h·r + i, w·r + j)` = input channel `c·r² + i·r + j`.
pub fn pixel_shuffle<T: Element>(x: TensorView<'_, T>, factor: usize) -> Result<Tensor<T>> {
    const OP: &str = "pixel_shuffle";
    let [n, c, h, w] = rank4(OP, x.shape(), factor)?;
    let r = factor;
    if !c.is_multiple_of(r * r) {
        return Err(KernelError::input(
            OP,
            x.shape(),
            format!("channels not divisible by upscale_factor² = {}", r * r),
        ));
    }
    let co = c / (r * r);
    rearrange(
        x,
        &[n, co, r, r, h, w],
        &[0, 1, 4, 2, 5, 3],
        vec![n, co, h * r, w * r],
    )
}

/// MIL `pixel_unshuffle` (inverse of [`pixel_shuffle`]): `[N, C, H, W] → [N, C·r², H/r, W/r]`.
pub fn pixel_unshuffle<T: Element>(x: TensorView<'_, T>, factor: usize) -> Result<Tensor<T>> {
    const OP: &str = "pixel_unshuffle";
    let [n, c, h, w] = rank4(OP, x.shape(), factor)?;
    let r = factor;
    if !h.is_multiple_of(r) || !w.is_multiple_of(r) {
        return Err(KernelError::input(
            OP,
            x.shape(),
            format!("H and W must be divisible by downscale_factor {r}"),
        ));
    }
    let (ho, wo) = (h / r, w / r);
    rearrange(
        x,
        &[n, c, ho, r, wo, r],
        &[0, 1, 3, 5, 2, 4],
        vec![n, c * r * r, ho, wo],
    )
}
