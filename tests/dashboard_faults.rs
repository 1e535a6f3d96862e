//! The dashboard against a misbehaving registry. In process: the real runtime
//! (`ui::runtime::Dashboard`: poll scheduler, store thread, checkpoint watcher, reducer and its
//! event loop) drawing into a `TestBackend`, against each fault of
//! `tests/common/fault_server.rs` (a hand-written HTTP server on loopback: the real warg-server
//! cannot be made to misbehave). And the real binary in tmux against a stalled registry.
//!
//! For every registry-wide fault: the header says `● DOWN` with the error and a retry
//! countdown, once (never on the rows); polling backs off to one probe at a time (the number of
//! polls over the window is bounded); the app keeps running and recovers when pointed at a
//! healthy registry with `:registry URL`; every row keeps its last good state, and the store
//! keeps every record, its state and response, and gains only the last error.

mod common;
#[path = "common/fault_server.rs"]
mod fault_server;
#[path = "common/screen.rs"]
mod screen;
#[path = "common/tmux.rs"]
mod tmux;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fault_server::{Fault, FaultServer};
use std::sync::atomic::Ordering;
use std::time::Duration;
use wargdash::ids::{LogId, RecordId, RecordRef, Sha256Hash};
use wargdash::keys::KeyStore;
use wargdash::registry::{ClientOptions, RecordState};
use wargdash::tracker::scheduler::SchedulerConfig;
use wargdash::tracker::store::{now_ms, NewTracked, Origin, PollOutcome, PolledState, Store};
use wargdash::ui::app::{update, Action, Mode, State};
use wargdash::ui::runtime::Dashboard;

/// Records tracked in each run: all `processing` before the fault.
const RECORDS: usize = 30;
/// How long each fault is left to act on the loop.
const WINDOW: Duration = Duration::from_millis(3000);
const INTERVAL: Duration = Duration::from_millis(100);
const CONCURRENCY: usize = 8;

fn key(i: usize) -> (LogId, RecordId) {
    let mut l = [0x11u8; 32];
    let mut r = [0x22u8; 32];
    l[0] = i as u8;
    r[0] = i as u8;
    (LogId(Sha256Hash(l)), RecordId(Sha256Hash(r)))
}

fn processing_json(rec: &RecordId) -> serde_json::Value {
    serde_json::json!({ "recordId": rec.to_string(), "state": "processing" })
}

/// A store holding `RECORDS` records last seen `processing`, tracked for the registry at
/// `url` (each registry has its own tracked set).
fn seeded_store(path: &std::path::Path, url: &str) -> Store {
    let mut store = Store::open(path, url).unwrap();
    let items: Vec<NewTracked> = (0..RECORDS)
        .map(|i| NewTracked {
            log_id: key(i).0,
            record_id: key(i).1,
            package: Some(format!("demo:p{i}")),
            origin: Origin::Tracked,
            entries: None,
        })
        .collect();
    store.add(&items).unwrap();
    let polls: Vec<PollOutcome> = (0..RECORDS)
        .map(|i| PollOutcome {
            log_id: key(i).0,
            record_id: key(i).1,
            at: now_ms() - 60_000,
            result: Ok(PolledState {
                state: "processing".into(),
                detail: String::new(),
                response: processing_json(&key(i).1),
                missing: None,
            }),
        })
        .collect();
    store.record_polls(&polls).unwrap();
    store
}

/// What one run saw.
struct Outcome {
    state: State,
    /// Polls finished while the fault was in place.
    polls_during_fault: usize,
    /// Most polls in flight at once after the first wave.
    max_in_flight_after_first: usize,
    /// The header drawn at the end of the fault window.
    fault_screen: String,
    /// The same, 70 columns wide.
    narrow_screen: String,
    /// The same screen two seconds later.
    later_screen: String,
    /// Whether the first wave of failing polls had all come back within the window.
    first_wave_done: bool,
    /// The state at the end of the fault window.
    fault_state: State,
    store_path: std::path::PathBuf,
    /// The registry the fault was on.
    faulty_url: String,
    _dir: tempfile::TempDir,
}

fn draw(s: &mut State, w: u16, h: u16) -> String {
    screen::text(&screen::render(s, w, h))
}

fn options() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        ..ClientOptions::default()
    }
}

/// Counts what the scheduler has in flight, from the actions the runtime's loop sees.
#[derive(Default)]
struct Probe {
    in_flight: usize,
    polls: usize,
    /// A poll has failed and every request of the first wave has come back since.
    first_wave_done: bool,
    failed: bool,
    /// Most polls in flight at once once the first wave is done.
    max_after_first_wave: usize,
    /// Whether each record's latest poll succeeded.
    last_ok: std::collections::HashMap<RecordRef, bool>,
}

impl Probe {
    fn see(&mut self, a: &Action) {
        match a {
            Action::PollStarted(keys) => {
                self.in_flight += keys.len();
                if self.first_wave_done {
                    self.max_after_first_wave = self.max_after_first_wave.max(self.in_flight);
                }
            }
            Action::Polled { key, result, .. } => {
                self.in_flight = self.in_flight.saturating_sub(1);
                self.polls += 1;
                self.failed |= result.is_err();
                self.last_ok.insert(*key, result.is_ok());
                if self.failed && self.in_flight == 0 {
                    self.first_wave_done = true;
                }
            }
            _ => {}
        }
    }
}

/// The real runtime on a test terminal.
struct Loop {
    dash: Dashboard,
    term: ratatui::Terminal<ratatui::backend::TestBackend>,
    probe: Probe,
}

impl Loop {
    /// Runs the runtime's own event loop for `d` (no terminal input).
    async fn run_for(&mut self, d: Duration) {
        let until = tokio::time::Instant::now() + d;
        let probe = &mut self.probe;
        self.dash
            .run_loop(
                &mut self.term,
                futures::stream::pending(),
                Some(until),
                |a| probe.see(a),
            )
            .await
            .unwrap();
        assert!(!self.dash.state.quit, "the dashboard quit on its own");
    }

    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.dash.apply(Action::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )));
        }
    }

    fn key(&mut self, code: KeyCode) {
        self.dash
            .apply(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
}

async fn run_fault(url: &str, healthy: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("wargdash.db");
    // The same records are tracked on the healthy registry the operator switches to.
    drop(seeded_store(&store_path, healthy));
    let store = seeded_store(&store_path, url);
    let dash = Dashboard::builder(url, store, KeyStore::new(dir.path().join("keys")))
        .client_options(options())
        .interval(INTERVAL)
        .scheduler(SchedulerConfig {
            interval: INTERVAL,
            concurrency: CONCURRENCY,
            max_backoff: Duration::from_secs(2),
        })
        .start()
        .unwrap();
    assert_eq!(dash.state.table.rows.len(), RECORDS);
    let mut lp = Loop {
        dash,
        term: ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 12)).unwrap(),
        probe: Probe::default(),
    };

    lp.run_for(WINDOW).await;
    let polls_during_fault = lp.probe.polls;
    let max_in_flight_after_first = lp.probe.max_after_first_wave;
    let first_wave_done = lp.probe.first_wave_done;
    let fault_state = lp.dash.state.clone();
    let fault_screen = draw(&mut lp.dash.state, 160, 12);
    let narrow_screen = draw(&mut lp.dash.state, 70, 12);
    // Two screens two seconds apart: the ages move.
    lp.run_for(Duration::from_millis(2100)).await;
    let later_screen = draw(&mut lp.dash.state, 160, 12);

    // The app keeps running: pointed at a healthy registry it recovers.
    lp.keys(":");
    lp.keys(&format!("registry {healthy}"));
    lp.key(KeyCode::Enter);
    assert_eq!(
        lp.dash.state.mode,
        Mode::Table,
        "{:?}",
        lp.dash.state.prompt.error
    );
    // Requests still in flight to the faulty registry may fail late and back their record off
    // (at most `max_backoff`): wait for every record's latest poll to be a success, bounded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    lp.probe.last_ok.clear();
    while tokio::time::Instant::now() < deadline
        && (lp.dash.state.status.health.down
            || lp.probe.last_ok.len() < RECORDS
            || lp.probe.last_ok.values().any(|ok| !ok))
    {
        lp.run_for(Duration::from_millis(200)).await;
    }
    // Let the store thread write the last batch (it flushes at least every 0.5 s).
    lp.run_for(Duration::from_millis(800)).await;
    Outcome {
        state: lp.dash.state,
        polls_during_fault,
        max_in_flight_after_first,
        first_wave_done,
        fault_screen,
        narrow_screen,
        later_screen,
        fault_state,
        store_path,
        faulty_url: url.to_string(),
        _dir: dir,
    }
}

/// Checks one registry-wide fault end to end.
fn assert_registry_wide(name: &str, o: &mut Outcome, says: &str) {
    let s = &o.fault_state;
    let ctx = format!("{name}: screen\n{}", o.fault_screen);
    // The header: down, the error, a retry time.
    assert!(s.status.health.down, "{ctx}");
    let err = s.status.health.last_error.clone().unwrap_or_default();
    assert!(err.contains(says), "{ctx}\nlast_error {err:?}");
    let retry = s
        .status
        .health
        .retry_at
        .unwrap_or_else(|| panic!("no retry time: {ctx}"));
    assert!(retry > s.now - 5_000, "{ctx}");
    let header: Vec<&str> = o.fault_screen.lines().collect();
    assert!(header[1].starts_with("● DOWN "), "{ctx}");
    assert!(
        header[1].contains(says),
        "the header line must say what failed ({says:?}): {ctx}"
    );
    assert!(header[1].contains("retry in "), "{ctx}");
    // In a narrow terminal the error is shortened, but DOWN and the countdown stay on screen.
    let narrow = o.narrow_screen.lines().nth(1).unwrap();
    assert!(
        narrow.starts_with("● DOWN ") && narrow.contains(" · retry in "),
        "{name}:\n{}",
        o.narrow_screen
    );
    // Once: in the header, not on the rows.
    assert_eq!(o.fault_screen.matches(says).count(), 1, "{ctx}");
    assert!(
        header[2].contains(&format!("processing {RECORDS}")),
        "rows keep their state: {ctx}"
    );
    for r in &s.table.rows {
        assert_eq!(r.state, Some(RecordState::Processing), "{ctx}");
        assert!(r.error.is_none(), "an outage went onto a row: {ctx}");
        assert_eq!(
            r.response(),
            Some(processing_json(&r.tracked.record_id)),
            "{ctx}"
        );
    }
    // Backoff: a naive loop would make RECORDS × WINDOW/INTERVAL = 900 requests.
    assert!(
        o.polls_during_fault <= CONCURRENCY + 20,
        "{name}: {} polls in {WINDOW:?}",
        o.polls_during_fault
    );
    // After the first wave, an outage is probed one request at a time.
    assert!(o.first_wave_done, "{name}: the first wave never came back");
    assert!(
        o.max_in_flight_after_first <= 1,
        "{name}: {} in flight after the first wave",
        o.max_in_flight_after_first
    );
    // The screen is alive: the ages on the rows (the lines below the column titles) changed
    // between two draws two seconds apart, while their state stayed.
    let age_part = |screen: &str| -> Vec<String> {
        screen
            .lines()
            .skip_while(|l| !l.contains("STATE"))
            .skip(1)
            .filter(|l| l.contains("processing"))
            .map(|l| l.to_string())
            .collect()
    };
    assert!(!age_part(&o.fault_screen).is_empty(), "{ctx}");
    assert_ne!(
        age_part(&o.fault_screen),
        age_part(&o.later_screen),
        "{name}: nothing moved between two screens:\n{}\n{}",
        o.fault_screen,
        o.later_screen
    );
    assert_recovered(name, o);
    assert_store_intact(name, o, Some(says));
}

fn assert_recovered(name: &str, o: &mut Outcome) {
    let screen = draw(&mut o.state, 120, 12);
    let s = &o.state;
    assert!(
        !s.status.health.down,
        "{name}: still down after recovery:\n{screen}"
    );
    assert!(s.status.health.last_ok.is_some(), "{name}:\n{screen}");
    assert!(
        screen.lines().nth(1).unwrap().starts_with("● up"),
        "{screen}"
    );
    for r in &s.table.rows {
        assert_eq!(r.state, Some(RecordState::Processing), "{name}");
        assert!(r.error.is_none(), "{name}: {:?}", r.error);
    }
}

/// The store still holds every record with its state and response, for both registries; on the
/// faulty one, a record whose last poll failed gained that error (and nothing else); on the
/// healthy one, recovery polled every record again, so none has an error.
fn assert_store_intact(name: &str, o: &Outcome, says: Option<&str>) {
    let faulty = Store::open(&o.store_path, &o.faulty_url)
        .unwrap()
        .list()
        .unwrap();
    assert_eq!(faulty.len(), RECORDS, "{name}: records lost");
    for t in &faulty {
        assert_eq!(t.state.as_deref(), Some("processing"), "{name}: {t:?}");
        assert_eq!(
            t.response.as_ref().and_then(|r| r.value()),
            Some(processing_json(&t.record_id)),
            "{name}"
        );
        if let (Some(e), Some(says)) = (&t.error, says) {
            assert!(e.contains(says), "{name}: {e}");
        }
    }
    // Recovery polled every record again, which clears their errors. The store thread writes
    // after the screen shows it: give it a moment (bounded) to catch up.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let list = Store::open(&o.store_path, &o.state.cfg.registry)
            .unwrap()
            .list()
            .unwrap();
        assert_ne!(o.state.cfg.registry, o.faulty_url);
        assert_eq!(list.len(), RECORDS, "{name}: records lost");
        let mut errors = 0;
        for t in &list {
            assert_eq!(t.state.as_deref(), Some("processing"), "{name}: {t:?}");
            assert_eq!(
                t.response.as_ref().and_then(|r| r.value()),
                Some(processing_json(&t.record_id)),
                "{name}"
            );
            if let Some(e) = &t.error {
                errors += 1;
                if let Some(says) = says {
                    assert!(e.contains(says), "{name}: {e}");
                }
            }
        }
        if errors == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name}: {errors} errors left after recovery"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registry_wide_fault_shows_once_in_the_header_backs_off_and_recovers() {
    let healthy = FaultServer::start(Fault::Healthy);
    let faults: Vec<(&str, Option<Fault>, &str)> = vec![
        ("refused", None, "Connection refused"),
        ("silent", Some(Fault::Silent), "did not answer within 1s"),
        (
            "close without answer",
            Some(Fault::CloseWithoutAnswer),
            "connection closed before message completed",
        ),
        (
            "answer after 30 s",
            Some(Fault::Delay(Duration::from_secs(30))),
            "did not answer within 1s",
        ),
        (
            "drip body",
            Some(Fault::DripBody),
            "did not answer within 1s",
        ),
        (
            "drip headers",
            Some(Fault::DripHeaders),
            "did not answer within 1s",
        ),
        (
            "reset mid-body",
            Some(Fault::ResetMidBody),
            "Connection reset by peer",
        ),
        ("html 500", Some(Fault::Html(500)), "HTTP 500"),
        ("html 502", Some(Fault::Html(502)), "HTTP 502"),
        ("html 503", Some(Fault::Html(503)), "HTTP 503"),
        ("garbage", Some(Fault::Garbage), "is not JSON"),
        (
            "wrong shape",
            Some(Fault::WrongShape),
            "has the wrong shape",
        ),
        (
            "truncated",
            Some(Fault::Truncated),
            "cut off after 40 bytes",
        ),
        (
            "100 MB declared",
            Some(Fault::Huge { declared: true }),
            "size limit",
        ),
        (
            "100 MB undeclared",
            Some(Fault::Huge { declared: false }),
            "size limit",
        ),
        ("redirect loop", Some(Fault::RedirectLoop), "redirect loop"),
    ];
    let mut runs = Vec::new();
    for (name, fault, says) in faults {
        let server = fault.map(FaultServer::start);
        let url = server
            .as_ref()
            .map(|s| s.url.clone())
            .unwrap_or_else(common::refused_url);
        let healthy = healthy.url.clone();
        runs.push((
            name,
            says,
            server,
            tokio::spawn(async move { run_fault(&url, &healthy).await }),
        ));
    }
    for (name, says, server, run) in runs {
        let mut o = run.await.unwrap();
        assert_registry_wide(name, &mut o, says);
        if let Some(server) = server {
            // Each poll is one request (a redirect loop follows 5 redirects per poll).
            let per_poll = if name == "redirect loop" { 6 } else { 1 };
            let requests = server.stats.requests.load(Ordering::SeqCst);
            assert!(
                requests <= (CONCURRENCY + 20) * per_poll,
                "{name}: the registry got {requests} requests in {WINDOW:?}"
            );
            assert!(requests >= 1, "{name}: never asked");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_specific_fault_stays_on_its_rows_and_the_header_stays_up() {
    let other = format!("sha256:{}", "ef".repeat(32));
    let server = FaultServer::start(Fault::OtherRecord(other.clone()));
    let healthy = FaultServer::start(Fault::Healthy);
    let mut o = run_fault(&server.url, &healthy.url).await;
    let s = &o.fault_state;
    let ctx = format!("screen:\n{}", o.fault_screen);
    assert!(!s.status.health.down, "{ctx}");
    assert!(s.status.health.retry_at.is_none(), "{ctx}");
    assert!(!o.fault_screen.contains("DOWN"), "{ctx}");
    assert!(!o.fault_screen.contains("answered about"), "{ctx}");
    for r in &s.table.rows {
        assert_eq!(r.state, Some(RecordState::Processing), "{ctx}");
        let e = r.error.clone().unwrap_or_default();
        assert!(e.contains(&format!("answered about {other}")), "{e}");
    }
    // The detail pane shows the row's last error in full.
    let mut detail = o.fault_state.clone();
    update(
        &mut detail,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let screen = draw(&mut detail, 200, 40);
    assert!(screen.contains("last error"), "{screen}");
    assert!(
        screen.contains("is misbehaving: asked for record"),
        "{screen}"
    );
    // A record-specific error is retried per record with backoff: without it, 30 records
    // every 100 ms would be 900 polls in 3 s.
    assert!(
        o.polls_during_fault <= RECORDS * 8,
        "{} polls of {RECORDS} failing records in {WINDOW:?}",
        o.polls_during_fault
    );
    assert_recovered("other record", &mut o);
    assert_store_intact("other record", &o, None);
}

/// The real binary in a terminal against a registry that accepts and never answers: it keeps
/// drawing (the clock and the DOWN header), the rows keep their state, and `q` quits cleanly.
#[test]
fn the_binary_keeps_drawing_against_a_stalled_registry_and_quits_cleanly() {
    let bad = FaultServer::start(Fault::Silent);
    let wd = common::Wd::new(Some(&bad.url));
    let recs: Vec<String> = (0..5)
        .map(|i| format!("sha256:{}", format!("{i}c").repeat(32)))
        .collect();
    for r in &recs {
        wd.ok(&["track", "add", "--package", "demo:stall", r], 0);
    }
    // Known state first, as an earlier poll recorded it (the tracked set is this registry's).
    {
        let mut store =
            Store::open(&wd.home.path().join("data").join("wargdash.db"), &bad.url).unwrap();
        let polls: Vec<PollOutcome> = store
            .list()
            .unwrap()
            .iter()
            .map(|t| PollOutcome {
                log_id: t.log_id,
                record_id: t.record_id,
                at: now_ms() - 60_000,
                result: Ok(PolledState {
                    state: "processing".into(),
                    detail: String::new(),
                    response: processing_json(&t.record_id),
                    missing: None,
                }),
            })
            .collect();
        assert_eq!(polls.len(), 5);
        store.record_polls(&polls).unwrap();
    }
    let t = tmux::Tmux::start(&wd, "--interval 0.2 --request-timeout 1", "");
    let down = t.wait_for("● DOWN", 15);
    let lines: Vec<&str> = down.lines().collect();
    assert!(lines[1].contains("did not answer within 1s"), "{down}");
    assert_eq!(down.matches("did not answer").count(), 1, "{down}");
    assert!(lines[2].contains("processing 5"), "{down}");
    // Still drawing: the retry countdown and ages change while the registry stalls.
    std::thread::sleep(Duration::from_millis(2500));
    let later = t.screen();
    assert!(later.contains("● DOWN"), "{later}");
    assert!(later.contains("processing 5"), "{later}");
    // Still answering keys: the help overlay opens and closes.
    t.keys(&["?"]);
    t.wait_for("Keys (Esc closes", 5);
    t.keys(&["Escape"]);
    t.keys(&["q"]);
    t.assert_exited_cleanly(0);
    // Bounded: 5 records over ~4 s at a 0.2 s interval would be ~100 requests without backoff.
    let requests = bad.stats.requests.load(Ordering::SeqCst);
    assert!(requests <= 20, "{requests} requests to a stalled registry");
    let list = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert_eq!(list.lines().count(), 5, "{list}");
    for l in list.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["state"], "processing", "{v}");
    }
}
