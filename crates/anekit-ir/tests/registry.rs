//! The op registry against reference/mil-text.md §6-§7 (coremltools 9.0, [source]).

use anekit_ir::ops::{self, Category, OPS, OpOrigin, Opset, lookup, registry_ops_in};

fn names_in(opset: Opset) -> Vec<&'static str> {
    registry_ops_in(opset).map(|o| o.name).collect()
}

#[test]
fn op_counts_per_opset_match_coremltools() {
    // §6: "iOS15 152 ops, iOS16 159, iOS17 162, iOS18 168 (168 distinct names)".
    assert_eq!(names_in(Opset::Ios15).len(), 152);
    assert_eq!(names_in(Opset::Ios16).len(), 159);
    assert_eq!(names_in(Opset::Ios17).len(), 162);
    assert_eq!(names_in(Opset::Ios18).len(), 168);
    let registry = OPS
        .iter()
        .filter(|o| o.origin != OpOrigin::TextOnly)
        .count();
    assert_eq!(registry, 168);
    let mut names: Vec<_> = OPS.iter().map(|o| o.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), OPS.len(), "duplicate op names");
}

#[test]
fn ops_new_in_each_opset() {
    let new_in = |o: Opset| {
        let mut v: Vec<_> = OPS
            .iter()
            .filter(|d| d.origin != OpOrigin::TextOnly && d.since == o)
            .map(|d| d.name)
            .collect();
        v.sort_unstable();
        v
    };
    // §7.
    assert_eq!(
        new_in(Opset::Ios16),
        [
            "constexpr_affine_dequantize",
            "constexpr_cast",
            "constexpr_lut_to_dense",
            "constexpr_sparse_to_dense",
            "fill_like",
            "pixel_unshuffle",
            "reshape_like"
        ]
    );
    assert_eq!(new_in(Opset::Ios17), ["dequantize", "quantize", "resize"]);
    assert_eq!(
        new_in(Opset::Ios18),
        [
            "constexpr_blockwise_shift_scale",
            "constexpr_lut_to_sparse",
            "constexpr_sparse_blockwise_shift_scale",
            "read_state",
            "scaled_dot_product_attention",
            "slice_update"
        ]
    );
}

#[test]
fn conv_inputs_in_declaration_order() {
    let conv = lookup("conv").unwrap();
    let sig = conv.signature(Opset::Ios17).unwrap();
    let names: Vec<_> = sig.inputs.iter().map(|i| (i.name, i.optional)).collect();
    assert_eq!(
        names,
        [
            ("x", false),
            ("weight", false),
            ("bias", true),
            ("strides", true),
            ("pad_type", true),
            ("pad", true),
            ("dilations", true),
            ("groups", true)
        ]
    );
    assert_eq!(conv.definitions(), [Opset::Ios15, Opset::Ios17]);
    assert_eq!(conv.category, Category::Conv);
}

#[test]
fn per_opset_input_changes() {
    let gather = lookup("gather").unwrap();
    let inputs = |o| -> Vec<&str> {
        gather
            .signature(o)
            .unwrap()
            .inputs
            .iter()
            .map(|i| i.name)
            .collect()
    };
    assert_eq!(inputs(Opset::Ios15), ["x", "indices", "axis"]);
    assert_eq!(inputs(Opset::Ios16), ["x", "indices", "axis", "batch_dims"]);
    assert_eq!(
        inputs(Opset::Ios18),
        ["x", "indices", "axis", "batch_dims", "validate_indices"]
    );
    let crop = lookup("crop_resize").unwrap();
    assert!(crop.input(Opset::Ios16, "roi").is_some());
    assert!(crop.input(Opset::Ios17, "roi").is_none());
    assert!(crop.input(Opset::Ios17, "boxes").is_some());
    let lut = lookup("constexpr_lut_to_dense").unwrap();
    assert!(lut.input(Opset::Ios17, "shape").is_some());
    assert!(lut.input(Opset::Ios18, "shape").is_none());
    assert_eq!(
        lookup("gru").unwrap().opsets_with_input("reset_after"),
        [Opset::Ios18]
    );
    assert!(
        lookup("reduce_argmax")
            .unwrap()
            .input(Opset::Ios16, "output_dtype")
            .is_none()
    );
    assert!(
        lookup("reduce_argmax")
            .unwrap()
            .input(Opset::Ios17, "output_dtype")
            .is_some()
    );
    // An op does not exist before its opset.
    assert!(lookup("resize").unwrap().signature(Opset::Ios16).is_none());
}

#[test]
fn output_counts() {
    assert!(lookup("split").unwrap().outputs.accepts(5));
    assert!(lookup("lstm").unwrap().outputs.accepts(3));
    assert!(!lookup("lstm").unwrap().outputs.accepts(2));
    assert!(lookup("topk").unwrap().outputs.accepts(2));
    assert!(!lookup("relu").unwrap().outputs.accepts(2));
}

#[test]
fn text_only_ops_are_marked() {
    for name in [
        "write_state",
        "tensor_buffer_to_tensor",
        "tensor_to_tensor_buffer",
    ] {
        assert_eq!(lookup(name).unwrap().origin, OpOrigin::TextOnly, "{name}");
    }
    assert_eq!(
        lookup("_const_symbolic").unwrap().origin,
        OpOrigin::Internal
    );
    assert!(lookup("complex_fft").is_none());
}

#[test]
fn every_op_seen_in_the_corpus_has_inference() {
    // §6.23: ops observed in the 24 real files.
    let seen = "const, transpose, linear, add, slice_by_index, reshape, layer_norm, mul, conv, concat, matmul, select, \
        silu, cast, pad, softmax, split, sigmoid, expand_dims, relu, reduce_argmax, gather, squeeze, sub, \
        stack, floor, logical_and, lstm, identity, greater_equal, clip, less, logical_not, reduce_max, \
        slice_by_size, gather_along_axis, topk, floor_div, pow, reduce_sum, log, shape, range_1d, tile, \
        maximum, minimum, constexpr_affine_dequantize, tensor_buffer_to_tensor, tensor_to_tensor_buffer";
    for name in seen.split(',').map(str::trim) {
        let op = lookup(name).unwrap_or_else(|| panic!("{name} missing from the registry"));
        // `const` is typed by its literal in the builder.
        assert!(
            name == "const" || op.infer.is_some(),
            "{name} has no inference"
        );
    }
}

#[test]
fn signatures_are_ordered_and_start_at_since() {
    for op in OPS {
        let first = op
            .signatures
            .first()
            .unwrap_or_else(|| panic!("{} has no signature", op.name));
        assert_eq!(first.since, op.since, "{}", op.name);
        assert!(
            op.signatures.windows(2).all(|w| w[0].since < w[1].since),
            "{}",
            op.name
        );
    }
    assert_eq!(
        ops::OpsetTag::parse("ios26"),
        Some(ops::OpsetTag::Newer(26))
    );
    assert_eq!(ops::OpsetTag::parse("ios14"), None);
}
