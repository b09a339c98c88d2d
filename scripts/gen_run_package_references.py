#!/usr/bin/env python3
"""Numpy reference inputs and outputs for `ane run` on the coremltools fixture packages.

For every package in crates/anekit-coreml/tests/fixtures (written by gen_coreml_fixtures.py) and
every function in it, this script draws a seeded input, evaluates the package's program with a
small numpy interpreter written here from the MIL op definitions (float32 math; `cast` rounds to
its target dtype), and writes

  crates/anekit-cli/tests/fixtures/run_packages/<package>/<function>/input_<name>.npy
  crates/anekit-cli/tests/fixtures/run_packages/<package>/<function>/output_<name>.npy

coremltools is used only to *read* the package (its MIL protobuf reader gives the ops and the
constant values, weights included); it computes nothing here — coremltools cannot evaluate a
model off macOS anyway. The constexpr decompression ops are decoded by this script too.

Run from the repository root (numpy and coremltools from PyPI):
    python3 scripts/gen_run_package_references.py
The outputs are small and committed; re-running reproduces them byte for byte.
"""

import math
import os
import shutil
import sys

import numpy as np

import coremltools as ct
from coremltools.converters.mil.frontend.milproto.load import load as load_milproto

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "crates", "anekit-coreml", "tests", "fixtures")
OUT = os.path.join(ROOT, "crates", "anekit-cli", "tests", "fixtures", "run_packages")

# Concrete shapes for the flexible inputs (inside each declared range / enumeration).
SHAPES = {
    ("flexible_range", "main", "x"): (1, 8),
    ("flexible_enumerated", "main", "x"): (1, 16),
    ("multifunction", "relu_range", "x"): (1, 5),
    ("multifunction", "relu_enum", "x"): (1, 4),
}

PACKAGES = [
    "cnn_fp16",
    "cnn_fp32",
    "transformer_fp16",
    "compressed_ios17",
    "compressed_ios18",
    "flexible_range",
    "flexible_enumerated",
    "multifunction",
]

NP_DTYPE = {"fp16": np.float16, "fp32": np.float32, "int32": np.int32, "bool": np.bool_}


def dtype_name(var):
    return ct.converters.mil.mil.types.builtin_to_string(var.dtype)


# ---- ops (MIL semantics, float32 math) ----------------------------------------------------


def conv(x, weight, bias, strides, pad_type, pad, dilations, groups):
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    sh, sw = (int(s) for s in strides)
    dh, dw = (int(d) for d in dilations)
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if pad_type == "valid":
        pt = pb = pl = pr = 0
    elif pad_type == "custom":
        pt, pb, pl, pr = (int(p) for p in pad)
    elif pad_type in ("same", "same_lower"):
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
        th = max((oh - 1) * sh + ekh - h, 0)
        tw = max((ow - 1) * sw + ekw - w, 0)
        if pad_type == "same":
            pt, pl = th // 2, tw // 2
        else:
            pt, pl = th - th // 2, tw - tw // 2
        pb, pr = th - pt, tw - pl
    else:
        raise ValueError(pad_type)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (xp.shape[2] - ekh) // sh + 1
    ow = (xp.shape[3] - ekw) // sw + 1
    out = np.zeros((n, o, oh, ow), np.float32)
    og = o // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        ws = weight[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw]
                out[:, g * og:(g + 1) * og] += np.einsum("oc,nchw->nohw", ws[:, :, i, j], patch)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


def max_pool(x, kernel_sizes, strides, pad_type, pad, ceil_mode):
    assert pad_type == "valid" and not ceil_mode
    kh, kw = (int(k) for k in kernel_sizes)
    sh, sw = (int(s) for s in strides)
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.full((n, c, oh, ow), -np.inf, np.float32)
    for i in range(kh):
        for j in range(kw):
            out = np.maximum(out, x[:, :, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw])
    return out


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm(x, axes, gamma, beta, epsilon):
    axes = tuple(int(a) for a in axes)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + np.float32(epsilon))
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def gelu(x, mode):
    if mode == "TANH_APPROXIMATION":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    if mode == "SIGMOID_APPROXIMATION":
        return x / (1 + np.exp(-1.702 * x))
    from math import erf
    return 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))


def unpack_bits(packed, nbits, count):
    """LSB-first packed n-bit values (the iOS17 constexpr operand layout)."""
    bits = np.unpackbits(np.asarray(packed, np.uint8), bitorder="little")
    vals = bits[: count * nbits].reshape(count, nbits)
    return (vals * (1 << np.arange(nbits))).sum(axis=1)


def affine_dequantize(quantized_data, zero_point, scale, axis):
    q = quantized_data.astype(np.float32)
    shape = [1] * q.ndim
    zp, sc = np.asarray(zero_point, np.float32), np.asarray(scale, np.float32)
    if zp.ndim == 1:
        shape[int(axis)] = -1
        zp = zp.reshape(shape)
    if sc.ndim == 1:
        shape[int(axis)] = -1
        sc = sc.reshape(shape)
    return (q - zp) * sc


def lut_to_dense(inputs):
    lut = inputs["lut"]
    if "shape" in inputs:  # iOS17: flat lut, packed indices, explicit shape
        shape = tuple(int(s) for s in inputs["shape"])
        count = int(np.prod(shape))
        nbits = int(math.log2(lut.shape[-1]))
        idx = unpack_bits(inputs["indices"], nbits, count)
        return lut.astype(np.float32)[idx].reshape(shape)
    # iOS18: indices shaped like the output, lut [..., 2^n, vector_size] with one group here
    idx = inputs["indices"].astype(np.int64)
    assert lut.shape[:-2] == (1,) * idx.ndim and lut.shape[-1] == 1, lut.shape
    return lut.reshape(-1).astype(np.float32)[idx]


def sparse_to_dense(inputs):
    data = inputs["nonzero_data"].astype(np.float32)
    if "shape" in inputs:  # iOS17: packed bit mask, explicit shape
        shape = tuple(int(s) for s in inputs["shape"])
        mask = unpack_bits(inputs["mask"], 1, int(np.prod(shape))).astype(bool)
    else:
        mask = inputs["mask"].astype(bool)
        shape = mask.shape
    out = np.zeros(int(np.prod(shape)), np.float32)
    out[mask.reshape(-1)] = data
    return out.reshape(shape)


def blockwise_shift_scale(inputs):
    data = inputs["data"].astype(np.float32)
    scale = inputs["scale"].astype(np.float32)
    # Each scale covers a block: repeat it along every axis to the data's shape.
    for axis in range(data.ndim):
        scale = np.repeat(scale, data.shape[axis] // scale.shape[axis], axis=axis)
    off = inputs.get("offset")
    if off is not None:
        for axis in range(data.ndim):
            off = np.repeat(off, data.shape[axis] // off.shape[axis], axis=axis)
        data = data - off.astype(np.float32)
    return data * scale


def evaluate(op, env):
    def val(v):
        if isinstance(v, (list, tuple)):
            return [val(x) for x in v]
        return env[v.name]

    a = {k: val(v) for k, v in op.inputs.items()}
    t = op.op_type
    if t == "cast":
        return np.asarray(a["x"]).astype(NP_DTYPE[str(a["dtype"])])
    if t == "conv":
        return conv(a["x"], a["weight"], a.get("bias"), a["strides"], str(a["pad_type"]), a["pad"], a["dilations"], int(a["groups"]))
    if t == "relu":
        return np.maximum(a["x"], 0)
    if t == "max_pool":
        return max_pool(a["x"], a["kernel_sizes"], a["strides"], str(a["pad_type"]), a["pad"], bool(a["ceil_mode"]))
    if t == "reshape":
        return a["x"].reshape(tuple(int(s) for s in a["shape"]))
    if t == "linear":
        y = a["x"] @ a["weight"].T
        return y + a["bias"] if a.get("bias") is not None else y
    if t == "softmax":
        return softmax(a["x"], int(a["axis"]))
    if t == "layer_norm":
        return layer_norm(a["x"], a["axes"], a.get("gamma"), a.get("beta"), a["epsilon"])
    if t == "transpose":
        return np.transpose(a["x"], tuple(int(p) for p in a["perm"]))
    if t == "matmul":
        x, y = a["x"], a["y"]
        if bool(a["transpose_x"]):
            x = np.swapaxes(x, -1, -2)
        if bool(a["transpose_y"]):
            y = np.swapaxes(y, -1, -2)
        return x @ y
    if t == "gelu":
        return gelu(a["x"], str(a["mode"]))
    if t == "add":
        return a["x"] + a["y"]
    if t == "concat":
        assert not bool(a["interleave"])
        return np.concatenate(a["values"], axis=int(a["axis"]))
    if t == "constexpr_affine_dequantize":
        return affine_dequantize(a["quantized_data"], a["zero_point"], a["scale"], a["axis"])
    if t == "constexpr_lut_to_dense":
        return lut_to_dense(a)
    if t == "constexpr_sparse_to_dense":
        return sparse_to_dense(a)
    if t == "constexpr_blockwise_shift_scale":
        return blockwise_shift_scale(a)
    raise NotImplementedError(t)


def as_f32(v):
    """Floats are computed in float32; ints, bools and strings stay as they are."""
    arr = np.asarray(v)
    if arr.dtype.kind == "f":
        return arr.astype(np.float32)
    return v if arr.dtype.kind in "USO" else arr


def run_function(name, fname, func, rng):
    env, inputs = {}, {}
    for iname, var in func.inputs.items():
        shape = SHAPES.get((name, fname, iname), var.shape)
        assert all(isinstance(d, int) for d in shape), (name, fname, iname, var.shape)
        x = rng.standard_normal(shape).astype(NP_DTYPE[dtype_name(var)])
        inputs[iname] = x
        env[iname] = as_f32(x)
    for op in func.operations:
        if op.op_type == "const":
            env[op.outputs[0].name] = as_f32(op.outputs[0].val)
            continue
        out = evaluate(op, env)
        if op.op_type.startswith("constexpr_"):
            # A decompressed constant is a tensor of its declared dtype (fp16 weights stay fp16).
            out = np.asarray(out).astype(NP_DTYPE[dtype_name(op.outputs[0])])
        env[op.outputs[0].name] = as_f32(out)
    outputs = {o.name: env[o.name].astype(np.float32) for o in func.outputs}
    return inputs, outputs


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    rng = np.random.default_rng(20261122)
    for name in PACKAGES:
        path = os.path.join(FIXTURES, name + ".mlpackage")
        spec = ct.utils.load_spec(path)
        weights = os.path.join(path, "Data", "com.apple.CoreML", "weights")
        prog = load_milproto(spec, specification_version=spec.specificationVersion, file_weights_dir=weights)
        for fname, func in sorted(prog.functions.items()):
            inputs, outputs = run_function(name, fname, func, rng)
            d = os.path.join(OUT, name, fname)
            os.makedirs(d, exist_ok=True)
            for k, v in inputs.items():
                np.save(os.path.join(d, f"input_{k}.npy"), v)
            for k, v in outputs.items():
                np.save(os.path.join(d, f"output_{k}.npy"), v)
            print(f"{name}/{fname}: inputs {[(k, v.shape, str(v.dtype)) for k, v in inputs.items()]}, "
                  f"outputs {[(k, v.shape) for k, v in outputs.items()]}", file=sys.stderr)


if __name__ == "__main__":
    main()
