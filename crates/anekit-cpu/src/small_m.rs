//! `x · wᵀ` for a few rows of `x`: MIL `linear` on a short sequence (the FluidAudio streaming
//! encoder's 137 `linear`s take 17–19 or 87 rows of 512–4352 features against 512–2048-row
//! weights).
//!
//! The `gemm` crate ran the 17–19-row ones at 16–35 GFLOP/s (≈ 5–10 % of the FMA peak), the
//! 87-row ones at ~75: with so few rows its
//! packing and blocking cost more than the multiply-adds, which are fewer than the weight
//! elements read. This kernel reads each weight row once, in place (`w` is `[n, k]`, rows
//! contiguous, the layout `linear` stores), and dots it with every row of `x`, which stays in
//! L1: register blocks of 4 rows of `x` × 4 rows of `w`, 16 lanes along `k`.
//!
//! Each result is an f32 sum: lane `l` accumulates the products at `k ≡ l (mod 16)` in order
//! (FMA chains), then the 16 lanes are added pairwise, then the bias. The order differs from
//! the `gemm` crate's sequential chain; both are f32 accumulation, as the numerics contract
//! asks (docs/numerics.md). Each result is computed by one task, so it does not depend on the
//! number of threads.

/// Rows of `x` that take this path: from 2 (one row, a matrix-vector product, was as fast on
/// the `gemm` crate) up to 96 (at 128 rows the two were equal; 2 threads, alternated in one
/// process: 17×2048×512 1.03–1.23 → 0.54–0.60 ms, 17×512×2048 2.2 → 0.57–0.76 ms, 2×512×512
/// 0.39 → 0.05 ms, 32×768×768 0.92–1.03 → 0.31–0.39 ms, 64×768×768 1.0–1.4 → 0.68–0.94 ms,
/// 87×512×512 0.59–0.63 → 0.49–0.52 ms). Blocks of 6 rows of `x` instead of 4 measured slower.
pub(crate) const ROWS: std::ops::RangeInclusive<usize> = 2..=96;

/// Rows of `w` per parallel task: 64 rows × `k` floats (128 KiB at k = 512).
#[cfg(target_arch = "x86_64")]
const TASK_ROWS: usize = 64;

/// `out (m×n, row-major) = x (m×k) · wᵀ (w: n×k) (+ bias)`. Returns false (nothing written)
/// where it does not apply: `m` outside [`ROWS`], `k < 16`, slices too short, or a CPU without
/// AVX-512F; the caller then uses the general GEMM.
pub(crate) fn linear(
    m: usize,
    n: usize,
    k: usize,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> bool {
    let sizes_ok = m.checked_mul(k).is_some_and(|l| l <= x.len())
        && n.checked_mul(k).is_some_and(|l| l <= w.len())
        && m.checked_mul(n).is_some_and(|l| l <= out.len())
        && bias.is_none_or(|b| b.len() >= n);
    if !ROWS.contains(&m) || n == 0 || k < 16 || !sizes_ok {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if crate::par::has_avx512() {
        run(m, n, k, x, w, bias, out);
        return true;
    }
    false
}

#[cfg(target_arch = "x86_64")]
fn run(m: usize, n: usize, k: usize, x: &[f32], w: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    use rayon::prelude::*;
    // Each task computes the results of its weight rows for every row of x, as [rows][m]
    // (transposed), then they are put in place: parallel tasks cannot share out's rows.
    let tasks = n.div_ceil(TASK_ROWS);
    let parts: Vec<(usize, Vec<f32>)> = (0..tasks)
        .into_par_iter()
        .with_min_len(if m * n * k >= 1 << 18 { 1 } else { tasks })
        .map(|t| {
            let n0 = t * TASK_ROWS;
            let rows = TASK_ROWS.min(n - n0);
            let mut part = vec![0.0f32; rows * m];
            // SAFETY: AVX-512F was checked by `linear`; w holds rows n0..n0+rows of k floats,
            // x holds m rows of k floats (lengths checked by `linear`).
            #[allow(unsafe_code)]
            unsafe {
                rows_avx512(m, k, x, &w[n0 * k..(n0 + rows) * k], &mut part)
            };
            (n0, part)
        })
        .collect();
    for (n0, part) in parts {
        for (j, col) in part.chunks_exact(m).enumerate() {
            let b = bias.map_or(0.0, |b| b[n0 + j]);
            for (i, &v) in col.iter().enumerate() {
                out[i * n + n0 + j] = v + b;
            }
        }
    }
}

/// `part[j][i] = Σ_p x[i][p]·w[j][p]` for every row `j` of `w` (a task's rows) and `i < m`.
///
/// # Safety
/// AVX-512F; `x.len() ≥ m·k`, `w.len() = rows·k`, `part.len() = rows·m`, k ≥ 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
unsafe fn rows_avx512(m: usize, k: usize, x: &[f32], w: &[f32], part: &mut [f32]) {
    let rows = w.len() / k;
    let mut j = 0;
    while j < rows {
        let c = 4.min(rows - j);
        let mut i = 0;
        while i < m {
            let r = 4.min(m - i);
            let at = Dots {
                x: x[i * k..].as_ptr(),
                w: w[j * k..].as_ptr(),
                k,
            };
            // SAFETY: rows i..i+r of x and j..j+c of w exist (r ≤ m - i, c ≤ rows - j).
            let d: [[f32; 4]; 4] = unsafe {
                match (r, c) {
                    (4, 4) => dots::<4, 4>(at),
                    (4, 3) => dots::<4, 3>(at),
                    (4, 2) => dots::<4, 2>(at),
                    (4, _) => dots::<4, 1>(at),
                    (3, 4) => dots::<3, 4>(at),
                    (3, 3) => dots::<3, 3>(at),
                    (3, 2) => dots::<3, 2>(at),
                    (3, _) => dots::<3, 1>(at),
                    (2, 4) => dots::<2, 4>(at),
                    (2, 3) => dots::<2, 3>(at),
                    (2, 2) => dots::<2, 2>(at),
                    (2, _) => dots::<2, 1>(at),
                    (_, 4) => dots::<1, 4>(at),
                    (_, 3) => dots::<1, 3>(at),
                    (_, 2) => dots::<1, 2>(at),
                    (_, _) => dots::<1, 1>(at),
                }
            };
            for (jj, col) in part[j * m..].chunks_exact_mut(m).take(c).enumerate() {
                for (ii, v) in col[i..i + r].iter_mut().enumerate() {
                    *v = d[ii][jj];
                }
            }
            i += r;
        }
        j += c;
    }
}

/// Where a block of dot products starts: row 0 of the block in `x` and in `w`, both with row
/// stride `k`.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Dots {
    x: *const f32,
    w: *const f32,
    k: usize,
}

/// The `R × C` dot products of rows `x[0..R]` and `w[0..C]` (result `[r][c]`; unused entries
/// zero).
///
/// # Safety
/// AVX-512F; `R` rows of `x` and `C` rows of `w`, `k` floats each, readable from the pointers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
unsafe fn dots<const R: usize, const C: usize>(t: Dots) -> [[f32; 4]; 4] {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); C]; R];
    let whole = t.k / 16 * 16;
    let tail = crate::par::lane_mask(t.k - whole);
    // SAFETY (all loads): p + 16 ≤ whole ≤ k inside each row; the tail is masked to k.
    unsafe {
        let mut p = 0;
        while p < whole {
            let wv: [__m512; C] = std::array::from_fn(|c| _mm512_loadu_ps(t.w.add(c * t.k + p)));
            for (r, acc) in acc.iter_mut().enumerate() {
                let xv = _mm512_loadu_ps(t.x.add(r * t.k + p));
                for (acc, wv) in acc.iter_mut().zip(&wv) {
                    *acc = _mm512_fmadd_ps(xv, *wv, *acc);
                }
            }
            p += 16;
        }
        if whole < t.k {
            let wv: [__m512; C] =
                std::array::from_fn(|c| _mm512_maskz_loadu_ps(tail, t.w.add(c * t.k + p)));
            for (r, acc) in acc.iter_mut().enumerate() {
                let xv = _mm512_maskz_loadu_ps(tail, t.x.add(r * t.k + p));
                for (acc, wv) in acc.iter_mut().zip(&wv) {
                    *acc = _mm512_fmadd_ps(xv, *wv, *acc);
                }
            }
        }
    }
    let mut out = [[0.0f32; 4]; 4];
    for (o, acc) in out.iter_mut().zip(&acc) {
        for (o, acc) in o.iter_mut().zip(acc) {
            *o = _mm512_reduce_add_ps(*acc);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Against f64 sums, within the f32 accumulation bound: each result's error is at most
    /// (k/16 + 4 + 1)·2⁻²⁴·Σ|x·w| (a chain of k/16 FMAs per lane, a 4-level lane tree, the bias).
    /// (x86-64 only: elsewhere the path never applies, as `declines_what_it_is_not_for` and
    /// the general GEMM's tests cover.)
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn matches_f64_within_the_f32_accumulation_bound() {
        if !crate::par::has_avx512() {
            return; // the path does not apply; the general GEMM is tested elsewhere
        }
        // m at the range's ends and odd; k with and without a tail; n across 4-row blocks and
        // 64-row tasks.
        let shapes = [
            (2, 5, 16),
            (3, 64, 17),
            (17, 130, 512),
            (19, 67, 100),
            (64, 9, 33),
            (96, 70, 48),
            (5, 1, 4352),
        ];
        for (t, &(m, n, k)) in shapes.iter().enumerate() {
            let x = values(m * k, 3 * t as u64 + 1);
            let w = values(n * k, 3 * t as u64 + 2);
            let b = values(n, 3 * t as u64 + 3);
            for bias in [None, Some(&b[..])] {
                let mut out = vec![f32::NAN; m * n];
                assert!(
                    linear(m, n, k, &x, &w, bias, &mut out),
                    "{m}x{n}x{k} applies"
                );
                for i in 0..m {
                    for j in 0..n {
                        let (mut sum, mut abs) = (0.0f64, 0.0f64);
                        for p in 0..k {
                            let v = f64::from(x[i * k + p]) * f64::from(w[j * k + p]);
                            sum += v;
                            abs += v.abs();
                        }
                        let bj = bias.map_or(0.0, |b| f64::from(b[j]));
                        let bound = (k / 16 + 6) as f64 * 2f64.powi(-24) * (abs + bj.abs());
                        let got = f64::from(out[i * n + j]);
                        assert!(
                            (got - (sum + bj)).abs() <= bound,
                            "{m}x{n}x{k} [{i}][{j}]: {got} vs {} (bound {bound})",
                            sum + bj
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn declines_what_it_is_not_for() {
        let (x, w) = (vec![1.0f32; 97 * 32], vec![1.0f32; 4 * 32]);
        let mut out = vec![0.0f32; 97 * 4];
        // One row, 97 rows, k < 16, a short weight slice, a short bias.
        assert!(!linear(1, 4, 32, &x, &w, None, &mut out));
        assert!(!linear(97, 4, 32, &x, &w, None, &mut out));
        assert!(!linear(2, 4, 15, &x, &w, None, &mut out));
        assert!(!linear(2, 5, 32, &x, &w, None, &mut out));
        assert!(!linear(2, 4, 32, &x, &w, Some(&[0.0; 3]), &mut out));
        assert!(out.iter().all(|&v| v == 0.0), "nothing written");
    }
}
