//! The syntax tree of a MIL text program (`model.mil`).
//!
//! The tree mirrors the text (reference/mil-text.md §3.2): it keeps every spelling that matters
//! for printing the program back exactly (scalar types written `int32` vs `tensor<int32, []>`,
//! integer vs float payload spellings, the program version, the final newline), and nothing
//! else (whitespace, argument order as written — the canonical printer sorts arguments).
//!
//! Every node carries a [`Span`]: the byte range of its text in the parsed source. Use
//! [`crate::LineIndex`] to turn a byte offset into `line:col`.
//!
//! **Equality ignores spans.** `Span`'s `PartialEq` is always true, so the derived `==` on any
//! node compares trees, not positions ("same tree" checks after parse → print → parse). Compare
//! [`Span::start`]/[`Span::end`] directly when positions matter. Floats compare by bit pattern
//! (so `nan == nan` and `0.0 != -0.0`), see [`Float`].
//!
//! Large inline tensors are stored flat: a bracketed literal whose leaves are all scalars of one
//! kind and whose nesting is rectangular becomes one [`Array`] (a shape plus one `Vec` of
//! elements), not one node per element. Array elements therefore have no individual spans.

use anekit_core::DType;
use std::fmt;

/// The string type of identifiers and string payloads: up to 24 bytes are stored inline, so
/// the many short names of a program (`x`, `weight`, `var_192_begin_0`, `op_9`) cost no heap
/// allocation to build or free. It derefs to `str` and converts from `&str` and `String`
/// (`.into()`); use `.to_string()` or `String::from` to get a `String`.
pub type Name = compact_str::CompactString;

/// A byte range `start..end` into the parsed source text.
///
/// `PartialEq` always returns true (see the module documentation): spans never make two trees
/// different. Compare the fields to compare positions.
#[derive(Clone, Copy, Debug, Default, Eq, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl PartialEq for Span {
    /// Always true: derived equality on tree nodes ignores positions.
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

impl std::hash::Hash for Span {
    /// Hashes nothing, consistent with the always-true equality.
    fn hash<H: std::hash::Hasher>(&self, _state: &mut H) {}
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The span as a `Range`, e.g. to slice the source: `&src[span.range()]`.
    pub const fn range(self) -> std::ops::Range<usize> {
        self.start..self.end
    }

    pub const fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub const fn is_empty(self) -> bool {
        self.end <= self.start
    }
}

/// An identifier (value, op, function, parameter, attribute or opset name) as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: Name,
    pub span: Span,
}

impl Ident {
    /// An identifier with an empty span, for trees built in code.
    pub fn new(name: impl Into<Name>) -> Ident {
        Ident {
            name: name.into(),
            span: Span::default(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The two text dialects (reference/mil-text.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Dialect {
    /// `program(1.0)`: scalars are rank-0 tensors, `tensor<int32, []>(1)`.
    #[serde(rename = "1.0")]
    V1_0,
    /// `program(1.3)` (and later versions): scalars are bare dtypes, `int32(1)`.
    #[serde(rename = "1.3")]
    V1_3,
}

impl Dialect {
    /// The version written in the header: `1.0` or `1.3`.
    pub const fn version(self) -> &'static str {
        match self {
            Dialect::V1_0 => "1.0",
            Dialect::V1_3 => "1.3",
        }
    }
}

/// A whole file: `program(VERSION) [ATTRS] { FUNCTIONS }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// The version exactly as written between the parentheses (`1.0`, `1.3`, `1`, `1.5`).
    pub version: Version,
    /// Program attributes, normally just `buildInfo`.
    pub attributes: Vec<Attribute>,
    pub functions: Vec<Function>,
    /// Whether a line feed followed the final `}` (Apple's compiler mostly writes none; the
    /// apple/coremltools `add_model` file and hand-written programs have one).
    pub trailing_newline: bool,
    pub span: Span,
}

impl Program {
    /// The dialect implied by the header: `1.0` and `1` are verbose, anything else compact.
    pub fn dialect(&self) -> Dialect {
        match self.version.text.as_str() {
            "1" | "1.0" => Dialect::V1_0,
            _ => Dialect::V1_3,
        }
    }

    /// The function called `name`.
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name.name == name)
    }

    /// The value of program attribute `name` (e.g. `buildInfo`).
    pub fn attribute(&self, name: &str) -> Option<&Literal> {
        find_attribute(&self.attributes, name)
    }

    /// Sort every argument and attribute list by name in byte order (stable), as the
    /// canonical printer writes them. After this, `parse(&print(p)) == p` for any parsed `p`.
    pub fn sort_canonical(&mut self) {
        sort_attributes(&mut self.attributes);
        for f in &mut self.functions {
            sort_attributes(&mut f.attributes);
            f.body.sort_canonical();
        }
    }
}

fn sort_attributes(attributes: &mut [Attribute]) {
    attributes.sort_by(|a, b| a.name.name.as_bytes().cmp(b.name.name.as_bytes()));
}

fn find_attribute<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Literal> {
    attributes
        .iter()
        .find(|a| a.name.name == name)
        .map(|a| &a.value)
}

/// The program version as written (`digits [ "." digits ]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub text: String,
    pub span: Span,
}

/// `name = LITERAL` inside `[...]` (program, function and statement attributes).
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: Ident,
    pub value: Literal,
    pub span: Span,
}

/// `func NAME<OPSET>(PARAMS) [ATTRS] { ... } -> (OUTPUTS);`
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub name: Ident,
    /// The opset tag as written (`ios15`..`ios18`; unknown newer tags are kept verbatim).
    pub opset: Ident,
    pub params: Vec<Param>,
    /// Function attributes: `FlexibleShapeInformation`, analysis-dump cost attributes.
    pub attributes: Vec<Attribute>,
    pub body: Block,
    pub span: Span,
}

impl Function {
    pub fn attribute(&self, name: &str) -> Option<&Literal> {
        find_attribute(&self.attributes, name)
    }
}

/// `TYPE NAME`: a function or nested-block parameter, or one result of a statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub ty: Type,
    pub name: Ident,
    pub span: Span,
}

/// `{ STATEMENTS } -> (OUTPUTS)`: a function body or a nested block.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub statements: Vec<Statement>,
    /// The names after `->`, in order (for a function: one output each).
    pub outputs: Vec<Ident>,
    pub span: Span,
}

impl Block {
    fn sort_canonical(&mut self) {
        for s in &mut self.statements {
            s.args
                .sort_by(|a, b| a.name.name.as_bytes().cmp(b.name.name.as_bytes()));
            sort_attributes(&mut s.attributes);
            for b in &mut s.blocks {
                b.body.sort_canonical();
            }
        }
    }
}

/// `RESULTS = OP[<OPSET>](ARGS) [ATTRS] NESTED_BLOCKS;`
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// One or more typed result names (`split`, `lstm`, `topk` have several).
    pub results: Vec<Param>,
    pub op: Ident,
    /// An explicit op opset (`tensor_buffer_to_tensor<ios17>(...)`, analysis dumps).
    pub op_opset: Option<Ident>,
    /// Arguments in source order (the canonical printer sorts them by name).
    pub args: Vec<Argument>,
    /// Attributes in source order (the canonical printer sorts them by name).
    pub attributes: Vec<Attribute>,
    /// Nested blocks of control-flow ops (`cond`, `while_loop`); never seen in a real file.
    pub blocks: Vec<NestedBlock>,
    pub span: Span,
}

impl Statement {
    /// The argument called `name`.
    pub fn arg(&self, name: &str) -> Option<&ArgValue> {
        self.args
            .iter()
            .find(|a| a.name.name == name)
            .map(|a| &a.value)
    }

    /// The attribute called `name` (e.g. `name`, `val`).
    pub fn attribute(&self, name: &str) -> Option<&Literal> {
        find_attribute(&self.attributes, name)
    }
}

/// `NAME(PARAMS) { ... } -> (OUTPUTS)` after a control-flow op (grammar §3.2, unseen in files).
#[derive(Clone, Debug, PartialEq)]
pub struct NestedBlock {
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Block,
    pub span: Span,
}

/// `name = VALUE` inside an op's argument list.
#[derive(Clone, Debug, PartialEq)]
pub struct Argument {
    pub name: Ident,
    pub value: ArgValue,
    pub span: Span,
}

/// The value of an argument.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgValue {
    /// A value name (an earlier result or a function parameter).
    Name(Ident),
    /// An inline typed literal, including `tensor<...>(BLOBFILE(...))`.
    Literal(Literal),
    /// `(a, b, ...)`: a variadic input such as `concat(values = (x, y))`.
    Tuple { items: Vec<ArgValue>, span: Span },
}

impl ArgValue {
    pub fn span(&self) -> Span {
        match self {
            ArgValue::Name(i) => i.span,
            ArgValue::Literal(l) => l.span,
            ArgValue::Tuple { span, .. } => *span,
        }
    }
}

/// A type as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Type {
    pub kind: TypeKind,
    pub span: Span,
}

impl Type {
    /// A type with an empty span, for trees built in code.
    pub fn new(kind: TypeKind) -> Type {
        Type {
            kind,
            span: Span::default(),
        }
    }

    /// The dtype when this is a scalar in either spelling (`int32` or `tensor<int32, []>`).
    pub fn scalar_dtype(&self) -> Option<DType> {
        match &self.kind {
            TypeKind::Scalar(d) => Some(*d),
            TypeKind::Tensor { dtype, shape } if shape.is_empty() => Some(*dtype),
            _ => None,
        }
    }
}

/// The kinds of type (reference/mil-text.md §3.3).
#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    /// A bare dtype: `int32`, `string` (the 1.3 scalar spelling).
    Scalar(DType),
    /// `tensor<DT, [d0, d1, ...]>`; `[]` is rank 0 (the 1.0 scalar spelling).
    Tensor { dtype: DType, shape: Vec<Dim> },
    /// `list<T, N>` or `list<T, ?>`.
    List { elem: Box<Type>, len: Dim },
    /// `dict<K, V>`.
    Dict { key: Box<Type>, value: Box<Type> },
    /// `tuple<T1, T2, ...>`.
    Tuple(Vec<Type>),
    /// `state<T>` (iOS18 stateful inputs).
    State(Box<Type>),
    /// `tensor_buffer<DT, shape=[..], strides=[..], interleave_factors=[..]>` (compiler
    /// analysis dumps only).
    TensorBuffer {
        dtype: DType,
        shape: Vec<i64>,
        strides: Vec<i64>,
        interleave_factors: Vec<i64>,
    },
}

/// One dimension of a tensor shape, or a list length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Known(u64),
    /// `?`
    Unknown,
}

/// `TYPE(PAYLOAD)`: a typed constant.
#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    pub ty: Type,
    pub value: Payload,
    pub span: Span,
}

impl Literal {
    /// The string of a scalar string literal (`string("x")` or `tensor<string, []>("x")`).
    pub fn as_str(&self) -> Option<&str> {
        match &self.value.kind {
            PayloadKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer of a scalar integer literal.
    pub fn as_int(&self) -> Option<i128> {
        match self.value.kind {
            PayloadKind::Int(i) => Some(i),
            _ => None,
        }
    }
}

/// What is between the parentheses of a literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Payload {
    pub kind: PayloadKind,
    pub span: Span,
}

/// The payload kinds (reference/mil-text.md §3.4).
///
/// Scalars keep their spelling class: `fp64(0)` is an [`PayloadKind::Int`] payload of a float
/// type, exactly as written. Decimal floats (`0.5`, `4.0960000000000001e-05`) and hex floats
/// both become [`PayloadKind::Float`]; the printer writes every float as a hex float.
#[derive(Clone, Debug, PartialEq)]
pub enum PayloadKind {
    Bool(bool),
    /// Any integer spelling; i128 holds every int64 and uint64 exactly.
    Int(i128),
    /// Any float spelling: hex, decimal, `inf`, `-inf`, `nan`.
    Float(Float),
    /// A string with escapes resolved.
    Str(Name),
    /// `BLOBFILE(path = ..., offset = ...)`.
    Blob(Box<BlobFile>),
    /// A rectangular bracketed literal whose leaves are scalars of one kind (`[[0, 1]]`, `[]`).
    Array(Box<Array>),
    /// Any other bracketed list (mixed leaf kinds, ragged nesting, non-scalar items).
    List(Vec<Payload>),
    /// `{{k, v}, ...}`.
    Dict(Vec<DictEntry>),
    /// `(a, b, ...)`.
    Tuple(Vec<Payload>),
}

/// One `{key, value}` pair of a dict payload.
#[derive(Clone, Debug, PartialEq)]
pub struct DictEntry {
    pub key: Payload,
    pub value: Payload,
    pub span: Span,
}

/// `BLOBFILE(path = LITERAL, offset = LITERAL)`: data stored in a weight file. `offset` is the
/// byte offset of the blob's 64-byte metadata record (reference/mil-text.md §4.3).
#[derive(Clone, Debug, PartialEq)]
pub struct BlobFile {
    pub path: Literal,
    pub offset: Literal,
    pub span: Span,
}

impl BlobFile {
    /// The path string (`@model_path/weights/weight.bin`).
    pub fn path_str(&self) -> Option<&str> {
        self.path.as_str()
    }

    /// The offset, when it is a non-negative integer that fits in u64.
    pub fn offset_u64(&self) -> Option<u64> {
        self.offset.as_int().and_then(|i| u64::try_from(i).ok())
    }
}

/// A flat, rectangular, homogeneous bracketed literal: `shape` gives the nesting (outermost
/// first, `[]` is shape `[0]`), `elements` the leaves in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub elements: Elements,
}

/// The leaves of an [`Array`], all of one kind. An empty array holds `Int(vec![])`.
#[derive(Clone, Debug, PartialEq)]
pub enum Elements {
    Bool(Vec<bool>),
    Int(Vec<i128>),
    Float(Vec<Float>),
    Str(Vec<String>),
}

impl Elements {
    pub fn len(&self) -> usize {
        match self {
            Elements::Bool(v) => v.len(),
            Elements::Int(v) => v.len(),
            Elements::Float(v) => v.len(),
            Elements::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A float payload value. f64 holds every fp16/fp32 value exactly. Equality is by bit pattern,
/// so trees with `nan` compare equal to themselves and `-0.0` differs from `0.0`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(transparent)]
pub struct Float(pub f64);

impl PartialEq for Float {
    fn eq(&self, other: &Float) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
