//! Output conventions shared by every command.

use std::io::Read;
use std::process::{Command, Stdio};

/// `ane ... | head -1`: the reader closes the pipe early. The command must end without a panic
/// message (`println!` would panic with "failed printing to stdout: Broken pipe").
#[test]
fn closed_stdout_is_not_a_panic() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ane"))
        .args(["--json", "mil", "fmt"])
        .arg(format!("{root}/examples/transformer_block/model.mil"))
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of stdout before the child writes (the output is one write of ~20 KB).
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(status.success(), "status {status:?}, stderr: {stderr}");
}
