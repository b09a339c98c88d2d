#!/usr/bin/env python3
"""Time anekit-cpu's GEMM and conv against onnxruntime (and numpy's BLAS) on this machine.

Builds the same graphs as crates/anekit-cpu/benches/kernels.rs in ONNX:
  gemm: MatMul [1024, 1024] x [1024, 1024]                      (2*1024^3 FLOP)
  conv: Conv 1x64x56x56, W 64x64x3x3, bias, pads 1, stride 1    (2*64*576*3136 FLOP)
times them with onnxruntime (CPU execution provider, all cores), then runs the anekit
criterion bench (unless --no-cargo) and reads its median estimates, and prints both side by
side with the machine load. Needs: pip install onnx onnxruntime numpy.

Usage: python3 benches/onnx/compare.py [--no-cargo] [--threads N] [--reps N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Pinned: a newer onnx package writes an IR version older onnxruntime builds refuse; 8 is
# what opset 17 needs.
IR_VERSION = 8

GEMM_FLOP = 2 * 1024**3
CONV_FLOP = 2 * 64 * 64 * 9 * 56 * 56


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


def anekit_medians(run_cargo):
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    if run_cargo:
        subprocess.run(["cargo", "bench", "-p", "anekit-cpu", "--bench", "kernels", "--",
                        "gemm|conv"], cwd=ROOT, check=True)
    out = {}
    for key, path in [("gemm", "gemm/1024"), ("conv", "conv/3x3_64_56")]:
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
                    help="do not run cargo bench; read the last criterion results")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()

    gemm, conv = build_models()
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (1024, 1024)).astype(np.float32)
    x = rng.uniform(-1, 1, (1, 64, 56, 56)).astype(np.float32)
    load_before = os.getloadavg()[0]
    ort_gemm = time_ort(gemm, {"a": a}, args.threads, args.reps)
    ort_conv = time_ort(conv, {"x": x}, args.threads, args.reps)
    bb = rng.uniform(-1, 1, (1024, 1024)).astype(np.float32)
    np_gemm = time_fn(lambda: a @ bb, args.reps)
    ours = anekit_medians(not args.no_cargo)
    load_after = os.getloadavg()[0]

    def row(name, t, flop):
        if t is None:
            return f"{name:<30} {'n/a':>9}"
        secs, cpu = t if isinstance(t, tuple) else (t, None)
        line = f"{name:<30} {secs * 1e3:>9.2f} {flop / secs / 1e9:>9.1f}"
        if cpu:
            line += f" {cpu * 1e3:>9.2f} {flop / cpu / 1e9:>12.1f}"
        return line

    print(f"\nthreads={args.threads}  load average (1 min) before {load_before:.2f}, "
          f"after {load_after:.2f}")
    print(f"{'benchmark':<30} {'wall ms':>9} {'GFLOP/s':>9} {'cpu ms':>9} {'GFLOP/cpu-s':>12}")
    print(row("gemm 1024^3  anekit-cpu", ours["gemm"], GEMM_FLOP))
    print(row("gemm 1024^3  onnxruntime", ort_gemm, GEMM_FLOP))
    print(row("gemm 1024^3  numpy (BLAS)", np_gemm, GEMM_FLOP))
    print(row("conv 3x3 64->64 56x56 anekit", ours["conv"], CONV_FLOP))
    print(row("conv 3x3 64->64 56x56 ort", ort_conv, CONV_FLOP))
    print("anekit figures are criterion medians (wall only; for CPU time run the "
          "cpu_time_probe example); onnxruntime/numpy: median wall and mean CPU time of "
          f"{args.reps} runs after 3 warm-up runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
