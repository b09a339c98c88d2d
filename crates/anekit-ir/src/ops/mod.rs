//! The MIL op registry: one static [`OpDef`] per op.
//!
//! Every later layer (inference here; CPU kernels, lints and cost elsewhere) hangs off the same
//! `&'static OpDef`, found with [`lookup`]. The table in [`table`] lists the 168 ops of
//! coremltools 9.0's iOS15–iOS18 opsets (reference/mil-text.md §6, [source]) and the few ops that
//! appear in MIL text without being in that registry (§6.22).

mod table;

use crate::infer::InferFn;
use anekit_core::DType;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

pub use table::OPS;

/// A MIL opset the registry knows. Later opsets are ordered after earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Opset {
    Ios15,
    Ios16,
    Ios17,
    Ios18,
}

impl Opset {
    pub const ALL: [Opset; 4] = [Opset::Ios15, Opset::Ios16, Opset::Ios17, Opset::Ios18];

    /// The text tag (`ios17`).
    pub const fn tag(self) -> &'static str {
        match self {
            Opset::Ios15 => "ios15",
            Opset::Ios16 => "ios16",
            Opset::Ios17 => "ios17",
            Opset::Ios18 => "ios18",
        }
    }

    /// The iOS major version number.
    pub const fn ios_version(self) -> u32 {
        match self {
            Opset::Ios15 => 15,
            Opset::Ios16 => 16,
            Opset::Ios17 => 17,
            Opset::Ios18 => 18,
        }
    }
}

impl fmt::Display for Opset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// How an opset tag written in text (`ios17`, `ios26`) maps onto the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OpsetTag {
    /// One of the four opsets the registry describes.
    Known(Opset),
    /// A newer tag (e.g. `ios26`, coremltools' CoreML9, never seen in a file). It is checked as
    /// [`Opset::Ios18`], the newest opset the registry knows: ops added after iOS18 are reported
    /// as unknown rather than guessed at.
    Newer(u32),
}

impl OpsetTag {
    /// Parse `iosNN`; `None` for anything else (including opsets older than ios15).
    pub fn parse(text: &str) -> Option<OpsetTag> {
        let n: u32 = text.strip_prefix("ios")?.parse().ok()?;
        Some(match n {
            15 => OpsetTag::Known(Opset::Ios15),
            16 => OpsetTag::Known(Opset::Ios16),
            17 => OpsetTag::Known(Opset::Ios17),
            18 => OpsetTag::Known(Opset::Ios18),
            n if n > 18 => OpsetTag::Newer(n),
            _ => return None,
        })
    }

    /// The registry opset used for checking.
    pub const fn effective(self) -> Opset {
        match self {
            OpsetTag::Known(o) => o,
            OpsetTag::Newer(_) => Opset::Ios18,
        }
    }
}

/// The coremltools source family of an op's first definition (mil-text.md §6.1–§6.21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Activation,
    Classify,
    Compression,
    ConstexprOps,
    ControlFlow,
    Conv,
    ElementwiseBinary,
    ElementwiseUnary,
    ImageResizing,
    Linear,
    Normalization,
    Pool,
    QuantizationOps,
    Random,
    Recurrent,
    Reduction,
    ScatterGather,
    States,
    TensorOperation,
    TensorTransformation,
    Transformers,
    /// Ops seen only in compiler analysis dumps (`tensor_buffer_to_tensor`, ...).
    AnalysisDump,
}

/// Where an op comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpOrigin {
    /// In coremltools 9.0's `SSAOpRegistry` for iOS15–iOS18.
    Registry,
    /// In the registry but coremltools-internal; never serialized (`_const_symbolic`).
    Internal,
    /// Seen in MIL text but not in the registry (mil-text.md §6.22).
    TextOnly,
}

/// A set of element types, as a bit mask over [`DType`] discriminants.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DTypeSet(u32);

impl DTypeSet {
    pub const fn of(dtypes: &[DType]) -> DTypeSet {
        let mut bits = 0u32;
        let mut rest = dtypes;
        while let [first, tail @ ..] = rest {
            bits |= 1 << (*first as u32);
            rest = tail;
        }
        DTypeSet(bits)
    }
    pub const fn union(self, other: DTypeSet) -> DTypeSet {
        DTypeSet(self.0 | other.0)
    }
    pub const fn contains(self, d: DType) -> bool {
        self.0 & (1 << (d as u32)) != 0
    }
    /// Every dtype.
    pub const fn is_any(self) -> bool {
        self.0 == ANY.0
    }
    /// The members, in [`anekit_core::dtype::ALL_DTYPES`] order.
    pub fn members(self) -> impl Iterator<Item = DType> {
        anekit_core::dtype::ALL_DTYPES
            .into_iter()
            .filter(move |d| self.contains(*d))
    }
}

impl fmt::Debug for DTypeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for DTypeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_any() {
            return f.write_str("any");
        }
        let names: Vec<&str> = self.members().map(DType::mil_name).collect();
        f.write_str(&names.join("|"))
    }
}

impl Serialize for DTypeSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.members().map(DType::mil_name))
    }
}

use DType as D;
/// Every element type.
pub const ANY: DTypeSet = DTypeSet((1 << 22) - 1);
/// Floating-point tensors of MIL compute (fp16, fp32; bf16 and fp64 are storage-only).
pub const FLOAT: DTypeSet = DTypeSet::of(&[D::Fp16, D::Fp32]);
/// Integer types used for indices, axes and shapes (iOS17 widened several ops to 8/16-bit).
pub const INT: DTypeSet = DTypeSet::of(&[
    D::Int8,
    D::Int16,
    D::Int32,
    D::Int64,
    D::Uint8,
    D::Uint16,
    D::Uint32,
    D::Uint64,
]);
/// Numeric compute types.
pub const NUMERIC: DTypeSet = FLOAT.union(INT);
pub const BOOL: DTypeSet = DTypeSet::of(&[D::Bool]);
pub const STRING: DTypeSet = DTypeSet::of(&[D::String]);
/// Element types of tensors that the compute ops accept (everything but strings).
pub const TENSOR: DTypeSet = NUMERIC.union(BOOL);
/// Parameters MIL spells as int32 (axes, strides, pads, groups ...); int64 accepted too.
pub const I32: DTypeSet = DTypeSet::of(&[D::Int32, D::Int64]);
/// Stored (possibly sub-byte) constexpr data.
pub const STORED: DTypeSet = DTypeSet::of(&[
    D::Int4,
    D::Int8,
    D::Uint1,
    D::Uint2,
    D::Uint3,
    D::Uint4,
    D::Uint6,
    D::Uint8,
    D::Fp16,
    D::Fp32,
    D::Bf16,
    D::Int16,
    D::Uint16,
    D::Int32,
    D::Uint32,
]);

/// What kind of value an input takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// A tensor (scalars are rank-0 tensors).
    Tensor,
    /// A tuple of tensors written `(a, b, ...)` (concat, stack, einsum ...).
    Variadic,
    /// A `list<...>` value.
    List,
    /// A `state<...>` value (iOS18 stateful models).
    State,
    /// A `tensor_buffer<...>` value (analysis dumps).
    TensorBuffer,
    /// A nested block (`cond`, `while_loop`); control flow is not supported by anekit's text path.
    Block,
    /// Anything (loop variables).
    Any,
}

/// One input of an op.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct InputDef {
    pub name: &'static str,
    pub optional: bool,
    /// Must be a constant (inline literal, `const` or `constexpr_*` result) in coremltools'
    /// definition. Only marked where the definition is clear; unmarked inputs are not checked.
    pub must_be_const: bool,
    pub kind: InputKind,
    /// Allowed element types. Deliberately generous (iOS17 widened many ops); used to catch
    /// clear errors such as a string fed to a conv, not to reproduce every type domain.
    pub dtypes: DTypeSet,
}

impl InputDef {
    pub const fn required(name: &'static str, dtypes: DTypeSet) -> InputDef {
        InputDef {
            name,
            optional: false,
            must_be_const: false,
            kind: InputKind::Tensor,
            dtypes,
        }
    }
    pub const fn optional(name: &'static str, dtypes: DTypeSet) -> InputDef {
        InputDef {
            optional: true,
            ..InputDef::required(name, dtypes)
        }
    }
    pub const fn konst(self) -> InputDef {
        InputDef {
            must_be_const: true,
            ..self
        }
    }
    pub const fn kind(self, kind: InputKind) -> InputDef {
        InputDef { kind, ..self }
    }
}

/// The input list from opset `since` on (until the next entry).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Signature {
    pub since: Opset,
    pub inputs: &'static [InputDef],
}

/// How many results a statement of this op binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutputCount {
    pub min: u32,
    /// `None`: any number (split, control flow).
    pub max: Option<u32>,
}

impl OutputCount {
    pub const ONE: OutputCount = OutputCount {
        min: 1,
        max: Some(1),
    };
    pub fn accepts(self, n: usize) -> bool {
        n as u64 >= u64::from(self.min) && self.max.is_none_or(|m| n as u64 <= u64::from(m))
    }
}

impl fmt::Display for OutputCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max {
            Some(m) if m == self.min => write!(f, "{m}"),
            Some(m) => write!(f, "{}..{m}", self.min),
            None => write!(f, "at least {}", self.min),
        }
    }
}

/// One MIL op: the single place later layers attach to.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OpDef {
    pub name: &'static str,
    pub category: Category,
    pub origin: OpOrigin,
    /// The opset that introduced the op.
    pub since: Opset,
    /// Input lists, ascending by opset; the first has `since == self.since`. A new entry only
    /// where an opset changed the input names (mil-text.md §6 "Later", §7).
    pub signatures: &'static [Signature],
    /// Opsets that redefined the op without changing input names ("same" in §6: wider dtypes
    /// or relaxed const-ness).
    pub redefined_same: &'static [Opset],
    pub outputs: OutputCount,
    /// Before iOS18, constexpr operands are written in the attribute list (mil-text.md §4.2).
    pub operands_in_attributes_before_ios18: bool,
    /// Type/shape inference; `None` means declared result types are trusted and reported as
    /// unchecked (an info note).
    #[serde(skip)]
    pub infer: Option<InferFn>,
}

impl OpDef {
    /// The input list in force in `opset`, or `None` when the op does not exist there yet.
    pub fn signature(&self, opset: Opset) -> Option<&'static Signature> {
        self.signatures.iter().rev().find(|s| s.since <= opset)
    }

    pub fn available_in(&self, opset: Opset) -> bool {
        self.since <= opset
    }

    /// The input named `name` in `opset`.
    pub fn input(&self, opset: Opset, name: &str) -> Option<&'static InputDef> {
        self.signature(opset)?
            .inputs
            .iter()
            .find(|i| i.name == name)
    }

    /// Opsets in which an input of this name exists (for "not available in this opset" notes).
    pub fn opsets_with_input(&self, name: &str) -> Vec<Opset> {
        Opset::ALL
            .into_iter()
            .filter(|o| self.input(*o, name).is_some())
            .collect()
    }

    /// Every opset that (re)defines the op, ascending.
    pub fn definitions(&self) -> Vec<Opset> {
        let mut v: Vec<Opset> = self.signatures.iter().map(|s| s.since).collect();
        v.extend(self.redefined_same.iter().copied());
        v.sort();
        v.dedup();
        v
    }
}

/// The registry entry for `name` (registry ops and text-only ops).
pub fn lookup(name: &str) -> Option<&'static OpDef> {
    static INDEX: LazyLock<HashMap<&'static str, &'static OpDef>> =
        LazyLock::new(|| OPS.iter().map(|op| (op.name, op)).collect());
    INDEX.get(name).copied()
}

/// The ops of coremltools' registry available in `opset`.
pub fn registry_ops_in(opset: Opset) -> impl Iterator<Item = &'static OpDef> {
    OPS.iter()
        .filter(move |op| op.origin != OpOrigin::TextOnly && op.available_in(opset))
}
