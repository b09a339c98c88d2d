//! The MIL text syntax tree → a Core ML `Model` protobuf and an `.mlpackage` folder: the inverse
//! of [`crate::to_ast`]. Values are serialised the way coremltools serialises them (fp16, int8,
//! uint8, uint32 and sub-byte tensors in `bytes`, int16/uint16/int32 in `ints`, int64/uint64 in
//! `longInts`), and `coreml_update_state` is split into `write_state` + `read_state`.

use crate::error::{CoremlError, Result};
use crate::proto;
use crate::to_ast;
use anekit_core::{DType, TensorData};
use anekit_mil::ast::{
    self, ArgValue, Dim, Elements, Literal, Payload, PayloadKind, Type, TypeKind,
};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

fn tensor_type(dtype: DType, shape: &[Dim]) -> proto::ValueType {
    proto::ValueType {
        r#type: Some(proto::ValueTypeKind::TensorType(Box::new(
            proto::TensorType {
                data_type: dtype.proto_number() as i32,
                rank: shape.len() as i64,
                dimensions: shape
                    .iter()
                    .map(|d| proto::Dimension {
                        dimension: Some(match d {
                            Dim::Known(n) => {
                                proto::DimensionKind::Constant(proto::ConstantDimension {
                                    size: *n,
                                })
                            }
                            Dim::Unknown => {
                                proto::DimensionKind::Unknown(proto::UnknownDimension {
                                    variadic: false,
                                })
                            }
                        }),
                    })
                    .collect(),
                attributes: BTreeMap::new(),
            },
        ))),
    }
}

/// An AST type as a proto `ValueType`.
pub fn value_type(t: &Type) -> Result<proto::ValueType> {
    Ok(match &t.kind {
        TypeKind::Scalar(d) => tensor_type(*d, &[]),
        TypeKind::Tensor { dtype, shape } => tensor_type(*dtype, shape),
        TypeKind::List { elem, len } => proto::ValueType {
            r#type: Some(proto::ValueTypeKind::ListType(Box::new(proto::ListType {
                r#type: Some(Box::new(value_type(elem)?)),
                length: Some(proto::Dimension {
                    dimension: Some(match len {
                        Dim::Known(n) => {
                            proto::DimensionKind::Constant(proto::ConstantDimension { size: *n })
                        }
                        Dim::Unknown => proto::DimensionKind::Unknown(proto::UnknownDimension {
                            variadic: false,
                        }),
                    }),
                }),
            }))),
        },
        TypeKind::Dict { key, value } => proto::ValueType {
            r#type: Some(proto::ValueTypeKind::DictionaryType(Box::new(
                proto::DictionaryType {
                    key_type: Some(Box::new(value_type(key)?)),
                    value_type: Some(Box::new(value_type(value)?)),
                },
            ))),
        },
        TypeKind::Tuple(items) => proto::ValueType {
            r#type: Some(proto::ValueTypeKind::TupleType(Box::new(
                proto::TupleType {
                    types: items.iter().map(value_type).collect::<Result<_>>()?,
                },
            ))),
        },
        TypeKind::State(inner) => proto::ValueType {
            r#type: Some(proto::ValueTypeKind::StateType(Box::new(
                proto::StateType {
                    wrapped_type: Some(Box::new(value_type(inner)?)),
                },
            ))),
        },
        TypeKind::TensorBuffer { .. } => {
            return Err(CoremlError::program(
                "type",
                "tensor_buffer types (analysis dumps) have no protobuf form",
            ));
        }
    })
}

fn flat_elements(p: &Payload) -> Option<Elements> {
    Some(match &p.kind {
        PayloadKind::Bool(b) => Elements::Bool(vec![*b]),
        PayloadKind::Int(i) => Elements::Int(vec![*i]),
        PayloadKind::Float(f) => Elements::Float(vec![*f]),
        PayloadKind::Str(s) => Elements::Str(vec![s.to_string()]),
        PayloadKind::Array(a) => a.elements.clone(),
        _ => return None,
    })
}

fn tensor_value(dtype: DType, p: &Payload, path: &str) -> Result<proto::TensorValue> {
    let el = flat_elements(p)
        .ok_or_else(|| CoremlError::program(path, "tensor literal with a non-tensor payload"))?;
    let ints = |el: &Elements| -> Result<Vec<i128>> {
        match el {
            Elements::Int(v) => Ok(v.clone()),
            Elements::Bool(v) => Ok(v.iter().map(|&b| i128::from(b)).collect()),
            Elements::Float(v) => Ok(v.iter().map(|f| f.0 as i128).collect()),
            Elements::Str(_) => Err(CoremlError::program(
                path,
                "string payload for a numeric tensor",
            )),
        }
    };
    let floats = |el: &Elements| -> Result<Vec<f64>> {
        match el {
            Elements::Float(v) => Ok(v.iter().map(|f| f.0).collect()),
            Elements::Int(v) => Ok(v.iter().map(|&i| i as f64).collect()),
            _ => Err(CoremlError::program(
                path,
                "non-numeric payload for a float tensor",
            )),
        }
    };
    let range = |v: i128, lo: i128, hi: i128| -> Result<i128> {
        if v < lo || v > hi {
            Err(CoremlError::program(
                path,
                format!("{v} out of range for {dtype}"),
            ))
        } else {
            Ok(v)
        }
    };
    use proto::TensorValueKind as K;
    let bytes = |data: TensorData| -> Result<K> {
        let (b, _) = anekit_blob::pack::encode(&data)
            .map_err(|e| CoremlError::program(path, e.to_string()))?;
        Ok(K::Bytes(proto::RepeatedBytes { values: b }))
    };
    let kind = match dtype {
        DType::Bool => match el {
            Elements::Bool(v) => K::Bools(proto::RepeatedBools { values: v }),
            other => K::Bools(proto::RepeatedBools {
                values: ints(&other)?.into_iter().map(|i| i != 0).collect(),
            }),
        },
        DType::String => match el {
            Elements::Str(v) => K::Strings(proto::RepeatedStrings { values: v }),
            _ => {
                return Err(CoremlError::program(
                    path,
                    "non-string payload for a string tensor",
                ));
            }
        },
        DType::Fp32 => K::Floats(proto::RepeatedFloats {
            values: floats(&el)?.into_iter().map(|f| f as f32).collect(),
        }),
        DType::Fp64 => K::Doubles(proto::RepeatedDoubles {
            values: floats(&el)?,
        }),
        DType::Fp16 => bytes(TensorData::F16(
            floats(&el)?.into_iter().map(half::f16::from_f64).collect(),
        ))?,
        DType::Int64 => K::LongInts(proto::RepeatedLongInts {
            values: ints(&el)?
                .into_iter()
                .map(|i| range(i, i128::from(i64::MIN), i128::from(i64::MAX)).map(|i| i as i64))
                .collect::<Result<_>>()?,
        }),
        DType::Uint64 => K::LongInts(proto::RepeatedLongInts {
            values: ints(&el)?
                .into_iter()
                .map(|i| range(i, 0, i128::from(u64::MAX)).map(|i| i as u64 as i64))
                .collect::<Result<_>>()?,
        }),
        DType::Int32 | DType::Int16 | DType::Uint16 => {
            let (lo, hi) = match dtype {
                DType::Int16 => (i128::from(i16::MIN), i128::from(i16::MAX)),
                DType::Uint16 => (0, i128::from(u16::MAX)),
                _ => (i128::from(i32::MIN), i128::from(i32::MAX)),
            };
            K::Ints(proto::RepeatedInts {
                values: ints(&el)?
                    .into_iter()
                    .map(|i| range(i, lo, hi).map(|i| i as i32))
                    .collect::<Result<_>>()?,
            })
        }
        DType::Int8 => bytes(TensorData::I8(
            ints(&el)?
                .into_iter()
                .map(|i| range(i, -128, 127).map(|i| i as i8))
                .collect::<Result<_>>()?,
        ))?,
        DType::Uint8 => bytes(TensorData::U8(
            ints(&el)?
                .into_iter()
                .map(|i| range(i, 0, 255).map(|i| i as u8))
                .collect::<Result<_>>()?,
        ))?,
        DType::Uint32 => bytes(TensorData::U32(
            ints(&el)?
                .into_iter()
                .map(|i| range(i, 0, i128::from(u32::MAX)).map(|i| i as u32))
                .collect::<Result<_>>()?,
        ))?,
        DType::Int4 => bytes(TensorData::I4(
            ints(&el)?
                .into_iter()
                .map(|i| range(i, -8, 7).map(|i| i as i8))
                .collect::<Result<_>>()?,
        ))?,
        DType::Uint1 | DType::Uint2 | DType::Uint3 | DType::Uint4 | DType::Uint6 => {
            let hi = (1i128 << dtype.bits().unwrap_or(1)) - 1;
            let v: Vec<u8> = ints(&el)?
                .into_iter()
                .map(|i| range(i, 0, hi).map(|i| i as u8))
                .collect::<Result<_>>()?;
            bytes(match dtype {
                DType::Uint1 => TensorData::U1(v),
                DType::Uint2 => TensorData::U2(v),
                DType::Uint3 => TensorData::U3(v),
                DType::Uint4 => TensorData::U4(v),
                _ => TensorData::U6(v),
            })?
        }
        other => {
            return Err(CoremlError::program(
                path,
                format!("{other} immediate values are not written by coremltools"),
            ));
        }
    };
    Ok(proto::TensorValue { value: Some(kind) })
}

fn payload_value(t: &Type, p: &Payload, path: &str) -> Result<proto::Value> {
    let vt = value_type(t)?;
    let immediate = |v: proto::ImmediateValueKind| {
        Some(proto::ValueKind::ImmediateValue(Box::new(
            proto::ImmediateValue { value: Some(v) },
        )))
    };
    let value = match (&t.kind, &p.kind) {
        (TypeKind::Scalar(_) | TypeKind::Tensor { .. }, PayloadKind::Blob(b)) => {
            let file = b.path_str().unwrap_or_default();
            if to_ast::blob_file_name(file).is_none() {
                return Err(CoremlError::program(
                    path,
                    format!("BLOBFILE path {file:?} is not @model_path/weights/<file>"),
                ));
            }
            let offset = b
                .offset_u64()
                .ok_or_else(|| CoremlError::program(path, "BLOBFILE offset is not a u64"))?;
            Some(proto::ValueKind::BlobFileValue(proto::BlobFileValue {
                file_name: file.to_string(),
                offset,
            }))
        }
        (TypeKind::Scalar(d), _) => immediate(proto::ImmediateValueKind::Tensor(tensor_value(
            *d, p, path,
        )?)),
        (TypeKind::Tensor { dtype, .. }, _) => immediate(proto::ImmediateValueKind::Tensor(
            tensor_value(*dtype, p, path)?,
        )),
        (TypeKind::Tuple(types), PayloadKind::Tuple(items)) if types.len() == items.len() => {
            let values = types
                .iter()
                .zip(items)
                .enumerate()
                .map(|(i, (t, x))| payload_value(t, x, &format!("{path}[{i}]")))
                .collect::<Result<_>>()?;
            immediate(proto::ImmediateValueKind::Tuple(Box::new(
                proto::TupleValue { values },
            )))
        }
        (TypeKind::List { elem, .. }, _) => {
            let items: Vec<Payload> = match &p.kind {
                PayloadKind::List(items) => items.clone(),
                PayloadKind::Array(a) if a.shape.len() == 1 => match &a.elements {
                    Elements::Int(v) => v
                        .iter()
                        .map(|&i| Payload {
                            kind: PayloadKind::Int(i),
                            span: Default::default(),
                        })
                        .collect(),
                    Elements::Float(v) => v
                        .iter()
                        .map(|&f| Payload {
                            kind: PayloadKind::Float(f),
                            span: Default::default(),
                        })
                        .collect(),
                    Elements::Bool(v) => v
                        .iter()
                        .map(|&b| Payload {
                            kind: PayloadKind::Bool(b),
                            span: Default::default(),
                        })
                        .collect(),
                    Elements::Str(v) => v
                        .iter()
                        .map(|s| Payload {
                            kind: PayloadKind::Str(s.as_str().into()),
                            span: Default::default(),
                        })
                        .collect(),
                },
                PayloadKind::Array(a) => {
                    // A list of tensors written as one nested bracket literal: split the outer level.
                    let outer = a.shape.first().copied().unwrap_or(0);
                    let inner: Vec<usize> = a.shape.get(1..).unwrap_or(&[]).to_vec();
                    let n: usize = inner.iter().product();
                    (0..outer)
                        .map(|k| {
                            let sl = |r: std::ops::Range<usize>| match &a.elements {
                                Elements::Int(v) => Elements::Int(v.get(r).unwrap_or(&[]).to_vec()),
                                Elements::Float(v) => {
                                    Elements::Float(v.get(r).unwrap_or(&[]).to_vec())
                                }
                                Elements::Bool(v) => {
                                    Elements::Bool(v.get(r).unwrap_or(&[]).to_vec())
                                }
                                Elements::Str(v) => Elements::Str(v.get(r).unwrap_or(&[]).to_vec()),
                            };
                            Payload {
                                kind: PayloadKind::Array(Box::new(ast::Array {
                                    shape: inner.clone(),
                                    elements: sl(k * n..(k + 1) * n),
                                })),
                                span: Default::default(),
                            }
                        })
                        .collect()
                }
                _ => {
                    return Err(CoremlError::program(
                        path,
                        "list literal with a non-list payload",
                    ));
                }
            };
            let values = items
                .iter()
                .enumerate()
                .map(|(i, x)| payload_value(elem, x, &format!("{path}[{i}]")))
                .collect::<Result<_>>()?;
            immediate(proto::ImmediateValueKind::List(Box::new(
                proto::ListValue { values },
            )))
        }
        (TypeKind::Dict { key, value }, PayloadKind::Dict(entries)) => {
            let values = entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    Ok(proto::KeyValuePair {
                        key: Some(Box::new(payload_value(
                            key,
                            &e.key,
                            &format!("{path}[{i}].key"),
                        )?)),
                        value: Some(Box::new(payload_value(
                            value,
                            &e.value,
                            &format!("{path}[{i}].value"),
                        )?)),
                    })
                })
                .collect::<Result<_>>()?;
            immediate(proto::ImmediateValueKind::Dictionary(Box::new(
                proto::DictionaryValue { values },
            )))
        }
        _ => {
            return Err(CoremlError::program(
                path,
                "literal payload does not match its type",
            ));
        }
    };
    Ok(proto::Value {
        doc_string: String::new(),
        r#type: Some(Box::new(vt)),
        value,
    })
}

fn literal_value(l: &Literal, path: &str) -> Result<proto::Value> {
    payload_value(&l.ty, &l.value, path)
}

fn statement_ops(s: &ast::Statement, path: &str) -> Result<Vec<proto::Operation>> {
    if !s.blocks.is_empty() {
        return Err(CoremlError::program(
            path,
            "nested blocks (control flow) are not written",
        ));
    }
    let mut inputs = BTreeMap::new();
    for a in &s.args {
        let apath = format!("{path}.{}", a.name.name);
        let binding = |v: &ArgValue| -> Result<proto::Binding> {
            Ok(proto::Binding {
                binding: Some(match v {
                    ArgValue::Name(n) => proto::BindingKind::Name(n.name.to_string()),
                    ArgValue::Literal(l) => proto::BindingKind::Value(literal_value(l, &apath)?),
                    ArgValue::Tuple { .. } => {
                        return Err(CoremlError::program(&apath, "nested tuple argument"));
                    }
                }),
            })
        };
        let arguments = match &a.value {
            ArgValue::Tuple { items, .. } => items.iter().map(binding).collect::<Result<_>>()?,
            v => vec![binding(v)?],
        };
        inputs.insert(a.name.name.to_string(), proto::Argument { arguments });
    }
    let mut attributes = BTreeMap::new();
    for a in &s.attributes {
        attributes.insert(
            a.name.name.to_string(),
            literal_value(&a.value, &format!("{path}[{}]", a.name.name))?,
        );
    }
    let outputs = s
        .results
        .iter()
        .map(|r| {
            Ok(proto::NamedValueType {
                name: r.name.name.to_string(),
                r#type: Some(value_type(&r.ty)?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if s.op.name == "coreml_update_state" {
        // coremltools: write_state(input = state, data = value) named "<name>_write_state",
        // then read_state(input = state) carrying the result (mil-blob.md §5.1).
        let state = inputs
            .get("state")
            .cloned()
            .ok_or_else(|| CoremlError::program(path, "coreml_update_state without `state`"))?;
        let value = inputs
            .get("value")
            .cloned()
            .ok_or_else(|| CoremlError::program(path, "coreml_update_state without `value`"))?;
        let name = s
            .attribute("name")
            .and_then(|l| l.as_str())
            .unwrap_or_default()
            .to_string();
        let name_value = |n: String| proto::Value {
            doc_string: String::new(),
            r#type: Some(Box::new(tensor_type(DType::String, &[]))),
            value: Some(proto::ValueKind::ImmediateValue(Box::new(
                proto::ImmediateValue {
                    value: Some(proto::ImmediateValueKind::Tensor(proto::TensorValue {
                        value: Some(proto::TensorValueKind::Strings(proto::RepeatedStrings {
                            values: vec![n],
                        })),
                    })),
                },
            ))),
        };
        let write = proto::Operation {
            r#type: "write_state".into(),
            inputs: [
                ("input".to_string(), state.clone()),
                ("data".to_string(), value),
            ]
            .into_iter()
            .collect(),
            attributes: [(
                "name".to_string(),
                name_value(format!("{name}_write_state")),
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let read = proto::Operation {
            r#type: "read_state".into(),
            inputs: [("input".to_string(), state)].into_iter().collect(),
            outputs,
            attributes: [("name".to_string(), name_value(name))]
                .into_iter()
                .collect(),
            ..Default::default()
        };
        return Ok(vec![write, read]);
    }
    Ok(vec![proto::Operation {
        r#type: s.op.name.to_string(),
        inputs,
        outputs,
        blocks: vec![],
        attributes,
    }])
}

/// Convert a program to the proto `Program`.
pub fn program_to_proto(p: &ast::Program) -> Result<proto::Program> {
    let mut functions = BTreeMap::new();
    for f in &p.functions {
        let path = format!("function {}", f.name.name);
        let opset = to_ast::proto_opset(&f.opset.name).ok_or_else(|| {
            CoremlError::program(
                &path,
                format!("opset {} has no Core ML opset name", f.opset.name),
            )
        })?;
        let mut operations = Vec::new();
        for s in &f.body.statements {
            let first = s.results.first().map_or("", |r| r.name.name.as_str());
            operations.extend(statement_ops(
                s,
                &format!("{path}, {first} = {}(...)", s.op.name),
            )?);
        }
        let block = proto::Block {
            inputs: vec![],
            outputs: f.body.outputs.iter().map(|o| o.name.to_string()).collect(),
            operations,
            attributes: BTreeMap::new(),
        };
        let mut attributes = BTreeMap::new();
        for a in &f.attributes {
            if a.name.name == "FlexibleShapeInformation" {
                // Compiler-derived from the model description; written back there instead.
                continue;
            }
            attributes.insert(
                a.name.name.to_string(),
                literal_value(&a.value, &format!("{path}[{}]", a.name.name))?,
            );
        }
        functions.insert(
            f.name.name.to_string(),
            proto::Function {
                inputs: f
                    .params
                    .iter()
                    .map(|p| {
                        Ok(proto::NamedValueType {
                            name: p.name.name.to_string(),
                            r#type: Some(value_type(&p.ty)?),
                        })
                    })
                    .collect::<Result<_>>()?,
                opset: opset.to_string(),
                block_specializations: [(opset.to_string(), block)].into_iter().collect(),
                attributes,
            },
        );
    }
    let mut attributes = BTreeMap::new();
    for a in &p.attributes {
        attributes.insert(
            a.name.name.to_string(),
            literal_value(&a.value, &format!("program[{}]", a.name.name))?,
        );
    }
    Ok(proto::Program {
        version: 1,
        functions,
        doc_string: String::new(),
        attributes,
    })
}

fn spec_version(opset: &str) -> i32 {
    match opset {
        "CoreML5" => 6,
        "CoreML6" => 7,
        "CoreML7" => 8,
        "CoreML8" => 9,
        _ => 10,
    }
}

/// A feature description of a value of type `t`. Flexible outputs get no shape (as coremltools
/// writes them); flexible inputs a default of 1 and an unbounded range per unknown dimension.
fn feature(name: &str, t: &Type, output: bool) -> Option<proto::FeatureDescription> {
    let array = |dtype: DType, shape: &[Dim]| -> Option<proto::ArrayFeatureType> {
        let data_type = match dtype {
            DType::Fp16 => proto::ArrayFeatureTypeArrayDataType::Float16,
            DType::Fp32 => proto::ArrayFeatureTypeArrayDataType::Float32,
            DType::Fp64 => proto::ArrayFeatureTypeArrayDataType::Double,
            DType::Int32 => proto::ArrayFeatureTypeArrayDataType::Int32,
            DType::Int8 => proto::ArrayFeatureTypeArrayDataType::Int8,
            _ => return None,
        } as i32;
        let flexible = shape.contains(&Dim::Unknown);
        if flexible && output {
            return Some(proto::ArrayFeatureType {
                shape: vec![],
                data_type,
                shape_flexibility: None,
                default_optional_value: None,
            });
        }
        Some(proto::ArrayFeatureType {
            shape: shape
                .iter()
                .map(|d| match d {
                    Dim::Known(n) => *n as i64,
                    Dim::Unknown => 1,
                })
                .collect(),
            data_type,
            shape_flexibility: flexible.then(|| {
                proto::ArrayFeatureTypeShapeFlexibility::ShapeRange(proto::ShapeRange {
                    size_ranges: shape
                        .iter()
                        .map(|d| match d {
                            Dim::Known(n) => proto::SizeRange {
                                lower_bound: *n,
                                upper_bound: *n as i64,
                            },
                            Dim::Unknown => proto::SizeRange {
                                lower_bound: 1,
                                upper_bound: -1,
                            },
                        })
                        .collect(),
                })
            }),
            default_optional_value: None,
        })
    };
    let kind = match &t.kind {
        TypeKind::Tensor { dtype, shape } => {
            proto::FeatureTypeKind::MultiArrayType(array(*dtype, shape)?)
        }
        TypeKind::State(inner) => match &inner.kind {
            TypeKind::Tensor { dtype, shape } => {
                proto::FeatureTypeKind::StateType(proto::StateFeatureType {
                    r#type: Some(proto::StateFeatureTypeKind::ArrayType(array(
                        *dtype, shape,
                    )?)),
                })
            }
            _ => return None,
        },
        _ => return None,
    };
    Some(proto::FeatureDescription {
        name: name.to_string(),
        short_description: String::new(),
        r#type: Some(proto::FeatureType {
            r#type: Some(kind),
            is_optional: false,
        }),
    })
}

/// Flexible shapes recorded in a function's `FlexibleShapeInformation` attribute:
/// input name → (default shape, flexibility).
fn flexible_inputs(
    f: &ast::Function,
) -> HashMap<String, (Vec<i64>, proto::ArrayFeatureTypeShapeFlexibility)> {
    let mut out = HashMap::new();
    let Some(PayloadKind::Tuple(sections)) = f
        .attribute("FlexibleShapeInformation")
        .map(|l| &l.value.kind)
    else {
        return out;
    };
    let ints = |p: &Payload| -> Option<Vec<i64>> {
        match &p.kind {
            PayloadKind::Array(a) => match &a.elements {
                Elements::Int(v) => v.iter().map(|&i| i64::try_from(i).ok()).collect(),
                _ => None,
            },
            PayloadKind::List(items) => items
                .iter()
                .map(|x| match x.kind {
                    PayloadKind::Int(i) => i64::try_from(i).ok(),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    };
    let pairs = |p: &Payload| -> Option<Vec<proto::SizeRange>> {
        let flat: Vec<i64> = match &p.kind {
            PayloadKind::List(items) => {
                items.iter().map(ints).collect::<Option<Vec<_>>>()?.concat()
            }
            _ => ints(p)?,
        };
        flat.chunks_exact(2)
            .map(|c| match c {
                [lo, hi] => Some(proto::SizeRange {
                    lower_bound: u64::try_from(*lo).ok()?,
                    upper_bound: *hi,
                }),
                _ => None,
            })
            .collect()
    };
    let mut defaults: HashMap<String, Vec<i64>> = HashMap::new();
    let mut flex: HashMap<String, proto::ArrayFeatureTypeShapeFlexibility> = HashMap::new();
    for sec in sections {
        let PayloadKind::Tuple(kv) = &sec.kind else {
            continue;
        };
        let (Some(PayloadKind::Str(kind)), Some(PayloadKind::Dict(entries))) =
            (kv.first().map(|p| &p.kind), kv.get(1).map(|p| &p.kind))
        else {
            continue;
        };
        for e in entries {
            match (kind.as_str(), &e.key.kind) {
                ("DefaultShapes", PayloadKind::Str(name)) => {
                    if let Some(v) = ints(&e.value) {
                        defaults.insert(name.to_string(), v);
                    }
                }
                ("RangeDims", PayloadKind::Str(name)) => {
                    if let Some(r) = pairs(&e.value) {
                        flex.insert(
                            name.to_string(),
                            proto::ArrayFeatureTypeShapeFlexibility::ShapeRange(
                                proto::ShapeRange { size_ranges: r },
                            ),
                        );
                    }
                }
                ("EnumeratedShapes", _) => {
                    let PayloadKind::Dict(inner) = &e.value.kind else {
                        continue;
                    };
                    for ie in inner {
                        if let (PayloadKind::Str(name), Some(shape)) =
                            (&ie.key.kind, ints(&ie.value))
                        {
                            let entry = flex.entry(name.to_string()).or_insert_with(|| {
                                proto::ArrayFeatureTypeShapeFlexibility::EnumeratedShapes(
                                    proto::EnumeratedShapes { shapes: vec![] },
                                )
                            });
                            if let proto::ArrayFeatureTypeShapeFlexibility::EnumeratedShapes(es) =
                                entry
                            {
                                es.shapes.push(proto::Shape { shape });
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for (name, fl) in flex {
        if let Some(d) = defaults.remove(&name) {
            out.insert(name, (d, fl));
        }
    }
    out
}

type Features = Vec<proto::FeatureDescription>;

/// Inputs, outputs and states of one function, as feature descriptions.
fn describe_function(f: &ast::Function) -> Result<(Features, Features, Features)> {
    let mut description = proto::ModelDescription::default();
    let mut types: HashMap<&str, &Type> = HashMap::new();
    for s in &f.body.statements {
        for r in &s.results {
            types.insert(&r.name.name, &r.ty);
        }
    }
    let flex = flexible_inputs(f);
    for prm in &f.params {
        let mut d = feature(&prm.name.name, &prm.ty, false).ok_or_else(|| {
            CoremlError::program(
                format!("function {}", f.name.name),
                format!("input {} has no Core ML feature type", prm.name.name),
            )
        })?;
        if let Some((shape, fl)) = flex.get(prm.name.name.as_str())
            && let Some(proto::FeatureType {
                r#type: Some(proto::FeatureTypeKind::MultiArrayType(a)),
                ..
            }) = d.r#type.as_mut()
        {
            a.shape = shape.clone();
            a.shape_flexibility = Some(fl.clone());
        }
        if matches!(prm.ty.kind, TypeKind::State(_)) {
            description.state.push(d);
        } else {
            description.input.push(d);
        }
        types.insert(&prm.name.name, &prm.ty);
    }
    for o in &f.body.outputs {
        let t = types.get(o.name.as_str()).ok_or_else(|| {
            CoremlError::program(
                format!("function {}", f.name.name),
                format!("output {} is not defined", o.name),
            )
        })?;
        description
            .output
            .push(feature(&o.name, t, true).ok_or_else(|| {
                CoremlError::program(
                    format!("function {}", f.name.name),
                    format!("output {} has no Core ML feature type", o.name),
                )
            })?);
    }
    Ok((description.input, description.output, description.state))
}

/// A whole `Model`: specification version from the newest opset, and a description of the
/// function `main` (or the first function) built from its parameter and output types (and its
/// `FlexibleShapeInformation`, when present).
pub fn model_from_ast(p: &ast::Program) -> Result<proto::Model> {
    let program = program_to_proto(p)?;
    let spec = program
        .functions
        .values()
        .map(|f| spec_version(&f.opset))
        .max()
        .unwrap_or(6);
    let mut description = proto::ModelDescription::default();
    let main = p.function("main").or_else(|| p.functions.first());
    if let Some(f) = main {
        let (input, output, state) = describe_function(f)?;
        description.input = input;
        description.output = output;
        description.state = state;
    }
    if p.functions.len() > 1 {
        // Multi-function programs: one FunctionDescription each; the default is `main` or the
        // first function (the text does not record coremltools' defaultFunctionName).
        for f in &p.functions {
            let (input, output, state) = describe_function(f)?;
            description.functions.push(proto::FunctionDescription {
                name: f.name.name.to_string(),
                input,
                output,
                state,
                ..Default::default()
            });
        }
        description.default_function_name =
            main.map(|f| f.name.name.to_string()).unwrap_or_default();
    }
    Ok(proto::Model {
        specification_version: spec,
        description: Some(description),
        is_updatable: false,
        ml_program: Some(program),
    })
}

/// A deterministic UUID-shaped identifier (FNV-1a of `seed`), so package output is reproducible.
fn uuid(seed: &[u8]) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for &b in seed {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let hex = format!("{h:032x}");
    let part = |a: usize, b: usize| hex.get(a..b).unwrap_or("0").to_string();
    format!(
        "{}-{}-4{}-8{}-{}",
        part(0, 8),
        part(8, 12),
        part(13, 16),
        part(17, 20),
        part(20, 32)
    )
}

/// Write `OUT.mlpackage`: Manifest.json, Data/com.apple.CoreML/model.mlmodel and the weight
/// files named by the program, copied from `weights_dir`.
pub fn write_mlpackage(
    model: &proto::Model,
    weight_files: &[(String, Vec<u8>)],
    out: &Path,
) -> Result<()> {
    use prost::Message as _;
    let bytes = model.encode_to_vec();
    let data = out.join("Data").join("com.apple.CoreML");
    let wdir = data.join("weights");
    std::fs::create_dir_all(&wdir).map_err(|e| CoremlError::io(&wdir, e))?;
    let mpath = data.join("model.mlmodel");
    std::fs::write(&mpath, &bytes).map_err(|e| CoremlError::io(&mpath, e))?;
    for (name, b) in weight_files {
        if to_ast::blob_file_name(&format!("@model_path/weights/{name}")).is_none() {
            return Err(CoremlError::program(
                "weights",
                format!("bad weight file name {name:?}"),
            ));
        }
        let p = wdir.join(name);
        std::fs::write(&p, b).map_err(|e| CoremlError::io(&p, e))?;
    }
    let model_id = uuid(&bytes);
    let weights_id = uuid(&[bytes.as_slice(), b"weights"].concat());
    let manifest = serde_json::json!({
        "fileFormatVersion": "1.0.0",
        "itemInfoEntries": {
            model_id.clone(): {
                "author": "com.apple.CoreML",
                "description": "CoreML Model Specification",
                "name": "model.mlmodel",
                "path": "com.apple.CoreML/model.mlmodel"
            },
            weights_id: {
                "author": "com.apple.CoreML",
                "description": "CoreML Model Weights",
                "name": "weights",
                "path": "com.apple.CoreML/weights"
            }
        },
        "rootModelIdentifier": model_id
    });
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| CoremlError::program("Manifest.json", e.to_string()))?;
    let mp = out.join("Manifest.json");
    std::fs::write(&mp, text).map_err(|e| CoremlError::io(&mp, e))?;
    Ok(())
}
