//! The witness against real in-process warg-servers and the real `wargdash monitor` binary:
//! a genuine split view (two registries, one operator key, two histories) caught by both
//! monitors and by `verify --peer`; monitors of one registry agreeing; the served note checked
//! by an independent cosignature/v1 implementation (written from the C2SP spec, not from
//! wargdash); add-checkpoint's status codes; /metrics parsed by a Prometheus parser; SIGTERM.

mod common;
#[path = "common/dash.rs"]
mod dash;
#[path = "common/screen.rs"]
mod screen;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{TestRegistry, Wd};
use sha2::{Digest, Sha256};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};
use wargdash::ids::PackageName;
use wargdash::keys::{Algorithm, SigningKey};
use wargdash::publish::{self, BuildOptions};
use wargdash::record::Entry;
use wargdash::registry::model::{CheckpointContents, RecordState};
use wargdash::registry::{ClientOptions, RegistryClient};

const ORIGIN: &str = "witness.test/registry";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client(url: &str) -> RegistryClient {
    RegistryClient::new(url, ClientOptions::default()).unwrap()
}

/// Publishes an init record for `name` and waits until it is published.
async fn publish_init(url: &str, name: &str) {
    let c = client(url);
    let k = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let pkg: PackageName = name.parse().unwrap();
    let p = publish::prepare(
        &c,
        &pkg,
        vec![Entry::Init {
            public_key: k.public_key(),
        }],
        BuildOptions::default(),
    )
    .await
    .unwrap();
    let signed = p.content.sign(&k);
    publish::submit(&c, &pkg, &signed, &Default::default(), false, |_| {})
        .await
        .unwrap();
    for _ in 0..200 {
        let (rec, _) = c
            .get_record(&pkg.log_id(), &signed.record_id)
            .await
            .unwrap();
        if matches!(rec.state, RecordState::Published { .. }) {
            // Wait for a checkpoint that includes it.
            tokio::time::sleep(Duration::from_millis(700)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} was not published");
}

/// A running `wargdash monitor` with its own home.
struct Mon {
    wd: Wd,
    child: Option<Child>,
    port: u16,
    vkey: String,
}

impl Mon {
    fn new(registry: &str) -> Self {
        let wd = Wd::new(Some(registry));
        let r = wd.ok(&["witness", "vkey"], 0);
        let vkey = r.stdout.trim().to_string();
        Self {
            wd,
            child: None,
            port: free_port(),
            vkey,
        }
    }

    fn log_path(&self) -> std::path::PathBuf {
        self.wd.home.path().join("monitor.stderr")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn peer_arg(&self) -> String {
        format!("{}={}", self.url(), self.vkey)
    }

    fn start(&mut self, peers: &[String]) {
        self.start_with(peers, &["--period", "1"]);
    }

    fn start_with(&mut self, peers: &[String], extra: &[&str]) {
        let listen = format!("127.0.0.1:{}", self.port);
        let mut args = vec!["monitor", "--listen", &listen, "--origin", ORIGIN];
        args.extend_from_slice(extra);
        for p in peers {
            args.push("--peer");
            args.push(p);
        }
        let log = std::fs::File::create(self.log_path()).expect("log file");
        let child = self
            .wd
            .command(&args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn monitor");
        self.child = Some(child);
    }

    async fn get(&self, path: &str) -> Option<(u16, String)> {
        let r = reqwest::get(format!("{}{path}", self.url())).await.ok()?;
        let s = r.status().as_u16();
        Some((s, r.text().await.ok()?))
    }

    fn alerts(&self) -> Vec<serde_json::Value> {
        let r = self.wd.ok(&["alerts", "--json"], 0);
        r.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn kinds(&self) -> Vec<String> {
        self.alerts()
            .iter()
            .map(|a| a["kind"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// SIGTERM; the exit code and the stderr.
    fn stop(&mut self) -> (i32, Duration, String) {
        let child = self.child.take().expect("running");
        let t = Instant::now();
        let pid = child.id().to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM");
        let out = child.wait_with_output().unwrap();
        let _ = out;
        (out.status.code().unwrap_or(-1), t.elapsed(), self.log())
    }
}

impl Drop for Mon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn wait_note(m: &Mon) -> String {
    let end = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some((200, t)) = m.get("/checkpoint").await {
            return t;
        }
        assert!(
            Instant::now() < end,
            "no /checkpoint from {}:\n{}",
            m.url(),
            m.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

// ---- An independent cosignature/v1 verifier, from C2SP tlog-cosignature and signed-note. ----

/// Returns (size, root bytes, cosignature time) if `note` holds a valid cosignature/v1 line by
/// `vkey`.
fn independent_verify(note: &str, vkey: &str) -> Result<(u64, Vec<u8>, u64), String> {
    let parts: Vec<&str> = vkey.splitn(3, '+').collect();
    let [name, id_hex, key_b64] = parts[..] else {
        return Err("vkey".into());
    };
    let key = B64.decode(key_b64).map_err(|e| e.to_string())?;
    if key.len() != 33 || key[0] != 0x04 {
        return Err("not a cosignature/v1 key".into());
    }
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(&key);
    let id = h.finalize()[..4].to_vec();
    if hex::encode(&id) != id_hex {
        return Err("vkey id".into());
    }
    let pk = ed25519_dalek::VerifyingKey::from_bytes(key[1..].try_into().unwrap())
        .map_err(|e| e.to_string())?;
    let (body, sigs) = note.split_once("\n\n").ok_or("no blank line")?;
    let body = format!("{body}\n");
    for line in sigs.lines() {
        let rest = line.strip_prefix("\u{2014} ").ok_or("sig line")?;
        let (n, b) = rest.split_once(' ').ok_or("sig line")?;
        let raw = B64.decode(b).map_err(|e| e.to_string())?;
        if n != name || raw.len() < 4 || raw[..4] != id[..] {
            continue;
        }
        if raw.len() != 4 + 8 + 64 {
            return Err("cosignature length".into());
        }
        let t = u64::from_be_bytes(raw[4..12].try_into().unwrap());
        let msg = format!("cosignature/v1\ntime {t}\n{body}");
        let sig = ed25519_dalek::Signature::from_slice(&raw[12..]).map_err(|e| e.to_string())?;
        pk.verify_strict(msg.as_bytes(), &sig)
            .map_err(|_| "cosignature does not verify".to_string())?;
        let lines: Vec<&str> = body.lines().collect();
        let size: u64 = lines[1].parse().map_err(|_| "size")?;
        let root = B64.decode(lines[2]).map_err(|e| e.to_string())?;
        return Ok((size, root, t));
    }
    Err("no cosignature line by this key".into())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_view_is_caught_by_both_monitors_and_by_verify_peer() {
    let op = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let a = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
    // Another second: the operator init records differ too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let b = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
    publish_init(&a.url, "demo:alpha").await;
    publish_init(&b.url, "demo:beta").await;

    let mut ma = Mon::new(&a.url);
    let mut mb = Mon::new(&b.url);
    let (pa, pb) = (ma.peer_arg(), mb.peer_arg());
    ma.start(std::slice::from_ref(&pb));
    mb.start(std::slice::from_ref(&pa));
    wait_note(&ma).await;
    wait_note(&mb).await;
    for m in [&ma, &mb] {
        let alerts = wait_for("SPLIT_VIEW", 40, || {
            let al = m.alerts();
            al.iter().any(|a| a["kind"] == "SPLIT_VIEW").then_some(al)
        })
        .await;
        let sv = alerts.iter().find(|a| a["kind"] == "SPLIT_VIEW").unwrap();
        let ev = &sv["evidence"];
        // Both signed checkpoints, each verifiable on its own.
        assert!(ev["peerNote"].as_str().unwrap().contains(ORIGIN), "{sv}");
        assert!(ev["peerCheckpoint"]["signature"]
            .as_str()
            .unwrap()
            .starts_with("ecdsa-p256:"));
        assert!(ev["ownCheckpoint"]["signature"]
            .as_str()
            .unwrap()
            .starts_with("ecdsa-p256:"));
        assert_ne!(
            ev["peerCheckpoint"]["contents"]["logRoot"],
            ev["ownCheckpoint"]["contents"]["logRoot"]
        );
        assert!(!m.kinds().contains(&"PEER_SIGNATURE".to_string()));
    }

    // `verify --peer` from a third home against registry A, comparing with B's monitor: 30.
    let third = Wd::new(Some(&a.url));
    let r = third.run(&["verify", "--peer", &pb, "--origin", ORIGIN]);
    assert_eq!(r.code, 30, "{r:?}");
    assert!(r.stdout.contains("SPLIT_VIEW"), "{r:?}");
    // And against A's own monitor: agreement, 0.
    let r = third.run(&["verify", "--peer", &pa, "--origin", ORIGIN]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("agree"), "{r:?}");

    for m in [&mut ma, &mut mb] {
        let (code, took, err) = m.stop();
        assert_eq!(code, 0, "{err}");
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_of_one_registry_agree_and_serve_a_cosigned_note_and_metrics() {
    let reg = TestRegistry::start();
    publish_init(&reg.url, "demo:one").await;
    let mut m1 = Mon::new(&reg.url);
    let mut m2 = Mon::new(&reg.url);
    let (p1, p2) = (m1.peer_arg(), m2.peer_arg());
    m1.start(std::slice::from_ref(&p2));
    m2.start(std::slice::from_ref(&p1));
    let note = wait_note(&m1).await;
    wait_note(&m2).await;

    // The note, checked by an implementation written from the spec.
    let (size, root, t) =
        independent_verify(&note, &m1.vkey).unwrap_or_else(|e| panic!("{e}\n{note}"));
    assert!(independent_verify(&note, &m2.vkey).is_err());
    assert!(t.abs_diff(now()) < 60);
    let cp = client(&reg.url).checkpoint().await.unwrap();
    assert_eq!(size, cp.contents.log_length);
    assert_eq!(
        format!("sha256:{}", hex::encode(&root)),
        cp.contents.log_root
    );
    assert!(note.starts_with(&format!("{ORIGIN}\n{size}\n")));
    // A changed byte in the body fails the same check.
    let tampered = note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1);
    assert!(independent_verify(&tampered, &m1.vkey).is_err());

    // Both agree with each other (peer_agree 1), parsed by a Prometheus text parser.
    for (m, other) in [(&m1, &m2), (&m2, &m1)] {
        let samples = wait_for_metrics(m, |s| {
            s.iter().any(|x| {
                x.metric == "wargdash_peer_agree"
                    && x.labels.get("peer") == Some(&other.url())
                    && matches!(x.value, prometheus_parse::Value::Gauge(v) if v == 1.0)
            })
        })
        .await;
        let get = |name: &str| {
            samples
                .iter()
                .find(|s| s.metric == name)
                .unwrap_or_else(|| panic!("no {name}"))
        };
        for name in [
            "wargdash_checkpoint_log_length",
            "wargdash_checkpoint_age_seconds",
            "wargdash_verify_cycles_total",
            "wargdash_alerts_total",
            "wargdash_records",
            "wargdash_peer_agree",
            "wargdash_peer_checkpoint_age_seconds",
        ] {
            let s = get(name);
            assert!(
                s.labels
                    .get("registry")
                    .is_some_and(|r| r.starts_with(&reg.url)),
                "{name} is not labelled with the registry: {s:?}"
            );
        }
        assert!(samples
            .iter()
            .any(|s| s.metric.starts_with("wargdash_verify_cycle_seconds")));
        assert!(
            matches!(get("wargdash_checkpoint_log_length").value, prometheus_parse::Value::Gauge(v) if v as u64 == size)
        );
        let kinds = m.kinds();
        assert!(
            !kinds
                .iter()
                .any(|k| k == "SPLIT_VIEW" || k == "PEER_SIGNATURE"),
            "{kinds:?}"
        );
    }
    let (code, took, err) = m1.stop();
    assert_eq!(code, 0, "{err}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    // One line per event on stderr.
    assert!(err.contains("cosigned"), "{err}");
    let (code, _, err) = m2.stop();
    assert_eq!(code, 0, "{err}");
}

async fn wait_for_metrics(
    m: &Mon,
    ok: impl Fn(&[prometheus_parse::Sample]) -> bool,
) -> Vec<prometheus_parse::Sample> {
    let end = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some((200, text)) = m.get("/metrics").await {
            let lines = text.lines().map(|l| Ok(l.to_string()));
            let scrape = prometheus_parse::Scrape::parse(lines).expect("metrics parse");
            if ok(&scrape.samples) {
                return scrape.samples;
            }
        }
        assert!(Instant::now() < end, "metrics never satisfied the check");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

// ---- add-checkpoint ----

fn operator_note(
    op: &SigningKey,
    origin: &str,
    size: u64,
    root: [u8; 32],
    with_op: bool,
) -> String {
    use wargdash::ids::Sha256Hash;
    use wargdash::witness::note::{Body, Note, OperatorSig};
    let contents = CheckpointContents {
        log_root: Sha256Hash(root).to_string(),
        log_length: size,
        map_root: Sha256Hash([9u8; 32]).to_string(),
        timestamp: now(),
    };
    let signed = wargdash::trust::checkpoint::sign_contents(op, &contents);
    let body = Body {
        origin: origin.to_string(),
        size,
        root: Sha256Hash(root),
    };
    let line = OperatorSig::from_warg(contents.timestamp, Sha256Hash([9u8; 32]), &signed.signature)
        .unwrap()
        .line(origin, &op.public_key())
        .unwrap();
    let mut sigs = vec![line];
    if !with_op {
        sigs[0].id = [0, 0, 0, 0];
    }
    Note {
        text: body.text(),
        sigs,
    }
    .render()
}

async fn add(m: &Mon, body: String) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{}/add-checkpoint", m.url()))
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_checkpoint_answers_each_status() {
    let op = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let reg = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
    publish_init(&reg.url, "demo:add").await;
    let mut m = Mon::new(&reg.url);
    m.start(&[]);
    let note = wait_note(&m).await;
    let (size, root, _) = independent_verify(&note, &m.vkey).unwrap();
    let root: [u8; 32] = root.try_into().unwrap();

    // 200: the cosigned checkpoint itself, from its own size with an empty proof.
    let (s, body) = add(&m, format!("old {size}\n\n{note}")).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.starts_with("\u{2014} witness "), "{body}");
    // 404: another origin.
    let other = operator_note(&op, "elsewhere.test/log", size, root, true);
    assert_eq!(add(&m, format!("old {size}\n\n{other}")).await.0, 404);
    // 403: no signature by the operator (a line under an unknown key ID), or by another key.
    let unsigned = operator_note(&op, ORIGIN, size, root, false);
    assert_eq!(add(&m, format!("old {size}\n\n{unsigned}")).await.0, 403);
    let stranger = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let foreign = operator_note(&stranger, ORIGIN, size, root, true);
    assert_eq!(add(&m, format!("old {size}\n\n{foreign}")).await.0, 403);
    // 409: an old size that is not this witness's, with the current size in the body.
    let (s, body) = add(&m, format!("old {}\n\n{note}", size - 1)).await;
    assert_eq!((s, body.as_str()), (409, format!("{size}\n").as_str()));
    // 422: a larger checkpoint with a proof that does not hold.
    let bigger = operator_note(&op, ORIGIN, size + 3, [7u8; 32], true);
    let bad = B64.encode([1u8; 32]);
    let (s, body) = add(&m, format!("old {size}\n{bad}\n{bad}\n\n{bigger}")).await;
    assert_eq!(s, 422, "{body}");
    assert!(!m.kinds().contains(&"SPLIT_VIEW".to_string()));
    // 422 and SPLIT_VIEW: the same size with another root, signed by the operator.
    let conflicting = operator_note(&op, ORIGIN, size, [5u8; 32], true);
    let (s, body) = add(&m, format!("old {size}\n\n{conflicting}")).await;
    assert_eq!(s, 422, "{body}");
    assert!(m.kinds().contains(&"SPLIT_VIEW".to_string()));
    // Anything else is refused: a bad request, a GET, a body too large.
    assert_eq!(add(&m, "nonsense".into()).await.0, 400);
    assert_eq!(add(&m, "x".repeat(200 * 1024)).await.0, 413);
    let (code, _, err) = m.stop();
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_of_different_lengths_are_a_split_view_from_either_side() {
    let op = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let a = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let b = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
    publish_init(&a.url, "demo:alpha").await;
    publish_init(&b.url, "demo:beta").await;
    publish_init(&b.url, "demo:gamma").await;

    let mut ma = Mon::new(&a.url);
    let mut mb = Mon::new(&b.url);
    let (pa, pb) = (ma.peer_arg(), mb.peer_arg());
    // A is shorter: B's larger size is a view its registry never shows it (withheld after
    // twice the maximum checkpoint age); B finds A's size with another root in its own
    // verified ledger's prefix (RFC 6962 from the ledger rows).
    ma.start_with(
        std::slice::from_ref(&pb),
        &["--period", "1", "--max-checkpoint-age", "3"],
    );
    mb.start(std::slice::from_ref(&pa));
    for (m, what) in [(&mb, "prefix"), (&ma, "withheld")] {
        let alerts = wait_for(what, 40, || {
            let al = m.alerts();
            al.iter().any(|a| a["kind"] == "SPLIT_VIEW").then_some(al)
        })
        .await;
        let sv = alerts.iter().find(|a| a["kind"] == "SPLIT_VIEW").unwrap();
        let ev = &sv["evidence"];
        assert!(ev["peerCheckpoint"]["signature"].as_str().is_some(), "{sv}");
        assert!(ev["ownCheckpoint"]["signature"].as_str().is_some(), "{sv}");
        if what == "withheld" {
            assert!(sv["detail"].as_str().unwrap().contains("withheld"), "{sv}");
        }
    }
    for m in [&mut ma, &mut mb] {
        let (code, _, err) = m.stop();
        assert_eq!(code, 0, "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_behind_agrees_a_wrong_key_is_peer_signature_and_an_unreachable_peer_is_only_a_metric(
) {
    let reg = TestRegistry::start();
    publish_init(&reg.url, "demo:first").await;
    let mut m1 = Mon::new(&reg.url);
    let other = Mon::new(&reg.url);
    // One cycle, then none for an hour: its note stays at today's size. Its one peer is a
    // port where nothing listens.
    let dead = format!("{}={}", common::refused_url(), other.vkey);
    m1.start_with(std::slice::from_ref(&dead), &["--period", "3600"]);
    let note = wait_note(&m1).await;
    let (size, _, _) = independent_verify(&note, &m1.vkey).unwrap();
    publish_init(&reg.url, "demo:second").await;

    // A third home verifies the longer log; the peer's smaller size is its own prefix: agree.
    let third = Wd::new(Some(&reg.url));
    let r = third.run(&["verify", "--peer", &m1.peer_arg(), "--origin", ORIGIN]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("agree"), "{r:?}");
    assert!(r.stdout.contains(&format!("size {size} ")), "{r:?}");
    // The right URL with another monitor's key: PEER_SIGNATURE, exit 30.
    let wrong = format!("{}={}", m1.url(), other.vkey);
    let r = third.run(&["verify", "--peer", &wrong, "--origin", ORIGIN]);
    assert_eq!(r.code, 30, "{r:?}");
    assert!(r.stdout.contains("PEER_SIGNATURE"), "{r:?}");

    // The unreachable peer: a metric, never an alert.
    let samples = wait_for_metrics(&m1, |s| {
        s.iter().any(|x| {
            x.metric == "wargdash_peer_up"
                && matches!(x.value, prometheus_parse::Value::Gauge(v) if v == 0.0)
        })
    })
    .await;
    assert!(samples
        .iter()
        .any(|x| x.metric == "wargdash_peer_fetch_errors_total"));
    assert!(m1.kinds().is_empty(), "{:?}", m1.kinds());

    // SIGINT stops it as SIGTERM does.
    let child = m1.child.take().unwrap();
    let t = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", m1.log());
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_checkpoint_cosigns_a_newer_consistent_checkpoint_once_its_cycle_verified_it() {
    use wargdash::ids::Sha256Hash;
    use wargdash::witness::note::{Body, Note, OperatorSig};
    let op = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let reg = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
    publish_init(&reg.url, "demo:old").await;
    let mut m = Mon::new(&reg.url);
    // One cycle now, the next in an hour: only add-checkpoint makes it look again.
    m.start_with(&[], &["--period", "3600"]);
    let note = wait_note(&m).await;
    let (old, _, _) = independent_verify(&note, &m.vkey).unwrap();
    publish_init(&reg.url, "demo:new").await;
    let c = client(&reg.url);
    let cp = c.checkpoint().await.unwrap();
    assert!(cp.contents.log_length > old);
    let new = cp.contents.log_length;
    let page = c.ledger_page(0).await.unwrap();
    let leaves: Vec<Sha256Hash> = wargdash::trust::ledger::parse_page(&page)
        .unwrap()
        .iter()
        .map(|e| e.leaf_hash())
        .collect();
    let proof = wargdash::witness::tlog::consistency_proof(old as usize, &leaves[..new as usize]);
    let root: Sha256Hash = cp.contents.log_root.parse().unwrap();
    let line = OperatorSig::from_warg(
        cp.contents.timestamp,
        cp.contents.map_root.parse().unwrap(),
        &cp.signature,
    )
    .unwrap()
    .line(ORIGIN, &op.public_key())
    .unwrap();
    let submitted = Note {
        text: Body {
            origin: ORIGIN.into(),
            size: new,
            root,
        }
        .text(),
        sigs: vec![line],
    }
    .render();
    let lines: String = proof
        .iter()
        .map(|h| format!("{}\n", B64.encode(h.0)))
        .collect();
    let (s, body) = add(&m, format!("old {old}\n{lines}\n{submitted}")).await;
    assert_eq!(s, 200, "{body}\n{}", m.log());
    assert!(body.starts_with("\u{2014} witness "), "{body}");
    // The cosignature returned is over the submitted body, by this witness.
    let cosigned = format!(
        "{}\n{body}",
        Body {
            origin: ORIGIN.into(),
            size: new,
            root
        }
        .text()
    );
    let (size, _, _) = independent_verify(&cosigned, &m.vkey).unwrap();
    assert_eq!(size, new);
    let (_, now_note) = m.get("/checkpoint").await.unwrap();
    assert!(
        now_note.starts_with(&format!("{ORIGIN}\n{new}\n")),
        "{now_note}"
    );
    let (code, _, err) = m.stop();
    assert_eq!(code, 0, "{err}");
}

/// The dashboard compares with peer monitors too: `witnessed 1/1` in its header beside a
/// monitor of the same registry, and the SPLIT_VIEW alert (stored, with evidence) beside a
/// monitor of another history under the same operator key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_header_says_witnessed_or_the_split_view() {
    let op = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let a = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let b = TestRegistry::start_with_operator_key(&op, Duration::from_millis(300));
    publish_init(&a.url, "demo:alpha").await;
    publish_init(&b.url, "demo:beta").await;
    let mut ma = Mon::new(&a.url);
    let mut mb = Mon::new(&b.url);
    ma.start(&[]);
    mb.start(&[]);
    wait_note(&ma).await;
    wait_note(&mb).await;
    let witness = |home: &std::path::Path, peer: &Mon| wargdash::ui::witness::WitnessConfig {
        registry: a.url.clone(),
        peers: vec![wargdash::witness::peer::Peer::parse(&peer.peer_arg()).unwrap()],
        origin: ORIGIN.into(),
        store: dash::store_path(home),
        period: Duration::from_millis(500),
    };

    // Beside A's own monitor: agreement.
    let home = tempfile::tempdir().unwrap();
    let w = witness(home.path(), &ma);
    let mut run = dash::DashRun::start_with(&a.url, home.path(), 200, 24, |b| {
        b.verifier(Some(dash::verifier(home.path(), None)))
            .witness(Some(w))
    });
    let screen = run.until("witnessed 1/1").await;
    assert!(!screen.contains("ALERT"), "{screen}");
    drop(run);

    // Beside B's monitor (another history, the same operator key): the split view.
    let home = tempfile::tempdir().unwrap();
    let w = witness(home.path(), &mb);
    let mut run = dash::DashRun::start_with(&a.url, home.path(), 200, 24, |b| {
        b.verifier(Some(dash::verifier(home.path(), None)))
            .witness(Some(w))
    });
    run.until("⚠ ALERT SPLIT_VIEW").await;
    let db = wargdash::trust::db::TrustDb::open(&dash::store_path(home.path())).unwrap();
    let stored = db.alerts(&format!("{}/", a.url), 10).unwrap();
    let sv = stored
        .iter()
        .find(|x| x.alert.kind.as_str() == "SPLIT_VIEW")
        .expect("stored");
    assert!(sv.alert.evidence["peerNote"]
        .as_str()
        .unwrap()
        .contains(ORIGIN));
    drop(run);
    for m in [&mut ma, &mut mb] {
        let (code, _, err) = m.stop();
        assert_eq!(code, 0, "{err}");
    }
}
