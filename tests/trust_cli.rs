//! Trust through the binary against real in-process warg-servers: `verify`, `alerts`, the
//! verified-ledger fast path of `poll --once`, `--on-alert`, `--reset-trust`, per-registry
//! tracked sets. Lies come from proxies on loopback in front of the real server
//! (`tests/common/tamper.rs` swaps the upstream; `tests/common/http_stub.rs` can answer in its
//! place).

mod common;
#[path = "common/http_stub.rs"]
mod http_stub;
#[path = "common/lies.rs"]
mod lies;
#[path = "common/proxy.rs"]
mod proxy;
#[path = "common/tamper.rs"]
mod tamper;

use common::{TestRegistry, Wd};
use serde_json::Value;
use std::time::Duration;
use wargdash::exit;
use wargdash::keys::{Algorithm, SigningKey};

fn kinds(v: &Value) -> Vec<String> {
    v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect()
}

fn publish(wd: &Wd, pkg: &str) -> Value {
    let v = wd.json(&["--json", "publish", pkg, "init", "--wait"], 0);
    assert_eq!(v["state"], "published", "{v}");
    v
}

/// The last line of stdout as JSON.
fn last_json(r: &common::Run) -> Value {
    serde_json::from_str(r.stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

#[test]
fn a_clean_registry_verifies_and_published_records_come_from_the_ledger() {
    let reg = TestRegistry::start();
    let counting = proxy::CountingProxy::start(&reg.url);
    let wd = Wd::new(Some(&counting.url));
    wd.ok(&["key", "new"], 0);
    publish(&wd, "demo:one");
    publish(&wd, "demo:two");
    std::thread::sleep(Duration::from_millis(700));
    let r = wd.ok(&["--json", "verify"], exit::OK);
    let v = last_json(&r);
    assert_eq!(v["checkpointVerified"], true, "{v}");
    assert_eq!(v["pin"], "tofu", "{v}");
    assert!(v["operatorKeyId"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(v["alerts"], serde_json::json!([]), "{v}");
    assert_eq!(v["records"]["verified"], 2, "{v}");
    assert!(v["logLength"].as_u64().unwrap() >= 3, "{v}");
    let human = wd.ok(&["verify"], exit::OK).stdout;
    assert!(human.starts_with("verified L="), "{human}");
    assert!(human.contains("(TOFU)"), "{human}");

    // poll --once: both published records resolved from the verified ledger, no GET each.
    let before = counting.counts.record_gets();
    let out = wd.ok(&["--json", "poll", "--once"], exit::OK).stdout;
    assert_eq!(counting.counts.record_gets(), before, "{out}");
    for l in out.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["state"], "published", "{v}");
        assert_eq!(v["verified"], true, "{v}");
    }
    // --no-ledger: one GET per record, and nothing is claimed as verified by the ledger path.
    let before = counting.counts.record_gets();
    wd.ok(&["--json", "poll", "--once", "--no-ledger"], exit::OK);
    assert_eq!(counting.counts.record_gets(), before + 2);
    // The full audit recomputes both roots.
    let v = last_json(&wd.ok(&["--json", "verify", "--full"], exit::OK));
    assert_eq!(v["full"]["logRootMatches"], true, "{v}");
    assert_eq!(v["full"]["mapRootMatches"], true, "{v}");
    assert_eq!(
        wd.ok(&["alerts"], 0).stdout.trim(),
        format!("no alerts for {}/", counting.url)
    );
}

#[test]
fn another_operator_key_alerts_until_the_operator_resets_trust() {
    let reg1 = TestRegistry::start();
    let proxy = tamper::TamperProxy::start(&reg1.url);
    let wd = Wd::new(Some(&proxy.url));
    let hook_out = wd.home.path().join("alerts.txt");
    let on_alert = format!(
        "printf '%s|%s\\n' \"$WARGDASH_ALERT_KIND\" \"$WARGDASH_REGISTRY\" >> {}",
        hook_out.display()
    );
    wd.ok(&["verify"], exit::OK);
    // The registry comes back with another operator key.
    let reg2 = TestRegistry::start();
    proxy.set_upstream(&reg2.url);
    let r = wd.ok(&["--json", "--on-alert", &on_alert, "verify"], exit::ALERT);
    let v = last_json(&r);
    let k = kinds(&v);
    assert!(k.contains(&"OPERATOR_KEY_CHANGED".to_string()), "{v}");
    assert_eq!(
        v["checkpointVerified"], true,
        "the signature itself verifies: {v}"
    );
    // Each alert handed once to --on-alert, with the registry.
    let handed = std::fs::read_to_string(&hook_out).unwrap();
    assert_eq!(handed.lines().count(), k.len(), "{handed}");
    assert!(
        handed.contains(&format!("OPERATOR_KEY_CHANGED|{}/", proxy.url)),
        "{handed}"
    );
    // It keeps alerting: the state does not advance on its own.
    let again = last_json(&wd.ok(&["--json", "verify"], exit::ALERT));
    assert!(kinds(&again).contains(&"OPERATOR_KEY_CHANGED".to_string()));
    // Stored, with the human text saying what to do.
    let stored = wd.ok(&["--json", "alerts"], 0).stdout;
    assert!(stored.contains("OPERATOR_KEY_CHANGED"), "{stored}");
    let human = wd.ok(&["alerts"], 0).stdout;
    assert!(human.contains("do: "), "{human}");
    // The operator's decision: accept the new key.
    let r = wd.ok(&["verify", "--reset-trust"], exit::OK);
    assert!(r.stdout.contains("accepted as the new baseline"), "{r:?}");
    wd.ok(&["verify"], exit::OK);
}

#[test]
fn a_memory_store_restart_with_the_same_key_is_recognised_and_explained() {
    let op = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let reg1 = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
    let proxy = tamper::TamperProxy::start(&reg1.url);
    let wd = Wd::new(Some(&proxy.url));
    wd.ok(&["key", "new"], 0);
    publish(&wd, "demo:before");
    std::thread::sleep(Duration::from_millis(700));
    wd.ok(&["verify"], exit::OK);
    let reg2 = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
    proxy.set_upstream(&reg2.url);
    let r = wd.ok(&["--json", "verify"], exit::ALERT);
    let v = last_json(&r);
    let k = kinds(&v);
    assert!(k.contains(&"OPERATOR_LOG_REPLACED".to_string()), "{v}");
    assert!(
        k.contains(&"REWIND".to_string()) || k.contains(&"FORK".to_string()),
        "{v}"
    );
    assert!(!k.contains(&"OPERATOR_KEY_CHANGED".to_string()), "{v}");
    assert!(
        v["explanation"]
            .as_str()
            .unwrap_or_default()
            .contains("in-memory data store"),
        "{v}"
    );
    let human = wd.ok(&["verify"], exit::ALERT).stdout;
    assert!(human.contains("note: "), "{human}");
    wd.ok(&["verify", "--reset-trust"], exit::OK);
    wd.ok(&["verify"], exit::OK);
}

#[test]
fn a_published_answer_for_a_record_not_in_the_log_raises_record_not_included() {
    use http_stub::{forward, Reply, Stub};
    let reg = TestRegistry::start();
    let ghost = format!("sha256:{}", "9a".repeat(32));
    let upstream = reg.url.clone();
    let g = ghost.clone();
    // The registry claims a record it never committed: published at index 0 (the operator's).
    let lying = Stub::start(move |req| {
        if req.method == "GET" && req.path.ends_with(&format!("/record/{g}")) {
            return Reply::json(
                200,
                &serde_json::json!({"recordId": g, "state": "published", "registryIndex": 0}),
            );
        }
        forward(&upstream, req)
    });
    let wd = Wd::new(Some(&lying.url));
    let log = wd
        .ok(&["log-id", "demo:ghost"], 0)
        .stdout
        .trim()
        .to_string();
    wd.ok(&["track", "add", &log, &ghost], 0);
    let r = wd.ok(&["--json", "poll", "--once"], exit::ALERT);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["verified"], false, "{v}");
    assert_eq!(v["alert"], "RECORD_NOT_INCLUDED", "{v}");
    assert!(r.stderr.contains("ALERT RECORD_NOT_INCLUDED"), "{r:?}");
    let v = last_json(&wd.ok(&["--json", "verify"], exit::ALERT));
    assert!(
        kinds(&v).contains(&"RECORD_NOT_INCLUDED".to_string()),
        "{v}"
    );
    assert_eq!(v["records"]["notIncluded"], 1, "{v}");
    let stored = wd.ok(&["--json", "alerts"], 0).stdout;
    assert!(
        stored.contains(&ghost),
        "the evidence names the record: {stored}"
    );
}

#[test]
fn each_registry_has_its_own_tracked_set() {
    let a = TestRegistry::start();
    let b = TestRegistry::start();
    let a_count = proxy::CountingProxy::start(&a.url);
    let wd = Wd::new(Some(&a_count.url));
    wd.ok(&["key", "new"], 0);
    publish(&wd, "demo:on-a");
    let on_a = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert_eq!(on_a.lines().count(), 1, "{on_a}");
    let on_b = wd
        .ok(&["--registry", &b.url, "--json", "track", "list"], 0)
        .stdout;
    assert_eq!(
        on_b.lines().count(),
        0,
        "B must not show A's records: {on_b}"
    );
    // B has a record of its own, tracked and polled (with its verification cycle).
    let on_b_home = Wd::new(Some(&b.url));
    on_b_home.ok(&["key", "new"], 0);
    let v = publish(&on_b_home, "demo:on-b");
    let rid = v["recordId"].as_str().unwrap().to_string();
    wd.ok(
        &[
            "--registry",
            &b.url,
            "track",
            "add",
            "--package",
            "demo:on-b",
            &rid,
        ],
        0,
    );
    std::thread::sleep(Duration::from_millis(700));
    let before = a_count
        .counts
        .total
        .load(std::sync::atomic::Ordering::SeqCst);
    let polled = wd.ok(
        &["--registry", &b.url, "--json", "poll", "--once"],
        exit::OK,
    );
    assert!(polled.stdout.contains(&rid), "{polled:?}");
    assert_eq!(
        a_count
            .counts
            .total
            .load(std::sync::atomic::Ordering::SeqCst),
        before,
        "polling B sent nothing to A"
    );
    let still = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert_eq!(still.lines().count(), 1, "{still}");
}

/// One lie through the binary: `verify --json` names exactly its alerts (exit 30), the store
/// (`alerts --json`) holds exactly them with evidence, `--on-alert` was handed exactly them, and
/// the human output says what each means.
fn lie_through_the_binary(lie: lies::Lie) {
    let scene = lies::Scene::new(lie);
    scene.tell();
    let want = lies::expected(&scene.case);
    let wd = &scene.wd;
    let handed = wd.home.path().join("handed");
    let cmd = format!("echo \"$WARGDASH_ALERT_KIND\" >> {}", handed.display());
    let r = wd.ok(&["--json", "--on-alert", &cmd, "verify"], exit::ALERT);
    assert_eq!(lies::set(kinds(&last_json(&r))), want, "{lie:?}: {r:?}");
    if matches!(lie, lies::Lie::PackageChain | lies::Lie::PackageHeadBundle) {
        assert_eq!(last_json(&r)["packages"]["failed"], 1, "{r:?}");
        assert_eq!(last_json(&r)["packages"]["proven"], 0, "{r:?}");
    }
    let stored = wd.ok(&["--json", "alerts"], 0).stdout;
    assert_eq!(
        lies::set(lies::stored_kinds(&stored)),
        want,
        "{lie:?}: {stored}"
    );
    // Each alert handed over exactly once (sorted, duplicates kept).
    let got = std::fs::read_to_string(&handed).unwrap_or_default();
    let mut handed_kinds: Vec<String> = got.lines().map(str::to_string).collect();
    handed_kinds.sort();
    assert_eq!(handed_kinds, want, "{lie:?}: --on-alert got {got:?}");
    let r = wd.ok(&["verify"], exit::ALERT);
    for k in &want {
        assert!(r.stdout.contains(&format!("ALERT {k}: ")), "{r:?}");
    }
    assert!(r.stdout.contains("  means: "), "{r:?}");
}

macro_rules! lies_through_the_binary {
    ($($name:ident => $lie:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                lie_through_the_binary(lies::Lie::$lie);
            }
        )*
    };
}

lies_through_the_binary! {
    lie_checkpoint_altered_under_its_signature => AlteredUnderSignature,
    lie_checkpoint_from_the_future => Future,
    lie_stale_checkpoint => Stale,
    lie_checkpoint_timestamp_backwards => Backwards,
    lie_older_genuine_checkpoint_after_a_newer_one => OlderGenuine,
    lie_forked_checkpoint => Forked,
    lie_changed_ledger_entry => LedgerEntry,
    lie_published_answer_for_a_record_not_in_the_log => PublishedGhost,
    lie_invalid_package_chain => PackageChain,
    lie_invalid_operator_chain => OperatorChain,
    lie_checkpoint_key_without_commit => KeyWithoutCommit,
    lie_emptied_map_bundle => EmptiedMapBundle,
    lie_altered_map_bundle => AlteredMapBundle,
    lie_emptied_map_bundle_for_a_package_head => PackageHeadBundle,
    lie_published_past_the_signed_log => PublishedPastSignedLog,
    lie_ledger_withheld_after_it_was_served => LedgerWithheld,
    lie_no_ledger_and_a_published_ghost => NoLedgerGhost,
    lie_absurd_log_length_under_the_signature => AbsurdLength,
    lie_absurd_log_length_at_first_contact => AbsurdLengthFirstContact,
    lie_operator_keys_changed => KeysChanged,
}
