//! The cost model: predicted latency and utilisation of one evaluation of a program on a chip.
//!
//! Per op: FLOPs and weight bytes from the IR's shapes, then
//! `t_op = F / P_family + max(0, W - w0) / B × (spill_factor if W ≥ spill_threshold)`;
//! ops without a matrix product move their tensors at `B`; view ops (reshape, squeeze, ...) and
//! constants are free. Per program: `t = dispatch + Σ t_op`. The per-chip parameters are data
//! (`cost_params.json`), fitted by `scripts/fit_cost_model.py` on published measurements; see
//! docs/cost-model.md for the model, the fit and its held-out error. Unverified on hardware.

use crate::ir_util::{arg_tensor, result_type, tensor_bytes, weight_bytes};
use anekit_ir::Program;
use anekit_ir::ir::{Function, Op};
use anekit_ir::types::TensorType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

const MIB: f64 = 1024.0 * 1024.0;

/// The committed parameter file (written by scripts/fit_cost_model.py).
pub const PARAMS_JSON: &str = include_str!("cost_params.json");

/// Model-wide parameters.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Globals {
    /// Weight bytes an op reads without streaming (MiB).
    pub w0_mib: f64,
    /// Streaming slowdown once an op's weights reach the spill threshold.
    pub spill_factor: f64,
    /// matmul runs this many times slower than conv (blog claim, not fitted).
    pub matmul_slowdown: f64,
}

/// One chip's parameters.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ChipParams {
    /// Fixed cost of one evaluation (ms).
    pub dispatch_ms: f64,
    /// fp16 conv throughput (TFLOPS).
    pub conv_tflops: f64,
    /// Weight streaming / tensor bandwidth (GB/s).
    pub stream_gbps: Option<f64>,
    /// Weight bytes of one op from which streaming slows by `spill_factor` (MiB).
    pub spill_threshold_mib: f64,
    /// How the parameters were obtained (fitted, borrowed, scaled).
    pub calibration: String,
}

/// Where a held-out measurement comes from.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Locator {
    /// Path under `../shared/corpus/maderix-ane/`.
    pub file: String,
    /// JSON pointer to the value.
    pub pointer: String,
    /// `ms` (per evaluation) or `tflops` (of the benchmark graph).
    pub unit: String,
}

/// A published measurement the fit did not see.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HeldOut {
    pub chip: String,
    /// `sram`, `peak`, `sustained` or `dispatch`.
    pub kind: String,
    /// Benchmark graph: `depth` chained ops of `channels` × `channels` at `spatial` positions.
    pub depth: u64,
    pub channels: u64,
    pub spatial: u64,
    /// `conv` (1×1 conv chain) or `matmul` (one square matmul).
    pub family: String,
    pub source: String,
    pub evidence: String,
    /// For corpus measurements: where to read the value (the numbers are not copied here).
    pub locator: Option<Locator>,
    /// For measurements transcribed from the reference documents.
    pub measured_ms: Option<f64>,
    /// What the fitting script's own implementation of the model predicts.
    pub predicted_ms: f64,
    pub rel_error: f64,
}

/// Median and worst relative error.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ErrorSummary {
    pub n: usize,
    pub median: f64,
    pub worst: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HeldOutSummary {
    pub all: ErrorSummary,
    pub per_chip: BTreeMap<String, ErrorSummary>,
    pub per_kind: BTreeMap<String, ErrorSummary>,
}

/// The whole parameter file.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CostParams {
    pub generated_by: String,
    pub model: String,
    pub globals: Globals,
    pub chips: BTreeMap<String, ChipParams>,
    pub training: ErrorSummary,
    pub heldout_summary: HeldOutSummary,
    pub heldout: Vec<HeldOut>,
}

#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error("the committed cost parameters do not parse: {0}")]
    Params(String),
    #[error("no cost parameters for chip {0}")]
    NoChip(String),
}

static PARAMS: LazyLock<Result<CostParams, String>> =
    LazyLock::new(|| serde_json::from_str(PARAMS_JSON).map_err(|e| e.to_string()));

/// The committed parameters.
pub fn params() -> Result<&'static CostParams, CostError> {
    PARAMS.as_ref().map_err(|e| CostError::Params(e.clone()))
}

/// How an op is costed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// conv, conv_transpose, linear: `F / P`.
    Conv,
    /// matmul, einsum-free attention: `F × slowdown / P`.
    Matmul,
    /// Everything else that touches data: its tensors moved at the stream bandwidth.
    Vector,
    /// Constants and views (reshape, squeeze, expand_dims, identity, ...): free.
    Free,
}

/// What bounds an op's predicted time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    Compute,
    /// Streaming weights that do not fit the per-op buffer.
    Weights,
    /// Streaming weights beyond the spill threshold.
    Spill,
    /// Moving tensors (vector ops).
    Bandwidth,
    Free,
}

/// One op's prediction.
#[derive(Debug, Clone, Serialize)]
pub struct OpCost {
    pub function: String,
    pub name: String,
    pub kind: String,
    pub family: Family,
    pub flops: f64,
    pub weight_bytes: u64,
    pub time_ms: f64,
    pub bound: Bound,
    /// Achieved FLOPS over the chip's conv peak.
    pub utilisation: f64,
    /// Shapes were not fully known: the op is costed as free.
    pub unknown_shape: bool,
}

/// The prediction for one evaluation of the whole program.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramCost {
    pub chip: String,
    pub calibration: String,
    pub dispatch_ms: f64,
    pub ops: Vec<OpCost>,
    pub compute_ms: f64,
    pub latency_ms: f64,
    pub flops: f64,
    pub weight_bytes: u64,
    pub utilisation: f64,
    pub conv_tflops: f64,
}

const FREE_OPS: &[&str] = &[
    "const",
    "reshape",
    "squeeze",
    "expand_dims",
    "identity",
    "flatten2d",
    "reshape_like",
];

/// Extra FLOPs per output element for vector ops that do more than one operation per element
/// (only reported; vector ops are timed by bandwidth).
fn vector_flops_per_element(kind: &str) -> f64 {
    match kind {
        "softmax" | "layer_norm" | "batch_norm" | "instance_norm" | "l2_norm" | "rms_norm" => 5.0,
        "gelu" | "silu" | "sigmoid" | "tanh" | "erf" => 4.0,
        _ => 1.0,
    }
}

fn elements(t: &TensorType) -> Option<f64> {
    t.element_count().map(|n| n as f64)
}

fn product(dims: &[u64]) -> f64 {
    dims.iter().map(|&d| d as f64).product()
}

/// FLOPs of a conv-like or matmul-like op from its shapes; None when not fully known.
fn matrix_flops(program: &Program, func: &Function, op: &Op) -> Option<f64> {
    let input = |name: &str| {
        op.input(name)
            .and_then(|a| arg_tensor(program, func, a))
            .and_then(TensorType::known_shape)
    };
    let out = result_type(func, op, 0)?.tensor()?;
    let out_elems = elements(out)?;
    match op.kind.as_str() {
        // out[n, co, ...] = Σ over ci/groups and the kernel window: weight [co, ci/g, k...].
        "conv" => Some(2.0 * out_elems * product(input("weight")?.get(1..)?)),
        // every input element is scattered through weight [ci, co/g, k...].
        "conv_transpose" => {
            let x = input("x")?;
            Some(2.0 * product(&x) * product(input("weight")?.get(1..)?))
        }
        "linear" => Some(2.0 * out_elems * *input("x")?.last()? as f64),
        "matmul" => {
            let x = input("x")?;
            let transpose_x = op
                .input("transpose_x")
                .and_then(|a| crate::ir_util::arg_bool(program, func, a))
                .unwrap_or(false);
            let k = match (x.len(), transpose_x) {
                (0, _) => return None,
                (1, _) => *x.first()?,
                (n, false) => *x.get(n - 1)?,
                (n, true) => *x.get(n - 2)?,
            };
            Some(2.0 * out_elems * k as f64)
        }
        "scaled_dot_product_attention" => {
            let q = input("query")?;
            let k = input("key")?;
            let v = input("value")?;
            let (l, e) = (*q.get(q.len().checked_sub(2)?)?, *q.last()?);
            let s = *k.get(k.len().checked_sub(2)?)?;
            let ev = *v.last()?;
            let batch = product(q.get(..q.len() - 2)?);
            let (l, s, e, ev) = (l as f64, s as f64, e as f64, ev as f64);
            Some(batch * (2.0 * l * s * e + 2.0 * l * s * ev + 5.0 * l * s))
        }
        _ => None,
    }
}

fn family(kind: &str) -> Family {
    match kind {
        "conv" | "conv_transpose" | "linear" => Family::Conv,
        "matmul" | "scaled_dot_product_attention" => Family::Matmul,
        k if FREE_OPS.contains(&k) || k.starts_with("constexpr_") => Family::Free,
        _ => Family::Vector,
    }
}

/// Bytes an op reads and writes (its tensor inputs that are not compile-time weights, and its
/// results).
fn moved_bytes(program: &Program, func: &Function, op: &Op) -> Option<u64> {
    let mut total = 0u64;
    for input in &op.inputs {
        if crate::ir_util::is_compile_time(func, &input.arg) {
            continue;
        }
        if let Some(t) = arg_tensor(program, func, &input.arg) {
            total = total.checked_add(tensor_bytes(t)?)?;
        }
    }
    for i in 0..op.results.len() {
        if let Some(t) = result_type(func, op, i).and_then(|t| t.tensor()) {
            total = total.checked_add(tensor_bytes(t)?)?;
        }
    }
    Some(total)
}

/// Predict one evaluation of `program` (every function's ops, as one program) on `chip`.
pub fn estimate(program: &Program, chip: &str) -> Result<ProgramCost, CostError> {
    let p = params()?;
    let c = p
        .chips
        .get(chip)
        .ok_or_else(|| CostError::NoChip(chip.to_string()))?;
    let g = &p.globals;
    let peak = c.conv_tflops * 1e12;
    // GB/s → bytes per ms; no bandwidth means streaming is not modelled for this chip.
    let stream_bytes_per_ms = c.stream_gbps.map(|b| b * 1e9 / 1e3);
    let mut ops = Vec::new();
    for func in &program.functions {
        for op in &func.ops {
            let fam = family(&op.kind);
            let name = op.name.clone().unwrap_or_else(|| {
                op.results
                    .first()
                    .and_then(|r| func.value(*r))
                    .map(|v| v.name.clone())
                    .unwrap_or_default()
            });
            let w = weight_bytes(program, func, op);
            let mut cost = OpCost {
                function: func.name.clone(),
                name,
                kind: op.kind.clone(),
                family: fam,
                flops: 0.0,
                weight_bytes: w,
                time_ms: 0.0,
                bound: Bound::Free,
                utilisation: 0.0,
                unknown_shape: false,
            };
            match fam {
                Family::Free => {}
                Family::Conv | Family::Matmul => match matrix_flops(program, func, op) {
                    Some(f) => {
                        let slowdown = if fam == Family::Matmul {
                            g.matmul_slowdown
                        } else {
                            1.0
                        };
                        let compute = f * slowdown / peak * 1e3;
                        let w_mib = w as f64 / MIB;
                        let spilled = w_mib >= c.spill_threshold_mib;
                        let stream = match stream_bytes_per_ms {
                            Some(bw) => {
                                (w_mib - g.w0_mib).max(0.0) * MIB / bw
                                    * if spilled { g.spill_factor } else { 1.0 }
                            }
                            None => 0.0,
                        };
                        cost.flops = f;
                        cost.time_ms = compute + stream;
                        cost.bound = if stream <= compute {
                            Bound::Compute
                        } else if spilled {
                            Bound::Spill
                        } else {
                            Bound::Weights
                        };
                    }
                    None => cost.unknown_shape = true,
                },
                Family::Vector => {
                    let out = result_type(func, op, 0)
                        .and_then(|t| t.tensor())
                        .and_then(elements);
                    match (moved_bytes(program, func, op), out, stream_bytes_per_ms) {
                        (Some(bytes), Some(n), Some(bw)) => {
                            cost.flops = n * vector_flops_per_element(&op.kind);
                            cost.time_ms = bytes as f64 / bw;
                            cost.bound = Bound::Bandwidth;
                        }
                        _ => cost.unknown_shape = true,
                    }
                }
            }
            if cost.time_ms > 0.0 {
                cost.utilisation = cost.flops / (cost.time_ms / 1e3) / peak;
            }
            ops.push(cost);
        }
    }
    let compute_ms: f64 = ops.iter().map(|o| o.time_ms).sum();
    let latency_ms = c.dispatch_ms + compute_ms;
    let flops: f64 = ops.iter().map(|o| o.flops).sum();
    Ok(ProgramCost {
        chip: chip.to_string(),
        calibration: c.calibration.clone(),
        dispatch_ms: c.dispatch_ms,
        compute_ms,
        latency_ms,
        flops,
        weight_bytes: ops.iter().map(|o| o.weight_bytes).sum(),
        utilisation: if latency_ms > 0.0 {
            flops / (latency_ms / 1e3) / peak
        } else {
            0.0
        },
        conv_tflops: c.conv_tflops,
        ops,
    })
}
