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

/// `slimfile fix -` with `input` on standard input.
fn fix_stdin(input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slimfile"))
        .args(["fix", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
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
    let out = fix_stdin(TWO_RUNS.as_bytes());
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
    // Enough output to fill the pipe: 2,000 stages of two RUNs each.
    let big: String = (0..2000).map(|i| format!("FROM debian AS s{i}\nRUN echo {i}\nRUN echo again {i}\n")).collect();
    fs::write(d.path().join("Dockerfile"), big).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slimfile"))
        .args(["fix", "--dry-run"])
        .current_dir(d.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    // Changes are pending: exit 1, as with an open pipe, and no error.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("error"));
}

#[test]
fn check_reports_findings_and_rules_lists_transforms() {
    let d = repo(&[("Dockerfile", TWO_RUNS.as_bytes())]);
    let out = slimfile(d.path(), &["check", "--select", "SF001", "--format", "concise"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "Dockerfile:2:1: SF001 [*] 2 consecutive RUN instructions (lines 2 and 3) can be one layer\n");
    assert_eq!(slimfile(d.path(), &["check", "--select", "SF001", "--ignore", "merge-runs"]).status.code(), Some(0));
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

const REPORTED: &str =
    "FROM debian:bookworm-slim\nRUN apt-get update\n# tools\nRUN apt-get install -y --no-install-recommends curl\nRUN pip install flask\n";

fn snapshot(name: &str, value: String) {
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!(name, value);
    });
}

#[test]
fn every_output_format() {
    let d = repo(&[("app/Dockerfile", REPORTED.as_bytes())]);
    for format in ["text", "concise", "json", "sarif", "github"] {
        let out = slimfile(d.path(), &["check", "--format", format, "--select", "SF001,SF002"]);
        assert_eq!(out.status.code(), Some(1), "{format}");
        let mut shown = text(&out.stdout);
        if format == "sarif" {
            // The rule list carries every transform's documentation, which
            // changes with each table edit; the test below checks it.
            let mut v: serde_json::Value = serde_json::from_str(&shown).unwrap();
            v["runs"][0]["tool"]["driver"]["rules"] = serde_json::json!("(checked in sarif_has_what_code_scanning_requires)");
            v["runs"][0]["tool"]["driver"]["version"] = serde_json::json!("(version)");
            shown = serde_json::to_string_pretty(&v).unwrap();
        }
        snapshot(&format!("cli__check_{format}"), shown);
    }
    let out = slimfile(d.path(), &["fix", "--dry-run", "--format", "json", "--select", "SF001,SF002"]);
    snapshot("cli__fix_dry_run_json", text(&out.stdout));
}

#[test]
fn sarif_has_what_code_scanning_requires() {
    let d = repo(&[("Dockerfile", REPORTED.as_bytes())]);
    let out = slimfile(d.path(), &["check", "--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "slimfile");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), slimfile::transforms::TRANSFORMS.len());
    for rule in rules {
        assert!(rule["help"]["markdown"].as_str().unwrap().contains("## "), "{rule}");
        assert!(!rule["shortDescription"]["text"].as_str().unwrap().is_empty());
    }
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], id);
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "Dockerfile");
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    // The SF002 fix travels as a replacement that re-creates the fixed text.
    let apt = results.iter().find(|r| r["ruleId"] == "SF002" && r["fixes"].is_array()).unwrap();
    let rep = &apt["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert!(rep["insertedContent"]["text"].as_str().unwrap().contains("rm -rf /var/lib/apt/lists/*"));
    assert!(rep["deletedRegion"]["startLine"].as_u64().unwrap() >= 2);
}

#[test]
fn json_is_the_same_with_one_thread_or_many() {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..40 {
        files.push((
            format!("svc{i:02}/Dockerfile"),
            format!("FROM debian\nRUN echo {i}\nRUN apt-get update && apt-get install -y x{i}\n").into_bytes(),
        ));
    }
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let d = repo(&refs);
    let one = slimfile(d.path(), &["fix", "--dry-run", "-j", "1"]).stdout;
    let many = slimfile(d.path(), &["fix", "--dry-run", "-j", "8"]).stdout;
    assert_eq!(text(&one), text(&many));
    assert_eq!(text(&one).matches("diff --git").count(), 40);
    let j1 = slimfile(d.path(), &["check", "--format", "json", "-j", "1"]).stdout;
    let j8 = slimfile(d.path(), &["check", "--format", "json", "-j", "8"]).stdout;
    assert_eq!(j1, j8);
}

#[test]
fn config_file_select_exclude_and_errors() {
    let d = repo(&[
        ("slimfile.toml", b"select = [\"merge-runs\"]\nexclude = [\"legacy/**\"]\n"),
        ("app/Dockerfile", REPORTED.as_bytes()),
        ("legacy/Dockerfile", REPORTED.as_bytes()),
    ]);
    let out = slimfile(d.path(), &["check", "--format", "concise"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("app/Dockerfile:2:1: SF001"), "{stdout}");
    assert!(!stdout.contains("SF002") && !stdout.contains("legacy/"), "{stdout}");
    // A file named on the command line is processed even when excluded.
    let named = text(&slimfile(d.path(), &["check", "--format", "concise", "legacy/Dockerfile"]).stdout);
    assert!(named.contains("legacy/Dockerfile:2:1: SF001"), "{named}");
    // The command line wins over the file.
    let cli = text(&slimfile(d.path(), &["check", "--format", "concise", "--select", "SF002"]).stdout);
    assert!(cli.contains("SF002") && !cli.contains("SF001"), "{cli}");
    // A bad key is an error naming the file and line, and nothing is fixed.
    fs::write(d.path().join("slimfile.toml"), "select = [\"SF001\"]\nunsafe_fixes = true\n").unwrap();
    let bad = slimfile(d.path(), &["fix"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("slimfile.toml:2: unknown field `unsafe_fixes`"), "{}", text(&bad.stderr));
    assert_eq!(fs::read_to_string(d.path().join("app/Dockerfile")).unwrap(), REPORTED);
    // --config names one explicitly.
    fs::write(d.path().join("other.toml"), "ignore = [\"SF001\"]\n").unwrap();
    let explicit = text(&slimfile(d.path(), &["check", "--format", "concise", "--config", "other.toml", "app"]).stdout);
    assert!(!explicit.contains("SF001") && explicit.contains("SF002"), "{explicit}");
}

#[test]
fn ignore_comments_can_be_turned_off() {
    let d = repo(&[("Dockerfile", b"FROM debian\nRUN echo a\n# slimfile ignore=SF001\nRUN echo b\n")]);
    assert_eq!(slimfile(d.path(), &["check", "--select", "SF001"]).status.code(), Some(0));
    let out = slimfile(d.path(), &["check", "--select", "SF001", "--no-ignore-comments", "--format", "concise"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("SF001 [*] 2 consecutive RUN"));
}

#[test]
fn deeply_nested_bodies_are_reported_not_a_crash() {
    let body = format!("true{}{}", " && { true".repeat(12000), "; }".repeat(12000));
    let d = repo(&[("Dockerfile", format!("FROM debian\nRUN {body}\nRUN b\n").as_bytes()), ("ok/Dockerfile", TWO_RUNS.as_bytes())]);
    let out = slimfile(d.path(), &["fix", "--dry-run"]);
    assert!(matches!(out.status.code(), Some(0..=2)), "{:?}", out.status);
    assert!(text(&out.stdout).contains("ok/Dockerfile"), "the other file was still processed");
}

#[test]
fn stdin_with_an_error_is_echoed_unchanged() {
    let out = fix_stdin(b"FROM x\nBOGUS y\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "FROM x\nBOGUS y\n");
    assert!(text(&out.stderr).contains("<stdin>:2: unknown instruction `BOGUS`"));
}

#[cfg(unix)]
#[test]
fn odd_file_names_and_special_files() {
    use std::os::unix::ffi::OsStrExt;
    let d = repo(&[]);
    let dir = d.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("Dockerfile"), TWO_RUNS).unwrap();
    fs::write(d.path().join("svc\tA.Dockerfile"), TWO_RUNS).unwrap();
    let out = slimfile(d.path(), &["fix", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.windows(7).any(|w| w == b"caf\\351"), "the non-UTF-8 name is quoted as git does");
    if Command::new("git").arg("--version").output().is_ok() {
        fs::write(d.path().join("p.diff"), &out.stdout).unwrap();
        let applied = Command::new("git").args(["apply", "p.diff"]).current_dir(d.path()).output().unwrap();
        assert!(applied.status.success(), "{}", text(&applied.stderr));
        assert_eq!(fs::read_to_string(dir.join("Dockerfile")).unwrap(), MERGED);
        assert_eq!(fs::read_to_string(d.path().join("svc\tA.Dockerfile")).unwrap(), MERGED);
    }
    // A FIFO named on the command line is refused, not read forever.
    let fifo = d.path().join("fifo.Dockerfile");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = slimfile(d.path(), &["fix", "--dry-run", "fifo.Dockerfile"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("fifo.Dockerfile: not a regular file"));
}

#[test]
fn generated_files_are_not_changed() {
    let d = repo(&[("Dockerfile", format!("# GENERATED FILE, DO NOT EDIT\n{TWO_RUNS}").as_bytes())]);
    let out = slimfile(d.path(), &["fix"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("marked DO NOT EDIT (generated): findings are reported, no fix is applied"),
        "{}",
        text(&out.stderr)
    );
    assert!(fs::read_to_string(d.path().join("Dockerfile")).unwrap().ends_with(TWO_RUNS));
    let check = slimfile(d.path(), &["check", "--select", "SF001", "--format", "concise"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(!text(&check.stdout).contains("[*]"), "no fix is offered for a generated file");
}

#[test]
fn explain_and_dockerignore_writing() {
    let d = repo(&[
        ("Dockerfile", b"FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD [\"node\", \"server.js\"]\n"),
        ("package.json", b"{}\n"),
        ("server.js", b"x\n"),
        ("README.md", b"# readme\n"),
        ("tests/a.test.js", b"t\n"),
    ]);
    let out = slimfile(d.path(), &["explain", "Dockerfile"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("COPY . .") && shown.contains("layers: 2"), "{shown}");
    let json: serde_json::Value =
        serde_json::from_slice(&slimfile(d.path(), &["explain", "Dockerfile", "--format", "json"]).stdout).unwrap();
    assert!(json.is_object());
    // Without --unsafe-fixes the .dockerignore is only proposed.
    slimfile(d.path(), &["fix", "--select", "SF006"]);
    assert!(!d.path().join(".dockerignore").exists());
    let patch = slimfile(d.path(), &["fix", "--dry-run", "--unsafe-fixes", "--select", "SF006"]);
    assert_eq!(patch.status.code(), Some(1));
    assert!(text(&patch.stdout).contains("new file mode 100644\n--- /dev/null\n+++ b/.dockerignore\n"), "{}", text(&patch.stdout));
    let out = slimfile(d.path(), &["fix", "--unsafe-fixes", "--select", "SF006"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = fs::read_to_string(d.path().join(".dockerignore")).unwrap();
    assert!(written.contains("tests") && !written.contains("*.md"), "{written}"); // npm builds: documents may be read
    assert!(!written.contains("server.js") && !written.contains("package.json"));
    // Nothing more to do the second time.
    assert_eq!(slimfile(d.path(), &["fix", "--dry-run", "--unsafe-fixes", "--select", "SF006"]).status.code(), Some(0));
    let bad = slimfile(d.path(), &["explain", "missing/Dockerfile"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn config_adds_a_companys_own_base_images() {
    let cfg: &[u8] = br#"select = ["SF003"]

[[base-image]]
name = "registry.example.com/acme/python"
role = "runtime"
what = "ACME's Python with build tools"
versions = []
suites = []
provides = ["python", "python3", "pip"]
size = "unknown"
measured = "registry.example.com/acme/python:3.12"
source = "ACME platform team"
date = "2026-11-01"
libc = "glibc"
shell = "bash"
package_manager = "apt"

[[base-image.candidate]]
tag = "{version}-runtime"
family = "same"
checks = "debian-slim"
level = "suggestion"
lacks = "compilers and headers"
size = "unknown"
measured = "registry.example.com/acme/python:3.12-runtime"
source = "ACME platform team"
date = "2026-11-01"
libc = "glibc"
shell = "bash"
package_manager = "apt"
"#;
    let d = repo(&[("slimfile.toml", cfg), ("Dockerfile", b"FROM registry.example.com/acme/python:3.12\nCMD [\"python\", \"-V\"]\n")]);
    let out = slimfile(d.path(), &["check", "--format", "concise"]);
    let shown = text(&out.stdout);
    assert!(shown.contains("SF003") && shown.contains("registry.example.com/acme/python:3.12-runtime"), "{shown}{}", text(&out.stderr));
    // A bad entry is an error naming the file and line.
    fs::write(d.path().join("slimfile.toml"), "[[base-image]]\nname = \"x\"\n").unwrap();
    let bad = slimfile(d.path(), &["check"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("slimfile.toml:1: base-image entry 1: missing field"), "{}", text(&bad.stderr));
}

#[test]
fn findings_say_what_they_save() {
    let d = repo(&[(
        "Dockerfile",
        b"FROM python:3.12\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nCMD [\"python\", \"-V\"]\n",
    )]);
    let out = slimfile(d.path(), &["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["files"][0]["findings"].as_array().unwrap();
    let saves = |code: &str| findings.iter().find(|f| f["code"] == code).and_then(|f| f["saves_bytes"].as_u64());
    assert_eq!(saves("SF002"), Some(19_879_424), "apt's measured lists");
    assert!(saves("SF003").is_some_and(|b| b > 900_000_000), "python:3.12 -> -slim: {:?}", saves("SF003"));
    let concise = text(&slimfile(d.path(), &["check", "--format", "concise", "--select", "SF002"]).stdout);
    assert!(concise.contains("(saves ~19.9 MB)"), "{concise}");
}

#[test]
fn columns_skip_the_bom_and_sarif_uris_are_encoded() {
    let d = repo(&[("my dir/Dockerfile", "\u{feff}FROM debian:bookworm\nRUN echo hi\n".as_bytes())]);
    let concise = text(&slimfile(d.path(), &["check", "--format", "concise", "--select", "SF003"]).stdout);
    assert!(concise.starts_with("my dir/Dockerfile:1:6: SF003"), "{concise}");
    let v: serde_json::Value =
        serde_json::from_slice(&slimfile(d.path(), &["check", "--format", "sarif", "--select", "SF003"]).stdout).unwrap();
    let r = &v["runs"][0]["results"][0];
    assert_eq!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "my%20dir/Dockerfile");
    assert_eq!(r["locations"][0]["physicalLocation"]["region"]["startColumn"], 6);
    assert_eq!(r["fixes"][0]["artifactChanges"][0]["replacements"][0]["deletedRegion"]["startColumn"], 13);
}
