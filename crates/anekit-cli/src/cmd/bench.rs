//! `ane bench`: peak throughput (deep 1×1 conv stacks), the SRAM probe (a channel sweep) and
//! dispatch latency per evaluate path on any backend (anekit-bench), with `--json` results in
//! schemas/bench.schema.json and an SVG chart of the sweep. See docs/bench.md.
use crate::{CmdResult, Ctx};
use anekit_bench::report::Report;
use anekit_bench::{Plan, Progress, RunContext, Suite};
use anekit_build::lower::Target;
use miette::{IntoDiagnostic, WrapErr, miette};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Where to run: `cpu` (the reference executor; CPU figures), `auto` (the Neural Engine
    /// where it loads, else cpu), `ane`, `coreml` (macOS; unverified on hardware).
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    pub backend: BackendArg,
    /// Which suite: `peak` (deep 1×1 conv stacks), `sram` (channel sweep), `dispatch`
    /// (evaluate latency per path), or `all`.
    #[arg(long, value_enum, default_value_t = SuiteArg::All)]
    pub suite: SuiteArg,
    /// Small sizes and 3 timed evaluations per graph (seconds on the CPU backend), instead of
    /// the published sizes.
    #[arg(long)]
    pub quick: bool,
    /// The chip whose MIL dialect the graphs are lowered to (m1, m2: program 1.0 with fp16
    /// I/O; m4, m5: program 1.3 with fp32 I/O and casts; any chip of `ane kb`). Default: this
    /// Mac's chip when the knowledge base knows it, else m4.
    #[arg(long)]
    pub chip: Option<String>,
    /// Also write the JSON results (schemas/bench.schema.json) to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write an SVG chart of the SRAM sweep (weights MB vs TFLOPS); needs the sram suite.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    Cpu,
    Ane,
    Coreml,
    Auto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SuiteArg {
    Peak,
    Sram,
    Dispatch,
    All,
}

impl SuiteArg {
    fn suites(self) -> Vec<Suite> {
        match self {
            SuiteArg::Peak => vec![Suite::Peak],
            SuiteArg::Sram => vec![Suite::Sram],
            SuiteArg::Dispatch => vec![Suite::Dispatch],
            SuiteArg::All => Suite::ALL.to_vec(),
        }
    }
}

pub fn run(args: BenchArgs, ctx: &Ctx) -> CmdResult {
    let suites = args.suite.suites();
    if args.plot.is_some() && !suites.contains(&Suite::Sram) {
        return Err(miette!(
            "--plot needs the sram suite (use --suite sram or --suite all)"
        ));
    }
    let system = anekit_bench::system::current();
    let target = match &args.chip {
        Some(chip) => Target::chip(chip).map_err(|e| miette!("--chip: {e}"))?,
        None => anekit_bench::suite::default_target(system.chip.as_deref())
            .map_err(|e| miette!("{e}"))?,
    };
    let name = match args.backend {
        BackendArg::Cpu => "cpu",
        BackendArg::Ane => "ane",
        BackendArg::Coreml => "coreml",
        BackendArg::Auto => "auto",
    };
    let selection = anekit_runtime::select_backend(name, &anekit_runtime::BackendConfig::default())
        .map_err(|e| miette!("{e}; use --backend cpu"))?;
    let plan = Plan::new(suites, args.quick, target);
    let total = plan.steps(selection.backend.kind()).len();
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} bench {pos}/{len} [{bar:30}] {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let context = RunContext {
        timestamp: anekit_bench::system::now_utc(),
        system,
        backend_reason: selection.reason.clone(),
    };
    let result = anekit_bench::run(
        selection.backend.as_ref(),
        &plan,
        context,
        |Progress::Step { index, label, .. }| {
            bar.set_position(index as u64);
            bar.set_message(label);
        },
    );
    bar.finish_and_clear();
    let report = result.map_err(|e| miette!("{e}"))?;

    if let Some(path) = &args.out {
        let mut text = serde_json::to_string_pretty(&report).into_diagnostic()?;
        text.push('\n');
        std::fs::write(path, text)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        let svg =
            anekit_bench::svg::sram_chart(&report.benchmarks.sram_probe, &chart_title(&report));
        std::fs::write(path, svg)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    }
    ctx.emit(&report, || human(&report))
}

/// Whose figures these are, for the chart and the text output.
fn figures_note(report: &Report) -> String {
    match report.backend.kind.as_str() {
        "cpu" => "CPU figures from the reference executor, not Neural Engine figures".into(),
        kind => format!("{kind} backend: unverified on hardware by anekit"),
    }
}

fn chart_title(report: &Report) -> String {
    format!(
        "SRAM sweep, {} backend ({})",
        report.backend.kind,
        figures_note(report)
    )
}

fn human(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "backend {} ({}; {})",
        report.backend.kind, report.backend.device, report.backend.reason
    );
    let _ = writeln!(s, "note: {}", figures_note(report));
    if let Some(t) = &report.target {
        let _ = writeln!(
            s,
            "graphs lowered for {} (program {}, {}, {} I/O){}",
            t.chip,
            t.program_version,
            t.opset,
            if t.fp32_io { "fp32" } else { "fp16" },
            if report.quick { ", --quick sizes" } else { "" }
        );
    }
    let b = &report.benchmarks;
    if !b.inmem_peak.is_empty() {
        let _ = writeln!(s, "\npeak (deep 1×1 conv stacks)");
        let _ = writeln!(
            s,
            "  {:<24} {:>10} {:>10} {:>12} {:>10}",
            "config", "weight MB", "GFLOP", "ms/eval", "TFLOPS"
        );
        for r in &b.inmem_peak {
            let _ = writeln!(
                s,
                "  {:<24} {:>10.3} {:>10.4} {:>12.4} {:>10.4}",
                format!("{}x conv {}ch sp{}", r.depth, r.channels, r.spatial),
                r.weight_mb,
                r.gflops,
                r.ms_per_eval,
                r.tflops
            );
        }
    }
    if !b.sram_probe.is_empty() {
        let _ = writeln!(s, "\nsram (one 1×1 conv per channel count)");
        let _ = writeln!(
            s,
            "  {:>8} {:>8} {:>10} {:>12} {:>10} {:>12}",
            "channels", "spatial", "weight MB", "ms/eval", "TFLOPS", "GFLOPS/MB"
        );
        for r in &b.sram_probe {
            let _ = writeln!(
                s,
                "  {:>8} {:>8} {:>10.3} {:>12.4} {:>10.4} {:>12.2}",
                r.channels,
                r.spatial.map_or("-".into(), |v| v.to_string()),
                r.weight_mb,
                r.ms_per_eval,
                r.tflops,
                r.gflops_per_mb
            );
        }
    }
    if !b.dispatch.is_empty() {
        let _ = writeln!(s, "\ndispatch (evaluate latency per path)");
        let _ = writeln!(
            s,
            "  {:<16} {:>12} {:>6} {:>10} {:>10} {:>10} {:>10}",
            "path", "kernel", "evals", "mean ms", "p50 ms", "p99 ms", "min ms"
        );
        for r in &b.dispatch {
            let _ = writeln!(
                s,
                "  {:<16} {:>12} {:>6} {:>10.4} {:>10.4} {:>10.4} {:>10.4}",
                r.path,
                format!("{}×{}", r.channels, r.spatial),
                r.iterations,
                r.mean_ms,
                r.p50_ms,
                r.p99_ms,
                r.min_ms
            );
        }
    }
    let m = &report.summary;
    let _ = writeln!(s);
    if let (Some(t), Some(c)) = (m.peak_tflops, &m.peak_config) {
        let _ = writeln!(s, "peak: {t:.4} TFLOPS at {c}");
    }
    if let Some(e) = m.sram_peak_efficiency_gflops_per_mb {
        let spill = m
            .sram_spill_start_channels
            .map_or("none in this sweep".into(), |c| format!("{c} channels"));
        let _ = writeln!(s, "sram: best {e:.2} GFLOPS/MB; spill start: {spill}");
    }
    s
}
