//! `Executor::run_profiled`: the same results and state updates as `run_with_states`, and one
//! time sample per op that runs, per evaluation, in execution order.

use anekit_core::TensorData;
use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor, Profile};
use half::f16;

/// acc += relu(x) · 2; returns the new value. `two` is a `const`, resolved when the executor
/// is prepared, so it is not among the ops that run.
const PROGRAM: &str = r#"program(1.3)
{
    func main<ios18>(state<tensor<fp16, [1, 3]>> acc, tensor<fp16, [1, 3]> x) {
            fp16 two = const()[name = string("two"), val = fp16(2)];
            tensor<fp16, [1, 3]> r = relu(x = x)[name = string("r")];
            tensor<fp16, [1, 3]> d = mul(x = r, y = two)[name = string("d")];
            tensor<fp16, [1, 3]> old = read_state(input = acc)[name = string("old")];
            tensor<fp16, [1, 3]> sum = add(x = old, y = d)[name = string("sum")];
            tensor<fp16, [1, 3]> w = write_state(data = sum, input = acc)[name = string("w")];
            tensor<fp16, [1, 3]> y = read_state(input = acc)[name = string("y")];
        } -> (y);
}"#;

fn input(v: &[f32]) -> NamedTensor {
    NamedTensor {
        name: "x".into(),
        shape: vec![1, v.len()],
        data: TensorData::F16(v.iter().map(|&x| f16::from_f32(x)).collect()),
    }
}

#[test]
fn profiled_runs_match_plain_runs_and_time_every_op_once_per_evaluation() {
    let program = anekit_ir::check(PROGRAM).program.expect("parses");
    let exec = Executor::new(program, None, ExecOptions::default()).unwrap();
    let x = [input(&[1.0, -2.0, 0.25])];
    let (mut plain, mut profiled) = (exec.new_states(), exec.new_states());
    let mut profile = Profile::default();
    for _ in 0..3 {
        let want = exec.run_with_states(&x, &mut plain).unwrap();
        let got = exec.run_profiled(&x, &mut profiled, &mut profile).unwrap();
        assert_eq!(got, want);
        assert_eq!(profiled, plain);
    }
    // After three evaluations the state holds 3 · relu(x) · 2.
    let acc = profiled.get("acc").unwrap();
    assert_eq!(
        acc.data,
        TensorData::F16([6.0, 0.0, 1.5].map(f16::from_f32).to_vec())
    );
    assert_eq!(profile.evaluations, 3);
    let ops: Vec<(&str, &str)> = profile
        .ops
        .iter()
        .map(|o| (o.kind.as_str(), o.result.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("relu", "r"),
            ("mul", "d"),
            ("read_state", "old"),
            ("add", "sum"),
            ("write_state", "w"),
            ("read_state", "y"),
        ]
    );
    for o in &profile.ops {
        assert_eq!((o.compute.len(), o.finish.len()), (3, 3), "{}", o.result);
        assert_eq!(o.shape, [1, 3], "{}", o.result);
    }
}

#[test]
fn a_profile_from_another_executor_starts_over() {
    let program = anekit_ir::check(PROGRAM).program.expect("parses");
    let exec = Executor::new(program, None, ExecOptions::default()).unwrap();
    // The same number of ops, but others: renamed results.
    let other_src = PROGRAM
        .replace("\"r\"", "\"r2\"")
        .replace(" r = ", " r2 = ");
    let other_src = other_src.replace("x = r,", "x = r2,");
    let other = anekit_ir::check(&other_src).program.expect("parses");
    let other = Executor::new(other, None, ExecOptions::default()).unwrap();
    let x = [input(&[1.0, 1.0, 1.0])];
    let mut profile = Profile::default();
    for _ in 0..2 {
        other
            .run_profiled(&x, &mut other.new_states(), &mut profile)
            .unwrap();
    }
    assert_eq!(
        (profile.evaluations, profile.ops[0].result.as_str()),
        (2, "r2")
    );
    exec.run_profiled(&x, &mut exec.new_states(), &mut profile)
        .unwrap();
    assert_eq!(
        (profile.evaluations, profile.ops[0].result.as_str()),
        (1, "r")
    );
    assert_eq!(profile.ops.len(), 6);
    assert!(profile.ops.iter().all(|o| o.compute.len() == 1));
}
