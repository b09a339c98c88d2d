//! Winograd F(4×4, 3×3) convolution for 3×3, stride-1, dilation-1, ungrouped `conv`.
//!
//! Why: a 3×3 conv 64→64 on 56×56 is 231 MFLOP of direct work, ~0.8 ms at this machine's
//! 2-core f32 FMA peak, so no direct or im2col kernel can beat onnxruntime by the margin the
//! benchmark target asks for. F(4×4, 3×3) (Lavin & Gray 2015) computes each 4×4 output tile
//! from a 6×6 input tile with 36 multiplications per (input, output) channel pair instead of
//! 144: the conv becomes 36 independent GEMMs `M[t] = U[t] · V[t]` (U: transformed weights
//! `[Cout, C]`, V: transformed input tiles `[C, tiles]`), run on an own register-blocked
//! AVX-512 kernel (the `gemm` crate on CPUs without AVX-512), plus cheap linear transforms
//! before and after.
//!
//! Numerics: the transforms run in f32 and the products accumulate in f32, like the direct
//! path, but the transforms add rounding of their own (their constants reach 8 and 1/24, so
//! intermediate values grow before they cancel). Measured on the benchmark shape (64→64,
//! 56×56, uniform [-1, 1) data, outputs of RMS 8; test `ane_rounding_within_one_ulp`): max
//! |error| vs an f64 direct conv 2.2e-4 (im2col path: 2.0e-5), i.e. ~3 % of one fp16 ulp at
//! the output RMS. After `ane` rounding to fp16 every element with |y| ≥ RMS/16 is within
//! 1 ulp of the exactly rounded value (as is the im2col path's), and 0.85 % of all elements
//! round differently from the im2col path (values within the f32 noise of a rounding
//! boundary). Smaller outputs see the same absolute error as more of their own (smaller)
//! ulps. The bundled CNN example's 16→32 conv runs on this path and stays within 1 fp16 ulp
//! of numpy (tests/exec_examples.rs).
//!
//! Work split: output tile rows are cut into blocks whose transformed data fits in a core's
//! L2; blocks run in parallel (rayon), each doing input transform → 36 single-threaded GEMMs
//! → output transform on its own buffers.

use crate::Result;
use crate::matmul::{MatRef, gemm_f32};
#[cfg(target_arch = "x86_64")]
use crate::par::lane_mask;
use crate::par::{Sink, avx512_or, simd};
use rayon::prelude::*;

/// Transformed positions per tile (6×6).
const NT: usize = 36;

/// Floats of transformed input + products per block (1 MiB): with the 36 weight matrices
/// (C·Cout·36 floats) this stays within one core's 2 MiB L2 for 64 channels.
const BLOCK_FLOATS: usize = 1 << 18;

/// `G` of F(4×4, 3×3): filter transform `U = G g Gᵀ`.
const G: [[f32; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// Whether the Winograd path should run for this conv. Small channel counts or outputs make
/// the transforms cost more than the multiplications they save, so those stay on im2col.
pub(crate) fn applies(
    (c, cout): (usize, usize),
    (kh, kw): (usize, usize),
    (oh, ow): (usize, usize),
    strides: [usize; 2],
    dilations: [usize; 2],
    groups: usize,
) -> bool {
    (kh, kw) == (3, 3)
        && strides == [1, 1]
        && dilations == [1, 1]
        && groups == 1
        && c >= 8
        && cout >= 8
        && oh >= 4
        && ow >= 4
}

/// Filter transform: `wd` is `[F][3][3]` (F = Cout·C filters); writes `U` as `[36][F]` into
/// `u`, i.e. 36 row-major `[Cout, C]` matrices. Works on chunks of filters laid out as planes
/// on the stack, so every loop vectorises and nothing but `u` is allocated.
#[inline(always)]
fn transform_weights_impl(wd: &[f32], f: usize, u: &mut Vec<f32>) {
    const CH: usize = 64;
    u.resize(NT * f, 0.0);
    let mut g = [[0.0f32; CH]; 9];
    let mut tmp = [[0.0f32; CH]; 18];
    for f0 in (0..f).step_by(CH) {
        let len = CH.min(f - f0);
        for (fi, k) in wd[f0 * 9..(f0 + len) * 9].chunks_exact(9).enumerate() {
            for (a, &v) in k.iter().enumerate() {
                g[a][fi] = v;
            }
        }
        // tmp[i][b] = Σ_a G[i][a] · g[a][b]
        for i in 0..6 {
            for b in 0..3 {
                let [c0, c1, c2] = G[i];
                let (g0, g1, g2) = (&g[b], &g[3 + b], &g[6 + b]);
                for x in 0..CH {
                    tmp[i * 3 + b][x] = c0 * g0[x] + c1 * g1[x] + c2 * g2[x];
                }
            }
        }
        // u[i][j] = Σ_b tmp[i][b] · G[j][b]
        for i in 0..6 {
            for j in 0..6 {
                let [c0, c1, c2] = G[j];
                let (t0, t1, t2) = (&tmp[i * 3], &tmp[i * 3 + 1], &tmp[i * 3 + 2]);
                let dst = &mut u[(i * 6 + j) * f + f0..(i * 6 + j) * f + f0 + len];
                for (d, ((a, b), c)) in dst.iter_mut().zip(t0.iter().zip(t1).zip(t2)) {
                    *d = c0 * a + c1 * b + c2 * c;
                }
            }
        }
    }
}

/// Tiles per vector: the transforms and the tile-block GEMM work on 16 tiles at a time, and
/// the tile dimension of the scratch buffers is padded to a multiple of it.
const LANES: usize = 16;

/// 16 lanes of `buf` from `off` (zeros if out of range, which the callers' sizes rule out).
#[inline(always)]
fn load16(buf: &[f32], off: usize) -> [f32; LANES] {
    let mut r = [0.0; LANES];
    if let Some(s) = buf.get(off..off + LANES) {
        r.copy_from_slice(s);
    }
    r
}

#[inline(always)]
fn store16(buf: &mut [f32], off: usize, v: &[f32; LANES]) {
    if let Some(s) = buf.get_mut(off..off + LANES) {
        s.copy_from_slice(v);
    }
}

/// `Bᵀ d` for 16 tiles at once (the input transform along one axis). Fixed 16-lane arrays
/// rather than loops over a run-time tile count: LLVM then emits whole vectors, where a loop
/// over 42 or 56 tiles ran a good part in its scalar remainder.
#[inline(always)]
fn bt6(d: &[[f32; LANES]; 6]) -> [[f32; LANES]; 6] {
    let mut o = [[0.0; LANES]; 6];
    for x in 0..LANES {
        let (a0, a1, a2, a3, a4, a5) = (d[0][x], d[1][x], d[2][x], d[3][x], d[4][x], d[5][x]);
        o[0][x] = 4.0 * a0 - 5.0 * a2 + a4;
        o[1][x] = -4.0 * (a1 + a2) + (a3 + a4);
        o[2][x] = 4.0 * (a1 - a2) + (a4 - a3);
        o[3][x] = 2.0 * (a3 - a1) + (a4 - a2);
        o[4][x] = 2.0 * (a1 - a3) + (a4 - a2);
        o[5][x] = 4.0 * a1 - 5.0 * a3 + a5;
    }
    o
}

/// `Aᵀ d` for 16 tiles at once (the output transform along one axis, 6 → 4).
#[inline(always)]
fn at4(d: &[[f32; LANES]; 6]) -> [[f32; LANES]; 4] {
    let mut o = [[0.0; LANES]; 4];
    for x in 0..LANES {
        let (a0, a1, a2, a3, a4, a5) = (d[0][x], d[1][x], d[2][x], d[3][x], d[4][x], d[5][x]);
        let (p12, m12, p34, m34) = (a1 + a2, a1 - a2, a3 + a4, a3 - a4);
        o[0][x] = a0 + p12 + p34;
        o[1][x] = m12 + 2.0 * m34;
        o[2][x] = p12 + 4.0 * p34;
        o[3][x] = m12 + 8.0 * m34 + a5;
    }
    o
}

// The transforms are plain loops compiled again for AVX-512 ([`simd`]); the crate itself
// targets baseline x86-64, whose SSE2 vectors are a quarter as wide.
fn transform_weights(wd: &[f32], f: usize, u: &mut Vec<f32>) {
    simd(
        #[inline(always)]
        || transform_weights_impl(wd, f, u),
    )
}

fn input_block(xi: &[f32], g: &Geo, ty0: usize, ty1: usize, s: &mut Scratch) {
    simd(
        #[inline(always)]
        || input_block_impl(xi, g, ty0, ty1, s),
    )
}

fn output_block(g: &Geo, ty0: usize, ty1: usize, s: &mut Scratch, dst: &mut [OutRows<'_>]) {
    simd(
        #[inline(always)]
        || output_block_impl(g, ty0, ty1, s, dst),
    )
}

/// Geometry shared by the stages.
#[derive(Clone, Copy)]
struct Geo {
    c: usize,
    cout: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    pt: isize,
    pl: isize,
    /// Tiles per row.
    tx: usize,
}

thread_local! {
    /// Per-thread scratch kept across calls: ~2 MiB per thread for a 64-channel conv, which
    /// saves mapping and zeroing fresh pages on every call (page faults and memset were ~15 %
    /// of the profile with per-call buffers).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
    /// The last conv this thread started: its weights and their transform.
    static U_BUF: std::cell::RefCell<Transformed> = const {
        std::cell::RefCell::new(Transformed { source: Vec::new(), u: Vec::new() })
    };
}

/// Weights `source` (`[F][3][3]`) and their transform `u`. A conv whose weights equal `source`
/// element for element reuses `u`: comparing costs a memcmp of the weights, the transform
/// ~4 % of the benchmark conv, and an executor runs the same constant weights every
/// evaluation. Equality of the values (not of addresses) keeps the reuse exact.
#[derive(Default)]
struct Transformed {
    source: Vec<f32>,
    u: Vec<f32>,
}

/// Scratch buffers of one thread.
#[derive(Default)]
struct Scratch {
    /// Transformed input tiles, `[36][C][vps]` ([`Layout`]).
    v: Vec<f32>,
    /// The 36 products, `[36][Cout][ntp]`.
    m: Vec<f32>,
    /// Stage buffer: the x-transformed input rows (input side), then the 4×4 output tiles
    /// (output side).
    cols: Vec<f32>,
    /// One output row, interleaved from the tiles.
    row: Vec<f32>,
}

/// Grow `buf` to at least `n` floats, never shrinking it: blocks of two sizes alternate on a
/// thread, and `resize` down and up again zero-filled the difference every time (a memset of
/// ~5 % of the benchmark conv's profile).
fn grow(buf: &mut Vec<f32>, n: usize) {
    if buf.len() < n {
        buf.resize(n, 0.0);
    }
}

/// Scratch layout of a block of `nr` tile rows of `tx` tiles (`nt = nr·tx`).
///
/// The GEMM and the output transform run on `ntp` tiles, `nt` padded to whole vectors; the
/// padding tiles' columns are independent of the real ones and never scattered, so they may
/// hold anything. `v` is position-major, so each position's GEMM operand is one contiguous
/// `[C][vps]` matrix (channel-major put its 64 rows 9 KiB apart; measured 5–7 % slower in
/// alternated calls). The position strides are one cache line more than their data, as
/// `m`'s natural one (64·64 floats = 16 KiB) put the 36 products the output transform reads
/// for one tile into a single L1 set.
#[derive(Clone, Copy)]
struct Layout {
    ntp: usize,
    /// Tiles per input row after the x stage (`tx` padded to whole vectors).
    txp: usize,
    /// Floats from channel `c` to `c + 1` in `v`: at least `ntp`, and room for the last tile
    /// row's whole vectors, which end at `nt - tx + txp`.
    vps: usize,
    /// Floats from position `t` to `t + 1` in `v` (`[36][C][vps]`).
    vts: usize,
    /// Floats from position `t` to `t + 1` in `m` (`[36][Cout][ntp]`).
    mps: usize,
}

impl Layout {
    fn new(nr: usize, tx: usize, c: usize, cout: usize) -> Layout {
        let nt = nr * tx;
        let ntp = nt.next_multiple_of(LANES);
        let txp = tx.next_multiple_of(LANES);
        let vps = (nt + txp - tx).next_multiple_of(LANES);
        Layout {
            ntp,
            txp,
            vps,
            vts: c * vps + LANES,
            mps: cout * ntp + LANES,
        }
    }
}

/// Input transform of tile rows `ty0..ty1` of one image into `v` (`[36][C][vps]`, see
/// [`Layout`]).
///
/// Per channel, first along x, once per input row ([`x_stage`]): adjacent tile rows share two
/// input rows, so this gathers each row once where gathering whole 6×6 tiles gathered it 1.5
/// times. Then along y, per tile row, on whole vectors of its tiles: each tile row's last
/// vector spills into the next tile row's first tiles, which that row's stores then
/// overwrite (rows are stored in order), and the last row's into the padding.
#[inline(always)]
fn input_block_impl(xi: &[f32], g: &Geo, ty0: usize, ty1: usize, s: &mut Scratch) {
    let tx = g.tx;
    let nr = ty1 - ty0;
    let Layout { txp, vps, vts, .. } = Layout::new(nr, tx, g.c, g.cout);
    let rows = 4 * nr + 2;
    grow(&mut s.v, NT * vts);
    grow(&mut s.cols, rows * 6 * txp);
    for ci in 0..g.c {
        let plane = &xi[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        let xt = &mut s.cols[..rows * 6 * txp];
        x_stage(plane, g, ty0, txp, xt);
        // Along y: v[i][j][r·tx + k] = Σ_a Bᵀ[i][a] xt[4r + a][j][k], tile rows in order.
        let vc = &mut s.v[ci * vps..];
        for r in 0..nr {
            for j in 0..6 {
                for k0 in (0..tx).step_by(LANES) {
                    let col = std::array::from_fn(|a| load16(xt, ((4 * r + a) * 6 + j) * txp + k0));
                    for (i, row) in bt6(&col).iter().enumerate() {
                        store16(vc, (i * 6 + j) * vts + r * tx + k0, row);
                    }
                }
            }
        }
    }
}

/// Input row `lr` of a block starting at tile row `ty0` (`4·ty0 + lr - pt`), or `None` above
/// or below the image (the conv's top and bottom padding).
#[inline(always)]
fn input_row<'a>(plane: &'a [f32], g: &Geo, ty0: usize, lr: usize) -> Option<&'a [f32]> {
    let iy = usize::try_from((4 * ty0 + lr) as isize - g.pt).ok()?;
    if iy >= g.h {
        return None;
    }
    plane.get(iy * g.w..(iy + 1) * g.w)
}

/// The x stage of the input transform for the input rows of a block: `xt` is
/// `[rows][6][txp]` (`rows = xt.len() / (6·txp)`) with
/// `xt[lr][j][k] = Σ_b Bᵀ[j][b] row[4k + b - pl]`, where `row` is input row `lr` of the block
/// and is zero outside the image (all `txp` lanes follow this definition).
///
/// The stride-4 gather of the 6-wide tile windows is what LLVM cannot vectorize (~30 % of the
/// conv when scalar); the AVX-512 version gathers 16 tiles per masked load/permute, with the
/// masks (the left/right padding) worked out once per 16 tiles for all rows.
#[inline(always)]
fn x_stage(plane: &[f32], g: &Geo, ty0: usize, txp: usize, xt: &mut [f32]) {
    avx512_or!(
        x_stage_avx512(plane, g, ty0, txp, xt),
        x_stage_portable(plane, g, ty0, txp, xt)
    )
}

fn x_stage_portable(plane: &[f32], g: &Geo, ty0: usize, txp: usize, xt: &mut [f32]) {
    for (lr, xr) in xt.chunks_exact_mut(6 * txp).enumerate() {
        let Some(src) = input_row(plane, g, ty0, lr) else {
            xr.fill(0.0);
            continue;
        };
        for k0 in (0..txp).step_by(LANES) {
            let q: [[f32; LANES]; 6] = std::array::from_fn(|b| {
                std::array::from_fn(|t| {
                    let x = (4 * (k0 + t) + b) as isize - g.pl;
                    usize::try_from(x)
                        .ok()
                        .and_then(|x| src.get(x))
                        .copied()
                        .unwrap_or(0.0)
                })
            });
            for (j, row) in bt6(&q).iter().enumerate() {
                store16(xr, j * txp + k0, row);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
fn x_stage_avx512(plane: &[f32], g: &Geo, ty0: usize, txp: usize, xt: &mut [f32]) {
    use std::arch::x86_64::*;
    // Far-out sizes (no real conv has them) keep the index arithmetic below in range.
    if g.pl.unsigned_abs() > 1 << 40 || g.w > 1 << 40 || txp > 1 << 40 {
        return x_stage_portable(plane, g, ty0, txp, xt);
    }
    let len = g.w as isize;
    // Lane t of `pick(b)` is element 4t + b' of a 32-float window (b' = b mod 4).
    let idx: [__m512i; 4] = std::array::from_fn(|b| {
        let b = b as i32;
        _mm512_setr_epi32(
            b,
            b + 4,
            b + 8,
            b + 12,
            b + 16,
            b + 20,
            b + 24,
            b + 28,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        )
    });
    for k0 in (0..txp).step_by(LANES) {
        // Tiles k0.. read the row from `base`: elements 4t + b for b < 4 from the 64 floats at
        // `base`, and for b = 4, 5 (tile t+1's b = 0, 1) from the 64 at `base + 4`; lane masks
        // of those 8 vectors, zero outside the row.
        let base = (4 * k0) as isize - g.pl;
        let at = |w: usize| base + 4 * (w / 4) as isize + 16 * (w % 4) as isize;
        let masks: [__mmask16; 8] = std::array::from_fn(|w| {
            let lo = (-at(w)).clamp(0, 16) as usize;
            let hi = (len - at(w)).clamp(0, 16) as usize;
            lane_mask(hi) & !lane_mask(lo)
        });
        for (lr, xr) in xt.chunks_exact_mut(6 * txp).enumerate() {
            let q: [[f32; LANES]; 6] = match input_row(plane, g, ty0, lr) {
                None => [[0.0; LANES]; 6],
                Some(src) => {
                    // SAFETY: `src` holds `len` floats; lanes enabled by masks[w] are those
                    // with 0 ≤ at(w) + lane < len, so only elements of `src` are read (the
                    // pointer is formed with wrapping arithmetic; masked-off lanes are not
                    // accessed).
                    let win: [__m512; 8] = std::array::from_fn(|w| unsafe {
                        _mm512_maskz_loadu_ps(masks[w], src.as_ptr().wrapping_offset(at(w)))
                    });
                    std::array::from_fn(|b| {
                        let w = if b < 4 { &win[..4] } else { &win[4..] };
                        let i = idx[b % 4];
                        let lo = _mm512_permutex2var_ps(w[0], i, w[1]);
                        let hi = _mm512_permutex2var_ps(w[2], i, w[3]);
                        // Lanes 0–7 of lo, then lanes 0–7 of hi.
                        let v = _mm512_shuffle_f32x4::<0b0100_0100>(lo, hi);
                        let mut q = [0.0; LANES];
                        // SAFETY: `q` holds 16 floats.
                        unsafe { _mm512_storeu_ps(q.as_mut_ptr(), v) };
                        q
                    })
                }
            };
            for (j, row) in bt6(&q).iter().enumerate() {
                store16(xr, j * txp + k0, row);
            }
        }
    }
}

/// `out (m×n) = a (m×k, row-major) · b (k rows of n, row stride `bs`)` with an AVX-512 kernel
/// made for the 36 small products of a tile block (64×64 · 64×~56 for the benchmark conv):
/// the `gemm` crate packs both operands on every call, which cost about as much as the
/// multiply-adds at this size. Each output is one f32 FMA chain over k, in order. Returns false
/// (nothing written) when the CPU lacks AVX-512 or the slices are too short, and the caller
/// uses `gemm_f32`.
fn small_gemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    bs: usize,
    out: &mut [f32],
) -> bool {
    let fits = a.len() >= m * k
        && out.len() >= m * n
        && n <= bs
        && (k == 0 || b.len() >= (k - 1) * bs + n);
    if !fits {
        return false;
    }
    avx512_or!(
        {
            small_gemm_avx512(m, n, k, a, b, bs, out);
            true
        },
        false
    )
}

/// # Safety
/// `a.len() ≥ m·k`, `out.len() ≥ m·n`, `n ≤ bs`, `b.len() ≥ (k-1)·bs + n` (checked by the caller).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
unsafe fn small_gemm_avx512(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    bs: usize,
    out: &mut [f32],
) {
    let mut j = 0;
    while j < n {
        // Register blocks of 12 accumulators: 6 rows × 2 column vectors, or, for a last
        // column strip of at most 16 (48 tiles), 12 rows × 1 vector, where 2 vectors would
        // spend half their multiply-adds on masked-off lanes. Masks cover the ragged end.
        let left = n - j;
        let two = left > 16;
        let masks = [lane_mask(left), lane_mask(left.saturating_sub(16))];
        let block_rows = if two { 6 } else { 12 };
        let mut i = 0;
        while i < m {
            let rows = block_rows.min(m - i);
            let tile = SgTile {
                i,
                j,
                masks,
                k,
                n,
                bs,
            };
            // A fixed shape per instance keeps the accumulators in registers and the k loop
            // free of branches.
            // SAFETY: rows ≤ m - i; two vectors only when more than 16 columns are left; the
            // caller's length checks hold.
            unsafe {
                match (two, rows) {
                    (true, 6) => sg_block::<6, 2>(tile, a, b, out),
                    (true, 5) => sg_block::<5, 2>(tile, a, b, out),
                    (true, 4) => sg_block::<4, 2>(tile, a, b, out),
                    (true, 3) => sg_block::<3, 2>(tile, a, b, out),
                    (true, 2) => sg_block::<2, 2>(tile, a, b, out),
                    (true, _) => sg_block::<1, 2>(tile, a, b, out),
                    (false, 12) => sg_block::<12, 1>(tile, a, b, out),
                    (false, 11) => sg_block::<11, 1>(tile, a, b, out),
                    (false, 10) => sg_block::<10, 1>(tile, a, b, out),
                    (false, 9) => sg_block::<9, 1>(tile, a, b, out),
                    (false, 8) => sg_block::<8, 1>(tile, a, b, out),
                    (false, 7) => sg_block::<7, 1>(tile, a, b, out),
                    (false, 6) => sg_block::<6, 1>(tile, a, b, out),
                    (false, 5) => sg_block::<5, 1>(tile, a, b, out),
                    (false, 4) => sg_block::<4, 1>(tile, a, b, out),
                    (false, 3) => sg_block::<3, 1>(tile, a, b, out),
                    (false, 2) => sg_block::<2, 1>(tile, a, b, out),
                    (false, _) => sg_block::<1, 1>(tile, a, b, out),
                }
            }
            i += rows;
        }
        j += if two { 32 } else { 16 };
    }
}

/// Where one register block of [`small_gemm_avx512`] sits.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct SgTile {
    i: usize,
    j: usize,
    /// Lanes of the block's (up to two) column vectors inside `n`.
    masks: [std::arch::x86_64::__mmask16; 2],
    k: usize,
    n: usize,
    bs: usize,
}

/// One `R`-row × `V`-vector register block of [`small_gemm_avx512`]: each output one f32
/// FMA chain over k, in order.
///
/// # Safety
/// As [`small_gemm_avx512`], plus `t.i + R ≤ m`, and `V = 2` only when `t.n - t.j > 16`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
unsafe fn sg_block<const R: usize, const V: usize>(
    t: SgTile,
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
) {
    // Whole vectors (the Winograd blocks' tile counts are multiples of 16) load unmasked: a
    // zero-masking load is a second micro-op on the ports the FMAs need.
    // SAFETY: the caller's contract, passed on.
    unsafe {
        if t.masks[..V].iter().all(|&m| m == 0xFFFF) {
            sg_block_k::<R, V, false>(t, a, b, out)
        } else {
            sg_block_k::<R, V, true>(t, a, b, out)
        }
    }
}

/// [`sg_block`] with masked (`MASKED`) or plain loads of `b`.
///
/// # Safety
/// As [`sg_block`], and all lanes of `t.masks[..V]` set when `!MASKED`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
unsafe fn sg_block_k<const R: usize, const V: usize, const MASKED: bool>(
    t: SgTile,
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
) {
    use std::arch::x86_64::*;
    let (ap, bp, op) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    for p in 0..t.k {
        // SAFETY: row p of b, columns j + 16v.. under the masks (< n ≤ bs), is inside b
        // (b.len() ≥ (k-1)·bs + n); masked-off lanes are not read (all are in when unmasked);
        // j + 16 < n when V = 2.
        let bv: [__m512; V] = std::array::from_fn(|v| unsafe {
            let at = bp.add(p * t.bs + t.j + 16 * v);
            if MASKED {
                _mm512_maskz_loadu_ps(t.masks[v], at)
            } else {
                _mm512_loadu_ps(at)
            }
        });
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: (i + r)·k + p < m·k ≤ a.len().
            let av = _mm512_set1_ps(unsafe { *ap.add((t.i + r) * t.k + p) });
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm512_fmadd_ps(av, *bv, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, acc) in acc.iter().enumerate() {
            // SAFETY: row i + r < m of out, columns j + 16v.. under the mask (< n).
            unsafe {
                _mm512_mask_storeu_ps(op.add((t.i + r) * t.n + t.j + 16 * v), t.masks[v], *acc)
            };
        }
    }
}

/// One output channel's rows of a block, not yet written, and the channel's bias.
type OutRows<'a> = (Sink<'a, f32>, f32);

/// Output transform of products `m` (`[36][Cout][ntp]`) into `dst` (per output channel: the
/// block's output rows, and the bias added to them), on whole vectors of 16 tiles; then each
/// output row is interleaved from the tiles into a row buffer and appended, plus the bias, to
/// the channel's rows. Writing the output once this way replaced zero-filling it, filling in
/// the bias, and adding the conv into it (8 % of the conv's single-thread profile).
#[inline(always)]
fn output_block_impl(g: &Geo, ty0: usize, ty1: usize, s: &mut Scratch, dst: &mut [OutRows<'_>]) {
    let tx = g.tx;
    let Layout { ntp, mps, .. } = Layout::new(ty1 - ty0, tx, g.c, g.cout);
    // cols: [4][4][ntp], the 4×4 output tiles.
    grow(&mut s.cols, 16 * ntp);
    s.row.resize(g.ow, 0.0);
    // Per 16 tiles, after the y stage (declared once, as in the input transform).
    let mut t = [[[0.0; LANES]; 6]; 4];
    for (co, (sink, bias)) in dst.iter_mut().enumerate() {
        for t0 in (0..ntp).step_by(LANES) {
            // Along y: t[k][j] = Σ_i Aᵀ[k][i] m[i][j]. (`j` indexes the second dimension of
            // `t`, a transposed store no iterator expresses.)
            #[allow(clippy::needless_range_loop)]
            for j in 0..6 {
                let col = std::array::from_fn(|i| load16(&s.m, (i * 6 + j) * mps + co * ntp + t0));
                for (k, row) in at4(&col).iter().enumerate() {
                    t[k][j] = *row;
                }
            }
            // Along x: y[k][l] = Σ_j t[k][j] Aᵀ[l][j].
            for (k, tk) in t.iter().enumerate() {
                for (l, row) in at4(tk).iter().enumerate() {
                    store16(&mut s.cols, (k * 4 + l) * ntp + t0, row);
                }
            }
        }
        let rows = (4 * ty1).min(g.oh) - 4 * ty0;
        for oy in 0..rows {
            let (base, k) = ((oy / 4) * tx, oy % 4);
            let y = &s.cols[k * 4 * ntp..(k + 1) * 4 * ntp];
            let ys: [&[f32]; 4] = std::array::from_fn(|l| &y[l * ntp + base..l * ntp + base + tx]);
            // `value + bias`, one f32 rounding, as `bias + value` was; +0.0 without a bias,
            // so a -0.0 result still comes out +0.0 as it did from a zero-filled output.
            let last = g.ow / 4;
            interleave4(ys, *bias, &mut s.row[..4 * last]);
            for (l, o) in s.row[4 * last..].iter_mut().enumerate() {
                *o = ys[l][last] + *bias;
            }
            sink.extend_from_slice(&s.row);
        }
    }
}

/// `row[4k + l] = ys[l][k]` for the `row.len() / 4` whole output quads of one row: the
/// scatter of the output transform (the inverse of [`x_stage`]'s gather). LLVM kept it scalar and
/// it was ~45 % of the output transform; the AVX-512 version interleaves 16 tiles per step.
#[inline(always)]
fn interleave4(ys: [&[f32]; 4], bias: f32, row: &mut [f32]) {
    avx512_or!(
        interleave4_avx512(ys, bias, row),
        interleave4_scalar(ys, bias, row)
    )
}

fn interleave4_scalar(ys: [&[f32]; 4], bias: f32, row: &mut [f32]) {
    let vals = ys[0].iter().zip(ys[1]).zip(ys[2]).zip(ys[3]);
    for (q, (((a, b), c), d)) in row.chunks_exact_mut(4).zip(vals) {
        q.copy_from_slice(&[a + bias, b + bias, c + bias, d + bias]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
fn interleave4_avx512(ys: [&[f32]; 4], bias: f32, row: &mut [f32]) {
    use std::arch::x86_64::*;
    let quads = row.len() / 4;
    if ys.iter().any(|y| y.len() < quads) {
        return interleave4_scalar(ys, bias, row);
    }
    let bias = _mm512_set1_ps(bias);
    // Lane pairs (a[i], b[i]) for i in 0..8 (lo) and 8..16 (hi).
    let pair_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    let pair_hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    // 64-bit lanes: (ab[i], cd[i]) for i in 0..4 (first) and 4..8 (second).
    let quad_lo = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
    let quad_hi = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
    let mut k0 = 0;
    while k0 < quads {
        let count = (quads - k0).min(16);
        let m = lane_mask(count);
        // SAFETY: lanes enabled by `m` read ys[l][k0 .. k0 + count], inside (len ≥ quads).
        let [a, b, c, d] =
            std::array::from_fn(|l| unsafe { _mm512_maskz_loadu_ps(m, ys[l].as_ptr().add(k0)) });
        let (ab_lo, ab_hi) = (
            _mm512_permutex2var_ps(a, pair_lo, b),
            _mm512_permutex2var_ps(a, pair_hi, b),
        );
        let (cd_lo, cd_hi) = (
            _mm512_permutex2var_ps(c, pair_lo, d),
            _mm512_permutex2var_ps(c, pair_hi, d),
        );
        let q = |ab: __m512, cd: __m512, idx: __m512i| {
            _mm512_castpd_ps(_mm512_permutex2var_pd(
                _mm512_castps_pd(ab),
                idx,
                _mm512_castps_pd(cd),
            ))
        };
        // Tiles 0–3, 4–7, 8–11, 12–15 of this step, 16 outputs each.
        let outs = [
            q(ab_lo, cd_lo, quad_lo),
            q(ab_lo, cd_lo, quad_hi),
            q(ab_hi, cd_hi, quad_lo),
            q(ab_hi, cd_hi, quad_hi),
        ];
        let base = 4 * k0;
        for (v, o) in outs.into_iter().enumerate() {
            let valid = (4 * count).saturating_sub(16 * v);
            if valid == 0 {
                break;
            }
            let mv = lane_mask(valid);
            // SAFETY: lanes enabled by `mv` write row[base + 16v ..][..valid], and
            // base + 16v + valid ≤ 4·(k0 + count) ≤ 4·quads ≤ row.len().
            unsafe {
                _mm512_mask_storeu_ps(
                    row.as_mut_ptr().add(base + 16 * v),
                    mv,
                    _mm512_add_ps(o, bias),
                )
            };
        }
        k0 += count;
    }
}

/// One parallel task of [`conv3x3`]: image, tile rows `ty0..ty1`, and the output rows it
/// writes (one slice per output channel).
type Block<'a> = (usize, (usize, usize), Vec<OutRows<'a>>);

/// 3×3 stride-1 conv by F(4×4, 3×3): `x` `[N, C, H, W]`, `w` `[Cout, C, 3, 3]`, `bias`
/// `[Cout]` or none, explicit top/left pads (bottom/right padding is implied by `oh`/`ow`).
/// Returns the `[N, Cout, oh, ow]` result, written once, with no zero-fill first.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv3x3(
    op: &'static str,
    xd: &[f32],
    wd: &[f32],
    bias: Option<&[f32]>,
    (n, c, h, w): (usize, usize, usize, usize),
    cout: usize,
    (oh, ow): (usize, usize),
    (pt, pl): (usize, usize),
) -> Result<Vec<f32>> {
    let total = n * cout * oh * ow;
    if total == 0 {
        return Ok(Vec::new());
    }
    let tx = ow.div_ceil(4);
    let tyn = oh.div_ceil(4);
    let g = Geo {
        c,
        cout,
        h,
        w,
        oh,
        ow,
        pt: pt as isize,
        pl: pl as isize,
        tx,
    };
    // The transformed weights live in a per-thread buffer too; if this thread's is in use
    // (a conv started by a rayon job this thread stole while waiting), a fresh one is used.
    let mut own = Transformed::default();
    let mut cached = U_BUF.with(|b| b.try_borrow_mut().map(|mut b| std::mem::take(&mut *b)));
    let t = cached.as_mut().unwrap_or(&mut own);
    // Bitwise equality: -0.0 vs 0.0 or NaN payloads must not share a transform.
    let same = t.source.len() == wd.len()
        && t.source.chunks(256).zip(wd.chunks(256)).all(|(a, b)| {
            let diff = a
                .iter()
                .zip(b)
                .fold(0u32, |d, (x, y)| d | (x.to_bits() ^ y.to_bits()));
            diff == 0
        });
    if !same {
        transform_weights(wd, cout * c, &mut t.u);
        t.source.clear();
        t.source.extend_from_slice(wd);
    }
    let u = &*t.u;
    // Tile rows per block: at most what fits BLOCK_FLOATS. With fewer images than threads,
    // each image's tile rows are first split into one equal range per thread, then each range
    // into near-equal blocks, so the threads get equal work (56 rows of 4-row tiles in blocks
    // of 4 gave 8 rows to one thread and 6 to the other).
    let per_row = (c + cout) * NT * tx;
    let threads = rayon::current_num_threads().max(1);
    let rb = (BLOCK_FLOATS / per_row.max(1)).clamp(1, tyn);
    let parts = if n < threads {
        threads.div_ceil(n).min(tyn)
    } else {
        1
    };
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for p in 0..parts {
        let (a, b) = (tyn * p / parts, tyn * (p + 1) / parts);
        let pieces = (b - a).div_ceil(rb);
        for q in 0..pieces {
            let (s0, s1) = (a + (b - a) * q / pieces, a + (b - a) * (q + 1) / pieces);
            if s1 > s0 {
                ranges.push((s0, s1));
            }
        }
    }
    // Each block's output rows of every (image, channel) plane, split off the uninitialised
    // result up front so the blocks write them in parallel, each through its own sink.
    let mut out: Vec<f32> = Vec::with_capacity(total);
    let spare = &mut out.spare_capacity_mut()[..total];
    let per_image = ranges.len();
    let mut blocks: Vec<Block<'_>> = (0..n)
        .flat_map(|ni| {
            ranges
                .iter()
                .map(move |&r| (ni, r, Vec::with_capacity(cout)))
        })
        .collect();
    for (pi, mut rest) in spare.chunks_exact_mut(oh * ow).enumerate() {
        let b = bias.and_then(|b| b.get(pi % cout)).copied().unwrap_or(0.0);
        for (bi, &(ty0, ty1)) in ranges.iter().enumerate() {
            let rows = (4 * ty1).min(oh) - 4 * ty0;
            let (seg, r) = rest.split_at_mut(rows * ow);
            rest = r;
            blocks[(pi / cout) * per_image + bi]
                .2
                .push((Sink::new(seg), b));
        }
        // The ranges cover every tile row, so nothing is left; were anything left, this sink
        // would initialise it (with zeros) when dropped.
        drop(Sink::new(rest));
    }
    let res = blocks
        .into_par_iter()
        .try_for_each(|(ni, (ty0, ty1), mut dst)| {
            SCRATCH.with_borrow_mut(|s| {
                let Layout {
                    ntp, vps, vts, mps, ..
                } = Layout::new(ty1 - ty0, tx, c, cout);
                input_block(&xd[ni * c * h * w..(ni + 1) * c * h * w], &g, ty0, ty1, s);
                grow(&mut s.m, NT * mps);
                for t in 0..NT {
                    let ut = &u[t * cout * c..(t + 1) * cout * c];
                    let mt = &mut s.m[t * mps..t * mps + cout * ntp];
                    if small_gemm(cout, ntp, c, ut, &s.v[t * vts..], vps, mt) {
                        continue;
                    }
                    gemm_f32(
                        op,
                        cout,
                        ntp,
                        c,
                        MatRef {
                            data: ut,
                            rs: c,
                            cs: 1,
                        },
                        MatRef {
                            data: &s.v[t * vts..],
                            rs: vps,
                            cs: 1,
                        },
                        mt,
                        false,
                        false,
                    )?;
                }
                output_block(&g, ty0, ty1, s, &mut dst);
                Ok(())
            })
        });
    if let Ok(u) = cached {
        U_BUF.with(|b| {
            if let Ok(mut b) = b.try_borrow_mut() {
                *b = u;
            }
        });
    }
    res?;
    // SAFETY: `total ≤ capacity`, and each of the first `total` slots is initialised: `spare`
    // was split entirely into sinks (per plane: one per tile-row range, plus the remainder),
    // every sink was moved into `blocks` or dropped on the spot, and `blocks` was consumed by
    // the parallel loop above, so all sinks have been dropped, and a dropped sink has written
    // all its slots (`Sink`'s `Drop` fills what the kernel left).
    #[allow(unsafe_code)]
    unsafe {
        out.set_len(total)
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Geo, interleave4, interleave4_scalar, small_gemm, x_stage, x_stage_portable};
    use crate::conv::{Conv2dParams, conv2d, conv2d_with};
    use crate::{Numerics, Tensor};
    use anekit_core::DType;
    use half::f16;

    fn val(i: usize, s: usize) -> f32 {
        // Deterministic values in [-1, 1).
        let z = (i as u64 + 1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((s as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    struct Case {
        x: Tensor,
        w: Tensor,
        b: Tensor,
        p: Conv2dParams,
    }

    fn case(n: usize, c: usize, co: usize, h: usize, w: usize, pads: [usize; 4]) -> Case {
        let t = |shape: Vec<usize>, s| {
            let len = shape.iter().product();
            Tensor::new(shape, (0..len).map(|i| val(i, s)).collect()).unwrap()
        };
        Case {
            x: t(vec![n, c, h, w], 1),
            w: t(vec![co, c, 3, 3], 2),
            b: t(vec![co], 3),
            p: Conv2dParams {
                pads,
                ..Conv2dParams::default()
            },
        }
    }

    /// Direct conv in f64: the independent reference.
    fn reference(k: &Case, oh: usize, ow: usize) -> Vec<f64> {
        let [n, c, h, w] = *k.x.shape() else { panic!() };
        let co = k.w.shape()[0];
        let (pt, pl) = (k.p.pads[0] as isize, k.p.pads[2] as isize);
        let mut out = vec![0.0f64; n * co * oh * ow];
        for ni in 0..n {
            for o in 0..co {
                for i in 0..oh {
                    for j in 0..ow {
                        let mut s = f64::from(k.b.data()[o]);
                        for ci in 0..c {
                            for ki in 0..3 {
                                for kj in 0..3 {
                                    let (ih, iw) = (i as isize + ki - pt, j as isize + kj - pl);
                                    if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                                        continue;
                                    }
                                    let xv = k.x.data()
                                        [((ni * c + ci) * h + ih as usize) * w + iw as usize];
                                    let wv = k.w.data()
                                        [((o * c + ci) * 3 + ki as usize) * 3 + kj as usize];
                                    s += f64::from(xv) * f64::from(wv);
                                }
                            }
                        }
                        out[((ni * co + o) * oh + i) * ow + j] = s;
                    }
                }
            }
        }
        out
    }

    /// Max |error| of the Winograd and the im2col path vs the f64 reference.
    fn errors(k: &Case) -> (f64, f64, Tensor, Tensor, Vec<f64>) {
        let wino = conv2d(k.x.view(), k.w.view(), Some(k.b.view()), &k.p).unwrap();
        let direct = conv2d_with(k.x.view(), k.w.view(), Some(k.b.view()), &k.p, false).unwrap();
        assert_eq!(wino.shape(), direct.shape());
        let [_, _, oh, ow] = *wino.shape() else {
            panic!()
        };
        let r = reference(k, oh, ow);
        let err = |t: &Tensor| {
            t.data()
                .iter()
                .zip(&r)
                .map(|(&g, &e)| (f64::from(g) - e).abs())
                .fold(0.0, f64::max)
        };
        (err(&wino), err(&direct), wino, direct, r)
    }

    /// Odd sizes (partial edge tiles), asymmetric and zero padding, two images, channel counts
    /// that are not multiples of a SIMD width, and a shape that needs several row blocks.
    #[test]
    fn matches_f64_direct_conv() {
        for (n, c, co, h, w, pads) in [
            (1, 8, 8, 4, 4, [1, 1, 1, 1]),
            (2, 9, 13, 11, 7, [1, 1, 1, 1]),
            (1, 16, 12, 13, 17, [0, 0, 0, 0]),
            (1, 10, 8, 9, 10, [2, 0, 0, 2]),
            (1, 64, 64, 56, 56, [1, 1, 1, 1]),
            (1, 24, 40, 70, 33, [1, 1, 1, 1]),
        ] {
            let k = case(n, c, co, h, w, pads);
            assert!(super::applies((c, co), (3, 3), (h, w), [1, 1], [1, 1], 1));
            let (ew, ed, ..) = errors(&k);
            // Terms are products of two values in [-1, 1); 9·C of them plus the bias. The
            // direct f32 path errs by ≲ 9C·2⁻²⁴; the transforms add up to ~100 such
            // roundings on values up to ~100× the inputs (bound measured, see module doc).
            let kdim = 9.0 * c as f64;
            assert!(ed < kdim * 1.2e-7, "{n}x{c}->{co} {h}x{w}: direct err {ed}");
            assert!(ew < kdim * 2e-6, "{n}x{c}->{co} {h}x{w}: winograd err {ew}");
        }
    }

    /// In `ane` numerics (output rounded to fp16): the Winograd result's error vs the exactly
    /// rounded value, in fp16 ulps at each element's own magnitude, and how often it differs
    /// from the im2col path's. Near-zero outputs (|y| far below the output scale, whose fp16
    /// ulp is tiny) see the f32 absolute error as many of their own ulps — the direct path
    /// too — so the ulp bound applies to |y| ≥ 1/16 of the output RMS (~96% of elements).
    #[test]
    fn ane_rounding_within_one_ulp() {
        let k = case(1, 64, 64, 56, 56, [1, 1, 1, 1]);
        let (ew, ed, mut wino, mut direct, r) = errors(&k);
        Numerics::Ane.round_output(wino.data_mut(), DType::Fp16);
        Numerics::Ane.round_output(direct.data_mut(), DType::Fp16);
        let rms = (r.iter().map(|v| v * v).sum::<f64>() / r.len() as f64).sqrt();
        let (mut differ, mut checked, mut worst_w, mut worst_d) = (0, 0, 0.0f64, 0.0f64);
        for ((&a, &b), &e) in wino.data().iter().zip(direct.data()).zip(&r) {
            differ += usize::from(a != b);
            if e.abs() < rms / 16.0 {
                continue;
            }
            checked += 1;
            let exact = f16::from_f64(e);
            let up = f16::from_bits(exact.to_bits() + 1).to_f32();
            let ulp = f64::from((up - exact.to_f32()).abs());
            let ex = f64::from(exact.to_f32());
            worst_w = worst_w.max((f64::from(a) - ex).abs() / ulp);
            worst_d = worst_d.max((f64::from(b) - ex).abs() / ulp);
        }
        eprintln!(
            "rms {rms:.3}, max abs err winograd {ew:.2e} direct {ed:.2e}; fp16 results differ in \
             {differ} of {}; checked {checked}, worst ulps winograd {worst_w} direct {worst_d}",
            r.len()
        );
        assert!(
            worst_w <= 1.0 && worst_d <= 1.0,
            "{worst_w} / {worst_d} ulps"
        );
        assert!(checked * 100 > r.len() * 90);
        // Measured: 1700 of 200 704 (0.85 %).
        assert!(
            differ * 100 < wino.data().len() * 2,
            "{differ} elements differ"
        );
    }

    /// The x stage of the input transform (AVX-512 where the CPU has it) against the portable
    /// version bit for bit, and both against the definition (the Bᵀ matrix in f64, to f32
    /// rounding), for tile counts around the 16-lane vector, left padding 0–3 (and far left),
    /// rows shorter than the tiles need, and blocks reaching above and below the image.
    #[test]
    fn x_stage_matches_definition() {
        const BT: [[f64; 6]; 6] = [
            [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
            [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
            [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
            [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
            [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
            [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
        ];
        let mut cases = 0;
        for tx in [1, 13, 14, 16, 17, 33] {
            for (w, pl) in [
                (4 * tx + 2, 0),
                (4 * tx, 1),
                (4 * tx - 1, 3),
                (3, 9),
                (4 * tx + 9, 2),
            ] {
                for (h, pt, ty0) in [(7, 1, 0), (5, 0, 1), (3, 2, 0)] {
                    let g = Geo {
                        c: 1,
                        cout: 1,
                        h,
                        w,
                        oh: 4,
                        ow: 4 * tx,
                        pt: pt as isize,
                        pl: pl as isize,
                        tx,
                    };
                    let plane: Vec<f32> = (0..h * w).map(|i| val(i, tx + w)).collect();
                    let txp = tx.next_multiple_of(16);
                    let rows = 6;
                    let mut fast = vec![f32::NAN; rows * 6 * txp];
                    let mut slow = vec![f32::NAN; rows * 6 * txp];
                    x_stage(&plane, &g, ty0, txp, &mut fast);
                    x_stage_portable(&plane, &g, ty0, txp, &mut slow);
                    for lr in 0..rows {
                        let iy = (4 * ty0 + lr) as isize - pt as isize;
                        let px = |x: isize| -> f64 {
                            if iy < 0 || iy >= h as isize || x < 0 || x >= w as isize {
                                0.0
                            } else {
                                plane[iy as usize * w + x as usize] as f64
                            }
                        };
                        for (j, btj) in BT.iter().enumerate() {
                            for k in 0..txp {
                                let at = (lr * 6 + j) * txp + k;
                                assert_eq!(
                                    fast[at].to_bits(),
                                    slow[at].to_bits(),
                                    "tx={tx} w={w} pl={pl} h={h} pt={pt} lr={lr} j={j} k={k}"
                                );
                                let want: f64 = (0..6)
                                    .map(|b| btj[b] * px((4 * k + b) as isize - pl as isize))
                                    .sum();
                                assert!(
                                    (slow[at] as f64 - want).abs() <= 1e-5,
                                    "{} vs {want}",
                                    slow[at]
                                );
                            }
                        }
                    }
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 90);
    }

    /// The tile-block GEMM against a plain f32 FMA chain in the same order (so bit-exact),
    /// for ragged sizes around its 6-row × 32-column and 12-row × 16-column blocks, with a row
    /// stride above n.
    #[test]
    fn small_gemm_matches_an_fma_chain() {
        for &(m, n, k) in &[
            (64, 56, 64),
            (64, 48, 64),
            (25, 40, 7),
            (1, 1, 1),
            (7, 33, 5),
            (13, 16, 9),
            (6, 32, 0),
            (5, 70, 17),
        ] {
            let bs = n + 3;
            let a: Vec<f32> = (0..m * k).map(|i| val(i, 1)).collect();
            let b: Vec<f32> = (0..k * bs).map(|i| val(i, 2)).collect();
            let mut out = vec![f32::NAN; m * n];
            if !small_gemm(m, n, k, &a, &b, bs, &mut out) {
                eprintln!("no AVX-512 here: the kernel is not used, nothing to compare");
                return;
            }
            for i in 0..m {
                for j in 0..n {
                    let want =
                        (0..k).fold(0.0f32, |acc, p| a[i * k + p].mul_add(b[p * bs + j], acc));
                    assert_eq!(
                        out[i * n + j].to_bits(),
                        want.to_bits(),
                        "({i},{j}) of {m}x{n}x{k}"
                    );
                }
            }
        }
    }

    /// The output scatter (AVX-512 where available) against the scalar loop, bit for bit, for
    /// quad counts around the 16-tile step and value arrays longer than needed.
    #[test]
    fn interleave_matches_scalar() {
        for quads in 0..40 {
            let ys: Vec<Vec<f32>> = (0..4)
                .map(|l| (0..quads + 3).map(|k| val(k, l + 10)).collect())
                .collect();
            let yr: [&[f32]; 4] = std::array::from_fn(|l| ys[l].as_slice());
            let (mut fast, mut slow) = (vec![f32::NAN; 4 * quads], vec![f32::NAN; 4 * quads]);
            let bias = quads as f32 * 0.37 - 3.0;
            interleave4(yr, bias, &mut fast);
            interleave4_scalar(yr, bias, &mut slow);
            let want: Vec<f32> = (0..4 * quads).map(|i| ys[i % 4][i / 4] + bias).collect();
            assert_eq!(fast, want, "quads={quads}");
            assert_eq!(slow, want, "quads={quads}");
        }
    }

    /// Many geometries at once (a fixed pseudo-random sweep: 1–3 images, 8–19 channels in and
    /// out, 4–29 rows and columns, each pad 0–3, with and without bias) against the f64
    /// reference: tile rows and columns that end mid-tile, blocks of one to several tile rows,
    /// tile counts on both sides of the 16-lane vector, gathers reaching into every padding.
    #[test]
    fn random_geometries_match_f64_direct_conv() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % m as u64) as usize
        };
        let mut ran = 0;
        for case_no in 0..40 {
            let (n, c, co) = (1 + next(3), 8 + next(12), 8 + next(12));
            let (h, w) = (4 + next(26), 4 + next(26));
            let pads = [next(4), next(4), next(4), next(4)];
            let mut k = case(n, c, co, h, w, pads);
            let oh = h + pads[0] + pads[1] - 2;
            let ow = w + pads[2] + pads[3] - 2;
            if !super::applies((c, co), (3, 3), (oh, ow), [1, 1], [1, 1], 1) {
                continue;
            }
            let with_bias = case_no % 2 == 0;
            if !with_bias {
                k.b = Tensor::new(vec![co], vec![0.0; co]).unwrap();
            }
            let bias = with_bias.then(|| k.b.view());
            let got = conv2d(k.x.view(), k.w.view(), bias, &k.p).unwrap();
            assert_eq!(got.shape(), &[n, co, oh, ow]);
            let r = reference(&k, oh, ow);
            let err = got
                .data()
                .iter()
                .zip(&r)
                .map(|(&g, &e)| (f64::from(g) - e).abs())
                .fold(0.0, f64::max);
            let bound = 9.0 * c as f64 * 2e-6;
            assert!(
                err < bound,
                "case {case_no}: {n}x{c}->{co} {h}x{w} pads {pads:?}: err {err}"
            );
            ran += 1;
        }
        assert!(ran >= 35, "{ran} geometries ran");
    }

    /// Without a bias the result is written as `value + 0.0`: an all-zero input gives +0.0
    /// everywhere (the products are ±0.0), as the im2col path's zero-filled output does, and
    /// every element is written (the buffer starts uninitialised; NaN-free means written).
    #[test]
    fn no_bias_zero_input_gives_positive_zeros() {
        let x = Tensor::new(vec![2, 8, 7, 9], vec![0.0; 2 * 8 * 7 * 9]).unwrap();
        let w = Tensor::new(
            vec![11, 8, 3, 3],
            (0..792).map(|i| -val(i, 40).abs()).collect(),
        )
        .unwrap();
        let p = Conv2dParams {
            pads: [1, 1, 1, 1],
            ..Conv2dParams::default()
        };
        assert!(super::applies((8, 11), (3, 3), (7, 9), [1, 1], [1, 1], 1));
        let wino = conv2d(x.view(), w.view(), None, &p).unwrap();
        let direct = conv2d_with(x.view(), w.view(), None, &p, false).unwrap();
        assert_eq!(wino.shape(), &[2, 11, 7, 9]);
        assert!(wino.data().iter().all(|v| v.to_bits() == 0));
        assert!(direct.data().iter().all(|v| v.to_bits() == 0));
    }

    /// The per-thread transformed-weights cache is keyed by the weights' values: convs with
    /// different weights of the same shape, alternated on one thread, each get their own
    /// result (and the same result every time).
    #[test]
    fn weight_transform_cache_follows_the_weights() {
        let x = Tensor::new(vec![1, 8, 9, 9], (0..648).map(|i| val(i, 30)).collect()).unwrap();
        let w1 = Tensor::new(vec![8, 8, 3, 3], (0..576).map(|i| val(i, 31)).collect()).unwrap();
        let mut w2v: Vec<f32> = w1.data().to_vec();
        w2v[100] = -w2v[100]; // one weight differs
        let w2 = Tensor::new(vec![8, 8, 3, 3], w2v).unwrap();
        let p = Conv2dParams {
            strides: [1, 1],
            dilations: [1, 1],
            pads: [1, 1, 1, 1],
            groups: 1,
        };
        let run = |w: &Tensor| conv2d(x.view(), w.view(), None, &p).unwrap();
        let a1 = run(&w1);
        let b1 = run(&w2);
        let a2 = run(&w1);
        let b2 = run(&w2);
        assert_ne!(a1, b1);
        assert_eq!(a1, a2);
        assert_eq!(b1, b2);
        // And each equals a run on a fresh thread (empty cache).
        let fresh = |w: Tensor| {
            let (x, p) = (x.clone(), p);
            std::thread::spawn(move || conv2d(x.view(), w.view(), None, &p).unwrap())
                .join()
                .unwrap()
        };
        assert_eq!(fresh(w1.clone()), a1);
        assert_eq!(fresh(w2.clone()), b1);
    }
}
