//! Conformance over the real MIL corpus (`../shared/corpus/mil`, see its SOURCES.md).
//!
//! * Files SOURCES.md marks "byte-exact" are Apple compiler output copied byte for byte: parse
//!   → canonical print must reproduce them exactly.
//! * Every other `.mil` ("text" copies, the analysis dump, the hand-written probe) must
//!   round-trip parse → print → parse to the same tree (spans ignored; arguments and
//!   attributes in the sorted order the printer writes).
//!
//! The test prints a table naming each file and its status, and fails naming the files that
//! did not conform.

use anekit_mil::{PrintOptions, parse, print};
use std::path::{Path, PathBuf};

fn mil_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            mil_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "mil") {
            out.push(path);
        }
    }
}

/// File names that SOURCES.md's table marks "byte-exact" (rows whose last column says so).
/// Rows abbreviate shared prefixes with "…", so match on the distinctive tail of the name.
fn byte_exact_names(sources: &str) -> Vec<String> {
    sources
        .lines()
        .filter(|l| l.starts_with('|') && l.trim_end().ends_with("| byte-exact |"))
        .filter_map(|l| l.split('|').nth(2).map(str::trim))
        .map(|cell| {
            let name = cell.split_whitespace().next().unwrap_or("");
            name.trim_start_matches('…').to_string()
        })
        .filter(|n| n.ends_with("model.mil"))
        .collect()
}

#[test]
fn corpus_programs_round_trip() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).expect("SOURCES.md");
    let exact = byte_exact_names(&sources);
    assert!(
        exact.len() >= 8,
        "expected >= 8 byte-exact model.mil rows in SOURCES.md, got {exact:?}"
    );

    let mut files = Vec::new();
    mil_files(&dir, &mut files);
    files.sort();
    assert!(
        files.len() >= 24,
        "expected >= 24 .mil files under {}, got {}",
        dir.display(),
        files.len()
    );

    let mut failures = Vec::new();
    let mut exact_seen = 0;
    println!("{:<6} {:<16} file", "status", "check");
    for path in &files {
        let name = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        let rel = name.replace('\\', "/");
        let is_exact = exact.iter().any(|e| rel.ends_with(e.as_str()));
        let src = std::fs::read_to_string(path).expect("read corpus file");
        let (status, check) = match parse(&src) {
            Err(e) => (format!("FAIL parse {e}"), "parse"),
            Ok(tree) => {
                let printed = print(&tree, &PrintOptions::default());
                if is_exact {
                    exact_seen += 1;
                    if printed == src {
                        ("ok".to_string(), "byte-exact")
                    } else {
                        let at = printed.bytes().zip(src.bytes()).position(|(a, b)| a != b);
                        (format!("FAIL bytes differ at offset {at:?}"), "byte-exact")
                    }
                } else {
                    let mut sorted = tree.clone();
                    sorted.sort_canonical();
                    match parse(&printed) {
                        // Also report (not assert) whether the bytes came back: these copies
                        // are not verified byte-identical to their originals.
                        Ok(again) if again == sorted && printed == src => {
                            ("ok".to_string(), "same-tree+bytes")
                        }
                        Ok(again) if again == sorted => ("ok".to_string(), "same-tree"),
                        Ok(_) => ("FAIL tree differs after print".to_string(), "same-tree"),
                        Err(e) => (format!("FAIL reparse {e}"), "same-tree"),
                    }
                }
            }
        };
        println!(
            "{:<6} {:<16} {name}",
            if status == "ok" { "ok" } else { "FAIL" },
            check
        );
        if status != "ok" {
            failures.push(format!("{name}: {status}"));
        }
    }
    assert_eq!(
        exact_seen,
        exact.len(),
        "not every byte-exact row matched a file: {exact:?}"
    );
    assert!(
        failures.is_empty(),
        "non-conforming corpus files:\n{}",
        failures.join("\n")
    );
}

fn corpus_program(rel: &str) -> Option<(String, anekit_mil::ast::Program)> {
    let dir = anekit_core::corpus::corpus_dir("mil")?;
    let path = dir.join(rel);
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let program = parse(&src).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Some((rel.to_string(), program))
}

/// (op, dtype, element count, path, offset) of every inline BLOBFILE tensor, in text order.
fn blob_refs(program: &anekit_mil::ast::Program) -> Vec<(String, String, u64, String, u64)> {
    use anekit_mil::ast::*;
    fn literal(op: &str, l: &Literal, out: &mut Vec<(String, String, u64, String, u64)>) {
        if let PayloadKind::Blob(b) = &l.value.kind
            && let TypeKind::Tensor { dtype, shape } = &l.ty.kind
        {
            let count = shape
                .iter()
                .map(|d| match d {
                    Dim::Known(n) => *n,
                    Dim::Unknown => 0,
                })
                .product();
            out.push((
                op.to_string(),
                dtype.mil_name().to_string(),
                count,
                b.path_str().unwrap_or("?").to_string(),
                b.offset_u64().unwrap_or(u64::MAX),
            ));
        }
    }
    let mut out = Vec::new();
    for f in &program.functions {
        for s in &f.body.statements {
            for a in &s.args {
                if let ArgValue::Literal(l) = &a.value {
                    literal(&s.op.name, l, &mut out);
                }
            }
            for a in &s.attributes {
                literal(&s.op.name, &a.value, &mut out);
            }
        }
    }
    out
}

#[test]
fn compiled_conv_stack_blob_offsets_follow_align64_arithmetic() {
    // reference/mil-text.md §4.3 [verified]: 64 → 8320 → 8512 → 16768 → 16960 → 25216, each
    // record at align64(previous data offset + previous size), data 64 bytes after its record.
    let Some((rel, program)) = corpus_program(
        "751K__Apple-Neural-Engine-Microarchitecture-Study-M6/data__03_compile__hwx__model.mil",
    ) else {
        return;
    };
    let refs = blob_refs(&program);
    let offsets: Vec<u64> = refs.iter().map(|r| r.4).collect();
    assert_eq!(offsets, [64, 8320, 8512, 16768, 16960, 25216], "{rel}");
    for pair in refs.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        assert_eq!(prev.1, "fp16", "{rel}");
        let data_end = prev.4 + 64 + prev.2 * 2;
        assert_eq!(
            next.4,
            data_end.div_ceil(64) * 64,
            "{rel}: {prev:?} -> {next:?}"
        );
    }
    assert!(
        refs.iter().all(|r| r.3 == "@model_path/weights/weight.bin"),
        "{rel}"
    );
}

#[test]
fn analysis_dump_fields_decode() {
    use anekit_core::DType;
    use anekit_mil::ast::*;
    let Some((rel, program)) = corpus_program(
        "751K__Apple-Neural-Engine-Microarchitecture-Study-M6/data__03_compile__opdispatch__ana__ctx__lstm.mil",
    ) else {
        return;
    };
    assert_eq!(program.version.text, "1.3", "{rel}");
    let f = program
        .function("main")
        .unwrap_or_else(|| panic!("{rel}: no main"));
    assert_eq!(f.opset.name, "ios18", "{rel}");
    assert_eq!(
        f.params[0].ty.kind,
        TypeKind::TensorBuffer {
            dtype: DType::Fp16,
            shape: vec![16, 1, 64],
            strides: vec![64, 64, 1],
            interleave_factors: vec![1, 1, 1],
        },
        "{rel}"
    );
    assert_eq!(f.attributes.len(), 25, "{rel}: cost attributes");
    assert_eq!(
        f.attribute("Launch_ane_ms").map(|l| &l.value.kind),
        Some(&PayloadKind::Float(Float(0.125))),
        "{rel}"
    );
    let first = &f.body.statements[0];
    assert_eq!(first.op.name, "tensor_buffer_to_tensor", "{rel}");
    assert_eq!(
        first.op_opset.as_ref().map(|o| o.name.as_str()),
        Some("ios17"),
        "{rel}"
    );
    let lstm = f
        .body
        .statements
        .iter()
        .find(|s| s.op.name == "lstm")
        .unwrap_or_else(|| panic!("{rel}: no lstm"));
    let names: Vec<&str> = lstm.results.iter().map(|r| r.name.name.as_str()).collect();
    assert_eq!(names, ["lstm_0_0", "lstm_0_1", "lstm_0_2"], "{rel}");
    match &lstm.attribute("ValidationMessage").map(|l| &l.value.kind) {
        Some(PayloadKind::Dict(entries)) => {
            assert_eq!(
                entries[0].value.kind,
                PayloadKind::Str("Unsupported MIL operation \"lstm\".".into()),
                "{rel}"
            );
        }
        other => panic!("{rel}: ValidationMessage is {other:?}"),
    }
    match &lstm.attribute("EstimatedRuntime").map(|l| &l.value.kind) {
        Some(PayloadKind::Dict(entries)) => {
            // Decimal in the dump; the f64 is what Rust's (correctly rounded) parser gives.
            assert_eq!(
                entries[0].value.kind,
                PayloadKind::Float(Float(476.80945305249844)),
                "{rel}"
            );
        }
        other => panic!("{rel}: EstimatedRuntime is {other:?}"),
    }
    assert_eq!(f.body.outputs.len(), 1, "{rel}");
    assert_eq!(f.body.outputs[0].name, "wrap_out_1_relu", "{rel}");
}

#[test]
fn streaming_encoder_shape() {
    let Some((rel, program)) = corpus_program(
        "FluidInference__FluidAudio/Models__ParakeetEOU__Streaming__1280ms__streaming_encoder.mlmodelc__model.mil",
    ) else {
        return;
    };
    // SOURCES.md: 2977 lines = program, buildInfo, `{`, func header, statements, closer, `}`.
    let f = &program.functions[0];
    assert_eq!(f.body.statements.len(), 2977 - 6, "{rel}");
    assert_eq!(program.dialect(), anekit_mil::Dialect::V1_0, "{rel}");
    assert_eq!(f.opset.name, "ios17", "{rel}");
    assert_eq!(f.params.len(), 6, "{rel}");
    // `split` with two outputs occurs (reference/mil-text.md §9).
    assert!(
        f.body
            .statements
            .iter()
            .any(|s| s.op.name == "split" && s.results.len() == 2),
        "{rel}: no two-output split"
    );
}
