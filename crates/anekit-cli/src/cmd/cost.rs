//! `ane cost MODEL --target CHIP`: predicted latency and utilisation of one evaluation, per op
//! and in total, from anekit-lint's calibrated cost model (docs/cost-model.md). Predictions come
//! from published third-party measurements and are unverified on hardware.
use super::lint::{display_name, load};
use crate::{CmdResult, Ctx};
use anekit_ir::Severity;
use anekit_lint::cost::{Family, OpCost, ProgramCost};
use anekit_lint::source::SourceKind;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CostArgs {
    /// The model: a .mil file, an .mlmodelc folder or an .mlpackage folder.
    pub model: PathBuf,
    /// The chip: m1, m1pro, m1max, m1ultra, m2 ... m4, m4pro, m4max, m5, m5pro, m5max.
    #[arg(long)]
    pub target: String,
    /// Also list the free ops (constants, reshapes) in the table.
    #[arg(long)]
    pub all: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    kind: SourceKind,
    target: &'a str,
    target_name: &'a str,
    /// Validation errors of the program (its costs may then be incomplete).
    validation_errors: usize,
    /// Ops whose shapes were not fully known (costed as free).
    unknown_shape_ops: usize,
    note: &'static str,
    #[serde(flatten)]
    cost: &'a ProgramCost,
}

const NOTE: &str = "prediction from published third-party measurements; unverified on hardware (docs/cost-model.md)";

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Conv => "conv",
        Family::Matmul => "matmul",
        Family::Vector => "vector",
        Family::Free => "free",
    }
}

fn bound_name(o: &OpCost) -> String {
    if o.unknown_shape {
        return "unknown shape".into();
    }
    serde_json::to_value(o.bound)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn run(args: CostArgs, ctx: &Ctx) -> CmdResult {
    let (source, chip) = load(&args.model, &args.target)?;
    let file = display_name(&source);
    let checked = anekit_ir::check(&source.text);
    let validation_errors = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let program = checked.program.as_ref().ok_or_else(|| {
        let first = checked
            .diagnostics
            .first()
            .map_or("", |d| d.message.as_str());
        miette::miette!("{file}: not a MIL program: {first}")
    })?;
    let cost = anekit_lint::cost::estimate(program, chip.id).map_err(|e| miette::miette!("{e}"))?;
    let unknown_shape_ops = cost.ops.iter().filter(|o| o.unknown_shape).count();
    let report = Report {
        file: file.clone(),
        kind: source.kind,
        target: chip.id,
        target_name: chip.name,
        validation_errors,
        unknown_shape_ops,
        note: NOTE,
        cost: &cost,
    };
    ctx.emit(&report, || human(&report, args.all))
}

fn human(r: &Report, all: bool) -> String {
    let c = r.cost;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: one evaluation on {} ({}; {:.2} TFLOPS fp16 conv, dispatch {:.3} ms; {})",
        r.file, r.target_name, r.target, c.conv_tflops, c.dispatch_ms, c.calibration
    );
    let _ = writeln!(
        out,
        "{:<28} {:<20} {:<7} {:>10} {:>9} {:>10} {:>6}  bound",
        "op", "kind", "family", "MFLOP", "W MiB", "time us", "util"
    );
    let mut hidden = 0;
    for o in &c.ops {
        if !all && o.family == Family::Free {
            hidden += 1;
            continue;
        }
        let _ = writeln!(
            out,
            "{:<28} {:<20} {:<7} {:>10.3} {:>9.3} {:>10.3} {:>5.1}%  {}",
            truncate(&o.name, 28),
            truncate(&o.kind, 20),
            family_name(o.family),
            o.flops / 1e6,
            o.weight_bytes as f64 / (1024.0 * 1024.0),
            o.time_ms * 1e3,
            o.utilisation * 100.0,
            bound_name(o)
        );
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "({hidden} free ops not shown: constants and views; --all lists them)"
        );
    }
    let _ = writeln!(
        out,
        "total: {} ops, {:.3} GFLOP, {:.3} MiB weights; latency {:.3} ms = dispatch {:.3} + ops {:.3}; utilisation {:.1}%",
        c.ops.len(),
        c.flops / 1e9,
        c.weight_bytes as f64 / (1024.0 * 1024.0),
        c.latency_ms,
        c.dispatch_ms,
        c.compute_ms,
        c.utilisation * 100.0
    );
    if r.validation_errors > 0 {
        let _ = writeln!(
            out,
            "warning: the program has {} validation error(s) (see `ane lint` / `ane mil check`); costs may be incomplete",
            r.validation_errors
        );
    }
    if r.unknown_shape_ops > 0 {
        let _ = writeln!(
            out,
            "warning: {} op(s) with unknown shapes are costed as free",
            r.unknown_shape_ops
        );
    }
    out.push_str(NOTE);
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
