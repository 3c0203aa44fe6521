//! What transforms know about a document beyond its syntax: stages, the
//! shell in force at each instruction, parsed RUN bodies and ignore pragmas.

use crate::shell::Script;
use crate::syntax::{Document, Form, Instruction, NodeKind};
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// Parsed shell bodies by text, shared by the rounds of one fix so that a
/// body is parsed once however often it is looked at.
#[derive(Default)]
pub struct ScriptCache(RefCell<HashMap<String, Option<Rc<Script>>>>);

impl ScriptCache {
    pub fn parse(&self, src: &str) -> Option<Rc<Script>> {
        if let Some(hit) = self.0.borrow().get(src) {
            return hit.clone();
        }
        let parsed = Script::parse(src).map(Rc::new);
        self.0.borrow_mut().insert(src.to_string(), parsed.clone());
        parsed
    }
}

/// How SF002 keeps caches out of layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStyle {
    /// Delete the cache (or never write it) in the same RUN.
    #[default]
    Delete,
    /// Keep it in a BuildKit cache mount (`RUN --mount=type=cache`), which
    /// also speeds up rebuilds.
    Mount,
}

/// The shell that runs a RUN body in shell form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellKind {
    /// `/bin/sh -c` or another POSIX shell. `errexit`: `Some(true)` when it
    /// runs with `-e`, `Some(false)` when known not to, `None` when the
    /// base image is one whose own SHELL we cannot see.
    Posix { errexit: Option<bool> },
    /// PowerShell, cmd, or a Windows base image's default shell.
    Other(String),
}

/// One build stage: its FROM node and the nodes up to the next FROM.
#[derive(Debug, Clone)]
pub struct Stage {
    pub from_node: usize,
    /// One past the last node of the stage.
    pub end_node: usize,
    /// The image reference after FROM, lower-cased, as written.
    pub image: String,
    /// The `AS name`, lower-cased.
    pub name: Option<String>,
}

pub struct Context<'a> {
    pub doc: &'a Document,
    /// Honour ignore comments (`--no-ignore-comments` turns this off).
    pub honour_ignores: bool,
    /// The build context directory, when known and readable.
    pub build_context: Option<std::path::PathBuf>,
    /// How caches are kept out of layers.
    pub cache_style: CacheStyle,
    /// `[[base-image]]` entries from a config file, for SF003.
    pub extra_base_images: Vec<toml::Table>,
    pub stages: Vec<Stage>,
    cache: Rc<ScriptCache>,
    scripts: Vec<OnceCell<Option<Rc<Script>>>>,
    shells: Vec<ShellKind>,
    global_ignores: Vec<String>,
}

impl<'a> Context<'a> {
    pub fn new(doc: &'a Document) -> Self {
        Self::with_cache(doc, Rc::default())
    }

    pub fn with_cache(doc: &'a Document, cache: Rc<ScriptCache>) -> Self {
        let mut stages: Vec<Stage> = Vec::new();
        let mut shells = Vec::with_capacity(doc.nodes.len());
        let windowsish = looks_windows(doc);
        let mut current = ShellKind::Posix { errexit: None };
        let mut global_args: Vec<(String, String)> = Vec::new();
        // Stage names and the shell each one ended with, so that
        // `FROM <stage>` inherits it.
        let mut named: Vec<(String, ShellKind)> = Vec::new();
        let mut current_name: Option<String> = None;
        for (i, n) in doc.nodes.iter().enumerate() {
            if let NodeKind::Instruction(ins) = &n.kind {
                if ins.is("FROM") {
                    if let Some(last) = stages.last_mut() {
                        last.end_node = i;
                    }
                    if let Some(name) = current_name.take() {
                        named.push((name, current.clone()));
                    }
                    let words: Vec<String> = ins.args.split_whitespace().map(|w| w.to_ascii_lowercase()).collect();
                    let image = words.first().cloned().unwrap_or_default();
                    if words.len() >= 3 && words[words.len() - 2] == "as" {
                        current_name = words.last().cloned();
                    }
                    stages.push(Stage { from_node: i, end_node: doc.nodes.len(), image: image.clone(), name: current_name.clone() });
                    let resolved = resolve_args(&image, &global_args);
                    current = match resolved.as_deref() {
                        Some(img) if named.iter().any(|(n, _)| n == img) => {
                            named.iter().rev().find(|(n, _)| n == img).map(|(_, sh)| sh.clone()).expect("found above")
                        }
                        Some(img) if is_windows_image(img) => ShellKind::Other("cmd (Windows base image)".into()),
                        Some("scratch") => ShellKind::Posix { errexit: Some(false) },
                        _ if windowsish == Windowsish::Content => ShellKind::Other("cmd (a Windows Dockerfile)".into()),
                        // Docker's official Linux images set no SHELL.
                        Some(img) if is_official_image(img) => ShellKind::Posix { errexit: Some(false) },
                        _ if windowsish == Windowsish::Escape => ShellKind::Other("cmd (a Windows Dockerfile)".into()),
                        _ => ShellKind::Posix { errexit: None },
                    };
                } else if ins.is("SHELL") {
                    current = shell_kind(ins);
                } else if ins.is("ARG") && stages.is_empty() {
                    global_args.extend(env_pairs(&ins.args));
                }
            }
            shells.push(current.clone());
        }
        let mut global_ignores = Vec::new();
        for c in doc.leading_comments() {
            if let Some(list) = pragma(c, true) {
                global_ignores.extend(list);
            }
        }
        Context {
            doc,
            honour_ignores: true,
            build_context: None,
            cache_style: CacheStyle::Delete,
            extra_base_images: Vec::new(),
            stages,
            cache,
            scripts: (0..doc.nodes.len()).map(|_| OnceCell::new()).collect(),
            shells,
            global_ignores,
        }
    }

    pub fn instruction(&self, node: usize) -> Option<&'a Instruction> {
        match &self.doc.nodes.get(node)?.kind {
            NodeKind::Instruction(i) => Some(i),
            _ => None,
        }
    }

    /// Index of the stage that holds `node` (`None` before the first FROM).
    pub fn stage_of(&self, node: usize) -> Option<usize> {
        self.stages.iter().rposition(|s| s.from_node <= node)
    }

    /// True when `stage` is the last one (the stage that ships by default).
    pub fn is_final_stage(&self, stage: usize) -> bool {
        stage + 1 == self.stages.len()
    }

    /// Stages built `FROM` the given one, directly or through others.
    pub fn derived_stages(&self, stage: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut names: Vec<String> = self.stages[stage].name.iter().cloned().collect();
        for (i, s) in self.stages.iter().enumerate().skip(stage + 1) {
            if names.contains(&s.image) {
                out.push(i);
                names.extend(s.name.iter().cloned());
            }
        }
        out
    }

    /// Environment variables set by ENV or ARG in the stage of `node`
    /// before it (names only; values as written).
    pub fn env_before(&self, node: usize) -> Vec<(String, String)> {
        let Some(st) = self.stage_of(node) else { return Vec::new() };
        let mut out = Vec::new();
        for n in self.stages[st].from_node..node {
            if let Some(ins) = self.instruction(n) {
                if ins.is("ENV") || ins.is("ARG") {
                    out.extend(env_pairs(&ins.args));
                }
            }
        }
        out
    }

    /// The text of a file in the build context (`rel` relative to its
    /// root), when the context is known and the file is readable UTF-8 of
    /// at most 1 MiB and does not lead outside the context.
    pub fn build_file(&self, rel: &str) -> Option<String> {
        let root = self.build_context.as_ref()?;
        let rel = rel.trim_start_matches("./");
        if rel.split('/').any(|c| c == "..") || rel.starts_with('/') {
            return None;
        }
        let path = root.join(rel);
        let real = std::fs::canonicalize(&path).ok()?;
        if !real.starts_with(std::fs::canonicalize(root).ok()?) {
            return None;
        }
        let meta = std::fs::metadata(&real).ok()?;
        if !meta.is_file() || meta.len() > 1 << 20 {
            return None;
        }
        std::fs::read_to_string(&real).ok()
    }

    /// The shell that runs the RUN at `node`.
    pub fn shell(&self, node: usize) -> &ShellKind {
        &self.shells[node]
    }

    /// The parsed shell body of a shell-form RUN without heredocs, run by a
    /// POSIX shell. `None` when any of that does not hold or the body does
    /// not parse.
    pub fn script(&self, node: usize) -> Option<&Script> {
        self.scripts[node]
            .get_or_init(|| {
                let ins = self.instruction(node)?;
                if !ins.is("RUN") || !ins.heredocs.is_empty() || ins.form() != Form::Shell {
                    return None;
                }
                if !matches!(self.shell(node), ShellKind::Posix { .. }) {
                    return None;
                }
                self.cache.parse(&ins.args)
            })
            .as_deref()
    }

    /// Parses shell text through the shared cache.
    pub fn parse_shell(&self, src: &str) -> Option<Rc<Script>> {
        self.cache.parse(src)
    }

    /// True when `# slimfile ignore=...` / `# hadolint ignore=...` on the
    /// comment lines right above `node`, or a `global ignore` before the
    /// first instruction, names the rule.
    pub fn ignored(&self, node: usize, code: &str, name: &str, hadolint: &[&str]) -> bool {
        if !self.honour_ignores {
            return false;
        }
        let hit = |list: &[String]| {
            list.iter().any(|r| r.eq_ignore_ascii_case(code) || r == name || hadolint.iter().any(|h| r.eq_ignore_ascii_case(h)))
        };
        if hit(&self.global_ignores) {
            return true;
        }
        self.doc.comments_before(node).any(|c| pragma(c, false).is_some_and(|l| hit(&l)))
    }
}

/// `KEY=value KEY2="v 2"` pairs of an ENV or ARG, or the legacy
/// `ENV KEY value` form. An ARG without a default gives an empty value.
pub fn env_pairs(args: &str) -> Vec<(String, String)> {
    let args = args.trim();
    let first = args.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        let value = args[first.len()..].trim().to_string();
        return if first.is_empty() { Vec::new() } else { vec![(first.to_string(), value)] };
    }
    let mut out = Vec::new();
    let mut rest = args;
    while !rest.is_empty() {
        let end = crate::syntax::word_end(rest, 0);
        let word = &rest[..end];
        match word.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), crate::syntax::unquote(v))),
            None => out.push((word.to_string(), String::new())),
        }
        rest = rest[end..].trim_start();
    }
    out
}

/// Windows base images run RUN with `cmd` unless SHELL says otherwise.
fn is_windows_image(image: &str) -> bool {
    [
        "windows",
        "nanoserver",
        "servercore",
        "ltsc20",
        ":1809",
        "-1809",
        "microsoft/iis",
        "microsoft/aspnet",
        "microsoft/dotnet-framework",
        "dotnet/framework",
        "microsoft/mssql-server-windows",
    ]
    .iter()
    .any(|w| image.contains(w))
}

/// An image of Docker's official library (`debian`, `python:3.12`,
/// `docker.io/library/node`): they set no SHELL.
fn is_official_image(image: &str) -> bool {
    let name = image.split(['@']).next().unwrap_or(image);
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    let name = name.strip_prefix("library/").unwrap_or(name);
    !name.contains('/') && !name.contains('$') && !name.is_empty()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Windowsish {
    No,
    /// Only the backtick escape character hints at Windows.
    Escape,
    /// RUN or SHELL bodies with drive paths or PowerShell/cmd calls.
    Content,
}

/// How much a Dockerfile looks written for Windows.
fn looks_windows(doc: &Document) -> Windowsish {
    let content = doc.instructions().any(|(_, i)| {
        (i.is("RUN") || i.is("SHELL")) && {
            let a = i.args.trim_start().trim_start_matches(['[', '"']).to_ascii_lowercase();
            a.starts_with("powershell")
                || a.starts_with("pwsh")
                || a.starts_with("cmd ")
                || a.starts_with("cmd.exe")
                || has_drive_path(&i.args)
        }
    });
    match (content, doc.escape == '`') {
        (true, _) => Windowsish::Content,
        (false, true) => Windowsish::Escape,
        (false, false) => Windowsish::No,
    }
}

fn has_drive_path(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3)
        .enumerate()
        .any(|(k, w)| w[0].is_ascii_alphabetic() && w[1] == b':' && w[2] == b'\\' && (k == 0 || !b[k - 1].is_ascii_alphanumeric()))
}

/// `image` with `$NAME`, `${NAME}` and `${NAME:-default}` replaced from the
/// ARGs before the first FROM; `None` when one is unknown.
pub fn resolve_args(image: &str, args: &[(String, String)]) -> Option<String> {
    if !image.contains('$') {
        return Some(image.to_string());
    }
    let lookup =
        |name: &str| args.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let mut out = String::new();
    let mut rest = image;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(body) = rest.strip_prefix('{') {
            let end = body.find('}')?;
            let inner = &body[..end];
            let value = match inner.split_once(":-").or_else(|| inner.split_once('-')) {
                Some((name, default)) => lookup(name).unwrap_or_else(|| default.to_string()),
                None => lookup(inner)?,
            };
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            let n = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
            out.push_str(&lookup(&rest[..n])?);
            rest = &rest[n..];
        }
    }
    out.push_str(rest);
    Some(out.to_ascii_lowercase())
}

/// The rule list of an ignore pragma comment.
fn pragma(comment: &str, global: bool) -> Option<Vec<String>> {
    let body = comment.trim_start_matches('#').trim();
    let rest = body.strip_prefix("slimfile").or_else(|| body.strip_prefix("hadolint"))?.trim_start();
    let rest = if global { rest.strip_prefix("global")?.trim_start() } else { rest };
    let list = rest.strip_prefix("ignore")?.trim_start().strip_prefix('=')?;
    Some(list.split([',', ' ']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}

fn shell_kind(ins: &Instruction) -> ShellKind {
    let Form::Exec(argv) = ins.form() else {
        return ShellKind::Other("a SHELL that is not in JSON form".into());
    };
    let Some(prog) = argv.first() else {
        return ShellKind::Other("an empty SHELL".into());
    };
    let base = prog.rsplit(['/', '\\']).next().unwrap_or(prog).to_ascii_lowercase();
    let base = base.trim_end_matches(".exe");
    if !matches!(base, "sh" | "bash" | "dash" | "ash" | "ksh" | "mksh" | "zsh" | "busybox") {
        return ShellKind::Other(format!("the SHELL `{prog}`"));
    }
    let mut errexit = false;
    // (the SHELL is in this Dockerfile, so whether it has -e is known)
    let mut it = argv[1..].iter().peekable();
    while let Some(a) = it.next() {
        if a == "-o" || a == "+o" {
            if it.next().is_some_and(|o| o == "errexit") && a == "-o" {
                errexit = true;
            }
        } else if a.starts_with('-') && !a.starts_with("--") && a.contains('e') {
            errexit = true;
        }
    }
    ShellKind::Posix { errexit: Some(errexit) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_and_pragmas() {
        let d = Document::parse("# hadolint global ignore=DL3008\nFROM debian\nSHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\n# slimfile ignore=SF001\nRUN a\nSHELL [\"pwsh\", \"-c\"]\nRUN b\n").unwrap();
        let c = Context::new(&d);
        let runs: Vec<usize> = d.instructions().filter(|(_, i)| i.is("RUN")).map(|(n, _)| n).collect();
        assert_eq!(c.shell(runs[0]), &ShellKind::Posix { errexit: Some(true) });
        assert!(matches!(c.shell(runs[1]), ShellKind::Other(_)));
        assert!(c.ignored(runs[0], "SF001", "merge-runs", &[]));
        assert!(!c.ignored(runs[1], "SF001", "merge-runs", &[]));
        assert!(c.ignored(runs[1], "SF002", "cache-cleanup", &["DL3008"]));
        assert!(c.script(runs[1]).is_none());
        assert_eq!(env_pairs("A=1 B=\"x y\" C"), vec![("A".into(), "1".into()), ("B".into(), "x y".into()), ("C".into(), String::new())]);
        assert_eq!(env_pairs("PATH /a b"), vec![("PATH".into(), "/a b".into())]);
        let shell_of = |src: &str| {
            let d = Document::parse(src).unwrap();
            let c = Context::new(&d);
            let run = d.instructions().filter(|(_, i)| i.is("RUN")).map(|(n, _)| n).last().unwrap();
            c.shell(run).clone()
        };
        assert_eq!(shell_of("FROM debian:bookworm\nRUN a\n"), ShellKind::Posix { errexit: Some(false) });
        assert_eq!(shell_of("FROM ghcr.io/acme/base\nRUN a\n"), ShellKind::Posix { errexit: None });
        assert_eq!(shell_of("ARG B=python:3.12\nFROM ${B}\nRUN a\n"), ShellKind::Posix { errexit: Some(false) });
        assert_eq!(shell_of("ARG B\nFROM $B\nRUN a\n"), ShellKind::Posix { errexit: None });
        assert!(matches!(shell_of("FROM microsoft/iis\nRUN cd C:\\inetpub\n"), ShellKind::Other(_)));
        assert!(matches!(shell_of("FROM mcr.microsoft.com/dotnet/framework/sdk:4.8\nRUN a\n"), ShellKind::Other(_)));
        assert!(matches!(shell_of("FROM $BASE\nRUN mkdir C:\\app\n"), ShellKind::Other(_)));
        assert_eq!(
            shell_of("ARG B=base\nFROM debian AS base\nSHELL [\"/bin/bash\", \"-e\", \"-c\"]\nFROM ${B}\nRUN a\n"),
            ShellKind::Posix { errexit: Some(true) }
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
        let mut c = Context::new(&d);
        assert_eq!(c.build_file("Cargo.toml"), None);
        c.build_context = Some(dir.path().to_path_buf());
        assert!(c.build_file("./Cargo.toml").unwrap().contains("name = \"x\""));
        assert_eq!(c.build_file("../etc/passwd"), None);
        assert_eq!(c.build_file("missing"), None);
    }
}
