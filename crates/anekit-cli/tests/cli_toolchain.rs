//! `ane espresso dump-plist` and `ane hwx compile`: the plans (`--dry-run`, any OS) and the
//! one-line "needs macOS" errors off macOS.

use anekit_core::corpus::corpus_dir;
use assert_cmd::Command;
use serde_json::json;

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn chiron() -> Option<std::path::PathBuf> {
    corpus_dir("espresso").map(|d| d.join("ameeSun__Chiron-Swift-Student-Challenge"))
}

fn stdout_json(assert: &assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_slice(&assert.get_output().stdout).unwrap()
}

#[test]
fn dump_plist_dry_run_lists_the_espresso_calls() {
    let Some(model) = chiron() else { return };
    let net = model.join("model.espresso.net");
    let assert = ane()
        .args([
            "--json",
            "espresso",
            "dump-plist",
            "--dry-run",
            "-o",
            "/tmp/ir",
        ])
        .arg(&model)
        .assert()
        .success();
    let v = stdout_json(&assert);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["plan"]["net"], net.display().to_string());
    assert_eq!(
        v["plan"]["steps"],
        json!([
            {"call": "espresso_create_context", "engine": 10008, "device": -1},
            {"call": "espresso_create_plan", "flags": 0},
            {"call": "espresso_plan_add_network", "path": net.display().to_string(),
             "storage_type": 65552},
            {"call": "espresso_plan_build"},
            {"call": "espresso_dump_ir", "dir": "/tmp/ir/"},
            {"call": "espresso_plan_destroy"},
            {"call": "espresso_context_destroy"}
        ])
    );
    assert_eq!(v["plan"]["net_plist"], "/tmp/ir/net.plist");

    let text = ane()
        .args(["espresso", "dump-plist", "--dry-run", "-o", "/tmp/ir"])
        .arg(&model)
        .assert()
        .success();
    let text = String::from_utf8(text.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("  1. ctx = espresso_create_context(0x2718, -1)\n"),
        "{text}"
    );
    assert!(
        text.contains("  7. espresso_context_destroy(ctx)  (optional)\n"),
        "{text}"
    );
    assert!(text.contains("  writes    /tmp/ir/net.plist\n"), "{text}");
}

#[cfg(not(target_os = "macos"))]
#[test]
fn dump_plist_off_macos_is_one_line_naming_the_calls() {
    let Some(model) = chiron() else { return };
    let out = tempfile::tempdir().unwrap();
    let assert = ane()
        .args(["--json", "espresso", "dump-plist", "-o"])
        .arg(out.path())
        .arg(&model)
        .assert()
        .failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: ane espresso dump-plist needs macOS (it calls Espresso.framework), and \
             this is {}; it would run: ctx = espresso_create_context(0x2718, -1);",
            std::env::consts::OS
        )),
        "{stderr}"
    );
    assert!(
        stderr
            .trim_end()
            .ends_with("(--dry-run prints the plan on any OS)"),
        "{stderr}"
    );
    let v = stdout_json(&assert);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("ane espresso dump-plist needs macOS"),
        "{v}"
    );
    // Nothing was written.
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn hwx_compile_dry_run_on_a_plist_gives_the_dictionaries_and_files() {
    let Some(dir) = corpus_dir("tinygrad-ane/2_compile") else {
        return;
    };
    let plist = dir.join("net.plist");
    let assert = ane()
        .args([
            "--json",
            "hwx",
            "compile",
            "--dry-run",
            "-o",
            "/tmp/out/model.hwx",
        ])
        .arg(&plist)
        .assert()
        .success();
    let v = stdout_json(&assert);
    let plan = &v["plan"];
    assert_eq!(
        plan["options"],
        json!({
            "InputNetworks": [{
                "NetworkPlistName": "net.plist",
                "NetworkPlistPath": format!("{}/", dir.display())
            }],
            "OutputFileName": "model.hwx",
            "OutputFilePath": "/tmp/out/"
        })
    );
    assert_eq!(plan["flags"], json!({"TargetArchitecture": "h13"}));
    assert_eq!(plan["target_evidence"], "source");
    assert_eq!(
        plan["consumes"],
        json!([
            plist.display().to_string(),
            dir.join("model.espresso.weights").display().to_string(),
            dir.join("net.additional.weights").display().to_string()
        ])
    );
    assert_eq!(plan["produces"], json!(["/tmp/out/model.hwx"]));

    let text = ane()
        .args([
            "hwx",
            "compile",
            "--dry-run",
            "--target",
            "H16",
            "--debug",
            "-o",
            "m.hwx",
        ])
        .arg(&plist)
        .assert()
        .success();
    let text = String::from_utf8(text.get_output().stdout.clone()).unwrap();
    assert!(text.contains("(target h16, unverified target)"), "{text}");
    assert!(
        text.contains("\"CompileANEProgramForDebugging\": true"),
        "{text}"
    );
    assert!(text.contains("\"DebugMask\": 2147483647"), "{text}");
    assert!(text.contains("\"OutputFilePath\": \"./\""), "{text}");
}

#[test]
fn hwx_compile_dry_run_on_a_model_chains_dump_and_compile() {
    let Some(model) = chiron() else { return };
    let assert = ane()
        .args([
            "--json",
            "hwx",
            "compile",
            "--dry-run",
            "--target",
            "h14",
            "-o",
            "/o/chiron.hwx",
        ])
        .arg(&model)
        .assert()
        .success();
    let v = stdout_json(&assert);
    assert_eq!(v["plan"]["dump"]["out_dir"], "/o/chiron.espresso-ir");
    assert_eq!(
        v["plan"]["compile"]["plist"],
        "/o/chiron.espresso-ir/net.plist"
    );
    assert_eq!(
        v["plan"]["compile"]["options"]["InputNetworks"][0]["NetworkPlistPath"],
        "/o/chiron.espresso-ir/"
    );
    assert_eq!(
        v["plan"]["compile"]["flags"],
        json!({"TargetArchitecture": "h14"})
    );
    assert_eq!(v["plan"]["compile"]["target_evidence"], "unverified");
    assert!(v.get("anec").is_none(), "{v}");

    let assert = ane()
        .args([
            "--json",
            "hwx",
            "compile",
            "--dry-run",
            "-o",
            "/o/c.hwx",
            "--anec",
            "/o/c.anec",
        ])
        .arg(&model)
        .assert()
        .success();
    assert_eq!(stdout_json(&assert)["anec"], "/o/c.anec");
    let text = ane()
        .args([
            "hwx",
            "compile",
            "--dry-run",
            "-o",
            "/o/c.hwx",
            "--anec",
            "/o/c.anec",
        ])
        .arg(&model)
        .assert()
        .success();
    let text = String::from_utf8(text.get_output().stdout.clone()).unwrap();
    assert!(
        text.ends_with("then convert the .hwx to /o/c.anec (ane anec from-hwx)\n"),
        "{text}"
    );
}

#[cfg(not(target_os = "macos"))]
#[test]
fn hwx_compile_off_macos_is_one_line_naming_the_call() {
    let Some(dir) = corpus_dir("tinygrad-ane/2_compile") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let hwx = out.path().join("model.hwx");
    let assert = ane()
        .args(["hwx", "compile", "-o"])
        .arg(&hwx)
        .arg(dir.join("net.plist"))
        .assert()
        .failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ane hwx compile needs macOS (it calls ANECompiler.framework)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("it would run: ANECCompile(options {\"InputNetworks\":"),
        "{stderr}"
    );
    assert!(!hwx.exists());

    let Some(model) = chiron() else { return };
    let assert = ane()
        .args(["--json", "hwx", "compile", "-o"])
        .arg(&hwx)
        .arg(&model)
        .assert()
        .failure();
    let v = stdout_json(&assert);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "ane hwx compile needs macOS (it calls Espresso.framework and ANECompiler.framework)"
        ),
        "{msg}"
    );
    assert!(msg.contains("espresso_dump_ir(plan, &"), "{msg}");
    assert!(msg.contains("; then ANECCompile("), "{msg}");
}

#[test]
fn bad_targets_and_ml_program_bundles_are_refused() {
    let Some(dir) = corpus_dir("tinygrad-ane/2_compile") else {
        return;
    };
    let assert = ane()
        .args([
            "hwx",
            "compile",
            "--dry-run",
            "--target",
            "h99",
            "-o",
            "m.hwx",
        ])
        .arg(dir.join("net.plist"))
        .assert()
        .failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(
        stderr.trim_end(),
        "error: unknown ANECompiler target `h99` (expected one of t0, m9, h11, h12, h13, h14, \
         h15, h16, h17, h18)"
    );
    let pkg = tempfile::tempdir().unwrap();
    std::fs::write(pkg.path().join("model.mil"), "program(1.0)\n").unwrap();
    let assert = ane()
        .args(["espresso", "dump-plist", "--dry-run", "-o", "/tmp/ir"])
        .arg(pkg.path())
        .assert()
        .failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("is an ML Program bundle (model.mil, no .espresso.net)"),
        "{stderr}"
    );
}

#[test]
fn a_plist_whose_weight_files_are_missing_is_refused_before_compiling() {
    let Some(dir) = corpus_dir("tinygrad-ane/2_compile") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let plist = tmp.path().join("net.plist");
    std::fs::copy(dir.join("net.plist"), &plist).unwrap();
    let assert = ane()
        .args(["hwx", "compile", "-o"])
        .arg(tmp.path().join("m.hwx"))
        .arg(&plist)
        .assert()
        .failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: {}: the plist names weight files that do not exist: {}, {}",
            plist.display(),
            tmp.path().join("model.espresso.weights").display(),
            tmp.path().join("net.additional.weights").display()
        )
    );
}
