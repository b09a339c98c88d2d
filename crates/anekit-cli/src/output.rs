//! Output conventions shared by every command.

use serde::Serialize;

/// What every command gets from the global flags.
pub struct Ctx {
    /// `--json`: one JSON document on stdout.
    pub json: bool,
}

/// The result of a command. The error's message (and its causes) become the one-line error.
pub type CmdResult = miette::Result<()>;

impl Ctx {
    /// Print `value` as JSON when `--json` is set, else the human text that `human` renders.
    pub fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) -> CmdResult {
        if self.json {
            let mut text = serde_json::to_string_pretty(value)
                .map_err(|e| miette::miette!("cannot serialise output as JSON: {e}"))?;
            text.push('\n');
            write_stdout(&text)
        } else {
            let mut text = human();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            write_stdout(&text)
        }
    }
}

/// Write `text` to stdout. A closed pipe (`ane ... | head`) is not an error: the reader has
/// what it wanted, so the command ends quietly instead of panicking as `println!` would.
pub fn write_stdout(text: &str) -> CmdResult {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(miette::miette!("cannot write to stdout: {e}")),
    }
}

/// The one-line form of an error: its message and its causes joined by `: `.
pub fn one_line(err: &miette::Report) -> String {
    let mut line = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line.replace('\n', " ")
}

/// Report a failed command: `error: ...` on stderr, and with `--json` also a JSON error object
/// on stdout so tools reading stdout always get a document.
pub fn report_error(ctx: &Ctx, err: &miette::Report) {
    let line = one_line(err);
    if ctx.json {
        // Ignore a closed stdout here: the one-line error still goes to stderr.
        let _ = write_stdout(&format!(
            "{}\n",
            serde_json::json!({ "error": { "message": line } })
        ));
    }
    eprintln!("error: {line}");
}
