//! `ane espresso` and the Espresso part of `ane inspect`, end to end: on the Chiron bundle of
//! the corpus (values from the [verified] facts of reference/espresso.md §4, §9) and on the
//! generated fixtures of scripts/gen_pbze_fixtures.py.

use anekit_core::corpus::corpus_dir;
use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../anekit-espresso/tests/fixtures")
        .join(name)
}

fn chiron() -> Option<PathBuf> {
    corpus_dir("espresso").map(|d| d.join("ameeSun__Chiron-Swift-Student-Challenge"))
}

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn run_json(args: &[&str], path: &Path) -> Value {
    let a = ane().arg("--json").args(args).arg(path).assert().success();
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

fn run_text(args: &[&str], path: &Path) -> String {
    let a = ane().args(args).arg(path).assert().success();
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

#[test]
fn layers_of_the_chiron_bundle() {
    let Some(dir) = chiron() else { return };
    // The folder (as an .mlmodelc) and the .net file give the same layers.
    let j = run_json(&["espresso", "layers"], &dir);
    let j2 = run_json(&["espresso", "layers"], &dir.join("model.espresso.net"));
    assert_eq!(j["layers"], j2["layers"]);
    assert_eq!(j["format_version"], 200);
    let layers = j["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 14);
    let conv1 = &layers[1];
    assert_eq!(conv1["name"], "sequential/conv1/BiasAdd");
    assert_eq!(conv1["type"], "convolution");
    assert_eq!(conv1["bottom"], json!(["transpose_15"]));
    assert_eq!(conv1["top"], json!(["sequential/conv1/Relu"]));
    assert_eq!(conv1["params"]["kind"], "convolution");
    assert_eq!(conv1["params"]["c"], 128);
    assert_eq!(conv1["params"]["k"], 1);
    assert_eq!(conv1["params"]["blob_weights"], 3);
    assert_eq!(layers[13]["attributes"]["is_output"], 1);

    let text = run_text(&["espresso", "layers"], &dir);
    assert!(text.contains(": 14 layers (format_version 200)"), "{text}");
    assert!(
        text.contains(
            "C(out)=128 K(in)=1 5x5 stride 1x1 groups 1 +relu [blob_weights=#3 blob_biases=#1]"
        ),
        "{text}"
    );
    assert!(text.contains("max 9x9 stride 3x3"), "{text}");
    assert!(
        text.contains("nB(in)=64 nC(out)=2 [blob_weights=#23 blob_biases=#21]"),
        "{text}"
    );
}

#[test]
fn stats_of_the_chiron_bundle() {
    let Some(dir) = chiron() else { return };
    let j = run_json(&["espresso", "stats"], &dir);
    assert_eq!(j["layers"], 14);
    assert_eq!(
        j["types"],
        json!([
            {"type": "transpose", "count": 2},
            {"type": "convolution", "count": 4},
            {"type": "pool", "count": 4},
            {"type": "reshape", "count": 1},
            {"type": "inner_product", "count": 2},
            {"type": "softmax_nd", "count": 1},
        ])
    );
    assert_eq!(j["untyped_layers"], 0);
    assert_eq!(j["unknown_keys"], 0);
    assert_eq!(j["weight_blobs"], 24);
    // 953856 − 392-byte header; the layers use all but blob 0 (56 B) and blob 22 (32 B).
    assert_eq!(j["weight_bytes"], 953_464);
    assert_eq!(j["referenced_blobs"], 12);
    assert_eq!(j["referenced_bytes"], 953_376);
    assert_eq!(j["unresolved_blob_ids"], json!([]));
    assert_eq!(j["shape_blobs"], 15);
    assert_eq!(j["blobs_without_shape"], json!([]));

    let text = run_text(&["espresso", "stats"], &dir);
    assert!(text.contains("  convolution      4\n"), "{text}");
    assert!(
        text.contains("24 blobs, 953464 bytes; layers reference 12 blob(s), 953376 bytes"),
        "{text}"
    );
    assert!(text.contains("— 15 blobs"), "{text}");
}

#[test]
fn weights_table_of_the_chiron_bundle() {
    let Some(dir) = chiron() else { return };
    let j = run_json(&["espresso", "weights"], &dir);
    assert_eq!(j["file_size"], 953_856);
    assert_eq!(j["header_size"], 392);
    let blobs = j["blobs"].as_array().unwrap();
    assert_eq!(blobs.len(), 24);
    assert_eq!(blobs[3]["id"], 3);
    assert_eq!(blobs[3]["size"], 12_800);
    assert_eq!(blobs[3]["offset"], 960);
    assert_eq!(
        blobs[3]["used_by"],
        json!(["sequential/conv1/BiasAdd.blob_weights"])
    );
    assert_eq!(blobs[22]["used_by"], json!([]));
    let text = run_text(&["espresso", "weights"], &dir);
    assert!(
        text.contains("953856 bytes, 24 blobs, header 392 bytes"),
        "{text}"
    );
    assert!(
        text.contains("     7     0x36c0     819200  sequential/conv2/BiasAdd.blob_weights"),
        "{text}"
    );
}

/// A copy of the synthetic bundle with `edit` applied to its net.
fn edited_bundle(dir: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut net: Value =
        serde_json::from_slice(&std::fs::read(fixture("synthetic.espresso.net")).unwrap()).unwrap();
    edit(&mut net);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("model.espresso.net"),
        serde_json::to_vec_pretty(&net).unwrap(),
    )
    .unwrap();
    std::fs::copy(
        fixture("synthetic.espresso.weights"),
        dir.join("synthetic.espresso.weights"),
    )
    .unwrap();
    dir.to_path_buf()
}

#[test]
fn diff_reports_what_an_ane_compile_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let a = edited_bundle(&tmp.path().join("cpu"), |_| {});
    let b = edited_bundle(&tmp.path().join("ane"), |net| {
        let layers = net["layers"].as_array_mut().unwrap();
        // fc becomes a lookup with quantization_mode 2; flat is decomposed into two layers;
        // the unknown layer disappears; a concat appears.
        layers[8]["is_lookup"] = json!(1);
        layers[8]["quantization_mode"] = json!(2);
        layers[8]["blob_weights"] = json!(5);
        let flat = layers.remove(7);
        let mut p1 = flat.clone();
        p1["name"] = json!("flat_conv");
        p1["type"] = json!("convolution");
        let mut p2 = flat;
        p2["name"] = json!("flat_split");
        p2["type"] = json!("split_nd");
        layers.insert(7, p2);
        layers.insert(7, p1);
        layers.pop();
        layers.push(json!({"name": "joined", "type": "concat", "bottom": "h", "top": "out"}));
    });
    let out = ane()
        .args(["--json", "espresso", "diff"])
        .arg(&a)
        .arg(&b)
        .assert()
        .success();
    let j: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(j["identical"], false);
    assert_eq!(
        (j["layers_a"].clone(), j["layers_b"].clone()),
        (json!(12), json!(13))
    );
    assert_eq!(j["removed"], json!([["future", "brand_new_layer"]]));
    assert_eq!(j["added"], json!([["joined", "concat"]]));
    assert_eq!(
        j["decomposed"],
        json!([{"name": "flat", "type": "flatten",
                "into": [["flat_conv", "convolution"], ["flat_split", "split_nd"]]}])
    );
    assert_eq!(
        j["field_changes"],
        json!([
            {"layer": "fc", "field": "is_lookup", "a": null, "b": 1},
            {"layer": "fc", "field": "quantization_mode", "a": 0, "b": 2},
        ])
    );
    assert_eq!(j["changed"][0]["name"], "fc");
    assert_eq!(
        j["changed"][0]["keys"],
        json!(["blob_weights", "quantization_mode", "is_lookup"])
    );
    // fc referenced blob 9 (512 B) + 7 (64 B); now blob 5 (128 B) + 7.
    assert_eq!(
        j["weight_changes"],
        json!([{"layer": "fc", "a_bytes": 576, "b_bytes": 192}])
    );
    let types = j["types"].as_array().unwrap();
    let conv = types.iter().find(|t| t["type"] == "convolution").unwrap();
    assert_eq!((conv["a"].clone(), conv["b"].clone()), (json!(1), json!(2)));

    let text = String::from_utf8(
        ane()
            .args(["espresso", "diff"])
            .arg(&a)
            .arg(&b)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(
        text.contains(
            "decomposed (by name): flat (flatten) -> flat_conv (convolution), flat_split (split_nd)"
        ),
        "{text}"
    );
    assert!(text.contains("- future (brand_new_layer)"), "{text}");
    assert!(text.contains("+ joined (concat)"), "{text}");
    assert!(text.contains("  fc.is_lookup: ? -> 1"), "{text}");
    assert!(text.contains("  fc.quantization_mode: 0 -> 2"), "{text}");
    assert!(text.contains("  fc weights: 576 -> 192 bytes"), "{text}");

    let same = ane()
        .args(["espresso", "diff"])
        .arg(&a)
        .arg(&a)
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&same.get_output().stdout).contains("no differences"));
}

#[test]
fn pbze_nets_and_unknown_codes_are_shown() {
    // The PBZE net resolves nothing (no storage next to it) but parses like the JSON.
    let j = run_json(&["espresso", "layers"], &fixture("net.pbze"));
    let layers = j["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 12);
    assert_eq!(
        layers[6]["params"]["operation"],
        json!({"op": "unknown", "code": 10})
    );
    assert_eq!(layers[5]["params"]["operation"], json!({"op": "clip"}));
    let text = run_text(&["espresso", "layers"], &fixture("synthetic.espresso.net"));
    assert!(
        text.contains("unknown elementwise op 10 (claimed max by mdaiter/ane, divide by espresso2onnx; unverified)"),
        "{text}"
    );
    assert!(
        text.contains("(untyped layer type) (output) +1 other key(s): knob"),
        "{text}"
    );
    assert!(text.contains("+1 other key(s): zz_future_key"), "{text}");
}

#[test]
fn espresso_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.espresso.net");
    std::fs::write(
        &bad,
        "{\"layers\": [\n {\"name\": \"x\", \"type\": \"pool\", \"avg_or_max\": \"max\"}]}",
    )
    .unwrap();
    let a = ane()
        .args(["espresso", "layers"])
        .arg(&bad)
        .assert()
        .failure();
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(".layers[0] \"x\".avg_or_max: expected an integer, found \"max\""),
        "{err}"
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    ane()
        .args(["espresso", "stats"])
        .arg(&empty)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "no *.espresso.net in this folder",
        ));
    // A net whose `storage` names no file next to it.
    let lonely = tmp.path().join("lonely.espresso.net");
    std::fs::copy(fixture("net.pbze"), &lonely).unwrap();
    ane()
        .args(["espresso", "weights"])
        .arg(&lonely)
        .assert()
        .failure()
        .stderr(predicates::str::contains("no weights file"));
}

#[test]
fn inspect_summarises_espresso_files() {
    let j = run_json(&["inspect"], &fixture("net.pbze"));
    assert_eq!(j["kind"], "espresso.net");
    assert_eq!(j["pbze"]["uncompressed_size"], 4444);
    assert_eq!(j["net"]["layers"], 12);

    let j = run_json(&["inspect"], &fixture("shape.pbze"));
    assert_eq!(j["kind"], "espresso.shape");
    assert_eq!(j["shape"]["shapes"].as_array().unwrap().len(), 15);

    let j = run_json(&["inspect"], &fixture("synthetic.espresso.weights"));
    assert_eq!(j["kind"], "espresso.weights");
    assert_eq!(j["weights"]["entries"].as_array().unwrap().len(), 14);

    // A raw LZFSE stream: the fixture's payload after the 28-byte PBZE header.
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("stream.lzfse");
    std::fs::write(&raw, &std::fs::read(fixture("net.pbze")).unwrap()[28..]).unwrap();
    let text = run_text(&["inspect"], &raw);
    assert!(
        text.contains("LZFSE stream: 1107 bytes -> 4444 bytes in 2 block(s)"),
        "{text}"
    );

    if let Some(root) = corpus_dir("tinygrad-ane") {
        let j = run_json(&["inspect"], &root.join("2_compile/net.plist"));
        assert_eq!(j["kind"], "net.plist");
        let net = &j["net_plist"]["networks"][0];
        assert_eq!(net["units"].as_array().unwrap().len(), 2);
        assert_eq!(net["units"][0]["params"]["kernel_offset"], 192);
        let text = run_text(&["inspect"], &root.join("2_compile/net.plist"));
        assert!(
            text.contains("probs_tmp_0 kernel: weights[0] model.espresso.weights @ 192"),
            "{text}"
        );
    }
    if let Some(dir) = chiron() {
        let text = run_text(&["inspect"], &dir.join("model.espresso.net"));
        assert!(
            text.contains(
                "espresso.net: 14 layers, format_version 200, storage model.espresso.weights"
            ),
            "{text}"
        );
    }
}
