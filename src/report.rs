//! Rendering findings: text with a source excerpt, concise lines, JSON,
//! SARIF 2.1.0 and GitHub workflow commands. Pure functions over the
//! results of a run, in the order given (path order).

use crate::fix::{Finding, Level, Options};
use crate::syntax::Document;
use serde_json::{json, Value};

/// What one file produced.
#[derive(Debug, Clone, Default)]
pub struct FileResult {
    /// The path as shown (relative to the current directory when under it).
    pub label: String,
    /// The original text, when it could be read.
    pub text: Option<String>,
    pub findings: Vec<Finding>,
    /// Errors for this file (already formatted, without `error: `).
    pub errors: Vec<String>,
    /// Notes for standard error (without `note: `).
    pub notes: Vec<String>,
    /// The unified diff of the fix, in dry-run mode.
    pub diff: Option<String>,
    /// Whether `fix` changes the file, and how many fixes it applies.
    pub changed: bool,
    pub applied: usize,
    /// The options in force for this file (a config file may differ per file).
    pub opts: Options,
}

/// Whether `fix` applies a finding's fix at the level in force.
pub fn fixable(f: &Finding, opts: &Options) -> bool {
    f.fix.as_ref().is_some_and(|x| opts.applies(x.level))
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Safe => "safe",
        Level::Unsafe => "unsafe",
        Level::Suggestion => "suggestion",
    }
}

/// ` (saves ~12.3 MB)` when the finding knows what it saves.
fn saves_note(f: &Finding) -> String {
    f.saves.map(|b| format!(" (saves ~{})", human(b))).unwrap_or_default()
}

/// Bytes for people, in decimal units as `docker history` shows them.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1000 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.1} kB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

/// `path:line:col: CODE [*] message (saves ~N MB)`, `[*]` when `fix` would
/// apply it.
pub fn concise(r: &FileResult) -> String {
    let opts = &r.opts;
    let mut out = String::new();
    for f in &r.findings {
        let mark = if fixable(f, opts) { " [*]" } else { "" };
        out.push_str(&format!("{}:{}:{}: {}{mark} {}{}\n", r.label, f.line, f.column, f.code, f.message, saves_note(f)));
    }
    out
}

/// The concise line, then the source line(s) with the span underlined.
pub fn text(r: &FileResult) -> String {
    let opts = &r.opts;
    let Some(src) = &r.text else { return String::new() };
    let Ok(doc) = Document::parse(src) else { return concise(r) };
    let mut out = String::new();
    for f in &r.findings {
        let mark = if fixable(f, opts) { " [*]" } else { "" };
        out.push_str(&format!("{}:{}:{}: {}{mark} {}{}\n", r.label, f.line, f.column, f.code, f.message, saves_note(f)));
        let width = f.end_line.max(f.line).to_string().len();
        let pad = " ".repeat(width);
        out.push_str(&format!("{pad} |\n"));
        let last = f.end_line.min(f.line + 2).max(f.line);
        for l in f.line..=last {
            let line = doc.line_text(l).replace('\t', "    ");
            out.push_str(&format!("{l:>width$} | {line}\n"));
            if l == f.line {
                let start = f.column.saturating_sub(1);
                let end =
                    if f.end_line == f.line { f.end_column.saturating_sub(1).max(start + 1) } else { line.chars().count().max(start + 1) };
                let prefix: String = doc.line_text(l).chars().take(start).map(|c| if c == '\t' { "    " } else { " " }).collect();
                out.push_str(&format!("{pad} | {prefix}{}\n", "^".repeat(end - start)));
            }
        }
        if f.end_line > last {
            out.push_str(&format!("{pad} | ...\n"));
        }
        let hint = match &f.fix {
            Some(x) if opts.applies(x.level) => "fix: `slimfile fix` applies it",
            Some(x) if x.level == Level::Unsafe => "fix: available with --unsafe-fixes",
            _ => "suggestion: not applied automatically",
        };
        out.push_str(&format!("{pad} = {hint}\n\n"));
    }
    out
}

/// `::warning file=...,line=...::CODE message` workflow commands.
pub fn github(r: &FileResult) -> String {
    let mut out = String::new();
    for f in &r.findings {
        out.push_str(&format!(
            "::warning file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(&r.label),
            f.line,
            f.column,
            f.end_line,
            f.end_column,
            escape_property(&format!("{} {}", f.code, f.name)),
            escape_data(&format!("{}{}", f.message, saves_note(f)))
        ));
    }
    for e in &r.errors {
        out.push_str(&format!("::error file={}::{}\n", escape_property(&r.label), escape_data(e)));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Line and column (1-based, characters) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    // The byte order mark is not a column (editors do not show it).
    let col = before.rsplit('\n').next().unwrap_or("").trim_start_matches('\u{feff}').chars().count() + 1;
    (line, col)
}

/// A relative path as a URI reference: bytes outside RFC 3986's unreserved
/// set (and `/`) percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn finding_json(f: &Finding, text: &str, opts: &Options) -> Value {
    let fix = f.fix.as_ref().map(|x| {
        json!({
            "level": level_name(x.level),
            "edits": x.edits.iter().map(|e| {
                let (sl, sc) = position(text, e.range.start);
                let (el, ec) = position(text, e.range.end);
                json!({
                    "start": {"line": sl, "column": sc, "offset": e.range.start},
                    "end": {"line": el, "column": ec, "offset": e.range.end},
                    "replacement": e.replacement,
                })
            }).collect::<Vec<_>>(),
        })
    });
    json!({
        "code": f.code,
        "name": f.name,
        "message": f.message,
        "level": level_name(f.level()),
        "fixable": fixable(f, opts),
        "start": {"line": f.line, "column": f.column, "offset": f.range.start},
        "end": {"line": f.end_line, "column": f.end_column, "offset": f.range.end},
        "fix": fix,
        "saves_bytes": f.saves,
    })
}

/// The documented JSON report (schema version 1; see README).
pub fn json(results: &[FileResult]) -> String {
    let files: Vec<Value> = results
        .iter()
        .map(|r| {
            let text = r.text.as_deref().unwrap_or("");
            let mut v = json!({
                "path": r.label,
                "findings": r.findings.iter().map(|f| finding_json(f, text, &r.opts)).collect::<Vec<_>>(),
                "errors": r.errors,
                "changed": r.changed,
            });
            if let Some(d) = &r.diff {
                v["diff"] = json!(d);
            }
            v
        })
        .collect();
    let s = summary(results);
    let report = json!({
        "version": 1,
        "tool": {"name": "slimfile", "version": env!("CARGO_PKG_VERSION")},
        "files": files,
        "summary": {
            "files": results.len(),
            "findings": s.findings,
            "fixable": s.fixable,
            "unsafe_fixable": s.with_unsafe,
            "errors": s.errors,
        },
    });
    let mut out = serde_json::to_string_pretty(&report).expect("report serializes");
    out.push('\n');
    out
}

/// SARIF 2.1.0, as GitHub code scanning takes it, with fixes as
/// `artifactChanges` replacements.
pub fn sarif(results: &[FileResult]) -> String {
    let rules: Vec<Value> = crate::transforms::TRANSFORMS
        .iter()
        .map(|t| {
            json!({
                "id": t.code(),
                "name": t.name(),
                "shortDescription": {"text": t.summary()},
                "fullDescription": {"text": t.summary()},
                "help": {"text": t.docs(), "markdown": t.docs()},
                "properties": {"hadolint": t.hadolint()},
            })
        })
        .collect();
    let rule_index = |code: &str| crate::transforms::TRANSFORMS.iter().position(|t| t.code() == code).unwrap_or(0);
    let mut sarif_results = Vec::new();
    let mut notifications = Vec::new();
    for r in results {
        let uri = if r.label == "<stdin>" { "stdin".to_string() } else { uri(r.label.trim_start_matches("./")) };
        let text = r.text.as_deref().unwrap_or("");
        for f in &r.findings {
            let region = json!({"startLine": f.line, "startColumn": f.column, "endLine": f.end_line, "endColumn": f.end_column});
            let mut res = json!({
                "ruleId": f.code,
                "ruleIndex": rule_index(f.code),
                "level": if f.fix.is_some() { "warning" } else { "note" },
                "message": {"text": f.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
                "properties": {"fixLevel": level_name(f.level()), "fixable": fixable(f, &r.opts), "savesBytes": f.saves},
            });
            if let Some(x) = &f.fix {
                let replacements: Vec<Value> = x
                    .edits
                    .iter()
                    .map(|e| {
                        let (sl, sc) = position(text, e.range.start);
                        let (el, ec) = position(text, e.range.end);
                        json!({
                            "deletedRegion": {"startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec},
                            "insertedContent": {"text": e.replacement},
                        })
                    })
                    .collect();
                res["fixes"] = json!([{
                    "description": {"text": format!("{} ({} fix)", f.message, level_name(x.level))},
                    "artifactChanges": [{"artifactLocation": {"uri": uri}, "replacements": replacements}],
                }]);
            }
            sarif_results.push(res);
        }
        for e in &r.errors {
            notifications.push(json!({
                "level": "error",
                "message": {"text": e},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
            }));
        }
    }
    let report = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "slimfile",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://crates.io/crates/slimfile",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": sarif_results,
            "invocations": [{"executionSuccessful": notifications.is_empty(), "toolExecutionNotifications": notifications}],
        }],
    });
    let mut out = serde_json::to_string_pretty(&report).expect("report serializes");
    out.push('\n');
    out
}

/// Totals over a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub findings: usize,
    pub fixable: usize,
    pub with_unsafe: usize,
    pub errors: usize,
    pub changed: usize,
    pub applied: usize,
}

pub fn summary(results: &[FileResult]) -> Summary {
    let mut s = Summary::default();
    // One bad config file shared by many Dockerfiles is one error.
    let mut errors = std::collections::HashSet::new();
    for r in results {
        let opts = &r.opts;
        s.findings += r.findings.len();
        s.fixable += r.findings.iter().filter(|f| fixable(f, opts)).count();
        s.with_unsafe += r.findings.iter().filter(|f| !fixable(f, opts) && f.level() == Level::Unsafe).count();
        errors.extend(r.errors.iter());
        s.changed += usize::from(r.changed);
        s.applied += r.applied;
    }
    s.errors = errors.len();
    s
}
