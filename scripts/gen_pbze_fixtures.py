#!/usr/bin/env python3
"""Generate the PBZE / Espresso test fixtures of anekit-espresso.

Writes crates/anekit-espresso/tests/fixtures/:
  payload_<case>.bin      the uncompressed payload (JSON text or bytes)
  <case>.pbze             28-byte PBZE header + LZFSE stream from the *reference* encoder
                          (PyPI `lzfse`, which wraps the C code of github.com/lzfse/lzfse;
                          reference/espresso.md says it reproduces Apple's PBZE payloads)
  synthetic.espresso.net  Python-json style net (indent 4, "key": value) with every typed layer
  compact.espresso.net    the same net as one-line JSON
  synthetic.espresso.shape / .weights   companions of the net
  manifest.json           expectations computed here, independently of the Rust code:
                          header fields, block magics walked in Python, layer facts.

No Apple file is read or copied. Run: python3 scripts/gen_pbze_fixtures.py
"""

import json
import os
import random
import struct

import lzfse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "anekit-espresso", "tests", "fixtures")


def pbze(payload: bytes) -> bytes:
    stream = lzfse.compress(payload)
    # reference/espresso.md §7: magic, BE u64 0x40000000, BE u64 raw size, BE u64 stream size.
    return b"pbze" + struct.pack(">QQQ", 0x40000000, len(payload), len(stream)) + stream


def walk_blocks(stream: bytes):
    """Block magics of an LZFSE stream, by header sizes (reference/espresso.md §8.1-8.3)."""
    pos, out = 0, []
    while True:
        magic = stream[pos:pos + 4]
        out.append(magic.decode())
        if magic == b"bvx$":
            return out, pos + 4
        if magic == b"bvx-":
            (n,) = struct.unpack_from("<I", stream, pos + 4)
            pos += 8 + n
        elif magic == b"bvxn":
            _, n = struct.unpack_from("<II", stream, pos + 4)
            pos += 12 + n
        elif magic == b"bvx2":
            w0, w1, w2 = struct.unpack_from("<QQQ", stream, pos + 8)
            lit = (w0 >> 20) & 0xFFFFF
            lmd = (w1 >> 40) & 0xFFFFF
            hdr = w2 & 0xFFFFFFFF
            pos += hdr + lit + lmd
        else:
            raise ValueError(f"unexpected magic {magic!r} at {pos}")


def synthetic_net():
    """A net using every typed layer kind, unknown keys and an unknown layer type."""
    layers = [
        {"name": "conv1", "type": "convolution", "bottom": "image", "top": "conv1_out",
         "C": 8, "K": 3, "Nx": 3, "Ny": 3, "n_groups": 1, "n_parallel": 1, "stride_x": 2,
         "pad_t": 1, "pad_b": 1, "pad_l": 1, "pad_r": 1, "pad_mode": 0, "pad_value": 0.0,
         "fused_relu": True, "fused_tanh": False, "has_batch_norm": 0, "has_biases": 1,
         "blob_biases": 1, "blob_weights": 3, "weights": {}, "debug_info": "conv1",
         "zz_future_key": [1, 2, 3]},
        {"name": "bn", "type": "batchnorm", "bottom": "conv1_out", "top": "bn_out", "C": 8,
         "blob_batchnorm_params": 5, "training": 0, "training_eps": 1e-05,
         "training_momentum": 0.9, "training_instancenorm": 0, "weights": {}},
        {"name": "act", "type": "activation", "bottom": "bn_out", "top": "act_out", "mode": 3,
         "alpha": 0.1, "beta": 0.0, "weights": {}},
        {"name": "pool", "type": "pool", "bottom": "act_out", "top": "pool_out", "avg_or_max": 0,
         "size_x": 2, "size_y": 2, "stride_x": 2, "stride_y": 2, "is_global": 0,
         "average_count_exclude_padding": 1, "top_shape_style": 0, "pad_t": 0, "pad_b": 0,
         "pad_l": 0, "pad_r": 0, "weights": {}},
        {"name": "add3", "type": "elementwise", "bottom": "pool_out", "top": "add3_out",
         "operation": 2, "alpha": 3.0, "beta": 0.0, "weights": {}},
        {"name": "clip", "type": "elementwise", "bottom": "add3_out", "top": "clip_out",
         "operation": 119, "alpha": 0.0, "beta": 6.0, "weights": {}},
        {"name": "mystery", "type": "elementwise", "bottom": "clip_out,add3_out",
         "top": "mystery_out", "operation": 10, "weights": {}},
        {"name": "flat", "type": "flatten", "bottom": "mystery_out", "top": "flat_out",
         "mode": 1, "weights": {}},
        {"name": "fc", "type": "inner_product", "bottom": "flat_out", "top": "fc_out",
         "nB": 32, "nC": 4, "has_biases": 1, "has_relu": 0, "has_tanh": 0, "has_prelu": 0,
         "blob_weights": 9, "blob_biases": 7, "quantization_mode": 0, "weights": {}},
        {"name": "split", "type": "split_nd", "bottom": "fc_out", "top": "s0,s1",
         "nd_axis": -1, "begin_1": 2, "begin_0": 0, "weights": {}},
        {"name": "lstm", "type": "rnn_arch", "bottom": "s0", "top": "h,c", "input_size": 2,
         "hidden_size": 2, "arch": 1, "mode": 0, "cell_clip_threshold": 50000.0,
         "weights": {"W_t_x": 11, "b": 13}},
        {"name": "future", "type": "brand_new_layer", "bottom": "h", "top": "out",
         "knob": "x", "weights": {}, "attributes": {"is_output": 1}},
    ]
    return {
        "storage": "synthetic.espresso.weights",
        "format_version": 200,
        "properties": {"ane_compiler_batch": "1"},
        "analyses": {},
        "metadata_in_weights": [],
        "layers": layers,
        "zz_top_level_unknown": {"kept": True},
    }


def synthetic_weights():
    # (id, size) following the compiler conventions of reference/espresso.md §4:
    # id 0 = 56 zero bytes, odd ids carry data, even ids >= 2 are empty.
    sizes = {0: 56, 1: 8 * 4, 2: 0, 3: 8 * 3 * 3 * 3 * 4, 4: 0, 5: 4 * 8 * 4, 6: 0,
             7: 16 * 4, 8: 0, 9: 32 * 4 * 4, 10: 0, 11: 2 * 8 * 4, 12: 0, 13: 8 * 4}
    table = b"".join(struct.pack("<QQ", i, s) for i, s in sizes.items())
    blobs = b"".join(bytes([i]) * s for i, s in sizes.items())
    return struct.pack("<Q", len(sizes)) + table + blobs, sizes


def synthetic_shape(net):
    shapes = {"image": {"k": 3, "w": 16, "n": 1, "_rank": 4, "h": 16}}
    for layer in net["layers"]:
        for top in layer["top"].split(","):
            shapes[top] = {"k": 8, "w": 4, "n": 1, "_rank": 4, "h": 4}
    return {"layer_shapes": shapes}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(20240601)
    net = synthetic_net()
    net_python = json.dumps(net, indent=4).encode()
    net_compact = json.dumps(net, separators=(",", ":")).encode()
    shape_text = json.dumps(synthetic_shape(net), indent=4).encode()
    weights, sizes = synthetic_weights()

    def json_of_len(n):
        # Valid JSON text of exactly n bytes (n >= 2): a string of varied words.
        words = ["conv", "relu", "pool", "bias", "weights", "top", "bottom", "\\/"]
        body = ""
        while len(body) < n - 2:
            body += rng.choice(words) + " "
        body = body[: n - 2]
        if body.endswith("\\"):
            body = body[:-1] + "x"
        return ('"' + body + '"').encode()

    payloads = {
        "empty": b"",
        "tiny": b"{\"a\":1}",          # 7 bytes: below 8, a stored block
        "small": json_of_len(100),
        "under4k": json_of_len(4095),
        "net": net_python,
        "shape": shape_text,
    }
    manifest = {"pbze": {}, "net": {}, "weights": {}}
    for name, payload in payloads.items():
        blob = pbze(payload)
        with open(os.path.join(OUT, f"payload_{name}.bin"), "wb") as f:
            f.write(payload)
        with open(os.path.join(OUT, f"{name}.pbze"), "wb") as f:
            f.write(blob)
        stream = blob[28:]
        magics, end = walk_blocks(stream)
        assert end == len(stream)
        # The reference decoder returns 0 bytes both on error and for an empty payload.
        if payload:
            assert lzfse.decompress(stream) == payload
        manifest["pbze"][name] = {
            "file_size": len(blob),
            "uncompressed_size": len(payload),
            "compressed_size": len(stream),
            "blocks": magics,
            "header_hex": blob[:28].hex(),
        }

    with open(os.path.join(OUT, "synthetic.espresso.net"), "wb") as f:
        f.write(net_python)
    with open(os.path.join(OUT, "compact.espresso.net"), "wb") as f:
        f.write(net_compact)
    with open(os.path.join(OUT, "synthetic.espresso.shape"), "wb") as f:
        f.write(shape_text)
    with open(os.path.join(OUT, "synthetic.espresso.weights"), "wb") as f:
        f.write(weights)

    types = {}
    for layer in net["layers"]:
        types[layer["type"]] = types.get(layer["type"], 0) + 1
    manifest["net"] = {
        "layers": len(net["layers"]),
        "types": types,
        "names": [layer["name"] for layer in net["layers"]],
        "python_style_bytes": len(net_python),
        "compact_bytes": len(net_compact),
        "shape_blobs": len(synthetic_shape(net)["layer_shapes"]),
    }
    offset = 8 + 16 * len(sizes)
    entries = []
    for i, s in sizes.items():
        entries.append({"id": i, "size": s, "offset": offset})
        offset += s
    manifest["weights"] = {"file_size": len(weights), "entries": entries}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
