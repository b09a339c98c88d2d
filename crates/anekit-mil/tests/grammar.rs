//! One test per grammar feature: parse, check decoded fields, and compare the canonical print
//! with exact expected text (reference/mil-text.md §3–§5).

use anekit_core::DType;
use anekit_mil::ast::*;
use anekit_mil::{Dialect, PrintOptions, parse, print};

fn canon(src: &str) -> String {
    let tree = parse(src).unwrap_or_else(|e| panic!("parse failed: {e}\n{src}"));
    let out = print(&tree, &PrintOptions::default());
    // Printing is a fixed point and preserves the (sorted) tree.
    let again = parse(&out).unwrap_or_else(|e| panic!("reparse failed: {e}\n{out}"));
    let mut sorted = tree.clone();
    sorted.sort_canonical();
    assert_eq!(again, sorted, "tree changed through print:\n{out}");
    assert_eq!(print(&again, &PrintOptions::default()), out);
    out
}

fn in_main(stmts: &str) -> String {
    format!(
        "program(1.3)\n{{\n    func main<ios18>(tensor<fp16, [1]> x) {{\n{stmts}        }} -> (y);\n}}"
    )
}

fn dialect(src: &str, d: Dialect) -> String {
    let tree = parse(src).unwrap();
    print(
        &tree,
        &PrintOptions {
            dialect: Some(d),
            final_newline: None,
        },
    )
}

const VERBOSE: &str = "program(1.0)
[buildInfo = dict<tensor<string, []>, tensor<string, []>>({{\"coremlc-version\", \"3402.4.1\"}})]
{
    func main<ios16>(tensor<fp16, [1, 10]> x, tensor<fp16, [1, 10]> y) {
            tensor<int32, []> ax = const()[name = tensor<string, []>(\"ax\"), val = tensor<int32, []>(-1)];
            tensor<fp16, [1, 10]> w = const()[name = tensor<string, []>(\"w\"), val = tensor<fp16, [1, 10]>(BLOBFILE(path = tensor<string, []>(\"@model_path/weights/weight.bin\"), offset = tensor<uint64, []>(64)))];
            tensor<fp16, [1, 10]> var_3 = mul(x = x, y = w)[name = tensor<string, []>(\"op_3_cast_fp16\")];
        } -> (var_3);
}";

const COMPACT: &str = "program(1.3)
[buildInfo = dict<string, string>({{\"coremlc-version\", \"3402.4.1\"}})]
{
    func main<ios16>(tensor<fp16, [1, 10]> x, tensor<fp16, [1, 10]> y) {
            int32 ax = const()[name = string(\"ax\"), val = int32(-1)];
            tensor<fp16, [1, 10]> w = const()[name = string(\"w\"), val = tensor<fp16, [1, 10]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(64)))];
            tensor<fp16, [1, 10]> var_3 = mul(x = x, y = w)[name = string(\"op_3_cast_fp16\")];
        } -> (var_3);
}";

#[test]
fn canonical_text_is_a_fixed_point_in_both_dialects() {
    assert_eq!(canon(VERBOSE), VERBOSE);
    assert_eq!(canon(COMPACT), COMPACT);
}

#[test]
fn dialect_conversion_both_ways() {
    assert_eq!(dialect(VERBOSE, Dialect::V1_3), COMPACT);
    assert_eq!(dialect(COMPACT, Dialect::V1_0), VERBOSE);
    assert_eq!(dialect(VERBOSE, Dialect::V1_0), VERBOSE);
    let v = parse(VERBOSE).unwrap();
    assert_eq!(v.dialect(), Dialect::V1_0);
    assert_eq!(parse(COMPACT).unwrap().dialect(), Dialect::V1_3);
}

#[test]
fn mixed_scalar_spellings_are_kept_or_unified() {
    let src = in_main(
        "            int32 a = const()[val = tensor<int32, []>(1)];\n            tensor<int32, []> y = add(x = a, y = int32(2));\n",
    );
    assert_eq!(canon(&src), src);
    let tree = parse(&src).unwrap();
    let stmts = &tree.functions[0].body.statements;
    assert_eq!(stmts[0].results[0].ty.scalar_dtype(), Some(DType::Int32));
    assert_eq!(stmts[1].results[0].ty.scalar_dtype(), Some(DType::Int32));
    assert!(dialect(&src, Dialect::V1_3).contains(
        "int32 a = const()[val = int32(1)];\n            int32 y = add(x = a, y = int32(2));"
    ));
}

#[test]
fn hand_written_compact_style_becomes_canonical() {
    let src = "program(1.3)\n[buildInfo=dict<string,string>({{\"k\",\"v\"}})]\n{\n  func main<ios18>(tensor<fp16, [1,4,1,8]> x) {\n    tensor<int32, [4]> ba = const()[name=string(\"ba\"), val=tensor<int32, [4]>([0,0,0,0])];\n    tensor<fp16, [1,4,1,2]> y = slice_by_size(x=x,size=ba,begin=ba)[name=string(\"y\")];\n  } -> (y);\n}\n";
    let expected = "program(1.3)\n[buildInfo = dict<string, string>({{\"k\", \"v\"}})]\n{\n    func main<ios18>(tensor<fp16, [1, 4, 1, 8]> x) {\n            tensor<int32, [4]> ba = const()[name = string(\"ba\"), val = tensor<int32, [4]>([0, 0, 0, 0])];\n            tensor<fp16, [1, 4, 1, 2]> y = slice_by_size(begin = ba, size = ba, x = x)[name = string(\"y\")];\n        } -> (y);\n}\n";
    assert_eq!(canon(src), expected);
    // No whitespace at all, CR line ends: same tree.
    let squeezed: String = src.split_whitespace().collect::<Vec<_>>().join("");
    let squeezed = squeezed
        .replace("func", "func ")
        .replace(">x)", "> x)")
        .replace(">ba", "> ba")
        .replace(">y", "> y")
        + "\n";
    assert_eq!(parse(&squeezed).unwrap(), parse(src).unwrap());
    let crlf = src.replace('\n', "\r\n");
    assert_eq!(parse(&crlf).unwrap(), parse(src).unwrap());
}

#[test]
fn arguments_and_attributes_sort_in_byte_order() {
    let src = in_main(
        "            tensor<fp16, [1]> y = relu(x = x)[name = string(\"n\"), milId = uint64(0), SelectedBackend = string(\"ane\"), BackendSupport = list<string, 1>([\"ane\"])];\n",
    );
    assert!(canon(&src).contains(
        "relu(x = x)[BackendSupport = list<string, 1>([\"ane\"]), SelectedBackend = string(\"ane\"), milId = uint64(0), name = string(\"n\")];"
    ));
    let src = in_main(
        "            tensor<fp16, [1]> y = conv(x = x, weight = w, strides = s, pad_type = p, pad = q, groups = g, dilations = d, bias = b);\n",
    );
    assert!(canon(&src).contains(
        "conv(bias = b, dilations = d, groups = g, pad = q, pad_type = p, strides = s, weight = w, x = x);"
    ));
}

#[test]
fn multiple_results_op_opset_and_tuple_arguments() {
    let src = in_main(
        "            tensor<fp16, [1]> a, tensor<fp16, [1]> b = split<ios17>(num_splits = int32(2), x = x);\n            tensor<fp16, [2]> y = concat(axis = int32(0), interleave = bool(false), values = (a, b));\n",
    );
    assert_eq!(canon(&src), src);
    let tree = parse(&src).unwrap();
    let s = &tree.functions[0].body.statements[0];
    assert_eq!(s.results.len(), 2);
    assert_eq!(s.results[1].name.name, "b");
    assert_eq!(s.op_opset.as_ref().map(|o| o.as_str()), Some("ios17"));
    let concat = &tree.functions[0].body.statements[1];
    match concat.arg("values") {
        Some(ArgValue::Tuple { items, .. }) => {
            assert_eq!(items.len(), 2);
            assert!(matches!(&items[0], ArgValue::Name(n) if n.name == "a"));
        }
        other => panic!("values is not a tuple: {other:?}"),
    }
}

#[test]
fn functions_opsets_params_and_function_attributes() {
    let src = "program(1.3)\n{\n    func first<ios19>(tensor<fp32, [?]> input, state<tensor<fp16, [1, 1, 4, 64]>> cache) [FlexibleShapeInformation = tuple<tuple<string, dict<string, tensor<int32, [?]>>>, tuple<string, dict<string, list<tensor<int32, [2]>, ?>>>>(((\"DefaultShapes\", {{\"input\", [4]}}), (\"RangeDims\", {{\"input\", [[0, 4]]}})))] {\n            tensor<fp16, [1, 1, 4, 64]> s = read_state(input = cache);\n        } -> (input, s);\n    func second<ios15>() {\n        } -> ();\n}";
    assert_eq!(canon(src), src);
    let tree = parse(src).unwrap();
    assert_eq!(tree.functions.len(), 2);
    let f = tree.function("first").unwrap();
    assert_eq!(f.opset.name, "ios19"); // unknown opsets are kept verbatim
    assert_eq!(
        f.params[0].ty.kind,
        TypeKind::Tensor {
            dtype: DType::Fp32,
            shape: vec![Dim::Unknown]
        }
    );
    assert!(
        matches!(&f.params[1].ty.kind, TypeKind::State(inner) if matches!(inner.kind, TypeKind::Tensor { dtype: DType::Fp16, .. }))
    );
    assert!(f.attribute("FlexibleShapeInformation").is_some());
    assert_eq!(f.body.outputs.len(), 2);
    assert!(tree.function("second").unwrap().params.is_empty());
}

#[test]
fn literal_payloads_decode_to_exact_values() {
    let src = in_main(concat!(
        "            tensor<int32, [2, 3]> a = const()[val = tensor<int32, [2, 3]>([[1, -2, 3], [4, 5, -9223372036854775808]])];\n",
        "            tensor<uint64, []> u = const()[val = tensor<uint64, []>(18446744073709551615)];\n",
        "            tensor<bool, [2]> b = const()[val = tensor<bool, [2]>([true, false])];\n",
        "            list<string, 2> l = const()[val = list<string, 2>([\"a\", \"b\"])];\n",
        "            dict<string, fp64> d = const()[val = dict<string, fp64>({{\"ane\", 0}, {\"bnns\", 0x1p-3}})];\n",
        "            tensor<int32, [0]> e = const()[val = tensor<int32, [0]>([])];\n",
        "            tensor<fp16, [1]> y = identity(x = x);\n",
    ));
    assert_eq!(canon(&src), src);
    let tree = parse(&src).unwrap();
    let st = &tree.functions[0].body.statements;
    let val = |i: usize| &st[i].attribute("val").unwrap().value.kind;
    match val(0) {
        PayloadKind::Array(a) => {
            assert_eq!(a.shape, vec![2, 3]);
            assert_eq!(
                a.elements,
                Elements::Int(vec![1, -2, 3, 4, 5, i128::from(i64::MIN)])
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*val(1), PayloadKind::Int(i128::from(u64::MAX)));
    assert!(
        matches!(val(2), PayloadKind::Array(a) if a.elements == Elements::Bool(vec![true, false]))
    );
    assert!(
        matches!(val(3), PayloadKind::Array(a) if a.elements == Elements::Str(vec!["a".into(), "b".into()]))
    );
    match val(4) {
        PayloadKind::Dict(entries) => {
            assert_eq!(entries.len(), 2);
            assert_eq!(entries[0].value.kind, PayloadKind::Int(0)); // `fp64(0)` stays an integer spelling
            assert_eq!(entries[1].value.kind, PayloadKind::Float(Float(0.125)));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(val(5), PayloadKind::Array(a) if a.shape == vec![0] && a.elements.is_empty()));
}

#[test]
fn floats_are_normalized_to_compiler_hex_spelling() {
    let src = in_main(
        "            tensor<fp32, [9]> c = const()[val = tensor<fp32, [9]>([0x1.0p0, 0x10p-4, 0x1.18p6, -0x1.3880p+13, 0.125000, -0.5, 4.0960000000000001e-05, 0x0.0p0, -0x0p+0])];\n            tensor<fp16, [4]> y = const()[val = tensor<fp16, [4]>([inf, -inf, nan, 0x0.004p-14])];\n",
    );
    let out = canon(&src);
    assert!(out.contains("([0x1p+0, 0x1p+0, 0x1.18p+6, -0x1.388p+13, 0x1p-3, -0x1p-1, 0x1.5798ee2308c3ap-15, 0x0p+0, -0x0p+0])"), "{out}");
    // fp16 subnormal 2^-24 written with a denormal-style mantissa is printed normalized.
    assert!(out.contains("([inf, -inf, nan, 0x1p-24])"), "{out}");
    let tree = parse(&src).unwrap();
    match &tree.functions[0].body.statements[0]
        .attribute("val")
        .unwrap()
        .value
        .kind
    {
        PayloadKind::Array(a) => match &a.elements {
            Elements::Float(v) => {
                assert_eq!(v[2], Float(70.0));
                assert_eq!(v[3], Float(-10000.0));
                assert_eq!(v[6], Float(4.096e-5));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn strings_keep_escapes() {
    let src = in_main(
        "            string s = const()[val = string(\"Unsupported MIL operation \\\"lstm\\\". a\\\\b\\n\")];\n            tensor<fp16, [1]> y = identity(x = x);\n",
    );
    assert_eq!(canon(&src), src);
    let tree = parse(&src).unwrap();
    let s = tree.functions[0].body.statements[0]
        .attribute("val")
        .unwrap();
    assert_eq!(
        s.as_str(),
        Some("Unsupported MIL operation \"lstm\". a\\b\n")
    );
}

#[test]
fn ragged_or_mixed_lists_fall_back_to_nodes() {
    let src = in_main(
        "            tuple<string, list<tensor<int32, [?]>, ?>> t = const()[val = tuple<string, list<tensor<int32, [?]>, ?>>((\"r\", [[0, 4], [1]]))];\n            tensor<fp16, [1]> y = const()[val = list<fp16, 2>([1, 0x1p-1])];\n",
    );
    assert_eq!(canon(&src), src);
    let tree = parse(&src).unwrap();
    let st = &tree.functions[0].body.statements;
    match &st[0].attribute("val").unwrap().value.kind {
        PayloadKind::Tuple(items) => match &items[1].kind {
            PayloadKind::List(rows) => {
                assert_eq!(rows.len(), 2);
                assert!(
                    matches!(&rows[1].kind, PayloadKind::Array(a) if a.elements == Elements::Int(vec![1]))
                );
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&st[1].attribute("val").unwrap().value.kind, PayloadKind::List(v) if v.len() == 2)
    );
}

#[test]
fn blobfile_fields() {
    let tree = parse(COMPACT).unwrap();
    let w = tree.functions[0].body.statements[1]
        .attribute("val")
        .unwrap();
    match &w.value.kind {
        PayloadKind::Blob(b) => {
            assert_eq!(b.path_str(), Some("@model_path/weights/weight.bin"));
            assert_eq!(b.offset_u64(), Some(64));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        w.ty.kind,
        TypeKind::Tensor {
            dtype: DType::Fp16,
            shape: vec![Dim::Known(1), Dim::Known(10)]
        }
    );
}

#[test]
fn analysis_dump_types_and_decimal_floats() {
    let src = "program(1.3)\n{\n    func main<ios18>(tensor_buffer<fp16, shape=[16, 1, 64], strides=[64, 64, 1], interleave_factors=[1, 1, 1]> x0) [Launch_ane_ms = fp64(0x1p-3)] {\n            tensor<fp16, [16, 1, 64]> y = tensor_buffer_to_tensor<ios17>(input = x0)[EstimatedRuntime = dict<string, fp64>({{\"ane\", 0.0012258781209570095}}), milId = uint64(0)];\n        } -> (y);\n}";
    let out = canon(src);
    // Decimal floats are printed as hex floats holding the same f64 (value from Python float.hex()).
    assert!(out.contains("{{\"ane\", 0x1.415b49c0e9e87p-10}}"), "{out}");
    let tree = parse(src).unwrap();
    assert_eq!(
        tree.functions[0].params[0].ty.kind,
        TypeKind::TensorBuffer {
            dtype: DType::Fp16,
            shape: vec![16, 1, 64],
            strides: vec![64, 64, 1],
            interleave_factors: vec![1, 1, 1]
        }
    );
}

#[test]
fn nested_blocks_of_control_flow_ops() {
    let src = in_main(concat!(
        "            tensor<fp16, [1]> y = cond(pred = p) true_fn() {\n",
        "                    tensor<fp16, [1]> a = relu(x = x);\n",
        "                } -> (a) false_fn() {\n",
        "                } -> (x);\n",
        "            tensor<int32, []> n = while_loop(loop_vars = (i)) cond_fn(tensor<int32, []> i) {\n",
        "                    tensor<bool, []> c = less(x = i, y = int32(3));\n",
        "                } -> (c) body_fn(tensor<int32, []> i) {\n",
        "                } -> (i);\n",
    ));
    assert_eq!(canon(&src), src);
    let tree = parse(&src).unwrap();
    let s = &tree.functions[0].body.statements[0];
    assert_eq!(s.blocks.len(), 2);
    assert_eq!(s.blocks[0].name.name, "true_fn");
    assert_eq!(s.blocks[0].body.statements[0].op.name, "relu");
    assert_eq!(s.blocks[1].body.outputs[0].name, "x");
    assert_eq!(
        tree.functions[0].body.statements[1].blocks[0].params[0]
            .name
            .name,
        "i"
    );
}

#[test]
fn final_newline_is_kept_or_forced() {
    let with = format!("{COMPACT}\n");
    let tree = parse(&with).unwrap();
    assert!(tree.trailing_newline);
    assert_eq!(print(&tree, &PrintOptions::default()), with);
    let forced = PrintOptions {
        dialect: None,
        final_newline: Some(false),
    };
    assert_eq!(print(&tree, &forced), COMPACT);
    assert!(!parse(COMPACT).unwrap().trailing_newline);
    // Extra trailing whitespace is accepted and normalized to one line feed.
    assert_eq!(
        print(
            &parse(&format!("{COMPACT} \r\n\n")).unwrap(),
            &PrintOptions::default()
        ),
        with
    );
}

#[test]
fn spans_cover_the_source_text_of_each_node() {
    let tree = parse(COMPACT).unwrap();
    let text = |s: Span| &COMPACT[s.range()];
    assert_eq!(text(tree.span), COMPACT);
    assert_eq!(text(tree.version.span), "1.3");
    let f = &tree.functions[0];
    assert!(text(f.span).starts_with("func main<ios16>("));
    assert!(text(f.span).ends_with("} -> (var_3);"));
    assert_eq!(text(f.params[1].span), "tensor<fp16, [1, 10]> y");
    assert_eq!(text(f.params[1].ty.span), "tensor<fp16, [1, 10]>");
    let s = &f.body.statements[2];
    assert_eq!(
        text(s.span),
        "tensor<fp16, [1, 10]> var_3 = mul(x = x, y = w)[name = string(\"op_3_cast_fp16\")];"
    );
    assert_eq!(text(s.args[1].span), "y = w");
    assert_eq!(text(s.args[1].value.span()), "w");
    assert_eq!(
        text(s.attributes[0].value.span),
        "string(\"op_3_cast_fp16\")"
    );
    assert_eq!(text(s.attributes[0].value.value.span), "\"op_3_cast_fp16\"");
    let ax = &f.body.statements[0].attribute("val").unwrap();
    assert_eq!(text(ax.value.span), "-1");
    assert_eq!(
        text(tree.attributes[0].span),
        "buildInfo = dict<string, string>({{\"coremlc-version\", \"3402.4.1\"}})"
    );
}

#[test]
fn equality_ignores_spans_but_not_content() {
    let a = parse(COMPACT).unwrap();
    let b = parse(&COMPACT.replace("    func", "func")).unwrap();
    assert_eq!(a, b);
    let c = parse(&COMPACT.replace("int32(-1)", "int32(1)")).unwrap();
    assert_ne!(a, c);
}

#[test]
fn no_whitespace_where_none_is_needed() {
    let src = "program(1.3)[buildInfo=dict<string,string>({{\"a\",\"b\"}})]{func main<ios18>(tensor<fp16,[1,?]>x,state<tensor<fp16,[1]>>s){tensor<fp16,[1,?]>y,tensor<fp16,[1,?]>z=split(x=x,num_splits=int32(2))[name=string(\"y\")];tensor<fp16,[2]>w=concat(axis=int32(0),values=(y,z),interleave=bool(false));}->(w);}";
    let expected = "program(1.3)\n[buildInfo = dict<string, string>({{\"a\", \"b\"}})]\n{\n    func main<ios18>(tensor<fp16, [1, ?]> x, state<tensor<fp16, [1]>> s) {\n            tensor<fp16, [1, ?]> y, tensor<fp16, [1, ?]> z = split(num_splits = int32(2), x = x)[name = string(\"y\")];\n            tensor<fp16, [2]> w = concat(axis = int32(0), interleave = bool(false), values = (y, z));\n        } -> (w);\n}";
    assert_eq!(canon(src), expected);
}
