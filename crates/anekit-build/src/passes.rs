//! Optimisation passes over a [`Graph`] (builder graphs, and any MIL file through
//! [`crate::import`]). Each pass returns how many rewrites it made; every pass keeps function
//! output names (a replaced output value hands its name to its replacement).

use crate::eval::{const_array, eval_node};
use crate::graph::{ConstData, Graph, Node, Operand, TensorId, ValueDef};
use anekit_core::DType;

/// The passes, by name, with what they do.
pub const PASSES: &[(&str, &str)] = &[
    ("const-fold", "evaluate ops whose inputs are all constants"),
    ("dce", "remove ops whose results are never used"),
    (
        "conv-bn",
        "fold batch_norm (constant statistics) into the preceding conv",
    ),
    (
        "bias-fusion",
        "fold `add` of a per-channel constant into conv/linear bias",
    ),
    (
        "transpose-cancel",
        "merge transpose chains; drop identity permutations",
    ),
    (
        "reshape-cancel",
        "merge reshape chains; drop reshapes to the same shape",
    ),
    (
        "identity",
        "remove identity ops (except those producing function outputs)",
    ),
    (
        "div-to-mul",
        "real_div by a constant becomes mul by its reciprocal",
    ),
    (
        "linear-to-conv",
        "linear on [S, in] becomes a 1×1 conv in the [1, C, 1, S] layout",
    ),
];

/// The default pipeline of `ane opt`.
pub const DEFAULT_PIPELINE: &[&str] = &[
    "identity",
    "const-fold",
    "div-to-mul",
    "conv-bn",
    "bias-fusion",
    "transpose-cancel",
    "reshape-cancel",
    "dce",
];

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(
        "unknown pass `{0}` (known: const-fold, dce, conv-bn, bias-fusion, transpose-cancel, reshape-cancel, identity, div-to-mul, linear-to-conv)"
    )]
    Unknown(String),
    #[error("{pass}: {reason}")]
    Failed { pass: String, reason: String },
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PassReport {
    pub pass: String,
    pub rewrites: usize,
    pub ops_before: usize,
    pub ops_after: usize,
}

/// Run one pass; returns the number of rewrites.
pub fn run_pass(g: &mut Graph, name: &str) -> Result<usize, PassError> {
    let n = match name {
        "const-fold" => const_fold(g),
        "dce" => dce(g),
        "conv-bn" => conv_bn(g),
        "bias-fusion" => bias_fusion(g),
        "transpose-cancel" => transpose_cancel(g),
        "reshape-cancel" => reshape_cancel(g),
        "identity" => identity(g),
        "div-to-mul" => div_to_mul(g),
        "linear-to-conv" => linear_to_conv(g).map_err(|reason| PassError::Failed {
            pass: name.into(),
            reason,
        })?,
        other => return Err(PassError::Unknown(other.into())),
    };
    if name != "dce" {
        // Rewrites leave the replaced ops dead; remove them so the next pass sees a clean graph.
        dce(g);
    }
    // Builder layers no longer describe the ops after a rewrite.
    if n > 0 {
        g.layers.clear();
    }
    Ok(n)
}

/// Run `names` in order.
pub fn run_passes(g: &mut Graph, names: &[&str]) -> Result<Vec<PassReport>, PassError> {
    names
        .iter()
        .map(|p| {
            let before = g.nodes.len();
            let rewrites = run_pass(g, p)?;
            Ok(PassReport {
                pass: (*p).to_string(),
                rewrites,
                ops_before: before,
                ops_after: g.nodes.len(),
            })
        })
        .collect()
}

fn is_op_result(g: &Graph, v: TensorId) -> bool {
    matches!(g.value(v).def, ValueDef::Op { .. })
}

/// Replace `old` by `new` everywhere. When `old` is a function output and `new` is an op result
/// that is not, they swap names so the function's output names stay the same.
/// Returns false (and does nothing) when that is impossible: `old` is an output and `new` is an
/// input, a constant or already an output.
fn replace_value(g: &mut Graph, old: TensorId, new: TensorId) -> bool {
    if g.outputs.contains(&old) {
        if !is_op_result(g, new) || g.outputs.contains(&new) {
            return false;
        }
        let a = g.values[old.index()].name.clone();
        let b = std::mem::replace(&mut g.values[new.index()].name, a);
        g.values[old.index()].name = b;
    }
    g.replace_uses(old, new);
    true
}

fn is_const(g: &Graph, v: TensorId) -> bool {
    matches!(g.value(v).def, ValueDef::Const(_))
}

fn single_use(g: &Graph, counts: &[usize], v: TensorId) -> bool {
    counts.get(v.index()) == Some(&1) && !g.outputs.contains(&v)
}

/// The node consuming `v` (first in order).
fn consumer(g: &Graph, v: TensorId) -> Option<usize> {
    g.nodes.iter().position(|n| n.uses().any(|u| u == v))
}

fn new_const(
    g: &mut Graph,
    base: &str,
    dtype: DType,
    shape: &[usize],
    data: ConstData,
) -> TensorId {
    g.add_const(base, dtype, shape, data)
}

fn set_arg(node: &mut Node, name: &str, v: TensorId) {
    if let Some((_, a)) = node.args.iter_mut().find(|(n, _)| n == name) {
        *a = Operand::Value(v);
    } else {
        node.args.push((name.to_string(), Operand::Value(v)));
    }
}

pub fn dce(g: &mut Graph) -> usize {
    let mut counts = g.use_counts();
    let mut keep = vec![true; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate().rev() {
        if n.outputs.iter().all(|o| counts.get(o.index()) == Some(&0)) {
            keep[i] = false;
            for u in n.uses() {
                if let Some(c) = counts.get_mut(u.index()) {
                    *c = c.saturating_sub(1);
                }
            }
        }
    }
    let removed = keep.iter().filter(|k| !**k).count();
    if removed > 0 {
        let mut it = keep.iter();
        g.nodes.retain(|_| *it.next().unwrap_or(&true));
        g.reindex();
    }
    removed
}

pub fn const_fold(g: &mut Graph) -> usize {
    let mut folded = 0;
    for i in 0..g.nodes.len() {
        let node = g.nodes[i].clone();
        if node.outputs.len() != 1 || node.uses().any(|u| !is_const(g, u)) {
            continue;
        }
        let out = node.outputs[0];
        if g.value(out).element_count() > 1 << 20 {
            continue;
        }
        let Ok(mut results) = eval_node(g, &node, &mut |id| const_array(g, id)) else {
            continue;
        };
        let Some(result) = results.pop() else {
            continue;
        };
        let dtype = g.dtype(out);
        let data = if dtype.is_int() {
            ConstData::Ints(result.data.iter().map(|&x| x as i64).collect())
        } else if dtype == DType::Bool {
            ConstData::Bools(result.data.iter().map(|&x| x != 0.0).collect())
        } else {
            ConstData::Floats(result.data)
        };
        // The value becomes a constant; its op is dropped (an output keeps its name).
        g.values[out.index()].def = ValueDef::Const(data);
        g.nodes[i].outputs.clear();
        folded += 1;
    }
    if folded > 0 {
        g.nodes.retain(|n| !n.outputs.is_empty());
        g.reindex();
    }
    folded
}

pub fn identity(g: &mut Graph) -> usize {
    let mut n = 0;
    for i in 0..g.nodes.len() {
        if g.nodes[i].op != "identity" {
            continue;
        }
        let (Some(x), Some(&out)) = (g.nodes[i].arg("x"), g.nodes[i].outputs.first()) else {
            continue;
        };
        // Identities producing function outputs stay: the M1/M2 form requires them.
        if g.outputs.contains(&out) {
            continue;
        }
        if replace_value(g, out, x) {
            n += 1;
        }
    }
    n
}

pub fn div_to_mul(g: &mut Graph) -> usize {
    let mut n = 0;
    for i in 0..g.nodes.len() {
        if g.nodes[i].op != "real_div" {
            continue;
        }
        let Some(y) = g.nodes[i].arg("y") else {
            continue;
        };
        if !is_const(g, y) || !g.dtype(y).is_float() {
            continue;
        }
        let Some(vals) = const_array(g, y) else {
            continue;
        };
        if vals.data.contains(&0.0) {
            continue;
        }
        let recip: Vec<f32> = vals.data.iter().map(|v| 1.0 / v).collect();
        let name = format!("{}_reciprocal", g.value(y).name);
        let (dt, shape) = (g.dtype(y), g.shape(y).to_vec());
        let r = new_const(g, &name, dt, &shape, ConstData::Floats(recip));
        let node = &mut g.nodes[i];
        node.op = "mul".into();
        set_arg(node, "y", r);
        n += 1;
    }
    n
}

/// Per-output-channel values of a constant that broadcasts against `out_shape` only along
/// `axis` (e.g. `[C]`, `[1, C, 1, 1]`, `[C, 1, 1]` for a conv output).
fn per_channel(g: &Graph, c: TensorId, out_shape: &[usize], axis: usize) -> Option<Vec<f32>> {
    let shape = g.shape(c);
    let channels = *out_shape.get(axis)?;
    if shape.len() > out_shape.len() {
        return None;
    }
    let off = out_shape.len() - shape.len();
    for (i, &d) in shape.iter().enumerate() {
        let at = i + off;
        if d != 1 && at != axis {
            return None;
        }
        if at == axis && d != channels && d != 1 {
            return None;
        }
    }
    let vals = const_array(g, c)?.data;
    match vals.len() {
        1 => Some(vec![vals[0]; channels]),
        n if n == channels => Some(vals),
        _ => None,
    }
}

pub fn bias_fusion(g: &mut Graph) -> usize {
    let mut n = 0;
    for i in 0..g.nodes.len() {
        let op = g.nodes[i].op.clone();
        if op != "conv" && op != "linear" {
            continue;
        }
        let Some(&out) = g.nodes[i].outputs.first() else {
            continue;
        };
        let counts = g.use_counts();
        if !single_use(g, &counts, out) {
            continue;
        }
        let Some(j) = consumer(g, out) else { continue };
        if g.nodes[j].op != "add" {
            continue;
        }
        let (Some(x), Some(y)) = (g.nodes[j].arg("x"), g.nodes[j].arg("y")) else {
            continue;
        };
        let c = if x == out { y } else { x };
        if !is_const(g, c) || !g.dtype(c).is_float() {
            continue;
        }
        let out_shape = g.shape(out).to_vec();
        if g.shape(g.nodes[j].outputs[0]) != out_shape.as_slice() {
            continue;
        }
        let axis = if op == "conv" {
            1
        } else {
            out_shape.len().saturating_sub(1)
        };
        let Some(add) = per_channel(g, c, &out_shape, axis) else {
            continue;
        };
        let Some(w) = g.nodes[i].arg("weight") else {
            continue;
        };
        let old = match g.nodes[i].arg("bias") {
            Some(b) => match const_array(g, b) {
                Some(a) => a.data,
                None => continue,
            },
            None => vec![0.0; add.len()],
        };
        let bias: Vec<f32> = old.iter().zip(&add).map(|(a, b)| a + b).collect();
        let name = format!("{}_bias", g.value(out).name);
        let dt = g.dtype(w);
        let b = new_const(g, &name, dt, &[bias.len()], ConstData::Floats(bias));
        set_arg(&mut g.nodes[i], "bias", b);
        let add_out = g.nodes[j].outputs[0];
        if replace_value(g, add_out, out) {
            n += 1;
        }
    }
    n
}

pub fn conv_bn(g: &mut Graph) -> usize {
    let mut n = 0;
    for i in 0..g.nodes.len() {
        if g.nodes[i].op != "conv" {
            continue;
        }
        let Some(&out) = g.nodes[i].outputs.first() else {
            continue;
        };
        let counts = g.use_counts();
        if !single_use(g, &counts, out) {
            continue;
        }
        let Some(j) = consumer(g, out) else { continue };
        let bn = g.nodes[j].clone();
        if bn.op != "batch_norm" || bn.arg("x") != Some(out) {
            continue;
        }
        let get = |name: &str| {
            bn.arg(name)
                .filter(|v| is_const(g, *v))
                .and_then(|v| const_array(g, v))
        };
        let (Some(mean), Some(var)) = (get("mean"), get("variance")) else {
            continue;
        };
        let cout = mean.data.len();
        let gamma = get("gamma").map_or(vec![1.0; cout], |a| a.data);
        let beta = get("beta").map_or(vec![0.0; cout], |a| a.data);
        let eps = get("epsilon")
            .and_then(|a| a.data.first().copied())
            .unwrap_or(1e-5);
        let Some(w) = g.nodes[i].arg("weight").filter(|w| is_const(g, *w)) else {
            continue;
        };
        let Some(wa) = const_array(g, w) else {
            continue;
        };
        if wa.shape.first() != Some(&cout)
            || var.data.len() != cout
            || gamma.len() != cout
            || beta.len() != cout
        {
            continue;
        }
        let old_bias = match g.nodes[i].arg("bias") {
            Some(b) => match const_array(g, b) {
                Some(a) => a.data,
                None => continue,
            },
            None => vec![0.0; cout],
        };
        let scale: Vec<f32> = (0..cout)
            .map(|c| gamma[c] / (var.data[c] + eps).sqrt())
            .collect();
        let per = wa.data.len() / cout.max(1);
        let new_w: Vec<f32> = wa
            .data
            .iter()
            .enumerate()
            .map(|(k, v)| v * scale[k / per.max(1)])
            .collect();
        let new_b: Vec<f32> = (0..cout)
            .map(|c| (old_bias[c] - mean.data[c]) * scale[c] + beta[c])
            .collect();
        let (dt, wshape) = (g.dtype(w), wa.shape.clone());
        let wname = format!("{}_weight_bn", g.value(out).name);
        let bname = format!("{}_bias_bn", g.value(out).name);
        let nw = new_const(g, &wname, dt, &wshape, ConstData::Floats(new_w));
        let nb = new_const(g, &bname, dt, &[cout], ConstData::Floats(new_b));
        set_arg(&mut g.nodes[i], "weight", nw);
        set_arg(&mut g.nodes[i], "bias", nb);
        let bn_out = bn.outputs[0];
        if replace_value(g, bn_out, out) {
            n += 1;
        }
    }
    n
}

fn const_perm(g: &Graph, node: &Node) -> Option<Vec<usize>> {
    let p = g.const_ints(node.arg("perm")?)?;
    let r = p.len() as i64;
    Some(p.iter().map(|&x| x.rem_euclid(r.max(1)) as usize).collect())
}

pub fn transpose_cancel(g: &mut Graph) -> usize {
    let mut n = 0;
    for i in 0..g.nodes.len() {
        if g.nodes[i].op != "transpose" {
            continue;
        }
        let Some(t1) = g.nodes[i].arg("x") else {
            continue;
        };
        let Some(first) = g.producer(t1).cloned() else {
            continue;
        };
        if first.op != "transpose" {
            continue;
        }
        let (Some(p1), Some(p2), Some(x0)) = (
            const_perm(g, &first),
            const_perm(g, &g.nodes[i]),
            first.arg("x"),
        ) else {
            continue;
        };
        if p1.len() != p2.len() {
            continue;
        }
        let composed: Vec<usize> = p2.iter().map(|&k| p1[k]).collect();
        let out = g.nodes[i].outputs[0];
        if composed.iter().enumerate().all(|(a, &b)| a == b) {
            if replace_value(g, out, x0) {
                n += 1;
            }
        } else {
            let name = format!("{}_perm", g.value(out).name);
            let p = new_const(
                g,
                &name,
                DType::Int32,
                &[composed.len()],
                ConstData::Ints(composed.iter().map(|&v| v as i64).collect()),
            );
            let node = &mut g.nodes[i];
            set_arg(node, "x", x0);
            set_arg(node, "perm", p);
            n += 1;
        }
    }
    n
}

pub fn reshape_cancel(g: &mut Graph) -> usize {
    let mut n = 0;
    for i in 0..g.nodes.len() {
        if g.nodes[i].op != "reshape" {
            continue;
        }
        let Some(x) = g.nodes[i].arg("x") else {
            continue;
        };
        let out = g.nodes[i].outputs[0];
        // Follow a chain of reshapes to its source.
        let mut src = x;
        while let Some(p) = g.producer(src) {
            if p.op != "reshape" {
                break;
            }
            match p.arg("x") {
                Some(s) => src = s,
                None => break,
            }
        }
        if g.shape(src) == g.shape(out) {
            if replace_value(g, out, src) {
                n += 1;
            }
        } else if src != x {
            set_arg(&mut g.nodes[i], "x", src);
            n += 1;
        }
    }
    n
}

/// `linear(x [S, in], W [out, in], b)` → transpose → reshape `[1, in, 1, S]` → 1×1 conv →
/// reshape `[out, S]` → transpose `[S, out]`. Rank-3 `[1, S, in]` inputs are handled by an extra
/// reshape on each side.
pub fn linear_to_conv(g: &mut Graph) -> Result<usize, String> {
    let mut n = 0;
    let mut i = 0;
    while i < g.nodes.len() {
        let node = g.nodes[i].clone();
        i += 1;
        if node.op != "linear" {
            continue;
        }
        let (Some(x), Some(w), Some(&out)) =
            (node.arg("x"), node.arg("weight"), node.outputs.first())
        else {
            continue;
        };
        if !is_const(g, w) {
            continue;
        }
        let xs = g.shape(x).to_vec();
        let (s, inf) = match xs.as_slice() {
            [s, k] => (*s, *k),
            [1, s, k] => (*s, *k),
            _ => continue,
        };
        let Some(wa) = const_array(g, w) else {
            continue;
        };
        let outf = wa.shape[0];
        let base = g.value(out).name.clone();
        let start = g.nodes.len();
        let err = |e: crate::graph::ShapeError| e.to_string();
        let ints = |g: &mut Graph, name: &str, v: &[i64]| {
            g.add_const(name, DType::Int32, &[v.len()], ConstData::Ints(v.to_vec()))
        };
        // `{base}_{op_name} = op(x, param = {base}_{const_name})`, the param an int32 constant:
        // the reshapes and transposes around the conv.
        let shaped = |g: &mut Graph,
                      op: &str,
                      x: TensorId,
                      (param, const_name, v): (&str, &str, &[i64]),
                      op_name: &str|
         -> Result<TensorId, String> {
            let c = ints(g, &format!("{base}_{const_name}"), v);
            let args = vec![
                ("x".into(), Operand::Value(x)),
                (param.into(), Operand::Value(c)),
            ];
            Ok(g.add_op(op, args, &format!("{base}_{op_name}"), None)
                .map_err(err)?[0])
        };
        let (s64, in64, out64) = (s as i64, inf as i64, outf as i64);
        let mut cur = x;
        if xs.len() == 3 {
            cur = shaped(
                g,
                "reshape",
                cur,
                ("shape", "in2d_shape", &[s64, in64]),
                "in2d",
            )?;
        }
        cur = shaped(g, "transpose", cur, ("perm", "in_perm", &[1, 0]), "in_t")?;
        cur = shaped(
            g,
            "reshape",
            cur,
            ("shape", "in4d_shape", &[1, in64, 1, s64]),
            "in4d",
        )?;
        let dt = g.dtype(w);
        let w4 = g.add_const(
            &format!("{base}_conv_weight"),
            dt,
            &[outf, inf, 1, 1],
            ConstData::Floats(wa.data.clone()),
        );
        let mut args = vec![
            ("x".to_string(), Operand::Value(cur)),
            ("weight".to_string(), Operand::Value(w4)),
        ];
        for (pname, v) in [
            ("strides", vec![1, 1]),
            ("pad", vec![0, 0, 0, 0]),
            ("dilations", vec![1, 1]),
        ] {
            let c = ints(g, &format!("{base}_{pname}"), &v);
            args.push((pname.into(), Operand::Value(c)));
        }
        let gr = g.add_const(
            &format!("{base}_groups"),
            DType::Int32,
            &[],
            ConstData::Ints(vec![1]),
        );
        let pt = g.add_const(
            &format!("{base}_pad_type"),
            DType::String,
            &[],
            ConstData::Str("valid".into()),
        );
        args.push(("groups".into(), Operand::Value(gr)));
        args.push(("pad_type".into(), Operand::Value(pt)));
        if let Some(b) = node.arg("bias") {
            args.push(("bias".into(), Operand::Value(b)));
        }
        cur = g
            .add_op("conv", args, &format!("{base}_conv"), None)
            .map_err(err)?[0];
        cur = shaped(
            g,
            "reshape",
            cur,
            ("shape", "out2d_shape", &[out64, s64]),
            "out2d",
        )?;
        cur = shaped(g, "transpose", cur, ("perm", "out_perm", &[1, 0]), "out_t")?;
        if xs.len() == 3 {
            cur = shaped(
                g,
                "reshape",
                cur,
                ("shape", "out3d_shape", &[1, s64, out64]),
                "out3d",
            )?;
        }
        // Move the new ops to where the linear was (they read only `x` and constants).
        let new_nodes: Vec<Node> = g.nodes.drain(start..).collect();
        let count = new_nodes.len();
        let at = i - 1;
        g.nodes.splice(at..at, new_nodes);
        g.reindex();
        i = at + count + 1;
        if !replace_value(g, out, cur) {
            return Err(format!("cannot replace `{base}`"));
        }
        n += 1;
    }
    Ok(n)
}
