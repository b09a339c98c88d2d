#!/usr/bin/env python3
"""Small hand-made Espresso nets, one per lowered layer type, with numpy reference results.

Writes crates/anekit-espresso/tests/fixtures/lower/<case>/ with model.espresso.net (JSON),
model.espresso.weights, model.espresso.shape, input_<i>.npy and expected.npy, read by
crates/anekit-espresso/tests/lower.rs (`small_nets_match_numpy`). The reference below is plain
numpy written from the layer semantics documented in docs/espresso.md (it does not use
anekit), so the test checks the lowering and the executor against an independent computation.

Usage: python3 scripts/espresso_lower_fixtures.py   (needs numpy; deterministic, seed 7)
"""
import json
import os
import shutil
import struct

import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..", "crates", "anekit-espresso", "tests",
                    "fixtures", "lower")
rng = np.random.default_rng(7)


def rand(*shape):
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


class Net:
    def __init__(self):
        self.layers = []
        self.blobs = {}  # id -> bytes
        self.shapes = {}  # blob name -> (n, k, h, w, rank)

    def weight(self, array, pad_to=None):
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        if pad_to is not None:
            data = data + b"\0" * (pad_to - len(data))
        bid = 2 * len(self.blobs) + 1  # odd ids, as the compiler writes
        self.blobs[bid] = data
        return bid

    def shape(self, name, arr, rank=4):
        n, k, h, w = arr.shape
        self.shapes[name] = (n, k, h, w, rank)

    def layer(self, **kw):
        kw.setdefault("weights", {})
        self.layers.append(kw)


def write(case, net, inputs, expected):
    d = os.path.join(ROOT, case)
    os.makedirs(d, exist_ok=True)
    doc = {"storage": "model.espresso.weights", "format_version": 200, "layers": net.layers,
           "properties": {}, "analyses": {}}
    with open(os.path.join(d, "model.espresso.net"), "w") as f:
        json.dump(doc, f, indent=2)
    ids = sorted(net.blobs)
    table = struct.pack("<Q", len(ids) + 1) + struct.pack("<QQ", 0, 8)
    payload = b"\0" * 8
    for i in ids:
        table += struct.pack("<QQ", i, len(net.blobs[i]))
        payload += net.blobs[i]
    with open(os.path.join(d, "model.espresso.weights"), "wb") as f:
        f.write(table + payload)
    shapes = {name: {"k": k, "w": w, "n": n, "_rank": r, "h": h}
              for name, (n, k, h, w, r) in net.shapes.items()}
    with open(os.path.join(d, "model.espresso.shape"), "w") as f:
        json.dump({"layer_shapes": shapes}, f, indent=2)
    for i, x in enumerate(inputs):
        np.save(os.path.join(d, f"input_{i}.npy"), x.astype(np.float32))
    np.save(os.path.join(d, "expected.npy"), expected.astype(np.float32))


# ---- numpy reference ops -------------------------------------------------------------

def conv2d(x, w, b, stride, pads, groups):
    """x [N,C,H,W], w [O, C/g, kh, kw], pads (t, b, l, r)."""
    t, bo, le, r = pads
    x = np.pad(x, ((0, 0), (0, 0), (t, bo), (le, r)))
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    sy, sx = stride
    oh, ow = (h - kh) // sy + 1, (wd - kw) // sx + 1
    out = np.zeros((n, o, oh, ow), np.float64)
    og = o // groups
    for oc in range(o):
        g = oc // og
        xs = x[:, g * cg:(g + 1) * cg]
        for i in range(oh):
            for j in range(ow):
                patch = xs[:, :, i * sy:i * sy + kh, j * sx:j * sx + kw]
                out[:, oc, i, j] = np.sum(patch * w[oc], axis=(1, 2, 3))
        if b is not None:
            out[:, oc] += b[oc]
    return out


def pool2d(x, k, stride, pads, kind, exclude_pad):
    t, bo, le, r = pads
    n, c, h, w = x.shape
    kh, kw = k
    sy, sx = stride
    ph, pw = h + t + bo, w + le + r
    oh, ow = (ph - kh) // sy + 1, (pw - kw) // sx + 1
    out = np.zeros((n, c, oh, ow), np.float64)
    for i in range(oh):
        for j in range(ow):
            y0, x0 = i * sy - t, j * sx - le
            ys, xs = max(y0, 0), max(x0, 0)
            ye, xe = min(y0 + kh, h), min(x0 + kw, w)
            win = x[:, :, ys:ye, xs:xe]
            if kind == "max":
                out[:, :, i, j] = win.max(axis=(2, 3))
            else:
                count = win.shape[2] * win.shape[3] if exclude_pad else kh * kw
                out[:, :, i, j] = win.sum(axis=(2, 3)) / count
    return out


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def bottom_top(layer, name, bottom, top, **kw):
    return dict(name=name, type=layer, bottom=bottom, top=top, **kw)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)

    # conv: same padding, bias, fused relu.
    net = Net()
    x = rand(1, 2, 5, 5)
    w = rand(3, 2, 3, 3)
    b = rand(3)
    net.shape("x", x)
    net.layer(**bottom_top("convolution", "conv", "x", "y"), C=3, K=2, Nx=3, Ny=3, n_groups=1,
              pad_mode=1, pad_t=0, pad_b=0, pad_l=0, pad_r=0, has_biases=1, fused_relu=1,
              blob_weights=net.weight(w), blob_biases=net.weight(b))
    y = np.maximum(conv2d(x, w, b, (1, 1), (1, 1, 1, 1), 1), 0)
    net.shape("y", y)
    write("conv_same_bias_relu", net, [x], y)

    # conv: groups, stride 2, valid.
    net = Net()
    x = rand(1, 4, 7, 7)
    w = rand(4, 2, 3, 3)
    net.shape("x", x)
    net.layer(**bottom_top("convolution", "conv", "x", "y"), C=4, K=4, Nx=3, Ny=3, n_groups=2,
              stride_x=2, stride_y=2, pad_mode=2, has_biases=0, blob_weights=net.weight(w))
    y = conv2d(x, w, None, (2, 2), (0, 0, 0, 0), 2)
    net.shape("y", y)
    write("conv_groups_stride_valid", net, [x], y)

    # conv: explicit pads, rectangular kernel.
    net = Net()
    x = rand(1, 3, 4, 6)
    w = rand(2, 3, 2, 3)
    net.shape("x", x)
    net.layer(**bottom_top("convolution", "conv", "x", "y"), C=2, K=3, Nx=3, Ny=2, n_groups=1,
              pad_mode=0, pad_t=1, pad_b=0, pad_l=2, pad_r=1, has_biases=0,
              blob_weights=net.weight(w))
    y = conv2d(x, w, None, (1, 1), (1, 0, 2, 1), 1)
    net.shape("y", y)
    write("conv_explicit_pads", net, [x], y)

    # pool: max, valid, stride 2 (as in the Chiron net).
    net = Net()
    x = rand(1, 2, 7, 7)
    net.shape("x", x)
    net.layer(**bottom_top("pool", "pool", "x", "y"), avg_or_max=1, size_x=3, size_y=3,
              stride_x=2, stride_y=2, pad_mode=2, pad_t=0, pad_b=0, pad_l=0, pad_r=0)
    y = pool2d(x, (3, 3), (2, 2), (0, 0, 0, 0), "max", True)
    net.shape("y", y)
    write("pool_max_valid", net, [x], y)

    # pool: average with explicit pads, padding excluded from the average.
    net = Net()
    x = rand(1, 2, 5, 5)
    net.shape("x", x)
    net.layer(**bottom_top("pool", "pool", "x", "y"), avg_or_max=0, size_x=3, size_y=3,
              stride_x=2, stride_y=2, pad_mode=0, pad_t=1, pad_b=1, pad_l=1, pad_r=1,
              average_count_exclude_padding=1)
    y = pool2d(x, (3, 3), (2, 2), (1, 1, 1, 1), "avg", True)
    net.shape("y", y)
    write("pool_avg_pads", net, [x], y)

    # pool: global average.
    net = Net()
    x = rand(1, 3, 4, 5)
    net.shape("x", x)
    net.layer(**bottom_top("pool", "gap", "x", "y"), avg_or_max=0, is_global=1)
    y = x.mean(axis=(2, 3), keepdims=True)
    net.shape("y", y)
    write("pool_global_avg", net, [x], y)

    # inner_product on a flat input, bias blob padded to 16·nC bytes, fused relu.
    net = Net()
    x = rand(1, 1, 1, 6)
    w = rand(4, 6)
    b = rand(4)
    net.shape("x", x, rank=2)
    net.layer(**bottom_top("inner_product", "fc", "x", "y"), nB=6, nC=4, has_biases=1,
              has_relu=1, has_tanh=0, has_prelu=0, blob_weights=net.weight(w),
              blob_biases=net.weight(b, pad_to=16 * 4))
    y = np.maximum(x.reshape(1, 6) @ w.T + b, 0).reshape(1, 1, 1, 4)
    net.shape("y", y, rank=2)
    write("inner_product_relu", net, [x], y)

    # inner_product on a [1, 2, 2, 2] input: k·h·w features, row-major.
    net = Net()
    x = rand(1, 2, 2, 2)
    w = rand(3, 8)
    net.shape("x", x)
    net.layer(**bottom_top("inner_product", "fc", "x", "y"), nB=8, nC=3, has_biases=0,
              blob_weights=net.weight(w))
    y = (x.reshape(1, 8) @ w.T).reshape(1, 1, 1, 3)
    net.shape("y", y, rank=2)
    write("inner_product_flatten", net, [x], y)

    # elementwise: every verified code, chained; y broadcasts over h and w.
    net = Net()
    a = rand(1, 3, 2, 4)
    c = rand(1, 3, 1, 1)
    net.shape("a", a)
    net.shape("c", c)
    net.layer(**bottom_top("elementwise", "add", "a,c", "s"), operation=0, alpha=1, beta=0)
    net.layer(**bottom_top("elementwise", "mul", "s,a", "p"), operation=1)
    net.layer(**bottom_top("elementwise", "add3", "p", "q"), operation=2, alpha=3)
    net.layer(**bottom_top("elementwise", "mul6", "q", "r"), operation=3, alpha=1.0 / 6)
    net.layer(**bottom_top("elementwise", "relu6", "r", "y"), operation=119, alpha=0.25,
              beta=0.6)
    s = a + c
    p = s * a
    q = p + 3
    r = q * np.float32(1.0 / 6)
    y = np.clip(r, 0.25, 0.6)
    for name, v in [("s", s), ("p", p), ("q", q), ("r", r), ("y", y)]:
        net.shape(name, v)
    write("elementwise_chain", net, [a, c], y)

    # activation: relu (mode 0).
    net = Net()
    x = rand(1, 2, 3, 3)
    net.shape("x", x)
    net.layer(**bottom_top("activation", "act", "x", "y"), mode=0)
    y = np.maximum(x, 0)
    net.shape("y", y)
    write("activation_relu", net, [x], y)

    # batchnorm: [C, 4] params, columns scale, bias, mean, variance.
    net = Net()
    x = rand(1, 3, 2, 2)
    params = np.stack([rand(3), rand(3), rand(3), rng.uniform(0.5, 2, 3).astype(np.float32)],
                      axis=1)
    net.shape("x", x)
    net.layer(**bottom_top("batchnorm", "bn", "x", "y"), C=3, training_eps=1e-3,
              blob_batchnorm_params=net.weight(params))
    g, be, m, v = (params[:, i].reshape(1, 3, 1, 1) for i in range(4))
    y = (x - m) / np.sqrt(v + np.float32(1e-3)) * g + be
    net.shape("y", y)
    write("batchnorm", net, [x], y)

    # softmax over channels; softmax_nd over the last axis.
    net = Net()
    x = rand(1, 3, 2, 2)
    net.shape("x", x)
    net.layer(**bottom_top("softmax", "sm", "x", "y"), C=3)
    y = softmax(x, 1)
    net.shape("y", y)
    write("softmax_channels", net, [x], y)

    net = Net()
    x = rand(1, 1, 2, 5)
    net.shape("x", x)
    net.layer(**bottom_top("softmax_nd", "sm", "x", "y"), nd_axis=-1)
    y = softmax(x, 3)
    net.shape("y", y)
    write("softmax_nd_last", net, [x], y)

    # concat along channels.
    net = Net()
    a = rand(1, 2, 2, 3)
    c = rand(1, 3, 2, 3)
    net.shape("a", a)
    net.shape("c", c)
    net.layer(**bottom_top("concat", "cat", "a,c", "y"))
    y = np.concatenate([a, c], axis=1)
    net.shape("y", y)
    write("concat_channels", net, [a, c], y)

    # reshape with a -1 wildcard (row-major data order).
    net = Net()
    x = rand(1, 2, 3, 4)
    net.shape("x", x)
    net.layer(**bottom_top("reshape", "rs", "x", "y"), dst_n=1, dst_k=4, dst_h=-1, dst_w=3,
              dst_seq=1, mode=0, version=1)
    y = x.reshape(1, 4, 2, 3)
    net.shape("y", y)
    write("reshape_wildcard", net, [x], y)

    # transpose as the Chiron net's first layer: w <- h, h <- k, k <- w.
    net = Net()
    x = rand(1, 4, 3, 2)
    net.shape("x", x)
    net.layer(**bottom_top("transpose", "tr", "x", "y"), axis_h=2, axis_w=1, axis_k=0,
              axis_n=3, axis_seq=4)
    y = x.transpose(0, 3, 1, 2)
    net.shape("y", y)
    write("transpose", net, [x], y)

    # reduce: max over h and w (mode 4), dims kept.
    net = Net()
    x = rand(1, 3, 2, 4)
    net.shape("x", x)
    net.layer(**bottom_top("reduce", "red", "x", "y"), mode=4, axes=[2, 3])
    y = x.max(axis=(2, 3), keepdims=True)
    net.shape("y", y)
    write("reduce_max", net, [x], y)

    # batch_matmul with transpose_b.
    net = Net()
    a = rand(1, 2, 3, 4)
    c = rand(1, 2, 5, 4)
    net.shape("a", a)
    net.shape("c", c)
    net.layer(**bottom_top("batch_matmul", "bmm", "a,c", "y"), transpose_a=0, transpose_b=1)
    y = a @ c.transpose(0, 1, 3, 2)
    net.shape("y", y)
    write("batch_matmul_transpose_b", net, [a, c], y)

    # instancenorm_1d: per (n, k) over h·w.
    net = Net()
    x = rand(1, 2, 3, 4)
    net.shape("x", x)
    net.layer(**bottom_top("instancenorm_1d", "inorm", "x", "y"), C=2, epsilon=1e-5)
    mu = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    y = (x - mu) / np.sqrt(var + np.float32(1e-5))
    net.shape("y", y)
    write("instancenorm_1d", net, [x], y)

    # load_constant added to the input.
    net = Net()
    x = rand(1, 2, 1, 3)
    k = rand(1, 2, 1, 3)
    net.shape("x", x)
    net.shape("k", k)
    net.layer(**bottom_top("load_constant", "konst", "", "k"), blob_weights=net.weight(k))
    net.layer(**bottom_top("elementwise", "add", "x,k", "y"), operation=0)
    y = x + k
    net.shape("y", y)
    write("load_constant_add", net, [x], y)

    # general_slice on k and w with a stride.
    net = Net()
    x = rand(1, 3, 4, 5)
    net.shape("x", x)
    net.layer(**bottom_top("general_slice", "sl", "x", "y"), starts=[1, 0], ends=[3, 5],
              strides=[1, 2], axes=[1, 3])
    y = x[:, 1:3, :, 0:5:2]
    net.shape("y", y)
    write("general_slice", net, [x], y)

    # split_nd into two channel halves, multiplied back together.
    net = Net()
    x = rand(1, 6, 2, 2)
    net.shape("x", x)
    net.layer(**bottom_top("split_nd", "split", "x", "lo,hi"), nd_axis=1, begin_0=0, begin_1=3)
    net.layer(**bottom_top("elementwise", "mul", "lo,hi", "y"), operation=1)
    lo, hi = x[:, :3], x[:, 3:]
    y = lo * hi
    net.shape("lo", lo)
    net.shape("hi", hi)
    net.shape("y", y)
    write("split_nd_mul", net, [x], y)

    # expand_dims: a rank-2 blob of 6 features becomes [1, 6, 1, 1] (shape from the file).
    net = Net()
    x = rand(1, 1, 1, 6)
    net.shape("x", x, rank=2)
    net.layer(**bottom_top("expand_dims", "ex", "x", "y"), nd_axis=1, size_of_axes=2,
              axes_0=2, axes_1=3, version=1)
    y = x.reshape(1, 6, 1, 1)
    net.shape("y", y)
    write("expand_dims", net, [x], y)


if __name__ == "__main__":
    main()
