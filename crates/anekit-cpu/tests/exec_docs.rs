//! docs/executor.md lists the supported ops; keep it in step with the dispatch table.

use std::collections::BTreeSet;

fn section(doc: &str, marker: &str) -> BTreeSet<String> {
    let start = format!("<!-- {marker}:start -->");
    let end = format!("<!-- {marker}:end -->");
    let a = doc.find(&start).expect("start marker") + start.len();
    let b = doc.find(&end).expect("end marker");
    doc[a..b]
        .split([',', '\n', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn doc() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/executor.md"
    ))
    .expect("docs/executor.md")
}

#[test]
fn builtin_op_list_matches_the_dispatch_table() {
    let listed = section(&doc(), "builtin-ops");
    let actual: BTreeSet<String> = anekit_cpu::exec::builtin_ops()
        .into_iter()
        .map(String::from)
        .collect();
    let missing: Vec<_> = actual.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&actual).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/executor.md: not listed {missing:?}, listed but not builtin {stale:?}"
    );
}

#[test]
fn listed_extra_ops_are_supported() {
    let listed = section(&doc(), "extra-ops");
    assert!(!listed.is_empty());
    let supported = anekit_cpu::exec::supported_ops();
    for op in &listed {
        assert!(
            supported.contains(&op.as_str()),
            "{op} is listed but not supported"
        );
    }
}
