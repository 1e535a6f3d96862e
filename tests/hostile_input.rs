//! Hostile input, as property tests: every registry response body type, key file text, config
//! files, and key presses into the dashboard (its prompts and the publish form). Nothing
//! panics; every bad input gets an error that says what is wrong (and, for keys, never echoes
//! the secret). ID parsing is covered against the reference crates in `protocol_oracle.rs`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;
use wargdash::config::Config;
use wargdash::ids::{LogId, RecordId, Sha256Hash};
use wargdash::keys::{Algorithm, KeyInfo, SigningKey};
use wargdash::record::Envelope;
use wargdash::registry::model::*;
use wargdash::registry::ApiError;
use wargdash::tracker::store::{NewTracked, Origin, Tracked};
use wargdash::ui::app::{update, Action, AppConfig, Mode, State};
use wargdash::ui::form::Field;
use wargdash::ui::view;

const NOW: i64 = 1_795_900_000_000;

// ---------------------------------------------------------------------------------------------
// Response bodies

/// Field names the registry's bodies use, so generated objects often come close to valid ones.
const FIELDS: &[&str] = &[
    "recordId",
    "state",
    "missingContent",
    "upload",
    "type",
    "method",
    "url",
    "headers",
    "reason",
    "registryIndex",
    "contents",
    "logRoot",
    "logLength",
    "mapRoot",
    "timestamp",
    "keyId",
    "signature",
    "more",
    "packages",
    "contentBytes",
    "fetchToken",
    "status",
    "message",
    "id",
];

fn valid_hash() -> impl Strategy<Value = String> {
    proptest::array::uniform32(any::<u8>()).prop_map(|b| format!("sha256:{}", hex::encode(b)))
}

fn interesting_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "sourcing", "processing", "published", "rejected", "http", "POST", "", "sha256:",
            "sha256:zz", "AAAA", "\u{1b}[2J\u{1b}[31m", "\u{0}", "\r\n",
        ])
        .prop_map(str::to_string),
        3 => valid_hash(),
        3 => hostile_text(),
        4 => any::<String>(),
    ]
}

/// Characters a registry could use to drive or fool a terminal: ESC, BEL, the C1 controls
/// (U+0080–U+009F, U+009B is a one-byte CSI) and the BiDi overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069). Ratatui drops the control characters by itself but draws
/// the BiDi ones as they are; only `wargdash::text::clean` turns all of them into visible
/// escapes.
fn unsafe_char() -> impl Strategy<Value = char> {
    prop_oneof![
        Just('\u{1b}'),
        Just('\u{7}'),
        (0x80u32..=0x9f).prop_map(|c| char::from_u32(c).unwrap()),
        (0x202au32..=0x202e).prop_map(|c| char::from_u32(c).unwrap()),
        (0x2066u32..=0x2069).prop_map(|c| char::from_u32(c).unwrap()),
    ]
}

/// Short registry text of ASCII words, escape-sequence fragments and unsafe characters, at
/// least one of them unsafe. Cleaned, it is ASCII and at most ~70 columns, so it fits on one
/// line of every pane it is drawn in and can be looked for verbatim.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        2 => "[a-z]{1,5}",
        1 => prop::sample::select(vec!["]52;c;aGk=", "[2J", "[31m", " ", "gnp.exe"]).prop_map(str::to_string),
        3 => unsafe_char().prop_map(String::from),
    ];
    (unsafe_char(), prop::collection::vec(piece, 0..7)).prop_map(|(c, mut pieces)| {
        pieces.insert(pieces.len() / 2, c.to_string());
        format!("x{}", pieces.concat())
    })
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        interesting_string().prop_map(Value::String),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            4 => prop::sample::select(FIELDS.to_vec()).prop_map(str::to_string),
            1 => valid_hash(),
            1 => any::<String>(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A record body with a valid ID and a real state name, and arbitrary other fields.
fn record_like() -> impl Strategy<Value = Value> {
    (
        valid_hash(),
        prop::sample::select(vec!["sourcing", "processing", "published", "rejected"]),
        prop::collection::btree_map(
            prop::sample::select(FIELDS.to_vec()).prop_map(str::to_string),
            arb_json(),
            0..4,
        ),
    )
        .prop_map(|(id, state, extra)| {
            let mut m: serde_json::Map<String, Value> = extra.into_iter().collect();
            m.insert("recordId".into(), Value::String(id));
            m.insert("state".into(), Value::String(state.into()));
            Value::Object(m)
        })
}

/// Parses `bytes` as every response body type. Only `Ok` or `Err` may come out.
fn parse_every_type(bytes: &[u8]) -> Option<PackageRecord> {
    let _ = serde_json::from_slice::<RecordState>(bytes);
    let _ = serde_json::from_slice::<MissingContent>(bytes);
    let _ = serde_json::from_slice::<UploadEndpoint>(bytes);
    let _ = serde_json::from_slice::<SignedCheckpoint>(bytes);
    let _ = serde_json::from_slice::<CheckpointContents>(bytes);
    let _ = serde_json::from_slice::<PublishedEnvelope>(bytes);
    let _ = serde_json::from_slice::<FetchLogsResponse>(bytes);
    let _ = serde_json::from_slice::<FetchNamesResponse>(bytes);
    let _ = serde_json::from_slice::<ErrorBody>(bytes);
    let _ = serde_json::from_slice::<Envelope>(bytes);
    let _ = wargdash::registry::error::excerpt(bytes, 200);
    serde_json::from_slice::<PackageRecord>(bytes).ok()
}

fn cfg() -> AppConfig {
    AppConfig {
        registry: "http://127.0.0.1:8090".into(),
        sandbox: false,
        readonly: false,
        interval: Duration::from_secs(2),
        color: true,
    }
}

fn ids(n: u8) -> (LogId, RecordId) {
    (
        LogId(Sha256Hash([n; 32])),
        RecordId(Sha256Hash([n ^ 0x5a; 32])),
    )
}

fn tracked(n: u8) -> Tracked {
    let (log_id, record_id) = ids(n);
    Tracked {
        log_id,
        record_id,
        package: Some(format!("demo:p{n}")),
        origin: Origin::Tracked,
        entries: None,
        added_at: NOW - 60_000 + n as i64,
        state: None,
        response: None,
        missing: None,
        polled_at: None,
        error: None,
    }
}

fn render(s: &mut State, w: u16, h: u16) -> String {
    s.table.page = view::page_size(h);
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::draw(s, f)).unwrap();
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Whatever the registry sends, no character that `wargdash::text::is_unsafe` flags (C0, DEL,
/// C1, BiDi controls) is in any cell. Ratatui drops control characters by itself, so for them
/// this alone does not show the sanitiser ran; [`assert_shows_cleaned`] does.
fn assert_no_unsafe_chars(screen: &str) {
    for c in screen.chars() {
        assert!(
            c == '\n' || !wargdash::text::is_unsafe(c),
            "unsafe character {c:?} drawn:\n{screen}"
        );
    }
}

/// `text` is on screen as `wargdash::text::clean` escapes it (`\x1b`, `\u{202e}`, …), not
/// with its control characters silently dropped by ratatui.
fn assert_shows_cleaned(screen: &str, text: &str) {
    let cleaned = wargdash::text::clean(text);
    assert!(
        text.chars().any(wargdash::text::is_unsafe),
        "{text:?} has nothing to clean"
    );
    assert!(
        screen.contains(cleaned.as_ref()),
        "{cleaned:?} (registry text {text:?}, escaped) not on screen:\n{screen}"
    );
    assert_no_unsafe_chars(screen);
}

/// Whether `text` can be looked for verbatim once cleaned: there is something to clean, and
/// the result is short ASCII (one cell per char, fits on one line of the detail pane).
fn checkable(text: &str) -> bool {
    let cleaned = wargdash::text::clean(text);
    text.chars().any(wargdash::text::is_unsafe)
        && cleaned.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        && cleaned.len() <= 80
}

/// A parsed record goes through the reducer (as a poll result) and the view: the row, the
/// detail pane, the header.
fn show_record(rec: PackageRecord, raw: Value) {
    use wargdash::registry::RecordState;
    let reason = match &rec.state {
        RecordState::Rejected { reason } => Some(reason.clone()),
        _ => None,
    };
    let mut s = State::new(cfg(), NOW);
    let mut t = tracked(1);
    t.record_id = rec.record_id;
    update(&mut s, Action::StoreLoaded(vec![t.clone()]));
    update(
        &mut s,
        Action::Polled {
            key: wargdash::ids::RecordRef::new(t.log_id, t.record_id),
            result: Ok((rec, raw)),
            at: NOW,
            latency: Duration::from_millis(1),
            hold: None,
        },
    );
    assert_no_unsafe_chars(&render(&mut s, 120, 20));
    update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert_eq!(s.mode, Mode::Detail);
    let detail = render(&mut s, 100, 40);
    assert_no_unsafe_chars(&detail);
    // A rejection reason with something to escape is shown escaped in the detail pane.
    if let Some(reason) = reason.filter(|r| checkable(r)) {
        assert_shows_cleaned(&detail, &reason);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_parse_as_no_body_type_without_an_error(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Some(rec) = parse_every_type(&bytes) {
            let raw = serde_json::from_slice(&bytes).unwrap();
            show_record(rec, raw);
        }
    }

    #[test]
    fn arbitrary_json_values_never_panic_any_body_type(v in arb_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Some(rec) = parse_every_type(&bytes) {
            show_record(rec, v);
        }
    }

    #[test]
    fn record_shaped_bodies_parse_or_fail_cleanly_and_draw_safely(v in record_like()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Some(rec) = parse_every_type(&bytes) {
            let _ = (rec.state.name(), rec.state.detail(), rec.state.is_terminal());
            show_record(rec, v);
        }
    }

    #[test]
    fn registry_errors_with_hostile_text_draw_safely_in_the_header(text in interesting_string()) {
        let mut s = State::new(cfg(), NOW);
        update(&mut s, Action::StoreLoaded(vec![tracked(1)]));
        update(&mut s, Action::Polled {
            key: { let (l, r) = ids(1); wargdash::ids::RecordRef::new(l, r) },
            result: Err(ApiError::Status { status: 502, excerpt: text.clone() }),
            at: NOW,
            latency: Duration::ZERO,
            hold: Some(Duration::from_secs(3)),
        });
        assert!(s.status.health.down);
        // `HTTP 502: "<excerpt, Debug-escaped>"`: Rust's Debug escapes it before `clean`.
        assert_no_unsafe_chars(&render(&mut s, 120, 10));
    }

    #[test]
    fn hostile_rejection_reasons_are_shown_escaped_in_the_detail_pane(reason in hostile_text()) {
        let (_, rec) = ids(1);
        let raw = serde_json::json!({ "recordId": rec.to_string(), "state": "rejected", "reason": reason });
        let parsed: PackageRecord = serde_json::from_value(raw.clone()).unwrap();
        prop_assert!(checkable(&reason), "{:?}", reason);
        show_record(parsed, raw);
    }

    /// A registry-wide failure (here a broken connection) is shown once, in the header.
    #[test]
    fn hostile_error_text_is_shown_escaped_in_the_header(text in hostile_text()) {
        let mut s = State::new(cfg(), NOW);
        update(&mut s, Action::StoreLoaded(vec![tracked(1)]));
        let err = ApiError::Network { url: "http://127.0.0.1:8090/v1/x".into(), cause: text.clone() };
        let headline = err.headline();
        update(&mut s, Action::Polled {
            key: { let (l, r) = ids(1); wargdash::ids::RecordRef::new(l, r) },
            result: Err(err),
            at: NOW,
            latency: Duration::ZERO,
            hold: Some(Duration::from_secs(3)),
        });
        prop_assert!(s.status.health.down);
        assert_shows_cleaned(&render(&mut s, 120, 10), &headline);
    }

    /// An error for one record (the registry's message for a 400) is shown on its row.
    #[test]
    fn hostile_error_messages_are_shown_escaped_on_the_row(text in hostile_text()) {
        let mut s = State::new(cfg(), NOW);
        update(&mut s, Action::StoreLoaded(vec![tracked(1)]));
        let err = ApiError::Invalid { status: 400, message: text.clone() };
        let shown = err.to_string();
        update(&mut s, Action::Polled {
            key: { let (l, r) = ids(1); wargdash::ids::RecordRef::new(l, r) },
            result: Err(err),
            at: NOW,
            latency: Duration::ZERO,
            hold: None,
        });
        prop_assert!(!s.status.health.down);
        assert_shows_cleaned(&render(&mut s, 300, 10), &shown);
    }
}

// ---------------------------------------------------------------------------------------------
// Key files

/// The longest run of `text` (in chars) that appears in `msg`, ignoring runs made only of the
/// algorithm names and punctuation wargdash prints itself.
fn echoes(msg: &str, text: &str, min: usize) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < min {
        return None;
    }
    (0..=chars.len() - min)
        .map(|i| chars[i..i + min].iter().collect::<String>())
        .find(|w| msg.contains(w.as_str()))
}

fn b64ish() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/=]{0,80}"
}

fn key_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        (
            prop::sample::select(vec!["ecdsa-p256", "ed25519", "rsa", "ECDSA-P256", ""]),
            b64ish()
        )
            .prop_map(|(a, b)| format!("{a}:{b}")),
        // Well-formed base64 of the wrong length or out of range.
        (
            prop::sample::select(vec!["ecdsa-p256", "ed25519"]),
            prop::collection::vec(any::<u8>(), 0..70)
        )
            .prop_map(|(a, b)| {
                use base64::Engine;
                format!(
                    "{a}:{}",
                    base64::engine::general_purpose::STANDARD.encode(b)
                )
            }),
        // A pasted secret with no or a bogus algorithm prefix.
        b64ish(),
        b64ish().prop_map(|b| format!("{b}:{b}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn key_text_never_panics_and_errors_never_echo_it(text in key_text()) {
        match SigningKey::decode(&text) {
            Ok(k) => {
                // Whatever decodes re-encodes to a key that decodes to the same public key.
                let again = SigningKey::decode(&k.encode_private()).unwrap();
                prop_assert_eq!(k.public_key(), again.public_key());
            }
            Err(e) => {
                let msg = format!("{e:#} {e:?}");
                prop_assert!(!msg.is_empty());
                if let Some(w) = echoes(&msg, text.trim(), 12) {
                    prop_assert!(false, "the error echoes {:?} of the key text: {}", w, msg);
                }
            }
        }
    }

    #[test]
    fn key_files_with_arbitrary_bytes_are_refused_by_path(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        std::fs::write(&path, &bytes).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        if let Err(e) = wargdash::keys::load_key_file(&path) {
            let msg = format!("{e:#}");
            prop_assert!(msg.contains(path.to_str().unwrap()), "{}", msg);
            let text = String::from_utf8_lossy(&bytes);
            if let Some(w) = echoes(&msg, text.trim(), 12) {
                prop_assert!(false, "the error echoes {:?} of the key file: {}", w, msg);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Config files

fn config_json() -> impl Strategy<Value = Value> {
    let field = prop::sample::select(vec![
        "registry",
        "interval",
        "concurrency",
        "key",
        "caFile",
        "tokenFile",
        "unknown",
    ]);
    prop::collection::btree_map(field.prop_map(str::to_string), json_leaf(), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn check_config(bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, bytes).unwrap();
    match Config::load(&path) {
        Ok(_) => {}
        Err(e) => {
            let msg = format!("{e:#}");
            prop_assert!(msg.contains(path.to_str().unwrap()), "{}", msg);
            prop_assert!(
                msg.contains("fix or remove it") || msg.contains("reading config file"),
                "{}",
                msg
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn config_files_of_arbitrary_bytes_load_or_name_the_file(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_config(&bytes)?;
    }

    #[test]
    fn config_objects_of_arbitrary_fields_load_or_name_the_file(v in config_json()) {
        check_config(&serde_json::to_vec(&v).unwrap())?;
    }
}

#[test]
fn a_broken_config_file_stops_the_binary_with_its_path() {
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("config/config.json");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, b"{\"registry\": 42, ").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wargdash"))
        .args(["track", "list"])
        .env("WARGDASH_HOME", home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(wargdash::exit::ERROR), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "config file {} is not valid (fix or remove it)",
            cfg.display()
        )),
        "{stderr}"
    );
    // Not even UTF-8: the same, naming the file.
    std::fs::write(&cfg, b"\x00\xff\xfe").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wargdash"))
        .args(["track", "list"])
        .env("WARGDASH_HOME", home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(wargdash::exit::ERROR), "{stderr}");
    assert!(
        stderr.contains(&format!("reading config file {}", cfg.display())),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Key presses

fn keyinfo() -> KeyInfo {
    static K: OnceLock<KeyInfo> = OnceLock::new();
    K.get_or_init(|| {
        KeyInfo::of(
            "default",
            &SigningKey::generate(Algorithm::EcdsaP256).unwrap(),
        )
    })
    .clone()
}

fn arb_key() -> impl Strategy<Value = KeyEvent> {
    let code = prop_oneof![
        6 => prop::sample::select("pqadfrRsSyYjkgG/:?!bnx \t".chars().collect::<Vec<_>>()).prop_map(KeyCode::Char),
        3 => any::<char>().prop_map(KeyCode::Char),
        4 => prop::sample::select(vec![
            KeyCode::Enter, KeyCode::Esc, KeyCode::Tab, KeyCode::BackTab, KeyCode::Backspace,
            KeyCode::Up, KeyCode::Down, KeyCode::Left, KeyCode::Right, KeyCode::PageUp,
            KeyCode::PageDown, KeyCode::Home, KeyCode::End, KeyCode::Delete, KeyCode::F(5),
        ]),
    ];
    let mods = prop::sample::select(vec![
        KeyModifiers::NONE,
        KeyModifiers::NONE,
        KeyModifiers::NONE,
        KeyModifiers::SHIFT,
        KeyModifiers::ALT,
        // Ctrl-C quits; the other Ctrl keys act in the form.
        KeyModifiers::CONTROL,
    ]);
    (code, mods).prop_map(|(c, m)| KeyEvent::new(c, m))
}

fn busy_state() -> State {
    let mut s = State::new(cfg(), NOW);
    update(&mut s, Action::StoreLoaded((1..=6).map(tracked).collect()));
    update(&mut s, Action::KeysLoaded(vec![keyinfo()]));
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_key_sequences_never_panic_the_reducer_or_the_view(
        keys in prop::collection::vec(arb_key(), 0..60),
        w in 1u16..200,
        h in 1u16..60,
    ) {
        let mut s = busy_state();
        for (i, k) in keys.into_iter().enumerate() {
            let _ = update(&mut s, Action::Key(k));
            if s.quit {
                break;
            }
            if i % 3 == 0 {
                let _ = update(&mut s, Action::Tick(NOW + i as i64 * 1000));
            }
            render(&mut s, w, h);
        }
        render(&mut s, w, h);
        render(&mut s, 80, 24);
    }
}

fn type_text(s: &mut State, text: &str) {
    for c in text.chars() {
        update(
            s,
            Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
}

fn press(s: &mut State, code: KeyCode) {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn bad_track_input() -> impl Strategy<Value = String> {
    let rec = valid_hash;
    prop_oneof![
        // A log ID of the wrong length, uppercase or non-hex.
        ("sha256:[0-9a-f]{0,63}", rec()).prop_map(|(l, r)| format!("{l} {r}")),
        ("sha256:[0-9A-F]{64}", rec()).prop_map(|(l, r)| format!("{l} {r}")),
        ("sha256:[0-9a-z]{64}", rec()).prop_map(|(l, r)| format!("{l} {r}")),
        // A record ID that is not one.
        (valid_hash(), "[a-z0-9:]{1,70}").prop_map(|(l, r)| format!("{l} {r}")),
        // A package name that is not one.
        ("[A-Za-z0-9_.!-]{1,20}(:[A-Za-z0-9_.!-]{0,20})?", rec())
            .prop_map(|(p, r)| format!("{p} {r}")),
        // The wrong number of words.
        "[ -~]{0,60}",
    ]
    .prop_filter("must be invalid", |t| NewTracked::parse_line(t).is_err())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_bad_id_in_the_track_prompt_keeps_its_text_with_an_inline_error(text in bad_track_input()) {
        let expected = NewTracked::parse_line(&text).unwrap_err();
        let mut s = busy_state();
        press(&mut s, KeyCode::Char('a'));
        prop_assert_eq!(&s.mode, &Mode::Track);
        type_text(&mut s, &text);
        press(&mut s, KeyCode::Enter);
        prop_assert_eq!(&s.mode, &Mode::Track, "the prompt stays open");
        prop_assert_eq!(&s.prompt.input, &text, "the text is kept");
        prop_assert_eq!(s.prompt.error.as_deref(), Some(expected.as_str()));
        prop_assert_eq!(s.table.rows.len(), 6, "nothing was tracked");
        let screen = render(&mut s, 400, 12);
        let footer = screen.lines().last().unwrap().to_string();
        prop_assert!(footer.contains(&format!("✗ {expected}")), "{}", footer);
        prop_assert!(footer.contains(text.as_str()), "{}", footer);
        // Fixing it is one edit away: the text is still there to correct.
        press(&mut s, KeyCode::Backspace);
        prop_assert!(s.prompt.error.is_none(), "editing clears the error");

        // The same through the command line.
        let mut s = busy_state();
        press(&mut s, KeyCode::Char(':'));
        type_text(&mut s, &format!("track {text}"));
        press(&mut s, KeyCode::Enter);
        prop_assert_eq!(&s.mode, &Mode::Command);
        prop_assert_eq!(s.prompt.input.clone(), format!("track {text}"));
        prop_assert!(s.prompt.error.is_some());
    }

    #[test]
    fn a_bad_package_name_in_the_form_keeps_its_text_with_an_inline_error(
        name in "[A-Za-z0-9_.!: -]{1,30}".prop_filter("invalid", |n| n.parse::<wargdash::ids::PackageName>().is_err())
    ) {
        let mut s = busy_state();
        press(&mut s, KeyCode::Char('p'));
        prop_assert_eq!(&s.mode, &Mode::Form);
        type_text(&mut s, &name);
        prop_assert_eq!(&s.form.package, &name);
        let err = s.form.check(Field::Package, &s.form.keys).unwrap_err();
        let screen = render(&mut s, 400, 40);
        prop_assert!(screen.contains(&format!("✗ {err}")), "{}", screen);
        // Ctrl-S refuses to build the record, focuses the field and keeps the text.
        update(&mut s, Action::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
        prop_assert_eq!(&s.mode, &Mode::Form);
        prop_assert_eq!(&s.form.package, &name);
        prop_assert_eq!(s.form.focused(), Field::Package);
        prop_assert!(s.form.error.as_deref().is_some_and(|e| e.starts_with("Package: ")));
    }
}

#[test]
fn escape_sequences_in_a_rejection_reason_never_reach_the_terminal() {
    let (_, rec) = ids(1);
    let reason = "bad\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2J record\r\nreally\u{0}";
    let raw = serde_json::json!({
        "recordId": rec.to_string(),
        "state": "rejected",
        "reason": reason,
    });
    let parsed: PackageRecord = serde_json::from_value(raw.clone()).unwrap();
    let mut s = State::new(cfg(), NOW);
    update(&mut s, Action::StoreLoaded(vec![tracked(1)]));
    update(
        &mut s,
        Action::Polled {
            key: {
                let (l, r) = ids(1);
                wargdash::ids::RecordRef::new(l, r)
            },
            result: Ok((parsed, raw)),
            at: NOW,
            latency: Duration::from_millis(1),
            hold: None,
        },
    );
    let table = render(&mut s, 160, 10);
    assert_no_unsafe_chars(&table);
    assert!(table.contains("✗ rejected"), "{table}");
    // Escaped, not dropped: the OSC 52 clipboard write is visible as text.
    assert!(
        table.contains(r"bad\x1b]52;c;cHduZWQ=\x07\x1b[2J"),
        "{table}"
    );
    update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let detail = render(&mut s, 160, 40);
    assert!(detail.contains("rejection reason"), "{detail}");
    assert!(
        detail.contains(r"bad\x1b]52;c;cHduZWQ=\x07\x1b[2J record\x0d\x0areally\x00"),
        "{detail}"
    );
    assert_shows_cleaned(&detail, reason);
}
