//! Diagnostics: every problem found in a program, each with a code, a severity and a span.

use anekit_mil::ast::Span;
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The program is invalid.
    Error,
    /// Suspicious but accepted.
    Warning,
    /// Something was not checked (no inference for an op, weights not given, ...).
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One finding. `span` is a byte range of the checked source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code such as `E-unknown-op` (the list is in docs/ir.md and [`codes`]).
    pub code: &'static str,
    pub message: String,
    pub span: Span,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
        }
    }
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }
    pub fn info(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Info,
            ..Diagnostic::error(code, span, message)
        }
    }
}

/// Every diagnostic code.
pub mod codes {
    /// The text is not MIL (syntax error from the parser).
    pub const PARSE: &str = "E-parse";
    /// A function's opset tag is not `ios15`.. (or a newer `iosNN`).
    pub const UNKNOWN_OPSET: &str = "E-unknown-opset";
    pub const UNKNOWN_OP: &str = "E-unknown-op";
    /// The op exists, but only from a later opset than the function's (or its explicit `<opset>`).
    pub const OP_NOT_IN_OPSET: &str = "E-op-not-in-opset";
    pub const UNKNOWN_INPUT: &str = "E-unknown-input";
    /// The input exists in another opset of the op, not in this one.
    pub const INPUT_NOT_IN_OPSET: &str = "E-input-not-in-opset";
    pub const DUPLICATE_INPUT: &str = "E-duplicate-input";
    pub const MISSING_INPUT: &str = "E-missing-input";
    pub const UNDEFINED_VALUE: &str = "E-undefined-value";
    /// The value is defined, but later in the function.
    pub const USE_BEFORE_DEF: &str = "E-use-before-def";
    pub const DUPLICATE_DEF: &str = "E-duplicate-def";
    /// A name after `->` is not a value of the function.
    pub const UNDEFINED_OUTPUT: &str = "E-undefined-output";
    /// A function name used twice.
    pub const DUPLICATE_FUNCTION: &str = "E-duplicate-function";
    pub const RESULT_COUNT: &str = "E-result-count";
    /// Declared result type differs from the inferred one (dtype, rank or a known dim).
    pub const TYPE_MISMATCH: &str = "E-type-mismatch";
    pub const INPUT_DTYPE: &str = "E-input-dtype";
    /// A tuple where a tensor is expected, a tensor where a state is expected, ...
    pub const INPUT_KIND: &str = "E-input-kind";
    pub const INPUT_NOT_CONST: &str = "E-input-not-const";
    /// The inputs are inconsistent with each other (e.g. matmul inner dims differ).
    pub const INVALID_OP: &str = "E-invalid-op";
    /// A literal's payload does not fit its type (element count, value kind, range).
    pub const LITERAL: &str = "E-literal";
    /// BLOBFILE path not under `@model_path/`, or escaping it.
    pub const BLOB_PATH: &str = "E-blob-path";
    /// The weight file is missing or not a blob storage file.
    pub const BLOB_FILE: &str = "E-blob-file";
    /// The offset is not a blob metadata record of the file.
    pub const BLOB_RECORD: &str = "E-blob-record";
    pub const BLOB_DTYPE: &str = "E-blob-dtype";
    pub const BLOB_SHAPE: &str = "E-blob-shape";
    /// Nested blocks (`cond`, `while_loop`) are not supported.
    pub const UNSUPPORTED: &str = "E-unsupported";
    /// No inference for this op: the declared result types were trusted.
    pub const UNCHECKED_OP: &str = "I-unchecked-op";
    /// An `iosNN` newer than ios18, checked as ios18.
    pub const NEWER_OPSET: &str = "I-newer-opset";
    /// BLOBFILE constants not checked because no weights folder was given.
    pub const BLOBS_SKIPPED: &str = "I-blobs-skipped";
}
