//! The command line: clap argument types and the subcommand handlers. This module lives in the
//! binary only; the library never sees clap types. Each command returns its exit code (see
//! [`wargdash::exit`]).

mod info;
mod key;
mod log;
mod monitor;
mod output;
mod publish;
mod record;
mod track;
mod trust;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use wargdash::context::{Ctx, Overrides};
use wargdash::exit::CmdResult;
use wargdash::keys::Algorithm;
use wargdash::ui::DashOptions;

pub use record::poll_once;

/// The clap definition of the whole command line (for completions and the manual).
fn command_line() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// `completions` and `man`: generated from the clap definitions, needing no config, store or
/// registry. `None` for every other command.
pub fn offline_command(cmd: &Option<Command>) -> Option<CmdResult> {
    match cmd {
        Some(Command::Completions { shell }) => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(*shell, &mut command_line(), "wargdash", &mut out);
            Some(Ok(wargdash::exit::OK))
        }
        Some(Command::Man) => Some(offline(&command_line())),
        _ => None,
    }
}

fn offline(cmd: &clap::Command) -> CmdResult {
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(|e| wargdash::exit::fail(wargdash::exit::ERROR, e))?;
    Ok(wargdash::exit::OK)
}

#[derive(Debug, Parser)]
#[command(
    name = "wargdash",
    version,
    about = "A terminal dashboard and scriptable CLI for warg registry operators"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(flatten)]
    pub dash: DashArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Registry base URL (else env WARGDASH_REGISTRY, else `registry` in the config file).
    #[arg(long, env = "WARGDASH_REGISTRY", global = true)]
    pub registry: Option<String>,
    /// File holding a bearer token sent as `Authorization: Bearer` (else env WARGDASH_TOKEN).
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
    /// Send the bearer token over plain `http://` to a registry that is not on loopback
    /// (by default a token goes over http only to 127.0.0.1, ::1 or localhost).
    #[arg(long, global = true)]
    pub allow_http_token: bool,
    /// Extra PEM CA certificate to trust for https registries.
    #[arg(long, global = true)]
    pub ca_file: Option<PathBuf>,
    /// Seconds before a registry request is abandoned (1–86400).
    #[arg(long, global = true, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub request_timeout: u64,
    /// Print results as JSON (one object per line).
    #[arg(long, global = true)]
    pub json: bool,
    /// Run this shell command once for every new trust alert (env WARGDASH_ALERT_KIND,
    /// WARGDASH_ALERT_DETAIL, WARGDASH_REGISTRY; the alert as JSON on stdin; never the token;
    /// its process group killed after 30 s); else `onAlert` in the config.
    #[arg(long, global = true, value_name = "CMD")]
    pub on_alert: Option<String>,
    /// Pin the registry operator's key ID (`sha256:…`): checkpoints signed by any other key
    /// raise OPERATOR_KEY_CHANGED. Else `registries.<URL>.operatorKeyId` in the config, else
    /// trust on first use.
    #[arg(long, global = true, value_name = "KEY_ID")]
    pub pin_operator_key: Option<String>,
    /// Checkpoints older than this many seconds raise CHECKPOINT_STALE (default 60).
    #[arg(long, global = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub max_checkpoint_age: Option<u64>,
}

impl GlobalArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            registry: self.registry.clone(),
            token_file: self.token_file.clone(),
            allow_http_token: self.allow_http_token,
            ca_file: self.ca_file.clone(),
            request_timeout: self.request_timeout,
            on_alert: self.on_alert.clone(),
            pin_operator_key: self.pin_operator_key.clone(),
            max_checkpoint_age: self.max_checkpoint_age,
        }
    }
}

/// A poll interval in seconds: a finite number from 0.01 to 3600.
fn parse_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !v.is_finite() || !(0.01..=3600.0).contains(&v) {
        return Err(format!(
            "`{s}` is out of range: the interval is 0.01 to 3600 seconds"
        ));
    }
    Ok(v)
}

/// Requests in flight: 1 to 1024.
fn parse_concurrency(s: &str) -> Result<usize, String> {
    let v: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if !(1..=1024).contains(&v) {
        return Err(format!("`{s}` is out of range: concurrency is 1 to 1024"));
    }
    Ok(v)
}

#[derive(Debug, Args, Clone, Default)]
pub struct DashArgs {
    /// Seconds between polls of pending records (0.01–3600).
    #[arg(long, value_parser = parse_interval)]
    pub interval: Option<f64>,
    /// Requests in flight at most (1–1024).
    #[arg(long, value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,
    /// Hide publishing (watch only).
    #[arg(long)]
    pub readonly: bool,
    /// Publish a few sample records on start-up (sandbox registry only).
    #[arg(long)]
    pub demo: bool,
    /// Leave the mouse to the terminal (its own text selection) instead of clicks selecting
    /// rows and the wheel scrolling.
    #[arg(long)]
    pub no_mouse: bool,
}

impl DashArgs {
    /// The dashboard's options, resolved against the config file.
    pub fn options(&self, ctx: &Ctx) -> DashOptions {
        DashOptions {
            interval: std::time::Duration::from_secs_f64(
                self.interval
                    .or(ctx.config.interval)
                    .unwrap_or(2.0)
                    .clamp(0.01, 3600.0),
            ),
            concurrency: self
                .concurrency
                .or(ctx.config.concurrency)
                .unwrap_or(16)
                .clamp(1, 1024),
            readonly: self.readonly,
            demo: self.demo,
            mouse: !self.no_mouse,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the log ID of a package (NS:NAME).
    LogId { package: String },
    /// Show a record's state (one GET).
    Status { log_id: String, record_id: String },
    /// Manage the tracked set.
    #[command(subcommand)]
    Track(TrackCmd),
    /// Poll tracked records.
    Poll {
        /// Poll every tracked record once and exit.
        #[arg(long, required = true)]
        once: bool,
        /// Requests in flight at most (1–1024).
        #[arg(long, default_value_t = 16, value_parser = parse_concurrency)]
        concurrency: usize,
        /// One GET per record, even where the registry serves a ledger (without it, published
        /// records are resolved from the verified ledger).
        #[arg(long)]
        no_ledger: bool,
    },
    /// Verify the registry once: operator key, signed checkpoint, ledger, tracked records
    /// (exit 0: verified, no alert; 30: at least one alert).
    Verify {
        /// Also recompute the log and map roots from the whole ledger (streaming).
        #[arg(long)]
        full: bool,
        /// Accept the registry's current state as the new baseline (after a legitimate reset):
        /// re-pins and prints what it accepted.
        #[arg(long)]
        reset_trust: bool,
        /// Also compare with a peer monitor's cosigned checkpoint (`URL=VKEY`, repeatable;
        /// else `registries.<URL>.peers` in the config is not used: give them here). Exit 30
        /// on SPLIT_VIEW or PEER_SIGNATURE.
        #[arg(long, value_name = "URL=VKEY")]
        peer: Vec<String>,
        /// The checkpoint origin the peers cosign (default: the registry URL's host and path).
        #[arg(long, requires = "peer")]
        origin: Option<String>,
    },
    /// Run headless: verify, poll and check like the dashboard, cosign what was verified,
    /// compare with peer monitors, serve /checkpoint, /metrics and /add-checkpoint. Logs to
    /// stderr; SIGTERM or SIGINT stops it (exit 0).
    Monitor(MonitorArgs),
    /// The witness key.
    #[command(subcommand)]
    Witness(WitnessCmd),
    /// The trust alerts stored for this registry.
    Alerts {
        /// At most this many (newest first).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        /// Delete stored alerts beyond the retention limit (config `alertRetentionRows`,
        /// default 10 000, and `alertRetentionDays`, default 90) and say how many went.
        #[arg(long)]
        prune: bool,
    },
    /// Build, sign and submit a package record.
    Publish(PublishArgs),
    /// Manage signing keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Print where wargdash keeps its files and which registry it uses.
    Info,
    /// Run the embedded sandbox registry in the foreground (Ctrl-C stops it).
    Sandbox,
    /// List a package log's records (NS:NAME or LOG_ID), each proven in the checkpoint a
    /// verification cycle verifies (pin and stored state included).
    Log { package: String },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout: `wargdash man | man -l -`.
    Man,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Address of the HTTP side (/checkpoint, /checkpoint.json, /metrics, /add-checkpoint).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub listen: std::net::SocketAddr,
    /// The checkpoint origin cosigned (default: the registry URL's host and path). Peers of
    /// one registry must use the same origin.
    #[arg(long)]
    pub origin: Option<String>,
    /// A peer monitor (`URL=VKEY`, its `wargdash witness vkey`), repeatable; else
    /// `registries.<URL>.peers` in the config.
    #[arg(long, value_name = "URL=VKEY")]
    pub peer: Vec<String>,
    /// The witness key's name in the key store (an ed25519 key, created on first use).
    #[arg(long, default_value = wargdash::witness::DEFAULT_KEY)]
    pub witness_key: String,
    /// Seconds between verification cycles (1–3600).
    #[arg(long, default_value_t = 5.0, value_parser = parse_period)]
    pub period: f64,
    /// Seconds between polls of pending tracked records (0.01–3600).
    #[arg(long, default_value_t = 2.0, value_parser = parse_interval)]
    pub interval: f64,
    /// Requests in flight at most (1–1024).
    #[arg(long, default_value_t = 16, value_parser = parse_concurrency)]
    pub concurrency: usize,
}

/// A cycle period in seconds: 0.2 to 3600.
fn parse_period(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !v.is_finite() || !(0.2..=3600.0).contains(&v) {
        return Err(format!(
            "`{s}` is out of range: the period is 0.2 to 3600 seconds"
        ));
    }
    Ok(v)
}

#[derive(Debug, Subcommand)]
pub enum WitnessCmd {
    /// Print this monitor's C2SP verifier key (`name+hex(keyID)+base64(0x04 ‖ pk)`), creating
    /// the ed25519 witness key (0600, in the key store) on first use.
    Vkey {
        /// The witness key's name (also its name in notes).
        #[arg(long, default_value = wargdash::witness::DEFAULT_KEY)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrackCmd {
    /// Track a record: `LOG_ID RECORD_ID`, `--package NS:NAME RECORD_ID`, or `-` to read
    /// `LOG_ID RECORD_ID [NS:NAME]` lines from stdin (all or nothing).
    Add {
        /// Package name instead of a log ID.
        #[arg(long)]
        package: Option<String>,
        /// LOG_ID RECORD_ID, RECORD_ID with --package, or `-`.
        #[arg(num_args = 1..=2)]
        ids: Vec<String>,
    },
    /// List tracked records with their last known state.
    List,
    /// Stop tracking a record.
    Remove { log_id: String, record_id: String },
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Package name, NS:NAME.
    pub package: String,
    /// Signing key name (else env WARGDASH_KEY, else `key` in the config, else `default`).
    #[arg(long, global = true)]
    pub key: Option<String>,
    /// Signing key file (`ecdsa-p256:<base64>`), mode 0600.
    #[arg(long, global = true, conflicts_with = "key")]
    pub key_file: Option<PathBuf>,
    /// For a package with no log yet: put `init` and this entry in one record.
    #[arg(long, global = true)]
    pub init: bool,
    /// Wait until the record is published or rejected.
    #[arg(long, global = true)]
    pub wait: bool,
    /// Seconds to wait with --wait (1–86400).
    #[arg(long, global = true, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// If the record is rejected because the log's head moved (another record was published
    /// first), rebuild it on the new head and submit again (up to 3 times). Implies --wait.
    #[arg(long, global = true)]
    pub rebuild: bool,
    /// Sign even if the local clock is more than a minute ahead of the registry's latest
    /// checkpoint (a record dated in the future blocks its log until real time catches up).
    #[arg(long, global = true)]
    pub allow_clock_skew: bool,
    /// If the submit got no answer and the registry does not know the record, post it again
    /// (without this, wargdash never sends a record twice on its own: it reports the outcome as
    /// unknown, exit 18).
    #[arg(long, global = true)]
    pub resubmit: bool,
    /// Largest release file accepted, in MiB.
    #[arg(long, global = true, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub max_file_mib: u64,
    #[command(subcommand)]
    pub action: PublishAction,
}

#[derive(Debug, Subcommand)]
pub enum PublishAction {
    /// Initialize the package log with the signing key.
    Init,
    /// Release VERSION with the content of FILE.
    Release { version: String, file: PathBuf },
    /// Yank VERSION.
    Yank { version: String },
    /// Grant PERMS (release, yank or release,yank) to PUBLIC_KEY (`ecdsa-p256:<base64>`).
    Grant {
        public_key: String,
        permissions: String,
    },
    /// Revoke PERMS from the key with KEY_ID.
    Revoke { key_id: String, permissions: String },
}

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Generate a key.
    New {
        #[arg(long, default_value = "ecdsa-p256")]
        algorithm: Algorithm,
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// List keys (name, algorithm, key ID).
    List,
    /// Show a key's public key and key ID.
    Show { name: String },
    /// Import a private key (`ecdsa-p256:<base64>` / `ed25519:<base64>`) from FILE or `-` (stdin).
    Import { name: String, file: String },
    /// Print a private key (the only command that ever does).
    Export { name: String },
    /// Delete a key file.
    Delete { name: String },
}

/// What a command handler gets: the resolved environment and the output format.
pub struct Env<'a> {
    pub ctx: &'a Ctx,
    pub json: bool,
}

/// Runs a subcommand.
pub async fn run(env: &Env<'_>, cmd: Command) -> CmdResult {
    match cmd {
        Command::LogId { package } => record::log_id(env, &package),
        Command::Status { log_id, record_id } => record::status(env, &log_id, &record_id).await,
        Command::Track(t) => track::track(env, t).await,
        Command::Poll {
            once: _,
            concurrency,
            no_ledger,
        } => record::poll_once(env, concurrency, !no_ledger).await,
        Command::Verify {
            full,
            reset_trust,
            peer,
            origin,
        } => {
            let code = trust::verify(env, full, reset_trust).await?;
            if peer.is_empty() {
                Ok(code)
            } else {
                monitor::verify_peers(env, code, &peer, origin).await
            }
        }
        Command::Monitor(a) => {
            monitor::monitor(
                env,
                a.listen,
                a.origin,
                &a.peer,
                a.witness_key,
                a.period,
                a.interval,
                a.concurrency,
            )
            .await
        }
        Command::Witness(WitnessCmd::Vkey { name }) => monitor::vkey(env, &name),
        Command::Alerts { limit, prune } => trust::alerts(env, limit, prune),
        Command::Publish(args) => publish::publish_cmd(env, args).await,
        Command::Key(k) => key::key(env, k),
        Command::Info => info::info(env),
        Command::Sandbox => info::sandbox(env).await,
        Command::Log { package } => log::log(env, &package).await,
        // Answered before the environment is loaded (see `offline`).
        c @ (Command::Completions { .. } | Command::Man) => {
            offline_command(&Some(c)).unwrap_or(Ok(wargdash::exit::OK))
        }
    }
}
