//! A per-layer summary like the original notes' `SimpleANEGraph.summary()`: kind, input and
//! output shapes, kernel/stride/pad, the ANECompiler layer descriptor the layer maps to and its
//! size (reference/knowledge-base.md §1, a probed lower bound), FLOPs and weight bytes, with
//! totals.

use crate::graph::{Graph, LayerKind, ValueDef};
use std::fmt;

/// One row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SummaryRow {
    pub name: String,
    /// Layer kind as the knowledge base names it (`conv2d`, `pool2d`, `linear`, ...).
    pub kind: String,
    /// The op in words (`max_pool2d`, `depthwise_conv2d`, `gelu`, ...).
    pub detail: String,
    pub input_shapes: Vec<Vec<usize>>,
    pub output_shape: Vec<usize>,
    pub kernel: Option<Vec<usize>>,
    pub stride: Option<Vec<usize>>,
    pub pad: Option<Vec<usize>>,
    /// The ANECompiler descriptor struct, when the table has one for this kind.
    pub descriptor: Option<String>,
    /// Its size in bytes (0 without a descriptor).
    pub descriptor_bytes: u64,
    pub flops: u64,
    pub weight_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    pub layers: Vec<SummaryRow>,
    pub total_descriptor_bytes: u64,
    pub total_flops: u64,
    pub total_weight_bytes: u64,
}

/// The knowledge base's name for a layer kind.
pub fn kind_name(kind: LayerKind) -> &'static str {
    match kind {
        LayerKind::Conv => "conv2d",
        LayerKind::Pool => "pool2d",
        LayerKind::Linear => "linear",
        LayerKind::MatMul => "matmul",
        LayerKind::Softmax => "softmax",
        LayerKind::Sdpa => "sdpa",
        LayerKind::LayerNorm => "layer_norm",
        LayerKind::RmsNorm => "norm",
        LayerKind::BatchNorm => "batch_norm",
        LayerKind::Activation => "activation",
        LayerKind::Elementwise => "elementwise",
        LayerKind::Reshape => "reshape",
        LayerKind::Transpose => "transpose",
        LayerKind::Concat => "concat",
        LayerKind::Slice => "slice",
        LayerKind::Cast => "cast",
        LayerKind::Rope => "rope",
    }
}

/// The descriptor struct and size for a layer kind (`anekit_kb::descriptors`, the sizes of
/// reference/knowledge-base.md §1).
pub fn descriptor_for(kind: &str) -> Option<(&'static str, u64)> {
    anekit_kb::descriptors::for_layer(kind).map(|d| (d.name, u64::from(d.size)))
}

/// Map a MIL op (for graphs without builder layers, e.g. imported files) to a layer kind.
fn kind_of_op(op: &str) -> &'static str {
    match op {
        "conv" | "conv_transpose" => "conv2d",
        "max_pool" | "avg_pool" | "l2_pool" => "pool2d",
        "linear" => "linear",
        "matmul" => "matmul",
        "softmax" => "softmax",
        "scaled_dot_product_attention" => "sdpa",
        "layer_norm" => "layer_norm",
        "batch_norm" => "batch_norm",
        "l2_norm" | "instance_norm" => "norm",
        "relu" | "gelu" | "sigmoid" | "tanh" | "silu" | "elu" | "leaky_relu" | "exp" | "log"
        | "sqrt" | "rsqrt" => "activation",
        "reshape" => "reshape",
        "transpose" => "transpose",
        "concat" => "concat",
        "slice_by_index" | "slice_by_size" => "slice",
        "cast" => "cast",
        "reduce_sum" | "reduce_mean" | "reduce_max" | "reduce_min" => "reduction",
        "identity" => "identity",
        _ => "elementwise",
    }
}

/// Summarise `g`: its builder layers, or one row per op when it has none.
pub fn summarize(g: &Graph) -> Summary {
    let mut rows: Vec<SummaryRow> = if g.layers.is_empty() {
        g.nodes
            .iter()
            .map(|n| {
                let inputs = n
                    .uses()
                    .filter(|u| !matches!(g.value(*u).def, ValueDef::Const(_)))
                    .map(|u| g.shape(u).to_vec())
                    .collect();
                let weight_bytes = n
                    .uses()
                    .filter(|u| {
                        let v = g.value(*u);
                        matches!(v.def, ValueDef::Const(_))
                            && v.dtype.is_float()
                            && v.element_count() >= 10
                    })
                    .map(|u| g.weight_bytes(u))
                    .sum();
                SummaryRow {
                    name: n
                        .outputs
                        .first()
                        .map(|o| g.value(*o).name.clone())
                        .unwrap_or_default(),
                    kind: kind_of_op(&n.op).into(),
                    detail: n.op.clone(),
                    input_shapes: inputs,
                    output_shape: n
                        .outputs
                        .first()
                        .map(|o| g.shape(*o).to_vec())
                        .unwrap_or_default(),
                    kernel: None,
                    stride: None,
                    pad: None,
                    descriptor: None,
                    descriptor_bytes: 0,
                    flops: 0,
                    weight_bytes,
                }
            })
            .collect()
    } else {
        g.layers
            .iter()
            .map(|l| SummaryRow {
                name: l.name.clone(),
                kind: kind_name(l.kind).into(),
                detail: l.detail.clone(),
                input_shapes: l.input_shapes.clone(),
                output_shape: l.output_shape.clone(),
                kernel: l.kernel.clone(),
                stride: l.stride.clone(),
                pad: l.pad.clone(),
                descriptor: None,
                descriptor_bytes: 0,
                flops: l.flops,
                weight_bytes: l.weight_bytes,
            })
            .collect()
    };
    for r in &mut rows {
        if let Some((name, size)) = descriptor_for(&r.kind) {
            r.descriptor = Some(name.into());
            r.descriptor_bytes = size;
        }
    }
    Summary {
        total_descriptor_bytes: rows.iter().map(|r| r.descriptor_bytes).sum(),
        total_flops: rows.iter().map(|r| r.flops).sum(),
        total_weight_bytes: rows.iter().map(|r| r.weight_bytes).sum(),
        layers: rows,
    }
}

fn shape(s: &[usize]) -> String {
    let parts: Vec<String> = s.iter().map(usize::to_string).collect();
    format!("({})", parts.join(", "))
}

fn dims(s: &[usize], sep: &str) -> String {
    s.iter().map(usize::to_string).collect::<Vec<_>>().join(sep)
}

/// Human-readable count (`4.29 G`).
pub fn si(n: u64) -> String {
    let f = n as f64;
    match n {
        0..1_000 => format!("{n}"),
        1_000..1_000_000 => format!("{:.2} K", f / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} M", f / 1e6),
        _ => format!("{:.2} G", f / 1e9),
    }
}

impl fmt::Display for Summary {
    /// The layout of the notes' `summary()`, one block per layer, plus FLOPs and weights.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ANE Computation Graph")?;
        writeln!(f, "{}", "=".repeat(60))?;
        for r in &self.layers {
            writeln!(f)?;
            writeln!(f, "{} ({}: {})", r.name, r.kind, r.detail)?;
            let ins: Vec<String> = r.input_shapes.iter().map(|s| shape(s)).collect();
            writeln!(f, "  Input:   {}", ins.join(", "))?;
            writeln!(f, "  Output:  {}", shape(&r.output_shape))?;
            match &r.descriptor {
                Some(d) => writeln!(f, "  Desc:    {} bytes ({d})", r.descriptor_bytes)?,
                None => writeln!(f, "  Desc:    - (no descriptor in the table)")?,
            }
            if let Some(k) = &r.kernel {
                writeln!(f, "  Kernel:  {}", dims(k, "x"))?;
            }
            if let Some(s) = &r.stride {
                writeln!(f, "  Stride:  {}", dims(s, "x"))?;
            }
            if let Some(p) = &r.pad {
                writeln!(f, "  Pad:     {}", dims(p, ","))?;
            }
            writeln!(f, "  FLOPs:   {}", si(r.flops))?;
            if r.weight_bytes > 0 {
                writeln!(f, "  Weights: {} bytes", r.weight_bytes)?;
            }
        }
        writeln!(f)?;
        writeln!(f, "{}", "=".repeat(60))?;
        writeln!(f, "Total layers: {}", self.layers.len())?;
        writeln!(f, "Total descriptor bytes: {}", self.total_descriptor_bytes)?;
        writeln!(
            f,
            "Total FLOPs: {} ({})",
            self.total_flops,
            si(self.total_flops)
        )?;
        write!(f, "Total weight bytes: {}", self.total_weight_bytes)
    }
}
