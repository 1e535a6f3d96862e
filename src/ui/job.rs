//! Only the newest background job's result counts (gitui's `AsyncSingleJob`): each request
//! whose answer can go stale — a content-file hash, a path completion, a prepared record, a
//! package log, a registry switch — takes a [`Ticket`] from its pane's [`LatestJob`]; the
//! ticket travels with the [`Effect`](super::msg::Effect) and comes back with the result, and
//! a result whose ticket is not the job's current one (`Ok` or `Err`) is dropped.

use std::sync::atomic::{AtomicU64, Ordering};

/// Tickets are unique in the process, so a job reset with its pane (a fresh form) can never
/// take a number an older, still running request holds.
static NEXT: AtomicU64 = AtomicU64::new(1);

/// One request's generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket(u64);

impl Ticket {
    /// A ticket no job ever issues (for results that arrive from outside any job).
    pub const NONE: Ticket = Ticket(0);
}

/// The newest request of one kind, if one is waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatestJob {
    current: Option<Ticket>,
}

impl LatestJob {
    /// Starts a request: its ticket is now the only one whose result counts.
    pub fn start(&mut self) -> Ticket {
        let t = Ticket(NEXT.fetch_add(1, Ordering::Relaxed));
        self.current = Some(t);
        t
    }

    /// A result arrived: `true` (and the job is done) when `t` is the current request's.
    pub fn finish(&mut self, t: Ticket) -> bool {
        if self.current == Some(t) {
            self.current = None;
            true
        } else {
            false
        }
    }

    /// Whether `t` is the current request's (without finishing it: a job may answer twice).
    pub fn is_current(&self, t: Ticket) -> bool {
        self.current == Some(t)
    }

    /// Forgets the request in flight: its result, when it lands, is dropped.
    pub fn cancel(&mut self) {
        self.current = None;
    }

    /// Whether a request is waiting for its result.
    pub fn pending(&self) -> bool {
        self.current.is_some()
    }

    /// The current request's ticket, if one is waiting.
    pub fn current(&self) -> Option<Ticket> {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_ticket_finishes() {
        let mut j = LatestJob::default();
        let a = j.start();
        let b = j.start();
        assert!(!j.finish(a), "a superseded ticket is stale");
        assert!(j.is_current(b));
        assert!(j.finish(b));
        assert!(!j.finish(b), "a result counts once");
        let c = j.start();
        j.cancel();
        assert!(!j.finish(c), "a cancelled ticket is stale");
        // A job reset with its pane never reissues a number.
        let mut fresh = LatestJob::default();
        assert_ne!(fresh.start(), c);
        assert!(!fresh.finish(Ticket::NONE));
    }
}
