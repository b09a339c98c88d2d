//! anekit's typed program: the MIL op registry ([`ops`]), the typed SSA IR ([`ir`]), type and
//! shape inference ([`infer`]), validation with all diagnostics ([`check`], [`diag`]) and lazy
//! `BLOBFILE` resolution ([`weights`]).
//!
//! ```
//! let src = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 4]> x) {\n            tensor<fp16, [1, 4]> y = relu(x = x);\n        } -> (y);\n}";
//! let checked = anekit_ir::check(src);
//! assert!(checked.is_valid());
//! assert_eq!(checked.program.unwrap().op_count(), 1);
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

mod build;
pub mod diag;
pub mod infer;
pub mod ir;
pub mod ops;
pub mod types;
pub mod weights;

pub use build::{build, convert_type};
pub use diag::{Diagnostic, Severity, codes};
pub use ir::Program;

/// A checked program: the IR (None when the text did not parse) and every diagnostic.
#[derive(Debug)]
pub struct Checked {
    pub program: Option<Program>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// No error-severity diagnostics.
    pub fn is_valid(&self) -> bool {
        !self
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

/// Parse and validate MIL text (no weights: see [`weights::Weights::check`] for BLOBFILEs).
pub fn check(src: &str) -> Checked {
    match anekit_mil::parse(src) {
        Ok(ast) => {
            let (program, diagnostics) = build(&ast);
            Checked {
                program: Some(program),
                diagnostics,
            }
        }
        Err(e) => Checked {
            program: None,
            diagnostics: vec![Diagnostic::error(codes::PARSE, e.span, e.message())],
        },
    }
}
