//! Broken and hostile inputs give errors that say where, never panics or huge allocations.

use anekit_coreml::{CoremlError, MlModelFile, MlPackage, blobcheck, proto};
use prost::Message as _;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn temp_package() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("p.mlpackage");
    copy_dir(&fixture("cnn_fp16.mlpackage"), &pkg);
    (dir, pkg)
}

fn model_file(pkg: &Path) -> PathBuf {
    pkg.join("Data/com.apple.CoreML/model.mlmodel")
}

#[test]
fn missing_manifest() {
    let (_d, pkg) = temp_package();
    std::fs::remove_file(pkg.join("Manifest.json")).unwrap();
    let e = MlPackage::open(&pkg).unwrap_err();
    assert!(matches!(e, CoremlError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("Manifest.json"), "{e}");
}

#[test]
fn manifest_entry_without_path_and_missing_root_item() {
    let (_d, pkg) = temp_package();
    let m = std::fs::read_to_string(pkg.join("Manifest.json")).unwrap();
    std::fs::write(
        pkg.join("Manifest.json"),
        m.replace(",\n            \"path\": \"com.apple.CoreML/weights\"", ""),
    )
    .unwrap();
    let e = MlPackage::open(&pkg).unwrap_err().to_string();
    assert!(e.ends_with("missing string key `path`"), "{e}");
    std::fs::write(pkg.join("Manifest.json"), &m).unwrap();
    std::fs::remove_file(model_file(&pkg)).unwrap();
    let e = MlPackage::open(&pkg).unwrap_err().to_string();
    assert!(
        e.contains("root model item") && e.contains("(com.apple.CoreML/model.mlmodel) is missing"),
        "{e}"
    );
}

#[test]
fn truncated_protobuf_reports_the_offset() {
    let (_d, pkg) = temp_package();
    let bytes = std::fs::read(model_file(&pkg)).unwrap();
    // Cut inside the mlProgram field (tag 502 is the last top-level field coremltools writes).
    std::fs::write(model_file(&pkg), &bytes[..bytes.len() - 10]).unwrap();
    let e = MlPackage::open(&pkg).unwrap_err();
    let CoremlError::Wire { offset, detail, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(detail.contains("bytes remain"), "{detail}");
    assert!(*offset > 0 && (*offset as usize) < bytes.len(), "{offset}");
}

#[test]
fn blob_offsets_out_of_range() {
    let (_d, pkg) = temp_package();
    let p = MlPackage::open(&pkg).unwrap();
    let conv = p.to_ast(None).unwrap();
    let weights = std::fs::read(pkg.join("Data/com.apple.CoreML/weights/weight.bin")).unwrap();
    // Truncate the file after the first record's payload: the second BLOBFILE (384) is past the end.
    let short = &weights[..400];
    let e = blobcheck::check_blobs(&conv.program, |_| Some(short)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("BLOBFILE offset 384 in @model_path/weights/weight.bin"),
        "{msg}"
    );
    // A missing weight file.
    let e = blobcheck::check_blobs(&conv.program, |_| None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("weight file @model_path/weights/weight.bin is missing"),
        "{e}"
    );
}

#[test]
fn hostile_length_prefix_and_nesting() {
    // Model field 502 (mlProgram) claiming 2^60 bytes.
    let mut b = vec![0xb2, 0x1f];
    b.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    let e = MlModelFile::parse(&b, "hostile").unwrap_err().to_string();
    assert_eq!(
        e,
        "hostile: Model: malformed protobuf at byte offset 0: field 502: length-delimited field of 1152921504606846976 bytes, but only 0 bytes remain (payload at byte 11)"
    );
    // A list type nested 150 deep: prost refuses past its recursion limit (100).
    let mut t = tensor_type(11, &[1]);
    for _ in 0..150 {
        t = proto::ValueType {
            r#type: Some(proto::ValueTypeKind::ListType(Box::new(proto::ListType {
                r#type: Some(Box::new(t)),
                length: None,
            }))),
        };
    }
    let f = proto::Function {
        inputs: vec![proto::NamedValueType {
            name: "x".into(),
            r#type: Some(t),
        }],
        opset: "CoreML7".into(),
        ..Default::default()
    };
    let m = proto::Model {
        ml_program: Some(proto::Program {
            functions: [("main".to_string(), f)].into_iter().collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = proto::decode_model(&m.encode_to_vec(), "nest")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("nest: malformed protobuf: ") && e.contains("recursion limit"),
        "{e}"
    );
}

fn tensor_type(dtype: i32, dims: &[u64]) -> proto::ValueType {
    proto::ValueType {
        r#type: Some(proto::ValueTypeKind::TensorType(Box::new(
            proto::TensorType {
                data_type: dtype,
                rank: dims.len() as i64,
                dimensions: dims
                    .iter()
                    .map(|&d| proto::Dimension {
                        dimension: Some(proto::DimensionKind::Constant(proto::ConstantDimension {
                            size: d,
                        })),
                    })
                    .collect(),
                attributes: Default::default(),
            },
        ))),
    }
}

fn model_with_const(val: proto::Value, out_ty: proto::ValueType) -> Vec<u8> {
    let op = proto::Operation {
        r#type: "const".into(),
        outputs: vec![proto::NamedValueType {
            name: "c".into(),
            r#type: Some(out_ty),
        }],
        attributes: [("val".to_string(), val)].into_iter().collect(),
        ..Default::default()
    };
    let block = proto::Block {
        outputs: vec!["c".into()],
        operations: vec![op],
        ..Default::default()
    };
    let f = proto::Function {
        opset: "CoreML7".into(),
        block_specializations: [("CoreML7".to_string(), block)].into_iter().collect(),
        ..Default::default()
    };
    let m = proto::Model {
        specification_version: 8,
        ml_program: Some(proto::Program {
            version: 1,
            functions: [("main".to_string(), f)].into_iter().collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    m.encode_to_vec()
}

fn convert(bytes: &[u8]) -> Result<anekit_coreml::Converted, CoremlError> {
    let f = MlModelFile::parse(bytes, "m").unwrap();
    anekit_coreml::package::model_to_ast(&f.model, &f.model_types, None)
}

#[test]
fn hostile_immediate_shape_is_refused_before_allocating() {
    let ty = tensor_type(11, &[1 << 40, 1 << 40]);
    let val = proto::Value {
        r#type: Some(Box::new(ty.clone())),
        value: Some(proto::ValueKind::ImmediateValue(Box::new(
            proto::ImmediateValue {
                value: Some(proto::ImmediateValueKind::Tensor(proto::TensorValue {
                    value: Some(proto::TensorValueKind::Floats(proto::RepeatedFloats {
                        values: vec![1.0],
                    })),
                })),
            },
        ))),
        ..Default::default()
    };
    let e = convert(&model_with_const(val, ty)).unwrap_err().to_string();
    assert!(e.contains("mlProgram.functions[main].block_specializations[CoreML7].operations[0] (const).attributes[val]"), "{e}");
    assert!(e.contains("is too large"), "{e}");
}

#[test]
fn wrong_element_count_and_bad_bytes_length() {
    let ty = tensor_type(10, &[3]);
    let mk = |bytes: Vec<u8>| proto::Value {
        r#type: Some(Box::new(ty.clone())),
        value: Some(proto::ValueKind::ImmediateValue(Box::new(
            proto::ImmediateValue {
                value: Some(proto::ImmediateValueKind::Tensor(proto::TensorValue {
                    value: Some(proto::TensorValueKind::Bytes(proto::RepeatedBytes {
                        values: bytes,
                    })),
                })),
            },
        ))),
        ..Default::default()
    };
    let e = convert(&model_with_const(mk(vec![0; 5]), ty.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("bytes payload of 5 byte(s) for 3 fp16 element(s) (expected 6)"),
        "{e}"
    );
    assert!(convert(&model_with_const(mk(vec![0; 6]), ty.clone())).is_ok());
}

#[test]
fn blob_path_outside_weights_is_refused() {
    let ty = tensor_type(10, &[3]);
    let val = proto::Value {
        r#type: Some(Box::new(ty.clone())),
        value: Some(proto::ValueKind::BlobFileValue(proto::BlobFileValue {
            file_name: "@model_path/weights/../../etc/passwd".into(),
            offset: 64,
        })),
        ..Default::default()
    };
    let e = convert(&model_with_const(val, ty)).unwrap_err().to_string();
    assert!(e.contains("is not a weight file path"), "{e}");
}

#[test]
fn not_an_ml_program() {
    // Model { specificationVersion: 4, neuralNetwork (500): {} }
    let b = [0x08, 0x04, 0xa2, 0x1f, 0x00];
    let e = convert(&b).unwrap_err().to_string();
    assert_eq!(
        e,
        "the model is a neuralNetwork (Model field 500), not an ML Program; only mlProgram models convert to MIL"
    );
}
