//! Typed errors of every backend. Each variant has a stable [`RuntimeError::code`] that the
//! `ane serve` protocol sends as `error.code`.

use crate::plan::nserror::FrameworkErrorKind;

/// Why a runtime operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The per-process compile budget is used up (the ANE compiler leaks per-process
    /// resources; see docs/runtime.md). Restart the process or raise the limit.
    #[error(
        "compile budget exhausted: {used} of {limit} compiles used in this process \
         (restart the process, raise the limit with --compile-budget / ANEKIT_COMPILE_BUDGET, \
         or pass weights as inputs to compile less)"
    )]
    BudgetExhausted { used: u32, limit: u32 },

    /// The backend cannot run here (not macOS, framework or class missing, ...).
    #[error("backend `{backend}` is unavailable: {reason}")]
    Unavailable { backend: String, reason: String },

    /// An unknown backend name.
    #[error("unknown backend `{0}` (expected auto, cpu, ane or coreml)")]
    UnknownBackend(String),

    /// The program text does not parse or check.
    #[error("invalid program: {0}")]
    Program(String),

    /// The program cannot be mapped onto the backend's I/O model (surface layout, dtype).
    #[error("cannot plan `{name}` for the Neural Engine: {reason}")]
    Plan { name: String, reason: String },

    /// A weight file is missing, unreadable or names a path outside `@model_path/`.
    #[error("weights: {0}")]
    Weights(String),

    /// A compile, load, evaluate or unload call of a framework failed.
    #[error("{stage} failed: {message}")]
    Framework {
        stage: Stage,
        kind: FrameworkErrorKind,
        message: String,
    },

    /// The model is in the wrong state for the call (evaluate before load, ...).
    #[error("model `{model}` is {state}; {wanted}")]
    State {
        model: String,
        state: &'static str,
        wanted: &'static str,
    },

    /// A request input is missing, extra, or has the wrong shape or dtype.
    #[error("input `{name}`: {reason}")]
    Input { name: String, reason: String },

    /// The CPU executor failed.
    #[error(transparent)]
    Exec(#[from] anekit_cpu::exec::ExecError),

    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The step of the compile -> load -> evaluate -> unload sequence that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Describe,
    Compile,
    Load,
    Evaluate,
    Unload,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Describe => "describe",
            Stage::Compile => "compile",
            Stage::Load => "load",
            Stage::Evaluate => "evaluate",
            Stage::Unload => "unload",
        })
    }
}

impl RuntimeError {
    /// A failure of the device backend itself (a framework call failed or is missing), as
    /// opposed to a problem of the request or the model's state: after compiling, this is what
    /// makes `auto` move a model to the CPU.
    pub fn is_device_failure(&self) -> bool {
        matches!(
            self,
            RuntimeError::Framework { .. } | RuntimeError::Unavailable { .. }
        )
    }

    /// A stable, machine-readable code (the `ane serve` protocol's `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            RuntimeError::BudgetExhausted { .. } => "budget_exhausted",
            RuntimeError::Unavailable { .. } => "backend_unavailable",
            RuntimeError::UnknownBackend(_) => "unknown_backend",
            RuntimeError::Program(_) => "invalid_program",
            RuntimeError::Plan { .. } => "unsupported_io",
            RuntimeError::Weights(_) => "weights",
            RuntimeError::Framework { stage, .. } => match stage {
                Stage::Describe | Stage::Compile => "compile_failed",
                Stage::Load => "load_failed",
                Stage::Evaluate => "eval_failed",
                Stage::Unload => "unload_failed",
            },
            RuntimeError::State { .. } => "bad_state",
            RuntimeError::Input { .. } => "bad_input",
            RuntimeError::Exec(e) => {
                use anekit_cpu::exec::ExecError;
                match e {
                    ExecError::Input { .. } | ExecError::State { .. } => "bad_input",
                    ExecError::Weights(_) | ExecError::Constant { .. } => "weights",
                    ExecError::UnsupportedOp { .. } => "unsupported_op",
                    ExecError::NoFunction(_) => "invalid_program",
                    ExecError::TooLarge { .. } => "too_large",
                    _ => "eval_failed",
                }
            }
            RuntimeError::Io { .. } => "io",
        }
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> RuntimeError {
        RuntimeError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
