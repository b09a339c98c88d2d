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
            let text = serde_json::to_string_pretty(value)
                .map_err(|e| miette::miette!("cannot serialise output as JSON: {e}"))?;
            println!("{text}");
        } else {
            let text = human();
            if text.ends_with('\n') {
                print!("{text}");
            } else {
                println!("{text}");
            }
        }
        Ok(())
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
        println!("{}", serde_json::json!({ "error": { "message": line } }));
    }
    eprintln!("error: {line}");
}
