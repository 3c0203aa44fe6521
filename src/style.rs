//! The continuation style a Dockerfile already uses, so that edits match it.

use crate::syntax::Document;

/// The file's continuation style.
pub struct Style {
    /// Indentation of continuation lines (4 spaces when the file has none).
    pub indent: String,
    /// `&&` starts continuation lines rather than ending them.
    pub and_at_line_start: bool,
}

impl Style {
    pub fn of(doc: &Document) -> Style {
        let text = doc.text();
        let esc = doc.escape;
        let (mut starts, mut ends) = (0, 0);
        let mut indents: Vec<(String, usize)> = Vec::new();
        for (_, ins) in doc.instructions() {
            if !ins.is("RUN") {
                continue;
            }
            let lines: Vec<&str> = text[ins.range.start..ins.line_end].split('\n').collect();
            // Whether the previous content line ended a command (`&&`, `;`,
            // `||`, `|` before the escape): only lines that start a command
            // set the indentation, not argument lists indented deeper.
            let mut after_separator = false;
            for (k, line) in lines.iter().enumerate() {
                let line = line.trim_end_matches('\r');
                let t = line.trim();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                let starts_command = t.starts_with("&&") || t.starts_with("||") || t.starts_with(';') || after_separator;
                let before_escape = t.trim_end_matches(esc).trim_end();
                after_separator = ["&&", "||", ";", "|"].iter().any(|s| before_escape.ends_with(s));
                if k > 0 && starts_command {
                    if t.starts_with("&&") {
                        starts += 1;
                    }
                    let ind: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
                    if !ind.is_empty() {
                        match indents.iter_mut().find(|(i, _)| *i == ind) {
                            Some(e) => e.1 += 1,
                            None => indents.push((ind, 1)),
                        }
                    }
                }
                if k + 1 < lines.len() && t.trim_end_matches(esc).trim_end().ends_with("&&") {
                    ends += 1;
                }
            }
        }
        // Most common indentation; the first seen wins a tie.
        let indent = indents.iter().fold(None::<&(String, usize)>, |best, e| match best {
            Some(b) if b.1 >= e.1 => Some(b),
            _ => Some(e),
        });
        Style { indent: indent.map_or_else(|| "    ".to_string(), |e| e.0.clone()), and_at_line_start: starts > ends }
    }
}
