//! Packages that anekit writes load in coremltools.
//!
//! Each fixture package (made by coremltools, `scripts/gen_coreml_fixtures.py`) goes
//! .mlpackage → `ane convert` → model.mil + weights → `ane convert` → .mlpackage, and the result
//! is loaded by coremltools itself (`MLModel(..., skip_model_load=True)` and its own MIL proto
//! reader, which type-checks every op) through the script's `--verify` mode. What coremltools
//! reads back must equal what it recorded for the original package in `expected.json`.
//!
//! Needs `python3` with coremltools. Without it the test prints `SKIPPED:` and passes, unless
//! `ANEKIT_REQUIRE_COREMLTOOLS` is set (CI installs coremltools and sets it).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    root().join("crates/anekit-coreml/tests/fixtures")
}

fn coremltools_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import coremltools"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("ANEKIT_REQUIRE_COREMLTOOLS").is_none(),
            "ANEKIT_REQUIRE_COREMLTOOLS is set but python3 cannot import coremltools"
        );
        eprintln!("SKIPPED: python3 with coremltools not available");
    }
    ok
}

/// A copy of fixture package `name` under `dir`, with the empty item folders its manifest lists
/// recreated: git keeps no empty folders, so a clean clone lacks `Data/com.apple.CoreML/weights`
/// of weightless packages, and coremltools refuses a manifest item whose path is missing.
fn original_copy(name: &str, dir: &Path) -> PathBuf {
    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    let copy = dir.join(format!("{name}.mlpackage"));
    copy_tree(&fixtures().join(format!("{name}.mlpackage")), &copy);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(copy.join("Manifest.json")).unwrap()).unwrap();
    for item in manifest["itemInfoEntries"].as_object().unwrap().values() {
        let path = copy.join("Data").join(item["path"].as_str().unwrap());
        if !path.exists() {
            std::fs::create_dir_all(&path).unwrap();
        }
    }
    copy
}

fn ane(args: &[&std::ffi::OsStr]) {
    let o = Command::new(env!("CARGO_BIN_EXE_ane"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ane {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn packages_written_by_anekit_load_in_coremltools() {
    if !coremltools_available() {
        return;
    }
    let expected: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("expected.json")).unwrap()).unwrap();
    let names: Vec<String> = expected["fixtures"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(names.len(), 8, "fixture list changed: {names:?}");
    let tmp = tempfile::tempdir().unwrap();
    let originals_dir = tmp.path().join("originals");
    let originals: Vec<PathBuf> = names
        .iter()
        .map(|n| original_copy(n, &originals_dir))
        .collect();
    let mut written = Vec::new();
    for name in &names {
        let txt = tmp.path().join(format!("{name}_txt"));
        let pkg = tmp.path().join(format!("{name}.mlpackage"));
        let src = fixtures().join(format!("{name}.mlpackage"));
        ane(&[
            "convert".as_ref(),
            src.as_os_str(),
            "-o".as_ref(),
            txt.as_os_str(),
        ]);
        let mil = txt.join("model.mil");
        ane(&[
            "convert".as_ref(),
            mil.as_os_str(),
            "-o".as_ref(),
            pkg.as_os_str(),
        ]);
        written.push(pkg);
    }
    let out = Command::new("python3")
        .arg(root().join("scripts/gen_coreml_fixtures.py"))
        .arg("--verify")
        .args(&written)
        .args(&originals)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "coremltools rejected a package anekit wrote: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded: Value = serde_json::from_slice(&out.stdout).unwrap();
    for ((name, pkg), original) in names.iter().zip(&written).zip(&originals) {
        let got = &loaded[pkg.to_str().unwrap()];
        let want = &expected["fixtures"][name];
        assert_eq!(
            got["specificationVersion"], want["specificationVersion"],
            "{name}"
        );
        let sorted = |v: &Value| {
            let mut names: Vec<String> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        };
        if want["description_functions"].as_array().unwrap().is_empty() {
            for key in ["inputs", "outputs", "defaultFunctionName"] {
                assert_eq!(got[key], want[key], "{name}: {key}");
            }
        } else {
            // Multi-function: MIL text has no default-function marker and no function order
            // (the proto holds functions in a map), so the package written from text lists the
            // functions sorted, takes the first as default and repeats its I/O at the top level.
            assert_eq!(
                sorted(&got["description_functions"]),
                sorted(&want["description_functions"]),
                "{name}"
            );
        }
        let (gf, wf) = (
            got["functions"].as_object().unwrap(),
            want["functions"].as_object().unwrap(),
        );
        // Function names as a set: the proto holds them in a map, and the order in which
        // coremltools' protobuf runtime iterates it differs between processes.
        let names = |m: &serde_json::Map<String, serde_json::Value>| {
            let mut k: Vec<String> = m.keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(names(gf), names(wf), "{name}");
        for (fname, w) in wf {
            let g = &gf[fname];
            for key in ["opset", "inputs", "outputs", "ops", "outputs_of_ops"] {
                assert_eq!(g[key], w[key], "{name}/{fname}: {key}");
            }
            // Same number of weight blobs (offsets are anekit's writer's, equal to
            // coremltools' layout only when the blobs are written in the same order).
            assert_eq!(
                g["blob_offsets"].as_array().unwrap().len(),
                w["blob_offsets"].as_array().unwrap().len(),
                "{name}/{fname}: blob count"
            );
        }
        // coremltools' MIL reader builds the same ops from our package as from its own.
        let theirs = &loaded[original.to_str().unwrap()]["pymil_ops"];
        assert!(theirs.as_array().is_some_and(|a| !a.is_empty()), "{name}");
        assert_eq!(
            &got["pymil_ops"], theirs,
            "{name}: ops coremltools' MIL reader built"
        );
    }
}
