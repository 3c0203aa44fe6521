//! SF005 layer-waste: bytes that ship in a layer but are never used, found
//! before the build from the Dockerfile and its build context.
//!
//! What commands do to a path (use, change, delete, move, download) is
//! data: `transforms/layer_waste.toml`.

use super::dockerignore::IgnoreRules;
use super::Transform;
use crate::context::Context;
use crate::fix::{Edit, Finding, Fix, Level};
use crate::shell::{Command, Script};
use crate::syntax::{Form, Instruction, NodeKind};
use serde::Deserialize;
use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

pub struct LayerWaste;

const DOCS: &str = r#"# SF005 layer-waste

## What it does
Follows, stage by stage, the paths each instruction adds to the image:
files and directories copied from the build context by `COPY` (with their
sizes, when the build context can be read), and paths a RUN creates in a
way the shell parse makes clear (`curl -o`/`-O`, `wget -O`/URL,
`git clone`, `tar -x -C DIR`, `unzip -d DIR`). Then it reads every later
RUN of the stage for what it does to them: uses (a literal argument naming
the path or a directory above it), changes in place (`chmod`, `chown`,
`touch`, `sed -i`, `>>`), moves (`mv`, `gunzip`) and deletes (`rm`). Each
finding says how many bytes it wastes, or "unknown size".

Fixes, each with its level:
- **COPY then chmod/chown** of exactly the copied file, in the next RUN:
  the mode or owner moves into the COPY (`COPY --chmod=755`,
  `COPY --chown=app:app`) and the command goes away. **Safe** when the
  mode is octal, the owner is literal, the build context shows the source
  is one regular file and the COPY has no such flag yet; **unsafe** when
  the source may be a directory (`--chmod` then also changes every file
  inside) or comes from another stage.
- **A file copied only to be used by one RUN and deleted**: the COPY goes,
  and that RUN reads the file through a BuildKit bind mount
  (`RUN --mount=type=bind,source=app.tar,target=/tmp/app.tar ...`); the
  `rm` of it (which a mount would refuse) and RUNs that only touch, chmod
  or delete it go too. **Safe** only when the context shows one regular
  file, every command of that RUN is one that only reads the files it
  names and none copies or links it elsewhere (`cp -a` would keep the
  owner the mount shows), and no other RUN changes the file; otherwise
  **unsafe**. A
  directory is mounted with `rw` (the RUN may write into it; the writes are
  thrown away, as the `rm` threw them away before), always unsafe.
- **An archive or package kept in the image** after the only RUN that uses
  it extracted or installed it (`tar -x`, `unzip`, `dpkg -i`, `pip install`
  of a wheel): the same bind mount, **unsafe** (the file is then no longer
  in the image).
- **A COPY then rm with nothing in between using it**: the COPY, and the
  commands that only touch or delete the file, are removed. **Unsafe**.
- A file changed in place or moved in a later layer, and a download or
  clone deleted in a later RUN, are reported: the first layer keeps the
  bytes. Consecutive RUNs are merged by SF001 merge-runs, which fixes the
  download, extract and delete split over RUNs; SF005 does not edit them.

## Why
A layer never shrinks: a file deleted by a later RUN still ships in the
layer that added it, and a file changed by a later RUN (even `touch` or
`chmod`) is copied whole into that RUN's layer. The seed example: on
`debian:bookworm-slim`, `COPY resource.tar /`, `RUN touch /resource.tar`,
`RUN rm -f /resource.tar` with a 10 MiB archive adds 21.0 MB to the image
(98,943,488 bytes against the base's 77,944,832, measured with
`../shared/tools/imgsize.sh`) and leaves no file behind; with the
archive used by `tar -x` before the `rm`, the bind-mount rewrite takes
the image from 109,433,856 to 88,435,200 bytes.

## Example
```dockerfile
FROM debian:bookworm-slim
COPY resource.tar /tmp/resource.tar
RUN mkdir -p /opt/resource && tar -xf /tmp/resource.tar -C /opt/resource && rm /tmp/resource.tar
```
becomes
```dockerfile
FROM debian:bookworm-slim
RUN --mount=type=bind,source=resource.tar,target=/tmp/resource.tar mkdir -p /opt/resource && tar -xf /tmp/resource.tar -C /opt/resource
```

## When it is not applied
- Without a readable build context sizes are "unknown size", and fixes
  that are safe only for a regular file are unsafe.
- `RUN --mount` and `COPY --chmod` need BuildKit (the default builder of
  Docker Engine 23 and later, and of `docker buildx`; buildah and podman
  also take them). The classic builder (`DOCKER_BUILDKIT=0`) rejects them.
- Sources with wildcards or variables, several sources, `COPY --parents`,
  `--exclude`, `ADD`, a destination that may or may not be a directory
  (`COPY app.tar /data`), a relative destination before any absolute
  `WORKDIR`, heredocs, exec-form or non-POSIX RUNs: not tracked.
- A path that another RUN may read (a command slimfile does not know, such
  as a script or `make`, or an argument with an expansion) is not
  unused, and no fix moves it.
- `# slimfile ignore=SF005` above the COPY or RUN.
"#;

// ------------------------------------------------------------------ data

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub commands: Commands,
    pub archive_extensions: Vec<String>,
    pub package_cache: Vec<PackageCache>,
    pub ignore: Vec<IgnoreEntry>,
}

/// One `.dockerignore` proposal of SF006 (see the TOML file's header).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreEntry {
    pub pattern: String,
    pub what: String,
    #[serde(default)]
    pub keep: Vec<String>,
    #[serde(default)]
    pub unless_commands: Vec<String>,
    #[serde(default)]
    pub unless_words: Vec<String>,
    #[serde(default)]
    pub unless_manifest: Vec<String>,
    #[serde(default)]
    pub only_with_commands: Vec<String>,
    #[serde(default)]
    pub only_with_files: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commands {
    pub explicit: Vec<String>,
    pub silent: Vec<String>,
    pub modify: Vec<String>,
    pub delete: Vec<String>,
    #[serde(rename = "move")]
    pub move_: Vec<String>,
    pub consume: Vec<String>,
    pub install: Vec<String>,
    pub download: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageCache {
    pub manager: String,
    pub bytes: u64,
    pub source: String,
}

pub static TABLE: LazyLock<Table> = LazyLock::new(|| {
    toml::from_str(include_str!("../../transforms/layer_waste.toml")).expect("transforms/layer_waste.toml is valid (checked by a test)")
});

fn has(list: &[String], name: &str) -> bool {
    list.iter().any(|x| x == name)
}

// ------------------------------------------------------------------ sizes

pub use crate::report::human;

fn show(size: Option<u64>) -> String {
    size.map_or_else(|| "unknown size".to_string(), human)
}

/// Size and kind (`true`: a directory) of a COPY source in the build
/// context, files excluded by `.dockerignore` left out. `None` when the
/// source is not there or cannot be read.
pub fn context_entry(dir: &Path, rel: &str, rules: &IgnoreRules) -> Option<(u64, bool)> {
    let rel = rel.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
    if rel.is_empty() || rel.split('/').any(|c| c == "..") {
        return None;
    }
    if rules.is_ignored(rel) {
        return None;
    }
    let path = dir.join(rel);
    let meta = std::fs::metadata(&path).ok()?;
    if meta.is_dir() {
        Some((dir_size(dir, rel, rules), true))
    } else {
        Some((meta.len(), false))
    }
}

/// Bytes of the regular files under `rel` (symlinks not followed, ignored
/// files left out).
pub fn dir_size(root: &Path, rel: &str, rules: &IgnoreRules) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else { return 0 };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let child = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        if rules.is_ignored(&child) {
            continue;
        }
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            total += dir_size(root, &child, rules);
        } else if ft.is_file() {
            total += e.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    total
}

// ------------------------------------------------------------------ paths

/// `p` made absolute against `base` and normalised (`.`, `..`, `//` and a
/// trailing `/` removed). `None` for a relative path without a base.
pub fn resolve(base: Option<&str>, p: &str) -> Option<String> {
    let joined = if p.starts_with('/') { p.to_string() } else { format!("{}/{p}", base?) };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

fn basename(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

/// True when `dir` is `p` or a directory above it.
fn is_within(p: &str, dir: &str) -> bool {
    p == dir || dir == "/" || p.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Directories that exist in every image: a COPY to them without a
/// trailing slash still puts the file inside; and a tree unpacked there is
/// not something a later RUN can delete wholesale.
const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/tmp",
    "/var/tmp",
    "/opt",
    "/usr",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/lib",
    "/usr/local/share",
    "/usr/bin",
    "/usr/lib",
    "/usr/share",
    "/usr/src",
    "/bin",
    "/sbin",
    "/lib",
    "/etc",
    "/root",
    "/home",
    "/srv",
    "/var",
    "/var/lib",
];

/// How an argument relates to a tracked path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Equal,
    /// A directory above the path (or a glob matching one).
    Above,
    /// Inside the path (when it is a directory).
    Inside,
    /// A relative argument with an unknown working directory and the same
    /// file name: maybe.
    Maybe,
    Unrelated,
}

fn relation(cwd: Option<&str>, arg: &str, p: &str) -> Rel {
    if has_glob(arg) {
        let Some(abs) = resolve(cwd, arg) else {
            return if basename(arg) == basename(p) { Rel::Maybe } else { Rel::Unrelated };
        };
        let Ok(g) = globset::GlobBuilder::new(&abs).literal_separator(true).build() else { return Rel::Maybe };
        let m = g.compile_matcher();
        if m.is_match(p) {
            return Rel::Equal;
        }
        let mut cur = p;
        while let Some(i) = cur.rfind('/') {
            cur = &cur[..i];
            if !cur.is_empty() && m.is_match(cur) {
                return Rel::Above;
            }
        }
        return Rel::Unrelated;
    }
    let Some(abs) = resolve(cwd, arg) else {
        return if basename(arg) == basename(p) { Rel::Maybe } else { Rel::Unrelated };
    };
    if abs == p {
        Rel::Equal
    } else if is_within(p, &abs) {
        Rel::Above
    } else if is_within(&abs, p) {
        Rel::Inside
    } else {
        Rel::Unrelated
    }
}

// ------------------------------------------------------------------ COPY

/// A COPY of one literal source that SF005 can follow.
#[derive(Debug, Clone)]
struct Copied {
    node: usize,
    /// The source as written, relative to the context (or to `from`).
    src: String,
    from: Option<String>,
    /// Absolute path in the image.
    path: String,
    /// From the build context: `Some(true)` a directory, `Some(false)` a
    /// regular file.
    is_dir: Option<bool>,
    size: Option<u64>,
    /// Flags other than `--from` and `--link` (which a mount cannot keep).
    other_flags: bool,
    has_chmod: bool,
    has_chown: bool,
}

/// The words of a COPY/ADD (exec or shell form), or `None` when one is not
/// literal.
fn copy_words(ins: &Instruction) -> Option<Vec<String>> {
    let words: Vec<String> = match ins.form() {
        Form::Exec(v) => v,
        Form::Shell => {
            let mut out = Vec::new();
            let mut pos = 0;
            let a = &ins.args;
            while pos < a.len() {
                let rest = &a[pos..];
                let t = rest.trim_start();
                pos += rest.len() - t.len();
                if pos >= a.len() {
                    break;
                }
                let end = crate::syntax::word_end(a, pos);
                out.push(crate::syntax::unquote(&a[pos..end]));
                pos = end.max(pos + 1);
            }
            out
        }
    };
    if words.iter().any(|w| w.contains('$')) {
        return None;
    }
    Some(words)
}

fn parse_copy(ctx: &Context, node: usize, ins: &Instruction, workdir: Option<&str>, rules: &Option<IgnoreRules>) -> Option<Copied> {
    if !ins.is("COPY") || !ins.heredocs.is_empty() {
        return None;
    }
    let mut from = None;
    let mut other_flags = false;
    for f in &ins.flags {
        match f.name.as_str() {
            "from" => from = Some(f.value.clone()?),
            "link" => {}
            "chmod" | "chown" => other_flags = true,
            _ => return None,
        }
    }
    if from.as_deref().is_some_and(|f| f.contains('$')) {
        return None;
    }
    let words = copy_words(ins)?;
    let [src, dest] = words.as_slice() else { return None };
    if has_glob(src) || src.contains("://") || src.split('/').any(|c| c == "..") {
        return None;
    }
    let src_clean = src.split('/').filter(|c| !c.is_empty() && *c != ".").collect::<Vec<_>>().join("/");
    if src_clean.is_empty() || src_clean.contains([',', '=', '"', '\'']) {
        return None;
    }
    let src_says_dir = src.ends_with('/') || src.ends_with("/.");
    let entry = match (&ctx.build_context, rules, &from) {
        (Some(dir), Some(r), None) => context_entry(dir, &src_clean, r),
        _ => None,
    };
    let is_dir = entry.map(|e| e.1).or(if src_says_dir { Some(true) } else { None });
    // Without the context, a source with no extension may well be a
    // directory, whose contents land elsewhere: not followed.
    if is_dir.is_none() && !basename(&src_clean).contains('.') {
        return None;
    }
    let dest_abs = resolve(workdir, dest)?;
    let dest_is_dir = dest.ends_with('/') || dest == "." || SYSTEM_DIRS.contains(&dest_abs.as_str());
    let path = if is_dir == Some(true) {
        // The directory's contents go into dest: follow dest itself, but
        // not when it is a directory every image has.
        if SYSTEM_DIRS.contains(&dest_abs.as_str()) || dest == "." {
            return None;
        }
        dest_abs
    } else if dest_is_dir {
        resolve(Some(&dest_abs), basename(&src_clean))?
    } else if basename(&dest_abs) == basename(&src_clean) || is_dir == Some(false) && dest_abs.contains('.') {
        dest_abs
    } else {
        return None;
    };
    if path.contains([',', '=', '"', '\'', '$']) || SYSTEM_DIRS.contains(&path.as_str()) {
        return None;
    }
    Some(Copied {
        node,
        src: src_clean,
        from,
        path,
        is_dir,
        size: entry.map(|e| e.0),
        other_flags,
        has_chmod: ins.flag("chmod").is_some(),
        has_chown: ins.flag("chown").is_some(),
    })
}

// ------------------------------------------------------------------ RUN effects

/// What one RUN does to one path.
#[derive(Debug, Default, Clone)]
struct Effect {
    /// A command names it (or a directory above or inside it).
    uses: bool,
    /// A command may read it (unknown program, an expansion).
    maybe: bool,
    /// `mv`, `gunzip`: its bytes move elsewhere.
    moves: bool,
    /// In-place changes: (what, command range in the body).
    modifies: Vec<(String, Range<usize>)>,
    /// A change touches only files inside the path (a directory): only
    /// those are copied again.
    partial: bool,
    /// `rm` of the path itself (`exact`: it is a literal operand) or of a
    /// directory above it.
    deletes: Vec<Deletion>,
    /// The RUN reads only files it names (every command is known).
    all_known: bool,
    /// Reads by an extract/install command.
    installs: bool,
    /// Copied or linked elsewhere (`cp`, `ln`, `install`): the copy may keep
    /// the owner and mode the mount shows, which can differ from COPY's.
    copies: bool,
    /// Number of simple commands in the body.
    commands: usize,
    /// The body could not be read.
    unreadable: bool,
}

#[derive(Debug, Clone)]
struct Deletion {
    cmd: Range<usize>,
    /// The path is a literal operand (not a glob or a parent).
    exact: bool,
    /// The word naming it, and whether it is the only operand.
    word: Range<usize>,
    only_operand: bool,
    force: bool,
}

/// `>`/`>>` redirect targets in a command's text.
fn redirect_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'>' => {
                let mut j = i + 1;
                while j < b.len() && (b[j] == b'>' || b[j] == b'|') {
                    j += 1;
                }
                while j < b.len() && b[j] == b' ' {
                    j += 1;
                }
                if b.get(j) == Some(&b'&') {
                    i = j;
                    continue;
                }
                let end = crate::syntax::word_end(text, j);
                if end > j {
                    out.push(crate::syntax::unquote(&text[j..end]));
                }
                i = end.max(i + 1);
                continue;
            }
            None => {}
        }
        i += 1;
    }
    out
}

fn is_recursive(args: &[crate::shell::Word]) -> bool {
    args.iter()
        .filter_map(|w| w.literal.as_deref())
        .any(|a| a == "--recursive" || (a.starts_with('-') && !a.starts_with("--") && a.contains(['r', 'R'])))
}

fn has_short(args: &[crate::shell::Word], c: char, long: &str) -> bool {
    args.iter().filter_map(|w| w.literal.as_deref()).any(|a| a == long || (a.starts_with('-') && !a.starts_with("--") && a.contains(c)))
}

fn effect(script: &Script, workdir: Option<&str>, p: &str) -> Effect {
    let t = &TABLE.commands;
    let mut e = Effect { all_known: true, ..Effect::default() };
    let mut cwd = workdir.map(str::to_string);
    let commands = script.command_list();
    e.commands = commands.len();
    for cmd in commands {
        let cwd_owned = cwd.clone();
        let cwd_ref = cwd_owned.as_deref();
        for target in redirect_targets(&script.src[cmd.range.clone()]) {
            match relation(cwd_ref, &target, p) {
                Rel::Equal => e.modifies.push(("a redirection".into(), cmd.range.clone())),
                Rel::Maybe => e.maybe = true,
                _ => {}
            }
        }
        let Some(start) = cmd.effective_start() else {
            e.maybe = true;
            e.all_known = false;
            continue;
        };
        let Some(raw_name) = cmd.words[start].literal.as_deref() else {
            e.maybe = true;
            e.all_known = false;
            continue;
        };
        // The path run as a program.
        if raw_name.contains('/') && matches!(relation(cwd_ref, raw_name, p), Rel::Equal | Rel::Inside) {
            e.uses = true;
        }
        let name = basename(raw_name);
        let args = &cmd.words[start + 1..];
        if name == "cd" {
            if !cmd.in_subshell {
                cwd = args.first().and_then(|w| w.literal.as_deref()).and_then(|d| resolve(cwd_ref, d));
            }
            for w in args {
                if let Some(l) = &w.literal {
                    if matches!(relation(cwd_ref, l, p), Rel::Equal | Rel::Inside) {
                        e.uses = true;
                    }
                }
            }
            continue;
        }
        let known = has(&t.explicit, name);
        if !known {
            e.maybe = true;
            e.all_known = false;
        }
        let silent = has(&t.silent, name);
        let recursive = is_recursive(args);
        let in_place = (name == "sed" || name == "perl")
            && args.iter().filter_map(|w| w.literal.as_deref()).any(|a| a.starts_with("-i") || a == "--in-place" || a.starts_with("-pi"));
        let keep = has_short(args, 'k', "--keep") || has_short(args, 'c', "--stdout");
        let operands: Vec<&crate::shell::Word> =
            args.iter().filter(|w| w.literal.as_deref().is_none_or(|l| !l.starts_with('-') || l == "-")).collect();
        for w in args {
            let Some(lit) = w.literal.as_deref() else {
                if !silent {
                    e.maybe = true;
                }
                continue;
            };
            let lit = if lit.starts_with('-') {
                match lit.split_once('=') {
                    Some((_, v)) => v,
                    None => continue,
                }
            } else {
                lit
            };
            let rel = relation(cwd_ref, lit, p);
            if rel == Rel::Unrelated {
                continue;
            }
            if rel == Rel::Maybe {
                e.maybe = true;
                continue;
            }
            if has(&t.delete, name) {
                match rel {
                    Rel::Equal => e.deletes.push(Deletion {
                        cmd: cmd.range.clone(),
                        exact: !has_glob(lit),
                        word: w.range.clone(),
                        only_operand: operands.len() == 1,
                        force: has_short(args, 'f', "--force"),
                    }),
                    Rel::Above if recursive => e.deletes.push(Deletion {
                        cmd: cmd.range.clone(),
                        exact: false,
                        word: w.range.clone(),
                        only_operand: false,
                        force: true,
                    }),
                    Rel::Inside => {
                        e.modifies.push(("rm".into(), cmd.range.clone()));
                        e.partial = true;
                    }
                    _ => {}
                }
            } else if has(&t.move_, name) {
                if matches!(rel, Rel::Equal | Rel::Above) {
                    e.moves = true;
                }
            } else if has(&t.consume, name) && !keep {
                if rel == Rel::Equal {
                    e.moves = true;
                }
            } else if has(&t.modify, name) && (name != "sed" && name != "perl" || in_place) {
                if rel == Rel::Equal || (rel == Rel::Above && recursive) || rel == Rel::Inside {
                    e.modifies.push((name.to_string(), cmd.range.clone()));
                    if rel == Rel::Inside {
                        e.partial = true;
                    }
                }
            } else {
                e.uses = true;
                if has(&t.install, name) {
                    e.installs = true;
                }
                if matches!(name, "cp" | "ln" | "install" | "rsync" | "cpio") {
                    e.copies = true;
                }
            }
        }
    }
    e
}

/// The effect of the RUN at `node` on `p` (unreadable bodies may do
/// anything).
fn run_effect(ctx: &Context, node: usize, workdir: Option<&str>, p: &str) -> Effect {
    match ctx.script(node) {
        Some(s) => effect(s, workdir, p),
        None => Effect { maybe: true, unreadable: true, ..Effect::default() },
    }
}

// ------------------------------------------------------------------ edits

/// An edit that deletes the instruction node `node` (its whole lines), or
/// for the last line of a file without a final newline, that line and the
/// line break before it.
fn delete_node(ctx: &Context, node: usize) -> Edit {
    let text = ctx.doc.text();
    let r = ctx.doc.nodes[node].range.clone();
    if r.end == text.len() && !text.ends_with('\n') {
        let mut start = r.start;
        if text[..start].ends_with("\r\n") {
            start -= 2;
        } else if text[..start].ends_with('\n') {
            start -= 1;
        }
        return Edit { range: start..r.end, replacement: String::new() };
    }
    Edit { range: r, replacement: String::new() }
}

/// Edits that take the command at `cmd` (body range) out of the RUN at
/// `node`: the whole RUN when it is its only command.
fn remove_command(ctx: &Context, node: usize, cmd: &Range<usize>, commands: usize) -> Option<Edit> {
    let ins = ctx.instruction(node)?;
    if commands == 1 && ins.flags.is_empty() {
        return Some(delete_node(ctx, node));
    }
    let script = ctx.script(node)?;
    let r = script.removal(cmd.clone()).or_else(|| remove_last(ctx, script, cmd))?;
    let src = ins.args_range_to_source(r.clone());
    if r.end > r.start && src.end <= src.start {
        return None;
    }
    if ctx.doc.text()[src.clone()].contains('#') {
        return None;
    }
    Some(Edit { range: src, replacement: String::new() })
}

/// The body range that takes out the last command of a top-level `&&`
/// chain with the `&&` before it, checked by parsing the rest: the other
/// commands must stay exactly as they were.
fn remove_last(ctx: &Context, script: &Script, cmd: &Range<usize>) -> Option<Range<usize>> {
    let src = &script.src;
    if !src[cmd.end..].trim().is_empty() {
        return None;
    }
    let head = src[..cmd.start].trim_end();
    let head = head.strip_suffix("&&")?.trim_end();
    let r = head.len()..cmd.end;
    let rest = format!("{}{}", &src[..r.start], &src[r.end..]);
    let parsed = ctx.parse_shell(&rest)?;
    let before: Vec<String> = script.command_list().iter().filter(|c| c.range != *cmd).map(|c| src[c.range.clone()].to_string()).collect();
    let after: Vec<String> = parsed.command_list().iter().map(|c| rest[c.range.clone()].to_string()).collect();
    if before != after || script.command_list().iter().any(|c| c.range == *cmd && (c.in_subshell || c.conditional)) {
        return None;
    }
    Some(r)
}

/// Takes an `rm` of the path out of a RUN: the command, or just the word
/// when it has other operands. `None` when the rm must stay and would fail
/// without the file.
fn remove_deletion(ctx: &Context, node: usize, d: &Deletion, commands: usize) -> Result<Option<Edit>, ()> {
    if !d.exact {
        return Ok(None);
    }
    if d.only_operand {
        return match remove_command(ctx, node, &d.cmd, commands) {
            Some(e) => Ok(Some(e)),
            None if d.force => Ok(None),
            None => Err(()),
        };
    }
    let ins = ctx.instruction(node).ok_or(())?;
    // The word and the blanks before it.
    let before = ins.args[..d.word.start].trim_end_matches([' ', '\t']).len();
    let src = ins.args_range_to_source(before..d.word.end);
    if ctx.doc.text()[src.clone()].contains(['\n', '#']) {
        return if d.force { Ok(None) } else { Err(()) };
    }
    Ok(Some(Edit { range: src, replacement: String::new() }))
}

// ------------------------------------------------------------------ analysis

/// One finding of SF005 with the bytes it wastes.
#[derive(Debug, Clone)]
pub struct Waste {
    /// The instruction the finding is about.
    pub node: usize,
    /// Bytes that ship for nothing, when known.
    pub bytes: Option<u64>,
    /// The layers that hold those bytes: (instruction node, bytes), known
    /// sizes only (`slimfile explain` shows them per instruction).
    pub layers: Vec<(usize, u64)>,
    pub message: String,
    pub fix: Option<Fix>,
}

/// True when the directory a COPY writes into exists before it: a standard
/// directory of the base image, or the WORKDIR. Otherwise the COPY creates
/// it (owned by `--chown`'s user, and gone when the COPY is removed).
fn parent_surely_exists(ctx: &Context, c: &Copied) -> bool {
    let parent = c.path.rsplit_once('/').map_or("/", |(p, _)| if p.is_empty() { "/" } else { p });
    matches!(
        parent,
        "/" | "/tmp"
            | "/etc"
            | "/opt"
            | "/srv"
            | "/var"
            | "/root"
            | "/home"
            | "/usr/bin"
            | "/usr/local/bin"
            | "/usr/local/lib"
            | "/usr/local/share"
            | "/usr/share"
            | "/usr/lib"
            | "/bin"
            | "/sbin"
            | "/usr/sbin"
            | "/usr/local/sbin"
    ) || ctx.stage_of(c.node).is_some_and(|st| {
        workdirs(ctx, st).get(c.node - ctx.stages[st].from_node).cloned().flatten().is_some_and(|w| w.trim_end_matches('/') == parent)
    })
}

/// Per node of a stage: the absolute WORKDIR in force (`None`: unknown).
fn workdirs(ctx: &Context, stage: usize) -> Vec<Option<String>> {
    let st = &ctx.stages[stage];
    let mut cur: Option<String> = if st.image == "scratch" { Some("/".into()) } else { None };
    let mut out = Vec::new();
    for n in st.from_node..st.end_node {
        if let Some(ins) = ctx.instruction(n) {
            if ins.is("WORKDIR") {
                let arg = ins.args.trim();
                cur = if arg.contains('$') { None } else { resolve(cur.as_deref(), &crate::syntax::unquote(arg)) };
            }
        }
        out.push(cur.clone());
    }
    out
}

/// True when a later stage copies from `stage` or is built on it.
fn stage_is_reused(ctx: &Context, stage: usize) -> bool {
    if !ctx.derived_stages(stage).is_empty() {
        return true;
    }
    let name = ctx.stages[stage].name.clone();
    let index = stage.to_string();
    ctx.doc.instructions().any(|(_, i)| {
        (i.is("COPY") || i.is("ADD") || i.is("RUN"))
            && i.flags.iter().any(|f| {
                let v = f.value.as_deref().unwrap_or("").to_ascii_lowercase();
                (f.name == "from" && (Some(&v) == name.as_ref() || v == index))
                    || (f.name == "mount" && v.split(',').any(|kv| name.as_ref().is_some_and(|n| kv == format!("from={n}"))))
            })
    })
}

fn line_of(ctx: &Context, node: usize) -> usize {
    ctx.instruction(node).map_or(0, |i| i.line)
}

fn lines_list(v: &[usize]) -> String {
    match v.len() {
        0 => String::new(),
        1 => v[0].to_string(),
        _ => format!("{} and {}", v[..v.len() - 1].iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", "), v[v.len() - 1]),
    }
}

/// Every waste of the document (ignore pragmas not applied).
pub fn analyse(ctx: &Context) -> Vec<Waste> {
    let rules = ctx.build_context.as_ref().map(|d| IgnoreRules::load(d));
    let mut out = Vec::new();
    for stage in 0..ctx.stages.len() {
        let st = &ctx.stages[stage];
        let wd = workdirs(ctx, stage);
        let wd_at = |n: usize| wd[n - st.from_node].clone();
        for n in st.from_node + 1..st.end_node {
            let Some(ins) = ctx.instruction(n) else { continue };
            if ins.is("COPY") {
                if let Some(c) = parse_copy(ctx, n, ins, wd_at(n).as_deref(), &rules) {
                    if let Some(w) = copied_waste(ctx, stage, &c, &wd_at) {
                        out.push(w);
                    }
                }
            } else if ins.is("RUN") {
                out.extend(created_waste(ctx, stage, n, &wd_at));
            }
        }
    }
    out
}

/// The later instructions of the stage after `node`, up to one that
/// copies over `p` again.
fn later_nodes(ctx: &Context, stage: usize, node: usize, p: &str, wd_at: &dyn Fn(usize) -> Option<String>) -> Vec<usize> {
    let mut out = Vec::new();
    for n in node + 1..ctx.stages[stage].end_node {
        let Some(ins) = ctx.instruction(n) else { continue };
        if ins.is("COPY") || ins.is("ADD") {
            let dest = copy_words(ins).and_then(|w| w.last().cloned());
            let over = dest.and_then(|d| resolve(wd_at(n).as_deref(), &d)).is_none_or(|d| is_within(p, &d) || is_within(&d, p));
            if over {
                break;
            }
        }
        out.push(n);
    }
    out
}

fn copied_waste(ctx: &Context, stage: usize, c: &Copied, wd_at: &dyn Fn(usize) -> Option<String>) -> Option<Waste> {
    let p = c.path.as_str();
    let copy_line = line_of(ctx, c.node);
    let what = format!("`{p}` ({})", show(c.size));
    let later = later_nodes(ctx, stage, c.node, p, wd_at);
    let runs: Vec<(usize, Effect)> = later
        .iter()
        .filter(|&&n| ctx.instruction(n).is_some_and(|i| i.is("RUN")))
        .map(|&n| (n, run_effect(ctx, n, wd_at(n).as_deref(), p)))
        .collect();
    if let Some(w) = chmod_after_copy(ctx, c, &later, wd_at) {
        return Some(w);
    }
    let gone = runs.iter().position(|(_, e)| !e.deletes.is_empty() || e.moves);
    let Some(gi) = gone else {
        return kept(ctx, stage, c, &runs, &later);
    };
    let (dn, de) = &runs[gi];
    let dline = line_of(ctx, *dn);
    let before = &runs[..gi];
    let changed: Vec<&(usize, Effect)> = before.iter().filter(|(_, e)| !e.modifies.is_empty()).collect();
    let partial = changed.iter().any(|(_, e)| e.partial);
    let copies = if partial { 1 } else { 1 + changed.len() as u64 };
    let layers: Vec<(usize, u64)> = match c.size {
        Some(sz) if !partial => std::iter::once((c.node, sz)).chain(changed.iter().map(|(n, _)| (*n, sz))).collect(),
        Some(sz) => vec![(c.node, sz)],
        None => Vec::new(),
    };
    let bytes = c.size.map(|s| s * copies);
    let changed_note = if changed.is_empty() {
        String::new()
    } else {
        let lines: Vec<usize> = changed.iter().map(|(n, _)| line_of(ctx, *n)).collect();
        let how: Vec<String> = changed.iter().map(|(_, e)| format!("`{}`", e.modifies[0].0)).collect();
        if partial {
            format!(
                ", with files inside changed by {} on line {} (each changed file is copied again into that layer)",
                how.join(", "),
                lines_list(&lines)
            )
        } else {
            format!(", changed by {} on line {} (each change copies it whole into that layer)", how.join(", "), lines_list(&lines))
        }
    };
    if de.moves && de.deletes.is_empty() {
        let bytes = c.size;
        return Some(Waste {
            node: c.node,
            bytes,
            layers: c.size.map(|sz| vec![(c.node, sz)]).unwrap_or_default(),
            message: format!(
                "{what} is copied on line {copy_line} and moved away on line {dline}: the copy in line {copy_line}'s layer still ships ({}); COPY it straight to where it goes",
                show(bytes)
            ),
            fix: None,
        });
    }
    let users: Vec<&(usize, Effect)> = runs[..=gi].iter().filter(|(_, e)| e.uses || e.maybe || e.moves || e.unreadable).collect();
    let total = format!("{} ship{} for nothing", show(bytes), if bytes.is_some() { "" } else { "s" });
    if users.is_empty() {
        // Removing the COPY would also remove the directory it creates,
        // which a later instruction may write into.
        let fix = if parent_surely_exists(ctx, c) { unused_fix(ctx, c, before, (*dn, de)) } else { None };
        return Some(Waste {
            node: c.node,
            bytes,
            layers,
            message: format!(
                "{what} is copied on line {copy_line}{changed_note} and deleted on line {dline} without being used: {total}; remove the COPY{}",
                if fix.is_some() { " and the commands that only handle it" } else { "" }
            ),
            fix,
        });
    }
    if users.len() > 1 {
        let lines: Vec<usize> = users.iter().map(|(n, _)| line_of(ctx, *n)).collect();
        return Some(Waste {
            node: c.node,
            bytes,
            layers,
            message: format!(
                "{what} is copied on line {copy_line}{changed_note}, used on lines {} and deleted on line {dline}: {total}; use and delete it in one RUN with a bind mount",
                lines_list(&lines)
            ),
            fix: None,
        });
    }
    let (un, ue) = users[0];
    let uline = line_of(ctx, *un);
    let fix = bind_fix(ctx, c, &runs[..=gi], *un, ue, true);
    let how = match &fix {
        Some(f) => format!(
            "; mount it in the RUN on line {uline} instead (`RUN --mount=type=bind`){}",
            if f.level == Level::Unsafe { " (unsafe)" } else { "" }
        ),
        None => format!("; not fixed: {}", bind_blocker(c, ue)),
    };
    Some(Waste {
        node: c.node,
        bytes,
        layers,
        message: format!(
            "{what} is copied on line {copy_line}{changed_note}, used on line {uline} and deleted on line {dline}: {total}{how}"
        ),
        fix,
    })
}

fn bind_blocker(c: &Copied, ue: &Effect) -> &'static str {
    if c.other_flags {
        "the COPY sets --chmod/--chown, which a mount cannot keep"
    } else if ue.moves {
        "that RUN moves it"
    } else if !ue.modifies.is_empty() {
        "that RUN changes it, and a bind mount is read-only"
    } else if ue.unreadable {
        "that RUN cannot be read"
    } else {
        "the rm of it in that RUN cannot be taken out"
    }
}

/// Removing the COPY and the commands that only change or delete the file.
fn unused_fix(ctx: &Context, c: &Copied, before: &[(usize, Effect)], (dn, de): (usize, &Effect)) -> Option<Fix> {
    let mut edits = vec![delete_node(ctx, c.node)];
    for (n, e) in before {
        edits.extend(drop_changes(ctx, *n, e)?);
    }
    edits.extend(drop_deletion(ctx, dn, de)?);
    Some(Fix { level: Level::Unsafe, edits: coalesce(ctx, edits)? })
}

/// Sorts a fix's edits and joins deletions that overlap or touch (two
/// deleted lines next to each other, the line break before a last line).
/// `None` when a replacement overlaps another edit.
fn coalesce(ctx: &Context, mut edits: Vec<Edit>) -> Option<Vec<Edit>> {
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out: Vec<Edit> = Vec::new();
    for e in edits {
        if let Some(last) = out.last_mut() {
            if e.range.start < last.range.end || (e.range.start == last.range.end && e.range.is_empty() && last.range.is_empty()) {
                if !e.replacement.is_empty() || !last.replacement.is_empty() {
                    return None;
                }
                last.range.end = last.range.end.max(e.range.end);
                continue;
            }
        }
        out.push(e);
    }
    // Deleting the last lines of a file without a final newline: the line
    // break before them goes too, so the file still ends without one.
    let text = ctx.doc.text();
    if let Some(last) = out.last_mut() {
        let starts_line = last.range.start == 0 || text[..last.range.start].ends_with('\n');
        if last.range.end == text.len() && !text.ends_with('\n') && last.replacement.is_empty() && starts_line {
            let before = &text[..last.range.start];
            last.range.start -= if before.ends_with("\r\n") {
                2
            } else if before.ends_with('\n') {
                1
            } else {
                0
            };
        }
    }
    Some(out)
}

/// Edits taking out a RUN's in-place changes of the path (the whole RUN
/// when that is all it does).
fn drop_changes(ctx: &Context, n: usize, e: &Effect) -> Option<Vec<Edit>> {
    if e.modifies.is_empty() {
        return Some(Vec::new());
    }
    let mut cmds: Vec<Range<usize>> = e.modifies.iter().map(|m| m.1.clone()).collect();
    cmds.dedup();
    if cmds.len() == e.commands && ctx.instruction(n)?.flags.is_empty() {
        return Some(vec![delete_node(ctx, n)]);
    }
    if cmds.len() > 1 {
        return None;
    }
    Some(vec![remove_command(ctx, n, &cmds[0], e.commands)?])
}

fn drop_deletion(ctx: &Context, n: usize, e: &Effect) -> Option<Vec<Edit>> {
    let exact: Vec<&Deletion> = e.deletes.iter().filter(|d| d.exact).collect();
    if exact.len() > 1 || !e.modifies.is_empty() {
        return None;
    }
    match exact.first() {
        None => Some(Vec::new()),
        Some(d) => match remove_deletion(ctx, n, d, e.commands) {
            Ok(Some(edit)) => Some(vec![edit]),
            Ok(None) => Some(Vec::new()),
            Err(()) => None,
        },
    }
}

/// The bind-mount rewrite: the COPY goes, the RUN at `un` mounts the file.
/// `deleted`: the file was deleted (else it was kept, and the fix is
/// unsafe).
fn bind_fix(ctx: &Context, c: &Copied, runs: &[(usize, Effect)], un: usize, ue: &Effect, deleted: bool) -> Option<Fix> {
    if c.other_flags || ue.moves || !ue.modifies.is_empty() || ue.unreadable {
        return None;
    }
    let uins = ctx.instruction(un)?;
    ctx.script(un)?;
    if uins.flags.iter().any(|f| f.name == "mount" && f.value.as_deref().is_some_and(|v| v.contains(&format!("={}", c.path)))) {
        return None;
    }
    let mut edits = vec![delete_node(ctx, c.node)];
    let mut level = Level::Safe;
    for (n, e) in runs {
        if *n == un {
            if e.deletes.iter().any(|d| !d.exact) {
                // `rm -rf /tmp/*` in the same RUN would hit the mount.
                return None;
            }
            edits.extend(drop_deletion(ctx, *n, e)?);
            continue;
        }
        if !e.modifies.is_empty() {
            level = Level::Unsafe;
            edits.extend(drop_changes(ctx, *n, e)?);
        }
        if !e.deletes.is_empty() {
            edits.extend(drop_deletion(ctx, *n, e)?);
        }
    }
    let is_file = c.is_dir == Some(false);
    if !deleted || !is_file || !ue.all_known || ue.maybe || ue.copies || c.from.is_some() {
        level = Level::Unsafe;
    }
    let from = c.from.as_ref().map(|f| format!(",from={f}")).unwrap_or_default();
    let rw = if c.is_dir == Some(false) { "" } else { ",rw" };
    let mount = format!("--mount=type=bind{from},source={},target={}{rw} ", c.src, c.path);
    let at = uins.flags.first().map_or(uins.args_start, |f| f.range.start);
    edits.push(Edit { range: at..at, replacement: mount });
    Some(Fix { level, edits: coalesce(ctx, edits)? })
}

/// A kept archive or package read only by one RUN that extracts or
/// installs it.
fn kept(ctx: &Context, stage: usize, c: &Copied, runs: &[(usize, Effect)], later: &[usize]) -> Option<Waste> {
    let p = c.path.as_str();
    let copy_line = line_of(ctx, c.node);
    let changed: Vec<&(usize, Effect)> = runs.iter().filter(|(_, e)| !e.modifies.is_empty()).collect();
    let is_archive = c.is_dir != Some(true) && TABLE.archive_extensions.iter().any(|x| basename(p).ends_with(x.as_str()));
    let users: Vec<&(usize, Effect)> = runs.iter().filter(|(_, e)| e.uses || e.maybe).collect();
    let explicit: Vec<&(usize, Effect)> = users.iter().copied().filter(|(_, e)| e.uses).collect();
    if is_archive && changed.is_empty() && explicit.len() == 1 && explicit[0].1.installs && !stage_is_reused(ctx, stage) {
        let mentioned_later = later.iter().any(|&n| {
            ctx.instruction(n).is_some_and(|i| {
                matches!(i.keyword.as_str(), "CMD" | "ENTRYPOINT" | "HEALTHCHECK" | "VOLUME") && i.args.contains(basename(p))
            })
        });
        let (un, ue) = explicit[0];
        if !mentioned_later {
            let fix = bind_fix(ctx, c, runs, *un, ue, false);
            return Some(Waste {
                node: c.node,
                bytes: c.size,
                layers: c.size.map(|sz| vec![(c.node, sz)]).unwrap_or_default(),
                message: format!(
                    "`{p}` ({}) is copied on line {copy_line} only to be unpacked or installed on line {} and then ships unused{}",
                    show(c.size),
                    line_of(ctx, *un),
                    if fix.is_some() { "; mount it in that RUN instead (unsafe: the file is no longer in the image)" } else { "" }
                ),
                fix,
            });
        }
    }
    let first = changed.first()?;
    let lines: Vec<usize> = changed.iter().map(|(n, _)| line_of(ctx, *n)).collect();
    let how: Vec<String> = changed.iter().map(|(_, e)| format!("`{}`", e.modifies[0].0)).collect();
    let _ = first;
    if changed.iter().any(|(_, e)| e.partial) {
        return Some(Waste {
            node: c.node,
            bytes: None,
            layers: Vec::new(),
            message: format!(
                "`{p}` ({}) is copied on line {copy_line} and files inside it are changed by {} on line {}: each changed file is copied again into that layer (unknown size); change them before the COPY, or in the same layer",
                show(c.size),
                how.join(", "),
                lines_list(&lines),
            ),
            fix: None,
        });
    }
    let bytes = c.size.map(|s| s * changed.len() as u64);
    Some(Waste {
        node: c.node,
        bytes,
        layers: c.size.map(|sz| changed.iter().map(|(n, _)| (*n, sz)).collect()).unwrap_or_default(),
        message: format!(
            "`{p}` ({}) is copied on line {copy_line} and changed by {} on line {}: each change copies it whole into another layer ({}); set the mode, owner or content before the COPY, or in the same layer",
            show(c.size),
            how.join(", "),
            lines_list(&lines),
            show(bytes)
        ),
        fix: None,
    })
}

/// `COPY` then `RUN chmod MODE path` / `chown OWNER path`: the flag on the
/// COPY.
fn chmod_after_copy(ctx: &Context, c: &Copied, later: &[usize], wd_at: &dyn Fn(usize) -> Option<String>) -> Option<Waste> {
    let &rn = later.first()?;
    let rins = ctx.instruction(rn)?;
    if !rins.is("RUN") || !rins.flags.is_empty() {
        return None;
    }
    let script = ctx.script(rn)?;
    let commands = script.command_list();
    let cmd: &Command = commands.first()?;
    if cmd.in_subshell || cmd.conditional || !cmd.assignments.is_empty() {
        return None;
    }
    let (name, args) = cmd.effective()?;
    if cmd.effective_start() != Some(0) || !matches!(name, "chmod" | "chown") {
        return None;
    }
    let mut recursive = false;
    let mut rest: Vec<&str> = Vec::new();
    for w in args {
        let l = w.literal.as_deref()?;
        if l == "-R" || l == "--recursive" {
            recursive = true;
        } else if l.starts_with('-') {
            return None;
        } else {
            rest.push(l);
        }
    }
    let [value, target] = rest.as_slice() else { return None };
    if resolve(wd_at(rn).as_deref(), target)? != c.path {
        return None;
    }
    let flag = if name == "chmod" {
        let ok = (3..=4).contains(&value.len()) && value.chars().all(|ch| ('0'..='7').contains(&ch));
        if !ok || c.has_chmod {
            return None;
        }
        "chmod"
    } else {
        let ok = value.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.' | ':')) && !value.is_empty();
        if !ok || c.has_chown {
            return None;
        }
        "chown"
    };
    // chmod of a directory without -R changes only the directory; --chmod
    // would change everything in it.
    if c.is_dir == Some(true) && !recursive {
        return None;
    }
    // COPY --chown also gives the user the directories the COPY creates;
    // a chown of the file did not. Safe only where the parent surely
    // exists already.
    let parent_exists = parent_surely_exists(ctx, c);
    let creates_parents = flag == "chown" && !parent_exists;
    let level = if c.is_dir == Some(false) && c.from.is_none() && !creates_parents { Level::Safe } else { Level::Unsafe };
    let ins = ctx.instruction(c.node)?;
    let mut edits = vec![Edit { range: ins.args_start..ins.args_start, replacement: format!("--{flag}={value} ") }];
    edits.push(remove_command(ctx, rn, &cmd.range, commands.len())?);
    let copy_line = line_of(ctx, c.node);
    let bytes = c.size;
    let why = if level == Level::Unsafe {
        if c.from.is_some() {
            " (unsafe: the source comes from another stage or image, and may be a directory)"
        } else if c.is_dir == Some(true) {
            " (unsafe: on a directory --chmod/--chown also sets the directory itself)"
        } else if creates_parents {
            " (unsafe: COPY --chown also gives the user the directories the COPY creates, which the chown of the file did not)"
        } else {
            " (unsafe: without the build context slimfile cannot see that the source is one file)"
        }
    } else {
        ""
    };
    Some(Waste {
        node: c.node,
        bytes,
        layers: bytes.map(|sz| vec![(rn, sz)]).unwrap_or_default(),
        message: format!(
            "`{name} {value}` on line {} copies `{}` ({}) whole into another layer; use `COPY --{flag}={value}` on line {copy_line}{why}",
            rins.line,
            c.path,
            show(bytes)
        ),
        fix: Some(Fix { level, edits }),
    })
}

/// Paths a RUN creates (downloads, clones, extraction directories), with
/// what created them.
fn created_paths(script: &Script, workdir: Option<&str>) -> Vec<(String, String, Range<usize>)> {
    let mut out = Vec::new();
    let mut cwd = workdir.map(str::to_string);
    for cmd in script.command_list() {
        let Some((name, args)) = cmd.effective() else { continue };
        let lits: Vec<Option<&str>> = args.iter().map(|w| w.literal.as_deref()).collect();
        let cwd_owned = cwd.clone();
        let cwd_ref = cwd_owned.as_deref();
        let mut push = |p: Option<String>, how: &str| {
            if let Some(p) = p {
                if !SYSTEM_DIRS.contains(&p.as_str()) && !p.contains('$') {
                    out.push((p, how.to_string(), cmd.range.clone()));
                }
            }
        };
        let url_base =
            || lits.iter().flatten().find(|a| a.contains("://")).map(|u| basename(u.split(['?', '#']).next().unwrap_or(u)).to_string());
        match name {
            "cd" if !cmd.in_subshell => {
                cwd = lits.first().copied().flatten().and_then(|d| resolve(cwd_ref, d));
            }
            "curl" => {
                for (i, a) in lits.iter().enumerate() {
                    match a {
                        Some("-o" | "--output") => push(lits.get(i + 1).copied().flatten().and_then(|o| resolve(cwd_ref, o)), "curl -o"),
                        Some(x) if x.starts_with("--output=") => push(resolve(cwd_ref, &x["--output=".len()..]), "curl -o"),
                        Some("-O" | "--remote-name") => push(url_base().and_then(|b| resolve(cwd_ref, &b)), "curl -O"),
                        _ => {}
                    }
                }
            }
            "wget" => {
                let mut named = false;
                for (i, a) in lits.iter().enumerate() {
                    match a {
                        Some("-O" | "--output-document") => {
                            named = true;
                            let o = lits.get(i + 1).copied().flatten();
                            if o != Some("-") {
                                push(o.and_then(|o| resolve(cwd_ref, o)), "wget -O");
                            }
                        }
                        Some(x) if x.starts_with("--output-document=") || (x.starts_with("-O") && x.len() > 2 && !x.starts_with("-O-")) => {
                            named = true;
                            let o = x.strip_prefix("--output-document=").unwrap_or(&x[2..]);
                            push(resolve(cwd_ref, o), "wget -O");
                        }
                        Some(x)
                            if x.starts_with("-O")
                                || x.starts_with("-P")
                                || x.starts_with("--directory-prefix")
                                || x.starts_with("-q") && x.contains('O') =>
                        {
                            named = true
                        }
                        _ => {}
                    }
                }
                if !named {
                    push(url_base().filter(|b| !b.is_empty()).and_then(|b| resolve(cwd_ref, &b)), "wget");
                }
            }
            "git" if lits.first() == Some(&Some("clone")) => {
                let pos: Vec<&str> = lits[1..].iter().flatten().copied().filter(|a| !a.starts_with('-')).collect();
                // Options with a value (`--branch v1`, `--depth 1`) make the
                // positionals ambiguous: only the simple shapes.
                if lits[1..].iter().flatten().any(|a| {
                    a.starts_with('-')
                        && !a.contains('=')
                        && !matches!(*a, "--recursive" | "--quiet" | "-q" | "--single-branch" | "--no-checkout")
                }) {
                    continue;
                }
                let dir = match pos.as_slice() {
                    [url] => Some(basename(url).trim_end_matches(".git").to_string()),
                    [_, dir] => Some(dir.to_string()),
                    _ => None,
                };
                push(dir.and_then(|d| resolve(cwd_ref, &d)), "git clone");
            }
            "tar"
                if lits.iter().flatten().any(|a| {
                    a == &"-x"
                        || a == &"--extract"
                        || (!a.starts_with("--") && a.trim_start_matches('-').starts_with('x'))
                        || (a.starts_with('-') && !a.starts_with("--") && a.contains('x'))
                }) =>
            {
                for (i, a) in lits.iter().enumerate() {
                    if matches!(a, Some("-C" | "--directory")) {
                        push(lits.get(i + 1).copied().flatten().and_then(|d| resolve(cwd_ref, d)), "tar -x");
                    }
                }
            }
            "unzip" => {
                for (i, a) in lits.iter().enumerate() {
                    if *a == Some("-d") {
                        push(lits.get(i + 1).copied().flatten().and_then(|d| resolve(cwd_ref, d)), "unzip -d");
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn created_waste(ctx: &Context, stage: usize, node: usize, wd_at: &dyn Fn(usize) -> Option<String>) -> Vec<Waste> {
    let Some(script) = ctx.script(node) else { return Vec::new() };
    let line = line_of(ctx, node);
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (p, how, cmd) in created_paths(script, wd_at(node).as_deref()) {
        if seen.contains(&p) {
            continue;
        }
        seen.push(p.clone());
        // Deleted in the same RUN, after it was made: nothing ships.
        let own = effect(script, wd_at(node).as_deref(), &p);
        if own.deletes.iter().any(|d| d.cmd.start > cmd.start) {
            continue;
        }
        let later = later_nodes(ctx, stage, node, &p, wd_at);
        let mut changed: Vec<(usize, String)> = Vec::new();
        for &n in &later {
            if !ctx.instruction(n).is_some_and(|i| i.is("RUN")) {
                continue;
            }
            let e = run_effect(ctx, n, wd_at(n).as_deref(), &p);
            if !e.deletes.is_empty() {
                let dline = line_of(ctx, n);
                let consecutive = (node + 1..n).all(|k| match &ctx.doc.nodes[k].kind {
                    NodeKind::Instruction(i) => i.is("RUN"),
                    _ => true,
                });
                let changes = if changed.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", changed by {} (copied again)",
                        changed.iter().map(|(l, w)| format!("`{w}` on line {l}")).collect::<Vec<_>>().join(", ")
                    )
                };
                let remedy =
                    if consecutive { "SF001 merge-runs joins these RUNs into one layer" } else { "create, use and delete it in one RUN" };
                out.push(Waste {
                    node,
                    bytes: None,
                    layers: Vec::new(),
                    message: format!(
                        "`{p}` (made by `{how}` on line {line}){changes} is deleted on line {dline}: it still ships in line {line}'s layer (unknown size); {remedy}"
                    ),
                    fix: None,
                });
                break;
            }
            if let Some((w, _)) = e.modifies.first() {
                changed.push((line_of(ctx, n), w.clone()));
            }
            if e.moves {
                break;
            }
        }
    }
    out
}

impl Transform for LayerWaste {
    fn code(&self) -> &'static str {
        "SF005"
    }
    fn name(&self) -> &'static str {
        "layer-waste"
    }
    fn summary(&self) -> &'static str {
        "Find bytes that ship in a layer but are never used (copied then deleted, changed in a later layer), with their size from the build context"
    }
    fn hadolint(&self) -> &'static [&'static str] {
        &[]
    }
    fn docs(&self) -> &'static str {
        DOCS
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        analyse(ctx)
            .into_iter()
            .map(|w| {
                let ins = ctx.instruction(w.node).expect("an instruction");
                Finding::new(ctx, self, ins.range.start..ins.line_end, w.message, w.fix).with_saves(w.bytes)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::Options;

    #[test]
    fn table_is_valid() {
        let t = &TABLE.commands;
        for list in [&t.silent, &t.modify, &t.delete, &t.move_, &t.consume, &t.download] {
            for c in list.iter().filter(|c| !matches!(c.as_str(), "setfacl" | "perl" | "unlzma")) {
                assert!(has(&t.explicit, c) || has(&t.consume, c), "{c} is not in explicit");
            }
        }
        assert!(TABLE.archive_extensions.iter().all(|x| x.starts_with('.')));
        assert!(TABLE.package_cache.iter().all(|c| c.bytes > 0 && !c.source.is_empty()));
    }

    #[test]
    fn paths() {
        assert_eq!(resolve(Some("/app"), "./x/../y/").as_deref(), Some("/app/y"));
        assert_eq!(resolve(None, "x"), None);
        assert_eq!(relation(None, "/tmp/*", "/tmp/a.tar"), Rel::Equal);
        assert_eq!(relation(None, "/tmp", "/tmp/a.tar"), Rel::Above);
        assert_eq!(redirect_targets("echo a >> /etc/x 2>&1"), vec!["/etc/x".to_string()]);
    }

    fn run(src: &str, unsafe_fixes: bool) -> (Vec<String>, String) {
        let opts = Options { select: Some(vec!["SF005"]), unsafe_fixes, ..Options::default() };
        let doc = crate::Document::parse(src).unwrap();
        let f = crate::check(&doc, &opts).into_iter().map(|f| format!("{:?} {}", f.level(), f.message)).collect();
        (f, crate::fix(src, &opts).unwrap().output)
    }

    #[test]
    fn bind_mount_and_chmod() {
        let (f, out) = run("FROM debian\nCOPY a.tar /tmp/\nRUN tar -xf /tmp/a.tar -C /opt && rm /tmp/a.tar\n", true);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(out, "FROM debian\nRUN --mount=type=bind,source=a.tar,target=/tmp/a.tar,rw tar -xf /tmp/a.tar -C /opt\n");
        let (_, out) = run("FROM debian\nCOPY run.sh /usr/local/bin/run.sh\nRUN chmod 755 /usr/local/bin/run.sh\n", true);
        assert_eq!(out, "FROM debian\nCOPY --chmod=755 run.sh /usr/local/bin/run.sh\n");
        let (f, out) = run("FROM debian\nCOPY a.tar /a.tar\nRUN ./install.sh && tar -xf /a.tar\nRUN rm /a.tar\n", true);
        assert!(f[0].contains("used on line 3"), "{f:?}");
        assert!(out.contains("--mount"), "{out}");
        // Another RUN may read it: no fix.
        let (f, out) = run("FROM debian\nCOPY a.tar /a.tar\nRUN make\nRUN tar -xf /a.tar && rm /a.tar\n", true);
        assert!(f[0].contains("used on lines 3 and 4"), "{f:?}");
        assert!(!out.contains("--mount"));
    }
}
