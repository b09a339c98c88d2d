//! BLOBFILE resolution: real coremltools-written weight files from the corpus (with MIL text
//! generated from coremltools' own list of blob references), and error cases on files written
//! at test time with anekit-blob's writer.

use anekit_core::TensorData;
use anekit_ir::weights::Weights;
use anekit_ir::{Severity, check};
use anekit_mil::LineIndex;
use half::f16;
use std::path::Path;

/// A program with one `const` per (dtype, shape, path, offset).
fn program(blobs: &[(&str, Vec<u64>, String, u64)]) -> String {
    let mut s = String::from("program(1.3)\n{\n    func main<ios18>() {\n");
    for (i, (dtype, shape, path, offset)) in blobs.iter().enumerate() {
        let shape: Vec<String> = shape.iter().map(u64::to_string).collect();
        let ty = format!("tensor<{dtype}, [{}]>", shape.join(", "));
        s.push_str(&format!(
            "            {ty} c{i} = const()[name = string(\"c{i}\"), val = {ty}(BLOBFILE(path = string(\"{path}\"), offset = uint64({offset})))];\n"
        ));
    }
    s.push_str("        } -> ();\n}");
    s
}

fn proto_dtype_to_mil(proto: &str) -> &'static str {
    match proto {
        "FLOAT16" => "fp16",
        "FLOAT32" => "fp32",
        "INT4" => "int4",
        "UINT4" => "uint4",
        "INT8" => "int8",
        "UINT8" => "uint8",
        other => panic!("unexpected proto dtype {other} in blob_refs.json"),
    }
}

#[test]
fn every_blob_reference_of_the_generated_packages_resolves() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let gen_dir = dir.join("generated__coremltools-9.0");
    let refs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gen_dir.join("blob_refs.json")).unwrap())
            .unwrap();
    for (package, expected_count) in [("ios17_linear", 2), ("ios18_quant_state", 8)] {
        let list = refs[package]["blob_refs"].as_array().unwrap();
        assert_eq!(list.len(), expected_count, "{package}: blob_refs.json");
        let blobs: Vec<_> = list
            .iter()
            .map(|r| {
                (
                    proto_dtype_to_mil(r["proto_dtype"].as_str().unwrap()),
                    r["shape"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d.as_u64().unwrap())
                        .collect(),
                    r["file"].as_str().unwrap().to_string(),
                    r["metadata_offset"].as_u64().unwrap(),
                )
            })
            .collect();
        let src = program(&blobs);
        let checked = check(&src);
        assert!(checked.is_valid(), "{package}: {:?}", checked.diagnostics);
        let program = checked.program.unwrap();
        let folder = if package == "ios17_linear" {
            "ios17_linear_t1.mlpackage"
        } else {
            "ios18_quant_state.mlpackage"
        };
        let weights = Weights::new(gen_dir.join(folder).join("Data/com.apple.CoreML"));
        let (diags, resolved) = weights.check(&program);
        assert!(
            diags.is_empty(),
            "{package} (corpus {folder}/Data/com.apple.CoreML/weights/weight.bin): {diags:#?}"
        );
        assert_eq!(resolved, expected_count, "{package}");
        // One file, opened once and shared by every constant.
        assert_eq!(weights.files_opened(), 1);
        // Sub-byte blobs decode to the right number of values.
        for (_, c, b) in program.blob_constants() {
            let data = weights.tensor(c).unwrap();
            let n = c.ty.tensor().unwrap().element_count().unwrap() as usize;
            assert_eq!(data.len(), n, "{package} offset {}", b.offset);
        }
    }
}

#[test]
fn all_dtypes_blobs_decode_to_the_recorded_values() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let gen_dir = dir.join("generated__coremltools-9.0");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gen_dir.join("all_dtypes.json")).unwrap())
            .unwrap();
    let names = [(3, "int8"), (6, "int4"), (10, "uint3"), (12, "int32")];
    let blobs: Vec<_> = names
        .iter()
        .map(|&(i, dtype)| {
            let b = &meta["blobs"][i];
            (
                dtype,
                vec![b["count"].as_u64().unwrap()],
                "@model_path/all_dtypes.weight.bin".to_string(),
                b["metadata_offset"].as_u64().unwrap(),
            )
        })
        .collect();
    let checked = check(&program(&blobs));
    assert!(checked.is_valid(), "{:?}", checked.diagnostics);
    let program = checked.program.unwrap();
    let weights = Weights::new(&gen_dir);
    for ((_, c, _), &(i, dtype)) in program.blob_constants().zip(&names) {
        let expected: Vec<i64> = meta["blobs"][i]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let got: Vec<i64> = match weights.tensor(c).unwrap() {
            TensorData::I8(v) | TensorData::I4(v) => v.iter().map(|&x| i64::from(x)).collect(),
            TensorData::U3(v) => v.iter().map(|&x| i64::from(x)).collect(),
            TensorData::I32(v) => v.iter().map(|&x| i64::from(x)).collect(),
            other => panic!("{dtype}: unexpected {other:?}"),
        };
        assert_eq!(got, expected, "all_dtypes.weight.bin blob #{i} ({dtype})");
    }
}

/// A model folder with weights/weight.bin holding an fp16 [2, 3] blob at 64 and an int8 [4]
/// blob after it; returns the folder and the second offset.
fn model_folder() -> (tempfile::TempDir, u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut w = anekit_blob::BlobWriter::new();
    let first = w
        .add(&TensorData::F16(
            (1..=6).map(|i| f16::from_f32(i as f32)).collect(),
        ))
        .unwrap();
    assert_eq!(first, 64);
    let second = w.add(&TensorData::I8(vec![-1, 0, 1, 2])).unwrap();
    std::fs::create_dir(dir.path().join("weights")).unwrap();
    std::fs::write(dir.path().join("weights/weight.bin"), w.finish()).unwrap();
    (dir, second)
}

fn blob_errors(
    root: &Path,
    blobs: &[(&str, Vec<u64>, String, u64)],
) -> Vec<(String, usize, usize)> {
    let src = program(blobs);
    let checked = check(&src);
    assert!(checked.is_valid(), "{:?}", checked.diagnostics);
    let index = LineIndex::new(&src);
    let (diags, _) = Weights::new(root).check(&checked.program.unwrap());
    diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let (l, c) = index.line_col(&src, d.span.start);
            (d.code.to_string(), l, c)
        })
        .collect()
}

const W: &str = "@model_path/weights/weight.bin";

#[test]
fn resolved_values_are_the_written_values() {
    let (dir, second) = model_folder();
    let src = program(&[
        ("fp16", vec![2, 3], W.into(), 64),
        ("int8", vec![4], W.into(), second),
    ]);
    let program = check(&src).program.unwrap();
    let weights = Weights::new(dir.path());
    let values: Vec<TensorData> = program
        .blob_constants()
        .map(|(_, c, _)| weights.tensor(c).unwrap())
        .collect();
    assert_eq!(
        values[0],
        TensorData::F16((1..=6).map(|i| f16::from_f32(i as f32)).collect())
    );
    assert_eq!(values[1], TensorData::I8(vec![-1, 0, 1, 2]));
    assert_eq!(weights.files_opened(), 1);
}

#[test]
fn each_blob_problem_has_its_code_and_points_at_the_blobfile() {
    let (dir, second) = model_folder();
    // The BLOBFILE literal starts at column 77 for these one-digit names with a [2, 3] shape.
    let errs = blob_errors(
        dir.path(),
        &[
            ("fp16", vec![2, 3], W.into(), 64),     // fine
            ("fp16", vec![2, 3], W.into(), 100),    // not a record
            ("fp32", vec![2, 3], W.into(), 64),     // dtype
            ("fp16", vec![3, 3], W.into(), 64),     // count
            ("int8", vec![2, 2], W.into(), second), // fine
            (
                "fp16",
                vec![2, 3],
                "@model_path/weights/missing.bin".into(),
                64,
            ), // no file
            ("fp16", vec![2, 3], "@model_path/../weight.bin".into(), 64), // escapes
            ("fp16", vec![2, 3], "/etc/passwd".into(), 64), // not @model_path
        ],
    );
    let codes: Vec<(&str, usize)> = errs.iter().map(|(c, l, _)| (c.as_str(), *l)).collect();
    assert_eq!(
        codes,
        [
            ("E-blob-record", 5),
            ("E-blob-dtype", 6),
            ("E-blob-shape", 7),
            ("E-blob-file", 9),
            ("E-blob-path", 10),
            ("E-blob-path", 11),
        ]
    );
    // Columns point at `BLOBFILE(` on each line.
    let src = program(&[("fp16", vec![2, 3], W.into(), 100)]);
    let col = src.lines().nth(3).unwrap().find("BLOBFILE(").unwrap() + 1;
    assert_eq!(errs[0].2, col);
}
