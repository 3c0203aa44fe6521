//! Runs parse+fix over the corpus N times (for profilers):
//! `cargo run --release --example profile_corpus -- 20`
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let dir = std::path::PathBuf::from(std::env::var("SLIMFILE_CORPUS").unwrap_or_else(|_| "../shared/corpus".into()));
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                files.push(t);
            }
        }
    }
    let start = std::time::Instant::now();
    // SELECT=SF001,SF002 times only those transforms.
    let select: Option<Vec<&'static str>> =
        std::env::var("SELECT").ok().map(|v| v.split(',').filter_map(|k| slimfile::transforms::find(k.trim()).map(|t| t.code())).collect());
    let opts = slimfile::Options { select, ..slimfile::Options::default() };
    let mut changed = 0;
    for _ in 0..n {
        changed = files.iter().filter_map(|t| slimfile::fix(t, &opts).ok()).filter(|o| o.applied > 0).count();
    }
    let per = start.elapsed() / n as u32;
    println!("{} files, {changed} changed, {:.1} ms per pass", files.len(), per.as_secs_f64() * 1000.0);
}
