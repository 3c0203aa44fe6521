//! Unified diffs that `git apply` accepts.

use similar::TextDiff;

/// A unified diff of `old` to `new` with `a/PATH` and `b/PATH` headers and
/// three lines of context; empty when the texts are equal. A missing final
/// newline is marked the way git marks it.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    unified_bytes(path.as_bytes(), old, new)
}

/// [`unified`] for a path given as raw bytes (a file name need not be
/// UTF-8). Names with quotes, backslashes, control or non-ASCII bytes are
/// written the way git writes them: in double quotes with octal escapes.
pub fn unified_bytes(path: &[u8], old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let (a, b) = (git_path("a/", path), git_path("b/", path));
    let diff = TextDiff::from_lines(old, new);
    let mut out = format!("diff --git {a} {b}\n");
    out.push_str(&diff.unified_diff().context_radius(3).header(&a, &b).to_string());
    out
}

/// A diff that creates the file `path` with `new`, as `git apply` takes it.
pub fn new_file(path: &[u8], new: &str) -> String {
    let b = git_path("b/", path);
    let diff = TextDiff::from_lines("", new);
    let body = diff.unified_diff().context_radius(3).header("/dev/null", &b).to_string();
    format!("diff --git {} {b}\nnew file mode 100644\n{body}", git_path("a/", path))
}

fn git_path(prefix: &str, path: &[u8]) -> String {
    let plain = path.iter().all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\\' || c == b' ');
    if plain && !path.contains(&b'\t') {
        return format!("{prefix}{}", String::from_utf8_lossy(path));
    }
    let mut out = format!("\"{prefix}");
    for &c in path {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => out.push_str(&format!("\\{c:03o}")),
        }
    }
    out.push('"');
    out
}

/// ANSI colours for a terminal: headers bold, hunks cyan, removals red,
/// additions green.
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let code = if body.starts_with("diff --git") || body.starts_with("+++") || body.starts_with("---") {
            "1"
        } else if body.starts_with("@@") {
            "36"
        } else if body.starts_with('+') {
            "32"
        } else if body.starts_with('-') {
            "31"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("\x1b[{code}m{body}\x1b[0m{nl}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_missing_newline() {
        let d = unified("Dockerfile", "FROM a\nRUN x", "FROM a\nRUN y");
        assert!(d.starts_with("diff --git a/Dockerfile b/Dockerfile\n--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,2 +1,2 @@\n"));
        assert!(d.contains("-RUN x\n\\ No newline at end of file\n+RUN y\n\\ No newline at end of file\n"));
        assert_eq!(unified("x", "a\n", "a\n"), "");
        let q = unified_bytes(b"caf\xc3\xa9\tx/Dockerfile", "a\n", "b\n");
        assert!(q.starts_with("diff --git \"a/caf\\303\\251\\tx/Dockerfile\" \"b/caf\\303\\251\\tx/Dockerfile\"\n"), "{q}");
    }
}
