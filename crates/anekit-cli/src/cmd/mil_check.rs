//! `ane mil check FILE [--weights DIR]`: validate a MIL text program with anekit-ir.
//!
//! Exit 0 when the program has no errors (one summary line); otherwise every diagnostic as
//! `FILE:LINE:COL: severity[code]: message` with a source snippet, and exit 1. With `--json`,
//! one document with every diagnostic, also exit 1 when invalid.
use crate::{CmdResult, Ctx};
use anekit_ir::weights::Weights;
use anekit_ir::{Diagnostic, Severity, codes};
use anekit_mil::LineIndex;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The MIL text file.
    pub file: PathBuf,
    /// The model folder that `@model_path` in BLOBFILE paths stands for. Default: the MIL
    /// file's folder when it has a `weights/` subfolder (an .mlmodelc layout).
    #[arg(long, value_name = "DIR")]
    pub weights: Option<PathBuf>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    code: &'a str,
    message: &'a str,
    line: usize,
    col: usize,
    offset: usize,
    len: usize,
}

#[derive(Serialize)]
struct BlobSummary {
    total: usize,
    /// False when no weights folder was given or found.
    checked: bool,
    resolved: usize,
}

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    valid: bool,
    functions: usize,
    ops: usize,
    values: usize,
    model_path: Option<String>,
    blobs: BlobSummary,
    errors: usize,
    warnings: usize,
    notes: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// The `@model_path` folder: `--weights`, else the file's folder when it holds `weights/`.
fn model_root(args: &CheckArgs) -> Option<PathBuf> {
    if let Some(w) = &args.weights {
        return Some(w.clone());
    }
    let parent = args
        .file
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let parent = if parent.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        parent
    };
    parent.join("weights").is_dir().then_some(parent)
}

pub fn run(args: CheckArgs, ctx: &Ctx) -> CmdResult {
    let file = args.file.display().to_string();
    let bytes =
        std::fs::read(&args.file).map_err(|e| miette::miette!("cannot read {file}: {e}"))?;
    let src = String::from_utf8(bytes).map_err(|e| {
        miette::miette!(
            "{file} is not UTF-8 text (byte offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    if let Some(w) = &args.weights
        && !w.is_dir()
    {
        return Err(miette::miette!(
            "--weights {}: not a directory",
            w.display()
        ));
    }
    let mut checked = anekit_ir::check(&src);
    let root = model_root(&args);
    let mut blobs = BlobSummary {
        total: 0,
        checked: false,
        resolved: 0,
    };
    if let Some(program) = &checked.program {
        let first_blob = program.blob_constants().next().map(|(_, c, _)| c.span);
        blobs.total = program.blob_constants().count();
        match (&root, first_blob) {
            (Some(root), Some(_)) => {
                let weights = Weights::new(root);
                let (diags, resolved) = weights.check(program);
                checked.diagnostics.extend(diags);
                blobs.checked = true;
                blobs.resolved = resolved;
            }
            (None, Some(span)) => checked.diagnostics.push(Diagnostic::info(
                codes::BLOBS_SKIPPED,
                span,
                format!(
                    "{} BLOBFILE constant(s) not checked: no weights folder (pass --weights DIR, the folder @model_path stands for)",
                    blobs.total
                ),
            )),
            _ => {}
        }
        checked
            .diagnostics
            .sort_by_key(|d| (d.span.start, d.severity));
    }
    let index = LineIndex::new(&src);
    let count = |s: Severity| {
        checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .count()
    };
    let (errors, warnings, notes) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    let valid = errors == 0;
    let (functions, ops, values) = checked.program.as_ref().map_or((0, 0, 0), |p| {
        (p.functions.len(), p.op_count(), p.value_count())
    });
    let summary = if valid {
        let blob_part = match (blobs.total, blobs.checked) {
            (0, _) => "no BLOBFILE constants".to_string(),
            (n, true) => format!("{}/{n} BLOBFILE constants resolved", blobs.resolved),
            (n, false) => format!("{n} BLOBFILE constants not checked (no weights)"),
        };
        format!(
            "{file}: valid: {functions} function(s), {ops} op(s), {values} value(s), {blob_part}{}",
            if notes + warnings > 0 {
                format!(" ({} note(s))", notes + warnings)
            } else {
                String::new()
            }
        )
    } else {
        format!("{file}: invalid: {errors} error(s), {warnings} warning(s), {notes} note(s)")
    };
    if ctx.json {
        let report = Report {
            file: file.clone(),
            valid,
            functions,
            ops,
            values,
            model_path: root.as_ref().map(|r| r.display().to_string()),
            blobs,
            errors,
            warnings,
            notes,
            diagnostics: checked
                .diagnostics
                .iter()
                .map(|d| {
                    let (line, col) = index.line_col(&src, d.span.start);
                    JsonDiagnostic {
                        severity: d.severity,
                        code: d.code,
                        message: &d.message,
                        line,
                        col,
                        offset: d.span.start,
                        len: d.span.len(),
                    }
                })
                .collect(),
        };
        ctx.emit(&report, String::new)?;
        if !valid {
            // The JSON document is the whole answer; exit 1 without a second (error) document.
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            std::process::exit(1);
        }
        return Ok(());
    }
    let mut out = String::new();
    for d in &checked.diagnostics {
        render(&mut out, &file, &src, &index, d);
    }
    if valid {
        out.push_str(&summary);
        ctx.emit(&(), || out)?;
        Ok(())
    } else {
        crate::output::write_stdout(&out)?;
        Err(miette::miette!("{summary}"))
    }
}

/// `FILE:LINE:COL: severity[code]: message`, then (for errors and warnings) the source line
/// with carets under the span.
pub(crate) fn render(out: &mut String, file: &str, src: &str, index: &LineIndex, d: &Diagnostic) {
    let (line, col) = index.line_col(src, d.span.start);
    let _ = writeln!(
        out,
        "{file}:{line}:{col}: {}[{}]: {}",
        d.severity, d.code, d.message
    );
    if d.severity == Severity::Info {
        return;
    }
    let text = src.lines().nth(line.saturating_sub(1)).unwrap_or("");
    // Long lines (inline tensors) are cut around the column.
    let chars: Vec<char> = text.chars().collect();
    let start = col.saturating_sub(1).saturating_sub(40);
    let end = (start + 120).min(chars.len());
    let shown: String = chars
        .get(start..end)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let prefix = if start > 0 { "..." } else { "" };
    let suffix = if end < chars.len() { "..." } else { "" };
    let gutter = " ".repeat(line.to_string().len());
    let caret_col = col.saturating_sub(1) - start + prefix.len();
    let remaining = end.saturating_sub(col.saturating_sub(1)).max(1);
    let width = src
        .get(d.span.start..d.span.end)
        .map_or(1, |s| s.chars().take_while(|&c| c != '\n').count())
        .clamp(1, remaining);
    let _ = writeln!(out, "{gutter} |");
    let _ = writeln!(out, "{line} | {prefix}{shown}{suffix}");
    let _ = writeln!(
        out,
        "{gutter} | {}{}",
        " ".repeat(caret_col),
        "^".repeat(width)
    );
}
