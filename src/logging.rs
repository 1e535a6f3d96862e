//! Logs go to a file in the state directory, never to the terminal (stdout is the screen).

use color_eyre::eyre::{Result, WrapErr};
use std::path::Path;
use tracing_subscriber::EnvFilter;

/// Sends `tracing` output (ours and the embedded registry's) to `path`, appending.
/// `WARGDASH_LOG` sets the filter (default `info`).
pub fn init(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        crate::fsutil::private_dir(dir)
            .wrap_err_with(|| format!("creating log directory {}", dir.display()))?;
    }
    // A log file an older run left readable by others is narrowed (new ones are created 0600).
    crate::fsutil::narrow(path, 0o600)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts
        .open(path)
        .wrap_err_with(|| format!("opening log file {}", path.display()))?;
    let filter = EnvFilter::try_from_env("WARGDASH_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,warg_server=warn,tower_http=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(())
}
