#!/usr/bin/env python3
"""Generate anekit-coreml's protobuf subset from the descriptors coremltools ships.

Nothing is copied from Apple's .proto files: this script walks the *compiled descriptors* in
`coremltools.proto.*_pb2` (coremltools 9.0) and writes

  crates/anekit-coreml/proto/coreml_subset.proto    the subset as proto3 text (for reading / protoc)
  crates/anekit-coreml/src/proto/generated.rs       prost structs for that subset (derive by hand,
                                                    no build.rs, no protoc at build time)
  crates/anekit-coreml/src/proto/nn_tables.rs       static descriptor tables for the legacy
                                                    NeuralNetwork messages (decoded dynamically)

The subset: `Model` restricted to specificationVersion / description / isUpdatable / mlProgram
(every other model type is recognised by field number through `MODEL_TYPES`), the full closure of
`ModelDescription` (FeatureDescription, FeatureType, Metadata, FunctionDescription, ...) and the
full closure of `MILSpec.Program`.

Run: python3 scripts/gen_coreml_proto.py   (then `rustfmt --edition 2024` the .rs outputs)
"""

import os
import sys

from google.protobuf.descriptor import FieldDescriptor as FD

from coremltools.proto import MIL_pb2, Model_pb2, NeuralNetwork_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATE = os.path.join(ROOT, "crates", "anekit-coreml")

MODEL_FIELDS = {1, 2, 10, 502}  # specificationVersion, description, isUpdatable, mlProgram

SCALAR = {
    FD.TYPE_DOUBLE: ("double", "f64"),
    FD.TYPE_FLOAT: ("float", "f32"),
    FD.TYPE_INT64: ("int64", "i64"),
    FD.TYPE_UINT64: ("uint64", "u64"),
    FD.TYPE_INT32: ("int32", "i32"),
    FD.TYPE_FIXED64: ("fixed64", "u64"),
    FD.TYPE_FIXED32: ("fixed32", "u32"),
    FD.TYPE_BOOL: ("bool", "bool"),
    FD.TYPE_STRING: ("string", "::prost::alloc::string::String"),
    FD.TYPE_BYTES: ("bytes", "::prost::alloc::vec::Vec<u8>"),
    FD.TYPE_UINT32: ("uint32", "u32"),
    FD.TYPE_SFIXED32: ("sfixed32", "i32"),
    FD.TYPE_SFIXED64: ("sfixed64", "i64"),
    FD.TYPE_SINT32: ("sint32", "i32"),
    FD.TYPE_SINT64: ("sint64", "i64"),
}

RUST_KEYWORDS = {"type", "match", "ref", "move", "fn", "mod", "use", "self", "super", "crate", "impl", "loop", "where", "in", "as", "box", "dyn"}


def is_map(m):
    return m.GetOptions().map_entry


def closure(m, seen, order):
    if m.full_name in seen:
        return
    seen.add(m.full_name)
    order.append(m)
    for f in m.fields:
        if m.full_name == Model_pb2.Model.DESCRIPTOR.full_name and f.number not in MODEL_FIELDS:
            continue
        if f.message_type is not None:
            closure(f.message_type, seen, order)


def snake(name):
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i > 0 and (name[i - 1].islower() or (i + 1 < len(name) and name[i + 1].islower() and name[i - 1] != "_")):
            out.append("_")
        out.append(c.lower())
    s = "".join(out)
    return "r#" + s if s in RUST_KEYWORDS else s


def camel(name):
    if name.isupper() or "_" in name:
        return "".join(p[:1].upper() + p[1:].lower() for p in name.split("_") if p)
    return name[:1].upper() + name[1:]


def main():
    seen, order = set(), []
    closure(Model_pb2.Model.DESCRIPTOR, seen, order)
    msgs = [m for m in order if not is_map(m)]

    # Rust names: the short (innermost) name when unique, else parent + child.
    short = {}
    for m in msgs:
        short.setdefault(m.name, []).append(m)
    rname = {}
    for m in msgs:
        if len(short[m.name]) == 1:
            rname[m.full_name] = m.name
        else:
            rname[m.full_name] = m.full_name.split(".")[-2] + m.name
    enums = {}
    for m in msgs:
        for f in m.fields:
            if f.enum_type is not None:
                enums[f.enum_type.full_name] = f.enum_type
    ename = {}
    for full, e in enums.items():
        ename[full] = e.name if e.containing_type is None else e.containing_type.name + e.name
    assert len(set(ename.values())) == len(ename), ename
    assert not set(ename.values()) & set(rname.values())

    # Which message types reach which (for boxing recursive singular fields).
    def edges(m):
        for f in m.fields:
            if m.full_name == Model_pb2.Model.DESCRIPTOR.full_name and f.number not in MODEL_FIELDS:
                continue
            if f.message_type is not None:
                t = f.message_type
                if is_map(t):
                    v = t.fields_by_name["value"]
                    if v.message_type is not None:
                        yield v.message_type
                else:
                    yield t

    by_name = {m.full_name: m for m in order}

    def reaches(a, b, memo=None):
        stack, vis = [a], set()
        while stack:
            x = stack.pop()
            for y in edges(by_name[x]):
                if y.full_name == b:
                    return True
                if y.full_name not in vis:
                    vis.add(y.full_name)
                    stack.append(y.full_name)
        return False

    def field_attr(f, m):
        """(prost attribute body, rust type) for a non-oneof field."""
        tag = f'tag = "{f.number}"'
        if f.message_type is not None and is_map(f.message_type):
            k = f.message_type.fields_by_name["key"]
            v = f.message_type.fields_by_name["value"]
            kp, kr = SCALAR[k.type]
            if v.message_type is not None:
                vp, vr = "message", rname[v.message_type.full_name]
            elif v.enum_type is not None:
                vp, vr = f"enumeration({ename[v.enum_type.full_name]})", "i32"
            else:
                vp, vr = SCALAR[v.type]
            return f'btree_map = "{kp}, {vp}", {tag}', f"::prost::alloc::collections::BTreeMap<{kr}, {vr}>"
        rep = f.is_repeated
        if f.message_type is not None:
            t = rname[f.message_type.full_name]
            if rep:
                return f"message, repeated, {tag}", f"::prost::alloc::vec::Vec<{t}>"
            if reaches(f.message_type.full_name, m.full_name) or f.message_type.full_name == m.full_name:
                return f"message, optional, boxed, {tag}", f"::core::option::Option<::prost::alloc::boxed::Box<{t}>>"
            return f"message, optional, {tag}", f"::core::option::Option<{t}>"
        if f.enum_type is not None:
            e = ename[f.enum_type.full_name]
            if rep:
                return f'enumeration = "{e}", repeated, {tag}', "::prost::alloc::vec::Vec<i32>"
            return f'enumeration = "{e}", {tag}', "i32"
        p, r = SCALAR[f.type]
        if rep:
            packed = "" if f.type in (FD.TYPE_STRING, FD.TYPE_BYTES) else ""
            return f"{p}, repeated{packed}, {tag}", f"::prost::alloc::vec::Vec<{r}>"
        if f.has_presence:
            return f"{p}, optional, {tag}", f"::core::option::Option<{r}>"
        return f"{p}, {tag}", r

    out = []
    w = out.append
    w("// @generated by scripts/gen_coreml_proto.py from the coremltools 9.0 descriptors. Do not edit.\n")
    w("// The subset of Core ML's Model.proto / MIL.proto / FeatureTypes.proto that anekit reads; see\n")
    w("// crates/anekit-coreml/proto/coreml_subset.proto for the same subset as proto3 text.\n")
    w("#![allow(clippy::all, clippy::pedantic, missing_docs)]\n\n")
    for m in msgs:
        name = rname[m.full_name]
        w(f"/// `{m.full_name}`\n")
        w("#[derive(Clone, PartialEq, ::prost::Message)]\n")
        w(f"pub struct {name} {{\n")
        oneofs_done = set()
        for f in m.fields:
            if m.full_name == Model_pb2.Model.DESCRIPTOR.full_name and f.number not in MODEL_FIELDS:
                continue
            o = f.containing_oneof
            if o is not None and not (m.full_name == Model_pb2.Model.DESCRIPTOR.full_name) and not o.name.startswith("_"):
                if o.name in oneofs_done:
                    continue
                oneofs_done.add(o.name)
                en = name + "Kind" if len([x for x in m.oneofs if not x.name.startswith("_")]) == 1 else name + camel(o.name)
                tags = ", ".join(str(x.number) for x in o.fields)
                w(f'    #[prost(oneof = "{en}", tags = "{tags}")]\n')
                w(f"    pub {snake(o.name)}: ::core::option::Option<{en}>,\n")
                continue
            attr, ty = field_attr(f, m)
            w(f"    /// field {f.number} `{f.name}`\n")
            w(f"    #[prost({attr})]\n")
            w(f"    pub {snake(f.name)}: {ty},\n")
        w("}\n\n")
        for o in m.oneofs:
            if o.name.startswith("_") or m.full_name == Model_pb2.Model.DESCRIPTOR.full_name:
                continue
            en = name + "Kind" if len([x for x in m.oneofs if not x.name.startswith("_")]) == 1 else name + camel(o.name)
            w(f"/// oneof `{m.full_name}.{o.name}`\n")
            w("#[derive(Clone, PartialEq, ::prost::Oneof)]\n")
            w(f"pub enum {en} {{\n")
            for f in o.fields:
                tag = f'tag = "{f.number}"'
                if f.message_type is not None:
                    t = rname[f.message_type.full_name]
                    if reaches(f.message_type.full_name, m.full_name):
                        w(f"    #[prost(message, boxed, {tag})]\n    {camel(f.name)}(::prost::alloc::boxed::Box<{t}>),\n")
                    else:
                        w(f"    #[prost(message, {tag})]\n    {camel(f.name)}({t}),\n")
                elif f.enum_type is not None:
                    w(f'    #[prost(enumeration = "{ename[f.enum_type.full_name]}", {tag})]\n    {camel(f.name)}(i32),\n')
                else:
                    p, r = SCALAR[f.type]
                    w(f"    #[prost({p}, {tag})]\n    {camel(f.name)}({r}),\n")
            w("}\n\n")
    for full, e in sorted(enums.items()):
        w(f"/// `{full}`\n")
        w("#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]\n#[repr(i32)]\n")
        w(f"pub enum {ename[full]} {{\n")
        for v in e.values:
            w(f"    {camel(v.name)} = {v.number},\n")
        w("}\n\n")
    write(os.path.join(CRATE, "src", "proto", "generated.rs"), "".join(out))

    # ---- proto3 text of the subset --------------------------------------------------------
    files = {}
    for m in msgs:
        if m.containing_type is None:
            files.setdefault(m.file.package, []).append(m)
    txt = ["// Generated by scripts/gen_coreml_proto.py from the coremltools 9.0 descriptors.\n",
           "// anekit's subset of Core ML's model format (Model.mlProgram, ModelDescription, MILSpec).\n",
           "// Field numbers and names follow the coremltools descriptors; comments are ours.\n",
           "// Packages are written as comments: one file keeps the subset in one place.\n\n",
           'syntax = "proto3";\n\n']

    def ptype(f):
        if f.message_type is not None:
            if is_map(f.message_type):
                k = f.message_type.fields_by_name["key"]
                v = f.message_type.fields_by_name["value"]
                vt = v.message_type.name if v.message_type else (v.enum_type.name if v.enum_type else SCALAR[v.type][0])
                return f"map<{SCALAR[k.type][0]}, {vt}>"
            return f.message_type.full_name.replace("CoreML.Specification.", "")
        if f.enum_type is not None:
            return f.enum_type.full_name.replace("CoreML.Specification.", "")
        return SCALAR[f.type][0]

    def emit_msg(m, ind):
        txt.append(f"{ind}message {m.name} {{\n")
        for n in m.nested_types:
            if not is_map(n) and n.full_name in seen:
                emit_msg(n, ind + "    ")
        for e in m.enum_types:
            if e.full_name in enums:
                emit_enum(e, ind + "    ")
        done = set()
        for f in m.fields:
            if m.full_name == Model_pb2.Model.DESCRIPTOR.full_name and f.number not in MODEL_FIELDS:
                continue
            o = f.containing_oneof
            if o is not None and not o.name.startswith("_"):
                if o.name in done:
                    continue
                done.add(o.name)
                txt.append(f"{ind}    oneof {o.name} {{\n")
                for g in o.fields:
                    if m.full_name == Model_pb2.Model.DESCRIPTOR.full_name and g.number not in MODEL_FIELDS:
                        continue
                    txt.append(f"{ind}        {ptype(g)} {g.name} = {g.number};\n")
                txt.append(f"{ind}    }}\n")
                continue
            rep = "repeated " if f.is_repeated and not (f.message_type and is_map(f.message_type)) else ""
            txt.append(f"{ind}    {rep}{ptype(f)} {f.name} = {f.number};\n")
        txt.append(f"{ind}}}\n")

    def emit_enum(e, ind):
        txt.append(f"{ind}enum {e.name} {{\n")
        for v in e.values:
            txt.append(f"{ind}    {v.name} = {v.number};\n")
        txt.append(f"{ind}}}\n")

    for pkg, ms in files.items():
        txt.append(f"// ---- package {pkg} ----\n\n")
        for m in ms:
            emit_msg(m, "")
            txt.append("\n")
        for full, e in sorted(enums.items()):
            if e.containing_type is None and e.file.package == pkg:
                emit_enum(e, "")
                txt.append("\n")
    txt.append("// Model.Type oneof members other than mlProgram (recognised by field number only):\n")
    for f in Model_pb2.Model.DESCRIPTOR.oneofs_by_name["Type"].fields:
        if f.number not in MODEL_FIELDS:
            txt.append(f"//   {f.number} {f.name} ({f.message_type.full_name})\n")
    write(os.path.join(CRATE, "proto", "coreml_subset.proto"), "".join(txt))

    # ---- NeuralNetwork descriptor tables ----------------------------------------------------
    nseen, norder = set(), []
    for root in (NeuralNetwork_pb2.NeuralNetwork, NeuralNetwork_pb2.NeuralNetworkClassifier,
                 NeuralNetwork_pb2.NeuralNetworkRegressor):
        closure(root.DESCRIPTOR, nseen, norder)
    norder = [m for m in norder if not is_map(m)]
    idx = {m.full_name: i for i, m in enumerate(norder)}
    t = ["// @generated by scripts/gen_coreml_proto.py from the coremltools 9.0 descriptors. Do not edit.\n",
         "// Field tables of the legacy NeuralNetwork messages, for the dynamic decoder in nn.rs.\n\n",
         "use super::dynamic::{FieldDesc, Kind, MsgDesc};\n\n"]
    t.append("/// `Model.Type` oneof members: (field number, field name). anekit decodes only mlProgram\n")
    t.append("/// (and the NeuralNetwork family through the tables below).\n")
    t.append("pub static MODEL_TYPES: &[(u32, &str)] = &[\n")
    for f in Model_pb2.Model.DESCRIPTOR.oneofs_by_name["Type"].fields:
        t.append(f'    ({f.number}, "{f.name}"),\n')
    t.append("];\n\n")
    for name, root in (("NEURAL_NETWORK", NeuralNetwork_pb2.NeuralNetwork),
                       ("NEURAL_NETWORK_CLASSIFIER", NeuralNetwork_pb2.NeuralNetworkClassifier),
                       ("NEURAL_NETWORK_REGRESSOR", NeuralNetwork_pb2.NeuralNetworkRegressor),
                       ("NEURAL_NETWORK_LAYER", NeuralNetwork_pb2.NeuralNetworkLayer)):
        t.append(f"pub const {name}: usize = {idx[root.DESCRIPTOR.full_name]};\n")
    t.append("\npub static MESSAGES: &[MsgDesc] = &[\n")
    for m in norder:
        t.append(f'    MsgDesc {{ name: "{m.full_name.replace("CoreML.Specification.", "")}", fields: &[\n')
        for f in m.fields:
            if f.message_type is not None and is_map(f.message_type):
                kind = "Kind::Map"
            elif f.message_type is not None:
                kind = f"Kind::Message({idx[f.message_type.full_name]})"
            elif f.enum_type is not None:
                vals = ", ".join(f'({v.number}, "{v.name}")' for v in f.enum_type.values)
                kind = f"Kind::Enum(&[{vals}])"
            else:
                kind = "Kind::" + camel(SCALAR[f.type][0])
            t.append(f'        FieldDesc {{ number: {f.number}, name: "{f.name}", kind: {kind}, repeated: {"true" if f.is_repeated else "false"} }},\n')
        t.append("    ] },\n")
    t.append("];\n")
    write(os.path.join(CRATE, "src", "proto", "nn_tables.rs"), "".join(t))
    print(f"{len(msgs)} prost messages, {len(enums)} enums, {len(norder)} NeuralNetwork tables", file=sys.stderr)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    print("wrote", os.path.relpath(path, ROOT), file=sys.stderr)


if __name__ == "__main__":
    main()
