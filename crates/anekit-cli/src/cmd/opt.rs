//! `ane opt IN.mil [--weights DIR] -o OUTDIR --passes a,b,c [--verify]`: run anekit-build's
//! optimisation passes on any MIL program and write it back (same dialect) with a fresh
//! weight.bin. `--verify` runs the program before and after on the CPU executor with seeded
//! random inputs and reports the largest difference. See docs/build.md.
use crate::{CmdResult, Ctx};
use anekit_build::import::optimize;
use anekit_build::passes::{DEFAULT_PIPELINE, PASSES, PassReport};
use anekit_core::TensorData;
use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};
use anekit_ir::weights::Weights;
use miette::{IntoDiagnostic, WrapErr, miette};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct OptArgs {
    /// The MIL text program.
    #[arg(required_unless_present = "list")]
    pub input: Option<PathBuf>,
    /// The folder `@model_path` stands for (default: the .mil file's folder).
    #[arg(long, value_name = "DIR")]
    pub weights: Option<PathBuf>,
    /// Write `OUTDIR/model.mil` and `OUTDIR/weights/weight.bin`.
    #[arg(
        short = 'o',
        long = "out",
        value_name = "OUTDIR",
        required_unless_present = "list"
    )]
    pub out: Option<PathBuf>,
    /// Passes to run in order, comma-separated (default: identity, const-fold, div-to-mul,
    /// conv-bn, bias-fusion, transpose-cancel, reshape-cancel, dce).
    #[arg(long, value_delimiter = ',', value_name = "PASS,...")]
    pub passes: Vec<String>,
    /// Run both programs on the CPU executor (seeded random inputs) and report the difference.
    #[arg(long)]
    pub verify: bool,
    /// List the passes.
    #[arg(long)]
    pub list: bool,
}

#[derive(Serialize)]
struct Verify {
    outputs: usize,
    max_abs_diff: f32,
    /// Largest difference divided by the largest |value| of the original output (at least 1).
    max_rel_diff: f32,
}

#[derive(Serialize)]
struct OptReport {
    input: PathBuf,
    model_mil: PathBuf,
    weight_bin: PathBuf,
    passes: Vec<PassReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<Verify>,
}

#[derive(Serialize)]
struct PassInfo {
    name: &'static str,
    description: &'static str,
    default: bool,
}

pub fn run(args: OptArgs, ctx: &Ctx) -> CmdResult {
    if args.list {
        let list: Vec<PassInfo> = PASSES
            .iter()
            .map(|(n, d)| PassInfo {
                name: n,
                description: d,
                default: DEFAULT_PIPELINE.contains(n),
            })
            .collect();
        return ctx.emit(&list, || {
            list.iter()
                .map(|p| {
                    format!(
                        "{:<18} {}{}",
                        p.name,
                        p.description,
                        if p.default { " (default)" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
    }
    let (Some(input), Some(out)) = (args.input, args.out) else {
        return Err(miette!("give IN.mil and -o OUTDIR"));
    };
    let src = std::fs::read_to_string(&input)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", input.display()))?;
    let root = args
        .weights
        .clone()
        .or_else(|| input.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let weights = Weights::new(&root);
    let passes: Vec<&str> = if args.passes.is_empty() {
        DEFAULT_PIPELINE.to_vec()
    } else {
        args.passes.iter().map(String::as_str).collect()
    };
    let (lowered, reports) =
        optimize(&src, Some(&weights), &passes).map_err(|e| miette!("{}: {e}", input.display()))?;
    lowered
        .write_to(&out)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", out.display()))?;
    let verify = if args.verify {
        Some(verify(&src, &weights, &lowered.text, &out)?)
    } else {
        None
    };
    let report = OptReport {
        input,
        model_mil: out.join("model.mil"),
        weight_bin: out.join("weights").join("weight.bin"),
        passes: reports,
        verify,
    };
    ctx.emit(&report, || {
        let mut s = String::new();
        for p in &report.passes {
            let _ = writeln!(s, "{:<18} {} rewrite(s), {} -> {} ops", p.pass, p.rewrites, p.ops_before, p.ops_after);
        }
        if let Some(v) = &report.verify {
            let _ = writeln!(
                s,
                "verify: {} output(s), max |diff| {:.3e}, relative {:.3e} (CPU executor, seeded random inputs)",
                v.outputs, v.max_abs_diff, v.max_rel_diff
            );
        }
        let _ = write!(s, "wrote {} and {}", report.model_mil.display(), report.weight_bin.display());
        s
    })
}

fn run_program(text: &str, weights: Weights) -> miette::Result<Vec<NamedTensor>> {
    let program = anekit_ir::check(text)
        .program
        .ok_or_else(|| miette!("the program does not parse"))?;
    let exec = Executor::new(program, Some(weights), ExecOptions::default())
        .map_err(|e| miette!("{e}"))?;
    let inputs: Vec<NamedTensor> = exec
        .inputs()
        .into_iter()
        .enumerate()
        .map(|(i, spec)| {
            let shape: Option<Vec<usize>> = spec.shape.iter().copied().collect();
            let shape = shape.ok_or_else(|| miette!("input `{}` has dynamic dims", spec.name))?;
            let n = shape.iter().product();
            let data = TensorData::F32(anekit_build::graph::random_values(i as u64, 1.0, n))
                .convert(spec.dtype)
                .map_err(|e| miette!("input `{}`: {e}", spec.name))?;
            Ok(NamedTensor {
                name: spec.name,
                shape,
                data,
            })
        })
        .collect::<miette::Result<_>>()?;
    exec.run(&inputs).map_err(|e| miette!("{e}"))
}

fn verify(src: &str, weights: &Weights, optimised: &str, out: &Path) -> miette::Result<Verify> {
    let before = run_program(src, Weights::new(weights.root())).wrap_err("verify (original)")?;
    let after = run_program(optimised, Weights::new(out)).wrap_err("verify (optimised)")?;
    if before.len() != after.len() {
        return Err(miette!(
            "verify: {} outputs before, {} after",
            before.len(),
            after.len()
        ));
    }
    let (mut abs, mut rel) = (0f32, 0f32);
    for (a, b) in before.iter().zip(&after) {
        if a.shape != b.shape {
            return Err(miette!(
                "verify: output `{}` changed shape {:?} -> {:?}",
                a.name,
                a.shape,
                b.shape
            ));
        }
        let (x, y) = (a.data.to_f32(), b.data.to_f32());
        let scale = x.iter().fold(1f32, |m, v| m.max(v.abs()));
        let d = x
            .iter()
            .zip(&y)
            .fold(0f32, |m, (p, q)| m.max((p - q).abs()));
        abs = abs.max(d);
        rel = rel.max(d / scale);
    }
    Ok(Verify {
        outputs: before.len(),
        max_abs_diff: abs,
        max_rel_diff: rel,
    })
}
