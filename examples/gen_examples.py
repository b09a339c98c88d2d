#!/usr/bin/env python3
"""Generate anekit's bundled example programs and their numpy reference outputs.

Writes, for each example, `model.mil` (canonical MIL text, program(1.3)/ios18 with fp16 I/O),
`weights/weight.bin` (MIL blob storage v2, written by coremltools' own blob writer), and
`reference/` with a seeded input and the output numpy computes for it in float32 (the "exact"
reference; ANE-numerics results differ by fp16 rounding, see docs/numerics.md when it lands).

Requirements: numpy and coremltools (for `libmilstoragepython`), both from PyPI:
    pip install numpy coremltools
Run from the repository root:
    python3 examples/gen_examples.py
The outputs are committed; re-running reproduces them byte for byte.
"""

import math
import os
import sys

import numpy as np

try:
    from coremltools.libmilstoragepython import _BlobStorageWriter
except ImportError:  # pragma: no cover - explained to the user
    sys.exit("coremltools is required: pip install coremltools")

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHT_PATH = "@model_path/weights/weight.bin"


def hexfloat(v: float) -> str:
    """C99 hex float as Apple's compiler prints it: trailing zero nibbles stripped."""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "-0x0p+0" if math.copysign(1, v) < 0 else "0x0p+0"
    h = float(v).hex()  # e.g. 0x1.8000000000000p-1
    sign = "-" if h.startswith("-") else ""
    h = h.lstrip("-")
    mant, exp = h[2:].split("p")
    if "." in mant:
        whole, frac = mant.split(".")
        frac = frac.rstrip("0")
        mant = whole + ("." + frac if frac else "")
    e = int(exp)
    return f"{sign}0x{mant}p{'+' if e >= 0 else '-'}{abs(e)}"


def shape_str(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


def tensor_type(dtype, shape):
    if len(shape) == 0:
        return dtype
    return f"tensor<{dtype}, {shape_str(shape)}>"


def literal(dtype, value):
    """A MIL literal in the compact (1.3) dialect."""
    arr = np.asarray(value)
    def scalar(x):
        if dtype == "bool":
            return "true" if bool(x) else "false"
        if dtype == "string":
            return '"' + str(x) + '"'
        if dtype.startswith("fp"):
            return hexfloat(float(x))
        return str(int(x))
    def nested(a):
        if a.ndim == 0:
            return scalar(a.item())
        return "[" + ", ".join(nested(s) for s in a) + "]"
    if dtype == "string":
        return f'string("{value}")'
    return f"{tensor_type(dtype, list(arr.shape))}({nested(arr)})"


class Program:
    """Builds one MIL function in Apple's canonical layout and its blob file."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        os.makedirs(os.path.join(out_dir, "weights"), exist_ok=True)
        self.blob_path = os.path.join(out_dir, "weights", "weight.bin")
        if os.path.exists(self.blob_path):
            os.remove(self.blob_path)
        self.writer = _BlobStorageWriter(self.blob_path, truncate_file=True)
        self.lines = []
        self.counter = {}

    def stmt(self, out_type, out_name, op, args, name=None, attrs=None):
        arg_text = ", ".join(f"{k} = {v}" for k, v in sorted(args.items()))
        attr = {"name": literal("string", name or out_name)}
        attr.update(attrs or {})
        attr_text = ", ".join(f"{k} = {v}" for k, v in sorted(attr.items()))
        self.lines.append(f"            {out_type} {out_name} = {op}({arg_text})[{attr_text}];")
        return out_name

    def const(self, name, dtype, value):
        arr = np.asarray(value)
        return self.stmt(tensor_type(dtype, list(arr.shape)), name, "const", {},
                         attrs={"val": literal(dtype, arr)})

    def weight(self, name, array_fp16):
        arr = np.ascontiguousarray(array_fp16.astype(np.float16))
        offset = self.writer.write_fp16_data(arr.reshape(-1).view(np.uint16))
        ty = tensor_type("fp16", list(arr.shape))
        blob = f'BLOBFILE(path = string("{WEIGHT_PATH}"), offset = uint64({offset}))'
        return self.stmt(ty, name, "const", {}, attrs={"val": f"{ty}({blob})"})

    def finish(self, func_inputs, outputs):
        del self.writer  # the coremltools writer finalises the file on destruction
        params = ", ".join(f"{tensor_type(dt, sh)} {n}" for n, dt, sh in func_inputs)
        header = ('program(1.3)\n'
                  '[buildInfo = dict<string, string>({{"anekit-example", "1"}})]\n'
                  '{\n'
                  f'    func main<ios18>({params}) {{\n')
        body = "\n".join(self.lines)
        text = header + body + f"\n        }} -> ({', '.join(outputs)});\n}}"
        with open(os.path.join(self.out_dir, "model.mil"), "w") as f:
            f.write(text)


def conv1x1_args(p, prefix, x, w):
    return {
        "dilations": p.const(f"{prefix}_dilations_0", "int32", [1, 1]),
        "groups": p.const(f"{prefix}_groups_0", "int32", np.int32(1)),
        "pad": p.const(f"{prefix}_pad_0", "int32", [0, 0, 0, 0]),
        "pad_type": p.const(f"{prefix}_pad_type_0", "string", "valid"),
        "strides": p.const(f"{prefix}_strides_0", "int32", [1, 1]),
        "weight": w,
        "x": x,
    }


def f16(a):
    """Round to fp16 and back: the weights are stored in fp16."""
    return np.asarray(a, dtype=np.float16).astype(np.float32)


def transformer_block(out_dir, seed=7):
    """RMSNorm -> QKV as 1x1 conv in the [1, C, 1, S] layout -> causal attention -> output
    projection -> residual -> RMSNorm -> SiLU-gated FFN -> residual."""
    C, S, H, F = 64, 32, 2, 128
    D = C // H  # 32: matmul inner dimensions are multiples of 32 (see docs/lints when they land)
    rng = np.random.default_rng(seed)
    p = Program(out_dir)
    ty = lambda shape: tensor_type("fp16", shape)
    act = [1, C, 1, S]

    g1 = f16(1.0 + 0.1 * rng.standard_normal((1, C, 1, 1)))
    g2 = f16(1.0 + 0.1 * rng.standard_normal((1, C, 1, 1)))
    wq, wk, wv, wo = (f16(rng.standard_normal((C, C, 1, 1)) / math.sqrt(C)) for _ in range(4))
    w1, w3 = (f16(rng.standard_normal((F, C, 1, 1)) / math.sqrt(C)) for _ in range(2))
    w2 = f16(rng.standard_normal((C, F, 1, 1)) / math.sqrt(F))
    mask = np.triu(np.full((S, S), -np.inf, dtype=np.float32), k=1).reshape(1, 1, S, S)
    eps = float(np.float16(1e-5))
    scale = 1.0 / math.sqrt(D)

    def rms_norm(prefix, x, gamma_name):
        sq = p.stmt(ty(act), f"{prefix}_sq", "mul", {"x": x, "y": x})
        ms = p.stmt(ty([1, 1, 1, S]), f"{prefix}_ms", "reduce_mean", {
            "axes": p.const(f"{prefix}_ms_axes_0", "int32", [1]),
            "keep_dims": p.const(f"{prefix}_ms_keep_dims_0", "bool", np.bool_(True)),
            "x": sq})
        mse = p.stmt(ty([1, 1, 1, S]), f"{prefix}_mse", "add", {
            "x": ms, "y": p.const(f"{prefix}_eps_0", "fp16", np.float16(eps))})
        inv = p.stmt(ty([1, 1, 1, S]), f"{prefix}_inv", "rsqrt", {"x": mse})
        xn = p.stmt(ty(act), f"{prefix}_xn", "mul", {"x": x, "y": inv})
        return p.stmt(ty(act), f"{prefix}_out", "mul", {"x": xn, "y": gamma_name})

    gamma1 = p.weight("norm1_gamma", g1)
    gamma2 = p.weight("norm2_gamma", g2)
    Wq, Wk, Wv, Wo = (p.weight(n, w) for n, w in zip(["wq", "wk", "wv", "wo"], [wq, wk, wv, wo]))
    W1, W3, W2 = (p.weight(n, w) for n, w in zip(["w1", "w3", "w2"], [w1, w3, w2]))
    Mask = p.weight("causal_mask", mask)

    h = rms_norm("norm1", "x", gamma1)
    q = p.stmt(ty(act), "q", "conv", conv1x1_args(p, "q", h, Wq))
    k = p.stmt(ty(act), "k", "conv", conv1x1_args(p, "k", h, Wk))
    v = p.stmt(ty(act), "v", "conv", conv1x1_args(p, "v", h, Wv))
    heads = [1, H, D, S]
    perm = lambda n: p.const(n, "int32", [0, 1, 3, 2])
    qh = p.stmt(ty(heads), "q_heads", "reshape", {"shape": p.const("q_heads_shape_0", "int32", heads), "x": q})
    qt = p.stmt(ty([1, H, S, D]), "q_t", "transpose", {"perm": perm("q_t_perm_0"), "x": qh})
    kh = p.stmt(ty(heads), "k_heads", "reshape", {"shape": p.const("k_heads_shape_0", "int32", heads), "x": k})
    vh = p.stmt(ty(heads), "v_heads", "reshape", {"shape": p.const("v_heads_shape_0", "int32", heads), "x": v})
    vt = p.stmt(ty([1, H, S, D]), "v_t", "transpose", {"perm": perm("v_t_perm_0"), "x": vh})
    false = lambda n: p.const(n, "bool", np.bool_(False))
    scores = p.stmt(ty([1, H, S, S]), "scores", "matmul", {
        "transpose_x": false("scores_transpose_x_0"), "transpose_y": false("scores_transpose_y_0"),
        "x": qt, "y": kh})
    scaled = p.stmt(ty([1, H, S, S]), "scores_scaled", "mul", {
        "x": scores, "y": p.const("attn_scale_0", "fp16", np.float16(scale))})
    masked = p.stmt(ty([1, H, S, S]), "scores_masked", "add", {"x": scaled, "y": Mask})
    probs = p.stmt(ty([1, H, S, S]), "probs", "softmax", {
        "axis": p.const("probs_axis_0", "int32", np.int32(-1)), "x": masked})
    att = p.stmt(ty([1, H, S, D]), "attn", "matmul", {
        "transpose_x": false("attn_transpose_x_0"), "transpose_y": false("attn_transpose_y_0"),
        "x": probs, "y": vt})
    att_t = p.stmt(ty(heads), "attn_t", "transpose", {"perm": perm("attn_t_perm_0"), "x": att})
    merged = p.stmt(ty(act), "attn_merged", "reshape", {"shape": p.const("attn_merged_shape_0", "int32", act), "x": att_t})
    o = p.stmt(ty(act), "o", "conv", conv1x1_args(p, "o", merged, Wo))
    r1 = p.stmt(ty(act), "resid1", "add", {"x": "x", "y": o})
    h2 = rms_norm("norm2", r1, gamma2)
    g = p.stmt(ty([1, F, 1, S]), "ffn_gate", "conv", conv1x1_args(p, "ffn_gate", h2, W1))
    u = p.stmt(ty([1, F, 1, S]), "ffn_up", "conv", conv1x1_args(p, "ffn_up", h2, W3))
    sg = p.stmt(ty([1, F, 1, S]), "ffn_act", "silu", {"x": g})
    gu = p.stmt(ty([1, F, 1, S]), "ffn_mul", "mul", {"x": sg, "y": u})
    d = p.stmt(ty(act), "ffn_down", "conv", conv1x1_args(p, "ffn_down", gu, W2))
    p.stmt(ty(act), "y", "add", {"x": r1, "y": d})
    p.finish([("x", "fp16", act)], ["y"])

    # numpy reference, float32 math on the fp16 weights.
    x = f16(rng.standard_normal(act))
    def rms(t, gam):
        return t / np.sqrt(np.mean(t * t, axis=1, keepdims=True) + eps) * gam
    def c1(t, w):  # 1x1 conv in [1, C, 1, S]
        return np.einsum("oc,bcis->bois", w[:, :, 0, 0], t)
    hh = rms(x, g1)
    qq, kk, vv = c1(hh, wq), c1(hh, wk), c1(hh, wv)
    qh_ = qq.reshape(heads).transpose(0, 1, 3, 2)
    kh_ = kk.reshape(heads)
    vt_ = vv.reshape(heads).transpose(0, 1, 3, 2)
    sc = qh_ @ kh_ * np.float32(float(np.float16(scale))) + mask
    sc = sc - sc.max(axis=-1, keepdims=True)
    pr = np.exp(sc) / np.exp(sc).sum(axis=-1, keepdims=True)
    at = (pr @ vt_).transpose(0, 1, 3, 2).reshape(act)
    r1_ = x + c1(at, wo)
    h2_ = rms(r1_, g2)
    gg, uu = c1(h2_, w1), c1(h2_, w3)
    y = r1_ + c1(gg / (1 + np.exp(-gg)) * uu, w2)
    save_reference(out_dir, {"x": x.astype(np.float16)}, {"y": y.astype(np.float32)})


def cnn(out_dir, seed=11):
    """conv3x3+bias -> relu -> max_pool 2x2 -> conv3x3+bias -> relu -> global avg_pool ->
    reshape -> linear -> softmax, on a [1, 3, 32, 32] fp16 image."""
    rng = np.random.default_rng(seed)
    p = Program(out_dir)
    ty = lambda shape: tensor_type("fp16", shape)
    w_a = f16(rng.standard_normal((16, 3, 3, 3)) / math.sqrt(27))
    b_a = f16(0.1 * rng.standard_normal(16))
    w_b = f16(rng.standard_normal((32, 16, 3, 3)) / math.sqrt(144))
    b_b = f16(0.1 * rng.standard_normal(32))
    w_fc = f16(rng.standard_normal((10, 32)) / math.sqrt(32))
    b_fc = f16(0.1 * rng.standard_normal(10))
    Wa, Ba, Wb, Bb, Wfc, Bfc = (p.weight(n, w) for n, w in zip(
        ["conv1_weight", "conv1_bias", "conv2_weight", "conv2_bias", "fc_weight", "fc_bias"],
        [w_a, b_a, w_b, b_b, w_fc, b_fc]))

    def conv3(prefix, x, w, b, out_shape):
        return p.stmt(ty(out_shape), prefix, "conv", {
            "bias": b,
            "dilations": p.const(f"{prefix}_dilations_0", "int32", [1, 1]),
            "groups": p.const(f"{prefix}_groups_0", "int32", np.int32(1)),
            "pad": p.const(f"{prefix}_pad_0", "int32", [1, 1, 1, 1]),
            "pad_type": p.const(f"{prefix}_pad_type_0", "string", "custom"),
            "strides": p.const(f"{prefix}_strides_0", "int32", [1, 1]),
            "weight": w, "x": x})

    def pool(op, prefix, x, k, out_shape):
        args = {
            "kernel_sizes": p.const(f"{prefix}_kernel_sizes_0", "int32", [k, k]),
            "pad": p.const(f"{prefix}_pad_0", "int32", [0, 0, 0, 0]),
            "pad_type": p.const(f"{prefix}_pad_type_0", "string", "valid"),
            "strides": p.const(f"{prefix}_strides_0", "int32", [k, k]),
            "ceil_mode": p.const(f"{prefix}_ceil_mode_0", "bool", np.bool_(False)),
            "x": x}
        if op == "avg_pool":
            args["exclude_padding_from_average"] = p.const(
                f"{prefix}_exclude_padding_from_average_0", "bool", np.bool_(False))
        return p.stmt(ty(out_shape), prefix, op, args)

    c1_ = conv3("conv1", "image", Wa, Ba, [1, 16, 32, 32])
    r1 = p.stmt(ty([1, 16, 32, 32]), "relu1", "relu", {"x": c1_})
    p1 = pool("max_pool", "pool1", r1, 2, [1, 16, 16, 16])
    c2_ = conv3("conv2", p1, Wb, Bb, [1, 32, 16, 16])
    r2 = p.stmt(ty([1, 32, 16, 16]), "relu2", "relu", {"x": c2_})
    p2 = pool("avg_pool", "pool2", r2, 16, [1, 32, 1, 1])
    flat = p.stmt(ty([1, 32]), "flat", "reshape", {"shape": p.const("flat_shape_0", "int32", [1, 32]), "x": p2})
    logits = p.stmt(ty([1, 10]), "logits", "linear", {"bias": Bfc, "weight": Wfc, "x": flat})
    p.stmt(ty([1, 10]), "probs", "softmax", {"axis": p.const("probs_axis_0", "int32", np.int32(-1)), "x": logits})
    p.finish([("image", "fp16", [1, 3, 32, 32])], ["probs"])

    x = f16(rng.standard_normal((1, 3, 32, 32)))
    def conv(t, w, b):
        n, c, hgt, wid = t.shape
        tp = np.pad(t, ((0, 0), (0, 0), (1, 1), (1, 1)))
        out = np.zeros((n, w.shape[0], hgt, wid), np.float32)
        for i in range(3):
            for j in range(3):
                out += np.einsum("oc,nchw->nohw", w[:, :, i, j], tp[:, :, i:i + hgt, j:j + wid])
        return out + b.reshape(1, -1, 1, 1)
    a = np.maximum(conv(x, w_a, b_a), 0)
    a = a.reshape(1, 16, 16, 2, 16, 2).max(axis=(3, 5))
    a = np.maximum(conv(a, w_b, b_b), 0)
    a = a.mean(axis=(2, 3)).reshape(1, 32)
    lg = a @ w_fc.T + b_fc
    e = np.exp(lg - lg.max(axis=-1, keepdims=True))
    save_reference(out_dir, {"image": x.astype(np.float16)}, {"probs": (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)})


def save_reference(out_dir, inputs, outputs):
    ref = os.path.join(out_dir, "reference")
    os.makedirs(ref, exist_ok=True)
    for name, arr in inputs.items():
        np.save(os.path.join(ref, f"input_{name}.npy"), arr)
    for name, arr in outputs.items():
        np.save(os.path.join(ref, f"output_{name}.npy"), arr)


if __name__ == "__main__":
    transformer_block(os.path.join(HERE, "transformer_block"))
    cnn(os.path.join(HERE, "cnn"))
    print("wrote examples/transformer_block and examples/cnn")
