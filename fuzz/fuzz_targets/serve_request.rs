#![no_main]
//! `ane serve` request lines: any bytes must give a JSON reply, never a panic. Each input is a
//! sequence of request lines handled by one fresh server on the CPU backend, so compile → load
//! → eval chains (inline MIL, inline base64 weights and inputs) are reachable.
//!
//! Fields that name files are removed first (`model_path`, `output_dir`, a `weights` folder,
//! npy input paths): a fuzzer must not read or write arbitrary paths of the machine it runs on.
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn without_paths(mut request: Value) -> Value {
    if let Value::Object(map) = &mut request {
        map.remove("model_path");
        map.remove("output_dir");
        if matches!(map.get("weights"), Some(Value::String(_))) {
            map.remove("weights");
        }
        if let Some(Value::Object(inputs)) = map.get_mut("inputs") {
            inputs.retain(|_, v| !v.is_string());
        }
    }
    request
}

fuzz_target!(|data: &[u8]| {
    let Ok(selection) =
        anekit_runtime::select_backend("cpu", &anekit_runtime::BackendConfig::default())
    else {
        return;
    };
    let server = anekit_runtime::server::Server::new(selection, Default::default());
    for line in data.split(|&b| b == b'\n').take(8) {
        let line = match serde_json::from_slice::<Value>(line) {
            Ok(v) => match serde_json::to_vec(&without_paths(v)) {
                Ok(bytes) => bytes,
                Err(_) => continue,
            },
            // Not JSON: the server must say so; nothing here can name a file.
            Err(_) => line.to_vec(),
        };
        let reply = server.handle_line(&line);
        let reply: Value = serde_json::from_str(&reply).expect("every reply is JSON");
        assert!(reply.get("ok").is_some_and(Value::is_boolean), "{reply}");
    }
});
