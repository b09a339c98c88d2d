#!/usr/bin/env python3
"""Per-op fixtures for anekit's CPU executor (crates/anekit-cpu/src/exec), numpy only.

Writes crates/anekit-cpu/tests/fixtures/exec/<family>.json: a list of cases, each a small MIL
program, its inputs and the outputs numpy computes for it, in both numerics modes:

- "ane": the program is typed fp16; the expectation rounds every op result to float16 (the
  executor's contract, docs/numerics.md), computed in float64 in between.
- "exact": the same program typed fp32; the expectation is the float64 result.

Tolerances are stated per case (see docs/executor.md): `ulps` (fp16 ulps of the expected value)
plus `atol` in ane mode, `rtol` plus `atol` in exact mode; "exact": bit-for-bit (indices,
masks, data movement).

Run: python3 scripts/gen_exec_fixtures.py   (deterministic: fixed seeds)
"""

import json
import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "anekit-cpu", "tests", "fixtures", "exec")

F16 = np.float16


def f16(a):
    with np.errstate(over="ignore"):  # overflow to inf is the point of some cases
        return np.asarray(a, dtype=np.float64).astype(F16).astype(np.float64)


def ident(a):
    return np.asarray(a, dtype=np.float64)


# ---------------------------------------------------------------- MIL text building


def hexf(v):
    v = float(v)
    if math.isnan(v):
        raise ValueError("no NaN literals")
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v.hex()


class V:
    """A reference to a value by name."""

    def __init__(self, name):
        self.name = name


class T:
    """A typed tensor literal."""

    def __init__(self, dtype, shape, values):
        self.dtype, self.shape, self.values = dtype, list(shape), list(np.asarray(values).reshape(-1))


def fmt_vals(dtype, vals):
    if dtype == "bool":
        return ", ".join("true" if v else "false" for v in vals)
    if dtype.startswith("fp"):
        return ", ".join(hexf(v) for v in vals)
    return ", ".join(str(int(v)) for v in vals)


def nest(dtype, vals, shape):
    """A literal nested like its shape: `[[1, 2], [3, 4]]`."""
    if len(shape) <= 1:
        return "[%s]" % fmt_vals(dtype, vals)
    step = len(vals) // shape[0]
    return "[%s]" % ", ".join(nest(dtype, vals[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0]))


class Prog:
    def __init__(self, dt, opset="ios18"):
        self.dt, self.opset = dt, opset
        self.ins, self.lines, self.outs = [], [], []

    def ty(self, shape, dtype=None):
        return "tensor<%s, [%s]>" % (dtype or self.dt, ", ".join(str(d) for d in shape))

    def input(self, name, shape, dtype=None):
        self.ins.append("%s %s" % (self.ty(shape, dtype), name))
        return V(name)

    def arg(self, v):
        if isinstance(v, V):
            return v.name
        if isinstance(v, tuple):
            return "(" + ", ".join(self.arg(x) for x in v) + ")"
        if isinstance(v, T):
            if not v.shape:
                return "%s(%s)" % (v.dtype, fmt_vals(v.dtype, v.values))
            return "%s(%s)" % (self.ty(v.shape, v.dtype), nest(v.dtype, v.values, v.shape))
        if isinstance(v, bool):
            return "bool(%s)" % ("true" if v else "false")
        if isinstance(v, int):
            return "int32(%d)" % v
        if isinstance(v, float):
            return "%s(%s)" % (self.dt, hexf(v))
        if isinstance(v, str):
            return 'string("%s")' % v
        if isinstance(v, list):
            if all(isinstance(x, bool) for x in v):
                return "tensor<bool, [%d]>([%s])" % (len(v), fmt_vals("bool", v))
            return "tensor<int32, [%d]>([%s])" % (len(v), fmt_vals("int32", v))
        raise TypeError(v)

    def op(self, kind, results, **args):
        """results: [(name, shape, dtype or None)]"""
        lhs = ", ".join("%s %s" % (self.ty(s, d), n) for n, s, d in results)
        a = ", ".join("%s = %s" % (k, self.arg(v)) for k, v in sorted(args.items()))
        self.lines.append('            %s = %s(%s)[name = string("%s")];' % (lhs, kind, a, results[0][0]))
        return [V(n) for n, _, _ in results]

    def one(self, kind, name, rshape, rtype=None, **args):
        return self.op(kind, [(name, rshape, rtype)], **args)[0]

    def text(self, outs):
        return "program(1.3)\n{\n    func main<%s>(%s) {\n%s\n        } -> (%s);\n}\n" % (
            self.opset, ", ".join(self.ins), "\n".join(self.lines), ", ".join(outs))


# ---------------------------------------------------------------- case collection

CASES = {}


def enc(a):
    out = []
    for v in np.asarray(a, dtype=np.float64).reshape(-1):
        if math.isnan(v):
            out.append("nan")
        elif math.isinf(v):
            out.append("inf" if v > 0 else "-inf")
        else:
            out.append(float(v))
    return out


def add_case(family, name, mode, prog, inputs, outputs, tol):
    """inputs: [(name, dtype, array)], outputs: [(name, dtype, array)]"""
    CASES.setdefault(family, []).append({
        "name": name,
        "mode": mode,
        "mil": prog.text([n for n, _, _ in outputs]),
        "inputs": [{"name": n, "dtype": d, "shape": list(np.shape(a)), "data": enc(a)} for n, d, a in inputs],
        "outputs": [{"name": n, "dtype": d, "shape": list(np.shape(a)), "data": enc(a)} for n, d, a in outputs],
        "tol": tol,
    })


def both(family, name, build, ane_tol=None, exact_tol=None, modes=("ane", "exact")):
    """build(prog, rnd) -> (inputs, outputs) with arrays already rounded by rnd where the
    contract rounds (inputs and every op result); float dtypes are written as the program's."""
    for mode in modes:
        dt = "fp16" if mode == "ane" else "fp32"
        rnd = f16 if mode == "ane" else ident
        p = Prog(dt)
        ins, outs = build(p, rnd)
        fix = lambda d: dt if d == "f" else d
        tol = (ane_tol or {"ulps": 1, "atol": 0.0}) if mode == "ane" else (exact_tol or {"rtol": 1e-5, "atol": 1e-6})
        add_case(family, name, mode, p,
                 [(n, fix(d), a) for n, d, a in ins],
                 [(n, fix(d), a) for n, d, a in outs], tol)


EXACT = {"exact": True}


def rng_for(name):
    # A seed from the case name (Python's str hash is salted per process).
    return np.random.default_rng(sum((i + 1) * ord(c) for i, c in enumerate(name)))


def rand(rng, shape, lo=-2.0, hi=2.0):
    return f16(rng.uniform(lo, hi, size=shape))


# ---------------------------------------------------------------- elementwise

BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "real_div": np.divide,
    "maximum": np.maximum, "minimum": np.minimum,
    "floor_div": lambda a, b: np.floor(a / b),
    "pow": np.power,
    "mod": lambda a, b: a - np.floor(a / b) * b,
}


def gen_binary():
    for op, fn in BINARY.items():
        for xs, ys, tag in [((2, 3, 5), (3, 1), "bcast"), ((7,), (7,), "same"), ((1, 4, 1), (3, 1, 5), "both")]:
            def build(p, rnd, op=op, fn=fn, xs=xs, ys=ys):
                r = rng_for(op + tag)
                a = rand(r, xs, 0.25, 2.0) if op == "pow" else rand(r, xs)
                b = rand(r, ys, -1.5, 1.5)
                if op in ("real_div", "floor_div", "mod"):
                    b = np.where(np.abs(b) < 0.25, 0.5, b)
                out = np.broadcast_shapes(xs, ys)
                x, y = p.input("x", xs), p.input("y", ys)
                p.one(op, "z", out, x=x, y=y)
                return [("x", "f", rnd(a)), ("y", "f", rnd(b))], [("z", "f", rnd(fn(rnd(a), rnd(b))))]
            both("elementwise", "%s_%s" % (op, tag), build)


UNARY = {
    "abs": (np.abs, -2, 2), "sqrt": (np.sqrt, 0, 4), "exp": (np.exp, -3, 3), "exp2": (np.exp2, -3, 3),
    "floor": (np.floor, -3, 3), "ceil": (np.ceil, -3, 3), "sign": (np.sign, -2, 2),
    "sin": (np.sin, -3, 3), "cos": (np.cos, -3, 3), "tan": (np.tan, -1, 1), "tanh": (np.tanh, -3, 3),
    "square": (np.square, -3, 3), "erf": (np.vectorize(math.erf), -2, 2),
    "asin": (np.arcsin, -0.9, 0.9), "acos": (np.arccos, -0.9, 0.9), "atan": (np.arctan, -3, 3),
    "sinh": (np.sinh, -2, 2), "cosh": (np.cosh, -2, 2), "atanh": (np.arctanh, -0.9, 0.9),
}


def gen_unary():
    for op, (fn, lo, hi) in UNARY.items():
        def build(p, rnd, op=op, fn=fn, lo=lo, hi=hi):
            a = rand(rng_for(op), (3, 17), lo, hi)
            x = p.input("x", (3, 17))
            p.one(op, "y", (3, 17), x=x)
            return [("x", "f", rnd(a))], [("y", "f", rnd(fn(rnd(a))))]
        both("elementwise", op, build)

    # Ops with an epsilon (MIL defaults) and round (half to even).
    def eps_op(op, fn, lo, hi, eps=None):
        def build(p, rnd):
            a = rand(rng_for(op + str(eps)), (2, 9), lo, hi)
            x = p.input("x", (2, 9))
            args = {"x": x}
            if eps is not None:
                args["epsilon"] = eps
            p.one(op, "y", (2, 9), **args)
            e = eps if eps is not None else {"rsqrt": 1e-12, "inverse": 1e-4, "log": 1e-45}[op]
            e = float(rnd(e)) if eps is not None else e
            return [("x", "f", rnd(a))], [("y", "f", rnd(fn(rnd(a), e)))]
        both("elementwise", "%s_eps%s" % (op, "default" if eps is None else "set"), build,
             exact_tol={"rtol": 2e-5, "atol": 1e-6})

    eps_op("rsqrt", lambda a, e: 1 / np.sqrt(a + e), 0.1, 4)
    eps_op("rsqrt", lambda a, e: 1 / np.sqrt(a + e), 0.1, 4, 0.5)
    eps_op("inverse", lambda a, e: 1 / (a + e), 0.2, 3)
    eps_op("log", lambda a, e: np.log(a + e), 0.1, 5)
    eps_op("log", lambda a, e: np.log(a + e), 0.1, 5, 0.25)

    def build_round(p, rnd):
        a = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51, 3.75])
        x = p.input("x", (9,))
        p.one("round", "y", (9,), x=x)
        return [("x", "f", a)], [("y", "f", np.round(a))]
    both("elementwise", "round_half_even", build_round)

    def build_clip(p, rnd):
        a = rand(rng_for("clip"), (4, 5), -3, 3)
        x = p.input("x", (4, 5))
        p.one("clip", "y", (4, 5), x=x, alpha=-1.0, beta=1.5)
        return [("x", "f", a)], [("y", "f", np.clip(a, -1.0, 1.5))]
    both("elementwise", "clip", build_clip)


def gen_edge():
    # fp16 overflow to inf, subnormal results kept, ties to even: ane mode only (exact mode
    # has none of these by definition; checked with fp32 programs below).
    def build(p, rnd):
        x = np.array([60000.0, -60000.0, 65504.0, 1.0, 1.0 + 2**-10, 2**-14, 2**-20, 3e-5])
        y = np.array([60000.0, -60000.0, 16.0, 2**-11, 2**-11, -2**-15, 2**-21, 3e-5])
        x, y = f16(x), f16(y)
        p.input("x", (8,)), p.input("y", (8,))
        p.one("add", "s", (8,), x=V("x"), y=V("y"))
        p.one("mul", "m", (8,), x=V("x"), y=V("y"))
        return [("x", "f", x), ("y", "f", y)], [("s", "f", f16(x + y)), ("m", "f", f16(x * y))]
    both("edge", "overflow_subnormal_ties", build, ane_tol=EXACT, modes=("ane",))

    def build_exact(p, rnd):
        x = np.array([60000.0, 1.0, 2**-14], dtype=np.float64)
        y = np.array([60000.0, 2**-11, -2**-15], dtype=np.float64)
        p.input("x", (3,)), p.input("y", (3,))
        p.one("add", "s", (3,), x=V("x"), y=V("y"))
        return [("x", "f", x), ("y", "f", y)], [("s", "f", x + y)]
    both("edge", "no_rounding_in_exact", build_exact, exact_tol=EXACT, modes=("exact",))

    # A chain: every intermediate is rounded in ane mode (a + b - b != a for a tie).
    def build_chain(p, rnd):
        a = f16(np.array([1.0, 1.0, 2048.0, 0.1]))
        b = f16(np.array([2**-11, 3 * 2**-11, 1.0, 1e-4]))
        p.input("a", (4,)), p.input("b", (4,))
        p.one("add", "s", (4,), x=V("a"), y=V("b"))
        p.one("sub", "d", (4,), x=V("s"), y=V("b"))
        s = rnd(a + b)
        return [("a", "f", a), ("b", "f", b)], [("d", "f", rnd(s - b))]
    both("edge", "chain_rounds_each_op", build_chain, ane_tol=EXACT, exact_tol={"rtol": 1e-7, "atol": 0.0})

    # fp32-declared results stay f32 inside an fp16 program (ane mode).
    def build_cast(p, rnd):
        a = f16(np.array([1.0, 2.0, 3.0]))
        p.input("x", (3,))
        p.one("cast", "x32", (3,), "fp32", x=V("x"), dtype="fp32")
        p.one("real_div", "q", (3,), "fp32", x=V("x32"), y=T("fp32", [], [3.0]))
        p.one("cast", "q16", (3,), "fp16", x=V("q"), dtype="fp16")
        q = (a.astype(np.float32) / np.float32(3.0)).astype(np.float64)
        return [("x", "fp16", a)], [("q", "fp32", q), ("q16", "fp16", f16(q))]
    both("edge", "fp32_values_stay_fp32", build_cast, ane_tol={"ulps": 0, "atol": 1e-7}, modes=("ane",))


def gen_compare_logical():
    for op, fn in [("equal", np.equal), ("not_equal", np.not_equal), ("less", np.less),
                   ("less_equal", np.less_equal), ("greater", np.greater), ("greater_equal", np.greater_equal)]:
        def build(p, rnd, op=op, fn=fn):
            r = rng_for(op)
            a = np.round(rand(r, (3, 4), -2, 2))
            b = np.round(rand(r, (4,), -2, 2))
            x, y = p.input("x", (3, 4)), p.input("y", (4,))
            p.one(op, "z", (3, 4), "bool", x=x, y=y)
            return [("x", "f", a), ("y", "f", b)], [("z", "bool", fn(a, b))]
        both("logical", op, build, ane_tol=EXACT, exact_tol=EXACT)

    def build_logic(p, rnd):
        r = rng_for("logic")
        a = r.uniform(size=(2, 5)) < 0.5
        b = r.uniform(size=(5,)) < 0.5
        x, y = p.input("x", (2, 5), "bool"), p.input("y", (5,), "bool")
        p.one("logical_and", "and_", (2, 5), "bool", x=x, y=y)
        p.one("logical_or", "or_", (2, 5), "bool", x=x, y=y)
        p.one("logical_xor", "xor_", (2, 5), "bool", x=x, y=y)
        p.one("logical_not", "not_", (2, 5), "bool", x=x)
        return ([("x", "bool", a), ("y", "bool", b)],
                [("and_", "bool", a & b), ("or_", "bool", a | b), ("xor_", "bool", a ^ b), ("not_", "bool", ~a)])
    both("logical", "logical_ops", build_logic, ane_tol=EXACT, exact_tol=EXACT)

    def build_select(p, rnd):
        r = rng_for("select")
        c = r.uniform(size=(3, 1)) < 0.5
        a, b = rand(r, (3, 4)), rand(r, (4,))
        p.input("c", (3, 1), "bool"), p.input("a", (3, 4)), p.input("b", (4,))
        p.one("select", "z", (3, 4), cond=V("c"), a=V("a"), b=V("b"))
        return [("c", "bool", c), ("a", "f", a), ("b", "f", b)], [("z", "f", np.where(c, a, b))]
    both("logical", "select_broadcast", build_select, ane_tol=EXACT, exact_tol=EXACT)

    def build_cast(p, rnd):
        a = f16(np.array([-2.7, -0.5, 0.0, 0.4, 1.9, 3.0, 100.25]))
        x = p.input("x", (7,))
        p.one("cast", "i", (7,), "int32", x=x, dtype="int32")
        p.one("cast", "b", (7,), "bool", x=x, dtype="bool")
        p.one("cast", "back", (7,), x=V("i"), dtype=p.dt)
        i = np.trunc(a)
        return [("x", "f", a)], [("i", "int32", i), ("b", "bool", a != 0), ("back", "f", i)]
    both("logical", "cast_int_bool", build_cast, ane_tol=EXACT, exact_tol=EXACT)


# ---------------------------------------------------------------- activations

def sigmoid(x):
    return 1 / (1 + np.exp(-x))


ACT = {
    "relu": (lambda x: np.maximum(x, 0), {}),
    "relu6": (lambda x: np.clip(x, 0, 6), {}),
    "sigmoid": (sigmoid, {}),
    "tanh": (np.tanh, {}),
    "silu": (lambda x: x * sigmoid(x), {}),
    "softplus": (lambda x: np.log1p(np.exp(x)), {}),
    "softsign": (lambda x: x / (1 + np.abs(x)), {}),
    "leaky_relu": (lambda x: np.where(x >= 0, x, 0.125 * x), {"alpha": 0.125}),
    "elu": (lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)), {"alpha": 0.5}),
    "sigmoid_hard": (lambda x: np.clip(0.25 * x + 0.5, 0, 1), {"alpha": 0.25, "beta": 0.5}),
    "thresholded_relu": (lambda x: np.where(x > 0.5, x, 0), {"alpha": 0.5}),
    "clamped_relu": (lambda x: np.minimum(np.where(x >= 0, x, 0.5 * x), 1.5), {"alpha": 0.5, "beta": 1.5}),
    "scaled_tanh": (lambda x: 2.0 * np.tanh(0.5 * x), {"alpha": 2.0, "beta": 0.5}),
    "linear_activation": (lambda x: 1.5 * x - 0.25, {"alpha": 1.5, "beta": -0.25}),
}

ERF = np.vectorize(math.erf)
GELU = {
    "EXACT": lambda x: 0.5 * x * (1 + ERF(x / math.sqrt(2))),
    "TANH_APPROXIMATION": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    "SIGMOID_APPROXIMATION": lambda x: x * sigmoid(1.702 * x),
}


def gen_activation():
    for op, (fn, params) in ACT.items():
        def build(p, rnd, op=op, fn=fn, params=params):
            a = rand(rng_for(op), (2, 3, 11), -4, 4)
            x = p.input("x", (2, 3, 11))
            p.one(op, "y", (2, 3, 11), x=x, **params)
            return [("x", "f", a)], [("y", "f", rnd(fn(a)))]
        both("activation", op, build)
    for mode, fn in GELU.items():
        def build(p, rnd, mode=mode, fn=fn):
            a = rand(rng_for(mode), (5, 13), -4, 4)
            x = p.input("x", (5, 13))
            p.one("gelu", "y", (5, 13), x=x, mode=mode)
            return [("x", "f", a)], [("y", "f", rnd(fn(a)))]
        both("activation", "gelu_" + mode.lower(), build, exact_tol={"rtol": 1e-5, "atol": 2e-6})

    for axis in (-1, 1):
        def build(p, rnd, axis=axis):
            a = rand(rng_for("softmax%d" % axis), (2, 5, 7), -4, 4)
            x = p.input("x", (2, 5, 7))
            p.one("softmax", "y", (2, 5, 7), x=x, axis=axis)
            e = np.exp(a - a.max(axis=axis, keepdims=True))
            return [("x", "f", a)], [("y", "f", rnd(e / e.sum(axis=axis, keepdims=True)))]
        both("activation", "softmax_axis%d" % axis, build)

    def build_prelu(p, rnd):
        a = rand(rng_for("prelu"), (1, 3, 2, 4), -2, 2)
        al = f16(np.array([0.25, 0.5, -1.0]))
        x = p.input("x", (1, 3, 2, 4))
        p.one("prelu", "y", (1, 3, 2, 4), x=x, alpha=T(p.dt, [3], al))
        return [("x", "f", a)], [("y", "f", rnd(np.where(a >= 0, a, al[None, :, None, None] * a)))]
    both("activation", "prelu", build_prelu)


# ---------------------------------------------------------------- reductions and norms

RED = {
    "reduce_sum": np.sum, "reduce_mean": np.mean, "reduce_max": np.max, "reduce_min": np.min,
    "reduce_prod": np.prod, "reduce_l1_norm": lambda a, axis, keepdims: np.sum(np.abs(a), axis=axis, keepdims=keepdims),
    "reduce_l2_norm": lambda a, axis, keepdims: np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims)),
    "reduce_sum_square": lambda a, axis, keepdims: np.sum(a * a, axis=axis, keepdims=keepdims),
    "reduce_log_sum_exp": lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims)),
    "reduce_log_sum": lambda a, axis, keepdims: np.log(np.sum(a, axis=axis, keepdims=keepdims)),
}
RED_TOL_ANE = {"ulps": 1, "atol": 1e-3}
RED_TOL_EXACT = {"rtol": 1e-5, "atol": 1e-5}


def gen_reduce():
    for op, fn in RED.items():
        for axes, keep in [([1], True), ([0, 2], False), ([-1], False)]:
            def build(p, rnd, op=op, fn=fn, axes=axes, keep=keep):
                lo, hi = (0.5, 1.5) if op in ("reduce_prod", "reduce_log_sum") else (-2, 2)
                a = rand(rng_for(op + str(axes)), (3, 5, 7), lo, hi)
                x = p.input("x", (3, 5, 7))
                out = np.shape(fn(a, axis=tuple(axes), keepdims=keep))
                p.one(op, "y", out, x=x, axes=axes, keep_dims=keep)
                return [("x", "f", a)], [("y", "f", rnd(fn(a, axis=tuple(axes), keepdims=keep)))]
            both("reduce", "%s_%s_%s" % (op, "_".join(map(str, axes)), "keep" if keep else "drop"), build,
                 ane_tol=RED_TOL_ANE, exact_tol=RED_TOL_EXACT)

    def build_arg(p, rnd):
        a = rand(rng_for("argmax"), (4, 9), -2, 2)
        x = p.input("x", (4, 9))
        p.one("reduce_argmax", "i", (4,), "int32", x=x, axis=1, keep_dims=False)
        p.one("reduce_argmin", "j", (1, 9), "int32", x=x, axis=0, keep_dims=True)
        return [("x", "f", a)], [("i", "int32", np.argmax(a, axis=1)), ("j", "int32", np.argmin(a, axis=0)[None])]
    both("reduce", "argmax_argmin", build_arg, ane_tol=EXACT, exact_tol=EXACT)


def gen_norm():
    def build_ln(p, rnd):
        r = rng_for("layer_norm")
        a, g, b = rand(r, (2, 3, 16), -2, 2), rand(r, (16,), 0.5, 1.5), rand(r, (16,), -0.5, 0.5)
        x = p.input("x", (2, 3, 16))
        p.one("layer_norm", "y", (2, 3, 16), x=x, axes=[-1], gamma=T(p.dt, [16], g), beta=T(p.dt, [16], b),
              epsilon=1e-5)
        m = a.mean(-1, keepdims=True)
        v = ((a - m) ** 2).mean(-1, keepdims=True)
        eps = float(rnd(1e-5))
        return [("x", "f", a)], [("y", "f", rnd((a - m) / np.sqrt(v + eps) * g + b))]
    both("norm", "layer_norm_last_axis", build_ln, ane_tol={"ulps": 1, "atol": 1e-3}, exact_tol=RED_TOL_EXACT)

    def build_ln2(p, rnd):
        a = rand(rng_for("layer_norm2"), (2, 4, 5), -2, 2)
        x = p.input("x", (2, 4, 5))
        p.one("layer_norm", "y", (2, 4, 5), x=x, axes=[1, 2], epsilon=1e-3)
        m = a.mean((1, 2), keepdims=True)
        v = ((a - m) ** 2).mean((1, 2), keepdims=True)
        return [("x", "f", a)], [("y", "f", rnd((a - m) / np.sqrt(v + float(rnd(1e-3)))))]
    both("norm", "layer_norm_two_axes_no_affine", build_ln2, ane_tol={"ulps": 1, "atol": 1e-3}, exact_tol=RED_TOL_EXACT)

    def build_bn(p, rnd):
        r = rng_for("batch_norm")
        a = rand(r, (2, 3, 4, 5), -2, 2)
        mean, var = rand(r, (3,), -0.5, 0.5), rand(r, (3,), 0.5, 2)
        g, b = rand(r, (3,), 0.5, 1.5), rand(r, (3,), -0.5, 0.5)
        x = p.input("x", (2, 3, 4, 5))
        p.one("batch_norm", "y", (2, 3, 4, 5), x=x, mean=T(p.dt, [3], mean), variance=T(p.dt, [3], var),
              gamma=T(p.dt, [3], g), beta=T(p.dt, [3], b), epsilon=1e-3)
        sh = (1, 3, 1, 1)
        y = (a - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + float(rnd(1e-3))) * g.reshape(sh) + b.reshape(sh)
        return [("x", "f", a)], [("y", "f", rnd(y))]
    both("norm", "batch_norm", build_bn, ane_tol={"ulps": 1, "atol": 1e-3}, exact_tol=RED_TOL_EXACT)

    def build_in(p, rnd):
        r = rng_for("instance_norm")
        a = rand(r, (2, 3, 4, 5), -2, 2)
        g, b = rand(r, (3,), 0.5, 1.5), rand(r, (3,), -0.5, 0.5)
        x = p.input("x", (2, 3, 4, 5))
        p.one("instance_norm", "y", (2, 3, 4, 5), x=x, gamma=T(p.dt, [3], g), beta=T(p.dt, [3], b), epsilon=1e-5)
        m = a.mean((2, 3), keepdims=True)
        v = ((a - m) ** 2).mean((2, 3), keepdims=True)
        y = (a - m) / np.sqrt(v + float(rnd(1e-5))) * g.reshape(1, 3, 1, 1) + b.reshape(1, 3, 1, 1)
        return [("x", "f", a)], [("y", "f", rnd(y))]
    both("norm", "instance_norm", build_in, ane_tol={"ulps": 1, "atol": 1e-3}, exact_tol=RED_TOL_EXACT)

    def build_l2(p, rnd):
        a = rand(rng_for("l2_norm"), (2, 3, 4, 5), -2, 2)
        x = p.input("x", (2, 3, 4, 5))
        p.one("l2_norm", "y", (2, 3, 4, 5), x=x)
        n = np.sqrt((a * a).sum((1, 2, 3), keepdims=True) + 1e-6)
        return [("x", "f", a)], [("y", "f", rnd(a / n))]
    both("norm", "l2_norm", build_l2, ane_tol={"ulps": 1, "atol": 1e-4}, exact_tol=RED_TOL_EXACT)


# ---------------------------------------------------------------- matmul, conv, pool

def dot_tol(k):
    return {"ulps": 1, "atol": 1e-3}, {"rtol": 1e-5, "atol": 2e-6 * k}


def gen_linear():
    for xs, ys, tx, ty, tag in [((3, 5), (5, 4), False, False, "2d"),
                                ((2, 3, 6), (6, 7), False, False, "batch_x"),
                                ((1, 3, 5), (2, 4, 5), False, True, "bcast_ty"),
                                ((2, 5, 3), (2, 5, 4), True, False, "tx"),
                                ((5,), (5, 3), False, False, "vec")]:
        def build(p, rnd, xs=xs, ys=ys, tx=tx, ty=ty, tag=tag):
            r = rng_for("matmul" + tag)
            a, b = rand(r, xs, -1, 1), rand(r, ys, -1, 1)
            aa = np.swapaxes(a, -1, -2) if tx else a
            bb = np.swapaxes(b, -1, -2) if ty else b
            z = np.matmul(aa, bb)
            x, y = p.input("x", xs), p.input("y", ys)
            p.one("matmul", "z", z.shape, x=x, y=y, transpose_x=tx, transpose_y=ty)
            return [("x", "f", a), ("y", "f", b)], [("z", "f", rnd(z))]
        at, et = dot_tol(7)
        both("linear", "matmul_" + tag, build, ane_tol=at, exact_tol=et)

    def build_lin(p, rnd):
        r = rng_for("linear")
        a, w, b = rand(r, (2, 3, 9), -1, 1), rand(r, (5, 9), -1, 1), rand(r, (5,), -1, 1)
        x = p.input("x", (2, 3, 9))
        p.one("linear", "z", (2, 3, 5), x=x, weight=T(p.dt, [5, 9], w), bias=T(p.dt, [5], b))
        return [("x", "f", a)], [("z", "f", rnd(a @ w.T + b))]
    at, et = dot_tol(9)
    both("linear", "linear_bias", build_lin, ane_tol=at, exact_tol=et)


def conv_ref(x, w, b, strides, dil, pads, groups):
    """Direct 2-D convolution. pads = [top, bottom, left, right]."""
    n, c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[1]), (pads[2], pads[3])))
    ho = (h + pads[0] + pads[1] - dil[0] * (kh - 1) - 1) // strides[0] + 1
    wo = (wd + pads[2] + pads[3] - dil[1] * (kw - 1) - 1) // strides[1] + 1
    out = np.zeros((n, co, ho, wo))
    og = co // groups
    for o in range(co):
        g = o // og
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, g * cg:(g + 1) * cg,
                           i * strides[0]: i * strides[0] + dil[0] * (kh - 1) + 1: dil[0],
                           j * strides[1]: j * strides[1] + dil[1] * (kw - 1) + 1: dil[1]]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def same_pads(i, k, s, d, lower=False):
    eff = d * (k - 1) + 1
    o = -(-i // s)
    total = max((o - 1) * s + eff - i, 0)
    small, large = total // 2, total - total // 2
    return (large, small) if lower else (small, large)


def gen_conv():
    specs = [
        # name, x shape, cout, k, strides, dil, groups, pad_type, custom pads, bias
        ("3x3_same", (1, 3, 7, 6), 4, (3, 3), (1, 1), (1, 1), 1, "same", None, True),
        ("3x3_stride2_valid", (2, 2, 9, 8), 3, (3, 3), (2, 2), (1, 1), 1, "valid", None, False),
        ("groups2_dilated", (1, 4, 9, 9), 6, (3, 3), (1, 1), (2, 2), 2, "same", None, True),
        ("depthwise", (1, 5, 6, 7), 5, (3, 3), (1, 1), (1, 1), 5, "custom", (1, 0, 2, 1), True),
        ("same_lower_stride2", (1, 2, 6, 6), 2, (2, 2), (2, 2), (1, 1), 1, "same_lower", None, False),
        ("1x1", (1, 8, 1, 5), 3, (1, 1), (1, 1), (1, 1), 1, "valid", None, True),
    ]
    for name, xs, co, k, st, dl, g, pt, custom, has_b in specs:
        def build(p, rnd, xs=xs, co=co, k=k, st=st, dl=dl, g=g, pt=pt, custom=custom, has_b=has_b, name=name):
            r = rng_for("conv" + name)
            a = rand(r, xs, -1, 1)
            w = rand(r, (co, xs[1] // g) + k, -0.5, 0.5)
            b = rand(r, (co,), -0.5, 0.5) if has_b else None
            if pt == "valid":
                pads = (0, 0, 0, 0)
            elif pt == "custom":
                pads = custom
            else:
                ph = same_pads(xs[2], k[0], st[0], dl[0], pt == "same_lower")
                pw = same_pads(xs[3], k[1], st[1], dl[1], pt == "same_lower")
                pads = ph + pw
            y = conv_ref(a, w, b, st, dl, pads, g)
            x = p.input("x", xs)
            args = dict(x=x, weight=T(p.dt, list(w.shape), w), strides=list(st), dilations=list(dl), groups=g,
                        pad_type=pt, pad=list(pads) if pt == "custom" else [0, 0, 0, 0])
            if has_b:
                args["bias"] = T(p.dt, [co], b)
            p.one("conv", "y", y.shape, **args)
            return [("x", "f", a)], [("y", "f", rnd(y))]
        at, et = dot_tol(30)
        both("conv", "conv_" + name, build, ane_tol=at, exact_tol=et)

    def build_conv1d(p, rnd):
        r = rng_for("conv1d")
        a, w = rand(r, (1, 3, 10), -1, 1), rand(r, (4, 3, 3), -0.5, 0.5)
        y = conv_ref(a[:, :, None, :], w[:, :, None, :], None, (1, 2), (1, 1), (0, 0, 1, 1), 1)[:, :, 0, :]
        x = p.input("x", (1, 3, 10))
        p.one("conv", "y", y.shape, x=x, weight=T(p.dt, [4, 3, 3], w), strides=[2], dilations=[1], groups=1,
              pad_type="custom", pad=[1, 1])
        return [("x", "f", a)], [("y", "f", rnd(y))]
    at, et = dot_tol(9)
    both("conv", "conv_1d", build_conv1d, ane_tol=at, exact_tol=et)

    def build_convt(p, rnd):
        r = rng_for("conv_transpose")
        a, w = rand(r, (1, 2, 3, 4), -1, 1), rand(r, (2, 3, 3, 3), -0.5, 0.5)
        # Transposed conv: scatter every input pixel times the kernel, stride 2, crop pad 1.
        s, pd = 2, 1
        full = np.zeros((1, 3, (3 - 1) * s + 3, (4 - 1) * s + 3))
        for c in range(2):
            for i in range(3):
                for j in range(4):
                    full[0, :, i * s:i * s + 3, j * s:j * s + 3] += a[0, c, i, j] * w[c]
        y = full[:, :, pd:full.shape[2] - pd, pd:full.shape[3] - pd]
        x = p.input("x", (1, 2, 3, 4))
        p.one("conv_transpose", "y", y.shape, x=x, weight=T(p.dt, [2, 3, 3, 3], w), strides=[2, 2],
              dilations=[1, 1], groups=1, pad_type="custom", pad=[1, 1, 1, 1])
        return [("x", "f", a)], [("y", "f", rnd(y))]
    at, et = dot_tol(10)
    both("conv", "conv_transpose_stride2", build_convt, ane_tol=at, exact_tol=et)

    def pool_ref(a, k, s, pads, kind, exclude):
        n, c, h, w = a.shape
        ho = (h + pads[0] + pads[1] - k[0]) // s[0] + 1
        wo = (w + pads[2] + pads[3] - k[1]) // s[1] + 1
        out = np.zeros((n, c, ho, wo))
        for i in range(ho):
            for j in range(wo):
                r0, c0 = i * s[0] - pads[0], j * s[1] - pads[2]
                r1, c1 = r0 + k[0], c0 + k[1]
                rr0, cc0, rr1, cc1 = max(r0, 0), max(c0, 0), min(r1, h), min(c1, w)
                win = a[:, :, rr0:rr1, cc0:cc1]
                if kind == "max":
                    out[:, :, i, j] = win.max(axis=(2, 3))
                else:
                    cnt = win.shape[2] * win.shape[3] if exclude else k[0] * k[1]
                    out[:, :, i, j] = win.sum(axis=(2, 3)) / cnt
        return out

    for kind, exclude, pt in [("max", False, "valid"), ("max", False, "same"), ("avg", False, "valid"),
                              ("avg", True, "same"), ("avg", False, "same")]:
        def build(p, rnd, kind=kind, exclude=exclude, pt=pt):
            a = rand(rng_for("pool" + kind + pt + str(exclude)), (1, 2, 7, 6), -2, 2)
            k, s = (3, 2), (2, 2)
            pads = (0, 0, 0, 0) if pt == "valid" else same_pads(7, 3, 2, 1) + same_pads(6, 2, 2, 1)
            y = pool_ref(a, k, s, pads, kind, exclude)
            x = p.input("x", (1, 2, 7, 6))
            args = dict(x=x, kernel_sizes=list(k), strides=list(s), pad_type=pt, pad=[0, 0, 0, 0], ceil_mode=False)
            if kind == "avg":
                args["exclude_padding_from_average"] = exclude
            p.one(kind + "_pool", "y", y.shape, **args)
            return [("x", "f", a)], [("y", "f", rnd(y))]
        both("conv", "%s_pool_%s%s" % (kind, pt, "_exclude" if exclude else ""), build,
             ane_tol={"ulps": 1, "atol": 1e-4}, exact_tol=RED_TOL_EXACT)


# ---------------------------------------------------------------- data movement

def gen_shape():
    X = (2, 3, 4)

    def simple(name, out_fn, kind, dtype_tol=EXACT, xshape=X, **params):
        def build(p, rnd):
            a = rand(rng_for(name), xshape)
            y = out_fn(a)
            x = p.input("x", xshape)
            p.one(kind, "y", y.shape, x=x, **params)
            return [("x", "f", a)], [("y", "f", y)]
        both("shape", name, build, ane_tol=dtype_tol, exact_tol=dtype_tol)

    simple("reshape_infer", lambda a: a.reshape(4, -1), "reshape", shape=[4, -1])
    simple("transpose", lambda a: a.transpose(2, 0, 1), "transpose", perm=[2, 0, 1])
    simple("squeeze_all", lambda a: a.reshape(2, 3), "squeeze", xshape=(1, 2, 1, 3))
    simple("squeeze_axes", lambda a: a.reshape(2, 1, 3), "squeeze", xshape=(1, 2, 1, 3), axes=[0])
    simple("flatten2d", lambda a: a.reshape(2, 12), "flatten2d", axis=1)
    simple("expand_dims", lambda a: a.reshape(2, 1, 3, 4, 1), "expand_dims", axes=[1, -1])
    simple("tile", lambda a: np.tile(a, (1, 2, 3)), "tile", reps=[1, 2, 3])
    simple("pad_constant", lambda a: np.pad(a, ((0, 0), (1, 2), (0, 1)), constant_values=0.5), "pad",
           pad=[1, 2, 0, 1], mode="constant", constant_val=0.5)
    simple("pad_reflect", lambda a: np.pad(a, ((0, 0), (0, 0), (2, 1)), mode="reflect"), "pad",
           pad=[2, 1], mode="reflect")
    simple("pad_replicate", lambda a: np.pad(a, ((0, 0), (1, 1), (0, 2)), mode="edge"), "pad",
           pad=[1, 1, 0, 2], mode="replicate")
    simple("slice_by_index_strides", lambda a: a[:, ::-1, 1::2], "slice_by_index",
           begin=[0, -1, 1], end=[2, 0, 4], stride=[1, -1, 2], begin_mask=[True, False, False],
           end_mask=[True, True, False])
    simple("slice_by_index_squeeze", lambda a: a[1, 0:2, -1], "slice_by_index",
           begin=[1, 0, -1], end=[2, 2, 4], squeeze_mask=[True, False, True])
    simple("slice_by_size", lambda a: a[:, 1:3, 0:4], "slice_by_size", begin=[0, 1, 0], size=[-1, 2, 4])
    simple("reverse", lambda a: a[:, ::-1, ::-1], "reverse", axes=[1, 2])
    simple("upsample_nearest", lambda a: a[:, np.arange(6) // 2][:, :, np.arange(8) // 2],
           "upsample_nearest_neighbor", scale_factor_height=2.0, scale_factor_width=2.0)
    band = np.subtract.outer(np.arange(3), np.arange(4))  # m - n
    simple("band_part", lambda a: a * ((band <= 1) & (-band <= 0)), "band_part", lower=1, upper=0)

    def build_cumsum(p, rnd):
        a = rand(rng_for("cumsum"), X)
        x = p.input("x", X)
        p.one("cumsum", "y", X, x=x, axis=2, exclusive=True, reverse=True)
        rev = np.cumsum(a[:, :, ::-1], axis=2)[:, :, ::-1]
        excl = rev - a
        return [("x", "f", a)], [("y", "f", rnd(excl))]
    both("shape", "cumsum_exclusive_reverse", build_cumsum, ane_tol={"ulps": 1, "atol": 1e-3},
         exact_tol=RED_TOL_EXACT)

    def build_concat(p, rnd):
        r = rng_for("concat")
        a, b = rand(r, (2, 3)), rand(r, (2, 2))
        p.input("a", (2, 3)), p.input("b", (2, 2))
        p.one("concat", "y", (2, 5), values=(V("a"), V("b")), axis=1, interleave=False)
        return [("a", "f", a), ("b", "f", b)], [("y", "f", np.concatenate([a, b], 1))]
    both("shape", "concat", build_concat, ane_tol=EXACT, exact_tol=EXACT)

    def build_concat_il(p, rnd):
        r = rng_for("concat_il")
        a, b = rand(r, (2, 2, 3)), rand(r, (2, 2, 3))
        p.input("a", (2, 2, 3)), p.input("b", (2, 2, 3))
        p.one("concat", "y", (2, 4, 3), values=(V("a"), V("b")), axis=1, interleave=True)
        y = np.stack([a, b], axis=2).reshape(2, 4, 3)
        return [("a", "f", a), ("b", "f", b)], [("y", "f", y)]
    both("shape", "concat_interleave", build_concat_il, ane_tol=EXACT, exact_tol=EXACT)

    def build_stack(p, rnd):
        r = rng_for("stack")
        a, b = rand(r, (2, 3)), rand(r, (2, 3))
        p.input("a", (2, 3)), p.input("b", (2, 3))
        p.one("stack", "y", (2, 2, 3), values=(V("a"), V("b")), axis=1)
        return [("a", "f", a), ("b", "f", b)], [("y", "f", np.stack([a, b], 1))]
    both("shape", "stack", build_stack, ane_tol=EXACT, exact_tol=EXACT)

    def build_split(p, rnd):
        a = rand(rng_for("split"), (2, 7))
        x = p.input("x", (2, 7))
        p.op("split", [("s0", (2, 2), None), ("s1", (2, 5), None)], x=x, split_sizes=[2, 5], axis=1)
        p.op("split", [("e0", (1, 7), None), ("e1", (1, 7), None)], x=x, num_splits=2, axis=0)
        return [("x", "f", a)], [("s0", "f", a[:, :2]), ("s1", "f", a[:, 2:]), ("e0", "f", a[:1]), ("e1", "f", a[1:])]
    both("shape", "split", build_split, ane_tol=EXACT, exact_tol=EXACT)

    def build_gather(p, rnd):
        a = rand(rng_for("gather"), (4, 3, 2))
        idx = np.array([[3, 0], [-1, 1]])
        x = p.input("x", (4, 3, 2))
        p.one("gather", "y", (2, 2, 3, 2), x=x, indices=T("int32", [2, 2], idx), axis=0)
        idx2 = np.array([[[1, 0], [2, 2], [0, 1]]] * 4)
        p.one("gather_along_axis", "z", (4, 3, 2), x=x, indices=T("int32", list(idx2.shape), idx2), axis=1)
        return [("x", "f", a)], [("y", "f", a[idx]), ("z", "f", np.take_along_axis(a, idx2, 1))]
    both("shape", "gather", build_gather, ane_tol=EXACT, exact_tol=EXACT)

    def build_shape_int(p, rnd):
        # Dynamic shape arithmetic in int32: shape → gather → mul → concat → reshape.
        a = rand(rng_for("shape_int"), (2, 6))
        x = p.input("x", (2, 6))
        p.one("shape", "s", (2,), "int32", x=x)
        p.one("gather", "d1", (1,), "int32", x=V("s"), indices=T("int32", [1], [1]), axis=0)
        p.one("floor_div", "half", (1,), "int32", x=V("d1"), y=T("int32", [], [2]))
        p.one("concat", "ns", (3,), "int32", values=(T("int32", [1], [2]), V("half"), T("int32", [1], [-1])),
              axis=0, interleave=False)
        p.one("reshape", "y", (2, 3, 2), x=x, shape=V("ns"))
        return [("x", "f", a)], [("s", "int32", np.array([2, 6])), ("y", "f", a.reshape(2, 3, 2))]
    both("shape", "dynamic_shape_int_arith", build_shape_int, ane_tol=EXACT, exact_tol=EXACT)

    def build_topk(p, rnd):
        a = rand(rng_for("topk"), (3, 6))
        x = p.input("x", (3, 6))
        p.op("topk", [("v", (3, 2), None), ("i", (3, 2), "int32")], x=x, k=2, axis=-1, ascending=False)
        order = np.argsort(-a, axis=-1, kind="stable")[:, :2]
        return [("x", "f", a)], [("v", "f", np.take_along_axis(a, order, -1)), ("i", "int32", order)]
    both("shape", "topk", build_topk, ane_tol=EXACT, exact_tol=EXACT)

    def build_bilinear(p, rnd):
        a = rand(rng_for("bilinear"), (1, 2, 3, 4))
        x = p.input("x", (1, 2, 3, 4))
        p.one("upsample_bilinear", "y", (1, 2, 6, 8), x=x, scale_factor_height=2.0, scale_factor_width=2.0,
              align_corners=True)

        def axis_w(n_in, n_out):
            src = np.arange(n_out) * (n_in - 1) / (n_out - 1)
            lo = np.floor(src).astype(int)
            hi = np.minimum(lo + 1, n_in - 1)
            f = src - lo
            m = np.zeros((n_out, n_in))
            m[np.arange(n_out), lo] += 1 - f
            m[np.arange(n_out), hi] += f
            return m
        y = np.einsum("oh,nchw,pw->ncop", axis_w(3, 6), a, axis_w(4, 8))
        return [("x", "f", a)], [("y", "f", rnd(y))]
    both("shape", "upsample_bilinear_align_corners", build_bilinear, ane_tol={"ulps": 1, "atol": 1e-4},
         exact_tol=RED_TOL_EXACT)


# ---------------------------------------------------------------- attention, constexpr

def gen_attention():
    for masked in (False, True):
        def build(p, rnd, masked=masked):
            r = rng_for("sdpa%s" % masked)
            q, k, v = rand(r, (2, 5, 8), -1, 1), rand(r, (2, 7, 8), -1, 1), rand(r, (2, 7, 4), -1, 1)
            p.input("q", (2, 5, 8)), p.input("k", (2, 7, 8)), p.input("v", (2, 7, 4))
            args = dict(query=V("q"), key=V("k"), value=V("v"))
            s = q @ k.transpose(0, 2, 1) / math.sqrt(8)
            if masked:
                m = np.tril(np.ones((5, 7), dtype=bool), 2)
                p.input("m", (5, 7), "bool")
                args["attn_mask"] = V("m")
                s = np.where(m, s, -np.inf)
            e = np.exp(s - s.max(-1, keepdims=True))
            y = (e / e.sum(-1, keepdims=True)) @ v
            p.one("scaled_dot_product_attention", "y", (2, 5, 4), **args)
            ins = [("q", "f", q), ("k", "f", k), ("v", "f", v)] + ([("m", "bool", m)] if masked else [])
            return ins, [("y", "f", rnd(y))]
        # ane: the kernel rounds scores and probabilities to fp16 (docs/numerics.md).
        both("attention", "sdpa_masked" if masked else "sdpa", build, ane_tol={"ulps": 2, "atol": 2e-3},
             exact_tol={"rtol": 1e-5, "atol": 2e-6})


def gen_constexpr():
    def build_bss(p, rnd):
        r = rng_for("bss")
        data = r.integers(-8, 8, size=(4, 6))
        scale = rnd(r.uniform(0.1, 1.0, size=(2, 3)))
        off = r.integers(-2, 3, size=(2, 3))
        p.input("x", (4, 6))
        p.one("constexpr_blockwise_shift_scale", "w", (4, 6), data=T("int8", [4, 6], data),
              scale=T(p.dt, [2, 3], scale), offset=T("int8", [2, 3], off))
        p.one("mul", "y", (4, 6), x=V("x"), y=V("w"))
        x = rand(r, (4, 6))
        w = rnd(np.repeat(np.repeat(scale, 2, 0), 2, 1) * (data - np.repeat(np.repeat(off, 2, 0), 2, 1)))
        return [("x", "f", x)], [("y", "f", rnd(x * w))]
    both("constexpr", "blockwise_shift_scale", build_bss)

    def build_lut(p, rnd):
        r = rng_for("lut")
        idx = r.integers(0, 4, size=(4, 3))
        lut = rnd(r.uniform(-1, 1, size=(2, 1, 4, 1)))
        p.input("x", (4, 3))
        p.one("constexpr_lut_to_dense", "w", (4, 3), indices=T("uint2", [4, 3], idx), lut=T(p.dt, [2, 1, 4, 1], lut))
        p.one("add", "y", (4, 3), x=V("x"), y=V("w"))
        x = rand(r, (4, 3))
        w = np.array([[lut[i // 2, 0, idx[i, j], 0] for j in range(3)] for i in range(4)])
        return [("x", "f", x)], [("y", "f", rnd(x + w))]
    both("constexpr", "lut_to_dense_grouped", build_lut)

    def build_lut_vec(p, rnd):
        r = rng_for("lutvec")
        idx = r.integers(0, 2, size=(2, 2, 2))
        lut = rnd(r.uniform(-1, 1, size=(1, 1, 1, 2, 3)))
        p.input("x", (2, 6, 2))
        p.one("constexpr_lut_to_dense", "w", (2, 6, 2), indices=T("uint1", [2, 2, 2], idx),
              lut=T(p.dt, [1, 1, 1, 2, 3], lut), vector_axis=1)
        p.one("add", "y", (2, 6, 2), x=V("x"), y=V("w"))
        x = rand(r, (2, 6, 2))
        w = np.zeros((2, 6, 2))
        for a in range(2):
            for b in range(2):
                for c in range(2):
                    w[a, b * 3:(b + 1) * 3, c] = lut[0, 0, 0, idx[a, b, c], :]
        return [("x", "f", x)], [("y", "f", rnd(x + w))]
    both("constexpr", "lut_to_dense_vector", build_lut_vec)

    def build_sparse(p, rnd):
        r = rng_for("sparse")
        mask = r.integers(0, 2, size=(3, 4))
        nz = rnd(r.uniform(-1, 1, size=int(mask.sum())))
        p.input("x", (3, 4))
        p.one("constexpr_sparse_to_dense", "w", (3, 4), nonzero_data=T(p.dt, [len(nz)], nz),
              mask=T("uint1", [3, 4], mask))
        p.one("add", "y", (3, 4), x=V("x"), y=V("w"))
        x = rand(r, (3, 4))
        w = np.zeros(12)
        w[mask.reshape(-1) == 1] = nz
        return [("x", "f", x)], [("y", "f", rnd(x + w.reshape(3, 4)))]
    both("constexpr", "sparse_to_dense", build_sparse)

    def build_affine(p, rnd):
        # iOS16 form: the operands are attributes, the argument list is empty.
        r = rng_for("affine")
        q = r.integers(-128, 128, size=(3, 4))
        zp = r.integers(-3, 4, size=(3,))
        sc = rnd(r.uniform(0.01, 0.1, size=(3,)))
        p.opset = "ios17"
        p.input("x", (3, 4))
        p.lines.append(
            '            %s w = constexpr_affine_dequantize()[axis = int32(0), name = string("w"), '
            'quantized_data = %s, scale = %s, zero_point = %s];'
            % (p.ty((3, 4)), p.arg(T("int8", [3, 4], q)), p.arg(T(p.dt, [3], sc)), p.arg(T("int8", [3], zp))))
        p.one("mul", "y", (3, 4), x=V("x"), y=V("w"))
        x = rand(r, (3, 4))
        w = rnd((q - zp[:, None]) * sc[:, None])
        return [("x", "f", x)], [("y", "f", rnd(x * w))]
    both("constexpr", "affine_dequantize_ios17_attributes", build_affine)


def gen_more():
    """Ops with parameters the families above do not reach."""
    def build_lstm(p, rnd):
        r = rng_for("lstm")
        S, B, I, H = 4, 2, 3, 5
        x = rand(r, (S, B, I), -1, 1)
        h0, c0 = rand(r, (B, H), -0.5, 0.5), rand(r, (B, H), -0.5, 0.5)
        wih, whh = rand(r, (4 * H, I), -0.5, 0.5), rand(r, (4 * H, H), -0.5, 0.5)
        b = rand(r, (4 * H,), -0.2, 0.2)
        p.input("x", (S, B, I))
        p.op("lstm", [("seq", (S, B, H), None), ("h", (B, H), None), ("c", (B, H), None)],
             x=V("x"), initial_h=T(p.dt, [B, H], h0), initial_c=T(p.dt, [B, H], c0),
             weight_ih=T(p.dt, [4 * H, I], wih), weight_hh=T(p.dt, [4 * H, H], whh), bias=T(p.dt, [4 * H], b),
             direction="forward", output_sequence=True, recurrent_activation="sigmoid",
             cell_activation="tanh", activation="tanh")
        h, c, seq = h0, c0, []
        for t in range(S):
            g = x[t] @ wih.T + h @ whh.T + b  # gate order i, f, o, z
            i, f, o, z = sigmoid(g[:, :H]), sigmoid(g[:, H:2 * H]), sigmoid(g[:, 2 * H:3 * H]), np.tanh(g[:, 3 * H:])
            c = f * c + i * z
            h = o * np.tanh(c)
            seq.append(h)
        return [("x", "f", x)], [("seq", "f", rnd(np.stack(seq))), ("h", "f", rnd(h)), ("c", "f", rnd(c))]
    both("more", "lstm_forward_sequence", build_lstm, ane_tol={"ulps": 1, "atol": 1e-3},
         exact_tol={"rtol": 1e-5, "atol": 1e-5})

    def build_slice_update(p, rnd):
        r = rng_for("slice_update")
        x, u = rand(r, (3, 4)), rand(r, (2, 2))
        p.input("x", (3, 4)), p.input("u", (2, 2))
        p.one("slice_update", "y", (3, 4), x=V("x"), update=V("u"), begin=[1, 0], end=[3, 4], stride=[1, 2])
        y = x.copy()
        y[1:3, 0:4:2] = u
        return [("x", "f", x), ("u", "f", u)], [("y", "f", y)]
    both("more", "slice_update_strided", build_slice_update, ane_tol=EXACT, exact_tol=EXACT)

    def build_lrn(p, rnd):
        a = rand(rng_for("lrn"), (1, 5, 2, 3), -2, 2)
        x = p.input("x", (1, 5, 2, 3))
        p.one("local_response_norm", "y", (1, 5, 2, 3), x=x, size=3, alpha=0.5, beta=0.75, k=1.0)
        sq = a * a
        s = np.zeros_like(a)
        for c in range(5):
            s[:, c] = sq[:, max(c - 1, 0):min(c + 2, 5)].sum(axis=1)
        return [("x", "f", a)], [("y", "f", rnd(a / (1.0 + 0.5 / 3 * s) ** 0.75))]
    both("more", "local_response_norm", build_lrn, ane_tol={"ulps": 1, "atol": 1e-4}, exact_tol=RED_TOL_EXACT)

    def build_threshold(p, rnd):
        a = rand(rng_for("threshold"), (3, 7), -2, 2)
        x = p.input("x", (3, 7))
        p.one("threshold", "y", (3, 7), x=x, alpha=0.5)
        return [("x", "f", a)], [("y", "f", np.maximum(a, 0.5))]
    both("more", "threshold", build_threshold, ane_tol=EXACT, exact_tol=EXACT)

    def build_spp(p, rnd):
        a = rand(rng_for("spp"), (1, 3, 2, 2), -2, 2)
        x = p.input("x", (1, 3, 2, 2))
        p.one("softplus_parametric", "y", (1, 3, 2, 2), x=x, alpha=T(p.dt, [3], [0.5] * 3), beta=T(p.dt, [3], [2.0] * 3))
        return [("x", "f", a)], [("y", "f", rnd(0.5 * np.log1p(np.exp(2.0 * a))))]
    both("more", "softplus_parametric_uniform", build_spp)

    def bilinear_w(n_in, n_out, mode):
        i = np.arange(n_out)
        if mode == "half":
            src = np.maximum((i + 0.5) * n_in / n_out - 0.5, 0)
        else:
            src = i * n_in / n_out
        src = np.minimum(src, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        f = src - lo
        m = np.zeros((n_out, n_in))
        m[i, lo] += 1 - f
        m[i, hi] += f
        return m

    for mode, hp in (("half", None), ("asym", False)):
        def build(p, rnd, mode=mode, hp=hp):
            a = rand(rng_for("bil" + mode), (1, 2, 3, 4))
            x = p.input("x", (1, 2, 3, 4))
            args = dict(x=x, scale_factor_height=2.0, scale_factor_width=2.0, align_corners=False)
            if hp is not None:
                args["half_pixel_centers"] = hp
            p.one("upsample_bilinear", "y", (1, 2, 6, 8), **args)
            y = np.einsum("oh,nchw,pw->ncop", bilinear_w(3, 6, mode), a, bilinear_w(4, 8, mode))
            return [("x", "f", a)], [("y", "f", rnd(y))]
        both("more", "upsample_bilinear_" + ("half_pixel" if mode == "half" else "asymmetric"), build,
             ane_tol={"ulps": 1, "atol": 1e-4}, exact_tol=RED_TOL_EXACT)

    def build_ceil(p, rnd):
        a = rand(rng_for("ceilpool"), (1, 2, 5, 5))
        x = p.input("x", (1, 2, 5, 5))
        p.one("max_pool", "y", (1, 2, 3, 3), x=x, kernel_sizes=[2, 2], strides=[2, 2], pad_type="valid",
              pad=[0, 0, 0, 0], ceil_mode=True)
        y = np.zeros((1, 2, 3, 3))
        for i in range(3):
            for j in range(3):
                y[:, :, i, j] = a[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max(axis=(2, 3))
        return [("x", "f", a)], [("y", "f", y)]
    both("more", "max_pool_ceil_mode", build_ceil, ane_tol=EXACT, exact_tol=EXACT)

    def build_cast16(p, rnd):
        # fp32 input cast to fp16: the cast is where ane mode rounds (overflow → inf).
        a = np.array([1.0 + 2**-12, 70000.0, 1e-6, -3.3333333], dtype=np.float32).astype(np.float64)
        x = p.input("x", (4,), "fp32")
        p.one("cast", "y", (4,), "fp16", x=x, dtype="fp16")
        return [("x", "fp32", a)], [("y", "fp16", f16(a))]
    both("more", "cast_fp32_to_fp16", build_cast16, ane_tol=EXACT, modes=("ane",))


def gen_constexpr_ios16():
    """iOS16 constexpr forms (operands as attributes, bit-packed indices/masks, LSB first)."""
    def attr_op(p, kind, name, shape, attrs):
        a = ", ".join("%s = %s" % (k, p.arg(v)) for k, v in sorted(list(attrs.items()) + [("name", name)]))
        p.lines.append("            %s %s = %s()[%s];" % (p.ty(shape), name, kind, a))

    def build_lut(p, rnd):
        r = rng_for("lut16")
        idx = r.integers(0, 4, size=12)  # 2-bit indices, 12 of them = 3 bytes
        bits = ((idx[:, None] >> np.arange(2)) & 1).reshape(-1)
        packed = np.packbits(bits, bitorder="little")
        lut = rnd(r.uniform(-1, 1, size=4))
        p.opset = "ios17"
        p.input("x", (3, 4))
        attr_op(p, "constexpr_lut_to_dense", "w", (3, 4),
                {"indices": T("uint8", [len(packed)], packed), "lut": T(p.dt, [4], lut), "shape": T("uint32", [2], [3, 4])})
        p.one("add", "y", (3, 4), x=V("x"), y=V("w"))
        x = rand(r, (3, 4))
        return [("x", "f", x)], [("y", "f", rnd(x + lut[idx].reshape(3, 4)))]
    both("constexpr", "lut_to_dense_ios16_packed", build_lut)

    def build_sparse(p, rnd):
        r = rng_for("sparse16")
        mask = r.integers(0, 2, size=12)
        packed = np.packbits(mask, bitorder="little")
        nz = rnd(r.uniform(-1, 1, size=int(mask.sum())))
        p.opset = "ios17"
        p.input("x", (3, 4))
        attr_op(p, "constexpr_sparse_to_dense", "w", (3, 4),
                {"mask": T("uint8", [len(packed)], packed), "nonzero_data": T(p.dt, [len(nz)], nz),
                 "shape": T("uint32", [2], [3, 4])})
        p.one("add", "y", (3, 4), x=V("x"), y=V("w"))
        x = rand(r, (3, 4))
        w = np.zeros(12)
        w[mask == 1] = nz
        return [("x", "f", x)], [("y", "f", rnd(x + w.reshape(3, 4)))]
    both("constexpr", "sparse_to_dense_ios16_packed", build_sparse)


def main():
    gen_binary()
    gen_unary()
    gen_edge()
    gen_compare_logical()
    gen_activation()
    gen_reduce()
    gen_norm()
    gen_linear()
    gen_conv()
    gen_shape()
    gen_attention()
    gen_constexpr()
    gen_more()
    gen_constexpr_ios16()
    os.makedirs(OUT, exist_ok=True)
    total = 0
    for family, cases in sorted(CASES.items()):
        with open(os.path.join(OUT, family + ".json"), "w") as f:
            json.dump(cases, f, indent=None, separators=(",", ":"))
            f.write("\n")
        total += len(cases)
    print("wrote %d cases in %d files to %s" % (total, len(CASES), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
