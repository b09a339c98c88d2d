//! The fast paths of the elementwise, softmax, reduction and data-movement kernels, bit for bit
//! against independent element-by-element computations (NumPy index arithmetic written out
//! here) or against the kernels' general paths: every broadcast pattern the fast paths
//! special-case (same shape, scalar either side, per-row and per-column vectors, masks), odd
//! and chunk-straddling sizes (the parallel chunks are 8192 elements), and NaN, ±inf, ±0.

use anekit_cpu::activation::{Activation, activation, softmax};
use anekit_cpu::elementwise::{
    BinaryOp, CompareOp, LogicalOp, UnaryOp, binary, broadcast_binary, compare, logical, unary,
};
use anekit_cpu::reduce::{ReduceOp, reduce};
use anekit_cpu::shape_ops::{
    PadMode, SliceParams, pad, slice_by_index, slice_by_size, split, tile, transpose,
};
use anekit_cpu::tensor::contiguous_strides;
use anekit_cpu::{Tensor, TensorView};

/// Deterministic values: mostly fp16-representable numbers in [-4, 4), with specials mixed in
/// every `special_every` elements (0 = none).
fn values(n: usize, seed: u64, special_every: usize) -> Vec<f32> {
    const SPECIALS: [f32; 7] = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        65504.0,
        5.960_464_5e-8,
    ];
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            if special_every > 0 && i % special_every == special_every - 1 {
                SPECIALS[(s >> 60) as usize % SPECIALS.len()]
            } else {
                let v = ((s >> 40) as f32 / (1u64 << 24) as f32) * 8.0 - 4.0;
                half::f16::from_f32(v).to_f32()
            }
        })
        .collect()
}

type Bin = fn(f32, f32) -> f32;
type Un = fn(f32) -> f32;

fn tensor(shape: &[usize], seed: u64, special_every: usize) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(shape.to_vec(), values(n, seed, special_every)).unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    // All NaNs compare equal (their payload is not part of the contract).
    v.iter()
        .map(|x| if x.is_nan() { 0x7fc0_0000 } else { x.to_bits() })
        .collect()
}

fn assert_same(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let (g, w) = (bits(got), bits(want));
    if let Some(i) = (0..g.len()).find(|&i| g[i] != w[i]) {
        panic!("{what}: element {i}: got {} want {}", got[i], want[i]);
    }
}

/// NumPy broadcasting written out per element: the source offset of output index `idx` in a
/// tensor of shape `from` broadcast to `to`.
fn bcast_offset(idx: &[usize], from: &[usize], to: &[usize]) -> usize {
    let lead = to.len() - from.len();
    let st = contiguous_strides(from);
    (0..from.len())
        .map(|j| {
            if from[j] == 1 {
                0
            } else {
                idx[lead + j] * st[j]
            }
        })
        .sum()
}

fn out_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    let r = a.len().max(b.len());
    (0..r)
        .map(|i| {
            let da = if i < r - a.len() {
                1
            } else {
                a[i - (r - a.len())]
            };
            let db = if i < r - b.len() {
                1
            } else {
                b[i - (r - b.len())]
            };
            da.max(db) * usize::from(da != 0 && db != 0)
        })
        .collect()
}

fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    let st = contiguous_strides(shape);
    (0..n)
        .map(|f| (0..shape.len()).map(|d| (f / st[d]) % shape[d]).collect())
        .collect()
}

fn naive_binary<T: Copy>(
    a: TensorView<'_>,
    b: TensorView<'_>,
    f: impl Fn(f32, f32) -> T,
) -> (Vec<usize>, Vec<T>) {
    let shape = out_shape(a.shape(), b.shape());
    let out = indices(&shape)
        .iter()
        .map(|idx| {
            f(
                a.data()[bcast_offset(idx, a.shape(), &shape)],
                b.data()[bcast_offset(idx, b.shape(), &shape)],
            )
        })
        .collect();
    (shape, out)
}

/// Shape pairs covering every path of `broadcast_binary`.
const PAIRS: &[(&[usize], &[usize])] = &[
    // same shape: small, odd, and over several parallel chunks
    (&[3, 5], &[3, 5]),
    (&[1, 17, 1, 1031], &[1, 17, 1, 1031]),
    // scalar either side (rank 0 and all-ones shapes)
    (&[1, 12, 33, 65], &[]),
    (&[], &[2, 9000]),
    (&[7, 1, 3], &[1, 1, 1]),
    (&[1], &[5, 3]),
    // per-column vector ([1, C, 1, S] · [1, 1, 1, S], the RMSNorm scale)
    (&[1, 768, 1, 256], &[1, 1, 1, 256]),
    (&[1, 1, 1, 255], &[1, 13, 1, 255]),
    // per-row (per-channel) vector ([1, C, 1, S] · [1, C, 1, 1])
    (&[1, 768, 1, 256], &[1, 768, 1, 1]),
    (&[1, 31, 1, 1], &[1, 31, 1, 7]),
    // attention masks and RoPE tables broadcast over heads
    (&[1, 12, 64, 64], &[64, 64]),
    (&[1, 3, 37, 19], &[37, 19]),
    (&[2, 5, 9, 64], &[9, 64]),
    // both sides broadcast, odd shapes, middle dims
    (&[3, 1, 5], &[1, 7, 1]),
    (&[2, 3, 4], &[3, 1]),
    (&[5], &[3, 1]),
    (&[4, 1, 6, 1], &[1, 5, 1, 3]),
    (&[2, 1, 4000], &[1, 3, 1]),
    (&[3, 1], &[2, 1, 1]),
    // empty
    (&[0, 3], &[1, 3]),
];

#[test]
fn broadcast_binary_matches_numpy_indexing() {
    let ops: &[(BinaryOp, Bin)] = &[
        (BinaryOp::Add, |a, b| a + b),
        (BinaryOp::Sub, |a, b| a - b),
        (BinaryOp::Mul, |a, b| a * b),
        (BinaryOp::RealDiv, |a, b| a / b),
        (BinaryOp::Pow, f32::powf),
        (BinaryOp::Maximum, |a, b| {
            if a.is_nan() || b.is_nan() {
                f32::NAN
            } else {
                a.max(b)
            }
        }),
    ];
    for (i, &(sa, sb)) in PAIRS.iter().enumerate() {
        let a = tensor(sa, 2 * i as u64, 97);
        let b = tensor(sb, 2 * i as u64 + 1, 89);
        for &(op, f) in ops {
            let (shape, want) = naive_binary(a.view(), b.view(), f);
            let got = binary(op, a.view(), b.view()).unwrap();
            assert_eq!(got.shape(), &shape[..], "{op:?} {sa:?} {sb:?}");
            assert_same(got.data(), &want, &format!("{op:?} {sa:?} {sb:?}"));
        }
        // Masks and non-f32 outputs go through the same paths.
        let (_, want) = naive_binary(a.view(), b.view(), |x, y| x < y);
        let got = compare(CompareOp::Less, a.view(), b.view()).unwrap();
        assert_eq!(got.data(), &want[..], "less {sa:?} {sb:?}");
        let ma = Tensor::new(sa.to_vec(), a.data().iter().map(|&v| v > 0.0).collect()).unwrap();
        let mb = Tensor::new(sb.to_vec(), b.data().iter().map(|&v| v < 1.0).collect()).unwrap();
        let got = logical(LogicalOp::Xor, ma.view(), mb.view()).unwrap();
        let (_, want) = naive_binary(a.view(), b.view(), |x, y| (x > 0.0) != (y < 1.0));
        assert_eq!(got.data(), &want[..], "xor {sa:?} {sb:?}");
        // A generic element type (tuples, as `select` uses).
        let got =
            broadcast_binary("t", a.view(), b.view(), |x, y| (x.to_bits(), y.to_bits())).unwrap();
        let (_, want) = naive_binary(a.view(), b.view(), |x, y| (x.to_bits(), y.to_bits()));
        assert_eq!(got.data(), &want[..], "pairs {sa:?} {sb:?}");
    }
}

#[test]
fn broadcast_binary_shape_errors_still_reported() {
    let a = tensor(&[2, 3], 1, 0);
    let b = tensor(&[4], 2, 0);
    assert!(binary(BinaryOp::Add, a.view(), b.view()).is_err());
}

#[test]
fn unary_ops_match_std_per_element() {
    let ops: &[(UnaryOp, Un)] = &[
        (UnaryOp::Abs, f32::abs),
        (UnaryOp::Neg, |v| -v),
        (UnaryOp::Sqrt, f32::sqrt),
        (UnaryOp::Exp, f32::exp),
        (UnaryOp::Square, |v| v * v),
        (UnaryOp::Floor, f32::floor),
        (UnaryOp::Ceil, f32::ceil),
        (UnaryOp::Round, f32::round_ties_even),
        (UnaryOp::Tanh, f32::tanh),
        (UnaryOp::Rsqrt { epsilon: 1e-5 }, |v| {
            1.0 / (v + 1e-5).sqrt()
        }),
        (UnaryOp::Inverse { epsilon: 1e-4 }, |v| 1.0 / (v + 1e-4)),
    ];
    for n in [1usize, 15, 16, 17, 8191, 8192, 8193, 40_001] {
        let x = tensor(&[n], n as u64, 13);
        for &(op, f) in ops {
            let want: Vec<f32> = x.data().iter().map(|&v| f(v)).collect();
            assert_same(unary(op, x.view()).data(), &want, &format!("{op:?} n={n}"));
        }
    }
}

/// Activations built on the vectorizable `exp`: a large tensor (vector loops) against each
/// element on its own (the scalar remainder loop).
#[test]
fn activations_vector_and_scalar_loops_agree() {
    let x = tensor(&[3, 11_111], 5, 31);
    for act in [
        Activation::Sigmoid,
        Activation::Silu,
        Activation::Relu,
        Activation::Gelu(anekit_cpu::activation::GeluMode::SigmoidApproximation),
    ] {
        let big = activation(act, x.view());
        let single: Vec<f32> = x
            .data()
            .iter()
            .map(|&v| activation(act, Tensor::scalar(v).view()).data()[0])
            .collect();
        assert_same(big.data(), &single, &format!("{act:?}"));
    }
}

/// The contiguous-row softmax against the strided-axis path (a transposed copy), which
/// computes every row with the in-place row kernel.
#[test]
fn softmax_rows_match_strided_path() {
    for &(rows, n) in &[
        (1usize, 1usize),
        (3, 3),
        (5, 17),
        (64, 256),
        (7, 300),
        (40, 1000),
    ] {
        let mut x = tensor(&[rows, n], (rows * n) as u64, 0);
        // Special rows: causal-style -inf tails, all -inf, a NaN, a +inf, mixed ±0 maxima.
        let d = x.data_mut();
        for r in 0..rows {
            let row = &mut d[r * n..(r + 1) * n];
            match r % 6 {
                1 => row[n / 2..].fill(f32::NEG_INFINITY),
                2 if rows > 2 => row.fill(f32::NEG_INFINITY),
                3 => row[n - 1] = f32::NAN,
                4 => row[0] = f32::INFINITY,
                5 => {
                    for (i, v) in row.iter_mut().enumerate() {
                        *v = if i % 2 == 0 { 0.0 } else { -0.0 };
                    }
                    row[n / 3] = f32::NEG_INFINITY;
                }
                _ => {}
            }
        }
        let fast = softmax(x.view(), -1).unwrap();
        let xt = transpose(x.view(), &[1, 0]).unwrap();
        let strided = softmax(xt.view(), 0).unwrap();
        let back = transpose(strided.view(), &[1, 0]).unwrap();
        assert_same(fast.data(), back.data(), &format!("softmax [{rows}, {n}]"));
        // A leading batch dim and rank 1 give the same rows.
        let x3 = x.clone().reshape(vec![1, rows, n]).unwrap();
        assert_same(
            softmax(x3.view(), 2).unwrap().data(),
            fast.data(),
            "softmax rank 3",
        );
    }
    let row = tensor(&[37], 3, 0);
    let one = softmax(row.view(), 0).unwrap();
    let two = softmax(row.clone().reshape(vec![1, 37]).unwrap().view(), 1).unwrap();
    assert_same(one.data(), two.data(), "softmax rank 1");
}

/// Reductions over middle axes (read in place) against the same reductions with the axes
/// moved innermost by a transpose (the general path), bit for bit.
#[test]
fn middle_axis_reductions_match_trailing_path() {
    let ops = [
        ReduceOp::Sum,
        ReduceOp::Mean,
        ReduceOp::L1Norm,
        ReduceOp::L2Norm,
        ReduceOp::LogSum,
        ReduceOp::SumSquare,
        ReduceOp::Max,
        ReduceOp::Prod,
    ];
    let shapes: &[(&[usize], &[i64])] = &[
        (&[1, 768, 1, 256], &[1]),
        (&[1, 9, 1, 130], &[1]),
        (&[3, 7, 2, 5], &[1]),
        (&[2, 8, 3], &[1]),
        (&[2, 3, 4, 5], &[1, 2]),
        (&[4, 1, 129], &[0, 1]),
        (&[5, 1000, 2], &[1]),
        (&[17, 3], &[0]),
        (&[2, 3, 4, 5], &[1, 3]), // not consecutive: general path both ways
    ];
    for (k, &(shape, axes)) in shapes.iter().enumerate() {
        // Positive values so that ln/sqrt stay finite; a few specials elsewhere.
        let mut x = tensor(shape, 40 + k as u64, 0);
        for v in x.data_mut() {
            *v = v.abs() + 0.25;
        }
        let r = shape.len();
        let ax: Vec<usize> = axes.iter().map(|&a| a as usize).collect();
        let kept: Vec<usize> = (0..r).filter(|a| !ax.contains(a)).collect();
        let perm: Vec<i64> = kept.iter().chain(&ax).map(|&a| a as i64).collect();
        let xt = transpose(x.view(), &perm).unwrap();
        let trailing: Vec<i64> = (kept.len()..r).map(|a| a as i64).collect();
        for op in ops {
            for keep in [false, true] {
                let got = reduce(op, x.view(), Some(axes), keep).unwrap();
                let want = reduce(op, xt.view(), Some(&trailing), false).unwrap();
                assert_same(
                    got.data(),
                    want.data(),
                    &format!("{op:?} {shape:?} {axes:?}"),
                );
                let dims: Vec<usize> = (0..r)
                    .filter_map(|a| {
                        if ax.contains(&a) {
                            keep.then_some(1)
                        } else {
                            Some(shape[a])
                        }
                    })
                    .collect();
                assert_eq!(got.shape(), &dims[..]);
            }
        }
    }
    // Specials propagate the same way on both paths.
    let x = tensor(&[2, 40, 3], 9, 7);
    let xt = transpose(x.view(), &[0, 2, 1]).unwrap();
    for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::L2Norm] {
        let got = reduce(op, x.view(), Some(&[1]), false).unwrap();
        let want = reduce(op, xt.view(), Some(&[2]), false).unwrap();
        assert_same(got.data(), want.data(), &format!("{op:?} specials"));
    }
}

fn naive_transpose(x: &Tensor, perm: &[usize]) -> Vec<f32> {
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let st = contiguous_strides(x.shape());
    indices(&shape)
        .iter()
        .map(|idx| x.data()[(0..perm.len()).map(|i| idx[i] * st[perm[i]]).sum::<usize>()])
        .collect()
}

#[test]
fn transpose_matches_index_arithmetic() {
    let cases: &[(&[usize], &[usize])] = &[
        (&[1, 12, 64, 256], &[0, 1, 3, 2]),
        (&[1, 12, 256, 64], &[0, 1, 3, 2]),
        (&[3, 5], &[1, 0]),
        (&[2, 3, 4], &[2, 0, 1]),
        (&[2, 3, 4], &[0, 1, 2]),
        (&[7, 1, 9, 2], &[3, 1, 0, 2]),
        (&[2, 3, 1, 5, 4], &[4, 2, 0, 3, 1]),
        (&[1, 1], &[1, 0]),
        (&[300, 70], &[1, 0]),
        (&[0, 4], &[1, 0]),
        (&[5], &[0]),
        // The 16 × 16 block path: a partial last column block (20 = 16 + 4), a row count that
        // is not a multiple of 16 (whole matrices per task), tasks of several blocks of rows,
        // outer dims, and permutations that mix them.
        (&[2, 20, 32], &[0, 2, 1]),
        (&[3, 40, 17], &[0, 2, 1]),
        (&[1, 64, 128], &[0, 2, 1]),
        (&[2, 3, 48, 32], &[0, 1, 3, 2]),
        (&[4, 32, 2, 48], &[2, 0, 3, 1]),
        (&[4, 32, 2, 48], &[3, 2, 0, 1]),
        (&[16, 16], &[1, 0]),
        (&[17, 15], &[1, 0]),
    ];
    for (k, &(shape, perm)) in cases.iter().enumerate() {
        let x = tensor(shape, 70 + k as u64, 11);
        let p: Vec<i64> = perm.iter().map(|&a| a as i64).collect();
        let got = transpose(x.view(), &p).unwrap();
        let want_shape: Vec<usize> = perm.iter().map(|&a| shape[a]).collect();
        assert_eq!(got.shape(), &want_shape[..]);
        assert_same(
            got.data(),
            &naive_transpose(&x, perm),
            &format!("{shape:?} {perm:?}"),
        );
    }
    // Non-float elements take the same paths.
    let x = Tensor::new(vec![3, 4], (0..12).collect::<Vec<i32>>()).unwrap();
    let t = transpose(x.view(), &[1, 0]).unwrap();
    assert_eq!(t.data(), &[0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    let x = Tensor::new(vec![32, 40], (0..1280).collect::<Vec<i32>>()).unwrap();
    let t = transpose(x.view(), &[1, 0]).unwrap();
    let want: Vec<i32> = (0..40)
        .flat_map(|c| (0..32).map(move |r| r * 40 + c))
        .collect();
    assert_eq!(t.data(), &want[..]);
}

/// Python slicing of one dim, written out.
fn py_slice(dim: usize, b: i64, e: i64, s: i64) -> Vec<usize> {
    let n = dim as i64;
    let norm = |v: i64| if v < 0 { v + n } else { v };
    let mut out = Vec::new();
    if s > 0 {
        let (mut i, e) = (norm(b).clamp(0, n), norm(e).clamp(0, n));
        while i < e {
            out.push(i as usize);
            i += s;
        }
    } else {
        let (mut i, e) = (norm(b).clamp(-1, n - 1), norm(e).clamp(-1, n - 1));
        while i > e {
            out.push(i as usize);
            i += s;
        }
    }
    out
}

fn naive_grid(x: &Tensor, maps: &[Vec<Option<usize>>], fill: f32) -> Vec<f32> {
    let shape: Vec<usize> = maps.iter().map(Vec::len).collect();
    let st = contiguous_strides(x.shape());
    indices(&shape)
        .iter()
        .map(|idx| {
            let mut off = 0;
            for d in 0..idx.len() {
                match maps[d][idx[d]] {
                    Some(i) => off += i * st[d],
                    None => return fill,
                }
            }
            x.data()[off]
        })
        .collect()
}

#[test]
fn slices_pads_tiles_match_index_arithmetic() {
    let x = tensor(&[1, 12, 256, 64], 90, 23);
    let slices: &[(&[i64], &[i64], &[i64])] = &[
        (&[0, 0, 0, 0], &[1, 12, 256, 32], &[1, 1, 1, 1]),
        (&[0, 0, 0, 32], &[1, 12, 256, 64], &[1, 1, 1, 1]),
        (&[0, 3, 5, 1], &[1, 11, 250, 63], &[1, 2, 3, 2]),
        (&[0, -1, 200, 60], &[1, 0, 3, -70], &[1, -1, -7, -3]),
        (&[0, 0, 0, 0], &[1, 12, 256, 64], &[1, 1, 1, 1]),
        (&[0, 5, 0, 10], &[1, 5, 256, 10], &[1, 1, 1, 1]),
    ];
    for &(b, e, s) in slices {
        let p = SliceParams {
            begin: b.to_vec(),
            end: e.to_vec(),
            stride: s.to_vec(),
            ..Default::default()
        };
        let got = slice_by_index(x.view(), &p).unwrap();
        let maps: Vec<Vec<Option<usize>>> = (0..4)
            .map(|d| {
                py_slice(x.shape()[d], b[d], e[d], s[d])
                    .into_iter()
                    .map(Some)
                    .collect()
            })
            .collect();
        let want_shape: Vec<usize> = maps.iter().map(Vec::len).collect();
        assert_eq!(got.shape(), &want_shape[..], "{b:?} {e:?} {s:?}");
        assert_same(
            got.data(),
            &naive_grid(&x, &maps, 0.0),
            &format!("{b:?}:{e:?}:{s:?}"),
        );
    }
    // slice_by_size and split are the same grid.
    let y = tensor(&[3, 7, 5], 91, 0);
    let got = slice_by_size(y.view(), &[1, 2, 0], &[2, -1, 3]).unwrap();
    let maps = vec![
        (1..3).map(Some).collect(),
        (2..7).map(Some).collect(),
        (0..3).map(Some).collect::<Vec<_>>(),
    ];
    assert_same(got.data(), &naive_grid(&y, &maps, 0.0), "slice_by_size");
    let parts = split(y.view(), &[3, 2], 2).unwrap();
    let maps = vec![
        (0..3).map(Some).collect(),
        (0..7).map(Some).collect(),
        (3..5).map(Some).collect::<Vec<_>>(),
    ];
    assert_same(parts[1].data(), &naive_grid(&y, &maps, 0.0), "split");

    // pad: constant (whole fill rows and fill columns), reflect, replicate.
    let pads = [2usize, 1, 3, 2];
    for (mode, fill) in [
        (PadMode::Constant(7.5), 7.5),
        (PadMode::Reflect, 0.0),
        (PadMode::Replicate, 0.0),
    ] {
        let got = pad(y.view(), &pads, mode).unwrap();
        let map = |dim: usize, b: usize, a: usize| -> Vec<Option<usize>> {
            (0..b + dim + a)
                .map(|o| {
                    let i = o as i64 - b as i64;
                    let n = dim as i64;
                    if (0..n).contains(&i) {
                        return Some(i as usize);
                    }
                    match mode {
                        PadMode::Constant(_) => None,
                        PadMode::Replicate => Some(i.clamp(0, n - 1) as usize),
                        PadMode::Reflect => Some(if i < 0 { -i } else { 2 * (n - 1) - i } as usize),
                    }
                })
                .collect()
        };
        let maps = vec![(0..3).map(Some).collect(), map(7, 2, 1), map(5, 3, 2)];
        assert_same(
            got.data(),
            &naive_grid(&y, &maps, fill),
            &format!("pad {mode:?}"),
        );
    }
    let got = tile(y.view(), &[2, 1, 3]).unwrap();
    let maps = vec![
        (0..6).map(|i| Some(i % 3)).collect(),
        (0..7).map(Some).collect(),
        (0..15).map(|i| Some(i % 5)).collect::<Vec<_>>(),
    ];
    assert_same(got.data(), &naive_grid(&y, &maps, 0.0), "tile");
    // A large slice goes through the parallel chunks.
    let big = tensor(&[4, 300, 130], 92, 0);
    let p = SliceParams {
        begin: vec![1, 1, 2],
        end: vec![4, 299, 129],
        ..Default::default()
    };
    let got = slice_by_index(big.view(), &p).unwrap();
    let maps = vec![
        (1..4).map(Some).collect(),
        (1..299).map(Some).collect(),
        (2..129).map(Some).collect::<Vec<_>>(),
    ];
    assert_same(got.data(), &naive_grid(&big, &maps, 0.0), "big slice");
}

/// Batched matmul runs one single-threaded product per task when there are at least two per
/// thread, else splits each product between the threads: the path depends on the pool size,
/// the result must not (each output element is accumulated the same way on either path).
#[test]
fn batched_matmul_is_bitwise_independent_of_the_thread_count() {
    use anekit_cpu::matmul::matmul;
    let q = tensor(&[1, 12, 256, 64], 91, 0);
    let k = tensor(&[1, 12, 256, 64], 92, 0);
    let p = tensor(&[1, 12, 256, 256], 93, 0);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let scores = matmul(q.view(), k.view(), false, true).unwrap();
            let pv = matmul(p.view(), k.view(), false, false).unwrap();
            (bits(scores.data()), bits(pv.data()))
        })
    };
    // 1 and 2 threads: per-product tasks (12 ≥ 2·threads); 8: each product split.
    let one = run(1);
    assert_eq!(run(2), one);
    assert_eq!(run(8), one);
}
