//! Inputs the `coreml_proto` fuzz target found, kept as regression tests.

use anekit_coreml::{MlModelFile, package};
use std::path::Path;

fn input(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz")
            .join(name),
    )
    .unwrap()
}

/// A mutated cnn_fp16 model whose names contain bytes that are not identifier characters: they
/// were printed verbatim into text that did not parse back. Names are now checked.
#[test]
fn names_that_are_not_identifiers_are_refused() {
    let bytes = input("non_identifier_name.pb");
    let f = MlModelFile::parse(&bytes, "crash").unwrap();
    let e = package::model_to_ast(&f.model, &f.model_types, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("is not a MIL identifier ([A-Za-z_][A-Za-z0-9_]*)"),
        "{e}"
    );
    assert!(e.starts_with("mlProgram.functions[main]"), "{e}");
}
