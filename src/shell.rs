//! Shell analysis of RUN bodies, on a real parse (tree-sitter-bash).
//!
//! Transforms never match command words by substring: they ask this module
//! for the simple commands of a body, with their literal names and
//! arguments and byte ranges into the body text, and for the ways a body
//! changes the state of the shell that runs it.

use std::ops::Range;
use tree_sitter::{Node, Parser, Tree};

/// A parsed shell body.
pub struct Script {
    pub src: String,
    tree: Tree,
    /// The simple commands, collected once.
    commands: std::cell::OnceCell<Vec<Command>>,
}

/// One word of a simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word with quotes removed, or `None` when it is not a literal
    /// (it contains an expansion or a substitution).
    pub literal: Option<String>,
    /// The word as written.
    pub raw: String,
    pub range: Range<usize>,
}

/// A simple command: `NAME=value cmd arg...`.
#[derive(Debug, Clone)]
pub struct Command {
    /// Prefix assignments (`DEBIAN_FRONTEND=noninteractive`), as written.
    pub assignments: Vec<String>,
    /// The command name and arguments (name first).
    pub words: Vec<Word>,
    /// Range of the command (redirections included).
    pub range: Range<usize>,
    /// True inside `( )`, `$( )`, backticks or `<( )`: its shell state
    /// changes stay there.
    pub in_subshell: bool,
    /// True inside a condition, loop or function body: it may not run, or
    /// run more than once.
    pub conditional: bool,
}

impl Command {
    pub fn name(&self) -> Option<&str> {
        self.words.first().and_then(|w| w.literal.as_deref())
    }

    /// The command that really runs, with wrappers such as `sudo`,
    /// `env VAR=x`, `command`, `nice`, `nohup`, `time` and `xargs` (and
    /// their options) stripped. Returns the index of the real name in
    /// `words`.
    pub fn effective_start(&self) -> Option<usize> {
        let mut i = 0;
        loop {
            let w = self.words.get(i)?.literal.as_deref()?;
            let base = w.rsplit('/').next().unwrap_or(w);
            match base {
                "sudo" | "env" | "command" | "nice" | "nohup" | "time" | "xargs" | "exec" | "doas" => {
                    // Options of the wrapper that take a separate value.
                    let valued: &[&str] = match base {
                        "sudo" | "doas" => &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"],
                        "env" => &["-u", "-C", "-S"],
                        "nice" => &["-n"],
                        "xargs" => &["-I", "-n", "-P", "-d", "-a", "-L", "-s", "-E"],
                        _ => &[],
                    };
                    i += 1;
                    while let Some(Some(a)) = self.words.get(i).map(|w| w.literal.as_deref()) {
                        let assignment = matches!(base, "env" | "sudo") && a.contains('=') && !a.starts_with('-');
                        if !(a.starts_with('-') || assignment) {
                            break;
                        }
                        i += if valued.contains(&a) { 2 } else { 1 };
                    }
                }
                _ => return Some(i),
            }
        }
    }

    /// Literal name and arguments of the effective command (see
    /// [`Command::effective_start`]); non-literal words are `None`.
    pub fn effective(&self) -> Option<(&str, &[Word])> {
        let i = self.effective_start()?;
        let name = self.words[i].literal.as_deref()?;
        let name = name.rsplit('/').next().unwrap_or(name);
        Some((name, &self.words[i + 1..]))
    }
}

/// How a command added after another one is joined to the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joiner {
    /// `PREV && NEW`: inside an `&&` chain, or after the last statement.
    And,
    /// `PREV; NEW`: after a statement that more statements follow, so that
    /// `set -e` still stops at PREV and PREV's status is not changed.
    Semi,
}

/// Where a command can be added after another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insertion {
    /// Offset in the body, just after the element that holds the command.
    pub at: usize,
    pub joiner: Joiner,
}

/// How a body changes the shell that runs it, so that merging it with a
/// following body would let that change leak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leak {
    /// The change stays inside a `( ... )` subshell if the body is wrapped
    /// in one (`cd`, `export`, assignments, ...).
    Contained(String),
    /// Wrapping does not keep the meaning (`set -e`, `source`, `eval`,
    /// `exec`, `trap`, a background `&`, ...).
    Blocking(String),
}

fn parser() -> Parser {
    let mut p = Parser::new();
    p.set_language(&tree_sitter_bash::LANGUAGE.into()).expect("tree-sitter-bash grammar is compatible");
    p
}

thread_local! {
    static PARSER: std::cell::RefCell<Parser> = std::cell::RefCell::new(parser());
}

impl Script {
    /// Parses a body. Returns `None` when the shell grammar finds an error:
    /// such a body is never edited.
    pub fn parse(src: &str) -> Option<Script> {
        let tree = PARSER.with(|p| p.borrow_mut().parse(src, None))?;
        if tree.root_node().has_error() || too_deep(&tree) {
            return None;
        }
        Some(Script { src: src.to_string(), tree, commands: std::cell::OnceCell::new() })
    }

    fn text(&self, n: Node) -> &str {
        &self.src[n.byte_range()]
    }

    /// Every simple command, in source order.
    pub fn commands(&self) -> Vec<Command> {
        self.command_list().to_vec()
    }

    /// [`Script::commands`] without the copy: collected once per body.
    pub fn command_list(&self) -> &[Command] {
        self.commands.get_or_init(|| {
            let mut out = Vec::new();
            self.collect(self.tree.root_node(), false, false, &mut out);
            out
        })
    }

    fn collect(&self, n: Node, sub: bool, cond: bool, out: &mut Vec<Command>) {
        let kind = n.kind();
        let sub = sub || matches!(kind, "subshell" | "command_substitution" | "process_substitution");
        if kind == "command" {
            out.push(self.command(n, sub, cond));
        }
        let mut c = n.walk();
        for (i, ch) in n.children(&mut c).enumerate() {
            // The condition of an `if`/`while` and the bodies of loops and
            // functions may not run, or run several times.
            let cond =
                cond || matches!(
                    kind,
                    "for_statement"
                        | "c_style_for_statement"
                        | "while_statement"
                        | "function_definition"
                        | "case_statement"
                        | "elif_clause"
                        | "else_clause"
                ) || (kind == "if_statement" && i > 0)
                    || (kind == "list" && i > 0 && self.list_has_or(n));
            self.collect(ch, sub, cond, out);
        }
    }

    fn list_has_or(&self, n: Node) -> bool {
        let mut c = n.walk();
        let r = n.children(&mut c).any(|ch| ch.kind() == "||");
        r
    }

    fn command(&self, n: Node, sub: bool, cond: bool) -> Command {
        let mut assignments = Vec::new();
        let mut words = Vec::new();
        let mut c = n.walk();
        for ch in n.children(&mut c) {
            match ch.kind() {
                "variable_assignment" => assignments.push(self.text(ch).to_string()),
                "command_name" => {
                    let w = ch.child(0).unwrap_or(ch);
                    words.push(self.word(w));
                }
                k if k.ends_with("redirect") || k == "herestring_redirect" => {}
                "comment" => {}
                _ if ch.is_named() => words.push(self.word(ch)),
                _ => {}
            }
        }
        Command { assignments, words, range: n.byte_range(), in_subshell: sub, conditional: cond }
    }

    fn word(&self, n: Node) -> Word {
        Word { literal: self.literal(n), raw: self.text(n).to_string(), range: n.byte_range() }
    }

    /// The literal value of a word node, quotes removed; `None` if it
    /// expands anything.
    fn literal(&self, n: Node) -> Option<String> {
        match n.kind() {
            "word" | "number" => Some(unescape(self.text(n))),
            "raw_string" => {
                let t = self.text(n);
                Some(t[1..t.len() - 1].to_string())
            }
            "string" => {
                let mut s = String::new();
                let mut c = n.walk();
                for ch in n.children(&mut c) {
                    match ch.kind() {
                        "\"" => {}
                        "string_content" => s.push_str(self.text(ch)),
                        _ => return None,
                    }
                }
                Some(s)
            }
            "concatenation" => {
                let mut s = String::new();
                let mut c = n.walk();
                for ch in n.children(&mut c) {
                    s.push_str(&self.literal(ch)?);
                }
                Some(s)
            }
            _ => None,
        }
    }

    /// True when the body is one pipeline or an `&&` chain of pipelines,
    /// so `PREVIOUS && BODY` keeps its meaning.
    pub fn is_and_chain(&self) -> bool {
        let root = self.tree.root_node();
        let mut c = root.walk();
        let children: Vec<Node> = root.children(&mut c).collect();
        // One statement, maybe ended by `;` (a trailing `&` is a background job).
        let items: Vec<Node> = children.iter().copied().filter(|n| n.is_named() && n.kind() != "comment").collect();
        if items.len() != 1 || children.iter().any(|n| n.kind() == "&") {
            return false;
        }
        // No `||` at this level, looking through lists, pipelines and
        // redirections (tree-sitter-bash reads `a || b > f` as a
        // redirection around the whole list).
        fn or_at_top(n: Node) -> bool {
            if !matches!(n.kind(), "list" | "redirected_statement" | "pipeline" | "negated_command") {
                return false;
            }
            let mut c = n.walk();
            let found = n.children(&mut c).any(|ch| ch.kind() == "||" || or_at_top(ch));
            found
        }
        !or_at_top(items[0])
    }

    /// True when the body ends with a comment (`cmd # note`): text
    /// appended after it would be commented out.
    pub fn ends_with_comment(&self) -> bool {
        let root = self.tree.root_node();
        let mut n = root;
        while let Some(last) = n.child(n.child_count().saturating_sub(1)) {
            if last.kind() == "comment" {
                return true;
            }
            n = last;
        }
        false
    }

    /// Range of a `;` that ends the body at top level (`cmd;`), which must
    /// go before `&&` is appended.
    pub fn trailing_semicolon(&self) -> Option<Range<usize>> {
        let root = self.tree.root_node();
        let last = root.child(root.child_count().checked_sub(1)?)?;
        (last.kind() == ";").then(|| last.byte_range())
    }

    /// True when the last top-level statement contains a compound command
    /// (`if`, loops, `{ }`, `( )`, functions): with `set -e` in force, such
    /// a statement placed before `&&` stops failing the build.
    pub fn last_statement_is_compound(&self) -> bool {
        let root = self.tree.root_node();
        let mut c = root.walk();
        let Some(last) = root.children(&mut c).filter(|n| n.is_named() && n.kind() != "comment").last() else {
            return false;
        };
        has_compound(last)
    }

    /// The chain element (command, pipeline or redirected statement) that
    /// holds the simple command at `range`.
    fn element(&self, range: &Range<usize>) -> Option<Node<'_>> {
        let mut n = self.tree.root_node().descendant_for_byte_range(range.start, range.end)?;
        while n.kind() != "command" {
            n = n.parent()?;
        }
        while let Some(p) = n.parent() {
            if matches!(p.kind(), "pipeline" | "redirected_statement" | "negated_command") {
                n = p;
            } else {
                break;
            }
        }
        Some(n)
    }

    /// For an element of an `&&`-only chain: the element that follows it,
    /// or `None` when it is the last one. `Err` when the element is not in
    /// such a chain.
    fn next_in_and_chain<'t>(&'t self, elem: Node<'t>) -> Result<Option<Node<'t>>, ()> {
        let parent = elem.parent().ok_or(())?;
        if parent.kind() != "list" {
            return Err(());
        }
        let mut top = parent;
        while top.parent().is_some_and(|p| p.kind() == "list") {
            top = top.parent().unwrap();
        }
        fn only_and(n: Node) -> bool {
            let mut c = n.walk();
            let ok = n.children(&mut c).all(|ch| ch.kind() != "||" && (ch.kind() != "list" || only_and(ch)));
            ok
        }
        if !only_and(top) {
            return Err(());
        }
        // The operator after `elem`, climbing out of left-nested lists.
        let mut cur = elem;
        while cur != top {
            if let Some(op) = cur.next_sibling() {
                return Ok(op.next_named_sibling());
            }
            cur = cur.parent().ok_or(())?;
        }
        Ok(None)
    }

    /// The top-level statement that holds `node`, unless it sits inside a
    /// command substitution (whose effects we cannot place after).
    fn statement<'t>(&'t self, node: Node<'t>) -> Option<Node<'t>> {
        let mut n = node;
        loop {
            let p = n.parent()?;
            if matches!(p.kind(), "command_substitution" | "process_substitution") {
                return None;
            }
            if p.kind() == "program" {
                return Some(n);
            }
            n = p;
        }
    }

    /// Where a command can be added so that it runs right after the simple
    /// command at `range` and keeps the body's meaning: inside an `&&`
    /// chain right after it; else after its top-level statement, with `;`
    /// when more statements follow (so `set -e` and the final status are
    /// unchanged) or `&&` when it is the last one. `None` when neither is
    /// sure: inside `$( )`, before a background `&`, or a last statement
    /// that is a compound command (`set -e` would stop applying inside it).
    pub fn insertion_after(&self, range: Range<usize>) -> Option<Insertion> {
        let elem = self.element(&range)?;
        if let Ok(Some(_)) = self.next_in_and_chain(elem) {
            self.statement(elem)?;
            return Some(Insertion { at: elem.end_byte(), joiner: Joiner::And });
        }
        let stmt = self.statement(elem)?;
        let mut next = stmt.next_sibling();
        if next.is_some_and(|n| n.kind() == "&") {
            return None;
        }
        let mut more = false;
        while let Some(n) = next {
            if n.is_named() && n.kind() != "comment" {
                more = true;
                break;
            }
            next = n.next_sibling();
        }
        if more {
            return Some(Insertion { at: stmt.end_byte(), joiner: Joiner::Semi });
        }
        if has_compound(stmt) {
            return None;
        }
        Some(Insertion { at: stmt.end_byte(), joiner: Joiner::And })
    }

    /// The range to delete to remove the simple command at `range` with the
    /// `&&` or `;` after it, when it is an element of a top-level `&&`
    /// chain or a top-level statement that is not the last.
    pub fn removal(&self, range: Range<usize>) -> Option<Range<usize>> {
        let elem = self.element(&range)?;
        if let Some(p) = elem.parent() {
            if p.kind() == "program" {
                let sep = elem.next_sibling()?;
                if sep.kind() != ";" {
                    return None;
                }
                let next = sep.next_named_sibling()?;
                return Some(elem.start_byte()..next.start_byte());
            }
        }
        let next = self.next_in_and_chain(elem).ok()??;
        // Only a chain that is itself a top-level statement.
        let mut top = elem.parent()?;
        while top.parent().is_some_and(|p| p.kind() == "list") {
            top = top.parent()?;
        }
        if top.parent()?.kind() != "program" {
            return None;
        }
        Some(elem.start_byte()..next.start_byte())
    }

    /// True when the simple command at `range` can take a command placed
    /// right before it (`NEW && CMD`) without changing what runs: it is a
    /// statement or a list element of its own, not a pipeline stage.
    pub fn can_prefix(&self, range: Range<usize>) -> bool {
        self.element(&range).is_some_and(|e| {
            // Inside a list only when it is all `&&`: `a || b` would become
            // `(a || NEW) && b`.
            let and_only = e.parent().is_none_or(|p| p.kind() != "list") || self.next_in_and_chain(e).is_ok();
            e.kind() == "command"
                && and_only
                && e.parent().is_some_and(|p| {
                    matches!(
                        p.kind(),
                        "program"
                            | "list"
                            | "compound_statement"
                            | "do_group"
                            | "if_statement"
                            | "elif_clause"
                            | "else_clause"
                            | "subshell"
                    )
                })
        })
    }

    /// True when the body starts a background job (`&`, or `&>`, which
    /// /bin/sh reads as one).
    pub fn has_background_job(&self) -> bool {
        fn walk(s: &Script, n: Node) -> bool {
            if n.kind() == "&" || (n.kind() == "file_redirect" && s.text(n).starts_with("&>")) {
                return true;
            }
            let mut c = n.walk();
            let found = n.children(&mut c).any(|ch| walk(s, ch));
            found
        }
        walk(self, self.tree.root_node())
    }

    /// The ways this body changes the state of its shell.
    pub fn leaks(&self) -> Vec<Leak> {
        let mut out = Vec::new();
        self.leaks_in(self.tree.root_node(), false, &mut out);
        out
    }

    fn leaks_in(&self, n: Node, sub: bool, out: &mut Vec<Leak>) {
        let kind = n.kind();
        if kind == "&" {
            out.push(Leak::Blocking("a background job (`&`)".into()));
        }
        let in_sub = sub || matches!(kind, "subshell" | "command_substitution" | "process_substitution");
        if !in_sub {
            match kind {
                "command" => {
                    let cmd = self.command(n, false, false);
                    // `command cd` and `builtin set` run the builtin all the same.
                    let skip = cmd.words.iter().take_while(|w| matches!(w.literal.as_deref(), Some("command" | "builtin"))).count();
                    match cmd.words.get(skip) {
                        None => {}
                        Some(w) => match w.literal.as_deref() {
                            None => out.push(Leak::Blocking(format!("a command whose name is computed (`{}`)", w.raw))),
                            Some(name) => {
                                if let Some(l) = builtin_leak(name, &cmd.words[skip + 1..]) {
                                    out.push(l);
                                }
                                // POSIX sh keeps assignments made before a special builtin.
                                if !cmd.assignments.is_empty() && SPECIAL_BUILTINS.contains(&name) {
                                    out.push(Leak::Contained(format!("the assignment before `{name}`")));
                                }
                            }
                        },
                    }
                }
                "file_redirect" if self.text(n).starts_with("&>") => {
                    // Under /bin/sh (dash), `cmd &> f` is `cmd &` then `> f`.
                    out.push(Leak::Blocking("`&>`, which /bin/sh reads as a background job".into()));
                }
                "compound_statement" if self.text(n).starts_with("((") => {
                    out.push(Leak::Contained("an arithmetic command".into()));
                }
                "declaration_command" | "unset_command" => {
                    let first = self.text(n).split_whitespace().next().unwrap_or("").to_string();
                    out.push(Leak::Contained(format!("`{first}`")));
                }
                "variable_assignment" | "variable_assignments" => {
                    let parent = n.parent().map(|p| p.kind());
                    if !matches!(parent, Some("command" | "declaration_command" | "variable_assignments")) {
                        out.push(Leak::Contained(format!("the assignment `{}`", self.text(n))));
                    }
                }
                "function_definition" => out.push(Leak::Contained("a function definition".into())),
                "for_statement" | "c_style_for_statement" => out.push(Leak::Contained("a `for` loop variable".into())),
                "expansion" => {
                    let t = self.text(n);
                    if t.contains(":=") || t.contains('=') && !t.contains("==") && !t.contains("/") {
                        out.push(Leak::Contained(format!("the assigning expansion `{t}`")));
                    }
                }
                "arithmetic_expansion" | "compound_statement_arithmetic"
                    if self.text(n).contains('=') || self.text(n).contains("++") || self.text(n).contains("--") =>
                {
                    out.push(Leak::Contained("an arithmetic assignment".into()));
                }
                _ => {}
            }
        }
        let mut c = n.walk();
        for ch in n.children(&mut c) {
            self.leaks_in(ch, in_sub, out);
        }
    }
}

/// Deeper than this, a body is not analysed (the walks recurse once per
/// level; real bodies stay far below it).
const MAX_DEPTH: usize = 200;

fn too_deep(tree: &Tree) -> bool {
    let mut cursor = tree.walk();
    let mut depth = 0usize;
    loop {
        if depth > MAX_DEPTH {
            return true;
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return false;
            }
            depth -= 1;
        }
    }
}

/// True when `n` is or contains a compound command (`if`, loops, `case`,
/// `{ }`, `( )`, a function).
fn has_compound(n: Node) -> bool {
    if matches!(
        n.kind(),
        "if_statement"
            | "for_statement"
            | "c_style_for_statement"
            | "while_statement"
            | "case_statement"
            | "compound_statement"
            | "subshell"
            | "function_definition"
    ) {
        return true;
    }
    let mut c = n.walk();
    let r = n.children(&mut c).any(has_compound);
    r
}

/// POSIX special builtins: assignments before them stay in the shell.
const SPECIAL_BUILTINS: &[&str] =
    &[":", ".", "break", "continue", "eval", "exec", "exit", "export", "readonly", "return", "set", "shift", "times", "trap", "unset"];

/// Shell builtins that change the state of the running shell.
fn builtin_leak(name: &str, args: &[Word]) -> Option<Leak> {
    let c = |what: &str| Some(Leak::Contained(format!("`{what}`")));
    match name {
        "cd" | "pushd" | "popd" | "export" | "unset" | "umask" | "ulimit" | "alias" | "unalias" | "shopt" | "shift" | "read"
        | "declare" | "typeset" | "local" | "readonly" | "hash" | "exit" | "getopts" | "mapfile" | "readarray" | "enable" | "builtin" => {
            c(name)
        }
        "set" => {
            let errexit = args.iter().any(|a| match a.literal.as_deref() {
                Some(s) => (s.starts_with('-') && !s.starts_with("--") && s.contains('e')) || s == "errexit",
                None => true,
            });
            // Tracing flags only change what the log shows.
            let tracing_only = !args.is_empty()
                && args.iter().all(|a| {
                    a.literal.as_deref().is_some_and(|s| {
                        s.len() > 1 && (s.starts_with('-') || s.starts_with('+')) && s[1..].chars().all(|c| c == 'x' || c == 'v')
                    })
                });
            if errexit {
                Some(Leak::Blocking("`set -e`".into()))
            } else if tracing_only {
                None
            } else {
                c("set")
            }
        }
        "source" | "." | "eval" | "exec" | "trap" | "return" | "wait" | "disown" | "bg" | "fg" | "jobs" | "coproc" => {
            Some(Leak::Blocking(format!("`{name}`")))
        }
        "let" => c("let"),
        "printf" if args.iter().any(|a| a.literal.as_deref() == Some("-v")) => c("printf -v"),
        _ => None,
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(n) = it.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Vec<String> {
        Script::parse(src).unwrap().commands().iter().filter_map(|c| c.effective().map(|(n, _)| n.to_string())).collect()
    }

    #[test]
    fn finds_commands_not_substrings() {
        assert_eq!(names("echo 'apt-get install' && update-alternatives --set x"), vec!["echo", "update-alternatives"]);
        assert_eq!(names("sudo -E DEBIAN_FRONTEND=x apt-get install -y a"), vec!["apt-get"]);
        assert_eq!(names("env A=1 /usr/bin/pip install x | tee log"), vec!["pip", "tee"]);
        assert_eq!(names("X=$(apk info) apk add y"), vec!["apk", "apk"]);
    }

    #[test]
    fn leaks() {
        let l = |s: &str| Script::parse(s).unwrap().leaks();
        assert!(l("apt-get update && apt-get install -y curl").is_empty());
        assert_eq!(l("cd /src && make"), vec![Leak::Contained("`cd`".into())]);
        assert!(l("(cd /src && make) && echo $(cd /x; pwd)").is_empty());
        assert!(matches!(l("set -eux; make")[0], Leak::Blocking(_)));
        assert!(l("set -x; make").is_empty());
        assert!(matches!(l("set -o pipefail; make")[0], Leak::Contained(_)));
        assert!(matches!(l("sleep 1 & make")[0], Leak::Blocking(_)));
        assert!(matches!(l("FOO=1")[0], Leak::Contained(_)));
        assert!(l("FOO=1 make").is_empty());
        assert!(matches!(l(". /etc/os-release && echo")[0], Leak::Blocking(_)));
        assert!(matches!(l("export A=b")[0], Leak::Contained(_)));
        assert!(matches!(l("mkdir d && command cd d")[0], Leak::Contained(_)));
        assert!(matches!(l("builtin set -e")[0], Leak::Blocking(_)));
        assert!(matches!(l("printf -v X hi")[0], Leak::Contained(_)));
        assert!(matches!(l("let X=1")[0], Leak::Contained(_)));
        assert!(matches!(l("((X=1))")[0], Leak::Contained(_)));
        assert!(matches!(l("coproc cat")[0], Leak::Blocking(_)));
        assert!(matches!(l("X=leaked :")[0], Leak::Contained(_)));
        assert!(matches!(l("(sleep 1; touch /bg) &> /dev/null")[0], Leak::Blocking(_)));
        assert!(l("printf '%s' x > f").is_empty());
    }

    #[test]
    fn shapes() {
        let s = |x: &str| Script::parse(x).unwrap();
        assert!(s("a && b | c && d").is_and_chain());
        assert!(!s("a; b").is_and_chain());
        assert!(s("a && b;").is_and_chain());
        assert!(!s("grep -q app /etc/passwd || echo missing > /tmp/log").is_and_chain());
        assert!(!s("a | b || c > f").is_and_chain());
        assert!(!s("false || true && echo x >> log").is_and_chain());
        assert!(s("a > f && b 2>/dev/null").is_and_chain());
        assert!(s("if a || b; then c; fi").is_and_chain());
        let deep = format!("true{}{}", " && { true".repeat(300), "; }".repeat(300));
        assert!(Script::parse(&deep).is_none());
        assert!(!s("a &").is_and_chain());
        assert!(!s("a || b").is_and_chain());
        assert!(s("a && b # c").ends_with_comment());
        assert!(!s("a && b").ends_with_comment());
        assert!(s("a; if x; then y; fi").last_statement_is_compound());
        assert!(!s("if x; then y; fi; a").last_statement_is_compound());
        assert!(Script::parse("a && (").is_none());
    }

    #[test]
    fn insertion_points() {
        let s = |x: &str| Script::parse(x).unwrap();
        let at = |src: &str, cmd: &str| {
            let sc = s(src);
            let start = src.find(cmd).unwrap();
            sc.insertion_after(start..start + cmd.len()).map(|i| (src[..i.at].to_string(), i.joiner))
        };
        assert_eq!(at("a && apt-get install x && b", "apt-get install x"), Some(("a && apt-get install x".to_string(), Joiner::And)));
        assert_eq!(at("a && apt-get install x; b", "apt-get install x"), Some(("a && apt-get install x".to_string(), Joiner::Semi)));
        assert_eq!(at("a; apt-get install x", "apt-get install x"), Some(("a; apt-get install x".to_string(), Joiner::And)));
        assert_eq!(
            at("yes | apt-get install x > /dev/null && b", "apt-get install x"),
            Some(("yes | apt-get install x > /dev/null".to_string(), Joiner::And))
        );
        assert_eq!(at("a || apt-get install x && b", "apt-get install x"), Some(("a || apt-get install x && b".to_string(), Joiner::And)));
        assert_eq!(at("if t; then apt-get install x; fi", "apt-get install x"), None);
        assert_eq!(
            at("if t; then apt-get install x; fi; b", "apt-get install x"),
            Some(("if t; then apt-get install x; fi".to_string(), Joiner::Semi))
        );
        assert_eq!(at("echo $(apt-get install x)", "apt-get install x"), None);
        assert_eq!(at("apt-get install x &", "apt-get install x"), None);
        let rm = |src: &str, cmd: &str| {
            let start = src.find(cmd).unwrap();
            s(src).removal(start..start + cmd.len()).map(|r| format!("{}{}", &src[..r.start], &src[r.end..]))
        };
        assert_eq!(rm("apk update && apk add x", "apk update").as_deref(), Some("apk add x"));
        assert_eq!(rm("a && apk update && apk add x", "apk update").as_deref(), Some("a && apk add x"));
        assert_eq!(rm("apk update; apk add x", "apk update").as_deref(), Some("apk add x"));
        assert_eq!(rm("apk add x && apk update", "apk update"), None);
        assert_eq!(rm("if t; then apk update; apk add x; fi", "apk update"), None);
        let pre = |src: &str, cmd: &str| {
            let start = src.find(cmd).unwrap();
            s(src).can_prefix(start..start + cmd.len())
        };
        assert!(pre("a && apt-get install x", "apt-get install x"));
        assert!(!pre("command -v less || apt-get install x", "apt-get install x"));
        assert!(!pre("yes | apt-get install x", "apt-get install x"));
    }
}
