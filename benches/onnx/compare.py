#!/usr/bin/env python3
"""Time anekit-cpu's GEMM and conv against onnxruntime (and numpy's BLAS) on this machine.

Builds the same graphs as crates/anekit-cpu/benches/kernels.rs in ONNX:
  gemm: MatMul [1024, 1024] x [1024, 1024]                      (2*1024^3 FLOP)
  conv: Conv 1x64x56x56, W 64x64x3x3, bias, pads 1, stride 1    (2*64*576*3136 FLOP)
and the canned transformer block of anekit-build (`ane build transformer-block`: dim 768,
12 heads, SwiGLU hidden 2048, seq 256, RoPE, causal attention, [1, C, 1, S] layout with every
projection a 1x1 conv) op for op: RMSNorm as Mul/ReduceMean/Add/Sqrt/Reciprocal/Mul/Mul,
Conv 1x1, Reshape/Transpose to heads, RoPE as Slice/Concat/Mul/Add with the same tables,
MatMul/Mul/Add(mask)/Softmax/MatMul, SiLU as Sigmoid*x, residual Adds.
Times them with onnxruntime (CPU execution provider, --threads intra-op threads) and with anekit
measured the same way, and prints all side by side with the machine load. Each side's figure is
the faster of two medians of --reps runs after 3 warm-ups, one taken before and one after the
other side's: anekit's GEMM and conv by `cpu_time_probe --median` (an anekit-cpu example), its
transformer block by `ane run --repeat` (release binaries in $CARGO_TARGET_DIR, built unless
--no-cargo). The ratios compare these like-for-like figures; on a shared machine a short burst
of runs may or may not catch a busy moment, so both sides get the same two chances. The
criterion medians of the same GEMM and conv (`cargo bench -p anekit-cpu --bench kernels`, many
samples over seconds, so more exposed to busy moments) are printed too, unless --no-criterion.
The f32 FMA peak of the threads is measured before and after (`cpu_time_probe --fma-peak`), and
each figure is also given as a percentage of the higher of the two.
Needs: pip install onnx onnxruntime numpy.

Usage: python3 benches/onnx/compare.py [--no-cargo] [--no-criterion] [--threads N] [--reps N]
                                      [--only NAMES]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Pinned: a newer onnx package writes an IR version older onnxruntime builds refuse; 8 is
# what opset 17 needs.
IR_VERSION = 8

GEMM_FLOP = 2 * 1024**3
CONV_FLOP = 2 * 64 * 64 * 9 * 56 * 56

# The canned transformer block (anekit-build TransformerConfig::STORIES110M, one layer).
DIM, HEADS, HIDDEN, SEQ, EPS, ROPE_BASE = 768, 12, 2048, 256, 1e-5, 10000.0
HD = DIM // HEADS
# Multiply-adds x 2: 4 projections, 3 FFN convs, QK^T and PV (elementwise ops not counted).
BLOCK_FLOP = 2 * SEQ * (4 * DIM * DIM + 3 * DIM * HIDDEN) + 2 * 2 * HEADS * SEQ * SEQ * HD


def build_transformer_block():
    """The same graph as anekit-build's transformer_block_on(), in ONNX."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)
    nodes, inits = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(op, ins, out, **kw):
        nodes.append(helper.make_node(op, ins, [out], **kw))
        return out

    def conv1x1(name, x, cin, cout):
        w = (rng.uniform(-1, 1, (cout, cin, 1, 1)) / np.sqrt(cin)).astype(np.float32)
        return node("Conv", [x, const(name + "_w", w)], name, kernel_shape=[1, 1])

    def rms(name, x):
        g = const(name + "_g", rng.uniform(0.9, 1.1, (1, DIM, 1, 1)).astype(np.float32))
        sq = node("Mul", [x, x], name + "_sq")
        ms = node("ReduceMean", [sq], name + "_ms", axes=[1], keepdims=1)
        e = node("Add", [ms, const(name + "_eps", np.array(EPS, np.float32))], name + "_e")
        r = node("Reciprocal", [node("Sqrt", [e], name + "_sqrt")], name + "_rsqrt")
        return node("Mul", [node("Mul", [x, r], name + "_n"), g], name)

    heads_shape = const("heads_shape", np.array([1, HEADS, HD, SEQ], np.int64))
    merged_shape = const("merged_shape", np.array([1, DIM, 1, SEQ], np.int64))
    half = HD // 2
    i = np.arange(HD)
    freq = ROPE_BASE ** (-(2 * (i % half)) / HD)
    ang = np.arange(SEQ)[:, None] * freq[None, :]
    cos = const("rope_cos", np.cos(ang).astype(np.float32))
    sin = const("rope_sin", np.where(i < half, -np.sin(ang), np.sin(ang)).astype(np.float32))
    for nm, v in [("s0", [0]), ("sh", [half]), ("se", [HD]), ("ax3", [3])]:
        const(nm, np.array(v, np.int64))
    mask = np.where(np.arange(SEQ)[None, :] > np.arange(SEQ)[:, None], -65504.0, 0.0)
    const("causal_mask", mask.astype(np.float32))
    const("attn_scale", np.array(1.0 / np.sqrt(HD), np.float32))

    def heads(name, t):
        r = node("Reshape", [t, heads_shape], name + "_heads")
        return node("Transpose", [r], name + "_t", perm=[0, 1, 3, 2])

    def rope(name, t):
        x1 = node("Slice", [t, "s0", "sh", "ax3"], name + "_x1")
        x2 = node("Slice", [t, "sh", "se", "ax3"], name + "_x2")
        rot = node("Concat", [x2, x1], name + "_rot", axis=3)
        a = node("Mul", [t, cos], name + "_cos")
        return node("Add", [a, node("Mul", [rot, sin], name + "_sin")], name)

    xn = rms("attn_norm", "x")
    q = rope("q_rope", heads("q", conv1x1("wq", xn, DIM, DIM)))
    k = rope("k_rope", heads("k", conv1x1("wk", xn, DIM, DIM)))
    v = heads("v", conv1x1("wv", xn, DIM, DIM))
    kt = node("Transpose", [k], "k_tt", perm=[0, 1, 3, 2])
    sc = node("Mul", [node("MatMul", [q, kt], "scores"), "attn_scale"], "scaled")
    p = node("Softmax", [node("Add", [sc, "causal_mask"], "masked")], "probs", axis=-1)
    a = node("MatMul", [p, v], "attn")
    at = node("Transpose", [a], "attn_t", perm=[0, 1, 3, 2])
    o = conv1x1("wo", node("Reshape", [at, merged_shape], "attn_merge"), DIM, DIM)
    h = node("Add", ["x", o], "attn_residual")
    hn = rms("ffn_norm", h)
    w1 = conv1x1("w1", hn, DIM, HIDDEN)
    w3 = conv1x1("w3", hn, DIM, HIDDEN)
    act = node("Mul", [w1, node("Sigmoid", [w1], "sig")], "silu")
    w2 = conv1x1("w2", node("Mul", [act, w3], "gate"), HIDDEN, DIM)
    node("Add", [h, w2], "y")
    g = helper.make_graph(
        nodes, "transformer_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, DIM, 1, SEQ])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, DIM, 1, SEQ])],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION)
    onnx.checker.check_model(m)
    return m


def anekit_block(run_cargo, threads, reps):
    """Median seconds of `ane run` on the canned transformer block (fp16 I/O), in ane and in
    exact numerics."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    if run_cargo:
        subprocess.run(["cargo", "build", "--release", "-p", "anekit-cli"], cwd=ROOT, check=True)
    ane = os.path.join(target, "release", "ane")
    if not os.path.exists(ane):
        return None
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([ane, "build", "transformer-block", "--target", "m3", "-o", d],
                       check=True, stdout=subprocess.DEVNULL, env=env)
        res = {}
        for numerics in ("ane", "exact"):
            out = subprocess.run([ane, "run", os.path.join(d, "model.mil"), "--repeat",
                                  str(reps), "--numerics", numerics, "--json"],
                                 check=True, capture_output=True, text=True, env=env)
            res[numerics] = json.loads(out.stdout)["timing"]["median_ms"] * 1e-3
    return res


def probe_path(run_cargo):
    """The release `cpu_time_probe` example (built first with `run_cargo`), or None."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    if run_cargo:
        subprocess.run(["cargo", "build", "--release", "-p", "anekit-cpu", "--example",
                        "cpu_time_probe"], cwd=ROOT, check=True)
    probe = os.path.join(target, "release", "examples", "cpu_time_probe")
    return probe if os.path.exists(probe) else None


def anekit_probe(run_cargo, kernel, threads, reps):
    """(median wall seconds, mean CPU seconds) of anekit-cpu's GEMM or conv, measured like
    onnxruntime (`cpu_time_probe --median`)."""
    probe = probe_path(run_cargo)
    if probe is None:
        return None
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run([probe, "--median", kernel, str(reps)], check=True,
                         capture_output=True, text=True, env=env)
    r = json.loads(out.stdout)
    return r["median_s"], r["cpu_s"]


def fma_peak(run_cargo, threads):
    """The f32 FMA throughput of `threads` threads right now, in GFLOP/s (`cpu_time_probe
    --fma-peak`: register-only AVX-512 FMA chains), or None where it cannot run. The VM this
    project develops on has minutes-long slow phases; the peak taken in the same run says how
    much of a figure is the machine's state and how much the kernel's."""
    probe = probe_path(run_cargo)
    if probe is None:
        return None
    out = subprocess.run([probe, "--fma-peak", str(threads)], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)["fma_peak_gflops"]


def faster(a, b):
    """The faster of two timings (tuples compare by their wall time); None if either is."""
    if a is None or b is None:
        return a or b
    return min(a, b, key=lambda t: t[0] if isinstance(t, tuple) else t)


def build_models():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    b = rng.uniform(-1, 1, (1024, 1024)).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"])], "gemm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1024, 1024])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1024, 1024])],
        initializer=[numpy_helper.from_array(b, "b")])
    gemm = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION)

    w = rng.uniform(-1, 1, (64, 64, 3, 3)).astype(np.float32)
    bias = rng.uniform(-1, 1, (64,)).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "bias"], ["y"], kernel_shape=[3, 3],
                          pads=[1, 1, 1, 1], strides=[1, 1])], "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 56, 56])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, 56, 56])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "bias")])
    conv = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION)
    onnx.checker.check_model(gemm)
    onnx.checker.check_model(conv)
    return gemm, conv


def time_fn(fn, reps, warmup=3):
    """Median wall seconds per run, and mean process CPU seconds per run (user + system of
    all threads: a load-independent measure of work done, see examples/cpu_time_probe.rs)."""
    for _ in range(warmup):
        fn()
    ts = []
    c0 = time.process_time()
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), (time.process_time() - c0) / reps


def time_ort(model, feed, threads, reps):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    # Spinning worker threads would burn CPU time between runs and distort the CPU column.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return time_fn(lambda: sess.run(None, feed), reps)


def criterion_medians(run_cargo, only):
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    keys = [k for k in ("gemm", "conv") if k in only]
    if run_cargo:
        subprocess.run(["cargo", "bench", "-p", "anekit-cpu", "--bench", "kernels", "--",
                        "|".join(keys)], cwd=ROOT, check=True)
    out = {}
    for key, path in [("gemm", "gemm/1024"), ("conv", "conv/3x3_64_56"),
                      ("conv_im2col", "conv/3x3_64_56_im2col")]:
        if key.split("_")[0] not in keys:
            continue
        est = os.path.join(target, "criterion", path, "new", "estimates.json")
        try:
            with open(est) as f:
                out[key] = json.load(f)["median"]["point_estimate"] * 1e-9
        except OSError:
            out[key] = None
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-cargo", action="store_true",
                    help="do not run cargo bench/build; use the built binaries and the last "
                         "criterion results")
    ap.add_argument("--no-criterion", action="store_true",
                    help="skip the criterion bench (its medians are printed for reference)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--only", default="gemm,conv,block",
                    help="comma-separated subset of gemm,conv,block")
    args = ap.parse_args()
    only = set(args.only.split(","))

    gemm, conv = build_models()
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (1024, 1024)).astype(np.float32)
    x = rng.uniform(-1, 1, (1, 64, 56, 56)).astype(np.float32)
    xb = rng.uniform(-1, 1, (1, DIM, 1, SEQ)).astype(np.float32)
    load_before = os.getloadavg()[0]
    # Each binary is built (unless --no-cargo) before its first use only.
    built = set() if not args.no_cargo else {"probe", "ane"}
    res = {}
    peak_before = fma_peak("probe" not in built, args.threads)
    built.add("probe")

    def ours(key):
        if key == "block":
            blk = anekit_block("ane" not in built, args.threads, args.reps) or {}
            built.add("ane")
            return {"block": blk.get("ane"), "block_exact": blk.get("exact")}
        r = anekit_probe("probe" not in built, key, args.threads, args.reps)
        built.add("probe")
        return {key: r}

    def theirs(key):
        if key == "gemm":
            return time_ort(gemm, {"a": a}, args.threads, args.reps)
        if key == "conv":
            return time_ort(conv, {"x": x}, args.threads, args.reps)
        return time_ort(build_transformer_block(), {"x": xb}, args.threads, args.reps)

    # anekit, onnxruntime, anekit, onnxruntime: each side's figure is the faster of its two.
    keys = [k for k in ("gemm", "conv", "block") if k in only]
    for key in keys:
        first = ours(key)
        res["ort_" + key] = theirs(key)
        second = ours(key)
        for k in first:
            res["ours_" + k] = faster(first[k], second[k])
        res["ort_" + key] = faster(res["ort_" + key], theirs(key))
    if "gemm" in only:
        bb = rng.uniform(-1, 1, (1024, 1024)).astype(np.float32)
        res["np_gemm"] = time_fn(lambda: a @ bb, args.reps)
    if only & {"gemm", "conv"} and not args.no_criterion:
        crit = criterion_medians(not args.no_cargo, only)
        res.update({"crit_" + k: v for k, v in crit.items()})
    load_after = os.getloadavg()[0]
    peak_after = fma_peak(False, args.threads)
    peaks = [p for p in (peak_before, peak_after) if p]
    peak = max(peaks) if peaks else None

    def row(name, t, flop):
        if t is None:
            return f"{name:<34} {'n/a':>9}"
        secs, cpu = t if isinstance(t, tuple) else (t, None)
        gflops = flop / secs / 1e9
        line = f"{name:<34} {secs * 1e3:>9.2f} {gflops:>9.1f}"
        line += f" {100 * gflops / peak:>6.0f}%" if peak else f" {'':>7}"
        if cpu:
            line += f" {cpu * 1e3:>9.2f} {flop / cpu / 1e9:>12.1f}"
        return line

    def ratio(ours, ort):
        o, r = res.get(ours), res.get(ort)
        if o is None or r is None:
            return ""
        o = o[0] if isinstance(o, tuple) else o
        r = r[0] if isinstance(r, tuple) else r
        return f"   anekit / onnxruntime wall time: {o / r:.2f}x"

    print(f"\nthreads={args.threads}  load average (1 min) before {load_before:.2f}, "
          f"after {load_after:.2f}")
    fmt = lambda p: f"{p:.1f}" if p else "n/a"
    print(f"f32 FMA peak of {args.threads} threads (cpu_time_probe --fma-peak) before "
          f"{fmt(peak_before)}, after {fmt(peak_after)} GFLOP/s; % peak is of the higher")
    print(f"{'benchmark':<34} {'wall ms':>9} {'GFLOP/s':>9} {'% peak':>7} {'cpu ms':>9} "
          f"{'GFLOP/cpu-s':>12}")
    if "gemm" in only:
        print(row("gemm 1024^3  anekit-cpu", res.get("ours_gemm"), GEMM_FLOP))
        if "crit_gemm" in res:
            print(row("  (anekit, criterion median)", res.get("crit_gemm"), GEMM_FLOP))
        print(row("gemm 1024^3  onnxruntime", res["ort_gemm"], GEMM_FLOP))
        print(row("gemm 1024^3  numpy (BLAS)", res["np_gemm"], GEMM_FLOP))
        print(ratio("ours_gemm", "ort_gemm"))
    if "conv" in only:
        print(row("conv 3x3 64->64 56x56 anekit", res.get("ours_conv"), CONV_FLOP))
        if "crit_conv" in res:
            print(row("  (anekit, criterion median)", res.get("crit_conv"), CONV_FLOP))
            print(row("  (anekit im2col path, criterion)", res.get("crit_conv_im2col"),
                      CONV_FLOP))
        print(row("conv 3x3 64->64 56x56 ort", res["ort_conv"], CONV_FLOP))
        print(ratio("ours_conv", "ort_conv"))
    if "block" in only:
        print(row("transformer block anekit (ane run)", res.get("ours_block"), BLOCK_FLOP))
        print(row("  (anekit, --numerics exact)", res.get("ours_block_exact"), BLOCK_FLOP))
        print(row("transformer block onnxruntime", res["ort_block"], BLOCK_FLOP))
        print(ratio("ours_block", "ort_block"))
    print("GFLOP/s of conv count the direct conv's multiply-adds (the Winograd path does fewer, "
          "so its % peak is not an efficiency); the block counts its convs and attention matmuls "
          "only.")
    print(f"Every figure: median wall (and mean CPU) time of {args.reps} runs after 3 warm-ups; "
          "for anekit and onnxruntime the faster of two such figures, taken alternately "
          "(anekit, onnxruntime, anekit, onnxruntime). anekit gemm/conv: `cpu_time_probe "
          "--median` (RAYON_NUM_THREADS=--threads); anekit block: `ane run --repeat` (fp16 I/O, "
          "wall only); criterion rows: the criterion bench's median, for reference.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
