//! A plain f32 evaluator of a [`Graph`]: the builder's own reference, independent of the CPU
//! executor (naive loops, no shared kernels), used to check lowered programs and passes, and
//! by constant folding.
//!
//! Constants declared fp16 are rounded to fp16 (what weight.bin holds) and so are fp16 inputs;
//! everything else is computed in f32 without intermediate rounding.

use crate::graph::{Graph, Node, TensorId, ValueDef};
use anekit_core::DType;
use half::f16;
use std::collections::HashMap;

/// A dense row-major f32 array.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Array {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Array {
        Array { shape, data }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reference evaluation of `{op}` (producing `{value}`): {reason}")]
pub struct EvalError {
    pub op: String,
    pub value: String,
    pub reason: String,
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

fn round_fp16(v: &mut [f32]) {
    for x in v {
        *x = f16::from_f32(*x).to_f32();
    }
}

/// The value of a constant as an array (fp16 constants rounded).
pub fn const_array(g: &Graph, id: TensorId) -> Option<Array> {
    let info = g.value(id);
    let mut data = g.const_floats(id)?;
    if info.dtype == DType::Fp16 {
        round_fp16(&mut data);
    }
    Some(Array::new(info.shape.clone(), data))
}

/// A node's `epsilon` as the program stores it (an fp16 constant rounded, as the executor and
/// the ANE see it), or `default` when absent.
fn epsilon(g: &Graph, node: &Node, default: f32) -> f32 {
    node.arg("epsilon")
        .and_then(|e| const_array(g, e))
        .and_then(|a| a.data.first().copied())
        .unwrap_or(default)
}

/// Evaluate `g` on `inputs` (by input name, f32 values in row-major order); returns the
/// function outputs in order.
pub fn evaluate(g: &Graph, inputs: &[(&str, Vec<f32>)]) -> Result<Vec<Array>, EvalError> {
    let mut env: HashMap<TensorId, Array> = HashMap::new();
    for &id in &g.inputs {
        let info = g.value(id);
        let Some((_, data)) = inputs.iter().find(|(n, _)| *n == info.name) else {
            return Err(EvalError {
                op: "input".into(),
                value: info.name.clone(),
                reason: "no value given".into(),
            });
        };
        if data.len() != info.element_count() {
            return Err(EvalError {
                op: "input".into(),
                value: info.name.clone(),
                reason: format!("{} values for shape {:?}", data.len(), info.shape),
            });
        }
        let mut data = data.clone();
        if info.dtype == DType::Fp16 {
            round_fp16(&mut data);
        }
        env.insert(id, Array::new(info.shape.clone(), data));
    }
    for node in &g.nodes {
        let results = eval_node(g, node, &mut |id| {
            if let Some(a) = env.get(&id) {
                return Some(a.clone());
            }
            match g.value(id).def {
                ValueDef::Const(_) => const_array(g, id),
                _ => None,
            }
        })?;
        for (o, a) in node.outputs.iter().zip(results) {
            env.insert(*o, a);
        }
    }
    g.outputs
        .iter()
        .map(|o| {
            env.get(o)
                .cloned()
                .or_else(|| const_array(g, *o))
                .ok_or_else(|| EvalError {
                    op: "output".into(),
                    value: g.value(*o).name.clone(),
                    reason: "not computed".into(),
                })
        })
        .collect()
}

/// Evaluate one node; `get` returns the array of a value (inputs, earlier results, constants).
pub fn eval_node(
    g: &Graph,
    node: &Node,
    get: &mut dyn FnMut(TensorId) -> Option<Array>,
) -> Result<Vec<Array>, EvalError> {
    let out_name = node
        .outputs
        .first()
        .map(|o| g.value(*o).name.clone())
        .unwrap_or_default();
    let fail = |reason: String| EvalError {
        op: node.op.clone(),
        value: out_name.clone(),
        reason,
    };
    let mut arr = |name: &str| -> Result<Array, EvalError> {
        let id = node
            .arg(name)
            .ok_or_else(|| fail(format!("missing input `{name}`")))?;
        get(id).ok_or_else(|| fail(format!("input `{name}` has no value")))
    };
    let ints = |name: &str| -> Option<Vec<i64>> {
        node.arg(name)
            .and_then(|id| g.const_ints(id))
            .map(<[i64]>::to_vec)
    };
    let boolp = |name: &str| node.arg(name).and_then(|id| g.const_bool(id));
    let strp = |name: &str| {
        node.arg(name)
            .and_then(|id| g.const_str(id))
            .map(str::to_string)
    };
    let out_shape = |i: usize| {
        node.outputs
            .get(i)
            .map(|o| g.shape(*o).to_vec())
            .unwrap_or_default()
    };
    let out_dtype = node
        .outputs
        .first()
        .map(|o| g.dtype(*o))
        .unwrap_or(DType::Fp32);

    let result = match node.op.as_str() {
        "identity" => arr("x")?,
        "relu" => map(arr("x")?, |x| x.max(0.0)),
        "sigmoid" => map(arr("x")?, |x| 1.0 / (1.0 + (-x).exp())),
        "tanh" => map(arr("x")?, f32::tanh),
        "exp" => map(arr("x")?, f32::exp),
        "sqrt" => map(arr("x")?, f32::sqrt),
        "square" => map(arr("x")?, |x| x * x),
        "abs" => map(arr("x")?, f32::abs),
        "rsqrt" => {
            let eps = epsilon(g, node, 1e-12);
            map(arr("x")?, |x| 1.0 / (x + eps).sqrt())
        }
        "inverse" => {
            let eps = epsilon(g, node, 1e-4);
            map(arr("x")?, |x| 1.0 / (x + eps))
        }
        "gelu" => {
            let mode = strp("mode").unwrap_or_else(|| "EXACT".into());
            map(arr("x")?, move |x| match mode.as_str() {
                "TANH_APPROXIMATION" => {
                    0.5 * x
                        * (1.0
                            + ((2.0 / std::f32::consts::PI).sqrt() * (x + 0.044715 * x * x * x))
                                .tanh())
                }
                "SIGMOID_APPROXIMATION" => x / (1.0 + (-1.702 * x).exp()),
                _ => 0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2)),
            })
        }
        "add" | "sub" | "mul" | "real_div" | "maximum" | "minimum" | "pow" => {
            let f: fn(f32, f32) -> f32 = match node.op.as_str() {
                "add" => |a, b| a + b,
                "sub" => |a, b| a - b,
                "mul" => |a, b| a * b,
                "real_div" => |a, b| a / b,
                "maximum" => f32::max,
                "minimum" => f32::min,
                _ => f32::powf,
            };
            broadcast(&arr("x")?, &arr("y")?, &out_shape(0), f)
        }
        "cast" => {
            let mut a = arr("x")?;
            match out_dtype {
                DType::Fp16 => round_fp16(&mut a.data),
                d if d.is_int() => a.data.iter_mut().for_each(|x| *x = x.trunc()),
                _ => {}
            }
            a
        }
        "reshape" | "squeeze" | "expand_dims" | "flatten2d" => {
            let a = arr("x")?;
            Array::new(out_shape(0), a.data)
        }
        "transpose" => {
            let perm = ints("perm").ok_or_else(|| fail("perm must be constant".into()))?;
            let perm: Vec<usize> = perm
                .iter()
                .map(|&p| p.rem_euclid(perm.len() as i64) as usize)
                .collect();
            transpose(&arr("x")?, &perm)
        }
        "concat" => {
            let ids = node
                .tuple("values")
                .ok_or_else(|| fail("values must be a tuple".into()))?;
            let parts: Vec<Array> = ids
                .iter()
                .map(|id| get(*id).ok_or_else(|| fail("a concat input has no value".into())))
                .collect::<Result<_, _>>()?;
            let shape = out_shape(0);
            let axis = norm_axis(
                ints("axis").and_then(|v| v.first().copied()).unwrap_or(0),
                shape.len(),
            );
            if boolp("interleave").unwrap_or(false) {
                return Err(fail(
                    "interleave=true is not supported by the reference evaluator".into(),
                ));
            }
            concat(&parts, axis, &shape)
        }
        "slice_by_index" | "slice_by_size" => {
            let a = arr("x")?;
            let begin = ints("begin").ok_or_else(|| fail("begin must be constant".into()))?;
            let shape = out_shape(0);
            let begin: Vec<usize> = begin
                .iter()
                .zip(&a.shape)
                .map(|(&b, &d)| {
                    if b < 0 {
                        (d as i64 + b) as usize
                    } else {
                        b as usize
                    }
                })
                .collect();
            let ss = node
                .arg("stride")
                .and_then(|s| g.const_ints(s))
                .map(<[i64]>::to_vec)
                .unwrap_or_else(|| vec![1; a.shape.len()]);
            slice(&a, &begin, &ss, &shape)
        }
        "softmax" => {
            let a = arr("x")?;
            let axis = norm_axis(
                ints("axis").and_then(|v| v.first().copied()).unwrap_or(-1),
                a.shape.len(),
            );
            softmax(&a, axis)
        }
        "reduce_mean" | "reduce_sum" | "reduce_max" => {
            let a = arr("x")?;
            let axes: Vec<usize> = match ints("axes") {
                Some(v) => v.iter().map(|&x| norm_axis(x, a.shape.len())).collect(),
                None => (0..a.shape.len()).collect(),
            };
            reduce(&a, &axes, &out_shape(0), &node.op)
        }
        "linear" => {
            let x = arr("x")?;
            let w = arr("weight")?;
            let bias = node.arg("bias").and_then(&mut *get);
            let (o, i) = (w.shape[0], w.shape[1]);
            let rows = x.data.len() / i.max(1);
            let mut out = vec![0f32; rows * o];
            for r in 0..rows {
                for oo in 0..o {
                    let mut acc = bias.as_ref().map_or(0.0, |b| b.data[oo]);
                    for k in 0..i {
                        acc += x.data[r * i + k] * w.data[oo * i + k];
                    }
                    out[r * o + oo] = acc;
                }
            }
            Array::new(out_shape(0), out)
        }
        "matmul" => {
            let tx = boolp("transpose_x").unwrap_or(false);
            let ty = boolp("transpose_y").unwrap_or(false);
            matmul(&arr("x")?, &arr("y")?, tx, ty, &out_shape(0)).map_err(fail)?
        }
        "conv" => {
            let x = arr("x")?;
            let w = arr("weight")?;
            let bias = node.arg("bias").and_then(&mut *get);
            let spatial = x.shape.len().saturating_sub(2);
            if spatial != 2 {
                return Err(fail(
                    "the reference evaluator supports 2-D conv only".into(),
                ));
            }
            let stride = ints("strides").unwrap_or_else(|| vec![1, 1]);
            let dil = ints("dilations").unwrap_or_else(|| vec![1, 1]);
            let groups = ints("groups").and_then(|v| v.first().copied()).unwrap_or(1) as usize;
            let pad = pads(
                &strp("pad_type"),
                ints("pad"),
                &x.shape,
                &w.shape[2..],
                &stride,
                &dil,
                &out_shape(0),
            );
            conv2d(
                &x,
                &w,
                bias.as_ref(),
                &stride,
                &pad,
                &dil,
                groups,
                &out_shape(0),
            )
        }
        "max_pool" | "avg_pool" => {
            let x = arr("x")?;
            let k =
                ints("kernel_sizes").ok_or_else(|| fail("kernel_sizes must be constant".into()))?;
            let stride = ints("strides").unwrap_or_else(|| vec![1, 1]);
            let pad = pads(
                &strp("pad_type"),
                ints("pad"),
                &x.shape,
                &k.iter().map(|&v| v as usize).collect::<Vec<_>>(),
                &stride,
                &[1, 1],
                &out_shape(0),
            );
            let exclude = boolp("exclude_padding_from_average").unwrap_or(false);
            pool2d(
                &x,
                &k,
                &stride,
                &pad,
                node.op == "max_pool",
                exclude,
                &out_shape(0),
            )
        }
        "layer_norm" => {
            let x = arr("x")?;
            let axes: Vec<usize> = match ints("axes") {
                Some(v) => v.iter().map(|&a| norm_axis(a, x.shape.len())).collect(),
                None => (0..x.shape.len()).collect(),
            };
            let eps = epsilon(g, node, 1e-5);
            let gamma = node.arg("gamma").and_then(&mut *get);
            let beta = node.arg("beta").and_then(&mut *get);
            layer_norm(&x, &axes, gamma.as_ref(), beta.as_ref(), eps)
        }
        "batch_norm" => {
            let x = arr("x")?;
            let mean = arr("mean")?;
            let var = arr("variance")?;
            let gamma = node.arg("gamma").and_then(&mut *get);
            let beta = node.arg("beta").and_then(&mut *get);
            let eps = epsilon(g, node, 1e-5);
            let c = x.shape.get(1).copied().unwrap_or(1);
            let inner: usize = x.shape.iter().skip(2).product();
            let mut out = x.data.clone();
            for (i, v) in out.iter_mut().enumerate() {
                let ch = (i / inner) % c;
                let gm = gamma.as_ref().map_or(1.0, |a| a.data[ch]);
                let bt = beta.as_ref().map_or(0.0, |a| a.data[ch]);
                *v = (*v - mean.data[ch]) / (var.data[ch] + eps).sqrt() * gm + bt;
            }
            Array::new(x.shape, out)
        }
        other => {
            return Err(fail(format!(
                "op `{other}` is not supported by the reference evaluator"
            )));
        }
    };
    Ok(vec![result])
}

fn map(mut a: Array, f: impl Fn(f32) -> f32) -> Array {
    for x in &mut a.data {
        *x = f(*x);
    }
    a
}

fn norm_axis(axis: i64, rank: usize) -> usize {
    axis.rem_euclid(rank.max(1) as i64) as usize
}

/// erf from the Chebyshev fit of erfc (Numerical Recipes `erfcc`, |error| < 1.2e-7), in f64:
/// ample for fp16 comparisons, and independent of the executor's libm path.
fn erf(x: f32) -> f32 {
    let z = f64::from(x).abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    let erf = 1.0 - r;
    (if x >= 0.0 { erf } else { -erf }) as f32
}

fn broadcast(a: &Array, b: &Array, shape: &[usize], f: fn(f32, f32) -> f32) -> Array {
    let rank = shape.len();
    let idx_strides = |s: &[usize]| -> Vec<usize> {
        let st = strides(s);
        let off = rank - s.len();
        (0..rank)
            .map(|i| {
                if i < off || s[i - off] == 1 {
                    0
                } else {
                    st[i - off]
                }
            })
            .collect()
    };
    let (sa, sb) = (idx_strides(&a.shape), idx_strides(&b.shape));
    let n: usize = shape.iter().product();
    let os = strides(shape);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (mut ia, mut ib) = (0, 0);
        for d in 0..rank {
            let c = (i / os[d]) % shape[d];
            ia += c * sa[d];
            ib += c * sb[d];
        }
        out.push(f(a.data[ia], b.data[ib]));
    }
    Array::new(shape.to_vec(), out)
}

fn transpose(a: &Array, perm: &[usize]) -> Array {
    let shape: Vec<usize> = perm.iter().map(|&p| a.shape[p]).collect();
    let is = strides(&a.shape);
    let os = strides(&shape);
    let n = a.data.len();
    let mut out = vec![0f32; n];
    for (i, o) in out.iter_mut().enumerate() {
        let mut src = 0;
        for d in 0..shape.len() {
            let c = (i / os[d]) % shape[d];
            src += c * is[perm[d]];
        }
        *o = a.data[src];
    }
    Array::new(shape, out)
}

fn concat(parts: &[Array], axis: usize, shape: &[usize]) -> Array {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for p in parts {
            let chunk = p.shape[axis] * inner;
            out.extend_from_slice(&p.data[o * chunk..(o + 1) * chunk]);
        }
    }
    Array::new(shape.to_vec(), out)
}

fn slice(a: &Array, begin: &[usize], stride: &[i64], shape: &[usize]) -> Array {
    let is = strides(&a.shape);
    let os = strides(shape);
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut src = 0i64;
        for d in 0..shape.len() {
            let c = ((i / os[d]) % shape[d]) as i64;
            src += (begin[d] as i64 + c * stride.get(d).copied().unwrap_or(1)) * is[d] as i64;
        }
        out.push(a.data[src as usize]);
    }
    Array::new(shape.to_vec(), out)
}

fn softmax(a: &Array, axis: usize) -> Array {
    let n = a.shape[axis];
    let inner: usize = a.shape[axis + 1..].iter().product();
    let outer: usize = a.shape[..axis].iter().product();
    let mut out = a.data.clone();
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| o * n * inner + k * inner + i;
            let m = (0..n)
                .map(|k| a.data[at(k)])
                .fold(f32::NEG_INFINITY, f32::max);
            let s: f32 = (0..n).map(|k| (a.data[at(k)] - m).exp()).sum();
            for k in 0..n {
                out[at(k)] = (a.data[at(k)] - m).exp() / s;
            }
        }
    }
    Array::new(a.shape.clone(), out)
}

fn reduce(a: &Array, axes: &[usize], out_shape: &[usize], op: &str) -> Array {
    let is = strides(&a.shape);
    // Output index: input coordinates with reduced axes set to 0, in a keep-dims layout.
    let kept: Vec<usize> = a
        .shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if axes.contains(&i) { 1 } else { d })
        .collect();
    let ks = strides(&kept);
    let n_out: usize = kept.iter().product();
    let count: usize = axes.iter().map(|&i| a.shape[i]).product();
    let init = if op == "reduce_max" {
        f32::NEG_INFINITY
    } else {
        0.0
    };
    let mut out = vec![init; n_out];
    for (i, &v) in a.data.iter().enumerate() {
        let mut o = 0;
        for d in 0..a.shape.len() {
            let c = (i / is[d]) % a.shape[d];
            if !axes.contains(&d) {
                o += c * ks[d];
            }
        }
        if op == "reduce_max" {
            out[o] = out[o].max(v);
        } else {
            out[o] += v;
        }
    }
    if op == "reduce_mean" {
        for v in &mut out {
            *v /= count.max(1) as f32;
        }
    }
    Array::new(out_shape.to_vec(), out)
}

fn matmul(x: &Array, y: &Array, tx: bool, ty: bool, out_shape: &[usize]) -> Result<Array, String> {
    if x.shape.len() < 2 || y.shape.len() < 2 {
        return Err("the reference evaluator needs rank >= 2 matmul operands".into());
    }
    let (xr, yr) = (x.shape.len(), y.shape.len());
    let (m, k) = if tx {
        (x.shape[xr - 1], x.shape[xr - 2])
    } else {
        (x.shape[xr - 2], x.shape[xr - 1])
    };
    let n = if ty { y.shape[yr - 2] } else { y.shape[yr - 1] };
    let batch_shape = &out_shape[..out_shape.len() - 2];
    let batch: usize = batch_shape.iter().product();
    let bstr = |s: &[usize]| -> Vec<usize> {
        let b = &s[..s.len() - 2];
        let mat = s[s.len() - 2] * s[s.len() - 1];
        let st = strides(b);
        let off = batch_shape.len() - b.len();
        (0..batch_shape.len())
            .map(|i| {
                if i < off || b[i - off] == 1 {
                    0
                } else {
                    st[i - off] * mat
                }
            })
            .collect()
    };
    let (xs, ys) = (bstr(&x.shape), bstr(&y.shape));
    let os = strides(batch_shape);
    let mut out = vec![0f32; batch * m * n];
    for bi in 0..batch {
        let (mut xo, mut yo) = (0, 0);
        for d in 0..batch_shape.len() {
            let c = (bi / os[d]) % batch_shape[d];
            xo += c * xs[d];
            yo += c * ys[d];
        }
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0f32;
                for kk in 0..k {
                    let xv = if tx {
                        x.data[xo + kk * m + i]
                    } else {
                        x.data[xo + i * k + kk]
                    };
                    let yv = if ty {
                        y.data[yo + j * k + kk]
                    } else {
                        y.data[yo + kk * n + j]
                    };
                    acc += xv * yv;
                }
                out[bi * m * n + i * n + j] = acc;
            }
        }
    }
    Ok(Array::new(out_shape.to_vec(), out))
}

/// `[top, bottom, left, right]` from the pad type (`same` split as coremltools: extra at the
/// end).
fn pads(
    pad_type: &Option<String>,
    pad: Option<Vec<i64>>,
    x: &[usize],
    kernel: &[usize],
    stride: &[i64],
    dil: &[i64],
    out: &[usize],
) -> [usize; 4] {
    match pad_type.as_deref() {
        Some("custom") => {
            let p = pad.unwrap_or_default();
            let at = |i: usize| p.get(i).copied().unwrap_or(0).max(0) as usize;
            [at(0), at(1), at(2), at(3)]
        }
        Some("same") | Some("same_lower") => {
            let mut r = [0usize; 4];
            for d in 0..2 {
                let eff = (kernel[d] - 1) * dil[d] as usize + 1;
                let need = ((out[d + 2] - 1) * stride[d] as usize + eff).saturating_sub(x[d + 2]);
                let (lo, hi) = if pad_type.as_deref() == Some("same") {
                    (need / 2, need - need / 2)
                } else {
                    (need - need / 2, need / 2)
                };
                r[2 * d] = lo;
                r[2 * d + 1] = hi;
            }
            r
        }
        _ => [0; 4],
    }
}

#[allow(clippy::too_many_arguments)]
fn conv2d(
    x: &Array,
    w: &Array,
    bias: Option<&Array>,
    stride: &[i64],
    pad: &[usize; 4],
    dil: &[i64],
    groups: usize,
    out_shape: &[usize],
) -> Array {
    let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
    let (cout, cpg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
    let (oh, ow) = (out_shape[2], out_shape[3]);
    let opg = cout / groups.max(1);
    let mut out = vec![0f32; n * cout * oh * ow];
    for b in 0..n {
        for oc in 0..cout {
            let g = oc / opg.max(1);
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = bias.map_or(0.0, |a| a.data[oc]);
                    for ic in 0..cpg {
                        let c = g * cpg + ic;
                        for ky in 0..kh {
                            let iy = (oy as i64) * stride[0] + (ky as i64) * dil[0] - pad[0] as i64;
                            if iy < 0 || iy >= h as i64 {
                                continue;
                            }
                            for kx in 0..kw {
                                let ix =
                                    (ox as i64) * stride[1] + (kx as i64) * dil[1] - pad[2] as i64;
                                if ix < 0 || ix >= wd as i64 {
                                    continue;
                                }
                                acc += x.data[((b * cin + c) * h + iy as usize) * wd + ix as usize]
                                    * w.data[((oc * cpg + ic) * kh + ky) * kw + kx];
                            }
                        }
                    }
                    out[((b * cout + oc) * oh + oy) * ow + ox] = acc;
                }
            }
        }
    }
    Array::new(out_shape.to_vec(), out)
}

fn pool2d(
    x: &Array,
    k: &[i64],
    stride: &[i64],
    pad: &[usize; 4],
    is_max: bool,
    exclude_pad: bool,
    out_shape: &[usize],
) -> Array {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
    let (oh, ow) = (out_shape[2], out_shape[3]);
    let mut out = vec![0f32; n * c * oh * ow];
    for bc in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = if is_max { f32::NEG_INFINITY } else { 0.0 };
                let mut count = 0usize;
                for ky in 0..k[0] {
                    let iy = oy as i64 * stride[0] + ky - pad[0] as i64;
                    for kx in 0..k[1] {
                        let ix = ox as i64 * stride[1] + kx - pad[2] as i64;
                        if iy < 0 || iy >= h as i64 || ix < 0 || ix >= w as i64 {
                            continue;
                        }
                        let v = x.data[(bc * h + iy as usize) * w + ix as usize];
                        if is_max {
                            acc = acc.max(v);
                        } else {
                            acc += v;
                        }
                        count += 1;
                    }
                }
                if !is_max {
                    let div = if exclude_pad {
                        count.max(1)
                    } else {
                        (k[0] * k[1]) as usize
                    };
                    acc /= div as f32;
                }
                out[(bc * oh + oy) * ow + ox] = acc;
            }
        }
    }
    Array::new(out_shape.to_vec(), out)
}

fn layer_norm(
    x: &Array,
    axes: &[usize],
    gamma: Option<&Array>,
    beta: Option<&Array>,
    eps: f32,
) -> Array {
    // Normalised axes must be the trailing ones (as the builder emits); gamma/beta cover them.
    let inner: usize = axes.iter().map(|&a| x.shape[a]).product();
    let mut out = x.data.clone();
    for chunk in out.chunks_mut(inner.max(1)) {
        let mean = chunk.iter().sum::<f32>() / inner as f32;
        let var = chunk.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / inner as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for (i, v) in chunk.iter_mut().enumerate() {
            *v = (*v - mean) * inv * gamma.map_or(1.0, |g| g.data[i])
                + beta.map_or(0.0, |b| b.data[i]);
        }
    }
    Array::new(x.shape.clone(), out)
}
