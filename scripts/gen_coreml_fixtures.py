#!/usr/bin/env python3
"""Build the small .mlpackage fixtures of anekit-coreml with coremltools (Linux works:
`skip_model_load=True`, reference/mil-blob.md §3) and record what coremltools says about them.

Writes crates/anekit-coreml/tests/fixtures/:
  <name>.mlpackage/          one package per fixture (a few KB each)
  expected.json              per fixture: specificationVersion, per function the opset, the op
                             types in proto order, the input names/dtypes/shapes, the outputs,
                             the BLOBFILE offsets; the description's inputs/outputs
  proto_values.pb            a hand-built Model protobuf exercising every Value/ValueType kind
                             and every FeatureType flexibility, encoded by the Python protobuf
  proto_values.json          the values that went into proto_values.pb

Run: python3 scripts/gen_coreml_fixtures.py            (regenerate)
     python3 scripts/gen_coreml_fixtures.py --verify DIR.mlpackage [...]
                                                     (load packages written by anekit with
                                                      coremltools and print their ops as JSON)
"""

import json
import os
import shutil
import sys

import numpy as np

import coremltools as ct
from coremltools.converters.mil import Builder as mb
from coremltools.converters.mil.mil import types
from coremltools.proto import MIL_pb2, Model_pb2, FeatureTypes_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "anekit-coreml", "tests", "fixtures")
RNG = np.random.default_rng(20261122)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def save(prog, name, target, precision, inputs=None):
    kw = {}
    if inputs is not None:
        kw["inputs"] = inputs
    m = ct.convert(
        prog,
        convert_to="mlprogram",
        minimum_deployment_target=target,
        compute_precision=precision,
        skip_model_load=True,
        **kw,
    )
    path = os.path.join(OUT, name + ".mlpackage")
    if os.path.exists(path):
        shutil.rmtree(path)
    m.save(path)
    return path


def cnn(name, precision, dtype):
    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3, 8, 8), dtype=types.fp32)], opset_version=ct.target.iOS17)
    def prog(x):
        w = rand(4, 3, 3, 3)
        b = rand(4)
        y = mb.conv(x=x, weight=w, bias=b, pad_type="same", name="conv0")
        y = mb.batch_norm(x=y, mean=rand(4), variance=np.abs(rand(4)) + 0.5, gamma=rand(4), beta=rand(4), epsilon=1e-5, name="bn0")
        y = mb.relu(x=y, name="relu0")
        y = mb.max_pool(x=y, kernel_sizes=[2, 2], strides=[2, 2], pad_type="valid", name="pool0")
        y = mb.reshape(x=y, shape=[1, 64], name="flat")
        y = mb.linear(x=y, weight=rand(10, 64), bias=rand(10), name="fc")
        return mb.softmax(x=y, axis=-1, name="probs")

    return save(prog, name, ct.target.iOS17, precision)


def transformer():
    d, t, h = 16, 4, 2

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, t, d), dtype=types.fp16)], opset_version=ct.target.iOS18)
    def prog(x):
        n = mb.layer_norm(x=x, axes=[-1], gamma=rand(d, dtype=np.float16), beta=rand(d, dtype=np.float16), epsilon=np.float16(1e-5), name="ln")
        q = mb.linear(x=n, weight=rand(d, d, dtype=np.float16), name="q")
        k = mb.linear(x=n, weight=rand(d, d, dtype=np.float16), name="k")
        v = mb.linear(x=n, weight=rand(d, d, dtype=np.float16), name="v")
        q = mb.transpose(x=mb.reshape(x=q, shape=[1, t, h, d // h], name="q_r"), perm=[0, 2, 1, 3], name="q_t")
        k = mb.transpose(x=mb.reshape(x=k, shape=[1, t, h, d // h], name="k_r"), perm=[0, 2, 3, 1], name="k_t")
        v = mb.transpose(x=mb.reshape(x=v, shape=[1, t, h, d // h], name="v_r"), perm=[0, 2, 1, 3], name="v_t")
        s = mb.matmul(x=q, y=k, name="scores")
        a = mb.softmax(x=s, axis=-1, name="attn")
        o = mb.matmul(x=a, y=v, name="ctx")
        o = mb.reshape(x=mb.transpose(x=o, perm=[0, 2, 1, 3], name="ctx_t"), shape=[1, t, d], name="ctx_r")
        o = mb.gelu(x=o, mode="TANH_APPROXIMATION", name="act")
        o = mb.add(x=o, y=x, name="residual")
        return mb.concat(values=[o], axis=-1, interleave=False, name="out")

    return save(prog, "transformer_fp16", ct.target.iOS18, ct.precision.FLOAT16)


def flexible():
    from coremltools.converters.mil.mil import get_new_symbol

    s = get_new_symbol()

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, s), dtype=types.fp32)], opset_version=ct.target.iOS17)
    def prog(x):
        return mb.relu(x=x, name="y")

    a = save(prog, "flexible_range", ct.target.iOS17, ct.precision.FLOAT32,
             inputs=[ct.TensorType(name="x", shape=ct.Shape(shape=(1, ct.RangeDim(lower_bound=2, upper_bound=64, default=8))))])

    s2 = get_new_symbol()

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, s2), dtype=types.fp32)], opset_version=ct.target.iOS17)
    def prog2(x):
        return mb.relu(x=x, name="y")

    b = save(prog2, "flexible_enumerated", ct.target.iOS17, ct.precision.FLOAT32,
             inputs=[ct.TensorType(name="x", shape=ct.EnumeratedShapes(shapes=[[1, 4], [1, 8], [1, 16]], default=[1, 8]))])
    return a, b


def compressed_ios17():
    """Pre-iOS18 constexpr ops: their operands are attributes (mil-text.md §4.2)."""

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 16), dtype=types.fp16)], opset_version=ct.target.iOS17)
    def prog(x):
        q = RNG.integers(-128, 127, size=(8, 16), dtype=np.int8)
        wq = mb.constexpr_affine_dequantize(quantized_data=q, zero_point=np.int8(1), scale=np.float16(0.5), axis=0, name="w_affine")
        lut = rand(4, dtype=np.float16)
        idx = RNG.integers(0, 256, size=(8 * 16 * 2 // 8,), dtype=np.uint8)
        wl = mb.constexpr_lut_to_dense(indices=idx, lut=lut, shape=np.array([8, 16], dtype=np.uint32), name="w_lut2")
        mask = RNG.integers(0, 256, size=(8 * 16 // 8,), dtype=np.uint8)
        nnz = int(np.unpackbits(mask).sum())
        ws = mb.constexpr_sparse_to_dense(nonzero_data=rand(nnz, dtype=np.float16), mask=mask, shape=np.array([8, 16], dtype=np.uint32), name="w_sparse")
        a = mb.linear(x=x, weight=wq, name="lin_affine")
        b = mb.linear(x=x, weight=wl, name="lin_lut")
        c = mb.linear(x=x, weight=ws, name="lin_sparse")
        return mb.add(x=mb.add(x=a, y=b, name="ab"), y=c, name="out")

    return save(prog, "compressed_ios17", ct.target.iOS17, ct.precision.FLOAT16)


def compressed_ios18():
    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 16), dtype=types.fp16)], opset_version=ct.target.iOS18)
    def prog(x):
        data = RNG.integers(-8, 8, size=(8, 16), dtype=np.int8)
        wq = mb.constexpr_blockwise_shift_scale(data=data.astype(types.np_int4_dtype),
                                                scale=rand(8, 1, dtype=np.float16), name="w_int8q")
        idx = RNG.integers(0, 16, size=(8, 16), dtype=np.uint8).astype(types.np_uint4_dtype)
        wl = mb.constexpr_lut_to_dense(indices=idx, lut=rand(1, 1, 16, 1, dtype=np.float16), name="w_lut4")
        mask = RNG.integers(0, 2, size=(8, 16), dtype=np.uint8).astype(types.np_uint1_dtype)
        nnz = int(mask.astype(np.uint8).sum())
        ws = mb.constexpr_sparse_to_dense(nonzero_data=rand(nnz, dtype=np.float16), mask=mask, name="w_sparse1")
        a = mb.linear(x=x, weight=wq, name="lin_q")
        b = mb.linear(x=x, weight=wl, name="lin_lut")
        c = mb.linear(x=x, weight=ws, name="lin_sparse")
        return mb.add(x=mb.add(x=a, y=b, name="ab"), y=c, name="out")

    return save(prog, "compressed_ios18", ct.target.iOS18, ct.precision.FLOAT16)


def multifunction(a_path, b_path):
    desc = ct.utils.MultiFunctionDescriptor()
    desc.add_function(a_path, src_function_name="main", target_function_name="relu_range")
    desc.add_function(b_path, src_function_name="main", target_function_name="relu_enum")
    desc.default_function_name = "relu_range"
    path = os.path.join(OUT, "multifunction.mlpackage")
    if os.path.exists(path):
        shutil.rmtree(path)
    ct.utils.save_multifunction(desc, path)
    return path


# ---- what coremltools says ----------------------------------------------------------------

DT = {v: k for k, v in MIL_pb2.DataType.items()}


def vt_text(vt):
    k = vt.WhichOneof("type")
    if k == "tensorType":
        dims = ["?" if d.WhichOneof("dimension") == "unknown" else str(d.constant.size) for d in vt.tensorType.dimensions]
        return f"{DT[vt.tensorType.dataType]}[{','.join(dims)}]"
    if k == "stateType":
        return "state<" + vt_text(vt.stateType.wrappedType) + ">"
    return k


def feature(f):
    t = f.type
    k = t.WhichOneof("Type")
    out = {"name": f.name, "kind": k}
    if k == "multiArrayType":
        a = t.multiArrayType
        out["shape"] = list(a.shape)
        out["dataType"] = FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(a.dataType)
        flex = a.WhichOneof("ShapeFlexibility")
        if flex == "enumeratedShapes":
            out["enumerated"] = [list(s.shape) for s in a.enumeratedShapes.shapes]
        elif flex == "shapeRange":
            out["ranges"] = [[r.lowerBound, r.upperBound] for r in a.shapeRange.sizeRanges]
    return out


def record(path):
    spec = ct.utils.load_spec(path)
    funcs = {}
    # Sorted: the proto holds functions in a map whose iteration order varies between processes.
    for fname, f in sorted(spec.mlProgram.functions.items()):
        block = f.block_specializations[f.opset]
        blobs = []
        for op in block.operations:
            for v in list(op.attributes.values()) + [b.value for a in op.inputs.values() for b in a.arguments if b.WhichOneof("binding") == "value"]:
                if v.WhichOneof("value") == "blobFileValue":
                    blobs.append(v.blobFileValue.offset)
        funcs[fname] = {
            "opset": f.opset,
            "inputs": [{"name": i.name, "type": vt_text(i.type)} for i in f.inputs],
            "outputs": list(block.outputs),
            "ops": [op.type for op in block.operations],
            "outputs_of_ops": [[o.name for o in op.outputs] for op in block.operations],
            "blob_offsets": blobs,
        }
    d = spec.description
    return {
        "specificationVersion": spec.specificationVersion,
        "functions": funcs,
        "inputs": [feature(f) for f in d.input],
        "outputs": [feature(f) for f in d.output],
        "description_functions": [f.name for f in d.functions],
        "defaultFunctionName": d.defaultFunctionName,
        "weight_bin_size": os.path.getsize(os.path.join(path, "Data", "com.apple.CoreML", "weights", "weight.bin"))
        if os.path.exists(os.path.join(path, "Data", "com.apple.CoreML", "weights", "weight.bin")) else None,
    }


# ---- proto_values.pb ----------------------------------------------------------------------

def tensor_type(dt, shape):
    t = MIL_pb2.ValueType()
    t.tensorType.dataType = dt
    t.tensorType.rank = len(shape)
    for s in shape:
        d = t.tensorType.dimensions.add()
        if s is None:
            d.unknown.variadic = False
        else:
            d.constant.size = s
    return t


def tensor_value(dt, shape, field, values):
    v = MIL_pb2.Value()
    v.type.CopyFrom(tensor_type(dt, shape))
    tv = v.immediateValue.tensor
    if field == "bytes":
        tv.bytes.values = values
    else:
        getattr(tv, field).values.extend(values)
    return v


def proto_values():
    m = Model_pb2.Model()
    m.specificationVersion = 9
    d = m.description
    i = d.input.add()
    i.name = "ranged"
    i.shortDescription = "a ranged input"
    a = i.type.multiArrayType
    a.shape.extend([1, 8])
    a.dataType = FeatureTypes_pb2.ArrayFeatureType.FLOAT16
    r = a.shapeRange.sizeRanges.add(); r.lowerBound = 1; r.upperBound = 1
    r = a.shapeRange.sizeRanges.add(); r.lowerBound = 2; r.upperBound = -1
    i = d.input.add()
    i.name = "enumerated"
    a = i.type.multiArrayType
    a.shape.extend([1, 4])
    a.dataType = FeatureTypes_pb2.ArrayFeatureType.INT32
    for s in ([1, 4], [2, 4]):
        a.enumeratedShapes.shapes.add().shape.extend(s)
    i = d.input.add()
    i.name = "image"
    i.type.imageType.width = 32
    i.type.imageType.height = 24
    i.type.imageType.colorSpace = FeatureTypes_pb2.ImageFeatureType.BGR
    i = d.input.add(); i.name = "text"; i.type.stringType.SetInParent()
    i = d.input.add(); i.name = "count"; i.type.int64Type.SetInParent(); i.type.isOptional = True
    o = d.output.add(); o.name = "scores"; o.type.dictionaryType.stringKeyType.SetInParent()
    o = d.output.add(); o.name = "y"; o.type.doubleType.SetInParent()
    d.metadata.author = "anekit"
    d.metadata.license = "MIT"
    d.metadata.versionString = "1.2.3"
    d.metadata.shortDescription = "proto value fixture"
    d.metadata.userDefined["k"] = "v"

    p = m.mlProgram
    p.version = 1
    f = p.functions["main"]
    f.opset = "CoreML8"
    x = f.inputs.add(); x.name = "x"; x.type.CopyFrom(tensor_type(MIL_pb2.FLOAT32, [1, None]))
    b = f.block_specializations["CoreML8"]
    b.outputs.append("y")

    consts = [
        ("c_floats", tensor_value(MIL_pb2.FLOAT32, [2], "floats", [0.5, -2.25])),
        ("c_doubles", tensor_value(MIL_pb2.FLOAT64, [], "doubles", [0.1])),
        ("c_ints", tensor_value(MIL_pb2.INT32, [2, 2], "ints", [1, -2, 3, 2147483647])),
        ("c_longs", tensor_value(MIL_pb2.INT64, [2], "longInts", [-9000000000, 7])),
        ("c_u64", tensor_value(MIL_pb2.UINT64, [], "longInts", [-1])),
        ("c_bools", tensor_value(MIL_pb2.BOOL, [3], "bools", [True, False, True])),
        ("c_strings", tensor_value(MIL_pb2.STRING, [2], "strings", [b"a\"b", "\u00e9".encode()])),
        ("c_fp16", tensor_value(MIL_pb2.FLOAT16, [3], "bytes", np.array([1.0, -0.5, 65504.0], dtype=np.float16).tobytes())),
        ("c_int8", tensor_value(MIL_pb2.INT8, [2], "bytes", np.array([-128, 127], dtype=np.int8).tobytes())),
        ("c_uint4", tensor_value(MIL_pb2.UINT4, [3], "bytes", bytes([0x21, 0x0F]))),
        ("c_empty", tensor_value(MIL_pb2.FLOAT32, [0, 2], "floats", [])),
    ]
    # a tuple, a list and a dictionary
    tup = MIL_pb2.Value()
    tup.type.tupleType.types.add().CopyFrom(tensor_type(MIL_pb2.STRING, []))
    tup.type.tupleType.types.add().CopyFrom(tensor_type(MIL_pb2.INT32, [2]))
    tup.immediateValue.tuple.values.add().CopyFrom(tensor_value(MIL_pb2.STRING, [], "strings", [b"t"]))
    tup.immediateValue.tuple.values.add().CopyFrom(tensor_value(MIL_pb2.INT32, [2], "ints", [4, 5]))
    consts.append(("c_tuple", tup))
    lst = MIL_pb2.Value()
    lst.type.listType.type.CopyFrom(tensor_type(MIL_pb2.INT32, [2]))
    lst.type.listType.length.constant.size = 2
    for vals in ([0, 4], [1, 8]):
        lst.immediateValue.list.values.add().CopyFrom(tensor_value(MIL_pb2.INT32, [2], "ints", vals))
    consts.append(("c_list", lst))
    dic = MIL_pb2.Value()
    dic.type.dictionaryType.keyType.CopyFrom(tensor_type(MIL_pb2.STRING, []))
    dic.type.dictionaryType.valueType.CopyFrom(tensor_type(MIL_pb2.FLOAT64, []))
    kv = dic.immediateValue.dictionary.values.add()
    kv.key.CopyFrom(tensor_value(MIL_pb2.STRING, [], "strings", [b"ane"]))
    kv.value.CopyFrom(tensor_value(MIL_pb2.FLOAT64, [], "doubles", [0.0]))
    consts.append(("c_dict", dic))

    for name, v in consts:
        op = b.operations.add()
        op.type = "const"
        out = op.outputs.add(); out.name = name; out.type.CopyFrom(v.type)
        op.attributes["val"].CopyFrom(v)
        op.attributes["name"].CopyFrom(tensor_value(MIL_pb2.STRING, [], "strings", [name.encode()]))
    op = b.operations.add()
    op.type = "concat"
    op.inputs["values"].arguments.add().name = "x"
    op.inputs["axis"].arguments.add().value.CopyFrom(tensor_value(MIL_pb2.INT32, [], "ints", [0]))
    op.inputs["interleave"].arguments.add().value.CopyFrom(tensor_value(MIL_pb2.BOOL, [], "bools", [False]))
    out = op.outputs.add(); out.name = "y"; out.type.CopyFrom(tensor_type(MIL_pb2.FLOAT32, [1, None]))
    op.attributes["name"].CopyFrom(tensor_value(MIL_pb2.STRING, [], "strings", [b"y"]))
    data = m.SerializeToString()
    with open(os.path.join(OUT, "proto_values.pb"), "wb") as fh:
        fh.write(data)
    with open(os.path.join(OUT, "proto_values.json"), "w") as fh:
        json.dump({"size": len(data), "fp16_bytes_hex": np.array([1.0, -0.5, 65504.0], dtype=np.float16).tobytes().hex(),
                   "consts": [c[0] for c in consts]}, fh, indent=1)


def nn_mlmodel():
    """A legacy NeuralNetwork .mlmodel (conv -> relu -> flatten -> innerProduct) for the layer decoder."""
    from coremltools.models import datatypes
    from coremltools.models.neural_network import NeuralNetworkBuilder

    b = NeuralNetworkBuilder([("x", datatypes.Array(3, 4, 4))], [("y", datatypes.Array(5))])
    w = rand(3, 3, 3, 2)  # (kH, kW, C_in, C_out)
    b.add_convolution("conv", kernel_channels=3, output_channels=2, height=3, width=3, stride_height=1,
                      stride_width=1, border_mode="valid", groups=1, W=w, b=rand(2), has_bias=True,
                      input_name="x", output_name="c")
    b.add_activation("relu", "RELU", "c", "r")
    b.add_flatten("flat", 0, "r", "f")
    b.add_inner_product("fc", W=rand(5, 8), b=rand(5), input_channels=8, output_channels=5, has_bias=True,
                        input_name="f", output_name="y")
    spec = b.spec
    path = os.path.join(OUT, "nn_conv.mlmodel")
    with open(path, "wb") as fh:
        fh.write(spec.SerializeToString())
    layers = []
    for l in spec.neuralNetwork.layers:
        layers.append({"name": l.name, "type": l.WhichOneof("layer"), "inputs": list(l.input), "outputs": list(l.output)})
    conv = spec.neuralNetwork.layers[0].convolution
    fc = spec.neuralNetwork.layers[3].innerProduct
    return {"specificationVersion": spec.specificationVersion, "layers": layers,
            "conv": {"outputChannels": conv.outputChannels, "kernelChannels": conv.kernelChannels,
                     "kernelSize": list(conv.kernelSize), "weights": len(conv.weights.floatValue),
                     "first_weight": float(conv.weights.floatValue[0])},
            "fc": {"inputChannels": fc.inputChannels, "outputChannels": fc.outputChannels,
                   "weights": len(fc.weights.floatValue)}}


def verify(paths):
    """Load packages (e.g. written by `ane convert --to-mlpackage`) with coremltools."""
    from coremltools.converters.mil.frontend.milproto.load import load

    res = {}
    for p in paths:
        m = ct.models.MLModel(p, skip_model_load=True)
        spec = m.get_spec()
        # coremltools' own MIL reader: builds a pymil Program from the proto (type checks every op).
        prog = load(spec, specification_version=spec.specificationVersion, file_weights_dir=m.weights_dir)
        res[p] = record(p)
        res[p]["pymil_ops"] = [op.op_type for _, f in sorted(prog.functions.items()) for op in f.operations]
    print(json.dumps(res, indent=1))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--verify":
        verify(sys.argv[2:])
        return
    os.makedirs(OUT, exist_ok=True)
    paths = {}
    paths["cnn_fp16"] = cnn("cnn_fp16", ct.precision.FLOAT16, np.float16)
    paths["cnn_fp32"] = cnn("cnn_fp32", ct.precision.FLOAT32, np.float32)
    paths["transformer_fp16"] = transformer()
    paths["flexible_range"], paths["flexible_enumerated"] = flexible()
    paths["compressed_ios17"] = compressed_ios17()
    paths["compressed_ios18"] = compressed_ios18()
    paths["multifunction"] = multifunction(paths["flexible_range"], paths["flexible_enumerated"])
    expected = {name: record(p) for name, p in sorted(paths.items())}
    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        json.dump({"coremltools": ct.__version__, "fixtures": expected}, fh, indent=1, sort_keys=True)
    proto_values()
    with open(os.path.join(OUT, "nn_conv.json"), "w") as fh:
        json.dump(nn_mlmodel(), fh, indent=1)
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
