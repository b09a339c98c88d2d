//! `validate.rs` with mimalloc as the global allocator: the same parse + build + validate of
//! the 630 KB FluidAudio streaming encoder, to show how much of the pipeline is glibc malloc.
//! The library itself does not set an allocator; docs/performance.md reports both figures.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FILE: &str = "FluidInference__FluidAudio/Models__ParakeetEOU__Streaming__1280ms__streaming_encoder.mlmodelc__model.mil";

fn bench(c: &mut Criterion) {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let src = std::fs::read_to_string(dir.join(FILE)).unwrap();
    let mut group = c.benchmark_group("streaming_encoder_mimalloc");
    group.throughput(Throughput::Bytes(src.len() as u64));
    group.bench_function("parse", |b| b.iter(|| anekit_mil::parse(&src).unwrap()));
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
