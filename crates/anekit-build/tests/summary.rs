//! The notes' sample graphs through the builder: shapes layer by layer, descriptor totals.

use anekit_build::models::{self, AttentionConfig, CnnConfig};
use anekit_build::summary::summarize;

#[test]
fn notes_cnn_reproduces_the_documented_shapes_layer_by_layer() {
    let g = models::notes_cnn(&CnnConfig::NOTES).unwrap();
    let s = summarize(&g);
    let rows: Vec<(&str, &str, Vec<usize>, Vec<usize>)> = s
        .layers
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.kind.as_str(),
                r.input_shapes[0].clone(),
                r.output_shape.clone(),
            )
        })
        .collect();
    // The shapes in the comments of mdaiter/ane sample.py `build_simple_cnn()`; the notes
    // write linear inputs as (1, features, 1, 1), we keep [1, features].
    let expected: Vec<(&str, &str, Vec<usize>, Vec<usize>)> = vec![
        (
            "conv1",
            "conv2d",
            vec![1, 3, 224, 224],
            vec![1, 64, 112, 112],
        ),
        (
            "pool1",
            "pool2d",
            vec![1, 64, 112, 112],
            vec![1, 64, 56, 56],
        ),
        ("conv2", "conv2d", vec![1, 64, 56, 56], vec![1, 128, 56, 56]),
        (
            "conv3",
            "conv2d",
            vec![1, 128, 56, 56],
            vec![1, 256, 56, 56],
        ),
        (
            "pool2",
            "pool2d",
            vec![1, 256, 56, 56],
            vec![1, 256, 28, 28],
        ),
        ("flatten", "reshape", vec![1, 256, 28, 28], vec![1, 200704]),
        ("fc1", "linear", vec![1, 200704], vec![1, 1024]),
        ("fc2", "linear", vec![1, 1024], vec![1, 1000]),
        ("softmax", "softmax", vec![1, 1000], vec![1, 1000]),
    ];
    assert_eq!(rows, expected);
    let conv1 = &s.layers[0];
    assert_eq!(conv1.kernel, Some(vec![7, 7]));
    assert_eq!(conv1.stride, Some(vec![2, 2]));
    assert_eq!(conv1.pad, Some(vec![3, 3, 3, 3]));
    // FLOPs = 2 · out elements · C_in · kH · kW; weights fp16.
    assert_eq!(conv1.flops, 2 * 64 * 112 * 112 * 3 * 7 * 7);
    assert_eq!(conv1.weight_bytes, 64 * 3 * 7 * 7 * 2);
    assert_eq!(s.layers[6].flops, 2 * 200704 * 1024);
    assert_eq!(s.layers[6].weight_bytes, (200704 * 1024 + 1024) * 2);
}

#[test]
fn notes_cnn_descriptor_total_follows_from_the_table() {
    let s = summarize(&models::notes_cnn(&CnnConfig::NOTES).unwrap());
    let sizes: Vec<u64> = s.layers.iter().map(|r| r.descriptor_bytes).collect();
    // Conv 176, Pool 96, Conv, Conv, Pool, Reshape 48, Linear 64, Linear, Softmax 48.
    assert_eq!(sizes, [176, 96, 176, 176, 96, 48, 64, 64, 48]);
    // The notes' eight layers (no flatten): 3·176 + 2·96 + 2·64 + 48 = 896, what their code
    // prints; their README's 680 is wrong. With the flatten as the reshape it is: 944.
    let notes_layers: u64 = s
        .layers
        .iter()
        .filter(|r| r.kind != "reshape")
        .map(|r| r.descriptor_bytes)
        .sum();
    assert_eq!(notes_layers, 896);
    assert_eq!(s.total_descriptor_bytes, 944);
    assert_eq!(s.layers.len(), 9);
    let text = s.to_string();
    assert!(text.contains("Total descriptor bytes: 944"));
    assert!(text.contains("conv1 (conv2d: conv2d)\n  Input:   (1, 3, 224, 224)\n  Output:  (1, 64, 112, 112)\n  Desc:    176 bytes (ANECConvLayerDesc)\n  Kernel:  7x7\n  Stride:  2x2\n  Pad:     3,3,3,3"));
}

#[test]
fn notes_attention_descriptor_total() {
    let s = summarize(&models::notes_attention(&AttentionConfig::NOTES).unwrap());
    let kinds: Vec<&str> = s.layers.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "linear",
            "reshape",
            "transpose",
            "slice",
            "slice",
            "slice",
            "sdpa",
            "transpose",
            "reshape",
            "linear"
        ]
    );
    assert_eq!(s.layers[0].input_shapes[0], vec![512, 512]);
    assert_eq!(s.layers[0].output_shape, vec![512, 1536]);
    assert_eq!(s.layers[6].input_shapes[0], vec![1, 8, 512, 64]);
    assert_eq!(s.layers[6].output_shape, vec![1, 8, 512, 64]);
    // The notes' three layers: 64 + 8 + 64 = 136.
    let notes: u64 = s
        .layers
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "linear" | "sdpa"))
        .map(|r| r.descriptor_bytes)
        .sum();
    assert_eq!(notes, 136);
    // Plus 2 reshapes (48) and 2 transposes (32); slices have no descriptor in the table.
    assert_eq!(s.total_descriptor_bytes, 136 + 2 * 48 + 2 * 32);
}

#[test]
fn bench_flop_counts_follow_the_benchmark_formulas() {
    // inmem_peak 128 x 512ch at spatial 64: 4.29 GFLOP, 64 MiB of weights (benchmarks.md §2.1).
    let b = models::conv_stack(512, 128, 64).unwrap();
    assert_eq!(b.flops, 4_294_967_296);
    assert_eq!(b.weight_bytes, 64 << 20);
    assert_eq!(summarize(&b.graph).total_flops, b.flops);
    assert_eq!(summarize(&b.graph).total_weight_bytes, b.weight_bytes);
    let p = models::sram_probe(4096, 64).unwrap();
    assert_eq!(p.flops, 2 * 4096 * 4096 * 64);
    assert_eq!(p.weight_bytes, 32 << 20);
    let m = models::matmul_bench(2048, 2048, 2048).unwrap();
    assert_eq!(m.flops, 2 * 2048u64.pow(3));
    assert_eq!(summarize(&m.graph).total_flops, m.flops);
    assert_eq!(
        models::sram_sweep(models::SRAM_SWEEP_CHANNELS, 64)
            .unwrap()
            .len(),
        14
    );
}
