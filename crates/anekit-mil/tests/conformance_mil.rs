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
    println!("{:<12} {:<14} file", "status", "check");
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
                        Ok(again) if again == sorted => ("ok".to_string(), "same-tree"),
                        Ok(_) => ("FAIL tree differs after print".to_string(), "same-tree"),
                        Err(e) => (format!("FAIL reparse {e}"), "same-tree"),
                    }
                }
            }
        };
        println!(
            "{:<12} {:<14} {name}",
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
