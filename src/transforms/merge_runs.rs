//! SF001 merge-runs: consecutive RUN instructions of a stage become one.

use super::Transform;
use crate::context::{Context, ShellKind};
use crate::fix::{Edit, Finding, Fix, Level};
use crate::shell::{Leak, Script};
use crate::style::Style;
use crate::syntax::{Document, Form, Instruction, NodeKind};

pub struct MergeRuns;

/// A merged RUN runs at most this many simple commands.
const MAX_COMMANDS: usize = 120;

const DOCS: &str = r#"# SF001 merge-runs

## What it does
Joins consecutive `RUN` instructions of one stage into a single `RUN`, with
`&&` between their commands, keeping the file's escape character, its
continuation indentation (4 spaces when it has none) and its habit of
putting `&&` at the start or at the end of a line. Comment lines between
the RUNs stay, as comment lines inside the continuation.

## Why
Every RUN commits a layer. A file written by one RUN and deleted by a later
one still ships in the first layer; a file changed later is copied whole
into the second. In one RUN, what is deleted before the end never ships.
Measured with buildah on a bookworm-slim base: `apt-get update`,
`apt-get install curl` and `rm -rf /var/lib/apt/lists/*` as three RUNs add
32.1 MB; as one RUN, 12.2 MB.

## Example
```dockerfile
RUN apt-get update
RUN apt-get install -y curl
```
becomes
```dockerfile
RUN apt-get update && \
    apt-get install -y curl
```

## When it is not applied
RUNs stay apart when merging could change the build:
- any other instruction between them (ENV, ARG, WORKDIR, USER, COPY, ...);
- exec form (`RUN ["..."]`), heredoc bodies, a non-POSIX `SHELL`
  (PowerShell, cmd) or a Windows base image;
- different `--mount`, `--network` or `--security` flags;
- a body that does not parse as shell, or that ends with a comment;
- an earlier body that changes the shell in ways a subshell cannot hold:
  `set -e`, `source`/`.`, `eval`, `exec`, `trap`, `return`, a background `&`;
- `# slimfile ignore=SF001` or `# hadolint ignore=DL3059` above a RUN.

An earlier body that changes only its own shell state (`cd`, `pushd`,
`export`, `unset`, variable assignments, `umask`, `ulimit`, `alias`,
`shopt`, `set -u`, `set -o pipefail`, `exit`) is wrapped in a subshell
`( ... )`, which keeps that state to itself exactly as a separate RUN did
(`set -x` and `set -v` only change the build log and need no wrap). A later body that is
not a plain `&&` chain (`a; b`, `a || b`) is wrapped in `{ ...; }` so that
it still runs only when the earlier commands succeeded. When the stage's
`SHELL` runs with `-e`, no wrapping is done (errexit is ignored inside a
command followed by `&&`), and such RUNs stay apart; when the base image is
not one of Docker's official images (whose SHELL is known) and the file sets
no SHELL, a merge that needs a wrap, or that puts an `if`/loop before `&&`,
is only an unsafe fix, since that image's own SHELL may run with `-e`.

Also kept apart: a body that deletes the WORKDIR the next one runs in, and
RUNs with a `# hadolint ...` or `# slimfile ...` comment between them
(inside a merged RUN it would no longer apply). One difference a merge
cannot avoid: the shell remembers where it found each command, so a RUN
that installs a second copy of a program earlier in PATH (say
/usr/local/bin/pip next to /usr/bin/pip) is seen by the next merged
command only after `hash -r`.
"#;

impl Transform for MergeRuns {
    fn code(&self) -> &'static str {
        "SF001"
    }
    fn name(&self) -> &'static str {
        "merge-runs"
    }
    fn summary(&self) -> &'static str {
        "Merge consecutive RUN instructions of a stage into one layer"
    }
    fn hadolint(&self) -> &'static [&'static str] {
        &["DL3059"]
    }
    fn docs(&self) -> &'static str {
        DOCS
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let doc = ctx.doc;
        let mut findings = Vec::new();
        let style = Style::of(doc);
        for seq in run_sequences(ctx) {
            let members: Vec<Member> = seq.iter().map(|&n| Member::new(ctx, self, n)).collect();
            let errexit = match ctx.shell(seq[0]) {
                ShellKind::Posix { errexit } => *errexit,
                ShellKind::Other(_) => Some(false),
            };
            // Walk the pairs left to right, growing groups. A group whose
            // meaning rests on the shell not running with -e, which this
            // file does not show, is only an unsafe fix.
            let mut group: Vec<(usize, Wrap)> = vec![(0, Wrap::None)];
            let mut unsure = false;
            let flush = |group: &mut Vec<(usize, Wrap)>, unsure: &mut bool, findings: &mut Vec<Finding>| {
                if group.len() >= 2 {
                    findings.push(self.group_finding(ctx, &style, &members, group, *unsure));
                }
                group.clear();
                *unsure = false;
            };
            for j in 1..members.len() {
                // The shell analysis stops at 200 levels of nesting, and an
                // `&&` chain nests once per command: keep merged RUNs well
                // below that, in every round.
                let size = |m: &Member| m.script.map_or(0, |s| s.command_list().len().max(1));
                let group_size: usize = group.iter().map(|&(k, _)| size(&members[k])).sum();
                if group_size + size(&members[j]) > MAX_COMMANDS {
                    flush(&mut group, &mut unsure, &mut findings);
                    group.push((j, Wrap::None));
                    continue;
                }
                let gap = pragma_between(ctx, members[j - 1].node, members[j].node);
                match plan_pair(&members[j - 1], &members[j], group.len() > 1, errexit).and_then(|p| match gap {
                    Some(why) => Err(Some(why)),
                    None => Ok(p),
                }) {
                    Ok((prev_wrap, next_wrap, needs_no_errexit)) => {
                        unsure |= needs_no_errexit;
                        if let Some(last) = group.last_mut() {
                            // A subshell wrap subsumes a brace wrap.
                            if prev_wrap == Wrap::Subshell {
                                last.1 = Wrap::Subshell;
                            }
                        }
                        group.push((j, next_wrap));
                    }
                    Err(reason) => {
                        flush(&mut group, &mut unsure, &mut findings);
                        if let Some(reason) = reason {
                            let m = &members[j];
                            findings.push(Finding::new(
                                ctx,
                                self,
                                m.ins.keyword_range.clone(),
                                format!("RUN kept apart from the RUN on line {}: {reason}", members[j - 1].ins.line),
                                None,
                            ));
                        }
                        group.push((j, Wrap::None));
                    }
                }
            }
            flush(&mut group, &mut unsure, &mut findings);
        }
        findings
    }
}

impl MergeRuns {
    fn group_finding(&self, ctx: &Context, style: &Style, members: &[Member], group: &[(usize, Wrap)], unsure: bool) -> Finding {
        let doc = ctx.doc;
        let text = doc.text();
        let first = members[group[0].0].ins;
        let last = members[group[group.len() - 1].0].ins;
        let eol = doc.line_ending.as_str();
        let esc = doc.escape;
        let mut out = String::new();
        let mut prev_node = members[group[0].0].node;
        for (k, &(mi, wrap)) in group.iter().enumerate() {
            let m = &members[mi];
            let is_last = k + 1 == group.len();
            let body = m.body(text, !is_last || wrap == Wrap::Brace);
            let wrapped = match wrap {
                Wrap::None => body.to_string(),
                Wrap::Subshell => format!("({body})"),
                Wrap::Brace => format!("{{ {body}; }}"),
            };
            if k == 0 {
                out.push_str(&text[m.ins.range.start..m.ins.args_start]);
                out.push_str(&wrapped);
                continue;
            }
            if style.and_at_line_start {
                out.push(' ');
            } else {
                out.push_str(" && ");
            }
            out.push(esc);
            out.push_str(eol);
            for n in prev_node + 1..m.node {
                if matches!(doc.nodes[n].kind, NodeKind::Comment) {
                    out.push_str(&text[doc.nodes[n].range.clone()]);
                }
            }
            out.push_str(&style.indent);
            if style.and_at_line_start {
                out.push_str("&& ");
            }
            out.push_str(&wrapped);
            prev_node = m.node;
        }
        // Safety net: the merged RUN must read back as one RUN whose body
        // parses as shell.
        let directive = if esc == '`' { format!("# escape=`{eol}") } else { String::new() };
        let probe = format!("{directive}FROM scratch{eol}{out}{eol}");
        let ok = Document::parse(&probe).is_ok_and(|reparsed| {
            reparsed.instructions().count() == 2
                && reparsed.instructions().nth(1).is_some_and(|(_, i)| i.is("RUN") && ctx.parse_shell(&i.args).is_some())
        });
        let lines: Vec<String> = group.iter().map(|&(mi, _)| members[mi].ins.line.to_string()).collect();
        let lines = match lines.len() {
            2 => format!("{} and {}", lines[0], lines[1]),
            n if n > 6 => format!("{} to {}", lines[0], lines[n - 1]),
            _ => format!("{} and {}", lines[..lines.len() - 1].join(", "), lines[lines.len() - 1]),
        };
        if !ok {
            return Finding::new(
                ctx,
                self,
                first.keyword_range.clone(),
                format!("{} consecutive RUN instructions (lines {lines}) could be one layer, but the merged RUN would not read back as valid shell; merge them by hand", group.len()),
                None,
            );
        }
        let wrapped = group.iter().filter(|g| g.1 != Wrap::None).count();
        let mut how = if wrapped > 0 { format!(" ({wrapped} wrapped to keep their shell state apart)") } else { String::new() };
        let level = if unsure {
            how.push_str("; unsafe: that holds only if the base image's SHELL does not run with -e, which this file does not show");
            Level::Unsafe
        } else {
            Level::Safe
        };
        Finding::new(
            ctx,
            self,
            first.keyword_range.clone(),
            format!("{} consecutive RUN instructions (lines {lines}) can be one layer{how}", group.len()),
            Some(Fix { level, edits: vec![Edit { range: first.range.start..last.line_end, replacement: out }] }),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrap {
    None,
    /// `( body )`: the body's shell state stays inside.
    Subshell,
    /// `{ body; }`: the body runs only when the previous ones succeeded.
    Brace,
}

/// One RUN of a sequence, with what the pair rules need to know.
struct Member<'a> {
    node: usize,
    ins: &'a Instruction,
    script: Option<&'a Script>,
    /// Why this RUN cannot take part in a merge at all (`None` inside means
    /// a reason not worth reporting, such as an ignore comment).
    unusable: Option<Option<String>>,
    flags: Vec<String>,
    /// The WORKDIR in force, when this body deletes it (`rm -rf /app`).
    removes_workdir: Option<String>,
}

impl<'a> Member<'a> {
    fn new(ctx: &'a Context, t: &MergeRuns, node: usize) -> Self {
        let ins = ctx.instruction(node).expect("sequence holds instructions");
        let script = ctx.script(node);
        let unusable = if ctx.ignored(node, t.code(), t.name(), t.hadolint()) {
            Some(None)
        } else if matches!(ctx.shell(node), ShellKind::Other(_)) || matches!(ins.form(), Form::Exec(_)) {
            // Not shell text we can read: nothing to suggest either.
            Some(None)
        } else if !ins.heredocs.is_empty() {
            Some(Some(format!("line {} has a heredoc", ins.line)))
        } else if ins.args.trim().is_empty() {
            Some(Some(format!("line {} has no command", ins.line)))
        } else if script.is_none() {
            Some(Some(format!("the shell body on line {} does not parse", ins.line)))
        } else {
            None
        };
        let mut flags: Vec<String> = ins.flags.iter().map(|f| format!("{}={}", f.name, f.value.clone().unwrap_or_default())).collect();
        flags.sort();
        let runs_rm = script.is_some_and(|s| s.command_list().iter().any(|c| c.name() == Some("rm")));
        let removes_workdir = if !runs_rm { None } else { workdir(ctx, node) }.filter(|wd| {
            script.is_some_and(|s| {
                s.command_list().iter().any(|c| {
                    c.name() == Some("rm")
                        && c.words[1..].iter().filter_map(|w| w.literal.as_deref()).any(|a| {
                            let a = a.trim_end_matches('/');
                            a == "." || a == "*" || (!a.is_empty() && (wd.as_str() == a || wd.starts_with(&format!("{a}/"))))
                        })
                })
            })
        });
        Member { node, ins, script, unusable, flags, removes_workdir }
    }

    /// The body as written (continuations kept), without trailing blanks
    /// or a trailing top-level `;` (so `&&` or `; }` can follow it).
    fn body<'t>(&self, text: &'t str, strip_semicolon: bool) -> &'t str {
        let mut end = self.ins.line_end;
        if let Some(semi) = self.script.and_then(|s| s.trailing_semicolon()).filter(|_| strip_semicolon) {
            end = self.ins.args_to_source(semi.start);
        }
        text[self.ins.args_start..end].trim_end_matches([' ', '\t'])
    }
}

/// Decides whether `e` and `l` (consecutive) can merge. `e_in_group` is true
/// when `e` already follows another member; `errexit` is whether the shell
/// runs with -e (`None`: unknown). Returns the wraps for `e` and `l` and
/// whether the merge holds only without -e, or why not (`None` when not
/// worth reporting).
fn plan_pair(e: &Member, l: &Member, e_in_group: bool, errexit: Option<bool>) -> Result<(Wrap, Wrap, bool), Option<String>> {
    if let Some(r) = &e.unusable {
        return Err(r.clone());
    }
    if let Some(r) = &l.unusable {
        return Err(r.clone());
    }
    let (es, ls) = (e.script.expect("usable"), l.script.expect("usable"));
    if e.flags != l.flags {
        return Err(Some("their --mount/--network/--security flags differ".into()));
    }
    let el = e.ins.line;
    if es.ends_with_comment() {
        return Err(Some(format!("line {el} ends with a shell comment")));
    }
    let leaks = es.leaks();
    if let Some(Leak::Blocking(what)) = leaks.iter().find(|l| matches!(l, Leak::Blocking(_))) {
        return Err(Some(format!("line {el} uses {what}, which would change how the next commands run")));
    }
    if let Some(dir) = &e.removes_workdir {
        return Err(Some(format!("line {el} deletes the working directory {dir}, which the next commands would run in")));
    }
    let e_wrap = if leaks.is_empty() { Wrap::None } else { Wrap::Subshell };
    let e_brace = e_in_group && !es.is_and_chain();
    // errexit is ignored inside a compound command placed before `&&`.
    let compound_first = e_wrap != Wrap::None || e_brace || es.last_statement_is_compound();
    if errexit == Some(true) && compound_first {
        let why = match leaks.first() {
            Some(Leak::Contained(w)) => format!("line {el} uses {w} and the SHELL runs with -e, so it cannot be wrapped"),
            _ => format!("the SHELL runs with -e and line {el} ends in a compound command, whose errors `&&` would hide"),
        };
        return Err(Some(why));
    }
    if ls.has_background_job() {
        return Err(Some(format!("line {} starts a background job", l.ins.line)));
    }
    let l_wrap = if ls.is_and_chain() { Wrap::None } else { Wrap::Brace };
    if l_wrap == Wrap::Brace && ls.ends_with_comment() {
        return Err(Some(format!("line {} ends with a shell comment", l.ins.line)));
    }
    Ok((e_wrap, l_wrap, compound_first && errexit.is_none()))
}

/// A `# hadolint ...` or `# slimfile ...` comment between two RUNs would end
/// up inside the merged RUN, where it no longer applies to anything.
fn pragma_between(ctx: &Context, a: usize, b: usize) -> Option<String> {
    (a + 1..b).find_map(|n| {
        let node = &ctx.doc.nodes[n];
        let text = ctx.doc.text()[node.range.clone()].trim();
        let body = text.trim_start_matches('#').trim_start();
        // hadolint's always count (they steer another tool); ours unless
        // --no-ignore-comments.
        (matches!(node.kind, NodeKind::Comment) && (body.starts_with("hadolint") || (ctx.honour_ignores && body.starts_with("slimfile"))))
            .then(|| format!("the comment `{text}` between them would stop applying inside a merged RUN"))
    })
}

/// The WORKDIR in force at `node` (absolute, as written), if any.
fn workdir(ctx: &Context, node: usize) -> Option<String> {
    let stage = ctx.stage_of(node)?;
    let mut wd: Option<String> = None;
    for n in ctx.stages[stage].from_node..node {
        if let Some(i) = ctx.instruction(n).filter(|i| i.is("WORKDIR")) {
            let arg = i.args.trim().trim_matches('"').trim_end_matches('/').to_string();
            wd = Some(if arg.starts_with('/') { arg } else { format!("{}/{arg}", wd.unwrap_or_default()) });
        }
    }
    wd
}

/// Maximal sequences (length 2 or more) of RUN nodes with nothing but
/// comments and blank lines between them.
fn run_sequences(ctx: &Context) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    for (i, n) in ctx.doc.nodes.iter().enumerate() {
        match &n.kind {
            NodeKind::Instruction(ins) if ins.is("RUN") => cur.push(i),
            NodeKind::Instruction(_) | NodeKind::Directive { .. } => {
                if cur.len() >= 2 {
                    out.push(std::mem::take(&mut cur));
                }
                cur.clear();
            }
            NodeKind::Comment | NodeKind::Blank => {}
        }
    }
    if cur.len() >= 2 {
        out.push(cur);
    }
    out
}
