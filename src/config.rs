//! Where wargdash keeps things (XDG directories, or `WARGDASH_HOME` for all of them) and the
//! optional config file.

use color_eyre::eyre::{eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
}

fn xdg(var: &str, home_rel: &str) -> Result<PathBuf> {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        if p.is_absolute() {
            return Ok(p.join("wargdash"));
        }
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| eyre!("neither {var} nor HOME is set; set WARGDASH_HOME to choose where wargdash keeps its files"))?;
    Ok(PathBuf::from(home).join(home_rel).join("wargdash"))
}

impl Paths {
    /// `WARGDASH_HOME` overrides everything (`config/`, `data/`, `state/` under it); otherwise the
    /// XDG base directories.
    pub fn from_env() -> Result<Self> {
        if let Some(home) = std::env::var_os("WARGDASH_HOME").filter(|v| !v.is_empty()) {
            return Ok(Self::under(Path::new(&home)));
        }
        Ok(Self {
            config_dir: xdg("XDG_CONFIG_HOME", ".config")?,
            data_dir: xdg("XDG_DATA_HOME", ".local/share")?,
            state_dir: xdg("XDG_STATE_HOME", ".local/state")?,
        })
    }

    pub fn under(home: &Path) -> Self {
        Self {
            config_dir: home.join("config"),
            data_dir: home.join("data"),
            state_dir: home.join("state"),
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.json")
    }
    pub fn store_file(&self) -> PathBuf {
        self.data_dir.join("wargdash.db")
    }
    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }
    pub fn sandbox_dir(&self) -> PathBuf {
        self.data_dir.join("sandbox")
    }
    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("wargdash.log")
    }
}

/// `config.json`: every field optional; command-line flags and environment variables win.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Registry base URL, e.g. `http://127.0.0.1:8090`.
    pub registry: Option<String>,
    /// Poll interval in seconds for pending records.
    pub interval: Option<f64>,
    /// Requests in flight at most.
    pub concurrency: Option<usize>,
    /// Default signing key name.
    pub key: Option<String>,
    /// Extra CA certificate (PEM) to trust for https registries.
    pub ca_file: Option<PathBuf>,
    /// File holding a bearer token.
    pub token_file: Option<PathBuf>,
    /// A command run once for every new trust alert (env `WARGDASH_ALERT_KIND`,
    /// `WARGDASH_ALERT_DETAIL`, `WARGDASH_REGISTRY`).
    pub on_alert: Option<String>,
    /// Checkpoints older than this many seconds raise CHECKPOINT_STALE (default 60).
    pub max_checkpoint_age: Option<u64>,
    /// State changes kept per record in the store (default 200).
    pub history_limit: Option<usize>,
    /// Stored trust alerts kept per registry (default 10 000): older rows go.
    pub alert_retention_rows: Option<u64>,
    /// Stored trust alerts not seen for this many days go (default 90).
    pub alert_retention_days: Option<u64>,
    /// Per-registry settings, keyed by registry URL.
    #[serde(default)]
    pub registries: std::collections::BTreeMap<String, RegistryConfig>,
}

/// Settings for one registry in `config.json`'s `registries`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryConfig {
    /// The operator key ID to pin (`sha256:…`): a checkpoint signed by any other key raises
    /// OPERATOR_KEY_CHANGED.
    pub operator_key_id: Option<String>,
    /// Checkpoints older than this many seconds raise CHECKPOINT_STALE.
    pub max_checkpoint_age: Option<u64>,
    /// Peer monitors of this registry for `wargdash monitor` and `verify --peer`
    /// (`URL=VKEY`, see docs/witness.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
}

impl Config {
    /// The settings for `registry` (URLs compare after normalisation).
    pub fn registry(&self, registry: &str) -> Option<&RegistryConfig> {
        let norm = |u: &str| {
            crate::registry::client::parse_base_url(u)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| u.trim().to_string())
        };
        let key = norm(registry);
        self.registries
            .iter()
            .find(|(k, _)| norm(k) == key)
            .map(|(_, v)| v)
    }
}

impl Config {
    /// Loads the config file; a missing file is the default config, a broken one an error naming it.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(e).wrap_err_with(|| format!("reading config file {}", path.display()))
            }
        };
        serde_json::from_str(&text).wrap_err_with(|| {
            format!(
                "config file {} is not valid (fix or remove it)",
                path.display()
            )
        })
    }
}
