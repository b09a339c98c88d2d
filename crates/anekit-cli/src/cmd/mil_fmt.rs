//! `ane mil fmt FILE [--dialect 1.0|1.3] [-o OUT] [--check]`: print a MIL text program in the
//! canonical layout of Apple's compiler (docs/mil.md).
//!
//! * default: the canonical text on stdout, byte for byte (no newline is added; Apple's
//!   compiler ends files with `}`).
//! * `-o OUT`: write the canonical text to OUT instead (OUT may be FILE itself).
//! * `--check`: write nothing; exit 1 with a one-line error when FILE is not canonical.
//! * `--json`: `{"file", "dialect", "canonical", "output", "text"}`; `dialect` is the dialect
//!   of the printed text, `canonical` whether FILE already was exactly that text, `output` the
//!   file written (or null), `text` the canonical text (null with `--check`).
use crate::{CmdResult, Ctx};
use anekit_mil::{Dialect, PrintOptions};
use serde::Serialize;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct FmtArgs {
    /// The MIL text file.
    pub file: PathBuf,
    /// Convert to this dialect: `1.0` (scalars as `tensor<T, []>`) or `1.3` (bare `T`).
    /// Default: keep the file's own.
    #[arg(long, value_enum, value_name = "VERSION")]
    pub dialect: Option<DialectArg>,
    /// Write the canonical text to OUT instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Check only: exit 1 if FILE is not already canonical.
    #[arg(long, conflicts_with = "output")]
    pub check: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DialectArg {
    #[value(name = "1.0")]
    V1_0,
    #[value(name = "1.3")]
    V1_3,
}

#[derive(Serialize)]
struct FmtReport<'a> {
    file: String,
    dialect: Dialect,
    canonical: bool,
    output: Option<String>,
    text: Option<&'a str>,
}

pub fn run(args: FmtArgs, ctx: &Ctx) -> CmdResult {
    let file = args.file.display().to_string();
    let bytes =
        std::fs::read(&args.file).map_err(|e| miette::miette!("cannot read {file}: {e}"))?;
    let src = std::str::from_utf8(&bytes).map_err(|e| {
        miette::miette!(
            "{file}: not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        )
    })?;
    let program = anekit_mil::parse(src)
        .map_err(|e| miette::miette!("{file}:{}:{}: {}", e.line, e.col, e.message()))?;
    let dialect = args.dialect.map(|d| match d {
        DialectArg::V1_0 => Dialect::V1_0,
        DialectArg::V1_3 => Dialect::V1_3,
    });
    let options = PrintOptions {
        dialect,
        final_newline: None,
    };
    let text = anekit_mil::print(&program, &options);
    let canonical = text == src;
    let out_dialect = dialect.unwrap_or_else(|| program.dialect());

    if args.check {
        if !canonical {
            let (line, col) = first_difference(src, &text);
            return Err(miette::miette!(
                "{file}:{line}:{col}: not canonical MIL text (run `ane mil fmt {file} -o {file}`)"
            ));
        }
        return ctx.emit(
            &FmtReport {
                file: file.clone(),
                dialect: out_dialect,
                canonical,
                output: None,
                text: None,
            },
            || format!("{file}: canonical"),
        );
    }

    if let Some(out) = &args.output {
        std::fs::write(out, &text)
            .map_err(|e| miette::miette!("cannot write {}: {e}", out.display()))?;
        let out = out.display().to_string();
        return ctx.emit(
            &FmtReport {
                file: file.clone(),
                dialect: out_dialect,
                canonical,
                output: Some(out.clone()),
                text: Some(&text),
            },
            || {
                let status = if canonical {
                    "unchanged"
                } else {
                    "reformatted"
                };
                format!(
                    "{file} -> {out}: {status}, program({})",
                    out_dialect.version()
                )
            },
        );
    }

    if ctx.json {
        return ctx.emit(
            &FmtReport {
                file,
                dialect: out_dialect,
                canonical,
                output: None,
                text: Some(&text),
            },
            String::new,
        );
    }
    // The text exactly, so `ane mil fmt a.mil > b.mil` reproduces the canonical bytes.
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| miette::miette!("cannot write to stdout: {e}"))
}

/// The 1-based `line:col` in `a` where `a` and `b` first differ.
fn first_difference(a: &str, b: &str) -> (usize, usize) {
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i);
    anekit_mil::LineIndex::new(a).line_col(a, at)
}
