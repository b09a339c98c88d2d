//! `ane espresso dump-plist` and `ane hwx compile`: Apple's Espresso dump and ANECompiler
//! driven through `anekit_runtime::toolchain` (macOS only; type-checked, never run on
//! hardware). `--dry-run` prints the plan — the C calls, the option and flag dictionaries and
//! the files read and written — on any OS.
use crate::{CmdResult, Ctx};
use anekit_runtime::toolchain::{
    self, AneCompilePlan, ChainPlan, CompileInput, CompileTarget, EspressoDumpPlan, PlistDict,
    ToolchainError,
};
use miette::miette;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct DumpPlistArgs {
    /// A NeuralNetwork-era .mlmodelc (holding model.espresso.net) or an .espresso.net.
    pub model: PathBuf,
    /// Folder for net.plist and its companions (created if missing).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Print the Espresso calls and the expected files instead of running them (any OS).
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(clap::Args)]
pub struct CompileArgs {
    /// A network plist (net.plist), or an .mlmodelc / .espresso.net to dump with Espresso
    /// first.
    pub input: PathBuf,
    /// ANECompiler TargetArchitecture: h13 (default; the only value public callers use),
    /// t0, m9, h11, h12 (listed by ANETools) or h14-h18 (unverified).
    #[arg(long, default_value = "h13")]
    pub target: String,
    /// The .hwx to write.
    #[arg(short, long)]
    pub out: PathBuf,
    /// ANETools' -debug flags (CompileANEProgramForDebugging, DebugMask 0x7fffffff): the
    /// compiler writes graphs and tables next to the output.
    #[arg(long)]
    pub debug: bool,
    /// Where the Espresso dump goes when INPUT is a model (default: OUT with the extension
    /// replaced by `.espresso-ir`).
    #[arg(long)]
    pub ir_dir: Option<PathBuf>,
    /// Print the plan instead of running it (any OS).
    #[arg(long)]
    pub dry_run: bool,
}

fn err(e: ToolchainError) -> miette::Report {
    match e {
        ToolchainError::NotMacos { .. } => miette!("{e} (--dry-run prints the plan on any OS)"),
        other => miette!("{other}"),
    }
}

fn dict_text(dict: &PlistDict) -> String {
    serde_json::to_string_pretty(dict).unwrap_or_default()
}

fn paths_text(s: &mut String, what: &str, paths: &[PathBuf]) {
    for p in paths {
        let _ = writeln!(s, "  {what:9} {}", p.display());
    }
}

fn dump_text(plan: &EspressoDumpPlan) -> String {
    let mut s = format!(
        "Espresso dump of {} into {}\n",
        plan.net.display(),
        plan.out_dir.display()
    );
    for (i, step) in plan.steps.iter().enumerate() {
        let optional = if step.required() { "" } else { "  (optional)" };
        let _ = writeln!(s, "  {}. {}{optional}", i + 1, step.render());
    }
    paths_text(&mut s, "writes", &plan.produces);
    s
}

fn compile_text(plan: &AneCompilePlan) -> String {
    let mut s = format!(
        "ANECCompile {} -> {} (target {}, {})\n",
        plan.plist.display(),
        plan.output.display(),
        plan.target,
        match plan.target_evidence {
            toolchain::Evidence::Source => "listed by ANETools",
            toolchain::Evidence::Unverified => "unverified target",
        }
    );
    let _ = writeln!(s, "options = {}", dict_text(&plan.options));
    let _ = writeln!(s, "flags = {}", dict_text(&plan.flags));
    paths_text(&mut s, "reads", &plan.consumes);
    paths_text(&mut s, "writes", &plan.produces);
    s
}

#[derive(Serialize)]
struct DryRun<'a, T: Serialize> {
    dry_run: bool,
    plan: &'a T,
}

pub fn dump_plist(args: DumpPlistArgs, ctx: &Ctx) -> CmdResult {
    let plan = EspressoDumpPlan::for_model(&args.model, &args.out).map_err(err)?;
    if args.dry_run {
        return ctx.emit(
            &DryRun {
                dry_run: true,
                plan: &plan,
            },
            || dump_text(&plan),
        );
    }
    let outcome = toolchain::execute_dump(&plan).map_err(err)?;
    ctx.emit(&outcome, || {
        let mut s = format!("wrote {}\n", outcome.net_plist.display());
        for (name, bytes) in &outcome.files {
            let _ = writeln!(s, "  {name} ({bytes} bytes)");
        }
        s
    })
}

fn default_ir_dir(out: &Path) -> PathBuf {
    out.with_extension("espresso-ir")
}

#[derive(Serialize)]
struct CompileReport {
    hwx: String,
    bytes: u64,
    target: CompileTarget,
    /// The Espresso dump folder, when the input was a model.
    #[serde(skip_serializing_if = "Option::is_none")]
    net_plist: Option<String>,
}

pub fn compile(args: CompileArgs, ctx: &Ctx) -> CmdResult {
    let target = CompileTarget::parse(&args.target).map_err(err)?;
    match toolchain::classify_input(&args.input) {
        CompileInput::NetPlist => {
            let plan = AneCompilePlan::for_plist_file(&args.input, &args.out, target, args.debug)
                .map_err(err)?;
            if args.dry_run {
                return ctx.emit(
                    &DryRun {
                        dry_run: true,
                        plan: &plan,
                    },
                    || compile_text(&plan),
                );
            }
            let missing = plan.missing_inputs();
            if !missing.is_empty() {
                let names: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
                return Err(miette!(
                    "{}: the plist names weight files that do not exist: {}",
                    args.input.display(),
                    names.join(", ")
                ));
            }
            let outcome = toolchain::execute_compile(&plan).map_err(err)?;
            report(ctx, &outcome, target, None)
        }
        CompileInput::EspressoModel => {
            let ir_dir = args
                .ir_dir
                .clone()
                .unwrap_or_else(|| default_ir_dir(&args.out));
            let chain =
                ChainPlan::new(&args.input, &ir_dir, &args.out, target, args.debug).map_err(err)?;
            if args.dry_run {
                return ctx.emit(
                    &DryRun {
                        dry_run: true,
                        plan: &chain,
                    },
                    || {
                        format!(
                            "{}then (weight files as the dumped plist lists them)\n{}",
                            dump_text(&chain.dump),
                            compile_text(&chain.compile)
                        )
                    },
                );
            }
            let (dumped, _plan, outcome) = toolchain::execute_chain(&chain).map_err(err)?;
            report(
                ctx,
                &outcome,
                target,
                Some(dumped.net_plist.display().to_string()),
            )
        }
    }
}

fn report(
    ctx: &Ctx,
    outcome: &toolchain::CompileOutcome,
    target: CompileTarget,
    net_plist: Option<String>,
) -> CmdResult {
    let r = CompileReport {
        hwx: outcome.hwx.display().to_string(),
        bytes: outcome.bytes,
        target,
        net_plist,
    };
    ctx.emit(&r, || {
        let mut s = String::new();
        if let Some(p) = &r.net_plist {
            let _ = writeln!(s, "Espresso wrote {p}");
        }
        let _ = writeln!(
            s,
            "wrote {} ({} bytes, target {})",
            r.hwx, r.bytes, r.target
        );
        s
    })
}
