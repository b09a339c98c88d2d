//! Validate every `.mil` file of the corpus (../shared/corpus/mil) and print a status table.
//!
//! Every compiler-produced file must validate without errors. The analysis dump (tensor_buffer
//! types) is accepted too (docs/ir.md). Weights: the corpus has no real model.mil + weight.bin
//! pair (reference/README.md "Known gaps"), so BLOBFILE resolution is tested with generated
//! pairs in `blob_resolution.rs`; here BLOBFILE references are only checked syntactically.

use anekit_ir::{Severity, check};
use std::path::PathBuf;

fn mil_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "mil") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Files with known, real errors: (file suffix, expected error codes with byte offsets).
///
/// The qwen-ane probe is hand-written (not compiler output): `yt = transpose(perm = [0,1,3,2],
/// x = yh)` with `yh` of shape [1, 1, 512, 5120] gives [1, 1, 5120, 512], but `yt` is declared
/// [1, 1, 512, 5120]. Checked by hand against the file's statements.
const KNOWN_INVALID: &[(&str, &[(&str, usize)])] = &[(
    "True2456__qwen-ane/probes__mm_5120_5120_512.mil",
    &[("E-type-mismatch", 1520)],
)];

#[test]
fn every_corpus_mil_file_validates() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let files = mil_files(&dir);
    assert_eq!(
        files.len(),
        24,
        "the corpus holds 24 model.mil files (reference/README.md)"
    );
    let mut failures = Vec::new();
    println!("{:<100} {:>6} {:>6}  status", "file", "ops", "values");
    for f in &files {
        let name = f.strip_prefix(&dir).unwrap().display().to_string();
        let src = std::fs::read_to_string(f).unwrap();
        let checked = check(&src);
        let (ops, values) = checked
            .program
            .as_ref()
            .map_or((0, 0), |p| (p.op_count(), p.value_count()));
        let errors: Vec<String> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{} @{}: {}", d.code, d.span.start, d.message))
            .collect();
        let notes: Vec<&str> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Error)
            .map(|d| d.code)
            .collect();
        let status = if errors.is_empty() {
            format!("valid {notes:?}")
        } else {
            format!("INVALID {errors:?}")
        };
        println!("{name:<100} {ops:>6} {values:>6}  {status}");
        let found: Vec<(&str, usize)> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (d.code, d.span.start))
            .collect();
        let expected: &[(&str, usize)] = KNOWN_INVALID
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[], |(_, e)| e);
        if found != expected {
            failures.push(format!("{name}: expected {expected:?}, found {errors:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "corpus files with unexpected diagnostics:\n{}",
        failures.join("\n")
    );
}
