//! Pre-flight for the Neural Engine: per-chip lints for silent failures ([`lint()`]) and a
//! calibrated cost model ([`cost::estimate`]).
//!
//! ```
//! use anekit_lint::{LintOptions, lint, target};
//! let src = "program(1.3)\n{\n    func main<ios18>(tensor<fp32, [1, 64]> x) {\n            tensor<fp32, [1, 64]> y = relu(x = x);\n        } -> (y);\n}";
//! let checked = anekit_ir::check(src);
//! let program = checked.program.unwrap();
//! // M1 takes fp16 I/O only and the program(1.0)/ios16 dialect.
//! let findings = lint(&program, &target("m1").unwrap(), &LintOptions::default());
//! let ids: Vec<&str> = findings.iter().map(|f| f.lint).collect();
//! assert_eq!(ids, ["dialect-chip", "fp16-io-required", "fp16-io-required"]);
//! ```
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod cost;
pub mod ir_util;
mod lints;
pub mod registry;
mod scalar_params;
pub mod source;
pub mod target;

pub use lints::{
    COMPILE_BUDGET_SAFE, COMPILE_LIMIT_REPORTED, CONV_CHANNELS_LARGEST_SEEN,
    CONV_CHANNELS_REJECTED, Finding, LintOptions, MATMUL_INNER_MULTIPLE, MAX_DIM, lint,
};
pub use registry::{LINTS, LintDef, lint_def};
pub use scalar_params::SCALAR_PARAMS;
pub use target::{Evidence, TARGET_IDS, Target, evidence_label, target};
