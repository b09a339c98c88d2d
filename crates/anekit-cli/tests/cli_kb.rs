//! `ane kb` end to end: list/show/search values, errors with suggestions, and the export
//! validated against `schemas/kb.schema.json` (JSON Schema draft 2020-12).

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn json(args: &[&str]) -> Value {
    let out = ane().args(args).arg("--json").assert().success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn text(args: &[&str]) -> String {
    let out = ane().args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

fn schema() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/kb.schema.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn export_validates_against_the_schema() {
    let doc = json(&["kb", "export"]);
    let schema = schema();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["tables"]["descriptors"]["count"], 47);
    assert_eq!(doc["tables"]["espresso_passes"]["count"], 40);

    // The schema is strict enough to catch a dropped tag, a wrong count and an unknown level.
    let mut no_tag = doc.clone();
    no_tag["tables"]["espresso_passes"]["entries"][0]
        .as_object_mut()
        .unwrap()
        .remove("evidence");
    assert!(!validator.is_valid(&no_tag));
    let mut short = doc.clone();
    short["tables"]["descriptors"]["entries"]
        .as_array_mut()
        .unwrap()
        .pop();
    assert!(!validator.is_valid(&short));
    let mut bad_level = doc.clone();
    bad_level["tables"]["chips"]["entries"][0]["cores"]["evidence"] = Value::from("probably");
    assert!(!validator.is_valid(&bad_level));

    // Export is JSON with or without --json.
    let plain: Value = serde_json::from_str(&text(&["kb", "export"])).unwrap();
    assert_eq!(plain, doc);
}

#[test]
fn list_tables_and_one_table() {
    let doc = json(&["kb", "list"]);
    let tables = doc["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 26);
    let desc = tables.iter().find(|t| t["name"] == "descriptors").unwrap();
    assert_eq!(
        (desc["count"].as_u64(), desc["stated_count"].as_u64()),
        (Some(47), Some(47))
    );

    let human = text(&["kb", "list"]);
    assert!(
        human
            .lines()
            .any(|l| l.starts_with("descriptors") && l.split_whitespace().nth(1) == Some("47")),
        "{human}"
    );

    let passes = json(&["kb", "list", "espresso_passes"]);
    assert_eq!(passes["count"], 40);
    assert_eq!(passes["entries"][4]["key"], "Pass_constant_folding");
    assert_eq!(passes["entries"][4]["evidence"], "unverified");

    let human = text(&["kb", "list", "descriptors"]);
    let conv = human
        .lines()
        .find(|l| l.starts_with("ANECConvLayerDesc "))
        .unwrap();
    assert_eq!(
        conv.split_whitespace().collect::<Vec<_>>(),
        [
            "ANECConvLayerDesc",
            "unverified",
            "176",
            "bytes,",
            "ANECConvLayerDescInitialize"
        ]
    );
    // Aligned: the evidence column starts at the same place on all 47 rows.
    let column = human.lines().nth(1).unwrap().find("evidence").unwrap();
    let rows: Vec<&str> = human
        .lines()
        .skip(2)
        .filter(|l| l.starts_with("ANEC"))
        .collect();
    assert_eq!(rows.len(), 47);
    assert!(
        rows.iter().all(|l| &l[column..column + 10] == "unverified"),
        "{human}"
    );
}

#[test]
fn show_a_descriptor_and_a_selector() {
    let doc = json(&["kb", "show", "ANECConvLayerDesc"]);
    let m = &doc["matches"].as_array().unwrap()[0];
    assert_eq!(doc["matches"].as_array().unwrap().len(), 1);
    assert_eq!(m["table"], "descriptors");
    assert_eq!(m["record"]["size"], 176);
    assert_eq!(m["record"]["initializer"], "ANECConvLayerDescInitialize");
    assert_eq!(m["record"]["evidence"], "unverified");

    let human = text(&["kb", "show", "ANECConvLayerDesc"]);
    assert!(
        human.starts_with("descriptors: ANECConvLayerDesc  [unverified]\n"),
        "{human}"
    );
    assert!(
        human
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["size", "176"]),
        "{human}"
    );

    let sel = json(&["kb", "show", "compileWithQoS:options:error:"]);
    let m = &sel["matches"][0];
    assert_eq!(
        (m["table"].as_str(), m["record"]["class"].as_str()),
        (Some("objc_members"), Some("_ANEInMemoryModel"))
    );
    assert_eq!(m["record"]["evidence"], "source");

    let chip = json(&["kb", "show", "M1"]);
    let r = &chip["matches"][0]["record"];
    assert_eq!(
        (r["generation"].as_str(), r["cores"]["value"].as_u64()),
        (Some("H13"), Some(16))
    );
    assert_eq!(r["mil"]["dialect"]["program_version"], "1.0");
    assert_eq!(r["peaks"][0]["fp16_tflops"], 5.4);
    let human = text(&["kb", "show", "_ANEClient"]);
    assert!(
        human.contains("members")
            && human.contains("- kind: class_method; name: sharedConnection;"),
        "{human}"
    );
}

#[test]
fn search_finds_selectors_and_text() {
    let doc = json(&["kb", "search", "compileWithQoS"]);
    let hits = doc["hits"].as_array().unwrap();
    assert!(
        hits.iter().any(|h| h["table"] == "objc_classes"
            && h["key"] == "_ANEInMemoryModel"
            && h["text"] == "compileWithQoS:options:error:"),
        "{hits:#?}"
    );
    assert_eq!(doc["count"].as_u64(), Some(hits.len() as u64));

    let ent = json(&["kb", "search", "ADAPTERWEIGHT", "--table", "entitlements"]);
    assert_eq!(
        ent["hits"][0]["key"],
        "com.apple.aned.private.adapterWeight.allow"
    );
    assert!(
        ent["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["table"] == "entitlements")
    );

    let human = text(&["kb", "search", "compileWithQoS"]);
    let header = human.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["table", "name", "field", "text"]
    );
    assert!(
        human.trim_end().ends_with("matches for 'compileWithQoS'"),
        "{human}"
    );
    assert_eq!(
        text(&["kb", "search", "no-such-text-anywhere"]).trim(),
        "no matches for 'no-such-text-anywhere'"
    );
}

#[test]
fn unknown_names_fail_with_one_line_and_suggestions() {
    let out = ane()
        .args(["kb", "show", "ANECConvLayerDsc"])
        .assert()
        .failure();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: no knowledge-base entry named 'ANECConvLayerDsc'; did you mean: ANECConvLayerDesc,"),
        "{stderr}"
    );
    let out = ane()
        .args(["kb", "show", "qqqqzzzz", "--json"])
        .assert()
        .failure();
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        doc["error"]["message"],
        "no knowledge-base entry named 'qqqqzzzz'; try `ane kb search qqqqzzzz`"
    );

    let out = ane().args(["kb", "list", "structs"]).assert().failure();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.starts_with(
            "error: no knowledge-base table named 'structs'; tables: chips, descriptors,"
        ),
        "{stderr}"
    );
    ane()
        .args(["kb", "search", "x", "--table", "nope"])
        .assert()
        .failure();
}

#[test]
fn export_into_a_closed_pipe_ends_quietly() {
    // `ane kb export | head`: the export (≈ 270 KB) outgrows the pipe buffer, so the write
    // meets a closed pipe whatever the timing; it must end with 0, not a panic.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ane"))
        .args(["kb", "export"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");
}
