//! Runtime values of the executor: typed tensors in the layouts the kernels use.
//!
//! Every float dtype (fp16, bf16, fp32, fp64, fp8) is stored as `f32` — in `ane` numerics an
//! fp16-declared value holds only fp16-representable numbers (see docs/numerics.md) — so one
//! set of f32 kernels serves every float type. Integers are `i32`, or `i64` for the types
//! that do not fit (`int64`, `uint32`, `uint64`); masks are `bool`.

use crate::numerics::{from_f16_slice, to_f16_vec};
use crate::{Tensor, TensorView};
use anekit_core::{DType, TensorData};
use half::bf16;

/// A runtime tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    F32(Tensor<f32>),
    I32(Tensor<i32>),
    I64(Tensor<i64>),
    Bool(Tensor<bool>),
}

/// The storage class a declared dtype maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    F32,
    I32,
    I64,
    Bool,
}

impl Storage {
    pub fn of(dtype: DType) -> Option<Storage> {
        Some(match dtype {
            DType::Bool => Storage::Bool,
            DType::Int64 | DType::Uint32 | DType::Uint64 => Storage::I64,
            d if d.is_float() => Storage::F32,
            d if d.is_int() => Storage::I32,
            _ => return None,
        })
    }
}

/// Apply a generic expression to the tensor inside a [`Val`], keeping the variant:
/// `map_val!(v, t => kernel(t.view())?)`.
macro_rules! map_val {
    ($v:expr, $t:ident => $body:expr) => {
        match $v {
            $crate::exec::value::Val::F32($t) => $crate::exec::value::Val::F32($body),
            $crate::exec::value::Val::I32($t) => $crate::exec::value::Val::I32($body),
            $crate::exec::value::Val::I64($t) => $crate::exec::value::Val::I64($body),
            $crate::exec::value::Val::Bool($t) => $crate::exec::value::Val::Bool($body),
        }
    };
}
pub(crate) use map_val;

impl Val {
    pub fn shape(&self) -> &[usize] {
        match self {
            Val::F32(t) => t.shape(),
            Val::I32(t) => t.shape(),
            Val::I64(t) => t.shape(),
            Val::Bool(t) => t.shape(),
        }
    }

    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// The rank as i64 (for resolving negative axes).
    pub fn rank_i64(&self) -> i64 {
        self.shape().len() as i64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn storage(&self) -> Storage {
        match self {
            Val::F32(_) => Storage::F32,
            Val::I32(_) => Storage::I32,
            Val::I64(_) => Storage::I64,
            Val::Bool(_) => Storage::Bool,
        }
    }

    /// "float", "int32", "int64" or "bool", for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Val::F32(_) => "float",
            Val::I32(_) => "int32",
            Val::I64(_) => "int64",
            Val::Bool(_) => "bool",
        }
    }

    /// The same data under another shape (element counts must agree).
    pub fn reshape(self, shape: Vec<usize>) -> crate::Result<Val> {
        Ok(map_val!(self, t => t.reshape(shape)?))
    }

    /// Every element as f32 (bool → 0/1; large integers rounded).
    pub fn to_f32_tensor(&self) -> Tensor<f32> {
        let shape = self.shape().to_vec();
        let data = match self {
            Val::F32(t) => t.data().to_vec(),
            Val::I32(t) => t.data().iter().map(|&v| v as f32).collect(),
            Val::I64(t) => t.data().iter().map(|&v| v as f32).collect(),
            Val::Bool(t) => t.data().iter().map(|&v| f32::from(u8::from(v))).collect(),
        };
        Tensor::from_parts(shape, data)
    }

    /// Every element as i64 (floats truncated toward zero, bool → 0/1).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match self {
            Val::F32(t) => t.data().iter().map(|&v| v as i64).collect(),
            Val::I32(t) => t.data().iter().map(|&v| i64::from(v)).collect(),
            Val::I64(t) => t.data().to_vec(),
            Val::Bool(t) => t.data().iter().map(|&v| i64::from(v)).collect(),
        }
    }

    /// Every element as a bool (nonzero is true).
    pub fn to_bool_vec(&self) -> Vec<bool> {
        match self {
            Val::F32(t) => t.data().iter().map(|&v| v != 0.0).collect(),
            Val::I32(t) => t.data().iter().map(|&v| v != 0).collect(),
            Val::I64(t) => t.data().iter().map(|&v| v != 0).collect(),
            Val::Bool(t) => t.data().to_vec(),
        }
    }

    /// Indices as i32 (for the gather family), or None when a value does not fit.
    pub fn to_i32_tensor(&self) -> Option<Tensor<i32>> {
        let shape = self.shape().to_vec();
        let data: Option<Vec<i32>> = match self {
            Val::I32(t) => return Some(t.clone()),
            Val::I64(t) => t.data().iter().map(|&v| i32::try_from(v).ok()).collect(),
            Val::F32(t) => t
                .data()
                .iter()
                .map(|&v| (v.fract() == 0.0 && v.abs() < 2e9).then_some(v as i32))
                .collect(),
            Val::Bool(t) => Some(t.data().iter().map(|&v| i32::from(v)).collect()),
        };
        Some(Tensor::from_parts(shape, data?))
    }

    pub fn f32_view(&self) -> Option<TensorView<'_, f32>> {
        match self {
            Val::F32(t) => Some(t.view()),
            _ => None,
        }
    }

    /// Convert to the storage class `to` (float → int truncates toward zero as MIL `cast`
    /// does; int → bool is `!= 0`).
    pub fn convert(self, to: Storage) -> Val {
        if self.storage() == to {
            return self;
        }
        let shape = self.shape().to_vec();
        match to {
            Storage::F32 => Val::F32(self.to_f32_tensor()),
            Storage::I32 => {
                let v = self.to_i64_vec();
                Val::I32(Tensor::from_parts(
                    shape,
                    v.into_iter().map(|x| x as i32).collect(),
                ))
            }
            Storage::I64 => Val::I64(Tensor::from_parts(shape, self.to_i64_vec())),
            Storage::Bool => Val::Bool(Tensor::from_parts(shape, self.to_bool_vec())),
        }
    }

    /// Decode typed storage into a value of storage class `Storage::of(dtype)`. fp16 and f32
    /// take bulk conversion paths; the rest goes through `TensorData`'s own conversions.
    pub fn from_tensor_data(
        shape: Vec<usize>,
        data: &TensorData,
        dtype: DType,
    ) -> Result<Val, String> {
        let n: usize = shape.iter().product();
        if data.len() != n {
            return Err(format!(
                "{} element(s) for shape {shape:?} ({n} needed)",
                data.len()
            ));
        }
        let storage =
            Storage::of(dtype).ok_or_else(|| format!("dtype {dtype} has no tensor form"))?;
        let v = match (storage, data) {
            (Storage::F32, TensorData::F16(v)) => {
                Val::F32(Tensor::from_parts(shape, from_f16_slice(v)))
            }
            (Storage::F32, TensorData::F32(v)) => Val::F32(Tensor::from_parts(shape, v.clone())),
            (Storage::F32, d) => Val::F32(Tensor::from_parts(shape, d.to_f32())),
            (Storage::Bool, TensorData::Bool(v)) => Val::Bool(Tensor::from_parts(shape, v.clone())),
            (s, d) => {
                let ints: Vec<i128> = match d.int_values() {
                    Some(i) => i,
                    None => d.to_f32().into_iter().map(|f| f as i128).collect(),
                };
                match s {
                    Storage::I32 => Val::I32(Tensor::from_parts(
                        shape,
                        ints.into_iter().map(|i| i as i32).collect(),
                    )),
                    Storage::I64 => Val::I64(Tensor::from_parts(
                        shape,
                        ints.into_iter().map(|i| i as i64).collect(),
                    )),
                    _ => Val::Bool(Tensor::from_parts(
                        shape,
                        ints.into_iter().map(|i| i != 0).collect(),
                    )),
                }
            }
        };
        Ok(v)
    }

    /// Encode as `TensorData` of `dtype` (fp16 → `TensorData::F16` with one bulk RNE pass).
    pub fn to_tensor_data(&self, dtype: DType) -> Result<TensorData, String> {
        Ok(match (self, dtype) {
            (Val::F32(t), DType::Fp16) => TensorData::F16(to_f16_vec(t.data())),
            (Val::F32(t), DType::Fp32) => TensorData::F32(t.data().to_vec()),
            (Val::F32(t), DType::Bf16) => {
                TensorData::Bf16(t.data().iter().map(|&v| bf16::from_f32(v)).collect())
            }
            (Val::F32(t), DType::Fp64) => {
                TensorData::F64(t.data().iter().map(|&v| f64::from(v)).collect())
            }
            (Val::Bool(t), DType::Bool) => TensorData::Bool(t.data().to_vec()),
            (Val::I32(t), DType::Int32) => TensorData::I32(t.data().to_vec()),
            (Val::I64(t), DType::Int64) => TensorData::I64(t.data().to_vec()),
            (v, d) => {
                let wide = match v {
                    Val::F32(t) => TensorData::F32(t.data().to_vec()),
                    Val::I32(t) => TensorData::I32(t.data().to_vec()),
                    Val::I64(t) => TensorData::I64(t.data().to_vec()),
                    Val::Bool(t) => TensorData::Bool(t.data().to_vec()),
                };
                wide.convert(d).map_err(|e| e.to_string())?
            }
        })
    }
}
