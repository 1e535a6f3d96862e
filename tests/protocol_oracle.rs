//! wargdash's encodings checked against the reference crates (warg-protocol, warg-crypto) and
//! the real server: IDs equal, envelopes decode and verify, bad records get the right errors.

mod common;

use common::TestRegistry;
use proptest::prelude::*;
use std::str::FromStr;
use warg_crypto::hash::Sha256;
use warg_crypto::Signable;
use wargdash::ids::{ContentDigest, KeyId, LogId, PackageName, RecordId, Sha256Hash};
use wargdash::keys::{Algorithm, SigningKey};
use wargdash::record::{Entry, Permission, RecordContent, RecordTime};
use wargdash::registry::{ApiError, ClientOptions, RecordState, RegistryClient};

fn ref_log_id(name: &str) -> String {
    let n = warg_protocol::registry::PackageName::new(name).expect("reference accepts the name");
    warg_protocol::registry::LogId::package_log::<Sha256>(&n).to_string()
}

/// Decodes our envelope with warg-protocol, verifies the signature with warg-crypto and
/// returns the reference record ID.
fn ref_check(content: &RecordContent, key: &SigningKey) -> String {
    let signed = content.sign(key);
    let json = serde_json::to_value(&signed.envelope).unwrap();
    let body: warg_protocol::ProtoEnvelopeBody =
        serde_json::from_value(json).expect("reference parses our envelope");
    let env: warg_protocol::ProtoEnvelope<warg_protocol::package::PackageRecord> =
        body.try_into().expect("reference decodes our record");
    let public = warg_crypto::signing::PublicKey::from_str(&key.public_key())
        .expect("reference parses our public key");
    assert_eq!(
        public.fingerprint().to_string(),
        key.key_id().to_string(),
        "key IDs agree"
    );
    warg_protocol::package::PackageRecord::verify(&public, env.content_bytes(), env.signature())
        .expect("reference verifies our signature");
    assert_eq!(env.as_ref().entries.len(), content.entries.len());
    let rid = warg_protocol::registry::RecordId::package_record::<Sha256>(&env).to_string();
    assert_eq!(rid, signed.record_id.to_string(), "record IDs agree");
    rid
}

fn kebab() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z][a-z0-9]{0,6}", 1..4).prop_map(|w| w.join("-"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn log_ids_equal_the_reference(ns in kebab(), name in kebab()) {
        let full = format!("{ns}:{name}");
        let ours: PackageName = full.parse().unwrap();
        prop_assert_eq!(ours.log_id().to_string(), ref_log_id(&full));
    }

    #[test]
    fn package_name_validation_matches_the_reference(s in "[a-zA-Z0-9:-]{0,12}") {
        let ours = s.parse::<PackageName>().is_ok();
        let theirs = warg_protocol::registry::PackageName::new(s.clone()).is_ok();
        prop_assert_eq!(ours, theirs, "{}", s);
    }

    #[test]
    fn id_parsing_never_panics_and_agrees(s in "\\PC{0,80}") {
        let ours = s.parse::<RecordId>();
        let theirs = warg_crypto::hash::AnyHash::from_str(&s);
        if ours.is_ok() {
            prop_assert!(theirs.is_ok());
            prop_assert_eq!(ours.unwrap().to_string(), theirs.unwrap().to_string());
        }
    }

    #[test]
    fn records_decode_verify_and_hash_like_the_reference(
        seconds in 0i64..4_000_000_000,
        nanos in 0i32..1_000_000_000,
        major in 0u64..100, minor in 0u64..100,
        digest in any::<[u8; 32]>(),
        with_prev in any::<bool>(),
        kinds in prop::collection::vec(0u8..5, 1..5),
    ) {
        let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
        let other = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
        let version = format!("{major}.{minor}.0");
        let entries = kinds.iter().map(|k| match k {
            0 => Entry::Init { public_key: key.public_key() },
            1 => Entry::Release { version: version.clone(), digest: ContentDigest(Sha256Hash(digest)) },
            2 => Entry::Yank { version: version.clone() },
            3 => Entry::Grant { public_key: other.public_key(), permissions: vec![Permission::Release, Permission::Yank] },
            _ => Entry::Revoke { key_id: other.key_id(), permissions: vec![Permission::Yank] },
        }).collect();
        let content = RecordContent {
            prev: with_prev.then_some(RecordId(Sha256Hash(digest))),
            time: RecordTime { seconds, nanos },
            entries,
        };
        ref_check(&content, &key);
        prop_assert_eq!(RecordContent::decode(&content.encode()).unwrap(), content);
    }
}

#[test]
fn ed25519_envelopes_verify_with_dalek() {
    use base64::Engine;
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let content = RecordContent {
        prev: None,
        time: RecordTime::now(),
        entries: vec![Entry::Init {
            public_key: key.public_key(),
        }],
    };
    let signed = content.sign(&key);
    let b64 = base64::engine::general_purpose::STANDARD;
    let sig = b64
        .decode(signed.envelope.signature.strip_prefix("ed25519:").unwrap())
        .unwrap();
    let pk: [u8; 32] = b64
        .decode(key.public_key().strip_prefix("ed25519:").unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).unwrap();
    let msg = [
        b"WARG-PACKAGE-RECORD-SIGNATURE-V0:".as_slice(),
        &signed.envelope.content_bytes,
    ]
    .concat();
    vk.verify_strict(&msg, &ed25519_dalek::Signature::from_slice(&sig).unwrap())
        .expect("verifies");
    assert_eq!(
        signed.envelope.key_id,
        KeyId::for_public_key(&key.public_key())
    );
    assert_eq!(
        signed.record_id,
        RecordId::for_package_record(&signed.envelope.content_bytes)
    );
}

async fn wait_terminal(client: &RegistryClient, log: &LogId, rec: &RecordId) -> RecordState {
    for _ in 0..100 {
        let (r, _) = client.get_record(log, rec).await.unwrap();
        if r.state.is_terminal() {
            return r.state;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("record {rec} never became terminal");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_agrees_with_local_ids_and_rejects_bad_records() {
    let reg = TestRegistry::start();
    let client = RegistryClient::new(&reg.url, ClientOptions::default()).unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let name: PackageName = "demo:oracle".parse().unwrap();
    let log = name.log_id();
    assert_eq!(log.to_string(), ref_log_id("demo:oracle"));

    let init = RecordContent {
        prev: None,
        time: RecordTime::now(),
        entries: vec![Entry::Init {
            public_key: key.public_key(),
        }],
    };
    let signed = init.sign(&key);
    let (answer, _) = client
        .publish(&log, name.as_str(), &signed.envelope)
        .await
        .unwrap();
    assert_eq!(
        answer.record_id, signed.record_id,
        "the server's record ID equals ours"
    );
    assert!(matches!(
        wait_terminal(&client, &log, &signed.record_id).await,
        RecordState::Published { .. }
    ));

    // The head as fetch/logs reports it is the record we built.
    let cp = client.checkpoint().await.unwrap();
    let head = client
        .log_head(cp.contents.log_length, &log)
        .await
        .unwrap()
        .expect("head");
    assert_eq!(head.record_id, signed.record_id);
    assert_eq!(head.content, init);

    // Wrong prev: accepted, then rejected with the server's reason.
    let wrong = RecordContent {
        prev: Some(RecordId(Sha256Hash([7; 32]))),
        time: RecordTime::now(),
        entries: vec![Entry::Yank {
            version: "1.0.0".into(),
        }],
    }
    .sign(&key);
    client
        .publish(&log, name.as_str(), &wrong.envelope)
        .await
        .unwrap();
    match wait_terminal(&client, &log, &wrong.record_id).await {
        RecordState::Rejected { reason } => {
            assert_eq!(
                reason,
                "the package record was invalid: previous record hash does not match"
            )
        }
        other => panic!("expected rejected, got {other:?}"),
    }

    // A signature made by another key under this key's ID: 401 verification failed.
    let mut forged = RecordContent {
        prev: Some(signed.record_id),
        time: RecordTime::now(),
        entries: vec![Entry::Yank {
            version: "1.0.0".into(),
        }],
    }
    .sign(&SigningKey::generate(Algorithm::EcdsaP256).unwrap());
    forged.envelope.key_id = key.key_id();
    let err = client
        .publish(&log, name.as_str(), &forged.envelope)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Unauthorized { message } if message.contains("verification failed")),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), wargdash::exit::UNAUTHORIZED);
    assert!(err
        .to_string()
        .starts_with("the registry refused the key or signature (401): signature `ecdsa-p256:"));

    // Unknown namespace: 404 namespace.
    let other: PackageName = "nope:pkg".parse().unwrap();
    let rec = RecordContent {
        prev: None,
        time: RecordTime::now(),
        entries: vec![Entry::Init {
            public_key: key.public_key(),
        }],
    }
    .sign(&key);
    let err = client
        .publish(&other.log_id(), other.as_str(), &rec.envelope)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ApiError::NotFound {
            what: "namespace".into(),
            id: "nope".into()
        }
    );
}
