//! Locating the shared third-party corpus for conformance tests.
//!
//! The corpus is never copied into the repository (licences differ per file). Tests read it
//! from `$ANEKIT_CORPUS`, or `../shared/corpus` next to the workspace root by default. When it
//! is missing, tests skip with a message; with `ANEKIT_REQUIRE_CORPUS=1` (set by `.ci/run`) or
//! `CI` set, a missing corpus is a loud failure instead.

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `<root>/crates/anekit-core`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where the corpus should be: `$ANEKIT_CORPUS` (relative paths are taken from the workspace
/// root), else `<root>/../shared/corpus`.
pub fn corpus_path() -> PathBuf {
    match std::env::var_os("ANEKIT_CORPUS") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        }
        _ => workspace_root().join("..").join("shared").join("corpus"),
    }
}

fn corpus_required() -> bool {
    let set = |k: &str| std::env::var(k).map(|v| !v.is_empty() && v != "0" && v != "false");
    set("ANEKIT_REQUIRE_CORPUS").unwrap_or(false) || set("CI").unwrap_or(false)
}

/// The corpus folder `sub` (e.g. `"mil"`), or `None` (with a SKIPPED line on stderr) when the
/// corpus is absent and not required.
///
/// # Panics
/// When the corpus is required (`ANEKIT_REQUIRE_CORPUS=1` or `CI`) but missing: conformance
/// tests must fail loudly in CI rather than pass by skipping.
#[allow(clippy::panic)]
pub fn corpus_dir(sub: &str) -> Option<PathBuf> {
    let dir = corpus_path().join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if corpus_required() {
        panic!(
            "anekit corpus folder {} is missing (ANEKIT_CORPUS={:?}); conformance tests need it",
            dir.display(),
            std::env::var_os("ANEKIT_CORPUS")
        );
    }
    eprintln!(
        "SKIPPED: corpus folder {} not found; set ANEKIT_CORPUS to run conformance tests",
        dir.display()
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }
}
