//! Small helpers for rayon parallelism.
//!
//! Kernels split work only above a size threshold: below it, the fork/join overhead of rayon
//! (a few microseconds) costs more than the work, and small graphs are the common case in tests.

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Elements below which elementwise work stays on the calling thread.
pub(crate) const PAR_MIN_ELEMS: usize = 1 << 15;

/// Apply `f(chunk_index, chunk)` to consecutive `chunk`-sized pieces of `out`, in parallel when
/// the total work (`out.len() * cost_per_elem`) is large enough.
pub(crate) fn for_each_chunk<T: Send>(
    out: &mut [T],
    chunk: usize,
    cost_per_elem: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let chunk = chunk.max(1);
    if out.len().saturating_mul(cost_per_elem.max(1)) >= PAR_MIN_ELEMS && out.len() > chunk {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// Run `f` with AVX-512 code generation enabled when the CPU has it (else just run it).
///
/// The crate is compiled for baseline x86-64 (SSE2), so the loops of elementwise kernels
/// auto-vectorize only 4 lanes wide, and libm's rounding functions stay calls. Code inlined
/// into `f` here is compiled again with AVX-512F/VL/BW/DQ, AVX2, FMA and F16C, where LLVM
/// vectorizes the same loops 16 lanes wide. The arithmetic is the same IEEE f32 arithmetic
/// (Rust never contracts `a * b + c` into an FMA, and vectorization does not reassociate), so
/// results are bit-identical to the baseline build: only the instructions differ.
#[inline(always)]
pub(crate) fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c")]
        #[inline]
        fn wide<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: `wide` only requires the target features above, which `has_avx512` has
        // checked the CPU supports.
        #[allow(unsafe_code)]
        return unsafe { wide(f) };
    }
    f()
}

/// `$fast` (a `#[target_feature(enable = "avx512f")]` function written with intrinsics) when
/// the CPU has AVX-512F, else `$slow` (its portable twin with the same contract). Unlike
/// [`simd`], which compiles one body for AVX-512, the two are different functions. Used as a
/// function's tail expression: the fast branch returns from the enclosing function.
macro_rules! avx512_or {
    ($fast:expr, $slow:expr) => {{
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            #[allow(unsafe_code)]
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { $fast };
        }
        $slow
    }};
}
pub(crate) use avx512_or;

/// The mask enabling the first `count` (at most 16) lanes of a 16-lane AVX-512 operation.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn lane_mask(count: usize) -> std::arch::x86_64::__mmask16 {
    ((1u32 << count.min(16)) - 1) as std::arch::x86_64::__mmask16
}

/// Whether the CPU has the AVX-512 subsets [`simd`] compiles for (cached by `std`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("f16c")
}

/// A cursor over a piece of a not-yet-initialised output buffer: kernels append values in
/// order with [`Sink::extend`]. When the sink is dropped, whatever the kernel left unwritten is
/// filled with `T::default()`, so a buffer split entirely into sinks is fully initialised once
/// they have all been dropped, whatever the kernels did (even on an early return).
pub(crate) struct Sink<'a, T: Default> {
    buf: &'a mut [MaybeUninit<T>],
    /// `buf[..pos]` is initialised.
    pos: usize,
}

impl<'a, T: Default> Sink<'a, T> {
    pub(crate) fn new(buf: &'a mut [MaybeUninit<T>]) -> Self {
        Sink { buf, pos: 0 }
    }

    /// Append the values of `it`, as many as fit (the rest of `it` is not consumed).
    /// Written as a zip over the free slots so that LLVM vectorizes it for slice iterators.
    #[inline(always)]
    pub(crate) fn extend(&mut self, it: impl Iterator<Item = T>) {
        let free = self.buf.get_mut(self.pos..).unwrap_or_default();
        let mut k = 0;
        for (slot, v) in free.iter_mut().zip(it) {
            slot.write(v);
            k += 1;
        }
        self.pos += k;
    }

    /// Append a copy of `src` (as much as fits). Copied as 16-element arrays, which LLVM turns
    /// into vector moves even for short rows (a plain zip over a 56-float row ran entirely in
    /// the scalar remainder of a 64-wide vector loop).
    #[inline(always)]
    pub(crate) fn extend_from_slice(&mut self, src: &[T])
    where
        T: Copy,
    {
        let free = self.buf.get_mut(self.pos..).unwrap_or_default();
        let n = free.len().min(src.len());
        let (free, src) = (&mut free[..n], &src[..n]);
        let mut dst = free.chunks_exact_mut(16);
        let mut from = src.chunks_exact(16);
        for (d, s) in (&mut dst).zip(&mut from) {
            // As whole arrays: element-wise `write`s stayed 16 scalar moves.
            if let (Ok(d), Ok(s)) = (
                <&mut [MaybeUninit<T>; 16]>::try_from(d),
                <&[T; 16]>::try_from(s),
            ) {
                *d = s.map(MaybeUninit::new);
            }
        }
        for (slot, v) in dst.into_remainder().iter_mut().zip(from.remainder()) {
            slot.write(*v);
        }
        self.pos += n;
    }
}

impl<T: Default> Drop for Sink<'_, T> {
    fn drop(&mut self) {
        for slot in self.buf.get_mut(self.pos..).unwrap_or_default() {
            slot.write(T::default());
        }
    }
}

/// A `Vec` of `n` elements produced by `f(chunk_index, sink)` for consecutive `chunk`-sized
/// pieces (in parallel as [`for_each_chunk`] decides), without zero-filling it first: each
/// piece starts uninitialised and `f` appends its values through the [`Sink`]. Elements `f`
/// does not write are `T::default()`.
pub(crate) fn build<T: Copy + Default + Send>(
    n: usize,
    chunk: usize,
    cost_per_elem: usize,
    f: impl Fn(usize, &mut Sink<'_, T>) + Sync + Send,
) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    let spare = v.spare_capacity_mut();
    let m = n.min(spare.len());
    let spare = &mut spare[..m];
    for_each_chunk(spare, chunk, cost_per_elem, |ci, c| {
        f(ci, &mut Sink::new(c))
    });
    // SAFETY: `m ≤ capacity`, and each of the first `m` slots was initialised: every chunk of
    // `spare` (which together cover it) went to one sink, which initialised all its slots
    // (by `Sink::extend`, the rest when it was dropped). (If `f` panics, `v` is dropped with
    // length 0, and `T` is `Copy`, so nothing leaks or double-drops.)
    #[allow(unsafe_code)]
    unsafe {
        v.set_len(m)
    };
    v
}

/// A `Vec` of `n` elements made of `n / row` rows of `row` elements, produced by `f(r, sink)`
/// appending row `r`; rows are grouped into parallel tasks of at least ~8k elements ([`build`]
/// with whole rows per chunk). `f` returns false to end its task early: the task's remaining
/// rows are then `T::default()`, as anything a [`Sink`] leaves unwritten.
pub(crate) fn build_rows<T: Copy + Default + Send>(
    n: usize,
    row: usize,
    cost_per_elem: usize,
    f: impl Fn(usize, &mut Sink<'_, T>) -> bool + Sync + Send,
) -> Vec<T> {
    let row = row.max(1);
    let rows = n / row;
    let rows_per = (8192 / row).max(1);
    build(n, rows_per * row, cost_per_elem, |ci, sink| {
        for r in ci * rows_per..((ci + 1) * rows_per).min(rows) {
            if !f(r, sink) {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_writes_every_element_once_in_order() {
        for n in [0usize, 1, 7, 8192, 8193, 50_000] {
            let v = build(n, 1000, 4, |ci, sink| {
                sink.extend((ci * 1000..(ci + 1) * 1000).map(|i| i as u32));
            });
            assert_eq!(v, (0..n as u32).collect::<Vec<_>>());
        }
    }

    #[test]
    fn build_fills_what_a_kernel_leaves_unwritten() {
        // Too few values: the rest of the chunk is the default; too many: cut at the chunk.
        let v = build(10, 4, 1, |ci, sink| {
            if ci == 1 {
                sink.extend([5u8, 6].into_iter());
            } else {
                sink.extend_from_slice(&[9; 9]);
            }
        });
        assert_eq!(v, [9, 9, 9, 9, 5, 6, 0, 0, 9, 9]);
    }

    #[test]
    fn build_rows_runs_every_row_once_and_defaults_after_a_stop() {
        // 5000 rows of 3 (two tasks of 2730 rows): row r holds r, r, r.
        let v = build_rows(15_000, 3, 4, |r, sink| {
            sink.extend(std::iter::repeat_n(r as u32, 3));
            true
        });
        assert_eq!(v, (0..15_000u32).map(|i| i / 3).collect::<Vec<_>>());
        // Row 1 is written and then stops its task: rows 2 and 3 are defaults.
        let v = build_rows(12, 3, 1, |r, sink| {
            sink.extend_from_slice(&[7u8; 3]);
            r < 1
        });
        assert_eq!(v, [7, 7, 7, 7, 7, 7, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn dropped_sinks_initialise_their_whole_piece() {
        // A buffer split into sinks, some written partly, one not at all, one past its end:
        // every slot is a written value or the default once the sinks are dropped.
        let mut v: Vec<u16> = Vec::with_capacity(9);
        let spare = &mut v.spare_capacity_mut()[..9];
        let (a, rest) = spare.split_at_mut(4);
        let (b, c) = rest.split_at_mut(2);
        let mut sa = Sink::new(a);
        sa.extend([1u16, 2].into_iter());
        drop(sa);
        drop(Sink::new(b));
        let mut sc = Sink::new(c);
        sc.extend_from_slice(&[7, 8, 9, 10, 11]);
        drop(sc);
        // SAFETY: the three sinks covered slots 0..9 and have been dropped.
        #[allow(unsafe_code)]
        unsafe {
            v.set_len(9)
        };
        assert_eq!(v, [1, 2, 0, 0, 0, 0, 7, 8, 9]);
    }

    #[test]
    fn simd_runs_the_closure() {
        let xs: Vec<f32> = (0..100).map(|i| i as f32 * 0.37).collect();
        let plain: Vec<f32> = xs.iter().map(|v| v * 1.5 + 0.25).collect();
        let wide = simd(|| xs.iter().map(|v| v * 1.5 + 0.25).collect::<Vec<f32>>());
        assert_eq!(plain, wide);
    }
}
