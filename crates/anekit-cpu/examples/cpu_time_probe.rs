//! Load-independent throughput estimate for a shared machine.
//!
//! Wall-clock benches (criterion, `benches/kernels.rs`) understate the kernels when other
//! processes compete for the cores. This probe also measures the CPU time the process itself
//! consumed (the process CPU clock, Unix only) and reports FLOP per CPU-second, i.e.
//! the throughput of one fully owned core; × cores bounds what an idle machine would give.
//!
//! Run: `cargo run --release -p anekit-cpu --example cpu_time_probe`
//!
//! `cpu_time_probe --median gemm|conv REPS` instead prints, as JSON, the median wall time of
//! REPS runs after 3 warm-ups and the mean CPU time per run: the statistic
//! `benches/onnx/compare.py` takes for onnxruntime, so both sides are measured alike.
//!
//! `cpu_time_probe --fma-peak [THREADS]` measures the machine's f32 FMA ceiling instead of
//! deriving it from a nominal clock: each thread runs independent 512-bit FMA chains on
//! registers only (no memory traffic), and the JSON line gives GFLOP/s per thread and in total.
//! Every GFLOP/s figure in docs/performance.md is relative to this number.

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

/// CPU seconds used by this process so far (user + system, all threads), from the process
/// CPU clock (nanosecond resolution; `/proc/self/stat` counts 10 ms ticks, too coarse for 20
/// runs of a 1 ms kernel), or `None` where there is none.
#[cfg(unix)]
#[allow(unsafe_code)]
fn cpu_seconds() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

#[cfg(not(unix))]
fn cpu_seconds() -> Option<f64> {
    None
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

/// The benchmark GEMM (1024³) and conv (3×3 64→64 on 56×56, pad 1, bias), as closures.
fn kernels() -> (impl FnMut(), impl FnMut()) {
    let (a, b) = (tensor(&[1024, 1024]), tensor(&[1024, 1024]));
    let gemm = move || {
        matmul(a.view(), b.view(), false, false).expect("valid shapes");
    };
    let x = tensor(&[1, 64, 56, 56]);
    let w = tensor(&[64, 64, 3, 3]);
    let bias = tensor(&[64]);
    let p = Conv2dParams {
        pads: [1, 1, 1, 1],
        ..Conv2dParams::default()
    };
    let conv = move || {
        conv2d(x.view(), w.view(), Some(bias.view()), &p).expect("valid shapes");
    };
    (gemm, conv)
}

/// `--median KERNEL REPS`: median wall seconds of REPS runs after 3 warm-ups, and mean CPU
/// seconds per run, as one JSON line.
fn median(kernel: &str, reps: usize, mut f: impl FnMut()) {
    for _ in 0..3 {
        f();
    }
    let c0 = cpu_seconds();
    let mut ts: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    let cpu = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) => format!("{}", (b - a) / ts.len() as f64),
        _ => "null".to_string(),
    };
    ts.sort_by(f64::total_cmp);
    let n = ts.len();
    let med = if n % 2 == 1 {
        ts[n / 2]
    } else {
        (ts[n / 2 - 1] + ts[n / 2]) / 2.0
    };
    println!(r#"{{"kernel":"{kernel}","reps":{n},"median_s":{med},"cpu_s":{cpu}}}"#);
}

/// FMAs per thread per timed round: 16 chains (two ports × four cycles of latency, doubled) of
/// 16 lanes, `ROUND` times.
#[cfg(target_arch = "x86_64")]
const FMA_CHAINS: usize = 16;

/// Runs `rounds` × 16 × 16 fused multiply-adds on registers and returns a value depending on
/// all of them (so the optimiser keeps every one).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
fn fma_chains_avx512(rounds: u64) -> f32 {
    use std::arch::x86_64::{
        __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_reduce_add_ps, _mm512_set1_ps,
    };
    // a·x + b with a just below 1 and b small keeps every chain finite and normal.
    let a = _mm512_set1_ps(0.999_999);
    let b = _mm512_set1_ps(1e-7);
    let mut acc: [__m512; FMA_CHAINS] =
        std::array::from_fn(|i| _mm512_set1_ps(std::hint::black_box(i as f32)));
    for _ in 0..rounds {
        for v in &mut acc {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let sum = acc
        .iter()
        .fold(_mm512_set1_ps(0.0), |s, v| _mm512_add_ps(s, *v));
    _mm512_reduce_add_ps(sum)
}

/// `--fma-peak [THREADS]`: f32 FMA throughput of THREADS threads (default: rayon's), each
/// running register-only AVX-512 FMA chains for about half a second.
#[allow(unsafe_code)]
fn fma_peak(threads: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        const ROUNDS: u64 = 160_000_000;
        let flop_per_thread = ROUNDS as f64 * (FMA_CHAINS * 16 * 2) as f64;
        let t0 = Instant::now();
        let per_thread: Vec<f64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let t = Instant::now();
                        // SAFETY: AVX-512F was detected at run time just above.
                        std::hint::black_box(unsafe { fma_chains_avx512(ROUNDS) });
                        t.elapsed().as_secs_f64()
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let wall = t0.elapsed().as_secs_f64();
        let each: Vec<String> = per_thread
            .iter()
            .map(|t| format!("{:.1}", flop_per_thread / t / 1e9))
            .collect();
        println!(
            r#"{{"fma_peak_gflops":{:.1},"threads":{threads},"per_thread_gflops":[{}],"wall_s":{wall:.3}}}"#,
            flop_per_thread * threads as f64 / wall / 1e9,
            each.join(",")
        );
        return;
    }
    let _ = threads; // measured only where there is a kernel for it
    eprintln!("error: --fma-peak needs an x86-64 CPU with AVX-512F");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--fma-peak") {
        let threads = args
            .get(2)
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(rayon::current_num_threads);
        fma_peak(threads.max(1));
        return;
    }
    let (gemm, conv) = kernels();
    if args.get(1).map(String::as_str) == Some("--median") {
        let reps = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(20);
        match args.get(2).map(String::as_str) {
            Some("gemm") => median("gemm", reps, gemm),
            Some("conv") => median("conv", reps, conv),
            other => {
                eprintln!("error: --median takes gemm or conv, not {other:?}");
                std::process::exit(2);
            }
        }
        return;
    }
    let threads = rayon::current_num_threads();
    println!("rayon threads: {threads}");
    measure("gemm 1024^3", 2.0 * 1024f64.powi(3), 3.0, gemm);
    measure(
        "conv 3x3 64->64 56x56",
        2.0 * 64.0 * 576.0 * 3136.0,
        3.0,
        conv,
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
