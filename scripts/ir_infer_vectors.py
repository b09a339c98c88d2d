#!/usr/bin/env python3
"""Expected result shapes for crates/anekit-ir/tests/inference.rs, from coremltools' own MIL
type inference (coremltools 9.0, Linux). Run: python3 scripts/ir_infer_vectors.py
Each line: case name, then the output shapes and dtypes coremltools infers. The Rust test
states the same ops in MIL text and asserts the same shapes."""
import coremltools as ct
from coremltools.converters.mil import Builder as mb
from coremltools.converters.mil.mil import types
import numpy as np

F = np.float32
out = []


def rec(name, *vs):
    out.append((name, [(tuple(v.shape), types.builtin_to_string(v.dtype)) for v in vs]))


def spec(*shape, dtype=types.fp32):
    return mb.TensorSpec(shape=shape, dtype=dtype)


@mb.program(input_specs=[spec(1, 3, 17, 20), spec(1, 6, 10, 10)], opset_version=ct.target.iOS17)
def conv(x, g):
    rec("conv_custom", mb.conv(x=x, weight=np.zeros((8, 3, 3, 3), F), strides=[2, 3], dilations=[2, 1], pad_type="custom", pad=[1, 2, 0, 1]))
    rec("conv_same", mb.conv(x=x, weight=np.zeros((4, 3, 3, 3), F), strides=[2, 2], pad_type="same"))
    rec("conv_groups", mb.conv(x=g, weight=np.zeros((12, 2, 3, 3), F), groups=3, pad_type="valid"))
    rec("max_pool_ceil", mb.max_pool(x=g, kernel_sizes=[3, 3], strides=[2, 2], pad_type="valid", ceil_mode=True))
    return x


@mb.program(input_specs=[spec(2, 1, 4, 3), spec(5, 4, 6), spec(4), spec(3, 4, 5), spec(7, 8), spec(9, 8)], opset_version=ct.target.iOS17)
def matmul(a, b, v, c, d, e):
    rec("matmul_tx_bcast", mb.matmul(x=a, y=b, transpose_x=True))
    rec("matmul_vec", mb.matmul(x=v, y=c))
    rec("matmul_ty", mb.matmul(x=d, y=e, transpose_y=True))
    return a


@mb.program(input_specs=[spec(2, 3, 4), spec(2, 3), spec(2, 5), spec(10, 8, 6), spec(6, 9), spec(4, 5, 6), spec(2, 3, 4, 5),
                         spec(3, 4), spec(1, 3, 1, 4), spec(5, 4), spec(2, 10), spec(1, 2, 3), spec(2, 1, 4), spec(3, 1), spec(2, 7, 16), spec(2, 5, 3)],
            opset_version=ct.target.iOS17)
def shapes(x, p, q, s, t, u, r, e, z, b, k, w, a1, a2, lx, am):
    rec("reshape_minus1", mb.reshape(x=x, shape=[4, -1]))
    rec("reshape_zero", mb.reshape(x=x, shape=[0, -1]))
    rec("concat_neg_axis", mb.concat(values=[p, q], axis=-1, interleave=False))
    rec("slice_masks", mb.slice_by_index(x=s, begin=[1, 0, 5], end=[9, 8, 0], stride=[2, 1, -2], begin_mask=[False, True, False], end_mask=[False, False, True]))
    rec("slice_squeeze", mb.slice_by_index(x=s, begin=[2, 0, 0], end=[3, 8, 6], squeeze_mask=[True, False, False]))
    rec("split_num", *mb.split(x=t, num_splits=3, axis=1))
    rec("split_sizes", *mb.split(x=t, split_sizes=[2, 4], axis=0))
    rec("gather_axis1", mb.gather(x=u, indices=np.zeros((2, 3), np.int32), axis=1))
    rec("pad_last2", mb.pad(x=x, pad=[1, 2, 3, 4]))
    rec("reduce_mean", mb.reduce_mean(x=r, axes=[1, -1], keep_dims=False))
    rec("reduce_mean_keep", mb.reduce_mean(x=r, axes=[1, -1], keep_dims=True))
    rec("expand_dims", mb.expand_dims(x=e, axes=[0, -1]))
    rec("squeeze_all", mb.squeeze(x=z))
    rec("slice_by_size", mb.slice_by_size(x=b, begin=[1, 0], size=[-1, 2]))
    rec("topk", *mb.topk(x=k, k=3, axis=1))
    rec("stack", mb.stack(values=[p, p], axis=1))
    rec("tile", mb.tile(x=w, reps=[2, 1, 3]))
    rec("transpose", mb.transpose(x=x, perm=[2, 0, 1]))
    rec("add_broadcast", mb.add(x=a1, y=a2))
    rec("linear", mb.linear(x=lx, weight=np.zeros((32, 16), F)))
    rec("argmax_keep", mb.reduce_argmax(x=am, axis=1, keep_dims=True))
    return x


@mb.program(input_specs=[spec(2, 3, 4), spec(4), spec(4, 5)], opset_version=ct.target.iOS15)
def ios15(x, v, m):
    # iOS15/16: a 0 in `shape` copies the input dim at the same index.
    rec("reshape_zero_ios15", mb.reshape(x=x, shape=[0, -1, 2]))
    rec("matmul_vec_mat", mb.matmul(x=v, y=m))
    return x


@mb.program(input_specs=[spec(1, 8, 4, 6), spec(2, 5), spec(7, 2, 3), spec(2, 4), spec(1, 2, 8, 6, dtype=types.int8)],
            opset_version=ct.target.iOS17)
def more(x, a, s, h, q):
    rec("depth_to_space", mb.depth_to_space(x=x, block_size=2))
    rec("space_to_depth", mb.space_to_depth(x=x, block_size=2))
    rec("pixel_shuffle", mb.pixel_shuffle(x=x, upscale_factor=2))
    rec("pixel_unshuffle", mb.pixel_unshuffle(x=x, downscale_factor=np.uint32(2)))
    rec("argsort", mb.argsort(x=a, axis=1))
    rec("quantize", mb.quantize(input=x, scale=np.float32(0.5), output_dtype="int8"))
    rec("dequantize", mb.dequantize(input=q, scale=np.float32(0.5)))
    rec("gru_seq", *mb.gru(x=s, initial_h=h, weight_ih=np.zeros((12, 3), F), weight_hh=np.zeros((12, 4), F), output_sequence=True))
    rec("rnn_last", *mb.rnn(x=s, initial_h=h, weight_ih=np.zeros((4, 3), F), weight_hh=np.zeros((4, 4), F)))
    return x


@mb.program(input_specs=[spec(1, 4, 5, 6)], opset_version=ct.target.iOS17)
def deconv(x):
    w = np.zeros((4, 3, 3, 3), F)
    rec("conv_transpose_valid", mb.conv_transpose(x=x, weight=w, strides=[2, 2], pad_type="valid"))
    rec("conv_transpose_same", mb.conv_transpose(x=x, weight=w, strides=[2, 2], pad_type="same"))
    rec("conv_transpose_custom", mb.conv_transpose(x=x, weight=w, strides=[2, 3], dilations=[1, 2], pad_type="custom", pad=[1, 1, 0, 2]))
    return x


@mb.program(input_specs=[spec(3, 4, dtype=types.int32), spec(2, 3, 5), spec(4, 2, dtype=types.int32), spec(1, 2, 5, 7)],
            opset_version=ct.target.iOS17)
def misc(i, r, gi, x):
    rec("one_hot", mb.one_hot(indices=i, one_hot_vector_size=6, axis=1))
    rec("fill_like", mb.fill_like(ref_tensor=r, value=np.float32(1.5)))
    rec("gather_nd", mb.gather_nd(x=r, indices=gi))
    rec("upsample_nn", mb.upsample_nearest_neighbor(x=x, scale_factor_height=2, scale_factor_width=3))
    rec("resize_nn", mb.resize_nearest_neighbor(x=x, target_size_height=4, target_size_width=9))
    rec("crop", mb.crop(x=x, crop_height=[1, 2], crop_width=[0, 3]))
    rec("sliding_windows", mb.sliding_windows(x=r, axis=2, size=2, stride=2))
    return i


for name, outs in out:
    print(name, " ".join(f"{list(s)}:{d}" for s, d in outs))
