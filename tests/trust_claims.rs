//! Trust II through the binary, against real in-process warg-servers behind a tampering proxy:
//! what the registry says is a claim until it is proven; no lie switches the checking off; the
//! pin and the stored state stand behind every "proven" (`log` included); the options that
//! steer a cycle are checked; one attack is one stored alert. Each test names the finding of
//! issue 15 it pins.

mod common;
#[path = "common/lies.rs"]
mod lies;
#[path = "common/tamper.rs"]
mod tamper;

use common::{TestRegistry, Wd};
use serde_json::Value;
use std::time::Duration;
use wargdash::exit;

fn last_json(r: &common::Run) -> Value {
    serde_json::from_str(r.stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

fn kinds(v: &Value) -> Vec<String> {
    v["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|a| a["kind"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A home on `url` with one package published (and so tracked).
fn published(url: &str, pkg: &str) -> Wd {
    let wd = Wd::new(Some(url));
    wd.ok(&["key", "new"], 0);
    let v = wd.json(&["--json", "publish", pkg, "init", "--wait"], 0);
    assert_eq!(v["state"], "published", "{v}");
    wd
}

/// Finding 1: a claim past every signed checkpoint is not a fact: `poll --once` says
/// `published?` with `"verified": false` and exits 10 within the grace; once the registry has
/// not signed it for longer than the grace it is RECORD_NOT_INCLUDED (exit 30). When the
/// registry later un-says it, the row follows (an event in the history) and the alert stays.
#[test]
fn a_published_claim_past_the_signed_log_is_pending_then_an_alert_that_stays() {
    let scene = lies::Scene::new(lies::Lie::PublishedPastSignedLog);
    let wd = &scene.wd;
    let ghost = scene.ghost.clone();
    // `tell` saw the claim with `poll --once` (exit 10, `published?`) and waited out the grace.
    scene.tell();
    let r = wd.ok(&["--json", "poll", "--once"], exit::ALERT);
    let row = r
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["recordId"] == ghost.as_str())
        .unwrap_or_else(|| panic!("no row for the ghost: {r:?}"));
    assert_eq!(row["verified"], false, "{row}");
    assert_eq!(row["alert"], "RECORD_NOT_INCLUDED", "{row}");
    assert!(
        row["alertDetail"]
            .as_str()
            .unwrap_or_default()
            .contains("signed log still has only"),
        "{row}"
    );
    // The registry un-says it: the ghost is `processing` again.
    scene.unsay();
    let r = wd.ok(&["--json", "poll", "--once"], exit::PENDING);
    assert!(r.stdout.contains("\"state\":\"processing\""), "{r:?}");
    // Recorded as an event, and the alert is kept.
    let history = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert!(history.contains("processing"), "{history}");
    let stored = wd.ok(&["--json", "alerts"], 0).stdout;
    assert!(
        stored.contains("RECORD_NOT_INCLUDED") && stored.contains(&ghost),
        "{stored}"
    );
}

/// Finding 2: without a ledger from the first contact, records are still proven — by their
/// package chains and heads (warg's own route) — and `poll --once` says so.
#[test]
fn without_a_ledger_records_are_proven_by_their_package_chains() {
    let reg = TestRegistry::start();
    let proxy = tamper::TamperProxy::start(&reg.url);
    let wd = published(&proxy.url, "demo:chained");
    std::thread::sleep(Duration::from_millis(700));
    proxy.set_hook(Box::new(|_m, path, _s, body| {
        if path == "/v1/ledger" {
            br#"{"status":404,"message":"not found"}"#.to_vec()
        } else {
            body
        }
    }));
    proxy.set_status_hook(Box::new(
        |_m, path, s| if path == "/v1/ledger" { 404 } else { s },
    ));
    let v = last_json(&wd.ok(&["--json", "verify"], exit::OK));
    assert_eq!(kinds(&v), Vec::<String>::new(), "{v}");
    assert_eq!(v["records"]["verified"], 1, "{v}");
    assert_eq!(v["packages"]["proven"], 1, "{v}");
    let out = wd.ok(&["--json", "poll", "--once"], exit::OK).stdout;
    let row: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(row["verified"], true, "{row}");
}

/// Finding 4: `log` stands on the pinned, verified state: after the operator key changes it
/// proves nothing and exits 30 with OPERATOR_KEY_CHANGED, as `verify` does.
#[test]
fn log_after_an_operator_key_change_proves_nothing() {
    let reg1 = TestRegistry::start();
    let proxy = tamper::TamperProxy::start(&reg1.url);
    let wd = published(&proxy.url, "demo:keyed");
    std::thread::sleep(Duration::from_millis(700));
    wd.ok(&["log", "demo:keyed"], exit::OK);
    // The registry comes back under another operator key, with the same package published.
    let reg2 = TestRegistry::start();
    proxy.set_upstream(&reg2.url);
    let other = published(&proxy.url, "demo:keyed");
    drop(other);
    std::thread::sleep(Duration::from_millis(700));
    let r = wd.ok(&["--json", "log", "demo:keyed"], exit::ALERT);
    assert!(
        r.stderr.contains("alert OPERATOR_KEY_CHANGED"),
        "the pin stands behind `log`: {r:?}"
    );
    for l in r.stdout.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert!(
            v["proof"]
                .as_str()
                .unwrap_or_default()
                .starts_with("checkpoint not verified: OPERATOR_KEY_CHANGED"),
            "{v}"
        );
    }
}

/// Finding 5: `verify --full` audits the checkpoint this run verified, not a second one
/// fetched afterwards (here: every later fetch serves a logRoot nobody signed).
#[test]
fn verify_full_audits_the_checkpoint_it_verified() {
    let reg = TestRegistry::start();
    let proxy = tamper::TamperProxy::start(&reg.url);
    let wd = published(&proxy.url, "demo:full");
    std::thread::sleep(Duration::from_millis(700));
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = served.clone();
    proxy.set_hook(Box::new(move |_m, path, status, body| {
        if path != "/v1/fetch/checkpoint" || status != 200 {
            return body;
        }
        if n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return body;
        }
        let mut v: Value = serde_json::from_slice(&body).unwrap();
        v["contents"]["logRoot"] = format!("sha256:{}", "cd".repeat(32)).into();
        serde_json::to_vec(&v).unwrap()
    }));
    let v = last_json(&wd.ok(&["--json", "verify", "--full"], exit::OK));
    assert_eq!(v["full"]["logRootMatches"], true, "{v}");
    assert_eq!(v["full"]["mapRootMatches"], true, "{v}");
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one checkpoint fetched, verified and audited"
    );
}

/// Finding 6: a malformed pin is a usage error (exit 2) for every command that runs a cycle,
/// the dashboard included; so is an out-of-range age in the config.
#[test]
fn a_malformed_pin_is_a_usage_error_everywhere() {
    let reg = TestRegistry::start();
    let wd = published(&reg.url, "demo:pinned");
    for cmd in [
        vec!["verify"],
        vec!["poll", "--once"],
        vec!["log", "demo:pinned"],
    ] {
        let mut args = vec!["--pin-operator-key", "sha256:nothex"];
        args.extend(cmd.iter().copied());
        let r = wd.ok(&args, exit::USAGE);
        assert!(r.stderr.contains("--pin-operator-key"), "{args:?}: {r:?}");
    }
    // A malformed pin in the config, for this registry.
    let dir = wd.home.path().join("config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        format!(
            "{{\"registries\": {{\"{}\": {{\"operatorKeyId\": \"d6d9\"}}}}}}",
            reg.url
        ),
    )
    .unwrap();
    let r = wd.ok(&["poll", "--once"], exit::USAGE);
    assert!(r.stderr.contains("operatorKeyId"), "{r:?}");
    std::fs::write(dir.join("config.json"), r#"{"maxCheckpointAge": 0}"#).unwrap();
    wd.ok(&["verify"], exit::USAGE);
    // The dashboard refuses before it takes the terminal.
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let ctx = wargdash::context::Ctx {
        paths: wargdash::config::Paths::under(wd.home.path()),
        config: Default::default(),
        overrides: wargdash::context::Overrides {
            registry: Some(reg.url.clone()),
            pin_operator_key: Some("sha256:nothex".into()),
            request_timeout: 5,
            ..Default::default()
        },
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let opts = wargdash::ui::DashOptions {
        interval: Duration::from_secs(1),
        concurrency: 4,
        readonly: true,
        demo: false,
        mouse: false,
    };
    let r = rt.block_on(wargdash::ui::run(&ctx, opts));
    assert_eq!(r.err().map(|f| f.code), Some(exit::USAGE));
}

/// Finding 7: `poll --once` fails (30) when its own cycle alerts, whatever the records say.
#[test]
fn poll_once_exits_30_when_its_cycle_alerts() {
    let scene = lies::Scene::new(lies::Lie::AlteredUnderSignature);
    scene.tell();
    let r = scene.wd.ok(&["--json", "poll", "--once"], exit::ALERT);
    assert!(r.stderr.contains("ALERT CHECKPOINT_SIGNATURE"), "{r:?}");
}

/// Finding 8: one attack seen by six cycles is one stored alert, seen six times.
#[test]
fn six_cycles_of_one_attack_store_one_alert() {
    let scene = lies::Scene::new(lies::Lie::Forked);
    scene.tell();
    for _ in 0..6 {
        scene.wd.ok(&["verify"], exit::ALERT);
    }
    let stored = scene.wd.ok(&["--json", "alerts"], 0).stdout;
    let rows: Vec<Value> = stored
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(rows.len(), 1, "{stored}");
    assert_eq!(rows[0]["kind"], "FORK", "{stored}");
    assert_eq!(rows[0]["count"], 6, "{stored}");
    // A clean cycle ends the attack: the next one is a row of its own.
    scene.proxy.clear_hook();
    scene.wd.ok(&["verify"], exit::OK);
    scene.tell();
    scene.wd.ok(&["verify"], exit::ALERT);
    let stored = scene.wd.ok(&["--json", "alerts"], 0).stdout;
    assert_eq!(stored.lines().count(), 2, "{stored}");
}

/// Finding 9: a registry that times out on `proof/inclusion` during the head proofs is asked
/// again later: no RECORD_NOT_INCLUDED, no `--on-alert`, and the run says it did not finish.
#[test]
fn a_timeout_on_the_head_proofs_is_not_an_alert() {
    let reg = TestRegistry::start();
    let proxy = tamper::TamperProxy::start(&reg.url);
    let wd = published(&proxy.url, "demo:slow");
    std::thread::sleep(Duration::from_millis(700));
    proxy.set_hook(Box::new(|_m, path, _s, body| {
        if path == "/v1/proof/inclusion" {
            std::thread::sleep(Duration::from_millis(2500));
        }
        body
    }));
    let handed = wd.home.path().join("handed");
    let cmd = format!("echo \"$WARGDASH_ALERT_KIND\" >> {}", handed.display());
    let r = wd.ok(
        &[
            "--request-timeout",
            "1",
            "--on-alert",
            &cmd,
            "--json",
            "verify",
        ],
        exit::UNREACHABLE,
    );
    assert_eq!(kinds(&last_json(&r)), Vec::<String>::new(), "{r:?}");
    assert!(!handed.exists(), "no hook ran");
    assert_eq!(wd.ok(&["--json", "alerts"], 0).stdout.trim(), "");
}

/// A registry that fails its trust endpoints (500 on `fetch/logs`) does not switch checking
/// off: `poll --once` says it could not verify, and a `published` answer nothing proves stays a
/// claim (exit 10), never a success.
#[test]
fn a_failing_cycle_leaves_claims_pending() {
    let reg = TestRegistry::start();
    let proxy = tamper::TamperProxy::start(&reg.url);
    let wd = published(&proxy.url, "demo:failing");
    proxy.set_status_hook(Box::new(
        |_m, path, s| {
            if path == "/v1/fetch/logs" {
                500
            } else {
                s
            }
        },
    ));
    let r = wd.ok(&["--json", "poll", "--once"], exit::PENDING);
    assert!(r.stderr.contains("could not be verified"), "{r:?}");
    let row: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(row["verified"], false, "{row}");
}

/// The pin is checked before anything is fetched: a checkpoint signed by another key than the
/// pinned one is OPERATOR_KEY_CHANGED even when the registry then fails to serve its operator
/// log.
#[test]
fn a_pin_mismatch_alerts_before_any_fetch() {
    let reg = TestRegistry::start();
    let proxy = tamper::TamperProxy::start(&reg.url);
    let wd = Wd::new(Some(&proxy.url));
    proxy.set_status_hook(Box::new(
        |_m, path, s| {
            if path == "/v1/fetch/logs" {
                500
            } else {
                s
            }
        },
    ));
    let other = format!("sha256:{}", "12".repeat(32));
    let r = wd.ok(
        &["--json", "--pin-operator-key", &other, "verify"],
        exit::ALERT,
    );
    assert_eq!(kinds(&last_json(&r)), vec!["OPERATOR_KEY_CHANGED"], "{r:?}");
}

/// A ledger served in short pages (a proxy paging smaller than the reference server) is read
/// to the end, not taken for a short ledger.
#[test]
fn short_ledger_pages_are_read_on() {
    let reg = TestRegistry::start();
    let proxy = tamper::TamperProxy::start(&reg.url);
    let wd = published(&proxy.url, "demo:paged");
    std::thread::sleep(Duration::from_millis(700));
    // Each page cut to its first entry (64 bytes).
    proxy.set_hook(Box::new(|_m, path, _s, mut body| {
        if path.starts_with("/v1/ledger/records/") && body.len() > 64 {
            body.truncate(64);
        }
        body
    }));
    let v = last_json(&wd.ok(&["--json", "verify"], exit::OK));
    assert_eq!(kinds(&v), Vec::<String>::new(), "{v}");
    assert_eq!(v["records"]["verified"], 1, "{v}");
}

/// `log` whose head proof times out proves nothing this time and raises nothing: a registry
/// that cannot be asked is not caught at a lie.
#[test]
fn log_with_a_head_proof_timeout_is_not_an_alert() {
    let reg = TestRegistry::start();
    let proxy = tamper::TamperProxy::start(&reg.url);
    let wd = published(&proxy.url, "demo:slowlog");
    std::thread::sleep(Duration::from_millis(700));
    wd.ok(&["verify"], exit::OK);
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = calls.clone();
    proxy.set_hook(Box::new(move |_m, path, _s, body| {
        // The cycle's own operator-head proof passes; the package head's times out.
        if path == "/v1/proof/inclusion" && n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0
        {
            std::thread::sleep(Duration::from_millis(2500));
        }
        body
    }));
    let r = wd.run(&["--request-timeout", "1", "--json", "log", "demo:slowlog"]);
    assert!(!r.stderr.contains("RECORD_NOT_INCLUDED"), "{r:?}");
    assert_ne!(r.code, exit::ALERT, "{r:?}");
    assert!(r.stdout.contains("head proof not asked"), "{r:?}");
    assert_eq!(wd.ok(&["--json", "alerts"], 0).stdout.trim(), "");
}
