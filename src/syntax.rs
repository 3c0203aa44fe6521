//! The lossless Dockerfile syntax layer.
//!
//! This is the only module that knows how a Dockerfile is split into lines,
//! instructions, continuations, parser directives and heredocs. It follows
//! BuildKit's own parser rules (`frontend/dockerfile/parser`):
//!
//! * parser directives (`# syntax=`, `# escape=`, `# check=`) are only read
//!   before the first comment, blank line or instruction;
//! * a line continues when it ends with the escape character (optionally
//!   followed by spaces or tabs) that is not itself escaped;
//! * comment lines and whitespace-only lines inside a continuation are
//!   skipped;
//! * `RUN`, `COPY` and `ADD` may carry heredocs anywhere in their arguments;
//!   their bodies follow the instruction line.
//!
//! The [`Document`] keeps byte ranges into the original text for every node,
//! so concatenating the nodes gives back the input byte for byte. Transforms
//! read the document and emit byte-range edits; nothing here re-prints text.

use std::fmt;
use std::ops::Range;

/// Instruction keywords BuildKit knows.
pub const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Instructions whose leading `--flag` words are builder flags.
const FLAG_KEYWORDS: &[&str] = &["ADD", "COPY", "FROM", "HEALTHCHECK", "RUN"];
/// Instructions that may carry heredocs.
const HEREDOC_KEYWORDS: &[&str] = &["ADD", "COPY", "RUN"];

/// Why a file could not be read as a Dockerfile. The file is never edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }
}

/// A parsed Dockerfile that can give back every byte it was made from.
#[derive(Debug, Clone)]
pub struct Document {
    text: String,
    /// Length of the UTF-8 byte order mark at the start (0 or 3).
    pub bom_len: usize,
    /// The escape character: `\` by default, or a backtick from `# escape=`.
    pub escape: char,
    /// The line ending of the first line that has one (LF when none has).
    pub line_ending: LineEnding,
    /// Nodes in source order; their ranges tile `text[bom_len..]`.
    pub nodes: Vec<Node>,
    line_starts: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Node {
    /// Whole lines, including the final line ending when there is one.
    pub range: Range<usize>,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Directive { name: String, value: String },
    Comment,
    Blank,
    Instruction(Instruction),
}

/// One Dockerfile instruction with its spans.
#[derive(Debug, Clone)]
pub struct Instruction {
    /// Upper-cased keyword (`RUN`).
    pub keyword: String,
    pub keyword_range: Range<usize>,
    /// From the keyword to the end of the last content line (heredoc bodies
    /// included), without the final line ending.
    pub range: Range<usize>,
    /// End of the last line of the instruction proper (before heredoc
    /// bodies), without its line ending.
    pub line_end: usize,
    pub flags: Vec<Flag>,
    /// The arguments after the flags, continuation lines joined as BuildKit
    /// joins them (escape character and line ending removed, comment lines
    /// inside the continuation dropped). Leading whitespace is removed.
    pub args: String,
    /// Where `args` starts in the source (equal to `line_end` when empty).
    pub args_start: usize,
    /// Maps offsets in `args` to source offsets.
    args_map: Vec<(usize, usize, usize)>,
    pub heredocs: Vec<Heredoc>,
    /// 1-based first and last line (heredoc bodies included).
    pub line: usize,
    pub end_line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
    /// Source range of the whole `--name=value` word.
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The terminator word.
    pub name: String,
    /// `<<-`: leading tabs are stripped from the body and terminator.
    pub strip_tabs: bool,
    /// The terminator was quoted (no expansion in the body).
    pub quoted: bool,
    /// Source range of the body lines (line endings included).
    pub body: Range<usize>,
}

/// Shell form or exec (JSON array) form of RUN, CMD, ENTRYPOINT, SHELL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    Exec(Vec<String>),
    Shell,
}

impl Instruction {
    pub fn is(&self, keyword: &str) -> bool {
        self.keyword == keyword
    }

    /// Exec form when the arguments are a JSON array of strings; BuildKit
    /// reads anything else (including invalid JSON) as shell form.
    pub fn form(&self) -> Form {
        let t = self.args.trim();
        if t.starts_with('[') {
            match serde_json::from_str::<serde_json::Value>(t) {
                Ok(serde_json::Value::Array(items)) => {
                    // BuildKit rejects an array that is not all strings; it
                    // is not shell text either way.
                    return Form::Exec(items.into_iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect());
                }
                Ok(_) => {}
                // Go's JSON reader takes lone UTF-16 surrogates that serde
                // refuses: BuildKit sees exec form there.
                Err(_) if t.ends_with(']') && t.to_ascii_lowercase().contains("\\ud") => return Form::Exec(Vec::new()),
                Err(_) => {}
            }
        }
        Form::Shell
    }

    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Source offset of an offset into `args` (an offset equal to
    /// `args.len()` maps to just after the last argument byte).
    pub fn args_to_source(&self, off: usize) -> usize {
        for &(a, s, len) in &self.args_map {
            if off >= a && off < a + len {
                return s + (off - a);
            }
        }
        self.args_map.last().map_or(self.args_start, |&(_, s, len)| s + len)
    }

    /// Source range of `args[range]`; the end maps to just after the last
    /// byte of the range, so a range never swallows a following line break.
    pub fn args_range_to_source(&self, r: Range<usize>) -> Range<usize> {
        let start = self.args_to_source(r.start);
        let end = if r.end > r.start {
            self.args_to_source(r.end - 1) + self.args[r.end - 1..].chars().next().map_or(1, |c| c.len_utf8())
        } else {
            start
        };
        start..end
    }
}

impl Document {
    /// Parses `text` (the whole file, BOM included) losslessly.
    pub fn parse(text: &str) -> Result<Document, ParseError> {
        Parser::new(text).run()
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn instructions(&self) -> impl Iterator<Item = (usize, &Instruction)> {
        self.nodes.iter().enumerate().filter_map(|(i, n)| match &n.kind {
            NodeKind::Instruction(ins) => Some((i, ins)),
            _ => None,
        })
    }

    /// Index of the node that holds byte `offset`.
    pub fn node_at(&self, offset: usize) -> usize {
        self.nodes.partition_point(|n| n.range.end <= offset).min(self.nodes.len().saturating_sub(1))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        // The byte order mark is not a column (editors do not show it).
        let start = if line == 0 { self.bom_len.min(offset) } else { self.line_starts[line] };
        let col = self.text[start..offset.min(self.text.len())].chars().count() + 1;
        (line + 1, col)
    }

    /// Text of a 1-based line without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// The contiguous comment lines directly above node `idx`.
    pub fn comments_before(&self, idx: usize) -> impl Iterator<Item = &str> {
        let mut first = idx;
        while first > 0 && matches!(self.nodes[first - 1].kind, NodeKind::Comment) {
            first -= 1;
        }
        self.nodes[first..idx].iter().map(|n| self.text[n.range.clone()].trim())
    }

    /// Comment lines before the first instruction (where `global` pragmas live).
    pub fn leading_comments(&self) -> impl Iterator<Item = &str> {
        self.nodes
            .iter()
            .take_while(|n| !matches!(n.kind, NodeKind::Instruction(_)))
            .filter(|n| matches!(n.kind, NodeKind::Comment))
            .map(|n| self.text[n.range.clone()].trim())
    }
}

fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\x0b' | b'\x0c' | b'\r'))
}

fn is_comment(s: &str) -> bool {
    s.trim_start_matches([' ', '\t', '\x0b', '\x0c', '\r']).starts_with('#')
}

/// A parser directive line: `# key = value` with a known key.
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix('#')?;
    let rest = rest.trim_start();
    let key_len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric()).count();
    if key_len == 0 || !rest.as_bytes()[0].is_ascii_alphabetic() {
        return None;
    }
    let key = rest[..key_len].to_ascii_lowercase();
    let after = rest[key_len..].trim_start().strip_prefix('=')?;
    let value = after.trim();
    if value.is_empty() || !matches!(key.as_str(), "syntax" | "escape" | "check") {
        return None;
    }
    Some((key, value.to_string()))
}

struct Line {
    start: usize,
    /// End of content (before `\r\n` / `\n`).
    content_end: usize,
    /// End including the line ending.
    end: usize,
}

struct Parser<'a> {
    text: &'a str,
    lines: Vec<Line>,
    escape: char,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines = Vec::new();
        let bytes = text.as_bytes();
        let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        while start < text.len() {
            let nl = memchr(b'\n', &bytes[start..]).map(|i| start + i);
            let (content_end, end) = match nl {
                Some(i) => (if i > start && bytes[i - 1] == b'\r' { i - 1 } else { i }, i + 1),
                None => (text.len(), text.len()),
            };
            lines.push(Line { start, content_end, end });
            start = end;
        }
        Parser { text, lines, escape: '\\' }
    }

    fn content(&self, i: usize) -> &'a str {
        &self.text[self.lines[i].start..self.lines[i].content_end]
    }

    fn line_ending(&self) -> LineEnding {
        for l in &self.lines {
            if l.end > l.content_end {
                return if l.end - l.content_end == 2 { LineEnding::CrLf } else { LineEnding::Lf };
            }
        }
        LineEnding::Lf
    }

    /// If the line ends with an (unescaped) escape character followed by
    /// optional spaces/tabs, returns the content end without it.
    fn continuation(&self, content: &str) -> Option<usize> {
        let trimmed = content.trim_end_matches([' ', '\t']);
        let esc = self.escape;
        let body = trimmed.strip_suffix(esc)?;
        if body.ends_with(esc) {
            // An escaped escape character is not a continuation, unless the
            // whole line is that one character (BuildKit's second branch).
            return None;
        }
        Some(body.len())
    }

    fn run(mut self) -> Result<Document, ParseError> {
        let bom_len = if self.text.starts_with('\u{feff}') { 3 } else { 0 };
        if self.text.as_bytes().contains(&0) {
            let line = self.text[..self.text.find('\0').unwrap_or(0)].matches('\n').count() + 1;
            return Err(ParseError { line, message: "contains a NUL byte: this is a binary file, not a Dockerfile".into() });
        }
        let mut nodes = Vec::new();
        let mut i = 0;
        let mut directives_open = true;
        let mut seen_directives: Vec<String> = Vec::new();
        while i < self.lines.len() {
            let line = &self.lines[i];
            let content = self.content(i);
            let whole = line.start..line.end;
            if directives_open {
                if let Some((name, value)) = directive(content) {
                    if !seen_directives.contains(&name) {
                        if name == "escape" {
                            match value.as_str() {
                                "\\" => self.escape = '\\',
                                "`" => self.escape = '`',
                                _ => {
                                    return Err(ParseError {
                                        line: i + 1,
                                        message: format!("invalid escape directive `{value}`: it must be ` or \\"),
                                    })
                                }
                            }
                        }
                        seen_directives.push(name.clone());
                        nodes.push(Node { range: whole, kind: NodeKind::Directive { name, value } });
                        i += 1;
                        continue;
                    }
                }
                directives_open = false;
            }
            if is_blank(content) {
                nodes.push(Node { range: whole, kind: NodeKind::Blank });
                i += 1;
                continue;
            }
            if is_comment(content) {
                nodes.push(Node { range: whole, kind: NodeKind::Comment });
                i += 1;
                continue;
            }
            let (node, next) = self.instruction(i)?;
            nodes.push(node);
            i = next;
        }
        // BuildKit: only ARG may come before the first FROM (a file with no
        // FROM at all is a fragment, read as such).
        let instrs: Vec<&Instruction> = nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Instruction(i) => Some(i),
                _ => None,
            })
            .collect();
        if instrs.iter().any(|i| i.is("FROM")) {
            if let Some(i) = instrs.iter().take_while(|i| !i.is("FROM")).find(|i| !i.is("ARG")) {
                return Err(ParseError {
                    line: i.line,
                    message: format!("{} before the first FROM: only ARG may come before it", i.keyword),
                });
            }
        }
        if !nodes.iter().any(|n| matches!(n.kind, NodeKind::Instruction(_))) {
            let what = if self.text[bom_len..].trim().is_empty() { "the file is empty" } else { "the file has no instructions" };
            return Err(ParseError { line: 1, message: format!("{what}: not a Dockerfile") });
        }
        let mut line_starts: Vec<usize> = vec![0];
        line_starts.extend(self.text.match_indices('\n').map(|(i, _)| i + 1));
        if line_starts.last() == Some(&self.text.len()) && !self.text.is_empty() {
            line_starts.pop();
        }
        Ok(Document { text: self.text.to_string(), bom_len, escape: self.escape, line_ending: self.line_ending(), nodes, line_starts })
    }

    /// Reads the instruction starting at line `first`; returns it and the
    /// index of the line after it.
    fn instruction(&self, first: usize) -> Result<(Node, usize), ParseError> {
        // Segments of source that make up the joined logical line.
        let mut segs: Vec<Range<usize>> = Vec::new();
        let mut i = first;
        let lead = self.content(i).len() - self.content(i).trim_start().len();
        let mut seg_start = self.lines[i].start + lead;
        let mut line_end;
        loop {
            let content = &self.text[seg_start..self.lines[i].content_end];
            line_end = self.lines[i].content_end;
            match self.continuation(content) {
                Some(len) => {
                    segs.push(seg_start..seg_start + len);
                    // Find the next contributing line.
                    i += 1;
                    loop {
                        if i >= self.lines.len() {
                            break;
                        }
                        let c = self.content(i);
                        if is_comment(c) || is_blank(c) {
                            i += 1;
                            continue;
                        }
                        break;
                    }
                    if i >= self.lines.len() {
                        // Escape character at end of file: the instruction ends.
                        i = self.lines.len() - 1;
                        break;
                    }
                    seg_start = self.lines[i].start;
                }
                None => {
                    segs.push(seg_start..self.lines[i].content_end);
                    break;
                }
            }
        }
        let last_line = i;
        // Build the joined line and its map.
        let mut joined = String::new();
        let mut map = Vec::new();
        for s in &segs {
            map.push((joined.len(), s.start, s.len()));
            joined.push_str(&self.text[s.clone()]);
        }
        let to_src = |off: usize| -> usize {
            for &(a, s, len) in map.iter().rev() {
                if off >= a {
                    return s + (off - a).min(len);
                }
            }
            segs[0].start
        };
        let is_ws = |c: char| matches!(c, ' ' | '\t' | '\x0b' | '\x0c' | '\r');
        let kw_len = joined.find(is_ws).unwrap_or(joined.len());
        let keyword = joined[..kw_len].to_ascii_uppercase();
        let line_no = first + 1;
        if !KEYWORDS.contains(&keyword.as_str()) {
            let shown: String = joined[..kw_len].chars().take(40).collect();
            return Err(ParseError { line: line_no, message: format!("unknown instruction `{shown}`: not a Dockerfile instruction") });
        }
        let keyword_range = to_src(0)..to_src(kw_len.saturating_sub(1)) + 1;
        let mut pos = kw_len;
        let skip_ws = |p: usize| p + joined[p..].len() - joined[p..].trim_start_matches(is_ws).len();
        pos = skip_ws(pos);
        let mut flags = Vec::new();
        if FLAG_KEYWORDS.contains(&keyword.as_str()) {
            while joined[pos..].starts_with("--") {
                let end = word_end(&joined, pos);
                let word = &joined[pos + 2..end];
                let (name, value) = match word.find('=') {
                    Some(eq) => (word[..eq].to_string(), Some(unquote(&word[eq + 1..]))),
                    None => (word.to_string(), None),
                };
                flags.push(Flag { name: name.to_ascii_lowercase(), value, range: to_src(pos)..to_src(end - 1) + 1 });
                pos = skip_ws(end);
            }
        }
        let args = joined[pos..].to_string();
        let args_map: Vec<(usize, usize, usize)> = map
            .iter()
            .filter_map(|&(a, s, len)| {
                let end = a + len;
                if end <= pos {
                    None
                } else if a >= pos {
                    Some((a - pos, s, len))
                } else {
                    Some((0, s + (pos - a), end - pos))
                }
            })
            .collect();
        let args_start = if args.is_empty() { line_end } else { to_src(pos) };
        // BuildKit refuses these without arguments.
        let needs_args = [
            "ADD",
            "ARG",
            "COPY",
            "ENV",
            "EXPOSE",
            "FROM",
            "LABEL",
            "MAINTAINER",
            "ONBUILD",
            "RUN",
            "SHELL",
            "STOPSIGNAL",
            "USER",
            "VOLUME",
            "WORKDIR",
        ];
        if args.trim().is_empty() && needs_args.contains(&keyword.as_str()) {
            return Err(ParseError { line: line_no, message: format!("{keyword} needs an argument") });
        }
        // Heredocs.
        let mut heredocs = Vec::new();
        let mut next = last_line + 1;
        let mut range_end = line_end;
        if HEREDOC_KEYWORDS.contains(&keyword.as_str()) {
            for (name, strip_tabs, quoted) in heredoc_markers(&args) {
                let body_start = self.lines.get(next).map_or(self.text.len(), |l| l.start);
                let mut j = next;
                let mut found = false;
                while j < self.lines.len() {
                    let c = self.content(j);
                    let c = if strip_tabs { c.trim_start_matches('\t') } else { c };
                    if c == name {
                        found = true;
                        break;
                    }
                    j += 1;
                }
                if !found {
                    return Err(ParseError { line: line_no, message: format!("heredoc `<<{name}` is never terminated") });
                }
                let body_end = self.lines[j].start;
                heredocs.push(Heredoc { name, strip_tabs, quoted, body: body_start..body_end });
                range_end = self.lines[j].content_end;
                next = j + 1;
            }
        }
        let start = self.lines[first].start + lead;
        let node_end = self.lines[next - 1].end;
        let ins = Instruction {
            keyword,
            keyword_range,
            range: start..range_end,
            line_end,
            flags,
            args,
            args_start,
            args_map,
            heredocs,
            line: line_no,
            end_line: next,
        };
        Ok((Node { range: self.lines[first].start..node_end, kind: NodeKind::Instruction(ins) }, next))
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// End of a shell-ish word starting at `pos` (quotes respected).
pub fn word_end(s: &str, pos: usize) -> usize {
    let b = s.as_bytes();
    let mut i = pos;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                } else if c == b'\\' && q == b'"' && i + 1 < b.len() {
                    i += 1;
                }
            }
            None => match c {
                b' ' | b'\t' | b'\x0b' | b'\x0c' | b'\r' => break,
                b'"' | b'\'' => quote = Some(c),
                b'\\' if i + 1 < b.len() => i += 1,
                _ => {}
            },
        }
        i += 1;
    }
    i.min(b.len())
}

pub fn unquote(s: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => out.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}

/// Heredoc markers in an argument string, in order: `(name, strip_tabs, quoted)`.
/// Words are split as BuildKit does (quotes kept raw), and a word is a
/// marker when it is `[digits]<<[-]WORD` with WORD not starting with `<`.
pub fn heredoc_markers(args: &str) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\x0b' | '\x0c' | '\r');
    while pos < args.len() {
        let rest = &args[pos..];
        let trimmed = rest.trim_start_matches(is_ws);
        pos += rest.len() - trimmed.len();
        if pos >= args.len() {
            break;
        }
        let end = word_end(args, pos);
        let word = &args[pos..end];
        pos = end.max(pos + 1);
        let digits = word.bytes().take_while(|b| b.is_ascii_digit()).count();
        let Some(rest) = word[digits..].strip_prefix("<<") else { continue };
        let (strip_tabs, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if rest.is_empty() || rest.contains('<') {
            continue;
        }
        let quoted = rest.contains('"') || rest.contains('\'') || rest.contains('\\');
        let name: String = unquote(rest).chars().filter(|&c| c != '\\').collect();
        if name.is_empty() {
            continue;
        }
        out.push((name, strip_tabs, quoted));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiles(d: &Document) {
        let mut at = d.bom_len;
        for n in &d.nodes {
            assert_eq!(n.range.start, at);
            at = n.range.end;
        }
        assert_eq!(at, d.text().len());
    }

    #[test]
    fn joins_continuations_and_skips_comments() {
        let src = "FROM x\nRUN a \\\n# note\n\n    && b\n";
        let d = Document::parse(src).unwrap();
        tiles(&d);
        let (_, run) = d.instructions().nth(1).unwrap();
        assert_eq!(run.args, "a     && b");
        assert_eq!(run.line, 2);
        assert_eq!(run.end_line, 5);
        let b = run.args.find('b').unwrap();
        assert_eq!(&src[run.args_to_source(b)..run.args_to_source(b) + 1], "b");
    }

    #[test]
    fn escaped_escape_is_not_a_continuation() {
        let d = Document::parse("FROM x\nENV C a\\\\\nENV D b\n").unwrap();
        assert_eq!(d.instructions().count(), 3);
    }

    #[test]
    fn backtick_escape() {
        let d = Document::parse("# escape=`\nFROM x\nRUN a `\n  b\n").unwrap();
        assert_eq!(d.escape, '`');
        let (_, run) = d.instructions().nth(1).unwrap();
        assert_eq!(run.args, "a   b");
    }

    #[test]
    fn heredocs_anywhere() {
        let src = "FROM x\nRUN cat <<'EOF' > f && python3 <<-PY\nhello\nEOF\n\tprint(1)\n\tPY\nRUN ok\n";
        let d = Document::parse(src).unwrap();
        tiles(&d);
        let (_, run) = d.instructions().nth(1).unwrap();
        assert_eq!(run.heredocs.len(), 2);
        assert_eq!(&src[run.heredocs[0].body.clone()], "hello\n");
        assert!(run.heredocs[0].quoted);
        assert!(run.heredocs[1].strip_tabs);
        assert_eq!(d.instructions().count(), 3);
        let d = Document::parse("FROM x\nRUN cat <<\\EOF > /f\nhello\nEOF\n").unwrap();
        let (_, run) = d.instructions().nth(1).unwrap();
        assert_eq!(run.heredocs[0].name, "EOF");
        assert!(run.heredocs[0].quoted);
    }

    #[test]
    fn flags_and_forms() {
        let d =
            Document::parse("FROM --platform=$B x AS y\nRUN --mount=type=cache,target=/a \\\n  --network=none [\"a\", \"b\"]\nCMD ['x']\n")
                .unwrap();
        let ins: Vec<_> = d.instructions().map(|(_, i)| i).collect();
        assert_eq!(ins[0].flags[0].name, "platform");
        assert_eq!(ins[1].flags.len(), 2);
        assert_eq!(ins[1].form(), Form::Exec(vec!["a".into(), "b".into()]));
        assert_eq!(ins[2].form(), Form::Shell);
        let d = Document::parse("FROM x\nRUN [1]\nRUN [\"\\ud800\"]\nRUN [ \"a\" ]\n").unwrap();
        let forms: Vec<bool> = d.instructions().skip(1).map(|(_, i)| matches!(i.form(), Form::Exec(_))).collect();
        assert_eq!(forms, vec![true, true, true]);
    }

    #[test]
    fn bad_inputs() {
        assert!(Document::parse("").is_err());
        assert!(Document::parse("# only\n\n").is_err());
        let e = Document::parse("FROM x\nhello world\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(Document::parse("FROM x\nRUN cat <<EOF\nno end\n").is_err());
        assert_eq!(Document::parse("FROM x\nRUN\n").unwrap_err().message, "RUN needs an argument");
        assert!(Document::parse("FROM\n").is_err());
        assert_eq!(Document::parse("RUN echo hi\nFROM alpine\n").unwrap_err().line, 1);
        assert!(Document::parse("ARG V=1\nFROM alpine:$V\n").is_ok());
        assert!(Document::parse("RUN echo fragment\n").is_ok());
        assert!(Document::parse("FROM x\nRUN --mount=type=cache,target=/x\n").is_err());
    }

    #[test]
    fn bom_crlf_and_eof_escape() {
        let src = "\u{feff}FROM x\r\nRUN a \\\r\n  b\r\nRUN c \\";
        let d = Document::parse(src).unwrap();
        tiles(&d);
        assert_eq!(d.bom_len, 3);
        assert_eq!(d.line_ending, LineEnding::CrLf);
        let runs: Vec<_> = d.instructions().map(|(_, i)| i.args.clone()).collect();
        assert_eq!(runs, vec!["x", "a   b", "c "]);
    }
}
