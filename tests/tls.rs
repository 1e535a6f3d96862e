//! https registries: a TLS-terminating proxy on 127.0.0.1 (tokio-rustls, certificates from a
//! throwaway CA made with rcgen) in front of a real warg-server. With the CA given by
//! `--ca-file`, by `caFile` in the config, or by `SSL_CERT_FILE` (read by the same native trust
//! store loader as the system's certificates), publish and status work over https. Without it,
//! and for an expired certificate, a certificate for another name, plain http on an https URL
//! and a CA file that holds no certificate, the error says what failed and how to fix it.

mod common;

use common::{Run, TestRegistry, Wd};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tokio_rustls::rustls;
use wargdash::exit;

/// A throwaway certificate authority, written to `ca.pem`.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Ca {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "wargdash test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pem_path = dir.path().join("ca.pem");
        std::fs::write(&pem_path, cert.pem()).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            pem_path,
            _dir: dir,
        }
    }

    fn pem(&self) -> &str {
        self.pem_path.to_str().unwrap()
    }

    /// A server certificate for `names`, optionally long expired.
    fn server_config(&self, names: &[&str], expired: bool) -> Arc<rustls::ServerConfig> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("x"));
        if expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        Arc::new(config)
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Terminates TLS on 127.0.0.1 and forwards the plain bytes to `upstream` (host:port).
struct TlsProxy {
    url: String,
    handshakes_failed: Arc<AtomicUsize>,
    /// Completed handshakes: only these connections reach the registry.
    handshakes_ok: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsProxy {
    fn start(config: Arc<rustls::ServerConfig>, upstream: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream = upstream.to_string();
        let failed = Arc::new(AtomicUsize::new(0));
        let handshakes_failed = failed.clone();
        let ok = Arc::new(AtomicUsize::new(0));
        let handshakes_ok = ok.clone();
        let task = runtime().spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let upstream = upstream.clone();
                let failed = failed.clone();
                let ok = ok.clone();
                conns.spawn(async move {
                    let Ok(mut tls) = acceptor.accept(sock).await else {
                        failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    ok.fetch_add(1, Ordering::SeqCst);
                    if let Ok(mut up) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                    }
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Self {
            url: format!("https://127.0.0.1:{}", addr.port()),
            handshakes_failed,
            handshakes_ok,
            task,
        }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn upstream(reg: &TestRegistry) -> String {
    reg.url.trim_start_matches("http://").to_string()
}

/// Runs with an explicit environment for the trust store (never the caller's SSL_CERT_*).
fn run_env(wd: &Wd, args: &[&str], ssl_cert_file: Option<&str>) -> Run {
    let mut c = wd.command(args);
    c.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    if let Some(f) = ssl_cert_file {
        c.env("SSL_CERT_FILE", f);
    }
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_says(r: &Run, code: i32, says: &[&str]) {
    assert_eq!(r.code, code, "{r:?}");
    for s in says {
        assert!(r.stderr.contains(s), "expected {s:?} in: {r:?}");
    }
}

#[test]
fn a_custom_ca_makes_https_work_and_its_absence_says_what_failed() {
    let reg = TestRegistry::start();
    let ca = Ca::new();
    let proxy = TlsProxy::start(
        ca.server_config(&["localhost", "127.0.0.1"], false),
        &upstream(&reg),
    );
    let wd = Wd::new(Some(&proxy.url));
    wd.ok(&["key", "new"], 0);
    let log = wd.ok(&["log-id", "demo:tls"], 0).stdout.trim().to_string();

    // --ca-file: a full publish over https, then status.
    let r = run_env(
        &wd,
        &[
            "--ca-file",
            ca.pem(),
            "--json",
            "publish",
            "demo:tls",
            "init",
            "--wait",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let rec: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(rec["state"], "published", "{rec}");
    let rid = rec["recordId"].as_str().unwrap().to_string();
    let r = run_env(&wd, &["--ca-file", ca.pem(), "status", &log, &rid], None);
    assert_eq!(r.code, 0, "{r:?}");
    // Nothing was verified through this home yet: the registry's answer is its claim.
    assert!(r.stdout.starts_with("published? index "), "{r:?}");

    // SSL_CERT_FILE: the native trust store loader (what the system store goes through) reads it.
    let r = run_env(&wd, &["status", &log, &rid], Some(ca.pem()));
    assert_eq!(r.code, 0, "SSL_CERT_FILE must be honoured: {r:?}");

    // `caFile` in the config file.
    let cfg = wd.home.path().join("config/config.json");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, serde_json::json!({ "caFile": ca.pem() }).to_string()).unwrap();
    let r = run_env(&wd, &["status", &log, &rid], None);
    assert_eq!(r.code, 0, "caFile in the config must be honoured: {r:?}");
    std::fs::remove_file(&cfg).unwrap();

    // Without the CA: a certificate error that names the problem and the fix, and nothing
    // else was tried (the handshake failed, no request went through).
    let before = proxy.handshakes_failed.load(Ordering::SeqCst);
    let r = run_env(&wd, &["status", &log, &rid], None);
    assert_says(
        &r,
        exit::UNREACHABLE,
        &[
            &format!("TLS certificate of {}/", proxy.url),
            "not signed by a trusted certificate authority",
            "--ca-file",
            "SSL_CERT_FILE",
        ],
    );
    assert!(proxy.handshakes_failed.load(Ordering::SeqCst) > before);
    // The same for publish, which must not have signed or tracked anything it could not send.
    let tracked_before = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert!(tracked_before.contains(&rid), "{tracked_before}");
    let (ok_before, failed_before) = (
        proxy.handshakes_ok.load(Ordering::SeqCst),
        proxy.handshakes_failed.load(Ordering::SeqCst),
    );
    let r = run_env(&wd, &["publish", "demo:tls2", "init"], None);
    assert_says(
        &r,
        exit::UNREACHABLE,
        &["not signed by a trusted certificate authority"],
    );
    // Nothing tracked: a record is tracked as soon as it is signed, before it is sent, so an
    // unchanged tracked set means nothing was signed either.
    let tracked_after = wd.ok(&["--json", "track", "list"], 0).stdout;
    assert_eq!(tracked_after, tracked_before, "publish tracked something");
    let log2 = wd.ok(&["log-id", "demo:tls2"], 0).stdout.trim().to_string();
    assert!(!tracked_after.contains(&log2), "{tracked_after}");
    assert!(
        !r.stderr.contains("submitting record"),
        "publish got as far as submitting: {r:?}"
    );
    // Nothing sent: no TLS session was established (the proxy forwards only after one), and
    // the handshake that failed was this publish's.
    assert_eq!(
        proxy.handshakes_ok.load(Ordering::SeqCst),
        ok_before,
        "a request reached the registry"
    );
    assert!(proxy.handshakes_failed.load(Ordering::SeqCst) > failed_before);

    // A CA file that holds no certificate is refused up front.
    let junk = wd.home.path().join("junk.pem");
    std::fs::write(&junk, "this is not a certificate\n").unwrap();
    let r = run_env(
        &wd,
        &["--ca-file", junk.to_str().unwrap(), "status", &log, &rid],
        None,
    );
    assert_says(
        &r,
        exit::USAGE,
        &[
            &format!("CA file {} holds no", junk.display()),
            "PEM certificate",
        ],
    );
    let missing = wd.home.path().join("missing.pem");
    let r = run_env(
        &wd,
        &["--ca-file", missing.to_str().unwrap(), "status", &log, &rid],
        None,
    );
    assert_says(
        &r,
        exit::USAGE,
        &[&format!("reading CA certificate {}", missing.display())],
    );
}

#[test]
fn expired_and_misnamed_certificates_and_plain_http_are_told_apart() {
    let reg = TestRegistry::start();
    let ca = Ca::new();
    let log = format!("sha256:{}", "ab".repeat(32));
    let rec = format!("sha256:{}", "cd".repeat(32));

    let expired = TlsProxy::start(
        ca.server_config(&["localhost", "127.0.0.1"], true),
        &upstream(&reg),
    );
    let wd = Wd::new(Some(&expired.url));
    let r = run_env(&wd, &["--ca-file", ca.pem(), "status", &log, &rec], None);
    assert_says(
        &r,
        exit::UNREACHABLE,
        &["TLS certificate of", "has expired"],
    );

    let misnamed = TlsProxy::start(
        ca.server_config(&["registry.example.com"], false),
        &upstream(&reg),
    );
    let wd = Wd::new(Some(&misnamed.url));
    let r = run_env(&wd, &["--ca-file", ca.pem(), "status", &log, &rec], None);
    assert_says(
        &r,
        exit::UNREACHABLE,
        &[
            "TLS certificate of",
            "is for another name",
            "registry.example.com",
        ],
    );

    // An https URL for a registry that speaks plain http.
    let plain = reg.url.replace("http://", "https://");
    let wd = Wd::new(Some(&plain));
    let r = run_env(&wd, &["status", &log, &rec], None);
    assert_says(
        &r,
        exit::UNREACHABLE,
        &["TLS handshake with", "failed", "does it serve https"],
    );
}
