//! One hand-written fixture per diagnostic class (tests/fixtures/*.mil): the exact error codes
//! and their `line:col` (columns counted independently with a script over the fixture text),
//! and nothing else of error severity.

use anekit_ir::{Severity, check};
use anekit_mil::LineIndex;

fn errors(fixture: &str) -> Vec<(String, usize, usize)> {
    let path = format!(
        "{}/tests/fixtures/{fixture}.mil",
        env!("CARGO_MANIFEST_DIR")
    );
    let src = std::fs::read_to_string(&path).unwrap();
    let index = LineIndex::new(&src);
    check(&src)
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let (line, col) = index.line_col(&src, d.span.start);
            (d.code.to_string(), line, col)
        })
        .collect()
}

fn expect(fixture: &str, expected: &[(&str, usize, usize)]) {
    let found = errors(fixture);
    let expected: Vec<(String, usize, usize)> = expected
        .iter()
        .map(|(c, l, k)| (c.to_string(), *l, *k))
        .collect();
    assert_eq!(found, expected, "fixture {fixture}.mil");
}

#[test]
fn unknown_op() {
    expect("unknown_op", &[("E-unknown-op", 4, 38)]);
}

#[test]
fn unknown_input() {
    expect("unknown_input", &[("E-unknown-input", 4, 50)]);
}

#[test]
fn missing_required_input() {
    expect("missing_input", &[("E-missing-input", 4, 38)]);
}

#[test]
fn op_newer_than_the_function_opset() {
    expect("op_not_in_opset", &[("E-op-not-in-opset", 4, 45)]);
}

#[test]
fn input_newer_than_the_function_opset() {
    // gather gained batch_dims in iOS16 (mil-text.md §6.17).
    expect("input_not_in_opset", &[("E-input-not-in-opset", 4, 62)]);
}

#[test]
fn undefined_value() {
    expect("undefined_value", &[("E-undefined-value", 4, 47)]);
}

#[test]
fn use_before_definition() {
    expect("use_before_def", &[("E-use-before-def", 4, 47)]);
}

#[test]
fn duplicate_definition() {
    expect("duplicate_def", &[("E-duplicate-def", 5, 34)]);
}

#[test]
fn undefined_function_output() {
    expect("undefined_output", &[("E-undefined-output", 5, 18)]);
}

#[test]
fn declared_type_differs_from_inferred() {
    // [2, 1] + [1, 3] broadcasts to [2, 3], declared [2, 2].
    expect("type_mismatch", &[("E-type-mismatch", 4, 13)]);
}

#[test]
fn input_dtype_not_allowed() {
    expect("input_dtype", &[("E-input-dtype", 4, 51)]);
}

#[test]
fn wrong_number_of_results() {
    expect("result_count", &[("E-result-count", 4, 62)]);
}

#[test]
fn input_must_be_constant() {
    expect("input_not_const", &[("E-input-not-const", 4, 55)]);
}

#[test]
fn inconsistent_inputs() {
    // [2, 3] x [4, 5]: inner dims 3 and 4 differ.
    expect("invalid_op", &[("E-invalid-op", 4, 38)]);
}

#[test]
fn literal_payload_does_not_fit_its_type() {
    expect("literal", &[("E-literal", 4, 89)]);
}

#[test]
fn unknown_opset() {
    expect("unknown_opset", &[("E-unknown-opset", 3, 15)]);
}

#[test]
fn tensor_where_a_tuple_is_expected() {
    expect("input_kind", &[("E-input-kind", 4, 97)]);
}

#[test]
fn syntax_error_is_one_parse_diagnostic() {
    expect("parse_error", &[("E-parse", 5, 9)]);
}

#[test]
fn all_problems_are_reported_not_just_the_first() {
    expect(
        "many_errors",
        &[
            // conv 3x3 valid on 4x4 gives 2x2, declared 4x4.
            ("E-type-mismatch", 8, 13),
            // quantize is iOS17+, the function is ios16.
            ("E-op-not-in-opset", 10, 45),
            ("E-unknown-op", 11, 45),
            ("E-undefined-output", 12, 18),
        ],
    );
}

#[test]
fn ops_without_inference_get_one_info_note_per_op_kind() {
    // fill has no inference yet: two uses give one note that counts both.
    let src = "program(1.3)\n{\n    func main<ios18>(tensor<int32, [2]> s) {\n            tensor<fp32, [?, ?]> a = fill(shape = s);\n            tensor<fp32, [?, ?]> b = fill(shape = s);\n        } -> (a, b);\n}";
    let notes: Vec<_> = check(src)
        .diagnostics
        .into_iter()
        .map(|d| (d.severity, d.code, d.message))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!((notes[0].0, notes[0].1), (Severity::Info, "I-unchecked-op"));
    assert!(
        notes[0].2.starts_with("2 `fill` op(s) not type-checked"),
        "{}",
        notes[0].2
    );
}

#[test]
fn newer_opset_is_checked_as_ios18_with_a_note() {
    let src = "program(1.3)\n{\n    func main<ios26>(tensor<fp16, [1, 4]> x) {\n            tensor<fp16, [1, 4]> y = relu(x = x);\n        } -> (y);\n}";
    let c = check(src);
    assert!(c.is_valid());
    let codes: Vec<_> = c.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["I-newer-opset"]);
    assert_eq!(
        c.program.unwrap().functions[0].opset,
        anekit_ir::ops::Opset::Ios18
    );
}

#[test]
fn op_attributes_other_than_name_are_kept_as_constants() {
    let src = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 4]> x) {\n            tensor<fp16, [1, 4]> y = relu(x = x)[SelectedBackend = string(\"bnns\"), milId = uint64(7), name = string(\"r\")];\n        } -> (y);\n}";
    let program = check(src).program.unwrap();
    let op = &program.functions[0].ops[0];
    assert_eq!(op.name.as_deref(), Some("r"));
    let attrs: Vec<(&str, &anekit_ir::ir::ConstData)> = op
        .attributes
        .iter()
        .map(|(n, c)| (n.as_str(), &program.constant(*c).unwrap().data))
        .collect();
    assert_eq!(
        attrs,
        [
            (
                "SelectedBackend",
                &anekit_ir::ir::ConstData::Strings(vec!["bnns".into()])
            ),
            ("milId", &anekit_ir::ir::ConstData::Ints(vec![7])),
        ]
    );
}

#[test]
fn duplicate_input() {
    expect("duplicate_input", &[("E-duplicate-input", 4, 49)]);
}

#[test]
fn duplicate_function() {
    expect("duplicate_function", &[("E-duplicate-function", 6, 10)]);
}

#[test]
fn nested_blocks_are_unsupported() {
    // One diagnostic per nested block, at the block's name.
    expect(
        "nested_block",
        &[("E-unsupported", 4, 53), ("E-unsupported", 5, 22)],
    );
}
