//! The real dashboard runtime (`ui::runtime::Dashboard`: scheduler, store thread, verifier when
//! asked) drawn into a ratatui `TestBackend`, for tests that drive it against a real registry.
//!
//! Needs `mod common;` and `mod screen;` (tests/common/screen.rs) at the test crate's root.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;
use std::time::Duration;
use wargdash::keys::KeyStore;
use wargdash::tracker::store::Store;
use wargdash::trust::worker::VerifierConfig;
use wargdash::ui::app::Action;
use wargdash::ui::runtime::{Dashboard, DashboardBuilder};

/// How long one turn of the runtime's loop runs before a test looks at the screen.
const STEP: Duration = Duration::from_millis(150);

/// A hook that sees each action before the reducer.
type Observer = Box<dyn FnMut(&Action)>;

pub struct DashRun {
    pub dash: Dashboard,
    pub term: ratatui::Terminal<ratatui::backend::TestBackend>,
    w: u16,
    h: u16,
    /// Sees every action the loop feeds the reducer ([`DashRun::observe`]).
    observe: Option<Observer>,
}

/// The store file of a wargdash home (as `Wd` lays it out).
pub fn store_path(home: &Path) -> std::path::PathBuf {
    home.join("data").join("wargdash.db")
}

/// A verifier on the store of `home`, cycling every 400 ms with default options.
pub fn verifier(home: &Path, on_alert: Option<String>) -> VerifierConfig {
    VerifierConfig {
        store: store_path(home),
        options: std::sync::Arc::new(|_| Default::default()),
        on_alert,
        period: Duration::from_millis(400),
    }
}

/// The dashboard these tests start: the wargdash home `home` on the registry `url`, polling
/// every 300 ms, no colour, no verifier — options a test may change before it starts.
pub fn builder(url: &str, home: &Path) -> DashboardBuilder {
    let store = Store::open(&store_path(home), url).expect("store");
    Dashboard::builder(url, store, KeyStore::new(home.join("data").join("keys")))
        .interval(Duration::from_millis(300))
}

impl DashRun {
    /// The dashboard of the wargdash home `home` on the registry `url`, drawn `w`×`h`, polling
    /// every 300 ms, with `verifier` if given.
    pub fn start(url: &str, home: &Path, w: u16, h: u16, verifier: Option<VerifierConfig>) -> Self {
        Self::start_with(url, home, w, h, |b| b.verifier(verifier))
    }

    /// As [`DashRun::start`], with the options `options` sets on [`builder`]'s defaults.
    pub fn start_with(
        url: &str,
        home: &Path,
        w: u16,
        h: u16,
        options: impl FnOnce(DashboardBuilder) -> DashboardBuilder,
    ) -> Self {
        let dash = options(builder(url, home)).start().expect("dashboard");
        Self {
            dash,
            term: ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h))
                .expect("terminal"),
            w,
            h,
            observe: None,
        }
    }

    /// `f` sees every action the loop feeds the reducer from now on.
    pub fn observe(&mut self, f: impl FnMut(&Action) + 'static) {
        self.observe = Some(Box::new(f));
    }

    /// One turn of the runtime's loop.
    pub async fn step(&mut self) {
        let until = tokio::time::Instant::now() + STEP;
        let observe = &mut self.observe;
        self.dash
            .run_loop(
                &mut self.term,
                futures::stream::pending(),
                Some(until),
                |a| {
                    if let Some(f) = observe.as_mut() {
                        f(a)
                    }
                },
            )
            .await
            .expect("loop");
    }

    /// The screen as text.
    pub fn screen(&mut self) -> String {
        crate::screen::text(&crate::screen::render(&mut self.dash.state, self.w, self.h))
    }

    /// Runs the loop until `done` holds (bounded).
    pub async fn until_true(&mut self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done() {
            self.step().await;
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
        }
    }

    /// Runs the loop until the screen contains `text` (bounded).
    pub async fn until(&mut self, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            self.step().await;
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {text:?}:\n{screen}"
            );
        }
    }

    pub fn key(&mut self, code: KeyCode) {
        self.dash
            .apply(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    pub fn ctrl(&mut self, c: char) {
        self.dash.apply(Action::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )));
    }

    pub fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }
}
