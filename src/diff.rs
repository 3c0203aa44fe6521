//! Unified diffs that `git apply` accepts.

use similar::TextDiff;

/// A unified diff of `old` to `new` with `a/PATH` and `b/PATH` headers and
/// three lines of context; empty when the texts are equal. A missing final
/// newline is marked the way git marks it.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(old, new);
    let mut out = format!("diff --git a/{path} b/{path}\n");
    out.push_str(&diff.unified_diff().context_radius(3).header(&format!("a/{path}"), &format!("b/{path}")).to_string());
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
    }
}
