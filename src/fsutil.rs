//! Atomic file writes: a temp file with an unpredictable name in the same directory, written
//! with the final mode, fsynced, renamed over the target, then the directory fsynced.

use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    // `tempfile` creates the file with mode 0600 and O_EXCL under a random name.
    let mut tmp = tempfile::Builder::new()
        .prefix(".wargdash-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
