//! `info` (where things are) and `sandbox` (the embedded registry in the foreground).

use super::output::{outln, print_json};
use super::Env;
use color_eyre::eyre::WrapErr;
use std::io::Write;
use std::time::Duration;
use wargdash::exit::{self, CmdResult};

pub fn info(env: &Env<'_>) -> CmdResult {
    let ctx = env.ctx;
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
    if env.json {
        print_json(&v)?;
    } else {
        outln!("config file: {}", ctx.paths.config_file().display())?;
        outln!("data dir:    {}", ctx.paths.data_dir.display())?;
        outln!("store:       {}", ctx.paths.store_file().display())?;
        outln!("keys:        {}", ctx.paths.keys_dir().display())?;
        outln!("log file:    {}", ctx.paths.log_file().display())?;
        match registry {
            Some(r) => outln!("registry:    {r}")?,
            None => outln!(
                "registry:    none configured (the dashboard starts a local sandbox registry)"
            )?,
        }
    }
    Ok(exit::OK)
}

pub async fn sandbox(env: &Env<'_>) -> CmdResult {
    let sb = wargdash::sandbox::Sandbox::start(&env.ctx.paths, Duration::from_secs(2)).await?;
    outln!("sandbox registry listening at {} (namespace `demo`; records vanish on exit; Ctrl-C stops it)", sb.url)?;
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c()
        .await
        .wrap_err("waiting for Ctrl-C")?;
    sb.stop().await;
    Ok(exit::OK)
}
