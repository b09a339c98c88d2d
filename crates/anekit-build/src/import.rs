//! Any validated MIL program (`anekit_ir::Program`) → a [`Graph`], so the passes and the
//! lowering work on files as well as on builder graphs (`ane opt`).

use crate::graph::{ConstData, Graph, Operand, TensorId, ValueDef, ValueInfo};
use crate::lower::{Dialect, Target};
use anekit_core::{DType, TensorData};
use anekit_ir::ir::{Arg, ConstData as IrConst, Constant, Function, Program};
use anekit_ir::types::Type;
use anekit_ir::weights::Weights;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the program has no function `{0}`")]
    NoFunction(String),
    #[error("value `{0}`: {1}")]
    Value(String, String),
    #[error("op `{op}` (producing `{value}`): {reason}")]
    Op {
        op: String,
        value: String,
        reason: String,
    },
    #[error("weights: {0}")]
    Weights(#[from] anekit_ir::weights::WeightError),
}

fn tensor_of(name: &str, ty: &Type) -> Result<(DType, Vec<usize>), ImportError> {
    let t = ty.tensor().ok_or_else(|| {
        ImportError::Value(
            name.into(),
            format!("a {} is not supported", ty.kind_name()),
        )
    })?;
    let shape = t
        .known_shape()
        .and_then(|s| {
            s.into_iter()
                .map(|d| usize::try_from(d).ok())
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| ImportError::Value(name.into(), format!("{t} has unknown dims")))?;
    Ok((t.dtype, shape))
}

fn const_data(
    c: &Constant,
    weights: Option<&Weights>,
    name: &str,
) -> Result<ConstData, ImportError> {
    Ok(match &c.data {
        IrConst::Floats(f) => ConstData::Floats(f.iter().map(|&x| x as f32).collect()),
        IrConst::Ints(i) => ConstData::Ints(
            i.iter()
                .map(|&x| i64::try_from(x))
                .collect::<Result<_, _>>()
                .map_err(|_| ImportError::Value(name.into(), "integer out of range".into()))?,
        ),
        IrConst::Bools(b) => ConstData::Bools(b.clone()),
        IrConst::Strings(s) if s.len() == 1 => ConstData::Str(s[0].clone()),
        IrConst::Blob(_) => {
            let w = weights.ok_or_else(|| {
                ImportError::Value(
                    name.into(),
                    "BLOBFILE constant but no weights directory given".into(),
                )
            })?;
            match w.tensor(c)? {
                TensorData::F16(_)
                | TensorData::F32(_)
                | TensorData::Bf16(_)
                | TensorData::F64(_) => ConstData::Floats(w.tensor(c)?.to_f32()),
                other => match other.int_values() {
                    Some(v) => ConstData::Ints(v.into_iter().map(|x| x as i64).collect()),
                    None => {
                        return Err(ImportError::Value(
                            name.into(),
                            "unsupported blob dtype".into(),
                        ));
                    }
                },
            }
        }
        _ => {
            return Err(ImportError::Value(
                name.into(),
                "unsupported constant kind".into(),
            ));
        }
    })
}

/// Import function `function` (default `main`, else the only one) of `program`. BLOBFILE
/// constants are read through `weights`.
pub fn import(
    program: &Program,
    weights: Option<&Weights>,
    function: Option<&str>,
) -> Result<Graph, ImportError> {
    let f: &Function = match function {
        Some(n) => program
            .function(n)
            .ok_or_else(|| ImportError::NoFunction(n.into()))?,
        None => program
            .function("main")
            .or_else(|| program.functions.first())
            .ok_or_else(|| ImportError::NoFunction("main".into()))?,
    };
    let mut g = Graph::new();
    g.opset = Some(f.opset);
    let mut map: HashMap<u32, TensorId> = HashMap::new();
    let push = |g: &mut Graph, info: ValueInfo| {
        let id = TensorId(g.values.len() as u32);
        g.values.push(info);
        id
    };
    for &i in &f.inputs {
        let v = f
            .value(i)
            .ok_or_else(|| ImportError::Value(format!("#{}", i.0), "missing".into()))?;
        let (dtype, shape) = tensor_of(&v.name, &v.ty)?;
        let id = push(
            &mut g,
            ValueInfo {
                name: v.name.clone(),
                dtype,
                shape,
                def: ValueDef::Input,
            },
        );
        g.inputs.push(id);
        map.insert(i.0, id);
    }
    let mut inline = 0usize;
    for op in &f.ops {
        let first = op
            .results
            .first()
            .and_then(|r| f.value(*r))
            .map(|v| v.name.clone())
            .unwrap_or_default();
        let fail = |reason: String| ImportError::Op {
            op: op.kind.clone(),
            value: first.clone(),
            reason,
        };
        if op.kind == "const" {
            let r = op.results.first().ok_or_else(|| fail("no result".into()))?;
            let v = f.value(*r).ok_or_else(|| fail("no result".into()))?;
            let cid = v
                .constant
                .ok_or_else(|| fail("constant not resolved".into()))?;
            let c = program
                .constant(cid)
                .ok_or_else(|| fail("constant not resolved".into()))?;
            let (dtype, shape) = tensor_of(&v.name, &v.ty)?;
            let data = const_data(c, weights, &v.name)?;
            let id = push(
                &mut g,
                ValueInfo {
                    name: v.name.clone(),
                    dtype,
                    shape,
                    def: ValueDef::Const(data),
                },
            );
            map.insert(r.0, id);
            continue;
        }
        if op.kind.starts_with("constexpr_") {
            return Err(fail(
                "constexpr ops are not supported by the optimiser".into(),
            ));
        }
        let mut args = Vec::new();
        for input in &op.inputs {
            let mut one = |g: &mut Graph, a: &Arg| -> Result<TensorId, ImportError> {
                match a {
                    Arg::Value(v) => map
                        .get(&v.0)
                        .copied()
                        .ok_or_else(|| fail("input not defined".into())),
                    Arg::Const(cid) => {
                        let c = program
                            .constant(*cid)
                            .ok_or_else(|| fail("constant not resolved".into()))?;
                        inline += 1;
                        let name = format!("{first}_{}", input.name);
                        let (dtype, shape) = tensor_of(&name, &c.ty)?;
                        let data = const_data(c, weights, &name)?;
                        Ok(g.add_const(&name, dtype, &shape, data))
                    }
                    _ => Err(fail(format!("input `{}` is not supported", input.name))),
                }
            };
            let operand = match &input.arg {
                Arg::Tuple(items) => Operand::Tuple(
                    items
                        .iter()
                        .map(|a| one(&mut g, a))
                        .collect::<Result<_, _>>()?,
                ),
                a => Operand::Value(one(&mut g, a)?),
            };
            args.push((input.name.to_string(), operand));
        }
        let node = g.nodes.len();
        let mut outputs = Vec::new();
        for r in &op.results {
            let v = f.value(*r).ok_or_else(|| fail("result missing".into()))?;
            let (dtype, shape) = tensor_of(&v.name, &v.ty)?;
            let id = push(
                &mut g,
                ValueInfo {
                    name: v.name.clone(),
                    dtype,
                    shape,
                    def: ValueDef::Op { node },
                },
            );
            map.insert(r.0, id);
            outputs.push(id);
        }
        g.nodes.push(crate::graph::Node {
            op: op.kind.clone(),
            args,
            outputs,
            layer: None,
        });
    }
    for o in &f.outputs {
        let id = map
            .get(&o.0)
            .copied()
            .ok_or_else(|| ImportError::Value(format!("#{}", o.0), "output not defined".into()))?;
        g.outputs.push(id);
    }
    Ok(g)
}

/// The target that writes a program back in its own dialect: same header and opset, I/O
/// dtypes kept, no outputs added.
pub fn source_target(program: &Program, g: &Graph) -> Target {
    let verbose = matches!(program.version.as_str(), "1" | "1.0");
    let opset = g.opset.unwrap_or(anekit_ir::ops::Opset::Ios18).tag();
    Target {
        chip: "source".into(),
        dialect: Dialect {
            program_version: if verbose { "1.0" } else { "1.3" },
            opset,
            fp32_io: false,
            identity_outputs: false,
            casts: true,
        },
    }
}

/// Why `optimize` failed.
#[derive(Debug, thiserror::Error)]
pub enum OptError {
    #[error("the program does not validate: {0}")]
    Invalid(String),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Pass(#[from] crate::passes::PassError),
    #[error(transparent)]
    Lower(#[from] crate::lower::LowerError),
}

/// `ane opt`: parse and validate `src`, import it (BLOBFILEs through `weights`), run `passes`
/// in order and write it back in its own dialect (a fresh weight.bin holds every float constant
/// of 10 or more elements).
pub fn optimize(
    src: &str,
    weights: Option<&Weights>,
    passes: &[&str],
) -> Result<(crate::lower::Lowered, Vec<crate::passes::PassReport>), OptError> {
    let checked = anekit_ir::check(src);
    if let Some(e) = checked.errors().next() {
        return Err(OptError::Invalid(e.message.clone()));
    }
    let program = checked
        .program
        .ok_or_else(|| OptError::Invalid("no program".into()))?;
    let mut g = import(&program, weights, None)?;
    let reports = crate::passes::run_passes(&mut g, passes)?;
    let target = source_target(&program, &g);
    let lowered = crate::lower::lower(&g, &target, &crate::lower::LowerOptions::default())?;
    Ok((lowered, reports))
}
