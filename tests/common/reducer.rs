//! Fixtures for tests that drive the dashboard's reducer directly: a state at a fixed time,
//! IDs from fixed bytes, tracked records, poll answers and key presses.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Duration;
use wargdash::ids::{LogId, RecordId, RecordRef, Sha256Hash};
use wargdash::registry::PackageRecord;
use wargdash::tracker::store::{Origin, Tracked};
use wargdash::ui::app::{update, Action, AppConfig, Effect, State};

/// The fixed "now" of these states (Unix ms).
pub const NOW: i64 = 1_795_900_000_000;
/// The registry these states are on.
pub const REGISTRY: &str = "http://127.0.0.1:8090";

pub fn state_with(color: bool) -> State {
    State::new(
        AppConfig {
            registry: REGISTRY.into(),
            sandbox: false,
            readonly: false,
            interval: Duration::from_secs(2),
            color,
        },
        NOW,
    )
}

pub fn ids(n: u8) -> RecordRef {
    RecordRef::new(
        LogId(Sha256Hash([n; 32])),
        RecordId(Sha256Hash([n.wrapping_mul(7).wrapping_add(3); 32])),
    )
}

/// Record `n` of `package`, tracked by hand `95 - n` seconds before [`NOW`].
pub fn tracked(n: u8, package: &str) -> Tracked {
    let RecordRef {
        log: log_id,
        record: record_id,
    } = ids(n);
    Tracked {
        log_id,
        record_id,
        package: Some(package.into()),
        origin: Origin::Tracked,
        entries: None,
        added_at: NOW - 95_000 + n as i64 * 1000,
        state: None,
        response: None,
        missing: None,
        polled_at: None,
        error: None,
    }
}

/// The registry answered `body` for record `n` three seconds ago.
pub fn polled(s: &mut State, n: u8, body: serde_json::Value) {
    let key = ids(n);
    let mut body = body;
    body["recordId"] = key.record.to_string().into();
    let rec: PackageRecord = serde_json::from_value(body.clone()).expect("record JSON");
    update(
        s,
        Action::Polled {
            key,
            result: Ok((rec, body)),
            at: NOW - 3000,
            latency: Duration::from_micros(1200),
            hold: None,
        },
    );
}

pub fn key(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn ctrl(s: &mut State, c: char) -> Vec<Effect> {
    update(
        s,
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

pub fn typed(s: &mut State, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| key(s, KeyCode::Char(c)))
        .collect()
}
