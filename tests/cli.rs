//! The built binary: modes, exit codes, standard input and bad inputs.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const TWO_RUNS: &str = "FROM debian:bookworm-slim\nRUN useradd --create-home app\nRUN mkdir -p /data\n";
const MERGED: &str = "FROM debian:bookworm-slim\nRUN useradd --create-home app && \\\n    mkdir -p /data\n";

fn slimfile(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slimfile")).args(args).current_dir(dir).stdin(Stdio::null()).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

fn repo(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        let p = dir.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    }
    dir
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let d = repo(&[("Dockerfile", TWO_RUNS.as_bytes())]);
    let out = slimfile(d.path(), &["fix", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    let diff = text(&out.stdout);
    assert!(diff.starts_with("diff --git a/Dockerfile b/Dockerfile\n--- a/Dockerfile\n+++ b/Dockerfile\n"), "{diff}");
    assert!(diff.contains("+RUN useradd --create-home app && \\\n+    mkdir -p /data\n"));
    assert!(!diff.contains('\x1b'), "no colour when not a terminal");
    assert_eq!(fs::read_to_string(d.path().join("Dockerfile")).unwrap(), TWO_RUNS);
    assert!(text(&out.stderr).contains("1 file would change (1 fix)"));
    // --diff is the same mode.
    assert_eq!(slimfile(d.path(), &["fix", "--diff"]).stdout, out.stdout);
}

#[test]
fn check_flag_lists_files_that_would_change() {
    let d = repo(&[("a/Dockerfile", TWO_RUNS.as_bytes()), ("b/Dockerfile", MERGED.as_bytes())]);
    let out = slimfile(d.path(), &["fix", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "would change: a/Dockerfile\n");
    let clean = slimfile(d.path(), &["fix", "--check", "b"]);
    assert_eq!(clean.status.code(), Some(0));
    assert_eq!(text(&clean.stdout), "");
}

#[cfg(unix)]
#[test]
fn fix_writes_in_place_keeps_permissions_and_is_idempotent() {
    use std::os::unix::fs::PermissionsExt;
    let d = repo(&[("Dockerfile", TWO_RUNS.as_bytes())]);
    let p = d.path().join("Dockerfile");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
    let out = slimfile(d.path(), &["fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(fs::read_to_string(&p).unwrap(), MERGED);
    assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
    let again = slimfile(d.path(), &["fix"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stderr).contains("0 files changed"));
    // No temporary files left behind.
    let names: Vec<_> = fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[cfg(unix)]
#[test]
fn symlinks_are_resolved_and_the_link_kept() {
    let d = repo(&[("real/Dockerfile", TWO_RUNS.as_bytes())]);
    std::os::unix::fs::symlink("real/Dockerfile", d.path().join("Dockerfile")).unwrap();
    let out = slimfile(d.path(), &["fix", "Dockerfile"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(fs::symlink_metadata(d.path().join("Dockerfile")).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(d.path().join("real/Dockerfile")).unwrap(), MERGED);
}

#[test]
fn stdin_to_stdout() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slimfile"))
        .args(["fix", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(TWO_RUNS.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), MERGED);
}

#[test]
fn bad_inputs_are_named_with_line_exit_2_and_left_alone() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("utf8/Dockerfile", b"FROM debian\nRUN echo \xff\xfe\n", "utf8/Dockerfile:2: invalid UTF-8"),
        ("binary/Dockerfile", b"FROM debian\n\0\0\x01", "binary/Dockerfile:2: contains a NUL byte"),
        ("notdocker/Dockerfile", b"FROM debian\nRUN echo\nthis is prose\n", "notdocker/Dockerfile:3: unknown instruction `this`"),
        ("empty/Dockerfile", b"", "empty/Dockerfile:1: the file is empty"),
        ("heredoc/Dockerfile", b"FROM debian\nRUN cat <<EOF\nno end\n", "heredoc/Dockerfile:2: heredoc `<<EOF` is never terminated"),
    ];
    for (name, body, message) in cases {
        let d = repo(&[(name, body), ("good/Dockerfile", TWO_RUNS.as_bytes())]);
        let out = slimfile(d.path(), &["fix"]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = text(&out.stderr);
        assert!(err.contains(message), "{name}: {err}");
        assert_eq!(&fs::read(d.path().join(name)).unwrap(), body, "{name} was changed");
        // The other file was still fixed.
        assert_eq!(fs::read_to_string(d.path().join("good/Dockerfile")).unwrap(), MERGED, "{name}");
    }
}

#[test]
fn missing_paths_and_empty_directories_are_errors() {
    let d = repo(&[("README.md", b"# hi\n")]);
    let out = slimfile(d.path(), &["fix", "--dry-run", "nope/Dockerfile"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nope/Dockerfile: no such file or directory"));
    let out = slimfile(d.path(), &["fix", "--dry-run", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(".: no Dockerfiles found in this directory"));
}

#[test]
fn walk_honours_gitignore_and_finds_dockerfile_names() {
    let d = repo(&[
        (".gitignore", b"build/\n"),
        ("build/Dockerfile", TWO_RUNS.as_bytes()),
        ("svc/app.Dockerfile", TWO_RUNS.as_bytes()),
        ("svc/Containerfile", TWO_RUNS.as_bytes()),
        ("svc/Dockerfile.m4", b"include(x)\n"),
        (".devcontainer/Dockerfile", TWO_RUNS.as_bytes()),
    ]);
    let out = slimfile(d.path(), &["fix", "--check"]);
    assert_eq!(
        text(&out.stdout),
        "would change: .devcontainer/Dockerfile\nwould change: svc/Containerfile\nwould change: svc/app.Dockerfile\n"
    );
}

#[test]
fn git_apply_accepts_the_dry_run() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipped: no git");
        return;
    }
    let crlf = b"FROM debian\r\nRUN echo a\r\nRUN echo b\r\n";
    let nonl = b"FROM debian\nRUN echo a\nRUN echo b";
    let d = repo(&[("one/Dockerfile", TWO_RUNS.as_bytes()), ("two/Dockerfile", crlf), ("three/Dockerfile", nonl)]);
    let patch = slimfile(d.path(), &["fix", "--dry-run"]).stdout;
    fs::write(d.path().join("p.diff"), &patch).unwrap();
    let applied = Command::new("git").args(["apply", "p.diff"]).current_dir(d.path()).output().unwrap();
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert_eq!(fs::read_to_string(d.path().join("one/Dockerfile")).unwrap(), MERGED);
    assert_eq!(fs::read(d.path().join("two/Dockerfile")).unwrap(), b"FROM debian\r\nRUN echo a && \\\r\n    echo b\r\n");
    assert_eq!(fs::read(d.path().join("three/Dockerfile")).unwrap(), b"FROM debian\nRUN echo a && \\\n    echo b");
    // Once applied, nothing is left to change.
    assert_eq!(slimfile(d.path(), &["fix", "--dry-run", "one", "two", "three"]).status.code(), Some(0));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let d = repo(&[("Dockerfile", TWO_RUNS.as_bytes())]);
    let big: String = (0..3000).map(|i| format!("RUN echo {i}\n")).collect();
    fs::write(d.path().join("Dockerfile"), format!("FROM debian\n{big}")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slimfile"))
        .args(["fix", "--dry-run"])
        .current_dir(d.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("error"));
}

#[test]
fn check_reports_findings_and_rules_lists_transforms() {
    let d = repo(&[("Dockerfile", TWO_RUNS.as_bytes())]);
    let out = slimfile(d.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "Dockerfile:2:1: SF001 [*] 2 consecutive RUN instructions (lines 2 and 3) can be one layer\n");
    assert_eq!(slimfile(d.path(), &["check", "--ignore", "merge-runs"]).status.code(), Some(0));
    let bad = slimfile(d.path(), &["check", "--select", "SF999"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("unknown rule `SF999`"));
    let rules = text(&slimfile(d.path(), &["rules"]).stdout);
    assert!(rules.starts_with("SF001  merge-runs"));
    let doc = text(&slimfile(d.path(), &["rule", "SF001"]).stdout);
    assert!(doc.contains("## When it is not applied"));
}

#[test]
fn a_file_changed_meanwhile_is_not_written() {
    let d = repo(&[("Dockerfile", TWO_RUNS.as_bytes())]);
    let p = d.path().join("Dockerfile");
    let err = slimfile::write::write_atomic(&p, b"something else", MERGED.as_bytes()).unwrap_err();
    assert!(err.contains("changed while slimfile was working on it"), "{err}");
    assert_eq!(fs::read_to_string(&p).unwrap(), TWO_RUNS);
}
