//! The sandbox registry: a real warg-server (in-memory store) started in-process on 127.0.0.1
//! when no registry is configured. Its records vanish when wargdash exits.

use crate::config::Paths;
use crate::keys::{load_key_file, Algorithm, SigningKey};
use color_eyre::eyre::{eyre, Result, WrapErr};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::oneshot;

/// The namespace the sandbox defines.
pub const SANDBOX_NAMESPACE: &str = "demo";

pub struct Sandbox {
    pub url: String,
    pub dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    /// Starts the sandbox on a random loopback port. The operator key is generated once and
    /// kept (mode 0600) under the data directory; content goes under `<data>/sandbox/content`.
    pub async fn start(paths: &Paths, checkpoint_interval: Duration) -> Result<Self> {
        let dir = paths.sandbox_dir();
        std::fs::create_dir_all(&dir)
            .wrap_err_with(|| format!("creating sandbox directory {}", dir.display()))?;
        crate::keys::set_mode(&dir, 0o700)?;
        let key_path = dir.join("operator.key");
        let key = if key_path.exists() {
            load_key_file(&key_path)?
        } else {
            let k = SigningKey::generate(Algorithm::EcdsaP256)?;
            crate::fsutil::write_atomic(&key_path, k.encode_private().as_bytes(), 0o600)
                .wrap_err_with(|| format!("writing sandbox operator key {}", key_path.display()))?;
            k
        };
        let operator_key =
            warg_crypto::signing::PrivateKey::decode(key.encode_private().to_string())
                .map_err(|e| eyre!("the sandbox operator key is unusable: {e}"))?;
        let content = dir.join("content");
        // The memory store starts empty each run; stale content would only confuse it.
        let _ = std::fs::remove_dir_all(&content);
        let (tx, rx) = oneshot::channel::<()>();
        let config = warg_server::Config::new(
            operator_key,
            Some(vec![(
                SANDBOX_NAMESPACE.to_string(),
                warg_protocol::operator::NamespaceState::Defined,
            )]),
            content,
        )
        .with_addr(([127, 0, 0, 1], 0))
        .with_checkpoint_interval(checkpoint_interval)
        .with_shutdown(async move {
            let _ = rx.await;
        });
        let server = warg_server::Server::new(config)
            .initialize()
            .await
            .map_err(|e| eyre!("starting the sandbox registry: {e:#}"))?;
        let addr = server
            .local_addr()
            .wrap_err("reading the sandbox address")?;
        let task = tokio::spawn(async move {
            if let Err(e) = server.serve().await {
                tracing::error!("sandbox registry stopped: {e:#}");
            }
        });
        Ok(Self {
            url: format!("http://{addr}"),
            dir,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Stops the server and waits (briefly) for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
        }
    }
}

/// The sample records `--demo` publishes into the sandbox.
const HELLO: &[u8] = include_bytes!("../assets/hello.wasm");
const HELLO_1_1: &[u8] = include_bytes!("../assets/hello-1.1.wasm");
const GREETER: &[u8] = include_bytes!("../assets/greeter.wasm");

/// `--demo`: publishes a few sample records through the one publish flow — two packages that
/// reach `published`, a second release, and a yank of a version never released (rejected).
pub async fn seed_demo(
    client: crate::registry::RegistryClient,
    keys: crate::keys::KeyStore,
    mut tracking: impl crate::publish::Tracking + Send,
) -> Result<()> {
    use crate::ids::{ContentDigest, PackageName};
    use crate::publish;
    use crate::record::Entry;
    let key = match keys.load("demo") {
        Ok(k) => k,
        Err(_) => {
            let k = SigningKey::generate(Algorithm::EcdsaP256)?;
            keys.save("demo", &k)?;
            k
        }
    };
    let mut published = Vec::new();
    let release = |v: &str, bytes: &[u8]| Entry::Release {
        version: v.into(),
        digest: ContentDigest::of_bytes(bytes),
    };
    let contents: publish::Contents = [HELLO, HELLO_1_1, GREETER]
        .iter()
        .map(|b| (ContentDigest::of_bytes(b), b.to_vec()))
        .collect();
    let init = Entry::Init {
        public_key: key.public_key(),
    };
    for (name, entries) in [
        ("demo:hello", vec![init.clone(), release("1.0.0", HELLO)]),
        (
            "demo:greeter",
            vec![init.clone(), release("0.1.0", GREETER)],
        ),
    ] {
        let pkg: PackageName = name.parse().map_err(|e: String| eyre!(e))?;
        let p = publish::prepare(&client, &pkg, entries, Default::default()).await?;
        let (r, _) =
            publish::sign_track_submit(&client, &mut tracking, &key, &p, &contents, false, |_| {})
                .await?;
        published.push(r);
    }
    // The second round builds on the first: wait for it to be published.
    for _ in 0..120 {
        let mut done = 0;
        for r in &published {
            if let Ok((rec, _)) = client.get_record(&r.log, &r.record).await {
                done += usize::from(rec.state.is_terminal());
            }
        }
        if done == published.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for (name, entries) in [
        ("demo:hello", vec![release("1.1.0", HELLO_1_1)]),
        // Yanking a version that was never released: the registry rejects it.
        (
            "demo:greeter",
            vec![Entry::Yank {
                version: "9.9.9".into(),
            }],
        ),
    ] {
        let pkg: PackageName = name.parse().map_err(|e: String| eyre!(e))?;
        let p = publish::prepare(&client, &pkg, entries, Default::default()).await?;
        publish::sign_track_submit(&client, &mut tracking, &key, &p, &contents, false, |_| {})
            .await?;
    }
    Ok(())
}
