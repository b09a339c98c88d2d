//! Load-independent throughput estimate for a shared machine.
//!
//! Wall-clock benches (criterion, `benches/kernels.rs`) understate the kernels when other
//! processes compete for the cores. This probe also measures the CPU time the process itself
//! consumed (`/proc/self/stat` utime + stime, Linux only) and reports FLOP per CPU-second, i.e.
//! the throughput of one fully owned core; × cores bounds what an idle machine would give.
//!
//! Run: `cargo run --release -p anekit-cpu --example cpu_time_probe`

use anekit_cpu::attention::scaled_dot_product_attention;
use anekit_cpu::conv::{Conv2dParams, conv2d};
use anekit_cpu::matmul::matmul;
use anekit_cpu::{Numerics, Tensor};
use std::time::Instant;

fn tensor(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    Tensor::new(shape.to_vec(), data).expect("shape matches data")
}

/// CPU seconds used by this process so far (user + system), or `None` off Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn measure(name: &str, flop: f64, min_secs: f64, mut f: impl FnMut()) {
    f(); // warm-up
    let (t0, c0) = (Instant::now(), cpu_seconds());
    let mut iters = 0u32;
    while t0.elapsed().as_secs_f64() < min_secs {
        f();
        iters += 1;
    }
    let wall = t0.elapsed().as_secs_f64() / f64::from(iters);
    let cpu = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) => (b - a) / f64::from(iters),
        _ => f64::NAN,
    };
    println!(
        "{name:<34} wall {:>8.2} ms  {:>7.1} GFLOP/s | cpu {:>8.2} ms  {:>7.1} GFLOP per CPU-s",
        wall * 1e3,
        flop / wall / 1e9,
        cpu * 1e3,
        flop / cpu / 1e9
    );
}

fn main() {
    let threads = rayon::current_num_threads();
    println!("rayon threads: {threads}");
    let (a, b) = (tensor(&[1024, 1024]), tensor(&[1024, 1024]));
    measure("gemm 1024^3", 2.0 * 1024f64.powi(3), 3.0, || {
        matmul(a.view(), b.view(), false, false).expect("valid shapes");
    });
    let x = tensor(&[1, 64, 56, 56]);
    let w = tensor(&[64, 64, 3, 3]);
    let bias = tensor(&[64]);
    let p = Conv2dParams {
        pads: [1, 1, 1, 1],
        ..Conv2dParams::default()
    };
    measure(
        "conv 3x3 64->64 56x56",
        2.0 * 64.0 * 576.0 * 3136.0,
        3.0,
        || {
            conv2d(x.view(), w.view(), Some(bias.view()), &p).expect("valid shapes");
        },
    );
    let q = tensor(&[1, 12, 256, 64]);
    for numerics in [Numerics::Exact, Numerics::Ane] {
        measure(
            &format!("attention 256x768x12 ({})", numerics.name()),
            4.0 * 12.0 * 256.0 * 256.0 * 64.0,
            3.0,
            || {
                scaled_dot_product_attention(q.view(), q.view(), q.view(), None, numerics)
                    .expect("valid shapes");
            },
        );
    }
}
