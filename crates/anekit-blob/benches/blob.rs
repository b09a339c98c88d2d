//! Throughput of enumerating, decoding and writing blobs. Inputs are synthetic (deterministic
//! values), sized like a small real model: 4 MiB of fp16 and 1 Mi packed 3-/4-bit elements.
use anekit_blob::{BlobFile, BlobWriter};
use anekit_core::TensorData;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn sample_file() -> Vec<u8> {
    let n = 2 * 1024 * 1024;
    let mut w = BlobWriter::new();
    let f16: Vec<half::f16> = (0..n)
        .map(|i| half::f16::from_bits((i * 7919 % 0x7c00) as u16))
        .collect();
    w.add(&TensorData::F16(f16)).unwrap();
    w.add(&TensorData::U3(
        (0..1 << 20).map(|i| (i % 8) as u8).collect(),
    ))
    .unwrap();
    w.add(&TensorData::I4(
        (0..1 << 20).map(|i| (i % 16) as i8 - 8).collect(),
    ))
    .unwrap();
    w.finish()
}

fn bench(c: &mut Criterion) {
    let bytes = sample_file();
    let file = BlobFile::parse(&bytes).unwrap();
    let blobs: Vec<_> = file.blobs().map(Result::unwrap).collect();
    let mut g = c.benchmark_group("blob");
    g.throughput(Throughput::Bytes(blobs[0].size()));
    g.bench_function("decode_fp16_4MiB", |b| {
        b.iter(|| black_box(blobs[0].decode().unwrap()))
    });
    g.throughput(Throughput::Elements(blobs[1].element_count()));
    g.bench_function("decode_uint3_1Mi", |b| {
        b.iter(|| black_box(blobs[1].decode().unwrap()))
    });
    g.bench_function("decode_int4_1Mi", |b| {
        b.iter(|| black_box(blobs[2].decode().unwrap()))
    });
    let u3 = blobs[1].decode().unwrap();
    g.bench_function("encode_uint3_1Mi", |b| {
        b.iter(|| {
            let mut w = BlobWriter::new();
            black_box(w.add(&u3).unwrap())
        })
    });
    g.throughput(Throughput::Elements(3));
    g.bench_function("parse_and_enumerate", |b| {
        b.iter(|| BlobFile::parse(black_box(&bytes)).unwrap().blobs().count())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
