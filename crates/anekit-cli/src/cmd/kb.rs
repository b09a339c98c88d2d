//! `ane kb`: the ANE knowledge base (anekit-kb) — list tables, show an entry by exact name,
//! search text, export everything as one JSON tree (schema: `schemas/kb.schema.json`).
use crate::{CmdResult, Ctx};
use anekit_kb::catalog::{self, Entry, Hit};
use anekit_kb::evidence::Evidence;
use miette::miette;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;

#[derive(clap::Subcommand)]
pub enum KbCmd {
    /// List the tables, or the entries of one table.
    List(ListArgs),
    /// Show every entry with this exact name (struct, class, selector, chip, pass, code, ...).
    Show(ShowArgs),
    /// Case-insensitive substring search over names and every text field.
    Search(SearchArgs),
    /// The whole knowledge base as one JSON document (always JSON; see schemas/kb.schema.json).
    Export,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// A table name (see `ane kb list`).
    pub table: Option<String>,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// Exact name, e.g. ANECConvLayerDesc, _ANEClient, compileWithQoS:options:error:, M4 Pro.
    pub name: String,
}

#[derive(clap::Args)]
pub struct SearchArgs {
    /// The text to find.
    pub text: String,
    /// Search only this table.
    #[arg(long)]
    pub table: Option<String>,
}

pub fn run(cmd: KbCmd, ctx: &Ctx) -> CmdResult {
    match cmd {
        KbCmd::List(a) => match a.table {
            None => list_tables(ctx),
            Some(t) => list_table(&t, ctx),
        },
        KbCmd::Show(a) => show(&a.name, ctx),
        KbCmd::Search(a) => search(&a.text, a.table.as_deref(), ctx),
        KbCmd::Export => export(),
    }
}

/// Longest text shown in one cell of a human table; the JSON output is never cut.
const CELL_MAX: usize = 90;

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Rows as left-aligned columns (widths by character count), two spaces apart.
fn aligned(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            l.push_str(cell);
            if i < last {
                let pad = w.saturating_sub(cell.chars().count()) + 2;
                l.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

fn level(e: Evidence) -> String {
    e.tag().trim_matches(['[', ']']).to_string()
}

#[derive(Serialize)]
struct TableInfo {
    name: &'static str,
    title: &'static str,
    reference: &'static str,
    count: usize,
    stated_count: Option<usize>,
}

#[derive(Serialize)]
struct TableList {
    tables: Vec<TableInfo>,
}

fn list_tables(ctx: &Ctx) -> CmdResult {
    let list = TableList {
        tables: catalog::tables()
            .into_iter()
            .map(|t| TableInfo {
                name: t.name,
                title: t.title,
                reference: t.reference,
                count: t.entries.len(),
                stated_count: t.stated_count,
            })
            .collect(),
    };
    ctx.emit(&list, || {
        let rows: Vec<Vec<String>> = list
            .tables
            .iter()
            .map(|t| {
                vec![
                    t.name.to_string(),
                    t.count.to_string(),
                    cut(t.title, CELL_MAX),
                ]
            })
            .collect();
        let total: usize = list.tables.iter().map(|t| t.count).sum();
        format!(
            "{}{} tables, {total} entries. `ane kb list TABLE` lists one.",
            aligned(&["table", "entries", "contents"], &rows),
            list.tables.len()
        )
    })
}

#[derive(Serialize)]
struct EntryLine {
    key: String,
    evidence: Evidence,
    summary: String,
}

#[derive(Serialize)]
struct TableEntries {
    table: &'static str,
    title: &'static str,
    reference: &'static str,
    count: usize,
    entries: Vec<EntryLine>,
}

fn unknown_table(name: &str) -> miette::Report {
    let names: Vec<&str> = catalog::tables().iter().map(|t| t.name).collect();
    miette!(
        "no knowledge-base table named '{name}'; tables: {}",
        names.join(", ")
    )
}

fn list_table(name: &str, ctx: &Ctx) -> CmdResult {
    let table = catalog::table(name).ok_or_else(|| unknown_table(name))?;
    let out = TableEntries {
        table: table.name,
        title: table.title,
        reference: table.reference,
        count: table.entries.len(),
        entries: table
            .entries
            .into_iter()
            .map(|e| EntryLine {
                key: e.key,
                evidence: e.evidence,
                summary: e.summary,
            })
            .collect(),
    };
    ctx.emit(&out, || {
        let rows: Vec<Vec<String>> = out
            .entries
            .iter()
            .map(|e| vec![e.key.clone(), level(e.evidence), cut(&e.summary, CELL_MAX)])
            .collect();
        format!(
            "{} ({}; {} entries)\n{}",
            out.title,
            out.reference,
            out.count,
            aligned(&["name", "evidence", "summary"], &rows)
        )
    })
}

#[derive(Serialize)]
struct Shown {
    name: String,
    matches: Vec<Entry>,
}

/// A JSON value as one line of text.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "—".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            items.iter().map(scalar).collect::<Vec<_>>().join(", ")
        }
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !matches!(v, Value::Null) && v.as_str() != Some(""))
            .map(|(k, v)| format!("{k}: {}", scalar(v)))
            .collect::<Vec<_>>()
            .join("; "),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(" | "),
        other => other.to_string(),
    }
}

fn render_entry(e: &Entry, out: &mut String) {
    let _ = writeln!(out, "{}: {}  {}", e.table, e.key, e.evidence);
    let Value::Object(map) = &e.record else {
        let _ = writeln!(out, "  {}", scalar(&e.record));
        return;
    };
    let width = map.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (k, v) in map {
        match v {
            // Lists of records (peaks, members, SRAM estimates): one line each.
            Value::Array(items) if items.iter().any(Value::is_object) => {
                let _ = writeln!(out, "  {k:<width$}  ({} items)", items.len());
                for item in items {
                    let _ = writeln!(out, "    - {}", scalar(item));
                }
            }
            // Empty notes and absent optional fields say nothing.
            Value::Null => {}
            Value::String(t) if t.is_empty() => {}
            _ => {
                let _ = writeln!(out, "  {k:<width$}  {}", scalar(v));
            }
        }
    }
}

fn show(name: &str, ctx: &Ctx) -> CmdResult {
    let matches = catalog::show(name);
    if matches.is_empty() {
        let near = catalog::suggest(name, 5);
        return Err(if near.is_empty() {
            miette!("no knowledge-base entry named '{name}'; try `ane kb search {name}`")
        } else {
            miette!(
                "no knowledge-base entry named '{name}'; did you mean: {}?",
                near.join(", ")
            )
        });
    }
    let shown = Shown {
        name: name.to_string(),
        matches,
    };
    ctx.emit(&shown, || {
        let mut s = String::new();
        for (i, e) in shown.matches.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            render_entry(e, &mut s);
        }
        s
    })
}

#[derive(Serialize)]
struct Found {
    text: String,
    count: usize,
    hits: Vec<Hit>,
}

fn search(text: &str, table: Option<&str>, ctx: &Ctx) -> CmdResult {
    if let Some(t) = table
        && catalog::table(t).is_none()
    {
        return Err(unknown_table(t));
    }
    if text.is_empty() {
        return Err(miette!("the search text is empty"));
    }
    let hits = catalog::search(text, table);
    let found = Found {
        text: text.to_string(),
        count: hits.len(),
        hits,
    };
    ctx.emit(&found, || {
        if found.hits.is_empty() {
            return format!("no matches for '{}'", found.text);
        }
        let rows: Vec<Vec<String>> = found
            .hits
            .iter()
            .map(|h| {
                vec![
                    h.table.to_string(),
                    cut(&h.key, 48),
                    h.field.clone(),
                    cut(&h.text, CELL_MAX),
                ]
            })
            .collect();
        format!(
            "{}{} matches for '{}'",
            aligned(&["table", "name", "field", "text"], &rows),
            found.count,
            found.text
        )
    })
}

fn export() -> CmdResult {
    let text = serde_json::to_string_pretty(&catalog::export())
        .map_err(|e| miette!("cannot serialise the knowledge base: {e}"))?;
    // Through the shared writer: `ane kb export | head` ends quietly instead of panicking.
    crate::output::write_stdout(&format!("{text}\n"))
}
