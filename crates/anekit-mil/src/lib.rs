//! MIL text (`model.mil`): a parser for both dialects and a canonical printer.
//!
//! * [`parse()`] reads a program (`program(1.0)` verbose or `program(1.3)` compact, mixed
//!   scalar spellings, hand-written compact spacing, compiler analysis dumps) into an
//!   [`ast::Program`] with a byte [`ast::Span`] on every node.
//! * [`print()`] writes a program in the canonical layout of Apple's compiler
//!   (reference/mil-text.md §5), optionally converting it to the other dialect.
//! * [`LineIndex`] turns byte offsets into `line:col`.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod ast;
mod error;
mod line_index;
mod parser;
mod printer;

pub use ast::{Dialect, Program};
pub use error::ParseError;
pub use line_index::LineIndex;
pub use parser::{MAX_DEPTH, parse, parse_bytes};
pub use printer::{PrintOptions, print, write_hex_float, write_string};
