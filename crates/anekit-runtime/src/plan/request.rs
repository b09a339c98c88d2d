//! The plan of an `_ANERequest` (private-api.md §2 step 9 and §5).
//!
//! `requestWithInputs:inputIndices:outputs:outputIndices:weightsBuffer:perfStats:
//! procedureIndex:` takes the input surfaces, NSNumber indices `@0, @1, …` in MIL parameter
//! order, the output surfaces and indices in MIL result order, `nil`, `nil`, and the
//! procedure index as an NSNumber (the function's position in the program). [source]
//!
//! Issue #47 (M1, [unverified]): with several inputs the surface sizes must be strictly
//! ascending by index, with several outputs strictly descending, else the outputs are silent
//! zeros. The plan reports violations as warnings, or refuses them when asked to.

use crate::error::RuntimeError;
use crate::plan::surface::{Role, SurfaceSpec};
use crate::source::FunctionIo;
use serde::Serialize;

/// Everything needed to build one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestPlan {
    pub inputs: Vec<SurfaceSpec>,
    pub outputs: Vec<SurfaceSpec>,
    pub input_indices: Vec<u32>,
    pub output_indices: Vec<u32>,
    pub procedure_index: u32,
    /// Violations of the size-ordering rule (when not enforced).
    pub warnings: Vec<String>,
}

/// Plan the surfaces and indices of a function's requests.
pub fn plan_request(
    io: &FunctionIo,
    alignment: usize,
    enforce_order: bool,
) -> Result<RequestPlan, RuntimeError> {
    let surfaces = |specs: &[crate::IoSpec], role| -> Result<Vec<SurfaceSpec>, RuntimeError> {
        specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let index = u32::try_from(i).map_err(|_| RuntimeError::Plan {
                    name: s.name.clone(),
                    reason: "too many surfaces".into(),
                })?;
                SurfaceSpec::new(s, role, index, alignment)
            })
            .collect()
    };
    let inputs = surfaces(&io.inputs, Role::Input)?;
    let outputs = surfaces(&io.outputs, Role::Output)?;
    if outputs.is_empty() {
        return Err(RuntimeError::Plan {
            name: io.name.clone(),
            reason: "the function has no outputs".into(),
        });
    }
    let procedure_index = u32::try_from(io.index).map_err(|_| RuntimeError::Plan {
        name: io.name.clone(),
        reason: "procedure index overflows".into(),
    })?;
    let warnings = ordering_violations(&inputs, &outputs);
    if let (true, Some(first)) = (enforce_order, warnings.first()) {
        return Err(RuntimeError::Plan {
            name: io.name.clone(),
            reason: first.clone(),
        });
    }
    Ok(RequestPlan {
        input_indices: inputs.iter().map(|s| s.index).collect(),
        output_indices: outputs.iter().map(|s| s.index).collect(),
        inputs,
        outputs,
        procedure_index,
        warnings,
    })
}

/// Where the input sizes are not strictly ascending or the output sizes not strictly
/// descending (issue #47's rule, [unverified]). Single surfaces never violate it.
pub fn ordering_violations(inputs: &[SurfaceSpec], outputs: &[SurfaceSpec]) -> Vec<String> {
    let mut out = Vec::new();
    for pair in inputs.windows(2) {
        if let [a, b] = pair
            && a.alloc_size >= b.alloc_size
        {
            out.push(format!(
                "input surfaces must grow strictly by index on M1 (issue #47, unverified): \
                 `{}` ({} B) is followed by `{}` ({} B)",
                a.name, a.alloc_size, b.name, b.alloc_size
            ));
        }
    }
    for pair in outputs.windows(2) {
        if let [a, b] = pair
            && a.alloc_size <= b.alloc_size
        {
            out.push(format!(
                "output surfaces must shrink strictly by index on M1 (issue #47, unverified): \
                 `{}` ({} B) is followed by `{}` ({} B)",
                a.name, a.alloc_size, b.name, b.alloc_size
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IoSpec;
    use anekit_core::DType;

    fn spec(name: &str, c: usize, s: usize) -> IoSpec {
        IoSpec {
            name: name.into(),
            dtype: DType::Fp16,
            shape: vec![Some(1), Some(c), Some(1), Some(s)],
        }
    }

    fn io(inputs: Vec<IoSpec>, outputs: Vec<IoSpec>, index: usize) -> FunctionIo {
        FunctionIo {
            name: "main".into(),
            index,
            inputs,
            outputs,
        }
    }

    #[test]
    fn indices_follow_mil_order_and_procedure_is_the_function_position() {
        // Activations first, weights second, as closed PR #22 passes them; 3 outputs like
        // dev-erik's fused QKV kernel, sizes descending.
        let plan = plan_request(
            &io(
                vec![spec("x", 64, 32), spec("w", 64, 64)],
                vec![spec("q", 96, 32), spec("k", 64, 32), spec("v", 32, 32)],
                2,
            ),
            1,
            true,
        )
        .unwrap();
        assert_eq!(plan.input_indices, vec![0, 1]);
        assert_eq!(plan.output_indices, vec![0, 1, 2]);
        assert_eq!(plan.procedure_index, 2);
        let sizes: Vec<_> = plan
            .inputs
            .iter()
            .chain(&plan.outputs)
            .map(|s| s.alloc_size)
            .collect();
        assert_eq!(sizes, vec![4096, 8192, 6144, 4096, 2048]);
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn ordering_rule_warns_or_refuses() {
        let bad = io(
            vec![spec("big", 64, 64), spec("small", 64, 32)],
            vec![spec("a", 8, 8), spec("b", 8, 8)],
            0,
        );
        let plan = plan_request(&bad, 1, false).unwrap();
        assert_eq!(
            plan.warnings,
            vec![
                "input surfaces must grow strictly by index on M1 (issue #47, unverified): `big` \
                 (8192 B) is followed by `small` (4096 B)"
                    .to_string(),
                "output surfaces must shrink strictly by index on M1 (issue #47, unverified): `a` \
                 (128 B) is followed by `b` (128 B)"
                    .to_string(),
            ]
        );
        let err = plan_request(&bad, 1, true).unwrap_err();
        assert_eq!(err.code(), "unsupported_io");
    }

    #[test]
    fn single_input_single_output_never_warns() {
        let plan = plan_request(
            &io(vec![spec("x", 8, 8)], vec![spec("y", 16, 16)], 0),
            1,
            true,
        )
        .unwrap();
        assert!(plan.warnings.is_empty());
        assert!(plan_request(&io(vec![spec("x", 8, 8)], vec![], 0), 1, false).is_err());
    }
}
