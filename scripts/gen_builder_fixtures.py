#!/usr/bin/env python3
"""Numpy references for anekit-build's tests (crates/anekit-build/tests/numpy_reference.rs).

Writes, under crates/anekit-build/tests/fixtures/:
  cnn_*.npy   the notes' CNN topology at tiny size (3x32x32 input): conv 7x7/2 pad 3 -> max
              pool 3x3/2 pad 1 -> conv 3x3 pad 1 -> conv 3x3 pad 1 -> max pool 2x2/2 ->
              flatten -> linear -> linear -> softmax. Weights, input and output.
  attn_*.npy  layer_norm(last axis, gamma, beta) -> gelu (tanh approximation) -> causal
              scaled dot-product attention with q = k = v = that, on [1, 2, 6, 8].
  block_*.npy a pre-norm transformer block in the ANE layout [1, dim, 1, seq] as the canned
              `transformer_block` builds it (dim 8, 2 heads of 4, seq 4, hidden 16): RMSNorm ->
              1x1-conv q/k/v -> heads -> RoPE on q, k -> causal attention -> merge -> wo ->
              residual -> RMSNorm -> SwiGLU (silu(w1) * w3 -> w2) -> residual.
Constants that the program stores as fp16 (weights, the attention scale) and fp16 inputs are
rounded to fp16 here too; the rest is exact. Weights are deterministic functions of their index (no RNG), everything float32, computed in
float64 and cast once at the end.
"""
import os
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "anekit-build", "tests", "fixtures")


def det(shape, scale, phase):
    n = int(np.prod(shape))
    return (np.sin(np.arange(n) * 0.37 + phase) * scale).reshape(shape).astype(np.float32)


def f16(a):
    # The lowered program stores weights and fp16 inputs rounded to fp16: do the same.
    return a.astype(np.float16).astype(np.float64)


def conv2d(x, w, stride, pad):
    n, c, h, wd = x.shape
    o, ci, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return out


def max_pool(x, k, stride, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    oh = (h + 2 * pad - k) // stride + 1
    ow = (w + 2 * pad - k) // stride + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k].max(axis=(2, 3))
    return out


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def save(name, a):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a, dtype=np.float32))


def cnn():
    x = det((1, 3, 32, 32), 1.0, 0.1)
    w1 = det((8, 3, 7, 7), 0.08, 0.2)
    w2 = det((8, 8, 3, 3), 0.1, 0.3)
    w3 = det((16, 8, 3, 3), 0.1, 0.4)
    f1w = det((32, 256), 0.05, 0.5)
    f1b = det((32,), 0.1, 0.6)
    f2w = det((10, 32), 0.15, 0.7)
    f2b = det((10,), 0.1, 0.8)
    h = conv2d(f16(x), f16(w1), 2, 3)
    h = max_pool(h, 3, 2, 1)
    h = conv2d(h, f16(w2), 1, 1)
    h = conv2d(h, f16(w3), 1, 1)
    h = max_pool(h, 2, 2, 0)
    h = h.reshape(1, 256)
    h = h @ f16(f1w).T + f16(f1b)
    h = h @ f16(f2w).T + f16(f2b)
    y = softmax(h)
    for n, a in [("input", x), ("w1", w1), ("w2", w2), ("w3", w3), ("fc1_w", f1w), ("fc1_b", f1b),
                 ("fc2_w", f2w), ("fc2_b", f2b), ("output", y)]:
        save("cnn_" + n, a)


def attn():
    x = det((1, 2, 6, 8), 1.5, 0.9)
    gamma = det((8,), 0.5, 1.0) + np.float32(1.0)
    beta = det((8,), 0.2, 1.1)
    xv = f16(x)
    mean = xv.mean(-1, keepdims=True)
    var = ((xv - mean) ** 2).mean(-1, keepdims=True)
    h = (xv - mean) / np.sqrt(var + 1e-5) * f16(gamma) + f16(beta)
    h = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3)))
    # The builder's scale 1/sqrt(d) is an fp16 constant in the program (0.353515625 for d = 8).
    s = (h @ np.swapaxes(h, -1, -2)) * f16(np.float32(1 / np.sqrt(8)))
    s = s + np.triu(np.full((6, 6), -np.inf), 1)
    y = softmax(s) @ h
    for n, a in [("input", x), ("gamma", gamma), ("beta", beta), ("output", y)]:
        save("attn_" + n, a)


def rms_norm(x, gamma, eps):
    # Over the channel axis (1); the epsilon is an fp16 constant in the program.
    ms = (x * x).mean(axis=1, keepdims=True)
    return x / np.sqrt(ms + f16(np.float32(eps))) * gamma


def conv1x1(x, w):
    # x [1, C_in, 1, S], w [C_out, C_in, 1, 1]
    return np.einsum("oi,nihs->nohs", w[:, :, 0, 0], x)


def rope_tables(s, d, base):
    # As the builder computes them (f32), then stored as fp16 constants.
    half = d // 2
    i = np.arange(d) % half
    freq = np.float32(base) ** (-(2 * i).astype(np.float32) / np.float32(d))
    angle = np.arange(s, dtype=np.float32)[:, None] * freq[None, :].astype(np.float32)
    return f16(np.cos(angle)), f16(np.sin(angle))


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rot = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rot * sin


def block():
    dim, heads, seq, hidden = 8, 2, 4, 16
    hd = dim // heads
    x = det((1, dim, 1, seq), 1.0, 1.2)
    ws = {
        "g1": det((1, dim, 1, 1), 0.3, 1.3) + np.float32(1.0),
        "wq": det((dim, dim, 1, 1), 0.4, 1.4),
        "wk": det((dim, dim, 1, 1), 0.4, 1.5),
        "wv": det((dim, dim, 1, 1), 0.4, 1.6),
        "wo": det((dim, dim, 1, 1), 0.4, 1.7),
        "g2": det((1, dim, 1, 1), 0.3, 1.8) + np.float32(1.0),
        "w1": det((hidden, dim, 1, 1), 0.4, 1.9),
        "w3": det((hidden, dim, 1, 1), 0.4, 2.0),
        "w2": det((dim, hidden, 1, 1), 0.3, 2.1),
    }
    w = {k: f16(v) for k, v in ws.items()}
    xv = f16(x)
    xn = rms_norm(xv, w["g1"], 1e-5)

    def to_heads(t):  # [1, dim, 1, S] -> [1, H, hd, S] -> [1, H, S, hd]
        return np.swapaxes(t.reshape(1, heads, hd, seq), 2, 3)

    q, k, v = (to_heads(conv1x1(xn, w[n])) for n in ("wq", "wk", "wv"))
    cos, sin = rope_tables(seq, hd, 10000.0)
    q, k = rope(q, cos, sin), rope(k, cos, sin)
    s = (q @ np.swapaxes(k, -1, -2)) * f16(np.float32(1 / np.sqrt(hd)))
    s = s + np.triu(np.full((seq, seq), -65504.0), 1)
    a = softmax(s) @ v
    af = np.swapaxes(a, 2, 3).reshape(1, dim, 1, seq)
    h = xv + conv1x1(af, w["wo"])
    hn = rms_norm(h, w["g2"], 1e-5)
    u = conv1x1(hn, w["w1"])
    gated = u / (1 + np.exp(-u)) * conv1x1(hn, w["w3"])
    y = h + conv1x1(gated, w["w2"])
    for n, arr in [("input", x), ("output", y)] + list(ws.items()):
        save("block_" + n, arr)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    cnn()
    attn()
    block()
