//! Command-line interface: argument definitions and the scriptable subcommands. Each command
//! returns its exit code (see [`crate::exit`]); errors carry context for the report.

use crate::config::{Config, Paths};
use crate::exit;
use crate::ids::{ContentDigest, KeyId, LogId, PackageName, RecordId};
use crate::keys::{load_key_file, Algorithm, KeyInfo, KeyStore, SigningKey};
use crate::publish::{self, Progress, PublishError};
use crate::record::{Entry, Permission};
use crate::registry::{ApiError, ClientOptions, PackageRecord, RecordState, RegistryClient};
use crate::tracker::poll;
use crate::tracker::store::{NewTracked, Origin, Store};
use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::{eyre, Result, WrapErr};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

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
    /// Extra PEM CA certificate to trust for https registries.
    #[arg(long, global = true)]
    pub ca_file: Option<PathBuf>,
    /// Seconds before a registry request is abandoned.
    #[arg(long, global = true, default_value_t = 15)]
    pub request_timeout: u64,
    /// Print results as JSON (one object per line).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct DashArgs {
    /// Seconds between polls of pending records.
    #[arg(long)]
    pub interval: Option<f64>,
    /// Requests in flight at most.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Hide publishing (watch only).
    #[arg(long)]
    pub readonly: bool,
    /// Publish a few sample records on start-up (sandbox registry only).
    #[arg(long)]
    pub demo: bool,
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
        /// Requests in flight at most.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
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
    /// Seconds to wait with --wait.
    #[arg(long, global = true, default_value_t = 120)]
    pub timeout: u64,
    /// If the record is rejected because the log's head moved (another record was published
    /// first), rebuild it on the new head and submit again (up to 3 times). Implies --wait.
    #[arg(long, global = true)]
    pub rebuild: bool,
    /// Sign even if the local clock is more than a minute ahead of the registry's latest
    /// checkpoint (a record dated in the future blocks its log until real time catches up).
    #[arg(long, global = true)]
    pub allow_clock_skew: bool,
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

/// Everything a command needs from the environment.
pub struct Ctx {
    pub paths: Paths,
    pub config: Config,
    pub global: GlobalArgs,
}

/// An error with the exit code it should end the process with.
#[derive(Debug)]
pub struct Fail {
    pub code: i32,
    pub report: color_eyre::Report,
}

impl<E: Into<color_eyre::Report>> From<E> for Fail {
    fn from(e: E) -> Self {
        Self {
            code: exit::ERROR,
            report: e.into(),
        }
    }
}

pub fn fail(code: i32, report: impl Into<color_eyre::Report>) -> Fail {
    Fail {
        code,
        report: report.into(),
    }
}

fn api_fail(e: ApiError) -> Fail {
    Fail {
        code: e.exit_code(),
        report: eyre!(e),
    }
}

pub type CmdResult = std::result::Result<i32, Fail>;

impl Ctx {
    pub fn load(global: GlobalArgs) -> Result<Self> {
        let paths = Paths::from_env()?;
        let config = Config::load(&paths.config_file())?;
        Ok(Self {
            paths,
            config,
            global,
        })
    }

    /// The configured registry URL, if any.
    pub fn registry_url(&self) -> Option<String> {
        self.global
            .registry
            .clone()
            .or_else(|| self.config.registry.clone())
            .filter(|r| !r.trim().is_empty())
    }

    pub fn client_options(&self) -> Result<ClientOptions> {
        let token = if let Some(path) = self
            .global
            .token_file
            .as_ref()
            .or(self.config.token_file.as_ref())
        {
            let t = Zeroizing::new(
                std::fs::read_to_string(path)
                    .wrap_err_with(|| format!("reading token file {}", path.display()))?,
            );
            Some(Zeroizing::new(t.trim().to_string()))
        } else {
            std::env::var("WARGDASH_TOKEN")
                .ok()
                .filter(|t| !t.is_empty())
                .map(Zeroizing::new)
        };
        Ok(ClientOptions {
            request_timeout: Duration::from_secs(self.global.request_timeout.max(1)),
            token: token.map(Arc::new),
            ca_file: self.global.ca_file.clone().or(self.config.ca_file.clone()),
            ..ClientOptions::default()
        })
    }

    pub fn client(&self) -> std::result::Result<RegistryClient, Fail> {
        let url = self.registry_url().ok_or_else(|| {
            fail(
                exit::USAGE,
                eyre!("no registry configured: pass --registry URL, set WARGDASH_REGISTRY, or set `registry` in {}", self.paths.config_file().display()),
            )
        })?;
        RegistryClient::new(&url, self.client_options()?).map_err(|e| fail(exit::USAGE, e))
    }

    pub fn store(&self) -> std::result::Result<Store, Fail> {
        Store::open(&self.paths.store_file()).map_err(|e| fail(exit::STORE, e))
    }

    pub fn keys(&self) -> KeyStore {
        KeyStore::new(self.paths.keys_dir())
    }

    /// The signer: --key-file, --key, env WARGDASH_KEY (a name, or a path if it contains `/`),
    /// the config's `key`, else the key named `default`.
    pub fn signer(
        &self,
        key: Option<&str>,
        key_file: Option<&PathBuf>,
    ) -> std::result::Result<SigningKey, Fail> {
        let k = |r: Result<SigningKey>| r.map_err(|e| fail(exit::KEY, e));
        if let Some(path) = key_file {
            return k(load_key_file(path));
        }
        let env = std::env::var("WARGDASH_KEY").ok().filter(|v| !v.is_empty());
        let name = key
            .map(str::to_string)
            .or(env)
            .or(self.config.key.clone())
            .unwrap_or_else(|| "default".into());
        if name.contains('/') {
            return k(load_key_file(std::path::Path::new(&name)));
        }
        k(self.keys().load(&name))
    }
}

fn parse_id<T: std::str::FromStr>(s: &str) -> std::result::Result<T, Fail>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| fail(exit::USAGE, eyre!("{e}")))
}

fn parse_package(s: &str) -> std::result::Result<PackageName, Fail> {
    s.parse::<PackageName>()
        .map_err(|e| fail(exit::USAGE, eyre!(e)))
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

/// The exit code that a record state maps to.
pub fn state_exit_code(state: &RecordState) -> i32 {
    match state {
        RecordState::Published { .. } => exit::OK,
        RecordState::Sourcing { .. } | RecordState::Processing => exit::PENDING,
        RecordState::Rejected { .. } => exit::REJECTED,
    }
}

/// A human description of a record state, with its full detail.
pub fn describe_state(rec: &PackageRecord) -> String {
    match &rec.state {
        RecordState::Sourcing { missing_content } => {
            let mut s = format!("sourcing: {} missing content", missing_content.len());
            for (digest, m) in missing_content {
                s.push_str(&format!("\n  {digest}"));
                for u in &m.upload {
                    s.push_str(&format!("\n    upload: {} {}", u.method, u.url));
                }
            }
            s
        }
        RecordState::Processing => "processing".into(),
        RecordState::Rejected { reason } => format!("rejected: {reason}"),
        RecordState::Published { registry_index } => {
            format!("published at registry index {registry_index}")
        }
    }
}

pub async fn status(ctx: &Ctx, log: &str, rec: &str) -> CmdResult {
    let log: LogId = parse_id(log)?;
    let rec: RecordId = parse_id(rec)?;
    let client = ctx.client()?;
    let (record, raw) = client.get_record(&log, &rec).await.map_err(api_fail)?;
    if ctx.global.json {
        print_json(&raw)?;
    } else {
        println!("{}", describe_state(&record));
    }
    Ok(state_exit_code(&record.state))
}

pub fn log_id(package: &str) -> CmdResult {
    println!("{}", parse_package(package)?.log_id());
    Ok(exit::OK)
}

fn parse_track_line(line: &str, n: usize) -> std::result::Result<NewTracked, Fail> {
    let parts: Vec<&str> = line.split_whitespace().collect();
    let (log, rec, package) = match parts.as_slice() {
        [l, r] => (*l, *r, None),
        [l, r, p] => (*l, *r, Some(*p)),
        _ => {
            return Err(fail(
                exit::USAGE,
                eyre!("line {n}: expected `LOG_ID RECORD_ID [NS:NAME]`, got {line:?}"),
            ))
        }
    };
    let ctx_err = |e: Fail| fail(exit::USAGE, e.report.wrap_err(format!("line {n}")));
    let log_id: LogId = parse_id(log).map_err(ctx_err)?;
    let record_id: RecordId = parse_id(rec).map_err(ctx_err)?;
    let package = match package {
        Some(p) => {
            let name = parse_package(p).map_err(ctx_err)?;
            if name.log_id() != log_id {
                return Err(fail(
                    exit::USAGE,
                    eyre!(
                        "line {n}: package `{name}` has log ID {}, not {log_id}",
                        name.log_id()
                    ),
                ));
            }
            Some(name.to_string())
        }
        None => None,
    };
    Ok(NewTracked::by_hand(log_id, record_id, package))
}

pub fn track(ctx: &Ctx, cmd: TrackCmd) -> CmdResult {
    match cmd {
        TrackCmd::Add { package, ids } => {
            let items = match (package, ids.as_slice()) {
                (None, [dash]) if dash == "-" => {
                    let mut items = Vec::new();
                    for (i, line) in std::io::stdin().lock().lines().enumerate() {
                        let line = line.wrap_err("reading stdin")?;
                        let line = line.trim();
                        if line.is_empty() || line.starts_with('#') {
                            continue;
                        }
                        items.push(parse_track_line(line, i + 1)?);
                    }
                    items
                }
                (Some(p), [rec]) => {
                    let name = parse_package(&p)?;
                    vec![NewTracked::by_hand(name.log_id(), parse_id(rec)?, Some(name.to_string()))]
                }
                (None, [log, rec]) => vec![NewTracked::by_hand(parse_id(log)?, parse_id(rec)?, None)],
                _ => {
                    return Err(fail(
                        exit::USAGE,
                        eyre!("usage: track add LOG_ID RECORD_ID | track add --package NS:NAME RECORD_ID | track add -"),
                    ))
                }
            };
            let added = ctx.store()?.add(&items).map_err(|e| fail(exit::STORE, e))?;
            if ctx.global.json {
                print_json(&serde_json::json!({ "added": added, "given": items.len() }))?;
            } else {
                println!("tracking {added} new record(s) ({} given)", items.len());
            }
            Ok(exit::OK)
        }
        TrackCmd::List => {
            let list = ctx.store()?.list().map_err(|e| fail(exit::STORE, e))?;
            if ctx.global.json {
                for t in &list {
                    print_json(t)?;
                }
            } else if list.is_empty() {
                println!("no tracked records (add one with `wargdash track add LOG_ID RECORD_ID`)");
            } else {
                print_table_header();
                for t in &list {
                    let detail = match (&t.error, &t.response) {
                        (Some(e), _) => format!("last poll failed: {e}"),
                        (None, Some(r)) => r
                            .parse::<PackageRecord>()
                            .map(|r| r.state.detail())
                            .unwrap_or_default(),
                        (None, None) => String::new(),
                    };
                    print_table_row(
                        t.package.as_deref(),
                        &t.log_id,
                        &t.record_id,
                        t.state.as_deref().unwrap_or("unknown"),
                        &detail,
                    );
                }
            }
            Ok(exit::OK)
        }
        TrackCmd::Remove { log_id, record_id } => {
            let (l, r): (LogId, RecordId) = (parse_id(&log_id)?, parse_id(&record_id)?);
            if ctx
                .store()?
                .remove(&l, &r)
                .map_err(|e| fail(exit::STORE, e))?
            {
                println!("stopped tracking {r}");
                Ok(exit::OK)
            } else {
                Err(fail(
                    exit::NOT_FOUND,
                    eyre!("record {r} in log {l} is not tracked"),
                ))
            }
        }
    }
}

fn print_table_header() {
    println!(
        "{:<20} {:<14} {:<14} {:<11} DETAIL",
        "PACKAGE", "LOG", "RECORD", "STATE"
    );
}

fn print_table_row(package: Option<&str>, log: &LogId, rec: &RecordId, state: &str, detail: &str) {
    println!(
        "{:<20} {:<14} {:<14} {:<11} {detail}",
        package.unwrap_or("-"),
        log.short(12),
        rec.short(12),
        state
    );
}

/// Severity order for `poll --once`'s exit code: published < pending < rejected < error.
fn severity(code: i32) -> u8 {
    match code {
        exit::OK => 0,
        exit::PENDING => 1,
        exit::REJECTED => 2,
        _ => 3,
    }
}

pub async fn poll_once(ctx: &Ctx, concurrency: usize) -> CmdResult {
    let mut store = ctx.store()?;
    let tracked = store.list().map_err(|e| fail(exit::STORE, e))?;
    let client = ctx.client()?;
    let items: Vec<(LogId, RecordId)> = tracked.iter().map(|t| (t.log_id, t.record_id)).collect();
    let results = poll::sweep(&client, &items, concurrency).await;
    let outcomes: Vec<_> = results.iter().map(poll::Polled::outcome).collect();
    store
        .record_polls(&outcomes)
        .map_err(|e| fail(exit::STORE, e))?;
    let mut worst = exit::OK;
    if !ctx.global.json && !results.is_empty() {
        print_table_header();
    }
    for (t, p) in tracked.iter().zip(&results) {
        let code = match &p.result {
            Ok((rec, _)) => state_exit_code(&rec.state),
            Err(e) => e.exit_code(),
        };
        if severity(code) > severity(worst) {
            worst = code;
        }
        if ctx.global.json {
            let mut obj = serde_json::json!({
                "logId": p.log_id, "recordId": p.record_id, "package": t.package,
            });
            match &p.result {
                Ok((rec, raw)) => {
                    obj["state"] = rec.state.name().into();
                    obj["detail"] = rec.state.detail().into();
                    obj["response"] = raw.clone();
                }
                Err(e) => {
                    obj["state"] = "error".into();
                    obj["error"] = e.to_string().into();
                }
            }
            print_json(&obj)?;
        } else {
            let (state, detail) = match &p.result {
                Ok((rec, _)) => (rec.state.name().to_string(), rec.state.detail()),
                Err(e) => ("error".to_string(), e.to_string()),
            };
            print_table_row(
                t.package.as_deref(),
                &t.log_id,
                &t.record_id,
                &state,
                &detail,
            );
        }
    }
    Ok(worst)
}

/// Builds the entries and the content to upload for a publish action.
pub fn action_entries(
    action: &PublishAction,
    signer: &SigningKey,
) -> std::result::Result<(Vec<Entry>, publish::Contents), Fail> {
    let usage = |e: color_eyre::Report| fail(exit::USAGE, e);
    let mut contents = BTreeMap::new();
    let entry = match action {
        PublishAction::Init => Entry::Init {
            public_key: signer.public_key(),
        },
        PublishAction::Release { version, file } => {
            let bytes = std::fs::read(file)
                .wrap_err_with(|| format!("reading content file {}", file.display()))
                .map_err(usage)?;
            let digest = ContentDigest::of_bytes(&bytes);
            contents.insert(digest, bytes);
            Entry::Release {
                version: version.clone(),
                digest,
            }
        }
        PublishAction::Yank { version } => Entry::Yank {
            version: version.clone(),
        },
        PublishAction::Grant {
            public_key,
            permissions,
        } => Entry::Grant {
            public_key: public_key.clone(),
            permissions: Permission::parse_list(permissions).map_err(usage)?,
        },
        PublishAction::Revoke {
            key_id,
            permissions,
        } => Entry::Revoke {
            key_id: parse_id::<KeyId>(key_id)?,
            permissions: Permission::parse_list(permissions).map_err(usage)?,
        },
    };
    entry.validate().map_err(usage)?;
    Ok((vec![entry], contents))
}

fn publish_fail(e: PublishError) -> Fail {
    Fail {
        code: e.exit_code(),
        report: eyre!(e),
    }
}

pub async fn publish_cmd(ctx: &Ctx, args: PublishArgs) -> CmdResult {
    let package = parse_package(&args.package)?;
    let signer = ctx.signer(args.key.as_deref(), args.key_file.as_ref())?;
    let (entries, contents) = action_entries(&args.action, &signer)?;
    let client = ctx.client()?;
    let mut store = ctx.store()?;
    let wait = args.wait || args.rebuild;
    let mut rebuilds_left = if args.rebuild { 3 } else { 0 };
    let mut stale_head: Option<Option<RecordId>> = None;
    loop {
        let opts = publish::BuildOptions {
            auto_init: args.init.then_some(&signer),
            now: None,
            allow_clock_skew: args.allow_clock_skew,
        };
        let mut prepared = publish::prepare(&client, &package, entries.clone(), opts)
            .await
            .map_err(publish_fail)?;
        // After a head-moved rejection, the new head is visible once the registry's next
        // checkpoint includes it.
        let deadline = Instant::now() + Duration::from_secs(60);
        while stale_head == Some(prepared.head) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            prepared = publish::prepare(&client, &package, entries.clone(), opts)
                .await
                .map_err(publish_fail)?;
        }
        for w in &prepared.warnings {
            eprintln!("warning: {w}");
        }
        let Some(last) = submit_and_wait(
            ctx,
            &client,
            &mut store,
            &prepared,
            &signer,
            &contents,
            wait,
            args.timeout,
        )
        .await?
        else {
            return Ok(exit::WAIT_TIMEOUT);
        };
        if let RecordState::Rejected { reason } = &last.state {
            if publish::head_moved(reason) {
                eprintln!("note: {}", publish::head_moved_hint(&package));
                if rebuilds_left > 0 {
                    rebuilds_left -= 1;
                    stale_head = Some(prepared.head);
                    eprintln!("rebuilding on the new head");
                    continue;
                }
                eprintln!("hint: run the same command again, or pass --rebuild to rebuild and resubmit automatically");
            }
        }
        emit_publish_result(ctx, &package, &last)?;
        return Ok(if wait {
            state_exit_code(&last.state)
        } else {
            exit::OK
        });
    }
}

/// Signs, tracks, submits and (with `wait`) polls until terminal. `None` when the wait timed
/// out (the result has been printed).
#[allow(clippy::too_many_arguments)]
async fn submit_and_wait(
    ctx: &Ctx,
    client: &RegistryClient,
    store: &mut Store,
    prepared: &publish::Prepared,
    signer: &SigningKey,
    contents: &publish::Contents,
    wait: bool,
    timeout: u64,
) -> std::result::Result<Option<PackageRecord>, Fail> {
    let package = &prepared.package;
    let signed = prepared.content.sign(signer);
    let record_id = signed.record_id;
    // Track before submitting: if anything below fails, the operator still sees the record.
    store
        .add(&[NewTracked {
            log_id: prepared.log_id,
            record_id,
            package: Some(package.to_string()),
            origin: Origin::Submitted,
            entries: Some(prepared.content.entries.clone()),
        }])
        .map_err(|e| fail(exit::STORE, e))?;
    let submitted = publish::submit(client, package, &signed, contents, |p| match p {
        Progress::Submitting(id) => eprintln!("submitting record {id} to {package}"),
        Progress::Recovering(e) => {
            eprintln!("no answer to the submit ({e}); checking whether the registry received it")
        }
        Progress::Accepted(s) => eprintln!("accepted: {}", s.name()),
        Progress::Uploading { digest, bytes } => eprintln!("uploading {digest} ({bytes} bytes)"),
        Progress::Uploaded(d) => eprintln!("uploaded {d}"),
    })
    .await;
    let rec = match submitted {
        Ok(rec) => rec,
        Err(e) => {
            if let PublishError::Api(ApiError::Unauthorized { .. } | ApiError::Invalid { .. }) = &e
            {
                // Refused outright: the registry never stored it, so stop tracking it.
                let _ = store.remove(&prepared.log_id, &record_id);
            }
            return Err(publish_fail(e));
        }
    };
    // The POST answer is the only place `sourcing` appears: keep it in the history.
    if let Ok(raw) = serde_json::to_value(&rec) {
        let polled = poll::Polled {
            log_id: prepared.log_id,
            record_id,
            result: Ok((rec.clone(), raw)),
        };
        let _ = store.record_polls(&[polled.outcome()]);
    }
    let mut last = rec;
    if wait && !last.state.is_terminal() {
        let deadline = Instant::now() + Duration::from_secs(timeout);
        let mut shown = String::new();
        loop {
            if Instant::now() >= deadline {
                eprintln!("still {} after {timeout}s", last.state.name());
                emit_publish_result(ctx, package, &last)?;
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let polled = poll::poll_one(client, prepared.log_id, record_id).await;
            let _ = store.record_polls(&[polled.outcome()]);
            match polled.result {
                Ok((rec, _)) => {
                    if rec.state.name() != shown {
                        shown = rec.state.name().to_string();
                        eprintln!("state: {shown}");
                    }
                    last = rec;
                    if last.state.is_terminal() {
                        break;
                    }
                }
                Err(e) if e.is_transient() => eprintln!("poll failed, retrying: {e}"),
                Err(e) => return Err(api_fail(e)),
            }
        }
    }
    Ok(Some(last))
}

fn emit_publish_result(ctx: &Ctx, package: &PackageName, rec: &PackageRecord) -> Result<()> {
    if ctx.global.json {
        let mut v = serde_json::to_value(rec)?;
        v["packageName"] = package.to_string().into();
        v["logId"] = package.log_id().to_string().into();
        print_json(&v)?;
    } else {
        println!("{} {}: {}", package, rec.record_id, describe_state(rec));
    }
    Ok(())
}

pub fn key(ctx: &Ctx, cmd: KeyCmd) -> CmdResult {
    let keys = ctx.keys();
    let key_fail = |e: color_eyre::Report| fail(exit::KEY, e);
    let show = |info: &KeyInfo| -> Result<()> {
        if ctx.global.json {
            print_json(info)
        } else {
            println!(
                "name:       {}\nalgorithm:  {}\npublic key: {}\nkey ID:     {}",
                info.name, info.algorithm, info.public_key, info.key_id
            );
            Ok(())
        }
    };
    match cmd {
        KeyCmd::New { algorithm, name } => {
            let k = SigningKey::generate(algorithm).map_err(key_fail)?;
            keys.save(&name, &k).map_err(key_fail)?;
            show(&KeyInfo::of(&name, &k))?;
            if algorithm == Algorithm::Ed25519 {
                eprintln!("note: warg-server 0.10 accepts only ecdsa-p256 keys; it will refuse records signed with this key");
            }
        }
        KeyCmd::List => {
            let list = keys.list().map_err(key_fail)?;
            if ctx.global.json {
                for k in &list {
                    print_json(k)?;
                }
            } else if list.is_empty() {
                println!(
                    "no keys in {} (create one with `wargdash key new`)",
                    keys.dir().display()
                );
            } else {
                for k in &list {
                    println!("{:<16} {:<11} {}", k.name, k.algorithm, k.key_id);
                }
            }
        }
        KeyCmd::Show { name } => show(&KeyInfo::of(&name, &keys.load(&name).map_err(key_fail)?))?,
        KeyCmd::Import { name, file } => {
            let text = Zeroizing::new(if file == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .wrap_err("reading the key from stdin")?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .wrap_err_with(|| format!("reading key file {file}"))
                    .map_err(key_fail)?
            });
            let k = SigningKey::decode(&text).map_err(key_fail)?;
            keys.save(&name, &k).map_err(key_fail)?;
            show(&KeyInfo::of(&name, &k))?;
        }
        KeyCmd::Export { name } => {
            let k = keys.load(&name).map_err(key_fail)?;
            println!("{}", k.encode_private().as_str());
        }
        KeyCmd::Delete { name } => {
            keys.load(&name).map_err(key_fail)?;
            keys.delete(&name).map_err(key_fail)?;
            println!("deleted key `{name}`");
        }
    }
    Ok(exit::OK)
}

pub fn info(ctx: &Ctx) -> CmdResult {
    let registry = ctx.registry_url();
    let v = serde_json::json!({
        "configFile": ctx.paths.config_file(),
        "configDir": ctx.paths.config_dir,
        "dataDir": ctx.paths.data_dir,
        "stateDir": ctx.paths.state_dir,
        "store": ctx.paths.store_file(),
        "keys": ctx.paths.keys_dir(),
        "logFile": ctx.paths.log_file(),
        "registry": registry,
    });
    if ctx.global.json {
        print_json(&v)?;
    } else {
        println!("config file: {}", ctx.paths.config_file().display());
        println!("data dir:    {}", ctx.paths.data_dir.display());
        println!("store:       {}", ctx.paths.store_file().display());
        println!("keys:        {}", ctx.paths.keys_dir().display());
        println!("log file:    {}", ctx.paths.log_file().display());
        match registry {
            Some(r) => println!("registry:    {r}"),
            None => println!(
                "registry:    none configured (the dashboard starts a local sandbox registry)"
            ),
        }
    }
    Ok(exit::OK)
}

pub async fn sandbox(ctx: &Ctx) -> CmdResult {
    let sb = crate::embedded::Sandbox::start(&ctx.paths, Duration::from_secs(2)).await?;
    println!("sandbox registry listening at {} (namespace `demo`; records vanish on exit; Ctrl-C stops it)", sb.url);
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c()
        .await
        .wrap_err("waiting for Ctrl-C")?;
    sb.stop().await;
    Ok(exit::OK)
}

/// Runs a subcommand.
pub async fn run(ctx: &Ctx, cmd: Command) -> CmdResult {
    match cmd {
        Command::LogId { package } => log_id(&package),
        Command::Status { log_id, record_id } => status(ctx, &log_id, &record_id).await,
        Command::Track(t) => track(ctx, t),
        Command::Poll {
            once: _,
            concurrency,
        } => poll_once(ctx, concurrency).await,
        Command::Publish(args) => publish_cmd(ctx, args).await,
        Command::Key(k) => key(ctx, k),
        Command::Info => info(ctx),
        Command::Sandbox => sandbox(ctx).await,
    }
}
