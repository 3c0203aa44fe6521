//! The command-line interface: a thin layer over [`crate::fix`].

use crate::fix::{self, Finding, Level, Options};
use crate::transforms::{self, TRANSFORMS};
use crate::walk::{self, Input};
use crate::{diff, write};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;

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
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show the documentation of one transform (code or name)
    Rule { rule: String },
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
    /// When to colour the output
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
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
        Command::Fix(args) => run_fix(&args, &mut out),
        Command::Check(args) => run_check(&args, &mut out),
        Command::Rules { format } => list_rules(format, &mut out),
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
}

impl Out {
    fn new() -> Self {
        Out { inner: io::BufWriter::new(io::stdout()) }
    }
    fn print(&mut self, s: &str) {
        if let Err(e) = self.inner.write_all(s.as_bytes()) {
            Self::fail(e);
        }
    }
    fn flush(&mut self) {
        if let Err(e) = self.inner.flush() {
            Self::fail(e);
        }
    }
    fn fail(e: io::Error) -> ! {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(OK);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(ERROR);
    }
}

fn options(args: &CommonArgs) -> Result<Options, String> {
    let resolve = |keys: &[String]| -> Result<Vec<&'static str>, String> {
        keys.iter()
            .filter(|k| !k.trim().is_empty())
            .map(|k| {
                transforms::find(k.trim()).map(|t| t.code()).ok_or_else(|| format!("unknown rule `{}` (see `slimfile rules`)", k.trim()))
            })
            .collect()
    };
    let select = resolve(&args.select)?;
    let ignore = resolve(&args.ignore)?;
    let mut chosen: Vec<&'static str> = if select.is_empty() { TRANSFORMS.iter().map(|t| t.code()).collect() } else { select };
    chosen.retain(|c| !ignore.contains(c));
    Ok(Options { select: Some(chosen), unsafe_fixes: args.unsafe_fixes })
}

/// One input read into memory.
struct Loaded {
    /// Shown in messages and diff headers.
    label: String,
    path: Option<PathBuf>,
    bytes: Vec<u8>,
    text: String,
}

/// What processing one input produced, printed in input order.
#[derive(Default)]
struct Report {
    stdout: String,
    stderr: Vec<String>,
    errors: usize,
    /// Files changed (0 or 1 for one input; the count in a total).
    changed: usize,
    fixes: usize,
    unfixed: usize,
    findings: usize,
    fixable: usize,
    with_unsafe: usize,
}

/// Expands the paths, reads each input and runs `work` on it, files in
/// parallel; reports come back in input order (sorted paths), whatever the
/// number of threads. Standard input is read first, on this thread.
fn process(paths: &[PathBuf], work: impl Fn(Loaded, &mut Report) + Sync) -> Vec<Report> {
    use rayon::prelude::*;
    let paths = if paths.is_empty() { vec![PathBuf::from(".")] } else { paths.to_vec() };
    let (inputs, errs) = walk::discover(&paths);
    let mut reports: Vec<Report> =
        errs.into_iter().map(|e| Report { stderr: vec![format!("error: {e}")], errors: 1, ..Report::default() }).collect();
    let stdin = if inputs.contains(&Input::Stdin) {
        let mut bytes = Vec::new();
        Some(io::stdin().read_to_end(&mut bytes).map(|_| bytes))
    } else {
        None
    };
    let load = |input: &Input| -> Result<Loaded, String> {
        match input {
            Input::Stdin => match stdin.as_ref().expect("stdin was read") {
                Err(e) => Err(format!("error: <stdin>: {}", write::io_message(e))),
                Ok(bytes) => match write::decode(bytes) {
                    Ok(text) => Ok(Loaded { label: "<stdin>".into(), path: None, bytes: bytes.clone(), text }),
                    Err(m) => Err(format!("error: <stdin>:{m}")),
                },
            },
            Input::File(p) => match write::read_text(p) {
                Ok((bytes, text)) => Ok(Loaded { label: display_path(p), path: Some(p.clone()), bytes, text }),
                Err(m) => Err(format!("error: {m}")),
            },
        }
    };
    let done: Vec<Report> = inputs
        .par_iter()
        .map(|input| {
            let mut r = Report::default();
            match load(input) {
                Ok(loaded) => work(loaded, &mut r),
                Err(m) => {
                    r.stderr.push(m);
                    r.errors += 1;
                }
            }
            r
        })
        .collect();
    reports.extend(done);
    reports
}

/// Prints the reports in order; returns their sum.
fn print_reports(reports: Vec<Report>, out: &mut Out) -> Report {
    let mut total = Report::default();
    for r in reports {
        out.print(&r.stdout);
        if !r.stderr.is_empty() {
            out.flush();
            for line in &r.stderr {
                eprintln!("{line}");
            }
        }
        total.errors += r.errors;
        total.changed += r.changed;
        total.fixes += r.fixes;
        total.unfixed += r.unfixed;
        total.findings += r.findings;
        total.fixable += r.fixable;
        total.with_unsafe += r.with_unsafe;
    }
    total
}

/// The path as shown in messages and diff headers: relative to the
/// current directory when it is under it.
fn display_path(p: &std::path::Path) -> String {
    let rel = std::env::current_dir().ok().and_then(|cwd| p.strip_prefix(&cwd).ok().map(|r| r.to_path_buf()));
    let s = rel.as_deref().unwrap_or(p).to_string_lossy().to_string();
    let s = if cfg!(windows) { s.replace('\\', "/") } else { s };
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// A path for `a/` and `b/` diff headers (no leading `/`, which `git
/// apply` would not accept).
fn diff_path(label: &str) -> &str {
    label.trim_start_matches('/')
}

fn error_line(label: &str, e: &fix::Error) -> String {
    match e {
        fix::Error::Parse(p) => format!("error: {label}:{}: {} (the file was left unchanged)", p.line, p.message),
        fix::Error::Internal(_) => format!("error: {label}: {e}"),
    }
}

fn use_color(c: Color) -> bool {
    match c {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn run_fix(args: &FixArgs, out: &mut Out) -> i32 {
    let opts = match options(&args.common) {
        Ok(o) => o,
        Err(m) => {
            eprintln!("error: {m}");
            return ERROR;
        }
    };
    let color = use_color(args.common.color);
    let reports = process(&args.common.paths, |input, r| {
        let outcome = match fix::fix(&input.text, &opts) {
            Ok(o) => o,
            Err(e) => {
                r.stderr.push(error_line(&input.label, &e));
                r.errors += 1;
                return;
            }
        };
        r.unfixed = outcome.findings.iter().filter(|f| !f.fix.as_ref().is_some_and(|x| opts.applies(x.level))).count();
        let changed = outcome.output != input.text;
        if changed {
            r.changed = 1;
            r.fixes = outcome.applied;
        }
        if args.dry_run {
            let label = if input.path.is_some() { diff_path(&input.label).to_string() } else { "stdin".into() };
            let d = diff::unified(&label, &input.text, &outcome.output);
            r.stdout = if color { diff::colorize(&d) } else { d };
        } else if args.check {
            if changed {
                r.stdout = format!("would change: {}\n", input.label);
            }
        } else if let Some(path) = &input.path {
            if changed {
                match write::write_atomic(path, &input.bytes, outcome.output.as_bytes()) {
                    Ok(()) => {
                        r.stderr.push(format!("fixed {} ({} {})", input.label, outcome.applied, plural(outcome.applied, "fix", "fixes")))
                    }
                    Err(m) => {
                        r.stderr.push(format!("error: {m}"));
                        r.errors += 1;
                    }
                }
            }
        } else {
            r.stdout = outcome.output;
        }
    });
    let total = print_reports(reports, out);
    let changed_files = total.changed;
    let verb = if args.dry_run || args.check { "would change" } else { "changed" };
    let mut summary = format!(
        "{changed_files} {} {verb} ({} {})",
        plural(changed_files, "file", "files"),
        total.fixes,
        plural(total.fixes, "fix", "fixes")
    );
    if total.unfixed > 0 {
        summary.push_str(&format!(
            "; {} more {} not fixed automatically (see `slimfile check`)",
            total.unfixed,
            plural(total.unfixed, "finding", "findings")
        ));
    }
    if total.errors > 0 {
        summary.push_str(&format!("; {} {}", total.errors, plural(total.errors, "error", "errors")));
    }
    out.flush();
    eprintln!("{summary}");
    if total.errors > 0 {
        ERROR
    } else if (args.dry_run || args.check) && changed_files > 0 {
        CHANGES
    } else {
        OK
    }
}

fn run_check(args: &CommonArgs, out: &mut Out) -> i32 {
    let opts = match options(args) {
        Ok(o) => o,
        Err(m) => {
            eprintln!("error: {m}");
            return ERROR;
        }
    };
    let reports = process(&args.paths, |input, r| {
        let doc = match crate::Document::parse(&input.text) {
            Ok(d) => d,
            Err(e) => {
                r.stderr.push(error_line(&input.label, &fix::Error::Parse(e)));
                r.errors += 1;
                return;
            }
        };
        for f in fix::check(&doc, &opts) {
            r.findings += 1;
            let mark = match f.level() {
                l if opts.applies(l) => {
                    r.fixable += 1;
                    " [*]"
                }
                Level::Unsafe => {
                    r.with_unsafe += 1;
                    ""
                }
                _ => "",
            };
            r.stdout.push_str(&format_finding(&input.label, &f, mark));
        }
    });
    let total = print_reports(reports, out);
    let mut summary = format!("{} {}, {} fixable", total.findings, plural(total.findings, "finding", "findings"), total.fixable);
    if total.with_unsafe > 0 {
        summary.push_str(&format!(", {} more with --unsafe-fixes", total.with_unsafe));
    }
    if total.errors > 0 {
        summary.push_str(&format!("; {} {}", total.errors, plural(total.errors, "error", "errors")));
    }
    out.flush();
    eprintln!("{summary}");
    if total.errors > 0 {
        ERROR
    } else if total.findings > 0 {
        CHANGES
    } else {
        OK
    }
}

fn format_finding(label: &str, f: &Finding, mark: &str) -> String {
    format!("{label}:{}:{}: {}{mark} {}\n", f.line, f.column, f.code, f.message)
}

fn list_rules(format: Format, out: &mut Out) -> i32 {
    match format {
        Format::Text => {
            for t in TRANSFORMS {
                out.print(&format!("{}  {:<14} {}  (hadolint: {})\n", t.code(), t.name(), t.summary(), t.hadolint().join(", ")));
            }
        }
        Format::Json => {
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
