//! Canned models: the two sample graphs of the original ANE notes (mdaiter/ane `sample.py`,
//! reference/knowledge-base.md §22), a transformer block and decoder stack in the ANE's
//! channel-first layout, and the benchmark graphs of reference/benchmarks.md §8.
//!
//! Weights are seeded random constants (materialised only when lowered or evaluated).

use crate::builder::{BuildError, Conv2d, GraphBuilder, PoolKind, Tensor};
use crate::graph::Graph;

/// The notes' `build_simple_cnn()`, with its dims as parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CnnConfig {
    /// `[N, C, H, W]`.
    pub input: [usize; 4],
    pub conv1: usize,
    pub conv2: usize,
    pub conv3: usize,
    pub fc1: usize,
    pub classes: usize,
}

impl CnnConfig {
    /// The notes' sizes: 3×224×224 → 64 → 128 → 256 channels, fc 200704 → 1024 → 1000.
    pub const NOTES: CnnConfig = CnnConfig {
        input: [1, 3, 224, 224],
        conv1: 64,
        conv2: 128,
        conv3: 256,
        fc1: 1024,
        classes: 1000,
    };

    /// The same topology small enough to execute in tests (3×32×32 input).
    pub const TINY: CnnConfig = CnnConfig {
        input: [1, 3, 32, 32],
        conv1: 8,
        conv2: 8,
        conv3: 16,
        fc1: 32,
        classes: 10,
    };
}

/// The notes' CNN: conv1 7×7/2 pad 3 → pool1 3×3/2 → conv2 3×3 pad 1 → conv3 3×3 pad 1 →
/// pool2 2×2/2 → flatten → fc1 → fc2 → softmax. No activations, as in the notes.
///
/// The notes compute pool outputs as `h // stride` whatever the kernel; a real 3×3/2 max pool
/// gives that only with padding 1 (112 → 56), so pool1 is padded by 1. The flatten is a
/// `reshape` layer the notes leave implicit.
pub fn notes_cnn(cfg: &CnnConfig) -> Result<Graph, BuildError> {
    let mut b = GraphBuilder::new();
    let x = b.input("image", &cfg.input);
    let c1 = b.conv2d_random(
        "conv1",
        x,
        cfg.conv1,
        7,
        false,
        Conv2d::default().stride(2).pad(3),
    )?;
    let p1 = b.pool2d("pool1", c1, PoolKind::Max, [3, 3], [2, 2], [1, 1, 1, 1])?;
    let c2 = b.conv2d_random("conv2", p1, cfg.conv2, 3, false, Conv2d::default().pad(1))?;
    let c3 = b.conv2d_random("conv3", c2, cfg.conv3, 3, false, Conv2d::default().pad(1))?;
    let p2 = b.pool2d("pool2", c3, PoolKind::Max, [2, 2], [2, 2], [0; 4])?;
    let features: usize = b.shape(p2).iter().skip(1).product();
    let flat = b.reshape("flatten", p2, &[cfg.input[0] as i64, features as i64])?;
    let f1 = b.linear_random("fc1", flat, cfg.fc1, true)?;
    let f2 = b.linear_random("fc2", f1, cfg.classes, true)?;
    let s = b.softmax("softmax", f2, -1)?;
    b.output(s);
    Ok(b.finish())
}

/// The notes' `build_transformer_attention()` dims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionConfig {
    pub seq: usize,
    pub heads: usize,
    pub head_dim: usize,
}

impl AttentionConfig {
    /// 8 heads × 64, sequence 512 (embed 512).
    pub const NOTES: AttentionConfig = AttentionConfig {
        seq: 512,
        heads: 8,
        head_dim: 64,
    };
    /// Small enough to execute in tests, and still lint-clean: both attention matmuls have an
    /// inner dimension of 32 (head_dim, then seq), a multiple of 32 as the ANE is reported to
    /// need (reference/private-api.md §10 #2).
    pub const TINY: AttentionConfig = AttentionConfig {
        seq: 32,
        heads: 2,
        head_dim: 32,
    };
}

/// The notes' attention block: `proj_qkv` linear (embed → 3·embed over `seq` rows) → SDPA over
/// `[1, heads, seq, head_dim]` → `proj_out` linear. The head split/merge (reshape, transpose,
/// slice) that the notes leave implicit are layers here.
pub fn notes_attention(cfg: &AttentionConfig) -> Result<Graph, BuildError> {
    let (s, h, d) = (cfg.seq, cfg.heads, cfg.head_dim);
    let e = h * d;
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[s, e]);
    let qkv = b.linear_random("proj_qkv", x, 3 * e, true)?;
    let split = b.reshape("qkv_heads", qkv, &[s as i64, 3, h as i64, d as i64])?;
    let heads = b.transpose("qkv_transpose", split, &[1, 2, 0, 3])?; // [3, h, s, d]
    let part = |b: &mut GraphBuilder, name: &str, i: i64| {
        b.slice(
            name,
            heads,
            &[i, 0, 0, 0],
            &[i + 1, h as i64, s as i64, d as i64],
        )
    };
    let q = part(&mut b, "q", 0)?;
    let k = part(&mut b, "k", 1)?;
    let v = part(&mut b, "v", 2)?;
    let a = b.scaled_dot_product_attention("attention", q, k, v, None, false)?;
    let merged = b.transpose("heads_merge", a, &[0, 2, 1, 3])?; // [1, s, h, d]
    let flat = b.reshape("attn_flat", merged, &[s as i64, e as i64])?;
    let out = b.linear_random("proj_out", flat, e, true)?;
    b.output(out);
    Ok(b.finish())
}

/// A transformer block / decoder in the ANE layout `[1, dim, 1, seq]` (Apple's
/// ml-ane-transformers style: every projection a 1×1 conv).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransformerConfig {
    pub dim: usize,
    pub heads: usize,
    /// FFN hidden size (SwiGLU).
    pub hidden: usize,
    pub seq: usize,
    pub layers: usize,
    /// Vocabulary size of the classifier; 0 for none.
    pub vocab: usize,
    pub causal: bool,
    pub rope: bool,
    pub rope_base: f32,
    pub norm_eps: f32,
}

impl TransformerConfig {
    /// Stories110M-like dims (dim 768, 12 heads, hidden 2048, seq 256, 12 layers, vocab 32000).
    pub const STORIES110M: TransformerConfig = TransformerConfig {
        dim: 768,
        heads: 12,
        hidden: 2048,
        seq: 256,
        layers: 12,
        vocab: 32000,
        causal: true,
        rope: true,
        rope_base: 10000.0,
        norm_eps: 1e-5,
    };
    /// Small enough to execute in tests; head_dim and seq are 32 so that the attention matmuls
    /// keep the multiple-of-32 inner dimension (lint-clean like the full size).
    pub const TINY: TransformerConfig = TransformerConfig {
        dim: 64,
        heads: 2,
        hidden: 128,
        seq: 32,
        layers: 2,
        vocab: 48,
        causal: true,
        rope: true,
        rope_base: 10000.0,
        norm_eps: 1e-5,
    };
}

/// One pre-norm block: `x + attn(rms(x))`, then `h + ffn(rms(h))`.
pub fn transformer_block_on(
    b: &mut GraphBuilder,
    prefix: &str,
    x: Tensor,
    cfg: &TransformerConfig,
) -> Result<Tensor, BuildError> {
    let (dim, heads, seq) = (cfg.dim, cfg.heads, cfg.seq);
    let hd = dim / heads.max(1);
    if hd * heads != dim {
        return Err(BuildError::Invalid {
            layer: "transformer_block",
            name: prefix.into(),
            reason: format!("dim {dim} is not a multiple of heads {heads}"),
        });
    }
    let n = |s: &str| format!("{prefix}_{s}");
    let g1 = b.random(&n("attn_norm_weight"), &[1, dim, 1, 1], 0.1);
    let xn = b.rms_norm(&n("attn_norm"), x, 1, Some(g1), cfg.norm_eps)?;
    let q = b.linear_conv_random(&n("wq"), xn, dim, false)?;
    let k = b.linear_conv_random(&n("wk"), xn, dim, false)?;
    let v = b.linear_conv_random(&n("wv"), xn, dim, false)?;
    let to_heads = |b: &mut GraphBuilder, t: Tensor, name: &str| -> Result<Tensor, BuildError> {
        let r = b.reshape(
            &n(&format!("{name}_heads")),
            t,
            &[1, heads as i64, hd as i64, seq as i64],
        )?;
        b.transpose(&n(&format!("{name}_t")), r, &[0, 1, 3, 2]) // [1, H, S, D]
    };
    let mut qh = to_heads(b, q, "q")?;
    let mut kh = to_heads(b, k, "k")?;
    let vh = to_heads(b, v, "v")?;
    if cfg.rope {
        qh = b.rope(&n("q_rope"), qh, cfg.rope_base)?;
        kh = b.rope(&n("k_rope"), kh, cfg.rope_base)?;
    }
    let a = b.scaled_dot_product_attention(&n("attn"), qh, kh, vh, None, cfg.causal)?;
    let at = b.transpose(&n("attn_t"), a, &[0, 1, 3, 2])?; // [1, H, D, S]
    let af = b.reshape(&n("attn_merge"), at, &[1, dim as i64, 1, seq as i64])?;
    let o = b.linear_conv_random(&n("wo"), af, dim, false)?;
    let h = b.add(&n("attn_residual"), x, o)?;
    let g2 = b.random(&n("ffn_norm_weight"), &[1, dim, 1, 1], 0.1);
    let hn = b.rms_norm(&n("ffn_norm"), h, 1, Some(g2), cfg.norm_eps)?;
    let w1 = b.linear_conv_random(&n("w1"), hn, cfg.hidden, false)?;
    let w3 = b.linear_conv_random(&n("w3"), hn, cfg.hidden, false)?;
    let act = b.silu(&n("silu"), w1)?;
    let gated = b.mul(&n("gate"), act, w3)?;
    let w2 = b.linear_conv_random(&n("w2"), gated, dim, false)?;
    b.add(&n("ffn_residual"), h, w2)
}

/// A single transformer block with input `x` `[1, dim, 1, seq]`.
pub fn transformer_block(cfg: &TransformerConfig) -> Result<Graph, BuildError> {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, cfg.dim, 1, cfg.seq]);
    let y = transformer_block_on(&mut b, "l0", x, cfg)?;
    b.output(y);
    Ok(b.finish())
}

/// `cfg.layers` blocks, a final RMSNorm and (when `vocab > 0`) a 1×1-conv classifier giving
/// logits `[1, vocab, 1, seq]`.
pub fn decoder(cfg: &TransformerConfig) -> Result<Graph, BuildError> {
    let mut b = GraphBuilder::new();
    let mut x = b.input("x", &[1, cfg.dim, 1, cfg.seq]);
    for l in 0..cfg.layers {
        x = transformer_block_on(&mut b, &format!("l{l}"), x, cfg)?;
    }
    let g = b.random("final_norm_weight", &[1, cfg.dim, 1, 1], 0.1);
    x = b.rms_norm("final_norm", x, 1, Some(g), cfg.norm_eps)?;
    if cfg.vocab > 0 {
        x = b.linear_conv_random("classifier", x, cfg.vocab, false)?;
    }
    b.output(x);
    Ok(b.finish())
}

/// A benchmark graph with its FLOP count (the formula of reference/benchmarks.md §8).
#[derive(Debug, Clone)]
pub struct BenchGraph {
    pub name: String,
    pub graph: Graph,
    /// FLOPs per evaluation (multiply-add = 2).
    pub flops: u64,
    /// Weight bytes as stored (fp16).
    pub weight_bytes: u64,
}

/// `inmem_peak`: `depth` 1×1 convs of `channels`×`channels` fp16 weights, no bias, on input
/// `[1, C, 1, spatial]`. FLOPs = 2·C²·S·depth.
pub fn conv_stack(channels: usize, depth: usize, spatial: usize) -> Result<BenchGraph, BuildError> {
    let mut b = GraphBuilder::new();
    let mut x = b.input("x", &[1, channels, 1, spatial]);
    for i in 0..depth {
        x = b.linear_conv_random(&format!("conv{i}"), x, channels, false)?;
    }
    b.output(x);
    let flops = 2 * (channels * channels * spatial * depth) as u64;
    Ok(BenchGraph {
        name: format!("conv_stack_c{channels}_d{depth}_s{spatial}"),
        graph: b.finish(),
        flops,
        weight_bytes: 2 * (channels * channels * depth) as u64,
    })
}

/// `sram_probe`: one 1×1 conv of `channels`² fp16 weights at `spatial`. FLOPs = 2·C²·S.
pub fn sram_probe(channels: usize, spatial: usize) -> Result<BenchGraph, BuildError> {
    let mut g = conv_stack(channels, 1, spatial)?;
    g.name = format!("sram_probe_c{channels}_s{spatial}");
    Ok(g)
}

/// The SRAM channel sweep of reference/benchmarks.md §10 (256 … 8192, with the 1536/2560/3584/
/// 4608 points), one graph per channel count.
pub const SRAM_SWEEP_CHANNELS: &[usize] = &[
    256, 512, 768, 1024, 1536, 2048, 2560, 3072, 3584, 4096, 4608, 5120, 6144, 8192,
];

pub fn sram_sweep(channels: &[usize], spatial: usize) -> Result<Vec<BenchGraph>, BuildError> {
    channels.iter().map(|&c| sram_probe(c, spatial)).collect()
}

/// One `matmul` of runtime inputs `[m, k] · [k, n]` (both operands are function inputs, so no
/// weights). FLOPs = 2·m·k·n.
pub fn matmul_bench(m: usize, k: usize, n: usize) -> Result<BenchGraph, BuildError> {
    let mut b = GraphBuilder::new();
    let x = b.input("a", &[m, k]);
    let y = b.input("b", &[k, n]);
    let z = b.matmul("matmul", x, y, false, false)?;
    b.output(z);
    Ok(BenchGraph {
        name: format!("matmul_{m}x{k}x{n}"),
        graph: b.finish(),
        flops: 2 * (m * k * n) as u64,
        weight_bytes: 0,
    })
}

/// Square matmuls `N×N·N×N` for each size (the blog's scaling runs). FLOPs = 2·N³ each.
pub fn matmul_sweep(sizes: &[usize]) -> Result<Vec<BenchGraph>, BuildError> {
    sizes.iter().map(|&n| matmul_bench(n, n, n)).collect()
}

/// The models `ane build` knows, by name, at their default (full) sizes.
pub const CANNED: &[&str] = &[
    "notes-cnn",
    "notes-cnn-tiny",
    "notes-attention",
    "notes-attention-tiny",
    "transformer-block",
    "transformer-block-tiny",
    "decoder",
    "decoder-tiny",
    "conv-stack",
    "sram-probe",
    "matmul",
];

/// Build a canned model by name (`CANNED`).
pub fn by_name(name: &str) -> Option<Result<Graph, BuildError>> {
    Some(match name {
        "notes-cnn" => notes_cnn(&CnnConfig::NOTES),
        "notes-cnn-tiny" => notes_cnn(&CnnConfig::TINY),
        "notes-attention" => notes_attention(&AttentionConfig::NOTES),
        "notes-attention-tiny" => notes_attention(&AttentionConfig::TINY),
        "transformer-block" => transformer_block(&TransformerConfig::STORIES110M),
        "transformer-block-tiny" => transformer_block(&TransformerConfig::TINY),
        "decoder" => decoder(&TransformerConfig::STORIES110M),
        "decoder-tiny" => decoder(&TransformerConfig::TINY),
        "conv-stack" => conv_stack(512, 128, 64).map(|b| b.graph),
        "sram-probe" => sram_probe(4096, 64).map(|b| b.graph),
        "matmul" => matmul_bench(2048, 2048, 2048).map(|b| b.graph),
        _ => return None,
    })
}
