//! Parse errors with position and what was expected.

use crate::ast::Span;

/// A syntax error: where (byte span and 1-based `line:col`), what was expected and what was
/// found. Displays as `LINE:COL: expected X, found Y`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: expected {expected}, found {found}")]
pub struct ParseError {
    /// The offending token (empty at end of input).
    pub span: Span,
    pub line: usize,
    pub col: usize,
    /// What the parser wanted, e.g. "`)` after argument list".
    pub expected: String,
    /// What it saw, e.g. "`;`" or "end of input".
    pub found: String,
}

impl ParseError {
    /// The byte offset of the error.
    pub fn offset(&self) -> usize {
        self.span.start
    }

    /// The message without the position: "expected X, found Y".
    pub fn message(&self) -> String {
        format!("expected {}, found {}", self.expected, self.found)
    }
}
