//! Write ANE programs: a typed, shape-checked graph builder, canned models, a per-layer
//! summary with ANECompiler descriptor sizes, lowering to MIL text + weight.bin per chip, an f32
//! reference evaluator, and optimisation passes. See docs/build.md.

pub mod builder;
pub mod graph;

pub use builder::{BuildError, Conv2d, GraphBuilder, PoolKind, Tensor};
pub use graph::{Graph, TensorId};
pub mod eval;
pub mod import;
pub mod lower;
pub mod models;
pub mod passes;
pub mod summary;
