//! The reference server's traps in the publish flow: a head that moves between fetch and submit,
//! and clocks that disagree. Against a real warg-server.

mod common;

use common::{repo_path, TestRegistry, Wd};
use std::time::Duration;
use wargdash::exit;
use wargdash::ids::{ContentDigest, PackageName};
use wargdash::keys::{Algorithm, SigningKey};
use wargdash::publish::{self, BuildOptions, PublishError};
use wargdash::record::{Entry, RecordTime};
use wargdash::registry::{ClientOptions, RegistryClient};

/// Waits until the registry signs a new checkpoint, so the next few seconds are before the next.
async fn just_after_checkpoint(client: &RegistryClient) {
    let first = client.checkpoint().await.unwrap().contents;
    loop {
        let now = client.checkpoint().await.unwrap().contents;
        if now.log_length != first.log_length || now.timestamp != first.timestamp {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Submits a yank of `version` built on the current head without waiting: it is validated at
/// once but only becomes the visible head at the next checkpoint.
async fn move_head(client: &RegistryClient, key: &SigningKey, pkg: &PackageName, version: &str) {
    let p = publish::prepare(
        client,
        pkg,
        vec![Entry::Yank {
            version: version.into(),
        }],
        BuildOptions::default(),
    )
    .await
    .unwrap();
    let signed = p.content.sign(key);
    publish::submit(client, pkg, &signed, &Default::default(), false, |_| {})
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_that_moved_is_explained_and_rebuilt() {
    // A slow checkpoint leaves a window where a new record is validated but not yet the head.
    let reg = TestRegistry::start_with_interval(Duration::from_secs(4));
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    let exported = wd.ok(&["key", "export", "default"], 0).stdout;
    let key = SigningKey::decode(&exported).unwrap();
    let client = RegistryClient::new(&reg.url, ClientOptions::default()).unwrap();
    let pkg: PackageName = "demo:race".parse().unwrap();
    let hello = repo_path("assets/hello.wasm");
    let hello_s = hello.to_str().unwrap().to_string();
    let greeter = repo_path("assets/greeter.wasm");
    let greeter_s = greeter.to_str().unwrap().to_string();
    let wd2 = Wd {
        home: tempfile::tempdir().unwrap(),
        registry: wd.registry.clone(),
    };
    std::fs::create_dir_all(wd2.home.path().join("data/keys")).unwrap();
    std::fs::copy(
        wd.home.path().join("data/keys/default.key"),
        wd2.home.path().join("data/keys/default.key"),
    )
    .unwrap();
    let run = |w: &Wd, args: Vec<String>| {
        let c = w.command(&args.iter().map(String::as_str).collect::<Vec<_>>());
        tokio::task::spawn_blocking(move || {
            let mut c = c;
            c.output().unwrap()
        })
    };
    let args = |v: &str| {
        vec![
            "publish".to_string(),
            "demo:race".into(),
            "--init".into(),
            "release".into(),
            v.into(),
            hello_s.clone(),
            "--wait".into(),
        ]
    };
    let out = run(&wd, args("1.0.0")).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rel = |v: &str, f: &str| {
        vec![
            "publish".to_string(),
            "demo:race".into(),
            "release".into(),
            v.into(),
            f.into(),
        ]
    };

    // Without --rebuild: rejected, explained, and the fix suggested.
    just_after_checkpoint(&client).await;
    move_head(&client, &key, &pkg, "1.0.0").await;
    let mut a = rel("2.0.0", &greeter_s);
    a.push("--wait".into());
    let out = run(&wd, a).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(exit::REJECTED),
        "{stderr}\n{stdout}"
    );
    assert!(
        stdout.contains(
            "rejected: the package record was invalid: previous record hash does not match"
        ),
        "{stdout}"
    );
    assert!(
        stderr.contains("the head of `demo:race` moved after this record was built"),
        "{stderr}"
    );
    assert!(stderr.contains("pass --rebuild"), "{stderr}");

    // With --rebuild: rebuilt on the new head once it is visible, and published.
    tokio::time::sleep(Duration::from_secs(5)).await;
    just_after_checkpoint(&client).await;
    let p = publish::prepare(
        &client,
        &pkg,
        vec![Entry::Release {
            version: "3.0.0".into(),
            digest: ContentDigest::of_bytes(b"three"),
        }],
        BuildOptions::default(),
    )
    .await
    .unwrap();
    let three = p.content.sign(&key);
    let contents = [(ContentDigest::of_bytes(b"three"), b"three".to_vec())]
        .into_iter()
        .collect();
    publish::submit(&client, &pkg, &three, &contents, false, |_| {})
        .await
        .unwrap();
    let mut b = rel("4.0.0", &greeter_s);
    b.push("--rebuild".into());
    b.push("--json".into());
    let out = run(&wd2, b).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("rebuilding on the new head"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "published");
    // The rebuilt record's prev is the record that moved the head.
    let cp = client.checkpoint().await.unwrap();
    let head = client
        .log_head(cp.contents.log_length, &pkg.log_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.record_id.to_string(), v["recordId"].as_str().unwrap());
    assert_eq!(head.content.prev, Some(three.record_id));
    // The rebuilt record names the rejected one it replaces (`track list --json`).
    let out = run(&wd2, vec!["--json".into(), "track".into(), "list".into()])
        .await
        .unwrap();
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rebuilt = rows
        .iter()
        .find(|r| r["recordId"] == v["recordId"])
        .expect("the rebuilt record is tracked");
    let original = rebuilt["rebuilds"]["recordId"].as_str().unwrap_or_default();
    let rejected = rows
        .iter()
        .find(|r| r["recordId"] == original)
        .unwrap_or_else(|| panic!("the original is tracked: {rows:?}"));
    assert_eq!(rejected["state"], "rejected", "{rows:?}");
    assert!(
        rebuilt["rebuilds"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("previous record hash does not match"),
        "{rebuilt}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_are_checked_before_signing() {
    let reg = TestRegistry::start();
    let client = RegistryClient::new(&reg.url, ClientOptions::default()).unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let pkg: PackageName = "demo:clock".parse().unwrap();
    let init = || {
        vec![Entry::Init {
            public_key: key.public_key(),
        }]
    };
    let ahead = RecordTime {
        seconds: RecordTime::now().seconds + 3600,
        nanos: 0,
    };

    // A local clock an hour ahead of the registry: refused before anything is signed.
    let err = publish::prepare(
        &client,
        &pkg,
        init(),
        BuildOptions {
            now: Some(ahead),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let PublishError::Refused(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(
        msg.starts_with("refusing to sign: the local clock is 3"),
        "{msg}"
    );
    assert!(msg.contains("--allow-clock-skew"), "{msg}");
    assert_eq!(exit::publish_code(&err), exit::USAGE);
    // Allowed explicitly: a warning instead.
    let p = publish::prepare(
        &client,
        &pkg,
        init(),
        BuildOptions {
            now: Some(ahead),
            allow_clock_skew: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        p.warnings[0].contains("ahead of the registry's latest checkpoint"),
        "{:?}",
        p.warnings
    );

    // A local clock behind the head record: refused (the registry would reject the record).
    let signed = publish::prepare(&client, &pkg, init(), BuildOptions::default())
        .await
        .unwrap()
        .content
        .sign(&key);
    publish::submit(&client, &pkg, &signed, &Default::default(), false, |_| {})
        .await
        .unwrap();
    for _ in 0..50 {
        let cp = client.checkpoint().await.unwrap();
        if client
            .log_head(cp.contents.log_length, &pkg.log_id())
            .await
            .unwrap()
            .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let behind = RecordTime {
        seconds: RecordTime::now().seconds - 3600,
        nanos: 0,
    };
    let err = publish::prepare(
        &client,
        &pkg,
        vec![Entry::Yank {
            version: "1.0.0".into(),
        }],
        BuildOptions {
            now: Some(behind),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("is earlier than the head record's time"),
        "{err}"
    );
}

#[test]
fn the_dashboard_offers_to_rebuild_a_record_whose_head_moved() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use wargdash::ids::{RecordId, Sha256Hash};
    use wargdash::tracker::store::{Origin, Tracked};
    use wargdash::ui::app::{update, Action, AppConfig, Effect, Mode, State};
    let pkg: PackageName = "demo:race".parse().unwrap();
    let key = wargdash::ids::RecordRef::new(pkg.log_id(), RecordId(Sha256Hash([5; 32])));
    let entries = vec![Entry::Yank {
        version: "1.0.0".into(),
    }];
    let mut s = State::new(
        AppConfig {
            registry: "http://x".into(),
            sandbox: false,
            readonly: false,
            interval: Duration::from_secs(1),
            color: false,
        },
        0,
    );
    update(
        &mut s,
        Action::StoreLoaded(vec![Tracked {
            log_id: key.log,
            record_id: key.record,
            package: Some(pkg.to_string()),
            origin: Origin::Submitted,
            entries: Some(entries.clone()),
            added_at: 0,
            state: Some("processing".into()),
            response: None,
            missing: None,
            polled_at: None,
            error: None,
        }]),
    );
    let body = serde_json::json!({"recordId": key.record.to_string(), "state": "rejected", "reason": "the package record was invalid: previous record hash does not match"});
    update(
        &mut s,
        Action::Polled {
            key,
            result: Ok((serde_json::from_value(body.clone()).unwrap(), body)),
            at: 0,
            latency: Duration::ZERO,
            hold: None,
        },
    );
    let flash = s.status.flash.clone().map(|f| f.text).unwrap_or_default();
    assert!(
        flash.contains("rejected because the head moved") && flash.contains("press b"),
        "{flash}"
    );
    let cmds = update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('b'), KeyModifiers::NONE)),
    );
    assert_eq!(s.mode, Mode::Form);
    let prepare = cmds.iter().find_map(|c| match c {
        Effect::Prepare {
            package, entries, ..
        } => Some((package.clone(), entries.clone())),
        _ => None,
    });
    assert_eq!(prepare, Some((pkg, entries)), "{cmds:?}");
}
