//! Test support: a real warg-server started in-process on 127.0.0.1, and a runner for the
//! `wargdash` binary with its own `WARGDASH_HOME`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use wargdash::keys::{Algorithm, SigningKey};

/// The name of the test registry's runtime threads (benches account their CPU by it).
pub const SERVER_THREADS: &str = "registry-srv";

/// A real warg-server (memory store, namespace `demo`) on a random loopback port, in a thread of
/// its own. Stopped on drop.
pub struct TestRegistry {
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestRegistry {
    pub fn start() -> Self {
        Self::start_with_interval(Duration::from_millis(300))
    }

    pub fn start_with_interval(interval: Duration) -> Self {
        let op = SigningKey::generate(Algorithm::EcdsaP256).expect("operator key");
        Self::start_with_operator_key(&op, interval)
    }

    /// A registry whose operator key is `op` (so a test can re-sign its checkpoints, or
    /// restart a registry under the same key).
    pub fn start_with_operator_key(op: &SigningKey, interval: Duration) -> Self {
        let op_text = op.encode_private();
        let dir = tempfile::tempdir().expect("tempdir");
        let content = dir.path().join("content");
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (sd_tx, sd_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(SERVER_THREADS)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let key = warg_crypto::signing::PrivateKey::decode(op_text.to_string())
                    .expect("operator key decodes");
                let config = warg_server::Config::new(
                    key,
                    Some(vec![(
                        "demo".into(),
                        warg_protocol::operator::NamespaceState::Defined,
                    )]),
                    content,
                )
                .with_addr(([127, 0, 0, 1], 0))
                .with_checkpoint_interval(interval)
                .with_shutdown(async move {
                    let _ = sd_rx.await;
                });
                let server = warg_server::Server::new(config)
                    .initialize()
                    .await
                    .expect("server starts");
                let addr = server.local_addr().expect("addr");
                url_tx.send(format!("http://{addr}")).expect("send url");
                server.serve().await.expect("server runs");
            });
        });
        let url = url_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server came up");
        Self {
            url,
            shutdown: Some(sd_tx),
            thread: Some(thread),
            _dir: dir,
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs the wargdash binary with an isolated home.
pub struct Wd {
    pub home: tempfile::TempDir,
    pub registry: Option<String>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A loopback URL where nothing listens, so connecting is refused. Port 1 (tcpmux) is never
/// served on test machines, and unlike a port bound and released it cannot be handed to a
/// server that another test starts at the same moment.
pub fn refused_url() -> String {
    "http://127.0.0.1:1".to_string()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wargdash")
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

impl Wd {
    pub fn new(registry: Option<&str>) -> Self {
        Self {
            home: tempfile::tempdir().expect("tempdir"),
            registry: registry.map(str::to_string),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .env("WARGDASH_HOME", self.home.path())
            .env_remove("WARGDASH_REGISTRY")
            .env_remove("WARGDASH_KEY")
            .env_remove("WARGDASH_TOKEN")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        if let Some(r) = &self.registry {
            c.env("WARGDASH_REGISTRY", r);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Self::collect(self.command(args).output().expect("run wargdash"))
    }

    pub fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        Self::collect(child.wait_with_output().expect("wait"))
    }

    fn collect(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Runs and asserts the exit code, returning the run.
    pub fn ok(&self, args: &[&str], code: i32) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, code, "wargdash {args:?}: {r:?}");
        r
    }

    pub fn json(&self, args: &[&str], code: i32) -> serde_json::Value {
        let r = self.ok(args, code);
        serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {r:?}"))
    }
}
