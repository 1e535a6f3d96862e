//! Only the newest background job's result counts (issue 17, item 2): a result for a request
//! that was superseded or forgotten — `Ok` or `Err` — is dropped. One test per job: the
//! package log (`L`), the registry switch, the prepared record, the path completion and the
//! content-file hash. Driven through the real reducer.

#[path = "common/reducer.rs"]
mod reducer;

use crossterm::event::KeyCode;
use reducer::{ctrl, ids, key, state_with, tracked, typed, NOW};
use wargdash::ids::{ContentDigest, PackageName};
use wargdash::keys::{KeyInfo, SigningKey};
use wargdash::publish::Prepared;
use wargdash::record::{Entry, RecordContent, RecordTime};
use wargdash::ui::app::{update, Action, Effect, LogView, Mode, SortKey, State};
use wargdash::ui::form::{Field, PathEnv, Step};
use wargdash::ui::form_path::Completion;
use wargdash::ui::job::Ticket;

fn two_rows() -> State {
    let mut s = state_with(false);
    update(
        &mut s,
        Action::StoreLoaded(vec![tracked(1, "demo:a"), tracked(2, "demo:b")]),
    );
    key(&mut s, KeyCode::Char(':'));
    typed(&mut s, "sort package asc");
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.table.sort, SortKey::Package);
    s
}

fn log_ticket(fx: &[Effect]) -> Ticket {
    fx.iter()
        .find_map(|e| match e {
            Effect::LoadPackageLog(_, _, t) => Some(*t),
            _ => None,
        })
        .expect("a package log was asked for")
}

/// The package log of record A is asked for, then B's; A's failure lands late. Before
/// `LatestJob`, that stale `Err` replaced B's (loading) view: this test failed on that code.
#[test]
fn a_stale_package_log_error_never_replaces_the_current_view() {
    let mut s = two_rows();
    assert_eq!(s.table.selected, Some(ids(1)));
    let a = log_ticket(&key(&mut s, KeyCode::Char('L')));
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char('j'));
    assert_eq!(s.table.selected, Some(ids(2)));
    let b = log_ticket(&key(&mut s, KeyCode::Char('L')));
    assert_eq!(s.mode, Mode::LogBrowser);
    // A's answer, late: a failure.
    update(
        &mut s,
        Action::PackageLog(a, Box::new(Err("A: connection refused".into()))),
    );
    assert!(
        s.logs.view.is_none(),
        "a stale error replaced B's view: {:?}",
        s.logs.view
    );
    // A's answer, late: a log (the older request's, whatever its content).
    let view = |log| LogView {
        log_id: log,
        package: None,
        records: Vec::new(),
        status: Err("not proven".into()),
    };
    update(
        &mut s,
        Action::PackageLog(a, Box::new(Ok(view(ids(1).log)))),
    );
    assert!(s.logs.view.is_none(), "{:?}", s.logs.view);
    // B's answer is shown, even a failure.
    update(
        &mut s,
        Action::PackageLog(b, Box::new(Err("B: 503".into()))),
    );
    assert!(
        matches!(&s.logs.view, Some(Err(e)) if e == "B: 503"),
        "{:?}",
        s.logs.view
    );
}

fn switch_ticket(fx: &[Effect]) -> Ticket {
    fx.iter()
        .find_map(|e| match e {
            Effect::SetRegistry(_, t) => Some(*t),
            _ => None,
        })
        .expect("a registry switch")
}

fn command(s: &mut State, line: &str) -> Vec<Effect> {
    let mut fx = key(s, KeyCode::Char(':'));
    fx.extend(typed(s, line));
    fx.extend(key(s, KeyCode::Enter));
    fx
}

/// `:registry A` then `:registry B`: A's client — built or failed — arriving last is dropped;
/// only B's is used.
#[test]
fn only_the_registry_switched_to_last_is_used() {
    let mut s = state_with(false);
    let a = switch_ticket(&command(&mut s, "registry http://127.0.0.1:1"));
    let b = switch_ticket(&command(&mut s, "registry http://127.0.0.1:2"));
    let flash_before = s.status.flash.clone();
    let fx = update(
        &mut s,
        Action::ClientReady(a, "http://127.0.0.1:1".into(), Err("no such CA".into())),
    );
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(
        s.status.flash, flash_before,
        "a stale failure is not reported"
    );
    let client =
        |u: &str| wargdash::registry::RegistryClient::new(u, Default::default()).expect("client");
    let fx = update(
        &mut s,
        Action::ClientReady(
            a,
            "http://127.0.0.1:1".into(),
            Ok(client("http://127.0.0.1:1")),
        ),
    );
    assert!(fx.is_empty(), "a stale client is not used: {fx:?}");
    let fx = update(
        &mut s,
        Action::ClientReady(
            b,
            "http://127.0.0.1:2".into(),
            Ok(client("http://127.0.0.1:2")),
        ),
    );
    assert!(
        matches!(&fx[..], [Effect::UseClient(u, _)] if u == "http://127.0.0.1:2"),
        "{fx:?}"
    );
}

fn signer() -> KeyInfo {
    let k = SigningKey::decode("ecdsa-p256:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
        .expect("test key");
    KeyInfo::of("default", &k)
}

fn prepare_ticket(fx: &[Effect]) -> Ticket {
    fx.iter()
        .find_map(|e| match e {
            Effect::Prepare { ticket, .. } => Some(*ticket),
            _ => None,
        })
        .expect("a record to prepare")
}

fn prepared() -> Prepared {
    let pkg: PackageName = "demo:hello".parse().expect("package");
    Prepared {
        log_id: pkg.log_id(),
        package: pkg,
        head: Some(ids(9).record),
        content: RecordContent {
            prev: Some(ids(9).record),
            time: RecordTime {
                seconds: NOW / 1000,
                nanos: 0,
            },
            entries: vec![Entry::Yank {
                version: "1.0.0".into(),
            }],
        },
        warnings: vec![],
    }
}

/// A record being prepared is forgotten with Esc and asked again: the first request's
/// answer — a failure or a record — never replaces the second's wait, nor goes to review.
#[test]
fn a_forgotten_prepare_never_reaches_the_review() {
    let mut s = state_with(false);
    update(&mut s, Action::KeysLoaded(vec![signer()]));
    key(&mut s, KeyCode::Char('p'));
    typed(&mut s, "demo:hello");
    while s.form.focused() != Field::Kind {
        key(&mut s, KeyCode::Tab);
    }
    key(&mut s, KeyCode::Right);
    while s.form.focused() != Field::Version {
        key(&mut s, KeyCode::Tab);
    }
    typed(&mut s, "1.0.0");
    let first = prepare_ticket(&ctrl(&mut s, 's'));
    assert!(matches!(s.form.step, Step::Preparing), "{:?}", s.form.error);
    key(&mut s, KeyCode::Esc);
    assert!(matches!(s.form.step, Step::Edit));
    let second = prepare_ticket(&ctrl(&mut s, 's'));
    update(&mut s, Action::Prepared(first, Err("head: 503".into())));
    assert!(matches!(s.form.step, Step::Preparing));
    assert_eq!(s.form.error, None, "a stale failure is not shown");
    update(&mut s, Action::Prepared(first, Ok(prepared())));
    assert!(
        matches!(s.form.step, Step::Preparing),
        "a stale record is not reviewed"
    );
    update(&mut s, Action::Prepared(second, Ok(prepared())));
    assert!(matches!(s.form.step, Step::Review(_)));
}

/// Tab asks for a completion; the operator types on before it lands: it is dropped.
#[test]
fn a_completion_for_older_text_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = state_with(false);
    key(&mut s, KeyCode::Char('p'));
    s.form.paths = PathEnv {
        home: Some(dir.path().to_path_buf()),
        cwd: Some(dir.path().to_path_buf()),
    };
    while s.form.focused() != Field::File {
        key(&mut s, KeyCode::Tab);
    }
    typed(&mut s, "al");
    let fx = key(&mut s, KeyCode::Tab);
    let Some(Effect::CompletePath { ticket, .. }) = fx.into_iter().next() else {
        panic!("Tab asked for no completion");
    };
    typed(&mut s, "x");
    update(
        &mut s,
        Action::PathCompleted(
            ticket,
            Completion {
                input: "al".into(),
                text: "alpha.wasm".into(),
                candidates: vec![],
                more: 0,
                error: None,
            },
        ),
    );
    assert_eq!(s.form.file, "alx");
}

/// A content file's hash is asked for, then the field stops naming a file (`~b` is not
/// expanded): the hash landing afterwards — `Ok` or `Err` — is dropped.
#[test]
fn a_hash_for_a_path_no_longer_named_is_dropped() {
    let mut s = state_with(false);
    key(&mut s, KeyCode::Char('p'));
    s.form.paths = PathEnv {
        home: Some("/home/op".into()),
        cwd: Some("/work".into()),
    };
    while s.form.focused() != Field::File {
        key(&mut s, KeyCode::Tab);
    }
    let hash = |fx: &[Effect]| {
        fx.iter()
            .rev()
            .find_map(|e| match e {
                Effect::HashFile { ticket, .. } => Some(*ticket),
                _ => None,
            })
            .expect("a hash")
    };
    let home = hash(&typed(&mut s, "~"));
    let fx = typed(&mut s, "b");
    assert!(fx.is_empty(), "`~b` names no file: {fx:?}");
    for result in [
        Ok((ContentDigest::of_bytes(b"home"), 4)),
        Err("a directory".into()),
    ] {
        update(
            &mut s,
            Action::FileHashed {
                ticket: home,
                path: "/home/op".into(),
                result,
            },
        );
        assert_eq!(s.form.file_digest, None, "{:?}", s.form.file_digest);
    }
}
