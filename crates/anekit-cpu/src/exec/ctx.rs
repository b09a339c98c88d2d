//! What an op implementation sees: its op, its inputs (runtime values, prepared constants)
//! and typed accessors for its parameters.

use super::ExecError;
use super::value::Val;
use crate::{KernelError, Numerics, TensorView};
use anekit_core::DType;
use anekit_ir::ir::{Arg, ConstData, Function, Op, Program, ValueId};
use anekit_ir::types::Type;

/// The evaluation context of one op.
///
/// Inputs resolve in this order: runtime values of the current evaluation (`table`), then
/// values prepared once by `Executor::new` (`statics`: `const` and `constexpr_*` results, by
/// value id), then decoded inline literals (`literals`, by constant id).
pub struct OpCtx<'a> {
    pub op: &'a Op,
    pub func: &'a Function,
    pub program: &'a Program,
    pub numerics: Numerics,
    /// The executor's per-tensor element limit ([`super::ExecOptions::max_elements`]).
    pub max_elements: u64,
    pub(crate) table: &'a [Option<Val>],
    pub(crate) statics: &'a [Option<Val>],
    pub(crate) literals: &'a [Option<Val>],
}

/// Product of `dims` in u128, saturating: the element count [`OpCtx::check_result_size`]
/// takes, computed without overflow from hostile dims.
pub(crate) fn element_count(dims: impl IntoIterator<Item = u128>) -> u128 {
    dims.into_iter().fold(1u128, u128::saturating_mul)
}

/// A parameter's raw contents.
enum Raw<'a> {
    Data(&'a ConstData),
    Val(&'a Val),
}

impl<'a> OpCtx<'a> {
    /// The name of the op's first result (for messages).
    pub fn value_name(&self) -> String {
        self.op
            .results
            .first()
            .and_then(|r| self.func.value(*r))
            .map(|v| v.name.clone())
            .unwrap_or_default()
    }

    /// An [`ExecError::Op`] for this op.
    pub fn err(&self, reason: impl Into<String>) -> ExecError {
        ExecError::Op {
            op: self.op.kind.clone(),
            value: self.value_name(),
            reason: reason.into(),
        }
    }

    /// Refuse a result of `elements` elements above the executor's limit. Ops whose result
    /// size depends on run-time values (`fill`'s shape, `tile`'s reps, `range_1d`'s bounds,
    /// resize targets, ...) call this before the kernel allocates: a hostile program must get
    /// an error, not exhaust memory.
    pub fn check_result_size(&self, elements: u128) -> Result<(), ExecError> {
        if elements > u128::from(self.max_elements) {
            return Err(ExecError::TooLarge {
                value: self.value_name(),
                ty: format!("result of {}", self.op.kind),
                elements,
                limit: self.max_elements,
            });
        }
        Ok(())
    }

    /// A kernel's refusal, attributed to this op.
    pub fn kernel(&self, e: KernelError) -> ExecError {
        self.err(e.to_string())
    }

    /// The declared dtype of result `i` (None for non-tensor results).
    pub fn result_dtype(&self, i: usize) -> Option<DType> {
        let id = self.op.results.get(i)?;
        match &self.func.value(*id)?.ty {
            Type::Tensor(t) => Some(t.dtype),
            Type::State(inner) => inner.tensor().map(|t| t.dtype),
            Type::TensorBuffer { dtype, .. } => Some(*dtype),
            _ => None,
        }
    }

    /// The declared type of result `i`.
    pub fn result_type(&self, i: usize) -> Option<&'a Type> {
        let id = self.op.results.get(i)?;
        Some(&self.func.value(*id)?.ty)
    }

    pub fn has_input(&self, name: &str) -> bool {
        self.op.input(name).is_some()
    }

    fn value_of(&self, id: ValueId) -> Option<&'a Val> {
        let i = id.0 as usize;
        self.table
            .get(i)
            .and_then(Option::as_ref)
            .or_else(|| self.statics.get(i).and_then(Option::as_ref))
    }

    fn arg_val(&self, name: &str, arg: &'a Arg) -> Result<&'a Val, ExecError> {
        match arg {
            Arg::Value(id) => self.value_of(*id).ok_or_else(|| {
                let vname = self.func.value(*id).map_or("?", |v| v.name.as_str());
                self.err(format!(
                    "input `{name}` (`{vname}`) has no tensor value (not computed, or not a tensor)"
                ))
            }),
            Arg::Const(c) => self
                .literals
                .get(c.0 as usize)
                .and_then(Option::as_ref)
                .ok_or_else(|| self.err(format!("input `{name}` is not a tensor constant"))),
            Arg::Tuple(_) => Err(self.err(format!("input `{name}` is a tuple, expected a tensor"))),
            Arg::Undefined(n) => Err(self.err(format!("input `{name}` names undefined `{n}`"))),
        }
    }

    /// A required tensor input.
    pub fn input(&self, name: &str) -> Result<&'a Val, ExecError> {
        let arg = self
            .op
            .input(name)
            .ok_or_else(|| self.err(format!("missing input `{name}`")))?;
        self.arg_val(name, arg)
    }

    /// An optional tensor input.
    pub fn opt_input(&self, name: &str) -> Result<Option<&'a Val>, ExecError> {
        match self.op.input(name) {
            None => Ok(None),
            Some(arg) => self.arg_val(name, arg).map(Some),
        }
    }

    /// A required float tensor input.
    pub fn f32(&self, name: &str) -> Result<TensorView<'a, f32>, ExecError> {
        let v = self.input(name)?;
        v.f32_view().ok_or_else(|| {
            self.err(format!(
                "input `{name}` is a {} tensor, expected a float tensor",
                v.kind_name()
            ))
        })
    }

    /// An optional float tensor input.
    pub fn opt_f32(&self, name: &str) -> Result<Option<TensorView<'a, f32>>, ExecError> {
        match self.opt_input(name)? {
            None => Ok(None),
            Some(v) => v.f32_view().map(Some).ok_or_else(|| {
                self.err(format!(
                    "input `{name}` is a {} tensor, expected a float tensor",
                    v.kind_name()
                ))
            }),
        }
    }

    /// A variadic input (`concat(values = (a, b))`): its tensors in order.
    pub fn tuple(&self, name: &str) -> Result<Vec<&'a Val>, ExecError> {
        let arg = self
            .op
            .input(name)
            .ok_or_else(|| self.err(format!("missing input `{name}`")))?;
        match arg {
            Arg::Tuple(items) => items.iter().map(|a| self.arg_val(name, a)).collect(),
            other => Ok(vec![self.arg_val(name, other)?]),
        }
    }

    fn raw(&self, name: &str) -> Result<Option<Raw<'a>>, ExecError> {
        let Some(arg) = self.op.input(name) else {
            return Ok(None);
        };
        let konst = match arg {
            Arg::Const(c) => Some(*c),
            Arg::Value(v) => self.func.value(*v).and_then(|v| v.constant),
            _ => None,
        };
        if let Some(c) = konst.and_then(|c| self.program.constant(c)) {
            match &c.data {
                ConstData::Blob(_) | ConstData::Structured => {}
                data => return Ok(Some(Raw::Data(data))),
            }
        }
        // A BLOBFILE constant, a constexpr result, or a value computed at run time (dynamic
        // shapes: `reshape(shape = concat(...))`).
        self.arg_val(name, arg).map(|v| Some(Raw::Val(v)))
    }

    /// An integer (list) parameter; None when absent.
    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, ExecError> {
        Ok(match self.raw(name)? {
            None => None,
            Some(Raw::Data(d)) => Some(match d {
                ConstData::Floats(f) => f.iter().map(|&v| v as i64).collect(),
                d => d
                    .as_i64s()
                    .ok_or_else(|| self.err(format!("parameter `{name}` must be integers")))?,
            }),
            Some(Raw::Val(v)) => Some(v.to_i64_vec()),
        })
    }

    /// A scalar integer parameter (a one-element list is accepted).
    pub fn int(&self, name: &str) -> Result<Option<i64>, ExecError> {
        match self.ints(name)? {
            None => Ok(None),
            Some(v) if v.len() == 1 => Ok(v.first().copied()),
            Some(v) => Err(self.err(format!(
                "parameter `{name}` must be one integer, found {} values",
                v.len()
            ))),
        }
    }

    /// Integer parameter with a default.
    pub fn int_or(&self, name: &str, default: i64) -> Result<i64, ExecError> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    /// Non-negative integer list (sizes, strides).
    pub fn usizes(&self, name: &str) -> Result<Option<Vec<usize>>, ExecError> {
        match self.ints(name)? {
            None => Ok(None),
            Some(v) => v
                .iter()
                .map(|&i| usize::try_from(i).ok())
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| {
                    self.err(format!(
                        "parameter `{name}` must be non-negative, got {v:?}"
                    ))
                }),
        }
    }

    pub fn bools(&self, name: &str) -> Result<Option<Vec<bool>>, ExecError> {
        Ok(match self.raw(name)? {
            None => None,
            Some(Raw::Data(ConstData::Bools(b))) => Some(b.clone()),
            Some(Raw::Data(ConstData::Ints(i))) => Some(i.iter().map(|&v| v != 0).collect()),
            Some(Raw::Data(_)) => return Err(self.err(format!("parameter `{name}` must be bool"))),
            Some(Raw::Val(v)) => Some(v.to_bool_vec()),
        })
    }

    /// A scalar bool parameter with a default.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ExecError> {
        match self.bools(name)? {
            None => Ok(default),
            Some(v) if v.len() == 1 => Ok(v.first().copied().unwrap_or(default)),
            Some(v) => Err(self.err(format!(
                "parameter `{name}` must be one bool, found {} values",
                v.len()
            ))),
        }
    }

    pub fn floats(&self, name: &str) -> Result<Option<Vec<f32>>, ExecError> {
        Ok(match self.raw(name)? {
            None => None,
            Some(Raw::Data(ConstData::Floats(f))) => Some(f.iter().map(|&v| v as f32).collect()),
            Some(Raw::Data(ConstData::Ints(i))) => Some(i.iter().map(|&v| v as f32).collect()),
            Some(Raw::Data(_)) => {
                return Err(self.err(format!("parameter `{name}` must be a number")));
            }
            Some(Raw::Val(v)) => Some(v.to_f32_tensor().into_data()),
        })
    }

    /// A scalar float parameter; None when absent.
    pub fn float(&self, name: &str) -> Result<Option<f32>, ExecError> {
        match self.floats(name)? {
            None => Ok(None),
            Some(v) if v.len() == 1 => Ok(v.first().copied()),
            Some(v) => Err(self.err(format!(
                "parameter `{name}` must be one number, found {} values",
                v.len()
            ))),
        }
    }

    pub fn float_or(&self, name: &str, default: f32) -> Result<f32, ExecError> {
        Ok(self.float(name)?.unwrap_or(default))
    }

    /// A string parameter (must be a constant).
    pub fn string(&self, name: &str) -> Result<Option<&'a str>, ExecError> {
        match self.raw(name)? {
            None => Ok(None),
            Some(Raw::Data(d)) => d
                .as_str()
                .map(Some)
                .ok_or_else(|| self.err(format!("parameter `{name}` must be a constant string"))),
            Some(Raw::Val(_)) => Err(self.err(format!(
                "parameter `{name}` must be a constant string, not a computed value"
            ))),
        }
    }
}
