//! Lowering an Espresso net to a MIL program, so that it can be checked (`anekit_ir::check`)
//! and run by the CPU executor like any `model.mil` (docs/espresso.md, "Running nets").
//!
//! Every blob becomes an fp32 MIL value of rank 4, `[n, k, h, w]` (the `.espresso.shape`
//! order: batch, channels, height, width; rank-2 blobs keep their features in `w`). Output
//! shapes are computed per layer and, when the bundle has a `.espresso.shape`, compared with
//! it: a disagreement is an error, because it means the lowering misreads the layer. Weights
//! go into a MIL blob storage file (`weights/weight.bin`, fp32) referenced by `BLOBFILE`.
//!
//! Only verified semantics are lowered for codes (elementwise 0/1/2/3/119, activation 0, pool
//! 0/1); a layer whose parameters are not understood is an error naming the layer, never a
//! guess. Which parts rest on unverified claims is listed in docs/espresso.md.

use crate::bundle::Bundle;
use crate::codes::{ActivationMode, ElementwiseOp, PoolKind};
use crate::net::{EspressoNet, Layer, LayerParams, Padding};
use crate::shape::ShapeFile;
use crate::weights::WeightsTable;
use anekit_blob::BlobWriter;
use anekit_core::{DType, TensorData};
use anekit_mil::ast::{
    self, ArgValue, Argument, Array, Attribute, BlobFile, Dim, Elements, Float, Ident, Literal,
    Param, Payload, PayloadKind, Span, Statement, Type, TypeKind,
};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The opset of the generated function.
pub const OPSET: &str = "ios18";
/// Where the generated program finds its weights (relative to the model folder).
pub const WEIGHT_PATH: &str = "@model_path/weights/weight.bin";

/// Why a net could not be lowered. Each message names the layer (name and type) at fault.
#[derive(Debug, thiserror::Error)]
pub enum LowerError {
    #[error("layer `{layer}` (type `{kind}`): layer type not supported by the lowering")]
    Unsupported { layer: String, kind: String },
    #[error("layer `{layer}` (type `{kind}`): {reason}")]
    Layer {
        layer: String,
        kind: String,
        reason: String,
    },
    #[error("input blob `{0}` has no shape: the bundle needs its .espresso.shape")]
    NoInputShape(String),
    #[error("the net has no layers")]
    Empty,
    #[error("weights: {0}")]
    Blob(#[from] anekit_blob::BlobError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A lowered net: the program and the bytes of its `weights/weight.bin`.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub program: ast::Program,
    pub weight_bin: Vec<u8>,
    /// Function inputs: blob name, MIL name, shape `[n, k, h, w]`.
    pub inputs: Vec<BlobValue>,
    /// Function outputs, in order.
    pub outputs: Vec<BlobValue>,
    /// Every blob's value (inputs and layer tops), in definition order.
    pub blobs: Vec<BlobValue>,
}

/// One Espresso blob and the MIL value that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobValue {
    pub blob: String,
    pub value: String,
    pub shape: [usize; 4],
}

impl Lowered {
    /// Write `DIR/model.mil` and `DIR/weights/weight.bin`; returns the path of `model.mil`.
    /// `DIR` is then the model folder (`@model_path`) for `anekit_ir::weights::Weights`.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, LowerError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LowerError::Io { path, source }
        };
        let weights_dir = dir.join("weights");
        std::fs::create_dir_all(&weights_dir).map_err(io(&weights_dir))?;
        let bin = weights_dir.join("weight.bin");
        std::fs::write(&bin, &self.weight_bin).map_err(io(&bin))?;
        let mil = dir.join("model.mil");
        std::fs::write(&mil, self.text()).map_err(io(&mil))?;
        Ok(mil)
    }

    /// The program as canonical MIL text.
    pub fn text(&self) -> String {
        anekit_mil::print(&self.program, &anekit_mil::PrintOptions::default())
    }
}

/// Lower a bundle opened with [`Bundle::open`] (reads the weights file again for the bytes).
pub fn lower_bundle(bundle: &Bundle) -> Result<Lowered, LowerError> {
    let data = match &bundle.weights_path {
        Some(p) => Some(std::fs::read(p).map_err(|source| LowerError::Io {
            path: p.clone(),
            source,
        })?),
        None => None,
    };
    let weights = match (&bundle.weights, &data) {
        (Some(t), Some(d)) => Some((t, d.as_slice())),
        _ => None,
    };
    lower(&bundle.net, weights, bundle.shape.as_ref())
}

/// Lower `bundle` and write it into `out_dir` (`model.mil` + `weights/weight.bin`); the entry
/// point for `ane run` on Espresso nets. Returns the program and the model folder to give to
/// `anekit_ir::weights::Weights::new`.
pub fn to_mil(bundle: &Bundle, out_dir: &Path) -> Result<(ast::Program, PathBuf), LowerError> {
    let lowered = lower_bundle(bundle)?;
    lowered.write(out_dir)?;
    Ok((lowered.program, out_dir.to_path_buf()))
}

/// Lower a net. `weights` is the `.espresso.weights` table with the file's bytes; `shapes`
/// gives the input shapes (required) and the expected shape of every blob.
pub fn lower(
    net: &EspressoNet,
    weights: Option<(&WeightsTable, &[u8])>,
    shapes: Option<&ShapeFile>,
) -> Result<Lowered, LowerError> {
    if net.layers.is_empty() {
        return Err(LowerError::Empty);
    }
    let mut b = Builder {
        weights,
        shapes,
        statements: Vec::new(),
        blob: BlobWriter::new(),
        blob_offsets: HashMap::new(),
        taken: HashSet::new(),
        values: HashMap::new(),
        order: Vec::new(),
    };
    // Inputs: blobs read before (or without) being written.
    let mut produced: HashSet<&str> = HashSet::new();
    let mut inputs = Vec::new();
    for l in &net.layers {
        for bottom in &l.bottom {
            if !produced.contains(bottom.as_str())
                && !inputs.iter().any(|i: &BlobValue| &i.blob == bottom)
            {
                let shape = shapes
                    .and_then(|s| s.get(bottom))
                    .and_then(shape_of)
                    .ok_or_else(|| LowerError::NoInputShape(bottom.clone()))?;
                let value = b.fresh_name(bottom);
                let bv = BlobValue {
                    blob: bottom.clone(),
                    value,
                    shape,
                };
                b.values.insert(bottom.clone(), bv.clone());
                b.order.push(bottom.clone());
                inputs.push(bv);
            }
        }
        for top in &l.top {
            produced.insert(top.as_str());
        }
    }
    for l in &net.layers {
        b.layer(l)?;
    }
    // Outputs: tops nobody reads, plus tops of layers marked `is_output`.
    let consumed: HashSet<&str> = net
        .layers
        .iter()
        .flat_map(|l| l.bottom.iter().map(String::as_str))
        .collect();
    let mut outputs: Vec<BlobValue> = Vec::new();
    for l in &net.layers {
        for top in &l.top {
            if (l.is_output() || !consumed.contains(top.as_str()))
                && !outputs.iter().any(|o| &o.blob == top)
                && let Some(v) = b.values.get(top)
            {
                outputs.push(v.clone());
            }
        }
    }
    let params = inputs.iter().map(|i| param(&i.value, &i.shape)).collect();
    let function = ast::Function {
        name: Ident::new("main"),
        opset: Ident::new(OPSET),
        params,
        attributes: Vec::new(),
        body: ast::Block {
            statements: b.statements,
            outputs: outputs
                .iter()
                .map(|o| Ident::new(o.value.as_str()))
                .collect(),
            span: Span::default(),
        },
        span: Span::default(),
    };
    let mut program = ast::Program {
        version: ast::Version {
            text: "1.3".to_string(),
            span: Span::default(),
        },
        attributes: Vec::new(),
        functions: vec![function],
        trailing_newline: false,
        span: Span::default(),
    };
    // Arguments in the printer's order, so the tree equals its own printed and parsed text.
    program.sort_canonical();
    let blobs = b
        .order
        .iter()
        .filter_map(|n| b.values.get(n).cloned())
        .collect();
    Ok(Lowered {
        program,
        weight_bin: b.blob.finish(),
        inputs,
        outputs,
        blobs,
    })
}

/// `[n, k, h, w]` of a `.espresso.shape` entry (absent dims are 1).
fn shape_of(s: &crate::shape::BlobShape) -> Option<[usize; 4]> {
    let d = |v: Option<i64>| usize::try_from(v.unwrap_or(1)).ok();
    Some([d(s.n)?, d(s.k)?, d(s.h)?, d(s.w)?])
}

struct Builder<'a> {
    weights: Option<(&'a WeightsTable, &'a [u8])>,
    shapes: Option<&'a ShapeFile>,
    statements: Vec<Statement>,
    blob: BlobWriter,
    /// Espresso blob id → offset in weight.bin (each id is written once).
    blob_offsets: HashMap<(u64, usize), u64>,
    taken: HashSet<String>,
    /// Espresso blob name → its value.
    values: HashMap<String, BlobValue>,
    order: Vec<String>,
}

/// An error about layer `l`.
fn fail(l: &Layer, reason: impl Into<String>) -> LowerError {
    LowerError::Layer {
        layer: l.name.clone(),
        kind: l.type_name.clone(),
        reason: reason.into(),
    }
}

fn to_usize(l: &Layer, what: &str, v: Option<i64>, default: i64) -> Result<usize, LowerError> {
    let v = v.unwrap_or(default);
    usize::try_from(v).map_err(|_| fail(l, format!("{what} = {v} is not a size")))
}

fn to_i32(l: &Layer, v: usize) -> Result<i32, LowerError> {
    i32::try_from(v).map_err(|_| fail(l, format!("{v} does not fit in int32")))
}

// ---- AST construction ------------------------------------------------------------------

fn tensor_ty(dtype: DType, shape: &[usize]) -> Type {
    Type::new(TypeKind::Tensor {
        dtype,
        shape: shape.iter().map(|&d| Dim::Known(d as u64)).collect(),
    })
}

fn param(name: &str, shape: &[usize]) -> Param {
    Param {
        ty: tensor_ty(DType::Fp32, shape),
        name: Ident::new(name),
        span: Span::default(),
    }
}

fn payload(kind: PayloadKind) -> Payload {
    Payload {
        kind,
        span: Span::default(),
    }
}

fn lit(ty: Type, kind: PayloadKind) -> Literal {
    Literal {
        ty,
        value: payload(kind),
        span: Span::default(),
    }
}

fn str_lit(s: &str) -> Literal {
    lit(
        Type::new(TypeKind::Scalar(DType::String)),
        PayloadKind::Str(s.into()),
    )
}

fn int_lit(v: i32) -> Literal {
    lit(
        Type::new(TypeKind::Scalar(DType::Int32)),
        PayloadKind::Int(i128::from(v)),
    )
}

fn bool_lit(v: bool) -> Literal {
    lit(
        Type::new(TypeKind::Scalar(DType::Bool)),
        PayloadKind::Bool(v),
    )
}

fn f32_lit(v: f32) -> Literal {
    lit(
        Type::new(TypeKind::Scalar(DType::Fp32)),
        PayloadKind::Float(Float(f64::from(v))),
    )
}

fn ints_lit(v: &[i32]) -> Literal {
    lit(
        tensor_ty(DType::Int32, &[v.len()]),
        PayloadKind::Array(Box::new(Array {
            shape: vec![v.len()],
            elements: Elements::Int(v.iter().map(|&i| i128::from(i)).collect()),
        })),
    )
}

fn arg(name: &str, value: ArgValue) -> Argument {
    Argument {
        name: Ident::new(name),
        value,
        span: Span::default(),
    }
}

fn name_arg(name: &str, value: &str) -> Argument {
    arg(name, ArgValue::Name(Ident::new(value)))
}

fn lit_arg(name: &str, value: Literal) -> Argument {
    arg(name, ArgValue::Literal(value))
}

/// A MIL identifier for `blob`: invalid characters become `_`.
fn sanitize(blob: &str) -> String {
    let mut s: String = blob
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        s.insert(0, '_');
    }
    s
}

impl Builder<'_> {
    fn fresh_name(&mut self, base: &str) -> String {
        let base = sanitize(base);
        let mut name = base.clone();
        let mut i = 1;
        while self.taken.contains(&name) {
            name = format!("{base}_{i}");
            i += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    /// Emit `RESULT = op(args)[name = ...]`; returns the result's name.
    fn emit(&mut self, base: &str, op: &str, args: Vec<Argument>, shape: &[usize]) -> String {
        let name = self.fresh_name(base);
        self.statements.push(Statement {
            results: vec![param(&name, shape)],
            op: Ident::new(op),
            op_opset: None,
            args,
            attributes: vec![Attribute {
                name: Ident::new("name"),
                value: str_lit(&name),
                span: Span::default(),
            }],
            blocks: Vec::new(),
            span: Span::default(),
        });
        name
    }

    /// A `const` of fp32 `values` with `shape`, stored in weight.bin.
    fn weight_const(
        &mut self,
        base: &str,
        key: (u64, usize),
        values: &[f32],
        shape: &[usize],
    ) -> Result<String, LowerError> {
        let offset = match self.blob_offsets.get(&key) {
            Some(&o) => o,
            None => {
                let o = self.blob.add(&TensorData::F32(values.to_vec()))?;
                self.blob_offsets.insert(key, o);
                o
            }
        };
        let name = self.fresh_name(base);
        let ty = tensor_ty(DType::Fp32, shape);
        let blob = BlobFile {
            path: str_lit(WEIGHT_PATH),
            offset: lit(
                Type::new(TypeKind::Scalar(DType::Uint64)),
                PayloadKind::Int(i128::from(offset)),
            ),
            span: Span::default(),
        };
        self.statements.push(Statement {
            results: vec![param(&name, shape)],
            op: Ident::new("const"),
            op_opset: None,
            args: Vec::new(),
            attributes: vec![
                Attribute {
                    name: Ident::new("name"),
                    value: str_lit(&name),
                    span: Span::default(),
                },
                Attribute {
                    name: Ident::new("val"),
                    value: lit(ty, PayloadKind::Blob(Box::new(blob))),
                    span: Span::default(),
                },
            ],
            blocks: Vec::new(),
            span: Span::default(),
        });
        Ok(name)
    }

    /// The first `count` fp32 values of Espresso blob `id` (the blob may be longer: bias blobs
    /// are padded with zeros).
    fn blob_f32(&self, l: &Layer, id: u64, count: usize) -> Result<Vec<f32>, LowerError> {
        let Some((table, data)) = self.weights else {
            return Err(fail(
                l,
                format!("needs weight blob {id} but the bundle has no .espresso.weights"),
            ));
        };
        let bytes = table.blob(data, id).ok_or_else(|| {
            fail(
                l,
                format!("weight blob {id} is not in the .espresso.weights table"),
            )
        })?;
        let need = count
            .checked_mul(4)
            .ok_or_else(|| fail(l, "weight size overflows"))?;
        let Some(bytes) = bytes.get(..need) else {
            return Err(fail(
                l,
                format!(
                    "weight blob {id} has {} bytes, {count} fp32 values need {need}",
                    bytes.len()
                ),
            ));
        };
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
            .collect())
    }

    /// As [`Self::blob_f32`] for an fp16 blob, widened to fp32.
    fn blob_f16(&self, l: &Layer, id: u64, count: usize) -> Result<Vec<f32>, LowerError> {
        let Some((table, data)) = self.weights else {
            return Err(fail(
                l,
                format!("needs weight blob {id} but the bundle has no .espresso.weights"),
            ));
        };
        let bytes = table.blob(data, id).ok_or_else(|| {
            fail(
                l,
                format!("weight blob {id} is not in the .espresso.weights table"),
            )
        })?;
        let need = count
            .checked_mul(2)
            .ok_or_else(|| fail(l, "weight size overflows"))?;
        let Some(bytes) = bytes.get(..need) else {
            return Err(fail(
                l,
                format!(
                    "fp16 weight blob {id} has {} bytes, {count} values need {need}",
                    bytes.len()
                ),
            ));
        };
        Ok(bytes
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes(c.try_into().unwrap_or([0; 2])).to_f32())
            .collect())
    }

    fn input<'b>(&'b self, l: &Layer, i: usize) -> Result<&'b BlobValue, LowerError> {
        let blob = l
            .bottom
            .get(i)
            .ok_or_else(|| fail(l, format!("needs bottom #{i}, has {}", l.bottom.len())))?;
        self.values
            .get(blob)
            .ok_or_else(|| fail(l, format!("bottom `{blob}` is not defined")))
    }

    fn single_top<'b>(&self, l: &'b Layer) -> Result<&'b str, LowerError> {
        match l.top.as_slice() {
            [t] => Ok(t),
            tops => Err(fail(l, format!("expects one top, has {}", tops.len()))),
        }
    }

    /// The shape the `.espresso.shape` file gives `blob`, if any.
    fn expected(&self, blob: &str) -> Option<[usize; 4]> {
        self.shapes.and_then(|s| s.get(blob)).and_then(shape_of)
    }

    /// The blob's rank in the shape file (2 or 4; 4 when unknown).
    fn rank_of(&self, blob: &str) -> i64 {
        self.shapes.and_then(|s| s.get(blob)).map_or(4, |s| s.rank)
    }

    /// Record `value` as the content of `top`, checking its shape against the shape file.
    fn define(
        &mut self,
        l: &Layer,
        top: &str,
        value: String,
        shape: [usize; 4],
    ) -> Result<(), LowerError> {
        if let Some(exp) = self.expected(top)
            && exp != shape
        {
            return Err(fail(
                l,
                format!(
                    "computed shape {shape:?} of `{top}` disagrees with the .espresso.shape file {exp:?} (n, k, h, w)"
                ),
            ));
        }
        self.values.insert(
            top.to_string(),
            BlobValue {
                blob: top.to_string(),
                value,
                shape,
            },
        );
        self.order.push(top.to_string());
        Ok(())
    }

    /// An Espresso nd axis of blob `blob` as an index into `[n, k, h, w]`: rank-4 blobs number
    /// n, k, h, w; rank-2 blobs n, w (features live in w). Negative axes count from the end.
    fn nd_axis(&self, l: &Layer, blob: &str, axis: i64) -> Result<usize, LowerError> {
        let rank = self.rank_of(blob);
        let a = if axis < 0 { axis + rank } else { axis };
        let map: &[usize] = if rank == 2 { &[0, 3] } else { &[0, 1, 2, 3] };
        usize::try_from(a)
            .ok()
            .and_then(|a| map.get(a).copied())
            .ok_or_else(|| {
                fail(
                    l,
                    format!("axis {axis} is out of range for a rank-{rank} blob"),
                )
            })
    }

    fn layer(&mut self, l: &Layer) -> Result<(), LowerError> {
        match (&l.params, l.type_name.as_str()) {
            (LayerParams::Convolution(c), _) => self.convolution(l, c),
            (LayerParams::Pool(p), _) => self.pool(l, p),
            (LayerParams::InnerProduct(p), _) => self.inner_product(l, p),
            (LayerParams::Elementwise(e), _) => self.elementwise(l, e),
            (LayerParams::Activation(a), _) => self.activation(l, a),
            (LayerParams::Batchnorm(bn), _) => self.batchnorm(l, bn),
            (LayerParams::Softmax { .. }, _) => self.softmax(l, None),
            (LayerParams::SoftmaxNd { nd_axis }, _) => self.softmax(l, Some(nd_axis.unwrap_or(-1))),
            (LayerParams::Reshape(r), _) => self.reshape(l, r),
            (LayerParams::Flatten { mode, .. }, _) => self.flatten(l, *mode),
            (LayerParams::Transpose(t), _) => self.transpose(l, t),
            (LayerParams::SplitNd { nd_axis, begins }, _) => self.split_nd(l, *nd_axis, begins),
            (LayerParams::ExpandDims { .. } | LayerParams::Squeeze { .. }, _) => {
                self.reshape_to_file(l)
            }
            (LayerParams::Other, "concat" | "general_concat") => self.concat(l),
            (LayerParams::Other, "reduce") => self.reduce(l),
            (LayerParams::Other, "batch_matmul") => self.batch_matmul(l),
            (LayerParams::Other, "instancenorm_1d") => self.instancenorm(l),
            (LayerParams::Other, "load_constant") => self.load_constant(l),
            (LayerParams::Other, "general_slice") => self.general_slice(l),
            _ => Err(LowerError::Unsupported {
                layer: l.name.clone(),
                kind: l.type_name.clone(),
            }),
        }
    }

    /// Apply the fused activations of conv/inner_product layers.
    fn fused(
        &mut self,
        top: &str,
        mut value: String,
        shape: &[usize],
        relu: bool,
        tanh: bool,
    ) -> String {
        if relu {
            value = self.emit(
                &format!("{top}_relu"),
                "relu",
                vec![name_arg("x", &value)],
                shape,
            );
        }
        if tanh {
            value = self.emit(
                &format!("{top}_tanh"),
                "tanh",
                vec![name_arg("x", &value)],
                shape,
            );
        }
        value
    }

    fn convolution(&mut self, l: &Layer, c: &crate::net::Convolution) -> Result<(), LowerError> {
        let x = self.input(l, 0)?.clone();
        let top = self.single_top(l)?;
        if c.has_batch_norm == Some(true) {
            return Err(fail(
                l,
                "fused batch norm (`has_batch_norm`) is not lowered",
            ));
        }
        let out_c = to_usize(l, "C", c.c, 0)?;
        let in_c = to_usize(l, "K", c.k, 0)?;
        let groups = to_usize(l, "n_groups", c.n_groups, 1)?;
        let kx = to_usize(l, "Nx", c.nx, 1)?;
        let ky = to_usize(l, "Ny", c.ny, 1)?;
        let sx = to_usize(l, "stride_x", c.stride_x, 1)?;
        let sy = to_usize(l, "stride_y", c.stride_y, 1)?;
        if out_c == 0 || in_c == 0 || groups == 0 || kx == 0 || ky == 0 || sx == 0 || sy == 0 {
            return Err(fail(
                l,
                "C, K, n_groups, Nx, Ny and strides must be positive",
            ));
        }
        if in_c != x.shape[1] || in_c % groups != 0 || out_c % groups != 0 {
            return Err(fail(
                l,
                format!(
                    "K = {in_c} input channels (groups {groups}) do not fit input `{}` with {} channels",
                    x.blob, x.shape[1]
                ),
            ));
        }
        let count = out_c * (in_c / groups) * ky * kx;
        let w = match (c.blob_weights, c.blob_weights_f16) {
            (Some(id), _) => (id, self.blob_f32(l, id, count)?),
            (None, Some(id)) => (id, self.blob_f16(l, id, count)?),
            (None, None) if c.quantization_lut_weights_blob.is_some() => {
                return Err(fail(l, "LUT-quantized weights are not lowered"));
            }
            (None, None) => return Err(fail(l, "no `blob_weights`")),
        };
        let wshape = [out_c, in_c / groups, ky, kx];
        let weight = self.weight_const(&format!("{top}_weight"), (w.0, count), &w.1, &wshape)?;
        let (pad_type, pad, out_hw) =
            self.padding(l, &c.padding, [x.shape[2], x.shape[3]], [ky, kx], [sy, sx])?;
        let mut args = vec![
            name_arg("x", &x.value),
            name_arg("weight", &weight),
            lit_arg("strides", ints_lit(&[to_i32(l, sy)?, to_i32(l, sx)?])),
            lit_arg("pad_type", str_lit(pad_type)),
            lit_arg("pad", ints_lit(&pad)),
            lit_arg("dilations", ints_lit(&[1, 1])),
            lit_arg("groups", int_lit(to_i32(l, groups)?)),
        ];
        if c.has_biases == Some(true) {
            let id = c
                .blob_biases
                .ok_or_else(|| fail(l, "has_biases but no `blob_biases`"))?;
            let bias = self.blob_f32(l, id, out_c)?;
            let bias = self.weight_const(&format!("{top}_bias"), (id, out_c), &bias, &[out_c])?;
            args.push(name_arg("bias", &bias));
        }
        let shape = [x.shape[0], out_c, out_hw[0], out_hw[1]];
        let v = self.emit(top, "conv", args, &shape);
        let v = self.fused(
            top,
            v,
            &shape,
            c.fused_relu == Some(true),
            c.fused_tanh == Some(true),
        );
        self.define(l, top, v, shape)
    }

    /// `pad_mode` 0: explicit pads; 1: same; 2: valid (1 and 2 verified on the Chiron net's
    /// shapes). Returns pad_type, pad and the output height/width.
    fn padding(
        &self,
        l: &Layer,
        p: &Padding,
        in_hw: [usize; 2],
        k: [usize; 2],
        s: [usize; 2],
    ) -> Result<(&'static str, Vec<i32>, [usize; 2]), LowerError> {
        let pads = [p.top, p.bottom, p.left, p.right].map(|v| v.unwrap_or(0));
        match p.mode.unwrap_or(0) {
            1 => Ok((
                "same",
                vec![0, 0, 0, 0],
                [in_hw[0].div_ceil(s[0]), in_hw[1].div_ceil(s[1])],
            )),
            2 => Ok((
                "valid",
                vec![0, 0, 0, 0],
                valid_out(l, in_hw, k, s, [0; 4])?,
            )),
            0 => {
                let pads_usize = pads.map(|v| usize::try_from(v).unwrap_or(usize::MAX));
                if pads_usize.contains(&usize::MAX) {
                    return Err(fail(l, "negative padding"));
                }
                let pad: Vec<i32> = pads_usize
                    .iter()
                    .map(|&v| to_i32(l, v))
                    .collect::<Result<_, _>>()?;
                Ok(("custom", pad, valid_out(l, in_hw, k, s, pads_usize)?))
            }
            m => Err(fail(
                l,
                format!("pad_mode {m} is not understood (0 explicit, 1 same, 2 valid)"),
            )),
        }
    }

    fn pool(&mut self, l: &Layer, p: &crate::net::Pool) -> Result<(), LowerError> {
        let x = self.input(l, 0)?.clone();
        let top = self.single_top(l)?;
        let op = match p.kind {
            Some(PoolKind::Max) => "max",
            Some(PoolKind::Average) => "avg",
            Some(PoolKind::Unknown(c)) => {
                return Err(fail(l, format!("avg_or_max = {c} is not understood")));
            }
            None => return Err(fail(l, "no `avg_or_max`")),
        };
        if p.is_global == Some(true) {
            let shape = [x.shape[0], x.shape[1], 1, 1];
            let reduce = if op == "max" {
                "reduce_max"
            } else {
                "reduce_mean"
            };
            let v = self.emit(
                top,
                reduce,
                vec![
                    name_arg("x", &x.value),
                    lit_arg("axes", ints_lit(&[2, 3])),
                    lit_arg("keep_dims", bool_lit(true)),
                ],
                &shape,
            );
            return self.define(l, top, v, shape);
        }
        let kx = to_usize(l, "size_x", p.size_x, 1)?;
        let ky = to_usize(l, "size_y", p.size_y, 1)?;
        let sx = to_usize(l, "stride_x", p.stride_x, 1)?;
        let sy = to_usize(l, "stride_y", p.stride_y, 1)?;
        if kx == 0 || ky == 0 || sx == 0 || sy == 0 {
            return Err(fail(l, "pool sizes and strides must be positive"));
        }
        let (pad_type, pad, out_hw) =
            self.padding(l, &p.padding, [x.shape[2], x.shape[3]], [ky, kx], [sy, sx])?;
        let mut args = vec![
            name_arg("x", &x.value),
            lit_arg("kernel_sizes", ints_lit(&[to_i32(l, ky)?, to_i32(l, kx)?])),
            lit_arg("strides", ints_lit(&[to_i32(l, sy)?, to_i32(l, sx)?])),
            lit_arg("pad_type", str_lit(pad_type)),
            lit_arg("pad", ints_lit(&pad)),
            lit_arg("ceil_mode", bool_lit(false)),
        ];
        if op == "avg" {
            args.push(lit_arg(
                "exclude_padding_from_average",
                bool_lit(p.average_count_exclude_padding.unwrap_or(false)),
            ));
        }
        let shape = [x.shape[0], x.shape[1], out_hw[0], out_hw[1]];
        let v = self.emit(
            top,
            if op == "max" { "max_pool" } else { "avg_pool" },
            args,
            &shape,
        );
        self.define(l, top, v, shape)
    }

    /// `inner_product`: the input's k·h·w features (row-major) times the `[nC, nB]` weight;
    /// the result keeps its nC features in `w` (as the shape file shows for rank-2 blobs).
    fn inner_product(&mut self, l: &Layer, p: &crate::net::InnerProduct) -> Result<(), LowerError> {
        let x = self.input(l, 0)?.clone();
        let top = self.single_top(l)?;
        if p.quantization_mode.is_some_and(|m| m != 0) || p.is_lookup == Some(true) {
            return Err(fail(l, "quantized or lookup inner_product is not lowered"));
        }
        if p.has_prelu == Some(true) {
            return Err(fail(l, "fused PReLU is not lowered"));
        }
        let n_b = to_usize(l, "nB", p.n_b, 0)?;
        let n_c = to_usize(l, "nC", p.n_c, 0)?;
        let features = x.shape[1] * x.shape[2] * x.shape[3];
        if n_b == 0 || n_c == 0 || features != n_b {
            return Err(fail(
                l,
                format!(
                    "nB = {n_b} inputs, nC = {n_c} outputs do not fit input `{}` of shape {:?}",
                    x.blob, x.shape
                ),
            ));
        }
        let count = n_b * n_c;
        let w = match (p.blob_weights, p.blob_weights_f16) {
            (Some(id), _) => (id, self.blob_f32(l, id, count)?),
            (None, Some(id)) => (id, self.blob_f16(l, id, count)?),
            (None, None) => return Err(fail(l, "no `blob_weights`")),
        };
        let weight =
            self.weight_const(&format!("{top}_weight"), (w.0, count), &w.1, &[n_c, n_b])?;
        let flat_shape = [x.shape[0], n_b];
        let flat = if x.shape[1] == 1 && x.shape[2] == 1 {
            None
        } else {
            Some(self.emit(
                &format!("{top}_flat"),
                "reshape",
                vec![
                    name_arg("x", &x.value),
                    lit_arg(
                        "shape",
                        ints_lit(&[to_i32(l, x.shape[0])?, 1, 1, to_i32(l, n_b)?]),
                    ),
                ],
                &[x.shape[0], 1, 1, n_b],
            ))
        };
        let _ = flat_shape;
        let src = flat.unwrap_or_else(|| x.value.clone());
        let mut args = vec![name_arg("x", &src), name_arg("weight", &weight)];
        if p.has_biases == Some(true) {
            let id = p
                .blob_biases
                .ok_or_else(|| fail(l, "has_biases but no `blob_biases`"))?;
            let bias = self.blob_f32(l, id, n_c)?;
            let bias = self.weight_const(&format!("{top}_bias"), (id, n_c), &bias, &[n_c])?;
            args.push(name_arg("bias", &bias));
        }
        let shape = [x.shape[0], 1, 1, n_c];
        let v = self.emit(top, "linear", args, &shape);
        let v = self.fused(
            top,
            v,
            &shape,
            p.has_relu == Some(true),
            p.has_tanh == Some(true),
        );
        self.define(l, top, v, shape)
    }

    fn elementwise(&mut self, l: &Layer, e: &crate::net::Elementwise) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        let alpha = e.alpha.unwrap_or(0.0) as f32;
        let beta = e.beta.unwrap_or(0.0) as f32;
        let (v, shape) = match e.operation {
            Some(op @ (ElementwiseOp::Add | ElementwiseOp::Mul)) => {
                if l.bottom.len() != 2 {
                    return Err(fail(
                        l,
                        format!(
                            "operation {} takes two bottoms, has {}",
                            op.code(),
                            l.bottom.len()
                        ),
                    ));
                }
                let y = self.input(l, 1)?.clone();
                let shape = broadcast(&x.shape, &y.shape).ok_or_else(|| {
                    fail(
                        l,
                        format!("shapes {:?} and {:?} do not broadcast", x.shape, y.shape),
                    )
                })?;
                let mil = if op == ElementwiseOp::Add {
                    "add"
                } else {
                    "mul"
                };
                let args = vec![name_arg("x", &x.value), name_arg("y", &y.value)];
                (self.emit(top, mil, args, &shape), shape)
            }
            Some(op @ (ElementwiseOp::AddAlpha | ElementwiseOp::MulAlpha)) => {
                let mil = if op == ElementwiseOp::AddAlpha {
                    "add"
                } else {
                    "mul"
                };
                let args = vec![name_arg("x", &x.value), lit_arg("y", f32_lit(alpha))];
                (self.emit(top, mil, args, &x.shape), x.shape)
            }
            Some(ElementwiseOp::Clip) => {
                let args = vec![
                    name_arg("x", &x.value),
                    lit_arg("alpha", f32_lit(alpha)),
                    lit_arg("beta", f32_lit(beta)),
                ];
                (self.emit(top, "clip", args, &x.shape), x.shape)
            }
            Some(ElementwiseOp::Unknown(code)) => {
                return Err(fail(
                    l,
                    format!(
                        "elementwise operation {code} is unverified and not lowered (verified: 0, 1, 2, 3, 119)"
                    ),
                ));
            }
            None => return Err(fail(l, "no `operation`")),
        };
        let v = self.fused(top, v, &shape, e.fused_relu == Some(true), false);
        self.define(l, top, v, shape)
    }

    fn activation(&mut self, l: &Layer, a: &crate::net::Activation) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        match a.mode {
            Some(ActivationMode::Relu) => {
                let v = self.emit(top, "relu", vec![name_arg("x", &x.value)], &x.shape);
                self.define(l, top, v, x.shape)
            }
            Some(ActivationMode::Unknown(code)) => Err(fail(
                l,
                match ActivationMode::claim(code) {
                    Some(c) => format!(
                        "activation mode {code} (claimed `{c}`, unverified) is not lowered; verified: 0 (relu)"
                    ),
                    None => format!("activation mode {code} is unknown"),
                },
            )),
            None => Err(fail(l, "no `mode`")),
        }
    }

    /// `batchnorm`: params blob read as `[C, 4]` with columns scale, bias, mean, variance
    /// (espresso2onnx's reading; unverified).
    fn batchnorm(&mut self, l: &Layer, bn: &crate::net::BatchNorm) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        let c = to_usize(l, "C", bn.c, 0)?;
        if c == 0 || c != x.shape[1] {
            return Err(fail(
                l,
                format!(
                    "C = {c} does not match input `{}` with {} channels",
                    x.blob, x.shape[1]
                ),
            ));
        }
        let id = bn
            .blob_batchnorm_params
            .ok_or_else(|| fail(l, "no `blob_batchnorm_params`"))?;
        let params = self.blob_f32(l, id, 4 * c)?;
        let column = |j: usize| -> Vec<f32> { params.iter().skip(j).step_by(4).copied().collect() };
        let mut args = vec![name_arg("x", &x.value)];
        for (j, role) in ["gamma", "beta", "mean", "variance"].iter().enumerate() {
            let v = column(j);
            // Distinct keys per column: the blob id alone names the whole params blob.
            let name =
                self.weight_const(&format!("{top}_{role}"), (id, 4 * c + j + 1), &v, &[c])?;
            args.push(name_arg(role, &name));
        }
        args.push(lit_arg(
            "epsilon",
            f32_lit(bn.training_eps.unwrap_or(1e-5) as f32),
        ));
        let v = self.emit(top, "batch_norm", args, &x.shape);
        self.define(l, top, v, x.shape)
    }

    /// `softmax` (over channels) and `softmax_nd` (over `nd_axis`).
    fn softmax(&mut self, l: &Layer, nd_axis: Option<i64>) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        let axis = match nd_axis {
            Some(a) => self.nd_axis(l, &x.blob, a)?,
            None => 1,
        };
        let args = vec![
            name_arg("x", &x.value),
            lit_arg("axis", int_lit(to_i32(l, axis)?)),
        ];
        let v = self.emit(top, "softmax", args, &x.shape);
        self.define(l, top, v, x.shape)
    }

    fn reshape_value(
        &mut self,
        l: &Layer,
        top: &str,
        x: &BlobValue,
        shape: [usize; 4],
    ) -> Result<(), LowerError> {
        if shape.iter().product::<usize>() != x.shape.iter().product::<usize>() {
            return Err(fail(
                l,
                format!("cannot reshape {:?} to {shape:?}", x.shape),
            ));
        }
        let dims: Vec<i32> = shape
            .iter()
            .map(|&d| to_i32(l, d))
            .collect::<Result<_, _>>()?;
        let args = vec![name_arg("x", &x.value), lit_arg("shape", ints_lit(&dims))];
        let v = self.emit(top, "reshape", args, &shape);
        self.define(l, top, v, shape)
    }

    /// `reshape`: `dst_n/k/h/w`, one of them may be -1 (row-major data order assumed).
    fn reshape(&mut self, l: &Layer, r: &crate::net::Reshape) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        if r.dst_seq.is_some_and(|s| s != 1) {
            return Err(fail(l, "dst_seq other than 1 is not lowered"));
        }
        let dst = [r.dst_n, r.dst_k, r.dst_h, r.dst_w].map(|d| d.unwrap_or(1));
        let total: usize = x.shape.iter().product();
        let known: i64 = dst.iter().filter(|&&d| d != -1).product();
        let mut shape = [0usize; 4];
        let wild = dst.iter().filter(|&&d| d == -1).count();
        for (o, &d) in shape.iter_mut().zip(&dst) {
            *o = if d == -1 {
                if wild != 1 || known <= 0 || total as i64 % known != 0 {
                    return Err(fail(
                        l,
                        format!("cannot resolve -1 in {dst:?} for {total} elements"),
                    ));
                }
                (total as i64 / known) as usize
            } else {
                usize::try_from(d).map_err(|_| fail(l, format!("bad dimension {d}")))?
            };
        }
        self.reshape_value(l, top, &x, shape)
    }

    /// `flatten` mode 0: k·h·w features into `w`.
    fn flatten(&mut self, l: &Layer, mode: Option<i64>) -> Result<(), LowerError> {
        if mode.unwrap_or(0) != 0 {
            return Err(fail(
                l,
                format!("flatten mode {} is not lowered", mode.unwrap_or(0)),
            ));
        }
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        let shape = [x.shape[0], 1, 1, x.shape[1] * x.shape[2] * x.shape[3]];
        self.reshape_value(l, top, &x, shape)
    }

    /// `expand_dims`/`squeeze` change the rank, not the data: a reshape to the `[n, k, h, w]`
    /// the shape file gives the top (required).
    fn reshape_to_file(&mut self, l: &Layer) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        let shape = self.expected(top).ok_or_else(|| {
            fail(
                l,
                format!("the shape of `{top}` is needed from the .espresso.shape file"),
            )
        })?;
        self.reshape_value(l, top, &x, shape)
    }

    /// `transpose`: output dim X is input dim `axis_X`, numbered w=0, h=1, k=2, n=3 (checked
    /// against the Chiron shape file); MIL's `[n, k, h, w]` index is 3 − that number.
    fn transpose(&mut self, l: &Layer, t: &crate::net::Transpose) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        if t.axis_seq.is_some_and(|s| s != 4) {
            return Err(fail(l, "moving the seq axis is not lowered"));
        }
        let src = [
            t.axis_n.unwrap_or(3),
            t.axis_k.unwrap_or(2),
            t.axis_h.unwrap_or(1),
            t.axis_w.unwrap_or(0),
        ];
        let mut perm = [0usize; 4];
        for (p, s) in perm.iter_mut().zip(src) {
            *p = usize::try_from(3 - s)
                .ok()
                .filter(|&v| v < 4)
                .ok_or_else(|| fail(l, format!("axis {s} is out of range")))?;
        }
        let mut sorted = perm;
        sorted.sort_unstable();
        if sorted != [0, 1, 2, 3] {
            return Err(fail(l, format!("axes {src:?} are not a permutation")));
        }
        let shape = perm.map(|p| dim(&x.shape, p));
        let p32: Vec<i32> = perm.iter().map(|&p| p as i32).collect();
        let args = vec![name_arg("x", &x.value), lit_arg("perm", ints_lit(&p32))];
        let v = self.emit(top, "transpose", args, &shape);
        self.define(l, top, v, shape)
    }

    /// `split_nd`: top i is the slice `[begin_i, begin_{i+1})` along `nd_axis` (the last runs
    /// to the end).
    fn split_nd(
        &mut self,
        l: &Layer,
        nd_axis: Option<i64>,
        begins: &[(u32, i64)],
    ) -> Result<(), LowerError> {
        let x = self.input(l, 0)?.clone();
        let axis = self.nd_axis(l, &x.blob, nd_axis.unwrap_or(1))?;
        if begins.len() != l.top.len() {
            return Err(fail(
                l,
                format!("{} begin_<i> keys for {} tops", begins.len(), l.top.len()),
            ));
        }
        let extent = dim(&x.shape, axis);
        for (i, top) in l.top.iter().enumerate() {
            let begin = begins.get(i).map_or(0, |b| b.1);
            let end = begins.get(i + 1).map_or(extent as i64, |b| b.1);
            let (Ok(b), Ok(e)) = (usize::try_from(begin), usize::try_from(end)) else {
                return Err(fail(l, "negative split positions"));
            };
            if b >= e || e > extent {
                return Err(fail(
                    l,
                    format!("split [{begin}, {end}) is outside 0..{extent}"),
                ));
            }
            self.slice(l, top, &x, &[(axis, b, e, 1)])?;
        }
        Ok(())
    }

    /// `slice_by_index` of `x` on the given (axis, begin, end, stride) ranges.
    fn slice(
        &mut self,
        l: &Layer,
        top: &str,
        x: &BlobValue,
        ranges: &[(usize, usize, usize, usize)],
    ) -> Result<(), LowerError> {
        let mut begin = [0i32; 4];
        let mut end = [0i32; 4];
        let mut stride = [1i32; 4];
        let mut shape = x.shape;
        for (e, &d) in end.iter_mut().zip(&x.shape) {
            *e = to_i32(l, d)?;
        }
        for &(axis, b, e, s) in ranges {
            if axis >= 4 || s == 0 || b > e || e > dim(&x.shape, axis) {
                return Err(fail(
                    l,
                    format!(
                        "slice {b}..{e} step {s} on axis {axis} is outside {:?}",
                        x.shape
                    ),
                ));
            }
            set(&mut begin, axis, to_i32(l, b)?);
            set(&mut end, axis, to_i32(l, e)?);
            set(&mut stride, axis, to_i32(l, s)?);
            set(&mut shape, axis, (e - b).div_ceil(s));
        }
        let args = vec![
            name_arg("x", &x.value),
            lit_arg("begin", ints_lit(&begin)),
            lit_arg("end", ints_lit(&end)),
            lit_arg("stride", ints_lit(&stride)),
        ];
        let v = self.emit(top, "slice_by_index", args, &shape);
        self.define(l, top, v, shape)
    }

    /// An integer key of an untyped layer.
    fn raw_int(l: &Layer, key: &str) -> Result<Option<i64>, LowerError> {
        match l.raw.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_bool().map(i64::from))
                .map(Some)
                .ok_or_else(|| fail(l, format!("`{key}` is not an integer"))),
        }
    }

    /// An integer-list key (`[1, 2]`) of an untyped layer.
    fn raw_ints(l: &Layer, key: &str) -> Result<Option<Vec<i64>>, LowerError> {
        match l.raw.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_i64()
                        .ok_or_else(|| fail(l, format!("`{key}` holds a non-integer")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => v
                .as_i64()
                .map(|i| Some(vec![i]))
                .ok_or_else(|| fail(l, format!("`{key}` is not an integer list"))),
        }
    }

    /// `concat` (along channels unless an nd `axis` is given) and `general_concat` (`axis`).
    fn concat(&mut self, l: &Layer) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        if l.bottom.is_empty() {
            return Err(fail(l, "no bottoms"));
        }
        let first = self.input(l, 0)?.clone();
        let axis = match Self::raw_int(l, "axis")? {
            Some(a) => self.nd_axis(l, &first.blob, a)?,
            None => 1,
        };
        let mut shape = first.shape;
        set(&mut shape, axis, 0);
        let mut items = Vec::new();
        for i in 0..l.bottom.len() {
            let b = self.input(l, i)?.clone();
            for d in 0..4 {
                if d != axis && dim(&b.shape, d) != dim(&first.shape, d) {
                    return Err(fail(
                        l,
                        format!(
                            "inputs {:?} and {:?} differ off the concat axis",
                            first.shape, b.shape
                        ),
                    ));
                }
            }
            let grown = dim(&shape, axis) + dim(&b.shape, axis);
            set(&mut shape, axis, grown);
            items.push(ArgValue::Name(Ident::new(b.value.as_str())));
        }
        let args = vec![
            arg(
                "values",
                ArgValue::Tuple {
                    items,
                    span: Span::default(),
                },
            ),
            lit_arg("axis", int_lit(to_i32(l, axis)?)),
            lit_arg("interleave", bool_lit(false)),
        ];
        let v = self.emit(top, "concat", args, &shape);
        self.define(l, top, v, shape)
    }

    /// `reduce`: `mode` 0 sum, 1 mean, 2 prod, 3 min, 4 max (espresso2onnx's table, keys
    /// unverified); `axes` nd axes; dims are kept.
    fn reduce(&mut self, l: &Layer) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        let op = match Self::raw_int(l, "mode")?.unwrap_or(0) {
            0 => "reduce_sum",
            1 => "reduce_mean",
            2 => "reduce_prod",
            3 => "reduce_min",
            4 => "reduce_max",
            m => return Err(fail(l, format!("reduce mode {m} is not lowered"))),
        };
        if Self::raw_int(l, "keepdims")?.is_some_and(|k| k == 0) {
            return Err(fail(l, "keepdims = 0 is not lowered"));
        }
        let axes = Self::raw_ints(l, "axes")?.ok_or_else(|| fail(l, "no `axes`"))?;
        let mut shape = x.shape;
        let mut mil_axes = Vec::new();
        for a in axes {
            let m = self.nd_axis(l, &x.blob, a)?;
            set(&mut shape, m, 1);
            mil_axes.push(to_i32(l, m)?);
        }
        let args = vec![
            name_arg("x", &x.value),
            lit_arg("axes", ints_lit(&mil_axes)),
            lit_arg("keep_dims", bool_lit(true)),
        ];
        let v = self.emit(top, op, args, &shape);
        self.define(l, top, v, shape)
    }

    /// `batch_matmul`: `[n, k]` batches of `h × w` matrices; `transpose_a`/`transpose_b`.
    fn batch_matmul(&mut self, l: &Layer) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let a = self.input(l, 0)?.clone();
        let b = self.input(l, 1)?.clone();
        let ta = Self::raw_int(l, "transpose_a")?.unwrap_or(0) != 0;
        let tb = Self::raw_int(l, "transpose_b")?.unwrap_or(0) != 0;
        let (m, ka) = if ta {
            (a.shape[3], a.shape[2])
        } else {
            (a.shape[2], a.shape[3])
        };
        let (kb, n) = if tb {
            (b.shape[3], b.shape[2])
        } else {
            (b.shape[2], b.shape[3])
        };
        let batch = broadcast(&[a.shape[0], a.shape[1]], &[b.shape[0], b.shape[1]]);
        let Some(batch) = batch.filter(|_| ka == kb) else {
            return Err(fail(
                l,
                format!("cannot multiply {:?} by {:?}", a.shape, b.shape),
            ));
        };
        let shape = [batch[0], batch[1], m, n];
        let args = vec![
            name_arg("x", &a.value),
            name_arg("y", &b.value),
            lit_arg("transpose_x", bool_lit(ta)),
            lit_arg("transpose_y", bool_lit(tb)),
        ];
        let v = self.emit(top, "matmul", args, &shape);
        self.define(l, top, v, shape)
    }

    /// `instancenorm_1d`: normalise each (n, k) over h·w with `epsilon` (keys unverified; no
    /// scale or bias blob known).
    fn instancenorm(&mut self, l: &Layer) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        let eps = l.raw.get("epsilon").and_then(Value::as_f64).unwrap_or(1e-5);
        let args = vec![
            name_arg("x", &x.value),
            lit_arg("epsilon", f32_lit(eps as f32)),
        ];
        let v = self.emit(top, "instance_norm", args, &x.shape);
        self.define(l, top, v, x.shape)
    }

    /// `load_constant`: blob `blob_weights` as fp32, shaped as the shape file gives the top.
    fn load_constant(&mut self, l: &Layer) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let shape = self.expected(top).ok_or_else(|| {
            fail(
                l,
                format!("the shape of `{top}` is needed from the .espresso.shape file"),
            )
        })?;
        let id = Self::raw_int(l, "blob_weights")?
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| fail(l, "no `blob_weights`"))?;
        let count: usize = shape.iter().product();
        let values = self.blob_f32(l, id, count)?;
        let v = self.weight_const(top, (id, count), &values, &shape)?;
        self.define(l, top, v, shape)
    }

    /// `general_slice`: `starts`, `ends`, `strides` (optional), `axes` (nd axes; default all).
    fn general_slice(&mut self, l: &Layer) -> Result<(), LowerError> {
        let top = self.single_top(l)?;
        let x = self.input(l, 0)?.clone();
        let starts = Self::raw_ints(l, "starts")?.ok_or_else(|| fail(l, "no `starts`"))?;
        let ends = Self::raw_ints(l, "ends")?.ok_or_else(|| fail(l, "no `ends`"))?;
        let strides = Self::raw_ints(l, "strides")?.unwrap_or_else(|| vec![1; starts.len()]);
        let axes = match Self::raw_ints(l, "axes")? {
            Some(a) => a,
            None => (0..starts.len() as i64).collect(),
        };
        if ends.len() != starts.len() || strides.len() != starts.len() || axes.len() != starts.len()
        {
            return Err(fail(l, "starts, ends, strides and axes differ in length"));
        }
        let mut ranges = Vec::new();
        for (((&a, &start), &end), &stride) in axes.iter().zip(&starts).zip(&ends).zip(&strides) {
            let axis = self.nd_axis(l, &x.blob, a)?;
            let extent = dim(&x.shape, axis) as i64;
            let clamp = |v: i64| (if v < 0 { v + extent } else { v }).clamp(0, extent) as usize;
            let s = usize::try_from(stride).ok().filter(|&s| s > 0);
            let s = s.ok_or_else(|| fail(l, "only positive strides are lowered"))?;
            ranges.push((axis, clamp(start), clamp(end), s));
        }
        self.slice(l, top, &x, &ranges)
    }
}

/// Output height/width of a window over `in_hw` with explicit pads `[t, b, l, r]`.
fn valid_out(
    l: &Layer,
    in_hw: [usize; 2],
    k: [usize; 2],
    s: [usize; 2],
    pads: [usize; 4],
) -> Result<[usize; 2], LowerError> {
    let [pt, pb, pl, pr] = pads;
    let padded = [in_hw[0] + pt + pb, in_hw[1] + pl + pr];
    let mut out = [0; 2];
    for (((o, p), k), s) in out.iter_mut().zip(padded).zip(k).zip(s) {
        if p < k {
            return Err(fail(
                l,
                format!("window {k} is larger than the padded input {p}"),
            ));
        }
        *o = (p - k) / s + 1;
    }
    Ok(out)
}

/// `shape[axis]`, 0 when out of range (axes are checked where they are made).
fn dim(shape: &[usize; 4], axis: usize) -> usize {
    shape.get(axis).copied().unwrap_or(0)
}

/// `a[axis] = v` when `axis` is in range.
fn set<T>(a: &mut [T; 4], axis: usize, v: T) {
    if let Some(slot) = a.get_mut(axis) {
        *slot = v;
    }
}

/// Numpy-style broadcast of two shapes of equal rank.
fn broadcast<const N: usize>(a: &[usize; N], b: &[usize; N]) -> Option<[usize; N]> {
    let mut out = [0; N];
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_makes_identifiers() {
        assert_eq!(sanitize("sequential/conv1/Relu"), "sequential_conv1_Relu");
        assert_eq!(sanitize("227_0"), "_227_0");
        assert_eq!(sanitize("input_1"), "input_1");
    }

    #[test]
    fn broadcast_rules() {
        assert_eq!(broadcast(&[1, 3, 1, 4], &[2, 3, 5, 1]), Some([2, 3, 5, 4]));
        assert_eq!(broadcast(&[2, 3], &[3, 3]), None);
    }
}
