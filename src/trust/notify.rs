//! `--on-alert CMD`: each new alert is handed once to an operator's command (`sh -c CMD`) with
//! `WARGDASH_ALERT_KIND`, `WARGDASH_ALERT_DETAIL` and `WARGDASH_REGISTRY` in its environment. A
//! failing or slow command is logged, never fatal.

use super::alerts::Alert;
use std::time::Duration;

/// Runs `cmd` for `alert`, waiting at most 30 s for it. Returns whether it succeeded.
pub async fn run_on_alert(cmd: &str, registry: &str, alert: &Alert) -> bool {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("WARGDASH_ALERT_KIND", alert.kind.as_str())
        .env("WARGDASH_ALERT_DETAIL", &alert.detail)
        .env("WARGDASH_REGISTRY", registry)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("--on-alert `{cmd}` could not start: {e}");
            return false;
        }
    };
    match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
        Ok(Ok(status)) if status.success() => true,
        Ok(Ok(status)) => {
            tracing::warn!(
                "--on-alert `{cmd}` failed ({status}) for {}",
                alert.kind.as_str()
            );
            false
        }
        Ok(Err(e)) => {
            tracing::warn!("--on-alert `{cmd}`: {e}");
            false
        }
        Err(_) => {
            tracing::warn!("--on-alert `{cmd}` did not finish within 30 s; killed");
            false
        }
    }
}
