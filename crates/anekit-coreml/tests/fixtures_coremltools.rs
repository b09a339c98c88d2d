//! The fixture packages built by scripts/gen_coreml_fixtures.py with coremltools 9.0: each
//! converts, and the result matches what coremltools recorded in tests/fixtures/expected.json
//! (op types in order, result names, function inputs, BLOBFILE offsets, the description's
//! inputs and their flexible shapes). proto_values.pb checks every Value kind of the proto.

use anekit_coreml::describe::Flexibility;
use anekit_coreml::{MlModelFile, MlPackage, blobcheck, proto};
use anekit_mil::ast::{Elements, PayloadKind, TypeKind};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn expected() -> Value {
    serde_json::from_slice(&std::fs::read(fixtures().join("expected.json")).unwrap()).unwrap()
}

fn proto_dtype_name(d: anekit_core::DType) -> &'static str {
    match d.proto_number() {
        1 => "BOOL",
        10 => "FLOAT16",
        11 => "FLOAT32",
        23 => "INT32",
        _ => "OTHER",
    }
}

fn type_text(t: &anekit_mil::ast::Type) -> String {
    match &t.kind {
        TypeKind::Tensor { dtype, shape } => {
            let dims: Vec<String> = shape
                .iter()
                .map(|d| match d {
                    anekit_mil::ast::Dim::Known(n) => n.to_string(),
                    anekit_mil::ast::Dim::Unknown => "?".into(),
                })
                .collect();
            format!("{}[{}]", proto_dtype_name(*dtype), dims.join(","))
        }
        other => format!("{other:?}"),
    }
}

fn check_fixture(name: &str, exp: &Value) {
    let path = fixtures().join(format!("{name}.mlpackage"));
    let pkg = MlPackage::open(&path).unwrap();
    assert_eq!(
        i64::from(pkg.model.specification_version),
        exp["specificationVersion"].as_i64().unwrap(),
        "{name}"
    );
    let conv = pkg.to_ast(None).unwrap();
    // Text round trip in both dialects.
    let text = conv.text();
    assert_eq!(anekit_mil::parse(&text).unwrap(), conv.program, "{name}");
    let funcs = exp["functions"].as_object().unwrap();
    assert_eq!(conv.program.functions.len(), funcs.len(), "{name}");
    for (fname, fe) in funcs {
        let f = conv
            .program
            .function(fname)
            .unwrap_or_else(|| panic!("{name}: no {fname}"));
        let opset = fe["opset"].as_str().unwrap();
        assert_eq!(
            anekit_coreml::to_ast::proto_opset(&f.opset.name),
            Some(opset),
            "{name}/{fname}"
        );
        let ops: Vec<&str> = f
            .body
            .statements
            .iter()
            .map(|s| s.op.name.as_str())
            .collect();
        let exp_ops: Vec<&str> = fe["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(ops, exp_ops, "{name}/{fname}");
        let results: Vec<Vec<&str>> = f
            .body
            .statements
            .iter()
            .map(|s| s.results.iter().map(|r| r.name.name.as_str()).collect())
            .collect();
        let exp_results: Vec<Vec<&str>> = fe["outputs_of_ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(results, exp_results, "{name}/{fname}");
        let params: Vec<(String, String)> = f
            .params
            .iter()
            .map(|p| (p.name.name.to_string(), type_text(&p.ty)))
            .collect();
        let exp_params: Vec<(String, String)> = fe["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap().to_string(),
                    v["type"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(params, exp_params, "{name}/{fname}");
        let outs: Vec<&str> = f.body.outputs.iter().map(|o| o.name.as_str()).collect();
        let exp_outs: Vec<&str> = fe["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(outs, exp_outs, "{name}/{fname}");
    }
    // BLOBFILE offsets: the same multiset, and each resolves with the right element count.
    let weight = pkg.weights_dir.as_ref().map(|d| d.join("weight.bin"));
    let bytes = weight
        .filter(|p| p.is_file())
        .map(|p| std::fs::read(p).unwrap());
    let refs = blobcheck::check_blobs(&conv.program, |_| bytes.as_deref()).unwrap();
    let mut got: Vec<u64> = refs.iter().map(|r| r.offset).collect();
    let mut want: Vec<u64> = funcs
        .values()
        .flat_map(|f| {
            f["blob_offsets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
        })
        .collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{name}");
    for r in &refs {
        assert_eq!(r.elements, r.shape.iter().product::<u64>(), "{name}: {r:?}");
    }
    // The description.
    let info = pkg.info();
    let exp_inputs = exp["inputs"].as_array().unwrap();
    assert_eq!(info.inputs.len(), exp_inputs.len(), "{name}");
    for (i, e) in info.inputs.iter().zip(exp_inputs) {
        assert_eq!(i.name, e["name"].as_str().unwrap());
        assert_eq!(i.kind, "multiArray");
        let shape: Vec<i64> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(i.shape, shape, "{name}");
        let dt = match e["dataType"].as_str().unwrap() {
            "FLOAT32" => "fp32",
            "FLOAT16" => "fp16",
            other => other,
        };
        assert_eq!(i.dtype.as_deref(), Some(dt));
        match (&i.flexibility, e.get("enumerated"), e.get("ranges")) {
            (Some(Flexibility::Enumerated(s)), Some(en), None) => {
                let en: Vec<Vec<i64>> = serde_json::from_value(en.clone()).unwrap();
                assert_eq!(s, &en);
            }
            (Some(Flexibility::Range(r)), None, Some(ra)) => {
                let ra: Vec<(u64, i64)> = serde_json::from_value(ra.clone()).unwrap();
                assert_eq!(r, &ra);
            }
            (None, None, None) => {}
            other => panic!("{name}: flexibility mismatch {other:?}"),
        }
    }
    let exp_fn: Vec<&str> = exp["description_functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let got_fn: Vec<&str> = info.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(got_fn, exp_fn, "{name}");
}

#[test]
fn every_fixture_matches_coremltools() {
    let e = expected();
    let fx = e["fixtures"].as_object().unwrap();
    assert_eq!(fx.len(), 8);
    for (name, exp) in fx {
        check_fixture(name, exp);
    }
}

fn fixture_text(name: &str) -> String {
    let pkg = MlPackage::open(&fixtures().join(format!("{name}.mlpackage"))).unwrap();
    pkg.to_ast(None).unwrap().text()
}

#[test]
fn pre_ios18_constexpr_operands_are_attributes() {
    let t = fixture_text("compressed_ios17");
    assert!(t.contains("            tensor<fp16, [8, 16]> w_affine = constexpr_affine_dequantize()[axis = int32(0), name = string(\"w_affine\"), quantized_data = tensor<int8, [8, 16]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(64))), scale = fp16(0x1p-1), zero_point = int8(1)];\n"), "{t}");
    assert!(
        t.contains("constexpr_lut_to_dense()[indices = tensor<uint8, [32]>(BLOBFILE("),
        "{t}"
    );
    assert!(t.contains("shape = tensor<uint32, [2]>([8, 16])"), "{t}");
}

#[test]
fn ios18_constexpr_operands_are_inputs() {
    let t = fixture_text("compressed_ios18");
    assert!(t.contains("w_int8q = constexpr_blockwise_shift_scale(data = tensor<int4, [8, 16]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(64))), scale = tensor<fp16, [8, 1]>([["), "{t}");
    assert!(t.contains("w_sparse1 = constexpr_sparse_to_dense(mask = tensor<uint1, [8, 16]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(704))), nonzero_data = tensor<fp16, [65]>(BLOBFILE("), "{t}");
}

#[test]
fn single_value_concat_stays_a_tuple_and_fp32_cnn_is_compact() {
    let t = fixture_text("transformer_fp16");
    assert!(t.contains("= concat(axis = "), "{t}");
    assert!(
        t.contains(", values = (residual))[name = string(\"out\")];"),
        "{t}"
    );
    let t = fixture_text("cnn_fp32");
    assert!(t.starts_with("program(1.3)\n"));
    assert!(
        t.contains("func main<ios17>(tensor<fp32, [1, 3, 8, 8]> x) {"),
        "{t}"
    );
}

#[test]
fn proto_values_decode_field_by_field() {
    let bytes = std::fs::read(fixtures().join("proto_values.pb")).unwrap();
    let meta: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("proto_values.json")).unwrap())
            .unwrap();
    assert_eq!(bytes.len() as u64, meta["size"].as_u64().unwrap());
    let m = proto::decode_model(&bytes, "proto_values.pb").unwrap();
    assert_eq!(m.specification_version, 9);
    let d = m.description.as_ref().unwrap();
    let md = d.metadata.as_ref().unwrap();
    assert_eq!(
        (
            md.author.as_str(),
            md.license.as_str(),
            md.version_string.as_str()
        ),
        ("anekit", "MIT", "1.2.3")
    );
    assert_eq!(md.user_defined.get("k").map(String::as_str), Some("v"));
    let Some(proto::FeatureTypeKind::MultiArrayType(a)) =
        d.input[0].r#type.as_ref().unwrap().r#type.as_ref()
    else {
        panic!()
    };
    assert_eq!(a.shape, vec![1, 8]);
    assert_eq!(
        a.data_type,
        proto::ArrayFeatureTypeArrayDataType::Float16 as i32
    );
    let Some(proto::ArrayFeatureTypeShapeFlexibility::ShapeRange(r)) = &a.shape_flexibility else {
        panic!()
    };
    assert_eq!(
        r.size_ranges
            .iter()
            .map(|s| (s.lower_bound, s.upper_bound))
            .collect::<Vec<_>>(),
        vec![(1, 1), (2, -1)]
    );
    assert_eq!(d.input[0].short_description, "a ranged input");

    let f = MlModelFile::parse(&bytes, "proto_values.pb").unwrap();
    let info = f.info();
    assert_eq!(info.model_type, "mlProgram");
    let kinds: Vec<(&str, &str)> = info
        .inputs
        .iter()
        .map(|i| (i.name.as_str(), i.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("ranged", "multiArray"),
            ("enumerated", "multiArray"),
            ("image", "image"),
            ("text", "string"),
            ("count", "int64")
        ]
    );
    assert_eq!(
        info.inputs[1].flexibility,
        Some(Flexibility::Enumerated(vec![vec![1, 4], vec![2, 4]]))
    );
    assert_eq!(info.inputs[1].dtype.as_deref(), Some("int32"));
    assert_eq!(info.inputs[2].shape, vec![24, 32]);
    assert_eq!(info.inputs[2].color_space.as_deref(), Some("BGR"));
    assert!(info.inputs[4].optional);
    assert_eq!(
        (info.outputs[0].kind.as_str(), info.outputs[1].kind.as_str()),
        ("dictionary", "double")
    );

    let conv = anekit_coreml::package::model_to_ast(
        &f.model,
        &f.model_types,
        Some(anekit_mil::Dialect::V1_3),
    )
    .unwrap();
    let main = conv.program.function("main").unwrap();
    let val = |n: &str| {
        main.body
            .statements
            .iter()
            .find(|s| s.results[0].name.name == n)
            .unwrap()
            .attribute("val")
            .unwrap()
            .clone()
    };
    let arr = |n: &str| match val(n).value.kind {
        PayloadKind::Array(a) => (a.shape.clone(), a.elements.clone()),
        other => panic!("{n}: {other:?}"),
    };
    let floats =
        |v: &[f64]| Elements::Float(v.iter().map(|&x| anekit_mil::ast::Float(x)).collect());
    assert_eq!(arr("c_floats"), (vec![2], floats(&[0.5, -2.25])));
    assert_eq!(
        val("c_doubles").value.kind,
        PayloadKind::Float(anekit_mil::ast::Float(0.1))
    );
    assert_eq!(
        arr("c_ints"),
        (vec![2, 2], Elements::Int(vec![1, -2, 3, 2147483647]))
    );
    assert_eq!(
        arr("c_longs"),
        (vec![2], Elements::Int(vec![-9000000000, 7]))
    );
    assert_eq!(val("c_u64").value.kind, PayloadKind::Int(u64::MAX as i128));
    assert_eq!(
        arr("c_bools"),
        (vec![3], Elements::Bool(vec![true, false, true]))
    );
    assert_eq!(
        arr("c_strings"),
        (vec![2], Elements::Str(vec!["a\"b".into(), "é".into()]))
    );
    assert_eq!(arr("c_fp16"), (vec![3], floats(&[1.0, -0.5, 65504.0])));
    assert_eq!(arr("c_int8"), (vec![2], Elements::Int(vec![-128, 127])));
    assert_eq!(arr("c_uint4"), (vec![3], Elements::Int(vec![1, 2, 15])));
    // An empty tensor prints as `[]`, whose bracket nesting is shape [0] (the type keeps [0, 2]).
    assert_eq!(arr("c_empty"), (vec![0], Elements::Int(vec![])));
    let text = conv.text();
    // The description's flexible input `ranged` is not a parameter of main: no attribute.
    assert!(!text.contains("FlexibleShapeInformation"), "{text}");
    assert!(text.contains("tensor<fp32, [0, 2]> c_empty = const()[name = string(\"c_empty\"), val = tensor<fp32, [0, 2]>([])];"), "{text}");
    assert!(text.contains("tuple<string, tensor<int32, [2]>> c_tuple = const()[name = string(\"c_tuple\"), val = tuple<string, tensor<int32, [2]>>((\"t\", [4, 5]))];"), "{text}");
    assert!(text.contains("list<tensor<int32, [2]>, 2> c_list = const()[name = string(\"c_list\"), val = list<tensor<int32, [2]>, 2>([[0, 4], [1, 8]])];"), "{text}");
    assert!(
        text.contains("val = dict<string, fp64>({{\"ane\", 0x0p+0}})"),
        "{text}"
    );
    assert!(text.contains("tensor<fp32, [1, ?]> y = concat(axis = int32(0), interleave = bool(false), values = (x))[name = string(\"y\")];"), "{text}");
    assert_eq!(anekit_mil::parse(&text).unwrap(), conv.program);
}

#[test]
fn neural_network_layers_and_params() {
    let bytes = std::fs::read(fixtures().join("nn_conv.mlmodel")).unwrap();
    let exp: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("nn_conv.json")).unwrap()).unwrap();
    let f = MlModelFile::parse(&bytes, "nn_conv.mlmodel").unwrap();
    assert_eq!(
        i64::from(f.model.specification_version),
        exp["specificationVersion"].as_i64().unwrap()
    );
    assert_eq!(f.info().model_type, "neuralNetwork");
    let layers: Vec<Value> = f
        .layers
        .iter()
        .map(|l| serde_json::json!({"name": l.name, "type": l.kind, "inputs": l.inputs, "outputs": l.outputs}))
        .collect();
    assert_eq!(Value::Array(layers), exp["layers"]);
    let conv = &f.layers[0].params;
    assert_eq!(conv["outputChannels"], exp["conv"]["outputChannels"]);
    assert_eq!(conv["kernelChannels"], exp["conv"]["kernelChannels"]);
    assert_eq!(conv["kernelSize"], exp["conv"]["kernelSize"]);
    assert_eq!(
        conv["weights"]["floatValue"]["count"],
        exp["conv"]["weights"]
    );
    assert_eq!(
        conv["weights"]["floatValue"]["first"][0],
        exp["conv"]["first_weight"]
    );
    assert_eq!(conv["hasBias"], Value::Bool(true));
    assert_eq!(f.layers[1].params, serde_json::json!({"ReLU": {}}));
    let fc = &f.layers[3].params;
    assert_eq!(fc["inputChannels"], exp["fc"]["inputChannels"]);
    assert_eq!(fc["outputChannels"], exp["fc"]["outputChannels"]);
    assert_eq!(fc["weights"]["floatValue"]["count"], exp["fc"]["weights"]);
}

#[test]
fn flexible_shape_information_from_the_description() {
    // The attribute Apple's compiler writes (mil-text.md §4.1), built from the description.
    let t = fixture_text("flexible_range");
    assert!(t.contains("    func main<ios17>(tensor<fp32, [1, ?]> x) [FlexibleShapeInformation = tuple<tuple<string, dict<string, tensor<int32, [?]>>>, tuple<string, dict<string, list<tensor<int32, [2]>, ?>>>>(((\"DefaultShapes\", {{\"x\", [1, 8]}}), (\"RangeDims\", {{\"x\", [[1, 1], [2, 64]]}})))] {\n"), "{t}");
    let t = fixture_text("flexible_enumerated");
    assert!(t.contains("(\"EnumeratedShapes\", {{\"00000000\", {{\"x\", [1, 8]}}}, {\"00000001\", {{\"x\", [1, 4]}}}, {\"00000002\", {{\"x\", [1, 16]}}}})"), "{t}");
    let t = fixture_text("cnn_fp16");
    assert!(!t.contains("FlexibleShapeInformation"));
}
