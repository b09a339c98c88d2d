//! `ane bench`: peak throughput (deep 1×1 conv stacks), the SRAM probe (a channel sweep of one
//! 1×1 conv) and dispatch latency per evaluate path, on any anekit-runtime backend, with results
//! in a schema (schemas/bench.schema.json) that maps field by field onto the community result
//! files (reference/benchmarks.md §9). See docs/bench.md.
//!
//! The graphs are anekit-build's canned bench graphs lowered to MIL in a chip's dialect; the
//! FLOP formulas are in [`flops`]. Figures from the `cpu` backend are CPU figures.

pub mod flops;
pub mod report;
pub mod run;
pub mod suite;
pub mod svg;
pub mod system;

pub use report::Report;
pub use run::{Plan, Progress, RunContext, run};
pub use suite::Suite;

/// Why a benchmark could not run or a result file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("building the bench graph: {0}")]
    Build(#[from] anekit_build::BuildError),
    #[error("lowering the bench graph: {0}")]
    Lower(#[from] anekit_build::lower::LowerError),
    #[error(transparent)]
    Runtime(#[from] anekit_runtime::RuntimeError),
    #[error("{0}")]
    Run(String),
    #[error("community result file: {0}")]
    Import(String),
}
