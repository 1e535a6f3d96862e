//! Package logs (`trust::package`, `wargdash log`) against a real in-process warg-server: a log
//! with every kind of entry is listed and proven; the library's validation agrees with
//! warg-protocol's on the real log; a tampering proxy in front of the real server (altered
//! signature, altered content, hidden head) raises PACKAGE_LOG_INVALID / RECORD_NOT_INCLUDED
//! with exit 30; an unknown package exits 17.

mod common;
#[path = "common/http_stub.rs"]
mod http_stub;
#[path = "common/tamper.rs"]
mod tamper;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{repo_path, TestRegistry, Wd};
use http_stub::{Reply, Stub};
use serde_json::Value;
use std::collections::BTreeMap;
use tamper::TamperProxy;
use wargdash::exit;
use wargdash::ids::{KeyId, PackageName, RecordId};
use wargdash::record::Entry;
use wargdash::registry::{ClientOptions, RegistryClient};
use wargdash::trust::checkpoint::Checkpoint;
use wargdash::trust::package::{
    describe, fetch_package_log, fetch_package_log_paged, prove_package, validate_package_log,
    PackageEnvelope,
};

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

struct Published {
    /// (recordId, registryIndex) of each record, in log order.
    records: Vec<(String, u64)>,
    owner: KeyId,
    friend: KeyId,
}

/// `demo:pkg`: init, release 1.0.0, release 1.1.0, yank 1.1.0, grant release to another key,
/// revoke it — all published through the binary.
fn publish_everything(wd: &Wd, pkg: &str) -> Published {
    let owner = wd.json(&["--json", "key", "new"], 0);
    let mut records = Vec::new();
    let mut push = |v: Value| {
        assert_eq!(v["state"], "published", "{v}");
        records.push((s(&v["recordId"]), v["registryIndex"].as_u64().unwrap()));
    };
    push(wd.json(&["--json", "publish", pkg, "init", "--wait"], 0));
    for (ver, file) in [
        ("1.0.0", "assets/hello.wasm"),
        ("1.1.0", "assets/hello-1.1.wasm"),
    ] {
        let f = repo_path(file);
        push(wd.json(
            &[
                "--json",
                "publish",
                pkg,
                "release",
                ver,
                f.to_str().unwrap(),
                "--wait",
            ],
            0,
        ));
    }
    push(wd.json(&["--json", "publish", pkg, "yank", "1.1.0", "--wait"], 0));
    let other = Wd::new(wd.registry.as_deref());
    let friend = other.json(&["--json", "key", "new", "--name", "friend"], 0);
    push(wd.json(
        &[
            "--json",
            "publish",
            pkg,
            "grant",
            &s(&friend["publicKey"]),
            "release",
            "--wait",
        ],
        0,
    ));
    push(wd.json(
        &[
            "--json",
            "publish",
            pkg,
            "revoke",
            &s(&friend["keyId"]),
            "release",
            "--wait",
        ],
        0,
    ));
    Published {
        records,
        owner: s(&owner["keyId"]).parse().unwrap(),
        friend: s(&friend["keyId"]).parse().unwrap(),
    }
}

fn short(k: &KeyId) -> String {
    format!("sha256:{}…", k.short(8))
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn every_record_of_a_package_is_listed_with_what_it_did_and_proven() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let pkg = "demo:pkg";
    let p = publish_everything(&wd, pkg);
    let log = pkg.parse::<PackageName>().unwrap().log_id();
    let did = [
        "init".to_string(),
        "release 1.0.0".into(),
        "release 1.1.0".into(),
        "yank 1.1.0".into(),
        format!("grant release → {}", short(&p.friend)),
        format!("revoke release from {}", short(&p.friend)),
    ];

    // Table.
    let r = wd.ok(&["log", pkg], 0);
    let rows: Vec<&str> = r.stdout.lines().skip(2).collect();
    assert_eq!(rows.len(), 6, "{r:?}");
    assert!(
        r.stdout
            .starts_with(&format!("demo:pkg ({log}) at checkpoint length ")),
        "{r:?}"
    );
    for (i, (row, (rid, idx))) in rows.iter().zip(&p.records).enumerate() {
        let rid: RecordId = rid.parse().unwrap();
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[0], i.to_string(), "{row}");
        assert_eq!(cols[1], idx.to_string(), "{row}");
        assert_eq!(cols[2], rid.short(12), "{row}");
        assert!(cols[3].len() == 10 && cols[4].ends_with('Z'), "{row}");
        assert_eq!(cols[5], short(&p.owner), "{row}");
        assert!(
            row.contains(&did[i]),
            "row {i} should say `{}`: {row}",
            did[i]
        );
        assert!(row.trim_end().ends_with(" proven"), "{row}");
    }
    assert!(r.stderr.is_empty(), "{r:?}");

    // JSON, by name and by log ID.
    for (arg, named) in [(pkg.to_string(), true), (log.to_string(), false)] {
        let r = wd.ok(&["--json", "log", &arg], 0);
        let v = json_lines(&r.stdout);
        assert_eq!(v.len(), 6, "{r:?}");
        for (i, (row, (rid, idx))) in v.iter().zip(&p.records).enumerate() {
            assert_eq!(
                row["package"],
                if named { Value::from(pkg) } else { Value::Null }
            );
            assert_eq!(row["logId"], log.to_string());
            assert_eq!(row["index"], i);
            assert_eq!(row["registryIndex"], *idx);
            assert_eq!(row["recordId"], rid.as_str());
            assert_eq!(row["signer"], p.owner.to_string());
            assert_eq!(row["proof"], "proven");
            let t = s(&row["time"]);
            assert!(
                t.len() == 20 && &t[10..11] == "T" && t.ends_with('Z'),
                "{t}"
            );
            let entries = row["entries"].as_array().unwrap();
            assert_eq!(entries.len(), 1, "{row}");
        }
        assert_eq!(v[0]["entries"][0]["kind"], "init");
        assert_eq!(v[1]["entries"][0]["kind"], "release");
        assert_eq!(v[1]["entries"][0]["version"], "1.0.0");
        assert!(s(&v[1]["entries"][0]["digest"]).starts_with("sha256:"));
        assert_eq!(
            v[3]["entries"][0],
            serde_json::json!({"kind": "yank", "version": "1.1.0"})
        );
        assert_eq!(v[4]["entries"][0]["kind"], "grant");
        assert_eq!(
            v[4]["entries"][0]["permissions"],
            serde_json::json!(["release"])
        );
        assert_eq!(v[5]["entries"][0]["keyId"], p.friend.to_string());
    }

    // The library: paging, validation against warg-protocol as oracle, the head proof.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = RegistryClient::new(&reg.url, ClientOptions::default()).unwrap();
        let cp = Checkpoint::from_signed(c.checkpoint().await.unwrap()).unwrap();
        let all = fetch_package_log(&c, cp.log_length, &log).await.unwrap();
        assert_eq!(all.len(), 6);
        for limit in [1, 2, 4] {
            let paged = fetch_package_log_paged(&c, cp.log_length, &log, limit)
                .await
                .unwrap();
            assert_eq!(paged, all, "limit {limit}");
        }
        let pl = validate_package_log(&log, &all).unwrap();
        let ours: Vec<(String, u64)> = pl
            .records
            .iter()
            .map(|r| (r.record_id.to_string(), r.registry_index))
            .collect();
        assert_eq!(ours, p.records);
        let described: Vec<String> = pl.records.iter().map(describe).collect();
        assert_eq!(described, did);

        let oracle = oracle_state(&all);
        let head = oracle.head().as_ref().unwrap();
        assert_eq!(head.digest.to_string(), pl.head.to_string());
        let secs = head
            .timestamp
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert_eq!(secs, pl.records[5].time_secs);
        // Releases and their yanked state, from our entries and from warg-protocol.
        let mut ours: BTreeMap<String, bool> = BTreeMap::new();
        for r in &pl.records {
            for e in &r.entries {
                match e {
                    Entry::Release { version, .. } => {
                        ours.insert(version.clone(), false);
                    }
                    Entry::Yank { version } => {
                        ours.insert(version.clone(), true);
                    }
                    _ => {}
                }
            }
        }
        let theirs: BTreeMap<String, bool> = oracle
            .releases()
            .map(|r| (r.version.to_string(), r.yanked()))
            .collect();
        assert_eq!(ours, theirs);
        let perms = |k: &KeyId| {
            let id: warg_crypto::signing::KeyID = k.to_string().into();
            oracle
                .key_permissions(&id)
                .map(|p| p.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(perms(&p.owner), Some(vec!["release".into(), "yank".into()]));
        assert_eq!(perms(&p.friend), Some(vec![]));

        prove_package(&c, &cp, &pl).await.unwrap();
        // The head proof is specific: a log that stops one record short does not prove.
        let short = validate_package_log(&log, &all[..5]).unwrap();
        let e = prove_package(&c, &cp, &short).await.unwrap_err();
        // A proof received and failed (not a registry that could not be asked).
        assert!(
            matches!(e, wargdash::trust::cycle::HeadProofError::Failed(ref m) if !m.is_empty()),
            "{e:?}"
        );
    });
}

/// warg-protocol's own package validation over the fetched envelopes.
fn oracle_state(all: &[PackageEnvelope]) -> warg_protocol::package::LogState {
    let mut st = warg_protocol::package::LogState::new();
    for r in all {
        let body: warg_protocol::ProtoEnvelopeBody = serde_json::from_value(serde_json::json!({
            "contentBytes": r.content_bytes, "keyId": r.key_id, "signature": r.signature,
        }))
        .unwrap();
        let env: warg_protocol::ProtoEnvelope<warg_protocol::package::PackageRecord> =
            body.try_into().unwrap();
        st = st.validate(&env).unwrap();
    }
    st
}

/// A hook rewriting the package records of `fetch/logs` answers (the operator log passes).
fn on_package_records(f: impl Fn(&mut Vec<Value>) + Send + Sync + 'static) -> tamper::Hook {
    Box::new(move |_m, path, status, body| {
        if path != "/v1/fetch/logs" || status != 200 {
            return body;
        }
        let mut v: Value = serde_json::from_slice(&body).unwrap();
        let Some(pkgs) = v.get_mut("packages").and_then(|p| p.as_object_mut()) else {
            return body;
        };
        for recs in pkgs.values_mut() {
            if let Some(a) = recs.as_array_mut() {
                f(a);
            }
        }
        serde_json::to_vec(&v).unwrap()
    })
}

/// A real registry where `pkg` was initialised, released 1.0.0 and yanked it, through the
/// binary of the returned home.
fn init_release_yank(pkg: &str) -> (TestRegistry, Wd) {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    wd.ok(&["key", "new"], 0);
    wd.ok(&["publish", pkg, "init", "--wait"], 0);
    let hello = repo_path("assets/hello.wasm");
    wd.ok(
        &[
            "publish",
            pkg,
            "release",
            "1.0.0",
            hello.to_str().unwrap(),
            "--wait",
        ],
        0,
    );
    wd.ok(&["publish", pkg, "yank", "1.0.0", "--wait"], 0);
    (reg, wd)
}

#[test]
fn a_tampered_package_log_is_an_alert_and_exit_30() {
    let (reg, wd) = init_release_yank("demo:tampered");
    let pkg = "demo:tampered";
    wd.ok(&["log", pkg], 0);

    let proxy = TamperProxy::start(&reg.url);
    let via = Wd::new(Some(&proxy.url));
    via.ok(&["log", pkg], 0);

    // 1. Record 1 carries record 0's (well-formed, valid for other bytes) signature.
    proxy.set_hook(on_package_records(|recs| {
        if recs.len() > 1 {
            recs[1]["signature"] = recs[0]["signature"].clone();
        }
    }));
    let r = via.ok(&["log", pkg], exit::ALERT);
    assert!(
        r.stderr.contains("alert PACKAGE_LOG_INVALID: package log "),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("package record 1 (registry index "),
        "{r:?}"
    );
    assert!(r.stderr.contains("unable to verify signature"), "{r:?}");
    // What the registry served is still shown, none of it proven.
    let rows: Vec<&str> = r.stdout.lines().skip(2).collect();
    assert_eq!(rows.len(), 3, "{r:?}");
    let unproven = "not proven: chain invalid (see alert)";
    assert!(
        rows.iter().all(|l| l.trim_end().ends_with(unproven)),
        "{r:?}"
    );
    let v = json_lines(&via.ok(&["--json", "log", pkg], exit::ALERT).stdout);
    assert_eq!(v.len(), 3);
    let why = "chain invalid: package record 1 (registry index ";
    assert!(v.iter().all(|r| s(&r["proof"]).starts_with(why)), "{v:?}");

    // 2. Record 1's content rewritten (release 1.0.0 → 9.0.0) with a matching fetch token:
    // only the signature can tell, and it does.
    proxy.set_hook(on_package_records(|recs| {
        if recs.len() > 1 {
            let mut bytes = B64.decode(s(&recs[1]["contentBytes"])).unwrap();
            let at = bytes.windows(5).position(|w| w == b"1.0.0").unwrap();
            bytes[at] = b'9';
            recs[1]["contentBytes"] = B64.encode(&bytes).into();
            recs[1]["fetchToken"] = RecordId::for_package_record(&bytes).to_string().into();
        }
    }));
    let r = via.ok(&["log", pkg], exit::ALERT);
    assert!(r.stderr.contains("alert PACKAGE_LOG_INVALID"), "{r:?}");
    assert!(
        r.stderr.contains("package record 1 (registry index "),
        "{r:?}"
    );
    assert!(r.stderr.contains("unable to verify signature"), "{r:?}");
    assert!(
        r.stdout.contains("release 9.0.0"),
        "the served content is shown: {r:?}"
    );

    // 2b. Hostile text in what an invalid record says is escaped on the terminal.
    proxy.set_hook(on_package_records(|recs| {
        if recs.len() > 1 {
            let mut bytes = B64.decode(s(&recs[1]["contentBytes"])).unwrap();
            let at = bytes.windows(5).position(|w| w == b"1.0.0").unwrap();
            bytes[at..at + 5].copy_from_slice(b"\x1b[2J0");
            recs[1]["contentBytes"] = B64.encode(&bytes).into();
            recs[1]["fetchToken"] = RecordId::for_package_record(&bytes).to_string().into();
        }
    }));
    let r = via.ok(&["log", pkg], exit::ALERT);
    assert!(r.stdout.contains("release \\x1b[2J0"), "{r:?}");
    assert!(
        !r.stdout.contains('\x1b') && !r.stderr.contains('\x1b'),
        "{r:?}"
    );

    // 3. The registry hides the head (serves a valid but shorter chain): the chain validates,
    // the head proof does not.
    proxy.set_hook(on_package_records(|recs| {
        recs.pop();
    }));
    let r = via.ok(&["--json", "log", pkg], exit::ALERT);
    assert!(r.stderr.contains("alert RECORD_NOT_INCLUDED"), "{r:?}");
    let v = json_lines(&r.stdout);
    assert_eq!(v.len(), 2);
    assert!(
        s(&v[1]["proof"]).starts_with("head proof failed: "),
        "{v:?}"
    );
    let r = via.ok(&["log", pkg], exit::ALERT);
    assert!(
        r.stdout.lines().skip(2).all(|l| l
            .trim_end()
            .ends_with("not proven: head proof failed (see alert)")),
        "{r:?}"
    );

    // 4. A checkpoint whose signature does not verify (timestamp bumped): nothing is proven
    // against it.
    proxy.set_hook(Box::new(|_m, path, status, body| {
        if path != "/v1/fetch/checkpoint" || status != 200 {
            return body;
        }
        let mut v: Value = serde_json::from_slice(&body).unwrap();
        let ts = v["contents"]["timestamp"].as_u64().unwrap();
        v["contents"]["timestamp"] = (ts + 1).into();
        serde_json::to_vec(&v).unwrap()
    }));
    let r = via.ok(&["--json", "log", pkg], exit::ALERT);
    assert!(
        r.stderr
            .contains("alert CHECKPOINT_SIGNATURE: checkpoint signature"),
        "{r:?}"
    );
    let v = json_lines(&r.stdout);
    assert_eq!(v.len(), 3);
    assert!(
        v.iter()
            .all(|r| s(&r["proof"]).starts_with("checkpoint not verified: ")),
        "{v:?}"
    );

    // 5. Untampered again: all proven.
    proxy.clear_hook();
    via.ok(&["log", pkg], 0);
}

/// Paging is bounded against a registry that lies about `more`: a replayed page is refused,
/// and so is an endless log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_refuses_pages_that_do_not_advance_and_endless_logs() {
    let (reg, _wd) = init_release_yank("demo:paged");
    let pkg = "demo:paged";
    let log = pkg.parse::<PackageName>().unwrap().log_id();
    let proxy = TamperProxy::start(&reg.url);
    let c = RegistryClient::new(&proxy.url, ClientOptions::default()).unwrap();
    let cp = Checkpoint::from_signed(c.checkpoint().await.unwrap()).unwrap();
    let all = fetch_package_log_paged(&c, cp.log_length, &log, 1)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);

    // Every answer replays the first page.
    let first = std::sync::Mutex::new(None::<Vec<Value>>);
    proxy.set_hook(on_package_records(move |recs| {
        let mut f = first.lock().unwrap();
        match &*f {
            None => *f = Some(recs.clone()),
            Some(p) => *recs = p.clone(),
        }
    }));
    let e = fetch_package_log_paged(&c, cp.log_length, &log, 2)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("does not advance"), "{e}");
    assert_eq!(exit::api_code(&e), exit::REGISTRY_FAULT);

    // An endless log (a stub: the real server would choke on made-up fetch tokens): every
    // page full, with new fetch tokens and indices, and `more`.
    let n = std::sync::atomic::AtomicU64::new(0);
    let stub = Stub::start(move |req| {
        if req.path != "/v1/fetch/logs" {
            return Reply::json(404, &serde_json::json!({"status": 404}));
        }
        let recs: Vec<Value> = (0..1000)
            .map(|_| {
                let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                serde_json::json!({"contentBytes": "", "keyId": "", "signature": "",
                    "registryIndex": i, "fetchToken": format!("sha256:{i:064x}")})
            })
            .collect();
        Reply::json(
            200,
            &serde_json::json!({"more": true, "packages": { log.to_string(): recs }}),
        )
    });
    let sc = RegistryClient::new(&stub.url, ClientOptions::default()).unwrap();
    let e = fetch_package_log(&sc, cp.log_length, &log)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("more than 100000 records"), "{e}");
    assert_eq!(stub.requests("POST", "/v1/fetch/logs").len(), 101);
    proxy.clear_hook();
    assert_eq!(
        fetch_package_log(&c, cp.log_length, &log).await.unwrap(),
        all
    );
}

#[test]
fn unknown_packages_and_bad_arguments() {
    let reg = TestRegistry::start();
    let wd = Wd::new(Some(&reg.url));
    let r = wd.ok(&["log", "demo:nothing-here"], exit::LOG_NOT_FOUND);
    assert!(
        r.stderr
            .contains("package log demo:nothing-here does not exist"),
        "{r:?}"
    );
    let unknown = format!("sha256:{}", "1".repeat(64));
    let r = wd.ok(&["--json", "log", &unknown], exit::LOG_NOT_FOUND);
    assert!(r.stdout.is_empty() && r.stderr.contains(&unknown), "{r:?}");
    wd.ok(&["log", "NotAName"], exit::USAGE);
    wd.ok(&["log", "sha256:xyz"], exit::USAGE);
    // Registry errors keep their codes.
    let down = Wd::new(Some(&common::refused_url()));
    down.ok(&["log", "demo:pkg"], exit::UNREACHABLE);
}
