//! `ane inspect PATH`: detect what a file or folder is and summarise it.
//!
//! Detection is `anekit_formats::detect`; each format family's summary lives with its other
//! commands (cmd/blob.rs, cmd/hwx_inspect.rs, cmd/espresso.rs). MIL text and folders are
//! summarised here.

use crate::{CmdResult, Ctx};
use anekit_formats::Kind;
use anekit_mil::ast::{self, ArgValue, Dim, PayloadKind, TypeKind};
use miette::{IntoDiagnostic, WrapErr, miette};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct InspectArgs {
    /// A file or folder (model.mil, weight.bin, .hwx, .anec, .espresso.*, net.plist, bundles).
    pub path: PathBuf,
}

/// Files larger than this are not read whole for a summary (none of the formats needs it;
/// blob files are memory-mapped by their own reader).
const MAX_READ: u64 = 1 << 30;

pub fn run(args: InspectArgs, ctx: &Ctx) -> CmdResult {
    let path = &args.path;
    let kind = anekit_formats::detect_path(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))?;
    match kind {
        Kind::MlPackage => super::convert::inspect_package(path, ctx),
        Kind::MlModelc => inspect_folder(path, kind, ctx),
        Kind::Unknown if path.is_dir() => inspect_folder(path, kind, ctx),
        Kind::Unknown => Err(miette!(
            "{}: not a format anekit knows (checked magic numbers and the file name)",
            path.display()
        )),
        _ => {
            let bytes = read_file(path)?;
            inspect_file(path, kind, &bytes, ctx)
        }
    }
}

fn read_file(path: &Path) -> miette::Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))?
        .len();
    if len > MAX_READ {
        return Err(miette!(
            "{}: {len} bytes is larger than the {MAX_READ}-byte limit for inspect",
            path.display()
        ));
    }
    std::fs::read(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))
}

fn inspect_file(path: &Path, kind: Kind, bytes: &[u8], ctx: &Ctx) -> CmdResult {
    match kind {
        Kind::MilText => inspect_mil(path, bytes, ctx),
        Kind::BlobStorage => super::blob::inspect(path, bytes, ctx),
        Kind::Npy => inspect_npy(path, bytes, ctx),
        Kind::Hwx => super::hwx_inspect::inspect_hwx(path, bytes, ctx),
        Kind::Anec | Kind::AnecPayload => super::hwx_inspect::inspect_anec(path, bytes, ctx),
        Kind::Pbze
        | Kind::Lzfse
        | Kind::EspressoNet
        | Kind::EspressoShape
        | Kind::EspressoWeights
        | Kind::Plist => super::espresso::inspect(path, bytes, ctx),
        Kind::MlModel => super::convert::inspect_mlmodel(path, bytes, ctx),
        Kind::CoreMlData | Kind::Json | Kind::MlPackage | Kind::MlModelc => {
            recognised_only(path, kind, bytes.len(), ctx)
        }
        Kind::Unknown => Err(miette!("{}: not a format anekit knows", path.display())),
    }
}

/// Kinds that are detected but not yet read in detail (Core ML protobufs and metadata come
/// with the Core ML bundle reader): say what the file is, and that nothing more is known.
fn recognised_only(path: &Path, kind: Kind, len: usize, ctx: &Ctx) -> CmdResult {
    #[derive(Serialize)]
    struct Recognised {
        file: String,
        kind: Kind,
        bytes: usize,
        detail: &'static str,
    }
    let r = Recognised {
        file: path.display().to_string(),
        kind,
        bytes: len,
        detail: "detected only; anekit does not summarise this kind yet",
    };
    ctx.emit(&r, || {
        format!(
            "{}: {} ({} bytes); {}",
            r.file,
            kind.describe(),
            r.bytes,
            r.detail
        )
    })
}

// ---------------------------------------------------------------------------------------------
// MIL text

#[derive(Serialize)]
struct MilSummary {
    file: String,
    kind: Kind,
    version: String,
    build_info: BTreeMap<String, String>,
    functions: Vec<FunctionSummary>,
}

#[derive(Serialize)]
struct FunctionSummary {
    name: String,
    opset: String,
    inputs: Vec<ValueSummary>,
    outputs: Vec<ValueSummary>,
    statements: usize,
    /// Op name → number of statements using it, most used first.
    ops: Vec<(String, usize)>,
    /// Elements in all constant tensors (`const` values and inline literals).
    constant_elements: u64,
    blobs: Vec<BlobSummary>,
}

#[derive(Serialize)]
struct ValueSummary {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct BlobSummary {
    path: String,
    offset: u64,
    #[serde(rename = "type")]
    ty: String,
    elements: Option<u64>,
}

fn inspect_mil(path: &Path, bytes: &[u8], ctx: &Ctx) -> CmdResult {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        miette!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.valid_up_to()
        )
    })?;
    let program = anekit_mil::parse(text).map_err(|e| miette!("{}:{}", path.display(), e))?;
    let summary = summarise_mil(path, &program);
    ctx.emit(&summary, || render_mil(&summary))
}

fn summarise_mil(path: &Path, program: &ast::Program) -> MilSummary {
    let mut build_info = BTreeMap::new();
    if let Some(PayloadKind::Dict(entries)) =
        program.attribute("buildInfo").map(|lit| &lit.value.kind)
    {
        for e in entries {
            if let (PayloadKind::Str(k), PayloadKind::Str(v)) = (&e.key.kind, &e.value.kind) {
                build_info.insert(k.to_string(), v.to_string());
            }
        }
    }
    let functions = program.functions.iter().map(summarise_function).collect();
    MilSummary {
        file: path.display().to_string(),
        kind: Kind::MilText,
        version: program.version.text.clone(),
        build_info,
        functions,
    }
}

fn summarise_function(f: &ast::Function) -> FunctionSummary {
    let mut types: BTreeMap<&str, &ast::Type> = BTreeMap::new();
    for p in &f.params {
        types.insert(p.name.as_str(), &p.ty);
    }
    let mut ops: BTreeMap<String, usize> = BTreeMap::new();
    let mut constant_elements = 0u64;
    let mut blobs = Vec::new();
    let mut statements = 0;
    walk_block(&f.body, &mut |st: &ast::Statement| {
        statements += 1;
        *ops.entry(st.op.name.to_string()).or_default() += 1;
        for r in &st.results {
            types.insert(r.name.as_str(), &r.ty);
        }
        let mut literals: Vec<&ast::Literal> = st.attributes.iter().map(|a| &a.value).collect();
        for a in &st.args {
            collect_arg_literals(&a.value, &mut literals);
        }
        for lit in literals {
            if lit.ty.scalar_dtype().is_none() {
                constant_elements += type_elements(&lit.ty).unwrap_or(0);
            }
            if let PayloadKind::Blob(b) = &lit.value.kind {
                blobs.push(BlobSummary {
                    path: b.path_str().unwrap_or("?").to_string(),
                    offset: b.offset_u64().unwrap_or(0),
                    ty: type_text(&lit.ty),
                    elements: type_elements(&lit.ty),
                });
            }
        }
    });
    blobs.sort();
    blobs.dedup();
    let mut ops: Vec<(String, usize)> = ops.into_iter().collect();
    ops.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let value = |name: &str| ValueSummary {
        name: name.to_string(),
        ty: types
            .get(name)
            .map(|t| type_text(t))
            .unwrap_or_else(|| "?".into()),
    };
    FunctionSummary {
        name: f.name.name.to_string(),
        opset: f.opset.name.to_string(),
        inputs: f.params.iter().map(|p| value(p.name.as_str())).collect(),
        outputs: f.body.outputs.iter().map(|o| value(o.as_str())).collect(),
        statements,
        ops,
        constant_elements,
        blobs,
    }
}

fn walk_block<'a>(block: &'a ast::Block, visit: &mut dyn FnMut(&'a ast::Statement)) {
    for st in &block.statements {
        visit(st);
        for nested in &st.blocks {
            walk_block(&nested.body, visit);
        }
    }
}

fn collect_arg_literals<'a>(v: &'a ArgValue, out: &mut Vec<&'a ast::Literal>) {
    match v {
        ArgValue::Literal(l) => out.push(l),
        ArgValue::Tuple { items, .. } => items.iter().for_each(|i| collect_arg_literals(i, out)),
        ArgValue::Name(_) => {}
    }
}

/// Elements of a tensor type with known dims (None for unknown dims or non-tensors).
fn type_elements(ty: &ast::Type) -> Option<u64> {
    match &ty.kind {
        TypeKind::Tensor { shape, .. } => shape.iter().try_fold(1u64, |acc, d| match d {
            Dim::Known(n) => acc.checked_mul(*n),
            Dim::Unknown => None,
        }),
        TypeKind::Scalar(_) => Some(1),
        _ => None,
    }
}

/// A type in the compact spelling, for summaries.
fn type_text(ty: &ast::Type) -> String {
    let dim = |d: &Dim| match d {
        Dim::Known(n) => n.to_string(),
        Dim::Unknown => "?".into(),
    };
    match &ty.kind {
        TypeKind::Scalar(d) => d.to_string(),
        TypeKind::Tensor { dtype, shape } if shape.is_empty() => dtype.to_string(),
        TypeKind::Tensor { dtype, shape } => format!(
            "tensor<{dtype}, [{}]>",
            shape.iter().map(dim).collect::<Vec<_>>().join(", ")
        ),
        TypeKind::List { elem, len } => format!("list<{}, {}>", type_text(elem), dim(len)),
        TypeKind::Dict { key, value } => format!("dict<{}, {}>", type_text(key), type_text(value)),
        TypeKind::Tuple(items) => format!(
            "tuple<{}>",
            items.iter().map(type_text).collect::<Vec<_>>().join(", ")
        ),
        TypeKind::State(inner) => format!("state<{}>", type_text(inner)),
        TypeKind::TensorBuffer { dtype, shape, .. } => format!("tensor_buffer<{dtype}, {shape:?}>"),
    }
}

fn render_mil(s: &MilSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: MIL text program, program({})", s.file, s.version);
    for (k, v) in &s.build_info {
        let _ = writeln!(out, "  buildInfo {k} = {v:?}");
    }
    for f in &s.functions {
        let _ = writeln!(out, "\nfunction {}<{}>", f.name, f.opset);
        for v in &f.inputs {
            let _ = writeln!(out, "  input  {} : {}", v.name, v.ty);
        }
        for v in &f.outputs {
            let _ = writeln!(out, "  output {} : {}", v.name, v.ty);
        }
        let _ = writeln!(
            out,
            "  {} statements, {} distinct ops, {} constant elements, {} blob references",
            f.statements,
            f.ops.len(),
            f.constant_elements,
            f.blobs.len()
        );
        let _ = writeln!(out, "  ops:");
        for (op, n) in &f.ops {
            let _ = writeln!(out, "    {n:>6}  {op}");
        }
        if !f.blobs.is_empty() {
            let _ = writeln!(out, "  blobs:");
            for b in &f.blobs {
                let _ = writeln!(out, "    {:>10}  {}  {}", b.offset, b.ty, b.path);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// NumPy arrays

#[derive(Serialize)]
struct NpySummary {
    file: String,
    kind: Kind,
    dtype: anekit_core::DType,
    shape: Vec<u64>,
    elements: usize,
    min: Option<f64>,
    max: Option<f64>,
    mean: Option<f64>,
}

fn inspect_npy(path: &Path, bytes: &[u8], ctx: &Ctx) -> CmdResult {
    let arr = anekit_core::npy::read_npy(bytes).map_err(|e| miette!("{}: {e}", path.display()))?;
    let values = arr.data.to_f32();
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (mut min, mut max, mut sum, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0f64, 0usize);
    for v in finite {
        let v = f64::from(v);
        min = min.min(v);
        max = max.max(v);
        sum += v;
        n += 1;
    }
    let stat = |v: f64| (n > 0).then_some(v);
    let summary = NpySummary {
        file: path.display().to_string(),
        kind: Kind::Npy,
        dtype: arr.data.dtype(),
        shape: arr.shape.clone(),
        elements: arr.data.len(),
        min: stat(min),
        max: stat(max),
        mean: stat(sum / n.max(1) as f64),
    };
    ctx.emit(&summary, || {
        let mut out = format!(
            "{}: NumPy array, {} {:?}, {} elements",
            summary.file, summary.dtype, summary.shape, summary.elements
        );
        if let (Some(lo), Some(hi), Some(mean)) = (summary.min, summary.max, summary.mean) {
            let _ = write!(out, "\n  min {lo}  max {hi}  mean {mean} (finite values)");
        }
        out
    })
}

// ---------------------------------------------------------------------------------------------
// Folders

#[derive(Serialize)]
struct FolderSummary {
    folder: String,
    kind: Kind,
    /// For an .mlmodelc: what anekit-coreml reads of it (besides the file listing).
    #[serde(skip_serializing_if = "Option::is_none")]
    modelc: Option<ModelcSummary>,
    files: Vec<FolderEntry>,
}

/// An .mlmodelc as `anekit_coreml::MlModelc` reads it: the flavour, the metadata.json
/// inputs/outputs, and the model.mil functions (ML Program era).
#[derive(Serialize)]
struct ModelcSummary {
    /// `mlProgram`, `neuralNetwork (Espresso)`, `pipeline` or `unknown`.
    flavour: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    specification_version: Option<i64>,
    inputs: Vec<SchemaSummary>,
    outputs: Vec<SchemaSummary>,
    functions: Vec<FunctionSummary>,
    /// Why the bundle could not be read (the listing is still given).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct SchemaSummary {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<String>,
}

fn summarise_modelc(path: &Path) -> ModelcSummary {
    let c = match anekit_coreml::MlModelc::open(path) {
        Ok(c) => c,
        Err(e) => {
            return ModelcSummary {
                flavour: "unknown".into(),
                specification_version: None,
                inputs: Vec::new(),
                outputs: Vec::new(),
                functions: Vec::new(),
                error: Some(e.to_string()),
            };
        }
    };
    let md = c.metadata.as_ref().and_then(|m| m.first());
    let schema = |entries: Option<&Vec<anekit_coreml::mlmodelc::SchemaEntry>>| {
        entries
            .map(|v| {
                v.iter()
                    .map(|e| SchemaSummary {
                        name: e.name.clone(),
                        ty: e.formatted_type.clone().unwrap_or_else(|| e.kind.clone()),
                        shape: e.shape.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    ModelcSummary {
        flavour: c.flavour.clone(),
        specification_version: md.and_then(|m| m.specification_version),
        inputs: schema(md.map(|m| &m.input_schema)),
        outputs: schema(md.map(|m| &m.output_schema)),
        functions: c
            .program
            .as_ref()
            .map(|p| p.functions.iter().map(summarise_function).collect())
            .unwrap_or_default(),
        error: None,
    }
}

#[derive(Serialize)]
struct FolderEntry {
    path: String,
    bytes: u64,
    kind: Kind,
}

/// How deep and how wide a folder listing goes (bundles are shallow; this bounds a mistaken
/// `ane inspect /`).
const MAX_DEPTH: usize = 6;
const MAX_ENTRIES: usize = 10_000;

fn inspect_folder(path: &Path, kind: Kind, ctx: &Ctx) -> CmdResult {
    let mut files = Vec::new();
    list_folder(path, path, 0, &mut files)?;
    let summary = FolderSummary {
        folder: path.display().to_string(),
        kind,
        modelc: (kind == Kind::MlModelc).then(|| summarise_modelc(path)),
        files,
    };
    ctx.emit(&summary, || {
        let mut out = format!("{}: {}\n", summary.folder, kind.describe());
        if let Some(m) = &summary.modelc {
            let version = m
                .specification_version
                .map(|v| format!(", specification version {v}"))
                .unwrap_or_default();
            let _ = writeln!(out, "  flavour {}{version}", m.flavour);
            if let Some(e) = &m.error {
                let _ = writeln!(out, "  not readable as a Core ML bundle: {e}");
            }
            for (dir, entries) in [("input ", &m.inputs), ("output", &m.outputs)] {
                for e in entries {
                    let shape = e.shape.as_deref().unwrap_or("?");
                    let _ = writeln!(out, "  {dir} {} {} {shape}", e.name, e.ty);
                }
            }
            for f in &m.functions {
                let sig = |v: &[ValueSummary]| {
                    v.iter()
                        .map(|v| format!("{}: {}", v.name, v.ty))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let _ = writeln!(
                    out,
                    "  function {}<{}>({}) -> ({}): {} statements",
                    f.name,
                    f.opset,
                    sig(&f.inputs),
                    sig(&f.outputs),
                    f.statements
                );
            }
        }
        for f in &summary.files {
            let _ = writeln!(
                out,
                "  {:>10}  {:<40}  {}",
                f.bytes,
                f.path,
                f.kind.describe()
            );
        }
        out
    })
}

fn list_folder(root: &Path, dir: &Path, depth: usize, out: &mut Vec<FolderEntry>) -> CmdResult {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if out.len() >= MAX_ENTRIES {
            return Err(miette!(
                "{}: more than {MAX_ENTRIES} files; not an ANE bundle",
                root.display()
            ));
        }
        let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
        if p.is_dir() {
            list_folder(root, &p, depth + 1, out)?;
        } else {
            let bytes = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            let kind = anekit_formats::detect_path(&p).unwrap_or(Kind::Unknown);
            out.push(FolderEntry {
                path: rel,
                bytes,
                kind,
            });
        }
    }
    Ok(())
}
