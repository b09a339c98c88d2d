#!/usr/bin/env python3
"""numpy reference fixtures for the second batch of anekit-cpu kernels (index_ops, misc_ops,
resize, quant), in the same format as gen_kernel_fixtures.py:

  <case>.<input>.npy       inputs (f4 fp16-representable, i4 indices, u1 packed bytes)
  <case>.<out>.exact.npy   float64 reference cast to f32 (or i4 for indices)
  <case>.<out>.ane.npy     float64 reference rounded to fp16
  cases.json               kernel, params, inputs, tolerances per case

The references are written directly from the op definitions (coremltools' docstrings, TF/ONNX
semantics) with plain loops or numpy primitives, not by mirroring the Rust code; where the
coremltools docs give worked examples (resize_bilinear grid points, lut_to_dense vector
palettization) the reference is asserted against them first.

Usage: python3 scripts/gen_kernel_fixtures_extra.py  (writes crates/anekit-cpu/tests/fixtures_extra/)
Deterministic (fixed seed); needs only numpy.
"""

import itertools
import json
import math
import os
import shutil

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "anekit-cpu", "tests",
                   "fixtures_extra")
rng = np.random.default_rng(20261123)
CASES = []


def f16r(a):
    return np.asarray(a, dtype=np.float64).astype(np.float16).astype(np.float32)


def rnd(*shape, lo=-1.0, hi=1.0):
    return f16r(rng.uniform(lo, hi, size=shape))


def d(a):
    return np.asarray(a, dtype=np.float64)


def case(name, kernel, inputs, expected, params=None, atol=0.0, rtol=0.0, ane_ulps=0,
         ane_atol=None):
    names = []
    for k, v in inputs.items():
        v = np.array(v, order="C")
        if v.dtype == np.float64:
            v = v.astype(np.float32)
        if v.dtype == np.int64:
            v = v.astype(np.int32)
        np.save(os.path.join(OUT, f"{name}.{k}.npy"), v)
        names.append(k)
    e = np.array(expected, order="C")
    if e.dtype.kind in "iu":
        np.save(os.path.join(OUT, f"{name}.out.exact.npy"), e.astype(np.int32))
    else:
        e = e.astype(np.float64)
        with np.errstate(over="ignore"):
            np.save(os.path.join(OUT, f"{name}.out.exact.npy"), e.astype(np.float32))
            np.save(os.path.join(OUT, f"{name}.out.ane.npy"), e.astype(np.float16))
    CASES.append(dict(name=name, kernel=kernel, params=params or {}, inputs=names,
                      outputs=["out"], atol=atol, rtol=rtol, ane_ulps=ane_ulps,
                      ane_atol=atol if ane_atol is None else ane_atol))


# ---------------------------------------------------------------- index ops
def gen_index():
    def gather_ref(x, idx, axis, bd):
        axis = axis % x.ndim
        bshape = x.shape[:bd]
        out = []
        for b in itertools.product(*[range(s) for s in bshape]):
            out.append(np.take(d(x)[b], idx[b], axis=axis - bd))
        out = np.array(out)
        return out.reshape(x.shape[:axis] + idx.shape[bd:] + x.shape[axis + 1:])

    x = rnd(2, 3, 5, 4)
    idx = rng.integers(-5, 5, size=(2, 3, 7)).astype(np.int32)
    case("gather_bd2_axis2", "gather_batched", dict(x=x, indices=idx),
         gather_ref(x, idx, 2, 2), dict(axis=2, batch_dims=2))
    idx = rng.integers(-3, 3, size=(2, 4, 1)).astype(np.int32)
    case("gather_bd1_axis_neg3", "gather_batched", dict(x=x, indices=idx),
         gather_ref(x, idx, -3, 1), dict(axis=-3, batch_dims=1))
    idx = rng.integers(0, 4, size=(2, 3)).astype(np.int32)
    case("gather_bd1_last", "gather_batched", dict(x=x, indices=idx),
         gather_ref(x, idx, 3, 1), dict(axis=-1, batch_dims=1))
    idx = rng.integers(0, 3, size=(5,)).astype(np.int32)
    case("gather_bd0", "gather_batched", dict(x=x, indices=idx),
         np.take(d(x), idx, axis=1), dict(axis=1, batch_dims=0))

    def gather_nd_ref(x, idx, bd):
        k = idx.shape[-1]
        out_shape = idx.shape[:-1] + x.shape[bd + k:]
        out = np.zeros(out_shape)
        for pos in itertools.product(*[range(s) for s in idx.shape[:-1]]):
            b = pos[:bd]
            t = tuple(int(v) for v in idx[pos])
            out[pos] = d(x)[b + t]
        return out

    x = rnd(3, 4, 5)
    idx = np.stack([rng.integers(-3, 3, size=(2, 3)), rng.integers(0, 4, size=(2, 3))],
                   axis=-1).astype(np.int32)
    case("gather_nd_k2", "gather_nd", dict(x=x, indices=idx), gather_nd_ref(x, idx, 0),
         dict(batch_dims=0))
    idx = rng.integers(0, 3, size=(7, 3)).astype(np.int32)
    idx[:, 1] = rng.integers(0, 4, size=7)
    idx[:, 2] = rng.integers(-5, 5, size=7)
    case("gather_nd_full", "gather_nd", dict(x=x, indices=idx), gather_nd_ref(x, idx, 0),
         dict(batch_dims=0))
    idx = rng.integers(0, 4, size=(3, 2, 1)).astype(np.int32)
    case("gather_nd_bd1", "gather_nd", dict(x=x, indices=idx), gather_nd_ref(x, idx, 1),
         dict(batch_dims=1))

    ops = {
        "update": lambda o, u: u, "add": lambda o, u: o + u, "sub": lambda o, u: o - u,
        "mul": lambda o, u: o * u, "div": lambda o, u: o / u,
        "max": lambda o, u: max(o, u), "min": lambda o, u: min(o, u),
    }

    def scatter_ref(data, idx, upd, axis, mode):
        out = d(data).copy()
        axis = axis % data.ndim
        f = ops[mode]
        for pos in itertools.product(*[range(s) for s in upd.shape]):
            ipos = pos[axis:axis + idx.ndim]
            i = int(idx[ipos]) % data.shape[axis]
            dpos = pos[:axis] + (i,) + pos[axis + idx.ndim:]
            # update in f32, as the kernel does, so mul/div chains round identically
            out[dpos] = np.float32(f(np.float32(out[dpos]), np.float32(upd[pos])))
        return out

    for mode in ops:
        data = rnd(3, 5, 2)
        idx = np.array([4, -1, 0, 2], dtype=np.int32)  # 4 and -1 hit the same row
        upd = rnd(3, 4, 2, lo=0.5, hi=2.0)
        case(f"scatter_{mode}", "scatter", dict(data=data, indices=idx, updates=upd),
             scatter_ref(data, idx, upd, -2, mode), dict(axis=-2, mode=mode),
             atol=0, rtol=1e-7, ane_ulps=1)
    data = rnd(4, 3)
    idx = rng.integers(0, 4, size=(2, 2)).astype(np.int32)
    upd = rnd(2, 2, 3)
    case("scatter_2d_indices", "scatter", dict(data=data, indices=idx, updates=upd),
         scatter_ref(data, idx, upd, 0, "add"), dict(axis=0, mode="add"), rtol=1e-7, ane_ulps=1)

    def scatter_axis_ref(data, idx, upd, axis, mode):
        out = d(data).copy()
        axis = axis % data.ndim
        f = ops[mode]
        for pos in itertools.product(*[range(s) for s in idx.shape]):
            dpos = list(pos)
            dpos[axis] = int(idx[pos]) % data.shape[axis]
            out[tuple(dpos)] = np.float32(f(np.float32(out[tuple(dpos)]), np.float32(upd[pos])))
        return out

    for mode, axis in [("update", 1), ("add", -1), ("max", 0), ("div", 1)]:
        data = rnd(3, 4, 5, lo=0.5, hi=2.0)
        ishape = [3, 4, 5]
        ishape[axis % 3] = 2
        idx = rng.integers(-data.shape[axis], data.shape[axis], size=ishape).astype(np.int32)
        upd = rnd(*ishape, lo=0.5, hi=2.0)
        case(f"scatter_along_axis_{mode}", "scatter_along_axis",
             dict(data=data, indices=idx, updates=upd),
             scatter_axis_ref(data, idx, upd, axis, mode), dict(axis=axis, mode=mode),
             rtol=1e-7, ane_ulps=1)

    def scatter_nd_ref(data, idx, upd, mode):
        out = d(data).copy()
        k = idx.shape[-1]
        f = np.vectorize(lambda o, u: np.float32(ops[mode](np.float32(o), np.float32(u))))
        for pos in itertools.product(*[range(s) for s in idx.shape[:-1]]):
            t = tuple(int(v) % data.shape[j] for j, v in enumerate(idx[pos]))
            out[t] = f(out[t], upd[pos])
        return out

    for mode in ["update", "add", "sub", "mul", "min"]:
        data = rnd(4, 3, 5)
        idx = np.array([[[1, 2], [3, -1]], [[1, 2], [0, 0]]], dtype=np.int32)  # repeats [1,2]
        upd = rnd(2, 2, 5)
        case(f"scatter_nd_{mode}", "scatter_nd", dict(data=data, indices=idx, updates=upd),
             scatter_nd_ref(data, idx, upd, mode), dict(mode=mode), rtol=1e-7, ane_ulps=1)

    def one_hot_ref(idx, depth, axis, on, off):
        r = idx.ndim + 1
        axis = axis % r
        out = np.full(idx.shape + (depth,), off, dtype=np.float64)
        for pos in itertools.product(*[range(s) for s in idx.shape]):
            v = int(idx[pos])
            if 0 <= v < depth:
                out[pos + (v,)] = on
        return np.moveaxis(out, -1, axis)

    idx = np.array([[0, 3, -1], [5, 2, 4]], dtype=np.int32)
    case("one_hot_last", "one_hot", dict(indices=idx), one_hot_ref(idx, 5, -1, 1.0, 0.0),
         dict(depth=5, axis=-1, on_value=1.0, off_value=0.0))
    case("one_hot_axis0", "one_hot", dict(indices=idx), one_hot_ref(idx, 4, 0, 2.5, -1.0),
         dict(depth=4, axis=0, on_value=2.5, off_value=-1.0))
    case("one_hot_mid", "one_hot", dict(indices=idx), one_hot_ref(idx, 6, -2, 1.0, 0.0),
         dict(depth=6, axis=-2, on_value=1.0, off_value=0.0))

    x = f16r(rng.integers(-3, 4, size=(3, 7, 2)))  # many ties: checks stability
    case("argsort_desc_ties", "argsort", dict(x=x),
         np.argsort(-d(x), axis=1, kind="stable"), dict(axis=1, ascending=False))
    x = rnd(5, 17)
    case("argsort_asc_last", "argsort", dict(x=x), np.argsort(d(x), axis=-1, kind="stable"),
         dict(axis=-1, ascending=True))
    x = rnd(4, 3)
    case("argsort_desc_axis0", "argsort", dict(x=x), np.argsort(-d(x), axis=-2, kind="stable"),
         dict(axis=-2, ascending=False))

    x = rnd(3, 1, 5)
    x[x > 0.3] = 0.0
    case("non_zero_3d", "non_zero", dict(x=x), np.argwhere(x != 0))
    x = np.zeros((4,), dtype=np.float32)
    case("non_zero_none", "non_zero", dict(x=x), np.argwhere(x != 0).reshape(0, 1))


# ---------------------------------------------------------------- misc ops
def gen_misc():
    def es(name, eq, *shapes):
        ops = [rnd(*s) for s in shapes]
        k = 1
        letters = eq.split("->")[0].replace(",", "")
        out = eq.split("->")[1] if "->" in eq else ""
        dims = {}
        for sub, s in zip(eq.split("->")[0].split(","), shapes):
            for c, n in zip(sub, s):
                dims[c] = n
        for c in set(letters):
            if c not in out:
                k *= dims[c]
        ins = {f"v{i}": o for i, o in enumerate(ops)}
        case(name, "einsum", ins, np.einsum(eq, *[d(o) for o in ops]), dict(equation=eq),
             atol=2e-6 * k, rtol=1e-5, ane_ulps=1)

    es("einsum_nchw_nwhu", "nchw,nwhu->nchu", (2, 3, 5, 4), (2, 4, 5, 6))
    es("einsum_chw_whu", "chw,whu->chu", (3, 5, 4), (4, 5, 6))
    es("einsum_attn_scores", "bhqd,bhkd->bhqk", (1, 3, 5, 8), (1, 3, 7, 8))
    es("einsum_attn_values", "bhqk,bhkd->bhqd", (2, 2, 5, 7), (2, 2, 7, 4))
    es("einsum_matmul", "ij,jk->ik", (17, 31), (31, 5))
    es("einsum_outer", "i,j->ij", (3,), (5,))
    es("einsum_dot", "i,i->", (31,), (31,))
    es("einsum_transpose", "abc->cab", (2, 3, 4))
    es("einsum_sum", "abc->b", (2, 3, 4))
    es("einsum_out_perm", "bij,bjk->kbi", (2, 3, 4), (2, 4, 5))
    es("einsum_sum_one_side", "ijx,jk->ik", (3, 4, 2), (4, 5))
    es("einsum_implicit", "ij,jk", (3, 4), (4, 5))

    for name, (a, b, s) in dict(range_int=(0, 10, 3), range_neg=(5, -4, -2),
                                range_frac=(0.5, 2.0, 0.25), range_empty=(3, 1, 1)).items():
        case(name, "range_1d", {}, np.arange(a, b, s, dtype=np.float64),
             dict(start=a, end=b, step=s))
    case("fill_f", "fill", {}, np.full((2, 3, 1), -1.5), dict(shape=[2, 3, 1], value=-1.5))

    def revseq_ref(x, lengths, sa, ba):
        out = d(x).copy()
        xs = np.moveaxis(d(x), (ba, sa), (0, 1))
        os_ = np.moveaxis(out, (ba, sa), (0, 1))
        for b, l in enumerate(lengths):
            os_[b, :l] = xs[b, :l][::-1]
        return out

    x = rnd(4, 6, 3)
    lengths = np.array([6, 0, 3, 1], dtype=np.int32)
    case("reverse_sequence_b0_s1", "reverse_sequence", dict(x=x, lengths=lengths),
         revseq_ref(x, lengths, 1, 0), dict(seq_axis=1, batch_axis=0))
    x = rnd(5, 2, 3)
    lengths = np.array([2, 5], dtype=np.int32)
    case("reverse_sequence_neg_axes", "reverse_sequence", dict(x=x, lengths=lengths),
         revseq_ref(x, lengths, 0, 1), dict(seq_axis=-3, batch_axis=-2))

    def sw_ref(x, axis, size, stride):
        axis = axis % x.ndim
        n = (x.shape[axis] - size) // stride + 1
        wins = [np.take(d(x), range(w * stride, w * stride + size), axis=axis) for w in range(n)]
        return np.stack(wins, axis=axis)

    x = rnd(2, 9, 3)
    case("sliding_windows_s2", "sliding_windows", dict(x=x), sw_ref(x, 1, 4, 2),
         dict(axis=1, size=4, stride=2))
    x = rnd(3, 7)
    case("sliding_windows_last", "sliding_windows", dict(x=x), sw_ref(x, -1, 7, 1),
         dict(axis=-1, size=7, stride=1))
    x = rnd(2, 3, 4, 5)
    for a in [0, 2, -1, 4]:
        aa = a + x.ndim if a < 0 else a
        rows = int(np.prod(x.shape[:aa]))
        case(f"flatten2d_{a}".replace("-", "m"), "flatten2d", dict(x=x),
             d(x).reshape(rows, -1), dict(axis=a))


# ---------------------------------------------------------------- resize
def grid(mode, i, n_in, n_out):
    if mode in ("STRICT_ALIGN_CORNERS", "ALIGN_CORNERS"):
        if n_out == 1:
            g = (n_in - 1) / 2 if mode == "ALIGN_CORNERS" else 0.0
        else:
            g = i * (n_in - 1) / (n_out - 1)
    elif mode == "DEFAULT":
        g = i * (n_in - n_in / n_out) / (n_out - 1) if n_out > 1 else 0.0
    elif mode == "OFFSET_CORNERS":
        delta = max(1, n_in - 1) / n_out
        g = 0.5 * delta + i * delta
    else:  # UNALIGN_CORNERS
        s = n_in / n_out
        g = i * s + 0.5 * s - 0.5
    return min(n_in - 1, max(0.0, g))


def check_doc_grids():
    # coremltools' resize_bilinear docstring examples (Xin = 2).
    doc = {
        ("UNALIGN_CORNERS", 5): [0., 0.1, 0.5, 0.9, 1.],
        ("STRICT_ALIGN_CORNERS", 5): [0., 0.25, 0.5, 0.75, 1.],
        ("DEFAULT", 5): [0., 0.4, 0.8, 1., 1.],
        ("OFFSET_CORNERS", 5): [0.1, 0.3, 0.5, 0.7, 0.9],
        ("UNALIGN_CORNERS", 6): [0., 0., 0.33, 0.67, 1., 1.],
        ("ALIGN_CORNERS", 6): [0., 0.2, 0.4, 0.6, 0.8, 1.],
        ("DEFAULT", 6): [0., 0.33, 0.67, 1., 1., 1.],
        ("OFFSET_CORNERS", 6): [0.08, 0.25, 0.42, 0.58, 0.75, 0.92],
    }
    for (mode, n), want in doc.items():
        got = [round(grid(mode, i, 2, n), 2) for i in range(n)]
        assert np.allclose(got, want, atol=0.006), (mode, n, got, want)


def bilinear_ref(x, oh, ow, mode):
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + (oh, ow))
    xd = d(x)
    for i in range(oh):
        gy = grid(mode, i, h, oh)
        y0 = int(math.floor(gy)); y1 = min(y0 + 1, h - 1); fy = gy - y0
        for j in range(ow):
            gx = grid(mode, j, w, ow)
            x0 = int(math.floor(gx)); x1 = min(x0 + 1, w - 1); fx = gx - x0
            out[..., i, j] = ((1 - fy) * ((1 - fx) * xd[..., y0, x0] + fx * xd[..., y0, x1])
                              + fy * ((1 - fx) * xd[..., y1, x0] + fx * xd[..., y1, x1]))
    return out


def gen_resize():
    check_doc_grids()
    x = rnd(2, 3, 5, 4)
    for mode in ["STRICT_ALIGN_CORNERS", "ALIGN_CORNERS", "DEFAULT", "OFFSET_CORNERS",
                 "UNALIGN_CORNERS"]:
        for oh, ow in [(9, 7), (3, 2), (1, 1)]:
            case(f"resize_bilinear_{mode.lower()}_{oh}x{ow}", "resize_bilinear", dict(x=x),
                 bilinear_ref(x, oh, ow, mode), dict(h=oh, w=ow, mode=mode),
                 atol=1e-6, rtol=1e-6, ane_ulps=1)
    x = rnd(1, 2, 3, 1, 4)
    case("resize_bilinear_rank5", "resize_bilinear", dict(x=x),
         bilinear_ref(x, 5, 6, "UNALIGN_CORNERS"), dict(h=5, w=6, mode="UNALIGN_CORNERS"),
         atol=1e-6, rtol=1e-6, ane_ulps=1)

    def nn_ref(x, oh, ow):
        h, w = x.shape[-2:]
        ri = [min(i * h // oh, h - 1) for i in range(oh)]
        ci = [min(j * w // ow, w - 1) for j in range(ow)]
        return d(x)[..., ri, :][..., ci]

    x = rnd(2, 3, 5, 4)
    for oh, ow in [(10, 8), (7, 3), (2, 9), (1, 1)]:
        case(f"resize_nearest_{oh}x{ow}", "resize_nearest_neighbor", dict(x=x),
             nn_ref(x, oh, ow), dict(h=oh, w=ow))

    def d2s_ref(x, b):
        n, c, h, w = x.shape
        co = c // (b * b)
        out = np.zeros((n, co, h * b, w * b))
        for ch, y, xx, i, j in itertools.product(range(co), range(h), range(w), range(b),
                                                  range(b)):
            out[:, ch, y * b + i, xx * b + j] = x[:, (i * b + j) * co + ch, y, xx]
        return out

    def ps_ref(x, r):
        n, c, h, w = x.shape
        co = c // (r * r)
        out = np.zeros((n, co, h * r, w * r))
        for ch, y, xx, i, j in itertools.product(range(co), range(h), range(w), range(r),
                                                  range(r)):
            out[:, ch, y * r + i, xx * r + j] = x[:, ch * r * r + i * r + j, y, xx]
        return out

    def inverse(fwd, y, b):
        # y = fwd(x) is a permutation: recover x by pushing position labels through fwd.
        n, c, h, w = y.shape
        xs = (n, c * b * b, h // b, w // b)
        labels = np.arange(np.prod(xs), dtype=np.float64).reshape(xs)
        moved = fwd(labels, b).astype(np.int64)  # moved[p] = label of the x element at p
        x = np.zeros(np.prod(xs))
        x[moved.ravel()] = d(y).ravel()
        return x.reshape(xs)

    x = rnd(2, 12, 3, 5)
    case("depth_to_space_b2", "depth_to_space", dict(x=x), d2s_ref(x, 2), dict(block=2))
    x = rnd(1, 18, 2, 3)
    case("depth_to_space_b3", "depth_to_space", dict(x=x), d2s_ref(x, 3), dict(block=3))
    x = rnd(2, 3, 4, 6)
    case("space_to_depth_b2", "space_to_depth", dict(x=x), inverse(d2s_ref, x, 2),
         dict(block=2))
    x = rnd(2, 12, 3, 5)
    case("pixel_shuffle_r2", "pixel_shuffle", dict(x=x), ps_ref(x, 2), dict(block=2))
    x = rnd(1, 3, 6, 9)
    case("pixel_unshuffle_r3", "pixel_unshuffle", dict(x=x), inverse(ps_ref, x, 3),
         dict(block=3))
    # ONNX DepthToSpace DCR worked example (blocksize 2, input 1x8x2x3 = arange).
    x = np.arange(48, dtype=np.float32).reshape(1, 8, 2, 3)
    onnx_dcr = np.array([[[[0, 12, 1, 13, 2, 14], [24, 36, 25, 37, 26, 38],
                           [3, 15, 4, 16, 5, 17], [27, 39, 28, 40, 29, 41]],
                          [[6, 18, 7, 19, 8, 20], [30, 42, 31, 43, 32, 44],
                           [9, 21, 10, 22, 11, 23], [33, 45, 34, 46, 35, 47]]]], dtype=np.float64)
    assert np.array_equal(d2s_ref(x, 2), onnx_dcr)
    case("depth_to_space_onnx_example", "depth_to_space", dict(x=x), onnx_dcr, dict(block=2))


# ---------------------------------------------------------------- quantization
def gen_quant():
    def promote(p, shape, axis):
        if p.ndim == 0:
            return p
        axis = axis % len(shape)
        s = [1] * len(shape)
        s[axis] = shape[axis]
        return p.reshape(s)

    def q_ref(x, scale, zp, axis, dt):
        lo, hi = (-128, 127) if dt == "int8" else (0, 255)
        sc = promote(scale, x.shape, axis).astype(np.float32)
        z = 0.0 if zp is None else promote(zp, x.shape, axis).astype(np.float32)
        # x / scale in f32 (one IEEE rounding, as the kernel); np.round is half-to-even
        return np.clip(np.round(x.astype(np.float32) / sc) + z, lo, hi).astype(np.float64)

    x = rnd(3, 4, lo=-3, hi=3)
    x[0, :] = [2.5 * 0.25, -2.5 * 0.25, 3.5 * 0.25, 0.5 * 0.25]  # exact ties at scale 0.25
    scale = np.array(0.25, dtype=np.float32)
    case("quantize_int8_scalar_ties", "quantize", dict(x=x, scale=scale),
         q_ref(x, scale, None, None, "int8"), dict(dtype="int8"))
    scale = f16r([0.01, 0.02, 0.05, 0.1])
    zp = np.array([128, 100, 0, 255], dtype=np.float32)
    case("quantize_uint8_axis_neg1", "quantize", dict(x=x, scale=scale, zero_point=zp),
         q_ref(x, scale, zp, -1, "uint8"), dict(dtype="uint8", axis=-1))
    scale = f16r([0.02, 0.5, 0.01])
    zp = np.array([-3, 0, 7], dtype=np.float32)
    case("quantize_int8_axis0_saturates", "quantize", dict(x=x, scale=scale, zero_point=zp),
         q_ref(x, scale, zp, 0, "int8"), dict(dtype="int8", axis=0))

    def dq_ref(q, scale, zp, axis):
        sc = promote(d(scale), q.shape, axis)
        z = 0.0 if zp is None else promote(d(zp), q.shape, axis)
        return sc * (d(q) - z)

    q = rng.integers(-128, 128, size=(2, 5, 3)).astype(np.float32)
    scale = f16r(rng.uniform(0.001, 0.1, size=5))
    zp = rng.integers(-10, 10, size=5).astype(np.float32)
    case("dequantize_axis1", "dequantize", dict(x=q, scale=scale, zero_point=zp),
         dq_ref(q, scale, zp, 1), dict(axis=1), rtol=1e-7, ane_ulps=0)
    scale = np.array(0.0625, dtype=np.float32)
    case("dequantize_scalar_nozp", "dequantize", dict(x=q, scale=scale),
         dq_ref(q, scale, None, None), {}, rtol=1e-7)
    q = rng.integers(0, 256, size=(4, 6)).astype(np.float32)
    scale = f16r(rng.uniform(0.001, 0.1, size=4))
    zp = rng.integers(100, 150, size=4).astype(np.float32)
    case("affine_dequantize_axis_neg2", "dequantize", dict(x=q, scale=scale, zero_point=zp),
         dq_ref(q, scale, zp, -2), dict(axis=-2), rtol=1e-7)

    def bss_ref(data, scale, offset):
        sc, off = d(scale), None if offset is None else d(offset)
        for ax, (n, m) in enumerate(zip(data.shape, scale.shape)):
            sc = np.repeat(sc, n // m, axis=ax)
            if off is not None:
                off = np.repeat(off, n // m, axis=ax)
        return sc * (d(data) - (0 if off is None else off))

    data = rng.integers(-8, 8, size=(4, 6, 3)).astype(np.float32)
    scale = f16r(rng.uniform(0.01, 0.1, size=(2, 3, 1)))
    offset = rng.integers(-2, 2, size=(2, 3, 1)).astype(np.float32)
    case("blockwise_shift_scale_offset", "blockwise_shift_scale",
         dict(data=data, scale=scale, offset=offset), bss_ref(data, scale, offset), {},
         rtol=1e-7)
    scale = f16r(rng.uniform(0.01, 0.1, size=(4, 1, 3)))
    case("blockwise_shift_scale_nooffset", "blockwise_shift_scale",
         dict(data=data, scale=scale), bss_ref(data, scale, None), {}, rtol=1e-7)

    for nbits, shape in [(1, (3, 5)), (2, (7,)), (4, (2, 3, 3)), (6, (5, 3)), (8, (4, 2))]:
        lut = rnd(2 ** nbits)
        idx = rng.integers(0, 2 ** nbits, size=shape)
        bits = ((idx.reshape(-1, 1) >> np.arange(nbits)) & 1).astype(np.uint8).ravel()
        packed = np.packbits(bits, bitorder="little")
        case(f"lut_ios16_{nbits}bit", "lut_to_dense_ios16", dict(indices=packed, lut=lut),
             d(lut)[idx], dict(shape=list(shape)))

    def lut18_ref(idx, lut, vaxis):
        k = idx.ndim
        npal, vs = lut.shape[-2:]
        block = [idx.shape[i] // lut.shape[i] for i in range(k)]
        oshape = list(idx.shape)
        if vs > 1:
            vaxis %= k
            oshape[vaxis] *= vs
        out = np.zeros(oshape)
        for pos in itertools.product(*[range(s) for s in idx.shape]):
            t = tuple(p // b for p, b in zip(pos, block))
            vec = d(lut)[t + (int(idx[pos]),)]
            for e in range(vs):
                o = list(pos)
                if vs > 1:
                    o[vaxis] = pos[vaxis] * vs + e
                out[tuple(o)] = vec[e]
        return out

    # coremltools docstring, case 1 (2 groups of 2-bit scalar palettes over axis 0).
    idx = np.array([2, 3, 3, 0, 1, 0, 3, 0, 2, 1, 0, 3]).reshape(6, 2)
    lut = np.array([1.0, 5.0, 9.0, 13.0, 2.0, 10.0, 18.0, 26.0], dtype=np.float32).reshape(
        2, 1, 4, 1)
    want = np.array([[9, 13], [13, 1], [5, 1], [26, 2], [18, 10], [2, 26]], dtype=np.float64)
    assert np.array_equal(lut18_ref(idx, lut, None), want)
    case("lut_ios18_doc_case1", "lut_to_dense", dict(indices=idx.astype(np.float32), lut=lut),
         want, {})
    # docstring case 2 (1-bit vector palettes, VECTOR_SIZE 3) on both vector axes.
    idx = np.array([[[0, 0], [1, 0]], [[1, 1], [0, 0]]])
    lut = rnd(1, 1, 1, 2, 3)
    for va in [1, -1]:
        case(f"lut_ios18_vector_axis{va}".replace("-", "m"), "lut_to_dense",
             dict(indices=idx.astype(np.float32), lut=lut), lut18_ref(idx, lut, va),
             dict(vector_axis=va))
    idx = rng.integers(0, 16, size=(4, 6, 3))
    lut = rnd(2, 3, 1, 16, 2)
    case("lut_ios18_grouped_vector", "lut_to_dense",
         dict(indices=idx.astype(np.float32), lut=lut), lut18_ref(idx, lut, 0),
         dict(vector_axis=0))

    shape = (3, 7)
    mask = rng.random(shape) < 0.4
    nz = rnd(int(mask.sum()))
    dense = np.zeros(shape)
    dense[mask] = nz
    case("sparse_ios16", "sparse_to_dense_ios16",
         dict(nonzero_data=nz, mask=np.packbits(mask.ravel(), bitorder="little")), dense,
         dict(shape=list(shape)))
    case("sparse_ios18", "sparse_to_dense", dict(nonzero_data=nz, mask=mask.astype(np.float32)),
         dense, {})


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    gen_index()
    gen_misc()
    gen_resize()
    gen_quant()
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(dict(cases=CASES), f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT))
    print(f"{len(CASES)} cases, {len(os.listdir(OUT))} files, {total / 1024:.0f} KiB in {OUT}")


if __name__ == "__main__":
    main()
