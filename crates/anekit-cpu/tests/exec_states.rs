//! `state<...>` inputs: `read_state`, `write_state` and the text dialect's
//! `coreml_update_state`, carried across evaluations by `run_with_states`.

use anekit_core::TensorData;
use anekit_cpu::exec::{ExecError, ExecOptions, Executor, NamedTensor, States};
use half::f16;

fn exec(src: &str) -> Executor {
    let program = anekit_ir::check(src).program.expect("parses");
    Executor::new(program, None, ExecOptions::default()).unwrap()
}

fn f16s(v: &[f32]) -> TensorData {
    TensorData::F16(v.iter().map(|&x| f16::from_f32(x)).collect())
}

fn input(v: &[f32]) -> NamedTensor {
    NamedTensor {
        name: "x".into(),
        shape: vec![1, v.len()],
        data: f16s(v),
    }
}

/// acc += x; returns the new value.
const WRITE_READ: &str = r#"program(1.3)
{
    func main<ios18>(state<tensor<fp16, [1, 3]>> acc, tensor<fp16, [1, 3]> x) {
            tensor<fp16, [1, 3]> old = read_state(input = acc)[name = string("old")];
            tensor<fp16, [1, 3]> sum = add(x = old, y = x)[name = string("sum")];
            tensor<fp16, [1, 3]> w = write_state(data = sum, input = acc)[name = string("w")];
            tensor<fp16, [1, 3]> y = read_state(input = acc)[name = string("y")];
        } -> (y);
}"#;

const UPDATE: &str = r#"program(1.3)
{
    func main<ios18>(state<tensor<fp16, [1, 3]>> acc, tensor<fp16, [1, 3]> x) {
            tensor<fp16, [1, 3]> old = read_state(input = acc)[name = string("old")];
            tensor<fp16, [1, 3]> sum = add(x = old, y = x)[name = string("sum")];
            tensor<fp16, [1, 3]> y = coreml_update_state(state = acc, value = sum)[name = string("y")];
        } -> (y);
}"#;

fn accumulates(src: &str) {
    let e = exec(src);
    assert!(
        e.inputs().iter().all(|i| i.name != "acc"),
        "states are not inputs"
    );
    assert_eq!(e.states().len(), 1);
    assert_eq!(e.states()[0].shape, vec![Some(1), Some(3)]);
    let mut states = e.new_states();
    assert_eq!(states.get("acc").unwrap().data, f16s(&[0.0, 0.0, 0.0]));
    let y1 = e
        .run_with_states(&[input(&[1.0, 2.0, 0.5])], &mut states)
        .unwrap();
    assert_eq!(y1[0].data, f16s(&[1.0, 2.0, 0.5]));
    let y2 = e
        .run_with_states(&[input(&[1.0, 2.0, 0.5])], &mut states)
        .unwrap();
    assert_eq!(y2[0].data, f16s(&[2.0, 4.0, 1.0]));
    assert_eq!(states.get("acc").unwrap().data, f16s(&[2.0, 4.0, 1.0]));
    // `run` starts from zeros every time.
    let y = e.run(&[input(&[1.0, 2.0, 0.5])]).unwrap();
    assert_eq!(y[0].data, f16s(&[1.0, 2.0, 0.5]));
}

#[test]
fn write_state_then_read_state_accumulates() {
    accumulates(WRITE_READ);
}

#[test]
fn coreml_update_state_accumulates() {
    accumulates(UPDATE);
}

#[test]
fn state_of_wrong_shape_is_named() {
    let e = exec(WRITE_READ);
    let mut states = States::new();
    states.set(NamedTensor {
        name: "acc".into(),
        shape: vec![1, 4],
        data: f16s(&[0.0; 4]),
    });
    let err = e
        .run_with_states(&[input(&[1.0, 2.0, 0.5])], &mut states)
        .unwrap_err();
    assert!(
        matches!(&err, ExecError::State { name, .. } if name == "acc"),
        "{err}"
    );
    assert!(err.to_string().contains("[1, 4]"), "{err}");
}

#[test]
fn state_updates_are_rounded_to_fp16() {
    let e = exec(WRITE_READ);
    let mut states = States::new();
    states.set(NamedTensor {
        name: "acc".into(),
        shape: vec![1, 3],
        data: f16s(&[60000.0, 1.0, 0.0]),
    });
    let y = e
        .run_with_states(&[input(&[60000.0, 0.00048828125, 0.0])], &mut states)
        .unwrap();
    // 120000 overflows fp16 → inf; 1 + 2^-11 is a tie → 1 (even).
    assert_eq!(y[0].data, f16s(&[f32::INFINITY, 1.0, 0.0]));
}
