//! Finding the Dockerfiles to work on.

use std::path::{Path, PathBuf};

/// Extensions of files that sit next to Dockerfiles but are not ones
/// (templates, backups, docs). A walk skips them; naming one explicitly
/// still processes it.
const NOT_DOCKERFILES: &[&str] = &[
    "bak",
    "orig",
    "rej",
    "swp",
    "tmp",
    "md",
    "txt",
    "rst",
    "adoc",
    "json",
    "yml",
    "yaml",
    "toml",
    "sh",
    "ps1",
    "py",
    "go",
    "rs",
    "js",
    "ts",
    "m4",
    "tmpl",
    "tpl",
    "template",
    "j2",
    "jinja",
    "jinja2",
    "erb",
    "mustache",
    "hbs",
    "in",
    "gotmpl",
    "dockerignore",
    "lock",
];

/// True for the names a walk picks up: `Dockerfile`, `Containerfile`,
/// `Dockerfile.*`, `Dockerfile-*`, `*.Dockerfile`, `*.dockerfile`,
/// `*.Containerfile` (case-insensitive), but not templates or backups
/// such as `Dockerfile.m4` or `Dockerfile.orig`.
pub fn is_dockerfile_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    for base in ["dockerfile", "containerfile"] {
        if lower == base {
            return true;
        }
        if let Some(rest) = lower.strip_prefix(base) {
            if rest.starts_with(['.', '-', '_']) && rest.len() > 1 {
                let ext = rest.rsplit('.').next().unwrap_or("");
                return !(rest.contains('.') && NOT_DOCKERFILES.contains(&ext));
            }
        }
        if lower.ends_with(&format!(".{base}")) && lower.len() > base.len() + 1 {
            return true;
        }
    }
    false
}

/// One input: a file or standard input.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

/// Expands `paths` into inputs, in a stable order: files as given,
/// directories walked (honouring `.gitignore`, `.ignore` and
/// `.dockerignore`-free: hidden folders such as `.devcontainer` are
/// searched, `.git` is not; symlinks are not followed). Returns the inputs
/// and an error message for each path that gave none.
pub fn discover(paths: &[PathBuf]) -> (Vec<Input>, Vec<String>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) => {
                errors.push(format!("{}: {}", p.display(), crate::write::io_message(&e)));
                continue;
            }
        };
        if !meta.is_dir() {
            inputs.push(Input::File(p.clone()));
            continue;
        }
        let mut found = walk_dir(p);
        if found.is_empty() {
            errors.push(format!("{}: no Dockerfiles found in this directory", p.display()));
        }
        found.sort();
        inputs.extend(found.into_iter().map(Input::File));
    }
    let mut seen = std::collections::HashSet::new();
    inputs.retain(|i| seen.insert(i.clone()));
    (inputs, errors)
}

fn walk_dir(dir: &Path) -> Vec<PathBuf> {
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    walker
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter(|e| is_dockerfile_name(&e.file_name().to_string_lossy()))
        .map(|e| e.into_path())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::is_dockerfile_name as d;

    #[test]
    fn names() {
        for yes in [
            "Dockerfile",
            "dockerfile",
            "Dockerfile.alpine",
            "Dockerfile-windows",
            "app.Dockerfile",
            "x.dockerfile",
            "Containerfile",
            "Dockerfile.prod",
        ] {
            assert!(d(yes), "{yes}");
        }
        for no in [
            "Dockerfile.m4",
            "Dockerfile.md",
            "Dockerfile.orig",
            "README.md",
            "Dockerfiles",
            "dockerfile.",
            "docker-compose.yml",
            ".dockerfile",
        ] {
            assert!(!d(no), "{no}");
        }
    }
}
