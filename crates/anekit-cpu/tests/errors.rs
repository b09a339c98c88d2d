//! Shape and parameter errors come back as `KernelError` values naming the kernel and the
//! shapes, never as panics.

use anekit_cpu::attention::{AttnMask, scaled_dot_product_attention};
use anekit_cpu::conv::{Conv2dParams, PadType, conv2d, resolve_pads};
use anekit_cpu::elementwise::{BinaryOp, binary};
use anekit_cpu::matmul::{linear, matmul};
use anekit_cpu::pool::{Pool2dParams, max_pool2d};
use anekit_cpu::reduce::{ReduceOp, argmax, reduce};
use anekit_cpu::shape_ops::{self, SliceParams};
use anekit_cpu::{KernelError, Numerics, Tensor, activation, norm};

fn t(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape.to_vec()).unwrap()
}

fn op_of(e: &KernelError) -> &'static str {
    match e {
        KernelError::Shape { op, .. }
        | KernelError::InvalidInput { op, .. }
        | KernelError::Param { op, .. }
        | KernelError::Overflow { op, .. } => op,
        KernelError::DataLength { .. } => "tensor",
        _ => "?",
    }
}

#[test]
fn matmul_inner_dim_mismatch_names_both_shapes() {
    let e = matmul(t(&[2, 3]).view(), t(&[4, 5]).view(), false, false).unwrap_err();
    assert!(
        matches!(e, KernelError::Shape { op: "matmul", .. }),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains("[2, 3]") && msg.contains("[4, 5]"), "{msg}");
    // Transposing y makes [4, 3]ᵀ fit.
    assert!(matmul(t(&[2, 3]).view(), t(&[4, 3]).view(), false, true).is_ok());
    let e = matmul(t(&[2, 2, 3]).view(), t(&[3, 3, 4]).view(), false, false).unwrap_err();
    assert!(e.to_string().contains("batch"), "{e}");
    assert!(matmul(t(&[]).view(), t(&[3]).view(), false, false).is_err());
}

#[test]
fn linear_and_conv_shape_errors() {
    let e = linear(t(&[2, 3]).view(), t(&[4, 5]).view(), None).unwrap_err();
    assert_eq!(op_of(&e), "linear");
    let e = linear(t(&[2, 5]).view(), t(&[4, 5]).view(), Some(t(&[3]).view())).unwrap_err();
    assert!(e.to_string().contains("bias"), "{e}");

    let p = Conv2dParams::default();
    // Weight's input channels do not match C / groups.
    let e = conv2d(t(&[1, 4, 5, 5]).view(), t(&[2, 3, 3, 3]).view(), None, &p).unwrap_err();
    assert!(matches!(e, KernelError::Shape { op: "conv", .. }), "{e:?}");
    // Kernel larger than the input.
    let e = conv2d(t(&[1, 1, 2, 2]).view(), t(&[1, 1, 3, 3]).view(), None, &p).unwrap_err();
    assert_eq!(op_of(&e), "conv");
    let zero_stride = Conv2dParams {
        strides: [0, 1],
        ..p
    };
    let e = conv2d(
        t(&[1, 1, 4, 4]).view(),
        t(&[1, 1, 3, 3]).view(),
        None,
        &zero_stride,
    )
    .unwrap_err();
    assert!(matches!(e, KernelError::Param { op: "conv", .. }), "{e:?}");
    let e = conv2d(t(&[1, 4]).view(), t(&[1, 1, 1, 1]).view(), None, &p).unwrap_err();
    assert!(matches!(e, KernelError::InvalidInput { .. }), "{e:?}");
    assert!(resolve_pads(PadType::Custom, &[4, 4], &[3, 3], &[1, 1], &[1, 1], &[1]).is_err());
}

#[test]
fn resolve_pads_same_and_same_lower() {
    // in 5, k 4, s 2: out 3, total pad (3-1)*2+4-5 = 3 → same (1, 2), same_lower (2, 1).
    let same = resolve_pads(PadType::Same, &[5], &[4], &[2], &[1], &[]).unwrap();
    assert_eq!(same, vec![1, 2]);
    let lower = resolve_pads(PadType::SameLower, &[5], &[4], &[2], &[1], &[]).unwrap();
    assert_eq!(lower, vec![2, 1]);
    let valid = resolve_pads(PadType::Valid, &[5, 6], &[3, 3], &[1, 1], &[1, 1], &[]).unwrap();
    assert_eq!(valid, vec![0; 4]);
    // Dilation 2 on k 3 acts as k 5: in 7, s 1 → total 4 → (2, 2).
    let dil = resolve_pads(PadType::Same, &[7], &[3], &[1], &[2], &[]).unwrap();
    assert_eq!(dil, vec![2, 2]);
    assert_eq!(PadType::from_mil("same_lower"), Some(PadType::SameLower));
    assert_eq!(PadType::from_mil("bogus"), None);
}

#[test]
fn elementwise_and_reduce_errors() {
    let e = binary(BinaryOp::Add, t(&[2, 3]).view(), t(&[4]).view()).unwrap_err();
    assert!(matches!(e, KernelError::Shape { op: "add", .. }), "{e:?}");
    let e = reduce(ReduceOp::Sum, t(&[2, 3]).view(), Some(&[2]), false).unwrap_err();
    assert!(
        matches!(
            e,
            KernelError::Param {
                op: "reduce_sum",
                ..
            }
        ),
        "{e:?}"
    );
    let e = reduce(ReduceOp::Sum, t(&[2, 3]).view(), Some(&[1, -1]), false).unwrap_err();
    assert!(e.to_string().contains("twice"), "{e}");
    assert!(argmax(t(&[2, 0]).view(), 1, false).is_err());
    assert!(activation::softmax(t(&[2, 3]).view(), -3).is_err());
}

#[test]
fn norm_errors() {
    let e =
        norm::layer_norm(t(&[2, 3]).view(), &[-1], Some(t(&[2]).view()), None, 1e-5).unwrap_err();
    assert!(e.to_string().contains("gamma"), "{e}");
    assert!(norm::l2_norm(t(&[2, 3]).view(), 1e-6).is_err());
    let e = norm::batch_norm(
        t(&[1, 3, 2, 2]).view(),
        t(&[2]).view(),
        t(&[3]).view(),
        None,
        None,
        1e-5,
    )
    .unwrap_err();
    assert!(e.to_string().contains("mean"), "{e}");
}

#[test]
fn pool_attention_and_shape_op_errors() {
    let p = Pool2dParams {
        kernel: [5, 5],
        strides: [1, 1],
        pads: [0; 4],
        ceil_mode: false,
    };
    assert_eq!(
        op_of(&max_pool2d(t(&[1, 1, 3, 3]).view(), &p).unwrap_err()),
        "max_pool"
    );

    let q = t(&[2, 4, 8]);
    let e = scaled_dot_product_attention(
        q.view(),
        t(&[2, 5, 7]).view(),
        t(&[2, 5, 3]).view(),
        None,
        Numerics::Ane,
    )
    .unwrap_err();
    assert_eq!(op_of(&e), "scaled_dot_product_attention");
    // A mask that would enlarge the scores is refused.
    let m = t(&[3, 4, 5]);
    let e = scaled_dot_product_attention(
        q.view(),
        t(&[2, 5, 8]).view(),
        t(&[2, 5, 3]).view(),
        Some(AttnMask::Additive(m.view())),
        Numerics::Exact,
    )
    .unwrap_err();
    assert_eq!(op_of(&e), "scaled_dot_product_attention");

    let x = t(&[2, 3]);
    assert!(shape_ops::transpose(x.view(), &[0, 0]).is_err());
    assert!(shape_ops::transpose(x.view(), &[0]).is_err());
    assert!(shape_ops::concat(&[x.view(), t(&[3, 3]).view()], 1, false).is_err());
    assert!(shape_ops::concat::<f32>(&[], 0, false).is_err());
    assert!(shape_ops::split(x.view(), &[1, 1], 1).is_err());
    assert!(shape_ops::even_split_sizes(5, 2).is_err());
    assert!(
        shape_ops::slice_by_index(
            x.view(),
            &SliceParams {
                begin: vec![0, 0],
                end: vec![1, 1],
                stride: vec![1, 0],
                ..Default::default()
            }
        )
        .is_err()
    );
    assert!(shape_ops::slice_by_size(x.view(), &[0, 2], &[1, 2]).is_err());
    assert!(shape_ops::pad(x.view(), &[3, 0], shape_ops::PadMode::Reflect).is_err());
    assert!(shape_ops::pad(x.view(), &[1], shape_ops::PadMode::Replicate).is_err());
    let idx = Tensor::new(vec![1], vec![3i32]).unwrap();
    let e = shape_ops::gather(x.view(), idx.view(), 1).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    assert!(shape_ops::tile(x.view(), &[2]).is_err());
    assert!(shape_ops::topk(x.view(), 4, -1, false).is_err());
    assert!(shape_ops::band_part(t(&[3]).view(), 0, 0).is_err());
    assert!(shape_ops::upsample_nearest(x.view(), 2.0, 2.0).is_err());
    assert!(
        shape_ops::upsample_bilinear(
            t(&[1, 2, 2]).view(),
            0.0,
            1.0,
            shape_ops::BilinearMode::HalfPixel
        )
        .is_err()
    );
    assert!(Tensor::new(vec![2, 2], vec![1.0f32]).is_err());
    assert!(t(&[2, 3]).reshape(vec![4]).is_err());
}
