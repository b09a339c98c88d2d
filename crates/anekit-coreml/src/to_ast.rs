//! MIL protobuf (`Model.mlProgram`) → the MIL text syntax tree ([`anekit_mil::ast::Program`]).
//!
//! The mapping (docs/coreml.md has the table):
//! * opset `CoreML5..CoreML9` → `ios15`, `ios16`, `ios17`, `ios18`, `ios26` (mil-blob.md §6);
//!   unknown opset strings are kept verbatim;
//! * the function body is the block specialization of the function's own opset;
//! * `Operation.inputs` → arguments (one name binding → a name, one value binding → an inline
//!   literal, variadic inputs and several bindings → a tuple), `Operation.attributes` →
//!   statement attributes (so `const`'s `val` and the pre-iOS18 constexpr operands stay
//!   attributes, as in the text, mil-text.md §4.2);
//! * immediate values → literals (rank 0 → a scalar literal, rank ≥ 1 → a flat array; `bytes`
//!   payloads of fp16, int8, uint8, uint32 and the sub-byte types are unpacked per element);
//! * `blobFileValue{fileName, offset}` → `BLOBFILE(path = "@model_path/weights/<file>", offset)`;
//! * `write_state(input, data)` + `read_state(input)` (how coremltools serialises
//!   `coreml_update_state`, mil-blob.md §5.1) → one `coreml_update_state(state, value)`;
//! * arguments and attributes are sorted canonically (byte order of names).

use crate::error::{CoremlError, Result};
use crate::proto;
use anekit_core::DType;
use anekit_mil::ast::{
    self, ArgValue, Argument, Array, Attribute, BlobFile, DictEntry, Dim, Elements, Float, Ident,
    Literal, Param, Payload, PayloadKind, Span, Statement, Type, TypeKind,
};
use std::collections::HashMap;

/// Inputs that are variadic (a tuple in the text even with one element). Mirrors the
/// `Variadic` inputs of the anekit-ir op registry.
const VARIADIC_INPUTS: &[(&str, &str)] = &[
    ("concat", "values"),
    ("stack", "values"),
    ("einsum", "values"),
    ("reshape_like", "ref_tensors"),
    ("while_loop", "loop_vars"),
];

/// Most values a single immediate tensor may hold (guards the flat-array allocation).
pub const MAX_IMMEDIATE_ELEMENTS: u64 = 1 << 28;

/// `s` as a MIL identifier (`[A-Za-z_][A-Za-z0-9_]*`, mil-text.md §3.1): names from the proto
/// are written into the text verbatim, so anything else would print unparseable text.
pub fn ident(s: &str, path: &str, what: &str) -> Result<Ident> {
    let mut chars = s.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(Ident::new(s))
    } else {
        Err(CoremlError::program(
            path,
            format!("{what} {s:?} is not a MIL identifier ([A-Za-z_][A-Za-z0-9_]*)"),
        ))
    }
}

/// The text opset tag of a proto opset string (`CoreML7` → `ios17`).
pub fn text_opset(proto_opset: &str) -> Option<&'static str> {
    Some(match proto_opset {
        "CoreML5" => "ios15",
        "CoreML6" => "ios16",
        "CoreML7" => "ios17",
        "CoreML8" => "ios18",
        "CoreML9" => "ios26",
        _ => return None,
    })
}

/// The proto opset string of a text opset tag (`ios17` → `CoreML7`).
pub fn proto_opset(text_opset: &str) -> Option<&'static str> {
    Some(match text_opset {
        "ios15" => "CoreML5",
        "ios16" => "CoreML6",
        "ios17" => "CoreML7",
        "ios18" => "CoreML8",
        "ios26" => "CoreML9",
        _ => return None,
    })
}

/// The dialect Apple's compiler most likely writes for these opsets: `1.0` when every function
/// is iOS15/iOS16, else `1.3` (mil-text.md §2: the choice follows the compiler and target).
pub fn default_dialect(program: &proto::Program) -> ast::Dialect {
    let old = program
        .functions
        .values()
        .all(|f| matches!(f.opset.as_str(), "CoreML5" | "CoreML6"));
    if old && !program.functions.is_empty() {
        ast::Dialect::V1_0
    } else {
        ast::Dialect::V1_3
    }
}

/// Options of [`program_to_ast`].
#[derive(Clone, Copy, Debug)]
pub struct ToAstOptions {
    /// The dialect written in the header (the printer converts scalar spellings).
    pub dialect: ast::Dialect,
}

/// Convert an ML Program. Functions come in name order (the proto stores them in a map).
pub fn program_to_ast(program: &proto::Program, options: &ToAstOptions) -> Result<ast::Program> {
    let mut attributes = Vec::new();
    for (name, value) in &program.attributes {
        let path = format!("mlProgram.attributes[{name}]");
        attributes.push(Attribute {
            name: ident(name, &path, "program attribute")?,
            value: value_to_literal(value, &path)?,
            span: Span::default(),
        });
    }
    let mut functions = Vec::new();
    for (name, f) in &program.functions {
        functions.push(function_to_ast(name, f)?);
    }
    let mut out = ast::Program {
        version: ast::Version {
            text: options.dialect.version().to_string(),
            span: Span::default(),
        },
        attributes,
        functions,
        trailing_newline: false,
        span: Span::default(),
    };
    out.sort_canonical();
    Ok(out)
}

fn function_to_ast(name: &str, f: &proto::Function) -> Result<ast::Function> {
    let path = format!("mlProgram.functions[{name}]");
    let opset = text_opset(&f.opset).map_or_else(|| f.opset.clone(), str::to_string);
    let block = f.block_specializations.get(&f.opset).ok_or_else(|| {
        let have: Vec<&String> = f.block_specializations.keys().collect();
        CoremlError::program(
            &path,
            format!(
                "no block specialization for the function's opset {:?} (have {have:?})",
                f.opset
            ),
        )
    })?;
    let mut types: HashMap<String, Type> = HashMap::new();
    let mut params = Vec::new();
    for (i, input) in f.inputs.iter().enumerate() {
        let p = named_value_type(input, &format!("{path}.inputs[{i}]"))?;
        types.insert(p.name.name.to_string(), p.ty.clone());
        params.push(p);
    }
    let mut attributes = Vec::new();
    for (k, v) in &f.attributes {
        attributes.push(Attribute {
            name: ident(k, &path, "function attribute")?,
            value: value_to_literal(v, &format!("{path}.attributes[{k}]"))?,
            span: Span::default(),
        });
    }
    let bpath = format!("{path}.block_specializations[{}]", f.opset);
    if !block.inputs.is_empty() {
        return Err(CoremlError::program(
            &bpath,
            "a function body block with inputs has no MIL text form",
        ));
    }
    let body = block_to_ast(block, &bpath, &mut types)?;
    Ok(ast::Function {
        name: ident(name, &path, "function name")?,
        opset: ident(&opset, &path, "opset")?,
        params,
        attributes,
        body,
        span: Span::default(),
    })
}

fn block_to_ast(
    block: &proto::Block,
    path: &str,
    types: &mut HashMap<String, Type>,
) -> Result<ast::Block> {
    let mut statements = Vec::new();
    let ops = &block.operations;
    let mut i = 0;
    while let Some(op) = ops.get(i) {
        let opath = format!("{path}.operations[{i}] ({})", op.r#type);
        if op.r#type == "write_state" {
            let next = ops.get(i + 1);
            let (s, used) = update_state(op, next, &opath, types)?;
            for r in &s.results {
                types.insert(r.name.name.to_string(), r.ty.clone());
            }
            statements.push(s);
            i += used;
            continue;
        }
        let s = operation_to_ast(op, &opath)?;
        for r in &s.results {
            types.insert(r.name.name.to_string(), r.ty.clone());
        }
        statements.push(s);
        i += 1;
    }
    Ok(ast::Block {
        statements,
        outputs: block
            .outputs
            .iter()
            .map(|o| ident(o, path, "block output"))
            .collect::<Result<_>>()?,
        span: Span::default(),
    })
}

fn single_name<'a>(op: &'a proto::Operation, param: &str) -> Option<&'a str> {
    let arg = op.inputs.get(param)?;
    match arg.arguments.as_slice() {
        [
            proto::Binding {
                binding: Some(proto::BindingKind::Name(n)),
            },
        ] => Some(n),
        _ => None,
    }
}

/// `write_state(input = S, data = D)` [+ `read_state(input = S)`] → `coreml_update_state`.
/// Returns the statement and how many operations it consumed.
fn update_state(
    write: &proto::Operation,
    next: Option<&proto::Operation>,
    path: &str,
    types: &HashMap<String, Type>,
) -> Result<(Statement, usize)> {
    let state = single_name(write, "input")
        .ok_or_else(|| CoremlError::program(path, "write_state needs one named `input`"))?;
    let data = single_name(write, "data")
        .ok_or_else(|| CoremlError::program(path, "write_state needs one named `data`"))?;
    let named = |n: &str| -> Result<ArgValue> { Ok(ArgValue::Name(ident(n, path, "value name")?)) };
    let args = vec![
        Argument {
            name: Ident::new("state"),
            value: named(state)?,
            span: Span::default(),
        },
        Argument {
            name: Ident::new("value"),
            value: named(data)?,
            span: Span::default(),
        },
    ];
    if let Some(read) = next
        && read.r#type == "read_state"
        && single_name(read, "input") == Some(state)
    {
        let mut s = operation_to_ast(read, path)?;
        s.op = Ident::new("coreml_update_state");
        s.args = args;
        s.sort_args();
        return Ok((s, 2));
    }
    // No read_state follows: the update's result is unused. MIL text needs a result, so it
    // gets the name coremltools gave the op (the write_state name minus `_write_state`).
    let wname = write
        .attributes
        .get("name")
        .and_then(|v| value_to_literal(v, path).ok())
        .and_then(|l| l.as_str().map(str::to_string));
    let rname = wname
        .as_deref()
        .map(|n| n.strip_suffix("_write_state").unwrap_or(n).to_string())
        .unwrap_or_else(|| format!("{state}_updated"));
    let ty = match types.get(state).map(|t| &t.kind) {
        Some(TypeKind::State(inner)) => (**inner).clone(),
        _ => {
            return Err(CoremlError::program(
                path,
                format!("write_state input {state:?} is not a known state<...> value"),
            ));
        }
    };
    let attributes = vec![Attribute {
        name: Ident::new("name"),
        value: string_literal(&rname),
        span: Span::default(),
    }];
    let mut s = Statement {
        results: vec![Param {
            ty,
            name: ident(&rname, path, "state update result")?,
            span: Span::default(),
        }],
        op: Ident::new("coreml_update_state"),
        op_opset: None,
        args,
        attributes,
        blocks: Vec::new(),
        span: Span::default(),
    };
    s.sort_args();
    Ok((s, 1))
}

trait SortArgs {
    fn sort_args(&mut self);
}

impl SortArgs for Statement {
    fn sort_args(&mut self) {
        self.args
            .sort_by(|a, b| a.name.name.as_bytes().cmp(b.name.name.as_bytes()));
        self.attributes
            .sort_by(|a, b| a.name.name.as_bytes().cmp(b.name.name.as_bytes()));
    }
}

fn operation_to_ast(op: &proto::Operation, path: &str) -> Result<Statement> {
    if !op.blocks.is_empty() {
        return Err(CoremlError::program(
            path,
            "nested blocks (control flow) are not converted: their MIL text form is unknown (mil-text.md §4.2)",
        ));
    }
    if op.r#type.is_empty() {
        return Err(CoremlError::program(path, "operation without a type"));
    }
    let mut results = Vec::new();
    for (i, o) in op.outputs.iter().enumerate() {
        results.push(named_value_type(o, &format!("{path}.outputs[{i}]"))?);
    }
    if results.is_empty() {
        return Err(CoremlError::program(
            path,
            "an operation without outputs has no MIL text form (a statement needs a result)",
        ));
    }
    let mut args = Vec::new();
    for (pname, arg) in &op.inputs {
        let apath = format!("{path}.inputs[{pname}]");
        let variadic = VARIADIC_INPUTS
            .iter()
            .any(|(o, p)| *o == op.r#type && *p == pname);
        let mut items = Vec::new();
        for (j, b) in arg.arguments.iter().enumerate() {
            items.push(binding(b, &format!("{apath}.arguments[{j}]"))?);
        }
        let value = if items.len() == 1 && !variadic {
            items
                .pop()
                .ok_or_else(|| CoremlError::program(&apath, "empty"))?
        } else {
            ArgValue::Tuple {
                items,
                span: Span::default(),
            }
        };
        args.push(Argument {
            name: ident(pname, &apath, "parameter name")?,
            value,
            span: Span::default(),
        });
    }
    let mut attributes = Vec::new();
    for (k, v) in &op.attributes {
        attributes.push(Attribute {
            name: ident(k, path, "attribute name")?,
            value: value_to_literal(v, &format!("{path}.attributes[{k}]"))?,
            span: Span::default(),
        });
    }
    let mut s = Statement {
        results,
        op: ident(&op.r#type, path, "operation type")?,
        op_opset: None,
        args,
        attributes,
        blocks: Vec::new(),
        span: Span::default(),
    };
    s.sort_args();
    Ok(s)
}

fn binding(b: &proto::Binding, path: &str) -> Result<ArgValue> {
    match &b.binding {
        Some(proto::BindingKind::Name(n)) => {
            if n.is_empty() {
                return Err(CoremlError::program(path, "empty value name"));
            }
            Ok(ArgValue::Name(ident(n, path, "value name")?))
        }
        Some(proto::BindingKind::Value(v)) => Ok(ArgValue::Literal(value_to_literal(v, path)?)),
        None => Err(CoremlError::program(
            path,
            "binding with neither name nor value",
        )),
    }
}

fn named_value_type(n: &proto::NamedValueType, path: &str) -> Result<Param> {
    if n.name.is_empty() {
        return Err(CoremlError::program(path, "value without a name"));
    }
    let ty = n
        .r#type
        .as_ref()
        .ok_or_else(|| CoremlError::program(path, "value without a type"))?;
    Ok(Param {
        ty: value_type(ty, &format!("{path}.type"))?,
        name: ident(&n.name, path, "value name")?,
        span: Span::default(),
    })
}

/// Nesting limit for types and values (prost already stops at 100 message levels).
const MAX_NESTING: usize = 64;

/// A proto `ValueType` as an AST type. Rank-0 tensors become [`TypeKind::Scalar`].
pub fn value_type(t: &proto::ValueType, path: &str) -> Result<Type> {
    value_type_at(t, path, 0)
}

fn value_type_at(t: &proto::ValueType, path: &str, depth: usize) -> Result<Type> {
    if depth > MAX_NESTING {
        return Err(CoremlError::program(path, "types nested too deeply"));
    }
    let sub = |t: Option<&proto::ValueType>, what: &str| -> Result<Type> {
        let p = format!("{path}.{what}");
        let t = t.ok_or_else(|| CoremlError::program(&p, "missing type"))?;
        value_type_at(t, &p, depth + 1)
    };
    let kind = match &t.r#type {
        Some(proto::ValueTypeKind::TensorType(tt)) => {
            let dtype = tensor_dtype(tt.data_type, path)?;
            let shape = tensor_shape(tt, path)?;
            if shape.is_empty() {
                TypeKind::Scalar(dtype)
            } else {
                TypeKind::Tensor { dtype, shape }
            }
        }
        Some(proto::ValueTypeKind::ListType(l)) => {
            let len = match l.length.as_ref().and_then(|d| d.dimension.as_ref()) {
                Some(proto::DimensionKind::Constant(c)) => Dim::Known(c.size),
                _ => Dim::Unknown,
            };
            TypeKind::List {
                elem: Box::new(sub(l.r#type.as_deref(), "listType.type")?),
                len,
            }
        }
        Some(proto::ValueTypeKind::TupleType(tt)) => {
            let mut items = Vec::new();
            for (i, x) in tt.types.iter().enumerate() {
                items.push(sub(Some(x), &format!("tupleType.types[{i}]"))?);
            }
            TypeKind::Tuple(items)
        }
        Some(proto::ValueTypeKind::DictionaryType(d)) => TypeKind::Dict {
            key: Box::new(sub(d.key_type.as_deref(), "dictionaryType.keyType")?),
            value: Box::new(sub(d.value_type.as_deref(), "dictionaryType.valueType")?),
        },
        Some(proto::ValueTypeKind::StateType(s)) => TypeKind::State(Box::new(sub(
            s.wrapped_type.as_deref(),
            "stateType.wrappedType",
        )?)),
        None => return Err(CoremlError::program(path, "ValueType with no type set")),
    };
    Ok(Type::new(kind))
}

fn tensor_dtype(data_type: i32, path: &str) -> Result<DType> {
    proto::dtype_of(data_type).ok_or_else(|| {
        CoremlError::program(
            path,
            format!(
                "unknown or unset MIL DataType {data_type} (known: 1, 2, 10..13, 21..25, 31..41)"
            ),
        )
    })
}

fn tensor_shape(tt: &proto::TensorType, path: &str) -> Result<Vec<Dim>> {
    if tt.rank < 0 {
        return Err(CoremlError::program(
            path,
            format!(
                "tensor of unknown rank (rank {}): the MIL text syntax tree has no unknown-rank tensor type",
                tt.rank
            ),
        ));
    }
    if tt.dimensions.len() as u64 != tt.rank as u64 {
        return Err(CoremlError::program(
            path,
            format!(
                "tensorType.rank is {} but {} dimensions are given",
                tt.rank,
                tt.dimensions.len()
            ),
        ));
    }
    let mut shape = Vec::with_capacity(tt.dimensions.len());
    for (i, d) in tt.dimensions.iter().enumerate() {
        shape.push(match &d.dimension {
            Some(proto::DimensionKind::Constant(c)) => Dim::Known(c.size),
            Some(proto::DimensionKind::Unknown(u)) => {
                if u.variadic {
                    return Err(CoremlError::program(
                        format!("{path}.dimensions[{i}]"),
                        "variadic unknown dimension: no MIL text form",
                    ));
                }
                Dim::Unknown
            }
            None => {
                return Err(CoremlError::program(
                    format!("{path}.dimensions[{i}]"),
                    "dimension with neither constant nor unknown set",
                ));
            }
        });
    }
    Ok(shape)
}

fn string_literal(s: &str) -> Literal {
    Literal {
        ty: Type::new(TypeKind::Scalar(DType::String)),
        value: payload(PayloadKind::Str(s.into())),
        span: Span::default(),
    }
}

fn payload(kind: PayloadKind) -> Payload {
    Payload {
        kind,
        span: Span::default(),
    }
}

/// A proto `Value` (with its type) as a typed literal.
pub fn value_to_literal(v: &proto::Value, path: &str) -> Result<Literal> {
    let t = v
        .r#type
        .as_deref()
        .ok_or_else(|| CoremlError::program(path, "value without a type"))?;
    let ty = value_type(t, &format!("{path}.type"))?;
    let value = value_payload(v, t, path, 0)?;
    Ok(Literal {
        ty,
        value,
        span: Span::default(),
    })
}

fn value_payload(
    v: &proto::Value,
    t: &proto::ValueType,
    path: &str,
    depth: usize,
) -> Result<Payload> {
    if depth > MAX_NESTING {
        return Err(CoremlError::program(path, "values nested too deeply"));
    }
    match &v.value {
        Some(proto::ValueKind::BlobFileValue(b)) => {
            let Some(proto::ValueTypeKind::TensorType(_)) = &t.r#type else {
                return Err(CoremlError::program(
                    path,
                    "blobFileValue of a non-tensor type",
                ));
            };
            let file = blob_file_name(&b.file_name).ok_or_else(|| {
                CoremlError::program(
                    path,
                    format!(
                        "blobFileValue.fileName {:?} is not a weight file path",
                        b.file_name
                    ),
                )
            })?;
            Ok(payload(PayloadKind::Blob(Box::new(BlobFile {
                path: string_literal(&format!("@model_path/weights/{file}")),
                offset: Literal {
                    ty: Type::new(TypeKind::Scalar(DType::Uint64)),
                    value: payload(PayloadKind::Int(i128::from(b.offset))),
                    span: Span::default(),
                },
                span: Span::default(),
            }))))
        }
        Some(proto::ValueKind::ImmediateValue(iv)) => immediate(iv, t, path, depth),
        None => Err(CoremlError::program(
            path,
            "value with neither immediateValue nor blobFileValue",
        )),
    }
}

/// The weight-file name of a `blobFileValue.fileName` (`@model_path/weights/weight.bin` →
/// `weight.bin`). Only plain file names under `weights/` are accepted (no `..`, no folders).
pub fn blob_file_name(file_name: &str) -> Option<&str> {
    let rest = file_name.strip_prefix("@model_path/weights/")?;
    let ok = !rest.is_empty()
        && rest != "."
        && rest != ".."
        && !rest.contains('/')
        && !rest.contains('\\')
        && !rest.contains('\0');
    ok.then_some(rest)
}

fn immediate(
    iv: &proto::ImmediateValue,
    t: &proto::ValueType,
    path: &str,
    depth: usize,
) -> Result<Payload> {
    match (&iv.value, &t.r#type) {
        (
            Some(proto::ImmediateValueKind::Tensor(tv)),
            Some(proto::ValueTypeKind::TensorType(tt)),
        ) => tensor_payload(tv, tt, path),
        (Some(proto::ImmediateValueKind::Tuple(tv)), Some(proto::ValueTypeKind::TupleType(tt))) => {
            if tv.values.len() != tt.types.len() {
                return Err(CoremlError::program(
                    path,
                    format!(
                        "tuple of {} values but its type has {}",
                        tv.values.len(),
                        tt.types.len()
                    ),
                ));
            }
            let mut items = Vec::new();
            for (i, (x, xt)) in tv.values.iter().zip(&tt.types).enumerate() {
                items.push(value_payload(
                    x,
                    xt,
                    &format!("{path}.tuple[{i}]"),
                    depth + 1,
                )?);
            }
            Ok(payload(PayloadKind::Tuple(items)))
        }
        (Some(proto::ImmediateValueKind::List(lv)), Some(proto::ValueTypeKind::ListType(lt))) => {
            let et = lt
                .r#type
                .as_deref()
                .ok_or_else(|| CoremlError::program(path, "list type without an element type"))?;
            let mut items = Vec::new();
            for (i, x) in lv.values.iter().enumerate() {
                items.push(value_payload(
                    x,
                    et,
                    &format!("{path}.list[{i}]"),
                    depth + 1,
                )?);
            }
            Ok(payload(PayloadKind::List(items)))
        }
        (
            Some(proto::ImmediateValueKind::Dictionary(dv)),
            Some(proto::ValueTypeKind::DictionaryType(dt)),
        ) => {
            let kt = dt
                .key_type
                .as_deref()
                .ok_or_else(|| CoremlError::program(path, "dict without a key type"))?;
            let vt = dt
                .value_type
                .as_deref()
                .ok_or_else(|| CoremlError::program(path, "dict without a value type"))?;
            let mut entries = Vec::new();
            for (i, kv) in dv.values.iter().enumerate() {
                let p = format!("{path}.dictionary[{i}]");
                let k = kv
                    .key
                    .as_deref()
                    .ok_or_else(|| CoremlError::program(&p, "entry without key"))?;
                let v = kv
                    .value
                    .as_deref()
                    .ok_or_else(|| CoremlError::program(&p, "entry without value"))?;
                entries.push(DictEntry {
                    key: value_payload(k, kt, &format!("{p}.key"), depth + 1)?,
                    value: value_payload(v, vt, &format!("{p}.value"), depth + 1)?,
                    span: Span::default(),
                });
            }
            Ok(payload(PayloadKind::Dict(entries)))
        }
        (None, _) => Err(CoremlError::program(
            path,
            "immediateValue with nothing set",
        )),
        _ => Err(CoremlError::program(
            path,
            "immediateValue kind does not match its type",
        )),
    }
}

fn tensor_payload(tv: &proto::TensorValue, tt: &proto::TensorType, path: &str) -> Result<Payload> {
    let dtype = tensor_dtype(tt.data_type, path)?;
    let dims = tensor_shape(tt, path)?;
    let mut shape = Vec::with_capacity(dims.len());
    for d in &dims {
        match d {
            Dim::Known(n) => shape.push(
                usize::try_from(*n)
                    .map_err(|_| CoremlError::program(path, "dimension too large"))?,
            ),
            Dim::Unknown => {
                return Err(CoremlError::program(
                    path,
                    "immediate tensor value with an unknown dimension",
                ));
            }
        }
    }
    let count = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&n| n <= MAX_IMMEDIATE_ELEMENTS)
        .ok_or_else(|| {
            CoremlError::program(path, format!("immediate tensor of shape {shape:?} is too large (limit {MAX_IMMEDIATE_ELEMENTS} elements)"))
        })?;
    let n = count as usize;
    let floats = |v: Vec<f64>| Elements::Float(v.into_iter().map(Float).collect());
    let elements = match &tv.value {
        Some(proto::TensorValueKind::Floats(f)) => {
            floats(f.values.iter().map(|&x| f64::from(x)).collect())
        }
        Some(proto::TensorValueKind::Doubles(f)) => floats(f.values.clone()),
        Some(proto::TensorValueKind::Ints(v)) => {
            Elements::Int(v.values.iter().map(|&x| i128::from(x)).collect())
        }
        Some(proto::TensorValueKind::LongInts(v)) => {
            // uint64 values travel as int64 bit patterns.
            if dtype == DType::Uint64 {
                Elements::Int(v.values.iter().map(|&x| i128::from(x as u64)).collect())
            } else {
                Elements::Int(v.values.iter().map(|&x| i128::from(x)).collect())
            }
        }
        Some(proto::TensorValueKind::Bools(v)) => Elements::Bool(v.values.clone()),
        Some(proto::TensorValueKind::Strings(v)) => Elements::Str(v.values.clone()),
        Some(proto::TensorValueKind::Bytes(b)) => bytes_elements(dtype, &b.values, n, path)?,
        None => {
            return Err(CoremlError::program(
                path,
                "tensor value with no payload field set",
            ));
        }
    };
    if elements.len() != n {
        return Err(CoremlError::program(
            path,
            format!(
                "tensor value holds {} element(s) but its shape {shape:?} has {n}",
                elements.len()
            ),
        ));
    }
    if shape.is_empty() {
        let kind = match elements {
            Elements::Bool(v) => v.first().map(|&b| PayloadKind::Bool(b)),
            Elements::Int(v) => v.first().map(|&i| PayloadKind::Int(i)),
            Elements::Float(v) => v.first().map(|&f| PayloadKind::Float(f)),
            Elements::Str(v) => v.into_iter().next().map(|s| PayloadKind::Str(s.into())),
        };
        let kind = kind.ok_or_else(|| CoremlError::program(path, "scalar without a value"))?;
        return Ok(payload(kind));
    }
    Ok(payload(PayloadKind::Array(Box::new(Array {
        shape,
        elements,
    }))))
}

/// Unpack a `bytes` payload (fp16, bf16, the 8-bit, uint16/int16/uint32/int32 and sub-byte
/// types) into `n` elements. The length is checked before anything is allocated.
fn bytes_elements(dtype: DType, bytes: &[u8], n: usize, path: &str) -> Result<Elements> {
    let bits = dtype.bits().ok_or_else(|| {
        CoremlError::program(path, format!("{dtype} values cannot be stored as bytes"))
    })?;
    let needed = (n as u64).saturating_mul(u64::from(bits)).div_ceil(8);
    if bytes.len() as u64 != needed {
        return Err(CoremlError::program(
            path,
            format!(
                "bytes payload of {} byte(s) for {n} {dtype} element(s) (expected {needed})",
                bytes.len()
            ),
        ));
    }
    let data = if dtype == DType::Bool {
        anekit_core::TensorData::Bool(bytes.iter().map(|&b| b != 0).collect())
    } else if matches!(
        dtype,
        DType::Int64 | DType::Uint64 | DType::Fp64 | DType::String
    ) {
        return Err(CoremlError::program(
            path,
            format!("{dtype} values are never stored as bytes"),
        ));
    } else {
        anekit_blob::pack::decode(dtype, bytes, n)
            .map_err(|e| CoremlError::program(path, e.to_string()))?
    };
    if let Some(f) = data.float_values_f64() {
        return Ok(Elements::Float(f.into_iter().map(Float).collect()));
    }
    if let anekit_core::TensorData::Bool(v) = data {
        return Ok(Elements::Bool(v));
    }
    data.int_values()
        .map(Elements::Int)
        .ok_or_else(|| CoremlError::program(path, format!("cannot unpack {dtype} bytes")))
}
