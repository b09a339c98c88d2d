//! The typed SSA program built from a parsed MIL text program.
//!
//! Values live in a per-function arena ([`Function::values`], indexed by [`ValueId`]); constants
//! (from `const` ops and inline literals) in a per-program arena ([`Program::constants`],
//! indexed by [`ConstId`]). Every value, op and constant keeps the span of its source text.

use crate::ops::{OpDef, Opset, OpsetTag};
use crate::types::Type;
use anekit_mil::ast::Span;
use serde::Serialize;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ValueId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ConstId(pub u32);

#[derive(Debug, Clone, Serialize)]
pub struct Program {
    /// `1.0`, `1.3`, ... as written.
    pub version: String,
    pub functions: Vec<Function>,
    pub constants: Vec<Constant>,
}

impl Program {
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    pub fn constant(&self, id: ConstId) -> Option<&Constant> {
        self.constants.get(id.0 as usize)
    }

    /// Every `BLOBFILE` constant.
    pub fn blob_constants(&self) -> impl Iterator<Item = (ConstId, &Constant, &BlobRef)> {
        self.constants
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.data {
                ConstData::Blob(b) => Some((ConstId(i as u32), c, b)),
                _ => None,
            })
    }

    pub fn op_count(&self) -> usize {
        self.functions.iter().map(|f| f.ops.len()).sum()
    }

    pub fn value_count(&self) -> usize {
        self.functions.iter().map(|f| f.values.len()).sum()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Function {
    pub name: String,
    /// The opset tag as written.
    pub opset_text: String,
    /// The parsed tag; None when unknown (an `E-unknown-opset` was reported).
    pub opset_tag: Option<OpsetTag>,
    /// The opset used for checking (ios18 for newer or unknown tags).
    pub opset: Opset,
    pub inputs: Vec<ValueId>,
    /// The function results in order (names that did not resolve are left out).
    pub outputs: Vec<ValueId>,
    pub ops: Vec<Op>,
    pub values: Vec<Value>,
    pub span: Span,
}

impl Function {
    pub fn value(&self, id: ValueId) -> Option<&Value> {
        self.values.get(id.0 as usize)
    }

    /// The value called `name` (linear scan; the builder uses a map).
    pub fn value_named(&self, name: &str) -> Option<(ValueId, &Value)> {
        self.values
            .iter()
            .enumerate()
            .find(|(_, v)| v.name == name)
            .map(|(i, v)| (ValueId(i as u32), v))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Value {
    pub name: String,
    /// The declared type (inference checks it; it is what later layers use).
    pub ty: Type,
    pub def: ValueDef,
    /// Set when the value is the result of a `const` op: its constant.
    pub constant: Option<ConstId>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueDef {
    /// The function input at this position.
    Input(usize),
    /// Result `result` of op `op` (an index into [`Function::ops`]).
    Op { op: usize, result: usize },
}

#[derive(Debug, Clone, Serialize)]
pub struct Op {
    /// The op name as written.
    pub kind: String,
    /// The registry entry; None for unknown ops (an `E-unknown-op` was reported).
    #[serde(skip)]
    pub def: Option<&'static OpDef>,
    /// The opset the op is checked in: its explicit `<opset>` or the function's.
    pub opset: Opset,
    /// Inputs by name, in source order. For `const` the `val` attribute, for constexpr ops
    /// before iOS18 their attribute operands, appear here too.
    pub inputs: Vec<Input>,
    pub results: Vec<ValueId>,
    /// The `name` attribute.
    pub name: Option<String>,
    /// Every other attribute (analysis-dump `BackendSupport`, `EstimatedRuntime`, ...) as a
    /// constant; `name`, `const`'s `val` and constexpr operands are not repeated here.
    pub attributes: Vec<(String, ConstId)>,
    /// The result types inference computed (None: the op has no inference, or its inputs did
    /// not allow it). They may be more precise than the declared types (`?` dims resolved).
    pub inferred: Option<Vec<Type>>,
    pub span: Span,
}

impl Op {
    pub fn input(&self, name: &str) -> Option<&Arg> {
        self.inputs.iter().find(|i| i.name == name).map(|i| &i.arg)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Input {
    /// The registry's input name when it is one (no allocation), else the name as written.
    pub name: Cow<'static, str>,
    pub arg: Arg,
    pub span: Span,
}

/// What an input is bound to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arg {
    Value(ValueId),
    Const(ConstId),
    Tuple(Vec<Arg>),
    /// A name that did not resolve (a diagnostic was reported).
    Undefined(String),
}

/// A constant: a `const` op's value or an inline literal.
#[derive(Debug, Clone, Serialize)]
pub struct Constant {
    pub ty: Type,
    pub data: ConstData,
    pub span: Span,
}

/// Constant payloads, flattened row-major. Lists, dicts and tuples (buildInfo-like metadata)
/// are kept only as [`ConstData::Structured`]: no op input needs their contents.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstData {
    Bools(Vec<bool>),
    Ints(Vec<i128>),
    Floats(Vec<f64>),
    Strings(Vec<String>),
    /// Stored in a weight file; resolved lazily by [`crate::weights::Weights`].
    Blob(BlobRef),
    Structured,
}

impl ConstData {
    pub fn len(&self) -> Option<usize> {
        Some(match self {
            ConstData::Bools(v) => v.len(),
            ConstData::Ints(v) => v.len(),
            ConstData::Floats(v) => v.len(),
            ConstData::Strings(v) => v.len(),
            ConstData::Blob(_) | ConstData::Structured => return None,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Integer contents as i64 (integers, and floats with integral values).
    pub fn as_i64s(&self) -> Option<Vec<i64>> {
        match self {
            ConstData::Ints(v) => v.iter().map(|&i| i64::try_from(i).ok()).collect(),
            ConstData::Bools(v) => Some(v.iter().map(|&b| i64::from(b)).collect()),
            _ => None,
        }
    }

    pub fn as_bools(&self) -> Option<&[bool]> {
        match self {
            ConstData::Bools(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            ConstData::Strings(v) if v.len() == 1 => v.first().map(String::as_str),
            _ => None,
        }
    }
}

/// `BLOBFILE(path = ..., offset = ...)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct BlobRef {
    /// As written, e.g. `@model_path/weights/weight.bin`.
    pub path: String,
    /// Offset of the blob's 64-byte metadata record.
    pub offset: u64,
    pub span: Span,
}
