//! `wargdash`: argument parsing and dispatch only; everything else lives in the library.

use clap::Parser;
use std::io::IsTerminal;
use wargdash::cli::{self, Cli, Ctx};
use wargdash::exit;

fn main() {
    wargdash::ui::mark_process_start();
    let code = match real_main() {
        Ok(code) => code,
        Err(f) => {
            tracing::error!("{:#}", f.report);
            let mut chain = f.report.chain();
            if let Some(top) = chain.next() {
                eprintln!("error: {top}");
            }
            for cause in chain {
                eprintln!("  caused by: {cause}");
            }
            f.code
        }
    };
    std::process::exit(code);
}

fn real_main() -> cli::CmdResult {
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install();
    let args = Cli::parse();
    let ctx = Ctx::load(args.global.clone()).map_err(|e| cli::fail(exit::ERROR, e))?;
    wargdash::logging::init(&ctx.paths.log_file()).map_err(|e| cli::fail(exit::ERROR, e))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| cli::fail(exit::ERROR, e))?;
    rt.block_on(async move {
        match args.command {
            Some(cmd) => cli::run(&ctx, cmd).await,
            None if std::io::stdout().is_terminal() => wargdash::ui::run(&ctx, args.dash).await,
            None => cli::poll_once(&ctx, args.dash.concurrency.unwrap_or(16)).await,
        }
    })
}
