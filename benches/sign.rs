//! Bench 6 — sign and encode: building, encoding and signing one release record
//! (`RecordContent::sign`: protobuf encoding, signature, record ID, envelope) with an
//! ecdsa-p256 and an ed25519 key, against the raw signature alone over the same prefixed
//! message. `cargo bench --bench sign` prints the criterion figures and the ratio.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant};
use wargdash::ids::{ContentDigest, RecordId};
use wargdash::keys::{Algorithm, SigningKey};
use wargdash::record::{Entry, RecordContent, RecordTime};

fn release() -> RecordContent {
    RecordContent {
        prev: Some(RecordId::for_package_record(b"previous record")),
        time: RecordTime {
            seconds: 1_795_900_000,
            nanos: 123_456_789,
        },
        entries: vec![Entry::Release {
            version: "1.2.3".into(),
            digest: ContentDigest::of_bytes(b"component bytes"),
        }],
    }
}

fn raw_sign(key: &SigningKey, msg: &[u8]) -> Vec<u8> {
    match key {
        SigningKey::EcdsaP256(k) => {
            use p256::ecdsa::signature::Signer;
            let sig: p256::ecdsa::Signature = k.sign(msg);
            sig.to_bytes().to_vec()
        }
        SigningKey::Ed25519(k) => {
            use ed25519_dalek::Signer;
            k.sign(msg).to_bytes().to_vec()
        }
    }
}

fn bench(c: &mut Criterion) {
    let content = release();
    let mut g = c.benchmark_group("sign");
    for alg in [Algorithm::EcdsaP256, Algorithm::Ed25519] {
        let key = SigningKey::generate(alg).expect("key");
        // The message the record's signature covers: prefix, `:`, the content bytes.
        let mut msg = wargdash::record::PACKAGE_RECORD_SIGNATURE_PREFIX.to_vec();
        msg.push(b':');
        msg.extend_from_slice(&content.encode());
        g.bench_function(format!("{}/build+encode+sign", alg.as_str()), |b| {
            b.iter(|| black_box(release()).sign(black_box(&key)))
        });
        g.bench_function(format!("{}/raw signature", alg.as_str()), |b| {
            b.iter(|| raw_sign(black_box(&key), black_box(&msg)))
        });
        // The ratio, measured here in one run (criterion reports each figure on its own).
        if std::env::args().any(|a| a == "--bench") {
            let time = |f: &dyn Fn()| {
                let mut best = Duration::MAX;
                for _ in 0..7 {
                    let t = Instant::now();
                    for _ in 0..500 {
                        f();
                    }
                    best = best.min(t.elapsed() / 500);
                }
                best
            };
            let full = time(&|| {
                black_box(black_box(release()).sign(black_box(&key)));
            });
            let raw = time(&|| {
                black_box(raw_sign(black_box(&key), black_box(&msg)));
            });
            println!(
                "sign/{}: build+encode+sign {:.1} µs, raw signature {:.1} µs, ratio {:.2}",
                alg.as_str(),
                full.as_secs_f64() * 1e6,
                raw.as_secs_f64() * 1e6,
                full.as_secs_f64() / raw.as_secs_f64()
            );
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
