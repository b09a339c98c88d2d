//! Parse + build + validate the FluidAudio streaming encoder (630,085 bytes, 2977 lines) from
//! the corpus. Target: >= 150 MB/s in release on the development machine (docs/ir.md).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const FILE: &str = "FluidInference__FluidAudio/Models__ParakeetEOU__Streaming__1280ms__streaming_encoder.mlmodelc__model.mil";

fn bench(c: &mut Criterion) {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let src = std::fs::read_to_string(dir.join(FILE)).unwrap();
    let mut group = c.benchmark_group("streaming_encoder");
    group.throughput(Throughput::Bytes(src.len() as u64));
    group.bench_function("parse", |b| b.iter(|| anekit_mil::parse(&src).unwrap()));
    let ast = anekit_mil::parse(&src).unwrap();
    group.bench_function("build+validate", |b| b.iter(|| anekit_ir::build(&ast)));
    group.bench_function("parse+build+validate", |b| {
        b.iter(|| {
            let checked = anekit_ir::check(&src);
            assert!(checked.is_valid());
            checked
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
