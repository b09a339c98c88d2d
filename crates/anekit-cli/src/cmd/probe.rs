//! `ane probe`: what this machine's ANE stack is and what it allows.
//!
//! On macOS the runtime's macOS module runs the probe (`anekit_runtime::macos::probe`); the
//! report layout and its text form are `anekit_kb::probe`'s. Off macOS there is nothing to
//! probe; the report says why and, on Linux, whether an Asahi `ane` accel node exists
//! (hwx-td.md §8.1: `/dev/accel/accelN`).
use crate::{CmdResult, Ctx};
#[cfg(not(target_os = "macos"))]
use anekit_kb::probe::AccelCheck;
use anekit_kb::probe::{self, ProbeReport, REPORT_SCHEMA_VERSION};
#[cfg(not(target_os = "macos"))]
use std::path::Path;

#[derive(clap::Args)]
pub struct ProbeArgs {}

/// Where the Asahi driver's nodes appear (DRM accel subsystem).
#[cfg(not(target_os = "macos"))]
const ACCEL_DIR: &str = "/dev/accel";

#[cfg(not(target_os = "macos"))]
fn accel_nodes(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut nodes: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("accel"))
        })
        .map(|p| p.display().to_string())
        .collect();
    nodes.sort();
    nodes
}

/// Now, RFC 3339 UTC (seconds).
fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

fn base_report(reason: String) -> ProbeReport {
    let os = std::env::consts::OS;
    ProbeReport {
        schema_version: REPORT_SCHEMA_VERSION,
        anekit_version: env!("CARGO_PKG_VERSION").to_string(),
        timestamp: timestamp(),
        os: os.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        macos: os == "macos",
        probed: false,
        reason,
        mac: None,
        asahi: None,
        plan: probe::macos_plan(),
    }
}

#[cfg(target_os = "macos")]
fn report() -> ProbeReport {
    let mut r = base_report(
        "macOS: every step was tried; each result says whether it worked (unverified on hardware \
         by anekit: send us this report)"
            .into(),
    );
    r.mac = Some(anekit_runtime::macos::probe::probe());
    r.probed = true;
    r
}

#[cfg(not(target_os = "macos"))]
fn report() -> ProbeReport {
    let os = std::env::consts::OS;
    let arch = std::env::consts::ARCH;
    let mut reason = format!(
        "not macOS ({os}/{arch}): the ANE's private frameworks (AppleNeuralEngine, ANECompiler, Espresso) exist only on macOS"
    );
    let asahi = (os == "linux").then(|| {
        let nodes = accel_nodes(Path::new(ACCEL_DIR));
        if nodes.is_empty() {
            reason.push_str(&format!(
                "; no {ACCEL_DIR}/accel* node, so no Asahi Linux `ane` driver is loaded (it needs an Apple-silicon Mac running Asahi Linux with eiln's driver)"
            ));
        } else {
            reason.push_str(&format!(
                "; {} {ACCEL_DIR} node(s) exist — an Asahi `ane` device answers DRM_IOCTL_VERSION with the name \"ane\", which this command does not query",
                nodes.len()
            ));
        }
        AccelCheck {
            accel_dir: ACCEL_DIR.to_string(),
            nodes,
            note: "eiln/ane: DRM accel driver \"ane\" on /dev/accel/accelN (hwx-td.md §8.1); libane tries accel0..accel63".into(),
        }
    });
    let mut r = base_report(reason);
    r.asahi = asahi;
    // Nothing here runs the plan; it stays in the report as what a Mac would run.
    r
}

pub fn run(_args: ProbeArgs, ctx: &Ctx) -> CmdResult {
    let r = report();
    ctx.emit(&r, || probe::render_text(&r))
}
