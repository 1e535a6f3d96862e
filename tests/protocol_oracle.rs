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
    fn id_parsing_never_panics_on_arbitrary_text(s in "\\PC{0,80}") {
        let _ = s.parse::<RecordId>();
        let _ = s.parse::<LogId>();
    }

    /// Strings around the real grammar (`sha256:` + 64 lowercase hex digits, with one
    /// mutation or none), so that both outcomes are common: valid for wargdash exactly when
    /// valid for warg-crypto, and then the same hash. [`id_like_generates_both_outcomes`]
    /// measures the mix (about 58% valid).
    #[test]
    fn id_parsing_agrees_with_warg_crypto_both_ways(s in id_like()) {
        agree(&s)?;
    }
}

/// How an `algo:hex` string is spoiled (or not).
#[derive(Debug, Clone)]
enum IdMutation {
    None,
    /// Drop this many hex digits (1..=4): odd lengths and 31-/30-byte hashes.
    Shorten(usize),
    /// Append these hex digits: 33-byte hashes and odd lengths.
    Lengthen(String),
    /// Uppercase the hex digit at this position (a letter, or a digit then unchanged).
    Uppercase(usize),
    UppercaseAll,
    /// Replace the char at this position.
    Replace(usize, char),
    /// Insert a char at this position.
    Insert(usize, char),
    /// Another algorithm name, or a different case of this one.
    Algorithm(&'static str),
    MissingColon,
    /// Text around the ID: whitespace (wargdash trims it) or anything else.
    Wrap(&'static str, &'static str),
}

fn id_like() -> impl Strategy<Value = String> {
    let odd = prop::sample::select(vec![
        'g', 'G', 'A', 'F', 'x', ':', '-', ' ', '0', 'f', 'é', '\u{663}', '\0',
    ]);
    let mutation = prop_oneof![
        9 => Just(IdMutation::None),
        1 => (1usize..=4).prop_map(IdMutation::Shorten),
        1 => "[0-9a-f]{1,4}".prop_map(IdMutation::Lengthen),
        1 => (0usize..64).prop_map(IdMutation::Uppercase),
        1 => Just(IdMutation::UppercaseAll),
        1 => ((0usize..64), odd.clone()).prop_map(|(i, c)| IdMutation::Replace(i, c)),
        1 => ((0usize..=64), odd).prop_map(|(i, c)| IdMutation::Insert(i, c)),
        1 => prop::sample::select(vec!["sha512", "SHA256", "Sha256", "sha-256", "", "sha256 ", "md5"])
            .prop_map(IdMutation::Algorithm),
        1 => Just(IdMutation::MissingColon),
        2 => prop::sample::select(vec![
            (" ", ""), ("", "\n"), ("\t", " "), ("", "x"), ("x", ""), ("", ":"), ("\"", "\""),
        ])
        .prop_map(|(a, b)| IdMutation::Wrap(a, b)),
    ];
    ("[0-9a-f]{64}", mutation).prop_map(|(hex, m)| {
        let mut algo = "sha256";
        let mut sep = ":";
        let mut hex: Vec<char> = hex.chars().collect();
        let (mut pre, mut post) = ("", "");
        match m {
            IdMutation::None => {}
            IdMutation::Shorten(n) => hex.truncate(64 - n),
            IdMutation::Lengthen(more) => hex.extend(more.chars()),
            IdMutation::Uppercase(i) => hex[i] = hex[i].to_ascii_uppercase(),
            IdMutation::UppercaseAll => hex.iter_mut().for_each(|c| *c = c.to_ascii_uppercase()),
            IdMutation::Replace(i, c) => hex[i] = c,
            IdMutation::Insert(i, c) => hex.insert(i, c),
            IdMutation::Algorithm(a) => algo = a,
            IdMutation::MissingColon => sep = "",
            IdMutation::Wrap(a, b) => (pre, post) = (a, b),
        }
        format!(
            "{pre}{algo}{sep}{}{post}",
            hex.into_iter().collect::<String>()
        )
    })
}

/// warg-crypto's reading of a sha256 ID: `AnyHash` (algorithm, lowercase hex) and then the
/// typed `Hash<Sha256>` (exactly 32 bytes; `AnyHash` alone takes any even number of digits).
fn warg_sha256(s: &str) -> Option<String> {
    let any = warg_crypto::hash::AnyHash::from_str(s).ok()?;
    let typed = warg_crypto::hash::Hash::<Sha256>::try_from(any).ok()?;
    Some(warg_crypto::hash::AnyHash::from(typed).to_string())
}

/// wargdash accepts a string exactly when warg-crypto does, with the same value. The one
/// deliberate difference: wargdash trims surrounding whitespace (IDs are pasted), so warg-crypto
/// is asked about the trimmed text; and whatever warg-crypto accepts untrimmed, wargdash
/// accepts as the same ID.
fn agree(s: &str) -> Result<(), TestCaseError> {
    let ours = s.parse::<RecordId>().ok().map(|id| id.to_string());
    let theirs = warg_sha256(s.trim());
    prop_assert_eq!(&ours, &theirs, "wargdash vs warg-crypto on {:?}", s);
    prop_assert_eq!(
        s.parse::<LogId>().ok().map(|id| id.to_string()),
        ours.clone(),
        "log and record IDs parse alike: {:?}",
        s
    );
    if let Some(untrimmed) = warg_sha256(s) {
        prop_assert_eq!(Some(untrimmed), ours, "{:?}", s);
    }
    Ok(())
}

/// The generator yields both outcomes in good measure (else the agreement above would again be
/// checked almost only on invalid text): of 4000 strings, about 58% are valid IDs (measured:
/// 2313 of 4000 with the deterministic runner, i.e. 58%).
#[test]
fn id_like_generates_both_outcomes() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = id_like();
    let n = 4000;
    let valid = (0..n)
        .filter(|_| {
            let s = strategy.new_tree(&mut runner).unwrap().current();
            warg_sha256(s.trim()).is_some()
        })
        .count();
    eprintln!("id_like: {valid} of {n} valid");
    assert!(
        (n * 3 / 10..=n * 7 / 10).contains(&valid),
        "{valid} of {n} valid"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

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

/// RFC 8032 §7.1 test vectors: (secret key = 32-byte seed, public key, message, signature).
const RFC8032: &[(&str, &str, &str, &str)] = &[
    // TEST 1
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    // TEST 2
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    // TEST 3
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    // TEST 1024 (a 1023-byte message)
    (
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        RFC8032_TEST_1024_MESSAGE,
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
];

const RFC8032_TEST_1024_MESSAGE: &str = concat!(
        "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1",
        "e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d",
        "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a",
        "7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e",
        "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10",
        "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1",
        "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d",
        "502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270",
        "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b",
        "eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba",
        "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b",
        "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7",
        "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d",
        "cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df",
        "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7",
        "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4",
        "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09",
        "43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f",
        "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161",
        "0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d",
        "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca",
        "c60c905c15fc910840b94c00a0b9d0",
    );

/// wargdash's ed25519 keys against RFC 8032 §7.1, not against its own message builder: the key
/// decoded from `ed25519:<base64 seed>` (the key file format) has the RFC public key, and
/// signs to exactly the RFC signature. `sign_prefixed` always signs `prefix ‖ ":" ‖ message`,
/// so a vector's message M is signed through it by splitting M at its first `:` byte; TEST 1,
/// 2 and 3 have no `:` and are signed with the decoded key itself, TEST 1024 (first `:` at
/// byte 89) goes through `sign_prefixed` end to end, base64 signature text included.
#[test]
fn ed25519_keys_sign_the_rfc_8032_test_vectors() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut through_sign_prefixed = 0;
    for (i, (seed, public, msg, sig)) in RFC8032.iter().enumerate() {
        let (seed, public) = (hex::decode(seed).unwrap(), hex::decode(public).unwrap());
        let (msg, sig) = (hex::decode(msg).unwrap(), hex::decode(sig).unwrap());
        // The vector is self-consistent (guards against a transcription error).
        let vk =
            ed25519_dalek::VerifyingKey::from_bytes(&public.clone().try_into().unwrap()).unwrap();
        vk.verify_strict(&msg, &ed25519_dalek::Signature::from_slice(&sig).unwrap())
            .unwrap_or_else(|e| panic!("vector {i} does not verify: {e}"));

        let key = SigningKey::decode(&format!("ed25519:{}", b64.encode(&seed))).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Ed25519);
        assert_eq!(
            key.public_key(),
            format!("ed25519:{}", b64.encode(&public)),
            "vector {i}: public key"
        );
        assert_eq!(
            key.key_id(),
            KeyId::for_public_key(&format!("ed25519:{}", b64.encode(&public)))
        );
        // The key survives its own text form.
        assert_eq!(
            SigningKey::decode(&key.encode_private())
                .unwrap()
                .public_key(),
            key.public_key()
        );
        let SigningKey::Ed25519(inner) = &key else {
            unreachable!()
        };
        use ed25519_dalek::Signer;
        assert_eq!(
            inner.sign(&msg).to_bytes().as_slice(),
            sig.as_slice(),
            "vector {i}: signature"
        );
        if let Some(colon) = msg.iter().position(|&b| b == b':') {
            let text = key.sign_prefixed(&msg[..colon], &msg[colon + 1..]);
            assert_eq!(
                text,
                format!("ed25519:{}", b64.encode(&sig)),
                "vector {i}: sign_prefixed"
            );
            through_sign_prefixed += 1;
        }
    }
    assert_eq!(
        through_sign_prefixed, 1,
        "TEST 1024 goes through sign_prefixed"
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
    assert_eq!(wargdash::exit::api_code(&err), wargdash::exit::UNAUTHORIZED);
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
