//! Building the IR from the MIL syntax tree, with every validation that needs no weights.
//!
//! The builder never stops at the first problem: each statement is checked on its own, results
//! always get their declared types, and every finding becomes a [`Diagnostic`].

use crate::diag::{Diagnostic, codes};
use crate::infer::{ArgInfo, InferCtx, InferError};
use crate::ir::{
    Arg, BlobRef, ConstData, ConstId, Constant, Function, Input, Op, Program, Value, ValueDef,
    ValueId,
};
use crate::ops::{self, Category, InputDef, InputKind, OpDef, Opset, OpsetTag};
use crate::types::{Dim, TensorType, Type, mismatch};
use anekit_core::DType;
use anekit_mil::ast::{self, Span};
use std::borrow::Cow;
use std::cell::OnceCell;
// SipHash dominated the profile of large programs; foldhash is a fast non-cryptographic hash
// with a per-process random seed.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

/// Build the IR of `program`, returning it with every diagnostic found (in source order).
pub fn build(program: &ast::Program) -> (Program, Vec<Diagnostic>) {
    let mut b = Builder {
        constants: Vec::new(),
        diags: Vec::new(),
        unchecked: HashMap::new(),
    };
    let mut functions = Vec::with_capacity(program.functions.len());
    let mut names = HashSet::new();
    for f in &program.functions {
        if !names.insert(f.name.name.as_str()) {
            b.diags.push(Diagnostic::error(
                codes::DUPLICATE_FUNCTION,
                f.name.span,
                format!("function `{}` is defined more than once", f.name.name),
            ));
        }
        functions.push(b.function(f));
    }
    let mut unchecked: Vec<(&'static str, (Span, usize))> = b.unchecked.into_iter().collect();
    unchecked.sort_by_key(|(_, (span, _))| span.start);
    for (name, (span, count)) in unchecked {
        b.diags.push(Diagnostic::info(
            codes::UNCHECKED_OP,
            span,
            format!("{count} `{name}` op(s) not type-checked: no shape inference for `{name}` yet; declared result types trusted"),
        ));
    }
    b.diags.sort_by_key(|d| (d.span.start, d.severity));
    let program = Program {
        version: program.version.text.clone(),
        functions,
        constants: b.constants,
    };
    (program, b.diags)
}

struct Builder {
    constants: Vec<Constant>,
    diags: Vec<Diagnostic>,
    /// Ops without inference: first span and count per op name.
    unchecked: HashMap<&'static str, (Span, usize)>,
}

/// Per-function state.
struct Scope<'a> {
    names: HashMap<&'a str, ValueId>,
    /// The function's statements and, built on the first undefined name only, the set of
    /// names they define: tells "used before definition" from "undefined".
    statements: &'a [ast::Statement],
    later: OnceCell<HashSet<&'a str>>,
    values: Vec<Value>,
    ops: Vec<Op>,
}

impl Scope<'_> {
    fn is_const_value(&self, id: ValueId) -> bool {
        let Some(v) = self.values.get(id.0 as usize) else {
            return false;
        };
        if v.constant.is_some() {
            return true;
        }
        match v.def {
            ValueDef::Op { op, .. } => self.ops.get(op).and_then(|o| o.def).is_some_and(|d| {
                matches!(d.category, Category::ConstexprOps | Category::Compression)
            }),
            ValueDef::Input(_) => false,
        }
    }
}

impl Builder {
    fn function(&mut self, f: &ast::Function) -> Function {
        let tag = OpsetTag::parse(&f.opset.name);
        match tag {
            None => self.diags.push(Diagnostic::error(
                codes::UNKNOWN_OPSET,
                f.opset.span,
                format!(
                    "unknown opset `{}` (expected ios15, ios16, ios17 or ios18)",
                    f.opset.name
                ),
            )),
            Some(OpsetTag::Newer(n)) => self.diags.push(Diagnostic::info(
                codes::NEWER_OPSET,
                f.opset.span,
                format!("opset ios{n} is newer than the registry (ios15..ios18); checked as ios18"),
            )),
            Some(OpsetTag::Known(_)) => {}
        }
        let opset = tag.map_or(Opset::Ios18, OpsetTag::effective);
        let mut scope = Scope {
            names: HashMap::with_capacity(f.params.len() + f.body.statements.len()),
            statements: &f.body.statements,
            later: OnceCell::new(),
            values: Vec::new(),
            ops: Vec::with_capacity(f.body.statements.len()),
        };
        let mut inputs = Vec::with_capacity(f.params.len());
        for (i, p) in f.params.iter().enumerate() {
            let ty = self.ty(&p.ty);
            if let Some(id) = self.define(&mut scope, &p.name, ty, ValueDef::Input(i), None) {
                inputs.push(id);
            }
        }
        for s in &f.body.statements {
            self.statement(&mut scope, s, opset);
        }
        let mut outputs = Vec::with_capacity(f.body.outputs.len());
        for o in &f.body.outputs {
            match scope.names.get(o.name.as_str()) {
                Some(id) => outputs.push(*id),
                None => self.diags.push(Diagnostic::error(
                    codes::UNDEFINED_OUTPUT,
                    o.span,
                    format!(
                        "function output `{}` is not a value of function `{}`",
                        o.name, f.name.name
                    ),
                )),
            }
        }
        Function {
            name: f.name.name.to_string(),
            opset_text: f.opset.name.to_string(),
            opset_tag: tag,
            opset,
            inputs,
            outputs,
            ops: scope.ops,
            values: scope.values,
            span: f.span,
        }
    }

    /// Add a named value; None (and `E-duplicate-def`) when the name is taken.
    fn define<'a>(
        &mut self,
        scope: &mut Scope<'a>,
        name: &'a ast::Ident,
        ty: Type,
        def: ValueDef,
        constant: Option<ConstId>,
    ) -> Option<ValueId> {
        if let Some(prev) = scope.names.get(name.name.as_str()) {
            let prev_span = scope
                .values
                .get(prev.0 as usize)
                .map_or(Span::default(), |v| v.span);
            self.diags.push(Diagnostic::error(
                codes::DUPLICATE_DEF,
                name.span,
                format!(
                    "`{}` is already defined (at byte {}); SSA values are defined once",
                    name.name, prev_span.start
                ),
            ));
            return None;
        }
        let id = ValueId(scope.values.len() as u32);
        scope.values.push(Value {
            name: name.name.to_string(),
            ty,
            def,
            constant,
            span: name.span,
        });
        scope.names.insert(name.name.as_str(), id);
        Some(id)
    }

    fn statement<'a>(&mut self, scope: &mut Scope<'a>, s: &'a ast::Statement, fn_opset: Opset) {
        let def = ops::lookup(&s.op.name);
        let mut opset = fn_opset;
        if let Some(explicit) = &s.op_opset {
            match OpsetTag::parse(&explicit.name) {
                Some(t) => opset = t.effective(),
                None => self.diags.push(Diagnostic::error(
                    codes::UNKNOWN_OPSET,
                    explicit.span,
                    format!("unknown op opset `{}`", explicit.name),
                )),
            }
        }
        for block in &s.blocks {
            self.diags.push(Diagnostic::error(
                codes::UNSUPPORTED,
                block.span,
                format!(
                    "nested block `{}` of `{}`: control flow is not supported",
                    block.name.name, s.op.name
                ),
            ));
        }
        let declared: Vec<Type> = s.results.iter().map(|r| self.ty(&r.ty)).collect();
        let mut inputs = Vec::new();
        let mut inferred = None;
        let mut const_id = None;
        match def {
            None => {
                self.diags.push(Diagnostic::error(
                    codes::UNKNOWN_OP,
                    s.op.span,
                    format!(
                        "unknown op `{}` (not in the iOS15-iOS18 registry)",
                        s.op.name
                    ),
                ));
                // Still bind arguments so undefined names are reported.
                for a in &s.args {
                    let arg = self.arg_value(scope, &a.value);
                    inputs.push(Input {
                        name: Cow::Owned(a.name.name.to_string()),
                        arg,
                        span: a.span,
                    });
                }
            }
            Some(def) if def.name == "const" => {
                const_id = self.const_op(s, &declared);
            }
            Some(def) => {
                if !def.available_in(opset) {
                    self.diags.push(Diagnostic::error(
                        codes::OP_NOT_IN_OPSET,
                        s.op.span,
                        format!(
                            "`{}` needs opset {} or later; this op is checked as {opset}",
                            def.name, def.since
                        ),
                    ));
                }
                let before = self.diags.len();
                inputs = self.bind_inputs(scope, s, def, opset);
                // Inference on inputs of the wrong kind or dtype would only repeat the problem.
                let inputs_ok = !self
                    .diags
                    .get(before..)
                    .unwrap_or_default()
                    .iter()
                    .any(|d| matches!(d.code, codes::INPUT_KIND | codes::INPUT_DTYPE));
                if inputs_ok {
                    inferred = self.check_results(scope, s, def, opset, &inputs, &declared);
                }
            }
        }
        let op_index = scope.ops.len();
        let mut results = Vec::with_capacity(s.results.len());
        for (i, (r, ty)) in s.results.iter().zip(declared).enumerate() {
            let def = ValueDef::Op {
                op: op_index,
                result: i,
            };
            if let Some(id) = self.define(scope, &r.name, ty, def, const_id) {
                results.push(id);
            }
        }
        let name = s
            .attribute("name")
            .and_then(|l| l.as_str())
            .map(str::to_owned);
        let attributes = s
            .attributes
            .iter()
            .filter(|a| {
                let n = a.name.name.as_str();
                n != "name"
                    && !inputs.iter().any(|i| i.name == n)
                    && !(const_id.is_some() && n == "val")
            })
            .map(|a| (a.name.name.to_string(), self.literal(&a.value)))
            .collect();
        scope.ops.push(Op {
            kind: s.op.name.to_string(),
            def,
            opset,
            inputs,
            results,
            name,
            attributes,
            inferred,
            span: s.span,
        });
    }

    /// `const()[val = LIT]`: the literal becomes the constant; its type must match the result.
    fn const_op(&mut self, s: &ast::Statement, declared: &[Type]) -> Option<ConstId> {
        if s.results.len() != 1 {
            self.diags.push(Diagnostic::error(
                codes::RESULT_COUNT,
                s.op.span,
                format!(
                    "`const` binds 1 result, this statement binds {}",
                    s.results.len()
                ),
            ));
        }
        for a in &s.args {
            self.diags.push(Diagnostic::error(
                codes::UNKNOWN_INPUT,
                a.name.span,
                format!(
                    "`const` takes no arguments; its value is the `val` attribute (found `{}`)",
                    a.name.name
                ),
            ));
        }
        let Some(val) = s.attribute("val") else {
            self.diags.push(Diagnostic::error(
                codes::MISSING_INPUT,
                s.op.span,
                "`const` has no `val` attribute",
            ));
            return None;
        };
        let id = self.literal(val);
        if let (Some(decl), Some(r), Some(c)) = (
            declared.first(),
            s.results.first(),
            self.constants.get(id.0 as usize),
        ) && let Some(why) = mismatch(decl, &c.ty)
        {
            self.diags.push(Diagnostic::error(
                codes::TYPE_MISMATCH,
                r.ty.span,
                format!(
                    "`{}` is declared {decl} but its value is {}: {why}",
                    r.name.name, c.ty
                ),
            ));
        }
        Some(id)
    }

    fn bind_inputs<'a>(
        &mut self,
        scope: &Scope<'a>,
        s: &'a ast::Statement,
        def: &'static OpDef,
        opset: Opset,
    ) -> Vec<Input> {
        let signature = def.signature(opset).or_else(|| def.signatures.first());
        let sig_inputs: &[InputDef] = signature.map_or(&[], |s| s.inputs);
        let mut inputs: Vec<Input> = Vec::with_capacity(s.args.len());
        // Ops take a handful of inputs: a scan of the names bound so far (`inputs`, in the same
        // order) beats a hash set, and needs no allocation.
        let check_name =
            |this: &mut Self, bound: &[Input], name: &'a ast::Ident| -> Option<&'static InputDef> {
                if bound.iter().any(|b| b.name == name.name.as_str()) {
                    this.diags.push(Diagnostic::error(
                        codes::DUPLICATE_INPUT,
                        name.span,
                        format!(
                            "input `{}` of `{}` is given more than once",
                            name.name, def.name
                        ),
                    ));
                    return None;
                }
                let found = sig_inputs.iter().find(|i| i.name == name.name);
                if found.is_none() {
                    let elsewhere = def.opsets_with_input(&name.name);
                    let (code, msg) = if elsewhere.is_empty() {
                        let expected: Vec<&str> = sig_inputs.iter().map(|i| i.name).collect();
                        (
                            codes::UNKNOWN_INPUT,
                            format!(
                                "`{}` has no input `{}` (inputs: {})",
                                def.name,
                                name.name,
                                expected.join(", ")
                            ),
                        )
                    } else {
                        let tags: Vec<&str> = elsewhere.iter().map(|o| o.tag()).collect();
                        (
                            codes::INPUT_NOT_IN_OPSET,
                            format!(
                                "input `{}` of `{}` does not exist in {opset} (it exists in {})",
                                name.name,
                                def.name,
                                tags.join(", ")
                            ),
                        )
                    };
                    this.diags.push(Diagnostic::error(code, name.span, msg));
                }
                found
            };
        for a in &s.args {
            let idef = check_name(self, &inputs, &a.name);
            let arg = self.arg_value(scope, &a.value);
            if let Some(idef) = idef {
                self.check_input(scope, def, idef, &arg, a.value.span());
            }
            inputs.push(Input {
                name: input_name(idef, &a.name),
                arg,
                span: a.span,
            });
        }
        // Constexpr operands are attributes before iOS18 (mil-text.md §4.2); accepted in any
        // opset because compiler output of both eras exists.
        if def.operands_in_attributes_before_ios18 {
            for attr in &s.attributes {
                if attr.name.name == "name"
                    || !def
                        .signatures
                        .iter()
                        .any(|sg| sg.inputs.iter().any(|i| i.name == attr.name.name))
                {
                    continue;
                }
                let idef = check_name(self, &inputs, &attr.name);
                let id = self.literal(&attr.value);
                let arg = Arg::Const(id);
                if let Some(idef) = idef {
                    self.check_input(scope, def, idef, &arg, attr.value.span);
                }
                inputs.push(Input {
                    name: input_name(idef, &attr.name),
                    arg,
                    span: attr.span,
                });
            }
        }
        // Block inputs come from nested blocks, reported as unsupported on their own.
        for i in sig_inputs
            .iter()
            .filter(|i| !i.optional && i.kind != InputKind::Block)
        {
            if !inputs.iter().any(|b| b.name == i.name) {
                self.diags.push(Diagnostic::error(
                    codes::MISSING_INPUT,
                    s.op.span,
                    format!("`{}` is missing required input `{}`", def.name, i.name),
                ));
            }
        }
        inputs
    }

    fn arg_value(&mut self, scope: &Scope<'_>, v: &ast::ArgValue) -> Arg {
        match v {
            ast::ArgValue::Name(id) => match scope.names.get(id.name.as_str()) {
                Some(v) => Arg::Value(*v),
                None => {
                    let defined_somewhere = scope
                        .later
                        .get_or_init(|| {
                            scope
                                .statements
                                .iter()
                                .flat_map(|s| s.results.iter().map(|r| r.name.name.as_str()))
                                .collect()
                        })
                        .contains(id.name.as_str());
                    let (code, msg) = if defined_somewhere {
                        (
                            codes::USE_BEFORE_DEF,
                            format!("`{}` is used before its definition", id.name),
                        )
                    } else {
                        (
                            codes::UNDEFINED_VALUE,
                            format!("`{}` is not defined", id.name),
                        )
                    };
                    self.diags.push(Diagnostic::error(code, id.span, msg));
                    Arg::Undefined(id.name.to_string())
                }
            },
            ast::ArgValue::Literal(l) => Arg::Const(self.literal(l)),
            ast::ArgValue::Tuple { items, .. } => {
                Arg::Tuple(items.iter().map(|i| self.arg_value(scope, i)).collect())
            }
        }
    }

    fn arg_type<'s>(&'s self, scope: &'s Scope<'_>, arg: &Arg) -> Option<&'s Type> {
        match arg {
            Arg::Value(v) => scope.values.get(v.0 as usize).map(|v| &v.ty),
            Arg::Const(c) => self.constants.get(c.0 as usize).map(|c| &c.ty),
            Arg::Tuple(_) | Arg::Undefined(_) => None,
        }
    }

    /// Kind, dtype and const-ness of one bound input.
    fn check_input(
        &mut self,
        scope: &Scope<'_>,
        def: &OpDef,
        idef: &InputDef,
        arg: &Arg,
        span: Span,
    ) {
        let what = || format!("input `{}` of `{}`", idef.name, def.name);
        match (idef.kind, arg) {
            (_, Arg::Undefined(_)) => return,
            (InputKind::Variadic, Arg::Tuple(items)) => {
                for item in items {
                    self.check_dtype(scope, idef, item, span, &what);
                }
                return;
            }
            (InputKind::Variadic, _) => {
                self.diags.push(Diagnostic::error(
                    codes::INPUT_KIND,
                    span,
                    format!("{} takes a tuple `(a, b, ...)`", what()),
                ));
                return;
            }
            (InputKind::Any, _) => return,
            (_, Arg::Tuple(_)) => {
                self.diags.push(Diagnostic::error(
                    codes::INPUT_KIND,
                    span,
                    format!("{} takes a single value, not a tuple", what()),
                ));
                return;
            }
            _ => {}
        }
        let Some(ty) = self.arg_type(scope, arg) else {
            return;
        };
        let kind_ok = match idef.kind {
            InputKind::Tensor => matches!(ty, Type::Tensor(_)),
            InputKind::List => matches!(ty, Type::List { .. }),
            InputKind::State => matches!(ty, Type::State(_)),
            InputKind::TensorBuffer => matches!(ty, Type::TensorBuffer { .. }),
            InputKind::Block | InputKind::Variadic | InputKind::Any => true,
        };
        if !kind_ok {
            let expected = match idef.kind {
                InputKind::List => "list",
                InputKind::State => "state",
                InputKind::TensorBuffer => "tensor_buffer",
                _ => "tensor",
            };
            self.diags.push(Diagnostic::error(
                codes::INPUT_KIND,
                span,
                format!("{} must be a {expected}, found {ty}", what()),
            ));
            return;
        }
        self.check_dtype(scope, idef, arg, span, &what);
        if idef.must_be_const {
            let is_const = match arg {
                Arg::Const(_) => true,
                Arg::Value(v) => scope.is_const_value(*v),
                _ => true,
            };
            if !is_const {
                self.diags.push(Diagnostic::error(
                    codes::INPUT_NOT_CONST,
                    span,
                    format!(
                        "{} must be a constant (a literal or a `const` value)",
                        what()
                    ),
                ));
            }
        }
    }

    fn check_dtype(
        &mut self,
        scope: &Scope<'_>,
        idef: &InputDef,
        arg: &Arg,
        span: Span,
        what: &dyn Fn() -> String,
    ) {
        if let Some(Type::Tensor(t)) = self.arg_type(scope, arg)
            && !idef.dtypes.contains(t.dtype)
        {
            self.diags.push(Diagnostic::error(
                codes::INPUT_DTYPE,
                span,
                format!("{} has dtype {}, expected {}", what(), t.dtype, idef.dtypes),
            ));
        }
    }

    /// Result count and inference. Returns the inferred result types when inference ran.
    fn check_results(
        &mut self,
        scope: &Scope<'_>,
        s: &ast::Statement,
        def: &'static OpDef,
        opset: Opset,
        inputs: &[Input],
        declared: &[Type],
    ) -> Option<Vec<Type>> {
        if !def.outputs.accepts(s.results.len()) {
            self.diags.push(Diagnostic::error(
                codes::RESULT_COUNT,
                s.op.span,
                format!(
                    "`{}` produces {} result(s), this statement binds {}",
                    def.name,
                    def.outputs,
                    s.results.len()
                ),
            ));
            return None;
        }
        let Some(infer) = def.infer else {
            let e = self.unchecked.entry(def.name).or_insert((s.op.span, 0));
            e.1 += 1;
            return None;
        };
        let info = |arg: &Arg| -> ArgInfo<'_> { arg_info(&self.constants, &scope.values, arg) };
        let ctx = InferCtx {
            opset,
            args: inputs.iter().map(|i| (&*i.name, info(&i.arg))).collect(),
            result_count: s.results.len(),
        };
        let result = infer(&ctx);
        drop(ctx);
        match result {
            Ok(types) if types.len() != declared.len() => {
                self.diags.push(Diagnostic::error(
                    codes::RESULT_COUNT,
                    s.op.span,
                    format!(
                        "`{}` produces {} result(s) here, this statement binds {}",
                        def.name,
                        types.len(),
                        declared.len()
                    ),
                ));
                Some(types)
            }
            Ok(types) => {
                for ((r, decl), inf) in s.results.iter().zip(declared).zip(&types) {
                    if let Some(why) = mismatch(decl, inf) {
                        self.diags.push(Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            r.ty.span,
                            format!(
                                "`{}` is declared {decl}, but `{}` produces {inf}: {why}",
                                r.name.name, def.name
                            ),
                        ));
                    }
                }
                Some(types)
            }
            Err(InferError::Invalid(msg)) => {
                self.diags.push(Diagnostic::error(
                    codes::INVALID_OP,
                    s.op.span,
                    format!("`{}`: {msg}", def.name),
                ));
                None
            }
            Err(InferError::Unknowable) => None,
        }
    }

    fn ty(&mut self, t: &ast::Type) -> Type {
        convert_type(t)
    }

    /// Turn a literal into a constant, checking its payload against its type.
    fn literal(&mut self, l: &ast::Literal) -> ConstId {
        let ty = convert_type(&l.ty);
        let data = match &ty {
            Type::Tensor(t) => match self.payload(t, &l.value) {
                Ok(d) => d,
                Err(msg) => {
                    self.diags
                        .push(Diagnostic::error(codes::LITERAL, l.value.span, msg));
                    ConstData::Structured
                }
            },
            _ => ConstData::Structured,
        };
        let id = ConstId(self.constants.len() as u32);
        self.constants.push(Constant {
            ty,
            data,
            span: l.span,
        });
        id
    }

    fn payload(&mut self, t: &TensorType, p: &ast::Payload) -> Result<ConstData, String> {
        use ast::PayloadKind as P;
        let data = match &p.kind {
            P::Blob(b) => {
                let path = b
                    .path_str()
                    .ok_or("BLOBFILE path must be a string literal")?;
                let offset = b
                    .offset_u64()
                    .ok_or("BLOBFILE offset must be a non-negative integer")?;
                return Ok(ConstData::Blob(BlobRef {
                    path: path.to_owned(),
                    offset,
                    span: b.span,
                }));
            }
            P::Bool(v) => ConstData::Bools(vec![*v]),
            P::Int(v) => ConstData::Ints(vec![*v]),
            P::Float(v) => ConstData::Floats(vec![v.0]),
            P::Str(v) => ConstData::Strings(vec![v.to_string()]),
            P::Array(a) => match &a.elements {
                ast::Elements::Bool(v) => ConstData::Bools(v.clone()),
                ast::Elements::Int(v) => ConstData::Ints(v.clone()),
                ast::Elements::Float(v) => ConstData::Floats(v.iter().map(|f| f.0).collect()),
                ast::Elements::Str(v) => ConstData::Strings(v.clone()),
            },
            P::List(_) => {
                return Err(format!(
                    "a {t} literal must be a rectangular array of scalars"
                ));
            }
            P::Dict(_) | P::Tuple(_) => {
                return Err(format!("a {t} literal cannot hold a dict or tuple"));
            }
        };
        // Integer payloads of float types (`fp64(0)`) are floats.
        let data = match data {
            ConstData::Ints(v) if t.dtype.is_float() => {
                ConstData::Floats(v.iter().map(|&i| i as f64).collect())
            }
            d => d,
        };
        let kind_ok = match (&data, t.dtype) {
            (ConstData::Bools(_), DType::Bool) => true,
            (ConstData::Strings(_), DType::String) => true,
            (ConstData::Floats(_), d) => d.is_float(),
            (ConstData::Ints(_), d) => d.is_int(),
            // An empty array is spelled without elements: any dtype.
            (d, _) => d.is_empty(),
        };
        if !kind_ok {
            return Err(format!("the values do not fit element type {}", t.dtype));
        }
        if let ConstData::Ints(v) = &data
            && let Some(bits) = t.dtype.bits()
        {
            let (lo, hi): (i128, i128) = if t.dtype.is_signed_int() {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            if let Some(bad) = v.iter().find(|&&x| x < lo || x > hi) {
                return Err(format!("value {bad} is out of range for {}", t.dtype));
            }
        }
        if let (Some(expected), Some(found)) = (t.element_count(), data.len())
            && expected != found as u64
        {
            return Err(format!(
                "{t} needs {expected} value(s), the literal has {found}"
            ));
        }
        if let P::Array(a) = &p.kind
            && t.rank() > 0
            && a.shape.len() != t.rank()
            && !data.is_empty()
        {
            return Err(format!(
                "{t} has rank {}, the literal nests {} level(s)",
                t.rank(),
                a.shape.len()
            ));
        }
        Ok(data)
    }
}

fn input_name(def: Option<&'static InputDef>, written: &ast::Ident) -> Cow<'static, str> {
    match def {
        Some(d) => Cow::Borrowed(d.name),
        None => Cow::Owned(written.name.to_string()),
    }
}

fn arg_info<'a>(constants: &'a [Constant], values: &'a [Value], arg: &Arg) -> ArgInfo<'a> {
    match arg {
        Arg::Value(v) => match values.get(v.0 as usize) {
            Some(val) => ArgInfo::One {
                ty: &val.ty,
                value: val
                    .constant
                    .and_then(|c| constants.get(c.0 as usize))
                    .map(|c| &c.data),
            },
            None => ArgInfo::Missing,
        },
        Arg::Const(c) => match constants.get(c.0 as usize) {
            Some(c) => ArgInfo::One {
                ty: &c.ty,
                value: Some(&c.data),
            },
            None => ArgInfo::Missing,
        },
        Arg::Tuple(items) => ArgInfo::Tuple(
            items
                .iter()
                .map(|i| arg_info(constants, values, i))
                .collect(),
        ),
        Arg::Undefined(_) => ArgInfo::Missing,
    }
}

/// The IR type of a type as written: scalars become rank-0 tensors.
pub fn convert_type(t: &ast::Type) -> Type {
    use ast::TypeKind as K;
    let dim = |d: &ast::Dim| match d {
        ast::Dim::Known(n) => Dim::Known(*n),
        ast::Dim::Unknown => Dim::Unknown,
    };
    match &t.kind {
        K::Scalar(d) => Type::Tensor(TensorType::scalar(*d)),
        K::Tensor { dtype, shape } => {
            Type::Tensor(TensorType::new(*dtype, shape.iter().map(dim).collect()))
        }
        K::List { elem, len } => Type::List {
            elem: Box::new(convert_type(elem)),
            len: match len {
                ast::Dim::Known(n) => Some(*n),
                ast::Dim::Unknown => None,
            },
        },
        K::Dict { key, value } => Type::Dict {
            key: Box::new(convert_type(key)),
            value: Box::new(convert_type(value)),
        },
        K::Tuple(items) => Type::Tuple(items.iter().map(convert_type).collect()),
        K::State(inner) => Type::State(Box::new(convert_type(inner))),
        K::TensorBuffer {
            dtype,
            shape,
            strides,
            interleave_factors,
        } => Type::TensorBuffer {
            dtype: *dtype,
            shape: shape.clone(),
            strides: strides.clone(),
            interleave_factors: interleave_factors.clone(),
        },
    }
}
