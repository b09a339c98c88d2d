//! `ane lint MODEL --target CHIP [--compiles N]`: the per-chip pre-flight lints of anekit-lint
//! (docs/lints.md) plus the program's validation errors, rendered like `ane mil check`.
//!
//! MODEL is a `.mil` file, an `.mlmodelc` folder (its `model.mil`) or an `.mlpackage` (converted
//! to canonical MIL text first; spans then point into that text, as `ane convert` writes it).
//! Exit 1 when any error-severity finding or validation error is present.
use super::mil_check::render;
use crate::{CmdResult, Ctx};
use anekit_ir::{Diagnostic, Severity};
use anekit_lint::source::{ModelSource, SourceKind};
use anekit_lint::{Finding, LintOptions, Target};
use anekit_mil::LineIndex;
use serde::Serialize;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct LintArgs {
    /// The model: a .mil file, an .mlmodelc folder or an .mlpackage folder.
    pub model: PathBuf,
    /// The chip: m1, m1pro, m1max, m1ultra, m2 ... m4, m4pro, m4max, m5, m5max.
    #[arg(long)]
    pub target: String,
    /// Programs the process will compile (for the compile-budget lint).
    #[arg(long, value_name = "N")]
    pub compiles: Option<u64>,
}

/// Load the model and resolve the target (shared with `ane cost`).
pub(crate) fn load(model: &std::path::Path, target: &str) -> miette::Result<(ModelSource, Target)> {
    let chip = anekit_lint::target(target).ok_or_else(|| {
        miette::miette!(
            "unknown --target {target}; one of: {}",
            anekit_lint::TARGET_IDS.join(", ")
        )
    })?;
    let source = anekit_lint::source::load(model).map_err(|e| miette::miette!("{e}"))?;
    Ok((source, chip))
}

/// The name diagnostics are reported under.
pub(crate) fn display_name(source: &ModelSource) -> String {
    match source.kind {
        SourceKind::Mlpackage => format!("{} (converted MIL)", source.path.display()),
        SourceKind::Mil | SourceKind::Mlmodelc => source.path.display().to_string(),
    }
}

#[derive(Serialize)]
struct JsonTarget<'a> {
    id: &'a str,
    name: &'a str,
    generation: &'a str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    line: usize,
    col: usize,
    offset: usize,
    len: usize,
    snippet: &'a str,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    code: &'a str,
    message: &'a str,
    line: usize,
    col: usize,
}

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    kind: SourceKind,
    target: JsonTarget<'a>,
    /// No validation errors and no error-severity findings.
    ok: bool,
    errors: usize,
    warnings: usize,
    findings: Vec<JsonFinding<'a>>,
    /// Validation problems from anekit-ir (errors and warnings).
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

pub fn run(args: LintArgs, ctx: &Ctx) -> CmdResult {
    let (source, chip) = load(&args.model, &args.target)?;
    let file = display_name(&source);
    let src = &source.text;
    let checked = anekit_ir::check(src);
    let diagnostics: Vec<&Diagnostic> = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .collect();
    let options = LintOptions {
        compiles: args.compiles,
    };
    let findings = checked
        .program
        .as_ref()
        .map(|p| anekit_lint::lint(p, &chip, &options))
        .unwrap_or_default();
    let count = |s: Severity| {
        findings.iter().filter(|f| f.severity == s).count()
            + diagnostics.iter().filter(|d| d.severity == s).count()
    };
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let ok = errors == 0;
    let index = LineIndex::new(src);
    let summary = format!(
        "{file}: {} ({}): {} lint finding(s), {errors} error(s), {warnings} warning(s)",
        chip.name,
        chip.generation,
        findings.len()
    );
    if ctx.json {
        let line_text = |line: usize| src.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let report = Report {
            file: file.clone(),
            kind: source.kind,
            target: JsonTarget {
                id: chip.id,
                name: chip.name,
                generation: chip.generation,
            },
            ok,
            errors,
            warnings,
            findings: findings
                .iter()
                .map(|f| {
                    let (line, col) = index.line_col(src, f.span.start);
                    JsonFinding {
                        finding: f,
                        line,
                        col,
                        offset: f.span.start,
                        len: f.span.len(),
                        snippet: line_text(line).trim(),
                    }
                })
                .collect(),
            diagnostics: diagnostics
                .iter()
                .map(|d| {
                    let (line, col) = index.line_col(src, d.span.start);
                    JsonDiagnostic {
                        severity: d.severity,
                        code: d.code,
                        message: &d.message,
                        line,
                        col,
                    }
                })
                .collect(),
        };
        ctx.emit(&report, String::new)?;
        if !ok {
            // The JSON document is the whole answer; exit 1 without a second (error) document.
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            std::process::exit(1);
        }
        return Ok(());
    }
    let mut out = String::new();
    for d in &diagnostics {
        render(&mut out, &file, src, &index, d);
    }
    for f in &findings {
        let as_diag = Diagnostic {
            severity: f.severity,
            code: f.lint,
            message: f.message.clone(),
            span: f.span,
        };
        render(&mut out, &file, src, &index, &as_diag);
        out.push_str(&format!(
            "  = evidence: {} ({})\n",
            anekit_lint::evidence_label(f.evidence),
            f.reference
        ));
        out.push_str(&format!("  = hint: {}\n", f.hint));
    }
    if ok {
        out.push_str(&summary);
        ctx.emit(&(), || out)?;
        Ok(())
    } else {
        crate::output::write_stdout(&out)?;
        Err(miette::miette!("{summary}"))
    }
}
