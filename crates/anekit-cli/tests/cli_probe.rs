//! `ane probe` off macOS: exits 0 and says why there is nothing to probe, in text and JSON.

#![cfg(not(target_os = "macos"))]

use assert_cmd::Command;
use serde_json::Value;

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

/// The accel nodes this machine has, found independently of the command.
fn accel_nodes() -> Vec<String> {
    let mut nodes: Vec<String> = std::fs::read_dir("/dev/accel")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with("accel")
                })
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    nodes.sort();
    nodes
}

#[test]
fn probe_off_macos_explains_why_in_json_and_text() {
    let out = ane().args(["probe", "--json"]).assert().success();
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(doc["os"], std::env::consts::OS);
    assert_eq!(
        (doc["macos"].as_bool(), doc["probed"].as_bool()),
        (Some(false), Some(false))
    );
    let reason = doc["reason"].as_str().unwrap();
    assert!(reason.starts_with("not macOS ("), "{reason}");
    // A file a user can send us: who made it, when, in which layout.
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["anekit_version"], env!("CARGO_PKG_VERSION"));
    let timestamp = doc["timestamp"].as_str().unwrap();
    assert!(
        timestamp.len() == 20 && timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T',
        "{timestamp}"
    );
    assert_eq!(doc["mac"], Value::Null);
    // What a Mac would run is still listed.
    let ids: Vec<&str> = doc["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 7);
    assert_eq!((ids[0], ids[6]), ("system", "class_dump"));
    if cfg!(target_os = "linux") {
        assert_eq!(doc["asahi"]["accel_dir"], "/dev/accel");
        let nodes: Vec<String> = doc["asahi"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        assert_eq!(nodes, accel_nodes());
        if nodes.is_empty() {
            assert!(
                reason.contains("no Asahi Linux `ane` driver is loaded"),
                "{reason}"
            );
        }
    }

    let schema_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/probe.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let out = ane().arg("probe").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("probed: no") && text.contains(&format!("reason: {reason}")),
        "{text}"
    );
    assert!(
        text.starts_with(&format!(
            "anekit {} probe (schema 1) at ",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(
        text.contains("\non macOS the probe runs these steps:\nstep system "),
        "{text}"
    );
}
