//! The canonical printer: the layout Apple's compiler writes (reference/mil-text.md §5).

use crate::ast::*;
use std::fmt::Write as _;

/// How to print a program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// `None` keeps the program's own header and scalar spellings. `Some(d)` converts: the
    /// header becomes `program(1.0)`/`program(1.3)`, and every scalar type (types of params and
    /// results, literal types, nested types such as the buildInfo dict's) is written as
    /// `tensor<T, []>` (1.0) or `T` (1.3).
    pub dialect: Option<Dialect>,
    /// `None` keeps the program's final newline (Apple's compiler writes none; a few files
    /// have one); `Some(b)` forces it on or off.
    pub final_newline: Option<bool>,
}

/// Print `program` in canonical form.
///
/// Layout: header line, buildInfo line, `{`, functions indented 4, statements 12, block
/// closers 8; `", "` and `" = "` separators; arguments and attributes sorted by name in byte
/// order; every float as a C99 hex float (`0x1.18p+6`, `0x0p+0`, `inf`, `-inf`, `nan`);
/// integers in decimal. Nested blocks of control-flow ops (never seen in a real file) are
/// written after the attributes, their statements indented 8 more than the enclosing ones.
pub fn print(program: &Program, options: &PrintOptions) -> String {
    let mut p = Printer {
        out: String::with_capacity(4096),
        dialect: options.dialect,
    };
    p.program(program);
    if options.final_newline.unwrap_or(program.trailing_newline) {
        p.out.push('\n');
    }
    p.out
}

impl std::fmt::Display for Program {
    /// The canonical text in the program's own dialect (`print` with default options).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&print(self, &PrintOptions::default()))
    }
}

struct Printer {
    out: String,
    dialect: Option<Dialect>,
}

const SPACES: &str = "                                                                ";

/// `items` sorted by `key` in byte order (stable), without allocating when already sorted.
fn sorted<T>(items: &[T], key: fn(&T) -> &str) -> Vec<&T> {
    let mut refs: Vec<&T> = items.iter().collect();
    if !items.is_sorted_by(|a, b| key(a).as_bytes() <= key(b).as_bytes()) {
        refs.sort_by(|a, b| key(a).as_bytes().cmp(key(b).as_bytes()));
    }
    refs
}

impl Printer {
    fn indent(&mut self, n: usize) {
        let mut n = n;
        while n > 0 {
            let k = n.min(SPACES.len());
            self.out.push_str(SPACES.get(..k).unwrap_or(""));
            n -= k;
        }
    }

    fn program(&mut self, program: &Program) {
        self.out.push_str("program(");
        match self.dialect {
            Some(d) => self.out.push_str(d.version()),
            None => self.out.push_str(&program.version.text),
        }
        self.out.push_str(")\n");
        if !program.attributes.is_empty() {
            self.attributes(&program.attributes);
            self.out.push('\n');
        }
        self.out.push_str("{\n");
        for f in &program.functions {
            self.function(f);
        }
        self.out.push('}');
    }

    fn function(&mut self, f: &Function) {
        self.indent(4);
        self.out.push_str("func ");
        self.out.push_str(&f.name.name);
        self.out.push('<');
        self.out.push_str(&f.opset.name);
        self.out.push_str(">(");
        self.params(&f.params);
        self.out.push(')');
        if !f.attributes.is_empty() {
            self.out.push(' ');
            self.attributes(&f.attributes);
        }
        self.out.push(' ');
        self.block(&f.body, 4);
        self.out.push_str(";\n");
    }

    fn params(&mut self, params: &[Param]) {
        for (i, param) in params.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.ty(&param.ty);
            self.out.push(' ');
            self.out.push_str(&param.name.name);
        }
    }

    /// `{`, the statements at `indent + 8`, and `} -> (outputs)` at `indent + 4`.
    fn block(&mut self, block: &Block, indent: usize) {
        self.out.push_str("{\n");
        for s in &block.statements {
            self.statement(s, indent + 8);
        }
        self.indent(indent + 4);
        self.out.push_str("} -> (");
        for (i, o) in block.outputs.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&o.name);
        }
        self.out.push(')');
    }

    fn statement(&mut self, s: &Statement, indent: usize) {
        self.indent(indent);
        self.params(&s.results);
        self.out.push_str(" = ");
        self.out.push_str(&s.op.name);
        if let Some(opset) = &s.op_opset {
            self.out.push('<');
            self.out.push_str(&opset.name);
            self.out.push('>');
        }
        self.out.push('(');
        for (i, arg) in sorted(&s.args, |a| &a.name.name).into_iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&arg.name.name);
            self.out.push_str(" = ");
            self.arg_value(&arg.value);
        }
        self.out.push(')');
        if !s.attributes.is_empty() {
            self.attributes(&s.attributes);
        }
        for b in &s.blocks {
            self.out.push(' ');
            self.out.push_str(&b.name.name);
            self.out.push('(');
            self.params(&b.params);
            self.out.push_str(") ");
            self.block(&b.body, indent);
        }
        self.out.push_str(";\n");
    }

    fn arg_value(&mut self, v: &ArgValue) {
        match v {
            ArgValue::Name(n) => self.out.push_str(&n.name),
            ArgValue::Literal(l) => self.literal(l),
            ArgValue::Tuple { items, .. } => {
                self.out.push('(');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.arg_value(item);
                }
                self.out.push(')');
            }
        }
    }

    fn attributes(&mut self, attributes: &[Attribute]) {
        self.out.push('[');
        for (i, a) in sorted(attributes, |a| &a.name.name).into_iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&a.name.name);
            self.out.push_str(" = ");
            self.literal(&a.value);
        }
        self.out.push(']');
    }

    fn ty(&mut self, ty: &Type) {
        match &ty.kind {
            TypeKind::Scalar(d) => {
                if self.dialect == Some(Dialect::V1_0) {
                    self.out.push_str("tensor<");
                    self.out.push_str(d.mil_name());
                    self.out.push_str(", []>");
                } else {
                    self.out.push_str(d.mil_name());
                }
            }
            TypeKind::Tensor { dtype, shape } => {
                if shape.is_empty() && self.dialect == Some(Dialect::V1_3) {
                    self.out.push_str(dtype.mil_name());
                    return;
                }
                self.out.push_str("tensor<");
                self.out.push_str(dtype.mil_name());
                self.out.push_str(", [");
                for (i, d) in shape.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.dim(*d);
                }
                self.out.push_str("]>");
            }
            TypeKind::List { elem, len } => {
                self.out.push_str("list<");
                self.ty(elem);
                self.out.push_str(", ");
                self.dim(*len);
                self.out.push('>');
            }
            TypeKind::Dict { key, value } => {
                self.out.push_str("dict<");
                self.ty(key);
                self.out.push_str(", ");
                self.ty(value);
                self.out.push('>');
            }
            TypeKind::Tuple(items) => {
                self.out.push_str("tuple<");
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.ty(t);
                }
                self.out.push('>');
            }
            TypeKind::State(inner) => {
                self.out.push_str("state<");
                self.ty(inner);
                self.out.push('>');
            }
            TypeKind::TensorBuffer {
                dtype,
                shape,
                strides,
                interleave_factors,
            } => {
                // The analysis-dump spelling: no spaces around `=` here.
                self.out.push_str("tensor_buffer<");
                self.out.push_str(dtype.mil_name());
                for (name, list) in [
                    ("shape", shape),
                    ("strides", strides),
                    ("interleave_factors", interleave_factors),
                ] {
                    self.out.push_str(", ");
                    self.out.push_str(name);
                    self.out.push_str("=[");
                    for (i, v) in list.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        let _ = write!(self.out, "{v}");
                    }
                    self.out.push(']');
                }
                self.out.push('>');
            }
        }
    }

    fn dim(&mut self, d: Dim) {
        match d {
            Dim::Known(n) => {
                let _ = write!(self.out, "{n}");
            }
            Dim::Unknown => self.out.push('?'),
        }
    }

    fn literal(&mut self, l: &Literal) {
        self.ty(&l.ty);
        self.out.push('(');
        self.payload(&l.value);
        self.out.push(')');
    }

    fn payload(&mut self, p: &Payload) {
        match &p.kind {
            PayloadKind::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            PayloadKind::Int(i) => {
                let _ = write!(self.out, "{i}");
            }
            PayloadKind::Float(f) => write_hex_float(&mut self.out, f.0),
            PayloadKind::Str(s) => write_string(&mut self.out, s),
            PayloadKind::Blob(b) => {
                self.out.push_str("BLOBFILE(path = ");
                self.literal(&b.path);
                self.out.push_str(", offset = ");
                self.literal(&b.offset);
                self.out.push(')');
            }
            PayloadKind::Array(a) => self.array(a),
            PayloadKind::List(items) => {
                self.out.push('[');
                self.payload_items(items);
                self.out.push(']');
            }
            PayloadKind::Dict(entries) => {
                self.out.push('{');
                for (i, e) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push('{');
                    self.payload(&e.key);
                    self.out.push_str(", ");
                    self.payload(&e.value);
                    self.out.push('}');
                }
                self.out.push('}');
            }
            PayloadKind::Tuple(items) => {
                self.out.push('(');
                self.payload_items(items);
                self.out.push(')');
            }
        }
    }

    fn payload_items(&mut self, items: &[Payload]) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.payload(item);
        }
    }

    fn array(&mut self, a: &Array) {
        // Row-major walk: before element k, close and reopen brackets for every dimension
        // whose index wraps; an array with a zero dimension prints only its brackets.
        let total = a.elements.len();
        let expected = a
            .shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if total == 0 || expected != Some(total) {
            // Empty (`[]`, `[[], []]`) or inconsistent (built in code): print the nesting of
            // the shape without leaves.
            self.empty_nesting(&a.shape);
            return;
        }
        let rank = a.shape.len();
        for _ in 0..rank {
            self.out.push('[');
        }
        for k in 0..total {
            if k > 0 {
                // How many innermost dimensions end at element k.
                let mut closing = 0;
                let mut stride = 1;
                for &d in a.shape.iter().rev() {
                    stride *= d;
                    if k % stride == 0 {
                        closing += 1;
                    } else {
                        break;
                    }
                }
                closing = closing.min(rank.saturating_sub(1));
                for _ in 0..closing {
                    self.out.push(']');
                }
                self.out.push_str(", ");
                for _ in 0..closing {
                    self.out.push('[');
                }
            }
            match &a.elements {
                Elements::Bool(v) => {
                    let b = v.get(k).copied().unwrap_or(false);
                    self.out.push_str(if b { "true" } else { "false" });
                }
                Elements::Int(v) => {
                    let _ = write!(self.out, "{}", v.get(k).copied().unwrap_or(0));
                }
                Elements::Float(v) => {
                    write_hex_float(&mut self.out, v.get(k).copied().unwrap_or_default().0)
                }
                Elements::Str(v) => write_string(&mut self.out, v.get(k).map_or("", |s| s)),
            }
        }
        for _ in 0..rank {
            self.out.push(']');
        }
    }

    /// `[]`, `[[], []]`, ...: brackets for a shape whose elements are absent.
    fn empty_nesting(&mut self, shape: &[usize]) {
        self.out.push('[');
        if let Some((&first, rest)) = shape.split_first()
            && !rest.is_empty()
        {
            for i in 0..first {
                if i > 0 {
                    self.out.push_str(", ");
                }
                self.empty_nesting(rest);
            }
        }
        self.out.push(']');
    }
}

/// A double-quoted string; `"` and `\` are escaped, as are LF, CR and tab.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut run_start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            _ => continue,
        };
        out.push_str(s.get(run_start..i).unwrap_or(""));
        out.push_str(esc);
        run_start = i + 1;
    }
    out.push_str(s.get(run_start..).unwrap_or(""));
    out.push('"');
}

/// A float the way Apple's compiler writes it: C99 hex with trailing zero nibbles removed and
/// a signed exponent (`0x1.18p+6`), zero as `0x0p+0`, subnormals normalized (`0x1p-1074`),
/// `inf`/`-inf`, and `nan` (`-nan` when the sign bit is set).
pub fn write_hex_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str(if v.is_sign_negative() { "-nan" } else { "nan" });
        return;
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    if v.is_infinite() {
        out.push_str("inf");
        return;
    }
    let bits = v.to_bits();
    let exp_field = ((bits >> 52) & 0x7ff) as i64;
    let mut frac = bits & ((1u64 << 52) - 1);
    if exp_field == 0 && frac == 0 {
        out.push_str("0x0p+0");
        return;
    }
    let exp = if exp_field == 0 {
        // Subnormal: shift the leading 1 up to the implicit bit position.
        let top = 63 - i64::from(frac.leading_zeros());
        frac = (frac << (52 - top)) & ((1u64 << 52) - 1);
        -1074 + top
    } else {
        exp_field - 1023
    };
    out.push_str("0x1");
    if frac != 0 {
        let nibbles = 13 - (frac.trailing_zeros() / 4) as usize;
        let digits = frac >> (4 * (13 - nibbles));
        let _ = write!(out, ".{digits:0nibbles$x}");
    }
    let _ = write!(out, "p{exp:+}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(v: f64) -> String {
        let mut s = String::new();
        write_hex_float(&mut s, v);
        s
    }

    #[test]
    fn hex_floats_match_compiler_spellings() {
        // Spellings from reference/mil-text.md §5 rule 12 [verified].
        assert_eq!(hex(0.5), "0x1p-1");
        assert_eq!(hex(70.0), "0x1.18p+6");
        assert_eq!(hex(-10000.0), "-0x1.388p+13");
        assert_eq!(hex(0.0), "0x0p+0");
        assert_eq!(hex(1.0), "0x1p+0");
        assert_eq!(hex(f64::from(f32::from_bits(1))), "0x1p-149");
        assert_eq!(hex(2f64.powi(-24)), "0x1p-24");
        assert_eq!(hex(f64::INFINITY), "inf");
        assert_eq!(hex(f64::NEG_INFINITY), "-inf");
        assert_eq!(hex(f64::from_bits(1)), "0x1p-1074");
        assert_eq!(hex(f64::from_bits(3)), "0x1.8p-1073");
        assert_eq!(hex(0.1), "0x1.999999999999ap-4");
    }

    #[test]
    fn strings_escape_quotes_and_backslashes() {
        let mut s = String::new();
        write_string(&mut s, "a\"b\\c\nd");
        assert_eq!(s, r#""a\"b\\c\nd""#);
    }
}
