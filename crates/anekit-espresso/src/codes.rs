//! Numeric codes inside Espresso layers, with how far each meaning is established.
//!
//! Only the meanings tagged [verified] in reference/espresso.md §2.4 and §3 are decoded; every
//! other code stays an opaque integer, and the names other projects claim for it are offered as
//! labelled hints (mdaiter/ane's table is wrong for elementwise codes 1, 2 and 3, so claims are
//! never promoted to meanings).

use serde::Serialize;
use std::fmt;

/// The `operation` of an `elementwise` layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "op", content = "code")]
pub enum ElementwiseOp {
    /// 0: a + b (two inputs). [verified]
    Add,
    /// 1: a × b (two inputs). [verified]
    Mul,
    /// 2: x + alpha (one input). [verified]
    AddAlpha,
    /// 3: x × alpha (one input). [verified]
    MulAlpha,
    /// 119: clip(x, alpha, beta). [verified]
    Clip,
    /// Any other code: meaning not established.
    Unknown(i64),
}

impl ElementwiseOp {
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => ElementwiseOp::Add,
            1 => ElementwiseOp::Mul,
            2 => ElementwiseOp::AddAlpha,
            3 => ElementwiseOp::MulAlpha,
            119 => ElementwiseOp::Clip,
            other => ElementwiseOp::Unknown(other),
        }
    }

    pub fn code(self) -> i64 {
        match self {
            ElementwiseOp::Add => 0,
            ElementwiseOp::Mul => 1,
            ElementwiseOp::AddAlpha => 2,
            ElementwiseOp::MulAlpha => 3,
            ElementwiseOp::Clip => 119,
            ElementwiseOp::Unknown(c) => c,
        }
    }

    /// What others claim for an unknown code: (mdaiter/ane, espresso2onnx). Unverified.
    pub fn claims(code: i64) -> (Option<&'static str>, Option<&'static str>) {
        let mdaiter = match code {
            4 => "floor_div",
            10 => "max",
            11 => "min",
            20 => "sqrt",
            21 => "rsqrt",
            22 => "square",
            23 => "neg",
            24 => "reciprocal",
            25 => "pow",
            26 => "exp",
            27 => "log",
            28 => "abs",
            101 => "select",
            105 => "less_than",
            106 => "less_equal",
            107 => "not_equal",
            108 => "equal",
            109 => "greater_equal",
            110 => "greater_than",
            117 => "floor",
            118 => "ceil",
            _ => "",
        };
        let e2o = match code {
            10 => "divide",
            24 => "abs",
            106 => "greater",
            _ => "",
        };
        let some = |s: &'static str| (!s.is_empty()).then_some(s);
        (some(mdaiter), some(e2o))
    }
}

impl fmt::Display for ElementwiseOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElementwiseOp::Add => f.write_str("add(a,b)"),
            ElementwiseOp::Mul => f.write_str("mul(a,b)"),
            ElementwiseOp::AddAlpha => f.write_str("add(x,alpha)"),
            ElementwiseOp::MulAlpha => f.write_str("mul(x,alpha)"),
            ElementwiseOp::Clip => f.write_str("clip(x,alpha,beta)"),
            ElementwiseOp::Unknown(code) => {
                write!(f, "unknown elementwise op {code}")?;
                match ElementwiseOp::claims(*code) {
                    (Some(m), Some(e)) => {
                        write!(
                            f,
                            " (claimed {m} by mdaiter/ane, {e} by espresso2onnx; unverified)"
                        )
                    }
                    (Some(m), None) => write!(f, " (claimed {m} by mdaiter/ane; unverified)"),
                    (None, Some(e)) => write!(f, " (claimed {e} by espresso2onnx; unverified)"),
                    (None, None) => Ok(()),
                }
            }
        }
    }
}

/// The `mode` of an `activation` layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "code")]
pub enum ActivationMode {
    /// 0: ReLU. [verified]
    Relu,
    /// Any other mode: meaning not established.
    Unknown(i64),
}

impl ActivationMode {
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => ActivationMode::Relu,
            other => ActivationMode::Unknown(other),
        }
    }

    pub fn code(self) -> i64 {
        match self {
            ActivationMode::Relu => 0,
            ActivationMode::Unknown(c) => c,
        }
    }

    /// espresso2onnx's reading of a mode. Unverified.
    pub fn claim(code: i64) -> Option<&'static str> {
        Some(match code {
            1 => "tanh",
            2 => "leaky_relu",
            3 => "sigmoid",
            4 => "prelu",
            8 => "elu",
            9 => "thresholded_relu",
            10 => "softplus",
            12 => "softsign",
            _ => return None,
        })
    }
}

impl fmt::Display for ActivationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActivationMode::Relu => f.write_str("relu"),
            ActivationMode::Unknown(code) => match ActivationMode::claim(*code) {
                Some(c) => write!(
                    f,
                    "unknown activation mode {code} (claimed {c} by espresso2onnx; unverified)"
                ),
                None => write!(f, "unknown activation mode {code}"),
            },
        }
    }
}

/// `avg_or_max` of a `pool` layer: 0 average, 1 max. [verified]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "code")]
pub enum PoolKind {
    Average,
    Max,
    Unknown(i64),
}

impl PoolKind {
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => PoolKind::Average,
            1 => PoolKind::Max,
            other => PoolKind::Unknown(other),
        }
    }
}

impl fmt::Display for PoolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolKind::Average => f.write_str("average"),
            PoolKind::Max => f.write_str("max"),
            PoolKind::Unknown(c) => write!(f, "unknown pool kind {c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_codes_decode_and_others_stay_opaque() {
        // reference/espresso.md §3: 1 is multiply (not mdaiter's "sub"), 3 is x*alpha (not "div").
        assert_eq!(ElementwiseOp::from_code(1), ElementwiseOp::Mul);
        assert_eq!(ElementwiseOp::from_code(3), ElementwiseOp::MulAlpha);
        assert_eq!(ElementwiseOp::from_code(119), ElementwiseOp::Clip);
        assert_eq!(ElementwiseOp::from_code(10), ElementwiseOp::Unknown(10));
        assert_eq!(
            ElementwiseOp::Unknown(10).to_string(),
            "unknown elementwise op 10 (claimed max by mdaiter/ane, divide by espresso2onnx; unverified)"
        );
        assert_eq!(ActivationMode::from_code(0), ActivationMode::Relu);
        assert_eq!(ActivationMode::from_code(3), ActivationMode::Unknown(3));
        assert_eq!(PoolKind::from_code(1), PoolKind::Max);
        assert_eq!(PoolKind::from_code(0), PoolKind::Average);
    }
}
