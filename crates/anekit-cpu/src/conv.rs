//! Convolution (`conv`, `conv_transpose`) over `[N, C, H, W]` (and `[N, C, W]` as H = 1).
//!
//! Strategy:
//! - General case: im2col + GEMM. Each (image, group) is cut into blocks of whole output rows
//!   whose unrolled receptive fields (`[C/g·kH·kW, rows·Wo]`, rows copied as contiguous runs
//!   when the width stride is 1) fit in 512 KiB, i.e. in one core's L2; the blocks run in
//!   parallel, each unrolled and multiplied by the `[Cout/g, C/g·kH·kW]` weights with a
//!   single-threaded `gemm` call. The GEMM dominates for ordinary convs (64→64 3×3 is
//!   K = 576); blocking keeps the unrolled data in cache and gives both cores independent
//!   work (one threaded GEMM over the whole 64×576×3136 product split poorly in measurements
//!   on the shared machine; ~95 GFLOP per CPU-second now, docs/numerics.md). A direct loop
//!   nest written by hand would not approach the GEMM micro-kernels.
//! - 3×3, stride 1, dilation 1, groups 1, ≥ 8 channels in and out: Winograd F(4×4, 3×3)
//!   (`winograd.rs`), 4× fewer multiplications; its numerics are documented there.
//! - 1×1, stride 1, no padding: the input plane *is* the im2col matrix; no copy.
//! - Depthwise (one input and one output channel per group): a GEMM would have M = 1, which
//!   wastes the micro-kernel, so a direct loop over each plane runs instead (parallel over
//!   planes).
//! - `conv_transpose`: GEMM `Wᵀ · x` into columns, then col2im scatter-add (parallel over output
//!   channels).
//!
//! Padding is explicit here; [`resolve_pads`] turns MIL's `pad_type` into explicit pads.

use crate::matmul::{MatRef, gemm_f32};
use crate::tensor::num_elements;
use crate::winograd;
use crate::{KernelError, Result, Tensor, TensorView};
use rayon::prelude::*;

/// MIL `pad_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadType {
    /// No padding.
    Valid,
    /// Output size `ceil(in / stride)`; the odd padding element goes at the end.
    Same,
    /// As `Same`, but the odd padding element goes at the beginning (iOS16+).
    SameLower,
    /// The explicit `pad` values.
    Custom,
}

impl PadType {
    /// Parse MIL's spelling (`valid`, `same`, `same_lower`, `custom`).
    pub fn from_mil(s: &str) -> Option<PadType> {
        Some(match s {
            "valid" => PadType::Valid,
            "same" => PadType::Same,
            "same_lower" => PadType::SameLower,
            "custom" => PadType::Custom,
            _ => return None,
        })
    }
}

/// Resolve MIL `pad_type` to explicit pads `[begin_0, end_0, begin_1, end_1, ...]` (MIL's `pad`
/// order) for spatial sizes `input`, kernel sizes `kernel`, `strides` and `dilations`.
/// `custom` must hold `2 · rank` values when `pad_type` is `Custom` and is ignored otherwise.
pub fn resolve_pads(
    pad_type: PadType,
    input: &[usize],
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    custom: &[usize],
) -> Result<Vec<usize>> {
    const OP: &str = "resolve_pads";
    let r = input.len();
    if kernel.len() != r || strides.len() != r || dilations.len() != r {
        return Err(KernelError::param(
            OP,
            "kernel/strides/dilations",
            format!(
                "need {r} values each, got {}/{}/{}",
                kernel.len(),
                strides.len(),
                dilations.len()
            ),
        ));
    }
    if strides.contains(&0) || dilations.contains(&0) {
        return Err(KernelError::param(OP, "strides/dilations", "must be ≥ 1"));
    }
    match pad_type {
        PadType::Valid => Ok(vec![0; 2 * r]),
        PadType::Custom => {
            if custom.len() != 2 * r {
                return Err(KernelError::param(
                    OP,
                    "pad",
                    format!(
                        "custom padding needs {} values, got {}",
                        2 * r,
                        custom.len()
                    ),
                ));
            }
            Ok(custom.to_vec())
        }
        PadType::Same | PadType::SameLower => {
            let mut out = Vec::with_capacity(2 * r);
            for i in 0..r {
                let eff = dilations[i] * (kernel[i].max(1) - 1) + 1;
                let o = input[i].div_ceil(strides[i]);
                let total = ((o.max(1) - 1) * strides[i] + eff).saturating_sub(input[i]);
                let small = total / 2;
                let large = total - small;
                if pad_type == PadType::Same {
                    out.extend([small, large]);
                } else {
                    out.extend([large, small]);
                }
            }
            Ok(out)
        }
    }
}

/// Parameters of a 2-D convolution. `pads` = `[top, bottom, left, right]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dParams {
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    pub pads: [usize; 4],
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            strides: [1, 1],
            dilations: [1, 1],
            pads: [0; 4],
            groups: 1,
        }
    }
}

/// `[N, C, W]` → `[N, C, 1, W]`; rank-4 shapes pass through.
fn as_4d(op: &'static str, s: &[usize]) -> Result<[usize; 4]> {
    match *s {
        [n, c, w] => Ok([n, c, 1, w]),
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(KernelError::input(
            op,
            s,
            "expected rank 3 [N, C, W] or rank 4 [N, C, H, W]",
        )),
    }
}

/// Output size of one spatial dim, or `None` when the (dilated) kernel does not fit.
fn out_dim(input: usize, k: usize, s: usize, d: usize, pb: usize, pe: usize) -> Option<usize> {
    let eff = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    let padded = input.checked_add(pb)?.checked_add(pe)?;
    Some(padded.checked_sub(eff)? / s + 1)
}

/// Unroll output rows `rows` of one group of one image into `col` (`[cg·kh·kw, rows·ow]`).
fn im2col_rows(
    xg: &[f32],
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    ow: usize,
    p: &Conv2dParams,
    rows: std::ops::Range<usize>,
    col: &mut [f32],
) {
    let [sh, sw] = p.strides;
    let [dh, dw] = p.dilations;
    let (pt, pl) = (p.pads[0] as isize, p.pads[2] as isize);
    let cols = rows.len() * ow;
    let kk = kh * kw;
    for (r, row) in col.chunks_mut(cols.max(1)).enumerate() {
        let (c, ki, kj) = (r / kk, (r % kk) / kw, r % kw);
        let src = &xg[c * h * w..(c + 1) * h * w];
        // Output columns whose input column iw = ow·sw + kj·dw - pl lies in [0, w).
        let off = (kj * dw) as isize - pl;
        let lo = if off >= 0 {
            0
        } else {
            ((-off) as usize).div_ceil(sw).min(ow)
        };
        let hi = if (w as isize) <= off {
            0
        } else {
            (((w as isize - off) as usize).div_ceil(sw)).min(ow)
        };
        for (i, out_row) in row.chunks_mut(ow).enumerate() {
            let ih = ((rows.start + i) * sh + ki * dh) as isize - pt;
            if ih < 0 || ih >= h as isize || lo >= hi {
                out_row.fill(0.0);
                continue;
            }
            let srow = &src[ih as usize * w..(ih as usize + 1) * w];
            out_row[..lo].fill(0.0);
            out_row[hi..].fill(0.0);
            let start = (lo * sw) as isize + off;
            if sw == 1 {
                let s0 = start as usize;
                out_row[lo..hi].copy_from_slice(&srow[s0..s0 + (hi - lo)]);
            } else {
                for (j, v) in out_row[lo..hi].iter_mut().enumerate() {
                    *v = srow[start as usize + j * sw];
                }
            }
        }
    }
}

/// Floats of im2col scratch per task: 128 Ki floats = 512 KiB, which stays in a core's L2
/// (2 MiB here) together with the weights, so the GEMM streams it from cache.
const COL_BLOCK_FLOATS: usize = 1 << 17;

/// MIL `conv` (2-D, or 1-D on rank-3 input): `x: [N, C, H, W]`, `weight: [Cout, C/groups, kH,
/// kW]`, optional `bias: [Cout]`. Returns `[N, Cout, Ho, Wo]` with
/// `Ho = (H + pt + pb - dh·(kH-1) - 1) / sh + 1` (floor). For rank-3 input the H padding
/// (`pads[0..2]`) must be 0 and `pads[2..4]` are MIL's `[left, right]`.
pub fn conv2d(
    x: TensorView<'_>,
    weight: TensorView<'_>,
    bias: Option<TensorView<'_>>,
    p: &Conv2dParams,
) -> Result<Tensor> {
    conv2d_with(x, weight, bias, p, true)
}

/// [`conv2d`] with the Winograd F(4×4, 3×3) path allowed or not (`allow_winograd = false` is
/// always im2col + GEMM), so tests and benchmarks can compare the two paths.
pub fn conv2d_with(
    x: TensorView<'_>,
    weight: TensorView<'_>,
    bias: Option<TensorView<'_>>,
    p: &Conv2dParams,
    allow_winograd: bool,
) -> Result<Tensor> {
    const OP: &str = "conv";
    let rank3 = x.rank() == 3;
    let [n, c, h, w] = as_4d(OP, x.shape())?;
    let ws = weight.shape();
    let [cout, cg, kh, kw] = match (ws, rank3) {
        (&[a, b, k], true) => [a, b, 1, k],
        (&[a, b, kh, kw], false) => [a, b, kh, kw],
        _ => {
            return Err(KernelError::shape(
                OP,
                x.shape(),
                ws,
                "weight must be [Cout, C/groups, kH, kW] (rank 3 for 1-D conv)",
            ));
        }
    };
    check_params(OP, p)?;
    let g = p.groups;
    if c % g != 0 || cout % g != 0 || cg != c / g {
        return Err(KernelError::shape(
            OP,
            x.shape(),
            ws,
            format!(
                "groups={g}: input channels {c} and output channels {cout} must divide by groups, and weight dim 1 must be C/groups"
            ),
        ));
    }
    check_bias(OP, bias, cout)?;
    let (oh, ow) = match (
        out_dim(h, kh, p.strides[0], p.dilations[0], p.pads[0], p.pads[1]),
        out_dim(w, kw, p.strides[1], p.dilations[1], p.pads[2], p.pads[3]),
    ) {
        (Some(a), Some(b)) if !(rank3 && (p.pads[0] | p.pads[1]) != 0) => (a, b),
        _ => {
            return Err(KernelError::shape(
                OP,
                x.shape(),
                ws,
                format!(
                    "the dilated kernel does not fit the padded input (pads {:?})",
                    p.pads
                ),
            ));
        }
    };
    let coutg = cout / g;
    let plane = oh * ow;
    let out_shape = if rank3 {
        vec![n, cout, ow]
    } else {
        vec![n, cout, oh, ow]
    };
    let total = num_elements(OP, &out_shape)?;
    let xd = x.data();
    let wd = weight.data();
    if allow_winograd
        && !rank3
        && winograd::applies((c, cout), (kh, kw), (oh, ow), p.strides, p.dilations, g)
    {
        // Writes its result once, bias included (no zero-filled buffer first).
        let out = winograd::conv3x3(
            OP,
            xd,
            wd,
            bias.map(|b| b.data()),
            (n, c, h, w),
            cout,
            (oh, ow),
            (p.pads[0], p.pads[2]),
        )?;
        return Ok(Tensor::from_parts(out_shape, out));
    }
    let mut out = vec![0.0f32; total];
    if total == 0 {
        return Ok(Tensor::from_parts(out_shape, out));
    }
    if let Some(b) = bias {
        for (i, chunk) in out.chunks_mut(plane).enumerate() {
            chunk.fill(b.data()[i % cout]);
        }
    }

    if cg == 1 && coutg == 1 {
        depthwise(xd, wd, (n, c, h, w), (kh, kw), (oh, ow), p, &mut out);
        return Ok(Tensor::from_parts(out_shape, out));
    }

    let kdim = cg * kh * kw;
    let pointwise =
        kh == 1 && kw == 1 && p.strides == [1, 1] && p.pads == [0; 4] && (oh, ow) == (h, w);
    if pointwise {
        // The input plane is the im2col matrix: one threaded GEMM per image and group.
        for ni in 0..n {
            for gi in 0..g {
                let xg = &xd[(ni * c + gi * cg) * h * w..(ni * c + (gi + 1) * cg) * h * w];
                let wg = &wd[gi * coutg * kdim..(gi + 1) * coutg * kdim];
                let dst = &mut out
                    [(ni * cout + gi * coutg) * plane..(ni * cout + (gi + 1) * coutg) * plane];
                gemm_f32(
                    OP,
                    coutg,
                    plane,
                    kdim,
                    MatRef {
                        data: wg,
                        rs: kdim,
                        cs: 1,
                    },
                    MatRef {
                        data: xg,
                        rs: plane,
                        cs: 1,
                    },
                    dst,
                    bias.is_some(),
                    true,
                )?;
            }
        }
        return Ok(Tensor::from_parts(out_shape, out));
    }
    // General case: split every (image, group) into blocks of whole output rows whose im2col
    // matrix fits in L2, and run the blocks in parallel, each with a single-threaded GEMM.
    // Threading inside one GEMM split a 64×576×3136 product poorly (measured on the loaded
    // machine: 65 GFLOP/s wall vs 90 for 1024³ in the same run); independent blocks keep both
    // cores on cache-resident data.
    let rb = (COL_BLOCK_FLOATS / (kdim * ow).max(1)).clamp(1, oh.max(1));
    let blocks: Vec<(usize, usize, usize)> = (0..n)
        .flat_map(|ni| (0..g).flat_map(move |gi| (0..oh).step_by(rb).map(move |r0| (ni, gi, r0))))
        .collect();
    // The im2col scratch is reused across the blocks one rayon job processes instead of
    // allocating 512 KiB per block (no measurable change on the loaded machine, but no reason
    // to map fresh pages each time). `im2col_rows` writes every element: no clearing needed.
    let results: Vec<Result<Vec<f32>>> = blocks
        .par_iter()
        .map_init(Vec::new, |col: &mut Vec<f32>, &(ni, gi, r0)| {
            let rows = r0..(r0 + rb).min(oh);
            let cols = rows.len() * ow;
            let xg = &xd[(ni * c + gi * cg) * h * w..(ni * c + (gi + 1) * cg) * h * w];
            let wg = &wd[gi * coutg * kdim..(gi + 1) * coutg * kdim];
            col.resize(kdim * cols, 0.0);
            im2col_rows(xg, (h, w), (kh, kw), ow, p, rows, col);
            let mut ob = vec![0.0f32; coutg * cols];
            gemm_f32(
                OP,
                coutg,
                cols,
                kdim,
                MatRef {
                    data: wg,
                    rs: kdim,
                    cs: 1,
                },
                MatRef {
                    data: col,
                    rs: cols,
                    cs: 1,
                },
                &mut ob,
                false,
                false,
            )?;
            Ok(ob)
        })
        .collect();
    for (&(ni, gi, r0), ob) in blocks.iter().zip(results) {
        let ob = ob?;
        let cols = ob.len() / coutg.max(1);
        for (co, src) in ob.chunks(cols.max(1)).enumerate() {
            let start = (ni * cout + gi * coutg + co) * plane + r0 * ow;
            for (d, s) in out[start..start + cols].iter_mut().zip(src) {
                *d += s;
            }
        }
    }
    Ok(Tensor::from_parts(out_shape, out))
}

fn check_params(op: &'static str, p: &Conv2dParams) -> Result<()> {
    if p.strides.contains(&0) || p.dilations.contains(&0) {
        return Err(KernelError::param(
            op,
            "strides/dilations",
            format!("must be ≥ 1, got {:?} / {:?}", p.strides, p.dilations),
        ));
    }
    if p.groups == 0 {
        return Err(KernelError::param(op, "groups", "must be ≥ 1"));
    }
    Ok(())
}

fn check_bias(op: &'static str, bias: Option<TensorView<'_>>, cout: usize) -> Result<()> {
    if let Some(b) = bias
        && b.len() != cout
    {
        return Err(KernelError::shape(
            op,
            &[cout],
            b.shape(),
            format!("bias must have {cout} elements (one per output channel)"),
        ));
    }
    Ok(())
}

/// Direct depthwise convolution: output channel `i` reads input channel `i` only.
fn depthwise(
    xd: &[f32],
    wd: &[f32],
    (_n, c, h, w): (usize, usize, usize, usize),
    (kh, kw): (usize, usize),
    (oh, ow): (usize, usize),
    p: &Conv2dParams,
    out: &mut [f32],
) {
    let [sh, sw] = p.strides;
    let [dh, dw] = p.dilations;
    let (pt, pl) = (p.pads[0] as isize, p.pads[2] as isize);
    let plane = oh * ow;
    let work = |idx: usize, dst: &mut [f32]| {
        let ch = idx % c;
        let src = &xd[idx * h * w..(idx + 1) * h * w];
        let k = &wd[ch * kh * kw..(ch + 1) * kh * kw];
        for ki in 0..kh {
            for kj in 0..kw {
                let wv = k[ki * kw + kj];
                for o_r in 0..oh {
                    let ih = (o_r * sh + ki * dh) as isize - pt;
                    if ih < 0 || ih >= h as isize {
                        continue;
                    }
                    let srow = &src[ih as usize * w..(ih as usize + 1) * w];
                    let drow = &mut dst[o_r * ow..(o_r + 1) * ow];
                    for (o_c, d) in drow.iter_mut().enumerate() {
                        let iw = (o_c * sw + kj * dw) as isize - pl;
                        if iw >= 0 && iw < w as isize {
                            *d += wv * srow[iw as usize];
                        }
                    }
                }
            }
        }
    };
    out.par_chunks_mut(plane.max(1))
        .enumerate()
        .for_each(|(i, d)| work(i, d));
}

/// Parameters of a 2-D transposed convolution. `pads` = `[top, bottom, left, right]` are
/// removed from the full output; `output_padding` = extra rows/columns added at the bottom and
/// right (what MIL's `output_shape` resolves to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvTranspose2dParams {
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    pub pads: [usize; 4],
    pub output_padding: [usize; 2],
    pub groups: usize,
}

impl Default for ConvTranspose2dParams {
    fn default() -> Self {
        ConvTranspose2dParams {
            strides: [1, 1],
            dilations: [1, 1],
            pads: [0; 4],
            output_padding: [0, 0],
            groups: 1,
        }
    }
}

/// MIL `conv_transpose` (2-D, or 1-D on rank-3 input): `x: [N, C, H, W]`, `weight: [C,
/// Cout/groups, kH, kW]`, optional `bias: [Cout]`. Output
/// `Ho = (H-1)·sh + dh·(kH-1) + 1 - pt - pb + output_padding[0]`.
pub fn conv_transpose2d(
    x: TensorView<'_>,
    weight: TensorView<'_>,
    bias: Option<TensorView<'_>>,
    p: &ConvTranspose2dParams,
) -> Result<Tensor> {
    const OP: &str = "conv_transpose";
    let rank3 = x.rank() == 3;
    let [n, c, h, w] = as_4d(OP, x.shape())?;
    let ws = weight.shape();
    let [wc, coutg, kh, kw] = match (ws, rank3) {
        (&[a, b, k], true) => [a, b, 1, k],
        (&[a, b, kh, kw], false) => [a, b, kh, kw],
        _ => {
            return Err(KernelError::shape(
                OP,
                x.shape(),
                ws,
                "weight must be [C, Cout/groups, kH, kW] (rank 3 for 1-D)",
            ));
        }
    };
    check_params(
        OP,
        &Conv2dParams {
            strides: p.strides,
            dilations: p.dilations,
            pads: p.pads,
            groups: p.groups,
        },
    )?;
    let g = p.groups;
    if wc != c || c % g != 0 {
        return Err(KernelError::shape(
            OP,
            x.shape(),
            ws,
            format!("weight dim 0 must equal input channels {c}, divisible by groups={g}"),
        ));
    }
    let cg = c / g;
    let cout = coutg * g;
    check_bias(OP, bias, cout)?;
    let full = |i: usize, k: usize, s: usize, d: usize, extra: usize| -> Option<usize> {
        (i.checked_sub(1)?)
            .checked_mul(s)?
            .checked_add(d.checked_mul(k.checked_sub(1)?)?)?
            .checked_add(1 + extra)
    };
    let (oh, ow) = match (
        full(h, kh, p.strides[0], p.dilations[0], p.output_padding[0])
            .and_then(|f| f.checked_sub(p.pads[0] + p.pads[1])),
        full(w, kw, p.strides[1], p.dilations[1], p.output_padding[1])
            .and_then(|f| f.checked_sub(p.pads[2] + p.pads[3])),
    ) {
        (Some(a), Some(b)) if a > 0 && b > 0 && !(rank3 && (p.pads[0] | p.pads[1]) != 0) => (a, b),
        _ => {
            return Err(KernelError::shape(
                OP,
                x.shape(),
                ws,
                format!(
                    "pads {:?} remove the whole output (or an input dim is 0)",
                    p.pads
                ),
            ));
        }
    };
    let out_shape = if rank3 {
        vec![n, cout, ow]
    } else {
        vec![n, cout, oh, ow]
    };
    let total = num_elements(OP, &out_shape)?;
    let mut out = vec![0.0f32; total];
    let plane_in = h * w;
    let plane_out = oh * ow;
    if let Some(b) = bias {
        for (i, chunk) in out.chunks_mut(plane_out).enumerate() {
            chunk.fill(b.data()[i % cout]);
        }
    }
    let rows = coutg * kh * kw;
    let mut col = vec![0.0f32; rows * plane_in];
    let [sh, sw] = p.strides;
    let [dh, dw] = p.dilations;
    let (pt, pl) = (p.pads[0] as isize, p.pads[2] as isize);
    for ni in 0..n {
        for gi in 0..g {
            let xg = &x.data()[(ni * c + gi * cg) * plane_in..(ni * c + (gi + 1) * cg) * plane_in];
            let wg = &weight.data()[gi * cg * rows..(gi + 1) * cg * rows];
            // col[rows, H·W] = Wgᵀ (rows × cg) · xg (cg × H·W)
            gemm_f32(
                OP,
                rows,
                plane_in,
                cg,
                MatRef {
                    data: wg,
                    rs: 1,
                    cs: rows,
                },
                MatRef {
                    data: xg,
                    rs: plane_in,
                    cs: 1,
                },
                &mut col,
                false,
                true,
            )?;
            let dst = &mut out
                [(ni * cout + gi * coutg) * plane_out..(ni * cout + (gi + 1) * coutg) * plane_out];
            let col = &col;
            dst.par_chunks_mut(plane_out)
                .enumerate()
                .for_each(|(co, dplane)| {
                    for ki in 0..kh {
                        for kj in 0..kw {
                            let crow = &col[((co * kh + ki) * kw + kj) * plane_in..][..plane_in];
                            for ih in 0..h {
                                let o_r = (ih * sh + ki * dh) as isize - pt;
                                if o_r < 0 || o_r >= oh as isize {
                                    continue;
                                }
                                let drow = &mut dplane[o_r as usize * ow..][..ow];
                                for iw in 0..w {
                                    let o_c = (iw * sw + kj * dw) as isize - pl;
                                    if o_c >= 0 && o_c < ow as isize {
                                        drow[o_c as usize] += crow[ih * w + iw];
                                    }
                                }
                            }
                        }
                    }
                });
        }
    }
    Ok(Tensor::from_parts(out_shape, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The depthwise path (groups = channels) over strides 1–3, dilations 1–2, kernels 1–5
    /// (also non-square) and asymmetric pads, against an f64 direct conv.
    #[test]
    fn depthwise_matches_f64_over_geometries() {
        let val = |i: usize, s: usize| (((i * 2654435761 + s) % 1000) as f32) / 500.0 - 1.0;
        let mut case = 0;
        for (kh, kw) in [(3, 3), (1, 1), (5, 2), (2, 4)] {
            for stride in [[1, 1], [2, 2], [3, 1]] {
                for (dil, pads) in [
                    ([1, 1], [0, 0, 0, 0]),
                    ([2, 1], [2, 1, 3, 0]),
                    ([1, 2], [1, 2, 0, 4]),
                ] {
                    case += 1;
                    let (n, c, h, w) = (2, 3, 9 + case % 4, 11 + case % 5);
                    let x = Tensor::new(
                        vec![n, c, h, w],
                        (0..n * c * h * w).map(|i| val(i, case)).collect(),
                    )
                    .unwrap();
                    let wt = Tensor::new(
                        vec![c, 1, kh, kw],
                        (0..c * kh * kw).map(|i| val(i, 100 + case)).collect(),
                    )
                    .unwrap();
                    let p = Conv2dParams {
                        strides: stride,
                        dilations: dil,
                        pads,
                        groups: c,
                    };
                    let Ok(got) = conv2d(x.view(), wt.view(), None, &p) else {
                        continue; // the dilated kernel does not fit this padded input
                    };
                    let (oh, ow) = (got.shape()[2], got.shape()[3]);
                    for (idx, &g) in got.data().iter().enumerate() {
                        let (j, i) = (idx % ow, (idx / ow) % oh);
                        let ch = (idx / (ow * oh)) % c;
                        let ni = idx / (ow * oh * c);
                        let mut s = 0.0f64;
                        for ki in 0..kh {
                            for kj in 0..kw {
                                let ih = (i * stride[0] + ki * dil[0]) as isize - pads[0] as isize;
                                let iw = (j * stride[1] + kj * dil[1]) as isize - pads[2] as isize;
                                if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                                    continue;
                                }
                                let xv =
                                    x.data()[((ni * c + ch) * h + ih as usize) * w + iw as usize];
                                s += f64::from(xv) * f64::from(wt.data()[(ch * kh + ki) * kw + kj]);
                            }
                        }
                        assert!(
                            (f64::from(g) - s).abs() < 1e-5,
                            "k {kh}x{kw} s {stride:?} d {dil:?} p {pads:?} at {idx}: {g} vs {s}"
                        );
                    }
                }
            }
        }
        assert_eq!(case, 36);
    }

    /// The blocked im2col path (several row blocks per image and group, several images and
    /// groups) against a naive seven-loop convolution.
    #[test]
    fn blocked_path_matches_naive_loops() {
        let (n, c, h, w, co, g, k) = (2, 8, 70, 130, 6, 2, 3);
        let val = |i: usize, s: usize| (((i * 2654435761 + s) % 1000) as f32) / 500.0 - 1.0;
        let x = Tensor::new(
            vec![n, c, h, w],
            (0..n * c * h * w).map(|i| val(i, 1)).collect(),
        )
        .unwrap();
        let cg = c / g;
        let wt = Tensor::new(
            vec![co, cg, k, k],
            (0..co * cg * k * k).map(|i| val(i, 7)).collect(),
        )
        .unwrap();
        let p = Conv2dParams {
            strides: [1, 2],
            dilations: [2, 1],
            pads: [2, 1, 1, 0],
            groups: g,
        };
        let kdim = cg * k * k;
        let (oh, ow) = (
            out_dim(h, k, 1, 2, 2, 1).unwrap(),
            out_dim(w, k, 2, 1, 1, 0).unwrap(),
        );
        assert!(
            COL_BLOCK_FLOATS / (kdim * ow) < oh,
            "the shape must need more than one row block"
        );
        let got = conv2d(x.view(), wt.view(), None, &p).unwrap();
        assert_eq!(got.shape(), &[n, co, oh, ow]);
        let cog = co / g;
        for ni in 0..n {
            for o in 0..co {
                let gi = o / cog;
                for i in 0..oh {
                    for j in 0..ow {
                        let mut s = 0.0f64;
                        for ci in 0..cg {
                            for ki in 0..k {
                                for kj in 0..k {
                                    let ih = (i + ki * 2) as isize - 2;
                                    let iw = (j * 2 + kj) as isize - 1;
                                    if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                                        continue;
                                    }
                                    let xv = x.data()[((ni * c + gi * cg + ci) * h + ih as usize)
                                        * w
                                        + iw as usize];
                                    let wv = wt.data()[((o * cg + ci) * k + ki) * k + kj];
                                    s += f64::from(xv) * f64::from(wv);
                                }
                            }
                        }
                        let g = got.data()[((ni * co + o) * oh + i) * ow + j];
                        // f32 accumulation of 36 terms of magnitude ≤ 1: error ≤ ~36·2⁻²⁴.
                        assert!(
                            (f64::from(g) - s).abs() < 1e-4,
                            "({ni},{o},{i},{j}): {g} vs {s}"
                        );
                    }
                }
            }
        }
    }
}
