//! The `ane` backend's sequencing, retries, budget, cache and error mapping, driven through
//! the fake driver.

use super::fake::{FakeDriver, FakeState};
use super::*;
use crate::plan::RetryPolicy;
use crate::plan::nserror::ANE_DOMAIN;
use crate::source::WeightSource;
use half::f16;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

const PROGRAM: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 4, 1, 8]> x) {\n            tensor<fp16, [4]> w = const()[name = string(\"w\"), val = tensor<fp16, [4]>(BLOBFILE(path = string(\"@model_path/weights/w.bin\"), offset = uint64(64)))];\n            tensor<fp16, [1, 4, 1, 8]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n";

fn source() -> ProgramSource {
    let mut files = BTreeMap::new();
    files.insert("@model_path/weights/w.bin".to_string(), vec![7u8; 136]);
    ProgramSource::from_text(PROGRAM, WeightSource::Inline(files))
}

struct Rig {
    backend: AneBackend<FakeDriver>,
    state: Arc<Mutex<FakeState>>,
    _tmp: tempfile::TempDir,
}

fn rig(budget: u32) -> Rig {
    let tmp = tempfile::tempdir().unwrap();
    let (driver, state) = FakeDriver::new(tmp.path().to_path_buf());
    Rig {
        backend: AneBackend::new(driver, CompileBudget::new(budget)),
        state,
        _tmp: tmp,
    }
}

fn input(values: impl Fn(usize) -> f32) -> Vec<NamedTensor> {
    vec![NamedTensor {
        name: "x".into(),
        shape: vec![1, 4, 1, 8],
        data: TensorData::F32((0..32).map(values).collect()),
    }]
}

fn ns(code: i64, text: &str) -> NsErrorInfo {
    NsErrorInfo {
        domain: ANE_DOMAIN.into(),
        code,
        description: text.into(),
    }
}

fn log(state: &Mutex<FakeState>) -> Vec<String> {
    std::mem::take(&mut state.lock().unwrap().log)
}

#[test]
fn compile_load_evaluate_unload_in_order_with_reused_buffers() {
    let r = rig(10);
    let mut model = r
        .backend
        .compile_model(&source(), &CompileOptions::default())
        .unwrap();
    // The temp directory is pre-populated under the hex identifier before compile.
    let dir = r._tmp.path().join(model.hex_identifier());
    assert_eq!(model.temp_layout().dir, dir);
    assert_eq!(
        std::fs::read(dir.join("model.mil")).unwrap(),
        PROGRAM.as_bytes()
    );
    assert_eq!(
        std::fs::read(dir.join("weights/w.bin")).unwrap(),
        vec![7u8; 136]
    );
    assert_eq!(
        log(&r.state),
        vec![
            format!(
                "describe mil={}B weights=[\"@model_path/weights/w.bin\"]",
                PROGRAM.len()
            ),
            "compile qos=21".to_string(),
        ]
    );
    assert_eq!(r.backend.budget().used, 1);

    let load = model.load().unwrap();
    assert_eq!(load.program_handle, Some(0xA0E));
    assert_eq!(load.attempts, 1);
    assert_eq!(
        log(&r.state),
        vec![
            "load qos=21",
            "surface x Width=64,Height=1,BytesPerElement=1,BytesPerRow=64,AllocSize=64,PixelFormat=0",
            "surface y Width=64,Height=1,BytesPerElement=1,BytesPerRow=64,AllocSize=64,PixelFormat=0",
            "request inputs=[0] outputs=[0] procedure=0",
        ]
    );

    // Several requests per loaded model; the fake copies x to y, so y is x rounded to fp16.
    let mut outputs = Vec::new();
    model
        .evaluate_into(&input(|i| i as f32 / 3.0), &mut outputs)
        .unwrap();
    let expected: Vec<f32> = (0..32)
        .map(|i| f16::from_f32(i as f32 / 3.0).to_f32())
        .collect();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].name, "y");
    assert_eq!(outputs[0].shape, vec![1, 4, 1, 8]);
    assert_eq!(outputs[0].data.to_f32(), expected);
    let TensorData::F16(first) = &outputs[0].data else {
        panic!("fp16 output expected")
    };
    let buffer = first.as_ptr();
    model
        .evaluate_into(&input(|i| -(i as f32)), &mut outputs)
        .unwrap();
    let TensorData::F16(second) = &outputs[0].data else {
        panic!("fp16 output expected")
    };
    assert_eq!(second.as_ptr(), buffer, "output buffer reused");
    assert_eq!(outputs[0].data.to_f32()[5], -5.0);
    assert_eq!(
        log(&r.state),
        vec!["evaluate Standard qos=21", "evaluate Standard qos=21"]
    );

    model.unload().unwrap();
    assert_eq!(log(&r.state), vec!["unload qos=21"]);
    assert_eq!(r.state.lock().unwrap().live_surfaces, 0);
    assert_eq!(model.info().state, ModelState::Compiled);
    // Loadable again after an unload.
    model.load().unwrap();
    drop(model);
    let entries = log(&r.state);
    assert_eq!(entries.last().map(String::as_str), Some("unload qos=21"));
    assert!(!dir.exists(), "temp directory removed on drop");
    assert_eq!(r.state.lock().unwrap().live_surfaces, 0);
}

#[test]
fn load_is_retried_once_after_100_ms() {
    let r = rig(10);
    let mut model = r
        .backend
        .compile_model(&source(), &CompileOptions::default())
        .unwrap();
    r.state
        .lock()
        .unwrap()
        .load_failures
        .push_back(Some(ns(5, "slot busy")));
    let info = model.load().unwrap();
    assert_eq!(info.attempts, 2);
    assert_eq!(
        r.state.lock().unwrap().sleeps,
        vec![Duration::from_millis(100)]
    );
    model.unload().unwrap();

    // Two failures exhaust the default policy; the NSError text reaches the error.
    {
        let mut s = r.state.lock().unwrap();
        s.load_failures.push_back(Some(ns(5, "slot busy")));
        s.load_failures.push_back(Some(ns(5, "still busy")));
    }
    let err = model.load().unwrap_err();
    assert_eq!(err.code(), "load_failed");
    assert_eq!(
        err.to_string(),
        "load failed: com.apple.appleneuralengine code 5: still busy"
    );
    assert_eq!(model.info().state, ModelState::Compiled);
}

#[test]
fn no_retry_policy_fails_on_the_first_load_error() {
    let r = rig(10);
    let mut options = CompileOptions::default();
    options.ane.load_retry = RetryPolicy::once();
    let mut model = r.backend.compile_model(&source(), &options).unwrap();
    r.state.lock().unwrap().load_failures.push_back(None);
    let err = model.load().unwrap_err();
    assert_eq!(
        err.to_string(),
        "load failed: returned NO without an NSError"
    );
    assert!(r.state.lock().unwrap().sleeps.is_empty());
}

#[test]
fn budget_exhaustion_stops_before_the_framework_compiles() {
    let r = rig(1);
    let _first = r
        .backend
        .compile_model(&source(), &CompileOptions::default())
        .unwrap();
    log(&r.state);
    let err = r
        .backend
        .compile_model(&source(), &CompileOptions::default())
        .err()
        .unwrap();
    assert!(matches!(
        err,
        RuntimeError::BudgetExhausted { used: 1, limit: 1 }
    ));
    assert!(!log(&r.state).iter().any(|e| e.starts_with("compile")));
}

#[test]
fn compile_errors_are_mapped_and_still_counted() {
    let r = rig(10);
    r.state
        .lock()
        .unwrap()
        .compile_failures
        .push_back(Some(ns(1, "InvalidMILProgram: bad op")));
    let err = r
        .backend
        .compile_model(&source(), &CompileOptions::default())
        .err()
        .unwrap();
    assert_eq!(err.code(), "compile_failed");
    assert!(matches!(
        err,
        RuntimeError::Framework {
            stage: Stage::Compile,
            kind: FrameworkErrorKind::InvalidProgram,
            ..
        }
    ));
    assert_eq!(r.backend.budget().used, 1);
    // The failed model's temp directory is cleaned up with it.
    assert_eq!(std::fs::read_dir(r._tmp.path()).unwrap().count(), 0);

    r.state.lock().unwrap().compile_failures.push_back(None);
    let err = r
        .backend
        .compile_model(&source(), &CompileOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("compile limit"), "{err}");
    assert_eq!(r.backend.budget().used, 2);
}

#[test]
fn compile_cache_skips_the_compile_and_the_budget() {
    let cache = tempfile::tempdir().unwrap();
    let mut options = CompileOptions::default();
    options.ane.cache_dir = Some(cache.path().to_path_buf());

    let r = rig(10);
    let model = r.backend.compile_model(&source(), &options).unwrap();
    assert!(!model.from_cache());
    let hex = model.hex_identifier().to_string();
    assert_eq!(
        std::fs::read(cache.path().join(&hex).join("net.plist")).unwrap(),
        b"fake plist"
    );
    drop(model);

    // A new process (new driver and budget) loads from the cache without compiling.
    let r2 = rig(10);
    let mut model = r2.backend.compile_model(&source(), &options).unwrap();
    assert!(model.from_cache());
    assert_eq!(r2.backend.budget().used, 0);
    assert_eq!(
        std::fs::read(model.temp_layout().dir.join("net.plist")).unwrap(),
        b"fake plist"
    );
    let load = model.load().unwrap();
    assert!(load.from_cache);
    let entries = log(&r2.state);
    assert!(
        !entries.iter().any(|e| e.starts_with("compile")),
        "{entries:?}"
    );
    model.unload().unwrap();

    // A cached program that no longer loads is compiled for real.
    let r3 = rig(10);
    let mut options3 = options.clone();
    options3.ane.load_retry = RetryPolicy::once();
    let mut model = r3.backend.compile_model(&source(), &options3).unwrap();
    r3.state.lock().unwrap().load_failures.push_back(None);
    let load = model.load().unwrap();
    assert!(!load.from_cache);
    assert_eq!(load.attempts, 2);
    assert_eq!(r3.backend.budget().used, 1);
    let entries = log(&r3.state);
    let steps: Vec<&str> = entries
        .iter()
        .map(String::as_str)
        .filter(|e| e.starts_with("load") || e.starts_with("compile"))
        .collect();
    assert_eq!(steps, vec!["load qos=21", "compile qos=21", "load qos=21"]);
}

#[test]
fn evaluation_paths_and_qos_are_passed_through() {
    let r = rig(10);
    let mut options = CompileOptions::default();
    options.ane.eval_path = EvalPath::ProcessRequest;
    options.ane.qos = 33;
    let mut model = r.backend.compile_model(&source(), &options).unwrap();
    model.load().unwrap();
    log(&r.state);
    model.evaluate(&input(|_| 1.0)).unwrap();
    assert_eq!(log(&r.state), vec!["evaluate ProcessRequest qos=33"]);
}

#[test]
fn request_inputs_are_checked_before_any_framework_call() {
    let r = rig(10);
    let mut model = r
        .backend
        .compile_model(&source(), &CompileOptions::default())
        .unwrap();
    assert_eq!(
        model.evaluate(&input(|_| 0.0)).unwrap_err().code(),
        "bad_state"
    );
    model.load().unwrap();
    log(&r.state);
    let mut extra = input(|_| 0.0);
    extra.push(NamedTensor {
        name: "z".into(),
        shape: vec![1],
        data: TensorData::F32(vec![0.0]),
    });
    let mut wrong_shape = input(|_| 0.0);
    wrong_shape[0].shape = vec![1, 8, 1, 4];
    let cases = [
        (Vec::new(), "input `x`: missing"),
        (extra, "input `z`: not an input of the program"),
        (
            wrong_shape,
            "input `x`: shape [1, 8, 1, 4] given, [1, 4, 1, 8] declared",
        ),
    ];
    for (inputs, want) in cases {
        let err = model.evaluate(&inputs).unwrap_err();
        assert_eq!(err.code(), "bad_input");
        assert_eq!(err.to_string(), want);
    }
    assert!(log(&r.state).is_empty());

    r.state.lock().unwrap().eval_failure = Some(Some(ns(0x1d, "multi")));
    let err = model.evaluate(&input(|_| 0.0)).unwrap_err();
    assert_eq!(err.code(), "eval_failed");
    assert!(err.to_string().contains("0x1d"), "{err}");
}

#[test]
fn planning_failures_cost_no_compile() {
    let r = rig(10);
    // fp32 I/O with a cast is fine on M4 but not on M1.
    let fp32 = "program(1.3)\n{\n    func main<ios18>(tensor<fp32, [1, 4, 1, 8]> x) {\n            string dt = const()[name = string(\"dt\"), val = string(\"fp16\")];\n            tensor<fp16, [1, 4, 1, 8]> y = cast(dtype = dt, x = x)[name = string(\"y\")];\n        } -> (y);\n}\n";
    let src = ProgramSource::from_text(fp32, WeightSource::None);
    let mut options = CompileOptions::default();
    options.ane.chip = Some("m1".into());
    let err = r.backend.compile_model(&src, &options).err().unwrap();
    assert_eq!(err.code(), "invalid_program");
    assert!(
        err.to_string()
            .starts_with("invalid program: not in the dialect M1 accepts: program(1.3)"),
        "{err}"
    );
    options.ane.chip = Some("m4".into());
    r.backend.compile_model(&src, &options).unwrap();
    assert_eq!(r.backend.budget().used, 1);

    let int_io = "program(1.3)\n{\n    func main<ios18>(tensor<int32, [1, 4, 1, 8]> x) {\n            tensor<int32, [1, 4, 1, 8]> y = identity(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n";
    let err = r
        .backend
        .compile_model(
            &ProgramSource::from_text(int_io, WeightSource::None),
            &CompileOptions::default(),
        )
        .err()
        .unwrap();
    assert_eq!(err.code(), "unsupported_io");
    assert_eq!(r.backend.budget().used, 1);
}

#[test]
fn identical_programs_share_the_temp_directory_until_the_last_is_dropped() {
    let r = rig(10);
    let a = r
        .backend
        .compile_model(&source(), &CompileOptions::default())
        .unwrap();
    let b = r
        .backend
        .compile_model(&source(), &CompileOptions::default())
        .unwrap();
    assert_eq!(a.temp_layout().dir, b.temp_layout().dir);
    let dir = a.temp_layout().dir.clone();
    drop(a);
    assert!(dir.join("model.mil").is_file(), "still used by b");
    drop(b);
    assert!(!dir.exists());
}

fn selection(r: Rig, auto: bool) -> (crate::Selection, Arc<Mutex<FakeState>>, tempfile::TempDir) {
    let Rig {
        backend,
        state,
        _tmp,
    } = r;
    let sel = crate::Selection {
        backend: Arc::new(backend),
        reason: "test".into(),
        fallback: auto.then(|| {
            Arc::new(crate::cpu::CpuBackend::new(CompileBudget::new(10))) as Arc<dyn Backend>
        }),
    };
    (sel, state, _tmp)
}

#[test]
fn auto_falls_back_to_cpu_when_compile_or_load_fails_and_says_why() {
    use crate::{Prepared, compile_and_load};
    // Compile failure.
    let (sel, state, _tmp) = selection(rig(10), true);
    state
        .lock()
        .unwrap()
        .compile_failures
        .push_back(Some(ns(1, "InvalidMILProgram: bad op")));
    let Prepared::Fallback { reason } =
        compile_and_load(&sel, &source(), &CompileOptions::default()).unwrap()
    else {
        panic!("expected a fallback");
    };
    let compile_err = to_runtime_error(Stage::Compile, Some(&ns(1, "InvalidMILProgram: bad op")));
    assert_eq!(
        reason,
        format!("auto: using cpu because compile on ane failed: {compile_err}")
    );

    // Load failure (both tries).
    let mut options = CompileOptions::default();
    options.ane.load_retry = RetryPolicy::once();
    state.lock().unwrap().load_failures.push_back(None);
    let Prepared::Fallback { reason } = compile_and_load(&sel, &source(), &options).unwrap() else {
        panic!("expected a fallback");
    };
    assert_eq!(
        reason,
        format!(
            "auto: using cpu because load on ane failed: {}",
            to_runtime_error(Stage::Load, None)
        )
    );

    // Success: a loaded model.
    let Prepared::Ready { mut model, load } =
        compile_and_load(&sel, &source(), &CompileOptions::default()).unwrap()
    else {
        panic!("expected a loaded model");
    };
    assert_eq!(load.attempts, 1);
    assert_eq!(model.info().state, crate::ModelState::Loaded);
    assert_eq!(model.evaluate(&input(|i| i as f32)).unwrap().len(), 1);
}

#[test]
fn an_explicitly_chosen_backend_reports_its_failure_instead_of_falling_back() {
    let (sel, state, _tmp) = selection(rig(10), false);
    state
        .lock()
        .unwrap()
        .compile_failures
        .push_back(Some(ns(1, "InvalidMILProgram: bad op")));
    let err = crate::compile_and_load(&sel, &source(), &CompileOptions::default()).unwrap_err();
    assert_eq!(err.code(), "compile_failed");
}
