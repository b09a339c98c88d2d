//! `ane pbze` end to end, on the fixtures scripts/gen_pbze_fixtures.py made with the reference
//! LZFSE encoder (PyPI `lzfse`).

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../anekit-espresso/tests/fixtures")
        .join(name)
}

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap()
}

#[test]
fn decode_writes_the_payload() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net.json");
    let a = ane()
        .args(["pbze", "decode"])
        .arg(fixture("net.pbze"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("(1135 bytes)") && stdout.contains("(4444 bytes)"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(fixture("payload_net.bin")).unwrap()
    );
}

#[test]
fn encode_is_byte_identical_to_the_reference_encoder() {
    let dir = tempfile::tempdir().unwrap();
    for case in ["empty", "tiny", "small", "under4k", "net", "shape"] {
        let out = dir.path().join(format!("{case}.pbze"));
        let a = ane()
            .args(["--json", "pbze", "encode"])
            .arg(fixture(&format!("payload_{case}.bin")))
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let j = json_of(&a.get_output().stdout);
        assert_eq!(j["reference_encoder"], true, "{case}");
        let ours = std::fs::read(&out).unwrap();
        assert!(
            ours == std::fs::read(fixture(&format!("{case}.pbze"))).unwrap(),
            "{case}: ane pbze encode differs from the reference"
        );
        assert_eq!(j["output_bytes"].as_u64().unwrap(), ours.len() as u64);
    }
}

#[test]
fn encode_output_decodes_with_the_reference_decoder() {
    // A payload big enough for several bvx2 blocks.
    let mut payload = String::from("{\"layers\":[");
    for i in 0..20_000u32 {
        payload.push_str(&format!(
            "{{\"name\":\"l{i}\",\"type\":\"convolution\",\"C\":{},\"K\":{}}},",
            i % 97,
            i % 13
        ));
    }
    payload.push_str("{}]}");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.json");
    std::fs::write(&input, &payload).unwrap();
    let out = dir.path().join("big.pbze");
    ane()
        .args(["pbze", "encode"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let file = std::fs::read(&out).unwrap();
    assert_eq!(&file[..4], b"pbze");
    let raw = u64::from_be_bytes(file[12..20].try_into().unwrap());
    let compressed = u64::from_be_bytes(file[20..28].try_into().unwrap());
    assert_eq!(raw, payload.len() as u64);
    assert_eq!(compressed, file.len() as u64 - 28);
    let mut back = vec![0u8; payload.len() + 1];
    let n = lzfse::decode_buffer(&file[28..], &mut back).unwrap();
    assert_eq!(&back[..n], payload.as_bytes());

    // And `stats` sees several bvx2 blocks.
    let a = ane()
        .args(["--json", "pbze", "stats"])
        .arg(&out)
        .assert()
        .success();
    let j = json_of(&a.get_output().stdout);
    let blocks = j["chunks"][0]["stream"]["blocks"].as_array().unwrap();
    let v2 = blocks.iter().filter(|b| b["kind"] == "bvx2").count();
    assert!(v2 > 1, "{blocks:?}");
    assert_eq!(blocks.last().unwrap()["kind"], "bvx$");
}

#[test]
fn stats_reports_header_blocks_and_ratio() {
    let a = ane()
        .args(["pbze", "stats"])
        .arg(fixture("net.pbze"))
        .assert()
        .success();
    let text = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(text.contains("PBZE file: 1135 bytes"), "{text}");
    assert!(text.contains("header field @0x4: 0x40000000"), "{text}");
    assert!(text.contains("uncompressed: 4444 bytes"), "{text}");
    assert!(text.contains("compressed:   1107 bytes"), "{text}");
    assert!(text.contains("ratio:        4.01"), "{text}");
    assert!(
        text.contains("bvx2 @0x1c: 1103 bytes encoded, 4444 bytes raw"),
        "{text}"
    );

    let a = ane()
        .args(["--json", "pbze", "stats"])
        .arg(fixture("small.pbze"))
        .assert()
        .success();
    let j = json_of(&a.get_output().stdout);
    assert_eq!(j["flags"], 0x4000_0000);
    assert_eq!(j["uncompressed_size"], 100);
    assert_eq!(j["compressed_size"], 86);
    assert_eq!(j["chunks"][0]["stream"]["blocks"][0]["kind"], "bvxn");
    assert!((j["ratio"].as_f64().unwrap() - 100.0 / 86.0).abs() < 1e-12);
}

#[test]
fn errors_are_one_line_and_exit_non_zero() {
    let a = ane()
        .args(["pbze", "stats"])
        .arg(fixture("payload_net.bin"))
        .assert()
        .failure();
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains("not a PBZE file: expected magic \"pbze\""),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // A truncated file names the offset.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pbze");
    std::fs::write(&cut, &std::fs::read(fixture("net.pbze")).unwrap()[..500]).unwrap();
    let a = ane()
        .args(["--json", "pbze", "decode"])
        .arg(&cut)
        .arg("-o")
        .arg(dir.path().join("x"))
        .assert()
        .failure();
    let j = json_of(&a.get_output().stdout);
    let msg = j["error"]["message"].as_str().unwrap();
    assert!(msg.contains("truncated input at byte offset 0x1c"), "{msg}");
    assert!(!dir.path().join("x").exists());

    // The limit is enforced before decoding.
    ane()
        .args(["pbze", "decode", "--limit", "100"])
        .arg(fixture("net.pbze"))
        .arg("-o")
        .arg(dir.path().join("y"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("over the limit of 100"));
}
