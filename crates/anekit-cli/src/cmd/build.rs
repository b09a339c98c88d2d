//! `ane build MODEL --target CHIP -o DIR [--summary]`: build a canned model (anekit-build) and
//! write it as MIL text + weight.bin in the target chip's dialect. See docs/build.md.
use crate::{CmdResult, Ctx};
use anekit_build::lower::{LowerOptions, Target, lower};
use anekit_build::models;
use anekit_build::passes::run_passes;
use anekit_build::summary::{Summary, si, summarize};
use miette::{IntoDiagnostic, WrapErr, miette};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The canned model (`--list` shows them all): notes-cnn, notes-attention,
    /// transformer-block, decoder (each also `-tiny`), conv-stack, sram-probe, matmul.
    #[arg(required_unless_present = "list")]
    pub model: Option<String>,
    /// The chip whose MIL dialect to write: m1, m2 (program 1.0/ios16, fp16 I/O), m3
    /// (1.3/ios18, fp16 I/O), m4, m5 (1.3/ios18, fp32 I/O with casts), or any chip name of
    /// `ane kb`.
    #[arg(long, default_value = "m4")]
    pub target: String,
    /// Write `DIR/model.mil` and `DIR/weights/weight.bin`.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the per-layer summary (kind, shapes, kernel/stride/pad, ANECompiler descriptor
    /// bytes, FLOPs, weight bytes).
    #[arg(long)]
    pub summary: bool,
    /// fp16 inputs/outputs even where the chip accepts fp32 with casts.
    #[arg(long)]
    pub fp16_io: bool,
    /// Optimisation passes to run before lowering, comma-separated (see `ane opt`).
    #[arg(long, value_delimiter = ',', value_name = "PASS,...")]
    pub passes: Vec<String>,
    /// List the canned models.
    #[arg(long)]
    pub list: bool,
}

#[derive(Serialize)]
struct Io {
    name: String,
    dtype: &'static str,
    shape: Vec<usize>,
}

#[derive(Serialize)]
struct BuildReport {
    model: String,
    target: Target,
    ops: usize,
    inputs: Vec<Io>,
    outputs: Vec<Io>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_mil: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weight_bin: Option<PathBuf>,
    weight_bytes: usize,
    passes: Vec<anekit_build::passes::PassReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Summary>,
}

pub fn run(args: BuildArgs, ctx: &Ctx) -> CmdResult {
    if args.list {
        return ctx.emit(&models::CANNED, || models::CANNED.join("\n"));
    }
    let name = args.model.unwrap_or_default();
    let mut graph = models::by_name(&name)
        .ok_or_else(|| {
            miette!(
                "unknown model `{name}` (known: {})",
                models::CANNED.join(", ")
            )
        })?
        .map_err(|e| miette!("{e}"))?;
    let target = Target::chip(&args.target).map_err(|e| miette!("{e}"))?;
    let passes: Vec<&str> = args.passes.iter().map(String::as_str).collect();
    let reports = run_passes(&mut graph, &passes).map_err(|e| miette!("{e}"))?;
    let summary = args.summary.then(|| summarize(&graph));
    if args.out.is_none() && summary.is_none() {
        return Err(miette!(
            "nothing to do: give -o DIR to write the program, or --summary"
        ));
    }
    let options = LowerOptions {
        fp32_io: !args.fp16_io,
        ..LowerOptions::default()
    };
    let spinner = (!ctx.json && args.out.is_some()).then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.set_message(format!("lowering {name} for {}", target.chip));
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    });
    let io = |v: &[(String, anekit_core::DType, Vec<usize>)]| {
        v.iter()
            .map(|(n, d, s)| Io {
                name: n.clone(),
                dtype: d.mil_name(),
                shape: s.clone(),
            })
            .collect::<Vec<_>>()
    };
    let (mut model_mil, mut weight_bin, mut weight_bytes) = (None, None, 0);
    let (inputs, outputs) = if let Some(dir) = &args.out {
        let lowered = lower(&graph, &target, &options).map_err(|e| miette!("{e}"))?;
        lowered
            .write_to(dir)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", dir.display()))?;
        model_mil = Some(dir.join("model.mil"));
        weight_bin = Some(dir.join("weights").join("weight.bin"));
        weight_bytes = lowered.weights.len();
        (io(&lowered.inputs), io(&lowered.outputs))
    } else {
        // Summary only: no need to materialise the weights; I/O as the lowering would write it.
        let fp32 = target.dialect.fp32_io && options.fp32_io;
        let ty = |id: &anekit_build::TensorId| {
            let v = graph.value(*id);
            let d = if fp32 && v.dtype == anekit_core::DType::Fp16 {
                anekit_core::DType::Fp32
            } else {
                v.dtype
            };
            (v.name.clone(), d, v.shape.clone())
        };
        let ins: Vec<_> = graph.inputs.iter().map(ty).collect();
        let outs: Vec<_> = graph.outputs.iter().map(ty).collect();
        (io(&ins), io(&outs))
    };
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let report = BuildReport {
        model: name,
        target,
        ops: graph.nodes.len(),
        inputs,
        outputs,
        model_mil,
        weight_bin,
        weight_bytes,
        passes: reports,
        summary,
    };
    ctx.emit(&report, || human(&report))
}

fn human(r: &BuildReport) -> String {
    let mut s = String::new();
    if let Some(summary) = &r.summary {
        let _ = writeln!(s, "{summary}\n");
    }
    let d = &r.target.dialect;
    let _ = writeln!(
        s,
        "{}: {} ops for {} (program({}), {}, {} I/O{})",
        r.model,
        r.ops,
        r.target.chip,
        d.program_version,
        d.opset,
        r.inputs.first().map_or("fp16", |i| i.dtype),
        if d.identity_outputs {
            ", identity outputs"
        } else {
            ""
        }
    );
    for p in &r.passes {
        let _ = writeln!(
            s,
            "  pass {}: {} rewrite(s), {} -> {} ops",
            p.pass, p.rewrites, p.ops_before, p.ops_after
        );
    }
    for (label, v) in [("input", &r.inputs), ("output", &r.outputs)] {
        for io in v {
            let _ = writeln!(s, "  {label} {}: {}{:?}", io.name, io.dtype, io.shape);
        }
    }
    if let (Some(m), Some(w)) = (&r.model_mil, &r.weight_bin) {
        let _ = writeln!(
            s,
            "  wrote {} and {} ({} bytes)",
            m.display(),
            w.display(),
            si(r.weight_bytes as u64)
        );
    }
    s
}
