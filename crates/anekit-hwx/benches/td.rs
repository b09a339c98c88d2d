//! Throughput of TD decode, field listing and re-encode. Input: a synthetic 64-TD H13 stream
//! built from the seven-command layout of reference hwx-td.md §2.3 (no corpus needed), chained
//! through NextPointer/NextSize like a real multi-TD program.
use anekit_hwx::disasm::field_values;
use anekit_hwx::regmap::Generation;
use anekit_hwx::td::decode_stream;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const TDS: usize = 64;
const STRIDE: usize = 0x300;
const BLOCKS: [(u32, u32); 7] = [
    (0x1F800, 62),
    (0x00000, 16),
    (0x13800, 28),
    (0x04800, 18),
    (0x08800, 4),
    (0x0C800, 5),
    (0x17800, 7),
];

fn stream() -> Vec<u8> {
    let mut out = vec![0u8; STRIDE * (TDS - 1) + 0x274];
    for i in 0..TDS {
        let last = i + 1 == TDS;
        let mut words: Vec<u32> = vec![0; 10];
        words[0] = if last { 0x0200_0000 } else { i as u32 };
        words[1] = if last { 0 } else { 0x009C_0000 };
        words[7] = if last { 0 } else { (STRIDE * (i + 1)) as u32 };
        words[8] = 0x0302_4025;
        for (address, count) in BLOCKS {
            words.push(((count - 1) << 26) | address);
            words.extend((0..count).map(|k| k.wrapping_mul(0x9E37_79B9) ^ i as u32));
        }
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        out[STRIDE * i..STRIDE * i + bytes.len()].copy_from_slice(&bytes);
    }
    out
}

fn bench(c: &mut Criterion) {
    let data = stream();
    let tds = decode_stream(&data, Generation::H13, Some(0x274)).unwrap();
    assert_eq!(tds.len(), TDS);
    let mut g = c.benchmark_group("td");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("decode_stream_64", |b| {
        b.iter(|| decode_stream(black_box(&data), Generation::H13, Some(0x274)).unwrap())
    });
    g.bench_function("field_values_64", |b| {
        b.iter(|| {
            for td in &tds {
                black_box(field_values(td).unwrap());
            }
        })
    });
    g.bench_function("encode_64", |b| {
        b.iter(|| {
            for td in &tds {
                black_box(td.encode());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
