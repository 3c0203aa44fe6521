//! SF004 multi-stage: a final stage that compiles becomes a builder stage
//! and a small runtime stage that copies only the artifact.
//!
//! The toolchains (how a build is recognised, where the artifact lands,
//! which runtime fits, what it needs) are data:
//! `transforms/multi_stage.toml`.

use super::Transform;
use crate::context::{env_pairs, Context};
use crate::fix::{Edit, Finding, Fix, Level};
use crate::shell::{Command, Word};
use crate::syntax::{Form, Instruction};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

pub struct MultiStage;

const DOCS: &str = r#"# SF004 multi-stage

## What it does
Finds a final stage that compiles its program in its own RUNs and splits it
in two: the stage stays as it was, renamed `AS build` (its name, if it had
one, moves to the new stage so `--target` still picks what ships), and a
new final stage `FROM <runtime>` copies only the artifact from it, with the
stage's `ARG`, `ENV`, `LABEL`, `WORKDIR`, `USER`, `EXPOSE`, `VOLUME`,
`STOPSIGNAL`, `HEALTHCHECK`, `CMD` and `ENTRYPOINT` carried over in order.
The toolchains are data: `transforms/multi_stage.toml`.

- Go (`go build`): with `CGO_ENABLED=0` (in the command, an `export`, an
  ENV or an ARG default) to `scratch`, with the CA bundle copied from the
  builder and `-tags timetzdata` added to the build so time zones still
  load; otherwise to `debian:<release>-slim` of the builder's release.
- Rust (`cargo build`, `cargo install --path DIR`): to
  `debian:<release>-slim` with `ca-certificates` (and so openssl/libssl)
  installed, plus the runtime package of each `-dev` package the build
  installed and of each `-sys` crate of Cargo.lock (`openssl-sys`:
  `libssl3` on bookworm). A binary `cargo install` put in the rust image's
  `/usr/local/cargo/bin`, which the CMD runs by name, goes to
  `/usr/local/bin` in the runtime.
- C/C++ (`gcc`, `cc`, `clang`, `g++`, ...` -o OUT`): `-static` to
  `scratch`, otherwise to `debian:<release>-slim` with the runtime package
  of each `-l` library.
- make, CMake, Maven, Gradle, javac, .NET, Node front-ends and Python
  packages that need compilers are reported with the proposed layout.

## The build context
With a build context (`--context DIR`; by default the Dockerfile's
directory, none for standard input) SF004 reads the files the build reads,
to name artifacts:
- Cargo.toml: the binaries: `[[bin]]` names (those with
  `required-features` left out), and the package name when `src/main.rs`
  is copied, `autobins` is on and no `[[bin]]` takes `src/main.rs`. A
  workspace, a crate inside one, or a `.cargo/config.toml` that moves the
  target directory (or, for `cargo install`, the install root) leaves the
  name unknown.
- Cargo.lock: its `-sys` crates, each mapped to the runtime package of the
  library it links (`[cargo_sys]` in the table); a crate not in the table
  means a suggestion. Read, it also lifts the guard on full `rust` images,
  whose preinstalled -dev packages a crate could otherwise link unseen.
  `cargo install` uses Cargo.lock only with `--locked`. The lock is taken
  as the build's: one that `cargo build` would update because Cargo.toml
  changed is not detected (`--locked` makes that an error).
- go.mod: `go build` of the working directory's package without `-o` (or
  with `-o DIR/`) names the binary after the module path's last element
  (a `/vN` suffix skipped), in the working directory.
- pom.xml: the jar (`finalName`, or `ARTIFACTID-VERSION.jar`, the version
  maybe from `<parent>`), named in the message. Maven stays a suggestion:
  whether the jar runs without its dependencies is not read.
A file counts only when the stage copies it from the context in a way
slimfile follows, read backwards from the build: `COPY . .` or
`COPY . DIR` (a relative DIR only under a literal WORKDIR), `COPY FILE...
DIR/`, `COPY DIR DIR`, a wildcard in a source's last path element, with
`.dockerignore` honoured. A COPY or ADD that may write the file and cannot
be followed (`--from`, `--parents`, `--exclude`, variables, a heredoc, any
ADD), a RUN between the copy and the build that names the file (other than
to `touch` it) or rewrites it (`cargo update`, `go mod edit`, ...), a file
that cannot be read, or a `NAME.dockerignore` at the context's root, makes
it unknown: the finding stays a suggestion and says why.

## Why
Only the final stage ships. Measured with `../shared/tools/imgsize.sh`
(Debian bookworm stand-ins for the language images; total image bytes):
- Go hello-world, `FROM golang`, 908.8 MB; split to `scratch`, 2.5 MB;
  without CGO_ENABLED=0, to bookworm-slim, 80.0 MB;
- C hello-world, `FROM gcc`, 391.9 MB; split to bookworm-slim, 78.0 MB;
  linked `-static`, to `scratch`, 0.8 MB;
- Rust hello-world, `FROM rust`, 814.4 MB; split to bookworm-slim with
  ca-certificates, 99.1 MB.
Each rewritten image was built and its CMD printed the same line as the
original's (run with `buildah run`).

## Example
```dockerfile
FROM golang:1.22-bookworm
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /usr/local/bin/hello .
CMD ["hello"]
```
becomes (with `--unsafe-fixes`)
```dockerfile
FROM golang:1.22-bookworm AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -tags timetzdata -o /usr/local/bin/hello .
CMD ["hello"]

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/local/bin/hello /usr/local/bin/hello
WORKDIR /src
CMD ["hello"]
```

## Levels
Never safe. Unsafe (applied with `--unsafe-fixes`) only when the artifact's
path and every runtime need are established from the Dockerfile and the
build context files above: the output path (`-o`, the package or file
name, go.mod's module, `--bin`, Cargo.toml's binaries, or the CMD that runs
it), the working directory, the builder's Debian release (from its tag,
e.g. `-bookworm`), the libraries it links (`-l`, `-dev` packages, Cargo.lock's
`-sys` crates) and the packages it installed.
Otherwise a suggestion whose message shows the proposed layout and says
what is unknown.

## When it is not applied
- The final stage does not build, is `FROM scratch`, or is built on an
  earlier stage; stages that are not final are never split.
- No CMD/ENTRYPOINT in the stage, or it does not run the artifact (a
  script, `sh -c`, an interpreter): suggestion.
- A runtime without a shell (scratch) gets exec-form CMD/ENTRYPOINT only:
  a shell-form command that is not a plain list of literal words, or a
  `HEALTHCHECK` that runs a shell or another program (curl), means a
  suggestion (a Debian runtime is the way out when its release is known).
- A RUN after the build (other than `cp`/`mv` of the artifact, `strip`,
  `rm`), an `ONBUILD`, a `USER` created by the build, a package installed
  in the stage that is not a known build tool or `-dev` package, a library
  not in the table, `$VARIABLES` the carried instructions use from the
  builder's environment: suggestion.
- Files the program opens at run time from the source tree (templates,
  configuration copied with `COPY . .`) are not copied; COPY/ADD after the
  build are carried over. Use `# slimfile ignore=SF004` above the FROM when
  the program needs more.
- Without a build context, or where it cannot be followed, names that only
  Cargo.toml, go.mod or pom.xml give stay unknown; a Cargo workspace, Go
  with the module root above the working directory, Gradle and a Maven
  multi-module build are not read.
"#;

/// One toolchain (see the header of the TOML file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    pub name: String,
    pub kind: Kind,
    pub commands: Vec<String>,
    pub images: Vec<String>,
    pub artifact: String,
    #[serde(default)]
    pub static_runtime: Option<String>,
    pub runtime: String,
    pub shell: bool,
    pub needs: Vec<String>,
    pub level: Level,
    pub saves: String,
    pub example: String,
    pub expect: Level,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Go,
    Cargo,
    Cc,
    Make,
    Cmake,
    Maven,
    Gradle,
    Javac,
    Dotnet,
    Npm,
    Pip,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Debian {
    pub releases: Vec<String>,
    pub slim_has_tzdata: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildOnly {
    pub packages: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub toolchain: Vec<Toolchain>,
    pub debian: Debian,
    /// Library name to runtime package per release (`any` for all).
    pub lib: BTreeMap<String, BTreeMap<String, String>>,
    pub dev_packages: BTreeMap<String, String>,
    /// `-sys` crate to the library of `lib` it links (`""`: none).
    pub cargo_sys: BTreeMap<String, String>,
    pub build_only: BuildOnly,
}

pub static TABLE: LazyLock<Table> = LazyLock::new(|| {
    toml::from_str::<Table>(include_str!("../../transforms/multi_stage.toml"))
        .expect("transforms/multi_stage.toml is valid (checked by a test)")
});

const DEFAULT_PATH: &[&str] = &["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh"];

impl Transform for MultiStage {
    fn code(&self) -> &'static str {
        "SF004"
    }
    fn name(&self) -> &'static str {
        "multi-stage"
    }
    fn summary(&self) -> &'static str {
        "Split a final stage that compiles into a builder stage and a small runtime stage"
    }
    fn hadolint(&self) -> &'static [&'static str] {
        &[]
    }
    fn docs(&self) -> &'static str {
        DOCS
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let Some(plan) = plan(ctx) else { return Vec::new() };
        let from = ctx.instruction(ctx.stages[plan.stage].from_node).expect("a FROM");
        let layout = plan.layout_summary();
        let what = format!(
            "this final stage builds with `{}` (line {}) and ships the whole {} toolchain",
            plan.build_words, plan.build_line, plan.toolchain.name
        );
        let range = from.range.start..from.line_end;
        if plan.unknown.is_empty() && plan.toolchain.level == Level::Unsafe {
            let message = format!(
                "{what}; split it into a build stage and `FROM {}` that copies only {} (unsafe: check that the program reads no other files from the build stage, such as config files, templates or data)",
                plan.runtime,
                plan.artifacts.join(", ")
            );
            return vec![Finding::new(ctx, self, range, message, Some(Fix { level: Level::Unsafe, edits: plan.edits }))];
        }
        let mut unknown: Vec<String> = Vec::new();
        for u in &plan.unknown {
            if !unknown.contains(u) {
                unknown.push(u.clone());
            }
        }
        if unknown.len() > 4 {
            let more = unknown.len() - 4;
            unknown.truncate(4);
            unknown.push(format!("{more} more"));
        }
        let message = format!("{what}; proposed: {layout}; not applied: {}", unknown.join("; "));
        vec![Finding::new(ctx, self, range, message, None)]
    }
}

/// The split of the final stage, with what is still unknown.
struct Plan {
    stage: usize,
    toolchain: &'static Toolchain,
    build_line: usize,
    build_words: String,
    builder_name: String,
    runtime: String,
    /// Absolute artifact paths in the builder (placeholders when unknown).
    artifacts: Vec<String>,
    /// The runtime stage's lines, before the carried instructions.
    head: Vec<String>,
    /// Carried instruction texts (as they will be written).
    carried: Vec<String>,
    unknown: Vec<String>,
    edits: Vec<Edit>,
}

impl Plan {
    fn layout_summary(&self) -> String {
        let mut parts = vec![format!("FROM … AS {}", self.builder_name), format!("FROM {}", self.runtime)];
        parts.extend(self.head.iter().skip(1).cloned());
        for c in &self.carried {
            let first = c.lines().next().unwrap_or("").trim_end_matches('\\').trim();
            if ["CMD", "ENTRYPOINT"].iter().any(|k| first.to_ascii_uppercase().starts_with(k)) {
                parts.push(first.to_string());
            }
        }
        parts.join(" | ")
    }
}

/// A recognised build command.
struct Build<'a> {
    node: usize,
    ins: &'a Instruction,
    cmd: Command,
    /// Index of the program word in `cmd.words`.
    start: usize,
    toolchain: &'static Toolchain,
    /// The table's command it matched (`go build`, `mvn package`).
    label: String,
    /// Working directory in force (resolved `cd`s of the RUN included).
    cwd: Option<String>,
}

fn plan(ctx: &Context) -> Option<Plan> {
    let stage_idx = ctx.stages.len().checked_sub(1)?;
    let stage = &ctx.stages[stage_idx];
    let from = ctx.instruction(stage.from_node)?;
    let image = stage.image.clone();
    if image == "scratch"
        || image.is_empty()
        || image.contains('$')
        || ctx.stages[..stage_idx].iter().any(|s| s.name.as_deref() == Some(image.as_str()))
    {
        return None;
    }
    // Walk the stage: working directory, environment, packages, builds.
    let mut cwd: Option<String> = None;
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut builds: Vec<Build> = Vec::new();
    let mut installed: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut created_users: Vec<String> = Vec::new();
    for node in stage.from_node + 1..stage.end_node {
        let Some(ins) = ctx.instruction(node) else { continue };
        match ins.keyword.as_str() {
            "WORKDIR" => cwd = resolve(ins.args.trim(), cwd.as_deref()),
            "ENV" | "ARG" => {
                for (k, v) in env_pairs(&ins.args) {
                    if ins.is("ARG") && v.is_empty() && env.contains_key(&k) {
                        continue;
                    }
                    env.insert(k, v);
                }
            }
            "RUN" => {
                let Some(script) = ctx.script(node) else {
                    let t = ctx.doc.text()[ins.range.clone()].to_string();
                    if TABLE.toolchain.iter().flat_map(|t| &t.commands).any(|c| t.contains(c.as_str())) {
                        unknown.push(format!("the RUN on line {} cannot be read (exec form, heredoc or another shell)", ins.line));
                    }
                    continue;
                };
                let mut run_cwd = cwd.clone();
                for cmd in script.command_list() {
                    let Some(start) = cmd.effective_start() else { continue };
                    let Some(name) = prog(cmd, start) else { continue };
                    let args = &cmd.words[start + 1..];
                    if name == "cd" && !cmd.in_subshell {
                        run_cwd = if cmd.conditional {
                            None
                        } else {
                            args.first().and_then(|w| w.literal.as_deref()).and_then(|d| resolve(d, run_cwd.as_deref()))
                        };
                    }
                    if matches!(name.as_str(), "apt-get" | "apt" | "apk" | "yum" | "dnf" | "microdnf") {
                        let pos: Vec<&str> = args.iter().filter_map(|w| w.literal.as_deref()).filter(|a| !a.starts_with('-')).collect();
                        if matches!(pos.first(), Some(&"install") | Some(&"add")) {
                            installed.extend(pos[1..].iter().map(|p| p.split('=').next().unwrap_or(p).to_string()));
                            if args.iter().any(|w| w.literal.is_none()) {
                                installed.push("$(...)".into());
                            }
                        }
                    }
                    if matches!(name.as_str(), "useradd" | "adduser" | "groupadd" | "addgroup") {
                        if let Some(u) = args.iter().rev().find_map(|w| w.literal.as_deref().filter(|a| !a.starts_with('-'))) {
                            created_users.push(u.to_string());
                        }
                    }
                    if let Some((tc, label)) = toolchain_of(&name, args) {
                        if cmd.in_subshell && !matches!(tc.kind, Kind::Go | Kind::Cargo | Kind::Cc) {
                            continue;
                        }
                        // `cargo install TOOL` fetches a tool; only `--path` builds the program.
                        let path_flag = |w: &Word| w.literal.as_deref().is_some_and(|a| a == "--path" || a.starts_with("--path="));
                        if label == "cargo install" && !args.iter().any(path_flag) {
                            continue;
                        }
                        builds.push(Build { node, ins, cmd: cmd.clone(), start, toolchain: tc, label, cwd: run_cwd.clone() });
                    }
                }
            }
            _ => {}
        }
    }
    // pip only builds here when the stage brings compilers or -dev packages.
    let compiles = installed.iter().any(|p| matches!(p.as_str(), "gcc" | "g++" | "build-essential" | "clang") || p.ends_with("-dev"));
    builds.retain(|b| b.toolchain.kind != Kind::Pip || compiles);
    // The last build makes what ships; earlier ones feed it.
    let build = builds.pop()?;
    let tc = build.toolchain;
    let (base_name, tag) = split_image(&image);
    let release = debian_release(&base_name, &tag);
    let text = ctx.doc.text();
    let mut p = Plan {
        stage: stage_idx,
        toolchain: tc,
        build_line: build.ins.line,
        build_words: build.label.clone(),
        builder_name: builder_name(ctx),
        runtime: String::new(),
        artifacts: Vec::new(),
        head: Vec::new(),
        carried: Vec::new(),
        unknown,
        edits: Vec::new(),
    };
    if build.cmd.conditional || build.cmd.in_subshell {
        p.unknown.push(format!("the build on line {} runs only under a condition or in a subshell", build.ins.line));
    }
    if p.build_words.contains('\n') {
        p.build_words = p.build_words.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    // Packages installed in the stage: build tools, -dev packages, or needs.
    let mut libs: Vec<String> = Vec::new();
    let mut builder_has_ca = tc.images.contains(&base_name);
    let mut needed: Vec<&str> = Vec::new();
    for pkg in &installed {
        if pkg == "ca-certificates" {
            builder_has_ca = true;
        }
        if let Some(lib) = TABLE.dev_packages.get(pkg) {
            libs.push(lib.clone());
        } else if !TABLE.build_only.packages.contains(pkg) && !needed.contains(&pkg.as_str()) {
            needed.push(pkg);
        }
    }
    if !needed.is_empty() {
        let more = if needed.len() > 3 { format!(" and {} more", needed.len() - 3) } else { String::new() };
        let list: Vec<String> = needed.iter().take(3).map(|n| format!("`{n}`")).collect();
        p.unknown.push(format!("the stage installs {}{more}, which the program may need at run time", list.join(", ")));
    }
    // Where the artifact lands, and what the runtime is.
    let art = artifact(ctx, &build, &env, &mut p);
    let statically = art.static_link;
    let no_shell_ok = statically && tc.static_runtime.is_some();
    let runtime_rel = release.clone().unwrap_or_else(|| "<release>".into());
    p.runtime = if no_shell_ok {
        tc.static_runtime.clone().unwrap_or_default()
    } else {
        tc.runtime.replace("{release}", &runtime_rel).replace("{version}", &version_of(&tag).unwrap_or_else(|| "<version>".into()))
    };
    let scratch = p.runtime == "scratch";
    if !scratch && tc.runtime.contains("{release}") && release.is_none() {
        p.unknown.push(format!("the Debian release of `{image}` is not in its tag (name it, e.g. `{base_name}:{tag}-bookworm`)"));
    }
    if tc.runtime.contains("{version}") && version_of(&tag).is_none() {
        p.unknown.push(format!("the {} version of `{image}` is not in its tag", tc.name));
    }
    if matches!(tc.kind, Kind::Cargo) && !tag.contains("slim") && !matches!(base_name.as_str(), "debian" | "ubuntu") {
        // Cleared when Cargo.lock, as the build uses it, names every -sys crate.
        match &art.lock {
            Some(Ok(())) => {}
            Some(Err(why)) => p.unknown.push(format!("`{image}` ships -dev packages (libpq, sqlite, ...) a crate may link, and {why}")),
            None => p.unknown.push(format!("`{image}` ships -dev packages (libpq, sqlite, ...) a crate may link; Cargo.lock was not read")),
        }
    }
    // Libraries: -l flags and -dev packages, each with its runtime package.
    libs.extend(art.libs.iter().cloned());
    libs.sort();
    libs.dedup();
    let mut apt: Vec<String> = Vec::new();
    for lib in &libs {
        match TABLE.lib.get(lib) {
            None => p.unknown.push(format!("the library `-l{lib}` has no runtime package in the table")),
            Some(per) => match per.get("any").or_else(|| release.as_deref().and_then(|r| per.get(r))) {
                None => p.unknown.push(format!("the runtime package of `-l{lib}` on this release is unknown")),
                Some(pkg) if pkg.is_empty() => {}
                Some(pkg) => {
                    if scratch {
                        if !statically {
                            p.unknown.push(format!("`-l{lib}` is linked dynamically"));
                        }
                    } else {
                        apt.push(pkg.clone())
                    }
                }
            },
        }
    }
    // What the program may need: CA certificates and time zones.
    let mut head = vec![format!("FROM {}", p.runtime)];
    let go = tc.kind == Kind::Go;
    let needs_ca = go || tc.kind == Kind::Cargo || libs.iter().any(|l| matches!(l.as_str(), "ssl" | "crypto" | "curl"));
    let slim_tz = release.as_ref().is_some_and(|r| TABLE.debian.slim_has_tzdata.contains(r));
    if tc.kind == Kind::Cargo {
        apt.push("ca-certificates".into());
    } else if needs_ca && (go || scratch) {
        if builder_has_ca {
            head.push("COPY --from={builder} /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt".into());
        } else {
            p.unknown.push(format!("CA certificates: `{image}` may not have /etc/ssl/certs/ca-certificates.crt"));
        }
    } else if needs_ca {
        apt.push("ca-certificates".into());
    }
    // GOFLAGS=-tags=... is replaced by a -tags on the command line.
    let goflags_tags = ctx.env_before(build.node).iter().any(|(k, v)| k == "GOFLAGS" && v.contains("-tags"))
        || build.ins.args.contains("GOFLAGS=") && build.ins.args.contains("-tags");
    if go && (scratch || !slim_tz) && goflags_tags {
        p.unknown.push("time zone data: GOFLAGS sets -tags, which a -tags timetzdata on the command line would replace".into());
    } else if go && (scratch || !slim_tz) {
        match go_tzdata_edit(&build) {
            Ok(e) => p.edits.extend(e),
            Err(()) => p.unknown.push("time zone data: `-tags` of the build cannot be extended with timetzdata".into()),
        }
    }
    apt.sort();
    apt.dedup();
    if !apt.is_empty() {
        head.push(format!(
            "RUN apt-get update && apt-get install -y --no-install-recommends {} && rm -rf /var/lib/apt/lists/*",
            apt.join(" ")
        ));
    }
    // Carried instructions.
    let mut carried: Vec<String> = Vec::new();
    let mut final_cwd: Option<String> = None;
    let mut user: Option<String> = None;
    let mut path_env: Option<String> = None;
    let mut defined: Vec<String> = Vec::new();
    let mut argv_entry: Option<Vec<String>> = None;
    let mut argv_cmd: Option<Vec<String>> = None;
    let mut entry_carried: Option<usize> = None;
    let mut cmd_carried: Option<usize> = None;
    let mut artifacts = art.paths.clone();
    // Artifacts the runtime keeps at another path than the builder's.
    let mut moved: BTreeMap<String, String> = BTreeMap::new();
    // Commands after the build in its own RUN: copies of the artifact, or work the runtime would miss.
    if let Some(s) = ctx.script(build.node) {
        for c in s.command_list().iter().filter(|c| c.range.start >= build.cmd.range.end) {
            after_build(c, &mut artifacts, build.cwd.clone(), build.ins.line, &mut p.unknown);
        }
    }
    for node in stage.from_node + 1..stage.end_node {
        let Some(ins) = ctx.instruction(node) else { continue };
        let src = text[ins.range.clone()].to_string();
        let after = node > build.node;
        match ins.keyword.as_str() {
            "ENV" | "ARG" | "LABEL" | "MAINTAINER" | "EXPOSE" | "VOLUME" | "STOPSIGNAL" => {
                for var in vars_used(&ins.args) {
                    if !defined.contains(&var) && (var != "PATH" || scratch) {
                        p.unknown.push(format!("`{}` on line {} uses ${var} from the builder's environment", ins.keyword, ins.line));
                    }
                }
                if ins.is("ENV") || ins.is("ARG") {
                    for (k, v) in env_pairs(&ins.args) {
                        if k == "PATH" {
                            path_env = Some(v.clone());
                        }
                        defined.push(k);
                    }
                }
                carried.push(src);
            }
            "WORKDIR" => {
                final_cwd = resolve(ins.args.trim(), final_cwd.as_deref());
                carried.push(src);
            }
            "USER" => {
                let u = ins.args.trim().to_string();
                user = Some(u);
                carried.push(src);
            }
            "SHELL" if !scratch => carried.push(src),
            "CMD" | "ENTRYPOINT" => {
                let argv = argv_of(ctx, ins);
                if argv.is_none() && scratch {
                    p.unknown.push(format!(
                        "the shell-form `{}` on line {} cannot be made exec form exactly, and scratch has no shell",
                        ins.keyword, ins.line
                    ));
                }
                let converted = match (&argv, ins.form(), scratch) {
                    (Some(a), Form::Shell, true) => format!("{} {}", ins.keyword, json_argv(a)),
                    _ => src,
                };
                if ins.is("CMD") {
                    argv_cmd = argv.or(Some(Vec::new()));
                    cmd_carried = Some(carried.len());
                } else {
                    argv_entry = argv.or(Some(Vec::new()));
                    entry_carried = Some(carried.len());
                    if cmd_carried.is_none() {
                        argv_cmd = None;
                    }
                }
                carried.push(converted);
            }
            "HEALTHCHECK" => {
                let rest = ins.args.trim();
                if !rest.eq_ignore_ascii_case("none") {
                    let hc = rest.split_once(char::is_whitespace).map(|(_, r)| r.trim()).unwrap_or("");
                    let hc_argv: Option<Vec<String>> = if hc.starts_with('[') { serde_json::from_str(hc).ok() } else { None };
                    let runs_artifact = hc_argv
                        .as_ref()
                        .and_then(|a| a.first())
                        .is_some_and(|a0| artifacts.iter().any(|p| is_same_program(a0, p, final_cwd.as_deref())));
                    if !runs_artifact {
                        p.unknown.push(format!("the HEALTHCHECK on line {} runs a program the runtime may not have", ins.line));
                    }
                }
                carried.push(src);
            }
            "COPY" | "ADD" if after => {
                if let Some(ch) = ins.flag("chown").and_then(|f| f.value.clone()) {
                    if ch.split(':').any(|x| x.parse::<u32>().is_err()) && scratch {
                        user.get_or_insert(ch);
                    }
                }
                carried.push(src);
            }
            "RUN" if after => match ctx.script(node) {
                Some(s) => {
                    for c in s.command_list() {
                        after_build(c, &mut artifacts, cwd_at(ctx, stage.from_node, node), ins.line, &mut p.unknown);
                    }
                }
                None => p.unknown.push(format!("the RUN on line {} after the build cannot be read", ins.line)),
            },
            "ONBUILD" => p.unknown.push(format!("the ONBUILD on line {}", ins.line)),
            _ => {}
        }
    }
    let _ = (entry_carried, cmd_carried);
    // Scratch: a named user needs /etc/passwd and /etc/group.
    if let Some(u) = &user {
        let name = u.split(':').next().unwrap_or(u);
        if created_users.iter().any(|c| c == name) && !scratch {
            p.unknown.push(format!("the user `{name}` is created in the build stage; the runtime has no such user"));
        }
        if u.split(':').any(|x| x.parse::<u32>().is_err()) && scratch {
            if u.contains('$') {
                p.unknown.push(format!("USER `{u}` is not literal"));
            }
            head.push("COPY --from={builder} /etc/passwd /etc/group /etc/".into());
        }
    }
    // The program that runs must be the artifact.
    let argv0 = argv_entry.as_ref().or(argv_cmd.as_ref()).and_then(|a| a.first()).cloned();
    let mut path_dirs: Vec<String> = DEFAULT_PATH.iter().map(|s| s.to_string()).collect();
    if let Some(pe) = &path_env {
        path_dirs =
            pe.split(':').flat_map(|d| if d == "$PATH" || d == "${PATH}" { path_dirs.clone() } else { vec![d.to_string()] }).collect();
    }
    let native = matches!(tc.kind, Kind::Go | Kind::Cargo | Kind::Cc | Kind::Make | Kind::Cmake);
    match &argv0 {
        _ if !native => {}
        // Already reported: a shell form scratch cannot run.
        None if scratch => {}
        None if argv_entry.is_none() && argv_cmd.is_none() => {
            p.unknown.push("no CMD or ENTRYPOINT in the stage: the base image's default would run".into())
        }
        None => p.unknown.push("the CMD/ENTRYPOINT cannot be read as a command".into()),
        Some(a0) => {
            let mut hit = artifacts.iter().any(|art| {
                if a0.contains('/') {
                    is_same_program(a0, art, final_cwd.as_deref())
                } else {
                    art.rsplit_once('/').is_some_and(|(dir, base)| base == a0 && path_dirs.iter().any(|d| d.trim_end_matches('/') == dir))
                }
            });
            // Run by name from a directory only the builder image has on its
            // PATH (the rust image's /usr/local/cargo/bin): the runtime gets
            // it in /usr/local/bin.
            if !hit && !a0.contains('/') && path_dirs.iter().any(|d| d == "/usr/local/bin") {
                if let Some(a) =
                    artifacts.iter().find(|a| a.rsplit_once('/').is_some_and(|(d, n)| n == a0 && art.image_path.as_deref() == Some(d)))
                {
                    moved.insert(a.clone(), format!("/usr/local/bin/{a0}"));
                    hit = true;
                }
            }
            if !hit && !artifacts.iter().any(|a| a.contains('<')) {
                let why = if SHELLS.contains(&a0.rsplit('/').next().unwrap_or(a0)) { "a shell".to_string() } else { format!("`{a0}`") };
                p.unknown.push(format!("the CMD/ENTRYPOINT runs {why}, not the built artifact"));
            } else if !hit {
                p.unknown.push(format!("the CMD/ENTRYPOINT runs `{a0}`, which cannot be matched to the artifact"));
            }
        }
    }
    // The artifact copies.
    for a in &artifacts {
        head.push(format!("COPY --from={{builder}} {a} {}", moved.get(a).unwrap_or(a)));
    }
    p.artifacts = artifacts;
    let bn = p.builder_name.clone();
    p.head = head.into_iter().map(|l| l.replace("{builder}", &bn)).collect();
    p.carried = carried;
    if p.unknown.is_empty() && tc.level == Level::Unsafe {
        p.edits = split_edits(ctx, &p, from);
    }
    Some(p)
}

/// Where the artifact of a build lands.
#[derive(Default)]
struct Artifact {
    paths: Vec<String>,
    static_link: bool,
    libs: Vec<String>,
    /// A directory on the builder image's own PATH (not the runtime's)
    /// that holds the artifact.
    image_path: Option<String>,
    /// Cargo: whether Cargo.lock, as the build uses it, was read from the
    /// build context (`Err`: why not; -sys crates missing from the table
    /// are reported on their own); `None` without a build context.
    lock: Option<Result<(), String>>,
}

fn artifact(ctx: &Context, b: &Build, env: &BTreeMap<String, String>, p: &mut Plan) -> Artifact {
    let args = &b.cmd.words[b.start + 1..];
    let lit: Vec<Option<&str>> = args.iter().map(|w| w.literal.as_deref()).collect();
    let mut out = Artifact::default();
    let cwd = b.cwd.as_deref();
    let placeholder = |what: &str| format!("<{what}>");
    if lit.iter().any(Option::is_none) && b.toolchain.kind == Kind::Cc {
        p.unknown.push(format!("the build on line {} has arguments that are not literal", b.ins.line));
    }
    let assign = |name: &str| -> Option<String> {
        b.cmd
            .assignments
            .iter()
            .find_map(|a| a.strip_prefix(&format!("{name}=")).map(crate::syntax::unquote))
            .or_else(|| env.get(name).cloned())
            .or_else(|| {
                ctx.script(b.node).and_then(|s| {
                    s.command_list().iter().filter(|c| c.range.start < b.cmd.range.start && !c.in_subshell).find_map(|c| {
                        (c.name() == Some("export"))
                            .then(|| {
                                c.words[1..]
                                    .iter()
                                    .find_map(|w| w.literal.as_deref()?.strip_prefix(&format!("{name}=")).map(str::to_string))
                            })
                            .flatten()
                    })
                })
            })
    };
    let need_cwd =
        |p: &mut Plan| p.unknown.push(format!("the working directory of the build on line {} is unknown (no literal WORKDIR)", b.ins.line));
    match b.toolchain.kind {
        Kind::Go => {
            const VALUED: &[&str] = &[
                "-o",
                "-tags",
                "-ldflags",
                "-gcflags",
                "-asmflags",
                "-mod",
                "-p",
                "-pkgdir",
                "-buildmode",
                "-compiler",
                "-gccgoflags",
                "-installsuffix",
                "-modfile",
                "-overlay",
                "-pgo",
                "-toolexec",
                "-C",
                "-covermode",
                "-coverpkg",
                "-exec",
            ];
            let (flags, pos) = split_args(&lit[1..], VALUED);
            out.static_link = assign("CGO_ENABLED").as_deref() == Some("0");
            if let Some(os) = assign("GOOS") {
                if os != "linux" {
                    p.unknown.push(format!("GOOS={os}"));
                }
            }
            if flags.iter().any(|(f, _)| f == "-C") {
                p.unknown.push("`go build -C` changes directory".into());
            }
            // The package in the working directory is named after go.mod's
            // module path there.
            let here = matches!(pos.as_slice(), [] | [_]) && pos.iter().all(|p| p == "." || p == "./");
            let module = match cwd {
                Some(dir) if here && ctx.build_context.is_some() => Some(go_module_name(ctx, b, dir)),
                _ => None,
            };
            let pkg_name = || -> Option<String> {
                match pos.as_slice() {
                    _ if here => module.clone()?.ok(),
                    files if files.iter().all(|f| f.ends_with(".go")) => {
                        Some(files[0].rsplit('/').next()?.trim_end_matches(".go").to_string())
                    }
                    [one] if !one.contains("...") && *one != "." && *one != "./" => {
                        Some(one.trim_end_matches('/').rsplit('/').next()?.to_string())
                    }
                    _ => None,
                }
            };
            let o = flags.iter().find(|(f, _)| f == "-o").and_then(|(_, v)| v.clone());
            let path = match o {
                Some(o) => {
                    let dir_like = o.ends_with('/') || DEFAULT_PATH.contains(&o.as_str()) || o == "/go/bin";
                    if dir_like {
                        pkg_name().and_then(|n| resolve(&format!("{}/{n}", o.trim_end_matches('/')), cwd))
                    } else {
                        resolve(&o, cwd)
                    }
                }
                None => pkg_name().and_then(|n| resolve(&n, cwd)),
            };
            match path {
                Some(x) => out.paths.push(x),
                None => {
                    if cwd.is_none() {
                        need_cwd(p);
                    } else if let Some(Err(why)) = module {
                        p.unknown.push(format!("the binary's name comes from go.mod's module path: {why}"));
                    } else {
                        p.unknown.push("the binary's name comes from go.mod's module path, which was not read".into());
                    }
                    out.paths.push(placeholder("binary"));
                }
            }
        }
        Kind::Cargo => {
            const VALUED: &[&str] = &[
                "--bin",
                "--target",
                "--target-dir",
                "--profile",
                "-p",
                "--package",
                "--manifest-path",
                "--features",
                "-F",
                "-j",
                "--jobs",
                "--example",
                "--config",
                "-Z",
                "--color",
                "--message-format",
                "--path",
                "--root",
                "--version",
                "--vers",
                "--git",
                "--branch",
                "--tag",
                "--rev",
                "--registry",
                "--index",
            ];
            let (flags, pos) = split_args(&lit[1..], VALUED);
            let get = |n: &str| flags.iter().find(|(f, _)| f == n).and_then(|(_, v)| v.clone());
            let has = |n: &str| flags.iter().any(|(f, _)| f == n);
            let context = ctx.build_context.is_some();
            let not_read = "the binary's name comes from Cargo.toml, which was not read (name it with `--bin NAME`)";
            // Cargo.lock as the build uses it (`None`: no build context).
            let lock: Option<Result<Vec<String>, String>>;
            if b.label == "cargo install" {
                // `cargo install --path DIR`: the binaries land in ROOT/bin.
                let bins: Vec<String> = flags.iter().filter(|(f, _)| f == "--bin").filter_map(|(_, v)| v.clone()).collect();
                if !pos.is_empty() || has("--example") || has("--examples") {
                    p.unknown.push(format!("the `cargo install` on line {} installs more than the crate at its `--path`", b.ins.line));
                }
                let (base, _) = split_image(&ctx.stages[p.stage].image);
                let root = get("--root").or_else(|| assign("CARGO_INSTALL_ROOT")).or_else(|| assign("CARGO_HOME"));
                let bin_dir = match &root {
                    Some(r) => resolve(&format!("{}/bin", r.trim_end_matches('/')), cwd),
                    // The rust image sets CARGO_HOME=/usr/local/cargo and puts its bin on PATH.
                    None if base == "rust" => {
                        out.image_path = Some("/usr/local/cargo/bin".into());
                        Some("/usr/local/cargo/bin".into())
                    }
                    None => None,
                };
                let Some(bin_dir) = bin_dir else {
                    p.unknown.push(match root {
                        Some(r) => format!("`cargo install` puts the binaries in `{r}/bin`, which cannot be resolved"),
                        None => "where `cargo install` puts the binaries is unknown (no --root, CARGO_INSTALL_ROOT or CARGO_HOME)".into(),
                    });
                    out.paths.push(placeholder("binary"));
                    return out;
                };
                let Some(dir) = get("--path").and_then(|d| resolve(&d, cwd)) else {
                    if cwd.is_none() {
                        need_cwd(p);
                    } else {
                        p.unknown.push(format!("the `--path` of the build on line {} is not literal", b.ins.line));
                    }
                    out.paths.push(format!("{bin_dir}/<name>"));
                    return out;
                };
                let manifest = context.then(|| cargo_manifest(ctx, b, &dir, true));
                let names = if !bins.is_empty() {
                    bins
                } else {
                    match &manifest {
                        Some(Ok(m)) => {
                            p.unknown.extend(m.uncertain.clone());
                            if m.names.is_empty() {
                                p.unknown.push(format!("{dir}/Cargo.toml names no binary"));
                            }
                            m.names.clone()
                        }
                        Some(Err(why)) => {
                            p.unknown.push(format!("the binary's name comes from Cargo.toml: {why} (name it with `--bin NAME`)"));
                            Vec::new()
                        }
                        None => {
                            p.unknown.push(not_read.into());
                            Vec::new()
                        }
                    }
                };
                if names.is_empty() {
                    out.paths.push(format!("{bin_dir}/<name>"));
                }
                out.paths.extend(names.iter().map(|n| format!("{bin_dir}/{n}")));
                lock = manifest.map(|m| {
                    m.and_then(|_| {
                        if has("--locked") || has("--frozen") {
                            cargo_lock(ctx, b, &dir)
                        } else {
                            Err("`cargo install` without `--locked` does not use Cargo.lock".into())
                        }
                    })
                });
            } else {
                let profile = if has("--release") || has("-r") {
                    "release".to_string()
                } else {
                    match get("--profile").as_deref() {
                        None | Some("dev") => "debug".into(),
                        Some(x) => x.to_string(),
                    }
                };
                let workspace = get("--manifest-path").is_some() || get("-p").is_some() || get("--package").is_some();
                if workspace {
                    p.unknown.push("the target directory of a `--manifest-path`/`--package` build depends on the workspace".into());
                }
                let tdir = get("--target-dir")
                    .or_else(|| assign("CARGO_TARGET_DIR"))
                    .or_else(|| assign("CARGO_BUILD_TARGET_DIR"))
                    .unwrap_or_else(|| "target".into());
                let dir = match get("--target").or_else(|| assign("CARGO_BUILD_TARGET")) {
                    Some(t) => format!("{tdir}/{t}/{profile}"),
                    None => format!("{tdir}/{profile}"),
                };
                let Some(dir) = resolve(&dir, cwd) else {
                    need_cwd(p);
                    out.paths.push(placeholder("binary"));
                    return out;
                };
                let manifest = match cwd {
                    _ if !context => None,
                    Some(_) if workspace => Some(Err("the build names its package with `--manifest-path`/`--package`".to_string())),
                    Some(c) => Some(cargo_manifest(ctx, b, c, false)),
                    None => Some(Err("the working directory is unknown".to_string())),
                };
                let name = get("--bin")
                    .or_else(|| cmd_names(ctx, b).into_iter().find_map(|a| a.strip_prefix(&format!("{dir}/")).map(str::to_string)));
                match (name, &manifest) {
                    (Some(n), _) => out.paths.push(format!("{dir}/{n}")),
                    // Every binary Cargo.toml names is built; the CMD says which one runs.
                    (None, Some(Ok(m))) if !m.names.is_empty() => {
                        p.unknown.extend(m.uncertain.clone());
                        out.paths.extend(m.names.iter().map(|n| format!("{dir}/{n}")));
                    }
                    (None, Some(Ok(m))) => {
                        p.unknown.extend(m.uncertain.clone());
                        p.unknown.push(format!("{}/Cargo.toml names no binary", cwd.unwrap_or_default()));
                        out.paths.push(format!("{dir}/<name>"));
                    }
                    (None, Some(Err(why))) => {
                        p.unknown.push(format!("the binary's name comes from Cargo.toml: {why} (name it with `--bin NAME`)"));
                        out.paths.push(format!("{dir}/<name>"));
                    }
                    (None, None) => {
                        p.unknown.push(not_read.into());
                        out.paths.push(format!("{dir}/<name>"));
                    }
                }
                lock = manifest.map(|m| m.and_then(|_| cargo_lock(ctx, b, cwd.unwrap_or("/"))));
            }
            // The -sys crates of Cargo.lock: the libraries the binary may link.
            out.lock = lock.map(|l| {
                let sys = l?;
                let mut unlisted: Vec<String> = Vec::new();
                for c in sys {
                    match TABLE.cargo_sys.get(&c) {
                        Some(lib) if lib.is_empty() => {}
                        Some(lib) => out.libs.push(lib.clone()),
                        None => unlisted.push(format!("`{c}`")),
                    }
                }
                if !unlisted.is_empty() {
                    let more = if unlisted.len() > 3 { format!(" and {} more", unlisted.len() - 3) } else { String::new() };
                    unlisted.truncate(3);
                    p.unknown.push(format!(
                        "Cargo.lock has {}{more}, which may link a native library with no runtime package in the table",
                        unlisted.join(", ")
                    ));
                }
                Ok(())
            });
        }
        Kind::Cc => {
            const VALUED: &[&str] = &["-o", "-I", "-L", "-D", "-U", "-include", "-x", "-MF", "-MT", "-isystem", "-Xlinker"];
            let (flags, _) = split_args(&lit, VALUED);
            if flags.iter().any(|(f, _)| matches!(f.as_str(), "-c" | "-S" | "-E" | "-M" | "-MM" | "-shared")) {
                p.unknown.push("the compiler call does not link a program".into());
            }
            out.static_link = flags.iter().any(|(f, _)| f == "-static");
            // Flags that link runtime libraries the table does not name.
            if let Some((f, _)) = flags.iter().find(|(f, _)| f == "-fopenmp" || f.starts_with("-fsanitize") || f == "-fgnu-tm") {
                p.unknown.push(format!("`{f}` links runtime libraries (libgomp, libasan, ...) the runtime stage would need"));
            }
            for (f, v) in &flags {
                if let Some(l) = f.strip_prefix("-l") {
                    if !l.is_empty() {
                        out.libs.push(l.to_string());
                    } else if let Some(v) = v {
                        out.libs.push(v.clone());
                    }
                }
            }
            let cpp = b.toolchain.name == "C++";
            let (base, _) = split_image(&ctx.stages[p.stage].image);
            if cpp && base == "gcc" && !out.static_link && !flags.iter().any(|(f, _)| f == "-static-libstdc++") {
                p.unknown.push("the gcc image's libstdc++ is newer than Debian's (link with -static-libstdc++)".into());
            }
            match flags.iter().find(|(f, _)| f == "-o").and_then(|(_, v)| v.clone()) {
                Some(o) => match resolve(&o, cwd) {
                    Some(x) => out.paths.push(x),
                    None => {
                        need_cwd(p);
                        out.paths.push(placeholder("binary"));
                    }
                },
                None => {
                    p.unknown.push("the compiler call has no -o (a.out)".into());
                    out.paths.push(placeholder("binary"));
                }
            }
        }
        _ => {
            // Outputs named by build files slimfile does not read (pom.xml
            // it reads, to name the jar; Maven stays a suggestion).
            let from_cmd = cmd_names(ctx, b).into_iter().next();
            let jar = (b.toolchain.kind == Kind::Maven && ctx.build_context.is_some()).then(|| maven_jar(ctx, b, &lit));
            match &jar {
                Some(Ok(j)) => {
                    p.unknown.push(format!("{}: pom.xml names the jar {j}", b.toolchain.name));
                    if let Some(c) = from_cmd.as_ref().filter(|c| c.ends_with(".jar") && *c != j) {
                        p.unknown.push(format!("the CMD/ENTRYPOINT runs {c}, not that jar"));
                    }
                }
                Some(Err(why)) => p.unknown.push(format!("{}: {}, and {why}", b.toolchain.name, b.toolchain.artifact)),
                None => p.unknown.push(format!("{}: {}", b.toolchain.name, b.toolchain.artifact)),
            }
            if !b.toolchain.needs.is_empty() {
                p.unknown.push(format!("the runtime needs {}", b.toolchain.needs.join(", ")));
            }
            match jar {
                Some(Ok(j)) => out.paths.push(j),
                _ => out.paths.push(from_cmd.unwrap_or_else(|| placeholder("artifact"))),
            }
        }
    }
    out
}

/// Absolute paths the stage's CMD/ENTRYPOINT words name (for artifact names).
fn cmd_names(ctx: &Context, b: &Build) -> Vec<String> {
    let stage = &ctx.stages[ctx.stage_of(b.node).unwrap_or(0)];
    let mut out = Vec::new();
    for node in stage.from_node + 1..stage.end_node {
        let Some(ins) = ctx.instruction(node) else { continue };
        if (ins.is("CMD") || ins.is("ENTRYPOINT")) && node > b.node {
            let cwd = cwd_at(ctx, stage.from_node, node);
            for a in argv_of(ctx, ins).unwrap_or_default() {
                if a.contains('/') {
                    if let Some(r) = resolve(&a, cwd.as_deref()) {
                        out.push(r);
                    }
                }
            }
        } else if ins.is("RUN") && node >= b.node {
            // `cp target/release/NAME DEST` names it too.
            if let Some(s) = ctx.script(node) {
                for c in s.command_list() {
                    if matches!(c.name(), Some("cp" | "mv" | "install")) {
                        let cwd = if node == b.node { b.cwd.clone() } else { cwd_at(ctx, stage.from_node, node) };
                        for w in c.words[1..].iter().filter_map(|w| w.literal.as_deref()).filter(|w| !w.starts_with('-')) {
                            if let Some(r) = resolve(w, cwd.as_deref()) {
                                out.push(r);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// The working directory in force at `node` (literal WORKDIRs only).
fn cwd_at(ctx: &Context, from: usize, node: usize) -> Option<String> {
    let mut cwd = None;
    for n in from + 1..node {
        if let Some(i) = ctx.instruction(n).filter(|i| i.is("WORKDIR")) {
            cwd = resolve(i.args.trim(), cwd.as_deref());
        }
    }
    cwd
}

/// A command that runs after the build: a copy of the artifact (tracked),
/// a harmless one, or work the runtime stage would not have.
fn after_build(c: &Command, artifacts: &mut [String], cwd: Option<String>, line: usize, unknown: &mut Vec<String>) {
    let Some(st) = c.effective_start() else { return };
    let n = prog(c, st).unwrap_or_default();
    match n.as_str() {
        "cp" | "mv" | "install" => {
            // Copying something other than the artifact puts files in the
            // build stage that the runtime stage would not have.
            if !track_copy(c, st, artifacts, cwd) {
                let what: Vec<&str> = c.words[st + 1..].iter().map(|w| w.raw.as_str()).collect();
                unknown.push(format!("the RUN on line {line} runs `{n} {}`, whose files the runtime stage would not have", what.join(" ")));
            }
        }
        "strip" | "rm" | "true" | "echo" | "ls" | "chmod" | "file" | "ldd" => {}
        _ => {
            let prefix = format!("the RUN on line {line} runs ");
            if !unknown.iter().any(|u| u.starts_with(&prefix)) {
                unknown.push(format!("{prefix}`{n}` after the build, which the runtime stage would not"));
            }
        }
    }
}

/// `cp|mv|install SRC DEST` of an artifact: the artifact now (also) lives at
/// DEST. False when the command is not such a copy of an artifact.
fn track_copy(c: &Command, start: usize, artifacts: &mut [String], cwd: Option<String>) -> bool {
    let words: Vec<&str> = c.words[start + 1..].iter().filter_map(|w| w.literal.as_deref()).filter(|w| !w.starts_with('-')).collect();
    let [src, dest] = words.as_slice() else { return false };
    let (Some(src), Some(dest)) = (resolve(src, cwd.as_deref()), resolve(dest, cwd.as_deref())) else { return false };
    let Some(i) = artifacts.iter().position(|a| *a == src) else { return false };
    let name = src.rsplit('/').next().unwrap_or("").to_string();
    let dest = if words[1].ends_with('/') || DEFAULT_PATH.contains(&dest.as_str()) { format!("{dest}/{name}") } else { dest };
    artifacts[i] = dest;
    true
}

/// Flags (with their value when `valued` says they take one) and positionals.
fn split_args(args: &[Option<&str>], valued: &[&str]) -> (Vec<(String, Option<String>)>, Vec<String>) {
    let mut flags = Vec::new();
    let mut pos = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].unwrap_or("$?");
        if a.starts_with('-') && a.len() > 1 {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") || valued.contains(&n) => (n.to_string(), Some(v.to_string())),
                _ => (a.to_string(), None),
            };
            // `-ofile`-style short options with attached values.
            let attached =
                valued.iter().find(|v| v.len() == 2 && a.len() > 2 && a.starts_with(*v) && !a.starts_with("--") && !valued.contains(&a));
            if inline.is_some() {
                flags.push((name, inline));
            } else if let Some(v) = attached.filter(|_| !a.starts_with("-l")) {
                flags.push((v.to_string(), Some(a[2..].to_string())));
            } else if valued.contains(&name.as_str()) {
                flags.push((name, args.get(i + 1).copied().flatten().map(str::to_string)));
                i += 1;
            } else {
                flags.push((name, None));
            }
        } else {
            pos.push(a.to_string());
        }
        i += 1;
    }
    (flags, pos)
}

/// The toolchain whose build `name args` is.
fn toolchain_of(name: &str, args: &[Word]) -> Option<(&'static Toolchain, String)> {
    let bare = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-');
    let bare = if bare.is_empty() { name } else { bare };
    let pos: Vec<&str> = args.iter().filter_map(|w| w.literal.as_deref()).filter(|a| !a.starts_with('-')).collect();
    TABLE.toolchain.iter().find_map(|t| {
        t.commands
            .iter()
            .find(|c| {
                let mut parts = c.split_whitespace();
                let Some(p) = parts.next() else { return false };
                if p != name && p != bare && !(p.ends_with("w") && name == format!("./{p}")) {
                    return false;
                }
                let sub: Vec<&str> = parts.collect();
                match (t.kind, sub.as_slice()) {
                    (_, []) => true,
                    // Maven and Gradle take several goals: any of them.
                    (Kind::Maven | Kind::Gradle, [s]) => pos.contains(s),
                    (_, [s]) if s.starts_with('-') => args.first().and_then(|w| w.literal.as_deref()) == Some(*s),
                    (_, subs) => pos.len() >= subs.len() && pos[..subs.len()] == *subs,
                }
            })
            .map(|c| (t, c.clone()))
    })
}

fn prog(cmd: &Command, start: usize) -> Option<String> {
    let w = cmd.words.get(start)?.literal.as_deref()?;
    Some(if w.starts_with("./") { w.to_string() } else { w.rsplit('/').next().unwrap_or(w).to_string() })
}

/// The argv of a CMD/ENTRYPOINT: exec form, or a shell form that is one
/// command of literal words with no glob, expansion, operator or redirect.
fn argv_of(ctx: &Context, ins: &Instruction) -> Option<Vec<String>> {
    match ins.form() {
        Form::Exec(v) => Some(v),
        Form::Shell => {
            let body = ins.args.trim();
            let s = ctx.parse_shell(body)?;
            let cmds = s.commands();
            let [c] = cmds.as_slice() else { return None };
            if c.range != (0..body.len()) || !c.assignments.is_empty() {
                return None;
            }
            c.words
                .iter()
                .map(|w| {
                    let l = w.literal.clone()?;
                    let unquoted_glob = !w.raw.starts_with(['\'', '"']) && w.raw.contains(['*', '?', '[', '~']);
                    (!unquoted_glob).then_some(l)
                })
                .collect()
        }
    }
}

/// `["a", "b"]`, the way Dockerfiles are usually written.
fn json_argv(argv: &[String]) -> String {
    let items: Vec<String> = argv.iter().map(|a| serde_json::to_string(a).unwrap_or_default()).collect();
    format!("[{}]", items.join(", "))
}

fn is_same_program(a0: &str, artifact: &str, cwd: Option<&str>) -> bool {
    resolve(a0, cwd).is_some_and(|r| r == artifact)
}

/// Normalises `path` against `cwd` (`None` when relative with no cwd, or
/// not literal).
fn resolve(path: &str, cwd: Option<&str>) -> Option<String> {
    if path.is_empty() || path.contains('$') || path.contains(['*', '?', '"', '\'']) {
        return None;
    }
    let joined = if path.starts_with('/') { path.to_string() } else { format!("{}/{path}", cwd?) };
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// `$NAME` / `${NAME}` references in an instruction's arguments.
fn vars_used(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = args.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == b'$' {
            let rest = &args[i + 1..];
            let rest = rest.strip_prefix('{').unwrap_or(rest);
            let n: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !n.is_empty() {
                out.push(n);
            }
        }
        i += 1;
    }
    out
}

/// `name` and `tag` of an image reference (registry kept, digest dropped).
fn split_image(image: &str) -> (String, String) {
    let image = image.split('@').next().unwrap_or(image);
    let image = image.strip_prefix("docker.io/library/").or_else(|| image.strip_prefix("docker.io/")).unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => (image[..image.len() - tag.len() - 1].to_string(), tag.to_string()),
        None => (image.to_string(), "latest".to_string()),
    }
}

/// The Debian release a builder image is based on, from its tag.
fn debian_release(name: &str, tag: &str) -> Option<String> {
    let rel = &TABLE.debian.releases;
    if name == "debian" {
        let t = tag.split('-').next().unwrap_or(tag);
        let by_number = match t.split('.').next().unwrap_or(t) {
            "10" => Some("buster"),
            "11" => Some("bullseye"),
            "12" => Some("bookworm"),
            "13" => Some("trixie"),
            _ => None,
        };
        if let Some(r) = by_number {
            return Some(r.to_string());
        }
    }
    tag.split(['-', '.', '_']).find(|p| rel.iter().any(|r| r == p)).map(str::to_string)
}

/// The toolchain version in a tag: the leading number (`17` of
/// `17-jdk`, `3.12` of `3.12-bookworm`, `8.0` of `8.0`), or the number
/// after `temurin-`/`jdk`.
fn version_of(tag: &str) -> Option<String> {
    let parts: Vec<&str> = tag.split('-').collect();
    if let Some(i) = parts.iter().position(|p| *p == "temurin" || *p == "openjdk") {
        if let Some(v) = parts.get(i + 1).filter(|v| v.chars().all(|c| c.is_ascii_digit())) {
            return Some(v.to_string());
        }
    }
    if let Some(v) = parts.iter().find_map(|p| p.strip_prefix("jdk").filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))) {
        return Some(v.to_string());
    }
    let first = parts.first()?;
    (first.chars().next()?.is_ascii_digit() && first.chars().all(|c| c.is_ascii_digit() || c == '.')).then(|| first.to_string())
}

/// A stage name for the builder not used by any other stage.
fn builder_name(ctx: &Context) -> String {
    let taken = |n: &str| ctx.stages.iter().any(|s| s.name.as_deref() == Some(n));
    let mut name = "build".to_string();
    let mut k = 1;
    while taken(&name) && ctx.stages.last().and_then(|s| s.name.as_deref()) != Some(name.as_str()) {
        k += 1;
        name = format!("build{k}");
    }
    name
}

/// `-tags timetzdata` for a go build: inserted, or appended to its `-tags`.
fn go_tzdata_edit(b: &Build) -> Result<Option<Edit>, ()> {
    let words = &b.cmd.words[b.start + 1..];
    let mut i = 0;
    let mut found = None;
    while i < words.len() {
        let Some(w) = words[i].literal.as_deref() else {
            if words[i].raw.contains("tags") {
                return Err(());
            }
            i += 1;
            continue;
        };
        if w == "-tags" || w == "--tags" {
            found = Some((words.get(i + 1).ok_or(())?, false));
        } else if w.starts_with("-tags=") || w.starts_with("--tags=") {
            found = Some((&words[i], true));
        }
        i += 1;
    }
    match found {
        None => {
            let at = b.ins.args_range_to_source(words[0].range.clone()).end;
            Ok(Some(Edit { range: at..at, replacement: " -tags timetzdata".into() }))
        }
        Some((w, _)) => {
            let l = w.literal.as_deref().ok_or(())?;
            if l.split([',', ' ', '=']).any(|t| t == "timetzdata") {
                return Ok(None);
            }
            if w.raw != l || l.contains(' ') {
                return Err(());
            }
            let at = b.ins.args_range_to_source(w.range.clone()).end;
            let sep = if l.ends_with('=') { "" } else { "," };
            Ok(Some(Edit { range: at..at, replacement: format!("{sep}timetzdata") }))
        }
    }
}

/// The edits that rename the stage and add the runtime stage after it.
fn split_edits(ctx: &Context, p: &Plan, from: &Instruction) -> Vec<Edit> {
    let text = ctx.doc.text();
    let eol = ctx.doc.line_ending.as_str();
    let mut edits = Vec::new();
    // FROM ... [AS name]: the builder gets the new name; the old one moves on.
    let args = from.args.trim_end();
    let words: Vec<(usize, &str)> = args.split_whitespace().map(|w| (w.as_ptr() as usize - args.as_ptr() as usize, w)).collect();
    let mut old_name = None;
    if words.len() >= 3 && words[words.len() - 2].1.eq_ignore_ascii_case("as") {
        let (off, w) = words[words.len() - 1];
        old_name = Some(w.to_string());
        edits.push(Edit { range: from.args_range_to_source(off..off + w.len()), replacement: p.builder_name.clone() });
    } else {
        let at = from.args_range_to_source(0..args.len()).end;
        edits.push(Edit { range: at..at, replacement: format!(" AS {}", p.builder_name) });
    }
    edits.extend(p.edits.iter().cloned());
    let mut lines = p.head.clone();
    if let Some(n) = old_name {
        lines[0] = format!("{} AS {n}", lines[0]);
    }
    lines.extend(p.carried.iter().cloned());
    let body = lines.join(eol);
    // After the stage's last instruction (trailing comments stay last).
    let stage = &ctx.stages[p.stage];
    let last = (stage.from_node..stage.end_node).rev().find(|&n| ctx.instruction(n).is_some()).unwrap_or(stage.from_node);
    let node = &ctx.doc.nodes[last];
    let ends_with_eol = text[..node.range.end].ends_with('\n');
    let replacement = if ends_with_eol { format!("{eol}{body}{eol}") } else { format!("{eol}{eol}{body}") };
    edits.push(Edit { range: node.range.end..node.range.end, replacement });
    edits
}

// ---- The build context ------------------------------------------------------

/// A file of the builder as the build sees it, traced back to the build
/// context.
enum Traced {
    /// Copied from the build context by a COPY slimfile can follow, and not
    /// touched since: its text.
    File(String),
    /// No COPY of the stage before the build puts it there.
    NotCopied,
    /// Why it cannot be told.
    Unknown(String),
}

/// What the file at the absolute `path` of the builder is when build `b`
/// runs: the COPYs of the stage before it are read backwards, each mapped
/// to the build context (`COPY . DIR`, `COPY FILE... DIR/`, `COPY DIR DIR`,
/// relative destinations under a literal WORKDIR), with `.dockerignore`
/// honoured. A COPY that cannot be followed and may write `path` makes it
/// unknown, and so does a RUN after the COPY that names the file or
/// rewrites it (`cargo update`, `go mod edit`, ...).
fn trace(ctx: &Context, b: &Build, path: &str) -> Traced {
    let Some(root) = ctx.build_context.as_deref() else { return Traced::Unknown("there is no build context".into()) };
    let Some(st) = ctx.stage_of(b.node) else { return Traced::NotCopied };
    let from = ctx.stages[st].from_node;
    // BuildKit prefers `NAME.dockerignore` next to the Dockerfile NAME; which
    // one applies is not known here.
    if let Some(other) = other_ignore_file(root) {
        return Traced::Unknown(format!("the build context has {other}, which slimfile does not read"));
    }
    let ignore = DockerIgnore::new(&ctx.build_file(".dockerignore").unwrap_or_default());
    for node in (from + 1..b.node).rev() {
        let Some(ins) = ctx.instruction(node).filter(|i| i.is("COPY") || i.is("ADD")) else { continue };
        let lost =
            || Traced::Unknown(format!("the {} on line {} may write {path} in a way slimfile does not follow", ins.keyword, ins.line));
        let copy = match read_copy(ctx, ins, from, node, root, &ignore) {
            Ok(c) => c,
            Err(Some(dest)) if !covers(&dest, path) => continue,
            Err(_) => return lost(),
        };
        if !covers(&copy.dest, path) {
            continue;
        }
        // Later sources win over earlier ones.
        for src in copy.sources.iter().rev() {
            let rel = match entry(root, src) {
                // A directory's contents go into the destination.
                Entry::Dir => under(&copy.dest, path).map(|rest| if src.is_empty() { rest } else { format!("{src}/{rest}") }),
                Entry::File => {
                    let base = src.rsplit('/').next().unwrap_or(src);
                    let into = resolve(base, Some(&copy.dest));
                    let target = if copy.dest_is_dir {
                        into
                    } else if copy.dest.rsplit('/').next() == Some(base) {
                        Some(copy.dest.clone())
                    } else if path == copy.dest || into.as_deref() == Some(path) {
                        // A file, or a file in a directory: it depends on the image.
                        return lost();
                    } else {
                        None
                    };
                    if target.as_deref() != Some(path) {
                        continue;
                    }
                    if ignore.excludes(src) {
                        return lost();
                    }
                    Some(src.clone())
                }
                Entry::Missing => return lost(),
            };
            let Some(rel) = rel else { continue };
            if ignore.excludes(&rel) {
                continue;
            }
            match entry(root, &rel) {
                // Not in the context: this COPY does not make it.
                Entry::Missing => continue,
                Entry::Dir => return lost(),
                Entry::File => {}
            }
            let Some(text) = ctx.build_file(&rel) else {
                return Traced::Unknown(format!("{rel} in the build context cannot be read"));
            };
            if let Some(line) = changed_between(ctx, node, b, path) {
                return Traced::Unknown(format!("the RUN on line {line} may change {path}"));
            }
            return Traced::File(text);
        }
    }
    Traced::NotCopied
}

/// A COPY from the build context.
struct CopyOf {
    /// Paths in the context, normalised (`""`: the whole context).
    sources: Vec<String>,
    /// Absolute destination.
    dest: String,
    /// The destination is known to be a directory.
    dest_is_dir: bool,
}

/// The COPY at `node` when slimfile can follow it; otherwise `Err` with its
/// destination, when that is known. A wildcard in a source's last path
/// element is expanded in the build context (at `root`).
fn read_copy(
    ctx: &Context,
    ins: &Instruction,
    from: usize,
    node: usize,
    root: &std::path::Path,
    ignore: &DockerIgnore,
) -> Result<CopyOf, Option<String>> {
    let cwd = cwd_at(ctx, from, node);
    let words: Vec<String> = match ins.form() {
        Form::Exec(v) => v,
        Form::Shell => ins.args.split_whitespace().map(str::to_string).collect(),
    };
    let dest_raw = words.last().cloned().unwrap_or_default();
    let dest = resolve(&dest_raw, cwd.as_deref());
    let plain = ins.is("COPY")
        && ins.heredocs.is_empty()
        && words.len() >= 2
        && ins.flags.iter().all(|f| matches!(f.name.to_ascii_lowercase().as_str(), "chown" | "chmod" | "link"));
    let Some(dest) = dest else { return Err(None) };
    if !plain {
        return Err(Some(dest));
    }
    let mut sources = Vec::new();
    for w in &words[..words.len() - 1] {
        if w.contains(['$', '"', '\'', '\\']) || w.split('/').any(|c| c == "..") {
            return Err(Some(dest));
        }
        if w.contains(['*', '?', '[']) {
            let Some(found) = expand_glob(root, w, ignore) else { return Err(Some(dest)) };
            sources.extend(found);
            continue;
        }
        let Some(n) = resolve(w, Some("/")) else { return Err(Some(dest)) };
        sources.push(n.trim_start_matches('/').to_string());
    }
    // Directories the stage made with WORKDIR (and every Debian image has).
    let mut workdirs: Vec<String> = Vec::new();
    let mut w: Option<String> = None;
    for n in from + 1..node {
        if let Some(i) = ctx.instruction(n).filter(|i| i.is("WORKDIR")) {
            w = resolve(i.args.trim(), w.as_deref());
            workdirs.extend(w.clone());
        }
    }
    let made = |d: &str| DEFAULT_PATH.contains(&d) || workdirs.iter().any(|w| covers(d, w));
    let dest_is_dir = dest_raw.ends_with('/')
        || dest_raw == "."
        || dest_raw == ".."
        || dest_raw.ends_with("/.")
        || dest == "/"
        || sources.len() > 1
        || made(&dest);
    Ok(CopyOf { sources, dest, dest_is_dir })
}

/// The context entries a COPY source with a wildcard in its last path
/// element names (`None` when the wildcard is elsewhere, the directory
/// cannot be listed, or nothing matches: the COPY would fail).
fn expand_glob(root: &std::path::Path, pattern: &str, ignore: &DockerIgnore) -> Option<Vec<String>> {
    let pattern = pattern.trim_start_matches("./").trim_start_matches('/');
    let (dir, last) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if dir.contains(['*', '?', '[']) || last.is_empty() {
        return None;
    }
    let matcher =
        globset::GlobBuilder::new(&last.replace('{', "[{]").replace('}', "[}]")).literal_separator(true).build().ok()?.compile_matcher();
    let listed = std::fs::canonicalize(root.join(dir)).ok()?;
    if !listed.starts_with(std::fs::canonicalize(root).ok()?) {
        return None;
    }
    let mut out: Vec<String> = std::fs::read_dir(listed)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| matcher.is_match(n))
        .map(|n| if dir.is_empty() { n } else { format!("{dir}/{n}") })
        .filter(|rel| !ignore.excludes(rel))
        .collect();
    out.sort();
    (!out.is_empty()).then_some(out)
}

/// A Dockerfile-specific ignore file (`Dockerfile.dockerignore`) at the
/// root of the build context.
fn other_ignore_file(root: &std::path::Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".dockerignore") && n != ".dockerignore")
        .collect();
    names.sort();
    names.into_iter().next()
}

/// True when writing `dest` may write `path`.
fn covers(dest: &str, path: &str) -> bool {
    dest == "/" || path == dest || path.starts_with(&format!("{dest}/"))
}

/// `path` relative to the directory `dir`, when strictly under it.
fn under(dir: &str, path: &str) -> Option<String> {
    let rest = if dir == "/" { path.strip_prefix('/') } else { path.strip_prefix(dir)?.strip_prefix('/') };
    rest.filter(|r| !r.is_empty()).map(str::to_string)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    File,
    Dir,
    Missing,
}

/// What `rel` is in the build context at `root`.
fn entry(root: &std::path::Path, rel: &str) -> Entry {
    if rel.split('/').any(|c| c == "..") {
        return Entry::Missing;
    }
    match std::fs::metadata(root.join(rel)) {
        Ok(m) if m.is_dir() => Entry::Dir,
        Ok(_) => Entry::File,
        Err(_) => Entry::Missing,
    }
}

/// The line of a RUN after node `after`, up to the build command, that may
/// change `path`: it names the file (other than to `touch` it) or runs a
/// command that rewrites Cargo or Go manifests.
fn changed_between(ctx: &Context, after: usize, b: &Build, path: &str) -> Option<usize> {
    let base = path.rsplit('/').next().unwrap_or(path);
    for node in after + 1..=b.node {
        let Some(ins) = ctx.instruction(node).filter(|i| i.is("RUN")) else { continue };
        let Some(s) = ctx.script(node) else {
            if ctx.doc.text()[ins.range.clone()].contains(base) {
                return Some(ins.line);
            }
            continue;
        };
        let end = if node == b.node { b.cmd.range.start } else { s.src.len() };
        let mut area = s.src[..end].to_string();
        for c in s.command_list().iter().filter(|c| c.range.end <= end) {
            let Some(st) = c.effective_start() else { continue };
            let name = prog(c, st).unwrap_or_default();
            let sub: Vec<&str> = c.words[st + 1..].iter().filter_map(|w| w.literal.as_deref()).filter(|a| !a.starts_with('-')).collect();
            let rewrites = match name.as_str() {
                "cargo" => {
                    matches!(sub.first(), Some(&("update" | "generate-lockfile" | "add" | "remove" | "rm" | "init" | "new" | "upgrade")))
                }
                "go" => matches!(sub.as_slice(), ["get", ..] | ["work", ..] | ["mod", "init" | "edit", ..]),
                _ => false,
            };
            if rewrites {
                return Some(ins.line);
            }
            if name == "touch" {
                area.replace_range(c.range.clone(), &" ".repeat(c.range.len()));
            }
        }
        if area.contains(base) {
            return Some(ins.line);
        }
    }
    None
}

/// The patterns of a `.dockerignore`, as BuildKit reads them: in order, the
/// last that matches a path or one of its parent directories decides, `!`
/// re-includes. A pattern that does not compile excludes everything (the
/// build would fail).
struct DockerIgnore {
    patterns: Vec<(globset::GlobMatcher, bool)>,
    broken: bool,
}

impl DockerIgnore {
    fn new(text: &str) -> DockerIgnore {
        let mut out = DockerIgnore { patterns: Vec::new(), broken: false };
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (keep, pat) = match l.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, l),
            };
            // filepath.Clean, then no leading slash.
            let mut parts: Vec<&str> = Vec::new();
            for seg in pat.split('/') {
                match seg {
                    "" | "." => {}
                    ".." if parts.last().is_some_and(|p| *p != "..") => {
                        parts.pop();
                    }
                    s => parts.push(s),
                }
            }
            if parts.is_empty() {
                continue;
            }
            // Braces are literal in Go's filepath.Match.
            let pat = parts.join("/").replace('{', "[{]").replace('}', "[}]");
            match globset::GlobBuilder::new(&pat).literal_separator(true).build() {
                Ok(g) => out.patterns.push((g.compile_matcher(), keep)),
                Err(_) => out.broken = true,
            }
        }
        out
    }

    fn excludes(&self, rel: &str) -> bool {
        if self.broken {
            return true;
        }
        let parts: Vec<&str> = rel.split('/').collect();
        let mut excluded = false;
        for (g, keep) in &self.patterns {
            if (1..=parts.len()).any(|i| g.is_match(parts[..i].join("/"))) {
                excluded = !keep;
            }
        }
        excluded
    }
}

/// What a crate's Cargo.toml in the build context says.
struct Manifest {
    /// The binaries it builds (see [`cargo_bin_names`]).
    names: Vec<String>,
    /// Why the package's own binary (src/main.rs) may be missing from `names`.
    uncertain: Option<String>,
}

/// Reads the Cargo.toml of the crate at `dir` (absolute, in the builder),
/// with the checks that make its binaries' path follow: no workspace in it
/// or above it, no `.cargo/config.toml` moving the target directory
/// (`cargo build`) or the install root (`cargo install`).
fn cargo_manifest(ctx: &Context, b: &Build, dir: &str, install: bool) -> Result<Manifest, String> {
    let at = |d: &str, rel: &str| resolve(rel, Some(d)).unwrap_or_default();
    let path = at(dir, "Cargo.toml");
    let text = match trace(ctx, b, &path) {
        Traced::File(t) => t,
        Traced::NotCopied => return Err(format!("{path} is not copied from the build context")),
        Traced::Unknown(why) => return Err(why),
    };
    let Ok(v) = text.parse::<toml::Table>() else { return Err(format!("{path} does not parse")) };
    if v.contains_key("workspace") {
        return Err(format!("{path} is a workspace, whose members slimfile does not read"));
    }
    let Some(pkg) = v.get("package").and_then(|p| p.as_table()) else { return Err(format!("{path} has no [package]")) };
    if pkg.contains_key("workspace") {
        return Err(format!("{path} belongs to a workspace"));
    }
    // A workspace above the crate owns its target directory and Cargo.lock.
    let mut d = dir.to_string();
    while d != "/" {
        d = match d.rsplit_once('/') {
            Some(("", _)) | None => "/".to_string(),
            Some((parent, _)) => parent.to_string(),
        };
        let up = at(&d, "Cargo.toml");
        if let Traced::File(t) = trace(ctx, b, &up) {
            if t.parse::<toml::Table>().map_or(true, |t| t.contains_key("workspace")) {
                return Err(format!("{path} may belong to the workspace of {up}"));
            }
        }
    }
    // Cargo configuration from the working directory up.
    let mut d = b.cwd.clone().ok_or("the working directory is unknown")?;
    loop {
        for name in [".cargo/config.toml", ".cargo/config"] {
            let cfg = at(&d, name);
            match trace(ctx, b, &cfg) {
                Traced::File(t) => {
                    let Ok(c) = t.parse::<toml::Table>() else { return Err(format!("{cfg} does not parse")) };
                    let set = |table: &str, key: &str| c.get(table).and_then(|t| t.get(key)).is_some();
                    let moves = if install { set("install", "root") } else { set("build", "target-dir") || set("build", "target") };
                    if moves {
                        return Err(format!("{cfg} moves where the binary lands"));
                    }
                }
                Traced::Unknown(why) => return Err(why),
                Traced::NotCopied => {}
            }
        }
        if d == "/" {
            break;
        }
        d = match d.rsplit_once('/') {
            Some(("", _)) | None => "/".to_string(),
            Some((parent, _)) => parent.to_string(),
        };
    }
    let main = at(dir, "src/main.rs");
    let (has_main, uncertain) = match trace(ctx, b, &main) {
        Traced::File(_) => (true, None),
        Traced::NotCopied => (false, None),
        Traced::Unknown(why) => (false, Some(why)),
    };
    let names = cargo_bin_names(&text, has_main);
    let uncertain = uncertain
        .filter(|_| cargo_bin_names(&text, true) != names)
        .map(|why| format!("whether {main} makes the package's own binary is unknown: {why}"));
    Ok(Manifest { names, uncertain })
}

/// The `-sys` crates of the Cargo.lock next to the crate at `dir`.
fn cargo_lock(ctx: &Context, b: &Build, dir: &str) -> Result<Vec<String>, String> {
    let path = resolve("Cargo.lock", Some(dir)).unwrap_or_default();
    match trace(ctx, b, &path) {
        Traced::File(t) => match t.parse::<toml::Table>() {
            Ok(v) if v.get("package").is_some_and(|p| p.is_array()) => Ok(cargo_lock_sys_crates(&t)),
            _ => Err(format!("{path} cannot be read as a lock file")),
        },
        Traced::NotCopied => Err(format!("{path} is not copied from the build context")),
        Traced::Unknown(why) => Err(why),
    }
}

/// The binary `go build` makes of the package in `dir`, from go.mod there.
fn go_module_name(ctx: &Context, b: &Build, dir: &str) -> Result<String, String> {
    let path = resolve("go.mod", Some(dir)).unwrap_or_default();
    match trace(ctx, b, &path) {
        Traced::File(t) => go_module_binary_name(&t).ok_or_else(|| format!("{path} has no module line")),
        Traced::NotCopied => Err(format!("{path} is not copied from the build context")),
        Traced::Unknown(why) => Err(why),
    }
}

/// The jar a Maven build in the working directory writes, from pom.xml.
fn maven_jar(ctx: &Context, b: &Build, args: &[Option<&str>]) -> Result<String, String> {
    let elsewhere =
        |a: &str| matches!(a, "-f" | "--file" | "-pl" | "--projects") || a.starts_with("--file=") || a.starts_with("--projects=");
    if args.iter().any(|a| a.is_none_or(elsewhere)) {
        return Err("the build names another pom.xml or module, or has arguments that are not literal".into());
    }
    let cwd = b.cwd.as_deref().ok_or("the working directory is unknown")?;
    let path = resolve("pom.xml", Some(cwd)).unwrap_or_default();
    let text = match trace(ctx, b, &path) {
        Traced::File(t) => t,
        Traced::NotCopied => return Err(format!("{path} is not copied from the build context")),
        Traced::Unknown(why) => return Err(why),
    };
    let name = pom_jar_name(&text).map_err(|why| format!("{path}: {why}"))?;
    resolve(&format!("target/{name}"), Some(cwd)).ok_or_else(|| format!("{path} names the jar `{name}`, which is not a plain file name"))
}

// ---- Build context readers (pure) -------------------------------------------

/// The binary names a Cargo.toml builds: its `[[bin]]` names (those with
/// `required-features` left out: they are built only with those features),
/// and the package name when it has `src/main.rs` (the caller says), unless
/// `autobins = false` or a `[[bin]]` takes `src/main.rs` under another name.
pub fn cargo_bin_names(cargo_toml: &str, has_main_rs: bool) -> Vec<String> {
    let Ok(v) = cargo_toml.parse::<toml::Table>() else { return Vec::new() };
    let bins: Vec<toml::Value> = v.get("bin").and_then(|b| b.as_array()).cloned().unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    let mut main_taken = false;
    for b in &bins {
        if b.get("path").and_then(|p| p.as_str()).is_some_and(|p| p.trim_start_matches("./") == "src/main.rs") {
            main_taken = true;
        }
        if b.get("required-features").is_some() {
            continue;
        }
        if let Some(n) = b.get("name").and_then(|n| n.as_str()) {
            out.push(n.to_string());
        }
    }
    let pkg = v.get("package");
    let autobins = pkg.and_then(|p| p.get("autobins")).and_then(|a| a.as_bool()) != Some(false);
    if has_main_rs && autobins && !main_taken {
        if let Some(n) = pkg.and_then(|p| p.get("name")).and_then(|n| n.as_str()) {
            if !out.iter().any(|o| o == n) {
                out.push(n.to_string());
            }
        }
    }
    out
}

/// The `-sys` crates of a Cargo.lock: native libraries the binary may link.
pub fn cargo_lock_sys_crates(cargo_lock: &str) -> Vec<String> {
    let Ok(v) = cargo_lock.parse::<toml::Table>() else { return Vec::new() };
    v.get("package")
        .and_then(|p| p.as_array())
        .map(|a| a.iter().filter_map(|p| p.get("name")?.as_str()).filter(|n| n.ends_with("-sys")).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The binary `go build` names after a module at its root: the last
/// element of go.mod's module path (a `/vN` major suffix skipped).
pub fn go_module_binary_name(go_mod: &str) -> Option<String> {
    let line = go_mod.lines().find_map(|l| l.trim().strip_prefix("module").filter(|r| r.starts_with([' ', '\t'])))?;
    let path = line.split("//").next()?.trim().trim_matches(['"', '`']);
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 1 && parts.last().is_some_and(|l| l.len() > 1 && l.starts_with('v') && l[1..].chars().all(|c| c.is_ascii_digit())) {
        parts.pop();
    }
    parts.last().filter(|s| !s.is_empty()).map(|s| s.to_string())
}

/// The jar `mvn package` writes under `target/`, from a pom.xml:
/// `<build><finalName>` (with `${project.artifactId}` and
/// `${project.version}` resolved), or `ARTIFACTID-VERSION` (the version
/// may come from `<parent>`), plus `.jar`. `Err` says why it cannot be
/// told: another packaging, modules, a classifier, a profile that sets the
/// name, an unresolved property, or XML this small reader does not follow.
pub fn pom_jar_name(pom: &str) -> Result<String, String> {
    const KEEP: &[&str] =
        &["project/artifactId", "project/version", "project/packaging", "project/parent/version", "project/build/finalName"];
    let mut stack: Vec<String> = Vec::new();
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut rest = pom;
    let mut text = |stack: &[String], t: &str| {
        let key = stack.join("/");
        if KEEP.contains(&key.as_str()) {
            values.entry(key).or_default().push_str(t);
        }
    };
    while let Some(i) = rest.find('<') {
        text(&stack, &rest[..i]);
        rest = &rest[i..];
        if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->").ok_or("an unterminated comment")? + 3..];
            continue;
        }
        if let Some(r) = rest.strip_prefix("<![CDATA[") {
            let end = r.find("]]>").ok_or("an unterminated CDATA section")?;
            text(&stack, &r[..end]);
            rest = &r[end + 3..];
            continue;
        }
        let end = rest.find('>').ok_or("an unterminated tag")?;
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with(['?', '!']) {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name.trim()) {
                return Err("it is not well-formed XML".into());
            }
            continue;
        }
        let name = tag.trim_end_matches('/').split_whitespace().next().unwrap_or("").to_string();
        let path = format!("{}/{name}", stack.join("/"));
        if path == "project/modules/module" {
            return Err("it lists modules".into());
        }
        if path.starts_with("project/profiles/") && path.ends_with("/build/finalName") {
            return Err("a profile sets finalName".into());
        }
        if path.starts_with("project/build/") && path.ends_with("/classifier") {
            return Err("a plugin sets a classifier".into());
        }
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    if !stack.is_empty() {
        return Err("it is not well-formed XML".into());
    }
    let get = |k: &str| values.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let packaging = get("project/packaging").unwrap_or_else(|| "jar".into());
    if packaging != "jar" {
        return Err(format!("its packaging is `{packaging}`"));
    }
    let artifact = get("project/artifactId").ok_or("it has no artifactId")?;
    let version = get("project/version").or_else(|| get("project/parent/version")).ok_or("it has no version")?;
    let name = match get("project/build/finalName") {
        Some(f) => f.replace("${project.artifactId}", &artifact).replace("${project.version}", &version),
        None => format!("{artifact}-{version}"),
    };
    if name.contains(['$', '&', '/', '\\']) || artifact.contains('$') || version.contains('$') {
        return Err(format!("the jar name `{name}` uses a property or entity slimfile does not resolve"));
    }
    Ok(format!("{name}.jar"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::Options;

    #[test]
    fn table_is_valid_and_examples_hold() {
        assert!(TABLE.toolchain.len() >= 10);
        for (lib, per) in &TABLE.lib {
            assert!(!per.is_empty(), "{lib}: no package");
            for r in per.keys() {
                assert!(r == "any" || TABLE.debian.releases.contains(r), "{lib}: unknown release {r}");
            }
        }
        for lib in TABLE.dev_packages.values() {
            assert!(TABLE.lib.contains_key(lib), "dev package for unknown lib {lib}");
        }
        for (c, lib) in &TABLE.cargo_sys {
            assert!(c.ends_with("-sys") && (lib.is_empty() || TABLE.lib.contains_key(lib)), "cargo_sys {c}: unknown lib {lib}");
        }
        for t in TABLE.toolchain.iter() {
            assert!(t.level != Level::Safe && t.expect != Level::Safe, "{}: SF004 is never safe", t.name);
            let doc = crate::Document::parse(&t.example).unwrap();
            let opts = Options { select: Some(vec!["SF004"]), unsafe_fixes: true, ..Default::default() };
            let found = crate::fix::check(&doc, &opts);
            assert_eq!(found.len(), 1, "{}: example not found once: {found:?}", t.name);
            assert_eq!(found[0].level(), t.expect, "{}: {}", t.name, found[0].message);
            if t.expect == Level::Unsafe {
                let out = crate::fix::fix(&t.example, &opts).unwrap().output;
                assert!(out.matches("\nFROM ").count() == 1 && out.contains(" AS build\n"), "{}: {out}", t.name);
                let again = crate::fix::fix(&out, &opts).unwrap();
                assert_eq!(again.output, out, "{}: not idempotent", t.name);
            }
        }
    }

    #[test]
    fn context_readers() {
        assert_eq!(cargo_bin_names("[package]\nname = \"hello\"\n", true), vec!["hello"]);
        assert_eq!(cargo_bin_names("[package]\nname = \"x\"\n[[bin]]\nname = \"a\"\n[[bin]]\nname = \"b\"\n", false), vec!["a", "b"]);
        assert_eq!(cargo_lock_sys_crates("[[package]]\nname = \"openssl-sys\"\n[[package]]\nname = \"serde\"\n"), vec!["openssl-sys"]);
        assert_eq!(go_module_binary_name("module example.com/hello\n\ngo 1.22\n").as_deref(), Some("hello"));
        assert_eq!(go_module_binary_name("module github.com/a/tool/v2\n").as_deref(), Some("tool"));
        assert_eq!(go_module_binary_name("go 1.22\n"), None);
        assert_eq!(go_module_binary_name("module\texample.com/srv // the server\n").as_deref(), Some("srv"));
        assert_eq!(go_module_binary_name("modules x\n"), None);
        // [[bin]] taking src/main.rs, autobins = false, required-features.
        let t = "[package]\nname = \"pkg\"\n[[bin]]\nname = \"api\"\npath = \"src/main.rs\"\n";
        assert_eq!(cargo_bin_names(t, true), vec!["api"]);
        assert_eq!(cargo_bin_names("[package]\nname = \"pkg\"\nautobins = false\n", true), Vec::<String>::new());
        let t = "[package]\nname = \"pkg\"\n[[bin]]\nname = \"extra\"\nrequired-features = [\"x\"]\n";
        assert_eq!(cargo_bin_names(t, true), vec!["pkg"]);
        assert_eq!(cargo_bin_names("not toml [", true), Vec::<String>::new());
    }

    #[test]
    fn pom_reader() {
        let pom =
            |body: &str| format!("<?xml version=\"1.0\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n{body}\n</project>\n");
        let base = "<modelVersion>4.0.0</modelVersion><groupId>g</groupId><artifactId>demo</artifactId><version>1.2.0</version>";
        assert_eq!(pom_jar_name(&pom(base)).as_deref(), Ok("demo-1.2.0.jar"));
        // Dependencies' artifactId and version are not the project's.
        let deps = "<parent><groupId>p</groupId><artifactId>parent</artifactId><version>3.0</version></parent>\n<!-- <artifactId>x</artifactId> -->\n<artifactId>app</artifactId>\n<dependencies><dependency><artifactId>lib</artifactId><version>9</version></dependency></dependencies>";
        assert_eq!(pom_jar_name(&pom(deps)).as_deref(), Ok("app-3.0.jar"));
        let fin = format!("{base}<build><finalName>${{project.artifactId}}-app</finalName></build>");
        assert_eq!(pom_jar_name(&pom(&fin)).as_deref(), Ok("demo-app.jar"));
        assert!(pom_jar_name(&pom(&format!("{base}<packaging>war</packaging>"))).unwrap_err().contains("war"));
        assert!(pom_jar_name(&pom(&format!("{base}<modules><module>a</module></modules>"))).is_err());
        assert!(pom_jar_name(&pom("<artifactId>x</artifactId><version>${revision}</version>")).is_err());
        let classifier = format!(
            "{base}<build><plugins><plugin><configuration><classifier>exec</classifier></configuration></plugin></plugins></build>"
        );
        assert!(pom_jar_name(&pom(&classifier)).is_err());
        assert!(pom_jar_name("<project><artifactId>x</artifactId>").is_err());
    }

    #[test]
    fn dockerignore_rules() {
        let d = DockerIgnore::new("# comment\n*.md\n/target\n**/*.lock\n!keep/Cargo.lock\nsecret/\n");
        assert!(d.excludes("README.md"));
        assert!(!d.excludes("docs/README.md"));
        assert!(d.excludes("target/release/x"));
        assert!(d.excludes("Cargo.lock"));
        assert!(!d.excludes("keep/Cargo.lock"));
        assert!(d.excludes("secret/key"));
        assert!(!d.excludes("Cargo.toml"));
        assert!(DockerIgnore::new("*\n!Cargo.toml\n").excludes("src/main.rs"));
        assert!(!DockerIgnore::new("*\n!Cargo.toml\n").excludes("Cargo.toml"));
        assert!(!DockerIgnore::new("").excludes("a"));
    }

    #[test]
    fn helpers() {
        assert_eq!(resolve("./a/../b", Some("/src")).as_deref(), Some("/src/b"));
        assert_eq!(resolve("b", None), None);
        assert_eq!(split_image("docker.io/library/golang:1.22-bookworm"), ("golang".into(), "1.22-bookworm".into()));
        assert_eq!(split_image("localhost:5000/x"), ("localhost:5000/x".into(), "latest".into()));
        assert_eq!(debian_release("rust", "1.78-slim-bookworm").as_deref(), Some("bookworm"));
        assert_eq!(debian_release("debian", "12-slim").as_deref(), Some("bookworm"));
        assert_eq!(debian_release("golang", "1.22"), None);
        assert_eq!(version_of("3.9-eclipse-temurin-17").as_deref(), Some("17"));
        assert_eq!(version_of("8-jdk17").as_deref(), Some("17"));
        assert_eq!(version_of("3.12-slim").as_deref(), Some("3.12"));
        assert_eq!(vars_used("A=$B C=${D}x \\$E"), vec!["B", "D"]);
    }
}
