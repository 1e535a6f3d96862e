//! What the header and the footer report beside the panes: the registry's health and latest
//! checkpoint, the footer's message, and the registry switch in flight (`:registry URL`: only
//! the client built for the URL asked for last is used).

use super::job::LatestJob;
use super::msg::{Flash, Health, Level};
use crate::registry::ApiError;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct Status {
    pub health: Health,
    /// The latest checkpoint: (log length, timestamp in seconds).
    pub checkpoint: Option<(u64, u64)>,
    /// The footer's message.
    pub flash: Option<Flash>,
    /// The client being built for a `:registry` switch.
    pub(super) switch: LatestJob,
}

impl Status {
    /// A message in the footer, from `now` (ms) for 5 s.
    pub(super) fn flash(&mut self, level: Level, msg: impl Into<String>, now: i64) {
        self.flash = Some(Flash {
            text: crate::text::clean(&msg.into()).into_owned(),
            at: now,
            level,
        });
    }

    /// A poll answered (or failed) at `at`: the header's health follows.
    pub(super) fn polled<T>(
        &mut self,
        result: &Result<T, ApiError>,
        at: i64,
        latency: Duration,
        hold: Option<Duration>,
    ) {
        match result {
            Ok(_) => {
                self.health.last_ok = Some(at);
                self.health.latency = Some(latency);
                self.health.down = false;
                self.health.retry_at = None;
            }
            Err(e) if e.is_registry_wide() => {
                self.health.down = true;
                self.health.last_error = Some(crate::text::clean(&e.headline()).into_owned());
                self.health.retry_at = hold.map(|h| at + h.as_millis() as i64);
            }
            Err(_) => {}
        }
    }

    /// The checkpoint watcher's answer at `now` (ms).
    pub(super) fn checkpoint(&mut self, c: Result<(u64, u64), ApiError>, now: i64) {
        match c {
            Ok((len, ts)) => {
                self.checkpoint = Some((len, ts));
                self.health.last_ok = Some(now);
                self.health.down = false;
                self.health.retry_at = None;
            }
            Err(e) => {
                if e.is_registry_wide() {
                    self.health.down = true;
                }
                self.health.last_error = Some(crate::text::clean(&e.headline()).into_owned());
            }
        }
    }
}
