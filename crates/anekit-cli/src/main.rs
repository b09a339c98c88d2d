//! `ane`: one command-line tool for the Apple Neural Engine's artifacts and programs.
//!
//! Conventions for every command (see docs/cli.md): human output by default, `--json` for
//! tooling (one JSON document on stdout), exit code 0 on success and non-zero with a one-line
//! `error: ...` on stderr otherwise.

mod cmd;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use output::{CmdResult, Ctx};

#[derive(Parser)]
#[command(name = "ane", version, about = "Read, write, check and run Apple Neural Engine programs", long_about = None)]
struct Cli {
    /// Print one JSON document on stdout instead of human-readable text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Detect what a file or folder is and summarise it.
    Inspect(cmd::inspect::InspectArgs),
    /// MIL text programs (model.mil): format and check.
    #[command(subcommand)]
    Mil(cmd::mil::MilCmd),
    /// MIL blob storage files (weight.bin): pack and extract.
    #[command(subcommand)]
    Blob(cmd::blob::BlobCmd),
    /// Compiled ANE programs (.hwx): disassemble, diff, patch.
    #[command(subcommand)]
    Hwx(cmd::hwx::HwxCmd),
    /// Asahi Linux .anec programs.
    #[command(subcommand)]
    Anec(cmd::anec::AnecCmd),
    /// PBZE containers (LZFSE-compressed Espresso files).
    #[command(subcommand)]
    Pbze(cmd::pbze::PbzeCmd),
    /// Espresso nets (.espresso.net/.weights/.shape).
    #[command(subcommand)]
    Espresso(cmd::espresso::EspressoCmd),
    /// The ANE knowledge base: descriptor structs, private classes, chips, codes, ...
    #[command(subcommand)]
    Kb(cmd::kb::KbCmd),
    /// What this machine's ANE stack is and allows (macOS: every probe step; elsewhere: why not).
    Probe(cmd::probe::ProbeArgs),
    /// Pre-flight lints for a target chip (silent failures, dialect, limits).
    Lint(cmd::lint::LintArgs),
    /// Predicted latency and utilisation per op on a target chip (calibrated cost model).
    Cost(cmd::cost::CostArgs),
    /// Core ML ML Program (.mlpackage / .mlmodel) to MIL text (model.mil + weights/).
    Convert(cmd::convert::ConvertArgs),
    /// Run a program (.mil, model folder, .mlpackage) on the CPU reference executor.
    Run(cmd::run::RunArgs),
    /// Serve compile/load/eval/unload requests as JSON lines (stdio or a Unix socket).
    Serve(cmd::serve::ServeArgs),
    /// Benchmark a backend: peak throughput, SRAM sweep, dispatch latency (docs/bench.md).
    Bench(cmd::bench::BenchArgs),
    /// Build a canned model (notes CNN, transformer, bench graphs) as MIL + weights for a chip.
    Build(cmd::build::BuildArgs),
    /// Optimise a MIL program (constant folding, fusions, cancellations, ...).
    Opt(cmd::opt::OptArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx { json: cli.json };
    let result = match cli.command {
        Command::Inspect(args) => cmd::inspect::run(args, &ctx),
        Command::Mil(c) => cmd::mil::run(c, &ctx),
        Command::Blob(c) => cmd::blob::run(c, &ctx),
        Command::Hwx(c) => cmd::hwx::run(c, &ctx),
        Command::Anec(c) => cmd::anec::run(c, &ctx),
        Command::Pbze(c) => cmd::pbze::run(c, &ctx),
        Command::Espresso(c) => cmd::espresso::run(c, &ctx),
        Command::Kb(c) => cmd::kb::run(c, &ctx),
        Command::Probe(a) => cmd::probe::run(a, &ctx),
        Command::Lint(a) => cmd::lint::run(a, &ctx),
        Command::Cost(a) => cmd::cost::run(a, &ctx),
        Command::Convert(a) => cmd::convert::run(a, &ctx),
        Command::Run(a) => cmd::run::run(a, &ctx),
        Command::Serve(a) => cmd::serve::run(a, &ctx),
        Command::Bench(a) => cmd::bench::run(a, &ctx),
        Command::Build(a) => cmd::build::run(a, &ctx),
        Command::Opt(a) => cmd::opt::run(a, &ctx),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            output::report_error(&ctx, &err);
            ExitCode::FAILURE
        }
    }
}
