//! Lowering a [`Graph`] to MIL text (through anekit-mil's AST and canonical printer) and a
//! weight.bin (through anekit-blob's writer) in the dialect of a target chip.

use crate::graph::{ConstData, Graph, Operand, TensorId, ValueDef};
use anekit_blob::{BlobLayout, BlobWriter};
use anekit_core::{DType, TensorData};
use anekit_mil::ast::{self, Ident, Literal, Payload, PayloadKind, Span};
use half::f16;
use std::collections::HashMap;

/// The MIL form a chip accepts (reference/private-api.md §9; the facts live in
/// `anekit_kb::chips`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Dialect {
    /// `1.0` or `1.3`.
    pub program_version: &'static str,
    /// `ios16` or `ios18`.
    pub opset: &'static str,
    /// fp32 inputs/outputs with in-graph casts are accepted; otherwise fp16 I/O and no `cast`.
    pub fp32_io: bool,
    /// Outputs are produced by `identity` ops (the M1/M2 form).
    pub identity_outputs: bool,
    /// `cast` ops are accepted (false on M1/M2: "cast op unsupported").
    pub casts: bool,
}

/// A target: the chip name as given and its dialect.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Target {
    pub chip: String,
    pub dialect: Dialect,
}

#[derive(Debug, thiserror::Error)]
pub enum LowerError {
    #[error("unknown chip `{0}` (e.g. m1, m2, m3, m4, m4-pro, m5)")]
    UnknownChip(String),
    #[error("chip `{0}` has no MIL dialect in the knowledge base")]
    NoDialect(String),
    #[error("constant `{name}`: {reason}")]
    Const { name: String, reason: String },
    #[error("weights: {0}")]
    Blob(#[from] anekit_blob::BlobError),
    #[error("{0}")]
    Unsupported(String),
}

impl Target {
    /// The target for a chip spelling (`m1`, `M4 Pro`, `m3-max` ...), with the dialect the
    /// knowledge base records for its generation (`anekit_kb::chips`).
    pub fn chip(name: &str) -> Result<Target, LowerError> {
        let chip =
            anekit_kb::chips::by_name(name).ok_or_else(|| LowerError::UnknownChip(name.into()))?;
        let fact = chip
            .mil
            .as_ref()
            .ok_or_else(|| LowerError::NoDialect(name.into()))?;
        let d = fact.dialect;
        Ok(Target {
            chip: chip.name.to_string(),
            dialect: Dialect {
                program_version: d.program_version,
                opset: d.opset,
                fp32_io: d.fp32_io,
                identity_outputs: d.identity_outputs,
                casts: d.fp32_io,
            },
        })
    }

    pub fn is_verbose(&self) -> bool {
        self.dialect.program_version == "1.0"
    }
}

/// Lowering options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerOptions {
    /// Use fp32 function inputs/outputs (with casts) when the dialect allows it.
    pub fp32_io: bool,
    /// The BLOBFILE path.
    pub weight_path: String,
    /// Float constants with at least this many elements go to weight.bin (coremltools: 10).
    pub blob_threshold: usize,
}

impl Default for LowerOptions {
    fn default() -> Self {
        LowerOptions {
            fp32_io: true,
            weight_path: "@model_path/weights/weight.bin".into(),
            blob_threshold: 10,
        }
    }
}

/// A lowered program.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub text: String,
    /// weight.bin bytes (a header-only file when nothing went to the blob).
    pub weights: Vec<u8>,
    /// Function input and output names and dtypes, in order.
    pub inputs: Vec<(String, DType, Vec<usize>)>,
    pub outputs: Vec<(String, DType, Vec<usize>)>,
}

impl Lowered {
    /// Write `model.mil` and `weights/weight.bin` under `dir` (the `@model_path` root).
    pub fn write_to(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("weights"))?;
        std::fs::write(dir.join("model.mil"), &self.text)?;
        std::fs::write(dir.join("weights").join("weight.bin"), &self.weights)
    }
}

fn lit(ty: ast::TypeKind, kind: PayloadKind) -> Literal {
    Literal {
        ty: ast::Type::new(ty),
        value: Payload {
            kind,
            span: Span::default(),
        },
        span: Span::default(),
    }
}

fn scalar_ty(d: DType) -> ast::TypeKind {
    ast::TypeKind::Tensor {
        dtype: d,
        shape: Vec::new(),
    }
}

fn tensor_ty(d: DType, shape: &[usize]) -> ast::TypeKind {
    ast::TypeKind::Tensor {
        dtype: d,
        shape: shape.iter().map(|&n| ast::Dim::Known(n as u64)).collect(),
    }
}

fn str_lit(s: &str) -> Literal {
    lit(scalar_ty(DType::String), PayloadKind::Str(s.into()))
}

fn param(ty: ast::TypeKind, name: &str) -> ast::Param {
    ast::Param {
        ty: ast::Type::new(ty),
        name: Ident::new(name),
        span: Span::default(),
    }
}

fn arg(name: &str, value: ast::ArgValue) -> ast::Argument {
    ast::Argument {
        name: Ident::new(name),
        value,
        span: Span::default(),
    }
}

fn attr(name: &str, value: Literal) -> ast::Attribute {
    ast::Attribute {
        name: Ident::new(name),
        value,
        span: Span::default(),
    }
}

fn statement(
    results: Vec<ast::Param>,
    op: &str,
    args: Vec<ast::Argument>,
    attributes: Vec<ast::Attribute>,
) -> ast::Statement {
    ast::Statement {
        results,
        op: Ident::new(op),
        op_opset: None,
        args,
        attributes,
        blocks: Vec::new(),
        span: Span::default(),
    }
}

fn fp16_round(v: f32) -> f64 {
    f64::from(f16::from_f32(v).to_f32())
}

/// The payload of a constant written inline.
fn inline_payload(g: &Graph, id: TensorId) -> Result<PayloadKind, LowerError> {
    let info = g.value(id);
    let scalar = info.shape.is_empty();
    let round = |v: f32| match info.dtype {
        DType::Fp16 => fp16_round(v),
        _ => f64::from(v),
    };
    let array = |elements: ast::Elements| {
        PayloadKind::Array(Box::new(ast::Array {
            shape: info.shape.clone(),
            elements,
        }))
    };
    let c = info.constant().ok_or_else(|| LowerError::Const {
        name: info.name.clone(),
        reason: "not a constant".into(),
    })?;
    Ok(match c {
        ConstData::Str(s) => PayloadKind::Str(s.as_str().into()),
        ConstData::Bools(b) if scalar => PayloadKind::Bool(b.first().copied().unwrap_or(false)),
        ConstData::Bools(b) => array(ast::Elements::Bool(b.clone())),
        ConstData::Ints(i) if scalar => {
            PayloadKind::Int(i128::from(i.first().copied().unwrap_or(0)))
        }
        ConstData::Ints(i) if info.dtype.is_float() => array(ast::Elements::Float(
            i.iter().map(|&x| ast::Float(x as f64)).collect(),
        )),
        ConstData::Ints(i) => array(ast::Elements::Int(
            i.iter().map(|&x| i128::from(x)).collect(),
        )),
        ConstData::Floats(_) | ConstData::Random { .. } => {
            let f = g.const_floats(id).unwrap_or_default();
            if scalar {
                PayloadKind::Float(ast::Float(round(f.first().copied().unwrap_or(0.0))))
            } else if info.dtype.is_int() {
                array(ast::Elements::Int(f.iter().map(|&x| x as i128).collect()))
            } else {
                array(ast::Elements::Float(
                    f.iter().map(|&x| ast::Float(round(x))).collect(),
                ))
            }
        }
    })
}

/// Lower `g` for `target`. The text is canonical (anekit-mil's printer) in the target's
/// dialect; float constants of `blob_threshold` or more elements go to weight.bin in the order
/// they are first used.
pub fn lower(g: &Graph, target: &Target, options: &LowerOptions) -> Result<Lowered, LowerError> {
    lower_with(g, target, options, Sink::Write(BlobWriter::new()))
}

/// The text of [`lower`] (identical, BLOBFILE offsets included) without materialising the
/// weights: `weights` is empty. For checking or linting full-size models cheaply.
pub fn lower_text(
    g: &Graph,
    target: &Target,
    options: &LowerOptions,
) -> Result<Lowered, LowerError> {
    lower_with(g, target, options, Sink::Plan(BlobLayout::new()))
}

/// Where blob constants go: the real writer, or only the writer's offsets.
enum Sink {
    Write(BlobWriter),
    Plan(BlobLayout),
}

impl Sink {
    fn add(&mut self, g: &Graph, id: TensorId, dtype: DType) -> Result<u64, LowerError> {
        match self {
            Sink::Write(w) => {
                let f = g.const_floats(id).unwrap_or_default();
                let data = match dtype {
                    DType::Fp16 => TensorData::F16(f.iter().map(|&x| f16::from_f32(x)).collect()),
                    _ => TensorData::F32(f),
                };
                Ok(w.add(&data)?)
            }
            Sink::Plan(layout) => {
                let width = if dtype == DType::Fp16 { 2 } else { 4 };
                Ok(layout.add(g.value(id).element_count() as u64 * width)?)
            }
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Sink::Write(w) => w.finish(),
            Sink::Plan(_) => Vec::new(),
        }
    }
}

fn lower_with(
    g: &Graph,
    target: &Target,
    options: &LowerOptions,
    mut blob: Sink,
) -> Result<Lowered, LowerError> {
    let d = target.dialect;
    let fp32_io = d.fp32_io && options.fp32_io;
    if !d.casts && g.nodes.iter().any(|n| n.op == "cast") {
        return Err(LowerError::Unsupported(format!(
            "the graph has a `cast` op, which {} does not support (fp16 I/O only)",
            target.chip
        )));
    }
    // Names: graph names, except that values feeding an output renaming (identity/cast) get a
    // suffix so the function outputs keep the graph's output names.
    let mut names: Vec<String> = g.values.iter().map(|v| v.name.clone()).collect();
    let wrap_outputs = d.identity_outputs || fp32_io;
    let mut out_names = Vec::new();
    for (i, o) in g.outputs.iter().enumerate() {
        let base = g.value(*o).name.clone();
        let unique = if g.outputs[..i].contains(o) {
            format!("{base}_{i}")
        } else {
            base.clone()
        };
        if wrap_outputs && !g.outputs[..i].contains(o) {
            names[o.index()] = format!("{base}_fp16");
        }
        out_names.push(unique);
    }
    let mut input_names = Vec::new();
    for i in &g.inputs {
        let base = g.value(*i).name.clone();
        if fp32_io {
            names[i.index()] = format!("{base}_fp16");
        }
        input_names.push(base);
    }

    let mut params = Vec::new();
    let mut statements = Vec::new();
    let mut io_in = Vec::new();
    let mut io_out = Vec::new();
    for (i, id) in g.inputs.iter().enumerate() {
        let info = g.value(*id);
        let io_dtype = if fp32_io && info.dtype == DType::Fp16 {
            DType::Fp32
        } else {
            info.dtype
        };
        params.push(param(tensor_ty(io_dtype, &info.shape), &input_names[i]));
        io_in.push((input_names[i].clone(), io_dtype, info.shape.clone()));
        if io_dtype != info.dtype {
            let dt = format!("{}_dtype", input_names[i]);
            statements.push(const_statement(
                &dt,
                scalar_ty(DType::String),
                str_lit(info.dtype.mil_name()),
            ));
            statements.push(statement(
                vec![param(
                    tensor_ty(info.dtype, &info.shape),
                    &names[id.index()],
                )],
                "cast",
                vec![
                    arg("dtype", ast::ArgValue::Name(Ident::new(dt.as_str()))),
                    arg(
                        "x",
                        ast::ArgValue::Name(Ident::new(input_names[i].as_str())),
                    ),
                ],
                vec![attr("name", str_lit(&names[id.index()]))],
            ));
        }
    }

    let mut emitted = vec![false; g.values.len()];
    let mut emit_const = |id: TensorId,
                          statements: &mut Vec<ast::Statement>,
                          blob: &mut Sink|
     -> Result<(), LowerError> {
        if emitted[id.index()] {
            return Ok(());
        }
        emitted[id.index()] = true;
        let info = g.value(id);
        let name = &names[id.index()];
        let ty = if info.shape.is_empty() {
            scalar_ty(info.dtype)
        } else {
            tensor_ty(info.dtype, &info.shape)
        };
        let is_float_data = matches!(
            info.constant(),
            Some(ConstData::Floats(_) | ConstData::Random { .. })
        );
        let val = if is_float_data
            && info.dtype.is_float()
            && info.element_count() >= options.blob_threshold
        {
            if !matches!(info.dtype, DType::Fp16 | DType::Fp32) {
                return Err(LowerError::Const {
                    name: name.clone(),
                    reason: format!(
                        "{} constants cannot be written to weight.bin",
                        info.dtype.mil_name()
                    ),
                });
            }
            let offset = blob.add(g, id, info.dtype)?;
            lit(
                ty.clone(),
                PayloadKind::Blob(Box::new(ast::BlobFile {
                    path: str_lit(&options.weight_path),
                    offset: lit(
                        scalar_ty(DType::Uint64),
                        PayloadKind::Int(i128::from(offset)),
                    ),
                    span: Span::default(),
                })),
            )
        } else {
            lit(ty.clone(), inline_payload(g, id)?)
        };
        statements.push(statement(
            vec![param(ty, name)],
            "const",
            Vec::new(),
            vec![attr("name", str_lit(name)), attr("val", val)],
        ));
        Ok(())
    };

    for node in &g.nodes {
        // Constants in the printer's argument order (sorted by name), so a printed program
        // read back and lowered again comes out identical.
        let mut sorted: Vec<&(String, Operand)> = node.args.iter().collect();
        sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        for (_, a) in sorted {
            let ids = match a {
                Operand::Value(v) => std::slice::from_ref(v),
                Operand::Tuple(vs) => vs.as_slice(),
            };
            for &u in ids {
                if matches!(g.value(u).def, ValueDef::Const(_)) {
                    emit_const(u, &mut statements, &mut blob)?;
                }
            }
        }
        let args = node
            .args
            .iter()
            .map(|(n, a)| {
                let v = match a {
                    Operand::Value(v) => ast::ArgValue::Name(Ident::new(names[v.index()].as_str())),
                    Operand::Tuple(vs) => ast::ArgValue::Tuple {
                        items: vs
                            .iter()
                            .map(|v| ast::ArgValue::Name(Ident::new(names[v.index()].as_str())))
                            .collect(),
                        span: Span::default(),
                    },
                };
                arg(n, v)
            })
            .collect();
        let results = node
            .outputs
            .iter()
            .map(|o| {
                let info = g.value(*o);
                let ty = if info.shape.is_empty() {
                    scalar_ty(info.dtype)
                } else {
                    tensor_ty(info.dtype, &info.shape)
                };
                param(ty, &names[o.index()])
            })
            .collect();
        let op_name = node
            .outputs
            .first()
            .map(|o| names[o.index()].clone())
            .unwrap_or_default();
        statements.push(statement(
            results,
            &node.op,
            args,
            vec![attr("name", str_lit(&op_name))],
        ));
    }
    // Outputs that are constants or inputs need their definitions too.
    for o in &g.outputs {
        if matches!(g.value(*o).def, ValueDef::Const(_)) {
            emit_const(*o, &mut statements, &mut blob)?;
        }
    }
    let mut seen = Vec::new();
    for (i, o) in g.outputs.iter().enumerate() {
        let info = g.value(*o);
        let src = names[o.index()].clone();
        let out = &out_names[i];
        let repeated = seen.contains(o);
        seen.push(*o);
        if fp32_io && info.dtype == DType::Fp16 {
            let dt = format!("{out}_dtype");
            statements.push(const_statement(
                &dt,
                scalar_ty(DType::String),
                str_lit("fp32"),
            ));
            statements.push(statement(
                vec![param(tensor_ty(DType::Fp32, &info.shape), out)],
                "cast",
                vec![
                    arg("dtype", ast::ArgValue::Name(Ident::new(dt.as_str()))),
                    arg("x", ast::ArgValue::Name(Ident::new(src.as_str()))),
                ],
                vec![attr("name", str_lit(out))],
            ));
            io_out.push((out.clone(), DType::Fp32, info.shape.clone()));
        } else if d.identity_outputs || repeated || (fp32_io && src != *out) {
            statements.push(statement(
                vec![param(tensor_ty(info.dtype, &info.shape), out)],
                "identity",
                vec![arg("x", ast::ArgValue::Name(Ident::new(src.as_str())))],
                vec![attr("name", str_lit(out))],
            ));
            io_out.push((out.clone(), info.dtype, info.shape.clone()));
        } else {
            io_out.push((out.clone(), info.dtype, info.shape.clone()));
        }
    }

    let string = scalar_ty(DType::String);
    let build_info = lit(
        ast::TypeKind::Dict {
            key: Box::new(ast::Type::new(string.clone())),
            value: Box::new(ast::Type::new(string)),
        },
        PayloadKind::Dict(
            // The fixed string the ANE projects copy (reference/mil-text.md §2.1); the
            // compiler is not known to check it.
            [
                ("coremlc-component-MIL", "3510.2.1"),
                ("coremlc-version", "3505.4.1"),
                ("coremltools-component-milinternal", ""),
                ("coremltools-version", "9.0"),
            ]
            .iter()
            .map(|(k, v)| ast::DictEntry {
                key: Payload {
                    kind: PayloadKind::Str((*k).into()),
                    span: Span::default(),
                },
                value: Payload {
                    kind: PayloadKind::Str((*v).into()),
                    span: Span::default(),
                },
                span: Span::default(),
            })
            .collect(),
        ),
    );
    let program = ast::Program {
        version: ast::Version {
            text: d.program_version.into(),
            span: Span::default(),
        },
        attributes: vec![attr("buildInfo", build_info)],
        functions: vec![ast::Function {
            name: Ident::new("main"),
            opset: Ident::new(d.opset),
            params,
            attributes: Vec::new(),
            body: ast::Block {
                statements,
                outputs: out_names.iter().map(|n| Ident::new(n.as_str())).collect(),
                span: Span::default(),
            },
            span: Span::default(),
        }],
        trailing_newline: true,
        span: Span::default(),
    };
    let dialect = if target.is_verbose() {
        ast::Dialect::V1_0
    } else {
        ast::Dialect::V1_3
    };
    let text = anekit_mil::print(
        &program,
        &anekit_mil::PrintOptions {
            dialect: Some(dialect),
            final_newline: Some(true),
        },
    );
    Ok(Lowered {
        text,
        weights: blob.finish(),
        inputs: io_in,
        outputs: io_out,
    })
}

fn const_statement(name: &str, ty: ast::TypeKind, val: Literal) -> ast::Statement {
    statement(
        vec![param(ty, name)],
        "const",
        Vec::new(),
        vec![attr("name", str_lit(name)), attr("val", val)],
    )
}

/// The names of the constants written to weight.bin, in file order (for tests and reports).
pub fn blob_constant_names(g: &Graph, options: &LowerOptions) -> Vec<String> {
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for node in &g.nodes {
        let mut sorted: Vec<&(String, Operand)> = node.args.iter().collect();
        sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let uses = sorted.into_iter().flat_map(|(_, a)| match a {
            Operand::Value(v) => std::slice::from_ref(v).iter().copied(),
            Operand::Tuple(vs) => vs.iter().copied(),
        });
        for u in uses {
            let info = g.value(u);
            if matches!(
                info.constant(),
                Some(ConstData::Floats(_) | ConstData::Random { .. })
            ) && info.dtype.is_float()
                && info.element_count() >= options.blob_threshold
                && seen.insert(u, ()).is_none()
            {
                out.push(info.name.clone());
            }
        }
    }
    out
}
