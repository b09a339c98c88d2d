#!/usr/bin/env python3
"""Generate the numpy reference fixtures for anekit-cpu's kernel tests.

Every case gets fp16-representable f32 inputs (so the same inputs serve both numerics modes),
computes the expected output in float64 with plain numpy written independently of the Rust
kernels, and stores
  <case>.<input>.npy   inputs (f4, or i4 for indices, b1 for masks)
  <case>.exact.npy     expected output in `exact` mode: the f64 result cast to f32
  <case>.ane.npy       expected output in `ane` mode: the f64 result rounded to fp16 (RNE,
                       overflow to inf, subnormals kept: numpy's float16 conversion)
plus cases.json describing each case (kernel, parameters, inputs, tolerances).

Usage: python3 scripts/gen_kernel_fixtures.py   (writes crates/anekit-cpu/tests/fixtures/)
Deterministic (fixed seed); needs only numpy.
"""

import json
import math
import os
import shutil

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "anekit-cpu", "tests", "fixtures")
rng = np.random.default_rng(20261122)
CASES = []


def f16r(a):
    """fp16-representable float32 values."""
    return np.asarray(a, dtype=np.float64).astype(np.float16).astype(np.float32)


def rnd(*shape, lo=-1.0, hi=1.0):
    return f16r(rng.uniform(lo, hi, size=shape))


def case(name, kernel, inputs, expected, params=None, atol=1e-5, rtol=1e-5, ane_ulps=1,
         outputs=None, ane_atol=None):
    """Register a case. `expected` is a float64 array (or a tuple for multi-output kernels, or
    a bool/int array for masks and indices, which are compared exactly)."""
    names = []
    for k, v in inputs.items():
        v = np.array(v, order="C")
        if v.dtype == np.float64:
            v = v.astype(np.float32)
        np.save(os.path.join(OUT, f"{name}.{k}.npy"), v)
        names.append(k)
    exps = expected if isinstance(expected, tuple) else (expected,)
    outs = outputs or (["out"] if len(exps) == 1 else [f"out{i}" for i in range(len(exps))])
    for o, e in zip(outs, exps):
        e = np.array(e, order="C")
        if e.dtype == np.bool_ or e.dtype.kind in "iu":
            np.save(os.path.join(OUT, f"{name}.{o}.exact.npy"), e.astype(np.int32) if e.dtype.kind in "iu" else e)
            continue
        e = e.astype(np.float64)
        with np.errstate(over="ignore"):
            np.save(os.path.join(OUT, f"{name}.{o}.exact.npy"), e.astype(np.float32))
            np.save(os.path.join(OUT, f"{name}.{o}.ane.npy"), e.astype(np.float16))
    CASES.append(dict(name=name, kernel=kernel, params=params or {}, inputs=names, outputs=outs,
                      atol=atol, rtol=rtol, ane_ulps=ane_ulps,
                      ane_atol=atol if ane_atol is None else ane_atol))


def d(a):
    return np.asarray(a, dtype=np.float64)


# ---------------------------------------------------------------- numerics
def gen_numerics():
    vals = np.array([
        0.0, -0.0, 1.0, 65504.0, 65519.99, 65520.0, 1e6, -1e6, 1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11,
        2.0**-24, 2.0**-25, 2.0**-25 * 1.5, 3 * 2.0**-26, 6.1e-5, 6.0e-5, 1e-8, 0.1, -0.1,
        np.pi, 1234.5678, -2049.0, 2051.0, np.inf, -np.inf,
    ], dtype=np.float32)
    more = rng.normal(0, 100, 200).astype(np.float32)
    x = np.concatenate([vals, more, rng.uniform(-1e-4, 1e-4, 50).astype(np.float32)])
    np.save(os.path.join(OUT, "round_f16.x.npy"), x)
    with np.errstate(over="ignore"):
        np.save(os.path.join(OUT, "round_f16.expected.npy"), x.astype(np.float16).astype(np.float32))
    # bf16 RNE by bit manipulation (numpy has no bfloat16).
    b = x.view(np.uint32).astype(np.uint64)
    lsb = (b >> 16) & 1
    r = ((b + 0x7FFF + lsb) >> 16) << 16
    bf = (r & 0xFFFFFFFF).astype(np.uint32).view(np.float32)
    bf = np.where(np.isnan(x), x, bf)
    np.save(os.path.join(OUT, "round_bf16.expected.npy"), bf.astype(np.float32))


# ---------------------------------------------------------------- matmul / linear
def gen_matmul():
    def mm(name, xs, ys, tx=False, ty=False):
        x, y = rnd(*xs), rnd(*ys)
        xx = np.swapaxes(d(x), -1, -2) if tx and x.ndim > 1 else d(x)
        yy = np.swapaxes(d(y), -1, -2) if ty and y.ndim > 1 else d(y)
        k = xx.shape[-1]
        case(name, "matmul", dict(x=x, y=y), np.matmul(xx, yy),
             dict(transpose_x=tx, transpose_y=ty), atol=2e-6 * k, rtol=1e-5)

    mm("matmul_basic", (3, 17), (17, 5))
    mm("matmul_tx", (17, 3), (17, 31), tx=True)
    mm("matmul_ty", (1, 31), (7, 31), ty=True)
    mm("matmul_txty", (2, 9, 4), (2, 6, 9), tx=True, ty=True)
    mm("matmul_bcast", (2, 1, 3, 4), (5, 4, 6))
    mm("matmul_vec_x", (17,), (3, 17, 5))
    mm("matmul_vec_y", (4, 17), (17,))
    mm("matmul_big", (33, 70), (70, 35))
    mm("matmul_batched_many", (12, 8, 16), (12, 16, 8))

    x, w, b = rnd(2, 3, 17), rnd(5, 17), rnd(5)
    case("linear_bias", "linear", dict(x=x, weight=w, bias=b), d(x) @ d(w).T + d(b), atol=4e-5)
    x, w = rnd(31), rnd(3, 31)
    case("linear_nobias", "linear", dict(x=x, weight=w), d(x) @ d(w).T, atol=8e-5)


# ---------------------------------------------------------------- conv
def conv_ref(x, w, b, strides, dil, pads, groups):
    n, c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    xp = np.pad(d(x), ((0, 0), (0, 0), (pads[0], pads[1]), (pads[2], pads[3])))
    eh, ew = dil[0] * (kh - 1) + 1, dil[1] * (kw - 1) + 1
    oh = (xp.shape[2] - eh) // strides[0] + 1
    ow = (xp.shape[3] - ew) // strides[1] + 1
    out = np.zeros((n, co, oh, ow))
    cog = co // groups
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, g * cg:(g + 1) * cg,
                           i * dil[0]: i * dil[0] + strides[0] * (oh - 1) + 1: strides[0],
                           j * dil[1]: j * dil[1] + strides[1] * (ow - 1) + 1: strides[1]]
                wk = d(w)[g * cog:(g + 1) * cog, :, i, j]
                out[:, g * cog:(g + 1) * cog] += np.einsum("nchw,oc->nohw", patch, wk)
    if b is not None:
        out += d(b)[None, :, None, None]
    return out


def conv_t_ref(x, w, b, strides, dil, pads, out_pad, groups):
    n, c, h, wd = x.shape
    _, cog, kh, kw = w.shape
    cg = c // groups
    fh = (h - 1) * strides[0] + dil[0] * (kh - 1) + 1 + out_pad[0]
    fw = (wd - 1) * strides[1] + dil[1] * (kw - 1) + 1 + out_pad[1]
    full = np.zeros((n, cog * groups, fh, fw))
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                contrib = np.einsum("nchw,co->nohw", d(x)[:, g * cg:(g + 1) * cg],
                                    d(w)[g * cg:(g + 1) * cg, :, i, j])
                full[:, g * cog:(g + 1) * cog,
                     i * dil[0]: i * dil[0] + strides[0] * (h - 1) + 1: strides[0],
                     j * dil[1]: j * dil[1] + strides[1] * (wd - 1) + 1: strides[1]] += contrib
    out = full[:, :, pads[0]: fh - pads[1], pads[2]: fw - pads[3]]
    if b is not None:
        out = out + d(b)[None, :, None, None]
    return out


def gen_conv():
    def cv(name, xs, ws, bias, strides=(1, 1), dil=(1, 1), pads=(0, 0, 0, 0), groups=1):
        x, w = rnd(*xs), rnd(*ws, lo=-0.5, hi=0.5)
        b = rnd(ws[0]) if bias else None
        ins = dict(x=x, weight=w)
        if bias:
            ins["bias"] = b
        k = ws[1] * ws[2] * ws[3]
        case(name, "conv2d", ins, conv_ref(x, w, b, strides, dil, pads, groups),
             dict(strides=list(strides), dilations=list(dil), pads=list(pads), groups=groups),
             atol=2e-6 * k + 1e-6)

    cv("conv_3x3_pad1", (1, 3, 7, 9), (4, 3, 3, 3), True, pads=(1, 1, 1, 1))
    cv("conv_stride2_dil2", (2, 5, 17, 13), (3, 5, 3, 2), False, strides=(2, 3), dil=(2, 1),
       pads=(2, 1, 0, 3))
    cv("conv_groups2", (1, 4, 6, 6), (6, 2, 3, 3), True, pads=(1, 0, 0, 1), groups=2)
    cv("conv_depthwise", (2, 5, 9, 8), (5, 1, 3, 3), True, strides=(2, 1), pads=(1, 1, 1, 1),
       groups=5)
    cv("conv_depthwise_mult2", (1, 3, 6, 5), (6, 1, 2, 2), False, groups=3)
    cv("conv_pointwise", (2, 31, 5, 3), (17, 31, 1, 1), True)
    cv("conv_big", (1, 16, 12, 12), (16, 16, 3, 3), True, pads=(1, 1, 1, 1))
    # 1-D conv as rank-3 input: run the 2-D reference with H = 1.
    x, w, b = rnd(2, 3, 11), rnd(4, 3, 3, lo=-0.5, hi=0.5), rnd(4)
    ref = conv_ref(x[:, :, None, :], w[:, :, None, :], b, (1, 2), (1, 1), (0, 0, 1, 2), 1)[:, :, 0, :]
    case("conv1d", "conv2d", dict(x=x, weight=w, bias=b), ref,
         dict(strides=[1, 2], dilations=[1, 1], pads=[0, 0, 1, 2], groups=1), atol=2e-5)

    def cvt(name, xs, ws, bias, strides=(1, 1), dil=(1, 1), pads=(0, 0, 0, 0), out_pad=(0, 0),
            groups=1):
        x, w = rnd(*xs), rnd(*ws, lo=-0.5, hi=0.5)
        b = rnd(ws[1] * groups) if bias else None
        ins = dict(x=x, weight=w)
        if bias:
            ins["bias"] = b
        case(name, "conv_transpose2d", ins,
             conv_t_ref(x, w, b, strides, dil, pads, out_pad, groups),
             dict(strides=list(strides), dilations=list(dil), pads=list(pads),
                  output_padding=list(out_pad), groups=groups), atol=4e-5)

    cvt("convt_stride2", (1, 3, 4, 5), (3, 2, 3, 3), True, strides=(2, 2), pads=(1, 1, 1, 1),
        out_pad=(1, 1))
    cvt("convt_groups_dil", (2, 4, 3, 3), (4, 3, 2, 3), False, strides=(1, 2), dil=(2, 1),
        pads=(0, 1, 1, 0), groups=2)


# ---------------------------------------------------------------- pool
def pool_ref(x, kind, k, s, pads, ceil, excl):
    n, c, h, w = x.shape

    def odim(i, kk, ss, pb, pe):
        span = i + pb + pe - kk
        o = (-(-span // ss) if ceil else span // ss) + 1
        if ceil and (o - 1) * ss >= i + pb:
            o -= 1
        return o

    oh, ow = odim(h, k[0], s[0], pads[0], pads[1]), odim(w, k[1], s[1], pads[2], pads[3])
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * s[0] - pads[0], j * s[1] - pads[2]
            r1, c1 = r0 + k[0], c0 + k[1]
            rr0, rr1, cc0, cc1 = max(r0, 0), min(r1, h), max(c0, 0), min(c1, w)
            win = d(x)[:, :, rr0:rr1, cc0:cc1]
            if kind == "max":
                out[:, :, i, j] = win.max(axis=(2, 3)) if win.size else -np.inf
            else:
                if excl:
                    cnt = (rr1 - rr0) * (cc1 - cc0)
                else:
                    cnt = (min(r1, h + pads[1]) - r0) * (min(c1, w + pads[3]) - c0)
                out[:, :, i, j] = win.sum(axis=(2, 3)) / cnt
    return out


def gen_pool():
    def pl(name, kind, xs, k, s, pads, ceil=False, excl=False):
        x = rnd(*xs)
        case(name, kind + "_pool", dict(x=x), pool_ref(x, kind, k, s, pads, ceil, excl),
             dict(kernel=list(k), strides=list(s), pads=list(pads), ceil_mode=ceil,
                  exclude_padding_from_average=excl), atol=1e-6)

    pl("maxpool_basic", "max", (1, 2, 7, 9), (2, 2), (2, 2), (0, 0, 0, 0))
    pl("maxpool_pad_ceil", "max", (2, 3, 7, 8), (3, 3), (2, 2), (1, 1, 1, 0), ceil=True)
    pl("avgpool_incl", "avg", (1, 3, 7, 7), (3, 3), (2, 2), (1, 1, 1, 1))
    pl("avgpool_excl", "avg", (1, 3, 7, 7), (3, 3), (2, 2), (1, 1, 1, 1), excl=True)
    pl("avgpool_ceil", "avg", (1, 2, 6, 5), (3, 2), (2, 2), (0, 1, 1, 0), ceil=True)


# ---------------------------------------------------------------- elementwise
def gen_elementwise():
    a, b = rnd(2, 3, 4, lo=-4, hi=4), rnd(3, 1, lo=-4, hi=4)
    b = np.where(np.abs(b) < 0.25, 0.5, b).astype(np.float32)  # keep divisors away from 0
    ops = {
        "add": np.add, "sub": np.subtract, "mul": np.multiply, "real_div": np.divide,
        "floor_div": lambda x, y: np.floor(x / y), "maximum": np.maximum, "minimum": np.minimum,
        "mod": np.mod,
    }
    for op, f in ops.items():
        case(f"binary_{op}", "binary", dict(x=a, y=b), f(d(a), d(b)), dict(op=op), atol=1e-6)
    pa, pb = rnd(4, 5, lo=0.1, hi=3), rnd(5, lo=-2, hi=2)
    case("binary_pow", "binary", dict(x=pa, y=pb), np.power(d(pa), d(pb)), dict(op="pow"),
         atol=1e-5, rtol=1e-5)
    # Broadcast both ways, odd sizes, scalar.
    x, y = rnd(1, 17, 1), rnd(3, 1, 31)
    case("binary_add_bcast2", "binary", dict(x=x, y=y), d(x) + d(y), dict(op="add"), atol=1e-6)
    x, y = rnd(3, 17), f16r(np.array(0.75))
    case("binary_mul_scalar", "binary", dict(x=x, y=y), d(x) * d(y), dict(op="mul"), atol=1e-6)
    # fp16 edge cases: overflow to inf in ane mode only; subnormal products; ties.
    x = f16r([60000.0, -60000.0, 2.0**-14, 1.0, 2048.0, 3.0e-5])
    y = f16r([60000.0, -10000.0, 2.0**-3, 2.0**-11, 1.0, 1e-3])
    case("edge_add_overflow", "binary", dict(x=x, y=y), d(x) + d(y), dict(op="add"), atol=0,
         rtol=0, ane_ulps=0)
    case("edge_mul_subnormal", "binary", dict(x=x, y=y), d(x) * d(y), dict(op="mul"), atol=0,
         rtol=0, ane_ulps=0)

    cx, cy = f16r(rng.integers(-3, 4, (4, 5))), f16r(rng.integers(-3, 4, (5,)))
    for op, f in {"equal": np.equal, "not_equal": np.not_equal, "greater": np.greater,
                  "greater_equal": np.greater_equal, "less": np.less,
                  "less_equal": np.less_equal}.items():
        case(f"compare_{op}", "compare", dict(x=cx, y=cy), f(cx, cy), dict(op=op))
    m1, m2 = rng.integers(0, 2, (3, 4)).astype(bool), rng.integers(0, 2, (4,)).astype(bool)
    for op, f in {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}.items():
        case(f"logical_{op}", "logical", dict(x=m1, y=m2), f(m1, m2), dict(op=op))
    sa, sb = rnd(3, 4), rnd(4)
    case("select", "select", dict(cond=m1, a=sa, b=sb), np.where(m1, d(sa), d(sb)), atol=0)

    gen = rnd(3, 17, lo=-3, hi=3)
    pos = rnd(3, 17, lo=0.05, hi=5)
    unit = rnd(3, 17, lo=-0.95, hi=0.95)
    ties = f16r([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.0, 0.0, 2.4, -2.6, 1e4 + 0.5])
    erf = np.vectorize(math.erf)
    un = [
        ("abs", gen, np.abs, {}), ("neg", gen, np.negative, {}), ("sqrt", pos, np.sqrt, {}),
        ("rsqrt", pos, lambda v: 1 / np.sqrt(v + 1e-3), dict(epsilon=1e-3)),
        ("inverse", pos, lambda v: 1 / (v + 1e-4), dict(epsilon=1e-4)),
        ("exp", gen, np.exp, {}), ("exp2", gen, np.exp2, {}),
        ("log", pos, lambda v: np.log(v + 1e-6), dict(epsilon=1e-6)),
        ("square", gen, np.square, {}), ("floor", gen, np.floor, {}), ("ceil", gen, np.ceil, {}),
        ("round", ties, np.round, {}), ("sign", f16r([-2, -0.0, 0, 3, 1e-7]), np.sign, {}),
        ("sin", gen, np.sin, {}), ("cos", gen, np.cos, {}), ("tan", unit, np.tan, {}),
        ("tanh", gen, np.tanh, {}), ("asin", unit, np.arcsin, {}), ("acos", unit, np.arccos, {}),
        ("atan", gen, np.arctan, {}), ("sinh", gen, np.sinh, {}), ("cosh", gen, np.cosh, {}),
        ("atanh", unit, np.arctanh, {}), ("erf", gen, erf, {}),
        ("clip", gen, lambda v: np.clip(v, -1.0, 0.5), dict(alpha=-1.0, beta=0.5)),
        ("threshold", gen, lambda v: np.maximum(v, 0.25), dict(alpha=0.25)),
    ]
    for op, x, f, p in un:
        case(f"unary_{op}", "unary", dict(x=x), f(d(x)), dict(op=op, **p), atol=2e-6, rtol=2e-6)

    def sig(v):
        return 1 / (1 + np.exp(-v))

    big = rnd(4, 31, lo=-12, hi=12)
    acts = [
        ("relu", lambda v: np.maximum(v, 0), {}),
        ("relu6", lambda v: np.clip(v, 0, 6), {}),
        ("leaky_relu", lambda v: np.where(v >= 0, v, 0.1 * v), dict(alpha=0.1)),
        ("elu", lambda v: np.where(v > 0, v, 0.7 * np.expm1(v)), dict(alpha=0.7)),
        ("sigmoid", sig, {}),
        ("sigmoid_hard", lambda v: np.clip(0.2 * v + 0.5, 0, 1), dict(alpha=0.2, beta=0.5)),
        ("tanh", np.tanh, {}),
        ("gelu_exact", lambda v: 0.5 * v * (1 + erf(v / math.sqrt(2))), dict(mode="EXACT")),
        ("gelu_tanh", lambda v: 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3))),
         dict(mode="TANH_APPROXIMATION")),
        ("gelu_sigmoid", lambda v: v * sig(1.702 * v), dict(mode="SIGMOID_APPROXIMATION")),
        ("silu", lambda v: v * sig(v), {}),
        ("softplus", lambda v: np.log1p(np.exp(v)), {}),
        ("softsign", lambda v: v / (1 + np.abs(v)), {}),
        ("clamped_relu", lambda v: np.minimum(np.where(v >= 0, v, 0.3 * v), 5.0), dict(alpha=0.3, beta=5.0)),
        ("scaled_tanh", lambda v: 1.5 * np.tanh(0.5 * v), dict(alpha=1.5, beta=0.5)),
        ("thresholded_relu", lambda v: np.where(v > 1.0, v, 0), dict(alpha=1.0)),
    ]
    for op, f, p in acts:
        case(f"act_{op}", "activation", dict(x=big), f(d(big)), dict(op=op, **p), atol=1e-5,
             rtol=2e-6)

    def softmax(v, ax):
        e = np.exp(v - v.max(axis=ax, keepdims=True))
        return e / e.sum(axis=ax, keepdims=True)

    x = rnd(2, 5, 3, 7, lo=-8, hi=8)
    case("softmax_last", "softmax", dict(x=x), softmax(d(x), -1), dict(axis=-1), atol=1e-6)
    case("softmax_axis1", "softmax", dict(x=x), softmax(d(x), 1), dict(axis=1), atol=1e-6)
    x = f16r([[1000.0, 1000.0, -1000.0], [-60000.0, 0.0, 60000.0]])
    case("softmax_large", "softmax", dict(x=x), softmax(d(x), -1), dict(axis=-1), atol=1e-7)


# ---------------------------------------------------------------- norms and reductions
def gen_norm_reduce():
    x = rnd(2, 3, 4, 5, lo=-3, hi=3)
    g, b = rnd(5), rnd(5)

    def ln(v, axes, g=None, b=None, eps=1e-5):
        m = v.mean(axis=axes, keepdims=True)
        var = ((v - m) ** 2).mean(axis=axes, keepdims=True)
        y = (v - m) / np.sqrt(var + eps)
        return y * (1 if g is None else g) + (0 if b is None else b)

    case("layer_norm_last", "layer_norm", dict(x=x, gamma=g, beta=b),
         ln(d(x), (3,), d(g), d(b)), dict(axes=[-1], epsilon=1e-5), atol=2e-5)
    g2, b2 = rnd(3, 5), rnd(3, 5)
    case("layer_norm_axes13", "layer_norm", dict(x=x, gamma=g2, beta=b2),
         ln(d(x), (1, 3), d(g2)[None, :, None, :], d(b2)[None, :, None, :], eps=1e-3),
         dict(axes=[1, 3], epsilon=1e-3), atol=2e-5)
    case("layer_norm_plain", "layer_norm", dict(x=x), ln(d(x), (2, 3)),
         dict(axes=[2, 3], epsilon=1e-5), atol=2e-5)
    case("rms_norm", "rms_norm", dict(x=x, gamma=g),
         d(x) / np.sqrt((d(x) ** 2).mean(axis=-1, keepdims=True) + 1e-6) * d(g),
         dict(axes=[-1], epsilon=1e-6), atol=2e-5)
    mean, var, gm, bt = rnd(3), rnd(3, lo=0.1, hi=2), rnd(3), rnd(3)
    sh = (1, 3, 1, 1)
    case("batch_norm", "batch_norm", dict(x=x, mean=mean, variance=var, gamma=gm, beta=bt),
         (d(x) - d(mean).reshape(sh)) / np.sqrt(d(var).reshape(sh) + 1e-5) * d(gm).reshape(sh)
         + d(bt).reshape(sh), dict(epsilon=1e-5), atol=2e-5)
    case("instance_norm", "instance_norm", dict(x=x, gamma=gm, beta=bt),
         ln(d(x), (2, 3)) * d(gm).reshape(sh) + d(bt).reshape(sh), dict(epsilon=1e-5), atol=2e-5)
    sq = d(x) ** 2
    acc = np.zeros_like(sq)
    for ch in range(3):  # size 3: channels ch-1 .. ch+1
        acc[:, ch] = sq[:, max(0, ch - 1):min(3, ch + 2)].sum(axis=1)
    case("local_response_norm", "local_response_norm", dict(x=x),
         d(x) / (2.0 + 0.5 / 3 * acc) ** 0.75, dict(size=3, alpha=0.5, beta=0.75, k=2.0),
         atol=2e-6)
    acc = np.zeros_like(sq)
    for ch in range(3):  # size 2: channels ch .. ch+1
        acc[:, ch] = sq[:, ch:min(3, ch + 2)].sum(axis=1)
    case("local_response_norm_even", "local_response_norm", dict(x=x),
         d(x) / (1.0 + 1e-1 / 2 * acc) ** 0.5, dict(size=2, alpha=0.1, beta=0.5, k=1.0),
         atol=2e-6)
    case("l2_norm", "l2_norm", dict(x=x),
         d(x) / np.sqrt((d(x) ** 2).sum(axis=(1, 2, 3), keepdims=True) + 1e-6),
         dict(epsilon=1e-6), atol=2e-6)

    r = rnd(3, 4, 5, lo=-2, hi=2)
    p = rnd(3, 4, 5, lo=0.5, hi=1.5)
    red = [
        ("sum", r, np.sum), ("mean", r, np.mean), ("max", r, np.max), ("min", r, np.min),
        ("prod", p, np.prod), ("l1_norm", r, lambda v, axis, keepdims: np.abs(v).sum(axis=axis, keepdims=keepdims)),
        ("l2_norm", r, lambda v, axis, keepdims: np.sqrt((v**2).sum(axis=axis, keepdims=keepdims))),
        ("log_sum", p, lambda v, axis, keepdims: np.log(v.sum(axis=axis, keepdims=keepdims))),
        ("log_sum_exp", r, lambda v, axis, keepdims: np.log(np.exp(v).sum(axis=axis, keepdims=keepdims))),
        ("sum_square", r, lambda v, axis, keepdims: (v**2).sum(axis=axis, keepdims=keepdims)),
    ]
    for op, x, f in red:
        for tag, axes, keep in [("a1", [1], True), ("a02", [0, -1], False), ("all", None, False)]:
            ax = None if axes is None else tuple(a % 3 for a in axes)
            case(f"reduce_{op}_{tag}", "reduce", dict(x=x), f(d(x), axis=ax, keepdims=keep),
                 dict(op=op, axes=axes, keep_dims=keep), atol=1e-5, rtol=1e-5)
    am = f16r(rng.integers(-3, 4, (3, 4, 5)))  # many ties: first index must win
    case("argmax_a1", "argmax", dict(x=am), np.argmax(am, axis=1), dict(axis=1, keep_dims=False))
    case("argmax_last_keep", "argmax", dict(x=am), np.argmax(am, axis=-1)[..., None],
         dict(axis=-1, keep_dims=True))
    case("argmin_a0", "argmin", dict(x=am), np.argmin(am, axis=0), dict(axis=0, keep_dims=False))


# ---------------------------------------------------------------- attention
def gen_attention():
    def sdpa(q, k, v, mask=None, bool_mask=None):
        s = d(q) @ np.swapaxes(d(k), -1, -2) / math.sqrt(q.shape[-1])
        if mask is not None:
            s = s + d(mask)
        if bool_mask is not None:
            s = np.where(bool_mask, s, -np.inf)
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        return (e / e.sum(axis=-1, keepdims=True)) @ d(v)

    q, k, v = rnd(2, 3, 5, 8), rnd(2, 3, 7, 8), rnd(2, 3, 7, 6)
    # In ane mode the scores and probabilities are rounded to fp16 (relative error 2^-11 each;
    # scores up to ~3 in magnitude perturb each probability by up to ~3·2^-11 relatively), the
    # reference keeps float64: the output error is bounded by ~2e-3·Σ|p·v| ≤ 2e-3 here.
    sd = dict(atol=1e-5, ane_ulps=1, ane_atol=3e-3)
    case("sdpa_nomask", "sdpa", dict(q=q, k=k, v=v), sdpa(q, k, v), **sd)
    causal = np.tril(np.ones((5, 7), dtype=bool), 2)
    case("sdpa_bool_mask", "sdpa", dict(q=q, k=k, v=v, mask=causal),
         sdpa(q, k, v, bool_mask=causal), **sd)
    add = rnd(3, 1, 7, lo=-2, hi=0)
    case("sdpa_add_mask", "sdpa", dict(q=q, k=k, v=v, mask=add), sdpa(q, k, v, mask=add), **sd)
    kb, vb = rnd(1, 4, 8), rnd(1, 4, 3)
    case("sdpa_bcast_kv", "sdpa", dict(q=q, k=kb, v=vb), sdpa(q, kb, vb), **sd)


# ---------------------------------------------------------------- shape ops
def gen_shape_ops():
    x = rnd(2, 3, 4, 5)
    case("transpose", "transpose", dict(x=x), np.transpose(d(x), (2, 0, 3, 1)),
         dict(perm=[2, 0, -1, 1]), atol=0, ane_ulps=0)
    a, b, c = rnd(2, 1, 3), rnd(2, 4, 3), rnd(2, 2, 3)
    case("concat", "concat", dict(a=a, b=b, c=c), np.concatenate([d(a), d(b), d(c)], axis=1),
         dict(axis=-2, interleave=False), atol=0, ane_ulps=0)
    a2, b2 = rnd(2, 3, 2), rnd(2, 3, 2)
    il = np.stack([d(a2), d(b2)], axis=2).reshape(2, 6, 2)
    case("concat_interleave", "concat", dict(a=a2, b=b2), il, dict(axis=1, interleave=True),
         atol=0, ane_ulps=0)
    parts = np.split(d(x), [1, 4], axis=3)
    case("split", "split", dict(x=x), tuple(parts), dict(sizes=[1, 3, 1], axis=3), atol=0,
         ane_ulps=0)
    case("slice_basic", "slice_by_index", dict(x=x), d(x)[1:, ::2, -3:-1, 4:0:-2],
         dict(begin=[1, 0, -3, 4], end=[2, 3, -1, 0], stride=[1, 2, 1, -2],
              begin_mask=[False] * 4, end_mask=[False] * 4, squeeze_mask=[False] * 4),
         atol=0, ane_ulps=0)
    case("slice_masks", "slice_by_index", dict(x=x), d(x)[:, 1, ::-1, 2:],
         dict(begin=[7, 1, 0, 2], end=[0, 2, 0, 0], stride=[1, 1, -1, 1],
              begin_mask=[True, False, True, False], end_mask=[True, False, True, True],
              squeeze_mask=[False, True, False, False]), atol=0, ane_ulps=0)
    case("slice_by_size", "slice_by_size", dict(x=x), d(x)[1:2, 0:3, 1:3, -2:],
         dict(begin=[1, 0, 1, -2], size=[1, -1, 2, 2]), atol=0, ane_ulps=0)
    p = rnd(2, 3, 4)
    case("pad_constant", "pad", dict(x=p), np.pad(d(p), ((0, 0), (1, 2), (3, 0)), constant_values=0.5),
         dict(pads=[1, 2, 3, 0], mode="constant", value=0.5), atol=0, ane_ulps=0)
    case("pad_reflect", "pad", dict(x=p), np.pad(d(p), ((0, 0), (0, 0), (2, 3)), mode="reflect"),
         dict(pads=[2, 3], mode="reflect"), atol=0, ane_ulps=0)
    case("pad_replicate", "pad", dict(x=p), np.pad(d(p), ((1, 0), (2, 1), (0, 4)), mode="edge"),
         dict(pads=[1, 0, 2, 1, 0, 4], mode="replicate"), atol=0, ane_ulps=0)
    g = rnd(4, 5, 3)
    idx = np.array([[0, -1], [2, 4], [3, 3]], dtype=np.int32)
    case("gather", "gather", dict(x=g, indices=idx), np.take(d(g), idx, axis=1), dict(axis=1),
         atol=0, ane_ulps=0)
    ia = rng.integers(-4, 4, (4, 2, 3)).astype(np.int32)
    case("gather_along_axis", "gather_along_axis", dict(x=g, indices=ia),
         np.take_along_axis(d(g), np.where(ia < 0, ia + 5, ia), axis=1), dict(axis=1), atol=0,
         ane_ulps=0)
    case("reverse", "reverse", dict(x=x), d(x)[::-1, :, :, ::-1], dict(axes=[0, -1]), atol=0,
         ane_ulps=0)
    case("stack", "stack", dict(a=a2, b=b2), np.stack([d(a2), d(b2)], axis=-1), dict(axis=-1),
         atol=0, ane_ulps=0)
    t = rnd(2, 1, 3)
    case("tile", "tile", dict(x=t), np.tile(d(t), (2, 3, 1)), dict(reps=[2, 3, 1]), atol=0,
         ane_ulps=0)
    cs = rnd(3, 17, 2)
    case("cumsum", "cumsum", dict(x=cs), np.cumsum(d(cs), axis=1), dict(axis=1, exclusive=False,
                                                                        reverse=False), atol=1e-5)
    rev_ex = np.flip(np.cumsum(np.flip(d(cs), 1), axis=1), 1) - d(cs)
    case("cumsum_rev_excl", "cumsum", dict(x=cs), rev_ex, dict(axis=-2, exclusive=True,
                                                                 reverse=True), atol=1e-5)
    tk = f16r(rng.integers(-5, 6, (3, 9)))  # ties: lower index first
    order = np.argsort(-tk, axis=1, kind="stable")[:, :4]
    case("topk_desc", "topk", dict(x=tk), (np.take_along_axis(d(tk), order, 1), order.astype(np.int32)),
         dict(k=4, axis=-1, ascending=False), atol=0, ane_ulps=0, outputs=["values", "indices"])
    order = np.argsort(tk, axis=0, kind="stable")[:2]
    case("topk_asc", "topk", dict(x=tk), (np.take_along_axis(d(tk), order, 0), order.astype(np.int32)),
         dict(k=2, axis=0, ascending=True), atol=0, ane_ulps=0, outputs=["values", "indices"])
    bp = rnd(2, 5, 6)
    m, n = np.arange(5)[:, None], np.arange(6)[None, :]
    for lo, up in [(1, 2), (-1, 0), (0, -1)]:
        keep = ((lo < 0) | (m - n <= lo)) & ((up < 0) | (n - m <= up))
        case(f"band_part_{lo}_{up}".replace("-", "m"), "band_part", dict(x=bp),
             np.where(keep, d(bp), 0.0), dict(lower=lo, upper=up), atol=0, ane_ulps=0)

    u = rnd(1, 2, 3, 4)
    case("upsample_nearest", "upsample_nearest", dict(x=u),
         d(u).repeat(2, axis=2).repeat(3, axis=3), dict(scale_h=2.0, scale_w=3.0), atol=0,
         ane_ulps=0)

    def bil(v, sh, sw, mode):
        h, w = v.shape[-2:]
        oh, ow = int(math.floor(h * sh)), int(math.floor(w * sw))

        def coords(inp, out):
            i = np.arange(out, dtype=np.float64)
            if mode == "align_corners":
                s = i * (inp - 1) / (out - 1) if out > 1 else np.zeros(out)
            elif mode == "half_pixel":
                s = np.maximum((i + 0.5) * inp / out - 0.5, 0)
            else:
                s = i * inp / out
            s = np.minimum(s, inp - 1)
            lo = np.floor(s).astype(int)
            return lo, np.minimum(lo + 1, inp - 1), s - lo

        y0, y1, fy = coords(h, oh)
        x0, x1, fx = coords(w, ow)
        vv = d(v)
        top = vv[..., y0, :][..., x0] * (1 - fx) + vv[..., y0, :][..., x1] * fx
        bot = vv[..., y1, :][..., x0] * (1 - fx) + vv[..., y1, :][..., x1] * fx
        return top * (1 - fy)[:, None] + bot * fy[:, None]

    for mode in ["align_corners", "half_pixel", "asymmetric"]:
        case(f"upsample_bilinear_{mode}", "upsample_bilinear", dict(x=u), bil(u, 2.5, 1.5, mode),
             dict(scale_h=2.5, scale_w=1.5, mode=mode), atol=1e-6)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    gen_numerics()
    gen_matmul()
    gen_conv()
    gen_pool()
    gen_elementwise()
    gen_norm_reduce()
    gen_attention()
    gen_shape_ops()
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(dict(cases=CASES), f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT))
    print(f"{len(CASES)} cases, {len(os.listdir(OUT))} files, {total / 1024:.0f} KiB in {OUT}")


if __name__ == "__main__":
    main()
