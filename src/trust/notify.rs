//! `--on-alert CMD`: each new alert is handed once to an operator's command (`sh -c CMD`).
//!
//! What the hook gets: `WARGDASH_ALERT_KIND`, `WARGDASH_ALERT_DETAIL` (cleaned of control
//! characters and BiDi controls — a NUL would make the spawn fail — and cut to
//! [`MAX_DETAIL_ENV`] bytes) and `WARGDASH_REGISTRY` in its environment, and the whole alert as
//! one JSON object on stdin (`{"kind", "detail", "registry", "evidence"}`, certspotter-style;
//! JSON escapes what the environment cannot carry). What it does not get: `WARGDASH_TOKEN` and
//! `WARGDASH_KEY` are removed from its environment.
//!
//! How it runs: in a process group of its own, killed — the whole group, so a background
//! grandchild too — [`HOOK_TIMEOUT`] after it started (whether `sh` is still running or left
//! children behind) or when wargdash lets go of it. The dashboard's
//! verifier hands alerts to [`Hooks`], a bounded queue served by a task of its own, so a slow
//! hook never holds up verification; an alert counts as handed only once its hook started
//! ([`Hooks::take_failed`] gives back those that could not). A failing or slow command is
//! logged, never fatal.

use super::alerts::Alert;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// How long a hook may run before its process group is killed.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(30);
/// The most bytes of the detail put in `WARGDASH_ALERT_DETAIL` (stdin has all of it).
pub const MAX_DETAIL_ENV: usize = 8 * 1024;
/// The most alerts waiting for their hook; more are not queued (and not marked handed).
pub const QUEUE: usize = 64;

/// `detail` made fit for an environment variable: control and BiDi characters escaped (no NUL
/// is left), cut at a character boundary to `MAX_DETAIL_ENV` bytes, the cut marked.
pub fn env_detail(detail: &str) -> String {
    let clean = crate::text::clean(detail);
    if clean.len() <= MAX_DETAIL_ENV {
        return clean.into_owned();
    }
    let mut end = MAX_DETAIL_ENV - 32;
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [cut: {} bytes in all]", &clean[..end], clean.len())
}

/// The alert as the JSON object the hook reads on stdin.
pub fn stdin_json(registry: &str, alert: &Alert) -> Vec<u8> {
    let mut v = serde_json::json!({
        "kind": alert.kind.as_str(),
        "detail": alert.detail,
        "registry": registry,
        "evidence": alert.evidence,
    })
    .to_string()
    .into_bytes();
    v.push(b'\n');
    v
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// Kills the process group `pgid` (SIGKILL) unless disarmed: on timeout, and when the future
/// waiting for the hook is dropped (the dashboard quitting).
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill_now(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: kill(2) with a negative pid signals the process group; it touches no
            // memory of ours. The group is the hook's own (`process_group(0)` at spawn).
            unsafe {
                kill(-pgid, 9);
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// Runs `cmd` for `alert`, waiting at most `timeout`. `Err` when it could not be started;
/// `Ok(success)` once it ran (a failure or a timeout is logged).
pub async fn run_hook(
    cmd: &str,
    registry: &str,
    alert: &Alert,
    timeout: Duration,
) -> Result<bool, String> {
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .env_remove("WARGDASH_TOKEN")
        .env_remove("WARGDASH_KEY")
        .env("WARGDASH_ALERT_KIND", alert.kind.as_str())
        .env("WARGDASH_ALERT_DETAIL", env_detail(&alert.detail))
        .env("WARGDASH_REGISTRY", crate::text::clean(registry).as_ref())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command.spawn().map_err(|e| {
        tracing::warn!("--on-alert `{cmd}` could not start: {e}");
        format!("--on-alert `{cmd}` could not start: {e}")
    })?;
    let mut group = GroupGuard(child.id().and_then(|p| i32::try_from(p).ok()));
    // The alert on stdin, written alongside the wait: a hook that never reads it must not
    // block anything (the write ends with the hook).
    if let Some(mut stdin) = child.stdin.take() {
        let json = stdin_json(registry, alert);
        tokio::spawn(async move {
            let _ = stdin.write_all(&json).await;
            let _ = stdin.shutdown().await;
        });
    }
    let kind = alert.kind.as_str();
    let deadline = tokio::time::Instant::now() + timeout;
    let ok = match tokio::time::timeout_at(deadline, child.wait()).await {
        Ok(Ok(status)) if status.success() => true,
        Ok(Ok(status)) => {
            tracing::warn!("--on-alert `{cmd}` failed ({status}) for {kind}");
            false
        }
        Ok(Err(e)) => {
            tracing::warn!("--on-alert `{cmd}`: {e}");
            false
        }
        Err(_) => {
            group.kill_now();
            let _ = child.wait().await;
            tracing::warn!(
                "--on-alert `{cmd}` did not finish within {} s; its process group was killed",
                timeout.as_secs()
            );
            return Ok(false);
        }
    };
    // The hook is done; what it left running in the background is not waited for, but it
    // does not outlive the hook's time either: the group is killed at the deadline.
    tokio::spawn(async move {
        tokio::time::sleep_until(deadline).await;
        drop(group);
    });
    Ok(ok)
}

/// Runs `cmd` for `alert`, waiting at most [`HOOK_TIMEOUT`]. Returns whether it succeeded.
pub async fn run_on_alert(cmd: &str, registry: &str, alert: &Alert) -> bool {
    run_hook(cmd, registry, alert, HOOK_TIMEOUT)
        .await
        .unwrap_or(false)
}

/// A bounded queue of alerts for one `--on-alert` command, served one at a time by a task of
/// its own (off the verifier's loop). `K` is what the caller marks as handed.
pub struct Hooks<K> {
    tx: mpsc::Sender<(K, String, Alert)>,
    failed: mpsc::UnboundedReceiver<K>,
}

impl<K: Send + 'static> Hooks<K> {
    /// Starts the task for `cmd`, each hook bounded by `timeout`.
    pub fn start(cmd: String, timeout: Duration) -> Self {
        let (tx, mut rx) = mpsc::channel::<(K, String, Alert)>(QUEUE);
        let (failed_tx, failed) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some((key, registry, alert)) = rx.recv().await {
                if run_hook(&cmd, &registry, &alert, timeout).await.is_err() {
                    let _ = failed_tx.send(key);
                }
            }
        });
        Self { tx, failed }
    }

    /// Queues `alert`; `false` when the queue is full (the alert is not handed: the caller
    /// keeps it unmarked and hands it again when it comes back).
    pub fn hand(&self, key: K, registry: &str, alert: &Alert) -> bool {
        match self.tx.try_send((key, registry.to_string(), alert.clone())) {
            Ok(()) => true,
            Err(_) => {
                tracing::warn!(
                    "--on-alert queue full ({QUEUE} alerts waiting); {} not handed yet",
                    alert.kind.as_str()
                );
                false
            }
        }
    }

    /// The keys of alerts whose hook could not be started since the last call: no longer
    /// handed.
    pub fn take_failed(&mut self) -> Vec<K> {
        let mut out = Vec::new();
        while let Ok(k) = self.failed.try_recv() {
            out.push(k);
        }
        out
    }
}
