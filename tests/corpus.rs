//! Properties over every real Dockerfile of ../shared/corpus.

mod common;

use slimfile::syntax::{Form, NodeKind};
use slimfile::{Document, Options};
use std::io::Write;

fn all(unsafe_fixes: bool) -> Options {
    Options { select: None, unsafe_fixes, ..Options::default() }
}

/// Safe fixes; all fixes; all fixes with cache mounts instead of cleanups.
fn modes() -> [(&'static str, Options); 3] {
    let mount = Options { unsafe_fixes: true, cache_style: slimfile::context::CacheStyle::Mount, ..Options::default() };
    [("safe", all(false)), ("unsafe", all(true)), ("unsafe+mount", mount)]
}

fn comment_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::trim).filter(|l| l.starts_with('#')).map(str::to_string).collect();
    v.sort();
    v
}

/// Shell-form RUN bodies of a document run by sh (what `bash -n` checks).
fn run_bodies(doc: &Document) -> Vec<String> {
    let ctx = slimfile::context::Context::new(doc);
    doc.instructions()
        .filter(|(n, i)| {
            i.is("RUN")
                && i.heredocs.is_empty()
                && i.form() == Form::Shell
                && matches!(ctx.shell(*n), slimfile::context::ShellKind::Posix { .. })
        })
        .map(|(_, i)| i.args.clone())
        .collect()
}

fn bash_accepts(bodies: &[String]) -> Result<(), String> {
    let Ok(mut child) =
        std::process::Command::new("bash").arg("-n").stdin(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn()
    else {
        return Ok(()); // no bash here: the tree-sitter parse already checked them
    };
    let mut script = String::new();
    for b in bodies {
        script.push_str(b);
        script.push('\n');
    }
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

#[test]
fn corpus_properties() {
    let Some(dir) = common::corpus_dir() else { return };
    let files = common::corpus_files(&dir);
    let (mut read, mut rejected, mut changed, mut not_utf8) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let Ok(text) = String::from_utf8(bytes) else {
            not_utf8 += 1;
            continue;
        };
        read += 1;
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let doc = match Document::parse(&text) {
            Ok(d) => d,
            Err(_) => {
                rejected += 1;
                assert!(matches!(slimfile::fix(&text, &all(true)), Err(slimfile::Error::Parse(_))));
                continue;
            }
        };
        // Lossless: the nodes tile the text.
        let mut at = doc.bom_len;
        for n in &doc.nodes {
            assert_eq!(n.range.start, at, "{name}: nodes do not tile the text");
            at = n.range.end;
        }
        assert_eq!(at, text.len(), "{name}: nodes do not reach the end");
        // No transform selected: identical bytes.
        let none = slimfile::fix(&text, &Options { select: Some(vec![]), unsafe_fixes: true, ..Options::default() }).unwrap();
        assert_eq!(none.output, text, "{name}: a run with no transform changed the file");
        for (mode, opts) in modes() {
            let unsafe_fixes = opts.unsafe_fixes;
            let out = match slimfile::fix(&text, &opts) {
                Ok(o) => o.output,
                Err(e) => {
                    failures.push(format!("{name}: {e}"));
                    continue;
                }
            };
            if out == text {
                continue;
            }
            if mode == "safe" {
                changed += 1;
            }
            let Ok(new_doc) = Document::parse(&out) else {
                failures.push(format!("{name}: output does not parse"));
                continue;
            };
            let again = slimfile::fix(&out, &opts).unwrap().output;
            if again != out {
                failures.push(format!("{name}: fix is not idempotent ({mode}, unsafe={unsafe_fixes})"));
            }
            if comment_lines(&out) != comment_lines(&text) {
                failures.push(format!("{name}: comment lines changed"));
            }
            if text.ends_with('\n') != out.ends_with('\n') || text.starts_with('\u{feff}') != out.starts_with('\u{feff}') {
                failures.push(format!("{name}: final newline or BOM changed"));
            }
            if text.contains("\r\n") && out.replace("\r\n", "").contains('\n') && !text.replace("\r\n", "").contains('\n') {
                failures.push(format!("{name}: CRLF file gained LF line endings"));
            }
            for (k, v) in doc.nodes.iter().filter_map(|n| match &n.kind {
                NodeKind::Directive { name, value } => Some((name, value)),
                _ => None,
            }) {
                if !new_doc.nodes.iter().any(|n| matches!(&n.kind, NodeKind::Directive { name, value } if name == k && value == v)) {
                    failures.push(format!("{name}: lost the parser directive {k}"));
                }
            }
            // The independent parser must still read what it read before.
            if parse_dockerfile::parse(&text).is_ok() && parse_dockerfile::parse(&out).is_err() {
                failures.push(format!("{name}: parse-dockerfile rejects the output"));
            }
            // Every RUN body that bash accepted before, it still accepts.
            let before = run_bodies(&doc);
            if bash_accepts(&before).is_ok() {
                if let Err(e) = bash_accepts(&run_bodies(&new_doc)) {
                    failures.push(format!("{name}: bash -n rejects a fixed RUN body: {e}"));
                }
            }
        }
    }
    eprintln!("corpus: {} files, {read} read as UTF-8, {not_utf8} not UTF-8, {rejected} rejected as not Dockerfiles, {changed} changed by safe fixes", files.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(read > 0);
}

/// BuildKit's own parser test files: we must see the same instructions it
/// sees (its `result` file has one line per instruction).
#[test]
fn buildkit_testfiles_conformance() {
    let Some(dir) = common::corpus_dir() else { return };
    let base = dir.join("moby__buildkit/frontend/dockerfile/parser/testfiles");
    if !base.is_dir() {
        eprintln!("skipped: no BuildKit test files in the corpus");
        return;
    }
    let mut checked = 0;
    for entry in std::fs::read_dir(&base).unwrap() {
        let case = entry.unwrap().path();
        let (Ok(text), Ok(result)) = (std::fs::read_to_string(case.join("Dockerfile")), std::fs::read_to_string(case.join("result")))
        else {
            continue;
        };
        let doc = Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let ours: Vec<String> = doc.instructions().map(|(_, i)| i.keyword.to_ascii_lowercase()).collect();
        let theirs: Vec<String> =
            result.lines().filter(|l| l.starts_with('(')).map(|l| l[1..].split([' ', ')']).next().unwrap().to_string()).collect();
        assert_eq!(ours, theirs, "{}", case.display());
        checked += 1;
    }
    eprintln!("checked {checked} BuildKit parser test files");
    assert!(checked > 20);
}
