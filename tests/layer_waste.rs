//! Fixtures with a build context: each directory of tests/fixtures/SF005/,
//! tests/fixtures/SF006/ and tests/fixtures/explain/ holds a Dockerfile and
//! the files of its context. The context is copied to a temporary
//! directory, where the files listed in `.fixture-sizes` (`PATH BYTES` a
//! line) are made at that size (so the repository keeps no big files), and
//! the findings, the diffs and (SF006) the proposed .dockerignore or
//! (explain) the text and JSON views are snapshotted.

mod common;

use slimfile::{Document, Options};
use std::path::{Path, PathBuf};

fn render_with_context(code: &'static str, text: &str, dir: &Path) -> String {
    common::render("Dockerfile", text, |unsafe_fixes| Options {
        select: Some(vec![code]),
        unsafe_fixes,
        context: Some(dir.to_path_buf()),
        ..Options::default()
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(from).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for e in entries {
        let dest = to.join(e.file_name().unwrap());
        if e.is_dir() {
            copy_dir(&e, &dest);
        } else {
            std::fs::copy(&e, &dest).unwrap();
        }
    }
}

/// The case's context in a temporary directory, sized files made.
fn context(case: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(case, tmp.path());
    let sizes = tmp.path().join(".fixture-sizes");
    if let Ok(list) = std::fs::read_to_string(&sizes) {
        for line in list.lines().filter(|l| !l.trim().is_empty()) {
            let (path, bytes) = line.rsplit_once(' ').unwrap();
            let p = tmp.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            let f = std::fs::File::create(&p).unwrap();
            f.set_len(bytes.trim().parse().unwrap()).unwrap();
        }
        std::fs::remove_file(&sizes).unwrap();
    }
    tmp
}

fn cases(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    v.sort();
    assert!(!v.is_empty(), "no cases in {}", root.display());
    v
}

fn snapshot(name: String, description: String, body: String) {
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, description => description, omit_expression => true}, {
        insta::assert_snapshot!(name, body);
    });
}

#[test]
fn sf005_fixtures() {
    for case in cases("SF005") {
        let stem = case.file_name().unwrap().to_string_lossy().to_string();
        let tmp = context(&case);
        let text = std::fs::read_to_string(tmp.path().join("Dockerfile")).unwrap();
        let body = render_with_context("SF005", &text, tmp.path());
        snapshot(format!("SF005__{stem}"), format!("tests/fixtures/SF005/{stem}/"), body);
    }
}

#[test]
fn sf006_fixtures() {
    for case in cases("SF006") {
        let stem = case.file_name().unwrap().to_string_lossy().to_string();
        let tmp = context(&case);
        let text = std::fs::read_to_string(tmp.path().join("Dockerfile")).unwrap();
        let mut body = render_with_context("SF006", &text, tmp.path());
        let doc = Document::parse(&text).unwrap();
        let mut ctx = slimfile::context::Context::new(&doc);
        ctx.build_context = Some(tmp.path().to_path_buf());
        match slimfile::transforms::dockerignore::proposed_dockerignore(&ctx) {
            Some((path, content)) => {
                let rel = path.strip_prefix(tmp.path()).unwrap().display().to_string();
                let before = std::fs::read_to_string(&path).unwrap_or_default();
                assert!(content.starts_with(&before), "{stem}: existing lines not kept");
                body.push_str(&format!("\nproposed {rel}:\n{content}"));
            }
            None => body.push_str("\nproposed .dockerignore: none\n"),
        }
        snapshot(format!("SF006__{stem}"), format!("tests/fixtures/SF006/{stem}/"), body);
    }
}

#[test]
fn sf005_sf006_without_context_say_nothing_they_cannot_know() {
    let text = "FROM debian:bookworm-slim\nCOPY . /app\nCOPY a.tar /tmp/\nRUN tar -xf /tmp/a.tar -C /opt && rm /tmp/a.tar\n";
    let doc = Document::parse(text).unwrap();
    let f = slimfile::check(&doc, &Options { select: Some(vec!["SF005", "SF006"]), unsafe_fixes: true, ..Options::default() });
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("unknown size"), "{}", f[0].message);
    assert_eq!(f[0].fix.as_ref().unwrap().level, slimfile::Level::Unsafe);
}

#[test]
fn explain_fixtures() {
    for case in cases("explain") {
        let stem = case.file_name().unwrap().to_string_lossy().to_string();
        let tmp = context(&case);
        let text = std::fs::read_to_string(tmp.path().join("Dockerfile")).unwrap();
        let doc = Document::parse(&text).unwrap();
        let with = slimfile::explain::explain(&doc, Some(tmp.path()));
        let without = slimfile::explain::explain(&doc, None);
        let ctx = tmp.path().display().to_string();
        let body = format!(
            "{}\n--- without a build context ---\n{}\n--- json ---\n{}",
            slimfile::explain::render_text(&with).replace(&ctx, "<context>"),
            slimfile::explain::render_text(&without),
            slimfile::explain::render_json(&with).replace(&ctx, "<context>")
        );
        snapshot(format!("explain__{stem}"), format!("tests/fixtures/explain/{stem}/"), body);
    }
}
