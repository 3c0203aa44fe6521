//! `slimfile.toml` / `.slimfile.toml`: per-repository settings.
//!
//! The file is looked for from a Dockerfile's directory upward, stopping at
//! the repository root (the first directory with a `.git`); `--config FILE`
//! names one explicitly. Command-line options win over the file.
//!
//! ```toml
//! select = ["SF001", "cache-cleanup"]   # only these transforms
//! ignore = ["SF004"]                    # never these
//! unsafe-fixes = false
//! cache-style = "mount"                 # BuildKit cache mounts instead of deleting
//! exclude = ["vendor/**", "legacy/Dockerfile"]   # relative to this file
//!
//! [[base-image]]                        # your own images (SF003), schema of
//! name = "registry.example.com/base"    # [[image]] in transforms/base_images.toml
//! ...
//! ```

use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const FILE_NAMES: &[&str] = &["slimfile.toml", ".slimfile.toml"];

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Transforms to run (codes or names).
    #[serde(default)]
    pub select: Option<Vec<String>>,
    /// Transforms never to run.
    #[serde(default)]
    pub ignore: Vec<String>,
    #[serde(default)]
    pub unsafe_fixes: Option<bool>,
    /// `delete` (default) or `mount`.
    #[serde(default)]
    pub cache_style: Option<crate::context::CacheStyle>,
    /// Glob patterns, relative to the config file's directory, of files a
    /// directory walk skips.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// A company's own base images and their smaller variants, in the
    /// schema of `[[image]]` in transforms/base_images.toml (SF003).
    #[serde(default, rename = "base-image")]
    pub base_image: Vec<toml::Table>,
    /// Where this config was read from (not a setting).
    #[serde(skip)]
    pub path: Option<PathBuf>,
    #[serde(skip)]
    excluded: Option<globset::GlobSet>,
}

impl Config {
    /// Reads and validates a config file. Errors name the file and line.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {}", path.display(), crate::write::io_message(&e)))?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(1, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().trim().to_string();
            format!("{}:{line}: {msg}", path.display())
        })?;
        for key in cfg.select.iter().flatten().chain(&cfg.ignore) {
            if crate::transforms::find(key).is_none() {
                let line = text.lines().position(|l| l.contains(key.as_str())).map_or(1, |i| i + 1);
                return Err(format!("{}:{line}: unknown rule `{key}` (see `slimfile rules`)", path.display()));
            }
        }
        if let Err(m) = crate::transforms::base_image::parse_extra(&cfg.base_image) {
            // The k-th [[base-image]] table, and in it the key the message names.
            let k: usize = m.strip_prefix("base-image entry ").and_then(|r| r.split(':').next()).and_then(|n| n.parse().ok()).unwrap_or(1);
            let header =
                text.lines().enumerate().filter(|(_, l)| l.trim_start().starts_with("[[base-image]]")).nth(k - 1).map_or(0, |(i, _)| i);
            let key = m.split('`').nth(1).unwrap_or("");
            let line = text
                .lines()
                .enumerate()
                .skip(header + 1)
                .take_while(|(_, l)| !l.trim_start().starts_with("[[base-image]]"))
                .find(|(_, l)| !key.is_empty() && l.trim_start().starts_with(key))
                .map_or(header + 1, |(i, _)| i + 1);
            return Err(format!("{}:{line}: {m}", path.display()));
        }
        let mut globs = globset::GlobSetBuilder::new();
        for pattern in &cfg.exclude {
            let glob = globset::GlobBuilder::new(pattern).literal_separator(true).build().map_err(|e| {
                let line = text.lines().position(|l| l.contains(pattern.as_str())).map_or(1, |i| i + 1);
                format!("{}:{line}: bad exclude pattern `{pattern}`: {}", path.display(), e.kind())
            })?;
            globs.add(glob);
        }
        cfg.excluded = Some(globs.build().map_err(|e| format!("{}: {e}", path.display()))?);
        cfg.path = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// The config that applies to `file`: the nearest `slimfile.toml` or
    /// `.slimfile.toml` in its directory or above, up to the repository
    /// root. `Ok(None)` when there is none.
    pub fn find_for(file: &Path) -> Result<Option<Config>, String> {
        let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let mut dir = if abs.is_dir() { Some(abs.as_path()) } else { abs.parent() };
        while let Some(d) = dir {
            for name in FILE_NAMES {
                let candidate = d.join(name);
                if candidate.is_file() {
                    return Config::load(&candidate).map(Some);
                }
            }
            if d.join(".git").exists() {
                break;
            }
            dir = d.parent();
        }
        Ok(None)
    }

    /// True when `file` matches an `exclude` pattern of this config.
    pub fn excludes(&self, file: &Path) -> bool {
        let (Some(set), Some(cfg_path)) = (&self.excluded, &self.path) else { return false };
        let base = std::path::absolute(cfg_path).ok().and_then(|p| p.parent().map(Path::to_path_buf));
        let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        match base.as_deref().and_then(|b| abs.strip_prefix(b).ok()) {
            Some(rel) => set.is_match(rel),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("slimfile.toml");
        std::fs::write(&p, "select = [\"SF001\"]\nunsafe_fix = true\n").unwrap();
        let e = Config::load(&p).unwrap_err();
        assert!(e.contains("slimfile.toml:2:") && e.contains("unknown field `unsafe_fix`"), "{e}");
        std::fs::write(&p, "ignore = [\"SF999\"]\n").unwrap();
        assert!(Config::load(&p).unwrap_err().contains("slimfile.toml:1: unknown rule `SF999`"));
        std::fs::write(&p, "unsafe-fixes = \"yes\"\n").unwrap();
        assert!(Config::load(&p).unwrap_err().contains("slimfile.toml:1:"));
        std::fs::write(&p, "[[base-image]]\nname = \"myco/base\"\nrole = \"runtime\"\nbogus = 1\n").unwrap();
        let e = Config::load(&p).unwrap_err();
        assert!(e.contains("slimfile.toml:4: base-image entry 1: unknown field `bogus`"), "{e}");
        std::fs::write(&p, "exclude = [\"legacy/**\"]\nunsafe-fixes = true\n").unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(c.unsafe_fixes, Some(true));
        assert!(c.excludes(&dir.path().join("legacy/a/Dockerfile")));
        assert!(!c.excludes(&dir.path().join("app/Dockerfile")));
        std::fs::create_dir_all(dir.path().join("app/sub")).unwrap();
        let found = Config::find_for(&dir.path().join("app/sub/Dockerfile")).unwrap().unwrap();
        assert_eq!(found.path.as_deref(), Some(p.as_path()));
    }
}
