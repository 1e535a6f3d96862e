//! The real dashboard state and view, driven by actions and drawn into ratatui's TestBackend.
//! Times are fixed and IDs derived from fixed bytes, so snapshots are stable.

#[path = "common/reducer.rs"]
mod reducer;
#[path = "common/screen.rs"]
mod screen;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use reducer::{ctrl, ids, key, polled, state_with as state, tracked, typed, NOW};
use screen::{render, text};
use std::time::Duration;
use wargdash::ids::{LogId, PackageName, RecordId, RecordRef, Sha256Hash};
use wargdash::keys::{KeyInfo, SigningKey};
use wargdash::publish::Prepared;
use wargdash::record::{Entry, RecordContent, RecordTime};
use wargdash::registry::ApiError;
use wargdash::tracker::store::{Origin, Tracked};
use wargdash::ui::app::{update, Action, Mode, State};

/// One record in each live state, registry healthy.
fn four_states(color: bool) -> State {
    let mut s = state(color);
    update(
        &mut s,
        Action::StoreLoaded(vec![
            tracked(1, "demo:hello"),
            tracked(2, "demo:world"),
            tracked(3, "demo:alpha"),
            tracked(4, "demo:beta"),
        ]),
    );
    let digest = format!("sha256:{}", "5d".repeat(32));
    polled(
        &mut s,
        1,
        serde_json::json!({"state": "sourcing", "missingContent": {digest.clone(): {"upload": [{"type": "http", "method": "POST", "url": format!("v1/package/x/record/y/content/{digest}")}]}}}),
    );
    polled(&mut s, 2, serde_json::json!({"state": "processing"}));
    polled(
        &mut s,
        3,
        serde_json::json!({"state": "rejected", "reason": "the package record was invalid: an entry attempted to release version 1.0.0 which is already released"}),
    );
    polled(
        &mut s,
        4,
        serde_json::json!({"state": "published", "registryIndex": 7}),
    );
    update(&mut s, Action::Checkpoint(Ok((8, (NOW / 1000 - 4) as u64))));
    s
}

fn signer() -> KeyInfo {
    let k = SigningKey::decode("ecdsa-p256:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=").unwrap();
    KeyInfo::of("default", &k)
}

#[test]
fn empty_state_splash() {
    let mut s = state(true);
    update(&mut s, Action::StoreLoaded(vec![]));
    insta::assert_snapshot!("empty_80x24", text(&render(&mut s, 80, 24)));
}

#[test]
fn one_row_in_each_state_80x24_and_200x50() {
    let mut s = four_states(true);
    insta::assert_snapshot!("states_80x24", text(&render(&mut s, 80, 24)));
    insta::assert_snapshot!("states_200x50", text(&render(&mut s, 200, 50)));
}

#[test]
fn registry_down_header_shows_error_and_retry() {
    let mut s = four_states(true);
    let err = ApiError::Unreachable {
        url: "http://127.0.0.1:8090/v1/package/…".into(),
        cause: "connection refused".into(),
    };
    update(
        &mut s,
        Action::Polled {
            key: ids(2),
            result: Err(err),
            at: NOW,
            latency: Duration::ZERO,
            hold: Some(Duration::from_secs(4)),
        },
    );
    let t = render(&mut s, 120, 12);
    let out = text(&t);
    assert!(out.contains("● DOWN registry unreachable"), "{out}");
    assert!(out.contains("retry in 4s"), "{out}");
    // The row polled during the outage keeps its state and shows its last error, dimmed
    // (item 8); rows not polled since show none.
    let row = out.lines().find(|l| l.contains("demo:world")).unwrap();
    assert!(row.contains("◐ processing"), "{row}");
    assert!(row.contains("⚠ unreachable (0s ago)"), "{row}");
    assert_eq!(out.matches("⚠ unreachable").count(), 1, "{out}");
    // The whole message once, in the header.
    assert_eq!(out.matches("connection refused").count(), 1, "{out}");
    let y = out.lines().position(|l| l.contains("demo:world")).unwrap() as u16;
    let x = row.find("⚠").map(|b| row[..b].chars().count()).unwrap() as u16;
    assert_eq!(t.backend().buffer()[(x, y)].fg, Color::DarkGray, "dimmed");
    insta::assert_snapshot!("registry_down", out);
    // An answer clears it.
    polled(&mut s, 2, serde_json::json!({"state": "processing"}));
    let out = text(&render(&mut s, 120, 12));
    assert!(!out.contains("⚠ unreachable"), "{out}");
}

#[test]
fn detail_pane_shows_everything_about_a_record() {
    let mut s = four_states(true);
    update(
        &mut s,
        Action::StoreLoaded(vec![Tracked {
            entries: Some(vec![Entry::Yank {
                version: "1.0.0".into(),
            }]),
            ..tracked(3, "demo:alpha")
        }]),
    );
    key(&mut s, KeyCode::Char(':'));
    typed(&mut s, "sort state");
    key(&mut s, KeyCode::Enter);
    // Sorted by state: rejected first.
    key(&mut s, KeyCode::Char('g'));
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.mode, Mode::Detail);
    update(
        &mut s,
        Action::History(
            ids(3),
            vec![
                wargdash::tracker::store::HistoryEntry {
                    at: NOW - 5000,
                    state: "processing".into(),
                    detail: String::new(),
                },
                wargdash::tracker::store::HistoryEntry {
                    at: NOW - 3000,
                    state: "rejected".into(),
                    detail: "the package record was invalid".into(),
                },
            ],
        ),
    );
    let out = text(&render(&mut s, 120, 40));
    assert!(
        out.contains(&ids(3).record.to_string()),
        "full record ID shown: {out}"
    );
    insta::assert_snapshot!("detail", out);
    // Keys that would open something else wait while the pane is open; moving keys act.
    key(&mut s, KeyCode::Char('p'));
    assert_eq!(s.mode, Mode::Detail);
    key(&mut s, KeyCode::Char('G'));
    assert_eq!(s.mode, Mode::Detail);
    assert_eq!(
        s.table.selected,
        Some(ids(3)),
        "the only row (the reload above untracked the rest)"
    );
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.mode, Mode::Table);
}

#[test]
fn publish_form_validation_and_review() {
    let mut s = four_states(true);
    update(&mut s, Action::KeysLoaded(vec![signer()]));
    key(&mut s, KeyCode::Char('p'));
    assert_eq!(s.mode, Mode::Form);
    typed(&mut s, "Demo:Bad");
    key(&mut s, KeyCode::Tab);
    key(&mut s, KeyCode::Tab);
    typed(&mut s, "v1");
    ctrl(&mut s, 's');
    let out = text(&render(&mut s, 100, 30));
    assert!(
        out.contains("✗ Package: invalid package name `Demo:Bad`"),
        "{out}"
    );
    insta::assert_snapshot!("form_validation_error", out);
    // Nothing typed is lost: fix the name and go on.
    assert_eq!(s.form.package, "Demo:Bad");
    assert_eq!(s.form.version, "v1");

    // Review: exactly what will be signed.
    let key_info = signer();
    let pkg: PackageName = "demo:hello".parse().unwrap();
    let ticket = s.form.preparing();
    let prepared = Prepared {
        log_id: pkg.log_id(),
        package: pkg,
        head: Some(ids(9).record),
        content: RecordContent {
            prev: Some(ids(9).record),
            time: RecordTime {
                seconds: NOW / 1000,
                nanos: 123_456_789,
            },
            entries: vec![
                Entry::Yank {
                    version: "1.0.0".into(),
                },
                Entry::Init {
                    public_key: key_info.public_key.clone(),
                },
            ],
        },
        warnings: vec![],
    };
    update(&mut s, Action::Prepared(ticket, Ok(prepared)));
    let out = text(&render(&mut s, 120, 24));
    assert!(out.contains(&key_info.key_id.to_string()), "{out}");
    insta::assert_snapshot!("review", out);
    // Esc goes back to the form, never quits.
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.mode, Mode::Table);
    assert!(!s.quit);
}

#[test]
fn help_is_generated_from_the_keymap() {
    let mut s = state(true);
    key(&mut s, KeyCode::Char('?'));
    let out = text(&render(&mut s, 110, 70));
    for (keys, desc, _) in wargdash::ui::keymap::BINDINGS {
        assert!(out.contains(desc), "help lacks {keys}: {desc}\n{out}");
    }
    insta::assert_snapshot!("help", out);
}

#[test]
fn no_color_keeps_states_and_selection_readable() {
    let mut s = four_states(false);
    let t = render(&mut s, 120, 12);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert!(
            cell.fg == Color::Reset && cell.bg == Color::Reset,
            "colour used under NO_COLOR: {cell:?}"
        );
    }
    // The selected row (first) is reverse video.
    let row_y = 4;
    assert!(buf[(5, row_y)].modifier.contains(Modifier::REVERSED));
    let out = text(&t);
    for word in ["◌ sourcing", "◐ processing", "✗ rejected", "✓ published"] {
        assert!(out.contains(word), "{word} missing: {out}");
    }
    insta::assert_snapshot!("no_color", out);
}

#[test]
fn selection_follows_the_record_across_updates_and_filter() {
    let mut s = four_states(true);
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Char('j'));
    let chosen = s.table.selected.unwrap();
    // Re-sorting and new poll results keep the same record selected.
    key(&mut s, KeyCode::Char('s'));
    polled(
        &mut s,
        2,
        serde_json::json!({"state": "published", "registryIndex": 9}),
    );
    assert_eq!(s.table.selected, Some(chosen));
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, "beta");
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.table.view.len(), 1);
    assert_eq!(s.table.selected, Some(ids(4)));
}

#[test]
fn bad_ids_typed_into_track_keep_their_text() {
    let mut s = state(true);
    key(&mut s, KeyCode::Char('a'));
    typed(&mut s, "sha256:XYZ sha256:abc");
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.mode, Mode::Track);
    assert_eq!(s.prompt.input, "sha256:XYZ sha256:abc");
    let out = text(&render(&mut s, 100, 10));
    assert!(
        out.contains("✗ malformed record ID `sha256:abc`") || out.contains("✗ malformed log ID"),
        "{out}"
    );
}

/// The help overlay at 80×24 scrolls to its last binding.
#[test]
fn help_scrolls_to_its_last_binding_at_80x24() {
    let mut s = state(false);
    key(&mut s, KeyCode::Char('?'));
    let first = text(&render(&mut s, 80, 24));
    assert!(first.contains("more below"), "{first}");
    assert!(!first.contains("drop the last staged entry"), "{first}");
    for _ in 0..200 {
        key(&mut s, KeyCode::Char('j'));
    }
    let last = text(&render(&mut s, 80, 24));
    assert!(last.contains("back (never quits)"), "{last}");
    assert!(!last.contains("more below"), "{last}");
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.mode, Mode::Table);
}

/// The footer's hints come from the key map; messages carry their level.
#[test]
fn footer_hints_and_message_levels() {
    let mut s = state(false);
    let screen = text(&render(&mut s, 160, 24));
    let footer = screen
        .lines()
        .rev()
        .find(|l| !l.is_empty())
        .unwrap()
        .to_string();
    for (keys, _, action) in wargdash::ui::keymap::BINDINGS {
        if let Some((_, word)) = wargdash::ui::keymap::FOOTER
            .iter()
            .find(|(a, _)| a == action)
        {
            let first = keys.split_whitespace().next().unwrap();
            assert!(footer.contains(&format!("{first} {word}")), "{footer}");
        }
    }
    update(
        &mut s,
        Action::Flash("the store could not be written".into()),
    );
    let warned = text(&render(&mut s, 160, 24));
    assert!(
        warned.contains("⚠ the store could not be written"),
        "{warned}"
    );
    update(&mut s, Action::StoreError("disk full".into()));
    let errored = text(&render(&mut s, 160, 24));
    assert!(errored.contains("✗ store: disk full"), "{errored}");
}

/// The ticket of the last content-file hash these effects ask for.
fn hash_ticket(fx: &[wargdash::ui::app::Effect]) -> wargdash::ui::job::Ticket {
    fx.iter()
        .rev()
        .find_map(|e| match e {
            wargdash::ui::app::Effect::HashFile { ticket, .. } => Some(*ticket),
            _ => None,
        })
        .expect("a hash was asked for")
}

/// Only the newest content-file hash counts: a slower hash of a path the field no longer holds
/// is dropped when it lands last, and a trailing space does not leave the field "hashing…".
#[test]
fn a_stale_file_hash_never_wins() {
    let digest = |b: &[u8]| wargdash::ids::ContentDigest::of_bytes(b);
    let mut s = state(false);
    key(&mut s, KeyCode::Char('p'));
    assert_eq!(s.mode, Mode::Form);
    while s.form.focused() != wargdash::ui::form::Field::File {
        key(&mut s, KeyCode::Tab);
    }
    let big = hash_ticket(&typed(&mut s, "/tmp/big.wasm"));
    // The operator corrects the path; the hash of the new one lands first.
    for _ in 0.."big.wasm".len() {
        key(&mut s, KeyCode::Backspace);
    }
    let small = hash_ticket(&typed(&mut s, "small.wasm"));
    update(
        &mut s,
        Action::FileHashed {
            ticket: small,
            path: "/tmp/small.wasm".into(),
            result: Ok((digest(b"small"), 5)),
        },
    );
    update(
        &mut s,
        Action::FileHashed {
            ticket: big,
            path: "/tmp/big.wasm".into(),
            result: Ok((digest(b"big"), 3)),
        },
    );
    match &s.form.file_digest {
        Some((p, wargdash::ui::form::FileDigest::Ready { digest: d, .. })) => {
            assert_eq!(p, "/tmp/small.wasm");
            assert_eq!(*d, digest(b"small"));
        }
        other => panic!("{other:?}"),
    }
    // A trailing space: the result for the trimmed path is the field's.
    let space = hash_ticket(&typed(&mut s, " "));
    update(
        &mut s,
        Action::FileHashed {
            ticket: space,
            path: "/tmp/small.wasm".into(),
            result: Ok((digest(b"small"), 5)),
        },
    );
    let screen = text(&render(&mut s, 120, 30));
    assert!(!screen.contains("hashing…"), "{screen}");
    assert!(screen.contains(&digest(b"small").to_string()), "{screen}");
}

/// Ages keep their seconds past the first minute (issue "daily driver", item 5).
#[test]
fn ages_read_minutes_and_seconds() {
    let mut s = state(false);
    update(&mut s, Action::StoreLoaded(vec![tracked(30, "demo:old")]));
    for (w, h) in [(80, 24), (200, 50)] {
        let out = text(&render(&mut s, w, h));
        assert!(out.contains("1m05s"), "{out}");
    }
}

/// While frozen, poll results are held per record, the latest winning, and the header says how
/// many wait; `f` applies them (item 7).
#[test]
fn frozen_holds_the_latest_result_per_record_and_counts_them() {
    let mut s = four_states(false);
    key(&mut s, KeyCode::Char('f'));
    for _ in 0..50 {
        polled(&mut s, 2, serde_json::json!({"state": "processing"}));
    }
    polled(
        &mut s,
        2,
        serde_json::json!({"state": "published", "registryIndex": 9}),
    );
    polled(&mut s, 1, serde_json::json!({"state": "processing"}));
    // A result for a record not tracked is not held.
    let stray = RecordRef::new(
        LogId(Sha256Hash([0xee; 32])),
        RecordId(Sha256Hash([0xef; 32])),
    );
    let body = serde_json::json!({"state": "processing", "recordId": stray.record.to_string()});
    update(
        &mut s,
        Action::Polled {
            key: stray,
            result: Ok((serde_json::from_value(body.clone()).unwrap(), body)),
            at: NOW,
            latency: Duration::ZERO,
            hold: None,
        },
    );
    assert_eq!(s.table.frozen_waiting(), 2);
    assert_eq!(s.row(&ids(2)).unwrap().state_name(), "processing");
    // Untracking a record drops what waits for it.
    polled(&mut s, 4, serde_json::json!({"state": "processing"}));
    assert_eq!(s.table.frozen_waiting(), 3);
    command(&mut s, &format!("untrack {} {}", ids(4).log, ids(4).record));
    assert_eq!(s.table.frozen_waiting(), 2);
    for (w, h) in [(80, 24), (200, 50)] {
        let out = text(&render(&mut s, w, h));
        assert!(out.contains("❄ FROZEN: 2 updates wait, f resumes"), "{out}");
    }
    key(&mut s, KeyCode::Char('f'));
    assert_eq!(s.table.frozen_waiting(), 0);
    assert_eq!(s.row(&ids(2)).unwrap().state_name(), "published");
    assert_eq!(s.row(&ids(1)).unwrap().state_name(), "processing");
    let out = text(&render(&mut s, 80, 24));
    assert!(!out.contains("FROZEN"), "{out}");
    assert!(out.contains("resumed: 2 updates applied"), "{out}");
}

fn effects(s: &mut State, code: KeyCode) -> Vec<wargdash::ui::app::Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn command(s: &mut State, line: &str) -> Vec<wargdash::ui::app::Effect> {
    key(s, KeyCode::Char(':'));
    typed(s, line);
    effects(s, KeyCode::Enter)
}

fn footer(out: &str) -> String {
    out.lines()
        .rev()
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Item 1: after `d` the row that took the removed one's place is selected; the confirmation
/// names the package.
#[test]
fn untrack_keeps_the_selection_in_place() {
    let mut s = four_states(false);
    key(&mut s, KeyCode::Char('j'));
    assert_eq!(s.table.selected, Some(ids(2)));
    key(&mut s, KeyCode::Char('d'));
    for (w, h) in [(80, 24), (200, 50)] {
        let out = text(&render(&mut s, w, h));
        assert!(
            out.contains("Stop tracking demo:world record 11111111…?"),
            "{out}"
        );
    }
    let fx = effects(&mut s, KeyCode::Char('y'));
    assert!(fx
        .iter()
        .any(|e| matches!(e, wargdash::ui::app::Effect::Untrack(k) if *k == ids(2))));
    assert_eq!(
        s.table.selected,
        Some(ids(3)),
        "the next row took its place"
    );
    let out = text(&render(&mut s, 80, 24));
    assert!(out.contains("untracked demo:world record"), "{out}");
    assert!(out.contains("2/3"), "{out}");
    // The last row: the one before it.
    key(&mut s, KeyCode::Char('G'));
    key(&mut s, KeyCode::Char('d'));
    key(&mut s, KeyCode::Char('y'));
    assert_eq!(s.table.selected, Some(ids(3)));
}

/// Item 1: a submitted record is selected when its row arrives and marked for a moment; its
/// rejection is an error naming the package and the reason.
#[test]
fn a_submitted_record_is_selected_marked_and_its_rejection_named() {
    let mut s = four_states(true);
    let new = ids(20);
    update(&mut s, Action::Submitted(Ok(new)));
    // The row is not there yet: nothing else steals the selection meanwhile.
    polled(&mut s, 2, serde_json::json!({"state": "processing"}));
    assert_eq!(s.table.selected, Some(new));
    let mut rows = vec![
        tracked(1, "demo:hello"),
        tracked(2, "demo:world"),
        tracked(3, "demo:alpha"),
        tracked(4, "demo:beta"),
    ];
    rows.push(Tracked {
        origin: Origin::Submitted,
        ..tracked(20, "demo:fresh")
    });
    update(&mut s, Action::StoreLoaded(rows));
    assert_eq!(s.table.selected, Some(new));
    assert!(s.table.fresh.is_some_and(|(k, _)| k == new));
    key(&mut s, KeyCode::Char('k'));
    let t = render(&mut s, 80, 24);
    let out = text(&t);
    let y = out.lines().position(|l| l.contains("demo:fresh")).unwrap();
    assert!(out.lines().nth(y).unwrap().starts_with('+'), "{out}");
    assert!(t.backend().buffer()[(5, y as u16)]
        .modifier
        .contains(Modifier::BOLD));
    // The mark lasts a moment.
    update(&mut s, Action::Tick(NOW + 6000));
    assert!(s.table.fresh.is_none());
    // Rejected: an error-level message naming the package and the reason.
    polled(
        &mut s,
        20,
        serde_json::json!({"state": "rejected", "reason": "the signature is invalid"}),
    );
    for (w, h) in [(80, 24), (200, 50)] {
        let out = text(&render(&mut s, w, h));
        assert!(
            footer(&out).starts_with("✗ demo:fresh record 8f8f8f8f was rejected: the signa"),
            "{out}"
        );
    }
}

/// Item 1: `:track` confirms a new record, and says when one is already tracked.
#[test]
fn track_confirms_or_says_already_tracked() {
    let mut s = four_states(false);
    let fx = command(&mut s, &format!("track {} {}", ids(3).log, ids(3).record));
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(s.table.selected, Some(ids(3)));
    let out = text(&render(&mut s, 80, 24));
    assert!(
        footer(&out).contains("already tracking demo:alpha record 18181818…"),
        "{out}"
    );
    let fresh = ids(30);
    let fx = command(&mut s, &format!("track {} {}", fresh.log, fresh.record));
    assert!(
        matches!(&fx[..], [wargdash::ui::app::Effect::Track(_)]),
        "{fx:?}"
    );
    let out = text(&render(&mut s, 80, 24));
    assert!(footer(&out).contains("tracking record d5d5d5d5…"), "{out}");
    assert_eq!(s.table.selected, Some(fresh));
}

/// Item 2: marks, a count in the footer, one confirmation naming how many; `:untrack
/// rejected` and `:untrack filtered`.
#[test]
fn bulk_untrack_of_marked_rejected_and_filtered_rows() {
    let mut s = four_states(false);
    key(&mut s, KeyCode::Char(' '));
    key(&mut s, KeyCode::Char(' '));
    assert_eq!(s.table.marked.len(), 2);
    for (w, h) in [(80, 24), (200, 50)] {
        let out = text(&render(&mut s, w, h));
        assert!(footer(&out).starts_with("* 2 marked"), "{out}");
        assert_eq!(
            out.lines().filter(|l| l.starts_with("*  demo:")).count(),
            2,
            "{out}"
        );
    }
    key(&mut s, KeyCode::Char('d'));
    let out = text(&render(&mut s, 80, 24));
    assert!(
        out.contains("Stop tracking 2 records (demo:hello, demo:world)?"),
        "{out}"
    );
    let fx = effects(&mut s, KeyCode::Char('y'));
    let untracked = fx
        .iter()
        .filter(|e| matches!(e, wargdash::ui::app::Effect::Untrack(_)))
        .count();
    assert_eq!(untracked, 2);
    assert_eq!(s.table.rows.len(), 2);
    assert!(s.table.marked.is_empty());

    // `:untrack rejected`: one confirmation for the rejected rows shown.
    command(&mut s, "untrack rejected");
    assert_eq!(s.mode, Mode::ConfirmUntrack(vec![ids(3)]));
    let out = text(&render(&mut s, 80, 24));
    assert!(out.contains("Stop tracking demo:alpha record"), "{out}");
    key(&mut s, KeyCode::Char('n'));
    assert_eq!(s.table.rows.len(), 2, "any other key keeps them");

    // `:untrack filtered`: what the filter shows.
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, "beta");
    key(&mut s, KeyCode::Enter);
    command(&mut s, "untrack filtered");
    assert_eq!(s.mode, Mode::ConfirmUntrack(vec![ids(4)]));
    key(&mut s, KeyCode::Char('y'));
    assert_eq!(s.table.rows.len(), 1);
    command(&mut s, "untrack rejected");
    assert!(s.prompt.error.is_some(), "nothing rejected is shown");
}

fn filter(s: &mut State, text: &str) {
    key(s, KeyCode::Char('/'));
    key(s, KeyCode::Esc); // a fresh filter
    key(s, KeyCode::Char('/'));
    typed(s, text);
    key(s, KeyCode::Enter);
}

fn shown(s: &State) -> Vec<String> {
    s.table
        .view
        .iter()
        .map(|i| s.table.rows[*i].tracked.package.clone().unwrap())
        .collect()
}

/// Item 3: the filter language, highlighted matches, "no matches", the position.
#[test]
fn the_filter_language() {
    let mut s = four_states(true);
    filter(&mut s, "state:rejected");
    assert_eq!(shown(&s), ["demo:alpha"]);
    filter(&mut s, "pkg:demo:hello");
    assert_eq!(shown(&s), ["demo:hello"]);
    filter(&mut s, "demo !hello !WORLD");
    assert_eq!(shown(&s), ["demo:alpha", "demo:beta"]);
    filter(&mut s, "/^demo:(a|b)e/");
    assert_eq!(shown(&s), ["demo:beta"]);
    filter(&mut s, "/already released/");
    assert_eq!(shown(&s), ["demo:alpha"]);
    filter(&mut s, "!state:/^(sourcing|processing)$/");
    assert_eq!(shown(&s), ["demo:alpha", "demo:beta"]);
    // Matches are highlighted in the rows.
    filter(&mut s, "ALP");
    let t = render(&mut s, 80, 24);
    let out = text(&t);
    let y = out.lines().position(|l| l.contains("demo:alpha")).unwrap() as u16;
    let x = out.lines().nth(y as usize).unwrap().find("alpha").unwrap() as u16;
    let buf = t.backend().buffer();
    assert_eq!(buf[(x, y)].bg, Color::Yellow, "{out}");
    assert_eq!(buf[(x + 2, y)].bg, Color::Yellow);
    assert_ne!(buf[(x + 3, y)].bg, Color::Yellow);
    assert!(out.contains("1/1"), "{out}");
    // Under NO_COLOR, bold underlined.
    let mut plain = four_states(false);
    filter(&mut plain, "beta");
    key(&mut plain, KeyCode::Char('g'));
    let t = render(&mut plain, 80, 24);
    let out = text(&t);
    let y = out.lines().position(|l| l.contains("demo:beta")).unwrap() as u16;
    assert!(t.backend().buffer()[(8, y)]
        .modifier
        .contains(Modifier::UNDERLINED));
    // An expression that does not compile says so while typing.
    key(&mut s, KeyCode::Char('/'));
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, "/(oops/");
    let out = text(&render(&mut s, 80, 24));
    assert!(footer(&out).contains("✗ /(oops/ taken literally"), "{out}");
    key(&mut s, KeyCode::Enter);
    // Nothing matches: said so, and the position reads 0/0.
    filter(&mut s, "nothing-like-this");
    for (w, h) in [(80, 24), (200, 50)] {
        let out = text(&render(&mut s, w, h));
        assert!(
            out.contains("no matches for \"nothing-like-this\""),
            "{out}"
        );
        assert!(out.contains("0/0"), "{out}");
    }
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.table.view.len(), 4);
    key(&mut s, KeyCode::Char('G'));
    let out = text(&render(&mut s, 80, 24));
    assert!(out.contains("4/4"), "{out}");
}

/// Item 4: at 80 columns the package name is whole and the IDs give way; wide screens show
/// the full record ID; anything cut ends in `…`.
#[test]
fn columns_use_the_width() {
    let mut s = state(false);
    update(
        &mut s,
        Action::StoreLoaded(vec![
            tracked(1, "demo:seed-cgcjxk2q"),
            tracked(2, "demo:hello"),
        ]),
    );
    let narrow = text(&render(&mut s, 80, 24));
    insta::assert_snapshot!("columns_80x24", narrow);
    assert!(narrow.contains("demo:seed-cgcjxk2q "), "{narrow}");
    let wide = text(&render(&mut s, 200, 50));
    insta::assert_snapshot!("columns_200x50", wide);
    assert!(wide.contains(&ids(1).record.short(64)), "{wide}");
    assert!(wide.contains("01010101010…"), "log cut with …: {wide}");
    let mut huge = state(false);
    update(
        &mut huge,
        Action::StoreLoaded(vec![tracked(
            1,
            "demo:a-very-long-package-name-indeed-it-is-long",
        )]),
    );
    let out = text(&render(&mut huge, 80, 24));
    assert!(out.contains("demo:a-very-long-package-n…"), "{out}");
}

/// Item 4: every column sorts; the arrow means "smallest shown value first"; rows within a
/// package go by registry index.
#[test]
fn sort_by_any_column_with_a_plain_arrow() {
    let mut s = four_states(false);
    // The default: oldest first, so ages shrink down the list and the arrow reads ▼.
    let out = text(&render(&mut s, 120, 12));
    assert!(out.contains("AGE▼"), "{out}");
    let ages: Vec<&str> = ["1m34s", "1m33s", "1m32s", "1m31s"].to_vec();
    let pos: Vec<usize> = ages.iter().map(|a| out.find(a).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{out}");
    key(&mut s, KeyCode::Char('S'));
    let out = text(&render(&mut s, 120, 12));
    assert!(out.contains("AGE▲"), "{out}");
    assert!(
        out.find("1m31s").unwrap() < out.find("1m34s").unwrap(),
        "{out}"
    );
    // `s` visits every column, left to right.
    let mut seen = Vec::new();
    for _ in 0..8 {
        key(&mut s, KeyCode::Char('s'));
        seen.push(s.table.sort);
    }
    for k in wargdash::ui::app::SortKey::ALL {
        assert!(seen.contains(&k), "{k:?} never sorted by: {seen:?}");
    }
    // Within a package, rows go by registry index, not by hash or age.
    let mut s = state(false);
    let mut rows = Vec::new();
    for (n, at) in [(7u8, 1), (5, 2), (6, 3)] {
        let mut t = tracked(n, "demo:same");
        t.added_at = NOW - at * 1000;
        rows.push(t);
    }
    update(&mut s, Action::StoreLoaded(rows));
    for (n, index) in [(7u8, 30), (5, 10), (6, 20)] {
        polled(
            &mut s,
            n,
            serde_json::json!({"state": "published", "registryIndex": index}),
        );
    }
    command(&mut s, "sort package");
    let order: Vec<_> = s
        .table
        .view
        .iter()
        .map(|i| s.table.rows[*i].registry_index())
        .collect();
    assert_eq!(order, [Some(10), Some(20), Some(30)]);
    command(&mut s, "sort index desc");
    let order: Vec<_> = s
        .table
        .view
        .iter()
        .map(|i| s.table.rows[*i].registry_index())
        .collect();
    assert_eq!(order, [Some(30), Some(20), Some(10)]);
    let out = text(&render(&mut s, 80, 24));
    assert!(out.contains("IDX▼"), "{out}");
    command(&mut s, "sort nonsense");
    assert!(s
        .prompt
        .error
        .as_deref()
        .is_some_and(|e| e.contains("package, log, record")));
}

/// Item 6: the detail pane scrolls with j/k/PgDn; n/N move between records; b works there.
#[test]
fn the_detail_pane_scrolls_and_moves_between_records() {
    let mut s = four_states(false);
    // A long response: many missing contents.
    let mut missing = serde_json::Map::new();
    for i in 0..30 {
        let d = format!("sha256:{:064x}", i);
        missing.insert(
            d.clone(),
            serde_json::json!({"upload": [{"type": "http", "method": "POST", "url": format!("v1/content/{d}")}]}),
        );
    }
    polled(
        &mut s,
        1,
        serde_json::json!({"state": "sourcing", "missingContent": missing}),
    );
    key(&mut s, KeyCode::Char('g'));
    key(&mut s, KeyCode::Enter);
    let first = text(&render(&mut s, 80, 24));
    assert!(first.contains("more below"), "{first}");
    assert!(!first.contains("latest response"), "{first}");
    key(&mut s, KeyCode::Char('j'));
    assert_eq!(
        s.table.selected,
        Some(ids(1)),
        "j scrolls, it does not move"
    );
    let scrolled = text(&render(&mut s, 80, 24));
    assert!(scrolled.contains("1 lines above"), "{scrolled}");
    for _ in 0..200 {
        key(&mut s, KeyCode::PageDown);
    }
    let last = text(&render(&mut s, 80, 24));
    assert!(!last.contains("more below"), "{last}");
    assert!(last.contains('}'), "the end of the response: {last}");
    // One k after the bottom moves up at once (the scroll does not run past the end).
    key(&mut s, KeyCode::Char('k'));
    let up = text(&render(&mut s, 80, 24));
    assert!(up.contains("more below"), "{up}");
    key(&mut s, KeyCode::Char('g'));
    let out = text(&render(&mut s, 200, 50));
    assert!(out.contains("more below"), "{out}");
    // n / ] next record, N / [ previous, scroll back at the top.
    key(&mut s, KeyCode::Char('n'));
    assert_eq!(s.table.selected, Some(ids(2)));
    assert_eq!(s.detail.scroll.top(), 0);
    key(&mut s, KeyCode::Char(']'));
    assert_eq!(s.table.selected, Some(ids(3)));
    key(&mut s, KeyCode::Char('['));
    key(&mut s, KeyCode::Char('N'));
    assert_eq!(s.table.selected, Some(ids(1)));
    assert_eq!(s.mode, Mode::Detail);
    // b, which the pane advertises for a record rejected because the head moved, works there.
    let head_moved = Tracked {
        origin: Origin::Submitted,
        entries: Some(vec![Entry::Yank {
            version: "1.0.0".into(),
        }]),
        ..tracked(3, "demo:alpha")
    };
    let mut rows = vec![
        tracked(1, "demo:hello"),
        tracked(2, "demo:world"),
        head_moved,
        tracked(4, "demo:beta"),
    ];
    rows.truncate(4);
    update(&mut s, Action::StoreLoaded(rows));
    polled(
        &mut s,
        3,
        serde_json::json!({"state": "rejected", "reason": "the record's previous record hash does not match the head"}),
    );
    key(&mut s, KeyCode::Char('n'));
    key(&mut s, KeyCode::Char('n'));
    assert_eq!(s.table.selected, Some(ids(3)));
    let out = text(&render(&mut s, 80, 24));
    if wargdash::ui::table::needs_rebuild(s.selected_row().unwrap()) {
        assert!(out.contains("press b"), "{out}");
        let fx = effects(&mut s, KeyCode::Char('b'));
        assert_eq!(s.mode, Mode::Form, "{fx:?}");
    } else {
        panic!("the reason above should read as a moved head: {out}");
    }
}

/// The prompt line edits at a real cursor (tui-input): move left, insert, delete, jump.
#[test]
fn the_prompt_line_edits_at_its_cursor() {
    let mut s = state(false);
    key(&mut s, KeyCode::Char(':'));
    typed(&mut s, "regstry http://x");
    for _ in 0.."stry http://x".len() {
        key(&mut s, KeyCode::Left);
    }
    typed(&mut s, "i");
    assert_eq!(s.prompt.input, "registry http://x");
    key(&mut s, KeyCode::End);
    key(&mut s, KeyCode::Backspace);
    typed(&mut s, "y");
    assert_eq!(s.prompt.input, "registry http://y");
    key(&mut s, KeyCode::Home);
    key(&mut s, KeyCode::Delete);
    assert_eq!(s.prompt.input, "egistry http://y");
    ctrl(&mut s, 'e');
    ctrl(&mut s, 'w');
    assert_eq!(s.prompt.input, "egistry http://");
    // The cursor is drawn where it is.
    key(&mut s, KeyCode::Left);
    let screen = text(&render(&mut s, 80, 24));
    assert!(screen.contains(":egistry http:/▏/"), "{screen}");
}

/// A long first ledger sync shows how far it got in the header; the finished cycle replaces it.
#[test]
fn a_first_ledger_sync_shows_its_progress() {
    use wargdash::trust::worker::TrustEvent;
    let mut s = state(false);
    let header = |s: &mut State| {
        text(&render(s, 120, 24))
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        header(&mut s).contains("◌ verifying…"),
        "{}",
        header(&mut s)
    );
    update(
        &mut s,
        Action::Trust(TrustEvent::Progress(250_000, 1_000_000)),
    );
    let h = header(&mut s);
    assert!(
        h.contains("◌ verifying… ledger 250000/1000000 entries (25%)"),
        "{h}"
    );
    update(&mut s, Action::Trust(TrustEvent::Failed("down".into())));
    update(
        &mut s,
        Action::Trust(TrustEvent::Cycle(Box::new(
            wargdash::trust::cycle::CycleReport {
                registry: "http://r/".into(),
                log_length: 1_000_000,
                checkpoint_verified: true,
                operator_key_id: None,
                pin: None,
                pinned_key_id: None,
                alerts: Vec::new(),
                explanation: None,
                ledger_len: 1_000_000,
                synced_entries: 1_000_000,
                ledger_available: true,
                state_advanced: true,
                verified: None,
                ledger_pending: None,
                incomplete: None,
            },
        ))),
    );
    let h = header(&mut s);
    assert!(h.contains("✔ verified L=1000000"), "{h}");
    assert!(!h.contains("ledger 250000"), "{h}");
}
