//! `ane espresso`: Espresso nets (`.espresso.net` JSON or PBZE, `.weights`, `.shape`) of
//! NeuralNetwork-era `.mlmodelc` bundles: layers, statistics, the blob table, and a diff of two
//! nets (typically the CPU and ANE variants of one model). Also `inspect` for `ane inspect`.
use crate::cmd::pbze::stats_text;
use crate::{CmdResult, Ctx};
use anekit_espresso::bundle::{BlobRef, Bundle, blobs_without_shape};
use anekit_espresso::diff::{NetDiff, diff};
use anekit_espresso::lower;
use anekit_espresso::lzfse::{self, DEFAULT_LIMIT};
use anekit_espresso::net::Padding;
use anekit_espresso::{
    EspressoNet, Layer, LayerParams, NetPlist, ShapeFile, WeightsTable, json_text, pbze,
};
use miette::miette;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum EspressoCmd {
    /// List the layers of a net: type, inputs -> outputs, decoded parameters.
    Layers(NetArgs),
    /// Layer counts per type, weight totals, blob/shape consistency.
    Stats(NetArgs),
    /// The blob table of the net's .espresso.weights, with the layers that use each blob.
    Weights(NetArgs),
    /// Compare two nets (e.g. the CPU- and ANE-compiled variants of one model).
    Diff(DiffArgs),
    /// Lower a net to a MIL program: writes DIR/model.mil and DIR/weights/weight.bin (fp32),
    /// ready for `ane mil check` and `ane run`. Needs the net's .espresso.shape for input shapes.
    Lower(LowerArgs),
    /// Run Espresso's plan-build-and-dump on a NeuralNetwork-era .mlmodelc: writes net.plist
    /// and the companion files ANECompiler reads (macOS; --dry-run prints the plan anywhere).
    DumpPlist(crate::cmd::toolchain::DumpPlistArgs),
}

#[derive(clap::Args)]
pub struct LowerArgs {
    /// A .espresso.net (JSON or PBZE) or the .mlmodelc folder holding one.
    pub net: PathBuf,
    /// Output folder (created if missing).
    #[arg(short, long)]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct NetArgs {
    /// A .espresso.net (JSON or PBZE) or the .mlmodelc folder holding one.
    pub net: PathBuf,
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// First net (.espresso.net or folder), e.g. the CPU variant.
    pub a: PathBuf,
    /// Second net, e.g. the ANE variant.
    pub b: PathBuf,
}

pub fn run(cmd: EspressoCmd, ctx: &Ctx) -> CmdResult {
    match cmd {
        EspressoCmd::Layers(a) => layers(&open(&a.net)?, ctx),
        EspressoCmd::Stats(a) => stats(&open(&a.net)?, ctx),
        EspressoCmd::Weights(a) => weights(&open(&a.net)?, ctx),
        EspressoCmd::Diff(a) => diff_cmd(&open(&a.a)?, &open(&a.b)?, ctx),
        EspressoCmd::Lower(a) => lower_cmd(&open(&a.net)?, &a.out, ctx),
        EspressoCmd::DumpPlist(a) => crate::cmd::toolchain::dump_plist(a, ctx),
    }
}

#[derive(Serialize)]
struct LowerIo {
    blob: String,
    value: String,
    /// `[n, k, h, w]`.
    shape: [usize; 4],
}

#[derive(Serialize)]
struct LowerReport {
    net: String,
    model_mil: String,
    weight_bin: String,
    weight_bytes: usize,
    layers: usize,
    statements: usize,
    inputs: Vec<LowerIo>,
    outputs: Vec<LowerIo>,
}

fn lower_cmd(b: &Bundle, out: &Path, ctx: &Ctx) -> CmdResult {
    let lowered = lower::lower_bundle(b).map_err(|e| miette!("{e}"))?;
    let mil = lowered.write(out).map_err(|e| miette!("{e}"))?;
    let io = |v: &[lower::BlobValue]| -> Vec<LowerIo> {
        v.iter()
            .map(|b| LowerIo {
                blob: b.blob.clone(),
                value: b.value.clone(),
                shape: b.shape,
            })
            .collect()
    };
    let report = LowerReport {
        net: b.net_path.display().to_string(),
        model_mil: mil.display().to_string(),
        weight_bin: out.join("weights").join("weight.bin").display().to_string(),
        weight_bytes: lowered.weight_bin.len(),
        layers: b.net.layers.len(),
        statements: lowered
            .program
            .functions
            .iter()
            .map(|f| f.body.statements.len())
            .sum(),
        inputs: io(&lowered.inputs),
        outputs: io(&lowered.outputs),
    };
    ctx.emit(&report, || {
        let mut s = format!(
            "{}: {} layers -> {} MIL statements\nwrote {} and {} ({} bytes)\n",
            report.net,
            report.layers,
            report.statements,
            report.model_mil,
            report.weight_bin,
            report.weight_bytes
        );
        for (what, list) in [("input", &report.inputs), ("output", &report.outputs)] {
            for v in list {
                let _ = writeln!(
                    s,
                    "{what:6} {} (blob `{}`) fp32 {:?}",
                    v.value, v.blob, v.shape
                );
            }
        }
        s
    })
}

fn open(path: &Path) -> miette::Result<Bundle> {
    Bundle::open(path, DEFAULT_LIMIT).map_err(|e| miette!("{e}"))
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

fn pads(p: &Padding) -> String {
    match (p.top, p.bottom, p.left, p.right) {
        (None | Some(0), None | Some(0), None | Some(0), None | Some(0)) => String::new(),
        (t, b, l, r) => format!(" pad t{} b{} l{} r{}", opt(t), opt(b), opt(l), opt(r)),
    }
}

fn flag(name: &str, v: Option<bool>) -> String {
    if v == Some(true) {
        format!(" {name}")
    } else {
        String::new()
    }
}

/// One line describing a layer's decoded parameters.
fn params_text(l: &Layer) -> String {
    let mut s = match &l.params {
        LayerParams::Convolution(c) => format!(
            "C(out)={} K(in)={} {}x{} stride {}x{} groups {}{}{}{}",
            opt(c.c),
            opt(c.k),
            opt(c.nx),
            opt(c.ny),
            c.stride_x.unwrap_or(1),
            c.stride_y.unwrap_or(1),
            c.n_groups.unwrap_or(1),
            pads(&c.padding),
            flag("+relu", c.fused_relu),
            flag("+tanh", c.fused_tanh),
        ),
        LayerParams::Pool(p) => format!(
            "{} {}x{} stride {}x{}{}{}",
            p.kind.map_or_else(|| "?".into(), |k| k.to_string()),
            opt(p.size_x),
            opt(p.size_y),
            p.stride_x.unwrap_or(1),
            p.stride_y.unwrap_or(1),
            flag("global", p.is_global),
            pads(&p.padding),
        ),
        LayerParams::InnerProduct(p) => {
            let mut s = format!("nB(in)={} nC(out)={}", opt(p.n_b), opt(p.n_c));
            s.push_str(&flag("+relu", p.has_relu));
            s.push_str(&flag("+tanh", p.has_tanh));
            if let Some(q) = p.quantization_mode.filter(|&q| q != 0) {
                let _ = write!(s, " quantization_mode={q}");
            }
            if p.is_lookup == Some(true) {
                s.push_str(" is_lookup");
            }
            s
        }
        LayerParams::Elementwise(e) => {
            let mut s = e
                .operation
                .map_or_else(|| "operation ?".into(), |o| o.to_string());
            if let Some(a) = e.alpha {
                let _ = write!(s, " alpha={a}");
            }
            if let Some(b) = e.beta {
                let _ = write!(s, " beta={b}");
            }
            s.push_str(&flag("+relu", e.fused_relu));
            s
        }
        LayerParams::Activation(a) => {
            let mut s = a.mode.map_or_else(|| "mode ?".into(), |m| m.to_string());
            if let Some(x) = a.alpha {
                let _ = write!(s, " alpha={x}");
            }
            if let Some(x) = a.beta {
                let _ = write!(s, " beta={x}");
            }
            s
        }
        LayerParams::Batchnorm(b) => format!("C={}", opt(b.c)),
        LayerParams::Softmax { c } => format!("C={}", opt(*c)),
        LayerParams::SoftmaxNd { nd_axis } => format!("axis={}", opt(*nd_axis)),
        LayerParams::Flatten { mode, nd_axis } => {
            format!("mode={} axis={}", opt(*mode), opt(*nd_axis))
        }
        LayerParams::Reshape(r) => format!(
            "to n={} k={} h={} w={} seq={}",
            opt(r.dst_n),
            opt(r.dst_k),
            opt(r.dst_h),
            opt(r.dst_w),
            opt(r.dst_seq)
        ),
        LayerParams::Transpose(t) => format!(
            "axes w<-{} h<-{} k<-{} n<-{} seq<-{}",
            opt(t.axis_w),
            opt(t.axis_h),
            opt(t.axis_k),
            opt(t.axis_n),
            opt(t.axis_seq)
        ),
        LayerParams::SplitNd { nd_axis, begins } => format!(
            "axis={} begins={:?}",
            opt(*nd_axis),
            begins.iter().map(|(_, v)| *v).collect::<Vec<_>>()
        ),
        LayerParams::ExpandDims { axes, .. } | LayerParams::Squeeze { axes, .. } => format!(
            "axes={:?}",
            axes.iter().map(|(_, v)| *v).collect::<Vec<_>>()
        ),
        LayerParams::RnnArch {
            input_size,
            hidden_size,
            ..
        } => format!("input {} hidden {}", opt(*input_size), opt(*hidden_size)),
        LayerParams::Other => "(untyped layer type)".to_string(),
    };
    let refs = l.blob_refs();
    if !refs.is_empty() {
        let list: Vec<String> = refs.iter().map(|(r, id)| format!("{r}=#{id}")).collect();
        let _ = write!(s, " [{}]", list.join(" "));
    }
    if l.is_output() {
        s.push_str(" (output)");
    }
    if !l.extra.is_empty() {
        let keys: Vec<&str> = l.extra.keys().map(String::as_str).collect();
        let _ = write!(s, " +{} other key(s): {}", keys.len(), keys.join(","));
    }
    s
}

#[derive(Serialize)]
struct LayersReport<'a> {
    net: &'a Path,
    format_version: Option<i64>,
    layers: &'a [Layer],
}

fn layers(b: &Bundle, ctx: &Ctx) -> CmdResult {
    let report = LayersReport {
        net: &b.net_path,
        format_version: b.net.format_version,
        layers: &b.net.layers,
    };
    ctx.emit(&report, || {
        let mut s = format!(
            "{}: {} layers (format_version {})\n",
            b.net_path.display(),
            b.net.layers.len(),
            opt(b.net.format_version)
        );
        for l in &b.net.layers {
            let _ = writeln!(
                s,
                "{:>4} {:<14} {}  [{}] -> [{}]  {}",
                l.index,
                l.type_name,
                l.name,
                l.bottom.join(", "),
                l.top.join(", "),
                params_text(l)
            );
        }
        s
    })
}

#[derive(Serialize)]
struct TypeCount {
    #[serde(rename = "type")]
    type_name: String,
    count: usize,
}

#[derive(Serialize)]
struct StatsReport {
    net: PathBuf,
    format_version: Option<i64>,
    layers: usize,
    types: Vec<TypeCount>,
    untyped_layers: usize,
    unknown_keys: usize,
    weights_file: Option<PathBuf>,
    weight_blobs: Option<usize>,
    weight_bytes: Option<u64>,
    referenced_blobs: usize,
    referenced_bytes: u64,
    unresolved_blob_ids: Vec<u64>,
    shape_file: Option<PathBuf>,
    shape_blobs: Option<usize>,
    blobs_without_shape: Vec<String>,
}

fn stats_report(b: &Bundle) -> StatsReport {
    let refs = b.blob_refs();
    let mut unresolved: Vec<u64> = refs
        .iter()
        .filter(|r| r.size.is_none())
        .map(|r| r.id)
        .collect();
    unresolved.dedup();
    StatsReport {
        net: b.net_path.clone(),
        format_version: b.net.format_version,
        layers: b.net.layers.len(),
        types: b
            .net
            .type_counts()
            .into_iter()
            .map(|(type_name, count)| TypeCount { type_name, count })
            .collect(),
        untyped_layers: b
            .net
            .layers
            .iter()
            .filter(|l| matches!(l.params, LayerParams::Other))
            .count(),
        unknown_keys: b.net.layers.iter().map(|l| l.extra.len()).sum(),
        weights_file: b.weights_path.clone(),
        weight_blobs: b.weights.as_ref().map(|w| w.entries.len()),
        weight_bytes: b.weights.as_ref().map(WeightsTable::total_blob_bytes),
        referenced_blobs: refs.len(),
        referenced_bytes: refs.iter().filter_map(|r| r.size).sum(),
        unresolved_blob_ids: unresolved,
        shape_file: b.shape_path.clone(),
        shape_blobs: b.shape.as_ref().map(|s| s.shapes.len()),
        blobs_without_shape: b
            .shape
            .as_ref()
            .map(|s| blobs_without_shape(&b.net, s))
            .unwrap_or_default(),
    }
}

fn stats_human(r: &StatsReport) -> String {
    let mut s = format!(
        "{}: {} layers (format_version {})\n",
        r.net.display(),
        r.layers,
        opt(r.format_version)
    );
    for t in &r.types {
        let _ = writeln!(s, "  {:<16} {}", t.type_name, t.count);
    }
    if r.untyped_layers > 0 || r.unknown_keys > 0 {
        let _ = writeln!(
            s,
            "  untyped layers: {}, unrecognised keys: {}",
            r.untyped_layers, r.unknown_keys
        );
    }
    match (&r.weights_file, r.weight_blobs, r.weight_bytes) {
        (Some(p), Some(n), Some(bytes)) => {
            let _ = writeln!(
                s,
                "weights: {} — {n} blobs, {bytes} bytes; layers reference {} blob(s), {} bytes",
                p.display(),
                r.referenced_blobs,
                r.referenced_bytes
            );
        }
        _ => {
            let _ = writeln!(
                s,
                "weights: file not found ({} blob reference(s))",
                r.referenced_blobs
            );
        }
    }
    if !r.unresolved_blob_ids.is_empty() {
        let _ = writeln!(s, "  unresolved blob ids: {:?}", r.unresolved_blob_ids);
    }
    match (&r.shape_file, r.shape_blobs) {
        (Some(p), Some(n)) => {
            let _ = writeln!(s, "shapes: {} — {n} blobs", p.display());
            if !r.blobs_without_shape.is_empty() {
                let _ = writeln!(
                    s,
                    "  blobs without a shape: {}",
                    r.blobs_without_shape.join(", ")
                );
            }
        }
        _ => {
            let _ = writeln!(s, "shapes: file not found");
        }
    }
    s
}

fn stats(b: &Bundle, ctx: &Ctx) -> CmdResult {
    let r = stats_report(b);
    ctx.emit(&r, || stats_human(&r))
}

#[derive(Serialize)]
struct WeightRow {
    id: u64,
    offset: u64,
    size: u64,
    used_by: Vec<String>,
}

#[derive(Serialize)]
struct WeightsReport {
    file: PathBuf,
    file_size: u64,
    header_size: u64,
    blobs: Vec<WeightRow>,
    total_bytes: u64,
    trailing_bytes: u64,
    unresolved: Vec<BlobRef>,
}

fn weights(b: &Bundle, ctx: &Ctx) -> CmdResult {
    let (Some(path), Some(t)) = (&b.weights_path, &b.weights) else {
        return Err(miette!(
            "{}: no weights file (storage key {:?} names no existing file)",
            b.net_path.display(),
            b.net.storage
        ));
    };
    let refs = b.blob_refs();
    let rows: Vec<WeightRow> = t
        .entries
        .iter()
        .map(|e| WeightRow {
            id: e.id,
            offset: e.offset,
            size: e.size,
            used_by: refs
                .iter()
                .filter(|r| r.id == e.id)
                .map(|r| format!("{}.{}", r.layer, r.role))
                .collect(),
        })
        .collect();
    let report = WeightsReport {
        file: path.clone(),
        file_size: t.file_size,
        header_size: t.header_size,
        total_bytes: t.total_blob_bytes(),
        trailing_bytes: t.trailing_bytes,
        unresolved: refs.into_iter().filter(|r| r.size.is_none()).collect(),
        blobs: rows,
    };
    ctx.emit(&report, || {
        let mut s = format!(
            "{}: {} bytes, {} blobs, header {} bytes, {} blob bytes\n",
            report.file.display(),
            report.file_size,
            report.blobs.len(),
            report.header_size,
            report.total_bytes
        );
        let _ = writeln!(s, "{:>6} {:>10} {:>10}  used by", "id", "offset", "size");
        for r in &report.blobs {
            let _ = writeln!(
                s,
                "{:>6} {:>#10x} {:>10}  {}",
                r.id,
                r.offset,
                r.size,
                r.used_by.join(", ")
            );
        }
        for u in &report.unresolved {
            let _ = writeln!(s, "unresolved: {}.{} -> blob {}", u.layer, u.role, u.id);
        }
        if report.trailing_bytes > 0 {
            let _ = writeln!(
                s,
                "{} trailing bytes after the last blob",
                report.trailing_bytes
            );
        }
        s
    })
}

#[derive(Serialize)]
struct DiffReport<'a> {
    a: &'a Path,
    b: &'a Path,
    identical: bool,
    #[serde(flatten)]
    diff: &'a NetDiff,
}

fn diff_cmd(a: &Bundle, b: &Bundle, ctx: &Ctx) -> CmdResult {
    let d = diff(&a.net, a.weights.as_ref(), &b.net, b.weights.as_ref());
    let report = DiffReport {
        a: &a.net_path,
        b: &b.net_path,
        identical: d.is_empty(),
        diff: &d,
    };
    ctx.emit(&report, || {
        let mut s = format!(
            "A: {} ({} layers)\nB: {} ({} layers)\n",
            a.net_path.display(),
            d.layers_a,
            b.net_path.display(),
            d.layers_b
        );
        if d.is_empty() {
            s.push_str("no differences\n");
            return s;
        }
        s.push_str("layer types (A -> B):\n");
        for t in &d.types {
            let mark = if t.a == t.b { "" } else { "  *" };
            let _ = writeln!(s, "  {:<16} {} -> {}{mark}", t.type_name, t.a, t.b);
        }
        for dec in &d.decomposed {
            let parts: Vec<String> = dec.into.iter().map(|(n, t)| format!("{n} ({t})")).collect();
            let _ = writeln!(
                s,
                "decomposed (by name): {} ({}) -> {}",
                dec.name,
                dec.type_name,
                parts.join(", ")
            );
        }
        for (n, t) in &d.removed {
            let _ = writeln!(s, "- {n} ({t})");
        }
        for (n, t) in &d.added {
            let _ = writeln!(s, "+ {n} ({t})");
        }
        for c in &d.changed {
            let ty = if c.type_a == c.type_b {
                c.type_a.clone()
            } else {
                format!("{} -> {}", c.type_a, c.type_b)
            };
            let _ = writeln!(s, "~ {} ({ty}): {}", c.name, c.keys.join(", "));
        }
        for f in &d.field_changes {
            let _ = writeln!(s, "  {}.{}: {} -> {}", f.layer, f.field, opt(f.a), opt(f.b));
        }
        if d.weights_total_a != d.weights_total_b {
            let _ = writeln!(
                s,
                "weights total: {} -> {} bytes",
                opt(d.weights_total_a),
                opt(d.weights_total_b)
            );
        }
        for w in &d.weight_changes {
            let _ = writeln!(
                s,
                "  {} weights: {} -> {} bytes",
                w.layer, w.a_bytes, w.b_bytes
            );
        }
        s
    })
}

#[derive(Serialize)]
struct InspectReport<'a> {
    file: &'a Path,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pbze: Option<&'a anekit_espresso::pbze::PbzeInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lzfse: Option<&'a lzfse::StreamInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    net: Option<NetSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<&'a ShapeFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weights: Option<&'a WeightsTable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    net_plist: Option<&'a NetPlist>,
}

#[derive(Serialize)]
struct NetSummary {
    format_version: Option<i64>,
    storage: Option<String>,
    layers: usize,
    types: Vec<TypeCount>,
}

fn net_summary(net: &EspressoNet) -> NetSummary {
    NetSummary {
        format_version: net.format_version,
        storage: net.storage.clone(),
        layers: net.layers.len(),
        types: net
            .type_counts()
            .into_iter()
            .map(|(type_name, count)| TypeCount { type_name, count })
            .collect(),
    }
}

fn net_summary_text(n: &NetSummary) -> String {
    let mut s = format!(
        "espresso.net: {} layers, format_version {}, storage {}\n",
        n.layers,
        opt(n.format_version),
        n.storage.as_deref().unwrap_or("?")
    );
    for t in &n.types {
        let _ = writeln!(s, "  {:<16} {}", t.type_name, t.count);
    }
    s
}

fn looks_like_plist(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(256)).unwrap_or_default();
    bytes.starts_with(b"bplist00")
        || (head.starts_with(b"<?xml") || head.starts_with(b"<plist"))
            && head.windows(6).any(|w| w == b"<plist")
}

/// Summarise an Espresso-family file for `ane inspect`: a `.espresso.net` (JSON or PBZE),
/// `.espresso.weights`, `.espresso.shape` (JSON or PBZE), a `net.plist` (XML or binary) or a
/// raw LZFSE stream. `path` is only used for the extension and messages.
pub fn inspect(path: &Path, bytes: &[u8], ctx: &Ctx) -> CmdResult {
    let name = path.to_string_lossy();
    let fail = |e: &dyn std::fmt::Display| miette!("{}: {e}", path.display());
    let mut report = InspectReport {
        file: path,
        kind: "",
        pbze: None,
        lzfse: None,
        net: None,
        shape: None,
        weights: None,
        net_plist: None,
    };
    let mut human = String::new();

    let pbze_info;
    let stream_info;
    let shape;
    let weights;
    let plist;
    if pbze::is_pbze(bytes) {
        pbze_info = pbze::read_info(bytes, DEFAULT_LIMIT).map_err(|e| fail(&e))?;
        report.pbze = Some(&pbze_info);
        human.push_str(&stats_text(&pbze_info));
    }
    if bytes.starts_with(b"bvx") {
        let (out, info) = lzfse::decode_at(anekit_core::Reader::new(bytes), DEFAULT_LIMIT)
            .map_err(|e| fail(&e))?;
        stream_info = info;
        report.kind = "lzfse";
        report.lzfse = Some(&stream_info);
        let _ = writeln!(
            human,
            "LZFSE stream: {} bytes -> {} bytes in {} block(s)",
            stream_info.encoded_size,
            out.len(),
            stream_info.blocks.len()
        );
        for b in &stream_info.blocks {
            let _ = writeln!(
                human,
                "  {} @{:#x}: {} bytes encoded, {} bytes raw",
                b.kind.magic(),
                b.offset,
                b.encoded_size,
                b.raw_size
            );
        }
        return ctx.emit(&report, || human);
    }
    if looks_like_plist(bytes) {
        plist = NetPlist::parse(bytes).map_err(|e| fail(&e))?;
        report.kind = "net.plist";
        report.net_plist = Some(&plist);
        if plist.networks.is_empty() {
            let _ = writeln!(
                human,
                "property list without a Networks list: not an ANECompiler net.plist"
            );
            return ctx.emit(&report, || human);
        }
        let _ = writeln!(
            human,
            "ANECompiler net.plist, version {}",
            plist.version.as_deref().unwrap_or("?")
        );
        for n in &plist.networks {
            let _ = writeln!(
                human,
                "  network {}: {} input(s), {} output(s), {} unit(s), weights {:?}",
                n.name,
                n.inputs.len(),
                n.outputs.len(),
                n.units.len(),
                n.weights
            );
            for u in &n.units {
                let _ = writeln!(
                    human,
                    "    {} ({}) <- {}",
                    u.name,
                    u.unit_type.as_deref().unwrap_or("?"),
                    u.bottoms.join(", ")
                );
            }
        }
        for r in plist.weight_refs() {
            let _ = writeln!(
                human,
                "  {} {}: weights[{}] {} @ {}",
                r.unit,
                r.role,
                r.file_index,
                r.file.as_deref().unwrap_or("?"),
                r.offset
            );
        }
        return ctx.emit(&report, || human);
    }
    let is_json = pbze::is_pbze(bytes)
        || bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{');
    if is_json {
        let text = json_text(bytes, DEFAULT_LIMIT).map_err(|e| fail(&e))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| fail(&e))?;
        if value.get("layer_shapes").is_some() {
            shape = ShapeFile::parse_json(&text).map_err(|e| fail(&e))?;
            report.kind = "espresso.shape";
            let _ = writeln!(human, "espresso.shape: {} blobs", shape.shapes.len());
            for s in &shape.shapes {
                let _ = writeln!(
                    human,
                    "  {}: n={} k={} h={} w={} rank {}",
                    s.name,
                    opt(s.n),
                    opt(s.k),
                    opt(s.h),
                    opt(s.w),
                    s.rank
                );
            }
            report.shape = Some(&shape);
        } else {
            let net = EspressoNet::from_value(value).map_err(|e| fail(&e))?;
            report.kind = "espresso.net";
            let summary = net_summary(&net);
            human.push_str(&net_summary_text(&summary));
            report.net = Some(summary);
        }
        return ctx.emit(&report, || human);
    }
    if name.ends_with(".weights") || WeightsTable::parse(bytes).is_ok() {
        weights = WeightsTable::parse(bytes).map_err(|e| fail(&e))?;
        report.kind = "espresso.weights";
        let _ = writeln!(
            human,
            "espresso.weights: {} blobs, {} blob bytes, header {} bytes",
            weights.entries.len(),
            weights.total_blob_bytes(),
            weights.header_size
        );
        for e in &weights.entries {
            let _ = writeln!(human, "  blob {} @{:#x}: {} bytes", e.id, e.offset, e.size);
        }
        report.weights = Some(&weights);
        return ctx.emit(&report, || human);
    }
    Err(miette!(
        "{}: not an Espresso file (expected PBZE, LZFSE, JSON, a plist or an .espresso.weights table)",
        path.display()
    ))
}
