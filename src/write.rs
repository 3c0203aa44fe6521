//! Reading inputs and writing results atomically.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Reads a file as UTF-8 text. Errors name the line of an invalid byte.
pub fn read_text(path: &Path) -> Result<(Vec<u8>, String), String> {
    // A FIFO or a device would block or never end: only regular files.
    let meta = fs::metadata(path).map_err(|e| format!("{}: {}", path.display(), io_message(&e)))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", path.display()));
    }
    let bytes = fs::read(path).map_err(|e| format!("{}: {}", path.display(), io_message(&e)))?;
    let text = decode(&bytes).map_err(|m| format!("{}:{m}", path.display()))?;
    Ok((bytes, text))
}

/// Decodes bytes as UTF-8; the error is `LINE: message`.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            Err(format!("{line}: invalid UTF-8 at byte {at}: not a text Dockerfile (the file was left unchanged)"))
        }
    }
}

/// A short, plain message for an I/O error.
pub fn io_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// Replaces the file at `path` with `new`, atomically: the bytes go to a
/// temporary file in the same directory, which takes the original's
/// permissions (and owner, where allowed) and is then renamed over it. A
/// symlink is resolved and its target rewritten; the link stays. The write
/// is refused when the file no longer holds `original` (it changed after
/// it was read).
pub fn write_atomic(path: &Path, original: &[u8], new: &[u8]) -> Result<(), String> {
    let fail = |what: &str, e: &io::Error| format!("{}: {what}: {} (the file was left unchanged)", path.display(), io_message(e));
    let target: PathBuf = fs::canonicalize(path).map_err(|e| fail("cannot resolve the path", &e))?;
    let current = fs::read(&target).map_err(|e| fail("cannot read it again before writing", &e))?;
    if current != original {
        return Err(format!("{}: the file changed while slimfile was working on it; not written (run again)", path.display()));
    }
    let meta = fs::metadata(&target).map_err(|e| fail("cannot read its permissions", &e))?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".slimfile-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail("cannot create a temporary file beside it", &e))?;
    tmp.write_all(new).map_err(|e| fail("cannot write the temporary file", &e))?;
    tmp.as_file().sync_all().map_err(|e| fail("cannot flush the temporary file", &e))?;
    fs::set_permissions(tmp.path(), meta.permissions()).map_err(|e| fail("cannot copy its permissions", &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Keeping the owner needs privileges; without them the new file is
        // owned by whoever runs slimfile, as with any editor.
        let _ = std::os::unix::fs::chown(tmp.path(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.persist(&target).map_err(|e| fail("cannot rename the temporary file over it", &e.error))?;
    Ok(())
}

/// Creates `path` with `content`, atomically, refusing to replace a file
/// that appeared meanwhile. New files get mode 0644.
pub fn create_new(path: &Path, content: &[u8]) -> Result<(), String> {
    let fail = |what: &str, e: &io::Error| format!("{}: {what}: {}", path.display(), io_message(e));
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".slimfile-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail("cannot create a temporary file beside it", &e))?;
    tmp.write_all(content).map_err(|e| fail("cannot write the temporary file", &e))?;
    tmp.as_file().sync_all().map_err(|e| fail("cannot flush the temporary file", &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644)).map_err(|e| fail("cannot set its permissions", &e))?;
    }
    tmp.persist_noclobber(path).map_err(|e| fail("not created (it exists now, or cannot be written)", &e.error))?;
    Ok(())
}
