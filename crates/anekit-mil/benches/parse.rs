//! Parse (and print) throughput on the largest real program in the corpus: FluidAudio's
//! streaming encoder `model.mil` (630 KB). Skips when the corpus is absent.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const ENCODER: &str = "FluidInference__FluidAudio/Models__ParakeetEOU__Streaming__1280ms__streaming_encoder.mlmodelc__model.mil";

fn bench(c: &mut Criterion) {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let Ok(src) = std::fs::read_to_string(dir.join(ENCODER)) else {
        eprintln!("SKIPPED: {ENCODER} not found in {}", dir.display());
        return;
    };
    let mut group = c.benchmark_group("mil");
    group.throughput(Throughput::Bytes(src.len() as u64));
    group.bench_function("parse_streaming_encoder", |b| {
        b.iter(|| anekit_mil::parse(black_box(&src)).map(|p| p.functions.len()))
    });
    let Ok(program) = anekit_mil::parse(&src) else {
        return;
    };
    group.bench_function("print_streaming_encoder", |b| {
        b.iter(|| {
            anekit_mil::print(black_box(&program), &anekit_mil::PrintOptions::default()).len()
        })
    });
    group.finish();
}

/// A program with one inline 2^18-element fp32 tensor (hex floats), as hand-written ANE
/// programs embed constants: exercises the flat-array path (no node per element).
fn bench_inline_tensor(c: &mut Criterion) {
    let n = 1 << 18;
    let mut values = String::new();
    for i in 0..n {
        if i > 0 {
            values.push_str(", ");
        }
        anekit_mil::write_hex_float(&mut values, f64::from(i as f32 * 0.37 - 1000.0));
    }
    let src = format!(
        "program(1.3)\n{{\n    func main<ios18>(tensor<fp32, [{n}]> x) {{\n            tensor<fp32, [{n}]> c = const()[name = string(\"c\"), val = tensor<fp32, [{n}]>([{values}])];\n        }} -> (c);\n}}"
    );
    let mut group = c.benchmark_group("mil");
    group.throughput(Throughput::Bytes(src.len() as u64));
    group.bench_function("parse_inline_tensor_256k", |b| {
        b.iter(|| anekit_mil::parse(black_box(&src)).map(|p| p.functions.len()))
    });
    group.finish();
}

criterion_group!(benches, bench, bench_inline_tensor);
criterion_main!(benches);
