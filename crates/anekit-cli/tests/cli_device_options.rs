//! The device-backend options shared by `ane run` and `ane serve` (`--qos`, `--eval-path`,
//! `--compute-units`, `--chip`, `--cache-dir`): parsed and checked on every OS, applied by the
//! `ane` and `coreml` backends (macOS, unverified on hardware), ignored by the CPU.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ane() -> Command {
    let mut c = Command::cargo_bin("ane").unwrap();
    c.current_dir(root());
    c
}

#[test]
fn run_accepts_the_device_options_and_reports_the_backend() {
    let cache = tempfile::tempdir().unwrap();
    let o = ane()
        .args(["run", "examples/cnn", "--backend", "auto", "--json"])
        .args(["--qos", "utility", "--eval-path", "process-request"])
        .args(["--compute-units", "all", "--chip", "m4", "--cache-dir"])
        .arg(cache.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    if cfg!(target_os = "macos") {
        return; // there `auto` may pick the Neural Engine (unverified on hardware)
    }
    assert_eq!(v["backend"], "cpu");
    assert!(
        v["backend_reason"]
            .as_str()
            .unwrap()
            .starts_with("auto: using cpu because backend `ane` is unavailable"),
        "{v}"
    );
    // No compute plan off Core ML.
    assert!(v.get("compute_plan").is_none(), "{v}");
}

#[test]
fn bad_device_options_are_one_line_errors() {
    for (args, expected) in [
        (
            ["--qos", "64"],
            "QoS 64 is above 63, the largest value ever seen to work",
        ),
        (
            ["--qos", "fast"],
            "unknown QoS \"fast\": use a number 0..=63 or one of user-interactive (33), \
             user-initiated (25), default (21), utility (17), background (9)",
        ),
        (
            ["--eval-path", "warp"],
            "invalid value 'warp' for '--eval-path",
        ),
        (
            ["--compute-units", "gpu"],
            "invalid value 'gpu' for '--compute-units",
        ),
    ] {
        for cmd in [&["run", "examples/cnn"][..], &["serve"][..]] {
            let o = ane().args(cmd).args(args).output().unwrap();
            assert_eq!(o.status.code(), Some(2), "{cmd:?} {args:?}: {o:?}");
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(stderr.contains(expected), "{cmd:?} {args:?}: {stderr}");
        }
    }
}

#[test]
fn qos_names_and_numbers_are_accepted() {
    for qos in ["0", "63", "21", "user-interactive", "background"] {
        let o = ane()
            .args([
                "run",
                "examples/cnn",
                "--backend",
                "cpu",
                "--qos",
                qos,
                "--json",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "--qos {qos}: {o:?}");
    }
}
