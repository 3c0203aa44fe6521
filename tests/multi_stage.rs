//! SF004 multi-stage with a build context: one insta snapshot per case
//! directory under tests/fixtures/SF004-context/ (a Dockerfile and the
//! context files it builds from), rendered as tests/snapshots.rs renders
//! its fixtures: the findings a user sees and the diff `fix` makes (and
//! `fix --unsafe-fixes`, when that differs). The case `no_context` runs
//! without a build context although its directory has one.

mod common;

use slimfile::{Document, Options};
use std::path::{Path, PathBuf};

#[test]
fn context_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/SF004-context");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in &dirs {
        let case = dir.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let context = (case != "no_context").then(|| dir.clone());
        let rendered = common::render(&format!("{case}/Dockerfile"), &text, |unsafe_fixes| Options {
            select: Some(vec!["SF004"]),
            unsafe_fixes,
            context: context.clone(),
            ..Options::default()
        });
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
