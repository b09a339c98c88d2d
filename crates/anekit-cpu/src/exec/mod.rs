//! The CPU reference executor over the IR (`anekit_ir::Program`).
//!
//! **Public API contract** (other crates — `anekit-runtime`, `anekit-cli`'s `ane run`, the
//! builder's and passes' tests — are written against it; extend it, do not break it):
//!
//! ```ignore
//! let program: anekit_ir::Program = anekit_ir::check(src).program.unwrap();
//! let weights = anekit_ir::weights::Weights::new(model_dir);     // @model_path root
//! let exec = Executor::new(program, Some(weights), ExecOptions::default())?;
//! for spec in exec.inputs() { /* name, dtype, shape with None for unknown dims */ }
//! let outputs: Vec<NamedTensor> = exec.run(&[NamedTensor { name: "x".into(), shape, data }])?;
//! ```
//!
//! `Executor::new` resolves and decodes every constant once (BLOBFILE via [`Weights`],
//! constexpr_* decompression, or seeded random values with `random_weights`), so `run` can be
//! called many times (`ane run --repeat N`, `ane serve`). `run` takes `&self` and is safe to
//! call from several threads.

use anekit_core::{DType, TensorData};
use anekit_ir::Program;
use anekit_ir::weights::Weights;
use std::collections::BTreeMap;

use crate::Numerics;

/// How to execute.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// `ane` (default): every op result rounded to its declared dtype; `exact`: f32 throughout.
    pub numerics: Numerics,
    /// The function to run; `None` = `main` (or the only function).
    pub function: Option<String>,
    /// Values for symbolic/unknown dims (`--dim NAME=N`), by the dim's name as written.
    pub dims: BTreeMap<String, usize>,
    /// `Some(seed)`: BLOBFILE constants are replaced by seeded random values of their declared
    /// type and shape (no weight files are opened). `None`: weights are read.
    pub random_weights: Option<u64>,
}

/// A tensor crossing the executor's boundary (inputs, outputs, states).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: TensorData,
}

/// A function input or output as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoSpec {
    pub name: String,
    pub dtype: DType,
    /// `None` for a dim that is unknown (`?` or symbolic) and not fixed by `ExecOptions::dims`.
    pub shape: Vec<Option<usize>>,
}

/// Why execution failed. Every variant names what failed (op kind + result name, input name,
/// constant) so the CLI prints a one-line error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    #[error("function `{0}` not found in the program")]
    NoFunction(String),
    #[error("op `{op}` (producing `{value}`, line {line}) is not supported by the CPU executor")]
    UnsupportedOp {
        op: String,
        value: String,
        line: usize,
    },
    #[error("input `{name}`: {reason}")]
    Input { name: String, reason: String },
    #[error("op `{op}` (producing `{value}`): {reason}")]
    Op {
        op: String,
        value: String,
        reason: String,
    },
    #[error("weights: {0}")]
    Weights(#[from] anekit_ir::weights::WeightError),
}

/// A program prepared for repeated evaluation on the CPU.
#[derive(Debug)]
pub struct Executor {
    program: Program,
    weights: Option<Weights>,
    options: ExecOptions,
}

impl Executor {
    /// Prepare `program`: pick the function, resolve and decode constants.
    pub fn new(
        program: Program,
        weights: Option<Weights>,
        options: ExecOptions,
    ) -> Result<Executor, ExecError> {
        Ok(Executor {
            program,
            weights,
            options,
        })
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    pub fn options(&self) -> &ExecOptions {
        &self.options
    }

    /// The chosen function's inputs, in order.
    pub fn inputs(&self) -> Vec<IoSpec> {
        Vec::new()
    }

    /// The chosen function's outputs, in order (shapes as declared, dims fixed where known).
    pub fn outputs(&self) -> Vec<IoSpec> {
        Vec::new()
    }

    /// Evaluate once. Inputs are matched by name; a missing input, an extra one, or a wrong
    /// shape/dtype is an [`ExecError::Input`]. Outputs come back in declaration order.
    pub fn run(&self, inputs: &[NamedTensor]) -> Result<Vec<NamedTensor>, ExecError> {
        let _ = (inputs, &self.weights);
        Err(ExecError::Op {
            op: "executor".into(),
            value: String::new(),
            reason: "the executor is being written (issue #3)".into(),
        })
    }
}
