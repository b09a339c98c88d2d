//! Conformance with the community benchmark files in ../shared/corpus/maderix-ane
//! (reference/benchmarks.md §9): the FLOP formulas reproduce their TFLOPS from their times, the
//! files convert into our schema and back without loss, and the SRAM chart has one point per row.

use anekit_bench::flops::{
    conv_stack_flops, gflop, gflops_per_mb, reproduces, sram_probe_flops, sram_probe_weight_mb,
    tflops,
};
use anekit_bench::report::Report;
use anekit_bench::run::summarize;
use serde_json::Value;
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    anekit_core::corpus::corpus_dir("maderix-ane")
}

/// The six dev-erik/ANE files (schema_version 1), by name.
fn dev_erik_files() -> Vec<(String, Value)> {
    let Some(dir) = corpus() else {
        return Vec::new();
    };
    let mut files: Vec<_> = std::fs::read_dir(dir.join("dev-erik-ANE"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "{files:?}");
    files
        .into_iter()
        .map(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect()
}

fn schema() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/bench.schema.json"
    );
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"))
}
fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

#[test]
fn peak_rows_reproduce_published_tflops_from_published_times() {
    let mut checked = 0;
    for (name, v) in dev_erik_files() {
        for r in v["benchmarks"]["inmem_peak"].as_array().unwrap() {
            let flops = conv_stack_flops(u(r, "channels"), u(r, "depth"), u(r, "spatial"));
            // GFLOP to the published 2 decimals, exactly.
            assert_eq!(
                (gflop(flops) * 100.0).round() / 100.0,
                f(r, "gflops"),
                "{name} {r}"
            );
            assert!(
                reproduces(f(r, "tflops"), 2, f(r, "ms_per_eval"), |ms| tflops(
                    flops, ms
                )),
                "{name} {r}"
            );
            checked += 1;
        }
    }
    // maderix/ANE PR #28 (M3 Ultra): rows named `32x conv 512ch sp64`.
    if let Some(dir) = corpus() {
        let p = dir.join("maderix-ANE/m3-ultra-mac-studio-2026-03-03.metrics.json");
        let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        for r in v["inmem_peak"]["rows"].as_array().unwrap() {
            let config = r["config"].as_str().unwrap();
            let nums: Vec<u64> = config
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
            let [depth, channels, spatial] = nums[..] else {
                panic!("{config}")
            };
            let flops = conv_stack_flops(channels, depth, spatial);
            assert_eq!((gflop(flops) * 100.0).round() / 100.0, f(r, "gflop"), "{r}");
            assert!(
                reproduces(f(r, "tflops"), 2, f(r, "ms_per_eval"), |ms| tflops(
                    flops, ms
                )),
                "{r}"
            );
            checked += 1;
        }
        assert_eq!(v["inmem_peak"]["best_tflops"], 8.08);
    }
    if corpus().is_some() {
        // 5 (M1) + 4 × 10 (M4 Max) + 10 (M4 Pro) + 10 (M3 Ultra).
        assert_eq!(checked, 65);
    }
}

#[test]
fn sram_rows_reproduce_published_tflops_and_efficiency() {
    let mut checked = 0;
    for (name, v) in dev_erik_files() {
        for r in v["benchmarks"]["sram_probe"].as_array().unwrap() {
            let c = u(r, "channels");
            let ms = f(r, "ms_per_eval");
            // weight MB to the published 1 decimal (0.125 is written 0.1).
            assert!(
                (sram_probe_weight_mb(c) - f(r, "weight_mb")).abs() <= 0.05 + 1e-9,
                "{r}"
            );
            // The published 8192-channel rows are exactly half of 2·C²·64 over their time: they
            // match spatial 32 (a guess about the probe's largest case, not documented).
            let spatial = if c == 8192 { 32 } else { 64 };
            let flops = sram_probe_flops(c, spatial);
            assert!(
                reproduces(f(r, "tflops"), 2, ms, |ms| tflops(flops, ms)),
                "{name} {r}"
            );
            if c == 8192 {
                let at64 = sram_probe_flops(c, 64);
                assert!(
                    !reproduces(f(r, "tflops"), 2, ms, |ms| tflops(at64, ms)),
                    "{r}"
                );
            }
            // GFLOPS/MB: from the time (five files), or from the rounded tflops and weight_mb
            // (the M4 Pro file of dev-erik PR #1: 0.07 TFLOPS / 0.1 MB = 700.0).
            let wmb = sram_probe_weight_mb(c);
            let published = f(r, "gflops_per_mb");
            if name == "apple_m4_pro_20260309.json" {
                let from_rounded = (f(r, "tflops") * 1e3 / f(r, "weight_mb") * 10.0).round() / 10.0;
                assert_eq!(from_rounded, published, "{r}");
            } else {
                assert!(
                    reproduces(published, 1, ms, |ms| gflops_per_mb(flops, ms, wmb)),
                    "{name} {r}"
                );
            }
            checked += 1;
        }
    }
    if corpus().is_some() {
        // 1 (M1) + 4 × 13 (M4 Max) + 6 (M4 Pro).
        assert_eq!(checked, 59);
    }
}

#[test]
fn summary_rules_reproduce_the_published_summaries() {
    for (name, v) in dev_erik_files() {
        let report = Report::from_dev_erik(&v).unwrap();
        let ours = summarize(&report.benchmarks);
        let s = &v["summary"];
        assert_eq!(ours.peak_tflops, s["peak_tflops"].as_f64(), "{name}");
        assert_eq!(
            ours.sram_peak_efficiency_gflops_per_mb,
            s["sram_peak_efficiency_gflops_per_mb"].as_f64(),
            "{name}"
        );
        assert_eq!(
            ours.sram_spill_start_channels,
            s["sram_spill_start_channels"].as_u64(),
            "{name}"
        );
    }
}

#[test]
fn community_files_convert_into_our_schema_and_back_losslessly() {
    let validator = schema();
    let files = dev_erik_files();
    for (name, original) in &files {
        let report = Report::from_dev_erik(original).unwrap();
        let ours = serde_json::to_value(&report).unwrap();
        let errors = schema_errors(&validator, &ours);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        // Our document reads back to the same report ...
        let reread: Report = serde_json::from_value(ours.clone()).unwrap();
        assert_eq!(reread, report, "{name}");
        // ... and converts back to the original file, value for value.
        assert_eq!(&report.to_dev_erik(), original, "{name}");
    }
    if let Some((_, m4max)) = files
        .iter()
        .find(|(n, _)| n == "apple_m4_max_20260303.json")
    {
        let r = Report::from_dev_erik(m4max).unwrap();
        assert_eq!(r.system.chip.as_deref(), Some("Apple M4 Max"));
        assert_eq!(r.system.os_version.as_deref(), Some("26.2"));
        assert_eq!(r.system.os_build.as_deref(), Some("25C56"));
        assert_eq!(r.system.neural_engine_cores.as_deref(), Some("16"));
        assert_eq!(r.benchmarks.sram_probe.len(), 13);
        assert_eq!(r.benchmarks.sram_probe[8].channels, 4096);
        assert_eq!(r.benchmarks.sram_probe[8].ms_per_eval, 1.134);
        assert_eq!(r.benchmarks.inmem_peak[4].tflops, 11.14);
        assert_eq!(r.summary.sram_spill_start_channels, Some(4096));
        assert_eq!(r.provenance.kind, "imported");
    }
}

#[test]
fn import_refuses_what_it_cannot_map() {
    let Some((_, v)) = dev_erik_files().into_iter().next() else {
        return;
    };
    let mut extra = v.clone();
    extra["benchmarks"]["w8a8"] = serde_json::json!([]);
    let err = Report::from_dev_erik(&extra).unwrap_err().to_string();
    assert_eq!(
        err,
        "community result file: unknown field `benchmarks.w8a8`"
    );
    let mut version = v.clone();
    version["schema_version"] = serde_json::json!(2);
    assert!(Report::from_dev_erik(&version).is_err());
    let mut cores = v;
    cores["system"]["neural_engine_cores"] = serde_json::json!(16);
    let err = Report::from_dev_erik(&cores).unwrap_err().to_string();
    assert!(err.contains("system.neural_engine_cores"), "{err}");
}

#[test]
fn svg_chart_of_a_published_sweep_is_well_formed_with_one_point_per_row() {
    let Some((_, v)) = dev_erik_files()
        .into_iter()
        .find(|(n, _)| n == "apple_m4_max_20260303.json")
    else {
        return;
    };
    let report = Report::from_dev_erik(&v).unwrap();
    let rows = &report.benchmarks.sram_probe;
    let svg = anekit_bench::svg::sram_chart(rows, "M4 Max <run 1> & published");
    let mut reader = quick_xml::Reader::from_str(&svg);
    let mut points = Vec::new();
    let mut depth = 0i32;
    let mut root = None;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) => {
                if depth == 0 {
                    root = Some(e.name().as_ref().to_string());
                }
                depth += 1;
                if e.name().as_ref() == "circle" {
                    let channels = e
                        .attributes()
                        .map(|a| a.unwrap())
                        .find(|a| a.key.as_ref() == "data-channels")
                        .map(|a| a.value.parse::<u64>().unwrap());
                    points.push(channels.unwrap());
                }
            }
            quick_xml::events::Event::End(_) => depth -= 1,
            _ => {}
        }
    }
    assert_eq!(depth, 0);
    assert_eq!(root.as_deref(), Some("svg"));
    let expected: Vec<u64> = rows.iter().map(|r| r.channels).collect();
    assert_eq!(points, expected);
    assert!(svg.contains("M4 Max &lt;run 1&gt; &amp; published"));
}
