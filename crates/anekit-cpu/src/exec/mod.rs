//! The CPU reference executor over the IR (`anekit_ir::Program`).
//!
//! **Public API contract** (other crates — `anekit-runtime`, `anekit-cli`'s `ane run`, the
//! builder's and passes' tests — are written against it; extend it, do not break it):
//!
//! ```ignore
//! let program: anekit_ir::Program = anekit_ir::check(src).program.unwrap();
//! let weights = anekit_ir::weights::Weights::new(model_dir);     // @model_path root
//! let exec = Executor::new(program, Some(weights), ExecOptions::default())?;
//! for spec in exec.inputs() { /* name, dtype, shape with None for unknown dims */ }
//! let outputs: Vec<NamedTensor> = exec.run(&[NamedTensor { name: "x".into(), shape, data }])?;
//! ```
//!
//! `Executor::new` resolves and decodes every constant once (BLOBFILE via [`Weights`],
//! constexpr_* decompression, or seeded random values with `random_weights`), so `run` can be
//! called many times (`ane run --repeat N`, `ane serve`). `run` takes `&self` and is safe to
//! call from several threads. [`Executor::run_profiled`] also records each op's wall time in a
//! [`Profile`] (`ane run --profile`).

mod constants;
pub(crate) mod ctx;
pub(crate) mod extra;
mod ops;
pub mod value;

use anekit_core::{DType, TensorData};
use anekit_ir::Program;
use anekit_ir::ir::{Arg, Function, ValueDef, ValueId};
use anekit_ir::types::{Dim, TensorType, Type};
use anekit_ir::weights::Weights;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::Numerics;
use ctx::OpCtx;
pub use ops::{builtin_ops, extra_ops, supported_ops};
use value::{Storage, Val};

/// How to execute.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// `ane` (default): every op result rounded to its declared dtype; `exact`: f32 throughout.
    pub numerics: Numerics,
    /// The function to run; `None` = `main` (or the only function).
    pub function: Option<String>,
    /// Values for unknown dims (`--dim NAME=N`). MIL text writes unknown dims as `?`, without
    /// a symbol, so a key names them by position: `INPUT:AXIS` (one dim of one input, e.g.
    /// `x:1`), `INPUT` (every unknown dim of that input) or `?` (every unknown input dim).
    /// The most specific key wins.
    pub dims: BTreeMap<String, usize>,
    /// `Some(seed)`: BLOBFILE constants are replaced by seeded random values of their declared
    /// type and shape (no weight files are opened). `None`: weights are read.
    pub random_weights: Option<u64>,
    /// The most elements any one tensor the program declares may hold; `None` =
    /// [`DEFAULT_MAX_ELEMENTS`]. Checked before anything is allocated, so a hostile program
    /// (huge declared shapes, huge BLOBFILE constants under `--random-weights`) is refused
    /// instead of exhausting memory — `ane serve` runs programs it did not write.
    pub max_elements: Option<u64>,
}

/// Default per-tensor element limit: 2^28 elements (1 GiB as f32). Real ANE programs stay far
/// below it (the SRAM is tens of MB; a 32k × 4096 embedding is 2^27).
pub const DEFAULT_MAX_ELEMENTS: u64 = 1 << 28;

/// A tensor crossing the executor's boundary (inputs, outputs, states).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: TensorData,
}

/// A function input or output as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoSpec {
    pub name: String,
    pub dtype: DType,
    /// `None` for a dim that is unknown (`?` or symbolic) and not fixed by `ExecOptions::dims`.
    pub shape: Vec<Option<usize>>,
}

/// Why execution failed. Every variant names what failed (op kind + result name, input name,
/// constant) so the CLI prints a one-line error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    #[error("function `{0}` not found in the program")]
    NoFunction(String),
    /// `line` is 1-based when the source text was given ([`Executor::new_with_source`]), else 0.
    #[error(
        "op `{op}` (producing `{value}`{}) is not supported by the CPU executor",
        line_note(*.line)
    )]
    UnsupportedOp {
        op: String,
        value: String,
        line: usize,
    },
    #[error("input `{name}`: {reason}")]
    Input { name: String, reason: String },
    #[error("op `{op}` (producing `{value}`): {reason}")]
    Op {
        op: String,
        value: String,
        reason: String,
    },
    #[error("weights: {0}")]
    Weights(#[from] anekit_ir::weights::WeightError),
    /// A constant that cannot be decoded (a literal that does not match its type, a BLOBFILE
    /// without weights, a `constexpr_*` whose operands disagree).
    #[error("constant `{value}`: {reason}")]
    Constant { value: String, reason: String },
    /// A state passed to [`Executor::run_with_states`] does not match its declaration.
    #[error("state `{name}`: {reason}")]
    State { name: String, reason: String },
    /// A declared tensor above [`ExecOptions::max_elements`].
    /// Also a result whose size depends on run-time values (`fill`'s shape, `tile`'s reps,
    /// `range_1d`'s bounds, ...), refused before the kernel allocates it (`ty` then names the
    /// op).
    #[error("`{value}`: {elements} elements ({ty}), above the executor's limit of {limit}")]
    TooLarge {
        value: String,
        ty: String,
        elements: u128,
        limit: u64,
    },
}

/// Wall time per op over one or more evaluations ([`Executor::run_profiled`]), in plan order
/// (the order ops run; `const` ops resolved at preparation are not in it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// One entry per op that runs, filled on the first profiled evaluation.
    pub ops: Vec<OpProfile>,
    /// Number of evaluations recorded.
    pub evaluations: usize,
}

/// One op's times, one sample per profiled evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpProfile {
    /// The op kind (`conv`, `softmax`, ...).
    pub kind: String,
    /// The name of its first result.
    pub result: String,
    /// The shape of its first result (from the first evaluation).
    pub shape: Vec<usize>,
    /// The kernel: the op's computation into f32 (or its integer/bool storage).
    pub compute: Vec<Duration>,
    /// Bringing the result to its declared dtype (fp16 rounding under `ane` numerics, storage
    /// conversion) and checking its shape.
    pub finish: Vec<Duration>,
}

/// The values of a function's `state<...>` inputs, carried across evaluations (KV caches).
/// [`Executor::new_states`] makes zero-filled states; [`Executor::run_with_states`] reads and
/// updates them (`read_state` sees the latest `write_state`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct States {
    values: BTreeMap<String, NamedTensor>,
}

impl States {
    pub fn new() -> States {
        States::default()
    }

    pub fn get(&self, name: &str) -> Option<&NamedTensor> {
        self.values.get(name)
    }

    /// Set (or replace) a state's value.
    pub fn set(&mut self, tensor: NamedTensor) {
        self.values.insert(tensor.name.clone(), tensor);
    }

    pub fn iter(&self) -> impl Iterator<Item = &NamedTensor> {
        self.values.values()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A program prepared for repeated evaluation on the CPU.
pub struct Executor {
    program: Program,
    weights: Option<Weights>,
    options: ExecOptions,
    /// Index of the chosen function in `program.functions`.
    func: usize,
    /// Values computed once at prepare time (`const`, `constexpr_*` results), by value id.
    statics: Vec<Option<Val>>,
    /// Decoded inline literals, by constant id.
    literals: Vec<Option<Val>>,
    /// Indices (into the function's ops) of the ops evaluated by `run`, in order.
    plan: Vec<usize>,
    /// For each entry of `plan`: the runtime values whose last use it is.
    drop_after: Vec<Vec<ValueId>>,
}

/// A summary: the decoded constants can be megabytes, so they are counted, not printed.
impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("function", &self.function().name)
            .field("options", &self.options)
            .field("runtime_ops", &self.plan.len())
            .field(
                "prepared_constants",
                &(self.statics.iter().flatten().count() + self.literals.iter().flatten().count()),
            )
            .field("weights", &self.weights.as_ref().map(Weights::root))
            .finish()
    }
}

fn collect_args<'a>(arg: &'a Arg, out: &mut Vec<&'a Arg>) {
    match arg {
        Arg::Tuple(items) => items.iter().for_each(|a| collect_args(a, out)),
        a => out.push(a),
    }
}

/// ", line N" when the line is known (not 0).
fn line_note(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(", line {line}")
    }
}

fn line_of(source: Option<&str>, offset: usize) -> usize {
    source.map_or(0, |s| {
        s.as_bytes()
            .iter()
            .take(offset)
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    })
}

impl Executor {
    /// Prepare `program`: pick the function, resolve and decode constants.
    pub fn new(
        program: Program,
        weights: Option<Weights>,
        options: ExecOptions,
    ) -> Result<Executor, ExecError> {
        Self::prepare(program, weights, options, None)
    }

    /// As [`Executor::new`], with the MIL text the program was built from, so errors can
    /// give line numbers.
    pub fn new_with_source(
        program: Program,
        weights: Option<Weights>,
        options: ExecOptions,
        source: &str,
    ) -> Result<Executor, ExecError> {
        Self::prepare(program, weights, options, Some(source))
    }

    fn prepare(
        program: Program,
        weights: Option<Weights>,
        options: ExecOptions,
        source: Option<&str>,
    ) -> Result<Executor, ExecError> {
        let func = match &options.function {
            Some(name) => program
                .functions
                .iter()
                .position(|f| &f.name == name)
                .ok_or_else(|| ExecError::NoFunction(name.clone()))?,
            None => program
                .functions
                .iter()
                .position(|f| f.name == "main")
                .or_else(|| (program.functions.len() == 1).then_some(0))
                .ok_or_else(|| ExecError::NoFunction("main".into()))?,
        };
        let f = &program.functions[func];
        check_sizes(&program, f, &options)?;
        let numerics = options.numerics;
        let random = options.random_weights;
        let w = if random.is_some() {
            None
        } else {
            weights.as_ref()
        };

        // Inline literals used by this function's ops.
        let mut literals: Vec<Option<Val>> = vec![None; program.constants.len()];
        for op in &f.ops {
            if op.kind == "const" {
                continue;
            }
            let mut args = Vec::new();
            op.inputs
                .iter()
                .for_each(|i| collect_args(&i.arg, &mut args));
            for a in args {
                if let Arg::Const(c) = a
                    && literals.get(c.0 as usize).is_some_and(Option::is_none)
                {
                    let what = format!("{}.{}", op.kind, value_name(f, op.results.first()));
                    literals[c.0 as usize] =
                        constants::resolve(&program, *c, w, random, numerics, &what)?;
                }
            }
        }

        // Constants and constexpr ops, and the runtime plan.
        let mut statics: Vec<Option<Val>> = vec![None; f.values.len()];
        let mut plan = Vec::new();
        for (i, op) in f.ops.iter().enumerate() {
            let kind = op.kind.as_str();
            if kind == "const" {
                let Some(&rid) = op.results.first() else {
                    continue;
                };
                let cid = f
                    .value(rid)
                    .and_then(|v| v.constant)
                    .or(match op.input("val") {
                        Some(Arg::Const(c)) => Some(*c),
                        _ => None,
                    });
                if let Some(cid) = cid {
                    let name = value_name(f, Some(&rid));
                    statics[rid.0 as usize] =
                        constants::resolve(&program, cid, w, random, numerics, &name)?;
                }
            } else if kind.starts_with("constexpr_") && ops::is_supported(kind) {
                let v = {
                    let ctx = OpCtx {
                        op,
                        func: f,
                        program: &program,
                        numerics,
                        max_elements: options.max_elements.unwrap_or(DEFAULT_MAX_ELEMENTS),
                        table: &[],
                        statics: &statics,
                        literals: &literals,
                    };
                    let v = constants::constexpr(&ctx).map_err(|e| match e {
                        ExecError::Op { value, reason, .. } => ExecError::Constant {
                            value: format!("{value} ({kind})"),
                            reason,
                        },
                        e => e,
                    })?;
                    finish(&ctx, 0, v)?
                };
                if let Some(&rid) = op.results.first() {
                    statics[rid.0 as usize] = Some(v);
                }
            } else if ops::is_supported(kind) {
                plan.push(i);
            } else {
                return Err(ExecError::UnsupportedOp {
                    op: op.kind.clone(),
                    value: value_name(f, op.results.first()),
                    line: line_of(source, op.span.start),
                });
            }
        }

        // Last uses: a runtime value is dropped after the last planned op that reads it;
        // outputs and states are kept.
        let mut keep = vec![false; f.values.len()];
        for v in &f.outputs {
            if let Some(k) = keep.get_mut(v.0 as usize) {
                *k = true;
            }
        }
        for v in &f.inputs {
            if matches!(f.value(*v).map(|v| &v.ty), Some(Type::State(_))) {
                keep[v.0 as usize] = true;
            }
        }
        let mut last: Vec<Option<usize>> = vec![None; f.values.len()];
        for (pi, &oi) in plan.iter().enumerate() {
            let op = &f.ops[oi];
            for r in &op.results {
                last[r.0 as usize] = Some(pi);
            }
            let mut args = Vec::new();
            op.inputs
                .iter()
                .for_each(|i| collect_args(&i.arg, &mut args));
            for a in args {
                if let Arg::Value(v) = a
                    && let Some(l) = last.get_mut(v.0 as usize)
                {
                    *l = Some(pi);
                }
            }
        }
        let mut drop_after = vec![Vec::new(); plan.len()];
        for (v, l) in last.iter().enumerate() {
            if let Some(pi) = l
                && !keep[v]
                && statics[v].is_none()
            {
                drop_after[*pi].push(ValueId(v as u32));
            }
        }

        Ok(Executor {
            program,
            weights,
            options,
            func,
            statics,
            literals,
            plan,
            drop_after,
        })
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    pub fn options(&self) -> &ExecOptions {
        &self.options
    }

    fn max_elements(&self) -> u64 {
        self.options.max_elements.unwrap_or(DEFAULT_MAX_ELEMENTS)
    }

    /// The weights given to [`Executor::new`] (unused with `random_weights`).
    pub fn weights(&self) -> Option<&Weights> {
        self.weights.as_ref()
    }

    fn function(&self) -> &Function {
        &self.program.functions[self.func]
    }

    /// The chosen function's name.
    pub fn function_name(&self) -> &str {
        &self.function().name
    }

    /// Number of ops `run` evaluates (constants and constexprs are decoded once, not counted).
    pub fn runtime_op_count(&self) -> usize {
        self.plan.len()
    }

    fn dim_override(&self, input: &str, axis: usize) -> Option<usize> {
        dim_value(&self.options.dims, input, axis)
    }

    fn spec(&self, id: ValueId, is_input: bool) -> Option<IoSpec> {
        let v = self.function().value(id)?;
        let t = tensor_type(&v.ty)?;
        Some(IoSpec {
            name: v.name.clone(),
            dtype: t.dtype,
            shape: t
                .shape
                .iter()
                .enumerate()
                .map(|(axis, d)| match d {
                    Dim::Known(n) => usize::try_from(*n).ok(),
                    Dim::Unknown if is_input => self.dim_override(&v.name, axis),
                    Dim::Unknown => None,
                })
                .collect(),
        })
    }

    /// The chosen function's tensor inputs, in order (`state<...>` inputs are in
    /// [`Executor::states`]).
    pub fn inputs(&self) -> Vec<IoSpec> {
        let f = self.function();
        f.inputs
            .iter()
            .filter_map(|&v| self.spec(v, true))
            .collect()
    }

    /// The chosen function's outputs, in order (shapes as declared, dims fixed where known).
    pub fn outputs(&self) -> Vec<IoSpec> {
        let f = self.function();
        f.outputs
            .iter()
            .filter_map(|&v| self.spec(v, false))
            .collect()
    }

    /// The chosen function's `state<tensor<...>>` inputs, in order.
    pub fn states(&self) -> Vec<IoSpec> {
        let f = self.function();
        f.inputs
            .iter()
            .filter_map(|&id| {
                let v = f.value(id)?;
                let Type::State(inner) = &v.ty else {
                    return None;
                };
                let t = inner.tensor()?;
                Some(IoSpec {
                    name: v.name.clone(),
                    dtype: t.dtype,
                    shape: t
                        .shape
                        .iter()
                        .map(|d| d.known().and_then(|n| usize::try_from(n).ok()))
                        .collect(),
                })
            })
            .collect()
    }

    /// Zero-filled values for every state input (states with unknown dims are left out).
    pub fn new_states(&self) -> States {
        let mut s = States::new();
        for spec in self.states() {
            let Some(shape) = spec.shape.iter().copied().collect::<Option<Vec<usize>>>() else {
                continue;
            };
            let n: usize = shape.iter().product();
            let zeros = Val::F32(crate::Tensor::from_parts(shape.clone(), vec![0.0; n]));
            let storage = Storage::of(spec.dtype).unwrap_or(Storage::F32);
            if let Ok(data) = zeros.convert(storage).to_tensor_data(spec.dtype) {
                s.set(NamedTensor {
                    name: spec.name,
                    shape,
                    data,
                });
            }
        }
        s
    }

    /// Evaluate once. Inputs are matched by name; a missing input, an extra one, or a wrong
    /// shape/dtype is an [`ExecError::Input`]. Outputs come back in declaration order.
    /// A program with `state<...>` inputs runs on zero-filled states, discarded afterwards
    /// (use [`Executor::run_with_states`] to keep them).
    pub fn run(&self, inputs: &[NamedTensor]) -> Result<Vec<NamedTensor>, ExecError> {
        let mut states = self.new_states();
        self.run_with_states(inputs, &mut states)
    }

    /// Evaluate once with `states` as the values of the `state<...>` inputs; `write_state`
    /// updates them in place. A state missing from `states` starts as zeros.
    pub fn run_with_states(
        &self,
        inputs: &[NamedTensor],
        states: &mut States,
    ) -> Result<Vec<NamedTensor>, ExecError> {
        self.evaluate(inputs, states, None)
    }

    /// [`Executor::run_with_states`], also adding each op's wall time to `profile` (a
    /// profile may collect many evaluations of the same executor; its `ops` are in plan
    /// order, and a profile holding other ops is cleared first). Timing costs two clock reads
    /// per op. An evaluation that fails leaves samples for the ops before the failure and
    /// does not count in `evaluations`.
    pub fn run_profiled(
        &self,
        inputs: &[NamedTensor],
        states: &mut States,
        profile: &mut Profile,
    ) -> Result<Vec<NamedTensor>, ExecError> {
        let f = self.function();
        // A profile of other ops (another executor's) starts over. Compared in place: this
        // runs before every profiled evaluation.
        let same_ops = profile.ops.len() == self.plan.len()
            && profile.ops.iter().zip(&self.plan).all(|(p, &oi)| {
                let op = &f.ops[oi];
                p.kind == op.kind && p.result == value_str(f, op.results.first())
            });
        if !same_ops {
            profile.evaluations = 0;
            profile.ops = self
                .plan
                .iter()
                .map(|&oi| {
                    let op = &f.ops[oi];
                    OpProfile {
                        kind: op.kind.clone(),
                        result: value_name(f, op.results.first()),
                        ..OpProfile::default()
                    }
                })
                .collect();
        }
        let out = self.evaluate(inputs, states, Some(&mut profile.ops))?;
        profile.evaluations += 1;
        Ok(out)
    }

    fn evaluate(
        &self,
        inputs: &[NamedTensor],
        states: &mut States,
        mut profile: Option<&mut [OpProfile]>,
    ) -> Result<Vec<NamedTensor>, ExecError> {
        let f = self.function();
        let mut table: Vec<Option<Val>> = vec![None; f.values.len()];
        self.bind_inputs(f, inputs, states, &mut table)?;
        for (pi, &oi) in self.plan.iter().enumerate() {
            let op = &f.ops[oi];
            let started = profile.is_some().then(Instant::now);
            let mut computed = Duration::ZERO;
            let results = {
                let ctx = OpCtx {
                    op,
                    func: f,
                    program: &self.program,
                    numerics: self.options.numerics,
                    max_elements: self.max_elements(),
                    table: &table,
                    statics: &self.statics,
                    literals: &self.literals,
                };
                let raw = match op.kind.as_str() {
                    "read_state" => vec![ctx.input("input")?.clone()],
                    "write_state" | "coreml_update_state" => {
                        // write_state(input = S, data = D); the text dialect's
                        // coreml_update_state(state = S, value = D) also returns D.
                        let (sname, dname) = if op.kind == "write_state" {
                            ("input", "data")
                        } else {
                            ("state", "value")
                        };
                        let data = ctx.input(dname)?.clone();
                        let Some(Arg::Value(sid)) = op.input(sname) else {
                            return Err(ctx.err(format!("`{sname}` must name a state input")));
                        };
                        let data = finish_state(&ctx, f, *sid, data)?;
                        let out = if op.results.is_empty() {
                            Vec::new()
                        } else {
                            vec![data.clone()]
                        };
                        let sid = *sid;
                        table[sid.0 as usize] = Some(data);
                        out
                    }
                    _ if let Some((input, shape)) = ops::view_shape(&ctx) => {
                        // A relabelling of its input's shape: move the buffer when this op
                        // is the input's last use, else copy it.
                        let shape = shape?;
                        let last_use = match op.input(input) {
                            Some(Arg::Value(v)) if self.drop_after[pi].contains(v) => Some(*v),
                            _ => None,
                        };
                        let copied = match last_use {
                            None => Some(ctx.input(input)?.clone()),
                            Some(_) => None,
                        };
                        let fail = |reason: String| ExecError::Op {
                            op: op.kind.clone(),
                            value: value_name(f, op.results.first()),
                            reason,
                        };
                        let v = match (copied, last_use) {
                            (Some(v), _) => v,
                            (None, Some(id)) => table[id.0 as usize]
                                .take()
                                .ok_or_else(|| fail(format!("input `{input}` has no value")))?,
                            (None, None) => return Err(fail(format!("no input `{input}`"))),
                        };
                        vec![v.reshape(shape).map_err(|e| fail(e.to_string()))?]
                    }
                    _ => ops::eval(&ctx).map_err(|e| match e {
                        ExecError::UnsupportedOp { op, value, .. } => {
                            ExecError::UnsupportedOp { op, value, line: 0 }
                        }
                        e => e,
                    })?,
                };
                if let Some(t) = started {
                    computed = t.elapsed();
                }
                if op.kind == "write_state" || op.kind == "coreml_update_state" {
                    raw
                } else {
                    let ctx = OpCtx {
                        op,
                        func: f,
                        program: &self.program,
                        numerics: self.options.numerics,
                        max_elements: self.max_elements(),
                        table: &table,
                        statics: &self.statics,
                        literals: &self.literals,
                    };
                    if raw.len() != op.results.len() {
                        return Err(ctx.err(format!(
                            "produced {} result(s), the program declares {}",
                            raw.len(),
                            op.results.len()
                        )));
                    }
                    raw.into_iter()
                        .enumerate()
                        .map(|(i, v)| finish(&ctx, i, v))
                        .collect::<Result<Vec<_>, _>>()?
                }
            };
            if let (Some(t), Some(entry)) =
                (started, profile.as_deref_mut().and_then(|p| p.get_mut(pi)))
            {
                entry.finish.push(t.elapsed().saturating_sub(computed));
                entry.compute.push(computed);
                if entry.shape.is_empty()
                    && let Some(first) = results.first()
                {
                    entry.shape = first.shape().to_vec();
                }
            }
            for (r, v) in op.results.iter().zip(results) {
                table[r.0 as usize] = Some(v);
            }
            for v in &self.drop_after[pi] {
                table[v.0 as usize] = None;
            }
        }
        // Outputs.
        let mut out = Vec::with_capacity(f.outputs.len());
        for &id in &f.outputs {
            let v = f.value(id);
            let name = v.map_or_else(String::new, |v| v.name.clone());
            let dtype = v
                .and_then(|v| tensor_type(&v.ty))
                .map(|t| t.dtype)
                .ok_or_else(|| ExecError::Op {
                    op: "output".into(),
                    value: name.clone(),
                    reason: "is not a tensor".into(),
                })?;
            let val = table[id.0 as usize]
                .as_ref()
                .or(self.statics[id.0 as usize].as_ref())
                .ok_or_else(|| ExecError::Op {
                    op: "output".into(),
                    value: name.clone(),
                    reason: "was not computed".into(),
                })?;
            let data = val.to_tensor_data(dtype).map_err(|reason| ExecError::Op {
                op: "output".into(),
                value: name.clone(),
                reason,
            })?;
            out.push(NamedTensor {
                name,
                shape: val.shape().to_vec(),
                data,
            });
        }
        // States back.
        for &id in &f.inputs {
            let Some(v) = f.value(id) else { continue };
            let Type::State(inner) = &v.ty else { continue };
            let (Some(t), Some(val)) = (inner.tensor(), table[id.0 as usize].as_ref()) else {
                continue;
            };
            let data = val
                .to_tensor_data(t.dtype)
                .map_err(|reason| ExecError::State {
                    name: v.name.clone(),
                    reason,
                })?;
            states.set(NamedTensor {
                name: v.name.clone(),
                shape: val.shape().to_vec(),
                data,
            });
        }
        Ok(out)
    }

    fn bind_inputs(
        &self,
        f: &Function,
        inputs: &[NamedTensor],
        states: &States,
        table: &mut [Option<Val>],
    ) -> Result<(), ExecError> {
        for given in inputs {
            let declared = f.inputs.iter().any(|&id| {
                f.value(id)
                    .is_some_and(|v| v.name == given.name && !matches!(v.ty, Type::State(_)))
            });
            if !declared {
                return Err(ExecError::Input {
                    name: given.name.clone(),
                    reason: format!("is not an input of function `{}`", f.name),
                });
            }
        }
        for (pos, &id) in f.inputs.iter().enumerate() {
            let Some(v) = f.value(id) else { continue };
            debug_assert_eq!(v.def, ValueDef::Input(pos));
            let (t, state) = match &v.ty {
                Type::State(inner) => match inner.tensor() {
                    Some(t) => (Cow::Borrowed(t), true),
                    None => continue,
                },
                ty => match tensor_type(ty) {
                    Some(t) => (t, false),
                    None => continue,
                },
            };
            let err = |reason: String| {
                if state {
                    ExecError::State {
                        name: v.name.clone(),
                        reason,
                    }
                } else {
                    ExecError::Input {
                        name: v.name.clone(),
                        reason,
                    }
                }
            };
            let given: Cow<'_, NamedTensor> = if state {
                match states.get(&v.name) {
                    Some(s) => Cow::Borrowed(s),
                    None => {
                        let shape: Option<Vec<usize>> = t
                            .shape
                            .iter()
                            .map(|d| d.known().and_then(|n| usize::try_from(n).ok()))
                            .collect();
                        let shape = shape
                            .ok_or_else(|| err("has unknown dims and no value was given".into()))?;
                        let n = shape.iter().product();
                        let zeros =
                            Val::F32(crate::Tensor::from_parts(shape.clone(), vec![0.0; n]))
                                .convert(Storage::of(t.dtype).unwrap_or(Storage::F32));
                        Cow::Owned(NamedTensor {
                            name: v.name.clone(),
                            shape,
                            data: zeros.to_tensor_data(t.dtype).map_err(err)?,
                        })
                    }
                }
            } else {
                inputs
                    .iter()
                    .find(|i| i.name == v.name)
                    .map(Cow::Borrowed)
                    .ok_or_else(|| err(format!("missing (declared as {})", v.ty)))?
            };
            if given.data.dtype() != t.dtype {
                return Err(err(format!(
                    "dtype is {} but the program declares {}",
                    given.data.dtype(),
                    t.dtype
                )));
            }
            let ok_rank = given.shape.len() == t.shape.len();
            let ok_dims = ok_rank
                && t.shape.iter().enumerate().all(|(axis, d)| {
                    let want = match d {
                        Dim::Known(n) => usize::try_from(*n).ok(),
                        Dim::Unknown if !state => self.dim_override(&v.name, axis),
                        Dim::Unknown => None,
                    };
                    want.is_none_or(|w| given.shape[axis] == w)
                });
            if !ok_dims {
                return Err(err(format!(
                    "shape is {:?} but the program declares {}",
                    given.shape,
                    Type::Tensor(t.clone().into_owned())
                )));
            }
            // No rounding pass: the data has the declared dtype (checked above), so every value
            // is already representable in it.
            let val =
                Val::from_tensor_data(given.shape.clone(), &given.data, t.dtype).map_err(err)?;
            table[id.0 as usize] = Some(val);
        }
        Ok(())
    }
}

/// The tensor type of a value: a tensor, or an analysis dump's `tensor_buffer` (its logical
/// dtype and shape; strides and interleave factors describe the ANE's memory layout, which the
/// executor does not model, so the values are the same).
fn tensor_type(ty: &Type) -> Option<Cow<'_, TensorType>> {
    match ty {
        Type::Tensor(t) => Some(Cow::Borrowed(t)),
        Type::TensorBuffer { dtype, shape, .. } => Some(Cow::Owned(TensorType::new(
            *dtype,
            shape
                .iter()
                .map(|&d| u64::try_from(d).map_or(Dim::Unknown, Dim::Known))
                .collect(),
        ))),
        _ => None,
    }
}

/// Refuse declared tensors above the element limit before any constant is decoded or any op
/// runs. Dims fixed by `--dim` count too; dims still unknown are checked where inputs arrive.
fn check_sizes(program: &Program, f: &Function, options: &ExecOptions) -> Result<(), ExecError> {
    let limit = options.max_elements.unwrap_or(DEFAULT_MAX_ELEMENTS);
    let declared = |ty: &Type| -> Option<u128> {
        let t = match ty {
            Type::State(inner) => inner.tensor()?,
            other => other.tensor()?,
        };
        t.shape.iter().try_fold(1u128, |acc, d| {
            d.known().map(|n| acc.saturating_mul(u128::from(n)))
        })
    };
    let too_large = |value: String, ty: &Type, elements: u128| ExecError::TooLarge {
        value,
        ty: ty.to_string(),
        elements,
        limit,
    };
    for v in &f.values {
        if let Some(n) = declared(&v.ty)
            && n > u128::from(limit)
        {
            return Err(too_large(v.name.clone(), &v.ty, n));
        }
    }
    for (i, c) in program.constants.iter().enumerate() {
        if let Some(n) = declared(&c.ty)
            && n > u128::from(limit)
        {
            return Err(too_large(format!("constant #{i}"), &c.ty, n));
        }
    }
    let io = |name: &str, ty: &Type| -> Result<(), ExecError> {
        let Some(t) = ty.tensor() else { return Ok(()) };
        let mut n = 1u128;
        for (axis, d) in t.shape.iter().enumerate() {
            let d = match d.known() {
                Some(d) => d as u128,
                None => match dim_value(&options.dims, name, axis) {
                    Some(d) => d as u128,
                    None => return Ok(()),
                },
            };
            n = n.saturating_mul(d);
        }
        if n > u128::from(limit) {
            return Err(too_large(name.to_owned(), ty, n));
        }
        Ok(())
    };
    for v in &f.inputs {
        if let Some(val) = f.value(*v) {
            io(&val.name, &val.ty)?;
        }
    }
    Ok(())
}

/// The `--dim` value for one unknown input dim; the most specific key wins.
fn dim_value(dims: &BTreeMap<String, usize>, input: &str, axis: usize) -> Option<usize> {
    dims.get(&format!("{input}:{axis}"))
        .or_else(|| dims.get(input))
        .or_else(|| dims.get("?"))
        .copied()
}

fn value_name(f: &Function, id: Option<&ValueId>) -> String {
    value_str(f, id).to_owned()
}

/// The name of value `id`, or "" for none.
fn value_str<'a>(f: &'a Function, id: Option<&ValueId>) -> &'a str {
    id.and_then(|id| f.value(*id))
        .map_or("", |v| v.name.as_str())
}

/// Bring result `i` to its declared dtype: storage class, rounding (`Numerics::round_output`)
/// and a check of the declared known dims.
fn finish(ctx: &OpCtx<'_>, i: usize, v: Val) -> Result<Val, ExecError> {
    let Some(t) = ctx.result_type(i).and_then(tensor_type) else {
        return Ok(v);
    };
    let Some(storage) = Storage::of(t.dtype) else {
        return Ok(v);
    };
    let mut v = v.convert(storage);
    if let Val::F32(x) = &mut v
        && !copies_inputs_of(ctx, t.dtype)
    {
        ctx.numerics.round_output(x.data_mut(), t.dtype);
    }
    check_shape(ctx, i, v.shape(), &t)?;
    Ok(v)
}

/// Ops whose result elements are copies of elements of their data input(s) `x` / `values`.
const MOVES_ELEMENTS: &[&str] = &[
    "concat",
    "depth_to_space",
    "expand_dims",
    "gather",
    "gather_along_axis",
    "identity",
    "pixel_shuffle",
    "pixel_unshuffle",
    "reshape",
    "reverse",
    "slice_by_index",
    "slice_by_size",
    "space_to_depth",
    "split",
    "squeeze",
    "tile",
    "transpose",
];

/// Whether rounding the result to `dtype` can be skipped: the op only moves elements, and
/// every data input is declared with the same dtype, so its elements were already rounded to
/// it (results by [`finish`], inputs by their binding, constants by decoding). The pass it
/// saves was ~14 full passes per transformer block over reshapes, transposes and slices.
fn copies_inputs_of(ctx: &OpCtx<'_>, dtype: DType) -> bool {
    if !MOVES_ELEMENTS.contains(&ctx.op.kind.as_str()) {
        return false;
    }
    let same = |id: &ValueId| {
        ctx.func
            .value(*id)
            .and_then(|v| v.ty.tensor())
            .is_some_and(|t| t.dtype == dtype)
    };
    let declared = |arg: &Arg| match arg {
        Arg::Value(id) => same(id),
        Arg::Tuple(items) => items
            .iter()
            .all(|a| matches!(a, Arg::Value(id) if same(id))),
        _ => false,
    };
    let mut data = ["x", "values"]
        .iter()
        .filter_map(|name| ctx.op.input(name))
        .peekable();
    data.peek().is_some() && data.all(declared)
}

fn check_shape(
    ctx: &OpCtx<'_>,
    i: usize,
    got: &[usize],
    t: &anekit_ir::types::TensorType,
) -> Result<(), ExecError> {
    let ok = got.len() == t.shape.len()
        && got
            .iter()
            .zip(&t.shape)
            .all(|(&g, d)| d.known().is_none_or(|k| k == g as u64));
    if ok {
        Ok(())
    } else {
        Err(ctx.err(format!(
            "result {i} has shape {got:?}, but the program declares {}",
            Type::Tensor(t.clone())
        )))
    }
}

/// A value written to a state: converted and rounded to the state's dtype, same shape.
fn finish_state(ctx: &OpCtx<'_>, f: &Function, sid: ValueId, v: Val) -> Result<Val, ExecError> {
    let Some(Type::State(inner)) = f.value(sid).map(|v| &v.ty) else {
        return Err(ctx.err("`input` is not a state"));
    };
    let Some(t) = inner.tensor() else {
        return Ok(v);
    };
    let mut v = v.convert(Storage::of(t.dtype).unwrap_or(Storage::F32));
    if let Val::F32(x) = &mut v {
        ctx.numerics.round_output(x.data_mut(), t.dtype);
    }
    check_shape(ctx, 0, v.shape(), t)?;
    Ok(v)
}
