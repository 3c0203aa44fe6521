//! `slimfile explain`: a static `docker history` / dive view of a
//! Dockerfile, before any build.
//!
//! Per stage, each instruction with whether it makes a layer, its size
//! where it can be known without building (files from the build context,
//! the base image from SF003's table, bytes SF005 sees copied again), the
//! findings attached to it with the bytes they waste, the number of layers
//! and an efficiency figure in the spirit of dive's. Every figure that is
//! not read from a file is marked as an estimate. The core is pure apart
//! from reading the build context's file sizes.

use crate::context::Context;
use crate::fix::{Level, Options};
use crate::syntax::{Document, Form};
use crate::transforms::dockerignore::IgnoreRules;
use crate::transforms::layer_waste::{self, context_entry, dir_size, human};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::LazyLock;

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The build context that was read (`None`: sizes of copied files are
    /// unknown).
    pub context: Option<String>,
    pub stages: Vec<StageView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageView {
    /// 0-based stage index.
    pub index: usize,
    pub name: Option<String>,
    /// The image after FROM, as written.
    pub base: String,
    /// True for the last stage (what `docker build` ships by default).
    pub ships: bool,
    pub rows: Vec<Row>,
    /// Instructions of the stage that make a layer (RUN, COPY, ADD).
    pub layers: usize,
    /// Of those, how many have no known size.
    pub layers_unknown_size: usize,
    /// Base image plus the layers of known size (a lower bound when some
    /// are unknown).
    pub known_bytes: u64,
    /// Bytes the findings say ship for nothing (known figures only).
    pub waste_bytes: u64,
    /// `1 - waste / known` (dive's image efficiency, estimated), when
    /// anything is known.
    pub efficiency: Option<f64>,
}

impl StageView {
    /// True when the stage's own base size is unknown.
    fn base_unknown(&self) -> bool {
        self.rows.first().is_some_and(|r| r.kind == "base" && r.size.is_none())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub line: usize,
    pub keyword: String,
    /// The instruction's first line, shortened.
    pub instruction: String,
    /// `base` for FROM, `layer` for RUN/COPY/ADD, `metadata` otherwise.
    pub kind: &'static str,
    pub size: Option<u64>,
    /// `exact` (read from the build context), `estimate` (a table or a
    /// lower bound), `unknown`, or `none` (no layer).
    pub size_kind: &'static str,
    /// Where the figure comes from.
    pub size_note: String,
    pub findings: Vec<FindingView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub code: &'static str,
    pub level: Level,
    pub fixable: bool,
    pub message: String,
    /// Bytes it wastes, when known (estimated).
    pub waste_bytes: Option<u64>,
}

// ------------------------------------------------------------------ base sizes

#[derive(Debug, Deserialize)]
struct BaseTable {
    image: Vec<BaseImage>,
}

#[derive(Debug, Deserialize)]
struct BaseImage {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    size: String,
    measured: String,
    #[serde(default)]
    candidate: Vec<BaseCandidate>,
}

#[derive(Debug, Deserialize)]
struct BaseCandidate {
    tag: String,
    #[serde(default)]
    image: Option<String>,
    size: String,
    measured: String,
}

static BASES: LazyLock<BaseTable> = LazyLock::new(|| {
    toml::from_str(include_str!("../transforms/base_images.toml")).expect("transforms/base_images.toml is valid (checked by a test)")
});

fn table_bytes(size: &str) -> Option<u64> {
    let (n, unit) = size.split_once(' ')?;
    let n: f64 = n.parse().ok()?;
    let mult = match unit {
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return None,
    };
    Some((n * mult).round() as u64)
}

/// The base image's size from SF003's table: the figure and the tag it was
/// measured for. `exact` when that is the very tag.
fn base_size(reference: &str) -> Option<(u64, String, bool)> {
    let r = reference.split('@').next().unwrap_or(reference).to_ascii_lowercase();
    let last_slash = r.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match r[last_slash..].find(':') {
        Some(c) => (r[..last_slash + c].to_string(), r[last_slash + c + 1..].to_string()),
        None => (r.clone(), "latest".to_string()),
    };
    let mut name = name.as_str();
    for prefix in ["docker.io/", "index.docker.io/", "library/"] {
        name = name.strip_prefix(prefix).unwrap_or(name);
    }
    let full = format!("{name}:{tag}");
    let img = BASES.image.iter().find(|i| i.name == name || i.aliases.iter().any(|a| a == name))?;
    if img.measured == full {
        return table_bytes(&img.size).map(|b| (b, img.measured.clone(), true));
    }
    for c in img.candidate.iter().filter(|c| c.image.is_none()) {
        if c.measured == full {
            return table_bytes(&c.size).map(|b| (b, c.measured.clone(), true));
        }
    }
    for c in img.candidate.iter().filter(|c| c.image.is_none()) {
        let glob = c.tag.replace("{version}", "*").replace("{-flavor}", "*").replace("{-suite}", "*");
        let glob = glob.replace("**", "*");
        if globset::Glob::new(&glob).is_ok_and(|g| g.compile_matcher().is_match(&tag)) {
            return table_bytes(&c.size).map(|b| (b, c.measured.clone(), false));
        }
    }
    let small = ["slim", "alpine", "minimal", "distroless", "jre", "busybox"];
    if small.iter().any(|w| tag.contains(w)) {
        return None;
    }
    table_bytes(&img.size).map(|b| (b, img.measured.clone(), false))
}

// ------------------------------------------------------------------ explain

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let line: String = line.trim_end_matches('\\').trim_end().to_string();
    if line.chars().count() > 72 {
        let cut: String = line.chars().take(71).collect();
        format!("{cut}…")
    } else if text.trim_end().contains('\n') {
        format!("{line} …")
    } else {
        line
    }
}

/// Size of what a COPY/ADD takes from the build context: `None` when any
/// source is not a plain path in it.
fn copy_size(ins: &crate::syntax::Instruction, root: &Path, rules: &IgnoreRules) -> Option<u64> {
    if ins.flag("from").is_some() || !ins.heredocs.is_empty() {
        return None;
    }
    let words: Vec<String> = match ins.form() {
        Form::Exec(v) => v,
        Form::Shell => ins.args.split_whitespace().map(crate::syntax::unquote).collect(),
    };
    if words.len() < 2 {
        return None;
    }
    let mut total = 0;
    for s in &words[..words.len() - 1] {
        if s.contains(['$', '*', '?', '[']) || s.contains("://") {
            return None;
        }
        let clean = s.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
        if clean.is_empty() || clean == "." {
            total += dir_size(root, "", rules);
        } else {
            total += context_entry(root, clean, rules)?.0;
        }
    }
    Some(total)
}

/// Explains `doc` with the build context `context` (when known).
pub fn explain(doc: &Document, context: Option<&Path>) -> Explanation {
    let mut ctx = Context::new(doc);
    ctx.build_context = context.map(Path::to_path_buf);
    let opts = Options { context: context.map(Path::to_path_buf), ..Options::default() };
    let findings = crate::fix::check(doc, &opts);
    let wastes = layer_waste::analyse(&ctx);
    let rules = context.map(IgnoreRules::load);
    // Bytes SF005 sees land in each layer.
    let seen_in_layer = |n: usize| -> u64 {
        wastes
            .iter()
            .flat_map(|w| w.layers.iter())
            .filter(|(m, _)| *m == n && ctx.instruction(n).is_some_and(|i| i.is("RUN")))
            .map(|(_, b)| *b)
            .max()
            .unwrap_or(0)
    };
    let mut stages: Vec<StageView> = Vec::new();
    for (si, st) in ctx.stages.iter().enumerate() {
        let mut rows = Vec::new();
        let (mut layers, mut unknown, mut known, mut waste) = (0, 0, 0u64, 0u64);
        for n in st.from_node..st.end_node {
            let Some(ins) = ctx.instruction(n) else { continue };
            let text = &doc.text()[ins.range.start..ins.line_end];
            let (kind, size, size_kind, size_note): (&'static str, Option<u64>, &'static str, String) = match ins.keyword.as_str() {
                "FROM" => {
                    let image = st.image.as_str();
                    if image == "scratch" {
                        ("base", Some(0), "exact", "empty base".into())
                    } else if let Some(prev) = stages.iter().find(|s| s.name.as_deref() == Some(image)) {
                        if prev.layers_unknown_size > 0 || prev.base_unknown() {
                            (
                                "base",
                                Some(prev.known_bytes),
                                "at least",
                                format!("at least: stage {} has parts of unknown size", prev.index),
                            )
                        } else {
                            ("base", Some(prev.known_bytes), "estimate", format!("stage {} (its known size)", prev.index))
                        }
                    } else {
                        let written = ins.args.split_whitespace().find(|w| !w.starts_with("--")).unwrap_or("");
                        match base_size(written) {
                            Some((b, m, true)) => ("base", Some(b), "estimate", format!("base-image table ({m}, uncompressed)")),
                            Some((b, m, false)) => ("base", Some(b), "estimate", format!("base-image table, measured for {m}")),
                            None => ("base", None, "unknown", "not in the base-image table".into()),
                        }
                    }
                }
                "RUN" | "COPY" | "ADD" => {
                    layers += 1;
                    let from_context = match (context, &rules) {
                        (Some(root), Some(r)) if !ins.is("RUN") => copy_size(ins, root, r),
                        _ => None,
                    };
                    match from_context {
                        Some(b) => ("layer", Some(b), "exact", "files in the build context".into()),
                        None if seen_in_layer(n) > 0 => {
                            ("layer", Some(seen_in_layer(n)), "estimate", "at least: files SF005 sees it copy again".into())
                        }
                        None => {
                            unknown += 1;
                            let why = if ins.is("RUN") {
                                "known only after the build"
                            } else if context.is_none() {
                                "no build context"
                            } else {
                                "source not found as a plain path of the build context"
                            };
                            ("layer", None, "unknown", why.into())
                        }
                    }
                }
                _ => ("metadata", None, "none", "no layer".into()),
            };
            let mut views = Vec::new();
            for f in findings.iter().filter(|f| doc.node_at(f.range.start) == n) {
                let bytes = match f.code {
                    "SF005" => wastes.iter().find(|w| w.node == n && w.message == f.message).and_then(|w| w.bytes),
                    "SF002" => layer_waste::TABLE
                        .package_cache
                        .iter()
                        .find(|c| f.message.starts_with(&format!("{} leaves its cache", c.manager)))
                        .map(|c| c.bytes),
                    _ => None,
                };
                waste += bytes.unwrap_or(0);
                views.push(FindingView {
                    code: f.code,
                    level: f.level(),
                    fixable: f.fix.is_some() && f.level() != Level::Suggestion,
                    message: f.message.clone(),
                    waste_bytes: bytes,
                });
            }
            // A layer with waste in it holds at least that waste.
            let row_waste: u64 = views.iter().filter_map(|v| v.waste_bytes).sum();
            let (size, size_kind, size_note) = if size.is_none() && ins.is("RUN") && row_waste > 0 {
                unknown -= 1;
                (Some(row_waste), "estimate", "at least: the waste found in it".to_string())
            } else {
                (size, size_kind, size_note)
            };
            known += size.unwrap_or(0);
            rows.push(Row {
                line: ins.line,
                keyword: ins.keyword.clone(),
                instruction: first_line(text),
                kind,
                size,
                size_kind,
                size_note,
                findings: views,
            });
        }
        let efficiency = (known > 0).then(|| 1.0 - (waste.min(known) as f64 / known as f64));
        stages.push(StageView {
            index: si,
            name: st.name.clone(),
            base: st.image.clone(),
            ships: ctx.is_final_stage(si),
            rows,
            layers,
            layers_unknown_size: unknown,
            known_bytes: known,
            waste_bytes: waste,
            efficiency,
        });
    }
    Explanation { context: context.map(|p| p.display().to_string()), stages }
}

// ------------------------------------------------------------------ output

fn size_cell(r: &Row) -> String {
    match (r.size, r.size_kind) {
        (_, "none") => "-".into(),
        (Some(b), "exact") => human(b),
        (Some(b), _) if r.size_note.starts_with("at least") => format!(">= {}", human(b)),
        (Some(b), _) => format!("~{}", human(b)),
        (None, _) => "unknown".into(),
    }
}

/// The table for a terminal.
pub fn render_text(e: &Explanation) -> String {
    let mut out = String::new();
    match &e.context {
        Some(c) => out.push_str(&format!("build context: {c}\n")),
        None => out.push_str("build context: none (sizes of copied files unknown)\n"),
    }
    for s in &e.stages {
        let name = s.name.as_ref().map(|n| format!(" AS {n}")).unwrap_or_default();
        let ships = if s.ships { " (final: ships)" } else { "" };
        out.push_str(&format!("\nstage {}: FROM {}{name}{ships}\n", s.index, s.base));
        out.push_str(&format!("  {:>5}  {:<8}  {:>12}  {}\n", "LINE", "LAYER", "SIZE", "INSTRUCTION"));
        for r in &s.rows {
            out.push_str(&format!("  {:>5}  {:<8}  {:>12}  {}\n", r.line, r.kind, size_cell(r), r.instruction));
            if r.size_kind != "none" && r.size_kind != "exact" {
                out.push_str(&format!("  {:>5}  {:<8}  {:>12}    ({})\n", "", "", "", r.size_note));
            }
            for f in &r.findings {
                let level = match (f.level, f.fixable) {
                    (Level::Safe, true) => "safe fix",
                    (Level::Unsafe, true) => "unsafe fix",
                    _ => "report",
                };
                let w = f.waste_bytes.map(|b| format!(", wastes ~{}", human(b))).unwrap_or_default();
                out.push_str(&format!("  {:>5}  {:<8}  {:>12}    {} [{level}{w}] {}\n", "", "", "", f.code, f.message));
            }
        }
        let unknown = if s.layers_unknown_size > 0 {
            format!(" + {} layer{} of unknown size", s.layers_unknown_size, if s.layers_unknown_size == 1 { "" } else { "s" })
        } else {
            String::new()
        };
        out.push_str(&format!(
            "  layers: {} (besides the base image's); estimated size: {}{unknown}; waste found: {}",
            s.layers,
            human(s.known_bytes),
            human(s.waste_bytes)
        ));
        match s.efficiency {
            Some(eff) => out.push_str(&format!("; efficiency: ~{:.1} % (estimate)\n", eff * 100.0)),
            None => out.push_str("; efficiency: unknown\n"),
        }
    }
    out.push_str("\nSizes marked ~ are estimates (base images: uncompressed linux/amd64 figures from the base-image table); RUN layers are known only after a build.\n");
    out
}

/// The same as JSON, for tools.
pub fn render_json(e: &Explanation) -> String {
    let mut s = serde_json::to_string_pretty(e).expect("an explanation serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_sizes_from_the_table() {
        let (b, m, exact) = base_size("debian:bookworm-slim").unwrap();
        assert_eq!((b, m.as_str(), exact), (74_830_000, "debian:bookworm-slim", true));
        assert!(base_size("debian:12-slim").is_some_and(|(_, _, e)| !e));
        assert!(base_size("example.com/unknown:1").is_none());
    }

    #[test]
    fn explains_without_context() {
        let doc =
            Document::parse("FROM debian:bookworm-slim\nENV A=1\nRUN apt-get update && apt-get install -y curl\nCOPY a /a\n").unwrap();
        let e = explain(&doc, None);
        assert_eq!(e.stages.len(), 1);
        assert_eq!(e.stages[0].layers, 2);
        assert_eq!(e.stages[0].layers_unknown_size, 1);
        let text = render_text(&e);
        assert!(text.contains("SF002"), "{text}");
        assert!(render_json(&e).contains("\"efficiency\""));
    }
}
