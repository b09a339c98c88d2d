//! A pure-Rust [`AneDriver`] for tests: records every call, fails on demand, and "evaluates"
//! by copying the first input surface's bytes into every output surface.

use super::{AneDriver, DriverError};
use crate::EvalPath;
use crate::plan::nserror::NsErrorInfo;
use crate::plan::request::RequestPlan;
use crate::plan::surface::SurfaceSpec;
use crate::plan::weights::WeightsDictionary;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct FakeState {
    pub log: Vec<String>,
    /// Results of the next compiles (`Some(err)` fails); empty = succeed.
    pub compile_failures: VecDeque<Option<NsErrorInfo>>,
    /// Results of the next loads; empty = succeed.
    pub load_failures: VecDeque<Option<NsErrorInfo>>,
    pub eval_failure: Option<Option<NsErrorInfo>>,
    pub sleeps: Vec<Duration>,
    /// Surfaces alive.
    pub live_surfaces: usize,
}

pub struct FakeDriver {
    pub temp_root: PathBuf,
    pub state: Arc<Mutex<FakeState>>,
}

pub struct FakeModel {
    hex: String,
}

pub struct FakeSurface {
    bytes: Arc<Mutex<Vec<u8>>>,
    state: Arc<Mutex<FakeState>>,
}

impl Drop for FakeSurface {
    fn drop(&mut self) {
        if let Ok(mut s) = self.state.lock() {
            s.live_surfaces -= 1;
        }
    }
}

pub struct FakeRequest {
    inputs: Vec<Arc<Mutex<Vec<u8>>>>,
    outputs: Vec<Arc<Mutex<Vec<u8>>>>,
}

impl FakeDriver {
    pub fn new(temp_root: PathBuf) -> (FakeDriver, Arc<Mutex<FakeState>>) {
        let state = Arc::new(Mutex::new(FakeState::default()));
        (
            FakeDriver {
                temp_root,
                state: Arc::clone(&state),
            },
            state,
        )
    }

    fn log(&self, entry: String) {
        self.state.lock().unwrap().log.push(entry);
    }
}

fn fail(next: Option<Option<NsErrorInfo>>) -> Result<(), DriverError> {
    match next {
        Some(err) => Err(DriverError::Failed(err)),
        None => Ok(()),
    }
}

impl AneDriver for FakeDriver {
    type Model = FakeModel;
    type Surface = FakeSurface;
    type Request = FakeRequest;

    fn temp_root(&self) -> PathBuf {
        self.temp_root.clone()
    }

    fn describe(&self, mil: &[u8], weights: &WeightsDictionary) -> Result<FakeModel, DriverError> {
        let keys: Vec<_> = weights.entries.iter().map(|e| e.key.as_str()).collect();
        self.log(format!("describe mil={}B weights={keys:?}", mil.len()));
        // Deterministic in MIL + weights, like the framework's identifier.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        mil.hash(&mut h);
        for e in &weights.entries {
            e.key.hash(&mut h);
            e.data.hash(&mut h);
        }
        Ok(FakeModel {
            hex: format!("{:016X}", h.finish()),
        })
    }

    fn hex_identifier(&self, model: &FakeModel) -> Result<String, DriverError> {
        Ok(model.hex.clone())
    }

    fn compile(&self, model: &FakeModel, qos: u32) -> Result<(), DriverError> {
        self.log(format!("compile qos={qos}"));
        let next = self.state.lock().unwrap().compile_failures.pop_front();
        fail(next)?;
        // The compiler reads the pre-populated folder and leaves net.plist there.
        let dir = self.temp_root.join(&model.hex);
        assert!(
            dir.join("model.mil").is_file(),
            "temp dir not pre-populated"
        );
        std::fs::write(dir.join("net.plist"), b"fake plist").unwrap();
        Ok(())
    }

    fn load(&self, _model: &FakeModel, qos: u32) -> Result<(), DriverError> {
        self.log(format!("load qos={qos}"));
        let next = self.state.lock().unwrap().load_failures.pop_front();
        fail(next)
    }

    fn program_handle(&self, _model: &FakeModel) -> Option<u64> {
        Some(0xA0E)
    }

    fn create_surface(&self, spec: &SurfaceSpec) -> Result<FakeSurface, DriverError> {
        let props: Vec<String> = spec
            .properties()
            .iter()
            .map(|(k, v)| format!("{}={v}", k.trim_start_matches("IOSurface")))
            .collect();
        self.log(format!("surface {} {}", spec.name, props.join(",")));
        self.state.lock().unwrap().live_surfaces += 1;
        Ok(FakeSurface {
            bytes: Arc::new(Mutex::new(vec![0; spec.alloc_size])),
            state: Arc::clone(&self.state),
        })
    }

    fn write_surface(&self, surface: &FakeSurface, bytes: &[u8]) -> Result<(), DriverError> {
        surface.bytes.lock().unwrap().copy_from_slice(bytes);
        Ok(())
    }

    fn read_surface(&self, surface: &FakeSurface, out: &mut [u8]) -> Result<(), DriverError> {
        out.copy_from_slice(&surface.bytes.lock().unwrap());
        Ok(())
    }

    fn create_request(
        &self,
        inputs: &[&FakeSurface],
        outputs: &[&FakeSurface],
        plan: &RequestPlan,
    ) -> Result<FakeRequest, DriverError> {
        self.log(format!(
            "request inputs={:?} outputs={:?} procedure={}",
            plan.input_indices, plan.output_indices, plan.procedure_index
        ));
        Ok(FakeRequest {
            inputs: inputs.iter().map(|s| Arc::clone(&s.bytes)).collect(),
            outputs: outputs.iter().map(|s| Arc::clone(&s.bytes)).collect(),
        })
    }

    fn evaluate(
        &self,
        _model: &FakeModel,
        request: &FakeRequest,
        path: EvalPath,
        qos: u32,
    ) -> Result<(), DriverError> {
        self.log(format!("evaluate {path:?} qos={qos}"));
        let next = self.state.lock().unwrap().eval_failure.clone();
        fail(next)?;
        let Some(first) = request.inputs.first() else {
            return Ok(());
        };
        let src = first.lock().unwrap().clone();
        for out in &request.outputs {
            let mut out = out.lock().unwrap();
            let n = out.len().min(src.len());
            out[..n].copy_from_slice(&src[..n]);
        }
        Ok(())
    }

    fn unload(&self, _model: &FakeModel, qos: u32) -> Result<(), DriverError> {
        self.log(format!("unload qos={qos}"));
        Ok(())
    }

    fn sleep(&self, duration: Duration) {
        self.state.lock().unwrap().sleeps.push(duration);
    }
}
