//! End-to-end tests of `ane anec from-hwx|info` and `ane inspect` on .hwx/.anec files.
//! Expected values: reference/hwx-td.md §5.2, §7.3 (derived from the Mach-O, verified) and the
//! eiln kernels' metadata (§7.4).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap_or_else(|e| panic!("ane binary: {e}"))
}

fn tinygrad() -> Option<PathBuf> {
    anekit_core::corpus::corpus_dir("tinygrad-ane")
}

fn json_of(args: &[&std::ffi::OsStr]) -> Value {
    let out = ane()
        .arg("--json")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "ane {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("ane {args:?}: not JSON: {e}"))
}

fn from_hwx(hwx: &Path, out: &Path) {
    ane()
        .args(["anec", "from-hwx"])
        .arg(hwx)
        .arg("-o")
        .arg(out)
        .assert()
        .success();
}

#[test]
fn from_hwx_relu_writes_the_derived_header() {
    let Some(dir) = tinygrad() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = tmp.path().join("relu.anec");
    let assert = ane()
        .args(["anec", "from-hwx"])
        .arg(dir.join("ops/relu.hwx"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("size 0x4280"), "ops/relu.hwx: {stdout}");
    assert!(
        stdout.contains("tiles 0:2 4:1 5:1"),
        "ops/relu.hwx: {stdout}"
    );

    let bytes = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bytes.len(), 0x1000 + 0x4280, "ops/relu.hwx → .anec length");
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap_or([0; 8]));
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap_or([0; 4]));
    assert_eq!(u64_at(0), 0x4280, "size");
    assert_eq!(u32_at(8), 0x274, "td_size");
    assert_eq!(u32_at(0xC), 1, "td_count");
    assert_eq!(u64_at(0x10), 0x274, "tsk_size");
    assert_eq!(u64_at(0x18), 0x4000, "krn_size");
    assert_eq!((u32_at(0x20), u32_at(0x24)), (1, 1), "src/dst counts");
    assert_eq!(
        (u32_at(0x28), u32_at(0x28 + 16), u32_at(0x28 + 20)),
        (2, 1, 1),
        "tiles"
    );
    // nchw[4] and nchw[5] = (1, 1, 1, 77, 0xC0, 0xC0).
    for slot in [4usize, 5] {
        let base = 0xA8 + slot * 48;
        let v: Vec<u64> = (0..6).map(|i| u64_at(base + 8 * i)).collect();
        assert_eq!(v, vec![1, 1, 1, 77, 0xC0, 0xC0], "nchw[{slot}]");
    }
    // Payload = the hwx bytes from the first TD (0x4000).
    let hwx = std::fs::read(dir.join("ops/relu.hwx")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        bytes[0x1000..],
        hwx[0x4000..0x4000 + 0x4280],
        "ops/relu.hwx payload"
    );
}

#[test]
fn from_hwx_json_and_info_json_agree() {
    let Some(dir) = tinygrad() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = tmp.path().join("concat.anec");
    let hwx = dir.join("ops/concat.hwx");
    let report = json_of(&[
        "anec".as_ref(),
        "from-hwx".as_ref(),
        hwx.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(report["size"], 0x4580, "ops/concat.hwx");
    assert_eq!(report["td_count"], 2, "ops/concat.hwx");
    assert_eq!(
        report["tiles"],
        serde_json::json!([[0, 2], [4, 65], [5, 1], [6, 64]]),
        "ops/concat.hwx"
    );

    let info = json_of(&["anec".as_ref(), "info".as_ref(), out.as_os_str()]);
    assert_eq!(info["format"], "anec");
    assert_eq!(info["header"]["tsk_size"], 0x574);
    assert_eq!(info["header"]["krn_size"], 0x4000);
    assert_eq!(info["header"]["src_count"], 2);
    assert_eq!(info["issues"], serde_json::json!([]));
    let t = &info["tensors"];
    assert_eq!(t[0]["role"], "output");
    assert_eq!(
        (t[0]["slot"].as_u64(), t[0]["c"].as_u64()),
        (Some(4), Some(16400))
    );
    assert_eq!(
        (t[1]["slot"].as_u64(), t[1]["c"].as_u64()),
        (Some(5), Some(16))
    );
    assert_eq!(
        (t[2]["slot"].as_u64(), t[2]["c"].as_u64()),
        (Some(6), Some(16384))
    );
    assert_eq!(t[2]["plane_stride"], 0x40);
}

#[test]
fn info_human_output() {
    let Some(dir) = tinygrad() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = tmp.path().join("gemm.anec");
    from_hwx(&dir.join("ops/gemm.hwx"), &out);
    let assert = ane().args(["anec", "info"]).arg(&out).assert().success();
    let text = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(text.contains("size 0x80280"), "gemm.anec: {text}");
    assert!(text.contains("krn_size 0x80000"), "gemm.anec: {text}");
    assert!(text.contains("33 tiles"), "gemm.anec: {text}");
    assert!(text.contains("1×512×1×1"), "gemm.anec: {text}");
    assert!(!text.contains("warning"), "gemm.anec: {text}");
}

#[test]
fn info_reads_headerless_eiln_payloads() {
    let Some(dir) = anekit_core::corpus::corpus_dir("asahi-ane") else {
        return;
    };
    let f = dir.join("eiln-ane-h13-kernels/activation/logsoftmax.bin");
    let info = json_of(&["anec".as_ref(), "info".as_ref(), f.as_os_str()]);
    assert_eq!(info["format"], "anec-payload", "activation/logsoftmax.bin");
    // kernels-metadata.json: td_count 7, tsk_size 5236, krn_size 256, size 5504, tiles[0] 1.
    let s = &info["scan"];
    assert_eq!(s["td_count"], 7, "activation/logsoftmax.bin");
    assert_eq!(s["tsk_size"], 5236, "activation/logsoftmax.bin");
    assert_eq!(s["krn_size"], 256, "activation/logsoftmax.bin");
    assert_eq!(s["size"], 5504, "activation/logsoftmax.bin");
    assert_eq!(s["command_tiles"], 1, "activation/logsoftmax.bin");
    let text = ane().args(["anec", "info"]).arg(&f).assert().success();
    let text = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(
        text.contains("7 TD(s) of 0x274 bytes"),
        "activation/logsoftmax.bin: {text}"
    );
}

#[test]
fn errors_are_one_line_with_offsets() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let junk = tmp.path().join("junk.hwx");
    std::fs::write(&junk, [0u8; 64]).unwrap_or_else(|e| panic!("{e}"));
    let out = tmp.path().join("junk.anec");
    let a = ane()
        .args(["anec", "from-hwx"])
        .arg(&junk)
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("magic 0x00000000"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!out.exists(), "no output on failure");

    // A header announcing more payload than the file holds.
    let short = tmp.path().join("short.anec");
    let mut header = vec![0u8; 0x1000];
    header[..8].copy_from_slice(&0x4280u64.to_le_bytes());
    header[0x28] = 2;
    std::fs::write(&short, &header).unwrap_or_else(|e| panic!("{e}"));
    let a = ane()
        .args(["anec", "info"])
        .arg(&short)
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("byte offset 0x1000"), "{err}");

    let a = ane()
        .args(["--json", "anec", "info"])
        .arg(tmp.path().join("missing.anec"))
        .assert()
        .failure();
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot read"),
        "{v}"
    );
}

/// (role, slot, n, c, h, w, plane, row) of a tensor.
type TensorKey = (String, u64, u64, u64, u64, u64, u64, u64);

/// The [`TensorKey`] of each tensor in an inspect/info JSON document, by slot.
fn tensor_keys(v: &Value) -> Vec<TensorKey> {
    let mut out: Vec<_> = v["tensors"]
        .as_array()
        .unwrap_or_else(|| panic!("no tensors in {v}"))
        .iter()
        .map(|t| {
            let n = |k: &str| t[k].as_u64().unwrap_or(u64::MAX);
            (
                t["role"].as_str().unwrap_or("").to_string(),
                n("slot"),
                n("n"),
                n("c"),
                n("h"),
                n("w"),
                n("plane_stride"),
                n("row_stride"),
            )
        })
        .collect();
    out.sort_by_key(|k| k.1);
    out
}

#[test]
fn inspect_reports_the_same_tensors_for_hwx_and_its_anec() {
    let Some(dir) = tinygrad() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for rel in [
        "ops/relu.hwx",
        "ops/sum.hwx",
        "ops/concat.hwx",
        "ops/gemm.hwx",
        "ops/conv.hwx",
    ] {
        let hwx = dir.join(rel);
        let anec = tmp.path().join(format!("{}.anec", rel.replace('/', "_")));
        from_hwx(&hwx, &anec);
        let a = json_of(&["inspect".as_ref(), hwx.as_os_str()]);
        let b = json_of(&["inspect".as_ref(), anec.as_os_str()]);
        let ka = tensor_keys(&a);
        assert!(!ka.is_empty(), "{rel}: no tensors");
        assert_eq!(ka, tensor_keys(&b), "{rel}: inspect .hwx vs .anec tensors");
        assert_eq!(a["generation"], "H13", "{rel}");
        assert_eq!(a["compiler_version"], "4.2.1", "{rel}");
    }
}

#[test]
fn inspect_hwx_human_summary() {
    let Some(dir) = tinygrad() else { return };
    let a = ane()
        .arg("inspect")
        .arg(dir.join("ops/conv.hwx"))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    for needle in [
        "generation: H13 (cpusubtype 4)",
        "zin_ane_compiler v4.2.1 (target h13)",
        "TDs:        1 × 0x274 bytes",
        "__TEXT,__const",
        "image",
        "probs@output",
        "1×3×1×1",
        "fp16",
        "CoeffBaseAddr[2] = 0x80",
        "LC_LOADFVMLIB",
    ] {
        assert!(
            text.contains(needle),
            "ops/conv.hwx: missing {needle:?} in\n{text}"
        );
    }
}
