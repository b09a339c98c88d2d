//! `ane bench` end to end on the CPU backend with `--quick` sizes: the JSON validates against
//! schemas/bench.schema.json, maps onto the community result files field by field, `--out`
//! and `--plot` write the same results and one chart point per sweep entry; errors are one line.

use anekit_bench::flops;
use anekit_bench::report::Report;
use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn validator() -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/bench.schema.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn cpu_quick_run_writes_schema_valid_json_and_a_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("results.json");
    let svg_path = dir.path().join("sweep.svg");
    let out = ane()
        .args(["bench", "--backend", "cpu", "--quick", "--json", "--out"])
        .arg(&out_path)
        .arg("--plot")
        .arg(&svg_path)
        .assert()
        .success();
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let errors: Vec<String> = validator()
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // --out holds the same document.
    let file: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(file, doc);

    assert_eq!(doc["backend"]["kind"], "cpu");
    assert_eq!(doc["backend"]["reason"], "cpu requested");
    assert_eq!(doc["provenance"]["kind"], "measured");
    assert_eq!(doc["provenance"]["neural_engine"], false);
    assert_eq!(doc["quick"], true);
    assert_eq!(doc["target"]["chip"], "M4");
    assert_eq!(doc["target"]["program_version"], "1.3");
    let peak = doc["benchmarks"]["inmem_peak"].as_array().unwrap();
    let configs: Vec<(u64, u64, u64)> = peak
        .iter()
        .map(|r| {
            (
                r["depth"].as_u64().unwrap(),
                r["channels"].as_u64().unwrap(),
                r["spatial"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(configs, [(2, 64, 16), (4, 64, 16), (8, 32, 16)]);
    for r in peak {
        let f = flops::conv_stack_flops(
            r["channels"].as_u64().unwrap(),
            r["depth"].as_u64().unwrap(),
            r["spatial"].as_u64().unwrap(),
        );
        let ms = r["ms_per_eval"].as_f64().unwrap();
        assert_eq!(r["tflops"].as_f64().unwrap(), flops::tflops(f, ms));
        assert_eq!(r["gflops"].as_f64().unwrap(), flops::gflop(f));
        assert_eq!(r["iterations"], 3);
    }
    let sram = doc["benchmarks"]["sram_probe"].as_array().unwrap();
    let channels: Vec<u64> = sram
        .iter()
        .map(|r| r["channels"].as_u64().unwrap())
        .collect();
    assert_eq!(channels, [32, 64, 128, 256]);
    assert_eq!(sram[3]["weight_mb"], 0.125);
    let dispatch = doc["benchmarks"]["dispatch"].as_array().unwrap();
    assert_eq!(dispatch.len(), 1);
    assert_eq!(dispatch[0]["path"], "cpu");
    assert_eq!(dispatch[0]["channels"], 32);
    let best = peak
        .iter()
        .map(|r| r["tflops"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(doc["summary"]["peak_tflops"].as_f64(), Some(best));

    // The chart: an SVG document with one point per sweep entry, in sweep order.
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(
        svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "),
        "{svg}"
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<svg ").count(), 1);
    let points: Vec<&str> = svg
        .split("data-channels=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(points, ["32", "64", "128", "256"]);
    assert_eq!(svg.matches("<circle class=\"point\"").count(), 4);
    assert_eq!(svg.matches("</circle>").count(), 4);
    assert!(svg.contains("CPU figures"), "{svg}");
}

#[test]
fn cpu_results_map_field_by_field_onto_a_community_file() {
    let out = ane()
        .args(["bench", "--quick", "--suite", "sram", "--json"])
        .assert()
        .success();
    let report: Report = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let ours = report.to_dev_erik();
    let Some(dir) = anekit_core::corpus::corpus_dir("maderix-ane") else {
        return;
    };
    let theirs: Value = serde_json::from_slice(
        &std::fs::read(dir.join("dev-erik-ANE/apple_m4_max_20260303.json")).unwrap(),
    )
    .unwrap();
    // Same layout: top level, system fields we know here, rows and summary.
    assert!(keys(&ours).is_subset(&keys(&theirs)), "{ours}");
    assert!(keys(&ours["system"]).is_subset(&keys(&theirs["system"])));
    assert_eq!(
        keys(&ours["benchmarks"]["sram_probe"][0]),
        keys(&theirs["benchmarks"]["sram_probe"][0])
    );
    assert_eq!(keys(&ours["summary"]), keys(&theirs["summary"]));
    assert_eq!(
        ours["benchmarks"]["sram_probe"].as_array().unwrap().len(),
        4
    );
    assert_eq!(ours["benchmarks"]["inmem_peak"], serde_json::json!([]));
    // And back: the community layout reads into the same rows.
    let back = Report::from_dev_erik(&ours).unwrap();
    assert_eq!(
        back.benchmarks.sram_probe.len(),
        report.benchmarks.sram_probe.len()
    );
    for (a, b) in back
        .benchmarks
        .sram_probe
        .iter()
        .zip(&report.benchmarks.sram_probe)
    {
        assert_eq!(
            (a.channels, a.ms_per_eval, a.tflops),
            (b.channels, b.ms_per_eval, b.tflops)
        );
    }
}

#[test]
fn human_output_names_cpu_figures_and_lists_each_suite() {
    let out = ane()
        .args(["bench", "--quick", "--suite", "dispatch", "--chip", "m1"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.starts_with("backend cpu ("), "{text}");
    assert!(
        text.contains("note: CPU figures from the reference executor, not Neural Engine figures"),
        "{text}"
    );
    assert!(
        text.contains("graphs lowered for M1 (program 1.0, ios16, fp16 I/O), --quick sizes"),
        "{text}"
    );
    assert!(
        text.contains("dispatch (evaluate latency per path)"),
        "{text}"
    );
    assert!(text.contains("  cpu "), "{text}");
    assert!(!text.contains("peak (deep"), "{text}");
}

#[test]
fn errors_are_one_line() {
    let out = ane()
        .args(["bench", "--quick", "--suite", "peak", "--plot", "x.svg"])
        .assert()
        .failure();
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(
        err,
        "error: --plot needs the sram suite (use --suite sram or --suite all)\n"
    );
    let out = ane()
        .args(["bench", "--quick", "--chip", "pentium"])
        .assert()
        .failure();
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        err.starts_with("error: --chip: unknown chip `pentium`"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    if cfg!(not(target_os = "macos")) {
        let out = ane()
            .args(["bench", "--quick", "--backend", "ane"])
            .assert()
            .failure();
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(err.contains("backend `ane` is unavailable"), "{err}");
        assert!(err.trim_end().ends_with("use --backend cpu"), "{err}");
    }
}
