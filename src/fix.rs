//! Findings, fixes, and the one applier that turns fixes into new text.
//!
//! A transform never edits text: it returns [`Finding`]s, each maybe with a
//! [`Fix`] made of byte-range [`Edit`]s on the text it was given. The
//! applier keeps the fixes allowed at the requested level, drops any that
//! overlap an earlier one, splices once, re-parses, and runs the transforms
//! again until nothing changes. A round whose output does not parse, or
//! that hits the round cap, is an internal error and the original text is
//! kept.

use crate::context::{Context, ScriptCache};
use crate::syntax::{Document, ParseError};
use crate::transforms::{Transform, TRANSFORMS};
use serde::Serialize;
use std::ops::Range;
use std::rc::Rc;

/// How sure we are that a fix keeps the build working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Applied by `fix`.
    Safe,
    /// Applied only with `--unsafe-fixes`.
    Unsafe,
    /// Only reported.
    Suggestion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub range: Range<usize>,
    pub replacement: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub level: Level,
    pub edits: Vec<Edit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub name: &'static str,
    pub message: String,
    /// The span the finding is about.
    pub range: Range<usize>,
    /// 1-based line and column (in characters) of `range.start`.
    pub line: usize,
    pub column: usize,
    /// 1-based line and column just after the end of `range`.
    pub end_line: usize,
    pub end_column: usize,
    pub fix: Option<Fix>,
    /// Bytes the image loses when this is acted on, where known (an
    /// estimate: base image figures, context file sizes, measured caches).
    pub saves: Option<u64>,
    /// The hadolint rules this finding answers, when narrower than its
    /// transform's (an ignore of another rule does not silence it);
    /// `None`: all of the transform's.
    pub hadolint: Option<Vec<String>>,
}

impl Finding {
    pub fn new(ctx: &Context, t: &dyn Transform, range: Range<usize>, message: String, fix: Option<Fix>) -> Finding {
        let (line, column) = ctx.doc.line_col(range.start);
        let (end_line, end_column) = ctx.doc.line_col(range.end);
        Finding { code: t.code(), name: t.name(), message, range, line, column, end_line, end_column, fix, saves: None, hadolint: None }
    }

    /// The same finding, answering only these hadolint rules.
    pub fn with_hadolint(mut self, rules: &[String]) -> Finding {
        self.hadolint = Some(rules.to_vec());
        self
    }

    /// The same finding with what it saves.
    pub fn with_saves(mut self, bytes: Option<u64>) -> Finding {
        self.saves = bytes.filter(|&b| b > 0);
        self
    }

    /// The level of the fix, or `Suggestion` when there is none.
    pub fn level(&self) -> Level {
        self.fix.as_ref().map_or(Level::Suggestion, |f| f.level)
    }
}

/// Which transforms run and which fixes are applied.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Codes of the transforms to run (all when `None`).
    pub select: Option<Vec<&'static str>>,
    pub unsafe_fixes: bool,
    /// Do not honour `# slimfile ignore=` / `# hadolint ignore=` comments.
    pub no_ignore_comments: bool,
    /// The build context directory, when it can be read (transforms that
    /// look at COPY sources, Cargo.toml, ... use it; `None`: they do not).
    pub context: Option<std::path::PathBuf>,
    /// SF002: delete caches (default) or keep them in cache mounts.
    pub cache_style: crate::context::CacheStyle,
    /// SF003: a config file's own base images (schema of base_images.toml).
    pub extra_base_images: Vec<toml::Table>,
    /// Report findings but apply no fix at any level (a generated file).
    pub report_only: bool,
}

impl Options {
    fn runs(&self, t: &dyn Transform) -> bool {
        self.select.as_ref().is_none_or(|s| s.contains(&t.code()))
    }

    pub fn applies(&self, level: Level) -> bool {
        if self.report_only {
            return false;
        }
        match level {
            Level::Safe => true,
            Level::Unsafe => self.unsafe_fixes,
            Level::Suggestion => false,
        }
    }
}

/// The result of fixing one text.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The new text (equal to the input when nothing applied).
    pub output: String,
    /// Findings on the original text, in position order.
    pub findings: Vec<Finding>,
    /// How many fixes were applied over all rounds.
    pub applied: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input is not a Dockerfile we can read.
    Parse(ParseError),
    /// A transform produced text that does not parse, or the rounds did not
    /// settle: a bug in slimfile. The original text is kept.
    Internal(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Parse(e) => write!(f, "{e}"),
            Error::Internal(m) => write!(f, "internal error (a bug in slimfile; the file was left unchanged): {m}"),
        }
    }
}

const MAX_ROUNDS: usize = 8;

/// Runs the selected transforms on `doc` and returns their findings,
/// dropping those silenced by ignore pragmas, in position order.
pub fn check(doc: &Document, opts: &Options) -> Vec<Finding> {
    check_with(doc, opts, Rc::default())
}

fn check_with(doc: &Document, opts: &Options, cache: Rc<ScriptCache>) -> Vec<Finding> {
    let mut ctx = Context::with_cache(doc, cache);
    ctx.honour_ignores = !opts.no_ignore_comments;
    ctx.build_context = opts.context.clone();
    ctx.cache_style = opts.cache_style;
    ctx.extra_base_images = opts.extra_base_images.clone();
    let mut out = Vec::new();
    for t in TRANSFORMS {
        if opts.runs(*t) {
            out.extend(t.check(&ctx).into_iter().filter(|f| {
                let node = doc.node_at(f.range.start);
                // A finding that names its own hadolint rules is silenced by
                // those only (DL3015 must not hide DL3009).
                let own: Option<Vec<&str>> = f.hadolint.as_ref().map(|v| v.iter().map(String::as_str).collect());
                let rules = own.as_deref().unwrap_or(t.hadolint());
                !ctx.ignored(node, t.code(), t.name(), rules)
            }));
        }
    }
    out.sort_by(|a, b| (a.range.start, a.code).cmp(&(b.range.start, b.code)));
    out
}

/// Parses `text`, applies fixes until stable, and returns the result.
pub fn fix(text: &str, opts: &Options) -> Result<Outcome, Error> {
    let doc = Document::parse(text).map_err(Error::Parse)?;
    let cache: Rc<ScriptCache> = Rc::default();
    let findings = check_with(&doc, opts, cache.clone());
    let mut bodies_before = shell_bodies(&doc, &cache);
    let mut current = text.to_string();
    let mut round_findings = findings.clone();
    let mut applied = 0;
    for round in 0.. {
        let fixes: Vec<&Fix> = round_findings.iter().filter_map(|f| f.fix.as_ref()).filter(|f| opts.applies(f.level)).collect();
        let (next, n) = apply(&current, &fixes);
        if n == 0 {
            break;
        }
        if round + 1 >= MAX_ROUNDS {
            return Err(Error::Internal(format!("fixes did not settle after {MAX_ROUNDS} rounds")));
        }
        let doc = Document::parse(&next).map_err(|e| {
            let codes: Vec<&str> = round_findings.iter().filter(|f| f.fix.is_some()).map(|f| f.code).collect();
            Error::Internal(format!("the fixed text no longer parses ({e}); fixes from {}", codes.join(", ")))
        })?;
        // Every RUN body a fix wrote (one not there before) must parse as
        // shell: transforms only edit bodies that did.
        let bodies = shell_bodies(&doc, &cache);
        let ctx = Context::with_cache(&doc, cache.clone());
        if let Some((_, ins)) =
            doc.instructions().find(|(n, i)| bodies.contains(&i.args) && !bodies_before.contains(&i.args) && ctx.script(*n).is_none())
        {
            let codes: Vec<&str> = round_findings.iter().filter(|f| f.fix.is_some()).map(|f| f.code).collect();
            return Err(Error::Internal(format!(
                "the RUN a fix wrote on line {} does not parse as shell; fixes from {}",
                ins.line,
                codes.join(", ")
            )));
        }
        bodies_before = bodies;
        applied += n;
        current = next;
        round_findings = check_with(&doc, opts, cache.clone());
    }
    Ok(Outcome { output: current, findings, applied })
}

/// The texts of the shell-form RUN bodies a POSIX shell runs (not parsed).
fn shell_bodies(doc: &Document, cache: &Rc<ScriptCache>) -> std::collections::HashSet<String> {
    let ctx = Context::with_cache(doc, cache.clone());
    doc.instructions()
        .filter(|(n, i)| {
            i.is("RUN")
                && i.heredocs.is_empty()
                && i.form() == crate::syntax::Form::Shell
                && matches!(ctx.shell(*n), crate::context::ShellKind::Posix { .. })
        })
        .map(|(_, i)| i.args.clone())
        .collect()
}

/// Splices the non-overlapping edits of `fixes` into `text` at once. A fix
/// is taken whole or not at all; an edit identical to one already taken is
/// allowed. Returns the new text and how many fixes were taken.
pub fn apply(text: &str, fixes: &[&Fix]) -> (String, usize) {
    let mut taken: Vec<&Edit> = Vec::new();
    let mut count = 0;
    for f in fixes {
        let fresh: Vec<&Edit> = f.edits.iter().filter(|e| !taken.contains(e)).collect();
        let clash = fresh.iter().any(|e| taken.iter().any(|t| overlaps(&e.range, &t.range)))
            || fresh.iter().enumerate().any(|(i, e)| fresh[i + 1..].iter().any(|o| overlaps(&e.range, &o.range)));
        if clash || fresh.is_empty() {
            continue;
        }
        taken.extend(fresh);
        count += 1;
    }
    taken.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for e in taken {
        out.push_str(&text[at..e.range.start]);
        out.push_str(&e.replacement);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    if out == text {
        return (out, 0);
    }
    (out, count)
}

/// Two ranges overlap when they share a byte, or when both are insertions
/// at the same point, or an insertion falls strictly inside the other.
fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    if a.is_empty() && b.is_empty() {
        return a.start == b.start;
    }
    if a.is_empty() {
        return a.start > b.start && a.start < b.end;
    }
    if b.is_empty() {
        return b.start > a.start && b.start < a.end;
    }
    a.start < b.end && b.start < a.end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix_of(edits: &[(Range<usize>, &str)]) -> Fix {
        Fix { level: Level::Safe, edits: edits.iter().map(|(r, s)| Edit { range: r.clone(), replacement: s.to_string() }).collect() }
    }

    #[test]
    fn apply_drops_overlaps_keeps_duplicates() {
        let a = fix_of(&[(0..3, "XYZ")]);
        let b = fix_of(&[(2..4, "Q")]);
        let c = fix_of(&[(0..3, "XYZ"), (5..5, "!")]);
        let (out, n) = apply("abcdefg", &[&a, &b, &c]);
        assert_eq!(out, "XYZde!fg");
        assert_eq!(n, 2);
    }
}
