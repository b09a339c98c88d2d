//! Criterion benches of the heavy kernels (conventions: reference/benchmarks.md; note the
//! machine load next to any figure you record).
//!
//! - `gemm/1024`: 1024³ f32 matmul; throughput is reported in FLOP/s (2·n³ "elements").
//! - `conv/3x3_64_56`: 3×3 conv 64→64 on 1×64×56×56, pad 1 (2·64·576·3136 FLOP of direct
//!   work; it runs on the Winograd path, which does 4× fewer multiplications);
//!   `conv/3x3_64_56_im2col` the same conv on the im2col + GEMM path.
//! - `attention/256x768x12`: scaled_dot_product_attention, 12 heads × 64 dims, seq 256.
//!
//! Run: `cargo bench -p anekit-cpu --bench kernels`.

use anekit_cpu::attention::scaled_dot_product_attention;
use anekit_cpu::conv::{Conv2dParams, conv2d, conv2d_with};
use anekit_cpu::matmul::matmul;
use anekit_cpu::{Numerics, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

/// Deterministic pseudo-random values in [-1, 1) (an LCG: benches need data, not statistics).
fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tensor(shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(shape.to_vec(), data(n, seed)).expect("shape matches data")
}

fn benches(c: &mut Criterion) {
    let n = 1024;
    let a = tensor(&[n, n], 1);
    let b = tensor(&[n, n], 2);
    let mut g = c.benchmark_group("gemm");
    g.sample_size(20).measurement_time(Duration::from_secs(6));
    g.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    g.bench_function("1024", |bch| {
        bch.iter(|| matmul(black_box(a.view()), black_box(b.view()), false, false))
    });
    g.finish();

    let x = tensor(&[1, 64, 56, 56], 3);
    let w = tensor(&[64, 64, 3, 3], 4);
    let bias = tensor(&[64], 5);
    let p = Conv2dParams {
        pads: [1, 1, 1, 1],
        ..Conv2dParams::default()
    };
    let mut g = c.benchmark_group("conv");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(2 * 64 * 64 * 9 * 56 * 56));
    g.bench_function("3x3_64_56", |bch| {
        bch.iter(|| conv2d(black_box(x.view()), w.view(), Some(bias.view()), &p))
    });
    // The same conv on the im2col path (what 3×3 convs ran on before the Winograd path).
    g.bench_function("3x3_64_56_im2col", |bch| {
        bch.iter(|| conv2d_with(black_box(x.view()), w.view(), Some(bias.view()), &p, false))
    });
    g.finish();

    let (heads, seq, dh) = (12, 256, 64);
    let q = tensor(&[1, heads, seq, dh], 6);
    let k = tensor(&[1, heads, seq, dh], 7);
    let v = tensor(&[1, heads, seq, dh], 8);
    let mut g = c.benchmark_group("attention");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    // Two matmuls of 2·seq²·dh per head.
    g.throughput(Throughput::Elements((4 * heads * seq * seq * dh) as u64));
    for numerics in [Numerics::Exact, Numerics::Ane] {
        g.bench_function(format!("256x768x12/{}", numerics.name()), |bch| {
            bch.iter(|| {
                scaled_dot_product_attention(
                    black_box(q.view()),
                    k.view(),
                    v.view(),
                    None,
                    numerics,
                )
            })
        });
    }
    g.finish();
}

criterion_group!(kernels, benches);
criterion_main!(kernels);
