//! The builder's lowered programs (every canned model of anekit-build, `ane build`, at its
//! canned size, lowered in each chip's dialect) are lint-clean for the chips they are lowered
//! for, except the findings each model is meant to, or known to, trip, stated per model in
//! `expected`.

use anekit_build::lower::{Dialect, LowerOptions, Target as BuildTarget, lower_text};
use anekit_build::models::{CANNED, by_name};
use anekit_lint::{Finding, LintOptions, TARGET_IDS, Target, lint, target};

const MIB: f64 = 1024.0 * 1024.0;

/// The findings (lint id, and a piece of its message naming the op) `model` trips on `t`.
fn expected(model: &str, t: &Target) -> Vec<(&'static str, &'static str)> {
    // sram-budget fires when one op's weights reach the chip's budget; only chips with an
    // estimate in the chip table are checked (M1, M2, M4 family; docs/lints.md).
    let over = |mib: f64| t.sram.is_some_and(|s| s.bytes as f64 <= mib * MIB);
    match model {
        // The notes' CNN at its documented size flattens 256×28×28 = 200704 features: above
        // the 65536 dimension limit (the flatten and fc1's weight), and fc1's 1024×200704 fp16
        // weights are 392 MiB. The notes never ran it on the ANE; the tiny variant is clean.
        "notes-cnn" => {
            let mut v = vec![
                ("dim-limit", "`flatten` (reshape) has a dimension of 200704"),
                (
                    "dim-limit",
                    "`fc1_weight` (const) has a dimension of 200704",
                ),
            ];
            if over(392.0) {
                v.push(("sram-budget", "`fc1` (linear) reads 392.0 MiB"));
            }
            v
        }
        // The 32000×768 classifier is 46.9 MiB of fp16 weights: beyond every budget known.
        "decoder" if over(46.9) => vec![("sram-budget", "`classifier_fp16` (conv) reads 46.9 MiB")],
        // The SRAM probe is one 4096×4096 conv, 32 MiB: meant to sit at the M4 cliff.
        "sram-probe" if over(32.0) => vec![("sram-budget", "`conv0_fp16` (conv) reads 32.0 MiB")],
        _ => Vec::new(),
    }
}

fn check(model: &str, id: &str, findings: &[Finding]) {
    let t = target(id).unwrap();
    let want = expected(model, &t);
    let got: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.lint, f.message.as_str()))
        .collect();
    assert_eq!(got.len(), want.len(), "{model} on {id}: {got:#?}");
    for ((lint, message), (want_lint, want_text)) in got.iter().zip(&want) {
        assert_eq!(lint, want_lint, "{model} on {id}: {got:#?}");
        assert!(message.contains(want_text), "{model} on {id}: {message}");
    }
}

#[test]
fn canned_models_lowered_per_chip_are_lint_clean_but_for_the_stated_findings() {
    for model in CANNED {
        let graph = by_name(model).unwrap().unwrap();
        // The text depends only on the dialect: lower once per dialect family.
        let mut lowered: Vec<(Dialect, anekit_ir::Program)> = Vec::new();
        for id in TARGET_IDS {
            let bt = BuildTarget::chip(id).unwrap();
            if !lowered.iter().any(|(d, _)| *d == bt.dialect) {
                let l = lower_text(&graph, &bt, &LowerOptions::default()).unwrap();
                let checked = anekit_ir::check(&l.text);
                assert!(checked.is_valid(), "{model} on {id}");
                lowered.push((bt.dialect, checked.program.unwrap()));
            }
            let program = &lowered.iter().find(|(d, _)| *d == bt.dialect).unwrap().1;
            let findings = lint(program, &target(id).unwrap(), &LintOptions::default());
            check(model, id, &findings);
        }
        assert_eq!(lowered.len(), 3, "{model}: M1/M2, M3, M4/M5 dialects");
    }
}

#[test]
fn the_budgets_behind_the_expectations() {
    // The sram-budget expectations above depend on which chips have a budget: pin them.
    let with: Vec<&str> = TARGET_IDS
        .iter()
        .copied()
        .filter(|id| target(id).unwrap().sram.is_some())
        .collect();
    assert_eq!(with, ["m1", "m2", "m4", "m4pro", "m4max"]);
    let mib = |id: &str| target(id).unwrap().sram.unwrap().bytes as f64 / MIB;
    assert_eq!([mib("m1"), mib("m2"), mib("m4")], [16.0, 24.0, 32.0]);
}
