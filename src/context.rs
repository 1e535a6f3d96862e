//! The resolved environment every command and the dashboard start from: where files live, the
//! config file, and the overrides given on the command line or in the environment. From it come
//! the registry client, the store, the key store and the signer. The CLI builds it from its
//! arguments; nothing here knows about argument parsing.

use crate::config::{Config, Paths};
use crate::exit::{self, fail, Fail};
use crate::keys::{load_key_file, KeyStore, SigningKey};
use crate::registry::{ClientOptions, RegistryClient};
use crate::tracker::store::Store;
use color_eyre::eyre::{eyre, Result, WrapErr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Settings given for this run that win over the config file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Registry base URL (flag or `WARGDASH_REGISTRY`).
    pub registry: Option<String>,
    /// File holding a bearer token.
    pub token_file: Option<PathBuf>,
    /// Send the token over plain http to a registry that is not on loopback.
    pub allow_http_token: bool,
    /// Extra PEM CA certificate.
    pub ca_file: Option<PathBuf>,
    /// Seconds before a registry request is abandoned.
    pub request_timeout: u64,
    /// Command run once per new trust alert.
    pub on_alert: Option<String>,
    /// Operator key ID to pin (`--pin-operator-key`).
    pub pin_operator_key: Option<String>,
    /// Seconds after which a checkpoint is stale (`--max-checkpoint-age`).
    pub max_checkpoint_age: Option<u64>,
}

/// Everything a command needs from the environment.
pub struct Ctx {
    pub paths: Paths,
    pub config: Config,
    pub overrides: Overrides,
}

impl Ctx {
    pub fn load(overrides: Overrides) -> Result<Self> {
        let paths = Paths::from_env()?;
        let config = Config::load(&paths.config_file())?;
        Ok(Self {
            paths,
            config,
            overrides,
        })
    }

    /// The configured registry URL, if any.
    pub fn registry_url(&self) -> Option<String> {
        self.overrides
            .registry
            .clone()
            .or_else(|| self.config.registry.clone())
            .filter(|r| !r.trim().is_empty())
    }

    /// The client options for the registry at `url`: the bearer token (from `--token-file` /
    /// `tokenFile`, refused unless mode 0600, else `WARGDASH_TOKEN`) bound to `url`'s origin.
    pub fn client_options_for(&self, url: &str) -> std::result::Result<ClientOptions, Fail> {
        let token = if let Some(path) = self
            .overrides
            .token_file
            .as_ref()
            .or(self.config.token_file.as_ref())
        {
            crate::fsutil::refuse_readable(path, "token file").map_err(|e| fail(exit::KEY, e))?;
            let t = Zeroizing::new(
                std::fs::read_to_string(path)
                    .wrap_err_with(|| format!("reading token file {}", path.display()))
                    .map_err(|e| fail(exit::KEY, e))?,
            );
            Some(Zeroizing::new(t.trim().to_string()))
        } else {
            std::env::var("WARGDASH_TOKEN")
                .ok()
                .filter(|t| !t.is_empty())
                .map(Zeroizing::new)
        };
        let token_origin = match &token {
            Some(_) => Some(
                crate::registry::client::parse_base_url(url).map_err(|e| fail(exit::USAGE, e))?,
            ),
            None => None,
        };
        Ok(ClientOptions {
            request_timeout: Duration::from_secs(self.overrides.request_timeout.max(1)),
            token: token.map(Arc::new),
            token_origin,
            allow_http_token: self.overrides.allow_http_token,
            ca_file: self
                .overrides
                .ca_file
                .clone()
                .or(self.config.ca_file.clone()),
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
        RegistryClient::new(&url, self.client_options_for(&url)?).map_err(|e| fail(exit::USAGE, e))
    }

    pub fn store(&self) -> std::result::Result<Store, Fail> {
        self.store_at(
            &self.paths.store_file(),
            &self.registry_url().unwrap_or_default(),
        )
    }

    /// A store file at `path` for `registry`, set up as [`Ctx::store`] sets up the usual one
    /// (the dashboard's sandbox keeps its own).
    pub fn store_at(
        &self,
        path: &std::path::Path,
        registry: &str,
    ) -> std::result::Result<Store, Fail> {
        let mut s = Store::open(path, registry).map_err(|e| fail(exit::STORE, e))?;
        if let Some(n) = self.config.history_limit {
            s.set_history_limit(n);
        }
        Ok(s)
    }

    /// The trust store (the same SQLite file as the tracked set).
    pub fn trust_db(&self) -> std::result::Result<crate::trust::db::TrustDb, Fail> {
        let path = self.paths.store_file();
        crate::fsutil::private_store(&path).map_err(|e| fail(exit::STORE, e))?;
        crate::trust::db::TrustDb::open(&path).map_err(|e| fail(exit::STORE, e))
    }

    /// How verification runs for `registry`: the pin from the flag, else the config, else the
    /// stored one (trust on first use); the stale-checkpoint limit likewise.
    pub fn cycle_options(
        &self,
        registry: &str,
        reset_trust: bool,
    ) -> std::result::Result<crate::trust::cycle::CycleOptions, Fail> {
        use crate::trust::state::PinSource;
        let per = self.config.registry(registry);
        let pin = match (
            &self.overrides.pin_operator_key,
            per.and_then(|r| r.operator_key_id.as_ref()),
        ) {
            (Some(k), _) => Some((k, PinSource::Flag)),
            (None, Some(k)) => Some((k, PinSource::Config)),
            (None, None) => None,
        };
        let pin = pin
            .map(|(k, src)| {
                k.parse::<crate::ids::KeyId>()
                    .map(|id| (id, src))
                    .map_err(|e| fail(exit::USAGE, eyre!("operator key ID `{k}`: {e}")))
            })
            .transpose()?;
        let max_age = self
            .overrides
            .max_checkpoint_age
            .or(per.and_then(|r| r.max_checkpoint_age))
            .or(self.config.max_checkpoint_age)
            .unwrap_or(60);
        Ok(crate::trust::cycle::CycleOptions {
            pin,
            max_age: Duration::from_secs(max_age),
            reset_trust,
            ..Default::default()
        })
    }

    /// Every trust option that can be set is well-formed: the `--pin-operator-key` flag, each
    /// registry's `operatorKeyId` in the config, and the checkpoint age limits (1 s to a
    /// year). A command that runs a verification cycle calls this first: a malformed pin is a
    /// usage error, never silently trust on first use.
    pub fn check_trust_options(&self) -> std::result::Result<(), Fail> {
        const MAX_AGE: std::ops::RangeInclusive<u64> = 1..=31_536_000;
        if let Some(k) = &self.overrides.pin_operator_key {
            k.parse::<crate::ids::KeyId>().map_err(|e| {
                fail(
                    exit::USAGE,
                    eyre!("--pin-operator-key `{}`: {e}", crate::text::clean(k)),
                )
            })?;
        }
        let ages = std::iter::once(("maxCheckpointAge", self.config.max_checkpoint_age));
        for (what, age) in ages {
            if let Some(a) = age.filter(|a| !MAX_AGE.contains(a)) {
                return Err(fail(
                    exit::USAGE,
                    eyre!("{what} {a} in the config is out of range: 1 to 31536000 seconds"),
                ));
            }
        }
        for (url, r) in &self.config.registries {
            if let Some(k) = &r.operator_key_id {
                k.parse::<crate::ids::KeyId>().map_err(|e| {
                    fail(
                        exit::USAGE,
                        eyre!(
                            "registries.\"{}\".operatorKeyId `{}` in the config: {e}",
                            crate::text::clean(url),
                            crate::text::clean(k)
                        ),
                    )
                })?;
            }
            if let Some(a) = r.max_checkpoint_age.filter(|a| !MAX_AGE.contains(a)) {
                return Err(fail(
                    exit::USAGE,
                    eyre!(
                        "registries.\"{}\".maxCheckpointAge {a} in the config is out of range: 1 to 31536000 seconds",
                        crate::text::clean(url)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// How long stored alerts are kept (config, else 10 000 rows and 90 days per registry).
    pub fn alert_retention(&self) -> crate::trust::db::Retention {
        let d = crate::trust::db::Retention::default();
        crate::trust::db::Retention {
            rows: self.config.alert_retention_rows.unwrap_or(d.rows),
            days: self.config.alert_retention_days.unwrap_or(d.days),
        }
    }

    /// The `--on-alert` command, if any.
    pub fn on_alert(&self) -> Option<String> {
        self.overrides
            .on_alert
            .clone()
            .or(self.config.on_alert.clone())
            .filter(|c| !c.trim().is_empty())
    }

    pub fn keys(&self) -> KeyStore {
        KeyStore::new(self.paths.keys_dir())
    }

    /// The signer: `key_file`, else `key`, env WARGDASH_KEY (a name, or a path if it contains
    /// `/`), the config's `key`, else the key named `default`.
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
