//! `monitor`, `witness vkey` and `verify --peer`: the witness side of the command line.

use super::output::{errln, outln, print_json};
use super::Env;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use wargdash::exit::{self, fail, CmdResult};
use wargdash::monitor::MonitorOptions;
use wargdash::text::clean;
use wargdash::tracker::scheduler::SchedulerConfig;
use wargdash::witness::peer::{self, Outcome, Peer};
use wargdash::witness::WitnessKey;

/// The peers from the flags, else `registries.<URL>.peers` in the config.
fn peers(
    env: &Env<'_>,
    flags: &[String],
    registry: &str,
) -> Result<Vec<Peer>, wargdash::exit::Fail> {
    let specs: Vec<String> = if flags.is_empty() {
        env.ctx
            .config
            .registry(registry)
            .map(|r| r.peers.clone())
            .unwrap_or_default()
    } else {
        flags.to_vec()
    };
    specs
        .iter()
        .map(|s| {
            Peer::parse(s).map_err(|e| {
                fail(
                    exit::USAGE,
                    color_eyre::eyre::eyre!("--peer `{}`: {e}", clean(s)),
                )
            })
        })
        .collect()
}

/// `wargdash witness vkey`: prints the verifier key, creating the key on first use.
pub fn vkey(env: &Env<'_>, name: &str) -> CmdResult {
    let (k, created) =
        WitnessKey::load_or_create(&env.ctx.keys(), name).map_err(|e| fail(exit::KEY, e))?;
    if created {
        errln!(
            "created witness key `{name}` in {}",
            env.ctx.keys().dir().display()
        );
    }
    if env.json {
        print_json(&json!({"name": name, "vkey": k.key.vkey()}))
            .map_err(|e| fail(exit::ERROR, e))?;
    } else {
        outln!("{}", k.key.vkey()).map_err(|e| fail(exit::ERROR, e))?;
    }
    Ok(exit::OK)
}

#[allow(clippy::too_many_arguments)]
pub async fn monitor(
    env: &Env<'_>,
    listen: SocketAddr,
    origin: Option<String>,
    peer_flags: &[String],
    witness_key: String,
    period: f64,
    interval: f64,
    concurrency: usize,
) -> CmdResult {
    let client = env.ctx.client()?;
    let registry = client.base().to_string();
    let peers = peers(env, peer_flags, &registry)?;
    let max_age = env.ctx.cycle_options(&registry, false)?.max_age;
    let opts = MonitorOptions {
        listen,
        origin,
        peers,
        witness_key,
        period: Duration::from_secs_f64(period),
        peer_timeout: Duration::from_secs(5),
        withheld_after: max_age * 2,
        scheduler: SchedulerConfig {
            interval: Duration::from_secs_f64(interval),
            concurrency,
            ..SchedulerConfig::default()
        },
    };
    let shutdown = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    };
    wargdash::monitor::run(env.ctx, opts, shutdown).await
}

/// After `verify`: one comparison with each peer. SPLIT_VIEW or PEER_SIGNATURE → 30.
pub async fn verify_peers(
    env: &Env<'_>,
    code: i32,
    peer_flags: &[String],
    origin: Option<String>,
) -> CmdResult {
    let client = env.ctx.client()?;
    let registry = client.base().to_string();
    let peers = peers(env, peer_flags, &registry)?;
    let origin = origin.unwrap_or_else(|| wargdash::witness::note::default_origin(&registry));
    let http = peer::http_client(Duration::from_secs(
        env.ctx.overrides.request_timeout.max(1),
    ))
    .map_err(|e| fail(exit::ERROR, e))?;
    let mut db = env.ctx.trust_db()?;
    let mut worst = code;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    for p in &peers {
        let (status, detail, alert) = match peer::fetch(&http, p).await {
            Err(e) => ("unreachable", e, None),
            Ok(text) => match peer::compare(&db, &registry, &origin, p, &text, None) {
                Err(e) => return Err(fail(exit::STORE, e)),
                Ok(Outcome::Agree { note }) => (
                    "agree",
                    format!("size {} root {}", note.body.size, note.body.root),
                    None,
                ),
                Ok(Outcome::Ahead { note, own }) => (
                    "ahead",
                    format!("peer at size {}, verified here {own}", note.body.size),
                    None,
                ),
                Ok(Outcome::Incomparable(why)) => ("not-compared", why, None),
                Ok(Outcome::SplitView { alert, .. }) => {
                    ("SPLIT_VIEW", alert.detail.clone(), Some(alert))
                }
                Ok(Outcome::BadSignature(alert)) => {
                    ("PEER_SIGNATURE", alert.detail.clone(), Some(alert))
                }
            },
        };
        if let Some(a) = &alert {
            let _ = db.add_alert(&registry, a, now_ms);
            worst = exit::ALERT;
        }
        if env.json {
            print_json(&json!({"peer": p.url, "status": status, "detail": detail, "alert": alert}))
                .map_err(|e| fail(exit::ERROR, e))?;
        } else {
            outln!("peer {}: {status}: {}", p.url, clean(&detail))
                .map_err(|e| fail(exit::ERROR, e))?;
            if let Some(a) = &alert {
                outln!("ALERT {}: {}", a.kind.as_str(), clean(&a.detail))
                    .map_err(|e| fail(exit::ERROR, e))?;
                outln!("  means: {}", a.kind.meaning()).map_err(|e| fail(exit::ERROR, e))?;
                outln!("  do:    {}", a.kind.what_to_do()).map_err(|e| fail(exit::ERROR, e))?;
            }
        }
    }
    Ok(worst)
}
