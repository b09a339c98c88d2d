#!/usr/bin/env python3
"""Generate the blob-storage fixtures of crates/anekit-blob/tests/fixtures/ with coremltools' own
writer (reference/mil-blob.md §3), so anekit's writer and reader are compared against Apple's code.

Requires coremltools 9.0 and numpy (Linux x86_64 wheel works). Run from the repository root:
    python3 scripts/gen_blob_fixtures.py
Outputs (all small):
  <name>.npy                 inputs, saved by numpy
  mixed.weight.bin           one blob per byte-sized input, in SETS["mixed"] order
  sub_<dtype>.weight.bin     sub-byte blobs written from uint8/int8 inputs
  expected.json              per weight file: input npy files, writer method, metadata offsets
  npy_*.npy                  npy header variants (v2, v3, Fortran order, big-endian, 64-bit, 0-d)
  rng1234_normal1000_f16.npy numpy default_rng(1234).standard_normal(1000).astype(float16): the
                             values of the last blob of the corpus file all_dtypes.weight.bin
"""

import json
import os
import sys

import numpy as np

try:
    from coremltools.libmilstoragepython import _BlobStorageWriter
except ImportError as e:  # pragma: no cover
    sys.exit(f"coremltools with libmilstoragepython is required: {e}")

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "anekit-blob", "tests", "fixtures")

rng = np.random.default_rng(7)

# name -> (array, coremltools writer method, value handed to the writer)
ARRAYS = {
    "f16_2x3": np.array([[0.0, 1.0, -2.0], [65504.0, 6.1035156e-05, 0.33325195]], dtype=np.float16),
    "f16_rand": rng.standard_normal(37).astype(np.float16),
    "f32_4": np.array([1.5, -0.0, 3.4e38, 1e-45], dtype=np.float32),
    "i8_5": np.array([-128, -1, 0, 1, 127], dtype=np.int8),
    "u8_7": np.array([0, 1, 2, 127, 128, 254, 255], dtype=np.uint8),
    "i16_3": np.array([-32768, 12345, 32767], dtype=np.int16),
    "u16_2x2": np.array([[0, 1], [40000, 65535]], dtype=np.uint16),
    "i32_3": np.array([-2147483648, 7, 2147483647], dtype=np.int32),
    "u32_2": np.array([4294967295, 3], dtype=np.uint32),
    # Sub-byte inputs: numpy has no such types, so they are stored as int8/uint8.
    "int4_7": np.array([-8, 7, 1, 0, -1, 5, -3], dtype=np.int8),
    "int4_2x4": np.array([[1, 2, 3, 4], [-5, -6, -7, -8]], dtype=np.int8),
    "uint1_13": np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1], dtype=np.uint8),
    "uint2_7": np.array([3, 2, 1, 0, 1, 2, 3], dtype=np.uint8),
    "uint3_11": np.array([1, 2, 3, 4, 5, 6, 7, 0, 7, 3, 5], dtype=np.uint8),
    "uint4_5": np.array([15, 0, 9, 6, 1], dtype=np.uint8),
    "uint6_7": np.array([63, 0, 32, 31, 1, 62, 17], dtype=np.uint8),
}

MIXED = [
    ("f16_2x3", "write_fp16_data"),
    ("f32_4", "write_float_data"),
    ("i8_5", "write_int8_data"),
    ("u8_7", "write_uint8_data"),
    ("i16_3", "write_int16_data"),
    ("u16_2x2", "write_uint16_data"),
    ("i32_3", "write_int32_data"),
    ("u32_2", "write_uint32_data"),
    ("f16_rand", "write_fp16_data"),
]

SUB = {
    "int4": ["int4_7", "int4_2x4"],
    "uint1": ["uint1_13"],
    "uint2": ["uint2_7"],
    "uint3": ["uint3_11"],
    "uint4": ["uint4_5"],
    "uint6": ["uint6_7"],
}


def writer_input(name, method):
    a = ARRAYS[name].reshape(-1)
    if method == "write_fp16_data":
        return a.view(np.uint16)  # the binding takes fp16 as its bit pattern
    return a


def write_file(path, items):
    w = _BlobStorageWriter(path, truncate_file=True)
    offsets = [int(getattr(w, method)(writer_input(name, method))) for name, method in items]
    del w  # the file is finalized when the writer is destroyed
    return offsets


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, array in ARRAYS.items():
        np.save(os.path.join(OUT, name + ".npy"), array)
    np.save(
        os.path.join(OUT, "rng1234_normal1000_f16.npy"),
        np.random.default_rng(1234).standard_normal(1000).astype(np.float16),
    )

    # npy header variants numpy can write, for the npy reader tests.
    fmt = np.lib.format
    with open(os.path.join(OUT, "npy_v2_u2_2x3.npy"), "wb") as f:
        fmt.write_array(f, np.arange(6, dtype="<u2").reshape(2, 3), version=(2, 0))
    with open(os.path.join(OUT, "npy_v3_b1.npy"), "wb") as f:
        fmt.write_array(f, np.array([True, False, True]), version=(3, 0))
    np.save(os.path.join(OUT, "npy_fortran_f4.npy"), np.asfortranarray(np.ones((2, 2), dtype="<f4")))
    np.save(os.path.join(OUT, "npy_bigendian_i4.npy"), np.array([1, 2], dtype=">i4"))
    np.save(os.path.join(OUT, "npy_i8.npy"), np.array([-(2**63), 2**62 + 1], dtype="<i8"))
    np.save(os.path.join(OUT, "npy_u8_scalar.npy"), np.array(2**64 - 1, dtype="<u8"))

    expected = {}
    offsets = write_file(os.path.join(OUT, "mixed.weight.bin"), MIXED)
    expected["mixed.weight.bin"] = {
        "dtype": None,
        "inputs": [n + ".npy" for n, _ in MIXED],
        "writers": [m for _, m in MIXED],
        "offsets": offsets,
    }
    for dtype, names in SUB.items():
        items = [(n, f"write_{dtype}_data") for n in names]
        fname = f"sub_{dtype}.weight.bin"
        offsets = write_file(os.path.join(OUT, fname), items)
        expected[fname] = {
            "dtype": dtype,
            "inputs": [n + ".npy" for n in names],
            "writers": [m for _, m in items],
            "offsets": offsets,
        }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
