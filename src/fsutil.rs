//! Atomic file writes: a temp file with an unpredictable name in the same directory, written
//! with the final mode, fsynced, renamed over the target, then the directory fsynced.

use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    write_file(path, bytes, mode, false)
}

/// Writes a new file at `path` like [`write_atomic`], but never over an existing one: the
/// temp file is linked into place only if nothing is there (`persist_noclobber`), so two
/// writers racing for one name cannot overwrite each other. `AlreadyExists` when taken.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    write_file(path, bytes, mode, true)
}

fn write_file(path: &Path, bytes: &[u8], mode: u32, noclobber: bool) -> std::io::Result<()> {
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
    if noclobber {
        tmp.persist_noclobber(path).map_err(|e| e.error)?;
    } else {
        tmp.persist(path).map_err(|e| e.error)?;
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Makes `dir` (created if needed) readable by its owner only: mode 0700, also when it existed
/// before with wider permissions (as the key directory is).
pub fn private_dir(dir: &Path) -> color_eyre::Result<()> {
    use color_eyre::eyre::WrapErr;
    std::fs::create_dir_all(dir)
        .wrap_err_with(|| format!("creating directory {}", dir.display()))?;
    narrow(dir, 0o700)
}

/// Sets `path` to `mode` when it exists with any permission bit for group or others (a file
/// that does not exist is left alone).
pub fn narrow(path: &Path, mode: u32) -> color_eyre::Result<()> {
    #[cfg(unix)]
    {
        use color_eyre::eyre::WrapErr;
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(e).wrap_err_with(|| format!("reading the mode of {}", path.display()))
            }
        };
        if meta.file_type().is_symlink() {
            return Ok(());
        }
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .wrap_err_with(|| format!("setting mode {mode:o} on {}", path.display()))?;
        }
    }
    let _ = (path, mode);
    Ok(())
}

/// The SQLite store at `db` kept private: its directory 0700, the file created 0600 before
/// SQLite opens it (SQLite gives the `-wal` and `-shm` files the database file's mode), and
/// the file, `-wal` and `-shm` narrowed to 0600 when they exist with wider permissions.
pub fn private_store(db: &Path) -> color_eyre::Result<()> {
    use color_eyre::eyre::WrapErr;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir).wrap_err("making the data directory private")?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        if !db.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(db)
                .wrap_err_with(|| format!("creating the store {}", db.display()))?;
        }
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        narrow(Path::new(&p), 0o600)?;
    }
    Ok(())
}

/// Why a content file cannot be used.
#[derive(Debug)]
pub enum ContentError {
    Io(String),
    NotRegular(String),
    TooLarge(String),
}

impl std::fmt::Display for ContentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(m) | Self::NotRegular(m) | Self::TooLarge(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ContentError {}

/// Reads a content file through one descriptor: opened without blocking (a FIFO does not hang
/// the open), `fstat`ed (a regular file of at most `max` bytes, else refused before a byte is
/// read: `/dev/zero`, a FIFO, a directory), then read through a reader bounded at `max`, so a
/// file that grows meanwhile cannot exceed it either. A symlink swapped after the check
/// changes nothing: the descriptor is what was checked.
pub fn read_content(path: &Path, max: u64) -> Result<Vec<u8>, ContentError> {
    use std::io::Read;
    let shown = crate::text::clean(&path.display().to_string()).into_owned();
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: opening a FIFO without a writer would otherwise block forever.
        opts.custom_flags(libc_o_nonblock());
    }
    let f = opts
        .open(path)
        .map_err(|e| ContentError::Io(format!("cannot read content file {shown}: {e}")))?;
    let meta = f
        .metadata()
        .map_err(|e| ContentError::Io(format!("cannot read content file {shown}: {e}")))?;
    if !meta.file_type().is_file() {
        let what = describe_type(&meta.file_type());
        return Err(ContentError::NotRegular(format!(
            "content file {shown} is not a regular file ({what}); give a file"
        )));
    }
    let too_big = || {
        ContentError::TooLarge(format!(
            "content file {shown} is larger than {} MiB (raise the limit with --max-file-mib)",
            max >> 20
        ))
    };
    if meta.len() > max {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ContentError::Io(format!("cannot read content file {shown}: {e}")))?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

#[cfg(unix)]
fn libc_o_nonblock() -> i32 {
    // O_NONBLOCK on Linux (every architecture Rust supports there) and the BSDs/macOS differ.
    if cfg!(any(target_os = "linux", target_os = "android")) {
        0o4000
    } else {
        0x0004
    }
}

fn describe_type(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// Refuses a secret file (`what`: "key file", "token file") that group or others can read, as
/// ssh does, with the `chmod 600` that fixes it. Its contents are never read or echoed here.
pub fn refuse_readable(path: &Path, what: &str) -> color_eyre::Result<()> {
    #[cfg(unix)]
    {
        use color_eyre::eyre::{bail, WrapErr};
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .wrap_err_with(|| format!("reading {what} {}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{what} {} has permissions {:o}, readable by others; refusing to use it. Fix with: chmod 600 {}",
                path.display(),
                mode,
                path.display()
            );
        }
    }
    let _ = (path, what);
    Ok(())
}
