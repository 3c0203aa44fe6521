//! SF004 multi-stage with a build context: one insta snapshot per case
//! directory under tests/fixtures/SF004-context/ (a Dockerfile and the
//! context files it builds from), rendered as tests/snapshots.rs renders
//! its fixtures: the findings a user sees and the diff `fix` makes (and
//! `fix --unsafe-fixes`, when that differs). The case `no_context` runs
//! without a build context although its directory has one.

use slimfile::{Document, Options};
use std::path::{Path, PathBuf};

fn render(name: &str, text: &str, context: Option<PathBuf>) -> String {
    let mut out = String::new();
    let opts = |unsafe_fixes| Options { select: Some(vec!["SF004"]), unsafe_fixes, context: context.clone(), ..Options::default() };
    out.push_str("findings:\n");
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
        }
        (Err(e), _) | (_, Err(e)) => out.push_str(&format!("\nerror: {e}\n")),
    }
    // Make invisible bytes visible in the snapshot.
    out.replace('\r', "␍").replace('\u{feff}', "<BOM>")
}

#[test]
fn context_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/SF004-context");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in &dirs {
        let case = dir.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let context = (case != "no_context").then(|| dir.clone());
        let rendered = render(&format!("{case}/Dockerfile"), &text, context);
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, description => format!("tests/fixtures/SF004-context/{case}/Dockerfile"), omit_expression => true}, {
            insta::assert_snapshot!(format!("SF004_context__{case}"), rendered);
        });
    }
    assert!(dirs.len() >= 5, "expected the SF004-context cases, found {}", dirs.len());
}

/// Applying an unsafe fix with a context twice changes nothing more, and
/// the output still parses.
#[test]
fn context_fixes_are_idempotent() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/SF004-context");
    for e in std::fs::read_dir(&root).unwrap() {
        let dir = e.unwrap().path();
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let opts = Options { select: Some(vec!["SF004"]), unsafe_fixes: true, context: Some(dir.clone()), ..Options::default() };
        let once = slimfile::fix(&text, &opts).unwrap().output;
        Document::parse(&once).unwrap();
        let twice = slimfile::fix(&once, &opts).unwrap().output;
        assert_eq!(once, twice, "{}: not idempotent", dir.display());
    }
}
