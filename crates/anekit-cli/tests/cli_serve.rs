//! `ane serve` end to end on the CPU backend: the protocol over stdio and over a Unix socket,
//! outputs equal to `ane run`'s, and a precise error for every malformed request while the
//! server keeps serving.

use assert_cmd::cargo::CommandCargoExt;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const RELU: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 2, 1, 3]> x) {\n            tensor<fp16, [1, 2, 1, 3]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n";

/// An `ane serve` child speaking over its stdin/stdout.
struct Stdio2 {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Stdio2 {
    fn spawn(extra: &[&str]) -> Stdio2 {
        let mut child = Command::cargo_bin("ane")
            .unwrap()
            .args(["serve", "--backend", "cpu"])
            .args(extra)
            .current_dir(repo())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Stdio2 {
            child,
            stdin,
            stdout,
        }
    }

    fn send_raw(&mut self, line: &[u8]) -> Value {
        self.stdin.write_all(line).unwrap();
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
        let mut reply = String::new();
        self.stdout.read_line(&mut reply).unwrap();
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply:?}: {e}"))
    }

    fn send(&mut self, request: Value) -> Value {
        self.send_raw(request.to_string().as_bytes())
    }

    fn finish(mut self) {
        drop(self.stdin);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "ane serve exited with {status}");
    }
}

#[test]
fn stdio_compile_load_eval_unload_matches_ane_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("serve_out");
    let input = repo().join("examples/cnn/reference/input_image.npy");
    let mut s = Stdio2::spawn(&[]);

    let status = s.send(json!({"cmd": "status", "id": "s1"}));
    assert_eq!(status["id"], json!("s1"));
    assert_eq!(status["ok"], json!(true));
    assert_eq!(status["backend"], json!("cpu"));
    assert_eq!(status["model_count"], json!(0));
    assert_eq!(status["budget"]["limit"], json!(100));

    let compiled = s.send(json!({"cmd": "compile", "model_path": "examples/cnn/model.mil"}));
    assert_eq!(compiled["ok"], json!(true), "{compiled}");
    let id = compiled["model_id"].as_str().unwrap().to_string();
    assert_eq!(compiled["state"], json!("compiled"));
    assert_eq!(compiled["inputs"][0]["name"], json!("image"));
    assert_eq!(compiled["budget"]["used"], json!(1));

    let loaded = s.send(json!({"cmd": "load", "model_id": id}));
    assert_eq!(loaded["ok"], json!(true), "{loaded}");
    assert_eq!(loaded["model_id"], json!(id));

    let evaluated = s.send(json!({
        "cmd": "eval", "id": 3, "model_id": id,
        "inputs": {"image": input.display().to_string()},
        "output_dir": out_dir.display().to_string(),
    }));
    assert_eq!(evaluated["ok"], json!(true), "{evaluated}");
    assert_eq!(evaluated["id"], json!(3));
    let out = &evaluated["outputs"][0];
    assert_eq!(out["name"], json!("probs"));
    assert_eq!(out["dtype"], json!("fp16"));
    assert_eq!(out["shape"], json!([1, 10]));
    assert_eq!(
        out["path"],
        json!(out_dir.join("probs.npy").display().to_string())
    );

    // The same program through `ane run` writes the same bytes.
    let run_dir = tmp.path().join("run_out");
    Command::cargo_bin("ane")
        .unwrap()
        .current_dir(repo())
        .args(["run", "examples/cnn", "--backend", "cpu", "--input"])
        .arg(format!("image={}", input.display()))
        .arg("--out")
        .arg(&run_dir)
        .output()
        .map(|o| assert!(o.status.success(), "{o:?}"))
        .unwrap();
    let served = std::fs::read(out_dir.join("probs.npy")).unwrap();
    assert_eq!(served, std::fs::read(run_dir.join("probs.npy")).unwrap());

    // Inline base64 output when no output_dir is given; a second request on the same model.
    let inline = s.send(json!({
        "cmd": "eval", "model_id": id,
        "inputs": {"image": {"npy_base64": b64(&std::fs::read(&input).unwrap())}},
    }));
    assert_eq!(inline["ok"], json!(true), "{inline}");
    assert_eq!(
        unb64(inline["outputs"][0]["npy_base64"].as_str().unwrap()),
        served
    );

    let listed = s.send(json!({"cmd": "list"}));
    assert_eq!(listed["models"][0]["model_id"], json!(id));
    assert_eq!(listed["models"][0]["state"], json!("loaded"));
    let unloaded = s.send(json!({"cmd": "unload", "model_id": id}));
    assert_eq!(unloaded, json!({"ok": true, "model_id": id}));
    let status = s.send(json!({"cmd": "status"}));
    assert_eq!(status["model_ids"], json!([]));
    s.finish();
}

#[test]
fn stdio_malformed_requests_get_errors_and_the_server_keeps_serving() {
    let mut s = Stdio2::spawn(&["--max-request-bytes", "4096"]);
    let huge = format!("{{\"cmd\":\"status\",\"pad\":\"{}\"}}", "x".repeat(10_000));
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (b"{\"cmd\": \"status\"".to_vec(), "bad_json", ""),
        (
            b"\"status\"".to_vec(),
            "bad_request",
            "a request must be a JSON object",
        ),
        (b"{\"id\": 1}".to_vec(), "bad_request", "missing cmd"),
        (
            b"{\"cmd\": \"teleport\"}".to_vec(),
            "unknown_cmd",
            "unknown cmd: teleport",
        ),
        (
            b"{\"cmd\": \"compile\"}".to_vec(),
            "bad_request",
            "missing model_path (or mil with inline weights)",
        ),
        (
            b"{\"cmd\": \"load\"}".to_vec(),
            "bad_request",
            "missing model_id",
        ),
        (
            b"{\"cmd\": \"unload\", \"model_id\": \"ghost\"}".to_vec(),
            "model_not_found",
            "model not found",
        ),
        (
            b"{\"cmd\": \"eval\", \"model_id\": \"ghost\", \"inputs\": {}}".to_vec(),
            "model_not_found",
            "model not found",
        ),
        (
            b"{\"cmd\": \"compile\", \"model_path\": \"/nonexistent/model.mil\"}".to_vec(),
            "io",
            "",
        ),
        (
            huge.into_bytes(),
            "too_large",
            "request line longer than 4096 bytes (see --max-request-bytes)",
        ),
        (vec![0xFF, 0xFE, b'{'], "bad_json", ""),
    ];
    for (line, code, message) in cases {
        let r = s.send_raw(&line);
        assert_eq!(r["ok"], json!(false), "{r}");
        assert_eq!(r["error"]["code"], json!(code), "{r}");
        if !message.is_empty() {
            assert_eq!(r["error"]["message"], json!(message), "{r}");
        }
    }
    // Errors in eval inputs name the input.
    let compiled = s.send(json!({"cmd": "compile", "mil": RELU, "model_id": "r"}));
    assert_eq!(compiled["ok"], json!(true), "{compiled}");
    s.send(json!({"cmd": "load", "model_id": "r"}));
    let r = s.send(json!({"cmd": "eval", "model_id": "r", "inputs": {"x": {"npy_base64": "@@@"}}}));
    assert_eq!(r["error"]["code"], json!("bad_request"), "{r}");
    let r = s.send(
        json!({"cmd": "eval", "model_id": "r", "inputs": {"x": {"npy_base64": b64(b"not npy")}}}),
    );
    assert_eq!(r["error"]["code"], json!("bad_input"), "{r}");
    let r = s.send(json!({"cmd": "eval", "model_id": "r", "inputs": {}}));
    assert_eq!(r["error"]["code"], json!("bad_input"), "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("`x`"),
        "{r}"
    );
    // Still serving.
    let status = s.send(json!({"cmd": "status", "id": 9}));
    assert_eq!(status["ok"], json!(true));
    assert_eq!(status["model_ids"], json!(["r"]));
    s.finish();
}

#[test]
fn stdio_compile_budget_is_enforced_and_reported() {
    let mut s = Stdio2::spawn(&["--compile-budget", "2"]);
    for _ in 0..2 {
        assert_eq!(
            s.send(json!({"cmd": "compile", "mil": RELU}))["ok"],
            json!(true)
        );
    }
    let r = s.send(json!({"cmd": "compile", "mil": RELU}));
    assert_eq!(r["error"]["code"], json!("budget_exhausted"));
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("compile budget exhausted: 2 of 2 compiles used in this process"),
        "{r}"
    );
    let b = s.send(json!({"cmd": "budget"}));
    assert_eq!(b["budget"], json!({"used": 2, "limit": 2, "remaining": 0}));
    s.finish();
}

#[cfg(unix)]
#[test]
fn socket_serves_concurrent_clients_and_shuts_down() {
    use std::os::unix::net::UnixStream;
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("ane.sock");
    let mut child = Command::cargo_bin("ane")
        .unwrap()
        .args([
            "serve",
            "--backend",
            "cpu",
            "--max-request-bytes",
            "65536",
            "--socket",
        ])
        .arg(&sock)
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while UnixStream::connect(&sock).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "socket never appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    fn ask(reader: &mut BufReader<UnixStream>, request: &[u8]) -> Value {
        let stream = reader.get_mut();
        stream.write_all(request).unwrap();
        stream.write_all(b"\n").unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }

    let x = npy_f32(&[1, 2, 1, 3], &[-3.0, -0.5, 0.0, 0.25, 1.0, 7.5]);
    let clients: Vec<_> = (0..4)
        .map(|n| {
            let sock = sock.clone();
            let x = x.clone();
            std::thread::spawn(move || {
                let mut c = BufReader::new(UnixStream::connect(&sock).unwrap());
                let id = format!("client-{n}");
                let req = json!({"cmd": "compile", "mil": RELU, "model_id": id, "id": n});
                let r = ask(&mut c, req.to_string().as_bytes());
                assert_eq!(r["ok"], json!(true), "{r}");
                assert_eq!(r["id"], json!(n));
                // A malformed line on one client affects nobody.
                let r = ask(&mut c, b"{oops");
                assert_eq!(r["error"]["code"], json!("bad_json"));
                // Nor does a request over the size limit (200 kB of base64 here).
                let huge = json!({"cmd": "eval", "model_id": id,
                    "inputs": {"x": {"npy_base64": "A".repeat(200_000)}}});
                let r = ask(&mut c, huge.to_string().as_bytes());
                assert_eq!(r["error"]["code"], json!("too_large"), "{r}");
                let r = ask(&mut c, json!({"cmd": "load", "model_id": id}).to_string().as_bytes());
                assert_eq!(r["ok"], json!(true), "{r}");
                for _ in 0..3 {
                    let req = json!({"cmd": "eval", "model_id": id, "inputs": {"x": {"npy_base64": b64(&x)}}});
                    let r = ask(&mut c, req.to_string().as_bytes());
                    assert_eq!(r["ok"], json!(true), "{r}");
                    let y = unb64(r["outputs"][0]["npy_base64"].as_str().unwrap());
                    // fp16 npy of relu(x): the header is numpy's, the data exact halves.
                    assert_eq!(&y[y.len() - 12..], &fp16_bytes(&[0.0, 0.0, 0.0, 0.25, 1.0, 7.5])[..]);
                }
                let r = ask(&mut c, json!({"cmd": "unload", "model_id": id}).to_string().as_bytes());
                assert_eq!(r["ok"], json!(true), "{r}");
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let mut c = BufReader::new(UnixStream::connect(&sock).unwrap());
    let r = ask(&mut c, b"{\"cmd\":\"status\"}");
    assert_eq!(r["model_count"], json!(0));
    assert_eq!(r["budget"]["used"], json!(4));
    let r = ask(&mut c, b"{\"cmd\":\"shutdown\"}");
    assert_eq!(r, json!({"ok": true}));
    drop(c);
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!sock.exists(), "socket file removed");
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn npy_f32(shape: &[u64], values: &[f32]) -> Vec<u8> {
    anekit_core::npy::write_npy(shape, &anekit_core::TensorData::F32(values.to_vec())).unwrap()
}

fn fp16_bytes(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
        .collect()
}

/// `model_path` may name a model folder (the `.mlmodelc` layout: model.mil + weights/) or an
/// `.mlpackage`, as with the original helper; each evaluates to the bytes `ane run` writes.
#[test]
fn stdio_model_paths_of_every_kind_match_ane_run() {
    let tmp = tempfile::tempdir().unwrap();
    let package = repo().join("crates/anekit-coreml/tests/fixtures/cnn_fp16.mlpackage");
    let package_input =
        repo().join("crates/anekit-cli/tests/fixtures/run_packages/cnn_fp16/main/input_x.npy");
    let cases = [
        (
            "examples/cnn".to_string(),
            "image",
            repo().join("examples/cnn/reference/input_image.npy"),
        ),
        (package.display().to_string(), "x", package_input),
    ];
    let mut s = Stdio2::spawn(&[]);
    for (n, (model, input_name, input)) in cases.iter().enumerate() {
        let served_dir = tmp.path().join(format!("served{n}"));
        let r = s.send(json!({"cmd": "compile", "model_path": model}));
        assert_eq!(r["ok"], json!(true), "{model}: {r}");
        let id = r["model_id"].as_str().unwrap().to_string();
        assert_eq!(
            s.send(json!({"cmd": "load", "model_id": id}))["ok"],
            json!(true)
        );
        let r = s.send(json!({"cmd": "eval", "model_id": id,
            "inputs": {*input_name: input.display().to_string()},
            "output_dir": served_dir.display().to_string()}));
        assert_eq!(r["ok"], json!(true), "{model}: {r}");
        let outputs = r["outputs"].as_array().unwrap();
        assert!(!outputs.is_empty());

        let run_dir = tmp.path().join(format!("run{n}"));
        let o = Command::cargo_bin("ane")
            .unwrap()
            .current_dir(repo())
            .args(["run", model, "--backend", "cpu", "--input"])
            .arg(format!("{input_name}={}", input.display()))
            .arg("--out")
            .arg(&run_dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        for out in outputs {
            let name = out["name"].as_str().unwrap();
            let file = format!("{name}.npy");
            assert_eq!(
                out["path"],
                json!(served_dir.join(&file).display().to_string())
            );
            assert_eq!(
                std::fs::read(served_dir.join(&file)).unwrap(),
                std::fs::read(run_dir.join(&file)).unwrap(),
                "{model}: output {name}"
            );
        }
        assert_eq!(
            s.send(json!({"cmd": "unload", "model_id": id}))["ok"],
            json!(true)
        );
    }
    s.finish();
}

/// Inline MIL with inline base64 weights and base64 inputs gives the same bytes as the model
/// folder on disk; a request over the size limit is refused and the next one is served.
#[test]
fn stdio_inline_model_and_inputs_and_a_huge_request_then_more_work() {
    let cnn = repo().join("examples/cnn");
    let mil = std::fs::read_to_string(cnn.join("model.mil")).unwrap();
    let weight = std::fs::read(cnn.join("weights/weight.bin")).unwrap();
    let image = std::fs::read(cnn.join("reference/input_image.npy")).unwrap();
    // The limit admits the inline model (≈ 4/3 of the weights) but not a 4 MB padding line.
    let limit = (weight.len() * 2 + mil.len() + image.len() * 2 + 4096).to_string();
    let mut s = Stdio2::spawn(&["--max-request-bytes", &limit]);
    let huge = format!(
        "{{\"cmd\":\"eval\",\"model_id\":\"x\",\"inputs\":{{\"image\":{{\"npy_base64\":\"{}\"}}}}}}",
        "A".repeat(4 << 20)
    );
    let r = s.send_raw(huge.as_bytes());
    assert_eq!(
        r,
        json!({"ok": false, "error": {"code": "too_large",
            "message": format!("request line longer than {limit} bytes (see --max-request-bytes)")}})
    );
    let mut results = Vec::new();
    for request in [
        json!({"cmd": "compile", "model_id": "inline", "mil": mil,
            "weights": {"@model_path/weights/weight.bin": b64(&weight)}}),
        json!({"cmd": "compile", "model_id": "disk", "model_path": "examples/cnn"}),
    ] {
        let id = request["model_id"].clone();
        assert_eq!(s.send(request)["ok"], json!(true));
        assert_eq!(
            s.send(json!({"cmd": "load", "model_id": id}))["ok"],
            json!(true)
        );
        let r = s.send(json!({"cmd": "eval", "model_id": id,
            "inputs": {"image": {"npy_base64": b64(&image)}}}));
        assert_eq!(r["ok"], json!(true), "{r}");
        assert_eq!(r["outputs"][0]["dtype"], json!("fp16"));
        results.push(unb64(r["outputs"][0]["npy_base64"].as_str().unwrap()));
    }
    assert_eq!(results[0], results[1]);
    let status = s.send(json!({"cmd": "status"}));
    assert_eq!(status["model_ids"], json!(["disk", "inline"]));
    s.finish();
}
