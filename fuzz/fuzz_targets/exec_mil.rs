#![no_main]
//! Run arbitrary MIL text on the CPU executor: a program that parses and validates must run or
//! give an `ExecError`, never panic and never allocate past the element limit (set low here, so
//! a hostile shape, `tile` reps or `fill` shape is refused quickly).
//!
//! Weights are random (`random_weights`: no files are read), unknown dims are 3, and the input
//! values come from a seed in the input's last 8 bytes: mostly small numbers, sometimes large
//! ones (indices, reps and shapes read from inputs must be checked too).
use anekit_core::TensorData;
use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let checked = anekit_ir::check(src);
    if !checked.is_valid() {
        return;
    }
    let Some(program) = checked.program else {
        return;
    };
    let options = ExecOptions {
        random_weights: Some(1),
        max_elements: Some(1 << 16),
        dims: BTreeMap::from([("?".to_owned(), 3)]),
        ..ExecOptions::default()
    };
    let Ok(exec) = Executor::new(program, None, options) else {
        return;
    };
    let mut seed = data
        .iter()
        .rev()
        .take(8)
        .fold(0x9E37_79B9_7F4A_7C15u64, |s, &b| {
            (s << 8) ^ u64::from(b) ^ (s >> 56)
        })
        | 1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut inputs = Vec::new();
    for spec in exec.inputs() {
        let shape: Vec<usize> = spec.shape.iter().map(|d| d.unwrap_or(3)).collect();
        let n: usize = shape.iter().product();
        if n > 1 << 16 {
            return;
        }
        let values: Vec<f32> = (0..n)
            .map(|_| {
                let r = next();
                match r % 16 {
                    0 => (r >> 8) as i32 as f32, // large, either sign
                    1 => -1.0,
                    2 => 0.0,
                    _ => ((r >> 8) % 9) as f32 - 4.0, // small integers and floats alike
                }
            })
            .collect();
        let Ok(data) = TensorData::F32(values).convert(spec.dtype) else {
            return;
        };
        inputs.push(NamedTensor {
            name: spec.name,
            shape,
            data,
        });
    }
    let mut states = exec.new_states();
    let _ = exec.run_with_states(&inputs, &mut states);
});
