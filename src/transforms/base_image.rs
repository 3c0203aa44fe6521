//! SF003 base-image: smaller base images, with what each saves.
//!
//! The data (images, their smaller variants, sizes with their sources,
//! end-of-life dates, what each variant lacks) lives in
//! `transforms/base_images.toml`; this file reads each FROM, decides which
//! smaller variant fits and whether the stage still works on it, and edits
//! only the tag (or the ARG default the tag comes from).

use super::Transform;
use crate::context::{Context, ShellKind};
use crate::fix::{Edit, Finding, Fix, Level};
use crate::syntax::{Form, Instruction, NodeKind};
use serde::Deserialize;
use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

pub struct BaseImage;

const DOCS: &str = r#"# SF003 base-image

## What it does
Reads every FROM and, when the image is a common official one with a
smaller variant of the same version, proposes that variant and says what it
saves: `python:3.12 (~1.11 GB) -> python:3.12-slim (~119.2 MB)`. The table
of images, variants, sizes (each with its source and date; "unknown" when
none could be sourced) and end-of-life dates is `transforms/base_images.toml`.
Tag words are kept: `python:3.12-bookworm` becomes `python:3.12-slim-bookworm`,
`node:20-bookworm` becomes `node:20-bookworm-slim`, `php:8.3-fpm` is offered
`php:8.3-fpm-alpine`. `--platform`, `AS name` and everything else on the line
stay as they are: the fix replaces the tag and nothing else.

It also reports:
- an end-of-life image (CentOS 5 to 8 and `centos:latest`, Python 2 and
  3.0 to 3.9, Node.js up to 21 and 23, Ruby up to 3.1, PHP up to 8.1,
  Debian up to 11, Ubuntu LTS up to 20.04, the deprecated `openjdk`), in any
  stage;
- a toolchain image (golang, rust, gcc, maven, gradle, the .NET SDK,
  buildpack-deps) in the stage that ships: build in one stage and copy the
  result into a small runtime stage (the multi-stage split, SF004);
- a JDK image that ships where a JRE would do (`eclipse-temurin:21-jdk` to
  `eclipse-temurin:21-jre`);
- an image without a version tag (`latest`) or pinned by digest: reported
  with the smaller variant, never edited.

## Why
The base is usually most of an image. `FROM centos` gave a 231 MB image for
a `CMD` that `FROM alpine` ran in 7 MB. The full `python`, `node` and `ruby`
images carry compilers, headers, git and curl (~1.1 GB); their `-slim`
variants (120 to 230 MB) carry the interpreter and a minimal Debian.

## Example
```dockerfile
FROM python:3.12
COPY app.py /app/
CMD ["python", "/app/app.py"]
```
becomes `FROM python:3.12-slim` (safe: the stage runs nothing `-slim`
lacks).

## When it is applied, and at which level
Only the stages that ship are changed: the last stage and the stages it is
built `FROM`. What a stage needs is read from its RUN bodies (parsed as
shell), its CMD, ENTRYPOINT and HEALTHCHECK, and from every later stage
built FROM it.
- **Safe**: a same-family variant (Debian to Debian `-slim`) when every
  command the stage runs is one a Debian slim image has, one the image
  itself provides (python, pip, node, npm...) or one the stage installs with
  apt, and the stage builds nothing: no compilers, no `build-essential` or
  `-dev` packages, no `pip install` / `npm ci` / `gem install` / `bundle`
  that may compile from source (a `pip install` of pip, setuptools or
  wheel, or with `--only-binary :all:`, is fine), no local script it cannot
  read, no file copied from another stage or image (it may need libraries
  only the full image has), no path under /usr/share/doc, man or locale, and
  no package known to fail on slim images (OpenJDK and PostgreSQL packages
  link man pages into /usr/share/man).
- **Unsafe** (`--unsafe-fixes`): a change of family (to Alpine: musl libc,
  busybox, apk) when the stage has no package-manager command, no `SHELL`,
  no bash, nothing downloaded (curl, wget, `ADD <url>`) or copied from
  another stage (glibc binaries), and every command it runs, CMD and
  ENTRYPOINT included, is a busybox applet or the image's own program;
  likewise JDK to JRE when nothing runs javac, jar, jlink, mvn or gradle.
- **Suggestion** otherwise, with the reason; for a build stage, with the
  multi-stage split as the way to the smaller image.

## When it is not applied
- Images not in the table (private registries, unknown names), `scratch`,
  references to earlier stages, Windows images: nothing is said.
- A tag that is already small (`-slim`, `-alpine`, `-minimal`, `-jre`...)
  or that has a word the table does not know: nothing is said.
- `FROM ${VAR}` is read through the ARG default before the first FROM; with
  no default nothing is said. The fix then edits the ARG default, and only
  when the ARG is used nowhere else and the tag comes from it alone.
- A digest-pinned image, `latest` or no tag: reported, never edited.
- A stage that does not ship (a builder stage) gets only the end-of-life
  report.
- `# slimfile ignore=SF003` above the FROM.
"#;

// ------------------------------------------------------------------ table

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    commands: Commands,
    image: Vec<ImageEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Commands {
    debian_slim: Vec<String>,
    busybox: Vec<String>,
    minimal: Vec<String>,
    builtins: Vec<String>,
    package_managers: Vec<String>,
    compilers: Vec<String>,
    source_builds: Vec<String>,
    pure_python: Vec<String>,
    compiler_packages: Vec<String>,
    slim_unsafe_packages: Vec<String>,
    slim_missing_paths: Vec<String>,
    package: Vec<PackageCommands>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageCommands {
    name: String,
    provides: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Role {
    Runtime,
    Os,
    Server,
    Toolchain,
    Jdk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Family {
    Same,
    Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Checks {
    DebianSlim,
    Busybox,
    Minimal,
    Same,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum MaxLevel {
    Safe,
    Unsafe,
    Suggestion,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageEntry {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    role: Role,
    what: String,
    versions: Vec<String>,
    suites: Vec<String>,
    #[serde(default)]
    flavors: Vec<String>,
    #[serde(default)]
    small_words: Vec<String>,
    provides: Vec<String>,
    size: String,
    measured: String,
    source: String,
    date: String,
    libc: String,
    shell: String,
    package_manager: String,
    #[serde(default)]
    candidate: Vec<Candidate>,
    #[serde(default)]
    eol: Vec<Eol>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Candidate {
    tag: String,
    #[serde(default)]
    image: Option<String>,
    family: Family,
    checks: Checks,
    level: MaxLevel,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    suites: Option<Vec<String>>,
    #[serde(default)]
    only_flavors: Option<Vec<String>>,
    lacks: String,
    #[serde(default)]
    lacks_commands: Vec<String>,
    size: String,
    measured: String,
    source: String,
    date: String,
    libc: String,
    shell: String,
    package_manager: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Eol {
    versions: Vec<String>,
    since: String,
    note: String,
    source: String,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    toml::from_str(include_str!("../../transforms/base_images.toml")).expect("transforms/base_images.toml is valid (checked by a test)")
});

impl Table {
    fn find(&self, name: &str) -> Option<&ImageEntry> {
        self.image.iter().find(|i| i.name == name || i.aliases.iter().any(|a| a == name))
    }
}

/// Extra `[[base-image]]` entries from a config file (a company's own
/// images), in the schema of `[[image]]` in transforms/base_images.toml.
pub fn parse_extra(entries: &[toml::Table]) -> Result<Vec<ImageEntryPub>, String> {
    entries
        .iter()
        .enumerate()
        .map(|(k, t)| {
            toml::Value::Table(t.clone())
                .try_into::<ImageEntry>()
                .map(ImageEntryPub)
                .map_err(|e| format!("base-image entry {}: {}", k + 1, e.message().trim()))
        })
        .collect()
}

/// An image entry from a config file (opaque outside this module).
#[derive(Debug)]
pub struct ImageEntryPub(ImageEntry);

/// The docs followed by the table, figures with their sources and dates.
static FULL_DOCS: LazyLock<String> = LazyLock::new(|| {
    let mut out = String::from(DOCS);
    out.push_str("\n## The table (transforms/base_images.toml)\nSizes are uncompressed linux/amd64 image sizes.\n");
    for i in &TABLE.image {
        out.push_str(&format!(
            "- `{}` ({:?}; {}, {} libc, {} shell, {}): {} [{}; {}; {}]\n",
            i.name, i.role, i.what, i.libc, i.shell, i.package_manager, i.size, i.measured, i.source, i.date
        ));
        for c in &i.candidate {
            let name = c.image.as_deref().unwrap_or(&i.name);
            out.push_str(&format!(
                "  - `{name}:{}` ({:?} family, at most {:?}; {} libc, {} shell, {}): {} [{}; {}; {}]; lacks {}\n",
                c.tag, c.family, c.level, c.libc, c.shell, c.package_manager, c.size, c.measured, c.source, c.date, c.lacks
            ));
        }
        for e in &i.eol {
            out.push_str(&format!("  - end of life ({}): {} [{}; {}]\n", e.versions.join(", "), e.note, e.since, e.source));
        }
    }
    out
});

// ------------------------------------------------------------------ references

/// An image reference split into its parts (offsets into the reference).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ImageRef {
    /// Repository, lower-cased, with `docker.io/` and `library/` removed.
    name: String,
    tag: Option<Range<usize>>,
    digest: Option<Range<usize>>,
}

fn parse_ref(r: &str) -> Option<ImageRef> {
    if r.is_empty() || r.contains(char::is_whitespace) {
        return None;
    }
    let (before_digest, digest) = match r.find('@') {
        Some(at) => (&r[..at], Some(at + 1..r.len())),
        None => (r, None),
    };
    let last_slash = before_digest.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match before_digest[last_slash..].find(':') {
        Some(c) => (&before_digest[..last_slash + c], Some(last_slash + c + 1..before_digest.len())),
        None => (before_digest, None),
    };
    if path.is_empty() || tag.as_ref().is_some_and(|t| t.is_empty()) {
        return None;
    }
    let mut name = path.to_ascii_lowercase();
    for prefix in ["docker.io/", "index.docker.io/", "registry-1.docker.io/", "registry.hub.docker.com/"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest.to_string();
        }
    }
    if let Some(rest) = name.strip_prefix("library/") {
        name = rest.to_string();
    }
    Some(ImageRef { name, tag, digest })
}

// ------------------------------------------------------------------ tags

#[derive(Debug, Clone, PartialEq, Eq)]
enum TagShape {
    /// Already a small variant.
    Small,
    /// A word the table does not know.
    Unknown,
    Parsed {
        version: String,
        flavor: Option<String>,
        suite: Option<String>,
    },
}

fn is_numeric_version(w: &str) -> bool {
    w.starts_with(|c: char| c.is_ascii_digit()) && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
}

fn is_small_word(img: &ImageEntry, w: &str) -> bool {
    matches!(w, "slim" | "minimal" | "distroless" | "busybox" | "micro")
        || w.starts_with("alpine")
        || img.small_words.iter().any(|s| s == w)
}

fn parse_tag(img: &ImageEntry, tag: &str) -> TagShape {
    let words: Vec<&str> = tag.split('-').collect();
    if words.iter().any(|w| is_small_word(img, w)) {
        return TagShape::Small;
    }
    let first = words[0];
    if !(is_numeric_version(first) || img.versions.iter().any(|v| v == first)) {
        return TagShape::Unknown;
    }
    let mut version = first.to_string();
    let mut i = 1;
    // `3.14-rc`, `bookworm-20240110`, `jammy-20240111`.
    while let Some(w) = words.get(i) {
        if *w == "rc" || (w.len() >= 6 && w.chars().all(|c| c.is_ascii_digit())) {
            version.push('-');
            version.push_str(w);
            i += 1;
        } else {
            break;
        }
    }
    let (mut flavor, mut suite) = (None, None);
    for w in &words[i..] {
        if flavor.is_none() && img.flavors.iter().any(|f| f == w) {
            flavor = Some(w.to_string());
        } else if suite.is_none() && img.suites.iter().any(|s| s == w) {
            suite = Some(w.to_string());
        } else {
            return TagShape::Unknown;
        }
    }
    TagShape::Parsed { version, flavor, suite }
}

/// Numeric parts of a version (`3.12.1` is [3, 12, 1]; `lts` is empty).
fn version_parts(v: &str) -> Vec<u64> {
    let lead: &str = v.split(['-', '_']).next().unwrap_or("");
    let mut out = Vec::new();
    for p in lead.split('.') {
        let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
        match digits.parse() {
            Ok(n) => out.push(n),
            Err(_) => break,
        }
        if digits.len() != p.len() {
            break;
        }
    }
    out
}

/// True when `version` is at least `min`; a named version passes, and a
/// shorter version (`2` against `2.7`) passes when its parts agree.
fn at_least(version: &str, min: &str) -> bool {
    let (v, m) = (version_parts(version), version_parts(min));
    if v.is_empty() {
        return true;
    }
    for (a, b) in v.iter().zip(m.iter()) {
        if a != b {
            return a > b;
        }
    }
    true
}

/// The candidate's tag for a parsed tag, or `None` when it does not exist
/// for that version, flavor or suite.
fn candidate_tag(c: &Candidate, version: &str, flavor: Option<&str>, suite: Option<&str>) -> Option<String> {
    if c.image.is_some() {
        return Some(c.tag.clone());
    }
    if c.min_version.as_deref().is_some_and(|m| !at_least(version, m)) {
        return None;
    }
    if let (Some(allowed), Some(s)) = (&c.suites, suite) {
        if !allowed.iter().any(|a| a == s) {
            return None;
        }
    }
    if let (Some(allowed), Some(f)) = (&c.only_flavors, flavor) {
        if !allowed.iter().any(|a| a == f) {
            return None;
        }
    }
    let dash = |w: Option<&str>| w.map(|w| format!("-{w}")).unwrap_or_default();
    Some(c.tag.replace("{version}", version).replace("{-flavor}", &dash(flavor)).replace("{-suite}", &dash(suite)))
}

fn eol_for<'t>(img: &'t ImageEntry, tag: Option<&str>) -> Option<&'t Eol> {
    let first = tag.map_or("latest", |t| t.split('-').next().unwrap_or(t));
    img.eol
        .iter()
        .find(|e| e.versions.iter().any(|v| v == "*" || first == v || (first.starts_with(v.as_str()) && first[v.len()..].starts_with('.'))))
}

// ------------------------------------------------------------------ sizes

/// A table figure in MB (`"1.11 GB"` is 1110).
fn megabytes(size: &str) -> Option<f64> {
    let (n, unit) = size.split_once(' ')?;
    let n: f64 = n.parse().ok()?;
    match unit {
        "MB" => Some(n),
        "GB" => Some(n * 1000.0),
        _ => None,
    }
}

fn show_size(size: &str) -> String {
    if megabytes(size).is_some() {
        format!("~{size}")
    } else {
        "size unknown".to_string()
    }
}

fn saving(from: &str, to: &str) -> Option<String> {
    let d = megabytes(from)? - megabytes(to)?;
    if d <= 0.0 {
        return None;
    }
    let rounded = if d >= 100.0 { (d / 10.0).round() * 10.0 } else { d.round() };
    Some(format!("~{rounded} MB less"))
}

// ------------------------------------------------------------------ FROM lines

/// One FROM with the parts the rules need.
struct Stage<'a> {
    node: usize,
    end_node: usize,
    ins: &'a Instruction,
    /// The image word as written.
    word: &'a str,
    /// Lower-cased `AS` name.
    name: Option<String>,
    /// Index of the earlier stage this one is built FROM.
    base: Option<usize>,
}

fn stages<'a>(ctx: &Context<'a>) -> Vec<Stage<'a>> {
    let mut out: Vec<Stage<'a>> = Vec::new();
    for s in &ctx.stages {
        let Some(ins) = ctx.instruction(s.from_node) else { continue };
        let word = ins.args.split(char::is_whitespace).next().unwrap_or("");
        let words: Vec<&str> = ins.args.split_whitespace().collect();
        let name = (words.len() >= 3 && words[1].eq_ignore_ascii_case("as")).then(|| words[2].to_ascii_lowercase());
        let lower = word.to_ascii_lowercase();
        let base = out.iter().rposition(|p| p.name.as_deref() == Some(lower.as_str()));
        out.push(Stage { node: s.from_node, end_node: s.end_node, ins, word, name, base });
    }
    out
}

/// The stages whose image ships: the last one and those it is built FROM.
fn shipping(stages: &[Stage]) -> HashSet<usize> {
    let mut out = HashSet::new();
    let mut cur = stages.len().checked_sub(1);
    while let Some(i) = cur {
        if !out.insert(i) {
            break;
        }
        cur = stages[i].base;
    }
    out
}

/// The stage and every later stage built on it, directly or not.
fn dependents(stages: &[Stage], s: usize) -> Vec<usize> {
    let mut out = vec![s];
    for (i, st) in stages.iter().enumerate().skip(s + 1) {
        if st.base.is_some_and(|b| out.contains(&b)) {
            out.push(i);
        }
    }
    out
}

// ------------------------------------------------------------------ ARG defaults

/// A global ARG (declared before the first FROM).
struct GlobalArg {
    name: String,
    value: Option<String>,
    /// Source range of the value (inside its quotes), when it is a plain
    /// literal that can be edited.
    value_range: Option<Range<usize>>,
    node: usize,
}

fn global_args(ctx: &Context) -> Vec<GlobalArg> {
    let first_from = ctx.stages.first().map_or(ctx.doc.nodes.len(), |s| s.from_node);
    let mut out = Vec::new();
    for node in 0..first_from {
        let Some(ins) = ctx.instruction(node) else { continue };
        if !ins.is("ARG") {
            continue;
        }
        for (start, end) in split_words(&ins.args) {
            let word = &ins.args[start..end];
            let (name, value) = match word.split_once('=') {
                Some((n, v)) => (n, Some((start + n.len() + 1, v))),
                None => (word, None),
            };
            let mut arg = GlobalArg { name: name.to_string(), value: None, value_range: None, node };
            if let Some((vstart, raw)) = value {
                let quoted = raw.len() >= 2 && (raw.starts_with('"') && raw.ends_with('"') || raw.starts_with('\'') && raw.ends_with('\''));
                let (inner_start, inner) = if quoted { (vstart + 1, &raw[1..raw.len() - 1]) } else { (vstart, raw) };
                let plain = !inner.is_empty() && !inner.contains(['$', '\\', '"', '\'', '`']);
                arg.value = Some(inner.to_string());
                if plain {
                    let r = ins.args_range_to_source(inner_start..inner_start + inner.len());
                    if ctx.doc.text().get(r.clone()) == Some(inner) {
                        arg.value_range = Some(r);
                    }
                }
            }
            out.push(arg);
        }
    }
    out
}

/// Whitespace-separated words of an argument string, quotes respected.
fn split_words(s: &str) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let mut quote = None;
        while i < b.len() {
            let c = b[i];
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None if c.is_ascii_whitespace() => break,
                None => {}
            }
            i += 1;
        }
        out.push((start, i));
    }
    out
}

/// A piece of an expanded image word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Literal text at this offset of the word.
    Literal(usize, String),
    /// The value of a global ARG.
    Var(String, String),
}

/// Expands `$NAME`, `${NAME}` and `${NAME:-word}` / `${NAME-word}` with the
/// global ARG defaults. `None` when a variable has no value or the syntax
/// is one this does not read.
fn expand(word: &str, args: &[GlobalArg]) -> Option<Vec<Piece>> {
    let value = |n: &str| args.iter().rev().find(|a| a.name == n).and_then(|a| a.value.clone());
    let mut out = Vec::new();
    let mut lit_start = 0;
    let mut i = 0;
    let b = word.as_bytes();
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        if i > lit_start {
            out.push(Piece::Literal(lit_start, word[lit_start..i].to_string()));
        }
        let (name, default, end) = if b.get(i + 1) == Some(&b'{') {
            let close = word[i..].find('}')? + i;
            let inner = &word[i + 2..close];
            let name_len = inner.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
            let (name, rest) = inner.split_at(name_len);
            let default = if rest.is_empty() {
                None
            } else if let Some(d) = rest.strip_prefix(":-").or_else(|| rest.strip_prefix('-')) {
                Some(d)
            } else {
                return None;
            };
            (name, default, close + 1)
        } else {
            let len = word[i + 1..].bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
            (&word[i + 1..i + 1 + len], None, i + 1 + len)
        };
        if name.is_empty() || default.is_some_and(|d| d.contains('$')) {
            return None;
        }
        let v = value(name).filter(|v| !v.is_empty()).or_else(|| default.map(str::to_string))?;
        out.push(Piece::Var(name.to_string(), v));
        i = end;
        lit_start = end;
    }
    if lit_start < b.len() {
        out.push(Piece::Literal(lit_start, word[lit_start..].to_string()));
    }
    Some(out)
}

fn joined(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Literal(_, t) | Piece::Var(_, t) => t.as_str(),
        })
        .collect()
}

/// True when `$name` or `${name...}` appears in `text`.
fn mentions(text: &str, name: &str) -> bool {
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        let after = &rest[i + 1..];
        let after = after.strip_prefix('{').unwrap_or(after);
        if let Some(tail) = after.strip_prefix(name) {
            if !tail.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                return true;
            }
        }
        rest = &rest[i + 1..];
    }
    false
}

/// Where to write a new tag: the source range of the current tag bytes.
enum TagSite {
    Edit(Range<usize>),
    /// Why the tag cannot be edited.
    No(String),
}

fn tag_site(ctx: &Context, st: &Stage, pieces: &[Piece], tag: Range<usize>, args: &[GlobalArg]) -> TagSite {
    let mut at = 0;
    let mut covering = Vec::new();
    for p in pieces {
        let text = match p {
            Piece::Literal(_, t) | Piece::Var(_, t) => t,
        };
        let r = at..at + text.len();
        if r.start < tag.end && tag.start < r.end {
            covering.push((p, r.clone()));
        }
        at = r.end;
    }
    let text = ctx.doc.text();
    match covering.as_slice() {
        [(Piece::Literal(off, t), r)] if r.start <= tag.start && tag.end <= r.end => {
            let from = off + (tag.start - r.start);
            let src = st.ins.args_range_to_source(from..from + tag.len());
            if text.get(src.clone()) == Some(&t[tag.start - r.start..tag.end - r.start]) {
                TagSite::Edit(src)
            } else {
                TagSite::No("the tag spans a line continuation".into())
            }
        }
        [(Piece::Var(name, _), r)] if r.start <= tag.start && tag.end <= r.end => {
            let Some(arg) = args.iter().rev().find(|a| &a.name == name) else {
                return TagSite::No(format!("the ARG {name} cannot be found"));
            };
            let Some(vr) = &arg.value_range else {
                return TagSite::No(format!("the default of ARG {name} is not a plain value"));
            };
            for (n, node) in ctx.doc.nodes.iter().enumerate() {
                if n == arg.node || n == st.node {
                    continue;
                }
                if let NodeKind::Instruction(ins) = &node.kind {
                    if mentions(&text[ins.range.clone()], name) {
                        return TagSite::No(format!("ARG {name} is also used on line {}", ins.line));
                    }
                }
            }
            let from = vr.start + (tag.start - r.start);
            TagSite::Edit(from..from + tag.len())
        }
        _ => TagSite::No("the tag is built from several parts".into()),
    }
}

// ------------------------------------------------------------------ what a stage needs

/// One program run by the stage.
struct Invocation {
    /// The command word as written (a path, or a name).
    name: String,
    args: Vec<Option<String>>,
    line: usize,
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// `python3.12` is `python3`'s family: compare by the name without a
/// trailing version.
fn unversioned(name: &str) -> &str {
    for family in ["python", "pip"] {
        if let Some(rest) = name.strip_prefix(family) {
            if rest.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return family;
            }
        }
    }
    name
}

fn glob(pattern: &str, s: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(suffix), _) => s.ends_with(suffix),
        (_, Some(prefix)) => s.starts_with(prefix),
        _ => pattern == s,
    }
}

/// Reads what a stage runs, and why it would not work on the candidate.
struct Checker<'c, 'a> {
    ctx: &'c Context<'a>,
    img: &'c ImageEntry,
    cand: &'c Candidate,
    /// The candidate as users write it, for messages.
    target: String,
    installed: HashSet<String>,
    reasons: Vec<String>,
    keys: Vec<String>,
    /// A reason that makes the stage a build stage.
    builds: bool,
}

impl<'c, 'a> Checker<'c, 'a> {
    /// Records why the candidate does not fit; the same cause on another
    /// line is not repeated.
    fn reason(&mut self, r: String) {
        let key = match r.strip_prefix("line ") {
            Some(rest) => rest.trim_start_matches(|c: char| c.is_ascii_digit()).to_string(),
            None => r.clone(),
        };
        if !self.keys.contains(&key) {
            self.keys.push(key);
            self.reasons.push(r);
        }
    }

    fn build_reason(&mut self, r: String) {
        self.builds = true;
        self.reason(r);
    }

    fn stage(&mut self, st: &Stage) {
        for node in st.node + 1..st.end_node {
            let Some(ins) = self.ctx.instruction(node) else { continue };
            let line = ins.line;
            match ins.keyword.as_str() {
                "RUN" => match ins.form() {
                    Form::Exec(argv) => self.exec_form(&argv, line),
                    Form::Shell => {
                        if !ins.heredocs.is_empty() {
                            self.reason(format!("line {line} has a heredoc slimfile does not read"));
                        } else if !matches!(self.ctx.shell(node), ShellKind::Posix { .. }) {
                            self.reason(format!("line {line} runs under a shell slimfile does not read"));
                        } else {
                            match self.ctx.script(node) {
                                Some(script) => {
                                    let invs = invocations(script, line);
                                    self.invocations(invs);
                                }
                                None => self.reason(format!("the RUN on line {line} does not parse as shell")),
                            }
                        }
                    }
                },
                "CMD" | "ENTRYPOINT" => self.command_line(&ins.args, ins.form(), line),
                "HEALTHCHECK" => {
                    let a = ins.args.trim();
                    if let Some(rest) = a.get(..3).filter(|k| k.eq_ignore_ascii_case("CMD")).map(|_| a[3..].trim_start()) {
                        let form = form_of(rest);
                        self.command_line(rest, form, line);
                    }
                }
                "SHELL" => {
                    let ok = match (&ins.form(), self.cand.checks) {
                        (Form::Exec(argv), Checks::Busybox) => argv.first().is_some_and(|p| matches!(basename(p), "sh" | "ash")),
                        (Form::Exec(argv), _) => argv.first().is_some_and(|p| matches!(basename(p), "sh" | "bash" | "dash")),
                        _ => false,
                    };
                    if !ok {
                        self.reason(format!("line {line} sets a SHELL {} does not have", self.target));
                    }
                }
                "COPY" | "ADD" => {
                    if let Some(from) = ins.flag("from").and_then(|f| f.value.clone()) {
                        let why = match (self.cand.family, self.cand.checks) {
                            (_, Checks::Same) => "which may need what only the full image has",
                            (Family::Change, _) => "which may be glibc programs",
                            (Family::Same, _) => "which may need libraries only the full image has",
                        };
                        self.reason(format!("line {line} copies files from `{from}`, {why}"));
                    } else if ins.is("ADD") && self.cand.family == Family::Change && ins.args.contains("://") {
                        self.reason(format!("line {line} downloads files with ADD, which may be glibc programs"));
                    }
                }
                "ONBUILD" => self.reason(format!("line {line} has an ONBUILD trigger, which runs in images built from this one")),
                _ => {}
            }
        }
    }

    /// CMD, ENTRYPOINT or a HEALTHCHECK command.
    fn command_line(&mut self, args: &str, form: Form, line: usize) {
        match form {
            Form::Exec(argv) => self.exec_form(&argv, line),
            Form::Shell => {
                if self.cand.shell == "none" {
                    self.reason(format!("line {line} needs a shell, which {} does not have", self.target));
                    return;
                }
                match self.ctx.parse_shell(args) {
                    Some(script) => {
                        let invs = invocations(&script, line);
                        self.invocations(invs);
                    }
                    None => self.reason(format!("the command on line {line} does not parse as shell")),
                }
            }
        }
    }

    fn exec_form(&mut self, argv: &[String], line: usize) {
        let Some(prog) = argv.first() else { return };
        let is_shell = matches!(basename(prog), "sh" | "bash" | "dash" | "ash");
        if is_shell && argv.get(1).is_some_and(|a| a.starts_with('-') && a.contains('c')) {
            self.check(&Invocation { name: prog.clone(), args: vec![], line });
            match argv.get(2).and_then(|s| self.ctx.parse_shell(s)) {
                Some(script) => {
                    let invs = invocations(&script, line);
                    self.invocations(invs);
                }
                None => self.reason(format!("the command on line {line} does not parse as shell")),
            }
            return;
        }
        self.check(&Invocation { name: prog.clone(), args: argv[1..].iter().map(|a| Some(a.clone())).collect(), line });
    }

    fn invocations(&mut self, invs: Vec<Result<Invocation, usize>>) {
        for inv in invs {
            match inv {
                Ok(inv) => self.check(&inv),
                Err(line) => self.reason(format!("line {line} runs a command slimfile cannot see (a computed name, or one run through sh -c, eval, timeout, find -exec, npx, ...)")),
            }
        }
    }

    fn allowed(&self, name: &str) -> bool {
        let t = &TABLE.commands;
        let has = |list: &[String]| list.iter().any(|c| c == name);
        let base_list = match self.cand.checks {
            Checks::DebianSlim => &t.debian_slim,
            Checks::Busybox => &t.busybox,
            Checks::Minimal => &t.minimal,
            Checks::Same => return !has(&self.cand.lacks_commands),
        };
        // The image's own programs are in every variant of that image.
        let own = self.cand.image.is_none()
            && (has(&self.img.provides) || has(&self.img.provides.iter().map(|p| basename(p).to_string()).collect::<Vec<_>>()));
        has(base_list) || has(&t.builtins) || own || self.installed.contains(name)
    }

    fn check(&mut self, inv: &Invocation) {
        let t = &TABLE.commands;
        let line = inv.line;
        let base = unversioned(basename(&inv.name)).to_string();
        let target = self.target.clone();
        // `python -m pip ...` is pip.
        let (name, args): (String, Vec<Option<String>>) = if base == "python"
            && inv.args.first().and_then(|a| a.as_deref()) == Some("-m")
            && inv.args.get(1).and_then(|a| a.as_deref()).is_some_and(|m| unversioned(m) == "pip")
        {
            (inv.args[1].clone().unwrap_or_default(), inv.args[2..].to_vec())
        } else {
            (base.clone(), inv.args.clone())
        };
        let name = unversioned(&name).to_string();
        let positional: Vec<Option<&str>> = args.iter().map(|a| a.as_deref()).filter(|a| !a.is_some_and(|a| a.starts_with('-'))).collect();
        let sub = positional.first().copied().flatten();

        if self.cand.checks == Checks::Same {
            if self.cand.lacks_commands.contains(&name) {
                self.build_reason(format!("line {line} runs `{name}`, which {target} does not have"));
            } else if (inv.name.contains('/') || name.ends_with(".sh")) && !self.img.provides.iter().any(|p| basename(p) == name) {
                self.reason(format!("line {line} runs `{}`, which slimfile cannot read", inv.name));
            }
            return;
        }
        if self.cand.checks == Checks::DebianSlim {
            for a in args.iter().flatten() {
                if let Some(p) = t.slim_missing_paths.iter().find(|p| a.contains(p.as_str())) {
                    self.reason(format!("line {line} uses {p}, which -slim images do not have"));
                }
            }
        }
        if t.compilers.contains(&name) {
            self.build_reason(format!("line {line} runs `{name}`, so this stage builds code"));
            return;
        }
        let two_word = t.source_builds.iter().any(|e| e.split_once(' ').is_some_and(|(c, _)| c == name));
        let source_build = t.source_builds.iter().any(|e| match e.split_once(' ') {
            Some((c, s)) => c == name && sub == Some(s),
            None => e == &name && (!two_word || sub.is_none()),
        });
        if source_build && !(name == "pip" && pip_builds_nothing(&args)) {
            let what = match sub {
                Some(s) if two_word => format!("{name} {s}"),
                _ => name.clone(),
            };
            self.build_reason(format!("line {line} runs `{what}`, which may build native code with the compilers only the full image has"));
            return;
        }
        if t.package_managers.contains(&name) {
            if self.cand.checks == Checks::DebianSlim && matches!(name.as_str(), "apt-get" | "apt") {
                if sub == Some("install") || sub == Some("build-dep") {
                    self.apt_install(&positional[1..], line);
                }
                return;
            }
            if self.cand.checks == Checks::Minimal && name == "microdnf" {
                return;
            }
            self.reason(format!("line {line} uses `{name}`, which {target} does not have (it uses {})", self.cand.package_manager));
            return;
        }
        let is_shell = matches!(name.as_str(), "sh" | "bash" | "dash" | "ash");
        if is_shell {
            if let Some(script) = sub {
                if !args.iter().flatten().any(|a| a.starts_with('-') && a.contains('c')) {
                    self.reason(format!("line {line} runs the script `{script}`, which slimfile cannot read"));
                    return;
                }
            }
        }
        if self.allowed(&name) {
            return;
        }
        let system = ["/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/"].iter().any(|d| inv.name.starts_with(d));
        if inv.name.contains('/') && !system {
            self.reason(format!("line {line} runs `{}`, which slimfile cannot read", inv.name));
        } else if self.cand.family == Family::Change {
            self.reason(format!("line {line} runs `{}`, which {target} does not have", inv.name));
        } else {
            self.reason(format!("line {line} runs `{}`, not known to be on {target}", inv.name));
        }
    }

    fn apt_install(&mut self, packages: &[Option<&str>], line: usize) {
        let t = &TABLE.commands;
        for p in packages {
            let Some(p) = p else {
                self.reason(format!("line {line} installs packages slimfile cannot read"));
                continue;
            };
            let p = p.split(['=', ':']).next().unwrap_or(p);
            if t.compiler_packages.iter().any(|g| glob(g, p)) {
                self.build_reason(format!("line {line} installs `{p}`, so this stage builds code"));
            } else if t.slim_unsafe_packages.iter().any(|g| glob(g, p)) {
                self.reason(format!("line {line} installs `{p}`, whose install fails without /usr/share/man on -slim images"));
            }
            match t.package.iter().find(|k| k.name == p) {
                Some(k) => self.installed.extend(k.provides.iter().cloned()),
                None => {
                    self.installed.insert(p.to_string());
                }
            }
        }
    }
}

/// A `pip install` of pure-Python tools only, or of wheels only.
fn pip_builds_nothing(args: &[Option<String>]) -> bool {
    let a: Vec<&str> = match args.iter().map(|a| a.as_deref()).collect::<Option<Vec<_>>>() {
        Some(a) => a,
        None => return false,
    };
    if a.windows(2).any(|w| w[0] == "--only-binary" && w[1] == ":all:") || a.contains(&"--only-binary=:all:") {
        return true;
    }
    let valued = ["-r", "--requirement", "-c", "--constraint", "-e", "--editable"];
    if a.iter().any(|x| valued.contains(x) || valued.iter().any(|v| x.starts_with(&format!("{v}=")))) {
        return false;
    }
    let takes_value =
        ["-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--cache-dir"];
    let mut pkgs = Vec::new();
    let mut skip = false;
    for x in a.iter().skip(1) {
        if skip {
            skip = false;
        } else if takes_value.contains(x) {
            skip = true;
        } else if !x.starts_with('-') {
            pkgs.push(*x);
        }
    }
    !pkgs.is_empty()
        && pkgs.iter().all(|p| {
            let name = p.split(['=', '<', '>', '!', '~', '[', ';', ' ']).next().unwrap_or(p).to_ascii_lowercase();
            TABLE.commands.pure_python.contains(&name)
        })
}

/// True for a command that runs other commands named in its arguments.
fn runs_hidden_commands(name: &str, args: &[crate::shell::Word]) -> bool {
    let lit = |k: usize| args.get(k).and_then(|w| w.literal.as_deref());
    match basename(name) {
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" => !args.is_empty(),
        "eval" | "timeout" | "stdbuf" | "flock" | "su" | "runuser" | "chroot" | "setpriv" | "unshare" | "npx" | "pnpx" | "bunx"
        | "watch" | "script" => true,
        "find" => args.iter().any(|w| matches!(w.literal.as_deref(), Some("-exec" | "-execdir" | "-ok" | "-okdir"))),
        "yarn" | "pnpm" | "npm" => matches!(lit(0), Some("global" | "dlx" | "exec" | "x")),
        _ => false,
    }
}

/// The programs a parsed shell body runs; `Err(line)` for a computed name
/// or a program that runs commands given as arguments.
fn invocations(script: &crate::shell::Script, line: usize) -> Vec<Result<Invocation, usize>> {
    let mut out = Vec::new();
    for c in script.command_list() {
        let Some(i) = c.effective_start() else {
            // A wrapper (`env`, `sudo`) with nothing after it is harmless;
            // a computed first word is not.
            if c.words.first().is_some_and(|w| w.literal.is_none()) {
                out.push(Err(line));
            }
            continue;
        };
        match c.words[i].literal.clone() {
            // Programs that run other commands slimfile cannot see
            // (`sh -c "gcc ..."`, `timeout 60 gcc`, `find -exec`, `npx`).
            Some(name) if runs_hidden_commands(&name, &c.words[i + 1..]) => out.push(Err(line)),
            Some(name) => out.push(Ok(Invocation { name, args: c.words[i + 1..].iter().map(|w| w.literal.clone()).collect(), line })),
            None => out.push(Err(line)),
        }
    }
    out
}

// ------------------------------------------------------------------ the transform

impl Transform for BaseImage {
    fn code(&self) -> &'static str {
        "SF003"
    }
    fn name(&self) -> &'static str {
        "base-image"
    }
    fn summary(&self) -> &'static str {
        "Suggest (and where safe, swap to) a smaller base image, with what it saves"
    }
    fn hadolint(&self) -> &'static [&'static str] {
        &[]
    }
    fn docs(&self) -> &'static str {
        &FULL_DOCS
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let stages = stages(ctx);
        if stages.is_empty() {
            return Vec::new();
        }
        let ships = shipping(&stages);
        let args = global_args(ctx);
        let mut out = Vec::new();
        for i in 0..stages.len() {
            if let Some(f) = self.stage_finding(ctx, &stages, i, ships.contains(&i), &args) {
                out.push(f);
            }
        }
        out
    }
}

impl BaseImage {
    fn stage_finding(&self, ctx: &Context, stages: &[Stage], i: usize, ships: bool, args: &[GlobalArg]) -> Option<Finding> {
        let st = &stages[i];
        if st.word.is_empty() || st.base.is_some() || st.word.eq_ignore_ascii_case("scratch") {
            return None;
        }
        let pieces = expand(st.word, args)?;
        let reference = joined(&pieces);
        let r = parse_ref(&reference)?;
        // A config file's own entries come first.
        let extra = parse_extra(&ctx.extra_base_images).unwrap_or_default();
        let img = extra.iter().map(|e| &e.0).find(|i| i.name == r.name || i.aliases.contains(&r.name)).or_else(|| TABLE.find(&r.name))?;
        let tag = r.tag.clone().map(|t| reference[t].to_string());
        let range = st.ins.args_range_to_source(0..st.word.len());
        let eol = eol_for(img, tag.as_deref());
        let eol_note = eol.map(|e| format!("; {}", e.note)).unwrap_or_default();
        // Set once the smaller candidate is known.
        let saves: std::cell::Cell<Option<u64>> = std::cell::Cell::new(None);
        let finding =
            |message: String, fix: Option<Fix>| Some(Finding::new(ctx, self, range.clone(), message, fix).with_saves(saves.get()));
        let shown = reference.as_str();

        if !ships {
            return eol.and_then(|e| finding(format!("{shown}: {}", e.note), None));
        }
        if img.role == Role::Toolchain {
            if tag.as_deref().is_some_and(|t| t.split('-').any(|w| img.small_words.iter().any(|s| s == w))) {
                return eol.and_then(|e| finding(format!("{shown}: {}", e.note), None));
            }
            // The figure is for the default tags; a variant's is not known.
            let size = match tag.as_deref().map(|t| parse_tag(img, t)) {
                Some(TagShape::Small) => String::new(),
                _ => format!(" ({})", show_size(&img.size)),
            };
            return finding(
                format!(
                    "{shown}{size} ships {} in the final image: build in one stage and copy only the result into a small runtime stage (multi-stage split, SF004){eol_note}",
                    img.what
                ),
                None,
            );
        }
        let Some(tag_text) = tag.clone().filter(|t| t != "latest") else {
            let hint = img.candidate.first().map(|c| match &c.image {
                Some(other) => format!("; {other}:{} is {}", c.tag, show_size(&c.size)),
                None => format!("; its {} variant is {}", variant_word(&c.tag), show_size(&c.size)),
            });
            return finding(
                format!("{shown} ({}) pins no version (`latest`): pin one{}{eol_note}", show_size(&img.size), hint.unwrap_or_default()),
                None,
            );
        };
        let (version, flavor, suite) = match parse_tag(img, &tag_text) {
            TagShape::Parsed { version, flavor, suite } => (version, flavor, suite),
            _ => return eol.and_then(|e| finding(format!("{shown}: {}", e.note), None)),
        };
        let options: Vec<(&Candidate, String)> =
            img.candidate.iter().filter_map(|c| candidate_tag(c, &version, flavor.as_deref(), suite.as_deref()).map(|t| (c, t))).collect();
        let Some((cand, new_tag)) = options.first() else {
            return eol.and_then(|e| finding(format!("{shown}: {}", e.note), None));
        };
        let name_part = &reference[..r.tag.as_ref().map_or(reference.len(), |t| t.start - 1)];
        let target = match &cand.image {
            Some(other) => format!("{other}:{new_tag}"),
            None => format!("{name_part}:{new_tag}"),
        };
        let mut head = format!("{shown} ({}) -> {target} ({})", show_size(&img.size), show_size(&cand.size));
        if let (Some(a), Some(b)) = (megabytes(&img.size), megabytes(&cand.size)) {
            saves.set(Some(((a - b).max(0.0) * 1_000_000.0) as u64));
        }
        // The figures are for the tags the table measured; say so when this
        // reference is another version.
        if megabytes(&img.size).is_some() && !img.measured.ends_with(&format!(":{}", tag.as_deref().unwrap_or(""))) {
            head.push_str(&format!(" (sizes as measured for {} and {})", img.measured, cand.measured));
        }
        if let Some(s) = saving(&img.size, &cand.size) {
            head.push_str(&format!(", {s}"));
        }
        let also = options
            .iter()
            .skip(1)
            .find(|(c, _)| c.family != cand.family)
            .map(|(c, t)| format!(" (or {name_part}:{t}, {}, {} libc)", show_size(&c.size), c.libc))
            .unwrap_or_default();
        if r.digest.is_some() {
            return finding(format!("{head}: pinned by digest, not edited; pin the digest of {target} instead{eol_note}"), None);
        }

        let mut checker = Checker {
            ctx,
            img,
            cand,
            target: target.clone(),
            installed: HashSet::new(),
            reasons: Vec::new(),
            keys: Vec::new(),
            builds: false,
        };
        for d in dependents(stages, i) {
            checker.stage(&stages[d]);
        }
        let level = match cand.level {
            MaxLevel::Safe => Level::Safe,
            MaxLevel::Unsafe => Level::Unsafe,
            MaxLevel::Suggestion => Level::Suggestion,
        };
        if !checker.reasons.is_empty() || level == Level::Suggestion {
            let shown_reasons: Vec<&str> = checker.reasons.iter().take(2).map(String::as_str).collect();
            let more = checker.reasons.len().saturating_sub(2);
            let mut why = shown_reasons.join("; ");
            if more > 0 {
                why.push_str(&format!(" (and {more} more)"));
            }
            let split = if checker.builds {
                format!("; build in a separate stage and copy the result into a stage FROM {target} (multi-stage split, SF004)")
            } else {
                String::new()
            };
            return finding(format!("{head}{also} not applied: {why}{split}{eol_note}"), None);
        }
        let edit = match &cand.image {
            // Another image: replace the whole reference (only literal words).
            Some(_) => {
                if !pieces.iter().all(|p| matches!(p, Piece::Literal(..))) {
                    return finding(format!("{head} not applied: the image name comes from an ARG{eol_note}"), None);
                }
                Edit { range: range.clone(), replacement: target.clone() }
            }
            None => match tag_site(ctx, st, &pieces, r.tag.clone()?, args) {
                TagSite::Edit(site) => Edit { range: site, replacement: new_tag.clone() },
                TagSite::No(why) => return finding(format!("{head}{also} not applied: {why}{eol_note}"), None),
            },
        };
        let how = match (cand.family, cand.checks) {
            (Family::Same, Checks::Same) => format!("nothing in the stage runs what it lacks ({})", cand.lacks),
            (Family::Same, _) => "nothing in the stage needs what it drops".to_string(),
            (Family::Change, _) => format!(
                "{} libc and {}; nothing in the stage needs {}, bash or {}, but programs the application loads at run time may",
                cand.libc, cand.package_manager, img.libc, img.package_manager
            ),
        };
        if eol.is_some() {
            // End-of-life images are reported, never edited: moving to a
            // supported version is the change to make, by hand.
            return finding(format!("{head}{also}: {how}{eol_note}; not applied to an end-of-life image"), None);
        }
        finding(format!("{head}{also}: {how}{eol_note}"), Some(Fix { level, edits: vec![edit] }))
    }
}

/// Exec form when `args` is a JSON array of strings, as BuildKit reads
/// CMD and ENTRYPOINT (the HEALTHCHECK command is read the same way).
fn form_of(args: &str) -> Form {
    let t = args.trim();
    if t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(t) {
            return Form::Exec(v);
        }
    }
    Form::Shell
}

/// `-slim` for `{version}-slim{-suite}`, `-alpine` for `{version}-alpine`.
fn variant_word(template: &str) -> String {
    let core = template.replace("{version}", "").replace("{-suite}", "").replace("{-flavor}", "");
    if core.is_empty() {
        "smaller".into()
    } else {
        core
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Document;

    fn img(name: &str) -> &'static ImageEntry {
        TABLE.find(name).unwrap()
    }

    #[test]
    fn table_is_valid() {
        let t = &*TABLE;
        assert!(t.image.len() >= 15);
        let is_date = |d: &str| {
            let p: Vec<&str> = d.split('-').collect();
            (2..=3).contains(&p.len()) && p[0].len() == 4 && p.iter().all(|x| x.chars().all(|c| c.is_ascii_digit()))
        };
        let check_figure = |what: &str, size: &str, measured: &str, source: &str, date: &str| {
            if size == "unknown" {
                assert!(date == "unknown" || is_date(date), "{what}: bad date {date}");
            } else {
                assert!(megabytes(size).is_some(), "{what}: size `{size}` is not `N MB`/`N GB` or unknown");
                assert!(is_date(date), "{what}: a known size needs a date, got {date}");
                assert!(source.contains("repo-info") || source.contains("issue"), "{what}: a known size needs its source");
                assert!(!measured.is_empty(), "{what}: which tag was measured?");
            }
        };
        let mut names = HashSet::new();
        for i in &t.image {
            assert!(names.insert(i.name.clone()), "{} twice", i.name);
            assert_eq!(i.name, i.name.to_ascii_lowercase());
            check_figure(&i.name, &i.size, &i.measured, &i.source, &i.date);
            assert!(matches!(i.libc.as_str(), "glibc" | "musl"));
            assert!(matches!(i.shell.as_str(), "bash" | "sh" | "none"));
            assert!(!i.what.is_empty());
            for c in &i.candidate {
                let what = format!("{} -> {}", i.name, c.tag);
                check_figure(&what, &c.size, &c.measured, &c.source, &c.date);
                assert!(!c.lacks.is_empty(), "{what}: say what it lacks");
                if c.image.is_none() {
                    assert!(c.tag.contains("{version}"), "{what}: a variant keeps the version");
                    let rest = c.tag.replace("{version}", "").replace("{-flavor}", "").replace("{-suite}", "");
                    assert!(!rest.contains(['{', '}']), "{what}: unknown placeholder");
                }
                // A change of family is never safe.
                if c.family == Family::Change {
                    assert_ne!(c.level, MaxLevel::Safe, "{what}");
                }
                if c.checks == Checks::Same {
                    assert!(!c.lacks_commands.is_empty(), "{what}");
                }
                if c.level == MaxLevel::Safe {
                    assert_eq!(c.checks, Checks::DebianSlim, "{what}: only the slim check is strict enough for Safe");
                    assert!(c.min_version.is_some(), "{what}: a safe swap must say from which version the variant exists");
                }
            }
            for e in &i.eol {
                assert!(is_date(&e.since), "{}: eol date {}", i.name, e.since);
                assert!(!e.note.is_empty() && !e.source.is_empty());
            }
        }
        let c = &t.commands;
        for list in [&c.debian_slim, &c.busybox, &c.minimal, &c.builtins] {
            assert!(!list.contains(&"curl".to_string()) && !list.contains(&"wget".to_string()) && !list.contains(&"gcc".to_string()));
        }
        assert!(c.source_builds.iter().all(|e| e.split(' ').count() <= 2));
        assert_eq!(megabytes("1.11 GB"), Some(1110.0));
        assert_eq!(saving("1.11 GB", "119.2 MB").as_deref(), Some("~990 MB less"));
        assert_eq!(saving("unknown", "119.2 MB"), None);
    }

    #[test]
    fn references() {
        let r = parse_ref("docker.io/library/Python:3.12@sha256:abc").unwrap();
        assert_eq!(r.name, "python");
        assert_eq!(&"docker.io/library/Python:3.12@sha256:abc"[r.tag.unwrap()], "3.12");
        assert!(r.digest.is_some());
        let r = parse_ref("localhost:5000/team/app").unwrap();
        assert_eq!((r.name.as_str(), r.tag), ("localhost:5000/team/app", None));
        let r = parse_ref("mcr.microsoft.com/dotnet/sdk:8.0").unwrap();
        assert_eq!(r.name, "mcr.microsoft.com/dotnet/sdk");
        assert!(parse_ref("python:").is_none());
    }

    #[test]
    fn tags_keep_their_words() {
        let render = |image: &str, tag: &str| -> Vec<String> {
            let i = img(image);
            match parse_tag(i, tag) {
                TagShape::Parsed { version, flavor, suite } => {
                    i.candidate.iter().filter_map(|c| candidate_tag(c, &version, flavor.as_deref(), suite.as_deref())).collect()
                }
                other => vec![format!("{other:?}")],
            }
        };
        assert_eq!(render("python", "3.12"), ["3.12-slim", "3.12-alpine"]);
        assert_eq!(render("python", "3.12-bookworm"), ["3.12-slim-bookworm", "3.12-alpine"]);
        assert_eq!(render("python", "3.14-rc-bookworm"), ["3.14-rc-slim-bookworm", "3.14-rc-alpine"]);
        assert_eq!(render("python", "3.12-slim"), ["Small"]);
        assert_eq!(render("python", "3.12-windowsservercore"), ["Unknown"]);
        assert_eq!(render("node", "20-bullseye"), ["20-bullseye-slim", "20-alpine"]);
        assert_eq!(render("node", "lts"), ["lts-slim", "lts-alpine"]);
        assert!(render("node", "0.10.35").is_empty());
        assert_eq!(render("ruby", "2.6-stretch"), ["2.6-slim-stretch", "2.6-alpine"]);
        assert_eq!(render("debian", "bookworm-20240110"), ["bookworm-20240110-slim"]);
        assert_eq!(render("debian", "12.5"), ["12.5-slim"]);
        assert_eq!(render("debian", "bookworm-backports"), ["Unknown"]);
        assert_eq!(render("php", "7.3-fpm"), ["7.3-fpm-alpine"]);
        assert!(render("php", "8.3-apache-bookworm").is_empty());
        assert_eq!(render("nginx", "1.26.3-perl"), ["1.26.3-alpine-perl"]);
        assert_eq!(render("eclipse-temurin", "25-jdk-noble"), ["25-jre-noble"]);
        assert_eq!(render("eclipse-temurin", "25-jre-noble"), ["Small"]);
        assert_eq!(render("centos", "7"), ["3.24"]);
    }

    #[test]
    fn end_of_life() {
        let note = |image: &str, tag: Option<&str>| eol_for(img(image), tag).map(|e| e.since.clone());
        assert_eq!(note("python", Some("2.7.18-slim")).as_deref(), Some("2020-01-01"));
        assert_eq!(note("python", Some("3.10")), None);
        assert_eq!(note("python", Some("3.1")).as_deref(), Some("2020-09-30"));
        assert_eq!(note("python", Some("3.12")), None);
        assert_eq!(note("centos", None).as_deref(), Some("2021-12-31"));
        assert_eq!(note("centos", Some("centos7")).as_deref(), Some("2024-06-30"));
        assert_eq!(note("ubuntu", Some("14.04")).as_deref(), Some("2019-04-25"));
        assert_eq!(note("ubuntu", Some("22.04")), None);
        assert_eq!(note("openjdk", Some("17-jdk")).as_deref(), Some("2022-07"));
    }

    #[test]
    fn arg_expansion() {
        let d = Document::parse("ARG PY=3.12\nARG BASE=\"python:3.11\"\nARG NONE\nFROM python:${PY}-bookworm\n").unwrap();
        let ctx = Context::new(&d);
        let args = global_args(&ctx);
        assert_eq!(
            expand("python:${PY}-bookworm", &args).unwrap(),
            vec![Piece::Literal(0, "python:".into()), Piece::Var("PY".into(), "3.12".into()), Piece::Literal(12, "-bookworm".into())]
        );
        assert_eq!(joined(&expand("$BASE", &args).unwrap()), "python:3.11");
        assert_eq!(&d.text()[args[1].value_range.clone().unwrap()], "python:3.11");
        assert!(expand("python:${NONE}", &args).is_none());
        assert_eq!(joined(&expand("python:${NONE:-3.9}", &args).unwrap()), "python:3.9");
        assert!(expand("python:${PY%.*}", &args).is_none());
        assert!(mentions("RUN echo ${PY}", "PY") && mentions("RUN echo $PY/x", "PY") && !mentions("RUN echo $PYTHON", "PY"));
    }

    #[test]
    fn pip_installs() {
        let a = |s: &str| s.split(' ').map(|w| Some(w.to_string())).collect::<Vec<_>>();
        assert!(pip_builds_nothing(&a("install --upgrade pip setuptools wheel")));
        assert!(pip_builds_nothing(&a("install --only-binary :all: numpy")));
        assert!(!pip_builds_nothing(&a("install -r requirements.txt")));
        assert!(!pip_builds_nothing(&a("install psycopg2")));
        assert!(!pip_builds_nothing(&a("install")));
    }
}
