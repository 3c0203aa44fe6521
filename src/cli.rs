//! The command-line interface: a thin layer over [`crate::fix`],
//! [`crate::report`], [`crate::config`], [`crate::walk`] and
//! [`crate::write`].

use crate::config::Config;
use crate::context::CacheStyle;
use crate::fix::{self, Options};
use crate::report::{self, FileResult};
use crate::transforms::{self, TRANSFORMS};
use crate::walk::{self, Input};
use crate::{diff, write};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::collections::HashMap;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Parser, Debug)]
#[command(name = "slimfile", version, about = "Rewrites Dockerfiles so that their images get smaller, without breaking the build")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply fixes in place, or show them (--dry-run) or list the files they would change (--check)
    Fix(FixArgs),
    /// Report every finding, with `[*]` where `fix` would apply it
    Check(CommonArgs),
    /// List the transforms
    Rules {
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// Show the documentation of one transform (code or name)
    Rule { rule: String },
    /// A per-stage view of the layers a Dockerfile makes, their estimated sizes and the waste in them
    Explain {
        /// The Dockerfile
        path: PathBuf,
        /// The build context (default: the Dockerfile's directory)
        #[arg(long, value_name = "DIR")]
        context: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
}

#[derive(Args, Debug)]
struct CommonArgs {
    /// Files or directories (default: the current directory); `-` reads standard input
    paths: Vec<PathBuf>,
    /// Also apply fixes that are not safe in every build
    #[arg(long)]
    unsafe_fixes: bool,
    /// Only these transforms (codes or names, comma-separated)
    #[arg(long, value_delimiter = ',')]
    select: Vec<String>,
    /// Skip these transforms (codes or names, comma-separated)
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Do not honour `# slimfile ignore=` and `# hadolint ignore=` comments
    #[arg(long)]
    no_ignore_comments: bool,
    /// Use this config file instead of looking for slimfile.toml / .slimfile.toml
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// When to colour the output
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Worker threads (default: one per core)
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// SF002: delete caches in the RUN (default) or keep them in BuildKit cache mounts
    #[arg(long, value_enum)]
    cache_style: Option<CacheStyleArg>,
    /// The build context (default: each Dockerfile's directory; none for standard input)
    #[arg(long, value_name = "DIR")]
    context: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct FixArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Print a unified diff of the changes and write nothing
    #[arg(long, visible_alias = "diff")]
    dry_run: bool,
    /// List the files that would change and write nothing
    #[arg(long, conflicts_with = "dry_run")]
    check: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// Findings with a source excerpt (for `fix --dry-run`: the diff)
    Text,
    /// One line per finding
    Concise,
    /// The JSON report (schema in the README)
    Json,
    /// SARIF 2.1.0 for code scanning
    Sarif,
    /// GitHub Actions workflow commands
    Github,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum CacheStyleArg {
    Delete,
    Mount,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum RulesFormat {
    Text,
    Json,
}

/// Exit codes.
const OK: i32 = 0;
const CHANGES: i32 = 1;
const ERROR: i32 = 2;

/// Runs the tool; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { ERROR } else { OK };
            let _ = e.print();
            return code;
        }
    };
    let mut out = Out::new();
    let code = match cli.command {
        Command::Fix(args) => run(&args.common, Some(&args), &mut out),
        Command::Check(args) => run(&args, None, &mut out),
        Command::Rules { format } => list_rules(format, &mut out),
        Command::Explain { path, context, format } => explain(&path, context, format, &mut out),
        Command::Rule { rule } => match transforms::find(&rule) {
            Some(t) => {
                out.print(t.docs());
                OK
            }
            None => {
                eprintln!("error: unknown rule `{rule}` (see `slimfile rules`)");
                ERROR
            }
        },
    };
    out.flush();
    code
}

/// Standard output that treats a closed pipe as the end of the run.
struct Out {
    inner: io::BufWriter<io::Stdout>,
    /// The reader went away (`| head`): the rest of the output is dropped,
    /// and the run still ends with the exit code it earns.
    closed: bool,
}

impl Out {
    fn new() -> Self {
        Out { inner: io::BufWriter::new(io::stdout()), closed: false }
    }
    fn print(&mut self, s: &str) {
        if !self.closed {
            if let Err(e) = self.inner.write_all(s.as_bytes()) {
                self.fail(e);
            }
        }
    }
    fn flush(&mut self) {
        if !self.closed {
            if let Err(e) = self.inner.flush() {
                self.fail(e);
            }
        }
    }
    fn fail(&mut self, e: io::Error) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            self.closed = true;
            return;
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(ERROR);
    }
}

/// Resolves rule names to codes.
fn codes(keys: &[String]) -> Result<Vec<&'static str>, String> {
    keys.iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .map(|k| transforms::find(k).map(|t| t.code()).ok_or_else(|| format!("unknown rule `{k}` (see `slimfile rules`)")))
        .collect()
}

/// The options for one file: the command line over its config file.
fn options(args: &CommonArgs, cfg: Option<&Config>) -> Result<Options, String> {
    let cli_select = codes(&args.select)?;
    let mut ignore = codes(&args.ignore)?;
    let mut chosen: Vec<&'static str> = if !cli_select.is_empty() {
        cli_select
    } else if let Some(sel) = cfg.and_then(|c| c.select.as_ref()) {
        codes(sel)?
    } else {
        TRANSFORMS.iter().map(|t| t.code()).collect()
    };
    if let Some(c) = cfg {
        ignore.extend(codes(&c.ignore)?);
    }
    chosen.retain(|c| !ignore.contains(c));
    Ok(Options {
        select: Some(chosen),
        unsafe_fixes: args.unsafe_fixes || cfg.and_then(|c| c.unsafe_fixes).unwrap_or(false),
        no_ignore_comments: args.no_ignore_comments,
        context: args.context.clone(),
        cache_style: match args.cache_style {
            Some(CacheStyleArg::Mount) => CacheStyle::Mount,
            Some(CacheStyleArg::Delete) => CacheStyle::Delete,
            None => cfg.and_then(|c| c.cache_style).unwrap_or_default(),
        },
        extra_base_images: cfg.map(|c| c.base_image.clone()).unwrap_or_default(),
        report_only: false,
    })
}

/// Config files by directory, so each is read once per run.
struct Configs {
    explicit: Option<Config>,
    by_dir: Mutex<HashMap<PathBuf, Result<Option<Config>, String>>>,
}

impl Configs {
    fn for_file(&self, path: Option<&Path>) -> Result<Option<Config>, String> {
        if let Some(c) = &self.explicit {
            return Ok(Some(c.clone()));
        }
        let dir = match path {
            Some(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
            None => PathBuf::from("."),
        };
        let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
        let mut cache = self.by_dir.lock().expect("config cache lock");
        cache.entry(dir.clone()).or_insert_with(|| Config::find_for(&dir.join("Dockerfile"))).clone()
    }
}

/// The path as shown in messages and diff headers: relative to the
/// current directory when it is under it.
fn display_path(p: &Path) -> String {
    let rel = std::env::current_dir().ok().and_then(|cwd| p.strip_prefix(&cwd).ok().map(Path::to_path_buf));
    let s = rel.as_deref().unwrap_or(p).to_string_lossy().to_string();
    let s = if cfg!(windows) { s.replace('\\', "/") } else { s };
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// The path for `a/` and `b/` diff headers, as raw bytes (the file name
/// need not be UTF-8), without a leading `/`, which `git apply` would not
/// accept.
fn header_path(p: &Path, label: &str) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let _ = label;
        let rel = std::env::current_dir()
            .ok()
            .and_then(|cwd| p.strip_prefix(&cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| p.to_path_buf());
        let bytes = rel.as_os_str().as_bytes();
        let bytes = bytes.strip_prefix(b"./").unwrap_or(bytes);
        let start = bytes.iter().take_while(|&&b| b == b'/').count();
        bytes[start..].to_vec()
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        label.trim_start_matches('/').as_bytes().to_vec()
    }
}

fn use_color(c: Color) -> bool {
    match c {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Reads an input; the error is the message for it.
fn load(input: &Input, stdin: &Option<io::Result<Vec<u8>>>) -> Result<(String, Option<PathBuf>, Vec<u8>, String), String> {
    match input {
        Input::Stdin => match stdin.as_ref().expect("stdin was read") {
            Err(e) => Err(format!("<stdin>: {}", write::io_message(e))),
            Ok(bytes) => match write::decode(bytes) {
                Ok(text) => Ok(("<stdin>".into(), None, bytes.clone(), text)),
                Err(m) => Err(format!("<stdin>:{m}")),
            },
        },
        Input::File(p) => write::read_text(p).map(|(bytes, text)| (display_path(p), Some(p.clone()), bytes, text)),
    }
}

/// `check` (when `fix_args` is `None`) or `fix`.
fn run(args: &CommonArgs, fix_args: Option<&FixArgs>, out: &mut Out) -> i32 {
    use rayon::prelude::*;
    // Validate the options once up front, so a bad --select is one error.
    if let Err(m) = options(args, None) {
        eprintln!("error: {m}");
        return ERROR;
    }
    let explicit = match &args.config {
        Some(p) => match Config::load(p) {
            Ok(c) => Some(c),
            Err(m) => {
                eprintln!("error: {m}");
                return ERROR;
            }
        },
        None => None,
    };
    if let Some(n) = args.threads {
        // Only fails when a pool already exists; the default one then serves.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global();
    }
    let configs = Configs { explicit, by_dir: Mutex::new(HashMap::new()) };
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let (inputs, walk_errors) = walk::discover(&paths);
    let stdin = if inputs.contains(&Input::Stdin) {
        let mut bytes = Vec::new();
        Some(io::stdin().read_to_end(&mut bytes).map(|_| bytes))
    } else {
        None
    };
    let dry_run = fix_args.is_some_and(|f| f.dry_run);
    let list_only = fix_args.is_some_and(|f| f.check);
    let in_place = fix_args.is_some() && !dry_run && !list_only;
    let progress = progress_bar(inputs.len());
    let mut results: Vec<FileResult> = inputs
        .par_iter()
        .filter_map(|input| {
            // A bug must not take the other files down: a panic becomes an
            // error for this file, which is left unchanged.
            let run =
                std::panic::AssertUnwindSafe(|| process(input, &stdin, &paths, &configs, args, fix_args.is_some(), dry_run, in_place));
            let r = std::panic::catch_unwind(run).unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let label = match input {
                    Input::File(p) => display_path(p),
                    Input::Stdin => "<stdin>".into(),
                };
                Some(FileResult {
                    errors: vec![format!("{label}: internal error (a bug in slimfile; the file was left unchanged): {why}")],
                    label,
                    ..FileResult::default()
                })
            });
            progress.inc(1);
            r
        })
        .collect();
    progress.finish_and_clear();
    let mut walk_results: Vec<FileResult> = walk_errors
        .into_iter()
        .map(|e| FileResult { label: e.split(": ").next().unwrap_or("").to_string(), errors: vec![e], ..FileResult::default() })
        .collect();
    walk_results.append(&mut results);
    let results = walk_results;
    let summary = report::summary(&results);
    let color = use_color(args.color);

    // Standard output.
    match args.format {
        Format::Json => out.print(&report::json(&results)),
        Format::Sarif => out.print(&report::sarif(&results)),
        Format::Github => results.iter().for_each(|r| out.print(&report::github(r))),
        Format::Text | Format::Concise => {
            for r in &results {
                if let Some(f) = fix_args {
                    if f.dry_run {
                        if let Some(d) = &r.diff {
                            out.print(&if color { diff::colorize(d) } else { d.clone() });
                        }
                    } else if f.check && r.changed {
                        out.print(&format!("would change: {}\n", r.label));
                    }
                } else if args.format == Format::Concise {
                    out.print(&report::concise(r));
                } else {
                    out.print(&report::text(r));
                }
            }
        }
    }
    out.flush();
    // Standard error: errors (each once) and what was written, then the summary.
    let mut printed = std::collections::HashSet::new();
    for r in &results {
        for e in &r.errors {
            if printed.insert(e.clone()) {
                eprintln!("error: {e}");
            }
        }
        for n in &r.notes {
            eprintln!("note: {n}");
        }
        if in_place && r.changed && r.errors.is_empty() && r.text.is_some() && r.label != "<stdin>" {
            eprintln!("fixed {} ({} {})", r.label, r.applied, plural(r.applied, "fix", "fixes"));
        }
    }
    let mut line = if fix_args.is_some() {
        let verb = if in_place { "changed" } else { "would change" };
        let mut l = format!(
            "{} {} {verb} ({} {})",
            summary.changed,
            plural(summary.changed, "file", "files"),
            summary.applied,
            plural(summary.applied, "fix", "fixes")
        );
        let unfixed = summary.findings - summary.fixable;
        if unfixed > 0 {
            l.push_str(&format!(
                "; {unfixed} more {} not fixed automatically (see `slimfile check`)",
                plural(unfixed, "finding", "findings")
            ));
        }
        l
    } else {
        let mut l = format!("{} {}, {} fixable", summary.findings, plural(summary.findings, "finding", "findings"), summary.fixable);
        if summary.with_unsafe > 0 {
            l.push_str(&format!(", {} more with --unsafe-fixes", summary.with_unsafe));
        }
        l
    };
    if summary.errors > 0 {
        line.push_str(&format!("; {} {}", summary.errors, plural(summary.errors, "error", "errors")));
    }
    eprintln!("{line}");
    if summary.errors > 0 {
        ERROR
    } else if (fix_args.is_none() && summary.findings > 0) || ((dry_run || list_only) && summary.changed > 0) {
        CHANGES
    } else {
        OK
    }
}

/// Reads, checks and (in fix modes) fixes one input. `None` when a config
/// file excludes it from a directory walk.
#[allow(clippy::too_many_arguments)]
fn process(
    input: &Input,
    stdin: &Option<io::Result<Vec<u8>>>,
    named: &[PathBuf],
    configs: &Configs,
    args: &CommonArgs,
    fixing: bool,
    dry_run: bool,
    in_place: bool,
) -> Option<FileResult> {
    let path = match input {
        Input::File(p) => Some(p.as_path()),
        Input::Stdin => None,
    };
    let mut r = FileResult { label: path.map_or_else(|| "<stdin>".to_string(), display_path), ..FileResult::default() };
    let cfg = match configs.for_file(path) {
        Ok(c) => c,
        Err(m) => {
            r.errors.push(m);
            return Some(r);
        }
    };
    if let (Some(c), Some(p)) = (&cfg, path) {
        if !named.iter().any(|n| n == p) && c.excludes(p) {
            return None;
        }
    }
    r.opts = match options(args, cfg.as_ref()) {
        Ok(o) => o,
        Err(m) => {
            let at = cfg.as_ref().and_then(|c| c.path.as_ref()).map(|p| format!("{}: ", p.display())).unwrap_or_default();
            r.errors.push(format!("{at}{m}"));
            return Some(r);
        }
    };
    if r.opts.context.is_none() {
        r.opts.context = path.and_then(Path::parent).map(|p| if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.to_path_buf() });
    }
    let (label, file, bytes, text) = match load(input, stdin) {
        Ok(x) => x,
        Err(m) => {
            r.errors.push(m);
            return Some(r);
        }
    };
    r.label = label;
    // A generated file is fixed at its source, not here: report only.
    if file.is_some() && text.lines().take(10).any(|l| l.contains("DO NOT EDIT")) {
        r.opts.report_only = true;
        r.notes.push(format!("{}: marked DO NOT EDIT (generated): findings are reported, no fix is applied", r.label));
    }
    let parse_error = |e: &fix::Error| match e {
        fix::Error::Parse(p) => format!("{}:{}: {} (the file was left unchanged)", r.label, p.line, p.message),
        fix::Error::Internal(_) => format!("{}: {e}", r.label),
    };
    if !fixing {
        match crate::Document::parse(&text) {
            Ok(doc) => r.findings = fix::check(&doc, &r.opts),
            Err(e) => r.errors.push(parse_error(&fix::Error::Parse(e))),
        }
        r.text = Some(text);
        return Some(r);
    }
    let outcome = match fix::fix(&text, &r.opts) {
        Ok(o) => o,
        Err(e) => {
            r.errors.push(parse_error(&e));
            if in_place && file.is_none() {
                // `fix - < in > out` must not leave `out` empty.
                let _ = io::stdout().lock().write_all(text.as_bytes());
            }
            r.text = Some(text);
            return Some(r);
        }
    };
    r.findings = outcome.findings;
    r.changed = outcome.output != text;
    if r.changed {
        r.applied = outcome.applied;
    }
    let ignore_file = file.as_ref().and_then(|_| dockerignore_change(&outcome.output, &r.opts));
    if ignore_file.is_some() {
        r.changed = true;
        r.applied += 1;
    }
    if dry_run {
        let mut d = match &file {
            Some(p) => diff::unified_bytes(&header_path(p, &r.label), &text, &outcome.output),
            None => diff::unified("stdin", &text, &outcome.output),
        };
        if let Some((p, old, new)) = &ignore_file {
            let header = header_path(p, &display_path(p));
            d.push_str(&match old {
                Some(old) => diff::unified_bytes(&header, old, new),
                None => diff::new_file(&header, new),
            });
        }
        r.diff = Some(d);
    } else if in_place {
        if let Some((p, old, new)) = &ignore_file {
            let result = match old {
                Some(old) => write::write_atomic(p, old.as_bytes(), new.as_bytes()),
                None => write::create_new(p, new.as_bytes()),
            };
            match result {
                Ok(()) => r.notes.push(format!("{}: wrote the .dockerignore SF006 proposes", display_path(p))),
                Err(m) => r.errors.push(m),
            }
        }
        match &file {
            Some(p) if r.changed => {
                if let Err(m) = write::write_atomic(p, &bytes, outcome.output.as_bytes()) {
                    r.errors.push(m);
                    r.changed = false;
                    r.applied = 0;
                }
            }
            Some(_) => {}
            None => {
                // `-`: the result goes to standard output.
                let mut stdout = io::stdout().lock();
                if let Err(e) = stdout.write_all(outcome.output.as_bytes()).and_then(|_| stdout.flush()) {
                    if e.kind() != io::ErrorKind::BrokenPipe {
                        r.errors.push(format!("cannot write to standard output: {e}"));
                    }
                }
            }
        }
    }
    r.text = Some(text);
    Some(r)
}

/// A progress bar on standard error for long runs on a terminal.
fn progress_bar(files: usize) -> indicatif::ProgressBar {
    if files < 200 || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(files as u64);
    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} files") {
        pb.set_style(style);
    }
    pb
}

fn explain(path: &Path, context: Option<PathBuf>, format: RulesFormat, out: &mut Out) -> i32 {
    let label = display_path(path);
    let text = match write::read_text(path) {
        Ok((_, t)) => t,
        Err(m) => {
            eprintln!("error: {m}");
            return ERROR;
        }
    };
    let doc = match crate::Document::parse(&text) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {label}:{}: {}", e.line, e.message);
            return ERROR;
        }
    };
    let context = context.or_else(|| path.parent().map(|p| if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.to_path_buf() }));
    let e = crate::explain::explain(&doc, context.as_deref());
    out.print(&match format {
        RulesFormat::Text => crate::explain::render_text(&e),
        RulesFormat::Json => crate::explain::render_json(&e),
    });
    OK
}

/// SF006 with `--unsafe-fixes`: the `.dockerignore` to write for the fixed
/// Dockerfile, as (path, old content, new content).
fn dockerignore_change(output: &str, opts: &Options) -> Option<(PathBuf, Option<String>, String)> {
    if !opts.unsafe_fixes || opts.report_only || !opts.select.as_ref().is_none_or(|s| s.contains(&"SF006")) {
        return None;
    }
    let doc = crate::Document::parse(output).ok()?;
    let mut ctx = crate::context::Context::new(&doc);
    ctx.build_context = opts.context.clone();
    ctx.honour_ignores = !opts.no_ignore_comments;
    if ctx.ignored(0, "SF006", "dockerignore", &[]) {
        return None;
    }
    let (path, content) = crate::transforms::dockerignore::proposed_dockerignore(&ctx)?;
    let old = std::fs::read_to_string(&path).ok();
    (old.as_deref() != Some(content.as_str())).then_some((path, old, content))
}

fn list_rules(format: RulesFormat, out: &mut Out) -> i32 {
    match format {
        RulesFormat::Text => {
            for t in TRANSFORMS {
                let hadolint = if t.hadolint().is_empty() { String::new() } else { format!("  (hadolint: {})", t.hadolint().join(", ")) };
                out.print(&format!("{}  {:<14} {}{hadolint}\n", t.code(), t.name(), t.summary()));
            }
        }
        RulesFormat::Json => {
            let list: Vec<serde_json::Value> = TRANSFORMS
                .iter()
                .map(|t| serde_json::json!({"code": t.code(), "name": t.name(), "summary": t.summary(), "hadolint": t.hadolint()}))
                .collect();
            out.print(&format!("{}\n", serde_json::to_string_pretty(&list).expect("rules serialize")));
        }
    }
    OK
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}
