//! The `ane serve` protocol: JSON lines in, JSON lines out (docs/protocol.md).
//!
//! [`Server::handle_line`] turns one request line into one reply line and never fails: every
//! problem becomes `{"ok": false, "error": {"code", "message"}}`. The command names and fields
//! of mdaiter/ane's helper (private-api.md §12: `status`, `compile` with `model_path` →
//! `model_id`, `load`, `unload`) are kept; `eval`, `list`, `budget` and `shutdown` extend them.
//! The transport (stdio, Unix socket, request size limit) is the CLI's; [`read_line_limited`]
//! is the bounded line reader it uses.

use crate::error::RuntimeError;
use crate::source::{ProgramSource, WeightSource};
use crate::{CompileOptions, Model, NamedTensor, Selection, fallback_reason};
use anekit_core::npy::{read_npy, write_npy};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Default limit of one request line (inline base64 tensors and weights make lines long).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 64 << 20;

/// A protocol error: a stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub code: &'static str,
    pub message: String,
}

impl ProtocolError {
    pub fn new(code: &'static str, message: impl Into<String>) -> ProtocolError {
        ProtocolError {
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ProtocolError {
        ProtocolError::new("bad_request", message)
    }
}

impl From<RuntimeError> for ProtocolError {
    fn from(e: RuntimeError) -> ProtocolError {
        ProtocolError::new(e.code(), e.to_string())
    }
}

type Shared<T> = Arc<Mutex<T>>;

/// A compiled model of the table.
struct Entry {
    model: Box<dyn Model>,
    /// What to recompile on the CPU if loading or evaluating fails on the device, kept while
    /// the model sits on a device backend that `auto` chose (the CPU stays the default where
    /// any step fails).
    retry: Option<(ProgramSource, CompileOptions)>,
    /// Why the model runs on the CPU although `auto` chose a device.
    fallback_reason: Option<String>,
}

impl Entry {
    /// The model's description plus the fallback reason, if any.
    fn describe(&self) -> Map<String, Value> {
        let mut out = obj(serde_json::to_value(self.model.info()).unwrap_or(Value::Null));
        if let Some(reason) = &self.fallback_reason {
            out.insert("backend_reason".into(), json!(reason));
        }
        out
    }
}

/// The state shared by every client of one `ane serve` process.
pub struct Server {
    selection: Selection,
    options: CompileOptions,
    models: Mutex<BTreeMap<String, Shared<Entry>>>,
    next_id: AtomicU64,
    shutdown: AtomicBool,
}

/// The result of reading one line with a size limit.
#[derive(Debug, PartialEq, Eq)]
pub enum LineRead {
    /// A line (without its `\n`) is in the buffer.
    Line,
    /// The line was longer than the limit; it was read to its end and discarded.
    TooLong,
    Eof,
}

/// Read one `\n`-terminated line into `buf` without ever holding more than `limit` bytes of
/// it. A final line without `\n` counts as a line.
pub fn read_line_limited(
    reader: &mut impl BufRead,
    limit: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<LineRead> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => LineRead::Eof,
                (true, true) => LineRead::TooLong,
                (true, false) => LineRead::Line,
            });
        }
        any = true;
        let (part, found_newline) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i)),
            None => (chunk, None),
        };
        if !too_long {
            if buf.len() + part.len() > limit {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let consumed = found_newline.map_or(chunk.len(), |i| i + 1);
        reader.consume(consumed);
        if found_newline.is_some() {
            return Ok(if too_long {
                LineRead::TooLong
            } else {
                LineRead::Line
            });
        }
    }
}

fn str_field<'a>(req: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ProtocolError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ProtocolError::bad_request(format!(
            "`{key}` must be a string"
        ))),
    }
}

fn required_str<'a>(req: &'a Map<String, Value>, key: &str) -> Result<&'a str, ProtocolError> {
    str_field(req, key)?.ok_or_else(|| ProtocolError::bad_request(format!("missing {key}")))
}

fn decode_base64(what: &str, text: &str) -> Result<Vec<u8>, ProtocolError> {
    BASE64
        .decode(text)
        .map_err(|e| ProtocolError::bad_request(format!("{what}: invalid base64: {e}")))
}

/// An output name as a file name: no separators, no `..`.
fn safe_file_stem(name: &str) -> Result<&str, ProtocolError> {
    let ok = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0']);
    if ok {
        Ok(name)
    } else {
        Err(ProtocolError::new(
            "bad_output_name",
            format!("output name {name:?} cannot be a file name"),
        ))
    }
}

impl Server {
    pub fn new(selection: Selection, options: CompileOptions) -> Server {
        Server {
            selection,
            options,
            models: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            shutdown: AtomicBool::new(false),
        }
    }

    /// Whether a client sent `shutdown`.
    pub fn shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// The reply to a request line (without the final newline).
    pub fn handle_line(&self, line: &[u8]) -> String {
        let request: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(e) => {
                return reply(
                    None,
                    Err(ProtocolError::new(
                        "bad_json",
                        format!("malformed JSON: {e}"),
                    )),
                );
            }
        };
        let Value::Object(req) = request else {
            return reply(
                None,
                Err(ProtocolError::bad_request(
                    "a request must be a JSON object",
                )),
            );
        };
        let id = req.get("id").cloned();
        reply(id.as_ref(), self.dispatch(&req))
    }

    /// The reply for an over-long request line.
    pub fn too_large_reply(&self, limit: usize) -> String {
        reply(
            None,
            Err(ProtocolError::new(
                "too_large",
                format!("request line longer than {limit} bytes (see --max-request-bytes)"),
            )),
        )
    }

    fn dispatch(&self, req: &Map<String, Value>) -> Result<Map<String, Value>, ProtocolError> {
        let cmd = match req.get("cmd") {
            Some(Value::String(c)) => c.as_str(),
            Some(_) => return Err(ProtocolError::bad_request("`cmd` must be a string")),
            None => return Err(ProtocolError::bad_request("missing cmd")),
        };
        match cmd {
            "status" => Ok(self.status()),
            "compile" => self.compile(req),
            "load" => self.load(req),
            "eval" => self.eval(req),
            "unload" => self.unload(req),
            "list" => Ok(self.list()),
            "budget" => Ok(obj(json!({ "budget": self.selection.backend.budget() }))),
            "shutdown" => {
                self.shutdown.store(true, Ordering::SeqCst);
                Ok(Map::new())
            }
            other => Err(ProtocolError::new(
                "unknown_cmd",
                format!("unknown cmd: {other}"),
            )),
        }
    }

    fn model_ids(&self) -> Vec<String> {
        self.models
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn model(&self, req: &Map<String, Value>) -> Result<(String, Shared<Entry>), ProtocolError> {
        let id = required_str(req, "model_id")?;
        let models = self
            .models
            .lock()
            .map_err(|_| ProtocolError::new("internal", "model table poisoned"))?;
        models
            .get(id)
            .map(|m| (id.to_string(), Arc::clone(m)))
            .ok_or_else(|| ProtocolError::new("model_not_found", "model not found"))
    }

    fn status(&self) -> Map<String, Value> {
        let backend = &self.selection.backend;
        let ids = self.model_ids();
        obj(json!({
            "client": true,
            "backend": backend.kind(),
            "device": backend.info().device,
            "reason": self.selection.reason,
            "model_count": ids.len(),
            "model_ids": ids,
            "budget": backend.budget(),
            "version": env!("CARGO_PKG_VERSION"),
        }))
    }

    fn list(&self) -> Map<String, Value> {
        let entries: Vec<(String, Shared<Entry>)> = self
            .models
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect())
            .unwrap_or_default();
        let models: Vec<Value> = entries
            .into_iter()
            .filter_map(|(id, m)| {
                let mut o = m.lock().ok()?.describe();
                o.insert("model_id".into(), Value::String(id));
                Some(Value::Object(o))
            })
            .collect();
        obj(json!({ "models": models }))
    }

    fn source(&self, req: &Map<String, Value>) -> Result<ProgramSource, ProtocolError> {
        if let Some(path) = str_field(req, "model_path")? {
            return Ok(ProgramSource::from_path(Path::new(path))?);
        }
        let Some(mil) = str_field(req, "mil")? else {
            return Err(ProtocolError::bad_request(
                "missing model_path (or mil with inline weights)",
            ));
        };
        let weights = match req.get("weights") {
            None | Some(Value::Null) => WeightSource::None,
            Some(Value::String(dir)) => WeightSource::Dir(PathBuf::from(dir)),
            Some(Value::Object(files)) => {
                let mut out = BTreeMap::new();
                for (key, value) in files {
                    let Value::String(text) = value else {
                        return Err(ProtocolError::bad_request(format!(
                            "weights[{key:?}] must be a base64 string"
                        )));
                    };
                    out.insert(
                        key.clone(),
                        decode_base64(&format!("weights[{key:?}]"), text)?,
                    );
                }
                WeightSource::Inline(out)
            }
            Some(_) => {
                return Err(ProtocolError::bad_request(
                    "`weights` must be a folder path or an object of base64 files",
                ));
            }
        };
        Ok(ProgramSource::from_text(mil, weights))
    }

    fn compile(&self, req: &Map<String, Value>) -> Result<Map<String, Value>, ProtocolError> {
        let source = self.source(req)?;
        let mut options = self.options.clone();
        if let Some(f) = str_field(req, "function")? {
            options.function = Some(f.to_string());
        }
        if let Some(path) = str_field(req, "eval_path")? {
            options.ane.eval_path = crate::EvalPath::parse(path).ok_or_else(|| {
                ProtocolError::bad_request(format!(
                    "unknown eval_path {path:?}: use standard, realtime or process-request"
                ))
            })?;
        }
        match req.get("qos") {
            None | Some(Value::Null) => {}
            Some(Value::String(name)) => {
                options.ane.qos =
                    crate::plan::parse_qos(name).map_err(ProtocolError::bad_request)?;
            }
            Some(Value::Number(n)) => {
                options.ane.qos =
                    crate::plan::parse_qos(&n.to_string()).map_err(ProtocolError::bad_request)?;
            }
            Some(_) => {
                return Err(ProtocolError::bad_request(
                    "`qos` must be a number 0..=63 or a QoS class name",
                ));
            }
        }
        if let Some(units) = str_field(req, "compute_units")? {
            options.compute_units = crate::ComputeUnits::parse(units).ok_or_else(|| {
                ProtocolError::bad_request(format!(
                    "unknown compute_units {units:?}: use all, cpu-and-ne or cpu-only"
                ))
            })?;
        }
        match req.get("random_weights") {
            None | Some(Value::Null) => {}
            Some(v) => {
                options.random_weights = Some(v.as_u64().ok_or_else(|| {
                    ProtocolError::bad_request(
                        "`random_weights` must be a non-negative integer seed",
                    )
                })?);
            }
        }
        match req.get("dims") {
            None | Some(Value::Null) => {}
            Some(Value::Object(dims)) => {
                for (name, n) in dims {
                    let n = n
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| {
                            ProtocolError::bad_request(format!("dims[{name:?}] must be a size"))
                        })?;
                    options.dims.insert(name.clone(), n);
                }
            }
            Some(_) => {
                return Err(ProtocolError::bad_request(
                    "`dims` must be an object of dim name -> size",
                ));
            }
        }
        let model_id = match str_field(req, "model_id")? {
            Some("") => {
                return Err(ProtocolError::bad_request("`model_id` must not be empty"));
            }
            Some(id) => id.to_string(),
            None => format!("model-{}", self.next_id.fetch_add(1, Ordering::SeqCst)),
        };
        if self.model_ids().contains(&model_id) {
            return Err(ProtocolError::new(
                "model_exists",
                format!("model {model_id} exists (unload it first)"),
            ));
        }
        let backend = &self.selection.backend;
        let entry = match backend.compile(&source, &options) {
            Ok(model) => Entry {
                model,
                retry: self
                    .selection
                    .fallback
                    .is_some()
                    .then_some((source, options)),
                fallback_reason: None,
            },
            Err(e) => match &self.selection.fallback {
                Some(cpu) => Entry {
                    model: cpu.compile(&source, &options)?,
                    retry: None,
                    fallback_reason: Some(fallback_reason("compile", backend.kind(), &e)),
                },
                None => return Err(e.into()),
            },
        };
        let mut out = entry.describe();
        let mut models = self
            .models
            .lock()
            .map_err(|_| ProtocolError::new("internal", "model table poisoned"))?;
        if models.contains_key(&model_id) {
            // Another client took the id while this one compiled.
            return Err(ProtocolError::new(
                "model_exists",
                format!("model {model_id} exists (unload it first)"),
            ));
        }
        models.insert(model_id.clone(), Arc::new(Mutex::new(entry)));
        out.insert("model_id".into(), Value::String(model_id));
        out.insert("budget".into(), json!(self.selection.backend.budget()));
        Ok(out)
    }

    fn load(&self, req: &Map<String, Value>) -> Result<Map<String, Value>, ProtocolError> {
        let (id, entry) = self.model(req)?;
        let mut entry = entry
            .lock()
            .map_err(|_| ProtocolError::new("internal", "model poisoned"))?;
        let info = match entry.model.load() {
            Ok(info) => info,
            Err(e) => {
                self.move_to_cpu(&mut entry, "load", e)?;
                entry.model.load()?
            }
        };
        let mut out = obj(serde_json::to_value(info).unwrap_or(Value::Null));
        out.insert("model_id".into(), Value::String(id));
        out.insert("state".into(), json!("loaded"));
        out.insert("backend".into(), json!(entry.model.info().backend));
        if let Some(reason) = &entry.fallback_reason {
            out.insert("backend_reason".into(), json!(reason));
        }
        Ok(out)
    }

    fn unload(&self, req: &Map<String, Value>) -> Result<Map<String, Value>, ProtocolError> {
        let id = required_str(req, "model_id")?;
        // As in the original helper, the model leaves the table even when unloading fails.
        let model = self
            .models
            .lock()
            .map_err(|_| ProtocolError::new("internal", "model table poisoned"))?
            .remove(id)
            .ok_or_else(|| ProtocolError::new("model_not_found", "model not found"))?;
        let mut entry = model
            .lock()
            .map_err(|_| ProtocolError::new("internal", "model poisoned"))?;
        if entry.model.info().state == crate::ModelState::Loaded {
            entry.model.unload()?;
        }
        Ok(obj(json!({ "model_id": id })))
    }

    /// After `step` failed with `error` on the device: under `auto`, compile the model on the
    /// CPU in its place (once; not loaded) and record why; else pass the error on.
    fn move_to_cpu(
        &self,
        entry: &mut Entry,
        step: &str,
        error: RuntimeError,
    ) -> Result<(), ProtocolError> {
        let (Some(cpu), true) = (&self.selection.fallback, error.is_device_failure()) else {
            return Err(error.into());
        };
        let Some((source, options)) = entry.retry.take() else {
            return Err(error.into());
        };
        let reason = fallback_reason(step, self.selection.backend.kind(), &error);
        entry.model = cpu.compile(&source, &options)?;
        entry.fallback_reason = Some(reason);
        Ok(())
    }

    fn eval(&self, req: &Map<String, Value>) -> Result<Map<String, Value>, ProtocolError> {
        let (id, model) = self.model(req)?;
        let inputs = match req.get("inputs") {
            Some(Value::Object(map)) => map,
            None => return Err(ProtocolError::bad_request("missing inputs")),
            Some(_) => {
                return Err(ProtocolError::bad_request(
                    "`inputs` must be an object of name -> npy path or {\"npy_base64\": ...}",
                ));
            }
        };
        let mut tensors = Vec::with_capacity(inputs.len());
        for (name, value) in inputs {
            tensors.push(read_input(name, value)?);
        }
        let output_dir = str_field(req, "output_dir")?.map(PathBuf::from);
        let started = Instant::now();
        let mut entry = model
            .lock()
            .map_err(|_| ProtocolError::new("internal", "model poisoned"))?;
        let outputs = match entry.model.evaluate(&tensors) {
            Ok(outputs) => outputs,
            Err(e) => {
                self.move_to_cpu(&mut entry, "evaluate", e)?;
                entry.model.load()?;
                entry.model.evaluate(&tensors)?
            }
        };
        let fallback = entry.fallback_reason.clone();
        drop(entry);
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        if let Some(dir) = &output_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| ProtocolError::new("io", format!("{}: {e}", dir.display())))?;
        }
        let mut replies = Vec::with_capacity(outputs.len());
        for t in &outputs {
            let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
            let bytes = write_npy(&shape, &t.data).map_err(|e| {
                ProtocolError::new("eval_failed", format!("output `{}`: {e}", t.name))
            })?;
            let mut entry = obj(json!({
                "name": t.name,
                "shape": t.shape,
                "dtype": t.data.dtype(),
            }));
            match &output_dir {
                Some(dir) => {
                    let path = dir.join(format!("{}.npy", safe_file_stem(&t.name)?));
                    std::fs::write(&path, &bytes).map_err(|e| {
                        ProtocolError::new("io", format!("{}: {e}", path.display()))
                    })?;
                    entry.insert("path".into(), json!(path.display().to_string()));
                }
                None => {
                    entry.insert("npy_base64".into(), json!(BASE64.encode(&bytes)));
                }
            }
            replies.push(Value::Object(entry));
        }
        let mut out = obj(json!({
            "model_id": id,
            "outputs": replies,
            "elapsed_ms": elapsed_ms,
        }));
        if let Some(reason) = fallback {
            out.insert("backend_reason".into(), json!(reason));
        }
        Ok(out)
    }
}

/// One `inputs` entry: an npy path, or `{"npy_base64": "..."}`.
fn read_input(name: &str, value: &Value) -> Result<NamedTensor, ProtocolError> {
    let bytes = match value {
        Value::String(path) => std::fs::read(path)
            .map_err(|e| ProtocolError::new("io", format!("input `{name}`: {path}: {e}")))?,
        Value::Object(o) => match o.get("npy_base64") {
            Some(Value::String(text)) => decode_base64(&format!("input `{name}`"), text)?,
            _ => {
                return Err(ProtocolError::bad_request(format!(
                    "input `{name}`: expected {{\"npy_base64\": \"...\"}}"
                )));
            }
        },
        _ => {
            return Err(ProtocolError::bad_request(format!(
                "input `{name}`: expected an npy path or {{\"npy_base64\": \"...\"}}"
            )));
        }
    };
    let array = read_npy(&bytes)
        .map_err(|e| ProtocolError::new("bad_input", format!("input `{name}`: {e}")))?;
    let shape = array
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ProtocolError::new("bad_input", format!("input `{name}`: shape too large")))?;
    Ok(NamedTensor {
        name: name.to_string(),
        shape,
        data: array.data,
    })
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `{"id"?, "ok": true, ...}` or `{"id"?, "ok": false, "error": {"code", "message"}}`.
fn reply(id: Option<&Value>, result: Result<Map<String, Value>, ProtocolError>) -> String {
    let mut out = Map::new();
    if let Some(id) = id {
        out.insert("id".into(), id.clone());
    }
    match result {
        Ok(fields) => {
            out.insert("ok".into(), Value::Bool(true));
            out.extend(fields);
        }
        Err(e) => {
            out.insert("ok".into(), Value::Bool(false));
            out.insert(
                "error".into(),
                json!({ "code": e.code, "message": e.message }),
            );
        }
    }
    Value::Object(out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackendConfig, CompileBudget, select_backend};

    fn server(budget: u32) -> Server {
        let sel = select_backend(
            "cpu",
            &BackendConfig {
                budget: CompileBudget::new(budget),
            },
        )
        .unwrap();
        Server::new(sel, CompileOptions::default())
    }

    fn call(s: &Server, line: &str) -> Value {
        serde_json::from_str(&s.handle_line(line.as_bytes())).unwrap()
    }

    const RELU: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 2, 1, 2]> x) {\n            tensor<fp16, [1, 2, 1, 2]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n";

    #[test]
    fn malformed_requests_get_precise_errors() {
        let s = server(4);
        let cases = [
            ("{not json", "bad_json"),
            ("[1,2]", "bad_request"),
            ("{\"id\": 7}", "bad_request"),
            ("{\"cmd\": 3}", "bad_request"),
            ("{\"cmd\": \"fly\", \"id\": \"a\"}", "unknown_cmd"),
            ("{\"cmd\": \"load\"}", "bad_request"),
            (
                "{\"cmd\": \"load\", \"model_id\": \"nope\"}",
                "model_not_found",
            ),
            ("{\"cmd\": \"compile\"}", "bad_request"),
            ("{\"cmd\": \"compile\", \"model_path\": 5}", "bad_request"),
            (
                "{\"cmd\": \"compile\", \"mil\": \"garbage\"}",
                "invalid_program",
            ),
        ];
        for (line, code) in cases {
            let r = call(&s, line);
            assert_eq!(r["ok"], json!(false), "{line}");
            assert_eq!(r["error"]["code"], json!(code), "{line}: {r}");
        }
        let r = call(&s, "{\"cmd\": \"fly\", \"id\": \"a\"}");
        assert_eq!(r["id"], json!("a"));
        assert_eq!(r["error"]["message"], json!("unknown cmd: fly"));
        let r = call(&s, "{\"cmd\": \"load\", \"model_id\": \"nope\"}");
        assert_eq!(r["error"]["message"], json!("model not found"));
        let r = call(&s, "{\"cmd\": \"compile\"}");
        assert_eq!(
            r["error"]["message"],
            json!("missing model_path (or mil with inline weights)")
        );
    }

    #[test]
    fn compile_load_eval_unload_inline() {
        let s = server(4);
        let req = json!({"cmd": "compile", "id": 1, "mil": RELU, "model_id": "r"});
        let r = call(&s, &req.to_string());
        assert_eq!(r["ok"], json!(true), "{r}");
        assert_eq!(r["id"], json!(1));
        assert_eq!(r["model_id"], json!("r"));
        assert_eq!(r["state"], json!("compiled"));
        assert_eq!(
            r["inputs"][0],
            json!({"name": "x", "dtype": "fp16", "shape": [1, 2, 1, 2]})
        );
        assert_eq!(r["budget"], json!({"used": 1, "limit": 4, "remaining": 3}));
        let dup = call(&s, &req.to_string());
        assert_eq!(dup["error"]["code"], json!("model_exists"));

        let r = call(&s, "{\"cmd\":\"eval\",\"model_id\":\"r\",\"inputs\":{}}");
        assert_eq!(r["error"]["code"], json!("bad_state"), "{r}");
        let r = call(&s, "{\"cmd\":\"load\",\"model_id\":\"r\"}");
        assert_eq!(r["ok"], json!(true), "{r}");
        assert_eq!(r["state"], json!("loaded"));

        let x = write_npy(
            &[1, 2, 1, 2],
            &anekit_core::TensorData::F32(vec![-1.0, 2.5, 0.0, -0.5]),
        )
        .unwrap();
        let req = json!({"cmd": "eval", "model_id": "r", "inputs": {"x": {"npy_base64": BASE64.encode(&x)}}});
        let r = call(&s, &req.to_string());
        // fp32 data for an fp16 input is rounded to fp16, as on the Neural Engine.
        assert_eq!(r["ok"], json!(true), "{r}");
        let out = &r["outputs"][0];
        assert_eq!(out["name"], json!("y"));
        assert_eq!(out["shape"], json!([1, 2, 1, 2]));
        assert_eq!(out["dtype"], json!("fp16"));
        let bytes = BASE64.decode(out["npy_base64"].as_str().unwrap()).unwrap();
        let y = read_npy(&bytes).unwrap();
        assert_eq!(y.data.to_f32(), vec![0.0, 2.5, 0.0, 0.0]);

        let r = call(&s, "{\"cmd\":\"list\"}");
        assert_eq!(r["models"][0]["model_id"], json!("r"));
        assert_eq!(r["models"][0]["state"], json!("loaded"));
        let r = call(&s, "{\"cmd\":\"unload\",\"model_id\":\"r\"}");
        assert_eq!(r["ok"], json!(true));
        let r = call(&s, "{\"cmd\":\"status\"}");
        assert_eq!(r["model_count"], json!(0));
        assert_eq!(r["backend"], json!("cpu"));
        assert_eq!(r["client"], json!(true));
    }

    #[test]
    fn inline_weights_give_the_same_outputs_as_the_model_folder() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cnn");
        let mil = std::fs::read_to_string(root.join("model.mil")).unwrap();
        let weight = std::fs::read(root.join("weights/weight.bin")).unwrap();
        let image = std::fs::read(root.join("reference/input_image.npy")).unwrap();
        let s = server(4);
        let by_path = json!({"cmd": "compile", "model_id": "p",
            "model_path": root.join("model.mil").display().to_string()});
        let inline = json!({"cmd": "compile", "model_id": "i", "mil": mil,
            "weights": {"@model_path/weights/weight.bin": BASE64.encode(&weight)}});
        let mut results = Vec::new();
        for (req, id) in [(by_path, "p"), (inline, "i")] {
            assert_eq!(call(&s, &req.to_string())["ok"], json!(true));
            assert_eq!(
                call(&s, &json!({"cmd": "load", "model_id": id}).to_string())["ok"],
                json!(true)
            );
            let eval = json!({"cmd": "eval", "model_id": id,
                "inputs": {"image": {"npy_base64": BASE64.encode(&image)}}});
            let r = call(&s, &eval.to_string());
            assert_eq!(r["ok"], json!(true), "{r}");
            results.push(r["outputs"][0]["npy_base64"].clone());
        }
        assert_eq!(results[0], results[1]);
        // A weight file the program needs but the request lacks.
        let missing = json!({"cmd": "compile", "mil": std::fs::read_to_string(root.join("model.mil")).unwrap(),
            "weights": {}});
        let r = call(&s, &missing.to_string());
        assert_eq!(r["error"]["code"], json!("weights"), "{r}");
        let bad_dims = json!({"cmd": "compile", "mil": RELU, "dims": {"n": -1}});
        assert_eq!(
            call(&s, &bad_dims.to_string())["error"]["code"],
            json!("bad_request")
        );
    }

    #[test]
    fn budget_exhaustion_is_reported_and_the_server_keeps_serving() {
        let s = server(1);
        let ok = call(&s, &json!({"cmd": "compile", "mil": RELU}).to_string());
        assert_eq!(ok["model_id"], json!("model-1"));
        let r = call(&s, &json!({"cmd": "compile", "mil": RELU}).to_string());
        assert_eq!(r["error"]["code"], json!("budget_exhausted"));
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1 of 1 compiles")
        );
        let r = call(&s, "{\"cmd\":\"budget\"}");
        assert_eq!(r["budget"], json!({"used": 1, "limit": 1, "remaining": 0}));
    }

    /// A server whose `auto` selection chose the fake Neural Engine, with the CPU fallback.
    fn auto_server_over_fake_ane() -> (
        Server,
        Arc<Mutex<crate::ane::fake::FakeState>>,
        tempfile::TempDir,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (driver, state) = crate::ane::fake::FakeDriver::new(tmp.path().to_path_buf());
        let budget = CompileBudget::new(10);
        let selection = Selection {
            backend: Arc::new(crate::ane::AneBackend::new(driver, budget.clone())),
            reason: "auto: AppleNeuralEngine.framework loaded".into(),
            fallback: Some(Arc::new(crate::cpu::CpuBackend::new(budget))),
        };
        let mut options = CompileOptions::default();
        options.ane.load_retry = crate::plan::RetryPolicy::once();
        (Server::new(selection, options), state, tmp)
    }

    fn relu_eval(s: &Server, id: &str) -> Vec<f32> {
        let x = write_npy(
            &[1, 2, 1, 2],
            &anekit_core::TensorData::F32(vec![-1.0, 2.5, 0.0, -0.5]),
        )
        .unwrap();
        let req = json!({"cmd": "eval", "model_id": id, "inputs": {"x": {"npy_base64": BASE64.encode(&x)}}});
        let r = call(s, &req.to_string());
        assert_eq!(r["ok"], json!(true), "{r}");
        let bytes = BASE64
            .decode(r["outputs"][0]["npy_base64"].as_str().unwrap())
            .unwrap();
        read_npy(&bytes).unwrap().data.to_f32()
    }

    #[test]
    fn auto_keeps_serving_on_the_cpu_when_compile_or_load_fails_on_the_device() {
        let (s, state, _tmp) = auto_server_over_fake_ane();
        // Compile fails on the device: the model is compiled on the CPU, with the reason.
        state.lock().unwrap().compile_failures.push_back(None);
        let r = call(
            &s,
            &json!({"cmd": "compile", "mil": RELU, "model_id": "c"}).to_string(),
        );
        assert_eq!(r["ok"], json!(true), "{r}");
        assert_eq!(r["backend"], json!("cpu"));
        let reason = r["backend_reason"].as_str().unwrap();
        assert!(
            reason.starts_with("auto: using cpu because compile on ane failed: "),
            "{reason}"
        );
        let r = call(&s, &json!({"cmd": "load", "model_id": "c"}).to_string());
        assert_eq!(r["backend"], json!("cpu"), "{r}");
        assert_eq!(relu_eval(&s, "c"), vec![0.0, 2.5, 0.0, 0.0]);

        // Compile works, load fails on the device: recompiled and loaded on the CPU.
        let r = call(
            &s,
            &json!({"cmd": "compile", "mil": RELU, "model_id": "l"}).to_string(),
        );
        assert_eq!(r["backend"], json!("ane"), "{r}");
        assert!(r.get("backend_reason").is_none(), "{r}");
        state.lock().unwrap().load_failures.push_back(None);
        let r = call(&s, &json!({"cmd": "load", "model_id": "l"}).to_string());
        assert_eq!(r["ok"], json!(true), "{r}");
        assert_eq!(r["backend"], json!("cpu"));
        assert!(
            r["backend_reason"]
                .as_str()
                .unwrap()
                .starts_with("auto: using cpu because load on ane failed: "),
            "{r}"
        );
        assert_eq!(relu_eval(&s, "l"), vec![0.0, 2.5, 0.0, 0.0]);

        // Nothing fails: the model stays on the device (the fake copies input to output).
        let r = call(&s, &json!({"cmd": "compile", "mil": RELU, "model_id": "d", "qos": "utility", "eval_path": "realtime"}).to_string());
        assert_eq!(r["backend"], json!("ane"), "{r}");
        let r = call(&s, &json!({"cmd": "load", "model_id": "d"}).to_string());
        assert_eq!(r["backend"], json!("ane"), "{r}");
        state.lock().unwrap().log.clear();
        relu_eval(&s, "d");
        assert_eq!(state.lock().unwrap().log, vec!["evaluate RealTime qos=17"]);
        let listed = call(&s, "{\"cmd\":\"list\"}");
        let backends: Vec<&Value> = listed["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["backend"])
            .collect();
        assert_eq!(backends, vec![&json!("cpu"), &json!("ane"), &json!("cpu")]);

        // A request problem on a device model is reported, not a reason to move it.
        let r = call(&s, &json!({"cmd": "load", "model_id": "d"}).to_string());
        assert_eq!(r["error"]["code"], json!("bad_state"), "{r}");
        let r = call(
            &s,
            &json!({"cmd": "eval", "model_id": "d", "inputs": {}}).to_string(),
        );
        assert_eq!(r["error"]["code"], json!("bad_input"), "{r}");
        let r = call(&s, "{\"cmd\":\"list\"}");
        assert_eq!(r["models"][1]["backend"], json!("ane"), "{r}");

        // The device fails to evaluate: the model moves to the CPU and this request is served.
        state.lock().unwrap().eval_failure = Some(None);
        let x = write_npy(
            &[1, 2, 1, 2],
            &anekit_core::TensorData::F32(vec![-1.0, 2.5, 0.0, -0.5]),
        )
        .unwrap();
        let req = json!({"cmd": "eval", "model_id": "d", "inputs": {"x": {"npy_base64": BASE64.encode(&x)}}});
        let r = call(&s, &req.to_string());
        assert_eq!(r["ok"], json!(true), "{r}");
        assert!(
            r["backend_reason"]
                .as_str()
                .unwrap()
                .starts_with("auto: using cpu because evaluate on ane failed: evaluate failed"),
            "{r}"
        );
        assert_eq!(relu_eval(&s, "d"), vec![0.0, 2.5, 0.0, 0.0]);
        let r = call(&s, "{\"cmd\":\"list\"}");
        assert_eq!(r["models"][1]["backend"], json!("cpu"), "{r}");
        assert_eq!(r["models"][1]["state"], json!("loaded"), "{r}");
    }

    #[test]
    fn device_options_in_compile_requests_are_checked() {
        let s = server(4);
        for (field, value, message) in [
            (
                "eval_path",
                json!("warp"),
                "unknown eval_path \"warp\": use standard, realtime or process-request",
            ),
            (
                "qos",
                json!(64),
                "QoS 64 is above 63, the largest value ever seen to work",
            ),
            (
                "qos",
                json!(true),
                "`qos` must be a number 0..=63 or a QoS class name",
            ),
            (
                "compute_units",
                json!("gpu"),
                "unknown compute_units \"gpu\": use all, cpu-and-ne or cpu-only",
            ),
        ] {
            let mut req = json!({"cmd": "compile", "mil": RELU});
            req[field] = value;
            let r = call(&s, &req.to_string());
            assert_eq!(r["error"]["code"], json!("bad_request"), "{r}");
            assert_eq!(r["error"]["message"], json!(message), "{r}");
        }
        // Valid values are accepted (the cpu backend ignores them).
        let r = call(&s, &json!({"cmd": "compile", "mil": RELU, "qos": "background", "eval_path": "process-request", "compute_units": "cpu-only"}).to_string());
        assert_eq!(r["ok"], json!(true), "{r}");
        assert_eq!(r["budget"]["used"], json!(1));
    }

    #[test]
    fn bounded_line_reader_discards_long_lines_and_continues() {
        let text = b"short\n0123456789abcdef\nlast";
        let mut reader = std::io::BufReader::with_capacity(4, &text[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line_limited(&mut reader, 8, &mut buf).unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"short");
        assert_eq!(
            read_line_limited(&mut reader, 8, &mut buf).unwrap(),
            LineRead::TooLong
        );
        assert!(buf.is_empty());
        assert_eq!(
            read_line_limited(&mut reader, 8, &mut buf).unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"last");
        assert_eq!(
            read_line_limited(&mut reader, 8, &mut buf).unwrap(),
            LineRead::Eof
        );
    }

    #[test]
    fn output_names_must_be_file_names() {
        assert!(safe_file_stem("y_1").is_ok());
        for bad in ["", "..", "a/b", "a\\b"] {
            assert_eq!(safe_file_stem(bad).unwrap_err().code, "bad_output_name");
        }
    }
}
