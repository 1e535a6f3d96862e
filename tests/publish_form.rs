//! The publish form (issue 11 item 9), driven through the reducer with key events and worker
//! results, drawn into ratatui's TestBackend; the runtime's own workers (path completion,
//! the package log) are the functions it calls.

#[path = "common/reducer.rs"]
mod reducer;
#[path = "common/screen.rs"]
mod screen;

use crossterm::event::KeyCode;
use reducer::{ctrl, ids, key, polled, tracked, typed, NOW};
use screen::{render, text};
use std::path::PathBuf;
use wargdash::ids::{ContentDigest, KeyId, PackageName, RecordRef};
use wargdash::keys::{KeyInfo, SigningKey};
use wargdash::publish::{LogFacts, Prepared};
use wargdash::record::{Entry, Permission, RecordContent, RecordTime};
use wargdash::tracker::store::{Origin, Tracked};
use wargdash::trust::package::PackageLogRecord;
use wargdash::ui::app::{update, Action, Effect, Mode, State};
use wargdash::ui::form::{EntryKind, Field, PathEnv, Step};
use wargdash::ui::job::Ticket;

fn state() -> State {
    reducer::state_with(false)
}

fn focus(s: &mut State, f: Field) {
    for _ in 0..10 {
        if s.form.focused() == f {
            return;
        }
        key(s, KeyCode::Down);
    }
    panic!("no field {f:?} in {:?}", s.form.fields());
}

fn set_kind(s: &mut State, kind: EntryKind) {
    focus(s, Field::Kind);
    for _ in 0..5 {
        if s.form.kind == kind {
            return;
        }
        key(s, KeyCode::Right);
    }
    panic!("no kind {kind:?}");
}

fn keyinfo(name: &str, byte: u8) -> KeyInfo {
    let b64 = base64_of(&[byte; 32]);
    let k = SigningKey::decode(&format!("ecdsa-p256:{b64}")).expect("test key");
    KeyInfo::of(name, &k)
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn screen(s: &mut State) -> String {
    text(&render(s, 160, 40))
}

/// The ticket of the last content-file hash these effects ask for.
fn hash_ticket(fx: &[Effect]) -> Ticket {
    fx.iter()
        .rev()
        .find_map(|e| match e {
            Effect::HashFile { ticket, .. } => Some(*ticket),
            _ => None,
        })
        .expect("a hash was asked for")
}

/// The ticket of the record these effects ask to prepare.
fn prepare_ticket(fx: &[Effect]) -> Ticket {
    fx.iter()
        .find_map(|e| match e {
            Effect::Prepare { ticket, .. } => Some(*ticket),
            _ => None,
        })
        .expect("a record was to be prepared")
}

fn prepared_entries(fx: &[Effect]) -> Option<(PackageName, Vec<Entry>)> {
    fx.iter().find_map(|e| match e {
        Effect::Prepare {
            package, entries, ..
        } => Some((package.clone(), entries.clone())),
        _ => None,
    })
}

/// Ctrl-C with a draft asks; `n` and Esc return to the draft intact; Esc closes the form and
/// keeps the draft for the next `p`; `y` quits. An empty form quits at once; `q` is text.
#[test]
fn ctrl_c_in_a_form_asks_before_discarding_the_draft() {
    // Nothing to lose: Ctrl-C quits at once.
    let mut s = state();
    key(&mut s, KeyCode::Char('p'));
    assert_eq!(s.mode, Mode::Form);
    ctrl(&mut s, 'c');
    assert!(s.quit, "an empty form quits without asking");

    let mut s = state();
    key(&mut s, KeyCode::Char('p'));
    typed(&mut s, "demo:qq");
    assert_eq!(s.form.package, "demo:qq", "q is text in a form, not quit");
    assert!(!s.quit);
    ctrl(&mut s, 'c');
    assert!(!s.quit, "a draft is never dropped unasked");
    assert!(
        screen(&mut s).contains("quit and discard the draft? y/n"),
        "{}",
        screen(&mut s)
    );
    // Other keys wait for the answer and change nothing.
    typed(&mut s, "x");
    assert_eq!(s.form.package, "demo:qq");
    key(&mut s, KeyCode::Char('n'));
    assert!(!s.quit);
    assert_eq!(s.mode, Mode::Form);
    assert_eq!(s.form.package, "demo:qq");
    assert!(!screen(&mut s).contains("discard the draft"));
    ctrl(&mut s, 'c');
    key(&mut s, KeyCode::Esc);
    assert!(!s.quit);
    assert_eq!(s.mode, Mode::Form, "Esc answers no, it does not close");
    // Esc closes the form and keeps the draft; p brings it back.
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.mode, Mode::Table);
    assert!(screen(&mut s).contains("publish draft kept: p reopens it"));
    key(&mut s, KeyCode::Char('p'));
    assert_eq!(s.form.package, "demo:qq");
    // A record under review is a draft too.
    s.form.package.clear();
    s.form.step = Step::Preparing;
    ctrl(&mut s, 'c');
    assert!(!s.quit);
    key(&mut s, KeyCode::Char('y'));
    assert!(s.quit, "y quits");
}

/// `~/x` expands to $HOME; a relative path resolves under the working directory; the field
/// shows the absolute path and the file hashed and signed is that one.
#[test]
fn tilde_and_relative_content_paths_show_the_absolute_path() {
    let mut s = state();
    update(&mut s, Action::KeysLoaded(vec![keyinfo("default", 1)]));
    key(&mut s, KeyCode::Char('p'));
    s.form.paths = PathEnv {
        home: Some(PathBuf::from("/home/op")),
        cwd: Some(PathBuf::from("/work/proj")),
    };
    typed(&mut s, "demo:hello");
    focus(&mut s, Field::Version);
    typed(&mut s, "1.0.0");
    focus(&mut s, Field::File);
    let fx = typed(&mut s, "~/c.wasm");
    assert!(
        matches!(fx.last(), Some(Effect::HashFile { path: p, .. }) if p == "/home/op/c.wasm"),
        "{fx:?}"
    );
    let out = screen(&mut s);
    assert!(out.contains("→ /home/op/c.wasm · hashing…"), "{out}");
    for _ in 0.."~/c.wasm".len() {
        key(&mut s, KeyCode::Backspace);
    }
    let fx = typed(&mut s, "./out/../c.wasm");
    assert!(
        matches!(fx.last(), Some(Effect::HashFile { path: p, .. }) if p == "/work/proj/out/../c.wasm"),
        "{fx:?}"
    );
    let digest = ContentDigest::of_bytes(b"component");
    update(
        &mut s,
        Action::FileHashed {
            ticket: hash_ticket(&fx),
            path: "/work/proj/out/../c.wasm".into(),
            result: Ok((digest, 9)),
        },
    );
    let out = screen(&mut s);
    assert!(
        out.contains(&format!("→ /work/proj/out/../c.wasm · {digest} (9 bytes)")),
        "{out}"
    );
    // The absolute path is what the submit reads.
    let fx = ctrl(&mut s, 's');
    assert!(prepared_entries(&fx).is_some(), "{fx:?}");
    assert_eq!(
        s.form.files.get(&digest),
        Some(&PathBuf::from("/work/proj/out/../c.wasm"))
    );
    // `~user` is not guessed at.
    s.form.step = Step::Edit;
    for _ in 0.."./out/../c.wasm".len() {
        key(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "~bob/c.wasm");
    let out = screen(&mut s);
    assert!(out.contains("✗ `~user` paths are not expanded"), "{out}");
}

/// Tab in the content-file field completes: the common prefix of several matches (listed
/// under the field), a single match fully (a directory gets `/`); a result for text the
/// field no longer holds is dropped; Tab on a hashed file moves on.
#[test]
fn tab_completes_the_content_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("alpha.wasm"), b"a").expect("write");
    std::fs::write(dir.path().join("alpaca.wasm"), b"b").expect("write");
    std::fs::create_dir(dir.path().join("alpine")).expect("mkdir");
    std::fs::write(dir.path().join("alpine/inner.wasm"), b"c").expect("write");
    // A name with control characters is never offered (nor drawn).
    std::fs::write(dir.path().join("al\x1b[31mevil.wasm"), b"e").expect("write");
    // Hidden entries are offered only for a name typed with a leading dot.
    std::fs::write(dir.path().join("alpine/.secret"), b"d").expect("write");
    let env = PathEnv {
        home: Some(dir.path().to_path_buf()),
        cwd: Some(dir.path().to_path_buf()),
    };
    let mut s = state();
    key(&mut s, KeyCode::Char('p'));
    s.form.paths = env.clone();
    focus(&mut s, Field::File);
    // What the runtime does with the effect: the same function, on a real directory.
    let tab = |s: &mut State| {
        let fx = key(s, KeyCode::Tab);
        let Some(Effect::CompletePath { input, env, ticket }) = fx.into_iter().next() else {
            panic!(
                "Tab did not ask for a completion (focus {:?})",
                s.form.focused()
            );
        };
        let c = wargdash::ui::form_path::complete(&input, &env);
        update(s, Action::PathCompleted(ticket, c));
        ticket
    };
    typed(&mut s, "al");
    let first = tab(&mut s);
    assert_eq!(s.form.file, "alp");
    let out = screen(&mut s);
    assert!(out.contains("alpaca.wasm  alpha.wasm  alpine/"), "{out}");
    typed(&mut s, "i");
    tab(&mut s);
    assert_eq!(s.form.file, "alpine/", "a directory gets a trailing /");
    tab(&mut s);
    assert_eq!(
        s.form.file, "alpine/inner.wasm",
        "the hidden .secret is not offered"
    );
    for _ in 0.."inner.wasm".len() {
        key(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, ".");
    tab(&mut s);
    assert_eq!(s.form.file, "alpine/.secret");
    for _ in 0..".secret".len() {
        key(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "inner.wasm");
    // `~/` completes under the home directory.
    for _ in 0.."alpine/inner.wasm".len() {
        key(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "~/alph");
    tab(&mut s);
    assert_eq!(s.form.file, "~/alpha.wasm");
    // No match: said under the field, the text stays.
    typed(&mut s, "x");
    tab(&mut s);
    assert_eq!(s.form.file, "~/alpha.wasmx");
    assert!(
        screen(&mut s).contains("✗ nothing in"),
        "{}",
        screen(&mut s)
    );
    // A completion for text the field no longer holds is stale.
    let stale = wargdash::ui::form_path::complete("al", &env);
    update(&mut s, Action::PathCompleted(first, stale));
    assert_eq!(s.form.file, "~/alpha.wasmx");
    // Once the file is hashed, Tab moves to the next field.
    let fx = key(&mut s, KeyCode::Backspace);
    let abs = dir.path().join("alpha.wasm").display().to_string();
    update(
        &mut s,
        Action::FileHashed {
            ticket: hash_ticket(&fx),
            path: abs,
            result: Ok((ContentDigest::of_bytes(b"a"), 1)),
        },
    );
    let fx = key(&mut s, KeyCode::Tab);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(s.form.focused(), Field::Signer);
}

/// `p` prefills the package from the selected row; typing replaces it, Backspace edits it; a
/// package the operator typed is never overwritten by the selection.
#[test]
fn the_package_is_prefilled_from_the_selected_row() {
    let mut s = state();
    update(
        &mut s,
        Action::StoreLoaded(vec![tracked(1, "demo:hello"), tracked(2, "demo:world")]),
    );
    s.table.selected = Some(ids(2));
    key(&mut s, KeyCode::Char('p'));
    assert_eq!(s.form.package, "demo:world");
    let out = screen(&mut s);
    assert!(
        out.contains("from the selected row: type to replace"),
        "{out}"
    );
    // Not a draft: Ctrl-C does not ask.
    assert!(!s.form.has_draft());
    // Esc, another row, p: the prefill follows the selection.
    key(&mut s, KeyCode::Esc);
    s.table.selected = Some(ids(1));
    key(&mut s, KeyCode::Char('p'));
    assert_eq!(s.form.package, "demo:hello");
    // Backspace edits it.
    key(&mut s, KeyCode::Backspace);
    typed(&mut s, "p");
    assert_eq!(s.form.package, "demo:hellp");
    // Typed: kept whatever the selection.
    key(&mut s, KeyCode::Esc);
    s.table.selected = Some(ids(2));
    key(&mut s, KeyCode::Char('p'));
    assert_eq!(s.form.package, "demo:hellp");
    // Typing over a fresh prefill replaces it.
    s.form.package.clear();
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char('p'));
    assert_eq!(s.form.package, "demo:world");
    typed(&mut s, "demo:new");
    assert_eq!(s.form.package, "demo:new");
    // `:publish NAME` names the package: typed, not a prefill.
    s.form.package.clear();
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char(':'));
    typed(&mut s, "publish demo:named");
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.mode, Mode::Form);
    assert_eq!(s.form.package, "demo:named");
    typed(&mut s, "-x");
    assert_eq!(s.form.package, "demo:named-x");
}

/// Permissions are picked (←/→ or Space), not typed.
#[test]
fn permissions_are_picked_not_typed() {
    let mut s = state();
    update(&mut s, Action::KeysLoaded(vec![keyinfo("default", 1)]));
    key(&mut s, KeyCode::Char('p'));
    typed(&mut s, "demo:hello");
    set_kind(&mut s, EntryKind::Grant);
    focus(&mut s, Field::PublicKey);
    let other = keyinfo("other", 2);
    typed(&mut s, &other.public_key);
    focus(&mut s, Field::Permissions);
    assert!(screen(&mut s).contains("◂ release ▸"));
    typed(&mut s, "yank");
    assert!(screen(&mut s).contains("◂ release ▸"), "typing is ignored");
    key(&mut s, KeyCode::Right);
    assert!(screen(&mut s).contains("◂ yank ▸"));
    key(&mut s, KeyCode::Char(' '));
    assert!(screen(&mut s).contains("◂ release,yank ▸"));
    key(&mut s, KeyCode::Right);
    key(&mut s, KeyCode::Left);
    let fx = ctrl(&mut s, 's');
    let (_, entries) = prepared_entries(&fx).expect("prepare");
    assert_eq!(
        entries,
        vec![Entry::Grant {
            public_key: other.public_key,
            permissions: vec![Permission::Release, Permission::Yank],
        }]
    );
}

/// Revoke takes a key ID, a key name from the key store, or a public key, and shows which
/// key ID it resolved to.
#[test]
fn revoke_accepts_a_key_name_or_public_key_as_well_as_a_key_id() {
    let me = keyinfo("default", 1);
    let ci = keyinfo("ci-bot", 3);
    let stranger = keyinfo("stranger", 4);
    let mut s = state();
    update(&mut s, Action::KeysLoaded(vec![me.clone(), ci.clone()]));
    key(&mut s, KeyCode::Char('p'));
    typed(&mut s, "demo:hello");
    set_kind(&mut s, EntryKind::Revoke);
    focus(&mut s, Field::KeyId);
    let revoked = |s: &mut State| -> KeyId {
        let fx = ctrl(s, 's');
        s.form.step = Step::Edit;
        match prepared_entries(&fx).map(|(_, e)| e).as_deref() {
            Some([Entry::Revoke { key_id, .. }]) => *key_id,
            other => panic!("{other:?} / {:?}", s.form.error),
        }
    };
    let clear = |s: &mut State| {
        focus(s, Field::KeyId);
        while !s.form.key_id.is_empty() {
            key(s, KeyCode::Backspace);
        }
    };
    typed(&mut s, "ci-bot");
    let out = screen(&mut s);
    assert!(
        out.contains(&format!(
            "key ID {} (key `ci-bot` in the key store)",
            ci.key_id
        )),
        "{out}"
    );
    assert_eq!(revoked(&mut s), ci.key_id);
    clear(&mut s);
    typed(&mut s, &stranger.public_key);
    assert!(screen(&mut s).contains(&format!("key ID {} (from the public key)", stranger.key_id)));
    assert_eq!(revoked(&mut s), stranger.key_id);
    clear(&mut s);
    typed(&mut s, &stranger.key_id.to_string());
    assert_eq!(revoked(&mut s), stranger.key_id);
    clear(&mut s);
    typed(&mut s, "nobody");
    let fx = ctrl(&mut s, 's');
    assert!(prepared_entries(&fx).is_none());
    let out = screen(&mut s);
    assert!(
        out.contains("no key named `nobody` in the key store (known: default, ci-bot)"),
        "{out}"
    );
}

fn log_record(n: usize, signer: &KeyInfo, entries: Vec<Entry>) -> PackageLogRecord {
    PackageLogRecord {
        index: n,
        registry_index: n as u64 + 1,
        record_id: ids(40 + n as u8).record,
        time_secs: NOW / 1000,
        signer: signer.key_id,
        entries,
    }
}

fn prepared(package: &str, entries: Vec<Entry>) -> Prepared {
    let pkg: PackageName = package.parse().expect("package");
    Prepared {
        log_id: pkg.log_id(),
        package: pkg,
        head: Some(ids(41).record),
        content: RecordContent {
            prev: Some(ids(41).record),
            time: RecordTime {
                seconds: NOW / 1000,
                nanos: 0,
            },
            entries,
        },
        warnings: vec![],
    }
}

/// The review warns (it does not block) when a version is already released or the signing
/// key lacks the permission, from the package log fetched with the head.
#[test]
fn the_review_warns_of_a_released_version_and_a_missing_permission() {
    let owner = keyinfo("default", 1);
    let helper = keyinfo("helper", 2);
    let digest = ContentDigest::of_bytes(b"v1");
    let log = LogFacts::from_records(&[
        log_record(
            0,
            &owner,
            vec![Entry::Init {
                public_key: owner.public_key.clone(),
            }],
        ),
        log_record(
            1,
            &owner,
            vec![
                Entry::Release {
                    version: "1.0.0".into(),
                    digest,
                },
                Entry::Grant {
                    public_key: helper.public_key.clone(),
                    permissions: vec![Permission::Yank],
                },
            ],
        ),
    ]);
    let release = vec![Entry::Release {
        version: "1.0.0".into(),
        digest,
    }];
    let review = |signer: usize, entries: Vec<Entry>| {
        let mut s = state();
        update(
            &mut s,
            Action::KeysLoaded(vec![owner.clone(), helper.clone()]),
        );
        key(&mut s, KeyCode::Char('p'));
        s.form.signer = signer;
        let t = s.form.preparing();
        let pkg: PackageName = "demo:hello".parse().expect("package");
        update(&mut s, Action::FormLog(t, pkg, Ok(log.clone())));
        update(
            &mut s,
            Action::Prepared(t, Ok(prepared("demo:hello", entries))),
        );
        assert!(matches!(s.form.step, Step::Review(_)));
        let out = text(&render(&mut s, 200, 30));
        (s, out)
    };
    let (mut s, out) = review(0, release.clone());
    assert!(
        out.contains(&format!(
            "⚠ version 1.0.0 is already released (by record {}): the registry will reject this record",
            ids(41).record
        )),
        "{out}"
    );
    assert!(!out.contains("lacks"), "{out}");
    // A warning, not a block: Enter still submits.
    let fx = key(&mut s, KeyCode::Enter);
    assert!(matches!(fx.as_slice(), [Effect::Submit { .. }]), "{fx:?}");

    let (_, out) = review(1, release);
    assert!(
        out.contains(&format!(
            "⚠ the signing key `helper` ({}) lacks the release permission",
            helper.key_id
        )),
        "{out}"
    );
    // Yank is granted to the helper: no permission warning, and 1.0.0 is released.
    let (_, out) = review(
        1,
        vec![Entry::Yank {
            version: "1.0.0".into(),
        }],
    );
    assert!(!out.contains('⚠'), "{out}");
    let (_, out) = review(
        1,
        vec![Entry::Yank {
            version: "2.0.0".into(),
        }],
    );
    assert!(out.contains("⚠ version 2.0.0 is not released"), "{out}");
    // Granting what it does not hold; yanking twice in one record; releasing twice in one.
    let (_, out) = review(
        1,
        vec![
            Entry::Grant {
                public_key: owner.public_key.clone(),
                permissions: vec![Permission::Release],
            },
            Entry::Yank {
                version: "1.0.0".into(),
            },
            Entry::Yank {
                version: "1.0.0".into(),
            },
        ],
    );
    assert!(
        out.contains("lacks the release permission on this package, needed to grant it"),
        "{out}"
    );
    assert!(out.contains("⚠ version 1.0.0 is already yanked"), "{out}");
    let (_, out) = review(
        0,
        vec![
            Entry::Release {
                version: "3.0.0".into(),
                digest,
            },
            Entry::Release {
                version: "3.0.0".into(),
                digest,
            },
        ],
    );
    assert!(
        out.contains("⚠ version 3.0.0 is already released (earlier in this record)"),
        "{out}"
    );
    // A log that could not be read is said, not silently skipped.
    let mut s = state();
    update(&mut s, Action::KeysLoaded(vec![owner.clone()]));
    key(&mut s, KeyCode::Char('p'));
    let t = s.form.preparing();
    let pkg: PackageName = "demo:hello".parse().expect("package");
    update(
        &mut s,
        Action::FormLog(t, pkg, Err("connection refused".into())),
    );
    update(
        &mut s,
        Action::Prepared(t, Ok(prepared("demo:hello", vec![]))),
    );
    let out = text(&render(&mut s, 200, 30));
    assert!(
        out.contains(
            "⚠ not checked against the package log (versions, permissions): connection refused"
        ),
        "{out}"
    );
}

/// Ctrl-G asks for the new key's name (a free one suggested), refuses a bad or taken name,
/// and Esc cancels.
#[test]
fn ctrl_g_asks_for_the_key_name() {
    let mut s = state();
    update(&mut s, Action::KeysLoaded(vec![keyinfo("default", 1)]));
    key(&mut s, KeyCode::Char('p'));
    typed(&mut s, "demo:hello");
    let fx = ctrl(&mut s, 'g');
    assert!(fx.is_empty(), "nothing generated before the name: {fx:?}");
    let out = screen(&mut s);
    assert!(out.contains("New key name: key-2"), "{out}");
    // Typing goes to the name, not the focused field.
    for _ in 0.."key-2".len() {
        key(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "default");
    assert_eq!(s.form.package, "demo:hello");
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    assert!(screen(&mut s).contains("✗ a key named `default` already exists"));
    for _ in 0.."default".len() {
        key(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "bad name");
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    assert!(screen(&mut s).contains("✗ invalid key name `bad name`"));
    key(&mut s, KeyCode::Esc);
    assert!(!screen(&mut s).contains("New key name"));
    assert_eq!(s.mode, Mode::Form, "Esc cancels the name, not the form");
    ctrl(&mut s, 'g');
    for _ in 0.."key-2".len() {
        key(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "release-bot");
    let fx = key(&mut s, KeyCode::Enter);
    assert!(
        matches!(fx.as_slice(), [Effect::GenerateKey(n)] if n == "release-bot"),
        "{fx:?}"
    );
    assert!(s.form.key_name.is_none());
}

fn head_moved_row(s: &mut State) -> RecordRef {
    let entries = vec![Entry::Yank {
        version: "1.0.0".into(),
    }];
    update(
        s,
        Action::StoreLoaded(vec![Tracked {
            origin: Origin::Submitted,
            entries: Some(entries),
            ..tracked(5, "demo:hello")
        }]),
    );
    polled(
        s,
        5,
        serde_json::json!({"state": "rejected", "reason": "the package record was invalid: previous record hash does not match"}),
    );
    s.table.selected = Some(ids(5));
    ids(5)
}

/// A record rebuilt from a rejected one names the original (and why it was rejected) in the
/// form, the review and the submit message; a draft open for something else is not replaced
/// unasked.
#[test]
fn a_rebuilt_record_is_linked_to_the_rejected_original() {
    let mut s = state();
    update(&mut s, Action::KeysLoaded(vec![keyinfo("default", 1)]));
    let original = head_moved_row(&mut s);
    let fx = key(&mut s, KeyCode::Char('b'));
    assert!(prepared_entries(&fx).is_some(), "{fx:?}");
    let link = format!(
        "rebuilds {} (rejected: the package record was invalid: previous record hash does not match)",
        original.record
    );
    let out = text(&render(&mut s, 220, 30));
    assert!(out.contains(&link), "{out}");
    update(
        &mut s,
        Action::Prepared(
            prepare_ticket(&fx),
            Ok(prepared(
                "demo:hello",
                vec![Entry::Yank {
                    version: "1.0.0".into(),
                }],
            )),
        ),
    );
    let out = text(&render(&mut s, 220, 30));
    assert!(out.contains("Review: exactly what will be signed"), "{out}");
    assert!(out.contains(&link), "{out}");
    // The submit carries the link (the runtime stores it with the new record).
    let fx = key(&mut s, KeyCode::Enter);
    let carried = fx.iter().find_map(|e| match e {
        Effect::Submit { rebuilds, .. } => Some(rebuilds.clone()),
        _ => None,
    });
    assert_eq!(
        carried
            .flatten()
            .map(|(r, why)| (r, why.contains("previous record hash"))),
        Some((original, true)),
        "{fx:?}"
    );
    update(&mut s, Action::Submitted(Ok(ids(6))));
    // The new record's detail pane names the rejected original once the store says.
    update(
        &mut s,
        Action::RebuildLink(
            ids(6),
            Some(wargdash::tracker::links::RebuildLink {
                original: original.record,
                reason: "previous record hash does not match".into(),
            }),
        ),
    );
    assert_eq!(s.detail.link.as_ref().map(|(k, _)| *k), Some(ids(6)));
    let out = text(&render(&mut s, 220, 30));
    assert!(
        out.contains(&format!(
            "(rebuilds rejected record {}…)",
            original.record.short(12)
        )),
        "{out}"
    );
    assert!(
        s.form.rebuilds.is_none(),
        "the next record is not a rebuild"
    );
    // What was submitted is not a draft: Ctrl-C quits without asking.
    assert!(!s.form.has_draft());

    // With a draft open, b asks first; n keeps the draft.
    let mut s = state();
    update(&mut s, Action::KeysLoaded(vec![keyinfo("default", 1)]));
    key(&mut s, KeyCode::Char('p'));
    typed(&mut s, "demo:draft");
    key(&mut s, KeyCode::Esc);
    head_moved_row(&mut s);
    let fx = key(&mut s, KeyCode::Char('b'));
    assert!(prepared_entries(&fx).is_none(), "{fx:?}");
    assert_eq!(s.mode, Mode::Form);
    let out = text(&render(&mut s, 220, 30));
    assert!(
        out.contains("replace this draft with a rebuild of record"),
        "{out}"
    );
    key(&mut s, KeyCode::Char('n'));
    assert_eq!(s.form.package, "demo:draft");
    assert!(s.form.rebuilds.is_none());
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char('b'));
    let fx = key(&mut s, KeyCode::Char('y'));
    assert!(prepared_entries(&fx).is_some(), "{fx:?}");
    assert_eq!(s.form.package, "demo:hello");
    assert_eq!(s.form.rebuilds.as_ref().map(|(k, _)| *k), Some(ids(5)));
}

/// Releasing right after an `init` this app submitted, still pending: the message says the
/// init is pending, not that the package has no log.
#[test]
fn a_release_after_a_pending_init_says_the_init_is_pending() {
    let me = keyinfo("default", 1);
    let mut s = state();
    update(&mut s, Action::KeysLoaded(vec![me.clone()]));
    let pkg: PackageName = "demo:fresh".parse().expect("package");
    update(
        &mut s,
        Action::StoreLoaded(vec![Tracked {
            origin: Origin::Submitted,
            entries: Some(vec![Entry::Init {
                public_key: me.public_key.clone(),
            }]),
            ..tracked(7, "demo:fresh")
        }]),
    );
    polled(&mut s, 7, serde_json::json!({"state": "processing"}));
    key(&mut s, KeyCode::Char('p'));
    let t = s.form.preparing();
    update(&mut s, Action::NoLogYet(t, pkg.clone()));
    assert!(matches!(s.form.step, Step::Edit));
    let out = text(&render(&mut s, 250, 30));
    assert!(
        out.contains(&format!(
            "✗ the init record {} of `demo:fresh` is still pending (processing); wait for it to publish",
            ids(7).record
        )),
        "{out}"
    );
    assert!(!out.contains("no log"), "{out}");
    // Once the init was rejected, the package really has no log.
    polled(
        &mut s,
        7,
        serde_json::json!({"state": "rejected", "reason": "nope"}),
    );
    let t = s.form.preparing();
    update(&mut s, Action::NoLogYet(t, pkg));
    let out = text(&render(&mut s, 250, 30));
    assert!(
        out.contains("✗ package `demo:fresh` has no log on this registry yet"),
        "{out}"
    );
}
