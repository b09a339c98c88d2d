//! Recursive-descent parser for MIL text.
//!
//! Hand-written on purpose: no parser crate gives all of byte spans on every node, exact
//! "expected X, found Y" messages, a nesting limit, and the speed needed to parse a 630 KB
//! program in about a millisecond (flat storage of large inline tensors needs a custom path
//! anyway). The lexer is folded into the parser: tokens are read on demand from the byte slice,
//! so no token vector is allocated.

use crate::ast::*;
use crate::error::ParseError;
use crate::line_index::LineIndex;
use anekit_core::DType;

/// Deepest nesting of types, payloads, argument tuples and blocks accepted. Hostile inputs get
/// an error instead of a stack overflow.
pub const MAX_DEPTH: usize = 256;

/// A block counts as this many nesting levels: a statement with nested blocks takes far more
/// stack than a nested type or list, so at most 31 blocks nest inside a function body (real
/// files have none; coremltools programs nest a few).
const BLOCK_DEPTH_COST: usize = 8;

/// Parse a MIL text program.
pub fn parse(src: &str) -> Result<Program, ParseError> {
    let mut p = Parser {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        depth: 0,
        generic_lists: 0,
        array_shape: Vec::new(),
        array_counts: Vec::new(),
        // memchr's SIMD count: a plain byte loop here cost 7% of parse + validate.
        semicolons_left: memchr::memchr_iter(b';', src.as_bytes()).count(),
    };
    p.program().map_err(|e| e.into_error(src))
}

/// Parse MIL text given as bytes; invalid UTF-8 is a [`ParseError`] at the first bad byte.
pub fn parse_bytes(bytes: &[u8]) -> Result<Program, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(src) => parse(src),
        Err(e) => {
            let at = e.valid_up_to();
            let valid = std::str::from_utf8(bytes.get(..at).unwrap_or(&[])).unwrap_or("");
            let (line, col) = LineIndex::new(valid).line_col(valid, at);
            let bad = bytes.get(at).copied().unwrap_or(0);
            Err(ParseError {
                span: Span::new(at, at + e.error_len().unwrap_or(1)),
                line,
                col,
                expected: "UTF-8 text".to_string(),
                found: format!("byte 0x{bad:02X}"),
            })
        }
    }
}

/// An error before `line:col` is known (computed once, at the end).
struct RawError {
    span: Span,
    expected: String,
    found: String,
}

impl RawError {
    fn into_error(self, src: &str) -> ParseError {
        let (line, col) = LineIndex::new(src).line_col(src, self.span.start);
        ParseError {
            span: self.span,
            line,
            col,
            expected: self.expected,
            found: self.found,
        }
    }
}

type PResult<T> = Result<T, RawError>;

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    /// How many generic (non-array) lists enclose the current position; see `bracket`.
    generic_lists: usize,
    /// Scratch buffers of `try_array`, reused so that each array literal costs no allocation
    /// beyond its own storage.
    array_shape: Vec<Option<usize>>,
    array_counts: Vec<usize>,
    /// `;` bytes in the file not yet attributed to a parsed function body (for
    /// `statement_estimate`).
    semicolons_left: usize,
}

const fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

const fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

const fn hex_value(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some((b - b'0') as u64),
        b'a'..=b'f' => Some((b - b'a' + 10) as u64),
        b'A'..=b'F' => Some((b - b'A' + 10) as u64),
        _ => None,
    }
}

/// The dtype spelled `name`. Same table as [`DType::from_mil_name`], as a `match` because this
/// runs for every type in the file and a match compiles to a length switch plus one compare.
fn dtype_named(name: &str) -> Option<DType> {
    let d = match name {
        "bool" => DType::Bool,
        "string" => DType::String,
        "fp16" => DType::Fp16,
        "fp32" => DType::Fp32,
        "fp64" => DType::Fp64,
        "int32" => DType::Int32,
        "int64" => DType::Int64,
        "int8" => DType::Int8,
        "int16" => DType::Int16,
        "uint8" => DType::Uint8,
        "uint16" => DType::Uint16,
        "uint32" => DType::Uint32,
        "uint64" => DType::Uint64,
        _ => return DType::from_mil_name(name),
    };
    Some(d)
}

/// A scalar leaf of a payload.
enum Scalar {
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Name),
}

impl<'a> Parser<'a> {
    // ---- low-level lexing -------------------------------------------------------------

    fn peek_byte(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn byte_at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek_byte() {
            self.pos += 1;
        }
    }

    /// The next non-whitespace byte (skipping the whitespace).
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.peek_byte()
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or("")
    }

    /// Describe the token at the current position for an error message.
    fn found(&mut self) -> (Span, String) {
        self.skip_ws();
        let start = self.pos;
        let Some(b) = self.peek_byte() else {
            return (Span::new(start, start), "end of input".to_string());
        };
        let mut end = start + 1;
        if is_ident_char(b) {
            while self.byte_at(end).is_some_and(is_ident_char) {
                end += 1;
            }
            let text = self.slice(start, end);
            let text = if text.len() > 40 {
                format!("{}...", text.get(..40).unwrap_or(text))
            } else {
                text.to_string()
            };
            return (Span::new(start, end), format!("`{text}`"));
        }
        if b == b'"' {
            return (Span::new(start, end), "a string".to_string());
        }
        let ch = self.src.get(start..).and_then(|s| s.chars().next());
        let ch = ch.unwrap_or(char::REPLACEMENT_CHARACTER);
        let end = start + ch.len_utf8();
        (Span::new(start, end), format!("`{}`", ch.escape_debug()))
    }

    #[cold]
    #[inline(never)]
    fn error(&mut self, expected: impl Into<String>) -> RawError {
        let (span, found) = self.found();
        RawError {
            span,
            expected: expected.into(),
            found,
        }
    }

    fn error_at(
        &self,
        span: Span,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> RawError {
        RawError {
            span,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// Consume `c` if it is the next token.
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> PResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.enter_by(1)
    }

    fn enter_by(&mut self, cost: usize) -> PResult<()> {
        self.depth += cost;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("at most {MAX_DEPTH} levels of nesting")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.leave_by(1);
    }

    fn leave_by(&mut self, cost: usize) {
        self.depth = self.depth.saturating_sub(cost);
    }

    /// The identifier at the current position without consuming it.
    fn peek_ident(&mut self) -> Option<(usize, usize)> {
        self.skip_ws();
        let start = self.pos;
        if !self.peek_byte().is_some_and(is_ident_start) {
            return None;
        }
        let mut end = start + 1;
        while self.byte_at(end).is_some_and(is_ident_char) {
            end += 1;
        }
        Some((start, end))
    }

    fn ident(&mut self, what: &str) -> PResult<Ident> {
        match self.peek_ident() {
            Some((start, end)) => {
                self.pos = end;
                Ok(Ident {
                    name: Name::from(self.slice(start, end)),
                    span: Span::new(start, end),
                })
            }
            None => Err(self.error(what)),
        }
    }

    /// Consume the keyword `kw` (a whole identifier).
    fn keyword(&mut self, kw: &str, what: &'static str) -> PResult<Span> {
        match self.peek_ident() {
            Some((start, end)) if self.slice(start, end) == kw => {
                self.pos = end;
                Ok(Span::new(start, end))
            }
            _ => Err(self.error(what)),
        }
    }

    /// The next non-whitespace byte after position `i`.
    fn next_significant(&self, mut i: usize) -> Option<u8> {
        while let Some(b) = self.byte_at(i) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            i += 1;
        }
        None
    }

    /// A capacity for the statement list of the block starting here. Growing a vector of large
    /// statements by doubling copied it repeatedly and was a visible part of the parse, so a
    /// function body reserves one slot per `;` not yet consumed by earlier functions (every
    /// statement ends with one), capped by the bytes left (a statement takes at least 12) and
    /// by 1 << 16. Nested blocks (rare, small) start empty.
    fn statement_estimate(&self) -> usize {
        if self.depth != BLOCK_DEPTH_COST {
            return 0;
        }
        let rest = self.bytes.len().saturating_sub(self.pos);
        self.semicolons_left.min(rest / 12).min(1 << 16)
    }

    // ---- program structure ------------------------------------------------------------

    fn program(&mut self) -> PResult<Program> {
        self.skip_ws();
        let start = self.pos;
        self.keyword("program", "`program` at the start of the file")?;
        self.expect(b'(', "`(` after `program`")?;
        let version = self.version()?;
        self.expect(b')', "`)` after the program version")?;
        let attributes = if self.peek() == Some(b'[') {
            self.attr_list()?
        } else {
            Vec::new()
        };
        self.expect(b'{', "`{` opening the program body")?;
        let mut functions = Vec::new();
        loop {
            match self.peek() {
                Some(b'}') => break,
                _ => {
                    let f_start = self.pos;
                    self.keyword("func", "`func` or `}` closing the program")?;
                    functions.push(self.function(f_start)?);
                }
            }
        }
        self.pos += 1; // the closing `}`
        let end = self.pos;
        let rest = self.bytes.get(end..).unwrap_or(&[]);
        if let Some(i) = rest
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos = end + i;
            return Err(self.error("end of input after the program's closing `}`"));
        }
        Ok(Program {
            version,
            attributes,
            functions,
            trailing_newline: rest.contains(&b'\n'),
            span: Span::new(start, end),
        })
    }

    fn version(&mut self) -> PResult<Version> {
        self.skip_ws();
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.peek_byte().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos > s
        };
        if !digits(self) {
            return Err(self.error("a program version such as `1.0` or `1.3`"));
        }
        if self.peek_byte() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.error("digits after `.` in the program version"));
            }
        }
        Ok(Version {
            text: self.slice(start, self.pos).to_string(),
            span: Span::new(start, self.pos),
        })
    }

    fn function(&mut self, start: usize) -> PResult<Function> {
        let name = self.ident("a function name after `func`")?;
        self.expect(
            b'<',
            "`<` and an opset (e.g. `<ios18>`) after the function name",
        )?;
        let opset = self.ident("an opset name such as `ios18`")?;
        self.expect(b'>', "`>` after the function opset")?;
        self.expect(b'(', "`(` opening the function parameters")?;
        let params = self.params("function parameter")?;
        let attributes = if self.peek() == Some(b'[') {
            self.attr_list()?
        } else {
            Vec::new()
        };
        let body = self.block()?;
        self.expect(b';', "`;` after the function's output list")?;
        Ok(Function {
            name,
            opset,
            params,
            attributes,
            body,
            span: Span::new(start, self.pos),
        })
    }

    /// `TYPE NAME, ...` up to and including `)`; the `(` is already consumed.
    fn params(&mut self, what: &'static str) -> PResult<Vec<Param>> {
        let mut params = Vec::new();
        if self.eat(b')') {
            return Ok(params);
        }
        loop {
            params.push(self.param(what)?);
            if self.eat(b',') {
                continue;
            }
            if !self.eat(b')') {
                return Err(self.error(format!("`,` or `)` after a {what}")));
            }
            return Ok(params);
        }
    }

    fn param(&mut self, what: &'static str) -> PResult<Param> {
        self.skip_ws();
        let start = self.pos;
        let ty = self.ty()?;
        let Some((s, e)) = self.peek_ident() else {
            return Err(self.error(format!("a name after the type of a {what}")));
        };
        self.pos = e;
        let name = Ident {
            name: Name::from(self.slice(s, e)),
            span: Span::new(s, e),
        };
        Ok(Param {
            ty,
            name,
            span: Span::new(start, self.pos),
        })
    }

    fn block(&mut self) -> PResult<Block> {
        self.enter_by(BLOCK_DEPTH_COST)?;
        self.skip_ws();
        let start = self.pos;
        self.expect(b'{', "`{` opening a block")?;
        let mut statements = Vec::with_capacity(self.statement_estimate());
        while self.peek() != Some(b'}') {
            if self.peek().is_none() {
                return Err(self.error("a statement or `}` closing the block"));
            }
            statements.push(self.statement()?);
        }
        self.pos += 1;
        if self.depth == BLOCK_DEPTH_COST {
            // Give back the estimate's slack (shrinking in place, no copy).
            statements.shrink_to_fit();
            self.semicolons_left = self.semicolons_left.saturating_sub(statements.len() + 1);
        }
        let outputs = self.block_outputs()?;
        self.leave_by(BLOCK_DEPTH_COST);
        Ok(Block {
            statements,
            outputs,
            span: Span::new(start, self.pos),
        })
    }

    /// `-> (a, b)` after a block's `}`.
    #[inline(never)]
    fn block_outputs(&mut self) -> PResult<Vec<Ident>> {
        if !(self.eat(b'-') && self.peek_byte() == Some(b'>')) {
            return Err(self.error("`->` and the output list after a block's `}`"));
        }
        self.pos += 1;
        self.expect(b'(', "`(` opening the output list")?;
        let mut outputs = Vec::new();
        if !self.eat(b')') {
            loop {
                outputs.push(self.ident("an output name")?);
                if self.eat(b',') {
                    continue;
                }
                self.expect(b')', "`,` or `)` in the output list")?;
                break;
            }
        }
        Ok(outputs)
    }

    fn statement(&mut self) -> PResult<Statement> {
        self.skip_ws();
        let start = self.pos;
        // Nearly every statement has one result (exact capacity: a Param is large).
        let mut results = Vec::with_capacity(1);
        results.push(self.param("statement result")?);
        while self.eat(b',') {
            results.push(self.param("statement result")?);
        }
        self.expect(b'=', "`=` or `,` after a statement result")?;
        let op = self.ident("an op name after `=`")?;
        let op_opset = if self.eat(b'<') {
            let opset = self.ident("an opset name such as `ios17`")?;
            self.expect(b'>', "`>` after the op opset")?;
            Some(opset)
        } else {
            None
        };
        let args = self.arguments()?;
        let attributes = if self.peek() == Some(b'[') {
            self.attr_list()?
        } else {
            Vec::new()
        };
        let mut blocks = Vec::new();
        while self.peek().is_some_and(is_ident_start) {
            blocks.push(self.nested_block()?);
        }
        self.expect(b';', "`;` at the end of the statement")?;
        Ok(Statement {
            results,
            op,
            op_opset,
            args,
            attributes,
            blocks,
            span: Span::new(start, self.pos),
        })
    }

    #[inline(never)]
    fn arguments(&mut self) -> PResult<Vec<Argument>> {
        self.expect(b'(', "`(` opening the argument list")?;
        let mut args = Vec::new();
        if !self.eat(b')') {
            loop {
                args.push(self.argument()?);
                if self.eat(b',') {
                    continue;
                }
                self.expect(b')', "`)` after argument list")?;
                break;
            }
        }
        Ok(args)
    }

    #[inline(never)]
    fn nested_block(&mut self) -> PResult<NestedBlock> {
        let start = self.pos;
        let name = self.ident("a nested block name")?;
        self.expect(b'(', "`(` after the nested block name")?;
        let params = self.params("nested block parameter")?;
        let body = self.block()?;
        Ok(NestedBlock {
            name,
            params,
            body,
            span: Span::new(start, self.pos),
        })
    }

    fn argument(&mut self) -> PResult<Argument> {
        self.skip_ws();
        let start = self.pos;
        let name = self.ident("an argument name")?;
        self.expect(b'=', "`=` after the argument name")?;
        let value = self.arg_value()?;
        Ok(Argument {
            name,
            value,
            span: Span::new(start, self.pos),
        })
    }

    fn arg_value(&mut self) -> PResult<ArgValue> {
        self.skip_ws();
        let start = self.pos;
        if self.eat(b'(') {
            self.enter()?;
            let mut items = Vec::new();
            if !self.eat(b')') {
                loop {
                    items.push(self.arg_value()?);
                    if self.eat(b',') {
                        continue;
                    }
                    self.expect(b')', "`,` or `)` in a tuple argument")?;
                    break;
                }
            }
            self.leave();
            return Ok(ArgValue::Tuple {
                items,
                span: Span::new(start, self.pos),
            });
        }
        let Some((s, e)) = self.peek_ident() else {
            return Err(self.error("a value name, a typed literal or `(` as argument value"));
        };
        if self.starts_literal(s, e) {
            return Ok(ArgValue::Literal(self.literal()?));
        }
        self.pos = e;
        Ok(ArgValue::Name(Ident {
            name: Name::from(self.slice(s, e)),
            span: Span::new(s, e),
        }))
    }

    /// Whether the identifier at `s..e` begins a typed literal rather than naming a value.
    fn starts_literal(&self, s: usize, e: usize) -> bool {
        let word = self.slice(s, e);
        match self.next_significant(e) {
            Some(b'<') => matches!(
                word,
                "tensor" | "list" | "dict" | "tuple" | "state" | "tensor_buffer"
            ),
            Some(b'(') => dtype_named(word).is_some(),
            _ => false,
        }
    }

    fn attr_list(&mut self) -> PResult<Vec<Attribute>> {
        self.expect(b'[', "`[` opening an attribute list")?;
        // Statements carry `name` and often `val`.
        let mut attributes = Vec::with_capacity(2);
        if self.eat(b']') {
            return Ok(attributes);
        }
        loop {
            self.skip_ws();
            let start = self.pos;
            let name = self.ident("an attribute name")?;
            self.expect(b'=', "`=` after the attribute name")?;
            let value = self.literal()?;
            attributes.push(Attribute {
                name,
                value,
                span: Span::new(start, self.pos),
            });
            if self.eat(b',') {
                continue;
            }
            self.expect(b']', "`,` or `]` in an attribute list")?;
            return Ok(attributes);
        }
    }

    // ---- types ------------------------------------------------------------------------

    fn dtype(&mut self) -> PResult<DType> {
        let Some((s, e)) = self.peek_ident() else {
            return Err(self.error("a dtype such as `fp16` or `int32`"));
        };
        let word = self.slice(s, e);
        match dtype_named(word) {
            Some(d) => {
                self.pos = e;
                Ok(d)
            }
            None => Err(self.error_at(
                Span::new(s, e),
                "a dtype (bool, string, fp16, fp32, fp64, bf16, int4..int64, uint1..uint64)",
                format!("unknown dtype `{word}`"),
            )),
        }
    }

    fn ty(&mut self) -> PResult<Type> {
        let Some((s, e)) = self.peek_ident() else {
            return Err(self.error("a type (a dtype such as `fp16`, or `tensor<...>`)"));
        };
        // Each composite kind has its own function so that deep nesting only stacks the
        // frames of the kinds actually nested (matters for the depth limit in debug builds).
        let kind = match self.slice(s, e) {
            "tensor" => self.tensor_ty(e)?,
            "list" => self.list_ty(e)?,
            "dict" => self.dict_ty(e)?,
            "tuple" => self.tuple_ty(e)?,
            "state" => self.state_ty(e)?,
            "tensor_buffer" => self.tensor_buffer_ty(e)?,
            _ => TypeKind::Scalar(self.dtype()?),
        };
        Ok(Type {
            kind,
            span: Span::new(s, self.pos),
        })
    }

    /// Consume the keyword ending at `end` and the `<` after it.
    fn open_angle(&mut self, end: usize, what: &'static str) -> PResult<()> {
        self.pos = end;
        self.expect(b'<', what)
    }

    fn close_angle(&mut self, what: &'static str) -> PResult<()> {
        self.expect(b'>', what)
    }

    fn tensor_ty(&mut self, end: usize) -> PResult<TypeKind> {
        self.open_angle(end, "`<` after `tensor`")?;
        let dtype = self.dtype()?;
        self.expect(b',', "`,` and a shape after the tensor dtype")?;
        let shape = self.shape()?;
        self.close_angle("`>` closing `tensor<...>`")?;
        Ok(TypeKind::Tensor { dtype, shape })
    }

    #[inline(never)]
    fn list_ty(&mut self, end: usize) -> PResult<TypeKind> {
        self.open_angle(end, "`<` after `list`")?;
        self.enter()?;
        let elem = Box::new(self.ty()?);
        self.leave();
        self.expect(b',', "`,` and a length after the list element type")?;
        let len = self.dim("a list length (integer or `?`)")?;
        self.close_angle("`>` closing `list<...>`")?;
        Ok(TypeKind::List { elem, len })
    }

    #[inline(never)]
    fn dict_ty(&mut self, end: usize) -> PResult<TypeKind> {
        self.open_angle(end, "`<` after `dict`")?;
        self.enter()?;
        let key = Box::new(self.ty()?);
        self.expect(b',', "`,` after the dict key type")?;
        let value = Box::new(self.ty()?);
        self.leave();
        self.close_angle("`>` closing `dict<...>`")?;
        Ok(TypeKind::Dict { key, value })
    }

    #[inline(never)]
    fn tuple_ty(&mut self, end: usize) -> PResult<TypeKind> {
        self.open_angle(end, "`<` after `tuple`")?;
        self.enter()?;
        let mut items = Vec::new();
        if self.peek() != Some(b'>') {
            items.push(self.ty()?);
            while self.eat(b',') {
                items.push(self.ty()?);
            }
        }
        self.leave();
        self.close_angle("`>` closing `tuple<...>`")?;
        Ok(TypeKind::Tuple(items))
    }

    #[inline(never)]
    fn state_ty(&mut self, end: usize) -> PResult<TypeKind> {
        self.open_angle(end, "`<` after `state`")?;
        self.enter()?;
        let inner = Box::new(self.ty()?);
        self.leave();
        self.close_angle("`>` closing `state<...>`")?;
        Ok(TypeKind::State(inner))
    }

    #[inline(never)]
    fn tensor_buffer_ty(&mut self, end: usize) -> PResult<TypeKind> {
        self.open_angle(end, "`<` after `tensor_buffer`")?;
        let dtype = self.dtype()?;
        self.expect(b',', "`,` after the tensor_buffer dtype")?;
        let shape = self.named_int_list("shape")?;
        self.expect(b',', "`,` after the tensor_buffer shape")?;
        let strides = self.named_int_list("strides")?;
        self.expect(b',', "`,` after the tensor_buffer strides")?;
        let interleave_factors = self.named_int_list("interleave_factors")?;
        self.close_angle("`>` closing `tensor_buffer<...>`")?;
        Ok(TypeKind::TensorBuffer {
            dtype,
            shape,
            strides,
            interleave_factors,
        })
    }

    fn shape(&mut self) -> PResult<Vec<Dim>> {
        self.expect(b'[', "`[` opening a tensor shape")?;
        let mut dims = Vec::new();
        if self.eat(b']') {
            return Ok(dims);
        }
        loop {
            dims.push(self.dim("a dimension (integer or `?`)")?);
            if self.eat(b',') {
                continue;
            }
            self.expect(b']', "`,` or `]` in a tensor shape")?;
            return Ok(dims);
        }
    }

    fn dim(&mut self, what: &str) -> PResult<Dim> {
        if self.eat(b'?') {
            return Ok(Dim::Unknown);
        }
        let start = self.pos;
        while self.peek_byte().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(what));
        }
        let text = self.slice(start, self.pos);
        text.parse::<u64>().map(Dim::Known).map_err(|_| {
            self.error_at(
                Span::new(start, self.pos),
                "a dimension that fits in 64 bits",
                format!("`{text}`"),
            )
        })
    }

    /// `NAME = [i, ...]` inside `tensor_buffer<...>`.
    fn named_int_list(&mut self, name: &'static str) -> PResult<Vec<i64>> {
        match self.peek_ident() {
            Some((s, e)) if self.slice(s, e) == name => self.pos = e,
            _ => return Err(self.error(format!("`{name}=` in tensor_buffer<...>"))),
        }
        self.expect(b'=', "`=` after a tensor_buffer field name")?;
        self.expect(b'[', "`[` opening a tensor_buffer integer list")?;
        let mut items = Vec::new();
        if self.eat(b']') {
            return Ok(items);
        }
        loop {
            self.skip_ws();
            let start = self.pos;
            let Some(Scalar::Int(v)) = self.number()? else {
                self.pos = start;
                return Err(self.error(format!("an integer in the {name} list")));
            };
            let v = i64::try_from(v).map_err(|_| {
                self.error_at(
                    Span::new(start, self.pos),
                    "an integer that fits in 64 bits",
                    format!("`{v}`"),
                )
            })?;
            items.push(v);
            if self.eat(b',') {
                continue;
            }
            if !self.eat(b']') {
                return Err(self.error(format!("`,` or `]` in the {name} list")));
            }
            return Ok(items);
        }
    }

    // ---- literals and payloads --------------------------------------------------------

    fn literal(&mut self) -> PResult<Literal> {
        self.skip_ws();
        let start = self.pos;
        let ty = self.ty()?;
        self.expect(b'(', "`(` and a value after the literal's type")?;
        let value = self.payload()?;
        self.expect(b')', "`)` closing the literal")?;
        Ok(Literal {
            ty,
            value,
            span: Span::new(start, self.pos),
        })
    }

    fn payload(&mut self) -> PResult<Payload> {
        self.skip_ws();
        let start = self.pos;
        let kind = match self.peek_byte() {
            Some(b'[') => return self.bracket(),
            Some(b'{') => self.dict_payload()?,
            Some(b'(') => self.tuple_payload()?,
            _ => self.leaf_payload(start)?,
        };
        Ok(Payload {
            kind,
            span: Span::new(start, self.pos),
        })
    }

    #[inline(never)]
    fn dict_payload(&mut self) -> PResult<PayloadKind> {
        self.enter()?;
        self.pos += 1;
        let mut entries = Vec::new();
        if !self.eat(b'}') {
            loop {
                self.skip_ws();
                let e_start = self.pos;
                self.expect(b'{', "`{` opening a dict entry `{key, value}`")?;
                let key = self.payload()?;
                self.expect(b',', "`,` between a dict key and its value")?;
                let value = self.payload()?;
                self.expect(b'}', "`}` closing a dict entry")?;
                entries.push(DictEntry {
                    key,
                    value,
                    span: Span::new(e_start, self.pos),
                });
                if self.eat(b',') {
                    continue;
                }
                self.expect(b'}', "`,` or `}` in a dict")?;
                break;
            }
        }
        self.leave();
        Ok(PayloadKind::Dict(entries))
    }

    #[inline(never)]
    fn tuple_payload(&mut self) -> PResult<PayloadKind> {
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        if !self.eat(b')') {
            loop {
                items.push(self.payload()?);
                if self.eat(b',') {
                    continue;
                }
                self.expect(b')', "`,` or `)` in a tuple value")?;
                break;
            }
        }
        self.leave();
        Ok(PayloadKind::Tuple(items))
    }

    /// A scalar or `BLOBFILE(...)`.
    fn leaf_payload(&mut self, start: usize) -> PResult<PayloadKind> {
        if let Some((s, e)) = self.peek_ident()
            && self.slice(s, e) == "BLOBFILE"
        {
            self.pos = e;
            return Ok(PayloadKind::Blob(Box::new(self.blobfile(start)?)));
        }
        Ok(match self.scalar()? {
            Some(Scalar::Bool(b)) => PayloadKind::Bool(b),
            Some(Scalar::Int(i)) => PayloadKind::Int(i),
            Some(Scalar::Float(f)) => PayloadKind::Float(Float(f)),
            Some(Scalar::Str(s)) => PayloadKind::Str(s),
            None => {
                return Err(self.error(
                    "a value (number, string, `true`, `false`, `[`, `{`, `(` or `BLOBFILE`)",
                ));
            }
        })
    }

    fn blobfile(&mut self, start: usize) -> PResult<BlobFile> {
        self.expect(b'(', "`(` after `BLOBFILE`")?;
        self.keyword("path", "`path = ...` first in BLOBFILE(...)")?;
        self.expect(b'=', "`=` after `path`")?;
        let path = self.literal()?;
        self.expect(b',', "`,` after the BLOBFILE path")?;
        self.keyword("offset", "`offset = ...` after the BLOBFILE path")?;
        self.expect(b'=', "`=` after `offset`")?;
        let offset = self.literal()?;
        self.expect(b')', "`)` closing BLOBFILE(...)")?;
        Ok(BlobFile {
            path,
            offset,
            span: Span::new(start, self.pos),
        })
    }

    /// A `[...]` payload: a flat [`Array`] when rectangular and homogeneous, else a list.
    fn bracket(&mut self) -> PResult<Payload> {
        let start = self.pos;
        // Inside two failed fast paths, skip it: every failed attempt rescans its list, so
        // without this bound a deep ragged list would cost depth × length.
        if self.generic_lists < 2
            && let Some(array) = self.try_array()
        {
            return Ok(Payload {
                kind: PayloadKind::Array(Box::new(array)),
                span: Span::new(start, self.pos),
            });
        }
        // Not an array (or malformed): parse generically; this also reports any error.
        self.pos = start;
        self.list_payload(start)
    }

    #[inline(never)]
    fn list_payload(&mut self, start: usize) -> PResult<Payload> {
        self.enter()?;
        self.generic_lists += 1;
        self.pos += 1;
        let mut items = Vec::new();
        if !self.eat(b']') {
            loop {
                items.push(self.payload()?);
                if self.eat(b',') {
                    continue;
                }
                self.expect(b']', "`,` or `]` in a list value")?;
                break;
            }
        }
        self.generic_lists = self.generic_lists.saturating_sub(1);
        self.leave();
        Ok(Payload {
            kind: PayloadKind::List(items),
            span: Span::new(start, self.pos),
        })
    }

    /// Fast path for tensor payloads: one pass, no recursion, no node per element. Returns
    /// `None` (position unspecified) when the text is not a rectangular list of same-kind
    /// scalars, or is malformed; the caller then re-parses it generically.
    #[inline(never)]
    fn try_array(&mut self) -> Option<Array> {
        let mut shape = std::mem::take(&mut self.array_shape);
        let mut counts = std::mem::take(&mut self.array_counts);
        shape.clear();
        counts.clear();
        let array = self.try_array_with(&mut shape, &mut counts);
        self.array_shape = shape;
        self.array_counts = counts;
        array
    }

    fn try_array_with(
        &mut self,
        shape: &mut Vec<Option<usize>>,
        counts: &mut Vec<usize>,
    ) -> Option<Array> {
        let max_levels = MAX_DEPTH.saturating_sub(self.depth);
        let mut rank: Option<usize> = None;
        let mut elements: Option<Elements> = None;
        self.pos += 1; // `[`
        counts.push(0);
        shape.push(None);
        loop {
            match self.peek()? {
                b'[' => {
                    if rank.is_some_and(|r| counts.len() >= r) || counts.len() >= max_levels {
                        return None;
                    }
                    self.pos += 1;
                    counts.push(0);
                    if shape.len() < counts.len() {
                        shape.push(None);
                    }
                    continue;
                }
                b']' => {
                    let level = counts.len().checked_sub(1)?;
                    let n = counts.pop()?;
                    if n == 0 {
                        match rank {
                            None => rank = Some(level + 1),
                            Some(r) if r != level + 1 => return None,
                            Some(_) => {}
                        }
                    }
                    let slot = shape.get_mut(level)?;
                    match *slot {
                        None => *slot = Some(n),
                        Some(m) if m != n => return None,
                        Some(_) => {}
                    }
                    self.pos += 1;
                    let Some(parent) = counts.last_mut() else {
                        break;
                    };
                    *parent += 1;
                }
                _ => {
                    match rank {
                        None => rank = Some(counts.len()),
                        Some(r) if r != counts.len() => return None,
                        Some(_) => {}
                    }
                    let leaf = self.scalar().ok()??;
                    match (&mut elements, leaf) {
                        // Room for a few leaves up front: most arrays are short (axes, begin/end,
                        // pads), and growing from one element would reallocate at once.
                        (None, Scalar::Bool(b)) => elements = Some(Elements::Bool(first(b))),
                        (None, Scalar::Int(i)) => elements = Some(Elements::Int(first(i))),
                        (None, Scalar::Float(f)) => {
                            elements = Some(Elements::Float(first(Float(f))))
                        }
                        (None, Scalar::Str(s)) => {
                            elements = Some(Elements::Str(first(s.into_string())))
                        }
                        (Some(Elements::Bool(v)), Scalar::Bool(b)) => v.push(b),
                        (Some(Elements::Int(v)), Scalar::Int(i)) => v.push(i),
                        (Some(Elements::Float(v)), Scalar::Float(f)) => v.push(Float(f)),
                        (Some(Elements::Str(v)), Scalar::Str(s)) => v.push(s.into_string()),
                        _ => return None,
                    }
                    *counts.last_mut()? += 1;
                }
            }
            // After an item: `,` then another item, or `]`.
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    if self.peek()? == b']' {
                        return None;
                    }
                }
                b']' => {}
                _ => return None,
            }
        }
        let shape = shape.iter().copied().collect::<Option<Vec<usize>>>()?;
        if rank != Some(shape.len()) {
            return None;
        }
        Some(Array {
            shape,
            elements: elements.unwrap_or(Elements::Int(Vec::new())),
        })
    }

    /// A scalar leaf, or `Ok(None)` when the next token cannot start one.
    fn scalar(&mut self) -> PResult<Option<Scalar>> {
        self.skip_ws();
        match self.peek_byte() {
            Some(b'"') => self.string().map(|s| Some(Scalar::Str(s))),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b) if is_ident_start(b) => {
                let Some((s, e)) = self.peek_ident() else {
                    return Ok(None);
                };
                let value = match self.slice(s, e) {
                    "true" => Scalar::Bool(true),
                    "false" => Scalar::Bool(false),
                    "inf" => Scalar::Float(f64::INFINITY),
                    "nan" => Scalar::Float(f64::NAN),
                    _ => return Ok(None),
                };
                self.pos = e;
                Ok(Some(value))
            }
            _ => Ok(None),
        }
    }

    fn string(&mut self) -> PResult<Name> {
        let start = self.pos;
        self.pos += 1; // opening quote
        let mut out = Name::default();
        let mut run_start = self.pos;
        loop {
            let Some(b) = self.peek_byte() else {
                return Err(self.error_at(
                    Span::new(start, self.pos),
                    "`\"` closing the string",
                    "end of input",
                ));
            };
            match b {
                b'"' => {
                    out.push_str(self.slice(run_start, self.pos));
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(self.slice(run_start, self.pos));
                    let esc = self.byte_at(self.pos + 1);
                    let c = match esc {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'n') => '\n',
                        Some(b't') => '\t',
                        Some(b'r') => '\r',
                        _ => {
                            let len = 1 + self
                                .src
                                .get(self.pos + 1..)
                                .and_then(|r| r.chars().next())
                                .map_or(0, char::len_utf8);
                            let span = Span::new(self.pos, self.pos + len);
                            let text = self.slice(span.start, span.end);
                            return Err(self.error_at(
                                span,
                                "an escape `\\\"`, `\\\\`, `\\n`, `\\t` or `\\r` in a string",
                                format!("`{text}`"),
                            ));
                        }
                    };
                    out.push(c);
                    self.pos += 2;
                    run_start = self.pos;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// An integer, hex float, decimal float, or `-inf`/`-nan`. `Ok(None)` if no number here.
    fn number(&mut self) -> PResult<Option<Scalar>> {
        let start = self.pos;
        let neg = self.peek_byte() == Some(b'-');
        if neg {
            self.pos += 1;
            if let Some((s, e)) = self.peek_ident_here() {
                let v = match self.slice(s, e) {
                    "inf" => f64::NEG_INFINITY,
                    "nan" => -f64::NAN,
                    _ => {
                        self.pos = start;
                        return Ok(None);
                    }
                };
                self.pos = e;
                return Ok(Some(Scalar::Float(v)));
            }
        }
        let digits_start = self.pos;
        if self.peek_byte() == Some(b'0') && matches!(self.byte_at(self.pos + 1), Some(b'x' | b'X'))
        {
            self.pos += 2;
            return self.hex_float(neg).map(|v| Some(Scalar::Float(v)));
        }
        while self.peek_byte().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == digits_start {
            self.pos = start;
            return Ok(None);
        }
        let mut is_float = false;
        if self.peek_byte() == Some(b'.') {
            is_float = true;
            self.pos += 1;
            while self.peek_byte().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek_byte(), Some(b'e' | b'E')) {
            is_float = true;
            self.pos += 1;
            if matches!(self.peek_byte(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let exp_start = self.pos;
            while self.peek_byte().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
            if self.pos == exp_start {
                return Err(self.error("digits in the exponent of a decimal float"));
            }
        }
        if self.peek_byte().is_some_and(is_ident_char) {
            return Err(self.error("a separator after the number"));
        }
        let text = self.slice(start, self.pos);
        if is_float {
            return text
                .parse::<f64>()
                .map(|v| Some(Scalar::Float(v)))
                .map_err(|_| {
                    self.error_at(
                        Span::new(start, self.pos),
                        "a decimal float",
                        format!("`{text}`"),
                    )
                });
        }
        // Integers are accumulated directly (faster than str::parse and no sign juggling).
        let mut value: i128 = 0;
        for &b in self.bytes.get(digits_start..self.pos).unwrap_or(&[]) {
            let d = i128::from(b - b'0');
            value = match value.checked_mul(10).and_then(|v| {
                if neg {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            }) {
                Some(v) => v,
                None => {
                    return Err(self.error_at(
                        Span::new(start, self.pos),
                        "an integer that fits in 128 bits",
                        format!("`{text}`"),
                    ));
                }
            };
        }
        Ok(Some(Scalar::Int(value)))
    }

    /// An identifier starting exactly at the current position (no whitespace skipping).
    fn peek_ident_here(&self) -> Option<(usize, usize)> {
        let start = self.pos;
        if !self.byte_at(start).is_some_and(is_ident_start) {
            return None;
        }
        let mut end = start + 1;
        while self.byte_at(end).is_some_and(is_ident_char) {
            end += 1;
        }
        Some((start, end))
    }

    /// The rest of a C99 hex float after `0x`: `H[.H*]p[+-]D`.
    fn hex_float(&mut self, neg: bool) -> PResult<f64> {
        // Up to 15 significant hex digits go into `mantissa` exactly; any further digit only
        // matters for rounding (`sticky`), so arbitrarily long spellings round correctly.
        let mut mantissa: u64 = 0;
        let mut exp_adjust: i64 = 0;
        let mut sticky = false;
        let mut any_digit = false;
        let mut push = |d: u64, frac: bool, mantissa: &mut u64| {
            if *mantissa < (1 << 59) {
                *mantissa = *mantissa * 16 + d;
                if frac {
                    exp_adjust -= 4;
                }
            } else {
                sticky |= d != 0;
                if !frac {
                    exp_adjust += 4;
                }
            }
        };
        while let Some(d) = self.peek_byte().and_then(hex_value) {
            push(d, false, &mut mantissa);
            any_digit = true;
            self.pos += 1;
        }
        if !any_digit {
            return Err(self.error("a hex digit after `0x`"));
        }
        if self.peek_byte() == Some(b'.') {
            self.pos += 1;
            while let Some(d) = self.peek_byte().and_then(hex_value) {
                push(d, true, &mut mantissa);
                self.pos += 1;
            }
        }
        if !matches!(self.peek_byte(), Some(b'p' | b'P')) {
            return Err(self.error("`p` and a binary exponent in a hex float (`0x1p-1`)"));
        }
        self.pos += 1;
        let exp_neg = match self.peek_byte() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let exp_start = self.pos;
        let mut exp: i64 = 0;
        while let Some(b) = self.peek_byte().filter(u8::is_ascii_digit) {
            // Saturate: anything beyond ±100000 is already ±inf or 0.
            exp = (exp * 10 + i64::from(b - b'0')).min(100_000);
            self.pos += 1;
        }
        if self.pos == exp_start {
            return Err(self.error("decimal digits in the exponent of a hex float"));
        }
        if self.peek_byte().is_some_and(is_ident_char) {
            return Err(self.error("a separator after the hex float"));
        }
        let exp = if exp_neg { -exp } else { exp };
        let magnitude = compose_f64(mantissa, exp + exp_adjust, sticky);
        Ok(if neg { -magnitude } else { magnitude })
    }
}

/// A vector holding `item`, with room for three more.
fn first<T>(item: T) -> Vec<T> {
    let mut v = Vec::with_capacity(4);
    v.push(item);
    v
}

/// `mantissa * 2^exp` rounded to nearest-even, where `sticky` says that nonzero digits below
/// `mantissa` were dropped. Written out because std has no `ldexp` and no hex-float parser.
fn compose_f64(mantissa: u64, exp: i64, sticky: bool) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let lz = i64::from(mantissa.leading_zeros());
    let m = u128::from(mantissa) << lz; // top bit at position 63
    let top_exp = exp - lz + 63; // value is in [2^top_exp, 2^(top_exp+1))
    if top_exp > 1023 {
        return f64::INFINITY;
    }
    // Bits to drop below the 53-bit significand (more for subnormals).
    let shift = if top_exp >= -1022 {
        11
    } else {
        11 + (-1022 - top_exp)
    };
    if shift >= 127 {
        return 0.0;
    }
    let shift = shift as u32;
    let mut q = m >> shift;
    let rem = m & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    if rem > half || (rem == half && (sticky || q & 1 == 1)) {
        q += 1;
    }
    if top_exp >= -1022 {
        let mut biased = top_exp + 1023;
        if q == 1 << 53 {
            q >>= 1;
            biased += 1;
        }
        if biased > 2046 {
            return f64::INFINITY;
        }
        let frac = (q as u64) & ((1u64 << 52) - 1);
        f64::from_bits(((biased as u64) << 52) | frac)
    } else {
        // Subnormal: the bits are the significand itself; a carry into bit 52 correctly
        // yields the smallest normal number.
        f64::from_bits(q as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_match_agrees_with_the_core_table() {
        for d in anekit_core::dtype::ALL_DTYPES {
            assert_eq!(dtype_named(d.mil_name()), Some(d));
        }
        assert_eq!(dtype_named("fp8"), None);
    }

    #[test]
    fn compose_matches_known_values() {
        assert_eq!(compose_f64(1, -1, false), 0.5);
        assert_eq!(compose_f64(0x118, 6 - 8, false), 70.0);
        assert_eq!(compose_f64(1, -149, false), f32::from_bits(1) as f64);
        assert_eq!(compose_f64(1, -1074, false).to_bits(), 1);
        assert_eq!(compose_f64(1, -1075, false), 0.0); // tie rounds to even (0)
        assert_eq!(compose_f64(1, -1075, true).to_bits(), 1);
        assert_eq!(compose_f64(3, -1076, false).to_bits(), 1); // 0.75 ulp rounds up
        assert_eq!(compose_f64(1, 1024, false), f64::INFINITY);
        // 2^53 + 1 ties to even (2^53), 2^53 + 3 rounds up to 2^53 + 4.
        assert_eq!(compose_f64((1 << 53) + 1, 0, false), 9007199254740992.0);
        assert_eq!(compose_f64((1 << 53) + 3, 0, false), 9007199254740996.0);
    }
}
