//! Every lie a tampering proxy (real HTTP on loopback, in front of a real warg-server) can tell,
//! with the exact alerts each must raise. Shared by the surfaces that must show them:
//! `verify --json`, the store (`alerts --json`), `--on-alert` (tests/trust_cli.rs) and the
//! dashboard (tests/trust_dashboard.rs).
//!
//! Needs `mod common;` and `mod tamper;` (tests/common/tamper.rs) at the test crate's root.
#![allow(dead_code)]

use crate::common::{TestRegistry, Wd};
use crate::tamper::{Hook, StatusHook, TamperProxy};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wargdash::keys::{Algorithm, SigningKey};
use wargdash::registry::model::{CheckpointContents, SignedCheckpoint};
use wargdash::trust::checkpoint::sign_contents;

/// The package every case publishes (and so tracks) through the proxy.
pub const PACKAGE: &str = "demo:lie";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lie {
    /// The timestamp altered under the original signature.
    AlteredUnderSignature,
    /// Re-signed with the operator key, an hour ahead.
    Future,
    /// Re-signed with the operator key, an hour old.
    Stale,
    /// Re-signed with the operator key, older than the last verified checkpoint.
    Backwards,
    /// The genuine checkpoint of length 1, served after a longer one was verified.
    OlderGenuine,
    /// Same length as the verified checkpoint, another map root, re-signed.
    Forked,
    /// A ledger entry changed.
    LedgerEntry,
    /// A GET answers `published` for a record that is not in the log.
    PublishedGhost,
    /// The package log's record carries a signature that does not verify.
    PackageChain,
    /// The operator log's init record carries a signature that does not verify.
    OperatorChain,
    /// A valid operator record appended to the operator log (signed by the operator key)
    /// revokes `commit` from the key that signs the checkpoints.
    KeyWithoutCommit,
    /// Inclusion proofs with the map bundle emptied (warg-client accepts this).
    EmptiedMapBundle,
    /// Inclusion proofs with one map peer altered.
    AlteredMapBundle,
    /// After a clean baseline, the map bundle emptied only in proofs of package heads (the
    /// operator log's head, at index 0, is still proven): the package check must catch it.
    PackageHeadBundle,
    /// A GET answers `published` at index L+5 (L = the signed log's length) for a record in no
    /// log, longer than the grace (`--max-checkpoint-age`).
    PublishedPastSignedLog,
    /// After a clean baseline (the ledger served and verified), `/v1/ledger` answers 404.
    LedgerWithheld,
    /// No ledger from the first contact (404), and a GET answers `published` at index 0 for a
    /// record its package log (proven by its head, warg's own route) does not hold.
    NoLedgerGhost,
    /// The checkpoint's logLength set to 10^12 under the original signature, after a clean
    /// baseline (the stored operator key catches it before anything is fetched).
    AbsurdLength,
    /// The same from the first contact (no stored key: the registry has no operator log at that
    /// length).
    AbsurdLengthFirstContact,
    /// A valid operator record appended to the operator log (signed by the operator key)
    /// grants a new key.
    KeysChanged,
}

pub struct Case {
    pub lie: Lie,
    /// The alerts it must raise, no more, no fewer.
    pub kinds: &'static [&'static str],
    /// Whether a clean verification precedes the lie (the lie contradicts stored state).
    pub baseline: bool,
    /// A maximum checkpoint age (s) for the case: the grace a registry has to sign what it
    /// calls published. Written to the home's config; the dashboard's verifier uses it too.
    pub grace: Option<u64>,
}

/// The grace given to claims in the cases that test it.
pub const GRACE: u64 = 5;

pub fn case(lie: Lie) -> Case {
    use Lie::*;
    let (kinds, baseline): (&'static [&'static str], bool) = match lie {
        AlteredUnderSignature => (&["CHECKPOINT_SIGNATURE"], false),
        Future => (&["CHECKPOINT_FUTURE"], false),
        Stale => (&["CHECKPOINT_STALE"], false),
        Backwards => (&["TIMESTAMP_BACKWARDS"], true),
        // An older genuine checkpoint is shorter and older: both.
        OlderGenuine => (&["REWIND", "TIMESTAMP_BACKWARDS"], true),
        Forked => (&["FORK"], true),
        LedgerEntry => (&["LEDGER_MISMATCH"], false),
        PublishedGhost => (&["RECORD_NOT_INCLUDED"], true),
        PackageChain => (&["PACKAGE_LOG_INVALID"], true),
        OperatorChain => (&["OPERATOR_LOG_INVALID"], true),
        KeyWithoutCommit => (&["CHECKPOINT_SIGNATURE"], false),
        EmptiedMapBundle | AlteredMapBundle => (&["RECORD_NOT_INCLUDED"], false),
        PackageHeadBundle => (&["RECORD_NOT_INCLUDED"], true),
        PublishedPastSignedLog => (&["RECORD_NOT_INCLUDED"], true),
        LedgerWithheld => (&["LEDGER_WITHHELD"], true),
        NoLedgerGhost => (&["RECORD_NOT_INCLUDED"], false),
        AbsurdLength => (&["CHECKPOINT_SIGNATURE"], true),
        AbsurdLengthFirstContact => (&["CHECKPOINT_SIGNATURE"], false),
        KeysChanged => (&["OPERATOR_KEYS_CHANGED"], true),
    };
    Case {
        lie,
        kinds,
        baseline,
        grace: (lie == PublishedPastSignedLog).then_some(GRACE),
    }
}

/// The lies whose registry answers `published` for the scene's ghost record.
fn tracks_ghost(lie: Lie) -> bool {
    matches!(
        lie,
        Lie::PublishedGhost | Lie::PublishedPastSignedLog | Lie::NoLedgerGhost
    )
}

/// A registry behind a tampering proxy, `PACKAGE` published and tracked through the proxy,
/// the lie not told yet.
pub struct Scene {
    pub case: Case,
    pub reg: TestRegistry,
    pub proxy: TamperProxy,
    /// A wargdash home whose registry is the proxy.
    pub wd: Wd,
    op: Arc<SigningKey>,
    /// The genuine checkpoint of length 1 (before anything was published).
    first: Vec<u8>,
    /// A record id that is in no log.
    pub ghost: String,
}

fn checkpoint_of(body: &[u8]) -> SignedCheckpoint {
    serde_json::from_slice(body).expect("a checkpoint")
}

impl Scene {
    pub fn new(lie: Lie) -> Self {
        let case = case(lie);
        let op = SigningKey::generate(Algorithm::EcdsaP256).expect("operator key");
        let reg = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
        let proxy = TamperProxy::start(&reg.url);
        // The genuine checkpoint of length 1, seen through the proxy by another home (so that
        // nothing is verified in `wd`'s store).
        let seen: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
        let s = seen.clone();
        proxy.set_hook(Box::new(move |_m, path, status, body| {
            if path == "/v1/fetch/checkpoint" && status == 200 {
                s.lock().unwrap().get_or_insert_with(|| body.clone());
            }
            body
        }));
        Wd::new(Some(&proxy.url)).ok(&["verify"], 0);
        proxy.clear_hook();
        let first = seen.lock().unwrap().clone().expect("a checkpoint was seen");
        assert_eq!(checkpoint_of(&first).contents.log_length, 1);

        if lie == Lie::OlderGenuine {
            // Checkpoint timestamps are in seconds: the next one must be later than this one.
            std::thread::sleep(Duration::from_millis(1100));
        }
        let wd = Wd::new(Some(&proxy.url));
        if let Some(g) = case.grace {
            let dir = wd.home.path().join("config");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("config.json"),
                format!("{{\"maxCheckpointAge\": {g}}}"),
            )
            .unwrap();
        }
        wd.ok(&["key", "new"], 0);
        let v = wd.json(&["--json", "publish", PACKAGE, "init", "--wait"], 0);
        assert_eq!(v["state"], "published", "{v}");
        let ghost = format!("sha256:{}", "9a".repeat(32));
        if tracks_ghost(lie) {
            let log = wd.ok(&["log-id", PACKAGE], 0).stdout.trim().to_string();
            wd.ok(&["track", "add", &log, &ghost], 0);
        }
        if case.baseline {
            let r = wd.ok(&["--json", "verify"], 0);
            let v: Value = serde_json::from_str(r.stdout.lines().last().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}: {r:?}"));
            assert_eq!(v["alerts"], serde_json::json!([]), "baseline: {r:?}");
            // The package's log validated, matched the ledger and its head was proven.
            assert_eq!(v["packages"]["proven"], 1, "baseline: {r:?}");
            assert_eq!(v["packages"]["failed"], 0, "baseline: {r:?}");
            if matches!(lie, Lie::PackageChain | Lie::PackageHeadBundle) {
                // A log proven at a head is not fetched again until its head moves (the store
                // remembers it): the package moves on, so the lie is told about a new head.
                let file = crate::common::repo_path("assets/hello.wasm");
                let file = file.to_string_lossy().to_string();
                let v = wd.json(
                    &[
                        "--json", "publish", PACKAGE, "release", "1.0.0", &file, "--wait",
                    ],
                    0,
                );
                assert_eq!(v["state"], "published", "{v}");
                std::thread::sleep(Duration::from_millis(700));
            }
        }
        Self {
            case,
            reg,
            proxy,
            wd,
            op: Arc::new(op),
            first,
            ghost,
        }
    }

    /// From now on, the proxy tells the lie.
    pub fn tell(&self) {
        let (hook, status) = self.hooks();
        self.proxy.set_hook(hook);
        if let Some(s) = status {
            self.proxy.set_status_hook(s);
        }
        if self.case.grace.is_some() {
            // The claim is seen (and its time recorded) by a poll; within the grace it is
            // pending, not a fact and not yet an alert.
            let r = self
                .wd
                .ok(&["--json", "poll", "--once"], wargdash::exit::PENDING);
            assert!(r.stdout.contains("published?"), "{r:?}");
            std::thread::sleep(Duration::from_millis(
                self.case.grace.unwrap_or(0) * 1000 + 1500,
            ));
        }
    }

    /// From now on the registry un-says its claim: the ghost record is `processing`.
    pub fn unsay(&self) {
        let g = self.ghost.clone();
        self.proxy.set_hook(Box::new(move |m, path, _status, body| {
            if m == "GET" && path.ends_with(&format!("/record/{g}")) {
                serde_json::to_vec(&serde_json::json!({"recordId": g, "state": "processing"}))
                    .unwrap()
            } else {
                body
            }
        }));
    }

    /// The operator's signing key (to sign what a lie needs).
    pub fn operator(&self) -> &SigningKey {
        &self.op
    }

    fn resign(&self, f: impl Fn(&mut CheckpointContents) + Send + Sync + 'static) -> Hook {
        let k = self.op.clone();
        Box::new(move |_m, path, status, body| {
            if path != "/v1/fetch/checkpoint" || status != 200 {
                return body;
            }
            let mut cp = checkpoint_of(&body);
            f(&mut cp.contents);
            serde_json::to_vec(&sign_contents(&k, &cp.contents)).unwrap()
        })
    }

    fn hooks(&self) -> (Hook, Option<StatusHook>) {
        use Lie::*;
        let hook: Hook = match self.case.lie {
            AlteredUnderSignature => Box::new(|_m, path, status, body| {
                if path != "/v1/fetch/checkpoint" || status != 200 {
                    return body;
                }
                let mut cp = checkpoint_of(&body);
                cp.contents.timestamp += 1;
                serde_json::to_vec(&cp).unwrap()
            }),
            Future => self.resign(|c| c.timestamp += 3600),
            Stale => self.resign(|c| c.timestamp -= 3600),
            // Nothing is published after the baseline: same length and roots, 30 s older than
            // the registry's latest (never stale: the limit is 60 s).
            Backwards => self.resign(|c| c.timestamp -= 30),
            Forked => self.resign(|c| {
                c.map_root = format!("sha256:{}", "ab".repeat(32));
            }),
            OlderGenuine => {
                let first = self.first.clone();
                Box::new(move |_m, path, status, body| {
                    if path == "/v1/fetch/checkpoint" && status == 200 {
                        first.clone()
                    } else {
                        body
                    }
                })
            }
            LedgerEntry => Box::new(|_m, path, _status, mut body| {
                if path == "/v1/ledger/records/0" && body.len() >= 64 {
                    body[40] ^= 1;
                }
                body
            }),
            PublishedGhost => {
                let g = self.ghost.clone();
                return (
                    {
                        let g = g.clone();
                        Box::new(move |m, path, _status, body| {
                            if m == "GET" && path.ends_with(&format!("/record/{g}")) {
                                serde_json::to_vec(&serde_json::json!({"recordId": g, "state": "published", "registryIndex": 0})).unwrap()
                            } else {
                                body
                            }
                        })
                    },
                    Some(Box::new(move |m, path, status| {
                        if m == "GET" && path.ends_with(&format!("/record/{g}")) {
                            200
                        } else {
                            status
                        }
                    })),
                );
            }
            PackageChain => on_fetch_logs(|v| {
                if let Some(logs) = v["packages"].as_object_mut() {
                    for recs in logs.values_mut() {
                        if let Some(r) = recs.as_array_mut().and_then(|a| a.first_mut()) {
                            flip_signature(r);
                        }
                    }
                }
            }),
            OperatorChain => on_fetch_logs(|v| {
                if let Some(r) = v["operator"].as_array_mut().and_then(|a| a.first_mut()) {
                    flip_signature(r);
                }
            }),
            EmptiedMapBundle => on_inclusion(|v| v["map"] = "".into()),
            AlteredMapBundle => on_inclusion(|v| {
                let mut map = B64.decode(v["map"].as_str().unwrap()).unwrap();
                let n = map.len();
                map[n - 1] ^= 1;
                v["map"] = B64.encode(map).into();
            }),
            PackageHeadBundle => on_inclusion(|v| {
                use prost::Message;
                let log = B64.decode(v["log"].as_str().unwrap()).unwrap();
                let b =
                    warg_protobuf::transparency::LogProofBundle::decode(log.as_slice()).unwrap();
                if b.included_indices.iter().any(|i| *i != 0) {
                    v["map"] = "".into();
                }
            }),
            KeyWithoutCommit => {
                let k = self.op.clone();
                on_fetch_logs(move |v| {
                    if let Some(ops) = v["operator"].as_array_mut() {
                        let last = ops.last().cloned().expect("an operator record");
                        ops.push(revoke_own_commit(&k, &last));
                    }
                })
            }
            KeysChanged => {
                let k = self.op.clone();
                let extra = SigningKey::generate(Algorithm::EcdsaP256).expect("a key");
                on_fetch_logs(move |v| {
                    if let Some(ops) = v["operator"].as_array_mut() {
                        let last = ops.last().cloned().expect("an operator record");
                        ops.push(grant_commit(&k, &extra, &last));
                    }
                })
            }
            PublishedPastSignedLog => {
                // L+5, with L the length of the checkpoint the proxy last served.
                let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
                return ghost_answer(
                    self.ghost.clone(),
                    Box::new(move |path, body| {
                        if path == "/v1/fetch/checkpoint" {
                            if let Ok(cp) = serde_json::from_slice::<SignedCheckpoint>(body) {
                                seen.store(
                                    cp.contents.log_length,
                                    std::sync::atomic::Ordering::SeqCst,
                                );
                            }
                        }
                        seen.load(std::sync::atomic::Ordering::SeqCst) + 5
                    }),
                    false,
                );
            }
            NoLedgerGhost => return ghost_answer(self.ghost.clone(), Box::new(|_, _| 0), true),
            LedgerWithheld => {
                return (
                    Box::new(|_m, path, _status, body| {
                        if path == "/v1/ledger" {
                            br#"{"status":404,"message":"not found"}"#.to_vec()
                        } else {
                            body
                        }
                    }),
                    Some(Box::new(
                        |_m, path, status| {
                            if path == "/v1/ledger" {
                                404
                            } else {
                                status
                            }
                        },
                    )),
                )
            }
            AbsurdLength | AbsurdLengthFirstContact => Box::new(|_m, path, status, body| {
                if path != "/v1/fetch/checkpoint" || status != 200 {
                    return body;
                }
                let mut cp = checkpoint_of(&body);
                cp.contents.log_length = 1_000_000_000_000;
                serde_json::to_vec(&cp).unwrap()
            }),
        };
        (hook, None)
    }
}

/// `published` at the index `at` gives (it sees every answer's path and body first) for the
/// ghost record's GET; with `no_ledger`, `/v1/ledger` is 404 as well.
type IndexOf = Box<dyn Fn(&str, &[u8]) -> u64 + Send + Sync>;

fn ghost_answer(ghost: String, at: IndexOf, no_ledger: bool) -> (Hook, Option<StatusHook>) {
    let g = ghost.clone();
    (
        Box::new(move |m, path, _status, body| {
            let index = at(path, &body);
            if m == "GET" && path.ends_with(&format!("/record/{g}")) {
                serde_json::to_vec(&serde_json::json!({"recordId": g, "state": "published", "registryIndex": index})).unwrap()
            } else if no_ledger && path == "/v1/ledger" {
                br#"{"status":404,"message":"not found"}"#.to_vec()
            } else {
                body
            }
        }),
        Some(Box::new(move |m, path, status| {
            if m == "GET" && path.ends_with(&format!("/record/{ghost}")) {
                200
            } else if no_ledger && path == "/v1/ledger" {
                404
            } else {
                status
            }
        })),
    )
}

/// Rewrites the JSON answers to `path`.
fn on_json(path: &'static str, f: impl Fn(&mut Value) + Send + Sync + 'static) -> Hook {
    Box::new(move |_m, p, status, body| {
        if p != path || status != 200 {
            return body;
        }
        let mut v: Value = serde_json::from_slice(&body).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    })
}

fn on_fetch_logs(f: impl Fn(&mut Value) + Send + Sync + 'static) -> Hook {
    on_json("/v1/fetch/logs", f)
}

fn on_inclusion(f: impl Fn(&mut Value) + Send + Sync + 'static) -> Hook {
    on_json("/v1/proof/inclusion", f)
}

/// An operator record after `last`, signed by `op`, revoking `op`'s own `commit` (valid: the
/// signer holds what it revokes).
fn revoke_own_commit(op: &SigningKey, last: &Value) -> Value {
    let key = operator_key(op);
    let entry = warg_protocol::operator::OperatorEntry::RevokeFlat {
        key_id: key.public_key().fingerprint(),
        permissions: vec!["commit".parse().unwrap()],
    };
    operator_record(&key, last, entry)
}

/// An operator record after `last`, signed by `op`, granting `commit` to `new` (valid: the
/// signer holds what it grants).
fn grant_commit(op: &SigningKey, new: &SigningKey, last: &Value) -> Value {
    let entry = warg_protocol::operator::OperatorEntry::GrantFlat {
        key: operator_key(new).public_key(),
        permissions: vec!["commit".parse().unwrap()],
    };
    operator_record(&operator_key(op), last, entry)
}

fn operator_key(k: &SigningKey) -> warg_crypto::signing::PrivateKey {
    warg_crypto::signing::PrivateKey::decode(k.encode_private().to_string()).expect("key")
}

/// The `fetch/logs` form of an operator record holding `entry`, after `last`, signed by `key`.
fn operator_record(
    key: &warg_crypto::signing::PrivateKey,
    last: &Value,
    entry: warg_protocol::operator::OperatorEntry,
) -> Value {
    let prev: warg_crypto::hash::AnyHash = last["fetchToken"].as_str().unwrap().parse().unwrap();
    let rec = warg_protocol::operator::OperatorRecord {
        prev: Some(warg_protocol::registry::RecordId::from(prev)),
        version: 0,
        timestamp: std::time::SystemTime::now(),
        entries: vec![entry],
    };
    let env = warg_protocol::ProtoEnvelope::signed_contents(key, rec).unwrap();
    let body: warg_protocol::ProtoEnvelopeBody = env.into();
    let mut v = serde_json::to_value(&body).unwrap();
    let bytes = B64.decode(v["contentBytes"].as_str().unwrap()).unwrap();
    v["fetchToken"] = wargdash::trust::operator::operator_record_id(&bytes)
        .to_string()
        .into();
    v["registryIndex"] = (last["registryIndex"].as_u64().unwrap() + 1).into();
    v
}

/// The envelope's signature with one bit of its DER changed: well-formed text, wrong value.
fn flip_signature(r: &mut Value) {
    let sig = r["signature"].as_str().unwrap().to_string();
    let (algo, b64) = sig.split_once(':').unwrap();
    let mut der = B64.decode(b64).unwrap();
    let last = der.len() - 1;
    der[last] ^= 1;
    r["signature"] = format!("{algo}:{}", B64.encode(&der)).into();
}

/// The alert kinds on the lines of `alerts --json` (the store).
pub fn stored_kinds(alerts_json: &str) -> Vec<String> {
    alerts_json
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| {
            assert!(!v["evidence"].is_null(), "an alert without evidence: {v}");
            v["kind"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

/// Sorted and deduplicated.
pub fn set(v: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().collect();
    v.sort();
    v.dedup();
    v
}

pub fn expected(case: &Case) -> Vec<String> {
    set(case.kinds.iter().map(|k| k.to_string()))
}
