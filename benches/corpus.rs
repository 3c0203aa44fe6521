//! Parse and fix speed over ../shared/corpus (or $SLIMFILE_CORPUS).
//!
//! `cargo bench` reports the time per pass over the whole corpus and the
//! files per second. Peak memory of a whole CLI run: benches/memory.sh.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::{Path, PathBuf};

fn corpus() -> Vec<String> {
    let dir = std::env::var_os("SLIMFILE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let mut out = Vec::new();
    fn walk(p: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                walk(&p, out);
            } else if !matches!(name.as_str(), "SOURCES.tsv" | "README.md" | "result") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    out.push(t);
                }
            }
        }
    }
    walk(&dir, &mut out);
    out
}

fn bench(c: &mut Criterion) {
    let files = corpus();
    if files.is_empty() {
        eprintln!("no corpus found; set SLIMFILE_CORPUS");
        return;
    }
    let bytes: usize = files.iter().map(String::len).sum();
    eprintln!("corpus: {} files, {} bytes", files.len(), bytes);
    let mut g = c.benchmark_group("corpus");
    g.throughput(Throughput::Elements(files.len() as u64));
    g.sample_size(20);
    g.bench_function("parse", |b| {
        b.iter(|| files.iter().filter(|t| slimfile::Document::parse(t).is_ok()).count());
    });
    let opts = slimfile::Options::default();
    g.bench_function("parse+fix", |b| {
        b.iter(|| files.iter().filter_map(|t| slimfile::fix(t, &opts).ok()).map(|o| o.output.len()).sum::<usize>());
    });
    g.bench_function("parse+fix, files in parallel", |b| {
        use rayon::prelude::*;
        b.iter(|| files.par_iter().filter_map(|t| slimfile::fix(t, &opts).ok()).map(|o| o.output.len()).sum::<usize>());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
