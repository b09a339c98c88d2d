//! LZFSE decode throughput: anekit (`lzfse_rust` behind the header walk and limits) against the
//! reference C decoder (`lzfse` crate) on the same streams, made by the reference encoder.
//! Figures are recorded in docs/espresso.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn json_net(layers: usize) -> Vec<u8> {
    let mut s = String::from("{\n  \"layers\" : [\n");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..layers {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!(
            "    {{\n      \"name\" : \"sequential\\/conv{i}\\/BiasAdd\",\n      \"type\" : \"convolution\",\n      \"C\" : {},\n      \"K\" : {},\n      \"blob_weights\" : {}\n    }},\n",
            x % 512,
            (x >> 9) % 512,
            2 * i + 1
        ));
    }
    s.push_str("  ]\n}\n");
    s.into_bytes()
}

fn random(n: usize) -> Vec<u8> {
    let mut x: u64 = 42;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn reference_encode(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; data.len() + 4096];
    let n = lzfse::encode_buffer(data, &mut out).unwrap_or(0);
    out.truncate(n);
    out
}

fn bench(c: &mut Criterion) {
    let inputs = [
        ("json_3k", json_net(20)),
        ("json_130k", json_net(800)),
        ("json_4m", json_net(25_000)),
        ("random_1m", random(1 << 20)),
    ];
    let mut g = c.benchmark_group("lzfse_decode");
    for (name, input) in &inputs {
        let stream = reference_encode(input);
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_with_input(BenchmarkId::new("anekit", name), &stream, |b, s| {
            b.iter(|| anekit_espresso::lzfse::decode(black_box(s), 1 << 30).unwrap_or_default())
        });
        let mut out = vec![0u8; input.len() + 1];
        g.bench_with_input(BenchmarkId::new("reference_c", name), &stream, |b, s| {
            b.iter(|| lzfse::decode_buffer(black_box(s), &mut out).unwrap_or(0))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
