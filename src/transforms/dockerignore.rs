//! SF006 dockerignore: a `COPY . .` that sends files the image does not
//! need, and the `.dockerignore` lines that keep them out.
//!
//! The candidates (what, and when not) are data: the `[[ignore]]` entries
//! of `transforms/layer_waste.toml`. This module also holds the
//! `.dockerignore` matcher the other context readers use.

use super::layer_waste::{dir_size, human, IgnoreEntry, TABLE};
use super::Transform;
use crate::context::Context;
use crate::fix::Finding;
use crate::syntax::Form;
use globset::{Glob, GlobBuilder, GlobMatcher};
use std::path::{Path, PathBuf};

pub struct Dockerignore;

const DOCS: &str = r#"# SF006 dockerignore

## What it does
When a `COPY . .` or `ADD . .` (any destination) sends the whole build
context into the image and the context holds files the image does not need
that no `.dockerignore` line covers, it proposes the lines that keep them
out: `.git`, documents (`**/*.md`, `**/*.pdf`, `**/*.txt`), test folders
(`tests`, `test`, `spec`, `__tests__`), local build output (`target`,
`node_modules`, `**/__pycache__`, `**/*.pyc`) and a local `.venv`, each
with how many files and bytes it holds. The candidates and their
conditions are data: the `[[ignore]]` entries of
`transforms/layer_waste.toml`.

The proposal is a new `.dockerignore` in the build context, or lines
appended to the existing one (its lines are kept byte for byte). It is a
suggestion: `slimfile check` reports it, and `slimfile fix --unsafe-fixes`
writes the file.

## Why
Every byte of the context that `COPY . .` takes ships in that layer, and
any change to such a file (a commit changes `.git`) invalidates the build
cache from that COPY on. `.git` alone is often larger than the program.

## Example
A context with `.git` (3 MB), `README.md`, `docs/guide.pdf` and
`app.py`, and `COPY . /app`: slimfile proposes
```
.git
**/*.md
**/*.pdf
```

## When it is not applied
- Only with a readable build context (the CLI passes the Dockerfile's
  directory, or `--context DIR`).
- A path the Dockerfile names is never ignored: a COPY source
  (`COPY docs/manual.pdf /srv/` keeps that PDF: the other PDFs are then
  listed one by one, with no `!` exception), or a word of a RUN, CMD,
  ENTRYPOINT, ENV... (`pip install -r requirements.txt`,
  `CMD ["./target/release/app"]`); nor a file a project manifest
  (`pyproject.toml`, `setup.py`, `package.json`, `Cargo.toml`...) names, as
  `readme = "README.md"` does; nor build and licence files such as
  `CMakeLists.txt`, `requirements*.txt`, `LICENSE*`.
- `.git` stays when a RUN runs git or the project versions itself from git
  (setuptools-scm, hatch-vcs, versioneer); tests stay when a RUN runs them
  (`pytest`, `go test`, `npm test`, `make check`...); `target` and
  `node_modules` are proposed only when the Dockerfile rebuilds them
  (`cargo`, `mvn`, `npm`, `yarn`...), so an image built from them keeps
  them.
- Paths an existing `.dockerignore` already covers (its `!` exceptions
  honoured) are not proposed again. A Dockerfile-specific
  `<name>.dockerignore` is not read.
"#;

// ------------------------------------------------------------------ matcher

/// The patterns of a `.dockerignore`, matched as BuildKit does: relative to
/// the context root, `**` for any depth, `!` for exceptions, the last
/// matching line wins, and a pattern that matches a directory matches
/// everything in it.
#[derive(Debug, Default, Clone)]
pub struct IgnoreRules {
    rules: Vec<(GlobMatcher, bool)>,
}

impl IgnoreRules {
    /// The rules of `dir/.dockerignore` (none when it is missing).
    pub fn load(dir: &Path) -> IgnoreRules {
        std::fs::read_to_string(dir.join(".dockerignore")).map(|t| IgnoreRules::parse(&t)).unwrap_or_default()
    }

    pub fn parse(text: &str) -> IgnoreRules {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, pat) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let pat = clean(pat);
            if pat.is_empty() || pat == "." {
                continue;
            }
            if let Ok(g) = GlobBuilder::new(&pat).literal_separator(true).build() {
                rules.push((g.compile_matcher(), negate));
            }
        }
        IgnoreRules { rules }
    }

    /// True when the path (relative to the context root, `/`-separated) is
    /// left out of the context.
    pub fn is_ignored(&self, rel: &str) -> bool {
        let rel = clean(rel);
        let mut ignored = false;
        for (m, negate) in &self.rules {
            if matches_or_parent(m, &rel) {
                ignored = !negate;
            }
        }
        ignored
    }
}

fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

fn matches_or_parent(m: &GlobMatcher, rel: &str) -> bool {
    if m.is_match(rel) {
        return true;
    }
    let mut cur = rel;
    while let Some(i) = cur.rfind('/') {
        cur = &cur[..i];
        if m.is_match(cur) {
            return true;
        }
    }
    false
}

// ------------------------------------------------------------------ proposal

/// One proposed line with what it keeps out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub pattern: String,
    pub what: String,
    pub paths: usize,
    pub bytes: u64,
}

/// What the Dockerfile says about the context: the instruction that
/// copies all of it, the paths it names, the commands and words its RUNs
/// use.
struct Facts {
    whole_copy: Option<usize>,
    sources: Vec<String>,
    tokens: Vec<String>,
    commands: Vec<String>,
}

fn facts(ctx: &Context) -> Facts {
    let mut f = Facts { whole_copy: None, sources: Vec::new(), tokens: Vec::new(), commands: Vec::new() };
    for (n, ins) in ctx.doc.instructions() {
        if (ins.is("COPY") || ins.is("ADD")) && ins.flag("from").is_none() {
            let words: Vec<String> = match ins.form() {
                Form::Exec(v) => v,
                Form::Shell => ins.args.split_whitespace().map(crate::syntax::unquote).collect(),
            };
            if words.len() >= 2 {
                for s in &words[..words.len() - 1] {
                    let c = clean(s);
                    if c.is_empty() {
                        if f.whole_copy.is_none() && ins.heredocs.is_empty() {
                            f.whole_copy = Some(n);
                        }
                    } else {
                        f.sources.push(c);
                    }
                }
            }
            continue;
        }
        if ins.is("RUN") {
            if let Some(script) = ctx.script(n) {
                for cmd in script.command_list() {
                    if let Some((name, _)) = cmd.effective() {
                        f.commands.push(name.to_string());
                    }
                    for w in &cmd.words {
                        if let Some(l) = &w.literal {
                            f.tokens.push(l.clone());
                        }
                    }
                }
                continue;
            }
        }
        let text = &ctx.doc.text()[ins.range.clone()];
        for t in text.split(|c: char| c.is_whitespace() || "\"'[],;&|()=:`".contains(c)) {
            if !t.is_empty() {
                f.tokens.push(t.to_string());
                f.commands.push(t.rsplit('/').next().unwrap_or(t).to_string());
            }
        }
    }
    f
}

impl Facts {
    /// True when the Dockerfile names `rel` (or something inside it, or a
    /// directory above it).
    fn names(&self, rel: &str, is_dir: bool) -> bool {
        let within = |p: &str, dir: &str| p == dir || p.strip_prefix(dir).is_some_and(|r| r.starts_with('/'));
        if self.sources.iter().any(|s| within(rel, s) || within(s, rel)) {
            return true;
        }
        let base = rel.rsplit('/').next().unwrap_or(rel);
        self.tokens.iter().any(|t| {
            let t = t.trim_start_matches("./");
            t == rel
                || t.ends_with(&format!("/{rel}"))
                || t.starts_with(&format!("{rel}/"))
                || t.contains(&format!("/{rel}/"))
                || (!is_dir && t == base)
        })
    }
}

/// Files and directories of the context (not inside directories the
/// existing rules ignore, and not inside the big ones proposed whole).
fn walk(root: &Path, rel: &str, rules: &IgnoreRules, out: &mut Vec<(String, bool)>, budget: &mut usize) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let name = e.file_name().to_string_lossy().to_string();
        let child = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        if rules.is_ignored(&child) {
            continue;
        }
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            out.push((child.clone(), true));
            if !matches!(name.as_str(), ".git" | "node_modules" | "target" | ".venv" | "venv" | "__pycache__") {
                walk(root, &child, rules, out, budget);
            }
        } else if ft.is_file() {
            out.push((child, false));
        }
    }
}

fn manifests(root: &Path) -> String {
    let mut s = String::new();
    for m in ["pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in", "package.json", "Cargo.toml", "pom.xml", "build.gradle", "go.mod"] {
        if let Ok(t) = std::fs::read_to_string(root.join(m)) {
            s.push_str(&t);
            s.push('\n');
        }
    }
    s
}

fn glob_match(pattern: &str, s: &str) -> bool {
    Glob::new(pattern).map(|g| g.compile_matcher().is_match(s)).unwrap_or(false)
}

/// The lines SF006 proposes for the build context of `ctx`, with the
/// instruction that copies it whole; `None` when there is nothing to
/// propose.
pub fn proposal(ctx: &Context) -> Option<(usize, Vec<Line>)> {
    let root = ctx.build_context.as_ref()?;
    if !root.is_dir() {
        return None;
    }
    let f = facts(ctx);
    let node = f.whole_copy?;
    let rules = IgnoreRules::load(root);
    let mut entries = Vec::new();
    let mut budget = 50_000;
    walk(root, "", &rules, &mut entries, &mut budget);
    let manifest = manifests(root);
    let mut lines = Vec::new();
    let mut taken_dirs: Vec<String> = Vec::new();
    for entry in &TABLE.ignore {
        if entry_blocked(entry, &f, &manifest, root) {
            continue;
        }
        let Ok(g) = GlobBuilder::new(&entry.pattern).literal_separator(true).build() else { continue };
        let m = g.compile_matcher();
        let inside_taken = |rel: &str| taken_dirs.iter().any(|d| rel.starts_with(&format!("{d}/")));
        let matched: Vec<&(String, bool)> = entries
            .iter()
            .filter(|(rel, _)| m.is_match(rel) && !inside_taken(rel))
            // Only the outermost match (a matched directory covers its files).
            .collect();
        let matched: Vec<&(String, bool)> =
            matched.iter().copied().filter(|(rel, _)| !matched.iter().any(|(o, d)| *d && rel.starts_with(&format!("{o}/")))).collect();
        if matched.is_empty() {
            continue;
        }
        let kept = |rel: &str, is_dir: bool| {
            let base = rel.rsplit('/').next().unwrap_or(rel);
            f.names(rel, is_dir)
                || entry.keep.iter().any(|k| glob_match(k, base))
                || (!is_dir && manifest.contains(base))
                || rel == ".dockerignore"
        };
        let free: Vec<&(String, bool)> = matched.iter().copied().filter(|(rel, d)| !kept(rel, *d)).collect();
        if free.is_empty() {
            continue;
        }
        let size = |rel: &str, is_dir: bool| {
            if is_dir {
                dir_size(root, rel, &rules)
            } else {
                std::fs::metadata(root.join(rel)).map(|m| m.len()).unwrap_or(0)
            }
        };
        if free.len() == matched.len() {
            let bytes = free.iter().map(|(r, d)| size(r, *d)).sum();
            lines.push(Line { pattern: entry.pattern.clone(), what: entry.what.clone(), paths: free.len(), bytes });
        } else if free.len() <= 10 {
            for (r, d) in &free {
                lines.push(Line { pattern: r.clone(), what: entry.what.clone(), paths: 1, bytes: size(r, *d) });
            }
        } else {
            continue;
        }
        taken_dirs.extend(free.iter().filter(|(_, d)| *d).map(|(r, _)| r.clone()));
    }
    if lines.is_empty() {
        return None;
    }
    Some((node, lines))
}

fn entry_blocked(entry: &IgnoreEntry, f: &Facts, manifest: &str, root: &Path) -> bool {
    let runs = |list: &[String]| list.iter().any(|c| f.commands.iter().any(|x| x == c));
    if runs(&entry.unless_commands) {
        return true;
    }
    if entry.unless_words.iter().any(|w| f.tokens.iter().any(|t| t == w)) {
        return true;
    }
    if entry.unless_manifest.iter().any(|w| manifest.contains(w.as_str())) {
        return true;
    }
    if !entry.only_with_commands.is_empty() && !runs(&entry.only_with_commands) {
        return true;
    }
    if !entry.only_with_files.is_empty() && !entry.only_with_files.iter().any(|p| root.join(p).is_file()) {
        return true;
    }
    false
}

/// The `.dockerignore` path of the build context and its proposed full
/// content (the existing lines kept byte for byte, new lines appended), or
/// `None` when SF006 proposes nothing.
pub fn proposed_dockerignore(ctx: &Context) -> Option<(PathBuf, String)> {
    let (_, lines) = proposal(ctx)?;
    let path = ctx.build_context.as_ref()?.join(".dockerignore");
    let mut content = std::fs::read_to_string(&path).unwrap_or_default();
    if !content.is_empty() && !content.ends_with('\n') {
        content.push('\n');
    }
    content.push_str("# Added by slimfile (SF006): not needed in the image\n");
    for l in &lines {
        content.push_str(&l.pattern);
        content.push('\n');
    }
    Some((path, content))
}

impl Transform for Dockerignore {
    fn code(&self) -> &'static str {
        "SF006"
    }
    fn name(&self) -> &'static str {
        "dockerignore"
    }
    fn summary(&self) -> &'static str {
        "Propose .dockerignore lines for a `COPY . .` that sends .git, docs, tests or local build output into the image"
    }
    fn hadolint(&self) -> &'static [&'static str] {
        &[]
    }
    fn docs(&self) -> &'static str {
        DOCS
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let Some((node, lines)) = proposal(ctx) else { return Vec::new() };
        let ins = ctx.instruction(node).expect("an instruction");
        let exists = ctx.build_context.as_ref().is_some_and(|d| d.join(".dockerignore").is_file());
        let total: u64 = lines.iter().map(|l| l.bytes).sum();
        let list: Vec<String> = lines
            .iter()
            .map(|l| {
                let n = if l.paths == 1 { String::new() } else { format!("{} paths, ", l.paths) };
                format!("`{}` ({}; {n}{})", l.pattern, l.what, human(l.bytes))
            })
            .collect();
        let how = if exists { "add to the existing .dockerignore" } else { "create a .dockerignore with" };
        let message = format!(
            "`{}` sends the whole build context, with {} the image does not need: {how} {} (written by `fix --unsafe-fixes`)",
            ctx.doc.text()[ins.range.start..ins.line_end].lines().next().unwrap_or("").trim(),
            human(total),
            list.join(", ")
        );
        vec![Finding::new(ctx, self, ins.range.start..ins.line_end, message, None)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_follows_buildkit() {
        let r = IgnoreRules::parse("# c\n.git\n**/*.md\n!README.md\n/build/\ndocs\n");
        assert!(r.is_ignored(".git/config"));
        assert!(r.is_ignored("a/b/x.md"));
        assert!(!r.is_ignored("README.md"));
        assert!(r.is_ignored("build/out.o"));
        assert!(r.is_ignored("docs/a/b.pdf"));
        assert!(!r.is_ignored("src/main.rs"));
        let r = IgnoreRules::parse("*.md\n");
        assert!(r.is_ignored("x.md"));
        assert!(!r.is_ignored("a/x.md"));
    }
}
