//! Inputs the fuzz targets (fuzz/fuzz_targets/*.rs) found, kept as regression tests.

use anekit_espresso::{EspressoNet, diff};

/// espresso_json, crash-4292992…: the synthetic fixture net with layers "act" and "pool"
/// repeated made `diff(net, net)` non-empty (layers were paired by name only).
#[test]
fn net_with_repeated_layer_names_equals_itself() {
    let text = r#"{"storage":"synthetic.espresso.weights","format_version":200,"layers":[
        {"name":"conv1","type":"convolution","C":8,"K":3},
        {"name":"act","type":"activation","mode":3},
        {"name":"pool","type":"pool","avg_or_max":0},
        {"name":"fc","type":"inner_product","nB":32,"nC":4},
        {"name":"act","type":"activation","mode":0},
        {"name":"pool","type":"pool","avg_or_max":1}]}"#;
    let net = EspressoNet::parse_json(text).unwrap();
    let d = diff::diff(&net, None, &net, None);
    assert!(d.is_empty(), "{d:?}");
}
