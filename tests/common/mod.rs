//! Helpers shared by the integration tests.
#![allow(dead_code)]

use slimfile::{Document, Options};
use std::path::{Path, PathBuf};

/// What a snapshot shows for one fixture: the findings (with the level of
/// their fix), the diff `fix` makes, and the diff of `fix --unsafe-fixes`
/// when that differs. `opts(unsafe_fixes)` gives the options. Also checks
/// that a second `fix` changes nothing. Invisible bytes are made visible.
pub fn render(name: &str, text: &str, opts: impl Fn(bool) -> Options) -> String {
    let mut out = String::from("findings:\n");
    match Document::parse(text) {
        Ok(doc) => {
            for f in slimfile::check(&doc, &opts(true)) {
                let level = match &f.fix {
                    Some(x) => format!("{:?}", x.level).to_lowercase(),
                    None => "report".into(),
                };
                out.push_str(&format!("  {}:{}: {} [{level}] {}\n", f.line, f.column, f.code, f.message));
            }
        }
        Err(e) => out.push_str(&format!("  parse error: {e}\n")),
    }
    let safe = slimfile::fix(text, &opts(false)).map(|o| o.output);
    let unsafe_ = slimfile::fix(text, &opts(true)).map(|o| o.output);
    match (&safe, &unsafe_) {
        (Ok(s), Ok(u)) => {
            out.push_str("\nfix:\n");
            out.push_str(&slimfile::diff::unified(name, text, s));
            if u != s {
                out.push_str("\nfix --unsafe-fixes:\n");
                out.push_str(&slimfile::diff::unified(name, text, u));
            }
            for (o, unsafe_fixes) in [(s, false), (u, true)] {
                let again = slimfile::fix(o, &opts(unsafe_fixes)).unwrap().output;
                assert_eq!(&again, o, "{name}: a second fix changed the output (unsafe={unsafe_fixes})");
            }
        }
        (Err(e), _) | (_, Err(e)) => out.push_str(&format!("\nerror: {e}\n")),
    }
    out.replace('\r', "␍").replace('\u{feff}', "<BOM>")
}

/// The shared corpus of real Dockerfiles, if this checkout has it beside.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SLIMFILE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: no corpus at {} (set SLIMFILE_CORPUS to point at one)", dir.display());
        None
    }
}

/// Every file of the corpus that stands for a Dockerfile (not the
/// provenance table, the README, or BuildKit's expected-result files).
pub fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(p).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                walk(&e, out);
            } else {
                let n = e.file_name().unwrap().to_string_lossy().to_string();
                if !matches!(n.as_str(), "SOURCES.tsv" | "README.md" | "result") {
                    out.push(e);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}
