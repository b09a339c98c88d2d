//! Recompute the cost model's error on every held-out published measurement from the committed
//! parameters (crates/anekit-lint/src/cost_params.json) with the Rust model, running the whole
//! pipeline (MIL text → IR → FLOPs and weight bytes from shapes → prediction), and check it
//! against (1) what scripts/fit_cost_model.py computed and (2) the error table in
//! docs/cost-model.md, so the docs, the fit and the code cannot drift apart.

use anekit_lint::cost::{HeldOut, estimate, params};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The benchmark graph as MIL: `depth` chained 1×1 convs with C×C fp16 weights on a
/// `[1, C, 1, S]` input (benchmarks.md §8), or one `[1, C, S] × [1, S, C]`-shaped square matmul
/// of runtime tensors for the matmul anchor.
fn benchmark_mil(h: &HeldOut) -> String {
    let (c, s) = (h.channels, h.spatial);
    let mut m = String::from("program(1.3)\n{\n");
    if h.family == "matmul" {
        writeln!(
            m,
            "    func main<ios18>(tensor<fp16, [1, {c}, {s}]> x, tensor<fp16, [1, {s}, {c}]> y) {{\n            tensor<fp16, [1, {c}, {c}]> z = matmul(x = x, y = y)[name = string(\"z\")];\n        }} -> (z);\n}}"
        )
        .unwrap();
        return m;
    }
    writeln!(
        m,
        "    func main<ios18>(tensor<fp16, [1, {c}, 1, {s}]> x0) {{"
    )
    .unwrap();
    for i in 0..h.depth {
        let offset = 64 + i * (2 * c * c + 64);
        writeln!(
            m,
            "            tensor<fp16, [{c}, {c}, 1, 1]> w{i} = const()[name = string(\"w{i}\"), val = tensor<fp16, [{c}, {c}, 1, 1]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64({offset})))];"
        )
        .unwrap();
        writeln!(
            m,
            "            tensor<fp16, [1, {c}, 1, {s}]> x{} = conv(weight = w{i}, x = x{i})[name = string(\"x{}\")];",
            i + 1,
            i + 1
        )
        .unwrap();
    }
    writeln!(m, "        }} -> (x{});\n}}", h.depth).unwrap();
    m
}

/// The measured ms per evaluation: read from the corpus file the locator names, or the value
/// transcribed from the reference documents. None when the corpus is missing.
fn measured_ms(h: &HeldOut, corpus: Option<&PathBuf>) -> Option<f64> {
    let Some(loc) = &h.locator else {
        return h.measured_ms;
    };
    let path = corpus?.join(&loc.file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let v = doc
        .pointer(&loc.pointer)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("{}#{}", loc.file, loc.pointer));
    Some(match loc.unit.as_str() {
        "ms" => v,
        // TFLOPS of the benchmark graph → ms, FLOPs = 2·C²·S·depth (benchmarks.md §8).
        "tflops" => 2.0 * (h.channels * h.channels * h.spatial * h.depth) as f64 / (v * 1e12) * 1e3,
        other => panic!("unit {other}"),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

/// Rows of the docs/cost-model.md table between the `heldout-table` markers:
/// `| group | n | median | worst |`.
fn doc_table() -> BTreeMap<String, (usize, String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/cost-model.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find("<!-- heldout-table -->").expect("start marker");
    let end = doc.find("<!-- /heldout-table -->").expect("end marker");
    doc[start..end]
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Group") && !l.starts_with("|---"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let group = cells[0].trim_matches('`').to_string();
            (
                group,
                (
                    cells[1].parse().unwrap(),
                    cells[2].to_string(),
                    cells[3].to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn heldout_errors_match_the_fit_and_the_docs() {
    let p = params().unwrap();
    let corpus = anekit_core::corpus::corpus_dir("maderix-ane");
    if corpus.is_none() {
        eprintln!("SKIPPED: corpus maderix-ane missing; only the transcribed rows are checked");
    }
    let mut groups: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for h in &p.heldout {
        let checked = anekit_ir::check(&benchmark_mil(h));
        assert!(checked.is_valid(), "{h:?}");
        let cost = estimate(&checked.program.unwrap(), &h.chip).unwrap();
        let rel = (cost.latency_ms - h.predicted_ms).abs() / h.predicted_ms;
        assert!(
            rel < 1e-4,
            "Rust {} vs fit {} for {h:?}",
            cost.latency_ms,
            h.predicted_ms
        );
        let Some(measured) = measured_ms(h, corpus.as_ref()) else {
            continue;
        };
        let err = (cost.latency_ms - measured).abs() / measured;
        assert!(
            (err - h.rel_error).abs() < 1e-4,
            "{err} vs {} for {h:?}",
            h.rel_error
        );
        groups.entry("all".into()).or_default().push(err);
        groups.entry(h.chip.clone()).or_default().push(err);
        groups.entry(h.kind.clone()).or_default().push(err);
    }
    if corpus.is_none() {
        return;
    }
    let all = &groups["all"];
    assert_eq!(all.len(), p.heldout.len());
    let overall = median(all.clone());
    assert!(
        overall <= 0.25,
        "acceptance: held-out median {overall} > 25 %"
    );
    let table = doc_table();
    assert_eq!(
        table.len(),
        groups.len(),
        "one doc row per group: {:?}",
        table.keys()
    );
    for (group, errs) in &groups {
        let worst = errs.iter().copied().fold(0.0, f64::max);
        let want = (errs.len(), pct(median(errs.clone())), pct(worst));
        assert_eq!(
            table.get(group),
            Some(&want),
            "docs/cost-model.md row {group}"
        );
    }
}

#[test]
fn every_target_has_parameters() {
    let p = params().unwrap();
    for id in anekit_lint::TARGET_IDS {
        let c = p.chips.get(*id).unwrap_or_else(|| panic!("{id}"));
        assert!(c.conv_tflops > 1.0 && c.dispatch_ms > 0.0, "{id}: {c:?}");
    }
}
