//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared corpus of real Dockerfiles, if this checkout has it beside.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SLIMFILE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: no corpus at {} (set SLIMFILE_CORPUS to point at one)", dir.display());
        None
    }
}

/// Every file of the corpus that stands for a Dockerfile (not the
/// provenance table, the README, or BuildKit's expected-result files).
pub fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(p).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                walk(&e, out);
            } else {
                let n = e.file_name().unwrap().to_string_lossy().to_string();
                if !matches!(n.as_str(), "SOURCES.tsv" | "README.md" | "result") {
                    out.push(e);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}
