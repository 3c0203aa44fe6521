//! One insta snapshot per fixture under tests/fixtures/<CODE>/: the
//! findings a user sees and the diff `fix` makes (and `fix
//! --unsafe-fixes`, when that differs). Snapshots live in snapshots/.

mod common;

use slimfile::Options;
use std::path::Path;

#[test]
fn fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut count = 0;
    for dir in dirs {
        let dir_name = dir.file_name().unwrap().to_string_lossy().to_string();
        let Some(t) = slimfile::transforms::find(&dir_name) else { continue };
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let stem = name.split('.').next().unwrap().to_string();
            let text = std::fs::read_to_string(&f).unwrap();
            // A fixture may ask for options on its first line: `# test-options: cache-style=mount`.
            let cache_style = if text.lines().next().is_some_and(|l| l.starts_with("# test-options:") && l.contains("cache-style=mount")) {
                slimfile::context::CacheStyle::Mount
            } else {
                slimfile::context::CacheStyle::Delete
            };
            let code = t.code();
            let rendered = common::render(&name, &text, |unsafe_fixes| Options {
                select: Some(vec![code]),
                unsafe_fixes,
                cache_style,
                ..Options::default()
            });
            insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, description => format!("tests/fixtures/{dir_name}/{name}"), omit_expression => true}, {
                insta::assert_snapshot!(format!("{}__{stem}", t.code()), rendered);
            });
            count += 1;
        }
    }
    assert!(count > 0, "no fixtures found");
}
