//! SF002 cache-cleanup: a package manager leaves no cache in the layer it
//! installs from.
//!
//! The recipes (which commands, which flag or cleanup, when it is already
//! clean) are data: `transforms/cache_cleanup.toml`.

use super::Transform;
use crate::context::{CacheStyle, Context, ShellKind};
use crate::fix::{Edit, Finding, Fix, Level};
use crate::shell::{Command, Joiner, Script, Word};
use crate::style::Style;
use crate::syntax::{Form, Instruction};
use serde::Deserialize;
use std::sync::LazyLock;

pub struct CacheCleanup;

const DOCS: &str = r#"# SF002 cache-cleanup

## What it does
Makes every package manager leave no cache in the layer it installs in:
adds the no-cache flag (`apk add --no-cache`, `pip install --no-cache-dir`,
`gem install --no-document`, `uv pip install --no-cache`) or the cleanup
command (`rm -rf /var/lib/apt/lists/*`, `yum clean all`, `dnf clean all`,
`microdnf clean all`, `zypper clean --all`, `npm cache clean --force`,
`yarn cache clean`, `pnpm store prune`, `composer clear-cache`,
`conda clean -afy`, ...) in the same RUN, right after that manager's last
command, in the file's own continuation style. With `apk add --no-cache`,
a now-useless `apk update` is removed. The recipes are data:
`transforms/cache_cleanup.toml`.

## `--cache-style=mount`
With `--cache-style=mount` (or `cache-style = "mount"` in slimfile.toml),
apt, pip, uv, npm and yarn keep their caches in BuildKit cache mounts
instead (`RUN --mount=type=cache,target=/var/cache/apt,sharing=locked
--mount=type=cache,target=/var/lib/apt/lists,sharing=locked ...`,
`/root/.cache/pip`, `/root/.cache/uv`, `/root/.npm`,
`/usr/local/share/.cache/yarn`): nothing lands in the layer and rebuilds
reuse the downloads. It needs BuildKit (the default builder since Docker
23; `DOCKER_BUILDKIT=1` before that; Dockerfile syntax 1.2 or later). The
pip, uv, npm and yarn mounts sit in root's home, so a stage running as
another USER gets the delete style. Debian's `docker-clean` hook still
deletes downloaded `.deb` files; the lists are what the mount keeps.
Managers without a mount recipe are cleaned up as usual.

## Why
A cache deleted in a later RUN still ships in the layer that wrote it;
only a cleanup in the same RUN keeps it out of the image. Measured with
buildah on Debian bookworm-slim (`../shared/tools/imgsize.sh`): `apt-get
update && apt-get install -y --no-install-recommends curl` adds 32.1 MB;
with `rm -rf /var/lib/apt/lists/*` in the same RUN, 12.2 MB: 19.9 MB of
package lists saved. `npm install express lodash` (Debian's npm) adds
258.3 MB, with `npm cache clean --force` 254.0 MB (4.3 MB). Debian's
python3-pip installing requests and flask from source adds 109.9 MB, with
`--no-cache-dir` 108.7 MB (1.2 MB of built wheels); downloaded wheels are
cached too, but this machine's registry proxy marks them uncacheable, so
that part could not be measured here.

## Example
```dockerfile
RUN apt-get update && apt-get install -y curl
```
becomes
```dockerfile
RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
```

## When it is not applied
- The RUN already cleans up after the install, in any spelling
  (`rm -r /var/lib/apt/lists`, `apk add --no-cache`, `yum clean all`, ...),
  or an ENV/ARG turns the cache off (`PIP_NO_CACHE_DIR`, `UV_NO_CACHE`).
- The cache directory is a BuildKit cache mount
  (`RUN --mount=type=cache,target=/var/lib/apt/lists ...`).
- apt's lists are only removed in the RUN that runs `apt-get update`. When
  a later RUN of the stage (or of a stage built on it) installs with apt
  without updating, `apt-get update &&` is added in front of its install,
  so it does not break; where that cannot be done, it is only reported.
- Command words come from a shell parse: `apt` in a URL, `echo "apk add"`,
  `pip-tools` or `update-alternatives` are not installs. `sudo`, `env`,
  `xargs` and `VAR=value` prefixes are understood. A command inside `$( )`,
  or a last statement that is an `if`/loop (where `set -e` would stop
  applying), gets no cleanup and is reported.
- Heredoc bodies, exec form and non-POSIX shells are not edited.
- `yarn cache clean` is safe only with evidence of yarn 1
  (`--frozen-lockfile`, `--pure-lockfile`, `yarn global`); with yarn 2+ and
  Plug'n'Play the project cache is what the app runs from, so otherwise it
  needs `--unsafe-fixes`. go and cargo caches in the final stage are only
  reported (the multi-stage split, SF004, is the real fix), and so is
  bundler's cache, whose location varies.
- `apt-get install` without `--no-install-recommends` (DL3015) is reported
  with an unsafe fix: the build may rely on a recommended package.
"#;

/// One manager's recipe (see the header of the TOML file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub manager: String,
    pub commands: Vec<String>,
    pub subcommands: Vec<String>,
    #[serde(default)]
    pub requires: Vec<String>,
    pub remedy: Remedy,
    #[serde(default)]
    pub cleanup: Option<String>,
    #[serde(default)]
    pub flag: Option<String>,
    #[serde(default)]
    pub done_flags: Vec<String>,
    #[serde(default)]
    pub done_commands: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub cache_dirs: Vec<String>,
    /// With `--cache-style=mount`: the BuildKit cache mounts that replace
    /// the cleanup (empty: this manager is always cleaned up).
    #[serde(default)]
    pub mount: Vec<String>,
    /// `sharing=` for those mounts (`locked` for managers that take a lock).
    #[serde(default)]
    pub mount_sharing: Option<String>,
    /// The cache lives under the running user's home, so mounts only fit
    /// when that user is root.
    #[serde(default)]
    pub mount_needs_root: bool,
    pub level: Level,
    pub hadolint: Vec<String>,
    pub saves: String,
    #[serde(default)]
    pub saves_bytes: Option<u64>,
    pub bad: String,
    pub good: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Remedy {
    Cleanup,
    Flag,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    recipe: Vec<Recipe>,
}

pub static RECIPES: LazyLock<Vec<Recipe>> = LazyLock::new(|| {
    toml::from_str::<Table>(include_str!("../../transforms/cache_cleanup.toml"))
        .expect("transforms/cache_cleanup.toml is valid (checked by a test)")
        .recipe
});

impl Transform for CacheCleanup {
    fn code(&self) -> &'static str {
        "SF002"
    }
    fn name(&self) -> &'static str {
        "cache-cleanup"
    }
    fn summary(&self) -> &'static str {
        "Remove package-manager caches in the RUN that creates them"
    }
    fn hadolint(&self) -> &'static [&'static str] {
        &["DL3009", "DL3015", "DL3019", "DL3032", "DL3036", "DL3040", "DL3041", "DL3042", "DL3060"]
    }
    fn docs(&self) -> &'static str {
        DOCS
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        let style = Style::of(ctx.doc);
        for (node, ins) in ctx.doc.instructions() {
            if !ins.is("RUN") {
                continue;
            }
            let Some(script) = ctx.script(node) else { continue };
            let calls: Vec<Call> = script.command_list().iter().filter_map(Call::new).collect();
            if calls.is_empty() {
                continue;
            }
            let run = Run { ctx, style: &style, node, ins, script, calls };
            for recipe in RECIPES.iter() {
                if let Some(f) = self.recipe_finding(&run, recipe) {
                    // Each recipe answers its own hadolint rules (or none:
                    // then an ignore of any of them does not silence it).
                    out.push(f.with_saves(recipe.saves_bytes).with_hadolint(&recipe.hadolint));
                }
            }
            out.extend(self.recommends(ctx, ins, &run.calls));
        }
        out
    }
}

/// One RUN being looked at, with its parsed calls.
struct Run<'a> {
    ctx: &'a Context<'a>,
    style: &'a Style,
    node: usize,
    ins: &'a Instruction,
    script: &'a Script,
    calls: Vec<Call>,
}

/// A simple command seen as a package-manager call.
struct Call {
    cmd: Command,
    /// Normalised program name (`pip3.12` -> `pip`, `python -m pip` -> `pip`).
    name: String,
    /// Index in `cmd.words` of the first argument.
    first_arg: usize,
    /// Run through `sudo`.
    sudo: bool,
}

impl Call {
    fn new(cmd: &Command) -> Option<Call> {
        let start = cmd.effective_start()?;
        let raw = cmd.words[start].literal.as_deref()?;
        let mut name = raw.rsplit('/').next().unwrap_or(raw).to_string();
        let mut first_arg = start + 1;
        let is_python = name.starts_with("python") && name["python".len()..].chars().all(|c| c.is_ascii_digit() || c == '.');
        if is_python && cmd.words.get(first_arg).and_then(|w| w.literal.as_deref()) == Some("-m") {
            name = cmd.words.get(first_arg + 1)?.literal.clone()?;
            first_arg += 2;
        }
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        if !base.is_empty() && base != name && RECIPES.iter().any(|r| r.commands.iter().any(|c| c == base)) {
            name = base.to_string();
        }
        let sudo = cmd.words[..start].iter().any(|w| w.literal.as_deref() == Some("sudo"));
        Some(Call { cmd: cmd.clone(), name, first_arg, sudo })
    }

    fn args(&self) -> &[Word] {
        &self.cmd.words[self.first_arg.min(self.cmd.words.len())..]
    }

    fn has_arg(&self, flag: &str) -> bool {
        self.args().iter().any(|w| w.literal.as_deref().is_some_and(|l| l == flag || l.starts_with(&format!("{flag}="))))
    }

    /// Positional words (options and `KEY=value`/`A::B` option values
    /// skipped).
    fn positionals(&self) -> Vec<&Word> {
        self.args()
            .iter()
            .filter(|w| w.literal.as_deref().is_some_and(|l| !l.starts_with('-') && !l.contains('=') && !l.contains("::")))
            .collect()
    }

    /// The subcommand of `recipe` this call runs, with the word it ends at.
    fn subcommand<'r>(&self, recipe: &'r Recipe) -> Option<(&'r str, Option<&Word>)> {
        if !recipe.commands.contains(&self.name) {
            return None;
        }
        let pos = self.positionals();
        let mut best: Option<(&str, Option<&Word>)> = None;
        for sub in &recipe.subcommands {
            if sub.starts_with('-') {
                if let Some(w) = self.args().first().filter(|w| w.literal.as_deref() == Some(sub)) {
                    return Some((sub, Some(w)));
                }
                continue;
            }
            let parts: Vec<&str> = sub.split_whitespace().collect();
            if parts.is_empty() {
                if pos.is_empty() && best.is_none() {
                    best = Some((sub, None));
                }
                continue;
            }
            if pos.len() >= parts.len() && parts.iter().zip(&pos).all(|(p, w)| w.literal.as_deref() == Some(p)) {
                let longer = best.is_none_or(|(b, _)| b.split_whitespace().count() < parts.len());
                if longer {
                    best = Some((sub, Some(pos[parts.len() - 1])));
                }
            }
        }
        best
    }

    /// True when this call is `done` (`rm /var/lib/apt/lists`: the name and
    /// argument prefixes).
    fn matches_done(&self, done: &str) -> bool {
        let mut parts = done.split_whitespace();
        let Some(name) = parts.next() else { return false };
        if self.name != name {
            return false;
        }
        parts.all(|p| self.args().iter().any(|w| w.literal.as_deref().unwrap_or(&w.raw).starts_with(p) || w.raw.starts_with(p)))
    }
}

impl CacheCleanup {
    fn recipe_finding(&self, run: &Run, recipe: &Recipe) -> Option<Finding> {
        let (ctx, node, ins, calls) = (run.ctx, run.node, run.ins, &run.calls);
        let installs: Vec<(&Call, &str, Option<&Word>)> =
            calls.iter().filter_map(|c| c.subcommand(recipe).map(|(s, w)| (c, s, w))).collect();
        if installs.is_empty() {
            return None;
        }
        if !recipe.requires.is_empty() && !installs.iter().any(|(_, s, _)| recipe.requires.iter().any(|r| r == s)) {
            return None;
        }
        if covered_by_cache_mount(ins, recipe) || env_disables(ctx, node, ins, recipe) {
            return None;
        }
        let stage = ctx.stage_of(node)?;
        // A gemrc written earlier in the stage (as the official ruby images
        // do) already turns documentation off.
        if recipe.manager == "gem" && ctx.doc.text()[ctx.doc.nodes[ctx.stages[stage].from_node].range.start..ins.line_end].contains("gemrc")
        {
            return None;
        }
        if matches!(recipe.manager.as_str(), "go" | "cargo") && !self.toolchain_cache_applies(ctx, stage, node, recipe) {
            return None;
        }
        if ctx.cache_style == CacheStyle::Mount && !recipe.mount.is_empty() && (!recipe.mount_needs_root || runs_as_root(ctx, node)) {
            return self.mount_finding(run, recipe, &installs);
        }
        match recipe.remedy {
            Remedy::Flag => self.flag_finding(run, recipe, &installs),
            Remedy::Cleanup => self.cleanup_finding(run, recipe, &installs),
        }
    }

    /// `--cache-style=mount`: keep the cache out of the layer with BuildKit
    /// cache mounts on the RUN, so rebuilds reuse it.
    fn mount_finding(&self, run: &Run, recipe: &Recipe, installs: &[(&Call, &str, Option<&Word>)]) -> Option<Finding> {
        let (ctx, node, ins) = (run.ctx, run.node, run.ins);
        let flags: String = recipe
            .mount
            .iter()
            .map(|t| match &recipe.mount_sharing {
                Some(sh) => format!(" --mount=type=cache,target={t},sharing={sh}"),
                None => format!(" --mount=type=cache,target={t}"),
            })
            .collect();
        let at = ins.keyword_range.end;
        let mut edits = vec![Edit { range: at..at, replacement: flags.clone() }];
        let (last, _, _) = installs.iter().max_by_key(|(c, _, _)| c.cmd.range.start)?;
        let range = ins.args_range_to_source(last.cmd.range.clone());
        let what = format!("{} leaves its cache in this layer: {}", recipe.manager, recipe.saves);
        let mut message = format!("{what}; keep it in a BuildKit cache mount instead:{flags}");
        if recipe.manager == "apt" {
            if let Err(why) = self.add_later_updates(ctx, node, &mut edits, &mut message) {
                return Some(Finding::new(ctx, self, range, format!("{what}; not fixed: {why}"), None));
            }
        }
        Some(Finding::new(ctx, self, range, message, Some(Fix { level: Level::Safe, edits })))
    }

    /// go and cargo caches matter only in the final stage, and only when
    /// no later RUN of it builds again.
    fn toolchain_cache_applies(&self, ctx: &Context, stage: usize, node: usize, recipe: &Recipe) -> bool {
        if !ctx.is_final_stage(stage) {
            return false;
        }
        let end = ctx.stages[stage].end_node;
        !(node + 1..end).any(|n| {
            ctx.instruction(n).is_some_and(|i| i.is("RUN"))
                && ctx.script(n).is_none_or(|s| s.command_list().iter().filter_map(Call::new).any(|c| recipe.commands.contains(&c.name)))
        })
    }

    fn flag_finding(&self, run: &Run, recipe: &Recipe, installs: &[(&Call, &str, Option<&Word>)]) -> Option<Finding> {
        let (ctx, node, ins, script, calls) = (run.ctx, run.node, run.ins, run.script, &run.calls);
        let flag = recipe.flag.as_deref()?;
        // A call followed by the manager's cleanup in the same RUN is done too.
        let cleaned_after = |c: &Call| {
            calls.iter().any(|d| d.cmd.range.start > c.cmd.range.start && recipe.done_commands.iter().any(|x| d.matches_done(x)))
        };
        let missing: Vec<&(&Call, &str, Option<&Word>)> = installs
            .iter()
            .filter(|(c, _, w)| w.is_some() && !recipe.done_flags.iter().any(|f| c.has_arg(f)) && !cleaned_after(c))
            .collect();
        // Cleaned after the fact in the same RUN counts as done.
        let last = installs.iter().map(|(c, _, _)| c.cmd.range.start).max()?;
        if calls.iter().any(|c| c.cmd.range.start > last && recipe.done_commands.iter().any(|d| c.matches_done(d))) {
            return None;
        }
        let mut edits: Vec<Edit> = missing
            .iter()
            .map(|(_, _, w)| {
                let w = w.expect("filtered");
                let at = ins.args_range_to_source(w.range.clone()).end;
                Edit { range: at..at, replacement: format!(" {flag}") }
            })
            .collect();
        // apk: with --no-cache everywhere, `apk update` only leaves the index.
        let mut dropped_update = false;
        if recipe.manager == "apk" && !self.later_runs_use(ctx, node, &recipe.commands) {
            for c in
                calls.iter().filter(|c| c.name == "apk" && c.positionals().first().and_then(|w| w.literal.as_deref()) == Some("update"))
            {
                if c.cmd.in_subshell || c.cmd.conditional {
                    continue;
                }
                if let Some(r) = script.removal(c.cmd.range.clone()) {
                    let src = ins.args_to_source(r.start)..ins.args_to_source(r.end);
                    if !ctx.doc.text()[src.clone()].contains('#') {
                        edits.push(Edit { range: src, replacement: String::new() });
                        dropped_update = true;
                    }
                }
            }
        }
        if edits.is_empty() {
            return None;
        }
        let first = missing.first().map(|(c, _, _)| c).unwrap_or(&installs[0].0);
        let range = ins.args_range_to_source(first.cmd.range.clone());
        let mut message = if missing.is_empty() {
            format!("`{} update` is not needed with --no-cache and leaves the package index in this layer", recipe.commands[0])
        } else {
            let n = missing.len();
            let calls = if n == 1 { "call".to_string() } else { format!("{n} calls") };
            format!(
                "{} {calls} without `{flag}` leave{} a cache in this layer: {}",
                recipe.manager,
                if n == 1 { "s" } else { "" },
                recipe.saves
            )
        };
        if dropped_update && !missing.is_empty() {
            message.push_str("; the `apk update` before it is no longer needed");
        }
        Some(Finding::new(ctx, self, range, message, Some(Fix { level: recipe.level, edits })))
    }

    fn cleanup_finding(&self, run: &Run, recipe: &Recipe, installs: &[(&Call, &str, Option<&Word>)]) -> Option<Finding> {
        let (ctx, node, ins, script, calls) = (run.ctx, run.node, run.ins, run.script, &run.calls);
        let (mut last, _, _) = *installs.iter().max_by_key(|(c, _, _)| c.cmd.range.start)?;
        if recipe.manager == "apt" {
            // apt-cache, apt-get download/source and the like read the lists too.
            let cleans = |c: &Call| recipe.done_commands.iter().any(|d| c.matches_done(d));
            if let Some(reader) = calls.iter().filter(|c| apt_use(c) == AptUse::ReadsLists && !cleans(c)).max_by_key(|c| c.cmd.range.start)
            {
                if reader.cmd.range.start > last.cmd.range.start {
                    last = reader;
                }
            }
        }
        let cleanup = recipe.cleanup.as_deref()?;
        // The recipe's own cleanup counts as done too.
        let own = cleanup.split(" && ");
        if calls.iter().any(|c| {
            c.cmd.range.start > last.cmd.range.start
                && recipe.done_commands.iter().map(String::as_str).chain(own.clone()).any(|d| c.matches_done(d))
        }) {
            return None;
        }
        let cleanup = if last.sudo {
            cleanup.split(" && ").map(|p| format!("sudo {p}")).collect::<Vec<_>>().join(" && ")
        } else {
            cleanup.to_string()
        };
        let range = ins.args_range_to_source(last.cmd.range.clone());
        let what = format!("{} leaves its cache in this layer: {}", recipe.manager, recipe.saves);
        let mut level = recipe.level;
        if recipe.manager == "yarn"
            && installs.iter().any(|(c, s, _)| c.has_arg("--frozen-lockfile") || c.has_arg("--pure-lockfile") || *s == "global add")
        {
            level = Level::Safe;
        }
        if level == Level::Suggestion {
            return Some(Finding::new(ctx, self, range, format!("{what}; consider `{cleanup}` after it"), None));
        }
        let Some(at) = script.insertion_after(last.cmd.range.clone()) else {
            return Some(Finding::new(
                ctx,
                self,
                range,
                format!("{what}; not fixed: `{cleanup}` cannot be placed after this command without changing what the RUN does"),
                None,
            ));
        };
        if script.src[at.at..].contains("$?") {
            return Some(Finding::new(ctx, self, range, format!("{what}; not fixed: a later `$?` would see the cleanup's status"), None));
        }
        if let Some(line) = self.later_offline_use(ctx, node, recipe) {
            return Some(Finding::new(
                ctx,
                self,
                range,
                format!("{what}; not fixed: the RUN on line {line} installs from this cache offline"),
                None,
            ));
        }
        let mut edits = vec![insert_after(ctx, run.style, ins, at.at, at.joiner, &cleanup)];
        let mut message = format!("{what}; add `{cleanup}` in the same RUN");
        if recipe.manager == "apt" {
            if let Err(why) = self.add_later_updates(ctx, node, &mut edits, &mut message) {
                return Some(Finding::new(ctx, self, range, format!("{what}; not fixed: {why}"), None));
            }
        }
        Some(Finding::new(ctx, self, range, message, Some(Fix { level, edits })))
    }

    /// True when a RUN after `node` in its stage, or in a stage built on
    /// it, runs one of `commands` (or cannot be read).
    fn later_runs_use(&self, ctx: &Context, node: usize, commands: &[String]) -> bool {
        later_runs(ctx, node).into_iter().any(|n| match ctx.script(n) {
            Some(s) => s.command_list().iter().filter_map(Call::new).any(|c| commands.contains(&c.name)),
            None => ctx.instruction(n).is_some_and(|i| commands.iter().any(|c| ctx.doc.text()[i.range.clone()].contains(c.as_str()))),
        })
    }

    /// The line of a later RUN that uses this manager offline
    /// (`--offline`, `--prefer-offline`, `--no-index`): it needs the cache.
    fn later_offline_use(&self, ctx: &Context, node: usize, recipe: &Recipe) -> Option<usize> {
        later_runs(ctx, node).into_iter().find_map(|n| {
            let s = ctx.script(n)?;
            s.command_list()
                .iter()
                .filter_map(Call::new)
                .any(|c| {
                    recipe.commands.contains(&c.name)
                        && ["--offline", "--prefer-offline", "--no-index", "--no-network"].iter().any(|f| c.has_arg(f))
                })
                .then(|| ctx.instruction(n).map_or(0, |i| i.line))
        })
    }

    /// Adds the `apt-get update` edits for later RUNs that read the lists
    /// (see [`Self::later_apt_updates`]) and says so in `message`.
    fn add_later_updates(&self, ctx: &Context, node: usize, edits: &mut Vec<Edit>, message: &mut String) -> Result<(), String> {
        let more = self.later_apt_updates(ctx, node)?;
        if !more.is_empty() {
            let lines: Vec<String> = more.iter().map(|(l, _)| l.to_string()).collect();
            message
                .push_str(&format!(" (and `apt-get update` before the apt use on line {}, which relied on these lists)", lines.join(", ")));
        }
        edits.extend(more.into_iter().map(|(_, e)| e));
        Ok(())
    }

    /// Later RUNs that install with apt without updating first: the edits
    /// that add `apt-get update &&` before their first install, with their
    /// line; or why that cannot be done.
    fn later_apt_updates(&self, ctx: &Context, node: usize) -> Result<Vec<(usize, Edit)>, String> {
        let mut out = Vec::new();
        if let Some(line) = onbuild_mentions(ctx, node, &["apt", "aptitude"]) {
            return Err(format!("the ONBUILD on line {line} may use apt in images built on this one"));
        }
        for n in later_runs(ctx, node) {
            let ins = ctx.instruction(n).expect("a RUN");
            let Some(script) = ctx.script(n) else {
                let readable = ins.form() == Form::Shell && ins.heredocs.is_empty() && matches!(ctx.shell(n), ShellKind::Posix { .. });
                if ctx.doc.text()[ins.range.clone()].contains("apt") && !readable {
                    return Err(format!("the RUN on line {} may use apt's lists, and slimfile cannot read it", ins.line));
                }
                continue;
            };
            let calls: Vec<Call> = script.command_list().iter().filter_map(Call::new).collect();
            if let Some(c) = calls.iter().find(|c| runs_unseen_commands(c)) {
                return Err(format!(
                    "the RUN on line {} runs `{}`, which may use apt's lists in ways slimfile cannot see",
                    ins.line,
                    c.cmd.words.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" ")
                ));
            }
            if calls.iter().any(|c| {
                c.name == "rm"
                    && c.args().iter().any(|w| w.raw.starts_with("/var/lib/apt/lists"))
                    && !c.args().iter().any(|w| {
                        w.literal.as_deref().is_some_and(|l| l.starts_with('-') && !l.starts_with("--") && l.contains('f'))
                            || w.literal.as_deref() == Some("--force")
                    })
            }) {
                return Err(format!("the RUN on line {} removes the lists itself without -f, which fails once they are gone", ins.line));
            }
            let mut updated = false;
            for c in &calls {
                match apt_use(c) {
                    AptUse::Update => updated = true,
                    AptUse::ReadsLists if !updated => {
                        if !script.can_prefix(c.cmd.range.clone()) || c.cmd.in_subshell {
                            return Err(format!("the RUN on line {} uses apt's lists, and an update cannot be added before it", ins.line));
                        }
                        let at = ins.args_to_source(c.cmd.range.start);
                        let sudo = if c.sudo { "sudo " } else { "" };
                        let update = if c.name == "apt" { "apt" } else { "apt-get" };
                        out.push((ins.line, Edit { range: at..at, replacement: format!("{sudo}{update} update && ") }));
                        break;
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// DL3015: `apt-get install` without `--no-install-recommends`.
    fn recommends(&self, ctx: &Context, ins: &Instruction, calls: &[Call]) -> Vec<Finding> {
        let apt = RECIPES.iter().find(|r| r.manager == "apt").expect("apt recipe");
        calls
            .iter()
            .filter_map(|c| match c.subcommand(apt) {
                Some(("install", Some(w))) if !c.has_arg("--no-install-recommends") && !c.args().iter().any(|a| a.raw.contains("Install-Recommends")) => {
                    let at = ins.args_range_to_source(w.range.clone()).end;
                    Some(Finding::new(
                        ctx,
                        self,
                        ins.args_range_to_source(c.cmd.range.clone()),
                        format!("`{} install` without --no-install-recommends also installs recommended packages (DL3015); unsafe: the build may rely on one", c.name),
                        Some(Fix { level: Level::Unsafe, edits: vec![Edit { range: at..at, replacement: " --no-install-recommends".into() }] }),
                    )
                    .with_hadolint(&["DL3015".to_string()]))
                }
                _ => None,
            })
            .collect()
    }
}

/// True when the last USER of the stage before `node` is root (or there
/// is none: images run as root unless they say otherwise).
fn runs_as_root(ctx: &Context, node: usize) -> bool {
    let Some(stage) = ctx.stage_of(node) else { return true };
    let user = (ctx.stages[stage].from_node..node).rev().filter_map(|n| ctx.instruction(n)).find(|i| i.is("USER"));
    user.is_none_or(|u| matches!(u.args.trim().split(':').next().unwrap_or(""), "root" | "0"))
}

/// How a call uses apt's package lists.
#[derive(Debug, PartialEq, Eq)]
enum AptUse {
    None,
    Update,
    /// Needs the lists: install, download, source, apt-cache, aptitude, ...
    ReadsLists,
}

fn apt_use(c: &Call) -> AptUse {
    let first = c.positionals().first().and_then(|w| w.literal.clone()).unwrap_or_default();
    match c.name.as_str() {
        "apt-get" | "apt" | "aptitude" => match first.as_str() {
            "update" => AptUse::Update,
            "clean" | "autoclean" | "autoremove" | "remove" | "purge" | "dist-clean" | "" => AptUse::None,
            _ => AptUse::ReadsLists,
        },
        "apt-cache" | "apt-file" | "apt-rdepends" => AptUse::ReadsLists,
        _ if c.args().iter().any(|w| w.raw.contains("/var/lib/apt/lists")) && c.name != "rm" => AptUse::ReadsLists,
        _ => AptUse::None,
    }
}

/// A call that may use apt where slimfile cannot see it: a local script,
/// a shell running a script file, a `-c` string or `eval` that mentions apt.
fn runs_unseen_commands(c: &Call) -> bool {
    let raw = c.cmd.words.get(c.first_arg.saturating_sub(1)).and_then(|w| w.literal.as_deref()).unwrap_or("");
    let system = ["/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/"].iter().any(|p| raw.starts_with(p));
    let mentions_apt = c.args().iter().any(|w| w.raw.contains("apt"));
    match c.name.as_str() {
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" => {
            let inline = c.args().iter().any(|w| w.literal.as_deref().is_some_and(|l| l.starts_with('-') && l.contains('c')));
            if inline {
                mentions_apt
            } else {
                c.args().iter().any(|w| w.literal.as_deref().is_none_or(|l| !l.starts_with('-')))
            }
        }
        "eval" => mentions_apt,
        "source" | "." => true,
        _ => (raw.contains('/') && !system) || raw.ends_with(".sh"),
    }
}

/// The line of an ONBUILD in the stage of `node` that names one of `words`.
fn onbuild_mentions(ctx: &Context, node: usize, words: &[&str]) -> Option<usize> {
    let stage = ctx.stage_of(node)?;
    (ctx.stages[stage].from_node..ctx.stages[stage].end_node)
        .filter_map(|n| ctx.instruction(n))
        .find(|i| i.is("ONBUILD") && words.iter().any(|w| i.args.contains(w)))
        .map(|i| i.line)
}

/// RUN nodes after `node` in its stage and in the stages built on it.
fn later_runs(ctx: &Context, node: usize) -> Vec<usize> {
    let Some(stage) = ctx.stage_of(node) else { return Vec::new() };
    let mut ranges = vec![(node + 1, ctx.stages[stage].end_node)];
    ranges.extend(ctx.derived_stages(stage).into_iter().map(|s| (ctx.stages[s].from_node, ctx.stages[s].end_node)));
    ranges.into_iter().flat_map(|(a, b)| a..b).filter(|&n| ctx.instruction(n).is_some_and(|i| i.is("RUN"))).collect()
}

/// The edit that adds `cleanup` after body offset `at`, on its own
/// continuation line when the RUN already spans several lines.
fn insert_after(ctx: &Context, style: &Style, ins: &Instruction, at: usize, joiner: Joiner, cleanup: &str) -> Edit {
    let text = ctx.doc.text();
    let multiline = text[ins.range.start..ins.line_end].contains('\n');
    let eol = ctx.doc.line_ending.as_str();
    let esc = ctx.doc.escape;
    let indent_at = |src: usize| -> String {
        let line_start = text[..src].rfind('\n').map_or(0, |i| i + 1);
        if line_start > ins.range.start {
            text[line_start..src].chars().take_while(|c| *c == ' ' || *c == '\t').collect()
        } else {
            style.indent.clone()
        }
    };
    // `cmd; next` gets the cleanup after the `;` that is already there:
    // `cmd; CLEANUP; next`, on its own line when the RUN has several.
    if joiner == Joiner::Semi {
        let rest = &ins.args[at..];
        let skipped = rest.len() - rest.trim_start().len();
        if rest.trim_start().starts_with(';') && !rest.trim_start().starts_with(";;") {
            let semi = ins.args_to_source(at + skipped);
            let replacement = if multiline { format!(" {esc}{eol}{}{cleanup};", indent_at(semi)) } else { format!(" {cleanup};") };
            return Edit { range: semi + 1..semi + 1, replacement };
        }
    }
    let src = if at == 0 { ins.args_start } else { ins.args_range_to_source(at - 1..at).end };
    let sep = match joiner {
        Joiner::And => "&&",
        Joiner::Semi => ";",
    };
    let replacement = if !multiline {
        format!(" {sep} {cleanup}")
    } else {
        // Indent like the line the command ends on, when it is a continuation line.
        let indent = indent_at(src);
        if style.and_at_line_start && joiner == Joiner::And {
            format!(" {esc}{eol}{indent}&& {cleanup}")
        } else {
            format!(" {sep} {esc}{eol}{indent}{cleanup}")
        }
    };
    Edit { range: src..src, replacement }
}

/// A `--mount=type=cache` whose target holds (or is inside) the cache.
fn covered_by_cache_mount(ins: &Instruction, recipe: &Recipe) -> bool {
    ins.flags.iter().filter(|f| f.name == "mount").filter_map(|f| f.value.as_deref()).any(|v| {
        let opts: Vec<(&str, &str)> = v.split(',').filter_map(|kv| kv.split_once('=')).collect();
        let is_cache = opts.iter().any(|(k, t)| *k == "type" && *t == "cache");
        let target = opts.iter().find(|(k, _)| matches!(*k, "target" | "dst" | "destination")).map(|(_, t)| t.trim_end_matches('/'));
        is_cache && target.is_some_and(|t| recipe.cache_dirs.iter().any(|d| d.starts_with(t) || t.starts_with(d.as_str())))
    })
}

/// An ENV/ARG of the stage, or an assignment in the RUN, that turns the
/// cache off.
fn env_disables(ctx: &Context, node: usize, ins: &Instruction, recipe: &Recipe) -> bool {
    if recipe.env.is_empty() {
        return false;
    }
    let set = |v: &str| !v.is_empty();
    ctx.env_before(node).iter().any(|(k, v)| recipe.env.contains(k) && set(v))
        || recipe.env.iter().any(|e| ins.args.contains(&format!("{e}=")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::Options;

    #[test]
    fn table_is_valid_and_examples_hold() {
        assert!(RECIPES.len() >= 15);
        for r in RECIPES.iter() {
            match r.remedy {
                Remedy::Cleanup => assert!(r.cleanup.is_some(), "{}: cleanup recipe without cleanup", r.manager),
                Remedy::Flag => assert!(r.flag.is_some() && !r.done_flags.is_empty(), "{}: flag recipe without flag", r.manager),
            }
            let opts = Options { select: Some(vec!["SF002"]), unsafe_fixes: true, ..Options::default() };
            let wrap = |body: &str| format!("FROM debian\nRUN {body}\n");
            // The bad example is found and, unless only suggested, fixed to the good one.
            let bad = crate::fix::fix(&wrap(&r.bad), &opts).unwrap_or_else(|e| panic!("{}: {e}", r.manager));
            let found: Vec<_> = bad
                .findings
                .iter()
                .filter(|f| f.message.starts_with(&r.manager) || f.message.contains(&format!("`{}", r.commands[0])))
                .collect();
            assert!(!found.is_empty(), "{}: bad example not found: {:?}", r.manager, bad.findings);
            let without_recommends = bad.output.replace(" --no-install-recommends", "");
            if r.level == Level::Suggestion {
                assert_eq!(without_recommends, wrap(&r.bad), "{}: a suggestion must not edit", r.manager);
            } else {
                assert_eq!(without_recommends, wrap(&r.good), "{}: bad example not fixed to the good one", r.manager);
            }
            // The good example raises nothing for this manager.
            let good = crate::fix::fix(&wrap(&r.good), &opts).unwrap();
            let again: Vec<_> =
                good.findings.iter().filter(|f| f.message.starts_with(&r.manager) && r.level != Level::Suggestion).collect();
            assert!(again.is_empty(), "{}: good example still has findings: {again:?}", r.manager);
        }
    }
}
