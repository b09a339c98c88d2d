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
    /// Also convert the compiled .hwx to an Asahi Linux .anec here (as `ane anec from-hwx`).
    #[arg(long, value_name = "FILE.anec")]
    pub anec: Option<PathBuf>,
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
    /// `--anec`: where the converted program would go.
    #[serde(skip_serializing_if = "Option::is_none")]
    anec: Option<String>,
}

/// What the compiled file turned out to be: its generation against the target's, and the
/// `.anec` written from it.
#[derive(Debug, Serialize)]
struct HwxCheck {
    cpusubtype: u32,
    /// What hwx-td.md §6 gives for the target (only h13 = 4 is verified).
    expected_cpusubtype: Option<u32>,
    generation_matches: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anec_bytes: Option<u64>,
}

/// Parse the compiled `.hwx`, compare its cpusubtype with the target's, and write the
/// `.anec` when asked.
fn check_output(
    hwx_path: &Path,
    target: CompileTarget,
    anec: Option<&Path>,
) -> miette::Result<HwxCheck> {
    let bytes =
        std::fs::read(hwx_path).map_err(|e| miette!("cannot read {}: {e}", hwx_path.display()))?;
    let hwx = anekit_hwx::container::Hwx::parse(&bytes).map_err(|e| {
        miette!(
            "{}: the compiler wrote something that is not an .hwx: {e}",
            hwx_path.display()
        )
    })?;
    let cpusubtype = hwx.header.cpusubtype;
    let expected = target.hwx_cpusubtype();
    let mut check = HwxCheck {
        cpusubtype,
        expected_cpusubtype: expected,
        generation_matches: expected.map(|e| e == cpusubtype),
        anec: None,
        anec_bytes: None,
    };
    if let Some(out) = anec {
        let file = anekit_hwx::anec::Anec::from_hwx(&hwx)
            .map_err(|e| miette!("{}: cannot convert to .anec: {e}", hwx_path.display()))?;
        std::fs::write(out, &file).map_err(|e| miette!("cannot write {}: {e}", out.display()))?;
        check.anec = Some(out.display().to_string());
        check.anec_bytes = Some(file.len() as u64);
    }
    Ok(check)
}

pub fn dump_plist(args: DumpPlistArgs, ctx: &Ctx) -> CmdResult {
    let plan = EspressoDumpPlan::for_model(&args.model, &args.out).map_err(err)?;
    if args.dry_run {
        return ctx.emit(
            &DryRun {
                dry_run: true,
                plan: &plan,
                anec: None,
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
    check: HwxCheck,
}

fn check_text(c: &HwxCheck) -> String {
    let mut s = match (c.expected_cpusubtype, c.generation_matches) {
        (Some(e), Some(true)) => format!("cpusubtype {} as expected for the target\n", e),
        (Some(e), _) => format!(
            "warning: cpusubtype {} but the target's generation has {e} (hwx-td.md §6; only h13 = 4 is verified)\n",
            c.cpusubtype
        ),
        (None, _) => format!(
            "cpusubtype {} (no known value for the target)\n",
            c.cpusubtype
        ),
    };
    if let (Some(p), Some(n)) = (&c.anec, c.anec_bytes) {
        let _ = writeln!(s, "wrote {p} ({n} bytes)");
    }
    s
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
                        anec: anec_text(args.anec.as_deref()),
                    },
                    || with_anec(compile_text(&plan), args.anec.as_deref()),
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
            let check = check_output(&outcome.hwx, target, args.anec.as_deref())?;
            report(ctx, &outcome, target, None, check)
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
                        anec: anec_text(args.anec.as_deref()),
                    },
                    || {
                        with_anec(
                            format!(
                                "{}then (weight files as the dumped plist lists them)\n{}",
                                dump_text(&chain.dump),
                                compile_text(&chain.compile)
                            ),
                            args.anec.as_deref(),
                        )
                    },
                );
            }
            let (dumped, _plan, outcome) = toolchain::execute_chain(&chain).map_err(err)?;
            let check = check_output(&outcome.hwx, target, args.anec.as_deref())?;
            report(
                ctx,
                &outcome,
                target,
                Some(dumped.net_plist.display().to_string()),
                check,
            )
        }
    }
}

fn anec_text(anec: Option<&Path>) -> Option<String> {
    anec.map(|p| p.display().to_string())
}

fn with_anec(mut text: String, anec: Option<&Path>) -> String {
    if let Some(p) = anec {
        let _ = writeln!(
            text,
            "then convert the .hwx to {} (ane anec from-hwx)",
            p.display()
        );
    }
    text
}

fn report(
    ctx: &Ctx,
    outcome: &toolchain::CompileOutcome,
    target: CompileTarget,
    net_plist: Option<String>,
    check: HwxCheck,
) -> CmdResult {
    let r = CompileReport {
        hwx: outcome.hwx.display().to_string(),
        bytes: outcome.bytes,
        target,
        net_plist,
        check,
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
        s.push_str(&check_text(&r.check));
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anekit_core::corpus::corpus_dir;

    #[test]
    fn the_compiled_file_is_checked_against_the_target_and_converted_to_anec() {
        let Some(dir) = corpus_dir("tinygrad-ane/ops") else {
            return;
        };
        let conv = dir.join("conv.hwx");
        let tmp = tempfile::tempdir().unwrap();
        let anec = tmp.path().join("conv.anec");
        // The staged files are H13 programs (hwx-td.md: cpusubtype 4).
        let ok = check_output(&conv, CompileTarget::H13, Some(&anec)).unwrap();
        assert_eq!(ok.cpusubtype, 4);
        assert_eq!(ok.expected_cpusubtype, Some(4));
        assert_eq!(ok.generation_matches, Some(true));
        let written = std::fs::read(&anec).unwrap();
        assert_eq!(ok.anec_bytes, Some(written.len() as u64));
        let parsed = anekit_hwx::anec::Anec::parse(&written).unwrap();
        assert_eq!(parsed.header.td_count, 1);
        assert_eq!(
            check_text(&ok),
            format!(
                "cpusubtype 4 as expected for the target\nwrote {} ({} bytes)\n",
                anec.display(),
                written.len()
            )
        );

        let off = check_output(&conv, CompileTarget::H14, None).unwrap();
        assert_eq!(off.generation_matches, Some(false));
        assert!(
            check_text(&off).starts_with("warning: cpusubtype 4 but the target's generation has 5")
        );
        let none = check_output(&conv, CompileTarget::T0, None).unwrap();
        assert_eq!(none.generation_matches, None);

        let bad = tmp.path().join("bad.hwx");
        std::fs::write(&bad, b"not a mach-o").unwrap();
        let e = check_output(&bad, CompileTarget::H13, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not an .hwx"), "{e}");
    }
}
