//! Helpers shared by the CLI test files (each is its own crate and includes this with
//! `mod common;`).

use std::path::PathBuf;

/// coremltools' compiled `add_model.mlmodelc` from the corpus (model.mil, metadata.json and
/// coremldata.bin as Apple's compiler wrote them), rebuilt as a folder in a temp dir because
/// the corpus stores its members flattened. `None` when the corpus is absent (the test skips;
/// `corpus_dir` fails instead when CI requires the corpus). Keep the `TempDir` alive while
/// the folder is used.
pub fn corpus_add_model_mlmodelc() -> Option<(tempfile::TempDir, PathBuf)> {
    let src = anekit_core::corpus::corpus_dir("mil")?.join("apple__coremltools");
    let pre = "coremltools__modelrunner__ModelRunner__add_model.mlmodelc__";
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("add_model.mlmodelc");
    std::fs::create_dir_all(&bundle).unwrap();
    for f in ["model.mil", "metadata.json", "coremldata.bin"] {
        std::fs::copy(src.join(format!("{pre}{f}")), bundle.join(f)).unwrap();
    }
    Some((tmp, bundle))
}
