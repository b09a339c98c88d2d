//! FLOP and size formulas, one function per benchmark graph family (reference/benchmarks.md §8).
//!
//! A multiply-add counts as 2 FLOPs. Sizes in "MB" are MiB (2²⁰ bytes), as in the published
//! files (128 × 512² fp16 weights = 64 MB). The test `published_figures` checks that these
//! formulas reproduce the published TFLOPS from the published times.

/// Bytes per fp16 weight.
pub const FP16_BYTES: u64 = 2;
const MIB: f64 = (1u64 << 20) as f64;

/// `inmem_peak`: `depth` 1×1 convs of C×C weights on `[1, C, 1, S]`: 2·C²·S·depth.
pub fn conv_stack_flops(channels: u64, depth: u64, spatial: u64) -> u64 {
    2 * channels * channels * spatial * depth
}

/// `inmem_peak` weight size: depth·C² fp16 weights, in MiB.
pub fn conv_stack_weight_mb(channels: u64, depth: u64) -> f64 {
    (depth * channels * channels * FP16_BYTES) as f64 / MIB
}

/// `sram_probe`: one 1×1 conv of C×C weights at spatial S: 2·C²·S.
pub fn sram_probe_flops(channels: u64, spatial: u64) -> u64 {
    conv_stack_flops(channels, 1, spatial)
}

/// `sram_probe` weight size: C² fp16 weights, in MiB.
pub fn sram_probe_weight_mb(channels: u64) -> f64 {
    conv_stack_weight_mb(channels, 1)
}

/// One matmul `[m, k] · [k, n]`: 2·m·k·n (square N: 2·N³).
pub fn matmul_flops(m: u64, k: u64, n: u64) -> u64 {
    2 * m * k * n
}

/// Throughput in TFLOPS of `flops` done in `ms` milliseconds.
pub fn tflops(flops: u64, ms: f64) -> f64 {
    flops as f64 / (ms * 1e9)
}

/// GFLOP per evaluation.
pub fn gflop(flops: u64) -> f64 {
    flops as f64 / 1e9
}

/// Weight efficiency: GFLOPS per MB of weights (the files' `gflops_per_mb`).
pub fn gflops_per_mb(flops: u64, ms: f64, weight_mb: f64) -> f64 {
    tflops(flops, ms) * 1e3 / weight_mb
}

/// The published files' spill rule: the first channel count (ascending) whose TFLOPS falls
/// below 60 % of the best TFLOPS of the smaller channel counts; `None` when none does.
pub fn sram_spill_start(rows: &[(u32, f64)]) -> Option<u32> {
    let mut sorted = rows.to_vec();
    sorted.sort_by_key(|&(c, _)| c);
    let mut best = 0.0f64;
    for (channels, tflops) in sorted {
        if best > 0.0 && tflops < best * 0.6 {
            return Some(channels);
        }
        best = best.max(tflops);
    }
    None
}

/// Whether `published` (rounded to `decimals`) is what `value(ms)` gives for some time that
/// rounds to `published_ms` (3 decimals): the published figure is reproduced "to the published
/// rounding". `value` must be monotonic in the time.
pub fn reproduces(
    published: f64,
    decimals: i32,
    published_ms: f64,
    value: impl Fn(f64) -> f64,
) -> bool {
    let half_unit = 0.5 * 10f64.powi(-decimals);
    let a = value(published_ms - 0.0005);
    let b = value(published_ms + 0.0005);
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    // 1e-9 absorbs the binary representation of the decimal figures.
    published + half_unit + 1e-9 >= lo && published - half_unit - 1e-9 <= hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_match_the_worked_examples_of_benchmarks_md() {
        // 2·512²·64·128 = 4.29 GFLOP; 128 × 512² fp16 = 64 MB; 4096² fp16 = 32 MB.
        assert_eq!(conv_stack_flops(512, 128, 64), 4_294_967_296);
        assert_eq!(conv_stack_weight_mb(512, 128), 64.0);
        assert_eq!(sram_probe_weight_mb(4096), 32.0);
        assert_eq!(sram_probe_flops(256, 64), 8_388_608);
        assert_eq!(matmul_flops(2048, 2048, 2048), 2 * 2048u64.pow(3));
    }

    #[test]
    fn formulas_agree_with_anekit_build_graph_counts() {
        let g = anekit_build::models::conv_stack(64, 3, 16).unwrap();
        assert_eq!(g.flops, conv_stack_flops(64, 3, 16));
        assert_eq!(g.weight_bytes, 3 * 64 * 64 * FP16_BYTES);
        let s = anekit_build::models::sram_probe(96, 8).unwrap();
        assert_eq!(s.flops, sram_probe_flops(96, 8));
        let m = anekit_build::models::matmul_bench(3, 5, 7).unwrap();
        assert_eq!(m.flops, matmul_flops(3, 5, 7));
    }

    #[test]
    fn int8_and_fp16_readme_figures_reproduce_from_their_times() {
        // maderix/ANE README (benchmarks.md §3): 128×/64× conv 512ch at 64×64 (S = 4096);
        // TOPS to 1 decimal, ms to 1 decimal.
        let check = |depth: u64, tops: f64, ms: f64| {
            let f = conv_stack_flops(512, depth, 4096);
            let lo = tflops(f, ms + 0.05);
            let hi = tflops(f, ms - 0.05);
            assert!(
                tops + 0.05 >= lo && tops - 0.05 <= hi,
                "{depth} {tops} {ms}: {lo}..{hi}"
            );
        };
        check(128, 18.6, 14.8);
        check(128, 35.1, 7.8);
        check(64, 18.4, 7.5);
        check(64, 34.1, 4.0);
    }

    #[test]
    fn spill_rule() {
        // The M4 Max run 1 sweep (benchmarks.md §4): 3.97 at 3584, then 1.89 at 4096.
        let rows = [
            (2048, 1.31),
            (2560, 3.53),
            (3584, 3.97),
            (4096, 1.89),
            (8192, 1.02),
        ];
        assert_eq!(sram_spill_start(&rows), Some(4096));
        assert_eq!(sram_spill_start(&[(512, 0.14)]), None);
        // 60 % exactly is not a spill.
        assert_eq!(sram_spill_start(&[(1, 1.0), (2, 0.6)]), None);
    }

    #[test]
    fn reproduces_rejects_a_wrong_figure() {
        let f = conv_stack_flops(512, 128, 64);
        assert!(reproduces(11.14, 2, 0.385, |ms| tflops(f, ms)));
        assert!(!reproduces(11.30, 2, 0.385, |ms| tflops(f, ms)));
    }
}
