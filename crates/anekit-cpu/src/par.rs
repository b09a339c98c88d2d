//! Small helpers for rayon parallelism.
//!
//! Kernels split work only above a size threshold: below it, the fork/join overhead of rayon
//! (a few microseconds) costs more than the work, and small graphs are the common case in tests.

use rayon::prelude::*;

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
