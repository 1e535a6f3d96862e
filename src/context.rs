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
    /// Extra PEM CA certificate.
    pub ca_file: Option<PathBuf>,
    /// Seconds before a registry request is abandoned.
    pub request_timeout: u64,
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

    pub fn client_options(&self) -> Result<ClientOptions> {
        let token = if let Some(path) = self
            .overrides
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
            request_timeout: Duration::from_secs(self.overrides.request_timeout.max(1)),
            token: token.map(Arc::new),
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
        RegistryClient::new(&url, self.client_options()?).map_err(|e| fail(exit::USAGE, e))
    }

    pub fn store(&self) -> std::result::Result<Store, Fail> {
        Store::open(&self.paths.store_file()).map_err(|e| fail(exit::STORE, e))
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
