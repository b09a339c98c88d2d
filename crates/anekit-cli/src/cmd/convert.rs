//! `ane convert`: a Core ML ML Program (.mlpackage, or a bare .mlmodel with `--weights`) to MIL
//! text (`OUT/model.mil`) plus its weight files (`OUT/weights/`), on any OS. Also the
//! summaries `ane inspect` shows for .mlpackage/.mlmodelc folders and .mlmodel files.
use crate::{CmdResult, Ctx};
use anekit_coreml::describe::{FeatureInfo, Flexibility, ModelInfo};
use anekit_coreml::{MlModelFile, MlPackage, blobcheck, to_ast};
use anekit_mil::Dialect;
use miette::{IntoDiagnostic, WrapErr, miette};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ConvertArgs {
    /// The model: an .mlpackage folder, a bare .mlmodel file (ML Program) with --weights, or
    /// a model.mil file (then OUTPUT is the .mlpackage to write; weights from --weights, by
    /// default the `weights/` folder next to the .mil).
    pub input: PathBuf,
    /// Output folder; receives model.mil and weights/ (created if missing). For a .mil input:
    /// the .mlpackage to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// MIL text dialect: 1.0 (verbose scalars) or 1.3 (compact). Default: 1.0 when every
    /// function is iOS15/iOS16, else 1.3.
    #[arg(long, value_parser = ["1.0", "1.3"])]
    pub dialect: Option<String>,
    /// Folder holding the weight files of a bare .mlmodel or a .mil (what `@model_path/weights/`
    /// means).
    #[arg(long)]
    pub weights: Option<PathBuf>,
}

#[derive(Serialize)]
struct FunctionReport {
    name: String,
    opset: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    statements: usize,
}

#[derive(Serialize)]
struct BlobFileReport {
    name: String,
    size: u64,
    /// Distinct BLOBFILE offsets in this file.
    blobs: usize,
}

#[derive(Serialize)]
struct ConvertReport {
    input: String,
    output: String,
    model_mil: String,
    dialect: Dialect,
    specification_version: i32,
    functions: Vec<FunctionReport>,
    inputs: Vec<FeatureInfo>,
    outputs: Vec<FeatureInfo>,
    states: Vec<FeatureInfo>,
    /// BLOBFILE references (each checked in the copied weight file).
    blob_refs: usize,
    blob_files: Vec<BlobFileReport>,
}

fn parse_dialect(d: Option<&str>) -> Option<Dialect> {
    match d {
        Some("1.0") => Some(Dialect::V1_0),
        Some("1.3") => Some(Dialect::V1_3),
        _ => None,
    }
}

fn type_text(ty: &anekit_mil::ast::Type) -> String {
    // Print the type through a one-parameter function header and cut it out again.
    let p = anekit_mil::ast::Param {
        ty: ty.clone(),
        name: anekit_mil::ast::Ident::new("x"),
        span: Default::default(),
    };
    let prog = anekit_mil::ast::Program {
        version: anekit_mil::ast::Version {
            text: "1.3".into(),
            span: Default::default(),
        },
        attributes: vec![],
        functions: vec![anekit_mil::ast::Function {
            name: anekit_mil::ast::Ident::new("f"),
            opset: anekit_mil::ast::Ident::new("ios18"),
            params: vec![p],
            attributes: vec![],
            body: anekit_mil::ast::Block {
                statements: vec![],
                outputs: vec![],
                span: Default::default(),
            },
            span: Default::default(),
        }],
        trailing_newline: false,
        span: Default::default(),
    };
    let text = anekit_mil::print(&prog, &Default::default());
    text.split_once("f<ios18>(")
        .and_then(|(_, r)| r.rsplit_once(" x) {"))
        .map_or_else(String::new, |(t, _)| t.to_string())
}

pub fn run(args: ConvertArgs, ctx: &Ctx) -> CmdResult {
    if args.input.extension().is_some_and(|e| e == "mil") {
        return mil_to_package(&args, ctx);
    }
    let dialect = parse_dialect(args.dialect.as_deref());
    let input = &args.input;
    let (model, weights_dir, info) = if input.is_dir() {
        let pkg = MlPackage::open(input).into_diagnostic()?;
        let info = pkg.info();
        let wd = args.weights.clone().or_else(|| pkg.weights_dir.clone());
        (pkg.model.clone(), wd, (info, pkg.model_types.clone()))
    } else {
        let bytes = read_file(input)?;
        let f = MlModelFile::parse(&bytes, &input.display().to_string()).into_diagnostic()?;
        let info = f.info();
        (
            f.model.clone(),
            args.weights.clone(),
            (info, f.model_types.clone()),
        )
    };
    let (info, model_types) = info;
    let conv = anekit_coreml::package::model_to_ast(&model, &model_types, dialect)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot convert {}", input.display()))?;

    // Read every referenced weight file and check every BLOBFILE before writing anything.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for name in &conv.blob_files {
        let dir = weights_dir.as_ref().ok_or_else(|| {
            miette!(
                "{}: the program references @model_path/weights/{name} but there is no weights folder (manifest weights item or --weights)",
                input.display()
            )
        })?;
        let path = dir.join(name);
        files.push((name.clone(), read_file(&path)?));
    }
    let refs = blobcheck::check_blobs(&conv.program, |p| {
        let name = to_ast::blob_file_name(p)?;
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    })
    .into_diagnostic()
    .wrap_err_with(|| format!("{}: a weight reference does not resolve", input.display()))?;

    let out = &args.output;
    std::fs::create_dir_all(out)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create {}", out.display()))?;
    let mil_path = out.join("model.mil");
    std::fs::write(&mil_path, conv.text())
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", mil_path.display()))?;
    let mut blob_files = Vec::new();
    if !files.is_empty() {
        let wdir = out.join("weights");
        std::fs::create_dir_all(&wdir)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot create {}", wdir.display()))?;
        for (name, bytes) in &files {
            let dest = wdir.join(name);
            std::fs::write(&dest, bytes)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot write {}", dest.display()))?;
            let mut offsets: Vec<u64> = refs
                .iter()
                .filter(|r| to_ast::blob_file_name(&r.file) == Some(name.as_str()))
                .map(|r| r.offset)
                .collect();
            offsets.sort_unstable();
            offsets.dedup();
            blob_files.push(BlobFileReport {
                name: name.clone(),
                size: bytes.len() as u64,
                blobs: offsets.len(),
            });
        }
    }
    let functions = conv
        .program
        .functions
        .iter()
        .map(|f| FunctionReport {
            name: f.name.name.to_string(),
            opset: f.opset.name.to_string(),
            inputs: f
                .params
                .iter()
                .map(|p| format!("{} {}", type_text(&p.ty), p.name.name))
                .collect(),
            outputs: f.body.outputs.iter().map(|o| o.name.to_string()).collect(),
            statements: f.body.statements.len(),
        })
        .collect();
    let report = ConvertReport {
        input: input.display().to_string(),
        output: out.display().to_string(),
        model_mil: mil_path.display().to_string(),
        dialect: conv.dialect,
        specification_version: model.specification_version,
        functions,
        inputs: info.inputs,
        outputs: info.outputs,
        states: info.states,
        blob_refs: refs.len(),
        blob_files,
    };
    ctx.emit(&report, || {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} -> {} (program({}), specification version {})",
            report.input,
            report.model_mil,
            report.dialect.version(),
            report.specification_version
        );
        for f in &report.functions {
            let _ = writeln!(
                s,
                "  func {}<{}>({}) -> ({}): {} statements",
                f.name,
                f.opset,
                f.inputs.join(", "),
                f.outputs.join(", "),
                f.statements
            );
        }
        for b in &report.blob_files {
            let _ = writeln!(
                s,
                "  weights/{}: {} bytes, {} blobs",
                b.name, b.size, b.blobs
            );
        }
        let _ = writeln!(s, "  {} BLOBFILE references checked", report.blob_refs);
        s
    })
}

#[derive(Serialize)]
struct PackageReport {
    input: String,
    output: String,
    specification_version: i32,
    functions: Vec<FunctionReport>,
    blob_refs: usize,
    weight_files: Vec<String>,
}

/// `ane convert model.mil [--weights DIR] -o OUT.mlpackage`: MIL text to a Core ML package.
fn mil_to_package(args: &ConvertArgs, ctx: &Ctx) -> CmdResult {
    let input = &args.input;
    let bytes = read_file(input)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        miette!(
            "{}: not UTF-8 at byte {}",
            input.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let program = anekit_mil::parse(&text).map_err(|e| miette!("{}:{e}", input.display()))?;
    let model = anekit_coreml::from_ast::model_from_ast(&program)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot convert {}", input.display()))?;
    let weights_dir = args
        .weights
        .clone()
        .unwrap_or_else(|| input.parent().unwrap_or(Path::new(".")).join("weights"));
    let mut names = std::collections::BTreeSet::new();
    for (_, _, _, _, lit) in blobcheck::blob_literals(&program) {
        if let anekit_mil::ast::PayloadKind::Blob(b) = &lit.value.kind {
            let p = b.path_str().unwrap_or_default();
            let name = to_ast::blob_file_name(p).ok_or_else(|| {
                miette!(
                    "{}: BLOBFILE path {p:?} is not @model_path/weights/<file>",
                    input.display()
                )
            })?;
            names.insert(name.to_string());
        }
    }
    let mut files = Vec::new();
    for n in &names {
        files.push((n.clone(), read_file(&weights_dir.join(n))?));
    }
    let refs = blobcheck::check_blobs(&program, |p| {
        let name = to_ast::blob_file_name(p)?;
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    })
    .into_diagnostic()
    .wrap_err_with(|| format!("{}: a weight reference does not resolve", input.display()))?;
    anekit_coreml::from_ast::write_mlpackage(&model, &files, &args.output)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", args.output.display()))?;
    let report = PackageReport {
        input: input.display().to_string(),
        output: args.output.display().to_string(),
        specification_version: model.specification_version,
        functions: program
            .functions
            .iter()
            .map(|f| FunctionReport {
                name: f.name.name.to_string(),
                opset: to_ast::proto_opset(&f.opset.name)
                    .unwrap_or_default()
                    .to_string(),
                inputs: f
                    .params
                    .iter()
                    .map(|p| format!("{} {}", type_text(&p.ty), p.name.name))
                    .collect(),
                outputs: f.body.outputs.iter().map(|o| o.name.to_string()).collect(),
                statements: f.body.statements.len(),
            })
            .collect(),
        blob_refs: refs.len(),
        weight_files: names.into_iter().collect(),
    };
    ctx.emit(&report, || {
        let mut s = format!(
            "{} -> {} (specification version {})\n",
            report.input, report.output, report.specification_version
        );
        for f in &report.functions {
            let _ = writeln!(
                s,
                "  func {} ({}): {} statements",
                f.name, f.opset, f.statements
            );
        }
        let _ = writeln!(s, "  {} BLOBFILE references checked", report.blob_refs);
        s
    })
}

fn read_file(path: &Path) -> miette::Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))?
        .len();
    if len > anekit_coreml::proto::MAX_MODEL_BYTES * 4 {
        return Err(miette!("{}: {len} bytes is too large", path.display()));
    }
    std::fs::read(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))
}

// ---- inspect ----------------------------------------------------------------------------

fn feature_line(f: &FeatureInfo) -> String {
    let mut s = format!("{} {}", f.name, f.kind);
    if let Some(d) = &f.dtype {
        let _ = write!(s, " {d}");
    }
    if !f.shape.is_empty() {
        let _ = write!(s, " {:?}", f.shape);
    }
    match &f.flexibility {
        Some(Flexibility::Enumerated(v)) => {
            let _ = write!(s, " (enumerated shapes {v:?})");
        }
        Some(Flexibility::Range(r)) => {
            let _ = write!(s, " (ranges {r:?})");
        }
        None => {}
    }
    if f.optional {
        s.push_str(" optional");
    }
    s
}

fn info_text(s: &mut String, info: &ModelInfo) {
    let _ = writeln!(
        s,
        "  model type {}, specification version {}",
        info.model_type, info.specification_version
    );
    for (label, list) in [
        ("input", &info.inputs),
        ("output", &info.outputs),
        ("state", &info.states),
    ] {
        for f in list {
            let _ = writeln!(s, "  {label} {}", feature_line(f));
        }
    }
    for f in &info.functions {
        let _ = writeln!(
            s,
            "  function {}: {} inputs, {} outputs",
            f.name,
            f.inputs.len(),
            f.outputs.len()
        );
    }
    let m = &info.metadata;
    for (k, v) in [
        ("author", &m.author),
        ("license", &m.license),
        ("version", &m.version),
        ("description", &m.short_description),
    ] {
        if !v.is_empty() {
            let _ = writeln!(s, "  {k}: {v}");
        }
    }
    for (k, v) in &m.user_defined {
        let _ = writeln!(s, "  metadata {k} = {v}");
    }
}

#[derive(Serialize)]
struct ProgramSummary {
    function: String,
    opset: String,
    statements: usize,
    ops: BTreeMap<String, usize>,
}

fn program_summary(p: &anekit_mil::ast::Program) -> Vec<ProgramSummary> {
    p.functions
        .iter()
        .map(|f| {
            let mut ops = BTreeMap::new();
            for s in &f.body.statements {
                *ops.entry(s.op.name.to_string()).or_insert(0) += 1;
            }
            ProgramSummary {
                function: f.name.name.to_string(),
                opset: f.opset.name.to_string(),
                statements: f.body.statements.len(),
                ops,
            }
        })
        .collect()
}

fn program_text(s: &mut String, prog: &[ProgramSummary]) {
    for f in prog {
        let ops: Vec<String> = f.ops.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        let _ = writeln!(
            s,
            "  func {}<{}>: {} statements ({})",
            f.function,
            f.opset,
            f.statements,
            ops.join(", ")
        );
    }
}

#[derive(Serialize)]
struct PackageInspect<'a> {
    kind: &'static str,
    path: String,
    manifest: &'a anekit_coreml::Manifest,
    model_size: u64,
    info: ModelInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    program: Vec<ProgramSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversion_error: Option<String>,
    weight_files: Vec<BlobFileReport>,
}

fn weight_summary(dir: Option<&Path>) -> Vec<BlobFileReport> {
    let mut out = Vec::new();
    let Some(dir) = dir else { return out };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(m) = e.metadata() else { continue };
        if !m.is_file() {
            continue;
        }
        let blobs = std::fs::read(e.path())
            .ok()
            .and_then(|b| {
                anekit_blob::BlobFile::parse(&b)
                    .ok()
                    .map(|f| f.count() as usize)
            })
            .unwrap_or(0);
        out.push(BlobFileReport {
            name: e.file_name().to_string_lossy().into_owned(),
            size: m.len(),
            blobs,
        });
    }
    out
}

/// `ane inspect` for an .mlpackage (`.mlmodelc` folders are summarised by `inspect`'s folder
/// view, which adds the file listing).
pub fn inspect_package(path: &Path, ctx: &Ctx) -> CmdResult {
    let pkg = MlPackage::open(path).into_diagnostic()?;
    let (program, conversion_error) = match pkg.to_ast(None) {
        Ok(c) => (program_summary(&c.program), None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let report = PackageInspect {
        kind: "mlpackage",
        path: path.display().to_string(),
        manifest: &pkg.manifest,
        model_size: pkg.model_size,
        info: pkg.info(),
        program,
        conversion_error,
        weight_files: weight_summary(pkg.weights_dir.as_deref()),
    };
    ctx.emit(&report, || {
        let mut s = format!(
            "{}: .mlpackage (manifest {}, {} items), model {} bytes\n",
            report.path,
            report.manifest.file_format_version,
            report.manifest.items.len(),
            report.model_size
        );
        info_text(&mut s, &report.info);
        program_text(&mut s, &report.program);
        if let Some(e) = &report.conversion_error {
            let _ = writeln!(s, "  not convertible to MIL text: {e}");
        }
        for w in &report.weight_files {
            let _ = writeln!(
                s,
                "  weights/{}: {} bytes, {} blobs",
                w.name, w.size, w.blobs
            );
        }
        s
    })
}

#[derive(Serialize)]
struct MlModelInspect<'a> {
    kind: &'static str,
    path: String,
    size: u64,
    info: ModelInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    program: Vec<ProgramSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversion_error: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    layers: &'a [anekit_coreml::mlmodel::Layer],
}

/// `ane inspect` for a bare .mlmodel file whose bytes the caller has read.
pub fn inspect_mlmodel(path: &Path, bytes: &[u8], ctx: &Ctx) -> CmdResult {
    let f = MlModelFile::parse(bytes, &path.display().to_string()).into_diagnostic()?;
    let (program, conversion_error) = if f.model.ml_program.is_some() {
        match anekit_coreml::package::model_to_ast(&f.model, &f.model_types, None) {
            Ok(c) => (program_summary(&c.program), None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        }
    } else {
        (Vec::new(), None)
    };
    let report = MlModelInspect {
        kind: "mlmodel",
        path: path.display().to_string(),
        size: f.size,
        info: f.info(),
        program,
        conversion_error,
        layers: &f.layers,
    };
    ctx.emit(&report, || {
        let mut s = format!("{}: .mlmodel, {} bytes\n", report.path, report.size);
        info_text(&mut s, &report.info);
        program_text(&mut s, &report.program);
        if let Some(e) = &report.conversion_error {
            let _ = writeln!(s, "  not convertible to MIL text: {e}");
        }
        for (i, l) in report.layers.iter().enumerate() {
            let _ = writeln!(
                s,
                "  layer {i} {} {}: ({}) -> ({})",
                l.kind,
                l.name,
                l.inputs.join(", "),
                l.outputs.join(", ")
            );
        }
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../anekit-coreml/tests/fixtures")
    }

    #[test]
    fn inspect_entry_points_accept_packages_and_models_and_refuse_garbage() {
        for json in [false, true] {
            let ctx = Ctx { json };
            inspect_package(&fixtures().join("compressed_ios18.mlpackage"), &ctx).unwrap();
            inspect_package(&fixtures().join("multifunction.mlpackage"), &ctx).unwrap();
            let nn = std::fs::read(fixtures().join("nn_conv.mlmodel")).unwrap();
            inspect_mlmodel(&fixtures().join("nn_conv.mlmodel"), &nn, &ctx).unwrap();
            let pv = std::fs::read(fixtures().join("proto_values.pb")).unwrap();
            inspect_mlmodel(Path::new("proto_values.pb"), &pv, &ctx).unwrap();
            let e = inspect_mlmodel(Path::new("junk.mlmodel"), &[0x0b], &ctx).unwrap_err();
            assert!(e.to_string().contains("junk.mlmodel"), "{e}");
            // A folder without Manifest.json is not a package: the error names the manifest.
            let tmp = std::env::temp_dir().join(format!("anekit-inspect-{}", std::process::id()));
            std::fs::create_dir_all(&tmp).unwrap();
            let e = inspect_package(&tmp, &ctx).unwrap_err();
            assert!(format!("{e:?}").contains("Manifest.json"), "{e:?}");
            std::fs::remove_dir_all(&tmp).unwrap();
        }
    }
}
