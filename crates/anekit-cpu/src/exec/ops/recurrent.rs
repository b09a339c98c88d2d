//! Recurrent ops.

use super::OpFn;

pub(crate) const OPS: &[(&str, OpFn)] = &[];
