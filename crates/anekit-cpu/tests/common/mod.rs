//! Fixture machinery shared by `tests/fixtures.rs` and `tests/kernels_extra.rs`: numpy
//! reference cases (`cases.json` and `.npy` files written by `scripts/gen_kernel_fixtures*.py`),
//! their loading, parameter access, and the tolerance check documented in `tests/fixtures.rs`.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use anekit_core::{DType, TensorData, npy};
use anekit_cpu::{Numerics, Tensor, TensorView};
use half::f16;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// A loaded `.npy` input or reference.
pub enum In {
    F(Tensor),
    B(Tensor<bool>),
    I(Tensor<i32>),
    /// Raw bytes (`u8` arrays: packed indices of the LUT decompressions).
    Bytes(Vec<u8>),
}

pub fn load(dir: &Path, name: &str) -> In {
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let a = npy::read_npy(&bytes).unwrap();
    let shape: Vec<usize> = a.shape.iter().map(|&d| d as usize).collect();
    match a.data {
        TensorData::Bool(v) => In::B(Tensor::new(shape, v).unwrap()),
        TensorData::I32(v) => In::I(Tensor::new(shape, v).unwrap()),
        TensorData::U8(v) => In::Bytes(v),
        other => In::F(Tensor::new(shape, other.to_f32()).unwrap()),
    }
}

/// All cases of `dir/cases.json`.
pub fn cases(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// One case: its name, its parameters and its loaded inputs.
pub struct Case<'a> {
    pub name: &'a str,
    pub p: &'a Value,
    pub ins: HashMap<String, In>,
}

impl<'a> Case<'a> {
    /// `case` (an entry of `cases.json`) with its inputs `<name>.<input>.npy` loaded from `dir`.
    pub fn load(dir: &Path, case: &'a Value) -> Case<'a> {
        let name = case["name"].as_str().unwrap();
        let ins = case["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let i = i.as_str().unwrap();
                (i.to_string(), load(dir, &format!("{name}.{i}.npy")))
            })
            .collect();
        Case {
            name,
            p: &case["params"],
            ins,
        }
    }
    pub fn f(&self, k: &str) -> TensorView<'_> {
        match &self.ins[k] {
            In::F(t) => t.view(),
            _ => panic!("{}: input {k} is not f32", self.name),
        }
    }
    pub fn fo(&self, k: &str) -> Option<TensorView<'_>> {
        self.ins.contains_key(k).then(|| self.f(k))
    }
    pub fn b(&self, k: &str) -> TensorView<'_, bool> {
        match &self.ins[k] {
            In::B(t) => t.view(),
            _ => panic!("{}: input {k} is not bool", self.name),
        }
    }
    pub fn i(&self, k: &str) -> TensorView<'_, i32> {
        match &self.ins[k] {
            In::I(t) => t.view(),
            _ => panic!("{}: input {k} is not i32", self.name),
        }
    }
    pub fn bytes(&self, k: &str) -> &[u8] {
        match &self.ins[k] {
            In::Bytes(b) => b,
            _ => panic!("{}: input {k} is not u8", self.name),
        }
    }
    pub fn num64(&self, k: &str) -> f64 {
        self.p[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{}: param {k}", self.name))
    }
    pub fn num(&self, k: &str) -> f32 {
        self.num64(k) as f32
    }
    pub fn int(&self, k: &str) -> i64 {
        self.p[k]
            .as_i64()
            .unwrap_or_else(|| panic!("{}: param {k}", self.name))
    }
    pub fn opt_int(&self, k: &str) -> Option<i64> {
        self.p[k].as_i64()
    }
    pub fn flag(&self, k: &str) -> bool {
        self.p[k].as_bool().unwrap_or(false)
    }
    pub fn s(&self, k: &str) -> &str {
        self.p[k].as_str().unwrap_or("")
    }
    pub fn ints(&self, k: &str) -> Vec<i64> {
        self.p[k]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_i64().unwrap()).collect())
            .unwrap_or_default()
    }
    pub fn us(&self, k: &str) -> Vec<usize> {
        self.ints(k).iter().map(|&v| v as usize).collect()
    }
    pub fn bools(&self, k: &str) -> Vec<bool> {
        self.p[k]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_bool().unwrap()).collect())
            .unwrap_or_default()
    }
    pub fn u2(&self, k: &str) -> [usize; 2] {
        let v = self.us(k);
        [v[0], v[1]]
    }
    pub fn u4(&self, k: &str) -> [usize; 4] {
        let v = self.us(k);
        [v[0], v[1], v[2], v[3]]
    }
}

/// Distance in fp16 ulps between two fp16 values (0 for equal, inf==inf, NaN==NaN).
pub fn f16_ulps(a: f16, b: f16) -> u32 {
    if a.is_nan() && b.is_nan() || a == b {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u32::MAX;
    }
    let ord = |x: f16| {
        let bits = x.to_bits() as i32;
        if bits & 0x8000 != 0 {
            -(bits & 0x7fff)
        } else {
            bits
        }
    };
    (ord(a) - ord(b)).unsigned_abs()
}

/// `got` against the reference `dir/want_file` with the case's tolerances for `numerics`
/// (tests/fixtures.rs explains them). The absolute `ane_atol` escape applies only where the
/// case sets it above 0.
pub fn check_f32(
    dir: &Path,
    name: &str,
    got: &Tensor,
    want_file: &str,
    numerics: Numerics,
    case: &Value,
) {
    let In::F(want) = load(dir, want_file) else {
        panic!("{want_file}: not float")
    };
    assert_eq!(got.shape(), want.shape(), "{name} ({numerics:?}): shape");
    match numerics {
        Numerics::Exact => {
            let atol = case["atol"].as_f64().unwrap() as f32;
            let rtol = case["rtol"].as_f64().unwrap() as f32;
            for (i, (&g, &w)) in got.data().iter().zip(want.data()).enumerate() {
                let ok =
                    (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= atol + rtol * w.abs();
                assert!(
                    ok,
                    "{name} (exact) element {i}: got {g}, want {w} (atol {atol}, rtol {rtol})"
                );
            }
        }
        Numerics::Ane => {
            let mut g = got.clone();
            numerics.round_output(g.data_mut(), DType::Fp16);
            let ulps = case["ane_ulps"].as_u64().unwrap() as u32;
            let atol = case["ane_atol"].as_f64().unwrap_or(0.0) as f32;
            for (i, (&gv, &w)) in g.data().iter().zip(want.data()).enumerate() {
                let wh = f16::from_f32(w);
                let d = f16_ulps(f16::from_f32(gv), wh);
                let ulp_w = (f16::from_bits(wh.to_bits() + 1).to_f32() - w).abs();
                let abs_ok = atol > 0.0 && w.is_finite() && (gv - w).abs() <= atol + ulp_w;
                assert!(
                    d <= ulps || abs_ok,
                    "{name} (ane) element {i}: got {gv}, want {w}: {d} fp16 ulps > {ulps} and \
                     |diff| > {atol} + 1 ulp"
                );
            }
        }
    }
}
