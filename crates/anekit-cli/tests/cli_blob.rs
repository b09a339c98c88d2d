//! End-to-end tests of `ane blob`. The reference weight files were written by coremltools'
//! `_BlobStorageWriter` from the .npy inputs beside them (scripts/gen_blob_fixtures.py).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../anekit-blob/tests/fixtures")
}

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn expected() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixtures().join("expected.json")).unwrap()).unwrap()
}

fn json_stdout(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn pack_reproduces_coremltools_files() {
    let tmp = tempfile::tempdir().unwrap();
    let expected = expected();
    for (name, spec) in expected.as_object().unwrap() {
        let out_path = tmp.path().join(name);
        let mut cmd = ane();
        cmd.arg("--json")
            .arg("blob")
            .arg("pack")
            .arg("-o")
            .arg(&out_path);
        for input in spec["inputs"].as_array().unwrap() {
            cmd.arg(fixtures().join(input.as_str().unwrap()));
        }
        if let Some(d) = spec["dtype"].as_str() {
            cmd.args(["--dtype", d]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = json_stdout(&out);
        let offsets: Vec<u64> = report["blobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["offset"].as_u64().unwrap())
            .collect();
        let want: Vec<u64> = spec["offsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_u64().unwrap())
            .collect();
        assert_eq!(offsets, want, "{name}");
        let got = std::fs::read(&out_path).unwrap();
        let reference = std::fs::read(fixtures().join(name)).unwrap();
        assert_eq!(got, reference, "{name}: bytes differ from coremltools");
        assert_eq!(report["bytes"].as_u64(), Some(reference.len() as u64));
    }
}

#[test]
fn pack_human_output_lists_offsets_dtypes_and_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("w.bin");
    ane()
        .args(["blob", "pack", "-o"])
        .arg(&out)
        .arg(fixtures().join("int4_7.npy"))
        .arg(fixtures().join("int4_2x4.npy"))
        .args(["--dtype", "int4"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "BLOBFILE offset       64  int4             7 elements",
        ))
        .stdout(predicates::str::contains(
            "BLOBFILE offset      192  int4             8 elements",
        ))
        .stdout(predicates::str::contains("(2 blobs, 260 bytes)"));
}

#[test]
fn pack_append_builds_the_same_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("w.bin");
    let spec = &expected()["mixed.weight.bin"];
    let inputs: Vec<PathBuf> = spec["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| fixtures().join(i.as_str().unwrap()))
        .collect();
    ane()
        .args(["blob", "pack", "-o"])
        .arg(&out)
        .arg(&inputs[0])
        .assert()
        .success();
    let appended = ane()
        .args(["--json", "blob", "pack", "--append", "-o"])
        .arg(&out)
        .args(&inputs[1..])
        .output()
        .unwrap();
    assert!(appended.status.success());
    assert_eq!(json_stdout(&appended)["count"].as_u64(), Some(9));
    assert_eq!(
        json_stdout(&appended)["blobs"][0]["offset"].as_u64(),
        Some(192)
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(fixtures().join("mixed.weight.bin")).unwrap()
    );
}

#[test]
fn list_json_gives_the_blob_table() {
    let out = ane()
        .args(["--json", "blob", "list"])
        .arg(fixtures().join("sub_uint3.weight.bin"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let t = json_stdout(&out);
    assert_eq!(t["count"], 1);
    assert_eq!(t["file_bytes"], 133);
    let b = &t["blobs"][0];
    // 11 uint3 values = 33 bits → 5 bytes, 7 padding bits (mil-blob.md §1.7 rules).
    assert_eq!(b["offset"], 64);
    assert_eq!(b["data_offset"], 128);
    assert_eq!(b["dtype"], "uint3");
    assert_eq!(b["dtype_code"], 12);
    assert_eq!(b["elements"], 11);
    assert_eq!(b["bytes"], 5);
    assert_eq!(b["padding_bits"], 7);
}

#[test]
fn list_human_table() {
    ane()
        .args(["blob", "list"])
        .arg(fixtures().join("mixed.weight.bin"))
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "MIL blob storage v2, 9 blobs, 1226 bytes",
        ))
        .stdout(predicates::str::contains(
            "   8        1088        1152  fp16             37          74    0",
        ))
        .stdout(predicates::str::contains("total payload: 148 bytes"));
}

#[test]
fn extract_fp16_equals_numpy_file() {
    // f16_rand.npy is 1-D, so numpy's file and the extracted one must be identical.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.npy");
    ane()
        .args(["blob", "extract"])
        .arg(fixtures().join("mixed.weight.bin"))
        .args(["--offset", "0x440", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains("blob at offset 1088: 37 x fp16"));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(fixtures().join("f16_rand.npy")).unwrap()
    );
}

#[test]
fn extract_int4_unpacks_to_int8() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.npy");
    let run = ane()
        .args(["--json", "blob", "extract"])
        .arg(fixtures().join("sub_int4.weight.bin"))
        .args(["--offset", "192", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success());
    let r = json_stdout(&run);
    assert_eq!(r["dtype"], "int4");
    assert_eq!(r["npy_dtype"], "int8");
    assert_eq!(r["elements"], 8);
    assert_eq!(r["note"], "int4 values unpacked to int8");
    let got = std::fs::read(&out).unwrap();
    assert!(got.starts_with(
        b"\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (8,), }"
    ));
    // Same int8 payload as the (2, 4) input numpy wrote.
    let input = std::fs::read(fixtures().join("int4_2x4.npy")).unwrap();
    assert_eq!(&got[128..], &input[128..]);
    assert_eq!(&got[128..], &[1, 2, 3, 4, 0xfb, 0xfa, 0xf9, 0xf8]);
}

#[test]
fn errors_are_one_line_and_exit_nonzero() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.npy");
    ane()
        .args(["blob", "extract"])
        .arg(fixtures().join("mixed.weight.bin"))
        .args(["--offset", "100", "-o"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "blob metadata offset 0x64 (100) is not a multiple of 64",
        ));
    // Offset 128 is a payload, not a metadata record.
    ane()
        .args(["--json", "blob", "extract"])
        .arg(fixtures().join("mixed.weight.bin"))
        .args(["--offset", "128", "-o"])
        .arg(&out)
        .assert()
        .failure()
        .stdout(predicates::str::contains("\"error\""))
        .stderr(predicates::str::contains(
            "blob metadata at byte offset 0x80 (128): sentinel",
        ));
    // Narrowing out of range.
    ane()
        .args(["blob", "pack", "-o"])
        .arg(tmp.path().join("w.bin"))
        .arg(fixtures().join("u8_7.npy"))
        .args(["--dtype", "uint6"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "element 3 (127) does not fit in uint6 (range 0..=63)",
        ));
    // 64-bit arrays need an explicit conversion.
    ane()
        .args(["blob", "pack", "-o"])
        .arg(tmp.path().join("w.bin"))
        .arg(fixtures().join("npy_i8.npy"))
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "blob storage cannot hold int64 values; convert with --dtype",
        ));
    // int64 -9223372036854775808 does not fit in int32.
    ane()
        .args(["blob", "pack", "--dtype", "int32", "-o"])
        .arg(tmp.path().join("w.bin"))
        .arg(fixtures().join("npy_i8.npy"))
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "element 0 (-9223372036854775808) does not fit in int32",
        ));
    // A weight.bin is not an npy file.
    ane()
        .args(["blob", "pack", "-o"])
        .arg(tmp.path().join("w.bin"))
        .arg(fixtures().join("mixed.weight.bin"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("not an npy file"));
}

#[test]
fn truncated_file_reports_the_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixtures().join("mixed.weight.bin")).unwrap();
    let cut = tmp.path().join("cut.bin");
    // Cut inside the last payload (at 1152 + 74): the record at 1088 now points past the end.
    std::fs::write(&cut, &bytes[..1200]).unwrap();
    let out = ane().args(["blob", "list"]).arg(&cut).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("blob metadata at byte offset 0x440 (1088): payload [1152, 1152+74) lies outside the 1200-byte file"),
        "{err}"
    );
}
