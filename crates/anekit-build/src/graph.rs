//! The graph every part of this crate works on: an SSA list of MIL ops over values whose
//! dtype and shape are fully known.
//!
//! The builder appends to it (shape-checking every op with `anekit-ir`'s inference, so there is
//! one source of shape truth), the lowering prints it as MIL text + weight.bin, the passes
//! rewrite it, the reference evaluator runs it, and `import` makes one from any parsed MIL
//! program. Operands are always values: op parameters (strides, axes, pad types ...) are
//! constant values, as Apple's compiler writes them (one `const` statement each).

use anekit_core::DType;
use anekit_ir::infer::{ArgInfo, InferCtx, InferError};
use anekit_ir::ir::ConstData as IrConst;
use anekit_ir::ops::Opset;
use anekit_ir::types::{Dim, TensorType, Type};

/// A value of a [`Graph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(pub u32);

impl TensorId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Constant contents. Floats are kept as f32 whatever the declared float dtype (fp16 values are
/// rounded when written); `Random` is materialised only when needed, so a graph with a
/// 200-million-parameter layer can be summarised without allocating it.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstData {
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Bools(Vec<bool>),
    Str(String),
    /// Uniform values in `[-scale, scale]` from a seeded generator ([`random_values`]).
    Random {
        seed: u64,
        scale: f32,
    },
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueDef {
    /// The function input at this position of [`Graph::inputs`].
    Input,
    Const(ConstData),
    /// Result of node `node`.
    Op {
        node: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValueInfo {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub def: ValueDef,
}

impl ValueInfo {
    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn constant(&self) -> Option<&ConstData> {
        match &self.def {
            ValueDef::Const(c) => Some(c),
            _ => None,
        }
    }
}

/// An op input.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(TensorId),
    /// `(a, b, ...)` (concat values).
    Tuple(Vec<TensorId>),
}

/// One MIL op.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub op: String,
    /// Inputs by MIL input name.
    pub args: Vec<(String, Operand)>,
    pub outputs: Vec<TensorId>,
    /// The builder layer this op belongs to (for the summary).
    pub layer: Option<usize>,
}

impl Node {
    pub fn arg(&self, name: &str) -> Option<TensorId> {
        self.args.iter().find_map(|(n, a)| match a {
            Operand::Value(v) if n == name => Some(*v),
            _ => None,
        })
    }

    pub fn tuple(&self, name: &str) -> Option<&[TensorId]> {
        self.args.iter().find_map(|(n, a)| match a {
            Operand::Tuple(v) if n == name => Some(v.as_slice()),
            _ => None,
        })
    }

    /// Every value this op reads.
    pub fn uses(&self) -> impl Iterator<Item = TensorId> + '_ {
        self.args.iter().flat_map(|(_, a)| match a {
            Operand::Value(v) => std::slice::from_ref(v).iter().copied(),
            Operand::Tuple(v) => v.iter().copied(),
        })
    }
}

/// The kind of a builder layer (one row of the summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    Conv,
    Pool,
    Linear,
    MatMul,
    Softmax,
    Sdpa,
    LayerNorm,
    RmsNorm,
    BatchNorm,
    Activation,
    Elementwise,
    Reshape,
    Transpose,
    Concat,
    Slice,
    Cast,
    Rope,
}

/// A builder layer: a named group of ops with the facts the summary reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Layer {
    pub name: String,
    pub kind: LayerKind,
    /// The op in words (`conv2d`, `max_pool`, `gelu`, ...).
    pub detail: String,
    pub input_shapes: Vec<Vec<usize>>,
    pub output_shape: Vec<usize>,
    pub kernel: Option<Vec<usize>>,
    pub stride: Option<Vec<usize>>,
    /// Padding `[before, after]` per spatial dim, flattened.
    pub pad: Option<Vec<usize>>,
    pub flops: u64,
    pub weight_elements: u64,
    /// Bytes of the weights as stored (fp16: 2 per element).
    pub weight_bytes: u64,
}

/// A program under construction or rewrite: one function.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    pub values: Vec<ValueInfo>,
    pub nodes: Vec<Node>,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
    pub layers: Vec<Layer>,
    /// Opset used for shape inference (ios16 keeps the builder's graphs valid on every chip;
    /// imported programs keep their own).
    pub opset: Option<Opset>,
}

/// A rejected op: which op, what it was given, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op}: {reason} (inputs: {inputs})")]
pub struct ShapeError {
    pub op: String,
    pub inputs: String,
    pub reason: String,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    pub fn value(&self, id: TensorId) -> &ValueInfo {
        &self.values[id.index()]
    }

    pub fn shape(&self, id: TensorId) -> &[usize] {
        &self.values[id.index()].shape
    }

    pub fn dtype(&self, id: TensorId) -> DType {
        self.values[id.index()].dtype
    }

    pub fn constant(&self, id: TensorId) -> Option<&ConstData> {
        self.values.get(id.index()).and_then(ValueInfo::constant)
    }

    /// The integer contents of a constant value.
    pub fn const_ints(&self, id: TensorId) -> Option<&[i64]> {
        match self.constant(id)? {
            ConstData::Ints(v) => Some(v),
            _ => None,
        }
    }

    pub fn const_bool(&self, id: TensorId) -> Option<bool> {
        match self.constant(id)? {
            ConstData::Bools(v) if v.len() == 1 => v.first().copied(),
            _ => None,
        }
    }

    pub fn const_str(&self, id: TensorId) -> Option<&str> {
        match self.constant(id)? {
            ConstData::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A float constant's values (materialising seeded random data).
    pub fn const_floats(&self, id: TensorId) -> Option<Vec<f32>> {
        let v = self.values.get(id.index())?;
        match v.constant()? {
            ConstData::Floats(f) => Some(f.clone()),
            ConstData::Random { seed, scale } => {
                Some(random_values(*seed, *scale, v.element_count()))
            }
            ConstData::Ints(i) => Some(i.iter().map(|&x| x as f32).collect()),
            ConstData::Bools(b) => Some(b.iter().map(|&x| f32::from(u8::from(x))).collect()),
            ConstData::Str(_) => None,
        }
    }

    fn unique_name(&self, base: &str) -> String {
        // Names are made unique by the caller's counter; this only guards collisions.
        let taken = |n: &str| self.values.iter().any(|v| v.name == n);
        if !taken(base) {
            return base.to_string();
        }
        (1..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| base.to_string())
    }

    pub fn add_input(&mut self, name: &str, dtype: DType, shape: &[usize]) -> TensorId {
        let id = self.push_value(name, dtype, shape.to_vec(), ValueDef::Input);
        self.inputs.push(id);
        id
    }

    pub fn add_const(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[usize],
        data: ConstData,
    ) -> TensorId {
        self.push_value(name, dtype, shape.to_vec(), ValueDef::Const(data))
    }

    fn push_value(
        &mut self,
        name: &str,
        dtype: DType,
        shape: Vec<usize>,
        def: ValueDef,
    ) -> TensorId {
        let name = self.unique_name(name);
        let id = TensorId(self.values.len() as u32);
        self.values.push(ValueInfo {
            name,
            dtype,
            shape,
            def,
        });
        id
    }

    /// Append op `op` with `args`, inferring its result types with anekit-ir's inference for
    /// the graph's opset. Result names are `name` (one result) or `name_0`, `name_1`, ...
    pub fn add_op(
        &mut self,
        op: &str,
        args: Vec<(String, Operand)>,
        name: &str,
        layer: Option<usize>,
    ) -> Result<Vec<TensorId>, ShapeError> {
        let types = self.infer(op, &args, 1)?;
        self.push_node(op, args, name, layer, types)
    }

    /// As [`Graph::add_op`] for an op with `count` results (`split`).
    pub fn add_op_n(
        &mut self,
        op: &str,
        args: Vec<(String, Operand)>,
        name: &str,
        count: usize,
    ) -> Result<Vec<TensorId>, ShapeError> {
        let types = self.infer(op, &args, count)?;
        self.push_node(op, args, name, None, types)
    }

    fn push_node(
        &mut self,
        op: &str,
        args: Vec<(String, Operand)>,
        name: &str,
        layer: Option<usize>,
        types: Vec<(DType, Vec<usize>)>,
    ) -> Result<Vec<TensorId>, ShapeError> {
        let node = self.nodes.len();
        let single = types.len() == 1;
        let outputs: Vec<TensorId> = types
            .into_iter()
            .enumerate()
            .map(|(i, (dtype, shape))| {
                let n = if single {
                    name.to_string()
                } else {
                    format!("{name}_{i}")
                };
                self.push_value(&n, dtype, shape, ValueDef::Op { node })
            })
            .collect();
        self.nodes.push(Node {
            op: op.to_string(),
            args,
            outputs: outputs.clone(),
            layer,
        });
        Ok(outputs)
    }

    /// Describe the operands for an error message: `x: fp16[1, 3, 8, 8], weight: ...`.
    pub fn describe_args(&self, args: &[(String, Operand)]) -> String {
        let one = |v: TensorId| {
            let info = self.value(v);
            match info.constant() {
                Some(ConstData::Ints(i)) if i.len() <= 8 => format!("{i:?}"),
                Some(ConstData::Str(s)) => format!("{s:?}"),
                Some(ConstData::Bools(b)) if b.len() == 1 => format!("{}", b[0]),
                _ => format!("{}{:?}", info.dtype.mil_name(), info.shape),
            }
        };
        args.iter()
            .map(|(n, a)| match a {
                Operand::Value(v) => format!("{n}: {}", one(*v)),
                Operand::Tuple(vs) => format!(
                    "{n}: ({})",
                    vs.iter().map(|v| one(*v)).collect::<Vec<_>>().join(", ")
                ),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Result dtypes and shapes of `op` applied to `args`, from anekit-ir's inference.
    pub fn infer(
        &self,
        op: &str,
        args: &[(String, Operand)],
        count: usize,
    ) -> Result<Vec<(DType, Vec<usize>)>, ShapeError> {
        let err = |reason: String| ShapeError {
            op: op.to_string(),
            inputs: self.describe_args(args),
            reason,
        };
        let def = anekit_ir::ops::lookup(op).ok_or_else(|| err("unknown MIL op".into()))?;
        let infer = def
            .infer
            .ok_or_else(|| err("anekit-ir has no shape inference for this op".into()))?;
        // Owned types and small constant payloads first; the context borrows them.
        let mut types: Vec<Type> = Vec::new();
        let mut consts: Vec<Option<IrConst>> = Vec::new();
        let mut slots: Vec<usize> = Vec::new();
        let mut all: Vec<TensorId> = Vec::new();
        for (_, a) in args {
            match a {
                Operand::Value(v) => all.push(*v),
                Operand::Tuple(vs) => all.extend(vs.iter().copied()),
            }
        }
        for v in &all {
            let Some(info) = self.values.get(v.index()) else {
                return Err(err(format!("value #{} does not exist", v.0)));
            };
            types.push(Type::Tensor(TensorType::known(
                info.dtype,
                &info.shape.iter().map(|&d| d as u64).collect::<Vec<_>>(),
            )));
            consts.push(match info.constant() {
                Some(ConstData::Ints(i)) => {
                    Some(IrConst::Ints(i.iter().map(|&x| i128::from(x)).collect()))
                }
                Some(ConstData::Bools(b)) => Some(IrConst::Bools(b.clone())),
                Some(ConstData::Str(s)) => Some(IrConst::Strings(vec![s.clone()])),
                Some(ConstData::Floats(f)) if f.len() <= 64 => {
                    Some(IrConst::Floats(f.iter().map(|&x| f64::from(x)).collect()))
                }
                _ => None,
            });
            slots.push(slots.len());
        }
        let info_of = |k: usize| ArgInfo::One {
            ty: &types[k],
            value: consts[k].as_ref(),
        };
        let mut k = 0usize;
        let mut ctx_args = Vec::new();
        for (n, a) in args {
            match a {
                Operand::Value(_) => {
                    ctx_args.push((n.as_str(), info_of(k)));
                    k += 1;
                }
                Operand::Tuple(vs) => {
                    let items = (k..k + vs.len()).map(info_of).collect();
                    k += vs.len();
                    ctx_args.push((n.as_str(), ArgInfo::Tuple(items)));
                }
            }
        }
        let ctx = InferCtx {
            opset: self.opset.unwrap_or(Opset::Ios16),
            args: ctx_args,
            result_count: count,
        };
        let result = infer(&ctx).map_err(|e| match e {
            InferError::Invalid(m) => err(m),
            InferError::Unknowable => {
                err("the result shape cannot be determined statically".into())
            }
        })?;
        if result.len() != count {
            return Err(err(format!(
                "produces {} results, expected {count}",
                result.len()
            )));
        }
        result
            .into_iter()
            .map(|t| match t {
                Type::Tensor(t) => {
                    let shape: Option<Vec<usize>> = t
                        .shape
                        .iter()
                        .map(|d| match d {
                            Dim::Known(n) => usize::try_from(*n).ok(),
                            Dim::Unknown => None,
                        })
                        .collect();
                    shape
                        .map(|s| (t.dtype, s))
                        .ok_or_else(|| err("a result dimension is unknown".into()))
                }
                other => Err(err(format!(
                    "produces a {}, not a tensor",
                    other.kind_name()
                ))),
            })
            .collect()
    }

    /// Replace every use of `old` by `new` (op arguments and function outputs).
    pub fn replace_uses(&mut self, old: TensorId, new: TensorId) {
        for n in &mut self.nodes {
            for (_, a) in &mut n.args {
                match a {
                    Operand::Value(v) if *v == old => *v = new,
                    Operand::Tuple(vs) => {
                        for v in vs.iter_mut().filter(|v| **v == old) {
                            *v = new;
                        }
                    }
                    _ => {}
                }
            }
        }
        for o in &mut self.outputs {
            if *o == old {
                *o = new;
            }
        }
    }

    /// How many times each value is read (op arguments plus function outputs).
    pub fn use_counts(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.values.len()];
        for n in &self.nodes {
            for v in n.uses() {
                if let Some(c) = counts.get_mut(v.index()) {
                    *c += 1;
                }
            }
        }
        for o in &self.outputs {
            if let Some(c) = counts.get_mut(o.index()) {
                *c += 1;
            }
        }
        counts
    }

    /// The node producing `v`.
    pub fn producer(&self, v: TensorId) -> Option<&Node> {
        match self.value(v).def {
            ValueDef::Op { node } => self.nodes.get(node),
            _ => None,
        }
    }

    /// Re-point every value's `ValueDef::Op` at its node's current index (after nodes were
    /// removed or inserted).
    pub fn reindex(&mut self) {
        for (i, n) in self.nodes.iter().enumerate() {
            for o in &n.outputs {
                if let Some(v) = self.values.get_mut(o.index()) {
                    v.def = ValueDef::Op { node: i };
                }
            }
        }
    }

    /// Parameters and weights in bytes as stored (fp16 2 per element ...).
    pub fn weight_bytes(&self, id: TensorId) -> u64 {
        let v = self.value(id);
        (v.element_count() as u64)
            .saturating_mul(u64::from(v.dtype.bits().unwrap_or(8).div_ceil(8)))
    }
}

/// Uniform values in `[-scale, scale]` from SplitMix64 seeded with `seed`.
///
/// Written by hand (a few lines) rather than taken from `rand`, so the values of a seed can never
/// change with a dependency upgrade: canned models and their committed fixtures stay stable.
pub fn random_values(seed: u64, scale: f32, n: usize) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            // 24 high bits → [0, 1).
            let unit = (z >> 40) as f32 / (1u64 << 24) as f32;
            (unit * 2.0 - 1.0) * scale
        })
        .collect()
}
